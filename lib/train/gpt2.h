/*
 * gpt2_train.h - the GPT-2 that softent trains: one buffer of parameters
 * (and one of their gradients) with the tensors carved out of it, one
 * buffer of activations kept for the backward pass, and the hand-written
 * forward and backward passes (gpt2_train.c).  The optimizer, schedule and
 * files are the trainer's (train.c, train_io.c).
 *
 * Letters in shapes: B batch rows, T positions, C = d_model, NH heads,
 * hs = C / NH, V vocabulary, L layers, maxT = context.  Weight matrices
 * are stored in Hugging Face's Conv1D layout [in, out] (y = x W + b), so a
 * checkpoint is each tensor copied as it is.
 */
#ifndef SOFTENT_GPT2_TRAIN_H
#define SOFTENT_GPT2_TRAIN_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int L, C, NH, maxT, V;
} se_gpt2_config;

#define SE_GPT2_NUM_PARAMS 16
typedef struct {
    float *wte;       /* [V, C] token embeddings, also the lm_head */
    float *wpe;       /* [maxT, C] position embeddings */
    float *ln1w;      /* [L, C] */
    float *ln1b;      /* [L, C] */
    float *qkvw;      /* [L, C, 3C] query, key, value side by side */
    float *qkvb;      /* [L, 3C] */
    float *attprojw;  /* [L, C, C] */
    float *attprojb;  /* [L, C] */
    float *ln2w;      /* [L, C] */
    float *ln2b;      /* [L, C] */
    float *fcw;       /* [L, C, 4C] */
    float *fcb;       /* [L, 4C] */
    float *fcprojw;   /* [L, 4C, C] */
    float *fcprojb;   /* [L, C] */
    float *lnfw;      /* [C] */
    float *lnfb;      /* [C] */
} se_gpt2_params;

/* What the backward pass needs from the forward, for up to B x maxT tokens
 * (a smaller forward uses the front of each tensor). */
typedef struct {
    float *encoded;   /* [B, T, C] wte + wpe: the residual entering block 0 */
    float *ln1;       /* [L, B, T, C] */
    float *ln1_mean;  /* [L, B, T] */
    float *ln1_rstd;  /* [L, B, T] */
    float *qkv;       /* [L, B, T, 3C] */
    float *att;       /* [L, B, NH, T, T] causal softmax weights (row t: columns 0..t) */
    float *atty;      /* [L, B, T, C] attention output, heads side by side */
    float *residual2; /* [L, B, T, C] the residual after attention */
    float *ln2;       /* [L, B, T, C] */
    float *ln2_mean;  /* [L, B, T] */
    float *ln2_rstd;  /* [L, B, T] */
    float *fch;       /* [L, B, T, 4C] before GELU */
    float *fch_gelu;  /* [L, B, T, 4C] */
    float *residual3; /* [L, B, T, C] the block's output */
    float *lnf;       /* [B, T, C] */
    float *lnf_mean;  /* [B, T] */
    float *lnf_rstd;  /* [B, T] */
    float *logits;    /* [B, T, V]; after a forward for backward, d loss / d logits */
    float *losses;    /* [B, T] */
} se_gpt2_acts;

/* Gradients of activations: the backward pass goes down one block at a
 * time, so one block's worth is enough. */
typedef struct {
    float *dresidual; /* [B, T, C] d loss / d residual stream, flowing down */
    float *dln;       /* [B, T, C] at a LayerNorm's output */
    float *datty;     /* [B, T, C] */
    float *dqkv;      /* [B, T, 3C] */
    float *datt;      /* [B, NH, T, T] scratch of attention's backward */
    float *dfch;      /* [B, T, 4C] at GELU's output, then at its input */
} se_gpt2_grad_acts;

typedef struct {
    se_gpt2_config c;
    int B;                    /* rows the activations hold */
    size_t param_sizes[SE_GPT2_NUM_PARAMS];
    size_t num_params;
    float *params_memory;     /* [num_params] */
    se_gpt2_params params;
    float *grads_memory;      /* [num_params] */
    se_gpt2_params grads;
    float *acts_memory;
    se_gpt2_acts acts;
    float *grad_acts_memory;
    se_gpt2_grad_acts gacts;
    int32_t *inputs;          /* [B, maxT] the last forward's tokens, for the backward */
    int last_B, last_T;       /* shape of the last forward; 0 when none */
    int backward_ready;       /* the last forward left d loss / d logits */
} se_gpt2;

/* The parameter count of a GPT-2 of config c, without allocating it. */
size_t se_gpt2_num_params(const se_gpt2_config *c);

/* Allocate for B rows of up to c->maxT tokens. */
int se_gpt2_init(se_gpt2 *m, const se_gpt2_config *c, int B);
void se_gpt2_free(se_gpt2 *m);
/* The parameter tensors in buffer order: base pointer into params (or
 * grads) of tensor i. */
float *se_gpt2_param_tensor(se_gpt2_params *p, int i);

/* The forward pass over B rows of T tokens [B, T].  With targets, fills
 * acts.losses and returns the mean loss in *loss (double sum); with
 * for_backward also, turns the logits into d loss / d logits for
 * se_gpt2_backward.  Without targets the logits stay in acts.logits. */
void se_gpt2_forward(se_gpt2 *m, const int32_t *inputs, const int32_t *targets, int B, int T,
                     int for_backward, double *loss);
/* Gradients of the last forward's mean loss into grads (overwritten). */
void se_gpt2_backward(se_gpt2 *m);

#endif
