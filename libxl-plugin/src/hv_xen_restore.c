/*
 * hv_xen_restore.c - a new domain from a memory image and a configuration (the restore),
 * and what is done to it afterwards: rename, unpause, destroy. The image is read front to
 * back and never sought: a file, or a pipe another thread writes (an image rebuilt from
 * the page store), as libxl reads a migration stream.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv_xen_int.h"

/* ---- restore --------------------------------------------------------------------- */

/* Reads and drops len bytes of fd (xl's optional data: we restore with our own config). */
static int skip_bytes(int fd, uint64_t len)
{
    char buf[4096];

    while (len > 0) {
        size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf);
        if (hx_fd_all(fd, buf, n, HX_READ) != 0)
            return -1;
        len -= n;
    }
    return 0;
}

int hx_restore(void *self, const char *config_json_in, const char *new_name,
               const struct xlcp_restore_disk *disks, int ndisks, int fd, int paused, int keep_macs,
               uint32_t *domid_out, struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    libxl_domain_config cfg;
    libxl_domain_restore_params params;
    struct xl_header hdr;
    uint32_t domid = (uint32_t)INVALID_DOMID;
    int rc;

    hx_log_reset(hx);
    if (hx_fd_all(fd, &hdr, sizeof(hdr), HX_READ) != 0)
        return xlcp_err_set(err, XLCP_ECORRUPT, "memory image too short for an xl header");
    if (memcmp(hdr.magic, XL_MAGIC, sizeof(hdr.magic)) != 0 || hdr.byteorder != XL_BYTEORDER)
        return xlcp_err_set(err, XLCP_ECORRUPT, "memory image is not an xl save file");
    if (hdr.mandatory_flags & ~(XL_FLAG_JSON | XL_FLAG_STREAMV2))
        return xlcp_err_set(err, XLCP_ECORRUPT, "memory image has unknown mandatory flags %#x",
                            hdr.mandatory_flags);
    if (skip_bytes(fd, hdr.optional_data_len) != 0)
        return xlcp_err_set(err, XLCP_ECORRUPT,
                            "memory image ends within xl's optional data (%lu bytes)",
                            (unsigned long)hdr.optional_data_len);

    libxl_domain_config_init(&cfg);
    rc = libxl_domain_config_from_json(hx->ctx, &cfg, config_json_in);
    if (rc) {
        libxl_domain_config_dispose(&cfg);
        return hx_fail(hx, err, rc, "the domain configuration is not valid libxl JSON");
    }
    free(cfg.c_info.name);
    cfg.c_info.name = strdup(new_name);
    libxl_uuid_generate(&cfg.c_info.uuid);
    for (int i = 0; i < ndisks; i++) {
        int found = 0;
        for (int j = 0; j < cfg.num_disks; j++) {
            libxl_device_disk *d = &cfg.disks[j];
            if (!d->vdev || strcmp(d->vdev, disks[i].vdev) != 0)
                continue;
            free(d->pdev_path);
            d->pdev_path = strdup(disks[i].path);
            d->format = LIBXL_DISK_FORMAT_RAW;
            found = 1;
        }
        if (!found) {
            libxl_domain_config_dispose(&cfg);
            return xlcp_err_set(err, XLCP_EINVAL,
                                "the configuration to restore with has no disk %s (the "
                                "checkpoint captured it)",
                                disks[i].vdev);
        }
    }
    /* Network interfaces keep their MACs; a restore beside a running original must not
     * clash on the bridge, so let libxl pick new ones. */
    for (int j = 0; j < cfg.num_nics && !keep_macs; j++)
        memset(cfg.nics[j].mac, 0, sizeof(cfg.nics[j].mac));
    if (!cfg.c_info.name) {
        libxl_domain_config_dispose(&cfg);
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    }

    libxl_domain_restore_params_init(&params);
    params.stream_version = (hdr.mandatory_flags & XL_FLAG_STREAMV2) ? 2 : 1;
    rc = libxl_domain_create_restore(hx->ctx, &cfg, &domid, fd, -1, &params, NULL, NULL);
    libxl_domain_restore_params_dispose(&params);
    libxl_domain_config_dispose(&cfg);
    if (rc) {
        int e = hx_fail(hx, err, rc, "libxl_domain_create_restore of '%s'", new_name);
        if (domid != (uint32_t)INVALID_DOMID)
            libxl_domain_destroy(hx->ctx, domid, NULL);
        return e;
    }
    if (!paused) {
        rc = libxl_domain_unpause(hx->ctx, domid, NULL);
        if (rc) {
            int e = hx_fail(hx, err, rc, "unpausing restored domain %u", domid);
            libxl_domain_destroy(hx->ctx, domid, NULL);
            return e;
        }
    }
    *domid_out = domid;
    return 0;
}

int hx_rename(void *self, uint32_t domid, const char *new_name, struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    int rc;

    hx_log_reset(hx);
    rc = libxl_domain_rename(hx->ctx, domid, NULL, new_name);
    return rc ? hx_fail(hx, err, rc, "renaming domain %u to '%s'", domid, new_name) : 0;
}

int hx_unpause(void *self, uint32_t domid, struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    int rc;

    hx_log_reset(hx);
    rc = libxl_domain_unpause(hx->ctx, domid, NULL);
    return rc ? hx_fail(hx, err, rc, "unpausing domain %u", domid) : 0;
}

/* 1 while the domain is still there (same id and uuid) and not dying. */
static int still_there(struct hv_xen *hx, const struct xlcp_domain *dom)
{
    libxl_dominfo di;
    int there;

    libxl_dominfo_init(&di);
    there = hx_same_domain(hx->ctx, dom->domid, dom->uuid, &di) && !di.dying;
    libxl_dominfo_dispose(&di);
    return there;
}

/* libxl reports a failed destruction when a step of its device teardown fails (a back
 * end already gone, a hotplug script that timed out) even though the domain went; one
 * more attempt finishes what is left. Only a domain that is really still there fails. */
int hx_destroy(void *self, const struct xlcp_domain *dom, struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    int rc = 0;

    for (int attempt = 0; attempt < 2; attempt++) {
        if (attempt > 0)
            hx_sleep_ms(1000);
        hx_log_reset(hx);
        rc = libxl_domain_destroy(hx->ctx, dom->domid, NULL);
        if (rc == 0 || !still_there(hx, dom))
            return 0;
    }
    return hx_fail(hx, err, rc, "libxl_domain_destroy of %s", dom->name);
}
