/*
 * cli_export.c - `export <id> --to DIR [--since OLDER]` and `import DIR [DIR2 ...]
 * [--name NEW]`: checkpoints out to backup tools and back. Progress with bytes and rate
 * on a terminal only.
 */
#include "cli_int.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct xfer {
    struct cli *c;
    struct timespec t0;
    double last;
};

static double since_start(const struct xfer *x)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - x->t0.tv_sec) + (double)(t.tv_nsec - x->t0.tv_nsec) / 1e9;
}

static void on_bytes(uint64_t done, uint64_t total, void *arg)
{
    struct xfer *x = arg;
    double s = since_start(x);

    if (!x->c->progress_tty || (s - x->last < 0.5 && done < total))
        return;
    x->last = s;
    fprintf(x->c->err, "\r\033[K%" PRIu64 " of %" PRIu64 " MiB, %.1f MiB/s", done >> 20,
            total >> 20, s > 0 ? (double)done / 1048576.0 / s : 0.0);
    x->c->progress_shown = 1;
    fflush(x->c->err);
}

/* Removes the export written for --to - (its files, disks/, itself). */
static void remove_export(const char *dir)
{
    char sub[600];
    const char *subdirs[] = {"disks", ""};
    for (int i = 0; i < 2; i++) {
        snprintf(sub, sizeof(sub), "%s/%s", dir, subdirs[i]);
        DIR *d = opendir(sub);
        struct dirent *e;
        char f[900];
        while (d && (e = readdir(d))) {
            snprintf(f, sizeof(f), "%s/%s", sub, e->d_name);
            if (e->d_name[0] != '.')
                unlink(f);
        }
        if (d)
            closedir(d);
        rmdir(sub);
    }
}

/* --to -: the export as a tar stream on our output (GNU tar, sparse images kept sparse),
 * written first into a temporary directory under $TMPDIR (or /var/tmp) */
