/*
 * xlcp_xs_proto.h - constants of the xl-checkpoint xenstore protocol.
 * Generated from xenstore-schema/protocol.xml by xenstore-schema/gen-header.xsl.
 * Do not edit: change protocol.xml and regenerate. Paths are relative to
 * /local/domain/<domid>/. Per node: XLCP_XS_PATH_x (full relative path), _DIR_x and
 * _NODE_x (for xenbus_read(t, dir, node)), _MAX_x (value length in bytes, without NUL).
 */
#ifndef XLCP_XS_PROTO_H
#define XLCP_XS_PROTO_H

#define XLCP_XS_PROTOCOL 3
#define XLCP_XS_PROTOCOL_OLDEST 2
#define XLCP_XS_DIR "data/checkpoint"

#define XLCP_XS_MAX_ID 27
#define XLCP_XS_MAX_COUNT 10
#define XLCP_XS_MAX_REASON 128

/* data/checkpoint/feature (written by guest) */
#define XLCP_XS_PATH_FEATURE "data/checkpoint/feature"
#define XLCP_XS_DIR_FEATURE "data/checkpoint"
#define XLCP_XS_NODE_FEATURE "feature"
#define XLCP_XS_MAX_FEATURE 1

/* data/checkpoint/protocol (written by guest) */
#define XLCP_XS_PATH_PROTOCOL "data/checkpoint/protocol"
#define XLCP_XS_DIR_PROTOCOL "data/checkpoint"
#define XLCP_XS_NODE_PROTOCOL "protocol"
#define XLCP_XS_MAX_PROTOCOL 5

/* data/checkpoint/capabilities (written by guest) */
#define XLCP_XS_PATH_CAPABILITIES "data/checkpoint/capabilities"
#define XLCP_XS_DIR_CAPABILITIES "data/checkpoint"
#define XLCP_XS_NODE_CAPABILITIES "capabilities"
#define XLCP_XS_MAX_CAPABILITIES 64

/* data/checkpoint/request (written by toolstack) */
#define XLCP_XS_PATH_REQUEST "data/checkpoint/request"
#define XLCP_XS_DIR_REQUEST "data/checkpoint"
#define XLCP_XS_NODE_REQUEST "request"
#define XLCP_XS_MAX_REQUEST 48

/* data/checkpoint/state (written by guest) */
#define XLCP_XS_PATH_STATE "data/checkpoint/state"
#define XLCP_XS_DIR_STATE "data/checkpoint"
#define XLCP_XS_NODE_STATE "state"
#define XLCP_XS_MAX_STATE 192

/* data/checkpoint/last-id (written by guest) */
#define XLCP_XS_PATH_LAST_ID "data/checkpoint/last-id"
#define XLCP_XS_DIR_LAST_ID "data/checkpoint"
#define XLCP_XS_NODE_LAST_ID "last-id"
#define XLCP_XS_MAX_LAST_ID 27

/* data/checkpoint/downtime-ns (written by guest) */
#define XLCP_XS_PATH_DOWNTIME_NS "data/checkpoint/downtime-ns"
#define XLCP_XS_DIR_DOWNTIME_NS "data/checkpoint"
#define XLCP_XS_NODE_DOWNTIME_NS "downtime-ns"
#define XLCP_XS_MAX_DOWNTIME_NS 20

/* data/checkpoint/quiesce-result (written by guest) */
#define XLCP_XS_PATH_QUIESCE_RESULT "data/checkpoint/quiesce-result"
#define XLCP_XS_DIR_QUIESCE_RESULT "data/checkpoint"
#define XLCP_XS_NODE_QUIESCE_RESULT "quiesce-result"
#define XLCP_XS_MAX_QUIESCE_RESULT 192

/* data/checkpoint/dropped-triggers (written by guest) */
#define XLCP_XS_PATH_DROPPED_TRIGGERS "data/checkpoint/dropped-triggers"
#define XLCP_XS_DIR_DROPPED_TRIGGERS "data/checkpoint"
#define XLCP_XS_NODE_DROPPED_TRIGGERS "dropped-triggers"
#define XLCP_XS_MAX_DROPPED_TRIGGERS 10

/* data/checkpoint/drop-reason (written by guest) */
#define XLCP_XS_PATH_DROP_REASON "data/checkpoint/drop-reason"
#define XLCP_XS_DIR_DROP_REASON "data/checkpoint"
#define XLCP_XS_NODE_DROP_REASON "drop-reason"
#define XLCP_XS_MAX_DROP_REASON 128

/* data/checkpoint/suspend-announce (written by toolstack) */
#define XLCP_XS_PATH_SUSPEND_ANNOUNCE "data/checkpoint/suspend-announce"
#define XLCP_XS_DIR_SUSPEND_ANNOUNCE "data/checkpoint"
#define XLCP_XS_NODE_SUSPEND_ANNOUNCE "suspend-announce"
#define XLCP_XS_MAX_SUSPEND_ANNOUNCE 33

/* data/checkpoint/last-suspend (written by guest) */
#define XLCP_XS_PATH_LAST_SUSPEND "data/checkpoint/last-suspend"
#define XLCP_XS_DIR_LAST_SUSPEND "data/checkpoint"
#define XLCP_XS_NODE_LAST_SUSPEND "last-suspend"
#define XLCP_XS_MAX_LAST_SUSPEND 44

/* data/checkpoint/suspend-path (written by guest) */
#define XLCP_XS_PATH_SUSPEND_PATH "data/checkpoint/suspend-path"
#define XLCP_XS_DIR_SUSPEND_PATH "data/checkpoint"
#define XLCP_XS_NODE_SUSPEND_PATH "suspend-path"
#define XLCP_XS_MAX_SUSPEND_PATH 5

/* data/checkpoint/fallback-reason (written by guest) */
#define XLCP_XS_PATH_FALLBACK_REASON "data/checkpoint/fallback-reason"
#define XLCP_XS_DIR_FALLBACK_REASON "data/checkpoint"
#define XLCP_XS_NODE_FALLBACK_REASON "fallback-reason"
#define XLCP_XS_MAX_FALLBACK_REASON 128

/* device/suspend/event-channel (written by guest) */
#define XLCP_XS_PATH_EVENT_CHANNEL "device/suspend/event-channel"
#define XLCP_XS_DIR_EVENT_CHANNEL "device/suspend"
#define XLCP_XS_NODE_EVENT_CHANNEL "event-channel"
#define XLCP_XS_MAX_EVENT_CHANNEL 10

/* capability tokens */
#define XLCP_XS_CAP_QUIESCE "quiesce"
#define XLCP_XS_CAP_LIGHT_SUSPEND "light-suspend"
#define XLCP_XS_CAP_QUIESCE_AT_SUSPEND "quiesce-at-suspend"

/* request verbs */
#define XLCP_XS_REQ_QUIESCE "quiesce"
#define XLCP_XS_REQ_THAW "thaw"
#define XLCP_XS_REQ_QUIESCE_AT_SUSPEND "quiesce-at-suspend"

/* states */
#define XLCP_XS_STATE_IDLE "idle"
#define XLCP_XS_STATE_FROZEN "frozen"
#define XLCP_XS_STATE_THAWED "thawed"
#define XLCP_XS_STATE_ARMED "armed"
#define XLCP_XS_STATE_EXPIRED "expired"
#define XLCP_XS_STATE_ERROR "error"

/* the id written in an error state when the request had no readable id */
#define XLCP_XS_NO_ID "-"

#endif
