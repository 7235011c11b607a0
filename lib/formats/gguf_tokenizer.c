/*
 * gguf_tokenizer.c - a GGUF file's tokenizer (tokenizer.ggml.*) restated as
 * the tokenizer.json Hugging Face publishes for that model, so that the one
 * tokenizer softent has (lib/text) encodes it exactly as `tokenizers` does.
 *
 * llama.cpp's converter keeps the vocabulary, the merges and each token's
 * type, and names the pre-tokenizer (tokenizer.ggml.pre) instead of
 * storing it; each name softent knows is given the normalizer and
 * pre-tokenizer of the tokenizer.json it was converted from (the original
 * regular expressions, not llama.cpp's adaptations of them).  Others are
 * refused by name.
 *
 * A SentencePiece vocabulary ("llama") becomes what transformers'
 * LlamaConverter makes of the sentencepiece model: BPE with byte fallback,
 * its merges every split of a piece into two pieces, ranked by the merged
 * piece's score (highest first), spaces as "▁" with one in front.  Gemma
 * 4's ("gemma4") is the same but for its stored merges and no "▁" in front.
 *
 * A WordPiece vocabulary ("bert") becomes BERT's tokenizer.json: the
 * converter's "phantom space" undone (a word-initial token is stored with
 * "▁" in front, a continuation without the "##"), BertNormalizer (lowercase,
 * as llama.cpp assumes: GGUF does not record whether a model is cased),
 * BertPreTokenizer, and [CLS] ... [SEP] around each text.
 *
 * A Unigram vocabulary ("t5": T5, XLM-R) becomes XLM-R's tokenizer.json:
 * Unigram over the pieces and their scores, the SentencePiece charsmap as
 * the Precompiled normalizer, runs of spaces made one, Metaspace.  Others
 * are refused by name.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "softent_gguf.h"

/* The normalizer and pre-tokenizer of the tokenizer.json each
 * tokenizer.ggml.pre was converted from, as JSON. */
#define BYTE_LEVEL(regex) "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": " regex "}"
#define SPLIT(pattern) "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"" pattern "\"}, \"behavior\": \"Isolated\", \"invert\": false}"
#define SEQUENCE(list) "{\"type\": \"Sequence\", \"pretokenizers\": [" list "]}"
#define NFC "{\"type\": \"NFC\"}"
static const struct {
    const char *names;      /* tokenizer.ggml.pre values, space-separated */
    const char *normalizer; /* NULL: none */
    const char *pre;
    int ignore_merges;      /* whole words in the vocabulary skip the merges */
} PRE[] = {
    {"llama3 llama-v3 llama-bpe", NULL,
     SEQUENCE(SPLIT("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+")
              ", " BYTE_LEVEL("false")), 1},
    {"qwen2", NFC,
     SEQUENCE(SPLIT("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+")
              ", " BYTE_LEVEL("false")), 0},
    {"gpt-2", NULL, BYTE_LEVEL("true"), 0},
    {"mpt", NFC, BYTE_LEVEL("true"), 0},
    {"command-r", NFC, SEQUENCE("{\"type\": \"Digits\", \"individual_digits\": true}, " BYTE_LEVEL("true")), 0},
    {"starcoder refact", NULL, SEQUENCE("{\"type\": \"Digits\", \"individual_digits\": true}, " BYTE_LEVEL("true")), 0},
    {"qwen35", NULL,
     SEQUENCE(SPLIT("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?[\\\\p{L}\\\\p{M}]+|\\\\p{N}| ?[^\\\\s\\\\p{L}\\\\p{M}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+")
              ", " BYTE_LEVEL("false")), 0},
    /* DeepSeek's own splits, each isolated, then bytes */
    {"deepseek-llm", NULL,
     SEQUENCE(SPLIT("[\\r\\n]") ", "
              SPLIT("\\\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+") ", "
              SPLIT("\\\\s?[!-/:-~！-／：-～‘-‟　-。]+") ", "
              SPLIT("\\\\s+$") ", "
              SPLIT("[一-龥ࠀ-一가-퟿]+") ", "
              SPLIT("\\\\p{N}+") ", " BYTE_LEVEL("false")), 0},
    {"deepseek-coder", NULL,
     SEQUENCE(SPLIT("[\\r\\n]") ", "
              SPLIT("\\\\s?\\\\p{L}+") ", "
              SPLIT("\\\\s?\\\\p{P}+") ", "
              SPLIT("[一-龥ࠀ-一가-퟿]+") ", "
              SPLIT("\\\\p{N}") ", " BYTE_LEVEL("false")), 0},
    {"falcon", NULL,
     SEQUENCE("{\"type\": \"Punctuation\", \"behavior\": \"Contiguous\"}, " BYTE_LEVEL("true")
              ", {\"type\": \"Digits\", \"individual_digits\": false}, " SPLIT("[0-9][0-9][0-9]")), 0},
};

