/*
 * proc.c - helpers for the processes the adapters fork without exec (see proc.h).
 */
#include "proc.h"

#include <unistd.h>

int xlcp_child_keep_only(int fd)
{
    if (fd != 3) {
        dup2(fd, 3);
        fd = 3;
    }
    for (int i = 4; i < 1024; i++)
        close(i);
    return fd;
}
