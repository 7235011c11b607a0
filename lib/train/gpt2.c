/* gpt2_train.c - GPT-2's forward and backward passes, layer by layer (see gpt2_train.h). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/fastmath.h"
#include "gpt2.h"
#include "model/kernels.h"

#define LN_EPS 1e-5f          /* GPT-2's layer_norm_epsilon */
#define COL_CHUNK 16          /* columns a thread owns in a column reduction */

/* ---- scalar helpers ----------------------------------------------------- */

/* dst[cols] += sum over rows of src [rows, cols].  Each thread owns whole
 * chunks of columns and adds rows in order, so the sums do not depend on
 * the number of threads. */
static void colsum_add(float *dst, const float *src, int64_t rows, int64_t cols)
{
    const int64_t chunks = (cols + COL_CHUNK - 1) / COL_CHUNK;
#pragma omp parallel for schedule(static)
    for (int64_t ch = 0; ch < chunks; ch++) {
        const int64_t c0 = ch * COL_CHUNK, n = cols - c0 < COL_CHUNK ? cols - c0 : COL_CHUNK;
        float acc[COL_CHUNK] = {0};
        for (int64_t r = 0; r < rows; r++) {
            const float *row = src + r * cols + c0;
            for (int64_t j = 0; j < n; j++) acc[j] += row[j];
        }
        for (int64_t j = 0; j < n; j++) dst[c0 + j] += acc[j];
    }
}

/* ---- layers ------------------------------------------------------------- */

static void encoder_forward(float *out, const int32_t *inp, const float *wte, const float *wpe,
                            int B, int T, int C)
{
    /* out [B, T, C] = wte[token] + wpe[position] */
#pragma omp parallel for schedule(static)
    for (int64_t bt = 0; bt < (int64_t)B * T; bt++) {
        const float *te = wte + (int64_t)inp[bt] * C, *pe = wpe + (bt % T) * C;
        float *o = out + bt * C;
        for (int i = 0; i < C; i++) o[i] = te[i] + pe[i];
    }
}

static void encoder_backward(float *dwte, float *dwpe, const float *dout, const int32_t *inp,
                             int B, int T, int C)
{
    /* A token repeats within a batch, so rows of dwte collect several
     * positions: split the work by columns, not rows, to keep it race free
     * and in position order. */
    const int chunks = (C + COL_CHUNK - 1) / COL_CHUNK;
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < chunks; ch++) {
        const int c0 = ch * COL_CHUNK, c1 = c0 + COL_CHUNK < C ? c0 + COL_CHUNK : C;
        for (int64_t bt = 0; bt < (int64_t)B * T; bt++) {
            const float *d = dout + bt * C;
            float *te = dwte + (int64_t)inp[bt] * C, *pe = dwpe + (bt % T) * C;
            for (int i = c0; i < c1; i++) {
                te[i] += d[i];
                pe[i] += d[i];
            }
        }
    }
}

SE_HOT static void layernorm_backward(float *dinp, float *dw, float *db, const float *dout,
                                      const float *inp, const float *w, const float *mean,
                                      const float *rstd, int64_t N, int C)
{
    /* dinp [N, C] += the input gradient: with n = normalised input and
     * g = w * dout, dinp = rstd (g - mean(g) - n mean(g n)). */
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < N; r++) {
        const float *x = inp + r * C, *d = dout + r * C;
        const float m = mean[r], rs = rstd[r];
        float g_mean = 0, gn_mean = 0;
        for (int i = 0; i < C; i++) {
            float g = w[i] * d[i];
            g_mean += g;
            gn_mean += g * (x[i] - m) * rs;
        }
        g_mean /= C;
        gn_mean /= C;
        float *dx = dinp + r * C;
        for (int i = 0; i < C; i++) dx[i] += rs * (w[i] * d[i] - g_mean - (x[i] - m) * rs * gn_mean);
    }
    /* dw, db [C]: sums over rows, by column chunks (see colsum_add) */
    const int chunks = (C + COL_CHUNK - 1) / COL_CHUNK;
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < chunks; ch++) {
        const int c0 = ch * COL_CHUNK, c1 = c0 + COL_CHUNK < C ? c0 + COL_CHUNK : C;
        float aw[COL_CHUNK] = {0}, ab[COL_CHUNK] = {0};
        for (int64_t r = 0; r < N; r++) {
            const float *x = inp + r * C, *d = dout + r * C;
            for (int i = c0; i < c1; i++) {
                aw[i - c0] += (x[i] - mean[r]) * rstd[r] * d[i];
                ab[i - c0] += d[i];
            }
        }
        for (int i = c0; i < c1; i++) {
            dw[i] += aw[i - c0];
            db[i] += ab[i - c0];
        }
    }
}

