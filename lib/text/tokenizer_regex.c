/* tokenizer_regex.c - Oniguruma patterns on PCRE2 (see tokenizer_regex.h). */
#include <stdio.h>
#include <stdlib.h>

#include "common/error.h"
#include "tokenizer_regex.h"

/* Oniguruma's Unicode \w: Letter | Mark | Decimal_Number | Connector_Punctuation
 * (PCRE2 10.42's is letters, numbers and underscore). */
#define ONIG_WORD "\\p{L}\\p{M}\\p{Nd}\\p{Pc}"
#define HEX_DIGIT "0-9a-fA-F"

static int unsupported(const char *what, const char *construct)
{
    return se_fail(SOFTENT_E_FORMAT, "%s: regex uses %s, which softent's PCRE2 translation does not support", what, construct);
}

static int put(se_buf *b, const char *s) { return se_buf_append(b, s, strlen(s)); }

static int is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* Rewrite an Oniguruma pattern where PCRE2 would read it differently. */
static int translate(const char *p, size_t n, se_buf *out, const char *what)
{
    int in_class = 0;   /* inside [...] */
    size_t class_start = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\\' && i + 1 < n) {
            char e = p[++i];
            const char *rep = NULL;
            switch (e) {
            case 's': rep = "\\p{White_Space}"; break;
            case 'S': rep = "\\P{White_Space}"; break;
            case 'w': rep = in_class ? ONIG_WORD : "[" ONIG_WORD "]"; break;
            case 'W':
                if (in_class) return unsupported(what, "\\W inside a character class");
                rep = "[^" ONIG_WORD "]";
                break;
            case 'h': rep = in_class ? HEX_DIGIT : "[" HEX_DIGIT "]"; break;
            case 'H':
                if (in_class) return unsupported(what, "\\H inside a character class");
                rep = "[^" HEX_DIGIT "]";
                break;
            case 'v': rep = "\\x0B"; break;
            case 'u':
                if (i + 4 < n && is_hex(p[i + 1]) && is_hex(p[i + 2]) && is_hex(p[i + 3]) && is_hex(p[i + 4])) {
                    char tmp[16];
                    snprintf(tmp, sizeof tmp, "\\x{%.4s}", p + i + 1);
                    if (put(out, tmp)) return SOFTENT_E_NOMEM;
                    i += 4;
                    continue;
                }
                return unsupported(what, "a \\u escape without four hex digits");
            case 'y': case 'Y': case 'O':
                return unsupported(what, "an Oniguruma-only escape (\\y, \\Y or \\O)");
            default: break;
            }
            if (rep) {
                if (put(out, rep)) return SOFTENT_E_NOMEM;
                continue;
            }
            /* Everything else means the same in both; \p{..} and \x{..}
             * carry their braces along unchanged. */
            char esc[2] = {'\\', e};
            if (se_buf_append(out, esc, 2)) return SOFTENT_E_NOMEM;
            if ((e == 'p' || e == 'P' || e == 'x') && i + 1 < n && p[i + 1] == '{') {
                size_t j = i + 1;
                while (j < n && p[j] != '}') j++;
                if (j == n) return unsupported(what, "an unterminated \\p{ or \\x{");
                if (se_buf_append(out, p + i + 1, j - i)) return SOFTENT_E_NOMEM;
                i = j;
            }
            continue;
        }
        if (in_class) {
            if (c == '[') {
                if (i + 1 < n && p[i + 1] == ':') { /* a POSIX class [:alpha:] */
                    size_t j = i + 2;
                    while (j + 1 < n && !(p[j] == ':' && p[j + 1] == ']')) j++;
                    if (j + 1 >= n) return unsupported(what, "an unterminated POSIX class");
                    if (se_buf_append(out, p + i, j + 2 - i)) return SOFTENT_E_NOMEM;
                    i = j + 1;
                    continue;
                }
                return unsupported(what, "a nested character class");
            }
            if (c == '&' && i + 1 < n && p[i + 1] == '&') return unsupported(what, "character-class intersection (&&)");
            if (c == ']' && i > class_start) in_class = 0;
            if (se_buf_append(out, &c, 1)) return SOFTENT_E_NOMEM;
            continue;
        }
        if (c == '[') {
            in_class = 1;
            if (se_buf_append(out, "[", 1)) return SOFTENT_E_NOMEM;
            if (i + 1 < n && p[i + 1] == '^') {
                if (se_buf_append(out, "^", 1)) return SOFTENT_E_NOMEM;
                i++;
            }
            /* A ']' first in the class is a literal. */
            class_start = i + 1;
            continue;
        }
        if (c == '(' && i + 2 < n && p[i + 1] == '?' && strchr("imx-", p[i + 2])) {
            /* Inline options: Oniguruma's (?m) is PCRE2's (?s). */
            if (put(out, "(?")) return SOFTENT_E_NOMEM;
            size_t j = i + 2;
            for (; j < n && p[j] != ':' && p[j] != ')'; j++) {
                char o = p[j];
                if (!strchr("imx-", o)) return unsupported(what, "an inline option other than i, m, x");
                if (o == 'm') o = 's';
                if (se_buf_append(out, &o, 1)) return SOFTENT_E_NOMEM;
            }
            i = j - 1;
            continue;
        }
        if (se_buf_append(out, &c, 1)) return SOFTENT_E_NOMEM;
    }
    if (in_class) return unsupported(what, "an unterminated character class");
    return 0;
}

