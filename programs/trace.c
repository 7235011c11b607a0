/*
 * trace.c - `softent trace CHECKPOINT... | RUN_DIR  CORPUS`: every checkpoint
 * of a training run analysed on the same text with the same reference points,
 * as a trajectory on the information plane (SPEC section 5).
 *
 * The corpus is tokenized and its labels counted once (the checkpoints must
 * share their tokenizer and shape); each checkpoint then runs the library's
 * forward pass (softent_analysis_run).  The layer means (layers >= 1) of each checkpoint are
 * the trajectory's points.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis.h"
#include "cli.h"
#include "softent_gguf.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/hash.h"
#include "figures.h"
#include "mpi.h"
#include "softent_io.h"

static const char USAGE[] =
    "usage: softent trace RUN_DIR CORPUS [options]\n"
    "       softent trace CHECKPOINT_DIR... CORPUS [options]\n"
    "\n"
    "Analyse every checkpoint of a training run (RUN_DIR/step-N/, or the\n"
    "directories given) on the same corpus with the same reference points,\n"
    "and trace the layer means on the information plane, in step order.\n"
    "A checkpoint's step comes from its name (step-N, stepN, checkpoint-N,\n"
    "global_stepN, iter_N), else its trainer_state.json, else --steps.\n"
    "RUN_DIR/loss.csv, when present, gives each checkpoint's validation loss.\n"
    "\n"
    "  --out DIR            where results and figures go (default trace)\n"
    "  --steps LIST         the steps of the checkpoint directories given, in\n"
    "                       their order (e.g. 0,1000,2000)\n"
    "  --max-length N, --max-docs N, --max-tokens N, --ngrams LIST, --layers SPEC,\n"
    "  --text-field NAME, --bins M, --seed S, --calibration MODE, --weighting W,\n"
    "  --min-count K, --null R, --null-seed S, --correction C, --threads N,\n"
    "  --max-memory MB, --spill-dir DIR, --labels NAME=PATH, --units U, --quiet, --json PATH,\n"
    "  --checkpoint-every N, --checkpoint-seconds T, --resume, --shard I/K,\n"
    "  --compute C, --product P\n"
    "                       as for softent analyze; a checkpoint saves the step\n"
    "                       under way and keeps each finished step's accumulators\n"
    "                       (OUT/checkpoint/step-N) until the trace ends, so that\n"
    "                       --resume goes on from the step it stopped in\n"
    "  -h, --help           this help\n";

typedef struct {
    char *path;
    int64_t step;     /* from the name, trainer_state.json or --steps */
    double val_loss;  /* NaN when unknown */
    softent_compute compute; /* the products' arithmetic it ran in */
    softent_analysis_result result;
} checkpoint;

static int by_step(const void *a, const void *b)
{
    const checkpoint *x = a, *y = b;
    return (x->step > y->step) - (x->step < y->step);
}

/* The checkpoint directories given, each with its step (from --steps, in
 * the order given, else from its name or trainer_state.json), sorted by
 * step (a shell glob sorts checkpoint-1000 before checkpoint-200). */
static int list_dirs(char **dirs, int n_dirs, const char *steps, checkpoint **out, int *n_out)
{
    checkpoint *ck = calloc((size_t)n_dirs, sizeof *ck);
    if (!ck) return cli_error("out of memory");
    *out = ck;
    if (steps && (!*steps || strstr(steps, ",,") || steps[0] == ',' || steps[strlen(steps) - 1] == ','))
        return cli_usage_error("trace", "--steps %s: an empty step; give integers separated by commas", steps);
    char *buf = steps ? strdup(steps) : NULL, *save = NULL;
    if (steps && !buf) return cli_error("out of memory");
    char *tok = steps ? strtok_r(buf, ",", &save) : NULL;
    int rc = 0;
    for (int i = 0; i < n_dirs; i++) {
        checkpoint *c = &ck[i];
        *c = (checkpoint){.path = strdup(dirs[i]), .val_loss = NAN};
        if (!c->path) { rc = cli_error("out of memory"); break; }
        *n_out = i + 1; /* the caller frees the paths so far */
        if (!steps) {
            if ((rc = softent_rundir_checkpoint_step(c->path, &c->step)))
                rc = rc == SOFTENT_E_INVALID ? cli_usage_error("trace", "%s", softent_last_error()) : cli_lib_error(rc);
        } else if (!tok || !parse_i64(tok, 0, INT64_MAX, &c->step)) {
            rc = cli_usage_error("trace", "--steps %s: give one step (an integer >= 0) per checkpoint, %d of them", steps, n_dirs);
        }
        if (rc) break;
        if (steps) tok = strtok_r(NULL, ",", &save);
    }
    if (!rc && tok) rc = cli_usage_error("trace", "--steps %s: more steps than the %d checkpoints", steps, n_dirs);
    free(buf);
    if (rc) return rc;
    qsort(ck, (size_t)n_dirs, sizeof *ck, by_step);
    for (int i = 1; i < n_dirs; i++)
        if (ck[i].step == ck[i - 1].step)
            return cli_usage_error("trace", "%s and %s are both step %lld: give each its step with --steps", ck[i - 1].path, ck[i].path,
                                   (long long)ck[i].step);
    return 0;
}

