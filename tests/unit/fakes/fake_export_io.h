/*
 * fake_export_io.h - a fake of the export io (export.h) for unit tests: volumes are
 * files in a directory, named by their LV; changed blocks are found by comparing two
 * such files in 64 KiB blocks; new volumes start filled with garbage (as a thick LV
 * holds what was on the disk), so an import that skips zeros would be caught.
 */
#ifndef XLCP_FAKE_EXPORT_IO_H
#define XLCP_FAKE_EXPORT_IO_H

#include <stddef.h>

#include "export.h"

struct fake_xio {
    char dir[256];
    int created, removed, fail_changed;
    struct xlcp_export_io io; /* set by fake_xio_init */
};

/* Uses (and makes) directory dir for the volumes. 0 or -1. */
int fake_xio_init(struct fake_xio *f, const char *dir);
void fake_xio_path(const struct fake_xio *f, const char *lv, char *out, size_t len);
/* A volume's content (malloc'd) and length; NULL if absent. */
char *fake_xio_read(const struct fake_xio *f, const char *lv, size_t *len);
/* Fills a volume of `size` bytes: byte i is (i * 7 + seed) | 1, zeros from zeros_from on. */
int fake_xio_fill(const struct fake_xio *f, const char *lv, size_t size, unsigned seed,
                  size_t zeros_from);

#endif
