/* tokenizer_pretok.c - pre-tokenizers (see tokenizer_pretok.h). */
#include <stdio.h>
#include <stdlib.h>

#include "tokenizer_json.h"
#include "tokenizer_pretok.h"

/* GPT-2's pattern, which ByteLevel's use_regex applies (an Oniguruma pattern,
 * translated like any other). */
static const char GPT2_PATTERN[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/* The Whitespace pre-tokenizer's \w+|[^\w\s]+, with the Rust regex crate's
 * Unicode \w (Alphabetic, marks, Nd, Pc, Join_Control; Alphabetic taken as
 * letters and Nl). */
#define RUST_WORD "\\p{L}\\p{Nl}\\p{M}\\p{Nd}\\p{Pc}\\x{200C}\\x{200D}"
static const char WHITESPACE_PATTERN[] = "[" RUST_WORD "]+|[^" RUST_WORD "\\p{White_Space}]+";

static int parse_behavior(const cJSON *j, const char *dflt, se_split_behavior *out, const char *what)
{
    static const char *names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
    const char *b;
    int rc = se_json_str(j, "behavior", dflt, &b, what);
    if (rc) return rc;
    if (!b) return se_fail(SOFTENT_E_FORMAT, "%s: no \"behavior\"", what);
    for (int k = 0; k < 5; k++)
        if (!strcmp(b, names[k])) {
            *out = (se_split_behavior)k;
            return 0;
        }
    return se_fail(SOFTENT_E_FORMAT, "%s: unknown behavior '%s'", what, b);
}

/* A JSON string holding exactly one character. */
static int one_char(const char *s, uint32_t *c, const char *what, const char *field)
{
    size_t n = s ? strlen(s) : 0;
    int len = 0;
    if (n && se_utf8_valid_prefix(s, n) == n) *c = se_utf8_get(s, &len);
    if (!n || (size_t)len != n) return se_fail(SOFTENT_E_FORMAT, "%s: \"%s\" must be one character", what, field);
    return 0;
}

static int parse_metaspace(se_pre_step *st, const cJSON *j, const char *what)
{
    const char *rep, *scheme;
    uint32_t c;
    int rc, aps;
    if ((rc = se_json_str(j, "replacement", "\xE2\x96\x81", &rep, what)) || (rc = one_char(rep, &c, what, "replacement")))
        return rc;
    st->rep_n = se_utf8_put(c, st->rep);
    if ((rc = se_json_str(j, "prepend_scheme", "always", &scheme, what)) || (rc = se_json_bool(j, "split", 1, &st->split, what)) ||
        (rc = se_json_bool(j, "add_prefix_space", 1, &aps, what)))
        return rc;
    if (!strcmp(scheme, "always")) st->prepend = SE_PREPEND_ALWAYS;
    else if (!strcmp(scheme, "first")) st->prepend = SE_PREPEND_FIRST;
    else if (!strcmp(scheme, "never")) st->prepend = SE_PREPEND_NEVER;
    else return se_fail(SOFTENT_E_FORMAT, "%s: unknown prepend_scheme '%s'", what, scheme);
    /* Files from before prepend_scheme say add_prefix_space: false. */
    if (!aps) {
        if (st->prepend != SE_PREPEND_NEVER && cJSON_GetObjectItemCaseSensitive(j, "prepend_scheme"))
            return se_fail(SOFTENT_E_FORMAT, "%s: add_prefix_space false contradicts prepend_scheme '%s'", what, scheme);
        st->prepend = SE_PREPEND_NEVER;
    }
    return 0;
}

static int add_step(se_pretok *p, const cJSON *j, const char *path, int depth)
{
    const char *type = se_json_type(j);
    char what[512];
    int rc = 0;
    if (!type) return se_fail(SOFTENT_E_FORMAT, "%s: a pre_tokenizer without a \"type\"", path);
    snprintf(what, sizeof what, "%s: pre_tokenizer %s", path, type);
    if (!strcmp(type, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "pretokenizers"), *item;
        if (!cJSON_IsArray(list)) return se_fail(SOFTENT_E_FORMAT, "%s: \"pretokenizers\" is not a list", what);
        if (depth > 32) return se_fail(SOFTENT_E_FORMAT, "%s: Sequences nested too deep", what);
        cJSON_ArrayForEach(item, list) {
            if ((rc = add_step(p, item, path, depth + 1))) return rc;
        }
        return 0;
    }
    if (p->n == SE_PRETOK_MAX_STEPS) return se_fail(SOFTENT_E_FORMAT, "%s: more than %d pre-tokenizers", what, SE_PRETOK_MAX_STEPS);
    se_pre_step *st = &p->steps[p->n];
    memset(st, 0, sizeof *st);
    if (!strcmp(type, "Split")) {
        st->kind = SE_PRE_SPLIT;
        /* HF requires both fields (Tokenizers.js would assume invert true). */
        if (!cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(j, "invert"))) return se_fail(SOFTENT_E_FORMAT, "%s: no \"invert\" boolean", what);
        if ((rc = parse_behavior(j, NULL, &st->behavior, what)) || (rc = se_json_bool(j, "invert", 0, &st->invert, what)) ||
            (rc = se_json_pattern(j, &st->re, what)))
            return rc;
    } else if (!strcmp(type, "ByteLevel")) {
        st->kind = SE_PRE_BYTE_LEVEL;
        if ((rc = se_json_bool(j, "add_prefix_space", 1, &st->add_prefix_space, what)) ||
            (rc = se_json_bool(j, "use_regex", 1, &st->use_regex, what)))
            return rc;
        if (st->use_regex && (rc = se_regex_compile(&st->re, GPT2_PATTERN, sizeof GPT2_PATTERN - 1, SE_RE_ONIG, what))) return rc;
    } else if (!strcmp(type, "Metaspace")) {
        st->kind = SE_PRE_METASPACE;
        if ((rc = parse_metaspace(st, j, what))) return rc;
    } else if (!strcmp(type, "Digits")) {
        st->kind = SE_PRE_DIGITS;
        int individual;
        if ((rc = se_json_bool(j, "individual_digits", 0, &individual, what))) return rc;
        st->behavior = individual ? SE_SPLIT_ISOLATED : SE_SPLIT_CONTIGUOUS;
    } else if (!strcmp(type, "Punctuation")) {
        st->kind = SE_PRE_PUNCTUATION;
        if ((rc = parse_behavior(j, "Isolated", &st->behavior, what))) return rc;
    } else if (!strcmp(type, "Whitespace")) {
        st->kind = SE_PRE_WHITESPACE;
        if ((rc = se_regex_compile(&st->re, WHITESPACE_PATTERN, sizeof WHITESPACE_PATTERN - 1, SE_RE_PCRE, what))) return rc;
    } else if (!strcmp(type, "WhitespaceSplit")) {
        st->kind = SE_PRE_WHITESPACE_SPLIT;
    } else if (!strcmp(type, "BertPreTokenizer")) {
        /* HF's: split on whitespace (removed), then each punctuation
         * character on its own */
        if (p->n + 2 > SE_PRETOK_MAX_STEPS) return se_fail(SOFTENT_E_FORMAT, "%s: more than %d pre-tokenizers", what, SE_PRETOK_MAX_STEPS);
        st->kind = SE_PRE_WHITESPACE_SPLIT;
        p->n++;
        st = &p->steps[p->n];
        memset(st, 0, sizeof *st);
        st->kind = SE_PRE_PUNCTUATION;
        st->behavior = SE_SPLIT_ISOLATED;
    } else if (!strcmp(type, "CharDelimiterSplit")) {
        st->kind = SE_PRE_CHAR_DELIMITER;
        const char *d;
        if ((rc = se_json_str(j, "delimiter", NULL, &d, what)) || (rc = one_char(d, &st->delimiter, what, "delimiter"))) return rc;
    } else {
        return se_fail(SOFTENT_E_FORMAT,
                       "%s: unsupported pre_tokenizer type '%s' (softent supports Split, ByteLevel, Metaspace, Digits, "
                       "Punctuation, Whitespace, WhitespaceSplit, CharDelimiterSplit, BertPreTokenizer, Sequence)", path, type);
    }
    p->n++;
    return 0;
}

