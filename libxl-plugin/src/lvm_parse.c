/*
 * lvm_parse.c - names, tags and sizes as the LVM adapter accepts them, and `lvs` output.
 *
 * Names are checked before they reach LVM's command line (no option-like or odd names);
 * a configured disk target (phy:/dev/<vg>/<lv>, /dev/mapper/<vg>-<lv>) is split into its
 * VG and LV; `lvs` of one volume is read into a struct lvinfo.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "lvm.h"

int xlcp_lvm_valid_name(const char *s)
{
    if (!*s || *s == '-' || strlen(s) >= XLCP_NAME_MAX)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("+_.-", *s))
            return 0;
    return 1;
}

int xlcp_lvm_valid_tag(const char *s)
{
    if (!*s || strlen(s) >= 128)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("+_.:-", *s))
            return 0;
    return 1;
}

/* /dev/mapper/<vg>-<lv> with dashes doubled inside the names. */
static int split_mapper(const char *name, char *vg, char *lv)
{
    size_t vi = 0, li = 0;
    const char *p = name;

    for (; *p; p++) {
        if (*p == '-') {
            if (p[1] == '-') {
                vg[vi++] = '-';
                p++;
                continue;
            }
            p++;
            break;
        }
        if (vi + 1 >= XLCP_NAME_MAX)
            return 0;
        vg[vi++] = *p;
    }
    vg[vi] = '\0';
    if (!*p && p[-1] != '-')
        return 0;
    for (; *p; p++) {
        if (*p == '-') {
            if (p[1] != '-')
                return 0; /* a third component: not a plain LV */
            p++;
        }
        if (li + 1 >= XLCP_NAME_MAX)
            return 0;
        lv[li++] = *p;
    }
    lv[li] = '\0';
    return vi > 0 && li > 0;
}

int xlcp_lvm_parse_target(const char *target, char *vg, char *lv)
{
    const char *p = target;
    const char *slash;

    if (strncmp(p, "phy:", 4) == 0)
        p += 4;
    if (strncmp(p, "/dev/mapper/", 12) == 0)
        return split_mapper(p + 12, vg, lv) && xlcp_lvm_valid_name(vg) && xlcp_lvm_valid_name(lv);
    if (strncmp(p, "/dev/", 5) != 0)
        return 0;
    p += 5;
    slash = strchr(p, '/');
    if (!slash || strchr(slash + 1, '/') || (size_t)(slash - p) >= XLCP_NAME_MAX ||
        strlen(slash + 1) >= XLCP_NAME_MAX)
        return 0;
    memcpy(vg, p, (size_t)(slash - p));
    vg[slash - p] = '\0';
    strcpy(lv, slash + 1);
    /* /dev/sda/..., /dev/disk/by-id/...: not a VG; lvs decides below */
    return xlcp_lvm_valid_name(vg) && xlcp_lvm_valid_name(lv);
}

/* ---- lvs -------------------------------------------------------------------------- */

void xlcp_lvm_trim(char *s)
{
    char *p = s;
    size_t n;

    while (isspace((unsigned char)*p))
        p++;
    memmove(s, p, strlen(p) + 1);
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
}

/* Splits one "a|b|c" line into at most max fields (in place). */
int xlcp_lvm_split_fields(char *line, char **f, int max)
{
    int n = 0;

    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == '|') {
            *p = '\0';
            f[n++] = p + 1;
        }
    for (int i = 0; i < n; i++)
        xlcp_lvm_trim(f[i]);
    return n;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || (*end && *end != '.'))
        return -1;
    *out = v;
    return 0;
}

/* "12.50" -> 12.5; empty (not applicable) -> -1 */
static double parse_pct(const char *s)
{
    char *end;
    double v;

    if (!isdigit((unsigned char)*s))
        return -1;
    v = strtod(s, &end);
    return *end ? -1 : v;
}

/* lvs of one volume: 1 found, 0 absent, <0 error. */
int xlcp_lvm_lv_info(const struct lvm_runner *l, const char *vg, const char *lv, struct lvinfo *out,
                     struct xlcp_err *err)
{
    char name[2 * XLCP_NAME_MAX + 2];
    char *args[] = {"lvs", "--noheadings", "--nosuffix",    "--units", "b", "--separator",
                    "|",   "-o",           LVM_INFO_FIELDS, name,      NULL};
    struct lvm_result *r = malloc(sizeof(*r));
    char *f[15];
    int rc;