/* RUN_DIR's checkpoint directories, in step order. */
static int list_run(const char *run_dir, checkpoint **out, int *n_out)
{
    softent_rundir_checkpoint *list;
    int n, rc = softent_rundir_list(run_dir, &list, &n);
    *out = NULL;
    *n_out = 0;
    if (rc) return cli_lib_error(rc);
    if (n == 0) rc = cli_error("%s: no step-N checkpoint directories (train with softent train --out %s)", run_dir, run_dir);
    else if (!(*out = calloc((size_t)n, sizeof **out))) rc = cli_error("out of memory");
    for (int i = 0; !rc && i < n; i++) {
        (*out)[i] = (checkpoint){.path = list[i].path, .step = list[i].step, .val_loss = NAN};
        list[i].path = NULL; /* now the checkpoint's */
    }
    if (!rc) *n_out = n;
    softent_rundir_list_free(list, n);
    return rc;
}

/* Validation losses from RUN_DIR/loss.csv, when it has them; a run
 * without one traces all the same. */
static void read_losses(const char *run_dir, checkpoint *ck, int n)
{
    char *path = se_path_join(run_dir, "loss.csv");
    int64_t *steps, rows;
    double *val;
    if (path && softent_loss_csv_read(path, &steps, &val, &rows) == SOFTENT_OK) {
        for (int64_t r = 0; r < rows; r++)
            for (int i = 0; i < n; i++)
                if (ck[i].step == steps[r]) ck[i].val_loss = val[r];
        free(steps);
        free(val);
    }
    free(path);
}

/* The bytes of DIR/tokenizer.json (a .gguf checkpoint's restated one),
 * hashed: checkpoints must share it. */
static int tokenizer_hash(const char *dir, uint64_t *hash)
{
    char *text = NULL;
    size_t len = 0;
    int rc;
    const size_t n = strlen(dir);
    if (n > 5 && !strcmp(dir + n - 5, ".gguf")) {
        softent_gguf *g;
        if (!(rc = softent_gguf_open(&g, dir))) {
            rc = softent_gguf_tokenizer_json(g, dir, &text);
            softent_gguf_close(g);
        }
        len = text ? strlen(text) : 0;
    } else {
        char *path = se_path_join(dir, "tokenizer.json");
        rc = path ? se_read_file(path, (size_t)1 << 30, &text, &len) : se_fail(SOFTENT_E_NOMEM, "out of memory");
        free(path);
    }
    if (rc) return cli_lib_error(rc);
    *hash = se_fnv1a64(SE_FNV1A64_INIT, text, len);
    free(text);
    return 0;
}

/* The verdicts on one complexity series. */
enum { V_COMPRESS, V_NO_NOISE, V_NO_PEAK, V_PEAK_AT_END, V_RISE_NOISE, V_FALL_NOISE, V_LOSS_FLAT };

typedef struct {
    int verdict;
    int trough, peak;        /* indices: the peak reached in training and the low point before it */
    double thr_rise, thr_fall;
} reading;

/* What a change between two checkpoints is judged against. */
enum { NOISE_NONE, NOISE_NULL, NOISE_PAIRED };

typedef struct {
    int kind;
    const double *sd;          /* [n] nulls' sds (NULL) */
    const double *const *rep;  /* [n] the series' bootstrap replicates (PAIRED) */
    const double *fixed;       /* [n] the correction's own sd, outside the replicates (PAIRED) */
    int B;
    double level;
    double *scratch;           /* [B] */
} series_noise;

/* How far v[a] - v[b] must exceed 0 to count: with a null 2 x sqrt(sd_a^2 +
 * sd_b^2) of the nulls' sds (their spread, not a confidence interval); with
 * the bootstrap, the lower half of the interval of the difference, from
 * replicates paired across checkpoints (the same documents reweighted), so
 * the change counts exactly when its interval excludes 0. */
