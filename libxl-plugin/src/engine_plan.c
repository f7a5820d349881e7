/*
 * engine_plan.c - the dry run of create (`xl checkpoint create -n`, as xl's -n): what a
 * checkpoint of a domain would do and whether its checks pass, with nothing touched. It
 * makes the read-only checks of create's prepare step (the domain and its state, each
 * disk, the volume groups' and the catalog's room, the guest's module) and lists what a
 * real run would make: no lock, no intent record, no volume, no suspend.
 */
#include "engine.h"
#include "engine_run.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct plan {
    char *text;
    size_t len, cap;
    int oom;
};

static void say(struct plan *pl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct plan *pl, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (pl->oom)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(pl->text + pl->len, pl->cap - pl->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            pl->oom = 1;
            return;
        }
        if ((size_t)n + 2 < pl->cap - pl->len)
            break;
        char *t = realloc(pl->text, pl->cap * 2 + (size_t)n);
        if (!t) {
            pl->oom = 1;
            return;
        }
        pl->text = t;
        pl->cap = pl->cap * 2 + (size_t)n;
    }
    pl->len += (size_t)n;
    pl->text[pl->len++] = '\n';
    pl->text[pl->len] = '\0';
}

static void mib(uint64_t b, char *buf, size_t len)
{
    snprintf(buf, len, "%" PRIu64 " MiB", b >> 20);
}

/* The disks: each inspected; the snapshots a run would make. Returns the first refusal. */
static int plan_disks(const struct xlcp_ports *p, const struct xlcp_domain *dom,
                      const xlcp_create_options *o, struct plan *pl, struct xlcp_err *err)
{
    struct xlcp_volume vols[XLCP_MAX_DISKS];
    int nvols = 0, first = 0;
    char sz[32];

    for (int i = 0; i < dom->ndisks; i++) {
        const struct xlcp_disk_spec *ds = &dom->disks[i];
        struct xlcp_err derr;
        int rc;

        if (ds->is_cdrom) {
            say(pl, "disk %s: %s: a CD-ROM, skipped", ds->vdev, ds->target);
            continue;
        }
        xlcp_err_clear(&derr);
        rc = CALL(&p->disk, inspect, ds->target, &vols[nvols], &derr);
        if (rc == XLCP_EUNSUPPORTED && o->skip_non_lvm) {
            say(pl, "disk %s: %s: not LVM, skipped (--skip-non-lvm): nothing captured", ds->vdev,
                ds->target);
            continue;
        }
        if (rc) {
            say(pl, "disk %s: REFUSED: %s", ds->vdev, derr.msg);
            if (!first) {
                first = rc;
                *err = derr;
                xlcp_err_prefix(err, "disk %s", ds->vdev);
            }
            continue;
        }
        mib(vols[nvols].size_bytes, sz, sizeof(sz));
        if (vols[nvols].thin)
            say(pl,
                "disk %s: %s/%s, thin in pool %s (%s): a thin snapshot %s/%s.xlcp.<id>, "
                "made inside the pool at the instant",
                ds->vdev, vols[nvols].vg, vols[nvols].lv, vols[nvols].pool, sz, vols[nvols].vg,
                vols[nvols].lv);
        else
            say(pl,
                "disk %s: %s/%s, thick (%s): a snapshot %s/%s.xlcp.<id> of %s of its "
                "size, taken at the instant",
                ds->vdev, vols[nvols].vg, vols[nvols].lv, sz, vols[nvols].vg, vols[nvols].lv,
                o->snapshot_size ? o->snapshot_size : "20%");
        snprintf(vols[nvols].vdev, sizeof(vols[nvols].vdev), "%s", ds->vdev);
        nvols++;
    }
    if (nvols > 0) {
        struct xlcp_err serr;
        xlcp_err_clear(&serr);
        if (CALL(&p->disk, check_space, vols, nvols, o->snapshot_size, &serr) != 0) {
            say(pl, "room for the snapshots: NOT ENOUGH: %s", serr.msg);
            if (!first) {
                first = serr.code ? serr.code : XLCP_ENOSPC;
                *err = serr;
            }
        } else {
            say(pl, "room for the snapshots: enough");
        }
    }
    return first;
}

