/*
 * cli_group.c - the group forms of the subcommands: `create --group NAME dom...`,
 * `list --groups` and `info --group ID|NAME` (each member's status asked of its host),
 * the hidden `group-agent`; verify, delete and restore --group: cli_group_ops.c
 * (cli_create.c, cli_catalog.c and cli_restore.c hand over when the option is given).
 */
#include "cli_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* RFC 3339 (UTC, microseconds) of ns since the epoch. */
static void rfc3339(int64_t ns, char *out, size_t len)
{
    time_t secs = (time_t)(ns / 1000000000);
    struct tm tm;

    if (!gmtime_r(&secs, &tm)) {
        snprintf(out, len, "@%lld", (long long)secs);
        return;
    }
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)((ns % 1000000000) / 1000));
}

/* One group as a JSON object (the group_doc of the JSON schema; each element of
 * list --groups' "groups"): instants in ns on the group's clock, durations in ms; with a
 * status report, each member's "status" (its checkpoint on its host) and its cause. */
static void jw_group(struct jw *j, const xlcp_group *g, int open, const xlcp_group_report *rep)
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
    jw_key(j, "at");
    if (xlcp_group_at_ns(g)) {
        char when[48];
        rfc3339(xlcp_group_at_ns(g), when, sizeof(when));
        jw_str(j, when);
    } else {
        jw_check(j, yajl_gen_null(j->g));
    }
    jw_key(j, "hosts");
    jw_check(j, yajl_gen_array_open(j->g));
    for (size_t i = 0; i < xlcp_group_host_count(g); i++) {
        const xlcp_group_host_info *h = xlcp_group_host(g, i);
        jw_check(j, yajl_gen_map_open(j->g));
        jw_key(j, "host");
        jw_str(j, h->host);
        jw_key(j, "offset_ms");
        jw_check(j, yajl_gen_double(j->g, (double)h->offset_ns / 1e6));
        jw_ms(j, "rtt_ms", h->rtt_ns);
        jw_check(j, yajl_gen_map_close(j->g));
    }
    jw_check(j, yajl_gen_array_close(j->g));
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
        jw_key(j, "host");
        if (m->host && m->host[0])
            jw_str(j, m->host);
        else
            jw_check(j, yajl_gen_null(j->g));
        jw_key(j, "deviation_ms");
        if (m->has_deviation)
            jw_check(j, yajl_gen_double(j->g, (double)m->deviation_ns / 1e6));
        else
            jw_check(j, yajl_gen_null(j->g));
        if (rep && xlcp_group_report_member(rep, i)) {
            const xlcp_group_member_result *r = xlcp_group_report_member(rep, i);
            jw_key(j, "status");
            jw_str(j, r->outcome);
            jw_key(j, "status_error");
            if (r->error)
                jw_str(j, r->message);
            else
                jw_check(j, yajl_gen_null(j->g));
        }
        jw_check(j, yajl_gen_map_close(j->g));
    }
    jw_check(j, yajl_gen_array_close(j->g));
    jw_check(j, yajl_gen_map_close(j->g));
}

static void print_group(FILE *f, const xlcp_group *g, const xlcp_group_report *rep)
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
    if (xlcp_group_at_ns(g)) {
        char when[48];
        rfc3339(xlcp_group_at_ns(g), when, sizeof(when));
        fprintf(f, "at:            %s (the time to stop at)\n", when);
    }
    for (size_t i = 0; i < xlcp_group_host_count(g); i++) {
        const xlcp_group_host_info *h = xlcp_group_host(g, i);
        fprintf(f, "host:          %s clock offset %+.3f ms (round trip %.3f ms)\n", h->host,
                (double)h->offset_ns / 1e6, ns_to_ms(h->rtt_ns));
    }
    fprintf(f, "members:       %zu\n", xlcp_group_member_count(g));
    fprintf(f, "  %-16s %-28s %12s %12s %12s %14s  %s\n", "DOMAIN", "CHECKPOINT", "STOPPED(ms)",
            "STOP(ms)", "WAITED(ms)", "DEVIATION(ms)", rep ? "STATUS" : "");
    for (size_t i = 0; i < xlcp_group_member_count(g); i++) {
        const xlcp_group_member_info *m = xlcp_group_member(g, i);
        char who[128], dev[32] = "-";
        snprintf(who, sizeof(who), "%s%s%s", m->host && m->host[0] ? m->host : "",
                 m->host && m->host[0] ? ":" : "", m->domain_name);
        if (m->has_deviation)
            snprintf(dev, sizeof(dev), "%+.3f", (double)m->deviation_ns / 1e6);
        fprintf(f, "  %-16s %-28s %12.3f %12.3f %12.3f %14s  %s\n", who, m->checkpoint_id,
                ns_to_ms(m->stopped_ns - first), ns_to_ms(m->resumed_ns - m->stopped_ns),
                ns_to_ms(m->waited_ns), dev,
                rep && xlcp_group_report_member(rep, i) ? xlcp_group_report_member(rep, i)->outcome
                                                        : "");
    }
    cli_print_failures(f, rep);
}

