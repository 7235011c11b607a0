/*
 * gguf.c - a GGUF file mapped read-only and validated whole at open (see
 * softent_gguf.h): the header, every key and value, every tensor's shape,
 * type, offset and extent, before anything is kept.  The rules are
 * llama.cpp's gguf.cpp after its fuzzing, stated in docs/gguf.md; every
 * count read from the file is bounded by the bytes left before it sizes a
 * loop or an allocation.
 */
#define _GNU_SOURCE /* qsort_r */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/fs.h"
#include "softent_gguf.h"

#define GGUF_MAX_NAME 64   /* ggml's GGML_MAX_NAME: a tensor name is shorter */
#define GGUF_MAX_DIMS 4
#define GGUF_DEFAULT_ALIGNMENT 32

typedef struct {
    const char *name;      /* NUL-terminated copy, owned */
    int type, elem_type;   /* elem_type -1 unless an array */
    int64_t n;             /* elements (1 for a scalar) */
    const uint8_t *value;  /* the first element, in the mapping */
    int64_t *str;          /* string arrays: each element's offset from value; owned */
} gguf_kv;

struct softent_gguf {
    char *path;
    const uint8_t *map;
    size_t size;
    int version;
    int64_t n_kv, n_tensors, alignment, data_start;
    gguf_kv *kv;                  /* [n_kv] */
    softent_gguf_tensor *tensors; /* [n_tensors]; names owned */
};

/* ---- a cursor over the mapping, every read bounded ------------------------ */

typedef struct {
    const uint8_t *p, *end;
    const char *path;
} cursor;

static size_t left(const cursor *c) { return (size_t)(c->end - c->p); }

static int need(cursor *c, size_t n, const char *what)
{
    if (left(c) >= n) return SOFTENT_OK;
    return se_fail(SOFTENT_E_FORMAT, "%s: truncated in %s (%zu bytes needed, %zu left); the file is cut short or corrupt", c->path, what, n, left(c));
}

static int read_u32(cursor *c, uint32_t *v, const char *what)
{
    int rc = need(c, 4, what);
    if (!rc) memcpy(v, c->p, 4), c->p += 4;
    return rc;
}

static int read_u64(cursor *c, uint64_t *v, const char *what)
{
    int rc = need(c, 8, what);
    if (!rc) memcpy(v, c->p, 8), c->p += 8;
    return rc;
}

/* A gguf_string: u64 length, bytes.  *s points into the mapping. */
static int read_string(cursor *c, const uint8_t **s, uint64_t *len, const char *what)
{
    int rc = read_u64(c, len, what);
    if (!rc && *len > left(c))
        return se_fail(SOFTENT_E_FORMAT, "%s: %s claims %llu bytes but %zu are left in the file", c->path, what, (unsigned long long)*len, left(c));
    if (!rc) *s = c->p, c->p += *len;
    return rc;
}

/* ---- values ------------------------------------------------------------------ */

