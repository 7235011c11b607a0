/*
 * ggml_types.c - ggml's tensor types: their names and block shapes (every
 * type ggml defines, so that any GGUF file's tensor sizes can be checked),
 * and float32 from the block-quantised types softent reads.  Each block
 * format is decoded as its layout in ggml-common.h defines it, computing
 * each value as ggml's dequantize_row_* does (the same float operations in
 * the same order, so the results are the same bits; tests/test_gguf.py
 * checks every type against libggml-base).
 */
#include <string.h>

#include "common/error.h"
#include "dtype.h"
#include "softent_gguf.h"

typedef struct {
    const char *name;
    int64_t elems, bytes; /* per block; 0: a number ggml does not use */
} type_traits;

#define QK_K 256
static const type_traits TRAITS[] = {
    [0] = {"F32", 1, 4}, [1] = {"F16", 1, 2}, [2] = {"Q4_0", 32, 18}, [3] = {"Q4_1", 32, 20},
    [6] = {"Q5_0", 32, 22}, [7] = {"Q5_1", 32, 24}, [8] = {"Q8_0", 32, 34}, [9] = {"Q8_1", 32, 36},
    [10] = {"Q2_K", QK_K, 84}, [11] = {"Q3_K", QK_K, 110}, [12] = {"Q4_K", QK_K, 144}, [13] = {"Q5_K", QK_K, 176},
    [14] = {"Q6_K", QK_K, 210}, [15] = {"Q8_K", QK_K, 292}, [16] = {"IQ2_XXS", QK_K, 66}, [17] = {"IQ2_XS", QK_K, 74},
    [18] = {"IQ3_XXS", QK_K, 98}, [19] = {"IQ1_S", QK_K, 50}, [20] = {"IQ4_NL", 32, 18}, [21] = {"IQ3_S", QK_K, 110},
    [22] = {"IQ2_S", QK_K, 82}, [23] = {"IQ4_XS", QK_K, 136}, [24] = {"I8", 1, 1}, [25] = {"I16", 1, 2},
    [26] = {"I32", 1, 4}, [27] = {"I64", 1, 8}, [28] = {"F64", 1, 8}, [29] = {"IQ1_M", QK_K, 56},
    [30] = {"BF16", 1, 2}, [34] = {"TQ1_0", QK_K, 54}, [35] = {"TQ2_0", QK_K, 66}, [39] = {"MXFP4", 32, 17},
    [40] = {"NVFP4", 64, 36}, [41] = {"Q1_0", 128, 18}, [42] = {"Q2_0", 64, 18},
};
#define N_TYPES ((int)(sizeof TRAITS / sizeof *TRAITS))

static const type_traits *traits(int type)
{
    return type >= 0 && type < N_TYPES && TRAITS[type].elems ? &TRAITS[type] : NULL;
}

const char *softent_ggml_type_name(int type)
{
    const type_traits *t = traits(type);
    return t ? t->name : "unknown";
}

int64_t softent_ggml_block_elems(int type) { return traits(type) ? traits(type)->elems : 0; }
int64_t softent_ggml_block_bytes(int type) { return traits(type) ? traits(type)->bytes : 0; }

int softent_ggml_type_supported(int type)
{
    switch (type) {
    case SOFTENT_GGML_F32: case SOFTENT_GGML_F16: case SOFTENT_GGML_BF16: case SOFTENT_GGML_Q4_0: case SOFTENT_GGML_Q4_1:
    case SOFTENT_GGML_Q5_0: case SOFTENT_GGML_Q5_1: case SOFTENT_GGML_Q8_0: case SOFTENT_GGML_Q2_K: case SOFTENT_GGML_Q3_K:
    case SOFTENT_GGML_Q4_K: case SOFTENT_GGML_Q5_K: case SOFTENT_GGML_Q6_K:
        return 1;
    }
    return 0;
}

static float half(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return se_f16_to_f32(h);
}

/* ---- 32-element blocks: a scale d (and a minimum m), 4, 5 or 8 bits ------ */

/* Q4_0: d, 16 bytes of nibbles; low nibbles are elements 0..15, high 16..31, minus 8. */
static void q4_0(const uint8_t *b, float *y)
{
    const float d = half(b);
    const uint8_t *qs = b + 2;
    for (int j = 0; j < 16; j++) {
        const int lo = (qs[j] & 0x0F) - 8, hi = (qs[j] >> 4) - 8;
        y[j] = lo * d, y[j + 16] = hi * d;
    }
}

