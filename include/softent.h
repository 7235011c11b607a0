/*
 * softent.h - the soft-entropy estimator.
 *
 * Reference points on the sphere, temperature calibration, a streaming
 * accumulator of soft bin assignments with named label sets, the measures
 * H(Z), H(Z|X), I(X;Z), a permutation null, and state files that merge
 * across shards.  See README.md and docs/ for the mathematics.
 *
 * Conventions: every function returns a softent_status (0 = SOFTENT_OK);
 * on failure softent_last_error() holds a one-line description (thread
 * local).  The library never prints and never exits.  Matrices are
 * row-major; shapes are written as [rows, cols] beside each argument.
 */
#ifndef SOFTENT_H
#define SOFTENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the library exports; everything else is hidden (-fvisibility=hidden). */
#if defined(__GNUC__)
#define SOFTENT_API __attribute__((visibility("default")))
#else
#define SOFTENT_API
#endif

#define SOFTENT_VERSION "0.1.0"
#define SOFTENT_MAX_ARITY 4 /* widest tuple a label key may be */

/* The first component of a key that means "this row has no label in this
 * label set": such a value is always dropped, whatever its count or
 * min_count, so its rows leave that set's H(Z), H(Z|X), I and rows (not
 * the header's H(Z), nor the other sets).  Under the permutation null it is
 * permuted with the other labels, like any dropped value.  Labels are token
 * or class ids, so a key whose first component is INT64_MIN is not
 * otherwise a label; it is not refused, only reserved.  It still counts as
 * one of the set's n_values (softent_acc_value lists it, h NaN). */
#define SOFTENT_NO_LABEL INT64_MIN

typedef enum {
    SOFTENT_OK = 0,
    SOFTENT_E_INVALID = 1,  /* an argument is out of range */
    SOFTENT_E_NOMEM = 2,    /* allocation failed */
    SOFTENT_E_IO = 3,       /* a file could not be opened, read or written */
    SOFTENT_E_FORMAT = 4,   /* a file's content is malformed */
    SOFTENT_E_ORDER = 5,    /* a call came before the one it depends on */
    SOFTENT_E_MISMATCH = 6, /* states or arrays that must agree do not */
    SOFTENT_E_NUMERIC = 7,  /* a numerical method did not converge */
    SOFTENT_E_LIMIT = 8,    /* the run would exceed max_memory */
    SOFTENT_E_EMPTY = 9,    /* no usable rows */
    SOFTENT_E_INTERRUPTED = 10 /* stopped on request (a signal), state saved */
} softent_status;

SOFTENT_API const char *softent_strerror(int status);
/* The detail of the last failure on this thread ("" when none). */
SOFTENT_API const char *softent_last_error(void);
/* Free what a call malloc'ed for the caller (token ids, a serialised
 * state): free() from C, this from another language, whose own free may
 * not be the library's allocator (a sanitizer's, say). */
SOFTENT_API void softent_free(void *p);

/* ---- temperature -------------------------------------------------------- */

typedef enum {
    SOFTENT_CAL_EXACT = 0,   /* KL(vMF_eps || U(S^{d-1})) = log m, solved exactly */
    SOFTENT_CAL_BOUND = 1,   /* the reference Python's find_eps (lower bound on KL) */
    SOFTENT_CAL_LEADING = 2, /* eps = 1 / sqrt(2 d ln m) */
    SOFTENT_CAL_FIXED = 3    /* a given eps */
} softent_calibration;

SOFTENT_API const char *softent_calibration_name(softent_calibration mode);
/* Parse "exact", "bound", "leading" or a positive number. */
SOFTENT_API int softent_calibration_parse(const char *s, softent_calibration *mode, double *eps_fixed);

/* eps for dimension d >= 2 and m >= 2 reference points.  FIXED is not
 * accepted here (there is nothing to compute). */
SOFTENT_API int softent_calibrate(softent_calibration mode, int64_t d, int64_t m, double *eps);

/* KL(vMF(kappa = 1/eps) on S^{d-1} || uniform), in nats. */
SOFTENT_API int softent_kl_vmf(double eps, int64_t d, double *kl);

/* ---- reference points --------------------------------------------------- */

/* The float64 draws of numpy.random.default_rng(seed).standard_normal(n). */
SOFTENT_API int softent_standard_normal(uint64_t seed, int64_t n, double *out /* [n] */);

/* Reference points: NumPy's standard_normal((m, d)) for this seed, each row
 * normalised in float64, then stored as float32. */
