/* accumulator.c - counting pass and the streaming hot path (see accumulator.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "accumulator.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/fastmath.h"
#include "common/hugepages.h"
#include "permute.h"
#include "common/threads.h"

softent_params softent_default_params(void)
{
    softent_params p = {
        .m = 100,
        .seed = 0,
        .calibration = SOFTENT_CAL_EXACT,
        .eps = 0,
        .weighting = SOFTENT_WEIGHT_PROB,
        .min_count = 1,
        .null_perms = 0,
        .null_seed = 0,
        .max_memory = 0,
        .per_value = 0,
        .correction = SOFTENT_CORRECT_CURVE,
        .null_sums = 0,
        .bootstrap = 0,
        .bootstrap_seed = 0,
        .level = 0.95,
    };
    return p;
}

int64_t softent_tile_rows(int64_t d)
{
    /* sgemm packs W again for every call, so a tile should be long (1024
     * rows); wide rows get fewer so that the rows held back for an
     * incomplete tile stay near 16 MB. */
    int64_t t = ((int64_t)1 << 22) / (d > 0 ? d : 1);
    return t < 16 ? 16 : t > 1024 ? 1024 : t;
}

/* Tiles the rows of small batches gather in before they are scored: one a
 * thread, as long as the window stays within 8 MB (a model's layers each
 * hold one). */
static int64_t window_tiles(int64_t tile, int64_t d)
{
    const int64_t cap = ((int64_t)8 << 20) / (tile * d * (int64_t)sizeof(float)), threads = se_max_threads();
    return threads < cap ? threads : cap < 1 ? 1 : cap;
}

/* Tiles scored together: enough to keep every thread busy, and no more
 * than that needs (at least 4), so that the block's soft assignments
 * (doubles, [block, m]) are still in cache when each label set reads them
 * (at 16 tiles regardless of threads the estimator ran 5-10 % slower on 2). */
static int64_t tiles_per_block(int64_t tile, int64_t m)
{
    const int64_t threads = se_max_threads(), most = threads < 4 ? 4 : threads > 16 ? 16 : threads;
    int64_t g = ((int64_t)1 << 21) / (tile * m);
    return g < 1 ? 1 : g > most ? most : g;
}

int softent_acc_new(softent_acc **out, const softent_params *params, int64_t d, const float *w)
{
    *out = NULL;
    softent_params p = params ? *params : softent_default_params();
    if (d < 2) return se_fail(SOFTENT_E_INVALID, "embedding dimension d = %lld: need d >= 2 (one dimension has no sphere to spread over)", (long long)d);
    if (p.m < 2) return se_fail(SOFTENT_E_INVALID, "m = %lld reference points: need m >= 2", (long long)p.m);
    if (p.null_perms < 0 || p.null_perms > 100000) return se_fail(SOFTENT_E_INVALID, "null permutations must be in 0..100000, got %d", p.null_perms);
    if ((unsigned)p.correction > SOFTENT_CORRECT_TAYLOR) return se_fail(SOFTENT_E_INVALID, "unknown correction %d", (int)p.correction);
    if (p.null_reservoir < 0 || p.null_reservoir > ((int64_t)1 << 26))
        return se_fail(SOFTENT_E_INVALID, "the scaled null's reservoir must hold 0..2^26 rows, got %lld", (long long)p.null_reservoir);
    if (p.null_reservoir > 0 && p.null_reservoir < 2)
        return se_fail(SOFTENT_E_INVALID, "the scaled null's reservoir needs at least 2 rows");
    if (p.null_reservoir > 0 && (p.null_perms > 0 || p.null_groups || p.null_sums))
        return se_fail(SOFTENT_E_INVALID, "the scaled null replaces the permutations: give --null R or --null scaled, not both (and not with --null-groups)");
    if (p.correction == SOFTENT_CORRECT_NULL && p.null_perms < 2 && p.null_reservoir == 0)
        return se_fail(SOFTENT_E_INVALID, "the null correction needs a null of at least 2 permutations (--null R) or the scaled null (--null scaled)");
    if (p.bootstrap < 0 || p.bootstrap > 100000 || p.bootstrap == 1)
        return se_fail(SOFTENT_E_INVALID, "bootstrap replicates must be 0 (none) or 2..100000, got %d (an interval needs at least 2; use 200 or more)", p.bootstrap);
    if (!(p.level > 0 && p.level < 1)) return se_fail(SOFTENT_E_INVALID, "the interval level must lie strictly between 0 and 1, got %g", p.level);
    if (p.min_count < 0) return se_fail(SOFTENT_E_INVALID, "min-count must be >= 0, got %lld", (long long)p.min_count);
    if (p.weighting != SOFTENT_WEIGHT_PROB && p.weighting != SOFTENT_WEIGHT_UNIFORM) return se_fail(SOFTENT_E_INVALID, "unknown weighting %d", (int)p.weighting);
    if (p.product != SOFTENT_PRODUCT_F32 && p.product != SOFTENT_PRODUCT_BF16) return se_fail(SOFTENT_E_INVALID, "unknown product %d", (int)p.product);
    if (p.calibration == SOFTENT_CAL_FIXED) {
        if (!(p.eps > 0) || !isfinite(p.eps)) return se_fail(SOFTENT_E_INVALID, "a fixed temperature must be a positive number, got %g", p.eps);
    } else {
        int rc = softent_calibrate(p.calibration, d, p.m, &p.eps);
        if (rc) return rc;
    }

    softent_acc *acc = calloc(1, sizeof *acc);
    if (!acc) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    acc->p = p;
    acc->null_replayed = p.null_perms > 0 && !p.null_sums;
    acc->m = p.m;
    acc->d = d;
    acc->tile = softent_tile_rows(d);
    acc->rows_first = -1;
    acc->block = acc->tile * tiles_per_block(acc->tile, p.m);
    const int64_t m = p.m, B = acc->block;
    acc->pending_tiles = window_tiles(acc->tile, d);
    acc->pending = calloc((size_t)(acc->pending_tiles * acc->tile * d), sizeof *acc->pending);
    acc->w = malloc((size_t)(m * d) * sizeof *acc->w);
    acc->total = calloc((size_t)m, sizeof *acc->total);
    acc->total_sq = calloc((size_t)m, sizeof *acc->total_sq);
    acc->scores = malloc((size_t)(B * m) * sizeof *acc->scores);
    acc->prob = malloc((size_t)(B * m) * sizeof *acc->prob);
    acc->row_h = malloc((size_t)B * sizeof *acc->row_h);
    acc->valid = malloc((size_t)B);
    se_reservoir_init(&acc->reservoir, p.null_reservoir);
    acc->p.spill_dir = NULL;
    if (p.spill_dir && se_rowstore_spill(&acc->rowstore, p.spill_dir)) {
        softent_acc_free(acc);
        return SOFTENT_E_NOMEM;
    }
    acc->p.spill_dir = acc->rowstore.spill_dir;  /* the accumulator's own copy */
    if (!acc->w || !acc->total || !acc->total_sq || !acc->pending || !acc->scores || !acc->prob || !acc->row_h || !acc->valid) {
        softent_acc_free(acc);
        return se_fail(SOFTENT_E_NOMEM, "out of memory for the accumulator (m = %lld, d = %lld)", (long long)m, (long long)d);
    }

    if (!w) {
        int rc = softent_refpoints_gaussian(p.seed, m, d, acc->w);
        if (rc) { softent_acc_free(acc); return rc; }
    } else {
        /* Rows already unit length to float32 rounding are kept bit for bit,
         * so that saved reference points load back unchanged. */
        for (int64_t i = 0; i < m; i++) {
            const float *src = w + i * d;
            double ss = 0;
            for (int64_t j = 0; j < d; j++) ss += (double)src[j] * src[j];
            if (!(ss > 0) || !isfinite(ss)) {
                softent_acc_free(acc);
                return se_fail(SOFTENT_E_INVALID, "reference point %lld has zero or non-finite norm", (long long)i);
            }
            double scale = fabs(sqrt(ss) - 1) < 1e-6 ? 1.0 : 1.0 / sqrt(ss);
            for (int64_t j = 0; j < d; j++) acc->w[i * d + j] = (float)(src[j] * scale);
        }
    }
    int rc = se_product_init(&acc->product, p.product, acc->w, m, d, acc->tile);
    if (rc) { softent_acc_free(acc); return rc; }
    *out = acc;
    return SOFTENT_OK;
}

