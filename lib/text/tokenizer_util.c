/* tokenizer_util.c - buffers, UTF-8, the string map and character classes
 * for the tokenizer (see tokenizer_util.h). */
#include <stdlib.h>
#include <cjson/cJSON.h>
#include <utf8proc.h>

#include "common/error.h"
#include "tokenizer_util.h"

int se_ids_reserve(se_ids *a, size_t extra) { return se_grow(&a->v, &a->cap, a->n + extra, sizeof *a->v); }

int se_ids_append(se_ids *a, const int32_t *v, size_t n)
{
    if (!n) return 0;
    if (se_ids_reserve(a, n)) return SOFTENT_E_NOMEM;
    memcpy(a->v + a->n, v, n * sizeof *v);
    a->n += n;
    return 0;
}

void se_ids_free(se_ids *a)
{
    free(a->v);
    memset(a, 0, sizeof *a);
}

int se_spans_grow(se_spans *a) { return se_grow(&a->v, &a->cap, a->n + 1, sizeof *a->v); }

void se_spans_free(se_spans *a)
{
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* ---- UTF-8 ---------------------------------------------------------------- */

int se_utf8_put(uint32_t cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) { o[0] = (unsigned char)(0xC0 | cp >> 6); o[1] = (unsigned char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* How many bytes of the well-formed sequence starting at s[0] are present
 * (Unicode Table 3-7); *want gets the full length, 0 for a byte that cannot
 * start a character. */
static size_t subpart(const unsigned char *s, size_t n, size_t *want)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) *want = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        *want = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        *want = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        *want = 0;
        return 1;
    }
    size_t k = 1;
    if (k < n && s[k] >= lo && s[k] <= hi) {
        for (k = 2; k < *want && k < n && (s[k] & 0xC0) == 0x80; k++) {}
    }
    return k;
}

size_t se_utf8_valid_prefix(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        /* Eight ASCII bytes at a time: most text is mostly ASCII. */
        while (i + 8 <= n) {
            uint64_t v;
            memcpy(&v, s + i, 8);
            if (v & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= n) break;
        if (s[i] < 0x80) { i++; continue; }
        size_t want, got = subpart(s + i, n - i, &want);
        if (got != want) return i;
        i += got;
    }
    return n;
}

int se_utf8_repair(const char *str, size_t n, se_buf *out)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    /* At most three bytes for each input byte. */
    if (se_buf_reserve(out, 3 * n)) return SOFTENT_E_NOMEM;
    while (i < n) {
        size_t ok = se_utf8_valid_prefix(str + i, n - i);
        memcpy(out->p + out->n, s + i, ok);
        out->n += ok;
        i += ok;
        if (i == n) break;
        size_t want;
        i += subpart(s + i, n - i, &want);
        memcpy(out->p + out->n, "\xEF\xBF\xBD", 3);
        out->n += 3;
    }
    return 0;
}

/* ---- hashing and the string map ------------------------------------------ */

static int strmap_alloc(se_strmap *m, size_t cap)
{
    m->slots = malloc(cap * sizeof *m->slots);
    if (!m->slots) return se_fail(SOFTENT_E_NOMEM, "out of memory for a vocabulary");
    for (size_t i = 0; i < cap; i++) m->slots[i].value = -1;
    m->cap = cap;
    return 0;
}

int se_strmap_init(se_strmap *m, size_t expected)
{
    memset(m, 0, sizeof *m);
    size_t cap = 64;
    while (cap < 2 * expected) cap *= 2;
    return strmap_alloc(m, cap);
}

