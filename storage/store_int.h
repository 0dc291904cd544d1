/*
 * store_int.h - the internals of the store (storage/store.c and
 * storage/store_keys.c): the handle and transaction structs, and the
 * helpers both files use. Nothing outside storage/ includes it.
 */
#ifndef ENT_STORE_INT_H
#define ENT_STORE_INT_H

#include "storage/store.h"

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "node/err.h"
#include "node/log.h"

struct ent_store {
    MDB_env *env;
    MDB_dbi dbi[ENT_TBL__COUNT];
    /* read-only open of a store made before table t existed: reads of t
     * find nothing (a read-write open creates it) */
    bool absent[ENT_TBL__COUNT];
    const ent_log *log;
    size_t map_size;
    size_t max_key;
    bool rdonly;
    bool writing;     /* inside ent_store_write: a nested call is refused */
    unsigned readers; /* open read transactions (map growth needs none) */
    uint64_t fail_in; /* fault injection countdown; 0: off */
    void (*commit_hook)(void *data, unsigned marks);
    void *commit_data;
    /* group commit (spec/storage.md "Group commit") */
    MDB_txn *group;        /* the open group transaction; NULL: none */
    bool group_mode;       /* writes join the group (ent_store_group_enter) */
    unsigned group_marks;  /* union of the marks of the group's writes */
    size_t group_n;        /* writes in the open group */
    size_t group_pages;    /* pages its puts may have taken (overestimate) */
    int group_err;         /* a group committed early failed: this error */
    char *dir; /* the environment's folder (reopen_env) */
    /* pages written by commits (ent_store_pages_written): the file's last
     * page and the free pages after the last commit counted */
    uint64_t pages_written;
    uint64_t pw_txnid, pw_last_pg, pw_free;
    bool count_pages; /* ent_store_count_pages was called */
    /* reads of write transactions (ent_store_write_reads); one writer at a
     * time, so a plain counter */
    uint64_t write_reads;
    /* the schema whose layout the tables are read in: table t holds its
     * rows under the object's local number from schema
     * ent__numbered_since[t] on (spec/storage.md "Object numbers") */
    uint32_t layout;
};

/* The object numbers a transaction looked up or gave, most recent first
 * in a ring (one object's rows are read and written together). */
#define NUM_CACHE 8
#define OBJ_LEN 32
#define NUM_LEN 8
/* The longest last key a transaction remembers (ent_txn_last_key). */
#define LAST_KEY_MAX 16

struct ent_txn {
    ent_store *s;
    MDB_txn *txn;
    bool write;
    bool map_full; /* a put or commit hit MDB_MAP_FULL: grow and rerun */
    int poison;    /* first fatal error; the transaction will not commit */
    unsigned marks; /* ent_txn_mark bits, reported after a commit */
    /* object id -> number, of this transaction only (a transaction that
     * aborts takes the numbers it gave with it, and its cache) */
    struct {
        uint8_t id[OBJ_LEN];
        uint8_t num[NUM_LEN];
    } nc[NUM_CACHE];
    unsigned nc_n, nc_next;
    /* the greatest key of each unnumbered table, as this transaction last
     * appended it (ENT_PUT_APPEND) or found it (ent_txn_last_key); length
     * 0: not known. Gone with the transaction, like the numbers above. */
    uint8_t lk_len[ENT_TBL__COUNT];
    uint8_t lk[ENT_TBL__COUNT][LAST_KEY_MAX];
};

/* The longest stored key of a numbered table, with room to spare. */
#define PHYS_MAX (NUM_LEN + 512)

/* LMDB sub-database names, in ent_table order (spec/storage.md). */
extern const char *const ent__table_names[ENT_TBL__COUNT];
/* The tables stored under object numbers (spec/storage.md "Object
 * numbers"). */
extern const uint32_t ent__numbered_since[ENT_TBL__COUNT];

/* Translates an LMDB (or errno) code into an ent_err and logs it. */
int ent__store_xlate(const ent_store *s, int rc, const char *what);
/* Records a fatal error on txn so that it can never commit; returns err. */
int ent__store_poison(ent_txn *txn, int err);

/* Counts one read of a write transaction (ent_store_write_reads). */
static inline void count_read(ent_txn *txn) {
    if (txn->write)
        txn->s->write_reads++;
}

static inline int check_table(const ent_txn *txn, ent_table t) {
    if (txn == NULL || (int)t < 0 || t >= ENT_TBL__COUNT)
        return ENT_EINVAL;
    return ENT_OK;
}

/* True when table t of txn's store is numbered (spec/storage.md "Object
 * numbers"): its stored keys are number (8) || object id (32) || rest. */
static inline bool numbered(const ent_txn *txn, ent_table t) {
    return ent__numbered_since[t] != 0 &&
           txn->s->layout >= ent__numbered_since[t];
}

static inline int check_key(const ent_txn *txn, ent_table t, size_t klen) {
    if (klen == 0)
        return ENT_EINVAL;
    if (numbered(txn, t)) {
        if (klen < OBJ_LEN)
            return ENT_EINVAL; /* its keys start with an object id */
        if (klen + NUM_LEN > txn->s->max_key)
            return ENT_ETOOBIG;
    }
    if (klen > txn->s->max_key)
        return ENT_ETOOBIG;
    return ENT_OK;
}

/* A write of table t other than an append: the last key known of t, if
 * any, may no longer be the last. */
static inline void last_key_forget(ent_txn *txn, ent_table t) {
    txn->lk_len[t] = 0;
}

/* key is now the last key of unnumbered table t. */
static inline void last_key_remember(ent_txn *txn, ent_table t,
                                     const void *key, size_t klen) {
    txn->lk_len[t] = 0;
    if (klen <= LAST_KEY_MAX) {
        memcpy(txn->lk[t], key, klen);
        txn->lk_len[t] = (uint8_t)klen;
    }
}

/* Object numbers (storage/store_keys.c): the number of obj (ENT_ENOENT:
 * none yet); the number, given now when it has none; after a delete from
 * table t, the number taken away when obj has no numbered row left. */
int ent__num_get(ent_txn *txn, const uint8_t *obj, uint8_t num[NUM_LEN]);
int ent__num_make(ent_txn *txn, const uint8_t *obj, uint8_t num[NUM_LEN]);
int ent__num_release(ent_txn *txn, ent_table t, const uint8_t *obj,
                     const uint8_t *num);

/* The stored key of key in a numbered table: num || key, in buf. */
static inline MDB_val phys_key(uint8_t *buf, const uint8_t *num,
                               const void *key, size_t klen) {
    memcpy(buf, num, NUM_LEN);
    memcpy(buf + NUM_LEN, key, klen);
    return (MDB_val){NUM_LEN + klen, buf};
}

#endif
