/*
 * train.h - the trainer's layout, shared by train.c (settings, data,
 * initialisation, AdamW) and train_io.c (checkpoints and state files).
 */
#ifndef SOFTENT_TRAIN_INTERNAL_H
#define SOFTENT_TRAIN_INTERNAL_H

#include "gpt2_train.h"
#include "softent_train.h"

struct softent_trainer {
    softent_train_params p;
    se_gpt2 model;
    float *m;                 /* [num_params] AdamW's first moment */
    float *v;                 /* [num_params] AdamW's second moment */
    int64_t step;             /* optimizer steps taken */
};

/* A trainer for p with memory allocated but parameters not initialised. */
int se_trainer_alloc(softent_trainer **out, const softent_train_params *p);

/* A 64-bit hash of n bytes, continuing from h: the state file's checksum. */
uint64_t se_hash_words(uint64_t h, const void *data, size_t n);

#endif
