/*
 * model_config.c - config.json (see model_config.h).  Field names and
 * defaults are those of transformers' configuration_<arch>.py.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/fs.h"
#include "model_config.h"
#include "weights.h"

typedef struct {
    const cJSON *root;
    const char *path;
} json_src;

/* A present, non-null field (transformers writes absent options as null). */
static const cJSON *field(const json_src *js, const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj ? obj : js->root, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

/* A positive integer; `def` < 0 means required. */
static int get_int(const json_src *js, const char *key, int64_t def, int64_t *out)
{
    const cJSON *v = field(js, NULL, key);
    if (!v) {
        if (def < 0) return se_fail(SOFTENT_E_FORMAT, "%s: missing \"%s\"", js->path, key);
        *out = def;
        return SOFTENT_OK;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > INT32_MAX || v->valuedouble != floor(v->valuedouble))
        return se_fail(SOFTENT_E_FORMAT, "%s: \"%s\" must be a positive integer", js->path, key);
    *out = (int64_t)v->valuedouble;
    return SOFTENT_OK;
}

static int get_num(const json_src *js, const cJSON *obj, const char *key, double def, double *out)
{
    const cJSON *v = field(js, obj, key);
    if (!v) {
        if (isnan(def)) return se_fail(SOFTENT_E_FORMAT, "%s: missing \"%s\"", js->path, key);
        *out = def;
        return SOFTENT_OK;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return se_fail(SOFTENT_E_FORMAT, "%s: \"%s\" must be a number", js->path, key);
    *out = v->valuedouble;
    return SOFTENT_OK;
}

static int get_bool(const json_src *js, const char *key, int def, int *out)
{
    const cJSON *v = field(js, NULL, key);
    if (!v) { *out = def; return SOFTENT_OK; }
    if (!cJSON_IsBool(v)) return se_fail(SOFTENT_E_FORMAT, "%s: \"%s\" must be true or false", js->path, key);
    *out = cJSON_IsTrue(v);
    return SOFTENT_OK;
}

static int parse_act(const json_src *js, const char *key, const char *def, se_act *out)
{
    const cJSON *v = field(js, NULL, key);
    const char *s = v && cJSON_IsString(v) ? v->valuestring : def;
    if (v && !cJSON_IsString(v)) return se_fail(SOFTENT_E_FORMAT, "%s: \"%s\" must be a string", js->path, key);
    if (!strcmp(s, "silu") || !strcmp(s, "swish")) *out = SE_ACT_SILU;
    else if (!strcmp(s, "gelu")) *out = SE_ACT_GELU;
    else if (!strcmp(s, "gelu_new") || !strcmp(s, "gelu_pytorch_tanh") || !strcmp(s, "gelu_fast")) *out = SE_ACT_GELU_TANH;
    else if (!strcmp(s, "relu")) *out = SE_ACT_RELU;
    else return se_fail(SOFTENT_E_FORMAT, "%s: %s \"%s\" is not supported (silu, gelu, gelu_new, gelu_pytorch_tanh, relu)", js->path, key, s);
    return SOFTENT_OK;
}

/* One of longrope's factor lists: rotary_dim / 2 positive numbers. */
static int read_factors(const json_src *js, const cJSON *scaling, const char *key, int64_t n, float **out)
{
    const cJSON *a = field(js, scaling, key);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
        return se_fail(SOFTENT_E_FORMAT, "%s: longrope's %s must list %lld numbers (half the rotated dimensions)", js->path, key, (long long)n);
    if (!(*out = malloc((size_t)n * sizeof **out))) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    int64_t i = 0;
    for (const cJSON *v = a->child; v; v = v->next, i++) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble > 0 && v->valuedouble < 1e6))
            return se_fail(SOFTENT_E_FORMAT, "%s: longrope's %s[%lld] must be a number in (0, 1e6)", js->path, key, (long long)i);
        (*out)[i] = (float)v->valuedouble;
    }
    return SOFTENT_OK;
}

/* longrope (phi3's "su"): per-frequency factors, short ones up to the
 * original context and long ones beyond, and cos/sin scaled by the
 * attention factor, as _compute_longrope_parameters computes them. */
