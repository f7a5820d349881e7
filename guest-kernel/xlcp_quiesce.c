// SPDX-License-Identifier: GPL-2.0
/*
 * xlcp_quiesce.c - freezing the guest's file systems, and the quiesce state machine of
 * the protocol (idle, frozen, armed; see xenstore-schema/protocol.xml).
 *
 * Freezes run in a worker of their own; whoever needs a freeze waits for it with a
 * deadline and no lock held. When the deadline passes first, the waiter takes over (and
 * thaws) what was frozen so far and the worker, when its freeze_super() eventually
 * returns, thaws that one itself: a hung freeze never blocks the thaw of the others,
 * the quiesce timeout, nor a suspend. Candidates: writable file systems on a block
 * device, not on a loop device (its backing file may live on a file system frozen
 * first), not already frozen; frozen newest mount first (a file system stacked on
 * another is flushed while the lower one still takes writes), thawed oldest first.
 */
#define pr_fmt(fmt) "xlcp_guest: " fmt

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/delay.h>
#include <linux/major.h>
#include <linux/completion.h>
#include <linux/timekeeping.h>

#include "xlcp.h"

/* ---- the freezer ------------------------------------------------------------------ */

struct sb_list {
	struct super_block *sb[XLCP_MAX_SB];	/* oldest mount first */
	int n;
	bool overflow;
};

static struct {
	spinlock_t lock;
	struct xlcp_frozen set;	/* frozen so far, not yet handed over */
	bool busy;		/* a worker runs (possibly abandoned and hung) */
	bool finished;
	bool abandoned;		/* the waiter gave up: the worker thaws from now on */
	int err;
	struct completion done;
} fz;
static struct workqueue_struct *freeze_wq;

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

static void freeze_workfn(struct work_struct *w)
{
	struct sb_list *l = kzalloc(sizeof(*l), GFP_KERNEL);
	int i, err = 0;

	if (!l)
		err = -ENOMEM;
	else
		ks.iterate_supers(collect_sb, l);
	if (l && l->overflow)
		err = -E2BIG;
	for (i = l ? l->n - 1 : -1; i >= 0; i--) {
		struct super_block *sb = l->sb[i];
		bool keep = false;
		int e;

		if (test_freeze_delay_ms && !err)
			msleep(test_freeze_delay_ms);	/* a slow freeze_super */
		spin_lock(&fz.lock);
		e = fz.abandoned ? -ETIMEDOUT : err;
		spin_unlock(&fz.lock);
		if (e) {
			deactivate_super(sb);
			continue;
		}
		e = freeze_super(sb);
		spin_lock(&fz.lock);
		if (!e && !fz.abandoned) {
			fz.set.sb[fz.set.n++] = sb;
			keep = true;
		}
		spin_unlock(&fz.lock);
		if (e) {
			pr_warn("freeze %s: %d\n", sb->s_id, e);
			err = e;
		} else if (!keep) {
			thaw_super(sb);	/* abandoned meanwhile */
		}
		if (!keep)
			deactivate_super(sb);
	}
	kfree(l);
	spin_lock(&fz.lock);
	fz.err = err;
	fz.finished = true;
	if (fz.abandoned)
		fz.busy = false;	/* nobody collects */
	/* under the lock: a next freeze reinitialises it only once busy is clear */
	complete(&fz.done);
	spin_unlock(&fz.lock);
}

static DECLARE_WORK(freeze_work, freeze_workfn);

/* Thaws f, oldest mount first, and drops our references. */
void xlcp_thaw(struct xlcp_frozen *f)
{
	while (f->n > 0) {
		struct super_block *sb = f->sb[--f->n];
		int err = thaw_super(sb);

		if (err)
			pr_warn("thaw %s: %d\n", sb->s_id, err);
		deactivate_super(sb);
	}
}

/*
 * Freezes every candidate file system before deadline_ns (CLOCK_BOOTTIME). 0: *out holds
 * them all, frozen. Else nothing is left frozen: -ETIMEDOUT (the worker did not finish
 * in time), -EBUSY (a previous freeze is still hung), or freeze_super's error.
 */