/* out [N, OC] = (residual or 0) + inp [N, C] W [C, OC] + bias [OC] */
static void matmul_forward(float *out, const float *inp, const float *W, const float *bias,
                           const float *residual, int64_t N, int C, int OC)
{
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < N; r++) {
        float *o = out + r * OC;
        const float *res = residual ? residual + r * OC : NULL;
        for (int j = 0; j < OC; j++) o[j] = (res ? res[j] : 0.0f) + bias[j];
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, OC, C, 1.0f, inp, C, W, OC, 1.0f, out, OC);
}

/* From dout [N, OC]: dinp [N, C] = dout W^T (overwritten), dW [C, OC] +=
 * inp^T dout, dbias [OC] += column sums of dout. */
static void matmul_backward(float *dinp, float *dW, float *dbias, const float *dout,
                            const float *inp, const float *W, int64_t N, int C, int OC)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, C, OC, 1.0f, dout, OC, W, OC, 0.0f, dinp, C);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, OC, (int)N, 1.0f, inp, C, dout, OC, 1.0f, dW, OC);
    colsum_add(dbias, dout, N, OC);
}

/* Attention works on blocks of ATT_BLOCK queries: block [t0, t1) needs
 * the keys [0, t1) only, so the products skip most of the masked half of
 * the T x T scores (5/8 of the full work at T = 128) while each sgemm call
 * stays large enough to run at speed. */
#define ATT_BLOCK 32

SE_HOT static void attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH)
{
    /* qkv [B, T, 3C] holds each head's query, key and value at columns
     * h*hs, C + h*hs, 2C + h*hs; out [B, T, C]; att [B, NH, T, T] gets the
     * weights of row t in columns [0, t], zeros up to the end of t's block,
     * and nothing (never read) beyond.  One task per (row, head); OpenBLAS
     * runs single-threaded inside it. */
    const int C3 = 3 * C, hs = C / NH;
    const float scale = 1.0f / sqrtf((float)hs);
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * NH; bh++) {
        const int b = bh / NH, h = bh % NH;
        const float *q = qkv + (int64_t)b * T * C3 + h * hs, *k = q + C, *v = q + 2 * C;
        float *a = att + (int64_t)bh * T * T;
        for (int t0 = 0; t0 < T; t0 += ATT_BLOCK) {
            const int t1 = t0 + ATT_BLOCK < T ? t0 + ATT_BLOCK : T, n = t1 - t0;
            float *ab = a + (int64_t)t0 * T;   /* rows [t0, t1), columns [0, t1) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, t1, hs, scale, q + (int64_t)t0 * C3, C3,
                        k, C3, 0.0f, ab, T);
            for (int t = t0; t < t1; t++) {
                float *row = a + (int64_t)t * T;
                se_softmax_row(row, t + 1);
                for (int s = t + 1; s < t1; s++) row[s] = 0.0f;   /* so that A V needs no mask */
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hs, t1, 1.0f, ab, T, v, C3, 0.0f,
                        out + ((int64_t)b * T + t0) * C + h * hs, C);
        }
    }
}

