/*
 * ps_fx.c - helpers for the page store's unit tests (see ps_fx.h).
 */
#include "ps_fx.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "export_int.h"
#include "stream.h"

void psfx_page(uint8_t *p, uint64_t seed, uint64_t pfn, uint32_t ver, uint32_t zero_every)
{
    uint64_t x = seed * 0x9e3779b97f4a7c15ull ^ (pfn + 1) * 0xbf58476d1ce4e5b9ull ^
                 ((uint64_t)ver + 1) * 0x94d049bb133111ebull;

    if (zero_every && pfn % zero_every == 0 && ver == 0) {
        memset(p, 0, 4096);
        return;
    }
    for (size_t i = 0; i < 4096; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(p + i, &x, 8);
    }
}

void psfx_hash(const uint8_t *page, uint8_t dig[16])
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(page, 4096));
    memcpy(dig, c.digest, 16);
}

/* PAGE_DATA records of pfns first + k * stride (k < count) at version ver. */
static void pages(struct sb *b, uint64_t seed, uint32_t zero_every, uint64_t first, uint32_t count,
                  uint32_t stride, uint32_t ver)
{
    uint8_t page[4096];

    for (uint32_t done = 0; done < count;) {
        uint32_t n = count - done < 1024 ? count - done : 1024;
        sb_le32(b, 1);
        sb_le32(b, 8 + 8 * n + 4096 * n);
        sb_le32(b, n);
        sb_le32(b, 0);
        for (uint32_t i = 0; i < n; i++)
            sb_le64(b, first + (uint64_t)(done + i) * stride);
        for (uint32_t i = 0; i < n; i++) {
            psfx_page(page, seed, first + (uint64_t)(done + i) * stride, ver, zero_every);
            sb_bytes(b, page, sizeof(page));
        }
        done += n;
    }
}

void psfx_hvm_image(struct sb *b, uint64_t seed, uint32_t npages, uint32_t zero_every,
                    const struct psfx_round *rounds, size_t nrounds)
{
    uint8_t cpuid[48], msr[32], tsc[24], params[8 + 32], ctx[200], emu[8 + 40];

    sb_xl_header(b, "{\"c_info\": {\"name\": \"ps\"}}");
    sb_libxl_header(b);
    sb_rec(b, 1, NULL, 0);
    sb_libxc_header(b, 3, 2);
    memset(cpuid, 0x11, sizeof(cpuid));
    memset(msr, 0, sizeof(msr));
    msr[0] = 0xce;
    sb_rec(b, 0x11, cpuid, sizeof(cpuid));
    sb_rec(b, 0x12, msr, sizeof(msr));
    sb_rec(b, 0x10, NULL, 0);
    pages(b, seed, zero_every, 0, npages, 1, 0);
    for (size_t r = 0; r < nrounds; r++)
        pages(b, seed, zero_every, rounds[r].first, rounds[r].count, rounds[r].stride,
              rounds[r].ver);
    memset(tsc, 0, sizeof(tsc));
    sb_rec(b, 0x08, tsc, sizeof(tsc));
    memset(params, 0, sizeof(params));
    params[0] = 2;
    params[8] = 12;
    params[24] = 17;
    sb_rec(b, 0x0a, params, sizeof(params));
    memset(ctx, (int)(seed & 0xff), sizeof(ctx));
    sb_rec(b, 0x09, ctx, sizeof(ctx));
    sb_rec(b, 0x00, NULL, 0);
    memset(emu, 0xab, sizeof(emu));
    memset(emu, 0, 8);
    emu[0] = 2;
    sb_rec(b, 0x03, emu, sizeof(emu));
    sb_rec(b, 0x00, NULL, 0);
}

static int on_unit(void *arg, const struct xlcp_stream_unit *u, struct xlcp_err *err)
{
    struct psfx_img *img = arg;
    (void)err;
    if (u->kind == XLCP_SU_LIBXC_RECORD && u->type == XLCP_LIBXC_PAGE_DATA) {
        img->npage_records++;
        return 0;
    }
    sb_bytes(&img->units, u->raw, u->raw_len);
    img->nunits++;
    return 0;
}

static int on_page(void *arg, uint64_t pfn, unsigned int type, const uint8_t *data,
                   struct xlcp_err *err)
{
    struct psfx_img *img = arg;
    struct psfx_pg *g;
    (void)err;
    if (img->npg == img->cap) {
        img->cap = img->cap ? img->cap * 2 : 1024;
        img->pg = realloc(img->pg, img->cap * sizeof(*img->pg));
        if (!img->pg)
            abort();
    }
    g = &img->pg[img->npg];
    memset(g, 0, sizeof(*g));
    g->pfnt = pfn | (uint64_t)type << 60;
    g->seq = img->npg++;
    g->data = data != NULL;
    if (data)
        psfx_hash(data, g->dig);
    return 0;
}