static int scalar_size(int type)
{
    static const int size[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return type >= 0 && type <= SOFTENT_GGUF_F64 ? size[type] : -1;
}

static const char *value_type_name(int type)
{
    static const char *names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
    return type >= 0 && type <= SOFTENT_GGUF_F64 ? names[type] : "unknown";
}

/* Skip one value of type `type` (not an array), checking its extent. */
static int skip_scalar(cursor *c, int type, const char *key)
{
    if (type == SOFTENT_GGUF_STRING) {
        const uint8_t *s = NULL;
        uint64_t len = 0;
        return read_string(c, &s, &len, key);
    }
    int rc = need(c, (size_t)scalar_size(type), key);
    if (!rc) c->p += scalar_size(type);
    return rc;
}

/* One key's value at the cursor: its type, and for an array its element
 * type and count, each element's extent checked (strings' offsets kept). */
static int read_value(cursor *c, gguf_kv *kv)
{
    char what[96];
    snprintf(what, sizeof what, "key '%.80s'", kv->name);
    uint32_t type;
    int rc = read_u32(c, &type, what);
    if (rc) return rc;
    if (scalar_size((int)type) < 0)
        return se_fail(SOFTENT_E_FORMAT, "%s: key '%s' has value type %u, not one of GGUF's 0..12", c->path, kv->name, type);
    kv->type = (int)type, kv->elem_type = -1, kv->n = 1;
    if (type != SOFTENT_GGUF_ARRAY) {
        kv->value = c->p;
        return skip_scalar(c, kv->type, what);
    }
    uint32_t et;
    uint64_t n;
    if ((rc = read_u32(c, &et, what)) || (rc = read_u64(c, &n, what))) return rc;
    if (et == SOFTENT_GGUF_ARRAY) return se_fail(SOFTENT_E_FORMAT, "%s: key '%s' is an array of arrays, which GGUF readers do not take", c->path, kv->name);
    if (scalar_size((int)et) < 0) return se_fail(SOFTENT_E_FORMAT, "%s: key '%s' is an array of value type %u, not one of GGUF's", c->path, kv->name, et);
    const size_t min_size = et == SOFTENT_GGUF_STRING ? 8 : (size_t)scalar_size((int)et);
    if (n > left(c) / min_size)
        return se_fail(SOFTENT_E_FORMAT, "%s: key '%s' claims %llu %s elements but %zu bytes are left in the file", c->path, kv->name,
                       (unsigned long long)n, value_type_name((int)et), left(c));
    kv->elem_type = (int)et, kv->n = (int64_t)n, kv->value = c->p;
    if (et != SOFTENT_GGUF_STRING) {
        c->p += n * min_size;
        return SOFTENT_OK;
    }
    if (!(kv->str = malloc((size_t)n * sizeof *kv->str + 1))) return se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", c->path);
    for (uint64_t j = 0; j < n && !rc; j++) {
        kv->str[j] = c->p - kv->value;
        rc = skip_scalar(c, SOFTENT_GGUF_STRING, what);
    }
    return rc;
}

/* ---- header and keys ----------------------------------------------------------- */

static int cmp_names(const void *a, const void *b, void *names)
{
    const char *const *n = names;
    return strcmp(n[*(const int64_t *)a], n[*(const int64_t *)b]);
}

/* Refuse a name that appears twice among names [n], what[] saying whose
 * (sorted, so that a hostile file's million keys cost n log n, not n^2). */
static int check_unique(const softent_gguf *g, const char **names, int64_t n, const char *what)
{
    int64_t *order = malloc((size_t)n * sizeof *order + 1);
    if (!order) return se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", g->path);
    for (int64_t i = 0; i < n; i++) order[i] = i;
    qsort_r(order, (size_t)n, sizeof *order, cmp_names, (void *)names);
    const char *dup = NULL;
    for (int64_t i = 1; i < n && !dup; i++)
        if (!strcmp(names[order[i]], names[order[i - 1]])) dup = names[order[i]];
    free(order);
    return dup ? se_fail(SOFTENT_E_FORMAT, "%s: %s '%s' appears twice", g->path, what, dup) : SOFTENT_OK;
}

/* A name from the file as a C string: *dst malloc'ed. */
static int copy_name(const softent_gguf *g, const uint8_t *s, uint64_t len, const char **dst)
{
    char *d = malloc((size_t)len + 1);
    if (!d) return se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", g->path);
    memcpy(d, s, (size_t)len);
    d[len] = 0;
    *dst = d;
    return SOFTENT_OK;
}

static int read_keys(softent_gguf *g, cursor *c)
{
    int rc = SOFTENT_OK;
    for (int64_t i = 0; i < g->n_kv && !rc; i++) {
        const uint8_t *s = NULL;
        uint64_t len = 0;
        if ((rc = read_string(c, &s, &len, "a key's name"))) break;
        if (len == 0 || memchr(s, 0, len)) return se_fail(SOFTENT_E_FORMAT, "%s: key %lld's name is empty or holds a NUL byte", g->path, (long long)i);
        if (!(rc = copy_name(g, s, len, &g->kv[i].name))) rc = read_value(c, &g->kv[i]);
    }
    if (rc) return rc;
    const char **names = malloc((size_t)g->n_kv * sizeof *names + 1);
    if (!names) return se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", g->path);
    for (int64_t i = 0; i < g->n_kv; i++) names[i] = g->kv[i].name;
    rc = check_unique(g, names, g->n_kv, "key");
    free(names);
    if (rc) return rc;
    const int64_t a = softent_gguf_find_key(g, "general.alignment");
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    if (a >= 0) {
        uint32_t v;
        if (g->kv[a].type != SOFTENT_GGUF_U32) return se_fail(SOFTENT_E_FORMAT, "%s: general.alignment is a %s, not a u32", g->path, value_type_name(g->kv[a].type));
        memcpy(&v, g->kv[a].value, 4);
        if (v == 0 || (v & (v - 1))) return se_fail(SOFTENT_E_FORMAT, "%s: general.alignment %u is not a power of two", g->path, v);
        g->alignment = v;
    }
    return SOFTENT_OK;
}

/* ---- tensors ------------------------------------------------------------------- */

/* One tensor's info: name, dims, type, offset (relative to the data section). */
static int read_tensor(softent_gguf *g, cursor *c, int64_t i, uint64_t *offset)
{
    softent_gguf_tensor *t = &g->tensors[i];
    const uint8_t *s = NULL;
    uint64_t len = 0;
    uint32_t n_dims, type;
    int rc = read_string(c, &s, &len, "a tensor's name");
    if (rc) return rc;
    if (len == 0 || len >= GGUF_MAX_NAME || memchr(s, 0, len))
        return se_fail(SOFTENT_E_FORMAT, "%s: tensor %lld's name has %llu bytes; ggml's names are 1 to %d bytes without NUL", g->path, (long long)i,
                       (unsigned long long)len, GGUF_MAX_NAME - 1);
    if ((rc = copy_name(g, s, len, &t->name)) || (rc = read_u32(c, &n_dims, t->name))) return rc;
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS) return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' has %u dimensions; ggml's have 1 to 4", g->path, t->name, n_dims);
    t->n_dims = (int)n_dims;
    t->n_elements = 1;
    for (int k = 0; k < GGUF_MAX_DIMS; k++) t->ne[k] = 1;
    for (uint32_t k = 0; k < n_dims; k++) {
        uint64_t ne;
        if ((rc = read_u64(c, &ne, t->name))) return rc;
        if (ne > (uint64_t)INT64_MAX || (ne > 0 && t->n_elements > INT64_MAX / (int64_t)ne))
            return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s': its shape's element count overflows 64 bits", g->path, t->name);
        t->ne[k] = (int64_t)ne;
        t->n_elements *= (int64_t)ne;
    }
    if ((rc = read_u32(c, &type, t->name)) || (rc = read_u64(c, offset, t->name))) return rc;
    t->type = (int)type;
    const int64_t be = softent_ggml_block_elems((int)type), bb = softent_ggml_block_bytes((int)type);
    if (!be) return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' has type %u, which ggml does not define", g->path, t->name, type);
    if (t->ne[0] % be)
        return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s': a row of %lld elements is not a whole number of %s's %lld-element blocks", g->path,
                       t->name, (long long)t->ne[0], softent_ggml_type_name((int)type), (long long)be);
    if (t->n_elements / be > INT64_MAX / bb) return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s': its size in bytes overflows 64 bits", g->path, t->name);
    t->n_bytes = t->n_elements / be * bb;
    if (*offset % (uint64_t)g->alignment)
        return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' starts at offset %llu, not a multiple of the alignment %lld", g->path, t->name,
                       (unsigned long long)*offset, (long long)g->alignment);
    return SOFTENT_OK;
}

