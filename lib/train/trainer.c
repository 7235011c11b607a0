/* train.c - the trainer: settings, schedule, data windows, initialisation, AdamW (see softent_train.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/hash.h"
#include "common/rng.h"
#include "trainer.h"

#define INIT_STD 0.02           /* GPT-2's initializer_range */
#define NORM_CHUNK 65536        /* elements a partial sum of the gradient norm covers */

softent_train_params softent_train_default_params(void)
{
    softent_train_params p = {
        .n_layer = 4, .d_model = 128, .n_head = 4, .context = 128, .vocab_size = 0, .eos_id = -1,
        .batch = 16, .steps = 2000, .lr = 3e-3, .warmup_frac = 0.05, .min_lr_frac = 0.1,
        .weight_decay = 0.1, .grad_clip = 1.0, .beta1 = 0.9, .beta2 = 0.95, .adam_eps = 1e-8,
        .seed = 0, .n_checkpoints = 12, .val_fraction = 0.05, .val_batches = 8,
    };
    return p;
}

static int in_unit(double x, int open_top) { return x >= 0 && (open_top ? x < 1 : x <= 1); }

int softent_train_check_params(const softent_train_params *p)
{
    if (p->n_layer < 1 || p->n_layer > 1024) return se_fail(SOFTENT_E_INVALID, "layers = %d: need 1..1024", p->n_layer);
    if (p->n_head < 1 || p->d_model < 1 || p->d_model > 65536 || p->d_model % p->n_head)
        return se_fail(SOFTENT_E_INVALID, "d_model = %d with %d heads: d_model must be a multiple of the heads, at most 65536", p->d_model, p->n_head);
    if (p->context < 1 || p->context > 65536) return se_fail(SOFTENT_E_INVALID, "context = %d: need 1..65536", p->context);
    if (p->vocab_size < 1) return se_fail(SOFTENT_E_INVALID, "vocab_size = %d: need at least 1", p->vocab_size);
    if (p->eos_id < -1 || p->eos_id >= p->vocab_size) return se_fail(SOFTENT_E_INVALID, "eos_id = %d is outside the vocabulary of %d", p->eos_id, p->vocab_size);
    if (p->batch < 1 || p->batch > 65536) return se_fail(SOFTENT_E_INVALID, "batch = %d: need 1..65536", p->batch);
    /* sgemm takes int dimensions: B*T rows of V logits */
    if ((int64_t)p->batch * p->context > INT32_MAX / 4 || (double)p->batch * p->context * p->vocab_size > 4e9)
        return se_fail(SOFTENT_E_INVALID, "batch %d x context %d x vocabulary %d is too large for one step", p->batch, p->context, p->vocab_size);
    if (p->steps < 1) return se_fail(SOFTENT_E_INVALID, "steps = %lld: need at least 1", (long long)p->steps);
    if (!(p->lr > 0) || !isfinite(p->lr)) return se_fail(SOFTENT_E_INVALID, "learning rate %g: need a positive number", p->lr);
    if (!in_unit(p->warmup_frac, 0)) return se_fail(SOFTENT_E_INVALID, "warmup fraction %g: need 0..1", p->warmup_frac);
    if (!in_unit(p->min_lr_frac, 0)) return se_fail(SOFTENT_E_INVALID, "final learning-rate fraction %g: need 0..1", p->min_lr_frac);
    if (!(p->weight_decay >= 0) || !isfinite(p->weight_decay)) return se_fail(SOFTENT_E_INVALID, "weight decay %g: need >= 0", p->weight_decay);
    if (!(p->grad_clip >= 0) || !isfinite(p->grad_clip)) return se_fail(SOFTENT_E_INVALID, "gradient clip %g: need >= 0 (0: none)", p->grad_clip);
    if (!in_unit(p->beta1, 1) || !in_unit(p->beta2, 1)) return se_fail(SOFTENT_E_INVALID, "AdamW betas (%g, %g): need 0 <= beta < 1", p->beta1, p->beta2);
    if (!(p->adam_eps > 0) || !isfinite(p->adam_eps)) return se_fail(SOFTENT_E_INVALID, "AdamW eps %g: need > 0", p->adam_eps);
    if (p->n_checkpoints < 1) return se_fail(SOFTENT_E_INVALID, "checkpoints = %d: need at least 1", p->n_checkpoints);
    if (!in_unit(p->val_fraction, 1)) return se_fail(SOFTENT_E_INVALID, "validation fraction %g: need 0 <= f < 1", p->val_fraction);
    if (p->val_batches < 1) return se_fail(SOFTENT_E_INVALID, "validation batches = %d: need at least 1", p->val_batches);
    return SOFTENT_OK;
}

