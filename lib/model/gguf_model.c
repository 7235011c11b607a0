/*
 * gguf_model.c - GGUF models (see gguf_model.h).  The key and tensor names
 * are llama.cpp's (llama-arch.cpp, convert_hf_to_gguf.py); only the
 * architectures whose GGUF layout is listed here load, the others are
 * refused by name.  llama's converter permutes the rows of q and k so that
 * ggml's interleaved rotation equals transformers' rotate_half; the
 * permutation is undone when those weights are converted (weights.c), so
 * the forward pass sees transformers' layout.
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
    static const char *known[] = {"llama", "qwen2", "qwen3"};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (!strcmp(arch, known[i])) return known[i];
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

/* config.json's fields from the metadata, for se_model_config_parse. */
static int restate(const softent_gguf *g, const char *path, const char *arch, const char *model_type, cJSON *c)
{
    static const struct { const char *gguf, *hf; int required; } fields[] = {
        {"block_count", "num_hidden_layers", 1}, {"embedding_length", "hidden_size", 1},
        {"attention.head_count", "num_attention_heads", 1}, {"attention.head_count_kv", "num_key_value_heads", 0},
        {"attention.key_length", "head_dim", 0}, {"feed_forward_length", "intermediate_size", 1},
        {"context_length", "max_position_embeddings", 0}, {"attention.layer_norm_rms_epsilon", "rms_norm_eps", 0},
        {"rope.freq_base", "rope_theta", 0},
    };
    cJSON_AddStringToObject(c, "model_type", model_type);
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
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
    cJSON_AddBoolToObject(c, "attention_bias", softent_gguf_find_tensor(g, "blk.0.attn_q.bias") >= 0);
    cJSON_AddBoolToObject(c, "mlp_bias", softent_gguf_find_tensor(g, "blk.0.ffn_up.bias") >= 0);
    char scaling[32] = "", key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    if (meta_str(g, key, scaling, sizeof scaling) && strcmp(scaling, "none")) {
        double factor;
        if (strcmp(scaling, "linear") || !meta_num(g, arch, "rope.scaling.factor", &factor))
            return se_fail(SOFTENT_E_FORMAT, "%s: RoPE scaling '%s' in a GGUF file is not supported (linear, with its factor)", path, scaling);
        cJSON *rs = cJSON_AddObjectToObject(c, "rope_scaling");
        cJSON_AddStringToObject(rs, "rope_type", "linear");
        cJSON_AddNumberToObject(rs, "factor", factor);
    }
    if (softent_gguf_find_tensor(g, "rope_freqs.weight") >= 0)
        return se_fail(SOFTENT_E_FORMAT, "%s: RoPE frequency factors (rope_freqs.weight, llama3's scaling) in a GGUF file are not supported", path);
    return SOFTENT_OK;
}

int se_gguf_config(se_model_config *cfg, const softent_gguf *g, const char *path)
{
    char arch[64];
    if (!meta_str(g, "general.architecture", arch, sizeof arch))
        return se_fail(SOFTENT_E_FORMAT, "%s: no general.architecture string: not a model file", path);
    const char *model_type = model_type_of(arch);
    if (!model_type) return se_fail(SOFTENT_E_FORMAT, "%s: GGUF architecture '%s' is not supported (llama, qwen2, qwen3)", path, arch);
    cJSON *c = cJSON_CreateObject();
    if (!c) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    int rc = restate(g, path, arch, model_type, c);
    if (!rc) rc = se_model_config_parse(cfg, c, path);
    cJSON_Delete(c);
    return rc;
}

void se_gguf_hf_name(const char *model_type, const char *name, int64_t n_heads, int64_t n_kv_heads, char *out, size_t cap,
                     int64_t *unpermute)
{
    static const struct { const char *gguf, *hf; } global[] = {
        {"token_embd.weight", "model.embed_tokens.weight"}, {"output_norm.weight", "model.norm.weight"}, {"output.weight", "lm_head.weight"},
    };
    static const struct { const char *gguf, *hf; int qk; } block[] = {
        {"attn_norm.weight", "input_layernorm.weight", 0}, {"ffn_norm.weight", "post_attention_layernorm.weight", 0},
        {"attn_q.weight", "self_attn.q_proj.weight", 1}, {"attn_k.weight", "self_attn.k_proj.weight", 2},
        {"attn_v.weight", "self_attn.v_proj.weight", 0}, {"attn_output.weight", "self_attn.o_proj.weight", 0},
        {"attn_q.bias", "self_attn.q_proj.bias", 1}, {"attn_k.bias", "self_attn.k_proj.bias", 2},
        {"attn_v.bias", "self_attn.v_proj.bias", 0}, {"attn_output.bias", "self_attn.o_proj.bias", 0},
        {"attn_q_norm.weight", "self_attn.q_norm.weight", 0}, {"attn_k_norm.weight", "self_attn.k_norm.weight", 0},
        {"ffn_gate.weight", "mlp.gate_proj.weight", 0}, {"ffn_up.weight", "mlp.up_proj.weight", 0},
        {"ffn_down.weight", "mlp.down_proj.weight", 0}, {"ffn_gate.bias", "mlp.gate_proj.bias", 0},
        {"ffn_up.bias", "mlp.up_proj.bias", 0}, {"ffn_down.bias", "mlp.down_proj.bias", 0},
    };
    *unpermute = 0;
    snprintf(out, cap, "%s", name);
    for (size_t i = 0; i < sizeof global / sizeof *global; i++)
        if (!strcmp(name, global[i].gguf)) {
            snprintf(out, cap, "%s", global[i].hf);
            return;
        }
    int layer, used = 0;
    if (sscanf(name, "blk.%d.%n", &layer, &used) != 1 || used == 0) return;
    for (size_t i = 0; i < sizeof block / sizeof *block; i++)
        if (!strcmp(name + used, block[i].gguf)) {
            snprintf(out, cap, "model.layers.%d.%s", layer, block[i].hf);
            /* only llama's converter permutes (qwen's rotation is already transformers') */
            if (block[i].qk && !strcmp(model_type, "llama")) *unpermute = block[i].qk == 1 ? n_heads : n_kv_heads;
            return;
        }
}
