/* tokenizer_norm.c - normalizers (see tokenizer_norm.h). */
#include <stdio.h>
#include <stdlib.h>
#include <utf8proc.h>

#include "tokenizer_json.h"
#include "tokenizer_norm.h"

static const struct {
    const char *name;
    se_norm_kind kind;
} KINDS[] = {
    {"NFC", SE_NORM_NFC}, {"NFD", SE_NORM_NFD}, {"NFKC", SE_NORM_NFKC}, {"NFKD", SE_NORM_NFKD},
    {"Lowercase", SE_NORM_LOWERCASE}, {"Strip", SE_NORM_STRIP}, {"StripAccents", SE_NORM_STRIP_ACCENTS},
    {"Prepend", SE_NORM_PREPEND}, {"Replace", SE_NORM_REPLACE}, {"ByteLevel", SE_NORM_BYTE_LEVEL},
    {"Precompiled", SE_NORM_PRECOMPILED},
};

static int push_step(se_normalizer *nz, se_norm_kind kind, se_norm_step **out)
{
    se_norm_step *steps = realloc(nz->steps, (size_t)(nz->n + 1) * sizeof *steps);
    if (!steps) return se_fail(SOFTENT_E_NOMEM, "out of memory for a normalizer");
    nz->steps = steps;
    *out = &steps[nz->n++];
    memset(*out, 0, sizeof **out);
    (*out)->kind = kind;
    return 0;
}

/* BertNormalizer in HF's order: clean_text, handle_chinese_chars,
 * strip_accents (null: as lowercase), lowercase.  HF requires the three
 * booleans. */
static int add_bert(se_normalizer *nz, const cJSON *j, const char *what)
{
    int clean, chinese, lower, strip, rc;
    const cJSON *accents = cJSON_GetObjectItemCaseSensitive(j, "strip_accents");
    static const char *required[] = {"clean_text", "handle_chinese_chars", "lowercase"};
    for (size_t i = 0; i < sizeof required / sizeof *required; i++)
        if (!cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(j, required[i])))
            return se_fail(SOFTENT_E_FORMAT, "%s: no \"%s\" boolean", what, required[i]);
    if ((rc = se_json_bool(j, "clean_text", 1, &clean, what)) || (rc = se_json_bool(j, "handle_chinese_chars", 1, &chinese, what)) ||
        (rc = se_json_bool(j, "lowercase", 1, &lower, what)) || (rc = se_json_bool(j, "strip_accents", 0, &strip, what)))
        return rc;
    if (!accents || cJSON_IsNull(accents)) strip = lower;
    se_norm_step *st = NULL;
    if ((clean && (rc = push_step(nz, SE_NORM_BERT_CLEAN, &st))) || (chinese && (rc = push_step(nz, SE_NORM_BERT_CHINESE, &st))) ||
        (strip && (rc = push_step(nz, SE_NORM_BERT_STRIP_ACCENTS, &st))) || (lower && (rc = push_step(nz, SE_NORM_LOWERCASE, &st))))
        return rc;
    return 0;
}

static int add_step(se_normalizer *nz, const cJSON *j, const char *path, int depth)
{
    const char *type = se_json_type(j);
    char what[512];
    if (!type) return se_fail(SOFTENT_E_FORMAT, "%s: a normalizer without a \"type\"", path);
    snprintf(what, sizeof what, "%s: normalizer %s", path, type);
    if (!strcmp(type, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "normalizers"), *item;
        if (!cJSON_IsArray(list)) return se_fail(SOFTENT_E_FORMAT, "%s: \"normalizers\" is not a list", what);
        if (depth > 32) return se_fail(SOFTENT_E_FORMAT, "%s: Sequences nested too deep", what);
        cJSON_ArrayForEach(item, list) {
            int rc = add_step(nz, item, path, depth + 1);
            if (rc) return rc;
        }
        return 0;
    }
    if (!strcmp(type, "BertNormalizer")) return add_bert(nz, j, what);
    size_t k = 0, nk = sizeof KINDS / sizeof KINDS[0];
    while (k < nk && strcmp(type, KINDS[k].name)) k++;
    if (k == nk)
        return se_fail(SOFTENT_E_FORMAT,
                       "%s: unsupported normalizer type '%s' (softent supports NFC, NFD, NFKC, NFKD, Lowercase, "
                       "Strip, StripAccents, Prepend, Replace, ByteLevel, BertNormalizer, Precompiled, Sequence)", path, type);
    se_norm_step *st = NULL;
    int rc = push_step(nz, KINDS[k].kind, &st);
    if (rc) return rc;
    const char *text = NULL;
    switch (st->kind) {
    case SE_NORM_STRIP:
        if ((rc = se_json_bool(j, "strip_left", 1, &st->left, what)) || (rc = se_json_bool(j, "strip_right", 1, &st->right, what)))
            return rc;
        break;
    case SE_NORM_PREPEND:
        if ((rc = se_json_str(j, "prepend", NULL, &text, what))) return rc;
        if (!text) return se_fail(SOFTENT_E_FORMAT, "%s: no \"prepend\" string", what);
        break;
    case SE_NORM_PRECOMPILED:
        if ((rc = se_json_str(j, "precompiled_charsmap", NULL, &text, what))) return rc;
        if (!text) return se_fail(SOFTENT_E_FORMAT, "%s: no \"precompiled_charsmap\" string", what);
        rc = se_precompiled_parse(&st->charsmap, text, what);
        text = NULL;
        if (rc) return rc;
        break;
    case SE_NORM_REPLACE:
        if ((rc = se_json_str(j, "content", NULL, &text, what))) return rc;
        if (!text) return se_fail(SOFTENT_E_FORMAT, "%s: no \"content\" string", what);
        if ((rc = se_json_pattern(j, &st->pattern, what))) return rc;
        break;
    default: break;
    }
    if (text) {
        st->text_n = strlen(text);
        if (!(st->text = strdup(text))) return se_fail(SOFTENT_E_NOMEM, "out of memory for a normalizer");
    }
    return 0;
}