static int parse_longrope(const json_src *js, const cJSON *scaling, se_model_config *c)
{
    const int64_t half = c->rotary_dim / 2;
    if (half < 1) return se_fail(SOFTENT_E_FORMAT, "%s: longrope is not supported for model_type %s", js->path, c->model_type);
    c->rope = SE_ROPE_LONGROPE;
    int rc = read_factors(js, scaling, "short_factor", half, &c->rope_short);
    if (!rc) rc = read_factors(js, scaling, "long_factor", half, &c->rope_long);
    double orig = -1, factor = 1, attention = -1;
    if (!rc) rc = get_num(js, scaling, "original_max_position_embeddings", -1, &orig);
    if (!rc && orig < 0) rc = get_num(js, NULL, "original_max_position_embeddings", -1, &orig);
    if (!rc) rc = get_num(js, scaling, "factor", 1, &factor);
    if (!rc) rc = get_num(js, scaling, "attention_factor", -1, &attention);
    if (rc) return rc;
    if (orig > 0) factor = (double)c->max_pos / orig;
    else orig = (double)c->max_pos;
    if (!(orig >= 1 && factor > 0)) return se_fail(SOFTENT_E_FORMAT, "%s: longrope needs original_max_position_embeddings >= 1", js->path);
    c->original_max_pos = orig;
    c->rope_attention_factor = attention >= 0 ? attention : factor > 1 ? sqrt(1 + log(factor) / log(orig)) : 1.0;
    return SOFTENT_OK;
}

/* yarn, as transformers 5's _compute_yarn_parameters: frequencies
 * between theta^(-2i/d) (extrapolated, the fast ones) and those divided by
 * factor (interpolated, the slow ones), ramped between the dimensions
 * where a frequency turns beta_fast and beta_slow times over the original
 * context; cos and sin scaled by the attention factor, 0.1 ln(factor) + 1
 * by default (DeepSeek's mscale / mscale_all_dim: the ratio of two such). */
static double yarn_mscale(double factor, double mscale)
{
    return factor <= 1 ? 1.0 : 0.1 * mscale * log(factor) + 1.0;
}

static double yarn_dim(double rotations, double dim, double base, double orig)
{
    return dim * log(orig / (rotations * 2 * M_PI)) / (2 * log(base));
}

static int parse_yarn(const json_src *js, const cJSON *scaling, se_model_config *c, const char *what)
{
    if (c->rotary_dim < 2) return se_fail(SOFTENT_E_FORMAT, "%s: yarn is not supported for model_type %s", js->path, c->model_type);
    const double absent = -INFINITY;  /* (a number in a file is finite) */
    double factor = absent, orig = absent, attention = absent, fast = 0, slow = 0, mscale = 0, mscale_all = 0;
    int rc = get_num(js, scaling, "factor", absent, &factor);
    if (!rc) rc = get_num(js, scaling, "original_max_position_embeddings", absent, &orig);
    if (!rc) rc = get_num(js, scaling, "attention_factor", absent, &attention);
    if (!rc) rc = get_num(js, scaling, "beta_fast", 0, &fast);
    if (!rc) rc = get_num(js, scaling, "beta_slow", 0, &slow);
    if (!rc) rc = get_num(js, scaling, "mscale", 0, &mscale);
    if (!rc) rc = get_num(js, scaling, "mscale_all_dim", 0, &mscale_all);
    if (rc) return rc;
    /* (null is no truncation, as transformers' .get("truncate", True) reads it) */
    const cJSON *truncate = cJSON_GetObjectItemCaseSensitive(scaling, "truncate");
    if (truncate && !cJSON_IsBool(truncate) && !cJSON_IsNull(truncate))
        return se_fail(SOFTENT_E_FORMAT, "%s: yarn's truncate must be true or false", js->path);
    if (factor == absent && orig > 0) factor = (double)c->max_pos / orig;  /* the ratio, where only it is stated */
    if (orig == absent) orig = (double)c->max_pos;
    if (attention != absent && !(attention >= 0 && attention <= 1e6))
        return se_fail(SOFTENT_E_FORMAT, "%s: yarn's attention_factor %g must be in [0, 1e6]", js->path, attention);
    if (!(c->rope_theta > 1))  /* the ramp's ends divide by log(theta) */
        return se_fail(SOFTENT_E_FORMAT, "%s: yarn needs rope_theta > 1, not %g", js->path, c->rope_theta);
    if (fast == 0) fast = 32;  /* ("or 32": 0 and null alike) */
    if (slow == 0) slow = 1;
    if (!(factor > 0 && factor <= 1e6 && orig >= 1 && orig <= 1e12 && fast > 0 && slow > 0 && fast < 1e6 && slow < 1e6 && mscale >= 0 &&
          mscale_all >= 0))
        return se_fail(SOFTENT_E_FORMAT, "%s: yarn %s needs factor in (0, 1e6], original_max_position_embeddings >= 1, "
                       "positive beta_fast, beta_slow and nonnegative mscale, mscale_all_dim", js->path, what);
    c->rope = SE_ROPE_YARN;
    c->rope_factor = factor;
    c->original_max_pos = orig;
    c->rope_attention_factor = attention != absent ? attention
                             : mscale > 0 && mscale_all > 0 ? yarn_mscale(factor, mscale) / yarn_mscale(factor, mscale_all)
                                                            : yarn_mscale(factor, 1);
    const double dim = (double)c->rotary_dim;
    double low = yarn_dim(fast, dim, c->rope_theta, orig), high = yarn_dim(slow, dim, c->rope_theta, orig);
    if (!truncate || cJSON_IsTrue(truncate)) low = floor(low), high = ceil(high);
    if (!(isfinite(low) && isfinite(high))) return se_fail(SOFTENT_E_FORMAT, "%s: yarn's ramp is not finite for these values", js->path);
    c->yarn_low = low > 0 ? low : 0;
    c->yarn_high = high < dim - 1 ? high : dim - 1;
    if (c->yarn_low == c->yarn_high) c->yarn_high += 0.001;  /* as transformers keeps the ramp finite */
    return SOFTENT_OK;
}

