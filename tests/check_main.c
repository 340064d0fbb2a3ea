/* SPDX-License-Identifier: MIT */
/*
 * The one Check runner: runs every suite (the list is generated at build
 * time from the `Suite *X_suite(void)` definitions in tests/check_*.c).
 * CK_RUN_SUITE=name runs only that suite.
 */
#include <check.h>
#include <curl/curl.h>
#include <sodium.h>
#include <stdlib.h>

#include "log.h"
#include "suites_gen.h"

int main(void)
{
    SRunner *sr = srunner_create(NULL);
    int failed;

    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_ALL) != 0)
        return 2;
    log_init(getenv("MODELD_TEST_LOG") ? LOG_LEVEL_INFO : LOG_LEVEL_OFF);
#define X(name) srunner_add_suite(sr, name());
    SUITES(X)
#undef X
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
