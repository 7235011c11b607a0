/* fs.c - path joining, whole-file reads and atomic writes (see fs.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "fs.h"

char *se_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int se_read_file(const char *path, size_t max_bytes, char **data, size_t *len)
{
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return se_fail(SOFTENT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    int rc = buf ? SOFTENT_OK : se_fail(SOFTENT_E_NOMEM, "%s: out of memory", path);
    while (!rc) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        if (n > max_bytes) {
            rc = se_fail(SOFTENT_E_FORMAT, "%s: larger than the %zu MB softent reads for a file of this kind", path, max_bytes >> 20);
            break;
        }
        char *grown = realloc(buf, cap * 2);
        if (!grown) rc = se_fail(SOFTENT_E_NOMEM, "%s: out of memory", path);
        else buf = grown, cap *= 2;
    }
    if (!rc && ferror(f)) rc = se_fail(SOFTENT_E_IO, "%s: read failed", path);
    if (!rc && n > max_bytes)
        rc = se_fail(SOFTENT_E_FORMAT, "%s: larger than the %zu MB softent reads for a file of this kind", path, max_bytes >> 20);
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *data = buf;
    if (len) *len = n;
    return SOFTENT_OK;
}

int se_make_dirs(const char *path)
{
    char *p = strdup(path);
    if (!p) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    int rc = SOFTENT_OK;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s) continue;
        const char saved = *s;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            rc = se_fail(SOFTENT_E_IO, "%s: cannot create directory: %s", p, strerror(errno));
            break;
        }
        if (saved == '\0') {
            struct stat st;
            if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) rc = se_fail(SOFTENT_E_IO, "%s: not a directory", p);
            break;
        }
        *s = saved;
    }
    free(p);
    return rc;
}

/* A temporary name beside path that no other writer uses: the process id,
 * a per-process counter, and a retry on the rare collision.  open() with
 * 0666 gives the file the mode any new file gets under the umask (mkstemp
 * would make it 0600, and fixing that needs umask(), which is process-wide
 * and so not safe beside other threads). */
int se_atomic_open(se_atomic_file *a, const char *path)
{
    static _Atomic unsigned counter;
    *a = (se_atomic_file){.path = path, .ok = 1};
    const size_t size = strlen(path) + 40;
    if (!(a->tmp = malloc(size))) return se_fail(SOFTENT_E_NOMEM, "out of memory");
    int fd = -1;
    for (int attempt = 0; fd < 0 && attempt < 100; attempt++) {
        snprintf(a->tmp, size, "%s.tmp.%ld.%u", path, (long)getpid(), counter++);
        fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0 || !(a->f = fdopen(fd, "wb"))) {
        int err = errno;
        if (fd >= 0) {
            close(fd);
            unlink(a->tmp);
        }
        free(a->tmp);
        a->tmp = NULL;
        return se_fail(SOFTENT_E_IO, "%s: cannot write: %s", path, strerror(err));
    }
    return SOFTENT_OK;
}

void se_atomic_write(se_atomic_file *a, const void *data, size_t n)
{
    if (a->ok && n && fwrite(data, 1, n, a->f) != n) a->ok = 0;
}

/* The rename is durable once the directory holding it is on disk. */
static void sync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY) : -1;
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

int se_atomic_commit(se_atomic_file *a)
{
    int err = 0;
    if (!a->ok || ferror(a->f) || fflush(a->f) != 0 || fsync(fileno(a->f)) != 0) err = errno ? errno : EIO;
    if (fclose(a->f) != 0 && !err) err = errno ? errno : EIO;
    a->f = NULL;
    if (!err && rename(a->tmp, a->path) != 0) err = errno;
    if (err) {
        unlink(a->tmp);
        free(a->tmp);
        a->tmp = NULL;
        return se_fail(SOFTENT_E_IO, "%s: write failed: %s", a->path, strerror(err));
    }
    sync_parent(a->path);
    free(a->tmp);
    a->tmp = NULL;
    return SOFTENT_OK;
}

int se_atomic_adopt(const char *tmp, const char *path)
{
    int err = 0, fd = open(tmp, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) err = errno ? errno : EIO;
    if (fd >= 0) close(fd);
    if (!err && rename(tmp, path) != 0) err = errno;
    if (err) {
        unlink(tmp);
        return se_fail(SOFTENT_E_IO, "%s: write failed: %s", path, strerror(err));
    }
    sync_parent(path);
    return SOFTENT_OK;
}

void se_atomic_abort(se_atomic_file *a)
{
    if (a->f) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    free(a->tmp);
    *a = (se_atomic_file){0};
}

int se_write_file(const char *path, const void *data, size_t n)
{
    se_atomic_file a;
    int rc = se_atomic_open(&a, path);
    if (rc) return rc;
    se_atomic_write(&a, data, n);
    return se_atomic_commit(&a);
}

int se_open_regular(const char *path, FILE **f)
{
    struct stat sb;
    *f = NULL;
    if (stat(path, &sb) != 0) return se_fail(SOFTENT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) return se_fail(SOFTENT_E_IO, "%s: a directory, not a file", path);
    if (!S_ISREG(sb.st_mode))
        return se_fail(SOFTENT_E_IO, "%s: not a regular file (a pipe or a device?): softent seeks in what it reads; save it to a file first", path);
    if (!(*f = fopen(path, "rb"))) return se_fail(SOFTENT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    return SOFTENT_OK;
}

int se_next_line(const char *data, size_t len, size_t *pos, int64_t *lineno, const char **line, size_t *n)
{
    while (*pos < len) {
        const char *s = data + *pos, *nl = memchr(s, '\n', len - *pos);
        const size_t k = nl ? (size_t)(nl - s) : len - *pos;
        *pos += k + 1;
        (*lineno)++;
        size_t blank = 0;
        while (blank < k && (s[blank] == ' ' || s[blank] == '\t' || s[blank] == '\r')) blank++;
        if (blank == k) continue;
        *line = s, *n = k;
        return 1;
    }
    return 0;
}