static int name_in(const char *name, const char *list)
{
    const size_t n = strlen(name);
    if (n == 0) return 0;
    for (const char *p = list; (p = strstr(p, name)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n])) return 1;
    return 0;
}

/* A metadata string as a C string (NUL-terminated copy into buf). */
static int string_key(const softent_gguf *g, const char *key, char *buf, size_t cap)
{
    const int64_t i = softent_gguf_find_key(g, key);
    const char *s;
    size_t n;
    if (i < 0 || softent_gguf_get_string(g, i, 0, &s, &n)) return 0;
    snprintf(buf, cap, "%.*s", (int)(n < cap ? n : cap - 1), s);
    return 1;
}

static cJSON *string_of(const char *s, size_t n)
{
    char *c = malloc(n + 1);
    if (!c) return NULL;
    memcpy(c, s, n);
    c[n] = 0;
    cJSON *o = cJSON_CreateString(c);
    free(c);
    return o;
}

/* The BPE model: vocab {token: id} and merges ["a b", ...]. */
static int bpe_model(const softent_gguf *g, const char *path, int ignore_merges, cJSON *model, int64_t *n_tokens)
{
    const int64_t tk = softent_gguf_find_key(g, "tokenizer.ggml.tokens"), mk = softent_gguf_find_key(g, "tokenizer.ggml.merges");
    int type, et;
    int64_t n, n_merges = 0;
    if (tk < 0 || !softent_gguf_key(g, tk, &type, &et, &n) || type != SOFTENT_GGUF_ARRAY || et != SOFTENT_GGUF_STRING)
        return se_fail(SOFTENT_E_FORMAT, "%s: no tokenizer.ggml.tokens array of strings", path);
    if (mk >= 0 && (!softent_gguf_key(g, mk, &type, &et, &n_merges) || type != SOFTENT_GGUF_ARRAY || et != SOFTENT_GGUF_STRING))
        return se_fail(SOFTENT_E_FORMAT, "%s: tokenizer.ggml.merges is not an array of strings", path);
    cJSON_AddStringToObject(model, "type", "BPE");
    cJSON_AddBoolToObject(model, "ignore_merges", ignore_merges);
    cJSON_AddBoolToObject(model, "byte_fallback", 0);
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab"), *merges = cJSON_AddArrayToObject(model, "merges");
    for (int64_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        softent_gguf_get_string(g, tk, i, &s, &len);
        if (memchr(s, 0, len))  /* tokenizer.json's strings cannot hold one, and ids would collide */
            return se_fail(SOFTENT_E_FORMAT, "%s: token %lld of tokenizer.ggml.tokens holds a NUL byte", path, (long long)i);
        cJSON *id = cJSON_CreateNumber((double)i);
        cJSON *key = string_of(s, len);
        if (!id || !key) {
            cJSON_Delete(id);
            cJSON_Delete(key);
            return se_fail(SOFTENT_E_NOMEM, "out of memory");
        }
        cJSON_AddItemToObject(vocab, key->valuestring, id);
        cJSON_Delete(key);
    }
    for (int64_t i = 0; i < n_merges; i++) {
        const char *s;
        size_t len;
        softent_gguf_get_string(g, mk, i, &s, &len);
        cJSON_AddItemToArray(merges, string_of(s, len));
    }
    *n_tokens = n;
    return SOFTENT_OK;
}

/* ---- SentencePiece ------------------------------------------------------- */

typedef struct {
    const char *s;
    size_t n;
    int64_t id;
} piece;