SOFTENT_API int softent_refpoints_gaussian(uint64_t seed, int64_t m, int64_t d, float *w /* [m, d] */);

/* ---- the accumulator ---------------------------------------------------- */

typedef enum {
    SOFTENT_WEIGHT_PROB = 0,   /* H(Z|X) = sum_x P(x) H(Z|X=x), as the reference code */
    SOFTENT_WEIGHT_UNIFORM = 1 /* mean of H(Z|X=x) over label values */
} softent_weighting;

/* Which bias correction gives the headline I (mi_corrected).  Every
 * correction is reported beside it where it was computed; the plug-in too.
 * docs/statistics.md compares them against ground truth. */
typedef enum {
    SOFTENT_CORRECT_CURVE = 0, /* each value's own running means (curve.h):
                                * always available, no extra memory */
    SOFTENT_CORRECT_NULL = 1,  /* I minus the permutation null's mean (needs
                                * null_perms > 0; over-corrects rare values) */
    SOFTENT_CORRECT_NONE = 2,  /* the plug-in */
    SOFTENT_CORRECT_TAYLOR = 3 /* Miller-Madow for soft counts: each value's H
                                * raised by sum_j var_j / (2 n_x mean_j) from
                                * its own variance (values under 5 rows take
                                * the pooled one); a second m-vector a value */
} softent_correction;

SOFTENT_API const char *softent_correction_name(softent_correction c);
/* Parse "curve", "taylor", "null" or "none". */
SOFTENT_API int softent_correction_parse(const char *s, softent_correction *c);

/* The arithmetic of the d-wide product of rows and reference points,
 * z.w_j (docs/estimator.md compares them). */
typedef enum {
    SOFTENT_PRODUCT_F32 = 0,   /* float32, by sgemm */
    SOFTENT_PRODUCT_BF16 = 1   /* rows and points rounded to bf16, float32
                                * accumulation (oneDNN, on AMX or AVX512-BF16;
                                * emulated exactly elsewhere): about 4x the
                                * float32 rate on AMX; opt-in, since the
                                * rounding moves H and I slightly */
} softent_product;

SOFTENT_API const char *softent_product_name(softent_product p);
/* Parse "f32" or "bf16". */
SOFTENT_API int softent_product_parse(const char *s, softent_product *p);

typedef struct {
    int64_t m;                       /* reference points (bins); 100 */
    uint64_t seed;                   /* reference points' seed; 0 */
    softent_calibration calibration; /* EXACT */
    double eps;                      /* used when calibration == FIXED */
    softent_weighting weighting;     /* PROB */
    int64_t min_count;               /* drop label values counted fewer times; 1 */
    int null_perms;                  /* R permutations for the null; 0 = none */
    uint64_t null_seed;              /* seed of the permutations; 0 */
    int64_t max_memory;              /* bytes; 0 = no limit */
    int per_value;                   /* keep H(Z|X=x) of values seen once
                                      * (8 bytes a value); 0 */
    softent_correction correction;   /* the headline's correction; CURVE */
    int null_sums;                   /* keep the null's sums per permutation
                                      * (R x stored vectors) so that saved
                                      * states carry and merge it; otherwise
                                      * the null is replayed from the stored
                                      * rows at finish; 0 */
    int bootstrap;                   /* B Poisson bootstrap replicates over
                                      * groups (softent_acc_count_groups, else
                                      * rows); 0 = none */
    uint64_t bootstrap_seed;         /* 0 */
    double level;                    /* the intervals' level; 0.95 */
    int null_groups;                 /* what the null permutes: 0 rows; 1
                                      * runs of consecutive rows of one group
                                      * (softent_acc_count_groups) that share
                                      * their labels, for labels of whole
                                      * documents or responses; 2 the same
                                      * runs, each group's only among
                                      * themselves (a paired design: swap
                                      * chosen and rejected within a pair) */
    int64_t null_reservoir;          /* the scaled null instead of
                                      * permutations: rows of a uniform
                                      * sample it keeps (4 m + 16 bytes a
                                      * row; SOFTENT_NULL_RESERVOIR, 16384,
                                      * is the CLI's); 0 = none.  Not with
                                      * null_perms or null_groups */
    const char *spill_dir;           /* the stored soft assignments that
                                      * null_perms and bootstrap replay (4 m
                                      * bytes a row) in an unlinked file in
                                      * this directory instead of memory:
                                      * page cache, which the kernel writes
                                      * out under pressure; NULL = memory.
                                      * Copied; not kept in state files */
    softent_product product;         /* the product's arithmetic; F32 */
} softent_params;

