/*
 * export_index.c - export.xml, the index of an export directory (libxml2): each file's
 * size and digest, each disk as a full image or a delta with its block map, the base
 * export's id. Reading checks everything a later import relies on.
 */
#include "export.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

void xlcp_export_index_free(struct xlcp_export_index *ix)
{
    for (int i = 0; i < ix->ndisks; i++) {
        free(ix->disks[i].extents);
        ix->disks[i].extents = NULL;
        ix->disks[i].nextents = 0;
    }
}

const struct xlcp_export_file *xlcp_export_index_file(const struct xlcp_export_index *ix,
                                                      const char *name)
{
    for (int i = 0; i < ix->nfiles; i++)
        if (strcmp(ix->files[i].name, name) == 0)
            return &ix->files[i];
    return NULL;
}

static int set_u64(xmlNodePtr n, const char *k, uint64_t v)
{
    char b[32];
    snprintf(b, sizeof(b), "%" PRIu64, v);
    return xmlNewProp(n, BAD_CAST k, BAD_CAST b) ? 0 : -1;
}

static int set_str(xmlNodePtr n, const char *k, const char *v)
{
    return xmlNewProp(n, BAD_CAST k, BAD_CAST v) ? 0 : -1;
}

int xlcp_export_index_write(const struct xlcp_export_index *ix, const char *path,
                            struct xlcp_err *err)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = doc ? xmlNewNode(NULL, BAD_CAST "xlcp-export") : NULL;
    int bad = !root;

    if (root) {
        xmlDocSetRootElement(doc, root);
        bad |= set_u64(root, "format", XLCP_EXPORT_FORMAT);
        bad |= set_str(root, "id", ix->id);
        if (ix->base_id[0])
            bad |= set_str(root, "base", ix->base_id);
        bad |= set_str(root, "domain", ix->dom_name);
        bad |= set_str(root, "uuid", ix->dom_uuid);
        bad |= set_str(root, "digest-alg", ix->digest_alg);
        for (int i = 0; i < ix->nfiles && !bad; i++) {
            xmlNodePtr f = xmlNewChild(root, NULL, BAD_CAST "file", NULL);
            bad |= !f || set_str(f, "name", ix->files[i].name) ||
                   set_u64(f, "size", ix->files[i].size) ||
                   set_str(f, "digest", ix->files[i].digest);
        }
        for (int i = 0; i < ix->ndisks && !bad; i++) {
            const struct xlcp_export_disk *d = &ix->disks[i];
            xmlNodePtr n = xmlNewChild(root, NULL, BAD_CAST "disk", NULL);
            bad |= !n || set_str(n, "vdev", d->vdev) ||
                   set_str(n, "kind", d->delta ? "delta" : "full") || set_u64(n, "size", d->size) ||
                   set_str(n, "file", d->file);
            for (size_t e = 0; d->delta && e < d->nextents && !bad; e++) {
                xmlNodePtr x = xmlNewChild(n, NULL, BAD_CAST "extent", NULL);
                bad |= !x || set_u64(x, "offset", d->extents[e].offset) ||
                       set_u64(x, "length", d->extents[e].length);
            }
        }
    }
    if (bad) {
        xmlFreeDoc(doc);
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    }
    int w = xmlSaveFormatFileEnc(path, doc, "UTF-8", 1);
    xmlFreeDoc(doc);
    if (w < 0)
        return xlcp_err_set(err, XLCP_EIO, "%s: cannot write", path);
    return 0;
}

/* ---- reading ---- */

static int get_str(xmlNodePtr n, const char *k, char *out, size_t len, int required)
{
    xmlChar *v = xmlGetProp(n, BAD_CAST k);
    out[0] = '\0';
    if (!v)
        return required ? -1 : 0;
    size_t l = strlen((const char *)v);
    if (l >= len) {
        xmlFree(v);
        return -1;
    }
    memcpy(out, v, l + 1);
    xmlFree(v);
    return 0;
}

static int get_u64(xmlNodePtr n, const char *k, uint64_t *out)
{
    char b[32], *end;
    if (get_str(n, k, b, sizeof(b), 1) || !b[0] || b[0] < '0' || b[0] > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(b, &end, 10);
    if (*end || errno)
        return -1;
    *out = v;
    return 0;
}

/* a relative name without "..", "/" at the start, or odd characters */
static int name_ok(const char *s)
{
    if (!*s || s[0] == '/' || strstr(s, ".."))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("._-/", *s)))
            return 0;
    return 1;
}