static double threshold(const series_noise *z, const double *v, int a, int b)
{
    switch (z->kind) {
    case NOISE_NULL: return 2 * sqrt(z->sd[a] * z->sd[a] + z->sd[b] * z->sd[b]);
    case NOISE_PAIRED: {
        const double d = v[a] - v[b];
        double lo, hi;
        for (int i = 0; i < z->B; i++) z->scratch[i] = z->rep[a][i] - z->rep[b][i];
        softent_interval(z->scratch, z->B, d, z->level, sqrt(z->fixed[a] * z->fixed[a] + z->fixed[b] * z->fixed[b]), &lo, &hi);
        return d - lo;
    }
    }
    return NAN;
}

/* Fit, then compress, judged against the peak rather than the first
 * checkpoint: an untrained model's random embeddings already separate the
 * input tokens, so complexity often starts high and collapses before
 * training builds it up.  The peak is the highest point after the first
 * checkpoint; it must stand above the low point before it, and the end
 * below it, by more than the noise, while validation loss (when known)
 * still falls. */
static reading judge(const double *v, const series_noise *z, const double *loss, int n)
{
    reading r = {V_NO_PEAK, 0, 1, NAN, NAN};
    for (int i = 2; i < n; i++)
        if (v[i] > v[r.peak]) r.peak = i;
    for (int i = 1; i < r.peak; i++)
        if (v[i] < v[r.trough]) r.trough = i;
    r.thr_rise = threshold(z, v, r.peak, r.trough), r.thr_fall = threshold(z, v, r.peak, n - 1);
    if (!isfinite(r.thr_rise) || !isfinite(r.thr_fall)) { r.verdict = V_NO_NOISE; return r; }
    if (v[r.peak] <= v[r.trough]) r.verdict = V_NO_PEAK;
    else if (r.peak == n - 1) r.verdict = V_PEAK_AT_END;
    else if (v[r.peak] - v[r.trough] <= r.thr_rise) r.verdict = V_RISE_NOISE;
    else if (v[r.peak] - v[n - 1] <= r.thr_fall) r.verdict = V_FALL_NOISE;
    else if (isfinite(loss[r.peak]) && isfinite(loss[n - 1]) && loss[n - 1] >= loss[r.peak]) r.verdict = V_LOSS_FLAT;
    else r.verdict = V_COMPRESS;
    return r;
}

/* "0.1148 at step 1, peak 0.2570 at step 152, 0.2280 at step 1000" */
static void describe(FILE *f, const double *v, const checkpoint *ck, int n)
{
    int peak = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[peak]) peak = i;
    fprintf(f, "%.4f at step %lld", v[0], (long long)ck[0].step);
    if (peak > 0 && peak < n - 1) fprintf(f, ", peak %.4f at step %lld", v[peak], (long long)ck[peak].step);
    fprintf(f, ", %.4f at step %lld", v[n - 1], (long long)ck[n - 1].step);
}

static void say_verdict(FILE *f, const reading *r, const double *v, const double *loss, const checkpoint *ck, int n)
{
    const long long sp = (long long)ck[r->peak].step, st = (long long)ck[r->trough].step, se = (long long)ck[n - 1].step;
    switch (r->verdict) {
    case V_COMPRESS:
        fprintf(f, "Fit, then compress: complexity rose %.4f from step %lld to its peak at step %lld (noise %.4f), then fell %.4f by step %lld (noise %.4f)",
                v[r->peak] - v[r->trough], st, sp, r->thr_rise, v[r->peak] - v[n - 1], se, r->thr_fall);
        if (isfinite(loss[r->peak]) && isfinite(loss[n - 1]))
            fprintf(f, " while validation loss still fell, %.4f -> %.4f.", loss[r->peak], loss[n - 1]);
        else fprintf(f, " (validation loss unknown: no loss.csv).");
        break;
    case V_NO_NOISE:
        fprintf(f, "No verdict: without a bootstrap or a null there is no noise estimate to judge a fall against "
                   "(use --bootstrap B or --null R).");
        break;
    case V_NO_PEAK:
        fprintf(f, "No compression phase: complexity never rose above its value at step %lld (an untrained model's random "
                   "embeddings already separate the input tokens; that initial fall is not compression).", st);
        break;
    case V_PEAK_AT_END:
        fprintf(f, "No compression phase: complexity is highest at the last checkpoint (step %lld).", se);
        break;
    case V_RISE_NOISE:
        fprintf(f, "No compression phase: the rise to the peak at step %lld, %.4f, is within noise (%.4f).", sp,
                v[r->peak] - v[r->trough], r->thr_rise);
        break;
    case V_FALL_NOISE:
        fprintf(f, "No compression phase: the fall from the peak at step %lld to step %lld, %.4f, is within noise (%.4f).", sp, se,
                v[r->peak] - v[n - 1], r->thr_fall);
        break;
    case V_LOSS_FLAT:
        fprintf(f, "Complexity fell %.4f from its peak at step %lld (noise %.4f), but validation loss did not fall meanwhile "
                   "(%.4f -> %.4f): not compression while learning.", v[r->peak] - v[n - 1], sp, r->thr_fall, loss[r->peak], loss[n - 1]);
        break;
    }
}

