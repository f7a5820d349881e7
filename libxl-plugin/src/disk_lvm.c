/*
 * disk_lvm.c - the `disk` port on LVM2: which disks are logical volumes, whether their
 * snapshots fit, thick and thin snapshots tagged as ours, removal, restore clones.
 *
 * LVM is driven through its command line (`lvm <subcommand>`, machine-readable output
 * only), never through a shell: the binary is $XLCP_LVM or `lvm`. Every call runs under
 * a watchdog ($XLCP_LVM_TIMEOUT seconds, default 120: `lvcreate -s` has been seen to hang
 * under emulation): past it the child gets SIGTERM, then SIGKILL, and the error names the
 * command. Nothing here removes a volume that does not carry an "xlcp-" tag.
 *
 * Snapshots are armed, captured and completed (ports.h). Inside the guest's pause only
 * device-mapper ioctls run (disk_dm.c), never LVM's command line:
 *   thin   arm: `lvcreate -an -V <size> -T <pool>` makes an empty thin volume with its own
 *          id in the origin's pool (LVM metadata written now, while the guest runs);
 *          capture: the origin is suspended (one ioctl; the guest's writes wait in dom0);
 *          complete, with the guest running again: the pool is told "delete <id>" and
 *          "create_snap <id> <origin id>": the volume LVM knows is now a snapshot of the
 *          origin at the captured instant (the pool's transaction id, which LVM checks,
 *          is untouched); the origin resumes, and a flush of it commits the pool's
 *          metadata. Writes are held for tens of milliseconds; the wait is recorded.
 *   thick  capture: the origin is suspended, so the guest's writes wait in dom0 while
 *          the guest runs on; complete: `lvcreate -s` of the suspended origin (LVM finds
 *          it suspended already and resumes it with its snapshot in place), so the
 *          snapshot holds the instant and no write is lost; the wait is recorded.
 *          (Thin volumes cannot take that path: LVM's thin snapshot needs to suspend the
 *          origin itself, and fails on a suspended one.)
 * A guardian process (disk_dm.c) resumes held devices and puts back a half re-pointed
 * thin volume if we die between capture and complete.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "disk_dm.h"
#include "ports.h"

#define OUT_MAX (64 * 1024)
#define TAG_PREFIX "xlcp-"
#define CLONE_TAG "xlcp-restored"

/* What the adapter knows of a snapshot between arm and complete. */
struct pending {
    int used;
    char vg[XLCP_NAME_MAX];
    char lv[XLCP_NAME_MAX]; /* the snapshot */
    char tag[128];
    int thin;
    dev_t origin; /* the origin's device */
    dev_t pool;   /* thin: the pool's device */
    uint32_t id;  /* thin: the armed volume's device id in the pool */
    uint32_t origin_id;
    char cow[32]; /* thick: COW size argument for lvcreate */
    int held;     /* thick: the origin is suspended by us */
    uint64_t held_at_ns;
};

struct lvm {
    char bin[XLCP_PATH_MAX];
    char devdir[XLCP_PATH_MAX]; /* /dev, overridable for tests ($XLCP_LVM_DEVDIR) */
    unsigned timeout_s;
    struct pending pend[XLCP_MAX_DISKS];
    struct xlcp_dm_guardian guard;
};

struct result {
    int status; /* exit status, or -1 if killed */
    char out[OUT_MAX];
    size_t outlen;
    char errtext[OUT_MAX];
    size_t errlen;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Last non-empty line of stderr, trimmed, for error messages. */
static const char *last_line(struct result *r)
{
    char *s = r->errtext;
    size_t n = r->errlen;

    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    char *nl = strrchr(s, '\n');
    s = nl ? nl + 1 : s;
    while (isspace((unsigned char)*s))
        s++;
    return *s ? s : "(no message)";
}

static void describe(char *buf, size_t len, char *const argv[])
{
    size_t at = 0;

    buf[0] = '\0';
    for (int i = 0; argv[i] && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? " " : "", argv[i]);
}

static void drain(int *fd, char *buf, size_t *len)
{
    char tmp[4096];
    ssize_t n = read(*fd, tmp, sizeof(tmp));

    if (n > 0) {
        size_t room = OUT_MAX - 1 - *len;
        size_t take = (size_t)n < room ? (size_t)n : room;
        memcpy(buf + *len, tmp, take);
        *len += take;
        buf[*len] = '\0';
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(*fd);
        *fd = -1;
    }
}

/* Runs `lvm argv...` under the watchdog. 0 if it ran and exited 0; otherwise an error
 * (XLCP_EDISK with its stderr, XLCP_ETIMEDOUT). With `quiet_fail`, a non-zero exit is
 * returned as 1 without setting err (the caller inspects r). */
static int run_lvm(struct lvm *l, char *const args[], struct result *r, int quiet_fail,
                   struct xlcp_err *err)
{
    char *argv[32];
    char what[512];
    int out[2] = {-1, -1}, errp[2] = {-1, -1};
    int argc = 0, wstatus = 0, killed = 0;
    uint64_t deadline, term_at = 0;
    pid_t pid;

