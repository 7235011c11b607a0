/* tokenizer_bpe.c - the BPE model (see tokenizer_bpe.h). */
#include <stdio.h>
#include <stdlib.h>

#include "tokenizer_bpe.h"
#include "tokenizer_json.h"

#define EMPTY_KEY UINT64_MAX
#define SCAN_MAX 64          /* longer words merge through a heap */
#define CACHE_WORD_MAX 256   /* longer words are not cached (as HF) */
#define CACHE_SLOTS (1u << 17)
#define CACHE_KEY_BYTES (16u << 20)

/* ---- the merge map --------------------------------------------------------- */

static inline size_t merge_slot(uint64_t key, size_t mask)
{
    key ^= key >> 29;
    key *= 0xbf58476d1ce4e5b9ull;
    return (size_t)(key >> 32) & mask;
}

static inline const se_merge *merge_find(const se_bpe *m, int32_t a, int32_t b)
{
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    size_t mask = m->merges_cap - 1;
    for (size_t i = merge_slot(key, mask);; i = (i + 1) & mask) {
        if (m->merges[i].key == key) return &m->merges[i];
        if (m->merges[i].key == EMPTY_KEY) return NULL;
    }
}

/* A later duplicate of a pair replaces the earlier one, as HF's HashMap
 * collect does. */
static void merge_put(se_bpe *m, int32_t a, int32_t b, uint32_t rank, int32_t id)
{
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    size_t mask = m->merges_cap - 1, i = merge_slot(key, mask);
    while (m->merges[i].key != EMPTY_KEY && m->merges[i].key != key) i = (i + 1) & mask;
    m->merges[i] = (se_merge){key, rank, id};
}

/* ---- loading --------------------------------------------------------------- */

static int dup_field(const cJSON *j, const char *key, char **out, size_t *n, const char *what)
{
    const char *s;
    int rc = se_json_str(j, key, "", &s, what);
    if (rc) return rc;
    *n = strlen(s);
    if (!(*out = strdup(s))) return se_fail(SOFTENT_E_NOMEM, "out of memory for a BPE model");
    return 0;
}

/* One merge: "a b" (exactly one space) or ["a", "b"].  0 with *skip set
 * for the "#version" line old merges.txt files begin with. */
static int merge_parts(const cJSON *item, int pairs, se_buf *line, const char **a, const char **b, int *skip,
                       const char *what, size_t rank)
{
    *skip = 0;
    *a = *b = NULL;
    if (pairs) {
        const cJSON *x = cJSON_GetArrayItem(item, 0), *y = cJSON_GetArrayItem(item, 1);
        if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) != 2 || !cJSON_IsString(x) || !cJSON_IsString(y))
            return se_fail(SOFTENT_E_FORMAT, "%s: merge %zu is not a pair of strings", what, rank + 1);
        *a = x->valuestring;
        *b = y->valuestring;
        return 0;
    }
    if (!cJSON_IsString(item)) return se_fail(SOFTENT_E_FORMAT, "%s: merge %zu is not a string", what, rank + 1);
    const char *s = item->valuestring, *sp = strchr(s, ' ');
    if (!strncmp(s, "#version", 8)) {
        *skip = 1;
        return 0;
    }
    if (!sp || strchr(sp + 1, ' '))
        return se_fail(SOFTENT_E_FORMAT, "%s: merge %zu \"%s\" is not two tokens separated by one space", what, rank + 1, s);
    line->n = 0;
    if (se_buf_append(line, s, strlen(s) + 1)) return SOFTENT_E_NOMEM;
    line->p[sp - s] = '\0';
    *a = line->p;
    *b = line->p + (sp - s) + 1;
    return 0;
}

