/*
 * store.c - the LMDB environment of a node: tables, schema, write
 * transactions with map growth, scans, fault injection. See store.h and
 * spec/storage.md.
 *
 * A store is used from one thread (the node's loop thread): the nesting guard
 * and the reader count below are plain fields. MDB_NOTLS keeps read
 * transactions from being tied to threads so a read may run inside a write.
 */
#include "storage/store_int.h"

#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "node/err.h"

/* Extra sub-database slots beyond our tables, for future schema versions. */
#define STORE_SPARE_DBS 8
/* How many times one ent_store_write may grow the map before giving up. */
#define STORE_MAX_GROW 12
/* Smallest map we accept (LMDB needs a handful of pages). */
#define STORE_MIN_MAP ((size_t)64 << 10)

/* LMDB sub-database names, in ent_table order (spec/storage.md). */
const char *const ent__table_names[ENT_TBL__COUNT] = {
    [ENT_TBL_META] = "meta",           [ENT_TBL_TEMPLATES] = "templates",
    [ENT_TBL_OBJECTS] = "objects",     [ENT_TBL_OPS] = "ops",
    [ENT_TBL_OP_IDS] = "op_ids",       [ENT_TBL_FIELDS] = "fields",
    [ENT_TBL_PRIVATE] = "private",     [ENT_TBL_MEMBERS] = "members",
    [ENT_TBL_KEYS] = "keys",           [ENT_TBL_PEERS] = "peers",
    [ENT_TBL_INVITES] = "invites",     [ENT_TBL_LOG] = "log",
    [ENT_TBL_PENDING] = "pending",     [ENT_TBL_CONFIG] = "config",
    [ENT_TBL_WRITES] = "writes",       [ENT_TBL_HEADS] = "heads",
    [ENT_TBL_EQUIV] = "equivocations", [ENT_TBL_LOG_META] = "log_meta",
    [ENT_TBL_WITNESSED] = "witnessed", [ENT_TBL_ACCESS] = "access",
    [ENT_TBL_EVENTS] = "events", [ENT_TBL_WEBHOOKS] = "webhooks",
    [ENT_TBL_PARTNERS] = "partners", [ENT_TBL_ACCOUNTS] = "accounts",
    [ENT_TBL_OVERLAP] = "overlap",
    [ENT_TBL_CRM_IDS] = "crm_ids",
    [ENT_TBL_CHUNKS] = "chunks",
    [ENT_TBL_SET_DIGESTS] = "set_digests",
    [ENT_TBL_OP_ORDER] = "op_order",
    [ENT_TBL_OP_INDEX] = "op_index",
    [ENT_TBL_OP_RECENT] = "op_recent",
    [ENT_TBL_OBJ_NUMS] = "obj_nums",
    [ENT_TBL_OBJ_LOCAL] = "obj_local",
};

/* The tables whose keys start with an object id and that are stored under
 * the object's local number, and the schema from which each is
 * (spec/storage.md "Object numbers"); 0: never. */
const uint32_t ent__numbered_since[ENT_TBL__COUNT] = {
    [ENT_TBL_OPS] = 5,     [ENT_TBL_FIELDS] = 5, [ENT_TBL_PRIVATE] = 5,
    [ENT_TBL_MEMBERS] = 5, [ENT_TBL_KEYS] = 5,   [ENT_TBL_WRITES] = 5,
    [ENT_TBL_HEADS] = 5,   [ENT_TBL_OBJ_LOCAL] = 5, [ENT_TBL_OBJECTS] = 7,
};


/*
 * The built-in migrations: {from, fn} upgrades version from to from + 1
 * (storage/migrate.c).
 */
static const ent_store_migration builtin_migrations[] = {
    {1, ent__store_migrate_1_2},
    {2, ent__store_migrate_2_3},
    {3, ent__store_migrate_3_4},
    {4, ent__store_migrate_4_5},
    {5, ent__store_migrate_5_6},
    {6, ent__store_migrate_6_7},
};

static const char schema_key[] = "schema";

/* ---- error translation ---- */

/*
 * Translates an LMDB (or errno) code into an ent_err and logs the original.
 * Expected outcomes (not found, key exists, map full) are logged at DEBUG.
 */
/*
 * LMDB reports a short write of its pages as EIO, which is what a file
 * system that runs out of space mid-write produces. When the environment's
 * file system has (almost) no space left, say so: the user can act on "no
 * space left on device", not on "input/output error".
 */
static bool disk_nearly_full(const ent_store *s) {
    const char *path = NULL;
    struct statvfs st;
    if (s == NULL || s->env == NULL || mdb_env_get_path(s->env, &path) != 0 ||
        path == NULL || statvfs(path, &st) != 0)
        return false;
    return (uint64_t)st.f_bavail * st.f_frsize < ((uint64_t)1 << 20);
}

int ent__store_xlate(const ent_store *s, int rc, const char *what) {
    int err;
    ent_log_level lvl = ENT_LOG_ERROR;
    switch (rc) {
    case MDB_SUCCESS:
        return ENT_OK;
    case MDB_NOTFOUND:
        err = ENT_ENOENT;
        lvl = ENT_LOG_DEBUG;
        break;
    case MDB_KEYEXIST:
        err = ENT_EEXIST;
        lvl = ENT_LOG_DEBUG;
        break;
    case MDB_MAP_FULL:
        err = ENT_EMAPFULL;
        lvl = ENT_LOG_DEBUG;
        break;
    case ENOSPC:
    case EDQUOT:
        err = ENT_ENOSPC;
        break;
    case EACCES:
    case EPERM:
    case EROFS:
        err = ENT_EPERM;
        break;
    case ENOENT:
        err = ENT_ENOENT;
        break;
    case ENOMEM:
        err = ENT_ENOMEM;
        break;
    case EIO:
        err = disk_nearly_full(s) ? ENT_ENOSPC : ENT_EIO;
        break;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
        err = ENT_ECORRUPT;
        break;
    case MDB_VERSION_MISMATCH:
        err = ENT_EVERSION;
        break;
    default:
        err = ENT_ESTORAGE;
        break;
    }
    ent_log_write(s != NULL ? s->log : NULL, lvl, "storage: %s: %s (%d)", what,
                  mdb_strerror(rc), rc);
    return err;
}