/* ---- schedule ----------------------------------------------------------- */

static int64_t warmup_steps(const softent_train_params *p) { return llround(p->warmup_frac * (double)p->steps); }

double softent_train_lr(const softent_train_params *p, int64_t step)
{
    const int64_t W = warmup_steps(p);
    if (step <= W) return p->lr * (double)step / (double)W;
    const double progress = (double)(step - W) / (double)(p->steps - W);   /* (0, 1] */
    const double lo = p->lr * p->min_lr_frac;
    return lo + 0.5 * (p->lr - lo) * (1.0 + cos(M_PI * (progress > 1 ? 1 : progress)));
}

int softent_train_checkpoint_steps(const softent_train_params *p, int64_t *out)
{
    const int64_t S = p->steps;
    const int n = p->n_checkpoints < S ? p->n_checkpoints : (int)S;
    for (int k = 0; k < n; k++) {
        int64_t s = n == 1 ? S : llround(exp(log((double)S) * k / (n - 1)));
        /* log spacing crowds the first steps: keep them distinct, and leave
         * room for the ones still to come */
        const int64_t lo = k == 0 ? 1 : out[k - 1] + 1, hi = S - (n - 1 - k);
        out[k] = s < lo ? lo : s > hi ? hi : s;
    }
    return n;
}

/* ---- data ----------------------------------------------------------------- */

void softent_train_batch(const softent_train_params *p, const int32_t *tokens, int64_t n_train,
                         int64_t step, int32_t *inputs, int32_t *targets)
{
    const int T = p->context;
    const uint64_t n_starts = (uint64_t)(n_train - T);
    const uint64_t key = se_mix64(se_mix64(p->seed ^ 0x5EED0DA7Aull) + (uint64_t)step);
    for (int b = 0; b < p->batch; b++) {
        /* a counter-based draw: the window depends on (seed, step, row)
         * only, so there is no generator state to save; the multiply-shift
         * maps 64 bits onto [0, n_starts) with a bias below n_starts / 2^64 */
        __extension__ unsigned __int128 r = (unsigned __int128)se_mix64(key + (uint64_t)b) * n_starts;
        const int64_t start = (int64_t)(r >> 64);
        memcpy(inputs + (int64_t)b * T, tokens + start, (size_t)T * sizeof *tokens);
        memcpy(targets + (int64_t)b * T, tokens + start + 1, (size_t)T * sizeof *tokens);
    }
}

int64_t softent_train_val_windows(const softent_train_params *p, int64_t n_train, int64_t n_total,
                                  int64_t *starts)
{
    const int64_t T = p->context, n_val = n_total - n_train;
    if (n_val < T + 1) return 0;
    const int64_t fit = (n_val - 1) / T, cap = (int64_t)p->val_batches * p->batch;
    const int64_t count = fit < cap ? fit : cap;
    /* stride >= T whenever count <= fit: the windows' inputs never overlap */
    const int64_t stride = count > 1 ? (n_val - 1 - T) / (count - 1) : 0;
    for (int64_t i = 0; i < count; i++) starts[i] = n_train + i * stride;
    return count;
}

uint64_t softent_train_token_hash(const int32_t *tokens, int64_t n)
{
    return se_hash_words(se_mix64((uint64_t)n), tokens, (size_t)n * sizeof *tokens);
}

/* ---- the trainer ---------------------------------------------------------- */

