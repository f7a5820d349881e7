/*
 * lvm_delta.c - the LVM side of export and import (struct xlcp_export_io): reads snapshot
 * volumes (a thin snapshot, skipped at activation, is activated for the read and
 * deactivated after), finds the blocks that changed between two thin snapshots with
 * thin-provisioning-tools' thin_delta on a metadata snapshot of the pool (reserved with
 * `dmsetup message <pool>-tpool 0 reserve_metadata_snap`, always released after, every
 * command under a time limit), and makes the volumes an import fills.
 */
#include "export.h"
#include "lvm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

extern char **environ;

#define DELTA_TIMEOUT_MS 120000u

/* ---- thin_delta's XML ---- */

static int attr_u64(xmlNodePtr n, const char *k, uint64_t *out)
{
    xmlChar *v = xmlGetProp(n, BAD_CAST k);
    char *end;
    int rc = -1;
    if (v && v[0] >= '0' && v[0] <= '9') {
        errno = 0;
        unsigned long long x = strtoull((const char *)v, &end, 10);
        if (!*end && !errno) {
            *out = x;
            rc = 0;
        }
    }
    xmlFree(v);
    return rc;
}

static int cmp_ext(const void *a, const void *b)
{
    const struct xlcp_extent *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

int xlcp_thin_delta_parse(const char *xml, size_t len, struct xlcp_extent **out, size_t *n,
                          struct xlcp_err *err)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, "thin_delta", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    struct xlcp_extent *v = NULL;
    size_t cnt = 0, cap = 0;
    uint64_t bs = 0;
    int rc = 0, ndiff = 0;

    *out = NULL;
    *n = 0;
    if (!root || strcmp((const char *)root->name, "superblock") != 0 ||
        attr_u64(root, "data_block_size", &bs) || bs == 0) {
        xmlFreeDoc(doc);
        return xlcp_err_set(err, XLCP_EDISK,
                            "thin_delta: unexpected output (no superblock "
                            "with a data_block_size)");
    }
    for (xmlNodePtr d = root->children; d && rc == 0; d = d->next) {
        if (d->type != XML_ELEMENT_NODE || strcmp((const char *)d->name, "diff") != 0)
            continue;
        ndiff++;
        for (xmlNodePtr r = d->children; r && rc == 0; r = r->next) {
            uint64_t b, l;
            if (r->type != XML_ELEMENT_NODE || strcmp((const char *)r->name, "same") == 0)
                continue;
            if (strcmp((const char *)r->name, "different") != 0 &&
                strcmp((const char *)r->name, "left_only") != 0 &&
                strcmp((const char *)r->name, "right_only") != 0) {
                rc = xlcp_err_set(err, XLCP_EDISK, "thin_delta: unknown range <%s>", r->name);
                break;
            }
            if (attr_u64(r, "begin", &b) || attr_u64(r, "length", &l) || l == 0 ||
                b > UINT64_MAX / 512 / bs || l > UINT64_MAX / 512 / bs) {
                rc = xlcp_err_set(err, XLCP_EDISK, "thin_delta: <%s> without a valid begin/length",
                                  r->name);
                break;
            }
            if (cnt == cap) {
                cap = cap ? cap * 2 : 64;
                struct xlcp_extent *nv = realloc(v, cap * sizeof(*nv));
                if (!nv) {
                    rc = xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
                    break;
                }
                v = nv;
            }
            v[cnt].offset = b * bs * 512;
            v[cnt].length = l * bs * 512;
            cnt++;
        }
    }
    xmlFreeDoc(doc);
    if (rc == 0 && ndiff != 1)
        rc = xlcp_err_set(err, XLCP_EDISK, "thin_delta: %d <diff> elements, want 1", ndiff);
    if (rc) {
        free(v);
        return rc;
    }
    if (cnt)
        qsort(v, cnt, sizeof(*v), cmp_ext);
    size_t m = 0; /* merge adjacent and overlapping ranges */
    for (size_t i = 0; i < cnt; i++) {
        if (m && v[i].offset <= v[m - 1].offset + v[m - 1].length) {
            uint64_t end = v[i].offset + v[i].length;
            if (end > v[m - 1].offset + v[m - 1].length)
                v[m - 1].length = end - v[m - 1].offset;
        } else {
            v[m++] = v[i];
        }
    }
    *out = v;
    *n = m;
    return 0;
}

/* ---- running dmsetup and thin_delta ---- */

