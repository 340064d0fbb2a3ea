/* SPDX-License-Identifier: MIT */
/*
 * cli: the `modeld` command line (see cli.h). One table names every command
 * with its summary, its options and the function that runs it; getopt_long
 * parses the options of the command named by the first one or two words.
 * Options marked CLI_CONF are configuration and may also come from the
 * environment (MODELD_ + the option's name in upper snake case) and from a
 * config file (--config FILE or MODELD_CONFIG: `key = value` lines with the
 * options' names), with the precedence flag > environment > file > default.
 * Every value keeps where it came from, so an error names what the user
 * actually gave. The commands themselves live in cli_admin.c, cli_import.c
 * and cli_serve.c.
 */
#include "cli.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cli_cmd.h"
#include "log.h"
#include "util.h"
#include "banned.h" /* last: bans unsafe libc calls */

#define CONFIG_MAX_BYTES (1 << 20)

/* Options shared by several commands. */
#define OPT_DB {"db", "FILE", CLI_CONF | CLI_REQ, "the SQLite database file (created and migrated if needed)"}
#define OPT_END {NULL, NULL, 0, NULL}

static const struct cli_opt o_db_only[] = {OPT_DB, OPT_END};
static const struct cli_opt o_workspace_create[] = {
    OPT_DB, {"name", "NAME", CLI_REQ, "the workspace's name"}, OPT_END};
static const struct cli_opt o_project_create[] = {
    OPT_DB,
    {"workspace", "ID", CLI_REQ, "the workspace the project belongs to"},
    {"name", "NAME", CLI_REQ, "the project's name"},
    OPT_END};
static const struct cli_opt o_user_create[] = {
    OPT_DB,
    {"name", "NAME", CLI_REQ, "the user's name, unique"},
    {"read-only", NULL, 0, "the user may only read and predict, whatever their role"},
    OPT_END};
static const struct cli_opt o_token_create[] = {
    OPT_DB,
    {"user", "ID", CLI_REQ, "the user the token authenticates"},
    {"expires-in", "SECONDS", 0, "the token expires after that many seconds (default: never)"},
    OPT_END};
#define OPT_FORMAT {"format", "FORMAT", 0, "table, tsv or json (default: table on a terminal, tsv otherwise)"}
static const struct cli_opt o_token_revoke[] = {
    OPT_DB,
    {"token", "TOKEN", 0, "the token to revoke, as printed by token create"},
    {"id", "ID", 0, "the token to revoke, by the id token list shows"},
    {"user", "ID", 0, "revoke every token of this user"},
    OPT_END};
static const struct cli_opt o_member_add[] = {
    OPT_DB,
    {"project", "ID", CLI_REQ, "the project"},
    {"user", "ID", CLI_REQ, "the user"},
    {"role", "ROLE", CLI_REQ, "VIEWER, ANNOTATOR, MANAGER or OWNER; a user who is a member "
                              "already is an error (member set-role changes a role)"},
    OPT_END};
static const struct cli_opt o_member_set_role[] = {
    OPT_DB,
    {"project", "ID", CLI_REQ, "the project"},
    {"user", "ID", CLI_REQ, "the member"},
    {"role", "ROLE", CLI_REQ, "the new role: VIEWER, ANNOTATOR, MANAGER or OWNER"},
    OPT_END};
static const struct cli_opt o_member_remove[] = {
    OPT_DB, {"project", "ID", CLI_REQ, "the project"}, {"user", "ID", CLI_REQ, "the member"},
    OPT_END};
static const struct cli_opt o_member_list[] = {
    OPT_DB, {"project", "ID", CLI_REQ, "the project"}, OPT_FORMAT, OPT_END};
static const struct cli_opt o_user_list[] = {OPT_DB, OPT_FORMAT, OPT_END};
static const struct cli_opt o_user_id[] = {OPT_DB, {"user", "ID", CLI_REQ, "the user"}, OPT_END};
static const struct cli_opt o_token_list[] = {
    OPT_DB, {"user", "ID", 0, "only this user's tokens"}, OPT_FORMAT, OPT_END};
