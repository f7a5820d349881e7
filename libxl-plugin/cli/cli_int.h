/*
 * cli_int.h - what the files of the command line share: the state of one invocation
 * (struct cli), the messages and option helpers of cli.c, the output helpers of
 * cli_output.c, and one cmd_* function per subcommand (cli_create.c, cli_catalog.c,
 * cli_restore.c, cli_xs.c). The table of subcommands is in cli.c.
 */
#ifndef XLCP_CLI_INT_H
#define XLCP_CLI_INT_H

#include "cli.h"
#include "cpinfo.h"

#include <getopt.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>

#define PROG "xl-checkpoint"
#define XLCP_CLI_MAX_DISKS 16 /* --disk options of restore */

struct cli {
    int argc; /* of the subcommand; argv[0] is its name */
    char **argv;
    const char *cmd; /* subcommand name for messages */
    const char *root;
    int verbose;
    xlcp_cli_open_fn open_fn;
    void *open_arg;
    xlcp_ctx *ctx;
    FILE *out;
    FILE *err;
    int progress_tty;
    int progress_shown;
    int json;    /* --json (global or the subcommand's): JSON on stdout, errors included */
    int quiet;   /* -q/--quiet (global): no progress, no notes */
    int dry_run; /* -N/--dry-run (global, as xl's -N): change nothing, say what would be done */
    int group;   /* --group (info, verify, delete, restore): the argument names a group */
    /* a group operation's report: its members go into the JSON error document too */
    const xlcp_group_report *report;
};

/* Long options without a short letter. */
enum {
    OPT_PAUSED = 1000,
    OPT_QUIESCE_TIMEOUT,
    OPT_SUSPEND_TIMEOUT,
    OPT_SKIP_NON_LVM,
    OPT_JSON,
    OPT_XML,
    OPT_NO_DISKS,
    OPT_REPLACE,
    OPT_FORCE,
    OPT_NAME,
    OPT_NO_LIVE,
    OPT_QUIET,
    OPT_DRY_RUN,
    OPT_QUIESCE,
    OPT_DISK,
    OPT_GROUP,
    OPT_GROUPS,
    OPT_MAX_WAIT,
    OPT_AT,
};

/* The version of every JSON document the CLI prints (its "format_version" field); the
 * documents are described in libxl-plugin/man/xl-checkpoint-json.schema.json. */
#define CLI_JSON_FORMAT_VERSION 1

/* ---- cli.c: messages, the library context, options ---- */

