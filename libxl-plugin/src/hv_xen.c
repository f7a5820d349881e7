/*
 * hv_xen.c - the `hv` port on libxenlight, libxenctrl and libxenstore.
 *
 * The only file of the library that includes Xen headers. It finds domains, reads their
 * libxl configuration, copies memory with libxl_domain_suspend() into an image that is a
 * standard `xl save` file (xl header + libxl migration stream v2, so `xl restore` reads
 * it), notices the instant the guest stops (a watcher thread polling the domain's
 * shutdown state through its own xenctrl handle), waits until its block back ends are
 * idle, resumes it in place with the suspend cancelled, talks to the guest module through
 * the data/checkpoint/ nodes described in xenstore-schema/, and restores an image into a
 * new domain.
 *
 * libxl's messages go to a logger that keeps the last error for our error reports and
 * prints to stderr only when XLCP_DEBUG is set.
 */
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxl.h>
#include <libxl_utils.h>
#include <xenctrl.h>
#include <xenstore.h>
#include <xentoollog.h>

#include "ports.h"
#include "proc.h"
#include "xlcp_xs_proto.h"

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

/* ---- logger ---------------------------------------------------------------------- */

struct hv_logger {
    xentoollog_logger vtable; /* first: libxl sees a xentoollog_logger */
    pthread_mutex_t lock;
    int verbose;
    char last[512];   /* last error-level message */
    int late_suspend; /* libxl gave up on a guest that had acknowledged the request */
    /* libxc's pre-copy is past its first pass over memory: the guest will be asked to
     * stop within the next rounds (see watch_suspend) */
    atomic_int precopy_rounds;
};

static uint64_t mono_ns(void);

/* XLCP_DEBUG: every message, with the time in ms (CLOCK_MONOTONIC) to read timings. */
static void debug_line(const char *context, const char *msg)
{
    fprintf(stderr, "[%.3f] %s: %s\n", (double)mono_ns() / 1e6, context ? context : "xen", msg);
}

static void log_vmessage(xentoollog_logger *l, xentoollog_level level, int errnoval,
                         const char *context, const char *format, va_list al)
{
    struct hv_logger *lg = (struct hv_logger *)l;
    char msg[512];
    int n;

    if (!lg->verbose && level < XTL_ERROR)
        return;
    n = vsnprintf(msg, sizeof(msg), format, al);
    if (n >= 0 && errnoval >= 0 && (size_t)n < sizeof(msg))
        snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(errnoval));
    if (lg->verbose)
        debug_line(context, msg);
    if (level >= XTL_ERROR) {
        pthread_mutex_lock(&lg->lock);
        snprintf(lg->last, sizeof(lg->last), "%s", msg);
        if (strstr(msg, "guest did not suspend, timed out"))
            lg->late_suspend = 1;
        pthread_mutex_unlock(&lg->lock);
    }
}

static void log_progress(xentoollog_logger *l, const char *context, const char *doing_what,
                         int percent, unsigned long done, unsigned long total)
{
    struct hv_logger *lg = (struct hv_logger *)l;
    const char *rounds = "Frames iteration ";
    char msg[256];

    (void)context;
    if (doing_what && strncmp(doing_what, rounds, strlen(rounds)) == 0 &&
        doing_what[strlen(rounds)] >= '1' && doing_what[strlen(rounds)] <= '9')
        atomic_store(&lg->precopy_rounds, 1);
    /* where each phase of the copy starts and ends (libxc reports every 1024 pages) */
    if (!lg->verbose || (percent != 0 && percent != 100))
        return;
    snprintf(msg, sizeof(msg), "%s %d%% (%lu/%lu)", doing_what ? doing_what : "", percent, done,
             total);
    debug_line(context, msg);
}

static void log_destroy(xentoollog_logger *l)
{
    (void)l;
}

/* ---- the adapter ----------------------------------------------------------------- */

struct hv_xen {
    struct hv_logger log;
    libxl_ctx *ctx;
    xc_interface *xch;
    struct xs_handle *xs;
    char quiesce_id[XLCP_ID_MAX]; /* id of the pending quiesce, for thaw */
    char downtime_before[32];     /* the guest's downtime-ns when the save began */
    pid_t guardian;               /* see guardian_start(); 0 if none */
    int guardian_fd;              /* our end of its pipe */
};

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void log_reset(struct hv_xen *hx)
{
    pthread_mutex_lock(&hx->log.lock);
    hx->log.last[0] = '\0';
    hx->log.late_suspend = 0;
    pthread_mutex_unlock(&hx->log.lock);
    atomic_store(&hx->log.precopy_rounds, 0);
}

/* Fails with libxl's code and its last logged message. */
static int hv_fail(struct hv_xen *hx, struct xlcp_err *err, int lrc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int hv_fail(struct hv_xen *hx, struct xlcp_err *err, int lrc, const char *fmt, ...)
{
    char what[256];
    char last[512];
    va_list ap;
    int code = XLCP_EHV;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&hx->log.lock);
    snprintf(last, sizeof(last), "%s", hx->log.last);
    pthread_mutex_unlock(&hx->log.lock);
    if (lrc == ERROR_GUEST_TIMEDOUT || lrc == ERROR_TIMEDOUT)
        code = XLCP_ETIMEDOUT;
    else if (lrc == ERROR_DOMAIN_NOTFOUND)
        code = XLCP_ENOTFOUND;
    if (last[0])
        return xlcp_err_set(err, code, "%s: libxl error %d: %s", what, lrc, last);
    return xlcp_err_set(err, code, "%s: libxl error %d", what, lrc);
}

