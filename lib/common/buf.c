/* buf.c - growable arrays (see buf.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"

void softent_free(void *p) { free(p); }

int se_grow(void *pp, size_t *cap, size_t need, size_t elem)
{
    void **p = pp;
    if (need <= *cap) return SOFTENT_OK;
    size_t cap2 = *cap ? *cap : 16;
    while (cap2 < need && cap2 <= SIZE_MAX / 2) cap2 *= 2;
    if (cap2 < need || cap2 > SIZE_MAX / elem) return se_fail(SOFTENT_E_NOMEM, "out of memory (an array of %zu elements)", need);
    void *q = realloc(*p, cap2 * elem);
    if (!q) return se_fail(SOFTENT_E_NOMEM, "out of memory (%zu bytes)", cap2 * elem);
    *p = q;
    *cap = cap2;
    return SOFTENT_OK;
}

int se_buf_reserve(se_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->n) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    return se_grow(&b->p, &b->cap, b->n + extra, 1);
}

int se_buf_append(se_buf *b, const void *s, size_t n)
{
    if (se_buf_reserve(b, n)) return SOFTENT_E_NOMEM;
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    return SOFTENT_OK;
}

void se_buf_free(se_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