int se_gpt2_trainer_alloc(softent_gpt2_trainer **out, const softent_train_params *p)
{
    *out = NULL;
    int rc = softent_train_check_params(p);
    if (rc) return rc;
    softent_gpt2_trainer *t = calloc(1, sizeof *t);
    if (!t) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    t->p = *p;
    se_gpt2_config c = {.L = p->n_layer, .C = p->d_model, .NH = p->n_head, .maxT = p->context, .V = p->vocab_size};
    if ((rc = se_gpt2_init(&t->model, &c, p->batch))) {
        free(t);
        return rc;
    }
    t->m = calloc(t->model.num_params, sizeof *t->m);
    t->v = calloc(t->model.num_params, sizeof *t->v);
    if (!t->m || !t->v) {
        const size_t n = t->model.num_params;
        softent_gpt2_trainer_free(t);
        return se_fail(SOFTENT_E_NOMEM, "out of memory for AdamW's moments (%zu parameters)", n);
    }
    *out = t;
    return SOFTENT_OK;
}

void softent_gpt2_trainer_free(softent_gpt2_trainer *t)
{
    if (!t) return;
    se_gpt2_free(&t->model);
    free(t->m);
    free(t->v);
    free(t);
}

/* Internal tensors (gpt2_train.h's order) that AdamW decays: the embeddings
 * and the four weight matrices of each block, as nanoGPT and the Hugging
 * Face Trainer do (every tensor of two or more dimensions). */
static int decays(int internal) { return internal == 0 || internal == 1 || internal == 4 || internal == 6 || internal == 10 || internal == 12; }

int softent_gpt2_trainer_n_tensors(const softent_gpt2_trainer *t) { return 4 + 12 * t->p.n_layer; }

int softent_gpt2_trainer_tensor(softent_gpt2_trainer *t, int index, softent_train_tensor *out)
{
    static const char *block_names[12] = {
        "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
        "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
        "mlp.c_proj.weight", "mlp.c_proj.bias",
    };
    const int L = t->p.n_layer, C = t->p.d_model;
    if (index < 0 || index >= softent_gpt2_trainer_n_tensors(t)) return se_fail(SOFTENT_E_INVALID, "tensor index %d out of range", index);
    se_gpt2 *m = &t->model;
    memset(out, 0, sizeof *out);
    int internal, layer = 0;
    if (index < 2) {
        internal = index;
        snprintf(out->name, sizeof out->name, "%s", index == 0 ? "wte.weight" : "wpe.weight");
    } else if (index < 2 + 12 * L) {
        layer = (index - 2) / 12;
        internal = 2 + (index - 2) % 12;
        snprintf(out->name, sizeof out->name, "h.%d.%s", layer, block_names[internal - 2]);
    } else {
        internal = 14 + (index - 2 - 12 * L);
        snprintf(out->name, sizeof out->name, "%s", internal == 14 ? "ln_f.weight" : "ln_f.bias");
    }
    const int per_layer = internal >= 2 && internal < 14;
    out->numel = (int64_t)(m->param_sizes[internal] / (per_layer ? (size_t)L : 1));
    out->data = se_gpt2_param_tensor(&m->params, internal) + (int64_t)layer * out->numel;
    out->grad = se_gpt2_param_tensor(&m->grads, internal) + (int64_t)layer * out->numel;
    out->decay = decays(internal);
    /* 2-D: [rows, cols] with cols = C for the embeddings, the output width
     * for Conv1D weights */
    static const int out_width[16] = {1, 1, 0, 0, 3, 0, 1, 0, 0, 0, 4, 0, 1, 0, 0, 0};
    if (internal <= 1) {
        out->ndim = 2;
        out->shape[0] = out->numel / C;
        out->shape[1] = C;
    } else if (out_width[internal]) {
        out->ndim = 2;
        out->shape[1] = (int64_t)out_width[internal] * C;
        out->shape[0] = out->numel / out->shape[1];
    } else {
        out->ndim = 1;
        out->shape[0] = out->numel;
    }
    return SOFTENT_OK;
}

