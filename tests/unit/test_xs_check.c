/*
 * test_xs_check.c - the xenstore subtree validator (libxl-plugin/src/xs_check.c): a valid
 * subtree passes; each kind of violation is reported with its node's path; garbage,
 * oversized and binary values never crash it. Also checks that the committed generated
 * files (guest-kernel/xlcp_xs_proto.h, xenstore-schema/PROTOCOL.md) match what the
 * stylesheets make of protocol.xml now (run from the top of the tree, as make does).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlcp_xs_proto.h"
#include "xs_check.h"

#define ID "20261124T191342.123Z-1a2b3c"
#define ID2 "20261124T191343.000Z-00ffee"
#define RW (XLCP_XS_PERM_READ | XLCP_XS_PERM_WRITE)
#define MAXE 24

struct tree {
    struct xlcp_xs_entry e[MAXE];
    size_t n;
};

static void set(struct tree *t, const char *path, const char *value)
{
    for (size_t i = 0; i < t->n; i++) {
        if (!strcmp(t->e[i].path, path)) {
            t->e[i].value = value;
            t->e[i].len = value ? strlen(value) : 0;
            return;
        }
    }
    assert_true(t->n < MAXE);
    t->e[t->n].path = path;
    t->e[t->n].value = value;
    t->e[t->n].len = value ? strlen(value) : 0;
    t->e[t->n].guest_perms = RW;
    t->n++;
}

static void del(struct tree *t, const char *path)
{
    for (size_t i = 0; i < t->n; i++) {
        if (!strcmp(t->e[i].path, path)) {
            t->e[i] = t->e[--t->n];
            return;
        }
    }
}

/* A subtree as the module publishes it after a light checkpoint. */
static void valid_tree(struct tree *t)
{
    memset(t, 0, sizeof(*t));
    set(t, XLCP_XS_PATH_FEATURE, "1");
    set(t, XLCP_XS_PATH_PROTOCOL, "3");
    set(t, XLCP_XS_PATH_CAPABILITIES, "quiesce light-suspend quiesce-at-suspend");
    set(t, XLCP_XS_PATH_STATE, "idle");
    set(t, XLCP_XS_PATH_SUSPEND_PATH, "light");
    set(t, XLCP_XS_PATH_LAST_ID, ID);
    set(t, XLCP_XS_PATH_LAST_SUSPEND, "light " ID " 1");
    set(t, XLCP_XS_PATH_DOWNTIME_NS, "1234567");
    set(t, XLCP_XS_PATH_EVENT_CHANNEL, "17");
}

static int check(const struct tree *t, struct xlcp_xs_report *r)
{
    int rc = xlcp_xs_check(t->e, t->n, r);
    assert_true(rc >= 0);
    assert_int_equal((unsigned int)rc, r->count);
    for (unsigned int i = 0; i < r->stored; i++) {
        /* every message is printable and NUL-terminated */
        for (const char *p = r->v[i].msg; *p; p++)
            assert_true(*p >= 0x20 && *p < 0x7f);
        for (const char *p = r->v[i].path; *p; p++)
            assert_true(*p >= 0x20 && *p < 0x7f);
    }
    return rc;
}

/* asserts that the report has a violation of `kind` at `path` */
static void expect(const struct xlcp_xs_report *r, enum xlcp_xs_violation_kind kind,
                   const char *path)
{
    for (unsigned int i = 0; i < r->stored; i++)
        if (r->v[i].kind == kind && !strcmp(r->v[i].path, path))
            return;
    for (unsigned int i = 0; i < r->stored; i++)
        print_message("  got %s %s: %s\n", xlcp_xs_violation_name(r->v[i].kind), r->v[i].path,
                      r->v[i].msg);
    fail_msg("expected %s at %s", xlcp_xs_violation_name(kind), path);
}

