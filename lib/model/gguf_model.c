/*
 * gguf_model.c - GGUF models (see gguf_model.h).  The key and tensor names
 * are llama.cpp's (llama-arch.cpp, convert_hf_to_gguf.py); only the
 * architectures whose GGUF layout is listed here load, the others are
 * refused by name.  llama's converter permutes the rows of q and k so that
 * ggml's interleaved rotation equals transformers' rotate_half, and
 * gpt_neox's regroups query_key_value by q, k, v; the reordering is undone
 * when those weights are converted (weights.c), so the forward pass sees
 * transformers' layout.  Gemma's converter stores each norm's weight as
 * 1 + w (llama.cpp multiplies by the weight alone), so a GGUF gemma runs
 * with no norm offset.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "gguf_model.h"
#include "softent_gguf.h"

int se_is_gguf_path(const char *path)
{
    const size_t n = strlen(path);
    return n > 5 && !strcmp(path + n - 5, ".gguf");
}

/* The GGUF architectures softent runs, and the model_type each is. */
static const char *model_type_of(const char *arch)
{
    static const struct { const char *gguf, *hf; } known[] = {
        {"llama", "llama"}, {"qwen2", "qwen2"}, {"qwen3", "qwen3"}, {"olmo2", "olmo2"}, {"gptneox", "gpt_neox"}, {"gpt2", "gpt2"}, {"phi3", "phi3"},
        {"gemma", "gemma"}, {"gemma2", "gemma2"}, {"gemma3", "gemma3_text"},
    };
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (!strcmp(arch, known[i].gguf)) return known[i].hf;
    return NULL;
}

/* A metadata key "{arch}.{key}" as a number, when present. */
static int meta_num(const softent_gguf *g, const char *arch, const char *key, double *v)
{
    char name[128];
    snprintf(name, sizeof name, "%s.%s", arch, key);
    const int64_t i = softent_gguf_find_key(g, name);
    return i >= 0 && softent_gguf_get_float(g, i, 0, v) == SOFTENT_OK;
}

static int meta_str(const softent_gguf *g, const char *key, char *out, size_t cap)
{
    const char *s;
    size_t n;
    const int64_t i = softent_gguf_find_key(g, key);
    if (i < 0 || softent_gguf_get_string(g, i, 0, &s, &n)) return 0;
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), s);
    return 1;
}

/* gpt_neox's own: the rotated dimensions as rotary_pct, and the residual. */
static int restate_neox(const softent_gguf *g, const char *path, const char *arch, cJSON *c)
{
    double rot, heads, width;
    if (!meta_num(g, arch, "rope.dimension_count", &rot)) return se_fail(SOFTENT_E_FORMAT, "%s: no metadata key %s.rope.dimension_count", path, arch);
    meta_num(g, arch, "attention.head_count", &heads), meta_num(g, arch, "embedding_length", &width);
    if (!(heads >= 1 && width >= heads && rot >= 0)) return se_fail(SOFTENT_E_FORMAT, "%s: heads, width or RoPE dimensions out of range", path);
    /* int(head_size * rotary_pct) gives back rot exactly from this ratio */
    cJSON_AddNumberToObject(c, "rotary_pct", (rot + 0.5) / (double)(int64_t)(width / heads));
    char key[128];
    snprintf(key, sizeof key, "%s.use_parallel_residual", arch);
    const int64_t i = softent_gguf_find_key(g, key);
    double parallel = 1;
    if (i >= 0 && softent_gguf_get_float(g, i, 0, &parallel)) return se_fail(SOFTENT_E_FORMAT, "%s: %s is not a boolean", path, key);
    cJSON_AddBoolToObject(c, "use_parallel_residual", parallel != 0);
    return SOFTENT_OK;
}

/* A metadata key {arch}.gguf as config.json's field hf. */
typedef struct { const char *gguf, *hf; int required; } config_field;

/* model_type, the fields, the vocabulary size (token_embd.weight's) and
 * whether the embeddings are tied (no output.weight). */