/* The layers whose own complexity series (order k, headline values) passes
 * the same test, listed after "Layers that compress". */
static void compressing_layers(FILE *f, const checkpoint *ck, int n, int k, const double *loss, double *v, double *sd)
{
    const softent_analysis_result *r0 = &ck[0].result;
    int found = 0;
    fprintf(f, " Layers that compress (n = %d):", r0->orders[k]);
    const int B = r0->bootstrap;
    const double **rep = malloc((size_t)n * sizeof *rep);
    double *fixed = malloc((size_t)(n + B) * sizeof *fixed);
    if (!rep || !fixed) { free(rep); free(fixed); return; }
    for (int s = 0; s < r0->n_layers; s++) {
        /* with the bootstrap, the layer's own replicates, paired across
         * checkpoints as the layer means' are */
        series_noise z = {B > 0 ? NOISE_PAIRED : analysis_has_null(r0) ? NOISE_NULL : NOISE_NONE, sd, rep, fixed, B, r0->level, fixed + n};
        for (int i = 0; i < n; i++) {
            const softent_labelset_measures *m = &ck[i].result.layers[s].in[k];
            v[i] = analysis_headline(m);
            sd[i] = analysis_null_ran(m) ? m->mi_null_sd : NAN;
            rep[i] = B > 0 ? softent_analysis_layer_replicates(&ck[i].result, s, k) : NULL;
            fixed[i] = m->mi_corrected_fixed_sd;
        }
        reading r = judge(v, &z, loss, n);
        if (r.verdict == V_COMPRESS) fprintf(f, "%s %d", found++ ? "," : "", r0->layers[s].layer);
    }
    free(rep);
    free(fixed);
    fprintf(f, "%s.", found ? "" : " none");
}

static void summary_head(FILE *f, const softent_analysis_result *r0, int n)
{
    if (analysis_corrected(r0))
        fprintf(f, "Read from the headline values, %s; plug-in values beside them in the table.\n", analysis_basis(r0));
    else
        fprintf(f, "Read from plug-in values (--correction none: biased upward).\n");
    if (r0->bootstrap > 0)
        fprintf(f, "Compression: complexity rises to a peak, then falls, each change's %g%% bootstrap interval (over documents,\n"
                   "%d replicates paired across checkpoints) excluding 0, while validation loss still falls. \"noise\" below\n"
                   "is the lower half-width of the change's interval.\n", 100 * r0->level, r0->bootstrap);
    else if (analysis_has_null(r0)) {
        char null[64];
        fprintf(f, "Compression: complexity rises to a peak, then falls by more than 2 x sqrt(sd_peak^2 + sd_end^2) of the\n"
                   "layer-mean sds of %s (the null's spread, not a confidence interval), while validation\n"
                   "loss still falls.\n", analysis_null_phrase(&r0->layers[0].in[0], null, sizeof null));
    }
    else
        fprintf(f, "No bootstrap and no null: no noise estimate to judge changes against (use --bootstrap B or --null R).\n");
    if (n < 2) fprintf(f, "A single checkpoint: no trajectory, so no conclusion about fitting or compression.\n");
}

/* A plain-language reading of the trajectory, for the terminal and
 * summary.txt: per order, complexity and expressivity (layer means, the
 * headline values) at the start, peak and end, the verdict on fit then
 * compress, the layers that show it, and the final optimality. */
