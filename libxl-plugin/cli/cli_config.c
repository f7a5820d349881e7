/*
 * cli_config.c - restore's <ConfigFile> (as `xl restore [options] <CheckpointFile>
 * [<ConfigFile>]`): the file becomes the libxl JSON of a domain configuration, which the
 * library restores with instead of the configuration saved in the checkpoint.
 *
 * A file in xl's own format is parsed by the system's xl itself (`xl create -n FILE`, a
 * dry run that creates nothing and prints {"domid": null, "config": {...}}): xl's parser
 * is no library, and a second parser of ours would read some files otherwise than xl does.
 * Which xl: $XLCP_REAL_XL, else /usr/sbin/xl (never our dispatcher). A file that is JSON
 * already (first character '{') is either such a document or a libxl_domain_config itself.
 * The library then checks it with libxl (libxl_domain_config_from_json).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "cli_int.h"

#define CONFIG_MAX (4u << 20) /* bytes of a configuration (file or xl's output) */
#define XL_STDERR_MAX 2048u   /* what we keep of xl's complaints (the rest is dropped) */

extern char **environ;

/* Writes v as JSON into g. */
static yajl_gen_status gen_value(yajl_gen g, yajl_val v)
{
    yajl_gen_status st = yajl_gen_status_ok;

    if (YAJL_IS_OBJECT(v)) {
        st = yajl_gen_map_open(g);
        for (size_t i = 0; st == yajl_gen_status_ok && i < v->u.object.len; i++) {
            const char *k = v->u.object.keys[i];
            st = yajl_gen_string(g, (const unsigned char *)k, strlen(k));
            if (st == yajl_gen_status_ok)
                st = gen_value(g, v->u.object.values[i]);
        }
        return st == yajl_gen_status_ok ? yajl_gen_map_close(g) : st;
    }
    if (YAJL_IS_ARRAY(v)) {
        st = yajl_gen_array_open(g);
        for (size_t i = 0; st == yajl_gen_status_ok && i < v->u.array.len; i++)
            st = gen_value(g, v->u.array.values[i]);
        return st == yajl_gen_status_ok ? yajl_gen_array_close(g) : st;
    }
    if (YAJL_IS_STRING(v))
        return yajl_gen_string(g, (const unsigned char *)v->u.string, strlen(v->u.string));
    if (YAJL_IS_NUMBER(v))
        return yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
    if (YAJL_IS_TRUE(v))
        return yajl_gen_bool(g, 1);
    if (YAJL_IS_FALSE(v))
        return yajl_gen_bool(g, 0);
    return yajl_gen_null(g);
}

/* The libxl_domain_config in text: the value of "config" when text is xl's dry-run
 * document, else text itself (an object). NULL with *why set when it is neither. */
static char *config_of(const char *text, const char **why)
{
    char errbuf[256];
    yajl_val doc = yajl_tree_parse(text, errbuf, sizeof(errbuf));
    const char *path[] = {"config", NULL};
    yajl_val cfg;
    yajl_gen g;
    char *out = NULL;

    if (!doc) {
        *why = "not valid JSON";
        return NULL;
    }
    if (!YAJL_IS_OBJECT(doc)) {
        *why = "not a JSON object";
        yajl_tree_free(doc);
        return NULL;
    }
    cfg = yajl_tree_get(doc, path, yajl_t_object);
    if (!cfg)
        cfg = doc;
    if (!yajl_tree_get(cfg, (const char *[]){"c_info", NULL}, yajl_t_object) ||
        !yajl_tree_get(cfg, (const char *[]){"b_info", NULL}, yajl_t_object)) {
        *why = "no libxl domain configuration in it (no c_info and b_info objects)";
        yajl_tree_free(doc);
        return NULL;
    }
    g = yajl_gen_alloc(NULL);
    if (g && gen_value(g, cfg) == yajl_gen_status_ok) {
        const unsigned char *buf;
        size_t len;
        if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok)
            out = strndup((const char *)buf, len);
    }
    if (!out)
        *why = "out of memory";
    if (g)
        yajl_gen_free(g);
    yajl_tree_free(doc);
    return out;
}

/* Appends what fd has now to *buf (len, cap; at most max bytes kept, the rest read and
 * dropped). Returns 1 at end of file, 0 otherwise, -1 on error. */
static int drain(int fd, char **buf, size_t *len, size_t *cap, size_t max, int *over)
{
    char tmp[4096];
    ssize_t n = read(fd, tmp, sizeof(tmp));

    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : -1;
    if (n == 0)
        return 1;
    if (*len + (size_t)n > max) {
        *over = 1;
        return 0;
    }
    if (*len + (size_t)n + 1 > *cap) {
        size_t nc = (*len + (size_t)n + 1) * 2;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, tmp, (size_t)n);
    *len += (size_t)n;
    (*buf)[*len] = '\0';
    return 0;
}

