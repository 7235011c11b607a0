/*
 * weights.c - memory-mapped safetensors model files (see weights.h).
 *
 * Each file's header is parsed by formats/safetensors.c; this file maps
 * the files, indexes their tensors by name and follows a sharded model's
 * index, {"weight_map": {name: shard file name}}.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fs.h"
#include "formats/dtype.h"
#include "formats/safetensors.h"
#include "gguf_model.h"
#include "softent_gguf.h"
#include "weights.h"

typedef struct {
    char *path;
    const unsigned char *map;
    size_t size;
} st_file;

struct se_st_model {
    char *source;            /* model.safetensors or the index, for messages */
    struct softent_gguf *gguf; /* a GGUF model's file, owning the mapping; else NULL */
    int n_files;
    st_file *files;          /* [n_files] */
    int64_t n_tensors;
    size_t cap;
    se_st_tensor *tensors;   /* [n_tensors] sorted by name */
};

static int add_tensor(se_st_model *st, const se_st_tensor *t)
{
    if (se_grow(&st->tensors, &st->cap, (size_t)st->n_tensors + 1, sizeof *st->tensors))
        return se_fail(SOFTENT_E_NOMEM, "%s: out of memory indexing tensors", t->file);
    st->tensors[st->n_tensors++] = *t;
    return SOFTENT_OK;
}

/* Map one safetensors file and index its tensors. */
static int open_file(se_st_model *st, const char *path)
{
    st_file *file = &st->files[st->n_files];
    if (!(file->path = strdup(path))) return se_fail(SOFTENT_E_NOMEM, "%s: out of memory", path);
    st->n_files++;  /* counted now, so that close() unmaps whatever was mapped */
    int fd = open(path, O_RDONLY);
    if (fd < 0) return se_fail(SOFTENT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) { close(fd); return se_fail(SOFTENT_E_IO, "%s: cannot stat: %s", path, strerror(errno)); }
    uint64_t hlen = 0;
    if (sb.st_size < 8) {  /* nothing to map: the length check says what is wrong */
        close(fd);
        const unsigned char none[8] = {0};
        return se_safetensors_header_len(path, none, (uint64_t)sb.st_size, &hlen);
    }
    void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return se_fail(SOFTENT_E_IO, "%s: cannot map: %s", path, strerror(errno));
    file->map = map;
    file->size = (size_t)sb.st_size;

    int rc = se_safetensors_header_len(path, file->map, file->size, &hlen);
    se_st_entry *entries = NULL;
    int64_t n = 0;
    if (!rc) rc = se_safetensors_parse(path, (const char *)file->map + 8, (size_t)hlen, file->size - 8 - hlen, NULL, &entries, &n);
    for (int64_t i = 0; i < n && !rc; i++) {
        const se_st_entry *e = &entries[i];
        const se_st_tensor t = {.e = *e, .file = file->path, .data = file->map + 8 + hlen + e->begin, .ggml_type = -1};
        if (!(rc = add_tensor(st, &t))) entries[i].name = NULL;  /* the index owns it now */
    }
    se_safetensors_free(entries, n);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const se_st_tensor *)a)->e.name, ((const se_st_tensor *)b)->e.name);
}

/* The shards of an index, each named once, in order of first mention. */
static int open_index(se_st_model *st, const char *dir, const char *index_path)
{
    char *text;
    int rc = se_read_file(index_path, SE_MAX_JSON_BYTES, &text, NULL);
    if (rc) return rc;
    cJSON *root = cJSON_Parse(text);
    free(text);
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(map) || !map->child) {
        cJSON_Delete(root);
        return se_fail(SOFTENT_E_FORMAT, "%s: not a safetensors index (no \"weight_map\" object)", index_path);
    }
    int n = cJSON_GetArraySize(map);
    if (!(st->files = calloc((size_t)n, sizeof *st->files))) { cJSON_Delete(root); return se_fail(SOFTENT_E_NOMEM, "out of memory"); }
    const char **shards = calloc((size_t)n, sizeof *shards);
    int n_shards = 0;
    rc = shards ? SOFTENT_OK : se_fail(SOFTENT_E_NOMEM, "out of memory");
    for (const cJSON *e = map->child; e && !rc; e = e->next) {
        if (!cJSON_IsString(e) || strchr(e->valuestring, '/')) {
            rc = se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' maps to a bad shard name", index_path, e->string);
            break;
        }
        int seen = 0;
        for (int i = 0; i < n_shards && !seen; i++) seen = !strcmp(shards[i], e->valuestring);
        if (!seen) shards[n_shards++] = e->valuestring;
    }
    for (int i = 0; i < n_shards && !rc; i++) {
        char *path = se_path_join(dir, shards[i]);
        rc = path ? open_file(st, path) : se_fail(SOFTENT_E_NOMEM, "out of memory");
        free(path);
    }
    if (!rc) qsort(st->tensors, (size_t)st->n_tensors, sizeof *st->tensors, by_name);
    /* Every tensor the index promises must be in the shard it names. */
    for (const cJSON *e = map->child; e && !rc; e = e->next) {
        const se_st_tensor *t = se_st_find(st, e->string);
        const char *slash = t ? strrchr(t->file, '/') : NULL;
        if (!t || strcmp(slash ? slash + 1 : t->file, e->valuestring) != 0)
            rc = se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' is listed in shard %s, which does not hold it", index_path, e->string, e->valuestring);
    }
    free(shards);
    cJSON_Delete(root);
    return rc;
}

