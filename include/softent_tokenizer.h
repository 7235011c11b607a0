/*
 * softent_tokenizer.h - text to token ids, exactly as Hugging Face `tokenizers`
 * encodes it from a model's tokenizer.json.
 *
 * Supported: BPE models (byte-level as in GPT-2/Llama 3/Qwen, and
 * SentencePiece-style with byte fallback as in Llama 2), WordPiece (BERT),
 * the usual normalizers and pre-tokenizers (BERT's too), added and special tokens, and the
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
 * softent_bpe_train trains a byte-level BPE tokenizer and writes it as a
 * tokenizer.json (below).
 *
 * Same conventions as softent.h: status codes, softent_last_error() for the
 * detail, no printing.
 */
#ifndef SOFTENT_TOKENIZER_H
#define SOFTENT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "softent.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct softent_tokenizer softent_tokenizer;

/* path: a tokenizer.json, or a directory holding one. */
SOFTENT_API int softent_tokenizer_load(softent_tokenizer **out, const char *path);
/* A tokenizer.json's text json [len] (label names it in messages). */
SOFTENT_API int softent_tokenizer_load_json(softent_tokenizer **out, const char *json, size_t len, const char *label);
SOFTENT_API void softent_tokenizer_free(softent_tokenizer *tok);

/* Encode one text of len bytes (NUL bytes are ordinary characters).
 * add_special_tokens != 0 applies the post-processor's template (BOS/EOS),
 * as Hugging Face does by default.  *ids is malloc'ed [*n_ids] (never NULL
 * on success, even when *n_ids is 0).
 *
 * Thread safety: encode may be called from several threads on one
 * tokenizer.  The word cache and scratch buffers belong to whichever call
 * holds them; a call that finds them busy runs with its own, uncached. */
SOFTENT_API int softent_tokenizer_encode(softent_tokenizer *tok, const char *text, size_t len,
                                         int add_special_tokens, int32_t **ids, int64_t *n_ids);

/* Ids in use, added tokens included: the largest id + 1. */
SOFTENT_API int64_t softent_tokenizer_vocab_size(const softent_tokenizer *tok);
/* The token's string as the vocabulary spells it (byte-level tokens in
 * their GPT-2 alphabet, e.g. "Ġthe"), or NULL for an id with no token. */
SOFTENT_API const char *softent_tokenizer_token(const softent_tokenizer *tok, int32_t id);

/* Write (atomically) the tokenizer that has no merges: byte b is id b,
 * spelled in GPT-2's byte alphabet, and <|endoftext|> is id 256; ByteLevel
 * pre-tokenizer, post-processor and decoder.  `softent train` uses it when
 * it is given no tokenizer. */
SOFTENT_API int softent_tokenizer_write_bytes(const char *path);

/* ---- training a tokenizer ------------------------------------------------
 *
 * A byte-level BPE tokenizer trained on a corpus and written as a Hugging
 * Face tokenizer.json, so that a model can be trained where no pretrained
 * tokenizer can be downloaded.
 *
 * The algorithm is Hugging Face's BpeTrainer behind a ByteLevel
 * pre-tokenizer (GPT-2's regex, add_prefix_space false) with the 256 byte
 * symbols as initial alphabet:
 *
 *   - each document (invalid UTF-8 read as U+FFFD, as the encoder reads it)
 *     is split by GPT-2's regex into words; equal words are counted once;
 *   - ids: the special tokens first, in the order given, then the 256 byte
 *     symbols in code-point order of GPT-2's byte alphabet (GPT-2's own
 *     order), then one id per merge;
 *   - each round merges the adjacent pair with the highest count (summed
 *     over words, times their counts); ties go to the smallest pair of ids
 *     (left id, then right id), as HF's trainer orders its heap; every
 *     leftmost non-overlapping occurrence is merged;
 *   - a merged string that is already a token keeps that id (no new id);
 *   - training stops when the vocabulary (special tokens included) reaches
 *     vocab_size, or when no pair is seen min_frequency times (then the
 *     vocabulary is smaller than asked).
 *
 * Special tokens are not split out of the training text (HF's trainer does
 * not either); the encoder splits them out of the text it encodes.
 *
 * The file: added_tokens (special), no normalizer, ByteLevel pre-tokenizer,
 * post-processor and decoder, and a BPE model with the vocabulary in id
 * order and merges as "a b" strings.  The same documents and parameters
 * give a byte-identical file.  docs/tokenizer.md describes it.
 */

typedef struct {
    int64_t vocab_size;                  /* ids in all, special tokens included (default 4096) */
    int64_t min_frequency;               /* merge only pairs seen at least this often (default 2) */
    const char *const *special_tokens;   /* [n_special_tokens], UTF-8 (default {"<|endoftext|>"}) */
    int n_special_tokens;
    /* softent_bpe_train only: */
    int64_t max_docs;                    /* read at most this many documents (0: all) */
    const char *text_field;              /* the .jsonl field holding the text (NULL: detect) */
} softent_bpe_train_params;

typedef struct {
    int64_t documents, bytes;            /* fed */
    int64_t words, distinct_words;       /* pre-tokenized words */
    int64_t vocab_size;                  /* reached: below the asked size when pairs ran out */
    int64_t n_special;                   /* distinct special tokens */
    int64_t n_merges;                    /* more than the new tokens when a string forms from two pairs */
    double count_seconds;                /* pre-tokenizing and counting words */
    double merge_seconds;                /* computing the merges */
} softent_bpe_train_stats;

SOFTENT_API softent_bpe_train_params softent_bpe_train_default_params(void);

/* Ids the vocabulary starts with: the distinct special tokens and the 256
 * byte symbols (a special token spelling a byte symbol shares its id).
 * vocab_size must be at least this. */
SOFTENT_API int64_t softent_bpe_train_initial_size(const softent_bpe_train_params *p);

/* Train on a corpus (softent_corpus.h: .txt lines, .jsonl, a directory of
 * .txt, "-" for stdin) and write tokenizer.json to out_path.  The output is
 * written to a temporary file beside it (created before the corpus is read,
 * so an unwritable path fails at once) and renamed into place.  stats may
 * be NULL. */
SOFTENT_API int softent_bpe_train(const char *corpus, const softent_bpe_train_params *p, const char *out_path,
                                  softent_bpe_train_stats *stats);

/* The same in steps, for documents from anywhere: feed every document,
 * train once, then write. */
typedef struct softent_bpe_trainer softent_bpe_trainer;

SOFTENT_API int softent_bpe_trainer_new(softent_bpe_trainer **out, const softent_bpe_train_params *p);
/* One document of len bytes (NUL bytes are ordinary characters). */
SOFTENT_API int softent_bpe_trainer_feed(softent_bpe_trainer *t, const char *text, size_t len);
/* Compute the merges; after this, feed is refused.  SOFTENT_E_EMPTY when
 * nothing was fed. */
SOFTENT_API int softent_bpe_trainer_train(softent_bpe_trainer *t);
/* Write tokenizer.json (temporary file, then rename). */
SOFTENT_API int softent_bpe_trainer_write(const softent_bpe_trainer *t, const char *path);
SOFTENT_API void softent_bpe_trainer_stats(const softent_bpe_trainer *t, softent_bpe_train_stats *stats);
SOFTENT_API void softent_bpe_trainer_free(softent_bpe_trainer *t);

#ifdef __cplusplus
}
#endif
#endif
