/*
 * hv_xen_save.c - the memory image of a running guest: libxl_domain_suspend() into a
 * standard `xl save` file, the announcement of our suspend to the guest module, a watcher
 * thread that notices the instant the guest stops, the wait until its block back ends are
 * idle, and its resume in place (suspend cancelled).
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest_proto.h"
#include "hv_xen_int.h"
#include "xlcp_xs_proto.h"

/* ---- save: memory image + the instant the guest stopped -------------------------- */

struct watcher {
    pthread_t thread;
    xc_interface *xch;
    uint32_t domid;
    volatile int stop;
    int verbose;
    atomic_int *near;      /* the suspend is near: poll */
    uint64_t suspended_at; /* 0 until seen */
    void (*on_suspended)(void *arg);
    void *arg;
    /* --suspend-timeout: from the instant libxl asks the guest to suspend (asked_ns, set by
     * the logger), how long it may take to stop before the save is aborted */
    libxl_ctx *ctx;
    atomic_uint_fast64_t *asked_ns;
    uint64_t timeout_ns;
    int timed_out; /* the watcher aborted the save */
};

/* How long a failed save waits for a guest that acknowledged the request to stop late
 * (a guest whose freezer gave up never stops: that failure then takes this much longer). */
#define LATE_SUSPEND_WAIT_S 60

/* The watcher sleeps on xenstore's @releaseDomain, which xenstored fires when a domain
 * shuts down (a suspend is a shutdown), and looks at the domain then, and every
 * WATCH_POLL_MS in case an event is missed. Polling every millisecond instead cost a
 * fifth of a dom0 CPU during the whole copy (nested Xen), which the copy itself needs.
 * But the event came 2-28 ms after the guest stopped (oxenstored under emulation), and
 * the capture waits for it: once libxc's pre-copy is past its first pass (the rounds
 * after it are short and the suspend follows them), the watcher polls every ms. */
#define WATCH_POLL_MS 20

static int asked_too_long(const struct watcher *w)
{
    uint64_t asked = atomic_load(w->asked_ns);

    return asked && hx_mono_ns() - asked > w->timeout_ns;
}

/* XLCP_TEST_STOP_AT=suspended (nested tests only): the tool stops itself (SIGSTOP) with
 * the guest suspended and its disks held, for a test to kill it there. */
static void test_stop_at(const char *where)
{
    const char *at = getenv("XLCP_TEST_STOP_AT");

    if (at && strcmp(at, where) == 0)
        raise(SIGSTOP);
}

static void *watch_suspend(void *arg)
{
    struct watcher *w = arg;
    struct xs_handle *xs = xs_open(0);
    int fd = -1;

    pthread_setname_np(pthread_self(), "xlcp-watch"); /* for top -H */
    if (xs && xs_watch(xs, "@releaseDomain", "xlcp-suspend"))
        fd = xs_fileno(xs);
    while (!w->stop) {
        struct pollfd p = {.fd = fd, .events = POLLIN};

        if (hx_dom_suspended(w->xch, w->domid)) {
            w->suspended_at = hx_mono_ns();
            if (w->verbose)
                hx_debug_line("xl-checkpoint", "watcher: the guest is suspended");
            if (w->on_suspended)
                w->on_suspended(w->arg);
            test_stop_at("suspended");
            break;
        }
        if (asked_too_long(w)) {
            /* libxl's own wait would go on (60 s); its save fails with ERROR_ABORTED */
            w->timed_out = 1;
            libxl_ao_abort(w->ctx, NULL);
            break;
        }
        if (fd < 0 || (w->near && atomic_load(w->near))) {
            hx_sleep_ms(1);
        } else if (poll(&p, 1, WATCH_POLL_MS) > 0) {
            unsigned int n = 0;
            free(xs_read_watch(xs, &n));
        }
    }
    if (xs)
        xs_close(xs);
    return NULL;
}

/* Can Xen track this domain's dirty pages? For PV guests that needs shadow paging, which
 * some builds leave out (Debian 12's Xen 4.17: CONFIG_SHADOW_PAGING off); then a live
 * copy is impossible and libxc fails at its start, before the guest is touched. */
