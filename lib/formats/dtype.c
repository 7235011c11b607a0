/* dtype.c - element type names, sizes and conversion to float32 (see dtype.h). */
#include "dtype.h"

/* Indexed by softent_dtype: the NumPy name (softent_dtype_name), the
 * safetensors spelling and the element size. */
static const struct {
    const char *name, *st;
    int size;
} types[] = {
    [SOFTENT_F16] = {"float16", "F16", 2},       [SOFTENT_BF16] = {"bfloat16", "BF16", 2},
    [SOFTENT_F32] = {"float32", "F32", 4},       [SOFTENT_F64] = {"float64", "F64", 8},
    [SOFTENT_I32] = {"int32", "I32", 4},         [SOFTENT_I64] = {"int64", "I64", 8},
    [SOFTENT_I8] = {"int8", "I8", 1},            [SOFTENT_U8] = {"uint8", "U8", 1},
    [SOFTENT_I16] = {"int16", "I16", 2},         [SOFTENT_U16] = {"uint16", "U16", 2},
    [SOFTENT_U32] = {"uint32", "U32", 4},        [SOFTENT_U64] = {"uint64", "U64", 8},
    [SOFTENT_BOOL] = {"bool", "BOOL", 1},        [SOFTENT_F8_E4M3] = {"float8_e4m3", "F8_E4M3", 1},
    [SOFTENT_F8_E5M2] = {"float8_e5m2", "F8_E5M2", 1},
    [SOFTENT_UNKNOWN] = {"unknown", NULL, 0},
};
#define N_TYPES (int)(sizeof types / sizeof types[0])

const char *softent_dtype_name(softent_dtype t)
{
    return (unsigned)t < (unsigned)N_TYPES && types[t].name ? types[t].name : "unknown";
}

int se_dtype_size(softent_dtype t)
{
    return (unsigned)t < (unsigned)N_TYPES ? types[t].size : 0;
}

const char *se_dtype_st_name(softent_dtype t)
{
    return (unsigned)t < (unsigned)N_TYPES ? types[t].st : NULL;
}

softent_dtype se_dtype_from_st(const char *s)
{
    for (int t = 0; t < N_TYPES; t++)
        if (types[t].st && !strcmp(s, types[t].st)) return (softent_dtype)t;
    return SOFTENT_UNKNOWN;
}

int se_dtype_is_float(softent_dtype t)
{
    return t == SOFTENT_F16 || t == SOFTENT_BF16 || t == SOFTENT_F32 || t == SOFTENT_F64;
}

void se_dtype_to_f32(float *dst, const void *src, int64_t n, softent_dtype t)
{
    const unsigned char *s = src;
    /* one loop per type, so that each vectorises */
    switch (t) {
    case SOFTENT_F32:
        memcpy(dst, s, (size_t)n * 4);
        break;
    case SOFTENT_F16:
        for (int64_t i = 0; i < n; i++) { uint16_t h; memcpy(&h, s + 2 * i, 2); dst[i] = se_f16_to_f32(h); }
        break;
    case SOFTENT_BF16:
        for (int64_t i = 0; i < n; i++) { uint16_t h; memcpy(&h, s + 2 * i, 2); dst[i] = se_bf16_to_f32(h); }
        break;
    case SOFTENT_F64:
        for (int64_t i = 0; i < n; i++) { double x; memcpy(&x, s + 8 * i, 8); dst[i] = (float)x; }
        break;
    default:
        break;
    }
}
