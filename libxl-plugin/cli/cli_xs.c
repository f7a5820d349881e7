/*
 * cli_xs.c - `xs-check`: the guest's live protocol subtree against xenstore-schema/.
 */
#include "cli_int.h"

#include <stdlib.h>

/* xs-check <domain>: the guest's live protocol subtree against xenstore-schema/. */
int cmd_xs_check(struct cli *c)
{
    static const struct option lo[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned int violations = 0;
    char *report = NULL;
    int rc;

    if ((rc = flag_and_args(c, ":h", lo, 0, NULL, 1, 1, "<domain>")) >= 0)
        return rc;
    rc = xlcp_guest_check(c->ctx, c->argv[optind], &report, &violations);
    if (rc)
        return lib_error(c, rc);
    if (c->json) {
        struct jw j;
        if (jw_open_doc(c, &j) != 0) {
            free(report);
            return XLCP_EXIT_FAILURE;
        }
        jw_key(&j, "domain");
        jw_str(&j, c->argv[optind]);
        jw_key(&j, "violations");
        jw_check(&j, yajl_gen_integer(j.g, violations));
        jw_lines(&j, "report", report);
        jw_check(&j, yajl_gen_map_close(j.g));
        free(report);
        rc = jw_close(c, &j);
        return rc ? rc : violations ? XLCP_EXIT_FAILURE : XLCP_EXIT_OK;
    }
    fputs(report, c->out);
    free(report);
    return violations ? XLCP_EXIT_FAILURE : XLCP_EXIT_OK;
}
