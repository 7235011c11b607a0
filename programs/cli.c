/* cli.c - error reporting and argument parsing shared by the subcommands. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

#ifdef _OPENMP
#include <omp.h>
#endif

void openblas_set_num_threads(int num_threads);

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("softent: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_lib_error(int status)
{
    const char *detail = softent_last_error();
    return cli_error("%s", *detail ? detail : softent_strerror(status));
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "softent %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'softent %s --help')\n", cmd);
    va_end(ap);
    return EXIT_USAGE;
}

int cli_file_open(cli_file *cf, const char *path)
{
    memset(cf, 0, sizeof *cf);
    cf->path = path;
    if (!strcmp(path, "-")) {
        cf->f = stdout;
        return 0;
    }
    if (se_atomic_open(&cf->a, path)) return cli_lib_error(SOFTENT_E_IO);
    cf->f = cf->a.f;
    return 0;
}

int cli_file_commit(cli_file *cf, int ok)
{
    if (cf->f == stdout) return ok && !ferror(stdout) ? 0 : cli_error("%s: write failed", cf->path);
    if (ok && !ferror(cf->f)) return se_atomic_commit(&cf->a) ? cli_lib_error(SOFTENT_E_IO) : 0;
    se_atomic_abort(&cf->a);
    return cli_error("%s: write failed", cf->path);
}

int cli_write_text(const char *path, const char *text)
{
    cli_file cf;
    if (!text) return cli_error("%s: out of memory", path);
    if (cli_file_open(&cf, path)) return 1;
    int ok = fputs(text, cf.f) >= 0 && fputc('\n', cf.f) != EOF;
    return cli_file_commit(&cf, ok);
}

int cli_write_json(const char *path, cJSON *root)
{
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    int rc = cli_write_text(path, text);
    free(text);
    return rc;
}

void cli_json_number(cJSON *o, const char *name, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, name, v);
    else cJSON_AddNullToObject(o, name);
}

void cli_json_interval(cJSON *o, const char *name, double lo, double hi)
{
    cJSON *pair = cJSON_AddArrayToObject(o, name);
    cJSON_AddItemToArray(pair, isfinite(lo) ? cJSON_CreateNumber(lo) : cJSON_CreateNull());
    cJSON_AddItemToArray(pair, isfinite(hi) ? cJSON_CreateNumber(hi) : cJSON_CreateNull());
}

int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

int parse_f64(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

void cli_set_threads(int threads)
{
    if (threads <= 0) return;
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    openblas_set_num_threads(threads);
}

int parse_compute(const char *s, softent_compute *out, const char *cmd)
{
    static const char *const names[] = {"auto", "f32", "bf16"};  /* by softent_compute */
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, names[i])) {
            *out = (softent_compute)i;
            return 0;
        }
    return cli_usage_error(cmd, "--compute %s: use auto, f32 or bf16", s);
}

const char *compute_name(softent_compute c)
{
    return c == SOFTENT_COMPUTE_BF16 ? "bf16" : "f32";
}

int cli_model_load(softent_model **model, const char *path, softent_compute compute)
{
    int rc = softent_model_load(model, path);
    if (!rc && compute != SOFTENT_COMPUTE_AUTO && (rc = softent_model_set_compute(*model, compute))) {
        softent_model_free(*model);
        *model = NULL;
    }
    return rc ? cli_lib_error(rc) : 0;
}

double units_factor(int units, int64_t m)
{
    return units == UNITS_NATS ? log((double)m) : units == UNITS_BITS ? log2((double)m) : 1.0;
}

const char *units_name(int units)
{
    static const char *names[] = {"efficiency: entropy / log(m)", "nats", "bits"};
    return names[units];
}

int parse_units(const char *s)
{
    if (!strcmp(s, "efficiency")) return UNITS_EFFICIENCY;
    if (!strcmp(s, "nats")) return UNITS_NATS;
    if (!strcmp(s, "bits")) return UNITS_BITS;
    return -1;
}
