/*
 * keytable.h - distinct label keys and their counts.
 *
 * A key is a tuple of 1..4 int64 (a token, a bigram, ...).  Values get
 * dense ids in first-seen order; the table keeps each value's key and
 * count.  Open addressing with linear probing over an index of ids.
 */
#ifndef SOFTENT_KEYTABLE_H
#define SOFTENT_KEYTABLE_H

#include <stdint.h>

typedef struct {
    int arity;
    int64_t n;        /* distinct values */
    int64_t cap;      /* capacity of keys/count, in values */
    int64_t *keys;    /* [cap, arity] */
    int64_t *count;   /* [cap] */
    int32_t *index;   /* [index_cap] value id, or -1 when empty */
    int64_t index_cap;/* a power of two, at least 2n */
} se_keytable;

int se_keytable_init(se_keytable *t, int arity);
void se_keytable_free(se_keytable *t);
/* The id of `key` (arity int64), inserting it with count 0 if new. */
int se_keytable_intern(se_keytable *t, const int64_t *key, int32_t *id);
/* Bytes held. */
int64_t se_keytable_bytes(const se_keytable *t);

#endif
