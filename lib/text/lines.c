/*
 * lines.c - a text file read a line at a time (see lines.h): through zlib,
 * which passes plain files through and decompresses gzip, a block at a
 * time, its first block checked to be text.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "lines.h"

#define READ_BLOCK 65536 /* bytes read at a time (>= the 4096 of the text check) */

/* Refuse what is not text by its first bytes: another compressor's magic,
 * or a NUL byte (text has none; a binary file has many). */
static int check_text(const char *path, const unsigned char *b, size_t n)
{
    static const struct { const char *magic; size_t len; const char *what; } kinds[] = {
        {"\x28\xb5\x2f\xfd", 4, "zstd"}, {"\xfd" "7zXZ", 5, "xz"}, {"BZh", 3, "bzip2"}, {"PK\x03\x04", 4, "zip"},
        {"\x93NUMPY", 6, "a .npy array"}, {"\x7f" "ELF", 4, "an executable"},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
        if (n >= kinds[k].len && !memcmp(b, kinds[k].magic, kinds[k].len))
            return se_fail(SOFTENT_E_FORMAT, "%s: %s%s, not text: %s", path, kinds[k].what,
                           k < 4 ? " compressed" : "", k < 4 ? "decompress it, or recompress it with gzip" : "give a text file");
    const unsigned char *nul = memchr(b, 0, n);
    if (nul) return se_fail(SOFTENT_E_FORMAT, "%s: a NUL byte at offset %lld: a binary file, not text", path, (long long)(nul - b));
    return SOFTENT_OK;
}

int se_lines_open(se_lines *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    if (strcmp(path, "-")) {
        r->gz = gzopen(path, "rb");
    } else {
        const int fd = dup(STDIN_FILENO);
        if (fd >= 0 && !(r->gz = gzdopen(fd, "rb"))) close(fd);
    }
    if (!r->gz) return se_fail(SOFTENT_E_IO, "%s: cannot open: %s", path, strerror(errno ? errno : ENOMEM));
    if (!(r->block = malloc(READ_BLOCK))) return se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", path);
    /* the first block, checked; a pipe cannot rewind, so it is kept as the
     * start of the first line */
    const int n = gzread(r->gz, r->block, 4096);
    if (n < 0) return se_fail(SOFTENT_E_IO, "%s: read failed (a damaged gzip file?)", path);
    r->block_n = (size_t)n;
    return check_text(path, (const unsigned char *)r->block, r->block_n);
}

/* The next block into r->block (none at the end of the file). */
static int refill(se_lines *r)
{
    r->block_at = r->block_n = 0;
    const int got = gzread(r->gz, r->block, READ_BLOCK);
    if (got < 0) {
        int err;
        const char *msg = gzerror(r->gz, &err);
        return se_fail(SOFTENT_E_IO, "%s: read failed: %s", r->path, msg);
    }
    r->block_n = (size_t)got;
    return SOFTENT_OK;
}

int se_lines_next(se_lines *r, const char **line, size_t *len)
{
    size_t n = 0;
    *line = NULL;
    *len = 0;
    for (;;) {
        if (r->block_at == r->block_n) {
            int rc = refill(r);
            if (rc) return rc;
            if (r->block_n == 0) {
                if (n == 0) return SOFTENT_OK;
                break;
            }
        }
        const char *p = r->block + r->block_at, *nl = memchr(p, '\n', r->block_n - r->block_at);
        const size_t got = nl ? (size_t)(nl - p) + 1 : r->block_n - r->block_at;
        if (memchr(p, 0, got))
            return se_fail(SOFTENT_E_FORMAT, "%s: a NUL byte in line %lld: a binary or corrupt file, not text", r->path, (long long)r->lineno + 1);
        if (se_grow(&r->line, &r->line_cap, n + got + 1, 1)) return se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", r->path);
        memcpy(r->line + n, p, got);
        n += got;
        r->block_at += got;
        if (nl) break;
    }
    if (n > 0 && r->line[n - 1] == '\n') n--;
    if (n > 0 && r->line[n - 1] == '\r') n--;
    r->line[n] = '\0';
    r->lineno++;
    *line = r->line;
    *len = n;
    return SOFTENT_OK;
}

void se_lines_close(se_lines *r)
{
    if (r->gz) gzclose(r->gz);
    free(r->block);
    free(r->line);
    memset(r, 0, sizeof *r);
}
