/*
 * check.h - the C unit tests' harness: one main per tests/c/test_*.c, each
 * check a function run by RUN(), printing "PASS name" or "FAIL name: why"
 * as tests/run.sh expects.  CHECK stops the check at its first failure.
 */
#ifndef SOFTENT_TESTS_CHECK_H
#define SOFTENT_TESTS_CHECK_H

#include <stdio.h>

static const char *check_name_ = "";
static int check_failed_; /* the running check has failed */
static int checks_failed_;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (!(cond)) {                                                    \
            printf("FAIL %s: %s:%d: ", check_name_, __FILE__, __LINE__); \
            printf(__VA_ARGS__);                                          \
            printf("\n");                                                 \
            check_failed_ = 1;                                            \
            return;                                                       \
        }                                                                 \
    } while (0)

#define RUN(fn)                                                   \
    do {                                                          \
        check_failed_ = 0;                                        \
        check_name_ = #fn;                                        \
        fn();                                                     \
        if (check_failed_) checks_failed_++;                      \
        else printf("PASS %s\n", #fn);                            \
        fflush(stdout);                                           \
    } while (0)

#define CHECKS_DONE() (checks_failed_ ? 1 : 0)

#endif