int se_pretok_parse(se_pretok *p, const cJSON *j, const char *path)
{
    memset(p, 0, sizeof *p);
    if (!j || cJSON_IsNull(j)) return 0;
    int rc = add_step(p, j, path, 0);
    if (rc) {
        se_pretok_free(p);
        return rc;
    }
    p->byte_level_last = p->n > 0 && p->steps[p->n - 1].kind == SE_PRE_BYTE_LEVEL;
    return 0;
}

void se_pretok_free(se_pretok *p)
{
    /* A failed parse may leave a compiled pattern in the step past n. */
    for (int i = 0; i < SE_PRETOK_MAX_STEPS; i++) se_regex_free(&p->steps[i].re);
    memset(p, 0, sizeof *p);
}

void se_pretok_work_free(se_pretok_work *w)
{
    for (int i = 0; i < SE_PRETOK_MAX_STEPS; i++) {
        se_spans_free(&w->runs[i]);
        se_spans_free(&w->pieces[i]);
        se_buf_free(&w->text[i]);
        se_buf_free(&w->mapped[i]);
    }
    se_regex_ctx_free(&w->rx);
}

/* ---- running -------------------------------------------------------------- */

typedef struct {
    const se_pretok *p;
    se_pretok_work *w;
    se_word_fn emit;
    void *ctx;
} runner;

