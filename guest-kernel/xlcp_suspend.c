// SPDX-License-Identifier: GPL-2.0
/*
 * xlcp_suspend.c - the light suspend: the event channel libxl notifies instead of
 * writing control/shutdown, and what a notification does (see xlcp_main.c for what this
 * path skips compared with the stock one, and why that is safe).
 *
 * Which path. A notification takes the light path only if the toolstack announced it
 * (xlcp_stock.c: a fresh data/checkpoint/suspend-announce, taken before anything else);
 * otherwise it is handed to the kernel's stock path (control/shutdown = "suspend").
 * last-suspend reports which, before the stop.
 *
 * Triggers. The interrupt only counts the notification and stamps its time; the work
 * serves every notification counted until the stop with one suspend (duplicates
 * collapse), and drops the trigger instead of suspending when it has become older than
 * trigger_max_age_ms (libxl waits 60 s for the guest, then gives up: a later suspend
 * would leave the guest suspended with nobody waiting), when xenstore cannot be
 * quiesced in that time, or when a system sleep or stock suspend is in progress. A drop
 * is published: drop-reason, then dropped-triggers (a counter).
 *
 * Xenstore. xs_suspend() marks a suspend active, waits for the requests in flight, then
 * takes the watch rwsem for write; register_xenbus_watch() holds that rwsem for read
 * while its request waits for the suspend to end: a watch registration at the wrong
 * moment deadlocks both. (And while requests keep overlapping, the in-flight count
 * never drops to zero: xs_suspend() starves.) The guard below takes the same locks in
 * the other order, each with a deadline: the watch rwsem first (a writer waiting on it
 * holds new registrations off, the ones in flight finish since no suspend is active
 * yet; the wait is killable and a timer kills it at the deadline), then marks the
 * suspend active (new requests now wait) and waits for the requests in flight, then
 * the response mutex. It leaves exactly the state xs_suspend() leaves, so the kernel's
 * xs_suspend_cancel()/xs_resume() undo it; when a deadline passes it undoes what it
 * took and the trigger is dropped. The suspend runs in a kernel thread of its own so
 * that this wait can be killed.
 *
 * Quiesce at suspend. If a quiesce-at-suspend request is armed, the work freezes the
 * file systems (xlcp_quiesce.c, with a deadline) before quiescing xenstore, suspends,
 * and thaws them after the resume, then reports whether the freeze held.
 */
#define pr_fmt(fmt) "xlcp_guest: " fmt

#include <linux/kernel.h>
#include <linux/delay.h>
#include <linux/stop_machine.h>
#include <linux/syscore_ops.h>
#include <linux/suspend.h>
#include <linux/freezer.h>
#include <linux/interrupt.h>
#include <linux/timekeeping.h>
#include <linux/kthread.h>
#include <linux/sched/signal.h>
#include <linux/timer.h>
#include <linux/device.h>
#include <linux/pm.h>
#include <xen/xen.h>
#include <xen/page.h>
#include <xen/interface/event_channel.h>
#include <asm/xen/hypercall.h>
#include <asm/xen/hypervisor.h>
#include <asm/xen/page.h>

#include "xlcp.h"

static DEFINE_MUTEX(suspend_lock);	/* one suspend at a time; below */
static atomic_t trig_seq = ATOMIC_INIT(0);	/* notifications received */
static atomic64_t trig_ns = ATOMIC64_INIT(0);	/* CLOCK_BOOTTIME of the newest */
static int done_seq;		/* notifications served or dropped */
static unsigned int ndropped;
static bool stopping;
static int evtchn_irq = -1;
static struct task_struct *suspend_task;
static DECLARE_WAIT_QUEUE_HEAD(trigger_wq);
/* last-suspend: how the nserved-th notification was served (under suspend_lock) */
static unsigned int nserved;
static const char *last_path;
static char last_id[XLCP_XS_MAX_ID + 1];

/* ---- xenstore guard ------------------------------------------------------------- */

static bool past(u64 deadline_ns)
{
	return ktime_get_boottime_ns() >= deadline_ns;
}

/* Kills the suspend thread's wait for the watch rwsem at the deadline. */
static void kill_timer_fn(struct timer_list *t)
{
	send_sig(SIGKILL, suspend_task, 1);
}

