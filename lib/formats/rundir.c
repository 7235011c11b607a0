/*
 * rundir.c - the run-directory format (see softent_io.h): checkpoints
 * RUN_DIR/step-N/ made atomic by building step-N.tmp/ and renaming it, and
 * the loss log RUN_DIR/loss.csv.  One writer (softent train) and one reader
 * (softent trace) share it here, so the format is written down once.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fs.h"
#include "softent_io.h"

#define LOSS_CSV_HEADER "step,lr,train_loss,val_loss,tokens_per_s\n"

/* The checkpoint-name conventions: softent's step-N, Pythia's stepN,
 * Hugging Face Trainer's checkpoint-N, DeepSpeed's global_stepN, Megatron's
 * iter_N; a '-' or '_' after the prefix is optional. */
static const char *const STEP_PREFIXES[] = {"global_step", "checkpoint", "step", "iter", "ckpt", NULL};

int softent_rundir_parse_step(const char *path, int64_t *step)
{
    const char *base = strrchr(path, '/');
    base = base && base[1] ? base + 1 : path;
    for (int k = 0; STEP_PREFIXES[k]; k++) {
        const size_t len = strlen(STEP_PREFIXES[k]);
        if (strncmp(base, STEP_PREFIXES[k], len)) continue;
        const char *digits = base + len + (base[len] == '-' || base[len] == '_');
        if (*digits < '0' || *digits > '9') return 0;
        char *end;
        errno = 0;
        long long v = strtoll(digits, &end, 10);
        if (*end || errno || v < 0) return 0;
        *step = v;
        return 1;
    }
    return 0;
}

int softent_rundir_checkpoint_step(const char *dir, int64_t *step)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') len--;
    char *name = strndup(dir, len);
    if (!name) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    const int named = softent_rundir_parse_step(name, step);
    free(name);
    if (named) return SOFTENT_OK;
    char *path = se_path_join(dir, "trainer_state.json");
    if (!path) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    if (access(path, F_OK) != 0) {
        free(path);
        return se_fail(SOFTENT_E_INVALID, "%s: no step in its name (step-N, stepN, checkpoint-N, global_stepN, iter_N) and no trainer_state.json; give the steps with --steps", dir);
    }
    char *text;
    int rc = se_read_file(path, (size_t)1 << 26, &text, NULL);
    cJSON *j = rc ? NULL : cJSON_Parse(text);
    free(text);
    const cJSON *g = j ? cJSON_GetObjectItemCaseSensitive(j, "global_step") : NULL;
    if (!rc && !(cJSON_IsNumber(g) && g->valuedouble >= 0 && g->valuedouble <= 9e15 && g->valuedouble == floor(g->valuedouble)))
        rc = se_fail(SOFTENT_E_FORMAT, "%s: no integer \"global_step\" >= 0 (give the steps with --steps)", path);
    else if (!rc) *step = (int64_t)g->valuedouble;
    cJSON_Delete(j);
    free(path);
    return rc;
}

static int by_step(const void *a, const void *b)
{
    const softent_rundir_checkpoint *x = a, *y = b;
    return (x->step > y->step) - (x->step < y->step);
}

static int is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int append(softent_rundir_checkpoint **list, int *n, size_t *cap, int64_t step, char *path)
{
    if (*n == INT32_MAX) return se_fail(SOFTENT_E_LIMIT, "more than 2^31 checkpoints");
    int rc = se_grow(list, cap, (size_t)*n + 1, sizeof **list);
    if (!rc) (*list)[(*n)++] = (softent_rundir_checkpoint){step, path};
    return rc;
}

int softent_rundir_list(const char *run_dir, softent_rundir_checkpoint **out, int *n_out)
{
    *out = NULL;
    *n_out = 0;
    DIR *dir = opendir(run_dir);
    if (!dir) return se_fail(SOFTENT_E_IO, "%s: cannot open: %s", run_dir, strerror(errno));
    softent_rundir_checkpoint *list = NULL;
    int n = 0, rc = SOFTENT_OK;
    size_t cap = 0;
    struct dirent *e;
    while (!rc && (e = readdir(dir))) {
        int64_t step;
        if (!softent_rundir_parse_step(e->d_name, &step)) continue;
        char *path = se_path_join(run_dir, e->d_name);
        if (!path) rc = se_fail(SOFTENT_E_NOMEM, "out of memory");
        else if (!is_dir(path)) free(path);
        else if ((rc = append(&list, &n, &cap, step, path))) free(path);
    }
    closedir(dir);
    if (rc) {
        softent_rundir_list_free(list, n);
        return rc;
    }
    if (n > 1) qsort(list, (size_t)n, sizeof *list, by_step); /* qsort wants a non-null array */
    for (int i = 1; i < n && !rc; i++)
        if (list[i].step == list[i - 1].step)
            rc = se_fail(SOFTENT_E_INVALID, "%s and %s are both step %lld: keep one", list[i - 1].path, list[i].path, (long long)list[i].step);
    if (rc) {
        softent_rundir_list_free(list, n);
        return rc;
    }
    *out = list;
    *n_out = n;
    return SOFTENT_OK;
}