static int load_merges(se_bpe *m, const cJSON *merges, const char *what)
{
    if (!cJSON_IsArray(merges)) return se_fail(SOFTENT_E_FORMAT, "%s: \"merges\" is not a list", what);
    size_t n = (size_t)cJSON_GetArraySize(merges), cap = 16;
    while (cap < 2 * n) cap *= 2;
    m->merges = malloc(cap * sizeof *m->merges);
    se_buf joined = {0}, line = {0};
    if (!m->merges) return se_fail(SOFTENT_E_NOMEM, "out of memory for %zu merges", n);
    m->merges_cap = cap;
    for (size_t i = 0; i < cap; i++) m->merges[i].key = EMPTY_KEY;
    const cJSON *item;
    int pairs = n && cJSON_IsArray(cJSON_GetArrayItem(merges, 0)), rc = 0;
    uint32_t rank = 0;
    cJSON_ArrayForEach(item, merges) {
        const char *a, *b;
        int skip;
        if ((rc = merge_parts(item, pairs, &line, &a, &b, &skip, what, rank))) break;
        if (skip) continue;
        int32_t ia = se_strmap_get(&m->vocab, a, strlen(a)), ib = se_strmap_get(&m->vocab, b, strlen(b));
        /* The merged token drops the right part's continuing_subword_prefix. */
        size_t nb = strlen(b);
        if (ia < 0 || ib < 0 || nb < m->prefix_n) {
            rc = se_fail(SOFTENT_E_FORMAT, "%s: merge %u (\"%s\" \"%s\") names a token not in the vocabulary", what, rank + 1, a, b);
            break;
        }
        joined.n = 0;
        if (se_buf_append(&joined, a, strlen(a)) || se_buf_append(&joined, b + m->prefix_n, nb - m->prefix_n)) {
            rc = SOFTENT_E_NOMEM;
            break;
        }
        int32_t id = se_strmap_get(&m->vocab, joined.p, joined.n);
        if (id < 0) {
            rc = se_fail(SOFTENT_E_FORMAT, "%s: merge %u gives \"%.*s\", which is not in the vocabulary", what, rank + 1,
                         (int)joined.n, joined.p);
            break;
        }
        merge_put(m, ia, ib, rank++, id);
    }
    m->n_merges = rank;
    se_buf_free(&line);
    se_buf_free(&joined);
    return rc;
}

/* Direct tables for the lookups every word makes. */
static int build_tables(se_bpe *m)
{
    char s[16];
    m->char_id = malloc(65536 * sizeof *m->char_id);
    if (!m->char_id) return se_fail(SOFTENT_E_NOMEM, "out of memory for a BPE model");
    for (uint32_t c = 0; c < 65536; c++) {
        if (c >= 0xD800 && c < 0xE000) { m->char_id[c] = -1; continue; }
        int len = se_utf8_put(c, s);
        m->char_id[c] = se_strmap_get(&m->vocab, s, (size_t)len);
    }
    for (int b = 0; b < 256; b++) {
        int len = se_utf8_put(se_byte_char((unsigned char)b), s);
        m->byte_sym[b] = se_strmap_get(&m->vocab, s, (size_t)len);
        /* Rust's format!("<{b:#04X}>"): "<0x" and two upper-case digits. */
        snprintf(s, sizeof s, "<0x%02X>", b);
        m->byte_tok[b] = se_strmap_get(&m->vocab, s, strlen(s));
    }
    return 0;
}

int se_bpe_load(se_bpe *m, const cJSON *j, const char *path)
{
    char what[512];
    int rc;
    memset(m, 0, sizeof *m);
    m->unk_id = -1;
    snprintf(what, sizeof what, "%s: model BPE", path);
    const cJSON *dropout = cJSON_GetObjectItemCaseSensitive(j, "dropout");
    if (dropout && !cJSON_IsNull(dropout) && !(cJSON_IsNumber(dropout) && dropout->valuedouble == 0))
        return se_fail(SOFTENT_E_FORMAT, "%s: BPE dropout is random; softent supports only dropout null or 0", what);
    const char *unk;
    if ((rc = se_json_str(j, "unk_token", NULL, &unk, what)) || (rc = se_json_bool(j, "fuse_unk", 0, &m->fuse_unk, what)) ||
        (rc = se_json_bool(j, "byte_fallback", 0, &m->byte_fallback, what)) ||
        (rc = se_json_bool(j, "ignore_merges", 0, &m->ignore_merges, what)) ||
        (rc = dup_field(j, "continuing_subword_prefix", &m->prefix, &m->prefix_n, what)) ||
        (rc = dup_field(j, "end_of_word_suffix", &m->suffix, &m->suffix_n, what)) ||
        (rc = se_vocab_parse(&m->vocab, &m->max_id, cJSON_GetObjectItemCaseSensitive(j, "vocab"), what)) ||
        (rc = load_merges(m, cJSON_GetObjectItemCaseSensitive(j, "merges"), what)) || (rc = build_tables(m)))
        goto fail;
    if (unk) {
        if (!(m->unk_own = strdup(unk))) {
            rc = se_fail(SOFTENT_E_NOMEM, "out of memory for a BPE model");
            goto fail;
        }
        m->unk_token = m->unk_own;
        m->unk_id = se_strmap_get(&m->vocab, unk, strlen(unk));
    }
    return 0;
fail:
    se_bpe_free(m);
    return rc;
}

