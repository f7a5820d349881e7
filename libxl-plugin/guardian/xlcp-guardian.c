/*
 * xlcp-guardian.c - the guardian helper program (protocol in libxl-plugin/src/guardian.h).
 *
 * The library starts it with its end of a socket as fd 3 before it touches a guest or a
 * disk, and tells it what is under way. If the socket closes without "D" (the tool died,
 * even by SIGKILL), it undoes, in this order:
 *
 *   1. the domain: if the very domain we were saving (same domid AND uuid) is suspended,
 *      it resumes it (suspend cancelled);
 *   2. thin volumes whose re-point was under way are put back (create_thin <id> on their
 *      pool: LVM's metadata still describes a plain thin volume; EEXIST if it was done),
 *      then every device we held is resumed: the guest's writes flow again;
 *   3. a domain that was asked to suspend ("A") but still runs may stop late (a guest
 *      that took the request stops when its freezer is done): it waits for that up to
 *      60 s, as the save itself does, and resumes it then.
 *
 * It reports what it did on stderr (the tool's) and to syslog. It runs in a session of
 * its own and ignores SIGINT, SIGHUP, SIGTERM and SIGPIPE.
 *
 * XLCP_GUARDIAN_DRYRUN=<file> (tests): nothing is done, only said ("would resume ..."),
 * and the domain's state is read from <file>: "<domid> <uuid> running|suspended|gone".
 * XLCP_GUARDIAN_LATE_MS then bounds the wait of step 3.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "disk_dm.h"
#include "hv_xen_int.h"

#define MAX_HELD 64
#define LATE_STOP_MS 60000
#define POLL_MS 100

enum dom_now { DOM_GONE, DOM_RUNNING, DOM_SUSPENDED };

struct undo {
    uint32_t domid;
    char uuid[40];
    int have_dom, asked; /* "S" and "A" seen */
    struct {
        char kind; /* 'H' (held) or 'P' (re-point under way) */
        unsigned maj, min, id;
    } dev[MAX_HELD];
    int ndev;
};

static const char *dryrun; /* the fake domain's file, or NULL */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "xl-checkpoint guardian: %s\n", msg);
    if (!dryrun)
        syslog(LOG_WARNING, "%s", msg);
}

/* ---- what it undoes, for real or as a dry run ------------------------------------ */

static libxl_ctx *ctx;

static int xen_open(void)
{
    xentoollog_logger_stdiostream *lg;

    if (ctx)
        return 0;
    lg = xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0);
    if (!lg || libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, (xentoollog_logger *)lg) != 0) {
        say("cannot open libxl: the domain cannot be resumed");
        ctx = NULL;
        return -1;
    }
    return 0;
}

static enum dom_now dom_state(const struct undo *u)
{
    enum dom_now now = DOM_GONE;

    if (dryrun) {
        FILE *f = fopen(dryrun, "re");
        unsigned domid = 0;
        char uuid[40] = "", state[16] = "";

        if (f && fscanf(f, "%u %39s %15s", &domid, uuid, state) == 3 && domid == u->domid &&
            strcmp(uuid, u->uuid) == 0)
            now = strcmp(state, "suspended") == 0 ? DOM_SUSPENDED
                  : strcmp(state, "running") == 0 ? DOM_RUNNING
                                                  : DOM_GONE;
        if (f)
            fclose(f);
        return now;
    }
    if (xen_open() == 0) {
        libxl_dominfo di;

        libxl_dominfo_init(&di);
        if (hx_same_domain(ctx, u->domid, u->uuid, &di) && !di.dying)
            now = !di.shutdown                                          ? DOM_RUNNING
                  : di.shutdown_reason == LIBXL_SHUTDOWN_REASON_SUSPEND ? DOM_SUSPENDED
                                                                        : DOM_GONE;
        libxl_dominfo_dispose(&di);
    }
    return now;
}

static void dom_resume(const struct undo *u, const char *when)
{
    int rc = 0;

    if (dryrun) {
        say("would resume domain %u (%s), %s", u->domid, u->uuid, when);
        return;
    }
    rc = libxl_domain_resume(ctx, u->domid, 1, NULL);
    say("the checkpoint of domain %u (%s) was interrupted: %s, %s", u->domid, u->uuid,
        rc == 0 ? "guest resumed" : "RESUME FAILED", when);
}

