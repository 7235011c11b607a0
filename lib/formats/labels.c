/*
 * labels.c - label arrays as integer keys: from .npy (integers 1-D, or 2-D
 * tuple keys; or fixed-width strings) or from a column of a CSV/TSV file
 * (integers, or strings); strings are numbered by their sorted order, as
 * np.unique numbers them.
 */
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fs.h"
#include "matrix.h"

/* The strings being ranked, for qsort_r. */
typedef struct {
    const uint32_t *s; /* [n, chars] */
    int64_t chars;
} ucs4_array;

static int cmp_ucs4(const void *a, const void *b, void *arg)
{
    const ucs4_array *u = arg;
    const uint32_t *x = u->s + *(const int64_t *)a * u->chars, *y = u->s + *(const int64_t *)b * u->chars;
    for (int64_t k = 0; k < u->chars; k++)
        if (x[k] != y[k]) return x[k] < y[k] ? -1 : 1;
    return 0;
}

/* A 1-D array of fixed-width strings (NumPy's '<Un', UCS-4 code points
 * padded with zeros): each numbered by its rank among the distinct
 * strings, as np.unique's return_inverse numbers them. */
static int load_strings(FILE *f, const char *path, int64_t n, int64_t chars, int64_t offset, int64_t **keys)
{
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) return se_fail(SOFTENT_E_IO, "%s: cannot stat", path);
    if (n < 1 || chars > (int64_t)(((uint64_t)sb.st_size) / 4 / (uint64_t)n) || offset + n * chars * 4 > sb.st_size)
        return se_fail(SOFTENT_E_FORMAT, "%s: %lld strings of %lld characters do not fit in the file's %lld bytes", path, (long long)n,
                       (long long)chars, (long long)sb.st_size);
    uint32_t *s = malloc((size_t)(n * chars) * sizeof *s);
    int64_t *order = malloc((size_t)n * sizeof *order), *out = malloc((size_t)n * sizeof *out);
    int rc = s && order && out ? SOFTENT_OK : se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", path);
    if (!rc && (fseeko(f, offset, SEEK_SET) != 0 || fread(s, 4, (size_t)(n * chars), f) != (size_t)(n * chars)))
        rc = se_fail(SOFTENT_E_IO, "%s: read failed", path);
    if (!rc) {
        for (int64_t i = 0; i < n; i++) order[i] = i;
        ucs4_array u = {s, chars};
        qsort_r(order, (size_t)n, sizeof *order, cmp_ucs4, &u);
        int64_t rank = -1;
        for (int64_t i = 0; i < n; i++) {
            if (i == 0 || cmp_ucs4(&order[i], &order[i - 1], &u)) rank++;
            out[order[i]] = rank;
        }
    }
    free(s);
    free(order);
    if (rc) { free(out); return rc; }
    *keys = out;
    return SOFTENT_OK;
}

static int load_npy(FILE *f, const char *path, int64_t **keys, int64_t *n, int *arity)
{
    softent_dtype t;
    int ndim;
    int64_t shape[2], offset, chars;
    int rc = se_npy_header(f, path, &t, &ndim, shape, &offset, &chars);
    if (rc) return rc;
    if (chars > 0) {
        if (ndim != 1) return se_fail(SOFTENT_E_FORMAT, "%s: string labels must be 1-D (N,)", path);
        if ((rc = load_strings(f, path, shape[0], chars, offset, keys))) return rc;
        *n = shape[0];
        *arity = 1;
        return SOFTENT_OK;
    }
    if (t != SOFTENT_I32 && t != SOFTENT_I64)
        return se_fail(SOFTENT_E_FORMAT, "%s: labels must be int32 or int64, not %s", path, softent_dtype_name(t));
    if (ndim != 1 && !(ndim == 2 && shape[1] >= 1 && shape[1] <= SOFTENT_MAX_ARITY))
        return se_fail(SOFTENT_E_FORMAT, "%s: labels must be 1-D (N,) or tuple keys (N, k) with k <= %d", path, SOFTENT_MAX_ARITY);
    if (shape[0] == 0) return se_fail(SOFTENT_E_EMPTY, "%s: no labels", path);
    int a = ndim == 1 ? 1 : (int)shape[1];
    softent_matrix *mat;
    if ((rc = se_matrix_make(&mat, path, f, offset, shape[0], a, t))) return rc;
    int64_t count = shape[0] * a;
    int64_t *out = malloc((size_t)count * sizeof *out + 1);
    if (!out) { free(mat->path); free(mat); return se_fail(SOFTENT_E_NOMEM, "out of memory"); }
    /* Read the whole array, then widen int32 in place from the top down. */
    size_t size = (size_t)se_dtype_size(t);
    if (fseeko(f, offset, SEEK_SET) != 0 || fread(out, size, (size_t)count, f) != (size_t)count)
        rc = se_fail(SOFTENT_E_IO, "%s: read failed", path);
    if (!rc && t == SOFTENT_I32) {
        const int32_t *narrow = (const int32_t *)out;
        for (int64_t i = count - 1; i >= 0; i--) out[i] = narrow[i];
    }
    free(mat->path);
    free(mat); /* the FILE belongs to the caller */
    if (rc) { free(out); return rc; }
    *keys = out;
    *n = shape[0];
    *arity = a;
    return SOFTENT_OK;
}

