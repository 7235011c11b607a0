/*
 * eval.c - `softent eval`: a model scored on held-out tasks (loss over a
 * corpus, multiple choice by log-likelihood), written as the tidy scores
 * CSV that `softent correlate` reads (model,benchmark,score,baseline).
 * The library (softent_eval.h) scores; this parses, prints and writes.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "softent_analysis.h"
#include "softent_eval.h"

#define MAX_TASKS 64

static const char USAGE[] =
    "usage: softent eval MODEL_DIR TASK... [--out SCORES.csv] [--model-name NAME]\n"
    "                    [--details FILE.json] [--text-field F] [--threads N]\n"
    "                    [--compute C]\n"
    "\n"
    "Score a model (a Hugging Face directory with tokenizer.json) on held-out\n"
    "tasks and write the tidy CSV of softent correlate: model,benchmark,score,baseline.\n"
    "\n"
    "TASK is KIND=FILE or KIND:NAME=FILE (NAME defaults to FILE's basename\n"
    "without its extension):\n"
    "  loss=CORPUS     .txt (one document a line) or .jsonl: NAME.loss (nats per\n"
    "                  predicted token), NAME.bpb (bits per byte, documents not\n"
    "                  truncated), NAME.accuracy (next token == argmax; baseline\n"
    "                  1/vocab).  Lower loss and bpb are better: their baseline is\n"
    "                  empty, leave them out of correlate's aggregate.\n"
    "  mc=FILE.jsonl   records {\"context\": str, \"choices\": [str...], \"answer\": int}:\n"
    "                  each choice scored by the summed log-probability of its\n"
    "                  tokens after the context (lm-evaluation-harness): NAME.acc,\n"
    "                  NAME.acc_norm (log-probability per byte of the choice);\n"
    "                  baseline the mean of 1/len(choices).\n"
    "\n"
    "Documents are encoded with BOS/EOS as Hugging Face adds them and cut to the\n"
    "model's max positions.\n"
    "\n"
    "  --out FILE         the scores CSV (default: stdout; with a file, a summary is printed)\n"
    "  --model-name NAME  the model column (default: MODEL_DIR's basename)\n"
    "  --details FILE     per-document and per-record scores as JSON\n"
    "  --text-field F     the .jsonl field of loss corpora (default: detected)\n"
    "  --threads N        OpenMP/OpenBLAS threads (default: all)\n"
    "  --compute C        the weight products: auto (bf16 for a bf16 checkpoint on\n"
    "                     a CPU with AMX / AVX512-BF16, else f32), f32, bf16\n"
    "\n"
    "docs/eval.md has the definitions.\n";

typedef struct {
    int mc;            /* 0 loss, 1 mc */
    char name[256];
    const char *path;  /* borrowed from argv */
} task;

static int parse_task(const char *arg, task *t)
{
    const char *eq = strchr(arg, '=');
    if (!eq || !eq[1]) return cli_usage_error("eval", "task '%s': want KIND=FILE or KIND:NAME=FILE (KIND loss or mc)", arg);
    const char *colon = memchr(arg, ':', (size_t)(eq - arg));
    size_t kind_len = (size_t)((colon ? colon : eq) - arg);
    if (kind_len == 4 && !strncmp(arg, "loss", 4)) t->mc = 0;
    else if (kind_len == 2 && !strncmp(arg, "mc", 2)) t->mc = 1;
    else return cli_usage_error("eval", "task '%s': unknown kind '%.*s' (loss or mc)", arg, (int)kind_len, arg);
    t->path = eq + 1;
    if (colon) {
        size_t n = (size_t)(eq - colon - 1);
        if (n == 0 || n >= sizeof t->name) return cli_usage_error("eval", "task '%s': a NAME of 1..%zu bytes", arg, sizeof t->name - 1);
        memcpy(t->name, colon + 1, n);
        t->name[n] = 0;
    } else {
        const char *base = strrchr(t->path, '/');
        base = base ? base + 1 : t->path;
        snprintf(t->name, sizeof t->name, "%s", base);
        char *dot = strrchr(t->name, '.');
        if (dot && dot != t->name) *dot = 0;
        if (!t->name[0]) return cli_usage_error("eval", "task '%s': give it a NAME (KIND:NAME=FILE)", arg);
    }
    return 0;
}

