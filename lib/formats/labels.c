/*
 * labels.c - integer label arrays from .npy (1-D, or 2-D tuple keys) or from
 * a column of a CSV/TSV file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "matrix.h"

static int load_npy(FILE *f, const char *path, int64_t **keys, int64_t *n, int *arity)
{
    softent_dtype t;
    int ndim;
    int64_t shape[2], offset;
    int rc = se_npy_header(f, path, &t, &ndim, shape, &offset);
    if (rc) return rc;
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

/* Split line in place at sep; returns the number of fields (<= max). */
static int split(char *line, char sep, char **fields, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < max;) {
        fields[n++] = p;
        char *q = strchr(p, sep);
        if (!q) break;
        *q = '\0';
        p = q + 1;
    }
    return n;
}

static int parse_int(const char *s, int64_t *v)
{
    while (*s == ' ' || *s == '"') s++;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    while (*end == ' ' || *end == '"') end++;
    if (end == s || *end || errno) return 0;
    *v = x;
    return 1;
}

static int load_csv(FILE *f, const char *path, const char *column, int64_t **keys, int64_t *n)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    char *fields[4096];
    int col = -1, rc = SOFTENT_OK;
    char sep = ',';
    int64_t count = 0, lineno = 0;
    size_t out_cap = 0;
    int64_t *out = NULL;
    rewind(f);
    while ((len = getline(&line, &cap, f)) >= 0 && !rc) {
        lineno++;
        if (lineno == 1 && strchr(line, '\t')) sep = '\t';
        if (len <= 1 && (line[0] == '\n' || len == 0)) continue;
        int nf = split(line, sep, fields, 4096);
        int64_t v;
        if (col < 0) {
            /* First line: find the column; a non-integer field there means header. */
            char *end;
            long idx = column ? strtol(column, &end, 10) : 0;
            int by_index = !column || (*end == '\0' && idx >= 0);
            if (by_index) {
                col = (int)idx;
                if (col >= nf) { rc = se_fail(SOFTENT_E_FORMAT, "%s: no column %d (line 1 has %d fields)", path, col, nf); break; }
                if (!parse_int(fields[col], &v)) continue; /* a header line */
            } else {
                for (int i = 0; i < nf; i++)
                    if (strcmp(fields[i], column) == 0) col = i;
                if (col < 0) rc = se_fail(SOFTENT_E_FORMAT, "%s: no column named '%s' in the header", path, column);
                continue;
            }
        }
        if (col >= nf || !parse_int(fields[col], &v)) {
            rc = se_fail(SOFTENT_E_FORMAT, "%s:%lld: column %d is not an integer label", path, (long long)lineno, col);
            break;
        }
        if (se_grow(&out, &out_cap, (size_t)count + 1, sizeof *out)) {
            rc = se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", path);
            break;
        }
        out[count++] = v;
    }
    free(line);
    if (!rc && count == 0) rc = se_fail(SOFTENT_E_EMPTY, "%s: no labels", path);
    if (rc) { free(out); return rc; }
    *keys = out;
    *n = count;
    return SOFTENT_OK;
}

int softent_labels_load(const char *path, const char *column, int64_t **keys, int64_t *n, int *arity)
{
    *keys = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return se_fail(SOFTENT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char magic[6] = {0};
    size_t got = fread(magic, 1, 6, f);
    int rc;
    if (got == 0) rc = se_fail(SOFTENT_E_EMPTY, "%s: empty file", path);
    else if (got == 6 && memcmp(magic, "\x93NUMPY", 6) == 0) rc = load_npy(f, path, keys, n, arity);
    else { rc = load_csv(f, path, column, keys, n); *arity = 1; }
    fclose(f);
    return rc;
}