static int logdirty_available(struct hv_xen *hx, uint32_t domid)
{
    if (xc_shadow_control(hx->xch, domid, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, 0) == 0) {
        xc_shadow_control(hx->xch, domid, XEN_DOMCTL_SHADOW_OP_OFF, NULL, 0);
        return 1;
    }
    return errno != EOPNOTSUPP && errno != ENOSYS; /* e.g. EBUSY: already on, libxc copes */
}

/* The guest's suspend event channel, as libxl reads the node (leading digits, as atoi):
 * usable if that port of the guest waits for a connection from us. A guest that writes
 * anything else into the node gets the stock path from libxl, and the manifest says so. */
static int suspend_evtchn_usable(struct hv_xen *hx, uint32_t domid, const char *node)
{
    xc_evtchn_status_t st;
    unsigned long port = 0;
    int digits = 0;

    for (const char *p = node; *p >= '0' && *p <= '9' && digits < 9; p++, digits++)
        port = port * 10 + (unsigned long)(*p - '0');
    if (digits == 0 || port == 0)
        return 0;
    memset(&st, 0, sizeof(st));
    st.dom = (domid_t)domid;
    st.port = (evtchn_port_t)port;
    if (xc_evtchn_status(hx->xch, &st) != 0)
        return 0;
    return st.status == EVTCHNSTAT_unbound && st.u.unbound.dom == 0;
}

/* Waits (up to LATE_SUSPEND_WAIT_S) for a guest that was asked to suspend to stop, or to
 * go away; returns how long it waited, in seconds. */
static double wait_late_stop(struct hv_xen *hx, const struct xlcp_domain *dom)
{
    uint64_t t = hx_mono_ns(), limit = (uint64_t)LATE_SUSPEND_WAIT_S * 1000000000u;

    while (hx_mono_ns() - t < limit) {
        xc_dominfo_t info;
        if (xc_domain_getinfo(hx->xch, dom->domid, 1, &info) != 1 || info.domid != dom->domid ||
            info.dying || (info.shutdown && info.shutdown_reason == SHUTDOWN_suspend))
            break; /* gone, or stopped at last */
        hx_sleep_ms(100);
    }
    return (double)(hx_mono_ns() - t) / 1e9;
}

/* Takes back libxl's suspend request in control/shutdown if the guest has not taken it
 * (libxl does the same when its own wait ends, but not when its save is aborted).
 * 1 if it was taken back: the guest will not stop. */
static int cancel_request(struct hv_xen *hx, uint32_t domid)
{
    char path[64];

    if (!hx->xs)
        return 0;
    snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", domid);
    for (;;) {
        xs_transaction_t t = xs_transaction_start(hx->xs);
        unsigned int len = 0;
        char *v;
        int pending;

        if (t == XBT_NULL)
            return 0;
        v = xs_read(hx->xs, t, path, &len);
        pending = v && strcmp(v, "suspend") == 0;
        free(v);
        if (!pending || !xs_write(hx->xs, t, path, "", 0)) {
            xs_transaction_end(hx->xs, t, true);
            return 0;
        }
        if (xs_transaction_end(hx->xs, t, false))
            return 1;
        if (errno != EAGAIN)
            return 0;
    }
}

/* ---- the announcement (guest module protocol 3) ------------------------------------- */

/* A guest module of protocol 3 takes its light suspend only for a suspend we announced
 * (data/checkpoint/suspend-announce = "ID MS"); libxl notifies its event channel for every
 * save and migration, and those must get the kernel's full suspend sequence. We write the
 * announcement from libxl's own log line right before it notifies the event channel (so
 * that it is fresh: no live copy in between), and remove it when the save returns, and
 * before each save (a run killed in between leaves one behind; the guest also ignores one
 * older than MS by its own clock). */

static void announce_path(char *buf, size_t len, uint32_t domid)
{
    snprintf(buf, len, "/local/domain/%u/%s", domid, XLCP_XS_PATH_SUSPEND_ANNOUNCE);
}