    argv[argc++] = l->bin;
    for (int i = 0; args[i] && argc < 31; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    describe(what, sizeof(what), argv);
    memset(r, 0, sizeof(*r));

    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
        int e = errno;
        if (out[0] >= 0) {
            close(out[0]);
            close(out[1]);
        }
        return xlcp_err_errno(err, e, "pipe for %s", what);
    }
    pid = fork();
    if (pid < 0) {
        int e = errno;
        close(out[0]), close(out[1]), close(errp[0]), close(errp[1]);
        return xlcp_err_errno(err, e, "fork for %s", what);
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(out[1], 1);
        dup2(errp[1], 2);
        setenv("LVM_SUPPRESS_FD_WARNINGS", "1", 1);
        setenv("LC_ALL", "C", 1);
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(out[1]);
    close(errp[1]);

    deadline = mono_ms() + (uint64_t)l->timeout_s * 1000u;
    for (;;) {
        struct pollfd pf[2];
        int n = 0, timeout;
        uint64_t t = mono_ms();

        if (out[0] >= 0)
            pf[n++] = (struct pollfd){.fd = out[0], .events = POLLIN};
        if (errp[0] >= 0)
            pf[n++] = (struct pollfd){.fd = errp[0], .events = POLLIN};
        if (n == 0)
            break;
        if (!killed && t >= deadline) {
            kill(pid, SIGTERM);
            killed = 1;
            term_at = t;
        }
        if (killed == 1 && t >= term_at + 5000) {
            kill(pid, SIGKILL);
            killed = 2;
        }
        if (killed == 2 && t >= term_at + 10000)
            break; /* a child in D state may keep its pipes: stop reading */
        timeout = killed ? 200 : (int)(deadline - t < 200 ? deadline - t + 1 : 200);
        if (poll(pf, (nfds_t)n, timeout) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (pf[i].fd == out[0])
                drain(&out[0], r->out, &r->outlen);
            else
                drain(&errp[0], r->errtext, &r->errlen);
        }
    }
    if (out[0] >= 0)
        close(out[0]);
    if (errp[0] >= 0)
        close(errp[0]);
    for (;;) {
        pid_t w = waitpid(pid, &wstatus, killed == 2 ? WNOHANG : 0);
        if (w == pid || (w < 0 && errno != EINTR))
            break;
        if (w == 0) { /* SIGKILLed but not reaped yet */
            struct timespec ts = {0, 50000000L};
            nanosleep(&ts, NULL);
            if (mono_ms() > term_at + 15000)
                break;
        }
    }
    if (killed)
        return xlcp_err_set(err, XLCP_ETIMEDOUT, "%s did not finish within %u s (killed)", what,
                            l->timeout_s);
    r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
    if (r->status == 0)
        return 0;
    if (quiet_fail)
        return 1;
    if (r->status == 127 && strstr(r->errtext, "cannot run"))
        return xlcp_err_set(err, XLCP_EDISK, "%s", last_line(r));
    return xlcp_err_set(err, XLCP_EDISK, "%s failed (exit %d): %s", what, r->status, last_line(r));
}

/* ---- names ------------------------------------------------------------------------ */

static int valid_name(const char *s)
{
    if (!*s || *s == '-' || strlen(s) >= XLCP_NAME_MAX)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("+_.-", *s))
            return 0;
    return 1;
}

static int valid_tag(const char *s)
{
    if (!*s || strlen(s) >= 128)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("+_.:-", *s))
            return 0;
    return 1;
}

/* /dev/mapper/<vg>-<lv> with dashes doubled inside the names. */
static int split_mapper(const char *name, char *vg, char *lv)
{
    size_t vi = 0, li = 0;
    const char *p = name;

    for (; *p; p++) {
        if (*p == '-') {
            if (p[1] == '-') {
                vg[vi++] = '-';
                p++;
                continue;
            }
            p++;
            break;
        }
        if (vi + 1 >= XLCP_NAME_MAX)
            return 0;
        vg[vi++] = *p;
    }
    vg[vi] = '\0';
    if (!*p && p[-1] != '-')
        return 0;
    for (; *p; p++) {
        if (*p == '-') {
            if (p[1] != '-')
                return 0; /* a third component: not a plain LV */
            p++;
        }
        if (li + 1 >= XLCP_NAME_MAX)
            return 0;
        lv[li++] = *p;
    }
    lv[li] = '\0';
    return vi > 0 && li > 0;
}

