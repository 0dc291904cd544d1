/*
 * identity.c - an org's Ed25519 identity and its key file.
 *
 * The secret key lives in sodium_malloc()ed memory (guard pages, mlock where
 * the system allows, wiped by sodium_free()). The key file format and the
 * rules for loading and saving it are in spec/crypto.md, "Key file".
 */
#include "crypto/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "node/err.h"

/* Key file layout, version 1 (spec/crypto.md). */
#define KF_MAGIC_LEN 8
#define KF_VERSION 1
#define KF_OFF_VERSION 8
#define KF_OFF_SEED 10
#define KF_OFF_PK (KF_OFF_SEED + ENT_SIG_SEED_LEN)
#define KF_OFF_SUM (KF_OFF_PK + ENT_PK_LEN)
#define KF_SUM_LEN ENT_HASH_LEN

_Static_assert(KF_OFF_SUM + KF_SUM_LEN == ENT_IDENTITY_FILE_LEN,
               "key file length");

static const uint8_t kf_magic[KF_MAGIC_LEN] = {0x89, 'E', 'N', 'T',
                                               'K',  'E', 'Y', 0x0a};

/* Only byte arrays: sodium_malloc() does not align to more than 1. */
struct ent_identity {
    uint8_t sk[ENT_SK_LEN]; /* seed || pk, libsodium's layout */
    uint8_t pk[ENT_PK_LEN];
};

_Static_assert(_Alignof(struct ent_identity) == 1, "byte arrays only");

static int identity_alloc(ent_identity **out) {
    ent_identity *id;

    if (ent_crypto_init() != ENT_OK)
        return ENT_ECRYPTO;
    id = sodium_malloc(sizeof(*id));
    if (id == NULL)
        return ENT_ENOMEM;
    *out = id;
    return ENT_OK;
}

void ent_identity_free(ent_identity *id) {
    if (id == NULL)
        return;
    ent_wipe(id, sizeof(*id));
    sodium_free(id); /* wipes again and unmaps the guard pages */
}

int ent_identity_generate(ent_identity **out) {
    ent_identity *id = NULL;
    int rc;

    if (out == NULL)
        return ENT_EINVAL;
    *out = NULL;
    rc = identity_alloc(&id);
    if (rc != ENT_OK)
        goto out;
    if (crypto_sign_keypair(id->pk, id->sk) != 0) {
        rc = ENT_ECRYPTO;
        goto out;
    }
    *out = id;
    id = NULL;
out:
    ent_identity_free(id);
    return rc;
}

int ent_identity_from_seed(ent_identity **out,
                           const uint8_t seed[ENT_SIG_SEED_LEN]) {
    ent_identity *id = NULL;
    int rc;

    if (out == NULL || seed == NULL)
        return ENT_EINVAL;
    *out = NULL;
    rc = identity_alloc(&id);
    if (rc != ENT_OK)
        goto out;
    if (crypto_sign_seed_keypair(id->pk, id->sk, seed) != 0) {
        rc = ENT_ECRYPTO;
        goto out;
    }
    *out = id;
    id = NULL;
out:
    ent_identity_free(id);
    return rc;
}

const uint8_t *ent_identity_public(const ent_identity *id) {
    return id->pk;
}

void ent_identity_org_id(const ent_identity *id, char out[ENT_ORG_ID_LEN + 1]) {
    ent_org_id_format(out, id->pk);
}

int ent_identity_sign(const ent_identity *id, ent_sig_ctx ctx,
                      const uint8_t *msg, size_t len,
                      uint8_t sig[ENT_SIG_LEN]) {
    if (id == NULL)
        return ENT_EINVAL;
    return ent__sig_sign(sig, id->sk, ctx, msg, len);
}

int ent_identity_x25519(const ent_identity *id, uint8_t xpk[ENT_X25519_LEN],
                        uint8_t xsk[ENT_X25519_LEN]) {
    if (id == NULL || xpk == NULL || xsk == NULL)
        return ENT_EINVAL;
    if (crypto_sign_ed25519_sk_to_curve25519(xsk, id->sk) != 0 ||
        crypto_sign_ed25519_pk_to_curve25519(xpk, id->pk) != 0) {
        ent_wipe(xsk, ENT_X25519_LEN);
        return ENT_ECRYPTO;
    }
    return ENT_OK;
}

void ent_identity_encode(const ent_identity *id,
                         uint8_t out[ENT_IDENTITY_FILE_LEN]) {
    memcpy(out, kf_magic, KF_MAGIC_LEN);
    out[KF_OFF_VERSION] = (uint8_t)(KF_VERSION >> 8);
    out[KF_OFF_VERSION + 1] = (uint8_t)(KF_VERSION & 0xff);
    memcpy(out + KF_OFF_SEED, id->sk, ENT_SIG_SEED_LEN);
    memcpy(out + KF_OFF_PK, id->pk, ENT_PK_LEN);
    ent_hash(out + KF_OFF_SUM, out, KF_OFF_SUM);
}

/*
 * Checks, in this order: magic (on the bytes present), enough bytes for the
 * version, version, exact length, checksum, and that the seed derives the
 * stored public key. The order is part of the spec, so that a file from a
 * future version says "unsupported version" rather than "corrupt".
 */
