/*
 * fs.h - files as the library reads and writes them: paths joined, a small
 * file read whole (with a size bound, since every file is untrusted), and
 * files written atomically: a temporary file beside the target, flushed to
 * disk and renamed over it, so that a reader (or a run killed midway) sees
 * the old file or the new one, never a part.
 */
#ifndef SOFTENT_COMMON_FS_H
#define SOFTENT_COMMON_FS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "dir/name", malloc'ed; NULL when out of memory. */
char *se_path_join(const char *dir, const char *name);

/* The whole of path, NUL-terminated (the NUL is not counted in *len);
 * *data is malloc'ed.  A file larger than max_bytes is refused
 * (SOFTENT_E_FORMAT, naming the file and the bound).  len may be NULL. */
int se_read_file(const char *path, size_t max_bytes, char **data, size_t *len);

/* fopen(path, "rb") of a regular file: a directory, a pipe or a device is
 * refused with what it is (softent seeks in the files it reads). */
int se_open_regular(const char *path, FILE **f);

/* The next line of data [len] that is not blank (spaces, tabs, \r only),
 * from *pos on: *line [*n] without its "\n", *lineno its 1-based number
 * (counted through the blank ones).  0 at the end, else 1. */
int se_next_line(const char *data, size_t len, size_t *pos, int64_t *lineno, const char **line, size_t *n);

/* mkdir -p: path and every missing parent. */
int se_make_dirs(const char *path);

/* A file being written atomically.  Write through f (fwrite, fprintf) or
 * se_atomic_write; se_atomic_commit makes it appear at path, and
 * se_atomic_abort (also after a failed commit: nothing is left) drops it. */
typedef struct {
    const char *path;  /* the target, borrowed */
    char *tmp;         /* path.tmp.PID.N, owned */
    FILE *f;
    int ok;            /* no write has failed */
} se_atomic_file;

int se_atomic_open(se_atomic_file *a, const char *path);
void se_atomic_write(se_atomic_file *a, const void *data, size_t n);
/* Flush, fsync, close, rename over path, fsync the directory.  On failure
 * the temporary file is removed and the target left as it was. */
int se_atomic_commit(se_atomic_file *a);
void se_atomic_abort(se_atomic_file *a);

/* A file another program wrote at tmp (beside path) made to appear at
 * path as se_atomic_commit does: flushed to disk, renamed, the directory
 * synced; on failure tmp is removed and path left as it was. */
int se_atomic_adopt(const char *tmp, const char *path);

/* A buffer written atomically to path. */
int se_write_file(const char *path, const void *data, size_t n);

#endif
