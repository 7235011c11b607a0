/*
 * softent_analysis.h - a model measured over a corpus (SPEC section 4): the
 * token positions of each document, their n-gram labels, and (to come in
 * this header) the engine that feeds each layer's hidden states to an
 * accumulator.
 *
 * Same conventions as softent.h: status codes, softent_last_error() for the
 * detail, no printing.
 */
#ifndef SOFTENT_ANALYSIS_H
#define SOFTENT_ANALYSIS_H

#include <stdint.h>

#include "softent.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- n-gram labels ------------------------------------------------------ */

/* Positions of a document of `len` tokens that have every n-gram up to
 * n_max on both sides: t in [n_max - 1, len - n_max).  0 when too short. */
SOFTENT_API int64_t softent_ngram_positions(int64_t len, int n_max);

/* Labels of order n at those positions: input n-gram (t-n+1 .. t) and output
 * n-gram (t+1 .. t+n), keys_in and keys_out [positions, n], exact token ids. */
SOFTENT_API void softent_ngram_labels(const int32_t *tokens, int64_t len, int n_max, int n,
                                      int64_t *keys_in, int64_t *keys_out);

#ifdef __cplusplus
}
#endif
#endif