int ent_identity_parse(ent_identity **out, const uint8_t *buf, size_t len) {
    ent_identity *id = NULL;
    uint8_t sum[KF_SUM_LEN];
    unsigned version;
    int rc;

    if (out == NULL || (buf == NULL && len > 0))
        return ENT_EINVAL;
    *out = NULL;
    if (len > 0 &&
        memcmp(buf, kf_magic, len < KF_MAGIC_LEN ? len : KF_MAGIC_LEN) != 0)
        return ENT_ECORRUPT;
    if (len < KF_OFF_SEED)
        return ENT_ETRUNCATED;
    version = (unsigned)buf[KF_OFF_VERSION] << 8 | buf[KF_OFF_VERSION + 1];
    if (version != KF_VERSION)
        return ENT_EVERSION;
    if (len < ENT_IDENTITY_FILE_LEN)
        return ENT_ETRUNCATED;
    if (len > ENT_IDENTITY_FILE_LEN)
        return ENT_ECORRUPT;
    ent_hash(sum, buf, KF_OFF_SUM);
    if (!ent_memeq(sum, buf + KF_OFF_SUM, KF_SUM_LEN))
        return ENT_ECORRUPT;
    rc = ent_identity_from_seed(&id, buf + KF_OFF_SEED);
    if (rc != ENT_OK)
        goto out;
    if (!ent_memeq(id->pk, buf + KF_OFF_PK, ENT_PK_LEN)) {
        rc = ENT_ECORRUPT;
        goto out;
    }
    *out = id;
    id = NULL;
out:
    ent_identity_free(id);
    return rc;
}

/* Reads up to cap bytes from fd into buf (fewer only at end of file). */
static int read_upto(int fd, uint8_t *buf, size_t cap, size_t *got) {
    size_t n = 0;

    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return ent_err_from_errno(errno);
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *got = n;
    return ENT_OK;
}

int ent_identity_load(ent_identity **out, const char *path) {
    /* One byte more than a key file, so that trailing bytes are seen. */
    uint8_t buf[ENT_IDENTITY_FILE_LEN + 1];
    struct stat st;
    size_t got = 0;
    int fd = -1;
    int rc;

    if (out == NULL || path == NULL)
        return ENT_EINVAL;
    *out = NULL;
    /* O_NONBLOCK: opening a FIFO must not hang; it is refused below. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        rc = ent_err_from_errno(errno);
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        rc = ent_err_from_errno(errno);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = ENT_EINVAL;
        goto out;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        rc = ENT_EINSECURE;
        goto out;
    }
    rc = read_upto(fd, buf, sizeof(buf), &got);
    if (rc != ENT_OK)
        goto out;
    rc = ent_identity_parse(out, buf, got);
out:
    ent_wipe(buf, sizeof(buf));
    if (fd >= 0)
        close(fd);
    return rc;
}

static int write_all(int fd, const uint8_t *buf, size_t len) {
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return ent_err_from_errno(errno);
        }
        buf += w;
        len -= (size_t)w;
    }
    return ENT_OK;
}

/*
 * Moves tmp to path unless path exists: renameat2(RENAME_NOREPLACE) where the
 * file system has it, else link() then unlink() of tmp. Both fail with
 * EEXIST rather than replace. *tmp_gone tells whether tmp is still there.
 */
static int place_noreplace(const char *tmp, const char *path, bool *tmp_gone) {
    *tmp_gone = false;
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0) {
        *tmp_gone = true;
        return ENT_OK;
    }
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return ent_err_from_errno(errno);
    if (link(tmp, path) != 0)
        return ent_err_from_errno(errno);
    if (unlink(tmp) == 0)
        *tmp_gone = true;
    return ENT_OK;
}

/* fsyncs the directory that holds path, so that a new entry is durable. */
static int sync_parent_dir(const char *path) {
    char *copy = strdup(path);
    char *slash;
    int dfd = -1;
    int rc = ENT_OK;

    if (copy == NULL)
        return ENT_ENOMEM;
    slash = strrchr(copy, '/');
    if (slash == NULL) {
        strcpy(copy, ".");
    } else if (slash == copy) {
        copy[1] = '\0';
    } else {
        *slash = '\0';
    }
    dfd = open(copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0)
        rc = ent_err_from_errno(errno);
    if (dfd >= 0)
        close(dfd);
    free(copy);
    return rc;
}

int ent_identity_save(const ent_identity *id, const char *path) {
    static const char suffix[] = ".tmp-XXXXXX";
    uint8_t buf[ENT_IDENTITY_FILE_LEN];
    char *tmp = NULL;
    bool tmp_exists = false;
    bool tmp_gone = false;
    size_t plen;
    int fd = -1;
    int rc;

    if (id == NULL || path == NULL || path[0] == '\0')
        return ENT_EINVAL;
    ent_identity_encode(id, buf);
    plen = strlen(path);
    tmp = malloc(plen + sizeof(suffix));
    if (tmp == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, suffix, sizeof(suffix));
    /* mkostemp: O_CREAT | O_EXCL, mode 0600. */
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = ent_err_from_errno(errno);
        goto out;
    }
    tmp_exists = true;
    if (fchmod(fd, S_IRUSR | S_IWUSR) != 0) {
        rc = ent_err_from_errno(errno);
        goto out;
    }
    rc = write_all(fd, buf, sizeof(buf));
    if (rc != ENT_OK)
        goto out;
    if (fsync(fd) != 0) {
        rc = ent_err_from_errno(errno);
        goto out;
    }
    rc = close(fd) != 0 ? ent_err_from_errno(errno) : ENT_OK;
    fd = -1;
    if (rc != ENT_OK)
        goto out;
    rc = place_noreplace(tmp, path, &tmp_gone);
    if (tmp_gone)
        tmp_exists = false;
    if (rc != ENT_OK)
        goto out;
    rc = sync_parent_dir(path);
out:
    if (fd >= 0)
        close(fd);
    if (tmp_exists)
        unlink(tmp);
    free(tmp);
    ent_wipe(buf, sizeof(buf));
    return rc;
}