int cli_parse_time(const char *s, int64_t *ns)
{
    int y, mo, d, h, mi, sec, n = 0, oh = 0, om = 0;
    int64_t frac = 0, scale = 1000000000;
    struct tm tm;
    time_t t;

    if (s[0] == '@') { /* @EPOCH[.FRACTION] */
        char *end = NULL;
        long long e;
        errno = 0;
        e = strtoll(s + 1, &end, 10);
        if (errno || end == s + 1 || s[1] < '0' || s[1] > '9' || e > 4000000000ll)
            return -1;
        s = end;
        *ns = (int64_t)e * 1000000000;
    } else {
        if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
            n != 19 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
            return -1;
        memset(&tm, 0, sizeof(tm));
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = sec;
        t = timegm(&tm);
        if (t == (time_t)-1)
            return -1;
        s += n;
        *ns = (int64_t)t * 1000000000;
    }
    if (*s == '.') {
        if (s[1] < '0' || s[1] > '9')
            return -1;
        for (s++; *s >= '0' && *s <= '9'; s++)
            if (scale > 1) {
                scale /= 10;
                frac += (*s - '0') * scale;
            }
        *ns += frac;
    }
    if (*s == '\0')
        return n ? -1 : 0; /* RFC 3339 needs its zone; @EPOCH has none */
    if (!n)
        return -1;
    if ((*s == 'Z' || *s == 'z') && s[1] == '\0')
        return 0;
    if ((*s != '+' && *s != '-') || sscanf(s + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5 ||
        s[6] != '\0' || oh > 23 || om > 59)
        return -1;
    *ns -= (*s == '+' ? 1 : -1) * ((int64_t)oh * 3600 + om * 60) * 1000000000;
    return 0;
}

int cmd_group_agent(struct cli *c)
{
    int rc;

    if ((rc = positional(c, 0, 0, "")))
        return rc;
    if ((rc = need_ctx(c)))
        return rc;
    fflush(c->out); /* the protocol owns stdout from here */
    rc = xlcp_group_agent(c->ctx, 0, 1);
    return rc ? lib_error(c, rc) : XLCP_EXIT_OK;
}

int cli_group_create(struct cli *c, const char *name, const xlcp_create_options *member,
                     unsigned int max_wait_ms, int64_t at_ns, int json)
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
    opts.at_ns = at_ns;
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
        return cli_group_info(c, id, 1, 0, 0);
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
        fprintf(c->out, "%-28s  %-16s  %-24s  %7s  %10s  %s\n", "GROUP", "NAME", "CREATED",
                "MEMBERS", "SKEW(ms)", "STATUS");
    }
    for (size_t i = 0; i < n; i++) {
        xlcp_group *g = NULL;
        xlcp_group_report *rep = NULL;
        char status[600];
        if (xlcp_group_open(c->ctx, ids[i], &g) != 0) {
            if (!json) {
                fprintf(c->out, "%-28s  (unreadable: ", ids[i]);
                put_oneline(c->out, xlcp_last_error(c->ctx));
                fputs(")\n", c->out);
            }
            continue;
        }
        /* each member's checkpoint, asked of its host */
        if (xlcp_group_status(c->ctx, ids[i], &rep) != 0)
            snprintf(status, sizeof(status), "unknown: %s", xlcp_last_error(c->ctx));
        else
            cli_status_summary(rep, status, sizeof(status));
        if (json) {
            jw_check(&j, yajl_gen_map_open(j.g));
            jw_group(&j, g, 0, rep);
        } else {
            fprintf(c->out, "%-28s  %-16s  %-24s  %7zu  %10.3f  ", xlcp_group_id(g),
                    xlcp_group_name(g), xlcp_group_created(g), xlcp_group_member_count(g),
                    ns_to_ms(xlcp_group_skew_ns(g)));
            put_oneline(c->out, status);
            fputc('\n', c->out);
        }
        xlcp_group_report_free(rep);
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

int cli_group_info(struct cli *c, const char *group, int json, int xml, int status)
{
    xlcp_group_report *rep = NULL;
    xlcp_group *g = NULL;
    struct jw j;
    int rc;

    if ((rc = need_ctx(c)))
        return rc;
    rc = xlcp_group_open(c->ctx, group, &g);
    if (rc)
        return lib_error(c, rc);
    /* each member's checkpoint, asked of its host (not for --xml: the file as it is) */
    if (status && !xml && xlcp_group_status(c->ctx, xlcp_group_id(g), &rep) != 0)
        warnf(c, "the members' status is unknown: %s", xlcp_last_error(c->ctx));
    if (json) {
        if (jw_open(c, &j) != 0) {
            xlcp_group_report_free(rep);
            xlcp_group_free(g);
            return XLCP_EXIT_FAILURE;
        }
        jw_group(&j, g, 1, rep);
        xlcp_group_report_free(rep);
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
        print_group(c->out, g, rep);
    }
    xlcp_group_report_free(rep);
    xlcp_group_free(g);
    return XLCP_EXIT_OK;
}