static void summarise(FILE *f, const softent_analysis_result *r0, const checkpoint *ck, int n)
{
    summary_head(f, r0, n);
    if (n < 2) return;
    const int corrected = analysis_corrected(r0);
    const int B = r0->bootstrap;
    double *buf = malloc((size_t)(n * 6 + B) * sizeof *buf);
    const double **rep = malloc((size_t)n * sizeof *rep);
    if (!buf || !rep) { free(buf); free(rep); return; }
    double *in = buf, *out = buf + n, *sd = buf + 2 * n, *loss = buf + 3 * n, *tmp = buf + 4 * n, *fixed = buf + 5 * n;
    for (int k = 0; k < r0->n_orders; k++) {
        series_noise z = {B > 0 ? NOISE_PAIRED : analysis_has_null(r0) ? NOISE_NULL : NOISE_NONE, sd, rep, fixed, B, r0->level, buf + 6 * n};
        for (int i = 0; i < n; i++) {
            const softent_analysis_result *r = &ck[i].result;
            in[i] = corrected ? r->mean_in_corrected[k] : r->mean_in[k];
            out[i] = corrected ? r->mean_out_corrected[k] : r->mean_out[k];
            sd[i] = r->mean_in_null_sd[k], loss[i] = ck[i].val_loss;
            rep[i] = B > 0 ? softent_analysis_replicates(r, k, 0) : NULL;
            fixed[i] = r->mean_in_fixed_sd[k];
        }
        fprintf(f, "n = %d: complexity I(X;Z) ", r0->orders[k]);
        describe(f, in, ck, n);
        fprintf(f, "; expressivity I(Y;Z) ");
        describe(f, out, ck, n);
        fprintf(f, ".\n  ");
        reading rd = judge(in, &z, loss, n);
        say_verdict(f, &rd, in, loss, ck, n);
        if (corrected) compressing_layers(f, ck, n, k, loss, tmp, sd);
        const double opt = corrected ? ck[n - 1].result.mean_opt_corrected[k] : ck[n - 1].result.mean_opt[k];
        if (isfinite(opt)) fprintf(f, " Optimality at the end: %.4f (%s; 1 is the bound).\n", opt, corrected ? "corrected" : "plug-in");
        else fprintf(f, " Optimality at the end: n/a (I(in) <= 0).\n");
    }
    free(buf);
    free(rep);
}

static int write_trajectory_json(const analysis_options *o, const char *source, const char *corpus_path, const char *path,
                                 const softent_analysis_corpus *c, const checkpoint *ck, int n)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "softent_version", SOFTENT_VERSION);
    cJSON_AddStringToObject(root, "command", "trace");
    cJSON_AddStringToObject(root, "run", source);
    cJSON_AddItemToObject(root, "corpus", analysis_corpus_json(c, corpus_path));
    cJSON_AddItemToObject(root, "settings", analysis_settings_json(o, ck[0].result.eps));
    cJSON *arr = cJSON_AddArrayToObject(root, "checkpoints");
    for (int i = 0; i < n; i++) {
        cJSON *cj = analysis_result_json(&ck[i].result);
        cJSON_AddStringToObject(cj, "path", ck[i].path);
        cJSON_AddNumberToObject(cj, "step", (double)ck[i].step);
        cJSON_AddStringToObject(cj, "compute", compute_name(ck[i].compute));
        if (isfinite(ck[i].val_loss)) cJSON_AddNumberToObject(cj, "val_loss", ck[i].val_loss);
        else cJSON_AddNullToObject(cj, "val_loss");
        cJSON_AddItemToArray(arr, cj);
    }
    return analysis_write_json(o, path, root);
}

/* Each checkpoint's layer rows, then its means and validation loss. */
static void checkpoint_csv(FILE *f, const checkpoint *ck)
{
    char step[32];
    snprintf(step, sizeof step, "%lld", (long long)ck->step);
    const softent_analysis_result *r = &ck->result;
    analysis_result_csv(f, ck->path, step, r);
    analysis_mean_csv(f, ck->path, step, r);
    if (ck->val_loss == ck->val_loss) fprintf(f, "\"%s\",%s,,,val_loss,%.17g\n", ck->path, step, ck->val_loss);
}

static int write_trajectory_csv(const char *path, const checkpoint *ck, int n)
{
    cli_file cf;
    if (cli_file_open(&cf, path)) return 1;
    fprintf(cf.f, "model,checkpoint,layer,label_set,measure,value\n");
    for (int i = 0; i < n; i++) checkpoint_csv(cf.f, &ck[i]);
    return cli_file_commit(&cf, 1);
}

/* The figures, after the results: 0 drawn, 1 gnuplot missing (a warning
 * printed), -1 a figure failed (its error printed; the run's status is 1). */