static enum xlcp_domstate state_of(const libxl_dominfo *di)
{
    if (di->shutdown && di->shutdown_reason == LIBXL_SHUTDOWN_REASON_SUSPEND && !di->dying)
        return XLCP_DOM_SUSPENDED;
    if (di->shutdown && di->shutdown_reason == LIBXL_SHUTDOWN_REASON_CRASH && !di->dying)
        return XLCP_DOM_CRASHED;
    if (di->shutdown || di->dying)
        return XLCP_DOM_SHUTDOWN;
    if (di->paused)
        return XLCP_DOM_PAUSED;
    return XLCP_DOM_RUNNING;
}

static int parse_domid(const char *s, uint32_t *out)
{
    char *end;
    unsigned long v;

    if (!*s || *s < '0' || *s > '9')
        return 0;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v >= DOMID_FIRST_RESERVED)
        return 0;
    *out = (uint32_t)v;
    return 1;
}

static int fill_domain(struct hv_xen *hx, uint32_t domid, struct xlcp_domain *out,
                       struct xlcp_err *err)
{
    libxl_dominfo di;
    libxl_domain_config cfg;
    char *name;
    int rc;

    memset(out, 0, sizeof(*out));
    libxl_dominfo_init(&di);
    rc = libxl_domain_info(hx->ctx, &di, domid);
    if (rc == ERROR_DOMAIN_NOTFOUND || rc == ERROR_INVAL) {
        libxl_dominfo_dispose(&di);
        return xlcp_err_set(err, XLCP_ENOTFOUND, "no domain with id %u", domid);
    }
    if (rc) {
        libxl_dominfo_dispose(&di);
        return hv_fail(hx, err, rc, "domain %u: cannot read its state", domid);
    }
    out->domid = domid;
    out->state = state_of(&di);
    out->memory_kib = di.current_memkb;
    snprintf(out->uuid, sizeof(out->uuid), LIBXL_UUID_FMT, LIBXL_UUID_BYTES(di.uuid));
    libxl_dominfo_dispose(&di);

    name = libxl_domid_to_name(hx->ctx, domid);
    snprintf(out->name, sizeof(out->name), "%s", name ? name : "");
    free(name);
    if (domid == 0)
        return xlcp_err_set(err, XLCP_EUNSUPPORTED, "domain 0 cannot be checkpointed");

    libxl_domain_config_init(&cfg);
    rc = libxl_retrieve_domain_configuration(hx->ctx, domid, &cfg, NULL);
    if (rc) {
        libxl_domain_config_dispose(&cfg);
        return hv_fail(hx, err, rc, "domain %s: cannot read its configuration", out->name);
    }
    if (cfg.num_disks > XLCP_MAX_DISKS) {
        int n = cfg.num_disks;
        libxl_domain_config_dispose(&cfg);
        return xlcp_err_set(err, XLCP_EUNSUPPORTED, "domain %s has %d disks, at most %d supported",
                            out->name, n, XLCP_MAX_DISKS);
    }
    /* dominfo calls a PVH guest HVM (Xen's flags cannot tell them apart): ask the config */
    out->pv = cfg.c_info.type == LIBXL_DOMAIN_TYPE_PV || cfg.c_info.type == LIBXL_DOMAIN_TYPE_PVH;
    for (int i = 0; i < cfg.num_disks; i++) {
        const libxl_device_disk *d = &cfg.disks[i];
        struct xlcp_disk_spec *ds = &out->disks[out->ndisks++];

        snprintf(ds->vdev, sizeof(ds->vdev), "%s", d->vdev ? d->vdev : "");
        snprintf(ds->target, sizeof(ds->target), "%s", d->pdev_path ? d->pdev_path : "");
        ds->readwrite = d->readwrite;
        ds->is_cdrom = d->is_cdrom || !d->pdev_path || !*d->pdev_path;
    }
    libxl_domain_config_dispose(&cfg);
    return 0;
}

static int hx_lookup(void *self, const char *spec, struct xlcp_domain *out, struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    uint32_t domid;
    libxl_uuid want;

    log_reset(hx);
    if (parse_domid(spec, &domid))
        return fill_domain(hx, domid, out, err);
    if (libxl_uuid_from_string(&want, spec) == 0) {
        int n = 0;
        libxl_dominfo *all = libxl_list_domain(hx->ctx, &n);
        int found = -1;

        if (!all)
            return hv_fail(hx, err, ERROR_FAIL, "cannot list domains");
        for (int i = 0; i < n; i++)
            if (libxl_uuid_compare(&all[i].uuid, &want) == 0 && !all[i].dying)
                found = (int)all[i].domid;
        libxl_dominfo_list_free(all, n);
        if (found < 0)
            return xlcp_err_set(err, XLCP_ENOTFOUND, "no domain with uuid %s", spec);
        return fill_domain(hx, (uint32_t)found, out, err);
    }
    if (libxl_name_to_domid(hx->ctx, spec, &domid) != 0)
        return xlcp_err_set(err, XLCP_ENOTFOUND, "no domain named '%s'", spec);
    return fill_domain(hx, domid, out, err);
}