int se_norm_parse(se_normalizer *nz, const cJSON *j, const char *path)
{
    memset(nz, 0, sizeof *nz);
    if (!j || cJSON_IsNull(j)) return 0;
    int rc = add_step(nz, j, path, 0);
    if (rc) se_norm_free(nz);
    return rc;
}

void se_norm_free(se_normalizer *nz)
{
    for (int i = 0; i < nz->n; i++) {
        free(nz->steps[i].text);
        se_regex_free(&nz->steps[i].pattern);
        se_precompiled_free(&nz->steps[i].charsmap);
    }
    free(nz->steps);
    memset(nz, 0, sizeof *nz);
}

void se_norm_work_free(se_norm_work *w)
{
    se_buf_free(&w->tmp);
    se_buf_free(&w->tmp2);
    se_spans_free(&w->matches);
    se_regex_ctx_free(&w->rx);
}

static int all_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80) return 0;
    return 1;
}

static int unicode_form(se_norm_kind kind, const char *s, size_t n, se_buf *out)
{
    /* ASCII is its own normal form in all four. */
    if (all_ascii(s, n)) return se_buf_append(out, s, n);
    int opt = UTF8PROC_STABLE;
    if (kind == SE_NORM_NFC || kind == SE_NORM_NFKC) opt |= UTF8PROC_COMPOSE;
    else opt |= UTF8PROC_DECOMPOSE;
    if (kind == SE_NORM_NFKC || kind == SE_NORM_NFKD) opt |= UTF8PROC_COMPAT;
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t len = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &dst, (utf8proc_option_t)opt);
    if (len < 0) return se_fail(SOFTENT_E_INVALID, "Unicode normalisation failed: %s", utf8proc_errmsg(len));
    int rc = se_buf_append(out, dst, (size_t)len);
    free(dst);
    return rc;
}

