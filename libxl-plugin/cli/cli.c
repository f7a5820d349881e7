/*
 * cli.c - the xl-checkpoint command line: global options, a table of subcommands
 * (after git's cmd_* functions), their options (getopt_long each), human and JSON
 * output (yajl), progress on a terminal, and the mapping of xlcp_error codes to the
 * documented exit codes. Uses only the public API (xlcheckpoint.h).
 *
 * Every error is one line on errout: "xl-checkpoint: <subcommand>: <message>".
 */
#include "cli.h"
#include "cpinfo.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yajl/yajl_gen.h>

#define PROG "xl-checkpoint"

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
};

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
                                      "   5  busy: another checkpoint of the domain is under way\n"
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
static void put_oneline(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, f);
}

static void progress_clear(struct cli *c)
{
    if (c->progress_shown) {
        fputs("\r\033[K", c->err);
        c->progress_shown = 0;
    }
}

static void errorf(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errorf(struct cli *c, const char *fmt, ...)
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

static int usage_error(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(struct cli *c, const char *fmt, ...)
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
    return XLCP_EXIT_USAGE;
}

/* Reports a failed library call; returns the exit code. */
static int lib_error(struct cli *c, int rc)
{
    const char *msg = c->ctx ? xlcp_last_error(c->ctx) : "";

    if (!msg || !*msg)
        msg = xlcp_strerror(rc);
    errorf(c, "%s", msg);
    return xlcp_cli_exit_code(rc);
}

/* Opens the context on first use. Returns 0 or an exit code (error reported). */
static int need_ctx(struct cli *c)
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
static int next_opt(struct cli *c, const char *shortopts, const struct option *longopts)
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

static void opt_reset(void)
{
    optind = 0; /* GNU: full re-initialisation, so that we can parse several vectors */
    opterr = 0;
}

/* Checks that exactly between min and max positional arguments remain. */
static int positional(struct cli *c, int min, int max, const char *what)
{
    int n = c->argc - optind;

    if (n < min)
        return usage_error(c, "missing %s", what);
    if (n > max)
        return usage_error(c, "unexpected argument '%s'", c->argv[optind + max]);
    return 0;
}

static int show_help(struct cli *c)
{
    print_cmd_help(c->out, find_cmd(c->cmd));
    return XLCP_EXIT_OK;
}

/* "10", "2.5" (seconds) or "500ms" -> milliseconds. */
static int parse_seconds(const char *s, unsigned int *ms_out)
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
static int valid_snapshot_size(const char *s)
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

/* ---- output helpers ----------------------------------------------------------------- */

static void human_bytes(uint64_t b, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)b;
    size_t u = 0;

    while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%llu B", (unsigned long long)b);
    else
        snprintf(buf, len, "%.1f %s", v, units[u]);
}

static double ns_to_ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

/* JSON writer: remembers the first yajl failure so that callers check once. */
struct jw {
    yajl_gen g;
    yajl_gen_status st;
};

static void jw_check(struct jw *j, yajl_gen_status st)
{
    if (j->st == yajl_gen_status_ok)
        j->st = st;
}

static void jw_str(struct jw *j, const char *s)
{
    jw_check(j, yajl_gen_string(j->g, (const unsigned char *)s, strlen(s)));
}

static void jw_key(struct jw *j, const char *k)
{
    jw_str(j, k);
}

static void jw_str_or_null(struct jw *j, const char *k, const char *s)
{
    jw_key(j, k);
    if (s && *s)
        jw_str(j, s);
    else
        jw_check(j, yajl_gen_null(j->g));
}

static void jw_tristate(struct jw *j, const char *k, int v)
{
    jw_key(j, k);
    if (v < 0)
        jw_check(j, yajl_gen_null(j->g));
    else
        jw_check(j, yajl_gen_bool(j->g, v));
}

static void jw_u64(struct jw *j, const char *k, uint64_t v)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);

    jw_key(j, k);
    jw_check(j, yajl_gen_number(j->g, buf, (size_t)n));
}

static void jw_ms(struct jw *j, const char *k, uint64_t ns)
{
    char buf[48];
    int n = snprintf(buf, sizeof(buf), "%.3f", ns_to_ms(ns));

    jw_key(j, k);
    jw_check(j, yajl_gen_number(j->g, buf, (size_t)n));
}

