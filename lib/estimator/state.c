/*
 * state.c - accumulator state files and merging.
 *
 * A state file is little-endian binary: the magic "SOFTENT\x03", the
 * settings and reference points, the totals and the rows spanned, then per
 * label set its keys, counts, slots, sums (real and null) and the bias
 * curve's bookkeeping, then the scaled null's reservoir (its rows' keys,
 * entropies and soft assignments), and last an FNV-1a 64 checksum of
 * every byte before it, so a truncated or corrupted file is refused rather
 * than read as numbers.  Files are written atomically (common/fs.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "accumulator.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/hash.h"

/* Version 2 added the sums of squares and the bias curve; version 3 the
 * rows a state holds, and the curve's per-value counts and deferred
 * readings, so that shards merge to one pass's curve; version 4 the scaled
 * null's reservoir. */
/* Version 5 added the product's arithmetic; a version 4 file is read as
 * float32 products, all it could hold. */
static const char MAGIC[8] = {'S', 'O', 'F', 'T', 'E', 'N', 'T', 5};
enum { OLDEST_READ = 4 };

typedef struct {
    FILE *f;
    const char *path;
    uint64_t hash;
    int failed;
    uint64_t left;  /* reading: bytes of the file not read yet */
} stream;

static void put(stream *s, const void *p, size_t n)
{
    if (s->failed || n == 0) return;
    s->hash = se_fnv1a64(s->hash, p, n);
    if (fwrite(p, 1, n, s->f) != n) s->failed = 1;
}

static void get(stream *s, void *p, size_t n)
{
    if (s->failed || n == 0) return;
    if (fread(p, 1, n, s->f) != n) { s->failed = 1; memset(p, 0, n); return; }
    s->hash = se_fnv1a64(s->hash, p, n);
    s->left -= n < s->left ? n : s->left;
}

/* Whether `count` items of `size` bytes (counts from the file) can still
 * be in it: checked before anything of that size is allocated. */
static int fits(const stream *s, int64_t count, int64_t size)
{
    return count >= 0 && size > 0 && (uint64_t)count <= s->left / (uint64_t)size;
}

#define PUT(s, x) put(s, &(x), sizeof(x))
#define GET(s, x) get(s, &(x), sizeof(x))

static void put_sums(stream *st, const se_sums *s, int64_t n_stored, int64_t m)
{
    put(st, s->sums, (size_t)(n_stored * m) * sizeof *s->sums);
    if (s->sq) put(st, s->sq, (size_t)(n_stored * m) * sizeof *s->sq);
    put(st, s->seen, (size_t)n_stored * sizeof *s->seen);
    put(st, s->kept_total, (size_t)m * sizeof *s->kept_total);
    put(st, s->kept_sq, (size_t)m * sizeof *s->kept_sq);
    PUT(st, s->kept_rows);
    PUT(st, s->single_h);
    PUT(st, s->single_seen);
    PUT(st, s->curve);
    if (!s->labelled) return;
    put(st, s->last_h, (size_t)n_stored * sizeof *s->last_h);
    put(st, s->labelled, (size_t)n_stored * sizeof *s->labelled);
    put(st, s->before, (size_t)n_stored * sizeof *s->before);
    PUT(st, s->n_deferred);
    put(st, s->deferred, (size_t)s->n_deferred * sizeof *s->deferred);
    put(st, s->deferred_sums, (size_t)(s->n_deferred * m) * sizeof *s->deferred_sums);
}

static void get_sums(stream *st, se_sums *s, int64_t n_stored, int64_t m)
{
    get(st, s->sums, (size_t)(n_stored * m) * sizeof *s->sums);
    if (s->sq) get(st, s->sq, (size_t)(n_stored * m) * sizeof *s->sq);
    get(st, s->seen, (size_t)n_stored * sizeof *s->seen);
    get(st, s->kept_total, (size_t)m * sizeof *s->kept_total);
    get(st, s->kept_sq, (size_t)m * sizeof *s->kept_sq);
    GET(st, s->kept_rows);
    GET(st, s->single_h);
    GET(st, s->single_seen);
    GET(st, s->curve);
    for (int a = 0; a < SE_CURVE_LEVELS; a++)
        if (s->curve.n[a] < 0) st->failed = 1;
    if (!s->labelled || st->failed) return;
    get(st, s->last_h, (size_t)n_stored * sizeof *s->last_h);
    get(st, s->labelled, (size_t)n_stored * sizeof *s->labelled);
    get(st, s->before, (size_t)n_stored * sizeof *s->before);
    int64_t n_def;
    GET(st, n_def);
    if (st->failed || !fits(st, n_def, (int64_t)sizeof(se_deferred) + m * 8)) { st->failed = 1; return; }
    s->deferred = malloc((size_t)n_def * sizeof *s->deferred + 1);
    s->deferred_sums = malloc((size_t)(n_def * m) * sizeof *s->deferred_sums + 1);
    if (!s->deferred || !s->deferred_sums) { st->failed = 1; return; }
    s->n_deferred = s->deferred_cap = n_def;
    get(st, s->deferred, (size_t)n_def * sizeof *s->deferred);
    get(st, s->deferred_sums, (size_t)(n_def * m) * sizeof *s->deferred_sums);
    for (int64_t i = 0; i < n_def; i++)
        if (s->deferred[i].slot < 0 || s->deferred[i].slot >= n_stored || s->deferred[i].level < 1 || s->deferred[i].level > SE_CURVE_LEVELS)
            st->failed = 1;
}

