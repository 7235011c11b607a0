/*
 * resample.h - the permutation null and the bootstrap, from the rows' stored
 * soft assignments.
 *
 * Keeping every value's sums for every permutation costs R x stored values
 * x m; instead each kept row's p is stored once (4 m bytes a row) and, when
 * the stream ends, the permutations are replayed exactly one after another
 * into a single buffer, so memory does not grow with R.  The bootstrap over
 * groups (documents) is linearised: each row's influence on H, I and the
 * corrected I is computed once from the stored rows, and a replicate with
 * Poisson weights w is est + sum (w - 1) IF / N, O(rows).  docs/statistics.md
 * has the method and its checks.
 */
#ifndef SOFTENT_RESAMPLE_H
#define SOFTENT_RESAMPLE_H

#include <stdint.h>

struct softent_acc;

/* The group (document) of each counted row, shared like the labels. */
typedef struct {
    int refs;
    int64_t *id;      /* [n] */
    int64_t n;
    size_t cap;
} se_groups;

/* What the null permutes: rows, or (params.null_groups) runs of
 * consecutive rows of one group that share their labels, whose rows all
 * take the labels of another run's first row: any run's (1), or another
 * run's of the same group (2).  Rows of one document are not independent
 * draws: when a label belongs to a whole document (or response), a
 * row-level null would treat its hundreds of correlated rows as hundreds of
 * independent labels and find information in noise; and when each group
 * holds one run of each label by design (a preference pair), only a
 * permutation within the group keeps that design. */
typedef struct {
    int64_t n;        /* units */
    int64_t *first;   /* [n + 1] each run's first row, then the row count;
                       * NULL: the units are the rows */
    int within;       /* permute runs within their group only */
    int64_t *block;   /* [n] within: the first run of run k's group */
    int64_t *block_end; /* [n] within: one past the last run of run k's group */
} se_null_units;

/* The units of acc's counted rows (at freeze). */
int se_null_units_init(struct softent_acc *acc);
/* The row whose labels row i takes under permutation perm (keyed over the
 * units). */
struct se_permutation;
int64_t se_null_source(const se_null_units *u, const struct se_permutation *perm, int64_t i);

/* The rows' soft assignments, by global row index: in memory, or (with a
 * spill directory) p in a shared mapping of an unlinked file there, whose
 * pages the kernel writes out and drops under memory pressure, so that
 * they count as page cache rather than as the process's own memory. */
typedef struct {
    float *p;         /* [cap, m] */
    float *h;         /* [cap] H(p_i), efficiency */
    unsigned char *ok;/* [cap] row was stored (usable) */
    int64_t cap;
    char *spill_dir;  /* owned; NULL: p in memory */
    int fd;           /* the spill file, when mapped > 0 */
    size_t mapped;    /* bytes of p's mapping (0: none) */
} se_rowstore;

/* Per label set: what the replicates gave. */
typedef struct {
    double *null_mi;  /* [null_perms] I under each permutation (replayed null) */
    double *boot;     /* [bootstrap, SE_BOOT_NV] per replicate */
} se_replicates;

enum { SE_BOOT_H, SE_BOOT_MI, SE_BOOT_MI_CURVE, SE_BOOT_NV };

/* Room for rows [0, n) (grows geometrically). */
int se_rowstore_reserve(se_rowstore *rs, int64_t n, int64_t m);
/* Store p in a file in dir from now on (before any row is stored). */
int se_rowstore_spill(se_rowstore *rs, const char *dir);
/* Rows [r0, r1) are done with for now: a spilled store's whole pages among
 * them leave the process (the file keeps them; the next access reads them
 * back), so that reading the rows through does not hold them all.  Safe
 * while other threads read them; a store in memory is untouched. */
void se_rowstore_release(const se_rowstore *rs, int64_t r0, int64_t r1, int64_t m);
/* The rows a replay reads between two releases, and where the chunk from
 * row c0 of n ends. */
#define SE_ROWSTORE_CHUNK 65536
static inline int64_t se_chunk_end(int64_t c0, int64_t n) { return n - c0 < SE_ROWSTORE_CHUNK ? n : c0 + SE_ROWSTORE_CHUNK; }
void se_rowstore_free(se_rowstore *rs);

/* The Poisson(1) weight of group g in bootstrap replicate b. */
int64_t se_poisson_weight(uint64_t seed, int b, int64_t g);

/* Replay every label set's null permutations (when not kept in-stream) and
 * bootstrap replicates; results go to each set's se_replicates and to the
 * accumulator's boot_H. */
int se_resample(struct softent_acc *acc);

/* The interval at `level` of replicate values v [n] around estimate est:
 * est + the level's percentiles of v - mean(v) (the percentile interval
 * re-centred on the estimate: replicates of a biased estimator carry the
 * extra bias of their duplicated rows, which this removes), each half
 * widened in quadrature by z * extra_sd, an independent normal part of the
 * noise the replicates do not hold.  NaN when fewer than 2 replicates are
 * finite. */
void se_interval(const double *v, int n, double est, double level, double extra_sd, double *lo, double *hi);

/* The sd of the curve correction's own noise in set s's corrected I (the
 * bootstrap holds the curve fixed). */
struct se_labelset;
double se_curve_sd(const struct softent_acc *acc, const struct se_labelset *s);

#endif