int se_st_open(se_st_model **out, const char *dir)
{
    *out = NULL;
    se_st_model *st = calloc(1, sizeof *st);
    char *index = se_path_join(dir, "model.safetensors.index.json"), *single = se_path_join(dir, "model.safetensors");
    int rc = st && index && single ? SOFTENT_OK : se_fail(SOFTENT_E_NOMEM, "out of memory");
    if (!rc && access(index, F_OK) == 0) {
        st->source = index, index = NULL;
        rc = open_index(st, dir, st->source);
    } else if (!rc) {
        st->source = single, single = NULL;
        if (access(st->source, F_OK) != 0)
            rc = se_fail(SOFTENT_E_IO, "%s: no such file (nor model.safetensors.index.json)", st->source);
        else if (!(st->files = calloc(1, sizeof *st->files)))
            rc = se_fail(SOFTENT_E_NOMEM, "out of memory");
        else
            rc = open_file(st, st->source);
        if (!rc) qsort(st->tensors, (size_t)st->n_tensors, sizeof *st->tensors, by_name);
    }
    for (int64_t i = 1; !rc && i < st->n_tensors; i++)
        if (!strcmp(st->tensors[i - 1].e.name, st->tensors[i].e.name))
            rc = se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' appears twice (also in %s)", st->tensors[i].file,
                         st->tensors[i].e.name, st->tensors[i - 1].file);
    free(index);
    free(single);
    if (rc) { se_st_close(st); return rc; }
    *out = st;
    return SOFTENT_OK;
}

/* A GGUF tensor as an entry: transformers' shape is ggml's ne reversed (a
 * transposed one's is ne itself). */
static int gguf_entry(se_st_model *st, const softent_gguf_tensor *gt, const char *hf_name, se_rows rows)
{
    se_st_tensor t = {.file = st->source, .data = gt->data, .ggml_type = gt->type, .rows = rows};
    t.e.ndim = gt->n_dims;
    for (int k = 0; k < gt->n_dims; k++) t.e.shape[k] = rows.order == SE_ROWS_TRANSPOSED ? gt->ne[k] : gt->ne[gt->n_dims - 1 - k];
    t.e.numel = gt->n_elements;
    t.e.end = (uint64_t)gt->n_bytes;  /* (begin 0: only the size is meant) */
    t.e.dtype = gt->type == SOFTENT_GGML_F32 ? SOFTENT_F32 : gt->type == SOFTENT_GGML_F16 ? SOFTENT_F16
              : gt->type == SOFTENT_GGML_BF16 ? SOFTENT_BF16 : SOFTENT_UNKNOWN;
    snprintf(t.e.dtype_name, sizeof t.e.dtype_name, "%s", softent_ggml_type_name(gt->type));
    if (!(t.e.name = strdup(hf_name))) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    int rc = add_tensor(st, &t);
    if (rc) free(t.e.name);
    return rc;
}

