/*
 * test_guardian.c - the guardian (libxl-plugin/src/guardian.c and the helper program
 * build/xlcp-guardian, in its dry run: it says what it would undo, and reads the domain's
 * state from a file). When its socket closes without "D" (the tool died) it undoes what is
 * still under way: resumes the domain we suspended (only that very domain: same id and
 * uuid), waits for one that was asked to stop and stops late, puts back a thin re-point,
 * resumes the held devices (not the released ones); after "D" it does nothing. It holds
 * no descriptor of ours but its socket; a guardian gone raises no SIGPIPE in the tool;
 * a helper that cannot run fails the start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guardian.h"

#define UUID "6f1c2a8e-0b7d-4c3e-9a51-2d8e7f604b19"
#define OTHER_UUID "0a0a0a0a-0b7d-4c3e-9a51-2d8e7f604b19"

static char dir[] = "/tmp/xlcp-test-guardian-XXXXXX";
static char state_file[PATH_MAX], log_file[PATH_MAX];

/* Domain 7's state, as the dry-run guardian reads it (replaced whole: it may be reading). */
static void set_domain(const char *uuid, const char *state)
{
    char tmp[PATH_MAX + 8];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.new", state_file);
    f = fopen(tmp, "w");
    assert_non_null(f);
    fprintf(f, "7 %s %s\n", uuid, state);
    fclose(f);
    assert_int_equal(rename(tmp, state_file), 0);
}

