/*
 * lvm_run.c - runs LVM's command line for the LVM adapter.
 *
 * LVM is driven through its command line (`lvm <subcommand>`, machine-readable output
 * only), never through a shell: the binary is $XLCP_LVM or `lvm`. Every call runs under
 * a watchdog ($XLCP_LVM_TIMEOUT seconds, default 120: `lvcreate -s` has been seen to hang
 * under emulation): past it the child gets SIGTERM, then SIGKILL, and the error names the
 * command.
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
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lvm.h"

uint64_t xlcp_lvm_mono_ns(void)
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

const char *xlcp_lvm_last_line(struct lvm_result *r)
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
        size_t room = LVM_OUT_MAX - 1 - *len;
        size_t take = (size_t)n < room ? (size_t)n : room;
        memcpy(buf + *len, tmp, take);
        *len += take;
        buf[*len] = '\0';
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(*fd);
        *fd = -1;
    }
}

/* Runs argv under the watchdog (limit_ms); fills r (status -1 if killed by a signal). */
static int exec_watched(char *argv[], const char *what, uint64_t limit_ms, struct lvm_result *r,
                        struct xlcp_err *err)
{
    int out[2] = {-1, -1}, errp[2] = {-1, -1};
    int wstatus = 0, killed = 0;
    uint64_t deadline, term_at = 0;
    pid_t pid;

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

    deadline = mono_ms() + limit_ms;
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
        return xlcp_err_set(err, XLCP_ETIMEDOUT, "%s did not finish within %" PRIu64 " ms (killed)",
                            what, limit_ms);
    r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
    return 0;
}

int xlcp_lvm_run_within(const struct lvm_runner *l, const char *vg, char *const args[],
                        struct lvm_result *r, int quiet_fail, uint64_t limit_ms,
                        struct xlcp_err *err)
{
    char *argv[32];
    char what[512];
    int argc = 0, lock = -1, rc;

    argv[argc++] = (char *)l->bin;
    for (int i = 0; args[i] && argc < 31; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    describe(what, sizeof(what), argv);
    memset(r, 0, sizeof(*r));
    if (vg) {
        rc = xlcp_lvm_vg_lock(l, vg, 0, limit_ms, &lock, err);
        if (rc)
            return xlcp_err_prefix(err, "%s", what);
    }
    if (l->fake)
        rc = l->fake(l->fake_arg, argv, r);
    else
        rc = exec_watched(argv, what, limit_ms, r, err);
    xlcp_lvm_vg_unlock(lock);
    if (rc)
        return rc;
    if (r->status == 0)
        return 0;
    if (quiet_fail)
        return 1;
    if (r->status == 127 && strstr(r->errtext, "cannot run"))
        return xlcp_err_set(err, XLCP_EDISK, "%s", xlcp_lvm_last_line(r));
    return xlcp_err_set(err, XLCP_EDISK, "%s failed (exit %d): %s", what, r->status,
                        xlcp_lvm_last_line(r));
}

int xlcp_lvm_run(const struct lvm_runner *l, const char *vg, char *const args[],
                 struct lvm_result *r, int quiet_fail, struct xlcp_err *err)
{
    return xlcp_lvm_run_within(l, vg, args, r, quiet_fail, (uint64_t)l->timeout_s * 1000u, err);
}

/* ---- our lock per VG ----------------------------------------------------------------- */

int xlcp_lvm_vg_lock(const struct lvm_runner *l, const char *vg, int exclusive, uint64_t limit_ms,
                     int *fd_out, struct xlcp_err *err)
{
    char path[XLCP_PATH_MAX + XLCP_NAME_MAX + 16];
    uint64_t until = mono_ms() + limit_ms;
    int fd;

    *fd_out = -1;
    if (mkdir(l->rundir, 0700) != 0 && errno != EEXIST)
        return xlcp_err_errno(err, errno, "mkdir %s", l->rundir);
    snprintf(path, sizeof(path), "%s/vg-%s.lock", l->rundir, vg);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return xlcp_err_errno(err, errno, "open %s", path);
    while (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
        struct timespec ts = {0, 5000000L};
        if (errno != EWOULDBLOCK && errno != EINTR) {
            int e = errno;
            close(fd);
            return xlcp_err_errno(err, e, "lock %s", path);
        }
        if (mono_ms() >= until) {
            close(fd);
            return xlcp_err_set(err, XLCP_ETIMEDOUT,
                                "the lock of volume group %s (%s) stayed taken for %" PRIu64
                                " ms (another checkpoint's LVM command or re-point in it)",
                                vg, path, limit_ms);
        }
        nanosleep(&ts, NULL);
    }
    *fd_out = fd;
    return 0;
}

void xlcp_lvm_vg_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* the lock goes with its last descriptor */
}

int xlcp_lvm_run_simple(const struct lvm_runner *run, const char *vg, char *const args[],
                        struct xlcp_err *err)
{
    struct lvm_result *r = malloc(sizeof(*r));
    int rc;

    if (!r)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    rc = xlcp_lvm_run(run, vg, args, r, 0, err);
    free(r);
    return rc;
}
