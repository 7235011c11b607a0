/*
 * tokenizer_unigram.h - the Unigram model of tokenizer.json (SentencePiece's,
 * as Hugging Face's models/unigram runs it): the segmentation of a word into
 * vocabulary pieces of the highest summed score, by Viterbi over the byte
 * positions; a character no piece starts with costs the lowest score less
 * 10 and becomes the unk token, consecutive ones fused into one.  With
 * byte_fallback a piece the vocabulary lacks becomes its <0xXX> tokens.
 */
#ifndef SOFTENT_TOKENIZER_UNIGRAM_H
#define SOFTENT_TOKENIZER_UNIGRAM_H

#include <cjson/cJSON.h>

#include "tokenizer_util.h"

/* A byte trie of the pieces, so that the pieces starting at a position are
 * found in one walk that stops where no piece goes on (as HF's trie). */
typedef struct {
    int32_t child, sibling;  /* first child, next sibling (-1: none) */
    int32_t id;              /* the piece ending here, -1: none */
    unsigned char byte;
} se_unigram_node;

typedef struct {
    se_strmap vocab;         /* piece -> id (a later duplicate wins, as HF's map) */
    se_unigram_node *trie;   /* [n_nodes], node 0 the root */
    int32_t n_nodes, trie_cap;
    int32_t max_id;          /* largest id, -1 when empty */
    double *score;           /* [n_pieces] */
    int32_t n_pieces;
    int32_t unk_id;          /* -1: none (an error once a word needs it, as HF) */
    int byte_fallback;
    double unk_score;        /* the lowest score less 10 */
} se_unigram;

/* j: the "model" object. */
int se_unigram_load(se_unigram *m, const cJSON *j, const char *path);
void se_unigram_free(se_unigram *m);

/* Scratch, one per thread: the best path's nodes. */
typedef struct {
    double *best;            /* [n + 1] */
    int32_t *id, *start;     /* [n + 1] */
    size_t cap;
    se_ids pieces;           /* the path's (start, end) pairs, last first */
} se_unigram_work;

void se_unigram_work_free(se_unigram_work *w);

/* Append the ids of word s[0..n) to out. */
int se_unigram_encode_word(const se_unigram *m, se_unigram_work *w, const char *s, size_t n, se_ids *out);

#endif
