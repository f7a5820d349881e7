/*
 * fakes.c - in-process fakes of the hv, disk and clock ports, and a fault-injecting
 * wrapper around the real file-system catalog. See fakes.h.
 */
#include "fakes.h"
#include "stream.h"
#include "stream_build.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- faults and the call log --------------------------------------------------- */

void fake_fail_after(struct fake_world *w, const char *op, int code, int skip)
{
    for (int i = 0; i < FAKE_MAX_FAULTS; i++) {
        if (w->faults[i].times == 0) {
            snprintf(w->faults[i].op, sizeof(w->faults[i].op), "%s", op);
            w->faults[i].code = code;
            w->faults[i].times = 1;
            w->faults[i].skip = skip;
            return;
        }
    }
    abort(); /* a test asked for more faults than the table holds */
}

void fake_fail(struct fake_world *w, const char *op, int code, int times)
{
    fake_fail_after(w, op, code, 0);
    for (int i = 0; i < FAKE_MAX_FAULTS; i++)
        if (w->faults[i].times == 1 && strcmp(w->faults[i].op, op) == 0 &&
            w->faults[i].code == code && w->faults[i].skip == 0) {
            w->faults[i].times = times;
            return;
        }
}

/* The engine finishes snapshots in a thread of its own, and a group checkpoint runs one
 * thread per member on the same world: the log, the fault table, the volume table, the
 * domains' suspended flags and the clock are shared. Recursive: an op that holds it may
 * log and check its fault. Never held across a call back into the engine. */
static pthread_mutex_t fake_mu = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
#define LOCK() pthread_mutex_lock(&fake_mu)
#define UNLOCK() pthread_mutex_unlock(&fake_mu)

static void vlogf(struct fake_world *w, const char *fmt, va_list ap)
{
    size_t len = strlen(w->log);

    if (len + 2 >= sizeof(w->log))
        return;
    if (w->log_times) { /* real time, comparable between processes (fake hosts) */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        snprintf(w->log + len, sizeof(w->log) - len - 1, "T%lld ",
                 (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec);
        len = strlen(w->log);
    }
    vsnprintf(w->log + len, sizeof(w->log) - len - 1, fmt, ap);
    len = strlen(w->log);
    w->log[len] = '\n';
    w->log[len + 1] = '\0';
}

static void logf_(struct fake_world *w, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&fake_mu);
    va_start(ap, fmt);
    vlogf(w, fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&fake_mu);
}

/* Returns the injected error for op, or 0. */
static int fault_locked(struct fake_world *w, const char *op, struct xlcp_err *err);
static int fault(struct fake_world *w, const char *op, struct xlcp_err *err)
{
    int rc;

    pthread_mutex_lock(&fake_mu);
    rc = fault_locked(w, op, err);
    pthread_mutex_unlock(&fake_mu);
    return rc;
}

static int fault_locked(struct fake_world *w, const char *op, struct xlcp_err *err)
{
    for (int i = 0; i < FAKE_MAX_FAULTS; i++) {
        if (w->faults[i].times > 0 && strcmp(w->faults[i].op, op) == 0) {
            if (w->faults[i].skip > 0) {
                w->faults[i].skip--;
                return 0;
            }
            w->faults[i].times--;
            {
                size_t len = strlen(w->log);
                if (len + 2 + strlen(op) + 6 < sizeof(w->log))
                    snprintf(w->log + len, sizeof(w->log) - len, "FAULT %s\n", op);
            }
            return xlcp_err_set(err, w->faults[i].code, "injected fault in %s", op);
        }
    }
    return 0;
}

#define FAULT(w, op)                                                                               \
    do {                                                                                           \
        int rc_ = fault((w), (op), err);                                                           \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
    } while (0)

/* ---- hv ------------------------------------------------------------------------ */

static struct fake_dom *dom_of(struct fake_world *w, const struct xlcp_domain *d)
{
    for (int i = 0; i < FAKE_MAX_DOMS; i++)
        if (w->doms[i].used && w->doms[i].d.domid == d->domid)
            return &w->doms[i];
    return NULL;
}

struct fake_dom *fake_find_domain(struct fake_world *w, const char *name)
{
    for (int i = 0; i < FAKE_MAX_DOMS; i++)
        if (w->doms[i].used && strcmp(w->doms[i].d.name, name) == 0)
            return &w->doms[i];
    return NULL;
}

static int hv_lookup(void *self, const char *spec, struct xlcp_domain *out, struct xlcp_err *err)
{
    struct fake_world *w = self;

    FAULT(w, "hv.lookup");
    for (int i = 0; i < FAKE_MAX_DOMS; i++) {
        struct fake_dom *d = &w->doms[i];
        char id[16];
        if (!d->used)
            continue;
        snprintf(id, sizeof(id), "%u", d->d.domid);
        if (strcmp(d->d.name, spec) == 0 || strcmp(d->d.uuid, spec) == 0 || strcmp(id, spec) == 0) {
            *out = d->d;
            out->state = d->suspended ? XLCP_DOM_SUSPENDED : d->d.state;
            return 0;
        }
    }
    return xlcp_err_set(err, XLCP_ENOTFOUND, "no domain '%s'", spec);
}

static int hv_state(void *self, const struct xlcp_domain *dom, enum xlcp_domstate *out,
                    struct xlcp_err *err)
{
    struct fake_dom *d = dom_of(self, dom);

    if (!d)
        return xlcp_err_set(err, XLCP_ENOTFOUND, "domain %u gone", dom->domid);
    *out = d->suspended ? XLCP_DOM_SUSPENDED : d->d.state;
    return 0;
}

static int hv_get_config(void *self, const struct xlcp_domain *dom, char **json,
                         struct xlcp_err *err)
{
    struct fake_world *w = self;
    char buf[256];

