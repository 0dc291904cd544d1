/*
 * backup.c - backups of a home and their offline check (backup.h,
 * spec/operations.md §2).
 */
#include "node/backup/backup.h"
#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "crypto/merkle.h"
#include "node/audit/actlog.h"
#include "node/err.h"
#include "node/home.h"
#include "node/timefmt.h"
#include "storage/store.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KEY_FILE_MAX 4096 /* bytes of a key file we copy */

static int whyf(char *why, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int whyf(char *why, size_t cap, int rc, const char *fmt, ...) {
    if (why != NULL && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static int join(char *out, const char *a, const char *b) {
    return (size_t)snprintf(out, PATH_MAX, "%s/%s", a, b) < PATH_MAX
               ? ENT_OK
               : ENT_ETOOBIG;
}

/* path without its trailing slashes, into out: "bk/" names the folder bk,
 * and the temporary folder goes next to it ("bk.tmp-XXXXXX"), not into it
 * ("bk/.tmp-XXXXXX", which then could be neither created nor renamed).
 * "/" stays "/". */
static int trim_slashes(char out[PATH_MAX], const char *path) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    if (n >= PATH_MAX)
        return ENT_ETOOBIG;
    memcpy(out, path, n);
    out[n] = '\0';
    return ENT_OK;
}

/* fsync of a file or folder by path. */
static int sync_path(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ENT_EIO;
    int rc = fsync(fd) == 0 ? ENT_OK : ENT_EIO;
    close(fd);
    return rc;
}

/* Opens path for reading when it is a regular file (a symlink to one
 * too): a FIFO would block the open, a device (/dev/zero) never end.
 * The fd, or -1 with errno (EINVAL: not a regular file). */
static int open_regular(const char *path) {
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    return fd;
}

/* Size and hash of the regular file at path, as {"size","blake2b"}. */
static int file_entry(const char *path, json_t **out) {
    int fd = open_regular(path);
    if (fd < 0)
        return errno == ENOENT ? ENT_ENOENT
               : errno == EINVAL ? ENT_EINVAL
                                 : ENT_EIO;
    uint8_t h[ENT_HASH_LEN];
    uint64_t len;
    int rc = ent_hash_fd(fd, h, &len);
    close(fd);
    if (rc != ENT_OK)
        return rc;
    char hex[2 * ENT_HASH_LEN + 1];
    ent_hex_encode(hex, h, sizeof(h));
    *out = json_pack("{s:I,s:s}", "size", (json_int_t)len, "blake2b", hex);
    return *out != NULL ? ENT_OK : ENT_ENOMEM;
}

/* Copies the key file src to dst (created, mode 0600, synced). */
static int copy_key(const char *src, const char *dst) {
    uint8_t buf[KEY_FILE_MAX];
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return ENT_ENOENT;
    ssize_t n = read(in, buf, sizeof(buf));
    close(in);
    if (n <= 0 || (size_t)n == sizeof(buf))
        return ENT_EIO;
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0)
        return ENT_EIO;
    int rc = write(out, buf, (size_t)n) == n && fsync(out) == 0 ? ENT_OK
                                                                 : ENT_EIO;
    close(out);
    ent_wipe(buf, sizeof(buf));
    return rc;
}

static int write_text(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return ENT_EIO;
    size_t len = strlen(text);
    int rc = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0 ? ENT_OK
                                                                    : ENT_EIO;
    close(fd);
    return rc;
}

/* Removes the folder tmp holding at most db/data.mdb, db/lock.mdb,
 * identity.key and the manifest (what create writes). */
static void remove_tmp(const char *tmp) {
    static const char *const files[] = {"db/data.mdb", "db/lock.mdb",
                                        "identity.key", ENT_BACKUP_MANIFEST};
    char p[PATH_MAX];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (join(p, tmp, files[i]) == ENT_OK)
            unlink(p);
    if (join(p, tmp, "db") == ENT_OK)
        rmdir(p);
    rmdir(tmp);
}

/* dir does not exist (ENT_ENOENT), or is an empty folder (ENT_OK). */
static int dir_state(const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? ENT_ENOENT : ENT_EEXIST;
    struct dirent *e;
    int rc = ENT_OK;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            rc = ENT_EEXIST;
            break;
        }
    closedir(d);
    return rc;
}

struct meta_read {
    char name[ENT_NAME_MAX + 1];
    uint32_t schema;
};

