/*
 * matrix.h - a 2-D array stored row-major at an offset in a file; the
 * format readers (npy.c, safetensors.c) find the offset, matrix.c reads and
 * converts rows.
 */
#ifndef SOFTENT_MATRIX_H
#define SOFTENT_MATRIX_H

#include <stdio.h>

#include "dtype.h"
#include "softent_io.h"

struct softent_matrix {
    FILE *f;
    char *path;
    int64_t offset;     /* of element [0, 0] */
    int64_t rows, cols;
    softent_dtype dtype;
    float *mem;         /* [rows, cols] a text matrix, parsed whole; else NULL */
    void *map;          /* the whole file mapped, for views; else NULL */
    size_t map_size;
};

/* Open `path`, check that offset + rows*cols elements fit in it. */
int se_matrix_make(softent_matrix **out, const char *path, FILE *f, int64_t offset,
                   int64_t rows, int64_t cols, softent_dtype dtype);

/* Parse a .npy header: dtype, shape (ndim <= 2 reported; 1-D gives cols 0)
 * and the data offset.  f is positioned anywhere.  With str_chars, a
 * fixed-width unicode dtype ('<U12': 12 UCS-4 code points an element) is
 * accepted too: *dtype SOFTENT_UNKNOWN and *str_chars 12 (else 0). */
int se_npy_header(FILE *f, const char *path, softent_dtype *dtype, int *ndim,
                  int64_t shape[2], int64_t *offset, int64_t *str_chars);
/* A CSV/TSV/whitespace text matrix, one row a line, parsed into memory. */
int se_text_matrix(softent_matrix **out, const char *path, FILE *f);
int se_safetensors_find(FILE *f, const char *path, const char *tensor, softent_dtype *dtype,
                        int64_t shape[2], int64_t *offset);

#endif
