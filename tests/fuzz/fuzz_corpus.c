/* fuzz_corpus.c - a corpus read to its end, as .txt and as .jsonl (the
 * field detected, and named). */
#include "fuzz.h"
#include "softent_corpus.h"

static void read_all(const char *path, const char *field)
{
    softent_corpus *c;
    if (softent_corpus_open(&c, path, field) != SOFTENT_OK) return;
    const char *text;
    size_t len;
    unsigned sum = 0;
    while (softent_corpus_next(c, &text, &len) == SOFTENT_OK && text)
        for (size_t i = 0; i < len; i++) sum += (unsigned char)text[i]; /* every byte is readable */
    *(volatile unsigned *)&sum;
    softent_corpus_close(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    read_all(fuzz_write("c.txt", data, size), NULL);
    const char *jsonl = fuzz_write("c.jsonl", data, size);
    read_all(jsonl, NULL);
    read_all(jsonl, "text");
    return 0;
}
