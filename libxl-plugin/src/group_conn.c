/*
 * group_conn.c - the coordinator's connections to a group's agents (group_conn.h): start
 * them, say a word to all, collect every host's answer to a phase within its bound. A
 * phase is strict (the first host that fails, says "fail", falls silent or goes away fails
 * it: the group aborts) or lenient (that host is marked and the others go on: status,
 * verify, delete report per member).
 */
#include "group_conn.h"

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HELLO_WAIT_MS 60000
#define LINE (XLCP_PROTO_LINE_MAX + 1)

void xlcp_hosts_init(struct xlcp_hosts *hs, const char *group)
{
    const char *pw = getenv("XLCP_GROUP_PHASE_WAIT_MS");

    memset(hs, 0, sizeof(*hs));
    hs->group = group;
    hs->phase_wait_ms = pw && atoi(pw) > 0 ? (unsigned int)atoi(pw) : 120000u;
}

struct xlcp_host *xlcp_hosts_add(struct xlcp_hosts *hs, const char *host, size_t i)
{
    size_t k;
    struct xlcp_host *h;

    for (k = 0; k < hs->nh && strcmp(hs->h[k].name, host) != 0; k++)
        ;
    if (k == XLCP_GROUP_MAX)
        return NULL;
    h = &hs->h[k];
    if (k == hs->nh) {
        snprintf(h->name, sizeof(h->name), "%s", host);
        h->t.pid = -1;
        h->t.fd = -1;
        hs->nh++;
    }
    if (h->n == XLCP_GROUP_MAX)
        return NULL;
    h->member[h->n++] = i;
    return h;
}

void xlcp_host_failed(struct xlcp_host *h, const struct xlcp_err *err)
{
    const char *why = err->msg;
    size_t hl = strlen(h->name);

    h->gone = 1;
    h->answered = 1;
    h->rc = err->code ? err->code : XLCP_EIO;
    /* its members' reports name the host: "host H: cause" -> "cause",
     * "host H (phase): cause" -> "phase: cause" */
    if (strncmp(why, "host ", 5) == 0 && strncmp(why + 5, h->name, hl) == 0) {
        if (strncmp(why + 5 + hl, ": ", 2) == 0)
            why += 7 + hl;
        else if (strncmp(why + 5 + hl, " (", 2) == 0 && strstr(why, "): ")) {
            const char *end = strstr(why, "): ");
            snprintf(h->why, sizeof(h->why), "%.*s: %s", (int)(end - why - 7 - hl), why + 7 + hl,
                     end + 3);
            return;
        }
    }
    snprintf(h->why, sizeof(h->why), "%s", why);
}

void xlcp_hosts_tell(struct xlcp_hosts *hs, const char *word)
{
    for (size_t k = 0; k < hs->nh; k++) {
        struct xlcp_err e2;
        xlcp_err_clear(&e2);
        if (!hs->h[k].gone && hs->h[k].t.fd >= 0 && xlcp_proto_send(&hs->h[k].io, &e2, "%s", word))
            xlcp_host_failed(&hs->h[k], &e2);
    }
}

/* "fail CODE MESSAGE": the agent's own failure, its message without the group's name
 * (said once, by us). */
static int agent_failed(const struct xlcp_hosts *hs, struct xlcp_host *h, char *line,
                        struct xlcp_err *err)
{
    char prefix[XLCP_GROUP_NAME_MAX + 16];
    char *w[3];
    int64_t code;

    h->gone = 1;
    snprintf(prefix, sizeof(prefix), "group '%s': ", hs->group ? hs->group : "");
    if (xlcp_proto_split(line, w, 3, 1) == 3 && xlcp_proto_i64(w[1], &code) == 0 && code < 0 &&
        code >= XLCP_EINTERNAL) {
        const char *msg = w[2];
        size_t pl = strlen(prefix);
        if (strncmp(msg, prefix, pl) == 0)
            msg += pl;
        return xlcp_err_set(err, (int)code, "host %s: %s", h->name, msg);
    }
    return xlcp_err_set(err, XLCP_EINVAL, "host %s: protocol: a malformed 'fail' line", h->name);
}

/* One buffered line of h, handed to the phase. 1: h is complete; 0: more; < 0: h failed. */
static int one_line(struct xlcp_hosts *hs, struct xlcp_host *h, const struct xlcp_collect *how,
                    struct xlcp_err *err)
{
    char line[LINE], copy[LINE], *w[XLCP_PROTO_WORDS];
    int nw, rc = xlcp_proto_recv(&h->io, 0, line, err);

    if (rc)
        return xlcp_err_prefix(err, "host %s", h->name);
    snprintf(copy, sizeof(copy), "%s", line);
    /* the last word keeps the rest: a message in free text (xlcp_proto_rest) */
    nw = xlcp_proto_split(line, w, XLCP_PROTO_WORDS, 1);
    if (nw >= 1 && strcmp(w[0], "fail") == 0)
        return agent_failed(hs, h, copy, err);
    rc = nw < 1 ? xlcp_err_set(err, XLCP_EINVAL, "protocol: a malformed line")
                : how->on_line(how->arg, h, w, nw, err);
    if (rc < 0)
        return xlcp_err_prefix(err, "host %s (%s)", h->name, how->what);
    return rc;
}

