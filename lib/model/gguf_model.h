/*
 * gguf_model.h - a GGUF model file (llama.cpp's format) as the loader sees
 * a Hugging Face directory: its metadata restated as config.json's fields,
 * and its tensors' names as transformers names them (gguf_model.c).
 */
#ifndef SOFTENT_MODEL_GGUF_MODEL_H
#define SOFTENT_MODEL_GGUF_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "model_config.h"
#include "weights.h"

struct softent_gguf;

/* Whether path names a GGUF file (by its suffix) rather than a model directory. */
int se_is_gguf_path(const char *path);

/* cfg from g's metadata ({arch}.block_count, .embedding_length, ...). */
int se_gguf_config(se_model_config *cfg, const struct softent_gguf *g, const char *path);

/* transformers' name of a GGUF tensor (token_embd.weight ->
 * model.embed_tokens.weight, blk.3.attn_q.weight ->
 * model.layers.3.self_attn.q_proj.weight, ...) into out [cap], for
 * model_type's layout; a name with no counterpart is kept as it is.
 * *rows: how the converter reordered its rows (llama's q and k, gpt_neox's
 * query_key_value, gpt2's transposed Conv1D weights), else
 * SE_ROWS_AS_STORED. */
void se_gguf_hf_name(const char *model_type, const char *name, int64_t n_heads, int64_t n_kv_heads, char *out, size_t cap,
                     se_rows *rows);

#endif
