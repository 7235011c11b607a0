/* train.c - `softent train`: a small GPT-2 trained on a text corpus, checkpointed as Hugging Face directories. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "common/clock.h"
#include "common/buf.h"
#include "common/fs.h"
#include "softent_corpus.h"
#include "softent_io.h"
#include "softent_tokenizer.h"
#include "softent_train.h"

static const char USAGE[] =
    "usage: softent train CORPUS --out RUN_DIR [options]\n"
    "\n"
    "Train a GPT-2 on CORPUS (.txt one document a line, .jsonl, a directory of\n"
    ".txt files, or - for stdin).  Documents are tokenized, each followed by\n"
    "the end-of-text token, into one stream; the last --val-fraction of it is\n"
    "held out.  Checkpoints go to RUN_DIR/step-N/ as Hugging Face directories\n"
    "(config.json, model.safetensors, tokenizer.json), the losses to\n"
    "RUN_DIR/loss.csv, and the state to resume from to RUN_DIR/train_state.bin.\n"
    "\n"
    "  --out DIR             the run directory (created)\n"
    "  --tokenizer PATH      a tokenizer.json, or a directory holding one, e.g. from\n"
    "                        'softent tokenizer train' (default: bytes, 256 tokens\n"
    "                        + <|endoftext|>)\n"
    "  --text-field NAME     the .jsonl field holding the text (default: detected)\n"
    "  --layers N            blocks (default 4)\n"
    "  --d-model D           width (default 128)\n"
    "  --heads H             attention heads (default 4)\n"
    "  --context T           tokens a training window holds (default 128)\n"
    "  --batch B             windows a step (default 16)\n"
    "  --steps S             optimizer steps (default 2000)\n"
    "  --lr X                peak learning rate (default 3e-3)\n"
    "  --warmup F            fraction of the steps warming up linearly (default 0.05)\n"
    "  --min-lr F            the cosine ends at F x lr (default 0.1)\n"
    "  --weight-decay X      AdamW decay of weights and embeddings (default 0.1)\n"
    "  --grad-clip X         global gradient-norm limit, 0 for none (default 1.0)\n"
    "  --seed S              initial weights and training windows (default 0)\n"
    "  --checkpoints N       checkpoints, log-spaced, first and last step included (default 12)\n"
    "  --val-fraction F      held-out part of the stream (default 0.05)\n"
    "  --val-batches N       validation loss over at most N batches of windows (default 8)\n"
    "  --save-every N        also save the training state every N steps (default 250)\n"
    "  --threads N           threads (default: all cores); results are deterministic\n"
    "                        for a given seed and thread count\n"
    "  --resume              continue the run in RUN_DIR from its last saved state\n"
    "                        (settings come from the state; any given must match)\n"
    "  --quiet               no progress on stderr\n"
    "  -h, --help            this help\n";

enum {
    OPT_OUT = 256, OPT_TOKENIZER, OPT_FIELD, OPT_THREADS, OPT_RESUME, OPT_SAVE_EVERY, OPT_QUIET, OPT_STOP,
    OPT_PARAM /* + index into PARAMS */
};

/* The options that set a training parameter, checked against the saved
 * run on --resume. */
static const struct {
    const char *name;
    size_t off;
    char type;   /* i: int, l: int64, d: double, u: uint64 */
} PARAMS[] = {
    {"layers", offsetof(softent_train_params, n_layer), 'i'},
    {"d-model", offsetof(softent_train_params, d_model), 'i'},
    {"heads", offsetof(softent_train_params, n_head), 'i'},
    {"context", offsetof(softent_train_params, context), 'i'},
    {"batch", offsetof(softent_train_params, batch), 'i'},
    {"steps", offsetof(softent_train_params, steps), 'l'},
    {"lr", offsetof(softent_train_params, lr), 'd'},
    {"warmup", offsetof(softent_train_params, warmup_frac), 'd'},
    {"min-lr", offsetof(softent_train_params, min_lr_frac), 'd'},
    {"weight-decay", offsetof(softent_train_params, weight_decay), 'd'},
    {"grad-clip", offsetof(softent_train_params, grad_clip), 'd'},
    {"seed", offsetof(softent_train_params, seed), 'u'},
    {"checkpoints", offsetof(softent_train_params, n_checkpoints), 'i'},
    {"val-fraction", offsetof(softent_train_params, val_fraction), 'd'},
    {"val-batches", offsetof(softent_train_params, val_batches), 'i'},
};
#define N_PARAMS (int)(sizeof PARAMS / sizeof PARAMS[0])

