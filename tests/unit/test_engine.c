/*
 * test_engine.c - the checkpoint state machine against fake ports: the happy path, a
 * fault injected at each of the eight steps (guest resumed and thawed, snapshots gone,
 * catalog unchanged, error naming the step), bad input, leftovers of a killed run,
 * verify, delete and restore.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine_fx.h"

static int setup(void **state)
{
    return fx_setup(state, 2);
}

/* The invariants every failed checkpoint must leave behind. */
static void assert_clean_failure(struct fx *f, int rc, int code, xlcp_step step)
{
    char want[128];

    assert_int_equal(rc, code);
    assert_int_equal(f->err.code, code);
    assert_int_equal(f->err.step, step);
    snprintf(want, sizeof(want), "domain 'web1' step %s:", xlcp_step_name(step));
    if (strstr(f->err.msg, want) == NULL)
        fail_msg("error '%s' does not start with '%s'", f->err.msg, want);
    assert_int_equal(f->dom->suspended, 0);
    assert_int_equal(f->dom->frozen, 0);
    assert_int_equal(fake_snapshot_count(f->w), 0);
    assert_int_equal(fake_held_count(f->w), 0);
    assert_int_equal(fake_catalog_entries(f->w), 0);
}

static void test_create_ok(void **state)
{
    struct fx *f = *state;
    char dir[XLCP_PATH_MAX];
    struct xlcp_manifest back;

    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(f->dom->suspended, 0);
    assert_int_equal(f->dom->resumes, 1);
    assert_int_equal(fake_snapshot_count(f->w), 2);
    assert_int_equal(fake_catalog_entries(f->w), 1);
    assert_string_equal(f->m.dom_name, "web1");
    assert_int_equal(f->m.ndisks, 2);
    assert_string_equal(f->m.disks[0].snap.vdev, "xvda");
    assert_non_null(strstr(f->m.disks[1].snap.lv, ".xlcp."));
    assert_int_equal(f->m.memory_bytes, 16 * 4096);
    assert_int_equal(strlen(f->m.memory_digest), 32);
    assert_string_equal(f->m.memory_digest_alg, "xxh3-128");
    assert_string_equal(f->m.consistency, "crash-consistent");
    assert_string_equal(f->m.suspend_path, "stock");
    /* The fake clock moves only where a fake action takes time: the copy goes on for 6 ms
     * after the guest stopped (the worst case), the resume takes 2 ms; nothing else does.
     * So the downtime is exactly from the stop to the end of the resume, and each step's
     * time is its own. */
    assert_int_equal(f->m.downtime_ns, 8000000);
    assert_int_equal(f->m.step_ns[XLCP_STEP_LIVE_COPY], 6000000);
    assert_int_equal(f->m.step_ns[XLCP_STEP_RESUME], 2000000);
    assert_int_equal(f->m.step_ns[XLCP_STEP_PREPARE], 0);
    assert_int_equal(f->m.step_ns[XLCP_STEP_DISK_SNAPSHOT], 0);
    assert_int_equal(f->m.step_ns[XLCP_STEP_COMMIT], 0);
    assert_int_equal(f->m.total_ns, 8000000);

    /* What was committed reads back, validated, with the same content. */
    xlcp_err_clear(&f->err);
    assert_int_equal(xlcp_engine_load(&f->w->ports, f->m.id, &back, dir, sizeof(dir), &f->err), 0);
    assert_string_equal(back.memory_digest, f->m.memory_digest);
    assert_string_equal(back.memory_digest_alg, f->m.memory_digest_alg);
    assert_string_equal(back.dom_uuid, f->dom->d.uuid);
    assert_string_equal(back.config_json, f->m.config_json);
    xlcp_manifest_free(&back);
    assert_int_equal(xlcp_engine_verify(&f->w->ports, f->m.id, 0, &f->err), 0);
}

/* The image digests give their standard values; an unknown name is a corrupt manifest. */
static void test_digests(void **state)
{
    char path[] = "/tmp/xlcp-digest-XXXXXX";
    char hex[XLCP_DIGEST_HEX + 1];
    struct xlcp_err err;
    uint64_t n = 0;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "abc", 3), 3);
    xlcp_err_clear(&err);
    assert_int_equal(xlcp_digest_fd(fd, "sha256", hex, &n, &err), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(n, 3);
    assert_int_equal(xlcp_digest_fd(fd, "sha512-256", hex, &n, &err), 0);
    assert_string_equal(hex, "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23");
    assert_int_equal(xlcp_digest_fd(fd, "xxh3-128", hex, &n, &err), 0);
    assert_string_equal(hex, "06b05ab6733a618578af5f94892f3950");
    assert_int_equal(xlcp_digest_fd(fd, "md5", hex, &n, &err), XLCP_ECORRUPT);
    assert_int_equal(ftruncate(fd, 0), 0);
    /* XXH3-128 of nothing, as xxHash's own test vectors give it */
    assert_int_equal(xlcp_digest_fd(fd, XLCP_DIGEST_DEFAULT, hex, &n, &err), 0);
    assert_string_equal(hex, "99aa06d3014798d86001c324468d497f");
    assert_int_equal(n, 0);
    close(fd);
    unlink(path);
}

static void test_fault_prepare(void **state)
{
    struct fx *f = *state;
    fake_fail(f->w, "disk.check_space", XLCP_ENOSPC, 1);
    int rc = create(f, "web1");
    assert_clean_failure(f, rc, XLCP_ENOSPC, XLCP_STEP_PREPARE);
    assert_null(strstr(f->w->log, "hv.save")); /* refused before the guest was touched */
}