static void test_valid(void **state)
{
    struct tree t;
    struct xlcp_xs_report r;
    (void)state;

    valid_tree(&t);
    assert_int_equal(check(&t, &r), 0);
    assert_int_equal(r.feature, 1);

    /* stock path: no event channel (libxl's empty node), a fallback reason */
    set(&t, XLCP_XS_PATH_SUSPEND_PATH, "stock");
    set(&t, XLCP_XS_PATH_CAPABILITIES, "quiesce");
    set(&t, XLCP_XS_PATH_EVENT_CHANNEL, "");
    set(&t, XLCP_XS_PATH_FALLBACK_REASON, "symbol xs_suspend not found");
    assert_int_equal(check(&t, &r), 0);

    /* every consistent (request, state) pair */
    static const char *const ok[][2] = {
        {NULL, "thawed " ID},
        {NULL, "error - bad request"},
        {"quiesce " ID, "idle"},
        {"quiesce " ID, "frozen " ID},
        {"quiesce " ID, "thawed " ID2},
        {"quiesce " ID, "error " ID " freeze_super failed: -16"},
        {"thaw " ID, "frozen " ID2},
        {"thaw " ID, "thawed " ID},
        {"thaw " ID, "armed " ID2},
        {"quiesce-at-suspend " ID, "idle"},
        {"quiesce-at-suspend " ID, "armed " ID},
        {"quiesce-at-suspend " ID, "thawed " ID},
        {"quiesce-at-suspend " ID, "expired " ID},
        {"quiesce-at-suspend " ID, "error " ID " frozen for " ID2 " by a quiesce request"},
        {NULL, "expired " ID},
        {"quiesce " ID "x", "error - request does not match its grammar"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        valid_tree(&t);
        if (ok[i][0])
            set(&t, XLCP_XS_PATH_REQUEST, ok[i][0]);
        set(&t, XLCP_XS_PATH_STATE, ok[i][1]);
        int n = check(&t, &r);
        /* the invalid request itself is reported, nothing else */
        assert_int_equal(n, i == sizeof(ok) / sizeof(ok[0]) - 1 ? 1 : 0);
    }

    /* no module: nothing published, nothing to report */
    memset(&t, 0, sizeof(t));
    set(&t, XLCP_XS_PATH_EVENT_CHANNEL, "");
    assert_int_equal(check(&t, &r), 0);
    assert_int_equal(r.feature, 0);
}

/* The nodes of protocol 2: results of a quiesce at suspend and dropped triggers. */
static void test_quiesce_at_suspend_nodes(void **state)
{
    static const char *const good[][2] = {
        {XLCP_XS_PATH_QUIESCE_RESULT, "held " ID},
        {XLCP_XS_PATH_QUIESCE_RESULT,
         "not-held " ID " freeze failed or did not finish in time: -110"},
        {XLCP_XS_PATH_DROPPED_TRIGGERS, "0"},
        {XLCP_XS_PATH_DROPPED_TRIGGERS, "4294967295"},
        {XLCP_XS_PATH_DROP_REASON, "notification older than trigger_max_age_ms"},
    };
    struct tree t;
    struct xlcp_xs_report r;
    char big[XLCP_XS_MAX_QUIESCE_RESULT + 2];
    (void)state;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        valid_tree(&t);
        set(&t, good[i][0], good[i][1]);
        assert_int_equal(check(&t, &r), 0);
    }
    /* all of them at once, after a checkpoint that quiesced at its stop */
    valid_tree(&t);
    set(&t, XLCP_XS_PATH_REQUEST, "quiesce-at-suspend " ID);
    set(&t, XLCP_XS_PATH_STATE, "thawed " ID);
    set(&t, XLCP_XS_PATH_QUIESCE_RESULT, "held " ID);
    set(&t, XLCP_XS_PATH_DROPPED_TRIGGERS, "3");
    set(&t, XLCP_XS_PATH_DROP_REASON, "xenstore watch registrations did not pause in time");
    assert_int_equal(check(&t, &r), 0);
    /* a not-held result longer than its maximum */
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "not-held " ID " ", strlen("not-held " ID " "));
    valid_tree(&t);
    set(&t, XLCP_XS_PATH_QUIESCE_RESULT, big);
    assert_int_equal(check(&t, &r), 1);
    expect(&r, XLCP_XS_TOO_LONG, XLCP_XS_PATH_QUIESCE_RESULT);
}

