/*
 * api.c - the public API (xlcheckpoint.h) on top of the engine.
 *
 * A context opened with xlcp_ctx_new holds the real adapters. The catalog is opened at
 * once; Xen and LVM only when an operation needs them, so that list, info and verify
 * --no-disks work on a host (or in a container) without Xen.
 */
#include "audit.h"
#include "ctx.h"
#include "engine.h"

#define fail xlcp_api_fail
#define need_hv xlcp_api_need_hv
#define need_disk xlcp_api_need_disk
#define usable xlcp_api_usable
#define audit xlcp_api_audit

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct xlcp_checkpoint {
    struct xlcp_manifest m;
    char dir[XLCP_PATH_MAX];
    char *xml;
    xlcp_disk_info disks[XLCP_MAX_DISKS];
};

int xlcp_api_fail(xlcp_ctx *ctx, const struct xlcp_err *err)
{
    ctx->last = *err;
    if (ctx->last.code == XLCP_OK)
        ctx->last.code = XLCP_EINTERNAL;
    return ctx->last.code;
}

int xlcp_api_need_hv(xlcp_ctx *ctx)
{
    struct xlcp_err err;

    xlcp_err_clear(&err);
    if (!ctx->owns_ports || ctx->hv_open)
        return 0;
    if (xlcp_hv_xen_open(&ctx->ports.hv, &err) != 0)
        return fail(ctx, &err);
    ctx->hv_open = 1;
    return 0;
}

int xlcp_api_need_disk(xlcp_ctx *ctx)
{
    struct xlcp_err err;

    xlcp_err_clear(&err);
    if (!ctx->owns_ports || ctx->disk_open)
        return 0;
    if (xlcp_disk_lvm_open(&ctx->ports.disk, &err) != 0)
        return fail(ctx, &err);
    ctx->disk_open = 1;
    return 0;
}

static int version_ok(unsigned int have, unsigned int want)
{
    return have == want;
}

/* Audit lines come from contexts on the real adapters only: a context on caller-owned
 * ports (tests, fakes) is not acting on this host. */
void xlcp_api_audit(const xlcp_ctx *ctx, const struct xlcp_audit_rec *rec)
{
    if (ctx && ctx->owns_ports)
        xlcp_audit(rec);
}

int xlcp_ctx_options_init(xlcp_ctx_options *opts, unsigned int version)
{
    if (!opts || !version_ok(version, XLCP_CTX_OPTIONS_VERSION))
        return XLCP_EINVAL;
    xlcp_ctx_options init = XLCP_CTX_OPTIONS_INIT;
    *opts = init;
    return 0;
}

/* Version 1 of the create options ends before at_ns. */
#define CREATE_OPTIONS_V1_SIZE offsetof(xlcp_create_options, at_ns)

int xlcp_create_options_init(xlcp_create_options *opts, unsigned int version)
{
    if (!opts || version < 1 || version > XLCP_CREATE_OPTIONS_VERSION)
        return XLCP_EINVAL;
    xlcp_create_options init = XLCP_CREATE_OPTIONS_INIT;
    init.version = version;
    memcpy(opts, &init, version == 1 ? CREATE_OPTIONS_V1_SIZE : sizeof(init));
    return 0;
}

const xlcp_create_options *xlcp_api_create_opts(const xlcp_create_options *in,
                                                xlcp_create_options *buf)
{
    xlcp_create_options init = XLCP_CREATE_OPTIONS_INIT;

    if (!in || in->version != 1)
        return in; /* the current version, or one the engine refuses */
    *buf = init;
    memcpy(buf, in, CREATE_OPTIONS_V1_SIZE);
    buf->version = XLCP_CREATE_OPTIONS_VERSION;
    return buf;
}

int xlcp_restore_options_init(xlcp_restore_options *opts, unsigned int version)
{
    xlcp_restore_options init = XLCP_RESTORE_OPTIONS_INIT;

    if (!opts || version < 1 || version > XLCP_RESTORE_OPTIONS_VERSION)
        return XLCP_EINVAL;
    if (version < XLCP_RESTORE_OPTIONS_VERSION) { /* a caller's older, shorter struct */
        memcpy(opts, &init, xlcp_restore_options_size(version));
        opts->version = version;
        return 0;
    }
    *opts = init;
    return 0;
}