static int by_bytes(const void *a, const void *b)
{
    const piece *x = a, *y = b;
    const int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static int64_t find_piece(const piece *sorted, int64_t n, const char *s, size_t len)
{
    const piece key = {s, len, -1};
    const piece *hit = bsearch(&key, sorted, (size_t)n, sizeof *sorted, by_bytes);
    return hit ? hit->id : -1;
}

typedef struct {
    int64_t merged, left, right;
    int64_t left_chars, right_chars;
    double score;
} spm_merge;

/* The converter's order (transformers' generate_merges: a stable sort by
 * (score, len(left), len(right)), reversed): the merged piece's score,
 * highest first, then the longer left half, the longer right half (in
 * characters); full ties in the vocabulary's order, a piece's own splits
 * by their halves' ids. */
static int by_score(const void *a, const void *b)
{
    const spm_merge *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    if (x->left_chars != y->left_chars) return x->left_chars < y->left_chars ? 1 : -1;
    if (x->right_chars != y->right_chars) return x->right_chars < y->right_chars ? 1 : -1;
    if (x->merged != y->merged) return x->merged < y->merged ? -1 : 1;
    if (x->left != y->left) return x->left < y->left ? -1 : 1;
    return (x->right > y->right) - (x->right < y->right);
}

/* Bounds on what a (hostile) vocabulary may make softent build: a piece's
 * length (each is split at every character, and each split looked up) and
 * the merges' text in all; real vocabularies' pieces are a few dozen bytes
 * and their merges a few MB. */
enum { MAX_PIECE = 1024, MAX_MERGE_TEXT = 64 << 20 };

/* The merges of a SentencePiece vocabulary: every split of a piece, at a
 * character boundary, into two pieces of the vocabulary, as
 * transformers' SentencePieceExtractor finds them; as [left, right] pairs. */
static int spm_merges(const softent_gguf *g, const char *path, cJSON *model, int64_t n)
{
    const int64_t tk = softent_gguf_find_key(g, "tokenizer.ggml.tokens"), sk = softent_gguf_find_key(g, "tokenizer.ggml.scores");
    int type, et;
    int64_t n_scores = 0;
    if (sk < 0 || !softent_gguf_key(g, sk, &type, &et, &n_scores) || type != SOFTENT_GGUF_ARRAY || n_scores != n)
        return se_fail(SOFTENT_E_FORMAT, "%s: a SentencePiece vocabulary needs tokenizer.ggml.scores, one score a token", path);
    piece *sorted = malloc((size_t)(n > 0 ? n : 1) * sizeof *sorted);
    size_t cap = 1024, count = 0, text = 0;
    spm_merge *merges = malloc(cap * sizeof *merges);
    int rc = sorted && merges ? SOFTENT_OK : se_fail(SOFTENT_E_NOMEM, "out of memory");
    for (int64_t i = 0; !rc && i < n; i++) {
        sorted[i].id = i;
        softent_gguf_get_string(g, tk, i, &sorted[i].s, &sorted[i].n);
    }
    if (!rc) qsort(sorted, (size_t)n, sizeof *sorted, by_bytes);
    for (int64_t i = 0; !rc && i < n; i++) {
        const char *s;
        size_t len;
        double score;
        softent_gguf_get_string(g, tk, i, &s, &len);
        if (softent_gguf_get_float(g, sk, i, &score) || !isfinite(score)) {
            rc = se_fail(SOFTENT_E_FORMAT, "%s: tokenizer.ggml.scores[%lld] is not a finite number", path, (long long)i);
            break;
        }
        if (len > MAX_PIECE) {
            rc = se_fail(SOFTENT_E_LIMIT, "%s: SentencePiece piece %lld is %zu bytes long; softent restates pieces of at most %d bytes",
                         path, (long long)i, len, MAX_PIECE);
            break;
        }
        int64_t chars = 0, left_chars = 0;
        for (size_t k = 0; k < len; k++) chars += ((unsigned char)s[k] & 0xC0) != 0x80;
        for (size_t k = 1; k < len && !rc; k++) {
            if (((unsigned char)s[k] & 0xC0) == 0x80) continue;  /* inside a character */
            left_chars++;
            const int64_t l = find_piece(sorted, n, s, k), r = l < 0 ? -1 : find_piece(sorted, n, s + k, len - k);
            if (r < 0) continue;
            if (count == cap) {
                spm_merge *grown = realloc(merges, 2 * cap * sizeof *merges);
                if (!grown) { rc = se_fail(SOFTENT_E_NOMEM, "out of memory"); break; }
                merges = grown, cap *= 2;
            }
            if ((text += len) > MAX_MERGE_TEXT) {
                rc = se_fail(SOFTENT_E_LIMIT, "%s: the SentencePiece vocabulary's merges would exceed %d MB; "
                             "give the model's tokenizer.json instead", path, MAX_MERGE_TEXT >> 20);
                break;
            }
            merges[count++] = (spm_merge){i, l, r, left_chars, chars - left_chars, score};
        }
    }
    cJSON *list = rc ? NULL : cJSON_AddArrayToObject(model, "merges");
    if (!rc) qsort(merges, count, sizeof *merges, by_score);
    for (size_t j = 0; !rc && j < count; j++) {
        const char *ls, *rs;
        size_t ln, rn;
        softent_gguf_get_string(g, tk, merges[j].left, &ls, &ln);
        softent_gguf_get_string(g, tk, merges[j].right, &rs, &rn);
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, string_of(ls, ln));
        cJSON_AddItemToArray(pair, string_of(rs, rn));
        cJSON_AddItemToArray(list, pair);
    }
    free(sorted);
    free(merges);
    return rc;
}

