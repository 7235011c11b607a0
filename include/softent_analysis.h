/*
 * softent_analysis.h - a model measured over a corpus (SPEC section 4): the
 * token positions of each document, their n-gram labels, and the engine
 * that feeds each layer's hidden states to an accumulator.  `softent
 * analyze` is one corpus pass and one run; `softent trace` is one corpus
 * pass and a run per checkpoint, all sharing its labels and reference points.
 *
 * Same conventions as softent.h: status codes, softent_last_error() for the
 * detail, no printing.
 */
#ifndef SOFTENT_ANALYSIS_H
#define SOFTENT_ANALYSIS_H

#include <signal.h>
#include <math.h>
#include <stdint.h>

#include "softent.h"
#include "softent_model.h"
#include "softent_tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The tokenizer of a model: MODEL/tokenizer.json (or MODEL itself when it
 * is a tokenizer.json), or, for a .gguf file, its metadata restated as
 * tokenizer.json (softent_gguf_tokenizer_json). */
SOFTENT_API int softent_analysis_tokenizer_load(softent_tokenizer **out, const char *model);

/* ---- n-gram labels ------------------------------------------------------ */

/* Positions of a document of `len` tokens that have every n-gram up to
 * n_max on both sides: t in [n_max - 1, len - n_max).  0 when too short. */
SOFTENT_API int64_t softent_ngram_positions(int64_t len, int n_max);

/* Labels of order n at those positions: input n-gram (t-n+1 .. t) and output
 * n-gram (t+1 .. t+n), keys_in and keys_out [positions, n], exact token ids. */
SOFTENT_API void softent_ngram_labels(const int32_t *tokens, int64_t len, int n_max, int n,
                                      int64_t *keys_in, int64_t *keys_out);

/* ---- the analysis engine ------------------------------------------------- */

/* Label sets of the user's an analysis measures beside the n-grams, at most: */
#define SOFTENT_ANALYSIS_MAX_LABELS 8

typedef struct {
    softent_params params;  /* the estimator's, the same for every layer */
    int64_t max_length;     /* tokens a document keeps, BOS/EOS included (>= 2) */
    int64_t max_docs;       /* documents to read; 0: all */
    int64_t max_tokens;     /* stop reading once this many are kept; 0: all */
    int orders[SOFTENT_MAX_ARITY]; /* [n_orders] distinct n-gram orders, 1..SOFTENT_MAX_ARITY */
    int n_orders;
    const char *text_field; /* the .jsonl text field, borrowed; NULL: detected */
    /* [n_labels] label sets of the user's, each a name and a .txt path,
     * borrowed: see softent_analysis_corpus_read */
    int n_labels;
    const char *label_names[SOFTENT_ANALYSIS_MAX_LABELS], *label_paths[SOFTENT_ANALYSIS_MAX_LABELS];
} softent_analysis_params;

/* max_length 512, orders 1,2,3, softent_default_params(). */
SOFTENT_API softent_analysis_params softent_analysis_default_params(void);

/* Called after each document of a run: documents and tokens done of their
 * totals, seconds since the run began. */
typedef void (*softent_analysis_progress_fn)(int64_t docs_done, int64_t docs_total, int64_t tokens_done,
                                             int64_t tokens_total, double seconds, void *user);

/* Pass 1: a corpus read, tokenized, truncated to max_length, and its input
 * and output n-gram labels (in{n}, out{n} for each order) counted over every
 * position.  Documents too short for any position are dropped. */
typedef struct softent_analysis_corpus softent_analysis_corpus;