static int write_figures(const char *source, const char *out, const checkpoint *ck, int n)
{
    const softent_analysis_result *r0 = &ck[0].result;
    int64_t *steps = malloc((size_t)n * sizeof *steps);
    double *H = malloc((size_t)n * sizeof *H), *loss = malloc((size_t)n * sizeof *loss);
    double *values = malloc((size_t)(n * r0->n_orders * FIG_NV) * sizeof *values);
    int rc = !steps || !H || !loss || !values ? (cli_error("out of memory"), -1) : 0;
    for (int i = 0; !rc && i < n; i++) {
        steps[i] = ck[i].step, H[i] = ck[i].result.mean_H, loss[i] = ck[i].val_loss;
        for (int k = 0; k < r0->n_orders; k++) {
            const softent_analysis_result *r = &ck[i].result;
            double *v = values + ((int64_t)i * r0->n_orders + k) * FIG_NV;
            v[FIG_I_IN] = r->mean_in[k], v[FIG_I_OUT] = r->mean_out[k], v[FIG_OPT] = r->mean_opt[k];
            v[FIG_IC_IN] = r->mean_in_corrected[k], v[FIG_IC_OUT] = r->mean_out_corrected[k];
            v[FIG_OPT_C] = r->mean_opt_corrected[k];
            v[FIG_SD_IN] = r->mean_in_null_sd[k], v[FIG_SD_OUT] = r->mean_out_null_sd[k];
            v[FIG_LO_IN] = r->mean_in_corrected_lo[k], v[FIG_HI_IN] = r->mean_in_corrected_hi[k];
            v[FIG_LO_OUT] = r->mean_out_corrected_lo[k], v[FIG_HI_OUT] = r->mean_out_corrected_hi[k];
        }
    }
    if (!rc) {
        char warning[1024];
        trajectory_data td = {source, analysis_corrected(r0), analysis_bars(r0), n, steps, H, loss, r0->n_orders, r0->orders, values};
        analysis_out_clean(out, "trajectory_plane_", r0->orders, r0->n_orders);
        rc = figures_write_trajectory(out, &td, warning, sizeof warning);
        if (rc != 0) fprintf(stderr, "softent: %s\n", warning);
    }
    free(steps);
    free(H);
    free(loss);
    free(values);
    return rc;
}

static void print_table(FILE *f, const analysis_options *o, const char *source, const char *corpus_path, const softent_analysis_corpus *c,
                        const checkpoint *ck, int n)
{
    const softent_analysis_result *r0 = &ck[0].result;
    softent_analysis_corpus_info ci;
    softent_analysis_corpus_get_info(c, &ci);
    fprintf(f, "softent %s trace: %d checkpoints of %s on %s (%lld documents, %lld positions)\n\n", SOFTENT_VERSION, n, source,
           corpus_path, (long long)ci.docs_used, (long long)ci.positions);
    char lead[64];
    snprintf(lead, sizeof lead, "%10s %9s %9s", "step", "val_loss", "H");
    analysis_table_head(f, r0, lead);
    int undefined = 0;
    for (int i = 0; i < n; i++) {
        fprintf(f, "%10lld", (long long)ck[i].step);
        if (isfinite(ck[i].val_loss)) fprintf(f, " %9.4f", ck[i].val_loss);
        else fprintf(f, " %9s", "-"), undefined++;
        if (isfinite(ck[i].result.mean_H)) fprintf(f, " %9.6f", ck[i].result.mean_H);
        else fprintf(f, " %9s", "-"), undefined++;
        undefined += analysis_table_row(f, &ck[i].result, -1);
    }
    fprintf(f, "(layer means over layers >= 1; entropies are %s)\n", analysis_units_phrase(o));
    if (r0->n_labels > 0) {
        snprintf(lead, sizeof lead, "%10s", "step");
        analysis_labels_head(f, r0, lead);
        for (int i = 0; i < n; i++) fprintf(f, "%10lld", (long long)ck[i].step), undefined += analysis_labels_row(f, &ck[i].result, -1);
    }
    char which[64];
    snprintf(which, sizeof which, " at the last checkpoint (step %lld)", (long long)ck[n - 1].step);
    analysis_table_notes(f, &ck[n - 1].result, undefined, which);
    fprintf(f, "\n");
}

