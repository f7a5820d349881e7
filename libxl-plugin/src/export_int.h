/*
 * export_int.h - helpers shared by engine_export.c and engine_import.c; private.
 */
#ifndef XLCP_EXPORT_INT_H
#define XLCP_EXPORT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "export.h"

#define XLCP_X_CHUNK (1u << 20)  /* bytes read at once */
#define XLCP_X_BLOCK (64u << 10) /* a block of zeros this large is left a hole */

struct xlcp_x_progress {
    xlcp_export_progress_fn fn;
    void *arg;
    uint64_t done, total;
};

/* off XLCP_X_SEQ: write() at the descriptor's own offset (a pipe, a socket) */
#define XLCP_X_SEQ UINT64_MAX
int xlcp_x_write_all(int fd, const void *buf, size_t len, uint64_t off, const char *what,
                     struct xlcp_err *err);
int xlcp_x_read_full(int fd, void *buf, size_t len, uint64_t off, const char *what,
                     struct xlcp_err *err);
int xlcp_x_all_zero(const char *b, size_t n);
int xlcp_x_copy(int in, uint64_t in_off, int out, uint64_t out_off, uint64_t len, int sparse,
                struct xlcp_digest *d, const char *what, struct xlcp_x_progress *pr,
                uint64_t *data_bytes, struct xlcp_err *err);
void xlcp_x_rmtree(const char *dir);

#endif
