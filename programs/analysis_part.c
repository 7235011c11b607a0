/*
 * analysis_part.c - one model's run over the corpus as a part of a larger
 * run (analysis.h): checkpointed in OUT and taken up again with --resume,
 * its documents split across MPI ranks (rank 0 gathers the others'
 * accumulators), one shard of a job array (--shard I/K: its accumulators
 * saved, not finished), or a job array's shards merged (softent merge).
 * analyze runs one such part; trace runs one per checkpoint, each in a
 * directory of its own under the part's.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis.h"
#include "cli.h"
#include "common/fs.h"
#include "mpi.h"

#define SHARD_FORMAT "softent-analysis-shard"
#define SHARD_MAX_BYTES (1 << 20)

/* SIGINT and SIGTERM ask the run to save itself and stop (the library
 * looks between documents); the second one stops at once. */
static volatile sig_atomic_t stop_signal;
static struct sigaction saved_int, saved_term;
static int catching;

static void on_stop(int sig)
{
    if (stop_signal) {
        signal(sig, SIG_DFL);
        raise(sig);
    }
    stop_signal = sig;
}

void analysis_catch_stops(int on)
{
    if (!on) {
        if (catching) {
            sigaction(SIGINT, &saved_int, NULL);
            sigaction(SIGTERM, &saved_term, NULL);
        }
        catching = 0;
        return;
    }
    catching = 1;
    stop_signal = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sa.sa_flags = SA_RESTART; /* restartable calls: the run goes on to its next document */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &saved_int);
    sigaction(SIGTERM, &sa, &saved_term);
}

int analysis_stopped(void)
{
    /* under MPI a signal may reach some ranks only: they stop together */
    if (cli_mpi_count(stop_signal != 0) == 0) return 0;
    fprintf(stderr, "softent: stopped; to continue, run the same command with --resume\n");
    return 128 + (stop_signal ? stop_signal : SIGINT);
}

/* This process's part of the documents: its MPI rank, its --shard, part 0
 * of the shards when merging them, or the whole. */
static void this_part(const analysis_options *o, int *part, int *parts)
{
    if (o->merge_dirs) *part = 0, *parts = o->merge_parts;
    else if (o->shard_k > 0) *part = o->shard_i, *parts = o->shard_k;
    else *part = cli_mpi_rank(), *parts = cli_mpi_size();
}

/* Where part `part` keeps its checkpoint: DIR/checkpoint of a shard's (or a
 * single process's) OUT, OUT/checkpoint-rankR-of-K under MPI, the shard's
 * own directory when merging; a trace step's under it. */
static int part_dir(const analysis_options *o, const char *out, int part, const char *step, char *buf, size_t size)
{
    int n;
    if (o->merge_dirs) n = snprintf(buf, size, "%s/checkpoint", o->merge_dirs[part]);
    else if (cli_mpi_size() > 1) n = snprintf(buf, size, "%s/checkpoint-rank%d-of-%d", out, part, cli_mpi_size());
    else n = snprintf(buf, size, "%s/checkpoint", out);
    if (step && n > 0 && (size_t)n < size) n += snprintf(buf + n, size - (size_t)n, "/%s", step);
    if (n < 0 || (size_t)n >= size) return cli_error("%.200s...: the checkpoint's path is too long; give a shorter --out", buf);
    return 0;
}

/* A part's identity, as its checkpoint records it: what it measures, in
 * which arithmetic (so that a resume or a merge never mixes float32 and
 * bf16 products; float32 is left unsaid, as before bf16 existed), and which
 * part of how many it is. */
static void part_identity(const analysis_job *job, int part, int parts, char *buf, size_t size)
{
    snprintf(buf, size, "model %s%s%s%s, corpus %s, part %d of %d", job->model, job->step ? ", " : "", job->step ? job->step : "",
             job->compute == SOFTENT_COMPUTE_BF16 ? " (bf16 products)" : "", job->corpus, part, parts);
}

