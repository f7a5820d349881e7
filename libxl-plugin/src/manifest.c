/*
 * manifest.c - writing and reading manifest.xml with libxml2, validated against the
 * RelaxNG schema compiled into the library (schema/manifest.rng).
 */
#include "manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>

extern const char xlcp_manifest_rng[];

#define MANIFEST_MAX_BYTES (16u << 20)

void xlcp_manifest_init(struct xlcp_manifest *m)
{
    memset(m, 0, sizeof(*m));
}

int xlcp_manifest_memory_in_store(const struct xlcp_manifest *m)
{
    return !m->memory_file[0] && m->pagestore_map[0] && m->pagestore_root[0];
}

void xlcp_manifest_free(struct xlcp_manifest *m)
{
    free(m->config_json);
    m->config_json = NULL;
}

/* ---- validation ---------------------------------------------------------------- */

struct errbuf {
    char msg[512];
};

static void collect_error(void *arg, xmlErrorPtr e)
{
    struct errbuf *b = arg;
    size_t n;

    if (b->msg[0] || !e || !e->message)
        return;
    snprintf(b->msg, sizeof(b->msg), "line %d: %s", e->line, e->message);
    n = strlen(b->msg);
    while (n > 0 && (b->msg[n - 1] == '\n' || b->msg[n - 1] == ' '))
        b->msg[--n] = '\0';
}

static int validate(xmlDocPtr doc, const char *what, struct xlcp_err *err)
{
    return xlcp_xml_validate(doc, xlcp_manifest_rng, what, err);
}

int xlcp_xml_validate(void *xml_doc, const char *rng, const char *what, struct xlcp_err *err)
{
    xmlDocPtr doc = xml_doc;
    struct errbuf eb = {{0}};
    xmlRelaxNGParserCtxtPtr pctx;
    xmlRelaxNGPtr schema = NULL;
    xmlRelaxNGValidCtxtPtr vctx = NULL;
    int rc = -1;

    pctx = xmlRelaxNGNewMemParserCtxt(rng, (int)strlen(rng));
    if (pctx) {
        xmlRelaxNGSetParserStructuredErrors(pctx, collect_error, &eb);
        schema = xmlRelaxNGParse(pctx);
        xmlRelaxNGFreeParserCtxt(pctx);
    }
    if (!schema)
        return xlcp_err_set(err, XLCP_EINTERNAL, "%s: schema does not load: %s", what, eb.msg);
    vctx = xmlRelaxNGNewValidCtxt(schema);
    if (vctx) {
        xmlRelaxNGSetValidStructuredErrors(vctx, collect_error, &eb);
        rc = xmlRelaxNGValidateDoc(vctx, doc);
        xmlRelaxNGFreeValidCtxt(vctx);
    }
    xmlRelaxNGFree(schema);
    if (rc != 0)
        return xlcp_err_set(err, XLCP_ECORRUPT, "%s: does not match its schema: %s", what,
                            eb.msg[0] ? eb.msg : "invalid");
    return 0;
}

/* ---- writing ------------------------------------------------------------------- */

static xmlNodePtr add(xmlNodePtr parent, const char *name, const char *text)
{
    return xmlNewTextChild(parent, NULL, BAD_CAST name, BAD_CAST(text ? text : ""));
}

static xmlNodePtr addu(xmlNodePtr parent, const char *name, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    return add(parent, name, buf);
}

static void attr(xmlNodePtr n, const char *name, const char *v)
{
    xmlNewProp(n, BAD_CAST name, BAD_CAST v);
}

static void attru(xmlNodePtr n, const char *name, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    attr(n, name, buf);
}

