/*
 * train_driver COMMAND key=value... - the trainer's library calls, for
 * tests/test_train.py and bench/bench_train.py.
 *
 * Model and run settings (defaults in brackets, else the library's):
 *   layers= d= heads= context= vocab= batch= lr= warmup= min_lr= wd= clip=
 *   beta1= beta2= eps= seed= steps= [the k below]  threads= [all]
 *   weights=FILE   start from these weights (raw float32, the tensors of
 *                  softent_gpt2_trainer_tensor in order) instead of the seed's
 *
 * train_driver grads tokens=FILE out=DIR
 *   tokens: raw int32 [B, T+1] (inputs are the first T of each row, targets
 *   the last T).  Writes DIR/loss.npy [1, 1], DIR/grads.npy [1, n] (every
 *   gradient, flattened in tensor order) and DIR/fd.npy [tensors, 3]: for
 *   each tensor, |g| and the central difference of the loss along g / |g|
 *   with step h (third column), the loss computed by the trainer itself.
 *
 * train_driver train tokens=FILE k=K out=DIR
 *   tokens: raw int32 [K, B, T+1], one batch a step.  Writes DIR/init and
 *   DIR/final (Hugging Face checkpoints before and after), DIR/losses.npy
 *   [K, 2] (loss, gradient norm of each step), DIR/lr.npy [K, 1] and
 *   DIR/logits.npy [B*T, V] (the final model on the first batch's inputs).
 *
 * train_driver time tokens=FILE k=K
 *   K steps cycling over the batches of FILE ([n, B, T+1]); prints
 *   "steps_per_s X" (the first step, which touches fresh memory, untimed).
 *
 * Errors: one line on stderr, exit 1 (2 for usage).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "softent_io.h"
#include "softent_train.h"

#ifdef _OPENMP
#include <omp.h>
#endif

void openblas_set_num_threads(int num_threads);

static const char *arg(int argc, char **argv, const char *key, const char *dflt)
{
    size_t n = strlen(key);
    for (int i = 2; i < argc; i++)
        if (!strncmp(argv[i], key, n) && argv[i][n] == '=') return argv[i] + n + 1;
    return dflt;
}

static int fail(const char *what)
{
    fprintf(stderr, "train_driver: %s: %s\n", what, softent_last_error());
    return 1;
}

/* A whole raw file of `size`-byte items; NULL on error. */
static void *read_raw(const char *path, size_t size, int64_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "train_driver: %s: %s\n", path, strerror(errno)); return NULL; }
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *data = malloc((size_t)bytes + 1);
    if (!data || fread(data, 1, (size_t)bytes, f) != (size_t)bytes) {
        fprintf(stderr, "train_driver: %s: read failed\n", path);
        free(data);
        data = NULL;
    }
    fclose(f);
    *n = bytes / (long)size;
    return data;
}

