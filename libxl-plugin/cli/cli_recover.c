/*
 * cli_recover.c - `recover`: show (--dry-run) and remove what interrupted checkpoints
 * left: snapshot volumes, temporary directories, intent records, and a guest left
 * suspended by one (only when its record proves it).
 */
#include "cli_int.h"

#include <stdlib.h>

int cmd_recover(struct cli *c)
{
    static const struct option lo[] = {
        {"dry-run", no_argument, NULL, 'n'},
        {"resume", no_argument, NULL, 'R'},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned int flags = 0, count = 0;
    char *report = NULL;
    int o, rc;

    opt_reset();
    while ((o = next_opt(c, ":nh", lo)) != -1) {
        if (o == 'n')
            flags |= XLCP_RECOVER_DRY_RUN;
        else if (o == 'R')
            flags |= XLCP_RECOVER_RESUME;
        else if (o == OPT_JSON)
            c->json = 1;
        else if (o == 'h')
            return show_help(c);
        else
            return XLCP_EXIT_USAGE;
    }
    if (c->dry_run)
        flags |= XLCP_RECOVER_DRY_RUN;
    if ((rc = positional(c, 0, 1, "<domain>")))
        return rc;
    if ((rc = need_ctx(c)))
        return rc;
    rc = xlcp_recover(c->ctx, optind < c->argc ? c->argv[optind] : NULL, flags, &report, &count);
    if (rc)
        return lib_error(c, rc);
    if (c->json) {
        struct jw j;
        if (jw_open_doc(c, &j) != 0) {
            free(report);
            return XLCP_EXIT_FAILURE;
        }
        jw_key(&j, "dry_run");
        jw_check(&j, yajl_gen_bool(j.g, (flags & XLCP_RECOVER_DRY_RUN) != 0));
        jw_key(&j, "leftovers");
        jw_check(&j, yajl_gen_integer(j.g, count));
        jw_lines(&j, "report", report);
        jw_check(&j, yajl_gen_map_close(j.g));
        free(report);
        return jw_close(c, &j);
    }
    fputs(report, c->out);
    free(report);
    return XLCP_EXIT_OK;
}
