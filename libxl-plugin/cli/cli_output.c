/*
 * cli_output.c - output of the command line: sizes and times for people, checkpoints
 * as JSON (yajl) and as the `info` text.
 */
#include "cli_int.h"

#include <errno.h>
#include <string.h>

void human_bytes(uint64_t b, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)b;
    size_t u = 0;

    while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%llu B", (unsigned long long)b);
    else
        snprintf(buf, len, "%.1f %s", v, units[u]);
}

double ns_to_ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

void jw_check(struct jw *j, yajl_gen_status st)
{
    if (j->st == yajl_gen_status_ok)
        j->st = st;
}

void jw_str(struct jw *j, const char *s)
{
    jw_check(j, yajl_gen_string(j->g, (const unsigned char *)s, strlen(s)));
}

void jw_key(struct jw *j, const char *k)
{
    jw_str(j, k);
}

void jw_str_or_null(struct jw *j, const char *k, const char *s)
{
    jw_key(j, k);
    if (s && *s)
        jw_str(j, s);
    else
        jw_check(j, yajl_gen_null(j->g));
}

static void jw_tristate(struct jw *j, const char *k, int v)
{
    jw_key(j, k);
    if (v < 0)
        jw_check(j, yajl_gen_null(j->g));
    else
        jw_check(j, yajl_gen_bool(j->g, v));
}

static void jw_u64(struct jw *j, const char *k, uint64_t v)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);

    jw_key(j, k);
    jw_check(j, yajl_gen_number(j->g, buf, (size_t)n));
}

static void jw_ms(struct jw *j, const char *k, uint64_t ns)
{
    char buf[48];
    int n = snprintf(buf, sizeof(buf), "%.3f", ns_to_ms(ns));

    jw_key(j, k);
    jw_check(j, yajl_gen_number(j->g, buf, (size_t)n));
}

int jw_open(struct cli *c, struct jw *j)
{
    j->st = yajl_gen_status_ok;
    j->g = yajl_gen_alloc(NULL);
    if (!j->g) {
        errorf(c, "out of memory");
        return -1;
    }
    if (!yajl_gen_config(j->g, yajl_gen_beautify, 1) ||
        !yajl_gen_config(j->g, yajl_gen_validate_utf8, 1)) {
        yajl_gen_free(j->g);
        errorf(c, "cannot configure the JSON generator");
        return -1;
    }
    return 0;
}

int jw_open_doc(struct cli *c, struct jw *j)
{
    if (jw_open(c, j) != 0)
        return -1;
    jw_check(j, yajl_gen_map_open(j->g));
    jw_key(j, "format_version");
    jw_check(j, yajl_gen_integer(j->g, CLI_JSON_FORMAT_VERSION));
    return 0;
}

void jw_lines(struct jw *j, const char *key, const char *text)
{
    jw_key(j, key);
    jw_check(j, yajl_gen_array_open(j->g));
    while (text && *text) {
        const char *nl = strchr(text, '\n');
        size_t n = nl ? (size_t)(nl - text) : strlen(text);
        if (n > 0)
            jw_check(j, yajl_gen_string(j->g, (const unsigned char *)text, n));
        text += n + (nl != NULL);
    }
    jw_check(j, yajl_gen_array_close(j->g));
}

/* Writes the document to c->out and frees the writer. Returns an exit code. */
int jw_close(struct cli *c, struct jw *j)
{
    const unsigned char *buf;
    size_t len;
    int rc = XLCP_EXIT_OK;

    if (j->st == yajl_gen_status_ok)
        jw_check(j, yajl_gen_get_buf(j->g, &buf, &len));
    if (j->st != yajl_gen_status_ok) {
        errorf(c, "cannot generate JSON output (yajl status %d)", (int)j->st);
        rc = XLCP_EXIT_FAILURE;
    } else if (fwrite(buf, 1, len, c->out) != len ||
               (len && buf[len - 1] != '\n' && fputc('\n', c->out) == EOF)) {
        errorf(c, "cannot write output: %s", strerror(errno));
        rc = XLCP_EXIT_FAILURE;
    }
    yajl_gen_free(j->g);
    return rc;
}

