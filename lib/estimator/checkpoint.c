/*
 * checkpoint.c - an unfinished accumulator saved and taken up again.
 *
 * A checkpoint is a state file (state.c) that also holds what a state
 * leaves out because a finished run no longer needs it: the stored rows the
 * null and the bootstrap replay at the end, and their settings.  Resuming
 * loads it into a fresh accumulator made as the first was (the same
 * settings, the same label arrays counted, so the same slots), which then
 * takes the rest of the rows: the sums continue as if never interrupted,
 * so the results are those of an uninterrupted run.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accumulator.h"
#include "common/error.h"

int softent_acc_checkpoint(softent_acc *acc, const char *path)
{
    if (acc->loaded || acc->streaming)
        return se_fail(SOFTENT_E_ORDER, "%s: only an accumulator of counted labels that is still taking rows is checkpointed", path);
    int rc = se_acc_freeze(acc);
    if (!rc) rc = se_acc_flush(acc);
    return rc ? rc : se_state_write(acc, path, SE_STATE_CHECKPOINT);
}

/* The first setting in which the run's (a) and the checkpoint's (b)
 * differ, named as the command line names it, or NULL. */
static const char *differing_setting(const softent_params *a, const softent_params *b, char *buf, size_t size)
{
#define SAME(field, name, type, fmt)                                                                              \
    if (a->field != b->field) {                                                                                  \
        snprintf(buf, size, "--%s (the checkpoint has " fmt ", this run " fmt ")", name, (type)b->field, (type)a->field); \
        return buf;                                                                                              \
    }
    SAME(m, "bins", long long, "%lld")
    SAME(eps, "eps", double, "%.17g")
    SAME(weighting, "weighting", int, "%d")
    SAME(min_count, "min-count", long long, "%lld")
    SAME(null_perms, "null", int, "%d")
    SAME(null_reservoir, "null scaled:ROWS", long long, "%lld")
    SAME(null_seed, "null-seed", unsigned long long, "%llu")
    SAME(null_groups, "null-groups", int, "%d")
    SAME(bootstrap, "bootstrap", int, "%d")
    SAME(bootstrap_seed, "bootstrap-seed", unsigned long long, "%llu")
    SAME(level, "level", double, "%g")
    SAME(correction, "correction", int, "%d")
    SAME(per_value, "per-value", int, "%d")
#undef SAME
    if (a->product != b->product) {
        snprintf(buf, size, "--product (the checkpoint has %s, this run %s)", softent_product_name(b->product), softent_product_name(a->product));
        return buf;
    }
    return NULL;
}

/* Whether the rows a loaded shard spans lie among acc's labelled rows. */
static int rows_fit(const softent_acc *acc, const softent_acc *shard, const char *what)
{
    const int64_t labelled = acc->n_sets > 0 ? acc->sets[0].lab->n_rows : INT64_MAX;
    if (shard->rows_end > labelled)
        return se_fail(SOFTENT_E_MISMATCH, "%s holds rows up to %lld, but this run's labels cover %lld", what, (long long)shard->rows_end - 1,
                       (long long)labelled);
    return SOFTENT_OK;
}

/* src's stored rows into dst's, at their global indices. */
static int take_rows(softent_acc *dst, const softent_acc *src)
{
    if (!src->rowstore.p || src->rows_end <= src->rows_first) return SOFTENT_OK;
    int rc = se_rowstore_reserve(&dst->rowstore, src->rows_end, dst->m);
    if (rc) return rc;
    const int64_t first = src->rows_first, n = src->rows_end - first, m = dst->m;
    memcpy(dst->rowstore.ok + first, src->rowstore.ok + first, (size_t)n);
    memcpy(dst->rowstore.h + first, src->rowstore.h + first, (size_t)n * sizeof *dst->rowstore.h);
    memcpy(dst->rowstore.p + first * m, src->rowstore.p + first * m, (size_t)(n * m) * sizeof *dst->rowstore.p);
    se_rowstore_release(&dst->rowstore, first, first + n, m);
    return SOFTENT_OK;
}

/* Move what `from` accumulated into `to` (same layout: checked). */
static int transplant(softent_acc *to, softent_acc *from)
{
    const int64_t m = to->m;
    memcpy(to->total, from->total, (size_t)m * sizeof *to->total);
    memcpy(to->total_sq, from->total_sq, (size_t)m * sizeof *to->total_sq);
    to->rows = from->rows;
    to->skipped = from->skipped;
    to->shard = from->shard;
    to->rows_first = from->rows_first;
    to->rows_end = to->rows_next = from->rows_end;
    for (int k = 0; k < to->n_sets; k++) {
        se_labelset *x = &to->sets[k], *y = &from->sets[k];
        se_sums swap = x->real;
        x->real = y->real, y->real = swap;
        for (int r = 0; x->null && y->null && r < to->p.null_perms; r++) swap = x->null[r], x->null[r] = y->null[r], y->null[r] = swap;
        if (x->value_h && y->value_h) memcpy(x->value_h, y->value_h, (size_t)x->lab->table.n * sizeof *x->value_h);
    }
    if (to->rowstore.spill_dir) {
        int rc = take_rows(to, from);  /* into the run's spill file */
        if (rc) return rc;
    } else {
        se_rowstore rows = to->rowstore;
        to->rowstore = from->rowstore, from->rowstore = rows;
    }
    to->resampled = 0;
    /* into the fresh run's reservoir, which has its full capacity (the
     * checkpoint's has room for the rows it held) */
    return se_reservoir_merge(&to->reservoir, &from->reservoir, m);
}

