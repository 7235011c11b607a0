/*
 * product.c - the estimator's d-wide product (see product.h).
 *
 * The bf16 product rounds each tile of rows into its thread's buffer and
 * runs oneDNN's matmul on the thread's own primitive, made once for the
 * tile's shape (and once for a short last tile).  oneDNN called inside an
 * OpenMP parallel region runs on the calling thread alone, as sgemm does.
 * The norms that scale the scores stay those of the float32 rows.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* the AVX-512 loops by hand: GCC only (as SE_HOT's clones), not under ASan */
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(__clang__)
#define SE_BY_HAND 1
#include <immintrin.h>
#else
#define SE_BY_HAND 0
#endif

#include "common/error.h"
#include "common/fastmath.h"
#include "product.h"

/* ss [n] = the rows' squared norms (in double), read before the product
 * so that the rows are in cache when it packs them */
SE_HOT static void norms(double *restrict ss, const float *restrict z, int64_t n, int64_t d)
{
    for (int64_t i = 0; i < n; i++) {
        const float *x = z + i * d;
        double s = 0;
        #pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < d; j++) s += (double)x[j] * x[j];
        ss[i] = s;
    }
}

/* norms() and the rows rounded to bf16 (se_bf16_of) in the same pass */
SE_HOT static void norms_bf16(double *restrict ss, uint16_t *restrict x16, const float *restrict z, int64_t n, int64_t d)
{
    for (int64_t i = 0; i < n; i++) {
        const float *x = z + i * d;
        uint16_t *h = x16 + i * d;
        double s = 0;
        #pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < d; j++) {
            s += (double)x[j] * x[j];
            h[j] = se_bf16_of(x[j]);
        }
        ss[i] = s;
    }
}

/* The same by hand: GCC's clone packs the bf16 through 256-bit halves
 * and adds the squares in one chain, and took a third of a bf16
 * estimate's time (0.18 s -> 0.14 s end to end on 100,000 x 768 rows). */
#if SE_BY_HAND
/* SOFTENT_ISA=generic leaves the loop out, for the tests */
#define HAVE_AVX512() (__builtin_cpu_supports("avx512f") && !generic_asked())

static int generic_asked(void)
{
    const char *isa = getenv("SOFTENT_ISA");
    return isa && !strcmp(isa, "generic");
}

__attribute__((target("avx512f"))) static void norms_bf16_avx512(double *restrict ss, uint16_t *restrict x16, const float *restrict z,
                                                                 int64_t n, int64_t d)
{
    const __m512i half = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1), magnitude = _mm512_set1_epi32(0x7fffffff);
    const __m512i inf = _mm512_set1_epi32(0x7f800000), quiet = _mm512_set1_epi32(0x40);
    for (int64_t i = 0; i < n; i++) {
        const float *x = z + i * d;
        uint16_t *h = x16 + i * d;
        __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
        int64_t j = 0;
        for (; j + 16 <= d; j += 16) {
            const __m512 v = _mm512_loadu_ps(x + j);
            const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
            const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
            s0 = _mm512_add_pd(s0, _mm512_mul_pd(lo, lo));  /* two chains of adds, not one */
            s1 = _mm512_add_pd(s1, _mm512_mul_pd(hi, hi));
            /* se_bf16_of, sixteen at a time */
            const __m512i u = _mm512_castps_si512(v), top = _mm512_srli_epi32(u, 16);
            __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(half, _mm512_and_si512(top, one))), 16);
            const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, magnitude), inf);
            r = _mm512_mask_or_epi32(r, nan, top, quiet);
            _mm256_storeu_si256((__m256i *)(h + j), _mm512_cvtepi32_epi16(r));
        }
        double s = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
        for (; j < d; j++) {
            s += (double)x[j] * x[j];
            h[j] = se_bf16_of(x[j]);
        }
        ss[i] = s;
    }
}
#else
#define norms_bf16_avx512 norms_bf16
#define HAVE_AVX512() 0
#endif

const char *softent_product_name(softent_product p)
{
    return p == SOFTENT_PRODUCT_F32 ? "f32" : p == SOFTENT_PRODUCT_BF16 ? "bf16" : "?";
}

