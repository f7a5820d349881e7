/*
 * hv_xen_guest.c - the Xen adapter's side of the xenstore protocol with the guest module
 * (xenstore-schema/): its features, quiesce and thaw requests, the downtime it measured,
 * and its nodes as they are, for xs-check. Every value read from the guest is hostile.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest_proto.h"
#include "hv_xen_int.h"
#include "xlcp_xs_proto.h"

/* ---- xenstore: the guest's protocol nodes (hostile values) ------------------------- */

static int has_token(const char *list, const char *tok)
{
    size_t n = strlen(tok);

    for (const char *p = list; (p = strstr(p, tok)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}

int hx_guest_features(void *self, const struct xlcp_domain *dom, struct xlcp_guest_features *out,
                      struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    char v[XLCP_XS_MAX_CAPABILITIES + 1];
    unsigned int proto = 0;

    (void)err;
    memset(out, 0, sizeof(*out));
    if (!hx->xs)
        return 0;
    if (hx_xs_get(hx, dom->domid, XLCP_XS_PATH_FEATURE, v, sizeof(v)) != 1 || strcmp(v, "1") != 0)
        return 0;
    if (hx_xs_get(hx, dom->domid, XLCP_XS_PATH_PROTOCOL, v, XLCP_XS_MAX_PROTOCOL + 1) != 1)
        return 0;
    if (!xlcp_guest_protocol(v, &proto))
        return 0; /* a protocol we do not speak: behave as without the module */
    out->has_module = 1;
    out->protocol = proto;
    if (hx_xs_get(hx, dom->domid, XLCP_XS_PATH_CAPABILITIES, v, sizeof(v)) == 1) {
        out->can_quiesce = has_token(v, XLCP_XS_CAP_QUIESCE);
        out->light_suspend = has_token(v, XLCP_XS_CAP_LIGHT_SUSPEND);
        out->quiesce_at_suspend = has_token(v, XLCP_XS_CAP_QUIESCE_AT_SUSPEND);
    }
    if (out->light_suspend && hx_xs_get(hx, dom->domid, XLCP_XS_PATH_EVENT_CHANNEL, v,
                                        XLCP_XS_MAX_EVENT_CHANNEL + 1) != 1)
        out->light_suspend = 0;
    if (!out->light_suspend)
        out->quiesce_at_suspend = 0; /* it freezes only inside its light suspend */
    return 0;
}

/* Writes a request node: owned by dom0, readable by the guest. */
static int xs_request(struct hv_xen *hx, uint32_t domid, const char *value, struct xlcp_err *err)
{
    char path[256];
    struct xs_permissions perms[2] = {
        {.id = 0, .perms = XS_PERM_NONE},
        {.id = domid, .perms = XS_PERM_READ},
    };

    snprintf(path, sizeof(path), "/local/domain/%u/%s", domid, XLCP_XS_PATH_REQUEST);
    if (!xs_write(hx->xs, XBT_NULL, path, value, (unsigned)strlen(value)) ||
        !xs_set_permissions(hx->xs, XBT_NULL, path, perms, 2))
        return xlcp_err_errno(err, errno, "xenstore write %s", path);
    return 0;
}

/* Waits until the guest's state node starts with one of the wanted prefixes. Returns
 * the index of the match, or a negative error (timeout). */
static int xs_wait_state(struct hv_xen *hx, uint32_t domid, const char *const *want, int nwant,
                         unsigned timeout_ms, char *state, size_t len, struct xlcp_err *err)
{
    uint64_t deadline = hx_mono_ns() + (uint64_t)timeout_ms * 1000000u;

    for (;;) {
        if (hx_xs_get(hx, domid, XLCP_XS_PATH_STATE, state, len) == 1)
            for (int i = 0; i < nwant; i++)
                if (strcmp(state, want[i]) == 0 ||
                    (strncmp(state, want[i], strlen(want[i])) == 0 && want[i][0] == 'e'))
                    return i;
        if (hx_mono_ns() >= deadline)
            return xlcp_err_set(err, XLCP_ETIMEDOUT, "guest did not answer within %u ms",
                                timeout_ms);
        hx_sleep_ms(10);
    }
}

static void printable(char *s)
{
    for (; *s; s++)
        if (*s < ' ' || *s > '~')
            *s = '?';
}

int hx_quiesce(void *self, const struct xlcp_domain *dom, const char *id, unsigned int timeout_ms,
               struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    char req[XLCP_XS_MAX_REQUEST + 1];
    char armed[XLCP_XS_MAX_STATE + 1];
    char error[XLCP_XS_MAX_STATE + 1];
    char state[XLCP_XS_MAX_STATE + 1];
    const char *want[2] = {armed, error};
    int rc;

    if (!hx->xs)
        return xlcp_err_set(err, XLCP_EUNSUPPORTED, "no xenstore connection");
    snprintf(hx->quiesce_id, sizeof(hx->quiesce_id), "%s", id);
    snprintf(req, sizeof(req), "%s %s", XLCP_XS_REQ_QUIESCE_AT_SUSPEND, id);
    snprintf(armed, sizeof(armed), "%s %s", XLCP_XS_STATE_ARMED, id);
    snprintf(error, sizeof(error), "%s %s ", XLCP_XS_STATE_ERROR, id);
    rc = xs_request(hx, dom->domid, req, err);
    if (rc)
        return rc;
    rc = xs_wait_state(hx, dom->domid, want, 2, timeout_ms, state, sizeof(state), err);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        printable(state);
        return xlcp_err_set(err, XLCP_EHV, "guest refused to arm its freeze: %s",
                            state + strlen(error));
    }
    return 0;
}

/* The guest writes quiesce-result, then state "thawed ID" (or "expired ID" if the armed
 * request saw no suspend in time). */
int hx_quiesce_result(void *self, const struct xlcp_domain *dom, const char *id,
                      unsigned int timeout_ms, int *held, char *why, size_t why_len,
                      struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    char thawed[XLCP_XS_MAX_STATE + 1], expired[XLCP_XS_MAX_STATE + 1];
    char error[XLCP_XS_MAX_STATE + 1], state[XLCP_XS_MAX_STATE + 1];
    char res[XLCP_XS_MAX_QUIESCE_RESULT + 1], want_held[XLCP_XS_MAX_QUIESCE_RESULT + 1];
    char not_held[XLCP_XS_MAX_QUIESCE_RESULT + 1];
    const char *want[3] = {thawed, expired, error};
    int rc;

    *held = 0;
    snprintf(why, why_len, "the guest reported nothing");
    if (!hx->xs)
        return xlcp_err_set(err, XLCP_EUNSUPPORTED, "no xenstore connection");
    snprintf(thawed, sizeof(thawed), "%s %s", XLCP_XS_STATE_THAWED, id);
    snprintf(expired, sizeof(expired), "%s %s", XLCP_XS_STATE_EXPIRED, id);
    snprintf(error, sizeof(error), "%s %s ", XLCP_XS_STATE_ERROR, id);
    rc = xs_wait_state(hx, dom->domid, want, 3, timeout_ms, state, sizeof(state), err);
    if (rc < 0)
        return rc;
    hx->quiesce_id[0] = '\0'; /* nothing is frozen or armed any more */
    if (rc == 1) {
        snprintf(why, why_len, "the armed freeze expired before the guest stopped");
        return 0;
    }
    if (rc == 2) {
        printable(state);
        snprintf(why, why_len, "guest error: %s", state + strlen(error));
        return 0;
    }
    if (hx_xs_get(hx, dom->domid, XLCP_XS_PATH_QUIESCE_RESULT, res, sizeof(res)) != 1)
        return 0;
    printable(res);
    snprintf(want_held, sizeof(want_held), "held %s", id);
    snprintf(not_held, sizeof(not_held), "not-held %s ", id);
    if (strcmp(res, want_held) == 0)
        *held = 1;
    else if (strncmp(res, not_held, strlen(not_held)) == 0)
        snprintf(why, why_len, "%s", res + strlen(not_held));
    else
        snprintf(why, why_len, "the guest's result is for another checkpoint: %s", res);
    return 0;
}

int hx_thaw(void *self, const struct xlcp_domain *dom, struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    char req[XLCP_XS_MAX_REQUEST + 1];
    char thawed[XLCP_XS_MAX_STATE + 1];
    char state[XLCP_XS_MAX_STATE + 1];
    const char *want[1] = {thawed};
    int rc;

    if (!hx->xs)
        return xlcp_err_set(err, XLCP_EUNSUPPORTED, "no xenstore connection");
    if (!hx->quiesce_id[0])
        return 0;
    snprintf(req, sizeof(req), "thaw %s", hx->quiesce_id);
    snprintf(thawed, sizeof(thawed), "thawed %s", hx->quiesce_id);
    rc = xs_request(hx, dom->domid, req, err);
    if (rc == 0)
        rc = xs_wait_state(hx, dom->domid, want, 1, 10000, state, sizeof(state), err);
    if (rc < 0)
        return rc;
    hx->quiesce_id[0] = '\0';
    return 0;
}

int hx_guest_downtime(void *self, const struct xlcp_domain *dom, uint64_t *ns_out,
                      struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    uint64_t deadline = hx_mono_ns() + 2000000000u;
    char v[32];

    (void)err;
    *ns_out = 0;
    if (!hx->xs)
        return 0;
    do {
        /* hostile input: digits only, bounded, and not what it was before the save */
        if (hx_xs_get(hx, dom->domid, XLCP_XS_PATH_DOWNTIME_NS, v, sizeof(v)) == 1 &&
            strcmp(v, hx->downtime_before) != 0) {
            char *end;
            unsigned long long n;
            errno = 0;
            n = strtoull(v, &end, 10);
            if (v[0] >= '0' && v[0] <= '9' && !*end && !errno)
                *ns_out = n;
            return 0;
        }
        hx_sleep_ms(20);
    } while (hx_mono_ns() < deadline);
    return 0;
}

/* ---- xs-check: the guest's live subtree -------------------------------------------- */

/* What the guest may do with a node, from its permission list: the owner (first entry)
 * may do everything, a listed domain what its entry says, others what the first says. */
static unsigned guest_access(struct hv_xen *hx, const char *path, uint32_t domid)
{
    unsigned int n = 0;
    struct xs_permissions *p = xs_get_permissions(hx->xs, XBT_NULL, path, &n);
    unsigned perm, out = 0;

    if (!p || n == 0) {
        free(p);
        return XLCP_XS_PERM_UNKNOWN;
    }
    perm = p[0].perms;
    if (p[0].id == domid)
        perm = XS_PERM_READ | XS_PERM_WRITE;
    else
        for (unsigned i = 1; i < n; i++)
            if (p[i].id == domid)
                perm = p[i].perms;
    free(p);
    if (perm & XS_PERM_READ)
        out |= XLCP_XS_PERM_READ;
    if (perm & XS_PERM_WRITE)
        out |= XLCP_XS_PERM_WRITE;
    return out;
}

struct node_list {
    struct xlcp_xs_entry *e;
    size_t n, cap;
};

/* Adds the node at <home>/<rel> (and, to depth 3, its children). */
static int add_node(struct hv_xen *hx, uint32_t domid, const char *home, const char *rel, int depth,
                    struct node_list *l)
{
    char path[512];
    unsigned int len = 0, nkids = 0;
    char *v;
    char **kids;

    snprintf(path, sizeof(path), "%s/%s", home, rel);
    v = xs_read(hx->xs, XBT_NULL, path, &len);
    if (!v && errno == ENOENT)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct xlcp_xs_entry *e = realloc(l->e, cap * sizeof(*e));
        if (!e) {
            free(v);
            return -1;
        }
        l->e = e;
        l->cap = cap;
    }
    kids = depth < 3 ? xs_directory(hx->xs, XBT_NULL, path, &nkids) : NULL;
    l->e[l->n].path = strdup(rel);
    l->e[l->n].value = v && (len > 0 || nkids == 0) ? v : NULL;
    l->e[l->n].len = l->e[l->n].value ? len : 0;
    l->e[l->n].guest_perms = guest_access(hx, path, domid);
    if (!l->e[l->n].value)
        free(v);
    if (!l->e[l->n].path) {
        free(kids);
        return -1;
    }
    l->n++;
    for (unsigned i = 0; i < nkids; i++) {
        char sub[256];
        if (snprintf(sub, sizeof(sub), "%s/%s", rel, kids[i]) >= (int)sizeof(sub))
            continue;
        if (add_node(hx, domid, home, sub, depth + 1, l) != 0) {
            free(kids);
            return -1;
        }
    }
    free(kids);
    return 0;
}

int hx_guest_nodes(void *self, const struct xlcp_domain *dom, struct xlcp_xs_entry **out, size_t *n,
                   struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    struct node_list l = {NULL, 0, 0};
    char home[64];

    *out = NULL;
    *n = 0;
    if (!hx->xs)
        return xlcp_err_set(err, XLCP_EHV, "cannot connect to xenstore");
    snprintf(home, sizeof(home), "/local/domain/%u", dom->domid);
    if (add_node(hx, dom->domid, home, XLCP_XS_DIR, 1, &l) != 0 ||
        add_node(hx, dom->domid, home, XLCP_XS_PATH_EVENT_CHANNEL, 3, &l) != 0) {
        xlcp_xs_entries_free(l.e, l.n);
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory reading xenstore");
    }
    *out = l.e;
    *n = l.n;
    return 0;
}