static DEFINE_TIMER(kill_timer, kill_timer_fn);

/* NULL: xenstore is in the state xs_suspend() leaves. Else nothing changed, and why. */
static const char *xs_guard_enter(u64 deadline_ns)
{
	u64 now;
	long left;

	if (!down_write_trylock(ks.xs_watch_rwsem)) {
		int err;

		now = ktime_get_boottime_ns();
		if (now >= deadline_ns)
			return "xenstore watch registrations did not pause in time";
		mod_timer(&kill_timer, jiffies + nsecs_to_jiffies(deadline_ns - now) + 1);
		err = down_write_killable(ks.xs_watch_rwsem);
		del_timer_sync(&kill_timer);
		flush_signals(current);
		if (err)
			return "xenstore watch registrations did not pause in time";
	}
	spin_lock(ks.xs_state_lock);
	(*ks.xs_suspend_active)++;
	spin_unlock(ks.xs_state_lock);
	now = ktime_get_boottime_ns();
	left = wait_event_timeout(*ks.xs_state_exit_wq,
				  READ_ONCE(*ks.xs_state_users) == 0,
				  nsecs_to_jiffies(deadline_ns > now ? deadline_ns - now : 0) + 1);
	if (!left)
		goto undo;
	while (!mutex_trylock(ks.xs_response_mutex)) {
		if (past(deadline_ns))
			goto undo;
		usleep_range(100, 200);
	}
	return NULL;
undo:
	spin_lock(ks.xs_state_lock);
	(*ks.xs_suspend_active)--;
	spin_unlock(ks.xs_state_lock);
	wake_up_all(ks.xs_state_enter_wq);
	up_write(ks.xs_watch_rwsem);
	return "xenstore requests in flight did not finish in time";
}

/* ---- the stop --------------------------------------------------------------------- */

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
	si->err = ks.gnttab_suspend();
	if (si->err) {
		syscore_resume();
		return si->err;
	}
	/* every notification so far is served by this suspend */
	done_seq = atomic_read(&trig_seq);
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

static int restore_frontend(struct device *dev, void *unused)
{
	/* the bus's PMSG_RESTORE callback (xenbus_dev_resume, checked at load) */
	int err = xlcp_frontend_bus->pm->restore(dev);

	if (err)
		dev_warn(dev, "xlcp: frontend resume failed: %d\n", err);
	return 0;
}

static void drop(int seq, const char *why)
{
	done_seq = seq;
	ndropped++;
	pr_warn("suspend notification dropped: %s\n", why);
	xlcp_xs_put(XLCP_XS_NODE_DROP_REASON, "%s", why);
	xlcp_xs_put(XLCP_XS_NODE_DROPPED_TRIGGERS, "%u", ndropped);
}

static void unpublish_evtchn(void);
static int publish_evtchn(void);

static void report_last(void)
{
	if (nserved)
		xlcp_xs_put(XLCP_XS_NODE_LAST_SUSPEND, "%s %s %u", last_path, last_id,
			    nserved);
}

/* how last-suspend was before this notification, to take it back if it is dropped */
struct last_prev {
	const char *path;
	char id[XLCP_XS_MAX_ID + 1];
};

/* Records (and reports, before the stop: xenstore is quiesced after) how this
 * notification is served; prev gets what to put back if it is dropped after all. */
static void served(const char *path, const char *id, struct last_prev *prev)
{
	prev->path = last_path;
	strscpy(prev->id, last_id, sizeof(prev->id));
	nserved++;
	last_path = path;
	strscpy(last_id, id, sizeof(last_id));
	report_last();
}

/* The notification recorded by served() was dropped: last-suspend back as it was. */
static void unserve(const struct last_prev *prev)
{
	nserved--;
	last_path = prev->path;
	strscpy(last_id, prev->id, sizeof(last_id));
	if (nserved)
		report_last();
	else
		xenbus_rm(XBT_NIL, XLCP_XS_DIR, XLCP_XS_NODE_LAST_SUSPEND);
}

/*
 * Resumed in a new domain (a new xenstore tree, our event channel gone): what the old
 * life froze or armed is not for this one, requests and announcements there now are
 * not for us; publish again. Under suspend_lock.
 */
