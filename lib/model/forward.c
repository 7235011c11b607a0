/*
 * forward.c - the transformer forward pass over one sequence (prefill),
 * following transformers' modeling_<arch>.py: GPT-2 (LayerNorm, learned
 * positions, Conv1D), the llama family (RMSNorm, RoPE in the rotate_half
 * convention, GQA, SwiGLU), with qwen2's q/k/v biases, qwen3's per-head q/k
 * norms and olmo2's post-sublayer norms and full-width q/k norms, and
 * GPT-NeoX (LayerNorm, a fused per-head q/k/v, RoPE on part of each head,
 * attention and MLP in parallel).
 *
 * Weight products go through matmul.h (OpenBLAS sgemm, or oneDNN's bf16
 * matmul); attention runs one (head, query block) task per thread, each
 * with single-threaded sgemms over the causal part only; elementwise work
 * is OpenMP loops over rows.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/threads.h"
#include "kernels.h"
#include "model.h"

/* ---- scratch ------------------------------------------------------------ */

/* Size the scratch for n tokens (grown, never shrunk). */
static int run_state_reserve(softent_model *m, int64_t n)
{
    se_run_state *s = &m->s;
    const se_model_config *c = &m->c;
    int64_t threads = se_max_threads();
    if (n <= s->n_cap && threads <= s->threads_cap && (s->x16 || !m->mm)) return SOFTENT_OK;
    if (n < s->n_cap) n = s->n_cap;
    if (threads < s->threads_cap) threads = s->threads_cap;
    const int64_t d = c->d_model, qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    const int64_t half = c->rotary_dim / 2, tables = c->rope_local_theta > 0 ? 2 : 1;
    const int64_t widest = d > qd ? (d > c->d_ff ? d : c->d_ff) : (qd > c->d_ff ? qd : c->d_ff);
    struct { float **p; int64_t len; } parts[] = {
        {&s->x, n * d}, {&s->xb, n * d}, {&s->qkv, c->fused_qkv ? n * (qd + 2 * kvd) : 0}, {&s->q, n * qd}, {&s->k, n * kvd}, {&s->v, n * kvd},
        {&s->att, n * qd}, {&s->hb, n * c->d_ff}, {&s->hb2, c->gated_mlp ? n * c->d_ff : 0},
        {&s->out, c->post_norm ? n * d : 0}, {&s->rope_cos, n * half * tables}, {&s->rope_sin, n * half * tables},
        {&s->scores, threads * SE_ATT_BLOCK * n},
    };
    const int n_parts = (int)(sizeof parts / sizeof parts[0]);
    int64_t total = 0;
    for (int i = 0; i < n_parts; i++) total += (parts[i].len + 15) / 16 * 16;
    const int64_t x16_floats = m->mm ? (n * widest + 31) / 32 * 16 : 0;  /* bf16: two to a float */
    free(s->mem);
    s->n_cap = s->threads_cap = 0;
    s->x16 = NULL;
    if (!(s->mem = aligned_alloc(64, (size_t)(total + x16_floats) * sizeof(float))))
        return se_fail(SOFTENT_E_NOMEM, "out of memory for the activations of %lld tokens (%lld MB)", (long long)n,
                       (long long)(total >> 18));
    float *p = s->mem;
    for (int i = 0; i < n_parts; i++) {
        *parts[i].p = parts[i].len ? p : NULL;
        p += (parts[i].len + 15) / 16 * 16;
    }
    s->x16 = x16_floats ? (uint16_t *)p : NULL;
    s->n_cap = n;
    s->threads_cap = threads;
    return SOFTENT_OK;
}

/* ---- matrix products ----------------------------------------------------- */

/* W of slot w (its bias b) in layer L, whole: [out, in], as nn.Linear. */
static se_linear lin(const se_layer *L, int w, int b, int64_t in, int64_t out)
{
    se_linear r = {L->w[w].f32, L->w[w].bf16, L->w[b].f32, in, out, in, 0};
    return r;
}

