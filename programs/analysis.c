/*
 * analysis.c - the options analyze and trace share, and their calls into
 * the library's analysis engine with its errors and progress printed (see
 * analysis.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis.h"
#include "cli.h"

analysis_options analysis_default_options(void)
{
    return (analysis_options){.a = softent_analysis_default_params(), .layers_spec = "all", .pref = softent_preference_default_params(),
                              .checkpoint_seconds = 900};
}

int analysis_fit_model(analysis_options *o, const softent_model_config *cfg, const char *cmd)
{
    if (cfg->max_positions <= 0 || o->a.max_length <= cfg->max_positions) return 0;
    if (!o->max_length_given) {
        o->a.max_length = cfg->max_positions;
        return 0;
    }
    if (strcmp(cfg->arch, "gpt2")) return 0; /* RoPE runs past max_position_embeddings, as transformers does */
    return cli_usage_error(cmd, "--max-length %lld: the model has %d learned positions (n_positions); give at most %d",
                           (long long)o->a.max_length, cfg->max_positions, cfg->max_positions);
}

static int parse_orders(softent_analysis_params *a, const char *s)
{
    int orders[SOFTENT_MAX_ARITY], n = 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int64_t v;
        if (!parse_i64(tok, 1, SOFTENT_MAX_ARITY, &v) || n == SOFTENT_MAX_ARITY) return 0;
        for (int k = 0; k < n; k++)
            if (orders[k] == v) return 0;
        orders[n++] = (int)v;
    }
    if (n == 0) return 0;
    a->n_orders = n;
    memcpy(a->orders, orders, (size_t)n * sizeof *orders);
    return 1;
}

/* "PROMPT,CHOSEN,REJECTED"; an empty PROMPT: the records have none. */
static int parse_pref_fields(analysis_options *o, const char *arg, const char *cmd)
{
    if (strlen(arg) >= sizeof o->pref_fields) return cli_usage_error(cmd, "--preference-fields %s: too long", arg);
    strcpy(o->pref_fields, arg);
    char *c1 = strchr(o->pref_fields, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
    if (!c2 || strchr(c2 + 1, ',') || c2 == c1 + 1 || !c2[1])
        return cli_usage_error(cmd, "--preference-fields %s: give PROMPT,CHOSEN,REJECTED (PROMPT may be empty: ,chosen,rejected)", arg);
    *c1 = *c2 = 0;
    o->pref.prompt_field = o->pref_fields, o->pref.chosen_field = c1 + 1, o->pref.rejected_field = c2 + 1;
    return 0;
}

/* "NAME=PATH": the user's label set, one label a token. */
static int parse_labels(analysis_options *o, const char *arg, const char *cmd)
{
    softent_analysis_params *a = &o->a;
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) return cli_usage_error(cmd, "--labels %s: give NAME=PATH (a line of labels per document, one a token)", arg);
    if (a->n_labels == SOFTENT_ANALYSIS_MAX_LABELS) return cli_usage_error(cmd, "--labels %s: at most %d label sets", arg, SOFTENT_ANALYSIS_MAX_LABELS);
    char *name = o->label_names[a->n_labels];
    if ((size_t)(eq - arg) >= sizeof o->label_names[0]) return cli_usage_error(cmd, "--labels %s: a name has at most 31 characters", arg);
    snprintf(name, sizeof o->label_names[0], "%.*s", (int)(eq - arg), arg);
    if (softent_analysis_check_label_name(name)) return cli_usage_error(cmd, "--labels %s: %s", arg, softent_last_error());
    for (int u = 0; u < a->n_labels; u++)
        if (!strcmp(a->label_names[u], name)) return cli_usage_error(cmd, "--labels %s: the label set %s is named twice", arg, name);
    a->label_names[a->n_labels] = name;
    a->label_paths[a->n_labels++] = eq + 1;
    return 0;
}

