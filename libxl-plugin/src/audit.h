/*
 * audit.h - one structured line per operation that changes something (create, delete,
 * restore, prune, recover, export) for the administrator's log: the journal when there is
 * one, else syslog. Written by the API layer after each operation, success or failure.
 */
#ifndef XLCP_AUDIT_H
#define XLCP_AUDIT_H

#include <stddef.h>
#include <stdint.h>

struct xlcp_audit_rec {
    const char *op;     /* "create", "delete", ... */
    const char *id;     /* checkpoint id, or NULL */
    const char *domain; /* domain name (or what the caller gave), or NULL */
    const char *uuid;   /* domain uuid, or NULL */
    int rc;             /* 0 or the xlcp_error of the operation */
    const char *msg;    /* the error message when rc != 0 */
    int64_t stop_us;    /* how long the guest was stopped (create), -1 if not known */
    int64_t bytes;      /* bytes written (create: memory image), -1 if not known */
    const char *extra;  /* more key=value pairs separated by spaces, or NULL */
};

/*
 * Where the line goes, by $XLCP_AUDIT:
 *   unset or "auto"  the journal if its socket exists, else syslog (facility daemon)
 *   "journal", "syslog"  that one
 *   "file:PATH"      appended to PATH (tests; hosts with neither)
 *   "off"            nowhere
 * Never fails the operation: a lost audit line is reported on stderr at most.
 */
void xlcp_audit(const struct xlcp_audit_rec *r);

/* The key=value text of r (what syslog and file sinks write), for tests. */
int xlcp_audit_format(const struct xlcp_audit_rec *r, char *buf, size_t len);

#endif
