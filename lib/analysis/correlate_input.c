/*
 * correlate_input.c - what `softent correlate` reads: the measures of
 * analyze (analysis.json) and trace (trajectory.json) results, and a CSV of
 * benchmark scores, tidy or wide.  Every file is untrusted: sizes are
 * bounded, every key is checked, and a failure names the file.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "common/fs.h"
#include "softent_correlate.h"

#define MAX_JSON_BYTES ((size_t)1 << 28)
#define MAX_CSV_BYTES ((size_t)1 << 26)
#define MAX_ORDER 8

/* The measure slots: H, then per order complexity, expressivity,
 * optimality, then per order the context width dI_in, dI_out, then
 * preference information. */
enum { K_COMPLEXITY, K_EXPRESSIVITY, K_OPTIMALITY, K_DI_IN, K_DI_OUT, N_KINDS };
#define SLOT_H 0
#define SLOT(kind, n) (1 + (kind) * MAX_ORDER + ((n) - 1))
#define SLOT_PREF (1 + N_KINDS * MAX_ORDER)
#define N_SLOTS (SLOT_PREF + 1)
static const char *KIND_NAMES[N_KINDS] = {"complexity", "expressivity", "optimality", "dI_in", "dI_out"};

typedef struct {
    char *name, *alias;
    int corrected;
    unsigned char present[N_SLOTS];
    double plug[N_SLOTS], corr[N_SLOTS];
} raw_model;

static char *dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static const char *base_name(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    size_t b = n;
    while (b > 0 && path[b - 1] != '/') b--;
    static __thread char out[1024];
    size_t len = n - b < sizeof out - 1 ? n - b : sizeof out - 1;
    memcpy(out, path + b, len);
    out[len] = 0;
    return out;
}

/* A number, or null (NaN); anything else is a format error naming key. */
static int get_num(const char *file, const cJSON *obj, const char *where, const char *key, int nullable, double *v)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsNumber(it)) {
        *v = it->valuedouble;
        return SOFTENT_OK;
    }
    if (nullable && cJSON_IsNull(it)) {
        *v = NAN;
        return SOFTENT_OK;
    }
    return se_fail(SOFTENT_E_FORMAT, "%s: %s: %s \"%s\"", file, where, it ? "not a number:" : "missing key", key);
}

static const cJSON *get_array(const char *file, const cJSON *obj, const char *where, const char *key, int *rc)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsArray(it)) *rc = se_fail(SOFTENT_E_FORMAT, "%s: %s: %s \"%s\"", file, where, it ? "not an array:" : "missing key", key);
    return it;
}

static int get_order(const char *file, const cJSON *o, const char *where, int *n)
{
    double v = 0;
    int rc = get_num(file, o, where, "n", 0, &v);
    if (rc) return rc;
    if (!(v >= 1 && v <= MAX_ORDER) || v != floor(v)) return se_fail(SOFTENT_E_FORMAT, "%s: %s: order n = %g outside 1..%d", file, where, v, MAX_ORDER);
    *n = (int)v;
    return SOFTENT_OK;
}

static void set(raw_model *m, int slot, double plug, double corr)
{
    m->present[slot] = 1;
    m->plug[slot] = plug;
    m->corr[slot] = corr;
}

/* The context width of the slots' I_in/I_out, n against n - 1. */
static void context_width(raw_model *m)
{
    for (int n = 2; n <= MAX_ORDER; n++)
        for (int io = 0; io < 2; io++) {
            const int a = SLOT(K_COMPLEXITY + io, n), b = SLOT(K_COMPLEXITY + io, n - 1);
            if (m->present[a] && m->present[b])
                set(m, SLOT(K_DI_IN + io, n), m->plug[a] - m->plug[b], m->corr[a] - m->corr[b]);
        }
}

