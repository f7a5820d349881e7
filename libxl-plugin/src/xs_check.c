/*
 * xs_check.c - checks a snapshot of a guest's xl-checkpoint xenstore subtree against the
 * protocol description (xenstore-schema/protocol.xml, embedded at build time): unknown
 * nodes, values outside their grammar or too long, missing mandatory nodes, a state that
 * does not fit the pending request, missing guest permissions. The schema is parsed with
 * libxml2 on every call (it is small); values are treated as hostile bytes.
 */
#include "xs_check.h"

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "xlcp_xs_proto.h"

#define MAX_NODES 32
#define MAX_GRAMMARS 8
#define MAX_ALLOWS 16
#define REGEX_MAX 1024
#define NAME_MAX_ 64

enum mandatory { M_NEVER, M_ALWAYS, M_FEATURE, M_LIGHT };

struct snode {
    char name[NAME_MAX_];
    char path[XLCP_XS_REPORT_PATH_MAX];
    unsigned int access; /* XLCP_XS_PERM_* the guest needs */
    enum mandatory mand;
    size_t max;
    int foreign; /* outside the protocol directory; empty value = not published */
    regex_t re;
    int re_ok;
};

struct grammar {
    char name[NAME_MAX_];
    char regex[REGEX_MAX];
};

struct allow {
    char request[NAME_MAX_];
    char states[NAME_MAX_ * 4];
    int same_id;
};

struct schema {
    unsigned int version;
    unsigned int oldest; /* the oldest version a toolstack still uses */
    char dir[XLCP_XS_REPORT_PATH_MAX];
    char request_node[NAME_MAX_];
    char state_node[NAME_MAX_];
    struct snode nodes[MAX_NODES];
    size_t nnodes;
    struct grammar grammars[MAX_GRAMMARS];
    size_t ngrammars;
    struct allow allows[MAX_ALLOWS];
    size_t nallows;
    regex_t id_re;
    int id_ok;
};

const char *xlcp_xs_violation_name(enum xlcp_xs_violation_kind k)
{
    switch (k) {
    case XLCP_XS_UNKNOWN_NODE:
        return "unknown-node";
    case XLCP_XS_BAD_VALUE:
        return "bad-value";
    case XLCP_XS_TOO_LONG:
        return "too-long";
    case XLCP_XS_MISSING:
        return "missing";
    case XLCP_XS_BAD_STATE:
        return "bad-state";
    case XLCP_XS_BAD_PERMS:
        return "bad-perms";
    case XLCP_XS_BAD_VERSION:
        return "bad-version";
    }
    return "?";
}

unsigned int xlcp_xs_protocol_version(void)
{
    return XLCP_XS_PROTOCOL;
}

/* Copies at most len bytes of s into out (size cap) as printable ASCII: others as \xNN. */
static void escape(char *out, size_t cap, const char *s, size_t len)
{
    size_t o = 0;
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < len && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (o + 5 >= cap && len > 0 && cap > 4) {
        memcpy(out + (o < cap - 4 ? o : cap - 4), "...", 3);
        o = (o < cap - 4 ? o : cap - 4) + 3;
    }
    out[o] = '\0';
}

static void add(struct xlcp_xs_report *r, enum xlcp_xs_violation_kind k, const char *path,
                size_t pathlen, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void add(struct xlcp_xs_report *r, enum xlcp_xs_violation_kind k, const char *path,
                size_t pathlen, const char *fmt, ...)
{
    va_list ap;
    struct xlcp_xs_violation *v;

    r->count++;
    if (r->stored >= XLCP_XS_MAX_VIOLATIONS)
        return;
    v = &r->v[r->stored++];
    v->kind = k;
    escape(v->path, sizeof(v->path), path, pathlen);
    va_start(ap, fmt);
    vsnprintf(v->msg, sizeof(v->msg), fmt, ap);
    va_end(ap);
}

/* Copies attribute `name` of n into buf; 0 if present and fits. */
static int attr(xmlNodePtr n, const char *name, char *buf, size_t cap)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    int rc = -1;

    if (!v)
        return -1;
    if (strlen((const char *)v) < cap) {
        strcpy(buf, (const char *)v);
        rc = 0;
    }
    xmlFree(v);
    return rc;
}