static void announce_remove(struct hv_xen *hx, uint32_t domid)
{
    char path[128];

    announce_path(path, sizeof(path), domid);
    if (!xs_rm(hx->xs, XBT_NULL, path) && errno != ENOENT && hx->log.verbose)
        hx_debug_line("xl-checkpoint", "cannot remove the suspend announcement");
}

/* libxl's logger, in libxl's thread, just before it asks the guest to suspend. */
static void announce_now(void *arg, const char *msg)
{
    struct hv_xen *hx = arg;
    char path[128];
    /* the guest owns the node (it removes it when it takes it) */
    struct xs_permissions perms[1] = {{.id = hx->announce.domid, .perms = XS_PERM_NONE}};

    if (!xlcp_libxl_notifies_evtchn(msg))
        return; /* libxl asks through control/shutdown: the stock path anyway */
    announce_path(path, sizeof(path), hx->announce.domid);
    if (!xs_write(hx->xs, XBT_NULL, path, hx->announce.value,
                  (unsigned int)strlen(hx->announce.value))) {
        if (hx->log.verbose)
            hx_debug_line("xl-checkpoint",
                          "cannot write the suspend announcement: the guest takes the stock path");
        return;
    }
    hx->announce.written = 1;
    if (!xs_set_permissions(hx->xs, XBT_NULL, path, perms, 1) && hx->log.verbose)
        hx_debug_line("xl-checkpoint", "cannot give the suspend announcement to the guest");
    if (hx->log.verbose)
        hx_debug_line("xl-checkpoint", "suspend announced to the guest module");
}

/* After the save: the path the guest says it took for our announced suspend. */
static const char *announced_path(struct hv_xen *hx, uint32_t domid, const char *id)
{
    char v[XLCP_XS_MAX_LAST_SUSPEND + 1];

    if (!hx->announce.written)
        return "stock";
    if (hx_xs_get(hx, domid, XLCP_XS_PATH_LAST_SUSPEND, v, sizeof(v)) != 1)
        return "stock";
    return xlcp_last_suspend_parse(v, strlen(v), id, NULL) == XLCP_LAST_LIGHT ? "light" : "stock";
}

