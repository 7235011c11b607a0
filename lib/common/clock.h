/*
 * clock.h - the monotonic clock that progress reports and rates are timed
 * with (wall time can jump; this cannot).
 */
#ifndef SOFTENT_COMMON_CLOCK_H
#define SOFTENT_COMMON_CLOCK_H

#include <time.h>

/* Seconds since an arbitrary fixed point. */
static inline double se_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#endif