/* The stored rows [rows_first, rows_end) of a checkpoint. */
static void put_rows(stream *st, const softent_acc *acc)
{
    const int64_t first = acc->rows_first < 0 ? 0 : acc->rows_first, n = acc->rowstore.p ? acc->rows_end - first : -1;
    PUT(st, n);
    if (n <= 0) return;
    put(st, acc->rowstore.ok + first, (size_t)n);
    put(st, acc->rowstore.h + first, (size_t)n * sizeof *acc->rowstore.h);
    put(st, acc->rowstore.p + first * acc->m, (size_t)(n * acc->m) * sizeof *acc->rowstore.p);
    se_rowstore_release(&acc->rowstore, first, acc->rows_end, acc->m);
}

/* The scaled null's sample, in heap order: keys, entropies, rows. */
static void put_reservoir(stream *st, const se_reservoir *r, int64_t m)
{
    PUT(st, r->n);
    PUT(st, r->h_sum);
    put(st, r->key, (size_t)r->n * sizeof *r->key);
    for (int64_t k = 0; k < r->n; k++) PUT(st, r->h[r->slot[k]]);
    for (int64_t k = 0; k < r->n; k++) put(st, r->p + (int64_t)r->slot[k] * m, (size_t)m * sizeof *r->p);
}

int softent_acc_save(const softent_acc *acc, const char *path)
{
    if (!acc->frozen) return se_fail(SOFTENT_E_ORDER, "%s: nothing accumulated yet to save", path);
    if (acc->null_replayed)
        return se_fail(SOFTENT_E_ORDER, "%s: this accumulator's null is replayed from its rows, which a state does not hold; "
                       "make it with params.null_sums = 1 to save and merge the null", path);
    if (acc->p.null_groups && acc->p.null_perms > 0)
        return se_fail(SOFTENT_E_INVALID, "%s: a null over groups (params.null_groups) is not kept in state files; run it in one process", path);
    int rc = se_acc_check_finished(acc);
    return rc ? rc : se_state_write(acc, path, SE_STATE_PLAIN);
}

/* The whole file into f; nonzero when a write failed. */
static int write_to(FILE *f, const char *name, const softent_acc *acc, int kind)
{
    stream st = {f, name, SE_FNV1A64_INIT, 0, 0};
    const softent_params *p = &acc->p;
    const int64_t m = acc->m;
    put(&st, MAGIC, sizeof MAGIC);
    int32_t kind32 = kind;
    PUT(&st, kind32);
    int32_t calibration = p->calibration, weighting = p->weighting, null_perms = p->null_perms, per_value = p->per_value != 0;
    int32_t correction = p->correction, bootstrap = p->bootstrap, null_groups = p->null_groups, null_sums = p->null_sums != 0;
    PUT(&st, acc->m); PUT(&st, acc->d); PUT(&st, p->seed); PUT(&st, calibration); PUT(&st, p->eps);
    PUT(&st, weighting); PUT(&st, p->min_count); PUT(&st, null_perms); PUT(&st, p->null_seed); PUT(&st, per_value);
    PUT(&st, correction);
    PUT(&st, bootstrap); PUT(&st, p->bootstrap_seed); PUT(&st, p->level); PUT(&st, null_groups); PUT(&st, null_sums);
    PUT(&st, p->null_reservoir);
    int32_t product = p->product;
    PUT(&st, product);
    put(&st, acc->w, (size_t)(m * acc->d) * sizeof *acc->w);
    put(&st, acc->total, (size_t)m * sizeof *acc->total);
    put(&st, acc->total_sq, (size_t)m * sizeof *acc->total_sq);
    PUT(&st, acc->rows); PUT(&st, acc->skipped);
    /* an accumulator that never had rows spans [0, 0) */
    int64_t first = acc->rows_first < 0 ? 0 : acc->rows_first, end = acc->rows_first < 0 ? 0 : acc->rows_end;
    int32_t shard = acc->shard;
    PUT(&st, first); PUT(&st, end); PUT(&st, shard);
    int32_t n_sets = acc->n_sets;
    PUT(&st, n_sets);
    for (int k = 0; k < acc->n_sets; k++) {
        const se_labelset *s = &acc->sets[k];
        int32_t name_len = (int32_t)strlen(s->name), arity = s->lab->table.arity;
        PUT(&st, name_len);
        put(&st, s->name, (size_t)name_len);
        PUT(&st, arity); PUT(&st, s->lab->table.n); PUT(&st, s->lab->n_rows); PUT(&st, s->lab->n_stored);
        put(&st, s->lab->table.keys, (size_t)(s->lab->table.n * arity) * sizeof *s->lab->table.keys);
        put(&st, s->lab->table.count, (size_t)s->lab->table.n * sizeof *s->lab->table.count);
        put(&st, s->lab->value_slot, (size_t)s->lab->table.n * sizeof *s->lab->value_slot);
        if (s->value_h) put(&st, s->value_h, (size_t)s->lab->table.n * sizeof *s->value_h);
        put_sums(&st, &s->real, s->lab->n_stored, m);
        for (int r = 0; s->null && r < p->null_perms; r++) put_sums(&st, &s->null[r], s->lab->n_stored, m);
    }
    if (p->null_reservoir > 0) put_reservoir(&st, &acc->reservoir, m);
    if (kind == SE_STATE_CHECKPOINT) put_rows(&st, acc);
    uint64_t checksum = st.hash;
    if (!st.failed && fwrite(&checksum, sizeof checksum, 1, st.f) != 1) st.failed = 1;
    return st.failed;
}