static int hx_state(void *self, const struct xlcp_domain *dom, enum xlcp_domstate *out,
                    struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    libxl_dominfo di;
    int rc;

    log_reset(hx);
    libxl_dominfo_init(&di);
    rc = libxl_domain_info(hx->ctx, &di, dom->domid);
    if (rc == 0) {
        libxl_uuid u;
        libxl_uuid_from_string(&u, dom->uuid);
        if (libxl_uuid_compare(&u, &di.uuid) != 0)
            rc = ERROR_DOMAIN_NOTFOUND; /* the id was reused by another domain */
        else
            *out = state_of(&di);
    }
    libxl_dominfo_dispose(&di);
    if (rc == ERROR_DOMAIN_NOTFOUND || rc == ERROR_INVAL)
        return xlcp_err_set(err, XLCP_ENOTFOUND, "domain %s (id %u) is gone", dom->name,
                            dom->domid);
    if (rc)
        return hv_fail(hx, err, rc, "domain %s: cannot read its state", dom->name);
    return 0;
}

static int config_json(struct hv_xen *hx, uint32_t domid, char **out, struct xlcp_err *err)
{
    libxl_domain_config cfg;
    int rc;

    libxl_domain_config_init(&cfg);
    rc = libxl_retrieve_domain_configuration(hx->ctx, domid, &cfg, NULL);
    if (rc) {
        libxl_domain_config_dispose(&cfg);
        return hv_fail(hx, err, rc, "domain %u: cannot read its configuration", domid);
    }
    *out = libxl_domain_config_to_json(hx->ctx, &cfg);
    libxl_domain_config_dispose(&cfg);
    if (!*out)
        return hv_fail(hx, err, ERROR_FAIL, "domain %u: cannot write its configuration as JSON",
                       domid);
    return 0;
}

static int hx_get_config(void *self, const struct xlcp_domain *dom, char **json_out,
                         struct xlcp_err *err)
{
    struct hv_xen *hx = self;

    log_reset(hx);
    return config_json(hx, dom->domid, json_out, err);
}

static int hx_version(void *self, char *buf, size_t len, struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    const libxl_version_info *vi = libxl_get_version_info(hx->ctx);

    if (!vi)
        return hv_fail(hx, err, ERROR_FAIL, "cannot read the Xen version");
    snprintf(buf, len, "%d.%d%s", vi->xen_version_major, vi->xen_version_minor,
             vi->xen_version_extra ? vi->xen_version_extra : "");
    return 0;
}

/* ---- xenstore: the guest's protocol nodes (hostile values) ------------------------- */

/* Reads /local/domain/<domid>/<rel> into buf (at most max bytes, NUL-terminated).
 * Returns 1 if present and within bounds, 0 if absent, -1 if oversized or unreadable. */
static int xs_get(struct hv_xen *hx, uint32_t domid, const char *rel, char *buf, size_t max)
{
    char path[256];
    unsigned int len = 0;
    char *v;

    snprintf(path, sizeof(path), "/local/domain/%u/%s", domid, rel);
    v = xs_read(hx->xs, XBT_NULL, path, &len);
    if (!v)
        return errno == ENOENT ? 0 : -1;
    if (len >= max || memchr(v, '\0', len)) {
        free(v);
        return -1;
    }
    memcpy(buf, v, len);
    buf[len] = '\0';
    free(v);
    return 1;
}