/* Starts a guardian whose stderr goes to log_file. */
static void start(struct xlcp_guardian *g)
{
    struct xlcp_err err;
    int saved = dup(2), fd = open(log_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    xlcp_err_clear(&err);
    memset(g, 0, sizeof(*g));
    assert_int_equal(xlcp_guardian_start(g, &err), 0);
    dup2(saved, 2);
    close(saved);
    assert_true(g->pid > 0);
}

/* The tool dies: its end closes without "D". Waits for the guardian to finish. */
static void die(struct xlcp_guardian *g)
{
    int st = -1;

    close(g->fd);
    assert_int_equal(waitpid(g->pid, &st, 0), g->pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    g->pid = 0;
}

static char *log_text(void)
{
    static char buf[4096];
    FILE *f = fopen(log_file, "r");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int setup(void **state)
{
    char exe[PATH_MAX], helper[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    (void)state;
    if (n <= 0 || !mkdtemp(dir))
        return -1;
    exe[n] = '\0';
    /* build/tests/test_guardian -> build/xlcp-guardian */
    snprintf(helper, sizeof(helper), "%s/../xlcp-guardian", dirname(exe));
    snprintf(state_file, sizeof(state_file), "%s/domain", dir);
    snprintf(log_file, sizeof(log_file), "%s/log", dir);
    setenv("XLCP_GUARDIAN", helper, 1);
    setenv("XLCP_GUARDIAN_DRYRUN", state_file, 1);
    setenv("XLCP_GUARDIAN_LATE_MS", "3000", 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(state_file);
    unlink(log_file);
    rmdir(dir);
    return 0;
}

static void test_undo_on_eof(void **state)
{
    struct xlcp_guardian g;
    char *log;

    (void)state;
    set_domain(UUID, "suspended");
    start(&g);
    assert_int_equal(xlcp_guardian_say(&g, "S 7 %s\n", UUID), 0);
    xlcp_guardian_say(&g, "A\n");
    xlcp_guardian_say(&g, "H 253 1\n");
    xlcp_guardian_say(&g, "H 253 2\n");
    xlcp_guardian_say(&g, "P 253 0 9\n");
    xlcp_guardian_say(&g, "P 253 0 5\n");
    xlcp_guardian_say(&g, "Q 253 0 5\n");
    xlcp_guardian_say(&g, "R 253 2\n");
    die(&g);
    log = log_text();
    assert_non_null(strstr(log, "would resume domain 7 (" UUID "), it was suspended"));
    assert_non_null(strstr(log, "would send 'create_thin 9' to pool 253:0"));
    assert_null(strstr(log, "create_thin 5"));
    assert_non_null(strstr(log, "would resume device 253:1"));
    assert_null(strstr(log, "253:2"));
    /* the domain first, then the put-back, then the held writes */
    assert_true(strstr(log, "domain 7") < strstr(log, "create_thin 9"));
    assert_true(strstr(log, "create_thin 9") < strstr(log, "device 253:1"));
}

static void test_nothing_after_done(void **state)
{
    struct xlcp_guardian g;

    (void)state;
    set_domain(UUID, "suspended");
    start(&g);
    xlcp_guardian_say(&g, "S 7 %s\n", UUID);
    xlcp_guardian_say(&g, "A\n");
    xlcp_guardian_say(&g, "H 253 1\n");
    xlcp_guardian_stop(&g);
    assert_int_equal(g.pid, 0);
    assert_string_equal(log_text(), "");
}

/* Same domid, another domain (the id was reused): not ours to resume. */
static void test_other_uuid_untouched(void **state)
{
    struct xlcp_guardian g;

    (void)state;
    set_domain(OTHER_UUID, "suspended");
    start(&g);
    xlcp_guardian_say(&g, "S 7 %s\n", UUID);
    xlcp_guardian_say(&g, "A\n");
    die(&g);
    assert_null(strstr(log_text(), "would resume domain"));
}

static void *stop_later(void *arg)
{
    struct timespec ts = {0, 700 * 1000000L};

    (void)arg;
    nanosleep(&ts, NULL);
    set_domain(UUID, "suspended");
    return NULL;
}

/* Asked to suspend, still running when the tool died, stops 0.7 s later: resumed then. */
static void test_late_stop(void **state)
{
    struct xlcp_guardian g;
    pthread_t t;

    (void)state;
    set_domain(UUID, "running");
    start(&g);
    xlcp_guardian_say(&g, "S 7 %s\n", UUID);
    xlcp_guardian_say(&g, "A\n");
    assert_int_equal(pthread_create(&t, NULL, stop_later, NULL), 0);
    die(&g);
    pthread_join(t, NULL);
    assert_non_null(strstr(log_text(), "would resume domain 7 (" UUID "), it stopped late"));
}

/* Never asked to suspend (the tool died during the copy): no wait, nothing resumed. */
static void test_not_asked_no_wait(void **state)
{
    struct xlcp_guardian g;
    struct timespec t0, t1;

    (void)state;
    set_domain(UUID, "running");
    start(&g);
    xlcp_guardian_say(&g, "S 7 %s\n", UUID);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    die(&g);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 2);
    assert_null(strstr(log_text(), "would resume"));
}

/* A pipe of ours without close-on-exec, its write end at a high descriptor (above 1023
 * when the limit allows it): the guardian must not hold it, or its reader would never see
 * the end of file when we die. */
static void test_closes_inherited_fds(void **state)
{
    struct xlcp_guardian g;
    struct pollfd p;
    struct rlimit rl;
    char c;
    int fds[2], high;

    (void)state;
    assert_int_equal(pipe(fds), 0);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2048 && rl.rlim_max >= 2048) {
        rl.rlim_cur = 2048;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    high = dup2(fds[1], 1500);
    if (high == 1500) {
        close(fds[1]);
        fds[1] = high;
    }
    set_domain(UUID, "running");
    start(&g);
    close(fds[1]);
    p = (struct pollfd){.fd = fds[0], .events = POLLIN};
    assert_int_equal(poll(&p, 1, 2000), 1);
    assert_int_equal(read(fds[0], &c, 1), 0);
    close(fds[0]);
    xlcp_guardian_stop(&g);
}

/* The guardian killed: telling it something fails, and raises no SIGPIPE here. */
static void test_gone_no_sigpipe(void **state)
{
    struct xlcp_guardian g;
    struct sigaction old, dfl = {.sa_handler = SIG_DFL};
    int rc = 0;

    (void)state;
    sigaction(SIGPIPE, &dfl, &old);
    start(&g);
    kill(g.pid, SIGKILL);
    for (int i = 0; i < 100 && rc == 0; i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
        rc = xlcp_guardian_say(&g, "H 253 1\n");
    }
    assert_int_equal(rc, -1);
    xlcp_guardian_stop(&g);
    sigaction(SIGPIPE, &old, NULL);
}

static void test_missing_helper(void **state)
{
    struct xlcp_guardian g = {0, -1};
    struct xlcp_err err;
    char *saved = strdup(getenv("XLCP_GUARDIAN"));

    (void)state;
    setenv("XLCP_GUARDIAN", "/nonexistent/xlcp-guardian", 1);
    xlcp_err_clear(&err);
    assert_int_not_equal(xlcp_guardian_start(&g, &err), 0);
    assert_non_null(strstr(err.msg, "/nonexistent/xlcp-guardian"));
    assert_int_equal(g.pid, 0);
    setenv("XLCP_GUARDIAN", saved, 1);
    free(saved);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_undo_on_eof),          cmocka_unit_test(test_nothing_after_done),
        cmocka_unit_test(test_other_uuid_untouched), cmocka_unit_test(test_late_stop),
        cmocka_unit_test(test_not_asked_no_wait),    cmocka_unit_test(test_closes_inherited_fds),
        cmocka_unit_test(test_gone_no_sigpipe),      cmocka_unit_test(test_missing_helper),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
