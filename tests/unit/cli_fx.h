/*
 * cli_fx.h - the fixture of the command line's unit tests (test_cli.c,
 * test_cli_leftovers.c): xl-checkpoint run in-process on a context over a fake world
 * with one domain "web1", its output and errors captured.
 */
#ifndef XLCP_CLI_FX_H
#define XLCP_CLI_FX_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../libxl-plugin/cli/cli.h"
#include "ctx.h"
#include "fakes/fakes.h"

struct fx {
    struct fake_world *w;
    struct fake_dom *dom;
    struct xlcp_store alt; /* catalog opened on another root (-r) */
    int alt_open;
    int opens; /* times the factory was called */
    char *out;
    size_t outlen;
    char *err;
    size_t errlen;
};

/* Context factory: the fake world, or the real catalog adapter on another root. */
static inline int open_fake(xlcp_ctx **out, const char *root, void *arg)
{
    struct fx *f = arg;
    struct xlcp_ports ports = f->w->ports;
    struct xlcp_err err;
    int rc;

    f->opens++;
    if (root && strcmp(root, f->w->root) != 0) {
        xlcp_err_clear(&err);
        if (f->alt_open) {
            xlcp_store_fs_close(&f->alt);
            f->alt_open = 0;
        }
        rc = xlcp_store_fs_open(&f->alt, root, &err);
        if (rc) {
            /* Like xlcp_ctx_new: a context that can report why. */
            if (xlcp_ctx_new_with_ports(out, &ports) == 0)
                (*out)->last = err;
            return rc;
        }
        f->alt_open = 1;
        ports.store = f->alt;
    }
    return xlcp_ctx_new_with_ports(out, &ports);
}

static inline int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_int_equal(unsetenv("XLCP_CATALOG_ROOT"), 0);
    assert_int_equal(unsetenv("XLCP_DEBUG"), 0);
    f->w = fake_world_new();
    assert_non_null(f->w);
    f->dom = fake_add_domain(f->w, "web1", 2);
    assert_non_null(f->dom);
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    struct fx *f = *state;

    if (f->alt_open)
        xlcp_store_fs_close(&f->alt);
    fake_world_free(f->w);
    free(f->out);
    free(f->err);
    free(f);
    return 0;
}

/* $XLCP_JSON_SAMPLES (make check-unit): every JSON document the CLI printed is kept there,
 * one file each, for tests/cli/validate_json.py to check against the documented schema. */
static inline void save_json_sample(const char *out)
{
    static unsigned n;
    const char *dir = getenv("XLCP_JSON_SAMPLES");
    char path[512];
    FILE *s;

    while (out && (*out == ' ' || *out == '\n'))
        out++;
    if (!dir || !*dir || !out || *out != '{')
        return;
    snprintf(path, sizeof(path), "%s/%d-%u.json", dir, (int)getpid(), n++);
    s = fopen(path, "w");
    assert_non_null(s);
    assert_true(fputs(out, s) >= 0);
    assert_int_equal(fclose(s), 0);
}

/* Runs xl-checkpoint with the NULL-terminated arguments; output in f->out / f->err. */
static inline int run(struct fx *f, ...)
{
    char *argv[32];
    int argc = 0, rc;
    const char *a;
    FILE *o, *e;
    va_list ap;

    argv[argc++] = strdup("xl-checkpoint");
    va_start(ap, f);
    while ((a = va_arg(ap, const char *)) != NULL) {
        assert_true(argc < 31);
        argv[argc++] = strdup(a);
    }
    va_end(ap);
    argv[argc] = NULL;
    for (int i = 0; i < argc; i++)
        assert_non_null(argv[i]);
    free(f->out);
    free(f->err);
    f->out = f->err = NULL;
    o = open_memstream(&f->out, &f->outlen);
    e = open_memstream(&f->err, &f->errlen);
    assert_non_null(o);
    assert_non_null(e);
    rc = xlcp_cli_main(argc, argv, open_fake, f, o, e);
    assert_int_equal(fclose(o), 0);
    assert_int_equal(fclose(e), 0);
    save_json_sample(f->out);
    /* getopt may have permuted argv: free every element once, in any order. */
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    return rc;
}

/* stderr holds exactly one line, starting with `prefix`. */
static inline void assert_one_error_line(const struct fx *f, const char *prefix)
{
    const char *nl;

    assert_non_null(f->err);
    if (strncmp(f->err, prefix, strlen(prefix)) != 0)
        fail_msg("stderr '%s' does not start with '%s'", f->err, prefix);
    nl = strchr(f->err, '\n');
    if (!nl || nl[1] != '\0')
        fail_msg("stderr is not exactly one line: '%s'", f->err);
    assert_true(strlen(f->err) > strlen(prefix) + 1);
}

/* Creates a checkpoint of web1 through the CLI; returns its id (static buffer). */
static inline const char *cli_create(struct fx *f, const char *label)
{
    static char id[XLCP_ID_MAX];
    int rc =
        label ? run(f, "create", "--name", label, "web1", NULL) : run(f, "create", "web1", NULL);

    if (rc != 0)
        fail_msg("create: exit %d, stderr '%s'", rc, f->err);
    assert_string_equal(f->err, "");
    assert_true(f->outlen > 1 && f->outlen < sizeof(id));
    assert_int_equal(f->out[f->outlen - 1], '\n');
    memcpy(id, f->out, f->outlen - 1);
    id[f->outlen - 1] = '\0';
    assert_null(strchr(id, ' '));
    return id;
}

#endif
