/*
 * tokenizer_util.h - what the tokenizer modules share: growable id and span
 * arrays (on common/buf.h), UTF-8 decoding and repair, a string -> id hash map, and the few
 * Unicode character classes Hugging Face's Rust code tests with char
 * methods (is_whitespace, is_numeric, ...).
 */
#ifndef SOFTENT_TOKENIZER_UTIL_H
#define SOFTENT_TOKENIZER_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "common/hash.h"

/* A growable int32 array. */
typedef struct {
    int32_t *v;
    size_t n, cap;
} se_ids;

int se_ids_reserve(se_ids *a, size_t extra);
static inline int se_ids_push(se_ids *a, int32_t id)
{
    if (a->n == a->cap && se_ids_reserve(a, 1)) return -1;
    a->v[a->n++] = id;
    return 0;
}
int se_ids_append(se_ids *a, const int32_t *v, size_t n);
void se_ids_free(se_ids *a);

/* A half-open byte range [start, end) and what it is (an id, a flag). */
typedef struct {
    size_t start, end;
    int32_t tag;
} se_span;

typedef struct {
    se_span *v;
    size_t n, cap;
} se_spans;

int se_spans_grow(se_spans *a);
static inline int se_spans_push(se_spans *a, size_t start, size_t end, int32_t tag)
{
    if (a->n == a->cap && se_spans_grow(a)) return -1;
    a->v[a->n++] = (se_span){start, end, tag};
    return 0;
}
void se_spans_free(se_spans *a);

/* ---- UTF-8 ---------------------------------------------------------------- */

/* The code point at s (valid UTF-8 assumed) and its length in bytes. */
static inline uint32_t se_utf8_get(const char *str, int *len)
{
    const unsigned char *s = (const unsigned char *)str;
    if (s[0] < 0x80) { *len = 1; return s[0]; }
    if (s[0] < 0xE0) { *len = 2; return (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F); }
    if (s[0] < 0xF0) { *len = 3; return (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F); }
    *len = 4;
    return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 | (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
}

/* Length in bytes of the character starting with byte c (valid UTF-8). */
static inline int se_utf8_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Write code point cp; returns its length (1..4). */
int se_utf8_put(uint32_t cp, char *out);

/* Bytes of s that form valid UTF-8 from the start (n when all of it does). */
size_t se_utf8_valid_prefix(const char *s, size_t n);
/* s with every maximal ill-formed subsequence replaced by U+FFFD (the
 * Unicode "maximal subpart" practice of WHATWG, Python and Rust), appended
 * to out. */
int se_utf8_repair(const char *s, size_t n, se_buf *out);

/* GPT-2's byte-level alphabet: printable bytes stand for themselves, the
 * other 68 (controls, space, DEL, NBSP, soft hyphen...) become U+0100.. in
 * byte order. */
static inline uint32_t se_byte_char(unsigned char b)
{
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174) return b;
    if (b <= 32) return 256u + b;
    if (b <= 160) return 256u + 33 + (b - 127u);
    return 256u + 33 + 34; /* 173 */
}

/* ---- hashing and the string map ------------------------------------------ */


/* Strings -> int32, open addressing.  Keys live in one pool, each followed by
 * a NUL so that se_strmap_key() can hand them out as C strings. */
typedef struct {
    uint32_t off, len; /* key in pool */
    uint32_t hash;     /* high bits of the hash, to skip most compares */
    int32_t value;     /* -1: empty slot */
} se_strmap_slot;

typedef struct {
    se_buf pool;
    se_strmap_slot *slots;
    size_t cap, count; /* cap a power of two */
} se_strmap;

int se_strmap_init(se_strmap *m, size_t expected);
/* Insert or overwrite; *old (when not NULL) gets the previous value or -1. */
int se_strmap_put(se_strmap *m, const char *key, size_t n, int32_t value, int32_t *old);
int32_t se_strmap_get(const se_strmap *m, const char *key, size_t n);
/* The stored copy of a key, NUL-terminated (NULL when absent). */
const char *se_strmap_key(const se_strmap *m, const char *key, size_t n);
void se_strmap_free(se_strmap *m);

/* A tokenizer.json model's "vocab" object (token -> id) into a fresh map,
 * and the largest id (-1 for none); what names the model in errors. */
struct cJSON;
int se_vocab_parse(se_strmap *map, int32_t *max_id, const struct cJSON *vocab, const char *what);

/* ---- character classes (as Rust's char methods define them) -------------- */

int se_uc_white_space(uint32_t c); /* char::is_whitespace: Unicode White_Space */
int se_uc_numeric(uint32_t c);     /* char::is_numeric: Nd, Nl, No */
int se_uc_mark(uint32_t c);        /* Mn, Mc, Me */
int se_uc_word(uint32_t c);        /* regex \w: letters, Nl, marks, Nd, Pc, ZWNJ/ZWJ */

/* The classes Hugging Face's Bert components and Punctuation test with the
 * unicode_categories crate, whose tables are of Unicode 8.0 (characters
 * assigned or recategorised since differ from utf8proc's):
 * hf_char_classes.c, generated from the Rust library by
 * scripts/gen-hf-char-classes.mjs. */
int se_hf_control(uint32_t c);         /* what clean_text drops: Cc, Cf, Co but tab/LF/CR; NUL, U+FFFD */
int se_hf_nonspacing_mark(uint32_t c); /* Mn (of characters that are their own NFD) */
int se_hf_punctuation(uint32_t c);     /* ASCII punctuation or P* */

#endif