struct lvd {
    struct lvm_runner run;
    char devdir[XLCP_PATH_MAX];
    char dmsetup[XLCP_PATH_MAX];
    char thin_delta[XLCP_PATH_MAX];
    unsigned delta_timeout_ms;
    int activated[XLCP_MAX_DISKS]; /* fds we activated a volume for */
    char act_vg[XLCP_MAX_DISKS][XLCP_NAME_MAX], act_lv[XLCP_MAX_DISKS][XLCP_NAME_MAX];
};

/* Runs argv with stdout into out_fd (or /dev/null if -1), stderr into a buffer, within
 * limit_ms (then SIGKILL). 0 if it exited 0. */
static int run_cmd(char *const argv[], int out_fd, unsigned limit_ms, struct xlcp_err *err)
{
    posix_spawn_file_actions_t fa;
    char errpath[] = "/tmp/xlcp-cmd-XXXXXX";
    int efd = mkstemp(errpath);
    pid_t pid;
    int st = 0, rc;
    uint64_t t0 = xlcp_lvm_mono_ns();

    if (efd < 0)
        return xlcp_err_errno(err, errno, "mkstemp");
    unlink(errpath);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (out_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    else
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, efd, 2);
    rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) {
        close(efd);
        return xlcp_err_errno(err, rc, "cannot run %s", argv[0]);
    }
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            close(efd);
            return xlcp_err_errno(err, errno, "waitpid %s", argv[0]);
        }
        if (xlcp_lvm_mono_ns() - t0 > (uint64_t)limit_ms * 1000000u) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            close(efd);
            return xlcp_err_set(err, XLCP_ETIMEDOUT, "%s %s did not finish within %u s", argv[0],
                                argv[1] ? argv[1] : "", limit_ms / 1000);
        }
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        close(efd);
        return 0;
    }
    char msg[400] = "";
    ssize_t k = pread(efd, msg, sizeof(msg) - 1, 0);
    close(efd);
    msg[k > 0 ? k : 0] = '\0';
    for (char *p = msg; *p; p++)
        if (*p == '\n')
            *p = *(p + 1) ? ' ' : '\0';
    return xlcp_err_set(err, XLCP_EDISK, "%s %s failed (status %d): %s", argv[0],
                        argv[1] ? argv[1] : "", WIFEXITED(st) ? WEXITSTATUS(st) : -1, msg);
}

/* device-mapper's name of vg/lv plus suffix: every '-' in a name doubled */
static void dm_name(char *out, size_t len, const char *vg, const char *lv, const char *suffix)
{
    size_t o = 0;
    const char *parts[2] = {vg, lv};
    for (int i = 0; i < 2; i++) {
        for (const char *s = parts[i]; *s && o + 3 < len; s++) {
            out[o++] = *s;
            if (*s == '-')
                out[o++] = '-';
        }
        if (i == 0 && o + 2 < len)
            out[o++] = '-';
    }
    out[o] = '\0';
    snprintf(out + o, len - o, "%s", suffix);
}

static int delta_locked(struct lvd *l, const struct lvinfo *pa, const struct lvinfo *pb,
                        const char *tpool_c, const char *tmeta, const char *id1_c,
                        const char *id2_c, struct xlcp_extent **out, size_t *n,
                        struct xlcp_err *err);

static int lvd_changed(void *self, const struct xlcp_snapshot *older,
                       const struct xlcp_snapshot *newer, struct xlcp_extent **out, size_t *n,
                       struct xlcp_err *err)
{
    struct lvd *l = self;
    struct lvinfo a, b;
    char tpool[300], tmeta[XLCP_PATH_MAX + 300], id1[24], id2[24];
    int rc;