static xmlDocPtr build(const struct xlcp_manifest *m)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "checkpoint");
    xmlNodePtr n, d, disks, t;

    xmlDocSetRootElement(doc, root);
    /* version 2 only where its additions are used: a version 1 reader can read the rest */
    attr(root, "version", m->pagestore_root[0] ? "2" : "1");
    add(root, "id", m->id);
    add(root, "label", m->name);
    add(root, "created", m->created);
    add(root, "group", m->group_id);
    add(root, "tool-version", m->tool_version);
    add(root, "xen-version", m->xen_version);
    n = xmlNewChild(root, NULL, BAD_CAST "domain", NULL);
    add(n, "name", m->dom_name);
    add(n, "uuid", m->dom_uuid);
    addu(n, "domid", m->domid);
    addu(n, "memory-kib", m->memory_kib);
    add(n, "config", m->config_json);
    n = xmlNewChild(root, NULL, BAD_CAST "capture", NULL);
    addu(n, "live", m->live ? 1 : 0);
    if (m->live_note[0])
        add(n, "live-note", m->live_note);
    addu(n, "quiesced", m->quiesced ? 1 : 0);
    add(n, "quiesce-note", m->quiesce_note);
    add(n, "suspend-path", m->suspend_path);
    add(n, "consistency", m->consistency);
    n = xmlNewChild(root, NULL, BAD_CAST "memory", NULL);
    if (m->memory_file[0]) /* else in the page store only (the schema wants map and root) */
        add(n, "file", m->memory_file);
    addu(n, "bytes", m->memory_bytes);
    d = add(n, "digest", m->memory_digest);
    xmlNewProp(d, BAD_CAST "algorithm", BAD_CAST m->memory_digest_alg);
    if (m->pagestore_map[0]) {
        d = xmlNewChild(n, NULL, BAD_CAST "pagestore", NULL);
        add(d, "map", m->pagestore_map);
        if (m->pagestore_root[0])
            add(d, "root", m->pagestore_root);
        addu(d, "received-bytes", m->pagestore_received);
        addu(d, "stored-bytes", m->pagestore_stored);
        addu(d, "pfns", m->pagestore_pfns);
    } else if (m->pagestore_note[0]) {
        add(n, "pagestore-note", m->pagestore_note);
    }
    disks = xmlNewChild(root, NULL, BAD_CAST "disks", NULL);
    for (int i = 0; i < m->ndisks; i++) {
        const struct xlcp_manifest_disk *md = &m->disks[i];
        d = xmlNewChild(disks, NULL, BAD_CAST "disk", NULL);
        attr(d, "vdev", md->origin.vdev);
        attru(d, "skipped", md->skipped ? 1 : 0);
        n = xmlNewChild(d, NULL, BAD_CAST "origin", NULL);
        attr(n, "path", md->origin.path);
        attr(n, "vg", md->origin.vg);
        attr(n, "lv", md->origin.lv);
        attru(n, "thin", md->origin.thin ? 1 : 0);
        attru(n, "bytes", md->origin.size_bytes);
        n = xmlNewChild(d, NULL, BAD_CAST "snapshot", NULL);
        attr(n, "path", md->snap.path);
        attr(n, "vg", md->snap.vg);
        attr(n, "lv", md->snap.lv);
        attr(n, "origin-lv", md->snap.origin_lv);
        attru(n, "thin", md->snap.thin ? 1 : 0);
        attru(n, "bytes", md->snap.size_bytes);
        if (md->snap.held_ns)
            attru(n, "writes-held-ns", md->snap.held_ns);
    }
    t = xmlNewChild(root, NULL, BAD_CAST "timings", NULL);
    for (int s = 0; s < XLCP_STEP__COUNT; s++) {
        n = xmlNewChild(t, NULL, BAD_CAST "step", NULL);
        attr(n, "name", xlcp_step_name((xlcp_step)s));
        attru(n, "start-ns", m->step_start_ns[s]);
        attru(n, "ns", m->step_ns[s]);
    }
    addu(t, "downtime-ns", m->downtime_ns);
    addu(t, "guest-downtime-ns", m->guest_downtime_ns);
    addu(t, "total-ns", m->total_ns);
    if (m->at_ns) {
        char buf[32];
        n = xmlNewChild(t, NULL, BAD_CAST "stop-at", NULL);
        snprintf(buf, sizeof(buf), "%" PRId64, m->at_ns);
        attr(n, "ns", buf);
        snprintf(buf, sizeof(buf), "%" PRId64, m->deviation_ns);
        attr(n, "deviation-ns", buf);
    }
    return doc;
}

