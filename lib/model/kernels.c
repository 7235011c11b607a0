/* kernels.c - LayerNorm and GELU over arrays (see kernels.h). */
#include <math.h>

#include "kernels.h"

SE_HOT void se_layernorm(float *out, float *mean, float *rstd, const float *x, const float *w, const float *b,
                         int64_t rows, int64_t cols, double eps)
{
    /* sums in double: a row of thousands of floats would lose digits; the
     * mean is rounded to float first so that the backward pass, which has
     * only the stored float mean, normalises exactly as this did */
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        double s = 0, ss = 0;
        for (int64_t i = 0; i < cols; i++) s += xr[i];
        const float m = (float)(s / cols);
        for (int64_t i = 0; i < cols; i++) ss += (double)(xr[i] - m) * (xr[i] - m);
        const float rs = (float)(1.0 / sqrt(ss / cols + eps));
        float *o = out + r * cols;
        for (int64_t i = 0; i < cols; i++) o[i] = (xr[i] - m) * rs * w[i] + b[i];
        if (mean) mean[r] = m;
        if (rstd) rstd[r] = rs;
    }
}

SE_HOT void se_gelu_tanh(float *out, const float *in, int64_t n)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) out[i] = se_gelu_tanh1(in[i]);
}
