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
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned int count = 0;
    char *report = NULL;
    int dry_run = 0, rc;

    if ((rc = flag_and_args(c, ":nh", lo, 'n', &dry_run, 0, 1, "<domain>")) >= 0)
        return rc;
    rc = xlcp_recover(c->ctx, optind < c->argc ? c->argv[optind] : NULL,
                      dry_run ? XLCP_RECOVER_DRY_RUN : 0, &report, &count);
    if (rc)
        return lib_error(c, rc);
    fputs(report, c->out);
    free(report);
    return XLCP_EXIT_OK;
}
