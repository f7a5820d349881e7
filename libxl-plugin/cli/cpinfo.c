/*
 * cpinfo.c - gathers what the CLI shows about one checkpoint (see cpinfo.h), through the
 * public accessors of xlcheckpoint.h only: the CLI is a client of the library like any
 * backup tool.
 */
#include "cpinfo.h"

#include <stdio.h>
#include <string.h>

void cli_cp_describe(const xlcp_checkpoint *cp, struct cli_cp *info)
{
    memset(info, 0, sizeof(*info));
    info->id = xlcp_checkpoint_id(cp);
    info->domain = xlcp_checkpoint_domain_name(cp);
    info->domain_uuid = xlcp_checkpoint_domain_uuid(cp);
    info->created = xlcp_checkpoint_created(cp);
    info->dir = xlcp_checkpoint_dir(cp);
    info->memory_bytes = xlcp_checkpoint_memory_bytes(cp);
    info->downtime_ns = xlcp_checkpoint_downtime_ns(cp);
    info->guest_downtime_ns = xlcp_checkpoint_guest_downtime_ns(cp);
    info->ndisks = xlcp_checkpoint_disk_count(cp);
    info->live = xlcp_checkpoint_live(cp);
    info->quiesced = xlcp_checkpoint_quiesced(cp);
    info->total_ns = (int64_t)xlcp_checkpoint_total_ns(cp);
    snprintf(info->label, sizeof(info->label), "%s", xlcp_checkpoint_label(cp));
    snprintf(info->suspend_path, sizeof(info->suspend_path), "%s",
             xlcp_checkpoint_suspend_path(cp));
    snprintf(info->group_id, sizeof(info->group_id), "%s", xlcp_checkpoint_group_id(cp));
    for (size_t i = 0; i < info->ndisks && info->nxdisks < CLI_MAX_DISKS; i++) {
        const xlcp_disk_info *d = xlcp_checkpoint_disk(cp, i);
        struct cli_disk *o = &info->disks[info->nxdisks++];

        if (!d)
            break;
        snprintf(o->vdev, sizeof(o->vdev), "%s", d->vdev);
        snprintf(o->origin, sizeof(o->origin), "%s", d->origin_path);
        snprintf(o->snapshot, sizeof(o->snapshot), "%s", d->snapshot_path);
        o->thin = d->thin;
        o->skipped = d->skipped;
        o->size_bytes = d->snapshot_bytes;
        o->held_ns = d->writes_held_ns;
    }
}
