/*
 * softent_gguf.h - GGUF files (llama.cpp's model format, versions 2 and 3):
 * their metadata and tensors, read in place from a read-only mapping, and
 * ggml's block-quantised tensor types dequantised to float32 as ggml's own
 * dequantize_row_* does, bit for bit.
 *
 * Every size, count, offset and length in the file is checked against the
 * file's size and the format's limits when it is opened, before anything is
 * allocated or read (docs/gguf.md lists the rules); a file that breaks one
 * is refused with SOFTENT_E_FORMAT naming the key or tensor.  Same
 * conventions as softent.h: status codes, softent_last_error(), no printing.
 */
#ifndef SOFTENT_GGUF_H
#define SOFTENT_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "softent.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ggml's tensor types, by their numbers in the file. */
typedef enum {
    SOFTENT_GGML_F32 = 0, SOFTENT_GGML_F16 = 1, SOFTENT_GGML_Q4_0 = 2, SOFTENT_GGML_Q4_1 = 3,
    SOFTENT_GGML_Q5_0 = 6, SOFTENT_GGML_Q5_1 = 7, SOFTENT_GGML_Q8_0 = 8, SOFTENT_GGML_Q8_1 = 9,
    SOFTENT_GGML_Q2_K = 10, SOFTENT_GGML_Q3_K = 11, SOFTENT_GGML_Q4_K = 12, SOFTENT_GGML_Q5_K = 13,
    SOFTENT_GGML_Q6_K = 14, SOFTENT_GGML_Q8_K = 15, SOFTENT_GGML_BF16 = 30
} softent_ggml_type;

/* The type's name ("Q8_0", "IQ2_XXS", ...; "unknown" past ggml's list). */
SOFTENT_API const char *softent_ggml_type_name(int type);
/* Whether softent dequantises the type: F32, F16, BF16, Q4_0, Q4_1, Q5_0,
 * Q5_1, Q8_0, Q2_K .. Q6_K. */
SOFTENT_API int softent_ggml_type_supported(int type);
/* Elements per block and bytes per block (1 and the element size for
 * F32/F16/BF16); 0 for a type ggml does not define. */
SOFTENT_API int64_t softent_ggml_block_elems(int type);
SOFTENT_API int64_t softent_ggml_block_bytes(int type);
/* n elements (a whole number of blocks) of a supported type at src, as
 * float32 dst [n]. */
SOFTENT_API int softent_ggml_dequantize(int type, const void *src, float *dst, int64_t n);

/* Metadata value types, by their numbers in the file. */
typedef enum {
    SOFTENT_GGUF_U8 = 0, SOFTENT_GGUF_I8 = 1, SOFTENT_GGUF_U16 = 2, SOFTENT_GGUF_I16 = 3,
    SOFTENT_GGUF_U32 = 4, SOFTENT_GGUF_I32 = 5, SOFTENT_GGUF_F32 = 6, SOFTENT_GGUF_BOOL = 7,
    SOFTENT_GGUF_STRING = 8, SOFTENT_GGUF_ARRAY = 9, SOFTENT_GGUF_U64 = 10, SOFTENT_GGUF_I64 = 11,
    SOFTENT_GGUF_F64 = 12
} softent_gguf_type;

typedef struct softent_gguf softent_gguf;

/* Open, map and validate path.  *out is freed with softent_gguf_close. */
SOFTENT_API int softent_gguf_open(softent_gguf **out, const char *path);
SOFTENT_API void softent_gguf_close(softent_gguf *g);
SOFTENT_API int softent_gguf_version(const softent_gguf *g);

/* ---- metadata ----------------------------------------------------------- */

SOFTENT_API int64_t softent_gguf_n_keys(const softent_gguf *g);
/* Key i's name (NUL-terminated, owned by g) and type; for an array, the
 * element type and count too (else *elem_type = -1, *n = 1). */
SOFTENT_API const char *softent_gguf_key(const softent_gguf *g, int64_t i, int *type, int *elem_type, int64_t *n);
/* Index of a key, or -1. */
SOFTENT_API int64_t softent_gguf_find_key(const softent_gguf *g, const char *name);
/* Element j of key i (j = 0 for a scalar), converted: any integer or bool
 * to int64 (a u64 above INT64_MAX is SOFTENT_E_INVALID), any number to
 * double, a string as bytes and length (not NUL-terminated; owned by g).
 * A type that does not convert is SOFTENT_E_INVALID naming the key. */
SOFTENT_API int softent_gguf_get_int(const softent_gguf *g, int64_t i, int64_t j, int64_t *v);
SOFTENT_API int softent_gguf_get_float(const softent_gguf *g, int64_t i, int64_t j, double *v);
SOFTENT_API int softent_gguf_get_string(const softent_gguf *g, int64_t i, int64_t j, const char **s, size_t *len);

/* ---- tensors ------------------------------------------------------------ */

typedef struct {
    const char *name;    /* NUL-terminated, owned by g */
    int type;            /* softent_ggml_type (or another of ggml's numbers) */
    int n_dims;          /* 1..4 */
    int64_t ne[4];       /* ggml's order: ne[0] the contiguous (row) length; unused ones 1 */
    int64_t n_elements;
    int64_t n_bytes;
    const void *data;    /* in the mapping, aligned to the file's alignment */
} softent_gguf_tensor;

SOFTENT_API int64_t softent_gguf_n_tensors(const softent_gguf *g);
SOFTENT_API int softent_gguf_tensor_info(const softent_gguf *g, int64_t i, softent_gguf_tensor *t);
/* Index of a tensor, or -1. */
SOFTENT_API int64_t softent_gguf_find_tensor(const softent_gguf *g, const char *name);
/* Rows row0 .. row0 + n - 1 of tensor i (a row is ne[0] elements) as
 * float32 out [n, ne[0]]; an unsupported type is SOFTENT_E_FORMAT naming
 * it and the tensor. */
SOFTENT_API int softent_gguf_read_rows(const softent_gguf *g, int64_t i, int64_t row0, int64_t n, float *out);

/* ---- tokenizer ---------------------------------------------------------- */

/* The file's tokenizer (tokenizer.ggml.*) as the tokenizer.json Hugging Face
 * publishes for it, for softent_tokenizer_load_json: byte-level BPE
 * ("gpt2") with the pre-tokenizers docs/gguf.md lists, SentencePiece
 * ("llama") and WordPiece ("bert"); others are SOFTENT_E_FORMAT naming
 * them.  *json is
 * malloc'ed; path names the file in messages. */
SOFTENT_API int softent_gguf_tokenizer_json(const softent_gguf *g, const char *path, char **json);

#ifdef __cplusplus
}
#endif
#endif