SE_HOT static void attention_backward(float *dqkv, float *datt, const float *dout, const float *qkv,
                                      const float *att, int B, int T, int C, int NH)
{
    /* dqkv [B, T, 3C] is overwritten: every element belongs to exactly one
     * (row, head) task.  datt [B, NH, T, T] is scratch, used like att. */
    const int C3 = 3 * C, hs = C / NH;
    const float scale = 1.0f / sqrtf((float)hs);
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * NH; bh++) {
        const int b = bh / NH, h = bh % NH;
        const int64_t off = (int64_t)b * T * C3 + h * hs;
        const float *q = qkv + off, *k = q + C, *v = q + 2 * C;
        float *dq = dqkv + off, *dk = dq + C, *dv = dq + 2 * C;
        /* key and value gradients collect over the query blocks: the last
         * block, which reaches every key, goes first and overwrites */
        const int last = (T - 1) / ATT_BLOCK * ATT_BLOCK;
        for (int t0 = last; t0 >= 0; t0 -= ATT_BLOCK) {
            const int t1 = t0 + ATT_BLOCK < T ? t0 + ATT_BLOCK : T, n = t1 - t0;
            const float beta = t0 == last ? 0.0f : 1.0f;
            const float *ab = att + (int64_t)bh * T * T + (int64_t)t0 * T;
            float *db = datt + (int64_t)bh * T * T + (int64_t)t0 * T;
            const float *dy = dout + ((int64_t)b * T + t0) * C + h * hs;
            /* y = A V: dA = dy V^T, dV = A^T dy */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, t1, hs, 1.0f, dy, C, v, C3, 0.0f, db, T);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, t1, hs, n, 1.0f, ab, T, dy, C, beta, dv, C3);
            /* softmax: dS = A * (dA - rowsum(A * dA)), in place; zero where masked */
            for (int t = t0; t < t1; t++) {
                const float *arow = ab + (int64_t)(t - t0) * T;
                float *drow = db + (int64_t)(t - t0) * T;
                float dot = 0;
                for (int s = 0; s <= t; s++) dot += arow[s] * drow[s];
                for (int s = 0; s <= t; s++) drow[s] = arow[s] * (drow[s] - dot);
                for (int s = t + 1; s < t1; s++) drow[s] = 0.0f;
            }
            /* S = scale Q K^T: dQ = scale dS K, dK = scale dS^T Q */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hs, t1, scale, db, T, k, C3, 0.0f,
                        dq + (int64_t)t0 * C3, C3);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, t1, hs, n, scale, db, T, q + (int64_t)t0 * C3, C3,
                        beta, dk, C3);
        }
    }
}

SE_HOT static void gelu_backward(float *d, const float *inp, int64_t n)
{
    /* d [n]: the gradient at GELU's output in, at its input out */
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const float x = inp[i];
        const float th = se_tanhf(SE_GELU_K * (x + 0.044715f * x * x * x));
        const float local = 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * SE_GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
        d[i] *= local;
    }
}

SE_HOT static void crossentropy_forward(float *logits, float *losses, const int32_t *targets,
                                        int64_t N, int V, int for_backward)
{
    /* losses [N] = logsumexp(logits) - logits[target].  for_backward: the
     * logits [N, V] become d (mean loss) / d logits = (softmax - onehot) / N. */
    const float dloss = 1.0f / (float)N;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < N; r++) {
        float *l = logits + r * V;
        const int tgt = targets[r];
        const float lt = l[tgt];
        /* 8 partial maxima and sums, so that the loops vectorise without
         * reassociating float additions */
        float mx8[8], s8[8];
        for (int j = 0; j < 8; j++) mx8[j] = -INFINITY, s8[j] = 0;
        int i = 0;
        for (; i + 8 <= V; i += 8)
            for (int j = 0; j < 8; j++) mx8[j] = l[i + j] > mx8[j] ? l[i + j] : mx8[j];
        float mx = mx8[0];
        for (int j = 1; j < 8; j++) mx = mx8[j] > mx ? mx8[j] : mx;
        for (; i < V; i++) mx = l[i] > mx ? l[i] : mx;
        i = 0;
        if (for_backward) {
            for (; i + 8 <= V; i += 8)
                for (int j = 0; j < 8; j++) {
                    l[i + j] = se_expf_nonpos(l[i + j] - mx);
                    s8[j] += l[i + j];
                }
            for (; i < V; i++) {
                l[i] = se_expf_nonpos(l[i] - mx);
                s8[0] += l[i];
            }
        } else {
            for (; i + 8 <= V; i += 8)
                for (int j = 0; j < 8; j++) s8[j] += se_expf_nonpos(l[i + j] - mx);
            for (; i < V; i++) s8[0] += se_expf_nonpos(l[i] - mx);
        }
        float sum = 0;
        for (int j = 0; j < 8; j++) sum += s8[j];
        losses[r] = logf(sum) + mx - lt;
        if (for_backward) {
            const float scale = dloss / sum;
            for (int v = 0; v < V; v++) l[v] *= scale;
            l[tgt] -= dloss;
        }
    }
}

/* ---- the model ---------------------------------------------------------- */

