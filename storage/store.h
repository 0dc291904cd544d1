/*
 * store.h - one LMDB environment per node home, with named tables.
 *
 * Only storage/ includes lmdb.h. A write is a function run inside one write
 * transaction by ent_store_write(): if LMDB reports the map full, the store
 * aborts, doubles the map size and runs the function again from the start, so
 * callers never see MDB_MAP_FULL and never half-commit. Key layouts of every
 * table are in spec/storage.md.
 */
#ifndef ENT_STORE_H
#define ENT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/log.h"

typedef struct ent_store ent_store;
typedef struct ent_txn ent_txn;

/* The named tables (LMDB sub-databases), created when the store is created. */
typedef enum ent_table {
    ENT_TBL_META = 0,   /* "meta": schema version, org name, settings */
    ENT_TBL_TEMPLATES,  /* "templates": type name -> template JSON */
    ENT_TBL_OBJECTS,    /* "objects": object id -> object record */
    ENT_TBL_OPS,        /* "ops": object id || author || seq -> op bytes */
    ENT_TBL_OP_IDS,     /* "op_ids": schema 2's op id -> ops key; empty
                           since schema 3 (storage/op_index.h) */
    ENT_TBL_FIELDS,     /* "fields": object id || field -> shared field state */
    ENT_TBL_PRIVATE,    /* "private": object id || field -> private value */
    ENT_TBL_MEMBERS,    /* "members": object id || org -> member record */
    ENT_TBL_KEYS,       /* "keys": object id || epoch -> epoch key */
    ENT_TBL_PEERS,      /* "peers": org -> peer record */
    ENT_TBL_INVITES,    /* "invites": invite id -> invite record */
    ENT_TBL_LOG,        /* "log": big-endian u64 index -> log entry */
    ENT_TBL_PENDING,    /* "pending": ops waiting for their causal parents */
    ENT_TBL_CONFIG,     /* "config": org configuration tables (regions...) */
    ENT_TBL_WRITES,     /* "writes": every shared-state write (object engine) */
    ENT_TBL_HEADS,      /* "heads": object id || op id -> hlc of a head op */
    ENT_TBL_EQUIV,      /* "equivocations": proofs of equivocating authors */
    ENT_TBL_LOG_META,   /* "log_meta": activity-log frontier, signed heads */
    ENT_TBL_WITNESSED,  /* "witnessed": partners' heads kept, head proofs */
    ENT_TBL_ACCESS,     /* "access": local users, tokens, rules */
    ENT_TBL_EVENTS,     /* "events": big-endian u64 id -> event (local) */
    ENT_TBL_WEBHOOKS,   /* "webhooks": webhook records, delivery logs (local) */
    ENT_TBL_PARTNERS,   /* "partners": org -> partnership record (consent) */
    ENT_TBL_ACCOUNTS,   /* "accounts": matching key -> account (private) */
    ENT_TBL_OVERLAP,    /* "overlap": sharing settings, run limits, results */
    ENT_TBL_CRM_IDS,    /* "crm_ids": source, type, external id -> object id (local) */
    ENT_TBL_CHUNKS,     /* "chunks": obj || chunk hash -> sealed chunk */
    ENT_TBL_SET_DIGESTS, /* "set_digests": per-partner reconciliation
                            fingerprints (spec/gossip.md §13) */
    ENT_TBL_OP_ORDER,   /* "op_order": arrival -> op id || ops key */
    ENT_TBL_OP_INDEX,   /* "op_index": op id prefix (or id) -> arrival */
    ENT_TBL_OP_RECENT,  /* "op_recent": the same, for the latest arrivals */
    ENT_TBL_OBJ_NUMS,   /* "obj_nums": object id -> local object number
                           (schema 5, spec/storage.md "Object numbers") */
    ENT_TBL_OBJ_LOCAL,  /* "obj_local": object id || tag || ... -> the
                           object's local rows: its audit directory row,
                           its CRM external ids (schema 6, local) */
    ENT_TBL__COUNT
} ent_table;

