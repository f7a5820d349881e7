/*
 * audit.c - the audit line of each operation (audit.h): to the journal with one field per
 * fact (XLCP_OP, XLCP_ID, XLCP_DOMAIN, XLCP_UUID, XLCP_OUTCOME, XLCP_STOP_US, XLCP_BYTES,
 * SYSLOG_IDENTIFIER=xl-checkpoint), or as "key=value ..." text to syslog or a file.
 */
#include "audit.h"

#include "xlcheckpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#ifdef XLCP_HAVE_SYSTEMD
#include <systemd/sd-journal.h>
#endif

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static const char *outcome(int rc)
{
    return rc == 0 ? "ok" : "error";
}

/* Appends " key=value" to buf; quotes values with spaces or quotes, drops control chars. */
static void kv(char *buf, size_t len, const char *key, const char *val)
{
    size_t n = strlen(buf);
    int quote;

    if (!val || !*val || n + 1 >= len)
        return;
    quote = strpbrk(val, " \t\"=") != NULL;
    n += (size_t)snprintf(buf + n, len - n, "%s%s=%s", n ? " " : "", key, quote ? "\"" : "");
    for (const char *s = val; *s && n + 2 < len; s++) {
        char c = (unsigned char)*s < 0x20 ? ' ' : *s;
        if (c == '"' || c == '\\') {
            if (n + 3 >= len)
                break;
            buf[n++] = '\\';
        }
        buf[n++] = c;
    }
    if (quote && n + 1 < len)
        buf[n++] = '"';
    buf[n < len ? n : len - 1] = '\0';
}

int xlcp_audit_format(const struct xlcp_audit_rec *r, char *buf, size_t len)
{
    char num[32];

    if (!buf || len == 0)
        return -1;
    buf[0] = '\0';
    kv(buf, len, "op", r->op);
    kv(buf, len, "id", r->id);
    kv(buf, len, "domain", r->domain);
    kv(buf, len, "uuid", r->uuid);
    kv(buf, len, "outcome", outcome(r->rc));
    if (r->rc) {
        kv(buf, len, "error", xlcp_strerror(r->rc));
        kv(buf, len, "msg", r->msg);
    }
    if (r->stop_us >= 0) {
        snprintf(num, sizeof(num), "%lld", (long long)r->stop_us);
        kv(buf, len, "stop_us", num);
    }
    if (r->bytes >= 0) {
        snprintf(num, sizeof(num), "%lld", (long long)r->bytes);
        kv(buf, len, "bytes", num);
    }
    if (r->extra && *r->extra) {
        size_t n = strlen(buf);
        snprintf(buf + n, len - n, " %s", r->extra);
    }
    return 0;
}

static void to_file(const char *path, const char *line)
{
    char out[4200];
    int fd, n;

    n = snprintf(out, sizeof(out), "xl-checkpoint: %s\n", line);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(out))
        n = (int)sizeof(out) - 1;
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        fprintf(stderr, "xl-checkpoint: audit: cannot open %s: %s\n", path, strerror(errno));
        return;
    }
    if (write(fd, out, (size_t)n) != n) /* O_APPEND: one write, one line */
        fprintf(stderr, "xl-checkpoint: audit: cannot write %s\n", path);
    close(fd);
}

static void to_syslog(const struct xlcp_audit_rec *r, const char *line)
{
    openlog("xl-checkpoint", LOG_PID, LOG_DAEMON);
    syslog(r->rc ? LOG_WARNING : LOG_INFO, "%s", line);
    closelog();
}

#ifdef XLCP_HAVE_SYSTEMD
static int to_journal(const struct xlcp_audit_rec *r, const char *line)
{
    char stop[32] = "", bytes[32] = "";

    if (r->stop_us >= 0)
        snprintf(stop, sizeof(stop), "%lld", (long long)r->stop_us);
    if (r->bytes >= 0)
        snprintf(bytes, sizeof(bytes), "%lld", (long long)r->bytes);
    return sd_journal_send("MESSAGE=%s", line, "PRIORITY=%d", r->rc ? LOG_WARNING : LOG_INFO,
                           "SYSLOG_IDENTIFIER=xl-checkpoint", "XLCP_OP=%s", r->op, "XLCP_ID=%s",
                           r->id ? r->id : "", "XLCP_DOMAIN=%s", r->domain ? r->domain : "",
                           "XLCP_UUID=%s", r->uuid ? r->uuid : "", "XLCP_OUTCOME=%s",
                           outcome(r->rc), "XLCP_ERROR=%s", r->rc ? xlcp_strerror(r->rc) : "",
                           "XLCP_STOP_US=%s", stop, "XLCP_BYTES=%s", bytes, NULL);
}
#endif

void xlcp_audit(const struct xlcp_audit_rec *r)
{
    const char *mode = getenv("XLCP_AUDIT");
    char line[4096];

    if (!r || !r->op)
        return;
    if (!mode || !*mode)
        mode = "auto";
    if (strcmp(mode, "off") == 0)
        return;
    xlcp_audit_format(r, line, sizeof(line));
    if (strncmp(mode, "file:", 5) == 0) {
        to_file(mode + 5, line);
        return;
    }
#ifdef XLCP_HAVE_SYSTEMD
    if (strcmp(mode, "journal") == 0 ||
        (strcmp(mode, "syslog") != 0 && access(JOURNAL_SOCKET, W_OK) == 0)) {
        /* A busy journald can refuse a datagram: try again once before syslog. */
        if (to_journal(r, line) >= 0)
            return;
        usleep(20000);
        if (to_journal(r, line) >= 0)
            return;
    }
#endif
    to_syslog(r, line);
}
