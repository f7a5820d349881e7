/*
 * cpinfo.c - gathers what the CLI shows about one checkpoint (see cpinfo.h).
 *
 * The public API has accessors for the core fields only; the rest is read from the
 * manifest XML. The lookup is by element or attribute name, compared without case,
 * '-' or '_' ("suspend-path" = "suspend_path" = "suspendPath"), so that it does not
 * depend on the exact spelling of the schema.
 */
#include "cpinfo.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

/* Lower-case alphanumerics of s into buf. */
static void normalize(const char *s, char *buf, size_t len)
{
    size_t n = 0;

    for (; *s && n + 1 < len; s++)
        if (isalnum((unsigned char)*s))
            buf[n++] = (char)tolower((unsigned char)*s);
    buf[n] = '\0';
}

static int name_is(const xmlChar *name, const char *want)
{
    char a[64];

    if (!name)
        return 0;
    normalize((const char *)name, a, sizeof(a));
    return strcmp(a, want) == 0;
}

static void copy_trimmed(const xmlChar *s, char *buf, size_t len)
{
    const char *p = (const char *)s;
    size_t n;

    while (isspace((unsigned char)*p))
        p++;
    n = strlen(p);
    while (n > 0 && isspace((unsigned char)p[n - 1]))
        n--;
    if (n >= len)
        n = len - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
}

/* Text of the attribute or element named `want` (normalized) on or under node: the
 * node's own attributes first, then its children, depth-first up to `depth` levels. */
static int find_text(xmlNode *node, const char *want, int depth, char *buf, size_t len)
{
    for (xmlAttr *a = node->properties; a; a = a->next) {
        if (name_is(a->name, want)) {
            xmlChar *v = xmlNodeGetContent((xmlNode *)a);
            if (!v)
                continue;
            copy_trimmed(v, buf, len);
            xmlFree(v);
            return 1;
        }
    }
    if (depth <= 0)
        return 0;
    for (xmlNode *c = node->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || !name_is(c->name, want))
            continue;
        xmlChar *v = xmlNodeGetContent(c);
        if (!v)
            continue;
        copy_trimmed(v, buf, len);
        xmlFree(v);
        return 1;
    }
    for (xmlNode *c = node->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && find_text(c, want, depth - 1, buf, len))
            return 1;
    return 0;
}

static xmlNode *find_elem(xmlNode *node, const char *want, int depth)
{
    for (xmlNode *c = node->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && name_is(c->name, want))
            return c;
    if (depth <= 0)
        return NULL;
    for (xmlNode *c = node->children; c; c = c->next) {
        xmlNode *r = c->type == XML_ELEMENT_NODE ? find_elem(c, want, depth - 1) : NULL;
        if (r)
            return r;
    }
    return NULL;
}

/* 1, 0, or -1 if absent or not a boolean. */
static int find_bool(xmlNode *node, const char *want, int depth)
{
    char v[16];

    if (!find_text(node, want, depth, v, sizeof(v)))
        return -1;
    for (char *p = v; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"))
        return 1;
    if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no"))
        return 0;
    return -1;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!*s || !isdigit((unsigned char)*s))
        return 0;
    v = strtoull(s, &end, 10);
    if (*end)
        return 0;
    *out = v;
    return 1;
}