    FAULT(w, "hv.get_config");
    snprintf(buf, sizeof(buf), "{\"c_info\": {\"name\": \"%s\", \"uuid\": \"%s\"}}", dom->name,
             dom->uuid);
    *json = strdup(buf);
    return *json ? 0 : xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
}

static int hv_version(void *self, char *buf, size_t len, struct xlcp_err *err)
{
    FAULT((struct fake_world *)self, "hv.version");
    snprintf(buf, len, "4.17-fake");
    return 0;
}

static int hv_guest_features(void *self, const struct xlcp_domain *dom,
                             struct xlcp_guest_features *out, struct xlcp_err *err)
{
    struct fake_world *w = self;
    struct fake_dom *d = dom_of(w, dom);

    FAULT(w, "hv.guest_features");
    memset(out, 0, sizeof(*out));
    if (d && d->has_module) {
        out->has_module = 1;
        out->protocol = 3;
        out->can_quiesce = 1;
        out->light_suspend = 1;
        out->quiesce_at_suspend = !d->no_quiesce_at_suspend;
    }
    return 0;
}

static int hv_quiesce(void *self, const struct xlcp_domain *dom, const char *id, unsigned timeout,
                      struct xlcp_err *err)
{
    struct fake_world *w = self;
    struct fake_dom *d = dom_of(w, dom);

    (void)timeout;
    logf_(w, "hv.quiesce %s %s", dom->name, id);
    FAULT(w, "hv.quiesce");
    if (!d || !d->has_module)
        return xlcp_err_set(err, XLCP_EUNSUPPORTED, "guest has no checkpoint module");
    d->frozen = 1;
    return 0;
}

static int hv_quiesce_result(void *self, const struct xlcp_domain *dom, const char *id,
                             unsigned timeout, int *held, char *why, size_t why_len,
                             struct xlcp_err *err)
{
    struct fake_world *w = self;
    struct fake_dom *d = dom_of(w, dom);

    (void)timeout;
    *held = 0;
    logf_(w, "hv.quiesce_result %s %s", dom->name, id);
    FAULT(w, "hv.quiesce_result");
    if (!d || !d->frozen) {
        snprintf(why, why_len, "the armed freeze expired before the guest stopped");
        return 0;
    }
    d->frozen = 0; /* the guest thawed after its resume */
    d->thaws++;
    if (d->freeze_fails)
        snprintf(why, why_len, "freeze of / did not finish within 2000 ms");
    else
        *held = 1;
    return 0;
}

static int hv_thaw(void *self, const struct xlcp_domain *dom, struct xlcp_err *err)
{
    struct fake_world *w = self;
    struct fake_dom *d = dom_of(w, dom);

    logf_(w, "hv.thaw %s", dom->name);
    FAULT(w, "hv.thaw");
    if (d) {
        d->frozen = 0;
        d->thaws++;
    }
    return 0;
}

static int hv_save(void *self, const struct xlcp_domain *dom, const char *id, int fd, int live,
                   unsigned timeout, void (*on_suspended)(void *), void *arg,
                   struct xlcp_save_stats *st, struct xlcp_err *err)
{
    struct fake_world *w = self;
    struct fake_dom *d = dom_of(w, dom);
    const size_t block = 4096;
    struct sb img = {NULL, 0, 0};
    struct sb_offsets where;
    int rc;

    (void)timeout;
    logf_(w, "hv.save %s live=%d", dom->name, live);
    if (!d)
        return xlcp_err_set(err, XLCP_ENOTFOUND, "domain %u gone", dom->domid);
    snprintf(d->saved_id, sizeof(d->saved_id), "%s", id ? id : "");
    if (d->never_suspends)
        return xlcp_err_set(err, XLCP_ETIMEDOUT, "guest did not suspend");
    if (d->crashes) {
        d->d.state = d->crashes > 1 ? XLCP_DOM_SHUTDOWN : XLCP_DOM_CRASHED;
        return xlcp_err_set(err, XLCP_ETIMEDOUT, "domain did not respond to suspend request");
    }
    if (d->vanishes) {
        d->used = 0; /* as libxl sees a domain that crashed and was rebooted: gone */
        return xlcp_err_set(err, XLCP_EHV, "domain did not respond to suspend request");
    }
    if (d->stop_delay_ms)
        usleep(d->stop_delay_ms * 1000u); /* a late member of a group */
    /* Worst case for the engine: the fault hits after the guest stopped. */
    LOCK();
    if (live && !d->no_logdirty)
        w->now_ns += d->precopy_ns;
    d->suspended = 1;
    st->suspended_at_ns = w->now_ns;
    UNLOCK();
    logf_(w, "hv.stopped %s", dom->name);
    if (on_suspended && !w->no_suspend_callback)
        on_suspended(arg);
    rc = fault(w, "hv.save", err);
    if (rc)
        return rc;
    /* A real image's structure (the stream parser checks it), content from the pattern. */
    sb_pv_image(&img, d->memory_pattern + d->d.domid, 10, 16 * 4096, &where);
    if (d->image_fault) {
        img.p[where.page[0] + 8] = 2000 & 0xff;
        img.p[where.page[0] + 9] = 2000 >> 8;
    }
    for (size_t off = 0; off < img.len; off += block) {
        size_t n = img.len - off < block ? img.len - off : block;
        if (write(fd, img.p + off, n) != (ssize_t)n) {
            sb_free(&img);
            return xlcp_err_set(err, XLCP_EIO, "write failed");
        }
    }
    sb_free(&img);
    LOCK();
    w->now_ns += 5000000; /* the copy takes 5 ms */
    UNLOCK();
    snprintf(st->suspend_path, sizeof(st->suspend_path), "%s",
             d->has_module && !d->stock_handover ? "light" : "stock");
    st->live = live && !d->no_logdirty;
    if (live && d->no_logdirty)
        snprintf(st->live_note, sizeof(st->live_note), "no log-dirty support: copied paused");
    LOCK();
    w->now_ns += 1000000;
    UNLOCK();
    return 0;
}