int hx_save(void *self, const struct xlcp_domain *dom, const char *checkpoint_id, int fd, int live,
            unsigned int suspend_timeout_ms, void (*on_suspended)(void *arg), void *arg,
            struct xlcp_save_stats *stats, struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    struct xl_header hdr;
    struct watcher w;
    char evtchn[XLCP_XS_MAX_EVENT_CHANNEL + 2];
    char proto_v[XLCP_XS_MAX_PROTOCOL + 1];
    char *json = NULL;
    uint32_t jlen;
    unsigned int proto = 0;
    int rc, announce = 0;

    hx_log_reset(hx);
    /* Nothing is touched unless the guardian runs: if we die, it resumes the guest. */
    rc = xlcp_guardian_start(&hx->guardian, err);
    if (rc)
        return xlcp_err_prefix(err, "domain %s not touched", dom->name);
    if (xlcp_guardian_say(&hx->guardian, "S %u %s\n", dom->domid, dom->uuid) != 0)
        return xlcp_err_set(err, XLCP_EINTERNAL, "domain %s not touched: the guardian went away",
                            dom->name);
    rc = hx_config_json(hx, dom->domid, &json, err);
    if (rc)
        return rc;
    memset(&hdr, 0, sizeof(hdr));
    memcpy(hdr.magic, XL_MAGIC, sizeof(hdr.magic));
    hdr.byteorder = XL_BYTEORDER;
    hdr.mandatory_flags = XL_FLAG_STREAMV2 | XL_FLAG_JSON;
    jlen = (uint32_t)strlen(json) + 1;
    hdr.optional_data_len = 4 + jlen;
    if (hx_fd_all(fd, &hdr, sizeof(hdr), HX_WRITE) || hx_fd_all(fd, &jlen, 4, HX_WRITE) ||
        hx_fd_all(fd, json, jlen, HX_WRITE)) {
        free(json);
        return xlcp_err_errno(err, errno, "writing the image header");
    }
    free(json);

    if (!hx->xs || hx_xs_get(hx, dom->domid, XLCP_XS_PATH_DOWNTIME_NS, hx->downtime_before,
                             sizeof(hx->downtime_before)) != 1)
        hx->downtime_before[0] = '\0';
    /* Which path will libxl take? The event channel when the guest published one that
     * libxl can bind, else control/shutdown. Behind the event channel a module of protocol
     * 3 takes the light path only for an announced suspend (decided after the save); one
     * of protocol 2 takes it for every notification. */
    snprintf(stats->suspend_path, sizeof(stats->suspend_path), "stock");
    if (hx->xs) {
        int got = hx_xs_get(hx, dom->domid, XLCP_XS_PATH_EVENT_CHANNEL, evtchn, sizeof(evtchn));
        if (got == 1 && suspend_evtchn_usable(hx, dom->domid, evtchn)) {
            snprintf(stats->suspend_path, sizeof(stats->suspend_path), "light");
            if (hx_xs_get(hx, dom->domid, XLCP_XS_PATH_PROTOCOL, proto_v, sizeof(proto_v)) == 1 &&
                xlcp_guest_protocol(proto_v, &proto) && proto >= XLCP_PROTOCOL_ANNOUNCE &&
                xlcp_announce_value(hx->announce.value, sizeof(hx->announce.value), checkpoint_id,
                                    XLCP_ANNOUNCE_MS) == 0)
                announce = 1;
        } else if (got == -1 || (got == 1 && evtchn[0])) {
            /* Something libxl would try to bind, and fail the whole save on: put the node
             * back as libxl made it (empty), so that it takes the stock path. */
            char path[128];
            snprintf(path, sizeof(path), "/local/domain/%u/%s", dom->domid,
                     XLCP_XS_PATH_EVENT_CHANNEL);
            xs_write(hx->xs, XBT_NULL, path, "", 0);
        }
    }

    stats->live = live;
    if (live && !logdirty_available(hx, dom->domid)) {
        stats->live = 0;
        snprintf(stats->live_note, sizeof(stats->live_note),
                 "Xen cannot track this guest's dirty pages (no shadow paging for PV "
                 "log-dirty in this build): memory copied with the guest stopped");
    }

    memset(&w, 0, sizeof(w));
    w.xch = hx->xch;
    w.verbose = hx->log.verbose;
    w.near = &hx->log.precopy_rounds;
    w.domid = dom->domid;
    w.on_suspended = on_suspended;
    w.arg = arg;
    w.ctx = hx->ctx;
    w.asked_ns = &hx->log.suspend_asked_ns;
    w.timeout_ns = (uint64_t)suspend_timeout_ms * 1000000u;
    if (pthread_create(&w.thread, NULL, watch_suspend, &w) != 0)
        return xlcp_err_set(err, XLCP_EINTERNAL, "cannot start the suspend watcher thread");
    hx->announce.written = 0;
    if (announce) {
        hx->announce.domid = dom->domid;
        announce_remove(hx, dom->domid); /* a leftover of a run killed before its end */
        hx->log.on_suspend_asked_arg = hx;
        hx->log.on_suspend_asked = announce_now;
    }
    rc = libxl_domain_suspend(hx->ctx, dom->domid, fd, stats->live ? LIBXL_SUSPEND_LIVE : 0, NULL);
    hx->log.on_suspend_asked = NULL;
    if (announce) {
        /* taken by the guest if it used it; if not, no later suspend may find it */
        announce_remove(hx, dom->domid);
        if (rc == 0)
            snprintf(stats->suspend_path, sizeof(stats->suspend_path), "%s",
                     announced_path(hx, dom->domid, checkpoint_id));
    }
    w.stop = 1;
    pthread_join(w.thread, NULL);
    if (w.timed_out) {
        /* Take back a request the guest has not taken yet; one it took (or one sent on
         * its event channel) may still stop it: wait for that, so that the caller
         * resumes it. */
        if (!cancel_request(hx, dom->domid))
            wait_late_stop(hx, dom);
        return xlcp_err_set(err, XLCP_ETIMEDOUT,
                            "the guest did not stop within %u s (--suspend-timeout)%s",
                            (suspend_timeout_ms + 999) / 1000,
                            hx_dom_suspended(hx->xch, dom->domid) ? "; it stopped later" : "");
    }
    if (rc) {
        int late;

        pthread_mutex_lock(&hx->log.lock);
        late = hx->log.late_suspend;
        pthread_mutex_unlock(&hx->log.lock);
        if (late && !hx_dom_suspended(hx->xch, dom->domid)) {
            /* The guest took the request (a stock-path guest freezing many busy processes
             * can take minutes under load) and libxl stopped waiting: it may still stop,
             * with no one left to resume it. Wait for that, so that the caller resumes
             * it; seen on nested Xen with 200 busy processes. */
            double waited = wait_late_stop(hx, dom);

            if (hx_dom_suspended(hx->xch, dom->domid))
                return xlcp_err_set(err, XLCP_ETIMEDOUT,
                                    "the guest acknowledged the suspend request but stopped "
                                    "only %.1f s after libxl's time limit (a busy guest?)",
                                    waited);
        }
        return hx_fail(hx, err, rc, "libxl_domain_suspend");
    }
    stats->suspended_at_ns = w.suspended_at;
    if (!hx_dom_suspended(hx->xch, dom->domid))
        return xlcp_err_set(err, XLCP_ESTATE,
                            "libxl reported the save done but the domain is "
                            "not suspended");
    return 0;
}