se_labels *se_labels_new(int arity, int64_t min_count)
{
    se_labels *lab = calloc(1, sizeof *lab);
    if (!lab) return NULL;
    lab->refs = 1;
    lab->min_count = min_count;
    if (se_keytable_init(&lab->table, arity)) { free(lab); return NULL; }
    return lab;
}

void se_labels_release(se_labels *lab)
{
    if (!lab || --lab->refs > 0) return;
    se_keytable_free(&lab->table);
    free(lab->row_value);
    free(lab->value_slot);
    free(lab->replay_slot);
    free(lab);
}

static void labelset_free(se_labelset *s, int null_perms)
{
    free(s->rep.null_mi);
    free(s->rep.boot);
    free(s->name);
    se_labels_release(s->lab);
    free(s->value_h);
    se_sums_free(&s->real);
    if (s->null)
        for (int r = 0; r < null_perms; r++) se_sums_free(&s->null[r]);
    free(s->null);
}

void softent_acc_free(softent_acc *acc)
{
    if (!acc) return;
    for (int k = 0; k < acc->n_sets; k++) labelset_free(&acc->sets[k], acc->p.null_perms);
    free(acc->sets);
    if (acc->groups && --acc->groups->refs == 0) {
        free(acc->groups->id);
        free(acc->groups);
    }
    se_rowstore_free(&acc->rowstore);
    se_reservoir_free(&acc->reservoir);
    free(acc->null_units.first);
    free(acc->null_units.block);
    free(acc->null_units.block_end);
    free(acc->boot_H);
    se_product_free(&acc->product);
    free(acc->w);
    free(acc->total);
    free(acc->total_sq);
    free(acc->pending);
    free(acc->work.base);
    free(acc->scores);
    free(acc->prob);
    free(acc->row_h);
    free(acc->valid);
    free(acc);
}

int softent_acc_add_labelset(softent_acc *acc, const char *name, int arity, int *index)
{
    if (acc->frozen) return se_fail(SOFTENT_E_ORDER, "label set '%s' declared after rows were added", name);
    if (arity < 1 || arity > SOFTENT_MAX_ARITY) return se_fail(SOFTENT_E_INVALID, "label set '%s': keys must be tuples of 1..%d integers, got %d", name, SOFTENT_MAX_ARITY, arity);
    if (!name || !*name) return se_fail(SOFTENT_E_INVALID, "a label set needs a name");
    if (softent_acc_find_labelset(acc, name) >= 0) return se_fail(SOFTENT_E_INVALID, "label set '%s' named twice", name);
    se_labelset *sets = realloc(acc->sets, (size_t)(acc->n_sets + 1) * sizeof *sets);
    if (!sets) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    acc->sets = sets;
    se_labelset *s = &sets[acc->n_sets];
    memset(s, 0, sizeof *s);
    s->name = strdup(name);
    s->lab = se_labels_new(arity, acc->p.min_count);
    if (!s->name || !s->lab) { labelset_free(s, 0); return se_fail(SOFTENT_E_NOMEM, "out of memory"); }
    if (index) *index = acc->n_sets;
    acc->n_sets++;
    return SOFTENT_OK;
}

int softent_acc_share_labels(softent_acc *dst, const softent_acc *src)
{
    if (dst->n_sets > 0 || dst->frozen) return se_fail(SOFTENT_E_ORDER, "share labels into an accumulator that has none yet");
    if (src->streaming || dst->streaming)
        return se_fail(SOFTENT_E_ORDER, "streamed labels are an accumulator's own; share counted labels (softent_acc_count)");
    if (dst->p.min_count != src->p.min_count) return se_fail(SOFTENT_E_MISMATCH, "accumulators sharing labels need the same min-count");
    for (int k = 0; k < src->n_sets; k++) {
        int rc = softent_acc_add_labelset(dst, src->sets[k].name, src->sets[k].lab->table.arity, NULL);
        if (rc) return rc;
        se_labelset *s = &dst->sets[k];
        se_labels_release(s->lab);
        s->lab = src->sets[k].lab;
        s->lab->refs++;
    }
    if (src->groups) {
        dst->groups = src->groups;
        dst->groups->refs++;
    }
    return SOFTENT_OK;
}

int se_groups_append(softent_acc *acc, const int64_t *groups, int64_t n)
{
    if (n < 0 || (n > 0 && !groups)) return se_fail(SOFTENT_E_INVALID, "bad group count");
    se_groups *g = acc->groups;
    if (!g) {
        if (!(g = acc->groups = calloc(1, sizeof *g))) return se_fail(SOFTENT_E_NOMEM, "out of memory");
        g->refs = 1;
    }
    if (se_grow(&g->id, &g->cap, (size_t)(g->n + n), sizeof *g->id)) return se_fail(SOFTENT_E_NOMEM, "out of memory for the groups");
    memcpy(g->id + g->n, groups, (size_t)n * sizeof *groups);
    g->n += n;
    return SOFTENT_OK;
}

int softent_acc_count_groups(softent_acc *acc, const int64_t *groups, int64_t n)
{
    if (acc->streaming) return se_fail(SOFTENT_E_ORDER, "this accumulator takes its groups with the rows' labels (softent_acc_append_labels)");
    if (acc->frozen) return se_fail(SOFTENT_E_ORDER, "groups counted after rows were added; count them with the labels");
    return se_groups_append(acc, groups, n);
}

int softent_acc_find_labelset(const softent_acc *acc, const char *name)
{
    for (int k = 0; k < acc->n_sets; k++)
        if (strcmp(acc->sets[k].name, name) == 0) return k;
    return -1;
}

int se_labels_count(se_labels *lab, const char *name, const int64_t *keys, int64_t n)
{
    if (n < 0 || (n > 0 && !keys)) return se_fail(SOFTENT_E_INVALID, "bad label count");
    if (lab->n_rows + n > INT32_MAX * (int64_t)64) return se_fail(SOFTENT_E_LIMIT, "too many rows");
    if (lab->n_rows + n > lab->row_cap) {
        int64_t cap = lab->row_cap ? lab->row_cap : 4096;
        while (cap < lab->n_rows + n) cap *= 2;
        int32_t *rv = realloc(lab->row_value, (size_t)cap * sizeof *rv);
        if (!rv) return se_fail(SOFTENT_E_NOMEM, "out of memory for the labels of '%s'", name);
        lab->row_value = rv;
        lab->row_cap = cap;
    }
    const int a = lab->table.arity;
    for (int64_t i = 0; i < n; i++) {
        int32_t id;
        int rc = se_keytable_intern(&lab->table, keys + i * a, &id);
        if (rc) return rc;
        lab->table.count[id]++;
        lab->row_value[lab->n_rows + i] = id;
    }
    lab->n_rows += n;
    return SOFTENT_OK;
}