/* rope_theta and rope_scaling (transformers 4.x), or rope_parameters (5.x),
 * which holds both. */
static int parse_rope(const json_src *js, se_model_config *c)
{
    const cJSON *params = field(js, NULL, "rope_parameters");
    const cJSON *scaling = params ? params : field(js, NULL, "rope_scaling");
    const char *what = params ? "rope_parameters" : "rope_scaling";
    if (scaling && !cJSON_IsObject(scaling)) return se_fail(SOFTENT_E_FORMAT, "%s: \"%s\" must be an object", js->path, what);
    int rc = get_num(js, NULL, "rope_theta", c->arch == SE_ARCH_GEMMA3 ? 1000000.0 : 10000.0, &c->rope_theta);
    if (!rc && params) rc = get_num(js, params, "rope_theta", c->rope_theta, &c->rope_theta);
    if (rc) return rc;
    if (!(c->rope_theta > 0)) return se_fail(SOFTENT_E_FORMAT, "%s: rope_theta must be positive", js->path);

    c->rope = SE_ROPE_DEFAULT;
    c->rope_factor = 1.0;
    c->rope_attention_factor = 1.0;
    if (!scaling) return SOFTENT_OK;
    /* transformers 5's per-layer-type parameters (gemma3's full_attention
     * and sliding_attention): not read, so refused rather than ignored */
    for (const cJSON *e = scaling->child; e; e = e->next)
        if (cJSON_IsObject(e))
            return se_fail(SOFTENT_E_FORMAT, "%s: %s holds parameters per layer type (\"%s\"), which softent does not read; "
                           "give them as one rope_scaling", js->path, what, e->string ? e->string : "?");
    const cJSON *type = field(js, scaling, "rope_type");
    if (!type) type = field(js, scaling, "type");
    const char *t = cJSON_IsString(type) ? type->valuestring : "default";
    if (!strcmp(t, "default")) return SOFTENT_OK;
    if (!strcmp(t, "longrope") || !strcmp(t, "su")) return parse_longrope(js, scaling, c);
    if (!strcmp(t, "yarn")) return parse_yarn(js, scaling, c, what);
    rc = get_num(js, scaling, "factor", NAN, &c->rope_factor);
    if (!rc && !(c->rope_factor > 0)) rc = se_fail(SOFTENT_E_FORMAT, "%s: %s factor must be positive", js->path, what);
    if (rc) return rc;
    if (!strcmp(t, "linear")) {
        c->rope = SE_ROPE_LINEAR;
    } else if (!strcmp(t, "dynamic")) {
        c->rope = SE_ROPE_DYNAMIC;  /* the frequencies follow the sequence's length (forward.c) */
        if (c->max_pos < 1) rc = se_fail(SOFTENT_E_FORMAT, "%s: dynamic RoPE scaling needs max_position_embeddings", js->path);
    } else if (!strcmp(t, "llama3")) {
        c->rope = SE_ROPE_LLAMA3;
        rc = get_num(js, scaling, "low_freq_factor", NAN, &c->low_freq_factor);
        if (!rc) rc = get_num(js, scaling, "high_freq_factor", NAN, &c->high_freq_factor);
        if (!rc) rc = get_num(js, scaling, "original_max_position_embeddings", NAN, &c->original_max_pos);
        if (!rc && !(c->high_freq_factor > c->low_freq_factor && c->low_freq_factor > 0 && c->original_max_pos > 0))
            rc = se_fail(SOFTENT_E_FORMAT, "%s: llama3 %s needs 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0", js->path, what);
    } else {
        rc = se_fail(SOFTENT_E_FORMAT, "%s: %s type \"%s\" is not supported (default, linear, dynamic, yarn, llama3, longrope)", js->path, what, t);
    }
    return rc;
}