/* Counts one put/del/commit against the fault injection hook. */
static bool fault_fires(ent_store *s, const char *what) {
    if (s->fail_in == 0)
        return false;
    if (--s->fail_in != 0)
        return false;
    ENT_WARN(s->log, "storage: %s: injected fault", what);
    return true;
}

/* Records a fatal error on txn so that it can never commit. */
int ent__store_poison(ent_txn *txn, int err) {
    if (err == ENT_EMAPFULL)
        txn->map_full = true;
    if (txn->poison == ENT_OK)
        txn->poison = err;
    return err;
}

static void be32_put(uint8_t b[4], uint32_t v) {
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

static uint32_t be32_get(const uint8_t b[4]) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
           (uint32_t)b[3];
}

int ent_store_generation(ent_store *s, uint64_t *out) {
    if (s == NULL || out == NULL)
        return ENT_EINVAL;
    MDB_envinfo info;
    int rc = mdb_env_info(s->env, &info);
    if (rc != MDB_SUCCESS)
        return ent__store_xlate(s, rc, "mdb_env_info");
    *out = (uint64_t)info.me_last_txnid;
    return ENT_OK;
}

/* ---- pages written by commits ---- */

/*
 * The free pages LMDB's free list holds (FREE_DBI, dbi 0: one record per
 * committing transaction, a list of page numbers whose first word is the
 * count) in *total, and in *by_txn those freed by transaction txnid.
 */
static int free_pages(MDB_txn *txn, uint64_t txnid, uint64_t *total,
                      uint64_t *by_txn) {
    MDB_cursor *c;
    MDB_val k, v;
    *total = *by_txn = 0;
    int rc = mdb_cursor_open(txn, 0, &c);
    if (rc != MDB_SUCCESS)
        return rc;
    while ((rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == MDB_SUCCESS) {
        size_t n, id = 0;
        if (v.mv_size < sizeof(n) || k.mv_size != sizeof(id))
            continue;
        memcpy(&n, v.mv_data, sizeof(n));
        memcpy(&id, k.mv_data, sizeof(id));
        *total += n;
        if ((uint64_t)id == txnid)
            *by_txn = n;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
}

/*
 * After a durable commit: adds the pages it wrote to s->pages_written.
 * Every page a commit writes (copy-on-write) is allocated by it, from the
 * end of the file or from the free list, so it wrote the growth of the
 * last page plus the free pages it took: the free pages before, plus those
 * it freed (its own free-list record), minus those after. Commits of other
 * processes in between are counted with it. Called with no transaction
 * open; a failure only skips the count.
 */
static void count_written(ent_store *s) {
    MDB_envinfo info;
    MDB_txn *txn;
    uint64_t total, freed;
    if (!s->count_pages || s->env == NULL ||
        mdb_env_info(s->env, &info) != MDB_SUCCESS ||
        mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != MDB_SUCCESS)
        return;
    int rc = free_pages(txn, (uint64_t)info.me_last_txnid, &total, &freed);
    mdb_txn_abort(txn);
    if (rc != MDB_SUCCESS)
        return;
    uint64_t last = (uint64_t)info.me_last_pgno;
    if (s->pw_txnid != 0 && (uint64_t)info.me_last_txnid > s->pw_txnid &&
        last >= s->pw_last_pg && s->pw_free + freed >= total)
        s->pages_written += last - s->pw_last_pg + s->pw_free + freed - total;
    s->pw_txnid = (uint64_t)info.me_last_txnid;
    s->pw_last_pg = last;
    s->pw_free = total;
}

void ent_store_count_pages(ent_store *s) {
    if (s == NULL || s->count_pages)
        return;
    s->count_pages = true;
    count_written(s); /* the starting point */
}

int ent_store_write_reads(const ent_store *s, uint64_t *out) {
    if (s == NULL || out == NULL)
        return ENT_EINVAL;
    *out = s->write_reads;
    return ENT_OK;
}

/* One read (a get, or a cursor's placement or step) by txn: counted when
 * txn writes (ent_store_write_reads). */

int ent_store_pages_written(ent_store *s, uint64_t *out) {
    if (s == NULL || out == NULL)
        return ENT_EINVAL;
    *out = s->pages_written;
    return ENT_OK;
}

/* ---- transactions ---- */

/* Begins a transaction, adopting a map grown by another process. */
static int txn_begin(ent_store *s, unsigned flags, MDB_txn **out) {
    if (s->env == NULL) /* a reopen after an erasure failed */
        return ENT_ESTORAGE;
    int rc = mdb_txn_begin(s->env, NULL, flags, out);
    if (rc == MDB_MAP_RESIZED) {
        ENT_INFO(s->log, "storage: map grown by another process, adopting");
        rc = mdb_env_set_mapsize(s->env, 0);
        if (rc == MDB_SUCCESS) {
            MDB_envinfo info;
            mdb_env_info(s->env, &info);
            s->map_size = info.me_mapsize;
            rc = mdb_txn_begin(s->env, NULL, flags, out);
        }
    }
    return rc == MDB_SUCCESS ? ENT_OK : ent__store_xlate(s, rc, "mdb_txn_begin");
}

/* Doubles the map. Only called with no transaction of ours open. */
static int grow_map(ent_store *s) {
    if (s->readers != 0) {
        ENT_ERROR(s->log,
                  "storage: map full but %u read transaction(s) "
                  "open; cannot grow",
                  s->readers);
        return ENT_EBUSY;
    }
    size_t old = s->map_size;
    if (old > SIZE_MAX / 2)
        return ENT_EMAPFULL;
    int rc = mdb_env_set_mapsize(s->env, old * 2);
    if (rc != MDB_SUCCESS)
        return ent__store_xlate(s, rc, "mdb_env_set_mapsize");
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    s->map_size = info.me_mapsize;
    ENT_INFO(s->log, "storage: map full, grew map from %zu to %zu bytes", old,
             s->map_size);
    return ENT_OK;
}

static int txn_commit(ent_txn *txn) {
    ent_store *s = txn->s;
    if (fault_fires(s, "commit")) {
        mdb_txn_abort(txn->txn);
        txn->txn = NULL;
        return ENT_EIO;
    }
    int rc = mdb_txn_commit(txn->txn); /* frees txn even on failure */
    txn->txn = NULL;
    if (rc == MDB_SUCCESS)
        return ENT_OK;
    return ent__store_poison(txn, ent__store_xlate(s, rc, "mdb_txn_commit"));
}

/*
 * Runs fn in write transactions until it commits, fails for a reason other
 * than a full map, or the map cannot grow any more.
 */
static int run_write(ent_store *s, int (*fn)(ent_txn *txn, void *data),
                     void *data, unsigned *marks) {
    int err;
    for (int attempt = 0;; attempt++) {
        ent_txn txn = {.s = s, .write = true};
        err = txn_begin(s, 0, &txn.txn);
        if (err != ENT_OK)
            break;
        err = fn(&txn, data);
        if (err == ENT_OK && txn.poison != ENT_OK) {
            ENT_ERROR(s->log, "storage: write function ignored %s; aborting",
                      ent_err_name(txn.poison));
            err = txn.poison;
        }
        if (err == ENT_OK) {
            err = txn_commit(&txn);
            if (err == ENT_OK)
                *marks = txn.marks;
        } else {
            mdb_txn_abort(txn.txn);
        }
        if (err == ENT_OK || !(txn.map_full || err == ENT_EMAPFULL))
            break;
        if (attempt == STORE_MAX_GROW) {
            ENT_ERROR(s->log, "storage: map still full after %d growths",
                      attempt);
            err = ENT_EMAPFULL;
            break;
        }
        err = grow_map(s);
        if (err != ENT_OK)
            break;
    }
    return err;
}

static void after_erasure(ent_store *s);

/*
 * Commits the open group transaction (one durable commit for all its
 * writes) and reports its marks. A failure is also kept in group_err for
 * ent_store_group_commit: the answers held for the group must not say done.
 */
static int group_flush(ent_store *s) {
    int err = ENT_OK;
    if (s->group == NULL)
        return ENT_OK;
    if (fault_fires(s, "commit")) {
        mdb_txn_abort(s->group);
        err = ENT_EIO;
    } else {
        int rc = mdb_txn_commit(s->group);
        err = rc == MDB_SUCCESS ? ENT_OK : ent__store_xlate(s, rc, "mdb_txn_commit");
    }
    s->group = NULL;
    s->group_n = 0;
    s->group_pages = 0;
    unsigned marks = s->group_marks;
    s->group_marks = 0;
    if (err == ENT_OK)
        count_written(s);
    if (err != ENT_OK) {
        ENT_ERROR(s->log, "storage: group commit failed: %s",
                  ent_err_name(err));
        if (s->group_err == ENT_OK)
            s->group_err = err;
    } else {
        if (marks & ENT_TXN_MARK_SCRUB)
            after_erasure(s);
        if (marks != 0 && s->commit_hook != NULL)
            s->commit_hook(s->commit_data, marks);
    }
    return err;
}

/*
 * Keeps room for a group's commit. A group's earlier writes cannot be run
 * again, so a group must never meet a full map: committing it then fails
 * too (MDB_MAP_FULL) and takes them all. So a group begins only when at
 * most half of the map is used (the map grows first; no transaction is
 * open then), and commits before the next write once what was used at
 * its start plus what its puts may have taken (group_pages: 2 pages, a
 * leaf and a share of splits, plus the bytes' pages, a put) passes three
 * quarters: a quarter of
 * the map is always left for the commit and the next write. A write
 * larger than that still meets a full map alone, and group_write commits
 * the group (which fits) and grows then.
 */
static int group_room(ent_store *s) {
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &st) != 0 ||
        st.ms_psize == 0)
        return ENT_OK;
    size_t map = s->map_size / st.ms_psize, used = info.me_last_pgno + 1;
    if (s->group != NULL) {
        if (used + s->group_pages <= map - map / 4)
            return ENT_OK;
        return group_flush(s);
    }
    while (used > map / 2) {
        if (grow_map(s) != ENT_OK)
            return ENT_OK; /* readers open: the write may still fit */
        map = s->map_size / st.ms_psize;
    }
    return ENT_OK;
}