int softent_acc_count(softent_acc *acc, int set, const int64_t *keys, int64_t n)
{
    if (set < 0 || set >= acc->n_sets) return se_fail(SOFTENT_E_INVALID, "no label set %d", set);
    se_labelset *s = &acc->sets[set];
    if (acc->streaming) return se_fail(SOFTENT_E_ORDER, "label set '%s': this accumulator takes its labels with the rows (softent_acc_append_labels)", s->name);
    if (acc->frozen || s->lab->frozen) return se_fail(SOFTENT_E_ORDER, "label set '%s': labels counted after rows were added; count every label first", s->name);
    return se_labels_count(s->lab, s->name, keys, n);
}

/* Whether value v is dropped: counted under min_count, or keyed
 * SOFTENT_NO_LABEL (a row without a label in this set). */
static int dropped_value(const se_labels *lab, int64_t v)
{
    return lab->table.count[v] < lab->min_count || lab->table.keys[v * lab->table.arity] == SOFTENT_NO_LABEL;
}

/* Slots the label set will hold: values counted at least twice and kept
 * (streaming: every value kept). */
static int64_t stored_values(const se_labelset *s, int streaming)
{
    int64_t n = 0;
    for (int64_t v = 0; v < s->lab->table.n; v++)
        if ((streaming || s->lab->table.count[v] >= 2) && !dropped_value(s->lab, v)) n++;
    return n;
}

/* The readings whose sums a round copies aside: about 256 KB of them (and
 * one more per set, for readings on the round's last row). */
static int64_t snap_cap(int64_t m)
{
    const int64_t cap = ((int64_t)1 << 15) / m;
    return cap < 16 ? 16 : cap;
}

/* The bytes reserve_block_work takes for the accumulator's threads. */
static int64_t block_work_bytes(const softent_acc *acc)
{
    const int64_t B = acc->block, K = acc->n_sets, m = acc->m;
    return (snap_cap(m) + K) * m * 8 + 4 * K * 8 + K * B * (int64_t)sizeof(se_reading) + B * (3 * K + se_max_threads()) * 4;
}

int64_t softent_acc_memory(const softent_acc *acc)
{
    const int64_t m = acc->m, R = acc->p.null_perms;
    int64_t bytes = (int64_t)sizeof *acc + m * acc->d * 4 + m * 8;
    bytes += acc->block * (m * 4 + m * 8 + 9) + acc->pending_tiles * acc->tile * acc->d * 4;
    bytes += block_work_bytes(acc) + se_reservoir_bytes(acc->p.null_reservoir, m) + se_product_bytes(&acc->product, se_max_threads());
    for (int k = 0; k < acc->n_sets; k++) {
        const se_labelset *s = &acc->sets[k];
        int64_t stored = s->lab->frozen ? s->lab->n_stored : stored_values(s, acc->streaming);
        if (s->real.cap > stored) stored = s->real.cap;  /* streaming grows the sums ahead of the values */
        bytes += se_keytable_bytes(&s->lab->table) + s->lab->row_cap * 4 + s->lab->table.n * (4 + (acc->p.per_value ? 8 : 0));
        const int64_t copies = 1 + (acc->p.null_sums ? R : 0);
        bytes += copies * (stored * (m * 8 + 8) + 2 * m * 8 + 32) + stored * 24 + (int64_t)sizeof(se_curve);
        /* a shard's deferred readings: about one per value whose rows began
         * in an earlier shard (one per power of two its count crosses here) */
        if (acc->shard) bytes += stored * (m * 8 + 8);
        bytes += (int64_t)(acc->null_replayed ? R : 0) * 8 + (int64_t)acc->p.bootstrap * SE_BOOT_NV * 8;
        if (acc->p.correction == SOFTENT_CORRECT_TAYLOR) bytes += stored * m * 8;
    }
    if (acc->null_replayed || acc->p.bootstrap > 0) {
        /* the stored rows, one replay buffer, the permuted rows or weights */
        int64_t n = acc->n_sets ? acc->sets[0].lab->n_rows : acc->rows;
        int64_t max_stored = 0;
        for (int k = 0; k < acc->n_sets; k++) {
            const se_labelset *s = &acc->sets[k];
            int64_t stored = s->lab->frozen ? s->lab->n_stored : stored_values(s, acc->streaming);
            max_stored = stored > max_stored ? stored : max_stored;
        }
        /* (spilled, the rows' m floats are page cache, not counted) */
        bytes += n * ((acc->rowstore.spill_dir ? 0 : m * 4) + 5 + (acc->null_replayed ? 8 : 0) + (acc->p.bootstrap ? 4 : 0)) + max_stored * (m * 8 + 8);
        if (acc->groups && acc->groups->refs == 1) bytes += (int64_t)acc->groups->cap * 8;
    }
    return bytes;
}

int se_sums_alloc(se_sums *s, int64_t n_stored, int64_t m, int flags)
{
    const int with_curve = flags & SE_SUMS_CURVE, with_sq = flags & SE_SUMS_SQ;
    memset(s, 0, sizeof *s);
    s->sums = se_calloc_huge((size_t)(n_stored * m) + 1, sizeof *s->sums);
    /* every array here is read before it is written: se_calloc_huge */
    s->seen = se_calloc_huge((size_t)n_stored + 1, sizeof *s->seen);
    s->kept_total = se_calloc_huge((size_t)m, sizeof *s->kept_total);
    s->kept_sq = se_calloc_huge((size_t)m, sizeof *s->kept_sq);
    if (with_curve) {
        s->last_h = se_calloc_huge((size_t)n_stored + 1, sizeof *s->last_h);
        s->labelled = se_calloc_huge((size_t)n_stored + 1, sizeof *s->labelled);
        s->before = se_calloc_huge((size_t)n_stored + 1, sizeof *s->before);
    }
    if (with_sq) s->sq = se_calloc_huge((size_t)(n_stored * m) + 1, sizeof *s->sq);
    if (!s->sums || !s->seen || !s->kept_total || !s->kept_sq || (with_curve && (!s->last_h || !s->labelled || !s->before)) ||
        (with_sq && !s->sq)) {
        se_sums_free(s);
        return se_fail(SOFTENT_E_NOMEM, "out of memory for %lld label vectors of %lld bins", (long long)n_stored, (long long)m);
    }
    s->cap = n_stored;
    return SOFTENT_OK;
}

/* *p [old, width] grown to [cap, width], the new part zero. */
static int grow_zeroed(void *p, size_t elem, int64_t old, int64_t cap, int64_t width)
{
    void **pp = p;
    char *q = realloc(*pp, (size_t)(cap * width) * elem + 1);
    if (!q) return SOFTENT_E_NOMEM;
    memset(q + (size_t)(old * width) * elem, 0, (size_t)((cap - old) * width) * elem);
    *pp = q;
    return SOFTENT_OK;
}

