/*
 * hv_xen.c - the `hv` port on libxenlight. NOT YET IMPLEMENTED: opening it reports so,
 * and every command that needs Xen (create, restore) fails with that clear error. The
 * catalog commands (list, info, verify --no-disks, delete of a corrupt entry) work.
 * Issue 4 (real checkpoints on Xen) replaces this file.
 */
#include "ports.h"

int xlcp_hv_xen_open(struct xlcp_hv *out, struct xlcp_err *err)
{
    out->ops = NULL;
    out->self = NULL;
    return xlcp_err_set(err, XLCP_EUNSUPPORTED,
                        "the Xen adapter is not implemented in this build yet");
}

void xlcp_hv_xen_close(struct xlcp_hv *hv)
{
    hv->ops = NULL;
}