static int run(runner *r, int level, const char *s, size_t n, int at_start);

/* Runs covering s[0..n): matches (tag 1) and the text between (tag 0),
 * from a list of matches. */
static int runs_from_matches(const se_spans *m, size_t n, se_spans *runs)
{
    size_t prev = 0;
    runs->n = 0;
    for (size_t k = 0; k < m->n; k++) {
        if (m->v[k].start > prev && se_spans_push(runs, prev, m->v[k].start, 0)) return SOFTENT_E_NOMEM;
        if (se_spans_push(runs, m->v[k].start, m->v[k].end, 1)) return SOFTENT_E_NOMEM;
        prev = m->v[k].end;
    }
    if (prev < n && se_spans_push(runs, prev, n, 0)) return SOFTENT_E_NOMEM;
    return 0;
}

/* Runs where every character passing the test is a match of its own (HF's
 * char patterns). */
static int runs_from_chars(const se_pre_step *st, const char *s, size_t n, se_spans *runs)
{
    size_t prev = 0;
    runs->n = 0;
    for (size_t i = 0; i < n;) {
        int len;
        uint32_t c = se_utf8_get(s + i, &len);
        int hit;
        switch (st->kind) {
        case SE_PRE_DIGITS: hit = se_uc_numeric(c); break;
        case SE_PRE_PUNCTUATION: hit = se_hf_punctuation(c); break;
        case SE_PRE_WHITESPACE_SPLIT: hit = se_uc_white_space(c); break;
        case SE_PRE_CHAR_DELIMITER: hit = c == st->delimiter; break;
        default: hit = (size_t)st->rep_n <= n - i && !memcmp(s + i, st->rep, (size_t)st->rep_n); break; /* Metaspace */
        }
        if (hit) {
            if (i > prev && se_spans_push(runs, prev, i, 0)) return SOFTENT_E_NOMEM;
            if (se_spans_push(runs, i, i + (size_t)len, 1)) return SOFTENT_E_NOMEM;
            prev = i + (size_t)len;
        }
        i += (size_t)len;
    }
    if (prev < n && se_spans_push(runs, prev, n, 0)) return SOFTENT_E_NOMEM;
    return 0;
}

/* HF's NormalizedString::split: runs -> pieces by behaviour (empty pieces
 * are dropped later). */
static int apply_behavior(const se_spans *runs, se_split_behavior b, int invert, se_spans *out)
{
    out->n = 0;
    int prev_match = 0;
    if (b == SE_SPLIT_MERGED_WITH_NEXT) {
        for (size_t k = runs->n; k-- > 0;) {
            const se_span *r = &runs->v[k];
            int m = r->tag ^ invert;
            if (m && !prev_match && out->n) out->v[out->n - 1].start = r->start;
            else if (se_spans_push(out, r->start, r->end, 0)) return SOFTENT_E_NOMEM;
            prev_match = m;
        }
        for (size_t a = 0, z = out->n; a + 1 < z; a++, z--) {
            se_span t = out->v[a];
            out->v[a] = out->v[z - 1];
            out->v[z - 1] = t;
        }
        return 0;
    }
    for (size_t k = 0; k < runs->n; k++) {
        const se_span *r = &runs->v[k];
        int m = r->tag ^ invert;
        int extend = 0;
        switch (b) {
        case SE_SPLIT_REMOVED:
            if (m) continue;
            break;
        case SE_SPLIT_CONTIGUOUS: extend = m == prev_match && out->n; break;
        case SE_SPLIT_MERGED_WITH_PREVIOUS: extend = m && !prev_match && out->n; break;
        default: break;
        }
        if (extend) out->v[out->n - 1].end = r->end;
        else if (se_spans_push(out, r->start, r->end, 0)) return SOFTENT_E_NOMEM;
        prev_match = m;
    }
    return 0;
}

/* Hand each piece of s to the next step. */
static int run_pieces(runner *r, int level, const char *s, int at_start)
{
    const se_spans *pieces = &r->w->pieces[level];
    for (size_t k = 0; k < pieces->n; k++) {
        const se_span *q = &pieces->v[k];
        if (q->end == q->start) continue;
        int rc = run(r, level + 1, s + q->start, q->end - q->start, at_start && q->start == 0);
        if (rc) return rc;
    }
    return 0;
}