int se_sums_reserve(se_sums *s, int64_t n, int64_t m)
{
    if (n <= s->cap) return SOFTENT_OK;
    int64_t cap = s->cap > 0 ? s->cap : 64;
    while (cap < n) cap *= 2;
    int rc = grow_zeroed(&s->sums, sizeof *s->sums, s->cap, cap, m);
    if (!rc) rc = grow_zeroed(&s->seen, sizeof *s->seen, s->cap, cap, 1);
    if (!rc && s->last_h) rc = grow_zeroed(&s->last_h, sizeof *s->last_h, s->cap, cap, 1);
    if (!rc && s->labelled) rc = grow_zeroed(&s->labelled, sizeof *s->labelled, s->cap, cap, 1);
    if (!rc && s->before) rc = grow_zeroed(&s->before, sizeof *s->before, s->cap, cap, 1);
    if (!rc && s->sq) rc = grow_zeroed(&s->sq, sizeof *s->sq, s->cap, cap, m);
    if (rc) return se_fail(SOFTENT_E_NOMEM, "out of memory for %lld label vectors of %lld bins", (long long)cap, (long long)m);
    se_advise_huge(s->sums, (size_t)(cap * m) * sizeof *s->sums);
    se_advise_huge(s->sq, (size_t)(cap * m) * sizeof *s->sq);
    s->cap = cap;
    return SOFTENT_OK;
}

void se_sums_free(se_sums *s)
{
    free(s->sums);
    free(s->seen);
    free(s->kept_total);
    free(s->kept_sq);
    free(s->last_h);
    free(s->labelled);
    free(s->before);
    free(s->deferred);
    free(s->deferred_sums);
    free(s->sq);
    memset(s, 0, sizeof *s);
}

/* Each value's slot: stored (counted twice or more, or any value when
 * streaming: its count is not known yet), singleton, or dropped (under
 * min_count, or SOFTENT_NO_LABEL). */
static int freeze_labels(se_labels *lab, const char *name, int streaming)
{
    if (lab->frozen) return SOFTENT_OK;
    const int64_t nv = lab->table.n;
    lab->value_slot = malloc((size_t)nv * sizeof *lab->value_slot + 1);
    if (!lab->value_slot) return se_fail(SOFTENT_E_NOMEM, "out of memory for label set '%s'", name);
    lab->n_stored = lab->n_dropped = 0;
    for (int64_t v = 0; v < nv; v++) {
        int64_t c = lab->table.count[v];
        if (dropped_value(lab, v)) lab->value_slot[v] = SLOT_DROPPED, lab->n_dropped++;
        else if (c == 1 && !streaming) lab->value_slot[v] = SLOT_SINGLE;
        else lab->value_slot[v] = (int32_t)lab->n_stored++;
    }
    lab->n_values_slotted = lab->slot_cap = nv;
    lab->frozen = 1;
    return SOFTENT_OK;
}

int se_acc_freeze(softent_acc *acc)
{
    if (acc->frozen) return SOFTENT_OK;
    for (int k = 1; k < acc->n_sets; k++)
        if (acc->sets[k].lab->n_rows != acc->sets[0].lab->n_rows)
            return se_fail(SOFTENT_E_MISMATCH, "label set '%s' has %lld labels but '%s' has %lld",
                           acc->sets[k].name, (long long)acc->sets[k].lab->n_rows, acc->sets[0].name, (long long)acc->sets[0].lab->n_rows);
    if (acc->groups && acc->n_sets > 0 && acc->groups->n != acc->sets[0].lab->n_rows)
        return se_fail(SOFTENT_E_MISMATCH, "%lld groups were counted for %lld labelled rows; give one group per row",
                       (long long)acc->groups->n, (long long)acc->sets[0].lab->n_rows);
    int rc = se_null_units_init(acc);
    if (rc) return rc;
    int64_t need = softent_acc_memory(acc);
    if (acc->p.max_memory > 0 && need > acc->p.max_memory)
        return se_fail(SOFTENT_E_LIMIT, "the run needs about %.1f MB, over the limit of %.1f MB; lower --null, raise --min-count, or raise --max-memory",
                       need / 1e6, acc->p.max_memory / 1e6);
    const int64_t m = acc->m;
    for (int k = 0; k < acc->n_sets; k++) {
        se_labelset *s = &acc->sets[k];
        if ((rc = freeze_labels(s->lab, s->name, acc->streaming))) return rc;
        const int64_t nv = s->lab->table.n;
        if (acc->p.per_value) {
            if (!(s->value_h = malloc((size_t)nv * sizeof *s->value_h + 1)))
                return se_fail(SOFTENT_E_NOMEM, "out of memory for label set '%s'", s->name);
            for (int64_t v = 0; v < nv; v++) s->value_h[v] = NAN;
        }
        rc = se_sums_alloc(&s->real, s->lab->n_stored, m, SE_SUMS_CURVE | (acc->p.correction == SOFTENT_CORRECT_TAYLOR ? SE_SUMS_SQ : 0));
        if (rc) return rc;
        if (acc->p.null_perms > 0 && acc->p.null_sums) {
            s->null = calloc((size_t)acc->p.null_perms, sizeof *s->null);
            if (!s->null) return se_fail(SOFTENT_E_NOMEM, "out of memory for the null");
            for (int r = 0; r < acc->p.null_perms; r++)
                if ((rc = se_sums_alloc(&s->null[r], s->lab->n_stored, m, 0))) return rc;
        }
    }
    acc->frozen = 1;
    return SOFTENT_OK;
}

/* Score rows [i0, i1) of the block z: one product of the raw rows and W,
 * then per row the softmax of a_j = (z.w_j / |z|) / eps in double, and the
 * row's entropy.  Scaling the scores by 1/|z| instead of normalising z
 * first saves a pass over the rows and rounds the same.  Runs on one
 * thread per tile. */
SE_HOT static void score_tile(softent_acc *acc, const float *z, int64_t row0, int64_t i0, int64_t i1)
{
    const int64_t m = acc->m, d = acc->d, tile = acc->tile, q0 = (row0 + i0) % tile;
    const double log_floor = log(1e-9), inv_log_m = 1.0 / log((double)m);
    const float *whole = z + (i0 - q0) * d;  /* where the tile's first row would be */
    /* the rows' squared norms land in row_h until their entropies replace them */
    if (i1 - i0 < tile && whole >= acc->pending && whole < acc->pending + acc->pending_tiles * tile * d) {
        /* an incomplete tile, at its place in the pending window: scored
         * at the full shape (i0 = 0 here: flush_pending makes it a block
         * of its own) */
        se_product_run(&acc->product, se_thread_id(), acc->scores, acc->row_h, whole, tile, acc->w);
        memmove(acc->scores, acc->scores + q0 * m, (size_t)((i1 - i0) * m) * sizeof *acc->scores);
        memmove(acc->row_h, acc->row_h + q0, (size_t)(i1 - i0) * sizeof *acc->row_h);
    } else {
        se_product_run(&acc->product, se_thread_id(), acc->scores + i0 * m, acc->row_h + i0, z + i0 * d, i1 - i0, acc->w);
    }
    for (int64_t i = i0; i < i1; i++) {
        const double ss = acc->row_h[i];
        acc->valid[i] = ss > 0 && isfinite(ss);
        if (!acc->valid[i]) continue;
        const double scale = 1.0 / (sqrt(ss) * acc->p.eps);
        const float *restrict s = acc->scores + i * m;
        double *restrict p = acc->prob + i * m;
        /* the largest score scaled is the largest scaled score (scale > 0) */
        float top = -INFINITY;
        #pragma omp simd reduction(max : top)
        for (int64_t j = 0; j < m; j++) top = s[j] > top ? s[j] : top;
        const double mx = top * scale;
        /* a_j = scores shifted to max 0; p_j = exp(a_j) / sum exp */
        double sum = 0;
        #pragma omp simd reduction(+ : sum)
        for (int64_t j = 0; j < m; j++) {
            p[j] = se_exp_nonpos(s[j] * scale - mx);
            sum += p[j];
        }
        /* float32 dot products of rows near FLT_MAX can overflow: such a row
         * is skipped like a non-finite one rather than turned into NaN. */
        if (!isfinite(mx) || !isfinite(sum)) { acc->valid[i] = 0; continue; }
        /* -sum p log max(p, 1e-9) without m logs: log p_j = a_j - log sum */
        const double norm = 1.0 / sum, log_sum = log(sum);
        double h = 0;
        #pragma omp simd reduction(+ : h)
        for (int64_t j = 0; j < m; j++) {
            const double log_p = (s[j] * scale - mx) - log_sum;
            p[j] *= norm;
            h -= p[j] * (log_p > log_floor ? log_p : log_floor);
        }
        acc->row_h[i] = h * inv_log_m;
    }
}

