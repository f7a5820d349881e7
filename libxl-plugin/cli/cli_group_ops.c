/*
 * cli_group_ops.c - `verify --group`, `delete --group` and `restore --group`, on this
 * host or across hosts, each reporting what became of every member and on which host
 * (text: one line a member on stdout, the error on stderr; JSON: "members" in the result
 * document, or in the error document), and the report helpers list and info share.
 */
#include "cli_int.h"

#include <stdlib.h>
#include <string.h>

static void who(const xlcp_group_member_result *m, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s", m->host[0] ? m->host : "", m->host[0] ? ":" : "", m->domain_name);
}

void cli_print_results(FILE *f, const xlcp_group_report *rep)
{
    for (size_t i = 0; rep && i < xlcp_group_report_count(rep); i++) {
        const xlcp_group_member_result *m = xlcp_group_report_member(rep, i);
        char w[200];
        who(m, w, sizeof(w));
        fprintf(f, "  %-24s %-28s %s", w, m->checkpoint_id, m->outcome);
        if (m->domid)
            fprintf(f, " (domid %u, %s)", (unsigned int)m->domid, m->new_name);
        if (m->error) {
            fprintf(f, ": step %s: ", m->step);
            put_oneline(f, m->message);
        }
        fputc('\n', f);
    }
}

void cli_print_failures(FILE *f, const xlcp_group_report *rep)
{
    for (size_t i = 0; rep && i < xlcp_group_report_count(rep); i++) {
        const xlcp_group_member_result *m = xlcp_group_report_member(rep, i);
        char w[200];
        if (!m->error)
            continue;
        who(m, w, sizeof(w));
        fprintf(f, "  %s: %s (step %s): ", w, m->outcome, m->step);
        put_oneline(f, m->message);
        fputc('\n', f);
    }
}

void cli_status_summary(const xlcp_group_report *rep, char *buf, size_t len)
{
    size_t n = xlcp_group_report_count(rep), present = 0, off;

    for (size_t i = 0; i < n; i++)
        present += strcmp(xlcp_group_report_member(rep, i)->outcome, "present") == 0;
    if (present == n) {
        snprintf(buf, len, "all %zu present", n);
        return;
    }
    snprintf(buf, len, "%zu of %zu present", present, n);
    for (size_t i = 0; i < n && (off = strlen(buf)) + 1 < len; i++) {
        const xlcp_group_member_result *m = xlcp_group_report_member(rep, i);
        char w[200];
        if (strcmp(m->outcome, "present") == 0)
            continue;
        who(m, w, sizeof(w));
        snprintf(buf + off, len - off, "; %s %s", w, m->outcome);
    }
}

void jw_group_results(struct jw *j, const xlcp_group_report *rep)
{
    jw_key(j, "members");
    jw_check(j, yajl_gen_array_open(j->g));
    for (size_t i = 0; i < xlcp_group_report_count(rep); i++) {
        const xlcp_group_member_result *m = xlcp_group_report_member(rep, i);
        jw_check(j, yajl_gen_map_open(j->g));
        jw_str_or_null(j, "host", m->host);
        jw_key(j, "domain");
        jw_str(j, m->domain_name);
        jw_key(j, "checkpoint");
        jw_str(j, m->checkpoint_id);
        jw_key(j, "outcome");
        jw_str(j, m->outcome);
        jw_str_or_null(j, "step", m->error ? m->step : NULL);
        jw_str_or_null(j, "error", m->error ? m->message : NULL);
        jw_key(j, "domid");
        if (m->domid)
            jw_check(j, yajl_gen_integer(j->g, (long long)m->domid));
        else
            jw_check(j, yajl_gen_null(j->g));
        jw_str_or_null(j, "new_name", m->new_name);
        jw_check(j, yajl_gen_map_close(j->g));
    }
    jw_check(j, yajl_gen_array_close(j->g));
}

/* A failed group operation: each member on stdout (text), then the one error line (and
 * with --json the error document, members included). */
static int group_failed(struct cli *c, int rc, const xlcp_group_report *rep)
{
    if (!c->json)
        cli_print_results(c->out, rep);
    c->report = rep;
    rc = lib_error(c, rc);
    c->report = NULL;
    return rc;
}

int cli_group_verify(struct cli *c, const char *group, unsigned int flags)
{
    xlcp_group_report *rep = NULL;
    int rc = xlcp_group_verify_members(c->ctx, group, flags, &rep);

    if (rc)
        rc = group_failed(c, rc, rep);
    else if (c->json)
        rc = json_done_report(c, group, "ok", rep);
    else {
        cli_print_results(c->out, rep);
        fprintf(c->out, "group %s: OK\n", group);
    }
    xlcp_group_report_free(rep);
    return rc;
}

int cli_group_delete(struct cli *c, const char *group, int force)
{
    xlcp_group_report *rep = NULL;
    int rc = xlcp_group_delete_members(c->ctx, group, &rep);

    if (rc == XLCP_ENOTFOUND && !rep && force)
        rc = c->json ? json_done(c, group, "absent") : XLCP_EXIT_OK;
    else if (rc)
        rc = group_failed(c, rc, rep);
    else if (c->json)
        rc = json_done_report(c, group, "deleted", rep);
    else if (c->verbose) {
        cli_print_results(c->err, rep);
        fprintf(c->err, "deleted group %s\n", group);
    }
    xlcp_group_report_free(rep);
    return rc;
}

static int restore_json(struct cli *c, const xlcp_restore_options *opts,
                        const xlcp_group_report *rep)
{
    struct jw j;

    if (jw_open_doc(c, &j) != 0)
        return XLCP_EXIT_FAILURE;
    jw_key(&j, "group");
    jw_str(&j, xlcp_group_report_group(rep));
    jw_key(&j, "paused");
    jw_check(&j, yajl_gen_bool(j.g, opts->paused != 0));
    jw_group_results(&j, rep);
    jw_check(&j, yajl_gen_map_close(j.g));
    return jw_close(c, &j);
}

int cli_group_restore(struct cli *c, const char *group, const xlcp_restore_options *opts)
{
    xlcp_group_report *rep = NULL;
    int rc;

    if (opts->new_name)
        return usage_error(c, "--name does not apply to --group (each member gets "
                              "<name>-<its checkpoint id>)");
    rc = xlcp_group_restore_members(c->ctx, group, opts, &rep);
    if (rc)
        rc = group_failed(c, rc, rep);
    else if (c->json)
        rc = restore_json(c, opts, rep);
    else
        for (size_t i = 0; i < xlcp_group_report_count(rep); i++) {
            const xlcp_group_member_result *m = xlcp_group_report_member(rep, i);
            /* "DOMID NAME", and the host of a member on another host */
            fprintf(c->out, "%u %s%s%s\n", (unsigned int)m->domid, m->domain_name,
                    m->host[0] ? " " : "", m->host);
        }
    xlcp_group_report_free(rep);
    return rc;
}
