/*
 * test_atomic.c - the files of lib/common/fs.c: an atomic write leaves the
 * new content or the old, and never a temporary file, whether it commits,
 * aborts or fails; whole-file reads return the bytes stdio reads and keep
 * to their bound; mkdir -p makes every level.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "common/fs.h"
#include "softent.h"

static char dir[] = "/tmp/softent-test-atomic-XXXXXX";

/* The file's bytes as stdio reads them (NUL-terminated), or NULL. */
static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(1 << 20);
    *n = fread(buf, 1, (1 << 20) - 1, f);
    buf[*n] = '\0';
    fclose(f);
    return buf;
}

/* Entries of dir other than those named (a leftover temporary file). */
static int strays(const char *keep)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && (!keep || !strstr(keep, e->d_name))) n++;
    closedir(d);
    return n;
}

static void write_then_replace(void)
{
    char *path = se_path_join(dir, "out.txt");
    CHECK(path && !strcmp(path + strlen(dir), "/out.txt"), "path join");
    CHECK(se_write_file(path, "first", 5) == SOFTENT_OK, "%s", softent_last_error());
    size_t n;
    char *got = slurp(path, &n);
    CHECK(got && n == 5 && !memcmp(got, "first", 5), "first write reads back as '%s'", got ? got : "(none)");
    free(got);
    CHECK(se_write_file(path, "second, longer", 14) == SOFTENT_OK, "%s", softent_last_error());
    got = slurp(path, &n);
    CHECK(got && n == 14 && !memcmp(got, "second, longer", 14), "replaced file reads '%s'", got ? got : "(none)");
    free(got);
    CHECK(strays("out.txt") == 0, "a temporary file is left beside out.txt");
    /* the mode of a file made by fopen, not mkstemp's 0600 */
    const mode_t mask = umask(0);
    umask(mask);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == (0666 & ~mask), "mode %o", (unsigned)(st.st_mode & 0777));
    unlink(path);
    free(path);
}

static void abort_keeps_the_old_file(void)
{
    char *path = se_path_join(dir, "keep.txt");
    CHECK(se_write_file(path, "old", 3) == SOFTENT_OK, "%s", softent_last_error());
    se_atomic_file a;
    CHECK(se_atomic_open(&a, path) == SOFTENT_OK, "%s", softent_last_error());
    se_atomic_write(&a, "half a new fi", 13);
    fprintf(a.f, "le");
    CHECK(strays("keep.txt") == 1, "the temporary file is not beside its target");
    se_atomic_abort(&a);
    size_t n;
    char *got = slurp(path, &n);
    CHECK(got && n == 3 && !memcmp(got, "old", 3), "after abort the file reads '%s'", got ? got : "(none)");
    free(got);
    CHECK(strays("keep.txt") == 0, "abort left a temporary file");
    unlink(path);
    free(path);
}

static void failures_leave_nothing(void)
{
    char *missing = se_path_join(dir, "no/such/dir/x.txt");
    CHECK(se_write_file(missing, "x", 1) == SOFTENT_E_IO, "writing into a missing directory did not fail");
    CHECK(strstr(softent_last_error(), missing), "the error does not name the file: %s", softent_last_error());
    free(missing);
    /* the rename fails: the target is a directory that is not empty */
    char *target = se_path_join(dir, "busy"), *inner = se_path_join(target, "file");
    CHECK(mkdir(target, 0777) == 0 && se_write_file(inner, "x", 1) == SOFTENT_OK, "setup");
    CHECK(se_write_file(target, "new", 3) == SOFTENT_E_IO, "renaming over a full directory did not fail");
    CHECK(strays("busy") == 0, "a failed commit left a temporary file");
    unlink(inner);
    rmdir(target);
    free(inner);
    free(target);
}

static void read_whole_and_bounded(void)
{
    char *path = se_path_join(dir, "data.bin");
    enum { N = 200000 }; /* more than the first 64 KiB buffer */
    unsigned char *bytes = malloc(N);
    for (int i = 0; i < N; i++) bytes[i] = (unsigned char)(i * 7 + (i >> 9));
    bytes[100] = 0; /* NUL bytes are data */
    CHECK(se_write_file(path, bytes, N) == SOFTENT_OK, "%s", softent_last_error());
    char *data;
    size_t n;
    CHECK(se_read_file(path, N, &data, &n) == SOFTENT_OK, "%s", softent_last_error());
    CHECK(n == N && !memcmp(data, bytes, N) && data[N] == '\0', "read %zu bytes, differing or not NUL-terminated", n);
    free(data);
    CHECK(se_read_file(path, N - 1, &data, &n) == SOFTENT_E_FORMAT && data == NULL, "a file over the bound was read");
    CHECK(strstr(softent_last_error(), path), "the error does not name the file: %s", softent_last_error());
    CHECK(se_write_file(path, "", 0) == SOFTENT_OK && se_read_file(path, 10, &data, NULL) == SOFTENT_OK && data[0] == '\0',
          "an empty file");
    free(data);
    unlink(path);
    free(path);
    free(bytes);
}

static void make_dirs_every_level(void)
{
    char *deep = se_path_join(dir, "a/b/c");
    CHECK(se_make_dirs(deep) == SOFTENT_OK, "%s", softent_last_error());
    CHECK(se_make_dirs(deep) == SOFTENT_OK, "an existing directory: %s", softent_last_error());
    struct stat st;
    CHECK(stat(deep, &st) == 0 && S_ISDIR(st.st_mode), "%s is not a directory", deep);
    char *file = se_path_join(deep, "f");
    CHECK(se_write_file(file, "x", 1) == SOFTENT_OK, "setup");
    CHECK(se_make_dirs(file) != SOFTENT_OK, "mkdir -p over a file succeeded");
    unlink(file);
    free(file);
    for (int k = 0; k < 3; k++) {
        rmdir(deep);
        *strrchr(deep, '/') = '\0';
    }
    free(deep);
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    RUN(write_then_replace);
    RUN(abort_keeps_the_old_file);
    RUN(failures_leave_nothing);
    RUN(read_whole_and_bounded);
    RUN(make_dirs_every_level);
    rmdir(dir);
    return CHECKS_DONE();
}