/* A set that drops values keeps the totals of the rows it keeps.  A
 * streaming set starts keeping them when its first unlabelled value
 * arrives (extend_slots): every row before was kept, so its kept totals
 * start as the totals (keeping them from the first row regardless cost
 * the streamed sums a third more time at four sets). */
static int keeps_totals(const se_labelset *s)
{
    return s->lab->n_dropped > 0;
}

/* The columns of a row of m sums that thread t of nt adds to: [cut(t),
 * cut(t + 1)), each cut moved up to a cache line of the row, so that no
 * two threads write one line (the line at the middle of the totals, written
 * by both threads for every row, cost more than the additions). */
typedef struct { int t, nt; } se_share;
static inline int64_t line_cut(const double *row, int64_t m, int k, int nt)
{
    if (k <= 0) return 0;
    if (k >= nt) return m;
    const int64_t j = m * k / nt + (int64_t)((64 - (uintptr_t)(row + m * k / nt) % 64) % 64) / sizeof *row;
    return j < m ? j : m;
}

/* sum[j] += p[j], for thread share's columns j of the row sum [m]. */
static inline void add_row(double *restrict sum, const double *restrict p, int64_t m, se_share share)
{
    const int64_t j1 = line_cut(sum, m, share.t + 1, share.nt);
    for (int64_t j = line_cut(sum, m, share.t, share.nt); j < j1; j++) sum[j] += p[j];
}

/* sq[j] += p[j]^2, likewise. */
static inline void add_row_sq(double *restrict sq, const double *restrict p, int64_t m, se_share share)
{
    const int64_t j1 = line_cut(sq, m, share.t + 1, share.nt);
    for (int64_t j = line_cut(sq, m, share.t, share.nt); j < j1; j++) sq[j] += p[j] * p[j];
}

/* Set s's bookkeeping of a block's rows, in row order: the counts, the
 * singletons' entropies, and the rows that reach a reading of the bias
 * curve (a value's first row's H, then at every power of two of its count
 * the rise since the last, while all its rows so far were usable; a
 * reading of a value with rows in earlier shards waits for the merge).
 * The sums themselves are added column by column (add_columns). */
static void count_block(const softent_acc *acc, se_labelset *s, const int32_t *slots, int64_t n, se_reading *readings,
                        int64_t *n_readings, int32_t *snap_at)
{
    se_sums *sums = &s->real;
    int64_t nr = 0;
    for (int64_t i = 0; i < n; i++) {
        const int32_t slot = slots[i];
        snap_at[i] = -1;
        if (slot == SLOT_DROPPED) continue;
        if (slot == SLOT_SINGLE) {
            if (!acc->valid[i]) continue;
            sums->kept_rows++;
            sums->single_h += acc->row_h[i];
            sums->single_seen++;
            continue;
        }
        if (sums->labelled) sums->labelled[slot]++;
        if (!acc->valid[i]) continue;  /* labelled all the same: its value's chain of readings ends */
        sums->kept_rows++;
        const int64_t seen = ++sums->seen[slot];
        if (!sums->last_h) continue;
        if (seen == 1) sums->last_h[slot] = acc->row_h[i];  /* streaming reads it as the value's H */
        const int64_t count = sums->labelled[slot], before = sums->before[slot];
        if (count & (count - 1) || seen != count - before || (count == 1 && before == 0)) continue;
        readings[nr++] = (se_reading){(int32_t)i, slot, __builtin_ctzll((unsigned long long)count), before > 0};
    }
    *n_readings = nr;
}

/* A reading that waits for the earlier shards' rows: slot's local sum at
 * count 2^level; merges sort them. */
static void defer_reading(se_sums *sums, int32_t slot, int level, const double *sum, int64_t m)
{
    if (sums->n_deferred == sums->deferred_cap) {
        int64_t cap = sums->deferred_cap ? 2 * sums->deferred_cap : 64;
        se_deferred *d = realloc(sums->deferred, (size_t)cap * sizeof *d);
        if (d) sums->deferred = d;
        double *ds = d ? realloc(sums->deferred_sums, (size_t)(cap * m) * sizeof *ds) : NULL;
        if (ds) sums->deferred_sums = ds;
        if (d && ds) sums->deferred_cap = cap;
    }
    /* out of memory: the reading is lost, as a value whose rows were
     * unusable loses it; the curve has one sample fewer */
    if (sums->n_deferred < sums->deferred_cap) {
        sums->deferred[sums->n_deferred] = (se_deferred){slot, level};
        memcpy(sums->deferred_sums + sums->n_deferred * m, sum, (size_t)m * sizeof *sum);
        sums->n_deferred++;
    }
}

/* add_block's scratch for `threads` threads (kept from call to call: a
 * batch of a document's rows would otherwise map and zero fresh pages every
 * time). */
static int reserve_block_work(softent_acc *acc, int threads)
{
    se_block_work *w = &acc->work;
    const int64_t B = acc->block, K = acc->n_sets, m = acc->m, cap = snap_cap(m);
    if (w->base && w->n_sets == K && w->threads >= threads) return SOFTENT_OK;
    /* widest elements first, so that each part stays aligned */
    const size_t snaps = (size_t)((cap + K) * m), counts = (size_t)(3 * K), readings = (size_t)(K * B);
    const size_t ints = (size_t)(B * (2 * K + threads));
    char *base = malloc(snaps * sizeof(double) + counts * sizeof(int64_t) + readings * sizeof(se_reading) + ints * sizeof(int32_t));
    if (!base) return se_fail(SOFTENT_E_NOMEM, "out of memory for a block of %lld rows", (long long)B);
    free(w->base);
    *w = (se_block_work){.base = base, .block = B, .n_sets = K, .threads = threads, .snap_cap = cap};
    w->snap = (double *)base;
    w->n_readings = (int64_t *)(w->snap + snaps);
    w->next_reading = w->n_readings + K;
    w->round_stop = w->next_reading + K;
    w->readings = (se_reading *)(w->round_stop + K);
    w->slots = (int32_t *)(w->readings + readings);
    w->snap_at = w->slots + K * B;
    w->permuted = w->snap_at + K * B;
    return SOFTENT_OK;
}

