/*
 * image.h - the memory image's sink: the hypervisor adapter writes the save stream into
 * a pipe; a thread of ours drains it into the image file, digesting as it goes.
 *
 * Why a pipe and not the file itself: the image is written once, read never (until a
 * restore), so the page cache only costs. The thread writes whole, aligned 4 MiB blocks
 * with O_DIRECT (where the file system allows it), digests them from the same buffer, and
 * never reads the file back: measured in nested dom0 (TCG), moving a 277 MB image that
 * way took 2.9 s of wall time and 3.9 s of CPU, against 3.6 s and 5.3 s (plus the
 * kernel's write-back) for a buffered write followed by a read-back digest; and with the
 * guest stopped or copied live, dom0's CPUs are what the copy waits for. The pipe also
 * holds the writer back when the disk is slower than the copy, instead of filling dom0's
 * memory with dirty pages. The stream is written front to back (it is made for sockets).
 *
 * A write error (a full file system) does not stop the writer: the thread keeps draining
 * the pipe, so that the copy ends the normal way and the guest is resumed by the usual
 * path; the error is reported by xlcp_image_sink_error() and xlcp_image_sink_finish().
 */
#ifndef XLCP_IMAGE_H
#define XLCP_IMAGE_H

#include <stdint.h>

#include "digest.h"
#include "err.h"

struct xlcp_image_sink;

/* Starts a sink writing into file_fd (left open) from offset 0, with digest alg. Gives the
 * pipe's write end in *write_fd, owned by the sink: hand it to the writer. */
int xlcp_image_sink_start(int file_fd, const char *alg, struct xlcp_image_sink **out, int *write_fd,
                          struct xlcp_err *err);
/* The writer is done: closes the write end. Does not wait. */
void xlcp_image_sink_writer_done(struct xlcp_image_sink *s);
/* Does not wait: the write error met so far (0 if none). */
int xlcp_image_sink_error(struct xlcp_image_sink *s, struct xlcp_err *err);
/* Closes the write end if still open, waits for the thread to drain the pipe, gives the
 * digest (hex) and the image's size, frees the sink. */
int xlcp_image_sink_finish(struct xlcp_image_sink *s, char hex_out[XLCP_DIGEST_HEX + 1],
                           uint64_t *bytes, struct xlcp_err *err);
/* Stops without a result (the copy failed) and frees the sink. */
void xlcp_image_sink_cancel(struct xlcp_image_sink *s);

#endif