int se_state_write(const softent_acc *acc, const char *path, int kind)
{
    se_atomic_file out;
    int rc = se_atomic_open(&out, path);
    if (rc) return rc;
    if (write_to(out.f, path, acc, kind)) {
        se_atomic_abort(&out);
        return se_fail(SOFTENT_E_IO, "%s: write failed (disk full?)", path);
    }
    return se_atomic_commit(&out);
}

int se_state_write_buffer(const softent_acc *acc, int kind, void **data, size_t *size)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return se_fail(SOFTENT_E_NOMEM, "out of memory serialising an accumulator");
    const int failed = write_to(f, "(memory)", acc, kind);
    if (fclose(f) != 0 || failed) {
        free(buf);
        return se_fail(SOFTENT_E_NOMEM, "out of memory serialising an accumulator");
    }
    *data = buf, *size = len;
    return SOFTENT_OK;
}

/* Bounds that keep a corrupt header from asking for absurd allocations. */
static int sane(int64_t v, int64_t lo, int64_t hi) { return v >= lo && v <= hi; }

/* Every value of v [n] finite (below 1e300) and >= 0. */
static int finite_nonneg(const double *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!(v[i] >= 0 && v[i] < 1e300)) return 0; /* NaN fails too; 1e300: two of them still add up finite */
    return 1;
}

static int nonneg(const int64_t *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (v[i] < 0) return 0;
    return 1;
}

/* Soft counts, squares and entropies are finite and >= 0, counts >= 0: a
 * state that passes its checksum can still have been written wrong. */
/* The curve's bookkeeping: counts that fit together, finite readings. */
static int curve_valid(const se_sums *s, int64_t n_stored, int64_t m)
{
    if (!s->labelled) return 1;
    for (int64_t i = 0; i < n_stored; i++)
        if (!(s->before[i] >= 0 && s->before[i] <= s->labelled[i] && s->seen[i] <= s->labelled[i] - s->before[i] &&
              isfinite(s->last_h[i])))
            return 0;
    return finite_nonneg(s->deferred_sums, s->n_deferred * m);
}

static int sums_valid(const se_sums *s, int64_t n_stored, int64_t m)
{
    return curve_valid(s, n_stored, m) && finite_nonneg(s->sums, n_stored * m) && (!s->sq || finite_nonneg(s->sq, n_stored * m)) && nonneg(s->seen, n_stored) &&
           finite_nonneg(s->kept_total, m) && finite_nonneg(s->kept_sq, m) && s->kept_rows >= 0 && s->single_seen >= 0 &&
           finite_nonneg(&s->single_h, 1) && nonneg(s->curve.n, SE_CURVE_LEVELS) && nonneg(s->curve.sumsq, SE_CURVE_LEVELS);
}

static int check_values(const softent_acc *acc, const char *path)
{
    const int64_t m = acc->m;
    int ok = finite_nonneg(acc->total, m) && finite_nonneg(acc->total_sq, m) && acc->rows >= 0 && acc->skipped >= 0;
    for (int k = 0; ok && k < acc->n_sets; k++) {
        const se_labelset *s = &acc->sets[k];
        ok = nonneg(s->lab->table.count, s->lab->table.n) && sums_valid(&s->real, s->lab->n_stored, m);
        for (int r = 0; ok && s->null && r < acc->p.null_perms; r++) ok = sums_valid(&s->null[r], s->lab->n_stored, m);
    }
    return ok ? SOFTENT_OK : se_fail(SOFTENT_E_FORMAT, "%s: impossible values (a negative count, or a sum that is negative, NaN or infinite): the file is corrupt", path);
}

