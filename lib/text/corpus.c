/*
 * corpus.c - documents from .txt, .jsonl (either gzip-compressed, read
 * through zlib, which passes plain files through), a directory of .txt,
 * or stdin.  A line ends at "\n" or "\r\n".  Files that are binary or
 * compressed otherwise are refused by their first bytes.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fs.h"
#include "softent_corpus.h"

typedef enum { LINES, JSONL, DIRECTORY } corpus_kind;

struct softent_corpus {
    corpus_kind kind;
    char *path;
    gzFile gz;            /* LINES, JSONL: the open file (stdin for "-") */
    char *line;           /* the current line, NUL-terminated */
    size_t line_cap;
    int64_t lineno;
    char field[64];       /* JSONL: the text field */
    char *doc;            /* JSONL, DIRECTORY: the current document */
    char *pending;        /* [READ_BLOCK] the file read a block at a time; for stdin
                           * it first holds the block read to check it is text */
    size_t pending_n, pending_at;
    char **files;         /* DIRECTORY: sorted file names */
    size_t n_files, next_file;
};

#define READ_BLOCK 65536 /* bytes read at a time (>= the 4096 of the text check) */

static const char *AUTO_FIELDS[] = {"text", "body", "sentence", "content", "document", "passage"};

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

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
                           k < 4 ? " compressed" : "", k < 4 ? "decompress it, or recompress it with gzip" : "give a text corpus");
    const unsigned char *nul = memchr(b, 0, n);
    if (nul) return se_fail(SOFTENT_E_FORMAT, "%s: a NUL byte at offset %lld: a binary file, not text", path, (long long)(nul - b));
    return SOFTENT_OK;
}

/* Open path (or stdin) through zlib and check its first block. */
static int open_text(softent_corpus *c, const char *path)
{
    if (strcmp(path, "-")) {
        c->gz = gzopen(path, "rb");
    } else {
        const int fd = dup(STDIN_FILENO);
        if (fd >= 0 && !(c->gz = gzdopen(fd, "rb"))) close(fd);
    }
    if (!c->gz) return se_fail(SOFTENT_E_IO, "%s: cannot open: %s", path, strerror(errno ? errno : ENOMEM));
    unsigned char head[4096];
    const int n = gzread(c->gz, head, sizeof head);
    if (n < 0) return se_fail(SOFTENT_E_IO, "%s: read failed (a damaged gzip file?)", path);
    int rc = check_text(path, head, (size_t)n);
    if (!rc && strcmp(path, "-") && gzrewind(c->gz) != 0) rc = se_fail(SOFTENT_E_IO, "%s: cannot rewind", path);
    if (!rc && !strcmp(path, "-") && n > 0) {
        /* stdin may be a pipe, which cannot rewind: the block read is the
         * start of the first line */
        if (!(c->pending = malloc(READ_BLOCK))) return se_fail(SOFTENT_E_NOMEM, "out of memory");
        memcpy(c->pending, head, (size_t)n);
        c->pending_n = (size_t)n;
    }
    return rc;
}

/* The next block of the file into c->pending (none at its end). */
static int refill(softent_corpus *c)
{
    if (!c->pending && !(c->pending = malloc(READ_BLOCK))) return se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", c->path);
    c->pending_at = c->pending_n = 0;
    const int got = gzread(c->gz, c->pending, READ_BLOCK);
    if (got < 0) {
        int err;
        const char *msg = gzerror(c->gz, &err);
        return se_fail(SOFTENT_E_IO, "%s: read failed: %s", c->path, msg);
    }
    c->pending_n = (size_t)got;
    return SOFTENT_OK;
}

/* The next line into c->line without its "\n" or "\r\n" (*have 0 at the
 * end of the file).  Lines may be of any length.  A NUL byte anywhere is
 * refused (the first block's check sees only the start of the file): a
 * line would end at it and lose the rest. */