/* Expands $grammar references into out; 0 on success. */
static int expand(const struct schema *s, const char *in, char *out, size_t cap)
{
    size_t o = 0;

    while (*in) {
        if (*in == '$') {
            size_t k = 1;
            const struct grammar *g = NULL;
            while (in[k] == '-' || (in[k] >= 'a' && in[k] <= 'z'))
                k++;
            for (size_t i = 0; i < s->ngrammars; i++)
                if (strlen(s->grammars[i].name) == k - 1 &&
                    !strncmp(s->grammars[i].name, in + 1, k - 1))
                    g = &s->grammars[i];
            if (!g)
                return -1;
            int w = snprintf(out + o, cap - o, "(%s)", g->regex);
            if (w < 0 || (size_t)w >= cap - o)
                return -1;
            o += (size_t)w;
            in += k;
            continue;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = *in++;
    }
    out[o] = '\0';
    return 0;
}

static int compile(const struct schema *s, const char *regex, regex_t *re)
{
    char ex[REGEX_MAX], full[REGEX_MAX + 8];

    if (expand(s, regex, ex, sizeof(ex)))
        return -1;
    snprintf(full, sizeof(full), "^(%s)$", ex);
    return regcomp(re, full, REG_EXTENDED | REG_NOSUB) ? -1 : 0;
}

static void schema_free(struct schema *s)
{
    for (size_t i = 0; i < s->nnodes; i++)
        if (s->nodes[i].re_ok)
            regfree(&s->nodes[i].re);
    if (s->id_ok)
        regfree(&s->id_re);
}

static int parse_node(struct schema *s, xmlNodePtr x)
{
    struct snode *n;
    char buf[REGEX_MAX];

    if (s->nnodes >= MAX_NODES)
        return -1;
    n = &s->nodes[s->nnodes];
    memset(n, 0, sizeof(*n));
    if (attr(x, "name", n->name, sizeof(n->name)) || attr(x, "path", n->path, sizeof(n->path)))
        return -1;
    if (attr(x, "guest-access", buf, sizeof(buf)))
        return -1;
    n->access = XLCP_XS_PERM_READ | (strchr(buf, 'w') ? XLCP_XS_PERM_WRITE : 0);
    if (attr(x, "mandatory", buf, sizeof(buf)))
        return -1;
    n->mand = !strcmp(buf, "always")    ? M_ALWAYS
              : !strcmp(buf, "feature") ? M_FEATURE
              : !strcmp(buf, "light")   ? M_LIGHT
                                        : M_NEVER;
    if (attr(x, "max", buf, sizeof(buf)))
        return -1;
    n->max = strtoul(buf, NULL, 10);
    n->foreign = attr(x, "foreign", buf, sizeof(buf)) == 0;
    if (attr(x, "regex", buf, sizeof(buf)) || compile(s, buf, &n->re))
        return -1;
    n->re_ok = 1;
    s->nnodes++;
    return 0;
}

static int schema_load(struct schema *s)
{
    xmlDocPtr doc;
    xmlNodePtr root, x;
    char buf[64];
    int rc = -1;

    memset(s, 0, sizeof(*s));
    doc = xmlReadMemory(xlcp_xs_protocol_xml, (int)strlen(xlcp_xs_protocol_xml), "protocol.xml",
                        NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    if (!doc)
        return -1;
    root = xmlDocGetRootElement(doc);
    if (!root || attr(root, "version", buf, sizeof(buf)) ||
        attr(root, "dir", s->dir, sizeof(s->dir)))
        goto out;
    s->version = (unsigned int)strtoul(buf, NULL, 10);
    if (attr(root, "oldest", buf, sizeof(buf)))
        goto out;
    s->oldest = (unsigned int)strtoul(buf, NULL, 10);
    /* grammars first: nodes refer to them */
    for (x = root->children; x; x = x->next) {
        if (x->type != XML_ELEMENT_NODE || xmlStrcmp(x->name, (const xmlChar *)"grammar"))
            continue;
        if (s->ngrammars >= MAX_GRAMMARS)
            goto out;
        struct grammar *g = &s->grammars[s->ngrammars++];
        if (attr(x, "name", g->name, sizeof(g->name)) ||
            attr(x, "regex", g->regex, sizeof(g->regex)))
            goto out;
    }
    for (x = root->children; x; x = x->next) {
        if (x->type != XML_ELEMENT_NODE)
            continue;
        if (!xmlStrcmp(x->name, (const xmlChar *)"node")) {
            if (parse_node(s, x))
                goto out;
        } else if (!xmlStrcmp(x->name, (const xmlChar *)"requests")) {
            if (attr(x, "node", s->request_node, sizeof(s->request_node)))
                goto out;
        } else if (!xmlStrcmp(x->name, (const xmlChar *)"states")) {
            if (attr(x, "node", s->state_node, sizeof(s->state_node)))
                goto out;
        } else if (!xmlStrcmp(x->name, (const xmlChar *)"consistency")) {
            for (xmlNodePtr a = x->children; a; a = a->next) {
                if (a->type != XML_ELEMENT_NODE || s->nallows >= MAX_ALLOWS)
                    continue;
                struct allow *al = &s->allows[s->nallows++];
                if (attr(a, "request", al->request, sizeof(al->request)) ||
                    attr(a, "state", al->states, sizeof(al->states)))
                    goto out;
                al->same_id = attr(a, "id", buf, sizeof(buf)) == 0 && !strcmp(buf, "same");
            }
        }
    }
    if (compile(s, "$id", &s->id_re))
        goto out;
    s->id_ok = 1;
    rc = 0;
out:
    xmlFreeDoc(doc);
    if (rc)
        schema_free(s);
    return rc;
}

/* Value checks of one node; returns 1 if the value is valid, 0 if not (reported). */
static int check_value(const struct snode *n, const struct xlcp_xs_entry *e,
                       struct xlcp_xs_report *r)
{
    char buf[REGEX_MAX], shown[64];
    size_t plen = strnlen(e->path, XLCP_XS_REPORT_PATH_MAX);

    if (!e->value) {
        add(r, XLCP_XS_BAD_VALUE, e->path, plen, "a directory where a value is expected");
        return 0;
    }
    if (e->len > n->max || e->len >= sizeof(buf)) {
        add(r, XLCP_XS_TOO_LONG, e->path, plen, "%zu bytes, at most %zu allowed", e->len, n->max);
        return 0;
    }
    escape(shown, sizeof(shown), e->value, e->len);
    for (size_t i = 0; i < e->len; i++) {
        unsigned char c = (unsigned char)e->value[i];
        if (c < 0x20 || c >= 0x7f) {
            add(r, XLCP_XS_BAD_VALUE, e->path, plen, "non-printable byte 0x%02x in '%s'", c, shown);
            return 0;
        }
    }
    memcpy(buf, e->value, e->len);
    buf[e->len] = '\0';
    if (regexec(&n->re, buf, 0, NULL, 0)) {
        add(r, XLCP_XS_BAD_VALUE, e->path, plen, "'%s' does not match the node's grammar", shown);
        return 0;
    }
    return 1;
}

/* Splits "verb id..." of a valid value into verb and id (the second word). */
static void split(const char *v, size_t len, char *verb, size_t vcap, char *id, size_t icap)
{
    size_t i = 0, j;

    while (i < len && v[i] != ' ' && i + 1 < vcap) {
        verb[i] = v[i];
        i++;
    }
    verb[i] = '\0';
    id[0] = '\0';
    if (i < len && v[i] == ' ') {
        i++;
        for (j = 0; i < len && v[i] != ' ' && j + 1 < icap; i++, j++)
            id[j] = v[i];
        id[j] = '\0';
    }
}

static int word_in(const char *word, const char *list)
{
    size_t wl = strlen(word);
    const char *p = list;

    while (*p) {
        size_t l = strcspn(p, " ");
        if (l == wl && !strncmp(p, word, l))
            return 1;
        p += l;
        while (*p == ' ')
            p++;
    }
    return 0;
}

int xlcp_xs_check(const struct xlcp_xs_entry *entries, size_t n, struct xlcp_xs_report *out)
{
    struct schema s;
    const struct xlcp_xs_entry *found[MAX_NODES] = {0};
    int valid[MAX_NODES] = {0};
    size_t dirlen, any_in_dir = 0;
    char verb[NAME_MAX_], id[64], sverb[NAME_MAX_], sid[64];
    const char *req_kind = "none";
    int ireq = -1, istate = -1, ifeat = -1, ipath = -1, icaps = -1, iproto = -1;

    memset(out, 0, sizeof(*out));
    if (schema_load(&s)) {
        snprintf(out->v[0].msg, sizeof(out->v[0].msg),
                 "cannot load the embedded protocol description");
        return -1;
    }
    dirlen = strlen(s.dir);
    for (size_t i = 0; i < n; i++) {
        const struct xlcp_xs_entry *e = &entries[i];
        size_t k;
        if (!e->path)
            continue;
        for (k = 0; k < s.nnodes; k++)
            if (!strcmp(e->path, s.nodes[k].path))
                break;
        int in_dir = !strncmp(e->path, s.dir, dirlen) && e->path[dirlen] == '/';
        if (in_dir)
            any_in_dir++;
        if (k == s.nnodes) {
            if (in_dir)
                add(out, XLCP_XS_UNKNOWN_NODE, e->path, strnlen(e->path, XLCP_XS_REPORT_PATH_MAX),
                    "not part of protocol %u", s.version);
            continue;
        }
        if (found[k])
            continue; /* first one wins */
        if (s.nodes[k].foreign && e->value && e->len == 0)
            continue; /* pre-created empty by the toolstack: not published */
        found[k] = e;
    }
    for (size_t k = 0; k < s.nnodes; k++) {
        const char *nm = s.nodes[k].name;
        if (!strcmp(nm, s.request_node))
            ireq = (int)k;
        else if (!strcmp(nm, s.state_node))
            istate = (int)k;
        else if (!strcmp(nm, XLCP_XS_NODE_FEATURE))
            ifeat = (int)k;
        else if (!strcmp(nm, XLCP_XS_NODE_SUSPEND_PATH))
            ipath = (int)k;
        else if (!strcmp(nm, XLCP_XS_NODE_CAPABILITIES))
            icaps = (int)k;
        else if (!strcmp(nm, XLCP_XS_NODE_PROTOCOL))
            iproto = (int)k;
        if (!found[k])
            continue;
        valid[k] = check_value(&s.nodes[k], found[k], out);
        unsigned int p = found[k]->guest_perms;
        if (!(p & XLCP_XS_PERM_UNKNOWN) && (p & s.nodes[k].access) != s.nodes[k].access)
            add(out, XLCP_XS_BAD_PERMS, s.nodes[k].path, strlen(s.nodes[k].path),
                "the guest needs %s access", s.nodes[k].access & XLCP_XS_PERM_WRITE ? "rw" : "r");
    }
    out->feature = ifeat >= 0 && valid[ifeat];
    int light = ipath >= 0 && valid[ipath] && found[ipath]->len == 5 &&
                !memcmp(found[ipath]->value, "light", 5);
    for (size_t k = 0; k < s.nnodes; k++) {
        const struct snode *sn = &s.nodes[k];
        if (found[k])
            continue;
        if ((sn->mand == M_ALWAYS && any_in_dir) || (sn->mand == M_FEATURE && out->feature) ||
            (sn->mand == M_LIGHT && light))
            add(out, XLCP_XS_MISSING, sn->path, strlen(sn->path), "mandatory %s",
                sn->mand == M_LIGHT ? "with suspend-path light" : "while feature is 1");
    }
    if (iproto >= 0 && valid[iproto]) {
        char b[16];
        memcpy(b, found[iproto]->value, found[iproto]->len);
        b[found[iproto]->len] = '\0';
        unsigned long v = strtoul(b, NULL, 10);
        if (v < s.oldest || v > s.version)
            add(out, XLCP_XS_BAD_VERSION, s.nodes[iproto].path, strlen(s.nodes[iproto].path),
                "guest speaks protocol %s, this tool %u to %u", b, s.oldest, s.version);
    }
    if (icaps >= 0 && valid[icaps] && ipath >= 0 && valid[ipath]) {
        char b[XLCP_XS_MAX_CAPABILITIES + 1];
        memcpy(b, found[icaps]->value, found[icaps]->len);
        b[found[icaps]->len] = '\0';
        if (word_in(XLCP_XS_CAP_LIGHT_SUSPEND, b) != light)
            add(out, XLCP_XS_BAD_VALUE, s.nodes[icaps].path, strlen(s.nodes[icaps].path),
                "capability %s disagrees with suspend-path", XLCP_XS_CAP_LIGHT_SUSPEND);
    }
    /* (request, state) consistency */
    if (ireq >= 0 && found[ireq]) {
        if (valid[ireq]) {
            split(found[ireq]->value, found[ireq]->len, verb, sizeof(verb), id, sizeof(id));
            req_kind = verb;
        } else {
            req_kind = "invalid";
        }
    }
    if (istate >= 0 && found[istate] && valid[istate]) {
        int ok = 0;
        split(found[istate]->value, found[istate]->len, sverb, sizeof(sverb), sid, sizeof(sid));
        for (size_t a = 0; a < s.nallows && !ok; a++) {
            const struct allow *al = &s.allows[a];
            if (strcmp(al->request, req_kind) || !word_in(sverb, al->states))
                continue;
            ok = !al->same_id || !strcmp(id, sid);
        }
        if (!ok) {
            char shown[64];
            escape(shown, sizeof(shown), found[istate]->value, found[istate]->len);
            add(out, XLCP_XS_BAD_STATE, s.nodes[istate].path, strlen(s.nodes[istate].path),
                "state '%s' does not fit request '%s%s%s'", shown, req_kind,
                strcmp(req_kind, "none") && strcmp(req_kind, "invalid") ? " " : "",
                strcmp(req_kind, "none") && strcmp(req_kind, "invalid") ? id : "");
        }
    }
    schema_free(&s);
    return (int)out->count;
}

void xlcp_xs_entries_free(struct xlcp_xs_entry *entries, size_t n)
{
    if (!entries)
        return;
    for (size_t i = 0; i < n; i++) {
        free((void *)entries[i].path);
        free((void *)entries[i].value);
    }
    free(entries);
}
