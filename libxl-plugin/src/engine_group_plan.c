/*
 * engine_group_plan.c - the schedule of a group's live copies: how long each member's
 * copy is expected to take until its guest stops (from its last checkpoints in the
 * catalog, scaled to its memory, or from its memory alone), and when each copy starts so
 * that the members stop together, or at a given time (--at).
 */
#include "engine_run.h"

#include <inttypes.h>
#include <stdlib.h>

uint64_t xlcp_group_time_to_stop(const struct xlcp_ports *p, const char *uuid, uint64_t mem_kib,
                                 int live)
{
    struct xlcp_manifest m;
    struct xlcp_err e2;
    char dir[XLCP_PATH_MAX];
    char **ids = NULL;
    size_t n = 0, i;
    uint64_t t = 0;

    if (!live)
        return 0; /* the guest is stopped at the start of its copy */
    xlcp_err_clear(&e2);
    if (CALL(&p->store, list, uuid, &ids, &n, &e2) != 0)
        n = 0;
    for (i = n; t == 0 && i-- > 0;) { /* newest first */
        if (xlcp_engine_load(p, ids[i], &m, dir, sizeof(dir), &e2) != 0) {
            xlcp_err_clear(&e2);
            continue;
        }
        if (!m.live) { /* its last copy could not be live (a PV guest without shadow
                        * paging): it stops as its copy starts */
            xlcp_manifest_free(&m);
            break;
        }
        if (m.step_start_ns[XLCP_STEP_SUSPEND] > m.step_start_ns[XLCP_STEP_LIVE_COPY])
            t = m.step_start_ns[XLCP_STEP_SUSPEND] - m.step_start_ns[XLCP_STEP_LIVE_COPY];
        if (t && m.memory_kib && mem_kib && m.memory_kib != mem_kib)
            t = (uint64_t)((double)t * (double)mem_kib / (double)m.memory_kib);
        xlcp_manifest_free(&m);
        xlcp_err_clear(&e2);
    }
    for (size_t k = 0; k < n; k++)
        free(ids[k]);
    free(ids);
    if (t == 0 && i == (size_t)-1) /* no checkpoint of it yet: its memory at a modest rate */
        t = mem_kib * 1024u * 1000000000ull / XLCP_GROUP_COPY_BPS;
    return t;
}

int xlcp_group_plan(const uint64_t *est, size_t n, uint64_t lead_ns, uint64_t *delay,
                    struct xlcp_err *err)
{
    uint64_t longest = 0;

    for (size_t i = 0; i < n; i++)
        longest = est[i] > longest ? est[i] : longest;
    if (lead_ns == 0) {
        for (size_t i = 0; i < n; i++) {
            uint64_t d = longest - est[i];
            delay[i] = d < XLCP_GROUP_MAX_DELAY_NS ? d : XLCP_GROUP_MAX_DELAY_NS;
        }
        return 0;
    }
    if (lead_ns < longest + XLCP_GROUP_AT_MARGIN_NS)
        return xlcp_err_set(err, XLCP_EINVAL,
                            "the time to stop at is too near: %.3f s from now, and the longest "
                            "copy is expected to take %.3f s to its stop (ask for at least %.3f s "
                            "from the end of the preparation)",
                            (double)lead_ns / 1e9, (double)longest / 1e9,
                            (double)(longest + XLCP_GROUP_AT_MARGIN_NS) / 1e9);
    for (size_t i = 0; i < n; i++)
        delay[i] = lead_ns - est[i];
    return 0;
}
