/*
 * digest.h - digests of memory images, by the name the manifest records.
 *
 *   xxh3-128     XXH3, 128 bits (libxxhash): the default. It detects corruption of an
 *                image (a flipped bit, a truncation, a block of another file), which is
 *                what `verify` is for; it is not meant to resist an attacker, who could
 *                rewrite the manifest as easily. Tens of GB/s on one core, so a digest of
 *                several GiB never holds up the copy.
 *   sha256       SHA-256 (OpenSSL), and
 *   sha512-256   SHA-512/256 (OpenSSL): read, for checkpoints written by versions before
 *                0.3, which digested with these (at under 1 GB/s, and three to four times
 *                slower than XXH3 even under emulation).
 */
#ifndef XLCP_DIGEST_H
#define XLCP_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define XLCP_DIGEST_HEX 64 /* the longest digest, in hex digits */
#define XLCP_DIGEST_ALG_MAX 16
#define XLCP_DIGEST_DEFAULT "xxh3-128"

struct xlcp_digest;

/* 1 if alg names a digest we compute. */
int xlcp_digest_known(const char *alg);
/* A new digest of kind alg; NULL (and err set) if unknown or out of memory. */
struct xlcp_digest *xlcp_digest_new(const char *alg, struct xlcp_err *err);
void xlcp_digest_update(struct xlcp_digest *d, const void *buf, size_t len);
/* Writes the digest in lower-case hex and frees d. */
int xlcp_digest_final(struct xlcp_digest *d, char hex_out[XLCP_DIGEST_HEX + 1],
                      struct xlcp_err *err);
void xlcp_digest_free(struct xlcp_digest *d);

/* Digest `alg` of fd's content from offset 0 (pread; the fd's offset is untouched), and
 * how many bytes it read. XLCP_ECORRUPT for an unknown algorithm. */
int xlcp_digest_fd(int fd, const char *alg, char hex_out[XLCP_DIGEST_HEX + 1], uint64_t *bytes,
                   struct xlcp_err *err);
/* The same of a file. XLCP_ENOTFOUND if it does not exist. */
int xlcp_digest_file(const char *path, const char *alg, char hex_out[XLCP_DIGEST_HEX + 1],
                     uint64_t *bytes, struct xlcp_err *err);

#endif
