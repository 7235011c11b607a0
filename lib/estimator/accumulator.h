/*
 * accumulator.h - the accumulator's layout, shared by accumulator.c (counting
 * and the hot path), measures.c (entropies) and state.c (files, merging).
 *
 * Life cycle: new -> add_labelset* -> count* -> freeze (at the first add:
 * each value gets a slot) -> add* -> measures / save / merge.
 */
#ifndef SOFTENT_ACCUMULATOR_H
#define SOFTENT_ACCUMULATOR_H

#include "curve.h"
#include "keytable.h"
#include "product.h"
#include "resample.h"
#include "scaled_null.h"
#include "softent.h"

/* value_slot codes for values that hold no m-vector */
#define SLOT_SINGLE (-1)  /* counted once: contributes H(p_i) directly */
#define SLOT_DROPPED (-2) /* counted fewer than min_count times, or keyed
                           * SOFTENT_NO_LABEL */

/* A reading of the bias curve that needs the rows of earlier shards. */
typedef struct {
    int32_t slot;
    int32_t level;       /* the count is 2^level */
} se_deferred;

typedef struct {
    double *sums;        /* [n_stored, m] sum of p over the value's rows */
    int64_t *seen;       /* [n_stored] rows of the value accumulated */
    double *kept_total;  /* [m] sum of p over rows whose value is kept; summed
                          * only when the set drops values, else it is total */
    double *kept_sq;     /* [m] sum of p^2 over the same rows (the H(Z) bias) */
    int64_t kept_rows;
    double single_h;     /* sum of H(p_i) over rows of singleton values */
    int64_t single_seen;
    /* The bias curve (real labels only; curve.h): each value's H at its
     * last power-of-two count, and the pooled differences.  A value is
     * read when `labelled` reaches a power of two, while every row of it
     * so far was usable.  Rows before this accumulator's first one belong
     * to other shards (`before`): a value that has some is read only when
     * the shards merge, so its readings wait in `deferred`, each with the
     * value's local sum at that count; merged in row order, shards then
     * read every value at the counts one pass reads it. */
    double *last_h;      /* [n_stored] or NULL (null permutations) */
    int64_t *labelled;   /* [n_stored] rows labelled with the value up to the
                          * last one added, usable or not, `before` included */
    int64_t *before;     /* [n_stored] of them, rows before rows_first */
    se_deferred *deferred; /* [n_deferred] readings awaiting a merge */
    double *deferred_sums; /* [n_deferred, m] the value's local sum at each */
    int64_t n_deferred, deferred_cap;
    se_curve curve;
    double *sq;          /* [n_stored, m] sum of p^2 per value (correction
                          * TAYLOR, real labels only), else NULL */
    int64_t cap;         /* slots allocated (>= n_stored; streaming grows it) */
} se_sums;

/* What se_sums_alloc allocates beyond the sums. */
enum { SE_SUMS_CURVE = 1, SE_SUMS_SQ = 2 };

/* What counting a label array produced.  Accumulators over the same rows
 * (the layers of one model) share it: it is read-only once frozen. */
typedef struct {
    int refs;
    se_keytable table;   /* keys and counts, ids in first-seen order */
    int32_t *row_value;  /* [n_rows] value id of each counted row (not saved) */
    int64_t n_rows, row_cap;
    int64_t min_count;   /* the min_count the slots were assigned with */
    /* set at freeze */
    int frozen;
    int32_t *value_slot; /* [n_values] slot, SLOT_SINGLE or SLOT_DROPPED */
    int64_t n_values_slotted, slot_cap; /* values with a slot, room (streaming grows them) */
    int32_t *replay_slot;/* [n_values] streaming: value_slot with the values
                          * seen once as SLOT_SINGLE, for the replays (the
                          * counted mode's slots); else NULL */
    int64_t n_stored;
    int64_t n_dropped;   /* values under min_count or SOFTENT_NO_LABEL */
} se_labels;