size_t xlcp_restore_options_size(unsigned int version)
{
    if (version == 1)
        return offsetof(xlcp_restore_options, disk_paths);
    if (version == 2)
        return offsetof(xlcp_restore_options, config_json);
    return sizeof(xlcp_restore_options);
}

static xlcp_ctx *ctx_alloc(void)
{
    xlcp_ctx *ctx = calloc(1, sizeof(*ctx));

    if (ctx)
        xlcp_err_clear(&ctx->last);
    return ctx;
}

int xlcp_ctx_new(xlcp_ctx **out, const xlcp_ctx_options *opts)
{
    struct xlcp_err err;
    xlcp_ctx *ctx;
    int rc;

    if (!out)
        return XLCP_EINVAL;
    *out = NULL;
    if (opts && !version_ok(opts->version, XLCP_CTX_OPTIONS_VERSION))
        return XLCP_EINVAL;
    ctx = ctx_alloc();
    if (!ctx)
        return XLCP_EINTERNAL;
    ctx->owns_ports = 1;
    xlcp_clock_posix(&ctx->ports.clock);
    xlcp_err_clear(&err);
    rc = xlcp_store_fs_open(&ctx->ports.store, opts ? opts->catalog_root : NULL, &err);
    if (rc) {
        /* Hand back the context anyway so that the caller can read the message. */
        ctx->last = err;
        ctx->owns_ports = 0;
        ctx->ports.store.ops = NULL;
        *out = ctx;
        return rc;
    }
    *out = ctx;
    return 0;
}

int xlcp_ctx_new_with_ports(xlcp_ctx **out, const struct xlcp_ports *ports)
{
    xlcp_ctx *ctx;

    if (!out || !ports)
        return XLCP_EINVAL;
    ctx = ctx_alloc();
    if (!ctx)
        return XLCP_EINTERNAL;
    ctx->ports = *ports;
    *out = ctx;
    return 0;
}

void xlcp_ctx_free(xlcp_ctx *ctx)
{
    if (!ctx)
        return;
    if (ctx->owns_ports) {
        if (ctx->hv_open)
            xlcp_hv_xen_close(&ctx->ports.hv);
        if (ctx->disk_open)
            xlcp_disk_lvm_close(&ctx->ports.disk);
        xlcp_store_fs_close(&ctx->ports.store);
    }
    free(ctx);
}

const char *xlcp_last_error(const xlcp_ctx *ctx)
{
    return ctx ? ctx->last.msg : "no context";
}

xlcp_step xlcp_last_error_step(const xlcp_ctx *ctx)
{
    return ctx ? ctx->last.step : XLCP_STEP_NONE;
}

/* A context whose catalog could not be opened can only report that. */
int xlcp_api_usable(xlcp_ctx *ctx)
{
    if (!ctx)
        return XLCP_EINVAL;
    if (!ctx->ports.store.ops)
        return ctx->last.code ? ctx->last.code : XLCP_EINVAL;
    xlcp_err_clear(&ctx->last);
    return 0;
}

int xlcp_create(xlcp_ctx *ctx, const char *domain, const xlcp_create_options *opts,
                char id_out[XLCP_ID_MAX])
{
    xlcp_create_options defaults = XLCP_CREATE_OPTIONS_INIT, v2;
    struct xlcp_manifest m;
    struct xlcp_err err;
    int rc;

    if ((rc = usable(ctx)) || (rc = need_hv(ctx)) || (rc = need_disk(ctx)))
        return rc;
    xlcp_err_clear(&err);
    opts = xlcp_api_create_opts(opts, &v2);
    rc = xlcp_engine_create(&ctx->ports, domain, opts ? opts : &defaults, &m, &err);
    if (rc) {
        audit(ctx,
              &(struct xlcp_audit_rec){"create", NULL, domain, NULL, rc, err.msg, -1, -1, NULL});
        return fail(ctx, &err);
    }
    audit(ctx, &(struct xlcp_audit_rec){"create", m.id, m.dom_name, m.dom_uuid, 0, NULL,
                                        (int64_t)(m.downtime_ns / 1000), (int64_t)m.memory_bytes,
                                        m.live ? "live=1" : "live=0"});
    if (id_out)
        snprintf(id_out, XLCP_ID_MAX, "%s", m.id);
    xlcp_manifest_free(&m);
    return 0;
}

