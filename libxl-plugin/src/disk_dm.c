/*
 * disk_dm.c - device-mapper operations for the LVM adapter, through libdevmapper (LVM2's
 * own library), and what the guardian (guardian.h) must undo if we die.
 *
 * Inside the guest's pause the adapter only suspends and resumes devices and sends thin
 * pools their messages: single ioctls, milliseconds, no LVM metadata commit. Devices are
 * named by number (major:minor of /dev/<vg>/<lv>), so no name mangling is involved.
 * libdevmapper's messages are kept (last one) for error reports instead of going to
 * stderr. udev synchronisation is off: nothing here creates or removes a device node.
 *
 * libdevmapper is not thread-safe (its maintainers: lvm2 issues #67, #69; its control
 * descriptor, device-major table and suspend counter are process globals), and a group
 * runs its members' checkpoints in threads of one process: four members preparing at once
 * in one pool failed on nested Xen with "table ioctl ... No such device or address". So
 * every libdevmapper call, from task creation to destruction, holds dm_mu. (That failure
 * was libdevmapper's lazily read driver version: a thread that saw it unset yet named the
 * device beside its number, which the kernel refuses with ENXIO.) Those ioctls are
 * milliseconds; a call that waits more than XLCP_DM_LOCK_WAIT_S for the lock fails with
 * that said. The suspend, which can wait long, is a direct ioctl outside the lock.
 */
#include "disk_dm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <libdevmapper.h>
#include <linux/dm-ioctl.h>

/* ---- libdevmapper's log --------------------------------------------------------- */

static pthread_once_t dm_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t dm_mu = PTHREAD_MUTEX_INITIALIZER; /* held around every libdevmapper call */
/* libdevmapper logs in the calling thread: its last error is kept per thread */
static _Thread_local char dm_last[256];

#define XLCP_DM_LOCK_WAIT_S 30

static void dm_log(int level, const char *file, int line, int dm_errno_or_class, const char *f, ...)
    __attribute__((format(printf, 5, 6)));
static void dm_log(int level, const char *file, int line, int dm_errno_or_class, const char *f, ...)
{
    va_list ap;

    (void)file, (void)line, (void)dm_errno_or_class;
    if ((level & 7) > 3) /* _LOG_ERR is 3; keep warnings and debug out */
        return;
    va_start(ap, f);
    vsnprintf(dm_last, sizeof(dm_last), f, ap);
    va_end(ap);
}

static void dm_init(void)
{
    dm_log_with_errno_init(dm_log);
    dm_udev_set_sync_support(0);
}

/* Takes dm_mu for one libdevmapper call (0), or says why it could not (err set). */
static int dm_enter(const char *what, struct xlcp_err *err)
{
    struct timespec until;
    int rc;

    pthread_once(&dm_once, dm_init);
    if (clock_gettime(CLOCK_REALTIME, &until) != 0)
        return xlcp_err_errno(err, errno, "device-mapper %s: clock", what);
    until.tv_sec += XLCP_DM_LOCK_WAIT_S;
    rc = pthread_mutex_timedlock(&dm_mu, &until);
    if (rc == ETIMEDOUT)
        return xlcp_err_set(err, XLCP_EDISK,
                            "device-mapper %s: another device-mapper call of this process has not "
                            "returned in %d s",
                            what, XLCP_DM_LOCK_WAIT_S);
    if (rc != 0)
        return xlcp_err_errno(err, rc, "device-mapper %s: lock", what);
    dm_last[0] = '\0';
    return 0;
}

static void dm_leave(struct dm_task *t)
{
    if (t)
        dm_task_destroy(t);
    pthread_mutex_unlock(&dm_mu);
}

static int dm_fail(struct xlcp_err *err, const char *what, dev_t dev)
{
    return xlcp_err_set(err, XLCP_EDISK, "device-mapper %s of %u:%u failed: %s", what, major(dev),
                        minor(dev), dm_last[0] ? dm_last : "no reason given");
}

/* A task on the device `dev`, dm_mu held (release with dm_leave); NULL (err set, dm_mu
 * not held) on failure. */
static struct dm_task *task(int type, dev_t dev, const char *what, struct xlcp_err *err)
{
    struct dm_task *t;

    if (dm_enter(what, err))
        return NULL;
    t = dm_task_create(type);
    if (!t) {
        dm_fail(err, what, dev);
        dm_leave(NULL);
        return NULL;
    }
    if (!dm_task_set_major(t, (int)major(dev)) || !dm_task_set_minor(t, (int)minor(dev)) ||
        !dm_task_no_open_count(t)) {
        dm_fail(err, what, dev);
        dm_leave(t);
        return NULL;
    }
    return t;
}

