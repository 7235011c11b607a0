/*
 * buf.h - growable arrays: se_grow doubles an array's capacity until it
 * holds what is needed, and se_buf is a growable byte string built on it.
 */
#ifndef SOFTENT_COMMON_BUF_H
#define SOFTENT_COMMON_BUF_H

#include <stddef.h>

/* *(void **)pp holds *cap elements of elem bytes; make it hold at least
 * need (doubling, from 16).  SOFTENT_E_NOMEM when that fails (the array is
 * left as it was) or when need * elem would overflow. */
int se_grow(void *pp, size_t *cap, size_t need, size_t elem);

/* A growable byte string (not NUL-terminated unless asked). */
typedef struct {
    char *p;
    size_t n, cap;
} se_buf;

int se_buf_reserve(se_buf *b, size_t extra);
int se_buf_append(se_buf *b, const void *s, size_t n);
void se_buf_free(se_buf *b);

#endif
