/*
 * test_f16.c - the float16 and bfloat16 conversions of lib/formats/dtype.h
 * against IEEE 754's definition of the formats, for every one of the 65536
 * bit patterns: (-1)^s 2^(e-15) (1 + f/1024) for normal halves,
 * (-1)^s 2^-14 (f/1024) for subnormals, infinities and NaNs at e = 31; a
 * bfloat16 is a float32's top 16 bits.  The vector path (se_dtype_to_f32,
 * unaligned input) must agree with the scalar one.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "formats/dtype.h"

static double half_by_definition(uint16_t h)
{
    const int s = h >> 15, e = (h >> 10) & 31, f = h & 1023;
    double v;
    if (e == 31) v = f ? NAN : INFINITY;
    else if (e == 0) v = ldexp(f, -24);
    else v = ldexp(1024 + f, e - 25);
    return s ? -v : v;
}

static int same(float got, double want)
{
    if (isnan(want)) return isnan(got);
    return (double)got == want && !signbit(got) == !signbit(want); /* -0 stays -0 */
}

static void every_half(void)
{
    for (uint32_t h = 0; h < 65536; h++) {
        const double want = half_by_definition((uint16_t)h);
        const float got = se_f16_to_f32((uint16_t)h);
        CHECK(same(got, want), "half 0x%04x: %.9g, IEEE says %.9g", h, got, want);
    }
}

static void every_bfloat16(void)
{
    for (uint32_t b = 0; b < 65536; b++) {
        uint32_t bits = b << 16;
        float want;
        memcpy(&want, &bits, sizeof want);
        const float got = se_bf16_to_f32((uint16_t)b);
        CHECK(same(got, want), "bfloat16 0x%04x: %.9g, expected %.9g", b, got, want);
    }
}

static void array_conversion_agrees(void)
{
    /* every pattern, little-endian, one byte off alignment */
    unsigned char *raw = malloc(2 * 65536 + 1);
    float *out = malloc(65536 * sizeof *out);
    for (uint32_t h = 0; h < 65536; h++) raw[1 + 2 * h] = (unsigned char)h, raw[2 + 2 * h] = (unsigned char)(h >> 8);
    se_dtype_to_f32(out, raw + 1, 65536, SOFTENT_F16);
    for (uint32_t h = 0; h < 65536; h++)
        CHECK(same(out[h], half_by_definition((uint16_t)h)), "array half 0x%04x: %.9g", h, out[h]);
    se_dtype_to_f32(out, raw + 1, 65536, SOFTENT_BF16);
    for (uint32_t h = 0; h < 65536; h++) CHECK(same(out[h], se_bf16_to_f32((uint16_t)h)), "array bfloat16 0x%04x", h);
    const double d[3] = {0.1, -1e300, 5e-324};
    se_dtype_to_f32(out, d, 3, SOFTENT_F64);
    CHECK(out[0] == 0.1f && out[1] == -INFINITY && out[2] == 0.0f, "float64 rounding: %g %g %g", out[0], out[1], out[2]);
    free(raw);
    free(out);
}

int main(void)
{
    RUN(every_half);
    RUN(every_bfloat16);
    RUN(array_conversion_agrees);
    return CHECKS_DONE();
}