void put_oneline(FILE *f, const char *s);
void progress_clear(struct cli *c);
void errorf(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "xl-checkpoint: <cmd>: warning: <text>" on stderr (unless --quiet). */
void warnf(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A deprecated option spelling was used: warns once, naming the new one. */
void deprecated(struct cli *c, const char *old, const char *instead);
int usage_error(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports a failed library call; returns the exit code. */
int lib_error(struct cli *c, int rc);
/* Opens the context on first use. Returns 0 or an exit code (error reported). */
int need_ctx(struct cli *c);
/* getopt_long over the subcommand's arguments with errors reported our way. Returns the
 * option, -1 at the end, 'h' for -h/--help, or '?' after reporting a usage error.
 * shortopts must start with ':'. */
int next_opt(struct cli *c, const char *shortopts, const struct option *longopts);
void opt_reset(void);
/* Checks that exactly between min and max positional arguments remain. */
int positional(struct cli *c, int min, int max, const char *what);
int show_help(struct cli *c);
/* Options of a subcommand that takes none but --help: an exit code to return, or -1. */
int help_only(struct cli *c);
/* Options of a subcommand that has one flag (flag_opt, sets *flag; none if flag is NULL)
 * and --json and --group (if lo has them) besides --help, then min..max positional arguments and
 * the library context: -1 to go on, or an exit code. */
int flag_and_args(struct cli *c, const char *shortopts, const struct option *lo, int flag_opt,
                  int *flag, int min, int max, const char *what);
/* "10", "2.5" (seconds) or "500ms" -> milliseconds. */
int parse_seconds(const char *s, unsigned int *ms_out);
/* "20%" (1..100) or a size such as 512M, 2G. */
int valid_snapshot_size(const char *s);
void on_progress(xlcp_step step, const char *what, void *arg);

/* ---- cli_config.c: restore's <ConfigFile> ---- */

/* The libxl JSON of the domain configuration in file (xl's format, parsed by the system's
 * xl, or JSON); malloc'd into *json_out. Returns 0 or an exit code (error reported). */
int cli_config_json(struct cli *c, const char *file, char **json_out);

/* ---- cli_output.c: human and JSON output ---- */

/* JSON writer: remembers the first yajl failure so that callers check once. */
struct jw {
    yajl_gen g;
    yajl_gen_status st;
};

void human_bytes(uint64_t b, char *buf, size_t len);
double ns_to_ms(uint64_t ns);
void jw_check(struct jw *j, yajl_gen_status st);
void jw_str(struct jw *j, const char *s);
void jw_key(struct jw *j, const char *k);
int jw_open(struct cli *c, struct jw *j);
/* jw_open, then the document's object opened with its "format_version". */
int jw_open_doc(struct cli *c, struct jw *j);
/* Report lines (text, one per line) as a JSON array of strings under key. */
void jw_lines(struct jw *j, const char *key, const char *text);
/* A small result document {"format_version", "id", key: true}; returns an exit code. */
int json_done(struct cli *c, const char *id, const char *key);
/* The same with a group operation's report as its "members" (rep may be NULL). */
int json_done_report(struct cli *c, const char *id, const char *key, const xlcp_group_report *rep);
/* key: s, or null if s is NULL or empty. */
void jw_str_or_null(struct jw *j, const char *k, const char *s);
/* Writes the document to c->out and frees the writer. Returns an exit code. */
int jw_close(struct cli *c, struct jw *j);
void jw_checkpoint(struct jw *j, const struct cli_cp *cp);
void print_info(FILE *f, const struct cli_cp *cp);
/* Opens checkpoint id and writes it as JSON (one object). */
int emit_json_checkpoint(struct cli *c, const char *id);

/* ---- the subcommands ---- */

int cmd_create(struct cli *c);   /* cli_create.c */
int cmd_list(struct cli *c);     /* cli_catalog.c */
int cmd_info(struct cli *c);     /* cli_catalog.c */
int cmd_verify(struct cli *c);   /* cli_catalog.c */
int cmd_delete(struct cli *c);   /* cli_catalog.c */
int cmd_restore(struct cli *c);  /* cli_restore.c */
int cmd_xs_check(struct cli *c); /* cli_xs.c */
int cmd_recover(struct cli *c);  /* cli_recover.c */

/* cli_group.c: the group forms (create --group, list --groups, info|verify|delete|restore
 * --group). Each returns an exit code. */
int cli_group_create(struct cli *c, const char *name, const xlcp_create_options *member,
                     unsigned int max_wait_ms, int64_t at_ns, int json);
/* TIME of --at: RFC 3339 ("2026-12-02T06:00:00Z", "2026-12-02T07:00:00.25+01:00") or
 * "@EPOCH[.FRACTION]": ns since the epoch; -1 if malformed. */
int cli_parse_time(const char *s, int64_t *ns);
/* The hidden subcommand `group-agent` (a group across hosts: run by its coordinator). */
int cmd_group_agent(struct cli *c);
int cli_group_list(struct cli *c, const char *name, int json);
/* status: each member's checkpoint asked of its host (not for create's own output) */
int cli_group_info(struct cli *c, const char *group, int json, int xml, int status);
int cli_group_verify(struct cli *c, const char *group, unsigned int flags);
int cli_group_delete(struct cli *c, const char *group, int force);
int cli_group_restore(struct cli *c, const char *group, const xlcp_restore_options *opts);
/* cli_group_ops.c: what became of each member. "host:domain" (or "domain"), checkpoint,
 * outcome, and the cause of a failure: one line each on f; only the failed ones (the
 * causes, indented) with cli_print_failures. */
void cli_print_results(FILE *f, const xlcp_group_report *rep);
void cli_print_failures(FILE *f, const xlcp_group_report *rep);
/* "all 3 present", "2 of 3 present; hostb:db1 unreachable" */
void cli_status_summary(const xlcp_group_report *rep, char *buf, size_t len);
/* The members of a report as the JSON schema's group_results (under key "members"). */
void jw_group_results(struct jw *j, const xlcp_group_report *rep);
int cmd_prune(struct cli *c);  /* cli_prune.c */
int cmd_export(struct cli *c); /* cli_export.c */
int cmd_import(struct cli *c); /* cli_export.c */

#endif
