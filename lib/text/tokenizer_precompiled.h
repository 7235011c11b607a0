/*
 * tokenizer_precompiled.h - the "Precompiled" normalizer of tokenizer.json:
 * SentencePiece's normalization rules (nmt_nfkc and the like) compiled
 * into a charsmap, a darts double-array trie of the source strings and the
 * NUL-terminated replacements after it.  Hugging Face applies it one
 * grapheme cluster at a time: a cluster of under 6 bytes that some rule
 * starts is replaced whole by the first (shortest) rule's replacement,
 * otherwise each of its characters by its own rule, if any.
 */
#ifndef SOFTENT_TOKENIZER_PRECOMPILED_H
#define SOFTENT_TOKENIZER_PRECOMPILED_H

#include "tokenizer_util.h"

typedef struct {
    uint32_t *units;         /* [n_units] the trie */
    size_t n_units;
    char *normalized;        /* [n_normalized] replacements, each ending in NUL */
    size_t n_normalized;
} se_precompiled;

/* From the charsmap in base64 (tokenizer.json's "precompiled_charsmap");
 * what names the component in errors. */
int se_precompiled_parse(se_precompiled *p, const char *base64, const char *what);
void se_precompiled_free(se_precompiled *p);

/* out += s[0..n) normalized. */
int se_precompiled_apply(const se_precompiled *p, const char *s, size_t n, se_buf *out);

#endif