static int parse_target(const char *target, char *vg, char *lv)
{
    const char *p = target;
    const char *slash;

    if (strncmp(p, "phy:", 4) == 0)
        p += 4;
    if (strncmp(p, "/dev/mapper/", 12) == 0)
        return split_mapper(p + 12, vg, lv) && valid_name(vg) && valid_name(lv);
    if (strncmp(p, "/dev/", 5) != 0)
        return 0;
    p += 5;
    slash = strchr(p, '/');
    if (!slash || strchr(slash + 1, '/') || (size_t)(slash - p) >= XLCP_NAME_MAX ||
        strlen(slash + 1) >= XLCP_NAME_MAX)
        return 0;
    memcpy(vg, p, (size_t)(slash - p));
    vg[slash - p] = '\0';
    strcpy(lv, slash + 1);
    /* /dev/sda/..., /dev/disk/by-id/...: not a VG; lvs decides below */
    return valid_name(vg) && valid_name(lv);
}

/* ---- lvs -------------------------------------------------------------------------- */

struct lvinfo {
    char vg[XLCP_NAME_MAX];
    char lv[XLCP_NAME_MAX];
    uint64_t size;
    char segtype[32];
    char pool[XLCP_NAME_MAX];
    char tags[256];
    char origin[XLCP_NAME_MAX];
    uint64_t thin_id; /* 0 if not a thin volume */
    uint64_t vg_free;
};

static void trim(char *s)
{
    char *p = s;
    size_t n;

    while (isspace((unsigned char)*p))
        p++;
    memmove(s, p, strlen(p) + 1);
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
}

/* Splits one "a|b|c" line into at most max fields (in place). */
static int split_fields(char *line, char **f, int max)
{
    int n = 0;

    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == '|') {
            *p = '\0';
            f[n++] = p + 1;
        }
    for (int i = 0; i < n; i++)
        trim(f[i]);
    return n;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || (*end && *end != '.'))
        return -1;
    *out = v;
    return 0;
}

/* lvs of one volume: 1 found, 0 absent, <0 error. */
static int lv_info(struct lvm *l, const char *vg, const char *lv, struct lvinfo *out,
                   struct xlcp_err *err)
{
    char name[2 * XLCP_NAME_MAX + 2];
    char *args[] = {"lvs",
                    "--noheadings",
                    "--nosuffix",
                    "--units",
                    "b",
                    "--separator",
                    "|",
                    "-o",
                    "vg_name,lv_name,lv_size,segtype,pool_lv,lv_tags,origin,thin_id,vg_free",
                    name,
                    NULL};
    struct result *r = malloc(sizeof(*r));
    char *f[10];
    int rc;

    if (!r)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    snprintf(name, sizeof(name), "%s/%s", vg, lv);
    rc = run_lvm(l, args, r, 1, err);
    if (rc < 0) {
        free(r);
        return rc;
    }
    if (rc == 1) {
        if (strstr(r->errtext, "not found") || strstr(r->errtext, "Failed to find") ||
            strstr(r->errtext, "does not exist")) {
            free(r);
            return 0;
        }
        rc = xlcp_err_set(err, XLCP_EDISK, "lvm lvs %s failed (exit %d): %s", name, r->status,
                          last_line(r));
        free(r);
        return rc;
    }
    char *nl = strchr(r->out, '\n');
    if (nl)
        *nl = '\0';
    if (split_fields(r->out, f, 9) != 9 || parse_u64(f[2], &out->size) != 0 ||
        parse_u64(f[8], &out->vg_free) != 0) {
        rc = xlcp_err_set(err, XLCP_EDISK, "lvm lvs %s: unexpected output '%.80s'", name, r->out);
        free(r);
        return rc;
    }
    snprintf(out->vg, sizeof(out->vg), "%s", f[0]);
    snprintf(out->lv, sizeof(out->lv), "%s", f[1]);
    snprintf(out->segtype, sizeof(out->segtype), "%s", f[3]);
    snprintf(out->pool, sizeof(out->pool), "%s", f[4]);
    snprintf(out->tags, sizeof(out->tags), "%s", f[5]);
    snprintf(out->origin, sizeof(out->origin), "%s", f[6]);
    out->thin_id = 0;
    if (f[7][0] && parse_u64(f[7], &out->thin_id) != 0)
        out->thin_id = 0;
    free(r);
    return 1;
}

static int has_our_tag(const char *tags)
{
    char buf[256];
    char *save = NULL;

    snprintf(buf, sizeof(buf), "%s", tags);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (strncmp(t, TAG_PREFIX, strlen(TAG_PREFIX)) == 0)
            return 1;
    return 0;
}

/* ---- the port --------------------------------------------------------------------- */

