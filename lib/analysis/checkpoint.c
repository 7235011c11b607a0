/*
 * checkpoint.c - a run's checkpoint: its accumulators and its place.
 *
 * dir/g0/ and dir/g1/ hold two generations of layer-<L>.state files
 * (softent_acc_checkpoint); dir/progress.json names the generation that is
 * complete, with the documents and rows it covers and what the run was.  A
 * checkpoint writes the other generation's states, then progress.json
 * (each file atomically), so a kill at any moment leaves the last complete
 * checkpoint readable; then it removes the generation it replaced.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/error.h"
#include "common/fs.h"
#include "corpus.h"

#define PROGRESS_FORMAT "softent-analysis-checkpoint"
#define PROGRESS_MAX_BYTES (1 << 20)

/* dir/g<gen>[/layer-<layer>.state] (layer < 0: the directory). */
static void gen_path(char *buf, size_t size, const char *dir, int gen, int layer)
{
    if (layer < 0) snprintf(buf, size, "%s/g%d", dir, gen);
    else snprintf(buf, size, "%s/g%d/layer-%d.state", dir, gen, layer);
}

/* dir/progress.json, parsed into *root. */
static int read_progress(const char *dir, cJSON **root)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/progress.json", dir);
    *root = NULL;
    if (access(path, F_OK) != 0) return se_fail(SOFTENT_E_IO, "%s holds no checkpoint (no progress.json): there is nothing to resume", dir);
    char *text;
    int rc = se_read_file(path, PROGRESS_MAX_BYTES, &text, NULL);
    if (rc) return rc;
    *root = cJSON_Parse(text);
    free(text);
    const cJSON *format = *root ? cJSON_GetObjectItemCaseSensitive(*root, "format") : NULL;
    if (!cJSON_IsString(format) || strcmp(format->valuestring, PROGRESS_FORMAT) != 0) {
        cJSON_Delete(*root);
        *root = NULL;
        return se_fail(SOFTENT_E_FORMAT, "%s: not a softent checkpoint's progress file (damaged?)", path);
    }
    return SOFTENT_OK;
}

/* An integer member in [lo, hi]. */
static int member(const cJSON *root, const char *dir, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!cJSON_IsNumber(it) || !(it->valuedouble >= (double)lo && it->valuedouble <= (double)hi) ||
        it->valuedouble != (double)(int64_t)it->valuedouble)
        return se_fail(SOFTENT_E_FORMAT, "%s/progress.json: '%s' is missing or out of range", dir, key);
    *out = (int64_t)it->valuedouble;
    return SOFTENT_OK;
}

int softent_analysis_checkpoint_docs(const char *dir, int64_t *docs_done)
{
    cJSON *root;
    int rc = read_progress(dir, &root);
    if (!rc) rc = member(root, dir, "docs_done", 0, INT64_MAX / 2, docs_done);
    cJSON_Delete(root);
    return rc;
}

static cJSON *progress_json(const softent_analysis_run_params *cp, const softent_analysis_corpus *c, const int *sel, int n_sel,
                            int gen, int64_t docs_done, int64_t rows_done)
{
    cJSON *root = cJSON_CreateObject();
    char hash[32];
    snprintf(hash, sizeof hash, "%016" PRIx64, c->info.token_hash);
    cJSON_AddStringToObject(root, "format", PROGRESS_FORMAT);
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON_AddNumberToObject(root, "generation", gen);
    cJSON_AddNumberToObject(root, "docs_done", (double)docs_done);
    cJSON_AddNumberToObject(root, "rows_done", (double)rows_done);
    cJSON_AddNumberToObject(root, "docs", (double)c->info.docs_used);
    cJSON_AddNumberToObject(root, "positions", (double)c->info.positions);
    cJSON_AddStringToObject(root, "token_hash", hash);
    cJSON_AddItemToObject(root, "layers", cJSON_CreateIntArray(sel, n_sel));
    cJSON_AddStringToObject(root, "identity", cp->identity ? cp->identity : "");
    return root;
}

