/* tokenizer_added.c - added and special tokens (see tokenizer_added.h). */
#include <stdio.h>
#include <stdlib.h>

#include "tokenizer_added.h"
#include "tokenizer_json.h"

#define NO_EDGE UINT64_MAX

/* ---- the trie -------------------------------------------------------------- */

static size_t edge_slot(uint64_t key, size_t mask)
{
    key *= 0x9e3779b97f4a7c15ull;
    return (size_t)(key >> 29) & mask;
}

static int32_t trie_next(const se_trie *t, int32_t node, unsigned char b)
{
    uint64_t key = (uint64_t)node << 8 | b;
    size_t mask = t->edge_cap - 1;
    for (size_t i = edge_slot(key, mask);; i = (i + 1) & mask) {
        if (t->edge_key[i] == key) return t->edge_to[i];
        if (t->edge_key[i] == NO_EDGE) return -1;
    }
}

static int trie_new_node(se_trie *t, int32_t *node)
{
    if (t->n_nodes == t->node_cap) {
        size_t cap = t->node_cap ? 2 * t->node_cap : 64;
        int32_t *p = realloc(t->token, cap * sizeof *p);
        if (!p) return se_fail(SOFTENT_E_NOMEM, "out of memory for added tokens");
        t->token = p;
        t->node_cap = cap;
    }
    t->token[t->n_nodes] = -1;
    *node = (int32_t)t->n_nodes++;
    return 0;
}

static int trie_grow_edges(se_trie *t)
{
    size_t cap = t->edge_cap ? 2 * t->edge_cap : 256;
    uint64_t *key = malloc(cap * sizeof *key);
    int32_t *to = malloc(cap * sizeof *to);
    if (!key || !to) {
        free(key);
        free(to);
        return se_fail(SOFTENT_E_NOMEM, "out of memory for added tokens");
    }
    for (size_t i = 0; i < cap; i++) key[i] = NO_EDGE;
    for (size_t i = 0; i < t->edge_cap; i++) {
        if (t->edge_key[i] == NO_EDGE) continue;
        size_t j = edge_slot(t->edge_key[i], cap - 1);
        while (key[j] != NO_EDGE) j = (j + 1) & (cap - 1);
        key[j] = t->edge_key[i];
        to[j] = t->edge_to[i];
    }
    free(t->edge_key);
    free(t->edge_to);
    t->edge_key = key;
    t->edge_to = to;
    t->edge_cap = cap;
    return 0;
}

/* The first token with a given string keeps it. */
static int trie_add(se_trie *t, const char *s, size_t n, int32_t token)
{
    int32_t node = 0;
    if (!t->n_nodes && trie_new_node(t, &node)) return SOFTENT_E_NOMEM;
    if (!n) return 0; /* an empty string never matches */
    t->first[(unsigned char)s[0]] = 1;
    for (size_t i = 0; i < n; i++) {
        int32_t next = t->edge_cap ? trie_next(t, node, (unsigned char)s[i]) : -1;
        if (next < 0) {
            if (2 * (t->n_edges + 1) > t->edge_cap && trie_grow_edges(t)) return SOFTENT_E_NOMEM;
            if (trie_new_node(t, &next)) return SOFTENT_E_NOMEM;
            uint64_t key = (uint64_t)node << 8 | (unsigned char)s[i];
            size_t j = edge_slot(key, t->edge_cap - 1);
            while (t->edge_key[j] != NO_EDGE) j = (j + 1) & (t->edge_cap - 1);
            t->edge_key[j] = key;
            t->edge_to[j] = next;
            t->n_edges++;
        }
        node = next;
    }
    if (t->token[node] < 0) t->token[node] = token;
    return 0;
}

static void trie_free(se_trie *t)
{
    free(t->edge_key);
    free(t->edge_to);
    free(t->token);
    memset(t, 0, sizeof *t);
}

/* ---- loading --------------------------------------------------------------- */

static int read_token(se_added_token *tk, const cJSON *j, const char *path, int k)
{
    char what[512];
    const char *content;
    snprintf(what, sizeof what, "%s: added token %d", path, k);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    int rc;
    /* Absent flags take AddedToken's defaults (normalized true). */
    if ((rc = se_json_str(j, "content", NULL, &content, what)) || (rc = se_json_bool(j, "single_word", 0, &tk->single_word, what)) ||
        (rc = se_json_bool(j, "lstrip", 0, &tk->lstrip, what)) || (rc = se_json_bool(j, "rstrip", 0, &tk->rstrip, what)) ||
        (rc = se_json_bool(j, "normalized", 1, &tk->normalized, what)) || (rc = se_json_bool(j, "special", 0, &tk->special, what)))
        return rc;
    if (!content) return se_fail(SOFTENT_E_FORMAT, "%s: no \"content\"", what);
    if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble > INT32_MAX - 1)
        return se_fail(SOFTENT_E_FORMAT, "%s: no valid \"id\"", what);
    if (!(tk->content = strdup(content))) return se_fail(SOFTENT_E_NOMEM, "out of memory for added tokens");
    tk->id = (int32_t)id->valuedouble;
    return 0;
}