static void dev_undo(char kind, unsigned maj, unsigned min, unsigned id)
{
    struct xlcp_err err;
    char msg[64];
    int rc;

    xlcp_err_clear(&err);
    if (kind == 'P') {
        snprintf(msg, sizeof(msg), "create_thin %u", id);
        if (dryrun) {
            say("would send '%s' to pool %u:%u", msg, maj, min);
            return;
        }
        rc = xlcp_dm_message(makedev(maj, min), msg, &err); /* EEXIST if it was done */
        say("thin device %u of pool %u:%u %s", id, maj, min,
            rc == 0 ? "put back" : "not put back (its re-point was done, or see above)");
        return;
    }
    if (dryrun) {
        say("would resume device %u:%u", maj, min);
        return;
    }
    if (xlcp_dm_resume(makedev(maj, min), &err) == 0)
        say("writes to %u:%u flow again", maj, min);
    else
        say("%s", err.msg);
}

static void undo_all(const struct undo *u)
{
    enum dom_now now = u->have_dom ? dom_state(u) : DOM_GONE;
    const char *late = getenv("XLCP_GUARDIAN_LATE_MS");
    unsigned limit = dryrun && late ? (unsigned)strtoul(late, NULL, 10) : LATE_STOP_MS;

    if (now == DOM_SUSPENDED)
        dom_resume(u, "it was suspended");
    for (int i = 0; i < u->ndev; i++)
        if (u->dev[i].kind == 'P')
            dev_undo('P', u->dev[i].maj, u->dev[i].min, u->dev[i].id);
    for (int i = 0; i < u->ndev; i++)
        if (u->dev[i].kind == 'H')
            dev_undo('H', u->dev[i].maj, u->dev[i].min, 0);
    if (now != DOM_RUNNING || !u->asked)
        return;
    say("domain %u was asked to suspend: waiting up to %u s for it to stop", u->domid,
        limit / 1000);
    for (unsigned waited = 0; waited < limit; waited += POLL_MS) {
        struct timespec ts = {0, POLL_MS * 1000000L};

        nanosleep(&ts, NULL);
        now = dom_state(u);
        if (now == DOM_SUSPENDED) {
            dom_resume(u, "it stopped late");
            return;
        }
        if (now == DOM_GONE)
            return;
    }
    say("domain %u did not stop: left running", u->domid);
}

/* ---- the protocol ---------------------------------------------------------------- */

/* One line; 1 once "D" came. */
static int take(struct undo *u, const char *line)
{
    unsigned a = 0, b = 0, id = 0;
    char kind = line[0];

    if (kind == 'D')
        return 1;
    if (kind == 'S' && sscanf(line, "S %u %39s", &a, u->uuid) == 2) {
        u->domid = a;
        u->have_dom = 1;
    } else if (kind == 'A') {
        u->asked = u->have_dom;
    } else if ((kind == 'H' || kind == 'P') && sscanf(line + 1, "%u %u %u", &a, &b, &id) >= 2) {
        if (u->ndev == MAX_HELD) {
            say("too many devices under way: %c %u:%u not guarded", kind, a, b);
            return 0;
        }
        u->dev[u->ndev].kind = kind;
        u->dev[u->ndev].maj = a;
        u->dev[u->ndev].min = b;
        u->dev[u->ndev].id = id;
        u->ndev++;
    } else if ((kind == 'R' || kind == 'Q') && sscanf(line + 1, "%u %u %u", &a, &b, &id) >= 2) {
        char was = kind == 'R' ? 'H' : 'P';
        for (int i = 0; i < u->ndev; i++)
            if (u->dev[i].kind == was && u->dev[i].maj == a && u->dev[i].min == b &&
                (was == 'H' || u->dev[i].id == id)) {
                u->dev[i] = u->dev[--u->ndev];
                break;
            }
    }
    return 0;
}

static void close_others(void)
{
    if (close_range(4, ~0U, 0) != 0) {
        long max = sysconf(_SC_OPEN_MAX);
        for (long fd = 4; fd < (max > 0 ? max : 65536); fd++)
            close((int)fd);
    }
}

int main(void)
{
    static struct undo u;
    char buf[4096];
    size_t len = 0;

    dryrun = getenv("XLCP_GUARDIAN_DRYRUN");
    close_others();
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    openlog("xlcp-guardian", LOG_PID, LOG_DAEMON);
    if (write(3, "r", 1) != 1)
        return 1;
    for (;;) {
        ssize_t r = read(3, buf + len, sizeof(buf) - 1 - len);
        char *line, *nl;

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        line = buf;
        while ((nl = strchr(line, '\n')) != NULL) {
            *nl = '\0';
            if (take(&u, line))
                return 0;
            line = nl + 1;
        }
        len = strlen(line);
        memmove(buf, line, len + 1);
        if (len == sizeof(buf) - 1)
            len = 0; /* a line that long is none of ours */
    }
    /* we were left without a word: undo what is under way */
    if (u.have_dom || u.ndev)
        undo_all(&u);
    return 0;
}
