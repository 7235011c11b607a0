/*
 * model_config.h - a Hugging Face config.json, read into the numbers the
 * forward pass needs, with transformers' defaults for the fields a config
 * may leave out and each architecture's fixed choices (biases, norms)
 * made explicit, so that forward.c branches on features, not on names.
 */
#ifndef SOFTENT_MODEL_CONFIG_H
#define SOFTENT_MODEL_CONFIG_H

#include <stdint.h>

typedef enum { SE_ARCH_GPT2, SE_ARCH_LLAMA, SE_ARCH_MISTRAL, SE_ARCH_QWEN2, SE_ARCH_QWEN3, SE_ARCH_OLMO2, SE_ARCH_GPT_NEOX, SE_ARCH_GEMMA, SE_ARCH_GEMMA2, SE_ARCH_PHI3, SE_ARCH_GEMMA3 } se_arch;
typedef enum { SE_ACT_SILU, SE_ACT_GELU, SE_ACT_GELU_TANH, SE_ACT_RELU } se_act;
typedef enum { SE_ROPE_NONE, SE_ROPE_DEFAULT, SE_ROPE_LINEAR, SE_ROPE_LLAMA3, SE_ROPE_LONGROPE, SE_ROPE_YARN, SE_ROPE_DYNAMIC } se_rope_type;
typedef enum { SE_QKNORM_NONE, SE_QKNORM_HEAD, SE_QKNORM_FULL } se_qk_norm;

#define SE_SUPPORTED_ARCHS "gpt2, llama, mistral, qwen2, qwen3, olmo2, gpt_neox, gemma, gemma2, gemma3_text, phi3"

typedef struct {
    se_arch arch;
    char model_type[32];
    int64_t n_layers, d_model, n_heads, n_kv_heads, head_dim, d_ff, vocab, max_pos;
    double norm_eps;
    se_act act;
    int tie_embeddings;
    int layer_norm;          /* LayerNorm with bias (gpt2, gpt_neox), else RMSNorm */
    int parallel_residual;   /* gpt_neox: h + attn(norm1(h)) + mlp(norm2(h)) */
    int fused_qkv;           /* gpt_neox: one [3 H hd, d] projection, q, k, v side by side within each head */
    int stacked_qkv;         /* phi3: one [(H + 2 KV) hd, d] projection, all of q, then k, then v */
    int fused_gate_up;       /* phi3: one [2 ff, d] projection, gate then up */
    int post_norm;           /* olmo2: h + norm(f(h)) instead of h + f(norm(h)); gemma2: h + norm2(f(norm1(h))) */
    int pre_and_post_norm;   /* gemma2: post_norm keeps the norms before the sublayers too */
    double attn_softcap;     /* gemma2: scores become cap tanh(score / cap) before the mask; 0: none */
    double final_softcap;    /* gemma2: the logits become cap tanh(logit / cap); 0: none */
    float norm_offset;       /* gemma, gemma2: RMSNorm scales by 1 + w (its weights are stored less 1), else 0 */
    int embed_scaled;        /* gemma, gemma2: the embeddings times sqrt(d_model) */
    int gated_mlp;           /* down(act(gate(x)) * up(x)), else proj(act(fc(x))) */
    int qkv_bias, o_bias, mlp_bias;
    se_qk_norm qk_norm;      /* qwen3: per head; olmo2: over the whole projection */
    double attn_scale;       /* 1 / sqrt(head_dim), or 1 without gpt2's scale_attn_weights */
    int scale_by_layer;      /* gpt2's scale_attn_by_inverse_layer_idx */
    /* RoPE */
    se_rope_type rope;
    int64_t rotary_dim;      /* the leading dimensions of a head that RoPE rotates (gpt_neox's rotary_pct); head_dim else */
    double rope_theta, rope_factor;
    double low_freq_factor, high_freq_factor, original_max_pos;  /* llama3; longrope, yarn: original_max_pos */
    double yarn_low, yarn_high;     /* yarn: the ramp between extrapolated and interpolated frequencies */
    float *rope_short, *rope_long;  /* longrope: [rotary_dim/2] factors, long beyond original_max_pos tokens */
    double rope_attention_factor;   /* cos and sin scaled by it (longrope, yarn; else 1) */
    double rope_local_theta;        /* gemma3: the sliding layers' own RoPE base (no scaling); 0: one RoPE for all */
    /* sliding-window attention: layer l sees keys j > i - sliding_window when sliding[l] */
    int64_t sliding_window;
    uint8_t *sliding;        /* [n_layers], NULL when no layer slides */
} se_model_config;

/* Read dir/config.json; failures name the file and the field. */
int se_model_config_load(se_model_config *cfg, const char *dir);
/* The same from a parsed config.json (a GGUF file's metadata restated as
 * one: gguf_model.c); path names it in messages. */
struct cJSON;
int se_model_config_parse(se_model_config *cfg, const struct cJSON *root, const char *path);
void se_model_config_free(se_model_config *cfg);

#endif