/* Rows [row0, row0 + out) of a fused nn.Linear: a linear of their own. */
static se_linear lin_rows(const se_layer *L, int w, int b, int64_t in, int64_t row0, int64_t out)
{
    se_linear r = lin(L, w, b, in, out);
    if (r.w) r.w += row0 * in;
    if (r.w16) r.w16 += row0 * in;
    if (r.b) r.b += row0;
    return r;
}

/* Columns [col, col + out) of gpt2's Conv1D [in, ld]. */
static se_linear conv1d(const se_layer *L, int w, int b, int64_t in, int64_t out, int64_t ld, int64_t col)
{
    se_linear r = {L->w[w].f32, L->w[w].bf16, L->w[b].f32, in, out, ld, 1};
    if (r.w) r.w += col;
    if (r.w16) r.w16 += col;
    if (r.b) r.b += col;
    return r;
}

/* x [n, in] as the input of products: rounded to bf16 (into x16) when the
 * products are bf16.  Valid until the next operand. */
static se_operand operand(softent_model *m, const float *x, int64_t n, int64_t in)
{
    se_operand o = {x, NULL};
    if (m->mm) {
        se_to_bf16(m->s.x16, x, n * in);
        o.bf16 = m->s.x16;
    }
    return o;
}

static void matmul(softent_model *m, float *y, se_operand x, se_linear f, int64_t n, float beta)
{
    se_matmul_run(m->mm, y, x, f, n, beta);
}

/* ---- elementwise --------------------------------------------------------- */

/* out[i] = x[i] / sqrt(mean(x[i]^2) + eps) * (offset + w), each of `rows`
 * rows of dim (offset 1: gemma's norms, whose weights are stored less 1). */
static void rms_norm(float *out, const float *x, const float *w, int64_t rows, int64_t dim, double eps, float offset)
{
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < rows; i++) {
        const float *xi = x + i * dim;
        float *oi = out + i * dim;
        double ss = 0;
        for (int64_t j = 0; j < dim; j++) ss += (double)xi[j] * xi[j];
        float r = (float)(1.0 / sqrt(ss / dim + eps));
        for (int64_t j = 0; j < dim; j++) oi[j] = (offset + w[j]) * (xi[j] * r);
    }
}

static void norm(const softent_model *m, float *out, const float *x, const float *w, const float *b, int64_t n)
{
    if (m->c.layer_norm) se_layernorm(out, NULL, NULL, x, w, b, n, m->c.d_model, m->c.norm_eps);
    else rms_norm(out, x, w, n, m->c.d_model, m->c.norm_eps, m->c.norm_offset);
}

/* x sigmoid(x) = x / (1 + exp(-x)), through exp(-|x|), which the
 * vectorising exp takes and which never overflows:
 * x e^x / (1 + e^x) for x < 0. */
static inline float silu(float x)
{
    const float e = se_expf_nonpos(-fabsf(x));
    return (x >= 0 ? x : x * e) / (1.0f + e);
}

static inline float gelu_erf(float x)
{
    return 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2));
}

static inline float relu(float x)
{
    return x > 0 ? x : 0;
}

/* h = act(h), or act(h) * up for a gated MLP; [n, ff].  A loop per
 * activation, so that each vectorises. */
#define ACTIVATE(f)                                                              \
    _Pragma("omp parallel for schedule(static)")                                 \
    for (int64_t i = 0; i < len; i++) h[i] = up ? f(h[i]) * up[i] : f(h[i]);

SE_HOT static void mlp_activate(float *h, const float *up, int64_t len, se_act act)
{
    switch (act) {
    case SE_ACT_SILU: ACTIVATE(silu) break;
    case SE_ACT_GELU: ACTIVATE(gelu_erf) break;
    case SE_ACT_GELU_TANH: ACTIVATE(se_gelu_tanh1) break;
    default: ACTIVATE(relu) break;
    }
}
#undef ACTIVATE