typedef struct se_labelset {
    char *name;
    se_labels *lab;      /* counts and slots, maybe shared */
    double *value_h;     /* [n_values] H(p_i) of a singleton's row, NaN if
                          * unseen; NULL unless params.per_value */
    se_sums real;
    se_sums *null;       /* [null_perms] the same sums under permuted labels,
                          * kept in-stream (params.null_sums); else NULL */
    se_replicates rep;   /* the replayed null and the bootstrap */
    se_scaled_null scaled; /* params.null_reservoir: the scaled null */
} se_labelset;

/* A reading of the bias curve that a block's rows reach: row `row` brings
 * the value in `slot` to count 2^level.  Its sum at that row is copied
 * aside while the sums are added, and read after. */
typedef struct {
    int32_t row, slot, level, deferred; /* deferred: waits for earlier shards */
} se_reading;

/* add_block's scratch, one allocation carved up; the sizes fix what it was
 * made for (block rows, label sets, threads). */
typedef struct {
    void *base;
    int64_t block, n_sets, threads, snap_cap;
    int32_t *slots;      /* [n_sets, block] each row's slot in each set */
    int32_t *snap_at;    /* [n_sets, block] where row's reading of the set is
                          * copied this round, or -1 */
    int32_t *permuted;   /* [threads, block] a permutation's slots, per
                          * thread */
    se_reading *readings;/* [n_sets, block] each set's readings, in row order */
    int64_t *n_readings; /* [n_sets] */
    int64_t *next_reading; /* [n_sets] the first not yet read */
    int64_t *round_stop; /* [n_sets] one past the round's last */
    double *snap;        /* [snap_cap + n_sets, m] the round's copied sums */
} se_block_work;

struct softent_acc {
    softent_params p;    /* eps resolved */
    int64_t m, d;
    float *w;            /* [m, d] unit rows */
    se_product product;  /* z w^T in float32 or bf16 (params.product) */
    double *total;       /* [m] sum of p over all rows */
    double *total_sq;    /* [m] sum of p^2 over all rows */
    int64_t rows, skipped;
    int frozen;          /* slots assigned; no more counting */
    int loaded;          /* read from a state file: no row map, no adding */
    int streaming;       /* labels arrive with the rows (stream.c): every
                          * value gets a slot when first labelled */
    int stream_groups;   /* streaming with groups given */
    int n_sets;
    se_labelset *sets;   /* [n_sets] */
    /* The replayed null and the bootstrap (resample.h): rows' p are stored
     * when either is asked for, and replayed at softent_acc_finish. */
    int null_replayed;   /* null_perms > 0 without params.null_sums */
    se_groups *groups;   /* the rows' groups (documents), maybe shared; NULL:
                          * each row its own group */
    se_null_units null_units; /* what the null permutes (at freeze) */
    se_rowstore rowstore;
    se_reservoir reservoir; /* params.null_reservoir: the scaled null's sample */
    int shard;           /* softent_acc_set_first_row: rows before rows_first
                          * are other shards' */
    int64_t rows_first;  /* the shard's first row, or the lowest added; -1
                          * before any */
    int64_t rows_end;    /* one past the highest row added */
    int64_t rows_next;   /* where the rows added last ended: in a shard, a
                          * later first row beyond it leaves rows out, which
                          * the curve counts as labelled */
    int resampled;       /* replicates are current */
    double *boot_H;      /* [bootstrap] H(Z) per replicate */
    /* Rows are scored a tile at a time, tiles aligned to global row indices
     * (row r lies in tile r / tile), each tile one single-threaded product of
     * fixed shape [tile, d]: a row's scores then do not depend on batch
     * sizes, shard boundaries or thread counts, so neither do the results.
     * Rows that arrive in pieces smaller than a window of pending_tiles
     * tiles (a document's positions, say) wait in `pending` at their places
     * in the window (row r at r % (window)), so that the threads score
     * whole tiles side by side rather than one tile at a time; an
     * incomplete tile is scored at the full shape, its other rows zero. */
    int64_t tile;        /* rows per tile, fixed by d */
    int64_t block;       /* rows scored together: a whole number of tiles */
    int64_t pending_tiles; /* tiles in the window: the threads, within a memory cap */
    float *pending;      /* [pending_tiles * tile, d] rows of the window under way */
    int64_t pending_row0, pending_n;
    se_block_work work;  /* add_block's scratch, sized at the first rows */
    float *scores;       /* [block, m] */
    double *prob;        /* [block, m] soft assignments */
    double *row_h;       /* [block] H(p_i) */
    unsigned char *valid;/* [block] row was usable */
};