/*
 * Runs fn in a nested transaction of the group transaction (opened here
 * when none is): its changes join the group when fn succeeds and vanish
 * alone when it fails. The map keeps room for the group (group_room); a
 * write that still meets a full map commits the group, grows the map and
 * runs fn again in a new group.
 */
static int group_write(ent_store *s, int (*fn)(ent_txn *txn, void *data),
                       void *data) {
    int err;
    for (int attempt = 0;; attempt++) {
        if (s->group != NULL && s->group_n >= ENT_STORE_GROUP_MAX &&
            (err = group_flush(s)) != ENT_OK)
            break;
        if ((err = group_room(s)) != ENT_OK)
            break;
        if (s->group == NULL && (err = group_room(s)) != ENT_OK)
            break; /* a group just committed: grow before the next */
        if (s->group == NULL && (err = txn_begin(s, 0, &s->group)) != ENT_OK)
            break;
        ent_txn txn = {.s = s, .write = true};
        int rc = mdb_txn_begin(s->env, s->group, 0, &txn.txn);
        if (rc != MDB_SUCCESS) {
            err = ent__store_xlate(s, rc, "mdb_txn_begin (nested)");
            break;
        }
        err = fn(&txn, data);
        if (err == ENT_OK && txn.poison != ENT_OK) {
            ENT_ERROR(s->log, "storage: write function ignored %s; aborting",
                      ent_err_name(txn.poison));
            err = txn.poison;
        }
        if (err == ENT_OK) {
            err = txn_commit(&txn); /* into the group: no disk write */
            if (err == ENT_OK) {
                s->group_marks |= txn.marks;
                s->group_n++;
            }
        } else {
            mdb_txn_abort(txn.txn);
        }
        if (err == ENT_OK || !(txn.map_full || err == ENT_EMAPFULL))
            break;
        if (attempt == STORE_MAX_GROW) {
            ENT_ERROR(s->log, "storage: map still full after %d growths",
                      attempt);
            err = ENT_EMAPFULL;
            break;
        }
        if ((err = group_flush(s)) != ENT_OK || (err = grow_map(s)) != ENT_OK)
            break;
    }
    return err;
}

