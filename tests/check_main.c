/* SPDX-License-Identifier: MIT */
/*
 * The one Check runner: runs every suite (the list is generated at build
 * time from the `Suite *X_suite(void)` definitions in tests/check_*.c).
 * CK_RUN_SUITE=name runs only that suite; MODELD_SUITES="a b ..." only those
 * (the PostgreSQL runs of `make test`: the suites that reach the database).
 *
 * Check has no "skipped" result: tests that cannot run append their reason to
 * the file MODELD_SKIP_LOG (tskip in testutil.h; tests run in forked
 * children, so a file is how they tell the runner), and the runner ends with
 * "N skipped" and the reasons.
 */
#include <check.h>
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "suites_gen.h"
#include "testutil.h"

/* Print each distinct reason with its count, then "N skipped"; remove the log. */
static void report_skips(const char *path)
{
    char lines[64][512];
    int counts[64] = {0}, distinct = 0, total = 0;
    char line[512];
    FILE *f = fopen(path, "r");

    while (f && fgets(line, sizeof line, f)) {
        int i;

        line[strcspn(line, "\n")] = '\0';
        total++;
        for (i = 0; i < distinct && strcmp(lines[i], line) != 0; i++)
            ;
        if (i == distinct && distinct < 64)
            snprintf(lines[distinct++], sizeof lines[0], "%s", line);
        if (i < 64)
            counts[i]++;
    }
    if (f)
        fclose(f);
    unlink(path);
    for (int i = 0; i < distinct; i++)
        printf("skipped %dx: %s\n", counts[i], lines[i]);
    printf("%d skipped\n", total); /* the closing line */
}

/* 1 when the suite whose function is fn ("x_suite") is in the
 * space-separated list MODELD_SUITES ("x"), or the list is unset. */
static int suite_wanted(const char *fn)
{
    const char *list = getenv("MODELD_SUITES"), *p;
    size_t n = strlen(fn) - strlen("_suite");

    if (!list || !*list)
        return 1;
    for (p = list; *p;) {
        size_t k = strcspn(p, " ");

        if (k == n && strncmp(p, fn, n) == 0)
            return 1;
        p += k;
        p += strspn(p, " ");
    }
    return 0;
}

/* 1 when the suite is a white-box test of the SQLite backend, which has
 * nothing to say about PostgreSQL (MODELD_TEST_PG): it is left out with a
 * skip that names it. */
static int sqlite_only(const char *fn)
{
    static const char *const names[] = {"db_suite", "migrate_suite"};

    if (!tpg())
        return 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(fn, names[i]) == 0) {
            tskip("%.*s: a white-box suite of the SQLite backend, not run on PostgreSQL",
                  (int)(strlen(fn) - strlen("_suite")), fn);
            return 1;
        }
    return 0;
}

int main(void)
{
    SRunner *sr = srunner_create(NULL);
    char skips[] = "/tmp/modeld-skips.XXXXXX";
    int failed, fd = mkstemp(skips);

    if (fd < 0)
        return 2;
    close(fd);
    setenv("MODELD_SKIP_LOG", skips, 1);

    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_ALL) != 0)
        return 2;
    log_init(getenv("MODELD_TEST_LOG") ? LOG_LEVEL_INFO : LOG_LEVEL_OFF);
#define X(name)                                                                                    \
    if (suite_wanted(#name) && !sqlite_only(#name))                                                \
        srunner_add_suite(sr, name());
    SUITES(X)
#undef X
    if (tpg() && tpg_template_make() != 0)
        return 2;
    srunner_run_all(sr, CK_NORMAL);
    if (tpg())
        tpg_template_drop();
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    report_skips(skips);
    curl_global_cleanup();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