/* H of a nonnegative m-vector of soft counts, as efficiency in [0, 1]. */
double se_entropy(const double *c, int64_t m);
/* H(Z|X=x) of the value in a stored slot of sums: the entropy of its sums,
 * or, streaming, for a value seen once its row's entropy as scored (the
 * bias curve's first reading), which is what the counted mode takes for a
 * value seen once, and costs no logarithms. */
double se_slot_entropy(const softent_acc *acc, const se_sums *sums, int64_t slot);

/* flags: SE_SUMS_CURVE (the per-value entropies the bias curve reads),
 * SE_SUMS_SQ (per-value sums of squares) */
int se_sums_alloc(se_sums *s, int64_t n_stored, int64_t m, int flags);
void se_sums_free(se_sums *s);

/* Grow s to hold n slots of m, new ones zero (flags as above). */
int se_sums_reserve(se_sums *s, int64_t n, int64_t m);

/* Assign slots (once per shared labels) and allocate the sums (idempotent). */
int se_acc_freeze(softent_acc *acc);
/* Count n keys [n, arity] of the label set `name` into lab (table counts
 * and the row-to-value map). */
int se_labels_count(se_labels *lab, const char *name, const int64_t *keys, int64_t n);
/* The slots the null's and the bootstrap's replays read. */
static inline const int32_t *se_replay_slots(const se_labels *lab)
{
    return lab->replay_slot ? lab->replay_slot : lab->value_slot;
}
/* Streaming: each set's replay_slot from the final counts (stream.c). */
int se_stream_replay_slots(softent_acc *acc);
/* Score the rows of an incomplete tile now (they are scored as they would
 * be with the rest of their tile: a checkpoint loses nothing). */
int se_acc_flush(softent_acc *acc);

/* State files (state.c): a plain state (softent_acc_save), or a checkpoint
 * of an unfinished run, which also holds the stored rows and the settings
 * of the null and the bootstrap (checkpoint.c). */
enum { SE_STATE_PLAIN = 0, SE_STATE_CHECKPOINT = 1 };
int se_state_write(const softent_acc *acc, const char *path, int kind);
/* A file of that kind, loaded (a checkpoint's null and bootstrap settings
 * restored; a plain state's as a state holds them). */
int se_state_read(softent_acc **out, const char *path, int kind);
/* softent_acc_mergeable's comparison of settings, reference points and
 * label sets, whether or not the two have finished; and the merge itself,
 * checked (partial: rows may lie between the two). */
int se_acc_compatible(const softent_acc *dst, const softent_acc *src);
int se_acc_merge_into(softent_acc *dst, const softent_acc *src, int partial);
/* The same in memory: *data malloc'ed [*size]; data [size] named `name`
 * in errors. */
int se_state_write_buffer(const softent_acc *acc, int kind, void **data, size_t *size);
int se_state_read_buffer(softent_acc **out, const void *data, size_t size, const char *name, int kind);

/* Append n groups to acc's. */
int se_groups_append(softent_acc *acc, const int64_t *groups, int64_t n);
/* Rows row0 .. row0 + n - 1, given as rows z [n, d] or as their soft
 * assignments p [n, m] (exactly one non-NULL), into every set. */
int se_acc_add_rows(softent_acc *acc, const float *z, const float *p, int64_t n, int64_t row0);
se_labels *se_labels_new(int arity, int64_t min_count);
void se_labels_release(se_labels *lab);
/* The real sample's H, plug-in I and curve-corrected I of set s. */
void se_point_measures(const softent_acc *acc, const se_labelset *s, double *H, double *mi, double *mi_curve);
/* Fail with SOFTENT_E_ORDER when rows are pending (softent_acc_finish). */
int se_acc_check_finished(const softent_acc *acc);

#endif