static void remove_generation(const char *dir, int gen);

int se_checkpoint_save(const softent_analysis_run_params *cp, const softent_analysis_corpus *c, softent_acc *const *acc,
                       const int *sel, int n_sel, int64_t docs_done, int64_t rows_done)
{
    /* the generation the last checkpoint did not write */
    int64_t last = 1;
    cJSON *root;
    if (!read_progress(cp->checkpoint_dir, &root) && member(root, cp->checkpoint_dir, "generation", 0, 1, &last)) last = 1;
    cJSON_Delete(root);
    const int gen = last == 0;
    char path[4096];
    gen_path(path, sizeof path, cp->checkpoint_dir, gen, -1);
    int rc = se_make_dirs(path);
    for (int s = 0; s < n_sel && !rc; s++) {
        gen_path(path, sizeof path, cp->checkpoint_dir, gen, sel[s]);
        rc = softent_acc_checkpoint(acc[s], path);
    }
    if (rc) return rc;
    root = progress_json(cp, c, sel, n_sel, gen, docs_done, rows_done);
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) return se_fail(SOFTENT_E_NOMEM, "out of memory writing a checkpoint");
    snprintf(path, sizeof path, "%s/progress.json", cp->checkpoint_dir);
    rc = se_write_file(path, text, strlen(text));
    free(text);
    /* progress.json names this generation now: the other is garbage */
    if (!rc) remove_generation(cp->checkpoint_dir, !gen);
    return rc;
}

/* What the checkpoint's run was against this one: the first difference,
 * named, as the error. */
static int same_run(const cJSON *root, const char *dir, const char *identity, const softent_analysis_corpus *c, const int *sel,
                    int n_sel)
{
    char hash[32];
    snprintf(hash, sizeof hash, "%016" PRIx64, c->info.token_hash);
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(root, "token_hash");
    int64_t docs = 0, positions = 0;
    int rc = member(root, dir, "docs", 0, INT64_MAX / 2, &docs);
    if (rc || (rc = member(root, dir, "positions", 0, INT64_MAX / 2, &positions))) return rc;
    if (!cJSON_IsString(h) || strcmp(h->valuestring, hash) != 0 || docs != c->info.docs_used || positions != c->info.positions)
        return se_fail(SOFTENT_E_MISMATCH, "the checkpoint in %s was made on another corpus (%lld documents, %lld positions; this run "
                       "has %lld and %lld, or other tokens): a resume or a merge needs the same corpus, tokenizer and --max-length, "
                       "--max-docs, --max-tokens", dir, (long long)docs, (long long)positions, (long long)c->info.docs_used, (long long)c->info.positions);
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
    int same = cJSON_IsArray(layers) && cJSON_GetArraySize(layers) == n_sel;
    for (int s = 0; same && s < n_sel; s++) {
        const cJSON *l = cJSON_GetArrayItem(layers, s);
        same = cJSON_IsNumber(l) && l->valuedouble == sel[s];
    }
    if (!same) return se_fail(SOFTENT_E_MISMATCH, "the checkpoint in %s measures other layers: a resume or a merge needs the same --layers", dir);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "identity");
    const char *mine = identity ? identity : "";
    if (!cJSON_IsString(id) || strcmp(id->valuestring, mine) != 0)
        return se_fail(SOFTENT_E_MISMATCH, "the checkpoint in %s is of another run (%s; this run is %s)", dir,
                       cJSON_IsString(id) ? id->valuestring : "?", mine);
    return SOFTENT_OK;
}

