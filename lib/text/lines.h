/*
 * lines.h - a text file a line at a time, as every reader of text lines
 * takes them (the corpus reader, `softent tokenize`): plain or gzip (zlib
 * passes plain files through), "-" for stdin, a line ending at "\n" or
 * "\r\n", of any length.  A file that is binary or compressed otherwise is
 * refused by its first bytes, and a NUL byte anywhere by its line.
 */
#ifndef SOFTENT_TEXT_LINES_H
#define SOFTENT_TEXT_LINES_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

typedef struct {
    const char *path;     /* borrowed, for messages */
    gzFile gz;
    char *block;          /* [READ_BLOCK] the file read a block at a time */
    size_t block_n, block_at;
    char *line;           /* the current line, NUL-terminated */
    size_t line_cap;
    int64_t lineno;       /* lines returned so far */
} se_lines;

/* Open path ("-": stdin) and check its first block; close also after a failure. */
int se_lines_open(se_lines *r, const char *path);
/* The next line, blank ones included: *line (valid until the next call)
 * and its length without the line end; *line NULL at the end. */
int se_lines_next(se_lines *r, const char **line, size_t *len);
void se_lines_close(se_lines *r);

#endif