#define SOFTENT_NULL_RESERVOIR 16384

SOFTENT_API softent_params softent_default_params(void);

typedef struct softent_acc softent_acc;

/* A new accumulator for d-dimensional rows.  w [m, d] gives the reference
 * points (copied, rows need not be unit length: they are normalised); NULL
 * draws them from params->seed. */
SOFTENT_API int softent_acc_new(softent_acc **out, const softent_params *params, int64_t d, const float *w);
SOFTENT_API void softent_acc_free(softent_acc *acc);

/* Declare a label set whose keys are tuples of `arity` (1..4) integers.
 * *index receives its index.  Names are unique. */
SOFTENT_API int softent_acc_add_labelset(softent_acc *acc, const char *name, int arity, int *index);

/* Share the label sets (names, counts, slots) of `src`, which must outlive
 * `dst`: accumulators over the same rows, such as the layers of one model,
 * then hold one copy of the counts.  dst has no label sets yet; counting
 * through either counts for both, until either adds rows. */
SOFTENT_API int softent_acc_share_labels(softent_acc *dst, const softent_acc *src);

/* The counting pass: the label keys of consecutive rows, keys [n, arity].
 * Call it for the whole label array (at once or in pieces, in row order)
 * before the first softent_acc_add.  Counting lets a value seen once skip
 * its m-vector, and lets the null permute labels across all rows. */
SOFTENT_API int softent_acc_count(softent_acc *acc, int set, const int64_t *keys, int64_t n);

/* The group (document) of consecutive counted rows, groups [n], in the
 * order of softent_acc_count: the bootstrap resamples groups.  Optional;
 * without it each row is its own group.  Shared with softent_acc_share_labels. */
SOFTENT_API int softent_acc_count_groups(softent_acc *acc, const int64_t *groups, int64_t n);

/* Streaming labels (soft_h's acc.update(z, labels)): the keys of the next
 * n rows for every label set at once, keys[k] [n, arity of set k], with
 * their groups [n] (all batches with groups, or none), before those rows'
 * softent_acc_add or softent_acc_add_probs.  No counting pass: every value
 * holds an m-vector from its first label, so memory grows with distinct
 * values (params.max_memory is checked at each call).  The results equal
 * the counted mode's to rounding; the replayed null and the bootstrap run
 * at softent_acc_finish as there.  Refused with min_count > 1, with
 * params.null_sums, after softent_acc_count or rows without labels, and
 * for shared labels: each needs the labels before the first row.  Label
 * sets are declared before the first call. */
SOFTENT_API int softent_acc_append_labels(softent_acc *acc, const int64_t *const *keys, const int64_t *groups, int64_t n);

/* Rows given as their soft assignments p [n, m] (float32, each row's
 * softmax over the reference points, as computed elsewhere, e.g. on a GPU:
 * p_j = softmax_j((z / |z|) . w_j / eps) with softent_acc_refpoints and the
 * params' eps), rows row0 .. row0 + n - 1.  Each row is renormalised in
 * double; a row with a negative or non-finite entry, or summing to 0, is
 * skipped and counted as a row of zero norm is.  Rows held for an
 * incomplete tile are scored first. */
SOFTENT_API int softent_acc_add_probs(softent_acc *acc, const float *p, int64_t n, int64_t row0);

/* Bytes the accumulator will hold once counting is done (the tables, the
 * m-vectors of repeated values, the null's vectors, the row-to-value map). */
SOFTENT_API int64_t softent_acc_memory(const softent_acc *acc);

/* Add rows row0 .. row0+n-1 of the embedding matrix: z [n, d].  Rows may
 * come in any batch size; a shard passes its own row0 (its labels were
 * counted over all rows).  Rows of zero or non-finite norm are skipped and
 * counted.  Rows that do not complete a tile are held (copied) until the
 * next call or softent_acc_finish. */
SOFTENT_API int softent_acc_add(softent_acc *acc, const float *z, int64_t n, int64_t row0);

/* Score the rows held back because their tile was incomplete, and replay
 * the null (unless params.null_sums) and the bootstrap over the stored rows.
 * Call it when the stream (or a shard) ends, before reading measures or
 * saving. */
SOFTENT_API int softent_acc_finish(softent_acc *acc);

/* Rows per tile for dimension d (rows are scored in tiles aligned to
 * global row indices, so a row's scores do not depend on where a shard
 * starts). */
SOFTENT_API int64_t softent_tile_rows(int64_t d);

