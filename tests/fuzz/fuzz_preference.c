/* fuzz_preference.c - a preference .jsonl (analyze --preference), read and
 * tokenized with the byte tokenizer, every position rule. */
#include "fuzz.h"
#include "softent_analysis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static softent_tokenizer *tok;
    if (!tok) {
        const char *tp = fuzz_path("bytes.json");
        if (softent_tokenizer_write_bytes(tp) || softent_tokenizer_load(&tok, tp)) abort();
    }
    const char *path = fuzz_write("p.jsonl", data, size);
    softent_analysis_params p = softent_analysis_default_params();
    p.max_length = 64;
    p.params.m = 8;
    softent_preference_params pp = softent_preference_default_params();
    for (int rule = 0; rule < 3; rule++) {
        pp.positions = (softent_pref_positions)rule;
        softent_analysis_corpus *c;
        if (softent_preference_read(&c, &p, &pp, path, tok, (int)softent_tokenizer_vocab_size(tok), 16) == SOFTENT_OK)
            softent_analysis_corpus_free(c);
    }
    return 0;
}
