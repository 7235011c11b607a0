/*
 * model.c - loading a model directory: config, mapped weights, each tensor
 * the architecture needs bound by its transformers name with its shape
 * checked, the RoPE frequencies, the float32 buffer that one layer at a
 * time is converted into, and the bf16 weights of bf16 products (see
 * model.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "gguf_model.h"
#include "model.h"
#include "softent_gguf.h"

#define ALIGN_FLOATS 16  /* converted weights start on 64-byte boundaries */

/* The name and shape of a layer weight in this architecture; 0 when the
 * architecture (or this config of it) has no such weight. */
static int layer_tensor(const se_model_config *c, const char *prefix, int64_t l, int slot,
                        char *name, size_t cap, int *ndim, int64_t shape[2])
{
    const int64_t d = c->d_model, ff = c->d_ff, qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    const char *suffix = NULL;
    int64_t rows = 0, cols = 0;  /* cols 0: a vector */
    if (c->arch == SE_ARCH_GPT2) {
        switch (slot) {
        case W_ATTN_NORM: suffix = "ln_1.weight", rows = d; break;
        case W_ATTN_NORM_B: suffix = "ln_1.bias", rows = d; break;
        case W_Q: suffix = "attn.c_attn.weight", rows = d, cols = 3 * d; break;  /* Conv1D: [in, out] */
        case W_Q_B: suffix = "attn.c_attn.bias", rows = 3 * d; break;
        case W_O: suffix = "attn.c_proj.weight", rows = d, cols = d; break;
        case W_O_B: suffix = "attn.c_proj.bias", rows = d; break;
        case W_MLP_NORM: suffix = "ln_2.weight", rows = d; break;
        case W_MLP_NORM_B: suffix = "ln_2.bias", rows = d; break;
        case W_GATE: suffix = "mlp.c_fc.weight", rows = d, cols = ff; break;
        case W_GATE_B: suffix = "mlp.c_fc.bias", rows = ff; break;
        case W_DOWN: suffix = "mlp.c_proj.weight", rows = ff, cols = d; break;
        case W_DOWN_B: suffix = "mlp.c_proj.bias", rows = d; break;
        default: return 0;
        }
        snprintf(name, cap, "%sh.%lld.%s", prefix, (long long)l, suffix);
    } else if (c->arch == SE_ARCH_GPT_NEOX) {
        switch (slot) {
        case W_ATTN_NORM: suffix = "input_layernorm.weight", rows = d; break;
        case W_ATTN_NORM_B: suffix = "input_layernorm.bias", rows = d; break;
        case W_Q: suffix = "attention.query_key_value.weight", rows = 3 * d, cols = d; break;  /* per head: q, k, v */
        case W_Q_B: if (c->qkv_bias) suffix = "attention.query_key_value.bias", rows = 3 * d; break;
        case W_O: suffix = "attention.dense.weight", rows = d, cols = d; break;
        case W_O_B: if (c->o_bias) suffix = "attention.dense.bias", rows = d; break;
        case W_MLP_NORM: suffix = "post_attention_layernorm.weight", rows = d; break;
        case W_MLP_NORM_B: suffix = "post_attention_layernorm.bias", rows = d; break;
        case W_GATE: suffix = "mlp.dense_h_to_4h.weight", rows = ff, cols = d; break;
        case W_GATE_B: suffix = "mlp.dense_h_to_4h.bias", rows = ff; break;
        case W_DOWN: suffix = "mlp.dense_4h_to_h.weight", rows = d, cols = ff; break;
        case W_DOWN_B: suffix = "mlp.dense_4h_to_h.bias", rows = d; break;
        default: break;
        }
        if (!suffix) return 0;
        snprintf(name, cap, "%slayers.%lld.%s", prefix, (long long)l, suffix);
    } else {
        const int64_t qk_norm = c->qk_norm == SE_QKNORM_HEAD ? c->head_dim : qd;
        switch (slot) {
        case W_ATTN_NORM: if (!c->post_norm || c->pre_and_post_norm) suffix = "input_layernorm.weight", rows = d; break;
        case W_ATTN_POST_NORM: if (c->post_norm) suffix = "post_attention_layernorm.weight", rows = d; break;
        case W_MLP_POST_NORM: if (c->post_norm) suffix = "post_feedforward_layernorm.weight", rows = d; break;
        case W_Q:
            if (c->stacked_qkv) suffix = "self_attn.qkv_proj.weight", rows = qd + 2 * kvd, cols = d;  /* phi3 */
            else suffix = "self_attn.q_proj.weight", rows = qd, cols = d;
            break;
        case W_K: if (!c->stacked_qkv) suffix = "self_attn.k_proj.weight", rows = kvd, cols = d; break;
        case W_V: if (!c->stacked_qkv) suffix = "self_attn.v_proj.weight", rows = kvd, cols = d; break;
        case W_O: suffix = "self_attn.o_proj.weight", rows = d, cols = qd; break;
        case W_Q_B: if (c->qkv_bias) suffix = "self_attn.q_proj.bias", rows = qd; break;
        case W_K_B: if (c->qkv_bias) suffix = "self_attn.k_proj.bias", rows = kvd; break;
        case W_V_B: if (c->qkv_bias) suffix = "self_attn.v_proj.bias", rows = kvd; break;
        case W_O_B: if (c->o_bias) suffix = "self_attn.o_proj.bias", rows = d; break;
        case W_Q_NORM: if (c->qk_norm) suffix = "self_attn.q_norm.weight", rows = qk_norm; break;
        case W_K_NORM:
            if (c->qk_norm) suffix = "self_attn.k_norm.weight", rows = c->qk_norm == SE_QKNORM_HEAD ? c->head_dim : kvd;
            break;
        case W_MLP_NORM:
            if (!c->post_norm) suffix = "post_attention_layernorm.weight", rows = d;
            else if (c->pre_and_post_norm) suffix = "pre_feedforward_layernorm.weight", rows = d;
            break;
        case W_GATE:
            if (c->fused_gate_up) suffix = "mlp.gate_up_proj.weight", rows = 2 * ff, cols = d;  /* phi3 */
            else suffix = "mlp.gate_proj.weight", rows = ff, cols = d;
            break;
        case W_UP: if (!c->fused_gate_up) suffix = "mlp.up_proj.weight", rows = ff, cols = d; break;
        case W_DOWN: suffix = "mlp.down_proj.weight", rows = d, cols = ff; break;
        case W_GATE_B: if (c->mlp_bias) suffix = "mlp.gate_proj.bias", rows = ff; break;
        case W_UP_B: if (c->mlp_bias) suffix = "mlp.up_proj.bias", rows = ff; break;
        case W_DOWN_B: if (c->mlp_bias) suffix = "mlp.down_proj.bias", rows = d; break;
        default: break;
        }
        if (!suffix) return 0;
        snprintf(name, cap, "%slayers.%lld.%s", prefix, (long long)l, suffix);
    }
    shape[0] = rows, shape[1] = cols;
    *ndim = cols ? 2 : 1;
    return 1;
}