static int write_outputs(const analysis_options *o, const char *source, const char *corpus_path, const char *out,
                         const softent_analysis_corpus *c, const checkpoint *ck, int n)
{
    if (mkdir(out, 0777) != 0 && errno != EEXIST) return cli_error("%s: cannot create the output directory: %s", out, strerror(errno));
    char path[4096];
    snprintf(path, sizeof path, "%s/trajectory.json", out);
    int rc = write_trajectory_json(o, source, corpus_path, path, c, ck, n);
    if (!rc) snprintf(path, sizeof path, "%s/trajectory.csv", out), rc = write_trajectory_csv(path, ck, n);
    if (rc) return rc;
    const int drawn = write_figures(source, out, ck, n);
    FILE *tf = analysis_table_stream(o);
    print_table(tf, o, source, corpus_path, c, ck, n);
    summarise(tf, &ck[0].result, ck, n);
    /* summary.txt repeats the terminal's reading */
    cli_file cf;
    snprintf(path, sizeof path, "%s/summary.txt", out);
    if ((rc = cli_file_open(&cf, path)) == 0) {
        summarise(cf.f, &ck[0].result, ck, n);
        rc = cli_file_commit(&cf, 1);
    }
    fprintf(tf, "\nresults: %s/trajectory.json, %s/trajectory.csv", out, out);
    if (drawn == 0) fprintf(tf, "; figures: %s/trajectory_plane_n*.png, %s/trajectory.png, %s/loss_optimality.png\n", out, out, out);
    else fprintf(tf, "; figures not drawn (%s)\n", drawn > 0 ? "no gnuplot" : "see the error");
    analysis_table_done(tf);
    return rc ? rc : drawn < 0;
}

/* The checkpoints' own directories under a part's checkpoint ("step-N"). */
static char **step_names(const checkpoint *ck, int n)
{
    char **names = calloc((size_t)n + 1, sizeof *names);
    for (int i = 0; names && i < n; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "step-%lld", (long long)ck[i].step);
        if (!(names[i] = strdup(buf))) {
            for (int j = 0; j < i; j++) free(names[j]);
            free(names);
            return NULL;
        }
    }
    return names;
}

/* Checkpoint i's model, loaded and checked against the first one's
 * shape (the tokenizers are checked before, by same_tokenizers); the first also sets the layers and reads the
 * corpus.  0 or the exit status. */
static int load_checkpoint(const checkpoint *ck, int i, analysis_options *o, const char *corpus_path,
                           softent_tokenizer *tok, softent_model **model, softent_model_config *first, int **sel, int *n_sel,
                           softent_analysis_corpus **corpus)
{
    softent_model_config cfg;
    int rc;
    if ((rc = cli_model_load(model, ck[i].path, o->compute))) return rc;
    softent_model_get_config(*model, &cfg);
    if (i > 0) {
        if (cfg.n_layers != first->n_layers || cfg.d_model != first->d_model || cfg.vocab_size != first->vocab_size)
            return cli_error("%s: %d layers, d = %d, vocabulary %d, but %s has %d, %d, %d; a trajectory needs one architecture", ck[i].path,
                             cfg.n_layers, cfg.d_model, cfg.vocab_size, ck[0].path, first->n_layers, first->d_model, first->vocab_size);
        return 0;
    }
    *first = cfg;
    if ((rc = analysis_fit_model(o, &cfg, "trace")) || (rc = analysis_select_layers(o->layers_spec, cfg.n_layers, sel, n_sel, "trace")))
        return rc;
    if ((*sel)[*n_sel - 1] == 0)
        return cli_usage_error("trace", "--layers %s: a trajectory follows the layer means over layers >= 1, and this selects only the embeddings (0)",
                               o->layers_spec);
    return analysis_corpus_read(corpus, o, corpus_path, tok, &cfg);
}

/* Every checkpoint's tokenizer.json the first one's, checked before any
 * step runs (a refused trace leaves nothing to resume). */
static int same_tokenizers(const checkpoint *ck, int n, uint64_t tok0)
{
    for (int i = 1; i < n; i++) {
        uint64_t h;
        int rc = tokenizer_hash(ck[i].path, &h);
        if (rc) return rc;
        if (h != tok0) return cli_error("%s: tokenizer.json differs from %s's; a trajectory needs one tokenizer", ck[i].path, ck[0].path);
    }
    return 0;
}

/* Every checkpoint through the corpus, a part each (analysis_run_part),
 * then the outputs where this process holds the results. */
