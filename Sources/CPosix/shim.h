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
