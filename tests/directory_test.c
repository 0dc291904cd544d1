/*
 * directory_test.c - the in-memory Merkle tree and the object directory
 * (node/audit/directory.h): after every append and every replaced leaf,
 * the root of every prefix and every inclusion path equal those of
 * crypto/merkle.c computed from the same leaves from scratch, and verify;
 * the directory gives each object its first-entry position and latest
 * index, and the oprev an entry must carry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/merkle.h"
#include "node/audit/directory.h"
#include "node/err.h"

#define LEAVES 300

static uint8_t leaves[LEAVES][32];

static int leaf_fn(void *data, uint64_t i, uint8_t out[32]) {
    (void)data;
    memcpy(out, leaves[i], 32);
    return ENT_OK;
}

/* The roots and paths of t against crypto/merkle.c: every prefix and
 * every path, or (all_paths false) the whole tree and a sample of paths,
 * the last leaf always among them. */
static void check_tree(const ent_mtree *t, uint64_t n, bool all_paths) {
    uint8_t want[32], got[32];
    uint8_t p1[ENT_MERKLE_MAX_PROOF][32], p2[ENT_MERKLE_MAX_PROOF][32];
    size_t l1, l2;
    assert_int_equal(ent_mtree_size(t), n);
    for (uint64_t m = all_paths ? 1 : n; m <= n; m++) {
        assert_int_equal(ent_merkle_root(m, leaf_fn, NULL, want), ENT_OK);
        ent_mtree_root(t, m, got);
        assert_memory_equal(got, want, 32);
        uint64_t step = all_paths ? 1 : m / 7 + 1;
        for (uint64_t i = m - 1; i < m; i = i >= step ? i - step : m) {
            assert_int_equal(ent_merkle_inclusion_proof(i, m, leaf_fn, NULL,
                                                        p1,
                                                        ENT_MERKLE_MAX_PROOF,
                                                        &l1),
                             ENT_OK);
            assert_int_equal(
                ent_mtree_path(t, i, m, p2, ENT_MERKLE_MAX_PROOF, &l2),
                ENT_OK);
            assert_int_equal(l1, l2);
            assert_memory_equal(p1, p2, l1 * 32);
            assert_int_equal(ent_merkle_verify_inclusion(
                                 i, m, leaves[i], (const uint8_t(*)[32])p2,
                                 l2, want),
                             ENT_OK);
        }
    }
    assert_int_equal(ent_mtree_path(t, n, n, p2, ENT_MERKLE_MAX_PROOF, &l2),
                     ENT_EINVAL);
}

static void test_tree(void **state) {
    ent_mtree *t = NULL;
    uint8_t root[32], empty[32];
    assert_int_equal(ent_crypto_init(), ENT_OK);
    assert_int_equal(ent_mtree_new(&t), ENT_OK);
    ent_mtree_root(t, 0, root);
    ent_merkle_empty_root(empty);
    assert_memory_equal(root, empty, 32);
    for (uint64_t i = 0; i < LEAVES; i++) {
        ent_hash(leaves[i], &i, sizeof(i));
        assert_int_equal(ent_mtree_append(t, leaves[i]), ENT_OK);
        check_tree(t, i + 1, i < 70);
        /* replace an earlier leaf (every third step) */
        if (i % 3 == 2) {
            uint64_t p = (i * 7919) % (i + 1);
            leaves[p][0] ^= 0x5a;
            assert_int_equal(ent_mtree_set(t, p, leaves[p]), ENT_OK);
            check_tree(t, i + 1, false);
        }
    }
    assert_int_equal(ent_mtree_set(t, LEAVES, leaves[0]), ENT_EINVAL);
    ent_mtree_free(t);
    ent_mtree_free(NULL);
}

static void test_directory(void **state) {
    ent_dir *d = NULL;
    uint8_t obj[5][32], root[32], want[32];
    uint64_t oprev, pos, last;
    assert_int_equal(ent_crypto_init(), ENT_OK);
    for (int i = 0; i < 5; i++)
        memset(obj[i], 0x10 + i, 32);
    assert_int_equal(ent_dir_new(&d), ENT_OK);
    assert_int_equal(ent_dir_size(d), 0);
    assert_int_equal(ent_dir_find(d, obj[0], &pos, &last), ENT_ENOENT);
    /* entries 0..: objects 2, 0, 2, 4, 0, 2 (entry 3 names none) */
    const int seq[] = {2, 0, 2, -1, 4, 0, 2};
    const uint64_t want_oprev[] = {0, 1, 0, 3, 4, 1, 2};
    for (uint64_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        if (seq[i] < 0)
            continue;
        assert_int_equal(ent_dir_note(d, obj[seq[i]], i, &oprev), ENT_OK);
        assert_int_equal(oprev, want_oprev[i]);
    }
    /* positions by first entry: 2, 0, 4; latest indexes 6, 5, 4 */
    assert_int_equal(ent_dir_size(d), 3);
    const int order[] = {2, 0, 4};
    const uint64_t lasts[] = {6, 5, 4};
    for (uint64_t k = 0; k < 3; k++) {
        assert_int_equal(ent_dir_find(d, obj[order[k]], &pos, &last), ENT_OK);
        assert_int_equal(pos, k);
        assert_int_equal(last, lasts[k]);
        ent_dir_leaf_hash(leaves[k], obj[order[k]], lasts[k]);
    }
    /* the leaf is HASH(0x00 || object || last as u64 big-endian) */
    uint8_t buf[41] = {0};
    memcpy(buf + 1, obj[2], 32);
    buf[40] = 6;
    ent_hash(want, buf, sizeof(buf));
    assert_memory_equal(leaves[0], want, 32);
    ent_dir_root(d, root);
    assert_int_equal(ent_merkle_root(3, leaf_fn, NULL, want), ENT_OK);
    assert_memory_equal(root, want, 32);
    uint8_t path[ENT_MERKLE_MAX_PROOF][32];
    size_t plen;
    assert_int_equal(ent_dir_path(d, 1, path, ENT_MERKLE_MAX_PROOF, &plen),
                     ENT_OK);
    assert_int_equal(ent_merkle_verify_inclusion(1, 3, leaves[1],
                                                 (const uint8_t(*)[32])path,
                                                 plen, root),
                     ENT_OK);
    assert_int_equal(ent_dir_path(d, 3, path, ENT_MERKLE_MAX_PROOF, &plen),
                     ENT_EINVAL);
    /* many objects: the table grows and keeps every one */
    for (uint64_t i = 0; i < 5000; i++) {
        uint8_t o[32];
        ent_hash(o, &i, sizeof(i));
        assert_int_equal(ent_dir_note(d, o, 100 + i, &oprev), ENT_OK);
        assert_int_equal(oprev, 100 + i);
    }
    for (uint64_t i = 0; i < 5000; i += 97) {
        uint8_t o[32];
        ent_hash(o, &i, sizeof(i));
        assert_int_equal(ent_dir_find(d, o, &pos, &last), ENT_OK);
        assert_int_equal(pos, 3 + i);
        assert_int_equal(last, 100 + i);
    }
    assert_int_equal(ent_dir_size(d), 5003);
    ent_dir_free(d);
    ent_dir_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree),
        cmocka_unit_test(test_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
