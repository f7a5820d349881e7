/*
 * group_transport.c - how a group's coordinator reaches the agent on a host: like
 * `xl migrate`, over ssh, no daemon and no port of our own. The command is $XLCP_SSH
 * (words separated by spaces; default "ssh -o BatchMode=yes"), then the host, then the
 * agent's command ($XLCP_AGENT_CMD, default "xl-checkpoint group-agent"). Unit tests set
 * XLCP_SSH to a local program that runs an agent on fakes.
 */
#include "group_transport.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_ARGS 32

/* Splits s (copied into buf) on spaces into argv; returns the count or -1. */
static int split_words(const char *s, char *buf, size_t len, char **argv, int max)
{
    int n = 0;

    if (snprintf(buf, len, "%s", s) >= (int)len)
        return -1;
    for (char *t = strtok(buf, " \t"); t; t = strtok(NULL, " \t")) {
        if (n >= max)
            return -1;
        argv[n++] = t;
    }
    return n;
}

int xlcp_transport_open(const char *host, struct xlcp_transport *t, struct xlcp_err *err)
{
    const char *ssh = getenv("XLCP_SSH"), *cmd = getenv("XLCP_AGENT_CMD");
    char sbuf[1024], cbuf[512];
    char *argv[MAX_ARGS + 1];
    posix_spawn_file_actions_t fa;
    int sv[2], n, m, rc;

    t->pid = -1;
    t->fd = -1;
    n = split_words(ssh && *ssh ? ssh : "ssh -o BatchMode=yes", sbuf, sizeof(sbuf), argv,
                    MAX_ARGS - 2);
    if (n < 1)
        return xlcp_err_set(err, XLCP_EINVAL, "bad XLCP_SSH '%s'", ssh ? ssh : "");
    argv[n++] = (char *)host;
    m = split_words(cmd && *cmd ? cmd : "xl-checkpoint group-agent", cbuf, sizeof(cbuf), argv + n,
                    MAX_ARGS - n);
    if (m < 1)
        return xlcp_err_set(err, XLCP_EINVAL, "bad XLCP_AGENT_CMD '%s'", cmd ? cmd : "");
    argv[n + m] = NULL;
    /* a socket for our end: writing to an agent that is gone is an error, not a SIGPIPE */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return xlcp_err_set(err, XLCP_EINTERNAL, "socketpair: %s", strerror(errno));
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
    rc = posix_spawnp(&t->pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(sv[1]);
    if (rc != 0) {
        close(sv[0]);
        t->pid = -1;
        return xlcp_err_set(err, XLCP_EINVAL, "cannot run '%s' to reach host %s: %s", argv[0], host,
                            strerror(rc));
    }
    t->fd = sv[0];
    return 0;
}

/* Closes our end (the agent sees its end of input) and waits for the agent to end at
 * most wait_ms, then kills the transport. Returns its exit status, or -1. */
int xlcp_transport_close(struct xlcp_transport *t, unsigned int wait_ms)
{
    struct timespec slice = {0, 20 * 1000000L};
    int status = -1;

    if (t->fd >= 0) {
        shutdown(t->fd, SHUT_WR);
        close(t->fd);
        t->fd = -1;
    }
    if (t->pid <= 0)
        return -1;
    for (unsigned int waited = 0;; waited += 20) {
        pid_t r = waitpid(t->pid, &status, WNOHANG);
        if (r == t->pid || (r < 0 && errno != EINTR))
            break;
        if (waited >= wait_ms) {
            kill(t->pid, SIGKILL);
            while (waitpid(t->pid, &status, 0) < 0 && errno == EINTR)
                ;
            status = -1;
            break;
        }
        nanosleep(&slice, NULL);
    }
    t->pid = -1;
    return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