static int byte_level(runner *r, int level, const se_pre_step *st, const char *s, size_t n, int at_start)
{
    se_pretok_work *w = r->w;
    int rc;
    if (st->add_prefix_space && s[0] != ' ') {
        se_buf *t = &w->text[level];
        t->n = 0;
        if (se_buf_append(t, " ", 1) || se_buf_append(t, s, n)) return SOFTENT_E_NOMEM;
        s = t->p;
        n = t->n;
    }
    se_spans *pieces = &w->pieces[level];
    pieces->n = 0;
    if (st->use_regex) {
        se_spans *m = &w->runs[level];
        m->n = 0;
        if ((rc = se_regex_find_all(&st->re, &w->rx, s, n, m))) return rc;
        if ((rc = runs_from_matches(m, n, pieces))) return rc; /* Isolated: every run is a piece */
    } else if (se_spans_push(pieces, 0, n, 0)) {
        return SOFTENT_E_NOMEM;
    }
    if (level == r->p->n - 1) return run_pieces(r, level, s, at_start); /* the model maps the bytes */
    /* Later steps see the byte alphabet: map each piece. */
    se_buf *mapped = &w->mapped[level];
    for (size_t k = 0; k < pieces->n; k++) {
        const se_span *q = &pieces->v[k];
        mapped->n = 0;
        if (se_buf_reserve(mapped, 2 * (q->end - q->start))) return SOFTENT_E_NOMEM;
        for (size_t i = q->start; i < q->end; i++)
            mapped->n += (size_t)se_utf8_put(se_byte_char((unsigned char)s[i]), mapped->p + mapped->n);
        if ((rc = run(r, level + 1, mapped->p, mapped->n, at_start && q->start == 0))) return rc;
    }
    return 0;
}

static int metaspace(runner *r, int level, const se_pre_step *st, const char *s, size_t n, int at_start)
{
    se_pretok_work *w = r->w;
    se_buf *t = &w->text[level];
    t->n = 0;
    /* Whether the text starts with the replacement once spaces are replaced. */
    int starts = s[0] == ' ' || ((size_t)st->rep_n <= n && !memcmp(s, st->rep, (size_t)st->rep_n));
    int prepend = st->prepend == SE_PREPEND_ALWAYS || (st->prepend == SE_PREPEND_FIRST && at_start);
    if (prepend && !starts && se_buf_append(t, st->rep, (size_t)st->rep_n)) return SOFTENT_E_NOMEM;
    if (se_buf_reserve(t, n * (size_t)st->rep_n)) return SOFTENT_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') {
            memcpy(t->p + t->n, st->rep, (size_t)st->rep_n);
            t->n += (size_t)st->rep_n;
        } else {
            t->p[t->n++] = s[i];
        }
    }
    if (!st->split) return run(r, level + 1, t->p, t->n, at_start);
    int rc = runs_from_chars(st, t->p, t->n, &w->runs[level]);
    if (!rc) rc = apply_behavior(&w->runs[level], SE_SPLIT_MERGED_WITH_NEXT, 0, &w->pieces[level]);
    return rc ? rc : run_pieces(r, level, t->p, at_start);
}

static int run(runner *r, int level, const char *s, size_t n, int at_start)
{
    if (n == 0) return 0;
    if (level == r->p->n) return r->emit(r->ctx, s, n);
    const se_pre_step *st = &r->p->steps[level];
    se_pretok_work *w = r->w;
    se_spans *runs = &w->runs[level], *pieces = &w->pieces[level];
    int rc;
    switch (st->kind) {
    case SE_PRE_BYTE_LEVEL: return byte_level(r, level, st, s, n, at_start);
    case SE_PRE_METASPACE: return metaspace(r, level, st, s, n, at_start);
    case SE_PRE_SPLIT:
    case SE_PRE_WHITESPACE: {
        se_spans *m = pieces; /* borrowed for the matches, rebuilt below */
        m->n = 0;
        if ((rc = se_regex_find_all(&st->re, &w->rx, s, n, m)) || (rc = runs_from_matches(m, n, runs))) return rc;
        if (st->kind == SE_PRE_WHITESPACE) rc = apply_behavior(runs, SE_SPLIT_REMOVED, 1, pieces);
        else rc = apply_behavior(runs, st->behavior, st->invert, pieces);
        break;
    }
    case SE_PRE_WHITESPACE_SPLIT:
    case SE_PRE_CHAR_DELIMITER:
        if (!(rc = runs_from_chars(st, s, n, runs))) rc = apply_behavior(runs, SE_SPLIT_REMOVED, 0, pieces);
        break;
    default: /* Digits, Punctuation */
        if (!(rc = runs_from_chars(st, s, n, runs))) rc = apply_behavior(runs, st->behavior, 0, pieces);
        break;
    }
    return rc ? rc : run_pieces(r, level, s, at_start);
}

int se_pretok_run(const se_pretok *p, se_pretok_work *w, const char *s, size_t n, int at_start, se_word_fn emit, void *ctx)
{
    runner r = {p, w, emit, ctx};
    return run(&r, 0, s, n, at_start);
}