static int is_hex(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

static int read_disk(xmlNodePtr n, struct xlcp_export_disk *d, const char *path,
                     struct xlcp_err *err)
{
    char kind[16];
    size_t cap = 0;
    uint64_t end = 0;

    if (get_str(n, "vdev", d->vdev, sizeof(d->vdev), 1) || !name_ok(d->vdev) ||
        strchr(d->vdev, '/') || get_str(n, "kind", kind, sizeof(kind), 1) ||
        get_u64(n, "size", &d->size) || get_str(n, "file", d->file, sizeof(d->file), 1) ||
        !name_ok(d->file))
        return xlcp_err_set(err, XLCP_ECORRUPT, "%s: a <disk> lacks or has a bad attribute", path);
    if (strcmp(kind, "full") != 0 && strcmp(kind, "delta") != 0)
        return xlcp_err_set(err, XLCP_ECORRUPT, "%s: disk %s: unknown kind '%s'", path, d->vdev,
                            kind);
    d->delta = kind[0] == 'd';
    for (xmlNodePtr x = n->children; x; x = x->next) {
        if (x->type != XML_ELEMENT_NODE)
            continue;
        struct xlcp_extent e;
        if (!d->delta || strcmp((const char *)x->name, "extent") != 0 ||
            get_u64(x, "offset", &e.offset) || get_u64(x, "length", &e.length) || !e.length ||
            e.offset < end || e.offset + e.length < e.offset || e.offset + e.length > d->size)
            return xlcp_err_set(err, XLCP_ECORRUPT,
                                "%s: disk %s: bad block map entry (out of order, empty or "
                                "past the volume's %" PRIu64 " bytes)",
                                path, d->vdev, d->size);
        if (d->nextents == cap) {
            cap = cap ? cap * 2 : 64;
            struct xlcp_extent *ne = realloc(d->extents, cap * sizeof(*ne));
            if (!ne)
                return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
            d->extents = ne;
        }
        d->extents[d->nextents++] = e;
        end = e.offset + e.length;
    }
    return 0;
}

static int read_root(xmlNodePtr root, struct xlcp_export_index *ix, const char *path,
                     struct xlcp_err *err)
{
    uint64_t fmt;

    if (!root || strcmp((const char *)root->name, "xlcp-export") != 0)
        return xlcp_err_set(err, XLCP_ECORRUPT, "%s: not an export index", path);
    if (get_u64(root, "format", &fmt) || fmt != XLCP_EXPORT_FORMAT)
        return xlcp_err_set(err, XLCP_ECORRUPT, "%s: unknown format (want %d)", path,
                            XLCP_EXPORT_FORMAT);
    ix->format = (int)fmt;
    if (get_str(root, "id", ix->id, sizeof(ix->id), 1) ||
        get_str(root, "base", ix->base_id, sizeof(ix->base_id), 0) ||
        get_str(root, "domain", ix->dom_name, sizeof(ix->dom_name), 1) ||
        get_str(root, "uuid", ix->dom_uuid, sizeof(ix->dom_uuid), 1) ||
        get_str(root, "digest-alg", ix->digest_alg, sizeof(ix->digest_alg), 1) || !ix->id[0] ||
        !xlcp_digest_known(ix->digest_alg))
        return xlcp_err_set(err, XLCP_ECORRUPT, "%s: missing or bad id, uuid or digest-alg", path);
    for (xmlNodePtr n = root->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (strcmp((const char *)n->name, "file") == 0) {
            struct xlcp_export_file *f;
            if (ix->nfiles == (int)(sizeof(ix->files) / sizeof(ix->files[0])))
                return xlcp_err_set(err, XLCP_ECORRUPT, "%s: too many files", path);
            f = &ix->files[ix->nfiles++];
            if (get_str(n, "name", f->name, sizeof(f->name), 1) || !name_ok(f->name) ||
                get_u64(n, "size", &f->size) ||
                get_str(n, "digest", f->digest, sizeof(f->digest), 1) || !is_hex(f->digest))
                return xlcp_err_set(err, XLCP_ECORRUPT, "%s: a <file> lacks or has a bad attribute",
                                    path);
        } else if (strcmp((const char *)n->name, "disk") == 0) {
            if (ix->ndisks == XLCP_MAX_DISKS)
                return xlcp_err_set(err, XLCP_ECORRUPT, "%s: too many disks", path);
            int rc = read_disk(n, &ix->disks[ix->ndisks++], path, err);
            if (rc)
                return rc;
        } else {
            return xlcp_err_set(err, XLCP_ECORRUPT, "%s: unknown element <%s>", path, n->name);
        }
    }
    if (!xlcp_export_index_file(ix, XLCP_MANIFEST_FILE) ||
        !xlcp_export_index_file(ix, XLCP_MEMORY_FILE))
        return xlcp_err_set(err, XLCP_ECORRUPT, "%s: lists no manifest or no memory image", path);
    for (int i = 0; i < ix->ndisks; i++) {
        const struct xlcp_export_disk *d = &ix->disks[i];
        const struct xlcp_export_file *f = xlcp_export_index_file(ix, d->file);
        uint64_t sum = 0;
        if (!f)
            return xlcp_err_set(err, XLCP_ECORRUPT, "%s: disk %s: file %s is not listed", path,
                                d->vdev, d->file);
        if (d->delta && ix->base_id[0] == '\0')
            return xlcp_err_set(err, XLCP_ECORRUPT, "%s: disk %s: a delta without a base", path,
                                d->vdev);
        for (size_t e = 0; e < d->nextents; e++)
            sum += d->extents[e].length;
        if ((d->delta && sum != f->size) || (!d->delta && f->size != d->size))
            return xlcp_err_set(err, XLCP_ECORRUPT,
                                "%s: disk %s: file %s has %" PRIu64
                                " bytes, the index wants %" PRIu64,
                                path, d->vdev, d->file, f->size, d->delta ? sum : d->size);
        for (int j = 0; j < i; j++)
            if (strcmp(ix->disks[j].vdev, d->vdev) == 0)
                return xlcp_err_set(err, XLCP_ECORRUPT, "%s: disk %s listed twice", path, d->vdev);
    }
    return 0;
}

int xlcp_export_index_read(const char *path, struct xlcp_export_index *ix, struct xlcp_err *err)
{
    xmlDocPtr doc;
    int rc;

    memset(ix, 0, sizeof(*ix));
    doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        FILE *f = fopen(path, "r");
        if (!f)
            return xlcp_err_set(err, XLCP_ENOTFOUND, "%s: no export index there", path);
        fclose(f);
        return xlcp_err_set(err, XLCP_ECORRUPT, "%s: not well-formed XML", path);
    }
    rc = read_root(xmlDocGetRootElement(doc), ix, path, err);
    xmlFreeDoc(doc);
    if (rc)
        xlcp_export_index_free(ix);
    return rc;
}
