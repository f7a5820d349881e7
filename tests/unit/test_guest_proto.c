/*
 * test_guest_proto.c - the toolstack's Xen-free side of the guest module's suspend protocol
 * (guest_proto.c): the protocol versions it uses, the announcement of its own suspend, the
 * libxl line it writes the announcement on, and the guest's last-suspend report, which is
 * hostile (any bytes, any length) and decides what the manifest says about the path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "guest_proto.h"
#include "xlcp_xs_proto.h"

#define ID "20261202T053000.123Z-0a1b2c"
#define ID2 "20261202T053001.000Z-ffffff"

static void test_protocol_versions(void **state)
{
    static const char *const bad[] = {"",   "0",  "1",  "4",     "02",     "3 ", " 3",
                                      "3x", "-3", "+3", "99999", "999999", "2\n"};
    unsigned int p = 0;
    char v[16];
    (void)state;

    for (unsigned int want = XLCP_XS_PROTOCOL_OLDEST; want <= XLCP_XS_PROTOCOL; want++) {
        snprintf(v, sizeof(v), "%u", want);
        p = 0;
        assert_int_equal(xlcp_guest_protocol(v, &p), 1);
        assert_int_equal(p, want);
    }
    assert_int_equal(XLCP_XS_PROTOCOL_OLDEST, 2);
    assert_int_equal(XLCP_XS_PROTOCOL, 3);
    assert_true(XLCP_PROTOCOL_ANNOUNCE <= XLCP_XS_PROTOCOL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = 77;
        assert_int_equal(xlcp_guest_protocol(bad[i], &p), 0);
        assert_int_equal(p, 77); /* untouched */
    }
    assert_int_equal(xlcp_guest_protocol(NULL, &p), 0);
}

static void test_announce_value(void **state)
{
    char buf[XLCP_XS_MAX_SUSPEND_ANNOUNCE + 1];
    char small[10];
    (void)state;

    assert_int_equal(xlcp_announce_value(buf, sizeof(buf), ID, XLCP_ANNOUNCE_MS), 0);
    assert_string_equal(buf, ID " 60000");
    assert_true(strlen(buf) <= XLCP_XS_MAX_SUSPEND_ANNOUNCE);
    assert_int_equal(xlcp_announce_value(buf, sizeof(buf), ID, 99999), 0);
    assert_int_equal(strlen(buf), XLCP_XS_MAX_SUSPEND_ANNOUNCE); /* the longest fits */
    /* nothing the guest would refuse */
    assert_int_equal(xlcp_announce_value(buf, sizeof(buf), ID, 0), -1);
    assert_int_equal(xlcp_announce_value(buf, sizeof(buf), ID, 100000), -1);
    assert_int_equal(xlcp_announce_value(buf, sizeof(buf), "20261202T053000.123Z-0A1B2C", 1), -1);
    assert_int_equal(xlcp_announce_value(buf, sizeof(buf), ID "0", 1), -1);
    assert_int_equal(xlcp_announce_value(buf, sizeof(buf), "", 1), -1);
    assert_int_equal(xlcp_announce_value(buf, sizeof(buf), NULL, 1), -1);
    assert_int_equal(xlcp_announce_value(small, sizeof(small), ID, 1), -1);
}

/* libxl 4.17's lines (tools/libs/light/libxl_dom_suspend.c) */
static void test_libxl_lines(void **state)
{
    (void)state;
    assert_true(xlcp_libxl_notifies_evtchn("issuing PV suspend request via event channel"));
    assert_true(
        xlcp_libxl_notifies_evtchn("Domain 5:issuing PVH/HVM suspend request via event channel"));
    assert_false(xlcp_libxl_notifies_evtchn("issuing PV suspend request via XenBus control node"));
    assert_false(xlcp_libxl_notifies_evtchn("Calling xc_domain_shutdown on HVM domain"));
    assert_false(xlcp_libxl_notifies_evtchn("xenevtchn_notify failed ret=-1"));
    assert_false(xlcp_libxl_notifies_evtchn(NULL));
}

static enum xlcp_last_suspend parse(const char *v, const char *id, unsigned long *n)
{
    return xlcp_last_suspend_parse(v, strlen(v), id, n);
}

static void test_last_suspend(void **state)
{
    static const char *const invalid[] = {
        "",
        "light",
        "light " ID,
        "light " ID " ",
        "light - 3", /* the light path always names its announcement */
        "light " ID " 0x1",
        "light " ID " -1",
        "light " ID " 12345678901", /* 11 digits */
        "light " ID "  1",
        " light " ID " 1",
        "Light " ID " 1",
        "stock  1",
        "stock 1",
        "stock -- 1",
        "stock 20261202T053000.123Z-0A1B2C 1",
        "stock 20261202T053000.123Z-0a1b2 1",
        "fast " ID " 1",
        "light " ID " 1\n",
    };
    unsigned long n = 0;
    char big[200];
    (void)state;

    assert_int_equal(parse("light " ID " 1", ID, &n), XLCP_LAST_LIGHT);
    assert_int_equal(n, 1);
    assert_int_equal(parse("light " ID " 4294967295", ID, &n), XLCP_LAST_LIGHT);
    assert_int_equal(n, 4294967295UL);
    assert_int_equal(parse("light " ID2 " 2", ID, &n), XLCP_LAST_OTHER);
    assert_int_equal(parse("light " ID " 2", NULL, NULL), XLCP_LAST_OTHER);
    assert_int_equal(parse("stock - 7", ID, &n), XLCP_LAST_STOCK);
    assert_int_equal(n, 7);
    assert_int_equal(parse("stock " ID " 8", ID, &n), XLCP_LAST_STOCK); /* announced, stale */
    assert_int_equal(parse("light " ID " 9999999999", ID, &n), XLCP_LAST_NONE); /* > 32 bits */
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        if (parse(invalid[i], ID, &n) != XLCP_LAST_NONE)
            fail_msg("'%s' accepted", invalid[i]);
    }
    /* embedded NUL, oversized, NULL */
    assert_int_equal(xlcp_last_suspend_parse("light " ID "\0 1", strlen("light " ID) + 3, ID, &n),
                     XLCP_LAST_NONE);
    memset(big, '1', sizeof(big));
    memcpy(big, "light " ID " ", strlen("light " ID " "));
    assert_int_equal(xlcp_last_suspend_parse(big, sizeof(big), ID, &n), XLCP_LAST_NONE);
    assert_int_equal(xlcp_last_suspend_parse(NULL, 5, ID, &n), XLCP_LAST_NONE);
    /* the longest valid value fits the protocol's maximum */
    assert_int_equal(strlen("light " ID " 4294967295"), XLCP_XS_MAX_LAST_SUSPEND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protocol_versions),
        cmocka_unit_test(test_announce_value),
        cmocka_unit_test(test_libxl_lines),
        cmocka_unit_test(test_last_suspend),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
