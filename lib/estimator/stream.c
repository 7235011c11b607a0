/*
 * stream.c - labels that arrive with the rows, as soft_h takes them
 * (acc.update(z, labels)), instead of a counting pass over whole arrays.
 *
 * Without the counts up front a value cannot know it will be seen once,
 * so every value gets an m-vector when it is first labelled: memory grows
 * with the distinct values (softent_acc_memory says how much, and
 * params.max_memory still refuses a run over it).  A stored value seen
 * once holds exactly that row's p, so H(Z|X) and every correction come out
 * as in the counted mode, to the rounding of the order of a sum.  What
 * needs the whole label array waits for softent_acc_finish, when it is
 * known: the replayed null and the bootstrap.  What needs it before the
 * first row is refused: min_count > 1 (a value's slot depends on its final
 * count), the null kept in-stream (params.null_sums), and labels shared
 * between accumulators.  A set keeps the totals of its labelled rows from
 * its first unlabelled value on, starting from the totals.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "accumulator.h"
#include "common/error.h"

/* The first append: whether this accumulator can take its labels so. */
static int start_streaming(softent_acc *acc, int with_groups)
{
    if (acc->loaded) return se_fail(SOFTENT_E_ORDER, "a state loaded from a file can be merged and reported, not extended");
    if (acc->frozen || acc->rows_end > 0 || acc->pending_n > 0)
        return se_fail(SOFTENT_E_ORDER, "rows were added before any labels; append the labels of each batch before its rows");
    for (int k = 0; k < acc->n_sets; k++) {
        const se_labelset *s = &acc->sets[k];
        if (s->lab->n_rows > 0) return se_fail(SOFTENT_E_ORDER, "label set '%s' was counted (softent_acc_count); use one mode or the other", s->name);
        if (s->lab->refs > 1) return se_fail(SOFTENT_E_ORDER, "label set '%s' is shared with another accumulator; streaming labels are an accumulator's own", s->name);
    }
    if (acc->groups) return se_fail(SOFTENT_E_ORDER, "groups were counted (softent_acc_count_groups); give them with the streamed labels instead");
    if (acc->p.min_count > 1)
        return se_fail(SOFTENT_E_INVALID, "min-count %lld needs each value's count before the first row; count the whole label arrays "
                       "first (softent_acc_count), or use min-count 1", (long long)acc->p.min_count);
    if (acc->p.null_perms > 0 && acc->p.null_sums)
        return se_fail(SOFTENT_E_INVALID, "a null kept in-stream (null_sums) permutes labels of rows not yet seen; use the replayed null (null_sums 0)");
    acc->streaming = 1;
    acc->stream_groups = with_groups;
    return SOFTENT_OK;
}

/* Slots for the values first labelled since the last call (rows frozen
 * already): each its own m-vector, or none for SOFTENT_NO_LABEL. */
static int extend_slots(softent_acc *acc, se_labelset *s)
{
    se_labels *lab = s->lab;
    const int64_t old = lab->n_values_slotted, nv = lab->table.n;
    if (nv == old) return SOFTENT_OK;
    if (nv > lab->slot_cap) {
        int64_t cap = lab->slot_cap > 0 ? lab->slot_cap : 64;
        while (cap < nv) cap *= 2;
        int32_t *vs = realloc(lab->value_slot, (size_t)cap * sizeof *vs);
        if (!vs) return se_fail(SOFTENT_E_NOMEM, "out of memory for label set '%s'", s->name);
        lab->value_slot = vs;
        if (s->value_h) {
            double *vh = realloc(s->value_h, (size_t)cap * sizeof *vh);
            if (!vh) return se_fail(SOFTENT_E_NOMEM, "out of memory for label set '%s'", s->name);
            s->value_h = vh;
        }
        lab->slot_cap = cap;
    }
    /* room first, so that a failure leaves the slots as they were */
    int64_t stored = lab->n_stored;
    for (int64_t v = old; v < nv; v++) stored += lab->table.keys[v * lab->table.arity] != SOFTENT_NO_LABEL;
    int rc = se_sums_reserve(&s->real, stored, acc->m);
    if (rc) return rc;
    const int dropping = lab->n_dropped > 0;
    for (int64_t v = old; v < nv; v++) {
        if (s->value_h) s->value_h[v] = NAN;
        if (lab->table.keys[v * lab->table.arity] == SOFTENT_NO_LABEL) lab->value_slot[v] = SLOT_DROPPED, lab->n_dropped++;
        else lab->value_slot[v] = (int32_t)lab->n_stored++;
    }
    lab->n_values_slotted = nv;
    if (!dropping && lab->n_dropped > 0) {
        /* the first unlabelled value: every row so far (scored or waiting
         * in the window, whose rows count from here) was kept */
        memcpy(s->real.kept_total, acc->total, (size_t)acc->m * sizeof *acc->total);
        memcpy(s->real.kept_sq, acc->total_sq, (size_t)acc->m * sizeof *acc->total_sq);
    }
    return SOFTENT_OK;
}

int softent_acc_append_labels(softent_acc *acc, const int64_t *const *keys, const int64_t *groups, int64_t n)
{
    if (n < 0 || (n > 0 && acc->n_sets > 0 && !keys)) return se_fail(SOFTENT_E_INVALID, "bad label count");
    int rc = acc->streaming ? SOFTENT_OK : start_streaming(acc, groups != NULL);
    if (rc) return rc;
    if ((groups != NULL) != acc->stream_groups)
        return se_fail(SOFTENT_E_INVALID, acc->stream_groups ? "the first labels came with their groups; give every batch's groups"
                                                             : "the first labels came without groups; give groups with every batch or none");
    for (int k = 0; k < acc->n_sets; k++)
        if (n > 0 && !keys[k]) return se_fail(SOFTENT_E_INVALID, "label set '%s': no keys given", acc->sets[k].name);
    for (int k = 0; k < acc->n_sets && !rc; k++) rc = se_labels_count(acc->sets[k].lab, acc->sets[k].name, keys[k], n);
    if (!rc && groups) rc = se_groups_append(acc, groups, n);
    for (int k = 0; k < acc->n_sets && !rc && acc->frozen; k++) rc = extend_slots(acc, &acc->sets[k]);
    if (rc) return rc;
    const int64_t need = softent_acc_memory(acc);
    if (acc->p.max_memory > 0 && need > acc->p.max_memory)
        return se_fail(SOFTENT_E_LIMIT, "the streamed labels' values need about %.1f MB, over the limit of %.1f MB; raise the limit, "
                       "or count the labels first so that values seen once hold no vector", need / 1e6, acc->p.max_memory / 1e6);
    return SOFTENT_OK;
}

int se_stream_replay_slots(softent_acc *acc)
{
    for (int k = 0; k < acc->n_sets; k++) {
        se_labels *lab = acc->sets[k].lab;
        const int64_t nv = lab->table.n;
        int32_t *rs = realloc(lab->replay_slot, (size_t)nv * sizeof *rs + 1);
        if (!rs) return se_fail(SOFTENT_E_NOMEM, "out of memory for label set '%s'", acc->sets[k].name);
        lab->replay_slot = rs;
        for (int64_t v = 0; v < nv; v++) rs[v] = lab->table.count[v] == 1 && lab->value_slot[v] >= 0 ? SLOT_SINGLE : lab->value_slot[v];
    }
    return SOFTENT_OK;
}