/* A CSV field, quoted when it needs to be. */
static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) { fputs(s, f); return; }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_row(FILE *f, const char *model, const char *bench, const char *suffix, double score, double baseline)
{
    char b[512];
    snprintf(b, sizeof b, "%s.%s", bench, suffix);
    csv_field(f, model);
    fputc(',', f);
    csv_field(f, b);
    if (isfinite(score)) fprintf(f, ",%.17g,", score);
    else fputs(",nan,", f);
    if (isfinite(baseline)) fprintf(f, "%.17g", baseline);
    fputc('\n', f);
}

static cJSON *loss_json(const task *t, const softent_eval_loss_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", t->name);
    cJSON_AddStringToObject(o, "kind", "loss");
    cJSON_AddStringToObject(o, "path", t->path);
    cli_json_number(o, "loss", r->loss);
    cli_json_number(o, "bpb", r->bpb);
    cli_json_number(o, "accuracy", r->accuracy);
    cli_json_number(o, "baseline", r->baseline);
    cJSON_AddNumberToObject(o, "documents", (double)r->documents);
    cJSON_AddNumberToObject(o, "predicted", (double)r->predicted);
    cJSON_AddNumberToObject(o, "truncated", (double)r->truncated);
    cJSON *docs = cJSON_AddArrayToObject(o, "docs");
    for (int64_t i = 0; i < r->documents; i++) {
        const softent_eval_doc *d = &r->docs[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "tokens", (double)d->tokens);
        cJSON_AddNumberToObject(e, "predicted", (double)d->predicted);
        cJSON_AddNumberToObject(e, "bytes", (double)d->bytes);
        cJSON_AddBoolToObject(e, "truncated", d->truncated);
        cJSON_AddNumberToObject(e, "nats", d->nats);
        cJSON_AddNumberToObject(e, "correct", (double)d->correct);
        cJSON_AddItemToArray(docs, e);
    }
    return o;
}

static cJSON *mc_json(const task *t, const softent_eval_mc_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", t->name);
    cJSON_AddStringToObject(o, "kind", "mc");
    cJSON_AddStringToObject(o, "path", t->path);
    cli_json_number(o, "acc", r->acc);
    cli_json_number(o, "acc_norm", r->acc_norm);
    cli_json_number(o, "baseline", r->baseline);
    cJSON_AddNumberToObject(o, "records", (double)r->n_records);
    cJSON *recs = cJSON_AddArrayToObject(o, "details");
    for (int64_t i = 0; i < r->n_records; i++) {
        const softent_eval_mc_record *d = &r->records[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "line", (double)d->line);
        cJSON_AddNumberToObject(e, "answer", d->answer);
        cJSON_AddNumberToObject(e, "pred", d->pred);
        cJSON_AddNumberToObject(e, "pred_norm", d->pred_norm);
        cJSON *lp = cJSON_AddArrayToObject(e, "logprob"), *nt = cJSON_AddArrayToObject(e, "tokens"),
              *nb = cJSON_AddArrayToObject(e, "bytes");
        for (int k = 0; k < d->n_choices; k++) {
            cJSON_AddItemToArray(lp, cJSON_CreateNumber(d->logprob[k]));
            cJSON_AddItemToArray(nt, cJSON_CreateNumber((double)d->n_tokens[k]));
            cJSON_AddItemToArray(nb, cJSON_CreateNumber((double)d->bytes[k]));
        }
        cJSON_AddItemToArray(recs, e);
    }
    return o;
}