/* The nodes of protocol 3: our announcement and the guest's last-suspend report; a
 * protocol 2 guest is still one we use. */
static void test_announce_nodes(void **state)
{
    static const char *const good[][2] = {
        {XLCP_XS_PATH_SUSPEND_ANNOUNCE, ID " 60000"},
        {XLCP_XS_PATH_SUSPEND_ANNOUNCE, ID " 1"},
        {XLCP_XS_PATH_SUSPEND_ANNOUNCE, ID " 99999"},
        {XLCP_XS_PATH_LAST_SUSPEND, "light " ID " 1"},
        {XLCP_XS_PATH_LAST_SUSPEND, "stock - 2"},
        {XLCP_XS_PATH_LAST_SUSPEND, "stock " ID " 4294967295"},
        {XLCP_XS_PATH_PROTOCOL, "2"},
        {XLCP_XS_PATH_PROTOCOL, "3"},
    };
    static const char *const bad[][2] = {
        {XLCP_XS_PATH_SUSPEND_ANNOUNCE, ID},          {XLCP_XS_PATH_SUSPEND_ANNOUNCE, ID " 0"},
        {XLCP_XS_PATH_SUSPEND_ANNOUNCE, ID " 06000"}, {XLCP_XS_PATH_SUSPEND_ANNOUNCE, "- 60000"},
        {XLCP_XS_PATH_LAST_SUSPEND, "light - 1"},     {XLCP_XS_PATH_LAST_SUSPEND, "stock " ID},
        {XLCP_XS_PATH_LAST_SUSPEND, "fast " ID " 1"},
    };
    struct tree t;
    struct xlcp_xs_report r;
    (void)state;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        valid_tree(&t);
        set(&t, good[i][0], good[i][1]);
        if (check(&t, &r) != 0)
            fail_msg("%s = '%s' refused: %s", good[i][0], good[i][1], r.v[0].msg);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        valid_tree(&t);
        set(&t, bad[i][0], bad[i][1]);
        if (check(&t, &r) != 1)
            fail_msg("%s = '%s' accepted", bad[i][0], bad[i][1]);
        expect(&r, XLCP_XS_BAD_VALUE, bad[i][0]);
    }
    /* a guest newer than this tool */
    valid_tree(&t);
    set(&t, XLCP_XS_PATH_PROTOCOL, "4");
    assert_int_equal(check(&t, &r), 1);
    expect(&r, XLCP_XS_BAD_VERSION, XLCP_XS_PATH_PROTOCOL);
    /* 99999 ms fits its maximum, 6 digits do not */
    valid_tree(&t);
    set(&t, XLCP_XS_PATH_SUSPEND_ANNOUNCE, ID " 100000");
    assert_true(check(&t, &r) >= 1);
}

static void test_unknown_node(void **state)
{
    struct tree t;
    struct xlcp_xs_report r;
    (void)state;

    valid_tree(&t);
    set(&t, XLCP_XS_DIR "/bogus", "x");
    set(&t, XLCP_XS_DIR "/state/deeper", "x");
    set(&t, "data/xlcp-test/counter", "5"); /* outside the protocol: ignored */
    assert_int_equal(check(&t, &r), 2);
    expect(&r, XLCP_XS_UNKNOWN_NODE, XLCP_XS_DIR "/bogus");
    expect(&r, XLCP_XS_UNKNOWN_NODE, XLCP_XS_DIR "/state/deeper");
}