/* Add the statistics of `src` into `dst`: shards of the same rows, counted on
 * the same label arrays, with the same settings and reference points, one
 * holding the rows just before the other's (either way round).  Merged in
 * row order, shards give the one-pass result, bias curve included, to
 * rounding of the final sums, when each was made with
 * softent_acc_set_first_row (else each reads the bias curve on its own).
 * States that overlap (a shard given twice) or leave rows between them are
 * refused.  A state with no rows merges as nothing. */
SOFTENT_API int softent_acc_merge(softent_acc *dst, const softent_acc *src);
/* As softent_acc_merge, but rows between the two are allowed (a lost
 * shard): the bias curve's readings that need them are dropped. */
SOFTENT_API int softent_acc_merge_partial(softent_acc *dst, const softent_acc *src);
/* acc (counted labels, no rows added yet) holds the shard of rows from
 * first_row on.  The bias curve reads each value at counts 1, 2, 4, ... of
 * its rows in row order; the rows before first_row are other shards', and
 * counting them (from the full label arrays) lets a shard defer the
 * readings that need them to the merge, where they are taken as one pass
 * takes them.  Rows below first_row are then refused.  An empty shard says
 * where it lies this way. */
SOFTENT_API int softent_acc_set_first_row(softent_acc *acc, int64_t first_row);

/* A checkpoint of an accumulator still taking rows (counted labels): what
 * it has accumulated, with the rows the null and the bootstrap will replay
 * and their settings, written atomically.  Rows waiting for the rest of
 * their tile are scored now, as they would be with it, so the checkpoint
 * changes nothing.  softent_acc_resume loads it into acc, a fresh
 * accumulator made with the same settings and the same label arrays
 * counted (and groups), before any row: adding the remaining rows then
 * gives the uninterrupted run's numbers.  A checkpoint that does not fit
 * is refused, naming the setting that differs. */
SOFTENT_API int softent_acc_checkpoint(softent_acc *acc, const char *path);
SOFTENT_API int softent_acc_resume(softent_acc *acc, const char *path);

/* Shards exchanged in memory (MPI): softent_acc_serialize gives acc's
 * checkpoint as bytes (*data malloc'ed, free()d by the caller), and
 * softent_acc_absorb adds such a shard into dst, an accumulator of the same
 * settings and label arrays that is still taking rows (not finished),
 * whose rows come just before the shard's: the sums, the bias curve and
 * the stored rows, so that finishing dst then runs the null and the
 * bootstrap over every row, as one process does.  After a failed absorb,
 * dst is to be freed, not used. */
SOFTENT_API int softent_acc_serialize(softent_acc *acc, void **data, size_t *size);
SOFTENT_API int softent_acc_absorb(softent_acc *dst, const void *data, size_t size);
/* The same from a checkpoint file (softent_acc_checkpoint): a shard saved
 * by another process, as a job array's parts are merged. */
SOFTENT_API int softent_acc_absorb_file(softent_acc *dst, const char *path);
/* Whether dst and src could merge as far as their settings, reference
 * points and label sets go (the rows they span aside): SOFTENT_OK, or the
 * status and detail softent_acc_merge would give. */
SOFTENT_API int softent_acc_mergeable(const softent_acc *dst, const softent_acc *src);

/* Save and load the accumulated statistics (not the row-to-value map: a
 * loaded state can be merged and reported, not extended). */
SOFTENT_API int softent_acc_save(const softent_acc *acc, const char *path);
SOFTENT_API int softent_acc_load(softent_acc **out, const char *path);

/* ---- measures ----------------------------------------------------------- */

typedef struct {
    int64_t m, d;
    double eps;
    int64_t rows;     /* rows accumulated */
    int64_t skipped;  /* rows skipped for zero or non-finite norm */
    double H;         /* H(Z), efficiency in [0, 1] */
    int n_labelsets;
    int bootstrap;    /* replicates behind H_lo, H_hi (0: none, NaN) */
    double H_lo, H_hi;/* H's interval at params.level */
} softent_summary;

SOFTENT_API int softent_acc_summary(const softent_acc *acc, softent_summary *out);
/* The rows acc spans, [*first, *end) (a shard's; -1, -1 before any), and
 * *labelled the rows its label arrays cover (every shard's; -1 with no
 * label sets).  Any pointer may be NULL. */