/* The gathers: rank 0 takes the other ranks' shards over MPI; a shard of
 * a job array hands its part on (saved at its end); a merge takes the
 * other shards from their directories. */
typedef struct {
    const analysis_options *o;
    const analysis_job *job;
    const softent_analysis_corpus *corpus;
    const int *sel;
    int n_sel;
    int gathered;
} gather_ctx;

static int gather_ranks(softent_acc *const *acc, int n_acc, void *user)
{
    ((gather_ctx *)user)->gathered = 1;
    if (cli_mpi_gather(acc, n_acc)) return SOFTENT_E_MISMATCH; /* said by cli_mpi_gather */
    return cli_mpi_rank() > 0;
}

static int hand_on(softent_acc *const *acc, int n_acc, void *user)
{
    (void)acc, (void)n_acc, (void)user;
    return 1;
}

static int gather_shards(softent_acc *const *acc, int n_acc, void *user)
{
    const gather_ctx *g = user;
    const int parts = g->o->merge_parts;
    for (int p = 1; p < parts; p++) {
        char dir[4096], identity[8192];
        int64_t first, end;
        if (part_dir(g->o, NULL, p, g->job->step, dir, sizeof dir)) return SOFTENT_E_INVALID;
        part_identity(g->job, p, parts, identity, sizeof identity);
        softent_analysis_split(g->corpus, p, parts, &first, &end);
        int rc = softent_analysis_checkpoint_absorb(dir, g->corpus, g->sel, n_acc, identity, first, end, acc);
        if (rc) return rc;
    }
    return 0;
}

static void warn_checkpoint(const char *message, void *user)
{
    (void)user;
    fprintf(stderr, "softent: warning: %s; the run goes on\n", message);
}

/* Where a resume starts: *done documents from dir, with *have set, or (a
 * trace step not reached, or under MPI a rank that had not reached a
 * checkpoint of its own: its documents run again, with the same result)
 * *have 0.  With `required` some rank must have one.  0 or the exit
 * status, agreed across ranks. */
static int resume_point(const char *dir, int required, int64_t *done, int *have)
{
    *done = 0, *have = 1;
    const int ranks = cli_mpi_size();
    int status = softent_analysis_checkpoint_docs(dir, done);
    int rc = 0;
    if (status == SOFTENT_E_IO && (ranks > 1 || !required)) *have = 0;
    else if (status) rc = cli_lib_error(status);
    if ((rc = cli_mpi_agree(rc))) return rc;
    if (required && ranks > 1 && cli_mpi_count(*have) == 0) {
        if (cli_mpi_rank() == 0) fprintf(stderr, "softent: no rank has a checkpoint (checkpoint-rankR-of-%d): there is nothing to resume\n", ranks);
        return 1;
    }
    if (!*have && required) fprintf(stderr, "softent: rank %d had not reached a checkpoint: its documents run again\n", cli_mpi_rank());
    return 0;
}

int analysis_part_final(const analysis_options *o)
{
    return cli_mpi_rank() == 0 && o->shard_k == 0;
}

