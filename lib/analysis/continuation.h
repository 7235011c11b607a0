/*
 * continuation.h - a context and its continuation tokenized as
 * lm-evaluation-harness splits them, shared by eval's multiple choice and
 * the preference corpus (a prompt and its response).
 */
#ifndef SOFTENT_ANALYSIS_CONTINUATION_H
#define SOFTENT_ANALYSIS_CONTINUATION_H

#include <stddef.h>
#include <stdint.h>

#include "softent_tokenizer.h"

/* Spaces at the end of ctx move to the start of cont (a tokenizer that
 * joins a space to the next word would otherwise split differently);
 * *ids [*n] = encode(ctx + cont) and *n_ctx = the length of encode(ctx
 * without those spaces), both with the post-processor, so the
 * continuation's tokens are (*ids)[*n_ctx:].  *ids is malloc'ed. */
int se_encode_continuation(softent_tokenizer *tok, const char *ctx, size_t ctx_len, const char *cont, size_t cont_len,
                           int32_t **ids, int64_t *n, int64_t *n_ctx);

#endif