static int restate_common(const softent_gguf *g, const char *path, const char *arch, const char *model_type, const config_field *fields,
                          size_t n_fields, cJSON *c)
{
    cJSON_AddStringToObject(c, "model_type", model_type);
    for (size_t i = 0; i < n_fields; i++) {
        double v;
        if (meta_num(g, arch, fields[i].gguf, &v)) cJSON_AddNumberToObject(c, fields[i].hf, v);
        else if (fields[i].required) return se_fail(SOFTENT_E_FORMAT, "%s: no metadata key %s.%s", path, arch, fields[i].gguf);
    }
    const int64_t embd = softent_gguf_find_tensor(g, "token_embd.weight");
    softent_gguf_tensor t;
    if (embd < 0) return se_fail(SOFTENT_E_FORMAT, "%s: no tensor token_embd.weight", path);
    softent_gguf_tensor_info(g, embd, &t);
    cJSON_AddNumberToObject(c, "vocab_size", (double)(t.n_dims == 2 ? t.ne[1] : 0));
    cJSON_AddBoolToObject(c, "tie_word_embeddings", softent_gguf_find_tensor(g, "output.weight") < 0);
    return SOFTENT_OK;
}

/* A float32 vector tensor of the file as a JSON list, or NULL (no such
 * tensor, or not a float32 vector). */
static cJSON *float_list(const softent_gguf *g, const char *name)
{
    const int64_t i = softent_gguf_find_tensor(g, name);
    softent_gguf_tensor t;
    if (i < 0) return NULL;
    softent_gguf_tensor_info(g, i, &t);
    if (t.type != SOFTENT_GGML_F32 || t.n_dims != 1) return NULL;
    cJSON *list = cJSON_CreateArray();
    for (int64_t k = 0; list && k < t.n_elements; k++) {
        float v;
        memcpy(&v, (const char *)t.data + 4 * k, sizeof v);
        cJSON_AddItemToArray(list, cJSON_CreateNumber(v));
    }
    return list;
}

/* phi3's own: the rotated share of each head, its sliding window (which
 * transformers applies; llama.cpp disables it), and longrope's factors,
 * which the converter stores as the tensors rope_factors_long/short. */
static int restate_phi3(const softent_gguf *g, const char *path, const char *arch, cJSON *c)
{
    double rot, heads, width, window, orig;
    if (meta_num(g, arch, "rope.dimension_count", &rot) && meta_num(g, arch, "attention.head_count", &heads) &&
        meta_num(g, arch, "embedding_length", &width) && heads >= 1 && width >= heads)
        cJSON_AddNumberToObject(c, "partial_rotary_factor", rot / (double)(int64_t)(width / heads));
    if (meta_num(g, arch, "attention.sliding_window", &window) && window > 0) cJSON_AddNumberToObject(c, "sliding_window", window);
    cJSON *lng = float_list(g, "rope_factors_long.weight"), *shrt = float_list(g, "rope_factors_short.weight");
    if (!lng != !shrt || ((lng || shrt) && !meta_num(g, arch, "rope.scaling.original_context_length", &orig))) {
        cJSON_Delete(lng);
        cJSON_Delete(shrt);
        return se_fail(SOFTENT_E_FORMAT, "%s: longrope needs both float32 rope_factors_long and rope_factors_short and %s.rope.scaling.original_context_length",
                       path, arch);
    }
    if (lng) {
        cJSON *rs = cJSON_AddObjectToObject(c, "rope_scaling");
        cJSON_AddStringToObject(rs, "rope_type", "longrope");
        cJSON_AddItemToObject(rs, "long_factor", lng);
        cJSON_AddItemToObject(rs, "short_factor", shrt);
        cJSON_AddNumberToObject(c, "original_max_position_embeddings", orig);
    }
    return SOFTENT_OK;
}

static int is_gemma(const char *model_type) { return !strncmp(model_type, "gemma", 5); }