static int read_line(softent_corpus *c, size_t *len, int *have)
{
    size_t n = 0;
    *have = 0;
    for (;;) {
        if (c->pending_at == c->pending_n) {
            int rc = refill(c);
            if (rc) return rc;
            if (c->pending_n == 0) {
                if (n == 0) return SOFTENT_OK;
                break;
            }
        }
        const char *p = c->pending + c->pending_at, *nl = memchr(p, '\n', c->pending_n - c->pending_at);
        const size_t got = nl ? (size_t)(nl - p) + 1 : c->pending_n - c->pending_at;
        if (memchr(p, 0, got))
            return se_fail(SOFTENT_E_FORMAT, "%s: a NUL byte in line %lld: a binary or corrupt file, not text", c->path, (long long)c->lineno + 1);
        if (se_grow(&c->line, &c->line_cap, n + got + 1, 1)) return se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", c->path);
        memcpy(c->line + n, p, got);
        n += got;
        c->pending_at += got;
        if (nl) break;
    }
    if (n > 0 && c->line[n - 1] == '\n') n--;
    if (n > 0 && c->line[n - 1] == '\r') n--;
    c->line[n] = '\0';
    *len = n;
    *have = 1;
    return SOFTENT_OK;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_directory(softent_corpus *c)
{
    DIR *dir = opendir(c->path);
    if (!dir) return se_fail(SOFTENT_E_IO, "%s: cannot open directory: %s", c->path, strerror(errno));
    size_t cap = 0;
    struct dirent *e;
    int rc = SOFTENT_OK;
    while (!rc && (e = readdir(dir))) {
        if (!has_suffix(e->d_name, ".txt")) continue;
        if (se_grow(&c->files, &cap, c->n_files + 1, sizeof *c->files)) {
            rc = se_fail(SOFTENT_E_NOMEM, "out of memory listing %s", c->path);
            break;
        }
        if (!(c->files[c->n_files] = strdup(e->d_name))) rc = se_fail(SOFTENT_E_NOMEM, "out of memory");
        else c->n_files++;
    }
    closedir(dir);
    if (!rc && c->n_files == 0) rc = se_fail(SOFTENT_E_EMPTY, "%s: no .txt files in the directory", c->path);
    if (!rc) qsort(c->files, c->n_files, sizeof *c->files, compare_names);
    return rc;
}

int softent_corpus_open(softent_corpus **out, const char *path, const char *text_field)
{
    *out = NULL;
    softent_corpus *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path))) { free(c); return se_fail(SOFTENT_E_NOMEM, "out of memory"); }
    if (text_field) snprintf(c->field, sizeof c->field, "%s", text_field);
    struct stat sb;
    int rc = SOFTENT_OK;
    if (strcmp(path, "-") == 0) {
        c->kind = LINES;
        rc = open_text(c, path);
    } else if (stat(path, &sb) != 0) {
        rc = se_fail(SOFTENT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    } else if (S_ISDIR(sb.st_mode)) {
        c->kind = DIRECTORY;
        rc = list_directory(c);
    } else {
        c->kind = has_suffix(path, ".jsonl") || has_suffix(path, ".json") || has_suffix(path, ".jsonl.gz") || has_suffix(path, ".json.gz")
                      ? JSONL : LINES;
        rc = open_text(c, path);
    }
    if (rc) { softent_corpus_close(c); return rc; }
    *out = c;
    return SOFTENT_OK;
}

const char *softent_corpus_field(const softent_corpus *c) { return c->kind == JSONL ? c->field : ""; }

/* The text of one JSON line, in c->doc; NULL text for a record without it. */
static int json_text(softent_corpus *c, const char **text, size_t *len)
{
    cJSON *o = cJSON_Parse(c->line);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return se_fail(SOFTENT_E_FORMAT, "%s:%lld: not a JSON object", c->path, (long long)c->lineno);
    }
    if (!c->field[0]) {
        for (size_t i = 0; i < sizeof AUTO_FIELDS / sizeof *AUTO_FIELDS && !c->field[0]; i++)
            if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, AUTO_FIELDS[i])))
                snprintf(c->field, sizeof c->field, "%s", AUTO_FIELDS[i]);
        if (!c->field[0]) {
            cJSON_Delete(o);
            return se_fail(SOFTENT_E_FORMAT, "%s:%lld: no text field (text, body, sentence, content, document or passage); name it with --text-field",
                           c->path, (long long)c->lineno);
        }
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, c->field);
    if (!cJSON_IsString(t)) {
        cJSON_Delete(o);
        return se_fail(SOFTENT_E_FORMAT, "%s:%lld: field '%s' is missing or not a string", c->path, (long long)c->lineno, c->field);
    }
    free(c->doc);
    c->doc = strdup(t->valuestring);
    cJSON_Delete(o);
    if (!c->doc) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    *text = c->doc;
    *len = strlen(c->doc);
    return SOFTENT_OK;
}

/* A file of a directory corpus is one document, held whole with its
 * token ids (up to 4 bytes a byte); past this a corpus belongs in .txt
 * lines or .jsonl, which are read a document at a time. */
#define DOC_FILE_MAX ((size_t)1 << 30)

static int read_file_doc(softent_corpus *c, const char *name, const char **text, size_t *len)
{
    free(c->doc);
    c->doc = NULL;
    char *full = se_path_join(c->path, name);
    if (!full) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    int rc = se_read_file(full, DOC_FILE_MAX, &c->doc, len);
    free(full);
    if (!rc) *text = c->doc;
    return rc;
}

int softent_corpus_next(softent_corpus *c, const char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    if (c->kind == DIRECTORY) {
        while (c->next_file < c->n_files) {
            int rc = read_file_doc(c, c->files[c->next_file++], text, len);
            if (rc || *len > 0) return rc;
        }
        return SOFTENT_OK;
    }
    size_t got;
    int have, rc;
    while (!(rc = read_line(c, &got, &have)) && have) {
        c->lineno++;
        if (got == 0) continue;
        if (c->kind == JSONL) {
            int rc = json_text(c, text, len);
            if (rc || *len > 0) return rc;
            continue;
        }
        *text = c->line;
        *len = got;
        return SOFTENT_OK;
    }
    return rc;
}

void softent_corpus_close(softent_corpus *c)
{
    if (!c) return;
    if (c->gz) gzclose(c->gz);
    free(c->pending);
    for (size_t i = 0; i < c->n_files; i++) free(c->files[i]);
    free(c->files);
    free(c->line);
    free(c->doc);
    free(c->path);
    free(c);
}