int analysis_run_part(softent_model *model, const softent_analysis_corpus *corpus, const int *sel, int n_sel,
                      const analysis_options *o, const char *out, const analysis_job *job, softent_analysis_result *result)
{
    int part, parts;
    this_part(o, &part, &parts);
    char dir[4096], identity[8192];
    const int merging = o->merge_dirs != NULL, shard = o->shard_k > 0, ranks = cli_mpi_size();
    int rc = cli_mpi_agree(part_dir(o, out, part, job->step, dir, sizeof dir));
    if (rc) return rc;
    part_identity(job, part, parts, identity, sizeof identity);
    int64_t done = 0;
    int have = 0;
    /* a fresh run: an earlier run's checkpoint here is not to be taken up
     * later (nor, for a shard, mistaken for this one's saved part) */
    if (!merging && !o->resume && (rc = analysis_part_clear(o, out, job->step))) return rc;
    if (merging) {
        /* shard 0 is taken up as it stands: it must be finished, as the others must */
        int64_t first, end;
        softent_analysis_split(corpus, 0, parts, &first, &end);
        have = 1;
        if ((rc = softent_analysis_checkpoint_docs(dir, &done))) return cli_lib_error(rc);
        if (done != end)
            return cli_error("%s holds a part that stopped after %lld of its %lld documents: finish it (its command with --resume) "
                             "before merging", dir, (long long)done, (long long)end);
    } else if (o->resume && (rc = resume_point(dir, job->step == NULL, &done, &have))) {
        return rc;
    }
    gather_ctx g = {o, job, corpus, sel, n_sel, 0};
    softent_analysis_run_params cp = {
        .checkpoint_dir = dir, .resume = have, .stop = merging ? NULL : &stop_signal, .identity = identity, .warn = warn_checkpoint,
        /* a shard is its saved part; a trace keeps each step's, to resume
         * past the steps done without running them again */
        .checkpoint_at_end = !merging && (shard || (job->step && (o->checkpoint_docs > 0 || o->checkpoint_seconds > 0))),
    };
    if (!merging) cp.checkpoint_docs = o->checkpoint_docs, cp.checkpoint_seconds = o->checkpoint_seconds;
    if (parts > 1) {
        softent_analysis_split(corpus, part, parts, &cp.first_doc, &cp.end_doc);
        cp.gather = merging ? gather_shards : shard ? hand_on : gather_ranks;
        cp.gather_user = &g;
    }
    int status = 0;
    rc = analysis_run(model, corpus, sel, n_sel, &cp, result, cli_mpi_rank() == 0 ? job->what : NULL, &status);
    /* a rank that failed before the gather still takes part in it; after
     * it, rank 0 finishes alone, and its failure must stop the others too */
    if (ranks > 1 && !g.gathered) rc = cli_mpi_gather_failed(n_sel, rc);
    if (ranks > 1) {
        const int agreed = cli_mpi_agree(rc);
        if (!rc) rc = agreed;
    }
    if (status == SOFTENT_E_INTERRUPTED) {
        fprintf(stderr, "softent: to continue, run the same command with --resume\n");
        return 128 + (stop_signal ? stop_signal : SIGINT);
    }
    if (!rc && have && !merging)
        fprintf(stderr, "softent: resumed the run saved in %s after %lld documents\n", dir, (long long)done);
    /* a shard's saved part is its result: it must be there, whole */
    int64_t first, end, saved = -1;
    softent_analysis_split(corpus, part, parts, &first, &end);
    if (!rc && shard && (softent_analysis_checkpoint_docs(dir, &saved) || saved != end))
        rc = cli_error("%s: the shard's accumulators could not be saved (see the warning above); run it again", dir);
    return rc;
}

int analysis_part_clear(const analysis_options *o, const char *out, const char *step)
{
    char dir[4096];
    if (o->merge_dirs || part_dir(o, out, cli_mpi_rank(), step, dir, sizeof dir)) return o->merge_dirs ? 0 : 1;
    int rc = softent_analysis_checkpoint_remove(dir);
    return rc ? cli_lib_error(rc) : 0;
}

int analysis_part_remove(const analysis_options *o, const char *out, const char *step)
{
    if (o->merge_dirs || o->shard_k > 0) return 0; /* the shards are the user's to remove */
    char dir[4096];
    if (part_dir(o, out, cli_mpi_rank(), step, dir, sizeof dir)) return 1;
    int rc = softent_analysis_checkpoint_remove(dir);
    if (step) {
        /* the steps' parent, once empty */
        char *slash = strrchr(dir, '/');
        if (slash) *slash = 0, rmdir(dir);
    }
    return rc ? cli_lib_error(rc) : 0;
}

