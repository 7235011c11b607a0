/*
 * softent_io.h - reading the files softent measures: embedding matrices
 * (.npy, safetensors), label arrays (.npy, CSV/TSV columns), and writing
 * .npy.  Same conventions as softent.h: status codes, softent_last_error()
 * for the detail (which always names the file), no printing.
 */
#ifndef SOFTENT_IO_H
#define SOFTENT_IO_H

#include <stdint.h>

#include "softent.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SOFTENT_F16 = 0,
    SOFTENT_BF16 = 1,
    SOFTENT_F32 = 2,
    SOFTENT_F64 = 3,
    SOFTENT_I32 = 4,
    SOFTENT_I64 = 5,
    /* Indexed in safetensors model files (so that their headers are
     * validated) but never converted: */
    SOFTENT_I8 = 6,
    SOFTENT_U8 = 7,
    SOFTENT_I16 = 8,
    SOFTENT_U16 = 9,
    SOFTENT_U32 = 10,
    SOFTENT_U64 = 11,
    SOFTENT_BOOL = 12,
    SOFTENT_F8_E4M3 = 13,
    SOFTENT_F8_E5M2 = 14,
    SOFTENT_UNKNOWN = 15   /* a dtype softent does not know */
} softent_dtype;

SOFTENT_API const char *softent_dtype_name(softent_dtype t);

/* A 2-D array in a file, read a block of rows at a time (nothing is mapped,
 * so memory stays at the block the caller asks for). */
typedef struct softent_matrix softent_matrix;

/* path: a .npy file, or a .safetensors file with `tensor` naming a 2-D
 * tensor (NULL: the file's only 2-D tensor).  Floating dtypes only. */
SOFTENT_API int softent_matrix_open(softent_matrix **out, const char *path, const char *tensor);
SOFTENT_API int64_t softent_matrix_rows(const softent_matrix *mat);
SOFTENT_API int64_t softent_matrix_cols(const softent_matrix *mat);
SOFTENT_API softent_dtype softent_matrix_dtype(const softent_matrix *mat);
/* Rows row0 .. row0+n-1 converted to float32: out [n, cols]. */
SOFTENT_API int softent_matrix_read(softent_matrix *mat, int64_t row0, int64_t n, float *out);
SOFTENT_API void softent_matrix_close(softent_matrix *mat);

/* Rows row0 .. row0+n-1 in place, without a copy, when the file stores
 * float32 (mapped read-only); NULL otherwise (use softent_matrix_read).
 * softent_matrix_release tells the kernel those rows are done with, so the
 * mapping never holds more than the rows in use. */
SOFTENT_API const float *softent_matrix_view(softent_matrix *mat, int64_t row0, int64_t n);
SOFTENT_API void softent_matrix_release(softent_matrix *mat, int64_t row0, int64_t n);

/* A whole float matrix as float32; *data is malloc'ed [rows, cols]. */
SOFTENT_API int softent_npy_load_f32(const char *path, float **data, int64_t *rows, int64_t *cols);
SOFTENT_API int softent_npy_save_f32(const char *path, const float *data /* [rows, cols] */, int64_t rows, int64_t cols);
SOFTENT_API int softent_npy_save_i64(const char *path, const int64_t *data /* [rows, cols] */, int64_t rows, int64_t cols, int one_d);

/* Labels as integer keys.  A .npy of int32/int64 with shape (N,) gives
 * arity 1; (N, k) with k <= 4 gives tuple keys.  Any other file is CSV (TSV
 * when the first line has a tab; spaces and double quotes around a field
 * dropped); its first line is a header when any of its fields is not an
 * integer.  `column` is a header name or a 0-based index; NULL takes the
 * only column, or the only header column that is not a row index ("",
 * id, index, idx, row, "Unnamed: 0"), and otherwise fails listing the
 * columns.  A column of integers gives them; any other column is strings,
 * numbered by their sorted (byte) order as np.unique numbers them.
 * *keys is malloc'ed [n, arity]. */
SOFTENT_API int softent_labels_load(const char *path, const char *column, int64_t **keys, int64_t *n, int *arity);

/* ---- run directories ------------------------------------------------------
 * What `softent train` writes and `softent trace` reads: RUN_DIR/step-N/,
 * one Hugging Face directory per checkpoint, built as step-N.tmp/ and
 * renamed into place, and RUN_DIR/loss.csv, a row a step. */

typedef struct {
    int64_t step;
    char *path; /* RUN_DIR/<name as found>, owned by the list */
} softent_rundir_checkpoint;

/* 1 when the base name of path names a step N (a non-negative integer) by
 * one of the common conventions: step-N (softent), stepN (Pythia),
 * checkpoint-N (Hugging Face Trainer), global_stepN (DeepSpeed), iter_N
 * (Megatron), ckpt-N ('-' or '_' optional after each); N in *step.
 * step-N.tmp is not. */
SOFTENT_API int softent_rundir_parse_step(const char *path, int64_t *step);
/* A checkpoint directory's step: from its name, else its
 * trainer_state.json's global_step; SOFTENT_E_INVALID (naming dir and the
 * conventions) when neither gives one. */
SOFTENT_API int softent_rundir_checkpoint_step(const char *dir, int64_t *step);
/* RUN_DIR's checkpoint directories (named as softent_rundir_parse_step
 * reads) in step order; *out is malloc'ed [*n] (none found is not an
 * error); two that name the same step are refused.  Free with softent_rundir_list_free. */
SOFTENT_API int softent_rundir_list(const char *run_dir, softent_rundir_checkpoint **out, int *n);
SOFTENT_API void softent_rundir_list_free(softent_rundir_checkpoint *list, int n);
/* RUN_DIR/step-N, malloc'ed; NULL when out of memory. */
SOFTENT_API char *softent_rundir_step_path(const char *run_dir, int64_t step);
/* A checkpoint being written: RUN_DIR/step-N.tmp created empty (a stale
 * one from a killed run removed first); *tmp_dir malloc'ed. */
SOFTENT_API int softent_rundir_stage(const char *run_dir, int64_t step, char **tmp_dir);
/* step-N.tmp renamed to step-N, replacing any step-N (a resumed run redoes
 * the steps since its state). */
SOFTENT_API int softent_rundir_commit(const char *run_dir, int64_t step);

/* loss.csv: the header line, and a row (val_loss NaN when the step has
 * none), each with its newline.  The row goes to buf [size]; returns its
 * length, as snprintf does. */
SOFTENT_API const char *softent_loss_csv_header(void);
SOFTENT_API int softent_loss_csv_row(char *buf, size_t size, int64_t step, double lr, double train_loss, double val_loss,
                                     double tokens_per_s);
/* The steps of path that have a validation loss, and those losses; both
 * malloc'ed [*n]. */
SOFTENT_API int softent_loss_csv_read(const char *path, int64_t **steps, double **val_loss, int64_t *n);

#ifdef __cplusplus
}
#endif
#endif
