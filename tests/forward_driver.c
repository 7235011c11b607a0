/*
 * forward_driver MODEL_DIR TOKENS_FILE OUT_PREFIX
 *   Runs softent_model_forward on TOKENS_FILE (raw little-endian int32 token
 *   ids, one sequence) and writes OUT_PREFIX.hidden.npy [(L+1)*n, d] (the
 *   L+1 hidden states stacked, transformers' output_hidden_states order)
 *   and OUT_PREFIX.logits.npy [n, vocab].  Used by tests/test_forward.py.
 *
 * forward_driver --stop LAYER MODEL_DIR TOKENS_FILE OUT_PREFIX
 *   The hidden-state callback returns 42 at LAYER; prints the status the
 *   pass returned and how many callbacks ran ("status 42 calls 2 last 1").
 *
 * forward_driver --time DOC_LEN [--no-logits] MODEL_DIR TOKENS_FILE -
 *   Splits the tokens into documents of DOC_LEN, runs each forward (hidden
 *   states handed to a callback that reads them, logits computed unless
 *   --no-logits, as analyze runs it), writes nothing and prints the
 *   throughput.  Used by bench/bench_forward.py and bench_prefill.py.
 *
 * --compute f32|bf16 (before the other options) sets the products'
 * arithmetic (softent_model_set_compute); without it the load's choice.
 *
 * Errors: one line on stderr, exit 1 (2 for usage).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "softent_io.h"
#include "softent_model.h"

typedef struct {
    float *hidden;  /* [(L+1), n, d] */
    double checksum;
    int stop;       /* layer whose callback returns 42; -1: none */
    int calls, last;
} sink;

static int keep_hidden(int layer, const float *h, int64_t n, int64_t d, void *user)
{
    sink *s = user;
    memcpy(s->hidden + (size_t)layer * (size_t)(n * d), h, (size_t)(n * d) * sizeof *h);
    s->calls++;
    s->last = layer;
    return layer == s->stop ? 42 : 0;
}

/* What a consumer of the states at least does: read them. */
static int touch_hidden(int layer, const float *h, int64_t n, int64_t d, void *user)
{
    (void)layer;
    sink *s = user;
    s->checksum += h[0] + h[n * d - 1];
    return 0;
}

static int read_tokens(const char *path, int32_t **tokens, int64_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "forward_driver: %s: %s\n", path, strerror(errno)); return 0; }
    size_t cap = 1 << 12, len = 0;
    int32_t *t = malloc(cap * sizeof *t);
    while (t) {
        len += fread(t + len, sizeof *t, cap - len, f);
        if (len < cap) break;
        int32_t *grown = realloc(t, 2 * cap * sizeof *t);
        if (!grown) { free(t); t = NULL; break; }
        t = grown, cap *= 2;
    }
    fclose(f);
    if (!t) { fprintf(stderr, "forward_driver: out of memory\n"); return 0; }
    *tokens = t;
    *n = (int64_t)len;
    return 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* Peak resident memory of this process (VmHWM, which counts the mapped
 * weight pages read), in MB; -1 where /proc is not there. */
static double peak_rss_mb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = strtod(line + 6, NULL);
    if (f) fclose(f);
    return kb < 0 ? -1 : kb / 1024;
}

static int fail(const char *what)
{
    fprintf(stderr, "forward_driver: %s\n", what);
    return 1;
}

int main(int argc, char **argv)
{
    long doc_len = 0, stop = -1;
    int want_logits = 1;
    const char *compute = NULL;
    if (argc > 2 && !strcmp(argv[1], "--compute")) {
        compute = argv[2];
        argv += 2, argc -= 2;
    }
    for (;;) {
        if (argc > 2 && (!strcmp(argv[1], "--time") || !strcmp(argv[1], "--stop"))) {
            *(!strcmp(argv[1], "--time") ? &doc_len : &stop) = strtol(argv[2], NULL, 10);
            argv += 2, argc -= 2;
        } else if (argc > 1 && !strcmp(argv[1], "--no-logits")) {
            want_logits = 0;
            argv++, argc--;
        } else {
            break;
        }
    }
    if (argc != 4 || doc_len < 0) {
        fprintf(stderr, "usage: forward_driver [--compute f32|bf16] [--time DOC_LEN [--no-logits] | --stop LAYER] MODEL_DIR TOKENS_FILE OUT_PREFIX\n");
        return 2;
    }
    const char *dir = argv[1], *tok_path = argv[2], *prefix = argv[3];

    double t0 = now();
    softent_model *model;
    if (softent_model_load(&model, dir)) return fail(softent_last_error());
    if (compute && softent_model_set_compute(model, !strcmp(compute, "bf16") ? SOFTENT_COMPUTE_BF16 : SOFTENT_COMPUTE_F32)) {
        softent_model_free(model);
        return fail(softent_last_error());
    }
    double t_load = now() - t0;
    softent_model_config cfg;
    softent_model_get_config(model, &cfg);

    int32_t *tokens;
    int64_t n;
    if (!read_tokens(tok_path, &tokens, &n)) { softent_model_free(model); return 1; }
    int64_t chunk = doc_len > 0 ? doc_len : n;
    float *logits = malloc((size_t)(chunk > 0 ? chunk : 1) * (size_t)cfg.vocab_size * sizeof *logits);
    sink s = {.stop = (int)stop, .last = -1};
    if (!doc_len) s.hidden = malloc((size_t)(cfg.n_layers + 1) * (size_t)(n > 0 ? n : 1) * (size_t)cfg.d_model * sizeof(float));
    size_t path_len = strlen(prefix) + 16;
    char *path = malloc(path_len);
    int rc = 0;
    if (!logits || !path || (!doc_len && !s.hidden)) {
        rc = fail("out of memory");
    } else if (doc_len) {
        t0 = now();
        int64_t docs = 0;
        for (int64_t i = 0; i < n && !rc; i += chunk, docs++) {
            int64_t len = n - i < chunk ? n - i : chunk;
            if (softent_model_forward(model, tokens + i, len, touch_hidden, &s, want_logits ? logits : NULL))
                rc = fail(softent_last_error());
        }
        double secs = now() - t0;
        if (!rc)
            printf("load_s %.3f docs %lld tokens %lld seconds %.3f tokens_per_s %.1f peak_rss_mb %.1f checksum %g\n",
                   t_load, (long long)docs, (long long)n, secs, n / secs, peak_rss_mb(), s.checksum);
    } else {
        int status = softent_model_forward(model, tokens, n, keep_hidden, &s, logits);
        if (stop >= 0) {  /* the callback's status comes back, and no later layer ran */
            printf("status %d calls %d last %d\n", status, s.calls, s.last);
        } else if (status) {
            rc = fail(softent_last_error());
        } else {
            snprintf(path, path_len, "%s.hidden.npy", prefix);
            if (softent_npy_save_f32(path, s.hidden, (cfg.n_layers + 1) * n, cfg.d_model)) rc = fail(softent_last_error());
            snprintf(path, path_len, "%s.logits.npy", prefix);
            if (!rc && softent_npy_save_f32(path, logits, n, cfg.vocab_size)) rc = fail(softent_last_error());
        }
    }
    free(path);
    free(s.hidden);
    free(logits);
    free(tokens);
    softent_model_free(model);
    return rc;
}