/* Current schema version written at create time and checked at open. */
#define ENT_STORE_SCHEMA 7

/* ent_store_open flags */
#define ENT_STORE_CREATE 0x1 /* create the environment if it does not exist */
#define ENT_STORE_RDONLY 0x2 /* open read-only (audit, inspection) */
/* with RDONLY only: no lock file (MDB_NOLOCK), for a copy that no process
 * writes (a backup being checked): nothing is written into dir, which may
 * be on read-only storage */
#define ENT_STORE_NOLOCK 0x4

/* ent_txn_put flags */
#define ENT_PUT_NOOVERWRITE 0x1 /* ENT_EEXIST if the key exists */
#define ENT_PUT_APPEND 0x2      /* key sorts after every existing key */

/*
 * Opens (or with ENT_STORE_CREATE creates) the LMDB environment in directory
 * dir, which must exist. Creates every table, writes or checks the schema
 * version and runs migrations from older versions. log is borrowed for the
 * life of the store and may be NULL.
 * @return ENT_OK, ENT_ENOENT (no database and no CREATE), ENT_EVERSION (newer
 *         schema than this binary), ENT_EPERM, ENT_ENOSPC, ENT_ESTORAGE.
 */
int ent_store_open(ent_store **out, const char *dir, unsigned flags,
                   const ent_log *log);

/* Closes the environment. Accepts NULL. No transaction may be open. */
void ent_store_close(ent_store *s);

/* Current map size in bytes (grows on demand). */
size_t ent_store_map_size(const ent_store *s);

/* How much of the LMDB map is in use (mdb_env_info, mdb_env_stat): the map
 * size, the bytes up to the last page written (pages on the free list
 * count as used: the map never shrinks), the page size and the reader
 * slots in use and in all. */
typedef struct ent_store_usage {
    uint64_t map_size;
    uint64_t used;
    uint64_t page_size;
    uint64_t readers, max_readers;
} ent_store_usage;

/* Fills *out. @return ENT_OK, ENT_ESTORAGE. */
int ent_store_usage_get(const ent_store *s, ent_store_usage *out);

/*
 * *out: the store's generation, LMDB's last committed transaction id. Every
 * committed write (of this process or another) raises it; a value read
 * before a read transaction began is at most that snapshot's.
 */
int ent_store_generation(ent_store *s, uint64_t *out);

/*
 * *out: the 4-KiB pages (LMDB's page size) the durable commits of this
 * handle have written since it was opened: the pages each commit
 * allocated, from the end of the file or from the free list (LMDB copies
 * every page it changes, so these are exactly the pages it writes besides
 * the meta page). Commits of other processes that fall between two of
 * ours are counted with ours. The kernel may write more than this (it
 * counts dirty memory by folios, which can be larger than a page).
 * Counted only after ent_store_count_pages(s) (benchmarks and tests: the
 * count reads LMDB's free list after every commit); 0 before.
 * @return ENT_OK, ENT_EINVAL.
 */
int ent_store_pages_written(ent_store *s, uint64_t *out);
void ent_store_count_pages(ent_store *s);

/*
 * *out: the reads the write transactions of this handle have made since it
 * was opened: each ent_txn_get, and each placement and step of a scan's or
 * an iterator's cursor (a scan of n entries counts n + 1). Reads of read
 * transactions are not counted. For tests that bound what one commit reads
 * (spec/workflows.md §6), without timing it.
 * @return ENT_OK, ENT_EINVAL.
 */
int ent_store_write_reads(const ent_store *s, uint64_t *out);

/*
 * Runs fn(txn, data) in one write transaction and commits it if fn returns
 * ENT_OK; aborts it otherwise and returns fn's error. On a full map, grows the
 * map and calls fn again from the start: fn must not have side effects
 * outside the transaction that it cannot repeat.
 */
int ent_store_write(ent_store *s, int (*fn)(ent_txn *txn, void *data),
                    void *data);

