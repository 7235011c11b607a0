/*
 * tokenizer_pretok.h - the "pre_tokenizer" of tokenizer.json: Split (regex
 * or string, every split behaviour, invert), ByteLevel, Metaspace, Digits,
 * Punctuation, Whitespace, WhitespaceSplit, CharDelimiterSplit,
 * BertPreTokenizer (WhitespaceSplit then Punctuation) and Sequence (flattened
 * into one list of steps).
 *
 * Hugging Face runs each step over every piece before the next step; since
 * every step treats each piece on its own, softent runs the steps depth
 * first instead (a piece goes through all steps before the next piece) and
 * hands each final word straight to the model: no lists of pieces.
 */
#ifndef SOFTENT_TOKENIZER_PRETOK_H
#define SOFTENT_TOKENIZER_PRETOK_H

#include <cjson/cJSON.h>

#include "tokenizer_regex.h"

#define SE_PRETOK_MAX_STEPS 16

typedef enum {
    SE_PRE_SPLIT,
    SE_PRE_BYTE_LEVEL,
    SE_PRE_METASPACE,
    SE_PRE_DIGITS,
    SE_PRE_PUNCTUATION,
    SE_PRE_WHITESPACE,
    SE_PRE_WHITESPACE_SPLIT,
    SE_PRE_CHAR_DELIMITER
} se_pre_kind;

/* How a split treats the delimiters it finds (HF's SplitDelimiterBehavior). */
typedef enum {
    SE_SPLIT_REMOVED,
    SE_SPLIT_ISOLATED,
    SE_SPLIT_MERGED_WITH_PREVIOUS,
    SE_SPLIT_MERGED_WITH_NEXT,
    SE_SPLIT_CONTIGUOUS
} se_split_behavior;

typedef enum { SE_PREPEND_ALWAYS, SE_PREPEND_FIRST, SE_PREPEND_NEVER } se_prepend_scheme;

typedef struct {
    se_pre_kind kind;
    se_split_behavior behavior;
    int invert;                 /* Split */
    se_regex re;                /* Split, Whitespace, ByteLevel with use_regex */
    int add_prefix_space;       /* ByteLevel */
    int use_regex;              /* ByteLevel */
    char rep[8];                /* Metaspace replacement (UTF-8) */
    int rep_n;
    se_prepend_scheme prepend;  /* Metaspace */
    int split;                  /* Metaspace */
    uint32_t delimiter;         /* CharDelimiterSplit */
} se_pre_step;

typedef struct {
    se_pre_step steps[SE_PRETOK_MAX_STEPS];
    int n;
    /* The last step is ByteLevel: words reach the model as raw bytes, and
     * the model maps them to the byte alphabet itself (no copy). */
    int byte_level_last;
} se_pretok;

int se_pretok_parse(se_pretok *p, const cJSON *j, const char *path);
void se_pretok_free(se_pretok *p);

/* Scratch, one per thread: per step, the runs found and pieces made, and
 * the text of steps that rewrite it. */
typedef struct {
    se_spans runs[SE_PRETOK_MAX_STEPS];
    se_spans pieces[SE_PRETOK_MAX_STEPS];
    se_buf text[SE_PRETOK_MAX_STEPS];
    se_buf mapped[SE_PRETOK_MAX_STEPS];
    se_regex_ctx rx;
} se_pretok_work;

void se_pretok_work_free(se_pretok_work *w);

/* Receives each word in order; nonzero stops the run with that status. */
typedef int (*se_word_fn)(void *ctx, const char *word, size_t n);

/* Pre-tokenize s[0..n).  at_start: the text begins at offset 0 of the
 * input (Metaspace's prepend_scheme "first" needs to know). */
int se_pretok_run(const se_pretok *p, se_pretok_work *w, const char *s, size_t n, int at_start, se_word_fn emit, void *ctx);

#endif
