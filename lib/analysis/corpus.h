/*
 * corpus.h - what a corpus pass leaves for the runs (corpus.c and
 * preference.c write it, run.c reads it): the truncated documents, the
 * positions of each that feed the accumulators, and the label counts.
 */
#ifndef SOFTENT_ANALYSIS_CORPUS_H
#define SOFTENT_ANALYSIS_CORPUS_H

#include "softent_analysis.h"

typedef struct {
    int32_t *tokens; /* [n] owned, truncated to max_length */
    int64_t n;
    int64_t first, npos; /* positions first .. first + npos - 1 are rows */
    int64_t ordinal;     /* the document's number among those read, from 0 */
    int64_t n_full;      /* its tokens before the cut to max_length */
} se_analysis_doc;

struct softent_analysis_corpus {
    softent_analysis_params p; /* a copy; text_field is not used after the read */
    int n_max;                 /* the largest order: the positions of every order */
    int64_t d_model;
    se_analysis_doc *docs;     /* [info.docs_used] owned */
    softent_analysis_corpus_info info;
    softent_acc *labels;       /* in{n}, out{n} (or "preference") counted over every
                                * position; no rows; owned */
    int preference;            /* a preference corpus (preference.c): docs are
                                * chosen, rejected, chosen, ... */
    softent_preference_info pref;
    char label_names[SOFTENT_ANALYSIS_MAX_LABELS][32]; /* [p.n_labels] the user's label sets */
    char *fields[3];           /* [prompt, chosen, rejected] in use; owned */
};

/* The parameters of the corpus' accumulators: the analysis' own, with
 * min_count 1, since the corpus pass applies min_count itself, per position
 * and to in{n} and out{n} together (positions it drops are keyed
 * SOFTENT_NO_LABEL in both). */
softent_params se_analysis_acc_params(const softent_analysis_corpus *c);

/* The user's label set `name` from path (softent_analysis_corpus_read's
 * rules), keys [info.positions] in row order, min_count applied
 * (SOFTENT_NO_LABEL); malloc'ed (user_labels.c). */
int se_user_labels_read(const softent_analysis_corpus *c, const char *name, const char *path, int64_t **keys);

/* checkpoint.c: a run's place and its accumulators (acc [n_sel], of the
 * layers sel) in cp->checkpoint_dir, and taking them up again.  The place is the
 * documents and rows done. */
int se_checkpoint_save(const softent_analysis_run_params *cp, const softent_analysis_corpus *c, softent_acc *const *acc,
                       const int *sel, int n_sel, int64_t docs_done, int64_t rows_done);
int se_checkpoint_resume(const softent_analysis_run_params *cp, const softent_analysis_corpus *c, softent_acc *const *acc,
                         const int *sel, int n_sel, int64_t *docs_done, int64_t *rows_done);

#endif
