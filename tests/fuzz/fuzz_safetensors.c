/* fuzz_safetensors.c - a .safetensors file as embeddings: the default
 * tensor and three named ones opened, every row read. */
#include "softent_io.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("x.safetensors", data, size);
    static const char *const names[] = {NULL, "z", "embeddings", "hidden"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) fuzz_read_matrix(path, names[k]);
    return 0;
}