/* A boolean metadata key, dflt when absent. */
static int64_t flag(const softent_gguf *g, const char *key, int64_t dflt)
{
    const int64_t k = softent_gguf_find_key(g, key);
    int64_t v = dflt;
    if (k < 0 || softent_gguf_get_int(g, k, 0, &v)) v = dflt;
    return v;
}

/* llama.cpp's "llama" vocabulary as LlamaConverter's tokenizer.json; with
 * stored_merges ("gemma4") the file's merges are kept instead of derived
 * from the scores.  "▁" goes in front unless tokenizer.ggml.add_space_prefix
 * is false. */
static int spm_model(const softent_gguf *g, const char *path, cJSON *root, cJSON *model, int64_t *n_tokens, int stored_merges)
{
    int rc = bpe_model(g, path, 0, model, n_tokens);
    if (rc) return rc;
    cJSON_ReplaceItemInObject(model, "byte_fallback", cJSON_CreateTrue());
    cJSON_AddBoolToObject(model, "fuse_unk", 1);
    const int64_t uk = softent_gguf_find_key(g, "tokenizer.ggml.unknown_token_id");
    int64_t unk = 0;
    if (uk >= 0 && softent_gguf_get_int(g, uk, 0, &unk)) unk = -1;
    if (unk >= 0 && unk < *n_tokens) {
        const char *s;
        size_t len;
        softent_gguf_get_string(g, softent_gguf_find_key(g, "tokenizer.ggml.tokens"), unk, &s, &len);
        cJSON_AddItemToObject(model, "unk_token", string_of(s, len));
    }
    if (!stored_merges) {
        cJSON_DeleteItemFromObject(model, "merges");
        if ((rc = spm_merges(g, path, model, *n_tokens))) return rc;
    }
    /* (llama.cpp: no space prefix for a BPE with stored merges unless told) */
    const int64_t prefix = flag(g, "tokenizer.ggml.add_space_prefix", !stored_merges);
    cJSON *norm = cJSON_Parse(prefix ? "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Prepend\", \"prepend\": \"\u2581\"}, "
                                       "{\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"\u2581\"}]}"
                                     : "{\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"\u2581\"}");
    if (!norm) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    cJSON_AddItemToObject(root, "normalizer", norm);
    cJSON_AddNullToObject(root, "pre_tokenizer");
    return SOFTENT_OK;
}

/* Token id's text as a JSON string. */
static cJSON *token_string(const softent_gguf *g, int64_t id)
{
    const char *s;
    size_t len;
    softent_gguf_get_string(g, softent_gguf_find_key(g, "tokenizer.ggml.tokens"), id, &s, &len);
    return string_of(s, len);
}

/* Token id's text in the restated vocabulary: WordPiece's without the
 * converter's "phantom space" (below), the others' as stored. */
typedef cJSON *(*token_text)(const softent_gguf *g, int64_t id);

/* Control (3) and user-defined (4) tokens as added tokens (SentencePiece's
 * unknown one (2) too: the converter adds <unk> as a special token). */
static void added_tokens(const softent_gguf *g, cJSON *root, int64_t n_tokens, int spm, token_text text_of)
{
    cJSON *added = cJSON_AddArrayToObject(root, "added_tokens");
    const int64_t tk = softent_gguf_find_key(g, "tokenizer.ggml.tokens"), tt = softent_gguf_find_key(g, "tokenizer.ggml.token_type");
    int type, et;
    int64_t n = 0;
    if (tt >= 0 && softent_gguf_key(g, tt, &type, &et, &n) && type == SOFTENT_GGUF_ARRAY)
        for (int64_t i = 0; i < n && i < n_tokens; i++) {
            int64_t t;
            const char *s;
            size_t len;
            if (softent_gguf_get_int(g, tt, i, &t) || (t != 3 && t != 4 && !(spm && t == 2)) || softent_gguf_get_string(g, tk, i, &s, &len))
                continue;
            cJSON *a = cJSON_CreateObject();
            cJSON_AddNumberToObject(a, "id", (double)i);
            cJSON_AddItemToObject(a, "content", text_of(g, i));
            cJSON_AddBoolToObject(a, "single_word", 0);
            cJSON_AddBoolToObject(a, "lstrip", 0);
            cJSON_AddBoolToObject(a, "rstrip", 0);
            cJSON_AddBoolToObject(a, "normalized", t == 4);
            cJSON_AddBoolToObject(a, "special", t != 4);
            cJSON_AddItemToArray(added, a);
        }
}

