/* tokenize_driver MODEL FILE... [--no-special]: each FILE's whole text
 * (newlines and all, unlike `softent tokenize`, which reads a document a
 * line) as MODEL's tokenizer encodes it (softent_analysis_tokenizer_load: a
 * tokenizer.json, a directory, or a .gguf file); the ids of each file on a
 * line of their own, the tokenizer loaded once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "softent_analysis.h"
#include "softent_tokenizer.h"

/* path's bytes, malloc'ed, or NULL with the reason printed. */
static char *read_all(const char *path, long *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return NULL; }
    fseek(f, 0, SEEK_END);
    *size = ftell(f);
    rewind(f);
    char *text = *size >= 0 ? malloc((size_t)*size + 1) : NULL;
    if (text && fread(text, 1, (size_t)*size, f) != (size_t)*size) {
        free(text);
        text = NULL;
    }
    if (!text) fprintf(stderr, "%s: cannot read\n", path);
    fclose(f);
    return text;
}

int main(int argc, char **argv)
{
    const int special = !(argc > 3 && !strcmp(argv[argc - 1], "--no-special"));
    const int n_files = argc - 2 - !special;
    if (n_files < 1) { fprintf(stderr, "usage: tokenize_driver MODEL FILE... [--no-special]\n"); return 2; }
    softent_tokenizer *tok = NULL;
    if (softent_analysis_tokenizer_load(&tok, argv[1])) {
        fprintf(stderr, "%s\n", softent_last_error());
        return 1;
    }
    int rc = 0;
    for (int k = 0; k < n_files && !rc; k++) {
        long size;
        char *text = read_all(argv[2 + k], &size);
        int32_t *ids = NULL;
        int64_t n;
        if (!text) rc = 1;
        else if (softent_tokenizer_encode(tok, text, (size_t)size, special, &ids, &n)) {
            fprintf(stderr, "%s\n", softent_last_error());
            rc = 1;
        } else {
            for (int64_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
            printf("\n");
        }
        free(ids);
        free(text);
    }
    softent_tokenizer_free(tok);
    return rc;
}