/* Q4_1: d, m, nibbles as Q4_0 without the offset, plus m. */
static void q4_1(const uint8_t *b, float *y)
{
    const float d = half(b), m = half(b + 2);
    const uint8_t *qs = b + 4;
    for (int j = 0; j < 16; j++) {
        const int lo = qs[j] & 0x0F, hi = qs[j] >> 4;
        y[j] = lo * d + m, y[j + 16] = hi * d + m;
    }
}

/* The fifth bits of a Q5 block: bit j of the 32-bit qh is element j's. */
static uint32_t fifth_bits(const uint8_t *p)
{
    uint32_t qh;
    memcpy(&qh, p, 4);
    return qh;
}

/* Q5_0: d, qh, nibbles; each 5-bit value minus 16. */
static void q5_0(const uint8_t *b, float *y)
{
    const float d = half(b);
    const uint32_t qh = fifth_bits(b + 2);
    const uint8_t *qs = b + 6;
    for (int j = 0; j < 16; j++) {
        const int lo = ((qs[j] & 0x0F) | (int)(((qh >> j) << 4) & 0x10)) - 16;
        const int hi = ((qs[j] >> 4) | (int)((qh >> (j + 12)) & 0x10)) - 16;
        y[j] = lo * d, y[j + 16] = hi * d;
    }
}

/* Q5_1: d, m, qh, nibbles; each 5-bit value times d plus m. */
static void q5_1(const uint8_t *b, float *y)
{
    const float d = half(b), m = half(b + 2);
    const uint32_t qh = fifth_bits(b + 4);
    const uint8_t *qs = b + 8;
    for (int j = 0; j < 16; j++) {
        const int lo = (qs[j] & 0x0F) | (int)(((qh >> j) << 4) & 0x10);
        const int hi = (qs[j] >> 4) | (int)((qh >> (j + 12)) & 0x10);
        y[j] = lo * d + m, y[j + 16] = hi * d + m;
    }
}

/* Q8_0: d, 32 signed bytes. */
static void q8_0(const uint8_t *b, float *y)
{
    const float d = half(b);
    const int8_t *qs = (const int8_t *)(b + 2);
    for (int j = 0; j < 32; j++) y[j] = qs[j] * d;
}

/* ---- 256-element super-blocks (the K-quants) ------------------------------ */

/* Q2_K: scales[16] (low nibble a 16-element group's scale, high its
 * minimum), qs[64] (2 bits an element), d, dmin. */
static void q2_k(const uint8_t *b, float *y)
{
    const uint8_t *scales = b, *q = b + 16;
    const float d = half(b + 80), min = half(b + 82);
    int is = 0;
    for (int n = 0; n < QK_K; n += 128, q += 32)
        for (int shift = 0; shift < 8; shift += 2)
            for (int half16 = 0; half16 < 2; half16++) {
                const uint8_t sc = scales[is++];
                const float dl = d * (sc & 0xF), ml = min * (sc >> 4);
                for (int l = 0; l < 16; l++) *y++ = dl * ((int8_t)((q[l + 16 * half16] >> shift) & 3)) - ml;
            }
}

/* Q3_K: hmask[32] (each element's third bit, set meaning "no -4"),
 * qs[64] (2 bits), scales[12] (sixteen 6-bit scales, offset 32), d. */
static void q3_k(const uint8_t *b, float *y)
{
    const uint8_t *hm = b, *q = b + 32;
    const float d_all = half(b + 108);
    uint32_t aux[4];
    memcpy(aux, b + 96, 12);
    /* the 6-bit scales: low 4 bits from the first 8 bytes, high 2 from the last 4 */
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f, tmp = aux[2];
    aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
    aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
    int8_t scales[16];
    memcpy(scales, aux, 16);
    int is = 0;
    uint8_t m = 1;
    for (int n = 0; n < QK_K; n += 128, q += 32)
        for (int shift = 0; shift < 8; shift += 2, m <<= 1)
            for (int half16 = 0; half16 < 2; half16++) {
                const float dl = d_all * (scales[is++] - 32);
                const int o = 16 * half16;
                for (int l = 0; l < 16; l++) *y++ = dl * ((int8_t)((q[l + o] >> shift) & 3) - ((hm[l + o] & m) ? 0 : 4));
            }
}

