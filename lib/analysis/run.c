/*
 * run.c - pass 2 of an analysis: a model's forward pass over a corpus,
 * each selected layer's hidden states at the corpus' positions feeding its
 * own accumulator (the label counts and reference points are the corpus'),
 * and the measures gathered as data.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "corpus.h"

/* strtoll, whole string, in [lo, hi]. */
static int parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

/* chosen [top + 1] flags from a list "0,6,12". */
static int choose_list(const char *spec, int top, char *chosen)
{
    char buf[1024];
    int64_t k;
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ","))
        if (!parse_int(t, 0, top, &k)) return se_fail(SOFTENT_E_INVALID, "%s: layers run from 0 (embeddings) to %d", spec, top);
        else chosen[k] = 1;
    return SOFTENT_OK;
}

static int choose(const char *spec, int top, char *chosen)
{
    int64_t k;
    if (!strcmp(spec, "all")) {
        memset(chosen, 1, (size_t)top + 1);
        return SOFTENT_OK;
    }
    if (strncmp(spec, "every:", 6)) return choose_list(spec, top, chosen);
    if (!parse_int(spec + 6, 1, top > 0 ? top : 1, &k)) return se_fail(SOFTENT_E_INVALID, "%s: K must be 1..%d", spec, top);
    for (int l = 0; l <= top; l += (int)k) chosen[l] = 1;
    chosen[top] = 1;
    return SOFTENT_OK;
}

int softent_analysis_select_layers(const char *spec, int top, int **sel, int *n_sel)
{
    *n_sel = 0;
    *sel = calloc((size_t)top + 1, sizeof **sel);
    char *chosen = calloc((size_t)top + 1, 1);
    int rc = *sel && chosen ? choose(spec, top, chosen) : se_fail(SOFTENT_E_NOMEM, "out of memory");
    for (int l = 0; !rc && l <= top; l++)
        if (chosen[l]) (*sel)[(*n_sel)++] = l;
    free(chosen);
    if (!rc && *n_sel == 0) rc = se_fail(SOFTENT_E_INVALID, "'%s' selects no layer: give all, every:K or a list such as 0,2 (0 is the embeddings, %d the last block)", spec, top);
    return rc;
}

typedef struct {
    const softent_analysis_corpus *c;
    int *slot_of_layer; /* [n_layers + 1] accumulator index or -1; owned */
    softent_acc **acc;  /* [n_sel] owned */
    int n_acc;
    const se_analysis_doc *doc; /* the document in flight */
    int64_t row0;       /* its first row */
} feed;

static int on_hidden(int layer, const float *h, int64_t n, int64_t d, void *user)
{
    (void)n;
    feed *f = user;
    int slot = f->slot_of_layer[layer];
    if (slot < 0) return 0;
    return softent_acc_add(f->acc[slot], h + f->doc->first * d, f->doc->npos, f->row0);
}

/* Whether a checkpoint is due after `docs` documents (`since` of them
 * and `seconds` since the last one). */
static int checkpoint_due(const softent_analysis_run_params *cp, int64_t since, double seconds)
{
    if (!cp) return 0;
    if (!cp->checkpoint_dir) return cp->stop && *cp->stop;
    return (cp->stop && *cp->stop) || (cp->checkpoint_docs > 0 && since >= cp->checkpoint_docs) || (cp->checkpoint_seconds > 0 && seconds >= cp->checkpoint_seconds);
}

/* Documents [first, end) of c through the model (rows from f->row0 on),
 * checkpointing as cp asks. */
