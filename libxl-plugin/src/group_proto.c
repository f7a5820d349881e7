/*
 * group_proto.c - reading and writing the lines of the coordinator/agent protocol of
 * group checkpoints across hosts (group_proto.h, libxl-plugin/man/group-agent.md).
 * Every read has a time limit: a peer that stops talking is noticed, never waited for.
 */
#include "group_proto.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void xlcp_proto_init(struct xlcp_proto *p, int in_fd, int out_fd)
{
    memset(p, 0, sizeof(*p));
    p->in_fd = in_fd;
    p->out_fd = out_fd;
}

uint64_t xlcp_proto_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int xlcp_proto_left_ms(uint64_t deadline_ms)
{
    uint64_t now = xlcp_proto_now_ms();

    if (now >= deadline_ms)
        return 0;
    return deadline_ms - now > 0x7fffffff ? 0x7fffffff : (int)(deadline_ms - now);
}

/* A socket: no SIGPIPE when the peer is gone; a pipe: the process ignores SIGPIPE. */
static ssize_t put(int fd, const char *b, size_t n)
{
    ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

    if (w < 0 && errno == ENOTSOCK)
        w = write(fd, b, n);
    return w;
}

int xlcp_proto_send(struct xlcp_proto *p, struct xlcp_err *err, const char *fmt, ...)
{
    char line[XLCP_PROTO_LINE_MAX + 2];
    va_list ap;
    int len;
    size_t off = 0;

    va_start(ap, fmt);
    len = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len > XLCP_PROTO_LINE_MAX)
        return xlcp_err_set(err, XLCP_EINTERNAL, "protocol line too long");
    for (int i = 0; i < len; i++) /* free text (error messages) made printable */
        if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e)
            line[i] = '?';
    line[len++] = '\n';
    while (off < (size_t)len) {
        ssize_t w = put(p->out_fd, line + off, (size_t)len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return xlcp_err_set(err, XLCP_EIO, "the peer is gone (%s)",
                                w < 0 ? strerror(errno) : "write returned 0");
        off += (size_t)w;
    }
    return 0;
}

int xlcp_proto_has_line(const struct xlcp_proto *p)
{
    return memchr(p->buf, '\n', p->len) != NULL || p->len > XLCP_PROTO_LINE_MAX;
}

int xlcp_proto_fill(struct xlcp_proto *p, struct xlcp_err *err)
{
    ssize_t r;

    if (p->len >= sizeof(p->buf))
        return 0;
    do
        r = read(p->in_fd, p->buf + p->len, sizeof(p->buf) - p->len);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return xlcp_err_set(err, XLCP_EIO, "reading from the peer: %s", strerror(errno));
    if (r == 0)
        p->eof = 1;
    p->len += (size_t)r;
    return 0;
}

int xlcp_proto_recv(struct xlcp_proto *p, int timeout_ms, char *line, struct xlcp_err *err)
{
    uint64_t deadline = timeout_ms < 0 ? 0 : xlcp_proto_now_ms() + (uint64_t)timeout_ms;
    char *nl;
    size_t n;

    while (!xlcp_proto_has_line(p)) {
        struct pollfd pf = {p->in_fd, POLLIN, 0};
        int rc;
        if (p->eof)
            return xlcp_err_set(err, XLCP_EIO, "the peer is gone (end of its output)");
        rc = poll(&pf, 1, timeout_ms < 0 ? -1 : xlcp_proto_left_ms(deadline));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return xlcp_err_set(err, XLCP_EIO, "waiting for the peer: %s", strerror(errno));
        if (rc == 0)
            return xlcp_err_set(err, XLCP_ETIMEDOUT, "the peer said nothing for %d ms", timeout_ms);
        if ((rc = xlcp_proto_fill(p, err)) != 0)
            return rc;
    }
    nl = memchr(p->buf, '\n', p->len);
    if (!nl || nl - p->buf > XLCP_PROTO_LINE_MAX) {
        p->len = 0; /* the rest of this line is not worth reading: the peer is refused */
        return xlcp_err_set(err, XLCP_EINVAL, "protocol: a line longer than %d bytes",
                            XLCP_PROTO_LINE_MAX);
    }
    n = (size_t)(nl - p->buf);
    memcpy(line, p->buf, n);
    line[n] = '\0';
    memmove(p->buf, nl + 1, p->len - n - 1);
    p->len -= n + 1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e)
            return xlcp_err_set(err, XLCP_EINVAL,
                                "protocol: a line with a byte that is not printable ASCII");
    return 0;
}

int xlcp_proto_split(char *line, char **words, int max, int rest)
{
    int n = 0;
    char *s = line;

    if (!*s)
        return -1;
    while (*s) {
        char *sp;
        if (n == max)
            return -1;
        if (*s == ' ')
            return -1; /* an empty word: two spaces, or one leading */
        words[n++] = s;
        if (rest && n == max)
            break;
        sp = strchr(s, ' ');
        if (!sp)
            break;
        *sp = '\0';
        s = sp + 1;
        if (!*s)
            return -1; /* a trailing space */
    }
    return n;
}

char *xlcp_proto_rest(char **words, int n, int from)
{
    static char none[] = "";

    if (from >= n)
        return none;
    for (int i = from; i < n - 1; i++)
        words[i][strlen(words[i])] = ' '; /* the split's NUL was a single space */
    return words[from];
}

int xlcp_proto_u64(const char *s, uint64_t *v)
{
    char *end = NULL;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    *v = strtoull(s, &end, 10);
    return errno || !end || *end ? -1 : 0;
}

int xlcp_proto_i64(const char *s, int64_t *v)
{
    char *end = NULL;

    if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
        return -1;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return errno || !end || *end ? -1 : 0;
}

int xlcp_proto_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr("._:@+%=-", c)))
            return 0;
    }
    return 1;
}