static void test_fault_quiesce(void **state)
{
    struct fx *f = *state;
    f->dom->has_module = 1;
    f->opts.quiesce = 1;
    fake_fail(f->w, "hv.quiesce", XLCP_EHV, 1);
    int rc = create(f, "web1");
    assert_clean_failure(f, rc, XLCP_EHV, XLCP_STEP_QUIESCE);
    assert_int_equal(f->dom->thaws, 1); /* a request may be pending: thawed anyway */
}

static void test_fault_live_copy(void **state)
{
    struct fx *f = *state;
    fake_fail(f->w, "hv.save", XLCP_EHV, 1);
    int rc = create(f, "web1");
    assert_clean_failure(f, rc, XLCP_EHV, XLCP_STEP_LIVE_COPY);
    assert_int_equal(f->dom->resumes, 1);
}

static void test_fault_suspend(void **state)
{
    struct fx *f = *state;
    fake_fail(f->w, "hv.wait_suspended", XLCP_ETIMEDOUT, 1);
    int rc = create(f, "web1");
    assert_clean_failure(f, rc, XLCP_ETIMEDOUT, XLCP_STEP_SUSPEND);
    assert_int_equal(f->dom->resumes, 1);
}

static void test_fault_disk_snapshot(void **state)
{
    struct fx *f = *state;
    /* The first disk is captured (its writes held), the second fails: the first is
     * released and nothing is left. */
    fake_fail_after(f->w, "disk.capture", XLCP_EDISK, 1);
    int rc = create(f, "web1");
    assert_clean_failure(f, rc, XLCP_EDISK, XLCP_STEP_DISK_SNAPSHOT);
    assert_non_null(strstr(f->err.msg, "disk xvdb"));
    assert_non_null(strstr(f->w->log, "disk.release vg0/web1-xvda"));
    assert_int_equal(f->dom->resumes, 1);
}

/* Arming (beside the memory copy) fails: the guest is resumed, the volume armed so far
 * removed, the error names the disk-snapshot step and the disk. */
static void test_fault_arm(void **state)
{
    struct fx *f = *state;
    struct fake_dom *d = fake_add_domain(f->w, "mixed", 0);

    fake_add_disk(f->w, d, "xvda", 1, 1);
    fake_add_disk(f->w, d, "xvdb", 1, 0);
    fake_add_disk(f->w, d, "xvdc", 1, 1);
    fake_fail_after(f->w, "disk.arm", XLCP_EDISK, 2);
    assert_int_equal(create(f, "mixed"), XLCP_EDISK);
    assert_int_equal(f->err.step, XLCP_STEP_DISK_SNAPSHOT);
    assert_non_null(strstr(f->err.msg, "disk xvdc"));
    assert_null(strstr(f->w->log, "disk.capture"));
    assert_int_equal(d->suspended, 0);
    assert_int_equal(fake_snapshot_count(f->w), 0); /* the armed thin volume is gone */
    assert_int_equal(fake_held_count(f->w), 0);
    assert_int_equal(fake_catalog_entries(f->w), 0);
}

/* Finishing a snapshot fails after the guest runs again: it keeps running, the held
 * writes flow, the catalog is unchanged, the error names the disk-snapshot step. */
static void test_fault_complete(void **state)
{
    struct fx *f = *state;

    fake_fail_after(f->w, "disk.complete", XLCP_EDISK, 1);
    int rc = create(f, "web1");
    assert_clean_failure(f, rc, XLCP_EDISK, XLCP_STEP_DISK_SNAPSHOT);
    assert_non_null(strstr(f->err.msg, "disk xvdb"));
    assert_int_equal(f->dom->resumes, 1);
    assert_non_null(strstr(f->w->log, "disk.release vg0/web1-xvdb"));
}

/* Thin volumes too hold the origin's writes from the capture to the completion; a
 * completion that fails lets them flow and leaves no volume behind. */
static void test_fault_complete_thin(void **state)
{
    struct fx *f = *state;
    struct fake_dom *d = fake_add_domain(f->w, "thin1", 0);

    fake_add_disk(f->w, d, "xvda", 1, 1);
    fake_add_disk(f->w, d, "xvdb", 1, 1);
    fake_fail_after(f->w, "disk.complete", XLCP_EDISK, 1);
    assert_int_equal(create(f, "thin1"), XLCP_EDISK);
    assert_int_equal(f->err.step, XLCP_STEP_DISK_SNAPSHOT);
    assert_non_null(strstr(f->err.msg, "disk xvdb"));
    assert_int_equal(d->suspended, 0);
    assert_int_equal(d->resumes, 1);
    assert_int_equal(fake_held_count(f->w), 0);
    assert_int_equal(fake_snapshot_count(f->w), 0);
    assert_int_equal(fake_catalog_entries(f->w), 0);
}

/* A thin disk is finished before a thick one: its writes are not held behind a whole
 * `lvcreate -s` of the thick one. */
static void test_complete_thin_first(void **state)
{
    struct fx *f = *state;
    struct fake_dom *d = fake_add_domain(f->w, "mixed1", 0);
    const char *thick, *thin;

    fake_add_disk(f->w, d, "xvda", 1, 0);
    fake_add_disk(f->w, d, "xvdb", 1, 1);
    assert_int_equal(create(f, "mixed1"), 0);
    thick = strstr(f->w->log, "disk.complete vg0/mixed1-xvda");
    thin = strstr(f->w->log, "disk.complete vg0/mixed1-xvdb");
    if (!thick || !thin)
        fail_msg("log: %s", f->w->log);
    assert_true(thin < thick);
}