static int has_token(const char *list, const char *tok)
{
    size_t n = strlen(tok);

    for (const char *p = list; (p = strstr(p, tok)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}

static int hx_guest_features(void *self, const struct xlcp_domain *dom,
                             struct xlcp_guest_features *out, struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    char v[XLCP_XS_MAX_CAPABILITIES + 1];
    char *end;
    unsigned long proto;

    (void)err;
    memset(out, 0, sizeof(*out));
    if (!hx->xs)
        return 0;
    if (xs_get(hx, dom->domid, XLCP_XS_PATH_FEATURE, v, sizeof(v)) != 1 || strcmp(v, "1") != 0)
        return 0;
    if (xs_get(hx, dom->domid, XLCP_XS_PATH_PROTOCOL, v, XLCP_XS_MAX_PROTOCOL + 1) != 1)
        return 0;
    errno = 0;
    proto = strtoul(v, &end, 10);
    if (errno || *end || end == v || proto != XLCP_XS_PROTOCOL)
        return 0; /* a protocol we do not speak: behave as without the module */
    out->has_module = 1;
    out->protocol = (unsigned)proto;
    if (xs_get(hx, dom->domid, XLCP_XS_PATH_CAPABILITIES, v, sizeof(v)) == 1) {
        out->can_quiesce = has_token(v, XLCP_XS_CAP_QUIESCE);
        out->light_suspend = has_token(v, XLCP_XS_CAP_LIGHT_SUSPEND);
    }
    if (out->light_suspend &&
        xs_get(hx, dom->domid, XLCP_XS_PATH_EVENT_CHANNEL, v, XLCP_XS_MAX_EVENT_CHANNEL + 1) != 1)
        out->light_suspend = 0;
    return 0;
}

/* Writes a request node: owned by dom0, readable by the guest. */
static int xs_request(struct hv_xen *hx, uint32_t domid, const char *value, struct xlcp_err *err)
{
    char path[256];
    struct xs_permissions perms[2] = {
        {.id = 0, .perms = XS_PERM_NONE},
        {.id = domid, .perms = XS_PERM_READ},
    };

    snprintf(path, sizeof(path), "/local/domain/%u/%s", domid, XLCP_XS_PATH_REQUEST);
    if (!xs_write(hx->xs, XBT_NULL, path, value, (unsigned)strlen(value)) ||
        !xs_set_permissions(hx->xs, XBT_NULL, path, perms, 2))
        return xlcp_err_errno(err, errno, "xenstore write %s", path);
    return 0;
}

/* Waits until the guest's state node starts with one of the wanted prefixes. Returns
 * the index of the match, or a negative error (timeout). */
static int xs_wait_state(struct hv_xen *hx, uint32_t domid, const char *const *want, int nwant,
                         unsigned timeout_ms, char *state, size_t len, struct xlcp_err *err)
{
    uint64_t deadline = mono_ns() + (uint64_t)timeout_ms * 1000000u;

    for (;;) {
        if (xs_get(hx, domid, XLCP_XS_PATH_STATE, state, len) == 1)
            for (int i = 0; i < nwant; i++)
                if (strcmp(state, want[i]) == 0 ||
                    (strncmp(state, want[i], strlen(want[i])) == 0 && want[i][0] == 'e'))
                    return i;
        if (mono_ns() >= deadline)
            return xlcp_err_set(err, XLCP_ETIMEDOUT, "guest did not answer within %u ms",
                                timeout_ms);
        sleep_ms(10);
    }
}

static void printable(char *s)
{
    for (; *s; s++)
        if (*s < ' ' || *s > '~')
            *s = '?';
}

static int hx_quiesce(void *self, const struct xlcp_domain *dom, const char *id,
                      unsigned int timeout_ms, struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    char req[XLCP_XS_MAX_REQUEST + 1];
    char frozen[XLCP_XS_MAX_STATE + 1];
    char error[XLCP_XS_MAX_STATE + 1];
    char state[XLCP_XS_MAX_STATE + 1];
    const char *want[2] = {frozen, error};
    int rc;

    if (!hx->xs)
        return xlcp_err_set(err, XLCP_EUNSUPPORTED, "no xenstore connection");
    snprintf(hx->quiesce_id, sizeof(hx->quiesce_id), "%s", id);
    snprintf(req, sizeof(req), "quiesce %s", id);
    snprintf(frozen, sizeof(frozen), "frozen %s", id);
    snprintf(error, sizeof(error), "error %s ", id);
    rc = xs_request(hx, dom->domid, req, err);
    if (rc)
        return rc;
    rc = xs_wait_state(hx, dom->domid, want, 2, timeout_ms, state, sizeof(state), err);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        printable(state);
        return xlcp_err_set(err, XLCP_EHV, "guest could not freeze its filesystems: %s",
                            state + strlen(error));
    }
    return 0;
}

static int hx_thaw(void *self, const struct xlcp_domain *dom, struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    char req[XLCP_XS_MAX_REQUEST + 1];
    char thawed[XLCP_XS_MAX_STATE + 1];
    char state[XLCP_XS_MAX_STATE + 1];
    const char *want[1] = {thawed};
    int rc;

    if (!hx->xs)
        return xlcp_err_set(err, XLCP_EUNSUPPORTED, "no xenstore connection");
    if (!hx->quiesce_id[0])
        return 0;
    snprintf(req, sizeof(req), "thaw %s", hx->quiesce_id);
    snprintf(thawed, sizeof(thawed), "thawed %s", hx->quiesce_id);
    rc = xs_request(hx, dom->domid, req, err);
    if (rc == 0)
        rc = xs_wait_state(hx, dom->domid, want, 1, 10000, state, sizeof(state), err);
    if (rc < 0)
        return rc;
    hx->quiesce_id[0] = '\0';
    return 0;
}

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
};

/* How long a failed save waits for a guest that acknowledged the request to stop late
 * (a guest whose freezer gave up never stops: that failure then takes this much longer). */
#define LATE_SUSPEND_WAIT_S 60

static int dom_suspended(xc_interface *xch, uint32_t domid)
{
    xc_dominfo_t info;

    if (xc_domain_getinfo(xch, domid, 1, &info) != 1 || info.domid != domid)
        return 0;
    return info.shutdown && info.shutdown_reason == SHUTDOWN_suspend;
}

