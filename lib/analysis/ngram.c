/* ngram.c - input and output n-gram labels of token positions (SPEC section 4). */
#include "softent_analysis.h"

int64_t softent_ngram_positions(int64_t len, int n_max)
{
    int64_t n = len - 2 * (int64_t)n_max + 1;
    return n > 0 ? n : 0;
}

void softent_ngram_labels(const int32_t *tokens, int64_t len, int n_max, int n,
                          int64_t *keys_in, int64_t *keys_out)
{
    const int64_t positions = softent_ngram_positions(len, n_max);
    for (int64_t p = 0; p < positions; p++) {
        const int64_t t = n_max - 1 + p;
        for (int k = 0; k < n; k++) {
            keys_in[p * n + k] = tokens[t - n + 1 + k];
            keys_out[p * n + k] = tokens[t + 1 + k];
        }
    }
}