void ent_store_group_enter(ent_store *s) {
    if (s != NULL && !s->rdonly)
        s->group_mode = true;
}

void ent_store_group_leave(ent_store *s) {
    if (s != NULL)
        s->group_mode = false;
}

bool ent_store_group_active(const ent_store *s) {
    return s != NULL && s->group_mode;
}

int ent_store_group_commit(ent_store *s) {
    if (s == NULL)
        return ENT_EINVAL;
    if (s->writing) {
        ENT_ERROR(s->log, "storage: group commit inside a write refused");
        return ENT_EBUSY;
    }
    s->writing = true;
    int err = group_flush(s);
    s->writing = false;
    if (err == ENT_OK)
        err = s->group_err;
    s->group_err = ENT_OK;
    return err;
}

/* ---- scrub: zeroing free pages ---- */

/*
 * Closes and opens the environment again (same folder, map size, tables
 * in the same order, so the same dbi handles). LMDB keeps the buffers of
 * pages a write transaction dirtied for reuse by later ones, without
 * clearing them, and copies only the used parts of a page into them: so
 * the bytes of values deleted by an erasure would go on reaching the
 * unused middle of pages written later. Closing the environment frees
 * those buffers. Only when no read transaction of this process is open;
 * the store is unusable (ENT_ESTORAGE) if opening again fails.
 */
static int reopen_env(ent_store *s) {
    MDB_txn *t = NULL;
    int rc;
    if (s->readers > 0 || s->dir == NULL)
        return ENT_EBUSY;
    mdb_env_close(s->env);
    s->env = NULL;
    if ((rc = mdb_env_create(&s->env)) == 0 &&
        (rc = mdb_env_set_maxdbs(s->env, ENT_TBL__COUNT + STORE_SPARE_DBS)) ==
            0 &&
        (rc = mdb_env_set_mapsize(s->env, s->map_size)) == 0 &&
        (rc = mdb_env_open(s->env, s->dir, MDB_NOTLS, 0600)) == 0 &&
        (rc = mdb_txn_begin(s->env, NULL, 0, &t)) == 0) {
        for (int i = 0; i < ENT_TBL__COUNT && rc == 0; i++)
            rc = mdb_dbi_open(t, ent__table_names[i], 0, &s->dbi[i]);
        rc = rc == 0 ? mdb_txn_commit(t) : (mdb_txn_abort(t), rc);
    }
    if (rc != 0) {
        int err = ent__store_xlate(s, rc, "reopen after an erasure");
        if (s->env != NULL)
            mdb_env_close(s->env);
        s->env = NULL;
        return err;
    }
    return ENT_OK;
}

/* mdb_reader_list prints "pid thread txnid" per slot ("-": no txn). */
static int scrub_reader(const char *msg, void *ctx) {
    uint64_t *oldest = ctx;
    int pid;
    unsigned long thr;
    char tx[32];
    if (sscanf(msg, "%d %lx %31s", &pid, &thr, tx) == 3 && tx[0] != '-') {
        unsigned long long t = strtoull(tx, NULL, 10);
        if (t < *oldest)
            *oldest = t;
    }
    return 0;
}

/*
 * Overwrites with zeros every page on LMDB's free list that no reader can
 * see any more, so that bytes a committed transaction deleted (erasure,
 * spec/objects.md) stay nowhere in data.mdb. First two small commits (a
 * counter under meta "scrub"): the pages the marked commit freed then sit
 * in a free-list record older than both meta pages. Then, holding the
 * writer lock (a write transaction that is aborted at the end, so no page
 * is allocated meanwhile), reads the free list (FREE_DBI, in a read
 * transaction: LMDB opens it read-only only) and zeroes each page of every
 * record older than the oldest reader, the records LMDB itself would hand
 * out for reuse; then syncs the file.
 */
