/*
 * tokenizer_wordpiece.h - the WordPiece model of tokenizer.json, as Hugging
 * Face's models/wordpiece (BERT's): a word is split greedily, longest
 * vocabulary entry first from the left, every piece after the first looked
 * up with the continuing_subword_prefix ("##") in front.  A word that cannot
 * be split all the way, or that has more than max_input_chars_per_word
 * characters, becomes the one unk token.
 */
#ifndef SOFTENT_TOKENIZER_WORDPIECE_H
#define SOFTENT_TOKENIZER_WORDPIECE_H

#include <cjson/cJSON.h>

#include "tokenizer_util.h"

typedef struct {
    se_strmap vocab;
    int32_t max_id;          /* largest id in vocab, -1 when empty */
    char *unk;               /* unk_token (owned) */
    int32_t unk_id;          /* -1: not in the vocabulary (an error once a word needs it, as HF) */
    char *prefix;            /* continuing_subword_prefix (owned) */
    size_t prefix_n;
    int64_t max_chars;       /* max_input_chars_per_word */
    size_t longest;          /* bytes of the longest entry: no longer piece is looked up */
} se_wordpiece;

/* j: the "model" object. */
int se_wordpiece_load(se_wordpiece *m, const cJSON *j, const char *path);
void se_wordpiece_free(se_wordpiece *m);

/* Append the ids of word s[0..n) to out; piece is scratch. */
int se_wordpiece_encode_word(const se_wordpiece *m, se_buf *piece, const char *s, size_t n, se_ids *out);

#endif