/* Which layers slide: transformers' layer_types when given, else mistral
 * slides everywhere and qwen2/qwen3 from max_window_layers on, and only
 * with use_sliding_window. */
static int parse_sliding(const json_src *js, se_model_config *c)
{
    int64_t window = 0, from = 0;
    int use = 1, rc = SOFTENT_OK;
    if (c->arch != SE_ARCH_MISTRAL && c->arch != SE_ARCH_QWEN2 && c->arch != SE_ARCH_QWEN3 && c->arch != SE_ARCH_GEMMA2 &&
        c->arch != SE_ARCH_PHI3 && c->arch != SE_ARCH_GEMMA3)
        return SOFTENT_OK;
    int64_t pattern = 6;  /* gemma3: every sliding_window_pattern-th layer is global */
    if (c->arch == SE_ARCH_GEMMA3 && (rc = get_int(js, "sliding_window_pattern", 6, &pattern))) return rc;
    if (c->arch == SE_ARCH_QWEN2 || c->arch == SE_ARCH_QWEN3) {
        rc = get_bool(js, "use_sliding_window", 0, &use);
        if (!rc) rc = get_int(js, "max_window_layers", c->n_layers, &from);
    }
    if (!rc && use) rc = get_int(js, "sliding_window", c->arch == SE_ARCH_GEMMA2 || c->arch == SE_ARCH_GEMMA3 ? 4096 : 0, &window);
    if (rc || !use || !window) return rc;
    c->sliding_window = window;
    if (!(c->sliding = calloc((size_t)c->n_layers, 1))) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    const cJSON *types = field(js, NULL, "layer_types");
    if (types && (!cJSON_IsArray(types) || cJSON_GetArraySize(types) != c->n_layers))
        return se_fail(SOFTENT_E_FORMAT, "%s: \"layer_types\" must list one type per layer", js->path);
    for (int64_t l = 0; l < c->n_layers; l++) {
        if (types) {
            const cJSON *t = cJSON_GetArrayItem(types, (int)l);
            if (!cJSON_IsString(t)) return se_fail(SOFTENT_E_FORMAT, "%s: layer_types[%lld] is not a string", js->path, (long long)l);
            if (!strcmp(t->valuestring, "sliding_attention")) c->sliding[l] = 1;
            else if (strcmp(t->valuestring, "full_attention") != 0)
                return se_fail(SOFTENT_E_FORMAT, "%s: layer type \"%s\" is not supported", js->path, t->valuestring);
        } else {
            /* gemma2: every other layer from the first ("sliding_attention" when (l + 1) % 2) */
            c->sliding[l] = c->arch == SE_ARCH_MISTRAL || c->arch == SE_ARCH_PHI3 ? 1
                          : c->arch == SE_ARCH_GEMMA2 ? l % 2 == 0
                          : c->arch == SE_ARCH_GEMMA3 ? (l + 1) % pattern != 0
                          : l >= from;
        }
    }
    return SOFTENT_OK;
}

/* The limits a config must keep (docs/models.md), checked before anything
 * is sized by it: far above any released model, far below what would
 * make the loader allocate before finding the weights missing. */
#define SE_MAX_LAYERS 1024
#define SE_MAX_WIDTH ((int64_t)1 << 16)   /* d_model, heads x head_dim */
#define SE_MAX_FF ((int64_t)1 << 20)
#define SE_MAX_VOCAB ((int64_t)1 << 24)
#define SE_MAX_POSITIONS ((int64_t)1 << 24)

