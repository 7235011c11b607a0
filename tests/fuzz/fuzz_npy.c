/* fuzz_npy.c - .npy files as embeddings (every row read) and as labels. */
#include "softent_io.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("x.npy", data, size);
    fuzz_read_matrix(path, NULL);
    int64_t *keys, n;
    int arity;
    if (softent_labels_load(path, NULL, &keys, &n, &arity) == SOFTENT_OK) free(keys);
    return 0;
}