/* Snapshots are finished only once the guest runs again: nothing competes with the copy
 * of its memory while it is stopped. */
static void test_complete_after_resume(void **state)
{
    struct fx *f = *state;
    const char *resume, *complete, *capture;

    assert_int_equal(create(f, "web1"), 0);
    capture = strstr(f->w->log, "disk.capture ");
    resume = strstr(f->w->log, "hv.resume web1");
    complete = strstr(f->w->log, "disk.complete ");
    assert_non_null(capture);
    assert_non_null(resume);
    assert_non_null(complete);
    assert_true(capture < resume);
    assert_true(resume < complete);
}

static void test_fault_resume(void **state)
{
    struct fx *f = *state;
    fake_fail(f->w, "hv.resume", XLCP_EHV, 1);
    int rc = create(f, "web1");
    assert_clean_failure(f, rc, XLCP_EHV, XLCP_STEP_RESUME);
    assert_int_equal(f->dom->resumes, 1);            /* the second attempt, while unwinding */
    assert_null(strstr(f->w->log, "disk.complete")); /* captured, released, never finished */
    assert_non_null(strstr(f->w->log, "disk.release"));
}

/* recover --resume of web1: resumes it on the proof of a record. */
static void recover_resume(struct fx *f)
{
    char *report = NULL;
    unsigned int count = 0;

    assert_int_equal(
        xlcp_engine_recover(&f->w->ports, "web1", XLCP_RECOVER_RESUME, &report, &count, &f->err),
        0);
    assert_non_null(strstr(report, "resumed domain web1"));
    free(report);
    assert_int_equal(f->dom->suspended, 0);
}

static void test_fault_resume_twice_is_reported(void **state)
{
    struct fx *f = *state;
    fake_fail(f->w, "hv.resume", XLCP_EHV, 2);
    int rc = create(f, "web1");
    assert_int_equal(rc, XLCP_EHV);
    /* Nothing can resume it: the message must say so loudly, and no checkpoint. Its
     * intent record stays (the one catalog entry): it proves whose suspend it is. */
    assert_non_null(strstr(f->err.msg, "GUEST LEFT SUSPENDED"));
    assert_non_null(strstr(f->err.msg, "intent record keeps"));
    assert_int_equal(fake_catalog_entries(f->w), 1);
    assert_int_equal(fake_snapshot_count(f->w), 0);
    /* ... so the next run does not guess, and `recover --resume` resumes it. */
    assert_int_equal(f->dom->suspended, 1);
    assert_int_equal(create(f, "web1"), XLCP_ESTATE);
    assert_non_null(strstr(f->err.msg, "recover --resume"));
    assert_int_equal(f->dom->suspended, 1);
    recover_resume(f);
    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(fake_catalog_entries(f->w), 1); /* the checkpoint, no record */
}

static void test_fault_thaw(void **state)
{
    struct fx *f = *state;
    f->dom->has_module = 1;
    f->opts.quiesce = 1;
    /* the guest reports nothing after its resume, and does not answer our thaw either */
    fake_fail(f->w, "hv.quiesce_result", XLCP_ETIMEDOUT, 1);
    fake_fail(f->w, "hv.thaw", XLCP_ETIMEDOUT, 1);
    int rc = create(f, "web1");
    assert_clean_failure(f, rc, XLCP_ETIMEDOUT, XLCP_STEP_THAW);
    assert_int_equal(f->dom->thaws, 1);
}

static void test_fault_commit(void **state)
{
    struct fx *f = *state;
    fake_fail(f->w, "store.commit", XLCP_EIO, 1);
    int rc = create(f, "web1");
    assert_clean_failure(f, rc, XLCP_EIO, XLCP_STEP_COMMIT);
}

static void test_quiesce_ok_and_timeout(void **state)
{
    struct fx *f = *state;
    f->dom->has_module = 1;
    f->opts.quiesce = 1;
    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(f->m.quiesced, 1);
    assert_string_equal(f->m.consistency, "quiesced");
    assert_string_equal(f->m.suspend_path, "light");
    assert_int_equal(f->dom->frozen, 0);
    assert_int_equal(f->dom->thaws, 1);                /* by the guest, after its resume */
    assert_null(strstr(f->w->log, "hv.thaw"));         /* nothing left for us to thaw */
    assert_int_equal(f->m.guest_downtime_ns, 1234567); /* what the guest module measured */
    /* armed before the copy, the outcome read after the resume */
    const char *arm = strstr(f->w->log, "hv.quiesce web1");
    const char *save = strstr(f->w->log, "hv.save");
    const char *resume = strstr(f->w->log, "hv.resume");
    const char *outcome = strstr(f->w->log, "hv.quiesce_result");
    assert_true(arm && save && resume && outcome);
    assert_true(arm < save && resume < outcome);
    /* the save announces this checkpoint to the guest module */
    assert_string_equal(f->dom->saved_id, f->m.id);

    fake_fail(f->w, "hv.quiesce", XLCP_ETIMEDOUT, 1);
    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(f->m.quiesced, 0);
    assert_string_equal(f->m.consistency, "crash-consistent");
    assert_non_null(strstr(f->m.quiesce_note, "did not answer"));
    assert_int_equal(f->dom->thaws, 2); /* disarmed by us */

    /* a guest that answers neither the freeze nor the thaw: the thaw is still sent, and
     * its silence does not fail the checkpoint */
    fake_fail(f->w, "hv.quiesce", XLCP_ETIMEDOUT, 1);
    fake_fail(f->w, "hv.thaw", XLCP_ETIMEDOUT, 1);
    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(f->m.quiesced, 0);
    assert_non_null(strstr(f->w->log, "FAULT hv.thaw"));
}