static int trace_run(analysis_options *o, const char *source, const char *corpus_path, const char *out, checkpoint *ck, int n,
                     int argc, char **argv)
{
    softent_model *model = NULL;
    softent_tokenizer *tok = NULL;
    softent_model_config first = {0};
    softent_analysis_corpus *corpus = NULL;
    int *sel = NULL, n_sel = 0;
    uint64_t tok0 = 0;
    char **steps = step_names(ck, n);
    int rc = steps ? 0 : cli_error("out of memory");
    if (!rc && cli_mpi_rank() == 0) rc = analysis_out_lock(out, "trace");
    if (!rc && !(rc = tokenizer_hash(ck[0].path, &tok0)) && !(rc = same_tokenizers(ck, n, tok0)) &&
        (rc = softent_analysis_tokenizer_load(&tok, ck[0].path)))
        rc = cli_lib_error(rc);
    if (!rc && o->shard_k) rc = analysis_shard_begin(out);
    if ((rc = cli_mpi_agree(rc))) goto done;
    /* a fresh trace: no step of an earlier one is left to be taken up later */
    for (int i = 0; !o->resume && !rc && i < n; i++) rc = analysis_part_clear(o, out, steps[i]);
    if ((rc = cli_mpi_agree(rc))) goto done;
    if (o->resume && !analysis_any_checkpoint(o, out, (const char *const *)steps, n)) {
        if (cli_mpi_rank() == 0) fprintf(stderr, "softent: %s holds no checkpoint of these steps: there is nothing to resume\n", out);
        rc = 1;
        goto done;
    }
    analysis_catch_stops(!o->merge_dirs);
    for (int i = 0; i < n && !rc; i++) {
        rc = cli_mpi_agree(load_checkpoint(ck, i, o, corpus_path, tok, &model, &first, &sel, &n_sel, &corpus));
        char what[64];
        snprintf(what, sizeof what, "step %lld (%d/%d)", (long long)ck[i].step, i + 1, n);
        if (!rc) ck[i].compute = softent_model_get_compute(model);
        const analysis_job job = {ck[i].path, corpus_path, steps[i], what, rc ? SOFTENT_COMPUTE_F32 : ck[i].compute};
        if (!rc) rc = analysis_run_part(model, corpus, sel, n_sel, o, out, &job, &ck[i].result);
        if (!rc && analysis_part_final(o)) analysis_to_units(&ck[i].result, o);
        softent_model_free(model);
        model = NULL;
        if (!rc && i + 1 < n) rc = analysis_stopped();
    }
    analysis_catch_stops(0);
    if (rc) goto done;
    if (o->shard_k) {
        rc = analysis_shard_save(o, out, "trace", argc, argv);
        goto done;
    }
    if (analysis_part_final(o)) rc = write_outputs(o, source, corpus_path, out, corpus, ck, n);
    /* the outputs are written: the checkpoints have done their work */
    rc = cli_mpi_agree(rc);
    for (int i = 0; !rc && i < n; i++) rc = analysis_part_remove(o, out, steps[i]);
done:
    for (int i = 0; steps && i < n; i++) free(steps[i]);
    free(steps);
    softent_model_free(model);
    softent_tokenizer_free(tok);
    softent_analysis_corpus_free(corpus);
    free(sel);
    return rc;
}

/* trace, or (shards non-NULL) its shards merged into out. */
static int trace_main(int argc, char **argv, const analysis_shards *shards, const char *merge_out)
{
    analysis_options o = analysis_default_options();
    const char *out = "trace";
    int rc = analysis_parse_args(argc, argv, &o, &out, USAGE, "trace");
    if (rc) return rc < 0 ? 0 : rc;
    if (o.preference) return cli_usage_error("trace", "--preference is measured by analyze; run softent analyze CHECKPOINT CORPUS --preference FILE per checkpoint");
    if (o.shard_k && cli_mpi_size() > 1) return cli_usage_error("trace", "--shard splits the documents by hand; under mpirun the ranks split them (drop --shard)");
    if (argc - optind < 2) return cli_usage_error("trace", "give RUN_DIR (or checkpoint directories) and CORPUS");
    if (shards) analysis_merging(&o, &out, shards, merge_out);
    cli_set_threads(o.threads);
    const char *corpus_path = argv[argc - 1];
    const int n_args = argc - optind - 1;
    checkpoint *ck = NULL;
    int n = 0;
    char *config = se_path_join(argv[optind], "config.json");
    int single_run = n_args == 1 && config && access(config, F_OK) != 0;
    free(config);
    if (single_run && o.steps) {
        rc = cli_usage_error("trace", "--steps gives the steps of checkpoint directories; %s is a run directory, whose names give them", argv[optind]);
    } else if (single_run) {
        if (!(rc = list_run(argv[optind], &ck, &n))) read_losses(argv[optind], ck, n);
    } else {
        rc = list_dirs(argv + optind, n_args, o.steps, &ck, &n);
    }
    if (!rc) rc = trace_run(&o, single_run ? argv[optind] : ck[0].path, corpus_path, out, ck, n, argc, argv);
    for (int i = 0; ck && i < n; i++) {
        free(ck[i].path);
        softent_analysis_result_free(&ck[i].result);
    }
    free(ck);
    return rc;
}

int cmd_trace(int argc, char **argv) { return trace_main(argc, argv, NULL, NULL); }

int trace_merge(const analysis_shards *s, const char *out) { return trace_main(s->argc, s->argv, s, out); }