static int hv_guest_downtime(void *self, const struct xlcp_domain *dom, uint64_t *ns,
                             struct xlcp_err *err)
{
    struct fake_world *w = self;
    struct fake_dom *d = dom_of(w, dom);

    FAULT(w, "hv.guest_downtime");
    *ns = d && d->has_module ? 1234567 : 0;
    return 0;
}

static int hv_wait_suspended(void *self, const struct xlcp_domain *dom, unsigned timeout,
                             struct xlcp_err *err)
{
    struct fake_world *w = self;
    struct fake_dom *d = dom_of(w, dom);

    (void)timeout;
    FAULT(w, "hv.wait_suspended");
    if (!d || !d->suspended)
        return xlcp_err_set(err, XLCP_ESTATE, "guest is not suspended");
    return 0;
}

static int hv_resume(void *self, const struct xlcp_domain *dom, struct xlcp_err *err)
{
    struct fake_world *w = self;
    struct fake_dom *d = dom_of(w, dom);

    logf_(w, "hv.resume %s", dom->name);
    FAULT(w, "hv.resume");
    LOCK();
    if (!d || !d->suspended) {
        UNLOCK();
        return xlcp_err_set(err, XLCP_ESTATE, "guest is not suspended");
    }
    d->suspended = 0;
    d->resumes++;
    w->now_ns += 2000000;
    UNLOCK();
    return 0;
}

/* The image on fd as libxl reads it: from where fd stands, front to back (a file or a pipe),
 * xl's magic first; with all, the rest parsed to its end (a stream cut short fails). */
