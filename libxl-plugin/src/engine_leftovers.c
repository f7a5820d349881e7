/*
 * engine_leftovers.c - what interrupted runs of `create` left behind, and `recover`.
 *
 * A run writes an intent record before it touches the guest (store.intent_write: the
 * domain, its pid, every snapshot volume it will create, the page store its image goes
 * into) and marks the instant it sees the guest suspended and the instant it resumes it
 * (store.intent_mark). What a run that died left is undone from those records alone,
 * never inferred: every volume a record names is removed, and the map the run may have
 * stored (its id) in the page store the record names is released; the guest is resumed
 * only if the mark proves that this run suspended that very domain (same uuid and domid,
 * suspended and not resumed, its process gone); a record goes only once everything it
 * names is gone. A domain suspended by anyone else (xl save, xl migrate) is left alone.
 */
#include "engine.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CALL(port, op, ...) ((port)->ops->op((port)->self, __VA_ARGS__))

/* Appends one line to *report (if report is not NULL). */
#define say xlcp_engine_say
void xlcp_engine_say(char **report, const char *fmt, ...)
{
    size_t old = report && *report ? strlen(*report) : 0;
    va_list ap;
    int n;
    char *nr;

    if (!report)
        return;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    nr = realloc(*report, old + (size_t)n + 2);
    if (!nr)
        return;
    va_start(ap, fmt);
    vsnprintf(nr + old, (size_t)n + 1, fmt, ap);
    va_end(ap);
    nr[old + (size_t)n] = '\n';
    nr[old + (size_t)n + 1] = '\0';
    *report = nr;
}

/* The process that wrote a record no longer runs. Our own pid: a run of this process
 * that has ended (the caller holds the domain's lock, which every run holds). */
