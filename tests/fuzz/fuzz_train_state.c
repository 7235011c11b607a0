/* fuzz_train_state.c - a training state (train_state.bin, `train --resume`). */
#include "fuzz.h"
#include "softent_train.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("train_state.bin", data, size);
    softent_gpt2_trainer *t;
    softent_train_resume run;
    if (softent_gpt2_trainer_load_state(&t, &run, path) == SOFTENT_OK) softent_gpt2_trainer_free(t);
    return 0;
}
