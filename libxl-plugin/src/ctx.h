/*
 * ctx.h - what an xlcp_ctx holds. Private to the library and its tests.
 */
#ifndef XLCP_CTX_H
#define XLCP_CTX_H

#include "err.h"
#include "ports.h"

struct xlcp_ctx {
    struct xlcp_ports ports;
    int owns_ports; /* 1: opened by xlcp_ctx_new, closed by xlcp_ctx_free */
    int hv_open;    /* the Xen and LVM adapters are opened on first use */
    int disk_open;
    struct xlcp_err last;
};

/* For tests and alternative front ends: a context on caller-owned ports. The
 * ports must outlive the context. */
int xlcp_ctx_new_with_ports(xlcp_ctx **out, const struct xlcp_ports *ports);

/* api.c, for the other files of the API (api_group.c): records err as the context's
 * last error and returns its code; open the Xen / LVM adapters on first use; checks the
 * context can be used (and clears its last error). Each returns 0 or an error code. */
int xlcp_api_fail(xlcp_ctx *ctx, const struct xlcp_err *err);
int xlcp_api_need_hv(xlcp_ctx *ctx);
int xlcp_api_need_disk(xlcp_ctx *ctx);
int xlcp_api_usable(xlcp_ctx *ctx);
/* How many bytes of an xlcp_restore_options of that version the caller's struct has. */
size_t xlcp_restore_options_size(unsigned int version);
/* One audit line (audit.h) for an operation on ctx: only contexts on the real adapters
 * write them (a context on caller-owned ports, as in tests, is not acting on this host). */
struct xlcp_audit_rec;
/* Create options as the engine takes them (the current version): a caller's version 1
 * struct is copied into buf (it ends before at_ns); NULL stays NULL. */
const xlcp_create_options *xlcp_api_create_opts(const xlcp_create_options *in,
                                                xlcp_create_options *buf);
void xlcp_api_audit(const xlcp_ctx *ctx, const struct xlcp_audit_rec *rec);

#endif