static int scrub(ent_store *s) {
    MDB_txn *w = NULL, *r = NULL;
    MDB_cursor *c = NULL;
    MDB_envinfo info;
    MDB_stat st;
    MDB_val k, v;
    uint8_t *zero = NULL;
    int fd, rc = ENT_OK, mrc;
    for (int i = 0; i < 2 && rc == ENT_OK; i++) {
        MDB_txn *t;
        uint64_t n;
        if ((mrc = mdb_txn_begin(s->env, NULL, 0, &t)) != 0)
            return ent__store_xlate(s, mrc, "scrub begin");
        mdb_env_info(s->env, &info);
        n = (uint64_t)info.me_last_txnid;
        k.mv_data = "scrub";
        k.mv_size = 5;
        v.mv_data = &n;
        v.mv_size = sizeof(n);
        if ((mrc = mdb_put(t, s->dbi[ENT_TBL_META], &k, &v, 0)) != 0) {
            mdb_txn_abort(t);
            return ent__store_xlate(s, mrc, "scrub put");
        }
        if ((mrc = mdb_txn_commit(t)) != 0)
            return ent__store_xlate(s, mrc, "scrub commit");
    }
    if ((mrc = mdb_txn_begin(s->env, NULL, 0, &w)) != 0 ||
        (mrc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &r)) != 0 ||
        (mrc = mdb_env_stat(s->env, &st)) != 0 ||
        (mrc = mdb_env_get_fd(s->env, &fd)) != 0 ||
        (mrc = mdb_cursor_open(r, 0 /* FREE_DBI */, &c)) != 0) {
        rc = ent__store_xlate(s, mrc, "scrub");
        goto out;
    }
    uint64_t oldest = (uint64_t)mdb_txn_id(r);
    mdb_reader_list(s->env, scrub_reader, &oldest);
    if ((zero = calloc(1, st.ms_psize)) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    while ((mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0) {
        size_t txnid, n;
        if (k.mv_size != sizeof(txnid) || v.mv_size < sizeof(size_t))
            break;
        memcpy(&txnid, k.mv_data, sizeof(txnid));
        if ((uint64_t)txnid >= oldest)
            break;
        memcpy(&n, v.mv_data, sizeof(n));
        if ((n + 1) * sizeof(size_t) > v.mv_size)
            break;
        for (size_t i = 1; i <= n && rc == ENT_OK; i++) {
            size_t pg;
            memcpy(&pg, (const uint8_t *)v.mv_data + i * sizeof(size_t),
                   sizeof(pg));
            if (pwrite(fd, zero, st.ms_psize, (off_t)pg * st.ms_psize) !=
                (ssize_t)st.ms_psize)
                rc = ent__store_xlate(s, errno ? errno : EIO, "scrub write");
        }
    }
    /* The unused middle of every branch and leaf page: LMDB fills a new
     * page from a recycled buffer and copies only the used parts of the
     * page it replaces, so that middle may hold bytes of any page written
     * before (LMDB 0.9 page header: pgno (8), pad (2), flags (2), lower
     * (2), upper (2); the free middle is [lower, upper)). Nobody reads it. */
    mdb_env_info(s->env, &info);
    for (size_t pg = 2; pg <= (size_t)info.me_last_pgno && rc == ENT_OK; pg++) {
        uint8_t hdr[16];
        uint16_t flags, lower, upper;
        if (pread(fd, hdr, sizeof(hdr), (off_t)pg * st.ms_psize) !=
            (ssize_t)sizeof(hdr))
            break;
        memcpy(&flags, hdr + 10, 2);
        memcpy(&lower, hdr + 12, 2);
        memcpy(&upper, hdr + 14, 2);
        if (!(flags & 0x03) || (flags & 0x24) || lower < 16 || upper < lower ||
            upper > st.ms_psize) /* not a branch/leaf page (or LEAF2,
                                    overflow): left alone */
            continue;
        if (upper > lower &&
            pwrite(fd, zero, upper - lower,
                   (off_t)pg * st.ms_psize + lower) != (ssize_t)(upper - lower))
            rc = ent__store_xlate(s, errno ? errno : EIO, "scrub write");
    }
    if (rc == ENT_OK && fdatasync(fd) != 0)
        rc = ent__store_xlate(s, errno, "scrub sync");
out:
    free(zero);
    if (c != NULL)
        mdb_cursor_close(c);
    if (r != NULL)
        mdb_txn_abort(r);
    if (w != NULL)
        mdb_txn_abort(w);
    return rc;
}

/* After a commit that erased values (ENT_TXN_MARK_SCRUB): reopen the
 * environment and zero the free pages (spec/objects.md). */
static void after_erasure(ent_store *s) {
    int src = reopen_env(s); /* the write itself has committed */
    if (src != ENT_OK)
        ENT_ERROR(s->log, "storage: reopen after an erasure: %s",
                  ent_err_name(src));
    if (s->env != NULL)
        src = scrub(s);
    if (src != ENT_OK)
        ENT_ERROR(s->log, "storage: scrub of free pages failed: %s",
                  ent_err_name(src));
}

int ent_store_write(ent_store *s, int (*fn)(ent_txn *txn, void *data),
                    void *data) {
    if (s == NULL || fn == NULL)
        return ENT_EINVAL;
    if (s->rdonly)
        return ENT_EPERM;
    if (s->writing) {
        ENT_ERROR(s->log, "storage: nested write transaction refused");
        return ENT_EBUSY;
    }
    s->writing = true;
    unsigned marks = 0;
    int err;
    if (s->group_mode) {
        err = group_write(s, fn, data);
        s->writing = false;
        return err; /* marks are reported when the group commits */
    }
    /* a write outside the group: the group commits first (LMDB has one
     * writer), its answers stay held until ent_store_group_commit */
    (void)group_flush(s);
    err = run_write(s, fn, data, &marks);
    if (err == ENT_OK)
        count_written(s);
    if (err == ENT_OK && (marks & ENT_TXN_MARK_SCRUB))
        after_erasure(s);
    s->writing = false;
    if (err == ENT_OK && marks != 0 && s->commit_hook != NULL)
        s->commit_hook(s->commit_data, marks);
    return err;
}

void ent_txn_mark(ent_txn *txn, unsigned bits) {
    if (txn != NULL && txn->write)
        txn->marks |= bits;
}

void ent_store_set_commit_hook(ent_store *s,
                               void (*hook)(void *data, unsigned marks),
                               void *data) {
    s->commit_hook = hook;
    s->commit_data = data;
}

int ent_store_read(ent_store *s, int (*fn)(ent_txn *txn, void *data),
                   void *data) {
    if (s == NULL || fn == NULL)
        return ENT_EINVAL;
    if (s->group_mode && s->group != NULL && !s->writing) {
        /* a request of the group reads what the group wrote so far */
        ent_txn gt = {.s = s, .txn = s->group, .write = false};
        return fn(&gt, data);
    }
    ent_txn txn = {.s = s, .write = false};
    int err = txn_begin(s, MDB_RDONLY, &txn.txn);
    if (err != ENT_OK)
        return err;
    s->readers++;
    err = fn(&txn, data);
    mdb_txn_abort(txn.txn);
    s->readers--;
    return err;
}

int ent_store_read_beside(ent_txn *w, int (*fn)(ent_txn *txn, void *data),
                          void *data) {
    if (w == NULL || !w->write || fn == NULL)
        return ENT_EINVAL;
    ent_store *s = w->s;
    if (s->group != NULL || s->env == NULL)
        return ENT_EBUSY;
    /* not txn_begin: adopting a grown map needs no transaction open, and
     * the store's fields belong to the writer's thread */
    ent_txn txn = {.s = s, .write = false};
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn.txn);
    if (rc == MDB_MAP_RESIZED)
        return ENT_EBUSY;
    if (rc != MDB_SUCCESS)
        return ent__store_xlate(s, rc, "mdb_txn_begin (beside a write)");
    int err = fn(&txn, data);
    mdb_txn_abort(txn.txn);
    return err;
}

/* ---- key/value access ---- */

