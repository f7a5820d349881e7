/*
 * cli.c - the xl-checkpoint command line: global options, the table of subcommands
 * (after git's cmd_* functions; each family in its own file, as xl does: cli_create.c,
 * cli_catalog.c, cli_restore.c, cli_xs.c), the helpers they share for options
 * (getopt_long each), messages and progress on a terminal, and the mapping of
 * xlcp_error codes to the documented exit codes. Output helpers: cli_output.c. Uses
 * only the public API (xlcheckpoint.h).
 *
 * Every error is one line on errout: "xl-checkpoint: <subcommand>: <message>".
 */
#include "cli_int.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cmd {
    const char *name;
    int (*fn)(struct cli *c);
    const char *usage;
    const char *summary;
    const char *options; /* one option per line, already indented */
};

static const struct cmd *find_cmd(const char *name);
static void print_cmd_help(FILE *f, const struct cmd *cmd);

/* ---- exit codes --------------------------------------------------------------------- */

static const struct {
    int rc;
    int exit;
} exit_map[] = {
    {XLCP_OK, XLCP_EXIT_OK},
    {XLCP_EINVAL, XLCP_EXIT_USAGE},
    {XLCP_ENOTFOUND, XLCP_EXIT_NOTFOUND},
    {XLCP_ESTATE, XLCP_EXIT_STATE},
    {XLCP_EBUSY, XLCP_EXIT_BUSY},
    {XLCP_ENOSPC, XLCP_EXIT_NOSPC},
    {XLCP_ETIMEDOUT, XLCP_EXIT_TIMEDOUT},
    {XLCP_ECORRUPT, XLCP_EXIT_CORRUPT},
    {XLCP_EIO, XLCP_EXIT_FAILURE},
    {XLCP_EUNSUPPORTED, XLCP_EXIT_UNSUPPORTED},
    {XLCP_EHV, XLCP_EXIT_BACKEND},
    {XLCP_EDISK, XLCP_EXIT_BACKEND},
    {XLCP_EPERM, XLCP_EXIT_PERM},
    {XLCP_EINTERNAL, XLCP_EXIT_FAILURE},
};

static const char exit_codes_help[] = "Exit status:\n"
                                      "   0  success\n"
                                      "   1  failure not listed below\n"
                                      "   2  usage error (unknown subcommand, missing or extra "
                                      "arguments, bad option value)\n"
                                      "   3  no such domain or checkpoint\n"
                                      "   4  domain in the wrong state\n"
                                      "   5  busy: another command is changing the domain\n"
                                      "   6  no space (volume group or catalog)\n"
                                      "   7  timed out (guest or helper did not answer)\n"
                                      "   8  corrupt checkpoint (manifest, image or digest)\n"
                                      "   9  unsupported (non-LVM disk, guest type, ...)\n"
                                      "  10  hypervisor, toolstack or LVM error\n"
                                      "  11  permission denied, catalog not writable\n";

int xlcp_cli_exit_code(int xlcp_rc)
{
    for (size_t i = 0; i < sizeof(exit_map) / sizeof(exit_map[0]); i++)
        if (exit_map[i].rc == xlcp_rc)
            return exit_map[i].exit;
    return XLCP_EXIT_FAILURE;
}

/* ---- messages ----------------------------------------------------------------------- */

/* Writes s with control characters (newlines included) replaced by spaces. */
void put_oneline(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, f);
}

void progress_clear(struct cli *c)
{
    if (c->progress_shown) {
        fputs("\r\033[K", c->err);
        c->progress_shown = 0;
    }
}

void errorf(struct cli *c, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    progress_clear(c);
    if (c->cmd)
        fprintf(c->err, PROG ": %s: ", c->cmd);
    else
        fputs(PROG ": ", c->err);
    put_oneline(c->err, msg);
    fputc('\n', c->err);
    fflush(c->err);
}

void warnf(struct cli *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (c->quiet)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    progress_clear(c);
    fprintf(c->err, PROG ": %s: warning: ", c->cmd ? c->cmd : "");
    put_oneline(c->err, msg);
    fputc('\n', c->err);
}

