/* SPDX-License-Identifier: MIT */
/*
 * http: the only module that talks to libmicrohttpd. It runs the daemon
 * (internal thread pool), turns MHD callbacks into struct request /
 * struct response, enforces body size caps (413) and JSON syntax (400),
 * and logs one line per request (method, path, status, duration, request id;
 * never the token).
 *
 * Thread-safety: http_start/http_stop from one thread; requests are served
 * concurrently on MHD's threads.
 */
#ifndef MODELD_HTTP_H
#define MODELD_HTTP_H

#include <stdint.h>

#include "app.h"
#include "err.h"

struct http_server;

/* Listen on bind:port (port 0 = ephemeral). */
struct http_server *http_start(struct app *app, const char *bind, int port, int threads,
                               struct err *err);
/* The port actually bound. */
uint16_t http_port(const struct http_server *s);
/* Stop: end every event stream, then stop MHD, which closes all connections
 * (a reply still being sent is cut off; handlers already running finish
 * first). Frees s. Accepts NULL. */
void http_stop(struct http_server *s);

#endif