/* The file's own layer means (layer_mean). */
static int read_layer_mean(const char *file, const cJSON *r, raw_model *m)
{
    const cJSON *lm = cJSON_GetObjectItemCaseSensitive(r, "layer_mean");
    if (!cJSON_IsObject(lm)) return se_fail(SOFTENT_E_FORMAT, "%s: missing key \"layer_mean\"", file);
    int rc = SOFTENT_OK;
    double h = NAN;
    if ((rc = get_num(file, lm, "layer_mean", "H", 1, &h))) return rc;
    set(m, SLOT_H, h, h);
    const cJSON *orders = get_array(file, lm, "layer_mean", "orders", &rc);
    if (rc) return rc;
    int any_null = 0, n_orders = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, orders)
    {
        int n;
        double v[6];
        static const char *keys[6] = {"I_in", "I_out", "optimality", "I_in_corrected", "I_out_corrected", "optimality_corrected"};
        if ((rc = get_order(file, o, "layer_mean.orders", &n))) return rc;
        for (int k = 0; k < 6; k++)
            if ((rc = get_num(file, o, "layer_mean.orders", keys[k], 1, &v[k]))) return rc;
        for (int k = 0; k < 3; k++) set(m, SLOT(K_COMPLEXITY + k, n), v[k], v[3 + k]);
        if (isnan(v[3]) || isnan(v[4])) any_null = 1;
        n_orders++;
    }
    if (!n_orders) return se_fail(SOFTENT_E_FORMAT, "%s: layer_mean.orders is empty", file);
    m->corrected = !any_null;
    context_width(m);
    double pref = NAN;
    if (cJSON_GetObjectItemCaseSensitive(lm, "preference")) {
        if ((rc = get_num(file, lm, "layer_mean", "preference", 1, &pref))) return rc;
        set(m, SLOT_PREF, pref, pref);
    }
    return SOFTENT_OK;
}

/* The mean over layers lo..hi, each of which must be in the file. */
static int read_layer_range(const char *file, const cJSON *r, int lo, int hi, raw_model *m)
{
    int rc = SOFTENT_OK;
    const cJSON *layers = get_array(file, r, "result", "layers", &rc);
    if (rc) return rc;
    double sum_h = 0, sum[2][2][MAX_ORDER + 1] = {{{0}}}; /* [plug/corr][in/out][n] */
    int count[MAX_ORDER + 1] = {0}, found = 0, any_null = 0;
    for (int want = lo; want <= hi; want++) {
        const cJSON *layer = NULL, *l;
        cJSON_ArrayForEach(l, layers)
        {
            double idx = -1;
            if ((rc = get_num(file, l, "layers[]", "layer", 0, &idx))) return rc;
            if (idx == want) layer = l;
        }
        if (!layer) return se_fail(SOFTENT_E_INVALID, "%s: layer %d was not analysed (use --layer(s) within the file's layers)", file, want);
        char where[64];
        snprintf(where, sizeof where, "layer %d", want);
        double h = NAN;
        if ((rc = get_num(file, layer, where, "H", 1, &h))) return rc;
        sum_h += h;
        const cJSON *orders = get_array(file, layer, where, "orders", &rc), *o;
        if (rc) return rc;
        cJSON_ArrayForEach(o, orders)
        {
            int n;
            if ((rc = get_order(file, o, where, &n))) return rc;
            for (int io = 0; io < 2; io++) {
                double plug = NAN, corr = NAN;
                if ((rc = get_num(file, o, where, io ? "I_out" : "I_in", 1, &plug))) return rc;
                /* the set's headline I_corrected; files from before the
                 * curve correction have it only inside "null" */
                const cJSON *set_ = cJSON_GetObjectItemCaseSensitive(o, io ? "out" : "in");
                const cJSON *null = cJSON_GetObjectItemCaseSensitive(set_, "null");
                if (cJSON_GetObjectItemCaseSensitive(set_, "I_corrected")) {
                    if ((rc = get_num(file, set_, where, "I_corrected", 1, &corr))) return rc;
                } else if (cJSON_IsObject(null)) {
                    if ((rc = get_num(file, null, where, "I_corrected", 1, &corr))) return rc;
                }
                if (isnan(corr)) any_null = 1;
                sum[0][io][n] += plug;
                sum[1][io][n] += corr;
            }
            count[n]++;
        }
        found++;
    }
    set(m, SLOT_H, sum_h / found, sum_h / found);
    for (int n = 1; n <= MAX_ORDER; n++) {
        if (!count[n]) continue;
        if (count[n] != found) return se_fail(SOFTENT_E_FORMAT, "%s: order %d is missing from some of layers %d-%d", file, n, lo, hi);
        double v[2][2];
        for (int c = 0; c < 2; c++)
            for (int io = 0; io < 2; io++) v[c][io] = sum[c][io][n] / found;
        set(m, SLOT(K_COMPLEXITY, n), v[0][0], v[1][0]);
        set(m, SLOT(K_EXPRESSIVITY, n), v[0][1], v[1][1]);
        set(m, SLOT(K_OPTIMALITY, n), softent_optimality(v[0][1], v[0][0]), softent_optimality(v[1][1], v[1][0]));
    }
    m->corrected = !any_null;
    context_width(m);
    return SOFTENT_OK;
}

