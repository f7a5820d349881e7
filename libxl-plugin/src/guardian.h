/*
 * guardian.h - the guardian: a small helper program (libxl-plugin/guardian/xlcp-guardian.c)
 * that undoes what a checkpoint has under way if the tool dies (even by SIGKILL) before it
 * could undo it itself: it resumes the domain we suspended, lets the device-mapper writes
 * we hold flow again, and puts back a thin volume whose re-point was cut short.
 *
 * The library starts it with posix_spawn (never a fork that goes on running our code: after
 * fork in a threaded process only async-signal-safe calls are allowed) and tells it, over
 * a socket, what is under way, one line at a time:
 *
 *   S <domid> <uuid>      a save of this domain is under way
 *   A                     libxl is asking that guest to suspend, now
 *   H <maj> <min>         we hold (suspended) this device-mapper device
 *   R <maj> <min>         ... and released it
 *   P <maj> <min> <id>    thin device <id> of pool <maj>:<min> is being re-pointed
 *   Q <maj> <min> <id>    ... and the re-point is done
 *   D                     done: nothing to undo
 *
 * On end of file without "D" it undoes what is still under way (see the helper for how).
 * Its path: XLCP_GUARDIAN in the environment (tests), else XLCP_GUARDIAN_PATH, set at build
 * time ($(LIBEXECDIR)/xl-checkpoint/xlcp-guardian).
 */
#ifndef XLCP_GUARDIAN_H
#define XLCP_GUARDIAN_H

#include <sys/types.h>

#include "err.h"

struct xlcp_guardian {
    pid_t pid; /* 0: none started */
    int fd;    /* our end of its socket */
};

/* Starts the helper and waits until it says it is ready; an error naming the helper's path
 * if it cannot run. Does nothing if it runs already. */
int xlcp_guardian_start(struct xlcp_guardian *g, struct xlcp_err *err);
/* Sends one line (printf style, with its '\n'). Never raises SIGPIPE. 0, or -1 if there
 * is no guardian (none started, or it went away). */
int xlcp_guardian_say(struct xlcp_guardian *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "D", then waits for it to exit. Nothing to do if none runs. */
void xlcp_guardian_stop(struct xlcp_guardian *g);

#endif