int xlcp_hosts_collect(struct xlcp_hosts *hs, const struct xlcp_collect *how, struct xlcp_err *err)
{
    uint64_t deadline = how->deadline_ms, tick = xlcp_proto_now_ms() + how->tick_ms;
    unsigned int rule_ms = how->rule_ms;
    size_t left = 0;

    for (size_t k = 0; k < hs->nh; k++) {
        hs->h[k].answered = hs->h[k].gone;
        left += !hs->h[k].answered;
    }
    while (left > 0) {
        struct pollfd pf[XLCP_GROUP_MAX];
        struct xlcp_host *hk[XLCP_GROUP_MAX];
        int np = 0, rc;

        for (size_t k = 0; k < hs->nh; k++) {
            struct xlcp_host *h = &hs->h[k];
            while (!h->answered && xlcp_proto_has_line(&h->io)) {
                rc = one_line(hs, h, how, err);
                if (how->extend_ms && deadline < xlcp_proto_now_ms() + how->extend_ms)
                    deadline = xlcp_proto_now_ms() + how->extend_ms;
                if (rc < 0 && !how->lenient)
                    return rc;
                if (rc < 0)
                    xlcp_host_failed(h, err);
                if (rc != 0) {
                    h->answered = 1;
                    left--;
                }
                if (rc == 1 && rule_ms) {
                    uint64_t until = xlcp_proto_now_ms() + rule_ms;
                    deadline = until < deadline ? until : deadline;
                    rule_ms = 0;
                }
            }
            if (h->answered)
                continue;
            if (h->io.eof) {
                h->gone = 1;
                if (strcmp(how->what, "hello") == 0) /* ssh said why on our stderr */
                    xlcp_err_set(err, XLCP_EIO,
                                 "host %s: not reached: the transport ended before the agent's "
                                 "hello (ssh's message is above)",
                                 h->name);
                else
                    xlcp_err_set(err, XLCP_EIO, "host %s: the agent is gone (%s)", h->name,
                                 how->what);
                if (!how->lenient)
                    return err->code;
                xlcp_host_failed(h, err);
                left--;
                continue;
            }
            pf[np] = (struct pollfd){h->io.in_fd, POLLIN, 0};
            hk[np++] = h;
        }
        if (left == 0)
            break;
        if (how->tick_ms && xlcp_proto_left_ms(tick) == 0) {
            how->on_tick(how->arg, hs);
            tick = xlcp_proto_now_ms() + how->tick_ms;
        }
        rc = poll(pf, (nfds_t)np,
                  how->tick_ms && tick < deadline ? xlcp_proto_left_ms(tick)
                                                  : xlcp_proto_left_ms(deadline));
        if (rc == 0 && xlcp_proto_left_ms(deadline) == 0) {
            for (int i = 0; i < np; i++) {
                xlcp_err_set(err, XLCP_ETIMEDOUT, "host %s: no answer in time (%s)", hk[i]->name,
                             how->what);
                if (!how->lenient)
                    return err->code;
                xlcp_host_failed(hk[i], err);
                left--;
            }
        }
        for (int i = 0; i < np && rc > 0; i++)
            if (pf[i].revents && xlcp_proto_fill(&hk[i]->io, err) != 0) {
                xlcp_err_prefix(err, "host %s", hk[i]->name);
                if (!how->lenient)
                    return err->code;
                xlcp_host_failed(hk[i], err);
                left--;
            }
    }
    return 0;
}

static int on_hello(void *arg, struct xlcp_host *h, char **w, int nw, struct xlcp_err *err)
{
    uint64_t v;
    unsigned int min = *(const unsigned int *)arg;

    if (nw != 4 || strcmp(w[0], "hello") != 0 || strcmp(w[1], XLCP_PROTO_HELLO) != 0 ||
        xlcp_proto_u64(w[2], &v) != 0)
        return xlcp_err_set(err, XLCP_EINVAL, "protocol: not an agent's hello");
    h->version = (unsigned int)(v > 0xffff ? 0xffff : v);
    if (v < 1 || v > XLCP_PROTO_VERSION)
        return xlcp_err_set(err, XLCP_EUNSUPPORTED,
                            "the agent speaks protocol %" PRIu64 ", we speak %d", v,
                            XLCP_PROTO_VERSION);
    if (v < min)
        return xlcp_err_set(err, XLCP_EUNSUPPORTED,
                            "the agent speaks protocol %" PRIu64 ", this needs %u (a newer "
                            "xl-checkpoint on that host)",
                            v, min);
    return 1;
}

int xlcp_hosts_start(struct xlcp_hosts *hs, unsigned int min_version, int lenient,
                     struct xlcp_err *err)
{
    struct xlcp_collect how = {on_hello, &min_version, "hello", 0, 0, 0, lenient, 0, NULL};

    for (size_t k = 0; k < hs->nh; k++) {
        struct xlcp_host *h = &hs->h[k];
        if (xlcp_transport_open(h->name, &h->t, err) != 0) {
            if (!lenient)
                return err->code;
            xlcp_host_failed(h, err);
            continue;
        }
        xlcp_proto_init(&h->io, h->t.fd, h->t.fd);
    }
    how.deadline_ms = xlcp_proto_now_ms() + HELLO_WAIT_MS;
    return xlcp_hosts_collect(hs, &how, err);
}

void xlcp_hosts_close(struct xlcp_hosts *hs)
{
    for (size_t k = 0; k < hs->nh; k++)
        xlcp_transport_close(&hs->h[k].t, hs->phase_wait_ms + 15000u);
}