static void param_sizes(const se_gpt2_config *c, size_t *s)
{
    const size_t L = c->L, C = c->C, V = c->V, maxT = c->maxT;
    size_t sizes[SE_GPT2_NUM_PARAMS] = {
        V * C, maxT * C, L * C, L * C, L * C * 3 * C, L * 3 * C, L * C * C, L * C,
        L * C, L * C, L * C * 4 * C, L * 4 * C, L * 4 * C * C, L * C, C, C,
    };
    memcpy(s, sizes, sizeof sizes);
}

/* Where parameter tensor i lives in p, in the order of param_sizes. */
static float **param_slot(se_gpt2_params *p, int i)
{
    float **ptrs[SE_GPT2_NUM_PARAMS] = {
        &p->wte, &p->wpe, &p->ln1w, &p->ln1b, &p->qkvw, &p->qkvb, &p->attprojw, &p->attprojb,
        &p->ln2w, &p->ln2b, &p->fcw, &p->fcb, &p->fcprojw, &p->fcprojb, &p->lnfw, &p->lnfb,
    };
    return ptrs[i];
}

float *se_gpt2_param_tensor(se_gpt2_params *p, int i)
{
    return *param_slot(p, i);
}

static void point_params(se_gpt2_params *p, float *mem, const size_t *sizes)
{
    for (int i = 0; i < SE_GPT2_NUM_PARAMS; i++) {
        *param_slot(p, i) = mem;
        mem += sizes[i];
    }
}

/* Carve n tensors of the given sizes out of one allocation; NULL when out
 * of memory. */
static float *carve(float **ptrs[], const size_t *sizes, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++) total += sizes[i];
    float *mem = malloc(total * sizeof *mem);
    if (!mem) return NULL;
    float *p = mem;
    for (int i = 0; i < n; i++) {
        *ptrs[i] = p;
        p += sizes[i];
    }
    return mem;
}

size_t se_gpt2_num_params(const se_gpt2_config *c)
{
    size_t sizes[SE_GPT2_NUM_PARAMS], n = 0;
    param_sizes(c, sizes);
    for (int i = 0; i < SE_GPT2_NUM_PARAMS; i++) n += sizes[i];
    return n;
}

int se_gpt2_init(se_gpt2 *m, const se_gpt2_config *c, int B)
{
    memset(m, 0, sizeof *m);
    m->c = *c;
    m->B = B;
    param_sizes(c, m->param_sizes);
    for (int i = 0; i < SE_GPT2_NUM_PARAMS; i++) m->num_params += m->param_sizes[i];

    const size_t L = c->L, C = c->C, NH = c->NH, V = c->V, BT = (size_t)B * c->maxT, T = c->maxT;
    se_gpt2_acts *a = &m->acts;
    float **act_ptrs[] = {
        &a->encoded, &a->ln1, &a->ln1_mean, &a->ln1_rstd, &a->qkv, &a->att, &a->atty,
        &a->residual2, &a->ln2, &a->ln2_mean, &a->ln2_rstd, &a->fch, &a->fch_gelu, &a->residual3,
        &a->lnf, &a->lnf_mean, &a->lnf_rstd, &a->logits, &a->losses,
    };
    const size_t act_sizes[] = {
        BT * C, L * BT * C, L * BT, L * BT, L * BT * 3 * C, L * B * NH * T * T, L * BT * C,
        L * BT * C, L * BT * C, L * BT, L * BT, L * BT * 4 * C, L * BT * 4 * C, L * BT * C,
        BT * C, BT, BT, BT * V, BT,
    };
    se_gpt2_grad_acts *g = &m->gacts;
    float **gact_ptrs[] = {&g->dresidual, &g->dln, &g->datty, &g->dqkv, &g->datt, &g->dfch};
    const size_t gact_sizes[] = {BT * C, BT * C, BT * C, BT * 3 * C, B * NH * T * T, BT * 4 * C};

    m->params_memory = malloc(m->num_params * sizeof(float));
    m->grads_memory = calloc(m->num_params, sizeof(float));
    m->acts_memory = carve(act_ptrs, act_sizes, sizeof act_sizes / sizeof act_sizes[0]);
    m->grad_acts_memory = carve(gact_ptrs, gact_sizes, sizeof gact_sizes / sizeof gact_sizes[0]);
    m->inputs = malloc(BT * sizeof *m->inputs);
    if (!m->params_memory || !m->grads_memory || !m->acts_memory || !m->grad_acts_memory || !m->inputs) {
        se_gpt2_free(m);
        return se_fail(SOFTENT_E_NOMEM, "out of memory for a GPT-2 of %zu parameters with %zu tokens a batch",
                       m->num_params, BT);
    }
    point_params(&m->params, m->params_memory, m->param_sizes);
    point_params(&m->grads, m->grads_memory, m->param_sizes);
    return SOFTENT_OK;
}