static const struct cli_opt o_import[] = {
    OPT_DB,
    {"project", "ID", CLI_REQ, "the project the labeling session belongs to"},
    {"name", "NAME", CLI_REQ, "the session's name"},
    {"type", "TYPE", CLI_REQ, "ABSA, CLASS, LABEL or CLASSLABEL"},
    {"language", "LANG", CLI_REQ, "en, de or ar"},
    OPT_END};
static const struct cli_opt o_base_create[] = {
    OPT_DB,
    {"name", "NAME", CLI_REQ, "the catalog entry's name"},
    {"language", "LANG", CLI_REQ, "en, de or ar"},
    {"from-model", "ID", 0, "copy the weights of this trained model"},
    OPT_END};
static const struct cli_opt o_backup[] = {
    OPT_DB,
    {"to", "FILE", CLI_REQ, "the copy to write (must not exist); artifacts go to FILE.artifacts/"},
    OPT_END};
static const struct cli_opt o_serve[] = {
    OPT_DB,
    {"bind", "ADDR", CLI_CONF, "IPv4 address to listen on (default 127.0.0.1)"},
    {"port", "PORT", CLI_CONF, "TCP port, 0 picks a free one (default 8080)"},
    {"workers", "N", CLI_CONF, "training threads, 0..64; 0 serves the API and trains nothing "
                               "(default: the number of cores)"},
    {"worker-nice", "N", CLI_CONF, "training threads run N nice steps below the request threads, "
                                   "0..19 (default 10)"},
    {"lease", "SECONDS", CLI_CONF, "how long a daemon's claim on its jobs lasts without a heartbeat "
                                   "(renewed every third of it); a dead daemon's jobs are taken "
                                   "back after it, 1..3600 (default 30)"},
    {"max-attempts", "N", CLI_CONF, "a job whose daemon died N times is FAILED instead of queued "
                                    "again, 1..100 (default 3)"},
    {"data-dir", "DIR", CLI_CONF, "where model artifacts are written (default <db dir>/artifacts)"},
    {"http-threads", "N", CLI_CONF, "HTTP worker threads, 1..64 (default 32)"},
    {"cors-origin", "ORIGIN", CLI_CONF | CLI_MULTI,
     "let pages on ORIGIN (like https://app.example.com) call the API from a browser; "
     "repeat it, or give a comma-separated list, for several; * admits any origin, "
     "without cookies"},
    {"session-ttl", "SECONDS", CLI_CONF, "how long a browser session (POST /session) lasts, "
                                         "60..2592000 (default 43200, 12 h)"},
    {"log-level", "LEVEL", CLI_CONF, "debug, info (one line per request), warn or error (default "
                                     "info)"},
    {"log-format", "FORMAT", CLI_CONF, "text, logfmt or json (default text)"},
    {"shutdown-grace", "SECONDS", CLI_CONF, "how long a stop waits for requests and event streams, "
                                            "0..3600 (default 10)"},
    {"head-timeout", "SECONDS", CLI_CONF, "time for a connection's next complete request head, "
                                          "1..3600 (default 10)"},
    {"body-timeout", "SECONDS", CLI_CONF, "a request body must bring 1 KiB per that many seconds, "
                                          "1..3600 (default 30)"},
    {"max-connections", "N", CLI_CONF, "open connections in all (default 4096)"},
    {"max-connections-per-ip", "N", CLI_CONF, "open connections per client address (default 256)"},
    {"metrics-token", "TOKEN", CLI_CONF, "GET /metrics needs 'Authorization: Bearer TOKEN' "
                                         "(16 characters or more)"},
    {"upload-budget", "MIB", CLI_CONF, "MiB of upload memory in flight in all, 1..65536 (default "
                                       "256)"},
    {"tls-cert", "FILE", CLI_CONF, "serve HTTPS with this PEM certificate (chain); with --tls-key"},
    {"tls-key", "FILE", CLI_CONF, "the PEM private key of --tls-cert"},
    OPT_END};

/*
 * The commands, in the order `modeld help` lists them. The listings print a
 * table on a terminal and tab-separated values otherwise (--format).
 */