static int forward_all(feed *f, softent_model *model, const int *sel, int64_t first, int64_t end, const softent_analysis_run_params *cp,
                       softent_analysis_progress_fn progress, void *user)
{
    const softent_analysis_corpus *c = f->c;
    const double t0 = se_seconds();
    double last = t0;
    int64_t done = 0, since = 0;
    for (int64_t i = 0; i < first; i++) done += c->docs[i].n;
    for (int64_t i = first; i < end; i++) {
        const se_analysis_doc *doc = f->doc = &c->docs[i];
        int rc = softent_model_forward(model, doc->tokens, doc->n, on_hidden, f, NULL);
        if (rc) return rc;
        f->row0 += doc->npos;
        done += doc->n;
        since++;
        if (progress) progress(i + 1, c->info.docs_used, done, c->info.tokens, se_seconds() - t0, user);
        if (i + 1 < end && checkpoint_due(cp, since, se_seconds() - last)) {
            const int stopping = cp->stop && *cp->stop;
            if (cp->checkpoint_dir && (rc = se_checkpoint_save(cp, c, f->acc, sel, f->n_acc, i + 1, f->row0))) {
                if (stopping) return rc; /* the signal's save failed: the error, not "stopped" */
                if (cp->warn) cp->warn(softent_last_error(), cp->warn_user);
                rc = 0;
            }
            if (stopping)
                return se_fail(SOFTENT_E_INTERRUPTED, "stopped after %lld of %lld documents; %s%s", (long long)(i + 1),
                               (long long)c->info.docs_used, cp->checkpoint_dir ? "the run is saved in " : "nothing is saved (no checkpoint directory)",
                               cp->checkpoint_dir ? cp->checkpoint_dir : "");
            since = 0;
            last = se_seconds();
        }
    }
    return SOFTENT_OK;
}

/* One accumulator per selected layer, sharing the corpus' labels. */
static int make_feed(feed *f, const softent_analysis_corpus *c, int n_layers, const int *sel, int n_sel)
{
    *f = (feed){.c = c};
    f->slot_of_layer = malloc(((size_t)n_layers + 1) * sizeof *f->slot_of_layer);
    f->acc = calloc((size_t)n_sel, sizeof *f->acc);
    if (!f->slot_of_layer || !f->acc) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    for (int l = 0; l <= n_layers; l++) f->slot_of_layer[l] = -1;
    const float *w = softent_acc_refpoints(c->labels);
    const softent_params params = se_analysis_acc_params(c);
    int64_t bytes = 0;
    for (int s = 0; s < n_sel; s++) {
        if (sel[s] < 0 || sel[s] > n_layers) return se_fail(SOFTENT_E_INVALID, "layer %d: the model has layers 0 to %d", sel[s], n_layers);
        f->slot_of_layer[sel[s]] = s;
        int rc = softent_acc_new(&f->acc[s], &params, c->d_model, w);
        f->n_acc = s + (rc == SOFTENT_OK);
        if (!rc) rc = softent_acc_share_labels(f->acc[s], c->labels);
        if (rc) return rc;
        bytes += softent_acc_memory(f->acc[s]);
    }
    const int64_t max = c->p.params.max_memory;
    if (max > 0 && bytes > max)
        return se_fail(SOFTENT_E_LIMIT, "the accumulators need about %.0f MB, over --max-memory %.0f MB; lower --null or --ngrams, select fewer --layers, or raise --max-memory",
                       bytes / 1e6, max / 1e6);
    return SOFTENT_OK;
}

static void free_feed(feed *f)
{
    for (int s = 0; s < f->n_acc; s++) softent_acc_free(f->acc[s]);
    free(f->acc);
    free(f->slot_of_layer);
}

void softent_analysis_split(const softent_analysis_corpus *c, int part, int parts, int64_t *first, int64_t *end)
{
    /* part p starts at the first document whose tokens before it reach
     * p / parts of the total */
    int64_t bound[2] = {0, c->info.docs_used};
    for (int k = 0; k < 2; k++) {
        const int p = part + k;
        if (parts <= 0 || p <= 0 || p >= parts) {
            bound[k] = p <= 0 ? 0 : c->info.docs_used;
            continue;
        }
        const double goal = (double)c->info.tokens * p / parts;
        int64_t i = 0, before = 0;
        while (i < c->info.docs_used && (double)before < goal) before += c->docs[i++].n;
        bound[k] = i;
    }
    *first = bound[0], *end = bound[1];
}