static void add(float *x, const float *y, int64_t len)
{
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < len; i++) x[i] += y[i];
}

/* ---- attention ----------------------------------------------------------- */

/* cos/sin of position * inv_freq, the angle rounded to float32 as
 * transformers computes it. */
static void rope_table(const softent_model *m, int64_t n)
{
    const int64_t half = m->c.rotary_dim / 2;
    /* gemma3's sliding layers: a second table, of their own base */
    const int local = m->c.rope_local_theta > 0;
    /* longrope: the long factors once the sequence outgrows the original
     * context (as transformers' dynamic update picks them), and cos, sin
     * scaled by the attention factor */
    const int longrope = m->c.rope == SE_ROPE_LONGROPE;
    const float *inv_freq = m->inv_freq + (longrope && (double)n > m->c.original_max_pos ? half : 0);
    const float scale = (float)m->c.rope_attention_factor;  /* longrope, yarn; else 1 */
    if (m->c.rope == SE_ROPE_DYNAMIC && n > m->c.max_pos) {
        /* dynamic NTK: a base grown for this length (transformers'
         * _compute_dynamic_ntk_parameters at seq_len n), into the second
         * table's place; at most max_position_embeddings tokens keep the
         * plain frequencies */
        const double f = m->c.rope_factor, rd = (double)m->c.rotary_dim;
        const double base = m->c.rope_theta * pow(f * (double)n / (double)m->c.max_pos - (f - 1), rd / (rd - 2));
        float *grown = m->inv_freq + half;
        for (int64_t i = 0; i < half; i++) grown[i] = (float)(1.0 / pow(base, (double)(2 * i) / rd));
        inv_freq = grown;
    }
    #pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < n; p++)
        for (int64_t i = 0; i < half; i++) {
            float angle = (float)p * inv_freq[i];
            m->s.rope_cos[p * half + i] = (float)cos(angle) * scale;
            m->s.rope_sin[p * half + i] = (float)sin(angle) * scale;
            if (!local) continue;
            angle = (float)p * m->inv_freq[2 * half + i];
            m->s.rope_cos[(n + p) * half + i] = (float)cos(angle);
            m->s.rope_sin[(n + p) * half + i] = (float)sin(angle);
        }
}

/* x * cos + rotate_half(x) * sin on the first rotary_dim dimensions of
 * each head of each row (all of it but in gpt_neox): the first half of
 * those pairs with the second, rotate_half(x) = [-x2, x1]; the rest of the
 * head passes unrotated. */
static void rope_apply(const softent_model *m, float *x, int64_t n, int64_t heads, int local)
{
    const int64_t hd = m->c.head_dim, half = m->c.rotary_dim / 2;
    #pragma omp parallel for schedule(static)
    for (int64_t p = 0; p < n; p++) {
        const int64_t at = ((local ? n : 0) + p) * half;  /* local: gemma3's sliding layers' table */
        const float *cs = m->s.rope_cos + at, *sn = m->s.rope_sin + at;
        for (int64_t h = 0; h < heads; h++) {
            float *x1 = x + (p * heads + h) * hd, *x2 = x1 + half;
            for (int64_t i = 0; i < half; i++) {
                float a = x1[i], b = x2[i];
                x1[i] = a * cs[i] - b * sn[i];
                x2[i] = b * cs[i] + a * sn[i];
            }
        }
    }
}

/* att = softmax(q k^T * scale + causal mask) v per head, a query head h
 * reading kv head h / (H / KV).  A task is one head and SE_ATT_BLOCK
 * queries; it scores only the keys its queries may see (up to the block's
 * last query, from the sliding window's start), so causal attention does
 * half the work of a masked full product. */