/* Rust's char::to_lowercase, one character at a time (no final-sigma rule). */
static int lowercase(const char *s, size_t n, se_buf *out)
{
    if (se_buf_reserve(out, n + 8)) return SOFTENT_E_NOMEM;
    for (size_t i = 0; i < n;) {
        int len;
        uint32_t c = se_utf8_get(s + i, &len);
        i += (size_t)len;
        if (se_buf_reserve(out, 8)) return SOFTENT_E_NOMEM;
        if (c == 0x130) { /* the one unconditional multi-character lowercase */
            memcpy(out->p + out->n, "i\xCC\x87", 3);
            out->n += 3;
            continue;
        }
        if (c >= 'A' && c <= 'Z') c += 32;
        else if (c >= 0x80) c = (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
        out->n += (size_t)se_utf8_put(c, out->p + out->n);
    }
    return 0;
}

static int strip(const se_norm_step *st, const char *s, size_t n, se_buf *out)
{
    size_t a = 0, b = n;
    while (st->left && a < b) {
        int len;
        uint32_t c = se_utf8_get(s + a, &len);
        if (!se_uc_white_space(c)) break;
        a += (size_t)len;
    }
    while (st->right && b > a) {
        size_t k = b - 1;
        while (k > a && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
        int len;
        if (!se_uc_white_space(se_utf8_get(s + k, &len))) break;
        b = k;
    }
    return se_buf_append(out, s + a, b - a);
}

static int strip_accents(const char *s, size_t n, se_buf *out)
{
    for (size_t i = 0; i < n;) {
        int len;
        uint32_t c = se_utf8_get(s + i, &len);
        if (!(c >= 0x300 && se_uc_mark(c)) && se_buf_append(out, s + i, (size_t)len)) return SOFTENT_E_NOMEM;
        i += (size_t)len;
    }
    return 0;
}

static int bert_clean(const char *s, size_t n, se_buf *out)
{
    for (size_t i = 0; i < n;) {
        int len;
        uint32_t c = se_utf8_get(s + i, &len);
        int rc = 0;
        if (se_hf_control(c)) rc = 0;
        else if (se_uc_white_space(c)) rc = se_buf_append(out, " ", 1);
        else rc = se_buf_append(out, s + i, (size_t)len);
        if (rc) return SOFTENT_E_NOMEM;
        i += (size_t)len;
    }
    return 0;
}

/* The CJK Unified Ideographs blocks of BERT's _is_chinese_char, as Hugging
 * Face lists them. */
static int cjk_ideograph(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static int bert_chinese(const char *s, size_t n, se_buf *out)
{
    for (size_t i = 0; i < n;) {
        int len;
        uint32_t c = se_utf8_get(s + i, &len);
        int wrap = c >= 0x3400 && cjk_ideograph(c);
        if ((wrap && se_buf_append(out, " ", 1)) || se_buf_append(out, s + i, (size_t)len) || (wrap && se_buf_append(out, " ", 1)))
            return SOFTENT_E_NOMEM;
        i += (size_t)len;
    }
    return 0;
}

static int bert_strip_accents(se_norm_work *w, const char *s, size_t n, se_buf *out)
{
    w->tmp2.n = 0;
    int rc = unicode_form(SE_NORM_NFD, s, n, &w->tmp2);
    for (size_t i = 0; i < w->tmp2.n && !rc;) {
        int len;
        uint32_t c = se_utf8_get(w->tmp2.p + i, &len);
        if (c < 0x300 || !se_hf_nonspacing_mark(c)) rc = se_buf_append(out, w->tmp2.p + i, (size_t)len);
        i += (size_t)len;
    }
    return rc;
}

static int replace(const se_norm_step *st, se_norm_work *w, const char *s, size_t n, se_buf *out)
{
    w->matches.n = 0;
    int rc = se_regex_find_all(&st->pattern, &w->rx, s, n, &w->matches);
    if (rc) return rc;
    size_t prev = 0;
    for (size_t k = 0; k < w->matches.n; k++) {
        const se_span *m = &w->matches.v[k];
        if (se_buf_append(out, s + prev, m->start - prev) || se_buf_append(out, st->text, st->text_n)) return SOFTENT_E_NOMEM;
        prev = m->end;
    }
    return se_buf_append(out, s + prev, n - prev);
}

static int byte_level(const char *s, size_t n, se_buf *out)
{
    if (se_buf_reserve(out, 2 * n)) return SOFTENT_E_NOMEM;
    for (size_t i = 0; i < n; i++) out->n += (size_t)se_utf8_put(se_byte_char((unsigned char)s[i]), out->p + out->n);
    return 0;
}

static int apply_step(const se_norm_step *st, se_norm_work *w, const char *s, size_t n, se_buf *out)
{
    switch (st->kind) {
    case SE_NORM_NFC: case SE_NORM_NFD: case SE_NORM_NFKC: case SE_NORM_NFKD: return unicode_form(st->kind, s, n, out);
    case SE_NORM_LOWERCASE: return lowercase(s, n, out);
    case SE_NORM_STRIP: return strip(st, s, n, out);
    case SE_NORM_STRIP_ACCENTS: return strip_accents(s, n, out);
    case SE_NORM_PREPEND:
        /* Hugging Face prepends only to non-empty text. */
        if (n && se_buf_append(out, st->text, st->text_n)) return SOFTENT_E_NOMEM;
        return se_buf_append(out, s, n);
    case SE_NORM_REPLACE: return replace(st, w, s, n, out);
    case SE_NORM_BYTE_LEVEL: return byte_level(s, n, out);
    case SE_NORM_BERT_CLEAN: return bert_clean(s, n, out);
    case SE_NORM_BERT_CHINESE: return bert_chinese(s, n, out);
    case SE_NORM_BERT_STRIP_ACCENTS: return bert_strip_accents(w, s, n, out);
    case SE_NORM_PRECOMPILED: return se_precompiled_apply(&st->charsmap, s, n, out);
    }
    return 0;
}

int se_norm_apply(const se_normalizer *nz, se_norm_work *w, const char *s, size_t n, se_buf *out)
{
    out->n = 0;
    if (se_buf_append(out, s, n)) return SOFTENT_E_NOMEM;
    for (int i = 0; i < nz->n; i++) {
        w->tmp.n = 0;
        int rc = apply_step(&nz->steps[i], w, out->p, out->n, &w->tmp);
        if (rc) return rc;
        se_buf t = *out;
        *out = w->tmp;
        w->tmp = t;
    }
    return 0;
}