/* A part of the documents, [*first, *end) (cp's, or all), and the row
 * where it starts. */
static int64_t part_of(const softent_analysis_corpus *c, const softent_analysis_run_params *cp, int64_t *first, int64_t *end)
{
    *first = cp ? cp->first_doc : 0;
    *end = cp && cp->end_doc > 0 ? cp->end_doc : c->info.docs_used;
    int64_t row = 0;
    for (int64_t i = 0; i < *first; i++) row += c->docs[i].npos;
    return row;
}

/* Every document of c (or cp's part) through the model, into a new
 * accumulator per selected layer (or those of cp's checkpoint, taken up),
 * gathered as cp says, finished; f is freed with free_feed (also on
 * failure).  PART_HANDED_ON: cp's gather ended this part's run. */
enum { PART_HANDED_ON = -1 };
static int feed_all(feed *f, softent_model *model, const softent_analysis_corpus *c, const int *sel, int n_sel,
                    const softent_analysis_run_params *cp, softent_analysis_progress_fn progress, void *user)
{
    *f = (feed){.c = c};
    int64_t first, end;
    const int64_t row0 = part_of(c, cp, &first, &end);
    if (first < 0 || first > end || end > c->info.docs_used)
        return se_fail(SOFTENT_E_INVALID, "documents %lld..%lld: the corpus has %lld", (long long)first, (long long)end - 1,
                       (long long)c->info.docs_used);
    const int split = first > 0 || end < c->info.docs_used || (cp && cp->gather);
    softent_model_config cfg;
    softent_model_get_config(model, &cfg);
    if (cfg.d_model != c->d_model)
        return se_fail(SOFTENT_E_MISMATCH, "the model has d = %d, the corpus' reference points %lld", cfg.d_model, (long long)c->d_model);
    int rc = make_feed(f, c, cfg.n_layers, sel, n_sel);
    f->row0 = row0;
    if (!rc && cp && cp->checkpoint_dir && cp->resume) {
        int64_t done;
        rc = se_checkpoint_resume(cp, c, f->acc, sel, n_sel, &done, &f->row0);
        if (!rc && (done < first || done > end))
            rc = se_fail(SOFTENT_E_MISMATCH, "the checkpoint in %s is of documents up to %lld, outside this part's %lld..%lld: resume with "
                         "the same number of processes", cp->checkpoint_dir, (long long)done, (long long)first, (long long)end - 1);
        int64_t rows = row0;
        for (int64_t i = first; !rc && i < done; i++) rows += c->docs[i].npos;
        if (!rc && rows != f->row0)
            rc = se_fail(SOFTENT_E_FORMAT, "%s/progress.json: %lld documents hold %lld rows, not %lld: the checkpoint is damaged",
                         cp->checkpoint_dir, (long long)done, (long long)rows, (long long)f->row0);
        first = done;
    } else if (split) {
        for (int s = 0; s < n_sel && !rc; s++) rc = softent_acc_set_first_row(f->acc[s], row0);
    }
    const int resumed_done = cp && cp->checkpoint_dir && cp->resume && first == end;
    if (!rc) rc = forward_all(f, model, sel, first, end, cp, progress, user);
    /* as a checkpoint on a schedule: one that cannot be saved (a full disk)
     * is a warning, and the part goes on (a resume runs it again) */
    if (!rc && cp && cp->checkpoint_dir && cp->checkpoint_at_end && !resumed_done &&
        (rc = se_checkpoint_save(cp, c, f->acc, sel, n_sel, end, f->row0)) && cp->warn) {
        cp->warn(softent_last_error(), cp->warn_user);
        rc = SOFTENT_OK;
    }
    if (!rc && cp && cp->gather) {
        se_clear_error();
        rc = cp->gather(f->acc, n_sel, cp->gather_user);
        if (rc == 1) return PART_HANDED_ON;
        /* the detail of the library call that failed in it, if any */
        if (rc && !*softent_last_error()) return se_fail(rc, "gathering the parts' accumulators failed");
        if (rc) return rc;
    }
    for (int s = 0; s < n_sel && !rc; s++) rc = softent_acc_finish(f->acc[s]);
    return rc;
}