/* The j-th 6-bit scale and minimum of a Q4_K/Q5_K block's 12 scale bytes. */
static void scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m)
{
    if (j < 4) {
        *d = q[j] & 63, *m = q[j + 4] & 63;
    } else {
        *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* Q4_K: d, dmin, scales[12], qs[128]: eight 32-element groups, each d *
 * scale * nibble - dmin * min. */
static void q4_k(const uint8_t *b, float *y)
{
    const float d = half(b), min = half(b + 2);
    const uint8_t *scales = b + 4, *q = b + 16;
    for (int j = 0, is = 0; j < QK_K; j += 64, q += 32, is += 2) {
        uint8_t sc, m;
        scale_min_k4(is, scales, &sc, &m);
        const float d1 = d * sc, m1 = min * m;
        scale_min_k4(is + 1, scales, &sc, &m);
        const float d2 = d * sc, m2 = min * m;
        for (int l = 0; l < 32; l++) *y++ = d1 * (q[l] & 0xF) - m1;
        for (int l = 0; l < 32; l++) *y++ = d2 * (q[l] >> 4) - m2;
    }
}

/* Q5_K: Q4_K with a fifth bit per element in qh[32]. */
static void q5_k(const uint8_t *b, float *y)
{
    const float d = half(b), min = half(b + 2);
    const uint8_t *scales = b + 4, *qh = b + 16, *ql = b + 48;
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0, is = 0; j < QK_K; j += 64, ql += 32, is += 2, u1 <<= 2, u2 <<= 2) {
        uint8_t sc, m;
        scale_min_k4(is, scales, &sc, &m);
        const float d1 = d * sc, m1 = min * m;
        scale_min_k4(is + 1, scales, &sc, &m);
        const float d2 = d * sc, m2 = min * m;
        for (int l = 0; l < 32; l++) *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
        for (int l = 0; l < 32; l++) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
    }
}

/* Q6_K: ql[128] (low 4 bits), qh[64] (high 2), scales[16] (signed, a
 * 16-element group each), d; each 6-bit value minus 32. */
static void q6_k(const uint8_t *b, float *y)
{
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    const float d = half(b + 208);
    for (int n = 0; n < QK_K; n += 128, y += 128, ql += 64, qh += 32, sc += 8)
        for (int l = 0; l < 32; l++) {
            const int is = l / 16;
            const int8_t q1 = (int8_t)((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            const int8_t q2 = (int8_t)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int8_t q3 = (int8_t)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int8_t q4 = (int8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l] = d * sc[is] * q1;
            y[l + 32] = d * sc[is + 2] * q2;
            y[l + 64] = d * sc[is + 4] * q3;
            y[l + 96] = d * sc[is + 6] * q4;
        }
}

typedef void (*block_fn)(const uint8_t *b, float *y);

static block_fn block_decoder(int type)
{
    switch (type) {
    case SOFTENT_GGML_Q4_0: return q4_0;
    case SOFTENT_GGML_Q4_1: return q4_1;
    case SOFTENT_GGML_Q5_0: return q5_0;
    case SOFTENT_GGML_Q5_1: return q5_1;
    case SOFTENT_GGML_Q8_0: return q8_0;
    case SOFTENT_GGML_Q2_K: return q2_k;
    case SOFTENT_GGML_Q3_K: return q3_k;
    case SOFTENT_GGML_Q4_K: return q4_k;
    case SOFTENT_GGML_Q5_K: return q5_k;
    case SOFTENT_GGML_Q6_K: return q6_k;
    }
    return NULL;
}

int softent_ggml_dequantize(int type, const void *src, float *dst, int64_t n)
{
    if (!softent_ggml_type_supported(type))
        return se_fail(SOFTENT_E_INVALID, "tensor type %s (%d): softent dequantises F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and Q2_K to Q6_K",
                       softent_ggml_type_name(type), type);
    const type_traits *t = traits(type);
    if (n < 0 || n % t->elems) return se_fail(SOFTENT_E_INVALID, "%lld elements of %s: not a whole number of %lld-element blocks", (long long)n, t->name, (long long)t->elems);
    switch (type) {
    case SOFTENT_GGML_F32: memcpy(dst, src, (size_t)n * 4); return SOFTENT_OK;
    case SOFTENT_GGML_F16: se_dtype_to_f32(dst, src, n, SOFTENT_F16); return SOFTENT_OK;
    case SOFTENT_GGML_BF16: se_dtype_to_f32(dst, src, n, SOFTENT_BF16); return SOFTENT_OK;
    }
    const block_fn decode = block_decoder(type);
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / t->elems; i++) decode(b + i * t->bytes, dst + i * t->elems);
    return SOFTENT_OK;
}