void softent_rundir_list_free(softent_rundir_checkpoint *list, int n)
{
    for (int i = 0; list && i < n; i++) free(list[i].path);
    free(list);
}

static char *step_path(const char *run_dir, int64_t step, const char *suffix)
{
    char name[64];
    snprintf(name, sizeof name, "step-%lld%s", (long long)step, suffix);
    return se_path_join(run_dir, name);
}

char *softent_rundir_step_path(const char *run_dir, int64_t step)
{
    return step_path(run_dir, step, "");
}

/* A checkpoint directory of ours: its files, then itself (none is fine). */
static int remove_checkpoint(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? SOFTENT_OK : se_fail(SOFTENT_E_IO, "%s: cannot open: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *f = se_path_join(dir, e->d_name);
        if (f) unlink(f);
        free(f);
    }
    closedir(d);
    return rmdir(dir) == 0 ? SOFTENT_OK : se_fail(SOFTENT_E_IO, "%s: cannot remove the old checkpoint: %s", dir, strerror(errno));
}

int softent_rundir_stage(const char *run_dir, int64_t step, char **tmp_dir)
{
    char *tmp = step_path(run_dir, step, ".tmp");
    *tmp_dir = NULL;
    if (!tmp) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    int rc = remove_checkpoint(tmp);
    if (!rc && mkdir(tmp, 0777) != 0) rc = se_fail(SOFTENT_E_IO, "%s: cannot create directory: %s", tmp, strerror(errno));
    if (rc) free(tmp);
    else *tmp_dir = tmp;
    return rc;
}

int softent_rundir_commit(const char *run_dir, int64_t step)
{
    char *tmp = step_path(run_dir, step, ".tmp"), *dir = step_path(run_dir, step, "");
    int rc = tmp && dir ? remove_checkpoint(dir) : se_fail(SOFTENT_E_NOMEM, "out of memory");
    if (!rc && rename(tmp, dir) != 0) rc = se_fail(SOFTENT_E_IO, "%s: cannot rename to %s: %s", tmp, dir, strerror(errno));
    free(tmp);
    free(dir);
    return rc;
}

const char *softent_loss_csv_header(void)
{
    return LOSS_CSV_HEADER;
}

int softent_loss_csv_row(char *buf, size_t size, int64_t step, double lr, double train_loss, double val_loss, double tokens_per_s)
{
    char val[32] = "";
    if (!isnan(val_loss)) snprintf(val, sizeof val, "%.6f", val_loss);
    return snprintf(buf, size, "%lld,%.6g,%.6f,%s,%.0f\n", (long long)step, lr, train_loss, val, tokens_per_s);
}

/* step,lr,train_loss,val_loss: 1 when the row has all four (a step
 * without validation leaves val_loss empty). */
static int parse_row(const char *line, int64_t *step, double *val)
{
    long long s;
    double lr, train;
    if (sscanf(line, "%lld,%lf,%lf,%lf", &s, &lr, &train, val) != 4) return 0;
    *step = s;
    return 1;
}

int softent_loss_csv_read(const char *path, int64_t **steps, double **val_loss, int64_t *n)
{
    *steps = NULL;
    *val_loss = NULL;
    *n = 0;
    FILE *f = fopen(path, "r");
    if (!f) return se_fail(SOFTENT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 0, cap_val = 0;
    int rc = SOFTENT_OK;
    char line[512];
    while (!rc && fgets(line, sizeof line, f)) {
        int64_t step;
        double val;
        if (!parse_row(line, &step, &val)) continue;
        if ((rc = se_grow(steps, &cap, (size_t)*n + 1, sizeof **steps)) ||
            (rc = se_grow(val_loss, &cap_val, (size_t)*n + 1, sizeof **val_loss)))
            break;
        (*steps)[*n] = step;
        (*val_loss)[(*n)++] = val;
    }
    fclose(f);
    if (rc) {
        free(*steps), free(*val_loss);
        *steps = NULL, *val_loss = NULL, *n = 0;
    }
    return rc;
}