void se_strmap_free(se_strmap *m)
{
    se_buf_free(&m->pool);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t strmap_find(const se_strmap *m, const char *key, size_t n, uint64_t h)
{
    size_t mask = m->cap - 1, i = (size_t)h & mask;
    uint32_t tag = (uint32_t)(h >> 32);
    for (;; i = (i + 1) & mask) {
        const se_strmap_slot *s = &m->slots[i];
        if (s->value < 0) return i;
        if (s->hash == tag && s->len == n && !memcmp(m->pool.p + s->off, key, n)) return i;
    }
}

static int strmap_grow(se_strmap *m)
{
    se_strmap old = *m;
    if (strmap_alloc(m, old.cap * 2)) {
        m->slots = old.slots;
        m->cap = old.cap;
        return SOFTENT_E_NOMEM;
    }
    for (size_t i = 0; i < old.cap; i++) {
        if (old.slots[i].value < 0) continue;
        uint64_t h = se_hash_bytes(m->pool.p + old.slots[i].off, old.slots[i].len);
        size_t j = (size_t)h & (m->cap - 1);
        while (m->slots[j].value >= 0) j = (j + 1) & (m->cap - 1);
        m->slots[j] = old.slots[i];
    }
    free(old.slots);
    return 0;
}

int se_strmap_put(se_strmap *m, const char *key, size_t n, int32_t value, int32_t *old)
{
    if (2 * (m->count + 1) > m->cap && strmap_grow(m)) return SOFTENT_E_NOMEM;
    uint64_t h = se_hash_bytes(key, n);
    size_t i = strmap_find(m, key, n, h);
    se_strmap_slot *s = &m->slots[i];
    if (old) *old = s->value;
    if (s->value < 0) {
        if (m->pool.n + n + 1 > UINT32_MAX) return se_fail(SOFTENT_E_LIMIT, "vocabulary over 4 GB");
        s->off = (uint32_t)m->pool.n;
        s->len = (uint32_t)n;
        s->hash = (uint32_t)(h >> 32);
        if (se_buf_append(&m->pool, key, n) || se_buf_append(&m->pool, "", 1)) return SOFTENT_E_NOMEM;
        m->count++;
    }
    s->value = value;
    return 0;
}

int32_t se_strmap_get(const se_strmap *m, const char *key, size_t n)
{
    return m->slots[strmap_find(m, key, n, se_hash_bytes(key, n))].value;
}

const char *se_strmap_key(const se_strmap *m, const char *key, size_t n)
{
    const se_strmap_slot *s = &m->slots[strmap_find(m, key, n, se_hash_bytes(key, n))];
    return s->value < 0 ? NULL : m->pool.p + s->off;
}

/* ---- character classes ---------------------------------------------------- */

int se_uc_white_space(uint32_t c)
{
    if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

int se_uc_numeric(uint32_t c)
{
    if (c < 0x80) return c >= '0' && c <= '9';
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
    return k == UTF8PROC_CATEGORY_ND || k == UTF8PROC_CATEGORY_NL || k == UTF8PROC_CATEGORY_NO;
}

int se_uc_mark(uint32_t c)
{
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
    return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_MC || k == UTF8PROC_CATEGORY_ME;
}

int se_uc_word(uint32_t c)
{
    if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (c == 0x200C || c == 0x200D) return 1; /* Join_Control */
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
    return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_ME) || k == UTF8PROC_CATEGORY_ND ||
           k == UTF8PROC_CATEGORY_NL || k == UTF8PROC_CATEGORY_PC;
}

/* ---- a model's "vocab" ------------------------------------------------------ */

int se_vocab_parse(se_strmap *map, int32_t *max_id, const cJSON *vocab, const char *what)
{
    const cJSON *item;
    if (!cJSON_IsObject(vocab)) return se_fail(SOFTENT_E_FORMAT, "%s: \"vocab\" is not an object", what);
    if (se_strmap_init(map, (size_t)cJSON_GetArraySize(vocab))) return SOFTENT_E_NOMEM;
    *max_id = -1;
    cJSON_ArrayForEach(item, vocab) {
        double v = item->valuedouble;
        if (!cJSON_IsNumber(item) || v < 0 || v > INT32_MAX - 1 || v != (double)(int32_t)v)
            return se_fail(SOFTENT_E_FORMAT, "%s: vocab entry \"%s\" has no valid id", what, item->string);
        int32_t id = (int32_t)v;
        if (se_strmap_put(map, item->string, strlen(item->string), id, NULL)) return SOFTENT_E_NOMEM;
        if (id > *max_id) *max_id = id;
    }
    return 0;
}
