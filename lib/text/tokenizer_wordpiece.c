/* tokenizer_wordpiece.c - the WordPiece model (see tokenizer_wordpiece.h). */
#include <stdio.h>
#include <stdlib.h>

#include "tokenizer_json.h"
#include "tokenizer_wordpiece.h"

static int dup_str(const char *s, char **out, const char *what)
{
    if (!(*out = strdup(s))) return se_fail(SOFTENT_E_NOMEM, "%s: out of memory", what);
    return 0;
}

int se_wordpiece_load(se_wordpiece *m, const cJSON *j, const char *path)
{
    char what[512];
    memset(m, 0, sizeof *m);
    m->unk_id = -1;
    snprintf(what, sizeof what, "%s: model WordPiece", path);
    /* every field is required, as HF's deserializer requires them */
    const char *unk, *prefix;
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(j, "max_input_chars_per_word");
    int rc;
    if ((rc = se_json_str(j, "unk_token", NULL, &unk, what)) || (rc = se_json_str(j, "continuing_subword_prefix", NULL, &prefix, what)))
        return rc;
    if (!unk || !prefix) return se_fail(SOFTENT_E_FORMAT, "%s: no \"%s\" string", what, unk ? "continuing_subword_prefix" : "unk_token");
    if (!(cJSON_IsNumber(max) && max->valuedouble >= 0 && max->valuedouble <= 1e9 && max->valuedouble == (double)(int64_t)max->valuedouble))
        return se_fail(SOFTENT_E_FORMAT, "%s: \"max_input_chars_per_word\" is not a count", what);
    m->max_chars = (int64_t)max->valuedouble;
    if ((rc = dup_str(unk, &m->unk, what)) || (rc = dup_str(prefix, &m->prefix, what)) ||
        (rc = se_vocab_parse(&m->vocab, &m->max_id, cJSON_GetObjectItemCaseSensitive(j, "vocab"), what)))
        goto fail;
    m->prefix_n = strlen(prefix);
    m->unk_id = se_strmap_get(&m->vocab, unk, strlen(unk));
    for (size_t i = 0; i < m->vocab.cap; i++)
        if (m->vocab.slots[i].value >= 0 && m->vocab.slots[i].len > m->longest) m->longest = m->vocab.slots[i].len;
    return 0;
fail:
    se_wordpiece_free(m);
    return rc;
}

void se_wordpiece_free(se_wordpiece *m)
{
    se_strmap_free(&m->vocab);
    free(m->unk);
    free(m->prefix);
    memset(m, 0, sizeof *m);
}

static int push_unk(const se_wordpiece *m, se_ids *out)
{
    if (m->unk_id < 0) return se_fail(SOFTENT_E_FORMAT, "WordPiece: the unk_token \"%s\" is not in the vocabulary", m->unk);
    return se_ids_push(out, m->unk_id) ? SOFTENT_E_NOMEM : 0;
}

/* The start of the character that ends before byte `end` of s. */
static size_t char_before(const char *s, size_t end)
{
    size_t k = end - 1;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
    return k;
}

int se_wordpiece_encode_word(const se_wordpiece *m, se_buf *piece, const char *s, size_t n, se_ids *out)
{
    int64_t chars = 0;
    for (size_t i = 0; i < n; i++) chars += ((unsigned char)s[i] & 0xC0) != 0x80;
    if (chars > m->max_chars) return push_unk(m, out);
    const size_t first = out->n;
    for (size_t start = 0; start < n;) {
        /* the longest piece at start that is in the vocabulary; pieces
         * longer than every entry are not looked up */
        size_t end = n - start > m->longest ? start + m->longest + 1 : n;
        int32_t id = -1;
        while (end > start) {
            if (end - start <= m->longest) {
                if (start == 0) {
                    id = se_strmap_get(&m->vocab, s, end);
                } else {
                    piece->n = 0;
                    if (se_buf_append(piece, m->prefix, m->prefix_n) || se_buf_append(piece, s + start, end - start)) return SOFTENT_E_NOMEM;
                    id = se_strmap_get(&m->vocab, piece->p, piece->n);
                }
                if (id >= 0) break;
            }
            end = char_before(s, end) > start ? char_before(s, end) : start;
        }
        if (id < 0) {  /* the word cannot be split: it is the unk token alone */
            out->n = first;
            return push_unk(m, out);
        }
        if (se_ids_push(out, id)) return SOFTENT_E_NOMEM;
        start = end;
    }
    return 0;
}
