/* estimate.c - `softent estimate`: soft entropy and information of an embedding file. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mpi.h"
#include "estimator_options.h"
#include "softent_io.h"

static const char USAGE[] =
    "usage: softent estimate Z [options]\n"
    "\n"
    "Soft entropy H(Z) of the rows of Z, and I(X;Z) for each label set X.\n"
    "Z is a .npy (float16/32/64, 2-D), a .safetensors file (see --tensor) or a\n"
    "CSV/TSV text matrix (.csv, .tsv, .txt).\n"
    "\n"
    "  --labels NAME=PATH     a label set: .npy int32/int64 of shape (N,) or (N,k) for\n"
    "                         k-tuple keys, or a CSV/TSV column (NAME=PATH:COLUMN, a\n"
    "                         header name or 0-based index); repeatable\n"
    "  --bins M               reference points (default 100)\n"
    "  --seed S               seed of the reference points (default 0)\n"
    "  --calibration MODE     exact (default), bound, leading, or a number (eps)\n"
    "  --weighting W          prob (P(x), default) or uniform (mean over values)\n"
    "  --min-count K          drop label values seen fewer than K times (default 1)\n"
    "  --correction C         the bias correction the table leads with: curve\n"
    "                         (default: each value's own running means, no extra\n"
    "                         memory), taylor (Miller-Madow from each value's own\n"
    "                         variance), null (I - null mean; needs --null) or none\n"
    "                         (docs/statistics.md compares them)\n"
    "  --null R               R label permutations: null mean and sd, p-value, and\n"
    "                         the null-corrected I beside the headline\n"
    "  --null scaled[:ROWS]   the same null's mean and sd without permutations,\n"
    "                         from a sample of ROWS rows (default 16384; memory\n"
    "                         4 m + 16 bytes a row, not growing with the rows);\n"
    "                         p from the normal tail (docs/statistics.md)\n"
    "  --null-seed S          seed of the permutations (default 0)\n"
    "  --bootstrap B          B Poisson bootstrap replicates: intervals for H, I and\n"
    "                         the corrected I, over rows or over --groups\n"
    "  --bootstrap-seed S     seed of the replicates (default 0)\n"
    "  --level L              the intervals' level (default 0.95)\n"
    "  --groups PATH          the group (document) of each row, as a label file: the\n"
    "                         bootstrap resamples whole groups\n"
    "  --null-groups          the null permutes runs of a group's rows that share\n"
    "                         their labels, not rows: for labels of whole documents\n"
    "                         (needs --groups and --null)\n"
    "  --optimality OUT,IN    report I(OUT;Z)/I(IN;Z), the corrected ratio first;\n"
    "                         repeatable\n"
    "  --refpoints W.npy      load the reference points (m x d) instead of drawing them\n"
    "  --save-refpoints W.npy save the reference points used\n"
    "  --tensor NAME          safetensors tensor (NAME:LAYER for [layers, N, d])\n"
    "  --shard I/K            accumulate only shard I of K (rows split evenly); labels\n"
    "                         are still counted over all rows, so states merge exactly\n"
    "  --per-value            also report H(Z|X=x) for every label value\n"
    "  --units U              efficiency (fraction of log m, default), nats or bits\n"
    "  --json FILE            write results as JSON ('-' for stdout)\n"
    "  --csv FILE             write results as tidy CSV ('-' for stdout)\n"
    "  --save-state FILE      save the accumulator state (for merge and report)\n"
    "  --batch N              rows read at a time (default 8192)\n"
    "  --threads N            threads (default: all cores)\n"
    "  --max-memory MB        refuse a run whose accumulator would need more\n"
    "  --spill-dir DIR        keep the rows the null and bootstrap replay in an\n"
    "                         unlinked file in DIR (page cache) instead of memory\n"
    "  --product P            the rows' product with the reference points: f32\n"
    "                         (default) or bf16 (rows and points rounded to bf16,\n"
    "                         float32 sums; about 4x faster on AMX, opt-in since\n"
    "                         it moves H and I slightly: docs/estimator.md)\n"
    "  --quiet                no table (on stdout, or on stderr when --json or\n"
    "                         --csv is -)\n"
    "  -h, --help             this help\n";

enum {
    OPT_LABELS = 256, OPT_GROUPS, OPT_NULLGROUPS, OPT_OPT, OPT_REF, OPT_SAVEREF, OPT_TENSOR, OPT_SHARD, OPT_PERVALUE, OPT_JSON, OPT_CSV,
    OPT_STATE, OPT_BATCH, OPT_QUIET, OPT_UNITS
};

typedef struct {
    char *name;
    const char *path;   /* as given, column included */
    int64_t *keys;      /* [n, arity] */
    int64_t n;
    int arity;
} label_file;