/* One piece of a TemplateProcessing list: {"SpecialToken": {"id": text}}
 * or {"Sequence": {"id": "A"}}. */
static void template_piece(cJSON *list, const char *kind, cJSON *id)
{
    cJSON *piece = cJSON_CreateObject(), *body = cJSON_AddObjectToObject(piece, kind);
    cJSON_AddItemToObject(body, "id", id);
    cJSON_AddNumberToObject(body, "type_id", 0);
    cJSON_AddItemToArray(list, piece);
}

static void special_entry(const softent_gguf *g, cJSON *special, int64_t id)
{
    cJSON *entry = cJSON_CreateObject(), *key = token_string(g, id);
    cJSON_AddItemToObject(entry, "id", token_string(g, id));
    cJSON_AddItemToArray(cJSON_AddArrayToObject(entry, "ids"), cJSON_CreateNumber((double)id));
    cJSON_AddItemToArray(cJSON_AddArrayToObject(entry, "tokens"), token_string(g, id));
    if (key) cJSON_AddItemToObject(special, key->valuestring, entry);
    else cJSON_Delete(entry);
    cJSON_Delete(key);
}

/* The post-processor: token `before` (or none, -1) in front of each text
 * and `after` (or none) behind it. */
static void post_processor(const softent_gguf *g, cJSON *root, int64_t before, int64_t after)
{
    cJSON *pp = cJSON_AddObjectToObject(root, "post_processor");
    if (before < 0 && after < 0) {
        cJSON_AddStringToObject(pp, "type", "ByteLevel");
        cJSON_AddBoolToObject(pp, "add_prefix_space", 0);
        cJSON_AddBoolToObject(pp, "trim_offsets", 0);
        cJSON_AddBoolToObject(pp, "use_regex", 0);
        return;
    }
    cJSON_AddStringToObject(pp, "type", "TemplateProcessing");
    cJSON *single = cJSON_AddArrayToObject(pp, "single"), *pair = cJSON_AddArrayToObject(pp, "pair");
    for (int k = 0; k < 2; k++) {
        cJSON *list = k ? pair : single;
        if (before >= 0) template_piece(list, "SpecialToken", token_string(g, before));
        template_piece(list, "Sequence", cJSON_CreateString("A"));
        if (after >= 0) template_piece(list, "SpecialToken", token_string(g, after));
    }
    cJSON *special = cJSON_AddObjectToObject(pp, "special_tokens");
    if (before >= 0) special_entry(g, special, before);
    if (after >= 0 && after != before) special_entry(g, special, after);
}

/* A token id from the metadata (key), or -1 when it is missing or not a
 * token. */
static int64_t token_id(const softent_gguf *g, const char *key, int64_t n_tokens)
{
    const int64_t k = softent_gguf_find_key(g, key);
    int64_t id;
    return k >= 0 && !softent_gguf_get_int(g, k, 0, &id) && id >= 0 && id < n_tokens ? id : -1;
}

/* BOS in front when tokenizer.ggml.add_bos_token says so. */
static int64_t bos_in_front(const softent_gguf *g, int64_t n_tokens)
{
    return flag(g, "tokenizer.ggml.add_bos_token", 0) ? token_id(g, "tokenizer.ggml.bos_token_id", n_tokens) : -1;
}

/* A normalizer (JSON; NULL for none) and a pre-tokenizer into root. */
static int add_components(cJSON *root, const char *normalizer, const char *pre_tokenizer)
{
    cJSON *norm = normalizer ? cJSON_Parse(normalizer) : cJSON_CreateNull(), *pre = cJSON_Parse(pre_tokenizer);
    if (!norm || !pre) {
        cJSON_Delete(norm);
        cJSON_Delete(pre);
        return se_fail(SOFTENT_E_NOMEM, "out of memory");
    }
    cJSON_AddItemToObject(root, "normalizer", norm);
    cJSON_AddItemToObject(root, "pre_tokenizer", pre);
    return SOFTENT_OK;
}

/* ---- WordPiece ------------------------------------------------------------ */

/* A "bert" token as the tokenizer.json had it.  The converter keeps control
 * tokens, strips a continuation's "##" and puts "▁" before any other; older
 * converters kept "[...]" tokens instead of the control ones. */