int cmd_eval(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out", required_argument, 0, 'o'}, {"model-name", required_argument, 0, 'm'}, {"details", required_argument, 0, 'd'},
        {"text-field", required_argument, 0, 'f'}, {"threads", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'},
        {"compute", required_argument, 0, 'c'},
        {0, 0, 0, 0},
    };
    const char *out = "-", *model_name = NULL, *details = NULL, *text_field = NULL;
    int64_t threads = 0;
    softent_compute compute = SOFTENT_COMPUTE_AUTO;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'm': model_name = optarg; break;
        case 'd': details = optarg; break;
        case 'f': text_field = optarg; break;
        case 't':
            if (!parse_i64(optarg, 0, 4096, &threads)) return cli_usage_error("eval", "--threads %s: want 0..4096", optarg);
            break;
        case 'c':
            if ((c = parse_compute(optarg, &compute, "eval"))) return c;
            break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: return cli_usage_error("eval", "unknown option");
        }
    }
    if (argc - optind < 2) return cli_usage_error("eval", "give MODEL_DIR and at least one TASK");
    const char *model_dir = argv[optind];
    int n_tasks = argc - optind - 1;
    if (n_tasks > MAX_TASKS) return cli_usage_error("eval", "%d tasks: at most %d", n_tasks, MAX_TASKS);
    static task tasks[MAX_TASKS];
    for (int i = 0; i < n_tasks; i++) {
        int rc = parse_task(argv[optind + 1 + i], &tasks[i]);
        if (rc) return rc;
    }
    char dirname[4096];
    if (!model_name) {
        snprintf(dirname, sizeof dirname, "%s", model_dir);
        size_t n = strlen(dirname);
        while (n > 1 && dirname[n - 1] == '/') dirname[--n] = 0;
        const char *base = strrchr(dirname, '/');
        model_name = base && base[1] ? base + 1 : dirname;
    }
    cli_set_threads((int)threads);

    softent_model *model = NULL;
    softent_tokenizer *tok = NULL;
    softent_eval_loss_result *loss = calloc((size_t)n_tasks, sizeof *loss);
    softent_eval_mc_result *mc = calloc((size_t)n_tasks, sizeof *mc);
    int rc = 0;
    if (!loss || !mc) { rc = cli_error("out of memory"); goto done; }
    if ((rc = cli_model_load(&model, model_dir, compute))) goto done;
    if ((rc = softent_analysis_tokenizer_load(&tok, model_dir))) { rc = cli_lib_error(rc); goto done; }
    for (int i = 0; i < n_tasks; i++) {
        rc = tasks[i].mc ? softent_eval_mc(model, tok, tasks[i].path, &mc[i])
                         : softent_eval_loss(model, tok, tasks[i].path, text_field, &loss[i]);
        if (rc) { rc = cli_lib_error(rc); goto done; }
    }
    if (details) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "model", model_name);
        cJSON_AddStringToObject(root, "model_dir", model_dir);
        cJSON *arr = cJSON_AddArrayToObject(root, "tasks");
        for (int i = 0; i < n_tasks; i++) cJSON_AddItemToArray(arr, tasks[i].mc ? mc_json(&tasks[i], &mc[i]) : loss_json(&tasks[i], &loss[i]));
        if ((rc = cli_write_json(details, root))) goto done;
    }
    cli_file csv;
    if ((rc = cli_file_open(&csv, out))) goto done;
    fputs("model,benchmark,score,baseline\n", csv.f);
    for (int i = 0; i < n_tasks; i++) {
        if (tasks[i].mc) {
            csv_row(csv.f, model_name, tasks[i].name, "acc", mc[i].acc, mc[i].baseline);
            csv_row(csv.f, model_name, tasks[i].name, "acc_norm", mc[i].acc_norm, mc[i].baseline);
        } else {
            csv_row(csv.f, model_name, tasks[i].name, "loss", loss[i].loss, NAN);
            csv_row(csv.f, model_name, tasks[i].name, "bpb", loss[i].bpb, NAN);
            csv_row(csv.f, model_name, tasks[i].name, "accuracy", loss[i].accuracy, loss[i].baseline);
        }
    }
    if ((rc = cli_file_commit(&csv, 1))) goto done;
    if (strcmp(out, "-")) {
        printf("softent %s eval: %s (model %s)\n", SOFTENT_VERSION, model_dir, model_name);
        for (int i = 0; i < n_tasks; i++) {
            if (tasks[i].mc)
                printf("  %-24s mc    %lld records: acc %.4f, acc_norm %.4f (chance %.4f)\n", tasks[i].name,
                       (long long)mc[i].n_records, mc[i].acc, mc[i].acc_norm, mc[i].baseline);
            else
                printf("  %-24s loss  %lld documents, %lld tokens (%lld truncated): %.4f nats/token, %.4f bits/byte, accuracy %.4f\n",
                       tasks[i].name, (long long)loss[i].documents, (long long)loss[i].predicted, (long long)loss[i].truncated,
                       loss[i].loss, loss[i].bpb, loss[i].accuracy);
        }
        printf("scores: %s%s%s\n", out, details ? "; details: " : "", details ? details : "");
    }
done:
    if (loss)
        for (int i = 0; i < n_tasks; i++) softent_eval_loss_free(&loss[i]);
    if (mc)
        for (int i = 0; i < n_tasks; i++) softent_eval_mc_free(&mc[i]);
    free(loss);
    free(mc);
    softent_tokenizer_free(tok);
    softent_model_free(model);
    return rc;
}