/* gemma2's and gemma3's own.  The file has no query_pre_attn_scalar:
 * llama.cpp takes d / heads for the 27B models (known by their 46 and 62
 * layers) and head_dim for the others, which is what their configs say,
 * and so does softent.  The sliding layers: gemma2's every other one from
 * the first, gemma3's all but every sliding_window_pattern-th (6), or the
 * pattern's list of booleans; gemma3's sliding layers' RoPE base is
 * rope.freq_base_swa (10000 when absent, as in both llama.cpp and
 * transformers). */
static int restate_gemma2(const softent_gguf *g, const char *path, const char *arch, const char *model_type, cJSON *c)
{
    const int g3 = !strcmp(model_type, "gemma3_text");
    double layers = 0, width = 0, heads = 1, head_dim = 0, v;
    meta_num(g, arch, "block_count", &layers), meta_num(g, arch, "embedding_length", &width);
    meta_num(g, arch, "attention.head_count", &heads);
    if (!meta_num(g, arch, "attention.key_length", &head_dim)) head_dim = 256;
    const int big = layers == (g3 ? 62 : 46);
    cJSON_AddNumberToObject(c, "query_pre_attn_scalar", big && heads >= 1 ? (double)(int64_t)(width / heads) : head_dim);
    if (meta_num(g, arch, "attn_logit_softcapping", &v)) cJSON_AddNumberToObject(c, "attn_logit_softcapping", v);
    else if (g3) cJSON_AddNullToObject(c, "attn_logit_softcapping");
    if (meta_num(g, arch, "final_logit_softcapping", &v)) cJSON_AddNumberToObject(c, "final_logit_softcapping", v);
    else cJSON_AddNullToObject(c, "final_logit_softcapping");
    if (meta_num(g, arch, "rope.freq_base_swa", &v)) cJSON_AddNumberToObject(c, "rope_local_base_freq", v);
    /* no window: no sliding layers (gemma2's default window is llama.cpp's too) */
    if (meta_num(g, arch, "attention.sliding_window", &v)) cJSON_AddNumberToObject(c, "sliding_window", v);
    else if (g3) cJSON_AddNumberToObject(c, "sliding_window", 0);
    char key[128];
    snprintf(key, sizeof key, "%s.attention.sliding_window_pattern", arch);
    const int64_t k = softent_gguf_find_key(g, key);
    if (k < 0) return SOFTENT_OK;
    int type, elem;
    int64_t n;
    softent_gguf_key(g, k, &type, &elem, &n);
    if (type != SOFTENT_GGUF_ARRAY) {
        if (softent_gguf_get_float(g, k, 0, &v) || !(v >= 0 && v <= 1e6))
            return se_fail(SOFTENT_E_FORMAT, "%s: %s must be a layer count in 0..1e6", path, key);
        /* llama.cpp: layer l slides when l % n < n - 1 (n = 0: every layer) */
        cJSON *types = cJSON_AddArrayToObject(c, "layer_types");
        for (int64_t l = 0; l < (int64_t)layers; l++)
            cJSON_AddItemToArray(types, cJSON_CreateString(v == 0 || l % (int64_t)v < (int64_t)v - 1 ? "sliding_attention" : "full_attention"));
        return SOFTENT_OK;
    }
    if (n != (int64_t)layers)
        return se_fail(SOFTENT_E_FORMAT, "%s: %s must be a layer count or one boolean a layer (%lld layers, not %lld)", path, key,
                       (long long)layers, (long long)n);
    cJSON *types = cJSON_AddArrayToObject(c, "layer_types");
    for (int64_t l = 0; l < n; l++) {
        if (softent_gguf_get_float(g, k, l, &v)) return se_fail(SOFTENT_E_FORMAT, "%s: %s[%lld] is not a boolean", path, key, (long long)l);
        cJSON_AddItemToArray(types, cJSON_CreateString(v != 0 ? "sliding_attention" : "full_attention"));
    }
    return SOFTENT_OK;
}

