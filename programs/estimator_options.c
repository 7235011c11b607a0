/* estimator_options.c - the estimator's options, parsed once (see estimator_options.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "estimator_options.h"

static int parse_weighting(softent_params *p, const char *arg, const char *cmd)
{
    if (!strcmp(arg, "prob")) p->weighting = SOFTENT_WEIGHT_PROB;
    else if (!strcmp(arg, "uniform")) p->weighting = SOFTENT_WEIGHT_UNIFORM;
    else return cli_usage_error(cmd, "--weighting %s: use prob or uniform", arg);
    return 0;
}

int estimator_option(softent_params *p, int *threads, int c, const char *arg, const char *cmd)
{
    int64_t v;
    switch (c) {
    case OPT_BINS:
        if (!parse_i64(arg, 2, 1000000, &p->m)) return cli_usage_error(cmd, "--bins %s: need an integer m in 2..1000000", arg);
        return 0;
    case OPT_SEED:
        if (!parse_i64(arg, 0, INT64_MAX, &v)) return cli_usage_error(cmd, "--seed %s: need a non-negative integer", arg);
        p->seed = (uint64_t)v;
        return 0;
    case OPT_CAL:
        if (softent_calibration_parse(arg, &p->calibration, &p->eps))
            return cli_usage_error(cmd, "--calibration %s: use exact, bound, leading or a positive number", arg);
        return 0;
    case OPT_WEIGHT: return parse_weighting(p, arg, cmd);
    case OPT_MINCOUNT:
        if (!parse_i64(arg, 1, INT64_MAX, &p->min_count)) return cli_usage_error(cmd, "--min-count %s: need an integer >= 1", arg);
        return 0;
    case OPT_NULL:
        if (!strncmp(arg, "scaled", 6)) {
            p->null_perms = 0;
            p->null_reservoir = SOFTENT_NULL_RESERVOIR;
            if (arg[6] == ':' && !parse_i64(arg + 7, 2, (int64_t)1 << 26, &p->null_reservoir))
                return cli_usage_error(cmd, "--null %s: need scaled:ROWS, ROWS in 2..2^26", arg);
            if (arg[6] && arg[6] != ':') return cli_usage_error(cmd, "--null %s: use R (permutations) or scaled[:ROWS]", arg);
            return 0;
        }
        if (!parse_i64(arg, 0, 100000, &v)) return cli_usage_error(cmd, "--null %s: need R in 0..100000, or scaled[:ROWS]", arg);
        p->null_perms = (int)v;
        p->null_reservoir = 0;
        return 0;
    case OPT_NULLSEED:
        if (!parse_i64(arg, 0, INT64_MAX, &v)) return cli_usage_error(cmd, "--null-seed %s: need a non-negative integer", arg);
        p->null_seed = (uint64_t)v;
        return 0;
    case OPT_CORRECTION:
        if (softent_correction_parse(arg, &p->correction))
            return cli_usage_error(cmd, "--correction %s: use curve (the default), taylor, null (needs --null R) or none", arg);
        return 0;
    case OPT_BOOTSTRAP:
        if (!parse_i64(arg, 0, 100000, &v) || v == 1)
            return cli_usage_error(cmd, "--bootstrap %s: need 0 (none) or B in 2..100000 replicates (200 or more for an interval)", arg);
        p->bootstrap = (int)v;
        return 0;
    case OPT_BOOTSEED:
        if (!parse_i64(arg, 0, INT64_MAX, &v)) return cli_usage_error(cmd, "--bootstrap-seed %s: need a non-negative integer", arg);
        p->bootstrap_seed = (uint64_t)v;
        return 0;
    case OPT_LEVEL: {
        char *end;
        double l = strtod(arg, &end);
        if (end == arg || *end || !(l > 0 && l < 1)) return cli_usage_error(cmd, "--level %s: need a number strictly between 0 and 1 (0.95)", arg);
        p->level = l;
        return 0;
    }
    case OPT_THREADS:
        if (!parse_i64(arg, 1, 4096, &v)) return cli_usage_error(cmd, "--threads %s: need a positive integer", arg);
        *threads = (int)v;
        return 0;
    case OPT_MAXMEM:
        if (!parse_i64(arg, 1, INT64_MAX / 1000000, &v)) return cli_usage_error(cmd, "--max-memory %s: need megabytes", arg);
        p->max_memory = v * 1000000; /* MB, as every message prints it */
        return 0;
    case OPT_SPILL: {
        struct stat st;
        if (stat(arg, &st) != 0 || !S_ISDIR(st.st_mode) || access(arg, W_OK | X_OK) != 0)
            return cli_usage_error(cmd, "--spill-dir %s: not a directory this process can write to", arg);
        p->spill_dir = arg;
        return 0;
    }
    case OPT_PRODUCT:
        if (softent_product_parse(arg, &p->product))
            return cli_usage_error(cmd, "--product %s: use f32 (the default) or bf16 (opt-in: about 4x faster on AMX, "
                                   "moves H and I slightly; docs/estimator.md)", arg);
        return 0;
    }
    return cli_usage_error(cmd, "unknown option");
}