/* The watcher sleeps on xenstore's @releaseDomain, which xenstored fires when a domain
 * shuts down (a suspend is a shutdown), and looks at the domain then, and every
 * WATCH_POLL_MS in case an event is missed. Polling every millisecond instead cost a
 * fifth of a dom0 CPU during the whole copy (nested Xen), which the copy itself needs.
 * But the event came 2-28 ms after the guest stopped (oxenstored under emulation), and
 * the capture waits for it: once libxc's pre-copy is past its first pass (the rounds
 * after it are short and the suspend follows them), the watcher polls every ms. */
#define WATCH_POLL_MS 20

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

        if (dom_suspended(w->xch, w->domid)) {
            w->suspended_at = mono_ns();
            if (w->verbose)
                debug_line("xl-checkpoint", "watcher: the guest is suspended");
            if (w->on_suspended)
                w->on_suspended(w->arg);
            break;
        }
        if (fd < 0 || (w->near && atomic_load(w->near))) {
            sleep_ms(1);
        } else if (poll(&p, 1, WATCH_POLL_MS) > 0) {
            unsigned int n = 0;
            free(xs_read_watch(xs, &n));
        }
    }
    if (xs)
        xs_close(xs);
    return NULL;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
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

/* Fills di and returns 1 if domain `domid` exists and is still the domain with `uuid` (an
 * id can be reused); the caller disposes di either way. */
static int same_domain(libxl_ctx *ctx, uint32_t domid, const char *uuid, libxl_dominfo *di)
{
    libxl_uuid want;

    return libxl_domain_info(ctx, di, domid) == 0 && libxl_uuid_from_string(&want, uuid) == 0 &&
           libxl_uuid_compare(&want, &di->uuid) == 0;
}

/* ---- the guardian: a guest must never stay suspended because we died ------------------
 *
 * Before the guest is asked to suspend, a child process is forked that waits on a pipe.
 * When we have resumed the guest (or given up on it knowingly) we write 'd' and close;
 * if the pipe closes without it — we were killed, even with SIGKILL — the guardian resumes
 * the domain (same domid and uuid, and only if it is suspended), then exits. It has its
 * own session, so a Ctrl-C on our terminal does not reach it. */
static void guardian_main(int fd, uint32_t domid, const char *uuid)
{
    char c = 0;
    ssize_t n;
    libxl_ctx *ctx = NULL;
    xentoollog_logger_stdiostream *lg;
    libxl_dominfo di;

    setsid();
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    do
        n = read(fd, &c, 1);
    while (n < 0 && errno == EINTR);
    if (n == 1 && c == 'd')
        _exit(0);
    lg = xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0);
    if (!lg || libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, (xentoollog_logger *)lg) != 0)
        _exit(1);
    libxl_dominfo_init(&di);
    if (same_domain(ctx, domid, uuid, &di) && di.shutdown && !di.dying &&
        di.shutdown_reason == LIBXL_SHUTDOWN_REASON_SUSPEND) {
        int rc = libxl_domain_resume(ctx, domid, 1, NULL);
        fprintf(stderr,
                "xl-checkpoint guardian: the checkpoint of domain %u was interrupted; "
                "%s\n",
                domid, rc == 0 ? "guest resumed" : "RESUME FAILED");
    }
    _exit(0);
}

static void guardian_start(struct hv_xen *hx, const struct xlcp_domain *dom)
{
    int p[2];
    pid_t pid;

    if (hx->guardian > 0 || pipe2(p, O_CLOEXEC) != 0)
        return;
    pid = fork();
    if (pid == 0)
        guardian_main(xlcp_child_keep_only(p[0]), dom->domid, dom->uuid);
    close(p[0]);
    if (pid < 0) {
        close(p[1]);
        return; /* without a guardian: the next run still resumes a guest left suspended */
    }
    hx->guardian = pid;
    hx->guardian_fd = p[1];
}

static void guardian_stop(struct hv_xen *hx)
{
    if (hx->guardian <= 0)
        return;
    if (write(hx->guardian_fd, "d", 1) != 1) {
        /* it is gone already */
    }
    close(hx->guardian_fd);
    while (waitpid(hx->guardian, NULL, 0) < 0 && errno == EINTR)
        ;
    hx->guardian = 0;
    hx->guardian_fd = -1;
}