int xlcp_engine_plan(const struct xlcp_ports *p, const char *domain, const xlcp_create_options *o,
                     char **report_out, struct xlcp_err *err)
{
    struct plan pl = {malloc(1024), 0, 1024, 0};
    struct xlcp_domain dom;
    struct xlcp_guest_features f;
    uint64_t mem, need, avail = 0;
    char where[XLCP_PATH_MAX], a[32], b[32];
    int rc, first = 0;

    xlcp_err_clear(err);
    *report_out = NULL;
    if (!pl.text)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    pl.text[0] = '\0';
    rc = CALL(HV(p), lookup, domain, &dom, err);
    if (rc) {
        free(pl.text);
        return rc;
    }
    mib(dom.memory_kib * 1024u, a, sizeof(a));
    say(&pl, "domain %s (id %u, %s): %s, %s of memory", dom.name, dom.domid, dom.uuid,
        xlcp_domstate_name(dom.state), a);
    if (dom.state != XLCP_DOM_RUNNING) {
        first = xlcp_err_set(err, XLCP_ESTATE, "domain is %s, not running",
                             xlcp_domstate_name(dom.state));
        say(&pl, "REFUSED: %s", err->msg);
    } else if (!dom.pv) {
        first = xlcp_err_set(err, XLCP_EUNSUPPORTED,
                             "only PV and PVH guests are supported for now (HVM: no)");
        say(&pl, "REFUSED: %s", err->msg);
    }
    if (!first) {
        struct xlcp_err ferr;
        xlcp_err_clear(&ferr);
        if (CALL(HV(p), guest_features, &dom, &f, &ferr) == 0) {
            if (f.has_module && f.light_suspend)
                say(&pl,
                    "suspend: the light path (guest module, protocol %u): the guest "
                    "resumes in place",
                    f.protocol);
            else
                say(&pl, "suspend: the stock path (control/shutdown); no guest module");
            if (o->quiesce)
                say(&pl, "quiesce: %s",
                    !f.can_quiesce         ? "asked, but the guest cannot: crash-consistent"
                    : f.quiesce_at_suspend ? "file systems frozen inside the stop"
                                           : "file systems frozen for the checkpoint");
        } else {
            say(&pl, "suspend: cannot read the guest's features: %s", ferr.msg);
        }
        say(&pl, "memory: %s",
            o->live ? "copied while the guest runs if Xen tracks its dirty "
                      "pages (PVH; PV needs a Xen with shadow paging), "
                      "else with the guest stopped"
                    : "copied with the guest stopped (--no-live)");
        rc = plan_disks(p, &dom, o, &pl, err);
        if (rc && !first)
            first = rc;
        mem = dom.memory_kib * 1024u;
        need = mem + mem / 8 + (16u << 20);
        struct xlcp_err cerr;
        xlcp_err_clear(&cerr);
        if (CALL(&p->store, free_bytes, &avail, where, sizeof(where), &cerr) != 0) {
            say(&pl, "catalog: cannot tell its free space: %s", cerr.msg);
        } else {
            mib(need, a, sizeof(a));
            mib(avail, b, sizeof(b));
            say(&pl, "catalog %s: about %s needed, %s free%s", where, a, b,
                avail < need ? ": NOT ENOUGH" : "");
            if (avail < need && !first)
                first =
                    xlcp_err_set(err, XLCP_ENOSPC,
                                 "not enough room in the catalog %s for the memory image", where);
        }
    }
    say(&pl, "%s; nothing was touched (dry run)",
        first ? "a checkpoint would be refused" : "a checkpoint would be taken");
    if (pl.oom) {
        free(pl.text);
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    }
    *report_out = pl.text;
    if (first)
        xlcp_err_prefix(err, "domain '%s' step prepare (dry run)", dom.name);
    return first;
}