/* Layer `l`'s bootstrap: the interval of each corrected optimality, and
 * (for layers >= 1) its replicates added into r->replicates for the means. */
static void collect_replicates(softent_acc *acc, softent_analysis_layer *l, softent_analysis_result *r, double *in, double *out)
{
    const int B = r->bootstrap;
    for (int k = 0; k < r->n_orders; k++) {
        char name[16];
        snprintf(name, sizeof name, "in%d", r->orders[k]);
        softent_acc_replicates(acc, softent_acc_find_labelset(acc, name), 2, in);
        snprintf(name, sizeof name, "out%d", r->orders[k]);
        softent_acc_replicates(acc, softent_acc_find_labelset(acc, name), 2, out);
        memcpy(r->layer_replicates + ((int64_t)(r->n_layers - 1) * r->n_orders + k) * B, in, (size_t)B * sizeof *in);
        double *sum_in = r->replicates + (int64_t)(2 * k) * B, *sum_out = sum_in + B;
        for (int b = 0; b < B; b++) {
            if (l->layer > 0) sum_in[b] += in[b], sum_out[b] += out[b];
            out[b] = softent_optimality(out[b], in[b]);
        }
        const softent_labelset_measures *mi = &l->in[k], *mo = &l->out[k];
        softent_interval(out, B, l->optimality_corrected[k], r->level,
                         softent_ratio_sd(mo->mi_corrected, mi->mi_corrected, mo->mi_corrected_fixed_sd, mi->mi_corrected_fixed_sd),
                         &l->opt_corrected_lo[k], &l->opt_corrected_hi[k]);
    }
}

static void collect_layer(const softent_analysis_corpus *c, softent_acc *acc, int layer, softent_analysis_result *r)
{
    softent_analysis_layer *l = &r->layers[r->n_layers++];
    softent_summary sum;
    softent_acc_summary(acc, &sum);
    l->layer = layer;
    l->H = sum.H;
    l->H_lo = sum.H_lo, l->H_hi = sum.H_hi;
    l->rows = sum.rows;
    r->eps = sum.eps;
    for (int k = 0; k < c->p.n_orders; k++) {
        char name[16];
        snprintf(name, sizeof name, "in%d", c->p.orders[k]);
        softent_acc_labelset(acc, softent_acc_find_labelset(acc, name), &l->in[k]);
        snprintf(name, sizeof name, "out%d", c->p.orders[k]);
        softent_acc_labelset(acc, softent_acc_find_labelset(acc, name), &l->out[k]);
        l->in[k].name = l->out[k].name = NULL; /* they die with the accumulators */
        l->optimality[k] = softent_optimality(l->out[k].mi, l->in[k].mi);
        l->optimality_corrected[k] = l->in[k].correction != SOFTENT_CORRECT_NONE ? softent_optimality(l->out[k].mi_corrected, l->in[k].mi_corrected) : NAN;
        l->opt_corrected_lo[k] = l->opt_corrected_hi[k] = NAN;
    }
    for (int u = 0; u < c->p.n_labels; u++) {
        softent_acc_labelset(acc, softent_acc_find_labelset(acc, c->label_names[u]), &l->labels[u]);
        l->labels[u].name = NULL;
    }
    double *scratch = r->bootstrap ? malloc((size_t)r->bootstrap * 2 * sizeof *scratch) : NULL;
    if (scratch) collect_replicates(acc, l, r, scratch, scratch + r->bootstrap);
    free(scratch);
}

/* The user's label sets' layer means over layers >= 1, and the headline
 * mean's interval from the layers' summed replicates (acc [n_layers]). */
