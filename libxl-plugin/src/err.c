/*
 * err.c - building error messages (see err.h), and the names of codes and steps.
 */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void xlcp_err_clear(struct xlcp_err *e)
{
    if (!e)
        return;
    e->code = XLCP_OK;
    e->step = XLCP_STEP_NONE;
    e->msg[0] = '\0';
}

int xlcp_err_set(struct xlcp_err *e, int code, const char *fmt, ...)
{
    if (!e)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    e->code = code;
    return code;
}

int xlcp_err_prefix(struct xlcp_err *e, const char *fmt, ...)
{
    char prefix[XLCP_ERR_MSG_MAX];
    char old[XLCP_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof(old));
    if (old[0])
        snprintf(e->msg, sizeof(e->msg), "%s: %s", prefix, old);
    else
        snprintf(e->msg, sizeof(e->msg), "%s", prefix);
    return e->code;
}

static int code_from_errno(int errnum)
{
    switch (errnum) {
    case ENOENT:
        return XLCP_ENOTFOUND;
    case ENOSPC:
    case EDQUOT:
        return XLCP_ENOSPC;
    case EACCES:
    case EPERM:
    case EROFS:
        return XLCP_EPERM;
    case EINVAL:
        return XLCP_EINVAL;
    case EBUSY:
    case EWOULDBLOCK:
        return XLCP_EBUSY;
    case ETIMEDOUT:
        return XLCP_ETIMEDOUT;
    default:
        return XLCP_EIO;
    }
}

int xlcp_err_errno(struct xlcp_err *e, int errnum, const char *fmt, ...)
{
    char what[XLCP_ERR_MSG_MAX / 2];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return xlcp_err_set(e, code_from_errno(errnum), "%s: %s", what, strerror(errnum));
}

const char *xlcp_strerror(int code)
{
    switch (code) {
    case XLCP_OK:
        return "success";
    case XLCP_EINVAL:
        return "invalid argument";
    case XLCP_ENOTFOUND:
        return "not found";
    case XLCP_ESTATE:
        return "domain in wrong state";
    case XLCP_EBUSY:
        return "busy";
    case XLCP_ENOSPC:
        return "no space";
    case XLCP_ETIMEDOUT:
        return "timed out";
    case XLCP_ECORRUPT:
        return "corrupt checkpoint";
    case XLCP_EIO:
        return "I/O error";
    case XLCP_EUNSUPPORTED:
        return "unsupported";
    case XLCP_EHV:
        return "hypervisor error";
    case XLCP_EDISK:
        return "LVM error";
    case XLCP_EPERM:
        return "permission denied";
    case XLCP_EINTERNAL:
        return "internal error";
    default:
        return "unknown error";
    }
}

static const char *const step_names[XLCP_STEP__COUNT] = {
    [XLCP_STEP_PREPARE] = "prepare",
    [XLCP_STEP_QUIESCE] = "quiesce",
    [XLCP_STEP_LIVE_COPY] = "live-copy",
    [XLCP_STEP_SUSPEND] = "suspend",
    [XLCP_STEP_DISK_SNAPSHOT] = "disk-snapshot",
    [XLCP_STEP_RESUME] = "resume",
    [XLCP_STEP_THAW] = "thaw",
    [XLCP_STEP_COMMIT] = "commit",
};

const char *xlcp_step_name(xlcp_step step)
{
    if (step < 0 || step >= XLCP_STEP__COUNT)
        return "none";
    return step_names[step];
}

const char *xlcp_version(void)
{
    return XLCP_VERSION_STRING;
}