/* yarn's rope_scaling as transformers reads it.  llama.cpp applies the
 * whole ramp (ext_factor 1, transformers' only one) and its default
 * attention scale 0.1 ln(factor) + 1; the converter stores transformers'
 * attention_factor, when a config has one, as yarn_attn_factor, which
 * llama.cpp then overrides and softent, following transformers, keeps. */
static int restate_yarn(const softent_gguf *g, const char *path, const char *arch, cJSON *c)
{
    double factor, v;
    if (!meta_num(g, arch, "rope.scaling.factor", &factor))
        return se_fail(SOFTENT_E_FORMAT, "%s: yarn RoPE scaling needs %s.rope.scaling.factor", path, arch);
    if ((meta_num(g, arch, "rope.scaling.yarn_ext_factor", &v) && v != 1) ||
        (meta_num(g, arch, "rope.scaling.yarn_log_multiplier", &v) && v != 0) || (meta_num(g, arch, "rope.scaling.attn_factor", &v) && v != 1))
        return se_fail(SOFTENT_E_FORMAT, "%s: yarn with an ext_factor other than 1, a log multiplier or a further attention factor "
                       "(%s.rope.scaling.yarn_ext_factor, yarn_log_multiplier, attn_factor) is not supported", path, arch);
    cJSON *rs = cJSON_AddObjectToObject(c, "rope_scaling");
    cJSON_AddStringToObject(rs, "rope_type", "yarn");
    cJSON_AddNumberToObject(rs, "factor", factor);
    static const struct { const char *gguf, *hf; } keys[] = {
        {"rope.scaling.original_context_length", "original_max_position_embeddings"}, {"rope.scaling.yarn_beta_fast", "beta_fast"},
        {"rope.scaling.yarn_beta_slow", "beta_slow"}, {"rope.scaling.yarn_attn_factor", "attention_factor"},
    };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (meta_num(g, arch, keys[i].gguf, &v)) cJSON_AddNumberToObject(rs, keys[i].hf, v);
    return SOFTENT_OK;
}

/* gpt2's config.json, under its own names. */
static int restate_gpt2(const softent_gguf *g, const char *path, const char *arch, cJSON *c)
{
    static const config_field fields[] = {
        {"block_count", "n_layer", 1}, {"embedding_length", "n_embd", 1}, {"attention.head_count", "n_head", 1},
        {"feed_forward_length", "n_inner", 0}, {"context_length", "n_positions", 1}, {"attention.layer_norm_epsilon", "layer_norm_epsilon", 0},
    };
    int rc = restate_common(g, path, arch, "gpt2", fields, sizeof fields / sizeof *fields, c);
    /* llama.cpp runs every gpt2 with GELU's tanh form, transformers' gelu_new */
    if (!rc) cJSON_AddStringToObject(c, "activation_function", "gelu_new");
    return rc;
}

