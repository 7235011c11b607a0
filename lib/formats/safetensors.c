/*
 * safetensors.c - the safetensors header parser, the embedding lookup on
 * it, and the writer (see safetensors.h).  A 3-D embedding tensor with a
 * layer axis is asked for as "NAME:LAYER" ([layers, N, d] only).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/fs.h"
#include "dtype.h"
#include "matrix.h"
#include "safetensors.h"

#define MAX_HEADER (100u << 20)
/* Bounds every dim and element count, so that products of them (and their
 * byte counts) cannot overflow int64 and doubles hold them exactly. */
#define MAX_NUMEL ((int64_t)1 << 50)

/* ---- reading ------------------------------------------------------------- */

int se_safetensors_header_len(const char *path, const unsigned char *prefix, uint64_t file_size, uint64_t *hlen)
{
    if (file_size == 0) return se_fail(SOFTENT_E_FORMAT, "%s: empty file", path);
    if (file_size < 8) return se_fail(SOFTENT_E_FORMAT, "%s: truncated safetensors header", path);
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--) h = (h << 8) | prefix[i];
    if (h < 2 || h > MAX_HEADER)
        return se_fail(SOFTENT_E_FORMAT, "%s: not a safetensors file (header length %llu, file size %llu)", path,
                       (unsigned long long)h, (unsigned long long)file_size);
    if (h > file_size - 8)
        return se_fail(SOFTENT_E_FORMAT, "%s: truncated safetensors header (header length %llu, file size %llu)", path,
                       (unsigned long long)h, (unsigned long long)file_size);
    *hlen = h;
    return SOFTENT_OK;
}

/* A JSON number that is a whole number in [0, max]: checked as a double,
 * before any cast, so that 2^63 or 1e300 is refused rather than wrapped. */
static int whole(const cJSON *v, double max, double *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > max || v->valuedouble != floor(v->valuedouble))
        return 0;
    *out = v->valuedouble;
    return 1;
}

static int parse_entry(const char *path, const cJSON *e, uint64_t data_len, se_st_entry *t)
{
    const char *name = e->string;
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2)
        return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' has a corrupt header entry", path, name);
    *t = (se_st_entry){.dtype = se_dtype_from_st(dt->valuestring), .numel = 1};
    snprintf(t->dtype_name, sizeof t->dtype_name, "%s", dt->valuestring);
    t->ndim = cJSON_GetArraySize(sh);
    if (t->ndim > SE_ST_MAX_DIMS) return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' has %d dims", path, name, t->ndim);
    for (int i = 0; i < t->ndim; i++) {
        double v;
        if (!whole(cJSON_GetArrayItem(sh, i), (double)MAX_NUMEL, &v))
            return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' has a corrupt shape", path, name);
        t->shape[i] = (int64_t)v;
        if (t->shape[i] && t->numel > MAX_NUMEL / t->shape[i])
            return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' has an absurd shape", path, name);
        t->numel *= t->shape[i];
    }
    double begin, end;
    if (!whole(cJSON_GetArrayItem(off, 0), 0x1p62, &begin) || !whole(cJSON_GetArrayItem(off, 1), 0x1p62, &end) || end < begin)
        return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' has corrupt data offsets", path, name);
    if (end > (double)data_len)
        return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s': data offsets [%.0f, %.0f] lie outside the file's %llu data bytes (truncated?)",
                       path, name, begin, end, (unsigned long long)data_len);
    t->begin = (uint64_t)begin, t->end = (uint64_t)end;
    const int size = se_dtype_size(t->dtype);
    if (size && t->end - t->begin != (uint64_t)t->numel * (uint64_t)size)
        return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s': %.0f data bytes for %lld %s elements", path, name,
                       end - begin, (long long)t->numel, t->dtype_name);
    if (!(t->name = strdup(name))) return se_fail(SOFTENT_E_NOMEM, "%s: out of memory", path);
    return SOFTENT_OK;
}

void se_safetensors_free(se_st_entry *entries, int64_t n)
{
    for (int64_t i = 0; i < n; i++) free(entries[i].name);
    free(entries);
}

/* The names of entries [kept, n), which the list no longer holds. */
static void se_safetensors_free_tail(se_st_entry *entries, int64_t kept, int64_t n)
{
    for (int64_t i = kept; i < n; i++) free(entries[i].name);
}

static int by_begin(const void *a, const void *b)
{
    const se_st_entry *x = *(const se_st_entry *const *)a, *y = *(const se_st_entry *const *)b;
    if (x->begin != y->begin) return (x->begin > y->begin) - (x->begin < y->begin);
    return (x->end > y->end) - (x->end < y->end); /* an empty tensor [a, a) before [a, b) */
}

/* The tensors' bytes tile the data section exactly, as the format requires
 * (no holes, no overlaps, nothing after): a header length off by one or a
 * file cut short anywhere is refused instead of read shifted. */
