/* matrix.c - row-block reading with dtype conversion (see matrix.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fs.h"
#include "matrix.h"

int se_matrix_make(softent_matrix **out, const char *path, FILE *f, int64_t offset,
                   int64_t rows, int64_t cols, softent_dtype dtype)
{
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) return se_fail(SOFTENT_E_IO, "%s: cannot stat: %s", path, strerror(errno));
    /* checked before the product, which would overflow */
    if (rows < 0 || cols < 0 || (rows > 0 && cols > INT64_MAX / 8 / rows)) return se_fail(SOFTENT_E_FORMAT, "%s: absurd shape", path);
    /* zero-width rows hold no data, so the size check below cannot bound their number */
    if (cols == 0) return se_fail(SOFTENT_E_FORMAT, "%s: the rows have no columns (shape %lld x 0): nothing to measure", path, (long long)rows);
    int64_t need = rows * cols * se_dtype_size(dtype);
    if (offset + need > (int64_t)sb.st_size)
        return se_fail(SOFTENT_E_FORMAT, "%s: truncated: the header promises %lld x %lld %s (%lld bytes of data) but the file holds %lld",
                       path, (long long)rows, (long long)cols, softent_dtype_name(dtype), (long long)need,
                       (long long)(sb.st_size - offset));
    softent_matrix *mat = calloc(1, sizeof *mat);
    if (!mat || !(mat->path = strdup(path))) { free(mat); return se_fail(SOFTENT_E_NOMEM, "out of memory"); }
    mat->f = f;
    mat->offset = offset;
    mat->rows = rows;
    mat->cols = cols;
    mat->dtype = dtype;
    *out = mat;
    return SOFTENT_OK;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int softent_matrix_open(softent_matrix **out, const char *path, const char *tensor)
{
    *out = NULL;
    if (tensor && !has_suffix(path, ".safetensors"))
        return se_fail(SOFTENT_E_INVALID, "%s: a tensor name ('%s') picks a tensor of a .safetensors file; this is not one", path, tensor);
    FILE *f;
    int rc0 = se_open_regular(path, &f);
    if (rc0) return rc0;
    softent_dtype dtype;
    int64_t shape[2], offset;
    int rc, ndim = 2;
    if (has_suffix(path, ".csv") || has_suffix(path, ".tsv") || has_suffix(path, ".txt")) {
        rc = se_text_matrix(out, path, f);
        if (rc) fclose(f);
        return rc;
    }
    if (has_suffix(path, ".safetensors")) {
        rc = se_safetensors_find(f, path, tensor, &dtype, shape, &offset);
    } else {
        rc = se_npy_header(f, path, &dtype, &ndim, shape, &offset, NULL);
        if (!rc && ndim != 2)
            rc = se_fail(SOFTENT_E_FORMAT, "%s: embeddings must be a 2-D array (rows x dim), this one is %d-D", path, ndim);
    }
    if (!rc && (dtype == SOFTENT_I32 || dtype == SOFTENT_I64))
        rc = se_fail(SOFTENT_E_FORMAT, "%s: embeddings must be float16, bfloat16, float32 or float64, not %s", path, softent_dtype_name(dtype));
    if (!rc && shape[0] == 0) rc = se_fail(SOFTENT_E_EMPTY, "%s: the array has no rows", path);
    if (!rc) rc = se_matrix_make(out, path, f, offset, shape[0], shape[1], dtype);
    if (rc) fclose(f);
    return rc;
}

int64_t softent_matrix_rows(const softent_matrix *mat) { return mat->rows; }
int64_t softent_matrix_cols(const softent_matrix *mat) { return mat->cols; }
softent_dtype softent_matrix_dtype(const softent_matrix *mat) { return mat->dtype; }

void softent_matrix_close(softent_matrix *mat)
{
    if (!mat) return;
    if (mat->map) munmap(mat->map, mat->map_size);
    fclose(mat->f);
    free(mat->mem);
    free(mat->path);
    free(mat);
}

const float *softent_matrix_view(softent_matrix *mat, int64_t row0, int64_t n)
{
    if (mat->dtype != SOFTENT_F32 || mat->mem || row0 < 0 || n <= 0 || row0 + n > mat->rows) return NULL;
    /* The data's offset in a .npy or safetensors file keeps floats aligned. */
    if (mat->offset % (int64_t)sizeof(float) != 0) return NULL;
    if (!mat->map) {
        size_t size = (size_t)(mat->offset + mat->rows * mat->cols * 4);
        void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fileno(mat->f), 0);
        if (map == MAP_FAILED) return NULL;
        mat->map = map;
        mat->map_size = size;
    }
    const char *start = (const char *)mat->map + mat->offset + row0 * mat->cols * 4;
    /* Start reading ahead now: the caller is about to walk these rows. */
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)start & ~(uintptr_t)(page - 1);
    madvise((void *)lo, (size_t)((uintptr_t)start + (size_t)(n * mat->cols * 4) - lo), MADV_WILLNEED);
    return (const float *)start;
}