/* The next round of a block's rows: as many as bring no more readings than
 * the copies hold, each set's readings of the round numbered into snap_at.
 * Returns where the round ends. */
static int64_t plan_round(softent_acc *acc, int64_t n)
{
    se_block_work *w = &acc->work;
    const int64_t K = acc->n_sets, B = w->block;
    int64_t *at = w->round_stop, end = n, taken = 0;
    for (int64_t k = 0; k < K; k++) at[k] = w->next_reading[k];
    /* the readings in row order, merged across the sets */
    while (taken < w->snap_cap) {
        int64_t best = -1;
        for (int64_t k = 0; k < K; k++)
            if (at[k] < w->n_readings[k] && (best < 0 || w->readings[k * B + at[k]].row < w->readings[best * B + at[best]].row)) best = k;
        if (best < 0) break;
        end = w->readings[best * B + at[best]++].row + 1;
        taken++;
    }
    if (taken < w->snap_cap) end = n;
    int32_t copy = 0;
    for (int64_t k = 0; k < K; k++) {
        while (at[k] < w->n_readings[k] && w->readings[k * B + at[k]].row < end) at[k]++;  /* the round's last row */
        for (int64_t r = w->next_reading[k]; r < at[k]; r++) w->snap_at[k * B + w->readings[k * B + r].row] = copy++;
    }
    return end;
}

/* The sums the row AHEAD rows on adds to, requested before they are needed:
 * a value's sums lie anywhere in its set's table, where no hardware
 * prefetcher looks. */
enum { AHEAD = 8 };
static inline void prefetch_columns(const double *sum, int64_t m, se_share share)
{
    const int64_t j0 = line_cut(sum, m, share.t, share.nt), j1 = line_cut(sum, m, share.t + 1, share.nt);
    for (int64_t j = j0; j < j1; j += 8) __builtin_prefetch(sum + j, 1, 3);
    if (j1 > j0) __builtin_prefetch(sum + j1 - 1, 1, 3);
}

/* Thread share's columns of rows [from, to) into the totals and every set's sums,
 * a row at a time: each sum takes its rows in row order, so that none
 * depends on how the columns are split, and each row's soft assignments
 * are read once for all the sets (taking a set's rows a value at a time
 * instead read the block's assignments once a set, from beyond the L2
 * cache: 30 % slower at four sets).  The sums the round's readings need
 * are copied aside as they stand after their row. */
SE_HOT static void add_columns(softent_acc *acc, int64_t from, int64_t to, se_share share)
{
    const se_block_work *w = &acc->work;
    const int64_t m = acc->m, B = w->block;
    for (int64_t i = from; i < to; i++) {
        if (i + AHEAD < to)
            for (int k = 0; k < acc->n_sets; k++) {
                const int32_t slot = w->slots[k * B + i + AHEAD];
                if (slot >= 0) prefetch_columns(acc->sets[k].real.sums + (int64_t)slot * m, m, share);
            }
        if (!acc->valid[i]) continue;
        const double *p = acc->prob + i * m;
        add_row(acc->total, p, m, share);
        add_row_sq(acc->total_sq, p, m, share);
        for (int k = 0; k < acc->n_sets; k++) {
            se_sums *sums = &acc->sets[k].real;
            const int64_t slot = w->slots[k * B + i];
            if (slot != SLOT_DROPPED && keeps_totals(&acc->sets[k])) {
                add_row(sums->kept_total, p, m, share);
                add_row_sq(sums->kept_sq, p, m, share);
            }
            if (slot < 0) continue;  /* dropped, or a singleton's own H */
            double *sum = sums->sums + slot * m;
            add_row(sum, p, m, share);
            if (sums->sq) add_row_sq(sums->sq + slot * m, p, m, share);
            const int32_t at = w->snap_at[k * B + i];
            if (at >= 0) {
                const int64_t j0 = line_cut(sum, m, share.t, share.nt), j1 = line_cut(sum, m, share.t + 1, share.nt);
                memcpy(w->snap + (int64_t)at * m + j0, sum + j0, (size_t)(j1 - j0) * sizeof *sum);
            }
        }
    }
}

/* Set k's readings of the round: each value's H from its copied sum. */
static void read_round(softent_acc *acc, int k)
{
    se_block_work *w = &acc->work;
    se_sums *sums = &acc->sets[k].real;
    const int64_t m = acc->m, B = w->block;
    for (int64_t r = w->next_reading[k]; r < w->round_stop[k]; r++) {
        const se_reading *g = &w->readings[k * B + r];
        const double *sum = w->snap + (int64_t)w->snap_at[k * B + g->row] * m;
        if (g->deferred) {
            defer_reading(sums, g->slot, g->level, sum, m);
            continue;
        }
        const double h = se_entropy(sum, m);
        se_curve_add(&sums->curve, g->level - 1, h - sums->last_h[g->slot]);
        sums->last_h[g->slot] = h;
    }
    w->next_reading[k] = w->round_stop[k];
}

/* One permutation's sums of a block, whole rows on one thread: slots[i] is
 * row i's permuted slot. */
SE_HOT static void add_permuted(se_sums *sums, const softent_acc *acc, const se_labelset *s, const int32_t *slots, int64_t n)
{
    const int64_t m = acc->m;
    const int keep = keeps_totals(s);
    const se_share whole = {0, 1};
    for (int64_t i = 0; i < n; i++) {
        const int32_t slot = slots[i];
        if (!acc->valid[i] || slot == SLOT_DROPPED) continue;
        const double *p = acc->prob + i * m;
        sums->kept_rows++;
        if (keep) {
            add_row(sums->kept_total, p, m, whole);
            add_row_sq(sums->kept_sq, p, m, whole);
        }
        if (slot == SLOT_SINGLE) {
            sums->single_h += acc->row_h[i];
            sums->single_seen++;
            continue;
        }
        sums->seen[slot]++;
        add_row(sums->sums + (int64_t)slot * m, p, m, whole);
        if (sums->sq) add_row_sq(sums->sq + (int64_t)slot * m, p, m, whole);
    }
}

/* Rows i0 .. i1 - 1 of soft assignments given by the caller, p [n, m]
 * (computed elsewhere, a GPU say, from the same reference points and eps):
 * renormalised in double, and their entropies taken as score_tile takes
 * them.  A row with a negative, NaN or infinite entry, or summing to 0, is
 * skipped, as a row of zero or non-finite norm is. */
static void take_probs(softent_acc *acc, const float *p, int64_t i0, int64_t i1)
{
    const int64_t m = acc->m;
    const double inv_log_m = 1.0 / log((double)m);
    for (int64_t i = i0; i < i1; i++) {
        const float *src = p + i * m;
        double *dst = acc->prob + i * m, sum = 0;
        int ok = 1;
        for (int64_t j = 0; j < m; j++) {
            ok &= src[j] >= 0 && isfinite(src[j]);
            sum += src[j];
        }
        acc->valid[i] = ok && sum > 0 && isfinite(sum);
        if (!acc->valid[i]) continue;
        double h = 0;
        for (int64_t j = 0; j < m; j++) {
            dst[j] = src[j] / sum;
            h -= dst[j] * log(fmax(dst[j], 1e-9));
        }
        acc->row_h[i] = h * inv_log_m;
    }
}

