/*
 * llama_prefill BACKEND_DIR MODEL.gguf TOKENS_FILE DOC_LEN THREADS - llama.cpp's
 * prefill rate, the baseline of bench/bench_prefill.py.  Built by the
 * benchmark against the prebuilt libllama of the npm test fixtures and the
 * headers of the matching llama.cpp source; not part of softent.
 *
 * Splits TOKENS_FILE (little-endian int32 ids) into documents of DOC_LEN
 * and decodes each in one batch into an emptied KV cache, with the logits
 * of its last token only (what a prefill asks for), on THREADS threads;
 * prints "docs D tokens N seconds S tokens_per_s R" for the decodes alone
 * (loading and the context's creation untimed).  The KV cache is float32
 * and flash attention off, as in the hidden-state oracle
 * (tests/oracle/llama_states.c), so that the two sides compute alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ggml-backend.h"
#include "llama.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: llama_prefill BACKEND_DIR MODEL.gguf TOKENS_FILE DOC_LEN THREADS\n");
        return 2;
    }
    const int doc_len = atoi(argv[4]), threads = atoi(argv[5]);
    if (doc_len < 1 || threads < 1) { fprintf(stderr, "llama_prefill: DOC_LEN and THREADS must be positive\n"); return 2; }
    ggml_backend_load_all_from_path(argv[1]);
    FILE *f = fopen(argv[3], "rb");
    if (!f) { perror(argv[3]); return 1; }
    enum { MAX_TOKENS = 1 << 22 };
    llama_token *tokens = malloc(MAX_TOKENS * sizeof *tokens);
    const int n = tokens ? (int)fread(tokens, sizeof *tokens, MAX_TOKENS, f) : 0;
    fclose(f);
    if (n < doc_len) { fprintf(stderr, "llama_prefill: %s holds fewer than %d tokens\n", argv[3], doc_len); return 1; }

    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    struct llama_model *model = llama_model_load_from_file(argv[2], mp);
    if (!model) { fprintf(stderr, "llama.cpp cannot load %s\n", argv[2]); return 1; }
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = cp.n_batch = cp.n_ubatch = (uint32_t)doc_len;
    cp.n_threads = cp.n_threads_batch = threads;
    cp.type_k = cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.no_perf = true;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "llama.cpp cannot make a context\n"); return 1; }
    struct llama_batch batch = llama_batch_init(doc_len, 0, 1);

    const int docs = n / doc_len;
    double secs = 0;
    for (int doc = 0; doc < docs; doc++) {
        llama_memory_clear(llama_get_memory(ctx), true);
        for (int i = 0; i < doc_len; i++) {
            batch.token[i] = tokens[doc * doc_len + i];
            batch.pos[i] = i;
            batch.n_seq_id[i] = 1;
            batch.seq_id[i][0] = 0;
            batch.logits[i] = i == doc_len - 1;
        }
        batch.n_tokens = doc_len;
        const double t0 = now();
        if (llama_decode(ctx, batch)) { fprintf(stderr, "llama_decode failed\n"); return 1; }
        secs += now() - t0;
    }
    printf("docs %d tokens %d seconds %.3f tokens_per_s %.1f\n", docs, docs * doc_len, secs, docs * doc_len / secs);
    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    free(tokens);
    return 0;
}
