/*
 * full_disk.c - a full disk for one file, for tests/test_full_disk.py:
 * LD_PRELOAD=build/tests/libfull_disk.so SOFTENT_FULL_DISK=NAME makes
 * fsync() of any file whose name starts with NAME (the temporary files an
 * atomic writer makes beside NAME: NAME.tmp.PID.N) fail with ENOSPC, as a
 * filesystem out of space reports delayed allocation.  Every other call
 * goes to the C library.  It injects the fault from outside softent, so a
 * writer that skips fsync (writes in place, not atomically) shows up as a
 * write that did not fail.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fsync(int fd)
{
    static int (*real_fsync)(int);
    if (!real_fsync) real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    const char *name = getenv("SOFTENT_FULL_DISK");
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    const ssize_t n = name && *name ? readlink(link, path, sizeof path - 1) : -1;
    if (n > 0) {
        path[n] = 0;
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        if (!strncmp(base, name, strlen(name))) {
            errno = ENOSPC;
            return -1;
        }
    }
    return real_fsync(fd);
}
