/*
 * safetensors.h - the one reader and writer of .safetensors files: an
 * 8-byte little-endian header length, a JSON header {name: {dtype, shape,
 * data_offsets: [begin, end]}, "__metadata__": {...}}, then the data, the
 * offsets counted from the end of the header.
 *
 * Readers: the embedding matrix (softent_matrix_open, through
 * se_safetensors_find) and the model weights (model/weights.c), which maps
 * the file and indexes every tensor.  Writer: the trainer's checkpoints.
 */
#ifndef SOFTENT_FORMATS_SAFETENSORS_H
#define SOFTENT_FORMATS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "softent_io.h"

#define SE_ST_MAX_DIMS 8

/* One tensor of a header, validated: dims, element count and byte count
 * agree, and [begin, end) lies inside the data section. */
typedef struct {
    char *name;              /* owned by the array (se_safetensors_free) */
    softent_dtype dtype;     /* SOFTENT_UNKNOWN: a dtype softent does not know */
    char dtype_name[12];     /* as the header spells it ("F32", "I8", ...) */
    int ndim;
    int64_t shape[SE_ST_MAX_DIMS];
    int64_t numel;
    uint64_t begin, end;     /* byte offsets into the data section */
} se_st_entry;

/* The header length from a file's first 8 bytes (prefix; file_size may be
 * under 8, then prefix is not read), checked against the file's size and a
 * 100 MB bound.  The file starts with *hlen header bytes after the prefix. */
int se_safetensors_header_len(const char *path, const unsigned char *prefix, uint64_t file_size, uint64_t *hlen);

/* Parse a header's JSON (header [hlen] bytes, not NUL-terminated) for a
 * file whose data section holds data_len bytes.  only: parse just the
 * tensor of that name (so that a request for one is not refused for a
 * fault in another); NULL: every tensor.  *entries [*n] is malloc'ed,
 * in header order, without "__metadata__"; NULL when *n is 0. */
int se_safetensors_parse(const char *path, const char *header, size_t hlen, uint64_t data_len, const char *only,
                         se_st_entry **entries, int64_t *n);
void se_safetensors_free(se_st_entry *entries, int64_t n);

/* A float32 tensor to write: data [numel] is borrowed. */
typedef struct {
    const char *name;
    int ndim;
    int64_t shape[SE_ST_MAX_DIMS];
    const float *data;
} se_st_out;

/* Write tensors [n] to path atomically (common/fs.h), all F32, in the order
 * given, after "__metadata__": {meta_keys[i]: meta_values[i]} (left out
 * when n_meta is 0); the header is padded with spaces to a multiple of 8
 * bytes so that the data stays aligned. */
int se_safetensors_write(const char *path, const se_st_out *tensors, int n, const char *const *meta_keys,
                         const char *const *meta_values, int n_meta);

#endif