static int read_name(ent_txn *txn, void *data) {
    struct meta_read *m = data;
    const void *v;
    size_t n;
    int rc = ent_txn_get(txn, ENT_TBL_META, ENT_META_NAME,
                         strlen(ENT_META_NAME), &v, &n);
    if (rc == ENT_ENOENT) {
        m->name[0] = '\0';
        return ENT_OK;
    }
    if (rc != ENT_OK)
        return rc;
    if (n > ENT_NAME_MAX)
        return ENT_ECORRUPT;
    memcpy(m->name, v, n);
    m->name[n] = '\0';
    return ENT_OK;
}

int ent_backup_create(const char *home, const char *dir, const char *version,
                      const ent_log *log, json_t **manifest, char *why,
                      size_t cap) {
    char keyp[PATH_MAX], dbp[PATH_MAX], tmp[PATH_MAX], p[PATH_MAX];
    char dirb[PATH_MAX];
    if (manifest != NULL)
        *manifest = NULL;
    if (home == NULL || dir == NULL || dir[0] == '\0')
        return whyf(why, cap, ENT_EINVAL, "no folder given");
    if (trim_slashes(dirb, dir) != ENT_OK)
        return whyf(why, cap, ENT_ETOOBIG, "path too long");
    dir = dirb;
    if (join(keyp, home, ENT_HOME_KEY) != ENT_OK ||
        join(dbp, home, ENT_HOME_DB) != ENT_OK ||
        strlen(dir) + 16 >= PATH_MAX)
        return whyf(why, cap, ENT_ETOOBIG, "path too long");
    int st = dir_state(dir);
    if (st == ENT_EEXIST)
        return whyf(why, cap, ENT_EEXIST,
                    "%s exists and is not an empty folder (a backup never "
                    "overwrites anything)",
                    dir);
    ent_identity *id = NULL;
    int rc = ent_identity_load(&id, keyp);
    if (rc != ENT_OK)
        return whyf(why, cap, rc == ENT_EIO ? ENT_ENOENT : rc,
                    "%s: cannot read the org key (%s)", home,
                    ent_strerror(rc));
    char org[ENT_ORG_ID_LEN + 1];
    ent_identity_org_id(id, org);
    ent_identity_free(id);

    snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", dir);
    if (mkdtemp(tmp) == NULL)
        return whyf(why, cap, ENT_EIO, "cannot create a folder next to %s: %s",
                    dir, strerror(errno));
    json_t *files = NULL, *m = NULL;
    ent_store *s = NULL;
    struct meta_read meta = {.schema = 0};
    if (join(p, tmp, "db") != ENT_OK || mkdir(p, 0700) != 0) {
        rc = whyf(why, cap, ENT_EIO, "cannot create %s", p);
        goto fail;
    }
    rc = ent_store_open(&s, dbp, ENT_STORE_RDONLY, log);
    if (rc != ENT_OK) {
        rc = whyf(why, cap, rc, "%s: cannot open the store (%s)", home,
                  ent_strerror(rc));
        goto fail;
    }
    if ((rc = ent_store_read(s, read_name, &meta)) == ENT_OK)
        rc = ent_store_schema(s, &meta.schema);
    if (rc == ENT_OK)
        rc = ent_store_copy(s, p);
    ent_store_close(s);
    char dbf[PATH_MAX];
    if (rc == ENT_OK && (join(dbf, p, "data.mdb") != ENT_OK ||
                         chmod(dbf, 0600) != 0 || sync_path(dbf) != ENT_OK))
        rc = ENT_EIO;
    if (rc != ENT_OK) {
        rc = whyf(why, cap, rc, "copying the store: %s", ent_strerror(rc));
        goto fail;
    }
    if (join(p, tmp, ENT_HOME_KEY) != ENT_OK ||
        (rc = copy_key(keyp, p)) != ENT_OK) {
        rc = whyf(why, cap, ENT_EIO, "copying the key file failed");
        goto fail;
    }
    json_t *fdb = NULL, *fkey = NULL;
    char p2[PATH_MAX];
    if (join(p2, tmp, "db/data.mdb") != ENT_OK ||
        (rc = file_entry(p2, &fdb)) != ENT_OK ||
        (rc = file_entry(p, &fkey)) != ENT_OK) {
        json_decref(fdb);
        rc = whyf(why, cap, ENT_EIO, "hashing the copy failed");
        goto fail;
    }
    files = json_pack("{s:o,s:o}", "db/data.mdb", fdb, ENT_HOME_KEY, fkey);
    char now[ENT_TIMEFMT_RFC3339_LEN + 1];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ent_timefmt_rfc3339(now, (uint64_t)ts.tv_sec * 1000u +
                                 (uint64_t)ts.tv_nsec / 1000000u);
    m = json_pack("{s:i,s:s,s:s,s:s,s:i,s:s,s:O}", "format", ENT_BACKUP_FORMAT,
                  "entente", version != NULL ? version : "", "org", org,
                  "name", meta.name, "schema", (int)meta.schema, "created",
                  now, "files", files);
    char *text = m != NULL ? json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS)
                           : NULL;
    if (text == NULL) {
        rc = whyf(why, cap, ENT_ENOMEM, "out of memory");
        goto fail;
    }
    rc = join(p, tmp, ENT_BACKUP_MANIFEST);
    if (rc == ENT_OK)
        rc = write_text(p, text);
    free(text);
    if (rc == ENT_OK && join(p, tmp, "db") == ENT_OK)
        rc = sync_path(p);
    if (rc == ENT_OK)
        rc = sync_path(tmp);
    if (rc != ENT_OK) {
        rc = whyf(why, cap, ENT_EIO, "writing the manifest failed");
        goto fail;
    }
    if (st == ENT_OK && rmdir(dir) != 0) {
        rc = whyf(why, cap, ENT_EEXIST, "%s: %s", dir, strerror(errno));
        goto fail;
    }
    if (rename(tmp, dir) != 0) {
        rc = whyf(why, cap, ENT_EIO, "renaming into %s: %s", dir,
                  strerror(errno));
        goto fail;
    }
    json_decref(files);
    if (manifest != NULL)
        *manifest = m;
    else
        json_decref(m);
    return ENT_OK;
