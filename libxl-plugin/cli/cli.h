/*
 * cli.h - the xl-checkpoint command line as a library function, so that unit tests can
 * drive every subcommand in-process against a context built on fake ports.
 *
 * main.c passes a factory that opens a real context (xlcp_ctx_new); tests pass one that
 * wraps xlcp_ctx_new_with_ports. Output goes to `out`, errors (one line each) and
 * progress to `errout`. The return value is the process exit status (see XLCP_EXIT_*).
 */
#ifndef XLCP_CLI_H
#define XLCP_CLI_H

#include <stdio.h>

#include "xlcheckpoint.h"

/* Exit codes, documented in xl-checkpoint(1) and `xl-checkpoint help`. */
enum {
    XLCP_EXIT_OK = 0,
    XLCP_EXIT_FAILURE = 1,
    XLCP_EXIT_USAGE = 2,
    XLCP_EXIT_NOTFOUND = 3,
    XLCP_EXIT_STATE = 4,
    XLCP_EXIT_BUSY = 5,
    XLCP_EXIT_NOSPC = 6,
    XLCP_EXIT_TIMEDOUT = 7,
    XLCP_EXIT_CORRUPT = 8,
    XLCP_EXIT_UNSUPPORTED = 9,
    XLCP_EXIT_BACKEND = 10,
    XLCP_EXIT_PERM = 11,
};

/*
 * Opens a context on the catalog at catalog_root (NULL: the library's default, which
 * honours $XLCP_CATALOG_ROOT). Returns 0 or a negative xlcp_error; on failure *out may
 * still hold a context whose xlcp_last_error() explains why (the caller frees it).
 */
typedef int (*xlcp_cli_open_fn)(xlcp_ctx **out, const char *catalog_root, void *arg);

/* Runs `xl-checkpoint argv[1..]`. argv[0] is the program name; argv may be permuted. */
int xlcp_cli_main(int argc, char **argv, xlcp_cli_open_fn open_ctx, void *arg, FILE *out,
                  FILE *errout);

/* Exit status for an xlcp_error code. */
int xlcp_cli_exit_code(int xlcp_rc);

#endif