static void test_bad_grammar(void **state)
{
    static const char *const bad[][2] = {
        {XLCP_XS_PATH_FEATURE, "0"},
        {XLCP_XS_PATH_PROTOCOL, "01"},
        {XLCP_XS_PATH_CAPABILITIES, "quiesce teleport"},
        {XLCP_XS_PATH_STATE, "frozen"},
        {XLCP_XS_PATH_STATE, "frozen 20261124T191342.123Z-1A2B3C"},
        {XLCP_XS_PATH_STATE, "error " ID " "},
        {XLCP_XS_PATH_LAST_ID, "yesterday"},
        {XLCP_XS_PATH_DOWNTIME_NS, "-5"},
        {XLCP_XS_PATH_SUSPEND_PATH, "fast"},
        {XLCP_XS_PATH_EVENT_CHANNEL, "0"},
        {XLCP_XS_PATH_REQUEST, "quiesce"},
        {XLCP_XS_PATH_REQUEST, "reboot " ID},
        {XLCP_XS_PATH_REQUEST, "quiesce-at-suspend"},
        {XLCP_XS_PATH_REQUEST, "quiesce-at-suspend  " ID},
        {XLCP_XS_PATH_STATE, "armed"},
        {XLCP_XS_PATH_STATE, "expired -"},
        {XLCP_XS_PATH_CAPABILITIES, "quiesce-at-suspend2"},
        {XLCP_XS_PATH_QUIESCE_RESULT, "held"},
        {XLCP_XS_PATH_QUIESCE_RESULT, "held " ID " extra"},
        {XLCP_XS_PATH_QUIESCE_RESULT, "not-held " ID},
        {XLCP_XS_PATH_QUIESCE_RESULT, "not-held " ID "  leading space"},
        {XLCP_XS_PATH_QUIESCE_RESULT, "maybe " ID},
        {XLCP_XS_PATH_DROPPED_TRIGGERS, "-1"},
        {XLCP_XS_PATH_DROPPED_TRIGGERS, ""},
        {XLCP_XS_PATH_DROP_REASON, " stale"},
        {XLCP_XS_PATH_DROP_REASON, ""},
    };
    struct tree t;
    struct xlcp_xs_report r;
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        valid_tree(&t);
        set(&t, bad[i][0], bad[i][1]);
        assert_true(check(&t, &r) >= 1);
        expect(&r, XLCP_XS_BAD_VALUE, bad[i][0]);
    }
}

static void test_too_long(void **state)
{
    char big[4096];
    struct tree t;
    struct xlcp_xs_report r;
    (void)state;

    memset(big, '7', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    valid_tree(&t);
    set(&t, XLCP_XS_PATH_DOWNTIME_NS, big);
    big[XLCP_XS_MAX_FALLBACK_REASON + 1] = '\0';
    set(&t, XLCP_XS_PATH_FALLBACK_REASON, big);
    assert_int_equal(check(&t, &r), 2);
    expect(&r, XLCP_XS_TOO_LONG, XLCP_XS_PATH_DOWNTIME_NS);
    expect(&r, XLCP_XS_TOO_LONG, XLCP_XS_PATH_FALLBACK_REASON);
}

static void test_missing(void **state)
{
    struct tree t;
    struct xlcp_xs_report r;
    (void)state;

    valid_tree(&t);
    del(&t, XLCP_XS_PATH_STATE);
    del(&t, XLCP_XS_PATH_EVENT_CHANNEL);
    assert_int_equal(check(&t, &r), 2);
    expect(&r, XLCP_XS_MISSING, XLCP_XS_PATH_STATE);
    expect(&r, XLCP_XS_MISSING, XLCP_XS_PATH_EVENT_CHANNEL);

    /* light path advertised but libxl's node left empty */
    valid_tree(&t);
    set(&t, XLCP_XS_PATH_EVENT_CHANNEL, "");
    assert_int_equal(check(&t, &r), 1);
    expect(&r, XLCP_XS_MISSING, XLCP_XS_PATH_EVENT_CHANNEL);

    /* leftovers without the feature flag */
    memset(&t, 0, sizeof(t));
    set(&t, XLCP_XS_PATH_STATE, "idle");
    assert_true(check(&t, &r) >= 1);
    expect(&r, XLCP_XS_MISSING, XLCP_XS_PATH_FEATURE);
}

static void test_bad_state(void **state)
{
    static const char *const bad[][2] = {
        {NULL, "frozen " ID},
        {"quiesce " ID, "frozen " ID2},
        {"quiesce " ID2, "frozen " ID},
        {NULL, "armed " ID},
        {"quiesce-at-suspend " ID, "armed " ID2},
        {"quiesce-at-suspend " ID, "frozen " ID},
    };
    struct tree t;
    struct xlcp_xs_report r;
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        valid_tree(&t);
        if (bad[i][0])
            set(&t, XLCP_XS_PATH_REQUEST, bad[i][0]);
        set(&t, XLCP_XS_PATH_STATE, bad[i][1]);
        assert_true(check(&t, &r) >= 1);
        expect(&r, XLCP_XS_BAD_STATE, XLCP_XS_PATH_STATE);
    }
}