/* path: as softent_corpus_open.  Token ids must be below vocab_size (the
 * model's); d_model sizes the reference points the runs share.  The params
 * are copied (the borrowed strings are read here only).  *out is freed with
 * softent_analysis_corpus_free.
 *
 * A label set of the user's (part-of-speech tags, say) is a text file
 * with a line for each document read (the corpus' own lines: empty ones
 * skipped), holding one label a token, separated by blanks, for every
 * token of the document as softent_tokenizer_encode gives it with its
 * special tokens (as `softent tokenize` prints them), before the cut to
 * max_length.  Labels are compared as strings.  A position's row gets its
 * token's label; with params.min_count K a label occurring fewer than K
 * times among the positions is left out.  A name is 1..31 of [A-Za-z0-9_-],
 * not in{n}, out{n} or preference.  A document whose count differs is
 * SOFTENT_E_MISMATCH, naming the line. */
/* SOFTENT_OK when name may name a label set of the user's (the rule above),
 * else SOFTENT_E_INVALID with the rule. */
SOFTENT_API int softent_analysis_check_label_name(const char *name);
SOFTENT_API int softent_analysis_corpus_read(softent_analysis_corpus **out, const softent_analysis_params *p,
                                             const char *path, softent_tokenizer *tok, int vocab_size, int64_t d_model);
SOFTENT_API void softent_analysis_corpus_free(softent_analysis_corpus *c);

typedef struct {
    int64_t docs_read, docs_used, docs_short; /* used + short = read */
    int64_t tokens, positions;                /* over the documents used */
    uint64_t token_hash;                      /* FNV-1a 64 of the token ids (int32, host order) used */
} softent_analysis_corpus_info;

SOFTENT_API void softent_analysis_corpus_get_info(const softent_analysis_corpus *c, softent_analysis_corpus_info *info);

/* Layers to measure, from "all", "every:K" (0, K, 2K, ... and the last) or a
 * list "0,6,12"; 0 is the embeddings, n_layers the last block.  *sel is
 * malloc'ed [*n_sel], ascending.  SOFTENT_E_INVALID names the spec. */
SOFTENT_API int softent_analysis_select_layers(const char *spec, int n_layers, int **sel, int *n_sel);

typedef struct {
    int layer;
    double H;
    int64_t rows;
    /* [n_orders] per order of the corpus' params, in that order; names unset */
    softent_labelset_measures in[SOFTENT_MAX_ARITY], out[SOFTENT_MAX_ARITY];
    double optimality[SOFTENT_MAX_ARITY];           /* I(out) / I(in), plug-in */
    double optimality_corrected[SOFTENT_MAX_ARITY]; /* I_c(out) / I_c(in), I_c the headline
                                                     * mi_corrected; NaN with correction none */
    /* bootstrap intervals (params.bootstrap > 0, else NaN); the label
     * sets' own are in in[] and out[] */
    double H_lo, H_hi;
    double opt_corrected_lo[SOFTENT_MAX_ARITY], opt_corrected_hi[SOFTENT_MAX_ARITY];
    /* [n_labels of the result] the user's label sets; names unset */
    softent_labelset_measures labels[SOFTENT_ANALYSIS_MAX_LABELS];
} softent_analysis_layer;

