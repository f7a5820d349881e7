/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xlcp.h - what the parts of the xl-checkpoint guest module share: the kernel symbols it
 * looks up (typed from the kernel's own headers), its parameters, and the entry points
 * of each part (xlcp_main.c: load, symbols, publishing; xlcp_request.c: the request
 * node; xlcp_quiesce.c: freezing file systems; xlcp_suspend.c: the light suspend;
 * xlcp_stock.c: which suspend may take it, the stock path for the others).
 */
#ifndef XLCP_H
#define XLCP_H

#include <linux/fs.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/notifier.h>
#include <linux/workqueue.h>
#include <xen/xenbus.h>
#include <xen/xen-ops.h>
#include <xen/grant_table.h>
#include <xen/events.h>
#include <xen/hvc-console.h>

#include "xlcp_xs_proto.h"

#define XLCP_MAX_SB 32

/*
 * Functions and objects the kernel does not export to modules, found by name. Every
 * function pointer takes its type from the kernel's own declaration (typeof), so a
 * prototype that changes fails the build. The objects are private to drivers/xen; their
 * types are the ones they are defined with in Linux 6.1 (xenbus_xs.c, xenbus_comms.c,
 * manage.c).
 */
struct xlcp_syms {
	typeof(&xs_resume) xs_resume;
	typeof(&xs_suspend_cancel) xs_suspend_cancel;
	typeof(&gnttab_suspend) gnttab_suspend;
	typeof(&gnttab_resume) gnttab_resume;
	typeof(&xen_arch_suspend) xen_arch_suspend;
	typeof(&xen_arch_resume) xen_arch_resume;
	typeof(&xen_arch_pre_suspend) xen_arch_pre_suspend;
	typeof(&xen_arch_post_suspend) xen_arch_post_suspend;
	typeof(&xen_irq_resume) xen_irq_resume;
	typeof(&xen_timer_resume) xen_timer_resume;
	typeof(&xen_console_resume) xen_console_resume;
	typeof(&xen_manage_runstate_time) xen_manage_runstate_time;
	typeof(&iterate_supers) iterate_supers;
	struct raw_notifier_head *xen_resume_notifier;
	struct rw_semaphore *xs_watch_rwsem;
	struct mutex *xs_response_mutex;
	spinlock_t *xs_state_lock;
	unsigned int *xs_state_users;
	int *xs_suspend_active;
	wait_queue_head_t *xs_state_enter_wq;
	wait_queue_head_t *xs_state_exit_wq;
};

extern struct xlcp_syms ks;
extern struct bus_type *xlcp_frontend_bus;
extern struct workqueue_struct *xlcp_wq;
extern bool xlcp_light_ok;	/* the light path is offered */
extern bool xlcp_quiesce_ok;	/* iterate_supers found */

/* parameters (bounded: see xlcp_main.c) */
extern unsigned int quiesce_timeout_ms;
extern unsigned int armed_timeout_ms;
extern unsigned int freeze_timeout_ms;
extern unsigned int trigger_max_age_ms;
extern unsigned int test_suspend_delay_ms;
extern unsigned int test_freeze_delay_ms;

/* xlcp_main.c */
void xlcp_xs_put(const char *node, const char *fmt, ...) __printf(2, 3);
void xlcp_set_error(const char *id, const char *fmt, ...) __printf(2, 3);
void xlcp_sanitize(char *s);
int xlcp_publish(void);

/* xlcp_request.c */
bool xlcp_valid_id(const char *s);	/* a checkpoint id ($id) */
int xlcp_request_start(void);	/* registers the watch on the request node */
void xlcp_request_stop(void);
void xlcp_request_forget(void);	/* the current request value is not for us */

/* xlcp_quiesce.c: a set of file systems frozen by us, thawed oldest first */
struct xlcp_frozen {
	struct super_block *sb[XLCP_MAX_SB];	/* in freeze order: newest mount first */
	int n;
};
int xlcp_quiesce_init(void);
void xlcp_quiesce_exit(void);
int xlcp_freeze(struct xlcp_frozen *out, u64 deadline_ns);
void xlcp_thaw(struct xlcp_frozen *f);
bool xlcp_still_frozen(const struct xlcp_frozen *f);
/* the quiesce state machine, driven by requests (under its own mutex) */
void xlcp_q_quiesce(const char *id);
void xlcp_q_thaw(const char *id);
void xlcp_q_arm(const char *id);
bool xlcp_q_busy_frozen(void);	/* frozen or armed: garbage changes nothing */
/* the suspend takes an armed request (id copied out); false if none */
bool xlcp_q_take_armed(char *id, size_t len);
void xlcp_q_suspend_done(const char *id, const char *result);
void xlcp_q_after_new_domain(void);

/* xlcp_suspend.c */
int xlcp_suspend_start(void);	/* allocates, binds and publishes the event channel */
void xlcp_suspend_stop(void);	/* unpublishes it and waits for the suspend work */
void xlcp_after_stock_restore(void);	/* the stock path resumed us in a new domain */

/* xlcp_stock.c: announced suspends, the hand-over to the stock path, stock resumes */
int xlcp_stock_start(void);	/* the announcement watch, the PM device */
void xlcp_stock_stop(void);
void xlcp_announce_forget(void);	/* the announcement there now is not for us */
/* a fresh announcement is there: taken (id: its id, or "-" if none) */
bool xlcp_take_announcement(char *id, size_t len);
int xlcp_hand_to_stock(void);	/* control/shutdown = "suspend" */

#endif