/* Score n <= block rows starting at global row0 (tile aligned, or the end of
 * the stream), or take their soft assignments p, and accumulate them into
 * every label set and permutation, in one parallel region. */
static void add_block(softent_acc *acc, const float *z, const float *probs, int64_t n, int64_t row0)
{
    se_block_work *w = &acc->work;
    const int64_t m = acc->m, tile = acc->tile, B = w->block;
    const int R = acc->p.null_perms;
    int64_t skipped = 0, round_end = 0;

    #pragma omp parallel reduction(+ : skipped)
    {
        const int tid = se_thread_id(), nt = se_thread_count();
        #pragma omp for schedule(dynamic, 1)
        for (int64_t i0 = 0; i0 < n; i0 += tile) {
            if (probs) take_probs(acc, probs, i0, i0 + tile < n ? i0 + tile : n);
            else score_tile(acc, z, row0, i0, i0 + tile < n ? i0 + tile : n);
        }
        if (acc->rowstore.p) {
            #pragma omp for schedule(static)
            for (int64_t i = 0; i < n; i++) {
                se_rowstore *rs = &acc->rowstore;
                rs->ok[row0 + i] = acc->valid[i];
                /* an unusable row is stored as zeros: a checkpoint writes every byte */
                rs->h[row0 + i] = acc->valid[i] ? (float)acc->row_h[i] : 0.0f;
                for (int64_t j = 0; j < m; j++) rs->p[(row0 + i) * m + j] = acc->valid[i] ? (float)acc->prob[i * m + j] : 0.0f;
            }
            if (tid == 0) se_rowstore_release(&acc->rowstore, row0, row0 + n, m);
        }
        #pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++)
            for (int k = 0; k < acc->n_sets; k++) {
                se_labelset *s = &acc->sets[k];
                const int32_t v = s->lab->row_value[row0 + i];
                w->slots[k * B + i] = s->lab->value_slot[v];
                if (w->slots[k * B + i] == SLOT_SINGLE && acc->valid[i] && s->value_h) s->value_h[v] = acc->row_h[i];
            }
        #pragma omp for schedule(dynamic, 1)
        for (int k = 0; k < acc->n_sets; k++) {
            count_block(acc, &acc->sets[k], w->slots + k * B, n, w->readings + k * B, &w->n_readings[k], w->snap_at + k * B);
            w->next_reading[k] = 0;
        }

        /* The sums, a share of the columns of every row to each thread (a
         * split by value would leave one thread the most frequent value's
         * rows), in rounds that end where the copies of the sums the
         * curve reads are full: almost always one. */
        const se_share share = {tid, nt};
        for (int64_t from = 0, to; from < n; from = to) {
            #pragma omp single
            round_end = plan_round(acc, n);
            to = round_end;  /* read before the barrier: the next round's single rewrites it */
            add_columns(acc, from, to, share);
            #pragma omp barrier
            #pragma omp for schedule(dynamic, 1)
            for (int k = 0; k < acc->n_sets; k++) read_round(acc, k);
        }
        if (tid == 0)
            for (int64_t i = 0; i < n; i++) skipped += !acc->valid[i];

        /* Each permutation is one thread's whole job, so its sums are taken
         * in row order as in the real pass. */
        int32_t *mine = w->permuted + tid * B;
        for (int k = 0; k < acc->n_sets && R > 0 && acc->sets[k].null; k++) {
            se_labelset *s = &acc->sets[k];
            #pragma omp for schedule(dynamic, 1) nowait
            for (int r = 0; r < R; r++) {
                se_permutation perm;
                se_permutation_init(&perm, (uint64_t)acc->null_units.n, acc->p.null_seed, (uint64_t)r);
                for (int64_t i = 0; i < n; i++)
                    mine[i] = s->lab->value_slot[s->lab->row_value[se_null_source(&acc->null_units, &perm, row0 + i)]];
                add_permuted(&s->null[r], acc, s, mine, n);
            }
        }
    }
    if (acc->reservoir.cap) se_reservoir_offer(&acc->reservoir, acc->p.null_seed, row0, n, m, acc->prob, acc->row_h, acc->valid);
    acc->skipped += skipped;
    acc->rows += n;
}

/* Rows [from, to) are labelled rows of their values that this accumulator
 * does not see (the curve counts them); `before` too when they are other
 * shards' rows before this one's. */
static void count_unseen(softent_acc *acc, int64_t from, int64_t to, int before)
{
    for (int k = 0; k < acc->n_sets; k++) {
        se_sums *sums = &acc->sets[k].real;
        const se_labels *lab = acc->sets[k].lab;
        if (!sums->labelled) continue;
        for (int64_t r = from; r < to; r++) {
            const int32_t slot = lab->value_slot[lab->row_value[r]];
            if (slot < 0) continue;
            sums->labelled[slot]++;
            if (before) sums->before[slot]++;
        }
    }
}

/* Rows [row0, row0 + n) arrive.  In a shard (softent_acc_set_first_row), a
 * gap since the last rows ends the curve's readings of the values in it,
 * which lost rows; otherwise rows may come in any order and the curve reads
 * them in that order. */
static void note_rows(softent_acc *acc, int64_t row0, int64_t n)
{
    if (acc->shard && row0 > acc->rows_next) count_unseen(acc, acc->rows_next, row0, 0);
    if (acc->rows_first < 0 || row0 < acc->rows_first) acc->rows_first = row0;
    if (row0 + n > acc->rows_next) acc->rows_next = row0 + n;
    if (row0 + n > acc->rows_end) acc->rows_end = row0 + n;
}

int softent_acc_set_first_row(softent_acc *acc, int64_t first_row)
{
    if (acc->loaded || acc->streaming)
        return se_fail(SOFTENT_E_ORDER, "a shard's first row is set on a fresh accumulator of counted labels");
    if (acc->rows_first >= 0 || acc->pending_n > 0) return se_fail(SOFTENT_E_ORDER, "set a shard's first row before adding rows");
    int rc = se_acc_freeze(acc);
    if (rc) return rc;
    if (first_row < 0 || (acc->n_sets > 0 && first_row > acc->sets[0].lab->n_rows))
        return se_fail(SOFTENT_E_INVALID, "a shard's first row %lld lies outside the %lld labelled rows", (long long)first_row,
                       acc->n_sets > 0 ? (long long)acc->sets[0].lab->n_rows : 0LL);
    count_unseen(acc, 0, first_row, 1);
    acc->shard = 1;
    acc->rows_first = acc->rows_next = acc->rows_end = first_row;
    return SOFTENT_OK;
}

int se_acc_add_rows(softent_acc *acc, const float *z, const float *p, int64_t n, int64_t row0)
{
    if (n == 0) return SOFTENT_OK;
    note_rows(acc, row0, n);  /* nothing added: a finished accumulator stays finished */
    const int threads = se_max_threads();
    if (acc->null_replayed || acc->p.bootstrap > 0) {
        int rc = se_rowstore_reserve(&acc->rowstore, row0 + n, acc->m);
        if (rc) return rc;
    }
    acc->resampled = 0;
    int rc = reserve_block_work(acc, threads);
    if (!rc && z) rc = se_product_reserve(&acc->product, threads);
    if (!rc && acc->reservoir.cap) rc = se_reservoir_reserve(&acc->reservoir, acc->reservoir.n + n, acc->m);
    for (int64_t off = 0; off < n && !rc; off += acc->block) {
        int64_t b = n - off < acc->block ? n - off : acc->block;
        add_block(acc, z ? z + off * acc->d : NULL, p ? p + off * acc->m : NULL, b, row0 + off);
        rc = se_product_status(&acc->product);
    }
    return rc;
}

