// SPDX-License-Identifier: GPL-2.0
/*
 * xlcp_main.c - the xl-checkpoint guest module for x86-64 Xen PV and PVH guests: loading,
 * kernel symbols, publishing in xenstore. The protocol is xenstore-schema/protocol.xml
 * (constants in xlcp_xs_proto.h); the parts are xlcp_request.c (the request node),
 * xlcp_quiesce.c (file system freezes), xlcp_suspend.c (the light suspend),
 * xlcp_stock.c (which suspend may take it; the stock path for the others).
 *
 * What the module offers:
 *  - data/checkpoint/{feature,protocol,capabilities,state,suspend-path} (feature last);
 *  - light suspend, for the toolstack's own checkpoints only: an unbound event channel
 *    for dom0, published (last of all) as device/suspend/event-channel, so libxl
 *    notifies it instead of writing control/shutdown. libxl then does so for EVERY save
 *    and migration of the guest, so a notification takes the light path only when the
 *    toolstack announced it (data/checkpoint/suspend-announce, fresh, see
 *    xlcp_stock.c); it runs the kernel's own PV suspend sequence under stop_machine,
 *    without the steps listed below. Every other notification (xl save, xl migrate,
 *    a stale or missing announcement) is handed to the kernel's stock path by writing
 *    "suspend" to control/shutdown; data/checkpoint/last-suspend says which path served
 *    each notification;
 *  - quiesce: "quiesce ID" freezes local block-backed file systems until "thaw ID" or
 *    quiesce_timeout_ms; "quiesce-at-suspend ID" arms a freeze held only across the
 *    next light suspend's stop (the arm expires after armed_timeout_ms), with its
 *    outcome in data/checkpoint/quiesce-result;
 *  - everything read from xenstore is hostile: bounded, strictly parsed, garbage is
 *    answered with state "error - <reason>" and triggers nothing.
 *
 * What the light path skips, compared with the stock path (drivers/xen/manage.c
 * do_suspend in Linux 6.1), and why each skip is safe when the suspend is cancelled
 * (SCHEDOP_shutdown(suspend) returns 1: the guest resumes in place, in the same domain,
 * with its event channels, grant mappings and xenstore connection as they were):
 *  1. freeze_processes() / freeze_kernel_threads() and thaw_processes(): tasks keep
 *     running until stop_machine stops every CPU; they share two things with the
 *     suspend: memory, which nobody touches while the CPUs are stopped and the domain
 *     is paused, and xenstore, which is quiesced first by xlcp_suspend.c's guard (no
 *     request, no transaction, no watch (de)registration in flight, new ones wait),
 *     exactly the state xs_suspend() leaves, so xs_suspend_cancel() undoes it as usual.
 *     Resumed in place, every task finds the same domain, so nothing it holds changed.
 *  2. dpm_suspend_start/end(PMSG_FREEZE) and dpm_resume_start/end(PMSG_THAW): every
 *     device's freeze and thaw callbacks, which come in pairs in the stock path. A
 *     freeze prepares a device for the loss of its back end or hardware state; a
 *     cancelled suspend loses neither: xenbus back ends, rings, grants and event
 *     channels are untouched. For xenbus front ends the stock path's own thaw
 *     (xenbus_dev_cancel) does nothing at all, so the stock path itself relies on the
 *     devices needing nothing after a cancelled suspend; their freeze (xenbus_dev_suspend:
 *     the driver's suspend, e.g. xen-scsifront stopping new commands and waiting for
 *     those in flight) only prepares a reconnection that does not happen. Other
 *     devices' freeze/thaw pairs likewise save and put back state that stays in place.
 *     Core state that does change across any suspend is still handled:
 *     syscore_suspend/resume (timekeeping, irq chips) run inside stop_machine.
 *  3. Nothing else: syscore, grant table, xen_arch_{suspend,pre_suspend,post_suspend,
 *     resume}, the runstate accounting, the console and the resume notifier chain run
 *     as in the stock path; xs_suspend() is replaced by the guard (item 1), which has
 *     deadlines where xs_suspend() waits forever; the stock path's shutting_down flag
 *     (further control/shutdown requests ignored meanwhile) is not set, and none can
 *     be handled while the CPUs are stopped anyway.
 * A suspend that is NOT cancelled never takes the light path: libxl notifies the event
 * channel for xl save and xl migrate too, but those carry no announcement and go to the
 * stock path, which runs every device's freeze and, in the new domain, restore callback
 * (xlcp_stock.c then republishes the module there). The toolstack announces only its
 * checkpoint, and resumes that with the suspend cancelled (so do its guardian and
 * recover --resume). What does resume from the light path in a new domain is a
 * checkpoint's memory image when it is restored (xl-checkpoint restore, or xl restore of
 * its memory.xl): that guest was captured inside the light path, so it continues there,
 * with suspend not cancelled; the module then resumes irqs, timers, the console,
 * xenstore and every xenbus front end (the bus's own PMSG_RESTORE callback), and
 * republishes itself. Devices with PM callbacks outside xenbus get no restore there
 * (they got no freeze either); whether any device of a PV/PVH guest outside xenbus
 * keeps state that a new domain invalidates is still open (issue 14).
 * It also never runs concurrently with a system sleep or a stock suspend: it takes
 * lock_system_sleep() and drops the trigger while the process freezer is active.
 *
 * Debian's 6.1 kernel does not export the PV suspend internals to modules; they are
 * looked up with kallsyms_lookup_name (found through a kprobe), each address checked
 * to be the start of the named symbol, their types taken from the kernel's headers
 * (xlcp.h). The xenbus front-end bus comes from a driver registered on it. If anything
 * is missing, the light path is not offered (no event channel, suspend-path=stock,
 * fallback-reason names the symbol) and libxl keeps using the stock path.
 */
