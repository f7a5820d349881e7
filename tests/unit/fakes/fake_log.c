/*
 * fake_log.c - reading the fakes' call log (fakes.h): where an operation was called
 * first or last, to check the order of things (a group's restores before its unpauses).
 */
#include "fakes.h"

#include <string.h>

long fake_log_pos(const char *log, const char *prefix, int last)
{
    long found = -1;

    for (const char *l = log; *l;) {
        const char *nl = strchr(l, '\n');
        if (strncmp(l, prefix, strlen(prefix)) == 0) {
            found = l - log;
            if (!last)
                return found;
        }
        if (!nl)
            break;
        l = nl + 1;
    }
    return found;
}
