/*
 * fakes.h - in-process fakes of the engine's ports for unit tests.
 *
 * A fake_world holds one fake hypervisor (a table of domains), one fake LVM (a table of
 * volumes and snapshots), a fake clock, and the real file-system catalog in a fresh
 * temporary directory. Faults are injected per operation: fake_fail(w, "hv.save",
 * XLCP_EHV) makes the next call of that operation fail (once, or `times` times).
 */
#ifndef XLCP_FAKES_H
#define XLCP_FAKES_H

#include "ports.h"

#define FAKE_MAX_DOMS 8
#define FAKE_MAX_VOLS 32
#define FAKE_MAX_FAULTS 16

struct fake_dom {
    struct xlcp_domain d;
    int used;
    int suspended;             /* inside a save, before resume */
    int frozen;                /* its freeze is armed for the stop (quiesce-at-suspend) */
    int freeze_fails;          /* its freeze does not hold across the stop (reports not-held) */
    int no_quiesce_at_suspend; /* its module cannot freeze inside the stop */
    int has_module;            /* guest advertises the checkpoint module */
    int stock_handover;        /* its module hands our suspend to the stock path */
    char saved_id[64];         /* the checkpoint id the last hv.save announced */
    int never_suspends;        /* save times out */
    int vanishes;              /* the domain goes away during the save (crash, reboot) */
    int crashes;     /* the guest crashes during the save (kept, as on_crash=preserve); 2: it
                      * powers off instead */
    int no_logdirty; /* the hypervisor cannot track dirty pages: no live copy */
    unsigned int stop_delay_ms; /* the save stops the guest only after this long (real time) */
    uint64_t precopy_ns;        /* a live copy's rounds before the stop (fake clock) */
    int resumes;                /* how many times resume was called */
    int thaws;
    uint64_t memory_pattern; /* content written into images: changes image digests */
    int image_fault;         /* its image's first PAGE_DATA says 2000 pages (verify finds it) */
    /* The guest's protocol nodes as xs-check reads them (fake_xs_set). */
    struct {
        char path[64];
        char value[256];
        unsigned perms;
    } xs[8];
    int nxs;
};

struct fake_vol {
    struct xlcp_volume v;
    int used;
    int is_snapshot;
    char tag[XLCP_ID_MAX + 8];
    char origin_lv[XLCP_NAME_MAX];
    int phase; /* snapshots: 1 armed, 2 captured, 3 complete */
    int held;  /* origins: writes held back by a capture */
    /* snapshots: disk.check reports it invalidated (overflowed) */
    int invalid;
};

struct fake_fault {
    char op[32];
    int code;
    int times;
    int skip; /* calls that succeed before the fault fires */
};

struct fake_world {
    struct xlcp_ports ports;
    char root[256];    /* catalog root (temporary directory) */
    char run_dir[300]; /* $XLCP_RUN_DIR: <root>/.run (set by fake_world_new) */
    struct fake_dom doms[FAKE_MAX_DOMS];
    struct fake_vol vols[FAKE_MAX_VOLS];
    uint64_t vg_free_bytes;
    uint64_t catalog_free_bytes; /* 0: what the real file system says */
    uint64_t now_ns;
    int64_t wall_ns;
    uint32_t next_domid;
    struct fake_fault faults[FAKE_MAX_FAULTS];
    struct {
        char lv[XLCP_NAME_MAX];
        char tag[XLCP_ID_MAX + 8];
    } armed[FAKE_MAX_VOLS]; /* tags of armed thick snapshots, made at complete */
    int narmed;
    int no_suspend_callback;       /* hv.save does not report the suspend instant */
    unsigned int arm_delay_ms;     /* disk.arm takes this long (real time) */
    unsigned int restore_delay_ms; /* hv.restore takes this long (real time) */
    char restored_config[1024];    /* the configuration the last hv.restore was given */
    /* hv.restore reads only the image's first bytes and succeeds (as if the toolstack
     * stopped reading early); else it reads and parses the whole image, failing (and
     * making no domain) if it does not parse */
    int restore_reads_header_only;
    /* Call log: "hv.save web1", "disk.capture vg0/web1-disk", ... newline separated;
     * with log_times, each line starts "T<CLOCK_MONOTONIC ns> " (fake hosts). */
    char log[8192];
    int log_times;
    int keep_root; /* fake_world_free leaves the catalog (a fake host's, fake_host.c) */
};

/* Creates a world with an empty catalog in a new temporary directory. */
struct fake_world *fake_world_new(void);
/* Removes the temporary catalog (unless keep_root) and frees. */
void fake_world_free(struct fake_world *w);
/* Points w's ports at the fakes and opens the catalog at w->root (fake_world_new, and a
 * fake host loaded from its file). */
void fake_world_attach(struct fake_world *w);
/* A fake host kept between processes (an agent run again and again): the world of
 * <dir>/world, its catalog <dir>/catalog; new (no domain) if there is none yet. Its log
 * and faults start empty. fake_host_save writes it back (0, or -1). */
struct fake_world *fake_host_open(const char *dir);
int fake_host_save(const struct fake_world *w, const char *dir);
/* Position in the log of the first (or last) line starting with prefix; -1 if none
 * (fake_log.c). */
long fake_log_pos(const char *log, const char *prefix, int last);
/* The agent of fake host `host` (fake_agent.c): `xl-checkpoint group-agent` on stdin and
 * stdout; returns its exit status. */
int fake_agent_main(const char *host);

/* Adds a running PV domain named `name` with `ndisks` thick LV disks
 * /dev/vg0/<name>-disk<i> of 1 GiB each. Returns it. */
struct fake_dom *fake_add_domain(struct fake_world *w, const char *name, int ndisks);
/* Adds a disk to a domain: LVM if lvm != 0 (thin if thin != 0), else a file path. */
void fake_add_disk(struct fake_world *w, struct fake_dom *d, const char *vdev, int lvm, int thin);

/* The next `times` calls of `op` fail with `code`. Ops: hv.lookup hv.get_config hv.version
 * hv.guest_features hv.quiesce hv.quiesce_result hv.thaw hv.save hv.wait_suspended hv.resume
 * hv.restore hv.destroy disk.inspect disk.check_space disk.arm disk.capture disk.complete
 * disk.release disk.remove disk.exists disk.clone disk.check
 * store.lock store.begin store.create_file store.drop_file store.commit store.intent_write
 * store.intent_mark store.leftovers store.leftover_remove (store faults fire before the real
 * catalog is touched). */
void fake_fail(struct fake_world *w, const char *op, int code, int times);
/* Like fake_fail, but the first `skip` calls succeed. */
void fake_fail_after(struct fake_world *w, const char *op, int code, int skip);

/* Number of origin volumes whose writes are held back (a capture not completed). */
int fake_held_count(const struct fake_world *w);
/* Number of snapshot volumes currently in the fake VG. */
int fake_snapshot_count(const struct fake_world *w);
/* Number of entries (of any kind, temporary included) under the catalog root's domain dirs. */
int fake_catalog_entries(const struct fake_world *w);
struct fake_dom *fake_find_domain(struct fake_world *w, const char *name);
/* Adds a xenstore node (relative path, value, XLCP_XS_PERM_* of the guest) to a domain. */
void fake_xs_set(struct fake_dom *d, const char *path, const char *value, unsigned perms);

#endif