int ent_txn_get(ent_txn *txn, ent_table t, const void *key, size_t klen,
                const void **val, size_t *vlen) {
    int err = check_table(txn, t);
    if (err == ENT_OK)
        err = check_key(txn, t, klen);
    if (err != ENT_OK)
        return err;
    MDB_val k = {klen, (void *)key}, v;
    uint8_t buf[PHYS_MAX], num[NUM_LEN];
    if (txn->s->absent[t])
        return ENT_ENOENT;
    count_read(txn);
    if (numbered(txn, t)) {
        if ((err = ent__num_get(txn, key, num)) != ENT_OK)
            return err;
        k = phys_key(buf, num, key, klen);
    }
    int rc = mdb_get(txn->txn, txn->s->dbi[t], &k, &v);
    if (rc != MDB_SUCCESS)
        return ent__store_xlate(txn->s, rc, "mdb_get");
    *val = v.mv_data;
    *vlen = v.mv_size;
    return ENT_OK;
}

int ent_txn_put(ent_txn *txn, ent_table t, const void *key, size_t klen,
                const void *val, size_t vlen, unsigned flags) {
    int err = check_table(txn, t);
    if (err == ENT_OK)
        err = check_key(txn, t, klen);
    if (err != ENT_OK)
        return err;
    if (!txn->write)
        return ENT_EPERM;
    if (flags & ~(unsigned)(ENT_PUT_NOOVERWRITE | ENT_PUT_APPEND))
        return ENT_EINVAL;
    if (fault_fires(txn->s, "put"))
        return ent__store_poison(txn, ENT_EIO);
    unsigned mflags = 0;
    if (flags & ENT_PUT_NOOVERWRITE)
        mflags |= MDB_NOOVERWRITE;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    uint8_t buf[PHYS_MAX], num[NUM_LEN];
    if (numbered(txn, t)) {
        /* the caller's "after every key" is about object ids: stored
         * under numbers the key may sort elsewhere, so no MDB_APPEND */
        if ((err = ent__num_make(txn, key, num)) != ENT_OK)
            return ent__store_poison(txn, err);
        k = phys_key(buf, num, key, klen);
    } else if (flags & ENT_PUT_APPEND) {
        mflags |= MDB_APPEND;
    }
    if (txn->s->group != NULL) /* a write of the group: group_room() */
        txn->s->group_pages += 2 + (klen + vlen) / 4096;
    last_key_forget(txn, t);
    int rc = mdb_put(txn->txn, txn->s->dbi[t], &k, &v, mflags);
    if (rc == MDB_SUCCESS) {
        if (mflags & MDB_APPEND) /* LMDB refuses a key not after the last */
            last_key_remember(txn, t, key, klen);
        return ENT_OK;
    }
    err = ent__store_xlate(txn->s, rc, "mdb_put");
    /* an existing key is an answer; anything else spoils the transaction */
    return rc == MDB_KEYEXIST ? err : ent__store_poison(txn, err);
}

int ent_txn_del(ent_txn *txn, ent_table t, const void *key, size_t klen) {
    int err = check_table(txn, t);
    if (err == ENT_OK)
        err = check_key(txn, t, klen);
    if (err != ENT_OK)
        return err;
    if (!txn->write)
        return ENT_EPERM;
    if (fault_fires(txn->s, "del"))
        return ent__store_poison(txn, ENT_EIO);
    MDB_val k = {klen, (void *)key};
    uint8_t buf[PHYS_MAX], num[NUM_LEN];
    bool nb = numbered(txn, t);
    if (nb) {
        if ((err = ent__num_get(txn, key, num)) != ENT_OK)
            return err == ENT_ENOENT ? err : ent__store_poison(txn, err);
        k = phys_key(buf, num, key, klen);
    }
    last_key_forget(txn, t);
    int rc = mdb_del(txn->txn, txn->s->dbi[t], &k, NULL);
    if (rc == MDB_SUCCESS)
        return nb ? ent__num_release(txn, t, key, num) : ENT_OK;
    err = ent__store_xlate(txn->s, rc, "mdb_del");
    return rc == MDB_NOTFOUND ? err : ent__store_poison(txn, err);
}

int ent_txn_wipe(ent_txn *txn, ent_table t, const void *key, size_t klen) {
    const void *v;
    size_t vlen;
    int rc = ent_txn_get(txn, t, key, klen, &v, &vlen);
    if (rc != ENT_OK || vlen == 0)
        return rc;
    uint8_t *z = calloc(1, vlen);
    if (z == NULL)
        return ENT_ENOMEM;
    rc = ent_txn_put(txn, t, key, klen, z, vlen, 0);
    free(z);
    return rc;
}

int ent_txn_clear(ent_txn *txn, ent_table t) {
    int err = check_table(txn, t);
    if (err != ENT_OK)
        return err;
    if (!txn->write)
        return ENT_EPERM;
    if (fault_fires(txn->s, "del"))
        return ent__store_poison(txn, ENT_EIO);
    last_key_forget(txn, t);
    int rc = mdb_drop(txn->txn, txn->s->dbi[t], 0);
    if (rc == MDB_SUCCESS)
        return ENT_OK;
    return ent__store_poison(txn, ent__store_xlate(txn->s, rc, "mdb_drop"));
}

int ent_txn_count(ent_txn *txn, ent_table t, uint64_t *out) {
    int err = check_table(txn, t);
    if (err != ENT_OK)
        return err;
    MDB_stat st;
    if (txn->s->absent[t]) {
        *out = 0;
        return ENT_OK;
    }
    int rc = mdb_stat(txn->txn, txn->s->dbi[t], &st);
    if (rc != MDB_SUCCESS)
        return ent__store_xlate(txn->s, rc, "mdb_stat");
    *out = st.ms_entries;
    return ENT_OK;
}

int ent_store_copy(ent_store *s, const char *dir) {
    if (s == NULL || dir == NULL)
        return ENT_EINVAL;
    char path[4096];
    struct stat st;
    if ((size_t)snprintf(path, sizeof(path), "%s/data.mdb", dir) >=
        sizeof(path))
        return ENT_ETOOBIG;
    if (stat(path, &st) == 0)
        return ENT_EEXIST;
    int rc = mdb_env_copy2(s->env, dir, MDB_CP_COMPACT);
    if (rc != MDB_SUCCESS)
        return ent__store_xlate(s, rc, "mdb_env_copy2");
    return ENT_OK;
}

