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

#include "common/buf.h"
#include "common/error.h"
#include "common/fs.h"
#include "lines.h"
#include "softent_corpus.h"

typedef enum { LINES, JSONL, DIRECTORY } corpus_kind;

struct softent_corpus {
    corpus_kind kind;
    char *path;
    se_lines lines;       /* LINES, JSONL: the open file (stdin for "-") */
    int lines_open;
    char field[64];       /* JSONL: the text field */
    char *doc;            /* JSONL, DIRECTORY: the current document */
    char **files;         /* DIRECTORY: sorted file names */
    size_t n_files, next_file;
};

static const char *AUTO_FIELDS[] = {"text", "body", "sentence", "content", "document", "passage"};

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
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
        c->lines_open = 1;
        rc = se_lines_open(&c->lines, c->path);
    } else if (stat(path, &sb) != 0) {
        rc = se_fail(SOFTENT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    } else if (S_ISDIR(sb.st_mode)) {
        c->kind = DIRECTORY;
        rc = list_directory(c);
    } else {
        c->kind = has_suffix(path, ".jsonl") || has_suffix(path, ".json") || has_suffix(path, ".jsonl.gz") || has_suffix(path, ".json.gz")
                      ? JSONL : LINES;
        c->lines_open = 1;
        rc = se_lines_open(&c->lines, c->path);
    }
    if (rc) { softent_corpus_close(c); return rc; }
    *out = c;
    return SOFTENT_OK;
}

const char *softent_corpus_field(const softent_corpus *c) { return c->kind == JSONL ? c->field : ""; }

/* The text of one JSON line, in c->doc; NULL text for a record without it. */
static int json_text(softent_corpus *c, const char **text, size_t *len)
{
    cJSON *o = cJSON_Parse(c->lines.line);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return se_fail(SOFTENT_E_FORMAT, "%s:%lld: not a JSON object", c->path, (long long)c->lines.lineno);
    }
    if (!c->field[0]) {
        for (size_t i = 0; i < sizeof AUTO_FIELDS / sizeof *AUTO_FIELDS && !c->field[0]; i++)
            if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, AUTO_FIELDS[i])))
                snprintf(c->field, sizeof c->field, "%s", AUTO_FIELDS[i]);
        if (!c->field[0]) {
            cJSON_Delete(o);
            return se_fail(SOFTENT_E_FORMAT, "%s:%lld: no text field (text, body, sentence, content, document or passage); name it with --text-field",
                           c->path, (long long)c->lines.lineno);
        }
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, c->field);
    if (!cJSON_IsString(t)) {
        cJSON_Delete(o);
        return se_fail(SOFTENT_E_FORMAT, "%s:%lld: field '%s' is missing or not a string", c->path, (long long)c->lines.lineno, c->field);
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
    const char *line;
    size_t got;
    int rc;
    while (!(rc = se_lines_next(&c->lines, &line, &got)) && line) {
        if (got == 0) continue;
        if (c->kind == JSONL) {
            int rc = json_text(c, text, len);
            if (rc || *len > 0) return rc;
            continue;
        }
        *text = line;
        *len = got;
        return SOFTENT_OK;
    }
    return rc;
}

void softent_corpus_close(softent_corpus *c)
{
    if (!c) return;
    if (c->lines_open) se_lines_close(&c->lines);
    for (size_t i = 0; i < c->n_files; i++) free(c->files[i]);
    free(c->files);
    free(c->doc);
    free(c->path);
    free(c);
}
