/*
 * group_transport.h - the coordinator's connection to an agent: a child process
 * ($XLCP_SSH host $XLCP_AGENT_CMD) whose stdin and stdout are one socket of ours.
 */
#ifndef XLCP_GROUP_TRANSPORT_H
#define XLCP_GROUP_TRANSPORT_H

#include <sys/types.h>

#include "err.h"

struct xlcp_transport {
    pid_t pid;
    int fd; /* read and write */
};

int xlcp_transport_open(const char *host, struct xlcp_transport *t, struct xlcp_err *err);
int xlcp_transport_close(struct xlcp_transport *t, unsigned int wait_ms);

#endif
