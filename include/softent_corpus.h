/*
 * softent_corpus.h - text corpora, one document at a time (SPEC section 3).
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
SOFTENT_API int softent_corpus_open(softent_corpus **out, const char *path, const char *text_field);
/* The next document: *text (NUL-terminated, valid until the next call) and
 * its length in bytes; *text = NULL at the end of the corpus. */
SOFTENT_API int softent_corpus_next(softent_corpus *c, const char **text, size_t *len);
/* The .jsonl field in use ("" for other formats). */
SOFTENT_API const char *softent_corpus_field(const softent_corpus *c);
SOFTENT_API void softent_corpus_close(softent_corpus *c);

#ifdef __cplusplus
}
#endif
#endif
