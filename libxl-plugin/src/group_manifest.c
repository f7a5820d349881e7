/*
 * group_manifest.c - writing and reading a group checkpoint's group.xml with libxml2,
 * validated against the RelaxNG schema compiled into the library (schema/group.rng).
 */
#include "group_manifest.h"
#include "manifest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

extern const char xlcp_group_rng[];

int xlcp_group_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n >= XLCP_GROUP_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

void xlcp_group_manifest_measure(struct xlcp_group_manifest *g)
{
    uint64_t lo = UINT64_MAX, hi = 0, longest = 0;

    for (int i = 0; i < g->n; i++) {
        const struct xlcp_group_member *m = &g->members[i];
        lo = m->stopped_ns < lo ? m->stopped_ns : lo;
        hi = m->stopped_ns > hi ? m->stopped_ns : hi;
        if (m->resumed_ns > m->stopped_ns && m->resumed_ns - m->stopped_ns > longest)
            longest = m->resumed_ns - m->stopped_ns;
    }
    g->skew_ns = g->n ? hi - lo : 0;
    g->longest_stop_ns = longest;
}

void xlcp_group_rfc3339(int64_t ns, char *out, size_t len)
{
    time_t secs = (time_t)(ns / 1000000000);
    long us = (long)((ns % 1000000000) / 1000);
    struct tm tm;

    if (us < 0) {
        secs--;
        us += 1000000;
    }
    if (!gmtime_r(&secs, &tm)) {
        snprintf(out, len, "@%lld", (long long)(ns / 1000000000));
        return;
    }
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us);
}

static void attri(xmlNodePtr n, const char *name, int64_t v)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%" PRId64, v);
    xmlNewProp(n, BAD_CAST name, BAD_CAST buf);
}

static void attru(xmlNodePtr n, const char *name, uint64_t v)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    xmlNewProp(n, BAD_CAST name, BAD_CAST buf);
}

int xlcp_group_manifest_to_xml(const struct xlcp_group_manifest *g, char **xml_out,
                               struct xlcp_err *err)
{
    xmlDocPtr doc;
    xmlNodePtr root, inst;
    xmlChar *buf = NULL;
    char num[32];
    int len = 0, rc;

    *xml_out = NULL;
    xmlInitParser();
    doc = xmlNewDoc(BAD_CAST "1.0");
    root = xmlNewNode(NULL, BAD_CAST "group");
    if (!doc || !root) {
        xmlFreeDoc(doc);
        xmlFreeNode(root);
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    }
    xmlDocSetRootElement(doc, root);
    xmlNewProp(root, BAD_CAST "version", BAD_CAST "2");
    xmlNewTextChild(root, NULL, BAD_CAST "id", BAD_CAST g->id);
    xmlNewTextChild(root, NULL, BAD_CAST "name", BAD_CAST g->name);
    xmlNewTextChild(root, NULL, BAD_CAST "created", BAD_CAST g->created);
    xmlNewTextChild(root, NULL, BAD_CAST "tool-version", BAD_CAST g->tool_version);
    if (g->at_ns) {
        char when[40];
        xmlNodePtr at;
        xlcp_group_rfc3339(g->at_ns, when, sizeof(when));
        at = xmlNewTextChild(root, NULL, BAD_CAST "at", BAD_CAST when);
        attri(at, "ns", g->at_ns);
    }
    if (g->nhosts > 0) {
        xmlNodePtr hs = xmlNewChild(root, NULL, BAD_CAST "hosts", NULL);
        for (int i = 0; i < g->nhosts; i++) {
            xmlNodePtr h = xmlNewChild(hs, NULL, BAD_CAST "host", NULL);
            xmlNewProp(h, BAD_CAST "name", BAD_CAST g->hosts[i].name);
            attri(h, "offset-ns", g->hosts[i].offset_ns);
            attru(h, "rtt-ns", g->hosts[i].rtt_ns);
        }
    }
    inst = xmlNewChild(root, NULL, BAD_CAST "instants", NULL);
    xmlNewProp(inst, BAD_CAST "clock", BAD_CAST g->clock);
    attru(inst, "skew-ns", g->skew_ns);
    attru(inst, "longest-stop-ns", g->longest_stop_ns);
    for (int i = 0; i < g->n; i++) {
        const struct xlcp_group_member *m = &g->members[i];
        xmlNodePtr e = xmlNewChild(inst, NULL, BAD_CAST "member", NULL);
        xmlNewProp(e, BAD_CAST "domain", BAD_CAST m->dom_name);
        xmlNewProp(e, BAD_CAST "uuid", BAD_CAST m->dom_uuid);
        xmlNewProp(e, BAD_CAST "checkpoint", BAD_CAST m->checkpoint_id);
        attru(e, "stopped-ns", m->stopped_ns);
        attru(e, "resumed-ns", m->resumed_ns);
        attru(e, "waited-ns", m->waited_ns);
        if (m->start_delay_ns)
            attru(e, "start-delay-ns", m->start_delay_ns);
        if (m->host[0])
            xmlNewProp(e, BAD_CAST "host", BAD_CAST m->host);
        if (m->has_deviation)
            attri(e, "deviation-ns", m->deviation_ns);
    }
    snprintf(num, sizeof(num), "%" PRIu64, g->total_ns);
    xmlNewTextChild(root, NULL, BAD_CAST "total-ns", BAD_CAST num);
    rc = xlcp_xml_validate(doc, xlcp_group_rng, "group manifest", err);
    if (rc == 0) {
        xmlDocDumpFormatMemoryEnc(doc, &buf, &len, "UTF-8", 1);
        if (!buf)
            rc = xlcp_err_set(err, XLCP_EINTERNAL, "cannot serialise the group manifest");
    }
    xmlFreeDoc(doc);
    if (rc)
        return rc;
    *xml_out = strndup((const char *)buf, (size_t)len);
    xmlFree(buf);
    return *xml_out ? 0 : xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
}