fail:
    json_decref(files);
    json_decref(m);
    remove_tmp(tmp);
    return rc;
}

/* ---- verify ------------------------------------------------------------------ */

/* The manifest's files member names exactly these, each {"size","blake2b"}. */
static const char *const backup_files[] = {"db/data.mdb", ENT_HOME_KEY};

static bool hex64(const char *h) {
    if (strlen(h) != 64)
        return false;
    for (size_t i = 0; i < 64; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
            return false;
    return true;
}

int ent_backup_manifest_parse(const char *buf, size_t len, json_t **out,
                              char *why, size_t cap) {
    if (out != NULL)
        *out = NULL;
    if (len > ENT_BACKUP_MANIFEST_MAX)
        return whyf(why, cap, ENT_ETOOBIG, "manifest: over %u bytes",
                    ENT_BACKUP_MANIFEST_MAX);
    json_error_t jerr;
    json_t *m = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(m)) {
        json_decref(m);
        return whyf(why, cap, ENT_EPROTO,
                    "manifest: not a JSON object (line %d: %s)", jerr.line,
                    m == NULL ? jerr.text : "not an object");
    }
    json_t *fmt = json_object_get(m, "format"), *org = json_object_get(m, "org"),
           *files = json_object_get(m, "files");
    uint8_t pk[ENT_PK_LEN];
    int rc = ENT_OK;
    if (!json_is_integer(fmt) || json_integer_value(fmt) != ENT_BACKUP_FORMAT) {
        rc = whyf(why, cap, json_is_integer(fmt) ? ENT_EVERSION : ENT_EPROTO,
                  "manifest: format %s is not %d",
                  json_is_integer(fmt) ? "unknown" : "missing",
                  ENT_BACKUP_FORMAT);
    } else if (!json_is_string(org) ||
               !json_is_string(json_object_get(m, "name")) ||
               !json_is_integer(json_object_get(m, "schema")) ||
               !json_is_string(json_object_get(m, "created")) ||
               ent_org_id_parse(pk, json_string_value(org)) != ENT_OK) {
        rc = whyf(why, cap, ENT_EPROTO,
                  "manifest: org, name, schema and created are required");
    } else if (!json_is_object(files) || json_object_size(files) != 2) {
        rc = whyf(why, cap, ENT_EPROTO,
                  "manifest: \"files\" must name exactly db/data.mdb and "
                  "identity.key");
    }
    for (size_t i = 0; rc == ENT_OK && i < 2; i++) {
        json_t *f = json_object_get(files, backup_files[i]);
        json_t *sz = json_object_get(f, "size"), *h = json_object_get(f, "blake2b");
        if (!json_is_integer(sz) || json_integer_value(sz) < 0 ||
            !json_is_string(h) || !hex64(json_string_value(h)))
            rc = whyf(why, cap, ENT_EPROTO, "manifest: bad entry for %s",
                      backup_files[i]);
    }
    if (rc != ENT_OK || out == NULL)
        json_decref(m);
    else
        *out = m;
    return rc;
}

