/*
 * safetensors.c - locate a 2-D tensor in a .safetensors file: an 8-byte
 * little-endian header length, a JSON header {name: {dtype, shape,
 * data_offsets}}, then the data.  A 3-D tensor with a layer axis is asked
 * for as "NAME:LAYER" ([layers, N, d] only).
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "matrix.h"

static int parse_dtype(const char *s, softent_dtype *t)
{
    if (!strcmp(s, "F16")) *t = SOFTENT_F16;
    else if (!strcmp(s, "BF16")) *t = SOFTENT_BF16;
    else if (!strcmp(s, "F32")) *t = SOFTENT_F32;
    else if (!strcmp(s, "F64")) *t = SOFTENT_F64;
    else if (!strcmp(s, "I32")) *t = SOFTENT_I32;
    else if (!strcmp(s, "I64")) *t = SOFTENT_I64;
    else return 0;
    return 1;
}

static int tensor_info(const cJSON *entry, const char *path, const char *name, softent_dtype *dtype,
                       int *ndim, int64_t shape[3], int64_t offsets[2])
{
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(entry, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2)
        return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' has a corrupt header entry", path, name);
    if (!parse_dtype(dt->valuestring, dtype))
        return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' has unsupported dtype %s", path, name, dt->valuestring);
    *ndim = cJSON_GetArraySize(sh);
    if (*ndim > 3) return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' is %d-D; embeddings are 2-D", path, name, *ndim);
    for (int i = 0; i < *ndim; i++) {
        const cJSON *v = cJSON_GetArrayItem(sh, i);
        if (!cJSON_IsNumber(v) || v->valuedouble < 0) return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' has a corrupt shape", path, name);
        shape[i] = (int64_t)v->valuedouble;
    }
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetArrayItem(off, i);
        if (!cJSON_IsNumber(v) || v->valuedouble < 0) return se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' has corrupt data offsets", path, name);
        offsets[i] = (int64_t)v->valuedouble;
    }
    return SOFTENT_OK;
}

int se_safetensors_find(FILE *f, const char *path, const char *tensor, softent_dtype *dtype,
                        int64_t shape[2], int64_t *offset)
{
    unsigned char lenbuf[8];
    rewind(f);
    size_t got = fread(lenbuf, 1, 8, f);
    if (got == 0) return se_fail(SOFTENT_E_FORMAT, "%s: empty file", path);
    if (got < 8) return se_fail(SOFTENT_E_FORMAT, "%s: truncated safetensors header", path);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | lenbuf[i];
    if (hlen < 2 || hlen > (100u << 20)) return se_fail(SOFTENT_E_FORMAT, "%s: not a safetensors file (header length %llu)", path, (unsigned long long)hlen);
    char *text = malloc(hlen + 1);
    if (!text) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    if (fread(text, 1, hlen, f) != hlen) { free(text); return se_fail(SOFTENT_E_FORMAT, "%s: truncated safetensors header", path); }
    text[hlen] = '\0';
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(root)) { cJSON_Delete(root); return se_fail(SOFTENT_E_FORMAT, "%s: safetensors header is not valid JSON", path); }

    /* "NAME:LAYER" selects one layer of a [layers, N, d] tensor. */
    char name[512] = "";
    long layer = -1;
    if (tensor) {
        snprintf(name, sizeof name, "%s", tensor);
        char *colon = strrchr(name, ':');
        if (colon && !cJSON_GetObjectItemCaseSensitive(root, name)) { *colon = '\0'; layer = strtol(colon + 1, NULL, 10); }
    }
    const cJSON *entry = NULL;
    int rc = SOFTENT_OK, candidates = 0;
    if (tensor) {
        entry = cJSON_GetObjectItemCaseSensitive(root, name);
        if (!entry) rc = se_fail(SOFTENT_E_FORMAT, "%s: no tensor named '%s'", path, name);
    } else {
        for (const cJSON *e = root->child; e; e = e->next) {
            const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
            if (strcmp(e->string, "__metadata__") != 0 && cJSON_GetArraySize(sh) == 2) { entry = e; candidates++; }
        }
        if (candidates != 1) rc = se_fail(SOFTENT_E_FORMAT, "%s: %s 2-D tensor; name one with --tensor", path, candidates ? "more than one" : "no");
    }
    int ndim = 0;
    int64_t full[3] = {0, 0, 0}, offsets[2] = {0, 0};
    if (!rc) rc = tensor_info(entry, path, entry->string, dtype, &ndim, full, offsets);
    if (!rc) {
        int64_t base = 8 + (int64_t)hlen + offsets[0];
        int64_t size = se_dtype_size(*dtype);
        if (ndim == 2 && layer < 0) {
            shape[0] = full[0], shape[1] = full[1];
            *offset = base;
        } else if (ndim == 3 && layer >= 0 && layer < full[0]) {
            shape[0] = full[1], shape[1] = full[2];
            *offset = base + layer * full[1] * full[2] * size;
        } else if (ndim == 3) {
            rc = se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' is 3-D [%lld, %lld, %lld]; pick a layer with '%s:LAYER' (0..%lld)", path,
                         entry->string, (long long)full[0], (long long)full[1], (long long)full[2], entry->string, (long long)full[0] - 1);
        } else {
            rc = se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s' is %d-D; embeddings are 2-D", path, entry->string, ndim);
        }
        if (!rc && offsets[1] - offsets[0] != full[0] * (ndim > 1 ? full[1] : 1) * (ndim > 2 ? full[2] : 1) * size)
            rc = se_fail(SOFTENT_E_FORMAT, "%s: tensor '%s': data offsets do not match its shape", path, entry->string);
    }
    cJSON_Delete(root);
    return rc;
}
