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
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/fastmath.h"
#include "product.h"

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
    *pr = (se_product){.kind = kind, .m = m, .d = d, .tile = tile};
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

void se_product_free(se_product *pr)
{
    for (int t = 0; t < pr->threads; t++) se_matmul_free(pr->mm[t]);
    free(pr->mm);
    free(pr->rows16);
    free(pr->w16);
    *pr = (se_product){0};
}

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

/* norms() and the rows rounded to bf16 in the same pass over them */
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

void se_product_run(se_product *pr, int tid, float *scores, double *ss, const float *z, int64_t n, const float *w)
{
    const int64_t m = pr->m, d = pr->d;
    if (pr->kind == SOFTENT_PRODUCT_F32) {
        norms(ss, z, n, d);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)m, (int)d, 1.0f, z, (int)d, w, (int)d, 0.0f, scores, (int)m);
        return;
    }
    uint16_t *x16 = pr->rows16 + tid * pr->tile * d;
    norms_bf16(ss, x16, z, n, d);
    const se_linear points = {.w16 = pr->w16, .in = d, .out = m, .ld = d};
    se_matmul_run(pr->mm[tid], scores, (se_operand){.f32 = z, .bf16 = x16}, points, n, 0.0f);
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