/* A guest module that did not take our suspend on its light path (our announcement came
 * too late for it, say) handed it to the kernel's stock path: the checkpoint is good, and
 * its manifest says the stock path; the guest measured no light downtime. */
static void test_module_hands_to_stock(void **state)
{
    struct fx *f = *state;
    struct xlcp_manifest back;
    char dir[XLCP_PATH_MAX];

    f->dom->has_module = 1;
    f->dom->stock_handover = 1;
    assert_int_equal(create(f, "web1"), 0);
    assert_string_equal(f->dom->saved_id, f->m.id);
    assert_string_equal(f->m.suspend_path, "stock");
    assert_int_equal(f->m.guest_downtime_ns, 0);
    assert_int_equal(f->dom->resumes, 1);
    xlcp_err_clear(&f->err);
    assert_int_equal(xlcp_engine_load(&f->w->ports, f->m.id, &back, dir, sizeof(dir), &f->err), 0);
    assert_string_equal(back.suspend_path, "stock");
    xlcp_manifest_free(&back);
}

static void test_quiesce_without_module(void **state)
{
    struct fx *f = *state;
    f->opts.quiesce = 1;
    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(f->m.quiesced, 0);
    assert_int_equal(f->m.guest_downtime_ns, 0); /* stock path: the guest reports nothing */
    assert_non_null(strstr(f->m.quiesce_note, "no checkpoint module"));
    assert_null(strstr(f->w->log, "hv.quiesce"));
}

/* Issue 13 item 9: quiesced only when the guest says its freeze held across the stop. */
static void test_quiesce_not_held(void **state)
{
    struct fx *f = *state;
    f->dom->has_module = 1;
    f->dom->freeze_fails = 1;
    f->opts.quiesce = 1;
    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(f->m.quiesced, 0);
    assert_string_equal(f->m.consistency, "crash-consistent");
    assert_non_null(strstr(f->m.quiesce_note, "did not hold across the stop"));
    assert_non_null(strstr(f->m.quiesce_note, "did not finish within"));
    assert_int_equal(f->dom->frozen, 0);

    /* the guest never reports: not quiesced, and we disarm/thaw it ourselves */
    f->dom->freeze_fails = 0;
    fake_fail(f->w, "hv.quiesce_result", XLCP_ETIMEDOUT, 1);
    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(f->m.quiesced, 0);
    assert_string_equal(f->m.consistency, "crash-consistent");
    assert_non_null(strstr(f->m.quiesce_note, "did not report"));
    assert_non_null(strstr(f->w->log, "hv.thaw web1"));
    assert_int_equal(f->dom->frozen, 0);
}

/* A guest whose module cannot freeze inside its stop is not asked to freeze at all. */
static void test_quiesce_needs_at_suspend(void **state)
{
    struct fx *f = *state;
    f->dom->has_module = 1;
    f->opts.quiesce = 1;
    f->dom->no_quiesce_at_suspend = 1;
    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(f->m.quiesced, 0);
    assert_non_null(strstr(f->m.quiesce_note, "cannot freeze inside its stop"));
    assert_null(strstr(f->w->log, "hv.quiesce"));
}

static void test_bad_domain_and_state(void **state)
{
    struct fx *f = *state;
    assert_int_equal(create(f, "nosuch"), XLCP_ENOTFOUND);
    assert_int_equal(f->err.step, XLCP_STEP_PREPARE);
    assert_non_null(strstr(f->err.msg, "nosuch"));
    assert_int_equal(create(f, ""), XLCP_EINVAL);

    f->dom->d.state = XLCP_DOM_PAUSED;
    assert_int_equal(create(f, "web1"), XLCP_ESTATE);
    assert_non_null(strstr(f->err.msg, "paused"));
    f->dom->d.state = XLCP_DOM_SHUTDOWN;
    assert_int_equal(create(f, "web1"), XLCP_ESTATE);
    f->dom->d.state = XLCP_DOM_CRASHED;
    assert_int_equal(create(f, "web1"), XLCP_ESTATE);
    assert_non_null(strstr(f->err.msg, "crashed"));
    assert_int_equal(fake_catalog_entries(f->w), 0);

    f->opts.version = 99;
    f->dom->d.state = XLCP_DOM_RUNNING;
    assert_int_equal(create(f, "web1"), XLCP_EINVAL);
}

static void test_guest_never_suspends(void **state)
{
    struct fx *f = *state;
    f->dom->never_suspends = 1;
    int rc = create(f, "web1");
    assert_clean_failure(f, rc, XLCP_ETIMEDOUT, XLCP_STEP_LIVE_COPY);
    assert_int_equal(f->dom->resumes, 0); /* it never stopped: nothing to resume */
}

/* A guest that crashed during the copy: the run fails in live-copy with code, its error
 * says what became of the guest (want), nothing is resumed, nothing is left behind. */
