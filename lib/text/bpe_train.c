/*
 * bpe_train.c - a byte-level BPE trainer (softent_tokenizer.h): Hugging
 * Face's BpeTrainer behind the ByteLevel pre-tokenizer, and the
 * tokenizer.json it gives.
 *
 * Counting: documents go through the tokenizer's own pre-tokenizer (the
 * code that encodes, so training and encoding split text alike), and each
 * distinct word is kept once with its count.
 *
 * Merging, as HF's trainer does it, so that a round costs what it changes
 * rather than the whole corpus: a count per adjacent pair, the words each
 * pair was added to, and a max-heap of (count, pair) with lazy
 * invalidation.  A merge rewrites only the words listed for its pair and
 * moves the counts of the pairs around each occurrence.  Counts only fall,
 * except for pairs holding the new token, which are pushed afresh; so a
 * popped entry whose count is still current is the true maximum, and a
 * stale one is pushed back with its current count.
 *
 * Unlike HF, the merged pair's own count is brought to zero (HF leaves it
 * stale) and a word list is never split across heap entries; the two
 * agree except where one token string is formed from two different pairs,
 * where HF can emit the same merge twice.  softent never writes a merge
 * twice: the merges are exactly those of a full recount every round.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/fs.h"
#include "softent_tokenizer.h"
#include "softent_corpus.h"
#include "tokenizer_pretok.h"
#include "tokenizer_write.h"

#define N_BYTES 256

static const char *const DEFAULT_SPECIALS[] = {"<|endoftext|>"};

/* GPT-2's pre-tokenizer as HF's trainer is usually given it. */
static const char PRE_TOKENIZER[] = "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true}";

/* An adjacent pair of ids: its count over all words (times their counts)
 * and the words it was added to.  A word stays listed after the pair has
 * left it; merging there finds nothing. */
typedef struct {
    int32_t a, b;
    int64_t count;
    int32_t *words;
    uint32_t n_words, cap_words;
    uint32_t fresh_round; /* round that last queued it for a fresh heap entry */
    int merged;           /* already in the merges list */
} pair;

typedef struct {
    int64_t count;
    int32_t a, b;
} entry;

typedef struct {
    size_t key;          /* offset of its bytes in the word map's pool */
    uint32_t len;
    int64_t count;
} word;

typedef struct {
    size_t off;          /* in the trainer's text */
    uint32_t len;
} token;

/* One training run's working state, freed when the run ends. */
typedef struct {
    int32_t *sym;        /* word w is sym[off[w] .. off[w] + len[w]), shrinking as merges apply */
    size_t *off;
    uint32_t *len;
    uint32_t *seen;      /* the round that last rewrote each word */
    pair *pairs;
    size_t n_pairs, cap_pairs;
    int32_t *slots;      /* (a, b) -> index in pairs, open addressing; -1 empty */
    size_t n_slots;      /* a power of two */
    entry *heap;
    size_t n_heap, cap_heap;
    int32_t *fresh;      /* pairs that gained occurrences this round */
    size_t n_fresh, cap_fresh;
    uint32_t round;      /* 1 while counting, then one per merge */
} state;

struct softent_bpe_trainer {
    int64_t vocab_size, min_frequency;
    softent_bpe_train_stats stats;
    se_pretok pre;
    se_pretok_work pre_work;
    se_buf repaired, scratch;
    /* distinct words (raw bytes) -> index into word; the bytes stay in the
     * map's pool */
    se_strmap words;
    word *word;
    size_t n_words, cap_words;
    /* the vocabulary in id order, spelled in GPT-2's byte alphabet (UTF-8)
     * or as a special token's text; and string -> id */
    se_buf text;
    token *tok;
    size_t n_tokens, cap_tokens;
    se_strmap ids;
    int32_t byte_id[N_BYTES];
    int32_t (*merges)[2];
    size_t n_merges, cap_merges;
    int trained;
};

/* ---- parameters and the initial vocabulary ----------------------------------- */

