/*
 * weights.h - the weights of a Hugging Face model directory, memory-mapped:
 * model.safetensors, or the shards named by model.safetensors.index.json.
 *
 * Tensors stay in the files in their stored dtype; the forward pass asks
 * for them by name (se_st_get, which checks shape and dtype and names the
 * tensor when either is wrong) and converts them to float32 as it needs
 * them (se_st_to_f32).  Only F32, F16 and BF16 are usable; other dtypes are
 * indexed (so that the header is validated) but refused at lookup.
 */
#ifndef SOFTENT_ST_MODEL_H
#define SOFTENT_ST_MODEL_H

#include <stdint.h>

#include "formats/safetensors.h"
#include "softent_io.h"

/* How a GGUF tensor's rows are stored against transformers' order (the
 * converter's reordering, undone in se_st_to_f32): llama's q/k rows of a
 * head as pairs (j, j + hd/2) for ggml's interleaved rotation; gpt_neox's
 * query_key_value as [q of every head; k ...; v ...], where transformers
 * has each head's q, k, v together; gpt2's Conv1D weights transposed (the
 * file has nn.Linear's [out, in], transformers Conv1D's [in, out]). */
typedef enum { SE_ROWS_AS_STORED, SE_ROWS_LLAMA_QK, SE_ROWS_NEOX_QKV, SE_ROWS_TRANSPOSED } se_row_order;
typedef struct {
    se_row_order order;
    int64_t heads;           /* the heads the reordering runs over */
} se_rows;

typedef struct {
    se_st_entry e;           /* name, dtype, shape, numel as the header has them; e.name owned by the index */
    const char *file;        /* the shard's path, for messages; owned by the index */
    const void *data;        /* into the mapping, e.numel elements */
    int ggml_type;           /* a GGUF tensor's ggml type (then dtype is SOFTENT_UNKNOWN
                              * for the block types), else -1 */
    se_rows rows;            /* a GGUF tensor's row order (SE_ROWS_AS_STORED: transformers') */
} se_st_tensor;

typedef struct se_st_model se_st_model;

/* Map dir/model.safetensors, or every shard of dir/model.safetensors.index.json
 * (which wins when both exist, as in transformers). */
int se_st_open(se_st_model **out, const char *dir);
/* A GGUF model's tensors under transformers' names and shapes (gguf_model.c
 * maps the names); g is taken over, also on failure. */
struct softent_gguf;
int se_st_open_gguf(se_st_model **out, struct softent_gguf *g, const char *path, const char *model_type, int64_t n_heads,
                    int64_t n_kv_heads);
void se_st_close(se_st_model *st);

/* The tensor called `name`, or NULL. */
const se_st_tensor *se_st_find(const se_st_model *st, const char *name);

/* The tensor called `name`, which must have exactly `ndim` dims of the
 * given `shape` and a float dtype (F32/F16/BF16); else a failure naming the
 * tensor, its file and what was expected. */
int se_st_get(const se_st_model *st, const char *name, int ndim, const int64_t *shape, const se_st_tensor **out);

/* Elements [first, first + n) of t, as float32, into dst [n] (threaded);
 * for a GGUF block type or a row-permuted tensor, whole rows. */
void se_st_to_f32(const se_st_tensor *t, int64_t first, int64_t n, float *dst);

/* The most softent reads of a model directory's JSON files (config.json,
 * the shard index) with se_read_file. */
#define SE_MAX_JSON_BYTES ((size_t)64 << 20)

/* Whether t's data can be used as float32 where it lies (F32, aligned). */
int se_st_is_f32(const se_st_tensor *t);
/* Whether t's data can be used as bf16 where it lies (BF16 in transformers'
 * row order, aligned). */
int se_st_is_bf16(const se_st_tensor *t);
/* Drop t's mapped pages from memory (whole pages inside it): its data has
 * been converted and is not read again soon; a later read maps it back in
 * from the file. */
void se_st_release(const se_st_tensor *t);

#endif
