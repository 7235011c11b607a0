/*
 * sgemm_rate.c - the machine's sgemm rate on softent's product shape:
 * rows [M, d] times reference points [m, d]^T, all threads.
 * Usage: sgemm_rate D M  ->  prints "GFLOPS <rate>"
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc != 3) { fprintf(stderr, "usage: sgemm_rate D M\n"); return 2; }
    const int d = atoi(argv[1]), m = atoi(argv[2]), rows = 16384;
    float *a = malloc(sizeof(float) * (size_t)rows * d), *w = malloc(sizeof(float) * (size_t)m * d);
    float *c = malloc(sizeof(float) * (size_t)rows * m);
    if (!a || !w || !c) return 1;
    for (size_t i = 0; i < (size_t)rows * d; i++) a[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < (size_t)m * d; i++) w[i] = (float)((i * 40503u) % 1000) / 1000.0f - 0.5f;
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, m, d, 1.0f, a, d, w, d, 0.0f, c, m);
        double rate = 2.0 * rows * m * d / (now() - t0) / 1e9;
        if (rate > best) best = rate;
    }
    printf("GFLOPS %.3f\n", best);
    free(a); free(w); free(c);
    return 0;
}