SE_HOT static void attention(softent_model *m, int64_t n, float scale, int64_t window)
{
    const se_model_config *c = &m->c;
    se_run_state *s = &m->s;
    const int64_t H = c->n_heads, hd = c->head_dim, group = c->n_heads / c->n_kv_heads;
    const int64_t ldq = H * hd, ldk = c->n_kv_heads * hd;
    const int64_t blocks = (n + SE_ATT_BLOCK - 1) / SE_ATT_BLOCK;
    const float cap = (float)c->attn_softcap;
    /* Last blocks first: they are the longest, and dynamic scheduling then
     * fills the gaps with short ones. */
    #pragma omp parallel for schedule(dynamic, 1)
    for (int64_t task = 0; task < H * blocks; task++) {
        const int64_t blk = blocks - 1 - task / H, h = task % H, kvh = h / group;
        const int64_t i0 = blk * SE_ATT_BLOCK, i1 = i0 + SE_ATT_BLOCK < n ? i0 + SE_ATT_BLOCK : n, rows = i1 - i0;
        const int64_t j0 = window && i0 - window + 1 > 0 ? i0 - window + 1 : 0, keys = i1 - j0;
        float *S = s->scores + (int64_t)se_thread_id() * SE_ATT_BLOCK * s->n_cap;  /* [rows, keys] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)keys, (int)hd, scale,
                    s->q + i0 * ldq + h * hd, (int)ldq, s->k + j0 * ldk + kvh * hd, (int)ldk, 0.0f, S, (int)keys);
        for (int64_t r = 0; r < rows; r++) {
            const int64_t i = i0 + r;
            const int64_t lo = (window && i - window + 1 > j0 ? i - window + 1 : j0) - j0, hi = i - j0;  /* visible keys, inclusive */
            float *row = S + r * keys;
            if (cap > 0)  /* gemma2: soft-capped scores */
                for (int64_t j = lo; j <= hi; j++) row[j] = cap * tanhf(row[j] / cap);
            se_softmax_row(row + lo, hi - lo + 1);
            for (int64_t j = 0; j < lo; j++) row[j] = 0;
            for (int64_t j = hi + 1; j < keys; j++) row[j] = 0;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)hd, (int)keys, 1.0f, S, (int)keys,
                    s->v + j0 * ldk + kvh * hd, (int)ldk, 0.0f, s->att + i0 * ldq + h * hd, (int)ldq);
    }
}

/* ---- blocks -------------------------------------------------------------- */

/* qkv [n, H, 3, hd] into q, k, v [n, H, hd]. */
static void split_heads(se_run_state *s, int64_t n, int64_t heads, int64_t hd)
{
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        for (int64_t h = 0; h < heads; h++) {
            const float *src = s->qkv + (i * heads + h) * 3 * hd;
            const int64_t at = (i * heads + h) * hd;
            memcpy(s->q + at, src, (size_t)hd * sizeof(float));
            memcpy(s->k + at, src + hd, (size_t)hd * sizeof(float));
            memcpy(s->v + at, src + 2 * hd, (size_t)hd * sizeof(float));
        }
}

/* The attention sublayer of layer l on in [n, d]: q, k, v, norms, RoPE,
 * attention; leaves the heads' output in att (before o_proj). */