/* ---- operations ------------------------------------------------------------------ */

int xlcp_dm_devno(const char *path, dev_t *out, struct xlcp_err *err)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return xlcp_err_errno(err, errno, "%s", path);
    if (!S_ISBLK(st.st_mode))
        return xlcp_err_set(err, XLCP_EUNSUPPORTED, "%s is not a block device", path);
    *out = st.st_rdev;
    return 0;
}

static int run_simple(int type, dev_t dev, const char *what, struct xlcp_err *err)
{
    struct dm_task *t = task(type, dev, what, err);
    int ok;

    if (!t)
        return err->code;
    ok = dm_task_run(t);
    dm_leave(t);
    return ok ? 0 : dm_fail(err, what, dev);
}

/* The suspend goes to the kernel directly, one ioctl outside dm_mu and libdevmapper: it
 * waits for the writes under way, which may never finish (lvm_hold.c bounds it from a
 * thread of its own), and it must not keep every other device-mapper call of the process
 * (the resumes of an undo among them) waiting meanwhile. No file system freeze (nothing
 * in dom0 mounts a guest's disk). */
int xlcp_dm_suspend(dev_t dev, struct xlcp_err *err)
{
    struct dm_ioctl dmi;
    int fd, rc = 0;

    fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return xlcp_err_errno(err, errno, "device-mapper suspend of %u:%u: /dev/mapper/control",
                              major(dev), minor(dev));
    memset(&dmi, 0, sizeof(dmi));
    dmi.version[0] = DM_VERSION_MAJOR;
    dmi.data_size = sizeof(dmi);
    dmi.data_start = sizeof(dmi);
    dmi.flags = DM_SUSPEND_FLAG | DM_SKIP_LOCKFS_FLAG;
    dmi.dev = (uint64_t)dev; /* the kernel's "huge" encoding is glibc's dev_t */
    if (ioctl(fd, DM_DEV_SUSPEND, &dmi) != 0)
        rc = xlcp_err_errno(err, errno, "device-mapper suspend of %u:%u", major(dev), minor(dev));
    close(fd);
    return rc;
}

int xlcp_dm_resume(dev_t dev, struct xlcp_err *err)
{
    return run_simple(DM_DEVICE_RESUME, dev, "resume", err);
}

/* device-mapper's info on an existing device */
static int dm_info(dev_t dev, struct dm_info *info, struct xlcp_err *err)
{
    struct dm_task *t = task(DM_DEVICE_INFO, dev, "info", err);
    int ok;

    if (!t)
        return err->code;
    ok = dm_task_run(t) && dm_task_get_info(t, info);
    dm_leave(t);
    if (!ok)
        return dm_fail(err, "info", dev);
    if (!info->exists)
        return xlcp_err_set(err, XLCP_ENOTFOUND, "device-mapper device %u:%u does not exist",
                            major(dev), minor(dev));
    return 0;
}

int xlcp_dm_is_suspended(dev_t dev, struct xlcp_err *err)
{
    struct dm_info info;
    int rc = dm_info(dev, &info, err);

    return rc ? rc : info.suspended ? 1 : 0;
}

int xlcp_dm_message(dev_t dev, const char *msg, struct xlcp_err *err)
{
    struct dm_task *t = task(DM_DEVICE_TARGET_MSG, dev, msg, err);
    int ok;

    if (!t)
        return err->code;
    ok = dm_task_set_sector(t, 0) && dm_task_set_message(t, msg) && dm_task_run(t);
    dm_leave(t);
    return ok ? 0 : dm_fail(err, msg, dev);
}

int xlcp_dm_thin_info(dev_t dev, dev_t *pool_out, uint32_t *id_out, struct xlcp_err *err)
{
    struct dm_task *t = task(DM_DEVICE_TABLE, dev, "table", err);
    uint64_t start = 0, length = 0;
    char *type = NULL, *params = NULL;
    unsigned pmaj = 0, pmin = 0, id = 0;
    int n = -1, rc = 0;

    if (!t)
        return err->code;
    if (!dm_task_run(t)) {
        dm_leave(t);
        return dm_fail(err, "table", dev);
    }
    if (dm_get_next_target(t, NULL, &start, &length, &type, &params) != NULL || !type ||
        strcmp(type, "thin") != 0 || !params ||
        sscanf(params, "%u:%u %u%n", &pmaj, &pmin, &id, &n) != 3 || params[n] != '\0')
        rc = xlcp_err_set(err, XLCP_EUNSUPPORTED,
                          "device %u:%u is not a plain thin volume (table: %s %s)", major(dev),
                          minor(dev), type ? type : "?", params ? params : "");
    dm_leave(t);
    if (rc == 0) {
        *pool_out = makedev(pmaj, pmin);
        *id_out = id;
    }
    return rc;
}

