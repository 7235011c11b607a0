/* commands.c - `softent calibrate`, `softent merge` and `softent report`. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis.h"
#include "cli.h"
#include "common/fs.h"

static const char CALIBRATE_USAGE[] =
    "usage: softent calibrate --dim D --bins M [--calibration exact|bound|leading]\n"
    "\n"
    "Print the temperature eps for d-dimensional embeddings and m reference\n"
    "points, and KL(vMF_eps || uniform) beside log m.\n";

int cmd_calibrate(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dim", required_argument, 0, 'd'}, {"bins", required_argument, 0, 'm'},
        {"calibration", required_argument, 0, 'c'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    int64_t d = 0, m = 100;
    softent_calibration mode = SOFTENT_CAL_EXACT;
    double eps = 0;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(CALIBRATE_USAGE, stdout); return 0;
        case 'd': if (!parse_i64(optarg, INT64_MIN, INT64_MAX, &d)) return cli_usage_error("calibrate", "--dim %s: need an integer", optarg); break;
        case 'm': if (!parse_i64(optarg, INT64_MIN, INT64_MAX, &m)) return cli_usage_error("calibrate", "--bins %s: need an integer", optarg); break;
        case 'c':
            if (softent_calibration_parse(optarg, &mode, &eps) || mode == SOFTENT_CAL_FIXED)
                return cli_usage_error("calibrate", "--calibration %s: use exact, bound or leading", optarg);
            break;
        default: return cli_usage_error("calibrate", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc) return cli_usage_error("calibrate", "unexpected argument '%s'", argv[optind]);
    if (d == 0) return cli_usage_error("calibrate", "--dim is required");
    int rc = softent_calibrate(mode, d, m, &eps);
    if (rc) return cli_lib_error(rc);
    double kl = 0;
    softent_kl_vmf(eps, d, &kl);
    printf("eps %.12g\nkappa %.12g\nmode %s\nd %lld\nm %lld\nKL_exact %.12g\nlog_m %.12g\n", eps, 1 / eps,
           softent_calibration_name(mode), (long long)d, (long long)m, kl, log((double)m));
    return 0;
}

static const char MERGE_USAGE[] =
    "usage: softent merge STATE... -o OUT\n"
    "       softent merge SHARD_DIR... -o OUT\n"
    "\n"
    "Add the statistics of shard states (softent estimate --shard I/K\n"
    "--save-state) into one state, equal to a single pass over all rows.\n"
    "The states may come in any order; they are merged in row order.  A shard\n"
    "given twice (or two that overlap) is refused, and so are missing rows,\n"
    "named, unless --allow-missing is given (the state then holds fewer rows).\n"
    "\n"
    "Given the --out directories of softent analyze or trace run with --shard\n"
    "I/K, write the run's results into the directory OUT, as one process\n"
    "would: the shards' command is run again (from shard 0's shard.json, in\n"
    "this directory: the model and corpus paths must still hold) with every\n"
    "shard's accumulators added in part order.  Every shard is needed, once.\n";

/* A state to merge and the rows it spans. */
typedef struct {
    const char *path;
    int64_t first, end, labelled;
} shard_state;