static void after_new_domain(void)
{
	bool had_evtchn = evtchn_irq >= 0;

	xlcp_q_after_new_domain();
	unpublish_evtchn();
	xlcp_request_forget();
	xlcp_announce_forget();
	xlcp_publish();
	if (had_evtchn && publish_evtchn())
		pr_err("cannot republish the event channel: stock path from now on\n");
	report_last();
}

void xlcp_after_stock_restore(void)
{
	mutex_lock(&suspend_lock);
	if (!stopping) {
		pr_info("stock suspend: resumed in a new domain, publishing again\n");
		after_new_domain();
	}
	mutex_unlock(&suspend_lock);
}

/*
 * No fresh announcement: not our checkpoint (xl save, xl migrate, ...), which must get the
 * kernel's full suspend sequence. Hands it to the stock path unless the notification is
 * too old already (libxl gives up after 60 s: a suspend after that would leave the guest
 * suspended with nobody waiting).
 */
static void hand_over(const char *aid, u64 deadline)
{
	struct last_prev prev;
	char why[XLCP_XS_MAX_REASON + 1];
	int seq = atomic_read(&trig_seq);
	int err;

	if (past(deadline)) {
		drop(seq, "notification older than trigger_max_age_ms");
		return;
	}
	served("stock", aid, &prev);
	err = xlcp_hand_to_stock();
	if (err) {
		unserve(&prev);	/* not served after all: the drop says why */
		snprintf(why, sizeof(why), "cannot hand the suspend to the stock path: %s (%d)",
			 err == -EBUSY ? "another shutdown request is pending" : "xenstore error",
			 err);
		drop(seq, why);
		return;
	}
	done_seq = seq;	/* every notification so far is served by that suspend */
	pr_info("suspend notification without a fresh announcement: handed to the kernel's stock path\n");
}

/* The result of a quiesce-at-suspend: "held ID" or "not-held ID REASON". */
static void quiesce_result(char *buf, size_t len, const char *id, const char *why)
{
	char reason[XLCP_XS_MAX_REASON + 1];

	if (!why) {
		snprintf(buf, len, "held %s", id);
		return;
	}
	strscpy(reason, why, sizeof(reason));
	xlcp_sanitize(reason);
	snprintf(buf, len, "not-held %s %s", id, reason);
}

