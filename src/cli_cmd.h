/* SPDX-License-Identifier: MIT */
/*
 * cli_cmd: private to the command line (src/cli*.c). The command table's
 * types, the parsed invocation a command runs with, and the helpers every
 * command uses to read its options and report errors.
 *
 * Where a value comes from is kept with it, so every error names what the
 * user actually gave: `--port`, `MODELD_PORT` or `FILE:LINE: port`.
 * Options marked CLI_CONF are configuration: flag > environment
 * (MODELD_<NAME>, upper snake case) > config file (--config FILE or
 * MODELD_CONFIG) > the command's default.
 *
 * Thread-safety: main thread only.
 */
#ifndef MODELD_CLI_CMD_H
#define MODELD_CLI_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* Exit statuses: 0 done, 1 an error (a bad option or value, a failure), 2 the
 * command line names no command this binary has. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

#define CLI_MAX_OPTS 32

enum cli_opt_flags {
    CLI_CONF = 1 << 0, /* also MODELD_<NAME> and the config file's <name> key */
    CLI_REQ = 1 << 1,  /* required: checked before the command runs */
    CLI_MULTI = 1 << 2, /* a list: the flag may be given several times; its value is
                         * then the values joined with commas, the form the
                         * environment and the config file give a list in */
};

/* One long option; arg names its value ("FILE"), NULL for a flag. */
struct cli_opt {
    const char *name;
    const char *arg;
    unsigned flags;
    const char *help;
};

struct cli_run;

/* One command: name is one or two words ("serve", "token create"). opts ends
 * with a zeroed entry; operand names the one positional argument, if any. */
struct cli_cmd {
    const char *name;
    const char *summary;
    const char *operand;
    const struct cli_opt *opts;
    int (*run)(struct cli_run *r);
};

enum cli_src { CLI_SRC_NONE, CLI_SRC_FLAG, CLI_SRC_ENV, CLI_SRC_FILE };

struct cli_val {
    const char *val; /* borrowed from argv, the environment or the config text */
    enum cli_src src;
    int line; /* CLI_SRC_FILE */
};

/* A parsed invocation: vals[i] belongs to cmd->opts[i]. */
struct cli_run {
    const struct cli_cmd *cmd;
    struct cli_val vals[CLI_MAX_OPTS];
    const char *operand;
    const char *config_path; /* the config file read, or NULL */
    char *config_text;       /* owned: the file's text, values point into it */
    char *joined[CLI_MAX_OPTS]; /* owned: the values of a CLI_MULTI flag given again */
};

/* The commands of each group (defined in cli_admin.c, cli_import.c, cli_serve.c). */
int cli_cmd_migrate(struct cli_run *r);
int cli_cmd_workspace_create(struct cli_run *r);
int cli_cmd_project_create(struct cli_run *r);
int cli_cmd_user_create(struct cli_run *r);
int cli_cmd_token_create(struct cli_run *r);
int cli_cmd_token_revoke(struct cli_run *r);
int cli_cmd_member_add(struct cli_run *r);
int cli_cmd_member_set_role(struct cli_run *r);
int cli_cmd_member_remove(struct cli_run *r);
int cli_cmd_member_list(struct cli_run *r);
int cli_cmd_user_list(struct cli_run *r);
int cli_cmd_user_disable(struct cli_run *r);
int cli_cmd_user_enable(struct cli_run *r);
int cli_cmd_token_list(struct cli_run *r);
int cli_cmd_base_create(struct cli_run *r);
int cli_cmd_backup(struct cli_run *r);
int cli_cmd_import(struct cli_run *r);
int cli_cmd_serve(struct cli_run *r);

/* "modeld: " + the message + newline on stderr; returns CLI_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The value of option name (NULL when not given anywhere). name must be an
 * option of the command (asserted). */
const char *cli_get(const struct cli_run *r, const char *name);

/* How the user gave option name, for a message: "--port", "MODELD_PORT" or
 * "FILE:LINE: port" (into buf, returned). */
const char *cli_where(const struct cli_run *r, const char *name, char *buf, size_t len);

/* The value of a required option; NULL (after a message naming the flag,
 * and for configuration also its variable and key) when absent or empty. */
const char *cli_need(const struct cli_run *r, const char *name);

/* Report a bad value of option name: "<where> must be <must>, got '<value>'"; CLI_FAIL. */
int cli_bad(const struct cli_run *r, const char *name, const char *must);

/* Option name as an integer in [lo, hi] into *out: 1 when given, 0 when
 * absent (*out untouched), -1 after cli_bad(must) when it is not one. */
int cli_int(const struct cli_run *r, const char *name, int64_t lo, int64_t hi, const char *must,
            int64_t *out);

/* A required positive id: 0, or -1 after a message. */
int cli_need_id(const struct cli_run *r, const char *name, int64_t *out);

/* Open (and migrate) the database of --db; NULL after a message. */
struct db *cli_open_db(const struct cli_run *r);

#endif