static int lvm_inspect(void *self, const char *target, struct xlcp_volume *out,
                       struct xlcp_err *err)
{
    struct lvm *l = self;
    struct lvinfo info;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!parse_target(target, out->vg, out->lv))
        return xlcp_err_set(err, XLCP_EUNSUPPORTED, "'%s' is not an LVM logical volume", target);
    rc = lv_info(l, out->vg, out->lv, &info, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return xlcp_err_set(err, XLCP_EUNSUPPORTED,
                            "'%s' is not an LVM logical volume (no LV %s/%s)", target, out->vg,
                            out->lv);
    out->vg_free_bytes = info.vg_free;
    snprintf(out->path, sizeof(out->path), "%s", target);
    out->thin = strcmp(info.segtype, "thin") == 0;
    out->size_bytes = info.size;
    if (out->thin)
        snprintf(out->pool, sizeof(out->pool), "%s", info.pool);
    if (info.origin[0] && !out->thin)
        return xlcp_err_set(err, XLCP_EUNSUPPORTED,
                            "'%s' is itself a thick snapshot (of %s); snapshots of snapshots "
                            "are not supported",
                            target, info.origin);
    return 0;
}

/* Bytes of the COW area for a thick snapshot of `size` bytes under `policy`. */
static int cow_bytes(const char *policy, uint64_t size, uint64_t *out, struct xlcp_err *err)
{
    char *end;
    double v;

    if (!policy || !*policy)
        policy = "20%";
    errno = 0;
    v = strtod(policy, &end);
    if (errno || end == policy || v <= 0)
        return xlcp_err_set(err, XLCP_EINVAL, "bad snapshot size '%s'", policy);
    if (*end == '%' && end[1] == '\0') {
        if (v > 100)
            return xlcp_err_set(err, XLCP_EINVAL, "bad snapshot size '%s' (over 100%%)", policy);
        *out = (uint64_t)((double)size * v / 100.0);
    } else {
        uint64_t mult = 1;
        switch (toupper((unsigned char)*end)) {
        case '\0':
            mult = 1;
            break;
        case 'K':
            mult = 1ull << 10;
            break;
        case 'M':
            mult = 1ull << 20;
            break;
        case 'G':
            mult = 1ull << 30;
            break;
        case 'T':
            mult = 1ull << 40;
            break;
        default:
            return xlcp_err_set(err, XLCP_EINVAL, "bad snapshot size '%s'", policy);
        }
        if (*end) {
            end++;
            if (toupper((unsigned char)*end) == 'I')
                end++;
            if (toupper((unsigned char)*end) == 'B')
                end++;
        }
        if (*end)
            return xlcp_err_set(err, XLCP_EINVAL, "bad snapshot size '%s'", policy);
        *out = (uint64_t)(v * (double)mult);
    }
    /* LVM's smallest useful COW: one 4 MiB extent; round up to 512-byte sectors */
    if (*out < (4u << 20))
        *out = 4u << 20;
    *out = (*out + 511) & ~(uint64_t)511;
    return 0;
}

static int lvm_check_space(void *self, const struct xlcp_volume *vols, int n, const char *policy,
                           struct xlcp_err *err)
{
    (void)self;
    for (int i = 0; i < n; i++) {
        uint64_t need = 0, have = 0;
        int rc, seen = 0;

        for (int j = 0; j < i; j++)
            seen |= strcmp(vols[j].vg, vols[i].vg) == 0;
        if (seen)
            continue;
        for (int j = i; j < n; j++) {
            uint64_t b;
            if (strcmp(vols[j].vg, vols[i].vg) != 0 || vols[j].thin)
                continue;
            rc = cow_bytes(policy, vols[j].size_bytes, &b, err);
            if (rc)
                return rc;
            need += b;
        }
        if (need == 0)
            continue;                 /* thin snapshots take no room up front */
        have = vols[i].vg_free_bytes; /* as inspect() saw it, a moment ago */
        if (have < need)
            return xlcp_err_set(err, XLCP_ENOSPC,
                                "volume group %s has %" PRIu64 " MiB free, the snapshots need "
                                "%" PRIu64 " MiB",
                                vols[i].vg, have >> 20, (need + (1u << 20) - 1) >> 20);
    }
    return 0;
}

static struct pending *pending_of(struct lvm *l, const struct xlcp_snapshot *snap)
{
    for (int i = 0; i < XLCP_MAX_DISKS; i++)
        if (l->pend[i].used && strcmp(l->pend[i].vg, snap->vg) == 0 &&
            strcmp(l->pend[i].lv, snap->lv) == 0)
            return &l->pend[i];
    return NULL;
}

