/*
 * cli_restore.c - `restore`: start a new domain from a checkpoint.
 */
#include "cli_int.h"

#include <stdlib.h>
#include <string.h>

int cmd_restore(struct cli *c)
{
    static const struct option lo[] = {
        {"name", required_argument, NULL, OPT_NAME},
        {"replace", no_argument, NULL, OPT_REPLACE},
        {"force", no_argument, NULL, OPT_FORCE},
        {"paused", no_argument, NULL, 'p'},
        {"disk", required_argument, NULL, OPT_DISK},
        {"json", no_argument, NULL, OPT_JSON},
        {"group", no_argument, NULL, OPT_GROUP},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    xlcp_restore_options opts;
    const char *disks[XLCP_CLI_MAX_DISKS];
    uint32_t domid = 0;
    char *config = NULL;
    int o, rc;

    if (xlcp_restore_options_init(&opts, XLCP_RESTORE_OPTIONS_VERSION) != 0) {
        errorf(c, "library does not support restore options version %d",
               XLCP_RESTORE_OPTIONS_VERSION);
        return XLCP_EXIT_FAILURE;
    }
    opt_reset();
    opts.disk_paths = disks;
    while ((o = next_opt(c, ":n:pd:eh", lo)) != -1) {
        switch (o) {
        case 'd':
            deprecated(c, "-d VDEV=PATH", "--disk VDEV=PATH; -d will be xl's debug option");
            /* fall through */
        case OPT_DISK:
            if (!strchr(optarg, '=') || optarg[0] == '=' || !strchr(optarg, '=')[1])
                return usage_error(c, "bad --disk '%s' (VDEV=PATH)", optarg);
            if (opts.ndisk_paths == XLCP_CLI_MAX_DISKS)
                return usage_error(c, "too many --disk options");
            disks[opts.ndisk_paths++] = optarg;
            break;
        case 'n':
            deprecated(c, "-n NEW", "--name NEW; -n is xl's dry run");
            /* fall through */
        case OPT_NAME:
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
        case 'e': /* xl restore -e: do not wait for the domain's death; we never do */
            break;
        case OPT_JSON:
            c->json = 1;
            break;
        case OPT_GROUP:
            c->group = 1;
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
    if ((rc = positional(c, 1, 2, c->group ? "<group id or name>" : "<id> [<ConfigFile>]")))
        return rc;
    if (c->group && optind + 1 < c->argc)
        return usage_error(c, "a <ConfigFile> names one domain: restore the member alone");
    if (optind + 1 < c->argc) { /* as xl restore's <ConfigFile>: restore with it */
        if ((rc = cli_config_json(c, c->argv[optind + 1], &config)))
            return rc;
        opts.config_json = config;
    }
    if ((rc = need_ctx(c))) {
        free(config);
        return rc;
    }
    if (c->group)
        return cli_group_restore(c, c->argv[optind], &opts);
    rc = xlcp_restore(c->ctx, c->argv[optind], &opts, &domid);
    free(config);
    if (rc)
        return lib_error(c, rc);
    if (c->json) {
        struct jw j;
        if (jw_open_doc(c, &j) != 0)
            return XLCP_EXIT_FAILURE;
        jw_key(&j, "id");
        jw_str(&j, c->argv[optind]);
        jw_key(&j, "domid");
        jw_check(&j, yajl_gen_integer(j.g, (long long)domid));
        jw_key(&j, "paused");
        jw_check(&j, yajl_gen_bool(j.g, opts.paused));
        jw_check(&j, yajl_gen_map_close(j.g));
        return jw_close(c, &j);
    }
    fprintf(c->out, "%u\n", (unsigned int)domid);
    return XLCP_EXIT_OK;
}