void deprecated(struct cli *c, const char *old, const char *instead)
{
    warnf(c,
          "%s is deprecated and goes in the next release (it means something else in xl): "
          "use %s",
          old, instead);
}

/* With --json, an error is also a JSON document on stdout, so that a program reading our
 * output always gets one. */
static void json_error(struct cli *c, int exit_code, int xlcp_rc, const char *msg)
{
    struct jw j;
    xlcp_step step = c->ctx && xlcp_rc ? xlcp_last_error_step(c->ctx) : XLCP_STEP_NONE;

    if (!c->json || jw_open_doc(c, &j) != 0)
        return;
    jw_key(&j, "error");
    jw_check(&j, yajl_gen_map_open(j.g));
    jw_key(&j, "exit");
    jw_check(&j, yajl_gen_integer(j.g, exit_code));
    jw_key(&j, "code");
    jw_str(&j, xlcp_rc ? xlcp_strerror(xlcp_rc) : "usage");
    jw_key(&j, "subcommand");
    if (c->cmd)
        jw_str(&j, c->cmd);
    else
        jw_check(&j, yajl_gen_null(j.g));
    jw_key(&j, "step");
    if (step != XLCP_STEP_NONE)
        jw_str(&j, xlcp_step_name(step));
    else
        jw_check(&j, yajl_gen_null(j.g));
    jw_key(&j, "message");
    jw_str(&j, msg);
    if (c->report) /* a group operation: what became of each member */
        jw_group_results(&j, c->report);
    jw_check(&j, yajl_gen_map_close(j.g));
    jw_check(&j, yajl_gen_map_close(j.g));
    jw_close(c, &j);
}

int usage_error(struct cli *c, const char *fmt, ...)
{
    const struct cmd *cmd = find_cmd(c->cmd);
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (cmd)
        errorf(c, "%s (usage: " PROG " %s)", msg, cmd->usage);
    else
        errorf(c, "%s (see '" PROG " help')", msg);
    json_error(c, XLCP_EXIT_USAGE, 0, msg);
    return XLCP_EXIT_USAGE;
}

/* Reports a failed library call; returns the exit code. */
int lib_error(struct cli *c, int rc)
{
    const char *msg = c->ctx ? xlcp_last_error(c->ctx) : "";

    if (!msg || !*msg)
        msg = xlcp_strerror(rc);
    errorf(c, "%s", msg);
    json_error(c, xlcp_cli_exit_code(rc), rc, msg);
    return xlcp_cli_exit_code(rc);
}

/* Opens the context on first use. Returns 0 or an exit code (error reported). */
int need_ctx(struct cli *c)
{
    int rc;

    if (c->ctx)
        return 0;
    rc = c->open_fn(&c->ctx, c->root, c->open_arg);
    if (rc == 0 && !c->ctx)
        rc = XLCP_EINTERNAL;
    if (rc != 0)
        return lib_error(c, rc);
    return 0;
}

/* ---- option parsing ----------------------------------------------------------------- */

/*
 * getopt_long over the subcommand's arguments with errors reported our way. Returns the
 * option, -1 at the end, 'h' for -h/--help, or '?' after reporting a usage error.
 * shortopts must start with ':'.
 */
int next_opt(struct cli *c, const char *shortopts, const struct option *longopts)
{
    int o = getopt_long(c->argc, c->argv, shortopts, longopts, NULL);
    const char *bad = optind > 0 && optind <= c->argc ? c->argv[optind - 1] : "?";
    char shortname[3] = {'-', (char)optopt, '\0'};

    /* optopt holds the short option letter, or for a long option its value (not a
     * letter) or 0; then the offending word is the last one getopt consumed. */
    if (o == ':' || o == '?') {
        int letter = optopt > 0 && optopt < 0x80 && optopt != ':';
        if (letter && strncmp(bad, "--", 2) != 0)
            bad = shortname;
        if (o == ':')
            usage_error(c, "option %s needs a value", bad);
        else
            usage_error(c, "unknown option %s", bad);
        return '?';
    }
    return o;
}

