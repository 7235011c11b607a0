/*
 * test_keytable.c - the label-key table (lib/estimator/keytable.c) against
 * a naive reference: a list of the distinct keys in first-seen order,
 * searched linearly.  Ids must be the first-seen positions, for every
 * arity, through many growths of the index.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "estimator/keytable.h"

/* xorshift64*: the test's own draws, independent of the code under test */
static uint64_t draw(uint64_t *s)
{
    *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

/* Keys from a small alphabet, so that most repeat. */
static void ids_are_first_seen_positions(void)
{
    for (int arity = 1; arity <= 4; arity++) {
        se_keytable t;
        CHECK(se_keytable_init(&t, arity) == 0, "init");
        enum { N = 20000, MAX_DISTINCT = 20000 };
        int64_t *ref = malloc((size_t)MAX_DISTINCT * arity * sizeof *ref);
        int64_t n_ref = 0;
        uint64_t s = 88172645463325252ull + (uint64_t)arity;
        for (int i = 0; i < N; i++) {
            int64_t key[4];
            for (int k = 0; k < arity; k++) key[k] = (int64_t)(draw(&s) % 7) - 3; /* negatives too */
            int64_t want = -1;
            for (int64_t j = 0; j < n_ref && want < 0; j++)
                if (!memcmp(ref + j * arity, key, (size_t)arity * sizeof *key)) want = j;
            if (want < 0) {
                memcpy(ref + n_ref * arity, key, (size_t)arity * sizeof *key);
                want = n_ref++;
            }
            int32_t id;
            CHECK(se_keytable_intern(&t, key, &id) == 0, "intern");
            CHECK(id == want, "arity %d, row %d: id %d, reference %lld", arity, i, id, (long long)want);
        }
        CHECK(t.n == n_ref, "arity %d: %lld distinct, reference %lld", arity, (long long)t.n, (long long)n_ref);
        for (int64_t j = 0; j < n_ref; j++)
            CHECK(!memcmp(t.keys + j * arity, ref + j * arity, (size_t)arity * 8), "arity %d: key %lld differs", arity, (long long)j);
        free(ref);
        se_keytable_free(&t);
    }
}

/* Many distinct keys: the index grows from 1024 slots past 2^18. */
static void survives_growth(void)
{
    se_keytable t;
    CHECK(se_keytable_init(&t, 2) == 0, "init");
    const int64_t n = 300000;
    for (int pass = 0; pass < 2; pass++)
        for (int64_t i = 0; i < n; i++) {
            int64_t key[2] = {i * 1000003 % n, -i};
            int32_t id;
            CHECK(se_keytable_intern(&t, key, &id) == 0, "intern");
            CHECK(id == i, "pass %d: key %lld got id %d", pass, (long long)i, id);
        }
    CHECK(t.n == n, "%lld distinct of %lld", (long long)t.n, (long long)n);
    CHECK(t.index_cap >= 2 * n && (t.index_cap & (t.index_cap - 1)) == 0, "index of %lld slots", (long long)t.index_cap);
    se_keytable_free(&t);
}

int main(void)
{
    RUN(ids_are_first_seen_positions);
    RUN(survives_growth);
    return CHECKS_DONE();
}