static int read_one(const char *file, const cJSON *r, const char *name, const char *alias, int lo, int hi, raw_model *m)
{
    memset(m, 0, sizeof *m);
    m->name = dup(name);
    m->alias = dup(alias);
    if (!m->name || !m->alias) return se_fail(SOFTENT_E_NOMEM, "%s: out of memory", file);
    return lo < 0 ? read_layer_mean(file, r, m) : read_layer_range(file, r, lo, hi, m);
}

static int grow(raw_model **models, int *n, int *cap)
{
    if (*n < *cap) return SOFTENT_OK;
    int c = *cap ? 2 * *cap : 16;
    raw_model *m = realloc(*models, sizeof *m * (size_t)c);
    if (!m) return se_fail(SOFTENT_E_NOMEM, "correlate: out of memory");
    *models = m;
    *cap = c;
    return SOFTENT_OK;
}

/* Every file's H and I in the same units (settings.units; "efficiency" when
 * absent): the first file's go into units [64], the others must match. */
static int check_units(const char *file, const cJSON *root, char *units, const char *first)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "settings"), "units");
    const char *these = cJSON_IsString(u) ? u->valuestring : "efficiency: entropy / log(m)";
    if (!units[0]) {
        snprintf(units, 64, "%s", these);
        return SOFTENT_OK;
    }
    if (strncmp(units, these, 63))
        return se_fail(SOFTENT_E_MISMATCH, "%s: entropies in %s, but %s's are in %s; rerun one with the other's --units", file, these,
                       first, units);
    return SOFTENT_OK;
}

