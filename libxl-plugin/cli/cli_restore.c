/*
 * cli_restore.c - `restore`: start a new domain from a checkpoint.
 */
#include "cli_int.h"

#include <string.h>

int cmd_restore(struct cli *c)
{
    static const struct option lo[] = {
        {"name", required_argument, NULL, 'n'},
        {"replace", no_argument, NULL, OPT_REPLACE},
        {"force", no_argument, NULL, OPT_FORCE},
        {"paused", no_argument, NULL, 'p'},
        {"disk", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    xlcp_restore_options opts;
    const char *disks[XLCP_CLI_MAX_DISKS];
    uint32_t domid = 0;
    int o, rc;

    if (xlcp_restore_options_init(&opts, XLCP_RESTORE_OPTIONS_VERSION) != 0) {
        errorf(c, "library does not support restore options version %d",
               XLCP_RESTORE_OPTIONS_VERSION);
        return XLCP_EXIT_FAILURE;
    }
    opt_reset();
    opts.disk_paths = disks;
    while ((o = next_opt(c, ":n:pd:h", lo)) != -1) {
        switch (o) {
        case 'd':
            if (!strchr(optarg, '=') || optarg[0] == '=' || !strchr(optarg, '=')[1])
                return usage_error(c, "bad --disk '%s' (VDEV=PATH)", optarg);
            if (opts.ndisk_paths == XLCP_CLI_MAX_DISKS)
                return usage_error(c, "too many --disk options");
            disks[opts.ndisk_paths++] = optarg;
            break;
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
