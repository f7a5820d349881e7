/*
 * cli_xs.c - `xs-check`: the guest's live protocol subtree against xenstore-schema/.
 */
#include "cli_int.h"

#include <stdlib.h>

/* xs-check <domain>: the guest's live protocol subtree against xenstore-schema/. */
int cmd_xs_check(struct cli *c)
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