static int load_sets(softent_acc *acc, stream *st)
{
    const int64_t m = acc->m;
    int32_t n_sets;
    GET(st, n_sets);
    if (st->failed || !sane(n_sets, 0, 4096)) return se_fail(SOFTENT_E_FORMAT, "%s: corrupt label-set count", st->path);
    for (int k = 0; k < n_sets; k++) {
        int32_t name_len, arity;
        GET(st, name_len);
        if (st->failed || !sane(name_len, 1, 4096)) return se_fail(SOFTENT_E_FORMAT, "%s: corrupt label-set name", st->path);
        char name[4097];
        get(st, name, (size_t)name_len);
        name[name_len] = '\0';
        GET(st, arity);
        if (st->failed || !sane(arity, 1, SOFTENT_MAX_ARITY)) return se_fail(SOFTENT_E_FORMAT, "%s: corrupt label-set header", st->path);
        int rc = softent_acc_add_labelset(acc, name, arity, NULL);
        if (rc) return rc;
        se_labelset *s = &acc->sets[k];
        int64_t n_values, n_stored;
        GET(st, n_values); GET(st, s->lab->n_rows); GET(st, n_stored);
        if (st->failed || !sane(n_values, 0, INT32_MAX) || !sane(n_stored, 0, n_values) || !sane(s->lab->n_rows, n_values, INT64_MAX / 2))
            return se_fail(SOFTENT_E_FORMAT, "%s: corrupt sizes in label set '%s'", st->path, name);
        const int64_t per_value = arity * 8 + 8 + 4 + (acc->p.per_value ? 8 : 0);
        /* the real sums (with the taylor squares), then each permutation's (without) */
        const int64_t per_stored = m * 8 * (1 + (acc->p.correction == SOFTENT_CORRECT_TAYLOR)) + 32 +
                                   (acc->p.null_sums ? (int64_t)acc->p.null_perms * (m * 8 + 8) : 0);
        if (!fits(st, n_values, per_value) || !fits(st, n_stored, per_stored))
            return se_fail(SOFTENT_E_FORMAT, "%s: label set '%s' declares %lld values (%lld stored), more than the file holds", st->path, name,
                           (long long)n_values, (long long)n_stored);
        se_keytable *t = &s->lab->table;
        t->n = t->cap = n_values;
        s->lab->n_stored = n_stored;
        t->keys = malloc((size_t)(n_values * arity) * sizeof *t->keys + 1);
        t->count = malloc((size_t)n_values * sizeof *t->count + 1);
        s->lab->value_slot = malloc((size_t)n_values * sizeof *s->lab->value_slot + 1);
        if (acc->p.per_value) s->value_h = malloc((size_t)n_values * sizeof *s->value_h + 1);
        if (!t->keys || !t->count || !s->lab->value_slot || (acc->p.per_value && !s->value_h))
            return se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", st->path);
        get(st, t->keys, (size_t)(n_values * arity) * sizeof *t->keys);
        get(st, t->count, (size_t)n_values * sizeof *t->count);
        get(st, s->lab->value_slot, (size_t)n_values * sizeof *s->lab->value_slot);
        if (s->value_h) get(st, s->value_h, (size_t)n_values * sizeof *s->value_h);
        for (int64_t v = 0; v < n_values && !st->failed; v++) {
            if (s->lab->value_slot[v] < SLOT_DROPPED || s->lab->value_slot[v] >= n_stored)
                return se_fail(SOFTENT_E_FORMAT, "%s: corrupt slot table in label set '%s'", st->path, name);
            s->lab->n_dropped += s->lab->value_slot[v] == SLOT_DROPPED;
        }
        s->lab->frozen = 1;
        if ((rc = se_sums_alloc(&s->real, n_stored, m, SE_SUMS_CURVE | (acc->p.correction == SOFTENT_CORRECT_TAYLOR ? SE_SUMS_SQ : 0))))
            return rc;
        get_sums(st, &s->real, n_stored, m);
        if (acc->p.null_perms > 0 && acc->p.null_sums) {
            s->null = calloc((size_t)acc->p.null_perms, sizeof *s->null);
            if (!s->null) return se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", st->path);
            for (int r = 0; r < acc->p.null_perms; r++) {
                if ((rc = se_sums_alloc(&s->null[r], n_stored, m, 0))) return rc;
                get_sums(st, &s->null[r], n_stored, m);
            }
        }
        if (st->failed) return se_fail(SOFTENT_E_FORMAT, "%s: truncated state file", st->path);
    }
    return SOFTENT_OK;
}

int softent_acc_load(softent_acc **out, const char *path) { return se_state_read(out, path, SE_STATE_PLAIN); }

/* A checkpoint's stored rows, at their global indices. */
static int get_rows(stream *st, softent_acc *acc)
{
    int64_t n;
    GET(st, n);
    if (st->failed) return se_fail(SOFTENT_E_FORMAT, "%s: truncated state file", st->path);
    if (n < 0) return SOFTENT_OK;
    if (n != acc->rows_end - acc->rows_first || !fits(st, n, 5 + 4 * acc->m))
        return se_fail(SOFTENT_E_FORMAT, "%s: the stored rows do not match the rows the checkpoint spans", st->path);
    int rc = se_rowstore_reserve(&acc->rowstore, acc->rows_end, acc->m);
    if (rc) return rc;
    const int64_t first = acc->rows_first;
    if (n == 0) return SOFTENT_OK;  /* an empty shard at row 0 has no store to offset into */
    get(st, acc->rowstore.ok + first, (size_t)n);
    get(st, acc->rowstore.h + first, (size_t)n * sizeof *acc->rowstore.h);
    get(st, acc->rowstore.p + first * acc->m, (size_t)(n * acc->m) * sizeof *acc->rowstore.p);
    /* usable rows hold soft assignments, the others zeros */
    for (int64_t i = 0; i < n && !st->failed; i++) {
        const unsigned char ok = acc->rowstore.ok[first + i];
        const float *p = acc->rowstore.p + (first + i) * acc->m;
        if (ok > 1 || !(acc->rowstore.h[first + i] >= 0 && acc->rowstore.h[first + i] <= 1.001f)) st->failed = 1;
        for (int64_t j = 0; j < acc->m && !st->failed; j++)
            if (!(p[j] >= 0 && p[j] <= 1)) st->failed = 1;
    }
    se_rowstore_release(&acc->rowstore, first, first + n, acc->m);
    return st->failed ? se_fail(SOFTENT_E_FORMAT, "%s: truncated or corrupt stored rows", st->path) : SOFTENT_OK;
}

/* The scaled null's sample into acc's empty reservoir of capacity cap (its
 * room is what the file holds, so a corrupt header's capacity allocates
 * nothing). */
static int get_reservoir(stream *st, softent_acc *acc, int64_t cap)
{
    const int64_t m = acc->m;
    int64_t n;
    double h_sum;
    GET(st, n);
    GET(st, h_sum);
    const int64_t usable = acc->rows - acc->skipped;
    if (st->failed || n < 0 || n > cap || n > usable || !fits(st, n, 12 + 4 * m) || !(h_sum >= 0 && h_sum <= 1.001 * (double)usable))
        return se_fail(SOFTENT_E_FORMAT, "%s: truncated or corrupt scaled-null sample", st->path);
    se_reservoir *r = &acc->reservoir;
    int rc = se_reservoir_reserve(r, n, m);
    if (rc) return rc;
    r->n = n, r->h_sum = h_sum, r->offered = usable;
    get(st, r->key, (size_t)n * sizeof *r->key);
    get(st, r->h, (size_t)n * sizeof *r->h);
    get(st, r->p, (size_t)(n * m) * sizeof *r->p);
    for (int64_t k = 0; k < n && !st->failed; k++) {
        r->slot[k] = (int32_t)k;
        /* a max-heap of distinct keys, rows of soft assignments */
        if ((k > 0 && r->key[(k - 1) / 2] <= r->key[k]) || !(r->h[k] >= 0 && r->h[k] <= 1.001f)) st->failed = 1;
        for (int64_t j = 0; j < m && !st->failed; j++)
            if (!(r->p[k * m + j] >= 0 && r->p[k * m + j] <= 1)) st->failed = 1;
    }
    return st->failed ? se_fail(SOFTENT_E_FORMAT, "%s: truncated or corrupt scaled-null sample", st->path) : SOFTENT_OK;
}