static void attention_block(softent_model *m, int64_t l, const float *in, int64_t n)
{
    const se_model_config *c = &m->c;
    const se_layer *L = &m->layers[l];
    se_run_state *s = &m->s;
    const int64_t d = c->d_model, qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    float scale = (float)c->attn_scale;
    const int local = c->rope_local_theta > 0 && c->sliding && c->sliding[l];
    const se_operand x = operand(m, in, n, d);
    if (c->fused_qkv) {
        /* gpt_neox: query_key_value's output is, per head, its q, k and v */
        matmul(m, s->qkv, x, lin(L, W_Q, W_Q_B, d, 3 * qd), n, 0);
        split_heads(s, n, c->n_heads, c->head_dim);
        rope_apply(m, s->q, n, c->n_heads, local);
        rope_apply(m, s->k, n, c->n_kv_heads, local);
    } else if (c->arch == SE_ARCH_GPT2) {
        /* c_attn [d, 3d] holds q, k and v side by side */
        matmul(m, s->q, x, conv1d(L, W_Q, W_Q_B, d, d, 3 * d, 0), n, 0);
        matmul(m, s->k, x, conv1d(L, W_Q, W_Q_B, d, d, 3 * d, d), n, 0);
        matmul(m, s->v, x, conv1d(L, W_Q, W_Q_B, d, d, 3 * d, 2 * d), n, 0);
        if (c->scale_by_layer) scale /= (float)(l + 1);
    } else {
        if (c->stacked_qkv) {  /* phi3: qkv_proj's rows are q, then k, then v */
            matmul(m, s->q, x, lin_rows(L, W_Q, W_Q_B, d, 0, qd), n, 0);
            matmul(m, s->k, x, lin_rows(L, W_Q, W_Q_B, d, qd, kvd), n, 0);
            matmul(m, s->v, x, lin_rows(L, W_Q, W_Q_B, d, qd + kvd, kvd), n, 0);
        } else {
            matmul(m, s->q, x, lin(L, W_Q, W_Q_B, d, qd), n, 0);
            matmul(m, s->k, x, lin(L, W_K, W_K_B, d, kvd), n, 0);
            matmul(m, s->v, x, lin(L, W_V, W_V_B, d, kvd), n, 0);
        }
        if (c->qk_norm == SE_QKNORM_HEAD) {  /* qwen3, gemma3: each head's vector */
            rms_norm(s->q, s->q, L->w[W_Q_NORM].f32, n * c->n_heads, c->head_dim, c->norm_eps, c->norm_offset);
            rms_norm(s->k, s->k, L->w[W_K_NORM].f32, n * c->n_kv_heads, c->head_dim, c->norm_eps, c->norm_offset);
        } else if (c->qk_norm == SE_QKNORM_FULL) {  /* olmo2: the whole projection */
            rms_norm(s->q, s->q, L->w[W_Q_NORM].f32, n, qd, c->norm_eps, 0);
            rms_norm(s->k, s->k, L->w[W_K_NORM].f32, n, kvd, c->norm_eps, 0);
        }
        rope_apply(m, s->q, n, c->n_heads, local);
        rope_apply(m, s->k, n, c->n_kv_heads, local);
    }
    attention(m, n, scale, c->sliding && c->sliding[l] ? c->sliding_window : 0);
}

/* The MLP's hidden layer on in [n, d], activated, into hb. */
static void mlp_block(softent_model *m, const se_layer *L, const float *in, int64_t n)
{
    const se_model_config *c = &m->c;
    se_run_state *s = &m->s;
    const se_operand x = operand(m, in, n, c->d_model);
    if (c->gated_mlp && c->fused_gate_up) {  /* phi3: gate_up_proj's rows are gate, then up */
        matmul(m, s->hb, x, lin_rows(L, W_GATE, W_GATE_B, c->d_model, 0, c->d_ff), n, 0);
        matmul(m, s->hb2, x, lin_rows(L, W_GATE, W_GATE_B, c->d_model, c->d_ff, c->d_ff), n, 0);
        mlp_activate(s->hb, s->hb2, n * c->d_ff, c->act);
    } else if (c->gated_mlp) {
        matmul(m, s->hb, x, lin(L, W_GATE, W_GATE_B, c->d_model, c->d_ff), n, 0);
        matmul(m, s->hb2, x, lin(L, W_UP, W_UP_B, c->d_model, c->d_ff), n, 0);
        mlp_activate(s->hb, s->hb2, n * c->d_ff, c->act);
    } else {
        const se_linear fc = c->arch == SE_ARCH_GPT2 ? conv1d(L, W_GATE, W_GATE_B, c->d_model, c->d_ff, c->d_ff, 0)
                                                  : lin(L, W_GATE, W_GATE_B, c->d_model, c->d_ff);
        matmul(m, s->hb, x, fc, n, 0);
        mlp_activate(s->hb, NULL, n * c->d_ff, c->act);
    }
}

