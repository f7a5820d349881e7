/*
 * err.h - error reports passed between the ports, the engine and the API.
 *
 * A port fills an xlcp_err with a code and its cause; the engine adds the domain and
 * the step ("dom 'web1' step disk-snapshot: lvcreate: ..."). Nothing here allocates.
 */
#ifndef XLCP_ERR_H
#define XLCP_ERR_H

#include "xlcheckpoint.h"

#define XLCP_ERR_MSG_MAX 1024

struct xlcp_err {
    int code;       /* xlcp_error */
    xlcp_step step; /* XLCP_STEP_NONE unless set by the engine */
    char msg[XLCP_ERR_MSG_MAX];
};

void xlcp_err_clear(struct xlcp_err *e);
/* Sets code and message (printf style); returns code, so `return xlcp_err_set(...)`. */
int xlcp_err_set(struct xlcp_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefixes the current message: "<prefix>: <old message>". Returns e->code. */
int xlcp_err_prefix(struct xlcp_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets from errno: "<what>: strerror(errno)", code chosen from errno. Returns code. */
int xlcp_err_errno(struct xlcp_err *e, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