/*
 * Commit marks: a write function tags its transaction with bits
 * (ent_txn_mark); after that transaction commits, the store calls the hook
 * set with ent_store_set_commit_hook once with the union of the bits. An
 * aborted or rerun attempt forgets its marks. The hook runs synchronously
 * at the end of ent_store_write, outside the transaction; it must not
 * write to the store (a nested write is refused anyway) and should only
 * schedule work. Marks on a read transaction are ignored.
 */
#define ENT_TXN_MARK_EVENTS 0x1u /* node/events/event.h appended events */
#define ENT_TXN_MARK_SCRUB 0x2u  /* values were erased: after the commit,
                                    the store zeroes every free page that
                                    no reader sees (spec/storage.md
                                    "Erasure and free pages") */
void ent_txn_mark(ent_txn *txn, unsigned bits);
void ent_store_set_commit_hook(ent_store *s,
                               void (*hook)(void *data, unsigned marks),
                               void *data);

/*
 * Group commit (spec/storage.md "Group commit"). Between ent_store_group_enter
 * and ent_store_group_leave, each ent_store_write runs in a nested
 * transaction of one group transaction: a write that fails vanishes alone,
 * a write that succeeds joins the group, and nothing reaches the disk until
 * ent_store_group_commit commits the group in one durable commit. Reads made
 * in that window (not inside a write) see the group's writes; reads outside
 * it, and reads inside a write, see the last commit. A write outside the
 * window commits the open group first (LMDB has one writer). Commit marks
 * of the group's writes reach the hook when the group commits. A group
 * holds at most ENT_STORE_GROUP_MAX writes; the next one commits it first.
 *
 * Nothing that says "done" may leave the process for a write of the group
 * (an answer, an op pushed to a partner) before ent_store_group_commit
 * returned ENT_OK. It returns the error of the group's commit, or of an
 * earlier commit of a group forced by an outside write since the last call
 * (either way the held answers must report failure), ENT_OK otherwise
 * (also when there was nothing to commit).
 */
#define ENT_STORE_GROUP_MAX 1024
void ent_store_group_enter(ent_store *s);
void ent_store_group_leave(ent_store *s);
/* true between ent_store_group_enter and ent_store_group_leave */
bool ent_store_group_active(const ent_store *s);
int ent_store_group_commit(ent_store *s);

/*
 * Runs fn(txn, data) in a read-only transaction of its own on the calling
 * thread, while write transaction w is open on another thread (its
 * ent_store_write's fn waits for this call to return before it returns).
 * The reader sees exactly what w saw when it began, none of w's writes:
 * no other write can commit while w is open. ENT_EBUSY (fn not run) when
 * w is part of a group (spec/storage.md "Group commit": the group's
 * earlier writes would be missing) or the map was grown by another
 * process (adopting it needs no transaction open). Nothing else of the
 * store may be used by that thread meanwhile (spec/storage.md
 * "Transactions").
 */
int ent_store_read_beside(ent_txn *w, int (*fn)(ent_txn *txn, void *data),
                          void *data);

/* Runs fn(txn, data) in a read-only transaction. */
int ent_store_read(ent_store *s, int (*fn)(ent_txn *txn, void *data),
                   void *data);

/*
 * Reads key from table. *val points into the map and is valid until the
 * transaction ends. @return ENT_OK or ENT_ENOENT.
 */
int ent_txn_get(ent_txn *txn, ent_table t, const void *key, size_t klen,
                const void **val, size_t *vlen);

/* Writes key -> val (flags ENT_PUT_*). @return ENT_OK, ENT_EEXIST, ... */
int ent_txn_put(ent_txn *txn, ent_table t, const void *key, size_t klen,
                const void *val, size_t vlen, unsigned flags);

/* Deletes key. @return ENT_OK or ENT_ENOENT. */
int ent_txn_del(ent_txn *txn, ent_table t, const void *key, size_t klen);

