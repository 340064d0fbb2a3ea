/* SPDX-License-Identifier: MIT */
/*
 * ceiling: the static HTTP ceiling of the HTTP benchmark (bench/http_bench.sh).
 * A libmicrohttpd daemon started exactly as src/http.c starts modeld's (internal
 * polling threads over epoll, a pool of --threads threads, suspend/resume and
 * inter-thread communication enabled, the same connection timeout, memory and
 * connection limits) that answers every request with one fixed 201 JSON body
 * after consuming the request body, with no database, routing or logging. What
 * modeld reaches as a fraction of this, measured in the same run, is the
 * benchmark's figure of merit: it factors out the machine and the client.
 *
 * Usage: ceiling PORT [THREADS]   (binds 127.0.0.1; THREADS default 4, as
 * `modeld serve --http-threads`). Runs until SIGINT or SIGTERM.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "banned.h"

/* A model-shaped body of the size of a small model view. */
static const char body[] =
    "{\"id\":1,\"project_id\":1,\"name\":\"ceiling\",\"display_name\":\"ceiling\","
    "\"type\":\"CLASS\",\"language\":\"de\",\"status\":\"QUEUED\",\"progress\":0,"
    "\"base_id\":null,\"annotation_ids\":[1],\"short_description\":null,"
    "\"created_at\":\"2026-01-01T00:00:00Z\",\"updated_at\":\"2026-01-01T00:00:00Z\"}";

/* Marker stored in the connection context once the first call has been seen. */
static int seen;

/*
 * MHD access handler: the first call of a request only marks it, body chunks
 * are consumed, and the last call queues the shared 201 response.
 */
static enum MHD_Result ceiling_access(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    struct MHD_Response *resp = cls;

    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    if (!*con_cls) {
        *con_cls = &seen;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    return MHD_queue_response(conn, 201, resp);
}

/* Parse a decimal in [lo, hi] or return -1. */
static long ceiling_parse(const char *s, long lo, long hi)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);

    if (!*s || *end || v < lo || v > hi)
        return -1;
    return v;
}

int main(int argc, char **argv)
{
    struct MHD_Response *resp = NULL;
    struct MHD_Daemon *d = NULL;
    struct sockaddr_in addr;
    sigset_t set;
    long port, threads = 4;
    int sig = 0, rc = 1;

    if (argc < 2 || argc > 3 || (port = ceiling_parse(argv[1], 1, 65535)) < 0 ||
        (argc == 3 && (threads = ceiling_parse(argv[2], 1, 64)) < 0)) {
        fprintf(stderr, "usage: ceiling PORT [THREADS]\n");
        return 2;
    }
    /* block the stop signals before MHD starts its threads, so only sigwait sees them */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    resp = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body,
                                           MHD_RESPMEM_PERSISTENT);
    if (!resp || MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                         "application/json") != MHD_YES) {
        fprintf(stderr, "ceiling: cannot build the response\n");
        goto out;
    }
    /* the flags and options of http_start() in src/http.c (without its callbacks) */
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                             MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC,
                         (uint16_t)port, NULL, NULL, ceiling_access, resp,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                         MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                         /* HTTP_CONN_MEMORY of src/http.c */
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
                         MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)256, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "ceiling: cannot listen on 127.0.0.1:%ld\n", port);
        goto out;
    }
    if (sigwait(&set, &sig) != 0)
        goto out;
    rc = 0;
out:
    if (d)
        MHD_stop_daemon(d);
    if (resp)
        MHD_destroy_response(resp);
    return rc;
}