static const struct cli_cmd commands[] = {
    {"serve", "run the daemon: the HTTP API and the training workers", NULL, o_serve,
     cli_cmd_serve},
    {"migrate", "apply pending migrations; print the schema version", NULL, o_db_only,
     cli_cmd_migrate},
    {"workspace create", "create a workspace; print its id", NULL, o_workspace_create,
     cli_cmd_workspace_create},
    {"project create", "create a project in a workspace; print its id", NULL, o_project_create,
     cli_cmd_project_create},
    {"user create", "create a user; print its id", NULL, o_user_create, cli_cmd_user_create},
    {"user list", "list the users (id, name, read-only, disabled, created)", NULL, o_user_list,
     cli_cmd_user_list},
    {"user disable", "disable a user: their tokens stop working at once; print the user's id",
     NULL, o_user_id, cli_cmd_user_disable},
    {"user enable", "enable a disabled user again; print the user's id", NULL, o_user_id,
     cli_cmd_user_enable},
    {"token create", "create a token for a user; print it (shown once, stored hashed)", NULL,
     o_token_create, cli_cmd_token_create},
    {"token list", "list tokens (id, user, created, expires, last used, revoked; never the "
                   "token)",
     NULL, o_token_list, cli_cmd_token_list},
    {"token revoke", "revoke a token (--token or --id; print its id) or all of a user's "
                     "(--user; print how many)",
     NULL, o_token_revoke, cli_cmd_token_revoke},
    {"member add", "give a user a role in a project; print the user's id", NULL, o_member_add,
     cli_cmd_member_add},
    {"member set-role", "change a member's role; print the user's id", NULL, o_member_set_role,
     cli_cmd_member_set_role},
    {"member remove", "remove a member from a project; print the user's id", NULL,
     o_member_remove, cli_cmd_member_remove},
    {"member list", "list a project's members (user id, name, role, read-only, disabled)", NULL,
     o_member_list, cli_cmd_member_list},
    {"annotations import", "import a labeling session from a JSON-lines file (- for stdin); "
                           "print its id",
     "FILE.jsonl", o_import, cli_cmd_import},
    {"base create", "add a base model to the catalog; print its id", NULL, o_base_create,
     cli_cmd_base_create},
    {"backup", "copy the database (online, consistent) and its model artifacts", NULL, o_backup,
     cli_cmd_backup},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

int cli_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("modeld: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_FAIL;
}

/* Index of option name in the command's table (asserted to exist). */
static size_t opt_index(const struct cli_cmd *cmd, const char *name)
{
    size_t i;

    for (i = 0; cmd->opts[i].name; i++)
        if (strcmp(cmd->opts[i].name, name) == 0)
            return i;
    assert(!"option not in the command's table");
    return 0;
}

/* MODELD_ + name in upper snake case into buf. */
static const char *env_name(const char *name, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "MODELD_%s", name);

    for (size_t i = 7; i < n && i < len; i++)
        buf[i] = buf[i] == '-' ? '_' : (char)toupper((unsigned char)buf[i]);
    return buf;
}

const char *cli_get(const struct cli_run *r, const char *name)
{
    return r->vals[opt_index(r->cmd, name)].val;
}

const char *cli_where(const struct cli_run *r, const char *name, char *buf, size_t len)
{
    const struct cli_val *v = &r->vals[opt_index(r->cmd, name)];

    if (v->src == CLI_SRC_ENV)
        return env_name(name, buf, len);
    if (v->src == CLI_SRC_FILE)
        snprintf(buf, len, "%s:%d: %s", r->config_path, v->line, name);
    else
        snprintf(buf, len, "--%s", name);
    return buf;
}

const char *cli_need(const struct cli_run *r, const char *name)
{
    size_t i = opt_index(r->cmd, name);
    const char *v = r->vals[i].val;
    char env[64];

    if (v && *v)
        return v;
    if (v) {
        char where[300];

        cli_fail("%s is empty", cli_where(r, name, where, sizeof(where)));
    } else if (r->cmd->opts[i].flags & CLI_CONF) {
        cli_fail("missing --%s (or %s, or '%s =' in a --config file)", name,
                 env_name(name, env, sizeof(env)), name);
    } else {
        cli_fail("missing --%s", name);
    }
    return NULL;
}

int cli_bad(const struct cli_run *r, const char *name, const char *must)
{
    char where[300];

    return cli_fail("%s must be %s, got '%s'", cli_where(r, name, where, sizeof(where)), must,
                    cli_get(r, name));
}