/* Runs `xl create -n file`; its stdout into *out. 0, or an exit code (error reported). */
static int xl_dry_run(struct cli *c, const char *file, char **out)
{
    const char *xl = getenv("XLCP_REAL_XL");
    int pout[2], perr[2], status, rc, ioerr = 0, over = 0, eover = 0;
    char *argv[] = {NULL, "create", "-n", (char *)file, NULL};
    char *text = NULL, *etext = NULL;
    size_t len = 0, cap = 0, elen = 0, ecap = 0;
    posix_spawn_file_actions_t fa;
    struct pollfd pf[2];
    pid_t pid;

    if (!xl || !*xl)
        xl = "/usr/sbin/xl";
    argv[0] = (char *)xl;
    if (pipe2(pout, O_CLOEXEC) != 0) {
        errorf(c, "config file %s: pipe: %s", file, strerror(errno));
        return XLCP_EXIT_FAILURE;
    }
    if (pipe2(perr, O_CLOEXEC) != 0) {
        errorf(c, "config file %s: pipe: %s", file, strerror(errno));
        close(pout[0]);
        close(pout[1]);
        return XLCP_EXIT_FAILURE;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
    posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
    rc = posix_spawn(&pid, xl, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pout[1]);
    close(perr[1]);
    if (rc != 0) {
        errorf(c, "config file %s: cannot run %s to parse it: %s", file, xl, strerror(rc));
        close(pout[0]);
        close(perr[0]);
        return XLCP_EXIT_FAILURE;
    }
    /* both pipes at once: xl blocks on either when it is full */
    pf[0] = (struct pollfd){.fd = pout[0], .events = POLLIN};
    pf[1] = (struct pollfd){.fd = perr[0], .events = POLLIN};
    while ((pf[0].fd >= 0 || pf[1].fd >= 0) && !ioerr) {
        if (poll(pf, 2, -1) < 0) {
            if (errno != EINTR)
                ioerr = errno;
            continue;
        }
        for (int i = 0; i < 2; i++) {
            int r;
            if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            r = i == 0 ? drain(pf[i].fd, &text, &len, &cap, CONFIG_MAX, &over)
                       : drain(pf[i].fd, &etext, &elen, &ecap, XL_STDERR_MAX, &eover);
            if (r < 0)
                ioerr = errno ? errno : EIO;
            if (r != 0) {
                close(pf[i].fd);
                pf[i].fd = -1;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (pf[i].fd >= 0)
            close(pf[i].fd);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (ioerr || over) {
        errorf(c, "config file %s: reading what %s printed: %s", file, xl,
               over ? "more than 4 MiB" : strerror(ioerr));
        rc = XLCP_EXIT_FAILURE;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !text) {
        while (elen && (etext[elen - 1] == '\n' || etext[elen - 1] == ' '))
            etext[--elen] = '\0';
        errorf(c, "config file %s: `%s create -n` failed (%s %d): %s", file, xl,
               WIFEXITED(status) ? "exit" : "signal",
               WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
               etext ? etext : "no output");
        rc = XLCP_EXIT_USAGE;
    } else {
        *out = text;
        text = NULL;
        rc = 0;
    }
    free(text);
    free(etext);
    return rc;
}

int cli_config_json(struct cli *c, const char *file, char **json_out)
{
    const char *p, *why = NULL;
    char *text = NULL, *json;
    int fd, rc;

    fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        errorf(c, "config file %s: %s", file, strerror(errno));
        return XLCP_EXIT_USAGE;
    }
    {
        size_t len = 0, cap = 0;
        int over = 0;
        while ((rc = drain(fd, &text, &len, &cap, CONFIG_MAX, &over)) == 0 && !over)
            ;
        if (rc > 0 && !text) /* an empty file: xl says what it makes of it */
            text = strdup("");
        if (rc < 0 || over || !text) {
            errorf(c, "config file %s: %s", file, over ? "more than 4 MiB" : strerror(errno));
            close(fd);
            free(text);
            return XLCP_EXIT_USAGE;
        }
    }
    close(fd);
    for (p = text; *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'; p++)
        ;
    if (*p != '{') { /* xl's format: xl parses it */
        free(text);
        text = NULL;
        if ((rc = xl_dry_run(c, file, &text)))
            return rc;
    }
    json = config_of(text, &why);
    free(text);
    if (!json) {
        errorf(c, "config file %s: %s", file, why);
        return XLCP_EXIT_USAGE;
    }
    *json_out = json;
    return 0;
}