static int check_coverage(const char *path, se_st_entry *list, int64_t n, uint64_t data_len)
{
    se_st_entry **order = malloc((size_t)(n ? n : 1) * sizeof *order);
    if (!order) return se_fail(SOFTENT_E_NOMEM, "%s: out of memory", path);
    for (int64_t i = 0; i < n; i++) order[i] = &list[i];
    qsort(order, (size_t)n, sizeof *order, by_begin);
    uint64_t at = 0;
    int rc = SOFTENT_OK;
    for (int64_t i = 0; i < n && !rc; i++) {
        if (order[i]->begin != at)
            rc = se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' starts at data byte %llu, where %llu was expected: the data section has %s (a corrupt header?)",
                         path, order[i]->name, (unsigned long long)order[i]->begin, (unsigned long long)at, order[i]->begin > at ? "a hole" : "an overlap");
        at = order[i]->end;
    }
    if (!rc && at != data_len)
        rc = se_fail(SOFTENT_E_FORMAT, "%s: the tensors hold %llu data bytes but the file has %llu after its header (a corrupt header length, or a truncated or padded file)",
                     path, (unsigned long long)at, (unsigned long long)data_len);
    free(order);
    return rc;
}

int se_safetensors_parse(const char *path, const char *header, size_t hlen, uint64_t data_len, const char *only,
                         se_st_entry **entries, int64_t *n)
{
    *entries = NULL;
    *n = 0;
    cJSON *root = cJSON_ParseWithLength(header, hlen);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return se_fail(SOFTENT_E_FORMAT, "%s: safetensors header is not a JSON object", path);
    }
    const int64_t cap = cJSON_GetArraySize(root);
    se_st_entry *list = calloc(cap ? (size_t)cap : 1, sizeof *list);
    int rc = list ? SOFTENT_OK : se_fail(SOFTENT_E_NOMEM, "%s: out of memory", path);
    int64_t count = 0;
    /* every entry is checked, the ones not asked for too: a file is whole or refused */
    for (const cJSON *e = root->child; e && !rc; e = e->next) {
        if (!strcmp(e->string, "__metadata__")) continue;
        rc = parse_entry(path, e, data_len, &list[count]);
        if (!rc) count++;
    }
    cJSON_Delete(root);
    if (!rc) rc = check_coverage(path, list, count, data_len);
    if (!rc && only) { /* keep the one asked for */
        int64_t kept = 0;
        for (int64_t i = 0; i < count; i++)
            if (!strcmp(list[i].name, only)) {
                se_st_entry t = list[kept];
                list[kept++] = list[i];
                list[i] = t;
            }
        se_safetensors_free_tail(list, kept, count);
        count = kept;
    }
    if (rc || !count) {
        se_safetensors_free(list, count);
        return rc;
    }
    *entries = list;
    *n = count;
    return SOFTENT_OK;
}

/* ---- the embedding matrix ------------------------------------------------ */

/* The header of f, read whole: *text [*hlen] malloc'ed, *data_len the bytes after it. */
static int read_header(FILE *f, const char *path, char **text, uint64_t *hlen, uint64_t *data_len)
{
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) return se_fail(SOFTENT_E_IO, "%s: cannot stat: %s", path, strerror(errno));
    unsigned char prefix[8] = {0};
    rewind(f);
    if (fread(prefix, 1, 8, f) != 8 && sb.st_size >= 8) return se_fail(SOFTENT_E_IO, "%s: read failed", path);
    int rc = se_safetensors_header_len(path, prefix, (uint64_t)sb.st_size, hlen);
    if (rc) return rc;
    if (!(*text = malloc(*hlen))) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    if (fread(*text, 1, *hlen, f) != *hlen) {
        free(*text);
        *text = NULL;
        return se_fail(SOFTENT_E_FORMAT, "%s: truncated safetensors header", path);
    }
    *data_len = (uint64_t)sb.st_size - 8 - *hlen;
    return SOFTENT_OK;
}