static void assert_lost_guest(struct fx *f, int code, const char *want)
{
    int rc = create(f, "web1");
    assert_int_equal(rc, code);
    assert_int_equal(f->err.step, XLCP_STEP_LIVE_COPY);
    if (strstr(f->err.msg, want) == NULL)
        fail_msg("error '%s' does not say '%s'", f->err.msg, want);
    assert_null(strstr(f->err.msg, "SUSPENDED"));
    assert_null(strstr(f->w->log, "hv.resume"));
    assert_int_equal(fake_snapshot_count(f->w), 0);
    assert_int_equal(fake_held_count(f->w), 0);
    assert_int_equal(fake_catalog_entries(f->w), 0);
}

/* ... and was rebooted by xl as a new domain: the old one is gone */
static void test_guest_vanishes(void **state)
{
    struct fx *f = *state;
    f->dom->vanishes = 1;
    assert_lost_guest(f, XLCP_EHV, "went away");
}

/* ... and was kept (on_crash=preserve): it crashed, rather than did not answer */
static void test_guest_crashes(void **state)
{
    struct fx *f = *state;
    f->dom->crashes = 1;
    assert_lost_guest(f, XLCP_ETIMEDOUT, "crashed meanwhile");
}

/* ... or powered itself off meanwhile: said as such, not as a crash */
static void test_guest_shuts_down(void **state)
{
    struct fx *f = *state;
    f->dom->crashes = 2;
    assert_lost_guest(f, XLCP_ETIMEDOUT, "shut down meanwhile");
}

/* A catalog without room for the memory image is refused before the guest is touched,
 * with the catalog, the need and the free space in the message. */
static void test_catalog_full(void **state)
{
    struct fx *f = *state;

    f->w->catalog_free_bytes = 100ull << 20; /* web1 has 256 MiB of memory */
    int rc = create(f, "web1");
    assert_clean_failure(f, rc, XLCP_ENOSPC, XLCP_STEP_PREPARE);
    assert_non_null(strstr(f->err.msg, "not enough room in the catalog"));
    assert_non_null(strstr(f->err.msg, f->w->root));
    assert_non_null(strstr(f->err.msg, "100 MiB free"));
    assert_null(strstr(f->w->log, "hv.save"));
    assert_null(strstr(f->w->log, "disk.arm"));
    assert_int_equal(f->dom->resumes, 0);

    f->w->catalog_free_bytes = 400ull << 20;
    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(fake_catalog_entries(f->w), 1);
}

static void test_non_lvm_disk(void **state)
{
    struct fx *f = *state;
    fake_add_disk(f->w, f->dom, "xvdc", 0, 0);
    int rc = create(f, "web1");
    assert_int_equal(rc, XLCP_EUNSUPPORTED);
    assert_non_null(strstr(f->err.msg, "disk xvdc"));
    assert_non_null(strstr(f->err.msg, "not an LVM"));
    assert_null(strstr(f->w->log, "hv.save"));

    f->opts.skip_non_lvm = 1;
    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(f->m.ndisks, 3);
    assert_int_equal(f->m.disks[2].skipped, 1);
    assert_int_equal(fake_snapshot_count(f->w), 2);
}

static void test_thin_disk(void **state)
{
    struct fx *f = *state;
    fake_add_disk(f->w, f->dom, "xvdc", 1, 1);
    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(f->m.disks[2].snap.thin, 1);
    assert_int_equal(fake_snapshot_count(f->w), 3);
}

static void test_lock_busy(void **state)
{
    struct fx *f = *state;
    struct xlcp_store_lock *lock = NULL;
    const struct xlcp_store *st = &f->w->ports.store;

    assert_int_equal(st->ops->lock(st->self, f->dom->d.uuid, &lock, &f->err), 0);
    int rc = create(f, "web1");
    assert_int_equal(rc, XLCP_EBUSY);
    assert_int_equal(f->err.step, XLCP_STEP_PREPARE);
    assert_null(strstr(f->w->log, "hv.save"));
    st->ops->unlock(st->self, lock);
    assert_int_equal(create(f, "web1"), 0);
}

static void test_leftovers_of_killed_run(void **state)
{
    struct fx *f = *state;
    struct xlcp_snapshot snap;
    struct xlcp_volume vol;
    char path[600];
    FILE *fp;

    /* A run killed during the live copy: a temporary directory with a partial image (the
     * catalog's layout: <root>/<uuid>/.tmp-<id>/), and a tagged snapshot. */
    snprintf(path, sizeof(path), "%s/%s", f->w->root, f->dom->d.uuid);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/%s/.tmp-20260101T000000.000Z-dead00", f->w->root,
             f->dom->d.uuid);
    assert_int_equal(mkdir(path, 0700), 0);
    strcat(path, "/memory.xl");
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("partial", fp);
    fclose(fp);
    assert_int_equal(f->w->ports.disk.ops->inspect(f->w, "/dev/vg0/web1-xvda", &vol, &f->err), 0);
    assert_int_equal(f->w->ports.disk.ops->arm(f->w, &vol, "web1-xvda.xlcp.dead", NULL,
                                               "xlcp-20260101T000000.000Z-dead00", &snap, &f->err),
                     0);
    f->dom->suspended = 1; /* that run captured its disk inside the pause */
    assert_int_equal(f->w->ports.disk.ops->capture(f->w, &snap, &f->err), 0);
    f->dom->suspended = 0;
    assert_int_equal(f->w->ports.disk.ops->complete(f->w, &snap, &f->err), 0);
    assert_int_equal(fake_catalog_entries(f->w), 1);

    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(fake_catalog_entries(f->w), 1); /* only the new checkpoint */
    assert_int_equal(fake_snapshot_count(f->w), 2);
    assert_non_null(strstr(f->w->log, "disk.remove_tagged xlcp-20260101T000000.000Z-dead00"));
}

