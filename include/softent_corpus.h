/*
 * softent_corpus.h - text corpora, one document at a time, and the n-gram
 * labels of token positions (SPEC sections 3 and 4).
 *
 * A corpus is a .txt file (one document a line), a .jsonl file (one JSON
 * object a line; the text field named, or the first of text, body,
 * sentence, content, document, passage), a directory of .txt files (one
 * document each, in byte order of their names), or "-" for standard input
 * (lines).  Empty lines and empty documents are skipped.
 */
#ifndef SOFTENT_CORPUS_H
#define SOFTENT_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "softent.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct softent_corpus softent_corpus;

/* text_field: the .jsonl field to read, or NULL to detect it. */
int softent_corpus_open(softent_corpus **out, const char *path, const char *text_field);
/* The next document: *text (NUL-terminated, valid until the next call) and
 * its length in bytes; *text = NULL at the end of the corpus. */
int softent_corpus_next(softent_corpus *c, const char **text, size_t *len);
/* The .jsonl field in use ("" for other formats). */
const char *softent_corpus_field(const softent_corpus *c);
void softent_corpus_close(softent_corpus *c);

/* Positions of a document of `len` tokens that have every n-gram up to
 * n_max on both sides: t in [n_max - 1, len - n_max).  0 when too short. */
int64_t softent_ngram_positions(int64_t len, int n_max);

/* Labels of order n at those positions: input n-gram (t-n+1 .. t) and output
 * n-gram (t+1 .. t+n), keys_in and keys_out [positions, n], exact token ids. */
void softent_ngram_labels(const int32_t *tokens, int64_t len, int n_max, int n,
                          int64_t *keys_in, int64_t *keys_out);

#ifdef __cplusplus
}
#endif
#endif
