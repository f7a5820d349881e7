/*
 * guest_proto.h - the toolstack's side of the guest module's suspend protocol that needs no
 * Xen (so that unit tests reach it): which protocol versions we use, the announcement of our
 * own suspend (data/checkpoint/suspend-announce) and the guest's report of how it served a
 * suspend notification (data/checkpoint/last-suspend). The Xen adapter (hv_xen_save.c,
 * hv_xen_guest.c) reads and writes the nodes; every value read from the guest is hostile.
 */
#ifndef XLCP_GUEST_PROTO_H
#define XLCP_GUEST_PROTO_H

#include <stddef.h>

/* How long an announcement is good for, from the guest's first sight of it: libxl's own wait
 * for the guest to suspend (libxl_dom_suspend.c: 60 s); we write it right before libxl
 * notifies the event channel. */
#define XLCP_ANNOUNCE_MS 60000u

/* The first protocol version whose guest takes the light path only when announced. */
#define XLCP_PROTOCOL_ANNOUNCE 3u

/* The protocol node's value as a version we use (XLCP_XS_PROTOCOL_OLDEST to
 * XLCP_XS_PROTOCOL): 1 and *proto set, else 0 (absent, garbage, another version). */
int xlcp_guest_protocol(const char *value, unsigned int *proto);

/* "ID MS" into buf; -1 if id is not a checkpoint id or buf is too small. */
int xlcp_announce_value(char *buf, size_t len, const char *id, unsigned int ms);

/* libxl's debug line just before it notifies the guest's suspend event channel
 * (libxl_dom_suspend.c: "issuing PV suspend request via event channel", "PVH/HVM"). */
int xlcp_libxl_notifies_evtchn(const char *msg);

/* How the guest says it served the last notification (last-suspend "PATH ID N"). */
enum xlcp_last_suspend {
    XLCP_LAST_NONE = 0, /* absent or not valid: the guest reported nothing usable */
    XLCP_LAST_LIGHT,    /* the light path, for the announcement of this id */
    XLCP_LAST_STOCK,    /* the kernel's stock path */
    XLCP_LAST_OTHER,    /* the light path for another id: not our suspend */
};
/* Parses value (len bytes, hostile) against id; *n gets N when valid. */
enum xlcp_last_suspend xlcp_last_suspend_parse(const char *value, size_t len, const char *id,
                                               unsigned long *n);

#endif