    if (!r)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    snprintf(name, sizeof(name), "%s/%s", vg, lv);
    rc = xlcp_lvm_run(l, vg, args, r, 1, err);
    if (rc < 0) {
        free(r);
        return rc;
    }
    if (rc == 1) {
        if (strstr(r->errtext, "not found") || strstr(r->errtext, "Failed to find") ||
            strstr(r->errtext, "does not exist")) {
            free(r);
            return 0;
        }
        rc = xlcp_err_set(err, XLCP_EDISK, "lvm lvs %s failed (exit %d): %s", name, r->status,
                          xlcp_lvm_last_line(r));
        free(r);
        return rc;
    }
    char *nl = strchr(r->out, '\n');
    if (nl)
        *nl = '\0';
    if (xlcp_lvm_split_fields(r->out, f, 14) != 14 || parse_u64(f[2], &out->size) != 0 ||
        parse_u64(f[8], &out->vg_free) != 0) {
        rc = xlcp_err_set(err, XLCP_EDISK, "lvm lvs %s: unexpected output '%.80s'", name, r->out);
        free(r);
        return rc;
    }
    snprintf(out->vg, sizeof(out->vg), "%s", f[0]);
    snprintf(out->lv, sizeof(out->lv), "%s", f[1]);
    snprintf(out->segtype, sizeof(out->segtype), "%s", f[3]);
    snprintf(out->pool, sizeof(out->pool), "%s", f[4]);
    snprintf(out->tags, sizeof(out->tags), "%s", f[5]);
    snprintf(out->origin, sizeof(out->origin), "%s", f[6]);
    out->thin_id = 0;
    if (f[7][0] && parse_u64(f[7], &out->thin_id) != 0)
        out->thin_id = 0;
    snprintf(out->attr, sizeof(out->attr), "%s", f[9]);
    out->data_pct = parse_pct(f[10]);
    out->meta_pct = parse_pct(f[11]);
    snprintf(out->vg_uuid, sizeof(out->vg_uuid), "%s", f[12]);
    snprintf(out->lv_uuid, sizeof(out->lv_uuid), "%s", f[13]);
    free(r);
    return 1;
}

int xlcp_lvm_is_checkpoint_tag(const char *tag)
{
    size_t n = strlen(LVM_TAG_PREFIX);

    return strncmp(tag, LVM_TAG_PREFIX, n) == 0 && xlcp_engine_id_ok(tag + n);
}

int xlcp_lvm_has_our_tag(const char *tags, int also_clones)
{
    char buf[256];
    char *save = NULL;

    snprintf(buf, sizeof(buf), "%s", tags);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (xlcp_lvm_is_checkpoint_tag(t) || (also_clones && strcmp(t, LVM_CLONE_TAG) == 0))
            return 1;
    return 0;
}

/* Bytes of the COW area for a thick snapshot of `size` bytes under `policy`. */
int xlcp_lvm_cow_bytes(const char *policy, uint64_t size, uint64_t *out, struct xlcp_err *err)
{
    char *end;
    double v;

    if (!policy || !*policy)
        policy = "20%";
    errno = 0;
    v = strtod(policy, &end);
    if (errno || end == policy || v <= 0)
        return xlcp_err_set(err, XLCP_EINVAL, "bad snapshot size '%s'", policy);
    if (*end == '%' && end[1] == '\0') {
        if (v > 100)
            return xlcp_err_set(err, XLCP_EINVAL, "bad snapshot size '%s' (over 100%%)", policy);
        *out = (uint64_t)((double)size * v / 100.0);
    } else {
        uint64_t mult = 1;
        switch (toupper((unsigned char)*end)) {
        case '\0':
            mult = 1;
            break;
        case 'K':
            mult = 1ull << 10;
            break;
        case 'M':
            mult = 1ull << 20;
            break;
        case 'G':
            mult = 1ull << 30;
            break;
        case 'T':
            mult = 1ull << 40;
            break;
        default:
            return xlcp_err_set(err, XLCP_EINVAL, "bad snapshot size '%s'", policy);
        }
        if (*end) {
            end++;
            if (toupper((unsigned char)*end) == 'I')
                end++;
            if (toupper((unsigned char)*end) == 'B')
                end++;
        }
        if (*end)
            return xlcp_err_set(err, XLCP_EINVAL, "bad snapshot size '%s'", policy);
        *out = (uint64_t)(v * (double)mult);
    }
    /* LVM's smallest useful COW: one 4 MiB extent; round up to 512-byte sectors */
    if (*out < (4u << 20))
        *out = 4u << 20;
    *out = (*out + 511) & ~(uint64_t)511;
    return 0;
}