/* ---- open, schema, migrations ---- */

struct open_ctx {
    ent_store *s;
    bool create;
    uint32_t schema;
    const ent_store_migration *migs;
    size_t n_migs;
    void *mig_data;
};

static int read_schema(ent_txn *txn, uint32_t *out) {
    const void *val = NULL;
    size_t vlen = 0;
    int err = ent_txn_get(txn, ENT_TBL_META, schema_key, sizeof(schema_key) - 1,
                          &val, &vlen);
    if (err != ENT_OK)
        return err;
    if (vlen != 4) {
        ENT_ERROR(txn->s->log, "storage: meta/schema has %zu bytes, not 4",
                  vlen);
        return ENT_ECORRUPT;
    }
    *out = be32_get(val);
    return ENT_OK;
}

static int write_schema(ent_txn *txn, uint32_t v) {
    uint8_t b[4];
    be32_put(b, v);
    return ent_txn_put(txn, ENT_TBL_META, schema_key, sizeof(schema_key) - 1, b,
                       sizeof(b), 0);
}

/* Entries of the main (unnamed) database: 0 in a never-initialised env. */
static int main_entries(ent_txn *txn, size_t *out) {
    MDB_dbi main_dbi;
    MDB_stat st;
    int rc = mdb_dbi_open(txn->txn, NULL, 0, &main_dbi);
    if (rc == MDB_SUCCESS)
        rc = mdb_stat(txn->txn, main_dbi, &st);
    if (rc != MDB_SUCCESS)
        return ent__store_xlate(txn->s, rc, "mdb_stat(main)");
    *out = st.ms_entries;
    return ENT_OK;
}

/* Runs the migrations from version from up to c->schema, in order. */
static int migrate(ent_txn *txn, const struct open_ctx *c, uint32_t from) {
    ent_store *s = c->s;
    for (uint32_t v = from; v < c->schema; v++) {
        const ent_store_migration *m = NULL;
        for (size_t i = 0; i < c->n_migs; i++) {
            if (c->migs[i].fn != NULL && c->migs[i].from == v) {
                m = &c->migs[i];
                break;
            }
        }
        if (m == NULL) {
            ENT_ERROR(s->log, "storage: no migration from schema %u", v);
            return ENT_EVERSION;
        }
        int err = m->fn(txn, c->mig_data);
        if (err != ENT_OK) {
            ENT_ERROR(s->log, "storage: migration from schema %u failed: %s", v,
                      ent_strerror(err));
            return err;
        }
        ENT_INFO(s->log, "storage: migrated schema %u -> %u", v, v + 1);
    }
    return write_schema(txn, c->schema);
}

/* Opens every table, then creates, checks or migrates the schema. */
static int setup(ent_txn *txn, void *data) {
    const struct open_ctx *c = data;
    ent_store *s = c->s;
    size_t entries = 0;
    /* the layout of the stored version (each step to a layout that
     * numbers another table sets it; a rerun after the map grew starts
     * again from the stored layout) */
    s->layout = 0;
    int err = main_entries(txn, &entries);
    if (err != ENT_OK)
        return err;
    bool fresh = entries == 0;
    if (fresh && (!c->create || !txn->write))
        return ENT_ENOENT; /* a data.mdb that was never initialised */
    unsigned dflags = txn->write ? MDB_CREATE : 0;
    for (int t = 0; t < ENT_TBL__COUNT; t++) {
        int rc = mdb_dbi_open(txn->txn, ent__table_names[t], dflags, &s->dbi[t]);
        s->absent[t] = rc == MDB_NOTFOUND && !txn->write && !fresh;
        if (s->absent[t]) {
            ENT_DEBUG(s->log, "storage: table %s not created yet (read-only)",
                      ent__table_names[t]);
            continue;
        }
        if (rc != MDB_SUCCESS) {
            ENT_ERROR(s->log, "storage: table %s missing", ent__table_names[t]);
            return rc == MDB_NOTFOUND ? ENT_ECORRUPT
                                      : ent__store_xlate(s, rc, "mdb_dbi_open");
        }
    }
    if (fresh) {
        ENT_INFO(s->log, "storage: created store, schema %u", c->schema);
        return write_schema(txn, c->schema);
    }
    uint32_t v;
    err = read_schema(txn, &v);
    if (err == ENT_ENOENT) {
        ENT_ERROR(s->log, "storage: meta/schema missing");
        return ENT_ECORRUPT;
    }
    if (err != ENT_OK)
        return err;
    s->layout = v;
    if (v == c->schema)
        return ENT_OK;
    if (v > c->schema) {
        ENT_ERROR(s->log, "storage: schema %u is newer than this binary's %u",
                  v, c->schema);
        return ENT_EVERSION;
    }
    if (!txn->write) {
        ENT_ERROR(s->log,
                  "storage: schema %u needs migrating to %u; open "
                  "read-write first",
                  v, c->schema);
        return ENT_EVERSION;
    }
    return migrate(txn, c, v);
}

/* Parses "123", "64k", "16m", "1g" (bytes). */
static int parse_size(const char *str, size_t *out) {
    char *end;
    errno = 0;
    unsigned long long n = strtoull(str, &end, 10);
    if (errno != 0 || end == str)
        return ENT_EINVAL;
    unsigned shift = 0;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        end++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        end++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        end++;
        break;
    default:
        break;
    }
    if (*end != '\0' || n > (SIZE_MAX >> shift))
        return ENT_EINVAL;
    *out = (size_t)n << shift;
    return ENT_OK;
}

static int wanted_map_size(const ent_store_opts *o, const ent_log *log,
                           size_t *out) {
    size_t size = o != NULL ? o->map_size : 0;
    const char *envv = getenv("ENTENTE_MAP_SIZE");
    if (size == 0 && envv != NULL && *envv != '\0') {
        if (parse_size(envv, &size) != ENT_OK) {
            ENT_ERROR(log, "storage: bad ENTENTE_MAP_SIZE '%s'", envv);
            return ENT_EINVAL;
        }
    }
    if (size == 0)
        size = ENT_STORE_MAP_SIZE;
    if (size < STORE_MIN_MAP)
        size = STORE_MIN_MAP;
    *out = (size + 4095) & ~(size_t)4095;
    return ENT_OK;
}