static cJSON *wpm_text(const softent_gguf *g, int64_t id)
{
    static const char phantom[] = "\u2581";
    const int64_t tt = softent_gguf_find_key(g, "tokenizer.ggml.token_type");
    int64_t type = 1;
    if (tt < 0 || softent_gguf_get_int(g, tt, id, &type)) type = 1;
    const char *s;
    size_t len;
    softent_gguf_get_string(g, softent_gguf_find_key(g, "tokenizer.ggml.tokens"), id, &s, &len);
    if (type == 3 || (len >= 2 && s[0] == '[' && s[len - 1] == ']')) return string_of(s, len);
    if (len >= 3 && !memcmp(s, phantom, 3)) return string_of(s + 3, len - 3);
    char *c = malloc(len + 3);
    if (!c) return NULL;
    memcpy(c, "##", 2);
    memcpy(c + 2, s, len);
    c[len + 2] = 0;
    cJSON *o = cJSON_CreateString(c);
    free(c);
    return o;
}

/* llama.cpp's "bert" vocabulary as BERT's tokenizer.json (model, normalizer
 * and pre-tokenizer). */
static int wpm_model(const softent_gguf *g, const char *path, cJSON *root, cJSON *model, int64_t *n_tokens)
{
    const int64_t tk = softent_gguf_find_key(g, "tokenizer.ggml.tokens");
    int type, et;
    int64_t n;
    if (tk < 0 || !softent_gguf_key(g, tk, &type, &et, &n) || type != SOFTENT_GGUF_ARRAY || et != SOFTENT_GGUF_STRING)
        return se_fail(SOFTENT_E_FORMAT, "%s: no tokenizer.ggml.tokens array of strings", path);
    const int64_t unk = token_id(g, "tokenizer.ggml.unknown_token_id", n);
    cJSON_AddStringToObject(model, "type", "WordPiece");
    cJSON_AddItemToObject(model, "unk_token", unk >= 0 ? wpm_text(g, unk) : cJSON_CreateString("[UNK]"));
    cJSON_AddStringToObject(model, "continuing_subword_prefix", "##");
    cJSON_AddNumberToObject(model, "max_input_chars_per_word", 100);
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
    for (int64_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        softent_gguf_get_string(g, tk, i, &s, &len);
        if (memchr(s, 0, len)) return se_fail(SOFTENT_E_FORMAT, "%s: token %lld of tokenizer.ggml.tokens holds a NUL byte", path, (long long)i);
        cJSON *key = wpm_text(g, i), *id = cJSON_CreateNumber((double)i);
        if (!key || !id) {
            cJSON_Delete(key);
            cJSON_Delete(id);
            return se_fail(SOFTENT_E_NOMEM, "out of memory");
        }
        cJSON_AddItemToObject(vocab, key->valuestring, id);
        cJSON_Delete(key);
    }
    *n_tokens = n;
    return add_components(root, "{\"type\": \"BertNormalizer\", \"clean_text\": true, \"handle_chinese_chars\": true, "
                                          "\"strip_accents\": null, \"lowercase\": true}", "{\"type\": \"BertPreTokenizer\"}");
}

/* ---- Unigram -------------------------------------------------------------- */

/* bytes [n] as base64 (malloc'ed, NUL-terminated), or NULL. */
static char *base64(const unsigned char *b, size_t n)
{
    static const char digit[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i += 3) {
        const uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < n ? (uint32_t)b[i + 1] << 8 : 0) | (i + 2 < n ? b[i + 2] : 0);
        *o++ = digit[v >> 18 & 63];
        *o++ = digit[v >> 12 & 63];
        *o++ = i + 1 < n ? digit[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? digit[v & 63] : '=';
    }
    *o = 0;
    return out;
}

/* The normalizer: the charsmap (tokenizer.ggml.precompiled_charsmap, bytes)
 * as Precompiled, then runs of spaces made one when
 * tokenizer.ggml.remove_extra_whitespaces says so. */
static int ugm_normalizer(const softent_gguf *g, const char *path, cJSON *root)
{
    const int64_t ck = softent_gguf_find_key(g, "tokenizer.ggml.precompiled_charsmap");
    int type, et;
    int64_t n = 0;
    cJSON *list = cJSON_CreateArray();
    if (!list) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    cJSON_AddItemToObject(root, "normalizer", cJSON_CreateObject());
    cJSON *norm = cJSON_GetObjectItem(root, "normalizer");
    cJSON_AddStringToObject(norm, "type", "Sequence");
    cJSON_AddItemToObject(norm, "normalizers", list);
    if (ck >= 0 && softent_gguf_key(g, ck, &type, &et, &n) && type == SOFTENT_GGUF_ARRAY && n > 0) {
        if (et != SOFTENT_GGUF_U8 && et != SOFTENT_GGUF_I8)
            return se_fail(SOFTENT_E_FORMAT, "%s: tokenizer.ggml.precompiled_charsmap is not an array of bytes", path);
        unsigned char *bytes = malloc((size_t)n);
        if (!bytes) return se_fail(SOFTENT_E_NOMEM, "out of memory for the charsmap");
        for (int64_t i = 0; i < n; i++) {
            int64_t v = 0;
            softent_gguf_get_int(g, ck, i, &v);
            bytes[i] = (unsigned char)v;
        }
        char *text = base64(bytes, (size_t)n);
        free(bytes);
        if (!text) return se_fail(SOFTENT_E_NOMEM, "out of memory for the charsmap");
        cJSON *pre = cJSON_CreateObject();
        cJSON_AddStringToObject(pre, "type", "Precompiled");
        cJSON_AddStringToObject(pre, "precompiled_charsmap", text);
        free(text);
        cJSON_AddItemToArray(list, pre);
    }
    if (flag(g, "tokenizer.ggml.remove_extra_whitespaces", 1)) {
        cJSON *spaces = cJSON_Parse("{\"type\": \"Replace\", \"pattern\": {\"Regex\": \" {2,}\"}, \"content\": \" \"}");
        if (!spaces) return se_fail(SOFTENT_E_NOMEM, "out of memory");
        cJSON_AddItemToArray(list, spaces);
    }
    return SOFTENT_OK;
}