int softent_gpt2_trainer_new(softent_gpt2_trainer **out, const softent_train_params *p)
{
    softent_gpt2_trainer *t;
    int rc = se_gpt2_trainer_alloc(&t, p);
    if (rc) return rc;
    /* One generator draws the normal tensors in the order of
     * softent_gpt2_trainer_tensor, so numpy.random.default_rng(seed) reproduces
     * the initial weights. */
    se_pcg64 rng;
    se_pcg64_seed_numpy(&rng, p->seed);
    const double proj_std = INIT_STD / sqrt(2.0 * p->n_layer);
    for (int i = 0; i < softent_gpt2_trainer_n_tensors(t); i++) {
        softent_train_tensor x;
        softent_gpt2_trainer_tensor(t, i, &x);
        const char *dot = strrchr(x.name, '.');
        const int is_ln = strstr(x.name, "ln_") != NULL;
        if (!strcmp(dot, ".bias")) {
            memset(x.data, 0, (size_t)x.numel * sizeof(float));
        } else if (is_ln) {
            for (int64_t j = 0; j < x.numel; j++) x.data[j] = 1.0f;
        } else {
            const double std = strstr(x.name, "c_proj.weight") ? proj_std : INIT_STD;
            for (int64_t j = 0; j < x.numel; j++) x.data[j] = (float)(std * se_standard_normal(&rng));
        }
    }
    *out = t;
    return SOFTENT_OK;
}

const softent_train_params *softent_gpt2_trainer_params(const softent_gpt2_trainer *t) { return &t->p; }
int64_t softent_gpt2_trainer_steps_done(const softent_gpt2_trainer *t) { return t->step; }

static int check_batch(const softent_gpt2_trainer *t, const int32_t *inputs, const int32_t *targets, int rows, int len)
{
    if (rows < 1 || rows > t->p.batch) return se_fail(SOFTENT_E_INVALID, "%d rows: the trainer holds 1..%d", rows, t->p.batch);
    if (len < 1 || len > t->p.context) return se_fail(SOFTENT_E_INVALID, "%d positions: the context is %d", len, t->p.context);
    const int V = t->p.vocab_size;
    for (int64_t i = 0; i < (int64_t)rows * len; i++) {
        if (inputs[i] < 0 || inputs[i] >= V)
            return se_fail(SOFTENT_E_INVALID, "token id %d at position %lld is outside the vocabulary of %d", (int)inputs[i], (long long)i, V);
        if (targets && (targets[i] < 0 || targets[i] >= V))
            return se_fail(SOFTENT_E_INVALID, "target id %d at position %lld is outside the vocabulary of %d", (int)targets[i], (long long)i, V);
    }
    return SOFTENT_OK;
}

int softent_gpt2_trainer_gradients(softent_gpt2_trainer *t, const int32_t *inputs, const int32_t *targets, int rows, float *loss)
{
    int rc = check_batch(t, inputs, targets, rows, t->p.context);
    if (rc) return rc;
    if (!targets) return se_fail(SOFTENT_E_INVALID, "gradients need targets");
    double l;
    se_gpt2_forward(&t->model, inputs, targets, rows, t->p.context, 1, &l);
    se_gpt2_backward(&t->model);
    *loss = (float)l;
    return SOFTENT_OK;
}

/* The global L2 norm of the gradients: partial sums over fixed chunks in
 * double, added in order, so that it does not depend on the threads. */
static double grad_norm(const se_gpt2 *m)
{
    const int64_t n = (int64_t)m->num_params, chunks = (n + NORM_CHUNK - 1) / NORM_CHUNK;
    double *part = malloc((size_t)chunks * sizeof *part);
    if (!part) return NAN;
    const float *g = m->grads_memory;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < chunks; c++) {
        const int64_t i1 = (c + 1) * NORM_CHUNK < n ? (c + 1) * NORM_CHUNK : n;
        double s = 0;
        for (int64_t i = c * NORM_CHUNK; i < i1; i++) s += (double)g[i] * g[i];
        part[c] = s;
    }
    double total = 0;
    for (int64_t c = 0; c < chunks; c++) total += part[c];
    free(part);
    return sqrt(total);
}