typedef struct {
    int n_layers;
    softent_analysis_layer *layers; /* [n_layers] the selected layers, ascending; owned */
    int n_orders;
    int orders[SOFTENT_MAX_ARITY];
    /* means over the selected layers >= 1 (the embeddings are left out);
     * NaN when there are none */
    int n_mean;
    double mean_H, mean_in[SOFTENT_MAX_ARITY], mean_out[SOFTENT_MAX_ARITY], mean_opt[SOFTENT_MAX_ARITY];
    /* the same means of the bias-corrected I (NaN with correction none),
     * their optimality mean_out_corrected / mean_in_corrected, and the
     * means of the nulls' sds (NaN without a null) */
    double mean_in_corrected[SOFTENT_MAX_ARITY], mean_out_corrected[SOFTENT_MAX_ARITY];
    double mean_opt_corrected[SOFTENT_MAX_ARITY];
    double mean_in_null_sd[SOFTENT_MAX_ARITY], mean_out_null_sd[SOFTENT_MAX_ARITY];
    double eps;
    /* bootstrap over documents (params.bootstrap replicates, else 0 and NaN):
     * intervals at `level` of the layer means of the corrected I and their
     * optimality, and the replicates behind them */
    int bootstrap;
    double level;
    double mean_in_corrected_lo[SOFTENT_MAX_ARITY], mean_in_corrected_hi[SOFTENT_MAX_ARITY];
    double mean_out_corrected_lo[SOFTENT_MAX_ARITY], mean_out_corrected_hi[SOFTENT_MAX_ARITY];
    double mean_opt_corrected_lo[SOFTENT_MAX_ARITY], mean_opt_corrected_hi[SOFTENT_MAX_ARITY];
    /* the layer means of the sets' mi_corrected_fixed_sd (the correction's
     * own noise, taken as shared by the layers: the conservative choice) */
    double mean_in_fixed_sd[SOFTENT_MAX_ARITY], mean_out_fixed_sd[SOFTENT_MAX_ARITY];
    /* [n_orders, 2, bootstrap] the replicates' layer means of the corrected
     * I(in) (0) and I(out) (1); owned, NULL without a bootstrap.  Replicate b
     * weights the same documents in every run on the same corpus with the
     * same bootstrap_seed, so two runs' replicates pair up (trace compares
     * checkpoints with them). */
    double *replicates;
    /* [n_layers, n_orders, bootstrap] each layer's corrected I(in) per
     * replicate (the same pairing); owned, NULL without a bootstrap */
    double *layer_replicates;
    /* [n_labels] the user's label sets: names, and the layer means of the
     * plug-in I, the headline and its interval (NaN as for the n-grams) */
    int n_labels;
    char label_names[SOFTENT_ANALYSIS_MAX_LABELS][32];
    double mean_label[SOFTENT_ANALYSIS_MAX_LABELS], mean_label_corrected[SOFTENT_ANALYSIS_MAX_LABELS];
    double mean_label_corrected_lo[SOFTENT_ANALYSIS_MAX_LABELS], mean_label_corrected_hi[SOFTENT_ANALYSIS_MAX_LABELS];
} softent_analysis_result;

/* The sd of a ratio out / in of two estimates with independent noise of
 * sds sd_out and sd_in, to first order (NaN when in is 0). */
static inline double softent_ratio_sd(double out, double in, double sd_out, double sd_in)
{
    const double r = out / in;
    return fabs(r) * sqrt((sd_out / out) * (sd_out / out) + (sd_in / in) * (sd_in / in));
}

/* Layer s's replicates of the corrected I(in) of order index k: [bootstrap]. */
static inline const double *softent_analysis_layer_replicates(const softent_analysis_result *r, int s, int k)
{
    return r->layer_replicates + ((int64_t)s * r->n_orders + k) * r->bootstrap;
}

/* The replicates of order index k, io 0 (in) or 1 (out): [bootstrap]. */
static inline const double *softent_analysis_replicates(const softent_analysis_result *r, int k, int io)
{
    return r->replicates + ((int64_t)k * 2 + io) * r->bootstrap;
}

/* Pass 2: the model's forward pass over every document of c, the hidden
 * states of each layer in sel [n_sel] (ascending, from
 * softent_analysis_select_layers) feeding its own accumulator; the model
 * must have c's d_model.  progress may be NULL.  *out is freed with
 * softent_analysis_result_free (also after a failure). */
SOFTENT_API int softent_analysis_run(softent_model *model, const softent_analysis_corpus *c, const int *sel, int n_sel,
                                     softent_analysis_progress_fn progress, void *user, softent_analysis_result *out);