typedef struct {
    softent_train_params p;
    int given[N_PARAMS];
    const char *corpus, *out, *tokenizer, *field;
    int threads, resume, quiet;
    int64_t save_every;
    int64_t stop_after;   /* hidden, for tests: end the process after this step, as a crash would */
} options;

/* ---- options -------------------------------------------------------------- */

static int parse_param(options *o, int k, const char *s)
{
    char *field = (char *)&o->p + PARAMS[k].off;
    int64_t v;
    double d;
    switch (PARAMS[k].type) {
    case 'i':
        if (!parse_i64(s, INT32_MIN, INT32_MAX, &v)) return cli_usage_error("train", "--%s %s: need an integer", PARAMS[k].name, s);
        *(int *)field = (int)v;
        break;
    case 'l':
        if (!parse_i64(s, INT64_MIN, INT64_MAX, &v)) return cli_usage_error("train", "--%s %s: need an integer", PARAMS[k].name, s);
        *(int64_t *)field = v;
        break;
    case 'u':
        if (!parse_i64(s, 0, INT64_MAX, &v)) return cli_usage_error("train", "--%s %s: need a non-negative integer", PARAMS[k].name, s);
        *(uint64_t *)field = (uint64_t)v;
        break;
    default:
        if (!parse_f64(s, &d)) return cli_usage_error("train", "--%s %s: need a number", PARAMS[k].name, s);
        *(double *)field = d;
    }
    o->given[k] = 1;
    return 0;
}

