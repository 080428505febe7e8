/* What batch-runner asks of stat(2), without `struct stat` or the S_* macros in Swift: which Clang module owns
 * them varies with import order on Linux (Glibc, CoreFoundation, CDispatch), and Swift's member-import
 * visibility then rejects them in some builds and not others. */
#include <sys/stat.h>

/* File kinds: 0 when the path or descriptor cannot be examined (missing). */
enum { BATCH_RUNNER_MISSING = 0, BATCH_RUNNER_REGULAR = 1, BATCH_RUNNER_DIRECTORY = 2, BATCH_RUNNER_LINK = 3, BATCH_RUNNER_OTHER = 4 };

static inline int batch_runner_kind(int found, const struct stat *status) {
    if (!found) return BATCH_RUNNER_MISSING;
    switch (status->st_mode & S_IFMT) {
    case S_IFREG: return BATCH_RUNNER_REGULAR;
    case S_IFDIR: return BATCH_RUNNER_DIRECTORY;
    case S_IFLNK: return BATCH_RUNNER_LINK;
    default: return BATCH_RUNNER_OTHER;
    }
}

/* The kind of `path` itself, a symbolic link at its end not followed. */
static inline int batch_runner_link_kind(const char *path) {
    struct stat status;
    return batch_runner_kind(lstat(path, &status) == 0, &status);
}

/* The kind of what `path` leads to. */
static inline int batch_runner_path_kind(const char *path) {
    struct stat status;
    return batch_runner_kind(stat(path, &status) == 0, &status);
}

/* The kind of an open descriptor. */
static inline int batch_runner_descriptor_kind(int descriptor) {
    struct stat status;
    return batch_runner_kind(fstat(descriptor, &status) == 0, &status);
}

/* The size of an open descriptor's file, or -1. */
static inline long long batch_runner_descriptor_size(int descriptor) {
    struct stat status;
    return fstat(descriptor, &status) == 0 ? (long long)status.st_size : -1;
}

/* Whether users other than the owner may write what `path` leads to. */
static inline int batch_runner_writable_by_others(const char *path) {
    struct stat status;
    return stat(path, &status) == 0 && (status.st_mode & (S_IWGRP | S_IWOTH)) != 0;
}
