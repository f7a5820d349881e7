// SPDX-License-Identifier: GPL-2.0
/*
 * xlcp_stock.c - which suspend the light path may serve, and the kernel's stock path for
 * every other one.
 *
 * Once the module publishes its event channel, libxl notifies it for every save and
 * migration of the guest (xl save, xl migrate, xl checkpoint), not only for ours. The
 * light path is for a suspend that is cancelled (the guest resumes in place); any other
 * suspend must run the kernel's full sequence. So the toolstack announces its own
 * suspend (data/checkpoint/suspend-announce = "ID MS", written right before libxl
 * notifies the event channel) and the notification takes the light path only if a fresh
 * announcement is there:
 *  - a watch on the node stamps the first sight of each value (CLOCK_BOOTTIME, the
 *    guest's own clock: dom0's is not comparable); at the notification the node is read
 *    again, and a value not yet seen by the watch counts as seen now;
 *  - fresh: well-formed, seen at most MS ms ago (MS capped at libxl's 60 s wait), its id
 *    not used before, and not a value that was there when the module loaded or when the
 *    guest came to a new domain;
 *  - taking it removes the node (the guest owns it) and remembers its id.
 * Without a fresh announcement the notification is handed to the stock path: "suspend"
 * is written to the guest's own control/shutdown (in a transaction, only if nothing else
 * is pending there), which the kernel's shutdown watcher (drivers/xen/manage.c) takes as
 * the toolstack's request: it acknowledges it and runs do_suspend, the full sequence
 * (process freezer, dpm_suspend_start(PMSG_FREEZE), xs_suspend, ... the suspend
 * hypercall, then PMSG_THAW or PMSG_RESTORE for every device). libxl, which notified the
 * event channel, waits for the domain to shut down with reason suspend, whoever asked.
 *
 * After the stock path resumes the guest in a new domain (xl restore, migration) the
 * xenstore tree is new and the event channel gone: a device of ours (no bus, no driver,
 * only PM callbacks) gets PMSG_RESTORE from dpm_resume_end, after xs_resume, and queues
 * the republishing (xlcp_after_stock_restore). A cancelled stock suspend needs nothing.
 */
#define pr_fmt(fmt) "xlcp_guest: " fmt

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/device.h>
#include <linux/pm.h>
#include <linux/timekeeping.h>

#include "xlcp.h"

/* libxl waits 60 s for the guest to suspend: an announcement is never good for longer */
#define ANNOUNCE_MAX_MS 60000u

static DEFINE_MUTEX(ann_lock);	/* below */
static char ann_seen[XLCP_XS_MAX_SUSPEND_ANNOUNCE + 1];	/* last value seen ("": none) */
static u64 ann_seen_ns;		/* its first sight */
static bool ann_ignored;	/* it was there at load or in an earlier domain */
static char ann_used[XLCP_XS_MAX_ID + 1];	/* the id last taken */
static bool watch_registered;
static struct device *pm_dev;

/* ---- the announcement ------------------------------------------------------------- */

/* The node's value (kmalloc'd), "" if absent, NULL if unreadable or not acceptable text. */
static char *read_announce(void)
{
	unsigned int len;
	char *v = xenbus_read(XBT_NIL, XLCP_XS_DIR, XLCP_XS_NODE_SUSPEND_ANNOUNCE, &len);

	if (IS_ERR(v))
		return PTR_ERR(v) == -ENOENT ? kstrdup("", GFP_KERNEL) : NULL;
	if (len > XLCP_XS_MAX_SUSPEND_ANNOUNCE || strlen(v) != len) {
		kfree(v);
		return NULL;
	}
	return v;
}

/* Records v as the value seen now, unless it is the one seen already. */
static void note(const char *v, bool ignore)
{
	mutex_lock(&ann_lock);
	if (strcmp(v, ann_seen)) {
		strscpy(ann_seen, v, sizeof(ann_seen));
		ann_seen_ns = ktime_get_boottime_ns();
		ann_ignored = ignore;
	}
	mutex_unlock(&ann_lock);
}

static void announce_workfn(struct work_struct *w)
{
	char *v = read_announce();

	if (v)
		note(v, false);
	kfree(v);
}

static DECLARE_WORK(announce_work, announce_workfn);

static void announce_changed(struct xenbus_watch *watch, const char *path,
			     const char *token)
{
	queue_work(xlcp_wq, &announce_work);
}

static struct xenbus_watch announce_watch = {
	.node = XLCP_XS_PATH_SUSPEND_ANNOUNCE,
	.callback = announce_changed,
};

/* The announcement in xenstore now was not written for this module in this domain. */
void xlcp_announce_forget(void)
{
	char *v = read_announce();

	mutex_lock(&ann_lock);
	strscpy(ann_seen, v ? v : "", sizeof(ann_seen));
	ann_seen_ns = ktime_get_boottime_ns();
	ann_ignored = true;
	mutex_unlock(&ann_lock);
	kfree(v);
}

