/*
 * softent_train.h - training a small GPT-2 on a token stream, so that the
 * whole pipeline runs where no pretrained model can be downloaded (SPEC 5).
 *
 * The model is GPT-2 as Hugging Face's GPT2LMHeadModel computes it: token
 * and learned position embeddings, pre-LN blocks (LayerNorm, causal
 * multi-head attention, LayerNorm, MLP 4d with GELU's tanh approximation),
 * a final LayerNorm and an lm_head tied to the token embeddings; loss is
 * the mean cross-entropy of next-token predictions.  Forward and backward
 * are written by hand (float32, OpenBLAS sgemm, OpenMP threads); the
 * optimizer is AdamW with linear warmup, cosine decay and global-norm
 * clipping.  Checkpoints are Hugging Face model directories (config.json,
 * model.safetensors, F32) that softent's own model loader and transformers
 * read.  docs/training.md gives the conventions.
 *
 * Results are deterministic for a given seed and thread count.
 *
 * Same conventions as softent.h: status codes, softent_last_error() for a
 * one-line detail (naming the file where there is one), no printing.
 */
#ifndef SOFTENT_TRAIN_H
#define SOFTENT_TRAIN_H

#include <stdint.h>

#include "softent.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    /* the model */
    int n_layer;
    int d_model;
    int n_head;             /* d_model % n_head == 0 */
    int context;            /* T: positions a window holds (n_positions) */
    int vocab_size;
    int eos_id;             /* written as bos/eos_token_id in config.json; -1: none */
    /* the run */
    int batch;              /* B: windows a step */
    int64_t steps;
    double lr;              /* peak learning rate */
    double warmup_frac;     /* warmup steps = round(warmup_frac * steps) */
    double min_lr_frac;     /* the cosine ends at lr * min_lr_frac */
    double weight_decay;    /* AdamW's decoupled decay, on weight matrices and embeddings */
    double grad_clip;       /* global gradient norm limit; 0: none */
    double beta1, beta2, adam_eps;
    uint64_t seed;          /* initial weights and the training windows */
    int n_checkpoints;
    double val_fraction;    /* the last part of the token stream, held out */
    int val_batches;        /* validation loss over at most this many batches of windows */
} softent_train_params;

/* 4 layers, d 128, 4 heads, context 128, batch 16, 2000 steps, lr 3e-3,
 * 5% warmup, cosine to 10%, weight decay 0.1, clip 1.0, betas (0.9, 0.95),
 * eps 1e-8, seed 0, 12 checkpoints, 5% validation over 8 batches. */
SOFTENT_API softent_train_params softent_train_default_params(void);

/* Checks every setting; the detail names the offending one. */
SOFTENT_API int softent_train_check_params(const softent_train_params *p);

/* The learning rate of step s = 1..steps: lr * s / W for s <= W warmup
 * steps, then a cosine from lr down to lr * min_lr_frac at s = steps. */
SOFTENT_API double softent_train_lr(const softent_train_params *p, int64_t step);

/* The steps that get a checkpoint: min(n_checkpoints, steps) distinct steps,
 * log-spaced from 1 to steps, always both.  Returns how many; steps_out
 * holds [n_checkpoints]. */
SOFTENT_API int softent_train_checkpoint_steps(const softent_train_params *p, int64_t *steps_out);

/* ---- data -------------------------------------------------------------- */

/* The windows of step s (1-based): B windows of context + 1 tokens, each
 * starting at a position drawn from (seed, s, row) alone, uniform over
 * [0, n_train - context - 1], so that a resumed run draws what an
 * uninterrupted one would.  inputs, targets [B, T] (targets shifted by one).
 * n_train >= context + 1. */
SOFTENT_API void softent_train_batch(const softent_train_params *p, const int32_t *tokens, int64_t n_train,
                                     int64_t step, int32_t *inputs, int32_t *targets);

/* Validation windows over tokens [n_train, n_total): evenly spaced, not
 * overlapping, at most val_batches * batch of them.  Returns how many
 * (0 when the held-out part is shorter than context + 1); starts_out holds
 * [val_batches * batch]. */
SOFTENT_API int64_t softent_train_val_windows(const softent_train_params *p, int64_t n_train, int64_t n_total,
                                              int64_t *starts_out);

/* A 64-bit fingerprint of a token stream (a resumed run checks that its
 * corpus still gives the same stream). */
SOFTENT_API uint64_t softent_train_token_hash(const int32_t *tokens, int64_t n);

/* ---- the trainer ---------------------------------------------------------- */

