/*
 * train.h - the trainer's layout, shared by train.c (settings, data,
 * initialisation, AdamW) and train_io.c (checkpoints and state files).
 */
#ifndef SOFTENT_TRAIN_INTERNAL_H
#define SOFTENT_TRAIN_INTERNAL_H

#include "common/hash.h"
#include "gpt2.h"
#include "softent_train.h"

struct softent_gpt2_trainer {
    softent_train_params p;
    se_gpt2 model;
    float *m;                 /* [num_params] AdamW's first moment */
    float *v;                 /* [num_params] AdamW's second moment */
    int64_t step;             /* optimizer steps taken */
};

/* A trainer for p with memory allocated but parameters not initialised. */
int se_gpt2_trainer_alloc(softent_gpt2_trainer **out, const softent_train_params *p);

#endif
