/*
 * model.h - the layout of a loaded model, shared by model.c (binding the
 * checkpoint's tensors, converting a layer to float32) and forward.c (the
 * transformer forward pass).
 *
 * Every layer's tensors sit in the mapped files in their stored dtype.
 * Before a layer runs, se_model_load_layer() makes each of its weights
 * usable as float32: F32 weights in place, the others converted into
 * `wbuf`, one buffer reused by every layer (and, in chunks of rows, by the
 * lm_head).  When the products are bf16 (matmul.h) the weight matrices
 * are instead used as bf16: BF16 tensors in place, the others converted
 * once, at se_model_set_compute, into `w16`; the vectors (norms, biases)
 * stay float32 as above.
 */
#ifndef SOFTENT_MODEL_INTERNAL_H
#define SOFTENT_MODEL_INTERNAL_H

#include "common/matmul.h"
#include "model_config.h"
#include "softent_model.h"
#include "weights.h"

/* A layer's weights.  Names are the llama family's; gpt2 keeps its fused
 * c_attn [d, 3d] in W_Q, c_fc in W_GATE and mlp.c_proj in W_DOWN; gpt_neox
 * its query_key_value [3d, d] in W_Q, dense_h_to_4h in W_GATE and
 * dense_4h_to_h in W_DOWN.  With post_norm (olmo2, gemma2) a norm
 * follows attention and the MLP (W_*_POST_NORM); gemma2 keeps the norms
 * before them too, olmo2 has none. */
enum {
    W_ATTN_NORM, W_ATTN_NORM_B,  /* [d] */
    W_Q, W_Q_B,                  /* [H*hd, d], [H*hd]  (gpt2: [d, 3d], [3d]) */
    W_K, W_K_B,                  /* [KV*hd, d], [KV*hd] */
    W_V, W_V_B,                  /* [KV*hd, d], [KV*hd] */
    W_O, W_O_B,                  /* [d, H*hd], [d]  (gpt2: [d, d]) */
    W_Q_NORM, W_K_NORM,          /* qwen3: [hd], [hd]; olmo2: [H*hd], [KV*hd] */
    W_MLP_NORM, W_MLP_NORM_B,    /* [d] */
    W_ATTN_POST_NORM, W_MLP_POST_NORM, /* [d] after the sublayers (post_norm: olmo2, gemma2) */
    W_GATE, W_GATE_B,            /* [ff, d] (gpt2 c_fc: [d, ff], [ff]) */
    W_UP, W_UP_B,                /* [ff, d] */
    W_DOWN, W_DOWN_B,            /* [d, ff] (gpt2: [ff, d]), [d] */
    W_COUNT
};

typedef struct {
    const se_st_tensor *t;   /* NULL: this architecture has no such weight */
    int64_t buf_off;         /* where it is converted in wbuf; -1: used in place */
    const float *f32;        /* its float32 data, valid while its layer is loaded */
    const uint16_t *bf16;    /* a matrix's bf16 data when the products are bf16, else NULL */
} se_weight;

typedef struct {
    se_weight w[W_COUNT];
} se_layer;

/* The forward pass's activations for n tokens: one allocation, carved. */
typedef struct {
    int64_t n_cap, threads_cap;
    float *mem;
    float *x;                /* [n, d] the residual stream */
    float *xb;               /* [n, d] normed input of a sublayer; the final norm */
    float *qkv;              /* [n, 3*H*hd] gpt_neox's fused projection, before it is split */
    float *q;                /* [n, H*hd] */
    float *k, *v;            /* [n, KV*hd] */
    float *att;              /* [n, H*hd] attention output, heads side by side */
    float *hb, *hb2;         /* [n, ff] MLP hidden (gate, up) */
    float *out;              /* [n, d] a sublayer's output before its post-norm */
    float *rope_cos, *rope_sin; /* [n, rotary_dim/2] */
    float *scores;           /* [threads, SE_ATT_BLOCK, n] attention weights of a query block */
    uint16_t *x16;           /* [n, max(d, H*hd, ff)] a product's input rounded to bf16 (bf16 products only) */
} se_run_state;

#define SE_ATT_BLOCK 32      /* queries per attention task */

struct softent_model {
    se_model_config c;
    se_st_model *st;
    const se_st_tensor *embed;   /* [vocab, d] */
    const se_st_tensor *pos;     /* [max_pos, d] gpt2's learned positions, else NULL */
    const se_st_tensor *lm_head; /* [vocab, d] (the embedding when tied) */
    float *final_norm;           /* [2, d] weight, bias (bias: LayerNorm only) */
    float *inv_freq;             /* [rotary_dim/2] RoPE frequencies after scaling; [3, rotary_dim/2]: the frequencies (longrope's short), longrope's long, gemma3's local */
    se_layer *layers;            /* [n_layers] */
    float *wbuf;                 /* [wbuf_len] the converted layer / lm_head chunk */
    int64_t wbuf_len;
    int64_t lm_chunk;            /* lm_head rows converted at a time (when not F32) */
    softent_compute compute;     /* SOFTENT_COMPUTE_F32 or _BF16: the products' arithmetic */
    se_matmul *mm;               /* oneDNN's state for the bf16 products; NULL in float32 */
    uint16_t *w16;               /* the weight matrices not stored as BF16, rounded to bf16; NULL if none */
    se_run_state s;
};

/* Make layer l's weights usable: as float32 (converting into wbuf), or
 * for the matrices, as bf16 when the products are. */
void se_model_load_layer(softent_model *m, int64_t l);

/* Whether slot is a weight matrix (a product's W), not a vector. */
static inline int se_slot_is_matrix(int slot)
{
    return slot == W_Q || slot == W_K || slot == W_V || slot == W_O || slot == W_GATE || slot == W_UP || slot == W_DOWN;
}

#endif