softent_bpe_train_params softent_bpe_train_default_params(void)
{
    softent_bpe_train_params p = {0};
    p.vocab_size = 4096;
    p.min_frequency = 2;
    p.special_tokens = DEFAULT_SPECIALS;
    p.n_special_tokens = 1;
    return p;
}

/* The byte whose symbol s is (one character of GPT-2's alphabet), or -1. */
static int byte_of_symbol(const char *s)
{
    size_t n = strlen(s);
    int len;
    if (!n || se_utf8_valid_prefix(s, n) != n) return -1;
    uint32_t c = se_utf8_get(s, &len);
    if ((size_t)len != n) return -1;
    for (int b = 0; b < N_BYTES; b++)
        if (se_byte_char((unsigned char)b) == c) return b;
    return -1;
}

static int first_occurrence(const softent_bpe_train_params *p, int i)
{
    for (int k = 0; k < i; k++)
        if (!strcmp(p->special_tokens[k], p->special_tokens[i])) return 0;
    return 1;
}

int64_t softent_bpe_train_initial_size(const softent_bpe_train_params *p)
{
    int64_t n = N_BYTES;
    for (int i = 0; p->special_tokens && i < p->n_special_tokens; i++)
        if (p->special_tokens[i] && first_occurrence(p, i) && byte_of_symbol(p->special_tokens[i]) < 0) n++;
    return n;
}

static int check_params(const softent_bpe_train_params *p)
{
    if (p->n_special_tokens < 0 || (p->n_special_tokens > 0 && !p->special_tokens))
        return se_fail(SOFTENT_E_INVALID, "tokenizer training: %d special tokens and no list of them", p->n_special_tokens);
    for (int i = 0; i < p->n_special_tokens; i++) {
        const char *s = p->special_tokens[i];
        if (!s || !*s) return se_fail(SOFTENT_E_INVALID, "tokenizer training: special token %d is empty", i + 1);
        if (se_utf8_valid_prefix(s, strlen(s)) != strlen(s))
            return se_fail(SOFTENT_E_INVALID, "tokenizer training: special token %d is not valid UTF-8", i + 1);
    }
    int64_t start = softent_bpe_train_initial_size(p);
    if (p->vocab_size < start || p->vocab_size > INT32_MAX)
        return se_fail(SOFTENT_E_INVALID, "tokenizer training: vocabulary size %lld is not in %lld..%d (256 byte tokens + %lld special)",
                       (long long)p->vocab_size, (long long)start, INT32_MAX, (long long)(start - N_BYTES));
    if (p->min_frequency < 0)
        return se_fail(SOFTENT_E_INVALID, "tokenizer training: min_frequency %lld is negative", (long long)p->min_frequency);
    if (p->max_docs < 0) return se_fail(SOFTENT_E_INVALID, "tokenizer training: max_docs %lld is negative", (long long)p->max_docs);
    return 0;
}

/* Append a token with the next id. */
static int add_token(softent_bpe_trainer *t, const char *s, size_t n, int32_t *id)
{
    if (se_grow(&t->tok, &t->cap_tokens, t->n_tokens + 1, sizeof *t->tok)) return SOFTENT_E_NOMEM;
    *id = (int32_t)t->n_tokens;
    t->tok[t->n_tokens] = (token){t->text.n, (uint32_t)n};
    if (se_buf_append(&t->text, s, n) || se_strmap_put(&t->ids, s, n, *id, NULL)) return SOFTENT_E_NOMEM;
    t->n_tokens++;
    return 0;
}

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

/* Special tokens, then the byte symbols in code-point order (HF's
 * compute_alphabet sorts the alphabet by char); a string already present
 * keeps its id. */
