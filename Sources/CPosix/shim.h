/* The Linux/glibc names that Swift's Glibc module does not import because
 * they need _GNU_SOURCE (or a header it leaves out), under their own names
 * with a `cposix_` prefix, so no Swift file hard-codes a number or reaches
 * a symbol through @_silgen_name. Only constants and one-line wrappers. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <unistd.h>
#include <errno.h>
#include <sys/syscall.h>
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#endif

static const int cposix_O_TMPFILE = O_TMPFILE;
static const int cposix_O_PATH = O_PATH;
static const int cposix_SEEK_DATA = SEEK_DATA;
static const int cposix_AT_EMPTY_PATH = AT_EMPTY_PATH;
static const unsigned cposix_RENAME_NOREPLACE = RENAME_NOREPLACE;

static inline int cposix_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned flags) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
}

static inline int cposix_malloc_trim(size_t pad) {
    return malloc_trim(pad);
}

static const int cposix_M_MMAP_THRESHOLD = M_MMAP_THRESHOLD;
static const int cposix_M_TRIM_THRESHOLD = M_TRIM_THRESHOLD;

static inline int cposix_mallopt(int param, int value) {
    return mallopt(param, value);
}

/* openat2(2) with RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH (glibc has no
 * wrapper); -1 with ENOSYS where the headers or the kernel lack it. */
static inline int cposix_openat_beneath(int dirfd, const char *path, int flags, unsigned mode) {
#if defined(SYS_openat2) && defined(RESOLVE_NO_SYMLINKS)
    struct open_how how = {0};
    how.flags = (unsigned long long)flags;
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
#else
    (void)dirfd; (void)path; (void)flags; (void)mode;
    errno = ENOSYS;
    return -1;
#endif
}
