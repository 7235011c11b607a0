/* tokenizer_precompiled.c - the Precompiled normalizer (see tokenizer_precompiled.h). */
#include <stdlib.h>
#include <utf8proc.h>

#include "common/error.h"
#include "tokenizer_precompiled.h"

static int base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Standard base64, "=" padding optional, into *out [*n], malloc'ed. */
static int base64_decode(const char *s, unsigned char **out, size_t *n, const char *what)
{
    size_t len = strlen(s);
    while (len > 0 && s[len - 1] == '=') len--;
    unsigned char *b = malloc(len / 4 * 3 + 3);
    if (!b) return se_fail(SOFTENT_E_NOMEM, "%s: out of memory", what);
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        const int v = base64_value((unsigned char)s[i]);
        if (v < 0) {
            free(b);
            return se_fail(SOFTENT_E_FORMAT, "%s: \"precompiled_charsmap\" is not base64 (byte %zu)", what, i);
        }
        acc = acc << 6 | (uint32_t)v;
        if ((bits += 6) >= 8) b[k++] = (unsigned char)(acc >> (bits -= 8));
    }
    *out = b;
    *n = k;
    return 0;
}

int se_precompiled_parse(se_precompiled *p, const char *base64, const char *what)
{
    memset(p, 0, sizeof *p);
    unsigned char *blob = NULL;
    size_t n = 0;
    int rc = base64_decode(base64, &blob, &n, what);
    if (rc) return rc;
    const uint32_t trie_bytes = n >= 4 ? (uint32_t)blob[0] | (uint32_t)blob[1] << 8 | (uint32_t)blob[2] << 16 | (uint32_t)blob[3] << 24 : 0;
    if (n < 4 || trie_bytes > n - 4 || trie_bytes % 4 || trie_bytes == 0) {
        free(blob);
        return se_fail(SOFTENT_E_FORMAT, "%s: the charsmap's trie size does not fit the %zu bytes given", what, n);
    }
    p->n_units = trie_bytes / 4;
    p->n_normalized = n - 4 - trie_bytes;
    p->units = malloc(p->n_units * sizeof *p->units);
    p->normalized = malloc(p->n_normalized + 1);
    if (!p->units || !p->normalized) {
        free(blob);
        se_precompiled_free(p);
        return se_fail(SOFTENT_E_NOMEM, "%s: out of memory", what);
    }
    for (size_t i = 0; i < p->n_units; i++) {
        const unsigned char *u = blob + 4 + 4 * i;
        p->units[i] = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
    }
    memcpy(p->normalized, blob + 4 + trie_bytes, p->n_normalized);
    p->normalized[p->n_normalized] = 0;  /* a last replacement without its NUL ends here */
    free(blob);
    if (se_utf8_valid_prefix(p->normalized, p->n_normalized) != p->n_normalized) {
        se_precompiled_free(p);
        return se_fail(SOFTENT_E_FORMAT, "%s: the charsmap's replacements are not UTF-8", what);
    }
    return 0;
}

void se_precompiled_free(se_precompiled *p)
{
    free(p->units);
    free(p->normalized);
    memset(p, 0, sizeof *p);
}

/* darts-clone's unit fields */
static uint32_t unit_offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }
static uint32_t unit_label(uint32_t u) { return u & ((1u << 31) | 0xFF); }
static int unit_has_leaf(uint32_t u) { return (u >> 8) & 1; }
static uint32_t unit_value(uint32_t u) { return u & ((1u << 31) - 1); }

/* The replacement of the first (shortest) rule that s[0..n) starts with, or
 * NULL.  A trie position outside the charsmap ends the search, and a
 * replacement that would start inside a character is none (Hugging Face
 * panics there): the output stays UTF-8. */
static const char *transform(const se_precompiled *p, const char *s, size_t n)
{
    size_t pos = unit_offset(p->units[0]);
    for (size_t i = 0; i < n && s[i]; i++) {
        const unsigned char c = (unsigned char)s[i];
        pos ^= c;
        if (pos >= p->n_units) return NULL;
        const uint32_t u = p->units[pos];
        if (unit_label(u) != c) return NULL;
        pos ^= unit_offset(u);
        if (unit_has_leaf(u)) {
            if (pos >= p->n_units) return NULL;
            const uint32_t v = unit_value(p->units[pos]);
            /* v == n_normalized: the empty replacement at the end */
            return v <= p->n_normalized && ((unsigned char)p->normalized[v] & 0xC0) != 0x80 ? p->normalized + v : NULL;
        }
    }
    return NULL;
}

int se_precompiled_apply(const se_precompiled *p, const char *s, size_t n, se_buf *out)
{
    utf8proc_int32_t state = 0;
    for (size_t g = 0; g < n;) {
        /* the grapheme cluster [g, e) */
        int len;
        uint32_t prev = se_utf8_get(s + g, &len);
        size_t e = g + (size_t)len;
        while (e < n) {
            uint32_t c = se_utf8_get(s + e, &len);
            if (utf8proc_grapheme_break_stateful((utf8proc_int32_t)prev, (utf8proc_int32_t)c, &state)) break;
            prev = c;
            e += (size_t)len;
        }
        const char *whole = e - g < 6 ? transform(p, s + g, e - g) : NULL;
        if (whole) {
            if (se_buf_append(out, whole, strlen(whole))) return SOFTENT_E_NOMEM;
        } else {
            for (size_t i = g; i < e; i += (size_t)len) {
                se_utf8_get(s + i, &len);
                const char *r = transform(p, s + i, (size_t)len);
                if (se_buf_append(out, r ? r : s + i, r ? strlen(r) : (size_t)len)) return SOFTENT_E_NOMEM;
            }
        }
        g = e;
    }
    return 0;
}
