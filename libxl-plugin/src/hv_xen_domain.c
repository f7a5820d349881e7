/*
 * hv_xen_domain.c - what the Xen adapter reads of a domain: finding it by name, id or
 * uuid, its state, its libxl configuration, and the hypervisor's version.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxl_utils.h>

#include "hv_xen_int.h"

static enum xlcp_domstate state_of(const libxl_dominfo *di)
{
    if (di->shutdown && di->shutdown_reason == LIBXL_SHUTDOWN_REASON_SUSPEND && !di->dying)
        return XLCP_DOM_SUSPENDED;
    if (di->shutdown && di->shutdown_reason == LIBXL_SHUTDOWN_REASON_CRASH && !di->dying)
        return XLCP_DOM_CRASHED;
    if (di->shutdown || di->dying)
        return XLCP_DOM_SHUTDOWN;
    if (di->paused)
        return XLCP_DOM_PAUSED;
    return XLCP_DOM_RUNNING;
}

static int parse_domid(const char *s, uint32_t *out)
{
    char *end;
    unsigned long v;

    if (!*s || *s < '0' || *s > '9')
        return 0;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v >= DOMID_FIRST_RESERVED)
        return 0;
    *out = (uint32_t)v;
    return 1;
}

static int fill_domain(struct hv_xen *hx, uint32_t domid, struct xlcp_domain *out,
                       struct xlcp_err *err)
{
    libxl_dominfo di;
    libxl_domain_config cfg;
    char *name;
    int rc;

    memset(out, 0, sizeof(*out));
    libxl_dominfo_init(&di);
    rc = libxl_domain_info(hx->ctx, &di, domid);
    if (rc == ERROR_DOMAIN_NOTFOUND || rc == ERROR_INVAL) {
        libxl_dominfo_dispose(&di);
        return xlcp_err_set(err, XLCP_ENOTFOUND, "no domain with id %u", domid);
    }
    if (rc) {
        libxl_dominfo_dispose(&di);
        return hx_fail(hx, err, rc, "domain %u: cannot read its state", domid);
    }
    out->domid = domid;
    out->state = state_of(&di);
    out->memory_kib = di.current_memkb;
    snprintf(out->uuid, sizeof(out->uuid), LIBXL_UUID_FMT, LIBXL_UUID_BYTES(di.uuid));
    libxl_dominfo_dispose(&di);

    name = libxl_domid_to_name(hx->ctx, domid);
    snprintf(out->name, sizeof(out->name), "%s", name ? name : "");
    free(name);
    if (domid == 0)
        return xlcp_err_set(err, XLCP_EUNSUPPORTED, "domain 0 cannot be checkpointed");

    libxl_domain_config_init(&cfg);
    rc = libxl_retrieve_domain_configuration(hx->ctx, domid, &cfg, NULL);
    if (rc) {
        libxl_domain_config_dispose(&cfg);
        return hx_fail(hx, err, rc, "domain %s: cannot read its configuration", out->name);
    }
    if (cfg.num_disks > XLCP_MAX_DISKS) {
        int n = cfg.num_disks;
        libxl_domain_config_dispose(&cfg);
        return xlcp_err_set(err, XLCP_EUNSUPPORTED, "domain %s has %d disks, at most %d supported",
                            out->name, n, XLCP_MAX_DISKS);
    }
    /* dominfo calls a PVH guest HVM (Xen's flags cannot tell them apart): ask the config */
    out->pv = cfg.c_info.type == LIBXL_DOMAIN_TYPE_PV || cfg.c_info.type == LIBXL_DOMAIN_TYPE_PVH;
    for (int i = 0; i < cfg.num_disks; i++) {
        const libxl_device_disk *d = &cfg.disks[i];
        struct xlcp_disk_spec *ds = &out->disks[out->ndisks++];

        snprintf(ds->vdev, sizeof(ds->vdev), "%s", d->vdev ? d->vdev : "");
        snprintf(ds->target, sizeof(ds->target), "%s", d->pdev_path ? d->pdev_path : "");
        ds->readwrite = d->readwrite;
        ds->is_cdrom = d->is_cdrom || !d->pdev_path || !*d->pdev_path;
    }
    libxl_domain_config_dispose(&cfg);
    return 0;
}

int hx_lookup(void *self, const char *spec, struct xlcp_domain *out, struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    uint32_t domid;
    libxl_uuid want;

    hx_log_reset(hx);
    if (parse_domid(spec, &domid))
        return fill_domain(hx, domid, out, err);
    if (libxl_uuid_from_string(&want, spec) == 0) {
        int n = 0;
        libxl_dominfo *all = libxl_list_domain(hx->ctx, &n);
        int found = -1;

        if (!all)
            return hx_fail(hx, err, ERROR_FAIL, "cannot list domains");
        for (int i = 0; i < n; i++)
            if (libxl_uuid_compare(&all[i].uuid, &want) == 0 && !all[i].dying)
                found = (int)all[i].domid;
        libxl_dominfo_list_free(all, n);
        if (found < 0)
            return xlcp_err_set(err, XLCP_ENOTFOUND, "no domain with uuid %s", spec);
        return fill_domain(hx, (uint32_t)found, out, err);
    }
    if (libxl_name_to_domid(hx->ctx, spec, &domid) != 0)
        return xlcp_err_set(err, XLCP_ENOTFOUND, "no domain named '%s'", spec);
    return fill_domain(hx, domid, out, err);
}

int hx_state(void *self, const struct xlcp_domain *dom, enum xlcp_domstate *out,
             struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    libxl_dominfo di;
    int rc;

    hx_log_reset(hx);
    libxl_dominfo_init(&di);
    rc = libxl_domain_info(hx->ctx, &di, dom->domid);
    if (rc == 0) {
        libxl_uuid u;
        libxl_uuid_from_string(&u, dom->uuid);
        if (libxl_uuid_compare(&u, &di.uuid) != 0)
            rc = ERROR_DOMAIN_NOTFOUND; /* the id was reused by another domain */
        else
            *out = state_of(&di);
    }
    libxl_dominfo_dispose(&di);
    if (rc == ERROR_DOMAIN_NOTFOUND || rc == ERROR_INVAL)
        return xlcp_err_set(err, XLCP_ENOTFOUND, "domain %s (id %u) is gone", dom->name,
                            dom->domid);
    if (rc)
        return hx_fail(hx, err, rc, "domain %s: cannot read its state", dom->name);
    return 0;
}

int hx_get_config(void *self, const struct xlcp_domain *dom, char **json_out, struct xlcp_err *err)
{
    struct hv_xen *hx = self;

    hx_log_reset(hx);
    return hx_config_json(hx, dom->domid, json_out, err);
}

int hx_version(void *self, char *buf, size_t len, struct xlcp_err *err)
{
    struct hv_xen *hx = self;
    const libxl_version_info *vi = libxl_get_version_info(hx->ctx);

    if (!vi)
        return hx_fail(hx, err, ERROR_FAIL, "cannot read the Xen version");
    snprintf(buf, len, "%d.%d%s", vi->xen_version_major, vi->xen_version_minor,
             vi->xen_version_extra ? vi->xen_version_extra : "");
    return 0;
}