static int jw_open(struct cli *c, struct jw *j)
{
    j->st = yajl_gen_status_ok;
    j->g = yajl_gen_alloc(NULL);
    if (!j->g) {
        errorf(c, "out of memory");
        return -1;
    }
    if (!yajl_gen_config(j->g, yajl_gen_beautify, 1) ||
        !yajl_gen_config(j->g, yajl_gen_validate_utf8, 1)) {
        yajl_gen_free(j->g);
        errorf(c, "cannot configure the JSON generator");
        return -1;
    }
    return 0;
}

/* Writes the document to c->out and frees the writer. Returns an exit code. */
static int jw_close(struct cli *c, struct jw *j)
{
    const unsigned char *buf;
    size_t len;
    int rc = XLCP_EXIT_OK;

    if (j->st == yajl_gen_status_ok)
        jw_check(j, yajl_gen_get_buf(j->g, &buf, &len));
    if (j->st != yajl_gen_status_ok) {
        errorf(c, "cannot generate JSON output (yajl status %d)", (int)j->st);
        rc = XLCP_EXIT_FAILURE;
    } else if (fwrite(buf, 1, len, c->out) != len ||
               (len && buf[len - 1] != '\n' && fputc('\n', c->out) == EOF)) {
        errorf(c, "cannot write output: %s", strerror(errno));
        rc = XLCP_EXIT_FAILURE;
    }
    yajl_gen_free(j->g);
    return rc;
}

static void jw_checkpoint(struct jw *j, const struct cli_cp *cp)
{
    jw_check(j, yajl_gen_map_open(j->g));
    jw_key(j, "id");
    jw_str(j, cp->id);
    jw_key(j, "domain");
    jw_str(j, cp->domain);
    jw_key(j, "domain_uuid");
    jw_str(j, cp->domain_uuid);
    jw_key(j, "created");
    jw_str(j, cp->created);
    jw_str_or_null(j, "label", cp->label);
    jw_u64(j, "memory_bytes", cp->memory_bytes);
    jw_u64(j, "disk_count", cp->ndisks);
    jw_key(j, "disks");
    jw_check(j, yajl_gen_array_open(j->g));
    for (size_t i = 0; i < cp->nxdisks; i++) {
        const struct cli_disk *d = &cp->disks[i];
        jw_check(j, yajl_gen_map_open(j->g));
        jw_str_or_null(j, "vdev", d->vdev);
        jw_str_or_null(j, "origin", d->origin);
        jw_str_or_null(j, "snapshot", d->snapshot);
        jw_tristate(j, "thin", d->thin);
        jw_tristate(j, "skipped", d->skipped);
        if (d->size_bytes)
            jw_u64(j, "size_bytes", d->size_bytes);
        if (d->held_ns)
            jw_ms(j, "writes_held_ms", d->held_ns);
        jw_check(j, yajl_gen_map_close(j->g));
    }
    jw_check(j, yajl_gen_array_close(j->g));
    jw_ms(j, "downtime_ms", cp->downtime_ns);
    if (cp->guest_downtime_ns) {
        jw_ms(j, "guest_downtime_ms", cp->guest_downtime_ns);
    } else {
        jw_key(j, "guest_downtime_ms");
        jw_check(j, yajl_gen_null(j->g));
    }
    if (cp->total_ns >= 0) {
        jw_ms(j, "total_ms", (uint64_t)cp->total_ns);
    } else {
        jw_key(j, "total_ms");
        jw_check(j, yajl_gen_null(j->g));
    }
    jw_tristate(j, "quiesced", cp->quiesced);
    jw_tristate(j, "live", cp->live);
    jw_str_or_null(j, "suspend_path", cp->suspend_path);
    jw_str_or_null(j, "group_id", cp->group_id);
    jw_key(j, "dir");
    jw_str(j, cp->dir);
    jw_check(j, yajl_gen_map_close(j->g));
}

static const char *yesno(int v)
{
    return v < 0 ? "unknown" : v ? "yes" : "no";
}