void jw_checkpoint(struct jw *j, const struct cli_cp *cp)
{
    jw_check(j, yajl_gen_map_open(j->g));
    jw_key(j, "format_version");
    jw_check(j, yajl_gen_integer(j->g, CLI_JSON_FORMAT_VERSION));
    jw_key(j, "id");
    jw_str(j, cp->id);
    jw_key(j, "domain");
    jw_str(j, cp->domain);
    jw_key(j, "domain_uuid");
    jw_str(j, cp->domain_uuid);
    jw_key(j, "created");
    jw_str(j, cp->created);
    jw_str_or_null(j, "label", cp->label);
    jw_u64(j, "memory_bytes", cp->memory_bytes);
    jw_u64(j, "disk_count", cp->ndisks);
    jw_key(j, "disks");
    jw_check(j, yajl_gen_array_open(j->g));
    for (size_t i = 0; i < cp->nxdisks; i++) {
        const struct cli_disk *d = &cp->disks[i];
        jw_check(j, yajl_gen_map_open(j->g));
        jw_str_or_null(j, "vdev", d->vdev);
        jw_str_or_null(j, "origin", d->origin);
        jw_str_or_null(j, "snapshot", d->snapshot);
        jw_tristate(j, "thin", d->thin);
        jw_tristate(j, "skipped", d->skipped);
        /* Fixed keys: null where a disk has no such figure (skipped; thin: no hold). */
        if (d->size_bytes) {
            jw_u64(j, "size_bytes", d->size_bytes);
        } else {
            jw_key(j, "size_bytes");
            jw_check(j, yajl_gen_null(j->g));
        }
        if (d->held_ns) {
            jw_ms(j, "writes_held_ms", d->held_ns);
        } else {
            jw_key(j, "writes_held_ms");
            jw_check(j, yajl_gen_null(j->g));
        }
        jw_check(j, yajl_gen_map_close(j->g));
    }
    jw_check(j, yajl_gen_array_close(j->g));
    jw_ms(j, "downtime_ms", cp->downtime_ns);
    if (cp->guest_downtime_ns) {
        jw_ms(j, "guest_downtime_ms", cp->guest_downtime_ns);
    } else {
        jw_key(j, "guest_downtime_ms");
        jw_check(j, yajl_gen_null(j->g));
    }
    if (cp->total_ns >= 0) {
        jw_ms(j, "total_ms", (uint64_t)cp->total_ns);
    } else {
        jw_key(j, "total_ms");
        jw_check(j, yajl_gen_null(j->g));
    }
    jw_tristate(j, "quiesced", cp->quiesced);
    jw_tristate(j, "live", cp->live);
    jw_str_or_null(j, "suspend_path", cp->suspend_path);
    jw_str_or_null(j, "group_id", cp->group_id);
    jw_key(j, "dir");
    jw_str(j, cp->dir);
    jw_check(j, yajl_gen_map_close(j->g));
}

static const char *yesno(int v)
{
    return v < 0 ? "unknown" : v ? "yes" : "no";
}

void print_info(FILE *f, const struct cli_cp *cp)
{
    char mem[32];

    human_bytes(cp->memory_bytes, mem, sizeof(mem));
    fprintf(f, "id:            %s\n", cp->id);
    fprintf(f, "domain:        %s (%s)\n", cp->domain, cp->domain_uuid);
    fprintf(f, "created:       %s\n", cp->created);
    if (cp->label[0])
        fprintf(f, "label:         %s\n", cp->label);
    fprintf(f, "memory:        %s (%llu bytes)\n", mem, (unsigned long long)cp->memory_bytes);
    fprintf(f, "downtime:      %.3f ms\n", ns_to_ms(cp->downtime_ns));
    if (cp->guest_downtime_ns)
        fprintf(f, "guest-seen:    %.3f ms (measured by the guest module)\n",
                ns_to_ms(cp->guest_downtime_ns));
    if (cp->total_ns >= 0)
        fprintf(f, "total:         %.3f ms\n", ns_to_ms((uint64_t)cp->total_ns));
    fprintf(f, "live:          %s\n", yesno(cp->live));
    fprintf(f, "quiesced:      %s\n", yesno(cp->quiesced));
    if (cp->suspend_path[0])
        fprintf(f, "suspend path:  %s\n", cp->suspend_path);
    if (cp->group_id[0])
        fprintf(f, "group:         %s\n", cp->group_id);
    fprintf(f, "directory:     %s\n", cp->dir);
    fprintf(f, "disks:         %zu\n", cp->ndisks);
    for (size_t i = 0; i < cp->nxdisks; i++) {
        const struct cli_disk *d = &cp->disks[i];
        if (d->skipped)
            fprintf(f, "  %-8s %s (skipped: not LVM)\n", d->vdev, d->origin);
        else
            fprintf(f, "  %-8s %s -> %s%s", d->vdev, d->origin, d->snapshot[0] ? d->snapshot : "?",
                    d->thin == 1 ? " (thin)" : "");
        if (!d->skipped && d->held_ns)
            fprintf(f, " (writes held %.3f ms)", ns_to_ms(d->held_ns));
        if (!d->skipped)
            fprintf(f, "\n");
    }
}

/* Opens checkpoint id and writes it as JSON (one object). */
int emit_json_checkpoint(struct cli *c, const char *id)
{
    xlcp_checkpoint *cp = NULL;
    struct cli_cp info;
    struct jw j;
    int rc = xlcp_checkpoint_open(c->ctx, id, &cp);

    if (rc)
        return lib_error(c, rc);
    cli_cp_describe(cp, &info);
    if (jw_open(c, &j) != 0) {
        xlcp_checkpoint_free(cp);
        return XLCP_EXIT_FAILURE;
    }
    jw_checkpoint(&j, &info);
    rc = jw_close(c, &j);
    xlcp_checkpoint_free(cp);
    return rc;
}

/* {"format_version", "id", key: true[, "members": [...]]}: verify_doc and delete_doc of
 * the JSON schema (members: a group operation's report, if rep). */
int json_done_report(struct cli *c, const char *id, const char *key, const xlcp_group_report *rep)
{
    struct jw j;

    if (jw_open_doc(c, &j) != 0)
        return XLCP_EXIT_FAILURE;
    jw_key(&j, "id");
    jw_str(&j, id);
    jw_key(&j, key);
    jw_check(&j, yajl_gen_bool(j.g, 1));
    if (rep)
        jw_group_results(&j, rep);
    jw_check(&j, yajl_gen_map_close(j.g));
    return jw_close(c, &j);
}

int json_done(struct cli *c, const char *id, const char *key)
{
    return json_done_report(c, id, key, NULL);
}
