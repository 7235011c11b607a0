/*
 * tokenizer_regex.h - the regular expressions of tokenizer.json, on PCRE2.
 *
 * Hugging Face compiles `Regex` patterns with Oniguruma (its default
 * syntax: ^ and $ match at line breaks, (?m) is dot-all, \s is Unicode
 * White_Space, \h a hex digit, \v a vertical tab).  softent rewrites the
 * few constructs PCRE2 reads differently and compiles with UTF + UCP,
 * JIT-compiled where the library allows.  Constructs PCRE2 cannot express
 * (nested classes, class intersection) are refused, not approximated.
 */
#ifndef SOFTENT_TOKENIZER_REGEX_H
#define SOFTENT_TOKENIZER_REGEX_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include "tokenizer_util.h"

typedef enum {
    SE_RE_ONIG = 0,    /* an Oniguruma pattern from tokenizer.json */
    SE_RE_LITERAL = 1, /* a `String` pattern: matched literally */
    SE_RE_PCRE = 2     /* softent's own pattern, already in PCRE2 syntax */
} se_regex_syntax;

typedef struct {
    pcre2_code *code;
    int jit;
} se_regex;

/* Per-thread match state (PCRE2 match data and JIT stack); zero-initialise,
 * created on first use. */
typedef struct {
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *stack;
} se_regex_ctx;

/* what names the pattern in errors ("PATH: pre_tokenizer Split"). */
int se_regex_compile(se_regex *re, const char *pattern, size_t n, se_regex_syntax syntax, const char *what);
void se_regex_free(se_regex *re);
void se_regex_ctx_free(se_regex_ctx *c);

/* Every match of re in s[0..n), in order, appended to out (tag 1).  As
 * Oniguruma's find_iter: matches do not overlap, and an empty match that
 * touches the end of the previous match is skipped. */
int se_regex_find_all(const se_regex *re, se_regex_ctx *c, const char *s, size_t n, se_spans *out);

#endif
