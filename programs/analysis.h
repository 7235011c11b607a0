/*
 * analysis.h - what `softent analyze` and `softent trace` share around the
 * library's analysis engine (softent_analysis.h): their options
 * (analysis.c), the engine's calls with errors and progress printed
 * (analysis.c), and the results as JSON, CSV and figure data
 * (analysis_output.c).
 */
#ifndef SOFTENT_PROGRAMS_ANALYSIS_H
#define SOFTENT_PROGRAMS_ANALYSIS_H

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "estimator_options.h"
#include "softent.h"
#include "softent_analysis.h"
#include "softent_model.h"
#include "softent_tokenizer.h"

typedef struct {
    softent_analysis_params a;
    int max_length_given;   /* else max_length is capped at the model's positions */
    const char *layers_spec;
    int threads;
    softent_compute compute;  /* --compute */
    const char *preference; /* --preference FILE.jsonl (analyze); NULL: none */
    softent_preference_params pref;
    char pref_fields[256];  /* --preference-fields, split in place */
    const char *steps;      /* trace --steps LIST; NULL: from the names */
    int quiet;              /* --quiet: no table */
    const char *json;       /* --json PATH: a copy of the results JSON ('-': stdout) */
    int units;              /* --units: UNITS_* of every H and I written */
    char label_names[SOFTENT_ANALYSIS_MAX_LABELS][32]; /* --labels NAME=PATH: a.label_names point here */
    int64_t checkpoint_docs;  /* --checkpoint-every N documents (0: not by count) */
    double checkpoint_seconds;/* --checkpoint-seconds T (0: not by time) */
    int resume;               /* --resume */
    int checkpoint_given;     /* either --checkpoint option */
    int shard_i, shard_k;     /* --shard I/K (shard_k 0: none) */
    const char *const *merge_dirs; /* [merge_parts] the shards' directories by part, when merging them; else NULL */
    int merge_parts;
} analysis_options;

analysis_options analysis_default_options(void);
/* Cap the default max_length at the positions a model was trained for;
 * a --max-length beyond a model's learned positions (gpt2) is a usage
 * error of cmd (0 or the exit status). */
int analysis_fit_model(analysis_options *o, const softent_model_config *cfg, const char *cmd);

/* The options analyze and trace share, for getopt_long: ANALYSIS_LONGOPTS
 * goes inside a struct option array, and analysis_option handles its codes
 * (ANALYSIS_OPT_FIRST .. ANALYSIS_OPT_LAST - 1, and the estimator's):
 * 0 handled, else an exit status. */
enum { ANALYSIS_OPT_FIRST = 256, OPT_MAXLEN = 256, OPT_MAXDOCS, OPT_MAXTOK, OPT_NGRAMS, OPT_LAYERS, OPT_FIELD,
       OPT_PREF, OPT_PREF_FIELDS, OPT_PREF_POS, OPT_STEPS, OPT_QUIET_A, OPT_JSON_A, OPT_UNITS_A, OPT_LABELS_A,
       OPT_CKPT_DOCS, OPT_CKPT_SECONDS, OPT_RESUME, OPT_SHARD_A, OPT_COMPUTE_A, ANALYSIS_OPT_LAST };
#define ANALYSIS_LONGOPTS                                                                                       \
    {"max-length", required_argument, 0, OPT_MAXLEN}, {"max-docs", required_argument, 0, OPT_MAXDOCS},         \
    {"max-tokens", required_argument, 0, OPT_MAXTOK}, {"ngrams", required_argument, 0, OPT_NGRAMS},             \
    {"layers", required_argument, 0, OPT_LAYERS}, {"text-field", required_argument, 0, OPT_FIELD},             \
    {"preference", required_argument, 0, OPT_PREF}, {"preference-fields", required_argument, 0, OPT_PREF_FIELDS}, \
    {"preference-positions", required_argument, 0, OPT_PREF_POS}, {"steps", required_argument, 0, OPT_STEPS},  \
    {"quiet", no_argument, 0, OPT_QUIET_A}, {"json", required_argument, 0, OPT_JSON_A},                        \
    {"units", required_argument, 0, OPT_UNITS_A}, {"labels", required_argument, 0, OPT_LABELS_A},              \
    {"checkpoint-every", required_argument, 0, OPT_CKPT_DOCS},                                                  \
    {"checkpoint-seconds", required_argument, 0, OPT_CKPT_SECONDS}, {"resume", no_argument, 0, OPT_RESUME},   \
    {"shard", required_argument, 0, OPT_SHARD_A}, {"compute", required_argument, 0, OPT_COMPUTE_A},            \
    ESTIMATOR_LONGOPTS
int analysis_option(analysis_options *o, int c, const char *arg, const char *cmd);
/* The options of analyze and trace, --out and --help included: 0 and
 * optind at the first operand, -1 after printing usage, else an exit status. */
int analysis_parse_args(int argc, char **argv, analysis_options *o, const char **out, const char *usage, const char *cmd);

