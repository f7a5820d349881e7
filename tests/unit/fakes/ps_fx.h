/*
 * ps_fx.h - helpers for the page store's unit tests (test_pagestore*.c): larger synthetic
 * HVM images with live-copy rounds (built with stream_build.h's primitives), a digest of
 * what an image says (its non-page units and each pfn's last page), and storing /
 * rebuilding through a store in a temporary directory. Allocation failures abort.
 */
#ifndef XLCP_PS_FX_H
#define XLCP_PS_FX_H

#include <stddef.h>
#include <stdint.h>

#include "pagestore.h"
#include "fakes/stream_build.h"

/* pfns first, first+stride, ... (count of them) sent again at version ver. */
struct psfx_round {
    uint64_t first;
    uint32_t count, stride, ver;
};

/* A page's content: zero for version 0 of every zero_every-th pfn (if zero_every), else
 * pseudo-random from (seed, pfn, ver). */
void psfx_page(uint8_t *p, uint64_t seed, uint64_t pfn, uint32_t ver, uint32_t zero_every);
/* XXH3-128 of a page, canonical bytes (as the store names it). */
void psfx_hash(const uint8_t *page, uint8_t dig[16]);
/* An HVM image: pfns 0..npages-1 at version 0, then each round in order. */
void psfx_hvm_image(struct sb *b, uint64_t seed, uint32_t npages, uint32_t zero_every,
                    const struct psfx_round *rounds, size_t nrounds);

struct psfx_pg {
    uint64_t pfnt, seq;
    uint8_t dig[16];
    int data;
};

/* What an image says: its non-page units (concatenated raw bytes) and each pfn's last
 * type and page. */
struct psfx_img {
    struct sb units;
    size_t nunits, npage_records;
    struct psfx_pg *pg;
    size_t npg, cap;
};

/* Parses p[0..len); 0 or the parser's error. */
int psfx_collect(const uint8_t *p, size_t len, struct psfx_img *out, struct xlcp_err *err);
void psfx_img_free(struct psfx_img *img);
/* 0 if a and b say the same, else 1 with why set. */
int psfx_same(const struct psfx_img *a, const struct psfx_img *b, char *why, size_t len);

/* A store in a temporary directory, with its directories' paths. */
struct psfx_t {
    char *root;
    struct xlcp_pagestore *ps;
    struct xlcp_err err;
    char packs[600], maps[600];
};
/* A new store in a new temporary directory (zstd level, pack size; 0: default). */
struct psfx_t *psfx_open(int zstd, uint32_t pack_max);
/* The store at root, default options. */
struct psfx_t *psfx_reopen(const char *root);
/* Closes; removes the directory too if rm. */
void psfx_close(struct psfx_t *t, int rm);
/* 0 if map name rebuilds into an image that parses and says what b says; else 1, why set
 * (st, if not NULL, must then count b's pfns). */
int psfx_intact(struct xlcp_pagestore *ps, const char *name, const struct sb *b,
                const struct xlcp_ps_stats *st, char *why, size_t len);

/* A temporary directory (free with psfx_rmdir). */
char *psfx_tmpdir(void);
void psfx_rmdir(char *dir);
/* Stores p[0..len) as map name, fed in pieces of `piece` bytes (0: 64 KiB). */
int psfx_store(struct xlcp_pagestore *ps, const char *name, const uint8_t *p, size_t len,
               size_t piece, struct xlcp_ps_stats *st, struct xlcp_err *err);
/* Rebuilds map name into out (through a temporary file). */
int psfx_rebuild(struct xlcp_pagestore *ps, const char *name, struct sb *out, struct xlcp_err *err);
/* Damages the page store at root the way a bad disk would: one byte flipped in the middle
 * of the stored (compressed or raw) data of the first block of its first pack (by name),
 * so that the pages of that block no longer read back. 0, or -1 if it has no pack. */
int psfx_damage_first_block(const char *root);
/* The same to pack file `pack` ("<id>.pack") of the store at root; done twice, undone. */
int psfx_damage_pack(const char *root, const char *pack);
/* The names of the store's first max pack files by name, sorted: how many; or -1. */
int psfx_packs(const char *root, char names[][32], int max);
/* Files in dir whose names end with suffix. */
int psfx_count(const char *dir, const char *suffix);
/* Total bytes of the files in dir. */
uint64_t psfx_du(const char *dir);

#endif