/* Completed writes, write sectors and discards of a block device (fields 5, 7 and 12 of
 * its stat file; kernels before 4.18 have no discard fields: 0). */
static int io_counters(dev_t dev, struct xlcp_dm_state *out, struct xlcp_err *err)
{
    char path[64];
    unsigned long long f[15] = {0};
    FILE *fp;
    int n;

    snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/stat", major(dev), minor(dev));
    fp = fopen(path, "re");
    if (!fp)
        return xlcp_err_errno(err, errno, "%s", path);
    n = fscanf(fp, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
               &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9], &f[10], &f[11],
               &f[12], &f[13], &f[14]);
    fclose(fp);
    if (n < 11)
        return xlcp_err_set(err, XLCP_EDISK, "%s: unexpected content", path);
    out->writes = f[4];
    out->write_sectors = f[6];
    out->discards = n >= 12 ? f[11] : 0;
    return 0;
}

int xlcp_dm_state(dev_t dev, struct xlcp_dm_state *out, struct xlcp_err *err)
{
    struct dm_info info;
    int rc = dm_info(dev, &info, err);

    if (rc)
        return rc;
    out->suspended = info.suspended ? 1 : 0;
    out->event_nr = info.event_nr;
    return io_counters(dev, out, err);
}

int xlcp_dm_flush(const char *path, struct xlcp_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return xlcp_err_errno(err, errno, "open %s", path);
    rc = fsync(fd) == 0 ? 0 : xlcp_err_errno(err, errno, "flush of %s", path);
    close(fd);
    return rc;
}

/* ---- tables: what the thick snapshot's switch needs (lvm_thick.c) ----------------- */

int xlcp_dm_table(dev_t dev, int status, char *buf, size_t len, struct xlcp_err *err)
{
    struct dm_task *t =
        task(status ? DM_DEVICE_STATUS : DM_DEVICE_TABLE, dev, status ? "status" : "table", err);
    uint64_t start = 0, length = 0;
    char *type = NULL, *params = NULL;
    void *next = NULL;
    size_t at = 0;
    int rc = 0;

    if (!t)
        return err->code;
    if (!dm_task_run(t)) {
        dm_leave(t);
        return dm_fail(err, status ? "status" : "table", dev);
    }
    buf[0] = '\0';
    do {
        next = dm_get_next_target(t, next, &start, &length, &type, &params);
        if (!type)
            break;
        int n = snprintf(buf + at, len - at, "%s%" PRIu64 " %" PRIu64 " %s %s", at ? "\n" : "",
                         start, length, type, params ? params : "");
        if (n < 0 || (size_t)n >= len - at) {
            rc =
                xlcp_err_set(err, XLCP_EDISK, "table of %u:%u is too long", major(dev), minor(dev));
            break;
        }
        at += (size_t)n;
    } while (next);
    dm_leave(t);
    return rc;
}

/* Adds the targets of `table` (lines "start length type params") to a create or load. */
static int add_targets(struct dm_task *t, const char *table)
{
    char line[1024];
    const char *p = table;

    while (*p) {
        size_t n = strcspn(p, "\n");
        unsigned long long start, length;
        char type[64];
        int off = -1;

        if (n == 0 || n >= sizeof(line))
            return 0;
        memcpy(line, p, n);
        line[n] = '\0';
        if (sscanf(line, "%llu %llu %63s %n", &start, &length, type, &off) != 3 || off < 0 ||
            !dm_task_add_target(t, start, length, type, line + off))
            return 0;
        p += n;
        if (*p == '\n')
            p++;
    }
    return 1;
}

int xlcp_dm_create(const char *name, const char *uuid, const char *table, dev_t *out,
                   struct xlcp_err *err)
{
    struct dm_task *t;
    struct dm_info info;
    int ok;

    if (dm_enter("create", err))
        return err->code;
    t = dm_task_create(DM_DEVICE_CREATE);
    if (!t) {
        dm_leave(NULL);
        return dm_fail(err, name, 0);
    }
    ok = dm_task_set_name(t, name) && (!uuid || dm_task_set_uuid(t, uuid)) &&
         add_targets(t, table) && dm_task_run(t) && dm_task_get_info(t, &info) && info.exists;
    dm_leave(t);
    if (!ok)
        return xlcp_err_set(err, XLCP_EDISK, "device-mapper create of %s failed: %s", name,
                            dm_last[0] ? dm_last : "no reason given");
    *out = makedev(info.major, info.minor);
    return 0;
}

