/* identity_test.c - org identity, key file save/load/parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "node/err.h"

/* The version-1 key file of the identity whose seed is 00 01 .. 1f, computed
 * independently (Python: hashlib.blake2b, cryptography's Ed25519) from the
 * layout in spec/crypto.md. */
static const char kat_file_hex[] =
    "89454e544b45590a0001"
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
    "fc9632690df9228efb1b6e1e539ade9c371ae9b06af352a393ad21acd424df3a";

struct fixture {
    char dir[64];
    char path[128];
};

static int setup(void **state) {
    struct fixture *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    strcpy(f->dir, "/tmp/ent-identity-test.XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/identity.key", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    struct fixture *f = *state;
    DIR *d = opendir(f->dir);
    struct dirent *e;
    char p[512];

    if (d != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
            if (unlink(p) != 0)
                rmdir(p);
        }
        closedir(d);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Number of directory entries other than . and .. */
static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void write_file(const char *path, const uint8_t *buf, size_t len,
                       mode_t mode) {
    int fd;

    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static size_t read_file(const char *path, uint8_t *buf, size_t cap) {
    int fd = open(path, O_RDONLY);
    ssize_t n;

    assert_true(fd >= 0);
    n = read(fd, buf, cap);
    assert_true(n >= 0);
    close(fd);
    return (size_t)n;
}

static void test_known_answer_file(void **state) {
    uint8_t seed[ENT_SIG_SEED_LEN], want[ENT_IDENTITY_FILE_LEN],
        got[ENT_IDENTITY_FILE_LEN];
    ent_identity *id = NULL, *back = NULL;
    (void)state;

    for (int i = 0; i < ENT_SIG_SEED_LEN; i++)
        seed[i] = (uint8_t)i;
    assert_int_equal(ent_hex_decode(want, sizeof(want), kat_file_hex), ENT_OK);
    assert_int_equal(ent_identity_from_seed(&id, seed), ENT_OK);
    ent_identity_encode(id, got);
    assert_memory_equal(got, want, sizeof(want));
    assert_int_equal(ent_identity_parse(&back, want, sizeof(want)), ENT_OK);
    assert_memory_equal(ent_identity_public(back), ent_identity_public(id),
                        ENT_PK_LEN);
    ent_identity_free(back);
    ent_identity_free(id);
}

static void test_generate_distinct(void **state) {
    ent_identity *a = NULL, *b = NULL;
    char ida[ENT_ORG_ID_LEN + 1], idb[ENT_ORG_ID_LEN + 1];
    uint8_t pk[ENT_PK_LEN];
    (void)state;

    assert_int_equal(ent_identity_generate(&a), ENT_OK);
    assert_int_equal(ent_identity_generate(&b), ENT_OK);
    assert_memory_not_equal(ent_identity_public(a), ent_identity_public(b),
                            ENT_PK_LEN);
    ent_identity_org_id(a, ida);
    ent_identity_org_id(b, idb);
    assert_int_equal(strlen(ida), ENT_ORG_ID_LEN);
    assert_string_not_equal(ida, idb);
    assert_int_equal(ent_org_id_parse(pk, ida), ENT_OK);
    assert_memory_equal(pk, ent_identity_public(a), ENT_PK_LEN);
    ent_identity_free(a);
    ent_identity_free(b);
    ent_identity_free(NULL);
}

static void test_save_load_roundtrip(void **state) {
    struct fixture *f = *state;
    ent_identity *id = NULL, *back = NULL;
    uint8_t sig[ENT_SIG_LEN], disk[256], enc[ENT_IDENTITY_FILE_LEN];
    struct stat st;
    size_t n;

    assert_int_equal(ent_identity_generate(&id), ENT_OK);
    assert_int_equal(ent_identity_save(id, f->path), ENT_OK);
    assert_int_equal(stat(f->path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, ENT_IDENTITY_FILE_LEN);
    assert_int_equal(count_entries(f->dir), 1); /* no temp file left */
    n = read_file(f->path, disk, sizeof(disk));
    ent_identity_encode(id, enc);
    assert_int_equal(n, ENT_IDENTITY_FILE_LEN);
    assert_memory_equal(disk, enc, n);

    assert_int_equal(ent_identity_load(&back, f->path), ENT_OK);
    assert_memory_equal(ent_identity_public(back), ent_identity_public(id),
                        ENT_PK_LEN);
    /* the loaded secret key signs for the original public key */
    assert_int_equal(
        ent_identity_sign(back, ENT_SIGCTX_OP, (const uint8_t *)"x", 1, sig),
        ENT_OK);
    assert_int_equal(ent_sig_verify(ent_identity_public(id), ENT_SIGCTX_OP,
                                    (const uint8_t *)"x", 1, sig),
                     ENT_OK);
    /* and derives the same X25519 pair */
    uint8_t xa[32], sa[32], xb[32], sb[32];
    assert_int_equal(ent_identity_x25519(id, xa, sa), ENT_OK);
    assert_int_equal(ent_identity_x25519(back, xb, sb), ENT_OK);
    assert_memory_equal(xa, xb, 32);
    assert_memory_equal(sa, sb, 32);
    ent_identity_free(back);
    ent_identity_free(id);
}

static void test_save_refuses_existing(void **state) {
    struct fixture *f = *state;
    ent_identity *a = NULL, *b = NULL, *back = NULL;
    uint8_t before[256], after[256];
    size_t n1, n2;

    assert_int_equal(ent_identity_generate(&a), ENT_OK);
    assert_int_equal(ent_identity_generate(&b), ENT_OK);
    assert_int_equal(ent_identity_save(a, f->path), ENT_OK);
    n1 = read_file(f->path, before, sizeof(before));
    assert_int_equal(ent_identity_save(b, f->path), ENT_EEXIST);
    assert_int_equal(ent_identity_save(a, f->path), ENT_EEXIST);
    n2 = read_file(f->path, after, sizeof(after));
    assert_int_equal(n1, n2);
    assert_memory_equal(before, after, n1);
    assert_int_equal(count_entries(f->dir), 1); /* temp files removed */
    assert_int_equal(ent_identity_load(&back, f->path), ENT_OK);
    assert_memory_equal(ent_identity_public(back), ent_identity_public(a),
                        ENT_PK_LEN);

    /* an existing file of any kind, even an empty one, is kept */
    char other[160];
    snprintf(other, sizeof(other), "%s/empty", f->dir);
    write_file(other, (const uint8_t *)"", 0, 0600);
    assert_int_equal(ent_identity_save(a, other), ENT_EEXIST);
    struct stat st;
    assert_int_equal(stat(other, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(count_entries(f->dir), 2);

    /* a missing directory is an error and leaves nothing behind */
    char missing[160];
    snprintf(missing, sizeof(missing), "%s/nope/identity.key", f->dir);
    assert_int_equal(ent_identity_save(a, missing), ENT_ENOENT);
    assert_int_equal(count_entries(f->dir), 2);
    ent_identity_free(back);
    ent_identity_free(a);
    ent_identity_free(b);
}

static void test_load_refuses_insecure(void **state) {
    struct fixture *f = *state;
    ent_identity *id = NULL, *back = NULL;
    static const mode_t bad[] = {0644, 0640, 0604, 0660, 0606,
                                 0610, 0601, 0620, 0602, 0700 | 0004};
    (void)state;

    assert_int_equal(ent_identity_generate(&id), ENT_OK);
    assert_int_equal(ent_identity_save(id, f->path), ENT_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(chmod(f->path, bad[i]), 0);
        assert_int_equal(ent_identity_load(&back, f->path), ENT_EINSECURE);
        assert_null(back);
    }
    /* owner-only modes are fine */
    assert_int_equal(chmod(f->path, 0400), 0);
    assert_int_equal(ent_identity_load(&back, f->path), ENT_OK);
    ent_identity_free(back);
    back = NULL;
    assert_int_equal(chmod(f->path, 0600), 0);
    assert_int_equal(ent_identity_load(&back, f->path), ENT_OK);
    ent_identity_free(back);
    ent_identity_free(id);
}

static void test_load_refuses_non_regular(void **state) {
    struct fixture *f = *state;
    ent_identity *back = NULL;
    char p[160];

    snprintf(p, sizeof(p), "%s/missing.key", f->dir);
    assert_int_equal(ent_identity_load(&back, p), ENT_ENOENT);
    /* a directory */
    snprintf(p, sizeof(p), "%s/dir.key", f->dir);
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(ent_identity_load(&back, p), ENT_EINVAL);
    /* a FIFO: refused without blocking */
    snprintf(p, sizeof(p), "%s/fifo.key", f->dir);
    assert_int_equal(mkfifo(p, 0600), 0);
    assert_int_equal(ent_identity_load(&back, p), ENT_EINVAL);
    assert_null(back);
}

static void test_load_truncated(void **state) {
    struct fixture *f = *state;
    ent_identity *id = NULL, *back = NULL;
    uint8_t buf[ENT_IDENTITY_FILE_LEN];

    assert_int_equal(ent_identity_generate(&id), ENT_OK);
    ent_identity_encode(id, buf);
    for (size_t len = 0; len < sizeof(buf); len++) {
        write_file(f->path, buf, len, 0600);
        assert_int_equal(ent_identity_load(&back, f->path), ENT_ETRUNCATED);
        assert_null(back);
        assert_int_equal(ent_identity_parse(&back, buf, len), ENT_ETRUNCATED);
        assert_null(back);
    }
    write_file(f->path, buf, sizeof(buf), 0600);
    assert_int_equal(ent_identity_load(&back, f->path), ENT_OK);
    ent_identity_free(back);
    ent_identity_free(id);
}

static void test_parse_every_flipped_bit(void **state) {
    struct fixture *f = *state;
    ent_identity *id = NULL, *back = NULL;
    uint8_t buf[ENT_IDENTITY_FILE_LEN];

    assert_int_equal(ent_identity_generate(&id), ENT_OK);
    ent_identity_encode(id, buf);
    for (size_t bit = 0; bit < sizeof(buf) * 8; bit++) {
        size_t byte = bit / 8;
        int want = (byte == 8 || byte == 9) ? ENT_EVERSION : ENT_ECORRUPT;
        buf[byte] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(ent_identity_parse(&back, buf, sizeof(buf)), want);
        assert_null(back);
        /* through the file too, for one bit in every byte */
        if (bit % 8 == 3) {
            write_file(f->path, buf, sizeof(buf), 0600);
            assert_int_equal(ent_identity_load(&back, f->path), want);
            assert_null(back);
        }
        buf[byte] ^= (uint8_t)(1u << (bit % 8));
    }
    assert_int_equal(ent_identity_parse(&back, buf, sizeof(buf)), ENT_OK);
    ent_identity_free(back);
    ent_identity_free(id);
}

static void test_parse_bad_headers(void **state) {
    struct fixture *f = *state;
    ent_identity *id = NULL, *other = NULL, *back = NULL;
    uint8_t buf[ENT_IDENTITY_FILE_LEN + 8], good[ENT_IDENTITY_FILE_LEN];
    const size_t sum_off = ENT_IDENTITY_FILE_LEN - ENT_HASH_LEN;

    assert_int_equal(ent_identity_generate(&id), ENT_OK);
    assert_int_equal(ent_identity_generate(&other), ENT_OK);
    ent_identity_encode(id, good);

    /* wrong magic, even with a correct checksum */
    memcpy(buf, good, sizeof(good));
    memcpy(buf, "ENTKEY\0\1", 8);
    ent_hash(buf + sum_off, buf, sum_off);
    assert_int_equal(ent_identity_parse(&back, buf, sizeof(good)),
                     ENT_ECORRUPT);
    /* a short file with the wrong magic is corrupt, not truncated */
    assert_int_equal(ent_identity_parse(&back, buf, 3), ENT_ECORRUPT);

    /* another version, checksum recomputed: unsupported, whatever the size */
    memcpy(buf, good, sizeof(good));
    buf[8] = 0;
    buf[9] = 2;
    ent_hash(buf + sum_off, buf, sum_off);
    assert_int_equal(ent_identity_parse(&back, buf, sizeof(good)),
                     ENT_EVERSION);
    assert_int_equal(ent_identity_parse(&back, buf, 10), ENT_EVERSION);
    assert_int_equal(ent_identity_parse(&back, buf, sizeof(buf)), ENT_EVERSION);
    buf[9] = 0;
    assert_int_equal(ent_identity_parse(&back, buf, sizeof(good)),
                     ENT_EVERSION);
    write_file(f->path, buf, sizeof(good), 0600);
    assert_int_equal(ent_identity_load(&back, f->path), ENT_EVERSION);

    /* trailing bytes */
    memcpy(buf, good, sizeof(good));
    buf[sizeof(good)] = 0;
    assert_int_equal(ent_identity_parse(&back, buf, sizeof(good) + 1),
                     ENT_ECORRUPT);
    write_file(f->path, buf, sizeof(good) + 1, 0600);
    assert_int_equal(ent_identity_load(&back, f->path), ENT_ECORRUPT);
    /* a large file is read only as far as needed and refused */
    {
        uint8_t big[4096];
        memset(big, 0x41, sizeof(big));
        memcpy(big, good, sizeof(good));
        write_file(f->path, big, sizeof(big), 0600);
        assert_int_equal(ent_identity_load(&back, f->path), ENT_ECORRUPT);
    }

    /* a valid checksum over a seed and someone else's public key */
    memcpy(buf, good, sizeof(good));
    memcpy(buf + 42, ent_identity_public(other), ENT_PK_LEN);
    ent_hash(buf + sum_off, buf, sum_off);
    assert_int_equal(ent_identity_parse(&back, buf, sizeof(good)),
                     ENT_ECORRUPT);
    assert_null(back);

    assert_int_equal(ent_identity_parse(&back, NULL, 0), ENT_ETRUNCATED);
    assert_int_equal(ent_identity_parse(NULL, good, sizeof(good)), ENT_EINVAL);
    ent_identity_free(other);
    ent_identity_free(id);
}

static void test_from_seed_deterministic(void **state) {
    uint8_t seed[ENT_SIG_SEED_LEN], a_enc[ENT_IDENTITY_FILE_LEN],
        b_enc[ENT_IDENTITY_FILE_LEN];
    uint8_t sig_a[ENT_SIG_LEN], sig_b[ENT_SIG_LEN];
    ent_identity *a = NULL, *b = NULL;
    (void)state;

    ent_random(seed, sizeof(seed));
    assert_int_equal(ent_identity_from_seed(&a, seed), ENT_OK);
    assert_int_equal(ent_identity_from_seed(&b, seed), ENT_OK);
    ent_identity_encode(a, a_enc);
    ent_identity_encode(b, b_enc);
    assert_memory_equal(a_enc, b_enc, sizeof(a_enc));
    assert_memory_equal(a_enc + 10, seed, sizeof(seed));
    assert_int_equal(
        ent_identity_sign(a, ENT_SIGCTX_KEYS, (const uint8_t *)"k", 1, sig_a),
        ENT_OK);
    assert_int_equal(
        ent_identity_sign(b, ENT_SIGCTX_KEYS, (const uint8_t *)"k", 1, sig_b),
        ENT_OK);
    assert_memory_equal(sig_a, sig_b, sizeof(sig_a));
    ent_identity_free(a);
    ent_identity_free(b);
}

static void test_x25519_agree(void **state) {
    ent_identity *a = NULL, *b = NULL;
    uint8_t xpk_a[32], xsk_a[32], xpk_b[32], xsk_b[32], s1[32], s2[32],
        conv[32];
    (void)state;

    assert_int_equal(ent_identity_generate(&a), ENT_OK);
    assert_int_equal(ent_identity_generate(&b), ENT_OK);
    assert_int_equal(ent_identity_x25519(a, xpk_a, xsk_a), ENT_OK);
    assert_int_equal(ent_identity_x25519(b, xpk_b, xsk_b), ENT_OK);
    /* each side derives the other's X25519 key from its org key alone */
    assert_int_equal(ent_pk_to_x25519(conv, ent_identity_public(b)), ENT_OK);
    assert_memory_equal(conv, xpk_b, 32);
    assert_int_equal(ent_x25519_shared(s1, xsk_a, conv), ENT_OK);
    assert_int_equal(ent_pk_to_x25519(conv, ent_identity_public(a)), ENT_OK);
    assert_int_equal(ent_x25519_shared(s2, xsk_b, conv), ENT_OK);
    assert_memory_equal(s1, s2, 32);
    assert_memory_not_equal(xsk_a, xsk_b, 32);
    ent_wipe(xsk_a, 32);
    ent_wipe(xsk_b, 32);
    ent_identity_free(a);
    ent_identity_free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer_file),
        cmocka_unit_test(test_generate_distinct),
        cmocka_unit_test_setup_teardown(test_save_load_roundtrip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_save_refuses_existing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_load_refuses_insecure, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_load_refuses_non_regular, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_load_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_every_flipped_bit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_parse_bad_headers, setup,
                                        teardown),
        cmocka_unit_test(test_from_seed_deterministic),
        cmocka_unit_test(test_x25519_agree),
    };
    if (ent_crypto_init() != ENT_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
