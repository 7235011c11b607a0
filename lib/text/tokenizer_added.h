/*
 * tokenizer_added.h - added and special tokens ("added_tokens" of
 * tokenizer.json), found in the text before anything else, as Hugging
 * Face's AddedVocabulary does: tokens with normalized false are matched in
 * the raw text, the others (their content normalized too) in each
 * normalized stretch between; matches are leftmost-longest and do not
 * overlap; single_word, lstrip and rstrip behave as in HF's find_matches.
 */
#ifndef SOFTENT_TOKENIZER_ADDED_H
#define SOFTENT_TOKENIZER_ADDED_H

#include <cjson/cJSON.h>

#include "tokenizer_util.h"
#include "tokenizer_norm.h"

typedef struct {
    char *content; /* as in the file */
    int32_t id;
    int single_word, lstrip, rstrip, normalized, special;
} se_added_token;

/* A byte trie of token strings; edges in a hash map (node, byte) -> node. */
typedef struct {
    uint64_t *edge_key;  /* node << 8 | byte; UINT64_MAX empty */
    int32_t *edge_to;
    size_t edge_cap, n_edges;
    int32_t *token;      /* [n_nodes] token index ending here, or -1 */
    size_t n_nodes, node_cap;
    unsigned char first[256]; /* bytes some token starts with */
} se_trie;

typedef struct {
    se_added_token *tokens;
    int n;
    se_trie raw;  /* normalized == false: matched before normalizing */
    se_trie norm; /* normalized == true: matched after */
} se_added;

/* j: the "added_tokens" list (may be NULL).  Ids are assigned as HF's
 * AddedVocabulary::add_tokens does: the id the model's vocabulary already
 * gives the content, else the next free id. */
int se_added_load(se_added *a, const cJSON *j, const se_strmap *vocab, const se_normalizer *nz, const char *path);
void se_added_free(se_added *a);

/* Split s[0..n) by the tokens of trie t: spans covering s, tag = the token's
 * id or -1 for text between, appended to out. */
int se_added_split(const se_added *a, const se_trie *t, const char *s, size_t n, se_spans *out);

#endif
