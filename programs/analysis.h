/*
 * analysis.h - the engine behind `softent analyze` and `softent trace`: a
 * corpus tokenized once with its n-gram labels counted once, and a model's
 * forward pass feeding one accumulator per selected layer.  trace runs the
 * same corpus and labels through every checkpoint.
 */
#ifndef SOFTENT_PROGRAMS_ANALYSIS_H
#define SOFTENT_PROGRAMS_ANALYSIS_H

#include <getopt.h>
#include <stdint.h>

#include "estimator_options.h"
#include "softent.h"
#include "softent_model.h"
#include "softent_tokenizer.h"

typedef struct {
    softent_params params;
    int64_t max_length, max_docs, max_tokens;
    int max_length_given;   /* else max_length is capped at the model's positions */
    int orders[SOFTENT_MAX_ARITY], n_orders, n_max;
    const char *text_field;
    const char *layers_spec;
    int threads;
} analysis_options;

analysis_options analysis_default_options(void);
/* Cap the default max_length at the positions a model was trained for. */
void analysis_fit_model(analysis_options *o, const softent_model_config *cfg);

/* The options analyze and trace share, for getopt_long: ANALYSIS_LONGOPTS
 * goes inside a struct option array, and analysis_option handles its codes
 * (ANALYSIS_OPT_FIRST .. ANALYSIS_OPT_LAST - 1, and the estimator's):
 * 0 handled, else an exit status. */
enum { ANALYSIS_OPT_FIRST = 256, OPT_MAXLEN = 256, OPT_MAXDOCS, OPT_MAXTOK, OPT_NGRAMS, OPT_LAYERS, OPT_FIELD,
       ANALYSIS_OPT_LAST };
#define ANALYSIS_LONGOPTS                                                                                       \
    {"max-length", required_argument, 0, OPT_MAXLEN}, {"max-docs", required_argument, 0, OPT_MAXDOCS},         \
    {"max-tokens", required_argument, 0, OPT_MAXTOK}, {"ngrams", required_argument, 0, OPT_NGRAMS},             \
    {"layers", required_argument, 0, OPT_LAYERS}, {"text-field", required_argument, 0, OPT_FIELD},             \
    ESTIMATOR_LONGOPTS
int analysis_option(analysis_options *o, int c, const char *arg, const char *cmd);
/* The options of analyze and trace, --out and --help included: 0 and
 * optind at the first operand, -1 after printing usage, else an exit status. */
int analysis_parse_args(int argc, char **argv, analysis_options *o, const char **out, const char *usage, const char *cmd);

typedef struct {
    int32_t *tokens; /* [n], truncated to max_length */
    int64_t n;
} analysis_doc;

typedef struct {
    analysis_doc *docs;
    int64_t n_docs, docs_read, docs_short, tokens, positions;
    uint64_t hash;       /* FNV-1a 64 of the token stream analysed */
    softent_acc *labels; /* in{n}, out{n} counted over every position; no rows */
} analysis_corpus;

/* Pass 1: read, tokenize, truncate; count the labels.  Prints its own error. */
int analysis_corpus_read(analysis_corpus *c, const analysis_options *o, const char *path,
                         softent_tokenizer *tok, int vocab_size, int64_t d_model);
void analysis_corpus_free(analysis_corpus *c);

typedef struct {
    int layer;
    double H;
    int64_t rows;
    softent_labelset_measures in[SOFTENT_MAX_ARITY], out[SOFTENT_MAX_ARITY]; /* per order (names unset) */
    double optimality[SOFTENT_MAX_ARITY];
} analysis_layer;

typedef struct {
    int n_layers;
    analysis_layer *layers;  /* [n_layers] the selected layers, ascending */
    int n_mean;              /* layers >= 1 among them */
    double mean_H, mean_in[SOFTENT_MAX_ARITY], mean_out[SOFTENT_MAX_ARITY], mean_opt[SOFTENT_MAX_ARITY];
    double eps;
} analysis_result;

/* --layers: "all", "every:K" or a list; *sel is malloc'ed.  Prints errors. */
int analysis_select_layers(const char *spec, int n_layers, int **sel, int *n_sel, const char *cmd);

/* Pass 2: the forward pass over every document, one accumulator per selected
 * layer (sharing the corpus' label counts).  Prints its own error. */
int analysis_run(const analysis_options *o, softent_model *model, const analysis_corpus *c, const int *sel,
                 int n_sel, analysis_result *out, const char *what);
void analysis_result_free(analysis_result *r);

/* Outputs shared by analyze and trace. */
#include <cjson/cJSON.h>
#include <stdio.h>
/* {"layers": [...], "layer_mean": {...}} */
cJSON *analysis_result_json(const analysis_options *o, const analysis_result *r);
cJSON *analysis_settings_json(const analysis_options *o, double eps);
cJSON *analysis_corpus_json(const analysis_corpus *c, const char *path);
/* Tidy rows model,checkpoint,layer,label_set,measure,value (no header). */
void analysis_result_csv(FILE *f, const char *model, const char *checkpoint, const analysis_options *o,
                         const analysis_result *r);
/* The values figures_write wants: [n_layers] H and [n_layers, n_orders, 3]. */
int analysis_figure_values(const analysis_options *o, const analysis_result *r, int **layers, double **H, double **values);

#endif