static void layer_forward(softent_model *m, int64_t l, int64_t n)
{
    const se_model_config *c = &m->c;
    const se_layer *L = &m->layers[l];
    se_run_state *s = &m->s;
    const int64_t d = c->d_model, qd = c->n_heads * c->head_dim;
    const se_linear o = c->arch == SE_ARCH_GPT2 ? conv1d(L, W_O, W_O_B, d, d, d, 0) : lin(L, W_O, W_O_B, qd, d);
    const se_linear down = c->arch == SE_ARCH_GPT2 ? conv1d(L, W_DOWN, W_DOWN_B, c->d_ff, d, d, 0) : lin(L, W_DOWN, W_DOWN_B, c->d_ff, d);
    if (c->parallel_residual) {
        /* gpt_neox: h = h + attn(norm1(h)) + mlp(norm2(h)), both norms of
         * the same h */
        norm(m, s->xb, s->x, L->w[W_ATTN_NORM].f32, L->w[W_ATTN_NORM_B].f32, n);
        attention_block(m, l, s->xb, n);
        norm(m, s->xb, s->x, L->w[W_MLP_NORM].f32, L->w[W_MLP_NORM_B].f32, n);
        mlp_block(m, L, s->xb, n);
        matmul(m, s->x, operand(m, s->att, n, qd), o, n, 1);
        matmul(m, s->x, operand(m, s->hb, n, c->d_ff), down, n, 1);
    } else if (c->post_norm) {
        /* olmo2: h = h + norm(attn(h)); h = h + norm(mlp(h));
         * gemma2 norms the input too: h = h + norm2(attn(norm1(h))), ... */
        const float *in = s->x;
        if (c->pre_and_post_norm) norm(m, s->xb, s->x, L->w[W_ATTN_NORM].f32, NULL, n), in = s->xb;
        attention_block(m, l, in, n);
        matmul(m, s->out, operand(m, s->att, n, qd), o, n, 0);
        rms_norm(s->out, s->out, L->w[W_ATTN_POST_NORM].f32, n, d, c->norm_eps, c->norm_offset);
        add(s->x, s->out, n * d);
        in = s->x;
        if (c->pre_and_post_norm) norm(m, s->xb, s->x, L->w[W_MLP_NORM].f32, NULL, n), in = s->xb;
        mlp_block(m, L, in, n);
        matmul(m, s->out, operand(m, s->hb, n, c->d_ff), down, n, 0);
        rms_norm(s->out, s->out, L->w[W_MLP_POST_NORM].f32, n, d, c->norm_eps, c->norm_offset);
        add(s->x, s->out, n * d);
    } else {
        /* h = h + attn(norm(h)); h = h + mlp(norm(h)): the output
         * projections add into the residual stream directly (beta = 1) */
        norm(m, s->xb, s->x, L->w[W_ATTN_NORM].f32, L->w[W_ATTN_NORM_B].f32, n);
        attention_block(m, l, s->xb, n);
        matmul(m, s->x, operand(m, s->att, n, qd), o, n, 1);
        norm(m, s->xb, s->x, L->w[W_MLP_NORM].f32, L->w[W_MLP_NORM_B].f32, n);
        mlp_block(m, L, s->xb, n);
        matmul(m, s->x, operand(m, s->hb, n, c->d_ff), down, n, 1);
    }
}

