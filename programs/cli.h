/*
 * cli.h - what the softent subcommands share: error reporting, strict
 * number parsing, and the result writers (output.c).
 */
#ifndef SOFTENT_CLI_H
#define SOFTENT_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "common/fs.h"
#include "softent.h"
#include "softent_model.h"

#define EXIT_USAGE 2

/* Print "softent: <message>" on stderr; return 1. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report a library failure (its detail names the file); return 1. */
int cli_lib_error(int status);
/* Print "softent CMD: <message>" and a hint to run --help; return 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A result file written atomically (common/fs.h: a reader, or a run killed
 * midway, sees the old file or the whole new one); "-" is stdout.  Write
 * through f.  Both print their error ("PATH: cannot write: ..." or "PATH:
 * write failed") and return 1; cli_file_commit also drops the file when
 * ok is 0 (a write the caller saw fail). */
typedef struct {
    se_atomic_file a;
    FILE *f;
    const char *path; /* borrowed */
} cli_file;
int cli_file_open(cli_file *cf, const char *path);
int cli_file_commit(cli_file *cf, int ok);
/* text and a newline, to path. */
int cli_write_text(const char *path, const char *text);
/* root printed as JSON to path; root is freed (cJSON_Delete). */
typedef struct cJSON cJSON;
int cli_write_json(const char *path, cJSON *root);
/* o[name] = v, or null when v is not finite: JSON has no NaN. */
void cli_json_number(cJSON *o, const char *name, double v);
/* An interval [lo, hi] as a two-element array, each null where undefined. */
void cli_json_interval(cJSON *o, const char *name, double lo, double hi);

int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out);
int parse_f64(const char *s, double *out);
/* Sets OpenMP and OpenBLAS threads (0 leaves the defaults). */
void cli_set_threads(int threads);

/* --compute auto|f32|bf16: the forward's products (softent_compute);
 * 0 or a usage error of cmd. */
int parse_compute(const char *s, softent_compute *out, const char *cmd);
#define COMPUTE_HELP                                                                    \
    "  --compute C          the weight products: auto (bf16 for a bf16 checkpoint\n"   \
    "                       on a CPU with AMX / AVX512-BF16, else f32), f32, bf16\n"
/* "f32" or "bf16", as results record it. */
const char *compute_name(softent_compute c);
/* softent_model_load, then softent_model_set_compute: 0 or the exit status. */
int cli_model_load(softent_model **model, const char *path, softent_compute compute);

/* What a run reads and asks for, recorded beside its results. */
typedef struct {
    const char *input;      /* embedding file */
    const char *tensor;     /* safetensors tensor, or NULL */
    const char *refpoints;  /* file the reference points came from, or NULL */
    const char *shard;      /* "I/K" or NULL */
    const char **label_paths; /* [n_labelsets] */
    const char **pairs;     /* [n_pairs] "OUT,IN" optimality pairs */
    int n_pairs;
    int per_value;
    int units;              /* UNITS_* */
    int grouped;            /* the bootstrap resampled --groups, not rows */
} run_info;

/* Entropies are efficiencies (fractions of log m) unless asked otherwise. */
enum { UNITS_EFFICIENCY = 0, UNITS_NATS = 1, UNITS_BITS = 2 };
/* Parse "efficiency", "nats" or "bits"; -1 when none. */
int parse_units(const char *s);
/* What an efficiency is multiplied by in units: 1, log m or log2 m. */
double units_factor(int units, int64_t m);
/* The units' name as results record it: "efficiency: entropy / log(m)", "nats", "bits". */
const char *units_name(int units);

/* The readable table on f, and JSON / CSV files when paths are given
 * ("-" writes to stdout; the table then goes to stderr, so that stdout
 * parses: table_stream says where). */
int write_table(const softent_acc *acc, const run_info *info, FILE *f);
FILE *table_stream(const char *json, const char *csv);
int write_json(const softent_acc *acc, const run_info *info, const char *path);
int write_csv(const softent_acc *acc, const run_info *info, const char *path);
/* Check that every OUT,IN pair names two label sets (a usage error of cmd). */
int check_pairs(const softent_acc *acc, const run_info *info, const char *cmd);

int cmd_estimate(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_tokenizer(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_correlate(int argc, char **argv);
int cmd_eval(int argc, char **argv);

#endif
