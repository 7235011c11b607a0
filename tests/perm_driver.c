/* perm_driver N SEED R [COUNT]: prints perm_r(i) for i in [0, N), one per
 * line, for COUNT (default 1) consecutive permutations r, r+1, ... */
#include <stdio.h>
#include <stdlib.h>

#include "estimator/permute.h"

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) { fprintf(stderr, "usage: perm_driver N SEED R [COUNT]\n"); return 2; }
    uint64_t n = strtoull(argv[1], NULL, 10), seed = strtoull(argv[2], NULL, 10), r = strtoull(argv[3], NULL, 10);
    uint64_t count = argc == 5 ? strtoull(argv[4], NULL, 10) : 1;
    for (uint64_t k = 0; k < count; k++) {
        se_permutation p;
        se_permutation_init(&p, n, seed, r + k);
        for (uint64_t i = 0; i < n; i++) printf("%llu\n", (unsigned long long)se_permutation_apply(&p, i));
    }
    return 0;
}