int analysis_option(analysis_options *o, int c, const char *arg, const char *cmd)
{
    softent_analysis_params *a = &o->a;
    switch (c) {
    case OPT_MAXLEN:
        if (!parse_i64(arg, 2, 1 << 24, &a->max_length)) return cli_usage_error(cmd, "--max-length %s: need an integer >= 2", arg);
        o->max_length_given = 1;
        return 0;
    case OPT_MAXDOCS:
        if (!parse_i64(arg, 1, INT64_MAX, &a->max_docs)) return cli_usage_error(cmd, "--max-docs %s: need a positive integer", arg);
        return 0;
    case OPT_MAXTOK:
        if (!parse_i64(arg, 1, INT64_MAX, &a->max_tokens)) return cli_usage_error(cmd, "--max-tokens %s: need a positive integer", arg);
        return 0;
    case OPT_NGRAMS:
        if (!parse_orders(a, arg)) return cli_usage_error(cmd, "--ngrams %s: give distinct orders from 1 to %d, e.g. 1,2,3", arg, SOFTENT_MAX_ARITY);
        return 0;
    case OPT_LAYERS: o->layers_spec = arg; return 0;
    case OPT_CKPT_DOCS:
        o->checkpoint_given = 1;
        if (!parse_i64(arg, 0, INT64_MAX / 2, &o->checkpoint_docs)) return cli_usage_error(cmd, "--checkpoint-every %s: give a number of documents (0: not by count)", arg);
        return 0;
    case OPT_CKPT_SECONDS:
        o->checkpoint_given = 1;
        if (!parse_f64(arg, &o->checkpoint_seconds) || !(o->checkpoint_seconds >= 0 && o->checkpoint_seconds <= 1e9))
            return cli_usage_error(cmd, "--checkpoint-seconds %s: give seconds (0: not by time)", arg);
        return 0;
    case OPT_RESUME: o->resume = 1; return 0;
    case OPT_COMPUTE_A: return parse_compute(arg, &o->compute, cmd);
    case OPT_SHARD_A: {
        const char *slash = strchr(arg, '/');
        int64_t i = -1, k = 0;
        char head[32];
        if (slash && (size_t)(slash - arg) < sizeof head) snprintf(head, sizeof head, "%.*s", (int)(slash - arg), arg);
        if (!slash || (size_t)(slash - arg) >= sizeof head || !parse_i64(head, 0, 1 << 20, &i) || !parse_i64(slash + 1, 1, 1 << 20, &k) || i >= k)
            return cli_usage_error(cmd, "--shard %s: give I/K, part I (0 <= I < K) of K", arg);
        o->shard_i = (int)i, o->shard_k = (int)k;
        return 0;
    }
    case OPT_FIELD: a->text_field = arg; return 0;
    case OPT_PREF: o->preference = arg; return 0;
    case OPT_STEPS: o->steps = arg; return 0;
    case OPT_QUIET_A: o->quiet = 1; return 0;
    case OPT_JSON_A: o->json = arg; return 0;
    case OPT_LABELS_A: return parse_labels(o, arg, cmd);
    case OPT_UNITS_A:
        if ((o->units = parse_units(arg)) < 0) return cli_usage_error(cmd, "--units %s: use efficiency, nats or bits", arg);
        return 0;
    case OPT_PREF_FIELDS: return parse_pref_fields(o, arg, cmd);
    case OPT_PREF_POS:
        if (softent_pref_positions_parse(arg, &o->pref.positions)) return cli_usage_error(cmd, "--preference-positions %s", softent_last_error());
        return 0;
    }
    if (!is_estimator_option(c)) return cli_usage_error(cmd, "unknown option");
    return estimator_option(&a->params, &o->threads, c, arg, cmd);
}

int analysis_parse_args(int argc, char **argv, analysis_options *o, const char **out, const char *usage, const char *cmd)
{
    enum { OPT_OUT = ANALYSIS_OPT_LAST };
    static const struct option longopts[] = {
        ANALYSIS_LONGOPTS, {"out", required_argument, 0, OPT_OUT}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    int c, rc;
    opterr = 0;
    optind = 0; /* a merge parses a shard's command line after its own */
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h') { fputs(usage, stdout); return -1; }
        if (c == OPT_OUT) { *out = optarg; continue; }
        if ((c < ANALYSIS_OPT_FIRST || c >= ANALYSIS_OPT_LAST) && !is_estimator_option(c)) return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        if ((rc = analysis_option(o, c, optarg, cmd))) return rc;
    }
    return 0;
}

FILE *analysis_table_stream(const analysis_options *o)
{
    if (o->quiet) {
        FILE *f = fopen("/dev/null", "w");
        return f ? f : stderr;
    }
    return o->json && !strcmp(o->json, "-") ? stderr : stdout;
}

void analysis_table_done(FILE *f)
{
    if (f != stdout && f != stderr) fclose(f);
}