/* "ID MS" -> id, ms (capped); false if it does not match its grammar. */
static bool parse_announce(const char *v, char *id, size_t len, unsigned int *ms)
{
	const char *sp = strchr(v, ' ');
	size_t il = sp ? sp - v : 0;
	unsigned int n = 0;
	const char *p;

	if (!sp || il != XLCP_XS_MAX_ID || il >= len)
		return false;
	memcpy(id, v, il);
	id[il] = '\0';
	if (!xlcp_valid_id(id))
		return false;
	p = sp + 1;
	if (*p < '1' || *p > '9' || strlen(p) > 5)
		return false;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		n = n * 10 + (*p - '0');
	}
	*ms = min(n, ANNOUNCE_MAX_MS);
	return true;
}

/*
 * At a notification, before xenstore is quiesced: true if a fresh announcement is there
 * (taken: removed, its id never used again). id gets the announcement's id if one is
 * there and well-formed, fresh or not, else "-".
 */
bool xlcp_take_announcement(char *id, size_t len)
{
	char *v = read_announce();
	char aid[XLCP_XS_MAX_ID + 1];
	unsigned int ms = 0;
	bool ok = false, fresh = false;
	const char *why = "it does not match its grammar";
	u64 now;

	strscpy(id, XLCP_XS_NO_ID, len);
	if (v && !v[0]) {
		kfree(v);
		return false;	/* none */
	}
	if (v) {
		ok = parse_announce(v, aid, sizeof(aid), &ms);
		note(v, false);	/* not seen by the watch yet: seen now */
	}
	mutex_lock(&ann_lock);
	now = ktime_get_boottime_ns();
	if (ok) {
		strscpy(id, aid, len);
		if (ann_ignored)
			why = "it predates this module or domain";
		else if (!strcmp(aid, ann_used))
			why = "its id was used already";
		else if (now - ann_seen_ns > (u64)ms * NSEC_PER_MSEC)
			why = "it is too old";
		else
			fresh = true;
		if (fresh)
			strscpy(ann_used, aid, sizeof(ann_used));
	}
	mutex_unlock(&ann_lock);
	if (!fresh)
		pr_info("suspend announcement %s not used: %s\n", ok ? aid : "?", why);
	/* used or useless: either way no later suspend may take it */
	xenbus_rm(XBT_NIL, XLCP_XS_DIR, XLCP_XS_NODE_SUSPEND_ANNOUNCE);
	kfree(v);
	return fresh;
}

/* ---- the hand-over to the stock path ------------------------------------------------ */

/*
 * Asks the kernel's own shutdown watcher for a suspend, as the toolstack would:
 * control/shutdown = "suspend". 0 if asked (or already asked), -EBUSY if another request
 * (poweroff, reboot, ...) is pending there, else the xenstore error.
 */
int xlcp_hand_to_stock(void)
{
	struct xenbus_transaction t;
	int err, tries;

	for (tries = 0; tries < 10; tries++) {
		char *v;

		err = xenbus_transaction_start(&t);
		if (err)
			return err;
		v = xenbus_read(t, "control", "shutdown", NULL);
		if (!IS_ERR(v) && v[0]) {
			err = strcmp(v, "suspend") ? -EBUSY : 0;
			kfree(v);
			xenbus_transaction_end(t, 1);
			return err;
		}
		if (!IS_ERR(v))
			kfree(v);
		err = xenbus_write(t, "control", "shutdown", "suspend");
		if (err) {
			xenbus_transaction_end(t, 1);
			return err;
		}
		err = xenbus_transaction_end(t, 0);
		if (err != -EAGAIN)
			return err;
	}
	return -EAGAIN;
}

/* ---- after the stock path: a new domain ----------------------------------------------- */

static void restore_workfn(struct work_struct *w)
{
	xlcp_after_stock_restore();
}

static DECLARE_WORK(restore_work, restore_workfn);

/* PMSG_RESTORE: the stock path resumed the guest in a new domain (xenstore is back). */
static int xlcp_pm_restore(struct device *dev)
{
	queue_work(xlcp_wq, &restore_work);
	return 0;
}

static const struct dev_pm_ops xlcp_pm_ops = {
	.restore = xlcp_pm_restore,
};

static const struct device_type xlcp_dev_type = {
	.name = "xlcp_guest",
	.pm = &xlcp_pm_ops,
};

static void pm_dev_release(struct device *dev)
{
	kfree(dev);
}

int xlcp_stock_start(void)
{
	struct device *dev;
	int err;

	xlcp_announce_forget();
	err = register_xenbus_watch(&announce_watch);
	if (err) {
		pr_err("cannot watch %s: %d\n", XLCP_XS_PATH_SUSPEND_ANNOUNCE, err);
		return err;
	}
	watch_registered = true;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev) {
		err = -ENOMEM;
		goto fail;
	}
	device_initialize(dev);
	dev->type = &xlcp_dev_type;
	dev->release = pm_dev_release;
	err = dev_set_name(dev, "xlcp_guest");
	if (!err)
		err = device_add(dev);
	if (err) {
		pr_err("cannot add the device that sees stock resumes: %d\n", err);
		put_device(dev);
		goto fail;
	}
	pm_dev = dev;
	return 0;
fail:
	unregister_xenbus_watch(&announce_watch);
	watch_registered = false;
	cancel_work_sync(&announce_work);
	return err;
}

void xlcp_stock_stop(void)
{
	if (pm_dev)
		device_unregister(pm_dev);
	pm_dev = NULL;
	cancel_work_sync(&restore_work);
	if (watch_registered)
		unregister_xenbus_watch(&announce_watch);
	watch_registered = false;
	cancel_work_sync(&announce_work);
}