/* A state of `size` bytes from f (named path in errors). */
static int read_from(FILE *f, uint64_t size, const char *path, int want, softent_acc **out)
{
    *out = NULL;
    stream st = {f, path, SE_FNV1A64_INIT, 0, size};
    char magic[8];
    get(&st, magic, sizeof magic);
    if (!st.failed && memcmp(magic, MAGIC, 7) == 0 && magic[7] >= 1 && magic[7] < OLDEST_READ) {
        return se_fail(SOFTENT_E_FORMAT, "%s: a state file from an older softent (version %d; this one reads version %d); accumulate it again",
                       path, magic[7], MAGIC[7]);
    }
    const int version = magic[7];
    if (st.failed || memcmp(magic, MAGIC, 7) != 0 || version < OLDEST_READ || version > MAGIC[7]) {
        return se_fail(SOFTENT_E_FORMAT, "%s: not a softent state file (bad magic)", path);
    }
    int32_t kind;
    GET(&st, kind);
    if (!st.failed && kind != want) {
        return se_fail(SOFTENT_E_FORMAT, kind == SE_STATE_CHECKPOINT ? "%s is the checkpoint of an unfinished run, not a state: resume the run"
                                                                     : "%s is a finished state, not a checkpoint to resume", path);
    }
    softent_params p = softent_default_params();
    int64_t m, d;
    int32_t calibration, weighting, null_perms, per_value, correction, bootstrap, null_groups, null_sums;
    GET(&st, m); GET(&st, d); GET(&st, p.seed); GET(&st, calibration); GET(&st, p.eps);
    GET(&st, weighting); GET(&st, p.min_count); GET(&st, null_perms); GET(&st, p.null_seed); GET(&st, per_value);
    GET(&st, correction);
    GET(&st, bootstrap); GET(&st, p.bootstrap_seed); GET(&st, p.level); GET(&st, null_groups); GET(&st, null_sums);
    int64_t null_reservoir;
    GET(&st, null_reservoir);
    int32_t product = SOFTENT_PRODUCT_F32;
    if (version >= 5) GET(&st, product);
    const int scaled_ok = null_reservoir == 0 || (sane(null_reservoir, 2, (int64_t)1 << 26) && null_perms == 0 && null_groups == 0 && null_sums == 0);
    if (st.failed || !sane(m, 2, 100000000) || !sane(d, 2, 100000000) || m * d > ((int64_t)1 << 34) ||
        !sane(calibration, 0, 3) || !sane(weighting, 0, 1) || !sane(null_perms, 0, 100000) || !sane(per_value, 0, 1) ||
        !sane(correction, 0, SOFTENT_CORRECT_TAYLOR) || (correction == SOFTENT_CORRECT_NULL && null_perms < 2 && null_reservoir == 0) || !scaled_ok ||
        !sane(p.min_count, 0, INT64_MAX) || !(p.eps > 0) || !isfinite(p.eps) || !fits(&st, m * d, (int64_t)sizeof(float)) ||
        !sane(bootstrap, 0, 100000) || bootstrap == 1 || !(p.level > 0 && p.level < 1) || !sane(null_groups, 0, 2) || !sane(null_sums, 0, 1) ||
        !sane(product, 0, SOFTENT_PRODUCT_BF16)) {
        return se_fail(SOFTENT_E_FORMAT, "%s: corrupt header", path);
    }
    p.m = m;
    p.calibration = SOFTENT_CAL_FIXED; /* eps is stored; no need to solve again */
    p.weighting = (softent_weighting)weighting;
    p.null_perms = null_perms;
    p.per_value = per_value;
    p.correction = (softent_correction)correction;
    /* a state holds its null as sums and no rows (no bootstrap); a
     * checkpoint is what the run had */
    p.null_sums = kind == SE_STATE_PLAIN && null_reservoir == 0 ? 1 : null_sums;
    p.null_reservoir = null_reservoir;
    p.product = (softent_product)product;
    p.bootstrap = kind == SE_STATE_PLAIN ? 0 : bootstrap;
    p.null_groups = kind == SE_STATE_PLAIN ? 0 : null_groups;
    float *w = malloc((size_t)(m * d) * sizeof *w);
    if (!w) return se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", path);
    get(&st, w, (size_t)(m * d) * sizeof *w);
    softent_acc *acc = NULL;
    int rc = st.failed ? se_fail(SOFTENT_E_FORMAT, "%s: truncated state file", path) : softent_acc_new(&acc, &p, d, w);
    free(w);
    if (rc) return rc;
    acc->p.calibration = (softent_calibration)calibration;
    get(&st, acc->total, (size_t)m * sizeof *acc->total);
    get(&st, acc->total_sq, (size_t)m * sizeof *acc->total_sq);
    GET(&st, acc->rows); GET(&st, acc->skipped);
    int32_t shard;
    GET(&st, acc->rows_first); GET(&st, acc->rows_end); GET(&st, shard);
    acc->shard = shard;
    acc->rows_next = acc->rows_end;
    if (st.failed) rc = se_fail(SOFTENT_E_FORMAT, "%s: truncated state file", path);
    else if (shard != 0 && shard != 1) rc = se_fail(SOFTENT_E_FORMAT, "%s: corrupt header", path);
    else if (!(acc->rows_first >= 0 && acc->rows_first <= acc->rows_end && acc->rows_end <= ((int64_t)1 << 48) &&
               acc->rows_end - acc->rows_first >= acc->rows))
        rc = se_fail(SOFTENT_E_FORMAT, "%s: corrupt row range (%lld..%lld for %lld rows)", path, (long long)acc->rows_first,
                     (long long)acc->rows_end, (long long)acc->rows);
    if (!rc) rc = load_sets(acc, &st);
    if (!rc && null_reservoir > 0) rc = get_reservoir(&st, acc, null_reservoir);
    if (!rc && kind == SE_STATE_CHECKPOINT) rc = get_rows(&st, acc);
    if (!rc) {
        uint64_t expect = st.hash, checksum;
        int extra;
        if (fread(&checksum, sizeof checksum, 1, st.f) != 1) rc = se_fail(SOFTENT_E_FORMAT, "%s: truncated state file", path);
        else if (checksum != expect) rc = se_fail(SOFTENT_E_FORMAT, "%s: checksum mismatch (the file is corrupt)", path);
        else if ((extra = fgetc(st.f)) != EOF) rc = se_fail(SOFTENT_E_FORMAT, "%s: trailing bytes after the state", path);
    }
    if (!rc) rc = check_values(acc, path);
    /* a state is reported as it stands; a checkpoint's run finishes later */
    if (!rc && kind == SE_STATE_PLAIN && null_reservoir > 0) rc = se_scaled_null_run(acc);
    if (rc) { softent_acc_free(acc); return rc; }
    acc->frozen = 1;
    acc->loaded = 1;
    *out = acc;
    return SOFTENT_OK;
}