void se_bpe_free(se_bpe *m)
{
    se_strmap_free(&m->vocab);
    free(m->merges);
    free(m->unk_own);
    free(m->prefix);
    free(m->suffix);
    free(m->char_id);
    memset(m, 0, sizeof *m);
}

void se_bpe_work_free(se_bpe_work *w)
{
    se_ids_free(&w->sym);
    se_ids_free(&w->scratch);
    se_buf_free(&w->text);
    se_buf_free(&w->piece);
    free(w->cache.slots);
    se_buf_free(&w->cache.keys);
    se_ids_free(&w->cache.ids);
    memset(w, 0, sizeof *w);
}

/* ---- a word's first symbols ------------------------------------------------ */

/* HF's BPE::merge_word before the merges: each character (with the prefix
 * on all but the first, the suffix on the last) is a token, or byte
 * fallback tokens, or the unk token (consecutive ones fused if fuse_unk),
 * or nothing when there is no unk token. */
static int char_symbols(const se_bpe *m, se_bpe_work *w, const char *s, size_t n)
{
    se_ids *sym = &w->sym;
    int32_t pending = -1; /* an unk not yet written (it may still fuse) */
    for (size_t i = 0; i < n;) {
        int len;
        uint32_t c = se_utf8_get(s + i, &len);
        const char *piece = s + i;
        size_t pn = (size_t)len;
        int32_t id;
        if ((m->prefix_n && i > 0) || (m->suffix_n && i + (size_t)len == n)) {
            se_buf *p = &w->piece;
            p->n = 0;
            if ((i > 0 && se_buf_append(p, m->prefix, m->prefix_n)) || se_buf_append(p, s + i, (size_t)len) ||
                (i + (size_t)len == n && se_buf_append(p, m->suffix, m->suffix_n)))
                return SOFTENT_E_NOMEM;
            piece = p->p;
            pn = p->n;
            id = se_strmap_get(&m->vocab, piece, pn);
        } else {
            id = c < 65536 ? m->char_id[c] : se_strmap_get(&m->vocab, piece, pn);
        }
        i += (size_t)len;
        if (id >= 0) {
            if (pending >= 0 && se_ids_push(sym, pending)) return SOFTENT_E_NOMEM;
            pending = -1;
            if (se_ids_push(sym, id)) return SOFTENT_E_NOMEM;
            continue;
        }
        if (m->byte_fallback) {
            size_t k = 0;
            while (k < pn && m->byte_tok[(unsigned char)piece[k]] >= 0) k++;
            if (k == pn) {
                /* As HF: a pending unk is not written first (it can only
                 * happen with a partial set of byte tokens). */
                if (se_ids_reserve(sym, pn)) return SOFTENT_E_NOMEM;
                for (k = 0; k < pn; k++) sym->v[sym->n++] = m->byte_tok[(unsigned char)piece[k]];
                continue;
            }
        }
        if (m->unk_token) {
            if (m->unk_id < 0)
                return se_fail(SOFTENT_E_FORMAT, "the BPE unk_token \"%s\" is not in the vocabulary", m->unk_token);
            if (pending >= 0 && !m->fuse_unk && se_ids_push(sym, pending)) return SOFTENT_E_NOMEM;
            pending = m->unk_id;
        }
    }
    if (pending >= 0 && se_ids_push(sym, pending)) return SOFTENT_E_NOMEM;
    return 0;
}

/* ---- merging --------------------------------------------------------------- */

static inline void pair_rank(const se_bpe *m, int32_t a, int32_t b, uint32_t *rank, int32_t *id)
{
    const se_merge *g = merge_find(m, a, b);
    *rank = g ? g->rank : UINT32_MAX;
    *id = g ? g->id : -1;
}