/* How a run goes, beyond the corpus' params; zeroed, a plain run.
 *
 * Checkpoints of a long run.  Between documents, every checkpoint_docs
 * documents or checkpoint_seconds seconds (0: not by that), and when *stop
 * has become nonzero (a signal handler's flag; stop may be NULL), the run
 * saves its accumulators (softent_acc_checkpoint) and its place in
 * checkpoint_dir, atomically: a run killed at any moment leaves the last
 * complete checkpoint.  Stopped, it returns SOFTENT_E_INTERRUPTED once
 * saved.  With resume, it first takes up the checkpoint, which must come
 * from a run of the same corpus, layers, settings and identity (the
 * caller's words for the model, corpus and split, e.g. their paths;
 * compared verbatim), and the results are the uninterrupted run's.  The
 * directory is left for the caller to remove
 * (softent_analysis_checkpoint_remove) once its outputs are written.
 *
 * A split of the documents (MPI ranks): documents [first_doc, end_doc)
 * only (end_doc 0: to the end), their rows a shard
 * (softent_acc_set_first_row); then, before the accumulators finish,
 * gather(acc, n_acc, gather_user), which may absorb the other parts'
 * shards (softent_acc_absorb) and returns 0 to go on (the gathering
 * part: the results are every part's), 1 to end here with an empty result
 * (a part that has handed its shard on), or a status (the run's, with the
 * detail of the library call that failed in gather, if one did).
 *
 * With checkpoint_at_end the run also saves its accumulators once its
 * documents are done, before the gather: a finished part that a resume
 * takes up without running a document again (a step of a trace), or that
 * softent_analysis_checkpoint_absorb adds to another part (a shard of a
 * job array).  Like a scheduled one, a save at the end that fails is given
 * to warn when there is one (the part goes on), else returned. */
typedef struct {
    const char *checkpoint_dir;
    int64_t checkpoint_docs;
    double checkpoint_seconds;
    int resume;
    const volatile sig_atomic_t *stop;
    const char *identity;
    int64_t first_doc, end_doc;
    int (*gather)(softent_acc *const *acc, int n_acc, void *user);
    void *gather_user;
    /* a checkpoint made on time (not on *stop) that could not be saved
     * (a full disk): the run goes on, and says so here (may be NULL) */
    void (*warn)(const char *message, void *user);
    void *warn_user;
    int checkpoint_at_end;
} softent_analysis_run_params;

/* The documents [*first, *end) of part `part` of `parts`: contiguous, and
 * balanced by tokens. */
SOFTENT_API void softent_analysis_split(const softent_analysis_corpus *c, int part, int parts, int64_t *first, int64_t *end);

SOFTENT_API int softent_analysis_run_with(softent_model *model, const softent_analysis_corpus *c, const int *sel, int n_sel,
                                                  const softent_analysis_run_params *cp, softent_analysis_progress_fn progress,
                                                  void *user, softent_analysis_result *out);
/* Documents done by dir's checkpoint (to say where a resume starts), or
 * SOFTENT_E_IO when dir holds none. */
SOFTENT_API int softent_analysis_checkpoint_docs(const char *dir, int64_t *docs_done);
/* A finished part saved in dir (checkpoint_at_end) added into acc [n_sel],
 * the accumulators of the layers sel of a run on c still taking rows (a
 * gather's): dir must hold documents [first_doc, end_doc) of the same
 * corpus, layers and settings, saved under identity (compared verbatim),
 * and its rows must come just after acc's.  SOFTENT_E_IO when dir holds no
 * checkpoint. */
SOFTENT_API int softent_analysis_checkpoint_absorb(const char *dir, const softent_analysis_corpus *c, const int *sel, int n_sel,
                                                   const char *identity, int64_t first_doc, int64_t end_doc, softent_acc *const *acc);
/* Remove dir's checkpoint files, and dir when it is then empty. */
SOFTENT_API int softent_analysis_checkpoint_remove(const char *dir);
SOFTENT_API void softent_analysis_result_free(softent_analysis_result *r);

/* ---- preference information I(P;Z) (docs/analyze.md) -------------------- */

