/*
 * backup.c - an example backup program on libxlcheckpoint: the reference a backup tool's
 * author copies. It links the library through pkg-config:
 *
 *     cc -std=c11 -o backup backup.c $(pkg-config --cflags --libs xlcheckpoint)
 *
 *     backup [--root DIR] [--keep-last N] [--label TEXT] [--export-to DIR] DOMAIN
 *
 * One run:
 *   1. takes a checkpoint of DOMAIN (name, domid or uuid): memory copied while the guest
 *      runs, every LVM disk snapshotted at the instant it stops (xlcp_create);
 *   2. opens it and reads what a backup needs: its id, the memory image (an `xl save` image
 *      that `xl restore` reads) with its size, each disk's snapshot volume;
 *   3. with --export-to DIR, copies it off the catalog into DIR/<id> (xlcp_export): the
 *      memory image (an `xl save` image) and each disk as an image, with the manifest;
 *      incrementally when DIR/last names a checkpoint still in the catalog (the one the
 *      previous run exported): then a thin disk is exported as the blocks changed since
 *      that checkpoint, which `xl checkpoint import DIR/<full> DIR/<incr>...` puts back
 *      together; DIR/last is rewritten (atomically) only once the export is whole;
 *   4. only if it reads back (and exported), applies retention to DOMAIN's checkpoints:
 *      keeps the N newest (default 7), deletes the rest (xlcp_prune with apply; the
 *      library never deletes the newest checkpoint, which the next incremental export
 *      starts from, a member of a group checkpoint or one whose manifest it cannot read);
 *   5. prints one JSON object on stdout (below), and exits 0.
 * On failure it prints {"ok": false, "error": MESSAGE, "code": XLCP_E..., "step": STEP} and
 * exits 1 (2 for a usage error). Progress and diagnostics go to stderr.
 *
 * Without --export-to the checkpoint stays on the host: a backup tool can read the
 * snapshot volumes this program reports (they stay until the checkpoint is deleted or
 * pruned).
 *
 * Output:
 *   {"ok": true, "domain": "web1",
 *    "checkpoint": {"id": "...", "created": "...", "dir": "...",
 *                   "memory": {"path": ".../memory.xl", "bytes": 269484032,
 *                              "file_bytes": 269484032},
 *                   "disks": [{"vdev": "xvda", "origin": "/dev/vg0/web1",
 *                              "snapshot": "/dev/vg0/web1.xlcp....", "thin": true,
 *                              "skipped": false}],
 *                   "downtime_ms": 95.1},
 *    "export": {"dir": "/backup/web1/<id>", "since": "<older id>" or null,
 *               "bytes": 281018368},                 (null without --export-to)
 *    "retention": {"keep_last": 7, "kept": ["..."], "pruned": ["..."]}}
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xlcheckpoint.h>

/* Writes s as a JSON string. */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static const char *error_name(int code)
{
    static const char *const names[] = {
        "XLCP_OK",     "XLCP_EINVAL",    "XLCP_ENOTFOUND", "XLCP_ESTATE",    "XLCP_EBUSY",
        "XLCP_ENOSPC", "XLCP_ETIMEDOUT", "XLCP_ECORRUPT",  "XLCP_EIO",       "XLCP_EUNSUPPORTED",
        "XLCP_EHV",    "XLCP_EDISK",     "XLCP_EPERM",     "XLCP_EINTERNAL",
    };
    if (code <= 0 && -code < (int)(sizeof(names) / sizeof(names[0])))
        return names[-code];
    return "unknown";
}

/* Prints the failure as JSON; returns the exit status. */
static int fail(xlcp_ctx *ctx, const char *what, int code)
{
    const char *msg = ctx ? xlcp_last_error(ctx) : "";
    xlcp_step step = ctx ? xlcp_last_error_step(ctx) : XLCP_STEP_NONE;
    fprintf(stdout, "{\"ok\": false, \"error\": ");
    if (msg && *msg) {
        json_str(stdout, msg);
    } else {
        char buf[256];
        snprintf(buf, sizeof(buf), "%s: %s", what, xlcp_strerror(code));
        json_str(stdout, buf);
    }
    fprintf(stdout, ", \"code\": \"%s\", \"step\": ", error_name(code));
    if (step == XLCP_STEP_NONE)
        fputs("null", stdout);
    else
        json_str(stdout, xlcp_step_name(step));
    fputs("}\n", stdout);
    return 1;
}

static void progress(xlcp_step step, const char *what, void *arg)
{
    (void)arg;
    fprintf(stderr, "backup: %s%s%s\n", xlcp_step_name(step), what && *what ? ": " : "",
            what ? what : "");
}

