/*
 * test_safetensors.c - the one safetensors header parser and writer
 * (lib/formats/safetensors.c) against the format's specification
 * (huggingface/safetensors: u64 little-endian header size N, N bytes of
 * JSON {name: {dtype, shape, data_offsets: [begin, end)}}, offsets from the
 * end of the header, end - begin = numel x dtype size): hand-written
 * headers parse to their fields; each way a header can lie is refused with
 * a message naming the file; a written file reads back byte for byte.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/fs.h"
#include "formats/safetensors.h"
#include "softent.h"

static int parse(const char *json, uint64_t data_len, se_st_entry **e, int64_t *n)
{
    return se_safetensors_parse("t.safetensors", json, strlen(json), data_len, NULL, e, n);
}

static void fields_of_a_valid_header(void)
{
    const char *json = "{\"__metadata__\":{\"format\":\"pt\"},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                       "\"b\":{\"dtype\":\"BF16\",\"shape\":[5],\"data_offsets\":[24,34]},"
                       "\"c\":{\"dtype\":\"I8\",\"shape\":[],\"data_offsets\":[34,35]}}";
    se_st_entry *e;
    int64_t n;
    CHECK(parse(json, 35, &e, &n) == SOFTENT_OK, "%s", softent_last_error());
    CHECK(n == 3, "%lld tensors, 3 in the header", (long long)n);
    CHECK(!strcmp(e[0].name, "a") && e[0].dtype == SOFTENT_F32 && e[0].ndim == 2 && e[0].shape[0] == 2 &&
              e[0].shape[1] == 3 && e[0].numel == 6 && e[0].begin == 0 && e[0].end == 24,
          "tensor a parsed wrong");
    CHECK(!strcmp(e[1].name, "b") && e[1].dtype == SOFTENT_BF16 && e[1].numel == 5 && e[1].begin == 24, "tensor b parsed wrong");
    CHECK(e[2].ndim == 0 && e[2].numel == 1 && !strcmp(e[2].dtype_name, "I8"), "a scalar has one element");
    se_safetensors_free(e, n);
}

/* Headers that lie; each must be refused, naming the file. */
static void lies_are_refused(void)
{
    static const char *const LIES[] = {
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[9223372036854775808],\"data_offsets\":[0,0]}}", /* 2^63 */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,10]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,4]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1048576,1048576,1048576],\"data_offsets\":[0,4]}}", /* 2^60 elements */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}",                        /* 12 bytes for 8 */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",                        /* past the data */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}",                         /* end before begin */
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}",
        "{\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":\"1\",\"data_offsets\":[0,4]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}",         /* 9 dims */
        "[1, 2]",
        "{\"a\":",
    };
    for (size_t k = 0; k < sizeof LIES / sizeof LIES[0]; k++) {
        se_st_entry *e = NULL;
        int64_t n = 0;
        int rc = parse(LIES[k], 12, &e, &n);
        CHECK(rc == SOFTENT_E_FORMAT, "header %zu was accepted (status %d): %s", k, rc, LIES[k]);
        CHECK(strstr(softent_last_error(), "t.safetensors"), "header %zu: the error does not name the file: %s", k,
              softent_last_error());
    }
}

static void header_length_is_bounded(void)
{
    unsigned char prefix[8] = {0};
    uint64_t hlen;
    prefix[0] = 16;
    CHECK(se_safetensors_header_len("t", prefix, 8 + 16, &hlen) == SOFTENT_OK && hlen == 16, "a 16-byte header");
    CHECK(se_safetensors_header_len("t", prefix, 8 + 15, &hlen) == SOFTENT_E_FORMAT, "a header longer than the file");
    memset(prefix, 0xff, 8);
    CHECK(se_safetensors_header_len("t", prefix, UINT64_MAX, &hlen) == SOFTENT_E_FORMAT, "a 2^64 - 1 byte header");
    CHECK(se_safetensors_header_len("t", prefix, 4, &hlen) == SOFTENT_E_FORMAT, "a file under 8 bytes");
}

static void written_file_reads_back(void)
{
    char dir[] = "/tmp/softent-test-st-XXXXXX";
    CHECK(mkdtemp(dir), "mkdtemp");
    char *path = se_path_join(dir, "w.safetensors");
    float a[6] = {1, -2, 3.5f, 0, 1e-30f, -7}, b[3] = {9, 8, 7};
    const se_st_out out[2] = {{"weight", 2, {2, 3}, a}, {"h.0.bias", 1, {3}, b}};
    const char *key = "format", *value = "pt";
    CHECK(se_safetensors_write(path, out, 2, &key, &value, 1) == SOFTENT_OK, "%s", softent_last_error());
    char *file;
    size_t size;
    CHECK(se_read_file(path, 1 << 20, &file, &size) == SOFTENT_OK, "%s", softent_last_error());
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | (unsigned char)file[i];
    CHECK(hlen % 8 == 0 && 8 + hlen + sizeof a + sizeof b == size, "header %llu bytes, file %zu", (unsigned long long)hlen, size);
    se_st_entry *e;
    int64_t n;
    CHECK(se_safetensors_parse(path, file + 8, hlen, size - 8 - hlen, NULL, &e, &n) == SOFTENT_OK, "%s", softent_last_error());
    CHECK(n == 2 && !strcmp(e[0].name, "weight") && e[0].ndim == 2 && e[0].shape[1] == 3 && !strcmp(e[1].name, "h.0.bias"),
          "the tensors read back differently");
    CHECK(!memcmp(file + 8 + hlen + e[0].begin, a, sizeof a) && !memcmp(file + 8 + hlen + e[1].begin, b, sizeof b),
          "the data read back differently");
    CHECK(strstr(file + 8, "\"__metadata__\":{\"format\":\"pt\"}"), "no metadata in the header");
    se_safetensors_free(e, n);
    free(file);
    remove(path);
    remove(dir);
    free(path);
}

int main(void)
{
    RUN(fields_of_a_valid_header);
    RUN(lies_are_refused);
    RUN(header_length_is_bounded);
    RUN(written_file_reads_back);
    return CHECKS_DONE();
}
