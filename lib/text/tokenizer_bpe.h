/*
 * tokenizer_bpe.h - the BPE model of tokenizer.json, as Hugging Face's
 * models/bpe: a word's characters become vocabulary ids (byte fallback
 * <0xXX> tokens or the unk token, fused or not, for characters the
 * vocabulary lacks), then the adjacent pair of lowest merge rank is merged
 * until none is left (leftmost first on ties).  ignore_merges takes a word
 * found whole in the vocabulary as it is.
 *
 * Merges live in a hash map (left id, right id) -> (rank, merged id).  A
 * word's merge loop rescans a small array for the best pair (words are
 * short) and switches to a heap over a linked list past 64 symbols.  A cache
 * of word -> ids skips all of it for repeated words.
 */
#ifndef SOFTENT_TOKENIZER_BPE_H
#define SOFTENT_TOKENIZER_BPE_H

#include <cjson/cJSON.h>

#include "tokenizer_util.h"

typedef struct {
    uint64_t key;  /* left id << 32 | right id; UINT64_MAX: empty slot */
    uint32_t rank;
    int32_t id;    /* the merged token */
} se_merge;

typedef struct {
    se_strmap vocab;
    int32_t max_id;          /* largest id in vocab, -1 when empty */
    se_merge *merges;        /* [merges_cap], a power of two */
    size_t merges_cap, n_merges;
    const char *unk_token;   /* NULL: none (points into vocab's pool or unk_own) */
    char *unk_own;
    int32_t unk_id;          /* -1 when unk_token is not in the vocabulary */
    int fuse_unk, byte_fallback, ignore_merges;
    char *prefix, *suffix;   /* continuing_subword_prefix, end_of_word_suffix ("" = none) */
    size_t prefix_n, suffix_n;
    int32_t byte_sym[256];   /* id of each byte's GPT-2 character, or -1 */
    int32_t byte_tok[256];   /* id of each byte's <0xXX> token, or -1 */
    int32_t *char_id;        /* [65536] id of each one-character BMP token, or -1 */
} se_bpe;

/* j: the "model" object. */
int se_bpe_load(se_bpe *m, const cJSON *j, const char *path);
void se_bpe_free(se_bpe *m);

/* A word -> ids cache: open addressing, emptied when full. */
typedef struct {
    uint64_t hash; /* 0: empty */
    uint32_t key_off, key_n, ids_off, ids_n;
} se_bpe_cache_slot;

typedef struct {
    se_bpe_cache_slot *slots;
    size_t cap, count;
    se_buf keys;
    se_ids ids;
} se_bpe_cache;

/* Scratch, one per thread. */
typedef struct {
    se_ids sym;          /* the word's symbols */
    se_ids scratch;      /* ranks, merged ids, links, heap */
    se_buf text;         /* a word mapped to the byte alphabet */
    se_buf piece;        /* prefix + character + suffix */
    int use_cache;
    se_bpe_cache cache;
} se_bpe_work;

void se_bpe_work_free(se_bpe_work *w);

/* Append the ids of word s[0..n) to out.  byte_level: s is raw bytes that
 * still need GPT-2's byte-to-character map (ByteLevel ran last). */
int se_bpe_encode_word(const se_bpe *m, se_bpe_work *w, const char *s, size_t n, int byte_level, se_ids *out);

#endif
