/*
 * dtype.h - the element types of the files softent reads (softent_dtype,
 * include/softent_io.h): their names, sizes, the safetensors spelling, and
 * the one conversion of float16/bfloat16/float64 elements to float32 that
 * both the embedding reader (matrix.c) and the model weights (model/
 * weights.c) use.
 */
#ifndef SOFTENT_FORMATS_DTYPE_H
#define SOFTENT_FORMATS_DTYPE_H

#include <stdint.h>
#include <string.h>

#include "softent_io.h"

/* Bytes per element; 0 for SOFTENT_UNKNOWN (whose size nothing checks). */
int se_dtype_size(softent_dtype t);

/* The safetensors header's spelling ("F32", "BF16", "I8", ...), or NULL. */
const char *se_dtype_st_name(softent_dtype t);

/* The dtype a safetensors header calls s; SOFTENT_UNKNOWN when softent does
 * not know it (then the tensor can be indexed but never converted). */
softent_dtype se_dtype_from_st(const char *s);

/* Whether se_dtype_to_f32 converts t (F16, BF16, F32, F64). */
int se_dtype_is_float(softent_dtype t);

/* Half precision without branches (so that loops over it vectorise): the
 * exponent and mantissa shifted into a float's place read as the value
 * times 2^-112, exactly, subnormals included; infinities and NaNs get the
 * float's all-ones exponent. */
static inline float se_f16_to_f32(uint16_t h)
{
    uint32_t em = h & 0x7fffu, bits = em << 13;
    float f;
    memcpy(&f, &bits, sizeof f);
    f *= 0x1p112f;
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u = em >= 0x7c00u ? (bits | 0x7f800000u) : u;
    u |= (uint32_t)(h & 0x8000u) << 16;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* bfloat16 is the top half of a float32. */
static inline float se_bf16_to_f32(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* dst [n] = the n little-endian elements of type t at src (any alignment),
 * as float32.  t must be a float dtype (se_dtype_is_float); single-threaded. */
void se_dtype_to_f32(float *dst, const void *src, int64_t n, softent_dtype t);

#endif