int xlcp_manifest_to_xml(const struct xlcp_manifest *m, char **xml_out, struct xlcp_err *err)
{
    xmlDocPtr doc;
    xmlChar *buf = NULL;
    int len = 0, rc;

    xmlInitParser();
    doc = build(m);
    rc = validate(doc, "manifest", err);
    if (rc == 0) {
        xmlDocDumpFormatMemoryEnc(doc, &buf, &len, "UTF-8", 1);
        if (!buf)
            rc = xlcp_err_set(err, XLCP_EINTERNAL, "cannot serialise manifest");
    }
    xmlFreeDoc(doc);
    if (rc)
        return rc;
    *xml_out = strndup((const char *)buf, (size_t)len);
    xmlFree(buf);
    return *xml_out ? 0 : xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
}

int xlcp_manifest_write_fd(const struct xlcp_manifest *m, int fd, struct xlcp_err *err)
{
    char *xml = NULL;
    size_t len, off = 0;
    int rc = xlcp_manifest_to_xml(m, &xml, err);

    if (rc)
        return rc;
    len = strlen(xml);
    while (off < len) {
        ssize_t w = write(fd, xml + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = xlcp_err_errno(err, w < 0 ? errno : EIO, "write manifest");
            break;
        }
        off += (size_t)w;
    }
    free(xml);
    return rc;
}

/* ---- reading ------------------------------------------------------------------- */

struct reader {
    const char *path;
    struct xlcp_err *err;
    int rc;
};

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

/* Copies text content or an attribute (when attr_name) into out; too long is corrupt. */
static void get_str(struct reader *r, xmlNodePtr n, const char *attr_name, char *out, size_t len)
{
    xmlChar *v;

    if (r->rc)
        return;
    v = attr_name ? xmlGetProp(n, BAD_CAST attr_name) : xmlNodeGetContent(n);
    if (!v) {
        out[0] = '\0';
        return;
    }
    if (strlen((const char *)v) >= len)
        r->rc =
            xlcp_err_set(r->err, XLCP_ECORRUPT, "%s: value of %s%s%s too long", r->path,
                         (const char *)n->name, attr_name ? "@" : "", attr_name ? attr_name : "");
    else
        snprintf(out, len, "%s", (const char *)v);
    xmlFree(v);
}

static int64_t get_i64(struct reader *r, xmlNodePtr n, const char *attr_name)
{
    char buf[32], *end = NULL;
    long long v;

    get_str(r, n, attr_name, buf, sizeof(buf));
    if (r->rc)
        return 0;
    errno = 0;
    v = strtoll(buf, &end, 10);
    if (errno || !end || *end || end == buf)
        r->rc = xlcp_err_set(r->err, XLCP_ECORRUPT, "%s: bad number in %s", r->path,
                             (const char *)n->name);
    return (int64_t)v;
}

static uint64_t get_u64(struct reader *r, xmlNodePtr n, const char *attr_name)
{
    char buf[32], *end = NULL;
    unsigned long long v;

    get_str(r, n, attr_name, buf, sizeof(buf));
    if (r->rc)
        return 0;
    errno = 0;
    v = strtoull(buf, &end, 10);
    if (errno || !end || *end || end == buf)
        r->rc = xlcp_err_set(r->err, XLCP_ECORRUPT, "%s: bad number in %s", r->path,
                             (const char *)n->name);
    return (uint64_t)v;
}

