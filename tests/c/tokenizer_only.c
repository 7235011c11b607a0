/*
 * tokenizer_only.c - a program of the public tokenizer API alone, linked
 * against the installed library (tests/test_install.py): the ids of each
 * argument's text, one line each, as `softent tokenize` prints them.
 *
 * usage: tokenizer_only TOKENIZER_JSON TEXT...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "softent_tokenizer.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: tokenizer_only TOKENIZER_JSON TEXT...\n");
        return 2;
    }
    softent_tokenizer *tok;
    int rc = softent_tokenizer_load(&tok, argv[1]);
    if (rc) {
        fprintf(stderr, "tokenizer_only: %s\n", softent_last_error());
        return 1;
    }
    for (int a = 2; a < argc && !rc; a++) {
        int32_t *ids;
        int64_t n;
        if ((rc = softent_tokenizer_encode(tok, argv[a], strlen(argv[a]), 1, &ids, &n))) break;
        for (int64_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
        free(ids);
    }
    if (rc) fprintf(stderr, "tokenizer_only: %s\n", softent_last_error());
    softent_tokenizer_free(tok);
    return rc ? 1 : 0;
}
