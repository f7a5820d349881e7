/*
 * cli_group.c - the group forms of the subcommands: `create --group NAME dom...`,
 * `list --groups`, and `info|verify|delete|restore --group ID|NAME` (cli_create.c,
 * cli_catalog.c and cli_restore.c hand over here when the option is given).
 */
#include "cli_int.h"

#include <stdlib.h>
#include <string.h>

static void jw_u64(struct jw *j, const char *key, uint64_t v)
{
    jw_key(j, key);
    jw_check(j, yajl_gen_integer(j->g, (long long)v));
}

static void jw_ms(struct jw *j, const char *key, uint64_t ns)
{
    jw_key(j, key);
    jw_check(j, yajl_gen_double(j->g, ns_to_ms(ns)));
}

/* One group as a JSON object (the group_doc of the JSON schema; each element of
 * list --groups' "groups"): instants in ns on the group's clock, durations in ms. */
static void jw_group(struct jw *j, const xlcp_group *g, int open)
{
    if (open) {
        jw_check(j, yajl_gen_map_open(j->g));
        jw_key(j, "format_version");
        jw_check(j, yajl_gen_integer(j->g, CLI_JSON_FORMAT_VERSION));
    }
    jw_key(j, "group");
    jw_str(j, xlcp_group_id(g));
    jw_key(j, "name");
    jw_str(j, xlcp_group_name(g));
    jw_key(j, "created");
    jw_str(j, xlcp_group_created(g));
    jw_key(j, "clock");
    jw_str(j, xlcp_group_clock(g));
    jw_ms(j, "skew_ms", xlcp_group_skew_ns(g));
    jw_ms(j, "longest_stop_ms", xlcp_group_longest_stop_ns(g));
    jw_ms(j, "total_ms", xlcp_group_total_ns(g));
    jw_key(j, "members");
    jw_check(j, yajl_gen_array_open(j->g));
    for (size_t i = 0; i < xlcp_group_member_count(g); i++) {
        const xlcp_group_member_info *m = xlcp_group_member(g, i);
        jw_check(j, yajl_gen_map_open(j->g));
        jw_key(j, "domain");
        jw_str(j, m->domain_name);
        jw_key(j, "domain_uuid");
        jw_str(j, m->domain_uuid);
        jw_key(j, "checkpoint");
        jw_str(j, m->checkpoint_id);
        jw_u64(j, "stopped_ns", m->stopped_ns);
        jw_u64(j, "resumed_ns", m->resumed_ns);
        jw_ms(j, "stop_ms", m->resumed_ns - m->stopped_ns);
        jw_ms(j, "waited_ms", m->waited_ns);
        jw_ms(j, "start_delay_ms", m->start_delay_ns);
        jw_check(j, yajl_gen_map_close(j->g));
    }
    jw_check(j, yajl_gen_array_close(j->g));
    jw_check(j, yajl_gen_map_close(j->g));
}

static void print_group(FILE *f, const xlcp_group *g)
{
    uint64_t first = UINT64_MAX;

    for (size_t i = 0; i < xlcp_group_member_count(g); i++)
        if (xlcp_group_member(g, i)->stopped_ns < first)
            first = xlcp_group_member(g, i)->stopped_ns;
    fprintf(f, "group:         %s\n", xlcp_group_id(g));
    fprintf(f, "name:          %s\n", xlcp_group_name(g));
    fprintf(f, "created:       %s\n", xlcp_group_created(g));
    fprintf(f, "skew:          %.3f ms (spread of the stop instants)\n",
            ns_to_ms(xlcp_group_skew_ns(g)));
    fprintf(f, "longest stop:  %.3f ms\n", ns_to_ms(xlcp_group_longest_stop_ns(g)));
    fprintf(f, "total:         %.3f ms\n", ns_to_ms(xlcp_group_total_ns(g)));
    fprintf(f, "clock:         %s\n", xlcp_group_clock(g));
    fprintf(f, "members:       %zu\n", xlcp_group_member_count(g));
    fprintf(f, "  %-16s %-28s %12s %12s %12s\n", "DOMAIN", "CHECKPOINT", "STOPPED(ms)", "STOP(ms)",
            "WAITED(ms)");
    for (size_t i = 0; i < xlcp_group_member_count(g); i++) {
        const xlcp_group_member_info *m = xlcp_group_member(g, i);
        fprintf(f, "  %-16s %-28s %12.3f %12.3f %12.3f\n", m->domain_name, m->checkpoint_id,
                ns_to_ms(m->stopped_ns - first), ns_to_ms(m->resumed_ns - m->stopped_ns),
                ns_to_ms(m->waited_ns));
    }
}