static int writer_gone(long pid)
{
    if (pid <= 0 || pid == (long)getpid())
        return 1;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Why the guest may not be resumed on this run's behalf, or NULL: the record and its mark
 * prove that this run suspended this very domain and did not resume it. */
static const char *not_ours_to_resume(const struct xlcp_leftover *lo, const struct xlcp_domain *dom)
{
    if (!lo->has_record)
        return "no intent record";
    if (lo->mark == XLCP_MARK_RESUMED)
        return "the run resumed it";
    if (lo->mark != XLCP_MARK_SUSPENDED)
        return "the run never suspended it";
    if (lo->mark_domid != dom->domid || lo->rec.domid != dom->domid ||
        strcmp(lo->mark_uuid, dom->uuid) != 0 || strcmp(lo->rec.dom_uuid, dom->uuid) != 0)
        return "the run suspended another domain (domid or uuid differ)";
    if (!writer_gone(lo->rec.pid))
        return "the run's process still exists";
    return NULL;
}

static void iso_wall(int64_t ns, char *out, size_t len)
{
    time_t secs = (time_t)(ns / 1000000000);
    struct tm tm;

    if (ns <= 0 || !gmtime_r(&secs, &tm)) {
        snprintf(out, len, "an unknown time");
        return;
    }
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The map the run may have stored (named by its id) in the page store its record names:
 * released. 1 if it could not be (the record stays, to try again). */
static int release_map(const struct xlcp_leftover *lo, int dry_run, char **report,
                       struct xlcp_err *err)
{
    struct xlcp_err e2;
    int rc;

    if (dry_run) {
        say(report, "  map %s in page store %s: would release it if it is there", lo->rec.id,
            lo->rec.pagestore_root);
        return 0;
    }
    xlcp_err_clear(&e2);
    rc = xlcp_engine_ps_release(lo->rec.pagestore_root, lo->rec.id, &e2);
    if (rc > 0)
        say(report, "  map %s in page store %s: released", lo->rec.id, lo->rec.pagestore_root);
    if (rc >= 0)
        return 0;
    say(report, "  map %s in page store %s: NOT released (%s): the record stays", lo->rec.id,
        lo->rec.pagestore_root, e2.msg);
    if (err->code == XLCP_OK)
        xlcp_err_set(err, rc, "map of interrupted checkpoint %s: %s", lo->rec.id, e2.msg);
    return 1;
}

/* One leftover: resume (if proven), remove its volumes and its page store map, then its
 * record if nothing is left. */
static int clean_one(const struct xlcp_ports *p, const struct xlcp_leftover *lo,
                     struct xlcp_domain *dom, unsigned int flags, char **report,
                     int *ours_suspended, struct xlcp_err *err)
{
    int dry_run = (flags & XLCP_RECOVER_DRY_RUN) != 0;
    const char *why = NULL;
    char dir[XLCP_PATH_MAX];
    struct xlcp_err e2;
    int left = 0, rc;

    say(report, "checkpoint %s of domain %s: %s%s%s%s", lo->rec.id, lo->rec.dom_uuid,
        lo->has_record ? "intent record" : "no intent record",
        lo->has_tmp ? ", temporary directory" : "", lo->has_del ? ", deletion directory" : "",
        lo->mark == XLCP_MARK_SUSPENDED ? ", guest marked suspended" : "");

    /* A record that outlived its commit: the volumes are the checkpoint's. */
    xlcp_err_clear(&e2);
    if (lo->has_record && CALL(&p->store, locate, lo->rec.id, dir, sizeof(dir), &e2) == 0) {
        say(report, "  committed as %s: %s the record only", dir, dry_run ? "would drop" : "drop");
        return dry_run ? 0 : CALL(&p->store, leftover_remove, lo->rec.dom_uuid, lo->rec.id, err);
    }

    if (dom && dom->state == XLCP_DOM_SUSPENDED) {
        why = not_ours_to_resume(lo, dom);
        if (!why && !(flags & XLCP_RECOVER_RESUME)) {
            /* Proven as far as our own records go; but a guardian (hv) that resumed the
             * guest when the run died does not update the mark, and someone else may
             * have suspended it since: resuming is the user's call (recover --resume). */
            char when[40];
            iso_wall(lo->suspended_at_ns, when, sizeof(when));
            say(report,
                "  domain %s is suspended; checkpoint %s suspended it at %s and died, but it may "
                "have been resumed since and suspended again by another tool: resume it with "
                "`recover --resume` if nothing else is saving or migrating it",
                dom->name, lo->rec.id, when);
            if (ours_suspended)
                *ours_suspended = 1;
            left = 1; /* the record is the proof `recover --resume` needs */
        } else if (!why) {
            char when[40];
            iso_wall(lo->suspended_at_ns, when, sizeof(when));
            if (dry_run) {
                say(report, "  would resume domain %s (suspended by this run at %s)", dom->name,
                    when);
            } else {
                rc = CALL(&p->hv, resume, dom, err);
                if (rc)
                    return xlcp_err_prefix(err,
                                           "resuming domain %s, left suspended by interrupted "
                                           "checkpoint %s at %s",
                                           dom->name, lo->rec.id, when);
                dom->state = XLCP_DOM_RUNNING;
                say(report, "  resumed domain %s (suspended by this run at %s)", dom->name, when);
                rc = CALL(&p->store, intent_mark, lo->rec.dom_uuid, lo->rec.id, XLCP_MARK_RESUMED,
                          dom->domid, 0, err);
                if (rc)
                    return rc;
            }
        } else {
            say(report, "  domain %s is suspended, not by this run (%s): left alone", dom->name,
                why);
        }
    }

    for (int i = 0; i < lo->rec.nvols; i++) {
        struct xlcp_snapshot s;
        int e;

        memset(&s, 0, sizeof(s));
        snprintf(s.vg, sizeof(s.vg), "%s", lo->rec.vols[i].vg);
        snprintf(s.lv, sizeof(s.lv), "%s", lo->rec.vols[i].lv);
        snprintf(s.path, sizeof(s.path), "/dev/%s/%s", s.vg, s.lv);
        xlcp_err_clear(&e2);
        e = CALL(&p->disk, exists, &s, &e2);
        if (e == 0)
            continue;
        if (e > 0 && dry_run) {
            say(report, "  volume %s/%s: would remove", s.vg, s.lv);
            left = 1;
            continue;
        }
        if (e > 0) {
            xlcp_err_clear(&e2);
            e = CALL(&p->disk, remove, &s, &e2);
        }
        if (e < 0) {
            say(report, "  volume %s/%s: NOT removed (%s): the record stays", s.vg, s.lv, e2.msg);
            if (err->code == XLCP_OK)
                xlcp_err_set(err, e, "volume %s/%s of interrupted checkpoint %s: %s", s.vg, s.lv,
                             lo->rec.id, e2.msg);
            left = 1;
        } else {
            say(report, "  volume %s/%s: removed", s.vg, s.lv);
        }
    }
    if (!lo->has_record && lo->has_tmp && xlcp_engine_id_ok(lo->rec.id)) {
        /* a run of a version that wrote no record: its volumes carry its tag */
        char tag[XLCP_ID_MAX + 8];
        snprintf(tag, sizeof(tag), "xlcp-%s", lo->rec.id);
        if (dry_run) {
            say(report, "  would remove volumes tagged %s", tag);
        } else {
            xlcp_err_clear(&e2);
            if (CALL(&p->disk, remove_tagged, tag, &e2) != 0) {
                say(report, "  volumes tagged %s: NOT removed (%s)", tag, e2.msg);
                if (err->code == XLCP_OK)
                    *err = e2;
                left = 1;
            }
        }
    }
    if (lo->has_record && lo->rec.pagestore_root[0])
        left |= release_map(lo, dry_run, report, err);
    if (dry_run || left)
        return err->code;
    rc = CALL(&p->store, leftover_remove, lo->rec.dom_uuid, lo->rec.id, err);
    if (rc == 0)
        say(report, "  record and directories removed");
    return rc;
}

int xlcp_engine_clean_leftovers(const struct xlcp_ports *p, const char *uuid,
                                struct xlcp_domain *dom, unsigned int flags, char **report,
                                unsigned int *count, int *ours_suspended, struct xlcp_err *err)
{
    struct xlcp_leftover *v = NULL;
    size_t n = 0;
    int rc, first = 0;

    rc = CALL(&p->store, leftovers, uuid, &v, &n, err);
    if (rc)
        return rc;
    if (count)
        *count += (unsigned int)n;
    /* every leftover, even after one failed: the first failure is the one reported */
    for (size_t i = 0; i < n; i++) {
        struct xlcp_err e1;
        xlcp_err_clear(&e1);
        rc = clean_one(p, &v[i], dom, flags, report, ours_suspended, &e1);
        if (rc && !first) {
            *err = e1;
            first = rc;
        }
    }
    free(v);
    return first;
}

/* The leftovers of one domain uuid, under its lock. */
static int recover_uuid(const struct xlcp_ports *p, const char *uuid, unsigned int flags,
                        char **report, unsigned int *count, struct xlcp_err *err)
{
    struct xlcp_store_lock *lock = NULL;
    struct xlcp_domain dom;
    int have_dom, rc;

    rc = CALL(&p->store, lock, uuid, &lock, err);
    if (rc)
        return rc;
    rc = CALL(&p->hv, lookup, uuid, &dom, err);
    have_dom = rc == 0;
    if (rc == XLCP_ENOTFOUND)
        rc = 0, xlcp_err_clear(err);
    if (rc == 0)
        rc = xlcp_engine_clean_leftovers(p, uuid, have_dom ? &dom : NULL, flags, report, count,
                                         NULL, err);
    p->store.ops->unlock(p->store.self, lock);
    return rc;
}

int xlcp_engine_recover(const struct xlcp_ports *p, const char *domain, unsigned int flags,
                        char **report_out, unsigned int *count_out, struct xlcp_err *err)
{
    struct xlcp_leftover *v = NULL;
    size_t n = 0;
    char *report = NULL;
    unsigned int count = 0;
    int rc = 0;

    xlcp_err_clear(err);
    *report_out = NULL;
    *count_out = 0;
    /* group runs that died first: a member checkpoint they committed goes with them */
    rc = xlcp_engine_group_recover(p, flags, &report, &count, err);
    if (rc) {
        free(report);
        return xlcp_err_prefix(err, "recover");
    }
    if (domain) {
        struct xlcp_domain dom;
        rc = CALL(&p->hv, lookup, domain, &dom, err);
        if (rc == 0)
            rc = recover_uuid(p, dom.uuid, flags, &report, &count, err);
    }
    if (!domain || rc == XLCP_ENOTFOUND) {
        /* every domain of the catalog; or a domain that is gone, named by its uuid */
        int any = 0;
        xlcp_err_clear(err);
        rc = CALL(&p->store, leftovers, NULL, &v, &n, err);
        /* each domain once, in the order the catalog lists them; all of them, the first
         * failure is the one reported */
        for (size_t i = 0; rc == 0 && i < n; i++) {
            struct xlcp_err e1;
            int seen = 0, r1;
            for (size_t j = 0; j < i; j++)
                seen |= strcmp(v[j].rec.dom_uuid, v[i].rec.dom_uuid) == 0;
            if (seen || (domain && strcmp(domain, v[i].rec.dom_uuid) != 0))
                continue;
            any = 1;
            xlcp_err_clear(&e1);
            r1 = recover_uuid(p, v[i].rec.dom_uuid, flags, &report, &count, &e1);
            if (r1 && err->code == XLCP_OK)
                *err = e1;
        }
        free(v);
        if (rc == 0)
            rc = err->code;
        if (rc == 0 && domain && !any)
            rc =
                xlcp_err_set(err, XLCP_ENOTFOUND, "no domain '%s', and no leftovers of it", domain);
    }
    if (rc == 0 && count == 0)
        say(&report, "nothing left by interrupted checkpoints");
    if (rc) {
        free(report);
        return xlcp_err_prefix(err, "recover");
    }
    *report_out = report ? report : strdup("");
    *count_out = count;
    return *report_out ? 0 : xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
}
