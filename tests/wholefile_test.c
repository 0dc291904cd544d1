/*
 * wholefile_test.c - a file written whole or not at all (node/wholefile.h):
 * a new target, mode 0600; an existing one replaced by a new file (the old
 * one, still open, keeps its bytes); a symbolic link at the target
 * replaced, not followed; the folder synced after the rename (w.dir_synced);
 * abort and failure leave the target as it was and no temporary file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/err.h"
#include "node/wholefile.h"

typedef struct dirs {
    char dir[64];
    char path[128]; /* dir/out */
    char other[128]; /* dir/other */
} dirs;

static int setup(void **state) {
    dirs *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return -1;
    snprintf(d->dir, sizeof(d->dir), "/tmp/wholefile_test.XXXXXX");
    if (mkdtemp(d->dir) == NULL)
        return -1;
    snprintf(d->path, sizeof(d->path), "%s/out", d->dir);
    snprintf(d->other, sizeof(d->other), "%s/other", d->dir);
    *state = d;
    return 0;
}

static int teardown(void **state) {
    dirs *d = *state;
    unlink(d->path);
    unlink(d->other);
    rmdir(d->dir);
    free(d);
    return 0;
}

/* The folder's entries other than . and .. */
static int entries(const char *dir) {
    DIR *dp = opendir(dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(dp);
    while ((e = readdir(dp)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(dp);
    return n;
}

static void assert_content(const char *path, const char *want) {
    char buf[256];
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_string_equal(buf, want);
}

static void test_new_and_replace(void **state) {
    dirs *d = *state;
    struct stat st, st2;
    mode_t old = umask(0);
    assert_int_equal(ent_wholefile_write(d->path, "first", 5), ENT_OK);
    umask(old);
    assert_int_equal(lstat(d->path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_content(d->path, "first");
    assert_int_equal(entries(d->dir), 1); /* no temporary file left */
    /* replaced atomically: a new file, the old one (still open) intact */
    int fd = open(d->path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(ent_wholefile_write(d->path, "second!", 7), ENT_OK);
    assert_int_equal(lstat(d->path, &st2), 0);
    assert_true(st2.st_ino != st.st_ino);
    assert_int_equal(st2.st_mode & 07777, 0600);
    char buf[8];
    assert_int_equal(pread(fd, buf, sizeof(buf), 0), 5);
    assert_memory_equal(buf, "first", 5);
    close(fd);
    assert_content(d->path, "second!");
    assert_int_equal(entries(d->dir), 1);
    /* empty */
    assert_int_equal(ent_wholefile_write(d->path, "", 0), ENT_OK);
    assert_content(d->path, "");
}

static void test_link_replaced(void **state) {
    dirs *d = *state;
    struct stat st;
    FILE *f = fopen(d->other, "w");
    assert_non_null(f);
    fputs("keep", f);
    fclose(f);
    unlink(d->path);
    assert_int_equal(symlink(d->other, d->path), 0);
    assert_int_equal(ent_wholefile_write(d->path, "mine", 4), ENT_OK);
    assert_int_equal(lstat(d->path, &st), 0);
    assert_true(S_ISREG(st.st_mode)); /* the link itself was replaced */
    assert_content(d->path, "mine");
    assert_content(d->other, "keep"); /* not followed */
    assert_int_equal(entries(d->dir), 2);
}

static void test_stream_dir_synced(void **state) {
    dirs *d = *state;
    ent_wholefile w;
    assert_int_equal(ent_wholefile_open(&w, d->path), ENT_OK);
    assert_false(w.dir_synced);
    fputs("streamed", w.f);
    assert_int_equal(entries(d->dir), 3); /* out, other, the temporary */
    assert_int_equal(ent_wholefile_commit(&w, d->path), ENT_OK);
    assert_true(w.dir_synced);
    assert_null(w.f);
    assert_null(w.tmp);
    ent_wholefile_abort(&w); /* after commit: nothing to do */
    assert_content(d->path, "streamed");
    assert_int_equal(entries(d->dir), 2);
}

static void test_abort_and_failure(void **state) {
    dirs *d = *state;
    ent_wholefile w;
    char bad[160];
    assert_int_equal(ent_wholefile_write(d->path, "before", 6), ENT_OK);
    assert_int_equal(ent_wholefile_open(&w, d->path), ENT_OK);
    fputs("never", w.f);
    ent_wholefile_abort(&w);
    assert_null(w.tmp);
    ent_wholefile_abort(&w); /* twice: nothing to do */
    assert_content(d->path, "before");
    assert_int_equal(entries(d->dir), 2);
    /* a folder that does not exist: an error, errno tells why */
    snprintf(bad, sizeof(bad), "%s/none/out", d->dir);
    assert_int_not_equal(ent_wholefile_write(bad, "x", 1), ENT_OK);
    assert_int_equal(errno, ENOENT);
    /* a folder at the target: the rename fails, nothing left behind */
    unlink(d->other);
    assert_int_equal(mkdir(d->other, 0700), 0);
    assert_int_not_equal(ent_wholefile_write(d->other, "x", 1), ENT_OK);
    assert_int_equal(rmdir(d->other), 0);
    assert_int_equal(entries(d->dir), 1);
    assert_content(d->path, "before");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_and_replace),
        cmocka_unit_test(test_link_replaced),
        cmocka_unit_test(test_stream_dir_synced),
        cmocka_unit_test(test_abort_and_failure),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