int xlcp_checkpoint_open(xlcp_ctx *ctx, const char *id, xlcp_checkpoint **out)
{
    struct xlcp_err err;
    xlcp_checkpoint *cp;
    int rc;

    if ((rc = usable(ctx)))
        return rc;
    if (!id || !out)
        return XLCP_EINVAL;
    cp = calloc(1, sizeof(*cp));
    if (!cp)
        return XLCP_EINTERNAL;
    xlcp_err_clear(&err);
    rc = xlcp_engine_load(&ctx->ports, id, &cp->m, cp->dir, sizeof(cp->dir), &err);
    if (rc == 0)
        rc = xlcp_manifest_to_xml(&cp->m, &cp->xml, &err);
    if (rc) {
        xlcp_checkpoint_free(cp);
        return fail(ctx, &err);
    }
    for (int i = 0; i < cp->m.ndisks && i < XLCP_MAX_DISKS; i++) {
        const struct xlcp_manifest_disk *md = &cp->m.disks[i];
        xlcp_disk_info *d = &cp->disks[i];
        d->vdev = md->origin.vdev;
        d->origin_path = md->origin.path;
        d->snapshot_path = md->skipped ? "" : md->snap.path;
        d->thin = md->skipped ? md->origin.thin : md->snap.thin;
        d->skipped = md->skipped;
        d->snapshot_bytes = md->skipped ? 0 : md->snap.size_bytes;
        d->writes_held_ns = md->skipped ? 0 : md->snap.held_ns;
    }
    *out = cp;
    return 0;
}

void xlcp_checkpoint_free(xlcp_checkpoint *cp)
{
    if (!cp)
        return;
    xlcp_manifest_free(&cp->m);
    free(cp->xml);
    free(cp);
}

const char *xlcp_checkpoint_id(const xlcp_checkpoint *cp)
{
    return cp->m.id;
}
const char *xlcp_checkpoint_domain_name(const xlcp_checkpoint *cp)
{
    return cp->m.dom_name;
}
const char *xlcp_checkpoint_domain_uuid(const xlcp_checkpoint *cp)
{
    return cp->m.dom_uuid;
}
const char *xlcp_checkpoint_created(const xlcp_checkpoint *cp)
{
    return cp->m.created;
}
const char *xlcp_checkpoint_dir(const xlcp_checkpoint *cp)
{
    return cp->dir;
}
uint64_t xlcp_checkpoint_memory_bytes(const xlcp_checkpoint *cp)
{
    return cp->m.memory_bytes;
}
uint64_t xlcp_checkpoint_downtime_ns(const xlcp_checkpoint *cp)
{
    return cp->m.downtime_ns;
}
size_t xlcp_checkpoint_disk_count(const xlcp_checkpoint *cp)
{
    return (size_t)cp->m.ndisks;
}
const char *xlcp_checkpoint_manifest_xml(const xlcp_checkpoint *cp)
{
    return cp->xml;
}
uint64_t xlcp_checkpoint_guest_downtime_ns(const xlcp_checkpoint *cp)
{
    return cp->m.guest_downtime_ns;
}
uint64_t xlcp_checkpoint_total_ns(const xlcp_checkpoint *cp)
{
    return cp->m.total_ns;
}
const char *xlcp_checkpoint_label(const xlcp_checkpoint *cp)
{
    return cp->m.name;
}
const char *xlcp_checkpoint_group_id(const xlcp_checkpoint *cp)
{
    return cp->m.group_id;
}
int xlcp_checkpoint_live(const xlcp_checkpoint *cp)
{
    return cp->m.live ? 1 : 0;
}
int xlcp_checkpoint_quiesced(const xlcp_checkpoint *cp)
{
    return cp->m.quiesced ? 1 : 0;
}
const char *xlcp_checkpoint_suspend_path(const xlcp_checkpoint *cp)
{
    return cp->m.suspend_path;
}
const xlcp_disk_info *xlcp_checkpoint_disk(const xlcp_checkpoint *cp, size_t i)
{
    if (!cp || i >= (size_t)cp->m.ndisks || i >= XLCP_MAX_DISKS)
        return NULL;
    return &cp->disks[i];
}