static int check_numbers(const json_src *js, const se_model_config *c)
{
    if (c->n_layers > SE_MAX_LAYERS || c->d_model > SE_MAX_WIDTH || c->n_heads * c->head_dim > SE_MAX_WIDTH || c->d_ff > SE_MAX_FF ||
        c->vocab > SE_MAX_VOCAB || c->max_pos > SE_MAX_POSITIONS)
        return se_fail(SOFTENT_E_LIMIT, "%s: %lld layers, width %lld, %lld heads of %lld, MLP %lld, vocabulary %lld, %lld positions: "
                       "over softent's limits (%d layers, width %lld, MLP %lld, vocabulary %lld, positions %lld)", js->path,
                       (long long)c->n_layers, (long long)c->d_model, (long long)c->n_heads, (long long)c->head_dim, (long long)c->d_ff,
                       (long long)c->vocab, (long long)c->max_pos, SE_MAX_LAYERS, (long long)SE_MAX_WIDTH, (long long)SE_MAX_FF,
                       (long long)SE_MAX_VOCAB, (long long)SE_MAX_POSITIONS);
    if (!(c->norm_eps > 0 && c->norm_eps <= 1))
        return se_fail(SOFTENT_E_FORMAT, "%s: the norm epsilon %g must be in (0, 1]", js->path, c->norm_eps);
    if (c->rope != SE_ROPE_NONE && !(c->rope_theta >= 1 && c->rope_theta <= 1e15))
        return se_fail(SOFTENT_E_FORMAT, "%s: rope_theta %g must be in [1, 1e15]", js->path, c->rope_theta);
    if (c->rope != SE_ROPE_NONE && !(c->rope_factor > 0 && c->rope_factor <= 1e6))
        return se_fail(SOFTENT_E_FORMAT, "%s: the RoPE scaling factor %g must be in (0, 1e6]", js->path, c->rope_factor);
    return SOFTENT_OK;
}

static int parse_gpt2(const json_src *js, se_model_config *c)
{
    int rc = get_int(js, "n_layer", -1, &c->n_layers);
    if (!rc) rc = get_int(js, "n_embd", -1, &c->d_model);
    if (!rc) rc = get_int(js, "n_head", -1, &c->n_heads);
    if (!rc) rc = get_int(js, "vocab_size", -1, &c->vocab);
    if (!rc) rc = get_int(js, "n_positions", 1024, &c->max_pos);
    if (!rc) rc = get_int(js, "n_inner", 4 * c->d_model, &c->d_ff);
    if (!rc) rc = get_num(js, NULL, "layer_norm_epsilon", 1e-5, &c->norm_eps);
    if (!rc) rc = parse_act(js, "activation_function", "gelu_new", &c->act);
    if (!rc) rc = get_bool(js, "tie_word_embeddings", 1, &c->tie_embeddings);
    int scale = 1;
    if (!rc) rc = get_bool(js, "scale_attn_weights", 1, &scale);
    if (!rc) rc = get_bool(js, "scale_attn_by_inverse_layer_idx", 0, &c->scale_by_layer);
    if (rc) return rc;
    if (c->d_model % c->n_heads) return se_fail(SOFTENT_E_FORMAT, "%s: n_embd %lld is not a multiple of n_head %lld", js->path, (long long)c->d_model, (long long)c->n_heads);
    c->n_kv_heads = c->n_heads;
    c->head_dim = c->d_model / c->n_heads;
    c->attn_scale = scale ? 1.0 / sqrt((double)c->head_dim) : 1.0;
    c->layer_norm = 1;
    c->qkv_bias = c->o_bias = c->mlp_bias = 1;
    c->rope = SE_ROPE_NONE;
    return SOFTENT_OK;
}

/* A soft-capping: null in config.json means none (0), absent the default. */
static int get_softcap(const json_src *js, const char *key, double def, double *out)
{
    const cJSON *raw = cJSON_GetObjectItemCaseSensitive(js->root, key);
    if (raw && cJSON_IsNull(raw)) {
        *out = 0;
        return SOFTENT_OK;
    }
    return get_num(js, NULL, key, def, out);
}