static void test_perms_version_caps(void **state)
{
    struct tree t;
    struct xlcp_xs_report r;
    (void)state;

    valid_tree(&t);
    set(&t, XLCP_XS_PATH_REQUEST, "thaw " ID);
    t.e[t.n - 1].guest_perms = 0;                  /* dom0 made it unreadable for the guest */
    set(&t, XLCP_XS_PATH_PROTOCOL, "1");           /* older than any we use (oldest: 2) */
    set(&t, XLCP_XS_PATH_CAPABILITIES, "quiesce"); /* but suspend-path light */
    assert_int_equal(check(&t, &r), 3);
    expect(&r, XLCP_XS_BAD_PERMS, XLCP_XS_PATH_REQUEST);
    expect(&r, XLCP_XS_BAD_VERSION, XLCP_XS_PATH_PROTOCOL);
    expect(&r, XLCP_XS_BAD_VALUE, XLCP_XS_PATH_CAPABILITIES);

    /* unknown permissions are not held against the guest */
    valid_tree(&t);
    t.e[0].guest_perms = XLCP_XS_PERM_UNKNOWN;
    assert_int_equal(check(&t, &r), 0);
}

static void test_garbage(void **state)
{
    static const char bin[] = {'1', '\0', 'x'};
    static const char bin2[] = {'q', 'u', 'i', 'e', 's', 'c', 'e', '\0', 'x'};
    static const char high[] = {'i', 'd', 'l', 'e', (char)0xff};
    char huge[70000];
    char path[300];
    struct tree t;
    struct xlcp_xs_report r;
    unsigned int seed = 12345;
    (void)state;

    valid_tree(&t);
    t.e[0].value = bin; /* feature with an embedded NUL */
    t.e[0].len = sizeof(bin);
    t.e[2].value = bin2; /* capabilities with an embedded NUL */
    t.e[2].len = sizeof(bin2);
    set(&t, XLCP_XS_PATH_STATE, "x");
    t.e[3].value = high;
    t.e[3].len = sizeof(high);
    memset(huge, 'A', sizeof(huge));
    set(&t, XLCP_XS_PATH_REQUEST, "x");
    t.e[t.n - 1].value = huge; /* not NUL-terminated, 70000 bytes */
    t.e[t.n - 1].len = sizeof(huge);
    memset(path, '\x01', sizeof(path) - 1); /* a hostile path outside the protocol */
    path[sizeof(path) - 1] = '\0';
    set(&t, path, "x");
    snprintf(path, sizeof(path), "%s/\x1b[31m\xff", XLCP_XS_DIR);
    set(&t, path, "x");
    set(&t, XLCP_XS_DIR "/dir", NULL); /* a directory */
    set(&t, XLCP_XS_PATH_LAST_ID, NULL);
    assert_true(check(&t, &r) >= 5);
    expect(&r, XLCP_XS_TOO_LONG, XLCP_XS_PATH_FEATURE);
    expect(&r, XLCP_XS_BAD_VALUE, XLCP_XS_PATH_CAPABILITIES);
    expect(&r, XLCP_XS_BAD_VALUE, XLCP_XS_PATH_STATE);
    expect(&r, XLCP_XS_TOO_LONG, XLCP_XS_PATH_REQUEST);
    expect(&r, XLCP_XS_BAD_VALUE, XLCP_XS_PATH_LAST_ID);

    /* random bytes in every node, many times; many entries overflow the report */
    static char vals[MAXE][64];
    for (int round = 0; round < 2000; round++) {
        valid_tree(&t);
        for (size_t i = 0; i < t.n; i++) {
            size_t len = rand_r(&seed) % sizeof(vals[i]);
            for (size_t j = 0; j < len; j++)
                vals[i][j] = (char)(rand_r(&seed) % (round % 2 ? 256 : 96) + (round % 2 ? 0 : 32));
            t.e[i].value = vals[i];
            t.e[i].len = len;
        }
        assert_true(xlcp_xs_check(t.e, t.n, &r) >= 0);
    }
    struct xlcp_xs_entry many[200];
    for (size_t i = 0; i < 200; i++) {
        many[i].path = XLCP_XS_DIR "/x";
        many[i].value = "1";
        many[i].len = 1;
        many[i].guest_perms = RW;
    }
    assert_int_equal(xlcp_xs_check(many, 200, &r), 201); /* + missing feature */
    assert_int_equal(r.stored, XLCP_XS_MAX_VIOLATIONS);
    assert_int_equal(xlcp_xs_check(NULL, 0, &r), 0);
}