static void print_info(FILE *f, const struct cli_cp *cp)
{
    char mem[32];

    human_bytes(cp->memory_bytes, mem, sizeof(mem));
    fprintf(f, "id:            %s\n", cp->id);
    fprintf(f, "domain:        %s (%s)\n", cp->domain, cp->domain_uuid);
    fprintf(f, "created:       %s\n", cp->created);
    if (cp->label[0])
        fprintf(f, "label:         %s\n", cp->label);
    fprintf(f, "memory:        %s (%llu bytes)\n", mem, (unsigned long long)cp->memory_bytes);
    fprintf(f, "downtime:      %.3f ms\n", ns_to_ms(cp->downtime_ns));
    if (cp->guest_downtime_ns)
        fprintf(f, "guest-seen:    %.3f ms (measured by the guest module)\n",
                ns_to_ms(cp->guest_downtime_ns));
    if (cp->total_ns >= 0)
        fprintf(f, "total:         %.3f ms\n", ns_to_ms((uint64_t)cp->total_ns));
    fprintf(f, "live:          %s\n", yesno(cp->live));
    fprintf(f, "quiesced:      %s\n", yesno(cp->quiesced));
    if (cp->suspend_path[0])
        fprintf(f, "suspend path:  %s\n", cp->suspend_path);
    if (cp->group_id[0])
        fprintf(f, "group:         %s\n", cp->group_id);
    fprintf(f, "directory:     %s\n", cp->dir);
    fprintf(f, "disks:         %zu\n", cp->ndisks);
    for (size_t i = 0; i < cp->nxdisks; i++) {
        const struct cli_disk *d = &cp->disks[i];
        if (d->skipped)
            fprintf(f, "  %-8s %s (skipped: not LVM)\n", d->vdev, d->origin);
        else
            fprintf(f, "  %-8s %s -> %s%s", d->vdev, d->origin, d->snapshot[0] ? d->snapshot : "?",
                    d->thin == 1 ? " (thin)" : "");
        if (!d->skipped && d->held_ns)
            fprintf(f, " (writes held %.3f ms)", ns_to_ms(d->held_ns));
        if (!d->skipped)
            fprintf(f, "\n");
    }
}

/* ---- progress ----------------------------------------------------------------------- */

static void on_progress(xlcp_step step, const char *what, void *arg)
{
    struct cli *c = arg;
    const char *name = xlcp_step_name(step);
    int show_what = what && *what && strcmp(what, name) != 0;

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

/* ---- subcommands -------------------------------------------------------------------- */

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
};

/* Opens checkpoint id and writes it as JSON (one object). */
static int emit_json_checkpoint(struct cli *c, const char *id)
{
    xlcp_checkpoint *cp = NULL;
    struct cli_cp info;
    struct jw j;
    int rc = xlcp_checkpoint_open(c->ctx, id, &cp);

    if (rc)
        return lib_error(c, rc);
    cli_cp_describe(cp, &info);
    if (jw_open(c, &j) != 0) {
        xlcp_checkpoint_free(cp);
        return XLCP_EXIT_FAILURE;
    }
    jw_checkpoint(&j, &info);
    rc = jw_close(c, &j);
    xlcp_checkpoint_free(cp);
    return rc;
}

/* Options of a subcommand that takes none but --help: an exit code to return, or -1. */
static int help_only(struct cli *c)
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