static int initial_vocab(softent_bpe_trainer *t, const softent_bpe_train_params *p)
{
    int rc;
    int32_t id;
    for (int i = 0; i < p->n_special_tokens; i++) {
        const char *s = p->special_tokens[i];
        if (se_strmap_get(&t->ids, s, strlen(s)) < 0 && (rc = add_token(t, s, strlen(s), &id))) return rc;
    }
    t->stats.n_special = (int64_t)t->n_tokens;
    uint32_t order[N_BYTES]; /* code point << 8 | byte */
    for (int b = 0; b < N_BYTES; b++) order[b] = se_byte_char((unsigned char)b) << 8 | (uint32_t)b;
    qsort(order, N_BYTES, sizeof *order, cmp_u32);
    for (int k = 0; k < N_BYTES; k++) {
        char s[4];
        int n = se_utf8_put(order[k] >> 8, s);
        id = se_strmap_get(&t->ids, s, (size_t)n);
        if (id < 0 && (rc = add_token(t, s, (size_t)n, &id))) return rc;
        t->byte_id[order[k] & 0xFF] = id;
    }
    return 0;
}

int softent_bpe_trainer_new(softent_bpe_trainer **out, const softent_bpe_train_params *p)
{
    *out = NULL;
    softent_bpe_train_params dflt = softent_bpe_train_default_params();
    if (!p) p = &dflt;
    int rc = check_params(p);
    if (rc) return rc;
    softent_bpe_trainer *t = calloc(1, sizeof *t);
    if (!t) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    t->vocab_size = p->vocab_size;
    t->min_frequency = p->min_frequency;
    cJSON *j = cJSON_Parse(PRE_TOKENIZER);
    if (!j) rc = se_fail(SOFTENT_E_NOMEM, "out of memory");
    if (!rc) rc = se_pretok_parse(&t->pre, j, "tokenizer training");
    cJSON_Delete(j);
    if (!rc) rc = se_strmap_init(&t->words, 1 << 16);
    if (!rc) rc = se_strmap_init(&t->ids, (size_t)(p->vocab_size < (1 << 20) ? p->vocab_size : 1 << 20));
    if (!rc) rc = initial_vocab(t, p);
    if (rc) {
        softent_bpe_trainer_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void softent_bpe_trainer_free(softent_bpe_trainer *t)
{
    if (!t) return;
    se_pretok_free(&t->pre);
    se_pretok_work_free(&t->pre_work);
    se_buf_free(&t->repaired);
    se_buf_free(&t->scratch);
    se_strmap_free(&t->words);
    free(t->word);
    se_buf_free(&t->text);
    free(t->tok);
    se_strmap_free(&t->ids);
    free(t->merges);
    free(t);
}

void softent_bpe_trainer_stats(const softent_bpe_trainer *t, softent_bpe_train_stats *stats)
{
    *stats = t->stats;
    stats->vocab_size = (int64_t)t->n_tokens;
    stats->n_merges = (int64_t)t->n_merges;
}

/* ---- counting words ------------------------------------------------------------- */

static int count_word(void *ctx, const char *w, size_t n)
{
    softent_bpe_trainer *t = ctx;
    int32_t i = se_strmap_get(&t->words, w, n);
    if (i < 0) {
        if (t->n_words >= INT32_MAX) return se_fail(SOFTENT_E_LIMIT, "tokenizer training: over 2^31 distinct words");
        if (n > UINT32_MAX) return se_fail(SOFTENT_E_LIMIT, "tokenizer training: a word of over 4 GB");
        if (se_grow(&t->word, &t->cap_words, t->n_words + 1, sizeof *t->word)) return SOFTENT_E_NOMEM;
        i = (int32_t)t->n_words;
        if (se_strmap_put(&t->words, w, n, i, NULL)) return SOFTENT_E_NOMEM;
        t->word[i] = (word){(size_t)(se_strmap_key(&t->words, w, n) - t->words.pool.p), (uint32_t)n, 0};
        t->n_words++;
    }
    t->word[i].count++;
    t->stats.words++;
    return 0;
}

int softent_bpe_trainer_feed(softent_bpe_trainer *t, const char *text, size_t len)
{
    if (t->trained) return se_fail(SOFTENT_E_ORDER, "tokenizer training: a document fed after training");
    double t0 = se_seconds();
    const char *s = text;
    size_t n = len;
    /* The encoder reads invalid UTF-8 as U+FFFD: train on what it will see. */
    if (se_utf8_valid_prefix(text, len) != len) {
        t->repaired.n = 0;
        if (se_utf8_repair(text, len, &t->repaired)) return SOFTENT_E_NOMEM;
        s = t->repaired.p;
        n = t->repaired.n;
    }
    int rc = n ? se_pretok_run(&t->pre, &t->pre_work, s, n, 1, count_word, t) : 0;
    t->stats.documents++;
    t->stats.bytes += (int64_t)len;
    t->stats.distinct_words = (int64_t)t->n_words;
    t->stats.count_seconds += se_seconds() - t0;
    return rc;
}

/* ---- pairs and the heap ------------------------------------------------------------ */

static inline size_t pair_slot(int32_t a, int32_t b, size_t mask)
{
    uint64_t k = ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) * 0x9E3779B97F4A7C15ull;
    return (size_t)(k ^ k >> 31) & mask;
}

static int32_t pair_lookup(const state *s, int32_t a, int32_t b)
{
    size_t mask = s->n_slots - 1;
    for (size_t i = pair_slot(a, b, mask);; i = (i + 1) & mask) {
        int32_t k = s->slots[i];
        if (k < 0 || (s->pairs[k].a == a && s->pairs[k].b == b)) return k;
    }
}

static int rehash(state *s, size_t n_slots)
{
    int32_t *slots = malloc(n_slots * sizeof *slots);
    if (!slots) return se_fail(SOFTENT_E_NOMEM, "out of memory for the pair table");
    memset(slots, 0xFF, n_slots * sizeof *slots);
    for (size_t k = 0; k < s->n_pairs; k++) {
        size_t i = pair_slot(s->pairs[k].a, s->pairs[k].b, n_slots - 1);
        while (slots[i] >= 0) i = (i + 1) & (n_slots - 1);
        slots[i] = (int32_t)k;
    }
    free(s->slots);
    s->slots = slots;
    s->n_slots = n_slots;
    return 0;
}

/* The index of pair (a, b), created with count 0 when new. */
static int pair_find(state *s, int32_t a, int32_t b, int32_t *out)
{
    int32_t k = pair_lookup(s, a, b);
    if (k >= 0) {
        *out = k;
        return 0;
    }
    if (s->n_pairs >= INT32_MAX) return se_fail(SOFTENT_E_LIMIT, "tokenizer training: over 2^31 distinct pairs");
    if (2 * (s->n_pairs + 1) > s->n_slots) {
        if (rehash(s, 2 * s->n_slots)) return SOFTENT_E_NOMEM;
    }
    if (se_grow(&s->pairs, &s->cap_pairs, s->n_pairs + 1, sizeof *s->pairs)) return SOFTENT_E_NOMEM;
    size_t i = pair_slot(a, b, s->n_slots - 1);
    while (s->slots[i] >= 0) i = (i + 1) & (s->n_slots - 1);
    k = (int32_t)s->n_pairs++;
    s->slots[i] = k;
    s->pairs[k] = (pair){.a = a, .b = b};
    *out = k;
    return 0;
}

/* Count delta more of (a, b) in word w; a pair that gains is listed with
 * the word and queued for a fresh heap entry. */
static int pair_add(state *s, int32_t a, int32_t b, int64_t delta, int32_t w)
{
    int32_t k = 0;
    if (pair_find(s, a, b, &k)) return SOFTENT_E_NOMEM;
    pair *p = &s->pairs[k];
    p->count += delta;
    if (delta <= 0) return 0;
    if (!p->n_words || p->words[p->n_words - 1] != w) {
        size_t cap = p->cap_words;
        if (p->n_words == UINT32_MAX || se_grow(&p->words, &cap, (size_t)p->n_words + 1, sizeof *p->words))
            return se_fail(SOFTENT_E_NOMEM, "out of memory for the pair index");
        p->cap_words = (uint32_t)cap;
        p->words[p->n_words++] = w;
    }
    if (p->fresh_round != s->round) {
        p->fresh_round = s->round;
        if (se_grow(&s->fresh, &s->cap_fresh, s->n_fresh + 1, sizeof *s->fresh)) return SOFTENT_E_NOMEM;
        s->fresh[s->n_fresh++] = k;
    }
    return 0;
}

/* Heap order: higher count first, then the smaller (a, b), as HF's Merge
 * orders its BinaryHeap. */
static inline int before(const entry *x, const entry *y)
{
    if (x->count != y->count) return x->count > y->count;
    return x->a != y->a ? x->a < y->a : x->b < y->b;
}

static void sift_down(entry *h, size_t n, size_t i)
{
    entry e = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && before(&h[c + 1], &h[c])) c++;
        if (!before(&h[c], &e)) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = e;
}