SOFTENT_API void softent_acc_rows(const softent_acc *acc, int64_t *first, int64_t *end, int64_t *labelled);
/* The parameters the accumulator was made with (eps resolved). */
SOFTENT_API int softent_acc_params(const softent_acc *acc, softent_params *out);
SOFTENT_API const float *softent_acc_refpoints(const softent_acc *acc); /* [m, d] */

typedef struct {
    const char *name;
    int arity;
    int64_t n_values;      /* distinct values counted */
    int64_t n_kept_values; /* with count >= min_count, seen at least once */
    int64_t n_stored;      /* values holding an m-vector (count >= 2) */
    int64_t rows;          /* rows used (label kept, row not skipped) */
    double H;              /* H(Z) over those rows */
    double H_cond;         /* H(Z|X) */
    double mi;             /* I(X;Z) = H - H_cond (plug-in) */
    double regularity;     /* I / H */
    /* the headline: I with params.correction (NaN where that correction
     * could not be computed; `correction` says which it is) */
    softent_correction correction;
    double mi_corrected;
    /* the curve correction (NaN when no value was seen twice) */
    double H_curve;        /* H(Z) plus its leading-order bias */
    double H_cond_curve;   /* H(Z|X) plus the curve J(n_x) of each value */
    double mi_curve;       /* H_curve - H_cond_curve */
    int curve_levels;      /* counts 1 .. 2^curve_levels read the curve */
    /* the leading-order (Miller-Madow) correction with each value's own
     * variance (correction TAYLOR only, else NaN) */
    double mi_taylor;
    /* the permutation null (null_perms > 0), or the scaled null (null_scaled
     * > 0: its mean and sd without permutations, the p-value from the
     * normal tail; lib/estimator/scaled_null.h) */
    int null_perms;
    int64_t null_scaled;   /* reservoir rows behind the scaled null; 0: none */
    double mi_null_mean, mi_null_sd;
    double mi_null_corrected; /* mi - mi_null_mean */
    double p_value;        /* (1 + #{I_null >= I}) / (R + 1) */
    /* bootstrap intervals at params.level (bootstrap > 0; else NaN) */
    int bootstrap;
    double H_lo, H_hi, mi_lo, mi_hi;
    double mi_corrected_lo, mi_corrected_hi; /* of the headline */
    /* the sd of the part of the correction that the replicates hold fixed
     * (the curve's own noise, or the null mean's, null sd / sqrt(R)); the
     * headline's interval includes it */
    double mi_corrected_fixed_sd;
} softent_labelset_measures;

/* The bootstrap replicates of a label set, out [bootstrap]: what = 0 H,
 * 1 plug-in I, 2 the headline corrected I (the null correction subtracts
 * the full sample's null mean from each replicate; neither replicate
 * holds the correction's own noise: see mi_corrected_fixed_sd).  Replicate b weights
 * the same groups in every accumulator with the same bootstrap_seed, so
 * replicates of different sets, layers or models (on the same rows) pair
 * up: differences and ratios of replicates give their intervals. */
SOFTENT_API int softent_acc_replicates(const softent_acc *acc, int set, int what, double *out);
/* Replicates of the accumulator's H(Z), out [bootstrap]. */
SOFTENT_API int softent_acc_replicates_H(const softent_acc *acc, double *out);

/* The interval at `level` from replicates v [n] of an estimate est: est +
 * the percentiles of v - mean(v), each half widened in quadrature by
 * z * extra_sd (an independent normal part of the noise the replicates do
 * not hold; 0 for none).  NaN when fewer than 2 are finite. */
SOFTENT_API void softent_interval(const double *v, int n, double est, double level, double extra_sd, double *lo, double *hi);

SOFTENT_API int softent_acc_labelset(const softent_acc *acc, int set, softent_labelset_measures *out);
/* Index of a label set by name, or -1. */
SOFTENT_API int softent_acc_find_labelset(const softent_acc *acc, const char *name);

/* Per value: its key (arity integers), count and H(Z|X=x); `i` runs over
 * 0 .. n_values-1 in first-seen order.  *h is NaN for a value never seen
 * (all its rows skipped) or dropped by min_count, and for a value counted
 * once unless params.per_value was set (with streamed labels every value
 * holds its sums, so *h is known for it too). */
SOFTENT_API int softent_acc_value(const softent_acc *acc, int set, int64_t i, int64_t key[SOFTENT_MAX_ARITY],
                                  int64_t *count, double *h);

/* optimality = I(out) / I(in) (NaN when I(in) <= 0). */
SOFTENT_API double softent_optimality(double I_out, double I_in);

#ifdef __cplusplus
}
#endif
#endif
