/* fuzz_gguf.c - GGUF files: every key's every element read as the types it
 * converts to, every tensor's first rows dequantised, and the tokenizer
 * metadata restated as a tokenizer.json. */
#include "softent_gguf.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    softent_gguf *g;
    if (softent_gguf_open(&g, fuzz_write("x.gguf", data, size)) != SOFTENT_OK) return 0;
    for (int64_t i = 0; i < softent_gguf_n_keys(g); i++) {
        int type, et;
        int64_t n, v;
        double x;
        const char *s;
        size_t len;
        softent_gguf_key(g, i, &type, &et, &n);
        for (int64_t j = 0; j < n && j < 4096; j++) {
            softent_gguf_get_int(g, i, j, &v);
            softent_gguf_get_float(g, i, j, &x);
            if (softent_gguf_get_string(g, i, j, &s, &len) == SOFTENT_OK && len) (void)*(volatile const char *)(s + len - 1);
        }
    }
    for (int64_t i = 0; i < softent_gguf_n_tensors(g); i++) {
        softent_gguf_tensor t;
        softent_gguf_tensor_info(g, i, &t);
        const int64_t rows = t.ne[0] ? t.n_elements / t.ne[0] : 0, take = rows < 4 ? rows : 4;
        if (t.ne[0] > (1 << 20)) continue; /* the cap on what one input may allocate */
        float *buf = malloc((size_t)(take * t.ne[0]) * sizeof *buf + 1);
        if (buf) softent_gguf_read_rows(g, i, 0, take, buf);
        free(buf);
    }
    char *json = NULL;
    if (softent_gguf_tokenizer_json(g, "x.gguf", &json) == SOFTENT_OK) free(json);
    softent_gguf_close(g);
    return 0;
}