void se_gpt2_free(se_gpt2 *m)
{
    free(m->params_memory);
    free(m->grads_memory);
    free(m->acts_memory);
    free(m->grad_acts_memory);
    free(m->inputs);
    memset(m, 0, sizeof *m);
}

void se_gpt2_forward(se_gpt2 *m, const int32_t *inputs, const int32_t *targets, int B, int T,
                     int for_backward, double *loss)
{
    const int L = m->c.L, C = m->c.C, NH = m->c.NH, V = m->c.V;
    const int64_t BT = (int64_t)B * T;
    se_gpt2_params p = m->params;
    se_gpt2_acts a = m->acts;
    memcpy(m->inputs, inputs, (size_t)BT * sizeof *inputs);

    encoder_forward(a.encoded, inputs, p.wte, p.wpe, B, T, C);
    for (int l = 0; l < L; l++) {
        const float *residual = l == 0 ? a.encoded : a.residual3 + (l - 1) * BT * C;
        /* this layer's weights and activations */
        const float *ln1w = p.ln1w + l * C, *ln1b = p.ln1b + l * C;
        const float *qkvw = p.qkvw + (int64_t)l * C * 3 * C, *qkvb = p.qkvb + l * 3 * C;
        const float *attprojw = p.attprojw + (int64_t)l * C * C, *attprojb = p.attprojb + l * C;
        const float *ln2w = p.ln2w + l * C, *ln2b = p.ln2b + l * C;
        const float *fcw = p.fcw + (int64_t)l * C * 4 * C, *fcb = p.fcb + l * 4 * C;
        const float *fcprojw = p.fcprojw + (int64_t)l * 4 * C * C, *fcprojb = p.fcprojb + l * C;
        float *ln1 = a.ln1 + l * BT * C, *ln1_mean = a.ln1_mean + l * BT, *ln1_rstd = a.ln1_rstd + l * BT;
        float *qkv = a.qkv + l * BT * 3 * C, *att = a.att + (int64_t)l * B * NH * T * T;
        float *atty = a.atty + l * BT * C, *residual2 = a.residual2 + l * BT * C;
        float *ln2 = a.ln2 + l * BT * C, *ln2_mean = a.ln2_mean + l * BT, *ln2_rstd = a.ln2_rstd + l * BT;
        float *fch = a.fch + l * BT * 4 * C, *fch_gelu = a.fch_gelu + l * BT * 4 * C;
        float *residual3 = a.residual3 + l * BT * C;

        se_layernorm(ln1, ln1_mean, ln1_rstd, residual, ln1w, ln1b, BT, C, LN_EPS);
        matmul_forward(qkv, ln1, qkvw, qkvb, NULL, BT, C, 3 * C);
        attention_forward(atty, att, qkv, B, T, C, NH);
        matmul_forward(residual2, atty, attprojw, attprojb, residual, BT, C, C);
        se_layernorm(ln2, ln2_mean, ln2_rstd, residual2, ln2w, ln2b, BT, C, LN_EPS);
        matmul_forward(fch, ln2, fcw, fcb, NULL, BT, C, 4 * C);
        se_gelu_tanh(fch_gelu, fch, BT * 4 * C);
        matmul_forward(residual3, fch_gelu, fcprojw, fcprojb, residual2, BT, 4 * C, C);
    }
    const float *last = a.residual3 + (L - 1) * BT * C;
    se_layernorm(a.lnf, a.lnf_mean, a.lnf_rstd, last, p.lnfw, p.lnfb, BT, C, LN_EPS);
    /* the lm_head is the token embedding: logits = lnf wte^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)BT, V, C, 1.0f, a.lnf, C, p.wte, C, 0.0f, a.logits, V);

    m->last_B = B;
    m->last_T = T;
    m->backward_ready = 0;
    if (!targets) return;
    crossentropy_forward(a.logits, a.losses, targets, BT, V, for_backward);
    double sum = 0;
    for (int64_t i = 0; i < BT; i++) sum += a.losses[i];
    *loss = sum / (double)BT;
    m->backward_ready = for_backward;
}

void se_gpt2_backward(se_gpt2 *m)
{
    const int L = m->c.L, C = m->c.C, NH = m->c.NH, V = m->c.V, B = m->last_B, T = m->last_T;
    const int64_t BT = (int64_t)B * T;
    se_gpt2_params p = m->params, g = m->grads;
    se_gpt2_acts a = m->acts;
    se_gpt2_grad_acts d = m->gacts;
    memset(m->grads_memory, 0, m->num_params * sizeof(float));

    /* lm_head (tied): dlnf = dlogits wte, dwte += dlogits^T lnf */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)BT, C, V, 1.0f, a.logits, V, p.wte, C, 0.0f, d.dln, C);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, V, C, (int)BT, 1.0f, a.logits, V, a.lnf, C, 1.0f, g.wte, C);
    memset(d.dresidual, 0, (size_t)BT * C * sizeof(float));
    layernorm_backward(d.dresidual, g.lnfw, g.lnfb, d.dln, a.residual3 + (L - 1) * BT * C, p.lnfw,
                       a.lnf_mean, a.lnf_rstd, BT, C);

    for (int l = L - 1; l >= 0; l--) {
        /* dresidual holds d loss / d (this block's output) */
        const float *residual = l == 0 ? a.encoded : a.residual3 + (l - 1) * BT * C;
        const float *ln1w = p.ln1w + l * C, *qkvw = p.qkvw + (int64_t)l * C * 3 * C;
        const float *attprojw = p.attprojw + (int64_t)l * C * C, *ln2w = p.ln2w + l * C;
        const float *fcw = p.fcw + (int64_t)l * C * 4 * C, *fcprojw = p.fcprojw + (int64_t)l * 4 * C * C;
        float *dln1w = g.ln1w + l * C, *dln1b = g.ln1b + l * C;
        float *dqkvw = g.qkvw + (int64_t)l * C * 3 * C, *dqkvb = g.qkvb + l * 3 * C;
        float *dattprojw = g.attprojw + (int64_t)l * C * C, *dattprojb = g.attprojb + l * C;
        float *dln2w = g.ln2w + l * C, *dln2b = g.ln2b + l * C;
        float *dfcw = g.fcw + (int64_t)l * C * 4 * C, *dfcb = g.fcb + l * 4 * C;
        float *dfcprojw = g.fcprojw + (int64_t)l * 4 * C * C, *dfcprojb = g.fcprojb + l * C;
        const float *ln1 = a.ln1 + l * BT * C, *ln1_mean = a.ln1_mean + l * BT, *ln1_rstd = a.ln1_rstd + l * BT;
        const float *qkv = a.qkv + l * BT * 3 * C, *att = a.att + (int64_t)l * B * NH * T * T;
        const float *atty = a.atty + l * BT * C, *residual2 = a.residual2 + l * BT * C;
        const float *ln2 = a.ln2 + l * BT * C, *ln2_mean = a.ln2_mean + l * BT, *ln2_rstd = a.ln2_rstd + l * BT;
        const float *fch = a.fch + l * BT * 4 * C, *fch_gelu = a.fch_gelu + l * BT * 4 * C;

        /* MLP: residual3 = residual2 + gelu(ln2(residual2) fcw) fcprojw */
        matmul_backward(d.dfch, dfcprojw, dfcprojb, d.dresidual, fch_gelu, fcprojw, BT, 4 * C, C);
        gelu_backward(d.dfch, fch, BT * 4 * C);
        matmul_backward(d.dln, dfcw, dfcb, d.dfch, ln2, fcw, BT, C, 4 * C);
        layernorm_backward(d.dresidual, dln2w, dln2b, d.dln, residual2, ln2w, ln2_mean, ln2_rstd, BT, C);
        /* attention: residual2 = residual + attn(ln1(residual)) attprojw */
        matmul_backward(d.datty, dattprojw, dattprojb, d.dresidual, atty, attprojw, BT, C, C);
        attention_backward(d.dqkv, d.datt, d.datty, qkv, att, B, T, C, NH);
        matmul_backward(d.dln, dqkvw, dqkvb, d.dqkv, ln1, qkvw, BT, C, 3 * C);
        layernorm_backward(d.dresidual, dln1w, dln1b, d.dln, residual, ln1w, ln1_mean, ln1_rstd, BT, C);
    }
    encoder_backward(g.wte, g.wpe, d.dresidual, m->inputs, B, T, C);
    m->backward_ready = 0;
}