int se_regex_compile(se_regex *re, const char *pattern, size_t n, se_regex_syntax syntax, const char *what)
{
    memset(re, 0, sizeof *re);
    se_buf pat = {0};
    const char *src = pattern;
    size_t len = n;
    uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE | PCRE2_NO_UTF_CHECK;
    if (syntax == SE_RE_LITERAL) {
        options = PCRE2_LITERAL | PCRE2_UTF | PCRE2_NO_UTF_CHECK; /* all LITERAL allows */
    } else if (syntax == SE_RE_ONIG) {
        int rc = translate(pattern, n, &pat, what);
        if (rc) {
            se_buf_free(&pat);
            return rc;
        }
        src = pat.p ? pat.p : "";
        len = pat.n;
    }
    if (se_utf8_valid_prefix(src, len) != len) {
        se_buf_free(&pat);
        return se_fail(SOFTENT_E_FORMAT, "%s: pattern is not valid UTF-8", what);
    }
    int err;
    PCRE2_SIZE at;
    re->code = pcre2_compile((PCRE2_SPTR)src, len, options, &err, &at, NULL);
    se_buf_free(&pat);
    if (!re->code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(err, msg, sizeof msg);
        return se_fail(SOFTENT_E_FORMAT, "%s: regex does not compile: %s (at offset %zu)", what, (const char *)msg, (size_t)at);
    }
    /* JIT is an optimisation only: without it PCRE2 interprets. */
    re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0;
    return 0;
}

void se_regex_free(se_regex *re)
{
    pcre2_code_free(re->code);
    memset(re, 0, sizeof *re);
}

void se_regex_ctx_free(se_regex_ctx *c)
{
    pcre2_match_data_free(c->md);
    pcre2_match_context_free(c->mctx);
    pcre2_jit_stack_free(c->stack);
    memset(c, 0, sizeof *c);
}

static int ctx_ready(se_regex_ctx *c)
{
    if (c->md) return 0;
    c->md = pcre2_match_data_create(1, NULL);
    c->mctx = pcre2_match_context_create(NULL);
    /* The default 32 KB JIT stack is too small for long runs of text that
     * backtracking patterns (\s+(?!\S)) walk; 16 MB is plenty. */
    c->stack = pcre2_jit_stack_create(32 * 1024, 16 * 1024 * 1024, NULL);
    if (!c->md || !c->mctx || !c->stack) {
        se_regex_ctx_free(c);
        return se_fail(SOFTENT_E_NOMEM, "out of memory for regex matching");
    }
    pcre2_jit_stack_assign(c->mctx, NULL, c->stack);
    return 0;
}

/* One search from start: 1 and the match, 0 for none, or a status. */
static int search(const se_regex *re, se_regex_ctx *c, const char *s, size_t n, size_t start, size_t *ms, size_t *me)
{
    int rc = re->jit ? pcre2_jit_match(re->code, (PCRE2_SPTR)s, n, start, 0, c->md, c->mctx)
                     : pcre2_match(re->code, (PCRE2_SPTR)s, n, start, PCRE2_NO_UTF_CHECK, c->md, c->mctx);
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc < 0) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(rc, msg, sizeof msg);
        se_fail(SOFTENT_E_LIMIT, "regex matching failed on a text of %zu bytes: %s", n, (const char *)msg);
        return -1;
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
    *ms = ov[0];
    *me = ov[1];
    return 1;
}

int se_regex_find_all(const se_regex *re, se_regex_ctx *c, const char *s, size_t n, se_spans *out)
{
    if (ctx_ready(c)) return SOFTENT_E_NOMEM;
    size_t pos = 0, last_end = (size_t)-1;
    while (pos <= n) {
        size_t ms, me;
        int rc = search(re, c, s, n, pos, &ms, &me);
        if (rc < 0) return SOFTENT_E_LIMIT;
        if (rc == 0) break;
        if (ms == me && me == last_end) {
            /* No empty match right after the previous one: step a character. */
            if (pos >= n) break;
            pos += (size_t)se_utf8_len((unsigned char)s[pos]);
            continue;
        }
        if (se_spans_push(out, ms, me, 1)) return SOFTENT_E_NOMEM;
        pos = last_end = me;
    }
    return 0;
}