static int hx_save(void *self, const struct xlcp_domain *dom, int fd, int live,
                   unsigned int suspend_timeout_ms, void (*on_suspended)(void *arg), void *arg,
                   struct xlcp_save_stats *stats, struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    struct xl_header hdr;
    struct watcher w;
    char evtchn[XLCP_XS_MAX_EVENT_CHANNEL + 2];
    char *json = NULL;
    uint32_t jlen;
    int rc;

    (void)suspend_timeout_ms; /* libxl waits for the guest itself (60 s) */
    log_reset(hx);
    rc = config_json(hx, dom->domid, &json, err);
    if (rc)
        return rc;
    memset(&hdr, 0, sizeof(hdr));
    memcpy(hdr.magic, XL_MAGIC, sizeof(hdr.magic));
    hdr.byteorder = XL_BYTEORDER;
    hdr.mandatory_flags = XL_FLAG_STREAMV2 | XL_FLAG_JSON;
    jlen = (uint32_t)strlen(json) + 1;
    hdr.optional_data_len = 4 + jlen;
    if (write_all(fd, &hdr, sizeof(hdr)) || write_all(fd, &jlen, 4) || write_all(fd, json, jlen)) {
        free(json);
        return xlcp_err_errno(err, errno, "writing the image header");
    }
    free(json);

    if (!hx->xs || xs_get(hx, dom->domid, XLCP_XS_PATH_DOWNTIME_NS, hx->downtime_before,
                          sizeof(hx->downtime_before)) != 1)
        hx->downtime_before[0] = '\0';
    /* Which path will libxl take? The event channel when the guest published one that
     * libxl can bind, else control/shutdown. */
    snprintf(stats->suspend_path, sizeof(stats->suspend_path), "stock");
    if (hx->xs) {
        int got = xs_get(hx, dom->domid, XLCP_XS_PATH_EVENT_CHANNEL, evtchn, sizeof(evtchn));
        if (got == 1 && suspend_evtchn_usable(hx, dom->domid, evtchn)) {
            snprintf(stats->suspend_path, sizeof(stats->suspend_path), "light");
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
    guardian_start(hx, dom);
    if (pthread_create(&w.thread, NULL, watch_suspend, &w) != 0)
        return xlcp_err_set(err, XLCP_EINTERNAL, "cannot start the suspend watcher thread");
    rc = libxl_domain_suspend(hx->ctx, dom->domid, fd, stats->live ? LIBXL_SUSPEND_LIVE : 0, NULL);
    w.stop = 1;
    pthread_join(w.thread, NULL);
    if (rc) {
        int late;

        pthread_mutex_lock(&hx->log.lock);
        late = hx->log.late_suspend;
        pthread_mutex_unlock(&hx->log.lock);
        if (late && !dom_suspended(hx->xch, dom->domid)) {
            /* The guest took the request (a stock-path guest freezing many busy processes
             * can take minutes under load) and libxl stopped waiting: it may still stop,
             * with no one left to resume it. Wait for that, so that the caller resumes
             * it; seen on nested Xen with 200 busy processes. */
            uint64_t t = mono_ns(), limit = (uint64_t)LATE_SUSPEND_WAIT_S * 1000000000u;

            while (mono_ns() - t < limit) {
                xc_dominfo_t info;
                if (xc_domain_getinfo(hx->xch, dom->domid, 1, &info) != 1 ||
                    info.domid != dom->domid || info.dying ||
                    (info.shutdown && info.shutdown_reason == SHUTDOWN_suspend))
                    break; /* gone, or stopped at last */
                sleep_ms(100);
            }
            if (dom_suspended(hx->xch, dom->domid))
                return xlcp_err_set(err, XLCP_ETIMEDOUT,
                                    "the guest acknowledged the suspend request but stopped "
                                    "only %.1f s after libxl's time limit (a busy guest?)",
                                    (double)(mono_ns() - t) / 1e9);
        }
        return hv_fail(hx, err, rc, "libxl_domain_suspend");
    }
    stats->suspended_at_ns = w.suspended_at;
    if (!dom_suspended(hx->xch, dom->domid))
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

static int hx_wait_suspended(void *self, const struct xlcp_domain *dom, unsigned int timeout_ms,
                             struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    uint64_t deadline = mono_ns() + (uint64_t)timeout_ms * 1000000u;
    uint64_t prev = 0, cur = 0;
    int stable = 0;

    if (!dom_suspended(hx->xch, dom->domid))
        return xlcp_err_set(err, XLCP_ESTATE, "domain %s is not suspended", dom->name);
    /* The guest cannot queue requests any more; wait until its back ends have taken the
     * ones already on their rings (counters unchanged over two 5 ms samples). Requests
     * under way below are drained by the device-mapper suspend inside lvcreate. */
    vbd_requests(dom->domid, &prev);
    while (stable < 2) {
        sleep_ms(5);
        vbd_requests(dom->domid, &cur);
        stable = cur == prev ? stable + 1 : 0;
        prev = cur;
        if (mono_ns() >= deadline)
            return xlcp_err_set(err, XLCP_ETIMEDOUT, "block back ends of %s still busy after %u ms",
                                dom->name, timeout_ms);
    }
    return 0;
}

static int hx_resume(void *self, const struct xlcp_domain *dom, struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    int rc;

    log_reset(hx);
    rc = libxl_domain_resume(hx->ctx, dom->domid, 1, NULL);
    if (rc)
        return hv_fail(hx, err, rc, "libxl_domain_resume (suspend cancelled)");
    if (dom_suspended(hx->xch, dom->domid))
        return xlcp_err_set(err, XLCP_EHV, "domain %s is still suspended after resume", dom->name);
    guardian_stop(hx);
    return 0;
}

/* ---- restore --------------------------------------------------------------------- */

static int read_all(int fd, void *buf, size_t len)
{
    char *p = buf;

    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int hx_restore(void *self, const char *config_json_in, const char *new_name,
                      const struct xlcp_restore_disk *disks, int ndisks, int fd, int paused,
                      int keep_macs, uint32_t *domid_out, struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    libxl_domain_config cfg;
    libxl_domain_restore_params params;
    struct xl_header hdr;
    uint32_t domid = (uint32_t)INVALID_DOMID;
    int rc;

    log_reset(hx);
    if (read_all(fd, &hdr, sizeof(hdr)) != 0)
        return xlcp_err_set(err, XLCP_ECORRUPT, "memory image too short for an xl header");
    if (memcmp(hdr.magic, XL_MAGIC, sizeof(hdr.magic)) != 0 || hdr.byteorder != XL_BYTEORDER)
        return xlcp_err_set(err, XLCP_ECORRUPT, "memory image is not an xl save file");
    if (hdr.mandatory_flags & ~(XL_FLAG_JSON | XL_FLAG_STREAMV2))
        return xlcp_err_set(err, XLCP_ECORRUPT, "memory image has unknown mandatory flags %#x",
                            hdr.mandatory_flags);
    if (lseek(fd, (off_t)hdr.optional_data_len, SEEK_CUR) < 0)
        return xlcp_err_errno(err, errno, "memory image");

    libxl_domain_config_init(&cfg);
    rc = libxl_domain_config_from_json(hx->ctx, &cfg, config_json_in);
    if (rc) {
        libxl_domain_config_dispose(&cfg);
        return hv_fail(hx, err, rc, "the saved domain configuration is not valid libxl JSON");
    }
    free(cfg.c_info.name);
    cfg.c_info.name = strdup(new_name);
    libxl_uuid_generate(&cfg.c_info.uuid);
    for (int i = 0; i < ndisks; i++) {
        int found = 0;
        for (int j = 0; j < cfg.num_disks; j++) {
            libxl_device_disk *d = &cfg.disks[j];
            if (!d->vdev || strcmp(d->vdev, disks[i].vdev) != 0)
                continue;
            free(d->pdev_path);
            d->pdev_path = strdup(disks[i].path);
            d->format = LIBXL_DISK_FORMAT_RAW;
            found = 1;
        }
        if (!found) {
            libxl_domain_config_dispose(&cfg);
            return xlcp_err_set(err, XLCP_ECORRUPT, "saved configuration has no disk %s",
                                disks[i].vdev);
        }
    }
    /* Network interfaces keep their MACs; a restore beside a running original must not
     * clash on the bridge, so let libxl pick new ones. */
    for (int j = 0; j < cfg.num_nics && !keep_macs; j++)
        memset(cfg.nics[j].mac, 0, sizeof(cfg.nics[j].mac));
    if (!cfg.c_info.name) {
        libxl_domain_config_dispose(&cfg);
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    }

    libxl_domain_restore_params_init(&params);
    params.stream_version = (hdr.mandatory_flags & XL_FLAG_STREAMV2) ? 2 : 1;
    rc = libxl_domain_create_restore(hx->ctx, &cfg, &domid, fd, -1, &params, NULL, NULL);
    libxl_domain_restore_params_dispose(&params);
    libxl_domain_config_dispose(&cfg);
    if (rc) {
        int e = hv_fail(hx, err, rc, "libxl_domain_create_restore of '%s'", new_name);
        if (domid != (uint32_t)INVALID_DOMID)
            libxl_domain_destroy(hx->ctx, domid, NULL);
        return e;
    }
    if (!paused) {
        rc = libxl_domain_unpause(hx->ctx, domid, NULL);
        if (rc) {
            int e = hv_fail(hx, err, rc, "unpausing restored domain %u", domid);
            libxl_domain_destroy(hx->ctx, domid, NULL);
            return e;
        }
    }
    *domid_out = domid;
    return 0;
}

static int hx_guest_downtime(void *self, const struct xlcp_domain *dom, uint64_t *ns_out,
                             struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    uint64_t deadline = mono_ns() + 2000000000u;
    char v[32];

    (void)err;
    *ns_out = 0;
    if (!hx->xs)
        return 0;
    do {
        /* hostile input: digits only, bounded, and not what it was before the save */
        if (xs_get(hx, dom->domid, XLCP_XS_PATH_DOWNTIME_NS, v, sizeof(v)) == 1 &&
            strcmp(v, hx->downtime_before) != 0) {
            char *end;
            unsigned long long n;
            errno = 0;
            n = strtoull(v, &end, 10);
            if (v[0] >= '0' && v[0] <= '9' && !*end && !errno)
                *ns_out = n;
            return 0;
        }
        sleep_ms(20);
    } while (mono_ns() < deadline);
    return 0;
}

static int hx_rename(void *self, uint32_t domid, const char *new_name, struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    int rc;

    log_reset(hx);
    rc = libxl_domain_rename(hx->ctx, domid, NULL, new_name);
    return rc ? hv_fail(hx, err, rc, "renaming domain %u to '%s'", domid, new_name) : 0;
}

static int hx_unpause(void *self, uint32_t domid, struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    int rc;

    log_reset(hx);
    rc = libxl_domain_unpause(hx->ctx, domid, NULL);
    return rc ? hv_fail(hx, err, rc, "unpausing domain %u", domid) : 0;
}

/* 1 while the domain is still there (same id and uuid) and not dying. */
static int still_there(struct hv_xen *hx, const struct xlcp_domain *dom)
{
    libxl_dominfo di;
    int there;

    libxl_dominfo_init(&di);
    there = same_domain(hx->ctx, dom->domid, dom->uuid, &di) && !di.dying;
    libxl_dominfo_dispose(&di);
    return there;
}

/* libxl reports a failed destruction when a step of its device teardown fails (a back
 * end already gone, a hotplug script that timed out) even though the domain went; one
 * more attempt finishes what is left. Only a domain that is really still there fails. */
static int hx_destroy(void *self, const struct xlcp_domain *dom, struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    int rc = 0;

    for (int attempt = 0; attempt < 2; attempt++) {
        if (attempt > 0)
            sleep_ms(1000);
        log_reset(hx);
        rc = libxl_domain_destroy(hx->ctx, dom->domid, NULL);
        if (rc == 0 || !still_there(hx, dom))
            return 0;
    }
    return hv_fail(hx, err, rc, "libxl_domain_destroy of %s", dom->name);
}

/* ---- xs-check: the guest's live subtree -------------------------------------------- */

/* What the guest may do with a node, from its permission list: the owner (first entry)
 * may do everything, a listed domain what its entry says, others what the first says. */
static unsigned guest_access(struct hv_xen *hx, const char *path, uint32_t domid)
{
    unsigned int n = 0;
    struct xs_permissions *p = xs_get_permissions(hx->xs, XBT_NULL, path, &n);
    unsigned perm, out = 0;

    if (!p || n == 0) {
        free(p);
        return XLCP_XS_PERM_UNKNOWN;
    }
    perm = p[0].perms;
    if (p[0].id == domid)
        perm = XS_PERM_READ | XS_PERM_WRITE;
    else
        for (unsigned i = 1; i < n; i++)
            if (p[i].id == domid)
                perm = p[i].perms;
    free(p);
    if (perm & XS_PERM_READ)
        out |= XLCP_XS_PERM_READ;
    if (perm & XS_PERM_WRITE)
        out |= XLCP_XS_PERM_WRITE;
    return out;
}

struct node_list {
    struct xlcp_xs_entry *e;
    size_t n, cap;
};

/* Adds the node at <home>/<rel> (and, to depth 3, its children). */
static int add_node(struct hv_xen *hx, uint32_t domid, const char *home, const char *rel, int depth,
                    struct node_list *l)
{
    char path[512];
    unsigned int len = 0, nkids = 0;
    char *v;
    char **kids;

    snprintf(path, sizeof(path), "%s/%s", home, rel);
    v = xs_read(hx->xs, XBT_NULL, path, &len);
    if (!v && errno == ENOENT)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct xlcp_xs_entry *e = realloc(l->e, cap * sizeof(*e));
        if (!e) {
            free(v);
            return -1;
        }
        l->e = e;
        l->cap = cap;
    }
    kids = depth < 3 ? xs_directory(hx->xs, XBT_NULL, path, &nkids) : NULL;
    l->e[l->n].path = strdup(rel);
    l->e[l->n].value = v && (len > 0 || nkids == 0) ? v : NULL;
    l->e[l->n].len = l->e[l->n].value ? len : 0;
    l->e[l->n].guest_perms = guest_access(hx, path, domid);
    if (!l->e[l->n].value)
        free(v);
    if (!l->e[l->n].path) {
        free(kids);
        return -1;
    }
    l->n++;
    for (unsigned i = 0; i < nkids; i++) {
        char sub[256];
        if (snprintf(sub, sizeof(sub), "%s/%s", rel, kids[i]) >= (int)sizeof(sub))
            continue;
        if (add_node(hx, domid, home, sub, depth + 1, l) != 0) {
            free(kids);
            return -1;
        }
    }
    free(kids);
    return 0;
}

static int hx_guest_nodes(void *self, const struct xlcp_domain *dom, struct xlcp_xs_entry **out,
                          size_t *n, struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    struct node_list l = {NULL, 0, 0};
    char home[64];

    *out = NULL;
    *n = 0;
    if (!hx->xs)
        return xlcp_err_set(err, XLCP_EHV, "cannot connect to xenstore");
    snprintf(home, sizeof(home), "/local/domain/%u", dom->domid);
    if (add_node(hx, dom->domid, home, XLCP_XS_DIR, 1, &l) != 0 ||
        add_node(hx, dom->domid, home, XLCP_XS_PATH_EVENT_CHANNEL, 3, &l) != 0) {
        xlcp_xs_entries_free(l.e, l.n);
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory reading xenstore");
    }
    *out = l.e;
    *n = l.n;
    return 0;
}

static const struct xlcp_hv_ops hv_xen_ops = {
    .lookup = hx_lookup,
    .state = hx_state,
    .get_config = hx_get_config,
    .version = hx_version,
    .guest_features = hx_guest_features,
    .quiesce = hx_quiesce,
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
    hx->log.vtable.vmessage = log_vmessage;
    hx->log.vtable.progress = log_progress;
    hx->log.vtable.destroy = log_destroy;
    hx->log.verbose = dbg && *dbg && strcmp(dbg, "0") != 0;
    pthread_mutex_init(&hx->log.lock, NULL);
    atomic_init(&hx->log.precopy_rounds, 0);

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
        guardian_stop(hx); /* whatever state the guest is in, the engine has reported it */
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