int cli_group_create(struct cli *c, const char *name, const xlcp_create_options *member,
                     unsigned int max_wait_ms, int json)
{
    xlcp_group_options opts;
    char id[XLCP_ID_MAX];
    int rc;

    if (xlcp_group_options_init(&opts, XLCP_GROUP_OPTIONS_VERSION) != 0) {
        errorf(c, "library does not support group options version %d", XLCP_GROUP_OPTIONS_VERSION);
        return XLCP_EXIT_FAILURE;
    }
    opts.name = name;
    opts.member = member;
    if (max_wait_ms)
        opts.max_wait_ms = max_wait_ms;
    if ((rc = positional(c, 1, XLCP_GROUP_MAX_MEMBERS, "<domain>")))
        return rc;
    if ((rc = need_ctx(c)))
        return rc;
    if (c->verbose)
        fprintf(c->err, PROG ": group %s: preparing %d domains, then copying them together\n", name,
                c->argc - optind);
    rc = xlcp_group_create(c->ctx, (const char *const *)(c->argv + optind),
                           (size_t)(c->argc - optind), &opts, id);
    if (rc)
        return lib_error(c, rc);
    if (json)
        return cli_group_info(c, id, 1, 0);
    fprintf(c->out, "%s\n", id);
    return XLCP_EXIT_OK;
}

int cli_group_list(struct cli *c, const char *name, int json)
{
    char **ids = NULL;
    size_t n = 0;
    struct jw j;
    int rc;

    if ((rc = need_ctx(c)))
        return rc;
    rc = xlcp_group_list(c->ctx, name, &ids, &n);
    if (rc)
        return lib_error(c, rc);
    if (json) {
        if (jw_open_doc(c, &j) != 0) {
            xlcp_strv_free(ids, n);
            return XLCP_EXIT_FAILURE;
        }
        jw_key(&j, "groups");
        jw_check(&j, yajl_gen_array_open(j.g));
    } else {
        fprintf(c->out, "%-28s  %-16s  %-24s  %7s  %10s\n", "GROUP", "NAME", "CREATED", "MEMBERS",
                "SKEW(ms)");
    }
    for (size_t i = 0; i < n; i++) {
        xlcp_group *g = NULL;
        if (xlcp_group_open(c->ctx, ids[i], &g) != 0) {
            if (!json) {
                fprintf(c->out, "%-28s  (unreadable: ", ids[i]);
                put_oneline(c->out, xlcp_last_error(c->ctx));
                fputs(")\n", c->out);
            }
            continue;
        }
        if (json) {
            jw_check(&j, yajl_gen_map_open(j.g));
            jw_group(&j, g, 0);
        } else
            fprintf(c->out, "%-28s  %-16s  %-24s  %7zu  %10.3f\n", xlcp_group_id(g),
                    xlcp_group_name(g), xlcp_group_created(g), xlcp_group_member_count(g),
                    ns_to_ms(xlcp_group_skew_ns(g)));
        xlcp_group_free(g);
    }
    xlcp_strv_free(ids, n);
    if (json) {
        jw_check(&j, yajl_gen_array_close(j.g));
        jw_check(&j, yajl_gen_map_close(j.g));
        return jw_close(c, &j);
    }
    return XLCP_EXIT_OK;
}