static int label_means(const softent_analysis_corpus *c, softent_acc *const *acc, softent_analysis_result *r)
{
    const int B = c->p.params.bootstrap;
    double *sum = B ? malloc((size_t)B * 2 * sizeof *sum) : NULL, *rep = sum + B;
    if (B && !sum) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    r->n_labels = c->p.n_labels;
    for (int u = 0; u < r->n_labels; u++) {
        snprintf(r->label_names[u], sizeof r->label_names[u], "%s", c->label_names[u]);
        const int set = softent_acc_find_labelset(acc[0], c->label_names[u]);
        double mi = 0, mc = 0, fixed_sd = 0;
        if (sum) memset(sum, 0, (size_t)B * sizeof *sum);
        for (int s = 0; s < r->n_layers; s++) {
            const softent_labelset_measures *m = &r->layers[s].labels[u];
            if (r->layers[s].layer == 0) continue;
            mi += m->mi, mc += m->mi_corrected, fixed_sd += m->mi_corrected_fixed_sd;
            if (!sum) continue;
            softent_acc_replicates(acc[s], set, 2, rep);
            for (int b = 0; b < B; b++) sum[b] += rep[b];
        }
        const double n = r->n_mean ? r->n_mean : NAN;
        const int corrected = r->n_layers > 0 && r->layers[0].labels[u].correction != SOFTENT_CORRECT_NONE;
        r->mean_label[u] = mi / n;
        r->mean_label_corrected[u] = corrected ? mc / n : NAN;
        r->mean_label_corrected_lo[u] = r->mean_label_corrected_hi[u] = NAN;
        if (!sum || !corrected || r->n_mean == 0) continue;
        for (int b = 0; b < B; b++) sum[b] /= n;
        softent_interval(sum, B, r->mean_label_corrected[u], r->level, fixed_sd / n, &r->mean_label_corrected_lo[u],
                         &r->mean_label_corrected_hi[u]);
    }
    free(sum);
    return SOFTENT_OK;
}

/* The layer means' intervals from the summed replicates (made means here). */
static void mean_intervals(softent_analysis_result *r)
{
    for (int k = 0; k < r->n_orders; k++) {
        r->mean_in_corrected_lo[k] = r->mean_in_corrected_hi[k] = r->mean_out_corrected_lo[k] = r->mean_out_corrected_hi[k] = NAN;
        r->mean_opt_corrected_lo[k] = r->mean_opt_corrected_hi[k] = NAN;
    }
    const int B = r->bootstrap;
    if (!r->replicates || r->n_mean == 0) return;
    double *opt = malloc((size_t)B * sizeof *opt);
    if (!opt) return;
    for (int k = 0; k < r->n_orders; k++) {
        double *in = r->replicates + (int64_t)(2 * k) * B, *out = in + B;
        for (int b = 0; b < B; b++) {
            in[b] /= r->n_mean, out[b] /= r->n_mean;
            opt[b] = softent_optimality(out[b], in[b]);
        }
        const double sd_in = r->mean_in_fixed_sd[k], sd_out = r->mean_out_fixed_sd[k];
        softent_interval(in, B, r->mean_in_corrected[k], r->level, sd_in, &r->mean_in_corrected_lo[k], &r->mean_in_corrected_hi[k]);
        softent_interval(out, B, r->mean_out_corrected[k], r->level, sd_out, &r->mean_out_corrected_lo[k], &r->mean_out_corrected_hi[k]);
        softent_interval(opt, B, r->mean_opt_corrected[k], r->level,
                         softent_ratio_sd(r->mean_out_corrected[k], r->mean_in_corrected[k], sd_out, sd_in),
                         &r->mean_opt_corrected_lo[k], &r->mean_opt_corrected_hi[k]);
    }
    free(opt);
}

/* The means over layers >= 1: the embedding layer is left out, as in the
 * reference code, since it measures the tokenizer rather than the model. */