int analysis_write_json(const analysis_options *o, const char *path, cJSON *root)
{
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return cli_error("out of memory");
    int rc = cli_write_text(path, text);
    if (!rc && o->json) rc = cli_write_text(o->json, text);
    free(text);
    return rc;
}

int analysis_select_layers(const char *spec, int n_layers, int **sel, int *n_sel, const char *cmd)
{
    int rc = softent_analysis_select_layers(spec, n_layers, sel, n_sel);
    if (rc == SOFTENT_E_INVALID) return cli_usage_error(cmd, "--layers %s", softent_last_error());
    return rc ? cli_lib_error(rc) : 0;
}

int analysis_corpus_read(softent_analysis_corpus **c, const analysis_options *o, const char *path,
                         softent_tokenizer *tok, const softent_model_config *cfg)
{
    int rc = softent_analysis_corpus_read(c, &o->a, path, tok, cfg->vocab_size, cfg->d_model);
    return rc ? cli_lib_error(rc) : 0;
}

int analysis_preference_read(softent_analysis_corpus **c, const analysis_options *o, softent_tokenizer *tok,
                             const softent_model_config *cfg)
{
    int rc = softent_preference_read(c, &o->a, &o->pref, o->preference, tok, cfg->vocab_size, cfg->d_model);
    return rc ? cli_lib_error(rc) : 0;
}

typedef struct {
    const char *what;
    int printed;
} progress_line;

/* "\rWHAT: 3/40 documents, 1234 tokens/s, ETA 5 s" */
static void print_progress(int64_t docs, int64_t docs_total, int64_t tokens, int64_t tokens_total, double seconds, void *user)
{
    progress_line *p = user;
    double rate = tokens / (seconds > 0 ? seconds : 1e-9);
    fprintf(stderr, "\r%s: %lld/%lld documents, %.0f tokens/s, ETA %.0f s   ", p->what, (long long)docs,
            (long long)docs_total, rate, (tokens_total - tokens) / (rate > 0 ? rate : 1));
    p->printed = 1;
}

int analysis_run(softent_model *model, const softent_analysis_corpus *c, const int *sel, int n_sel,
                 const softent_analysis_run_params *cp, softent_analysis_result *out, const char *what, int *status)
{
    progress_line line = {what, 0};
    int rc = softent_analysis_run_with(model, c, sel, n_sel, cp, isatty(STDERR_FILENO) && what ? print_progress : NULL, &line, out);
    if (line.printed) fputc('\n', stderr);
    if (status) *status = rc;
    return rc ? cli_lib_error(rc) : 0;
}

int analysis_preference_run(softent_model *model, const softent_analysis_corpus *c, const int *sel, int n_sel,
                            softent_preference_result *out)
{
    progress_line line = {"preference", 0};
    int rc = softent_preference_run(model, c, sel, n_sel, isatty(STDERR_FILENO) ? print_progress : NULL, &line, out);
    if (line.printed) fputc('\n', stderr);
    return rc ? cli_lib_error(rc) : 0;
}

int analysis_out_lock(const char *out, const char *cmd)
{
    if (mkdir(out, 0777) != 0 && errno != EEXIST) return cli_error("%s: cannot create the output directory: %s", out, strerror(errno));
    char path[4096];
    snprintf(path, sizeof path, "%s/.softent-lock", out);
    /* kept open (and so locked) until the process ends */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return cli_error("%s: cannot create the lock file: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        if (errno == EWOULDBLOCK)
            return cli_error("%s: another softent run is writing there now; wait for it, or give this %s another --out", out, cmd);
        return cli_error("%s: cannot lock: %s", path, strerror(errno));
    }
    return 0;
}

void analysis_out_clean(const char *out, const char *prefix, const int *orders, int n_orders)
{
    static const char *const ext[] = {"png", "svg", "tsv", "gp"};
    for (int n = 1; n <= SOFTENT_MAX_ARITY; n++) {
        int drawn = 0;
        for (int k = 0; k < n_orders; k++) drawn |= orders[k] == n;
        for (size_t e = 0; !drawn && e < sizeof ext / sizeof ext[0]; e++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%sn%d.%s", out, prefix, n, ext[e]);
            if (unlink(path) == 0) fprintf(stderr, "softent: removed %s, an earlier run's (this run does not measure order %d)\n", path, n);
        }
    }
}