/* Score the held rows of the window, the rest of their tiles zero: an
 * incomplete first and last tile each as a block of its own (scored at the
 * full shape where they lie), the whole tiles between them together. */
static int flush_pending(softent_acc *acc)
{
    if (acc->pending_n == 0) return SOFTENT_OK;
    const int64_t d = acc->d, tile = acc->tile, base = acc->pending_row0 / tile * tile;
    const int64_t q0 = acc->pending_row0 - base, end = q0 + acc->pending_n;
    const int64_t head = (q0 + tile - 1) / tile * tile, tail = end / tile * tile, last = (end + tile - 1) / tile * tile;
    memset(acc->pending + q0 / tile * tile * d, 0, (size_t)((q0 % tile) * d) * sizeof *acc->pending);
    memset(acc->pending + end * d, 0, (size_t)((last - end) * d) * sizeof *acc->pending);
    /* [q0, end) split at the tile boundaries head <= tail (or one piece
     * inside a single tile) */
    const int64_t cut[4] = {q0, head < end ? head : end, tail > head ? tail : (head < end ? head : end), end};
    int rc = SOFTENT_OK;
    for (int k = 0; k < 3 && !rc; k++)
        if (cut[k + 1] > cut[k]) rc = se_acc_add_rows(acc, acc->pending + cut[k] * d, NULL, cut[k + 1] - cut[k], base + cut[k]);
    acc->pending_n = 0;
    return rc;
}

int se_acc_flush(softent_acc *acc) { return flush_pending(acc); }

int softent_acc_finish(softent_acc *acc)
{
    int rc = flush_pending(acc);
    /* streaming: the null's units are known only now that every row is labelled */
    if (!rc && acc->streaming && acc->n_sets > 0 && acc->sets[0].lab->n_rows != acc->rows_end)
        rc = se_fail(SOFTENT_E_MISMATCH, "labels were appended for %lld rows but %lld rows were added", (long long)acc->sets[0].lab->n_rows,
                     (long long)acc->rows_end);
    if (!rc && acc->streaming && acc->null_replayed && !acc->resampled) rc = se_null_units_init(acc);
    if (!rc && acc->streaming && !acc->resampled && (acc->null_replayed || acc->p.bootstrap > 0)) rc = se_stream_replay_slots(acc);
    if (!rc) rc = se_resample(acc);
    if (!rc && acc->reservoir.cap) rc = se_scaled_null_run(acc);
    return rc;
}

int softent_acc_add_probs(softent_acc *acc, const float *p, int64_t n, int64_t row0)
{
    if (acc->loaded) return se_fail(SOFTENT_E_ORDER, "a state loaded from a file can be merged and reported, not extended");
    if (n < 0 || row0 < 0 || (n > 0 && !p)) return se_fail(SOFTENT_E_INVALID, "bad soft assignments (n = %lld, row0 = %lld)", (long long)n, (long long)row0);
    int rc = se_acc_freeze(acc);
    if (!rc && acc->n_sets > 0 && row0 + n > acc->sets[0].lab->n_rows)
        rc = se_fail(SOFTENT_E_MISMATCH, "rows %lld..%lld added but only %lld are labelled", (long long)row0, (long long)(row0 + n - 1),
                     (long long)acc->sets[0].lab->n_rows);
    if (!rc && acc->shard && row0 < acc->rows_first)
        rc = se_fail(SOFTENT_E_ORDER, "row %lld comes before this shard's first row %lld", (long long)row0, (long long)acc->rows_first);
    if (!rc) rc = flush_pending(acc);
    return rc ? rc : se_acc_add_rows(acc, NULL, p, n, row0);
}

int se_acc_check_finished(const softent_acc *acc)
{
    if (acc->pending_n > 0)
        return se_fail(SOFTENT_E_ORDER, "%lld rows await softent_acc_finish", (long long)acc->pending_n);
    if ((acc->null_replayed || acc->p.bootstrap > 0) && acc->rows_end > 0 && !acc->loaded && !acc->resampled)
        return se_fail(SOFTENT_E_ORDER, "the null and bootstrap replicates await softent_acc_finish");
    return SOFTENT_OK;
}

/* dst [n, d] = src [n, d], a share of the rows to each thread: one thread
 * alone copying a document's rows into the window left the others idle for
 * a quarter of the product's time. */
static void copy_rows(float *restrict dst, const float *restrict src, int64_t n, int64_t d)
{
    const int threads = n * d < ((int64_t)1 << 16) ? 1 : se_max_threads();
    #pragma omp parallel for schedule(static) num_threads(threads)
    for (int t = 0; t < threads; t++) {
        const int64_t r0 = n * t / threads, r1 = n * (t + 1) / threads;
        memcpy(dst + r0 * d, src + r0 * d, (size_t)((r1 - r0) * d) * sizeof *src);
    }
}

int softent_acc_add(softent_acc *acc, const float *z, int64_t n, int64_t row0)
{
    if (acc->loaded) return se_fail(SOFTENT_E_ORDER, "a state loaded from a file can be merged and reported, not extended");
    if (n < 0 || row0 < 0 || (n > 0 && !z)) return se_fail(SOFTENT_E_INVALID, "bad rows (n = %lld, row0 = %lld)", (long long)n, (long long)row0);
    int rc = se_acc_freeze(acc);
    if (rc) return rc;
    if (acc->n_sets > 0 && row0 + n > acc->sets[0].lab->n_rows)
        return se_fail(SOFTENT_E_MISMATCH, "rows %lld..%lld added but only %lld are labelled",
                       (long long)row0, (long long)(row0 + n - 1), (long long)acc->sets[0].lab->n_rows);
    if (acc->shard && row0 < acc->rows_first)
        return se_fail(SOFTENT_E_ORDER, "row %lld comes before this shard's first row %lld", (long long)row0, (long long)acc->rows_first);
    const int64_t d = acc->d, tile = acc->tile, window = acc->pending_tiles * tile;
    /* Rows that do not continue the held ones end those where they are. */
    if (acc->pending_n > 0 && row0 != acc->pending_row0 + acc->pending_n && (rc = flush_pending(acc)))
        return rc;
    while (n > 0) {
        if (acc->pending_n == 0 && row0 % tile == 0 && n >= window) {
            /* whole tiles, a window's worth or more, straight from the caller's rows */
            const int64_t whole = n / tile * tile;
            if ((rc = se_acc_add_rows(acc, z, NULL, whole, row0))) return rc;
            z += whole * d, n -= whole, row0 += whole;
            continue;
        }
        /* the rest waits in the window of tiles it falls in, until that is full */
        if (acc->pending_n == 0) acc->pending_row0 = row0;
        const int64_t base = acc->pending_row0 / tile * tile, at = acc->pending_row0 + acc->pending_n;
        const int64_t room = base + window - at, take = n < room ? n : room;
        copy_rows(acc->pending + (at - base) * d, z, take, d);
        acc->pending_n += take;
        z += take * d, n -= take, row0 += take;
        if (take == room && (rc = flush_pending(acc))) return rc;
    }
    return SOFTENT_OK;
}