int xlcp_freeze(struct xlcp_frozen *out, u64 deadline_ns)
{
	u64 now = ktime_get_boottime_ns();
	int err;

	out->n = 0;
	spin_lock(&fz.lock);
	if (fz.busy) {
		spin_unlock(&fz.lock);
		return -EBUSY;
	}
	fz.busy = true;
	fz.finished = false;
	fz.abandoned = false;
	fz.err = 0;
	fz.set.n = 0;
	reinit_completion(&fz.done);
	spin_unlock(&fz.lock);
	queue_work(freeze_wq, &freeze_work);
	wait_for_completion_timeout(&fz.done,
				    nsecs_to_jiffies(deadline_ns > now ? deadline_ns - now : 0) + 1);
	spin_lock(&fz.lock);
	*out = fz.set;
	fz.set.n = 0;
	if (!fz.finished) {
		fz.abandoned = true;
		err = -ETIMEDOUT;
	} else {
		err = fz.err;
		fz.busy = false;
	}
	spin_unlock(&fz.lock);
	if (err)
		xlcp_thaw(out);
	return err;
}

/* True if every file system of f is still frozen (nobody thawed it behind our back). */
bool xlcp_still_frozen(const struct xlcp_frozen *f)
{
	int i;

	for (i = 0; i < f->n; i++)
		if (READ_ONCE(f->sb[i]->s_writers.frozen) != SB_FREEZE_COMPLETE)
			return false;
	return true;
}

/* ---- the state machine of the request node ------------------------------------- */

enum qstate { Q_IDLE, Q_FREEZING, Q_FROZEN, Q_ARMED, Q_SUSPENDING };

static DEFINE_MUTEX(qlock);	/* below; never held across a freeze or a suspend */
static enum qstate qs;
static char qid[XLCP_XS_MAX_ID + 1];
static struct xlcp_frozen held;	/* Q_FROZEN */
static unsigned long q_deadline;	/* jiffies: the quiesce timeout of Q_FROZEN, Q_ARMED */

static void timeout_workfn(struct work_struct *w);
static DECLARE_DELAYED_WORK(timeout_work, timeout_workfn);

static void start_timeout(unsigned int ms)
{
	unsigned long d = msecs_to_jiffies(ms);

	q_deadline = jiffies + d;
	mod_delayed_work(xlcp_wq, &timeout_work, d);
}

static void timeout_workfn(struct work_struct *w)
{
	mutex_lock(&qlock);
	if (time_before(jiffies, q_deadline))
		goto out;	/* rescheduled meanwhile: that instance acts */
	if (qs == Q_FROZEN) {
		pr_warn("no thaw for %s within %u ms: thawing\n", qid,
			quiesce_timeout_ms);
		xlcp_thaw(&held);
		qs = Q_IDLE;
		xlcp_xs_put(XLCP_XS_NODE_STATE, "thawed %s", qid);
	} else if (qs == Q_ARMED) {
		pr_warn("no suspend for %s within %u ms: expired\n", qid,
			armed_timeout_ms);
		qs = Q_IDLE;
		xlcp_xs_put(XLCP_XS_NODE_STATE, "expired %s", qid);
	}
out:
	mutex_unlock(&qlock);
}

/* "quiesce ID": freeze now, until "thaw" or the quiesce timeout. */
void xlcp_q_quiesce(const char *id)
{
	struct xlcp_frozen f;
	int err;

	mutex_lock(&qlock);
	if (qs == Q_FROZEN) {
		xlcp_thaw(&held);
		qs = Q_IDLE;
		xlcp_set_error(id, "already frozen for %s: thawed", qid);
		goto out;
	}
	if (qs == Q_FREEZING || qs == Q_SUSPENDING) {
		xlcp_set_error(id, "busy: a freeze or a suspend is in progress");
		goto out;
	}
	if (qs == Q_ARMED)
		pr_info("armed request %s dropped for quiesce %s\n", qid, id);
	qs = Q_FREEZING;
	strscpy(qid, id, sizeof(qid));
	mutex_unlock(&qlock);

	err = xlcp_freeze(&f, ktime_get_boottime_ns() +
				      (u64)freeze_timeout_ms * NSEC_PER_MSEC);

	mutex_lock(&qlock);
	if (err) {
		qs = Q_IDLE;
		xlcp_set_error(id, "freeze failed: %d", err);
		goto out;
	}
	held = f;
	qs = Q_FROZEN;
	start_timeout(quiesce_timeout_ms);
	pr_info("froze %d file system(s) for %s\n", held.n, id);
	xlcp_xs_put(XLCP_XS_NODE_STATE, "frozen %s", id);
	xlcp_xs_put(XLCP_XS_NODE_LAST_ID, "%s", id);
out:
	mutex_unlock(&qlock);
}

