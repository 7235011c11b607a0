/* fuzz_state.c - an accumulator state file: loaded, summarised, every label
 * set measured, merged with itself (as `softent merge s s` would); and the
 * same bytes as a checkpoint, resumed into a fresh accumulator (the file is
 * read whole before it is compared with the accumulator). */
#include "fuzz.h"
#include "softent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("x.state", data, size);
    softent_acc *acc, *again, *fresh;
    softent_params p = softent_default_params();
    p.m = 8;
    p.calibration = SOFTENT_CAL_FIXED; /* no solve per input */
    p.eps = 0.1;
    if (softent_acc_new(&fresh, &p, 8, NULL) == SOFTENT_OK) {
        softent_acc_resume(fresh, path);
        softent_acc_free(fresh);
    }
    if (softent_acc_load(&acc, path) != SOFTENT_OK) return 0;
    softent_summary sum;
    if (softent_acc_summary(acc, &sum) == SOFTENT_OK)
        for (int k = 0; k < sum.n_labelsets; k++) {
            softent_labelset_measures m;
            softent_acc_labelset(acc, k, &m);
        }
    if (softent_acc_load(&again, path) == SOFTENT_OK) {
        softent_acc_merge(acc, again);
        softent_acc_free(again);
    }
    softent_acc_free(acc);
    return 0;
}
