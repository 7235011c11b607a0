/*
 * softent_eval.h - a model scored on held-out tasks (docs/eval.md): the
 * mean next-token cross-entropy, bits per byte and next-token accuracy of a
 * corpus, and multiple-choice accuracy by log-likelihood (the convention of
 * EleutherAI's lm-evaluation-harness).
 *
 * Log-probabilities are log-softmax in double of softent_model_forward's
 * float32 logits.  Sequences longer than the model's max_positions are
 * truncated (see each function).  Same conventions as softent.h: status
 * codes, softent_last_error() for a one-line detail naming the file (and
 * the line), no printing.
 */
#ifndef SOFTENT_EVAL_H
#define SOFTENT_EVAL_H

#include <stdint.h>

#include "softent.h"
#include "softent_model.h"
#include "softent_tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One document of a loss task. */
typedef struct {
    int64_t tokens;     /* ids fed (after truncation) */
    int64_t predicted;  /* tokens - 1: every id after the first is predicted */
    int64_t bytes;      /* the document's UTF-8 bytes */
    int truncated;      /* cut to max_positions ids */
    double nats;        /* summed -log p(next token) */
    int64_t correct;    /* argmax of the logits == next token */
} softent_eval_doc;

typedef struct {
    double loss;        /* nats per predicted token, over every document */
    double bpb;         /* bits per byte, over the documents scored whole (NaN if none) */
    double accuracy;    /* fraction of predicted tokens that are the argmax */
    double baseline;    /* 1 / vocab_size: accuracy of a uniform guess */
    int64_t documents, predicted, bytes_whole, truncated;
    softent_eval_doc *docs; /* [documents], owned */
} softent_eval_loss_result;

/* path: a corpus (softent_corpus.h: .txt one document a line, .jsonl with
 * text_field or the detected field).  Each document is encoded with the
 * tokenizer's post-processor (BOS/EOS as Hugging Face adds them) and cut to
 * the model's first max_positions ids; a document of one id predicts
 * nothing.  SOFTENT_E_EMPTY when no token is predicted. */
SOFTENT_API int softent_eval_loss(softent_model *model, softent_tokenizer *tok, const char *path, const char *text_field,
                                  softent_eval_loss_result *out);
SOFTENT_API void softent_eval_loss_free(softent_eval_loss_result *r);

/* One multiple-choice record. */
typedef struct {
    int64_t line;       /* 1-based line of the file */
    int n_choices;
    int answer;
    double *logprob;    /* [n_choices] summed log p of the choice's tokens given the context */
    int64_t *n_tokens;  /* [n_choices] the choice's tokens */
    int64_t *bytes;     /* [n_choices] the choice's UTF-8 bytes as given (acc_norm divides by max(1, bytes)) */
    int pred, pred_norm; /* argmax of logprob, of logprob / bytes (first maximum) */
} softent_eval_mc_record;

typedef struct {
    double acc, acc_norm; /* fraction of records whose pred / pred_norm is the answer */
    double baseline;      /* mean over records of 1 / n_choices */
    int64_t n_records;
    softent_eval_mc_record *records; /* [n_records], owned */
} softent_eval_mc_result;

/* path: .jsonl, one record a line (blank lines skipped):
 *   {"context": str, "choices": [str, ...], "answer": int (0-based)}
 * A choice is scored as lm-evaluation-harness does: spaces at the end of
 * the context move to the start of the choice; whole = encode(context +
 * choice), ctx = encode(context), both with the post-processor (BOS as HF
 * adds it); the choice's tokens are whole[len(ctx):], each predicted from
 * everything before it.  A sequence longer than max_positions loses ids at
 * its start.  Refused (SOFTENT_E_FORMAT, file and line named): a malformed
 * line, a missing or mistyped field, no choices, an answer out of range, a
 * choice with no tokens of its own, a context of no tokens. */
SOFTENT_API int softent_eval_mc(softent_model *model, softent_tokenizer *tok, const char *path, softent_eval_mc_result *out);
SOFTENT_API void softent_eval_mc_free(softent_eval_mc_result *r);

#ifdef __cplusplus
}
#endif
#endif
