/*
 * softent_correlate.h - measures of several models against their benchmark
 * scores (SPEC section 5, `softent correlate`): the statistics (ranks,
 * Pearson, Spearman, partial correlation on covariates, two-sided p-values
 * from Student's t, seeded permutation p-values and percentile bootstrap
 * intervals), and the readers of analyze/trace results and of a scores CSV.
 *
 * Same conventions as softent.h: status codes, softent_last_error() for the
 * detail (naming the file), no printing.  docs/correlate.md has the formats.
 */
#ifndef SOFTENT_CORRELATE_H
#define SOFTENT_CORRELATE_H

#include <stdint.h>

#include "softent.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- statistics ----------------------------------------------------------- */

/* Ranks 1..n of x [n], ties given the mean of their ranks (scipy's
 * rankdata "average").  NaN is refused (SOFTENT_E_INVALID). */
SOFTENT_API int softent_ranks(const double *x, int64_t n, double *ranks /* [n] */);

/* Pearson's r of x and y [n]; NaN when either is constant or n < 2. */
SOFTENT_API double softent_pearson(const double *x, const double *y, int64_t n);
/* Spearman's rho: Pearson's r of the ranks. */
SOFTENT_API double softent_spearman(const double *x, const double *y, int64_t n);

/* Partial correlation of x and y given k covariates z [k, n]: Pearson's r
 * of the residuals of least squares of x and of y on [1, z] (of their
 * ranks, and the covariates' ranks, when spearman).  SOFTENT_E_INVALID when
 * n < k + 3 or the covariates are collinear (with the intercept). */
SOFTENT_API int softent_partial_corr(const double *x, const double *y, int64_t n, const double *z, int k, int spearman,
                                     double *r);

/* The regularized incomplete beta function I_x(a, b) (continued fraction,
 * modified Lentz); NaN outside a, b > 0, 0 <= x <= 1. */
SOFTENT_API double softent_betainc(double a, double b, double x);
/* Two-sided p-value of a correlation r on df degrees of freedom (n - 2,
 * less one per covariate): P(|T| >= |t|), t = r sqrt(df / (1 - r^2)),
 * T ~ Student's t(df) (what scipy.stats.pearsonr/spearmanr report). */
SOFTENT_API double softent_corr_p_t(double r, double df);

/* Row j of bootstrap resample b over n models: splitmix64 of the seed,
 * b and j (docs/correlate.md gives it exactly), mod n. */
SOFTENT_API int64_t softent_bootstrap_index(uint64_t seed, int64_t b, int64_t j, int64_t n);

/* Two-sided permutation p-value of r(x, y): y permuted by R Fisher-Yates
 * shuffles drawn from PCG64 seeded by seed (the same R for every call with
 * that seed), p = (1 + #{|r_perm| >= |r| - 1e-12}) / (R + 1). */
SOFTENT_API int softent_corr_p_perm(const double *x, const double *y, int64_t n, int spearman, int64_t R, uint64_t seed,
                                    double *p);
/* Percentile bootstrap interval of r(x, y) at level (e.g. 0.95) over B
 * resamples of the models (softent_bootstrap_index); a resample where r is
 * undefined (a constant column) is skipped and counted in *skipped.  lo/hi
 * interpolate linearly between order statistics (NumPy's percentile).
 * NaN when fewer than 2 resamples are defined. */
SOFTENT_API int softent_corr_bootstrap(const double *x, const double *y, int64_t n, int spearman, int64_t B, uint64_t seed,
                                       double level, double *lo, double *hi, int64_t *skipped);

/* The partial correlation's two tests (x, y, z, k and spearman as in
 * softent_partial_corr).  The permutation p-value is Freedman and Lane's:
 * y's residuals on [1, z] permuted by the R shuffles of
 * softent_corr_p_perm and projected off [1, z] again, p = (1 + #{|r_perm| >= |r| - 1e-12}) /
 * (R + 1).  The bootstrap resamples whole models (x, y and every covariate
 * together, softent_bootstrap_index) and ranks within each resample; a
 * resample with collinear covariates or a constant column is skipped and
 * counted in *skipped. */
SOFTENT_API int softent_partial_p_perm(const double *x, const double *y, int64_t n, const double *z, int k, int spearman,
                                       int64_t R, uint64_t seed, double *p);
SOFTENT_API int softent_partial_bootstrap(const double *x, const double *y, int64_t n, const double *z, int k, int spearman,
                                          int64_t B, uint64_t seed, double level, double *lo, double *hi, int64_t *skipped);

/* ---- inputs --------------------------------------------------------------- */

/* One model's measures, read from an analysis.json (one model) or a
 * trajectory.json (a model per checkpoint). */