void opt_reset(void)
{
    optind = 0; /* GNU: full re-initialisation, so that we can parse several vectors */
    opterr = 0;
}

/* Checks that exactly between min and max positional arguments remain. */
int positional(struct cli *c, int min, int max, const char *what)
{
    int n = c->argc - optind;

    if (n < min)
        return usage_error(c, "missing %s", what);
    if (n > max)
        return usage_error(c, "unexpected argument '%s'", c->argv[optind + max]);
    return 0;
}

int show_help(struct cli *c)
{
    print_cmd_help(c->out, find_cmd(c->cmd));
    return XLCP_EXIT_OK;
}

/* "10", "2.5" (seconds) or "500ms" -> milliseconds. */
int parse_seconds(const char *s, unsigned int *ms_out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0)
        return -1;
    if (strcmp(end, "ms") == 0)
        v /= 1000.0;
    else if (strcmp(end, "s") != 0 && *end)
        return -1;
    v *= 1000.0;
    if (v > (double)UINT_MAX - 1.0)
        return -1;
    *ms_out = (unsigned int)(v + 0.5);
    return 0;
}

/* "20%" (1..100) or a size: digits, optional fraction, optional K/M/G/T/P unit with an
 * optional "B" or "iB". */
int valid_snapshot_size(const char *s)
{
    const char *p = s;
    char *end;
    double v;

    if (*p < '0' || *p > '9')
        return 0;
    errno = 0;
    v = strtod(p, &end);
    if (errno || !isfinite(v) || v <= 0)
        return 0;
    for (const char *q = s; q < end; q++)
        if ((*q < '0' || *q > '9') && *q != '.')
            return 0;
    if (strcmp(end, "%") == 0)
        return v <= 100;
    if (*end && strchr("kKmMgGtTpP", *end)) {
        end++;
        if (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0)
            end += strlen(end);
    } else if (*end == 'B') {
        end++;
    }
    return *end == '\0';
}

/* ---- progress ----------------------------------------------------------------------- */

void on_progress(xlcp_step step, const char *what, void *arg)
{
    struct cli *c = arg;
    const char *name = xlcp_step_name(step);
    int show_what = what && *what && strcmp(what, name) != 0;

    if (c->quiet)
        return;
    if (c->progress_tty) {
        fprintf(c->err, "\r\033[K[%d/%d] %s%s%s ...", (int)step + 1, (int)XLCP_STEP__COUNT, name,
                show_what ? ": " : "", show_what ? what : "");
        c->progress_shown = 1;
    } else if (c->verbose) {
        fprintf(c->err, "[%d/%d] %s%s%s\n", (int)step + 1, (int)XLCP_STEP__COUNT, name,
                show_what ? ": " : "", show_what ? what : "");
    }
    fflush(c->err);
}