/* Overwrites key's value with as many zero bytes (an erasure: the old
 * bytes leave their page before the row is deleted or changed).
 * @return ENT_OK, ENT_ENOENT, or a put's error. */
int ent_txn_wipe(ent_txn *txn, ent_table t, const void *key, size_t klen);

/*
 * Calls fn for each entry whose key starts with prefix (all entries when
 * plen is 0), in key order. Pointers are valid until the transaction ends.
 * fn returns 0 to go on, > 0 to stop (scan returns ENT_OK), < 0 to stop and
 * have scan return that error.
 */
int ent_txn_scan(ent_txn *txn, ent_table t, const void *prefix, size_t plen,
                 int (*fn)(void *data, const void *key, size_t klen,
                           const void *val, size_t vlen),
                 void *data);

/*
 * Calls fn for each entry whose key sorts at or after start (klen > 0), in
 * key order, to the end of the table (fn stops it as for ent_txn_scan).
 */
int ent_txn_scan_from(ent_txn *txn, ent_table t, const void *start,
                      size_t slen,
                      int (*fn)(void *data, const void *key, size_t klen,
                                const void *val, size_t vlen),
                      void *data);

/*
 * Calls fn for every entry of table t in the order the store keeps them:
 * key order, but a numbered table (spec/storage.md "Object numbers") gives
 * its objects in the order of their local numbers (each object's rows in
 * key order). For a reader that wants every row and not their order (a
 * scan across the objects of a numbered table in key order seeks once per
 * object); fn stops it as for ent_txn_scan.
 */
int ent_txn_scan_stored(ent_txn *txn, ent_table t,
                        int (*fn)(void *data, const void *key, size_t klen,
                                  const void *val, size_t vlen),
                        void *data);

/* Calls fn for each entry in reverse key order, starting at the last. */
int ent_txn_scan_reverse(ent_txn *txn, ent_table t, const void *prefix,
                         size_t plen,
                         int (*fn)(void *data, const void *key, size_t klen,
                                   const void *val, size_t vlen),
                         void *data);

/*
 * The greatest key of table t: its bytes in key (cap bytes), their count in
 * *klen; the key ent_txn_scan_reverse hands its function first. A
 * transaction remembers the last key of an unnumbered table that it
 * appended to (ENT_PUT_APPEND) or asked about here, until it writes that
 * table otherwise or ends, so that a transaction appending many rows (the
 * events table) asks LMDB once. key is the caller's.
 * @return ENT_OK, ENT_ENOENT (t is empty), ENT_ETOOBIG (the key is longer
 *         than cap), ENT_EINVAL, storage errors.
 */
int ent_txn_last_key(ent_txn *txn, ent_table t, void *key, size_t cap,
                     size_t *klen);

/*
 * A forward cursor over one table, for walking several tables side by side
 * (a merge by key); ent_txn_scan is simpler where one table is read alone.
 */
typedef struct ent_iter ent_iter;

/*
 * Opens a cursor over table t, placed before its first entry. The caller
 * frees it with ent_iter_free() before txn ends (commit or abort).
 * @param[out] out  the cursor; NULL on error
 * @return ENT_OK, ENT_EINVAL, ENT_ENOMEM, storage errors.
 */
int ent_txn_iter(ent_txn *txn, ent_table t, ent_iter **out);

/*
 * Moves it to the next entry, in key order, and hands out its key and
 * value: both are valid until the transaction ends or writes.
 * @return ENT_OK, ENT_ENOENT after the last entry (and on every call after
 * it or after an error), storage errors.
 */
int ent_iter_next(ent_iter *it, const void **key, size_t *klen,
                  const void **val, size_t *vlen);

/* Closes it. Accepts NULL. */
void ent_iter_free(ent_iter *it);

/*
 * Writes a compacted copy of the store (LMDB's mdb_env_copy2 with
 * MDB_CP_COMPACT: free pages left out) as dir/data.mdb; dir must exist and
 * hold no data.mdb. Consistent: the copy is one read transaction's view,
 * taken while writers go on. @return ENT_OK, ENT_EEXIST, ENT_EIO, ...
 */