static int lvm_arm(void *self, const struct xlcp_volume *vol, const char *snap_name,
                   const char *policy, const char *tag, struct xlcp_snapshot *out,
                   struct xlcp_err *err)
{
    struct lvm *l = self;
    struct pending *pd = NULL;
    char path[XLCP_PATH_MAX + 2 * XLCP_NAME_MAX];
    struct lvinfo info;
    int rc;

    if (!valid_name(snap_name) || !valid_tag(tag) || !valid_name(vol->vg) || !valid_name(vol->lv))
        return xlcp_err_set(err, XLCP_EINVAL, "bad snapshot name '%s' or tag '%s'", snap_name, tag);
    for (int i = 0; i < XLCP_MAX_DISKS && !pd; i++)
        if (!l->pend[i].used)
            pd = &l->pend[i];
    if (!pd)
        return xlcp_err_set(err, XLCP_EINTERNAL, "too many snapshots under way");
    memset(pd, 0, sizeof(*pd));
    memset(out, 0, sizeof(*out));
    /* named from the start: a failure below may leave the volume, and remove() finds it */
    snprintf(out->vg, sizeof(out->vg), "%s", vol->vg);
    snprintf(out->lv, sizeof(out->lv), "%s", snap_name);
    snprintf(out->origin_lv, sizeof(out->origin_lv), "%s", vol->lv);
    snprintf(pd->vg, sizeof(pd->vg), "%s", vol->vg);
    snprintf(pd->lv, sizeof(pd->lv), "%s", snap_name);
    snprintf(pd->tag, sizeof(pd->tag), "%s", tag);
    pd->thin = vol->thin;
    snprintf(path, sizeof(path), "%s/%s/%s", l->devdir, vol->vg, vol->lv);
    rc = xlcp_dm_devno(path, &pd->origin, err);
    if (rc)
        return xlcp_err_prefix(err, "origin of %s/%s (is it active?)", vol->vg, vol->lv);
    rc = xlcp_dm_guardian_start(&l->guard, err);
    if (rc)
        return rc;

    if (vol->thin) {
        char pool[2 * XLCP_NAME_MAX + 2], size[32];
        struct result *r;

        rc = xlcp_dm_thin_info(pd->origin, &pd->pool, &pd->origin_id, err);
        if (rc)
            return xlcp_err_prefix(err, "%s/%s", vol->vg, vol->lv);
        if (!vol->pool[0] || !valid_name(vol->pool))
            return xlcp_err_set(err, XLCP_EDISK, "thin volume %s/%s has no pool", vol->vg, vol->lv);
        snprintf(pool, sizeof(pool), "%s/%s", vol->vg, vol->pool);
        snprintf(size, sizeof(size), "%" PRIu64 "b", vol->size_bytes);
        /* an empty thin volume of the origin's size, inactive: only its id is needed */
        char *args[] = {"lvcreate", "-q",        "-y", "-an", "-V",
                        size,       "-T",        pool, "-n",  (char *)snap_name,
                        "--addtag", (char *)tag, NULL};
        r = malloc(sizeof(*r));
        if (!r)
            return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
        rc = run_lvm(l, args, r, 0, err);
        free(r);
        if (rc)
            return rc;
        pd->used = 1; /* from here on, remove() cleans up */
        rc = lv_info(l, vol->vg, snap_name, &info, err);
        if (rc <= 0)
            return rc < 0 ? rc
                          : xlcp_err_set(err, XLCP_EDISK, "new volume %s/%s not found", vol->vg,
                                         snap_name);
        if (info.thin_id == 0 || info.thin_id > UINT32_MAX)
            return xlcp_err_set(err, XLCP_EDISK, "new thin volume %s/%s has no device id", vol->vg,
                                snap_name);
        pd->id = (uint32_t)info.thin_id;
        out->size_bytes = vol->size_bytes;
    } else {
        uint64_t b;
        rc = cow_bytes(policy, vol->size_bytes, &b, err);
        if (rc)
            return rc;
        snprintf(pd->cow, sizeof(pd->cow), "%" PRIu64 "b", b);
        pd->used = 1;
        out->size_bytes = b;
    }
    snprintf(out->path, sizeof(out->path), "%s/%s/%s", l->devdir, vol->vg, snap_name);
    snprintf(out->vdev, sizeof(out->vdev), "%s", vol->vdev);
    out->thin = vol->thin;
    return 0;
}

/* Inside the pause: one ioctl per disk. The origin is suspended (device-mapper lets the
 * requests under way finish and holds new ones), so its content is fixed at this
 * instant; the rest (complete) runs once the guest runs again. */
static int lvm_capture(void *self, struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    struct lvm *l = self;
    struct pending *pd = pending_of(l, snap);
    int rc;

    if (!pd)
        return xlcp_err_set(err, XLCP_EINTERNAL, "snapshot %s/%s was not armed", snap->vg,
                            snap->lv);
    xlcp_dm_guardian_held(&l->guard, pd->origin);
    rc = xlcp_dm_suspend(pd->origin, err);
    if (rc) {
        xlcp_dm_guardian_released(&l->guard, pd->origin);
        return rc;
    }
    pd->held = 1;
    pd->held_at_ns = mono_ns();
    return 0;
}