static int cmp_pg(const void *a, const void *b)
{
    const struct psfx_pg *x = a, *y = b;
    uint64_t px = x->pfnt & 0x000fffffffffffffull, py = y->pfnt & 0x000fffffffffffffull;
    if (px != py)
        return px < py ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int psfx_collect(const uint8_t *p, size_t len, struct psfx_img *out, struct xlcp_err *err)
{
    struct xlcp_stream_cbs cbs = {out, on_unit, on_page};
    struct xlcp_stream *s;
    size_t n = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = xlcp_stream_new(NULL, &cbs, &s, err)) != 0)
        return rc;
    rc = xlcp_stream_feed(s, p, len, err);
    if (rc == 0)
        rc = xlcp_stream_finish(s, err);
    xlcp_stream_free(s);
    if (out->npg)
        qsort(out->pg, out->npg, sizeof(*out->pg), cmp_pg);
    /* the last copy of each pfn */
    for (size_t i = 0; i < out->npg; i++) {
        if (i + 1 < out->npg &&
            ((out->pg[i].pfnt ^ out->pg[i + 1].pfnt) & 0x000fffffffffffffull) == 0)
            continue;
        out->pg[n] = out->pg[i];
        out->pg[n++].seq = 0;
    }
    out->npg = n;
    return rc;
}

void psfx_img_free(struct psfx_img *img)
{
    sb_free(&img->units);
    free(img->pg);
    memset(img, 0, sizeof(*img));
}

int psfx_same(const struct psfx_img *a, const struct psfx_img *b, char *why, size_t len)
{
    if (a->nunits != b->nunits || a->units.len != b->units.len ||
        (a->units.len && memcmp(a->units.p, b->units.p, a->units.len) != 0)) {
        snprintf(why, len, "non-page units differ (%zu/%zu units, %zu/%zu bytes)", a->nunits,
                 b->nunits, a->units.len, b->units.len);
        return 1;
    }
    if (a->npg != b->npg) {
        snprintf(why, len, "%zu pfns vs %zu", a->npg, b->npg);
        return 1;
    }
    for (size_t i = 0; i < a->npg; i++)
        if (a->pg[i].pfnt != b->pg[i].pfnt || a->pg[i].data != b->pg[i].data ||
            memcmp(a->pg[i].dig, b->pg[i].dig, 16) != 0) {
            snprintf(why, len, "pfn %#llx differs",
                     (unsigned long long)(a->pg[i].pfnt & 0x000fffffffffffffull));
            return 1;
        }
    return 0;
}

static struct psfx_t *fx_at(char *root, const struct xlcp_ps_opts *o)
{
    struct psfx_t *t = calloc(1, sizeof(*t));
    if (!t || !root)
        abort();
    t->root = root;
    if (xlcp_ps_open(root, o, &t->ps, &t->err) != 0) {
        fprintf(stderr, "open %s: %s\n", root, t->err.msg);
        abort();
    }
    snprintf(t->packs, sizeof(t->packs), "%s/pagestore/packs", root);
    snprintf(t->maps, sizeof(t->maps), "%s/pagestore/maps", root);
    return t;
}

struct psfx_t *psfx_open(int zstd, uint32_t pack_max)
{
    struct xlcp_ps_opts o;
    xlcp_ps_opts_default(&o);
    o.zstd_level = zstd;
    o.pack_max = pack_max;
    return fx_at(psfx_tmpdir(), &o);
}

struct psfx_t *psfx_reopen(const char *root)
{
    return fx_at(strdup(root), NULL);
}

void psfx_close(struct psfx_t *t, int rm)
{
    xlcp_ps_close(t->ps);
    if (rm)
        psfx_rmdir(t->root);
    else
        free(t->root);
    free(t);
}

int psfx_intact(struct xlcp_pagestore *ps, const char *name, const struct sb *b,
                const struct xlcp_ps_stats *st, char *why, size_t len)
{
    struct psfx_img orig, back;
    struct sb r = {NULL, 0, 0};
    struct xlcp_err err;
    int bad = 1;

    memset(&orig, 0, sizeof(orig));
    memset(&back, 0, sizeof(back));
    if (psfx_rebuild(ps, name, &r, &err) != 0)
        snprintf(why, len, "rebuild %s: %s", name, err.msg);
    else if (psfx_collect(b->p, b->len, &orig, &err) != 0)
        snprintf(why, len, "the original of %s: %s", name, err.msg);
    else if (psfx_collect(r.p, r.len, &back, &err) != 0)
        snprintf(why, len, "the rebuilt %s does not parse: %s", name, err.msg);
    else if (st && st->pfns != orig.npg)
        snprintf(why, len, "%s: %llu pfns stored, %zu in the image", name,
                 (unsigned long long)st->pfns, orig.npg);
    else
        bad = psfx_same(&orig, &back, why, len);
    psfx_img_free(&orig);
    psfx_img_free(&back);
    sb_free(&r);
    return bad;
}