static int read_file(const char *file, int lo, int hi, raw_model **models, int *n, int *cap, char *units, const char *first)
{
    char *text = NULL;
    int rc = se_read_file(file, MAX_JSON_BYTES, &text, NULL);
    if (rc) return rc;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return se_fail(SOFTENT_E_FORMAT, "%s: not a JSON object (want an analysis.json or trajectory.json)", file);
    }
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(root, "command");
    const char *command = cJSON_IsString(cmd) ? cmd->valuestring : NULL;
    if ((rc = check_units(file, root, units, first))) {
        cJSON_Delete(root);
        return rc;
    }
    if (command && !strcmp(command, "analyze")) {
        const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(model, "path");
        if (!cJSON_IsString(path) || !path->valuestring[0]) rc = se_fail(SOFTENT_E_FORMAT, "%s: missing key \"model.path\"", file);
        else if (!(rc = grow(models, n, cap))) {
            raw_model *m = &(*models)[(*n)++];
            rc = read_one(file, root, path->valuestring, base_name(path->valuestring), lo, hi, m);
        }
    } else if (command && !strcmp(command, "trace")) {
        const cJSON *run = cJSON_GetObjectItemCaseSensitive(root, "run");
        const cJSON *cks = cJSON_GetObjectItemCaseSensitive(root, "checkpoints"), *ck;
        if (!cJSON_IsString(run)) rc = se_fail(SOFTENT_E_FORMAT, "%s: missing key \"run\"", file);
        else if (!cJSON_IsArray(cks) || !cJSON_GetArraySize(cks)) rc = se_fail(SOFTENT_E_FORMAT, "%s: missing or empty \"checkpoints\"", file);
        cJSON_ArrayForEach(ck, cks)
        {
            if (rc) break;
            const cJSON *path = cJSON_GetObjectItemCaseSensitive(ck, "path");
            double step = 0;
            if (!cJSON_IsString(path)) rc = se_fail(SOFTENT_E_FORMAT, "%s: checkpoints[]: missing key \"path\"", file);
            else if (!(rc = get_num(file, ck, "checkpoints[]", "step", 0, &step)) && !(rc = grow(models, n, cap))) {
                char alias[1200];
                snprintf(alias, sizeof alias, "%s@%.0f", base_name(run->valuestring), step);
                raw_model *m = &(*models)[(*n)++];
                rc = read_one(file, ck, path->valuestring, alias, lo, hi, m);
            }
        }
    } else rc = se_fail(SOFTENT_E_FORMAT, "%s: missing key \"command\" (\"analyze\" or \"trace\"): not a softent result", file);
    cJSON_Delete(root);
    return rc;
}

static void appendf(char **s, size_t *len, size_t *cap, const char *fmt, const char *a, const char *b)
{
    char tmp[1400];
    int k = snprintf(tmp, sizeof tmp, fmt, a, b);
    if (k < 0) return;
    if (*len + (size_t)k + 1 > *cap) {
        size_t c = (*cap + (size_t)k + 1) * 2;
        char *t = realloc(*s, c);
        if (!t) return;
        *s = t;
        *cap = c;
    }
    memcpy(*s + *len, tmp, (size_t)k + 1);
    *len += (size_t)k;
}

