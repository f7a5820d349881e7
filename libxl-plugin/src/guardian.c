/*
 * guardian.c - the library's side of the guardian (see guardian.h): starting the helper
 * program, telling it what is under way, telling it we are done.
 */
#include "guardian.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef XLCP_GUARDIAN_PATH
#define XLCP_GUARDIAN_PATH "/usr/local/libexec/xl-checkpoint/xlcp-guardian"
#endif

/* How long the helper may take to say it is ready (it only sets itself up). */
#define READY_MS 10000

extern char **environ;

static const char *helper_path(void)
{
    const char *p = getenv("XLCP_GUARDIAN");

    return p && *p ? p : XLCP_GUARDIAN_PATH;
}

static void reap(pid_t pid)
{
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* Its end of the socket becomes its fd 3, stdin and stdout /dev/null, stderr stays ours
 * (it reports what it undid there and to syslog); a session of its own, so that a Ctrl-C
 * or a hang-up of our terminal does not reach it; default signal handling. */
static int spawn(const char *path, int fd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, all;
    char *argv[] = {(char *)"xlcp-guardian", NULL};
    int rc;

    sigemptyset(&none);
    sigfillset(&all);
    if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
        return rc;
    if ((rc = posix_spawnattr_init(&at)) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return rc;
    }
    rc = posix_spawn_file_actions_adddup2(&fa, fd, 3);
    if (!rc)
        rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (!rc)
        rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (!rc)
        rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                               POSIX_SPAWN_SETSIGDEF);
    if (!rc)
        rc = posix_spawnattr_setsigmask(&at, &none);
    if (!rc)
        rc = posix_spawnattr_setsigdefault(&at, &all);
    if (!rc)
        rc = posix_spawn(pid, path, &fa, &at, argv, environ);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

int xlcp_guardian_start(struct xlcp_guardian *g, struct xlcp_err *err)
{
    const char *path = helper_path();
    struct pollfd p;
    char c = 0;
    int sv[2];
    pid_t pid = 0;
    int rc;

    if (g->pid > 0)
        return 0;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return xlcp_err_errno(err, errno, "socket for the guardian");
    /* dup2 onto itself would keep close-on-exec set: its end must not already be fd 3 */
    if (sv[1] == 3) {
        int fd = fcntl(sv[1], F_DUPFD_CLOEXEC, 4);
        close(sv[1]);
        sv[1] = fd;
    }
    rc = sv[1] < 0 ? errno : spawn(path, sv[1], &pid);
    if (sv[1] >= 0)
        close(sv[1]);
    if (rc) {
        close(sv[0]);
        return xlcp_err_errno(err, rc, "cannot start the guardian %s", path);
    }
    /* it says 'r' once it is set up: only then may the guest be touched */
    p = (struct pollfd){.fd = sv[0], .events = POLLIN};
    do
        rc = poll(&p, 1, READY_MS);
    while (rc < 0 && errno == EINTR);
    if (rc != 1 || recv(sv[0], &c, 1, 0) != 1 || c != 'r') {
        close(sv[0]);
        kill(pid, SIGKILL);
        reap(pid);
        return xlcp_err_set(err, XLCP_EINTERNAL, "the guardian %s did not start (%s)", path,
                            rc == 0 ? "no answer within 10 s" : "it exited");
    }
    g->pid = pid;
    g->fd = sv[0];
    return 0;
}

int xlcp_guardian_say(struct xlcp_guardian *g, const char *fmt, ...)
{
    char line[128];
    va_list ap;
    int n;

    if (g->pid <= 0)
        return -1;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n <= 0 || (size_t)n >= sizeof(line))
        return -1;
    /* MSG_NOSIGNAL: a guardian gone must not take us with it by SIGPIPE */
    for (size_t off = 0; off < (size_t)n;) {
        ssize_t w = send(g->fd, line + off, (size_t)n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

void xlcp_guardian_stop(struct xlcp_guardian *g)
{
    if (g->pid <= 0)
        return;
    xlcp_guardian_say(g, "D\n");
    close(g->fd);
    reap(g->pid);
    g->pid = 0;
    g->fd = -1;
}
