/* gguf_driver: softent's GGUF reader for tests/test_gguf.py.
 *   gguf_driver FILE [OUTDIR]   the file's version, keys (with every element)
 *                               and tensors as JSON on stdout; with OUTDIR every
 *                               tensor's float32 rows in OUTDIR/<index>.f32
 *   gguf_driver --dequantize TYPE IN OUT
 *                               IN's blocks of ggml type TYPE as float32 in OUT
 * Exit 1 with the library's message on stderr when it refuses the file. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "softent_gguf.h"

static int fail(void)
{
    fprintf(stderr, "%s\n", softent_last_error());
    return 1;
}

static cJSON *element(const softent_gguf *g, int64_t i, int64_t j, int type)
{
    if (type == SOFTENT_GGUF_STRING) {
        const char *s;
        size_t n;
        if (softent_gguf_get_string(g, i, j, &s, &n)) return NULL;
        char *c = malloc(n + 1);
        memcpy(c, s, n);
        c[n] = 0;
        cJSON *o = cJSON_CreateString(c);
        free(c);
        return o;
    }
    if (type == SOFTENT_GGUF_F32 || type == SOFTENT_GGUF_F64) {
        double v;
        return softent_gguf_get_float(g, i, j, &v) ? NULL : cJSON_CreateNumber(v);
    }
    int64_t v;
    if (softent_gguf_get_int(g, i, j, &v)) return NULL;
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)v); /* as text: a double would round int64 */
    return cJSON_CreateRaw(buf);
}

static int dump(const char *path, const char *outdir)
{
    softent_gguf *g;
    if (softent_gguf_open(&g, path)) return fail();
    cJSON *root = cJSON_CreateObject(), *keys = cJSON_AddObjectToObject(root, "keys"), *tensors = cJSON_AddArrayToObject(root, "tensors");
    cJSON_AddNumberToObject(root, "version", softent_gguf_version(g));
    for (int64_t i = 0; i < softent_gguf_n_keys(g); i++) {
        int type, et;
        int64_t n;
        const char *name = softent_gguf_key(g, i, &type, &et, &n);
        cJSON *k = cJSON_AddObjectToObject(keys, name);
        cJSON_AddNumberToObject(k, "type", type);
        if (type == SOFTENT_GGUF_ARRAY) {
            cJSON_AddNumberToObject(k, "elem_type", et);
            cJSON *arr = cJSON_AddArrayToObject(k, "value");
            for (int64_t j = 0; j < n; j++) cJSON_AddItemToArray(arr, element(g, i, j, et));
        } else {
            cJSON_AddItemToObject(k, "value", element(g, i, 0, type));
        }
    }
    for (int64_t i = 0; i < softent_gguf_n_tensors(g); i++) {
        softent_gguf_tensor t;
        softent_gguf_tensor_info(g, i, &t);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", t.name);
        cJSON_AddStringToObject(o, "type", softent_ggml_type_name(t.type));
        cJSON *ne = cJSON_AddArrayToObject(o, "ne");
        for (int k = 0; k < t.n_dims; k++) cJSON_AddItemToArray(ne, cJSON_CreateNumber((double)t.ne[k]));
        cJSON_AddNumberToObject(o, "bytes", (double)t.n_bytes);
        cJSON_AddItemToArray(tensors, o);
        if (!outdir) continue;
        const int64_t rows = t.ne[0] ? t.n_elements / t.ne[0] : 0;
        float *buf = malloc((size_t)t.n_elements * sizeof *buf + 1);
        if (!buf || softent_gguf_read_rows(g, i, 0, rows, buf)) {
            free(buf);
            cJSON_Delete(root);
            softent_gguf_close(g);
            return fail();
        }
        char out[4096];
        snprintf(out, sizeof out, "%s/%lld.f32", outdir, (long long)i);
        FILE *f = fopen(out, "wb");
        if (!f || fwrite(buf, sizeof *buf, (size_t)t.n_elements, f) != (size_t)t.n_elements) return 1;
        fclose(f);
        free(buf);
    }
    char *text = cJSON_Print(root);
    puts(text);
    free(text);
    cJSON_Delete(root);
    softent_gguf_close(g);
    return 0;
}

static int dequantize(int type, const char *in, const char *out)
{
    FILE *f = fopen(in, "rb");
    if (!f) return 1;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    unsigned char *src = malloc((size_t)size + 1);
    if (!src || fread(src, 1, (size_t)size, f) != (size_t)size) return 1;
    fclose(f);
    const int64_t bb = softent_ggml_block_bytes(type), n = bb ? size / bb * softent_ggml_block_elems(type) : 0;
    float *dst = malloc((size_t)n * sizeof *dst + 1);
    if (!dst || softent_ggml_dequantize(type, src, dst, n)) return fail();
    f = fopen(out, "wb");
    if (!f || fwrite(dst, sizeof *dst, (size_t)n, f) != (size_t)n) return 1;
    fclose(f);
    free(src);
    free(dst);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "--dequantize")) return dequantize(atoi(argv[2]), argv[3], argv[4]);
    if (argc == 2 || argc == 3) return dump(argv[1], argc == 3 ? argv[2] : NULL);
    fprintf(stderr, "usage: gguf_driver FILE [OUTDIR] | gguf_driver --dequantize TYPE IN OUT\n");
    return 2;
}