static int cmp_offsets(const void *a, const void *b, void *tensors)
{
    const softent_gguf_tensor *t = tensors;
    const uint8_t *x = t[*(const int64_t *)a].data, *y = t[*(const int64_t *)b].data;
    return x < y ? -1 : x > y;
}

/* Every tensor inside the data section, and no two overlapping. */
static int check_extents(softent_gguf *g, const uint64_t *offset)
{
    const uint64_t room = g->data_start <= (int64_t)g->size ? g->size - (uint64_t)g->data_start : 0;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        softent_gguf_tensor *t = &g->tensors[i];
        if (offset[i] > room || (uint64_t)t->n_bytes > room - offset[i])
            return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' (%lld bytes at offset %llu) runs past the end of the file's %llu data bytes; the file is cut short or corrupt",
                           g->path, t->name, (long long)t->n_bytes, (unsigned long long)offset[i], (unsigned long long)room);
        t->data = g->map + g->data_start + offset[i];
    }
    int64_t *order = malloc((size_t)g->n_tensors * sizeof *order + 1);
    if (!order) return se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", g->path);
    for (int64_t i = 0; i < g->n_tensors; i++) order[i] = i;
    qsort_r(order, (size_t)g->n_tensors, sizeof *order, cmp_offsets, g->tensors);
    int rc = SOFTENT_OK;
    for (int64_t k = 1; k < g->n_tensors && !rc; k++) {
        const softent_gguf_tensor *a = &g->tensors[order[k - 1]], *b = &g->tensors[order[k]];
        if ((const uint8_t *)a->data + a->n_bytes > (const uint8_t *)b->data)
            rc = se_fail(SOFTENT_E_FORMAT, "%s: tensors '%s' and '%s' overlap in the data section", g->path, a->name, b->name);
    }
    free(order);
    return rc;
}

