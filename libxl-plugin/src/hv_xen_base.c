/*
 * hv_xen_base.c - what every file of the Xen adapter uses: libxl's logger (it keeps the
 * last error for our reports and notices what libxl says along the way), clocks, failing
 * with libxl's message, the domain's configuration, a guest's xenstore node, and whether
 * a domain is the one we mean and suspended.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hv_xen_int.h"

/* ---- logger ---------------------------------------------------------------------- */

/* XLCP_DEBUG: every message, with the time in ms (CLOCK_MONOTONIC) to read timings. */
void hx_debug_line(const char *context, const char *msg)
{
    fprintf(stderr, "[%.3f] %s: %s\n", (double)hx_mono_ns() / 1e6, context ? context : "xen", msg);
}

/* libxl's debug line as it asks the guest to suspend (libxl_dom_suspend.c: on the event
 * channel, on control/shutdown, or an HVM guest without PV drivers). */
static int suspend_asked(const char *msg)
{
    return strstr(msg, " suspend request via ") || strstr(msg, "Calling xc_domain_shutdown on HVM");
}

static void log_vmessage(xentoollog_logger *l, xentoollog_level level, int errnoval,
                         const char *context, const char *format, va_list al)
{
    struct hv_logger *lg = (struct hv_logger *)l;
    char msg[512];
    int n;

    n = vsnprintf(msg, sizeof(msg), format, al);
    if (atomic_load(&lg->suspend_asked_ns) == 0 && suspend_asked(msg)) {
        /* before libxl goes on to notify the guest: the announcement of our suspend */
        if (lg->on_suspend_asked)
            lg->on_suspend_asked(lg->on_suspend_asked_arg, msg);
        atomic_store(&lg->suspend_asked_ns, hx_mono_ns());
        if (lg->guardian)
            xlcp_guardian_say(lg->guardian, "A\n");
    }
    if (!lg->verbose && level < XTL_ERROR)
        return;
    if (n >= 0 && errnoval >= 0 && (size_t)n < sizeof(msg))
        snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(errnoval));
    if (lg->verbose)
        hx_debug_line(context, msg);
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
    hx_debug_line(context, msg);
}

static void log_destroy(xentoollog_logger *l)
{
    (void)l;
}

void hx_logger_init(struct hv_logger *lg, int verbose)
{
    lg->vtable.vmessage = log_vmessage;
    lg->vtable.progress = log_progress;
    lg->vtable.destroy = log_destroy;
    lg->verbose = verbose;
    pthread_mutex_init(&lg->lock, NULL);
    atomic_init(&lg->precopy_rounds, 0);
    atomic_init(&lg->suspend_asked_ns, 0);
}

/* ---- helpers --------------------------------------------------------------------- */

uint64_t hx_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void hx_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int hx_fd_all(int fd, void *buf, size_t len, int writing)
{
    char *p = buf;

    while (len > 0) {
        ssize_t n = writing == HX_WRITE ? write(fd, p, len) : read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void hx_log_reset(struct hv_xen *hx)
{
    pthread_mutex_lock(&hx->log.lock);
    hx->log.last[0] = '\0';
    hx->log.late_suspend = 0;
    pthread_mutex_unlock(&hx->log.lock);
    atomic_store(&hx->log.precopy_rounds, 0);
    atomic_store(&hx->log.suspend_asked_ns, 0);
}

/* Fails with libxl's code and its last logged message. */
int hx_fail(struct hv_xen *hx, struct xlcp_err *err, int lrc, const char *fmt, ...)
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

int hx_config_json(struct hv_xen *hx, uint32_t domid, char **out, struct xlcp_err *err)
{
    libxl_domain_config cfg;
    int rc;

    libxl_domain_config_init(&cfg);
    rc = libxl_retrieve_domain_configuration(hx->ctx, domid, &cfg, NULL);
    if (rc) {
        libxl_domain_config_dispose(&cfg);
        return hx_fail(hx, err, rc, "domain %u: cannot read its configuration", domid);
    }
    *out = libxl_domain_config_to_json(hx->ctx, &cfg);
    libxl_domain_config_dispose(&cfg);
    if (!*out)
        return hx_fail(hx, err, ERROR_FAIL, "domain %u: cannot write its configuration as JSON",
                       domid);
    return 0;
}

/* Reads /local/domain/<domid>/<rel> into buf (at most max bytes, NUL-terminated).
 * Returns 1 if present and within bounds, 0 if absent, -1 if oversized or unreadable. */
int hx_xs_get(struct hv_xen *hx, uint32_t domid, const char *rel, char *buf, size_t max)
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

int hx_dom_suspended(xc_interface *xch, uint32_t domid)
{
    xc_dominfo_t info;

    if (xc_domain_getinfo(xch, domid, 1, &info) != 1 || info.domid != domid)
        return 0;
    return info.shutdown && info.shutdown_reason == SHUTDOWN_suspend;
}

/* Fills di and returns 1 if domain `domid` exists and is still the domain with `uuid` (an
 * id can be reused); the caller disposes di either way. */
int hx_same_domain(libxl_ctx *ctx, uint32_t domid, const char *uuid, libxl_dominfo *di)
{
    libxl_uuid want;

    return libxl_domain_info(ctx, di, domid) == 0 && libxl_uuid_from_string(&want, uuid) == 0 &&
           libxl_uuid_compare(&want, &di->uuid) == 0;
}