int se_state_read(softent_acc **out, const char *path, int want)
{
    *out = NULL;
    FILE *f;
    int rc = se_open_regular(path, &f);
    if (rc) return rc;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) rc = se_fail(SOFTENT_E_IO, "%s: cannot stat: %s", path, strerror(errno));
    else rc = read_from(f, (uint64_t)sb.st_size, path, want, out);
    fclose(f);
    return rc;
}

int se_state_read_buffer(softent_acc **out, const void *data, size_t size, const char *name, int want)
{
    *out = NULL;
    if (size == 0) return se_fail(SOFTENT_E_FORMAT, "%s: empty", name);
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f) return se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", name);
    int rc = read_from(f, size, name, want, out);
    fclose(f);
    return rc;
}

static void add_sums(se_sums *dst, const se_sums *src, int64_t n_stored, int64_t m)
{
    for (int64_t i = 0; i < n_stored * m; i++) dst->sums[i] += src->sums[i];
    for (int64_t i = 0; dst->sq && src->sq && i < n_stored * m; i++) dst->sq[i] += src->sq[i];
    for (int64_t i = 0; i < n_stored; i++) dst->seen[i] += src->seen[i];
    for (int64_t j = 0; j < m; j++) dst->kept_total[j] += src->kept_total[j];
    for (int64_t j = 0; j < m; j++) dst->kept_sq[j] += src->kept_sq[j];
    dst->kept_rows += src->kept_rows;
    dst->single_h += src->single_h;
    dst->single_seen += src->single_seen;
}

/* A deferred reading and where its sum lies, sorted by value and count. */
typedef struct {
    se_deferred at;
    int64_t index;
} deferred_ref;

static int cmp_deferred(const void *a, const void *b)
{
    const se_deferred *x = &((const deferred_ref *)a)->at, *y = &((const deferred_ref *)b)->at;
    return x->slot != y->slot ? (x->slot > y->slot) - (x->slot < y->slot) : (x->level > y->level) - (x->level < y->level);
}

/* The curve of E then L, E's rows before L's, into out (E or L), before the
 * sums are added.  L's readings that waited for earlier rows are taken now
 * from E's sums when E holds a value from its first row, or wait on with
 * E's sums added when the value has rows before E too; either only while
 * every row of the value in E was usable and none lies between E and L
 * (a missing shard's), as one pass reads. */