/* torch.optim.AdamW's update, operation for operation in float32 (scalars
 * rounded to float as PyTorch does): decay, moments, bias-corrected step. */
static void adamw_update(softent_gpt2_trainer *t, double lr)
{
    const softent_train_params *p = &t->p;
    se_gpt2 *m = &t->model;
    const double step = (double)(t->step + 1);
    const float b1 = (float)p->beta1, b2 = (float)p->beta2, one_b1 = (float)(1 - p->beta1), one_b2 = (float)(1 - p->beta2);
    const float step_size = (float)(lr / (1 - pow(p->beta1, step)));
    const float bc2_sqrt = (float)sqrt(1 - pow(p->beta2, step));
    const float eps = (float)p->adam_eps;
    size_t off = 0;
    for (int k = 0; k < SE_GPT2_NUM_PARAMS; k++) {
        const float keep = decays(k) ? (float)(1 - lr * p->weight_decay) : 1.0f;
        float *w = m->params_memory + off, *mm = t->m + off, *vv = t->v + off;
        const float *g = m->grads_memory + off;
        const int64_t n = (int64_t)m->param_sizes[k];
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            mm[i] = mm[i] * b1 + g[i] * one_b1;
            vv[i] = vv[i] * b2 + one_b2 * g[i] * g[i];
            const float denom = sqrtf(vv[i]) / bc2_sqrt + eps;
            w[i] = w[i] * keep - step_size * (mm[i] / denom);
        }
        off += (size_t)n;
    }
}

int softent_gpt2_trainer_step(softent_gpt2_trainer *t, const int32_t *inputs, const int32_t *targets, float *loss, float *gnorm)
{
    int rc = check_batch(t, inputs, targets, t->p.batch, t->p.context);
    if (rc) return rc;
    if (!targets) return se_fail(SOFTENT_E_INVALID, "a training step needs targets");
    if (t->step >= t->p.steps) return se_fail(SOFTENT_E_ORDER, "all %lld steps are done", (long long)t->p.steps);
    se_gpt2 *m = &t->model;
    double l;
    se_gpt2_forward(m, inputs, targets, t->p.batch, t->p.context, 1, &l);
    se_gpt2_backward(m);
    const double norm = grad_norm(m);
    if (!isfinite(l) || !isfinite(norm))
        return se_fail(SOFTENT_E_NUMERIC, "step %lld: loss %g, gradient norm %g: training diverged (try a lower learning rate)",
                       (long long)t->step + 1, l, norm);
    /* torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when below 1 */
    if (t->p.grad_clip > 0) {
        const float coef = (float)(t->p.grad_clip / (norm + 1e-6));
        if (coef < 1.0f) {
            float *g = m->grads_memory;
#pragma omp parallel for schedule(static)
            for (int64_t i = 0; i < (int64_t)m->num_params; i++) g[i] *= coef;
        }
    }
    adamw_update(t, softent_train_lr(&t->p, t->step + 1));
    t->step++;
    *loss = (float)l;
    if (gnorm) *gnorm = (float)norm;
    return SOFTENT_OK;
}

int softent_gpt2_trainer_eval(softent_gpt2_trainer *t, const int32_t *inputs, const int32_t *targets, int rows, int len, double *loss)
{
    int rc = check_batch(t, inputs, targets, rows, len);
    if (rc) return rc;
    if (!targets) return se_fail(SOFTENT_E_INVALID, "a loss needs targets");
    se_gpt2_forward(&t->model, inputs, targets, rows, len, 0, loss);
    return SOFTENT_OK;
}

int softent_gpt2_trainer_logits(softent_gpt2_trainer *t, const int32_t *inputs, int rows, int len, float *logits)
{
    int rc = check_batch(t, inputs, NULL, rows, len);
    if (rc) return rc;
    se_gpt2_forward(&t->model, inputs, NULL, rows, len, 0, NULL);
    memcpy(logits, t->model.acts.logits, (size_t)rows * len * t->p.vocab_size * sizeof(float));
    return SOFTENT_OK;
}