/* One model's run as a part of a larger one (analysis_part.c): whole,
 * resumed from its checkpoint (--resume), split across MPI ranks, one
 * shard of a job array (--shard I/K), or the shards merged (merge_dirs).
 * analyze runs one part, trace one per checkpoint (step names it). */
typedef struct {
    const char *model, *corpus; /* as given: they identify the checkpoints */
    const char *step;           /* trace: "step-N", the step's directory under the part's; analyze: NULL */
    const char *what;           /* the progress line's heading */
    softent_compute compute;    /* the model's products: bf16 ones are part of the identity */
} analysis_job;

/* SIGINT and SIGTERM caught (on) or given back (the signals make the run
 * save its checkpoint and stop), and, between a trace's steps, whether
 * one came (on any rank): the exit status, after saying how to resume. */
void analysis_catch_stops(int on);
int analysis_stopped(void);
/* The run of one part, checkpointed in OUT as o says: 0 or the exit status
 * (128 + the signal when stopped).  Only where analysis_part_final holds
 * (rank 0, not a shard) does *result hold the results. */
int analysis_run_part(softent_model *model, const softent_analysis_corpus *corpus, const int *sel, int n_sel,
                      const analysis_options *o, const char *out, const analysis_job *job, softent_analysis_result *result);
int analysis_part_final(const analysis_options *o);
/* This process's checkpoint of a part (step as for the job) removed once
 * the outputs are written; a shard's is its result, and stays. */
int analysis_part_remove(const analysis_options *o, const char *out, const char *step);
/* This process's checkpoint of a part (a shard's too) removed: a fresh
 * run's start (not when merging).  0 or the exit status. */
int analysis_part_clear(const analysis_options *o, const char *out, const char *step);
/* Whether any rank has a checkpoint of any of the steps [n]. */
int analysis_any_checkpoint(const analysis_options *o, const char *out, const char *const *steps, int n);

/* A finished shard's OUT/shard.json: the command (analyze or trace), its
 * part, and its command line, which softent merge runs again to merge. */
int analysis_shard_save(const analysis_options *o, const char *out, const char *cmd, int argc, char **argv);
/* A shard starting: an earlier shard's shard.json in out removed, so that
 * an unfinished run is never taken for a finished one. */
int analysis_shard_begin(const char *out);
typedef struct {
    char command[32];      /* "analyze" or "trace" */
    int parts;
    const char **dirs;     /* [parts] by part (borrowed strings) */
    int argc;
    char **argv;           /* part 0's command line (owned) */
    char cwd[4096];        /* where it ran ("" when not recorded) */
} analysis_shards;
/* The shard directories dirs [n] of one run: every part once, or the
 * error names the duplicate, the missing or the foreign one. */
int analysis_shards_read(char **dirs, int n, analysis_shards *s);
void analysis_shards_free(analysis_shards *s);
/* o (parsed from the shards' command line) and *out made the merge's:
 * its -o, and the shards as the parts (not a shard, nothing to resume). */
void analysis_merging(analysis_options *o, const char **out, const analysis_shards *s, const char *merge_out);
/* analyze and trace on merged shards: argv is the shards' command line,
 * out the merge's -o. */
int analyze_merge(const analysis_shards *s, const char *out);
int trace_merge(const analysis_shards *s, const char *out);

/* The output directory, made, and locked for this process (flock on
 * OUT/.softent-lock, which the system releases however the process ends):
 * a second run into the same OUT while this one runs is refused, naming
 * it.  0 or the exit status. */
int analysis_out_lock(const char *out, const char *cmd);
/* Figures of an earlier run into OUT that this run does not draw (prefix +
 * "n<K>" for the orders K not in orders [n_orders]) removed, each named on
 * stderr, so that no stale figure sits beside new results. */
void analysis_out_clean(const char *out, const char *prefix, const int *orders, int n_orders);

/* Where the table goes: stdout, stderr when --json - puts the JSON on
 * stdout, nowhere (/dev/null) with --quiet; close with analysis_table_done. */
FILE *analysis_table_stream(const analysis_options *o);
void analysis_table_done(FILE *f);
/* The results JSON into path and, with --json, its copy (root is freed). */
int analysis_write_json(const analysis_options *o, const char *path, cJSON *root);

/* The engine's calls, each printing its own error (a bad --layers as a
 * usage error of cmd); 0 or the exit status. */
int analysis_select_layers(const char *spec, int n_layers, int **sel, int *n_sel, const char *cmd);
int analysis_corpus_read(softent_analysis_corpus **c, const analysis_options *o, const char *path,
                         softent_tokenizer *tok, const softent_model_config *cfg);
int analysis_preference_read(softent_analysis_corpus **c, const analysis_options *o, softent_tokenizer *tok,
                             const softent_model_config *cfg);
/* With progress on stderr, when a terminal, headed `what` (NULL: none);
 * cp (may be NULL) checkpoints it; *status (status may be NULL) the
 * library's. */