void xlcp_strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int xlcp_list(xlcp_ctx *ctx, const char *domain, char ***ids_out, size_t *count_out)
{
    struct xlcp_err err;
    char **ids = NULL;
    size_t n = 0, kept = 0;
    int rc;

    if ((rc = usable(ctx)))
        return rc;
    if (!ids_out || !count_out)
        return XLCP_EINVAL;
    xlcp_err_clear(&err);
    rc = ctx->ports.store.ops->list(ctx->ports.store.self, NULL, &ids, &n, &err);
    if (rc)
        return fail(ctx, &err);
    /* Sort by id (= by time) across domains; the store sorts within one. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(ids[j - 1], ids[j]) > 0; j--) {
            char *t = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        int keep = 1;
        if (domain) {
            struct xlcp_manifest m;
            char dir[XLCP_PATH_MAX];
            xlcp_err_clear(&err);
            /* A checkpoint with a broken manifest is listed only without a filter. */
            keep = xlcp_engine_load(&ctx->ports, ids[i], &m, dir, sizeof(dir), &err) == 0 &&
                   (strcmp(m.dom_name, domain) == 0 || strcmp(m.dom_uuid, domain) == 0);
            xlcp_manifest_free(&m);
        }
        if (keep)
            ids[kept++] = ids[i];
        else
            free(ids[i]);
    }
    *ids_out = ids;
    *count_out = kept;
    return 0;
}

int xlcp_verify(xlcp_ctx *ctx, const char *id, unsigned int flags)
{
    struct xlcp_err err;
    int rc;

    if ((rc = usable(ctx)) || (!(flags & XLCP_VERIFY_NO_DISKS) && (rc = need_disk(ctx))))
        return rc;
    xlcp_err_clear(&err);
    rc = xlcp_engine_verify(&ctx->ports, id, flags & ~XLCP_VERIFY_ENGINE_QUICK_MAP, &err);
    return rc ? fail(ctx, &err) : 0;
}

/* A member of a committed group is deleted with its group (xlcp_group_delete): alone,
 * it would leave the group naming a checkpoint that is gone. */
static int member_of_group(xlcp_ctx *ctx, const char *id, struct xlcp_err *err)
{
    const struct xlcp_store *st = &ctx->ports.store;
    struct xlcp_manifest m;
    char dir[XLCP_PATH_MAX];
    char *xml = NULL;
    int in_group = 0;

    if (xlcp_engine_load(&ctx->ports, id, &m, dir, sizeof(dir), err) == 0 && m.group_id[0])
        in_group = st->ops->group_get(st->self, XLCP_GROUP_MANIFEST, m.group_id, &xml, err) == 0;
    free(xml);
    xlcp_err_clear(err); /* unreadable or not found: the deletion says so */
    if (in_group)
        xlcp_err_set(err, XLCP_EBUSY,
                     "checkpoint %s is a member of group %s: delete the group (delete --group "
                     "%s)",
                     id, m.group_id, m.group_id);
    xlcp_manifest_free(&m);
    return in_group ? XLCP_EBUSY : 0;
}

int xlcp_delete(xlcp_ctx *ctx, const char *id)
{
    struct xlcp_err err;
    int rc;

    if ((rc = usable(ctx)) || (rc = need_disk(ctx)))
        return rc;
    xlcp_err_clear(&err);
    rc = member_of_group(ctx, id, &err);
    if (rc == 0)
        rc = xlcp_engine_delete(&ctx->ports, id, &err);
    audit(ctx, &(struct xlcp_audit_rec){"delete", id, NULL, NULL, rc, err.msg, -1, -1, NULL});
    return rc ? fail(ctx, &err) : 0;
}