int se_checkpoint_resume(const softent_analysis_run_params *cp, const softent_analysis_corpus *c, softent_acc *const *acc,
                         const int *sel, int n_sel, int64_t *docs_done, int64_t *rows_done)
{
    cJSON *root;
    int64_t gen = 0;
    int rc = read_progress(cp->checkpoint_dir, &root);
    if (!rc) rc = same_run(root, cp->checkpoint_dir, cp->identity, c, sel, n_sel);
    if (!rc) rc = member(root, cp->checkpoint_dir, "generation", 0, 1, &gen);
    if (!rc) rc = member(root, cp->checkpoint_dir, "docs_done", 0, c->info.docs_used, docs_done);
    if (!rc) rc = member(root, cp->checkpoint_dir, "rows_done", 0, c->info.positions, rows_done);
    cJSON_Delete(root);
    for (int s = 0; s < n_sel && !rc; s++) {
        char path[4096];
        gen_path(path, sizeof path, cp->checkpoint_dir, (int)gen, sel[s]);
        if ((rc = softent_acc_resume(acc[s], path))) break;
        int64_t first, end;
        softent_acc_rows(acc[s], &first, &end, NULL);
        if (end != *rows_done)
            rc = se_fail(SOFTENT_E_FORMAT, "%s holds %lld rows where %s/progress.json says %lld: the checkpoint is damaged", path,
                         (long long)end, cp->checkpoint_dir, (long long)*rows_done);
    }
    return rc;
}

int softent_analysis_checkpoint_absorb(const char *dir, const softent_analysis_corpus *c, const int *sel, int n_sel,
                                       const char *identity, int64_t first_doc, int64_t end_doc, softent_acc *const *acc)
{
    cJSON *root;
    int64_t gen = 0, done = 0;
    int rc = read_progress(dir, &root);
    if (!rc) rc = same_run(root, dir, identity, c, sel, n_sel);
    if (!rc) rc = member(root, dir, "generation", 0, 1, &gen);
    if (!rc) rc = member(root, dir, "docs_done", 0, c->info.docs_used, &done);
    cJSON_Delete(root);
    if (!rc && done != end_doc)
        rc = se_fail(SOFTENT_E_MISMATCH, "%s holds a part that stopped after document %lld of its %lld..%lld: finish it (the same "
                     "command with --resume) before merging", dir, (long long)done - 1, (long long)first_doc, (long long)end_doc - 1);
    for (int s = 0; s < n_sel && !rc; s++) {
        char path[4096];
        gen_path(path, sizeof path, dir, (int)gen, sel[s]);
        rc = softent_acc_absorb_file(acc[s], path);
    }
    return rc;
}

/* Remove dir/g<gen>/layer-*.state and the directory. */
static void remove_generation(const char *dir, int gen)
{
    char path[4096];
    gen_path(path, sizeof path, dir, gen, -1);
    DIR *d = opendir(path);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        int layer;
        char tail;
        if (sscanf(e->d_name, "layer-%d.stat%c", &layer, &tail) == 2 && tail == 'e') {
            char file[4096 + 300];
            snprintf(file, sizeof file, "%s/%s", path, e->d_name);
            unlink(file);
        }
    }
    closedir(d);
    rmdir(path);
}

/* progress.json's temporary files that a run killed while writing it left
 * (se_atomic_open's PATH.tmp.PID.N): they would keep the directory. */
static void remove_stale_progress(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    static const char prefix[] = "progress.json.tmp.";
    for (struct dirent *e; (e = readdir(d));) {
        if (strncmp(e->d_name, prefix, sizeof prefix - 1)) continue;
        char file[4096 + 300];
        snprintf(file, sizeof file, "%s/%s", dir, e->d_name);
        unlink(file);
    }
    closedir(d);
}

int softent_analysis_checkpoint_remove(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/progress.json", dir);
    if (unlink(path) != 0 && errno != ENOENT) return se_fail(SOFTENT_E_IO, "%s: cannot remove: %s", path, strerror(errno));
    remove_stale_progress(dir);
    remove_generation(dir, 0);
    remove_generation(dir, 1);
    rmdir(dir); /* only when empty: anything else of the user's stays */
    return SOFTENT_OK;
}