/* Thin, origin held: the pool turns the armed volume's id into a snapshot of the origin
 * as it is now (delete + create_snap; LVM's transaction id is untouched). */
static int thin_repoint(struct lvm *l, struct pending *pd, struct xlcp_err *err)
{
    char msg[64];
    int rc;

    xlcp_dm_guardian_repoint(&l->guard, pd->pool, pd->id);
    snprintf(msg, sizeof(msg), "delete %" PRIu32, pd->id);
    rc = xlcp_dm_message(pd->pool, msg, err);
    if (rc == 0) {
        snprintf(msg, sizeof(msg), "create_snap %" PRIu32 " %" PRIu32, pd->id, pd->origin_id);
        rc = xlcp_dm_message(pd->pool, msg, err);
        if (rc) {
            /* put back what LVM's metadata describes: a plain thin volume with that id */
            struct xlcp_err e2;
            xlcp_err_clear(&e2);
            snprintf(msg, sizeof(msg), "create_thin %" PRIu32, pd->id);
            if (xlcp_dm_message(pd->pool, msg, &e2) != 0)
                xlcp_err_prefix(err, "thin volume %s/%s lost its device (%s); snapshot", pd->vg,
                                pd->lv, e2.msg);
        }
    }
    xlcp_dm_guardian_repointed(&l->guard, pd->pool, pd->id);
    return rc;
}

static int lvm_release(void *self, struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    struct lvm *l = self;
    struct pending *pd = pending_of(l, snap);
    int rc;

    if (!pd || !pd->held)
        return 0;
    rc = xlcp_dm_is_suspended(pd->origin, err);
    if (rc == 1)
        rc = xlcp_dm_resume(pd->origin, err);
    if (rc < 0)
        return rc;
    pd->held = 0;
    snap->held_ns = mono_ns() - pd->held_at_ns;
    xlcp_dm_guardian_released(&l->guard, pd->origin);
    return 0;
}

/* Thick, origin held: `lvcreate -s` of it (LVM takes it as suspended and resumes it with
 * the snapshot in place, so no held write reaches the snapshot). */
static int thick_snapshot(struct lvm *l, struct pending *pd, const char *origin,
                          struct xlcp_err *err)
{
    char *args[] = {"lvcreate", "-q",   "-y",       "-s",    "-L",           pd->cow,
                    "-n",       pd->lv, "--addtag", pd->tag, (char *)origin, NULL};
    struct result *r = malloc(sizeof(*r));
    int rc;

    if (!r)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    rc = run_lvm(l, args, r, 0, err);
    free(r);
    return rc;
}

/* After the pause, with the guest running (its writes to the origin held meanwhile). */
static int lvm_complete(void *self, struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    struct lvm *l = self;
    struct pending *pd = pending_of(l, snap);
    char origin[2 * XLCP_NAME_MAX + 2], path[XLCP_PATH_MAX + 2 * XLCP_NAME_MAX];
    struct xlcp_err e2;
    int rc, fd;

    if (!pd)
        return xlcp_err_set(err, XLCP_EINTERNAL, "snapshot %s/%s was not armed", snap->vg,
                            snap->lv);
    snprintf(origin, sizeof(origin), "%s/%s", snap->vg, snap->origin_lv);
    if (!pd->held)
        return xlcp_err_set(err, XLCP_EINTERNAL, "origin %s was not captured", origin);
    rc = pd->thin ? thin_repoint(l, pd, err) : thick_snapshot(l, pd, origin, err);
    /* the held writes flow again, whatever happened */
    xlcp_err_clear(&e2);
    if (lvm_release(l, snap, &e2) != 0 && rc == 0) {
        *err = e2;
        rc = e2.code;
    }
    if (rc == 0 && pd->thin) {
        /* a flush of the origin makes the pool commit its metadata, our new snapshot
         * with it: before, a crash would bring back the empty volume */
        snprintf(path, sizeof(path), "%s/%s/%s", l->devdir, snap->vg, snap->origin_lv);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return xlcp_err_errno(err, errno, "open %s", path);
        rc = fsync(fd) == 0 ? 0 : xlcp_err_errno(err, errno, "flush of %s", path);
        close(fd);
    }
    if (rc == 0)
        pd->used = 0;
    return rc;
}