/* The base model's own tensors, by architecture: where they sit in the
 * *ForCausalLM model transformers saves, the embedding, the final norm and
 * the separate lm_head. */
static const struct {
    const char *prefix, *embed, *norm, *norm_bias, *lm_head;
} NAMES[] = {
    [SE_ARCH_GPT2] = {"transformer.", "wte.weight", "ln_f.weight", "ln_f.bias", "lm_head.weight"},
    [SE_ARCH_LLAMA] = {"model.", "embed_tokens.weight", "norm.weight", NULL, "lm_head.weight"},
    [SE_ARCH_MISTRAL] = {"model.", "embed_tokens.weight", "norm.weight", NULL, "lm_head.weight"},
    [SE_ARCH_QWEN2] = {"model.", "embed_tokens.weight", "norm.weight", NULL, "lm_head.weight"},
    [SE_ARCH_QWEN3] = {"model.", "embed_tokens.weight", "norm.weight", NULL, "lm_head.weight"},
    [SE_ARCH_OLMO2] = {"model.", "embed_tokens.weight", "norm.weight", NULL, "lm_head.weight"},
    [SE_ARCH_GEMMA] = {"model.", "embed_tokens.weight", "norm.weight", NULL, "lm_head.weight"},
    [SE_ARCH_GEMMA2] = {"model.", "embed_tokens.weight", "norm.weight", NULL, "lm_head.weight"},
    [SE_ARCH_GEMMA3] = {"model.", "embed_tokens.weight", "norm.weight", NULL, "lm_head.weight"},
    [SE_ARCH_PHI3] = {"model.", "embed_tokens.weight", "norm.weight", NULL, "lm_head.weight"},
    [SE_ARCH_GPT_NEOX] = {"gpt_neox.", "embed_in.weight", "final_layer_norm.weight", "final_layer_norm.bias", "embed_out.weight"},
};