static void describe_disk(xmlNode *d, struct cli_disk *out)
{
    char vg[128] = "", lv[128] = "", tmp[32];
    xmlNode *snap, *origin;
    uint64_t size;

    memset(out, 0, sizeof(*out));
    out->thin = -1;
    if (!find_text(d, "vdev", 0, out->vdev, sizeof(out->vdev)))
        find_text(d, "vdev", 3, out->vdev, sizeof(out->vdev));
    origin = find_elem(d, "origin", 0);
    if (origin) {
        if (!find_text(origin, "path", 1, out->origin, sizeof(out->origin)))
            find_text(origin, "target", 1, out->origin, sizeof(out->origin));
        if (!out->origin[0] && find_text(origin, "vg", 1, vg, sizeof(vg)) &&
            find_text(origin, "lv", 1, lv, sizeof(lv)))
            snprintf(out->origin, sizeof(out->origin), "/dev/%s/%s", vg, lv);
    }
    if (!out->origin[0] && !find_text(d, "target", 0, out->origin, sizeof(out->origin)))
        find_text(d, "path", 0, out->origin, sizeof(out->origin));
    snap = find_elem(d, "snapshot", 0);
    if (snap) {
        if (!find_text(snap, "path", 1, out->snapshot, sizeof(out->snapshot)) &&
            find_text(snap, "vg", 1, vg, sizeof(vg)) && find_text(snap, "lv", 1, lv, sizeof(lv)))
            snprintf(out->snapshot, sizeof(out->snapshot), "/dev/%s/%s", vg, lv);
        out->thin = find_bool(snap, "thin", 1);
        if ((find_text(snap, "sizebytes", 1, tmp, sizeof(tmp)) ||
             find_text(snap, "size", 1, tmp, sizeof(tmp))) &&
            parse_u64(tmp, &size))
            out->size_bytes = size;
        if (find_text(snap, "writesheldns", 0, tmp, sizeof(tmp)) && parse_u64(tmp, &size))
            out->held_ns = size;
    }
    if (out->thin < 0)
        out->thin = find_bool(d, "thin", 2);
    out->skipped = find_bool(d, "skipped", 1) == 1;
}

static void collect_disks(xmlNode *node, struct cli_cp *info)
{
    for (xmlNode *c = node->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (name_is(c->name, "disk")) {
            if (info->nxdisks < CLI_MAX_DISKS)
                describe_disk(c, &info->disks[info->nxdisks++]);
        } else {
            collect_disks(c, info);
        }
    }
}

void cli_cp_describe(const xlcp_checkpoint *cp, struct cli_cp *info)
{
    const char *xml = xlcp_checkpoint_manifest_xml(cp);
    char tmp[64];
    uint64_t v;
    xmlDoc *doc;
    xmlNode *root;

    memset(info, 0, sizeof(*info));
    info->id = xlcp_checkpoint_id(cp);
    info->domain = xlcp_checkpoint_domain_name(cp);
    info->domain_uuid = xlcp_checkpoint_domain_uuid(cp);
    info->created = xlcp_checkpoint_created(cp);
    info->dir = xlcp_checkpoint_dir(cp);
    info->memory_bytes = xlcp_checkpoint_memory_bytes(cp);
    info->downtime_ns = xlcp_checkpoint_downtime_ns(cp);
    info->ndisks = xlcp_checkpoint_disk_count(cp);
    info->live = -1;
    info->quiesced = -1;
    info->total_ns = -1;
    if (!xml)
        return;
    doc = xmlReadMemory(xml, (int)strlen(xml), "manifest.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return;
    root = xmlDocGetRootElement(doc);
    if (root) {
        /* The label: "label" anywhere, else a "name" right on the root (the domain's
         * name lives inside its own element). */
        if (!find_text(root, "label", 3, info->label, sizeof(info->label)))
            find_text(root, "name", 0, info->label, sizeof(info->label));
        info->live = find_bool(root, "live", 3);
        info->quiesced = find_bool(root, "quiesced", 3);
        if (info->quiesced < 0 && find_text(root, "consistency", 3, tmp, sizeof(tmp)))
            info->quiesced = strcmp(tmp, "quiesced") == 0;
        if (!find_text(root, "suspendpath", 3, info->suspend_path, sizeof(info->suspend_path)))
            find_text(root, "suspend", 3, info->suspend_path, sizeof(info->suspend_path));
        if (!find_text(root, "groupid", 3, info->group_id, sizeof(info->group_id)))
            find_text(root, "group", 3, info->group_id, sizeof(info->group_id));
        if (find_text(root, "totalns", 3, tmp, sizeof(tmp)) && parse_u64(tmp, &v))
            info->total_ns = (int64_t)v;
        else if (find_text(root, "totalms", 3, tmp, sizeof(tmp)) && parse_u64(tmp, &v))
            info->total_ns = (int64_t)(v * 1000000u);
        else if (find_text(root, "total", 3, tmp, sizeof(tmp)) && parse_u64(tmp, &v))
            info->total_ns = (int64_t)v;
        if (find_text(root, "guestdowntimens", 3, tmp, sizeof(tmp)) && parse_u64(tmp, &v))
            info->guest_downtime_ns = v;
        collect_disks(root, info);
    }
    xmlFreeDoc(doc);
}