static char *path_in(const char *dir, const char *name)
{
    static char buf[4][4096];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* Split rows of T+1 tokens into inputs and targets [B, T]. */
static void split(const int32_t *rows, int B, int T, int32_t *inputs, int32_t *targets)
{
    for (int b = 0; b < B; b++) {
        memcpy(inputs + (int64_t)b * T, rows + (int64_t)b * (T + 1), (size_t)T * sizeof *rows);
        memcpy(targets + (int64_t)b * T, rows + (int64_t)b * (T + 1) + 1, (size_t)T * sizeof *rows);
    }
}

static int load_weights(softent_gpt2_trainer *t, const char *path)
{
    int64_t n;
    float *w = read_raw(path, sizeof(float), &n), *p = w;
    if (!w) return 1;
    int64_t need = 0;
    for (int i = 0; i < softent_gpt2_trainer_n_tensors(t); i++) {
        softent_train_tensor x;
        softent_gpt2_trainer_tensor(t, i, &x);
        need += x.numel;
        if (need <= n) memcpy(x.data, p, (size_t)x.numel * sizeof(float));
        p += x.numel;
    }
    free(w);
    if (need != n) {
        fprintf(stderr, "train_driver: %s: %lld floats, the model has %lld\n", path, (long long)n, (long long)need);
        return 1;
    }
    return 0;
}

static int cmd_grads(softent_gpt2_trainer *t, const int32_t *tok, int64_t n_tok, const char *out)
{
    const softent_train_params *p = softent_gpt2_trainer_params(t);
    const int B = p->batch, T = p->context;
    if (n_tok != (int64_t)B * (T + 1)) { fprintf(stderr, "train_driver: tokens: need [B, T+1]\n"); return 1; }
    int32_t *in = malloc(sizeof(int32_t) * B * T), *tg = malloc(sizeof(int32_t) * B * T);
    split(tok, B, T, in, tg);
    float loss;
    if (softent_gpt2_trainer_gradients(t, in, tg, B, &loss)) return fail("gradients");
    const int nt = softent_gpt2_trainer_n_tensors(t);
    int64_t total = 0;
    for (int i = 0; i < nt; i++) {
        softent_train_tensor x;
        softent_gpt2_trainer_tensor(t, i, &x);
        total += x.numel;
    }
    float *grads = malloc(sizeof(float) * total), *fd = malloc(sizeof(float) * 3 * nt);
    int64_t off = 0;
    for (int i = 0; i < nt; i++) {
        softent_train_tensor x;
        softent_gpt2_trainer_tensor(t, i, &x);
        memcpy(grads + off, x.grad, (size_t)x.numel * sizeof(float));
        off += x.numel;
    }
    /* the directional derivative along u = g / |g| is |g|; compare it with
     * (L(w + h u) - L(w - h u)) / 2h of the trainer's own float32 loss */
    off = 0;
    for (int i = 0; i < nt; i++) {
        softent_train_tensor x;
        softent_gpt2_trainer_tensor(t, i, &x);
        const float *g = grads + off;
        double norm = 0;
        for (int64_t j = 0; j < x.numel; j++) norm += (double)g[j] * g[j];
        norm = sqrt(norm);
        const double h = 1e-2;
        float *saved = malloc(sizeof(float) * x.numel);
        memcpy(saved, x.data, sizeof(float) * x.numel);
        double lp = 0, lm = 0;
        if (norm > 0) {
            for (int64_t j = 0; j < x.numel; j++) x.data[j] = (float)(saved[j] + h * g[j] / norm);
            softent_gpt2_trainer_eval(t, in, tg, B, T, &lp);
            for (int64_t j = 0; j < x.numel; j++) x.data[j] = (float)(saved[j] - h * g[j] / norm);
            softent_gpt2_trainer_eval(t, in, tg, B, T, &lm);
            memcpy(x.data, saved, sizeof(float) * x.numel);
        }
        free(saved);
        fd[3 * i] = (float)norm;
        fd[3 * i + 1] = (float)((lp - lm) / (2 * h));
        fd[3 * i + 2] = (float)h;
        off += x.numel;
    }
    int rc = softent_npy_save_f32(path_in(out, "loss.npy"), &loss, 1, 1) ||
             softent_npy_save_f32(path_in(out, "grads.npy"), grads, 1, total) ||
             softent_npy_save_f32(path_in(out, "fd.npy"), fd, nt, 3);
    free(grads);
    free(fd);
    free(in);
    free(tg);
    return rc ? fail(out) : 0;
}

static int save_checkpoint(softent_gpt2_trainer *t, const char *dir)
{
    mkdir(dir, 0777);
    return softent_gpt2_trainer_save_hf(t, dir) ? fail(dir) : 0;
}

static int cmd_train(softent_gpt2_trainer *t, const int32_t *tok, int64_t n_tok, int K, const char *out)
{
    const softent_train_params *p = softent_gpt2_trainer_params(t);
    const int B = p->batch, T = p->context, V = p->vocab_size;
    if (n_tok != (int64_t)K * B * (T + 1)) { fprintf(stderr, "train_driver: tokens: need [K, B, T+1]\n"); return 1; }
    if (save_checkpoint(t, path_in(out, "init"))) return 1;
    int32_t *in = malloc(sizeof(int32_t) * B * T), *tg = malloc(sizeof(int32_t) * B * T);
    float *losses = malloc(sizeof(float) * 2 * K), *lr = malloc(sizeof(float) * K);
    float *logits = malloc(sizeof(float) * B * T * V);
    for (int k = 0; k < K; k++) {
        split(tok + (int64_t)k * B * (T + 1), B, T, in, tg);
        lr[k] = (float)softent_train_lr(p, k + 1);
        if (softent_gpt2_trainer_step(t, in, tg, &losses[2 * k], &losses[2 * k + 1])) return fail("step");
    }
    split(tok, B, T, in, tg);
    if (softent_gpt2_trainer_logits(t, in, B, T, logits)) return fail("logits");
    int rc = save_checkpoint(t, path_in(out, "final"));
    if (!rc && (softent_npy_save_f32(path_in(out, "losses.npy"), losses, K, 2) ||
                softent_npy_save_f32(path_in(out, "lr.npy"), lr, K, 1) ||
                softent_npy_save_f32(path_in(out, "logits.npy"), logits, (int64_t)B * T, V)))
        rc = fail(out);
    free(in);
    free(tg);
    free(losses);
    free(lr);
    free(logits);
    return rc;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmd_time(softent_gpt2_trainer *t, const int32_t *tok, int64_t n_tok, int K)
{
    const softent_train_params *p = softent_gpt2_trainer_params(t);
    const int B = p->batch, T = p->context;
    const int64_t per = (int64_t)B * (T + 1), n_batches = n_tok / per;
    if (n_batches < 1) { fprintf(stderr, "train_driver: tokens: need [n, B, T+1]\n"); return 1; }
    int32_t *in = malloc(sizeof(int32_t) * B * T), *tg = malloc(sizeof(int32_t) * B * T);
    double t0 = 0;
    for (int k = 0; k <= K; k++) {
        if (k == 1) t0 = now();
        float loss, norm;
        split(tok + (k % n_batches) * per, B, T, in, tg);
        if (softent_gpt2_trainer_step(t, in, tg, &loss, &norm)) return fail("step");
    }
    printf("steps_per_s %.4f\n", K / (now() - t0));
    free(in);
    free(tg);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: train_driver grads|train|time key=value...\n");
        return 2;
    }
    const char *cmd = argv[1];
    softent_train_params p = softent_train_default_params();
    p.n_layer = atoi(arg(argc, argv, "layers", "2"));
    p.d_model = atoi(arg(argc, argv, "d", "16"));
    p.n_head = atoi(arg(argc, argv, "heads", "2"));
    p.context = atoi(arg(argc, argv, "context", "8"));
    p.vocab_size = atoi(arg(argc, argv, "vocab", "11"));
    p.batch = atoi(arg(argc, argv, "batch", "2"));
    p.lr = atof(arg(argc, argv, "lr", "1e-3"));
    p.warmup_frac = atof(arg(argc, argv, "warmup", "0.05"));
    p.min_lr_frac = atof(arg(argc, argv, "min_lr", "0.1"));
    p.weight_decay = atof(arg(argc, argv, "wd", "0.1"));
    p.grad_clip = atof(arg(argc, argv, "clip", "1.0"));
    p.beta1 = atof(arg(argc, argv, "beta1", "0.9"));
    p.beta2 = atof(arg(argc, argv, "beta2", "0.95"));
    p.adam_eps = atof(arg(argc, argv, "eps", "1e-8"));
    p.seed = strtoull(arg(argc, argv, "seed", "0"), NULL, 10);
    const int K = atoi(arg(argc, argv, "k", "1"));
    p.steps = atoll(arg(argc, argv, "steps", arg(argc, argv, "k", "1")));
    const int threads = atoi(arg(argc, argv, "threads", "0"));
    if (threads > 0) {
#ifdef _OPENMP
        omp_set_num_threads(threads);
#endif
        openblas_set_num_threads(threads);
    }
    const char *tokens = arg(argc, argv, "tokens", NULL), *out = arg(argc, argv, "out", ".");
    const char *weights = arg(argc, argv, "weights", NULL);
    if (!tokens) { fprintf(stderr, "train_driver: give tokens=FILE\n"); return 2; }

    softent_gpt2_trainer *t;
    if (softent_gpt2_trainer_new(&t, &p)) return fail("trainer");
    if (weights && load_weights(t, weights)) return 1;
    int64_t n_tok;
    int32_t *tok = read_raw(tokens, sizeof(int32_t), &n_tok);
    if (!tok) return 1;
    mkdir(out, 0777);
    int rc;
    if (!strcmp(cmd, "grads")) rc = cmd_grads(t, tok, n_tok, out);
    else if (!strcmp(cmd, "train")) rc = cmd_train(t, tok, n_tok, K, out);
    else if (!strcmp(cmd, "time")) rc = cmd_time(t, tok, n_tok, K);
    else { fprintf(stderr, "train_driver: unknown command '%s'\n", cmd); rc = 2; }
    free(tok);
    softent_gpt2_trainer_free(t);
    return rc;
}
