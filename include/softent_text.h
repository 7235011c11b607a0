/*
 * softent_text.h - text to token ids, exactly as Hugging Face `tokenizers`
 * encodes it from a model's tokenizer.json.
 *
 * Supported: BPE models (byte-level as in GPT-2/Llama 3/Qwen, and
 * SentencePiece-style with byte fallback as in Llama 2), the usual
 * normalizers and pre-tokenizers, added and special tokens, and the
 * TemplateProcessing / ByteLevel / Roberta / Bert post-processors.  A
 * component softent does not implement is refused when the file is loaded
 * (SOFTENT_E_FORMAT, naming the component and the file), never skipped.
 * docs/tokenizer.md lists what is supported.
 *
 * Text is UTF-8.  Invalid UTF-8 is not refused: each maximal ill-formed
 * subsequence is replaced by U+FFFD first, as Python's
 * bytes.decode("utf-8", "replace"), JavaScript's TextDecoder and Rust's
 * String::from_utf8_lossy do (Hugging Face's Rust core only takes valid
 * strings; its bindings decode this way before handing text over).
 *
 * Same conventions as softent.h: status codes, softent_last_error() for the
 * detail, no printing.
 */
#ifndef SOFTENT_TEXT_H
#define SOFTENT_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "softent.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct softent_tokenizer softent_tokenizer;

/* path: a tokenizer.json, or a directory holding one. */
int softent_tokenizer_load(softent_tokenizer **out, const char *path);
void softent_tokenizer_free(softent_tokenizer *tok);

/* Encode one text of len bytes (NUL bytes are ordinary characters).
 * add_special_tokens != 0 applies the post-processor's template (BOS/EOS),
 * as Hugging Face does by default.  *ids is malloc'ed [*n_ids] (never NULL
 * on success, even when *n_ids is 0).
 *
 * Thread safety: encode may be called from several threads on one
 * tokenizer.  The word cache and scratch buffers belong to whichever call
 * holds them; a call that finds them busy runs with its own, uncached. */
int softent_tokenizer_encode(softent_tokenizer *tok, const char *text, size_t len,
                             int add_special_tokens, int32_t **ids, int64_t *n_ids);

/* Ids in use, added tokens included: the largest id + 1. */
int64_t softent_tokenizer_vocab_size(const softent_tokenizer *tok);
/* The token's string as the vocabulary spells it (byte-level tokens in
 * their GPT-2 alphabet, e.g. "Ġthe"), or NULL for an id with no token. */
const char *softent_tokenizer_token(const softent_tokenizer *tok, int32_t id);

#ifdef __cplusplus
}
#endif
#endif
