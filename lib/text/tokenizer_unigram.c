/* tokenizer_unigram.c - the Unigram model (see tokenizer_unigram.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "tokenizer_json.h"
#include "tokenizer_unigram.h"

#define UNK_PENALTY 10.0  /* HF's K_UNK_PENALTY */

/* Piece s[0..n) into the trie, as id (a later duplicate replaces it). */
static int trie_insert(se_unigram *m, const char *s, size_t n, int32_t id)
{
    int32_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const unsigned char b = (unsigned char)s[i];
        int32_t c = m->trie[at].child;
        while (c >= 0 && m->trie[c].byte != b) c = m->trie[c].sibling;
        if (c < 0) {
            if (m->n_nodes == m->trie_cap) {
                if (m->trie_cap > INT32_MAX / 2) return se_fail(SOFTENT_E_NOMEM, "Unigram: too many piece bytes");
                se_unigram_node *grown = realloc(m->trie, (size_t)m->trie_cap * 2 * sizeof *grown);
                if (!grown) return se_fail(SOFTENT_E_NOMEM, "out of memory for the Unigram pieces");
                m->trie = grown;
                m->trie_cap *= 2;
            }
            c = m->n_nodes++;
            m->trie[c] = (se_unigram_node){.child = -1, .sibling = m->trie[at].child, .id = -1, .byte = b};
            m->trie[at].child = c;
        }
        at = c;
    }
    if (n) m->trie[at].id = id;
    return 0;
}

int se_unigram_load(se_unigram *m, const cJSON *j, const char *path)
{
    char what[512];
    memset(m, 0, sizeof *m);
    m->unk_id = -1;
    m->max_id = -1;
    snprintf(what, sizeof what, "%s: model Unigram", path);
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(j, "vocab"), *unk = cJSON_GetObjectItemCaseSensitive(j, "unk_id"), *item;
    int rc = se_json_bool(j, "byte_fallback", 0, &m->byte_fallback, what);
    if (rc) return rc;
    if (!cJSON_IsArray(vocab)) return se_fail(SOFTENT_E_FORMAT, "%s: \"vocab\" is not a list of [piece, score]", what);
    const int n = cJSON_GetArraySize(vocab);
    if (unk && !cJSON_IsNull(unk)) {
        if (!cJSON_IsNumber(unk) || unk->valuedouble < 0 || unk->valuedouble >= n || unk->valuedouble != (double)(int32_t)unk->valuedouble)
            return se_fail(SOFTENT_E_FORMAT, "%s: \"unk_id\" is not the id of a piece of the vocabulary", what);
        m->unk_id = (int32_t)unk->valuedouble;
    }
    m->trie_cap = 1024;
    if (!(m->score = malloc(((size_t)n + 1) * sizeof *m->score)) || se_strmap_init(&m->vocab, (size_t)n) ||
        !(m->trie = malloc((size_t)m->trie_cap * sizeof *m->trie))) {
        rc = se_fail(SOFTENT_E_NOMEM, "%s: out of memory", what);
        goto fail;
    }
    m->trie[0] = (se_unigram_node){.child = -1, .sibling = -1, .id = -1};
    m->n_nodes = 1;
    double lowest = INFINITY;
    cJSON_ArrayForEach(item, vocab) {
        const cJSON *piece = cJSON_GetArrayItem(item, 0), *score = cJSON_GetArrayItem(item, 1);
        if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) != 2 || !cJSON_IsString(piece) || !cJSON_IsNumber(score) ||
            !isfinite(score->valuedouble)) {
            rc = se_fail(SOFTENT_E_FORMAT, "%s: vocab entry %d is not [piece, score]", what, m->n_pieces);
            goto fail;
        }
        const size_t len = strlen(piece->valuestring);
        if (se_strmap_put(&m->vocab, piece->valuestring, len, m->n_pieces, NULL)) {
            rc = se_fail(SOFTENT_E_NOMEM, "%s: out of memory", what);
            goto fail;
        }
        if ((rc = trie_insert(m, piece->valuestring, len, m->n_pieces))) goto fail;
        m->score[m->n_pieces++] = score->valuedouble;
        if (score->valuedouble < lowest) lowest = score->valuedouble;
    }
    m->max_id = m->n_pieces - 1;
    m->unk_score = lowest - UNK_PENALTY;
    return 0;
fail:
    se_unigram_free(m);
    return rc;
}

void se_unigram_free(se_unigram *m)
{
    se_strmap_free(&m->vocab);
    free(m->score);
    free(m->trie);
    memset(m, 0, sizeof *m);
}

void se_unigram_work_free(se_unigram_work *w)
{
    free(w->best);
    free(w->id);
    free(w->start);
    se_ids_free(&w->pieces);
    memset(w, 0, sizeof *w);
}