    rc = xlcp_lvm_lv_info(&l->run, older->vg, older->lv, &a, err);
    if (rc == 0)
        return xlcp_err_set(err, XLCP_ENOTFOUND, "snapshot %s/%s is missing", older->vg, older->lv);
    if (rc > 0)
        rc = xlcp_lvm_lv_info(&l->run, newer->vg, newer->lv, &b, err);
    if (rc == 0)
        return xlcp_err_set(err, XLCP_ENOTFOUND, "snapshot %s/%s is missing", newer->vg, newer->lv);
    if (rc < 0)
        return rc;
    if (strcmp(a.segtype, "thin") || strcmp(b.segtype, "thin") || strcmp(a.vg, b.vg) ||
        strcmp(a.pool, b.pool) || !a.thin_id || !b.thin_id)
        return xlcp_err_set(err, XLCP_EINVAL,
                            "%s/%s and %s/%s are not thin volumes of one pool (pools '%s', '%s')",
                            older->vg, older->lv, newer->vg, newer->lv, a.pool, b.pool);
    dm_name(tpool, sizeof(tpool), a.vg, a.pool, "-tpool");
    snprintf(tmeta, sizeof(tmeta), "%s/mapper/", l->devdir);
    dm_name(tmeta + strlen(tmeta), sizeof(tmeta) - strlen(tmeta), a.vg, a.pool, "_tmeta");
    snprintf(id1, sizeof(id1), "%" PRIu64, a.thin_id);
    snprintf(id2, sizeof(id2), "%" PRIu64, b.thin_id);

    /* one metadata snapshot per pool at a time: ours are taken under a lock of their own
     * (not the VG lock: a checkpoint's LVM commands need not wait for thin_delta) */
    char lockpath[XLCP_PATH_MAX + 320];
    int lfd;
    if (mkdir(l->run.rundir, 0700) != 0 && errno != EEXIST)
        return xlcp_err_errno(err, errno, "mkdir %s", l->run.rundir);
    snprintf(lockpath, sizeof(lockpath), "%s/tmeta-%s.lock", l->run.rundir, tpool);
    lfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0)
        return xlcp_err_errno(err, errno, "open %s", lockpath);
    for (int i = 0; flock(lfd, LOCK_EX | LOCK_NB) != 0; i++) {
        if (errno != EWOULDBLOCK || i >= 3000) {
            close(lfd);
            return xlcp_err_set(err, XLCP_EBUSY,
                                "pool %s/%s: another export holds its metadata snapshot", a.vg,
                                a.pool);
        }
        nanosleep(&(struct timespec){0, 100000000}, NULL); /* up to 5 min */
    }
    rc = delta_locked(l, &a, &b, tpool, tmeta, id1, id2, out, n, err);
    close(lfd);
    return rc;
}

static int delta_locked(struct lvd *l, const struct lvinfo *pa, const struct lvinfo *pb,
                        const char *tpool_c, const char *tmeta, const char *id1_c,
                        const char *id2_c, struct xlcp_extent **out, size_t *n,
                        struct xlcp_err *err)
{
    char *tpool = (char *)tpool_c, *id1 = (char *)id1_c, *id2 = (char *)id2_c;
    const struct lvinfo a = *pa;
    char outpath[] = "/tmp/xlcp-delta-XXXXXX";
    int rc, fd, rc2;
    struct xlcp_err e2;
    (void)pb;

