/*
 * cli_prune.c - `prune`: retention. Shows which checkpoints the rules keep and which they
 * would delete (a dry run, the default), and deletes them with --apply. Rules per domain:
 * --keep-last N (the N newest), --keep-within DURATION (younger than it); the newest
 * checkpoint of a domain, group members and unreadable checkpoints are always kept.
 */
#include "cli_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_KEEP_LAST = 1100, OPT_KEEP_WITHIN, OPT_APPLY, OPT_ALL };

/* "90" (seconds), "30s", "15m", "12h", "7d", "2w" -> seconds; -1 if malformed or 0. */
static int64_t parse_duration(const char *s)
{
    static const struct {
        char unit;
        int64_t secs;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
    char *end;
    unsigned long long v;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || v == 0 || v > (unsigned long long)INT32_MAX)
        return -1;
    if (*end == '\0')
        return (int64_t)v;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (end[0] == units[i].unit && end[1] == '\0')
            return (int64_t)v * units[i].secs;
    return -1;
}

static int print_json(struct cli *c, const xlcp_prune_entry *e, size_t n, int apply, int rc)
{
    struct jw j;

    if (jw_open_doc(c, &j))
        return XLCP_EXIT_FAILURE;
    jw_key(&j, "error"); /* the first failed delete, in the document itself */
    if (rc) {
        jw_check(&j, yajl_gen_map_open(j.g));
        jw_key(&j, "exit");
        jw_check(&j, yajl_gen_integer(j.g, xlcp_cli_exit_code(rc)));
        jw_key(&j, "code");
        jw_str(&j, xlcp_strerror(rc));
        jw_key(&j, "message");
        jw_str(&j, xlcp_last_error(c->ctx));
        jw_check(&j, yajl_gen_map_close(j.g));
    } else {
        jw_check(&j, yajl_gen_null(j.g));
    }
    jw_key(&j, "applied");
    jw_check(&j, yajl_gen_bool(j.g, apply));
    jw_key(&j, "checkpoints");
    jw_check(&j, yajl_gen_array_open(j.g));
    for (size_t i = 0; i < n; i++) {
        jw_check(&j, yajl_gen_map_open(j.g));
        jw_key(&j, "id");
        jw_str(&j, e[i].id);
        jw_key(&j, "domain");
        jw_str(&j, e[i].domain_name);
        jw_key(&j, "domain_uuid");
        jw_str(&j, e[i].domain_uuid);
        jw_key(&j, "created");
        jw_str(&j, e[i].created);
        jw_key(&j, "action");
        jw_str(&j, e[i].keep ? "keep" : "prune");
        jw_key(&j, "reason");
        jw_str(&j, e[i].reason);
        jw_key(&j, "deleted");
        jw_check(&j, yajl_gen_bool(j.g, e[i].deleted));
        jw_key(&j, "error");
        jw_str(&j, e[i].error ? e[i].error_msg : "");
        jw_check(&j, yajl_gen_map_close(j.g));
    }
    jw_check(&j, yajl_gen_array_close(j.g));
    jw_check(&j, yajl_gen_map_close(j.g));
    return jw_close(c, &j);
}

static void print_table(struct cli *c, const xlcp_prune_entry *e, size_t n, int apply)
{
    size_t pruned = 0;

    for (size_t i = 0; i < n; i++) {
        const char *act = e[i].keep      ? "keep"
                          : e[i].deleted ? "deleted"
                          : e[i].error   ? "FAILED"
                          : apply        ? "prune"
                                         : "would delete";
        pruned += !e[i].keep;
        fprintf(c->out, "%-26s %-16s %-12s ", e[i].id, e[i].domain_name[0] ? e[i].domain_name : "?",
                act);
        put_oneline(c->out, e[i].error ? e[i].error_msg : e[i].reason);
        fputc('\n', c->out);
    }
    if (!apply)
        fprintf(c->out,
                "dry run: %zu of %zu checkpoint%s would be deleted; add --apply to "
                "delete them\n",
                pruned, n, n == 1 ? "" : "s");
}

int cmd_prune(struct cli *c)
{
    static const struct option lo[] = {
        {"keep-last", required_argument, NULL, OPT_KEEP_LAST},
        {"keep-within", required_argument, NULL, OPT_KEEP_WITHIN},
        {"apply", no_argument, NULL, OPT_APPLY},
        {"all", no_argument, NULL, OPT_ALL},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    xlcp_prune_options opts = XLCP_PRUNE_OPTIONS_INIT;
    xlcp_prune_entry *e = NULL;
    size_t n = 0;
    int o, rc, all = 0, out;
    int64_t d;
    char *end;

    opt_reset();
    while ((o = next_opt(c, ":h", lo)) != -1) {
        switch (o) {
        case OPT_KEEP_LAST:
            errno = 0;
            opts.keep_last = (unsigned int)strtoul(optarg, &end, 10);
            if (errno || *end || !*optarg || *optarg == '-' || opts.keep_last == 0 ||
                opts.keep_last > 100000)
                return usage_error(c, "--keep-last: a count from 1, not '%s'", optarg);
            break;
        case OPT_KEEP_WITHIN:
            if ((d = parse_duration(optarg)) < 0)
                return usage_error(c, "--keep-within: a duration such as 36h, 7d, 2w, not '%s'",
                                   optarg);
            opts.keep_within_s = (uint64_t)d;
            break;
        case OPT_APPLY:
            opts.apply = 1;
            break;
        case OPT_ALL:
            all = 1;
            break;
        case OPT_JSON:
            c->json = 1;
            break;
        case 'h':
            return show_help(c);
        default:
            return XLCP_EXIT_USAGE;
        }
    }
    if ((rc = positional(c, all ? 0 : 1, all ? 0 : 1,
                         all ? "no <domain> with --all" : "<domain> (or --all)")))
        return rc;
    if (!opts.keep_last && !opts.keep_within_s)
        return usage_error(c, "give a rule: --keep-last N and/or --keep-within DURATION");
    if (c->dry_run)
        opts.apply = 0; /* the global -N wins over --apply */
    if ((rc = need_ctx(c)))
        return rc;
    rc = xlcp_prune(c->ctx, all ? NULL : c->argv[optind], &opts, &e, &n);
    if (e) {
        out = c->json ? print_json(c, e, n, opts.apply, rc) : (print_table(c, e, n, opts.apply), 0);
        xlcp_prune_entries_free(e);
        if (out && !rc)
            return out;
        if (rc && c->json) { /* the error is in the document: stderr only */
            errorf(c, "%s", xlcp_last_error(c->ctx));
            return xlcp_cli_exit_code(rc);
        }
    }
    return rc ? lib_error(c, rc) : XLCP_EXIT_OK;
}