/* A pid that no process has any more. */
static long dead_pid(void)
{
    pid_t pid = fork();

    if (pid == 0)
        _exit(0);
    assert_true(pid > 0);
    waitpid(pid, NULL, 0);
    return (long)pid;
}

/* What a run killed inside the pause leaves: its intent record (one volume) and its
 * suspend mark. */
static void leave_killed_run(struct fx *f, const char *id, enum xlcp_mark mark, uint32_t domid)
{
    const struct xlcp_store *st = &f->w->ports.store;
    struct xlcp_intent rec;

    memset(&rec, 0, sizeof(rec));
    snprintf(rec.id, sizeof(rec.id), "%s", id);
    snprintf(rec.dom_uuid, sizeof(rec.dom_uuid), "%s", f->dom->d.uuid);
    rec.domid = f->dom->d.domid;
    rec.pid = dead_pid();
    rec.nvols = 1;
    snprintf(rec.vols[0].vg, sizeof(rec.vols[0].vg), "vg0");
    snprintf(rec.vols[0].lv, sizeof(rec.vols[0].lv), "web1-disk0.xlcp.%s", id);
    assert_int_equal(st->ops->intent_write(st->self, &rec, &f->err), 0);
    if (mark != XLCP_MARK_NONE)
        assert_int_equal(st->ops->intent_mark(st->self, rec.dom_uuid, id, mark, domid, 1, &f->err),
                         0);
}

/* A run killed while the guest was suspended: its record and mark say so, but its
 * guardian may have resumed the guest since (unrecorded) and `xl save` suspended it again
 * (seen on nested Xen, t43): the next run refuses, recover without --resume leaves the
 * guest alone and keeps the record, recover --resume resumes it. */
static void test_killed_while_suspended(void **state)
{
    struct fx *f = *state;
    char *report = NULL;
    unsigned int count = 0;

    leave_killed_run(f, "20260101T000000.000Z-dead01", XLCP_MARK_SUSPENDED, f->dom->d.domid);
    f->dom->suspended = 1;

    assert_int_equal(create(f, "web1"), XLCP_ESTATE);
    assert_non_null(strstr(f->err.msg, "may have been resumed since"));
    assert_int_equal(f->dom->resumes, 0);
    assert_int_equal(xlcp_engine_recover(&f->w->ports, NULL, 0, &report, &count, &f->err), 0);
    assert_non_null(strstr(report, "recover --resume"));
    free(report);
    assert_int_equal(f->dom->suspended, 1);
    assert_int_equal(fake_catalog_entries(f->w), 1); /* the record: the proof */
    recover_resume(f);
    assert_int_equal(f->dom->resumes, 1);
    assert_int_equal(fake_catalog_entries(f->w), 0);

    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(fake_catalog_entries(f->w), 1);
}

/* Leftovers of ours that do not prove the suspend are no licence to resume: a temporary
 * directory alone (what the old cleanup inferred from), a record whose run never saw the
 * guest suspended, or whose mark names another domid (the domain was re-created). */
static void test_leftovers_do_not_resume_others_suspend(void **state)
{
    struct fx *f = *state;
    char path[600];

    snprintf(path, sizeof(path), "%s/%s", f->w->root, f->dom->d.uuid);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/%s/.tmp-20260101T000000.000Z-dead01", f->w->root,
             f->dom->d.uuid);
    assert_int_equal(mkdir(path, 0700), 0);
    leave_killed_run(f, "20260101T000000.000Z-dead02", XLCP_MARK_NONE, 0);
    leave_killed_run(f, "20260101T000000.000Z-dead03", XLCP_MARK_SUSPENDED, f->dom->d.domid + 7);
    f->dom->suspended = 1; /* by `xl save`, say */

    assert_int_equal(create(f, "web1"), XLCP_ESTATE);
    assert_non_null(strstr(f->err.msg, "suspended by another tool"));
    assert_int_equal(f->dom->resumes, 0);
    assert_int_equal(f->dom->suspended, 1);
    /* the leftovers themselves are gone: nothing they named is left */
    assert_int_equal(fake_catalog_entries(f->w), 0);
}

/* A guest suspended by someone else (no leftovers of ours) is not ours to resume. */
static void test_suspended_by_someone_else(void **state)
{
    struct fx *f = *state;

    f->dom->suspended = 1;
    assert_int_equal(create(f, "web1"), XLCP_ESTATE);
    assert_int_equal(f->err.step, XLCP_STEP_PREPARE);
    assert_non_null(strstr(f->err.msg, "suspended"));
    assert_int_equal(f->dom->resumes, 0);
    assert_int_equal(f->dom->suspended, 1);
    assert_int_equal(fake_catalog_entries(f->w), 0);
}

/* A hypervisor without dirty-page tracking: the copy is done paused and the manifest says
 * so (and why), instead of failing. */
static void test_live_unavailable_is_recorded(void **state)
{
    struct fx *f = *state;
    struct xlcp_manifest m;
    char dir[XLCP_PATH_MAX];

    f->dom->no_logdirty = 1;
    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(f->m.live, 0);
    assert_non_null(strstr(f->m.live_note, "log-dirty"));
    assert_int_equal(xlcp_engine_load(&f->w->ports, f->m.id, &m, dir, sizeof(dir), &f->err), 0);
    assert_int_equal(m.live, 0);
    assert_string_equal(m.live_note, f->m.live_note);
    xlcp_manifest_free(&m);
    f->dom->no_logdirty = 0;
    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(f->m.live, 1);
    assert_string_equal(f->m.live_note, "");
}