static void suspend_once(void)
{
	struct suspend_info si = { .cancelled = 1 };
	char qid[XLCP_XS_MAX_ID + 1], why[96], result[XLCP_XS_MAX_QUIESCE_RESULT + 1];
	char aid[XLCP_XS_MAX_ID + 1];
	struct last_prev prev;
	const char *qwhy = NULL, *xwhy;
	struct xlcp_frozen frozen = { .n = 0 };
	bool armed, stopped = false;
	unsigned int sleep_flags;
	u64 deadline;
	int seq, err;

	mutex_lock(&suspend_lock);
	seq = atomic_read(&trig_seq);
	if (stopping || seq == done_seq) {
		done_seq = seq;	/* served by the previous suspend, or unloading */
		mutex_unlock(&suspend_lock);
		return;
	}
	if (test_suspend_delay_ms)
		msleep(test_suspend_delay_ms);
	deadline = atomic64_read(&trig_ns) + (u64)trigger_max_age_ms * NSEC_PER_MSEC;
	sleep_flags = lock_system_sleep();
	if (static_branch_unlikely(&freezer_active)) {
		drop(atomic_read(&trig_seq), "a system sleep or stock suspend is in progress");
		goto out;
	}
	if (!xlcp_take_announcement(aid, sizeof(aid))) {
		hand_over(aid, deadline);
		goto out;
	}
	served("light", aid, &prev);
	xlcp_xs_put(XLCP_XS_NODE_LAST_ID, "%s", aid);
	armed = xlcp_q_take_armed(qid, sizeof(qid));
	if (armed) {
		u64 fd = ktime_get_boottime_ns() + (u64)freeze_timeout_ms * NSEC_PER_MSEC;

		err = xlcp_freeze(&frozen, min(fd, deadline));
		if (err) {
			snprintf(why, sizeof(why), "freeze failed or did not finish in time: %d",
				 err);
			qwhy = why;
		} else {
			pr_info("froze %d file system(s) for %s at suspend\n", frozen.n, qid);
		}
	}
	xwhy = xs_guard_enter(deadline);
	if (xwhy) {
		unserve(&prev);
		drop(atomic_read(&trig_seq), xwhy);
		qwhy = qwhy ? qwhy : "suspend notification dropped";
		goto thaw;
	}
	if (past(deadline)) {
		ks.xs_suspend_cancel();
		unserve(&prev);
		drop(atomic_read(&trig_seq), "notification older than trigger_max_age_ms");
		qwhy = qwhy ? qwhy : "suspend notification dropped";
		goto thaw;
	}
	ks.xen_arch_suspend();
	err = stop_machine(light_suspend, &si, cpumask_of(0));
	if (err || si.err) {
		pr_err("light suspend failed: %d/%d\n", err, si.err);
		si.cancelled = 1;
	} else {
		stopped = true;
	}
	if (!si.cancelled)
		ks.xen_console_resume();
	raw_notifier_call_chain(ks.xen_resume_notifier, 0, NULL);
	ks.xen_arch_resume();
	if (si.cancelled) {
		ks.xs_suspend_cancel();
	} else {
		ks.xs_resume();
		/* what dpm_resume(PMSG_RESTORE) does for xenbus front ends */
		bus_for_each_dev(xlcp_frontend_bus, NULL, NULL, restore_frontend);
	}
	if (!stopped) {
		unserve(&prev);
		drop(atomic_read(&trig_seq), "the suspend sequence failed");
		qwhy = qwhy ? qwhy : "the suspend failed";
	}
	if (armed && !qwhy && !xlcp_still_frozen(&frozen))
		qwhy = "a file system was thawed by someone else during the suspend";
thaw:
	xlcp_thaw(&frozen);
	if (stopped)
		pr_info("light suspend: %s, guest downtime %llu ns\n",
			si.cancelled ? "cancelled (resumed in place)" :
				       "resumed in a new domain",
			si.t1 - si.t0);
	if (stopped && !si.cancelled)
		after_new_domain();	/* a checkpoint's image restored (see xlcp_main.c) */
	if (stopped)
		xlcp_xs_put(XLCP_XS_NODE_DOWNTIME_NS, "%llu", si.t1 - si.t0);
	if (armed) {
		quiesce_result(result, sizeof(result), qid, qwhy);
		pr_info("quiesce at suspend: %s\n", result);
		xlcp_q_suspend_done(qid, result);
	}
out:
	unlock_system_sleep(sleep_flags);
	mutex_unlock(&suspend_lock);
}

static bool triggered(void)
{
	return atomic_read(&trig_seq) != READ_ONCE(done_seq) || kthread_should_stop();
}

static int suspend_thread(void *unused)
{
	allow_signal(SIGKILL);	/* only kill_timer sends it, see xs_guard_enter */
	set_user_nice(current, MIN_NICE);
	while (!kthread_should_stop()) {
		wait_event_interruptible(trigger_wq, triggered());
		flush_signals(current);
		if (!kthread_should_stop())
			suspend_once();
	}
	return 0;
}

static irqreturn_t suspend_evtchn_irq(int irq, void *dev_id)
{
	atomic64_set(&trig_ns, ktime_get_boottime_ns());
	smp_mb__before_atomic();
	atomic_inc(&trig_seq);
	wake_up(&trigger_wq);
	return IRQ_HANDLED;
}

/* ---- the event channel ------------------------------------------------------------ */

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

int xlcp_suspend_start(void)
{
	struct task_struct *t = kthread_run(suspend_thread, NULL, "xlcp_suspend");
	int err;

	if (IS_ERR(t)) {
		pr_warn("cannot start the suspend thread: %ld\n", PTR_ERR(t));
		return PTR_ERR(t);
	}
	suspend_task = t;
	err = publish_evtchn();
	if (err) {
		pr_warn("cannot publish the suspend event channel: %d\n", err);
		/* a notification may have come between the bind and the failure */
		kthread_stop(suspend_task);
		suspend_task = NULL;
	}
	return err;
}

void xlcp_suspend_stop(void)
{
	mutex_lock(&suspend_lock);
	stopping = true;
	unpublish_evtchn();	/* no new notification after this */
	mutex_unlock(&suspend_lock);
	if (suspend_task)
		kthread_stop(suspend_task);	/* waits for a suspend in progress */
	suspend_task = NULL;
}