static int cmd_create(struct cli *c)
{
    static const struct option lo[] = {
        {"name", required_argument, NULL, 'n'},
        {"paused", no_argument, NULL, OPT_PAUSED},
        {"quiesce", no_argument, NULL, 'q'},
        {"quiesce-timeout", required_argument, NULL, OPT_QUIESCE_TIMEOUT},
        {"suspend-timeout", required_argument, NULL, OPT_SUSPEND_TIMEOUT},
        {"snapshot-size", required_argument, NULL, 's'},
        {"skip-non-lvm", no_argument, NULL, OPT_SKIP_NON_LVM},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    xlcp_create_options opts;
    char id[XLCP_ID_MAX];
    int json = 0, o, rc;

    if (xlcp_create_options_init(&opts, XLCP_CREATE_OPTIONS_VERSION) != 0) {
        errorf(c, "library does not support create options version %d",
               XLCP_CREATE_OPTIONS_VERSION);
        return XLCP_EXIT_FAILURE;
    }
    opt_reset();
    while ((o = next_opt(c, ":n:qs:h", lo)) != -1) {
        switch (o) {
        case 'n':
            opts.name = optarg;
            break;
        case OPT_PAUSED:
            opts.live = 0;
            break;
        case 'q':
            opts.quiesce = 1;
            break;
        case OPT_QUIESCE_TIMEOUT:
            if (parse_seconds(optarg, &opts.quiesce_timeout_ms) != 0)
                return usage_error(c, "bad --quiesce-timeout '%s' (seconds)", optarg);
            break;
        case OPT_SUSPEND_TIMEOUT:
            if (parse_seconds(optarg, &opts.suspend_timeout_ms) != 0 ||
                opts.suspend_timeout_ms == 0)
                return usage_error(c, "bad --suspend-timeout '%s' (seconds)", optarg);
            break;
        case 's':
            if (!valid_snapshot_size(optarg))
                return usage_error(c, "bad --snapshot-size '%s' (e.g. 20%% or 2G)", optarg);
            opts.snapshot_size = optarg;
            break;
        case OPT_SKIP_NON_LVM:
            opts.skip_non_lvm = 1;
            break;
        case OPT_JSON:
            json = 1;
            break;
        case 'h':
            return show_help(c);
        default:
            return XLCP_EXIT_USAGE;
        }
    }
    if ((rc = positional(c, 1, 1, "<domain>")))
        return rc;
    if ((rc = need_ctx(c)))
        return rc;
    opts.progress = on_progress;
    opts.progress_arg = c;
    rc = xlcp_create(c->ctx, c->argv[optind], &opts, id);
    progress_clear(c);
    if (rc)
        return lib_error(c, rc);
    if (json)
        return emit_json_checkpoint(c, id);
    fprintf(c->out, "%s\n", id);
    return XLCP_EXIT_OK;
}

struct list_row {
    char *id;
    xlcp_checkpoint *cp; /* NULL: unreadable */
    char *error;
    struct cli_cp info;
};

static void list_table(struct cli *c, struct list_row *rows, size_t n)
{
    int wid = 2, wdom = 6;

    for (size_t i = 0; i < n; i++) {
        int l = (int)strlen(rows[i].id);
        wid = l > wid ? l : wid;
        if (rows[i].cp) {
            l = (int)strlen(rows[i].info.domain);
            wdom = l > wdom ? l : wdom;
        }
    }
    fprintf(c->out, "%-*s  %-*s  %-24s  %10s  %5s  %12s\n", wid, "ID", wdom, "DOMAIN", "CREATED",
            "MEMORY", "DISKS", "DOWNTIME(ms)");
    for (size_t i = 0; i < n; i++) {
        const struct cli_cp *cp = &rows[i].info;
        char mem[32];
        if (!rows[i].cp) {
            fprintf(c->out, "%-*s  %-*s  (unreadable: ", wid, rows[i].id, wdom, "?");
            put_oneline(c->out, rows[i].error);
            fputs(")\n", c->out);
            continue;
        }
        human_bytes(cp->memory_bytes, mem, sizeof(mem));
        fprintf(c->out, "%-*s  %-*s  %-24s  %10s  %5zu  %12.3f\n", wid, cp->id, wdom, cp->domain,
                cp->created, mem, cp->ndisks, ns_to_ms(cp->downtime_ns));
    }
}

static int list_json(struct cli *c, struct list_row *rows, size_t n)
{
    struct jw j;

    if (jw_open(c, &j) != 0)
        return XLCP_EXIT_FAILURE;
    jw_check(&j, yajl_gen_array_open(j.g));
    for (size_t i = 0; i < n; i++) {
        if (rows[i].cp) {
            jw_checkpoint(&j, &rows[i].info);
            continue;
        }
        jw_check(&j, yajl_gen_map_open(j.g));
        jw_key(&j, "id");
        jw_str(&j, rows[i].id);
        jw_key(&j, "error");
        jw_str(&j, rows[i].error);
        jw_check(&j, yajl_gen_map_close(j.g));
    }
    jw_check(&j, yajl_gen_array_close(j.g));
    return jw_close(c, &j);
}

static int cmd_list(struct cli *c)
{
    static const struct option lo[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct list_row *rows = NULL;
    char **ids = NULL;
    size_t n = 0;
    int json = 0, o, rc;

    opt_reset();
    while ((o = next_opt(c, ":h", lo)) != -1) {
        if (o == OPT_JSON)
            json = 1;
        else if (o == 'h')
            return show_help(c);
        else
            return XLCP_EXIT_USAGE;
    }
    if ((rc = positional(c, 0, 1, "<domain>")))
        return rc;
    if ((rc = need_ctx(c)))
        return rc;
    rc = xlcp_list(c->ctx, optind < c->argc ? c->argv[optind] : NULL, &ids, &n);
    if (rc)
        return lib_error(c, rc);
    if (n) {
        rows = calloc(n, sizeof(*rows));
        if (!rows) {
            xlcp_strv_free(ids, n);
            errorf(c, "out of memory");
            return XLCP_EXIT_FAILURE;
        }
    }
    for (size_t i = 0; i < n; i++) {
        rows[i].id = ids[i];
        if (xlcp_checkpoint_open(c->ctx, ids[i], &rows[i].cp) == 0) {
            cli_cp_describe(rows[i].cp, &rows[i].info);
        } else {
            rows[i].cp = NULL;
            rows[i].error = strdup(xlcp_last_error(c->ctx));
            if (!rows[i].error) {
                rc = XLCP_EXIT_FAILURE;
                errorf(c, "out of memory");
                break;
            }
        }
    }
    if (rc == 0) {
        if (json) {
            rc = list_json(c, rows, n);
        } else {
            list_table(c, rows, n);
            rc = XLCP_EXIT_OK;
        }
    }
    for (size_t i = 0; i < n; i++) {
        xlcp_checkpoint_free(rows[i].cp);
        free(rows[i].error);
    }
    free(rows);
    xlcp_strv_free(ids, n);
    return rc;
}

static int cmd_info(struct cli *c)
{
    static const struct option lo[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"xml", no_argument, NULL, OPT_XML},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    xlcp_checkpoint *cp = NULL;
    struct cli_cp info;
    int json = 0, xml = 0, o, rc;

    opt_reset();
    while ((o = next_opt(c, ":h", lo)) != -1) {
        if (o == OPT_JSON)
            json = 1;
        else if (o == OPT_XML)
            xml = 1;
        else if (o == 'h')
            return show_help(c);
        else
            return XLCP_EXIT_USAGE;
    }
    if (json && xml)
        return usage_error(c, "--json and --xml exclude each other");
    if ((rc = positional(c, 1, 1, "<id>")))
        return rc;
    if ((rc = need_ctx(c)))
        return rc;
    if (json)
        return emit_json_checkpoint(c, c->argv[optind]);
    rc = xlcp_checkpoint_open(c->ctx, c->argv[optind], &cp);
    if (rc)
        return lib_error(c, rc);
    if (xml) {
        const char *x = xlcp_checkpoint_manifest_xml(cp);
        size_t len = x ? strlen(x) : 0;
        fputs(x ? x : "", c->out);
        if (len && x[len - 1] != '\n')
            fputc('\n', c->out);
    } else {
        cli_cp_describe(cp, &info);
        print_info(c->out, &info);
    }
    xlcp_checkpoint_free(cp);
    return XLCP_EXIT_OK;
}

static int cmd_verify(struct cli *c)
{
    static const struct option lo[] = {
        {"no-disks", no_argument, NULL, OPT_NO_DISKS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned int flags = 0;
    int o, rc;

    opt_reset();
    while ((o = next_opt(c, ":h", lo)) != -1) {
        if (o == OPT_NO_DISKS)
            flags |= XLCP_VERIFY_NO_DISKS;
        else if (o == 'h')
            return show_help(c);
        else
            return XLCP_EXIT_USAGE;
    }
    if ((rc = positional(c, 1, 1, "<id>")))
        return rc;
    if ((rc = need_ctx(c)))
        return rc;
    rc = xlcp_verify(c->ctx, c->argv[optind], flags);
    if (rc)
        return lib_error(c, rc);
    fprintf(c->out, "checkpoint %s: OK\n", c->argv[optind]);
    return XLCP_EXIT_OK;
}

/* xs-check <domain>: the guest's live protocol subtree against xenstore-schema/. */
static int cmd_xs_check(struct cli *c)
{
    unsigned int violations = 0;
    char *report = NULL;
    int rc;

    if ((rc = help_only(c)) >= 0)
        return rc;
    if ((rc = positional(c, 1, 1, "<domain>")))
        return rc;
    if ((rc = need_ctx(c)))
        return rc;
    rc = xlcp_guest_check(c->ctx, c->argv[optind], &report, &violations);
    if (rc)
        return lib_error(c, rc);
    fputs(report, c->out);
    free(report);
    return violations ? XLCP_EXIT_FAILURE : XLCP_EXIT_OK;
}

static int cmd_delete(struct cli *c)
{
    static const struct option lo[] = {
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int force = 0, o, rc;

    opt_reset();
    while ((o = next_opt(c, ":fh", lo)) != -1) {
        if (o == 'f')
            force = 1;
        else if (o == 'h')
            return show_help(c);
        else
            return XLCP_EXIT_USAGE;
    }
    if ((rc = positional(c, 1, 1, "<id>")))
        return rc;
    if ((rc = need_ctx(c)))
        return rc;
    rc = xlcp_delete(c->ctx, c->argv[optind]);
    if (rc == XLCP_ENOTFOUND && force)
        return XLCP_EXIT_OK;
    if (rc)
        return lib_error(c, rc);
    if (c->verbose)
        fprintf(c->err, "deleted %s\n", c->argv[optind]);
    return XLCP_EXIT_OK;
}

static int cmd_restore(struct cli *c)
{
    static const struct option lo[] = {
        {"name", required_argument, NULL, 'n'},  {"replace", no_argument, NULL, OPT_REPLACE},
        {"force", no_argument, NULL, OPT_FORCE}, {"paused", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    xlcp_restore_options opts;
    uint32_t domid = 0;
    int o, rc;

    if (xlcp_restore_options_init(&opts, XLCP_RESTORE_OPTIONS_VERSION) != 0) {
        errorf(c, "library does not support restore options version %d",
               XLCP_RESTORE_OPTIONS_VERSION);
        return XLCP_EXIT_FAILURE;
    }
    opt_reset();
    while ((o = next_opt(c, ":n:ph", lo)) != -1) {
        switch (o) {
        case 'n':
            if (!*optarg)
                return usage_error(c, "--name needs a non-empty value");
            opts.new_name = optarg;
            break;
        case OPT_REPLACE:
            opts.replace = 1;
            break;
        case OPT_FORCE:
            opts.force = 1;
            break;
        case 'p':
            opts.paused = 1;
            break;
        case 'h':
            return show_help(c);
        default:
            return XLCP_EXIT_USAGE;
        }
    }
    if (opts.force && !opts.replace)
        return usage_error(c, "--force only makes sense with --replace");
    if (opts.replace && opts.new_name)
        return usage_error(c, "--replace takes the original name; drop --name");
    if ((rc = positional(c, 1, 1, "<id>")))
        return rc;
    if ((rc = need_ctx(c)))
        return rc;
    rc = xlcp_restore(c->ctx, c->argv[optind], &opts, &domid);
    if (rc)
        return lib_error(c, rc);
    fprintf(c->out, "%u\n", (unsigned int)domid);
    return XLCP_EXIT_OK;
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
    {"create", cmd_create, "create [options] <domain>", "Take a checkpoint of a running domain",
     "  -n, --name NAME           label stored in the manifest\n"
     "      --paused              keep the guest paused during the memory copy (not live)\n"
     "  -q, --quiesce             ask the guest to freeze its filesystems (guest module)\n"
     "      --quiesce-timeout SEC how long to wait for the freeze (default 10)\n"
     "      --suspend-timeout SEC how long to wait for the guest to suspend (default 60)\n"
     "  -s, --snapshot-size SIZE  thick snapshot size: 20% of the origin (default) or 512M, 2G\n"
     "      --skip-non-lvm        record and skip disks that are not LVM volumes\n"
     "      --json                print the new checkpoint as a JSON object, not its id\n"},
    {"list", cmd_list, "list [--json] [<domain>]", "List checkpoints, oldest first",
     "      --json                print a JSON array\n"},
    {"info", cmd_info, "info [--json|--xml] <id>", "Show one checkpoint",
     "      --json                print a JSON object\n"
     "      --xml                 print the manifest\n"},
    {"verify", cmd_verify, "verify [--no-disks] <id>",
     "Check manifest, memory image digest and snapshot volumes",
     "      --no-disks            do not check the snapshot volumes\n"},
    {"delete", cmd_delete, "delete [-f] <id>", "Delete a checkpoint and its snapshot volumes",
     "  -f, --force               no error if the checkpoint does not exist\n"},
    {"restore", cmd_restore, "restore [options] <id>",
     "Start a new domain from a checkpoint; prints its domid",
     "  -n, --name NEW            name of the new domain (default <name>-<id>)\n"
     "      --replace             destroy the original domain and take its name\n"
     "      --force               with --replace: even while the original runs\n"
     "  -p, --paused              leave the restored domain paused\n"},
    {"xs-check", cmd_xs_check, "xs-check <domain>",
     "Check the guest's xenstore subtree against the protocol (exit 1 on violations)", ""},
    {"help", cmd_help, "help [<subcommand>]", "Show help", ""},
    {"version", cmd_version, "version", "Show the version", ""},
};

static const struct cmd *find_cmd(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
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
        {"root", required_argument, NULL, 'r'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
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
    while ((o = next_opt(&c, "+:r:vh", lo)) != -1) {
        switch (o) {
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