/* Options of a subcommand that takes none but --help: an exit code to return, or -1. */
int help_only(struct cli *c)
{
    static const struct option lo[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int o;

    opt_reset();
    while ((o = next_opt(c, ":h", lo)) != -1)
        return o == 'h' ? show_help(c) : XLCP_EXIT_USAGE;
    return -1;
}

int flag_and_args(struct cli *c, const char *shortopts, const struct option *lo, int flag_opt,
                  int *flag, int min, int max, const char *what)
{
    int o, rc;

    opt_reset();
    while ((o = next_opt(c, shortopts, lo)) != -1) {
        if (flag && o == flag_opt)
            *flag = 1;
        else if (o == OPT_JSON)
            c->json = 1;
        else if (o == OPT_GROUP)
            c->group = 1;
        else if (o == 'h')
            return show_help(c);
        else
            return XLCP_EXIT_USAGE;
    }
    if ((rc = positional(c, min, max, what)))
        return rc;
    if ((rc = need_ctx(c)))
        return rc;
    return -1;
}

static void print_main_help(FILE *f);

static int cmd_help(struct cli *c)
{
    static const struct option lo[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const struct cmd *cmd;
    int o, rc;

    opt_reset();
    while ((o = next_opt(c, ":h", lo)) != -1) {
        if (o != 'h')
            return XLCP_EXIT_USAGE;
    }
    if ((rc = positional(c, 0, 1, "<subcommand>")))
        return rc;
    if (optind == c->argc) {
        print_main_help(c->out);
        return XLCP_EXIT_OK;
    }
    cmd = find_cmd(c->argv[optind]);
    if (!cmd)
        return usage_error(c, "unknown subcommand '%s'", c->argv[optind]);
    print_cmd_help(c->out, cmd);
    return XLCP_EXIT_OK;
}

static int cmd_version(struct cli *c)
{
    int rc;

    if ((rc = help_only(c)) >= 0)
        return rc;
    if ((rc = positional(c, 0, 0, "")))
        return rc;
    fprintf(c->out, PROG " %s (libxlcheckpoint %s)\n", XLCP_VERSION_STRING, xlcp_version());
    return XLCP_EXIT_OK;
}

static const struct cmd commands[] = {
    {"create", cmd_create, "create [options] <domain>|--group NAME <domain>...",
     "Take a checkpoint of a running domain, or of several at one instant (a group)",
     "  -g, --group NAME          a group checkpoint of every domain named: all stopped and\n"
     "                            captured before any resumes; all committed or none;\n"
     "                            prints the group's id\n"
     "      --max-wait SEC        with --group: how long a stopped member waits for the\n"
     "                            others before the group gives up (default 10)\n"
     "      --at TIME             stop the guest (every member) at TIME (RFC 3339, e.g.\n"
     "                            2026-12-02T06:00:00Z, or @EPOCH[.FRACTION]); each copy\n"
     "                            starts early enough; the deviation is recorded\n"
     "                            A member HOST:DOMAIN is on another host (over ssh,\n"
     "                            $XLCP_SSH; see man xl-checkpoint, GROUPS ACROSS HOSTS)\n"
     "  -n, --dry-run             check and show what would be done, change nothing (xl -n)\n"
     "      --name NAME           label stored in the manifest\n"
     "      --no-live             keep the guest stopped during the memory copy\n"
     "      --quiesce             freeze the guest's filesystems for the stop (module)\n"
     "      --quiesce-timeout SEC how long to wait for the freeze (default 10)\n"
     "      --suspend-timeout SEC how long to wait for the guest to suspend (default 60)\n"
     "  -s, --snapshot-size SIZE  thick snapshot size: 20% of the origin (default) or 512M, 2G\n"
     "      --skip-non-lvm        record and skip disks that are not LVM volumes\n"
     "      --json                print the new checkpoint as a JSON object, not its id\n"
     "      --quiet               no progress, no warnings (as the global -q)\n"
     "  -v, --verbose             step-by-step progress (as the global -v)\n"
     "  Deprecated, until the next release: -n NAME (--name), -q (--quiesce; -q will be\n"
     "  --quiet, as in xl), --paused (--no-live).\n"},
    {"list", cmd_list, "list [--json] [<domain>] | list --groups [--json] [<name>]",
     "List checkpoints (or group checkpoints), oldest first",
     "      --json                print a JSON array\n"
     "      --groups              list group checkpoints (of one name if given)\n"},
    {"info", cmd_info, "info [--json|--xml] [--group] <id>", "Show one checkpoint or group",
     "      --json                print a JSON object\n"
     "      --xml                 print the manifest (group.xml with --group)\n"
     "      --group               <id> is a group checkpoint's id, or its name\n"},
    {"verify", cmd_verify, "verify [--no-disks] [--group] <id>",
     "Check manifest, memory image digest and snapshot volumes (of every member)",
     "      --no-disks            do not check the snapshot volumes\n"
     "      --group               <id> is a group checkpoint's id, or its name\n"},
    {"delete", cmd_delete, "delete [-f] [--group] <id>",
     "Delete a checkpoint (or every member of a group) and its snapshot volumes",
     "  -f, --force               no error if the checkpoint does not exist\n"
     "      --group               <id> is a group checkpoint's id, or its name\n"},
    {"restore", cmd_restore, "restore [options] <id> [<ConfigFile>] | --group <id>",
     "Start a new domain from a checkpoint, or every member of a group; prints the domids",
     "  <ConfigFile>              restore with this domain configuration instead of the\n"
     "                            saved one (as xl restore's; xl's format, read by the\n"
     "                            system's xl, or libxl JSON); its disks of the checkpoint\n"
     "                            are pointed at the restored copies\n"
     "      --group               <id> is a group checkpoint's id, or its name: every member\n"
     "                            restored paused, then all unpaused together; prints one\n"
     "                            line \"DOMID NAME\" per member\n"
     "      --name NEW            name of the new domain (default <name>-<id>)\n"
     "      --replace             destroy the original domain and take its name\n"
     "      --force               with --replace: even while the original runs\n"
     "  -p, --paused              leave the restored domain paused (xl restore -p)\n"
     "      --disk VDEV=PATH      where a disk the checkpoint skipped (not LVM) is found;\n"
     "                            needed for each such disk unless --replace (repeatable)\n"
     "  -e                        accepted as in xl restore; we never wait for the domain\n"
     "      --json                print {domid, name} as a JSON object\n"
     "  Deprecated, until the next release: -n NEW (--name), -d VDEV=PATH (--disk; -d will\n"
     "  be xl's debug option).\n"},
    {"prune", cmd_prune, "prune [options] (<domain> | --all)",
     "Delete old checkpoints by retention rules (a dry run without --apply)",
     "      --keep-last N         keep the N newest checkpoints of each domain\n"
     "      --keep-within DUR     keep those younger than DUR (90, 30s, 15m, 12h, 7d, 2w)\n"
     "      --apply               delete; without it only show what would go\n"
     "      --all                 every domain in the catalog\n"
     "      --json                print a JSON object\n"
     "  The newest checkpoint of a domain, members of group checkpoints and\n"
     "  checkpoints whose manifest cannot be read are always kept.\n"},
    {"recover", cmd_recover, "recover [--dry-run] [--resume] [<domain>]",
     "Show and remove what interrupted checkpoints left (volumes, directories, records)",
     "  -n, --dry-run             only show what would be removed (and resumed)\n"
     "      --resume              resume a guest an interrupted checkpoint left suspended\n"
     "                            (as its record proves); only if nothing else saves or\n"
     "                            migrates it: its guardian may have resumed it meanwhile\n"},
    {"export", cmd_export, "export [--json] <id> --to DIR [--since OLDER]",
     "Write a checkpoint's manifest, memory image and disks into a new directory",
     "  -t, --to DIR              the directory to make (it must not exist)\n"
     "  -s, --since OLDER         thin disks: only the blocks changed since checkpoint\n"
     "                            OLDER (same domain, same pool); thick disks in full\n"
     "      --json                print a JSON object (not with --to -)\n"},
    {"import", cmd_import, "import [--json] [--name NEW] DIR [DIR2 ...]",
     "Make a checkpoint from a full export and the incrementals after it; prints its id",
     "  -n, --name NEW            the domain name it restores as\n"
     "      --json                print a JSON object\n"},
    {"xs-check", cmd_xs_check, "xs-check <domain>",
     "Check the guest's xenstore subtree against the protocol (exit 1 on violations)", ""},
    {"help", cmd_help, "help [<subcommand>]", "Show help", ""},
    {"version", cmd_version, "version", "Show the version", ""},
};

/* Not in the list of subcommands: only a group's coordinator runs it (over ssh). */
static const struct cmd group_agent_cmd = {
    "group-agent", cmd_group_agent, "group-agent",
    "The agent of a group checkpoint across hosts (run by its coordinator over ssh)", ""};

static const struct cmd *find_cmd(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return strcmp(name, group_agent_cmd.name) == 0 ? &group_agent_cmd : NULL;
}

static void print_cmd_help(FILE *f, const struct cmd *cmd)
{
    if (!cmd)
        return;
    fprintf(f, "Usage: " PROG " [global options] %s\n\n%s.\n", cmd->usage, cmd->summary);
    if (cmd->options[0])
        fprintf(f, "\nOptions:\n%s", cmd->options);
}

static void print_main_help(FILE *f)
{
    fputs("Usage: " PROG " [global options] <subcommand> [options] [arguments]\n"
          "       xl checkpoint <subcommand> [options] [arguments]\n\n"
          "Lightweight live checkpoints of Xen domains: memory and LVM disk snapshots\n"
          "taken at one instant while the guest keeps running.\n\n"
          "Subcommands:\n",
          f);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-30s %s\n", commands[i].usage, commands[i].summary);
    fputs("\nGlobal options:\n"
          "  -r, --root DIR   catalog root (default $XLCP_CATALOG_ROOT, else "
          "/var/lib/xl-checkpoint)\n"
          "  -v, --verbose    step-by-step progress, more detail\n"
          "  -q, --quiet      no progress, no warnings\n"
          "  -N, --dry-run    change nothing, say what would be done (create, prune, recover)\n"
          "      --json       JSON output (every subcommand; errors too, on stdout)\n"
          "      --help       this help\n"
          "      --version    version\n\n"
          "'" PROG " help <subcommand>' shows the options of one subcommand.\n\n",
          f);
    fputs(exit_codes_help, f);
}

/* ---- main --------------------------------------------------------------------------- */

int xlcp_cli_main(int argc, char **argv, xlcp_cli_open_fn open_ctx, void *arg, FILE *out,
                  FILE *errout)
{
    static const struct option lo[] = {
        {"root", required_argument, NULL, 'r'}, {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},      {"dry-run", no_argument, NULL, 'N'},
        {"json", no_argument, NULL, OPT_JSON},  {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},    {NULL, 0, NULL, 0},
    };
    struct cli c;
    const struct cmd *cmd;
    const char *env;
    int o, rc;

    memset(&c, 0, sizeof(c));
    c.argc = argc;
    c.argv = argv;
    c.cmd = NULL; /* until the subcommand is known */
    c.open_fn = open_ctx;
    c.open_arg = arg;
    c.out = out;
    c.err = errout;
    env = getenv("XLCP_CATALOG_ROOT");
    c.root = env && *env ? env : NULL;
    env = getenv("XLCP_DEBUG");
    c.verbose = env && *env && strcmp(env, "0") != 0;

    opt_reset();
    /* '+': stop at the subcommand, its options are its own. */
    while ((o = next_opt(&c, "+:r:vqNh", lo)) != -1) {
        switch (o) {
        case 'q':
            c.quiet = 1;
            break;
        case 'N':
            c.dry_run = 1;
            break;
        case OPT_JSON:
            c.json = 1;
            break;
        case 'r':
            if (!*optarg)
                return usage_error(&c, "--root needs a directory");
            c.root = optarg;
            break;
        case 'v':
            c.verbose++;
            break;
        case 'h':
            print_main_help(out);
            return XLCP_EXIT_OK;
        case 'V':
            fprintf(out, PROG " %s (libxlcheckpoint %s)\n", XLCP_VERSION_STRING, xlcp_version());
            return XLCP_EXIT_OK;
        default:
            return XLCP_EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return usage_error(&c, "missing subcommand");
    cmd = find_cmd(argv[optind]);
    if (!cmd) {
        c.cmd = argv[optind];
        return usage_error(&c, "unknown subcommand");
    }
    c.cmd = cmd->name;
    c.argc = argc - optind;
    c.argv = argv + optind;
    c.progress_tty = isatty(fileno(errout)) == 1;
    rc = cmd->fn(&c);
    progress_clear(&c);
    if (fflush(out) != 0 && rc == XLCP_EXIT_OK) {
        errorf(&c, "cannot write output: %s", strerror(errno));
        rc = XLCP_EXIT_FAILURE;
    }
    xlcp_ctx_free(c.ctx);
    return rc;
}