static int same_token(const se_added_token *x, const se_added_token *y)
{
    return !strcmp(x->content, y->content) && x->single_word == y->single_word && x->lstrip == y->lstrip &&
           x->rstrip == y->rstrip && x->normalized == y->normalized && x->special == y->special;
}

/* HF's add_tokens: a content seen before keeps its id, one in the model's
 * vocabulary takes that id, a new one the next id past the vocabulary and
 * every added token. */
static int32_t assign_id(const se_added *a, const se_added_token *tk, const se_strmap *vocab)
{
    int32_t max = -1;
    for (int i = 0; i < a->n; i++) {
        if (!strcmp(a->tokens[i].content, tk->content)) return a->tokens[i].id;
        if (a->tokens[i].id > max) max = a->tokens[i].id;
    }
    int32_t id = se_strmap_get(vocab, tk->content, strlen(tk->content));
    if (id >= 0) return id;
    int32_t size = (int32_t)vocab->count;
    if (max < 0) return size;
    return max >= size || size == 0 ? max + 1 : size;
}

int se_added_load(se_added *a, const cJSON *j, const se_strmap *vocab, const se_normalizer *nz, const char *path)
{
    memset(a, 0, sizeof *a);
    if (!j || cJSON_IsNull(j)) return 0;
    if (!cJSON_IsArray(j)) return se_fail(SOFTENT_E_FORMAT, "%s: \"added_tokens\" is not a list", path);
    int n = cJSON_GetArraySize(j), k = 0, rc = 0;
    if (!(a->tokens = calloc((size_t)n + 1, sizeof *a->tokens))) return se_fail(SOFTENT_E_NOMEM, "out of memory for added tokens");
    const cJSON *item;
    cJSON_ArrayForEach(item, j) {
        se_added_token tk = {0};
        if ((rc = read_token(&tk, item, path, k++))) goto fail;
        int dup = !tk.content[0];
        for (int i = 0; i < a->n && !dup; i++) dup = same_token(&a->tokens[i], &tk);
        if (dup) {
            free(tk.content);
            continue;
        }
        tk.id = assign_id(a, &tk, vocab);
        a->tokens[a->n++] = tk;
    }
    /* Special tokens first, then the others, each in file order: the order
     * HF builds its matchers in (it only matters for equal strings). */
    se_norm_work nw = {0};
    se_buf normed = {0};
    for (int pass = 1; pass >= 0 && !rc; pass--) {
        for (int i = 0; i < a->n && !rc; i++) {
            const se_added_token *tk = &a->tokens[i];
            if (tk->special != pass) continue;
            if (!tk->normalized) {
                rc = trie_add(&a->raw, tk->content, strlen(tk->content), i);
            } else if (!(rc = se_norm_apply(nz, &nw, tk->content, strlen(tk->content), &normed))) {
                rc = trie_add(&a->norm, normed.p, normed.n, i);
            }
        }
    }
    se_norm_work_free(&nw);
    se_buf_free(&normed);
    if (!rc) return 0;
fail:
    se_added_free(a);
    return rc;
}

void se_added_free(se_added *a)
{
    for (int i = 0; i < a->n; i++) free(a->tokens[i].content);
    free(a->tokens);
    trie_free(&a->raw);
    trie_free(&a->norm);
    memset(a, 0, sizeof *a);
}

/* ---- matching -------------------------------------------------------------- */

/* The character ending at s[end) (end > 0). */
static uint32_t char_before(const char *s, size_t end)
{
    size_t k = end - 1;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
    int len;
    return se_utf8_get(s + k, &len);
}

int se_added_split(const se_added *a, const se_trie *t, const char *s, size_t n, se_spans *out)
{
    size_t done = 0; /* end of the last token taken */
    size_t i = 0;
    while (t->n_edges && i < n) {
        if (!t->first[(unsigned char)s[i]]) {
            i++;
            continue;
        }
        /* The longest token starting here. */
        int32_t node = 0, best = -1;
        size_t end = i;
        for (size_t j = i; j < n && (node = trie_next(t, node, (unsigned char)s[j])) >= 0; j++)
            if (t->token[node] >= 0) {
                best = t->token[node];
                end = j + 1;
            }
        if (best < 0) {
            i++;
            continue;
        }
        const se_added_token *tk = &a->tokens[best];
        size_t start = i;
        i = end; /* a discarded match still consumes its text, as aho-corasick's iterator does */
        if (tk->single_word) {
            int len;
            if ((start > 0 && se_uc_word(char_before(s, start))) || (end < n && se_uc_word(se_utf8_get(s + end, &len)))) continue;
        }
        if (tk->lstrip) {
            size_t k = start;
            while (k > done && se_uc_white_space(char_before(s, k))) {
                k--;
                while (k > done && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
            }
            start = k;
        }
        if (tk->rstrip) {
            while (end < n) {
                int len;
                if (!se_uc_white_space(se_utf8_get(s + end, &len))) break;
                end += (size_t)len;
            }
            i = end;
        }
        if (start > done && se_spans_push(out, done, start, -1)) return SOFTENT_E_NOMEM;
        if (se_spans_push(out, start, end, tk->id)) return SOFTENT_E_NOMEM;
        done = end;
    }
    if (done < n && se_spans_push(out, done, n, -1)) return SOFTENT_E_NOMEM;
    return 0;
}