int softent_acc_resume(softent_acc *acc, const char *path)
{
    if (acc->loaded || acc->streaming || acc->rows_first >= 0 || acc->pending_n > 0)
        return se_fail(SOFTENT_E_ORDER, "%s: a checkpoint is resumed into a fresh accumulator of counted labels, before any row", path);
    int rc = se_acc_freeze(acc);
    softent_acc *saved = NULL;
    if (!rc) rc = se_state_read(&saved, path, SE_STATE_CHECKPOINT);
    if (rc) return rc;
    char buf[256];
    softent_params want = acc->p, have = saved->p;
    want.m = acc->m, have.m = saved->m;
    const char *setting = differing_setting(&want, &have, buf, sizeof buf);
    if (setting) rc = se_fail(SOFTENT_E_MISMATCH, "%s was made with another %s", path, setting);
    else if (acc->d != saved->d) rc = se_fail(SOFTENT_E_MISMATCH, "%s holds rows of dimension %lld, this run %lld", path, (long long)saved->d, (long long)acc->d);
    else if ((acc->null_replayed || acc->p.bootstrap > 0) != (saved->rowstore.p != NULL))
        rc = se_fail(SOFTENT_E_FORMAT, "%s: the stored rows are missing", path);
    /* the reference points and the label sets (a different corpus counts
     * different keys) */
    if (!rc) rc = rows_fit(acc, saved, path);
    if (!rc && (rc = softent_acc_mergeable(acc, saved))) {
        char why[512];
        snprintf(why, sizeof why, "%s", softent_last_error());
        rc = se_fail(SOFTENT_E_MISMATCH, "%s does not belong to this run: %s", path, why);
    }
    if (!rc) rc = transplant(acc, saved);
    softent_acc_free(saved);
    return rc;
}

int softent_acc_serialize(softent_acc *acc, void **data, size_t *size)
{
    *data = NULL, *size = 0;
    if (acc->loaded || acc->streaming)
        return se_fail(SOFTENT_E_ORDER, "only an accumulator of counted labels that is still taking rows is serialised");
    int rc = se_acc_freeze(acc);
    if (!rc) rc = se_acc_flush(acc);
    return rc ? rc : se_state_write_buffer(acc, SE_STATE_CHECKPOINT, data, size);
}

/* A loaded shard (`what` names it) added into dst. */
static int absorb_loaded(softent_acc *dst, softent_acc *shard, const char *what)
{
    char buf[256];
    const char *setting = differing_setting(&dst->p, &shard->p, buf, sizeof buf);
    int rc = SOFTENT_OK;
    if (setting) rc = se_fail(SOFTENT_E_MISMATCH, "%s was made with another %s", what, setting);
    if (!rc) rc = se_acc_compatible(dst, shard);
    if (!rc) rc = rows_fit(dst, shard, what);
    if (!rc && (dst->null_replayed || dst->p.bootstrap > 0) && !shard->rowstore.p && shard->rows_end > shard->rows_first)
        rc = se_fail(SOFTENT_E_FORMAT, "%s lacks the stored rows its null and bootstrap need", what);
    /* the rows first: a failed merge leaves dst with rows it will replay
     * but not count, so dst is not to be used after a failure anyway */
    if (!rc) rc = take_rows(dst, shard);
    if (!rc) rc = se_acc_merge_into(dst, shard, 0);
    if (!rc) dst->resampled = 0;
    return rc;
}

/* dst ready to absorb: counted labels, still taking rows, flushed. */
static int absorb_ready(softent_acc *dst)
{
    if (dst->loaded || dst->streaming)
        return se_fail(SOFTENT_E_ORDER, "a shard is absorbed into an accumulator of counted labels that is still taking rows");
    int rc = se_acc_freeze(dst);
    return rc ? rc : se_acc_flush(dst);
}

int softent_acc_absorb(softent_acc *dst, const void *data, size_t size)
{
    softent_acc *shard = NULL;
    int rc = absorb_ready(dst);
    if (!rc) rc = se_state_read_buffer(&shard, data, size, "a serialised shard", SE_STATE_CHECKPOINT);
    if (!rc) rc = absorb_loaded(dst, shard, "the serialised shard");
    softent_acc_free(shard);
    return rc;
}

int softent_acc_absorb_file(softent_acc *dst, const char *path)
{
    softent_acc *shard = NULL;
    int rc = absorb_ready(dst);
    if (!rc) rc = se_state_read(&shard, path, SE_STATE_CHECKPOINT);
    if (!rc) rc = absorb_loaded(dst, shard, path);
    softent_acc_free(shard);
    return rc;
}