/* The snapshots are taken from the hv's suspend callback, during the copy; an hv that
 * cannot tell the instant gets them after the copy. Same checkpoint either way. */
static void test_snapshot_during_copy_or_after(void **state)
{
    struct fx *f = *state;
    const char *save, *cap, *res;

    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(fake_snapshot_count(f->w), 2);
    assert_int_equal(fake_held_count(f->w), 0);
    save = strstr(f->w->log, "hv.save");
    cap = strstr(f->w->log, "disk.capture");
    res = strstr(f->w->log, "hv.resume");
    assert_non_null(save);
    assert_non_null(cap);
    assert_true(save < cap && cap < res); /* captured inside the pause */
    assert_true(f->m.step_start_ns[XLCP_STEP_DISK_SNAPSHOT] < f->m.step_start_ns[XLCP_STEP_RESUME]);
    /* inside the copy: the snapshot step started before the live-copy step ended */
    assert_true(f->m.step_start_ns[XLCP_STEP_DISK_SNAPSHOT] <
                f->m.step_start_ns[XLCP_STEP_LIVE_COPY] + f->m.step_ns[XLCP_STEP_LIVE_COPY]);
    /* thick volumes: the writes were held while the snapshot was finished, and it says so */
    assert_true(f->m.disks[0].snap.held_ns > 0);

    f->w->no_suspend_callback = 1;
    f->w->log[0] = '\0';
    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(fake_snapshot_count(f->w), 4);
    assert_true(f->m.step_start_ns[XLCP_STEP_DISK_SNAPSHOT] >=
                f->m.step_start_ns[XLCP_STEP_LIVE_COPY] + f->m.step_ns[XLCP_STEP_LIVE_COPY]);
    fake_fail(f->w, "disk.capture", XLCP_EDISK, 1);
    assert_int_equal(create(f, "web1"), XLCP_EDISK);
    assert_int_equal(f->err.step, XLCP_STEP_DISK_SNAPSHOT);
    assert_int_equal(fake_snapshot_count(f->w), 4);
    assert_int_equal(fake_held_count(f->w), 0);
    assert_int_equal(f->dom->suspended, 0);
}

static void flip_byte(const char *path, off_t at)
{
    int fd = open(path, O_RDWR);
    unsigned char c;
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x01;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);
}

static void test_verify_detects_damage(void **state)
{
    struct fx *f = *state;
    char dir[XLCP_PATH_MAX], path[XLCP_PATH_MAX + 32];
    struct xlcp_manifest back;

    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(xlcp_engine_load(&f->w->ports, f->m.id, &back, dir, sizeof(dir), &f->err), 0);
    xlcp_manifest_free(&back);
    snprintf(path, sizeof(path), "%s/memory.xl", dir);

    flip_byte(path, 5000);
    assert_int_equal(xlcp_engine_verify(&f->w->ports, f->m.id, 0, &f->err), XLCP_ECORRUPT);
    assert_non_null(strstr(f->err.msg, "digest"));
    flip_byte(path, 5000);
    assert_int_equal(xlcp_engine_verify(&f->w->ports, f->m.id, 0, &f->err), 0);

    assert_int_equal(truncate(path, 1000), 0);
    assert_int_equal(xlcp_engine_verify(&f->w->ports, f->m.id, 0, &f->err), XLCP_ECORRUPT);
    assert_non_null(strstr(f->err.msg, "truncated"));
}

static void test_verify_missing_snapshot(void **state)
{
    struct fx *f = *state;
    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(f->w->ports.disk.ops->remove(f->w, &f->m.disks[1].snap, &f->err), 0);
    assert_int_equal(xlcp_engine_verify(&f->w->ports, f->m.id, 0, &f->err), XLCP_ECORRUPT);
    assert_non_null(strstr(f->err.msg, "missing"));
    assert_int_equal(xlcp_engine_verify(&f->w->ports, f->m.id, XLCP_VERIFY_NO_DISKS, &f->err), 0);
}

static void test_delete(void **state)
{
    struct fx *f = *state;
    char id[XLCP_ID_MAX];

    assert_int_equal(create(f, "web1"), 0);
    snprintf(id, sizeof(id), "%s", f->m.id);
    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(fake_snapshot_count(f->w), 4);
    assert_int_equal(xlcp_engine_delete(&f->w->ports, id, &f->err), 0);
    assert_int_equal(fake_snapshot_count(f->w), 2);
    assert_int_equal(fake_catalog_entries(f->w), 1);
    assert_int_equal(xlcp_engine_delete(&f->w->ports, id, &f->err), XLCP_ENOTFOUND);
    assert_int_equal(xlcp_engine_verify(&f->w->ports, f->m.id, 0, &f->err), 0);
}

