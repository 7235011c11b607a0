/*
 * user_labels.c - a label set of the user's, one label a token (a
 * part-of-speech tag, a named-entity class), read beside the corpus and
 * aligned with its positions.  The rules are softent_analysis_corpus_read's
 * (softent_analysis.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/hash.h"
#include "corpus.h"
#include "estimator/keytable.h"
#include "softent_corpus.h"

int softent_analysis_check_label_name(const char *name)
{
    size_t n = strlen(name);
    int ok = n >= 1 && n <= 31 && strcmp(name, "preference") != 0;
    for (size_t i = 0; ok && i < n; i++) ok = isalnum((unsigned char)name[i]) || name[i] == '_' || name[i] == '-';
    const char *digits = !strncmp(name, "in", 2) ? name + 2 : !strncmp(name, "out", 3) ? name + 3 : NULL;
    if (ok && digits && *digits && strspn(digits, "0123456789") == strlen(digits)) ok = 0;
    return ok ? SOFTENT_OK
              : se_fail(SOFTENT_E_INVALID, "label set name '%s': use 1 to 31 letters, digits, '_' or '-', other than in<n>, out<n> and preference", name);
}

/* The dense id of a label string: its two 64-bit hashes (FNV-1a and a
 * splitmix of it, seeded apart) as a key, so that two labels share an id
 * only when 128 bits of hash collide. */
static int label_id(se_keytable *t, const char *s, size_t n, int32_t *id)
{
    const int64_t key[2] = {(int64_t)se_fnv1a64(SE_FNV1A64_INIT, s, n),
                            (int64_t)se_mix64(se_fnv1a64(0x84222325cbf29ce4ull, s, n) ^ n)};
    return se_keytable_intern(t, key, id);
}

/* The ids of one line's blank-separated labels into ids [*count]; grows ids. */
static int split_line(se_keytable *t, const char *line, int32_t **ids, size_t *cap, int64_t *count)
{
    *count = 0;
    for (const char *p = line; *p;) {
        p += strspn(p, " \t");
        if (!*p) break;
        const size_t n = strcspn(p, " \t");
        if ((size_t)*count >= *cap) {
            size_t c = *cap ? 2 * *cap : 1024;
            int32_t *grown = realloc(*ids, c * sizeof *grown);
            if (!grown) return SOFTENT_E_NOMEM;
            *ids = grown, *cap = c;
        }
        int rc = label_id(t, p, n, &(*ids)[(*count)++]);
        if (rc) return rc;
        p += n;
    }
    return SOFTENT_OK;
}

/* Each kept document's labels at its positions into keys (ids), checking
 * its line's count against its tokens. */
static int align(const softent_analysis_corpus *c, const char *path, softent_corpus *in, se_keytable *t, int64_t *keys)
{
    int32_t *ids = NULL;
    size_t cap = 0;
    int64_t line = 0, row = 0, n;
    int rc = SOFTENT_OK;
    for (int64_t i = 0; i < c->info.docs_used && !rc; i++) {
        const se_analysis_doc *doc = &c->docs[i];
        const char *text;
        size_t len;
        for (; !rc && line <= doc->ordinal; line++) {
            if ((rc = softent_corpus_next(in, &text, &len))) break;
            if (!text) rc = se_fail(SOFTENT_E_MISMATCH, "%s: %lld lines of labels, but the corpus has at least %lld documents; "
                                    "give a line for each document", path, (long long)line, (long long)doc->ordinal + 1);
        }
        if (rc || (rc = split_line(t, text, &ids, &cap, &n))) break;
        if (n != doc->n_full)
            rc = se_fail(SOFTENT_E_MISMATCH, "%s: document %lld has %lld tokens (special tokens included, as `softent tokenize` "
                         "prints them) but its line has %lld labels", path, (long long)doc->ordinal + 1, (long long)doc->n_full, (long long)n);
        for (int64_t p = 0; !rc && p < doc->npos; p++) keys[row++] = ids[doc->first + p];
    }
    free(ids);
    return rc == SOFTENT_E_NOMEM ? se_fail(rc, "out of memory reading %s", path) : rc;
}

/* min_count K: labels seen fewer than K times among the positions are left out. */
static int apply_min_count(const softent_analysis_corpus *c, const char *name, se_keytable *t, int64_t *keys)
{
    const int64_t K = c->p.params.min_count, rows = c->info.positions;
    for (int64_t r = 0; r < rows; r++) t->count[keys[r]]++;
    int64_t kept = 0;
    for (int64_t r = 0; r < rows; r++)
        if (t->count[keys[r]] >= K) kept++;
        else keys[r] = SOFTENT_NO_LABEL;
    if (kept == 0)
        return se_fail(SOFTENT_E_EMPTY, "--min-count %lld leaves no position for the label set %s: no label occurs %lld times among "
                       "the %lld positions", (long long)K, name, (long long)K, (long long)rows);
    return SOFTENT_OK;
}

int se_user_labels_read(const softent_analysis_corpus *c, const char *name, const char *path, int64_t **keys)
{
    *keys = NULL;
    int rc = softent_analysis_check_label_name(name);
    if (rc) return rc;
    const size_t n = strlen(path);
    if (n >= 6 && !strcmp(path + n - 6, ".jsonl"))
        return se_fail(SOFTENT_E_INVALID, "%s: labels are a text file, a line of blank-separated labels for each document", path);
    softent_corpus *in;
    if ((rc = softent_corpus_open(&in, path, NULL))) return rc;
    se_keytable t;
    if ((rc = se_keytable_init(&t, 2))) {
        softent_corpus_close(in);
        return se_fail(rc, "out of memory");
    }
    if (!(*keys = malloc((size_t)c->info.positions * sizeof **keys + 1))) rc = se_fail(SOFTENT_E_NOMEM, "out of memory reading %s", path);
    if (!rc) rc = align(c, path, in, &t, *keys);
    if (!rc && c->p.params.min_count > 1) rc = apply_min_count(c, name, &t, *keys);
    se_keytable_free(&t);
    softent_corpus_close(in);
    if (rc) {
        free(*keys);
        *keys = NULL;
    }
    return rc;
}