int softent_product_parse(const char *s, softent_product *p)
{
    if (!strcmp(s, "f32")) *p = SOFTENT_PRODUCT_F32;
    else if (!strcmp(s, "bf16")) *p = SOFTENT_PRODUCT_BF16;
    else return se_fail(SOFTENT_E_INVALID, "unknown product '%s': use f32 or bf16", s);
    return SOFTENT_OK;
}

int se_product_init(se_product *pr, softent_product kind, const float *w, int64_t m, int64_t d, int64_t tile)
{
    *pr = (se_product){.kind = kind, .m = m, .d = d, .tile = tile, .avx512 = HAVE_AVX512()};
    if (kind == SOFTENT_PRODUCT_F32) return SOFTENT_OK;
    if (kind != SOFTENT_PRODUCT_BF16) return se_fail(SOFTENT_E_INVALID, "unknown product %d", (int)kind);
    pr->w16 = malloc((size_t)(m * d) * sizeof *pr->w16);
    if (!pr->w16) return se_fail(SOFTENT_E_NOMEM, "out of memory for the bf16 reference points");
    se_to_bf16(pr->w16, w, m * d);
    return SOFTENT_OK;
}

int se_product_reserve(se_product *pr, int threads)
{
    if (pr->kind == SOFTENT_PRODUCT_F32 || threads <= pr->threads) return SOFTENT_OK;
    uint16_t *rows = malloc((size_t)(threads * pr->tile * pr->d) * sizeof *rows);
    se_matmul **mm = realloc(pr->mm, (size_t)threads * sizeof *mm);
    if (mm) pr->mm = mm;
    if (!rows || !mm) {
        free(rows);
        return se_fail(SOFTENT_E_NOMEM, "out of memory for the bf16 products of %d threads", threads);
    }
    for (int t = pr->threads; t < threads; t++) {
        int rc = se_matmul_new(&mm[t]);
        if (rc) {
            free(rows);
            for (int u = pr->threads; u < t; u++) se_matmul_free(mm[u]);
            return rc;
        }
    }
    free(pr->rows16);
    pr->rows16 = rows;
    pr->threads = threads;
    return SOFTENT_OK;
}

int64_t se_product_bytes(const se_product *pr, int threads)
{
    if (pr->kind == SOFTENT_PRODUCT_F32) return 0;
    return pr->m * pr->d * 2 + (int64_t)threads * pr->tile * pr->d * 2;
}

void se_product_free(se_product *pr)
{
    for (int t = 0; t < pr->threads; t++) se_matmul_free(pr->mm[t]);
    free(pr->mm);
    free(pr->rows16);
    free(pr->w16);
    *pr = (se_product){0};
}

void se_product_run(se_product *pr, int tid, float *scores, double *ss, const float *z, int64_t n, const float *w)
{
    const int64_t m = pr->m, d = pr->d;
    if (pr->kind == SOFTENT_PRODUCT_F32) {
        norms(ss, z, n, d);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)m, (int)d, 1.0f, z, (int)d, w, (int)d, 0.0f, scores, (int)m);
        return;
    }
    uint16_t *x16 = pr->rows16 + tid * pr->tile * d;
    (pr->avx512 ? norms_bf16_avx512 : norms_bf16)(ss, x16, z, n, d);
    const se_linear points = {.w16 = pr->w16, .in = d, .out = m, .ld = d};
    se_matmul_run(pr->mm[tid], scores, (se_operand){.f32 = z, .bf16 = x16}, points, n, 0.0f);
    /* a product that failed left the scores unset: NaN makes its rows
     * unusable rather than wrong (the add then returns the failure) */
    if (se_matmul_failed(pr->mm[tid]))
        for (int64_t i = 0; i < n * m; i++) scores[i] = NAN;
}

int se_product_status(se_product *pr)
{
    int rc = SOFTENT_OK;
    for (int t = 0; t < pr->threads; t++) {
        const int s = se_matmul_status(pr->mm[t]);
        if (!rc) rc = s;
    }
    return rc;
}