static int lv_remove(struct lvm *l, const char *vg, const char *lv, struct xlcp_err *err)
{
    char name[2 * XLCP_NAME_MAX + 2];
    char *args[] = {"lvremove", "-q", "-f", "-y", name, NULL};
    struct result *r = malloc(sizeof(*r));
    int rc;

    if (!r)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    snprintf(name, sizeof(name), "%s/%s", vg, lv);
    rc = run_lvm(l, args, r, 0, err);
    free(r);
    return rc;
}

static int lvm_remove(void *self, const struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    struct lvm *l = self;
    struct pending *pd = pending_of(l, snap);
    struct lvinfo info;
    int rc;

    if (pd && pd->held) {
        rc = lvm_release(l, (struct xlcp_snapshot *)snap, err);
        if (rc)
            return rc;
    }
    if (pd)
        pd->used = 0;
    if (!valid_name(snap->vg) || !valid_name(snap->lv))
        return xlcp_err_set(err, XLCP_EINVAL, "bad volume name %s/%s", snap->vg, snap->lv);
    rc = lv_info(l, snap->vg, snap->lv, &info, err);
    if (rc <= 0)
        return rc; /* absent: nothing to do */
    if (!has_our_tag(info.tags))
        return xlcp_err_set(err, XLCP_EINVAL,
                            "refusing to remove %s/%s: not created by xl-checkpoint (tags '%s')",
                            snap->vg, snap->lv, info.tags);
    return lv_remove(l, snap->vg, snap->lv, err);
}

static int lvm_exists(void *self, const struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    struct lvm *l = self;
    struct lvinfo info;

    if (!valid_name(snap->vg) || !valid_name(snap->lv))
        return xlcp_err_set(err, XLCP_EINVAL, "bad volume name %s/%s", snap->vg, snap->lv);
    return lv_info(l, snap->vg, snap->lv, &info, err);
}

static int copy_volume(const char *from, const char *to, struct xlcp_err *err)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = in >= 0 ? open(to, O_WRONLY | O_CLOEXEC) : -1;
    size_t bufsz = 1u << 20;
    char *buf = malloc(bufsz);
    int rc = 0;

    if (in < 0 || out < 0 || !buf) {
        rc = xlcp_err_errno(err, buf ? errno : ENOMEM, "open %s", in < 0 ? from : to);
        goto done;
    }
    for (;;) {
        ssize_t n = read(in, buf, bufsz);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = xlcp_err_errno(err, errno, "read %s", from);
            break;
        }
        if (n == 0)
            break;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                rc = xlcp_err_errno(err, w < 0 ? errno : ENOSPC, "write %s", to);
                goto done;
            }
            done += w;
        }
    }
    if (rc == 0 && fsync(out) != 0)
        rc = xlcp_err_errno(err, errno, "fsync %s", to);
done:
    free(buf);
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) != 0 && rc == 0)
        rc = xlcp_err_errno(err, errno, "close %s", to);
    return rc;
}