static json_t *read_manifest(const char *path, char *why, size_t cap,
                             int *rc) {
    int fd = open_regular(path);
    if (fd < 0) {
        *rc = whyf(why, cap, ENT_ENOENT, "%s: %s (not a backup folder?)", path,
                   errno == EINVAL ? "not a regular file" : strerror(errno));
        return NULL;
    }
    char *buf = malloc(ENT_BACKUP_MANIFEST_MAX + 1);
    size_t len = 0;
    ssize_t n = 0;
    while (buf != NULL && len <= ENT_BACKUP_MANIFEST_MAX &&
           (n = read(fd, buf + len, ENT_BACKUP_MANIFEST_MAX + 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    if (buf == NULL || n < 0) {
        free(buf);
        *rc = whyf(why, cap, ENT_EIO, "%s: unreadable", path);
        return NULL;
    }
    json_t *m = NULL;
    *rc = ent_backup_manifest_parse(buf, len, &m, why, cap);
    free(buf);
    return m;
}

static int check_files(const char *dir, json_t *files, uint64_t *bytes,
                       char *why, size_t cap) {
    *bytes = 0;
    for (size_t i = 0; i < 2; i++) {
        json_t *f = json_object_get(files, backup_files[i]);
        json_t *sz = json_object_get(f, "size"), *h = json_object_get(f, "blake2b");
        char p[PATH_MAX];
        json_t *got = NULL;
        int rc = join(p, dir, backup_files[i]);
        if (rc == ENT_OK)
            rc = file_entry(p, &got);
        if (rc != ENT_OK)
            return whyf(why, cap, ENT_ECORRUPT, "%s: %s", backup_files[i],
                        rc == ENT_EINVAL ? "not a regular file"
                                         : "missing or unreadable");
        bool same =
            json_integer_value(json_object_get(got, "size")) ==
                json_integer_value(sz) &&
            strcmp(json_string_value(json_object_get(got, "blake2b")),
                   json_string_value(h)) == 0;
        *bytes += (uint64_t)json_integer_value(json_object_get(got, "size"));
        json_decref(got);
        if (!same)
            return whyf(why, cap, ENT_ECORRUPT,
                        "%s: size or BLAKE2b-256 differs from the manifest "
                        "(changed or damaged since the backup)",
                        backup_files[i]);
    }
    return ENT_OK;
}

struct vctx {
    uint8_t org[ENT_PK_LEN];
    struct meta_read meta;
    uint64_t objects, ops, log_size, heads;
    ent_actlog_head newest;
    bool have_head;
    char *why;
    size_t cap;
};

static int walk_fn(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    (void)data;
    (void)key;
    (void)klen;
    (void)val;
    (void)vlen;
    return 0;
}

static int head_fn(void *data, const ent_actlog_head *h) {
    struct vctx *v = data;
    v->heads++;
    v->newest = *h;
    v->have_head = true;
    return 0;
}

static int leaf_of(void *data, uint64_t index, uint8_t out[ENT_MERKLE_HASH_LEN]) {
    const uint8_t *b;
    size_t n;
    int rc = ent_actlog_get(data, index, &b, &n, out);
    return rc == ENT_ENOENT ? ENT_ECORRUPT : rc;
}

struct leaf_check {
    uint64_t next;
    ent_txn *txn;
};

static int entry_fn(void *data, const ent_actlog_entry *e, const uint8_t *raw,
                    size_t len) {
    struct leaf_check *c = data;
    uint8_t want[ENT_MERKLE_HASH_LEN], stored[ENT_MERKLE_HASH_LEN];
    const uint8_t *b;
    size_t n;
    (void)e;
    ent_merkle_leaf_hash(want, raw, len);
    int rc = ent_actlog_get(c->txn, c->next, &b, &n, stored);
    if (rc != ENT_OK)
        return rc == ENT_ENOENT ? ENT_ECORRUPT : rc;
    c->next++;
    return ent_memeq(want, stored, sizeof(want)) ? 0 : ENT_ECORRUPT;
}

static int verify_txn(ent_txn *txn, void *data) {
    struct vctx *v = data;
    int rc = read_name(txn, &v->meta);
    for (int t = 0; rc == ENT_OK && t < ENT_TBL__COUNT; t++)
        rc = ent_txn_scan(txn, (ent_table)t, NULL, 0, walk_fn, NULL);
    if (rc != ENT_OK)
        return whyf(v->why, v->cap, ENT_ECORRUPT,
                    "the store cannot be read through (%s)", ent_strerror(rc));
    if ((rc = ent_txn_count(txn, ENT_TBL_OBJECTS, &v->objects)) != ENT_OK ||
        (rc = ent_txn_count(txn, ENT_TBL_OPS, &v->ops)) != ENT_OK)
        return rc;
    uint8_t root[ENT_MERKLE_HASH_LEN];
    if ((rc = ent_actlog_root(txn, &v->log_size, root)) != ENT_OK)
        return whyf(v->why, v->cap, ENT_ECORRUPT, "activity log: %s",
                    ent_strerror(rc));
    struct leaf_check lc = {.next = 0, .txn = txn};
    rc = ent_actlog_foreach(txn, 0, entry_fn, &lc);
    if (rc != ENT_OK || lc.next != v->log_size)
        return whyf(v->why, v->cap, ENT_ECORRUPT,
                    "activity log: an entry does not hash to its stored leaf "
                    "(%s)",
                    ent_strerror(rc != ENT_OK ? rc : ENT_ECORRUPT));
    if ((rc = ent_actlog_heads_foreach(txn, head_fn, v)) != ENT_OK)
        return whyf(v->why, v->cap, ENT_ECORRUPT, "signed heads: %s",
                    ent_strerror(rc));
    if (!v->have_head)
        return ENT_OK;
    if (memcmp(v->newest.org, v->org, ENT_PK_LEN) != 0 ||
        ent_actlog_head_verify(&v->newest) != ENT_OK)
        return whyf(v->why, v->cap, ENT_ECORRUPT,
                    "the newest signed tree head (size %llu) is not signed "
                    "by the backup's org key",
                    (unsigned long long)v->newest.size);
    if (v->newest.size > v->log_size)
        return whyf(v->why, v->cap, ENT_ECORRUPT,
                    "the newest signed tree head covers %llu entries, the log "
                    "holds %llu",
                    (unsigned long long)v->newest.size,
                    (unsigned long long)v->log_size);
    uint8_t r2[ENT_MERKLE_HASH_LEN];
    rc = ent_merkle_root(v->newest.size, leaf_of, txn, r2);
    if (rc != ENT_OK || !ent_memeq(r2, v->newest.root, sizeof(r2)))
        return whyf(v->why, v->cap, ENT_ECORRUPT,
                    "the log's first %llu entries do not have the root the "
                    "newest signed tree head names",
                    (unsigned long long)v->newest.size);
    return ENT_OK;
}

int ent_backup_verify(const char *dir, const ent_log *log, json_t **report,
                      char *why, size_t cap) {
    char p[PATH_MAX];
    int rc = ENT_OK;
    if (report != NULL)
        *report = NULL;
    if (dir == NULL || join(p, dir, ENT_BACKUP_MANIFEST) != ENT_OK)
        return whyf(why, cap, ENT_EINVAL, "bad folder");
    json_t *m = read_manifest(p, why, cap, &rc);
    if (m == NULL)
        return rc;
    json_t *org = json_object_get(m, "org"),
           *name = json_object_get(m, "name"),
           *schema = json_object_get(m, "schema"),
           *created = json_object_get(m, "created");
    struct vctx v = {.why = why, .cap = cap};
    uint64_t bytes = 0;
    ent_identity *id = NULL;
    ent_store *s = NULL;
    ent_org_id_parse(v.org, json_string_value(org)); /* checked by parse */
    if ((rc = check_files(dir, json_object_get(m, "files"), &bytes, why,
                          cap)) != ENT_OK)
        goto out;
    if (join(p, dir, ENT_HOME_KEY) != ENT_OK ||
        (rc = ent_identity_load(&id, p)) != ENT_OK) {
        rc = whyf(why, cap, ENT_ECORRUPT, "identity.key: %s",
                  ent_strerror(rc));
        goto out;
    }
    if (memcmp(ent_identity_public(id), v.org, ENT_PK_LEN) != 0) {
        rc = whyf(why, cap, ENT_ECORRUPT,
                  "identity.key is not the key of org %s",
                  json_string_value(org));
        goto out;
    }
    /* a backup of an older release (a store of an older schema, which a
     * read-only open cannot migrate) is read as the schema its manifest
     * names; restore migrates it, opening it read-write */
    json_int_t mschema = json_integer_value(schema);
    if (join(p, dir, "db") == ENT_OK &&
        (rc = ent_store_open(&s, p, ENT_STORE_RDONLY | ENT_STORE_NOLOCK,
                             log)) == ENT_EVERSION &&
        mschema >= 1 && mschema < ENT_STORE_SCHEMA) {
        ent_store_opts so = {.schema = (uint32_t)mschema};
        rc = ent_store_open_ex(&s, p, ENT_STORE_RDONLY | ENT_STORE_NOLOCK,
                               log, &so);
    }
    if (s == NULL) {
        if (rc == ENT_OK)
            rc = ENT_ENOMEM; /* the folder name did not fit */
        rc = whyf(why, cap, rc == ENT_EVERSION ? rc : ENT_ECORRUPT,
                  "db: the store does not open (%s)%s", ent_strerror(rc),
                  rc == ENT_EVERSION ? ": it was written by a newer entente"
                                     : "");
        goto out;
    }
    uint32_t have = 0;
    if ((rc = ent_store_schema(s, &have)) != ENT_OK ||
        have != (uint32_t)json_integer_value(schema)) {
        rc = whyf(why, cap, ENT_ECORRUPT,
                  "db: schema %u, the manifest says %lld", have,
                  (long long)json_integer_value(schema));
        goto out;
    }
    if ((rc = ent_store_read(s, verify_txn, &v)) != ENT_OK)
        goto out;
    if (strcmp(v.meta.name, json_string_value(name)) != 0) {
        rc = whyf(why, cap, ENT_ECORRUPT,
                  "db: the org name differs from the manifest's");
        goto out;
    }
    if (report != NULL)
        *report = json_pack(
            "{s:b,s:O,s:O,s:O,s:O,s:I,s:I,s:I,s:I,s:I}", "ok", 1, "org", org,
            "name", name, "schema", schema, "created", created, "bytes",
            (json_int_t)bytes, "objects", (json_int_t)v.objects, "ops",
            (json_int_t)v.ops, "log_size", (json_int_t)v.log_size, "heads",
            (json_int_t)v.heads);
out:
    ent_store_close(s);
    ent_identity_free(id);
    json_decref(m);
    return rc;
}

/* ---- restore ------------------------------------------------------------------ */

/* Copies the file src to dst (created, mode 0600, synced). */
static int copy_file(const char *src, const char *dst) {
    static const size_t chunk = 64u << 10;
    int rc = ENT_OK, in = -1, out = -1;
    uint8_t *buf = malloc(chunk);
    if (buf == NULL)
        return ENT_ENOMEM;
    if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0 ||
        (out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        rc = ENT_EIO;
        goto out;
    }
    for (;;) {
        ssize_t n = read(in, buf, chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ENT_EIO;
            goto out;
        }
        if (n == 0)
            break;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                rc = ENT_EIO;
                goto out;
            }
            done += w;
        }
    }
    if (fsync(out) != 0)
        rc = ENT_EIO;
out:
    if (out >= 0)
        close(out);
    if (in >= 0)
        close(in);
    free(buf);
    return rc;
}

/* The restore mark, and the log size the restored log restarts from: the
 * base of the rewind the node declares to witnesses that kept a later
 * head of it (spec/audit.md §11.1). */
static int put_mark(ent_txn *txn, void *data) {
    int rc = ent_home_meta_put(txn, ENT_META_RESTORED, data);
    return rc == ENT_OK ? ent_actlog_rewind_mark(txn) : rc;
}

int ent_backup_restore(const char *dir, const char *home, const ent_log *log,
                       json_t **report, char *why, size_t cap) {
    char tmp[PATH_MAX], p[PATH_MAX], q[PATH_MAX], homeb[PATH_MAX];
    json_t *r = NULL;
    ent_store *s = NULL;
    char *mark = NULL;
    bool made = false;
    int rc;
    if (report != NULL)
        *report = NULL;
    if (dir == NULL || home == NULL || home[0] == '\0')
        return whyf(why, cap, ENT_EINVAL, "no folder given");
    if (trim_slashes(homeb, home) != ENT_OK)
        return whyf(why, cap, ENT_ETOOBIG, "path too long");
    home = homeb;
    if (strlen(home) + 16 >= PATH_MAX)
        return whyf(why, cap, ENT_ETOOBIG, "path too long");
    int st = dir_state(home);
    if (st == ENT_EEXIST)
        return whyf(why, cap, ENT_EEXIST,
                    "%s exists and is not an empty folder (a restore never "
                    "overwrites anything)",
                    home);
    if ((rc = ent_backup_verify(dir, log, &r, why, cap)) != ENT_OK) {
        if (why != NULL && cap > 0) {
            char inner[512];
            snprintf(inner, sizeof(inner), "%s", why);
            whyf(why, cap, rc, "%s: the backup fails its check: %s", dir,
                 inner);
        }
        return rc;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", home);
    if (mkdtemp(tmp) == NULL) {
        rc = whyf(why, cap, ENT_EIO, "cannot create a folder next to %s: %s",
                  home, strerror(errno));
        goto out;
    }
    made = true;
    if (join(p, tmp, "db") != ENT_OK || mkdir(p, 0700) != 0) {
        rc = whyf(why, cap, ENT_EIO, "cannot create %s", p);
        goto out;
    }
    if (join(p, tmp, "db/data.mdb") != ENT_OK ||
        join(q, dir, "db/data.mdb") != ENT_OK ||
        (rc = copy_file(q, p)) != ENT_OK) {
        rc = whyf(why, cap, ENT_EIO, "copying the store failed");
        goto out;
    }
    if (join(p, tmp, ENT_HOME_KEY) != ENT_OK ||
        join(q, dir, ENT_HOME_KEY) != ENT_OK ||
        (rc = copy_key(q, p)) != ENT_OK) {
        rc = whyf(why, cap, ENT_EIO, "copying the key file failed");
        goto out;
    }
    char now[ENT_TIMEFMT_RFC3339_LEN + 1];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ent_timefmt_rfc3339(now, (uint64_t)ts.tv_sec * 1000u +
                                 (uint64_t)ts.tv_nsec / 1000000u);
    json_t *mj = json_pack("{s:s,s:O}", "restored", now, "backup_created",
                           json_object_get(r, "created"));
    mark = mj != NULL ? json_dumps(mj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(mj);
    if (mark == NULL) {
        rc = whyf(why, cap, ENT_ENOMEM, "out of memory");
        goto out;
    }
    if (join(p, tmp, "db") != ENT_OK ||
        (rc = ent_store_open(&s, p, 0, log)) != ENT_OK ||
        (rc = ent_store_write(s, put_mark, mark)) != ENT_OK) {
        rc = whyf(why, cap, rc, "marking the store as restored: %s",
                  ent_strerror(rc));
        goto out;
    }
    ent_store_close(s);
    s = NULL;
    if (join(p, tmp, "db/lock.mdb") == ENT_OK)
        unlink(p); /* the node makes its own */
    if (join(p, tmp, "db/data.mdb") != ENT_OK || sync_path(p) != ENT_OK ||
        join(p, tmp, "db") != ENT_OK || sync_path(p) != ENT_OK ||
        sync_path(tmp) != ENT_OK) {
        rc = whyf(why, cap, ENT_EIO, "syncing %s failed", tmp);
        goto out;
    }
    if (st == ENT_OK && rmdir(home) != 0) {
        rc = whyf(why, cap, ENT_EEXIST, "%s: %s", home, strerror(errno));
        goto out;
    }
    if (rename(tmp, home) != 0) {
        rc = whyf(why, cap, ENT_EIO, "renaming into %s: %s", home,
                  strerror(errno));
        goto out;
    }
    made = false;
    json_object_set_new(r, "home", json_string(home));
    json_object_set_new(r, "restored", json_string(now));
    if (report != NULL) {
        *report = r;
        r = NULL;
    }
out:
    ent_store_close(s);
    if (made)
        remove_tmp(tmp);
    free(mark);
    json_decref(r);
    return rc;
}
