/*
 * gossip_hist_test.c - the history cursor of node/peers/gossip.c
 * (ent_gossip_hist_open / _next, spec/gossip.md "Growth"): a join's history
 * read a window at a time hands out exactly the keys of ent_gossip_missing()
 * with no vector, in the same causal order, whatever the window; its total
 * is the number of ops, also when ops were erased (stubs are not sent); an
 * object without ops hands out nothing; ops stored
 * after the open by a known author still come out. And ent_gossip_missing()
 * with a vector, which seeks each author's first missing seq instead of
 * walking every op: exactly the keys above the vector, in the same order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/objects/object.h"
#include "node/peers/gossip.h"
#include "node/peers/sim.h"

/* Three members, each commenting several times with rounds between: the
 * object's ops come from three authors with interleaved HLCs. */
static ent_sim *three_authors(uint8_t id[32]) {
    ent_sim *s = NULL;
    ent_sim_config cfg = {.nodes = 3, .latency_min_ms = 5,
                          .latency_max_ms = 20, .seed = 5};
    assert_int_equal(ent_sim_new(&s, &cfg), ENT_OK);
    assert_int_equal(ent_sim_make_object(s, 3, id), ENT_OK);
    for (int r = 0; r < 6; r++) {
        for (size_t i = 0; i < 3; i++)
            if ((r + i) % 2 == 0 || i == 0)
                assert_int_equal(ent_sim_comment(s, i, id, true), ENT_OK);
        ent_sim_round(s);
    }
    for (int r = 0; r < 20 && !ent_sim_converged(s, 3, id); r++)
        ent_sim_round(s);
    assert_true(ent_sim_converged(s, 3, id));
    return s;
}

static bool key_eq(const ent_gossip_key *a, const ent_gossip_key *b) {
    return a->hlc == b->hlc && a->seq == b->seq &&
           a->is_fork == b->is_fork &&
           memcmp(a->author, b->author, 32) == 0 &&
           (!a->is_fork || memcmp(a->fork, b->fork, 32) == 0);
}

/* All of h's keys, read max at a time; *n out. */
static ent_gossip_key *drain(ent_gossip *g, ent_gossip_hist *h, size_t max,
                             size_t *n) {
    ent_gossip_key *all = NULL;
    size_t got = 0;
    ent_gossip_key *win = calloc(max, sizeof(*win));
    assert_non_null(win);
    for (;;) {
        size_t k = 0;
        assert_int_equal(ent_gossip_hist_next(g, h, win, max, &k), ENT_OK);
        assert_true(k <= max);
        if (k == 0)
            break;
        all = realloc(all, (got + k) * sizeof(*all));
        assert_non_null(all);
        memcpy(all + got, win, k * sizeof(*win));
        got += k;
    }
    free(win);
    *n = got;
    return all;
}

static void test_same_as_missing(void **state) {
    (void)state;
    uint8_t id[32];
    ent_sim *s = three_authors(id);
    ent_gossip *g = ent_sim_gossip(s, 1);
    ent_gossip_key *want = NULL;
    size_t nwant = 0;
    assert_int_equal(ent_gossip_missing(g, id, NULL, 0, &want, &nwant),
                     ENT_OK);
    assert_int_equal(nwant, ent_sim_nops(s, 1, id));
    assert_true(nwant > 10);
    /* three authors: the merge is really exercised */
    size_t authors = 1;
    for (size_t i = 1; i < nwant; i++)
        if (memcmp(want[i].author, want[0].author, 32) != 0 &&
            (i < 2 || memcmp(want[i].author, want[1].author, 32) != 0))
            authors++;
    assert_true(authors >= 3);
    static const size_t windows[] = {1, 3, 7, 1024};
    for (size_t w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
        ent_gossip_hist *h = NULL;
        uint64_t total = 0;
        assert_int_equal(ent_gossip_hist_open(g, id, &h, &total), ENT_OK);
        assert_int_equal(total, nwant);
        size_t n = 0;
        ent_gossip_key *got = drain(g, h, windows[w], &n);
        assert_int_equal(n, nwant);
        for (size_t i = 0; i < n; i++)
            assert_true(key_eq(&got[i], &want[i]));
        free(got);
        ent_gossip_hist_free(h);
    }
    free(want);
    ent_sim_free(s);
}

static void test_no_ops_and_args(void **state) {
    (void)state;
    uint8_t id[32];
    ent_sim *s = three_authors(id);
    ent_gossip *g = ent_sim_gossip(s, 0);
    uint8_t none[32];
    memset(none, 0x5a, sizeof(none));
    ent_gossip_hist *h = NULL;
    uint64_t total = 7;
    assert_int_equal(ent_gossip_hist_open(g, none, &h, &total), ENT_OK);
    assert_non_null(h);
    assert_int_equal(total, 0);
    ent_gossip_key k[4];
    size_t n = 9;
    assert_int_equal(ent_gossip_hist_next(g, h, k, 4, &n), ENT_OK);
    assert_int_equal(n, 0);
    ent_gossip_hist_free(h);
    ent_gossip_hist_free(NULL);
    assert_int_equal(ent_gossip_hist_open(NULL, id, &h, &total), ENT_EINVAL);
    assert_null(h);
    assert_int_equal(ent_gossip_hist_open(g, id, NULL, &total), ENT_EINVAL);
    ent_sim_free(s);
}

/* An op stored after the open, by an author the cursor knows, comes out
 * at the end (its HLC is the newest). */
