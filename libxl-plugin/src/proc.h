/*
 * proc.h - for the helper processes the adapters fork without exec (guardians).
 */
#ifndef XLCP_PROC_H
#define XLCP_PROC_H

/* In a freshly forked child: moves fd to 3 and closes every descriptor above it, so that
 * the child holds no end of its parent's other pipes (their readers must see EOF when the
 * parent dies). Returns the new descriptor, 3. */
int xlcp_child_keep_only(int fd);

#endif
