/*
 * fastmath.h - the few transcendental functions of the hot loops, written
 * in straight-line arithmetic that the compiler vectorises (libm's exp is a
 * scalar call), and SE_HOT, which gives a hot loop AVX-512 and AVX2 clones
 * chosen at load time.  Nothing is contracted into FMAs (-ffp-contract=off:
 * AVX-512F implies them), so every clone rounds the same products; only
 * the order in which a reduction adds its lanes follows the vector width,
 * a difference of an ulp or two.
 */
#ifndef SOFTENT_COMMON_FASTMATH_H
#define SOFTENT_COMMON_FASTMATH_H

#include <math.h>
#include <stdint.h>

/* GCC's clones; clang (which builds only the fuzzers) goes without them:
 * clang 14 leaves hidden target_clones functions unresolved at link. */
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(__clang__)
#define SE_HOT __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SE_HOT
#endif

/* exp(x) for x <= 0, to about 1 ulp, in straight-line arithmetic that the
 * compiler vectorises (libm's exp is a scalar call, and the softmax makes
 * m of them per row).  x = k ln2 + r with |r| <= ln2/2 (ln2 split in two
 * parts so k ln2 is exact), exp(r) by its Taylor series to r^13, 2^k by
 * building the exponent bits.  Below -708 the result would be subnormal:
 * it returns 0, which the entropy's 1e-9 floor cannot tell apart. */
static inline double se_exp_nonpos(double x)
{
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    const double shifter = 6755399441055744.0; /* 1.5 * 2^52: adding it rounds to an integer */
    x = x < -708.0 ? -708.0 : x;
    double t = x * 1.44269504088896340736 + shifter;
    double k = t - shifter;
    double r = (x - k * ln2_hi) - k * ln2_lo;
    double e = 1.0 / 6227020800.0;
    e = e * r + 1.0 / 479001600.0;
    e = e * r + 1.0 / 39916800.0;
    e = e * r + 1.0 / 3628800.0;
    e = e * r + 1.0 / 362880.0;
    e = e * r + 1.0 / 40320.0;
    e = e * r + 1.0 / 5040.0;
    e = e * r + 1.0 / 720.0;
    e = e * r + 1.0 / 120.0;
    e = e * r + 1.0 / 24.0;
    e = e * r + 1.0 / 6.0;
    e = e * r + 0.5;
    e = e * r + 1.0;
    e = e * r + 1.0;
    /* t's low mantissa bits hold k; k + 1023 shifted into place is 2^k. */
    union { double d; uint64_t u; } bits = {.d = t};
    bits.u = (bits.u + 1023) << 52;
    return x <= -708.0 ? 0.0 : e * bits.d;
}

/* log(x) for normal positive x, to about 2 ulp, in straight-line arithmetic
 * the compiler vectorises (the entropies of the bootstrap take n_values x m
 * of them a replicate).  x = 2^e f with f in [sqrt(1/2), sqrt(2)), and
 * log f = 2 atanh(s), s = (f - 1) / (f + 1), |s| < 0.172, by its series to
 * s^19 (the next term is below 1e-16 of the result). */
static inline double se_log_pos(double x)
{
    union { double d; uint64_t u; } bits = {.d = x};
    /* shift so that the mantissa lands in [sqrt(1/2), sqrt(2)) */
    uint64_t u = bits.u + (0x3ff0000000000000ULL - 0x3fe6a09e667f3bcdULL);
    /* the exponent as a double without an int64 conversion (which AVX2
     * cannot vectorise): its bits placed in the mantissa of 2^52 */
    union { uint64_t u; double d; } eb = {.u = 0x4330000000000000ULL | (u >> 52)};
    double e = eb.d - (4503599627370496.0 + 1023.0);
    bits.u = (u & 0x000fffffffffffffULL) + 0x3fe6a09e667f3bcdULL;
    double f = bits.d, s = (f - 1.0) / (f + 1.0), s2 = s * s;
    double t = 1.0 / 19;
    t = t * s2 + 1.0 / 17;
    t = t * s2 + 1.0 / 15;
    t = t * s2 + 1.0 / 13;
    t = t * s2 + 1.0 / 11;
    t = t * s2 + 1.0 / 9;
    t = t * s2 + 1.0 / 7;
    t = t * s2 + 1.0 / 5;
    t = t * s2 + 1.0 / 3;
    t = t * s2 + 1.0;
    return e * 0.69314718055994530942 + 2.0 * s * t;
}

/* exp(x) for x <= 0 to about 2 ulp, in straight-line float arithmetic the
 * compiler vectorises (expf is a scalar libm call, and the softmaxes and
 * GELU spend most of their time in it).  x = k ln2 + r with |r| <= ln2/2,
 * exp(r) by its Taylor polynomial, 2^k built in the exponent bits.  From
 * -87 down, where exp nears the subnormals, the result is 0. */
static inline float se_expf_nonpos(float x)
{
    x = x < -87.0f ? -87.0f : x;
    /* round to nearest by adding and removing 1.5 * 2^23 (nearbyintf is a
     * libm call without SSE4.1) */
    float kf = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - kf * 0.693145751953125f;    /* ln2 split in two so k ln2 is exact */
    r = r - kf * 1.42860682030941723e-6f;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union { float f; int32_t i; } scale = {.i = ((int32_t)kf + 127) << 23};
    float e = p * scale.f;
    return x <= -87.0f ? 0.0f : e;
}

/* tanh through exp(-2|u|) <= 1, which cannot overflow. */
static inline float se_tanhf(float u)
{
    float e = se_expf_nonpos(-2.0f * fabsf(u));
    float t = (1.0f - e) / (1.0f + e);
    return u < 0 ? -t : t;
}

#endif
