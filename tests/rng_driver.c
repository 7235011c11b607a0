/*
 * rng_driver SEED N - write N standard normal draws, seeded as
 * numpy.random.default_rng(SEED), to stdout as raw little-endian float64.
 * Used by tests/test_rng.py to compare against NumPy bit for bit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"

static int parse_u64(const char *s, uint64_t *out) {
    char *end;
    if (*s < '0' || *s > '9') /* strtoull would accept "-1" and wrap it */
        return 0;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0')
        return 0;
    *out = (uint64_t)v;
    return 1;
}

int main(int argc, char **argv) {
    uint64_t seed, n;
    if (argc != 3 || !parse_u64(argv[1], &seed) || !parse_u64(argv[2], &n)) {
        fprintf(stderr, "usage: %s SEED N   (SEED, N: unsigned 64-bit decimal)\n", argv[0]);
        return 2;
    }

    se_pcg64 rng;
    se_pcg64_seed_numpy(&rng, seed);

    unsigned char buf[8 * 4096];
    size_t used = 0;
    for (uint64_t i = 0; i < n; i++) {
        double x = se_standard_normal(&rng);
        uint64_t bits;
        memcpy(&bits, &x, sizeof bits);
        for (int b = 0; b < 8; b++) /* little-endian whatever the host is */
            buf[used++] = (unsigned char)(bits >> (8 * b));
        if (used == sizeof buf || i + 1 == n) {
            if (fwrite(buf, 1, used, stdout) != used) {
                perror("rng_driver: write");
                return 1;
            }
            used = 0;
        }
    }
    if (fflush(stdout) != 0) {
        perror("rng_driver: write");
        return 1;
    }
    return 0;
}