int softent_corr_read_results(softent_corr_results *res, const char *const *paths, int n_paths, int layer_lo, int layer_hi)
{
    memset(res, 0, sizeof *res);
    if (n_paths < 1) return se_fail(SOFTENT_E_INVALID, "correlate: no results given");
    if (layer_lo >= 0 && layer_hi < layer_lo) return se_fail(SOFTENT_E_INVALID, "correlate: layers %d-%d: an empty range", layer_lo, layer_hi);
    raw_model *raw = NULL;
    int n = 0, cap = 0, rc = SOFTENT_OK;
    int *file_of = NULL;
    char units[64] = "";
    for (int f = 0; f < n_paths && !rc; f++) {
        int before = n;
        rc = read_file(paths[f], layer_lo, layer_hi, &raw, &n, &cap, units, paths[0]);
        if (!rc || n > before) {
            int *t = realloc(file_of, sizeof *t * (size_t)(n ? n : 1));
            if (!t) rc = se_fail(SOFTENT_E_NOMEM, "correlate: out of memory");
            else {
                file_of = t;
                for (int i = before; i < n; i++) file_of[i] = f;
            }
        }
    }
    /* the same model twice would count it twice */
    for (int i = 0; i < n && !rc; i++)
        for (int j = 0; j < i && !rc; j++)
            if (!strcmp(raw[i].name, raw[j].name))
                rc = se_fail(SOFTENT_E_INVALID, "%s: model %s is also in %s: give each model once", paths[file_of[i]], raw[i].name,
                             paths[file_of[j]]);
    int all_corrected = 1;
    for (int i = 0; i < n; i++) all_corrected &= raw[i].corrected;
    size_t nlen = 0, ncap = 0;
    char *notes = NULL;
    if (!rc) {
        res->models = calloc((size_t)n, sizeof *res->models);
        res->measures = calloc(N_SLOTS, sizeof *res->measures);
        res->plugin_only = calloc(N_SLOTS, sizeof *res->plugin_only);
        if (!res->models || !res->measures || !res->plugin_only) rc = se_fail(SOFTENT_E_NOMEM, "correlate: out of memory");
    }
    /* the slots in table order: H; per order complexity, expressivity, optimality; per order dI_in, dI_out; preference */
    int order_of_slots[N_SLOTS], k = 0;
    order_of_slots[k++] = SLOT_H;
    for (int nn = 1; nn <= MAX_ORDER; nn++)
        for (int kind = K_COMPLEXITY; kind <= K_OPTIMALITY; kind++) order_of_slots[k++] = SLOT(kind, nn);
    for (int nn = 1; nn <= MAX_ORDER; nn++)
        for (int kind = K_DI_IN; kind <= K_DI_OUT; kind++) order_of_slots[k++] = SLOT(kind, nn);
    order_of_slots[k++] = SLOT_PREF;
    int kept[N_SLOTS], n_kept = 0, any_pref = 0;
    for (int q = 0; q < N_SLOTS && !rc; q++) {
        const int s = order_of_slots[q];
        int present = 0, undefined = -1;
        for (int i = 0; i < n; i++) {
            present += raw[i].present[s];
            if (raw[i].present[s] && undefined < 0 && isnan(all_corrected ? raw[i].corr[s] : raw[i].plug[s])) undefined = i;
        }
        char name[64];
        if (s == SLOT_H) snprintf(name, sizeof name, "H");
        else if (s == SLOT_PREF) snprintf(name, sizeof name, "preference"), any_pref = present > 0;
        else snprintf(name, sizeof name, "%s_n%d", KIND_NAMES[(s - 1) / MAX_ORDER], (s - 1) % MAX_ORDER + 1);
        if (!present) continue;
        if (present < n) {
            appendf(&notes, &nlen, &ncap, "%s%s left out: not in every result", nlen ? "; " : "", name);
            continue;
        }
        if (undefined >= 0) {
            appendf(&notes, &nlen, &ncap, "%s%s left out: ", nlen ? "; " : "", name);
            appendf(&notes, &nlen, &ncap, "undefined for %s (%s)", raw[undefined].name, paths[file_of[undefined]]);
            continue;
        }
        res->measures[n_kept] = dup(name);
        if (!res->measures[n_kept]) rc = se_fail(SOFTENT_E_NOMEM, "correlate: out of memory");
        res->plugin_only[n_kept] = !all_corrected && s != SLOT_H;
        kept[n_kept++] = s;
    }
    if (!rc && !any_pref)
        appendf(&notes, &nlen, &ncap, "%s%s", nlen ? "; " : "", "preference information left out: no result holds it");
    res->n_measures = n_kept;
    for (int i = 0; i < n && !rc; i++) {
        softent_corr_model *m = &res->models[i];
        m->name = raw[i].name, raw[i].name = NULL;
        m->alias = raw[i].alias, raw[i].alias = NULL;
        m->source = dup(paths[file_of[i]]);
        m->corrected = all_corrected;
        m->values = malloc(sizeof *m->values * (size_t)(n_kept ? n_kept : 1));
        if (!m->source || !m->values) rc = se_fail(SOFTENT_E_NOMEM, "correlate: out of memory");
        for (int q = 0; q < n_kept && !rc; q++) m->values[q] = all_corrected ? raw[i].corr[kept[q]] : raw[i].plug[kept[q]];
        res->n_models = i + 1;
    }
    if (!rc && n_kept == 0) rc = se_fail(SOFTENT_E_FORMAT, "%s: no measure is defined for every model", paths[0]);
    char over[128];
    if (layer_lo < 0) snprintf(over, sizeof over, "the results' layer means (layers >= 1; the embedding layer 0 excluded)");
    else if (layer_lo == layer_hi) snprintf(over, sizeof over, "layer %d", layer_lo);
    else snprintf(over, sizeof over, "the mean over layers %d-%d", layer_lo, layer_hi);
    res->over = dup(over);
    res->notes = notes ? notes : dup("");
    for (int i = 0; i < n; i++) free(raw[i].name), free(raw[i].alias);
    free(raw);
    free(file_of);
    if (!rc && (!res->over || !res->notes)) rc = se_fail(SOFTENT_E_NOMEM, "correlate: out of memory");
    if (rc) softent_corr_results_free(res);
    return rc;
}

