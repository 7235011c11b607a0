/*
 * llama_states MODEL.gguf TOKENS_FILE OUT_PREFIX - llama.cpp's own hidden
 * states, the oracle for softent's GGUF models (tests/test_gguf.py).  Built
 * by the test against the prebuilt libllama of the npm fixtures and the
 * headers of the matching llama.cpp source; not part of softent.
 *
 * Decodes TOKENS_FILE (little-endian int32 ids, one sequence) in one batch
 * with an output for every token (so that the last layer keeps every row),
 * and through llama_context_params.cb_eval copies each block's output
 * (tensors l_out-0 .. l_out-{L-1}) and the final norm's (result_norm) into
 * OUT_PREFIX.f32: [L + 1, n, d] float32, block outputs first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml-backend.h"
#include "ggml.h"
#include "llama.h"

typedef struct {
    float *out;   /* [L + 1, n, d] */
    int n_layer, found;
    int64_t n, d;
} capture;

static bool on_tensor(struct ggml_tensor *t, bool ask, void *user)
{
    capture *c = user;
    int layer = -1;
    if (!strncmp(t->name, "l_out-", 6)) layer = atoi(t->name + 6);
    else if (!strcmp(t->name, "result_norm")) layer = c->n_layer;
    if (ask) return layer >= 0;
    if (layer < 0 || layer > c->n_layer || t->type != GGML_TYPE_F32 || t->ne[0] != c->d || t->ne[1] != c->n) return true;
    ggml_backend_tensor_get(t, c->out + (size_t)layer * c->n * c->d, 0, (size_t)(c->n * c->d) * sizeof(float));
    c->found++;
    return true;
}

int main(int argc, char **argv)
{
    if (argc != 5) { fprintf(stderr, "usage: llama_states BACKEND_DIR MODEL.gguf TOKENS_FILE OUT_PREFIX\n"); return 2; }
    ggml_backend_load_all_from_path(argv[1]);
    FILE *f = fopen(argv[3], "rb");
    if (!f) { perror(argv[3]); return 1; }
    llama_token tokens[4096];
    const int n = (int)fread(tokens, sizeof *tokens, 4096, f);
    fclose(f);
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    struct llama_model *model = llama_model_load_from_file(argv[2], mp);
    if (!model) { fprintf(stderr, "llama.cpp cannot load %s\n", argv[2]); return 1; }
    capture c = {.n_layer = llama_model_n_layer(model), .n = n, .d = llama_model_n_embd(model)};
    c.out = calloc((size_t)(c.n_layer + 1) * n * c.d, sizeof(float));
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = cp.n_batch = cp.n_ubatch = (uint32_t)n;
    cp.n_threads = cp.n_threads_batch = 2;
    /* float32 everywhere: the default F16 cache would round keys and values */
    cp.type_k = cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.cb_eval = on_tensor;
    cp.cb_eval_user_data = &c;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "llama.cpp cannot make a context\n"); return 1; }
    struct llama_batch batch = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) {
        batch.token[i] = tokens[i];
        batch.pos[i] = i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = 1;
    }
    batch.n_tokens = n;
    if (llama_decode(ctx, batch)) { fprintf(stderr, "llama_decode failed\n"); return 1; }
    if (c.found < c.n_layer + 1) { fprintf(stderr, "only %d of %d states were seen\n", c.found, c.n_layer + 1); return 1; }
    char path[4096];
    snprintf(path, sizeof path, "%s.f32", argv[4]);
    f = fopen(path, "wb");
    if (!f || fwrite(c.out, sizeof(float), (size_t)(c.n_layer + 1) * n * c.d, f) != (size_t)(c.n_layer + 1) * n * c.d) return 1;
    fclose(f);
    printf("%d %lld %d\n", c.n_layer, (long long)c.d, n);
    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    free(c.out);
    return 0;
}