/* ---- reading ------------------------------------------------------------------- */

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

/* Text (attr NULL) or attribute of n into out; too long is corrupt. */
static int get_str(xmlNodePtr n, const char *attr, char *out, size_t len, const char *what,
                   struct xlcp_err *err)
{
    xmlChar *v = attr ? xmlGetProp(n, BAD_CAST attr) : xmlNodeGetContent(n);
    int rc = 0;

    out[0] = '\0';
    if (!v)
        return 0;
    if (strlen((const char *)v) >= len)
        rc = xlcp_err_set(err, XLCP_ECORRUPT, "%s: value of %s too long", what,
                          attr ? attr : (const char *)n->name);
    else
        snprintf(out, len, "%s", (const char *)v);
    xmlFree(v);
    return rc;
}

static int get_u64(xmlNodePtr n, const char *attr, uint64_t *out, const char *what,
                   struct xlcp_err *err)
{
    char buf[32], *end = NULL;
    int rc = get_str(n, attr, buf, sizeof(buf), what, err);

    if (rc)
        return rc;
    errno = 0;
    *out = strtoull(buf, &end, 10);
    if (errno || !end || *end || end == buf)
        return xlcp_err_set(err, XLCP_ECORRUPT, "%s: bad number in %s", what,
                            attr ? attr : (const char *)n->name);
    return 0;
}

static int get_i64(xmlNodePtr n, const char *attr, int64_t *out, const char *what,
                   struct xlcp_err *err)
{
    char buf[32], *end = NULL;
    int rc = get_str(n, attr, buf, sizeof(buf), what, err);

    if (rc)
        return rc;
    errno = 0;
    *out = strtoll(buf, &end, 10);
    if (errno || !end || *end || end == buf)
        return xlcp_err_set(err, XLCP_ECORRUPT, "%s: bad number in %s", what, attr);
    return 0;
}

/* Version 2's additions to the group: <at> and <hosts>. */
static int parse_v2(xmlNodePtr root, const char *what, struct xlcp_group_manifest *g,
                    struct xlcp_err *err)
{
    xmlNodePtr at = child(root, "at"), hs = child(root, "hosts");
    int rc = 0;