void softent_corr_results_free(softent_corr_results *res)
{
    if (!res) return;
    for (int i = 0; i < res->n_models; i++) {
        free(res->models[i].name);
        free(res->models[i].alias);
        free(res->models[i].source);
        free(res->models[i].values);
    }
    free(res->models);
    if (res->measures)
        for (int q = 0; q < N_SLOTS; q++) free(res->measures[q]);
    free(res->measures);
    free(res->plugin_only);
    free(res->over);
    free(res->notes);
    memset(res, 0, sizeof *res);
}

/* ---- the scores CSV --------------------------------------------------------- */

#define MAX_FIELDS 4096

/* Split line (modified in place) at commas, honouring double quotes
 * ("" inside quotes is a quote); fields trimmed of spaces. */
static int split(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        char *start = p, *w = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (!*p) return -1; /* an open quote */
                if (*p == '"' && p[1] == '"') *w++ = '"', p += 2;
                else if (*p == '"') {
                    p++;
                    break;
                } else *w++ = *p++;
            }
            while (*p == ' ' || *p == '\t') p++;
            if (*p && *p != ',') return -1;
        } else {
            while (*p && *p != ',') *w++ = *p++;
            while (w > start && (w[-1] == ' ' || w[-1] == '\t')) w--;
        }
        const char end = *p;
        *w = 0;
        if (n >= max) return -2;
        fields[n++] = start;
        if (!end) break;
        p++;
    }
    return n;
}

/* A score: a number, or empty (missing, NaN).  "nan" parses as NaN. */
static int parse_score(const char *s, double *v)
{
    if (!*s) {
        *v = NAN;
        return 0;
    }
    char *end;
    *v = strtod(s, &end);
    return *end ? -1 : 0;
}

static int find_name(char **names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return i;
    return -1;
}

static int add_name(char ***names, int *n, int *cap, const char *s)
{
    int i = find_name(*names, *n, s);
    if (i >= 0) return i;
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 16;
        char **t = realloc(*names, sizeof *t * (size_t)c);
        if (!t) return -1;
        *names = t;
        *cap = c;
    }
    if (!((*names)[*n] = dup(s))) return -1;
    return (*n)++;
}