static int parse_llama_family(const json_src *js, se_model_config *c)
{
    static const struct { int64_t max_pos; double eps; } defaults[] = {
        [SE_ARCH_LLAMA] = {2048, 1e-6}, [SE_ARCH_MISTRAL] = {4096 * 32, 1e-6}, [SE_ARCH_QWEN2] = {32768, 1e-6},
        [SE_ARCH_QWEN3] = {32768, 1e-6}, [SE_ARCH_OLMO2] = {2048, 1e-5}, [SE_ARCH_GEMMA] = {8192, 1e-6},
        [SE_ARCH_GEMMA2] = {8192, 1e-6},
        [SE_ARCH_PHI3] = {4096, 1e-5}, [SE_ARCH_GEMMA3] = {131072, 1e-6},
    };
    const int phi3 = c->arch == SE_ARCH_PHI3;
    const int gemma = c->arch == SE_ARCH_GEMMA || c->arch == SE_ARCH_GEMMA2 || c->arch == SE_ARCH_GEMMA3;
    int rc = get_int(js, "num_hidden_layers", -1, &c->n_layers);
    if (!rc) rc = get_int(js, "hidden_size", -1, &c->d_model);
    if (!rc) rc = get_int(js, "num_attention_heads", -1, &c->n_heads);
    if (!rc) rc = get_int(js, "num_key_value_heads", c->n_heads, &c->n_kv_heads);
    if (!rc) rc = get_int(js, "head_dim", gemma ? 256 : c->d_model / c->n_heads, &c->head_dim);
    if (!rc) rc = get_int(js, "intermediate_size", -1, &c->d_ff);
    if (!rc) rc = get_int(js, "vocab_size", -1, &c->vocab);
    if (!rc) rc = get_int(js, "max_position_embeddings", defaults[c->arch].max_pos, &c->max_pos);
    if (!rc) rc = get_num(js, NULL, "rms_norm_eps", defaults[c->arch].eps, &c->norm_eps);
    /* gemma: hidden_activation, else gelu_pytorch_tanh whatever hidden_act
     * says, as transformers' GemmaMLP does */
    if (!rc) rc = gemma ? parse_act(js, "hidden_activation", "gelu_pytorch_tanh", &c->act) : parse_act(js, "hidden_act", "silu", &c->act);
    if (!rc) rc = get_bool(js, "tie_word_embeddings", gemma, &c->tie_embeddings);
    int attention_bias = 0, mlp_bias = 0;
    if (!rc) rc = get_bool(js, "attention_bias", 0, &attention_bias);
    if (!rc) rc = get_bool(js, "mlp_bias", 0, &mlp_bias);
    /* phi3 rotates the first partial_rotary_factor of each head (phi-4-mini: 0.75) */
    double partial = 1.0;
    if (!rc) rc = get_num(js, NULL, "partial_rotary_factor", 1.0, &partial);
    if (!rc && partial != 1.0 && !(phi3 && partial > 0 && partial < 1))
        return se_fail(SOFTENT_E_FORMAT, "%s: partial_rotary_factor %g is not supported (only 1%s)", js->path, partial, phi3 ? ", or in (0, 1)" : "");
    c->rotary_dim = (int64_t)((double)c->head_dim * partial);
    if (!rc && (c->rotary_dim < 2 || c->rotary_dim % 2))
        return se_fail(SOFTENT_E_FORMAT, "%s: partial_rotary_factor %g of head_dim %lld rotates %lld dimensions; RoPE needs an even number, at least 2",
                       js->path, partial, (long long)c->head_dim, (long long)c->rotary_dim);
    if (!rc) rc = parse_rope(js, c);
    if (rc) return rc;
    if (!field(js, NULL, "head_dim") && c->d_model % c->n_heads)
        return se_fail(SOFTENT_E_FORMAT, "%s: hidden_size %lld is not a multiple of num_attention_heads %lld", js->path, (long long)c->d_model, (long long)c->n_heads);
    if (c->n_heads % c->n_kv_heads)
        return se_fail(SOFTENT_E_FORMAT, "%s: num_attention_heads %lld is not a multiple of num_key_value_heads %lld", js->path, (long long)c->n_heads, (long long)c->n_kv_heads);
    if (c->head_dim % 2) return se_fail(SOFTENT_E_FORMAT, "%s: head_dim %lld is odd; RoPE rotates pairs", js->path, (long long)c->head_dim);
    c->attn_scale = 1.0 / sqrt((double)c->head_dim);
    c->gated_mlp = 1;
    switch (c->arch) {
    case SE_ARCH_LLAMA: c->qkv_bias = c->o_bias = attention_bias; c->mlp_bias = mlp_bias; break;
    case SE_ARCH_QWEN2: c->qkv_bias = 1; break;  /* q/k/v always carry a bias, o_proj never */
    case SE_ARCH_QWEN3: c->qkv_bias = c->o_bias = attention_bias; c->qk_norm = SE_QKNORM_HEAD; break;
    case SE_ARCH_OLMO2: c->qkv_bias = c->o_bias = attention_bias; c->qk_norm = SE_QKNORM_FULL; c->post_norm = 1; break;
    case SE_ARCH_PHI3: c->stacked_qkv = c->fused_gate_up = 1; break;  /* no biases */
    case SE_ARCH_GEMMA: c->qkv_bias = c->o_bias = attention_bias; c->norm_offset = 1; c->embed_scaled = 1; break;
    case SE_ARCH_GEMMA2:
    case SE_ARCH_GEMMA3: {
        /* gemma3: gemma2's layout with per-head q/k norms, no soft-capping
         * by default, and its sliding layers' own RoPE */
        const int g3 = c->arch == SE_ARCH_GEMMA3;
        c->qkv_bias = c->o_bias = attention_bias;
        c->norm_offset = 1, c->embed_scaled = 1, c->post_norm = c->pre_and_post_norm = 1;
        if (g3) c->qk_norm = SE_QKNORM_HEAD;
        double scalar = 256;
        int rc2 = get_num(js, NULL, "query_pre_attn_scalar", 256, &scalar);
        if (!rc2) rc2 = get_softcap(js, "attn_logit_softcapping", g3 ? 0 : 50.0, &c->attn_softcap);
        if (!rc2) rc2 = get_softcap(js, "final_logit_softcapping", g3 ? 0 : 30.0, &c->final_softcap);
        if (!rc2 && g3) rc2 = get_num(js, NULL, "rope_local_base_freq", 10000.0, &c->rope_local_theta);
        if (!rc2 && g3 && !(c->rope_local_theta >= 1 && c->rope_local_theta <= 1e15))
            rc2 = se_fail(SOFTENT_E_FORMAT, "%s: rope_local_base_freq %g must be in [1, 1e15]", js->path, c->rope_local_theta);
        if (rc2) return rc2;
        if (!(scalar > 0)) return se_fail(SOFTENT_E_FORMAT, "%s: query_pre_attn_scalar must be positive", js->path);
        if (!(c->attn_softcap >= 0 && c->final_softcap >= 0))
            return se_fail(SOFTENT_E_FORMAT, "%s: a logit soft-capping must be positive (or null: none)", js->path);
        c->attn_scale = 1.0 / sqrt(scalar);
        break;
    }
    default: break;  /* mistral: no biases */
    }
    return SOFTENT_OK;
}

