/* SPDX-License-Identifier: MIT */
/*
 * testutil: shared helpers for the Check suites: an in-process daemon on an
 * ephemeral port with a fresh database, fixtures written through the storage
 * API, an HTTP client (libcurl) and a runner for the modeld binary.
 */
#ifndef MODELD_TESTUTIL_H
#define MODELD_TESTUTIL_H

#include <check.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "server.h"
#include "suites_gen.h" /* prototypes of every X_suite() */

struct tserver {
    char dir[256];
    char db_path[300];
    char data_dir[300];
    struct app_config cfg;
    struct server *srv;
    uint16_t port;
};

/* Fresh temp dir + database; starts the daemon when workers >= 0 (0 = no
 * training threads are started... use 1+ to train). */
void tserver_start(struct tserver *ts, int workers);
/* Stop the daemon (if running); keep files when keep != 0 (restart tests). */
void tserver_stop(struct tserver *ts);
/* Start again on the same database and data dir. */
void tserver_restart(struct tserver *ts, int workers);
/* Remove the temp dir. */
void tserver_cleanup(struct tserver *ts);

/* Fixtures (through the storage API, on the server's database file). */
int64_t tfx_workspace(struct tserver *ts, const char *name);
int64_t tfx_project(struct tserver *ts, int64_t workspace, const char *name);
/* Creates a user and a token; token receives 64 hex chars + NUL. */
int64_t tfx_user(struct tserver *ts, const char *name, int read_only, char token[65]);
void tfx_member(struct tserver *ts, int64_t project, int64_t user, const char *role);
/* Labeling session with documents given as JSON lines text. */
int64_t tfx_session(struct tserver *ts, int64_t project, const char *name, const char *type,
                    const char *lang, const char *jsonl);

struct tresp {
    long status;
    char *body;
    size_t len;
    json_t *json; /* parsed body when it is JSON */
    char content_type[128];
    char location[256];
    char allow[128];
    char www_auth[256];
};
void tresp_release(struct tresp *r);

/* HTTP request to the test server. token/content_type/body may be NULL. */
void thttp(struct tserver *ts, const char *method, const char *path, const char *token,
           const char *content_type, const char *body, struct tresp *out);
/* Convenience: JSON body with Content-Type application/json. */
void tjson(struct tserver *ts, const char *method, const char *path, const char *token,
           const char *body, struct tresp *out);

/* Poll GET path until status (of the JSON "status" field) is one of the
 * space-separated values, or timeout seconds pass. Returns the last body. */
json_t *twait_status(struct tserver *ts, const char *path, const char *token, const char *until,
                     double timeout);

/* Run the modeld binary (MODELD_BIN) with argv (NULL-terminated, without
 * argv[0]); stdout into out. Returns the exit status. */
int trun(const char *const *args, char *out, size_t outlen);

/* Path of a shared data file, or NULL when absent (tests skip then). */
const char *tdata(const char *file, char *buf, size_t len);

/* Assert that a response is an RFC 9457 problem with the given status. */
void tassert_problem(const struct tresp *r, long status);

#endif