int se_st_open_gguf(se_st_model **out, softent_gguf *g, const char *path, const char *model_type, int64_t n_heads, int64_t n_kv_heads)
{
    *out = NULL;
    se_st_model *st = calloc(1, sizeof *st);
    if (!st || !(st->source = strdup(path))) {
        free(st);
        softent_gguf_close(g);
        return se_fail(SOFTENT_E_NOMEM, "out of memory");
    }
    st->gguf = g;
    int rc = SOFTENT_OK;
    for (int64_t i = 0; i < softent_gguf_n_tensors(g) && !rc; i++) {
        softent_gguf_tensor gt;
        softent_gguf_tensor_info(g, i, &gt);
        char name[256];
        se_rows rows;
        se_gguf_hf_name(model_type, gt.name, n_heads, n_kv_heads, name, sizeof name, &rows);
        if (rows.order && gt.n_dims == 1 && softent_ggml_block_elems(gt.type) != 1)
            rc = se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' is a %s vector whose elements llama.cpp's converter reordered; softent reorders float vectors only",
                         path, gt.name, softent_ggml_type_name(gt.type));
        if (!rc && rows.order == SE_ROWS_TRANSPOSED && gt.n_dims != 2)
            rc = se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' should be a matrix (gpt2's Conv1D weight), not %d-D", path, gt.name, gt.n_dims);
        if (!rc && (rows.order == SE_ROWS_LLAMA_QK || rows.order == SE_ROWS_NEOX_QKV) &&
            (rows.heads <= 0 || gt.n_elements % rows.heads || (gt.n_dims == 2 && gt.ne[1] % rows.heads)))
            rc = se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' does not split into the file's %lld heads", path, gt.name, (long long)rows.heads);
        if (!rc) rc = gguf_entry(st, &gt, name, rows);
    }
    if (!rc) qsort(st->tensors, (size_t)st->n_tensors, sizeof *st->tensors, by_name);
    for (int64_t i = 1; !rc && i < st->n_tensors; i++)
        if (!strcmp(st->tensors[i - 1].e.name, st->tensors[i].e.name))
            rc = se_fail(SOFTENT_E_FORMAT, "%s: two tensors map to '%s'", path, st->tensors[i].e.name);
    if (rc) { se_st_close(st); return rc; }
    *out = st;
    return SOFTENT_OK;
}

void se_st_close(se_st_model *st)
{
    if (!st) return;
    softent_gguf_close(st->gguf);
    for (int64_t i = 0; i < st->n_tensors; i++) free(st->tensors[i].e.name);
    free(st->tensors);
    for (int i = 0; i < st->n_files; i++) {
        if (st->files[i].map) munmap((void *)st->files[i].map, st->files[i].size);
        free(st->files[i].path);
    }
    free(st->files);
    free(st->source);
    free(st);
}

const se_st_tensor *se_st_find(const se_st_model *st, const char *name)
{
    se_st_tensor key = {.e.name = (char *)name};
    return st->n_tensors ? bsearch(&key, st->tensors, (size_t)st->n_tensors, sizeof key, by_name) : NULL;
}

static void shape_text(char *buf, size_t cap, int ndim, const int64_t *shape)
{
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (used < cap) snprintf(buf + used, cap - used, "]");
}

int se_st_get(const se_st_model *st, const char *name, int ndim, const int64_t *shape, const se_st_tensor **out)
{
    *out = NULL;
    const se_st_tensor *t = se_st_find(st, name);
    if (!t)
        return se_fail(SOFTENT_E_FORMAT, "%s: no tensor named '%s'", st->source, name);
    int same = t->e.ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->e.shape[i] == shape[i];
    if (!same) {
        char got[128], want[128];
        shape_text(got, sizeof got, t->e.ndim, t->e.shape);
        shape_text(want, sizeof want, ndim, shape);
        return se_fail(SOFTENT_E_MISMATCH, "%s: tensor '%s' has shape %s, but %s implies %s", t->file, name, got,
                       t->ggml_type >= 0 ? "the file's metadata" : "config.json", want);
    }
    if (t->ggml_type >= 0 && !softent_ggml_type_supported(t->ggml_type))
        return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' has type %s; supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K to Q6_K",
                       t->file, name, t->e.dtype_name);
    if (t->ggml_type < 0 && t->e.dtype != SOFTENT_F32 && t->e.dtype != SOFTENT_F16 && t->e.dtype != SOFTENT_BF16)
        return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' has dtype %s; supported: F32, F16, BF16", t->file, name, t->e.dtype_name);
    *out = t;
    return SOFTENT_OK;
}

int se_st_is_f32(const se_st_tensor *t)
{
    return t->e.dtype == SOFTENT_F32 && !t->rows.order && ((uintptr_t)t->data % sizeof(float)) == 0;
}

