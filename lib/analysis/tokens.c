/* tokens.c - see tokens.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "tokens.h"

int se_encode_continuation(softent_tokenizer *tok, const char *ctx, size_t ctx_len, const char *cont, size_t cont_len,
                           int32_t **ids, int64_t *n, int64_t *n_ctx)
{
    *ids = NULL;
    size_t trail = 0;
    while (trail < ctx_len && ctx[ctx_len - 1 - trail] == ' ') trail++;
    char *whole = malloc(ctx_len + cont_len + 1);
    if (!whole) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    memcpy(whole, ctx, ctx_len);
    memcpy(whole + ctx_len, cont, cont_len);
    int32_t *cids = NULL;
    int rc = softent_tokenizer_encode(tok, ctx, ctx_len - trail, 1, &cids, n_ctx);
    if (!rc) rc = softent_tokenizer_encode(tok, whole, ctx_len + cont_len, 1, ids, n);
    free(cids);
    free(whole);
    return rc;
}

int se_check_ids(const char *path, int64_t line, const int32_t *ids, int64_t n, int64_t vocab)
{
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= vocab) {
            char where[32] = "";
            if (line > 0) snprintf(where, sizeof where, ":%lld", (long long)line);
            return se_fail(SOFTENT_E_MISMATCH, "%s%s: token id %d is outside the model's vocabulary (%lld): the tokenizer does not belong to this model",
                           path, where, ids[i], (long long)vocab);
        }
    return SOFTENT_OK;
}