/* Short words: rescan the pair ranks for the best one each round. */
static size_t merge_scan(const se_bpe *m, int32_t *sym, size_t n, uint32_t *rank, int32_t *merged)
{
    for (size_t k = 0; k + 1 < n; k++) pair_rank(m, sym[k], sym[k + 1], &rank[k], &merged[k]);
    while (n > 1) {
        size_t best = 0;
        for (size_t k = 1; k + 1 < n; k++)
            if (rank[k] < rank[best]) best = k;
        if (rank[best] == UINT32_MAX) break;
        size_t pairs = n - 1;
        sym[best] = merged[best];
        memmove(sym + best + 1, sym + best + 2, (n - best - 2) * sizeof *sym);
        if (best + 2 < pairs) {
            memmove(rank + best + 1, rank + best + 2, (pairs - best - 2) * sizeof *rank);
            memmove(merged + best + 1, merged + best + 2, (pairs - best - 2) * sizeof *merged);
        }
        n--;
        if (best + 1 < n) pair_rank(m, sym[best], sym[best + 1], &rank[best], &merged[best]);
        if (best > 0) pair_rank(m, sym[best - 1], sym[best], &rank[best - 1], &merged[best - 1]);
    }
    return n;
}

/* A candidate merge: pair (pos, next of pos) of the given rank. */
typedef struct {
    uint32_t rank;
    int32_t pos, id;
} candidate;