static int lvm_clone(void *self, const struct xlcp_snapshot *snap, const char *new_lv,
                     char *path_out, size_t path_len, struct xlcp_err *err)
{
    struct lvm *l = self;
    struct lvinfo info;
    char src[2 * XLCP_NAME_MAX + 2];
    char size[32];
    struct result *r;
    int rc;

    if (!valid_name(snap->vg) || !valid_name(snap->lv) || !valid_name(new_lv))
        return xlcp_err_set(err, XLCP_EINVAL, "bad volume name %s/%s or %s", snap->vg, snap->lv,
                            new_lv);
    rc = lv_info(l, snap->vg, snap->lv, &info, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return xlcp_err_set(err, XLCP_ENOTFOUND, "snapshot volume %s/%s is missing", snap->vg,
                            snap->lv);
    snprintf(src, sizeof(src), "%s/%s", snap->vg, snap->lv);
    r = malloc(sizeof(*r));
    if (!r)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    if (strcmp(info.segtype, "thin") == 0) {
        /* a thin snapshot of the snapshot: instant, and the snapshot stays as it was */
        char *args[] = {"lvcreate",     "-q",       "-y",      "-s", "-kn", "-n",
                        (char *)new_lv, "--addtag", CLONE_TAG, src,  NULL};
        rc = run_lvm(l, args, r, 0, err);
        free(r);
        if (rc)
            return rc;
    } else {
        /* a thick snapshot reads as its origin did: copy it into a new volume of the
         * origin's size (lvs gives a thick snapshot's own COW size as its lv_size) */
        char from[XLCP_PATH_MAX + 2 * XLCP_NAME_MAX], to[XLCP_PATH_MAX + 2 * XLCP_NAME_MAX];
        struct lvinfo origin;
        if (info.origin[0]) {
            rc = lv_info(l, snap->vg, info.origin, &origin, err);
            if (rc <= 0) {
                free(r);
                return rc < 0 ? rc
                              : xlcp_err_set(err, XLCP_ENOTFOUND, "origin %s/%s of %s is missing",
                                             snap->vg, info.origin, snap->lv);
            }
            info.size = origin.size;
        }
        snprintf(size, sizeof(size), "%" PRIu64 "b", info.size);
        char *args[] = {
            "lvcreate", "-q", "-y", "-W",           "n",        "-Z",      "n",
            "-L",       size, "-n", (char *)new_lv, "--addtag", CLONE_TAG, (char *)snap->vg,
            NULL};
        rc = run_lvm(l, args, r, 0, err);
        free(r);
        if (rc)
            return rc;
        snprintf(from, sizeof(from), "%s/%s/%s", l->devdir, snap->vg, snap->lv);
        snprintf(to, sizeof(to), "%s/%s/%s", l->devdir, snap->vg, new_lv);
        rc = copy_volume(from, to, err);
        if (rc) {
            struct xlcp_err e2;
            xlcp_err_clear(&e2);
            if (lv_remove(l, snap->vg, new_lv, &e2) != 0)
                xlcp_err_prefix(err, "new volume %s/%s left behind (%s); copy", snap->vg, new_lv,
                                e2.msg);
            return rc;
        }
    }
    snprintf(path_out, path_len, "%s/%s/%s", l->devdir, snap->vg, new_lv);
    return 0;
}

static int lvm_remove_tagged(void *self, const char *tag, struct xlcp_err *err)
{
    struct lvm *l = self;
    char sel[160];
    char *args[] = {"lvs", "--noheadings", "--separator", "|", "-o", "vg_name,lv_name", sel, NULL};
    struct result *r;
    char *line, *save = NULL;
    int rc;

    if (!valid_tag(tag) || strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) != 0)
        return xlcp_err_set(err, XLCP_EINVAL, "bad tag '%s'", tag);
    snprintf(sel, sizeof(sel), "@%s", tag);
    r = malloc(sizeof(*r));
    if (!r)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    rc = run_lvm(l, args, r, 0, err);
    for (line = strtok_r(r->out, "\n", &save); rc == 0 && line;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[3];
        trim(line);
        if (!*line)
            continue;
        if (split_fields(line, f, 2) != 2 || !valid_name(f[0]) || !valid_name(f[1])) {
            rc = xlcp_err_set(err, XLCP_EDISK, "lvm lvs @%s: unexpected output '%.80s'", tag, line);
            break;
        }
        rc = lv_remove(l, f[0], f[1], err);
    }
    free(r);
    return rc;
}

static const struct xlcp_disk_ops lvm_ops = {
    .inspect = lvm_inspect,
    .check_space = lvm_check_space,
    .arm = lvm_arm,
    .capture = lvm_capture,
    .complete = lvm_complete,
    .release = lvm_release,
    .remove = lvm_remove,
    .exists = lvm_exists,
    .clone = lvm_clone,
    .remove_tagged = lvm_remove_tagged,
};

int xlcp_disk_lvm_open(struct xlcp_disk *out, struct xlcp_err *err)
{
    struct lvm *l = calloc(1, sizeof(*l));
    const char *bin = getenv("XLCP_LVM");
    const char *dev = getenv("XLCP_LVM_DEVDIR");
    const char *t = getenv("XLCP_LVM_TIMEOUT");

    out->ops = NULL;
    out->self = NULL;
    if (!l)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    l->guard.fd = -1;
    snprintf(l->bin, sizeof(l->bin), "%s", bin && *bin ? bin : "lvm");
    snprintf(l->devdir, sizeof(l->devdir), "%s", dev && *dev ? dev : "/dev");
    l->timeout_s = 120;
    if (t && *t) {
        char *end;
        unsigned long v = strtoul(t, &end, 10);
        if (*end || v == 0 || v > 86400) {
            free(l);
            return xlcp_err_set(err, XLCP_EINVAL, "XLCP_LVM_TIMEOUT='%s': not a number of seconds",
                                t);
        }
        l->timeout_s = (unsigned)v;
    }
    out->ops = &lvm_ops;
    out->self = l;
    return 0;
}

void xlcp_disk_lvm_close(struct xlcp_disk *disk)
{
    struct lvm *l = disk->self;

    if (l) {
        /* nothing may stay held when we go */
        for (int i = 0; i < XLCP_MAX_DISKS; i++) {
            if (l->pend[i].used && l->pend[i].held) {
                struct xlcp_err e;
                xlcp_err_clear(&e);
                if (xlcp_dm_resume(l->pend[i].origin, &e) == 0)
                    xlcp_dm_guardian_released(&l->guard, l->pend[i].origin);
            }
        }
        xlcp_dm_guardian_stop(&l->guard);
    }
    free(disk->self);
    disk->ops = NULL;
    disk->self = NULL;
}