void softent_matrix_release(softent_matrix *mat, int64_t row0, int64_t n)
{
    if (!mat->map || n <= 0) return;
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)mat->map + (uintptr_t)(mat->offset + row0 * mat->cols * 4);
    uintptr_t end = start + (uintptr_t)(n * mat->cols * 4);
    /* Only whole pages inside the range; a page shared with the next rows stays. */
    uintptr_t lo = (start + (uintptr_t)page - 1) & ~(uintptr_t)(page - 1), hi = end & ~(uintptr_t)(page - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

int softent_matrix_read(softent_matrix *mat, int64_t row0, int64_t n, float *out)
{
    if (row0 < 0 || n < 0 || row0 + n > mat->rows)
        return se_fail(SOFTENT_E_INVALID, "%s: rows %lld..%lld out of range (%lld rows)", mat->path,
                       (long long)row0, (long long)(row0 + n - 1), (long long)mat->rows);
    if (mat->mem) {
        memcpy(out, mat->mem + row0 * mat->cols, (size_t)(n * mat->cols) * sizeof *out);
        return SOFTENT_OK;
    }
    const int size = se_dtype_size(mat->dtype);
    const int64_t count = n * mat->cols;
    if (fseeko(mat->f, (off_t)(mat->offset + row0 * mat->cols * size), SEEK_SET) != 0)
        return se_fail(SOFTENT_E_IO, "%s: seek failed: %s", mat->path, strerror(errno));
    if (mat->dtype == SOFTENT_F32) {
        if (fread(out, 4, (size_t)count, mat->f) != (size_t)count)
            return se_fail(SOFTENT_E_IO, "%s: read failed at row %lld", mat->path, (long long)row0);
        return SOFTENT_OK;
    }
    /* Other dtypes go through a small buffer, a chunk at a time. */
    unsigned char buf[1 << 16];
    const int64_t per = (int64_t)sizeof buf / size;
    for (int64_t done = 0; done < count; done += per) {
        int64_t k = count - done < per ? count - done : per;
        if (fread(buf, (size_t)size, (size_t)k, mat->f) != (size_t)k)
            return se_fail(SOFTENT_E_IO, "%s: read failed at row %lld", mat->path, (long long)row0);
        se_dtype_to_f32(out + done, buf, k, mat->dtype);
    }
    return SOFTENT_OK;
}

int se_text_matrix(softent_matrix **out, const char *path, FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    int64_t rows = 0, cols = -1, lineno = 0, n = 0;
    size_t mem_cap = 0;
    float *mem = NULL;
    int rc = SOFTENT_OK;
    while (!rc && getline(&line, &cap, f) >= 0) {
        lineno++;
        int64_t k = 0;
        char *p = line, *end;
        for (;;) {
            while (*p == ' ' || *p == '\t' || *p == ',') p++;
            if (*p == '\n' || *p == '\r' || *p == '\0') break;
            float v = strtof(p, &end);
            if (end == p) {
                if (rows == 0 && k == 0) goto next_line; /* a header line */
                rc = se_fail(SOFTENT_E_FORMAT, "%s:%lld: field %lld is not a number", path, (long long)lineno, (long long)k + 1);
                break;
            }
            if (se_grow(&mem, &mem_cap, (size_t)n + 1, sizeof *mem)) {
                rc = se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", path);
                break;
            }
            mem[n++] = v;
            k++;
            p = end;
        }
        if (rc || k == 0) continue;
        if (cols < 0) cols = k;
        if (k != cols) rc = se_fail(SOFTENT_E_FORMAT, "%s:%lld: %lld fields, but the first row has %lld", path, (long long)lineno, (long long)k, (long long)cols);
        rows++;
    next_line:;
    }
    free(line);
    if (!rc && rows == 0) rc = se_fail(SOFTENT_E_EMPTY, "%s: no numeric rows", path);
    if (!rc) rc = se_matrix_make(out, path, f, 0, 0, cols, SOFTENT_F32);
    if (rc) { free(mem); return rc; }
    (*out)->rows = rows;
    (*out)->mem = mem;
    return SOFTENT_OK;
}