typedef struct {
    softent_params params;
    const char *input, *tensor, *refpoints, *save_refpoints, *json, *csv, *state, *shard, *groups;
    label_file labels[64];
    int n_labels;
    const char *pairs[64];
    int n_pairs;
    int per_value, quiet, threads, units;
    int bins_given, seed_given;     /* --bins / --seed, which --refpoints replaces */
    int64_t batch, shard_i, shard_k;
    int ranks;           /* > 1 under mpirun: this rank's shard is shard_i of shard_k */
} options;

static int parse_labels_arg(options *o, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) return cli_usage_error("estimate", "--labels %s: give NAME=PATH", arg);
    if (o->n_labels == 64) return cli_usage_error("estimate", "at most 64 label sets");
    for (int k = 0; k < o->n_labels; k++)
        if (strlen(o->labels[k].name) == (size_t)(eq - arg) && !strncmp(o->labels[k].name, arg, (size_t)(eq - arg)))
            return cli_usage_error("estimate", "--labels %s: label set '%s' named twice", arg, o->labels[k].name);
    label_file *l = &o->labels[o->n_labels++];
    l->name = strndup(arg, (size_t)(eq - arg));
    l->path = eq + 1;
    return 0;
}

static int parse_options(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        ESTIMATOR_LONGOPTS, {"labels", required_argument, 0, OPT_LABELS},
        {"optimality", required_argument, 0, OPT_OPT}, {"refpoints", required_argument, 0, OPT_REF},
        {"save-refpoints", required_argument, 0, OPT_SAVEREF}, {"tensor", required_argument, 0, OPT_TENSOR},
        {"shard", required_argument, 0, OPT_SHARD}, {"per-value", no_argument, 0, OPT_PERVALUE},
        {"json", required_argument, 0, OPT_JSON}, {"csv", required_argument, 0, OPT_CSV},
        {"save-state", required_argument, 0, OPT_STATE}, {"batch", required_argument, 0, OPT_BATCH},
        {"quiet", no_argument, 0, OPT_QUIET}, {"units", required_argument, 0, OPT_UNITS},
        {"groups", required_argument, 0, OPT_GROUPS}, {"null-groups", no_argument, 0, OPT_NULLGROUPS},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    int c, rc;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (is_estimator_option(c)) {
            o->bins_given |= c == OPT_BINS, o->seed_given |= c == OPT_SEED;
            if ((rc = estimator_option(&o->params, &o->threads, c, optarg, "estimate"))) return rc;
            continue;
        }
        switch (c) {
        case 'h': fputs(USAGE, stdout); exit(0);
        case OPT_LABELS: if ((rc = parse_labels_arg(o, optarg))) return rc; break;
        case OPT_OPT:
            if (o->n_pairs == 64 || !strchr(optarg, ',')) return cli_usage_error("estimate", "--optimality %s: give OUT,IN", optarg);
            o->pairs[o->n_pairs++] = optarg;
            break;
        case OPT_REF: o->refpoints = optarg; break;
        case OPT_SAVEREF: o->save_refpoints = optarg; break;
        case OPT_TENSOR: o->tensor = optarg; break;
        case OPT_SHARD: {
            char *slash = strchr(optarg, '/');
            if (!slash) return cli_usage_error("estimate", "--shard %s: give I/K", optarg);
            *slash = '\0';
            int ok = parse_i64(optarg, 0, 1 << 20, &o->shard_i) && parse_i64(slash + 1, 1, 1 << 20, &o->shard_k) && o->shard_i < o->shard_k;
            *slash = '/';
            if (!ok) return cli_usage_error("estimate", "--shard %s: need I/K with 0 <= I < K", optarg);
            o->shard = optarg;
            break;
        }
        case OPT_PERVALUE: o->per_value = o->params.per_value = 1; break;
        case OPT_JSON: o->json = optarg; break;
        case OPT_CSV: o->csv = optarg; break;
        case OPT_STATE: o->state = optarg; break;
        case OPT_GROUPS: o->groups = optarg; break;
        case OPT_NULLGROUPS: o->params.null_groups = 1; break;
        case OPT_BATCH:
            if (!parse_i64(optarg, 1, 1 << 24, &o->batch)) return cli_usage_error("estimate", "--batch %s: need a positive integer", optarg);
            break;
        case OPT_QUIET: o->quiet = 1; break;
        case OPT_UNITS:
            if ((o->units = parse_units(optarg)) < 0) return cli_usage_error("estimate", "--units %s: use efficiency, nats or bits", optarg);
            break;
        default:
            return cli_usage_error("estimate", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage_error("estimate", optind >= argc ? "no embedding file given" : "one embedding file, please");
    o->input = argv[optind];
    if (o->refpoints && (o->bins_given || o->seed_given))
        return cli_usage_error("estimate", "--refpoints %s gives the reference points: --%s would be ignored; drop it", o->refpoints,
                               o->bins_given ? "bins" : "seed");
    if (o->groups && o->params.bootstrap == 0 && !o->params.null_groups)
        return cli_usage_error("estimate", "--groups %s: groups are what --bootstrap B resamples (and --null-groups permutes); give --bootstrap too", o->groups);
    if (o->params.null_groups && (!o->groups || o->params.null_perms == 0))
        return cli_usage_error("estimate", "--null-groups: the null permutes groups; give --groups FILE and --null R");
    if (o->params.null_groups && (o->state || o->shard))
        return cli_usage_error("estimate", "--null-groups with --save-state or --shard: a state does not keep a null over groups; run it in one process");
    if (o->shard && cli_mpi_size() > 1)
        return cli_usage_error("estimate", "--shard splits the rows by hand; under mpirun the ranks split them (drop --shard)");
    if (cli_mpi_size() > 1) o->ranks = cli_mpi_size(), o->shard_i = cli_mpi_rank(), o->shard_k = o->ranks;
    /* a saved state carries the null's sums so that shards merge it */
    if ((o->state || o->shard) && o->params.null_perms > 0) o->params.null_sums = 1;
    if ((o->state || o->shard) && o->params.bootstrap > 0)
        return cli_usage_error("estimate", "--bootstrap with --save-state or --shard: a state does not hold the rows a bootstrap resamples; "
                               "bootstrap a single-process run");
    return 0;
}

/* Labels: NAME=PATH, or NAME=PATH:COLUMN when PATH alone is not a file. */
static int load_labels(label_file *l, int64_t rows)
{
    char *path = strdup(l->path), *column = NULL;
    char *colon = strrchr(path, ':');
    if (access(path, F_OK) != 0 && colon) {
        *colon = '\0';
        column = colon + 1;
    }
    int rc = softent_labels_load(path, column, &l->keys, &l->n, &l->arity);
    const size_t len = strlen(path);
    const int text = len < 4 || strcmp(path + len - 4, ".npy");
    if (!rc && l->n != rows)
        rc = cli_error("%s: %lld labels for '%s', but the embeddings have %lld rows; give one label per row%s",
                       path, (long long)l->n, l->name, (long long)rows,
                       text && l->n + 1 == rows ? " (a first line with a field that is not an integer is read as a header: give the file one)" : "");
    else if (rc)
        rc = cli_lib_error(rc);
    free(path);
    return rc;
}

static int make_accumulator(options *o, int64_t rows, int64_t d, softent_acc **acc)
{
    float *w = NULL;
    int rc;
    if (o->refpoints) {
        int64_t m, wd;
        if ((rc = softent_npy_load_f32(o->refpoints, &w, &m, &wd))) return cli_lib_error(rc);
        if (wd != d) { free(w); return cli_error("%s: reference points have dimension %lld, the embeddings %lld", o->refpoints, (long long)wd, (long long)d); }
        o->params.m = m;
    }
    rc = softent_acc_new(acc, &o->params, d, w);
    free(w);
    if (rc) return cli_lib_error(rc);
    if (o->save_refpoints && (rc = softent_npy_save_f32(o->save_refpoints, softent_acc_refpoints(*acc), o->params.m, d)))
        return cli_lib_error(rc);
    /* One label file in memory at a time: load, count, free. */
    for (int k = 0; k < o->n_labels; k++) {
        label_file *l = &o->labels[k];
        int set;
        if ((rc = load_labels(l, rows))) return rc;
        if ((rc = softent_acc_add_labelset(*acc, l->name, l->arity, &set)) ||
            (rc = softent_acc_count(*acc, set, l->keys, l->n)))
            return cli_lib_error(rc);
        free(l->keys);
        l->keys = NULL;
    }
    if (o->groups) {
        label_file g = {"groups", o->groups, NULL, 0, 0};
        if ((rc = load_labels(&g, rows))) return rc;
        if (g.arity != 1) rc = cli_error("%s: groups must be one integer per row, not %d-tuples", o->groups, g.arity);
        else if ((rc = softent_acc_count_groups(*acc, g.keys, g.n))) rc = cli_lib_error(rc);
        free(g.keys);
        if (rc) return rc;
    }
    int64_t bytes = softent_acc_memory(*acc);
    if (bytes > (256 << 20)) fprintf(stderr, "softent: the accumulator will hold about %.0f MB\n", bytes / 1e6);
    return 0;
}

/* One batch read on its own thread, so reading the next batch overlaps
 * accumulating this one. */
typedef struct {
    softent_matrix *mat;
    int64_t row0, n;
    float *buf;           /* [n, d] */
    int status;
    char error[512];      /* the reader thread's softent_last_error() */
    pthread_t thread;
} batch_read;

static void *read_batch(void *arg)
{
    batch_read *b = arg;
    b->status = softent_matrix_read(b->mat, b->row0, b->n, b->buf);
    if (b->status) snprintf(b->error, sizeof b->error, "%s", softent_last_error());
    return NULL;
}

static int start_read(batch_read *b, int64_t row0, int64_t last, int64_t batch)
{
    b->row0 = row0;
    b->n = last - row0 < batch ? last - row0 : batch;
    if (pthread_create(&b->thread, NULL, read_batch, b) != 0) return cli_error("cannot start a reader thread");
    return 0;
}

static int check_usable(const options *o, const softent_acc *acc)
{
    softent_summary s;
    softent_acc_summary(acc, &s);
    /* a shard's rows may all be unusable; the merge judges the whole */
    if (s.rows > 0 && s.rows == s.skipped && !o->shard)
        return cli_error("%s: no usable rows: all %lld have zero or non-finite norm", o->input, (long long)s.rows);
    return 0;
}

static int accumulate(options *o, softent_matrix *mat, softent_acc *acc)
{
    const int64_t rows = softent_matrix_rows(mat), d = softent_matrix_cols(mat);
    int64_t first = 0, last = rows;
    if (o->shard || o->ranks > 1) {
        /* Even shards: the accumulator scores rows in tiles aligned to
         * global rows and defers the curve's readings that need earlier
         * shards' rows, so any boundary merges to one pass. */
        first = rows * o->shard_i / o->shard_k;
        last = rows * (o->shard_i + 1) / o->shard_k;
        int status = softent_acc_set_first_row(acc, first);
        if (status) return cli_lib_error(status);
    }
    /* float32 files are read in place (mapped, pages dropped behind us);
     * other dtypes through a reader thread that converts the next batch. */
    if (softent_matrix_view(mat, first, last > first ? 1 : 0)) {
        int rc = 0;
        for (int64_t r = first; r < last && !rc; r += o->batch) {
            int64_t n = last - r < o->batch ? last - r : o->batch;
            int status = softent_acc_add(acc, softent_matrix_view(mat, r, n), n, r);
            softent_matrix_release(mat, r, n);
            if (status) rc = cli_lib_error(status);
        }
        return rc;
    }
    batch_read b[2] = {{.mat = mat}, {.mat = mat}};
    for (int k = 0; k < 2; k++)
        if (!(b[k].buf = malloc((size_t)(o->batch * d) * sizeof(float) + 1))) {
            free(b[0].buf);
            return cli_error("out of memory for a batch of %lld rows", (long long)o->batch);
        }
    int rc = first < last ? start_read(&b[0], first, last, o->batch) : 0;
    int pending = first < last && !rc;
    for (int k = 0; pending; k ^= 1) {
        pthread_join(b[k].thread, NULL);
        pending = 0;
        if (b[k].status) { rc = cli_error("%s", b[k].error); break; }
        int64_t next = b[k].row0 + b[k].n;
        if (next < last && !(rc = start_read(&b[k ^ 1], next, last, o->batch))) pending = 1;
        int status = rc ? 0 : softent_acc_add(acc, b[k].buf, b[k].n, b[k].row0);
        if (status) rc = cli_lib_error(status);
        if (rc) {
            if (pending) pthread_join(b[k ^ 1].thread, NULL);
            break;
        }
    }
    free(b[0].buf);
    free(b[1].buf);
    return rc;
}

/* The rows in (under MPI: rank 0 has absorbed every rank's), finished;
 * -1 on ranks > 0, which are done. */
static int finish(options *o, softent_acc *acc)
{
    int rc = cli_mpi_gather(&acc, 1);
    if (rc || cli_mpi_rank() > 0) return rc ? rc : -1;
    if ((rc = softent_acc_finish(acc))) return cli_lib_error(rc);
    return check_usable(o, acc);
}

int cmd_estimate(int argc, char **argv)
{
    options o = {.params = softent_default_params(), .batch = 8192};
    softent_matrix *mat = NULL;
    softent_acc *acc = NULL;
    const char *label_paths[64];
    int agreed = 0;
    int rc = parse_options(argc, argv, &o);
    if (rc) goto done; /* the label names parsed so far are freed there */
    cli_set_threads(o.threads);
    if ((rc = softent_matrix_open(&mat, o.input, o.tensor))) { rc = cli_lib_error(rc); goto done; }
    const int64_t rows = softent_matrix_rows(mat), d = softent_matrix_cols(mat);
    if (d < 2) { rc = cli_error("%s: rows have dimension %lld; soft entropy needs d >= 2", o.input, (long long)d); goto done; }
    for (int k = 0; k < o.n_labels; k++) label_paths[k] = o.labels[k].path;
    if ((rc = make_accumulator(&o, rows, d, &acc))) goto done;
    run_info info = {o.input, o.tensor, o.refpoints, o.shard, label_paths, o.pairs, o.n_pairs, o.per_value, o.units, o.groups != NULL};
    if ((rc = check_pairs(acc, &info, "estimate"))) goto done;
    /* under MPI every rank reaches this agreement, or the one at done */
    agreed = 1;
    rc = cli_mpi_agree(accumulate(&o, mat, acc));
    if (rc || (rc = finish(&o, acc))) {
        if (rc < 0) rc = 0; /* a rank > 0 has handed its shard on */
        goto done;
    }

    if (!o.quiet) write_table(acc, &info, table_stream(o.json, o.csv));
    if (o.json && (rc = write_json(acc, &info, o.json))) goto done;
    if (o.csv && (rc = write_csv(acc, &info, o.csv))) goto done;
    if (o.state && (rc = softent_acc_save(acc, o.state))) rc = cli_lib_error(rc);
done:
    if (!agreed) cli_mpi_agree(rc);
    for (int k = 0; k < o.n_labels; k++) {
        free(o.labels[k].name);
        free(o.labels[k].keys);
    }
    softent_acc_free(acc);
    softent_matrix_close(mat);
    return rc;
}
