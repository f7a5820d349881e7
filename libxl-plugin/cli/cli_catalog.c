/*
 * cli_catalog.c - the catalog subcommands: `list`, `info`, `verify`, `delete`.
 */
#include "cli_int.h"

#include <stdlib.h>
#include <string.h>

struct list_row {
    char *id;
    xlcp_checkpoint *cp; /* NULL: unreadable */
    char *error;
    struct cli_cp info;
};

static void list_table(struct cli *c, struct list_row *rows, size_t n)
{
    int wid = 2, wdom = 6;

    for (size_t i = 0; i < n; i++) {
        int l = (int)strlen(rows[i].id);
        wid = l > wid ? l : wid;
        if (rows[i].cp) {
            l = (int)strlen(rows[i].info.domain);
            wdom = l > wdom ? l : wdom;
        }
    }
    fprintf(c->out, "%-*s  %-*s  %-24s  %10s  %5s  %12s\n", wid, "ID", wdom, "DOMAIN", "CREATED",
            "MEMORY", "DISKS", "DOWNTIME(ms)");
    for (size_t i = 0; i < n; i++) {
        const struct cli_cp *cp = &rows[i].info;
        char mem[32];
        if (!rows[i].cp) {
            fprintf(c->out, "%-*s  %-*s  (unreadable: ", wid, rows[i].id, wdom, "?");
            put_oneline(c->out, rows[i].error);
            fputs(")\n", c->out);
            continue;
        }
        human_bytes(cp->memory_bytes, mem, sizeof(mem));
        fprintf(c->out, "%-*s  %-*s  %-24s  %10s  %5zu  %12.3f\n", wid, cp->id, wdom, cp->domain,
                cp->created, mem, cp->ndisks, ns_to_ms(cp->downtime_ns));
    }
}

static int list_json(struct cli *c, struct list_row *rows, size_t n)
{
    struct jw j;

    if (jw_open_doc(c, &j) != 0)
        return XLCP_EXIT_FAILURE;
    jw_key(&j, "checkpoints");
    jw_check(&j, yajl_gen_array_open(j.g));
    for (size_t i = 0; i < n; i++) {
        if (rows[i].cp) {
            jw_checkpoint(&j, &rows[i].info);
            continue;
        }
        jw_check(&j, yajl_gen_map_open(j.g));
        jw_key(&j, "format_version");
        jw_check(&j, yajl_gen_integer(j.g, CLI_JSON_FORMAT_VERSION));
        jw_key(&j, "id");
        jw_str(&j, rows[i].id);
        jw_key(&j, "error");
        jw_str(&j, rows[i].error);
        jw_check(&j, yajl_gen_map_close(j.g));
    }
    jw_check(&j, yajl_gen_array_close(j.g));
    jw_check(&j, yajl_gen_map_close(j.g));
    return jw_close(c, &j);
}

