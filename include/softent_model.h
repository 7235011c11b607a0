/*
 * softent_model.h - Hugging Face causal language models (gpt2, llama,
 * mistral, qwen2, qwen3, olmo2, gemma, gemma2, gemma3 text, phi3,
 * gpt_neox) loaded from a model directory or a GGUF file and run forward
 * over one sequence (prefill only), handing out every hidden state in
 * transformers' output_hidden_states convention.
 *
 * Weights are memory-mapped in their stored dtype (F32, F16, BF16, GGUF's
 * quantized types) and converted to float32 one layer at a time, so a
 * forward pass needs about the weights as stored + one layer in float32 +
 * activations.  The arithmetic is float32 (OpenBLAS sgemm, OpenMP
 * threads), or with softent_model_set_compute the weight products in bf16
 * (oneDNN on the CPU's AMX / AVX512-BF16 units, float32 accumulation), the
 * default for bf16 checkpoints on CPUs that have those units
 * (docs/models.md).
 *
 * Same conventions as softent.h: status codes, softent_last_error() for a
 * one-line detail that names the file or tensor, no printing.
 */
#ifndef SOFTENT_MODEL_H
#define SOFTENT_MODEL_H

#include <stdint.h>

#include "softent.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct softent_model softent_model;

/* dir holds config.json and model.safetensors, or a sharded
 * model.safetensors.index.json with its shards; or dir is a .gguf file
 * (llama, qwen2, qwen3, olmo2, phi3, gpt2, gptneox, gemma, gemma2, gemma3;
 * docs/gguf.md), its metadata the config.  Every tensor the
 * architecture needs is looked up and its shape and dtype checked here. */
SOFTENT_API int softent_model_load(softent_model **out, const char *dir);
SOFTENT_API void softent_model_free(softent_model *model);

typedef struct {
    char arch[32];           /* config.json's model_type */
    int n_layers, d_model, n_heads, n_kv_heads, head_dim, d_ff, vocab_size, max_positions;
} softent_model_config;

SOFTENT_API int softent_model_get_config(const softent_model *model, softent_model_config *out);

/* The arithmetic of the weight products (q, k, v, o, the MLP's); norms,
 * RoPE, attention, activations and the lm_head are float32 in both. */
typedef enum {
    SOFTENT_COMPUTE_AUTO = 0,  /* BF16 for a checkpoint stored in bf16 when the CPU multiplies
                                * bf16 natively (AVX512-BF16 or AMX), else F32; what a load picks */
    SOFTENT_COMPUTE_F32 = 1,   /* float32 products (sgemm), as transformers runs a float32 model */
    SOFTENT_COMPUTE_BF16 = 2,  /* weights and the products' inputs rounded to bf16, float32 accumulation:
                                * as transformers' bf16 matmuls, with float32 everywhere else.
                                * Weights not stored as bf16 are rounded once, here, into a copy. */
} softent_compute;

/* Choose the products' arithmetic (AUTO: as a load chooses). */
SOFTENT_API int softent_model_set_compute(softent_model *model, softent_compute compute);
/* SOFTENT_COMPUTE_F32 or SOFTENT_COMPUTE_BF16: what the model runs now. */
SOFTENT_API softent_compute softent_model_get_compute(const softent_model *model);

/* Called once per hidden state, in order, as soon as it exists:
 * layer 0 = the embedding output, layer i = the output of block i, and the
 * last (layer n_layers) AFTER the final norm, as transformers returns them.
 * h [n, d] is only valid during the call.  A nonzero return stops the pass. */
typedef int (*softent_hidden_fn)(int layer, const float *h, int64_t n, int64_t d, void *user);

/* One sequence of n >= 1 token ids at positions 0..n-1, causal attention.
 * on_hidden may be NULL; logits [n, vocab] may be NULL.  Returns the
 * callback's nonzero value when it stops the pass.  A model runs one
 * forward pass at a time (it owns the scratch buffers). */
SOFTENT_API int softent_model_forward(softent_model *model, const int32_t *tokens /* [n] */, int64_t n,
                                      softent_hidden_fn on_hidden, void *user, float *logits /* [n, vocab] */);

#ifdef __cplusplus
}
#endif
#endif
