/*
 * test_utf8.c - UTF-8 in lib/text/tokenizer_util: every code point through
 * se_utf8_put / se_utf8_get against the encoding's definition, and the
 * repair of ill-formed input against the examples of the Unicode Standard
 * (section 3.9, "U+FFFD Substitution of Maximal Subparts", table 3-8) and
 * the cases Python's bytes.decode("utf-8", "replace") is known to give.
 */
#include <string.h>

#include "check.h"
#include "text/tokenizer_util.h"

/* The encoding by its definition (RFC 3629's table), written here apart
 * from the code under test. */
static int encode(uint32_t cp, unsigned char *out)
{
    if (cp < 0x80) return out[0] = (unsigned char)cp, 1;
    if (cp < 0x800) return out[0] = 0xC0 | cp >> 6, out[1] = 0x80 | (cp & 63), 2;
    if (cp < 0x10000) return out[0] = 0xE0 | cp >> 12, out[1] = 0x80 | (cp >> 6 & 63), out[2] = 0x80 | (cp & 63), 3;
    out[0] = 0xF0 | cp >> 18, out[1] = 0x80 | (cp >> 12 & 63), out[2] = 0x80 | (cp >> 6 & 63), out[3] = 0x80 | (cp & 63);
    return 4;
}

static void every_code_point(void)
{
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue; /* surrogates are not characters */
        unsigned char want[4];
        char got[4];
        const int n = encode(cp, want);
        CHECK(se_utf8_put(cp, got) == n && !memcmp(got, want, (size_t)n), "U+%04X encodes differently", cp);
        int len;
        CHECK(se_utf8_get(got, &len) == cp && len == n && se_utf8_len((unsigned char)got[0]) == n, "U+%04X decodes differently", cp);
        CHECK(se_utf8_valid_prefix(got, (size_t)n) == (size_t)n, "U+%04X is not taken as valid", cp);
    }
}

/* input bytes -> expected output (want_n 0: its strlen), U+FFFD spelled EF BF BD */
static const struct { const char *in; size_t n; const char *want; size_t want_n; } CASES[] = {
    /* table 3-8: a, F1 80 80 (truncated 4-byte), E1 80 (truncated 3-byte),
     * C2 (truncated), b, 80, c, 80 BF (two lone continuations), d */
    {"\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64", 13,
     "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xEF\xBF\xBD\xEF\xBF\xBD" "d", 0},
    {"\xC0\x80", 2, "\xEF\xBF\xBD\xEF\xBF\xBD", 0},                 /* overlong NUL: C0 is never valid */
    {"\xE0\x80\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 0}, /* overlong 3-byte */
    {"\xED\xA0\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 0}, /* a surrogate */
    {"\xF4\x90\x80\x80", 4, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 0}, /* above U+10FFFF */
    {"\xF5", 1, "\xEF\xBF\xBD", 0},
    {"x\xE2\x82", 3, "x\xEF\xBF\xBD", 0},                            /* truncated at the end: one */
    {"\xE2\x82\xAC", 3, "\xE2\x82\xAC", 0},                          /* the euro sign is left alone */
    {"a\0b", 3, "a\0b", 3},                                        /* NUL is a character */
};

static void repair_maximal_subparts(void)
{
    for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) {
        se_buf out = {0};
        CHECK(se_utf8_repair(CASES[k].in, CASES[k].n, &out) == 0, "case %zu: repair failed", k);
        const size_t want_n = CASES[k].want_n ? CASES[k].want_n : strlen(CASES[k].want);
        CHECK(out.n == want_n && !memcmp(out.p, CASES[k].want, want_n), "case %zu: %zu bytes out, %zu expected", k, out.n, want_n);
        const size_t valid = se_utf8_valid_prefix(CASES[k].in, CASES[k].n);
        CHECK(valid == CASES[k].n ? out.n == CASES[k].n : valid < CASES[k].n, "case %zu: valid prefix %zu", k, valid);
        se_buf_free(&out);
    }
}

int main(void)
{
    RUN(every_code_point);
    RUN(repair_maximal_subparts);
    return CHECKS_DONE();
}