int analysis_run(softent_model *model, const softent_analysis_corpus *c, const int *sel, int n_sel,
                 const softent_analysis_run_params *cp, softent_analysis_result *out, const char *what, int *status);
int analysis_preference_run(softent_model *model, const softent_analysis_corpus *c, const int *sel, int n_sel,
                            softent_preference_result *out);

/* Preference information as analyze writes it (preference_output.c):
 * a per-layer "preference" object in the result's "layers", the means in
 * its "layer_mean" (preference: the headline, which correlate reads), and
 * the run's own block. */
void preference_json(cJSON *root, const softent_analysis_corpus *c, const char *path, const softent_preference_result *p);
void preference_csv(FILE *f, const char *model, const softent_preference_result *p);
void preference_table(FILE *f, const softent_analysis_corpus *c, const softent_preference_result *p);

/* Outputs shared by analyze and trace (analysis_output.c). */
/* Every entropy and information of r (or p) in o's units, from the
 * efficiencies the library gives (optimality, a ratio, is left as it is). */
void analysis_to_units(softent_analysis_result *r, const analysis_options *o);
void preference_to_units(softent_preference_result *p, const analysis_options *o);
/* "fractions of log m", "in nats" or "in bits", for the tables' headers. */
const char *analysis_units_phrase(const analysis_options *o);
/* Whether m (or r's label sets) had a null: permutations or the scaled null. */
static inline int analysis_null_ran(const softent_labelset_measures *m) { return m->null_perms > 0 || m->null_scaled > 0; }
int analysis_has_null(const softent_analysis_result *r);
/* "a 100-permutation null" or "the scaled null of 14514 sampled rows", for
 * the tables' notes; buf holds it. */
const char *analysis_null_phrase(const softent_labelset_measures *m, char *buf, size_t size);
/* The figures' error bars: the bootstrap interval when one ran, else
 * +- 2 null sd with a null, else none (FIG_BARS_*). */
int analysis_bars(const softent_analysis_result *r);
/* Whether the headline is a bias-corrected I (any correction but none). */
int analysis_corrected(const softent_analysis_result *r);
/* The headline's name for a correction. */
const char *analysis_correction_label(softent_correction c);
/* A label set's headline I: corrected with a null, else plug-in. */
double analysis_headline(const softent_labelset_measures *m);
/* "corrected (I - null mean)" or "plug-in (no null run: biased upward)". */
const char *analysis_basis(const softent_analysis_result *r);
/* {"headline", "context_width_basis", "layers": [...], "layer_mean": {...}}; no NaN (null instead) */
cJSON *analysis_result_json(const softent_analysis_result *r);
/* A label set's measures into o: rows, H, I, I_corrected, ..., its
 * interval and null. */
void analysis_labelset_json(cJSON *o, const softent_labelset_measures *m);
cJSON *analysis_settings_json(const analysis_options *o, double eps);
cJSON *analysis_corpus_json(const softent_analysis_corpus *c, const char *path);
/* Tidy rows model,checkpoint,layer,label_set,measure,value (no header); an
 * undefined value is an empty field.  _mean: the layer means (layer "mean"). */
void analysis_result_csv(FILE *f, const char *model, const char *checkpoint, const softent_analysis_result *r);
/* A label set's rows; its label is set followed by n (n > 0) or set alone. */
void analysis_labelset_csv(FILE *f, const char *model, const char *checkpoint, const char *layer, const char *set, int n,
                           const softent_labelset_measures *m);
void analysis_mean_csv(FILE *f, const char *model, const char *checkpoint, const softent_analysis_result *r);
/* The values figures_write wants: [n_layers] H and [n_layers, n_orders, FIG_NV]. */
int analysis_figure_values(const softent_analysis_result *r, int **layers, double **H, double **values);
/* One point's FIG_NV values (figures.h) from its label sets; NaN where no null ran. */
void figure_point(double *v, const softent_labelset_measures *in, const softent_labelset_measures *out, double opt,
                  double opt_corrected);
/* The printed tables: two header lines (lead names the leading columns),
 * then a row's columns after its leading ones (layer s of r, or its layer
 * means when s < 0): with a null the corrected I_in, I_out, optimality per
 * order, then "|" and the plug-in ones; "-" where undefined.  _row returns
 * how many cells were undefined, _notes explains the table. */
void analysis_table_head(FILE *f, const softent_analysis_result *r, const char *lead);
int analysis_table_row(FILE *f, const softent_analysis_result *r, int s);
/* The same for the user's label sets (--labels), a column each, with the
 * headline, its interval and the plug-in in each cell. */
void analysis_labels_head(FILE *f, const softent_analysis_result *r, const char *lead);
int analysis_labels_row(FILE *f, const softent_analysis_result *r, int s);
/* which names the result whose intervals are listed ("" for an analysis). */
void analysis_table_notes(FILE *f, const softent_analysis_result *r, int undefined, const char *which);

#endif