static inline int before(const candidate *a, const candidate *b)
{
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void heap_push(candidate *h, size_t *n, candidate c)
{
    size_t i = (*n)++;
    while (i > 0 && before(&c, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = c;
}

static candidate heap_pop(candidate *h, size_t *n)
{
    candidate top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && before(&h[c + 1], &h[c])) c++;
        if (!before(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = last;
    return top;
}

/* Long words: HF's Word::merge_all, a heap of candidates over a linked
 * list, skipping candidates that went stale. */
static size_t merge_heap(const se_bpe *m, int32_t *sym, size_t n, int32_t *next, int32_t *prev, candidate *heap)
{
    size_t nh = 0;
    for (size_t k = 0; k < n; k++) {
        next[k] = k + 1 < n ? (int32_t)(k + 1) : -1;
        prev[k] = (int32_t)k - 1;
    }
    for (size_t k = 0; k + 1 < n; k++) {
        const se_merge *g = merge_find(m, sym[k], sym[k + 1]);
        if (g) heap_push(heap, &nh, (candidate){g->rank, (int32_t)k, g->id});
    }
    while (nh) {
        candidate c = heap_pop(heap, &nh);
        int32_t p = c.pos, q = next[p];
        if (sym[p] < 0 || q < 0) continue;
        const se_merge *g = merge_find(m, sym[p], sym[q]);
        if (!g || g->id != c.id) continue;
        sym[p] = c.id;
        sym[q] = -1;
        next[p] = next[q];
        if (next[q] >= 0) prev[next[q]] = p;
        if (prev[p] >= 0 && (g = merge_find(m, sym[prev[p]], sym[p])))
            heap_push(heap, &nh, (candidate){g->rank, prev[p], g->id});
        if (next[p] >= 0 && (g = merge_find(m, sym[p], sym[next[p]])))
            heap_push(heap, &nh, (candidate){g->rank, p, g->id});
    }
    size_t out = 0;
    for (int32_t k = 0; k >= 0; k = next[k]) sym[out++] = sym[k];
    return out;
}

static int merge_symbols(const se_bpe *m, se_bpe_work *w)
{
    size_t n = w->sym.n;
    if (n < 2 || !m->n_merges) return 0;
    /* Scratch in int32 units: ranks + merged ids, or links + a heap of at
     * most 3n candidates (n - 1 pairs, two more per merge). */
    size_t need = n <= SCAN_MAX ? 2 * n : 2 * n + 9 * n;
    w->scratch.n = 0;
    if (se_ids_reserve(&w->scratch, need)) return SOFTENT_E_NOMEM;
    int32_t *s = w->scratch.v;
    if (n <= SCAN_MAX) w->sym.n = merge_scan(m, w->sym.v, n, (uint32_t *)s, s + n);
    else w->sym.n = merge_heap(m, w->sym.v, n, s, s + n, (candidate *)(s + 2 * n));
    return 0;
}

/* ---- the cache ------------------------------------------------------------- */

static se_bpe_cache_slot *cache_find(se_bpe_cache *c, const char *s, size_t n, uint64_t h)
{
    size_t mask = c->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        se_bpe_cache_slot *e = &c->slots[i];
        if (!e->hash || (e->hash == h && e->key_n == n && !memcmp(c->keys.p + e->key_off, s, n))) return e;
    }
}

static void cache_clear(se_bpe_cache *c)
{
    memset(c->slots, 0, c->cap * sizeof *c->slots);
    c->count = 0;
    c->keys.n = 0;
    c->ids.n = 0;
}

static int cache_put(se_bpe_cache *c, const char *s, size_t n, uint64_t h, const int32_t *ids, size_t k)
{
    if (!c->slots) {
        if (!(c->slots = calloc(CACHE_SLOTS, sizeof *c->slots))) return 0; /* no cache: still correct */
        c->cap = CACHE_SLOTS;
    }
    if (2 * (c->count + 1) > c->cap || c->keys.n + n > CACHE_KEY_BYTES) cache_clear(c);
    se_bpe_cache_slot *e = cache_find(c, s, n, h);
    if (e->hash) return 0;
    size_t key_off = c->keys.n, ids_off = c->ids.n;
    if (se_buf_append(&c->keys, s, n) || se_ids_append(&c->ids, ids, k)) return SOFTENT_E_NOMEM;
    *e = (se_bpe_cache_slot){h, (uint32_t)key_off, (uint32_t)n, (uint32_t)ids_off, (uint32_t)k};
    c->count++;
    return 0;
}

/* ---- a word ---------------------------------------------------------------- */

static int map_bytes(se_buf *t, const char *s, size_t n)
{
    t->n = 0;
    if (se_buf_reserve(t, 2 * n)) return SOFTENT_E_NOMEM;
    for (size_t i = 0; i < n; i++) t->n += (size_t)se_utf8_put(se_byte_char((unsigned char)s[i]), t->p + t->n);
    return 0;
}

/* Raw bytes straight to their byte-alphabet ids: 1 when every byte has one
 * and nothing else (ignore_merges, prefix, suffix) needs the text itself. */
static int byte_symbols(const se_bpe *m, se_bpe_work *w, const char *s, size_t n)
{
    if (m->ignore_merges || m->prefix_n || m->suffix_n || se_ids_reserve(&w->sym, n)) return 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = m->byte_sym[(unsigned char)s[i]];
        if (id < 0) return 0;
        w->sym.v[i] = id;
    }
    w->sym.n = n;
    return 1;
}

static int encode_uncached(const se_bpe *m, se_bpe_work *w, const char *s, size_t n, int byte_level)
{
    w->sym.n = 0;
    if (!(byte_level && byte_symbols(m, w, s, n))) {
        if (byte_level) { /* the slow way: spell the word in the byte alphabet */
            if (map_bytes(&w->text, s, n)) return SOFTENT_E_NOMEM;
            s = w->text.p;
            n = w->text.n;
        }
        if (m->ignore_merges) {
            int32_t id = se_strmap_get(&m->vocab, s, n);
            if (id >= 0) return se_ids_push(&w->sym, id) ? SOFTENT_E_NOMEM : 0;
        }
        int rc = char_symbols(m, w, s, n);
        if (rc) return rc;
    }
    return merge_symbols(m, w);
}

int se_bpe_encode_word(const se_bpe *m, se_bpe_work *w, const char *s, size_t n, int byte_level, se_ids *out)
{
    int cache = w->use_cache && n <= CACHE_WORD_MAX;
    uint64_t h = 0;
    if (cache) {
        h = se_hash_bytes(s, n) ^ (uint64_t)byte_level;
        h += !h; /* 0 marks an empty slot */
        if (w->cache.slots) {
            se_bpe_cache_slot *e = cache_find(&w->cache, s, n, h);
            if (e->hash) return se_ids_append(out, w->cache.ids.v + e->ids_off, e->ids_n);
        }
    }
    int rc = encode_uncached(m, w, s, n, byte_level);
    if (rc) return rc;
    if (se_ids_append(out, w->sym.v, w->sym.n)) return SOFTENT_E_NOMEM;
    return cache ? cache_put(&w->cache, s, n, h, w->sym.v, w->sym.n) : 0;
}