static int merge_curve(se_sums *out, const se_sums *E, int L_shard, const se_sums *L, int64_t n_stored, int64_t m)
{
    const int64_t n_def = E->n_deferred + L->n_deferred;
    double *last = malloc((size_t)n_stored * sizeof *last + 1), *sum = malloc((size_t)m * sizeof *sum);
    se_deferred *def = malloc((size_t)n_def * sizeof *def + 1);
    double *def_sums = malloc((size_t)(n_def * m) * sizeof *def_sums + 1);
    deferred_ref *order = malloc((size_t)L->n_deferred * sizeof *order + 1);
    if (!last || !sum || !def || !def_sums || !order) {
        free(last); free(sum); free(def); free(def_sums); free(order);
        return se_fail(SOFTENT_E_NOMEM, "out of memory merging the bias curves");
    }
    se_curve curve = E->curve;
    se_curve_merge(&curve, &L->curve);
    /* each value's last reading: L's when the value starts in L */
    for (int64_t x = 0; x < n_stored; x++)
        last[x] = L->before[x] == 0 && L->labelled[x] > 0 ? L->last_h[x] : E->last_h[x];
    if (E->n_deferred > 0) {
        memcpy(def, E->deferred, (size_t)E->n_deferred * sizeof *def);
        memcpy(def_sums, E->deferred_sums, (size_t)(E->n_deferred * m) * sizeof *def_sums);
    }
    int64_t n_out = E->n_deferred;
    for (int64_t i = 0; i < L->n_deferred; i++) order[i] = (deferred_ref){L->deferred[i], i};
    qsort(order, (size_t)L->n_deferred, sizeof *order, cmp_deferred);
    for (int64_t i = 0; i < L->n_deferred; i++) {
        const int32_t x = order[i].at.slot;
        if (E->seen[x] != E->labelled[x] - E->before[x] || E->labelled[x] != L->before[x]) continue;  /* a row unusable or missing */
        const double *part = L->deferred_sums + order[i].index * m, *earlier = E->sums + (int64_t)x * m;
        for (int64_t j = 0; j < m; j++) sum[j] = earlier[j] + part[j];
        if (E->before[x] > 0) {
            def[n_out] = order[i].at;
            memcpy(def_sums + n_out * m, sum, (size_t)m * sizeof *sum);
            n_out++;
            continue;
        }
        const double h = se_entropy(sum, m);
        se_curve_add(&curve, order[i].at.level - 1, h - last[x]);
        last[x] = h;
    }
    free(order);
    free(sum);
    memcpy(out->last_h, last, (size_t)n_stored * sizeof *last);
    free(last);
    /* a shard's labelled counts already hold the rows before it */
    for (int64_t x = 0; x < n_stored; x++) out->labelled[x] = L->labelled[x] + (L_shard ? 0 : E->labelled[x]);
    if (out != E) memcpy(out->before, E->before, (size_t)n_stored * sizeof *out->before);
    free(out->deferred);
    free(out->deferred_sums);
    out->deferred = def;
    out->deferred_sums = def_sums;
    out->n_deferred = out->deferred_cap = n_out;
    out->curve = curve;
    return SOFTENT_OK;
}

static int add_fits(int64_t a, int64_t b)
{
    int64_t r;
    return !__builtin_add_overflow(a, b, &r);
}

static int sums_merge_fit(const se_sums *x, const se_sums *y, int64_t n_stored)
{
    int ok = add_fits(x->kept_rows, y->kept_rows) && add_fits(x->single_seen, y->single_seen);
    for (int64_t i = 0; ok && i < n_stored; i++) ok = add_fits(x->seen[i], y->seen[i]);
    for (int a = 0; ok && a < SE_CURVE_LEVELS; a++)
        ok = add_fits(x->curve.sum[a], y->curve.sum[a]) && add_fits(x->curve.sumsq[a], y->curve.sumsq[a]) && add_fits(x->curve.n[a], y->curve.n[a]);
    return ok;
}

/* Whether every integer count of src can be added to dst's. */
static int merge_fits(const softent_acc *dst, const softent_acc *src)
{
    int ok = add_fits(dst->rows, src->rows) && add_fits(dst->skipped, src->skipped);
    for (int k = 0; ok && k < dst->n_sets; k++) {
        const se_labelset *x = &dst->sets[k], *y = &src->sets[k];
        ok = sums_merge_fit(&x->real, &y->real, x->lab->n_stored);
        for (int r = 0; ok && x->null && r < dst->p.null_perms; r++) ok = sums_merge_fit(&x->null[r], &y->null[r], x->lab->n_stored);
    }
    return ok;
}

int softent_acc_mergeable(const softent_acc *dst, const softent_acc *src)
{
    int rc = se_acc_check_finished(dst);
    if (rc || (rc = se_acc_check_finished(src))) return rc;
    return se_acc_compatible(dst, src);
}

int se_acc_compatible(const softent_acc *dst, const softent_acc *src)
{
    const softent_params *a = &dst->p, *b = &src->p;
    if (!dst->frozen || !src->frozen) return se_fail(SOFTENT_E_ORDER, "merge needs two accumulated states");
    if (dst->streaming || src->streaming)
        return se_fail(SOFTENT_E_MISMATCH, "an accumulator with streamed labels holds its own rows' label set; merge takes shards of rows "
                       "counted on the same full label arrays (softent_acc_count)");
    if (dst->m != src->m || dst->d != src->d || a->eps != b->eps || a->weighting != b->weighting ||
        (a->correction == SOFTENT_CORRECT_TAYLOR) != (b->correction == SOFTENT_CORRECT_TAYLOR) ||
        a->min_count != b->min_count || a->null_perms != b->null_perms || a->null_reservoir != b->null_reservoir || a->null_seed != b->null_seed ||
        (a->per_value != 0) != (b->per_value != 0) || a->product != b->product)
        return se_fail(SOFTENT_E_MISMATCH, "states were made with different settings (m, d, eps, weighting, min-count, null, per-value or product)");
    if (memcmp(dst->w, src->w, (size_t)(dst->m * dst->d) * sizeof *dst->w) != 0)
        return se_fail(SOFTENT_E_MISMATCH, "states use different reference points");
    if (dst->n_sets != src->n_sets) return se_fail(SOFTENT_E_MISMATCH, "states have different label sets");
    for (int k = 0; k < dst->n_sets; k++) {
        const se_labelset *x = &dst->sets[k], *y = &src->sets[k];
        if (strcmp(x->name, y->name) != 0 || x->lab->table.arity != y->lab->table.arity || x->lab->table.n != y->lab->table.n ||
            x->lab->n_rows != y->lab->n_rows || x->lab->n_stored != y->lab->n_stored ||
            memcmp(x->lab->table.keys, y->lab->table.keys, (size_t)(x->lab->table.n * x->lab->table.arity) * 8) != 0 ||
            memcmp(x->lab->table.count, y->lab->table.count, (size_t)x->lab->table.n * 8) != 0)
            return se_fail(SOFTENT_E_MISMATCH, "label set '%s' was counted on different labels in the two states; "
                           "every shard must count the full label arrays (softent estimate --shard I/K does)", x->name);
    }
    if (!merge_fits(dst, src))
        return se_fail(SOFTENT_E_LIMIT, "the merged counts would overflow 64-bit integers (states of more than 2^63 rows, or corrupt ones)");
    return SOFTENT_OK;
}

