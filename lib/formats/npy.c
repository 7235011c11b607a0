/*
 * npy.c - NumPy .npy files (format versions 1-3): header parsing, loading a
 * float matrix whole, saving float32/int64.  The header is a Python dict
 * literal; only its three keys matter: descr, fortran_order, shape.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/fs.h"
#include "matrix.h"

static int parse_descr(const char *descr, softent_dtype *t)
{
    static const struct { const char *descr; softent_dtype t; } known[] = {
        {"<f2", SOFTENT_F16}, {"<f4", SOFTENT_F32}, {"<f8", SOFTENT_F64},
        {"<i4", SOFTENT_I32}, {"<i8", SOFTENT_I64},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(descr, known[i].descr) == 0) { *t = known[i].t; return 1; }
    return 0;
}

/* The value text after 'key': in the header dict, or NULL. */
static const char *dict_value(const char *header, const char *key)
{
    char quoted[32];
    snprintf(quoted, sizeof quoted, "'%s'", key);
    const char *p = strstr(header, quoted);
    if (!p) return NULL;
    p += strlen(quoted);
    while (isspace((unsigned char)*p)) p++;
    if (*p != ':') return NULL;
    p++;
    while (isspace((unsigned char)*p)) p++;
    return p;
}

int se_npy_header(FILE *f, const char *path, softent_dtype *dtype, int *ndim, int64_t shape[2], int64_t *offset, int64_t *str_chars)
{
    unsigned char pre[12];
    rewind(f);
    size_t got = fread(pre, 1, 10, f);
    if (got == 0) return se_fail(SOFTENT_E_FORMAT, "%s: empty file", path);
    if (got < 10 || memcmp(pre, "\x93NUMPY", 6) != 0)
        return se_fail(SOFTENT_E_FORMAT, "%s: not a .npy file (bad magic); save arrays with numpy.save", path);
    int major = pre[6];
    int64_t hlen, start;
    if (major == 1) {
        hlen = pre[8] | (pre[9] << 8);
        start = 10;
    } else if (major == 2 || major == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) return se_fail(SOFTENT_E_FORMAT, "%s: truncated .npy header", path);
        hlen = (int64_t)pre[8] | ((int64_t)pre[9] << 8) | ((int64_t)pre[10] << 16) | ((int64_t)pre[11] << 24);
        start = 12;
    } else {
        return se_fail(SOFTENT_E_FORMAT, "%s: unsupported .npy format version %d", path, major);
    }
    if (hlen <= 0 || hlen > (1 << 24)) return se_fail(SOFTENT_E_FORMAT, "%s: corrupt .npy header length", path);
    char *header = malloc((size_t)hlen + 1);
    if (!header) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    if (fread(header, 1, (size_t)hlen, f) != (size_t)hlen) {
        free(header);
        return se_fail(SOFTENT_E_FORMAT, "%s: truncated .npy header", path);
    }
    header[hlen] = '\0';
    int rc = SOFTENT_OK;
    const char *descr = dict_value(header, "descr");
    const char *fortran = dict_value(header, "fortran_order");
    const char *shp = dict_value(header, "shape");
    char text[16] = "";
    if (!descr || !fortran || !shp || *descr != '\'' || *shp != '(') {
        rc = se_fail(SOFTENT_E_FORMAT, "%s: corrupt .npy header (descr, fortran_order or shape missing)", path);
        goto done;
    }
    size_t k = 0;
    for (descr++; *descr && *descr != '\'' && k + 1 < sizeof text; descr++) text[k++] = *descr;
    text[k] = '\0';
    if (str_chars) *str_chars = 0;
    if (str_chars && (text[0] == '<' || text[0] == '|') && text[1] == 'U') {
        char *end;
        errno = 0;
        long long chars = strtoll(text + 2, &end, 10);
        if (end == text + 2 || *end || errno || chars < 1 || chars > (1 << 20)) {
            rc = se_fail(SOFTENT_E_FORMAT, "%s: corrupt string dtype '%s'", path, text);
            goto done;
        }
        *str_chars = chars;
        *dtype = SOFTENT_UNKNOWN;
    } else if (strcmp(text, "|i1") == 0 || strcmp(text, "|u1") == 0 || !parse_descr(text, dtype)) {
        rc = se_fail(SOFTENT_E_FORMAT, "%s: unsupported dtype '%s' (use float16/32/64 for embeddings, int32/int64 for labels, little-endian)", path, text);
        goto done;
    }
    if (strncmp(fortran, "False", 5) != 0) {
        rc = se_fail(SOFTENT_E_FORMAT, "%s: array is in Fortran order; save it with numpy.ascontiguousarray", path);
        goto done;
    }
    *ndim = 0;
    shape[0] = shape[1] = 0;
    const char *p = shp + 1;
    for (;;) {
        while (isspace((unsigned char)*p) || *p == ',') p++;
        if (*p == ')') break;
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < 0) {
            rc = se_fail(SOFTENT_E_FORMAT, "%s: corrupt shape in .npy header", path);
            goto done;
        }
        if (*ndim < 2) shape[*ndim] = v;
        (*ndim)++;
        p = end;
    }
    *offset = start + hlen;
done:
    free(header);
    return rc;
}

int softent_npy_load_f32(const char *path, float **data, int64_t *rows, int64_t *cols)
{
    *data = NULL;
    softent_matrix *mat;
    int rc = softent_matrix_open(&mat, path, NULL);
    if (rc) return rc;
    *rows = mat->rows;
    *cols = mat->cols;
    *data = malloc((size_t)(mat->rows * mat->cols) * sizeof **data + 1);
    if (!*data) rc = se_fail(SOFTENT_E_NOMEM, "%s: out of memory", path);
    else rc = softent_matrix_read(mat, 0, mat->rows, *data);
    softent_matrix_close(mat);
    if (rc) { free(*data); *data = NULL; }
    return rc;
}

static int save(const char *path, const char *descr, const void *data, size_t size,
                int64_t rows, int64_t cols, int one_d)
{
    char header[256];
    int n = one_d ? snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (%lld,), }", descr, (long long)rows)
                  : snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (%lld, %lld), }", descr, (long long)rows, (long long)cols);
    /* Pad with spaces so the data starts on a 64-byte boundary, newline last. */
    int total = (10 + n + 1 + 63) / 64 * 64;
    int hlen = total - 10;
    memset(header + n, ' ', (size_t)(hlen - n));
    header[hlen - 1] = '\n';
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    se_atomic_file out;
    int rc = se_atomic_open(&out, path);
    if (rc) return rc;
    se_atomic_write(&out, pre, 10);
    se_atomic_write(&out, header, (size_t)hlen);
    se_atomic_write(&out, data, size * (size_t)(rows * cols));
    return se_atomic_commit(&out);
}

int softent_npy_save_f32(const char *path, const float *data, int64_t rows, int64_t cols)
{
    return save(path, "<f4", data, 4, rows, cols, 0);
}

int softent_npy_save_i64(const char *path, const int64_t *data, int64_t rows, int64_t cols, int one_d)
{
    return save(path, "<i8", data, 8, rows, one_d ? 1 : cols, one_d);
}