typedef struct softent_gpt2_trainer softent_gpt2_trainer;

/* A model initialised as Hugging Face initialises GPT-2: N(0, 0.02) for
 * weights and embeddings (0.02 / sqrt(2 n_layer) for the two residual
 * projections of each block), zero biases, unit LayerNorm gains; drawn in
 * the order of softent_gpt2_trainer_tensor from NumPy's default_rng(seed). */
SOFTENT_API int softent_gpt2_trainer_new(softent_gpt2_trainer **out, const softent_train_params *p);
SOFTENT_API void softent_gpt2_trainer_free(softent_gpt2_trainer *t);

SOFTENT_API const softent_train_params *softent_gpt2_trainer_params(const softent_gpt2_trainer *t);
/* Optimizer steps taken so far. */
SOFTENT_API int64_t softent_gpt2_trainer_steps_done(const softent_gpt2_trainer *t);

/* One optimizer step (number steps_done + 1) on B windows: forward,
 * backward, clipping, AdamW at that step's learning rate.  inputs,
 * targets [B, T], ids in [0, vocab_size).  *loss: the mean loss of the
 * batch before the update; *grad_norm (may be NULL): the global gradient
 * norm before clipping. */
SOFTENT_API int softent_gpt2_trainer_step(softent_gpt2_trainer *t, const int32_t *inputs, const int32_t *targets,
                                     float *loss, float *grad_norm);

/* Forward and backward without an update: the gradients of the mean loss
 * over rows <= B windows [rows, T] (read with softent_gpt2_trainer_tensor). */
SOFTENT_API int softent_gpt2_trainer_gradients(softent_gpt2_trainer *t, const int32_t *inputs, const int32_t *targets,
                                          int rows, float *loss);

/* Mean loss over rows <= B windows of len <= T tokens [rows, len]; no
 * gradients. */
SOFTENT_API int softent_gpt2_trainer_eval(softent_gpt2_trainer *t, const int32_t *inputs, const int32_t *targets,
                                     int rows, int len, double *loss);

/* Logits [rows, len, vocab_size] of rows <= B sequences of len <= T tokens. */
SOFTENT_API int softent_gpt2_trainer_logits(softent_gpt2_trainer *t, const int32_t *inputs, int rows, int len, float *logits);

/* The parameters one by one, as Hugging Face's GPT2Model names them:
 * wte.weight, wpe.weight, h.N.{ln_1, attn.c_attn, attn.c_proj, ln_2,
 * mlp.c_fc, mlp.c_proj}.{weight, bias}, ln_f.weight, ln_f.bias; weights in
 * Conv1D's [in, out] layout.  data and grad point into the trainer and may
 * be written (to load weights). */
typedef struct {
    char name[48];
    int ndim;
    int64_t shape[2];
    int64_t numel;
    float *data;            /* [numel] */
    float *grad;            /* [numel] after the last step or gradients call */
    int decay;              /* AdamW decays it (weights, embeddings; not biases or LayerNorms) */
} softent_train_tensor;

SOFTENT_API int softent_gpt2_trainer_n_tensors(const softent_gpt2_trainer *t);
SOFTENT_API int softent_gpt2_trainer_tensor(softent_gpt2_trainer *t, int index, softent_train_tensor *out);

/* ---- files ------------------------------------------------------------------ */

/* Write dir/config.json and dir/model.safetensors (F32, HF GPT-2 names, no
 * lm_head: tied).  dir must exist; each file appears whole (temp + rename). */
SOFTENT_API int softent_gpt2_trainer_save_hf(const softent_gpt2_trainer *t, const char *dir);

/* What a run keeps beside the trainer to resume exactly. */
typedef struct {
    uint64_t data_hash;     /* of the token stream */
    int64_t n_tokens;       /* in the token stream */
    int64_t log_bytes;      /* length of the run's loss log when saved */
    double elapsed_s;       /* training time so far */
} softent_train_resume;

/* The whole training state (settings, step, parameters, AdamW moments) and
 * `run`, written to path.tmp and renamed over path, so that path is always
 * a complete state. */
SOFTENT_API int softent_gpt2_trainer_save_state(const softent_gpt2_trainer *t, const softent_train_resume *run, const char *path);
/* A trainer from a state file; a truncated, corrupt or foreign file is
 * refused (SOFTENT_E_FORMAT, naming it). */
SOFTENT_API int softent_gpt2_trainer_load_state(softent_gpt2_trainer **out, softent_train_resume *run, const char *path);

#ifdef __cplusplus
}
#endif
#endif