static int reserve(se_unigram_work *w, size_t n)
{
    if (n + 1 <= w->cap) return 0;
    double *best = realloc(w->best, (n + 1) * sizeof *best);
    if (best) w->best = best;
    int32_t *id = best ? realloc(w->id, (n + 1) * sizeof *id) : NULL;
    if (id) w->id = id;
    int32_t *start = id ? realloc(w->start, (n + 1) * sizeof *start) : NULL;
    if (start) w->start = start;
    if (!start) return se_fail(SOFTENT_E_NOMEM, "out of memory for a word of %zu bytes", n);
    w->cap = n + 1;
    return 0;
}

/* Node `end` of the best path: taken by (id, from start) when none is yet
 * or this one scores higher (the first of equals stays, as HF). */
static void offer(se_unigram_work *w, size_t end, size_t start, int32_t id, double score)
{
    if (w->start[end] < 0 || score > w->best[end]) {
        w->best[end] = score;
        w->start[end] = (int32_t)start;
        w->id[end] = id;
    }
}

/* The ids of a piece the path took: the vocabulary's, else with
 * byte_fallback its <0xXX> tokens (all of them there), else unk. */
static int piece_ids(const se_unigram *m, const char *s, size_t n, se_ids *out)
{
    int32_t id = se_strmap_get(&m->vocab, s, n);
    if (id >= 0) return se_ids_push(out, id) ? SOFTENT_E_NOMEM : 0;
    if (m->byte_fallback) {
        const size_t first = out->n;
        for (size_t i = 0; i < n; i++) {
            char hex[8];
            snprintf(hex, sizeof hex, "<0x%02X>", (unsigned char)s[i]);
            int32_t b = se_strmap_get(&m->vocab, hex, 6);
            if (b < 0) break;
            if (se_ids_push(out, b)) return SOFTENT_E_NOMEM;
            if (i + 1 == n) return 0;
        }
        out->n = first;
    }
    if (m->unk_id < 0) return se_fail(SOFTENT_E_FORMAT, "Unigram: a piece needs the unk token, and the model has no unk_id");
    return se_ids_push(out, m->unk_id) ? SOFTENT_E_NOMEM : 0;
}

int se_unigram_encode_word(const se_unigram *m, se_unigram_work *w, const char *s, size_t n, se_ids *out)
{
    if (n == 0) return 0;
    if (n > INT32_MAX - 1) return se_fail(SOFTENT_E_INVALID, "Unigram: a word of %zu bytes", n);
    int rc = reserve(w, n);
    if (rc) return rc;
    for (size_t i = 0; i <= n; i++) w->start[i] = -1;
    w->best[0] = 0;
    for (size_t at = 0; at < n;) {
        const size_t ch = (size_t)se_utf8_len((unsigned char)s[at]) <= n - at ? (size_t)se_utf8_len((unsigned char)s[at]) : n - at;
        const double here = w->best[at];
        int single = 0;
        /* every piece that starts here, in one walk down the trie */
        int32_t node = 0;
        for (size_t len = 1; len <= n - at; len++) {
            const unsigned char b = (unsigned char)s[at + len - 1];
            int32_t c = m->trie[node].child;
            while (c >= 0 && m->trie[c].byte != b) c = m->trie[c].sibling;
            if (c < 0) break;
            node = c;
            const int32_t id = m->trie[node].id;
            if (id < 0) continue;
            offer(w, at + len, at, id, here + m->score[id]);
            single |= len == ch;
        }
        if (!single) {
            if (m->unk_id < 0) return se_fail(SOFTENT_E_FORMAT, "Unigram: a character needs the unk token, and the model has no unk_id");
            offer(w, at + ch, at, m->unk_id, here + m->unk_score);
        }
        at += ch;
    }
    /* back from the end: (start, end) of each piece, consecutive unks fused */
    w->pieces.n = 0;
    for (size_t end = n; end > 0;) {
        size_t start = (size_t)w->start[end];
        const int unk = w->id[end] == m->unk_id;
        while (unk && start > 0 && w->id[start] == m->unk_id) start = (size_t)w->start[start];
        if (se_ids_push(&w->pieces, (int32_t)end) || se_ids_push(&w->pieces, unk ? -1 - (int32_t)start : (int32_t)start)) return SOFTENT_E_NOMEM;
        end = start;
    }
    for (size_t k = w->pieces.n; k >= 2; k -= 2) {
        const int32_t end = w->pieces.v[k - 2], tag = w->pieces.v[k - 1];
        if (tag < 0) rc = piece_ids(m, s - 1 - tag, (size_t)(end - (-1 - tag)), out);  /* fused unks: looked up like any piece */
        else rc = se_ids_push(out, se_strmap_get(&m->vocab, s + tag, (size_t)(end - tag))) ? SOFTENT_E_NOMEM : 0;
        if (rc) return rc;
    }
    return 0;
}