int softent_corr_read_scores(softent_corr_scores *s, const char *path)
{
    memset(s, 0, sizeof *s);
    char *text = NULL;
    int rc = se_read_file(path, MAX_CSV_BYTES, &text, NULL);
    if (rc) return rc;
    if (!(s->source = dup(path))) {
        free(text);
        return se_fail(SOFTENT_E_NOMEM, "%s: out of memory", path);
    }
    char **fields = malloc(sizeof *fields * MAX_FIELDS);
    int n_lines = 0;
    for (char *c = text; *c; c++) n_lines += *c == '\n';
    n_lines++;
    char **lines = malloc(sizeof *lines * (size_t)n_lines);
    int *line_no = malloc(sizeof *line_no * (size_t)n_lines);
    if (!fields || !lines || !line_no) rc = se_fail(SOFTENT_E_NOMEM, "%s: out of memory", path);
    int nl = 0, no = 0;
    for (char *p = text; !rc && p && *p;) {
        char *e = strchr(p, '\n');
        if (e) *e = 0;
        no++;
        size_t len = strlen(p);
        if (len && p[len - 1] == '\r') p[--len] = 0;
        if (memchr(p, 0, len) != NULL) rc = se_fail(SOFTENT_E_FORMAT, "%s line %d: a NUL byte", path, no);
        char *q = p;
        while (*q == ' ' || *q == '\t') q++;
        if (*q && *q != '#') lines[nl] = p, line_no[nl++] = no;
        p = e ? e + 1 : NULL;
    }
    if (!rc && nl == 0) rc = se_fail(SOFTENT_E_FORMAT, "%s: empty (want a header: model,benchmark,score or model,BENCH1,BENCH2,...)", path);
    int nh = 0;
    char **head = NULL;
    if (!rc) {
        nh = split(lines[0], fields, MAX_FIELDS);
        if (nh < 2) rc = se_fail(SOFTENT_E_FORMAT, "%s line %d: a header of %s (want model,benchmark,score or model,BENCH1,...)", path,
                                 line_no[0], nh < 0 ? "unbalanced quotes or too many fields" : "one column");
    }
    if (!rc && !(head = calloc((size_t)nh, sizeof *head))) rc = se_fail(SOFTENT_E_NOMEM, "%s: out of memory", path);
    for (int i = 0; !rc && i < nh; i++) {
        if (!fields[i][0]) rc = se_fail(SOFTENT_E_FORMAT, "%s line %d: header column %d is empty", path, line_no[0], i + 1);
        else if (!(head[i] = dup(fields[i]))) rc = se_fail(SOFTENT_E_NOMEM, "%s: out of memory", path);
        for (int j = 0; !rc && j < i; j++)
            if (!strcmp(head[i], head[j])) rc = se_fail(SOFTENT_E_FORMAT, "%s line %d: column \"%s\" twice", path, line_no[0], head[i]);
    }
    if (!rc) {
        s->tidy = (nh == 3 || nh == 4) && !strcasecmp(head[0], "model") && !strcasecmp(head[1], "benchmark") &&
                  !strcasecmp(head[2], "score") && (nh == 3 || !strcasecmp(head[3], "baseline"));
    }
    int row_cap = 0, col_cap = 0;
    /* first pass: the names */
    char *copy = NULL;
    for (int l = 1; !rc && l < nl; l++) {
        free(copy);
        if (!(copy = dup(lines[l]))) {
            rc = se_fail(SOFTENT_E_NOMEM, "%s: out of memory", path);
            break;
        }
        int nf = split(copy, fields, MAX_FIELDS); /* the values are read again from lines[l] below */
        if (nf != nh) {
            rc = se_fail(SOFTENT_E_FORMAT, "%s line %d: %d fields, the header has %d%s", path, line_no[l], nf < 0 ? 0 : nf, nh,
                         nf == -1 ? " (unbalanced quotes)" : "");
            break;
        }
        if (!fields[0][0]) {
            rc = se_fail(SOFTENT_E_FORMAT, "%s line %d: an empty model name", path, line_no[l]);
            break;
        }
        if (!s->tidy && find_name(s->rows, s->n_rows, fields[0]) >= 0) {
            rc = se_fail(SOFTENT_E_FORMAT, "%s line %d: model \"%s\" has a row already", path, line_no[l], fields[0]);
            break;
        }
        if (add_name(&s->rows, &s->n_rows, &row_cap, fields[0]) < 0) rc = se_fail(SOFTENT_E_NOMEM, "%s: out of memory", path);
        if (s->tidy && !fields[1][0]) rc = se_fail(SOFTENT_E_FORMAT, "%s line %d: an empty benchmark name", path, line_no[l]);
        else if (s->tidy && add_name(&s->cols, &s->n_cols, &col_cap, fields[1]) < 0) rc = se_fail(SOFTENT_E_NOMEM, "%s: out of memory", path);
    }
    free(copy);
    if (!rc && !s->tidy)
        for (int i = 1; i < nh && !rc; i++)
            if (add_name(&s->cols, &s->n_cols, &col_cap, head[i]) < 0) rc = se_fail(SOFTENT_E_NOMEM, "%s: out of memory", path);
    if (!rc && s->n_rows == 0) rc = se_fail(SOFTENT_E_FORMAT, "%s: a header and no scores", path);
    if (!rc && s->n_cols == 0) rc = se_fail(SOFTENT_E_FORMAT, "%s: no benchmark", path);
    if (!rc && (int64_t)s->n_rows * s->n_cols > ((int64_t)1 << 26)) rc = se_fail(SOFTENT_E_FORMAT, "%s: too many scores", path);
    unsigned char *seen = NULL;
    if (!rc) {
        const size_t cells = (size_t)s->n_rows * (size_t)s->n_cols;
        s->scores = malloc(sizeof *s->scores * cells);
        s->baselines = malloc(sizeof *s->baselines * (size_t)s->n_cols);
        seen = calloc(cells, 1);
        if (!s->scores || !s->baselines || !seen) rc = se_fail(SOFTENT_E_NOMEM, "%s: out of memory", path);
        for (size_t i = 0; !rc && i < cells; i++) s->scores[i] = NAN;
        for (int i = 0; !rc && i < s->n_cols; i++) s->baselines[i] = NAN;
    }
    /* second pass: the values */
    for (int l = 1; !rc && l < nl; l++) {
        split(lines[l], fields, MAX_FIELDS);
        const int r = find_name(s->rows, s->n_rows, fields[0]);
        if (s->tidy) {
            const int c = find_name(s->cols, s->n_cols, fields[1]);
            const size_t cell = (size_t)r * (size_t)s->n_cols + (size_t)c;
            double v, b = NAN;
            if (seen[cell]) rc = se_fail(SOFTENT_E_FORMAT, "%s line %d: a second score of %s in %s", path, line_no[l], fields[0], fields[1]);
            else if (parse_score(fields[2], &v)) rc = se_fail(SOFTENT_E_FORMAT, "%s line %d: score \"%s\" is not a number", path, line_no[l], fields[2]);
            else if (nh == 4 && parse_score(fields[3], &b))
                rc = se_fail(SOFTENT_E_FORMAT, "%s line %d: baseline \"%s\" is not a number", path, line_no[l], fields[3]);
            else if (!isnan(b) && !isnan(s->baselines[c]) && b != s->baselines[c])
                rc = se_fail(SOFTENT_E_FORMAT, "%s line %d: baseline %g of %s differs from %g on an earlier line", path, line_no[l], b, fields[1],
                             s->baselines[c]);
            else {
                seen[cell] = 1;
                s->scores[cell] = v;
                if (!isnan(b)) s->baselines[c] = b;
            }
        } else
            for (int c = 0; c < s->n_cols && !rc; c++) {
                double v = 0;
                if (parse_score(fields[c + 1], &v))
                    rc = se_fail(SOFTENT_E_FORMAT, "%s line %d: %s score \"%s\" is not a number", path, line_no[l], s->cols[c], fields[c + 1]);
                else s->scores[(size_t)r * (size_t)s->n_cols + (size_t)c] = v;
            }
    }
    free(seen);
    if (head)
        for (int i = 0; i < nh; i++) free(head[i]);
    free(head);
    free(fields);
    free(lines);
    free(line_no);
    free(text);
    if (rc) {
        /* rows and cols may be partly grown: free what was made */
        softent_corr_scores_free(s);
    }
    return rc;
}

void softent_corr_scores_free(softent_corr_scores *s)
{
    if (!s) return;
    for (int i = 0; i < s->n_rows; i++) free(s->rows[i]);
    for (int i = 0; i < s->n_cols; i++) free(s->cols[i]);
    free(s->rows);
    free(s->cols);
    free(s->scores);
    free(s->baselines);
    free(s->source);
    memset(s, 0, sizeof *s);
}
