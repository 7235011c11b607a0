/* fuzz_safetensors.c - a .safetensors file as embeddings: every tensor a
 * caller could name is opened and read (the first, unless the input ends
 * in a name after a NUL byte). */
#include <string.h>

#include "fuzz.h"
#include "softent_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("x.safetensors", data, size);
    static const char *const names[] = {NULL, "z", "embeddings", "hidden"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        softent_matrix *mat;
        if (softent_matrix_open(&mat, path, names[k]) != SOFTENT_OK) continue;
        const int64_t rows = softent_matrix_rows(mat), cols = softent_matrix_cols(mat);
        float *buf = malloc((size_t)cols * sizeof *buf + 1);
        for (int64_t r = 0; buf && r < rows; r++)
            if (softent_matrix_read(mat, r, 1, buf)) break;
        free(buf);
        softent_matrix_close(mat);
    }
    return 0;
}
