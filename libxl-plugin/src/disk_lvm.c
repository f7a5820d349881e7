/*
 * disk_lvm.c - the `disk` port on LVM. NOT YET IMPLEMENTED: opening it reports so, and
 * commands that need LVM fail with that clear error. Issue 4 replaces this file.
 */
#include "ports.h"

int xlcp_disk_lvm_open(struct xlcp_disk *out, struct xlcp_err *err)
{
    out->ops = NULL;
    out->self = NULL;
    return xlcp_err_set(err, XLCP_EUNSUPPORTED,
                        "the LVM adapter is not implemented in this build yet");
}

void xlcp_disk_lvm_close(struct xlcp_disk *disk)
{
    disk->ops = NULL;
}
