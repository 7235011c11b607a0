/*
 * llama_tokenize BACKEND_DIR VOCAB.gguf FILE - llama.cpp's own tokenizer,
 * the oracle for softent's GGUF tokenizers (tests/test_gguf.py): each line
 * of FILE (without its "\n" or "\r\n") as llama_tokenize encodes it, with neither
 * special tokens added nor parsed, the ids of a line on one line.  Built by
 * the test against the prebuilt libllama of the npm fixtures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml-backend.h"
#include "llama.h"

int main(int argc, char **argv)
{
    if (argc != 4) { fprintf(stderr, "usage: llama_tokenize BACKEND_DIR VOCAB.gguf FILE\n"); return 2; }
    ggml_backend_load_all_from_path(argv[1]);
    struct llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    struct llama_model *model = llama_model_load_from_file(argv[2], mp);
    if (!model) { fprintf(stderr, "llama.cpp cannot load %s\n", argv[2]); return 1; }
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    FILE *f = fopen(argv[3], "rb");
    if (!f) { perror(argv[3]); return 1; }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int32_t max = 1 << 16;
    llama_token *ids = malloc((size_t)max * sizeof *ids);
    while ((len = getline(&line, &cap, f)) >= 0) {
        if (len > 0 && line[len - 1] == '\n') len--;
        if (len > 0 && line[len - 1] == '\r') len--; /* "\r\n" ends a line, as softent reads text */
        int32_t n = llama_tokenize(vocab, line, (int32_t)len, ids, max, false, false);
        if (n < 0) {
            max = -n;
            ids = realloc(ids, (size_t)max * sizeof *ids);
            n = llama_tokenize(vocab, line, (int32_t)len, ids, max, false, false);
        }
        for (int32_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
    }
    free(ids);
    free(line);
    fclose(f);
    llama_model_free(model);
    return 0;
}
