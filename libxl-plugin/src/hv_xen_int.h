/*
 * hv_xen_int.h - what the files of the Xen adapter (hv_xen*.c) share: the adapter's state,
 * libxl's logger, the xl save-file header, and the small helpers each of them uses. Private
 * to the adapter: nothing else includes it (it pulls in Xen's headers).
 *
 *   hv_xen.c          the port's operations, open/close
 *   hv_xen_base.c     libxl's logger and the helpers below, which every other file uses
 *   hv_xen_domain.c   lookup, state, configuration, version
 *   hv_xen_save.c     save (memory image + the watcher that sees the guest stop), resume
 *   hv_xen_restore.c  restore into a new domain, rename, unpause, destroy
 *   hv_xen_guest.c    the xenstore protocol with the guest module (features, quiesce/thaw,
 *                     downtime, its nodes for xs-check); guest_proto.c has its Xen-free parts
 */
#ifndef XLCP_HV_XEN_INT_H
#define XLCP_HV_XEN_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include <libxl.h>
#include <xenctrl.h>
#include <xenstore.h>
#include <xentoollog.h>

#include "guardian.h"
#include "ports.h"

#pragma GCC visibility push(hidden)

/* ---- the xl save-file header (tools/xl/xl.h in Xen; a stable on-disk format) ---- */

#define XL_MAGIC "Xen saved domain, xl format\n \0 \r"
#define XL_BYTEORDER 0x01020304u
#define XL_FLAG_JSON (1u << 0)
#define XL_FLAG_STREAMV2 (1u << 1)

struct xl_header {
    char magic[32];
    uint32_t byteorder;
    uint32_t mandatory_flags;
    uint32_t optional_flags;
    uint32_t optional_data_len;
};

/* ---- the adapter ----------------------------------------------------------------- */

struct hv_logger {
    xentoollog_logger vtable; /* first: libxl sees a xentoollog_logger */
    pthread_mutex_t lock;
    int verbose;
    char last[512];   /* last error-level message */
    int late_suspend; /* libxl gave up on a guest that had acknowledged the request */
    /* libxc's pre-copy is past its first pass over memory: the guest will be asked to
     * stop within the next rounds (see watch_suspend) */
    atomic_int precopy_rounds;
    /* when libxl asked the guest to suspend (CLOCK_MONOTONIC ns; 0: not yet), for
     * --suspend-timeout; the guardian is told ("A") at that instant */
    atomic_uint_fast64_t suspend_asked_ns;
    struct xlcp_guardian *guardian;
    /* called (in libxl's thread) when libxl is about to ask the guest to suspend, with its
     * message; set by hx_save around libxl_domain_suspend (the announcement) */
    void (*on_suspend_asked)(void *arg, const char *msg);
    void *on_suspend_asked_arg;
};

struct hv_xen {
    struct hv_logger log;
    libxl_ctx *ctx;
    xc_interface *xch;
    struct xs_handle *xs;
    char quiesce_id[XLCP_ID_MAX]; /* id of the pending quiesce, for thaw */
    char downtime_before[32];     /* the guest's downtime-ns when the save began */
    /* the announcement of our suspend to a guest module of protocol 3 (hv_xen_save.c) */
    struct {
        uint32_t domid;
        char value[64]; /* "ID MS" */
        int written;    /* 1 once written (removed when the save returns) */
    } announce;
    /* started by each save: if we die, it resumes the guest (guardian.h) */
    struct xlcp_guardian guardian;
};

/* ---- shared helpers (hv_xen_base.c) ------------------------------------------- */

void hx_logger_init(struct hv_logger *lg, int verbose);
uint64_t hx_mono_ns(void);
void hx_sleep_ms(unsigned ms);
/* XLCP_DEBUG: a line on stderr with the time in ms (CLOCK_MONOTONIC) to read timings. */
void hx_debug_line(const char *context, const char *msg);
/* Reads (HX_READ) or writes (HX_WRITE) all of buf, through EINTR; -1 on error or at the
 * end of the file. */
#define HX_READ 0
#define HX_WRITE 1
int hx_fd_all(int fd, void *buf, size_t len, int writing);
/* Forgets libxl's last error and what the logger noticed, before each libxl call. */
void hx_log_reset(struct hv_xen *hx);
/* Fails with libxl's code and its last logged message. */
int hx_fail(struct hv_xen *hx, struct xlcp_err *err, int lrc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The domain's libxl configuration as JSON (malloc'd). */
int hx_config_json(struct hv_xen *hx, uint32_t domid, char **out, struct xlcp_err *err);

/* Reads /local/domain/<domid>/<rel> into buf (at most max bytes,
 * NUL-terminated). 1 if present and within bounds, 0 if absent, -1 if oversized or
 * unreadable. */
int hx_xs_get(struct hv_xen *hx, uint32_t domid, const char *rel, char *buf, size_t max);
/* 1 if the domain is shut down with reason suspend. */
int hx_dom_suspended(xc_interface *xch, uint32_t domid);
/* Fills di and returns 1 if domain `domid` exists and is still the domain with `uuid` (an
 * id can be reused); the caller disposes di either way. */
int hx_same_domain(libxl_ctx *ctx, uint32_t domid, const char *uuid, libxl_dominfo *di);

/* ---- the port's operations, by file -------------------------------------------- */

int hx_lookup(void *self, const char *spec, struct xlcp_domain *out, struct xlcp_err *err);
int hx_state(void *self, const struct xlcp_domain *dom, enum xlcp_domstate *out,
             struct xlcp_err *err);
int hx_get_config(void *self, const struct xlcp_domain *dom, char **json_out, struct xlcp_err *err);
int hx_version(void *self, char *buf, size_t len, struct xlcp_err *err);

int hx_guest_features(void *self, const struct xlcp_domain *dom, struct xlcp_guest_features *out,
                      struct xlcp_err *err);
int hx_quiesce(void *self, const struct xlcp_domain *dom, const char *id, unsigned int timeout_ms,
               struct xlcp_err *err);
int hx_quiesce_result(void *self, const struct xlcp_domain *dom, const char *id,
                      unsigned int timeout_ms, int *held, char *why, size_t why_len,
                      struct xlcp_err *err);
int hx_thaw(void *self, const struct xlcp_domain *dom, struct xlcp_err *err);
int hx_guest_downtime(void *self, const struct xlcp_domain *dom, uint64_t *ns_out,
                      struct xlcp_err *err);
int hx_guest_nodes(void *self, const struct xlcp_domain *dom, struct xlcp_xs_entry **out, size_t *n,
                   struct xlcp_err *err);

int hx_save(void *self, const struct xlcp_domain *dom, const char *checkpoint_id, int fd, int live,
            unsigned int suspend_timeout_ms, void (*on_suspended)(void *arg), void *arg,
            struct xlcp_save_stats *stats, struct xlcp_err *err);
int hx_wait_suspended(void *self, const struct xlcp_domain *dom, unsigned int timeout_ms,
                      struct xlcp_err *err);
int hx_resume(void *self, const struct xlcp_domain *dom, struct xlcp_err *err);

int hx_restore(void *self, const char *config_json_in, const char *new_name,
               const struct xlcp_restore_disk *disks, int ndisks, int fd, int paused, int keep_macs,
               uint32_t *domid_out, struct xlcp_err *err);
int hx_rename(void *self, uint32_t domid, const char *new_name, struct xlcp_err *err);
int hx_unpause(void *self, uint32_t domid, struct xlcp_err *err);
int hx_destroy(void *self, const struct xlcp_domain *dom, struct xlcp_err *err);

#pragma GCC visibility pop

#endif