/* config.json's fields from the metadata, for se_model_config_parse. */
static int restate(const softent_gguf *g, const char *path, const char *arch, const char *model_type, cJSON *c)
{
    static const config_field fields[] = {
        {"block_count", "num_hidden_layers", 1}, {"embedding_length", "hidden_size", 1},
        {"attention.head_count", "num_attention_heads", 1}, {"attention.head_count_kv", "num_key_value_heads", 0},
        {"attention.key_length", "head_dim", 0}, {"feed_forward_length", "intermediate_size", 1},
        {"context_length", "max_position_embeddings", 0}, {"attention.layer_norm_rms_epsilon", "rms_norm_eps", 0},
        {"attention.layer_norm_epsilon", "layer_norm_eps", 0}, {"rope.freq_base", "rope_theta", 0},
    };
    if (!strcmp(model_type, "gpt2")) return restate_gpt2(g, path, arch, c);
    int rc = restate_common(g, path, arch, model_type, fields, sizeof fields / sizeof *fields, c);
    if (rc) return rc;
    const int neox = !strcmp(model_type, "gpt_neox");
    cJSON_AddBoolToObject(c, "attention_bias", softent_gguf_find_tensor(g, neox ? "blk.0.attn_qkv.bias" : "blk.0.attn_q.bias") >= 0);
    cJSON_AddBoolToObject(c, "mlp_bias", softent_gguf_find_tensor(g, "blk.0.ffn_up.bias") >= 0);
    if (neox && (rc = restate_neox(g, path, arch, c))) return rc;
    if (!strcmp(model_type, "phi3")) return restate_phi3(g, path, arch, c);
    const int gemma2 = is_gemma(model_type) && strcmp(model_type, "gemma");
    if (gemma2 && (rc = restate_gemma2(g, path, arch, model_type, c))) return rc;
    char scaling[32] = "", key[128];
    double window;
    if (!gemma2 && meta_num(g, arch, "attention.sliding_window", &window) && window > 0)
        return se_fail(SOFTENT_E_FORMAT, "%s: sliding-window attention (%s.attention.sliding_window, OLMo 3) is not supported in a GGUF "
                       "file; give the safetensors model instead", path, arch);
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    const int scaled = meta_str(g, key, scaling, sizeof scaling) && strcmp(scaling, "none");
    if (scaled && !strcmp(scaling, "yarn")) {
        if ((rc = restate_yarn(g, path, arch, c))) return rc;
    } else if (scaled) {
        double factor;
        if (strcmp(scaling, "linear") || !meta_num(g, arch, "rope.scaling.factor", &factor))
            return se_fail(SOFTENT_E_FORMAT, "%s: RoPE scaling '%s' in a GGUF file is not supported (linear or yarn, with its factor)", path, scaling);
        cJSON *rs = cJSON_AddObjectToObject(c, "rope_scaling");
        cJSON_AddStringToObject(rs, "rope_type", "linear");
        cJSON_AddNumberToObject(rs, "factor", factor);
    }
    if (softent_gguf_find_tensor(g, "rope_freqs.weight") >= 0 && (cJSON_GetObjectItem(c, "rope_scaling") || !strcmp(model_type, "gpt_neox")))
        return se_fail(SOFTENT_E_FORMAT, "%s: RoPE frequency factors (rope_freqs.weight) beside %s are not supported", path,
                       cJSON_GetObjectItem(c, "rope_scaling") ? "a RoPE scaling type" : "gptneox's partial rotation");
    return SOFTENT_OK;
}

int se_gguf_config(se_model_config *cfg, const softent_gguf *g, const char *path)
{
    char arch[64];
    if (!meta_str(g, "general.architecture", arch, sizeof arch))
        return se_fail(SOFTENT_E_FORMAT, "%s: no general.architecture string: not a model file", path);
    const char *model_type = model_type_of(arch);
    if (!model_type) return se_fail(SOFTENT_E_FORMAT, "%s: GGUF architecture '%s' is not supported (llama, qwen2, qwen3, olmo2, gptneox, gpt2, phi3, gemma, gemma2, gemma3)", path, arch);
    cJSON *c = cJSON_CreateObject();
    if (!c) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    int rc = restate(g, path, arch, model_type, c);
    if (!rc) rc = se_model_config_parse(cfg, c, path);
    cJSON_Delete(c);
    if (!rc && is_gemma(model_type)) cfg->norm_offset = 0;  /* the file's norms are 1 + w */
    return rc;
}

/* Names by architecture: the file's, transformers'. */
typedef struct { const char *gguf, *hf; se_row_order order; } name_map;

