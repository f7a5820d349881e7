/*
 * fake_host.c - a fake world kept between processes: the state of a fake host (its
 * domains, volumes, clocks) in a file beside its catalog, so that an agent started again
 * (test_group_hosts*.c: one process per ssh session) finds what the last one left.
 */
#include "fakes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct fake_world *fake_host_open(const char *dir)
{
    struct fake_world *w = calloc(1, sizeof(*w));
    char path[512];
    FILE *f;

    if (!w)
        abort();
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        abort();
    snprintf(path, sizeof(path), "%s/world", dir);
    f = fopen(path, "rb");
    if (f) {
        if (fread(w, sizeof(*w), 1, f) != 1)
            abort();
        fclose(f);
    } else {
        w->vg_free_bytes = 8ull << 30;
        w->wall_ns = 1795000000ll * 1000000000ll;
        w->now_ns = 1000000000ull;
        w->next_domid = 1;
    }
    /* what belongs to this process: its ports, its log, its faults */
    memset(&w->ports, 0, sizeof(w->ports));
    memset(w->faults, 0, sizeof(w->faults));
    w->log[0] = '\0';
    snprintf(w->root, sizeof(w->root), "%s/catalog", dir);
    if (mkdir(w->root, 0700) != 0 && errno != EEXIST)
        abort();
    w->keep_root = 1;
    fake_world_attach(w);
    return w;
}

int fake_host_save(const struct fake_world *w, const char *dir)
{
    char path[512], tmp[520];
    FILE *f;

    snprintf(path, sizeof(path), "%s/world", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "wb");
    if (!f)
        return -1;
    if (fwrite(w, sizeof(*w), 1, f) != 1) {
        fclose(f);
        return -1;
    }
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path) == 0 ? 0 : -1;
}