int ent_store_open_ex(ent_store **out, const char *dir, unsigned flags,
                      const ent_log *log, const ent_store_opts *opts) {
    int err, rc;
    ent_store *s = NULL;
    char *path = NULL;
    *out = NULL;
    if (dir == NULL ||
        (flags & ~(unsigned)(ENT_STORE_CREATE | ENT_STORE_RDONLY |
                             ENT_STORE_NOLOCK)) != 0 ||
        ((flags & ENT_STORE_NOLOCK) != 0 && (flags & ENT_STORE_RDONLY) == 0))
        return ENT_EINVAL;
    bool rdonly = (flags & ENT_STORE_RDONLY) != 0;
    bool create = (flags & ENT_STORE_CREATE) != 0 && !rdonly;
    size_t want;
    err = wanted_map_size(opts, log, &want);
    if (err != ENT_OK)
        return err;

    size_t plen = strlen(dir) + sizeof("/data.mdb");
    path = malloc(plen);
    s = calloc(1, sizeof(*s));
    if (path == NULL || s == NULL) {
        err = ENT_ENOMEM;
        goto out;
    }
    s->log = log;
    s->rdonly = rdonly;
    if ((s->dir = strdup(dir)) == NULL) {
        err = ENT_ENOMEM;
        goto out;
    }
    snprintf(path, plen, "%s/data.mdb", dir);
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (!exists && !create) {
        ENT_DEBUG(log, "storage: no database in %s", dir);
        err = ENT_ENOENT;
        goto out;
    }

    rc = mdb_env_create(&s->env);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_maxdbs(s->env, ENT_TBL__COUNT + STORE_SPARE_DBS);
    /* an existing env keeps its recorded size; a new one starts at want */
    if (rc == MDB_SUCCESS && !exists)
        rc = mdb_env_set_mapsize(s->env, want);
    if (rc != MDB_SUCCESS) {
        err = ent__store_xlate(s, rc, "mdb_env_create");
        goto out;
    }
    rc = mdb_env_open(s->env, dir,
                      MDB_NOTLS | (rdonly ? MDB_RDONLY : 0) |
                          ((flags & ENT_STORE_NOLOCK) ? MDB_NOLOCK : 0),
                      0600);
    if (rc != MDB_SUCCESS) {
        err = ent__store_xlate(s, rc, "mdb_env_open");
        goto out;
    }
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    s->map_size = info.me_mapsize;
    if (!rdonly && s->map_size < want) {
        rc = mdb_env_set_mapsize(s->env, want);
        if (rc != MDB_SUCCESS) {
            err = ent__store_xlate(s, rc, "mdb_env_set_mapsize");
            goto out;
        }
        mdb_env_info(s->env, &info);
        s->map_size = info.me_mapsize;
    }
    int kmax = mdb_env_get_maxkeysize(s->env);
    s->max_key = kmax > 0 ? (size_t)kmax : 0;
    if (!rdonly) {
        int dead = 0;
        if (mdb_reader_check(s->env, &dead) == MDB_SUCCESS && dead > 0)
            ENT_WARN(log, "storage: cleared %d stale reader slot(s)", dead);
    }

    struct open_ctx c = {
        .s = s,
        .create = create,
        .schema =
            opts != NULL && opts->schema != 0 ? opts->schema : ENT_STORE_SCHEMA,
        .migs = builtin_migrations,
        .n_migs = sizeof(builtin_migrations) / sizeof(builtin_migrations[0]),
        .mig_data = opts != NULL ? opts->migration_data : NULL,
    };
    if (opts != NULL && opts->migrations != NULL) {
        c.migs = opts->migrations;
        c.n_migs = opts->n_migrations;
    }
    if (rdonly) {
        ent_txn txn = {.s = s, .write = false};
        err = txn_begin(s, MDB_RDONLY, &txn.txn);
        if (err != ENT_OK)
            goto out;
        err = setup(&txn, &c);
        if (err == ENT_OK) {
            /* committing a read txn keeps its dbi handles for the env */
            rc = mdb_txn_commit(txn.txn);
            if (rc != MDB_SUCCESS)
                err = ent__store_xlate(s, rc, "mdb_txn_commit");
        } else {
            mdb_txn_abort(txn.txn);
        }
    } else {
        err = ent_store_write(s, setup, &c);
    }
    if (err != ENT_OK)
        goto out;
    s->layout = c.schema;
    ENT_DEBUG(log, "storage: opened %s (map %zu bytes%s)", dir, s->map_size,
              rdonly ? ", read-only" : "");
    *out = s;
    s = NULL;
out:
    ent_store_close(s);
    free(path);
    return err;
}

int ent_store_open(ent_store **out, const char *dir, unsigned flags,
                   const ent_log *log) {
    return ent_store_open_ex(out, dir, flags, log, NULL);
}

void ent_store_close(ent_store *s) {
    if (s == NULL)
        return;
    if (s->group != NULL)
        (void)group_flush(s); /* nothing written is dropped at close */
    if (s->env != NULL)
        mdb_env_close(s->env);
    free(s->dir);
    free(s);
}

size_t ent_store_map_size(const ent_store *s) {
    return s->map_size;
}

int ent_store_usage_get(const ent_store *s, ent_store_usage *out) {
    MDB_envinfo info;
    MDB_stat st;
    memset(out, 0, sizeof(*out));
    if (mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &st) != 0)
        return ENT_ESTORAGE;
    out->map_size = info.me_mapsize;
    out->page_size = st.ms_psize;
    out->used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    out->readers = info.me_numreaders;
    out->max_readers = info.me_maxreaders;
    return ENT_OK;
}

size_t ent_store_max_key(const ent_store *s) {
    return s->max_key;
}

static int schema_read_fn(ent_txn *txn, void *data) {
    return read_schema(txn, data);
}

int ent_store_schema(ent_store *s, uint32_t *out) {
    return ent_store_read(s, schema_read_fn, out);
}

void ent_store_fail_after(ent_store *s, uint64_t n) {
    s->fail_in = n;
}