int cli_int(const struct cli_run *r, const char *name, int64_t lo, int64_t hi, const char *must,
            int64_t *out)
{
    const char *s = cli_get(r, name);

    if (!s)
        return 0;
    if (util_parse_i64(s, lo, hi, out) != 0) {
        cli_bad(r, name, must);
        return -1;
    }
    return 1;
}

int cli_need_id(const struct cli_run *r, const char *name, int64_t *out)
{
    if (!cli_need(r, name))
        return -1;
    return cli_int(r, name, 1, INT64_MAX, "a positive integer", out) == 1 ? 0 : -1;
}

struct db *cli_open_db(const struct cli_run *r)
{
    struct err err = {0};
    const char *path = cli_need(r, "db");
    struct db *db;

    if (!path)
        return NULL;
    db = db_open(path, 1, &err);
    if (!db) {
        char where[300];

        cli_fail("%s: %s", cli_where(r, "db", where, sizeof(where)), err.msg);
    }
    return db;
}

/* 1 when name is a configuration key of some command. */
static int config_key_known(const char *name)
{
    for (size_t c = 0; c < NCOMMANDS; c++)
        for (const struct cli_opt *o = commands[c].opts; o->name; o++)
            if ((o->flags & CLI_CONF) && strcmp(o->name, name) == 0)
                return 1;
    return 0;
}