/* dst, which holds no rows, takes src's curve bookkeeping (before the sums
 * are added). */
static int adopt_curve(se_sums *dst, const se_sums *src, int64_t n_stored, int64_t m)
{
    se_deferred *def = malloc((size_t)src->n_deferred * sizeof *def + 1);
    double *def_sums = malloc((size_t)(src->n_deferred * m) * sizeof *def_sums + 1);
    if (!def || !def_sums) {
        free(def);
        free(def_sums);
        return se_fail(SOFTENT_E_NOMEM, "out of memory merging the bias curves");
    }
    if (src->n_deferred > 0) {
        memcpy(def, src->deferred, (size_t)src->n_deferred * sizeof *def);
        memcpy(def_sums, src->deferred_sums, (size_t)(src->n_deferred * m) * sizeof *def_sums);
    }
    free(dst->deferred);
    free(dst->deferred_sums);
    dst->deferred = def;
    dst->deferred_sums = def_sums;
    dst->n_deferred = dst->deferred_cap = src->n_deferred;
    memcpy(dst->last_h, src->last_h, (size_t)n_stored * sizeof *dst->last_h);
    memcpy(dst->labelled, src->labelled, (size_t)n_stored * sizeof *dst->labelled);
    memcpy(dst->before, src->before, (size_t)n_stored * sizeof *dst->before);
    dst->curve = src->curve;
    return SOFTENT_OK;
}

int se_acc_merge_into(softent_acc *dst, const softent_acc *src, int partial)
{
    int rc;
    const int64_t m = dst->m;
    const int src_empty = src->rows_end <= src->rows_first, dst_empty = dst->rows_end <= dst->rows_first;
    if (src_empty) return SOFTENT_OK;  /* an empty shard: nothing to add */
    if (dst_empty) {
        for (int k = 0; k < dst->n_sets; k++)
            if ((rc = adopt_curve(&dst->sets[k].real, &src->sets[k].real, dst->sets[k].lab->n_stored, m))) return rc;
        dst->rows_first = src->rows_first;
        dst->rows_end = dst->rows_next = src->rows_end;
        dst->shard = src->shard;
    } else {
        /* The earlier rows first: the bias curve's readings that wait in
         * the later state need the earlier one's sums (merge_curve). */
        const int dst_first = dst->rows_first < src->rows_first || (dst->rows_first == src->rows_first && dst->rows_end <= src->rows_end);
        const softent_acc *E = dst_first ? dst : src, *L = dst_first ? src : dst;
        if (E->rows_end > L->rows_first)
            return se_fail(SOFTENT_E_MISMATCH, "the two states hold some of the same rows (%lld..%lld and %lld..%lld): a shard given twice?",
                           (long long)E->rows_first, (long long)E->rows_end - 1, (long long)L->rows_first, (long long)L->rows_end - 1);
        if (E->rows_end < L->rows_first && !partial)
            return se_fail(SOFTENT_E_MISMATCH, "rows %lld..%lld lie between the two states: merge the shard that holds them first "
                           "(softent merge puts shards in row order), or merge partially", (long long)E->rows_end,
                           (long long)L->rows_first - 1);
        for (int k = 0; k < dst->n_sets; k++)
            if ((rc = merge_curve(&dst->sets[k].real, &E->sets[k].real, L->shard, &L->sets[k].real, dst->sets[k].lab->n_stored, m)))
                return rc;
        dst->rows_first = E->rows_first;
        dst->rows_end = dst->rows_next = L->rows_end;
        dst->shard = E->shard;
    }
    if (dst->p.null_reservoir > 0 && (rc = se_reservoir_merge(&dst->reservoir, &src->reservoir, m))) return rc;
    for (int64_t j = 0; j < m; j++) dst->total[j] += src->total[j];
    for (int64_t j = 0; j < m; j++) dst->total_sq[j] += src->total_sq[j];
    dst->rows += src->rows;
    dst->skipped += src->skipped;
    for (int k = 0; k < dst->n_sets; k++) {
        se_labelset *x = &dst->sets[k];
        const se_labelset *y = &src->sets[k];
        add_sums(&x->real, &y->real, x->lab->n_stored, m);
        for (int r = 0; x->null && y->null && r < dst->p.null_perms; r++) add_sums(&x->null[r], &y->null[r], x->lab->n_stored, m);
        for (int64_t v = 0; x->value_h && v < x->lab->table.n; v++)
            if (isnan(x->value_h[v])) x->value_h[v] = y->value_h[v];
    }
    /* a loaded state is reported as it stands; a run's accumulator finishes */
    return dst->loaded && dst->p.null_reservoir > 0 ? se_scaled_null_run(dst) : SOFTENT_OK;
}

static int merge(softent_acc *dst, const softent_acc *src, int partial)
{
    int rc = softent_acc_mergeable(dst, src);
    return rc ? rc : se_acc_merge_into(dst, src, partial);
}

int softent_acc_merge(softent_acc *dst, const softent_acc *src) { return merge(dst, src, 0); }

int softent_acc_merge_partial(softent_acc *dst, const softent_acc *src) { return merge(dst, src, 1); }