static const name_map LLAMA_GLOBAL[] = {
    {"token_embd.weight", "model.embed_tokens.weight", 0}, {"output_norm.weight", "model.norm.weight", 0}, {"output.weight", "lm_head.weight", 0},
};
/* SE_ROWS_LLAMA_QK marks q (and k, told apart by name) for llama's converter alone */
static const name_map LLAMA_BLOCK[] = {
    {"attn_norm.weight", "input_layernorm.weight", 0}, {"ffn_norm.weight", "post_attention_layernorm.weight", 0},
    {"attn_q.weight", "self_attn.q_proj.weight", SE_ROWS_LLAMA_QK}, {"attn_k.weight", "self_attn.k_proj.weight", SE_ROWS_LLAMA_QK},
    {"attn_v.weight", "self_attn.v_proj.weight", 0}, {"attn_output.weight", "self_attn.o_proj.weight", 0},
    {"attn_q.bias", "self_attn.q_proj.bias", SE_ROWS_LLAMA_QK}, {"attn_k.bias", "self_attn.k_proj.bias", SE_ROWS_LLAMA_QK},
    {"attn_v.bias", "self_attn.v_proj.bias", 0}, {"attn_output.bias", "self_attn.o_proj.bias", 0},
    {"attn_q_norm.weight", "self_attn.q_norm.weight", 0}, {"attn_k_norm.weight", "self_attn.k_norm.weight", 0},
    /* olmo2's norms after each sublayer (it has no ffn_norm) */
    {"post_attention_norm.weight", "post_attention_layernorm.weight", 0},
    {"post_ffw_norm.weight", "post_feedforward_layernorm.weight", 0},
    {"ffn_gate.weight", "mlp.gate_proj.weight", 0}, {"ffn_up.weight", "mlp.up_proj.weight", 0},
    {"ffn_down.weight", "mlp.down_proj.weight", 0}, {"ffn_gate.bias", "mlp.gate_proj.bias", 0},
    {"ffn_up.bias", "mlp.up_proj.bias", 0}, {"ffn_down.bias", "mlp.down_proj.bias", 0},
};
static const name_map NEOX_GLOBAL[] = {
    {"token_embd.weight", "gpt_neox.embed_in.weight", 0}, {"output_norm.weight", "gpt_neox.final_layer_norm.weight", 0},
    {"output_norm.bias", "gpt_neox.final_layer_norm.bias", 0}, {"output.weight", "embed_out.weight", 0},
};
static const name_map NEOX_BLOCK[] = {
    {"attn_norm.weight", "input_layernorm.weight", 0}, {"attn_norm.bias", "input_layernorm.bias", 0},
    {"attn_qkv.weight", "attention.query_key_value.weight", SE_ROWS_NEOX_QKV},
    {"attn_qkv.bias", "attention.query_key_value.bias", SE_ROWS_NEOX_QKV},
    {"attn_output.weight", "attention.dense.weight", 0}, {"attn_output.bias", "attention.dense.bias", 0},
    {"ffn_norm.weight", "post_attention_layernorm.weight", 0}, {"ffn_norm.bias", "post_attention_layernorm.bias", 0},
    {"ffn_up.weight", "mlp.dense_h_to_4h.weight", 0}, {"ffn_up.bias", "mlp.dense_h_to_4h.bias", 0},
    {"ffn_down.weight", "mlp.dense_4h_to_h.weight", 0}, {"ffn_down.bias", "mlp.dense_4h_to_h.bias", 0},
};

/* gpt2's Conv1D weights, which the converter transposes to nn.Linear's layout */
static const name_map GPT2_GLOBAL[] = {
    {"token_embd.weight", "transformer.wte.weight", 0}, {"position_embd.weight", "transformer.wpe.weight", 0},
    {"output_norm.weight", "transformer.ln_f.weight", 0}, {"output_norm.bias", "transformer.ln_f.bias", 0},
    {"output.weight", "lm_head.weight", 0},
};
static const name_map GPT2_BLOCK[] = {
    {"attn_norm.weight", "ln_1.weight", 0}, {"attn_norm.bias", "ln_1.bias", 0},
    {"attn_qkv.weight", "attn.c_attn.weight", SE_ROWS_TRANSPOSED}, {"attn_qkv.bias", "attn.c_attn.bias", 0},
    {"attn_output.weight", "attn.c_proj.weight", SE_ROWS_TRANSPOSED}, {"attn_output.bias", "attn.c_proj.bias", 0},
    {"ffn_norm.weight", "ln_2.weight", 0}, {"ffn_norm.bias", "ln_2.bias", 0},
    {"ffn_up.weight", "mlp.c_fc.weight", SE_ROWS_TRANSPOSED}, {"ffn_up.bias", "mlp.c_fc.bias", 0},
    {"ffn_down.weight", "mlp.c_proj.weight", SE_ROWS_TRANSPOSED}, {"ffn_down.bias", "mlp.c_proj.bias", 0},
};

