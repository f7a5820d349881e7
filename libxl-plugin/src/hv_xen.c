/*
 * hv_xen.c - the `hv` port on libxenlight, libxenctrl and libxenstore: its operations,
 * opening and closing it (see hv_xen_int.h for the files of the adapter).
 *
 * Its files (hv_xen*.c) are the only ones of the library that include Xen headers. The
 * adapter finds domains, reads their libxl configuration, copies memory with
 * libxl_domain_suspend() into an image that is a standard `xl save` file (xl header +
 * libxl migration stream v2, so `xl restore` reads it), notices the instant the guest
 * stops (a watcher thread polling the domain's shutdown state through its own xenctrl
 * handle), waits until its block back ends are idle, resumes it in place with the suspend
 * cancelled, talks to the guest module through the data/checkpoint/ nodes described in
 * xenstore-schema/, and restores an image into a new domain.
 *
 * libxl's messages go to a logger that keeps the last error for our error reports and
 * prints to stderr only when XLCP_DEBUG is set.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv_xen_int.h"

static const struct xlcp_hv_ops hv_xen_ops = {
    .lookup = hx_lookup,
    .state = hx_state,
    .get_config = hx_get_config,
    .version = hx_version,
    .guest_features = hx_guest_features,
    .quiesce = hx_quiesce,
    .quiesce_result = hx_quiesce_result,
    .thaw = hx_thaw,
    .save = hx_save,
    .wait_suspended = hx_wait_suspended,
    .resume = hx_resume,
    .restore = hx_restore,
    .guest_downtime = hx_guest_downtime,
    .rename = hx_rename,
    .unpause = hx_unpause,
    .destroy = hx_destroy,
    .guest_nodes = hx_guest_nodes,
};

static const libxl_childproc_hooks childproc_hooks = {
    .chldowner = libxl_sigchld_owner_libxl_always_selective_reap,
};

int xlcp_hv_xen_open(struct xlcp_hv *out, struct xlcp_err *err)
{
    struct hv_xen *hx = calloc(1, sizeof(*hx));
    const char *dbg = getenv("XLCP_DEBUG");
    int rc;

    out->ops = NULL;
    out->self = NULL;
    if (!hx)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    hx_logger_init(&hx->log, dbg && *dbg && strcmp(dbg, "0") != 0);
    hx->log.guardian = &hx->guardian;

    if (access("/proc/xen/capabilities", F_OK) != 0 && access("/dev/xen/privcmd", F_OK) != 0) {
        pthread_mutex_destroy(&hx->log.lock);
        free(hx);
        return xlcp_err_set(err, XLCP_EHV,
                            "this machine is not running under Xen "
                            "(no /proc/xen, no /dev/xen/privcmd)");
    }
    rc = libxl_ctx_alloc(&hx->ctx, LIBXL_VERSION, 0, &hx->log.vtable);
    if (rc) {
        pthread_mutex_destroy(&hx->log.lock);
        free(hx);
        return xlcp_err_set(err, errno == EACCES || errno == EPERM ? XLCP_EPERM : XLCP_EHV,
                            "cannot open libxl (are you root in dom0?): libxl error %d", rc);
    }
    /* We run LVM children of our own (disk_lvm.c), possibly while libxl has its save
     * helper running: libxl must reap only its own children. */
    libxl_childproc_setmode(hx->ctx, &childproc_hooks, NULL);
    hx->xch = xc_interface_open(&hx->log.vtable, &hx->log.vtable, 0);
    if (!hx->xch) {
        libxl_ctx_free(hx->ctx);
        pthread_mutex_destroy(&hx->log.lock);
        free(hx);
        return xlcp_err_set(err, XLCP_EHV, "cannot open xenctrl");
    }
    hx->xs = xs_open(0); /* only needed to talk to the guest module */
    out->ops = &hv_xen_ops;
    out->self = hx;
    return 0;
}

void xlcp_hv_xen_close(struct xlcp_hv *hv)
{
    struct hv_xen *hx = hv->self;

    if (hx) {
        xlcp_guardian_stop(
            &hx->guardian); /* whatever state the guest is in, the engine has reported it */
        if (hx->xs)
            xs_close(hx->xs);
        xc_interface_close(hx->xch);
        libxl_ctx_free(hx->ctx);
        pthread_mutex_destroy(&hx->log.lock);
        free(hx);
    }
    hv->ops = NULL;
    hv->self = NULL;
}