/* Split line in place at sep; returns the number of fields (<= max).
 * Spaces and double quotes around a field are dropped. */
static int split(char *line, char sep, char **fields, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < max;) {
        char *q = strchr(p, sep);
        if (q) *q = '\0';
        while (*p == ' ' || *p == '"') p++;
        char *e = p + strlen(p);
        while (e > p && (e[-1] == ' ' || e[-1] == '"')) *--e = '\0';
        fields[n++] = p;
        if (!q) break;
        p = q + 1;
    }
    return n;
}

static int parse_int(const char *s, int64_t *v)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (end == s || *end || errno) return 0;
    *v = x;
    return 1;
}

/* A header's name for a row index rather than a label (pandas writes "" or
 * "Unnamed: 0"). */
static int index_like(const char *name)
{
    static const char *const names[] = {"", "id", "index", "idx", "row", "Unnamed: 0", NULL};
    for (int k = 0; names[k]; k++)
        if (!strcasecmp(name, names[k])) return 1;
    return 0;
}

/* "a, b, c" of the header's fields, for messages. */
static void list_fields(char **fields, int nf, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < nf && len + 1 < size; i++) {
        int w = snprintf(buf + len, size - len, "%s%s", i ? ", " : "", fields[i][0] ? fields[i] : "\"\"");
        if (w < 0) break;
        len += (size_t)w;
    }
}

/* The column to read, from line 1's fields: `column` by name (header) or
 * index; without one, the only column, or the only one of a header's
 * columns that is not a row index. */
static int choose_column(const char *path, const char *column, char **fields, int nf, int header, int *col)
{
    char names[512];
    if (column) {
        char *end;
        long idx = strtol(column, &end, 10);
        if (*column && *end == '\0' && idx >= 0) {
            if (idx >= nf) return se_fail(SOFTENT_E_FORMAT, "%s: no column %ld (line 1 has %d fields)", path, idx, nf);
            *col = (int)idx;
            return SOFTENT_OK;
        }
        for (int i = 0; header && i < nf; i++)
            if (!strcmp(fields[i], column)) return *col = i, SOFTENT_OK;
        list_fields(fields, nf, names, sizeof names);
        return header ? se_fail(SOFTENT_E_FORMAT, "%s: no column named '%s'; the header has %s", path, column, names)
                      : se_fail(SOFTENT_E_FORMAT, "%s: no header to find column '%s' in; name a column by its 0-based index", path, column);
    }
    if (nf == 1) return *col = 0, SOFTENT_OK;
    if (!header) return se_fail(SOFTENT_E_FORMAT, "%s: %d columns and no header: say which holds the labels, %s:INDEX (0-based)", path, nf, path);
    int found = -1, labels = 0;
    for (int i = 0; i < nf; i++)
        if (!index_like(fields[i])) found = i, labels++;
    if (labels == 1) return *col = found, SOFTENT_OK;
    list_fields(fields, nf, names, sizeof names);
    return se_fail(SOFTENT_E_FORMAT, "%s: columns %s: say which holds the labels, %s:COLUMN", path, names, path);
}