static void parse(struct reader *r, xmlNodePtr root, struct xlcp_manifest *m)
{
    xmlNodePtr dom = child(root, "domain"), cap = child(root, "capture");
    xmlNodePtr mem = child(root, "memory"), disks = child(root, "disks");
    xmlNodePtr tim = child(root, "timings");
    xmlChar *cfg;

    get_str(r, child(root, "id"), NULL, m->id, sizeof(m->id));
    get_str(r, child(root, "label"), NULL, m->name, sizeof(m->name));
    get_str(r, child(root, "created"), NULL, m->created, sizeof(m->created));
    get_str(r, child(root, "group"), NULL, m->group_id, sizeof(m->group_id));
    get_str(r, child(root, "tool-version"), NULL, m->tool_version, sizeof(m->tool_version));
    get_str(r, child(root, "xen-version"), NULL, m->xen_version, sizeof(m->xen_version));
    get_str(r, child(dom, "name"), NULL, m->dom_name, sizeof(m->dom_name));
    get_str(r, child(dom, "uuid"), NULL, m->dom_uuid, sizeof(m->dom_uuid));
    m->domid = (uint32_t)get_u64(r, child(dom, "domid"), NULL);
    m->memory_kib = get_u64(r, child(dom, "memory-kib"), NULL);
    cfg = xmlNodeGetContent(child(dom, "config"));
    if (cfg) {
        m->config_json = strdup((const char *)cfg);
        xmlFree(cfg);
    }
    m->live = (int)get_u64(r, child(cap, "live"), NULL);
    if (child(cap, "live-note"))
        get_str(r, child(cap, "live-note"), NULL, m->live_note, sizeof(m->live_note));
    m->quiesced = (int)get_u64(r, child(cap, "quiesced"), NULL);
    get_str(r, child(cap, "quiesce-note"), NULL, m->quiesce_note, sizeof(m->quiesce_note));
    get_str(r, child(cap, "suspend-path"), NULL, m->suspend_path, sizeof(m->suspend_path));
    get_str(r, child(cap, "consistency"), NULL, m->consistency, sizeof(m->consistency));
    if (child(mem, "file")) /* version 2: absent when the image is in the page store only */
        get_str(r, child(mem, "file"), NULL, m->memory_file, sizeof(m->memory_file));
    m->memory_bytes = get_u64(r, child(mem, "bytes"), NULL);
    if (child(mem, "digest")) {
        get_str(r, child(mem, "digest"), NULL, m->memory_digest, sizeof(m->memory_digest));
        get_str(r, child(mem, "digest"), "algorithm", m->memory_digest_alg,
                sizeof(m->memory_digest_alg));
    } else { /* manifests written before the algorithm was recorded */
        get_str(r, child(mem, "sha256"), NULL, m->memory_digest, sizeof(m->memory_digest));
        snprintf(m->memory_digest_alg, sizeof(m->memory_digest_alg), "sha256");
    }
    if (child(mem, "pagestore")) {
        xmlNodePtr ps = child(mem, "pagestore");
        get_str(r, child(ps, "map"), NULL, m->pagestore_map, sizeof(m->pagestore_map));
        if (child(ps, "root"))
            get_str(r, child(ps, "root"), NULL, m->pagestore_root, sizeof(m->pagestore_root));
        m->pagestore_received = get_u64(r, child(ps, "received-bytes"), NULL);
        m->pagestore_stored = get_u64(r, child(ps, "stored-bytes"), NULL);
        m->pagestore_pfns = get_u64(r, child(ps, "pfns"), NULL);
    } else if (child(mem, "pagestore-note")) {
        get_str(r, child(mem, "pagestore-note"), NULL, m->pagestore_note,
                sizeof(m->pagestore_note));
    }
    for (xmlNodePtr d = disks->children; d && !r->rc; d = d->next) {
        struct xlcp_manifest_disk *md;
        xmlNodePtr o, s;
        if (d->type != XML_ELEMENT_NODE)
            continue;
        if (m->ndisks >= XLCP_MAX_DISKS) {
            r->rc = xlcp_err_set(r->err, XLCP_ECORRUPT, "%s: too many disks", r->path);
            break;
        }
        md = &m->disks[m->ndisks++];
        o = child(d, "origin");
        s = child(d, "snapshot");
        get_str(r, d, "vdev", md->origin.vdev, sizeof(md->origin.vdev));
        memcpy(md->snap.vdev, md->origin.vdev, sizeof(md->snap.vdev));
        md->skipped = (int)get_u64(r, d, "skipped");
        get_str(r, o, "path", md->origin.path, sizeof(md->origin.path));
        get_str(r, o, "vg", md->origin.vg, sizeof(md->origin.vg));
        get_str(r, o, "lv", md->origin.lv, sizeof(md->origin.lv));
        md->origin.thin = (int)get_u64(r, o, "thin");
        md->origin.size_bytes = get_u64(r, o, "bytes");
        get_str(r, s, "path", md->snap.path, sizeof(md->snap.path));
        get_str(r, s, "vg", md->snap.vg, sizeof(md->snap.vg));
        get_str(r, s, "lv", md->snap.lv, sizeof(md->snap.lv));
        get_str(r, s, "origin-lv", md->snap.origin_lv, sizeof(md->snap.origin_lv));
        md->snap.thin = (int)get_u64(r, s, "thin");
        md->snap.size_bytes = get_u64(r, s, "bytes");
        if (xmlHasProp(s, BAD_CAST "writes-held-ns"))
            md->snap.held_ns = get_u64(r, s, "writes-held-ns");
    }
    for (xmlNodePtr s = tim->children; s && !r->rc; s = s->next) {
        char name[32];
        if (s->type != XML_ELEMENT_NODE || strcmp((const char *)s->name, "step") != 0)
            continue;
        get_str(r, s, "name", name, sizeof(name));
        for (int k = 0; k < XLCP_STEP__COUNT; k++)
            if (strcmp(name, xlcp_step_name((xlcp_step)k)) == 0) {
                m->step_start_ns[k] = get_u64(r, s, "start-ns");
                m->step_ns[k] = get_u64(r, s, "ns");
            }
    }
    m->downtime_ns = get_u64(r, child(tim, "downtime-ns"), NULL);
    m->guest_downtime_ns = get_u64(r, child(tim, "guest-downtime-ns"), NULL);
    m->total_ns = get_u64(r, child(tim, "total-ns"), NULL);
    if (child(tim, "stop-at")) {
        m->at_ns = get_i64(r, child(tim, "stop-at"), "ns");
        m->deviation_ns = get_i64(r, child(tim, "stop-at"), "deviation-ns");
    }
}