static void layer_means(softent_analysis_result *r)
{
    for (int s = 0; s < r->n_layers; s++) {
        const softent_analysis_layer *l = &r->layers[s];
        if (l->layer == 0) continue;
        r->n_mean++;
        r->mean_H += l->H;
        for (int k = 0; k < r->n_orders; k++) {
            r->mean_in[k] += l->in[k].mi, r->mean_out[k] += l->out[k].mi;
            r->mean_in_corrected[k] += l->in[k].mi_corrected, r->mean_out_corrected[k] += l->out[k].mi_corrected;
            r->mean_in_null_sd[k] += l->in[k].mi_null_sd, r->mean_out_null_sd[k] += l->out[k].mi_null_sd;
            r->mean_in_fixed_sd[k] += l->in[k].mi_corrected_fixed_sd, r->mean_out_fixed_sd[k] += l->out[k].mi_corrected_fixed_sd;
        }
    }
    const int null = r->n_layers > 0 && (r->layers[0].in[0].null_perms > 0 || r->layers[0].in[0].null_scaled > 0);
    const int corrected = r->n_layers > 0 && r->layers[0].in[0].correction != SOFTENT_CORRECT_NONE;
    const double n = r->n_mean ? r->n_mean : NAN;
    r->mean_H /= n;
    for (int k = 0; k < r->n_orders; k++) {
        r->mean_in[k] /= n;
        r->mean_out[k] /= n;
        r->mean_opt[k] = softent_optimality(r->mean_out[k], r->mean_in[k]);
        r->mean_in_corrected[k] = corrected ? r->mean_in_corrected[k] / n : NAN;
        r->mean_out_corrected[k] = corrected ? r->mean_out_corrected[k] / n : NAN;
        r->mean_in_fixed_sd[k] /= n, r->mean_out_fixed_sd[k] /= n;
        r->mean_in_null_sd[k] = null ? r->mean_in_null_sd[k] / n : NAN;
        r->mean_out_null_sd[k] = null ? r->mean_out_null_sd[k] / n : NAN;
        r->mean_opt_corrected[k] = corrected ? softent_optimality(r->mean_out_corrected[k], r->mean_in_corrected[k]) : NAN;
    }
}

int softent_analysis_run(softent_model *model, const softent_analysis_corpus *c, const int *sel, int n_sel,
                         softent_analysis_progress_fn progress, void *user, softent_analysis_result *out)
{
    return softent_analysis_run_with(model, c, sel, n_sel, NULL, progress, user, out);
}

int softent_analysis_run_with(softent_model *model, const softent_analysis_corpus *c, const int *sel, int n_sel,
                                      const softent_analysis_run_params *cp, softent_analysis_progress_fn progress, void *user,
                                      softent_analysis_result *out)
{
    memset(out, 0, sizeof *out);
    if (c->preference) return se_fail(SOFTENT_E_INVALID, "a preference corpus is measured by softent_preference_run");
    feed f;
    int rc = feed_all(&f, model, c, sel, n_sel, cp, progress, user);
    if (rc == PART_HANDED_ON) {
        free_feed(&f);
        return SOFTENT_OK;
    }
    if (!rc && !(out->layers = calloc((size_t)n_sel, sizeof *out->layers))) rc = se_fail(SOFTENT_E_NOMEM, "out of memory");
    out->level = c->p.params.level;
    if (!rc && c->p.params.bootstrap > 0 && c->p.params.correction != SOFTENT_CORRECT_NONE) {
        out->bootstrap = c->p.params.bootstrap;
        out->replicates = calloc((size_t)(2 * c->p.n_orders * out->bootstrap), sizeof *out->replicates);
        out->layer_replicates = calloc((size_t)(n_sel * c->p.n_orders * out->bootstrap), sizeof *out->layer_replicates);
        if (!out->replicates || !out->layer_replicates) rc = se_fail(SOFTENT_E_NOMEM, "out of memory");
    }
    if (!rc) {
        out->n_orders = c->p.n_orders;
        memcpy(out->orders, c->p.orders, sizeof out->orders);
        for (int s = 0; s < n_sel; s++) collect_layer(c, f.acc[s], sel[s], out);
        layer_means(out);
        mean_intervals(out);
        rc = label_means(c, f.acc, out);
    }
    free_feed(&f);
    return rc;
}

