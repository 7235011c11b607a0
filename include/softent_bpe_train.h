/*
 * softent_bpe_train.h - training a byte-level BPE tokenizer and writing it
 * as a Hugging Face tokenizer.json, so that a model can be trained where no
 * pretrained tokenizer can be downloaded.
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
 *
 * Same conventions as softent.h: status codes, softent_last_error() for a
 * one-line detail (naming the file where there is one), no printing.
 */
#ifndef SOFTENT_BPE_TRAIN_H
#define SOFTENT_BPE_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "softent.h"

#ifdef __cplusplus
extern "C" {
#endif

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

softent_bpe_train_params softent_bpe_train_default_params(void);

/* Ids the vocabulary starts with: the distinct special tokens and the 256
 * byte symbols (a special token spelling a byte symbol shares its id).
 * vocab_size must be at least this. */
int64_t softent_bpe_train_initial_size(const softent_bpe_train_params *p);

/* Train on a corpus (softent_corpus.h: .txt lines, .jsonl, a directory of
 * .txt, "-" for stdin) and write tokenizer.json to out_path.  The output is
 * written to a temporary file beside it (created before the corpus is read,
 * so an unwritable path fails at once) and renamed into place.  stats may
 * be NULL. */
int softent_bpe_train(const char *corpus, const softent_bpe_train_params *p, const char *out_path,
                      softent_bpe_train_stats *stats);

/* The same in steps, for documents from anywhere: feed every document,
 * train once, then write. */
typedef struct softent_bpe_trainer softent_bpe_trainer;

int softent_bpe_trainer_new(softent_bpe_trainer **out, const softent_bpe_train_params *p);
/* One document of len bytes (NUL bytes are ordinary characters). */
int softent_bpe_trainer_feed(softent_bpe_trainer *t, const char *text, size_t len);
/* Compute the merges; after this, feed is refused.  SOFTENT_E_EMPTY when
 * nothing was fed. */
int softent_bpe_trainer_train(softent_bpe_trainer *t);
/* Write tokenizer.json (temporary file, then rename). */
int softent_bpe_trainer_write(const softent_bpe_trainer *t, const char *path);
void softent_bpe_trainer_stats(const softent_bpe_trainer *t, softent_bpe_train_stats *stats);
void softent_bpe_trainer_free(softent_bpe_trainer *t);

#ifdef __cplusplus
}
#endif
#endif
