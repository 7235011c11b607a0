/*
 * tokenizer_write.h - the one tokenizer.json writer: a byte-level BPE
 * model laid out as Hugging Face writes it (two-space indent, vocabulary in
 * id order), used by the BPE trainer and by softent_tokenizer_write_bytes
 * (the tokenizer `softent train` makes when it is given none).
 */
#ifndef SOFTENT_TOKENIZER_WRITE_H
#define SOFTENT_TOKENIZER_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* An entry of "added_tokens"; always special, never single_word/lstrip/rstrip. */
typedef struct {
    int64_t id;
    const char *content; /* borrowed */
    size_t len;
    int normalized;
} se_added_token;

/* Where the ByteLevel components stand in the file, for the flag arrays. */
enum { SE_BL_PRE_TOKENIZER, SE_BL_POST_PROCESSOR, SE_BL_DECODER, SE_BL_N };

/* Everything the file says.  Every pointer is borrowed for the call. */
typedef struct {
    size_t n_vocab;
    /* The spelling of vocabulary entry id (0 <= id < n_vocab), its length
     * in *len; a callback so that the trainer need not copy its pool. */
    const char *(*token)(const void *ctx, size_t id, size_t *len);
    const void *ctx;
    const int32_t (*merges)[2]; /* vocabulary ids, in merge order */
    size_t n_merges;
    const se_added_token *added;
    size_t n_added;
    int add_prefix_space[SE_BL_N], trim_offsets[SE_BL_N];
    /* continuing_subword_prefix and end_of_word_suffix: NULL writes null */
    const char *affix;
} se_tokenizer_json;

/* The inside of a JSON string as serde_json writes it: UTF-8 as is, the
 * short escapes, \u00XX for the other control characters. */
void se_json_put_escaped(FILE *f, const char *s, size_t n);

/* Write j to path atomically (common/fs.h). */
int se_tokenizer_json_write(const se_tokenizer_json *j, const char *path);
/* The same into an open file, for a caller that opened it ahead of work
 * that may fail; the caller checks f for write errors. */
void se_tokenizer_json_put(const se_tokenizer_json *j, FILE *f);

#endif