void softent_analysis_result_free(softent_analysis_result *r)
{
    free(r->layers);
    free(r->replicates);
    free(r->layer_replicates);
    memset(r, 0, sizeof *r);
}

/* The layer means of I(P;Z) over layers >= 1, and the mean's interval from
 * the summed replicates. */
static int preference_means(softent_preference_result *r, softent_acc *const *acc)
{
    double sum = 0, sum_c = 0, sum_sd = 0, fixed_sd = 0;
    double *rep = r->bootstrap ? calloc((size_t)r->bootstrap * 2, sizeof *rep) : NULL;
    if (r->bootstrap && !rep) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    for (int s = 0; s < r->n_layers; s++) {
        const softent_labelset_measures *m = &r->pref[s];
        if (r->layers[s] == 0) continue;
        r->n_mean++;
        sum += m->mi, sum_c += m->mi_corrected, sum_sd += m->mi_null_sd, fixed_sd += m->mi_corrected_fixed_sd;
        if (!rep) continue;
        softent_acc_replicates(acc[s], 0, 2, rep + r->bootstrap);
        for (int b = 0; b < r->bootstrap; b++) rep[b] += rep[r->bootstrap + b];
    }
    const double n = r->n_mean ? r->n_mean : NAN;
    const int corrected = r->n_layers > 0 && r->pref[0].correction != SOFTENT_CORRECT_NONE;
    r->mean = sum / n;
    r->mean_corrected = corrected ? sum_c / n : NAN;
    r->mean_null_sd = r->n_layers > 0 && r->pref[0].null_perms > 0 ? sum_sd / n : NAN;
    r->mean_corrected_lo = r->mean_corrected_hi = NAN;
    if (rep && r->n_mean > 0 && corrected) {
        for (int b = 0; b < r->bootstrap; b++) rep[b] /= n;
        softent_interval(rep, r->bootstrap, r->mean_corrected, r->level, fixed_sd / n, &r->mean_corrected_lo, &r->mean_corrected_hi);
    }
    free(rep);
    return SOFTENT_OK;
}

int softent_preference_run(softent_model *model, const softent_analysis_corpus *c, const int *sel, int n_sel,
                           softent_analysis_progress_fn progress, void *user, softent_preference_result *out)
{
    memset(out, 0, sizeof *out);
    if (!c->preference) return se_fail(SOFTENT_E_INVALID, "not a preference corpus (softent_preference_read makes one)");
    feed f;
    int rc = feed_all(&f, model, c, sel, n_sel, NULL, progress, user);
    out->level = c->p.params.level;
    if (!rc) {
        out->layers = malloc((size_t)n_sel * sizeof *out->layers);
        out->pref = calloc((size_t)n_sel, sizeof *out->pref);
        if (!out->layers || !out->pref) rc = se_fail(SOFTENT_E_NOMEM, "out of memory");
    }
    for (int s = 0; s < n_sel && !rc; s++) {
        out->layers[s] = sel[s];
        rc = softent_acc_labelset(f.acc[s], 0, &out->pref[s]);
        out->pref[s].name = NULL; /* it dies with the accumulators */
        out->n_layers = s + 1;
    }
    if (!rc) {
        out->bootstrap = c->p.params.bootstrap;
        rc = preference_means(out, f.acc);
    }
    free_feed(&f);
    return rc;
}

void softent_preference_result_free(softent_preference_result *r)
{
    free(r->layers);
    free(r->pref);
    memset(r, 0, sizeof *r);
}
