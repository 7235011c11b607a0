/* keytable.c - hash table of tuple keys (see keytable.h). */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "keytable.h"

static uint64_t hash_key(const int64_t *key, int arity)
{
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (int k = 0; k < arity; k++) {
        h ^= (uint64_t)key[k];
        h *= 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 29);
}

int se_keytable_init(se_keytable *t, int arity)
{
    memset(t, 0, sizeof *t);
    t->arity = arity;
    t->index_cap = 1024;
    t->index = malloc((size_t)t->index_cap * sizeof *t->index);
    if (!t->index) return se_fail(SOFTENT_E_NOMEM, "out of memory for a label table");
    memset(t->index, 0xff, (size_t)t->index_cap * sizeof *t->index);
    return SOFTENT_OK;
}

void se_keytable_free(se_keytable *t)
{
    free(t->keys);
    free(t->count);
    free(t->index);
    memset(t, 0, sizeof *t);
}

static int grow_index(se_keytable *t)
{
    int64_t cap = t->index_cap * 2;
    int32_t *index = malloc((size_t)cap * sizeof *index);
    if (!index) return se_fail(SOFTENT_E_NOMEM, "out of memory for a label table");
    memset(index, 0xff, (size_t)cap * sizeof *index);
    for (int64_t id = 0; id < t->n; id++) {
        uint64_t h = hash_key(t->keys + id * t->arity, t->arity) & (uint64_t)(cap - 1);
        while (index[h] >= 0) h = (h + 1) & (uint64_t)(cap - 1);
        index[h] = (int32_t)id;
    }
    free(t->index);
    t->index = index;
    t->index_cap = cap;
    return SOFTENT_OK;
}

static int grow_values(se_keytable *t)
{
    int64_t cap = t->cap ? t->cap * 2 : 1024;
    int64_t *keys = realloc(t->keys, (size_t)(cap * t->arity) * sizeof *keys);
    if (!keys) return se_fail(SOFTENT_E_NOMEM, "out of memory for label keys");
    t->keys = keys;
    int64_t *count = realloc(t->count, (size_t)cap * sizeof *count);
    if (!count) return se_fail(SOFTENT_E_NOMEM, "out of memory for label counts");
    t->count = count;
    t->cap = cap;
    return SOFTENT_OK;
}

int se_keytable_intern(se_keytable *t, const int64_t *key, int32_t *id)
{
    const int a = t->arity;
    uint64_t mask = (uint64_t)(t->index_cap - 1);
    uint64_t h = hash_key(key, a) & mask;
    for (;; h = (h + 1) & mask) {
        int32_t v = t->index[h];
        if (v < 0) break;
        if (memcmp(t->keys + (int64_t)v * a, key, (size_t)a * sizeof *key) == 0) {
            *id = v;
            return SOFTENT_OK;
        }
    }
    if (t->n >= INT32_MAX) return se_fail(SOFTENT_E_LIMIT, "more than 2^31 distinct label values");
    int rc;
    if (t->n == t->cap && (rc = grow_values(t))) return rc;
    memcpy(t->keys + t->n * a, key, (size_t)a * sizeof *key);
    t->count[t->n] = 0;
    t->index[h] = (int32_t)t->n;
    *id = (int32_t)t->n++;
    if (2 * t->n > t->index_cap && (rc = grow_index(t))) return rc;
    return SOFTENT_OK;
}

int64_t se_keytable_bytes(const se_keytable *t)
{
    return t->cap * (t->arity + 1) * 8 + t->index_cap * 4;
}
