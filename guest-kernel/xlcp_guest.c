// SPDX-License-Identifier: GPL-2.0
/*
 * xlcp_guest.c - the xl-checkpoint guest module for x86-64 Xen PV and PVH guests.
 *
 * Gives the guest a light checkpoint entry point and a quiesce service, speaking the
 * xenstore protocol of xenstore-schema/protocol.xml (constants in xlcp_xs_proto.h):
 *
 *  - advertises data/checkpoint/{feature,protocol,capabilities,state,suspend-path};
 *  - light suspend: allocates an unbound event channel for dom0 and publishes it as
 *    device/suspend/event-channel, so libxl notifies it instead of writing
 *    control/shutdown. On notification a work item runs the kernel's own PV suspend
 *    sequence (syscore, grant table, xen_arch_pre_suspend, SCHEDOP_shutdown(suspend),
 *    and back) under stop_machine, without the process freezer and without the device
 *    PM walk. Cancelled (1): continue, nothing device-side touched. Resumed in a new
 *    domain (0): irqs, timers, console, xenstore and every xenbus frontend are resumed
 *    as the stock PMSG_RESTORE path would, then the module republishes itself;
 *  - quiesce: "quiesce <id>" in data/checkpoint/request freezes local block-backed
 *    file systems (freeze_super), thawed on "thaw <id>" or after quiesce_timeout_ms;
 *  - everything read from xenstore is hostile: bounded, strictly parsed, garbage is
 *    answered with state "error - <reason>" and triggers nothing.
 *
 * Debian's 6.1 kernel does not export the PV suspend internals to modules; they are
 * looked up with kallsyms_lookup_name (itself found through a kprobe) and each address
 * is checked to be the start of the named symbol (sprint_symbol). If anything is
 * missing, the module falls back to the stock path: no event channel,
 * suspend-path=stock, fallback-reason says why, and the kernel log too.
 */
#define pr_fmt(fmt) "xlcp_guest: " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/init.h>
#include <linux/kprobes.h>
#include <linux/kallsyms.h>
#include <linux/stop_machine.h>
#include <linux/syscore_ops.h>
#include <linux/workqueue.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/ctype.h>
#include <linux/timekeeping.h>
#include <linux/fs.h>
#include <linux/major.h>
#include <linux/device.h>
#include <linux/interrupt.h>
#include <linux/notifier.h>

#include <xen/xen.h>
#include <xen/xenbus.h>
#include <xen/events.h>
#include <xen/page.h>
#include <xen/interface/event_channel.h>
#include <asm/xen/hypercall.h>
#include <asm/xen/hypervisor.h>
#include <asm/xen/page.h>

#include "xlcp_xs_proto.h"

static unsigned int quiesce_timeout_ms = 30000;
module_param(quiesce_timeout_ms, uint, 0644);
MODULE_PARM_DESC(quiesce_timeout_ms,
		 "thaw by itself when no thaw request comes within this time (ms)");
static bool light = true;
module_param(light, bool, 0444);
MODULE_PARM_DESC(light, "offer the light suspend path (0: stock path only)");

#define XLCP_MAX_SB 32

/* ---- symbols the kernel does not export to modules ------------------------------ */

static struct {
	void (*xs_suspend)(void);
	void (*xs_resume)(void);
	void (*xs_suspend_cancel)(void);
	void (*gnttab_suspend)(void);
	int (*gnttab_resume)(void);
	void (*xen_arch_suspend)(void);
	void (*xen_arch_resume)(void);
	void (*xen_arch_pre_suspend)(void);
	void (*xen_arch_post_suspend)(int cancelled);
	void (*xen_irq_resume)(void);
	void (*xen_timer_resume)(void);
	void (*xen_console_resume)(void);
	struct raw_notifier_head *xen_resume_notifier;
	void *xenbus_frontend;
	int (*xenbus_match)(struct device *dev, struct device_driver *drv);
	void (*iterate_supers)(void (*f)(struct super_block *, void *), void *arg);
	void (*xen_manage_runstate_time)(int action);
} ks;

static struct bus_type *frontend_bus;

struct ksym {
	const char *name;
	void **slot;
	bool for_light; /* needed by the light path (else by quiesce) */
};

