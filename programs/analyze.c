/*
 * analyze.c - `softent analyze MODEL_DIR CORPUS`: per-layer H(Z), complexity
 * I(input n-gram; Z), expressivity I(output n-gram; Z) and optimality of a
 * Hugging Face model's hidden states over a text corpus (SPEC section 4),
 * written as JSON, tidy CSV and figures.  The work is the library's
 * (softent_analysis.h); this file prints and writes its results.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analysis.h"
#include "cli.h"
#include "figures.h"
#include "mpi.h"

static const char USAGE[] =
    "usage: softent analyze MODEL_DIR CORPUS [options]\n"
    "\n"
    "Per-layer soft entropy H(Z), complexity I(input n-gram; Z), expressivity\n"
    "I(output n-gram; Z) and optimality I(out)/I(in) of a Hugging Face model's\n"
    "hidden states over a corpus.  MODEL_DIR holds config.json, model.safetensors\n"
    "(or a sharded index) and tokenizer.json.  CORPUS is a .txt (a document a\n"
    "line), a .jsonl, a directory of .txt files, or - for stdin.\n"
    "\n"
    "  --max-length N       tokens per document, after BOS/EOS (default 512, or the\n"
    "                       model's positions when fewer)\n"
    "  --max-docs N         documents to read (default: all)\n"
    "  --max-tokens N       stop once this many tokens are read (default: all)\n"
    "  --ngrams LIST        n-gram orders, 1..4 (default 1,2,3)\n"
    "  --layers SPEC        all (default), a list 0,6,12, or every:K\n"
    "  --text-field NAME    the .jsonl text field (default: detected)\n"
    "  --out DIR            where results and figures go (default analysis)\n"
    "  --bins M, --seed S, --calibration MODE, --weighting W, --min-count K,\n"
    "  --null R, --null-seed S, --correction C\n"
    "                       as for softent estimate, except that with\n"
    "                       --min-count K a position is kept for order n when\n"
    "                       its input and its output n-gram each occur K times,\n"
    "                       so that I(in) and I(out) share their rows\n"
    "  --preference FILE    also preference information I(P;Z) from a .jsonl of\n"
    "                       prompt/chosen/rejected records: response tokens labelled\n"
    "                       1 (chosen) / 0 (rejected); docs/analyze.md\n"
    "  --preference-fields P,C,R   the records' fields (default: detected; an\n"
    "                       empty P: no prompt field)\n"
    "  --preference-positions MODE  response (default), last or all\n"
    "  --labels NAME=PATH   also I(label; Z) of a label set of your own: PATH has a\n"
    "                       line per document, a label per token (special tokens\n"
    "                       included, as `softent tokenize` prints them); repeatable\n"
    "  --units U            efficiency (fraction of log m, default), nats or bits\n"
    "  --quiet              no table\n"
    "  --json PATH          also write the results JSON to PATH ('-': stdout, and\n"
    "                       the table to stderr)\n"
    "  --checkpoint-every N save the run in OUT/checkpoint every N documents\n"
    "  --checkpoint-seconds T  ... and every T seconds (default 900; 0: not by time);\n"
    "                       Ctrl-C or SIGTERM saves it too, then stops\n"
    "  --resume             continue the run saved in OUT/checkpoint (same command)\n"
    "  --shard I/K          measure part I of K of the documents (0 <= I < K, split\n"
    "                       by tokens) and save it in OUT, for softent merge\n"
    "                       (job arrays; under mpirun the ranks split them)\n"
    "  --threads N          threads (default: all cores)\n"
    COMPUTE_HELP
    "  --max-memory MB      refuse a run whose accumulators would need more\n"
    "  --spill-dir DIR      keep the rows the null and bootstrap replay (4 x bins\n"
    "                       bytes a position and layer) in an unlinked file in DIR\n"
    "                       (page cache, written out under pressure), not memory\n"
    "  --product P          the estimator's product: f32 (default) or bf16, as for\n"
    "                       softent estimate (independent of --compute)\n"
    "  -h, --help           this help\n";

static void print_table(FILE *f, const softent_analysis_result *r)
{
    char lead[32];
    snprintf(lead, sizeof lead, "%6s %9s", "layer", "H");
    analysis_table_head(f, r, lead);
    int undefined = 0;
    for (int s = 0; s < r->n_layers; s++) {
        fprintf(f, "%6d %9.6f", r->layers[s].layer, r->layers[s].H);
        undefined += analysis_table_row(f, r, s);
    }
    if (isfinite(r->mean_H)) fprintf(f, "%6s %9.6f", "mean", r->mean_H);
    else fprintf(f, "%6s %9s", "mean", "-");
    undefined += analysis_table_row(f, r, -1);
    fprintf(f, "(mean over the %d selected layers >= 1: the embedding layer is excluded)\n", r->n_mean);
    if (r->n_labels > 0) {
        snprintf(lead, sizeof lead, "%6s", "layer");
        analysis_labels_head(f, r, lead);
        for (int s = 0; s < r->n_layers; s++) fprintf(f, "%6d", r->layers[s].layer), undefined += analysis_labels_row(f, r, s);
        fprintf(f, "%6s", "mean");
        undefined += analysis_labels_row(f, r, -1);
    }
    analysis_table_notes(f, r, undefined, "");
}

/* The preference run (pc and pr NULL without --preference). */
typedef struct {
    const softent_analysis_corpus *pc;
    const softent_preference_result *pr;
} preference_run;

