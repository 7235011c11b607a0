/*
 * tokens.h - token ids as the analyses feed them to a model: checked
 * against its vocabulary, and a context with its continuation tokenized as
 * lm-evaluation-harness splits them (eval's multiple choice, the
 * preference corpus's prompt and response).
 */
#ifndef SOFTENT_ANALYSIS_TOKENS_H
#define SOFTENT_ANALYSIS_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "softent_tokenizer.h"

/* Spaces at the end of ctx move to the start of cont (a tokenizer that
 * joins a space to the next word would otherwise split differently);
 * *ids [*n] = encode(ctx + cont) and *n_ctx = the length of encode(ctx
 * without those spaces), both with the post-processor, so the
 * continuation's tokens are (*ids)[*n_ctx:].  *ids is malloc'ed. */
/* Every id of ids [n] in [0, vocab); else SOFTENT_E_MISMATCH naming path
 * (and line, when > 0): the tokenizer is not the model's. */
int se_check_ids(const char *path, int64_t line, const int32_t *ids, int64_t n, int64_t vocab);

int se_encode_continuation(softent_tokenizer *tok, const char *ctx, size_t ctx_len, const char *cont, size_t cont_len,
                           int32_t **ids, int64_t *n, int64_t *n_ctx);

#endif