static void test_restore(void **state)
{
    struct fx *f = *state;
    xlcp_restore_options ro = XLCP_RESTORE_OPTIONS_INIT;
    uint32_t domid = 0;
    struct fake_dom *r;

    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(xlcp_engine_restore(&f->w->ports, f->m.id, &ro, &domid, &f->err), 0);
    r = NULL;
    for (int i = 0; i < FAKE_MAX_DOMS; i++)
        if (f->w->doms[i].used && f->w->doms[i].d.domid == domid)
            r = &f->w->doms[i];
    assert_non_null(r);
    assert_non_null(strstr(r->d.name, "web1-"));
    assert_int_equal(r->d.ndisks, 2);
    assert_non_null(strstr(r->d.disks[0].target, "web1-xvda.restored."));
    /* The snapshots stay: the checkpoint can be restored again (under another name). */
    assert_int_equal(fake_snapshot_count(f->w), 2);
    ro.new_name = "web1-again";
    assert_int_equal(xlcp_engine_restore(&f->w->ports, f->m.id, &ro, &domid, &f->err), 0);
    r = fake_find_domain(f->w, "web1-again");
    assert_non_null(r);
    /* new volumes, not the first restore's */
    assert_non_null(strstr(r->d.disks[0].target, ".2"));
    assert_int_equal(fake_snapshot_count(f->w), 2);

    /* --replace refuses while the original runs, unless forced. */
    xlcp_restore_options rep = XLCP_RESTORE_OPTIONS_INIT;
    rep.replace = 1;
    assert_int_equal(xlcp_engine_restore(&f->w->ports, f->m.id, &rep, &domid, &f->err),
                     XLCP_ESTATE);
    assert_non_null(strstr(f->err.msg, "--force"));
    assert_non_null(fake_find_domain(f->w, "web1"));
}

static void test_restore_failure_removes_clones(void **state)
{
    struct fx *f = *state;
    xlcp_restore_options ro = XLCP_RESTORE_OPTIONS_INIT;
    uint32_t domid = 0;
    int vols_before = 0, vols_after = 0;

    assert_int_equal(create(f, "web1"), 0);
    for (int i = 0; i < FAKE_MAX_VOLS; i++)
        vols_before += f->w->vols[i].used;
    fake_fail(f->w, "hv.restore", XLCP_EHV, 1);
    assert_int_equal(xlcp_engine_restore(&f->w->ports, f->m.id, &ro, &domid, &f->err), XLCP_EHV);
    for (int i = 0; i < FAKE_MAX_VOLS; i++)
        vols_after += f->w->vols[i].used;
    assert_int_equal(vols_after, vols_before);
}

/* --replace --force: the original goes only once the checkpoint runs under a temporary
 * name; if the restore fails, the original is untouched; if the rename after the original
 * is gone fails, the restored domain is kept (it is all there is). */
static void test_restore_replace_is_safe(void **state)
{
    struct fx *f = *state;
    xlcp_restore_options rep = XLCP_RESTORE_OPTIONS_INIT;
    uint32_t domid = 0, orig_id = f->dom->d.domid;
    struct fake_dom *r;
    const char *rest, *dest;

    assert_int_equal(create(f, "web1"), 0);
    rep.replace = 1;
    rep.force = 1;

    fake_fail(f->w, "hv.restore", XLCP_EHV, 1);
    assert_int_equal(xlcp_engine_restore(&f->w->ports, f->m.id, &rep, &domid, &f->err), XLCP_EHV);
    r = fake_find_domain(f->w, "web1");
    assert_non_null(r);
    assert_int_equal(r->d.domid, orig_id); /* the original, untouched */
    assert_null(strstr(f->w->log, "hv.destroy"));

    f->w->log[0] = '\0';
    assert_int_equal(xlcp_engine_restore(&f->w->ports, f->m.id, &rep, &domid, &f->err), 0);
    rest = strstr(f->w->log, "hv.restore web1--restoring");
    dest = strstr(f->w->log, "hv.destroy web1");
    assert_non_null(rest);
    assert_non_null(dest);
    assert_true(rest < dest); /* restored before the original went */
    r = fake_find_domain(f->w, "web1");
    assert_non_null(r);
    assert_int_equal(r->d.domid, domid);
    assert_true(domid != orig_id);
    assert_int_equal(r->d.state, XLCP_DOM_RUNNING);
    assert_null(fake_find_domain(f->w, "web1--restoring"));

    /* the rename fails after the (new) original is gone: the restored domain stays */
    fake_fail(f->w, "hv.rename", XLCP_EHV, 1);
    assert_int_equal(xlcp_engine_restore(&f->w->ports, f->m.id, &rep, &domid, &f->err), XLCP_EHV);
    assert_non_null(strstr(f->err.msg, "left as it is"));
    assert_non_null(fake_find_domain(f->w, "web1--restoring"));
}

static void test_ids_sort_by_time(void **state)
{
    struct fx *f = *state;
    char a[XLCP_ID_MAX], b[XLCP_ID_MAX];

    xlcp_engine_new_id(&f->w->ports.clock, a);
    f->w->now_ns += 1500000000ull;
    xlcp_engine_new_id(&f->w->ports.clock, b);
    assert_true(strcmp(a, b) < 0);
    assert_int_equal(strlen(a), strlen("20261124T191342.123Z-1a2b3c"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_prepare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_quiesce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_live_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_suspend, setup, teardown),
        cmocka_unit_test(test_digests),
        cmocka_unit_test_setup_teardown(test_fault_disk_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_arm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_complete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complete_after_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complete_thin_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_complete_thin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_resume_twice_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_thaw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_vanishes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_crashes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_shuts_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quiesce_ok_and_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_module_hands_to_stock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quiesce_without_module, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quiesce_not_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quiesce_needs_at_suspend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_domain_and_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_never_suspends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_lvm_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catalog_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thin_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leftovers_of_killed_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_while_suspended, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leftovers_do_not_resume_others_suspend, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_during_copy_or_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_unavailable_is_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suspended_by_someone_else, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_detects_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_missing_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_failure_removes_clones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_replace_is_safe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ids_sort_by_time, setup, teardown),
    };
    return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