static int write_outputs(const analysis_options *o, const char *model_dir, const char *corpus_path, const char *out,
                         const softent_model_config *cfg, softent_compute compute, const softent_analysis_corpus *c, const softent_analysis_result *r,
                         preference_run pref)
{
    if (mkdir(out, 0777) != 0 && errno != EEXIST) return cli_error("%s: cannot create the output directory: %s", out, strerror(errno));
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "softent_version", SOFTENT_VERSION);
    cJSON_AddStringToObject(root, "command", "analyze");
    cJSON *model = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(model, "path", model_dir);
    cJSON_AddStringToObject(model, "arch", cfg->arch);
    cJSON_AddNumberToObject(model, "n_layers", cfg->n_layers);
    cJSON_AddNumberToObject(model, "d_model", cfg->d_model);
    cJSON_AddNumberToObject(model, "n_heads", cfg->n_heads);
    cJSON_AddNumberToObject(model, "vocab_size", cfg->vocab_size);
    cJSON_AddStringToObject(model, "compute", compute_name(compute));
    cJSON_AddItemToObject(root, "corpus", analysis_corpus_json(c, corpus_path));
    cJSON_AddItemToObject(root, "settings", analysis_settings_json(o, r->eps));
    /* the result's members (headline, bootstrap, layers, layer_mean, ...) at the top level */
    cJSON *res = analysis_result_json(r);
    while (res->child) {
        cJSON *it = cJSON_DetachItemViaPointer(res, res->child);
        char *key = strdup(it->string);
        cJSON_AddItemToObject(root, key, it);
        free(key);
    }
    cJSON_Delete(res);
    if (pref.pr) preference_json(root, pref.pc, o->preference, pref.pr);
    char path[4096];
    snprintf(path, sizeof path, "%s/analysis.json", out);
    int rc = analysis_write_json(o, path, root);
    if (rc) return rc;

    snprintf(path, sizeof path, "%s/analysis.csv", out);
    cli_file csv;
    if (cli_file_open(&csv, path)) return 1;
    fprintf(csv.f, "model,checkpoint,layer,label_set,measure,value\n");
    analysis_result_csv(csv.f, model_dir, "", r);
    analysis_mean_csv(csv.f, model_dir, "", r);
    if (pref.pr) preference_csv(csv.f, model_dir, pref.pr);
    if ((rc = cli_file_commit(&csv, 1))) return rc;

    FILE *tf = analysis_table_stream(o);
    fprintf(tf, "softent %s analyze: %s (%s, %d layers, d = %d) on %s\n", SOFTENT_VERSION, model_dir, cfg->arch,
           cfg->n_layers, cfg->d_model, corpus_path);
    softent_analysis_corpus_info ci;
    softent_analysis_corpus_get_info(c, &ci);
    fprintf(tf, "%lld documents (%lld too short), %lld tokens, %lld positions; entropies are %s\n\n",
           (long long)ci.docs_used, (long long)ci.docs_short, (long long)ci.tokens, (long long)ci.positions,
           analysis_units_phrase(o));
    print_table(tf, r);
    if (pref.pr) preference_table(tf, pref.pc, pref.pr);

    int *layers;
    double *H, *values;
    if ((rc = analysis_figure_values(r, &layers, &H, &values)) == 0) {
        char warning[1024];
        figure_data fd = {model_dir, analysis_corrected(r), analysis_bars(r), r->n_layers, layers, H, r->n_orders, r->orders, values};
        analysis_out_clean(out, "plane_", r->orders, r->n_orders);
        const int drawn = figures_write(out, &fd, warning, sizeof warning);
        fprintf(tf, "\nresults: %s/analysis.json, %s/analysis.csv", out, out);
        if (drawn == 0) fprintf(tf, "; figures: %s/layers.png, %s/plane_n*.png (and .svg)\n", out, out);
        else fprintf(tf, "; figures not drawn (%s)\n", drawn > 0 ? "no gnuplot" : "see the error");
        if (drawn != 0) fprintf(stderr, "softent: %s\n", warning);
        if (drawn < 0) rc = 1;
    }
    analysis_table_done(tf);
    free(layers);
    free(H);
    free(values);
    return rc;
}