/* Runs a command, returns its stdout (malloc'd). */
static char *run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    char *buf = NULL;
    size_t len = 0, cap = 0, k;

    assert_non_null(p);
    do {
        if (len + 4096 > cap) {
            cap = cap * 2 + 8192;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        k = fread(buf + len, 1, cap - len - 1, p);
        len += k;
    } while (k > 0);
    assert_int_equal(pclose(p), 0);
    buf[len] = '\0';
    return buf;
}

static void test_generated_files_fresh(void **state)
{
    (void)state;
    if (system("command -v xsltproc >/dev/null 2>&1") != 0)
        skip();
    static const char *const pairs[][2] = {
        {"xsltproc xenstore-schema/gen-header.xsl xenstore-schema/protocol.xml",
         "cat guest-kernel/xlcp_xs_proto.h"},
        {"xsltproc xenstore-schema/gen-doc.xsl xenstore-schema/protocol.xml",
         "cat xenstore-schema/PROTOCOL.md"},
    };
    for (size_t i = 0; i < 2; i++) {
        char *want = run(pairs[i][0]);
        char *have = run(pairs[i][1]);
        if (strcmp(want, have))
            fail_msg("stale generated file: '%s' differs from '%s' (regenerate with make "
                     "xs-regen)",
                     pairs[i][1], pairs[i][0]);
        free(want);
        free(have);
    }
    /* the embedded copy is the file */
    char *xml = run("cat xenstore-schema/protocol.xml");
    assert_string_equal(xml, xlcp_xs_protocol_xml);
    free(xml);
    assert_int_equal(xlcp_xs_protocol_version(), XLCP_XS_PROTOCOL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_unknown_node),
        cmocka_unit_test(test_bad_grammar),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_bad_state),
        cmocka_unit_test(test_perms_version_caps),
        cmocka_unit_test(test_announce_nodes),
        cmocka_unit_test(test_quiesce_at_suspend_nodes),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_generated_files_fresh),
    };
    return cmocka_run_group_tests_name("xs_check", tests, NULL, NULL);
}