static int tar_out(struct cli *c, const char *dir)
{
    int p[2], st = 0, werr = 0;
    char buf[65536];
    ssize_t n;

    if (pipe(p) != 0) {
        errorf(c, "pipe: cannot run tar");
        return XLCP_EXIT_FAILURE;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        errorf(c, "fork: cannot run tar");
        return XLCP_EXIT_FAILURE;
    }
    if (pid == 0) {
        if (dup2(p[1], 1) < 0)
            _exit(127);
        close(p[0]);
        close(p[1]);
        execlp("tar", "tar", "--sparse", "-C", dir, "-cf", "-", ".", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    while ((n = read(p[0], buf, sizeof(buf))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || fwrite(buf, 1, (size_t)n, c->out) != (size_t)n) {
            werr = 1;
            break;
        }
    }
    close(p[0]);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (werr || fflush(c->out) != 0) {
        errorf(c, "writing the tar stream failed");
        return XLCP_EXIT_FAILURE;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        errorf(c, "tar of the export failed (status %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return XLCP_EXIT_FAILURE;
    }
    return XLCP_EXIT_OK;
}

int cmd_export(struct cli *c)
{
    static const struct option lo[] = {
        {"to", required_argument, NULL, 't'},
        {"since", required_argument, NULL, 's'},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *to = NULL, *since = NULL;
    struct xfer x = {c, {0, 0}, 0};
    uint64_t bytes = 0;
    int o, rc;

    opt_reset();
    while ((o = next_opt(c, ":t:s:h", lo)) != -1) {
        if (o == 't')
            to = optarg;
        else if (o == 's')
            since = optarg;
        else if (o == OPT_JSON)
            c->json = 1;
        else if (o == 'h')
            return show_help(c);
        else
            return XLCP_EXIT_USAGE;
    }
    if ((rc = positional(c, 1, 1, "<id>")))
        return rc;
    if (!to || !*to)
        return usage_error(c, "--to DIR is required");
    if (strcmp(to, "-") == 0 && c->json)
        return usage_error(c, "--to - writes the tar stream on stdout: no --json with it");
    if (strcmp(to, "-") == 0 && isatty(fileno(c->out)) == 1)
        return usage_error(c, "--to -: a tar stream, not for a terminal (redirect it)");
    if ((rc = need_ctx(c)))
        return rc;
    char tmp[512] = "", dir[600];
    if (strcmp(to, "-") == 0) {
        const char *t = getenv("TMPDIR");
        snprintf(tmp, sizeof(tmp), "%s/xlcp-export-XXXXXX", t && *t ? t : "/var/tmp");
        if (!mkdtemp(tmp)) {
            errorf(c, "cannot make a temporary directory %s", tmp);
            return XLCP_EXIT_FAILURE;
        }
        snprintf(dir, sizeof(dir), "%s/x", tmp);
        to = dir;
    }
    clock_gettime(CLOCK_MONOTONIC, &x.t0);
    rc = xlcp_export(c->ctx, c->argv[optind], since, to, on_bytes, &x, &bytes);
    progress_clear(c);
    if (rc) {
        if (tmp[0])
            rmdir(tmp);
        return lib_error(c, rc);
    }
    double s = since_start(&x);
    if (tmp[0]) {
        rc = tar_out(c, to);
        remove_export(to);
        rmdir(tmp);
        if (rc)
            return rc;
        if (c->verbose)
            fprintf(c->err, "exported %" PRIu64 " bytes in %.1f s\n", bytes, s);
        return XLCP_EXIT_OK;
    }
    if (c->json) {
        struct jw j;
        if (jw_open_doc(c, &j) != 0)
            return XLCP_EXIT_FAILURE;
        jw_key(&j, "export");
        jw_str(&j, c->argv[optind]);
        jw_key(&j, "since");
        if (since)
            jw_str(&j, since);
        else
            jw_check(&j, yajl_gen_null(j.g));
        jw_key(&j, "dir");
        jw_str(&j, to);
        jw_key(&j, "bytes");
        jw_check(&j, yajl_gen_integer(j.g, (long long)bytes));
        jw_check(&j, yajl_gen_map_close(j.g));
        return jw_close(c, &j);
    }
    fprintf(c->out, "%s %" PRIu64 "\n", to, bytes);
    if (c->verbose)
        fprintf(c->err, "exported %" PRIu64 " bytes in %.1f s\n", bytes, s);
    return XLCP_EXIT_OK;
}

int cmd_import(struct cli *c)
{
    static const struct option lo[] = {
        {"name", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *name = NULL;
    struct xfer x = {c, {0, 0}, 0};
    char id[XLCP_ID_MAX];
    int o, rc;

    opt_reset();
    while ((o = next_opt(c, ":n:h", lo)) != -1) {
        if (o == 'n')
            name = optarg;
        else if (o == OPT_JSON)
            c->json = 1;
        else if (o == 'h')
            return show_help(c);
        else
            return XLCP_EXIT_USAGE;
    }
    if ((rc = positional(c, 1, 64, "DIR [DIR2 ...]")))
        return rc;
    if ((rc = need_ctx(c)))
        return rc;
    clock_gettime(CLOCK_MONOTONIC, &x.t0);
    rc = xlcp_import(c->ctx, (const char *const *)&c->argv[optind], c->argc - optind, name,
                     on_bytes, &x, id);
    progress_clear(c);
    if (rc)
        return lib_error(c, rc);
    if (c->json) {
        struct jw j;
        if (jw_open_doc(c, &j) != 0)
            return XLCP_EXIT_FAILURE;
        jw_key(&j, "import");
        jw_str(&j, id);
        jw_key(&j, "name");
        if (name)
            jw_str(&j, name);
        else
            jw_check(&j, yajl_gen_null(j.g));
        jw_key(&j, "exports");
        jw_check(&j, yajl_gen_integer(j.g, c->argc - optind));
        jw_check(&j, yajl_gen_map_close(j.g));
        return jw_close(c, &j);
    }
    fprintf(c->out, "%s\n", id);
    return XLCP_EXIT_OK;
}