/* phi3's fused q/k/v and gate/up, kept fused by the converter */
static const name_map PHI3_BLOCK[] = {
    {"attn_norm.weight", "input_layernorm.weight", 0}, {"ffn_norm.weight", "post_attention_layernorm.weight", 0},
    {"attn_qkv.weight", "self_attn.qkv_proj.weight", 0}, {"attn_output.weight", "self_attn.o_proj.weight", 0},
    {"ffn_up.weight", "mlp.gate_up_proj.weight", 0}, {"ffn_down.weight", "mlp.down_proj.weight", 0},
};

#define N_OF(a) (sizeof a / sizeof *a)

void se_gguf_hf_name(const char *model_type, const char *name, int64_t n_heads, int64_t n_kv_heads, char *out, size_t cap,
                     se_rows *rows)
{
    const int neox = !strcmp(model_type, "gpt_neox"), gpt2 = !strcmp(model_type, "gpt2"), phi3 = !strcmp(model_type, "phi3");
    const name_map *global = neox ? NEOX_GLOBAL : gpt2 ? GPT2_GLOBAL : LLAMA_GLOBAL;
    const name_map *block = neox ? NEOX_BLOCK : gpt2 ? GPT2_BLOCK : phi3 ? PHI3_BLOCK : LLAMA_BLOCK;
    const size_t n_global = neox ? N_OF(NEOX_GLOBAL) : gpt2 ? N_OF(GPT2_GLOBAL) : N_OF(LLAMA_GLOBAL);
    const size_t n_block = neox ? N_OF(NEOX_BLOCK) : gpt2 ? N_OF(GPT2_BLOCK) : phi3 ? N_OF(PHI3_BLOCK) : N_OF(LLAMA_BLOCK);
    const char *layers = neox ? "gpt_neox.layers" : gpt2 ? "transformer.h" : "model.layers";
    *rows = (se_rows){SE_ROWS_AS_STORED, 0};
    snprintf(out, cap, "%s", name);
    for (size_t i = 0; i < n_global; i++)
        if (!strcmp(name, global[i].gguf)) {
            snprintf(out, cap, "%s", global[i].hf);
            return;
        }
    int layer, used = 0;
    if (sscanf(name, "blk.%d.%n", &layer, &used) != 1 || used == 0) return;
    /* gemma2's and gemma3's norm before the MLP (llama's ffn_norm follows attention) */
    if (is_gemma(model_type) && strcmp(model_type, "gemma") && !strcmp(name + used, "ffn_norm.weight")) {
        snprintf(out, cap, "%s.%d.pre_feedforward_layernorm.weight", layers, layer);
        return;
    }
    for (size_t i = 0; i < n_block; i++)
        if (!strcmp(name + used, block[i].gguf)) {
            snprintf(out, cap, "%s.%d.%s", layers, layer, block[i].hf);
            if (block[i].order == SE_ROWS_NEOX_QKV) *rows = (se_rows){SE_ROWS_NEOX_QKV, n_heads};
            else if (block[i].order == SE_ROWS_TRANSPOSED) *rows = (se_rows){SE_ROWS_TRANSPOSED, 0};
            /* only llama's converter permutes (qwen's rotation is already transformers') */
            else if (block[i].order == SE_ROWS_LLAMA_QK && !strcmp(model_type, "llama"))
                *rows = (se_rows){SE_ROWS_LLAMA_QK, strstr(block[i].gguf, "attn_q.") ? n_heads : n_kv_heads};
            return;
        }
}