/* The column's values, as read: integers, or strings mapped to integers by
 * their sorted order (as NumPy's np.unique numbers them). */
typedef struct {
    char **v;      /* [n] owned */
    int64_t n;
    size_t cap;
} column_values;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* keys [n]: the integers, or each string's rank among the distinct ones. */
static int to_keys(const column_values *c, int64_t *keys)
{
    int all_int = 1;
    for (int64_t i = 0; i < c->n && all_int; i++) all_int = parse_int(c->v[i], &keys[i]);
    if (all_int) return SOFTENT_OK;
    char **sorted = malloc((size_t)c->n * sizeof *sorted);
    if (!sorted) return SOFTENT_E_NOMEM;
    memcpy(sorted, c->v, (size_t)c->n * sizeof *sorted);
    qsort(sorted, (size_t)c->n, sizeof *sorted, cmp_str);
    int64_t distinct = 0;
    for (int64_t i = 0; i < c->n; i++)
        if (i == 0 || strcmp(sorted[i], sorted[distinct - 1])) sorted[distinct++] = sorted[i];
    for (int64_t i = 0; i < c->n; i++) {
        char **hit = bsearch(&c->v[i], sorted, (size_t)distinct, sizeof *sorted, cmp_str);
        keys[i] = hit - sorted;
    }
    free(sorted);
    return SOFTENT_OK;
}

static int load_csv(FILE *f, const char *path, const char *column, int64_t **keys, int64_t *n)
{
    char *line = NULL, *fields[4096];
    size_t cap = 0;
    ssize_t len;
    int col = -1, rc = SOFTENT_OK;
    char sep = ',';
    int64_t lineno = 0;
    column_values c = {0};
    rewind(f);
    while (!rc && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (lineno == 1 && strchr(line, '\t')) sep = '\t';
        if (line[strspn(line, " \r\n")] == '\0') continue;
        const int nf = split(line, sep, fields, 4096);
        if (col < 0) {
            /* line 1: a header when any field is not an integer */
            int64_t v;
            int header = 0;
            for (int i = 0; i < nf; i++) header |= !parse_int(fields[i], &v);
            if ((rc = choose_column(path, column, fields, nf, header, &col)) || header) continue;
        }
        if (col >= nf) rc = se_fail(SOFTENT_E_FORMAT, "%s:%lld: %d fields, no column %d", path, (long long)lineno, nf, col);
        else if (se_grow(&c.v, &c.cap, (size_t)c.n + 1, sizeof *c.v) || !(c.v[c.n] = strdup(fields[col])))
            rc = se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", path);
        else c.n++;
    }
    free(line);
    if (!rc && c.n == 0) rc = se_fail(SOFTENT_E_EMPTY, "%s: no labels", path);
    if (!rc && !(*keys = malloc((size_t)c.n * sizeof **keys))) rc = se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", path);
    if (!rc && (rc = to_keys(&c, *keys))) rc = se_fail(rc, "out of memory reading %s", path);
    for (int64_t i = 0; i < c.n; i++) free(c.v[i]);
    free(c.v);
    if (rc) { free(*keys); *keys = NULL; return rc; }
    *n = c.n;
    return SOFTENT_OK;
}

int softent_labels_load(const char *path, const char *column, int64_t **keys, int64_t *n, int *arity)
{
    *keys = NULL;
    FILE *f;
    int rc0 = se_open_regular(path, &f);
    if (rc0) return rc0;
    unsigned char magic[6] = {0};
    size_t got = fread(magic, 1, 6, f);
    int rc;
    if (got == 0) rc = se_fail(SOFTENT_E_EMPTY, "%s: empty file", path);
    else if (got == 6 && memcmp(magic, "\x93NUMPY", 6) == 0) rc = load_npy(f, path, keys, n, arity);
    else { rc = load_csv(f, path, column, keys, n); *arity = 1; }
    fclose(f);
    return rc;
}