/* Sum of the request counters of the domain's block back ends (blkback statistics). */
static int vbd_requests(uint32_t domid, uint64_t *sum)
{
    static const char *const names[] = {"rd_req", "wr_req", "f_req", "ds_req", "oo_req"};
    char prefix[32];
    DIR *d = opendir("/sys/bus/xen-backend/devices");
    struct dirent *de;

    *sum = 0;
    if (!d)
        return 0; /* no blkback devices at all */
    snprintf(prefix, sizeof(prefix), "vbd-%u-", domid);
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
            continue;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            char path[512];
            FILE *f;
            unsigned long long v = 0;

            snprintf(path, sizeof(path), "/sys/bus/xen-backend/devices/%s/statistics/%s",
                     de->d_name, names[i]);
            f = fopen(path, "re");
            if (!f)
                continue;
            if (fscanf(f, "%llu", &v) == 1)
                *sum += v;
            fclose(f);
        }
    }
    closedir(d);
    return 0;
}

int hx_wait_suspended(void *self, const struct xlcp_domain *dom, unsigned int timeout_ms,
                      struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    uint64_t deadline = hx_mono_ns() + (uint64_t)timeout_ms * 1000000u;
    uint64_t prev = 0, cur = 0;
    int stable = 0;

    if (!hx_dom_suspended(hx->xch, dom->domid))
        return xlcp_err_set(err, XLCP_ESTATE, "domain %s is not suspended", dom->name);
    /* The guest cannot queue requests any more; wait until its back ends have taken the
     * ones already on their rings (counters unchanged over two 5 ms samples). Requests
     * under way below are drained by the device-mapper suspend inside lvcreate. */
    vbd_requests(dom->domid, &prev);
    while (stable < 2) {
        hx_sleep_ms(5);
        vbd_requests(dom->domid, &cur);
        stable = cur == prev ? stable + 1 : 0;
        prev = cur;
        if (hx_mono_ns() >= deadline)
            return xlcp_err_set(err, XLCP_ETIMEDOUT, "block back ends of %s still busy after %u ms",
                                dom->name, timeout_ms);
    }
    return 0;
}

int hx_resume(void *self, const struct xlcp_domain *dom, struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    int rc;

    hx_log_reset(hx);
    rc = libxl_domain_resume(hx->ctx, dom->domid, 1, NULL);
    if (rc)
        return hx_fail(hx, err, rc, "libxl_domain_resume (suspend cancelled)");
    if (hx_dom_suspended(hx->xch, dom->domid))
        return xlcp_err_set(err, XLCP_EHV, "domain %s is still suspended after resume", dom->name);
    xlcp_guardian_stop(&hx->guardian);
    return 0;
}
