/*
 * tokenizer_write.c - tokenizer.json as Hugging Face lays it out (see
 * tokenizer_write.h), and the byte-only tokenizer built on it.
 */
#include "tokenizer_write.h"

#include "common/error.h"
#include "common/fs.h"
#include "softent_tokenizer.h"
#include "tokenizer_util.h"

void se_json_put_escaped(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default:
            if (c < 0x20) fprintf(f, "\\u%04x", c);
            else putc(c, f);
        }
    }
}

static void put_string(FILE *f, const char *s, size_t n)
{
    putc('"', f);
    se_json_put_escaped(f, s, n);
    putc('"', f);
}

static void put_affix(FILE *f, const char *key, const char *affix)
{
    fprintf(f, "    \"%s\": ", key);
    if (affix) put_string(f, affix, strlen(affix));
    else fputs("null", f);
    fputs(",\n", f);
}

void se_tokenizer_json_put(const se_tokenizer_json *j, FILE *f)
{
    static const char *const component[SE_BL_N] = {"pre_tokenizer", "post_processor", "decoder"};
    fputs("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [", f);
    for (size_t i = 0; i < j->n_added; i++) {
        const se_added_token *a = &j->added[i];
        fprintf(f, "%s\n    {\n      \"id\": %lld,\n      \"content\": ", i ? "," : "", (long long)a->id);
        put_string(f, a->content, a->len);
        fprintf(f, ",\n      \"single_word\": false,\n      \"lstrip\": false,\n      \"rstrip\": false,\n"
                   "      \"normalized\": %s,\n      \"special\": true\n    }",
                a->normalized ? "true" : "false");
    }
    fputs(j->n_added ? "\n  ],\n" : "],\n", f);
    fputs("  \"normalizer\": null", f);
    for (int c = 0; c < SE_BL_N; c++)
        fprintf(f, ",\n  \"%s\": {\n    \"type\": \"ByteLevel\",\n    \"add_prefix_space\": %s,\n    \"trim_offsets\": %s,\n"
                   "    \"use_regex\": true\n  }",
                component[c], j->add_prefix_space[c] ? "true" : "false", j->trim_offsets[c] ? "true" : "false");
    fputs(",\n  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n", f);
    put_affix(f, "continuing_subword_prefix", j->affix);
    put_affix(f, "end_of_word_suffix", j->affix);
    fputs("    \"fuse_unk\": false,\n    \"byte_fallback\": false,\n    \"ignore_merges\": false,\n    \"vocab\": {", f);
    for (size_t id = 0; id < j->n_vocab; id++) {
        size_t len;
        const char *s = j->token(j->ctx, id, &len);
        fputs(id ? ",\n      " : "\n      ", f);
        put_string(f, s, len);
        fprintf(f, ": %zu", id);
    }
    fputs(j->n_vocab ? "\n    },\n    \"merges\": [" : "},\n    \"merges\": [", f);
    for (size_t k = 0; k < j->n_merges; k++) {
        /* "a b": byte-level tokens never hold a space (it is "Ġ"). */
        size_t la, lb;
        const char *a = j->token(j->ctx, (size_t)j->merges[k][0], &la);
        const char *b = j->token(j->ctx, (size_t)j->merges[k][1], &lb);
        fputs(k ? ",\n      \"" : "\n      \"", f);
        se_json_put_escaped(f, a, la);
        putc(' ', f);
        se_json_put_escaped(f, b, lb);
        putc('"', f);
    }
    fputs(j->n_merges ? "\n    ]\n  }\n}\n" : "]\n  }\n}\n", f);
}

int se_tokenizer_json_write(const se_tokenizer_json *j, const char *path)
{
    se_atomic_file a;
    int rc = se_atomic_open(&a, path);
    if (rc) return rc;
    se_tokenizer_json_put(j, a.f);
    return se_atomic_commit(&a);
}

/* ---- the byte-only tokenizer ----------------------------------------------- */

/* Byte b spelled in GPT-2's alphabet; ctx is a char[256][3] table. */
static const char *byte_token(const void *ctx, size_t id, size_t *len)
{
    const char(*spelled)[3] = ctx;
    *len = strlen(spelled[id]);
    return spelled[id];
}

int softent_tokenizer_write_bytes(const char *path)
{
    se_clear_error();
    char spelled[256][3] = {{0}};
    for (int b = 0; b < 256; b++) se_utf8_put(se_byte_char((unsigned char)b), spelled[b]);
    static const char eos[] = "<|endoftext|>";
    const se_added_token added = {256, eos, sizeof eos - 1, 1};
    /* The ByteLevel flags (add_prefix_space as GPT-2's own tokenizer.json)
     * and empty affixes of the file `softent train` wrote before this writer
     * existed, so that runs old and new carry the same tokenizer. */
    const se_tokenizer_json j = {
        .n_vocab = 256, .token = byte_token, .ctx = spelled, .added = &added, .n_added = 1,
        .add_prefix_space = {0, 1, 1}, .trim_offsets = {1, 0, 1}, .affix = "",
    };
    return se_tokenizer_json_write(&j, path);
}
