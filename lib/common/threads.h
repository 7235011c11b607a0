/*
 * threads.h - OpenMP thread queries that also compile without OpenMP.
 */
#ifndef SOFTENT_THREADS_H
#define SOFTENT_THREADS_H

#ifdef _OPENMP
#include <omp.h>
#endif

static inline int se_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Threads in the current parallel region. */
static inline int se_thread_count(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* Threads a parallel region would get. */
static inline int se_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

#endif