int analysis_any_checkpoint(const analysis_options *o, const char *out, const char *const *steps, int n)
{
    int found = 0;
    for (int i = 0; i < n && !found; i++) {
        char dir[4096];
        int64_t done;
        found = !part_dir(o, out, cli_mpi_rank(), steps[i], dir, sizeof dir) && softent_analysis_checkpoint_docs(dir, &done) == SOFTENT_OK;
    }
    return cli_mpi_count(found) > 0;
}

/* ---- a job array's shards ---------------------------------------------- */

int analysis_shard_begin(const char *out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/shard.json", out);
    if (unlink(path) != 0 && errno != ENOENT) return cli_error("%s: cannot remove an earlier shard's description: %s", path, strerror(errno));
    return 0;
}

int analysis_shard_save(const analysis_options *o, const char *out, const char *cmd, int argc, char **argv)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", SHARD_FORMAT);
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON_AddStringToObject(root, "command", cmd);
    cJSON_AddNumberToObject(root, "part", o->shard_i);
    cJSON_AddNumberToObject(root, "parts", o->shard_k);
    cJSON *args = cJSON_AddArrayToObject(root, "argv");
    for (int i = 0; i < argc; i++) cJSON_AddItemToArray(args, cJSON_CreateString(argv[i]));
    char cwd[4096];
    cJSON_AddStringToObject(root, "cwd", getcwd(cwd, sizeof cwd) ? cwd : "");
    char path[4096];
    snprintf(path, sizeof path, "%s/shard.json", out);
    int rc = cli_write_json(path, root);
    if (!rc)
        fprintf(stderr, "softent: shard %lld of %lld saved in %s; once every shard is done, softent merge SHARD_DIR... -o OUT "
                        "writes the results\n", (long long)o->shard_i, (long long)o->shard_k, out);
    return rc;
}

void analysis_merging(analysis_options *o, const char **out, const analysis_shards *s, const char *merge_out)
{
    *out = merge_out;
    o->json = NULL;  /* the merge writes into its -o alone, whatever the shard's command said */
    o->quiet = 0;    /* and shows its table: a job array's shards are often run --quiet */
    o->shard_i = o->shard_k = o->resume = 0;
    o->merge_dirs = s->dirs, o->merge_parts = s->parts;
}

void analysis_shards_free(analysis_shards *s)
{
    for (int i = 0; i < s->argc; i++) free(s->argv[i]);
    free(s->argv);
    free(s->dirs);
    memset(s, 0, sizeof *s);
}

/* One shard's shard.json: its command, its part of how many, and (want
 * set) its command line into s. */
