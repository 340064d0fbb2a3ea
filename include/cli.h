/* SPDX-License-Identifier: MIT */
/*
 * cli: the `modeld` command line: admin commands (migrate, workspace,
 * project, user, token, member, annotations import, base) and `serve`.
 * Each admin command applies pending migrations, prints only the new id or
 * token on stdout, and reports errors on stderr with exit status 1.
 *
 * Thread-safety: call from the main thread only (serve installs signal handling).
 */
#ifndef MODELD_CLI_H
#define MODELD_CLI_H

/* Run the command line; returns the process exit status. */
int cli_main(int argc, char **argv);

#endif
