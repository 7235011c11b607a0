/*
 * fuzz.h - what every libFuzzer harness here shares: the input written to
 * a file of the harness's own (softent's parsers read paths, as the CLI
 * does), and a cap on what one input may make the library allocate.
 *
 * A harness is one parser: LLVMFuzzerTestOneInput writes the bytes with
 * fuzz_write, calls the parser and everything a caller would do with its
 * result, and frees it.  A parser must return an error or a result; a
 * crash, a sanitizer report, a leak or an allocation over the cap (run
 * with -malloc_limit_mb, tests/test_fuzz.py) is a finding.
 */
#ifndef SOFTENT_FUZZ_H
#define SOFTENT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* A path unique to this process, "/tmp/softent-fuzz-PID/NAME", its
 * directory made once; NAME's suffix picks the parser's format. */
static inline const char *fuzz_path(const char *name)
{
    static char dir[64], path[256];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/softent-fuzz-%d", (int)getpid());
        mkdir(dir, 0700);
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* data [size] as the file NAME; its path. */
static inline const char *fuzz_write(const char *name, const uint8_t *data, size_t size)
{
    const char *path = fuzz_path(name);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    return path;
}

#ifdef SOFTENT_IO_H
/* Open path as an embedding matrix (tensor as softent_matrix_open takes
 * it) and read every row, as estimate would. */
static inline void fuzz_read_matrix(const char *path, const char *tensor)
{
    softent_matrix *mat;
    if (softent_matrix_open(&mat, path, tensor) != SOFTENT_OK) return;
    const int64_t rows = softent_matrix_rows(mat), cols = softent_matrix_cols(mat);
    float *buf = malloc((size_t)cols * sizeof *buf + 1);
    for (int64_t r = 0; buf && r < rows; r++)
        if (softent_matrix_read(mat, r, 1, buf)) break;
    free(buf);
    softent_matrix_close(mat);
}
#endif

#endif