int ent_store_copy(ent_store *s, const char *dir);

/*
 * Deletes every entry of table t (the table stays; its pages go to the
 * free list). @return ENT_OK, ENT_EPERM (read transaction), ...
 */
int ent_txn_clear(ent_txn *txn, ent_table t);

/* Number of entries in table t. */
int ent_txn_count(ent_txn *txn, ent_table t, uint64_t *out);

/*
 * Test hook: when set, the n-th write or commit call from now fails with
 * ENT_EIO (fault injection, issue "hardening"). 0 disables.
 */
void ent_store_fail_after(ent_store *s, uint64_t n);

/* ---- appended: options, migrations, limits ---- */

/*
 * One schema migration step: fn upgrades a store at schema version `from` to
 * version from + 1. It runs inside the open's single write transaction (with
 * every table open); the store writes the new version itself. data is
 * ent_store_opts.migration_data. Returning an error aborts the open and leaves
 * the database untouched.
 */
typedef struct ent_store_migration {
    uint32_t from;
    int (*fn)(ent_txn *txn, void *data);
} ent_store_migration;

/* Options of ent_store_open_ex. A zeroed struct means the defaults. */
typedef struct ent_store_opts {
    /* initial map size in bytes; 0: $ENTENTE_MAP_SIZE (bytes, optional k/m/g
     * suffix) if set, else ENT_STORE_MAP_SIZE. An existing environment keeps
     * its recorded size when that is larger. */
    size_t map_size;
    /* schema version this code expects; 0: ENT_STORE_SCHEMA (tests only) */
    uint32_t schema;
    /* migration table; NULL: the built-in table of storage/store.c
     * (tests only). Borrowed for the duration of the open call. */
    const ent_store_migration *migrations;
    size_t n_migrations;
    void *migration_data;
} ent_store_opts;

/* The data migration steps of storage/migrate.c, in the built-in table of
 * storage/store.c (internal; tests call them directly). Schema 1 -> 2: a
 * template's field "stage" names no configuration table. */
int ent__store_migrate_1_2(ent_txn *txn, void *data);
/* Schema 2 -> 3: the rows of "op_ids" move to "op_order" and "op_index"
 * (storage/op_index.h); "op_ids" is left empty. */
int ent__store_migrate_2_3(ent_txn *txn, void *data);
/* Schema 3 -> 4: nothing to change (an object's plain-field writes may be
 * pruned from then on, spec/storage.md "Pruned field writes"). */
int ent__store_migrate_3_4(ent_txn *txn, void *data);
/* Schema 4 -> 5 (storage/store_keys.c): the rows of the tables numbered
 * from 5 are stored again under their object's local number
 * (spec/storage.md "Object numbers"). */
int ent__store_migrate_4_5(ent_txn *txn, void *data);
/* Schema 5 -> 6: the "o" rows of "log_meta" and the 0x01 rows of
 * "crm_ids" move to the numbered table "obj_local" (spec/storage.md). */
int ent__store_migrate_5_6(ent_txn *txn, void *data);
/* Schema 6 -> 7 (storage/store_keys.c): the rows of "objects" are stored
 * under their object's local number too. */
int ent__store_migrate_6_7(ent_txn *txn, void *data);

/* Default initial map size: 64 MiB. */
#define ENT_STORE_MAP_SIZE ((size_t)64 << 20)

/* ent_store_open with options (opts may be NULL: same as ent_store_open). */
int ent_store_open_ex(ent_store **out, const char *dir, unsigned flags,
                      const ent_log *log, const ent_store_opts *opts);

/* Longest key a table accepts (LMDB's mdb_env_get_maxkeysize, 511). Longer
 * keys give ENT_ETOOBIG. */
size_t ent_store_max_key(const ent_store *s);

/* Reads the schema version recorded in the store. */
int ent_store_schema(ent_store *s, uint32_t *out);

#endif