static void test_later_op_of_known_author(void **state) {
    (void)state;
    uint8_t id[32];
    ent_sim *s = three_authors(id);
    ent_gossip *g = ent_sim_gossip(s, 0);
    ent_gossip_hist *h = NULL;
    uint64_t total = 0;
    assert_int_equal(ent_gossip_hist_open(g, id, &h, &total), ENT_OK);
    ent_gossip_key first[2];
    size_t n = 0;
    assert_int_equal(ent_gossip_hist_next(g, h, first, 2, &n), ENT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ent_sim_comment(s, 0, id, false), ENT_OK);
    size_t rest = 0;
    ent_gossip_key *got = drain(g, h, 5, &rest);
    assert_int_equal(2 + rest, total + 1);
    assert_int_equal(memcmp(got[rest - 1].author,
                            ent_sim_org(s, 0), 32), 0);
    free(got);
    ent_gossip_hist_free(h);
    ent_sim_free(s);
}

static uint64_t vv_of(const uint8_t *vv, size_t n, const uint8_t *author) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(vv + 40 * i, author, 32) == 0) {
            uint64_t v = 0;
            for (int b = 0; b < 8; b++)
                v = v << 8 | vv[40 * i + 32 + b];
            return v;
        }
    return 0;
}

/* Erased ops are stubs the history does not send: JOIN_OK's count (the
 * cursor's total) is then the records really sent, not the sum of the
 * authors' last seqs, or the joiner would wait for ever. */
static void test_erased_ops_counted_out(void **state) {
    (void)state;
    uint8_t id[32];
    char err[256];
    ent_sim *s = three_authors(id);
    ent_objects *eng = ent_sim_engine(s, 0);
    ent_gossip *g = ent_sim_gossip(s, 0);
    for (int i = 0; i < 3; i++) {
        ent_obj_input in = {"next_step", i ? "call back" : "call", false};
        assert_int_equal(ent_obj_set(eng, id, &in, 1, NULL, err, sizeof(err)),
                         ENT_OK);
    }
    ent_gossip_hist *h = NULL;
    uint64_t before = 0, total = 0;
    assert_int_equal(ent_gossip_hist_open(g, id, &h, &before), ENT_OK);
    ent_gossip_hist_free(h);
    assert_int_equal(ent_obj_erase(eng, id, "next_step", NULL, err,
                                   sizeof(err)), ENT_OK);
    assert_int_equal(ent_gossip_hist_open(g, id, &h, &total), ENT_OK);
    /* three sets became stubs, one erase op came */
    assert_int_equal(total, before - 3 + 1);
    size_t n = 0;
    ent_gossip_key *got = drain(g, h, 4, &n);
    assert_int_equal(n, total);
    free(got);
    ent_gossip_hist_free(h);
    ent_sim_free(s);
}

static int cmp32(const void *a, const void *b) { return memcmp(a, b, 32); }

static void test_missing_with_vector(void **state) {
    (void)state;
    uint8_t id[32];
    ent_sim *s = three_authors(id);
    ent_gossip *g = ent_sim_gossip(s, 2);
    ent_gossip_key *all = NULL, *got = NULL;
    size_t nall = 0, ngot = 0;
    assert_int_equal(ent_gossip_missing(g, id, NULL, 0, &all, &nall), ENT_OK);
    /* a vector (sorted by author) holding half of each of two authors'
     * ops, nothing of the third, plus an author the object never saw */
    uint8_t authors[4][32];
    size_t na = 0;
    for (size_t i = 0; i < nall && na < 3; i++) {
        bool seen = false;
        for (size_t k = 0; k < na; k++)
            seen |= memcmp(authors[k], all[i].author, 32) == 0;
        if (!seen)
            memcpy(authors[na++], all[i].author, 32);
    }
    assert_int_equal(na, 3);
    memset(authors[3], 0x01, 32);
    uint8_t sorted[4][32];
    memcpy(sorted, authors, sizeof(sorted));
    qsort(sorted, 4, 32, cmp32);
    uint8_t vv[4 * 40];
    size_t nvv = 0;
    for (size_t k = 0; k < 4; k++) {
        uint64_t top = 0;
        for (size_t i = 0; i < nall; i++)
            if (memcmp(all[i].author, sorted[k], 32) == 0 && all[i].seq > top)
                top = all[i].seq;
        bool skip = memcmp(sorted[k], authors[2], 32) == 0;
        if (skip)
            continue;
        uint64_t have = memcmp(sorted[k], authors[3], 32) == 0 ? 9 : top / 2;
        memcpy(vv + 40 * nvv, sorted[k], 32);
        for (int b = 0; b < 8; b++)
            vv[40 * nvv + 32 + b] = (uint8_t)(have >> (8 * (7 - b)));
        nvv++;
    }
    assert_int_equal(ent_gossip_missing(g, id, vv, nvv, &got, &ngot), ENT_OK);
    size_t j = 0;
    for (size_t i = 0; i < nall; i++) {
        if (all[i].seq <= vv_of(vv, nvv, all[i].author))
            continue;
        assert_true(j < ngot);
        assert_true(key_eq(&got[j], &all[i]));
        j++;
    }
    assert_int_equal(j, ngot);
    assert_true(ngot > 0 && ngot < nall);
    free(all);
    free(got);
    ent_sim_free(s);
}

int main(void) {
    if (ent_crypto_init() != ENT_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_missing),
        cmocka_unit_test(test_no_ops_and_args),
        cmocka_unit_test(test_later_op_of_known_author),
        cmocka_unit_test(test_missing_with_vector),
        cmocka_unit_test(test_erased_ops_counted_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