static int read_tensors(softent_gguf *g, cursor *c)
{
    uint64_t *offset = malloc((size_t)g->n_tensors * sizeof *offset + 1);
    const char **names = malloc((size_t)g->n_tensors * sizeof *names + 1);
    int rc = offset && names ? SOFTENT_OK : se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", g->path);
    for (int64_t i = 0; i < g->n_tensors && !rc; i++) rc = read_tensor(g, c, i, &offset[i]);
    if (!rc) {
        for (int64_t i = 0; i < g->n_tensors; i++) names[i] = g->tensors[i].name;
        rc = check_unique(g, names, g->n_tensors, "tensor");
    }
    if (!rc) {
        const int64_t pos = c->p - g->map;
        g->data_start = (pos + g->alignment - 1) / g->alignment * g->alignment;
        rc = check_extents(g, offset);
    }
    free(offset);
    free(names);
    return rc;
}

/* ---- open and close -------------------------------------------------------------- */

static int map_file(softent_gguf *g, const char *path)
{
    FILE *f;
    int rc = se_open_regular(path, &f);
    if (rc) return rc;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) rc = se_fail(SOFTENT_E_IO, "%s: cannot stat", path);
    else if (sb.st_size < 24) rc = se_fail(SOFTENT_E_FORMAT, "%s: %lld bytes, too short for a GGUF header (24)", path, (long long)sb.st_size);
    if (!rc) {
        g->size = (size_t)sb.st_size;
        void *m = mmap(NULL, g->size, PROT_READ, MAP_PRIVATE, fileno(f), 0);
        if (m == MAP_FAILED) rc = se_fail(SOFTENT_E_IO, "%s: cannot map the file", path);
        else g->map = m;
    }
    fclose(f);
    return rc;
}

static int parse(softent_gguf *g)
{
    cursor c = {g->map, g->map + g->size, g->path};
    if (memcmp(g->map, "GGUF", 4)) return se_fail(SOFTENT_E_FORMAT, "%s: not a GGUF file (its first bytes are not \"GGUF\")", g->path);
    c.p += 4;
    uint32_t version;
    uint64_t n_tensors, n_kv;
    int rc = read_u32(&c, &version, "the header");
    if (!rc && version == 1) return se_fail(SOFTENT_E_FORMAT, "%s: GGUF version 1, which llama.cpp no longer reads; convert the model again", g->path);
    if (!rc && version != 2 && version != 3) return se_fail(SOFTENT_E_FORMAT, "%s: GGUF version %u; softent reads versions 2 and 3", g->path, version);
    if (rc || (rc = read_u64(&c, &n_tensors, "the header")) || (rc = read_u64(&c, &n_kv, "the header"))) return rc;
    g->version = (int)version;
    /* a key takes at least 13 bytes (name length, one byte, type, a u8),
     * a tensor info 29 (name length, one byte, n_dims, one dim, type, offset) */
    if (n_kv > left(&c) / 13 || n_tensors > left(&c) / 29)
        return se_fail(SOFTENT_E_FORMAT, "%s: the header claims %llu keys and %llu tensors, more than the file's %zu bytes can hold", g->path,
                       (unsigned long long)n_kv, (unsigned long long)n_tensors, g->size);
    g->n_kv = (int64_t)n_kv, g->n_tensors = (int64_t)n_tensors;
    g->kv = calloc((size_t)n_kv + 1, sizeof *g->kv);
    g->tensors = calloc((size_t)n_tensors + 1, sizeof *g->tensors);
    if (!g->kv || !g->tensors) return se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", g->path);
    if ((rc = read_keys(g, &c))) return rc;
    return read_tensors(g, &c);
}