static int read_image(int fd, int all, struct xlcp_err *err)
{
    int dfd = dup(fd), rc;
    FILE *in = dfd >= 0 ? fdopen(dfd, "rb") : NULL;
    struct xlcp_stream *s = NULL;
    char buf[8192];
    size_t n;

    if (!in) {
        if (dfd >= 0)
            close(dfd);
        return xlcp_err_set(err, XLCP_EINTERNAL, "fdopen: %s", strerror(errno));
    }
    setvbuf(in, NULL, _IONBF, 0); /* no read-ahead: only what is asked for is taken */
    rc = 0;
    if (fread(buf, 1, 32, in) != 32 || memcmp(buf, "Xen saved domain, xl format\n", 28) != 0)
        rc = xlcp_err_set(err, XLCP_ECORRUPT, "not an xl save image");
    else if (all && (rc = xlcp_stream_new(NULL, NULL, &s, err)) == 0)
        rc = xlcp_stream_feed(s, buf, 32, err);
    while (s && rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        rc = xlcp_stream_feed(s, buf, n, err);
    if (s && rc == 0)
        rc =
            ferror(in) ? xlcp_err_set(err, XLCP_EIO, "read the image") : xlcp_stream_finish(s, err);
    xlcp_stream_free(s);
    fclose(in);
    return rc ? xlcp_err_prefix(err, "libxl_domain_create_restore (fake)") : 0;
}

static int hv_restore(void *self, const char *config, const char *name,
                      const struct xlcp_restore_disk *disks, int ndisks, int fd, int paused,
                      int keep_macs, uint32_t *domid, struct xlcp_err *err)
{
    struct fake_world *w = self;
    struct fake_dom *d;
    int rc;

    (void)keep_macs;
    for (int i = 0; i < FAKE_MAX_DOMS; i++)
        if (w->doms[i].used && strcmp(w->doms[i].d.name, name) == 0)
            return xlcp_err_set(err, XLCP_EHV, "a domain named '%s' exists", name);
    FAULT(w, "hv.restore");
    if (w->restore_delay_ms) {
        struct timespec ts = {w->restore_delay_ms / 1000, (w->restore_delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    snprintf(w->restored_config, sizeof(w->restored_config), "%s", config ? config : "");
    /* a stream that fails leaves no domain, as hx_restore destroys the one it began */
    if ((rc = read_image(fd, !w->restore_reads_header_only, err)) != 0) {
        logf_(w, "hv.restore %s failed", name);
        return rc;
    }
    d = fake_add_domain(w, name, 0);
    if (!d)
        return xlcp_err_set(err, XLCP_EINTERNAL, "fake domain table full");
    for (int i = 0; i < ndisks && i < XLCP_MAX_DISKS; i++) {
        snprintf(d->d.disks[i].vdev, sizeof(d->d.disks[i].vdev), "%s", disks[i].vdev);
        snprintf(d->d.disks[i].target, sizeof(d->d.disks[i].target), "%s", disks[i].path);
        d->d.disks[i].readwrite = 1;
    }
    d->d.ndisks = ndisks;
    d->d.state = paused ? XLCP_DOM_PAUSED : XLCP_DOM_RUNNING;
    *domid = d->d.domid;
    logf_(w, "hv.restore %s", name);
    return 0;
}

static struct fake_dom *dom_by_id(struct fake_world *w, uint32_t domid)
{
    for (int i = 0; i < FAKE_MAX_DOMS; i++)
        if (w->doms[i].used && w->doms[i].d.domid == domid)
            return &w->doms[i];
    return NULL;
}

static int hv_rename(void *self, uint32_t domid, const char *name, struct xlcp_err *err)
{
    struct fake_world *w = self;
    struct fake_dom *d = dom_by_id(w, domid);

    FAULT(w, "hv.rename");
    logf_(w, "hv.rename %u %s", domid, name);
    if (!d)
        return xlcp_err_set(err, XLCP_ENOTFOUND, "no domain %u", domid);
    for (int i = 0; i < FAKE_MAX_DOMS; i++)
        if (w->doms[i].used && strcmp(w->doms[i].d.name, name) == 0)
            return xlcp_err_set(err, XLCP_EHV, "a domain named '%s' exists", name);
    snprintf(d->d.name, sizeof(d->d.name), "%s", name);
    return 0;
}

static int hv_unpause(void *self, uint32_t domid, struct xlcp_err *err)
{
    struct fake_world *w = self;
    struct fake_dom *d = dom_by_id(w, domid);

    FAULT(w, "hv.unpause");
    logf_(w, "hv.unpause %u", domid);
    if (!d)
        return xlcp_err_set(err, XLCP_ENOTFOUND, "no domain %u", domid);
    d->d.state = XLCP_DOM_RUNNING;
    return 0;
}

static int hv_destroy(void *self, const struct xlcp_domain *dom, struct xlcp_err *err)
{
    struct fake_world *w = self;
    struct fake_dom *d = dom_of(w, dom);

    FAULT(w, "hv.destroy");
    logf_(w, "hv.destroy %s", dom->name);
    if (d)
        memset(d, 0, sizeof(*d));
    return 0;
}

static int hv_guest_nodes(void *self, const struct xlcp_domain *dom, struct xlcp_xs_entry **out,
                          size_t *n, struct xlcp_err *err)
{
    struct fake_world *w = self;
    struct fake_dom *d = dom_of(w, dom);

    FAULT(w, "hv.guest_nodes");
    *out = NULL;
    *n = 0;
    if (!d)
        return xlcp_err_set(err, XLCP_ENOTFOUND, "domain %u gone", dom->domid);
    if (d->nxs == 0)
        return 0;
    *out = calloc((size_t)d->nxs, sizeof(**out));
    if (!*out)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    for (int i = 0; i < d->nxs; i++) {
        (*out)[i].path = strdup(d->xs[i].path);
        (*out)[i].value = strdup(d->xs[i].value);
        (*out)[i].len = strlen(d->xs[i].value);
        (*out)[i].guest_perms = d->xs[i].perms;
        (*n)++;
    }
    return 0;
}

void fake_xs_set(struct fake_dom *d, const char *path, const char *value, unsigned perms)
{
    if (d->nxs >= (int)(sizeof(d->xs) / sizeof(d->xs[0])))
        return;
    snprintf(d->xs[d->nxs].path, sizeof(d->xs[0].path), "%s", path);
    snprintf(d->xs[d->nxs].value, sizeof(d->xs[0].value), "%s", value);
    d->xs[d->nxs].perms = perms;
    d->nxs++;
}

static const struct xlcp_hv_ops fake_hv_ops = {
    .lookup = hv_lookup,
    .state = hv_state,
    .get_config = hv_get_config,
    .version = hv_version,
    .guest_features = hv_guest_features,
    .quiesce = hv_quiesce,
    .quiesce_result = hv_quiesce_result,
    .thaw = hv_thaw,
    .save = hv_save,
    .rename = hv_rename,
    .unpause = hv_unpause,
    .guest_downtime = hv_guest_downtime,
    .wait_suspended = hv_wait_suspended,
    .resume = hv_resume,
    .restore = hv_restore,
    .destroy = hv_destroy,
    .guest_nodes = hv_guest_nodes,
};

/* ---- disk ---------------------------------------------------------------------- */

static struct fake_vol *vol_by_name(struct fake_world *w, const char *vg, const char *lv)
{
    for (int i = 0; i < FAKE_MAX_VOLS; i++)
        if (w->vols[i].used && strcmp(w->vols[i].v.vg, vg) == 0 && strcmp(w->vols[i].v.lv, lv) == 0)
            return &w->vols[i];
    return NULL;
}

static struct fake_vol *vol_new(struct fake_world *w)
{
    for (int i = 0; i < FAKE_MAX_VOLS; i++)
        if (!w->vols[i].used) {
            memset(&w->vols[i], 0, sizeof(w->vols[i]));
            w->vols[i].used = 1;
            return &w->vols[i];
        }
    return NULL;
}

static int disk_inspect(void *self, const char *target, struct xlcp_volume *out,
                        struct xlcp_err *err)
{
    struct fake_world *w = self;

    FAULT(w, "disk.inspect");
    for (int i = 0; i < FAKE_MAX_VOLS; i++)
        if (w->vols[i].used && strcmp(w->vols[i].v.path, target) == 0) {
            *out = w->vols[i].v;
            return 0;
        }
    return xlcp_err_set(err, XLCP_EUNSUPPORTED, "%s is not an LVM logical volume", target);
}

static uint64_t snap_size(const struct xlcp_volume *v)
{
    return v->thin ? 0 : v->size_bytes / 5;
}

static int disk_check_space(void *self, const struct xlcp_volume *vols, int n, const char *policy,
                            struct xlcp_err *err)
{
    struct fake_world *w = self;
    uint64_t need = 0;

    (void)policy;
    FAULT(w, "disk.check_space");
    for (int i = 0; i < n; i++)
        need += snap_size(&vols[i]);
    if (need > w->vg_free_bytes)
        return xlcp_err_set(err, XLCP_ENOSPC, "VG vg0 has %llu bytes free, snapshots need %llu",
                            (unsigned long long)w->vg_free_bytes, (unsigned long long)need);
    return 0;
}

/* A domain is suspended right now (captures must happen inside the pause). */
static int any_suspended(const struct fake_world *w)
{
    for (int i = 0; i < FAKE_MAX_DOMS; i++)
        if (w->doms[i].used && w->doms[i].suspended)
            return 1;
    return 0;
}

/* Thin: the snapshot volume is made at arm time (empty), filled at capture. Thick: it is
 * made at complete time; capture holds the origin's writes until then. */
static int disk_arm_locked(struct fake_world *w, const struct xlcp_volume *vol, const char *name,
                           const char *tag, struct xlcp_snapshot *out, struct xlcp_err *err);
static int disk_arm(void *self, const struct xlcp_volume *vol, const char *name, const char *policy,
                    const char *tag, struct xlcp_snapshot *out, struct xlcp_err *err)
{
    struct fake_world *w = self;
    int rc;

    (void)policy;
    logf_(w, "disk.arm %s/%s", vol->vg, vol->lv);
    FAULT(w, "disk.arm");
    if (w->arm_delay_ms)
        usleep(w->arm_delay_ms * 1000u); /* LVM taking its time */
    LOCK();
    rc = disk_arm_locked(w, vol, name, tag, out, err);
    UNLOCK();
    return rc;
}

static int disk_arm_locked(struct fake_world *w, const struct xlcp_volume *vol, const char *name,
                           const char *tag, struct xlcp_snapshot *out, struct xlcp_err *err)
{
    struct fake_vol *s;

    if (vol_by_name(w, vol->vg, name))
        return xlcp_err_set(err, XLCP_EDISK, "LV %s/%s exists", vol->vg, name);
    if (snap_size(vol) > w->vg_free_bytes)
        return xlcp_err_set(err, XLCP_ENOSPC, "VG full");
    memset(out, 0, sizeof(*out));
    snprintf(out->vdev, sizeof(out->vdev), "%s", vol->vdev);
    snprintf(out->vg, sizeof(out->vg), "%s", vol->vg);
    snprintf(out->lv, sizeof(out->lv), "%s", name);
    snprintf(out->origin_lv, sizeof(out->origin_lv), "%s", vol->lv);
    snprintf(out->path, sizeof(out->path), "/dev/%s/%s", vol->vg, name);
    out->thin = vol->thin;
    out->size_bytes = vol->thin ? vol->size_bytes : snap_size(vol);
    if (!vol->thin) {
        int i = w->narmed < FAKE_MAX_VOLS ? w->narmed++ : FAKE_MAX_VOLS - 1;
        snprintf(w->armed[i].lv, sizeof(w->armed[i].lv), "%s", name);
        snprintf(w->armed[i].tag, sizeof(w->armed[i].tag), "%s", tag);
        return 0;
    }
    s = vol_new(w);
    if (!s)
        return xlcp_err_set(err, XLCP_EINTERNAL, "fake VG table full");
    s->v = *vol;
    snprintf(s->v.lv, sizeof(s->v.lv), "%s", name);
    snprintf(s->v.path, sizeof(s->v.path), "%s", out->path);
    s->is_snapshot = 1;
    s->phase = 1;
    snprintf(s->tag, sizeof(s->tag), "%s", tag);
    snprintf(s->origin_lv, sizeof(s->origin_lv), "%s", vol->lv);
    return 0;
}

static int disk_capture_u(void *self, struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    struct fake_world *w = self;
    struct fake_vol *v;

    logf_(w, "disk.capture %s/%s", snap->vg, snap->origin_lv);
    FAULT(w, "disk.capture");
    if (!any_suspended(w))
        return xlcp_err_set(err, XLCP_EINTERNAL, "capture of %s while no guest is suspended",
                            snap->lv);
    v = vol_by_name(w, snap->vg, snap->origin_lv);
    if (!v)
        return xlcp_err_set(err, XLCP_ENOTFOUND, "no LV for %s", snap->lv);
    v->held = 1;
    if (snap->thin) {
        struct fake_vol *s = vol_by_name(w, snap->vg, snap->lv);
        if (!s)
            return xlcp_err_set(err, XLCP_ENOTFOUND, "no armed LV %s", snap->lv);
        s->phase = 2;
    }
    return 0;
}

static int disk_complete(void *self, struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    struct fake_world *w = self;
    struct fake_vol *o, *s;
    int rc = 0;

    logf_(w, "disk.complete %s/%s", snap->vg, snap->lv);
    FAULT(w, "disk.complete");
    pthread_mutex_lock(&fake_mu);
    if (snap->thin) {
        s = vol_by_name(w, snap->vg, snap->lv);
        o = vol_by_name(w, snap->vg, snap->origin_lv);
        if (!s || s->phase != 2 || !o || !o->held) {
            rc = xlcp_err_set(err, XLCP_EDISK, "%s was not captured", snap->lv);
        } else {
            s->phase = 3;
            o->held = 0;
            snap->held_ns = 1000000;
        }
        pthread_mutex_unlock(&fake_mu);
        return rc;
    }
    o = vol_by_name(w, snap->vg, snap->origin_lv);
    s = vol_new(w);
    if (!o || !o->held || !s) {
        if (s)
            s->used = 0;
        pthread_mutex_unlock(&fake_mu);
        return xlcp_err_set(err, XLCP_EDISK, "%s: origin not held or table full", snap->lv);
    }
    s->v = o->v;
    snprintf(s->v.lv, sizeof(s->v.lv), "%s", snap->lv);
    snprintf(s->v.path, sizeof(s->v.path), "%s", snap->path);
    s->is_snapshot = 1;
    s->phase = 3;
    for (int i = 0; i < w->narmed; i++)
        if (strcmp(w->armed[i].lv, snap->lv) == 0)
            snprintf(s->tag, sizeof(s->tag), "%s", w->armed[i].tag);
    snprintf(s->origin_lv, sizeof(s->origin_lv), "%s", snap->origin_lv);
    w->vg_free_bytes -= snap_size(&o->v);
    o->held = 0;
    snap->held_ns = 3000000;
    pthread_mutex_unlock(&fake_mu);
    return 0;
}

static int disk_release_u(void *self, struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    struct fake_world *w = self;
    struct fake_vol *o;

    logf_(w, "disk.release %s/%s", snap->vg, snap->origin_lv);
    FAULT(w, "disk.release");
    o = vol_by_name(w, snap->vg, snap->origin_lv);
    if (o)
        o->held = 0;
    return 0;
}

static int disk_remove_u(void *self, const struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    struct fake_world *w = self;
    struct fake_vol *s;

    logf_(w, "disk.remove %s/%s", snap->vg, snap->lv);
    FAULT(w, "disk.remove");
    s = vol_by_name(w, snap->vg, snap->lv);
    if (!s)
        return 0; /* absent (as LVM's adapter): a thick snapshot armed but never made */
    if (!s->tag[0])
        return xlcp_err_set(err, XLCP_EDISK, "refusing to remove untagged LV %s/%s", snap->vg,
                            snap->lv);
    w->vg_free_bytes += s->is_snapshot ? snap_size(&s->v) : s->v.size_bytes;
    memset(s, 0, sizeof(*s));
    return 0;
}

static int disk_exists_u(void *self, const struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    struct fake_world *w = self;

    FAULT(w, "disk.exists");
    return vol_by_name(w, snap->vg, snap->lv) ? 1 : 0;
}

static int disk_clone(void *self, const struct xlcp_snapshot *snap, const char *new_lv, char *path,
                      size_t len, struct xlcp_err *err)
{
    struct fake_world *w = self;
    struct fake_vol *src, *c;

    logf_(w, "disk.clone %s/%s %s", snap->vg, snap->lv, new_lv);
    FAULT(w, "disk.clone");
    src = vol_by_name(w, snap->vg, snap->lv);
    if (!src)
        return xlcp_err_set(err, XLCP_ENOTFOUND, "no LV %s/%s", snap->vg, snap->lv);
    if (vol_by_name(w, snap->vg, new_lv))
        return xlcp_err_set(err, XLCP_EDISK, "LV %s/%s exists", snap->vg, new_lv);
    c = vol_new(w);
    if (!c)
        return xlcp_err_set(err, XLCP_EINTERNAL, "fake VG table full");
    c->v = src->v;
    snprintf(c->v.lv, sizeof(c->v.lv), "%s", new_lv);
    snprintf(c->v.path, sizeof(c->v.path), "/dev/%s/%s", snap->vg, new_lv);
    snprintf(c->tag, sizeof(c->tag), "xlcp-restored");
    snprintf(path, len, "%s", c->v.path);
    return 0;
}

static int disk_remove_tagged(void *self, const char *tag, struct xlcp_err *err)
{
    struct fake_world *w = self;

    logf_(w, "disk.remove_tagged %s", tag);
    FAULT(w, "disk.remove_tagged");
    for (int i = 0; i < FAKE_MAX_VOLS; i++)
        if (w->vols[i].used && strcmp(w->vols[i].tag, tag) == 0) {
            w->vg_free_bytes += snap_size(&w->vols[i].v);
            memset(&w->vols[i], 0, sizeof(w->vols[i]));
        }
    return 0;
}

static int disk_check(void *self, const struct xlcp_snapshot *snap, char *why, size_t len,
                      struct xlcp_err *err)
{
    struct fake_world *w = self;
    struct fake_vol *s;

    logf_(w, "disk.check %s/%s", snap->vg, snap->lv);
    FAULT(w, "disk.check");
    s = vol_by_name(w, snap->vg, snap->lv);
    if (!s || s->invalid) {
        snprintf(why, len, "snapshot %s/%s is %s", snap->vg, snap->lv,
                 s ? "invalidated" : "missing");
        return 0;
    }
    return 1;
}

/* The ops above that touch the volume table, under the world's lock. */
static int disk_capture(void *self, struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    int rc;
    LOCK();
    rc = disk_capture_u(self, snap, err);
    UNLOCK();
    return rc;
}
static int disk_release(void *self, struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    int rc;
    LOCK();
    rc = disk_release_u(self, snap, err);
    UNLOCK();
    return rc;
}
static int disk_remove(void *self, const struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    int rc;
    LOCK();
    rc = disk_remove_u(self, snap, err);
    UNLOCK();
    return rc;
}
static int disk_exists(void *self, const struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    int rc;
    LOCK();
    rc = disk_exists_u(self, snap, err);
    UNLOCK();
    return rc;
}

static const struct xlcp_disk_ops fake_disk_ops = {
    .inspect = disk_inspect,
    .check_space = disk_check_space,
    .arm = disk_arm,
    .capture = disk_capture,
    .complete = disk_complete,
    .release = disk_release,
    .remove = disk_remove,
    .exists = disk_exists,
    .clone = disk_clone,
    .remove_tagged = disk_remove_tagged,
    .check = disk_check,
};

/* ---- store: the real catalog, with faults ---------------------------------------- */

struct fake_store {
    struct fake_world *w;
    struct xlcp_store real;
};

#define REAL(fs) ((fs)->real.ops)

static int st_lock(void *self, const char *uuid, struct xlcp_store_lock **out, struct xlcp_err *err)
{
    struct fake_store *fs = self;
    FAULT(fs->w, "store.lock");
    return REAL(fs)->lock(fs->real.self, uuid, out, err);
}
static void st_unlock(void *self, struct xlcp_store_lock *lock)
{
    struct fake_store *fs = self;
    REAL(fs)->unlock(fs->real.self, lock);
}
static int st_intent_write(void *self, const struct xlcp_intent *rec, struct xlcp_err *err)
{
    struct fake_store *fs = self;
    FAULT(fs->w, "store.intent_write");
    return REAL(fs)->intent_write(fs->real.self, rec, err);
}
static int st_intent_mark(void *self, const char *uuid, const char *id, enum xlcp_mark mark,
                          uint32_t domid, int64_t wall_ns, struct xlcp_err *err)
{
    struct fake_store *fs = self;
    FAULT(fs->w, "store.intent_mark");
    return REAL(fs)->intent_mark(fs->real.self, uuid, id, mark, domid, wall_ns, err);
}
static int st_leftovers(void *self, const char *uuid, struct xlcp_leftover **out, size_t *n,
                        struct xlcp_err *err)
{
    struct fake_store *fs = self;
    FAULT(fs->w, "store.leftovers");
    return REAL(fs)->leftovers(fs->real.self, uuid, out, n, err);
}
static int st_leftover_remove(void *self, const char *uuid, const char *id, struct xlcp_err *err)
{
    struct fake_store *fs = self;
    FAULT(fs->w, "store.leftover_remove");
    return REAL(fs)->leftover_remove(fs->real.self, uuid, id, err);
}
static int st_begin(void *self, const char *uuid, const char *id, struct xlcp_store_txn **out,
                    struct xlcp_err *err)
{
    struct fake_store *fs = self;
    FAULT(fs->w, "store.begin");
    return REAL(fs)->begin(fs->real.self, uuid, id, out, err);
}
static int st_create_file(void *self, struct xlcp_store_txn *txn, const char *name, int *fd,
                          struct xlcp_err *err)
{
    struct fake_store *fs = self;
    FAULT(fs->w, "store.create_file");
    return REAL(fs)->create_file(fs->real.self, txn, name, fd, err);
}
static int st_drop_file(void *self, struct xlcp_store_txn *txn, const char *name,
                        struct xlcp_err *err)
{
    struct fake_store *fs = self;
    FAULT(fs->w, "store.drop_file");
    return REAL(fs)->drop_file(fs->real.self, txn, name, err);
}
static int st_commit(void *self, struct xlcp_store_txn *txn, struct xlcp_err *err)
{
    struct fake_store *fs = self;
    int rc = fault(fs->w, "store.commit", err);
    if (rc) {
        /* commit frees the transaction either way: keep that contract. */
        REAL(fs)->abort(fs->real.self, txn, 0);
        return rc;
    }
    return REAL(fs)->commit(fs->real.self, txn, err);
}
static void st_abort(void *self, struct xlcp_store_txn *txn, int keep_dir)
{
    struct fake_store *fs = self;
    REAL(fs)->abort(fs->real.self, txn, keep_dir);
}
static int st_locate(void *self, const char *id, char *dir, size_t len, struct xlcp_err *err)
{
    struct fake_store *fs = self;
    return REAL(fs)->locate(fs->real.self, id, dir, len, err);
}
static int st_list(void *self, const char *uuid, char ***ids, size_t *n, struct xlcp_err *err)
{
    struct fake_store *fs = self;
    return REAL(fs)->list(fs->real.self, uuid, ids, n, err);
}
static int st_remove(void *self, const char *id, struct xlcp_err *err)
{
    struct fake_store *fs = self;
    FAULT(fs->w, "store.remove");
    return REAL(fs)->remove(fs->real.self, id, err);
}

static int st_free_bytes(void *self, uint64_t *out, char *where, size_t len, struct xlcp_err *err)
{
    struct fake_store *fs = self;
    FAULT(fs->w, "store.free_bytes");
    if (fs->w->catalog_free_bytes) {
        snprintf(where, len, "%s", fs->w->root);
        *out = fs->w->catalog_free_bytes;
        return 0;
    }
    return REAL(fs)->free_bytes(fs->real.self, out, where, len, err);
}

static int st_group_put(void *self, enum xlcp_group_kind kind, const char *gid, const char *text,
                        size_t len, struct xlcp_err *err)
{
    struct fake_store *fs = self;
    logf_(fs->w, "store.group_put %s", kind == XLCP_GROUP_MANIFEST ? "manifest" : "intent");
    FAULT(fs->w, "store.group_put");
    return REAL(fs)->group_put(fs->real.self, kind, gid, text, len, err);
}
static int st_group_get(void *self, enum xlcp_group_kind kind, const char *gid, char **text,
                        struct xlcp_err *err)
{
    struct fake_store *fs = self;
    FAULT(fs->w, "store.group_get");
    return REAL(fs)->group_get(fs->real.self, kind, gid, text, err);
}
static int st_group_drop(void *self, enum xlcp_group_kind kind, const char *gid,
                         struct xlcp_err *err)
{
    struct fake_store *fs = self;
    FAULT(fs->w, "store.group_drop");
    return REAL(fs)->group_drop(fs->real.self, kind, gid, err);
}
static int st_group_list(void *self, enum xlcp_group_kind kind, char ***gids, size_t *n,
                         struct xlcp_err *err)
{
    struct fake_store *fs = self;
    return REAL(fs)->group_list(fs->real.self, kind, gids, n, err);
}

static const struct xlcp_store_ops fake_store_ops = {
    .lock = st_lock,
    .unlock = st_unlock,
    .intent_write = st_intent_write,
    .intent_mark = st_intent_mark,
    .leftovers = st_leftovers,
    .leftover_remove = st_leftover_remove,
    .begin = st_begin,
    .create_file = st_create_file,
    .drop_file = st_drop_file,
    .commit = st_commit,
    .abort = st_abort,
    .locate = st_locate,
    .list = st_list,
    .remove = st_remove,
    .free_bytes = st_free_bytes,
    .group_put = st_group_put,
    .group_get = st_group_get,
    .group_drop = st_group_drop,
    .group_list = st_group_list,
};

/* ---- clock --------------------------------------------------------------------- */

static uint64_t ck_now(void *self)
{
    struct fake_world *w = self;
    uint64_t t;
    LOCK();
    t = w->now_ns; /* time moves only where a fake says an action takes time, or a sleep */
    UNLOCK();
    return t;
}
static int64_t ck_wall(void *self)
{
    struct fake_world *w = self;
    int64_t t;
    LOCK();
    t = w->wall_ns + (int64_t)w->now_ns;
    UNLOCK();
    return t;
}
static void ck_sleep(void *self, uint64_t ns)
{
    struct fake_world *w = self;
    LOCK();
    w->now_ns += ns;
    UNLOCK();
}

static const struct xlcp_clock_ops fake_clock_ops = {
    .now_ns = ck_now,
    .wall_ns = ck_wall,
    .sleep_ns = ck_sleep,
};

/* ---- world --------------------------------------------------------------------- */

void fake_world_attach(struct fake_world *w)
{
    struct fake_store *fs = calloc(1, sizeof(*fs));
    struct xlcp_err err;

    if (!fs)
        abort();
    /* the run directory (locks, suspend marks) of the newest world: every store of the
     * process shares it, as every catalog of a host shares /run/xl-checkpoint */
    snprintf(w->run_dir, sizeof(w->run_dir), "%s/.run", w->root);
    setenv("XLCP_RUN_DIR", w->run_dir, 1);
    xlcp_err_clear(&err);
    if (xlcp_store_fs_open(&fs->real, w->root, &err) != 0) {
        fprintf(stderr, "fake_world_attach: %s\n", err.msg);
        abort();
    }
    fs->w = w;
    w->ports.hv.ops = &fake_hv_ops;
    w->ports.hv.self = w;
    w->ports.disk.ops = &fake_disk_ops;
    w->ports.disk.self = w;
    w->ports.store.ops = &fake_store_ops;
    w->ports.store.self = fs;
    w->ports.clock.ops = &fake_clock_ops;
    w->ports.clock.self = w;
}

struct fake_world *fake_world_new(void)
{
    struct fake_world *w = calloc(1, sizeof(*w));

    if (!w)
        abort();
    snprintf(w->root, sizeof(w->root), "/tmp/xlcp-test-XXXXXX");
    if (!mkdtemp(w->root))
        abort();
    w->vg_free_bytes = 8ull << 30;
    w->wall_ns = 1795000000ll * 1000000000ll; /* 2026-11-18 */
    w->now_ns = 1000000000ull; /* monotonic time starts at 1 s: 0 would read as "unknown" */
    w->next_domid = 1;
    fake_world_attach(w);
    return w;
}

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;

    if (d) {
        while ((e = readdir(d)) != NULL) {
            char sub[1024];
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
            if (e->d_type == DT_DIR)
                rm_rf(sub);
            else
                unlink(sub);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

void fake_world_free(struct fake_world *w)
{
    struct fake_store *fs;

    if (!w)
        return;
    fs = w->ports.store.self;
    xlcp_store_fs_close(&fs->real);
    free(fs);
    if (!w->keep_root)
        rm_rf(w->root);
    free(w);
}

struct fake_dom *fake_add_domain(struct fake_world *w, const char *name, int ndisks)
{
    for (int i = 0; i < FAKE_MAX_DOMS; i++) {
        struct fake_dom *d = &w->doms[i];
        if (d->used)
            continue;
        memset(d, 0, sizeof(*d));
        d->used = 1;
        d->d.domid = w->next_domid++;
        snprintf(d->d.name, sizeof(d->d.name), "%s", name);
        snprintf(d->d.uuid, sizeof(d->d.uuid), "00000000-0000-4000-8000-%012x", d->d.domid);
        d->d.state = XLCP_DOM_RUNNING;
        d->d.pv = 1;
        d->d.memory_kib = 256 * 1024;
        d->memory_pattern = (uint64_t)i * 7u;
        for (int k = 0; k < ndisks; k++) {
            char vdev[16];
            snprintf(vdev, sizeof(vdev), "xvd%c", 'a' + k);
            fake_add_disk(w, d, vdev, 1, 0);
        }
        return d;
    }
    return NULL;
}

void fake_add_disk(struct fake_world *w, struct fake_dom *d, const char *vdev, int lvm, int thin)
{
    struct xlcp_disk_spec *ds = &d->d.disks[d->d.ndisks];

    snprintf(ds->vdev, sizeof(ds->vdev), "%s", vdev);
    ds->readwrite = 1;
    if (lvm) {
        struct fake_vol *v = vol_new(w);
        if (!v)
            abort();
        snprintf(v->v.vg, sizeof(v->v.vg), "vg0");
        char lv[XLCP_NAME_MAX];
        snprintf(lv, sizeof(lv), "%s-%s", d->d.name, vdev);
        snprintf(v->v.lv, sizeof(v->v.lv), "%s", lv);
        snprintf(v->v.path, sizeof(v->v.path), "/dev/vg0/%s", lv);
        v->v.thin = thin;
        v->v.size_bytes = 1ull << 30;
        snprintf(ds->target, sizeof(ds->target), "%s", v->v.path);
    } else {
        snprintf(ds->target, sizeof(ds->target), "/var/lib/images/%s-%s.img", d->d.name, vdev);
    }
    d->d.ndisks++;
}

int fake_held_count(const struct fake_world *w)
{
    int n = 0;

    for (int i = 0; i < FAKE_MAX_VOLS; i++)
        n += w->vols[i].used && w->vols[i].held;
    return n;
}

int fake_snapshot_count(const struct fake_world *w)
{
    int n = 0;
    for (int i = 0; i < FAKE_MAX_VOLS; i++)
        if (w->vols[i].used && w->vols[i].is_snapshot)
            n++;
    return n;
}

int fake_catalog_entries(const struct fake_world *w)
{
    DIR *root = opendir(w->root);
    struct dirent *e;
    int n = 0;

    if (!root)
        return -1;
    while ((e = readdir(root)) != NULL) {
        char sub[1024];
        DIR *d;
        struct dirent *f;
        if (e->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", w->root, e->d_name);
        d = opendir(sub);
        if (!d)
            continue;
        while ((f = readdir(d)) != NULL)
            if (strcmp(f->d_name, ".") != 0 && strcmp(f->d_name, "..") != 0 &&
                strcmp(f->d_name, ".lock") != 0)
                n++;
        closedir(d);
    }
    closedir(root);
    return n;
}