int cli_group_info(struct cli *c, const char *group, int json, int xml)
{
    xlcp_group *g = NULL;
    struct jw j;
    int rc;

    if ((rc = need_ctx(c)))
        return rc;
    rc = xlcp_group_open(c->ctx, group, &g);
    if (rc)
        return lib_error(c, rc);
    if (json) {
        if (jw_open(c, &j) != 0) {
            xlcp_group_free(g);
            return XLCP_EXIT_FAILURE;
        }
        jw_group(&j, g, 1);
        xlcp_group_free(g);
        return jw_close(c, &j);
    }
    if (xml) {
        const char *x = xlcp_group_manifest_xml(g);
        size_t len = strlen(x);
        fputs(x, c->out);
        if (len && x[len - 1] != '\n')
            fputc('\n', c->out);
    } else {
        print_group(c->out, g);
    }
    xlcp_group_free(g);
    return XLCP_EXIT_OK;
}

int cli_group_verify(struct cli *c, const char *group, unsigned int flags)
{
    int rc = xlcp_group_verify(c->ctx, group, flags);

    if (rc)
        return lib_error(c, rc);
    if (c->json)
        return json_done(c, group, "ok");
    fprintf(c->out, "group %s: OK\n", group);
    return XLCP_EXIT_OK;
}

int cli_group_delete(struct cli *c, const char *group, int force)
{
    int rc = xlcp_group_delete(c->ctx, group);

    if (rc == XLCP_ENOTFOUND && force)
        return c->json ? json_done(c, group, "absent") : XLCP_EXIT_OK;
    if (rc)
        return lib_error(c, rc);
    if (c->json)
        return json_done(c, group, "deleted");
    if (c->verbose)
        fprintf(c->err, "deleted group %s\n", group);
    return XLCP_EXIT_OK;
}

int cli_group_restore(struct cli *c, const char *group, const xlcp_restore_options *opts)
{
    uint32_t domids[XLCP_GROUP_MAX_MEMBERS];
    xlcp_group *g = NULL;
    size_t n;
    int rc;

    if (opts->new_name)
        return usage_error(c, "--name does not apply to --group (each member gets "
                              "<name>-<its checkpoint id>)");
    rc = xlcp_group_open(c->ctx, group, &g);
    if (rc)
        return lib_error(c, rc);
    n = xlcp_group_member_count(g);
    rc = xlcp_group_restore(c->ctx, xlcp_group_id(g), opts, domids, XLCP_GROUP_MAX_MEMBERS);
    if (rc) {
        xlcp_group_free(g);
        return lib_error(c, rc);
    }
    if (c->json) {
        struct jw j;
        if (jw_open_doc(c, &j) != 0) {
            xlcp_group_free(g);
            return XLCP_EXIT_FAILURE;
        }
        jw_key(&j, "group");
        jw_str(&j, xlcp_group_id(g));
        jw_key(&j, "paused");
        jw_check(&j, yajl_gen_bool(j.g, opts->paused != 0));
        jw_key(&j, "members");
        jw_check(&j, yajl_gen_array_open(j.g));
        for (size_t i = 0; i < n; i++) {
            jw_check(&j, yajl_gen_map_open(j.g));
            jw_key(&j, "domain");
            jw_str(&j, xlcp_group_member(g, i)->domain_name);
            jw_key(&j, "checkpoint");
            jw_str(&j, xlcp_group_member(g, i)->checkpoint_id);
            jw_u64(&j, "domid", domids[i]);
            jw_check(&j, yajl_gen_map_close(j.g));
        }
        jw_check(&j, yajl_gen_array_close(j.g));
        jw_check(&j, yajl_gen_map_close(j.g));
        xlcp_group_free(g);
        return jw_close(c, &j);
    }
    for (size_t i = 0; i < n; i++)
        fprintf(c->out, "%u %s\n", (unsigned int)domids[i], xlcp_group_member(g, i)->domain_name);
    xlcp_group_free(g);
    return XLCP_EXIT_OK;
}