/* GPT-NeoX (Pythia): LayerNorms with biases, a fused per-head q/k/v, RoPE
 * on the first rotary_pct of each head, exact GELU, and by default the
 * attention and the MLP side by side on the same input. */
static int parse_gpt_neox(const json_src *js, se_model_config *c)
{
    int rc = get_int(js, "num_hidden_layers", -1, &c->n_layers);
    if (!rc) rc = get_int(js, "hidden_size", -1, &c->d_model);
    if (!rc) rc = get_int(js, "num_attention_heads", -1, &c->n_heads);
    if (!rc) rc = get_int(js, "intermediate_size", -1, &c->d_ff);
    if (!rc) rc = get_int(js, "vocab_size", -1, &c->vocab);
    if (!rc) rc = get_int(js, "max_position_embeddings", 2048, &c->max_pos);
    if (!rc) rc = get_num(js, NULL, "layer_norm_eps", 1e-5, &c->norm_eps);
    if (!rc) rc = parse_act(js, "hidden_act", "gelu", &c->act);
    if (!rc) rc = get_bool(js, "tie_word_embeddings", 0, &c->tie_embeddings);
    if (!rc) rc = get_bool(js, "use_parallel_residual", 1, &c->parallel_residual);
    int attention_bias = 1;
    if (!rc) rc = get_bool(js, "attention_bias", 1, &attention_bias);
    if (!rc) rc = parse_rope(js, c);
    if (!rc && c->rope != SE_ROPE_DEFAULT && c->rope != SE_ROPE_LINEAR)
        rc = se_fail(SOFTENT_E_FORMAT, "%s: gpt_neox's RoPE scaling may be linear only", js->path);
    /* the names of configuration_gpt_neox.py, else the newer generic ones */
    double pct = 0.25;
    if (!rc) rc = get_num(js, NULL, "partial_rotary_factor", pct, &pct);
    if (!rc) rc = get_num(js, NULL, "rotary_pct", pct, &pct);
    if (!rc) rc = get_num(js, NULL, "rotary_emb_base", c->rope_theta, &c->rope_theta);
    if (rc) return rc;
    if (c->d_model % c->n_heads)
        return se_fail(SOFTENT_E_FORMAT, "%s: hidden_size %lld is not a multiple of num_attention_heads %lld", js->path, (long long)c->d_model, (long long)c->n_heads);
    if (!(pct > 0 && pct <= 1)) return se_fail(SOFTENT_E_FORMAT, "%s: rotary_pct %g must be in (0, 1]", js->path, pct);
    if (!(c->rope_theta > 0)) return se_fail(SOFTENT_E_FORMAT, "%s: rotary_emb_base must be positive", js->path);
    c->n_kv_heads = c->n_heads;
    c->head_dim = c->d_model / c->n_heads;
    c->rotary_dim = (int64_t)((double)c->head_dim * pct);  /* int(head_size * rotary_pct), as transformers truncates */
    if (c->rotary_dim < 2 || c->rotary_dim % 2)
        return se_fail(SOFTENT_E_FORMAT, "%s: rotary_pct %g of head size %lld rotates %lld dimensions; RoPE needs an even number, at least 2",
                       js->path, pct, (long long)c->head_dim, (long long)c->rotary_dim);
    c->attn_scale = 1.0 / sqrt((double)c->head_dim);
    c->layer_norm = c->fused_qkv = 1;
    c->qkv_bias = c->o_bias = attention_bias;
    c->mlp_bias = 1;
    return SOFTENT_OK;
}