/* Trim white space at both ends of s in place. */
static char *trim(char *s)
{
    size_t n;

    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/*
 * Read the config file (--config, else MODELD_CONFIG; none is fine) and fill
 * the command's CLI_CONF options that neither a flag nor the environment
 * gave. Keys of other commands' configuration are accepted and ignored (one
 * file serves `serve` and the admin commands); an unknown key, a line that is
 * not `key = value`, an empty value or a key given twice is an error naming
 * the file, the line and the key. Returns 0, or CLI_FAIL after a message.
 */
static int config_load(struct cli_run *r, const char *path, const char *from)
{
    int seen[CLI_MAX_OPTS] = {0};
    FILE *f = NULL;
    size_t n;
    char *line, *next;
    int lineno = 0;

    if (!path || !*path)
        return 0;
    r->config_path = path;
    f = fopen(path, "rb");
    if (!f)
        return cli_fail("cannot read the config file %s (%s): %s", path, from, strerror(errno));
    r->config_text = malloc(CONFIG_MAX_BYTES + 1);
    if (!r->config_text) {
        fclose(f);
        return cli_fail("out of memory");
    }
    n = fread(r->config_text, 1, CONFIG_MAX_BYTES + 1, f);
    if (ferror(f)) {
        int e = errno;

        fclose(f);
        return cli_fail("cannot read the config file %s (%s): %s", path, from, strerror(e));
    }
    fclose(f);
    if (n > CONFIG_MAX_BYTES)
        return cli_fail("the config file %s (%s) is larger than 1 MiB", path, from);
    r->config_text[n] = '\0';
    if (memchr(r->config_text, '\0', n))
        return cli_fail("%s: not a text file (a NUL byte)", path);
    for (line = r->config_text; line; line = next) {
        char *eq, *key, *val;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        line = trim(line);
        if (*line == '\0' || *line == '#')
            continue;
        eq = strchr(line, '=');
        if (!eq)
            return cli_fail("%s:%d: expected 'key = value', got '%s'", path, lineno, line);
        *eq = '\0';
        key = trim(line);
        val = trim(eq + 1);
        if (!config_key_known(key))
            return cli_fail("%s:%d: unknown key '%s' (keys are the long options of "
                            "`modeld serve --help`, without the dashes)",
                            path, lineno, key);
        if (*val == '\0')
            return cli_fail("%s:%d: %s has no value", path, lineno, key);
        for (size_t i = 0; r->cmd->opts[i].name; i++) {
            if (strcmp(r->cmd->opts[i].name, key) != 0)
                continue;
            if (seen[i])
                return cli_fail("%s:%d: %s is set twice (first on line %d)", path, lineno, key,
                                seen[i]);
            seen[i] = lineno;
            if (r->vals[i].src == CLI_SRC_NONE)
                r->vals[i] = (struct cli_val){val, CLI_SRC_FILE, lineno};
        }
    }
    return 0;
}

/* Print word (len bytes) at *col, breaking to indent first when it would pass column 79. */
static void put_word(FILE *out, const char *word, int len, int *col, int indent)
{
    if (*col != indent && *col + 1 + len > 79) {
        fprintf(out, "\n%*s", indent, "");
        *col = indent;
    } else if (*col != indent) {
        fputc(' ', out);
        (*col)++;
    }
    fprintf(out, "%.*s", len, word);
    *col += len;
}

/* text word-wrapped from column *col, continuation lines indented by indent. */
static void put_wrapped(FILE *out, const char *text, int *col, int indent)
{
    while (*text) {
        int len = (int)strcspn(text, " ");

        if (len > 0)
            put_word(out, text, len, col, indent);
        text += len;
        text += strspn(text, " ");
    }
}

/* The usage line of a command: required options bare, the others in brackets. */
static void print_synopsis(FILE *out, const struct cli_cmd *cmd, int col)
{
    char word[96];
    int indent = col + 7 + (int)strlen(cmd->name) + 1;

    col += fprintf(out, "modeld %s", cmd->name);
    for (const struct cli_opt *o = cmd->opts; o->name; o++) {
        int req = (o->flags & CLI_REQ) != 0;

        snprintf(word, sizeof(word), "%s--%s%s%s%s", req ? "" : "[", o->name, o->arg ? " " : "",
                 o->arg ? o->arg : "", req ? "" : "]");
        put_word(out, word, (int)strlen(word), &col, indent);
    }
    if (cmd->operand)
        put_word(out, cmd->operand, (int)strlen(cmd->operand), &col, indent);
    fputc('\n', out);
}

/* `modeld COMMAND --help`: usage, summary, every option with its variable. */
static void print_command_help(FILE *out, const struct cli_cmd *cmd)
{
    char env[64], left[64], tail[96];

    fputs("usage: ", out);
    print_synopsis(out, cmd, 7);
    fprintf(out, "\n%c%s.\n\noptions:\n", toupper((unsigned char)cmd->summary[0]),
            cmd->summary + 1);
    for (const struct cli_opt *o = cmd->opts; o->name; o++) {
        int col;

        snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        col = fprintf(out, "  %-26s ", left);
        if (col > 29) {
            fprintf(out, "\n%29s", "");
            col = 29;
        }
        put_wrapped(out, o->help, &col, 29);
        snprintf(tail, sizeof(tail), "%s%s%s%s", o->flags & CLI_REQ ? " (required)" : "",
                 o->flags & CLI_CONF ? " [" : "",
                 o->flags & CLI_CONF ? env_name(o->name, env, sizeof(env)) : "",
                 o->flags & CLI_CONF ? "]" : "");
        put_wrapped(out, tail, &col, 29);
        fputc('\n', out);
    }
    fprintf(out, "  %-26s %s\n  %-26s %s\n", "--config FILE",
            "read options from FILE [MODELD_CONFIG]", "-h, --help", "print this help and exit");
    fputs("\nAn option in [brackets] may also come from that environment variable or from the\n"
          "config file (key = value, the option's long name as the key). A flag wins over\n"
          "the environment, the environment over the file. See modeld(8).\n",
          out);
}

/* `modeld help`: every command with its summary. */
static void print_commands(FILE *out)
{
    fputs("usage: modeld COMMAND [OPTIONS]\n"
          "       modeld help [COMMAND]\n"
          "       modeld --version\n\n"
          "modeld trains text-analytics models over a REST API.\n\ncommands:\n",
          out);
    for (size_t c = 0; c < NCOMMANDS; c++)
        fprintf(out, "  %-20s %s\n", commands[c].name, commands[c].summary);
    fprintf(out, "  %-20s %s\n", "help [COMMAND]", "print this list, or a command's usage");
    fputs("\nRun 'modeld COMMAND --help' for a command's options. Every command reads\n"
          "--db from MODELD_DB or a config file (--config FILE, MODELD_CONFIG) too. See modeld(8).\n",
          out);
}

/*
 * Find the command named by argv[0] (and argv[1]): *words is set to how many
 * words it used. NULL after a message when there is none; *group_only is
 * set when argv[0] is a group needing a second word.
 */
static const struct cli_cmd *find_command(int argc, char **argv, int *words, int quiet)
{
    size_t glen = strlen(argv[0]);
    int group = 0;

    for (size_t c = 0; c < NCOMMANDS; c++) {
        const char *name = commands[c].name;

        if (strcmp(name, argv[0]) == 0) {
            *words = 1;
            return &commands[c];
        }
        if (strncmp(name, argv[0], glen) == 0 && name[glen] == ' ') {
            group = 1;
            if (argc > 1 && strcmp(name + glen + 1, argv[1]) == 0) {
                *words = 2;
                return &commands[c];
            }
        }
    }
    if (quiet)
        return NULL;
    if (!group) {
        cli_fail("unknown command '%s'", argv[0]);
    } else {
        fputs("modeld: ", stderr);
        if (argc > 1)
            fprintf(stderr, "unknown command '%s %s'; ", argv[0], argv[1]);
        else
            fprintf(stderr, "'%s' needs a subcommand; ", argv[0]);
        fprintf(stderr, "%s has:", argv[0]);
        for (size_t c = 0; c < NCOMMANDS; c++)
            if (strncmp(commands[c].name, argv[0], glen) == 0 && commands[c].name[glen] == ' ')
                fprintf(stderr, " %s", commands[c].name + glen + 1);
        fputc('\n', stderr);
    }
    fputs("Run 'modeld help' for the list of commands.\n", stderr);
    return NULL;
}

/* `modeld help [WORDS]`. */
static int cmd_help(int argc, char **argv)
{
    const struct cli_cmd *cmd;
    int words = 0, listed = 0;

    if (argc == 0) {
        print_commands(stdout);
        return CLI_OK;
    }
    cmd = find_command(argc, argv, &words, 1);
    if (cmd && words == argc) {
        print_command_help(stdout, cmd);
        return CLI_OK;
    }
    if (argc == 1) { /* a group: the usage of each of its commands */
        size_t glen = strlen(argv[0]);

        for (size_t c = 0; c < NCOMMANDS; c++) {
            if (strncmp(commands[c].name, argv[0], glen) == 0 && commands[c].name[glen] == ' ') {
                fputs(listed++ ? "       " : "usage: ", stdout);
                print_synopsis(stdout, &commands[c], 7);
            }
        }
        if (listed) {
            printf("\nRun 'modeld %s COMMAND --help' for the options of one.\n", argv[0]);
            return CLI_OK;
        }
    }
    if (!find_command(argc, argv, &words, 0))
        return CLI_USAGE;
    return cli_fail("help: unexpected argument '%s'", argv[words]);
}

/* A CLI_MULTI flag given once more: its value becomes the values so far and
 * value joined with a comma (owned by r). 0, or -1 when memory is short. */
static int join_flag(struct cli_run *r, size_t i, const char *value)
{
    size_t a = strlen(r->vals[i].val), b = strlen(value);
    char *s = malloc(a + b + 2);

    if (!s)
        return -1;
    memcpy(s, r->vals[i].val, a);
    s[a] = ',';
    memcpy(s + a + 1, value, b + 1);
    free(r->joined[i]);
    r->joined[i] = s;
    r->vals[i].val = s;
    return 0;
}

/*
 * Parse the options of cmd from argv (argv[0] is the command's last word),
 * then the environment and the config file. Returns -1 to go on, or an exit
 * status (help printed, or an error reported).
 */
static int parse(struct cli_run *r, int argc, char **argv)
{
    const struct cli_cmd *cmd = r->cmd;
    struct option longopts[CLI_MAX_OPTS + 3];
    const char *config = NULL;
    size_t n = 0;
    int ch;

    for (; cmd->opts[n].name; n++) {
        assert(n < CLI_MAX_OPTS);
        assert(!(cmd->opts[n].flags & CLI_CONF) || cmd->opts[n].arg);
        longopts[n] = (struct option){cmd->opts[n].name,
                                      cmd->opts[n].arg ? required_argument : no_argument, NULL,
                                      1000 + (int)n};
    }
    longopts[n] = (struct option){"config", required_argument, NULL, 'c'};
    longopts[n + 1] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[n + 2] = (struct option){NULL, 0, NULL, 0};
    optind = 0; /* glibc: start afresh */
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (ch == 'h') {
            print_command_help(stdout, cmd);
            return CLI_OK;
        }
        if (ch == 'c') {
            config = optarg;
        } else if (ch >= 1000 && (cmd->opts[ch - 1000].flags & CLI_MULTI) &&
                   r->vals[ch - 1000].src == CLI_SRC_FLAG) {
            if (join_flag(r, (size_t)(ch - 1000), optarg) != 0)
                return cli_fail("out of memory");
        } else if (ch >= 1000) {
            r->vals[ch - 1000] = (struct cli_val){cmd->opts[ch - 1000].arg ? optarg : "1",
                                                  CLI_SRC_FLAG, 0};
        } else if (ch == ':') {
            return cli_fail("%s: option --%s needs a value (see 'modeld %s --help')", cmd->name,
                            optopt >= 1000 ? cmd->opts[optopt - 1000].name : "config", cmd->name);
        } else if (optopt >= 1000) {
            return cli_fail("%s: option --%s takes no value", cmd->name,
                            cmd->opts[optopt - 1000].name);
        } else {
            const char *bad = argv[optind - 1];

            if (optopt && optopt != 'h')
                return cli_fail("%s: unknown option '-%c' (see 'modeld %s --help')", cmd->name,
                                optopt, cmd->name);
            return cli_fail("%s: unknown option '%.*s' (see 'modeld %s --help')", cmd->name,
                            (int)strcspn(bad, "="), bad, cmd->name);
        }
    }
    for (int i = optind; i < argc; i++) {
        if (!cmd->operand || r->operand)
            return cli_fail("%s: unexpected argument '%s'", cmd->name, argv[i]);
        r->operand = argv[i];
    }
    for (size_t i = 0; i < n; i++) {
        char env[64];
        const char *v;

        if (!(cmd->opts[i].flags & CLI_CONF) || r->vals[i].src != CLI_SRC_NONE)
            continue;
        v = getenv(env_name(cmd->opts[i].name, env, sizeof(env)));
        if (v && *v) /* an empty variable counts as unset */
            r->vals[i] = (struct cli_val){v, CLI_SRC_ENV, 0};
    }
    if (config) {
        if (!*config)
            return cli_fail("--config is empty");
        if (config_load(r, config, "--config") != 0)
            return CLI_FAIL;
    } else if (config_load(r, getenv("MODELD_CONFIG"), "MODELD_CONFIG") != 0) {
        return CLI_FAIL;
    }
    for (size_t i = 0; i < n; i++)
        if ((cmd->opts[i].flags & CLI_REQ) && !cli_need(r, cmd->opts[i].name))
            return CLI_FAIL;
    if (cmd->operand && !r->operand)
        return cli_fail("%s: missing the %s operand", cmd->name, cmd->operand);
    return -1;
}

int cli_main(int argc, char **argv)
{
    struct cli_run r;
    int words = 0, rc;

    if (sodium_init() < 0)
        return cli_fail("libsodium failed to initialize");
    log_init(LOG_LEVEL_INFO);
    if (argc < 2) {
        print_commands(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0)
        return cmd_help(argc - 2, argv + 2);
    if (strcmp(argv[1], "--version") == 0) {
        printf("modeld %s\n", MODELD_VERSION);
        return CLI_OK;
    }
    if (argv[1][0] == '-') {
        cli_fail("unknown option '%s' (a command comes first)", argv[1]);
        fputs("Run 'modeld help' for the list of commands.\n", stderr);
        return CLI_USAGE;
    }
    memset(&r, 0, sizeof(r));
    r.cmd = find_command(argc - 1, argv + 1, &words, 0);
    if (!r.cmd)
        return CLI_USAGE;
    rc = parse(&r, argc - words, argv + words);
    if (rc < 0)
        rc = r.cmd->run(&r);
    free(r.config_text);
    for (size_t i = 0; i < CLI_MAX_OPTS; i++)
        free(r.joined[i]);
    return rc;
}
