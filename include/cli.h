/* SPDX-License-Identifier: MIT */
/*
 * cli: the `modeld` command line: `serve`, the admin commands (migrate,
 * workspace, project, user, token, member, annotations import, base) and
 * `backup`, from one command table (src/cli.c). Each admin command applies
 * pending migrations and prints only the new id or token on stdout. Every
 * command has --help; `modeld help [COMMAND]` lists them. Options of `serve`
 * (and --db of every command) also come from MODELD_<OPTION> variables and a
 * config file (--config, MODELD_CONFIG): flag > environment > file > default.
 * Exit status: 0 done (and help), 1 an error (bad option or value, failed
 * command; reported on stderr naming what the user gave), 2 no such command.
 *
 * Thread-safety: call from the main thread only (serve installs signal handling).
 */
#ifndef MODELD_CLI_H
#define MODELD_CLI_H

/* Run the command line; returns the process exit status. */
int cli_main(int argc, char **argv);

#endif
