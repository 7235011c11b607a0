/*
 * tokenizer_norm.h - the "normalizer" of tokenizer.json: Unicode forms
 * (NFC, NFD, NFKC, NFKD through utf8proc), Lowercase, Strip, StripAccents,
 * Prepend, Replace, ByteLevel, BertNormalizer (its parts as steps of their
 * own), Precompiled (tokenizer_precompiled.h) and Sequence (flattened into
 * one list of steps).  Hugging Face applies it to each stretch of text between added
 * tokens; so does softent.
 */
#ifndef SOFTENT_TOKENIZER_NORM_H
#define SOFTENT_TOKENIZER_NORM_H

#include <cjson/cJSON.h>

#include "tokenizer_precompiled.h"
#include "tokenizer_regex.h"

typedef enum {
    SE_NORM_NFC,
    SE_NORM_NFD,
    SE_NORM_NFKC,
    SE_NORM_NFKD,
    SE_NORM_LOWERCASE,
    SE_NORM_STRIP,
    SE_NORM_STRIP_ACCENTS,
    SE_NORM_PREPEND,
    SE_NORM_REPLACE,
    SE_NORM_BYTE_LEVEL,
    SE_NORM_BERT_CLEAN,          /* drop NUL, U+FFFD and controls; whitespace becomes ' ' */
    SE_NORM_BERT_CHINESE,        /* a space either side of each CJK ideograph */
    SE_NORM_BERT_STRIP_ACCENTS,  /* NFD, then drop nonspacing marks (Mn) */
    SE_NORM_PRECOMPILED
} se_norm_kind;

typedef struct {
    se_norm_kind kind;
    char *text;        /* Prepend's prefix, Replace's content (owned) */
    size_t text_n;
    se_regex pattern;  /* Replace */
    int left, right;   /* Strip */
    se_precompiled charsmap; /* Precompiled */
} se_norm_step;

typedef struct {
    se_norm_step *steps;
    int n; /* 0: no normalizer */
} se_normalizer;

/* j: the "normalizer" value (NULL or JSON null for none); path names the
 * file in errors. */
int se_norm_parse(se_normalizer *nz, const cJSON *j, const char *path);
void se_norm_free(se_normalizer *nz);

/* Scratch for se_norm_apply, one per thread. */
typedef struct {
    se_buf tmp, tmp2;
    se_spans matches;
    se_regex_ctx rx;
} se_norm_work;

void se_norm_work_free(se_norm_work *w);

/* out = normalize(s[0..n)) (out's previous content is replaced). */
int se_norm_apply(const se_normalizer *nz, se_norm_work *w, const char *s, size_t n, se_buf *out);

#endif
