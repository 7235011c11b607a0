/* fuzz_csv.c - a CSV/TSV label file, by its default column and by name. */
#include "fuzz.h"
#include "softent_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const columns[] = {NULL, "1", "label", "a,b"};
    static const char *const names[] = {"l.csv", "l.tsv"};
    for (int f = 0; f < 2; f++) {
        const char *path = fuzz_write(names[f], data, size);
        for (size_t k = 0; k < sizeof columns / sizeof *columns; k++) {
            int64_t *keys, n;
            int arity;
            if (softent_labels_load(path, columns[k], &keys, &n, &arity) == SOFTENT_OK) free(keys);
        }
    }
    return 0;
}
