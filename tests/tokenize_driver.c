/* tokenize_driver MODEL FILE [--no-special]: FILE's whole text (newlines
 * and all, unlike `softent tokenize`, which reads a document a line) as
 * MODEL's tokenizer encodes it (softent_analysis_tokenizer_load: a
 * tokenizer.json, a directory, or a .gguf file); the ids on one line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "softent_analysis.h"
#include "softent_tokenizer.h"

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) { fprintf(stderr, "usage: tokenize_driver MODEL FILE [--no-special]\n"); return 2; }
    FILE *f = fopen(argv[2], "rb");
    if (!f) { perror(argv[2]); return 1; }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    char *text = malloc((size_t)size + 1);
    if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) return 1;
    fclose(f);
    softent_tokenizer *tok;
    int32_t *ids;
    int64_t n;
    tok = NULL;
    if (softent_analysis_tokenizer_load(&tok, argv[1]) || softent_tokenizer_encode(tok, text, (size_t)size, argc == 3, &ids, &n)) {
        fprintf(stderr, "%s\n", softent_last_error());
        softent_tokenizer_free(tok);
        free(text);
        return 1;
    }
    for (int64_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
    printf("\n");
    free(ids);
    free(text);
    softent_tokenizer_free(tok);
    return 0;
}
