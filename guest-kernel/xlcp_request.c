// SPDX-License-Identifier: GPL-2.0
/*
 * xlcp_request.c - the request node data/checkpoint/request, written by dom0: watched,
 * read (hostile: bounded, strictly parsed), acted on once per value, dispatched to the
 * quiesce state machine (xlcp_quiesce.c). Garbage triggers nothing and is answered with
 * state "error - <reason>" unless something is frozen or armed.
 */
#define pr_fmt(fmt) "xlcp_guest: " fmt

#include <linux/kernel.h>
#include <linux/ctype.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "xlcp.h"

static DEFINE_MUTEX(req_lock);	/* last_req, stopping */
static char last_req[XLCP_XS_MAX_REQUEST + 1];	/* acted on once */
static bool stopping;
static bool watch_registered;
#define NOT_TEXT "\x01"		/* last_req of an oversized or binary value */

/* Strict check of a checkpoint id: [0-9]{8}T[0-9]{6}\.[0-9]{3}Z-[0-9a-f]{6} */
bool xlcp_valid_id(const char *s)
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

static void garbage(const char *why)
{
	pr_warn_ratelimited("ignoring request: %s\n", why);
	/* a frozen or armed guest stays so (its timeout still runs) */
	if (!xlcp_q_busy_frozen())
		xlcp_set_error(NULL, "%s", why);
}

static void handle_request(const char *req)
{
	char verb[sizeof(XLCP_XS_REQ_QUIESCE_AT_SUSPEND)], id[XLCP_XS_MAX_ID + 1];
	const char *sp = strchr(req, ' ');
	size_t vl;

	if (!sp || (vl = sp - req) >= sizeof(verb) ||
	    strlen(sp + 1) > XLCP_XS_MAX_ID)
		return garbage("request does not match its grammar");
	memcpy(verb, req, vl);
	verb[vl] = '\0';
	strscpy(id, sp + 1, sizeof(id));
	if (!xlcp_valid_id(id))
		return garbage("request does not match its grammar");

	if (!xlcp_quiesce_ok) {
		xlcp_set_error(id, "quiesce not available on this kernel");
		return;
	}
	if (!strcmp(verb, XLCP_XS_REQ_QUIESCE))
		xlcp_q_quiesce(id);
	else if (!strcmp(verb, XLCP_XS_REQ_THAW))
		xlcp_q_thaw(id);
	else if (!strcmp(verb, XLCP_XS_REQ_QUIESCE_AT_SUSPEND) && xlcp_light_ok)
		xlcp_q_arm(id);
	else if (!strcmp(verb, XLCP_XS_REQ_QUIESCE_AT_SUSPEND))
		xlcp_set_error(id, "no light suspend path: cannot quiesce at suspend");
	else
		garbage("request does not match its grammar");
}

/* Reads the request; NULL if absent, NOT_TEXT-marked if not acceptable text. */
static char *read_request(void)
{
	unsigned int len;
	char *v = xenbus_read(XBT_NIL, XLCP_XS_DIR, XLCP_XS_NODE_REQUEST, &len);

	if (IS_ERR(v))
		return NULL;
	if (len > XLCP_XS_MAX_REQUEST || strlen(v) != len) {
		kfree(v);
		return kstrdup(NOT_TEXT, GFP_KERNEL);
	}
	return v;
}

static void request_workfn(struct work_struct *w)
{
	char *v;

	mutex_lock(&req_lock);
	if (stopping)
		goto out;
	v = read_request();
	if (!v)
		goto out;	/* absent: nothing asked */
	if (strcmp(v, last_req)) {
		strscpy(last_req, v, sizeof(last_req));
		if (!strcmp(v, NOT_TEXT))
			garbage("request too long or not text");
		else
			handle_request(v);
	}
	kfree(v);
out:
	mutex_unlock(&req_lock);
}

static DECLARE_WORK(request_work, request_workfn);

static void request_changed(struct xenbus_watch *watch, const char *path,
			    const char *token)
{
	queue_work(xlcp_wq, &request_work);
}

static struct xenbus_watch request_watch = {
	.node = XLCP_XS_PATH_REQUEST,
	.callback = request_changed,
};

/* The request in xenstore now was written for someone else (before us): never act on it. */
void xlcp_request_forget(void)
{
	char *v = read_request();

	mutex_lock(&req_lock);
	strscpy(last_req, v ? v : "", sizeof(last_req));
	mutex_unlock(&req_lock);
	kfree(v);
}

int xlcp_request_start(void)
{
	int err;

	xlcp_request_forget();
	err = register_xenbus_watch(&request_watch);
	if (err) {
		pr_err("cannot watch %s: %d\n", XLCP_XS_PATH_REQUEST, err);
		return err;
	}
	watch_registered = true;
	return 0;
}

void xlcp_request_stop(void)
{
	mutex_lock(&req_lock);
	stopping = true;
	mutex_unlock(&req_lock);
	if (watch_registered)
		unregister_xenbus_watch(&request_watch);
	watch_registered = false;
	cancel_work_sync(&request_work);
}