static int by_rows(const void *a, const void *b)
{
    const shard_state *x = a, *y = b;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* The shards, sorted, must tile the labelled rows: no overlaps, and gaps
 * only when allowed (each named). */
static int check_shards(const shard_state *s, int n, int allow_missing)
{
    int64_t at = 0, missing = 0;
    for (int i = 0; i < n; i++) {
        if (s[i].end <= s[i].first) continue;  /* an empty shard */
        if (s[i].first < at)
            for (int j = i - 1; j >= 0; j--)
                if (s[j].end > s[i].first)
                    return cli_error("%s and %s hold some of the same rows (%lld..%lld and %lld..%lld): a shard given twice?", s[j].path,
                                     s[i].path, (long long)s[j].first, (long long)s[j].end - 1, (long long)s[i].first, (long long)s[i].end - 1);
        if (s[i].first > at) {
            fprintf(stderr, "softent merge: rows %lld..%lld are in none of the states (before %s)\n", (long long)at,
                    (long long)s[i].first - 1, s[i].path);
            missing += s[i].first - at;
        }
        at = s[i].end;
    }
    if (s[0].labelled > at) {
        fprintf(stderr, "softent merge: rows %lld..%lld are in none of the states (the labels cover %lld rows)\n", (long long)at,
                (long long)s[0].labelled - 1, (long long)s[0].labelled);
        missing += s[0].labelled - at;
    }
    if (missing > 0 && !allow_missing)
        return cli_error("%lld rows are missing: merge every shard (estimate --shard I/K for each I), or pass --allow-missing",
                         (long long)missing);
    return 0;
}

/* Each state's rows, and whether its settings and labels match the first
 * state's, read two states at a time (as a merge holds them). */
static int read_rows(shard_state *s, int n)
{
    softent_acc *first = NULL;
    int status = 0;
    for (int i = 0; i < n && !status; i++) {
        softent_acc *acc = NULL;
        status = softent_acc_load(&acc, s[i].path);
        if (status) break;
        softent_acc_rows(acc, &s[i].first, &s[i].end, &s[i].labelled);
        if (i == 0) first = acc;
        else {
            status = softent_acc_mergeable(first, acc);
            softent_acc_free(acc);
        }
    }
    softent_acc_free(first);
    return status ? cli_lib_error(status) : 0;
}

/* The states in row order into one, saved to out. */
static int merge_states(const shard_state *s, int n, int partial, const char *out)
{
    softent_acc *total = NULL, *next = NULL;
    int status = softent_acc_load(&total, s[0].path);
    for (int i = 1; i < n && !status; i++) {
        status = softent_acc_load(&next, s[i].path);
        if (!status) status = partial ? softent_acc_merge_partial(total, next) : softent_acc_merge(total, next);
        softent_acc_free(next);
        next = NULL;
    }
    softent_summary sum;
    if (!status) status = softent_acc_summary(total, &sum);
    int rc = status ? cli_lib_error(status) : 0;
    if (!rc && sum.rows > 0 && sum.rows == sum.skipped)
        rc = cli_error("no usable rows in any state: all %lld have zero or non-finite norm", (long long)sum.rows);
    if (!rc && (status = softent_acc_save(total, out))) rc = cli_lib_error(status);
    softent_acc_free(total);
    return rc;
}

/* A path made absolute against the current directory (malloc'ed). */
static char *absolute(const char *path)
{
    char cwd[4096];
    if (path[0] == '/' || !getcwd(cwd, sizeof cwd)) return strdup(path);
    return se_path_join(cwd, path);
}

/* analyze's or trace's shards merged into out: their command runs again
 * from the directory it ran in (its relative paths mean what they meant),
 * the shards and out taken where this command was given. */
static int merge_analysis(char **given, int n, const char *out)
{
    char **dirs = calloc((size_t)n, sizeof *dirs), *abs_out = absolute(out);
    int rc = dirs && abs_out ? 0 : cli_error("out of memory");
    for (int i = 0; !rc && i < n; i++)
        if (!(dirs[i] = absolute(given[i]))) rc = cli_error("out of memory");
    analysis_shards shards = {0};
    if (!rc) rc = analysis_shards_read(dirs, n, &shards);
    if (!rc && shards.cwd[0] && chdir(shards.cwd) != 0)
        rc = cli_error("%s: the directory the shards ran in is gone (%s); run their command there, or merge from a copy of it",
                       shards.cwd, strerror(errno));
    if (!rc) rc = !strcmp(shards.command, "analyze") ? analyze_merge(&shards, abs_out) : trace_merge(&shards, abs_out);
    analysis_shards_free(&shards);
    for (int i = 0; dirs && i < n; i++) free(dirs[i]);
    free(dirs);
    free(abs_out);
    return rc;
}

int cmd_merge(int argc, char **argv)
{
    enum { OPT_ALLOW_MISSING = 256 };
    static const struct option longopts[] = {{"output", required_argument, 0, 'o'}, {"allow-missing", no_argument, 0, OPT_ALLOW_MISSING},
                                             {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = NULL;
    int c, allow_missing = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(MERGE_USAGE, stdout); return 0;
        case 'o': out = optarg; break;
        case OPT_ALLOW_MISSING: allow_missing = 1; break;
        default: return cli_usage_error("merge", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (!out) return cli_usage_error("merge", "-o OUT is required");
    if (optind >= argc) return cli_usage_error("merge", "no states given");
    struct stat st;
    if (stat(argv[optind], &st) == 0 && S_ISDIR(st.st_mode)) {
        if (allow_missing) return cli_usage_error("merge", "--allow-missing merges estimate's states; an analysis needs every shard");
        return merge_analysis(argv + optind, argc - optind, out);
    }
    const int n = argc - optind;
    shard_state *s = calloc((size_t)n, sizeof *s);
    if (!s) return cli_error("out of memory");
    for (int i = 0; i < n; i++) s[i].path = argv[optind + i];
    int rc = read_rows(s, n);
    if (!rc) {
        qsort(s, (size_t)n, sizeof *s, by_rows);
        rc = check_shards(s, n, allow_missing);
    }
    if (!rc) rc = merge_states(s, n, allow_missing, out);
    free(s);
    return rc;
}

static const char REPORT_USAGE[] =
    "usage: softent report STATE [--json FILE] [--csv FILE] [--per-value] [--optimality OUT,IN]\n"
    "                      [--units efficiency|nats|bits] [--quiet]\n"
    "\n"
    "Print the measures of a saved state (after estimate --save-state or merge).\n"
    "--json - or --csv - writes to stdout and the table to stderr; --quiet leaves\n"
    "the table out.\n";

int cmd_report(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", required_argument, 0, 'j'}, {"csv", required_argument, 0, 'c'},
        {"per-value", no_argument, 0, 'v'}, {"optimality", required_argument, 0, 'p'},
        {"units", required_argument, 0, 'u'}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *json = NULL, *csv = NULL, *pairs[64];
    int c, n_pairs = 0, per_value = 0, units = UNITS_EFFICIENCY, quiet = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(REPORT_USAGE, stdout); return 0;
        case 'j': json = optarg; break;
        case 'c': csv = optarg; break;
        case 'v': per_value = 1; break;
        case 'q': quiet = 1; break;
        case 'u':
            if ((units = parse_units(optarg)) < 0) return cli_usage_error("report", "--units %s: use efficiency, nats or bits", optarg);
            break;
        case 'p':
            if (n_pairs == 64 || !strchr(optarg, ',')) return cli_usage_error("report", "--optimality %s: give OUT,IN", optarg);
            pairs[n_pairs++] = optarg;
            break;
        default: return cli_usage_error("report", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage_error("report", "give one state file");
    softent_acc *acc;
    int rc = softent_acc_load(&acc, argv[optind]);
    if (rc) return cli_lib_error(rc);
    run_info info = {argv[optind], NULL, NULL, NULL, NULL, pairs, n_pairs, per_value, units, 0};
    rc = check_pairs(acc, &info, "report");
    if (!rc && !quiet) write_table(acc, &info, table_stream(json, csv));
    if (!rc && json) rc = write_json(acc, &info, json);
    if (!rc && csv) rc = write_csv(acc, &info, csv);
    softent_acc_free(acc);
    return rc;
}