static int usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "backup: %s\n", msg);
    fprintf(msg ? stderr : stdout,
            "usage: backup [--root DIR] [--keep-last N] [--label TEXT] [--export-to DIR] DOMAIN\n"
            "Takes a checkpoint of DOMAIN, exports it into DIR/<id> (incremental since the\n"
            "one DIR/last names, if that is still in the catalog), keeps its N newest\n"
            "checkpoints (default 7), deletes the others, and prints a JSON report.\n");
    return msg ? 2 : 0;
}

/* The report of checkpoint `id` (opened again from the catalog, as a later run would). */
static int report_checkpoint(xlcp_ctx *ctx, const char *id, FILE *out)
{
    xlcp_checkpoint *cp = NULL;
    int rc = xlcp_checkpoint_open(ctx, id, &cp);
    if (rc < 0)
        return rc;
    char mem[4096];
    int n = snprintf(mem, sizeof(mem), "%s/memory.xl", xlcp_checkpoint_dir(cp));
    struct stat st;
    if (n < 0 || (size_t)n >= sizeof(mem) || stat(mem, &st) != 0) {
        fprintf(stderr, "backup: memory image %s: %s\n", mem, strerror(errno));
        xlcp_checkpoint_free(cp);
        return XLCP_ECORRUPT;
    }
    fputs("\"checkpoint\": {\"id\": ", out);
    json_str(out, xlcp_checkpoint_id(cp));
    fputs(", \"created\": ", out);
    json_str(out, xlcp_checkpoint_created(cp));
    fputs(", \"dir\": ", out);
    json_str(out, xlcp_checkpoint_dir(cp));
    fputs(", \"memory\": {\"path\": ", out);
    json_str(out, mem);
    /* The manifest records the image's size; verify checks the file against it. */
    fprintf(out, ", \"bytes\": %" PRIu64 ", \"file_bytes\": %lld}, \"disks\": [",
            xlcp_checkpoint_memory_bytes(cp), (long long)st.st_size);
    for (size_t i = 0; i < xlcp_checkpoint_disk_count(cp); i++) {
        const xlcp_disk_info *d = xlcp_checkpoint_disk(cp, i);
        if (!d)
            continue;
        fputs(i ? ", {\"vdev\": " : "{\"vdev\": ", out);
        json_str(out, d->vdev);
        fputs(", \"origin\": ", out);
        json_str(out, d->origin_path);
        fputs(", \"snapshot\": ", out);
        json_str(out, d->snapshot_path);
        fprintf(out, ", \"thin\": %s, \"skipped\": %s}", d->thin ? "true" : "false",
                d->skipped ? "true" : "false");
    }
    fprintf(out, "], \"downtime_ms\": %.1f}", (double)xlcp_checkpoint_downtime_ns(cp) / 1e6);
    xlcp_checkpoint_free(cp);
    return 0;
}

/* The checkpoint DIR/last names, if the catalog still has it (the base of an incremental
 * export); "" otherwise. */