static int heap_push(state *s, int64_t count, int32_t a, int32_t b)
{
    if (se_grow(&s->heap, &s->cap_heap, s->n_heap + 1, sizeof *s->heap)) return SOFTENT_E_NOMEM;
    entry e = {count, a, b};
    size_t i = s->n_heap++;
    while (i > 0 && before(&e, &s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = e;
    return 0;
}

static entry heap_pop(state *s)
{
    entry top = s->heap[0];
    s->heap[0] = s->heap[--s->n_heap];
    if (s->n_heap) sift_down(s->heap, s->n_heap, 0);
    return top;
}

/* Fresh entries for the pairs that gained this round. */
static int push_fresh(state *s)
{
    for (size_t k = 0; k < s->n_fresh; k++) {
        const pair *p = &s->pairs[s->fresh[k]];
        if (p->count > 0 && heap_push(s, p->count, p->a, p->b)) return SOFTENT_E_NOMEM;
    }
    s->n_fresh = 0;
    return 0;
}

static void state_free(state *s)
{
    for (size_t k = 0; k < s->n_pairs; k++) free(s->pairs[k].words);
    free(s->pairs);
    free(s->slots);
    free(s->heap);
    free(s->fresh);
    free(s->sym);
    free(s->off);
    free(s->len);
    free(s->seen);
}

/* ---- merging ------------------------------------------------------------------------ */

/* Every word as byte ids, and every pair counted. */
static int state_init(softent_bpe_trainer *t, state *s)
{
    size_t total = 0, nw = t->n_words;
    for (size_t w = 0; w < nw; w++) total += t->word[w].len;
    s->sym = malloc((total ? total : 1) * sizeof *s->sym);
    s->off = malloc(nw * sizeof *s->off);
    s->len = malloc(nw * sizeof *s->len);
    s->seen = calloc(nw, sizeof *s->seen);
    if (!s->sym || !s->off || !s->len || !s->seen) return se_fail(SOFTENT_E_NOMEM, "out of memory for %zu words", nw);
    if (rehash(s, 1 << 16)) return SOFTENT_E_NOMEM;
    s->round = 1; /* round 0 is "never" for fresh_round and seen */
    size_t at = 0;
    for (size_t w = 0; w < nw; w++) {
        const word *wd = &t->word[w];
        const unsigned char *bytes = (const unsigned char *)t->words.pool.p + wd->key;
        s->off[w] = at;
        s->len[w] = wd->len;
        for (uint32_t i = 0; i < wd->len; i++) s->sym[at + i] = t->byte_id[bytes[i]];
        for (uint32_t i = 1; i < wd->len; i++)
            if (pair_add(s, s->sym[at + i - 1], s->sym[at + i], wd->count, (int32_t)w)) return SOFTENT_E_NOMEM;
        at += wd->len;
    }
    /* Counting queued every pair once; heapify them. */
    if (se_grow(&s->heap, &s->cap_heap, s->n_fresh ? s->n_fresh : 1, sizeof *s->heap)) return SOFTENT_E_NOMEM;
    for (size_t k = 0; k < s->n_fresh; k++) {
        const pair *p = &s->pairs[s->fresh[k]];
        s->heap[k] = (entry){p->count, p->a, p->b};
    }
    s->n_heap = s->n_fresh;
    s->n_fresh = 0;
    for (size_t i = s->n_heap / 2; i-- > 0;) sift_down(s->heap, s->n_heap, i);
    return 0;
}

/* Replace every leftmost non-overlapping (a, b) in word w by x, moving the
 * counts of the pairs around each occurrence (the left neighbour is the
 * already rewritten symbol, as in HF's Word::merge). */
static int merge_word(const softent_bpe_trainer *t, state *s, int32_t w, int32_t a, int32_t b, int32_t x)
{
    int32_t *v = s->sym + s->off[w];
    uint32_t n = s->len[w], j = 0;
    int64_t c = t->word[w].count;
    for (uint32_t i = 0; i < n;) {
        if (v[i] != a || i + 1 >= n || v[i + 1] != b) {
            v[j++] = v[i++];
            continue;
        }
        if (j > 0 && (pair_add(s, v[j - 1], a, -c, w) || pair_add(s, v[j - 1], x, c, w))) return SOFTENT_E_NOMEM;
        if (i + 2 < n && (pair_add(s, b, v[i + 2], -c, w) || pair_add(s, x, v[i + 2], c, w))) return SOFTENT_E_NOMEM;
        if (pair_add(s, a, b, -c, w)) return SOFTENT_E_NOMEM;
        v[j++] = x;
        i += 2;
    }
    s->len[w] = j;
    return 0;
}

/* Merge pair k everywhere: the new token (or the id its string already
 * has), the merge line, and the words. */
static int merge_pair(softent_bpe_trainer *t, state *s, int32_t k)
{
    int32_t a = s->pairs[k].a, b = s->pairs[k].b, x;
    se_buf *m = &t->scratch;
    m->n = 0;
    if (se_buf_append(m, t->text.p + t->tok[a].off, t->tok[a].len) || se_buf_append(m, t->text.p + t->tok[b].off, t->tok[b].len))
        return SOFTENT_E_NOMEM;
    int rc;
    if (m->n > UINT32_MAX) return se_fail(SOFTENT_E_LIMIT, "tokenizer training: a token of over 4 GB");
    if ((x = se_strmap_get(&t->ids, m->p, m->n)) < 0 && (rc = add_token(t, m->p, m->n, &x))) return rc;
    if (!s->pairs[k].merged) {
        if (se_grow(&t->merges, &t->cap_merges, t->n_merges + 1, sizeof *t->merges)) return SOFTENT_E_NOMEM;
        t->merges[t->n_merges][0] = a;
        t->merges[t->n_merges][1] = b;
        t->n_merges++;
        s->pairs[k].merged = 1;
    }
    /* The pair's word list is taken whole: later gains start a new one. */
    int32_t *words = s->pairs[k].words;
    uint32_t n = s->pairs[k].n_words;
    s->pairs[k].words = NULL;
    s->pairs[k].n_words = s->pairs[k].cap_words = 0;
    s->round++;
    rc = 0;
    for (uint32_t i = 0; i < n && !rc; i++) {
        int32_t w = words[i];
        if (s->seen[w] == s->round) continue;
        s->seen[w] = s->round;
        rc = merge_word(t, s, w, a, b, x);
    }
    free(words);
    return rc ? rc : push_fresh(s);
}

int softent_bpe_trainer_train(softent_bpe_trainer *t)
{
    if (t->trained) return se_fail(SOFTENT_E_ORDER, "tokenizer training: trained twice");
    if (!t->n_words) return se_fail(SOFTENT_E_EMPTY, "tokenizer training: no text to train on");
    double t0 = se_seconds();
    state s = {0};
    int rc = state_init(t, &s);
    while (!rc && (int64_t)t->n_tokens < t->vocab_size && s.n_heap) {
        entry e = heap_pop(&s);
        int32_t k = pair_lookup(&s, e.a, e.b);
        int64_t count = s.pairs[k].count;
        if (count != e.count) {
            if (count > 0) rc = heap_push(&s, count, e.a, e.b);
            continue;
        }
        if (count < 1 || count < t->min_frequency) break;
        rc = merge_pair(t, &s, k);
    }
    state_free(&s);
    t->trained = 1;
    t->stats.merge_seconds = se_seconds() - t0;
    return rc;
}

/* ---- tokenizer.json ---------------------------------------------------------------- */

static const char *vocab_token(const void *ctx, size_t id, size_t *len)
{
    const softent_bpe_trainer *t = ctx;
    *len = t->tok[id].len;
    return t->text.p + t->tok[id].off;
}

/* Write the trained tokenizer into a, committing it (or, on failure,
 * dropping it). */
static int write_json(const softent_bpe_trainer *t, se_atomic_file *a)
{
    size_t n = (size_t)t->stats.n_special;
    se_added_token *added = n ? calloc(n, sizeof *added) : NULL; /* owned; the strings borrowed from t */
    if (n && !added) {
        se_atomic_abort(a);
        return se_fail(SOFTENT_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) added[i] = (se_added_token){(int64_t)i, t->text.p + t->tok[i].off, t->tok[i].len, 0};
    /* GPT-2's pre-tokenizer as HF's trainer is usually given it (as
     * PRE_TOKENIZER); the post-processor leaves offsets as they are. */
    const se_tokenizer_json j = {
        .n_vocab = t->n_tokens, .token = vocab_token, .ctx = t,
        .merges = (const int32_t (*)[2])t->merges, .n_merges = t->n_merges, .added = added, .n_added = n,
        .add_prefix_space = {0, 0, 0}, .trim_offsets = {1, 0, 1}, .affix = NULL,
    };
    se_tokenizer_json_put(&j, a->f);
    free(added);
    return se_atomic_commit(a);
}

int softent_bpe_trainer_write(const softent_bpe_trainer *t, const char *path)
{
    if (!t->trained) return se_fail(SOFTENT_E_ORDER, "%s: the tokenizer is written before it is trained", path);
    se_atomic_file a;
    int rc = se_atomic_open(&a, path);
    return rc ? rc : write_json(t, &a);
}

int softent_bpe_train(const char *corpus, const softent_bpe_train_params *p, const char *out_path, softent_bpe_train_stats *stats)
{
    softent_bpe_train_params dflt = softent_bpe_train_default_params();
    if (!p) p = &dflt;
    if (stats) memset(stats, 0, sizeof *stats);
    softent_bpe_trainer *t = NULL;
    softent_corpus *c = NULL;
    /* opened first, so that an unwritable path fails before the work */
    se_atomic_file out = {0};
    int rc = softent_bpe_trainer_new(&t, p);
    if (!rc) rc = se_atomic_open(&out, out_path);
    if (!rc) rc = softent_corpus_open(&c, corpus, p->text_field);
    while (!rc && (!p->max_docs || t->stats.documents < p->max_docs)) {
        const char *text;
        size_t len;
        if ((rc = softent_corpus_next(c, &text, &len)) || !text) break;
        if ((rc = softent_bpe_trainer_feed(t, text, len))) {
            char why[400];
            snprintf(why, sizeof why, "%s", softent_last_error());
            se_fail(rc, "%s: document %lld: %s", corpus, (long long)t->stats.documents + 1, why);
        }
    }
    if (!rc && t->stats.documents == 0) rc = se_fail(SOFTENT_E_EMPTY, "%s: no documents to train on (the corpus is empty)", corpus);
    if (!rc) rc = softent_bpe_trainer_train(t);
    if (!rc) rc = write_json(t, &out);
    else se_atomic_abort(&out);
    if (stats && t) softent_bpe_trainer_stats(t, stats);
    softent_corpus_close(c);
    softent_bpe_trainer_free(t);
    return rc;
}