/* "thaw ID": thaw, or disarm; idempotent. */
void xlcp_q_thaw(const char *id)
{
	mutex_lock(&qlock);
	if (qs == Q_SUSPENDING || qs == Q_FREEZING) {
		xlcp_set_error(id, "busy: a freeze or a suspend is in progress");
		goto out;
	}
	if (qs == Q_FROZEN) {
		xlcp_thaw(&held);
		pr_info("thawed for %s\n", id);
	}
	qs = Q_IDLE;
	cancel_delayed_work(&timeout_work);
	xlcp_xs_put(XLCP_XS_NODE_STATE, "thawed %s", id);
out:
	mutex_unlock(&qlock);
}

/* "quiesce-at-suspend ID": freeze inside the next light suspend. */
void xlcp_q_arm(const char *id)
{
	mutex_lock(&qlock);
	if (qs == Q_FROZEN) {
		xlcp_set_error(id, "frozen for %s by a quiesce request", qid);
		goto out;
	}
	if (qs == Q_FREEZING || qs == Q_SUSPENDING) {
		xlcp_set_error(id, "busy: a freeze or a suspend is in progress");
		goto out;
	}
	qs = Q_ARMED;
	strscpy(qid, id, sizeof(qid));
	start_timeout(armed_timeout_ms);
	xlcp_xs_put(XLCP_XS_NODE_STATE, "armed %s", id);
	xlcp_xs_put(XLCP_XS_NODE_LAST_ID, "%s", id);
out:
	mutex_unlock(&qlock);
}

bool xlcp_q_busy_frozen(void)
{
	return READ_ONCE(qs) != Q_IDLE;
}

bool xlcp_q_take_armed(char *id, size_t len)
{
	bool armed;

	mutex_lock(&qlock);
	armed = qs == Q_ARMED;
	if (armed) {
		qs = Q_SUSPENDING;
		cancel_delayed_work(&timeout_work);
		strscpy(id, qid, len);
	}
	mutex_unlock(&qlock);
	return armed;
}

/* The suspend that took the armed request is over: result first, then the state. */
void xlcp_q_suspend_done(const char *id, const char *result)
{
	mutex_lock(&qlock);
	if (qs == Q_SUSPENDING)
		qs = Q_IDLE;
	xlcp_xs_put(XLCP_XS_NODE_QUIESCE_RESULT, "%s", result);
	xlcp_xs_put(XLCP_XS_NODE_STATE, "thawed %s", id);
	mutex_unlock(&qlock);
}

/* Resumed in a new domain: what the old life froze or armed is not for this one. */
void xlcp_q_after_new_domain(void)
{
	mutex_lock(&qlock);
	if (qs == Q_FROZEN) {
		pr_warn("restored while frozen for %s: thawing\n", qid);
		xlcp_thaw(&held);
	}
	if (qs == Q_FROZEN || qs == Q_ARMED)
		qs = Q_IDLE;
	cancel_delayed_work(&timeout_work);
	mutex_unlock(&qlock);
}

int xlcp_quiesce_init(void)
{
	spin_lock_init(&fz.lock);
	init_completion(&fz.done);
	freeze_wq = alloc_ordered_workqueue("xlcp_freeze", WQ_MEM_RECLAIM);
	return freeze_wq ? 0 : -ENOMEM;
}

/* Thaws what is frozen; waits for a hung freeze_super to return. */
void xlcp_quiesce_exit(void)
{
	cancel_delayed_work_sync(&timeout_work);
	mutex_lock(&qlock);
	if (qs == Q_FROZEN)
		xlcp_thaw(&held);
	qs = Q_IDLE;
	mutex_unlock(&qlock);
	destroy_workqueue(freeze_wq);
}