static void export_base(xlcp_ctx *ctx, const char *dir, char base[XLCP_ID_MAX])
{
    char path[4096], line[XLCP_ID_MAX + 2] = "";
    xlcp_checkpoint *cp = NULL;

    base[0] = '\0';
    snprintf(path, sizeof(path), "%s/last", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (fgets(line, sizeof(line), f))
        line[strcspn(line, "\n")] = '\0';
    fclose(f);
    if (line[0] && strlen(line) < XLCP_ID_MAX && xlcp_checkpoint_open(ctx, line, &cp) == 0) {
        memcpy(base, line, strlen(line) + 1);
        xlcp_checkpoint_free(cp);
    } else if (line[0]) {
        fprintf(stderr, "backup: %s is no longer in the catalog: a full export\n", line);
    }
}

/* DIR/last := id, atomically (write, fsync, rename). */
static int export_mark(const char *dir, const char *id)
{
    char tmp[4096], path[4096];
    snprintf(tmp, sizeof(tmp), "%s/.last.tmp", dir);
    snprintf(path, sizeof(path), "%s/last", dir);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int ok = fprintf(f, "%s\n", id) > 0 && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0 || !ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void export_progress(uint64_t done, uint64_t total, void *arg)
{
    (void)arg;
    fprintf(stderr, "backup: exported %" PRIu64 " of %" PRIu64 " MiB\n", done >> 20, total >> 20);
}

int main(int argc, char **argv)
{
    const char *root = NULL, *label = "backup", *domain = NULL, *export_to = NULL;
    unsigned long keep_last = 7;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return usage(NULL);
        if (!strcmp(a, "--root") || !strcmp(a, "--keep-last") || !strcmp(a, "--label") ||
            !strcmp(a, "--export-to")) {
            if (i + 1 >= argc)
                return usage("an option lacks its value");
            const char *v = argv[++i];
            if (!strcmp(a, "--root")) {
                root = v;
            } else if (!strcmp(a, "--label")) {
                label = v;
            } else if (!strcmp(a, "--export-to")) {
                export_to = v;
            } else {
                char *end;
                errno = 0;
                keep_last = strtoul(v, &end, 10);
                if (errno || *end || !*v || keep_last < 1 || keep_last > 100000)
                    return usage("--keep-last wants a number from 1");
            }
        } else if (a[0] == '-') {
            return usage("unknown option");
        } else if (domain) {
            return usage("one domain only");
        } else {
            domain = a;
        }
    }
    if (!domain)
        return usage("no domain given");
    if (export_to && mkdir(export_to, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "backup: %s: %s\n", export_to, strerror(errno));
        return 1;
    }

    xlcp_ctx_options copts = XLCP_CTX_OPTIONS_INIT;
    copts.catalog_root = root;
    xlcp_ctx *ctx = NULL;
    int rc = xlcp_ctx_new(&ctx, &copts);
    if (rc < 0) {
        int status = fail(ctx, "opening the library", rc);
        xlcp_ctx_free(ctx);
        return status;
    }

    /* 1. the checkpoint */
    xlcp_create_options opts = XLCP_CREATE_OPTIONS_INIT;
    opts.name = label;
    opts.progress = progress;
    char id[XLCP_ID_MAX];
    rc = xlcp_create(ctx, domain, &opts, id);
    if (rc < 0) {
        int status = fail(ctx, "checkpoint", rc);
        xlcp_ctx_free(ctx);
        return status;
    }
    fprintf(stderr, "backup: checkpoint %s of %s taken\n", id, domain);

    /* 2. read it back, as a later run would, into the report (printed only when whole) */
    char *report = NULL;
    size_t report_len = 0;
    FILE *out = open_memstream(&report, &report_len);
    if (!out) {
        perror("backup: open_memstream");
        xlcp_ctx_free(ctx);
        return 1;
    }
    fputs("{\"ok\": true, \"domain\": ", out);
    json_str(out, domain);
    fputs(", ", out);
    rc = report_checkpoint(ctx, id, out);
    if (rc < 0) { /* a checkpoint that does not read back: nothing is pruned */
        fclose(out);
        free(report);
        int status = fail(ctx, "reading the checkpoint back", rc);
        xlcp_ctx_free(ctx);
        return status;
    }

    /* 3. the export, incremental when the previous one's checkpoint is still here */
    if (export_to) {
        char base[XLCP_ID_MAX], dir[4096];
        uint64_t bytes = 0;

        export_base(ctx, export_to, base);
        snprintf(dir, sizeof(dir), "%s/%s", export_to, id);
        rc = xlcp_export(ctx, id, base[0] ? base : NULL, dir, export_progress, NULL, &bytes);
        if (rc == 0 && export_mark(export_to, id) != 0)
            rc = XLCP_EIO;
        if (rc < 0) { /* nothing is pruned: the next run starts from what is still here */
            fclose(out);
            free(report);
            int status = fail(ctx, "export", rc);
            xlcp_ctx_free(ctx);
            return status;
        }
        fputs(", \"export\": {\"dir\": ", out);
        json_str(out, dir);
        fputs(", \"since\": ", out);
        if (base[0])
            json_str(out, base);
        else
            fputs("null", out);
        fprintf(out, ", \"bytes\": %" PRIu64 "}", bytes);
    } else {
        fputs(", \"export\": null", out);
    }

    /* 4. retention, applied */
    xlcp_prune_options popts = XLCP_PRUNE_OPTIONS_INIT;
    popts.keep_last = (unsigned int)keep_last;
    popts.apply = 1;
    xlcp_prune_entry *entries = NULL;
    size_t nentries = 0;
    rc = xlcp_prune(ctx, domain, &popts, &entries, &nentries);
    if (rc < 0) {
        fclose(out);
        free(report);
        int status = fail(ctx, "prune", rc);
        xlcp_prune_entries_free(entries);
        xlcp_ctx_free(ctx);
        return status;
    }

    /* 5. the report */
    fprintf(out, ", \"retention\": {\"keep_last\": %lu, \"kept\": [", keep_last);
    int first = 1;
    for (size_t i = 0; i < nentries; i++) {
        if (!entries[i].keep)
            continue;
        fputs(first ? "" : ", ", out);
        json_str(out, entries[i].id);
        first = 0;
    }
    fputs("], \"pruned\": [", out);
    first = 1;
    for (size_t i = 0; i < nentries; i++) {
        if (entries[i].keep || !entries[i].deleted)
            continue;
        fputs(first ? "" : ", ", out);
        json_str(out, entries[i].id);
        first = 0;
    }
    fputs("]}}\n", out);
    if (fclose(out) != 0) {
        perror("backup: report");
        free(report);
        xlcp_prune_entries_free(entries);
        xlcp_ctx_free(ctx);
        return 1;
    }
    fwrite(report, 1, report_len, stdout);
    free(report);
    xlcp_prune_entries_free(entries);
    xlcp_ctx_free(ctx);
    return fflush(stdout) == 0 ? 0 : 1;
}