    if (at)
        rc = get_i64(at, "ns", &g->at_ns, what, err);
    for (xmlNodePtr h = hs ? hs->children : NULL; h && !rc; h = h->next) {
        struct xlcp_group_host *gh;
        if (h->type != XML_ELEMENT_NODE)
            continue;
        if (g->nhosts >= XLCP_GROUP_MAX)
            return xlcp_err_set(err, XLCP_ECORRUPT, "%s: more than %d hosts", what, XLCP_GROUP_MAX);
        gh = &g->hosts[g->nhosts++];
        rc = get_str(h, "name", gh->name, sizeof(gh->name), what, err);
        if (!rc)
            rc = get_i64(h, "offset-ns", &gh->offset_ns, what, err);
        if (!rc)
            rc = get_u64(h, "rtt-ns", &gh->rtt_ns, what, err);
    }
    return rc;
}

static int parse(xmlNodePtr root, const char *what, struct xlcp_group_manifest *g,
                 struct xlcp_err *err)
{
    xmlNodePtr inst = child(root, "instants");
    int rc = 0;

    rc = get_str(child(root, "id"), NULL, g->id, sizeof(g->id), what, err);
    if (!rc)
        rc = get_str(child(root, "name"), NULL, g->name, sizeof(g->name), what, err);
    if (!rc)
        rc = get_str(child(root, "created"), NULL, g->created, sizeof(g->created), what, err);
    if (!rc)
        rc = get_str(child(root, "tool-version"), NULL, g->tool_version, sizeof(g->tool_version),
                     what, err);
    if (!rc)
        rc = get_str(inst, "clock", g->clock, sizeof(g->clock), what, err);
    if (!rc)
        rc = get_u64(inst, "skew-ns", &g->skew_ns, what, err);
    if (!rc)
        rc = get_u64(inst, "longest-stop-ns", &g->longest_stop_ns, what, err);
    if (!rc)
        rc = get_u64(child(root, "total-ns"), NULL, &g->total_ns, what, err);
    for (xmlNodePtr e = inst->children; e && !rc; e = e->next) {
        struct xlcp_group_member *m;
        if (e->type != XML_ELEMENT_NODE)
            continue;
        if (g->n >= XLCP_GROUP_MAX)
            return xlcp_err_set(err, XLCP_ECORRUPT, "%s: more than %d members", what,
                                XLCP_GROUP_MAX);
        m = &g->members[g->n++];
        rc = get_str(e, "domain", m->dom_name, sizeof(m->dom_name), what, err);
        if (!rc)
            rc = get_str(e, "uuid", m->dom_uuid, sizeof(m->dom_uuid), what, err);
        if (!rc)
            rc = get_str(e, "checkpoint", m->checkpoint_id, sizeof(m->checkpoint_id), what, err);
        if (!rc)
            rc = get_u64(e, "stopped-ns", &m->stopped_ns, what, err);
        if (!rc)
            rc = get_u64(e, "resumed-ns", &m->resumed_ns, what, err);
        if (!rc)
            rc = get_u64(e, "waited-ns", &m->waited_ns, what, err);
        if (!rc && xmlHasProp(e, BAD_CAST "start-delay-ns"))
            rc = get_u64(e, "start-delay-ns", &m->start_delay_ns, what, err);
        if (!rc && xmlHasProp(e, BAD_CAST "host"))
            rc = get_str(e, "host", m->host, sizeof(m->host), what, err);
        if (!rc && xmlHasProp(e, BAD_CAST "deviation-ns")) {
            m->has_deviation = 1;
            rc = get_i64(e, "deviation-ns", &m->deviation_ns, what, err);
        }
    }
    if (!rc)
        rc = parse_v2(root, what, g, err);
    return rc;
}

int xlcp_group_manifest_parse(const char *xml, const char *what, struct xlcp_group_manifest *g,
                              struct xlcp_err *err)
{
    xmlDocPtr doc;
    int rc;

    memset(g, 0, sizeof(*g));
    xmlInitParser();
    doc = xmlReadMemory(xml, (int)strlen(xml), what, NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return xlcp_err_set(err, XLCP_ECORRUPT, "%s: not well-formed XML", what);
    rc = xlcp_xml_validate(doc, xlcp_group_rng, what, err);
    if (rc == 0)
        rc = parse(xmlDocGetRootElement(doc), what, g, err);
    xmlFreeDoc(doc);
    return rc;
}
