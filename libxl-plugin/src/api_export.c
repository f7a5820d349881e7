/*
 * api_export.c - the public entry points of export and import (xlcheckpoint.h): the LVM
 * implementation of the export io on the real adapters, an audit line per operation.
 */
#include "audit.h"
#include "ctx.h"
#include "engine.h"
#include "export.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int fail(xlcp_ctx *ctx, const struct xlcp_err *err)
{
    ctx->last = *err;
    if (ctx->last.code == XLCP_OK)
        ctx->last.code = XLCP_EINTERNAL;
    return ctx->last.code;
}

/* The export io: LVM on a context with the real adapters; none on caller-owned ports
 * (their tests drive the engine with their own io). */
const struct xlcp_export_io *xlcp_export_io_for_tests;

static int open_io(xlcp_ctx *ctx, struct xlcp_export_io *io, struct xlcp_err *err)
{
    if (!ctx || !ctx->ports.store.ops)
        return XLCP_EINVAL;
    xlcp_err_clear(&ctx->last);
    if (!ctx->owns_ports) {
        if (!xlcp_export_io_for_tests)
            return xlcp_err_set(err, XLCP_EUNSUPPORTED, "export and import need the LVM adapter");
        *io = *xlcp_export_io_for_tests;
        return 0;
    }
    return xlcp_export_io_lvm_open(io, err);
}

static void close_io(xlcp_ctx *ctx, struct xlcp_export_io *io)
{
    if (ctx->owns_ports)
        xlcp_export_io_lvm_close(io);
}

int xlcp_export(xlcp_ctx *ctx, const char *id, const char *since, const char *dir,
                xlcp_transfer_progress_fn progress, void *arg, uint64_t *bytes_out)
{
    struct xlcp_export_io io;
    struct xlcp_export_stats st = {0, 0, 0};
    struct xlcp_err err;
    char extra[200];
    int rc;

    if (!ctx || !id || !dir)
        return XLCP_EINVAL;
    xlcp_err_clear(&err);
    rc = open_io(ctx, &io, &err);
    if (rc == XLCP_EINVAL && !err.msg[0])
        return rc;
    if (rc == 0) {
        rc = xlcp_engine_export(&ctx->ports, &io, id, since, dir, progress, arg, &st, &err);
        close_io(ctx, &io);
    }
    snprintf(extra, sizeof(extra), "kind=%s since=%s disk_bytes=%" PRIu64,
             since ? "incremental" : "full", since ? since : "-", st.disk_bytes);
    if (ctx->owns_ports)
        xlcp_audit(&(struct xlcp_audit_rec){"export", id, NULL, NULL, rc, err.msg, -1,
                                            rc ? -1 : (int64_t)st.bytes, extra});
    if (bytes_out)
        *bytes_out = st.bytes;
    return rc ? fail(ctx, &err) : 0;
}

int xlcp_import(xlcp_ctx *ctx, const char *const *dirs, int ndirs, const char *new_name,
                xlcp_transfer_progress_fn progress, void *arg, char id_out[XLCP_ID_MAX])
{
    struct xlcp_export_io io;
    struct xlcp_err err;
    char extra[160];
    int rc;

    if (!ctx || !dirs || ndirs <= 0 || !id_out)
        return XLCP_EINVAL;
    id_out[0] = '\0';
    xlcp_err_clear(&err);
    rc = open_io(ctx, &io, &err);
    if (rc == XLCP_EINVAL && !err.msg[0])
        return rc;
    if (rc == 0) {
        rc = xlcp_engine_import(&ctx->ports, &io, dirs, ndirs, new_name, progress, arg, id_out,
                                &err);
        close_io(ctx, &io);
    }
    snprintf(extra, sizeof(extra), "exports=%d", ndirs);
    if (ctx->owns_ports)
        xlcp_audit(&(struct xlcp_audit_rec){"import", id_out[0] ? id_out : NULL, new_name, NULL, rc,
                                            err.msg, -1, -1, extra});
    return rc ? fail(ctx, &err) : 0;
}