char *psfx_tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    char *d = malloc(512);
    if (!d)
        abort();
    snprintf(d, 512, "%s/xlcp-ps-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(d))
        abort();
    return d;
}

void psfx_rmdir(char *dir)
{
    if (!dir)
        return;
    xlcp_x_rmtree(dir);
    free(dir);
}

int psfx_store(struct xlcp_pagestore *ps, const char *name, const uint8_t *p, size_t len,
               size_t piece, struct xlcp_ps_stats *st, struct xlcp_err *err)
{
    struct xlcp_ps_ingest *in;
    int rc = xlcp_ps_ingest_begin(ps, name, &in, err);

    if (rc)
        return rc;
    if (!piece)
        piece = 64 << 10;
    for (size_t off = 0; off < len; off += piece) {
        size_t n = len - off < piece ? len - off : piece;
        if ((rc = xlcp_ps_ingest_feed(in, p + off, n, err)) != 0) {
            xlcp_ps_ingest_abort(in);
            return rc;
        }
    }
    return xlcp_ps_ingest_commit(in, st, err);
}

int psfx_rebuild(struct xlcp_pagestore *ps, const char *name, struct sb *out, struct xlcp_err *err)
{
    char path[] = "/tmp/xlcp-ps-rebuild-XXXXXX";
    int fd = mkstemp(path), rc;

    if (fd < 0)
        abort();
    unlink(path);
    rc = xlcp_ps_rebuild(ps, name, fd, NULL, err);
    if (rc == 0) {
        uint8_t buf[65536];
        ssize_t n;
        off_t off = 0;
        while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
            sb_bytes(out, buf, (size_t)n);
            off += n;
        }
    }
    close(fd);
    return rc;
}

int psfx_damage_pack(const char *root, const char *pack)
{
    char path[900];
    uint8_t h[16], c;
    uint32_t n, stored;
    off_t at;
    int fd, rc = -1;

    snprintf(path, sizeof(path), "%s/pagestore/packs/%s", root, pack);
    fd = open(path, O_RDWR);
    if (fd < 0)
        return -1;
    /* the pack's 32-byte header, then the block's: magic, pages (le16), compressed, 0,
     * stored bytes (le32), 0; then a digest per page and the stored data */
    if (pread(fd, h, sizeof(h), 32) == (ssize_t)sizeof(h)) {
        n = (uint32_t)h[4] | (uint32_t)h[5] << 8;
        stored =
            (uint32_t)h[8] | (uint32_t)h[9] << 8 | (uint32_t)h[10] << 16 | (uint32_t)h[11] << 24;
        at = (off_t)(32 + 16 + 16 * n + stored / 2);
        if (stored && pread(fd, &c, 1, at) == 1) {
            c ^= 0x5a;
            rc = pwrite(fd, &c, 1, at) == 1 ? 0 : -1;
        }
    }
    close(fd);
    return rc;
}

int psfx_packs(const char *root, char names[][32], int max)
{
    char dir[600];
    DIR *d;
    struct dirent *e;
    int n = 0;

    snprintf(dir, sizeof(dir), "%s/pagestore/packs", root);
    if (!(d = opendir(dir)))
        return -1;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        int k;
        if (l <= 5 || l >= 32 || strcmp(e->d_name + l - 5, ".pack") != 0)
            continue;
        if (n == max && (max == 0 || strcmp(names[max - 1], e->d_name) <= 0))
            continue; /* not among the first max by name */
        k = n < max ? n++ : max - 1;
        for (; k > 0 && strcmp(names[k - 1], e->d_name) > 0; k--) /* sorted by name */
            memcpy(names[k], names[k - 1], 32);
        snprintf(names[k], 32, "%s", e->d_name);
    }
    closedir(d);
    return n;
}

int psfx_damage_first_block(const char *root)
{
    char names[1][32];

    return psfx_packs(root, names, 1) == 1 ? psfx_damage_pack(root, names[0]) : -1;
}

int psfx_count(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t sl = strlen(suffix);
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        n += l > sl && e->d_name[0] != '.' && strcmp(e->d_name + l - sl, suffix) == 0;
    }
    closedir(d);
    return n;
}

uint64_t psfx_du(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    uint64_t n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char path[1024];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            n += (uint64_t)st.st_size;
    }
    closedir(d);
    return n;
}