/* llama.cpp's "t5" vocabulary as XLM-R's tokenizer.json. */
static int ugm_model(const softent_gguf *g, const char *path, cJSON *root, cJSON *model, int64_t *n_tokens)
{
    const int64_t tk = softent_gguf_find_key(g, "tokenizer.ggml.tokens"), sk = softent_gguf_find_key(g, "tokenizer.ggml.scores");
    int type, et, stype, set;
    int64_t n, ns;
    if (tk < 0 || !softent_gguf_key(g, tk, &type, &et, &n) || type != SOFTENT_GGUF_ARRAY || et != SOFTENT_GGUF_STRING)
        return se_fail(SOFTENT_E_FORMAT, "%s: no tokenizer.ggml.tokens array of strings", path);
    if (sk < 0 || !softent_gguf_key(g, sk, &stype, &set, &ns) || stype != SOFTENT_GGUF_ARRAY || ns != n)
        return se_fail(SOFTENT_E_FORMAT, "%s: a Unigram vocabulary needs tokenizer.ggml.scores, one a token", path);
    cJSON_AddStringToObject(model, "type", "Unigram");
    const int64_t unk = token_id(g, "tokenizer.ggml.unknown_token_id", n);
    if (unk >= 0) cJSON_AddNumberToObject(model, "unk_id", (double)unk);
    else cJSON_AddNullToObject(model, "unk_id");
    cJSON_AddBoolToObject(model, "byte_fallback", 0);
    cJSON *vocab = cJSON_AddArrayToObject(model, "vocab");
    const int64_t tt = softent_gguf_find_key(g, "tokenizer.ggml.token_type");
    for (int64_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        double score = 0;
        int64_t ttype = 1;
        if (tt >= 0 && softent_gguf_get_int(g, tt, i, &ttype)) ttype = 1;
        if (ttype == 5) {
            /* the converter's padding up to the model's vocab_size ([PADn],
             * score -10000), which the tokenizer.json does not have: an empty
             * piece, which never matches and leaves the lowest score alone */
            cJSON *entry = cJSON_CreateArray();
            cJSON_AddItemToArray(entry, cJSON_CreateString(""));
            cJSON_AddItemToArray(entry, cJSON_CreateNumber(0));
            cJSON_AddItemToArray(vocab, entry);
            continue;
        }
        softent_gguf_get_string(g, tk, i, &s, &len);
        if (memchr(s, 0, len)) return se_fail(SOFTENT_E_FORMAT, "%s: token %lld of tokenizer.ggml.tokens holds a NUL byte", path, (long long)i);
        if (softent_gguf_get_float(g, sk, i, &score) || !isfinite(score))
            return se_fail(SOFTENT_E_FORMAT, "%s: score %lld of tokenizer.ggml.scores is not a finite number", path, (long long)i);
        cJSON *entry = cJSON_CreateArray();
        cJSON_AddItemToArray(entry, string_of(s, len));
        cJSON_AddItemToArray(entry, cJSON_CreateNumber(score));
        cJSON_AddItemToArray(vocab, entry);
    }
    *n_tokens = n;
    int rc = ugm_normalizer(g, path, root);
    if (rc) return rc;
    cJSON *pre = cJSON_CreateObject();
    cJSON_AddStringToObject(pre, "type", "Metaspace");
    cJSON_AddStringToObject(pre, "replacement", "\u2581");
    cJSON_AddStringToObject(pre, "prepend_scheme", flag(g, "tokenizer.ggml.add_space_prefix", 1) ? "always" : "never");
    cJSON_AddBoolToObject(pre, "split", 1);
    cJSON_AddItemToObject(root, "pre_tokenizer", pre);
    return SOFTENT_OK;
}