/* The prefix of the base model's names; a bare base model has none. */
static const char *name_prefix(const softent_model *m)
{
    char prefixed[128];
    snprintf(prefixed, sizeof prefixed, "%s%s", NAMES[m->c.arch].prefix, NAMES[m->c.arch].embed);
    if (!se_st_find(m->st, prefixed) && se_st_find(m->st, NAMES[m->c.arch].embed)) return "";
    return NAMES[m->c.arch].prefix;  /* also when neither: the error names the usual tensor */
}

static int get(const softent_model *m, const char *prefix, const char *suffix, int ndim, int64_t d0, int64_t d1,
               const se_st_tensor **out)
{
    char name[256];
    snprintf(name, sizeof name, "%s%s", prefix, suffix);
    int64_t shape[2] = {d0, d1};
    return se_st_get(m->st, name, ndim, shape, out);
}

static int bind_tensors(softent_model *m)
{
    const se_model_config *c = &m->c;
    const char *prefix = name_prefix(m);
    const se_st_tensor *norm_w, *norm_b = NULL;
    int rc = get(m, prefix, NAMES[c->arch].embed, 2, c->vocab, c->d_model, &m->embed);
    if (!rc && c->arch == SE_ARCH_GPT2) rc = get(m, prefix, "wpe.weight", 2, c->max_pos, c->d_model, &m->pos);
    if (!rc) rc = get(m, prefix, NAMES[c->arch].norm, 1, c->d_model, 0, &norm_w);
    if (!rc && NAMES[c->arch].norm_bias) rc = get(m, prefix, NAMES[c->arch].norm_bias, 1, c->d_model, 0, &norm_b);
    m->lm_head = m->embed;
    if (!rc && !c->tie_embeddings) rc = get(m, "", NAMES[c->arch].lm_head, 2, c->vocab, c->d_model, &m->lm_head);
    if (rc) return rc;

    if (!(m->final_norm = calloc(2 * (size_t)c->d_model, sizeof(float))) ||
        !(m->layers = calloc((size_t)c->n_layers, sizeof *m->layers)))
        return se_fail(SOFTENT_E_NOMEM, "out of memory");
    se_st_to_f32(norm_w, 0, c->d_model, m->final_norm);
    if (norm_b) se_st_to_f32(norm_b, 0, c->d_model, m->final_norm + c->d_model);

    /* Each layer's tensors; those not usable in place get a slot in wbuf. */
    int64_t need = 0;
    for (int64_t l = 0; l < c->n_layers; l++) {
        int64_t off = 0;
        for (int slot = 0; slot < W_COUNT; slot++) {
            se_weight *w = &m->layers[l].w[slot];
            char name[256];
            int ndim;
            int64_t shape[2];
            w->buf_off = -1;
            if (!layer_tensor(c, prefix, l, slot, name, sizeof name, &ndim, shape)) continue;
            if ((rc = se_st_get(m->st, name, ndim, shape, &w->t))) return rc;
            if (!se_st_is_f32(w->t)) {
                w->buf_off = off;
                off += (w->t->e.numel + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
            }
        }
        if (off > need) need = off;
    }
    /* The lm_head is converted in chunks of rows into the same buffer. */
    if (!se_st_is_f32(m->lm_head)) {
        int64_t rows = need / c->d_model;
        m->lm_chunk = rows < 4096 ? 4096 : rows;
        if (m->lm_chunk > c->vocab) m->lm_chunk = c->vocab;
        if (m->lm_chunk * c->d_model > need) need = m->lm_chunk * c->d_model;
    }
    m->wbuf_len = need;
    if (need && !(m->wbuf = aligned_alloc(64, (size_t)need * sizeof(float))))
        return se_fail(SOFTENT_E_NOMEM, "out of memory for a layer's weights in float32 (%lld MB)", (long long)(need >> 18));
    return SOFTENT_OK;
}

/* A GGUF file's rope_freqs.weight [hd/2]: the frequency factors that
 * llama.cpp's converter writes for llama3's RoPE scaling (each frequency
 * divided by its factor), applied as llama.cpp applies them. */
static int rope_freq_factors(softent_model *m, int64_t half)
{
    const se_st_tensor *t = se_st_find(m->st, "rope_freqs.weight");
    if (!t || t->ggml_type < 0) return SOFTENT_OK;
    const int64_t shape[2] = {half, 0};
    int rc = se_st_get(m->st, "rope_freqs.weight", 1, shape, &t);
    float *f = rc ? NULL : malloc((size_t)half * sizeof *f);
    if (!rc && !f) rc = se_fail(SOFTENT_E_NOMEM, "out of memory");
    if (!rc) se_st_to_f32(t, 0, half, f);
    for (int64_t i = 0; !rc && i < half; i++) {
        if (!(f[i] > 0 && f[i] < 1e6)) rc = se_fail(SOFTENT_E_FORMAT, "%s: rope_freqs.weight[%lld] = %g: a frequency factor must be in (0, 1e6)", t->file, (long long)i, f[i]);
        else m->inv_freq[i] = m->inv_freq[i] / f[i];
    }
    free(f);
    return rc;
}

/* inv_freq as transformers' rope init functions compute it (in float32):
 * theta^(-2i/rd) over the rotary_dim rd of a head, then "linear" divides by factor, "llama3" divides the
 * long wavelengths by factor and blends the middle band, and "yarn" blends
 * them with the ones divided by factor along its ramp ("dynamic" depends on
 * the sequence's length: forward.c). */
static int init_rope(softent_model *m)
{
    const se_model_config *c = &m->c;
    if (c->rope == SE_ROPE_NONE) return SOFTENT_OK;
    if (c->rope == SE_ROPE_DYNAMIC && c->rotary_dim <= 2)  /* its base grows by a power d / (d - 2) */
        return se_fail(SOFTENT_E_FORMAT, "dynamic RoPE scaling needs more than 2 rotated dimensions a head, not %lld", (long long)c->rotary_dim);
    const int64_t half = c->rotary_dim / 2;
    if (!(m->inv_freq = malloc((size_t)half * 3 * sizeof(float)))) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    for (int64_t i = 0; i < half; i++) {
        /* gemma3's sliding layers: their own base, unscaled */
        if (c->rope_local_theta > 0) m->inv_freq[2 * half + i] = (float)(1.0 / pow(c->rope_local_theta, (double)(2 * i) / (double)c->rotary_dim));
        float inv = (float)(1.0 / pow(c->rope_theta, (double)(2 * i) / (double)c->rotary_dim));
        if (c->rope == SE_ROPE_LONGROPE) {
            /* 1 / (factor * theta^(2i/rd)), short and long */
            m->inv_freq[half + i] = (float)(1.0 / ((double)c->rope_long[i] * pow(c->rope_theta, (double)(2 * i) / (double)c->rotary_dim)));
            inv = (float)(1.0 / ((double)c->rope_short[i] * pow(c->rope_theta, (double)(2 * i) / (double)c->rotary_dim)));
        }
        if (c->rope == SE_ROPE_LINEAR) {
            inv = (float)(inv / c->rope_factor);
        } else if (c->rope == SE_ROPE_YARN) {
            /* the fast frequencies (i below the ramp) extrapolated as they
             * are, the slow ones (above it) interpolated, in float32 */
            const float pos = (float)pow(c->rope_theta, (double)(2 * i) / (double)c->rotary_dim);
            const float extrapolated = 1.0f / pos, interpolated = 1.0f / ((float)c->rope_factor * pos);
            float ramp = (float)(((double)i - c->yarn_low) / (c->yarn_high - c->yarn_low));
            ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
            const float keep = 1.0f - ramp;
            inv = interpolated * (1.0f - keep) + extrapolated * keep;
        } else if (c->rope == SE_ROPE_LLAMA3) {
            double wavelen = 2 * M_PI / inv;
            double low_wavelen = c->original_max_pos / c->low_freq_factor;
            double high_wavelen = c->original_max_pos / c->high_freq_factor;
            if (wavelen > low_wavelen) {
                inv = (float)(inv / c->rope_factor);
            } else if (wavelen >= high_wavelen) {
                double smooth = (c->original_max_pos / wavelen - c->low_freq_factor) / (c->high_freq_factor - c->low_freq_factor);
                inv = (float)((1 - smooth) * inv / c->rope_factor + smooth * inv);
            }
        }
        m->inv_freq[i] = inv;
    }
    return rope_freq_factors(m, half);
}

/* A .gguf file: its metadata as the config, its tensors by transformers' names. */
static int load_gguf(softent_model *m, const char *path)
{
    softent_gguf *g;
    int rc = softent_gguf_open(&g, path);
    if (rc) return rc;
    if ((rc = se_gguf_config(&m->c, g, path))) {
        softent_gguf_close(g);
        return rc;
    }
    return se_st_open_gguf(&m->st, g, path, m->c.model_type, m->c.n_heads, m->c.n_kv_heads);
}

int softent_model_load(softent_model **out, const char *dir)
{
    *out = NULL;
    softent_model *m = calloc(1, sizeof *m);
    if (!m) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    int rc = SOFTENT_OK;
    if (se_is_gguf_path(dir)) rc = load_gguf(m, dir);
    else if (!(rc = se_model_config_load(&m->c, dir))) rc = se_st_open(&m->st, dir);
    if (!rc) rc = bind_tensors(m);
    if (!rc) rc = init_rope(m);
    if (!rc) rc = softent_model_set_compute(m, SOFTENT_COMPUTE_AUTO);
    if (rc) { softent_model_free(m); return rc; }
    *out = m;
    return SOFTENT_OK;
}

void softent_model_free(softent_model *m)
{
    if (!m) return;
    free(m->s.mem);
    free(m->wbuf);
    free(m->w16);
    se_matmul_free(m->mm);
    free(m->layers);
    free(m->inv_freq);
    free(m->final_norm);
    se_st_close(m->st);
    se_model_config_free(&m->c);
    free(m);
}

int softent_model_get_config(const softent_model *m, softent_model_config *out)
{
    if (!m || !out) return se_fail(SOFTENT_E_INVALID, "softent_model_get_config: NULL argument");
    const se_model_config *c = &m->c;
    memset(out, 0, sizeof *out);
    snprintf(out->arch, sizeof out->arch, "%s", c->model_type);
    out->n_layers = (int)c->n_layers;
    out->d_model = (int)c->d_model;
    out->n_heads = (int)c->n_heads;
    out->n_kv_heads = (int)c->n_kv_heads;
    out->head_dim = (int)c->head_dim;
    out->d_ff = (int)c->d_ff;
    out->vocab_size = (int)c->vocab;
    out->max_positions = c->max_pos > INT32_MAX ? INT32_MAX : (int)c->max_pos;
    return SOFTENT_OK;
}

void se_model_load_layer(softent_model *m, int64_t l)
{
    for (int slot = 0; slot < W_COUNT; slot++) {
        se_weight *w = &m->layers[l].w[slot];
        if (!w->t || w->bf16) {  /* (a bf16 matrix is ready as it is) */
            w->f32 = NULL;
        } else if (w->buf_off < 0) {
            w->f32 = (const float *)w->t->data;
        } else {
            se_st_to_f32(w->t, 0, w->t->e.numel, m->wbuf + w->buf_off);
            w->f32 = m->wbuf + w->buf_off;
        }
    }
}

/* ---- the products' arithmetic ------------------------------------------- */

/* Whether the weights are stored as bf16 (the first layer's q projection
 * speaks for the checkpoint; in a GGUF file its rows may be reordered,
 * and so not usable in place, but its values are bf16 all the same). */
static int stored_bf16(const softent_model *m)
{
    return m->c.n_layers > 0 && m->layers[0].w[W_Q].t && m->layers[0].w[W_Q].t->e.dtype == SOFTENT_BF16;
}

/* Every weight matrix as bf16: BF16 tensors in place, the others rounded
 * into one buffer, w16. */
static int bind_bf16(softent_model *m)
{
    int64_t copy = 0, widest = 0;
    for (int64_t l = 0; l < m->c.n_layers; l++)
        for (int slot = 0; slot < W_COUNT; slot++) {
            const se_st_tensor *t = m->layers[l].w[slot].t;
            if (!t || !se_slot_is_matrix(slot) || se_st_is_bf16(t)) continue;
            copy += (t->e.numel + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
            if (t->e.numel > widest) widest = t->e.numel;
        }
    float *f32 = NULL;
    if (copy && (!(m->w16 = aligned_alloc(64, (size_t)copy * sizeof *m->w16)) ||
                 !(f32 = malloc((size_t)widest * sizeof *f32)))) {
        free(m->w16);
        m->w16 = NULL;
        return se_fail(SOFTENT_E_NOMEM, "out of memory for the weights in bf16 (%lld MB); run in float32 (--compute f32)",
                       (long long)(copy >> 19));
    }
    int64_t at = 0;
    for (int64_t l = 0; l < m->c.n_layers; l++)
        for (int slot = 0; slot < W_COUNT; slot++) {
            se_weight *w = &m->layers[l].w[slot];
            if (!w->t || !se_slot_is_matrix(slot)) continue;
            if (se_st_is_bf16(w->t)) {
                w->bf16 = (const uint16_t *)w->t->data;
                continue;
            }
            se_st_to_f32(w->t, 0, w->t->e.numel, f32);
            se_st_release(w->t);  /* the copy is what the products read: the file's pages can go */
            se_to_bf16(m->w16 + at, f32, w->t->e.numel);
            w->bf16 = m->w16 + at;
            at += (w->t->e.numel + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
        }
    free(f32);
    return SOFTENT_OK;
}

/* Back to float32 products: the bf16 state dropped. */
static void unbind_bf16(softent_model *m)
{
    for (int64_t l = 0; l < m->c.n_layers; l++)
        for (int slot = 0; slot < W_COUNT; slot++) m->layers[l].w[slot].bf16 = NULL;
    free(m->w16);
    m->w16 = NULL;
    se_matmul_free(m->mm);
    m->mm = NULL;
    m->compute = SOFTENT_COMPUTE_F32;
}

int softent_model_set_compute(softent_model *m, softent_compute compute)
{
    if (!m) return se_fail(SOFTENT_E_INVALID, "softent_model_set_compute: NULL model");
    if (compute == SOFTENT_COMPUTE_AUTO) compute = stored_bf16(m) && se_bf16_native() ? SOFTENT_COMPUTE_BF16 : SOFTENT_COMPUTE_F32;
    if (compute != SOFTENT_COMPUTE_F32 && compute != SOFTENT_COMPUTE_BF16)
        return se_fail(SOFTENT_E_INVALID, "softent_model_set_compute: %d is not a softent_compute", (int)compute);
    if (compute == m->compute && (compute == SOFTENT_COMPUTE_F32 || m->mm)) return SOFTENT_OK;
    unbind_bf16(m);
    if (compute == SOFTENT_COMPUTE_F32) return SOFTENT_OK;
    int rc = se_matmul_new(&m->mm);
    if (!rc) rc = bind_bf16(m);
    if (rc) { unbind_bf16(m); return rc; }
    m->compute = SOFTENT_COMPUTE_BF16;
    return SOFTENT_OK;
}

softent_compute softent_model_get_compute(const softent_model *m)
{
    return m && m->compute == SOFTENT_COMPUTE_BF16 ? SOFTENT_COMPUTE_BF16 : SOFTENT_COMPUTE_F32;
}
