/* fuzz_config.c - a model directory's config.json. */
#include <string.h>

#include "fuzz.h"
#include "model/model_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write("config.json", data, size);
    char dir[256];
    snprintf(dir, sizeof dir, "%s", fuzz_path("config.json"));
    *strrchr(dir, '/') = 0;
    se_model_config cfg;
    if (se_model_config_load(&cfg, dir) == 0) se_model_config_free(&cfg);
    return 0;
}
