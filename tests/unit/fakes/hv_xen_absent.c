/*
 * hv_xen_absent.c - stands in for the Xen adapter (libxl-plugin/src/hv_xen.c) in the unit
 * test binaries, which are not linked with libxenlight: opening it fails the way it does on
 * a machine without Xen, so commands that need Xen report a clear error in tests.
 */
#include "ports.h"

int xlcp_hv_xen_open(struct xlcp_hv *out, struct xlcp_err *err)
{
    out->ops = NULL;
    out->self = NULL;
    return xlcp_err_set(
        err, XLCP_EHV, "this machine is not running under Xen (no /proc/xen, no /dev/xen/privcmd)");
}

void xlcp_hv_xen_close(struct xlcp_hv *hv)
{
    hv->ops = NULL;
}
