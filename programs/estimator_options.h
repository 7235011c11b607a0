/*
 * estimator_options.h - the estimator's options (--bins, --seed,
 * --calibration, --weighting, --min-count, --null, --null-seed, --correction,
 * --bootstrap, --bootstrap-seed, --level, --threads, --max-memory,
 * --spill-dir, --product), parsed in one place for estimate, analyze and trace so
 * that their spellings, ranges and messages cannot drift apart.
 */
#ifndef SOFTENT_PROGRAMS_ESTIMATOR_OPTIONS_H
#define SOFTENT_PROGRAMS_ESTIMATOR_OPTIONS_H

#include <getopt.h>

#include "softent.h"

/* getopt_long codes of their own range, so a command's other options can
 * use 256 .. ESTIMATOR_OPT_FIRST - 1. */
enum {
    ESTIMATOR_OPT_FIRST = 1024, OPT_BINS = ESTIMATOR_OPT_FIRST, OPT_SEED, OPT_CAL, OPT_WEIGHT, OPT_MINCOUNT,
    OPT_NULL, OPT_NULLSEED, OPT_CORRECTION, OPT_BOOTSTRAP, OPT_BOOTSEED, OPT_LEVEL, OPT_THREADS, OPT_MAXMEM, OPT_SPILL,
    OPT_PRODUCT,
    ESTIMATOR_OPT_LAST
};

/* Goes inside a struct option array. */
#define ESTIMATOR_LONGOPTS                                                                                      \
    {"bins", required_argument, 0, OPT_BINS}, {"seed", required_argument, 0, OPT_SEED},                         \
    {"calibration", required_argument, 0, OPT_CAL}, {"weighting", required_argument, 0, OPT_WEIGHT},           \
    {"min-count", required_argument, 0, OPT_MINCOUNT}, {"null", required_argument, 0, OPT_NULL},               \
    {"null-seed", required_argument, 0, OPT_NULLSEED}, {"threads", required_argument, 0, OPT_THREADS},         \
    {"max-memory", required_argument, 0, OPT_MAXMEM}, {"correction", required_argument, 0, OPT_CORRECTION}, \
    {"bootstrap", required_argument, 0, OPT_BOOTSTRAP}, {"bootstrap-seed", required_argument, 0, OPT_BOOTSEED}, \
    {"level", required_argument, 0, OPT_LEVEL}, {"spill-dir", required_argument, 0, OPT_SPILL}, \
    {"product", required_argument, 0, OPT_PRODUCT}

static inline int is_estimator_option(int c) { return c >= ESTIMATOR_OPT_FIRST && c < ESTIMATOR_OPT_LAST; }

/* One of them, c as getopt_long returned it, into p (or *threads): 0, or
 * the usage error's exit status ("softent CMD: ..." printed). */
int estimator_option(softent_params *p, int *threads, int c, const char *arg, const char *cmd);

#endif