int xlcp_restore(xlcp_ctx *ctx, const char *id, const xlcp_restore_options *opts,
                 uint32_t *domid_out)
{
    xlcp_restore_options defaults = XLCP_RESTORE_OPTIONS_INIT;
    struct xlcp_err err;
    uint32_t domid = 0;
    int rc;

    if ((rc = usable(ctx)) || (rc = need_hv(ctx)) || (rc = need_disk(ctx)))
        return rc;
    if (opts && opts->version < XLCP_RESTORE_OPTIONS_VERSION) { /* its version's fields */
        memcpy(&defaults, opts, xlcp_restore_options_size(opts->version));
        opts = NULL;
    }
    xlcp_err_clear(&err);
    rc = xlcp_engine_restore(&ctx->ports, id, opts ? opts : &defaults, &domid, &err);
    {
        char extra[64];
        snprintf(extra, sizeof(extra), "new_domid=%u", domid);
        audit(ctx, &(struct xlcp_audit_rec){"restore", id, NULL, NULL, rc, err.msg, -1, -1,
                                            rc ? NULL : extra});
    }
    if (rc)
        return fail(ctx, &err);
    if (domid_out)
        *domid_out = domid;
    return 0;
}

int xlcp_recover(xlcp_ctx *ctx, const char *domain, unsigned int flags, char **report_out,
                 unsigned int *count_out)
{
    struct xlcp_err err;
    int rc;

    if (!report_out || !count_out)
        return XLCP_EINVAL;
    *report_out = NULL;
    *count_out = 0;
    if ((rc = usable(ctx)) || (rc = need_hv(ctx)) || (rc = need_disk(ctx)))
        return rc;
    xlcp_err_clear(&err);
    rc = xlcp_engine_recover(&ctx->ports, domain, flags, report_out, count_out, &err);
    if (!(flags & XLCP_RECOVER_DRY_RUN)) {
        char extra[64];
        snprintf(extra, sizeof(extra), "leftovers=%u resume=%d", *count_out,
                 (flags & XLCP_RECOVER_RESUME) != 0);
        audit(ctx,
              &(struct xlcp_audit_rec){"recover", NULL, domain, NULL, rc, err.msg, -1, -1, extra});
    }
    return rc ? fail(ctx, &err) : 0;
}

int xlcp_guest_check(xlcp_ctx *ctx, const char *domain, char **report_out,
                     unsigned int *violations_out)
{
    struct xlcp_err err;
    struct xlcp_domain dom;
    struct xlcp_xs_entry *ents = NULL;
    struct xlcp_xs_report *rep;
    size_t n = 0, len = 0, cap = 4096;
    char *text;
    int rc;

    if (!report_out || !violations_out || !domain)
        return XLCP_EINVAL;
    *report_out = NULL;
    *violations_out = 0;
    if ((rc = usable(ctx)) || (rc = need_hv(ctx)))
        return rc;
    xlcp_err_clear(&err);
    rc = ctx->ports.hv.ops->lookup(ctx->ports.hv.self, domain, &dom, &err);
    if (rc == 0)
        rc = ctx->ports.hv.ops->guest_nodes(ctx->ports.hv.self, &dom, &ents, &n, &err);
    if (rc)
        return fail(ctx, &err);
    rep = calloc(1, sizeof(*rep));
    text = malloc(cap);
    if (!rep || !text) {
        free(rep);
        free(text);
        xlcp_xs_entries_free(ents, n);
        return fail(ctx, &(struct xlcp_err){XLCP_EINTERNAL, XLCP_STEP_NONE, "out of memory"});
    }
    if (xlcp_xs_check(ents, n, rep) < 0) {
        xlcp_err_set(&err, XLCP_EINTERNAL, "cannot load the protocol schema: %s", rep->v[0].msg);
        free(rep);
        free(text);
        xlcp_xs_entries_free(ents, n);
        return fail(ctx, &err);
    }
    len = (size_t)snprintf(text, cap, "domain %s (id %u): %s, %u violation%s of protocol %u\n",
                           dom.name, dom.domid,
                           rep->feature ? "checkpoint module advertised" : "no checkpoint module",
                           rep->count, rep->count == 1 ? "" : "s", xlcp_xs_protocol_version());
    for (unsigned i = 0; i < rep->stored && len < cap; i++)
        len +=
            (size_t)snprintf(text + len, cap - len, "%s: %s: %s\n",
                             xlcp_xs_violation_name(rep->v[i].kind), rep->v[i].path, rep->v[i].msg);
    *violations_out = rep->count;
    *report_out = text;
    free(rep);
    xlcp_xs_entries_free(ents, n);
    return 0;
}