static int parse_options(int argc, char **argv, options *o)
{
    struct option longopts[N_PARAMS + 16];
    int n = 0;
    for (int k = 0; k < N_PARAMS; k++) longopts[n++] = (struct option){PARAMS[k].name, required_argument, 0, OPT_PARAM + k};
    const struct option rest[] = {
        {"out", required_argument, 0, OPT_OUT}, {"tokenizer", required_argument, 0, OPT_TOKENIZER},
        {"text-field", required_argument, 0, OPT_FIELD}, {"threads", required_argument, 0, OPT_THREADS},
        {"resume", no_argument, 0, OPT_RESUME}, {"save-every", required_argument, 0, OPT_SAVE_EVERY},
        {"quiet", no_argument, 0, OPT_QUIET}, {"stop-after", required_argument, 0, OPT_STOP},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    memcpy(longopts + n, rest, sizeof rest);
    int c, rc;
    int64_t v;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c >= OPT_PARAM && c < OPT_PARAM + N_PARAMS) {
            if ((rc = parse_param(o, c - OPT_PARAM, optarg))) return rc;
            continue;
        }
        switch (c) {
        case 'h': fputs(USAGE, stdout); exit(0);
        case OPT_OUT: o->out = optarg; break;
        case OPT_TOKENIZER: o->tokenizer = optarg; break;
        case OPT_FIELD: o->field = optarg; break;
        case OPT_THREADS:
            if (!parse_i64(optarg, 1, 4096, &v)) return cli_usage_error("train", "--threads %s: need a positive integer", optarg);
            o->threads = (int)v;
            break;
        case OPT_RESUME: o->resume = 1; break;
        case OPT_SAVE_EVERY:
            if (!parse_i64(optarg, 1, INT64_MAX, &o->save_every)) return cli_usage_error("train", "--save-every %s: need a positive integer", optarg);
            break;
        case OPT_QUIET: o->quiet = 1; break;
        case OPT_STOP:
            if (!parse_i64(optarg, 1, INT64_MAX, &o->stop_after)) return cli_usage_error("train", "--stop-after %s: need a positive integer", optarg);
            break;
        default: return cli_usage_error("train", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage_error("train", optind >= argc ? "no corpus given" : "one corpus, please");
    o->corpus = argv[optind];
    if (!o->out) return cli_usage_error("train", "--out RUN_DIR is required");
    if (o->resume && o->tokenizer) return cli_usage_error("train", "--tokenizer with --resume: a resumed run uses its own RUN_DIR/tokenizer.json");
    /* the vocabulary comes later, from the tokenizer: check the rest now */
    softent_train_params check = o->p;
    check.vocab_size = 1;
    if (softent_train_check_params(&check)) return cli_usage_error("train", "%s", softent_last_error());
    return 0;
}

/* Options given with --resume must agree with the run's settings. */
static int check_resume_options(const options *o, const softent_train_params *saved, const char *state)
{
    for (int k = 0; k < N_PARAMS; k++) {
        if (!o->given[k]) continue;
        const char *a = (const char *)&o->p + PARAMS[k].off, *b = (const char *)saved + PARAMS[k].off;
        size_t size = PARAMS[k].type == 'i' ? sizeof(int) : 8;
        if (memcmp(a, b, size) == 0) continue;
        char was[64];
        switch (PARAMS[k].type) {
        case 'i': snprintf(was, sizeof was, "%d", *(const int *)b); break;
        case 'l': snprintf(was, sizeof was, "%lld", (long long)*(const int64_t *)b); break;
        case 'u': snprintf(was, sizeof was, "%llu", (unsigned long long)*(const uint64_t *)b); break;
        default: snprintf(was, sizeof was, "%.10g", *(const double *)b);
        }
        return cli_usage_error("train", "--%s differs from the run being resumed (%s has %s); leave it out to keep the run's", PARAMS[k].name, state, was);
    }
    return 0;
}

/* ---- files -------------------------------------------------------------------- */

/* se_path_join, for the paths a run cannot do without. */
static char *path_join(const char *dir, const char *name)
{
    char *s = se_path_join(dir, name);
    if (!s) { perror("softent"); exit(1); }
    return s;
}

/* A tokenizer.json is a few MB at most; a GB is something else. */
#define MAX_TOKENIZER_BYTES ((size_t)1 << 30)

/* Copied whole and written atomically, so a checkpoint never holds half a tokenizer. */
static int copy_file(const char *from, const char *to)
{
    char *data;
    size_t len;
    int rc = se_read_file(from, MAX_TOKENIZER_BYTES, &data, &len);
    if (!rc) rc = se_write_file(to, data, len);
    free(data);
    return rc ? cli_lib_error(rc) : 0;
}

/* ---- the token stream ---------------------------------------------------------- */

typedef struct {
    int32_t *ids;
    int64_t n, cap;
} stream;

static int push(stream *s, const int32_t *ids, int64_t n)
{
    if (s->n + n > s->cap) {
        int64_t cap = s->cap ? s->cap : 1 << 16;
        while (cap < s->n + n) cap *= 2;
        int32_t *grown = realloc(s->ids, (size_t)cap * sizeof *grown);
        if (!grown) return cli_error("out of memory for %lld tokens", (long long)(s->n + n));
        s->ids = grown;
        s->cap = cap;
    }
    memcpy(s->ids + s->n, ids, (size_t)n * sizeof *ids);
    s->n += n;
    return 0;
}

/* The end-of-text token that separates documents. */
static int32_t find_eos(const softent_tokenizer *tok)
{
    static const char *names[] = {"<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>"};
    const int64_t V = softent_tokenizer_vocab_size(tok);
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        for (int64_t id = V - 1; id >= 0; id--) {
            const char *s = softent_tokenizer_token(tok, (int32_t)id);
            if (s && !strcmp(s, names[k])) return (int32_t)id;
        }
    return -1;
}

#define DOCS_A_CHUNK 4096
#define CHUNK_BYTES (16 << 20)

typedef struct {
    char *text;
    size_t len;
    int32_t *ids;
    int64_t n;
    int rc;
    char error[256];
} doc;

/* Tokenize a chunk of documents on all threads (encode is thread safe),
 * then append them in order, each followed by eos. */
static int flush_docs(softent_tokenizer *tok, doc *docs, int n, int32_t eos, stream *s)
{
#pragma omp parallel for schedule(dynamic, 8)
    for (int i = 0; i < n; i++) {
        docs[i].rc = softent_tokenizer_encode(tok, docs[i].text, docs[i].len, 0, &docs[i].ids, &docs[i].n);
        /* the error detail is per thread: keep it with the document */
        if (docs[i].rc) snprintf(docs[i].error, sizeof docs[i].error, "%s", softent_last_error());
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (!rc && docs[i].rc) rc = cli_error("%s", docs[i].error);
        if (!rc) rc = push(s, docs[i].ids, docs[i].n);
        if (!rc) rc = push(s, &eos, 1);
        free(docs[i].text);
        free(docs[i].ids);
    }
    return rc;
}

static int tokenize_corpus(const options *o, softent_tokenizer *tok, int32_t eos, stream *s, int64_t *n_docs)
{
    softent_corpus *c;
    int rc = softent_corpus_open(&c, o->corpus, o->field);
    if (rc) return cli_lib_error(rc);
    doc *docs = calloc(DOCS_A_CHUNK, sizeof *docs);
    if (!docs) { softent_corpus_close(c); return cli_error("out of memory"); }
    int n = 0;
    size_t bytes = 0;
    *n_docs = 0;
    for (;;) {
        const char *text;
        size_t len;
        if ((rc = softent_corpus_next(c, &text, &len))) { rc = cli_lib_error(rc); break; }
        if (text) {
            docs[n] = (doc){.text = malloc(len + 1), .len = len};
            if (!docs[n].text) { rc = cli_error("out of memory"); break; }
            memcpy(docs[n].text, text, len + 1);
            bytes += len;
            n++;
            ++*n_docs;
        }
        if (n && (!text || n == DOCS_A_CHUNK || bytes >= CHUNK_BYTES)) {
            if ((rc = flush_docs(tok, docs, n, eos, s))) { n = 0; break; }
            n = 0;
            bytes = 0;
        }
        if (!text) break;
    }
    for (int i = 0; i < n; i++) free(docs[i].text);
    free(docs);
    softent_corpus_close(c);
    return rc;
}

/* ---- the run --------------------------------------------------------------------- */

typedef struct {
    const options *o;
    softent_gpt2_trainer *t;
    const softent_train_params *p;
    const int32_t *tokens;
    int64_t n_train, n_total;
    int64_t *val_starts;      /* [n_val_windows] */
    int64_t n_val_windows;
    int32_t *inputs, *targets; /* [B, T] */
    char *state_path, *csv_path, *tokenizer_path;
    se_buf csv;               /* loss.csv's rows; written whole, atomically, with each state saved */
    softent_train_resume resume;
    int progress;             /* stderr is a terminal */
} run;

static double val_loss(run *r)
{
    const int B = r->p->batch, T = r->p->context;
    double sum = 0;
    for (int64_t i = 0; i < r->n_val_windows; i += B) {
        const int rows = (int)(r->n_val_windows - i < B ? r->n_val_windows - i : B);
        for (int b = 0; b < rows; b++) {
            memcpy(r->inputs + (int64_t)b * T, r->tokens + r->val_starts[i + b], (size_t)T * sizeof(int32_t));
            memcpy(r->targets + (int64_t)b * T, r->tokens + r->val_starts[i + b] + 1, (size_t)T * sizeof(int32_t));
        }
        double loss;
        if (softent_gpt2_trainer_eval(r->t, r->inputs, r->targets, rows, T, &loss)) return NAN;
        sum += loss * rows;
    }
    return sum / (double)r->n_val_windows;
}

/* RUN_DIR/step-N: built in step-N.tmp, then renamed into place. */
static int save_checkpoint(run *r, int64_t step)
{
    char *tmp, *tok = NULL;
    int rc = softent_rundir_stage(r->o->out, step, &tmp);
    if (!rc) rc = softent_gpt2_trainer_save_hf(r->t, tmp);
    if (rc) rc = cli_lib_error(rc);
    if (!rc) rc = copy_file(r->tokenizer_path, tok = path_join(tmp, "tokenizer.json"));
    if (!rc && (rc = softent_rundir_commit(r->o->out, step))) rc = cli_lib_error(rc);
    free(tmp);
    free(tok);
    return rc;
}

/* loss.csv as far as the state about to be saved: a kill leaves the rows
 * of the last state, which a resume continues. */
static int save_log(run *r)
{
    int rc = se_write_file(r->csv_path, r->csv.p, r->csv.n);
    return rc ? cli_lib_error(rc) : 0;
}

static int save_state(run *r, double elapsed)
{
    int rc = save_log(r);
    if (rc) return rc;
    r->resume.log_bytes = (int64_t)r->csv.n;
    r->resume.elapsed_s = elapsed;
    rc = softent_gpt2_trainer_save_state(r->t, &r->resume, r->state_path);
    return rc ? cli_lib_error(rc) : 0;
}

static void format_eta(char *buf, size_t n, double s)
{
    if (s >= 3600) snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    else snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
}

/* A resumed run's loss.csv, as far as its state: rows written after it
 * (an older softent appended them as it went) are redone. */
static int read_log(run *r)
{
    const int64_t want = r->resume.log_bytes;
    FILE *f = want <= (int64_t)1 << 32 ? fopen(r->csv_path, "rb") : NULL;
    int rc = f && !se_buf_reserve(&r->csv, (size_t)want) ? 0 : 1;
    if (!rc && fread(r->csv.p, 1, (size_t)want, f) != (size_t)want) rc = 1;
    if (f) fclose(f);
    if (rc) return cli_error("%s: missing or shorter than the training state expects (%lld bytes)", r->csv_path, (long long)want);
    r->csv.n = (size_t)want;
    return 0;
}

static int train_loop(run *r)
{
    const softent_train_params *p = r->p;
    const int64_t tokens_a_step = (int64_t)p->batch * p->context;
    if (softent_gpt2_trainer_steps_done(r->t) == p->steps) {
        printf("%s: the run is complete (%lld steps); nothing to resume\n", r->o->out, (long long)p->steps);
        return 0;
    }
    int64_t *ckpt = malloc((size_t)p->n_checkpoints * sizeof *ckpt);
    if (!ckpt) return cli_error("out of memory");
    const int n_ckpt = softent_train_checkpoint_steps(p, ckpt);
    int next_ckpt = 0;
    while (next_ckpt < n_ckpt && ckpt[next_ckpt] <= softent_gpt2_trainer_steps_done(r->t)) next_ckpt++;
    double elapsed = r->resume.elapsed_s, avg_step = 0, last_print = 0;
    int rc = 0;
    float loss = NAN;
    double vloss = NAN;
    for (int64_t step = softent_gpt2_trainer_steps_done(r->t) + 1; step <= p->steps && !rc; step++) {
        const double t0 = se_seconds();
        softent_train_batch(p, r->tokens, r->n_train, step, r->inputs, r->targets);
        float norm;
        if ((rc = softent_gpt2_trainer_step(r->t, r->inputs, r->targets, &loss, &norm))) { rc = cli_lib_error(rc); break; }
        const double dt = se_seconds() - t0;
        elapsed += dt;
        avg_step = avg_step ? 0.9 * avg_step + 0.1 * dt : dt;
        const int is_ckpt = next_ckpt < n_ckpt && ckpt[next_ckpt] == step;
        vloss = NAN;
        if (is_ckpt) {
            next_ckpt++;
            if (r->n_val_windows) vloss = val_loss(r);
            if ((rc = save_checkpoint(r, step))) break;
        }
        char row[256];
        softent_loss_csv_row(row, sizeof row, step, softent_train_lr(p, step), loss, vloss, tokens_a_step / dt);
        if (se_buf_append(&r->csv, row, strlen(row))) { rc = cli_error("out of memory"); break; }
        if (is_ckpt || step % r->o->save_every == 0 || step == p->steps)
            if ((rc = save_state(r, elapsed))) break;
        if (r->progress && (is_ckpt || se_seconds() - last_print > 0.25 || step == p->steps)) {
            char eta[32];
            format_eta(eta, sizeof eta, avg_step * (double)(p->steps - step));
            fprintf(stderr, "\rstep %lld/%lld  loss %.4f  %.0f tok/s  ETA %s   ", (long long)step, (long long)p->steps,
                    loss, tokens_a_step / avg_step, eta);
            if (is_ckpt) fprintf(stderr, "\rstep %lld: train loss %.4f, val loss %.4f -> step-%lld%20s\n", (long long)step, loss, vloss, (long long)step, "");
            last_print = se_seconds();
        }
        if (r->o->stop_after && step == r->o->stop_after && step < p->steps) {
            /* as if killed here: nothing more is saved */
            free(ckpt);
            return -1;
        }
    }
    if (!rc) {
        if (r->progress) fputc('\n', stderr);
        printf("%s: %lld steps, train loss %.4f", r->o->out, (long long)p->steps, loss);
        if (!isnan(vloss)) printf(", val loss %.4f", vloss);
        printf(", %d checkpoints (step-%lld .. step-%lld)\n", n_ckpt, (long long)ckpt[0], (long long)ckpt[n_ckpt - 1]);
    }
    free(ckpt);
    return rc;
}

/* The corpus as one stream, split into training and validation, with
 * every size checked. */
static int prepare_data(run *r, const options *o, softent_tokenizer *tok, int32_t eos, stream *s)
{
    int64_t n_docs = 0;
    int rc = tokenize_corpus(o, tok, eos, s, &n_docs);
    if (rc) return rc;
    const int T = r->p->context;
    const char *name = strcmp(o->corpus, "-") ? o->corpus : "standard input";
    if (n_docs == 0) return cli_error("%s: no documents: the corpus is empty", name);
    const int64_t n_val = llround(r->p->val_fraction * (double)s->n);
    r->n_total = s->n;
    r->n_train = s->n - n_val;
    if (r->n_train < T + 1)
        return cli_error("%s: %lld tokens (%lld document%s) leave %lld for training, fewer than context + 1 = %d; use a larger corpus or a smaller --context",
                         name, (long long)s->n, (long long)n_docs, n_docs == 1 ? "" : "s", (long long)r->n_train, T + 1);
    if (r->p->val_fraction > 0 && n_val < T + 1)
        return cli_error("%s: the held-out %g of %lld tokens is %lld tokens, fewer than context + 1 = %d; use a larger corpus, a smaller --context, or --val-fraction 0",
                         name, r->p->val_fraction, (long long)s->n, (long long)n_val, T + 1);
    r->tokens = s->ids;
    r->val_starts = malloc(((size_t)r->p->val_batches * r->p->batch + 1) * sizeof *r->val_starts);
    if (!r->val_starts) return cli_error("out of memory");
    r->n_val_windows = softent_train_val_windows(r->p, r->n_train, r->n_total, r->val_starts);
    return 0;
}

int cmd_train(int argc, char **argv)
{
    options o = {.p = softent_train_default_params(), .save_every = 250};
    int rc = parse_options(argc, argv, &o);
    if (rc) return rc;
    cli_set_threads(o.threads);

    run r = {.o = &o, .progress = !o.quiet && isatty(2)};
    r.state_path = path_join(o.out, "train_state.bin");
    r.csv_path = path_join(o.out, "loss.csv");
    r.tokenizer_path = path_join(o.out, "tokenizer.json");
    softent_tokenizer *tok = NULL;
    char *tok_src = NULL;   /* --tokenizer's tokenizer.json */
    stream s = {0};
    softent_train_params p = o.p;
    struct stat st;
    const int created = stat(o.out, &st) != 0;
    int made = 0;   /* a fresh run's files exist: removed again if it never starts */

    if (o.resume) {
        if (access(r.state_path, F_OK) != 0) { rc = cli_error("%s: no training state to resume (start the run without --resume)", r.state_path); goto done; }
        if ((rc = softent_gpt2_trainer_load_state(&r.t, &r.resume, r.state_path))) { rc = cli_lib_error(rc); goto done; }
        p = *softent_gpt2_trainer_params(r.t);
        if ((rc = check_resume_options(&o, &p, r.state_path))) goto done;
    } else {
        if (access(r.state_path, F_OK) == 0) {
            rc = cli_error("%s: the run directory already holds a run; continue it with --resume, or give another --out", r.state_path);
            goto done;
        }
        if ((rc = se_make_dirs(o.out))) { rc = cli_lib_error(rc); goto done; }
        made = 1;
        /* the run keeps its own copy, which --resume and the checkpoints use */
        if (o.tokenizer) {
            tok_src = stat(o.tokenizer, &st) == 0 && S_ISDIR(st.st_mode) ? path_join(o.tokenizer, "tokenizer.json") : strdup(o.tokenizer);
            if ((rc = softent_tokenizer_load(&tok, tok_src))) { rc = cli_lib_error(rc); goto done; }
            rc = copy_file(tok_src, r.tokenizer_path);
        } else {
            /* a byte-level tokenizer, so any text encodes to its UTF-8 bytes */
            if ((rc = softent_tokenizer_write_bytes(r.tokenizer_path))) rc = cli_lib_error(rc);
        }
        if (rc) goto done;
    }
    if (!tok && (rc = softent_tokenizer_load(&tok, r.tokenizer_path))) { rc = cli_lib_error(rc); goto done; }
    const char *tok_name = tok_src ? tok_src : r.tokenizer_path;
    const int32_t eos = find_eos(tok);
    if (eos < 0) { rc = cli_error("%s: no end-of-text token (<|endoftext|>, </s>, ...) to separate documents with", tok_name); goto done; }
    const int64_t vocab = softent_tokenizer_vocab_size(tok);
    if (vocab > INT32_MAX) { rc = cli_error("%s: a vocabulary of %lld tokens is too large", tok_name, (long long)vocab); goto done; }
    if (o.resume && (vocab != p.vocab_size || eos != p.eos_id)) {
        rc = cli_error("%s: the vocabulary (%lld tokens, end-of-text %d) is not the run's (%d, %d)", r.tokenizer_path, (long long)vocab, eos, p.vocab_size, p.eos_id);
        goto done;
    }
    p.vocab_size = (int)vocab;
    p.eos_id = eos;
    r.p = &p;
    if ((rc = prepare_data(&r, &o, tok, eos, &s))) goto done;
    const uint64_t hash = softent_train_token_hash(s.ids, s.n);
    if (o.resume && (hash != r.resume.data_hash || s.n != r.resume.n_tokens)) {
        rc = cli_error("%s: the corpus gives %lld tokens that differ from the %lld the run was trained on", o.corpus, (long long)s.n, (long long)r.resume.n_tokens);
        goto done;
    }
    r.resume.data_hash = hash;
    r.resume.n_tokens = s.n;

    if (!o.resume) {
        if ((rc = softent_gpt2_trainer_new(&r.t, &p))) { rc = cli_lib_error(rc); goto done; }
        static const char head[] = "step,lr,train_loss,val_loss,tokens_per_s\n";
        if (se_buf_append(&r.csv, head, sizeof head - 1) || (rc = save_log(&r))) { rc = rc ? rc : cli_error("out of memory"); goto done; }
    } else if ((rc = read_log(&r))) {
        goto done;
    }
    r.p = softent_gpt2_trainer_params(r.t);
    r.inputs = malloc((size_t)p.batch * p.context * sizeof *r.inputs);
    r.targets = malloc((size_t)p.batch * p.context * sizeof *r.targets);
    if (!r.inputs || !r.targets) { rc = cli_error("out of memory"); goto done; }
    made = 0;
    rc = train_loop(&r);
    if (rc < 0) rc = 0;   /* --stop-after */
done:
    se_buf_free(&r.csv);
    if (rc && made) {
        /* refused before training: leave no half-made run behind */
        unlink(r.csv_path);
        unlink(r.tokenizer_path);
        if (created) rmdir(o.out);
    }
    softent_gpt2_trainer_free(r.t);
    softent_tokenizer_free(tok);
    free(tok_src);
    free(s.ids);
    free(r.val_starts);
    free(r.inputs);
    free(r.targets);
    free(r.state_path);
    free(r.csv_path);
    free(r.tokenizer_path);
    return rc;
}