void se_st_release(const se_st_tensor *t)
{
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), start = (uintptr_t)t->data;
    const uintptr_t end = start + (uintptr_t)(t->e.end - t->e.begin);
    const uintptr_t lo = (start + page - 1) & ~(page - 1), hi = end & ~(page - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

int se_st_is_bf16(const se_st_tensor *t)
{
    return t->e.dtype == SOFTENT_BF16 && !t->rows.order && ((uintptr_t)t->data % sizeof(uint16_t)) == 0;
}

/* The stored row of transformers' row r of a tensor of `rows` rows
 * reordered as `o` says (weights.h). */
static int64_t stored_row(int64_t r, int64_t rows, se_rows o)
{
    if (o.order == SE_ROWS_LLAMA_QK) {
        const int64_t hd = rows / o.heads, h = r / hd, within = r % hd, half = hd / 2;
        return h * hd + 2 * (within % half) + within / half;
    }
    if (o.order == SE_ROWS_NEOX_QKV) {
        /* transformers: head h's q, k, v, hd rows each; stored: part j's rows of every head */
        const int64_t hd = rows / 3 / o.heads, h = r / (3 * hd), part = r / hd % 3, within = r % hd;
        return part * o.heads * hd + h * hd + within;
    }
    return r;
}

/* A GGUF tensor's rows [r0, r1) (a vector's elements, one a row), each
 * dequantised from its stored row. */
static void gguf_rows(const se_st_tensor *t, int64_t r0, int64_t r1, float *dst)
{
    const int64_t len = t->e.ndim == 1 ? 1 : t->e.shape[t->e.ndim - 1], rows = t->e.numel / (len ? len : 1);
    const int64_t row_bytes = len / softent_ggml_block_elems(t->ggml_type) * softent_ggml_block_bytes(t->ggml_type);
    #pragma omp parallel for schedule(static) if (r1 - r0 > 64)
    for (int64_t r = r0; r < r1; r++) {
        const int64_t src = stored_row(r, rows, t->rows);
        softent_ggml_dequantize(t->ggml_type, (const unsigned char *)t->data + src * row_bytes, dst + (r - r0) * len, len);
    }
}

/* Elements [first, first + n) of a transposed GGUF matrix in transformers'
 * layout [in, out]: stored row c (length in) holds column c.  Each stored
 * row is dequantised a block at a time and scattered. */
static void transposed_to_f32(const se_st_tensor *t, int64_t first, int64_t n, float *dst)
{
    const int64_t in = t->e.shape[0], out = t->e.shape[1], qk = softent_ggml_block_elems(t->ggml_type);
    const int64_t row_bytes = in / qk * softent_ggml_block_bytes(t->ggml_type), block_bytes = softent_ggml_block_bytes(t->ggml_type);
    const int64_t chunk = qk > 256 ? qk : 256 / qk * qk;  /* whole blocks, at most 256 values (K-quants' block) */
    #pragma omp parallel for schedule(static) if (in * out > 65536)
    for (int64_t c = 0; c < out; c++) {
        float vals[256];
        const unsigned char *row = (const unsigned char *)t->data + c * row_bytes;
        for (int64_t r0 = 0; r0 < in; r0 += chunk) {
            const int64_t len = in - r0 < chunk ? in - r0 : chunk;
            softent_ggml_dequantize(t->ggml_type, row + r0 / qk * block_bytes, vals, len);
            for (int64_t r = r0; r < r0 + len; r++) {
                const int64_t e = r * out + c;
                if (e >= first && e < first + n) dst[e - first] = vals[r - r0];
            }
        }
    }
}

void se_st_to_f32(const se_st_tensor *t, int64_t first, int64_t n, float *dst)
{
    if (t->rows.order == SE_ROWS_TRANSPOSED) {
        transposed_to_f32(t, first, n, dst);
        return;
    }
    if (t->ggml_type >= 0 && (t->rows.order || t->e.dtype == SOFTENT_UNKNOWN)) {
        const int64_t len = t->e.ndim == 1 ? 1 : t->e.shape[t->e.ndim - 1];
        if (t->e.ndim == 1 && !t->rows.order) {  /* a block-typed vector: one row */
            softent_ggml_dequantize(t->ggml_type, t->data, dst, n);
            return;
        }
        gguf_rows(t, first / len, (first + n) / len, dst);
        return;
    }
    const unsigned char *src = (const unsigned char *)t->data + (size_t)first * (size_t)se_dtype_size(t->e.dtype);
    const int64_t chunk = 1 << 16;
    #pragma omp parallel for schedule(static) if (n > chunk)
    for (int64_t c0 = 0; c0 < n; c0 += chunk) {
        int64_t c1 = c0 + chunk < n ? c0 + chunk : n;
        se_dtype_to_f32(dst + c0, src + (size_t)c0 * (size_t)se_dtype_size(t->e.dtype), c1 - c0, t->e.dtype);
    }
}