int softent_gguf_open(softent_gguf **out, const char *path)
{
    *out = NULL;
    softent_gguf *g = calloc(1, sizeof *g);
    if (!g || !(g->path = strdup(path))) {
        free(g);
        return se_fail(SOFTENT_E_NOMEM, "out of memory");
    }
    int rc = map_file(g, path);
    if (!rc) rc = parse(g);
    if (rc) softent_gguf_close(g);
    else *out = g;
    return rc;
}

void softent_gguf_close(softent_gguf *g)
{
    if (!g) return;
    if (g->map) munmap((void *)g->map, g->size);
    for (int64_t i = 0; g->kv && i < g->n_kv; i++) free(g->kv[i].str), free((char *)g->kv[i].name);
    for (int64_t i = 0; g->tensors && i < g->n_tensors; i++) free((char *)g->tensors[i].name);
    free(g->kv);
    free(g->tensors);
    free(g->path);
    free(g);
}

int softent_gguf_version(const softent_gguf *g) { return g->version; }

/* ---- metadata access -------------------------------------------------------------- */

int64_t softent_gguf_n_keys(const softent_gguf *g) { return g->n_kv; }

const char *softent_gguf_key(const softent_gguf *g, int64_t i, int *type, int *elem_type, int64_t *n)
{
    if (i < 0 || i >= g->n_kv) return NULL;
    if (type) *type = g->kv[i].type;
    if (elem_type) *elem_type = g->kv[i].elem_type;
    if (n) *n = g->kv[i].n;
    return g->kv[i].name;
}

int64_t softent_gguf_find_key(const softent_gguf *g, const char *name)
{
    for (int64_t i = 0; i < g->n_kv; i++)
        if (g->kv[i].name && !strcmp(g->kv[i].name, name)) return i;
    return -1;
}

/* Element j of key i: its type and bytes. */
static int element(const softent_gguf *g, int64_t i, int64_t j, int *type, const uint8_t **p)
{
    if (i < 0 || i >= g->n_kv) return se_fail(SOFTENT_E_INVALID, "%s: no key %lld", g->path, (long long)i);
    const gguf_kv *kv = &g->kv[i];
    if (j < 0 || j >= kv->n) return se_fail(SOFTENT_E_INVALID, "%s: key '%s' has %lld elements, not %lld", g->path, kv->name, (long long)kv->n, (long long)j + 1);
    *type = kv->type == SOFTENT_GGUF_ARRAY ? kv->elem_type : kv->type;
    *p = kv->type != SOFTENT_GGUF_ARRAY ? kv->value : *type == SOFTENT_GGUF_STRING ? kv->value + kv->str[j] : kv->value + j * scalar_size(*type);
    return SOFTENT_OK;
}

int softent_gguf_get_int(const softent_gguf *g, int64_t i, int64_t j, int64_t *v)
{
    int type = -1;
    const uint8_t *p = NULL;
    int rc = element(g, i, j, &type, &p);
    if (rc) return rc;
    union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32; uint64_t u64; int64_t i64; } x;
    memcpy(&x, p, (size_t)(scalar_size(type) > 0 ? scalar_size(type) : 0));
    switch (type) {
    case SOFTENT_GGUF_U8: case SOFTENT_GGUF_BOOL: *v = x.u8; return SOFTENT_OK;
    case SOFTENT_GGUF_I8: *v = x.i8; return SOFTENT_OK;
    case SOFTENT_GGUF_U16: *v = x.u16; return SOFTENT_OK;
    case SOFTENT_GGUF_I16: *v = x.i16; return SOFTENT_OK;
    case SOFTENT_GGUF_U32: *v = x.u32; return SOFTENT_OK;
    case SOFTENT_GGUF_I32: *v = x.i32; return SOFTENT_OK;
    case SOFTENT_GGUF_I64: *v = x.i64; return SOFTENT_OK;
    case SOFTENT_GGUF_U64:
        if (x.u64 > (uint64_t)INT64_MAX) break;
        *v = (int64_t)x.u64;
        return SOFTENT_OK;
    }
    return se_fail(SOFTENT_E_INVALID, "%s: key '%s' holds a %s, not an integer in range", g->path, g->kv[i].name, value_type_name(type));
}

