/*
 * group_proto.h - the line protocol between a group's coordinator and its agents
 * (libxl-plugin/man/group-agent.md): reading and writing one line at a time with a time
 * limit, and splitting a line into its words. Lines are printable ASCII, at most
 * XLCP_PROTO_LINE_MAX bytes, words separated by one space; anything else is refused.
 */
#ifndef XLCP_GROUP_PROTO_H
#define XLCP_GROUP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define XLCP_PROTO_VERSION 2
#define XLCP_PROTO_HELLO "xlcp-group-agent"
#define XLCP_PROTO_LINE_MAX 1024
#define XLCP_PROTO_WORDS 16

struct xlcp_proto {
    int in_fd;
    int out_fd;
    char buf[2 * XLCP_PROTO_LINE_MAX];
    size_t len;
    int eof; /* the peer closed its end */
};

void xlcp_proto_init(struct xlcp_proto *p, int in_fd, int out_fd);
/* Writes one line (a newline is added). XLCP_EIO if the peer is gone. */
int xlcp_proto_send(struct xlcp_proto *p, struct xlcp_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 1 if a whole line is buffered (recv returns it without waiting). */
int xlcp_proto_has_line(const struct xlcp_proto *p);
/* Reads what is there into the buffer (one read; the fd was seen readable). */
int xlcp_proto_fill(struct xlcp_proto *p, struct xlcp_err *err);
/* Reads one line into line[XLCP_PROTO_LINE_MAX + 1] within timeout_ms (< 0: no limit):
 * 0, XLCP_ETIMEDOUT, XLCP_EIO (the peer is gone) or XLCP_EINVAL (a malformed line). */
int xlcp_proto_recv(struct xlcp_proto *p, int timeout_ms, char *line, struct xlcp_err *err);
/* Splits line in place into at most max words; the last word keeps the rest of the line
 * when rest is 1. Returns the number of words, or -1 (an empty word, too many). */
int xlcp_proto_split(char *line, char **words, int max, int rest);
/* The words from `from` on as the one text they were (split undone in place): a
 * message at the end of a line. "" if there are none. */
char *xlcp_proto_rest(char **words, int n, int from);
/* Numbers and names as the protocol writes them; 0 or -1. */
int xlcp_proto_u64(const char *s, uint64_t *v);
int xlcp_proto_i64(const char *s, int64_t *v);
/* 1 if s is a name the protocol carries: [A-Za-z0-9._:@+%=-]{1,255}. */
int xlcp_proto_name_ok(const char *s);
/* Milliseconds left until deadline_ms (CLOCK_MONOTONIC ms), at least 0. */
int xlcp_proto_left_ms(uint64_t deadline_ms);
uint64_t xlcp_proto_now_ms(void);

#endif