    char *reserve[] = {l->dmsetup, "message", tpool, "0", "reserve_metadata_snap", NULL};
    char *release[] = {l->dmsetup, "message", tpool, "0", "release_metadata_snap", NULL};
    rc = run_cmd(reserve, -1, 30000, err);
    if (rc == XLCP_EDISK) { /* a metadata snapshot left by a killed run: release, retry */
        xlcp_err_clear(&e2);
        if (run_cmd(release, -1, 30000, &e2) == 0) {
            xlcp_err_clear(err);
            rc = run_cmd(reserve, -1, 30000, err);
        }
    }
    if (rc)
        return xlcp_err_prefix(err, "pool %s/%s: reserving a metadata snapshot", a.vg, a.pool);
    fd = mkstemp(outpath);
    if (fd < 0) {
        rc = xlcp_err_errno(err, errno, "mkstemp");
    } else {
        unlink(outpath);
        char *td[] = {l->thin_delta, "--metadata-snap", "--snap1", id1, "--snap2",
                      id2,           (char *)tmeta,     NULL};
        rc = run_cmd(td, fd, l->delta_timeout_ms, err);
    }
    /* always released, whatever happened */
    xlcp_err_clear(&e2);
    rc2 = run_cmd(release, -1, 30000, &e2);
    if (rc == 0 && rc2) {
        *err = e2;
        rc = xlcp_err_prefix(err, "pool %s/%s: releasing the metadata snapshot", a.vg, a.pool);
    }
    if (rc == 0) {
        struct stat stt;
        char *buf = NULL;
        if (fstat(fd, &stt) != 0 || !(buf = malloc((size_t)stt.st_size + 1)) ||
            pread(fd, buf, (size_t)stt.st_size, 0) != stt.st_size)
            rc = xlcp_err_errno(err, errno ? errno : EIO, "reading thin_delta's output");
        else
            rc = xlcp_thin_delta_parse(buf, (size_t)stt.st_size, out, n, err);
        free(buf);
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ---- volumes ---- */

static int lvd_open_snap(void *self, const struct xlcp_snapshot *snap, int *fd_out,
                         struct xlcp_err *err)
{
    struct lvd *l = self;
    struct lvinfo info;
    char path[XLCP_PATH_MAX + 2 * XLCP_NAME_MAX], name[2 * XLCP_NAME_MAX + 2];
    int rc, act = 0;

    if (!xlcp_lvm_valid_name(snap->vg) || !xlcp_lvm_valid_name(snap->lv))
        return xlcp_err_set(err, XLCP_EINVAL, "bad volume name %s/%s", snap->vg, snap->lv);
    rc = xlcp_lvm_lv_info(&l->run, snap->vg, snap->lv, &info, err);
    if (rc <= 0)
        return rc < 0 ? rc
                      : xlcp_err_set(err, XLCP_ENOTFOUND, "snapshot volume %s/%s is missing",
                                     snap->vg, snap->lv);
    snprintf(name, sizeof(name), "%s/%s", snap->vg, snap->lv);
    if (strlen(info.attr) > 4 && info.attr[4] != 'a') {
        char *args[] = {"lvchange", "-q", "-ay", "-K", name, NULL};
        rc = xlcp_lvm_run_simple(&l->run, snap->vg, args, err);
        if (rc)
            return xlcp_err_prefix(err, "activating %s for reading", name);
        act = 1;
    }
    snprintf(path, sizeof(path), "%s/%s/%s", l->devdir, snap->vg, snap->lv);
    *fd_out = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd_out < 0) {
        rc = xlcp_err_errno(err, errno, "open %s", path);
        if (act) {
            struct xlcp_err e2;
            char *args[] = {"lvchange", "-q", "-an", name, NULL};
            xlcp_lvm_run_simple(&l->run, snap->vg, args, &e2);
        }
        return rc;
    }
    if (act && *fd_out < XLCP_MAX_DISKS * 64) {
        for (int i = 0; i < XLCP_MAX_DISKS; i++)
            if (!l->activated[i]) {
                l->activated[i] = *fd_out + 1;
                snprintf(l->act_vg[i], XLCP_NAME_MAX, "%s", snap->vg);
                snprintf(l->act_lv[i], XLCP_NAME_MAX, "%s", snap->lv);
                break;
            }
    }
    return 0;
}

static void lvd_close_snap(void *self, const struct xlcp_snapshot *snap, int fd)
{
    struct lvd *l = self;
    (void)snap;
    close(fd);
    for (int i = 0; i < XLCP_MAX_DISKS; i++)
        if (l->activated[i] == fd + 1) {
            char name[2 * XLCP_NAME_MAX + 2];
            struct xlcp_err e2;
            char *args[] = {"lvchange", "-q", "-an", name, NULL};
            snprintf(name, sizeof(name), "%s/%s", l->act_vg[i], l->act_lv[i]);
            if (xlcp_lvm_run_simple(&l->run, l->act_vg[i], args, &e2) != 0)
                fprintf(stderr, "xl-checkpoint: warning: %s left active: %s\n", name, e2.msg);
            l->activated[i] = 0;
        }
}

static int lvd_create(void *self, const char *vg, const char *pool, const char *lv, uint64_t size,
                      const char *tag, struct xlcp_snapshot *out, int *zeroed, struct xlcp_err *err)
{
    struct lvd *l = self;
    struct lvinfo pinfo;
    char sz[32], poolname[2 * XLCP_NAME_MAX + 2];
    int rc, thin = 0;

    if (!xlcp_lvm_valid_name(vg) || !xlcp_lvm_valid_name(lv) || !xlcp_lvm_valid_tag(tag))
        return xlcp_err_set(err, XLCP_EINVAL, "bad volume name %s/%s or tag %s", vg, lv, tag);
    if (pool && *pool && xlcp_lvm_valid_name(pool)) {
        rc = xlcp_lvm_lv_info(&l->run, vg, pool, &pinfo, err);
        if (rc < 0)
            return rc;
        thin = rc > 0 && strcmp(pinfo.segtype, "thin-pool") == 0;
    }
    snprintf(sz, sizeof(sz), "%" PRIu64 "b", size);
    snprintf(poolname, sizeof(poolname), "%s/%s", vg, pool ? pool : "");
    if (thin) {
        char *args[] = {"lvcreate", "-q", "-y",       "-V",       sz,          "-T",
                        poolname,   "-n", (char *)lv, "--addtag", (char *)tag, NULL};
        rc = xlcp_lvm_run_simple(&l->run, vg, args, err);
    } else {
        char *args[] = {"lvcreate", "-q",       "-y",        "-W",       "n",
                        "-Z",       "n",        "-L",        sz,         "-n",
                        (char *)lv, "--addtag", (char *)tag, (char *)vg, NULL};
        rc = xlcp_lvm_run_simple(&l->run, vg, args, err);
    }
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    snprintf(out->vg, sizeof(out->vg), "%s", vg);
    snprintf(out->lv, sizeof(out->lv), "%s", lv);
    snprintf(out->path, sizeof(out->path), "%s/%s/%s", l->devdir, vg, lv);
    out->thin = thin;
    out->size_bytes = size;
    *zeroed = thin; /* a new thin volume reads zeros; a thick one reads what was there */
    return 0;
}

static int lvd_seal(void *self, const struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    struct lvd *l = self;
    char name[2 * XLCP_NAME_MAX + 2];
    snprintf(name, sizeof(name), "%s/%s", snap->vg, snap->lv);
    char *args[] = {"lvchange", "-q", "-p", "r", name, NULL};
    return xlcp_lvm_run_simple(&l->run, snap->vg, args, err);
}

static int lvd_remove(void *self, const struct xlcp_snapshot *snap, struct xlcp_err *err)
{
    struct lvd *l = self;
    char name[2 * XLCP_NAME_MAX + 2];
    snprintf(name, sizeof(name), "%s/%s", snap->vg, snap->lv);
    char *args[] = {"lvremove", "-q", "-f", "-y", name, NULL};
    return xlcp_lvm_run_simple(&l->run, snap->vg, args, err);
}

static const struct xlcp_export_io_ops lvd_ops = {
    .open_snap = lvd_open_snap,
    .close_snap = lvd_close_snap,
    .changed = lvd_changed,
    .create = lvd_create,
    .seal = lvd_seal,
    .remove = lvd_remove,
};

int xlcp_export_io_lvm_open(struct xlcp_export_io *out, struct xlcp_err *err)
{
    struct lvd *l = calloc(1, sizeof(*l));
    const char *bin = getenv("XLCP_LVM"), *dev = getenv("XLCP_LVM_DEVDIR");
    const char *rundir = getenv("XLCP_RUN_DIR"), *t = getenv("XLCP_LVM_TIMEOUT");

    if (!l)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    snprintf(l->run.rundir, sizeof(l->run.rundir), "%s",
             rundir && *rundir ? rundir : "/run/xl-checkpoint");
    snprintf(l->run.bin, sizeof(l->run.bin), "%s", bin && *bin ? bin : "lvm");
    snprintf(l->devdir, sizeof(l->devdir), "%s", dev && *dev ? dev : "/dev");
    /* the commands and thin_delta's limit can be replaced (unit tests) */
    const char *dms = getenv("XLCP_DMSETUP"), *td = getenv("XLCP_THIN_DELTA");
    const char *tdl = getenv("XLCP_THIN_DELTA_TIMEOUT_MS");
    snprintf(l->dmsetup, sizeof(l->dmsetup), "%s", dms && *dms ? dms : "dmsetup");
    snprintf(l->thin_delta, sizeof(l->thin_delta), "%s", td && *td ? td : "thin_delta");
    l->delta_timeout_ms = DELTA_TIMEOUT_MS;
    if (tdl && *tdl) {
        unsigned long v = strtoul(tdl, NULL, 10);
        if (v > 0 && v <= 86400000ul)
            l->delta_timeout_ms = (unsigned)v;
    }
    l->run.timeout_s = 120;
    if (t && *t) {
        unsigned long v = strtoul(t, NULL, 10);
        if (v > 0 && v <= 86400)
            l->run.timeout_s = (unsigned)v;
    }
    out->ops = &lvd_ops;
    out->self = l;
    return 0;
}

void xlcp_export_io_lvm_close(struct xlcp_export_io *io)
{
    free(io->self);
    io->self = NULL;
    io->ops = NULL;
}
