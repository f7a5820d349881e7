/*
 * cli_create.c - `create`: take a checkpoint of a running domain.
 */
#include "cli_int.h"

#include <stdlib.h>
#include <string.h>

int cmd_create(struct cli *c)
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
        {"verbose", no_argument, NULL, 'v'},
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
    while ((o = next_opt(c, ":n:qs:vh", lo)) != -1) {
        switch (o) {
        case 'v':
            c->verbose++;
            break;
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