int softent_gguf_get_float(const softent_gguf *g, int64_t i, int64_t j, double *v)
{
    int type = -1;
    const uint8_t *p = NULL;
    int rc = element(g, i, j, &type, &p);
    if (rc) return rc;
    if (type == SOFTENT_GGUF_F32) {
        float f;
        memcpy(&f, p, 4);
        *v = f;
        return SOFTENT_OK;
    }
    if (type == SOFTENT_GGUF_F64) {
        memcpy(v, p, 8);
        return SOFTENT_OK;
    }
    int64_t n;
    if (softent_gguf_get_int(g, i, j, &n) == SOFTENT_OK) {
        *v = (double)n;
        return SOFTENT_OK;
    }
    return se_fail(SOFTENT_E_INVALID, "%s: key '%s' holds a %s, not a number", g->path, g->kv[i].name, value_type_name(type));
}

int softent_gguf_get_string(const softent_gguf *g, int64_t i, int64_t j, const char **s, size_t *len)
{
    int type = -1;
    const uint8_t *p = NULL;
    int rc = element(g, i, j, &type, &p);
    if (rc) return rc;
    if (type != SOFTENT_GGUF_STRING) return se_fail(SOFTENT_E_INVALID, "%s: key '%s' holds a %s, not a string", g->path, g->kv[i].name, value_type_name(type));
    uint64_t n;
    memcpy(&n, p, 8);
    *s = (const char *)p + 8, *len = (size_t)n;
    return SOFTENT_OK;
}

/* ---- tensor access -------------------------------------------------------------- */

int64_t softent_gguf_n_tensors(const softent_gguf *g) { return g->n_tensors; }

int softent_gguf_tensor_info(const softent_gguf *g, int64_t i, softent_gguf_tensor *t)
{
    if (i < 0 || i >= g->n_tensors) return se_fail(SOFTENT_E_INVALID, "%s: no tensor %lld", g->path, (long long)i);
    *t = g->tensors[i];
    return SOFTENT_OK;
}

int64_t softent_gguf_find_tensor(const softent_gguf *g, const char *name)
{
    for (int64_t i = 0; i < g->n_tensors; i++)
        if (!strcmp(g->tensors[i].name, name)) return i;
    return -1;
}

int softent_gguf_read_rows(const softent_gguf *g, int64_t i, int64_t row0, int64_t n, float *out)
{
    if (i < 0 || i >= g->n_tensors) return se_fail(SOFTENT_E_INVALID, "%s: no tensor %lld", g->path, (long long)i);
    const softent_gguf_tensor *t = &g->tensors[i];
    if (!softent_ggml_type_supported(t->type))
        return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' has type %s, which softent cannot dequantise (it reads F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and Q2_K to Q6_K)",
                       g->path, t->name, softent_ggml_type_name(t->type));
    const int64_t rows = t->ne[0] ? t->n_elements / t->ne[0] : 0;
    if (row0 < 0 || n < 0 || row0 > rows || n > rows - row0)
        return se_fail(SOFTENT_E_INVALID, "%s: tensor '%s' has %lld rows; rows %lld..%lld asked", g->path, t->name, (long long)rows, (long long)row0,
                       (long long)(row0 + n - 1));
    const int64_t row_bytes = t->ne[0] / softent_ggml_block_elems(t->type) * softent_ggml_block_bytes(t->type);
    return softent_ggml_dequantize(t->type, (const uint8_t *)t->data + row0 * row_bytes, out, n * t->ne[0]);
}