int cmd_list(struct cli *c)
{
    static const struct option lo[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"groups", no_argument, NULL, OPT_GROUPS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct list_row *rows = NULL;
    char **ids = NULL;
    size_t n = 0;
    int groups = 0, rc;

    if ((rc = flag_and_args(c, ":h", lo, OPT_GROUPS, &groups, 0, 1, "<domain>")) >= 0)
        return rc;
    if (groups)
        return cli_group_list(c, optind < c->argc ? c->argv[optind] : NULL, c->json);
    rc = xlcp_list(c->ctx, optind < c->argc ? c->argv[optind] : NULL, &ids, &n);
    if (rc)
        return lib_error(c, rc);
    if (n) {
        rows = calloc(n, sizeof(*rows));
        if (!rows) {
            xlcp_strv_free(ids, n);
            errorf(c, "out of memory");
            return XLCP_EXIT_FAILURE;
        }
    }
    for (size_t i = 0; i < n; i++) {
        rows[i].id = ids[i];
        if (xlcp_checkpoint_open(c->ctx, ids[i], &rows[i].cp) == 0) {
            cli_cp_describe(rows[i].cp, &rows[i].info);
        } else {
            rows[i].cp = NULL;
            rows[i].error = strdup(xlcp_last_error(c->ctx));
            if (!rows[i].error) {
                rc = XLCP_EXIT_FAILURE;
                errorf(c, "out of memory");
                break;
            }
        }
    }
    if (rc == 0) {
        if (c->json) {
            rc = list_json(c, rows, n);
        } else {
            list_table(c, rows, n);
            rc = XLCP_EXIT_OK;
        }
    }
    for (size_t i = 0; i < n; i++) {
        xlcp_checkpoint_free(rows[i].cp);
        free(rows[i].error);
    }
    free(rows);
    xlcp_strv_free(ids, n);
    return rc;
}

int cmd_info(struct cli *c)
{
    static const struct option lo[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"xml", no_argument, NULL, OPT_XML},
        {"group", no_argument, NULL, OPT_GROUP},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    xlcp_checkpoint *cp = NULL;
    struct cli_cp info;
    int xml = 0, o, rc;

    opt_reset();
    while ((o = next_opt(c, ":h", lo)) != -1) {
        if (o == OPT_JSON)
            c->json = 1;
        else if (o == OPT_XML)
            xml = 1;
        else if (o == OPT_GROUP)
            c->group = 1;
        else if (o == 'h')
            return show_help(c);
        else
            return XLCP_EXIT_USAGE;
    }
    if (c->json && xml)
        return usage_error(c, "--json and --xml exclude each other");
    if ((rc = positional(c, 1, 1, c->group ? "<group id or name>" : "<id>")))
        return rc;
    if ((rc = need_ctx(c)))
        return rc;
    if (c->group)
        return cli_group_info(c, c->argv[optind], c->json, xml, 1);
    if (c->json)
        return emit_json_checkpoint(c, c->argv[optind]);
    rc = xlcp_checkpoint_open(c->ctx, c->argv[optind], &cp);
    if (rc)
        return lib_error(c, rc);
    if (xml) {
        const char *x = xlcp_checkpoint_manifest_xml(cp);
        size_t len = x ? strlen(x) : 0;
        fputs(x ? x : "", c->out);
        if (len && x[len - 1] != '\n')
            fputc('\n', c->out);
    } else {
        cli_cp_describe(cp, &info);
        print_info(c->out, &info);
    }
    xlcp_checkpoint_free(cp);
    return XLCP_EXIT_OK;
}

int cmd_verify(struct cli *c)
{
    static const struct option lo[] = {
        {"no-disks", no_argument, NULL, OPT_NO_DISKS},
        {"json", no_argument, NULL, OPT_JSON},
        {"group", no_argument, NULL, OPT_GROUP},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int no_disks = 0, rc;

    if ((rc = flag_and_args(c, ":h", lo, OPT_NO_DISKS, &no_disks, 1, 1, "<id>")) >= 0)
        return rc;
    if (c->group)
        return cli_group_verify(c, c->argv[optind], no_disks ? XLCP_VERIFY_NO_DISKS : 0);
    rc = xlcp_verify(c->ctx, c->argv[optind], no_disks ? XLCP_VERIFY_NO_DISKS : 0);
    if (rc)
        return lib_error(c, rc);
    if (c->json)
        return json_done(c, c->argv[optind], "ok");
    fprintf(c->out, "checkpoint %s: OK\n", c->argv[optind]);
    return XLCP_EXIT_OK;
}

int cmd_delete(struct cli *c)
{
    static const struct option lo[] = {
        {"force", no_argument, NULL, 'f'},
        {"json", no_argument, NULL, OPT_JSON},
        {"group", no_argument, NULL, OPT_GROUP},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int force = 0, rc;

    if ((rc = flag_and_args(c, ":fh", lo, 'f', &force, 1, 1, "<id>")) >= 0)
        return rc;
    if (c->group)
        return cli_group_delete(c, c->argv[optind], force);
    rc = xlcp_delete(c->ctx, c->argv[optind]);
    if (rc == XLCP_ENOTFOUND && force)
        return c->json ? json_done(c, c->argv[optind], "absent") : XLCP_EXIT_OK;
    if (rc)
        return lib_error(c, rc);
    if (c->json)
        return json_done(c, c->argv[optind], "deleted");
    if (c->verbose)
        fprintf(c->err, "deleted %s\n", c->argv[optind]);
    return XLCP_EXIT_OK;
}