int xlcp_manifest_read(const char *path, struct xlcp_manifest *m, struct xlcp_err *err)
{
    struct errbuf eb = {{0}};
    struct reader r = {path, err, 0};
    xmlParserCtxtPtr pctx;
    xmlDocPtr doc;
    struct stat st;
    int fd, rc;

    xlcp_manifest_init(m);
    xmlInitParser();
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return xlcp_err_errno(err, errno, "%s", path) == XLCP_ENOTFOUND
                   ? xlcp_err_set(err, XLCP_ECORRUPT, "%s: manifest missing", path)
                   : err->code;
    if (fstat(fd, &st) != 0 || st.st_size > (off_t)MANIFEST_MAX_BYTES) {
        close(fd);
        return xlcp_err_set(err, XLCP_ECORRUPT, "%s: unreadable or larger than %u bytes", path,
                            MANIFEST_MAX_BYTES);
    }
    pctx = xmlNewParserCtxt();
    if (!pctx) {
        close(fd);
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    }
    xmlSetStructuredErrorFunc(&eb, collect_error);
    doc = xmlCtxtReadFd(pctx, fd, path, NULL, XML_PARSE_NONET);
    xmlSetStructuredErrorFunc(NULL, NULL);
    xmlFreeParserCtxt(pctx);
    close(fd);
    if (!doc)
        return xlcp_err_set(err, XLCP_ECORRUPT, "%s: not well-formed XML: %s", path,
                            eb.msg[0] ? eb.msg : "empty or truncated");
    rc = validate(doc, path, err);
    if (rc == 0) {
        parse(&r, xmlDocGetRootElement(doc), m);
        rc = r.rc;
    }
    xmlFreeDoc(doc);
    if (rc)
        xlcp_manifest_free(m);
    return rc;
}