int se_safetensors_find(FILE *f, const char *path, const char *tensor, softent_dtype *dtype,
                        int64_t shape[2], int64_t *offset)
{
    char *text = NULL;
    uint64_t hlen = 0, data_len = 0;
    int rc = read_header(f, path, &text, &hlen, &data_len);
    if (rc) return rc;
    se_st_entry *list = NULL;
    int64_t n = 0, found = 0;
    long layer = -1;
    char name[512] = "";
    if (tensor) {
        snprintf(name, sizeof name, "%s", tensor);
        rc = se_safetensors_parse(path, text, hlen, data_len, name, &list, &n);
        /* "NAME:LAYER" selects one layer of a [layers, N, d] tensor, unless
         * a tensor is called that */
        char *colon = strrchr(name, ':');
        if (!rc && !n && colon) {
            *colon = '\0';
            layer = strtol(colon + 1, NULL, 10);
            rc = se_safetensors_parse(path, text, hlen, data_len, name, &list, &n);
        }
        if (!rc && !n) rc = se_fail(SOFTENT_E_FORMAT, "%s: no tensor named '%s'", path, name);
    } else {
        rc = se_safetensors_parse(path, text, hlen, data_len, NULL, &list, &n);
        int candidates = 0;
        for (int64_t i = 0; i < n && !rc; i++)
            if (list[i].ndim == 2) found = i, candidates++;
        if (!rc && candidates != 1)
            rc = se_fail(SOFTENT_E_FORMAT, "%s: %s 2-D tensor; name one with --tensor", path, candidates ? "more than one" : "no");
    }
    free(text);
    const se_st_entry *e = n ? &list[found] : NULL;
    if (!rc && !se_dtype_is_float(e->dtype) && e->dtype != SOFTENT_I32 && e->dtype != SOFTENT_I64)
        rc = se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' has unsupported dtype %s", path, e->name, e->dtype_name);
    if (!rc) {
        const int64_t base = 8 + (int64_t)hlen + (int64_t)e->begin;
        if (e->ndim == 2 && layer < 0) {
            shape[0] = e->shape[0], shape[1] = e->shape[1];
            *offset = base;
            *dtype = e->dtype;
        } else if (e->ndim == 3 && layer >= 0 && layer < e->shape[0]) {
            shape[0] = e->shape[1], shape[1] = e->shape[2];
            *offset = base + layer * e->shape[1] * e->shape[2] * se_dtype_size(e->dtype);
            *dtype = e->dtype;
        } else if (e->ndim == 3 && layer >= 0) {
            rc = se_fail(SOFTENT_E_INVALID, "%s: layer %lld of tensor '%s' is out of range: it has layers 0..%lld", path, (long long)layer,
                         e->name, (long long)e->shape[0] - 1);
        } else if (e->ndim == 3) {
            rc = se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' is 3-D [%lld, %lld, %lld]; pick a layer with '%s:LAYER' (0..%lld)", path,
                         e->name, (long long)e->shape[0], (long long)e->shape[1], (long long)e->shape[2], e->name,
                         (long long)e->shape[0] - 1);
        } else {
            rc = se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' is %d-D; embeddings are 2-D", path, e->name, e->ndim);
        }
    }
    se_safetensors_free(list, n);
    return rc;
}

/* ---- writing ------------------------------------------------------------- */

int se_safetensors_write(const char *path, const se_st_out *tensors, int n, const char *const *meta_keys,
                         const char *const *meta_values, int n_meta)
{
    /* header: {"__metadata__": {...}, "NAME": {"dtype": "F32", "shape": [...],
     * "data_offsets": [a, b]}, ...}, padded with spaces to a multiple of 8
     * bytes, after its u64 length */
    cJSON *h = cJSON_CreateObject();
    int ok = h != NULL;
    if (ok && n_meta) {
        cJSON *meta = cJSON_AddObjectToObject(h, "__metadata__");
        for (int i = 0; ok && i < n_meta; i++) ok = meta && cJSON_AddStringToObject(meta, meta_keys[i], meta_values[i]);
    }
    int64_t off = 0;
    for (int i = 0; ok && i < n; i++) {
        const se_st_out *x = &tensors[i];
        int64_t numel = 1;
        double shape[SE_ST_MAX_DIMS];
        for (int k = 0; k < x->ndim; k++) numel *= x->shape[k], shape[k] = (double)x->shape[k];
        cJSON *e = cJSON_AddObjectToObject(h, x->name);
        const double offsets[2] = {(double)off, (double)(off + 4 * numel)};
        ok = e && cJSON_AddStringToObject(e, "dtype", "F32") &&
             cJSON_AddItemToObject(e, "shape", cJSON_CreateDoubleArray(shape, x->ndim)) &&
             cJSON_AddItemToObject(e, "data_offsets", cJSON_CreateDoubleArray(offsets, 2));
        off += 4 * numel;
    }
    char *json = ok ? cJSON_PrintUnformatted(h) : NULL;
    cJSON_Delete(h);
    if (!json) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    const size_t len = strlen(json), padded = (len + 7) / 8 * 8;
    unsigned char size[8];
    for (int b = 0; b < 8; b++) size[b] = (unsigned char)((uint64_t)padded >> (8 * b));

    se_atomic_file a;
    int rc = se_atomic_open(&a, path);
    if (!rc) {
        se_atomic_write(&a, size, 8);
        se_atomic_write(&a, json, len);
        se_atomic_write(&a, "        ", padded - len);
        for (int i = 0; i < n; i++) {
            int64_t numel = 1;
            for (int k = 0; k < tensors[i].ndim; k++) numel *= tensors[i].shape[k];
            se_atomic_write(&a, tensors[i].data, (size_t)numel * sizeof(float));
        }
        rc = se_atomic_commit(&a);
    }
    free(json);
    return rc;
}
