/*
 * xs_check.h - validator of a guest's xl-checkpoint xenstore subtree against the protocol
 * description (xenstore-schema/protocol.xml, embedded in the library).
 *
 * No Xen includes: the Xen adapter reads the live nodes (paths relative to
 * /local/domain/<domid>/, raw values, the guest's permissions) into an array of entries and
 * hands it here; `xl-checkpoint xs-check <domain>` prints the report. Values are hostile:
 * any bytes, any length; nothing here trusts them.
 */
#ifndef XLCP_XS_CHECK_H
#define XLCP_XS_CHECK_H

#include <stddef.h>

#define XLCP_XS_PERM_READ 1u
#define XLCP_XS_PERM_WRITE 2u
#define XLCP_XS_PERM_UNKNOWN 0x100u /* the reader could not get the permissions */

/* One node of the live subtree. */
struct xlcp_xs_entry {
    const char *path;         /* relative, e.g. "data/checkpoint/state" (NUL-terminated) */
    const char *value;        /* raw bytes (need not be NUL-terminated), NULL for a directory */
    size_t len;               /* bytes in value */
    unsigned int guest_perms; /* XLCP_XS_PERM_* the guest domain has on the node */
};

enum xlcp_xs_violation_kind {
    XLCP_XS_UNKNOWN_NODE = 1, /* a node under the protocol's directory the schema lacks */
    XLCP_XS_BAD_VALUE,        /* value does not match the node's grammar */
    XLCP_XS_TOO_LONG,         /* value longer than the node's maximum */
    XLCP_XS_MISSING,          /* a node mandatory in this situation is absent */
    XLCP_XS_BAD_STATE,        /* state inconsistent with the pending request */
    XLCP_XS_BAD_PERMS,        /* the guest lacks the access the protocol needs */
    XLCP_XS_BAD_VERSION,      /* protocol version outside the ones we speak */
};

#define XLCP_XS_MAX_VIOLATIONS 64
#define XLCP_XS_REPORT_PATH_MAX 128
#define XLCP_XS_REPORT_MSG_MAX 192

struct xlcp_xs_violation {
    enum xlcp_xs_violation_kind kind;
    char path[XLCP_XS_REPORT_PATH_MAX]; /* printable; truncated and escaped if hostile */
    char msg[XLCP_XS_REPORT_MSG_MAX];   /* printable; values are escaped (\xNN) */
};

struct xlcp_xs_report {
    int feature;        /* 1 if the guest advertises the module (feature == "1") */
    unsigned int count; /* violations found (may exceed the stored ones) */
    unsigned int stored;
    struct xlcp_xs_violation v[XLCP_XS_MAX_VIOLATIONS];
};

/*
 * Checks entries[0..n) (a snapshot of the guest's protocol directory plus
 * device/suspend/event-channel; other paths are ignored) against the embedded protocol.
 * Returns the number of violations (0: valid), or -1 if the embedded schema cannot be
 * loaded (out of memory): then out->msg of v[0] says why and count is 0.
 */
int xlcp_xs_check(const struct xlcp_xs_entry *entries, size_t n, struct xlcp_xs_report *out);

/* Frees an array of entries whose path and value were malloc'd (as the hv port gives). */
void xlcp_xs_entries_free(struct xlcp_xs_entry *entries, size_t n);

/* A short name of a violation kind ("unknown-node", "bad-value", ...). */
const char *xlcp_xs_violation_name(enum xlcp_xs_violation_kind k);

/* The embedded protocol.xml (NUL-terminated) and its version. */
extern const char xlcp_xs_protocol_xml[];
unsigned int xlcp_xs_protocol_version(void);

#endif