#define pr_fmt(fmt) "xlcp_guest: " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/kallsyms.h>
#include <linux/pm.h>
#include <linux/device.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <xen/xen.h>

#include "xlcp.h"

/* unsigned int parameters with bounds checked at load and on every write */
#define XLCP_PARAM(name, def, lo, hi, perm, desc)                                  \
	unsigned int name = def;                                                   \
	static int name##_set(const char *val, const struct kernel_param *kp)      \
	{                                                                          \
		return param_set_uint_minmax(val, kp, lo, hi);                     \
	}                                                                          \
	static const struct kernel_param_ops name##_ops = {                        \
		.set = name##_set,                                                 \
		.get = param_get_uint,                                             \
	};                                                                         \
	module_param_cb(name, &name##_ops, &name, perm);                           \
	MODULE_PARM_DESC(name, desc " (" #lo ".." #hi ")")

XLCP_PARAM(quiesce_timeout_ms, 30000, 1000, 300000, 0644,
	   "thaw by itself after this time (ms)");
/* An armed request waits for the stop that ends a live copy: minutes for a large or busy
 * guest (a 256 MiB one took over 30 s under emulation). A stale arm costs at most one
 * bounded freeze inside some later light suspend. */
XLCP_PARAM(armed_timeout_ms, 900000, 1000, 3600000, 0644,
	   "expire an armed quiesce-at-suspend request after this time (ms)");
XLCP_PARAM(freeze_timeout_ms, 5000, 100, 20000, 0644,
	   "give up a freeze that has not finished after this time (ms)");
XLCP_PARAM(trigger_max_age_ms, 20000, 1000, 50000, 0644,
	   "drop a suspend notification older than this by the time of the stop (ms); below libxl's 60 s wait");
XLCP_PARAM(test_suspend_delay_ms, 0, 0, 120000, 0644,
	   "tests only: delay before preparing a suspend (ms)");
XLCP_PARAM(test_freeze_delay_ms, 0, 0, 120000, 0644,
	   "tests only: delay before each freeze_super (ms)");

static char *test_hide_symbol;
module_param(test_hide_symbol, charp, 0444);
MODULE_PARM_DESC(test_hide_symbol, "tests only: behave as if this kernel symbol were missing");

static bool light = true;
module_param(light, bool, 0444);
MODULE_PARM_DESC(light, "offer the light suspend path (0: stock path only)");

struct xlcp_syms ks;
struct bus_type *xlcp_frontend_bus;
struct workqueue_struct *xlcp_wq;
bool xlcp_light_ok;
bool xlcp_quiesce_ok;
static char fallback[XLCP_XS_MAX_REASON + 1];

/* ---- symbols the kernel does not export to modules ------------------------------ */

struct ksym {
	const char *name;
	void **slot;
	bool for_light; /* needed by the light path (else by quiesce) */
};

#define KSYM(n, l) { #n, (void **)&ks.n, l }
static const struct ksym ksyms[] = {
	KSYM(xs_resume, true),
	KSYM(xs_suspend_cancel, true),
	KSYM(gnttab_suspend, true),
	KSYM(gnttab_resume, true),
	KSYM(xen_arch_suspend, true),
	KSYM(xen_arch_resume, true),
	KSYM(xen_arch_pre_suspend, true),
	KSYM(xen_arch_post_suspend, true),
	KSYM(xen_irq_resume, true),
	KSYM(xen_timer_resume, true),
	KSYM(xen_console_resume, true),
	KSYM(xen_manage_runstate_time, true),
	KSYM(xen_resume_notifier, true),
	KSYM(xs_watch_rwsem, true),
	KSYM(xs_response_mutex, true),
	KSYM(xs_state_lock, true),
	KSYM(xs_state_users, true),
	KSYM(xs_suspend_active, true),
	KSYM(xs_state_enter_wq, true),
	KSYM(xs_state_exit_wq, true),
	KSYM(iterate_supers, false),
};

typedef unsigned long (*lookup_fn)(const char *name);

static lookup_fn find_lookup(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	lookup_fn fn;

	if (register_kprobe(&kp) < 0)
		return NULL;
	fn = (lookup_fn)kp.addr;
	unregister_kprobe(&kp);
	return fn;
}

/* True if addr is exactly the start of the symbol called name. */
static bool sym_is(unsigned long addr, const char *name)
{
	char buf[KSYM_SYMBOL_LEN];
	size_t n = strlen(name);

	sprint_symbol(buf, addr);
	return !strncmp(buf, name, n) && !strncmp(buf + n, "+0x0/", 5);
}

/* A front-end driver that matches no device: registered only to learn the bus. */
static int bus_probe_none(struct xenbus_device *dev,
			  const struct xenbus_device_id *id)
{
	return -ENODEV;
}

static const struct xenbus_device_id bus_probe_ids[] = {
	{ "xlcp-matches-nothing" },
	{ "" }
};

static struct xenbus_driver bus_probe_driver = {
	.ids = bus_probe_ids,
	.probe = bus_probe_none,
};
static bool bus_probe_registered;

/*
 * Fills ks and xlcp_frontend_bus; returns NULL if the light path can be had, else why
 * not (naming the first missing symbol).
 */
static const char *resolve_symbols(char *why, size_t len)
{
	lookup_fn lookup = find_lookup();
	const char *light_missing = NULL;
	unsigned long restore;
	size_t i;
	int err;

	if (!lookup) {
		snprintf(why, len, "kallsyms_lookup_name not found via kprobe");
		return why;
	}
	for (i = 0; i < ARRAY_SIZE(ksyms); i++) {
		unsigned long a = lookup(ksyms[i].name);

		if (test_hide_symbol && !strcmp(test_hide_symbol, ksyms[i].name))
			a = 0;

		if (!a || !sym_is(a, ksyms[i].name)) {
			pr_warn("symbol %s not found or not verified\n",
				ksyms[i].name);
			*ksyms[i].slot = NULL;
			if (ksyms[i].for_light && !light_missing)
				light_missing = ksyms[i].name;
			continue;
		}
		*ksyms[i].slot = (void *)a;
	}
	xlcp_quiesce_ok = ks.iterate_supers;
	if (light_missing) {
		snprintf(why, len, "kernel symbol %s not found", light_missing);
		return why;
	}
	err = xenbus_register_frontend(&bus_probe_driver);
	if (err) {
		snprintf(why, len, "cannot register on the xenbus front-end bus: %d",
			 err);
		return why;
	}
	bus_probe_registered = true;
	xlcp_frontend_bus = bus_probe_driver.driver.bus;
	/*
	 * The bus's PMSG_RESTORE callback, which dpm_resume calls after a resume in a new
	 * domain: xenbus_dev_resume, or xenbus_frontend_dev_resume where a stable update
	 * made it the restore callback (it calls xenbus_dev_resume).
	 */
	if (!xlcp_frontend_bus || !xlcp_frontend_bus->pm ||
	    !xlcp_frontend_bus->pm->restore) {
		snprintf(why, len, "xenbus front-end bus has no restore callback");
		return why;
	}
	restore = (unsigned long)xlcp_frontend_bus->pm->restore;
	if (!sym_is(restore, "xenbus_dev_resume") &&
	    !sym_is(restore, "xenbus_frontend_dev_resume")) {
		snprintf(why, len, "xenbus front-end restore callback is %ps, not xenbus_dev_resume",
			 (void *)restore);
		return why;
	}
	return NULL;
}

/* ---- xenstore output ------------------------------------------------------------- */

void xlcp_xs_put(const char *node, const char *fmt, ...)
{
	char buf[XLCP_XS_MAX_STATE + 1];
	va_list ap;
	int err;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	err = xenbus_write(XBT_NIL, XLCP_XS_DIR, node, buf);
	if (err)
		pr_warn("cannot write %s/%s: %d\n", XLCP_XS_DIR, node, err);
}

/* Makes s a reason: printable, no leading space, not empty. */
void xlcp_sanitize(char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			s[i] = '?';
	if (s[0] == ' ' || !s[0]) {
		s[0] = '?';
		s[1] = '\0';
	}
}

void xlcp_set_error(const char *id, const char *fmt, ...)
{
	char reason[XLCP_XS_MAX_REASON + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	xlcp_sanitize(reason);
	xlcp_xs_put(XLCP_XS_NODE_STATE, "error %s %s", id ? id : XLCP_XS_NO_ID,
		    reason);
}

/*
 * Writes the advertisement; feature last (a reader that sees it sees the rest). The
 * event channel is published after this, by xlcp_suspend_start(). Also called after a
 * resume in a new domain (fresh xenstore tree).
 */
int xlcp_publish(void)
{
	char caps[XLCP_XS_MAX_CAPABILITIES + 1] = "";
	int err;

	if (xlcp_quiesce_ok)
		strlcat(caps, XLCP_XS_CAP_QUIESCE, sizeof(caps));
	if (xlcp_light_ok) {
		strlcat(caps, caps[0] ? " " : "", sizeof(caps));
		strlcat(caps, XLCP_XS_CAP_LIGHT_SUSPEND, sizeof(caps));
	}
	if (xlcp_light_ok && xlcp_quiesce_ok)
		strlcat(caps, " " XLCP_XS_CAP_QUIESCE_AT_SUSPEND, sizeof(caps));
	xlcp_xs_put(XLCP_XS_NODE_PROTOCOL, "%u", XLCP_XS_PROTOCOL);
	xlcp_xs_put(XLCP_XS_NODE_CAPABILITIES, "%s", caps);
	xlcp_xs_put(XLCP_XS_NODE_STATE, "%s", XLCP_XS_STATE_IDLE);
	xlcp_xs_put(XLCP_XS_NODE_SUSPEND_PATH, "%s",
		    xlcp_light_ok ? "light" : "stock");
	if (xlcp_light_ok)
		xenbus_rm(XBT_NIL, XLCP_XS_DIR, XLCP_XS_NODE_FALLBACK_REASON);
	else
		xlcp_xs_put(XLCP_XS_NODE_FALLBACK_REASON, "%s", fallback);
	err = xenbus_write(XBT_NIL, XLCP_XS_DIR, XLCP_XS_NODE_FEATURE, "1");
	if (err)
		pr_err("cannot write %s/%s: %d\n", XLCP_XS_DIR,
		       XLCP_XS_NODE_FEATURE, err);
	return err;
}

static void unpublish(void)
{
	xenbus_rm(XBT_NIL, XLCP_XS_DIR, XLCP_XS_NODE_FEATURE);
	/* the whole directory; dom0's request node with it */
	xenbus_rm(XBT_NIL, XLCP_XS_DIR, "");
}

/* ---- module -------------------------------------------------------------------- */

static int __init xlcp_init(void)
{
	const char *why;
	int err;

	if (!xen_domain()) {
		pr_err("not running on Xen: refusing to load\n");
		return -ENODEV;
	}
	if (xen_initial_domain()) {
		pr_err("this is the control domain, not a guest: refusing to load\n");
		return -ENODEV;
	}
	if (!xen_pv_domain() && !xen_pvh_domain()) {
		pr_err("only Xen PV and PVH guests are supported (this is HVM): refusing to load\n");
		return -ENODEV;
	}
	xlcp_wq = alloc_workqueue("xlcp_guest", WQ_UNBOUND | WQ_MEM_RECLAIM, 1);
	if (!xlcp_wq)
		return -ENOMEM;
	err = xlcp_quiesce_init();
	if (err)
		goto fail_wq;

	why = resolve_symbols(fallback, sizeof(fallback));
	xlcp_light_ok = light && !why;
	if (!light && !why)
		snprintf(fallback, sizeof(fallback),
			 "light path disabled by module parameter");
	if (!xlcp_light_ok)
		pr_warn("light suspend unavailable (%s): the stock path stays in use\n",
			fallback);
	if (!xlcp_quiesce_ok)
		pr_warn("iterate_supers not found: quiesce unavailable\n");

	/* the request watch first: a request written once we advertise is seen */
	err = xlcp_request_start();
	if (err)
		goto fail;
	/* the announcement watch and the PM device before the event channel exists */
	err = xlcp_stock_start();
	if (err)
		goto fail_req;
	err = xlcp_publish();
	if (err)
		goto fail_stock;
	/* the event channel last: libxl may notify it as soon as it is published */
	if (xlcp_light_ok && xlcp_suspend_start()) {
		/* xlcp_suspend_start said why; advertise the stock path */
		xlcp_light_ok = false;
		snprintf(fallback, sizeof(fallback),
			 "cannot publish the suspend event channel");
		err = xlcp_publish();
		if (err)
			goto fail_stock;
	}
	pr_info("loaded: protocol %u, suspend path %s%s\n", XLCP_XS_PROTOCOL,
		xlcp_light_ok ? "light" : "stock",
		xlcp_quiesce_ok ? ", quiesce" : "");
	return 0;

fail_stock:
	xlcp_stock_stop();
fail_req:
	xlcp_request_stop();
fail:
	unpublish();
	xlcp_quiesce_exit();
	if (bus_probe_registered)
		xenbus_unregister_driver(&bus_probe_driver);
fail_wq:
	destroy_workqueue(xlcp_wq);
	return err;
}

static void __exit xlcp_exit(void)
{
	xlcp_suspend_stop();		/* no suspend after this */
	xlcp_stock_stop();		/* no republishing after this */
	xlcp_request_stop();		/* no request after this */
	unpublish();
	xlcp_quiesce_exit();		/* thaws what is frozen */
	if (bus_probe_registered)
		xenbus_unregister_driver(&bus_probe_driver);
	destroy_workqueue(xlcp_wq);
	pr_info("unloaded\n");
}

module_init(xlcp_init);
module_exit(xlcp_exit);

MODULE_DESCRIPTION("xl-checkpoint: light suspend and quiesce for Xen PV and PVH guests");
MODULE_AUTHOR("xl-checkpoint");
MODULE_LICENSE("GPL");
