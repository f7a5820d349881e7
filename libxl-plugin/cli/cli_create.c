/*
 * cli_create.c - `create`: take a checkpoint of a running domain.
 */
#include "cli_int.h"

#include <stdlib.h>
#include <string.h>

/* The dry run: what a checkpoint would do, as text or JSON. */
static int dry_run(struct cli *c, const char *domain, const xlcp_create_options *opts)
{
    char *report = NULL;
    int rc = xlcp_create_plan(c->ctx, domain, opts, &report);
    struct jw j;

    if (!report)
        return lib_error(c, rc);
    if (c->json) {
        if (jw_open_doc(c, &j) != 0) {
            free(report);
            return XLCP_EXIT_FAILURE;
        }
        jw_key(&j, "dry_run");
        jw_check(&j, yajl_gen_bool(j.g, 1));
        jw_key(&j, "domain");
        jw_str(&j, domain);
        jw_key(&j, "would_succeed");
        jw_check(&j, yajl_gen_bool(j.g, rc == 0));
        jw_key(&j, "exit");
        jw_check(&j, yajl_gen_integer(j.g, rc ? xlcp_cli_exit_code(rc) : 0));
        jw_key(&j, "message");
        jw_str(&j, rc ? xlcp_last_error(c->ctx) : "");
        jw_lines(&j, "plan", report);
        jw_check(&j, yajl_gen_map_close(j.g));
        free(report);
        if (jw_close(c, &j) != XLCP_EXIT_OK)
            return XLCP_EXIT_FAILURE;
        return rc ? xlcp_cli_exit_code(rc) : XLCP_EXIT_OK;
    }
    fputs(report, c->out);
    free(report);
    if (rc) {
        errorf(c, "%s", xlcp_last_error(c->ctx));
        return xlcp_cli_exit_code(rc);
    }
    return XLCP_EXIT_OK;
}

/*
 * Option letters follow xl's where xl has them: -n is a dry run (xl create -n), -q will be
 * quiet (xl -q). Old spellings kept for one release, with a warning: `-n NAME` (the label;
 * recognised by the extra argument), `-q` (quiesce), `--paused` (now --no-live).
 */
int cmd_create(struct cli *c)
{
    static const struct option lo[] = {
        {"name", required_argument, NULL, OPT_NAME},
        {"dry-run", no_argument, NULL, 'n'},
        {"no-live", no_argument, NULL, OPT_NO_LIVE},
        {"paused", no_argument, NULL, OPT_PAUSED},
        {"quiesce", no_argument, NULL, OPT_QUIESCE},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"quiesce-timeout", required_argument, NULL, OPT_QUIESCE_TIMEOUT},
        {"suspend-timeout", required_argument, NULL, OPT_SUSPEND_TIMEOUT},
        {"snapshot-size", required_argument, NULL, 's'},
        {"skip-non-lvm", no_argument, NULL, OPT_SKIP_NON_LVM},
        {"json", no_argument, NULL, OPT_JSON},
        {"group", required_argument, NULL, 'g'},
        {"max-wait", required_argument, NULL, OPT_MAX_WAIT},
        {"at", required_argument, NULL, OPT_AT},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    xlcp_create_options opts;
    char id[XLCP_ID_MAX];
    int o, rc, dash_n = 0, dry = c->dry_run;
    const char *old_name = NULL, *group = NULL;
    unsigned int max_wait_ms = 0;
    int64_t at_ns = 0;

    if (xlcp_create_options_init(&opts, XLCP_CREATE_OPTIONS_VERSION) != 0) {
        errorf(c, "library does not support create options version %d",
               XLCP_CREATE_OPTIONS_VERSION);
        return XLCP_EXIT_FAILURE;
    }
    /* The old spelling `-n NAME`: the word after -n, found before getopt reorders argv. */
    for (int i = 1; i + 1 < c->argc; i++)
        if (strcmp(c->argv[i], "-n") == 0 && c->argv[i + 1][0] != '-') {
            old_name = c->argv[i + 1];
            break;
        }
    opt_reset();
    while ((o = next_opt(c, ":nqs:g:vh", lo)) != -1) {
        switch (o) {
        case 'g':
            group = optarg;
            break;
        case OPT_AT:
            if (cli_parse_time(optarg, &at_ns) != 0 || at_ns <= 0)
                return usage_error(c,
                                   "bad --at '%s' (RFC 3339, e.g. 2026-12-02T06:00:00Z, "
                                   "or @EPOCH[.FRACTION])",
                                   optarg);
            break;
        case OPT_MAX_WAIT:
            if (parse_seconds(optarg, &max_wait_ms) != 0 || max_wait_ms == 0)
                return usage_error(c, "bad --max-wait '%s' (seconds)", optarg);
            break;
        case 'v':
            c->verbose++;
            break;
        case OPT_NAME:
            opts.name = optarg;
            break;
        case 'n':
            dash_n = 1;
            break;
        case OPT_PAUSED:
            deprecated(c, "--paused", "--no-live");
            opts.live = 0;
            break;
        case OPT_NO_LIVE:
            opts.live = 0;
            break;
        case 'q':
            deprecated(c, "-q (quiesce)", "--quiesce; -q will mean --quiet, as in xl");
            opts.quiesce = 1;
            break;
        case OPT_QUIESCE:
            opts.quiesce = 1;
            break;
        case OPT_QUIET:
            c->quiet = 1;
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
            c->json = 1;
            break;
        case 'h':
            return show_help(c);
        default:
            return XLCP_EXIT_USAGE;
        }
    }
    /* `create -n NAME DOMAIN`: the old spelling of --name (two arguments remain, one of them
     * the word after -n). */
    if (dash_n && old_name && c->argc - optind == 2 && !opts.name) {
        deprecated(c, "-n NAME", "--name NAME; -n is a dry run, as in xl create");
        opts.name = old_name;
        if (c->argv[optind] == old_name)
            optind++; /* NAME DOMAIN */
        else
            c->argc = optind + 1; /* DOMAIN NAME: the name was the last word */
    } else if (dash_n) {
        dry = 1;
    }
    if (max_wait_ms && !group)
        return usage_error(c, "--max-wait only applies to --group");
    opts.at_ns = at_ns; /* a group takes it from its own options */
    if (group && dry)
        return usage_error(c, "no dry run of a group checkpoint yet");
    if (group)
        return cli_group_create(c, group, &opts, max_wait_ms, at_ns, c->json);
    if ((rc = positional(c, 1, 1, "<domain>")))
        return rc;
    if ((rc = need_ctx(c)))
        return rc;
    if (dry)
        return dry_run(c, c->argv[optind], &opts);
    opts.progress = on_progress;
    opts.progress_arg = c;
    rc = xlcp_create(c->ctx, c->argv[optind], &opts, id);
    progress_clear(c);
    if (rc)
        return lib_error(c, rc);
    if (c->json)
        return emit_json_checkpoint(c, id);
    fprintf(c->out, "%s\n", id);
    return XLCP_EXIT_OK;
}
