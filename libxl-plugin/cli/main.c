/*
 * main.c - main() of the xl-checkpoint binary: runs the command line (cli.c) on a
 * context opened on this host's Xen, LVM and checkpoint catalog.
 */
#include <stdio.h>

#include "cli.h"

static int open_real(xlcp_ctx **out, const char *catalog_root, void *arg)
{
    xlcp_ctx_options opts;
    int rc;

    (void)arg;
    rc = xlcp_ctx_options_init(&opts, XLCP_CTX_OPTIONS_VERSION);
    if (rc)
        return rc;
    opts.catalog_root = catalog_root;
    return xlcp_ctx_new(out, &opts);
}

int main(int argc, char **argv)
{
    return xlcp_cli_main(argc, argv, open_real, NULL, stdout, stderr);
}
