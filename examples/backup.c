/*
 * backup.c - an example backup program on libxlcheckpoint: the reference a backup tool's
 * author copies. It links the library through pkg-config:
 *
 *     cc -std=c11 -o backup backup.c $(pkg-config --cflags --libs xlcheckpoint)
 *
 *     backup [--root DIR] [--keep-last N] [--label TEXT] DOMAIN
 *
 * One run:
 *   1. takes a checkpoint of DOMAIN (name, domid or uuid): memory copied while the guest
 *      runs, every LVM disk snapshotted at the instant it stops (xlcp_create);
 *   2. opens it and reads what a backup needs: its id, the memory image (an `xl save` image
 *      that `xl restore` reads) with its size, each disk's snapshot volume;
 *   3. only if it reads back, applies retention to DOMAIN's checkpoints: keeps the N
 *      newest (default 7), deletes the rest (xlcp_prune with apply; the library never
 *      deletes the newest checkpoint, a member of a group checkpoint or one whose manifest
 *      it cannot read);
 *   4. prints one JSON object on stdout (below), and exits 0.
 * On failure it prints {"ok": false, "error": MESSAGE, "code": XLCP_E..., "step": STEP} and
 * exits 1 (2 for a usage error). Progress and diagnostics go to stderr.
 *
 * Not here yet: copying the checkpoint off the host. The export of a checkpoint (memory
 * image and disk images, incremental for thin volumes) is another issue's work and not in
 * the library yet; until then a backup tool copies the memory image file and reads the
 * snapshot volumes this program reports (they stay until the checkpoint is deleted or
 * pruned), e.g. with dd from the snapshot path.
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
 *    "retention": {"keep_last": 7, "kept": ["..."], "pruned": ["..."]}}
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
            "usage: backup [--root DIR] [--keep-last N] [--label TEXT] DOMAIN\n"
            "Takes a checkpoint of DOMAIN, keeps its N newest checkpoints (default 7),\n"
            "deletes the others, and prints a JSON report.\n");
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

int main(int argc, char **argv)
{
    const char *root = NULL, *label = "backup", *domain = NULL;
    unsigned long keep_last = 7;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return usage(NULL);
        if (!strcmp(a, "--root") || !strcmp(a, "--keep-last") || !strcmp(a, "--label")) {
            if (i + 1 >= argc)
                return usage("an option lacks its value");
            const char *v = argv[++i];
            if (!strcmp(a, "--root")) {
                root = v;
            } else if (!strcmp(a, "--label")) {
                label = v;
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

    /* 3. retention, applied */
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

    /* 4. the report */
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
