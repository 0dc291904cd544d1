/*
 * store_fixture.h - temporary folders and stores for the tests (and the
 * benchmarks) that need a real LMDB store but no node: tmp_dir() makes a
 * fresh folder, under /dev/shm when it can be written (thousands of
 * commits, no fsync cost) and /tmp otherwise, tmp_dir_at() one under a
 * base of the caller's (tmp_base(): $TMPDIR or /tmp); tmp_store() makes one and
 * opens a store of 8 MiB in it; rm_tree() removes a folder and all it
 * holds; tstore_scan() scans a table in one read transaction, tstore_get()
 * reads one value. It asserts
 * nothing: helpers return what went wrong, so benchmarks and fuzz targets
 * can use it too. Header-only (static functions).
 */
#ifndef ENT_TEST_STORE_FIXTURE_H
#define ENT_TEST_STORE_FIXTURE_H

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/err.h"
#include "storage/store.h"

/* $TMPDIR when it is set and short (under 30 bytes), else /tmp. */
static inline const char *tmp_base(void) {
    const char *tmp = getenv("TMPDIR");
    return tmp != NULL && strlen(tmp) < 30 ? tmp : "/tmp";
}

/* Makes dir (size bytes) into the fresh folder BASE/ent_TAG_XXXXXX.
 * @return 0, or -1 (dir is then ""). */
static inline int tmp_dir_at(char *dir, size_t size, const char *base,
                             const char *tag) {
    int n = snprintf(dir, size, "%s/ent_%s_XXXXXX", base, tag);
    if (n < 0 || (size_t)n >= size || mkdtemp(dir) == NULL) {
        dir[0] = 0;
        return -1;
    }
    return 0;
}

/* tmp_dir_at() under /dev/shm when it can be written, else /tmp. */
static inline int tmp_dir(char *dir, size_t size, const char *tag) {
    return tmp_dir_at(dir, size,
                      access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", tag);
}

/* tmp_dir(), then a store of 8 MiB created in it (*s, to close with
 * ent_store_close), logging to log (may be NULL; borrowed for the store's
 * life). @return ENT_OK, ENT_EIO (no folder) or the store's error. */
static inline int tmp_store(ent_store **s, char *dir, size_t size,
                            const char *tag, const ent_log *log) {
    ent_store_opts o = {.map_size = (size_t)8 << 20};
    *s = NULL;
    if (tmp_dir(dir, size, tag) != 0)
        return ENT_EIO;
    return ent_store_open_ex(s, dir, ENT_STORE_CREATE, log, &o);
}

static int rm_tree_entry(const char *p, const struct stat *sb, int flag,
                         struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

/* Removes path and everything below it (nothing when path is ""). */
static inline void rm_tree(const char *path) {
    if (path[0])
        nftw(path, rm_tree_entry, 16, FTW_DEPTH | FTW_PHYS);
}

typedef int (*tscan_fn)(void *data, const void *key, size_t klen,
                        const void *val, size_t vlen);

typedef struct tscan_req {
    ent_table t;
    const void *pre;
    size_t plen;
    tscan_fn fn;
    void *data;
    bool reverse;
} tscan_req;

static int tscan_txn(ent_txn *txn, void *data) {
    tscan_req *r = data;
    if (r->reverse)
        return ent_txn_scan_reverse(txn, r->t, r->pre, r->plen, r->fn, r->data);
    return ent_txn_scan(txn, r->t, r->pre, r->plen, r->fn, r->data);
}

/* ent_txn_scan() of table t under the prefix pre (plen bytes; NULL: all)
 * in a read transaction of s. @return as ent_txn_scan(). */
static inline int tstore_scan(ent_store *s, ent_table t, const void *pre,
                              size_t plen, tscan_fn fn, void *data) {
    tscan_req r = {t, pre, plen, fn, data, false};
    return ent_store_read(s, tscan_txn, &r);
}

typedef struct tget_req {
    ent_table t;
    const void *k;
    size_t klen;
    void *out;
    size_t cap, len;
} tget_req;

static int tget_txn(ent_txn *txn, void *data) {
    tget_req *r = data;
    const void *v;
    int rc = ent_txn_get(txn, r->t, r->k, r->klen, &v, &r->len);
    if (rc == ENT_OK)
        memcpy(r->out, v, r->len < r->cap ? r->len : r->cap);
    return rc;
}

/* ent_txn_get() of key k (klen bytes) of table t in a read transaction of
 * s: the value's first cap bytes copied to out. @return as ent_txn_get(). */
static inline int tstore_get(ent_store *s, ent_table t, const void *k,
                             size_t klen, void *out, size_t cap) {
    tget_req r = {t, k, klen, out, cap, 0};
    return ent_store_read(s, tget_txn, &r);
}

/* tstore_scan() from the last entry backwards. */
static inline int tstore_scan_reverse(ent_store *s, ent_table t,
                                      const void *pre, size_t plen,
                                      tscan_fn fn, void *data) {
    tscan_req r = {t, pre, plen, fn, data, true};
    return ent_store_read(s, tscan_txn, &r);
}

#endif