int xlcp_dm_load(dev_t dev, const char *table, struct xlcp_err *err)
{
    struct dm_task *t = task(DM_DEVICE_RELOAD, dev, "load", err);
    int ok;

    if (!t)
        return err->code;
    ok = add_targets(t, table) && dm_task_run(t);
    dm_leave(t);
    return ok ? 0 : dm_fail(err, "load", dev);
}

int xlcp_dm_clear(dev_t dev, struct xlcp_err *err)
{
    return run_simple(DM_DEVICE_CLEAR, dev, "clear", err);
}

int xlcp_dm_remove(dev_t dev, struct xlcp_err *err)
{
    return run_simple(DM_DEVICE_REMOVE, dev, "remove", err);
}

int xlcp_dm_lookup(const char *id, int by_name, dev_t *out, struct xlcp_err *err)
{
    struct dm_task *t;
    struct dm_info info;
    int ok;

    if (dm_enter("info", err))
        return err->code;
    t = dm_task_create(DM_DEVICE_INFO);
    if (!t) {
        dm_leave(NULL);
        return dm_fail(err, id, 0);
    }
    ok = (by_name ? dm_task_set_name(t, id) : dm_task_set_uuid(t, id)) && dm_task_run(t) &&
         dm_task_get_info(t, &info);
    dm_leave(t);
    if (!ok)
        return xlcp_err_set(err, XLCP_EDISK, "device-mapper info of %s failed: %s", id,
                            dm_last[0] ? dm_last : "no reason given");
    if (!info.exists)
        return 0;
    *out = makedev(info.major, info.minor);
    return 1;
}

int xlcp_dm_zero(dev_t dev, const char *dir, unsigned bytes, struct xlcp_err *err)
{
    char node[4160];
    void *buf = NULL;
    int fd, rc = 0;

    snprintf(node, sizeof(node), "%s/zero-%u-%u.%ld", dir, major(dev), minor(dev), (long)getpid());
    (void)unlink(node);
    if (mknod(node, S_IFBLK | 0600, dev) != 0)
        return xlcp_err_errno(err, errno, "mknod %s", node);
    fd = open(node, O_WRONLY | O_DIRECT | O_CLOEXEC);
    (void)unlink(node);
    if (fd < 0)
        return xlcp_err_errno(err, errno, "open %u:%u", major(dev), minor(dev));
    if (posix_memalign(&buf, 4096, bytes) != 0) {
        close(fd);
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    }
    memset(buf, 0, bytes);
    if (pwrite(fd, buf, bytes, 0) != (ssize_t)bytes || fsync(fd) != 0)
        rc = xlcp_err_errno(err, errno ? errno : EIO, "zeroing %u:%u", major(dev), minor(dev));
    free(buf);
    if (close(fd) != 0 && rc == 0)
        rc = xlcp_err_errno(err, errno, "zeroing %u:%u", major(dev), minor(dev));
    return rc;
}

const struct xlcp_dm_ops xlcp_dm_real = {
    .devno = xlcp_dm_devno,
    .suspend = xlcp_dm_suspend,
    .resume = xlcp_dm_resume,
    .is_suspended = xlcp_dm_is_suspended,
    .state = xlcp_dm_state,
    .message = xlcp_dm_message,
    .thin_info = xlcp_dm_thin_info,
    .flush = xlcp_dm_flush,
    .table = xlcp_dm_table,
    .create = xlcp_dm_create,
    .load = xlcp_dm_load,
    .clear = xlcp_dm_clear,
    .remove = xlcp_dm_remove,
    .lookup = xlcp_dm_lookup,
    .zero = xlcp_dm_zero,
};

/* ---- the guardian (guardian.h): what it must undo if we die ----------------------- */

int xlcp_dm_guardian_start(struct xlcp_dm_guardian *g, struct xlcp_err *err)
{
    return xlcp_guardian_start(g, err);
}

void xlcp_dm_guardian_held(struct xlcp_dm_guardian *g, dev_t dev)
{
    xlcp_guardian_say(g, "H %u %u\n", major(dev), minor(dev));
}

void xlcp_dm_guardian_released(struct xlcp_dm_guardian *g, dev_t dev)
{
    xlcp_guardian_say(g, "R %u %u\n", major(dev), minor(dev));
}

void xlcp_dm_guardian_repoint(struct xlcp_dm_guardian *g, dev_t pool, uint32_t id)
{
    xlcp_guardian_say(g, "P %u %u %" PRIu32 "\n", major(pool), minor(pool), id);
}

void xlcp_dm_guardian_repointed(struct xlcp_dm_guardian *g, dev_t pool, uint32_t id)
{
    xlcp_guardian_say(g, "Q %u %u %" PRIu32 "\n", major(pool), minor(pool), id);
}

void xlcp_dm_guardian_stop(struct xlcp_dm_guardian *g)
{
    xlcp_guardian_stop(g);
}