static int read_shard(const char *dir, analysis_shards *s, int *part, int *parts, char *cmd, size_t cmd_size, int want)
{
    char *path = se_path_join(dir, "shard.json"), *text = NULL;
    if (!path) return cli_error("out of memory");
    int rc = 0;
    if (access(path, F_OK) != 0) rc = cli_error("%s: no shard.json: not a finished shard (softent analyze|trace ... --shard I/K --out %s, "
                                                "run to its end)", dir, dir);
    else if ((rc = se_read_file(path, SHARD_MAX_BYTES, &text, NULL))) rc = cli_lib_error(rc);
    cJSON *root = rc ? NULL : cJSON_Parse(text);
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format"), *c = cJSON_GetObjectItemCaseSensitive(root, "command");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "part"), *k = cJSON_GetObjectItemCaseSensitive(root, "parts");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(root, "argv");
    if (!rc && (!cJSON_IsString(format) || strcmp(format->valuestring, SHARD_FORMAT) || !cJSON_IsString(c) || !cJSON_IsNumber(p) ||
                !cJSON_IsNumber(k) || !(k->valuedouble >= 1 && k->valuedouble <= 1 << 20) || !(p->valuedouble >= 0 && p->valuedouble < k->valuedouble) ||
                p->valuedouble != (int)p->valuedouble || k->valuedouble != (int)k->valuedouble || !cJSON_IsArray(args) ||
                cJSON_GetArraySize(args) < 1 || cJSON_GetArraySize(args) > 4096))
        rc = cli_error("%s: not a softent shard's description (damaged?)", path);
    if (!rc) {
        *part = (int)p->valuedouble, *parts = (int)k->valuedouble;
        snprintf(cmd, cmd_size, "%s", c->valuestring);
    }
    if (!rc && want) {
        s->argc = 0;
        if (!(s->argv = calloc((size_t)cJSON_GetArraySize(args) + 1, sizeof *s->argv))) rc = cli_error("out of memory");
        for (const cJSON *a = args ? args->child : NULL; !rc && a; a = a->next) {
            if (!cJSON_IsString(a)) rc = cli_error("%s: not a softent shard's description (damaged?)", path);
            else if (!strcmp(a->valuestring, "-h") || !strcmp(a->valuestring, "--help"))
                rc = cli_error("%s: the recorded command asks for help, not a run (damaged?)", path);
            else if (!(s->argv[s->argc++] = strdup(a->valuestring))) rc = cli_error("out of memory");
        }
        if (!rc && strcmp(s->argv[0], cmd)) rc = cli_error("%s: the recorded command is '%s', not %s (damaged?)", path, s->argv[0], cmd);
        const cJSON *cwd = cJSON_GetObjectItemCaseSensitive(root, "cwd");
        if (!rc && cJSON_IsString(cwd) && strlen(cwd->valuestring) < sizeof s->cwd) snprintf(s->cwd, sizeof s->cwd, "%s", cwd->valuestring);
    }
    cJSON_Delete(root);
    free(text);
    free(path);
    return rc;
}

int analysis_shards_read(char **dirs, int n, analysis_shards *s)
{
    memset(s, 0, sizeof *s);
    int rc = 0, parts = 0;
    char cmd0[32] = "";
    for (int i = 0; i < n && !rc; i++) {
        int part, k;
        char cmd[32];
        if ((rc = read_shard(dirs[i], s, &part, &k, cmd, sizeof cmd, 0))) break;
        if (i == 0) {
            parts = k, snprintf(cmd0, sizeof cmd0, "%s", cmd);
            if (strcmp(cmd, "analyze") && strcmp(cmd, "trace")) { rc = cli_error("%s: a shard of '%s', which softent merge does not know", dirs[i], cmd); break; }
            if (!(s->dirs = calloc((size_t)parts, sizeof *s->dirs))) { rc = cli_error("out of memory"); break; }
        } else if (k != parts || strcmp(cmd, cmd0)) {
            rc = cli_error("%s is a shard of %s in %d parts, but %s of %s in %d: merge the shards of one run", dirs[i], cmd, k, dirs[0], cmd0, parts);
            break;
        }
        if (s->dirs[part]) rc = cli_error("%s and %s are both shard %d of %d: give each shard once", s->dirs[part], dirs[i], part, parts);
        s->dirs[part] = dirs[i];
    }
    char missing[256] = "";
    size_t at = 0;
    for (int p = 0; !rc && p < parts; p++)
        if (!s->dirs[p] && at < sizeof missing - 16) at += (size_t)snprintf(missing + at, sizeof missing - at, "%s%d", at ? ", " : "", p);
        else if (!s->dirs[p]) snprintf(missing + at, sizeof missing - at, ", ..."), at = sizeof missing;
    if (!rc && at)
        rc = cli_error("shards %s of %d are missing: an analysis needs every shard's documents; run them (--shard I/%d) and merge them all",
                       missing, parts, parts);
    int part, k;
    char cmd[32];
    if (!rc) rc = read_shard(s->dirs[0], s, &part, &k, cmd, sizeof cmd, 1);
    if (!rc) s->parts = parts, snprintf(s->command, sizeof s->command, "%s", cmd0);
    if (rc) analysis_shards_free(s);
    return rc;
}
