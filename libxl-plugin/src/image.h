/*
 * image.h - digests a memory image while it is being written: the hypervisor adapter
 * writes the stream straight into the image file; a thread of ours follows behind the
 * writer, reading what has been written (from the page cache), digesting it
 * (xlcp_digest_default()) and starting its write-back. When the copy ends, the digest is
 * all but known and little is left to flush: the commit does not re-read hundreds of
 * megabytes, nor wait for them to reach the disk. The engine collects the digest at the
 * commit, after the guest runs again, so what the thread has not caught up with when the
 * copy ends never lengthens the guest's stop. The stream is written front to back (it is
 * made for sockets), so what lies behind the writer does not change.
 */
#ifndef XLCP_IMAGE_H
#define XLCP_IMAGE_H

#include <stdint.h>

#include "err.h"
#include "manifest.h"

struct xlcp_image_follower;

/* Starts following file_fd (which it does not close) from offset 0. */
int xlcp_image_follow_start(int file_fd, const char *alg, struct xlcp_image_follower **out,
                            struct xlcp_err *err);
/* The writer is done: digests the rest up to the end of the file, stops the thread and
 * gives the digest and size. */
int xlcp_image_follow_finish(struct xlcp_image_follower *f, char hex_out[XLCP_DIGEST_HEX + 1],
                             uint64_t *bytes, struct xlcp_err *err);
/* Stops the thread without a result (the copy failed). */
void xlcp_image_follow_cancel(struct xlcp_image_follower *f);

#endif
