/* fuzz_npy.c - .npy files as embeddings (every row read) and as labels. */
#include "fuzz.h"
#include "softent_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("x.npy", data, size);
    softent_matrix *mat;
    if (softent_matrix_open(&mat, path, NULL) == SOFTENT_OK) {
        const int64_t rows = softent_matrix_rows(mat), cols = softent_matrix_cols(mat);
        float *buf = malloc((size_t)cols * sizeof *buf + 1);
        for (int64_t r = 0; buf && r < rows; r++)
            if (softent_matrix_read(mat, r, 1, buf)) break;
        free(buf);
        softent_matrix_close(mat);
    }
    int64_t *keys, n;
    int arity;
    if (softent_labels_load(path, NULL, &keys, &n, &arity) == SOFTENT_OK) free(keys);
    return 0;
}
