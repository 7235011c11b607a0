/* fuzz_tokenizer.c - a tokenizer.json, loaded and used on a fixed text. */
#include <string.h>

#include "fuzz.h"
#include "softent_tokenizer.h"

static const char TEXT[] = "Hello, world!  It's 2026 \xc3\xa9t\xc3\xa9 -- caf\xc3\xa9\n\t<|endoftext|> 12345 ...";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("tokenizer.json", data, size);
    softent_tokenizer *tok;
    if (softent_tokenizer_load(&tok, path) != SOFTENT_OK) return 0;
    int32_t *ids;
    int64_t n;
    for (int special = 0; special < 2; special++)
        if (softent_tokenizer_encode(tok, TEXT, sizeof TEXT - 1, special, &ids, &n) == SOFTENT_OK) {
            for (int64_t i = 0; i < n; i++) (void)softent_tokenizer_token(tok, ids[i]);
            free(ids);
        }
    softent_tokenizer_free(tok);
    return 0;
}
