/* commands.c - `softent calibrate`, `softent merge` and `softent report`. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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
    "\n"
    "Add the statistics of shard states (softent estimate --shard I/K\n"
    "--save-state) into one state, equal to a single pass over all rows.\n";

int cmd_merge(int argc, char **argv)
{
    static const struct option longopts[] = {{"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(MERGE_USAGE, stdout); return 0;
        case 'o': out = optarg; break;
        default: return cli_usage_error("merge", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (!out) return cli_usage_error("merge", "-o OUT is required");
    if (optind >= argc) return cli_usage_error("merge", "no states given");
    softent_acc *total = NULL, *next = NULL;
    int rc = softent_acc_load(&total, argv[optind]);
    for (int i = optind + 1; i < argc && !rc; i++) {
        rc = softent_acc_load(&next, argv[i]);
        if (!rc) rc = softent_acc_merge(total, next);
        softent_acc_free(next);
        next = NULL;
    }
    if (!rc) rc = softent_acc_save(total, out);
    softent_acc_free(total);
    return rc ? cli_lib_error(rc) : 0;
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