#define KSYM(n, l) { #n, (void **)&ks.n, l }
static const struct ksym ksyms[] = {
	KSYM(xs_suspend, true),		KSYM(xs_resume, true),
	KSYM(xs_suspend_cancel, true),	KSYM(gnttab_suspend, true),
	KSYM(gnttab_resume, true),	KSYM(xen_arch_suspend, true),
	KSYM(xen_arch_resume, true),	KSYM(xen_arch_pre_suspend, true),
	KSYM(xen_arch_post_suspend, true), KSYM(xen_irq_resume, true),
	KSYM(xen_timer_resume, true),	KSYM(xen_console_resume, true),
	KSYM(xen_resume_notifier, true), KSYM(xenbus_frontend, true),
	KSYM(xenbus_match, true),	KSYM(iterate_supers, false),
	KSYM(xen_manage_runstate_time, true),
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

/*
 * The frontend bus is the struct bus_type embedded in the static xen_bus_type
 * xenbus_frontend; its offset there is private, so look for a bus_type named "xen"
 * whose match method is xenbus_match within the first words of the structure.
 */
static struct bus_type *find_frontend_bus(void)
{
	unsigned long off;

	for (off = 0; off <= 16 * sizeof(void *); off += sizeof(void *)) {
		struct bus_type *b = ks.xenbus_frontend + off;

		if (b->match == ks.xenbus_match && b->name &&
		    !strcmp(b->name, "xen"))
			return b;
	}
	return NULL;
}

/* Fills ks; returns NULL if the light path can be had, else why not. */
static const char *resolve_symbols(char *why, size_t len)
{
	lookup_fn lookup = find_lookup();
	const char *light_missing = NULL;
	size_t i;

	if (!lookup) {
		snprintf(why, len, "kallsyms_lookup_name not found via kprobe");
		return why;
	}
	for (i = 0; i < ARRAY_SIZE(ksyms); i++) {
		unsigned long a = lookup(ksyms[i].name);

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
	if (light_missing) {
		snprintf(why, len, "kernel symbol %s not found", light_missing);
		return why;
	}
	frontend_bus = find_frontend_bus();
	if (!frontend_bus) {
		snprintf(why, len, "xenbus frontend bus not identified");
		return why;
	}
	return NULL;
}

/* ---- state ------------------------------------------------------------------------ */

static DEFINE_MUTEX(xlcp_lock);	/* everything below */
static struct workqueue_struct *xlcp_wq;
static bool light_ok;
static char fallback[XLCP_XS_MAX_REASON + 1];
static int evtchn_irq = -1;
static evtchn_port_t evtchn_port;
static bool watch_registered;
static char last_req[XLCP_XS_MAX_REQUEST + 1];	/* acted on once */
static char last_id[XLCP_XS_MAX_ID + 1];
static struct super_block *frozen_sb[XLCP_MAX_SB];
static int nfrozen;
static bool frozen;
static char frozen_id[XLCP_XS_MAX_ID + 1];
static bool unloading;

static void suspend_workfn(struct work_struct *w);
static void request_workfn(struct work_struct *w);
static void thaw_timeout_workfn(struct work_struct *w);
static DECLARE_WORK(suspend_work, suspend_workfn);
static DECLARE_WORK(request_work, request_workfn);
static DECLARE_DELAYED_WORK(thaw_timeout_work, thaw_timeout_workfn);

static void xs_put(const char *node, const char *fmt, ...) __printf(2, 3);
static void xs_put(const char *node, const char *fmt, ...)
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

/* Reason text for the error state: printable, no leading space, bounded. */
static void set_error(const char *id, const char *fmt, ...) __printf(2, 3);
static void set_error(const char *id, const char *fmt, ...)
{
	char reason[XLCP_XS_MAX_REASON + 1];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	for (i = 0; reason[i]; i++)
		if (reason[i] < 0x20 || reason[i] > 0x7e)
			reason[i] = '?';
	if (reason[0] == ' ' || !reason[0])
		reason[0] = '?';
	xs_put(XLCP_XS_NODE_STATE, "error %s %s", id ? id : XLCP_XS_NO_ID,
	       reason);
}

/* ---- quiesce -------------------------------------------------------------------- */

struct sb_list {
	struct super_block *sb[XLCP_MAX_SB];
	int n;
	bool overflow;
};

/* Called with sb->s_umount held shared: only take an active reference here. */
static void collect_sb(struct super_block *sb, void *arg)
{
	struct sb_list *l = arg;

	if (!sb->s_bdev || !(sb->s_type->fs_flags & FS_REQUIRES_DEV) ||
	    sb_rdonly(sb) || MAJOR(sb->s_dev) == LOOP_MAJOR ||
	    sb->s_writers.frozen != SB_UNFROZEN)
		return;
	if (l->n >= XLCP_MAX_SB) {
		l->overflow = true;
		return;
	}
	if (atomic_inc_not_zero(&sb->s_active))
		l->sb[l->n++] = sb;
}

static void thaw_all(void)
{
	while (nfrozen > 0) {
		struct super_block *sb = frozen_sb[--nfrozen];
		int err = thaw_super(sb);

		if (err)
			pr_warn("thaw %s: %d\n", sb->s_id, err);
		deactivate_super(sb);
	}
	frozen = false;
	cancel_delayed_work(&thaw_timeout_work);
}

/* Caller holds xlcp_lock. */
static int freeze_all(const char *id)
{
	struct sb_list *l = kzalloc(sizeof(*l), GFP_KERNEL);
	int i, err = 0;

	if (!l)
		return -ENOMEM;
	ks.iterate_supers(collect_sb, l);
	for (i = 0; i < l->n; i++) {
		if (err) {
			deactivate_super(l->sb[i]);
			continue;
		}
		err = freeze_super(l->sb[i]);
		if (err) {
			pr_warn("freeze %s: %d\n", l->sb[i]->s_id, err);
			deactivate_super(l->sb[i]);
			continue;
		}
		frozen_sb[nfrozen++] = l->sb[i];
	}
	if (!err && l->overflow)
		err = -E2BIG;
	kfree(l);
	if (err) {
		thaw_all();
		return err;
	}
	frozen = true;
	strscpy(frozen_id, id, sizeof(frozen_id));
	queue_delayed_work(xlcp_wq, &thaw_timeout_work,
			   msecs_to_jiffies(quiesce_timeout_ms));
	pr_info("froze %d file system(s) for %s\n", nfrozen, id);
	return 0;
}

static void thaw_timeout_workfn(struct work_struct *w)
{
	mutex_lock(&xlcp_lock);
	if (frozen) {
		pr_warn("no thaw for %s within %u ms: thawing\n", frozen_id,
			quiesce_timeout_ms);
		thaw_all();
		xs_put(XLCP_XS_NODE_STATE, "thawed %s", frozen_id);
	}
	mutex_unlock(&xlcp_lock);
}

/* ---- requests ------------------------------------------------------------------ */

/* Strict check of a checkpoint id: [0-9]{8}T[0-9]{6}\.[0-9]{3}Z-[0-9a-f]{6} */
static bool valid_id(const char *s)
{
	/* d = digit, x = lower-case hex digit, anything else is literal */
	static const char shape[] = "ddddddddTdddddd.dddZ-xxxxxx";
	size_t i;

	BUILD_BUG_ON(sizeof(shape) - 1 != XLCP_XS_MAX_ID);
	if (strlen(s) != XLCP_XS_MAX_ID)
		return false;
	for (i = 0; i < XLCP_XS_MAX_ID; i++) {
		char c = s[i];

		switch (shape[i]) {
		case 'd':
			if (!isdigit(c))
				return false;
			break;
		case 'x':
			if (!isdigit(c) && !(c >= 'a' && c <= 'f'))
				return false;
			break;
		default:
			if (c != shape[i])
				return false;
		}
	}
	return true;
}

static void handle_request(const char *req)
{
	char verb[8], id[XLCP_XS_MAX_ID + 1];
	const char *sp = strchr(req, ' ');
	size_t vl;
	int err;

	if (!sp || (vl = sp - req) >= sizeof(verb) ||
	    strlen(sp + 1) > XLCP_XS_MAX_ID) {
		goto garbage;
	}
	memcpy(verb, req, vl);
	verb[vl] = '\0';
	strscpy(id, sp + 1, sizeof(id));
	if (!valid_id(id))
		goto garbage;

	if (!strcmp(verb, XLCP_XS_REQ_QUIESCE)) {
		strscpy(last_id, id, sizeof(last_id));
		if (!ks.iterate_supers) {
			set_error(id, "quiesce not available on this kernel");
			return;
		}
		if (frozen) {
			thaw_all();
			set_error(id, "already frozen for %s: thawed", frozen_id);
			return;
		}
		err = freeze_all(id);
		if (err) {
			set_error(id, "freeze failed: %d", err);
			return;
		}
		xs_put(XLCP_XS_NODE_STATE, "frozen %s", id);
		xs_put(XLCP_XS_NODE_LAST_ID, "%s", id);
		return;
	}
	if (!strcmp(verb, XLCP_XS_REQ_THAW)) {
		strscpy(last_id, id, sizeof(last_id));
		if (frozen) {
			thaw_all();
			pr_info("thawed for %s\n", id);
		}
		xs_put(XLCP_XS_NODE_STATE, "thawed %s", id);
		return;
	}
garbage:
	/* triggers nothing: a frozen guest stays frozen (the timeout still runs) */
	pr_warn_ratelimited("ignoring malformed request\n");
	if (!frozen)
		set_error(NULL, "request does not match its grammar");
}

static void request_workfn(struct work_struct *w)
{
	unsigned int len;
	char *v;

	mutex_lock(&xlcp_lock);
	if (unloading)
		goto out;
	v = xenbus_read(XBT_NIL, XLCP_XS_DIR, XLCP_XS_NODE_REQUEST, &len);
	if (IS_ERR(v))
		goto out;	/* absent: nothing asked */
	if (len > XLCP_XS_MAX_REQUEST || strlen(v) != len) {
		if (strcmp(last_req, "\x01")) {
			strscpy(last_req, "\x01", sizeof(last_req));
			pr_warn_ratelimited("oversized or binary request ignored\n");
			if (!frozen)
				set_error(NULL, "request too long or not text");
		}
	} else if (strcmp(v, last_req)) {
		strscpy(last_req, v, sizeof(last_req));
		handle_request(v);
	}
	kfree(v);
out:
	mutex_unlock(&xlcp_lock);
}

static void request_changed(struct xenbus_watch *watch, const char *path,
			    const char *token)
{
	queue_work(xlcp_wq, &request_work);
}

static struct xenbus_watch request_watch = {
	.node = XLCP_XS_PATH_REQUEST,
	.callback = request_changed,
};

/* ---- light suspend ------------------------------------------------------------- */

struct suspend_info {
	int cancelled;
	int err;
	u64 t0, t1;
};

/* Runs on CPU 0 with every other CPU stopped and interrupts off. */
static int light_suspend(void *data)
{
	struct suspend_info *si = data;

	si->t0 = ktime_get_boottime_ns();
	si->err = syscore_suspend();
	if (si->err)
		return si->err;
	ks.gnttab_suspend();
	/* keep the steal-time accounting monotonic across a move to a new domain */
	ks.xen_manage_runstate_time(-1);
	ks.xen_arch_pre_suspend();
	/*
	 * 1: cancelled (resumed in place), 0: resumed in a new domain. A PV guest
	 * names its start info page (its frame numbers were canonicalised by
	 * xen_arch_pre_suspend); a PVH guest has none to name.
	 */
	si->cancelled = HYPERVISOR_suspend(xen_pv_domain() ?
					   virt_to_gfn(xen_start_info) : 0);
	ks.xen_arch_post_suspend(si->cancelled);
	ks.xen_manage_runstate_time(si->cancelled ? 1 : 0);
	ks.gnttab_resume();
	if (!si->cancelled) {
		ks.xen_irq_resume();
		ks.xen_timer_resume();
	}
	syscore_resume();
	si->t1 = ktime_get_boottime_ns();
	return 0;
}

/* Exported by drivers/xen/xenbus but declared only in its private header. */
int xenbus_dev_resume(struct device *dev);

static int restore_frontend(struct device *dev, void *unused)
{
	int err = xenbus_dev_resume(dev);

	if (err)
		dev_warn(dev, "xlcp: frontend resume failed: %d\n", err);
	return 0;
}

static int publish(void);
static void unpublish_evtchn(void);

static void suspend_workfn(struct work_struct *w)
{
	struct suspend_info si = { .cancelled = 1 };
	int err;

	mutex_lock(&xlcp_lock);
	if (unloading || !light_ok)
		goto out;
	ks.xs_suspend();
	ks.xen_arch_suspend();
	err = stop_machine(light_suspend, &si, cpumask_of(0));
	if (err || si.err) {
		pr_err("light suspend failed: %d/%d\n", err, si.err);
		si.cancelled = 1;
	}
	if (!si.cancelled)
		ks.xen_console_resume();
	raw_notifier_call_chain(ks.xen_resume_notifier, 0, NULL);
	ks.xen_arch_resume();
	if (si.cancelled) {
		ks.xs_suspend_cancel();
	} else {
		ks.xs_resume();
		/* what dpm_resume(PMSG_RESTORE) does for xenbus frontends */
		bus_for_each_dev(frontend_bus, NULL, NULL, restore_frontend);
	}
	if (err || si.err)
		goto out;
	pr_info("light suspend: %s, guest downtime %llu ns\n",
		si.cancelled ? "cancelled (resumed in place)" : "resumed in a new domain",
		si.t1 - si.t0);
	if (!si.cancelled) {
		/* a new domain: new xenstore tree, our event channel is gone, and
		 * whoever froze the file systems belongs to the old life */
		if (frozen) {
			pr_warn("restored while frozen for %s: thawing\n",
				frozen_id);
			thaw_all();
		}
		unpublish_evtchn();
		last_req[0] = '\0';
		publish();
	}
	xs_put(XLCP_XS_NODE_DOWNTIME_NS, "%llu", si.t1 - si.t0);
	if (last_id[0])
		xs_put(XLCP_XS_NODE_LAST_ID, "%s", last_id);
out:
	mutex_unlock(&xlcp_lock);
}

static irqreturn_t suspend_evtchn_irq(int irq, void *dev_id)
{
	queue_work(system_highpri_wq, &suspend_work);
	return IRQ_HANDLED;
}

/* ---- publishing ---------------------------------------------------------------- */

static int publish_evtchn(void)
{
	struct evtchn_alloc_unbound op = {
		.dom = DOMID_SELF,
		.remote_dom = 0,	/* the toolstack domain */
	};
	char buf[16];
	int err, irq;

	err = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &op);
	if (err)
		return err;
	irq = bind_evtchn_to_irqhandler(op.port, suspend_evtchn_irq, 0,
					"xlcp-suspend", NULL);
	if (irq < 0) {
		struct evtchn_close close = { .port = op.port };

		HYPERVISOR_event_channel_op(EVTCHNOP_close, &close);
		return irq;
	}
	snprintf(buf, sizeof(buf), "%u", op.port);
	err = xenbus_write(XBT_NIL, XLCP_XS_DIR_EVENT_CHANNEL,
			   XLCP_XS_NODE_EVENT_CHANNEL, buf);
	if (err) {
		unbind_from_irqhandler(irq, NULL);	/* also closes the port */
		return err;
	}
	evtchn_irq = irq;
	evtchn_port = op.port;
	return 0;
}

static void unpublish_evtchn(void)
{
	if (evtchn_irq < 0)
		return;
	/* libxl created the node empty: leave it so */
	xenbus_write(XBT_NIL, XLCP_XS_DIR_EVENT_CHANNEL,
		     XLCP_XS_NODE_EVENT_CHANNEL, "");
	unbind_from_irqhandler(evtchn_irq, NULL);
	evtchn_irq = -1;
}

/* Caller holds xlcp_lock (or is the init path). */
static int publish(void)
{
	const char *caps;
	int err;

	if (light_ok) {
		err = publish_evtchn();
		if (err) {
			light_ok = false;
			snprintf(fallback, sizeof(fallback),
				 "cannot publish the suspend event channel: %d", err);
			pr_warn("%s: using the stock path\n", fallback);
		}
	}
	if (light_ok && ks.iterate_supers)
		caps = XLCP_XS_CAP_QUIESCE " " XLCP_XS_CAP_LIGHT_SUSPEND;
	else if (light_ok)
		caps = XLCP_XS_CAP_LIGHT_SUSPEND;
	else if (ks.iterate_supers)
		caps = XLCP_XS_CAP_QUIESCE;
	else
		caps = "";
	xs_put(XLCP_XS_NODE_PROTOCOL, "%u", XLCP_XS_PROTOCOL);
	xs_put(XLCP_XS_NODE_CAPABILITIES, "%s", caps);
	xs_put(XLCP_XS_NODE_STATE, "%s", XLCP_XS_STATE_IDLE);
	xs_put(XLCP_XS_NODE_SUSPEND_PATH, "%s", light_ok ? "light" : "stock");
	if (light_ok)
		xenbus_rm(XBT_NIL, XLCP_XS_DIR, XLCP_XS_NODE_FALLBACK_REASON);
	else
		xs_put(XLCP_XS_NODE_FALLBACK_REASON, "%s", fallback);
	/* the flag last: a reader that sees it sees the rest */
	err = xenbus_write(XBT_NIL, XLCP_XS_DIR, XLCP_XS_NODE_FEATURE, "1");
	if (err)
		pr_err("cannot write %s/%s: %d\n", XLCP_XS_DIR,
		       XLCP_XS_NODE_FEATURE, err);
	return err;
}

static void unpublish(void)
{
	unpublish_evtchn();
	xenbus_rm(XBT_NIL, XLCP_XS_DIR, XLCP_XS_NODE_FEATURE);
	/* the whole directory; dom0's request node with it */
	xenbus_rm(XBT_NIL, XLCP_XS_DIR, "");
}

/* ---- module -------------------------------------------------------------------- */

static int __init xlcp_init(void)
{
	const char *why;
	unsigned int len;
	char *v;
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

	why = resolve_symbols(fallback, sizeof(fallback));
	light_ok = light && !why;
	if (!light && !why)
		snprintf(fallback, sizeof(fallback),
			 "light path disabled by module parameter");
	if (!light_ok)
		pr_warn("light suspend unavailable (%s): the stock path stays in use\n",
			fallback);
	if (!ks.iterate_supers)
		pr_warn("iterate_supers not found: quiesce unavailable\n");

	mutex_lock(&xlcp_lock);
	err = publish();
	mutex_unlock(&xlcp_lock);
	if (err)
		goto fail;
	/* a request written before we came is not for us: only act on changes */
	v = xenbus_read(XBT_NIL, XLCP_XS_DIR, XLCP_XS_NODE_REQUEST, &len);
	if (!IS_ERR(v)) {
		if (len <= XLCP_XS_MAX_REQUEST && strlen(v) == len)
			strscpy(last_req, v, sizeof(last_req));
		else
			strscpy(last_req, "\x01", sizeof(last_req));
		kfree(v);
	}
	err = register_xenbus_watch(&request_watch);
	if (err) {
		pr_err("cannot watch %s: %d\n", XLCP_XS_PATH_REQUEST, err);
		goto fail;
	}
	watch_registered = true;
	pr_info("loaded: protocol %u, suspend path %s%s\n", XLCP_XS_PROTOCOL,
		light_ok ? "light" : "stock",
		ks.iterate_supers ? ", quiesce" : "");
	return 0;

fail:
	mutex_lock(&xlcp_lock);
	unpublish();
	mutex_unlock(&xlcp_lock);
	destroy_workqueue(xlcp_wq);
	return err;
}

static void __exit xlcp_exit(void)
{
	mutex_lock(&xlcp_lock);
	unloading = true;
	mutex_unlock(&xlcp_lock);
	if (watch_registered)
		unregister_xenbus_watch(&request_watch);
	mutex_lock(&xlcp_lock);
	unpublish();		/* no new notification after this */
	mutex_unlock(&xlcp_lock);
	flush_work(&suspend_work);
	cancel_work_sync(&request_work);
	cancel_delayed_work_sync(&thaw_timeout_work);
	mutex_lock(&xlcp_lock);
	if (frozen)
		thaw_all();
	mutex_unlock(&xlcp_lock);
	destroy_workqueue(xlcp_wq);
	pr_info("unloaded\n");
}

module_init(xlcp_init);
module_exit(xlcp_exit);

MODULE_DESCRIPTION("xl-checkpoint: light suspend and quiesce for Xen PV and PVH guests");
MODULE_AUTHOR("xl-checkpoint");
MODULE_LICENSE("GPL");