/* Token embeddings (times gemma's scale; + gpt2's position embeddings) into x. */
static void embed(softent_model *m, const int32_t *tokens, int64_t n)
{
    const int64_t d = m->c.d_model;
    const float scale = (float)sqrt((double)d);  /* gemma's normalizer, in the hidden states' dtype */
    #pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float *xi = m->s.x + i * d;
        se_st_to_f32(m->embed, (int64_t)tokens[i] * d, d, xi);
        if (m->c.embed_scaled)
            for (int64_t j = 0; j < d; j++) xi[j] *= scale;
    }
    if (m->pos) {  /* positions 0..n-1 are the first n rows */
        se_st_to_f32(m->pos, 0, n * d, m->s.xb);
        add(m->s.x, m->s.xb, n * d);
    }
}

/* logits [n, vocab] = h . lm_head^T, converting the head a chunk of rows
 * at a time when it is not float32. */
static void lm_head(softent_model *m, const float *h, int64_t n, float *logits)
{
    const int64_t d = m->c.d_model, V = m->c.vocab;
    if (se_st_is_f32(m->lm_head)) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)V, (int)d, 1.0f, h, (int)d,
                    (const float *)m->lm_head->data, (int)d, 0.0f, logits, (int)V);
    } else {
        for (int64_t v0 = 0; v0 < V; v0 += m->lm_chunk) {
            const int64_t rows = v0 + m->lm_chunk < V ? m->lm_chunk : V - v0;
            se_st_to_f32(m->lm_head, v0 * d, rows * d, m->wbuf);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)rows, (int)d, 1.0f, h, (int)d,
                        m->wbuf, (int)d, 0.0f, logits + v0, (int)V);
        }
    }
    const float cap = (float)m->c.final_softcap;
    if (cap > 0) {  /* gemma2 */
        #pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n * V; i++) logits[i] = cap * tanhf(logits[i] / cap);
    }
}

int softent_model_forward(softent_model *m, const int32_t *tokens, int64_t n, softent_hidden_fn on_hidden,
                          void *user, float *logits)
{
    if (!m || !tokens) return se_fail(SOFTENT_E_INVALID, "softent_model_forward: NULL model or tokens");
    const se_model_config *c = &m->c;
    if (n < 1) return se_fail(SOFTENT_E_INVALID, "softent_model_forward: %lld tokens; need at least one", (long long)n);
    if (n > INT32_MAX / SE_ATT_BLOCK)  /* sgemm takes int dimensions */
        return se_fail(SOFTENT_E_INVALID, "softent_model_forward: %lld tokens is too many for one pass", (long long)n);
    if (m->pos && n > c->max_pos)
        return se_fail(SOFTENT_E_INVALID, "%lld tokens exceed the model's %lld learned positions (n_positions)", (long long)n,
                       (long long)c->max_pos);
    for (int64_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= c->vocab)
            return se_fail(SOFTENT_E_INVALID, "token %lld at position %lld is outside the vocabulary [0, %lld)",
                           (long long)tokens[i], (long long)i, (long long)c->vocab);
    int rc = run_state_reserve(m, n);
    if (rc) return rc;
    se_run_state *s = &m->s;
    const int64_t d = c->d_model;

    embed(m, tokens, n);
    if (c->rope != SE_ROPE_NONE) rope_table(m, n);
    if (on_hidden && (rc = on_hidden(0, s->x, n, d, user))) return rc;
    for (int64_t l = 0; l < c->n_layers; l++) {
        se_model_load_layer(m, l);
        layer_forward(m, l, n);
        if ((rc = se_matmul_status(m->mm))) return rc;
        if (on_hidden && l + 1 < c->n_layers && (rc = on_hidden((int)l + 1, s->x, n, d, user))) return rc;
    }
    /* The last hidden state is taken after the final norm, as transformers does. */
    norm(m, s->xb, s->x, m->final_norm, m->final_norm + d, n);
    if (on_hidden && (rc = on_hidden((int)c->n_layers, s->xb, n, d, user))) return rc;
    if (logits) lm_head(m, s->xb, n, logits);
    return SOFTENT_OK;
}