int se_model_config_parse(se_model_config *cfg, const cJSON *root, const char *path)
{
    static const struct { const char *name; se_arch arch; } archs[] = {
        {"gpt2", SE_ARCH_GPT2}, {"llama", SE_ARCH_LLAMA}, {"mistral", SE_ARCH_MISTRAL},
        {"qwen2", SE_ARCH_QWEN2}, {"qwen3", SE_ARCH_QWEN3}, {"olmo2", SE_ARCH_OLMO2}, {"gpt_neox", SE_ARCH_GPT_NEOX},
        {"gemma", SE_ARCH_GEMMA}, {"gemma2", SE_ARCH_GEMMA2}, {"phi3", SE_ARCH_PHI3},
        {"gemma3_text", SE_ARCH_GEMMA3},
    };
    memset(cfg, 0, sizeof *cfg);
    json_src js = {root, path};
    int rc = cJSON_IsObject(root) ? SOFTENT_OK : se_fail(SOFTENT_E_FORMAT, "%s: not a JSON object", path);
    const cJSON *mt = rc ? NULL : field(&js, NULL, "model_type");
    if (!rc && !cJSON_IsString(mt)) rc = se_fail(SOFTENT_E_FORMAT, "%s: no \"model_type\" string", path);
    if (!rc) {
        size_t i = 0;
        while (i < sizeof archs / sizeof archs[0] && strcmp(archs[i].name, mt->valuestring) != 0) i++;
        if (i == sizeof archs / sizeof archs[0])
            rc = se_fail(SOFTENT_E_FORMAT, "%s: model_type \"%.40s\" is not supported (supported: " SE_SUPPORTED_ARCHS ")", path, mt->valuestring);
        else
            cfg->arch = archs[i].arch, snprintf(cfg->model_type, sizeof cfg->model_type, "%s", archs[i].name);
    }
    if (!rc) rc = cfg->arch == SE_ARCH_GPT2 ? parse_gpt2(&js, cfg) : cfg->arch == SE_ARCH_GPT_NEOX ? parse_gpt_neox(&js, cfg)
                                                                                             : parse_llama_family(&js, cfg);
    if (!rc) rc = check_numbers(&js, cfg);
    if (!rc) rc = parse_sliding(&js, cfg);
    if (rc) se_model_config_free(cfg);
    return rc;
}

int se_model_config_load(se_model_config *cfg, const char *dir)
{
    memset(cfg, 0, sizeof *cfg);
    char *path = se_path_join(dir, "config.json"), *text = NULL;
    if (!path) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    int rc = se_read_file(path, SE_MAX_JSON_BYTES, &text, NULL);
    cJSON *root = rc ? NULL : cJSON_Parse(text);
    free(text);
    if (!rc && !root) rc = se_fail(SOFTENT_E_FORMAT, "%s: not valid JSON", path);
    if (!rc) rc = se_model_config_parse(cfg, root, path);
    cJSON_Delete(root);
    free(path);
    return rc;
}

void se_model_config_free(se_model_config *cfg)
{
    free(cfg->sliding);
    free(cfg->rope_short);
    free(cfg->rope_long);
    cfg->sliding = NULL;
    cfg->rope_short = cfg->rope_long = NULL;
}