typedef struct {
    char *name;     /* the model's path (analyze), PATH@STEP (trace), owned */
    char *alias;    /* basename of the model path (analyze), BASENAME(run)@STEP (trace), owned */
    char *source;   /* the JSON file, owned */
    int corrected;  /* a null ran: the values are I - null mean */
    double *values; /* [n_measures of the set], NaN where undefined */
} softent_corr_model;

typedef struct {
    int n_models;
    softent_corr_model *models; /* [n_models] */
    int n_measures;
    char **measures;            /* [n_measures] "complexity_n1", "H", ..., owned */
    int *plugin_only;           /* [n_measures] 1 when no model had a null for it */
    char *over;                 /* which layers the values are the mean of, owned */
    char *notes;                /* measures left out and why ("" when none), owned */
} softent_corr_results;

/* Read results from paths [n_paths].  layer_lo <= layer_hi selects the
 * mean over those layers (each must be present); layer_lo < 0 takes the
 * files' own layer means (layers >= 1).  Measures: H; per order n
 * complexity (I_in), expressivity (I_out), optimality; per order n with n-1
 * also measured dI_in, dI_out (context width); preference information
 * when a result holds it.  A measure is corrected for every model when
 * every model had a null, plug-in for every model otherwise. */
SOFTENT_API int softent_corr_read_results(softent_corr_results *res, const char *const *paths, int n_paths, int layer_lo,
                                          int layer_hi);
SOFTENT_API void softent_corr_results_free(softent_corr_results *res);

/* Benchmark scores of models: a matrix model x column, from a tidy CSV
 * (header model,benchmark,score[,baseline]) or a wide one (model,B1,B2,...). */
typedef struct {
    int n_rows, n_cols;
    char **rows;       /* [n_rows] model names, owned */
    char **cols;       /* [n_cols] benchmark names, owned */
    double *scores;    /* [n_rows, n_cols], NaN where missing */
    double *baselines; /* [n_cols], NaN where none given */
    int tidy;
    char *source;      /* the CSV's path, owned */
} softent_corr_scores;

SOFTENT_API int softent_corr_read_scores(softent_corr_scores *s, const char *path);
SOFTENT_API void softent_corr_scores_free(softent_corr_scores *s);

/* ---- the study ------------------------------------------------------------ */

typedef struct {
    int64_t permutations; /* R, 0 for none */
    int64_t bootstrap;    /* B, 0 for none */
    uint64_t seed;
    double level;         /* of the bootstrap interval */
} softent_corr_params;

/* One measure against one target (a benchmark or the aggregate). */
typedef struct {
    int64_t n;
    double spearman, spearman_p_t, spearman_p_perm, spearman_lo, spearman_hi;
    double pearson, pearson_p_t, pearson_p_perm, pearson_lo, pearson_hi;
    double partial, partial_p_t, partial_p_perm, partial_lo, partial_hi; /* NaN without covariates */
    int64_t boot_skipped_s, boot_skipped_p, boot_skipped_partial;
} softent_corr_stat;

typedef struct {
    int n_models;
    int *row_of;          /* [n_models] the scores row of each model */
    int n_targets;        /* benchmarks + 1: the aggregate is the last */
    char **targets;       /* [n_targets], owned */
    double *target;       /* [n_targets, n_models] scores (the aggregate: normalised mean) */
    double *normalised;   /* [n_targets - 1, n_models] 100 (s - b) / (top - b), clipped at 0 */
    double *baselines;    /* [n_targets - 1] the baselines used */
    double *tops;         /* [n_targets - 1] 1 (fractions) or 100 (percentages) */
    int n_covariates;
    char **covariates;    /* [n_covariates], owned */
    double *cov;          /* [n_covariates, n_models] */
    int n_measures;
    softent_corr_stat *stats; /* [n_measures, n_targets] */
} softent_corr_study;

/* Join res to scores by name (a scores row matches a model's name or its
 * alias), set aside the columns named in covariates [n_cov] as covariates,
 * apply the baselines (bench_names/bench_values [n_base] override the
 * CSV's; a benchmark with none has baseline 0), and compute every measure x
 * target statistic.  Refused with a detail that lists what is wrong:
 * models with no scores row, fewer than 4 models, a missing or NaN score,
 * a constant measure, benchmark or covariate. */
SOFTENT_API int softent_corr_study_run(softent_corr_study *st, const softent_corr_results *res, const softent_corr_scores *s,
                                       const char *const *covariates, int n_cov, const char *const *bench_names,
                                       const double *bench_values, int n_base, const softent_corr_params *p);
SOFTENT_API void softent_corr_study_free(softent_corr_study *st);

#ifdef __cplusplus
}
#endif
#endif