enum { SENTENCEPIECE = -1, WORDPIECE = -2, SENTENCEPIECE_MERGES = -3, UNIGRAM = -4 };

/* The tokenizer.json of a SentencePiece or WordPiece vocabulary (pre is
 * SENTENCEPIECE or WORDPIECE) or of a byte-level BPE one with the
 * normalizer and pre-tokenizer of PRE[pre]. */
static int restate(const softent_gguf *g, const char *path, long pre, char **json)
{
    cJSON *root = cJSON_CreateObject(), *m = root ? cJSON_AddObjectToObject(root, "model") : NULL;
    if (!m) {
        cJSON_Delete(root);
        return se_fail(SOFTENT_E_NOMEM, "out of memory");
    }
    cJSON_AddStringToObject(root, "version", "1.0");
    int64_t n_tokens = 0;
    int rc = pre == SENTENCEPIECE || pre == SENTENCEPIECE_MERGES ? spm_model(g, path, root, m, &n_tokens, pre == SENTENCEPIECE_MERGES)
             : pre == WORDPIECE   ? wpm_model(g, path, root, m, &n_tokens)
             : pre == UNIGRAM     ? ugm_model(g, path, root, m, &n_tokens)
                                  : bpe_model(g, path, PRE[pre].ignore_merges, m, &n_tokens);
    if (!rc && pre >= 0) rc = add_components(root, PRE[pre].normalizer, PRE[pre].pre);
    if (!rc) {
        added_tokens(g, root, n_tokens, pre == SENTENCEPIECE || pre == SENTENCEPIECE_MERGES || pre == UNIGRAM, pre == WORDPIECE ? wpm_text : token_string);
        if (pre == WORDPIECE)
            post_processor(g, root, token_id(g, "tokenizer.ggml.cls_token_id", n_tokens), token_id(g, "tokenizer.ggml.seperator_token_id", n_tokens));
        else if (pre == UNIGRAM)
            post_processor(g, root, bos_in_front(g, n_tokens),
                           flag(g, "tokenizer.ggml.add_eos_token", 0) ? token_id(g, "tokenizer.ggml.eos_token_id", n_tokens) : -1);
        else
            post_processor(g, root, bos_in_front(g, n_tokens), -1);
        if (!(*json = cJSON_PrintUnformatted(root))) rc = se_fail(SOFTENT_E_NOMEM, "out of memory");
    }
    cJSON_Delete(root);
    return rc;
}

int softent_gguf_tokenizer_json(const softent_gguf *g, const char *path, char **json)
{
    *json = NULL;
    char model[32] = "", pre[64] = "";
    if (!string_key(g, "tokenizer.ggml.model", model, sizeof model))
        return se_fail(SOFTENT_E_FORMAT, "%s: no tokenizer (tokenizer.ggml.model); give the model's tokenizer.json instead", path);
    if (!strcmp(model, "llama")) return restate(g, path, SENTENCEPIECE, json);
    if (!strcmp(model, "bert")) return restate(g, path, WORDPIECE, json);
    if (!strcmp(model, "gemma4")) return restate(g, path, SENTENCEPIECE_MERGES, json);
    if (!strcmp(model, "t5")) return restate(g, path, UNIGRAM, json);
    if (strcmp(model, "gpt2"))
        return se_fail(SOFTENT_E_FORMAT, "%s: tokenizer model '%s' is not supported from GGUF metadata (softent restates byte-level BPE, 'gpt2', "
                       "SentencePiece, 'llama' and 'gemma4', WordPiece, 'bert', and Unigram, 't5'); give the model's tokenizer.json instead", path, model);
    if (!string_key(g, "tokenizer.ggml.pre", pre, sizeof pre))
        return se_fail(SOFTENT_E_FORMAT, "%s: no tokenizer.ggml.pre, so the pre-tokenizer is unknown (llama.cpp then guesses); "
                       "give the model's tokenizer.json instead", path);
    size_t k = 0;
    while (k < sizeof PRE / sizeof *PRE && !name_in(pre, PRE[k].names)) k++;
    if (k == sizeof PRE / sizeof *PRE)
        return se_fail(SOFTENT_E_FORMAT, "%s: pre-tokenizer '%s' (tokenizer.ggml.pre) is not one softent restates (llama-bpe, qwen2, qwen35, gpt-2, mpt, starcoder, refact, falcon, command-r, "
                       "deepseek-llm, deepseek-coder); "
                       "give the model's tokenizer.json instead", path, pre);
    return restate(g, path, (long)k, json);
}