/* analyze, or (shards non-NULL) its shards merged into out. */
static int analyze_main(int argc, char **argv, const analysis_shards *shards, const char *merge_out)
{
    analysis_options o = analysis_default_options();
    const char *out = "analysis";
    int rc = analysis_parse_args(argc, argv, &o, &out, USAGE, "analyze");
    if (rc) return rc < 0 ? 0 : rc;
    if (argc - optind != 2) return cli_usage_error("analyze", "give MODEL_DIR and CORPUS");
    if (o.steps) return cli_usage_error("analyze", "--steps names trace's checkpoints; analyze measures one model");
    if (o.preference && (cli_mpi_size() > 1 || o.shard_k))
        return cli_usage_error("analyze", "--preference runs in one process; run it separately, without mpirun or --shard");
    if (o.shard_k && cli_mpi_size() > 1) return cli_usage_error("analyze", "--shard splits the documents by hand; under mpirun the ranks split them (drop --shard)");
    if (shards) analysis_merging(&o, &out, shards, merge_out);
    const char *model_dir = argv[optind], *corpus_path = argv[optind + 1];
    cli_set_threads(o.threads);

    softent_model *model = NULL;
    softent_tokenizer *tok = NULL;
    softent_model_config cfg;
    softent_analysis_corpus *corpus = NULL;
    softent_analysis_result result = {0};
    softent_analysis_corpus *pcorpus = NULL;
    softent_preference_result presult = {0};
    int *sel = NULL, n_sel = 0;
    analysis_job job = {model_dir, corpus_path, NULL, "forward", SOFTENT_COMPUTE_F32};
    rc = cli_model_load(&model, model_dir, o.compute);
    if (!rc) job.compute = softent_model_get_compute(model);
    if (!rc) softent_model_get_config(model, &cfg);
    if (!rc) rc = analysis_fit_model(&o, &cfg, "analyze");
    if (!rc && (rc = softent_analysis_tokenizer_load(&tok, model_dir))) rc = cli_lib_error(rc);
    if (!rc) rc = analysis_select_layers(o.layers_spec, cfg.n_layers, &sel, &n_sel, "analyze");
    if (!rc) rc = analysis_corpus_read(&corpus, &o, corpus_path, tok, &cfg);
    if (!rc && cli_mpi_rank() == 0) rc = analysis_out_lock(out, "analyze");
    if (!rc && o.shard_k) rc = analysis_shard_begin(out);
    /* under MPI a rank that failed here stops them all */
    if ((rc = cli_mpi_agree(rc))) goto done;
    analysis_catch_stops(!o.merge_dirs);
    rc = analysis_run_part(model, corpus, sel, n_sel, &o, out, &job, &result);
    analysis_catch_stops(0);
    if (rc) goto done;
    if (o.shard_k) {
        rc = analysis_shard_save(&o, out, "analyze", argc, argv);
        goto done;
    }
    if (analysis_part_final(&o)) {
        if (o.preference && ((rc = analysis_preference_read(&pcorpus, &o, tok, &cfg)) ||
                             (rc = analysis_preference_run(model, pcorpus, sel, n_sel, &presult))))
            goto done;
        analysis_to_units(&result, &o);
        if (o.preference) preference_to_units(&presult, &o);
        rc = write_outputs(&o, model_dir, corpus_path, out, &cfg, softent_model_get_compute(model), corpus, &result,
                           (preference_run){pcorpus, o.preference ? &presult : NULL});
    }
    /* the outputs are written: the checkpoints have done their work */
    if (!(rc = cli_mpi_agree(rc))) rc = analysis_part_remove(&o, out, NULL);
done:
    softent_preference_result_free(&presult);
    softent_analysis_corpus_free(pcorpus);
    softent_analysis_result_free(&result);
    softent_analysis_corpus_free(corpus);
    free(sel);
    softent_tokenizer_free(tok);
    softent_model_free(model);
    return rc;
}

int cmd_analyze(int argc, char **argv) { return analyze_main(argc, argv, NULL, NULL); }

int analyze_merge(const analysis_shards *s, const char *out) { return analyze_main(s->argc, s->argv, s, out); }
