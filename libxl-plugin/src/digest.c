/*
 * digest.c - digests of memory images: XXH3-128 through libxxhash, and the SHA-2 digests
 * of earlier versions through OpenSSL's EVP interface, behind one small interface.
 * See digest.h.
 */
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <xxhash.h>

struct xlcp_digest {
    XXH3_state_t *xxh; /* xxh3-128 */
    EVP_MD_CTX *md;    /* the SHA-2 ones */
};

static const EVP_MD *evp_of(const char *alg)
{
    if (strcmp(alg, "sha256") == 0)
        return EVP_sha256();
    if (strcmp(alg, "sha512-256") == 0)
        return EVP_sha512_256();
    return NULL;
}

int xlcp_digest_known(const char *alg)
{
    return alg && (strcmp(alg, "xxh3-128") == 0 || evp_of(alg) != NULL);
}

void xlcp_digest_free(struct xlcp_digest *d)
{
    if (!d)
        return;
    XXH3_freeState(d->xxh);
    EVP_MD_CTX_free(d->md);
    free(d);
}

struct xlcp_digest *xlcp_digest_new(const char *alg, struct xlcp_err *err)
{
    struct xlcp_digest *d;
    const EVP_MD *type;

    if (!xlcp_digest_known(alg)) {
        xlcp_err_set(err, XLCP_ECORRUPT, "unknown digest algorithm '%s'", alg ? alg : "");
        return NULL;
    }
    d = calloc(1, sizeof(*d));
    if (!d)
        goto oom;
    type = evp_of(alg);
    if (type) {
        d->md = EVP_MD_CTX_new();
        if (!d->md || EVP_DigestInit_ex(d->md, type, NULL) != 1)
            goto oom;
    } else {
        d->xxh = XXH3_createState();
        if (!d->xxh || XXH3_128bits_reset(d->xxh) != XXH_OK)
            goto oom;
    }
    return d;
oom:
    xlcp_digest_free(d);
    xlcp_err_set(err, XLCP_EINTERNAL, "cannot start digest %s", alg);
    return NULL;
}

void xlcp_digest_update(struct xlcp_digest *d, const void *buf, size_t len)
{
    /* Neither can fail on a valid state with valid memory. */
    if (d->xxh)
        (void)XXH3_128bits_update(d->xxh, buf, len);
    else
        (void)EVP_DigestUpdate(d->md, buf, len);
}

int xlcp_digest_final(struct xlcp_digest *d, char hex_out[XLCP_DIGEST_HEX + 1],
                      struct xlcp_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    int rc = 0;

    if (d->xxh) {
        XXH128_canonical_t c;
        XXH128_canonicalFromHash(&c, XXH3_128bits_digest(d->xxh));
        memcpy(md, c.digest, sizeof(c.digest));
        len = sizeof(c.digest);
    } else if (EVP_DigestFinal_ex(d->md, md, &len) != 1) {
        rc = xlcp_err_set(err, XLCP_EINTERNAL, "digest final failed");
    }
    for (unsigned i = 0; rc == 0 && i < len && i * 2 < XLCP_DIGEST_HEX; i++)
        snprintf(hex_out + i * 2, 3, "%02x", md[i]);
    xlcp_digest_free(d);
    return rc;
}

int xlcp_digest_fd(int fd, const char *alg, char hex_out[XLCP_DIGEST_HEX + 1], uint64_t *bytes,
                   struct xlcp_err *err)
{
    enum { CHUNK = 1 << 20 };
    struct xlcp_digest *d = xlcp_digest_new(alg, err);
    unsigned char *buf = malloc(CHUNK);
    uint64_t off = 0;
    int rc = 0;

    if (!d || !buf) {
        free(buf);
        if (!d)
            return err->code;
        xlcp_digest_free(d);
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    }
    for (;;) {
        ssize_t n = pread(fd, buf, CHUNK, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = xlcp_err_errno(err, errno, "read");
            break;
        }
        if (n == 0)
            break;
        xlcp_digest_update(d, buf, (size_t)n);
        off += (uint64_t)n;
    }
    free(buf);
    if (rc) {
        xlcp_digest_free(d);
        return rc;
    }
    rc = xlcp_digest_final(d, hex_out, err);
    if (rc == 0 && bytes)
        *bytes = off;
    return rc;
}

int xlcp_digest_file(const char *path, const char *alg, char hex_out[XLCP_DIGEST_HEX + 1],
                     uint64_t *bytes, struct xlcp_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return xlcp_err_errno(err, errno, "open %s", path);
    rc = xlcp_digest_fd(fd, alg, hex_out, bytes, err);
    close(fd);
    if (rc)
        xlcp_err_prefix(err, "%s", path);
    return rc;
}