/* Which positions of prompt + response carry the label P (1 chosen, 0 rejected). */
typedef enum {
    SOFTENT_PREF_RESPONSE = 0, /* every token of the response (the default) */
    SOFTENT_PREF_LAST = 1,     /* the sequence's last token only: one row a response */
    SOFTENT_PREF_ALL = 2       /* every token, the prompt's included */
} softent_pref_positions;

/* "response", "last" or "all". */
SOFTENT_API int softent_pref_positions_parse(const char *s, softent_pref_positions *out);
SOFTENT_API const char *softent_pref_positions_name(softent_pref_positions p);

typedef struct {
    /* the records' fields, borrowed; NULL: detected (prompt: prompt,
     * instruction, question, input, context, or none; chosen, rejected) */
    const char *prompt_field, *chosen_field, *rejected_field;
    softent_pref_positions positions;
} softent_preference_params;

SOFTENT_API softent_preference_params softent_preference_default_params(void);

typedef struct {
    softent_pref_positions rule;                /* the positions labelled */
    int64_t records, pairs_used, pairs_dropped; /* dropped: a response with no token */
    int64_t truncated;                          /* sequences that lost their start to max_length */
    int64_t tokens, positions;                  /* over both responses of the pairs used */
    uint64_t token_hash;                        /* as softent_analysis_corpus_info */
    const char *prompt_field, *chosen_field, *rejected_field; /* in use ("" when none); owned by the corpus */
} softent_preference_info;

/* Pass 1 for I(P;Z): a .jsonl of preference records, one a line.  Each
 * response is a string, or a list of chat messages ({"role", "content"}):
 * its response is then the last message's content and, without a prompt
 * field, the messages before it are the prompt, joined by blank lines.
 * Without a prompt, string responses share their longest common prefix
 * (cut back to a space) as the prompt.  Prompt and response are tokenized
 * as softent_eval_mc splits a context and a choice (trailing spaces of the
 * prompt move to the response); a sequence over p->max_length keeps its
 * last max_length ids.  The label set is "preference", one row per chosen
 * position; the bootstrap resamples pairs, and the null (p->params.null_perms)
 * swaps chosen and rejected within each pair (params.null_groups 2).  The headline is I less
 * that null's mean (correction NULL) with a null of >= 2 permutations, else
 * the plug-in (NONE), whatever p->params.correction says: the curve and
 * taylor corrections assume a value's rows are exchangeable, and a
 * response's tokens are not.  Of p, params and max_length are used (and
 * max_docs as records to read).  *out is freed with
 * softent_analysis_corpus_free. */
SOFTENT_API int softent_preference_read(softent_analysis_corpus **out, const softent_analysis_params *p,
                                        const softent_preference_params *pp, const char *path, softent_tokenizer *tok,
                                        int vocab_size, int64_t d_model);
/* SOFTENT_E_INVALID when c is not a preference corpus. */
SOFTENT_API int softent_preference_get_info(const softent_analysis_corpus *c, softent_preference_info *info);

typedef struct {
    int n_layers;
    int *layers;                      /* [n_layers] the selected layers; owned */
    softent_labelset_measures *pref;  /* [n_layers] I(P;Z) over the labelled positions; names unset; owned */
    /* means over the selected layers >= 1 (NaN when none): plug-in, the
     * headline (mi_corrected; NaN with correction none), the nulls' sd */
    int n_mean;
    double mean, mean_corrected, mean_null_sd;
    int bootstrap;                    /* replicates (0: none, the interval NaN) */
    double level, mean_corrected_lo, mean_corrected_hi;
} softent_preference_result;

/* Pass 2: as softent_analysis_run, over a preference corpus.  *out is freed
 * with softent_preference_result_free (also after a failure). */
SOFTENT_API int softent_preference_run(softent_model *model, const softent_analysis_corpus *c, const int *sel, int n_sel,
                                       softent_analysis_progress_fn progress, void *user, softent_preference_result *out);
SOFTENT_API void softent_preference_result_free(softent_preference_result *r);

#ifdef __cplusplus
}
#endif
#endif
