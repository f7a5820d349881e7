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
        else if (o == 'h')
            return show_help(c);
        else
            return XLCP_EXIT_USAGE;
    }
    if ((rc = positional(c, 0, 1, "<domain>")))
        return rc;
    if ((rc = need_ctx(c)))
        return rc;
    rc = xlcp_recover(c->ctx, optind < c->argc ? c->argv[optind] : NULL, flags, &report, &count);
    if (rc)
        return lib_error(c, rc);
    fputs(report, c->out);
    free(report);
    return XLCP_EXIT_OK;
}
