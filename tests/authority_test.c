/*
 * authority_test.c - authority by causal history (spec/membership.md
 * "Counting", spec/objects.md "Merge"). Every attack is built from
 * crafted, validly signed ops whose headers (parents, HLC, seq, epoch) the
 * attacker chose, and applied through the real engine:
 *
 *  - a removed admin back-dates the removal of the admin who removed it,
 *    adds a sock puppet that re-adds it, writes and rotates the key, and a
 *    member that had not seen the removal relays all of it: in every order
 *    the removed org stays removed, its puppet never counts, its keys are
 *    never used, the owner's re-add of its remover holds;
 *  - a sock puppet alone, with the removal by the owner;
 *  - a demoted admin's back-dated admin changes;
 *  - seniority: an admin changes only admins appointed after it;
 *  - a member seizing an owner-only field with a chosen HLC;
 *  - absurd epochs (2^64-1, 2^40) in add, remove and rotate bodies;
 *  - the structural rules (hlc above the parents', chain, parents);
 *  - an op accepted before the removal that voids it stops counting;
 *  - a store written before past vectors is brought up to date;
 *  - the model check: every subset of eleven ops of three orgs
 *    (concurrent removals, back-dated ops, a sock puppet, a relay, a fork
 *    of one seq) in several orders gives one state per set, the removed
 *    org never has authority nor a key of a later epoch, and a forking
 *    org's ops from its fork on count for nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "protocol/op.h"
#include "tests/object_fixture.h"

/* ------------------------------------------------------------- helpers */

static void join(tnode *a, tnode *b, const uint8_t id[32], uint8_t role) {
    assert_int_equal(tnode_join(a, b, id, role, NULL, NULL), ENT_OK);
}

static void sync_all(tnode *dst, tnode *src, const uint8_t id[32]) {
    assert_int_equal(tnode_sync(dst, src, id), 0);
}

/* The epoch-0 key of obj on n. */
static void key0(tnode *n, const uint8_t id[32], uint8_t key[32]) {
    assert_int_equal(tstore_epoch_key(n->store, id, 0, key), ENT_OK);
}

/* A box of key sealed to org. */
static void seal_box(uint8_t box[ENT_OP_BOX_LEN], const uint8_t key[32],
                     const uint8_t org[32]) {
    uint8_t xpk[32];
    assert_int_equal(ent_pk_to_x25519(xpk, org), ENT_OK);
    assert_int_equal(ent_seal_to(box, key, 32, xpk), ENT_OK);
}

/* An op of body b made by hand: author signs, parents as given (sorted
 * here, as the engine keeps them). */
static ent_op *mk(const ent_identity *author, const uint8_t obj[32],
                  uint64_t seq, uint64_t hlc, uint64_t epoch,
                  const ent_op *const *parents, size_t np, const ent_op_body *b,
                  const uint8_t key[32]) {
    uint8_t ids[ENT_OP_MAX_PARENTS][32];
    assert_true(np <= ENT_OP_MAX_PARENTS);
    for (size_t i = 0; i < np; i++) {
        size_t j = i;
        while (j > 0 && memcmp(ids[j - 1], parents[i]->id, 32) > 0) {
            memcpy(ids[j], ids[j - 1], 32);
            j--;
        }
        memcpy(ids[j], parents[i]->id, 32);
    }
    ent_op *op = tforge(author, obj, b, seq, hlc, epoch,
                        (const uint8_t(*)[32])ids, np, key);
    assert_non_null(op);
    return op;
}

static ent_op *mk_set(const ent_identity *author, const uint8_t obj[32],
                      uint64_t seq, uint64_t hlc, uint64_t epoch,
                      const ent_op *const *parents, size_t np,
                      const char *field, const char *text, bool owner_only,
                      const uint8_t key[32]) {
    ent_op_field f = tfield_text(field, text, owner_only);
    ent_op_body b = {.kind = ENT_OP_SET, .fields = &f, .nfields = 1};
    return mk(author, obj, seq, hlc, epoch, parents, np, &b, key);
}

/* An add of org with role, handing it the keys of epochs[0..n) (keys[i]). */
static ent_op *mk_add(const ent_identity *author, const uint8_t obj[32],
                      uint64_t seq, uint64_t hlc, uint64_t epoch,
                      const ent_op *const *parents, size_t np,
                      const uint8_t org[32], uint8_t role,
                      const uint64_t *epochs, const uint8_t (*keys)[32],
                      size_t n, const uint8_t key[32]) {
    ent_op_body b;
    ent_op_epoch_key ek[4];
    memset(&b, 0, sizeof(b));
    b.kind = ENT_OP_ADD_MEMBER;
    memcpy(b.org, org, 32);
    b.role = role;
    for (size_t i = 0; i < n; i++) {
        ek[i].epoch = epochs[i];
        seal_box(ek[i].box, keys[i], org);
    }
    b.ekeys = ek;
    b.nekeys = n;
    return mk(author, obj, seq, hlc, epoch, parents, np, &b, key);
}

/* A remove_member of org (NULL: a rotate_key) naming new_epoch, whose new
 * key nk is sealed to the n orgs. */
static ent_op *mk_epoch(const ent_identity *author, const uint8_t obj[32],
                        uint64_t seq, uint64_t hlc, uint64_t epoch,
                        const ent_op *const *parents, size_t np,
                        const uint8_t *org, uint64_t new_epoch,
                        const uint8_t *const *to, size_t n,
                        const uint8_t nk[32], const uint8_t key[32]) {
    ent_op_body b;
    ent_op_member_key mk_[8];
    const uint8_t *sorted[8];
    memset(&b, 0, sizeof(b));
    b.kind = org != NULL ? ENT_OP_REMOVE_MEMBER : ENT_OP_ROTATE_KEY;
    if (org != NULL)
        memcpy(b.org, org, 32);
    b.epoch = new_epoch;
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        while (j > 0 && memcmp(sorted[j - 1], to[i], 32) > 0) {
            sorted[j] = sorted[j - 1];
            j--;
        }
        sorted[j] = to[i];
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(mk_[i].org, sorted[i], 32);
        seal_box(mk_[i].box, nk, sorted[i]);
    }
    b.mkeys = mk_;
    b.nmkeys = n;
    return mk(author, obj, seq, hlc, epoch, parents, np, &b, key);
}

/* What pick_op() looks for: the op with id opid (author NULL), or the last
 * op authored by author (highest seq). */
typedef struct pick_req {
    const uint8_t *opid, *author;
    ent_op *op;
} pick_req;

static int pick_cb(void *data, const uint8_t *raw, size_t len) {
    pick_req *r = data;
    ent_op *op = NULL;
    bool take;
    if (ent_op_decode(&op, raw, len) != ENT_OK)
        return ENT_ECORRUPT;
    if (r->author != NULL)
        take = memcmp(op->h.author, r->author, 32) == 0 &&
               (r->op == NULL || op->h.seq > r->op->h.seq);
    else
        take = r->op == NULL && memcmp(op->id, r->opid, 32) == 0;
    if (take) {
        ent_op_free(r->op);
        r->op = op;
    } else {
        ent_op_free(op);
    }
    return 0;
}

/* The op of obj on n that r asks for, copied (the caller frees it);
 * asserts that there is one. */
static ent_op *pick_op(tnode *n, const uint8_t id[32], pick_req r) {
    assert_int_equal(ent_obj_ops_foreach(n->eng, id, pick_cb, &r), ENT_OK);
    assert_non_null(r.op);
    return r.op;
}

static ent_op *last_of(tnode *n, const uint8_t id[32], const uint8_t *author) {
    return pick_op(n, id, (pick_req){.author = author});
}

/*
 * After the joins of a scenario: the epoch-0 key of obj on the owner o into
 * k0, o's ops so far into *base (tops_free() it), and o's last op (the last
 * add), which the caller ent_op_free()s.
 */
static ent_op *base_history(tnode *o, const uint8_t id[32], uint8_t k0[32],
                            tops *base) {
    key0(o, id, k0);
    *base = tnode_ops(o, id);
    return last_of(o, id, tnode_pk(o));
}

/* n's engine removes org; the op is returned. */
static ent_op *removal(tnode *n, const uint8_t id[32], const uint8_t org[32]) {
    ent_op *op = NULL;
    assert_int_equal(ent_obj_remove_member(n->eng, id, org, &op), ENT_OK);
    return op;
}

static int apply1(tnode *n, const ent_op *op, ent_apply_info *info) {
    ent_apply_info tmp;
    return ent_obj_apply(n->eng, op->raw, op->rawlen, info ? info : &tmp);
}

/* n refuses op with want and its store (all but the log) does not change. */
static void refused_unchanged(tnode *n, const ent_op *op, int want) {
    tdump before = tnode_dump(n);
    assert_int_equal(apply1(n, op, NULL), want);
    tdump after = tnode_dump(n);
    assert_true(tdump_equal(&before, &after));
    free(before.buf);
    free(after.buf);
}

static void apply_ok(tnode *n, const ent_op *op) {
    ent_apply_info info;
    int rc = apply1(n, op, &info);
    if (rc != ENT_OK)
        fail_msg("apply: %s", ent_err_name(rc));
}

static uint8_t *state_of(tnode *n, const uint8_t id[32], size_t *len) {
    uint8_t *s;
    assert_int_equal(ent_obj_state_encode(n->eng, id, &s, len), ENT_OK);
    return s;
}

/* The first call keeps n's state of obj in *ref (the caller frees it);
 * each later one asserts that n's state is the same, byte for byte. */
static void same_as_first(tnode *n, const uint8_t id[32], uint8_t **ref,
                          size_t *ref_len) {
    size_t l;
    uint8_t *s = state_of(n, id, &l);
    if (*ref == NULL) {
        *ref = s;
        *ref_len = l;
    } else {
        assert_int_equal(l, *ref_len);
        assert_memory_equal(s, *ref, l);
        free(s);
    }
}

static void assert_same_state(tnode *x, tnode *y, const uint8_t id[32]) {
    size_t l1, l2;
    uint8_t *s1 = state_of(x, id, &l1), *s2 = state_of(y, id, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(s1, s2, l1);
    free(s1);
    free(s2);
}

/* "active", "removed", or NULL (not listed) for org on n. */
static const char *status_of(tnode *n, const uint8_t id[32],
                             const uint8_t org[32], char *buf, size_t len) {
    json_t *j;
    char want[ENT_ORG_ID_LEN + 1];
    const char *res = NULL;
    ent_org_id_format(want, org);
    assert_int_equal(ent_obj_show_json(n->eng, id, true, &j), ENT_OK);
    json_t *ms = json_object_get(j, "members");
    for (size_t i = 0; i < json_array_size(ms); i++) {
        json_t *m = json_array_get(ms, i);
        if (strcmp(json_string_value(json_object_get(m, "org")), want) == 0) {
            snprintf(buf, len, "%s",
                     json_string_value(json_object_get(m, "status")));
            res = buf;
        }
    }
    json_decref(j);
    return res;
}

/* The same questions of one show JSON (the model check asks many). */
static bool json_active(json_t *j, const uint8_t org[32]) {
    char want[ENT_ORG_ID_LEN + 1];
    json_t *ms = json_object_get(j, "members");
    ent_org_id_format(want, org);
    for (size_t i = 0; i < json_array_size(ms); i++) {
        json_t *m = json_array_get(ms, i);
        if (strcmp(json_string_value(json_object_get(m, "org")), want) == 0)
            return strcmp(json_string_value(json_object_get(m, "status")),
                          "active") == 0;
    }
    return false;
}

static bool is_active(tnode *n, const uint8_t id[32], const uint8_t org[32]) {
    char buf[16];
    const char *s = status_of(n, id, org, buf, sizeof(buf));
    return s != NULL && strcmp(s, "active") == 0;
}

/* The shared text of field on n (NULL: absent or null), copied into buf. */
static const char *field_of(tnode *n, const uint8_t id[32], const char *field,
                            char *buf, size_t len) {
    json_t *j;
    const char *res = NULL;
    assert_int_equal(ent_obj_show_json(n->eng, id, true, &j), ENT_OK);
    const char *v =
        json_string_value(json_object_get(json_object_get(j, "shared"), field));
    if (v != NULL) {
        snprintf(buf, len, "%s", v);
        res = buf;
    }
    json_decref(j);
    return res;
}

static size_t ncomments(tnode *n, const uint8_t id[32]) {
    json_t *j;
    assert_int_equal(ent_obj_show_json(n->eng, id, true, &j), ENT_OK);
    size_t c = json_array_size(json_object_get(j, "comments"));
    json_decref(j);
    return c;
}

/* A fresh engine of org seed s that holds the epoch-0 key k0 of obj (as
 * the join flow would hand it) and, when base is not NULL, has applied its
 * ops in one batch. */
static void observer(tnode *n, uint8_t s, const uint8_t id[32],
                     const uint8_t k0[32], const tops *base) {
    ent_op_epoch_key box;
    assert_int_equal(tnode_open(n, s), 0);
    box.epoch = 0;
    seal_box(box.box, k0, tnode_pk(n));
    assert_int_equal(ent_obj_accept_keys(n->eng, id, &box, 1), ENT_OK);
    if (base != NULL)
        assert_int_equal(ent_obj_apply_batch(n->eng,
                                             (const uint8_t *const *)base->raw,
                                             base->len, base->n, NULL, NULL),
                         ENT_OK);
}

/* Copies file src to dst. @return 0 or -1. */
static int copy_file(const char *src, const char *dst) {
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    char buf[1 << 16];
    size_t n;
    int rc = in != NULL && out != NULL ? 0 : -1;
    while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (in != NULL)
        fclose(in);
    if (out != NULL && fclose(out) != 0)
        rc = -1;
    return rc;
}

/* A fresh engine of org seed s on a copy of the store in directory src
 * (closed), so that many runs start from one prepared history. */
static void clone_node(tnode *n, const char *src, uint8_t s) {
    char from[128], to[128];
    memset(n, 0, sizeof(*n));
    snprintf(n->dir, sizeof(n->dir), "%s/ent_auth_XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    assert_non_null(mkdtemp(n->dir));
    snprintf(from, sizeof(from), "%s/data.mdb", src);
    snprintf(to, sizeof(to), "%s/data.mdb", n->dir);
    assert_int_equal(copy_file(from, to), 0);
    ent_store_opts o = {.map_size = (size_t)8 << 20};
    assert_int_equal(ent_store_open_ex(&n->store, n->dir, 0, NULL, &o), ENT_OK);
    assert_int_equal(tnode_attach(n, s, ENT_LOG_ERROR), 0);
}

static void apply_list(tnode *n, ent_op *const *ops, size_t cnt, bool *rotate) {
    for (size_t i = 0; i < cnt; i++) {
        ent_apply_info info;
        int rc = apply1(n, ops[i], &info);
        if (rc != ENT_OK)
            fail_msg("apply op %zu: %s", i, ent_err_name(rc));
        if (rotate != NULL && info.rotate_needed)
            *rotate = true;
    }
}

/* A set of next_step by n's engine; the op is returned. */
static ent_op *local_set(tnode *n, const uint8_t id[32], const char *field,
                         const char *text) {
    ent_obj_input in = {field, text, false};
    ent_op *op = NULL;
    char err[256];
    int rc = ent_obj_set(n->eng, id, &in, 1, &op, err, sizeof(err));
    if (rc != ENT_OK)
        fail_msg("set %s: %s (%s)", field, ent_err_name(rc), err);
    return op;
}

/* Whether op's body opens under key. */
static bool opens_with(const ent_op *op, const uint8_t key[32]) {
    uint8_t *body = NULL;
    size_t blen;
    bool ok = ent_op_open(op, key, &body, &blen) == ENT_OK;
    free(body);
    return ok;
}

/* Whether any key n holds for obj opens op. */
typedef struct opens_req {
    const ent_op *op;
    bool yes;
} opens_req;

static int opens_scan(void *data, const void *key, size_t klen, const void *val,
                      size_t vlen) {
    opens_req *r = data;
    if (vlen >= 32 && opens_with(r->op, val))
        r->yes = true;
    return 0;
}

static bool store_opens(tnode *n, const uint8_t id[32], const ent_op *op) {
    opens_req r = {.op = op};
    assert_int_equal(
        tstore_scan(n->store, ENT_TBL_KEYS, id, 32, opens_scan, &r), ENT_OK);
    return r.yes;
}

/* The JSON of a shared field on n ("" when absent), into buf. */
static const char *field_json(tnode *n, const uint8_t id[32], const char *field,
                              char *buf, size_t len) {
    json_t *j;
    assert_int_equal(ent_obj_show_json(n->eng, id, true, &j), ENT_OK);
    json_t *v = json_object_get(json_object_get(j, "shared"), field);
    char *txt = v != NULL ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
    snprintf(buf, len, "%s", txt != NULL ? txt : "");
    free(txt);
    json_decref(j);
    return buf;
}

/* Next permutation of p[0..n) in lexicographic order; false at the end. */
static bool next_perm(size_t *p, size_t n) {
    if (n < 2)
        return false;
    size_t i = n - 1;
    while (i > 0 && p[i - 1] >= p[i])
        i--;
    if (i == 0)
        return false;
    size_t j = n - 1;
    while (p[j] <= p[i - 1])
        j--;
    size_t t = p[i - 1];
    p[i - 1] = p[j];
    p[j] = t;
    for (size_t a = i, b = n - 1; a < b; a++, b--) {
        t = p[a];
        p[a] = p[b];
        p[b] = t;
    }
    return true;
}

static const ent_obj_input opp_in[] = {{"name", "Joint deal", false},
                                       {"next_step", "kickoff", false}};

/* Opens the nodes of ns with seed bytes seed, seed + 1, ...; the first, the
 * owner, creates an opportunity of opp_in, whose id is id. */
static void opp_open(uint8_t id[32], tnode *const *ns, uint8_t seed) {
    assert_int_equal(tnodes_open_obj(ns, seed, "opportunity", opp_in, 2, id),
                     0);
}

/* ------------------------------------------------ 1: the removed admin */

/*
 * O (owner) has admins Y and X (Y appointed first) and member M. Y removes
 * X (R). X, which still holds the epoch-0 key, signs ops whose parents
 * stop before R: x1 removes Y, x2 adds a sock puppet P as admin, x3 writes
 * a field, x4 rotates the key (sealed to itself); P (p1) re-adds X. M,
 * which had not seen R, applies all of it and writes on top (m1, the
 * relay). Every order of R, x1, x2..x4, p1 and m1 gives O and M the same
 * state: X removed, Y still an admin (X was appointed after Y: it may
 * not remove Y, and R voids x1 anyway), P nobody, X's write gone. A later
 * back-dated removal of Y by X changes nothing; nothing O writes opens
 * with a key X knows, and X, given every op, holds no key that opens it.
 */
static void test_backdated_removal_of_remover(void **state) {
    tnode o, y, x, m, p;
    uint8_t id[32], k0[32], kx[32], kr[32], kx5[32];
    char buf[64];
    opp_open(id, TNODES(&o, &y, &x, &m, &p), 101);
    join(&o, &y, id, ENT_ROLE_ADMIN);
    join(&o, &x, id, ENT_ROLE_ADMIN);
    join(&o, &m, id, ENT_ROLE_MEMBER);
    sync_all(&y, &o, id);
    sync_all(&x, &o, id);
    tops base;
    ent_op *add_m = base_history(&o, id, k0, &base);
    uint64_t t = add_m->h.hlc;

    /* Y removes X */
    y.now += 50;
    ent_op *r = removal(&y, id, tnode_pk(&x));
    assert_true(r->h.hlc > t + 5);

    /* X's back-dated chain, just above its last view (add_m) */
    ent_random(kx, 32);
    ent_random(kr, 32);
    const ent_op *pa[1] = {add_m};
    const uint8_t *to_x1[3] = {tnode_pk(&o), tnode_pk(&x), tnode_pk(&m)};
    ent_op *x1 = mk_epoch(x.id, id, 1, t + 1, 0, pa, 1, tnode_pk(&y), 1, to_x1,
                          3, kx, k0);
    const ent_op *p1_[1] = {x1};
    uint64_t e0 = 0;
    ent_op *x2 = mk_add(x.id, id, 2, t + 2, 0, p1_, 1, tnode_pk(&p),
                        ENT_ROLE_ADMIN, &e0, (const uint8_t(*)[32])k0, 1, k0);
    const ent_op *p2_[1] = {x2};
    ent_op *x3 = mk_set(x.id, id, 3, t + 3, 0, p2_, 1, "next_step",
                        "X was here", false, k0);
    const ent_op *p3_[1] = {x3};
    const uint8_t *to_x4[4] = {tnode_pk(&o), tnode_pk(&x), tnode_pk(&m),
                               tnode_pk(&p)};
    ent_op *x4 =
        mk_epoch(x.id, id, 4, t + 4, 1, p3_, 1, NULL, 2, to_x4, 4, kr, kx);
    const ent_op *p4_[1] = {x4};
    ent_op *p1 = mk_add(p.id, id, 1, t + 5, 0, p4_, 1, tnode_pk(&x),
                        ENT_ROLE_ADMIN, &e0, (const uint8_t(*)[32])k0, 1, k0);
    /* M relays: it takes all of it (X is an admin in what it has seen) and
     * writes on top, under X's rotated key */
    ent_op *xs[5] = {x1, x2, x3, x4, p1};
    apply_list(&m, xs, 5, NULL);
    assert_string_equal(field_of(&m, id, "next_step", buf, sizeof(buf)),
                        "X was here");
    assert_true(is_active(&m, id, tnode_pk(&p)));
    m.now += 60;
    ent_op *m1 = local_set(&m, id, "next_step", "M relayed");
    assert_int_equal(m1->h.epoch, 2);
    assert_true(opens_with(m1, kr)); /* the harm done before R reached M */

    /* every order, at fresh engines of O and of M */
    ent_op *units[5][3] = {{r}, {x1}, {x2, x3, x4}, {p1}, {m1}};
    size_t usz[5] = {1, 1, 3, 1, 1};
    size_t perm[5] = {0, 1, 2, 3, 4};
    uint8_t *ref = NULL;
    size_t ref_len = 0, orders = 0;
    do {
        for (int who = 0; who < 2; who++) {
            tnode n;
            bool rotate = false;
            observer(&n, who == 0 ? 101 : 104, id, k0, NULL);
            assert_int_equal(tnode_sync(&n, &o, id), 0); /* base history */
            for (size_t u = 0; u < 5; u++)
                apply_list(&n, units[perm[u]], usz[perm[u]], &rotate);
            same_as_first(&n, id, &ref, &ref_len);
            assert_false(is_active(&n, id, tnode_pk(&x)));
            assert_true(is_active(&n, id, tnode_pk(&y)));
            assert_null(status_of(&n, id, tnode_pk(&p), buf, sizeof(buf)));
            assert_true(is_active(&n, id, tnode_pk(&m)));
            assert_string_equal(field_of(&n, id, "next_step", buf, sizeof(buf)),
                                "M relayed");
            n.now = o.now + 100;
            ent_op *w = local_set(&n, id, "name", "probe");
            assert_true(w->h.epoch == 1);
            assert_false(opens_with(w, k0) || opens_with(w, kx) ||
                         opens_with(w, kr));
            ent_op_free(w);
            tnode_close(&n);
            orders++;
        }
    } while (next_perm(perm, 5));
    assert_int_equal(orders, 240);
    free(ref);

    /* on O itself: everything; O writes under R's key, which X never
     * got (R is sealed to O, Y, M) */
    ent_op *all[7] = {r, x1, x2, x3, x4, p1, m1};
    apply_list(&o, all, 7, NULL);
    o.now += 100;
    ent_op *after = local_set(&o, id, "next_step", "after");
    assert_int_equal(after->h.epoch, 1);
    assert_false(opens_with(after, k0) || opens_with(after, kx) ||
                 opens_with(after, kr));
    /* X takes every op O has and holds no key that opens it */
    tnode_sync(&x, &o, id);
    assert_false(store_opens(&x, id, after));
    assert_false(is_active(&x, id, tnode_pk(&x)));

    /* X's next back-dated removal of Y changes nothing */
    ent_random(kx5, 32);
    const uint8_t *to_x5[3] = {tnode_pk(&o), tnode_pk(&x), tnode_pk(&m)};
    ent_op *x5 = mk_epoch(x.id, id, 5, t + 6, 0, p4_, 1, tnode_pk(&y), 1, to_x5,
                          3, kx5, k0);
    apply_ok(&o, x5);
    assert_true(is_active(&o, id, tnode_pk(&y)));
    assert_false(is_active(&o, id, tnode_pk(&x)));
    /* and Y's writes count */
    const ent_op *pa5[1] = {after};
    ent_op *ys = mk_set(y.id, id, 2, (o.now + 500) << 16, 0, pa5, 1,
                        "next_step", "Y writes", false, k0);
    apply_ok(&o, ys);
    assert_string_equal(field_of(&o, id, "next_step", buf, sizeof(buf)),
                        "Y writes");
    ent_op *nx = local_set(&o, id, "name", "renamed");
    assert_false(opens_with(nx, k0) || opens_with(nx, kx) ||
                 opens_with(nx, kr) || opens_with(nx, kx5));
    sync_all(&m, &o, id);
    assert_same_state(&o, &m, id);

    TFREE_OPS(r, x1, x2, x3, x4, p1, m1, after, x5, ys, nx, add_m);
    tops_free(&base);
    tnodes_close(TNODES(&o, &y, &x, &m, &p));
}

/* ---------------------------------------------------- 2: a sock puppet */

/*
 * The owner removes X. X back-dates the add of a puppet P (admin); P adds
 * X back and removes Y; X comments. Relayed by M (who writes on top) and
 * applied in every order: X stays removed, P is nobody, Y stays, nothing
 * of X or P counts.
 */
static void test_sock_puppet(void **state) {
    tnode o, y, x, m, p;
    uint8_t id[32], k0[32], kp[32];
    char buf[64];
    opp_open(id, TNODES(&o, &y, &x, &m, &p), 111);
    join(&o, &y, id, ENT_ROLE_ADMIN);
    join(&o, &x, id, ENT_ROLE_ADMIN);
    join(&o, &m, id, ENT_ROLE_MEMBER);
    tops base;
    ent_op *add_m = base_history(&o, id, k0, &base);
    uint64_t t = add_m->h.hlc;
    o.now += 50;
    ent_op *r = removal(&o, id, tnode_pk(&x));
    ent_random(kp, 32);
    uint64_t e0 = 0;
    const ent_op *pa[1] = {add_m};
    ent_op *xa = mk_add(x.id, id, 1, t + 1, 0, pa, 1, tnode_pk(&p),
                        ENT_ROLE_ADMIN, &e0, (const uint8_t(*)[32])k0, 1, k0);
    const ent_op *pxa[1] = {xa};
    ent_op *pb = mk_add(p.id, id, 1, t + 2, 0, pxa, 1, tnode_pk(&x),
                        ENT_ROLE_ADMIN, &e0, (const uint8_t(*)[32])k0, 1, k0);
    const ent_op *ppb[1] = {pb};
    const uint8_t *to[4] = {tnode_pk(&o), tnode_pk(&x), tnode_pk(&m),
                            tnode_pk(&p)};
    ent_op *pc =
        mk_epoch(p.id, id, 2, t + 3, 0, ppb, 1, tnode_pk(&y), 1, to, 4, kp, k0);
    ent_op_body cb;
    memset(&cb, 0, sizeof(cb));
    cb.kind = ENT_OP_COMMENT;
    cb.text = "X comments";
    cb.textlen = strlen(cb.text);
    ent_op *xc = mk(x.id, id, 2, t + 4, 0, pxa, 1, &cb, k0);
    ent_op *xs[4] = {xa, pb, pc, xc};
    apply_list(&m, xs, 4, NULL);
    /* M takes P for an admin for now, but even so P may not remove Y,
     * appointed before P */
    assert_true(is_active(&m, id, tnode_pk(&p)));
    assert_true(is_active(&m, id, tnode_pk(&y)));
    m.now += 60;
    ent_op *m1 = local_set(&m, id, "next_step", "M relayed");

    ent_op *units[5][2] = {{r}, {xa}, {pb, pc}, {xc}, {m1}};
    size_t usz[5] = {1, 1, 2, 1, 1};
    size_t perm[5] = {0, 1, 2, 3, 4};
    uint8_t *ref = NULL;
    size_t ref_len = 0;
    do {
        tnode n;
        observer(&n, 114, id, k0, &base);
        for (size_t u = 0; u < 5; u++)
            apply_list(&n, units[perm[u]], usz[perm[u]], NULL);
        same_as_first(&n, id, &ref, &ref_len);
        assert_false(is_active(&n, id, tnode_pk(&x)));
        assert_true(is_active(&n, id, tnode_pk(&y)));
        assert_null(status_of(&n, id, tnode_pk(&p), buf, sizeof(buf)));
        assert_int_equal(ncomments(&n, id), 0);
        assert_string_equal(field_of(&n, id, "next_step", buf, sizeof(buf)),
                            "M relayed");
        tnode_close(&n);
    } while (next_perm(perm, 5));
    free(ref);
    TFREE_OPS(r, xa, pb, pc, xc, m1, add_m);
    tops_free(&base);
    tnodes_close(TNODES(&o, &y, &x, &m, &p));
}

/* ----------------------------------------------- 2b: a demoted admin */

/*
 * The owner demotes admin X to member. X back-dates the add of a puppet P
 * as admin and the removal of member M; P promotes X back. A demotion
 * voids its target's concurrent ops that the new role does not allow, as
 * a removal does: in every order X stays a member, P is nobody, M stays.
 */
static void test_demoted_admin(void **state) {
    tnode o, x, m, p;
    uint8_t id[32], k0[32], kr[32];
    char buf[16];
    opp_open(id, TNODES(&o, &x, &m, &p), 191);
    join(&o, &x, id, ENT_ROLE_ADMIN);
    join(&o, &m, id, ENT_ROLE_MEMBER);
    tops base;
    ent_op *add_m = base_history(&o, id, k0, &base);
    uint64_t t = add_m->h.hlc;
    o.now += 50;
    ent_op *d = NULL;
    assert_int_equal(ent_obj_add_member(o.eng, id, tnode_pk(&x),
                                        ENT_ROLE_MEMBER, &d, NULL, NULL),
                     ENT_OK);
    uint64_t e0 = 0;
    ent_random(kr, 32);
    const ent_op *pa[1] = {add_m};
    ent_op *xa = mk_add(x.id, id, 1, t + 1, 0, pa, 1, tnode_pk(&p),
                        ENT_ROLE_ADMIN, &e0, (const uint8_t(*)[32])k0, 1, k0);
    const ent_op *pxa[1] = {xa};
    ent_op *pp = mk_add(p.id, id, 1, t + 2, 0, pxa, 1, tnode_pk(&x),
                        ENT_ROLE_ADMIN, &e0, (const uint8_t(*)[32])k0, 1, k0);
    const uint8_t *to[3] = {tnode_pk(&o), tnode_pk(&x), tnode_pk(&p)};
    ent_op *xr =
        mk_epoch(x.id, id, 2, t + 3, 0, pxa, 1, tnode_pk(&m), 1, to, 3, kr, k0);
    ent_op *units[4] = {d, xa, pp, xr};
    size_t perm[4] = {0, 1, 2, 3};
    uint8_t *ref = NULL;
    size_t ref_len = 0;
    do {
        tnode n;
        observer(&n, 191, id, k0, &base);
        for (size_t u = 0; u < 4; u++)
            apply_ok(&n, units[perm[u]]);
        same_as_first(&n, id, &ref, &ref_len);
        assert_true(is_active(&n, id, tnode_pk(&m)));
        assert_null(status_of(&n, id, tnode_pk(&p), buf, sizeof(buf)));
        n.now = o.now + 100;
        /* X is a member: it may write, it may not add anyone */
        ent_op *w = local_set(&n, id, "next_step", "probe");
        assert_false(opens_with(w, kr));
        ent_op_free(w);
        tnode_close(&n);
    } while (next_perm(perm, 4));
    free(ref);
    TFREE_OPS(d, xa, pp, xr, add_m);
    tops_free(&base);
    tnodes_close(TNODES(&o, &x, &m, &p));
}

/* ------------------------------------------------- 2c: seniority */

/*
 * O appoints A, then B. B may not remove A (its engine refuses; a removal
 * it makes anyway counts for nothing), A may remove B. A appoints C while
 * O, concurrently, appoints D: C and D were appointed concurrently, so
 * neither outranks the other and their removals of each other count for
 * nothing; O removes either.
 */
static void test_seniority(void **state) {
    tnode o, a, b, c, d;
    uint8_t id[32], k0[32], kb[32], kc[32], kd[32];
    opp_open(id, TNODES(&o, &a, &b, &c, &d), 201);
    join(&o, &a, id, ENT_ROLE_ADMIN);
    join(&o, &b, id, ENT_ROLE_ADMIN);
    sync_all(&a, &o, id);
    key0(&o, id, k0);
    ent_op *op = NULL;
    assert_int_equal(ent_obj_remove_member(b.eng, id, tnode_pk(&a), &op),
                     ENT_EDENIED);
    assert_int_equal(ent_obj_add_member(b.eng, id, tnode_pk(&a),
                                        ENT_ROLE_MEMBER, &op, NULL, NULL),
                     ENT_EDENIED); /* nor demote it */
    /* B's removal of A made by hand: stored, counts for nothing */
    ent_op *add_b = last_of(&o, id, tnode_pk(&o));
    const ent_op *pb[1] = {add_b};
    const uint8_t *to_b[2] = {tnode_pk(&o), tnode_pk(&b)};
    ent_random(kb, 32);
    ent_op *rb = mk_epoch(b.id, id, 1, add_b->h.hlc + 1, 0, pb, 1, tnode_pk(&a),
                          1, to_b, 2, kb, k0);
    apply_ok(&o, rb);
    assert_true(is_active(&o, id, tnode_pk(&a)));
    assert_true(is_active(&o, id, tnode_pk(&b)));
    /* concurrent appointments: A appoints C, O appoints D */
    sync_all(&a, &o, id);
    ent_op *ac = NULL, *od = NULL;
    ent_op_epoch_key *cb = NULL, *db = NULL;
    size_t ncb = 0, ndb = 0;
    assert_int_equal(ent_obj_add_member(a.eng, id, tnode_pk(&c), ENT_ROLE_ADMIN,
                                        &ac, &cb, &ncb),
                     ENT_OK);
    assert_int_equal(ent_obj_add_member(o.eng, id, tnode_pk(&d), ENT_ROLE_ADMIN,
                                        &od, &db, &ndb),
                     ENT_OK);
    apply_ok(&o, ac);
    apply_ok(&a, od);
    assert_int_equal(ent_obj_accept_keys(c.eng, id, cb, ncb), ENT_OK);
    assert_int_equal(ent_obj_accept_keys(d.eng, id, db, ndb), ENT_OK);
    sync_all(&c, &o, id);
    sync_all(&d, &o, id);
    assert_int_equal(ent_obj_remove_member(c.eng, id, tnode_pk(&d), &op),
                     ENT_EDENIED);
    /* made by hand, both ways, each after both appointments */
    ent_op *hc = last_of(&o, id, tnode_pk(&o));
    const ent_op *pboth[2] = {ac, hc};
    ent_random(kc, 32);
    ent_random(kd, 32);
    const uint8_t *to_c[4] = {tnode_pk(&o), tnode_pk(&a), tnode_pk(&b),
                              tnode_pk(&c)};
    const uint8_t *to_d[4] = {tnode_pk(&o), tnode_pk(&a), tnode_pk(&b),
                              tnode_pk(&d)};
    uint64_t top = ac->h.hlc > hc->h.hlc ? ac->h.hlc : hc->h.hlc;
    ent_op *rc_ = mk_epoch(c.id, id, 1, top + 1, 0, pboth, 2, tnode_pk(&d), 1,
                           to_c, 4, kc, k0);
    ent_op *rd_ = mk_epoch(d.id, id, 1, top + 1, 0, pboth, 2, tnode_pk(&c), 1,
                           to_d, 4, kd, k0);
    apply_ok(&o, rc_);
    apply_ok(&o, rd_);
    assert_true(is_active(&o, id, tnode_pk(&c)));
    assert_true(is_active(&o, id, tnode_pk(&d)));
    /* the senior ones can */
    assert_int_equal(ent_obj_remove_member(o.eng, id, tnode_pk(&d), &op),
                     ENT_OK);
    ent_op_free(op);
    sync_all(&a, &o, id);
    assert_int_equal(ent_obj_remove_member(a.eng, id, tnode_pk(&b), &op),
                     ENT_OK);
    apply_ok(&o, op);
    ent_op_free(op);
    assert_false(is_active(&o, id, tnode_pk(&d)));
    assert_false(is_active(&o, id, tnode_pk(&b)));
    assert_true(is_active(&o, id, tnode_pk(&c)));
    assert_true(is_active(&o, id, tnode_pk(&a)));
    free(cb);
    free(db);
    TFREE_OPS(add_b, rb, ac, od, hc, rc_, rd_);
    tnodes_close(TNODES(&o, &a, &b, &c, &d));
}

/* ------------------------------------- 3: no later key for the removed */

/*
 * The owner removes X (epoch 1, key k1, not sealed to X). X back-dates two
 * rotations (epochs 1 and 2, keys sealed to everyone and to itself). A
 * member, in either order, writes under k1: never under a key X made,
 * although the old rule took the highest epoch (2) or, among two keys of
 * one epoch, the one whose op id was lowest. X's store never holds k1.
 */
static void test_removed_gets_no_key(void **state) {
    tnode o, x, m;
    uint8_t id[32], k0[32], ka[32], kb[32];
    opp_open(id, TNODES(&o, &x, &m), 121);
    join(&o, &x, id, ENT_ROLE_ADMIN);
    join(&o, &m, id, ENT_ROLE_MEMBER);
    sync_all(&x, &o, id);
    tops base;
    ent_op *add_m = base_history(&o, id, k0, &base);
    uint64_t t = add_m->h.hlc;
    o.now += 50;
    ent_op *r = removal(&o, id, tnode_pk(&x));
    ent_random(ka, 32);
    ent_random(kb, 32);
    const ent_op *pa[1] = {add_m};
    const uint8_t *to[3] = {tnode_pk(&o), tnode_pk(&x), tnode_pk(&m)};
    ent_op *ra = mk_epoch(x.id, id, 1, t + 1, 0, pa, 1, NULL, 1, to, 3, ka, k0);
    const ent_op *pra[1] = {ra};
    ent_op *rb =
        mk_epoch(x.id, id, 2, t + 2, 1, pra, 1, NULL, 2, to, 3, kb, ka);
    for (int order = 0; order < 2; order++) {
        tnode n;
        observer(&n, 123, id, k0, &base);
        if (order == 0) {
            apply_ok(&n, r);
            apply_ok(&n, ra);
            apply_ok(&n, rb);
        } else {
            /* X's rotations first: M takes them, then learns of R */
            apply_ok(&n, rb); /* held for ra */
            apply_ok(&n, ra);
            apply_ok(&n, r);
        }
        n.now = o.now + 10;
        ent_op *w = local_set(&n, id, "next_step", "written by M");
        assert_int_equal(w->h.epoch, 1);
        assert_false(opens_with(w, ka));
        assert_false(opens_with(w, kb));
        assert_false(opens_with(w, k0));
        /* X takes every op there is and still cannot read w */
        tnode xs;
        observer(&xs, 122, id, k0, NULL);
        assert_int_equal(tnode_sync(&xs, &o, id), 0);
        apply1(&xs, ra, NULL);
        apply1(&xs, rb, NULL);
        assert_false(store_opens(&xs, id, w));
        int rc = apply1(&xs, w, NULL);
        assert_true(rc == ENT_OK || rc == ENT_EDECRYPT);
        char buf[64];
        const char *v = field_of(&xs, id, "next_step", buf, sizeof(buf));
        assert_true(v == NULL || strcmp(v, "written by M") != 0);
        tnode_close(&xs);
        ent_op_free(w);
        tnode_close(&n);
    }
    TFREE_OPS(r, ra, rb, add_m);
    tops_free(&base);
    tnodes_close(TNODES(&o, &x, &m));
}

/* ------------------------------------------------- a member leaves itself */

/*
 * Viewer V leaves on its own (ent_obj_leave): a remove_member naming its
 * author, which counts for any active role. The owner, the lowest admin,
 * is asked to rotate when it applies the leave, and V cannot read what is
 * written after the rotation. Member M may not remove V (only itself):
 * its crafted removal of V passes the header test as a possible leave and
 * is refused with ENT_EDENIED once the body names V; it changes nothing.
 */
static void test_leave(void **state) {
    tnode o, m, v;
    uint8_t id[32], k0[32], nk[32];
    char err[256];
    assert_int_equal(tnode_open(&o, 131), 0);
    assert_int_equal(tnode_open(&m, 132), 0);
    assert_int_equal(tnode_open(&v, 133), 0);
    assert_int_equal(ent_obj_create(o.eng, "opportunity", opp_in, 2, id, NULL,
                                    err, sizeof(err)),
                     ENT_OK);
    join(&o, &m, id, ENT_ROLE_MEMBER);
    join(&o, &v, id, ENT_ROLE_VIEWER);
    sync_all(&m, &o, id);
    key0(&o, id, k0);

    /* M's removal of V: refused at O, whatever order */
    ent_op *mlast = last_of(&m, id, tnode_pk(&o));
    const ent_op *pm[1] = {mlast};
    const uint8_t *to[2] = {tnode_pk(&o), tnode_pk(&m)};
    ent_random(nk, 32);
    ent_op *bad = mk_epoch(m.id, id, 1, mlast->h.hlc + 1, 0, pm, 1,
                           tnode_pk(&v), 1, to, 2, nk, k0);
    tdump before = tnode_dump(&o);
    assert_int_equal(apply1(&o, bad, NULL), ENT_EDENIED);
    tdump after = tnode_dump(&o);
    assert_true(tdump_equal(&before, &after));
    free(before.buf);
    free(after.buf);

    /* the owner never leaves; V leaves */
    ent_op *lv = NULL;
    assert_int_equal(ent_obj_leave(o.eng, id, &lv), ENT_EDENIED);
    assert_null(lv);
    assert_int_equal(ent_obj_leave(v.eng, id, &lv), ENT_OK);
    assert_int_equal(lv->h.kind, ENT_OP_REMOVE_MEMBER);
    ent_obj_input in = {"internal_notes", "mine", ENT_IN_PRIVATE};
    assert_int_equal(ent_obj_set(v.eng, id, &in, 1, NULL, err, sizeof(err)),
                     ENT_EDENIED);
    assert_int_equal(ent_obj_leave(v.eng, id, NULL), ENT_ENOTMEMBER);

    /* O applies it and is the one to rotate; M only applies */
    ent_apply_info info;
    memset(&info, 0, sizeof(info));
    assert_int_equal(apply1(&o, lv, &info), ENT_OK);
    assert_true(info.rotate_needed);
    memset(&info, 0, sizeof(info));
    assert_int_equal(apply1(&m, lv, &info), ENT_OK);
    assert_false(info.rotate_needed);
    json_t *j;
    assert_int_equal(ent_obj_show_json(o.eng, id, true, &j), ENT_OK);
    json_t *mm;
    size_t i;
    json_array_foreach(json_object_get(j, "members"), i, mm) {
        if (strcmp(json_string_value(json_object_get(mm, "role")), "viewer") ==
            0)
            assert_string_equal(
                json_string_value(json_object_get(mm, "status")), "removed");
    }
    json_decref(j);
    ent_op *rot = NULL;
    o.now += 10;
    assert_int_equal(ent_obj_rotate_key(o.eng, id, &rot), ENT_OK);
    assert_int_equal(rot->h.kind, ENT_OP_ROTATE_KEY);
    apply_ok(&m, rot);
    o.now += 10;
    ent_op *w = local_set(&o, id, "next_step", "after V left");
    assert_true(w->h.epoch >= 1);
    apply_ok(&m, w);
    char buf[64];
    assert_string_equal(field_of(&m, id, "next_step", buf, sizeof(buf)),
                        "after V left");
    /* V holds every op there is and reads nothing written afterwards */
    assert_false(store_opens(&v, id, w));
    int rc = apply1(&v, w, NULL);
    assert_true(rc == ENT_OK || rc == ENT_EDECRYPT);
    const char *seen = field_of(&v, id, "next_step", buf, sizeof(buf));
    assert_true(seen == NULL || strcmp(seen, "after V left") != 0);
    /* O and M agree byte for byte */
    uint8_t *a = NULL, *b = NULL;
    size_t al = 0, bl = 0;
    assert_int_equal(ent_obj_state_encode(o.eng, id, &a, &al), ENT_OK);
    assert_int_equal(ent_obj_state_encode(m.eng, id, &b, &bl), ENT_OK);
    assert_int_equal(al, bl);
    assert_memory_equal(a, b, al);
    free(a);
    free(b);
    ent_op_free(w);
    ent_op_free(rot);
    ent_op_free(lv);
    ent_op_free(bad);
    ent_op_free(mlast);
    tnode_close(&o);
    tnode_close(&m);
    tnode_close(&v);
}

/* --------------------------------------- 4: an owner-only field seized */

/*
 * program.mdf_budget is owner-only. Member M writes it with the
 * owner-only flag and an HLC just after its own add: refused at receipt
 * (only the object's owner writes owner-only fields), by its own engine
 * too. Its plain write shows until the owner sets the field, and then the
 * field is the owner's; the owner's CLI path sets it again whenever.
 */
static void test_owner_only_field(void **state) {
    tnode o, m;
    uint8_t id[32], k0[32];
    char err[256], buf[64];
    const ent_obj_input in[] = {{"name", "Q3 event", false}};
    assert_int_equal(
        tnodes_open_obj(TNODES(&o, &m), 131, "program", in, 1, id), 0);
    join(&o, &m, id, ENT_ROLE_MEMBER);
    key0(&o, id, k0);
    ent_op *add_m = last_of(&o, id, tnode_pk(&o));
    const ent_op *pa[1] = {add_m};
    ent_op *seize = mk_set(m.id, id, 1, add_m->h.hlc + 1, 0, pa, 1,
                           "mdf_budget", "999999", true, k0);
    refused_unchanged(&o, seize, ENT_EDENIED);
    assert_int_equal(apply1(&m, seize, NULL), ENT_EDENIED);
    /* M's engine refuses to make it */
    ent_obj_input mi = {"mdf_budget", "5000 USD", false};
    ent_op *op = NULL;
    assert_int_equal(ent_obj_set(m.eng, id, &mi, 1, &op, err, sizeof(err)),
                     ENT_EDENIED);
    assert_non_null(strstr(err, "owner-only"));
    /* a plain write by M (no flag): shows until the owner writes */
    ent_op *plain = mk_set(m.id, id, 1, add_m->h.hlc + 1, 0, pa, 1,
                           "mdf_budget", "M's figure", false, k0);
    apply_ok(&o, plain);
    assert_string_equal(field_of(&o, id, "mdf_budget", buf, sizeof(buf)),
                        "M's figure");
    ent_obj_input oi = {"mdf_budget", "12000 USD", false};
    assert_int_equal(ent_obj_set(o.eng, id, &oi, 1, &op, err, sizeof(err)),
                     ENT_OK);
    ent_op_free(op);
    assert_non_null(strstr(
        field_json(&o, id, "mdf_budget", buf, sizeof(buf)), "12000.00"));
    /* M's later plain write does not take it back; the owner sets it again */
    sync_all(&m, &o, id);
    m.now = o.now + 100;
    ent_op *m2 = local_set(&m, id, "name", "M renames");
    const ent_op *pm2[1] = {m2};
    ent_op *late = mk_set(m.id, id, 3, (o.now + 200) << 16, 0, pm2, 1,
                          "mdf_budget", "M again", false, k0);
    sync_all(&o, &m, id);
    apply_ok(&o, late);
    assert_non_null(strstr(
        field_json(&o, id, "mdf_budget", buf, sizeof(buf)), "12000.00"));
    ent_obj_input oi2 = {"mdf_budget", "15000 USD", false};
    assert_int_equal(ent_obj_set(o.eng, id, &oi2, 1, &op, err, sizeof(err)),
                     ENT_OK);
    ent_op_free(op);
    assert_non_null(strstr(
        field_json(&o, id, "mdf_budget", buf, sizeof(buf)), "15000.00"));
    ent_op_free(m2);
    sync_all(&m, &o, id);
    assert_same_state(&o, &m, id);
    TFREE_OPS(seize, plain, late, add_m);
    tnodes_close(TNODES(&o, &m));
}

/* ------------------------------------------------------ 5: epoch bounds */

/*
 * Admin A hands victim V an add_member whose key boxes name epoch 2^64-1,
 * then one naming 2^40 (with a key A chose); A removes and rotates with
 * body epochs 2^64-1 and 2^40: every one refused (ENT_ECORRUPT), V's
 * store unchanged, and V's later changes work and are read by the owner.
 */
static void test_epoch_bounds(void **state) {
    tnode o, a, v;
    uint8_t id[32], k0[32], evil[32];
    char buf[64];
    opp_open(id, TNODES(&o, &a, &v), 141);
    join(&o, &a, id, ENT_ROLE_ADMIN);
    key0(&o, id, k0);
    ent_random(evil, 32);
    ent_op *last = last_of(&o, id, tnode_pk(&o));
    const ent_op *pa[1] = {last};
    uint64_t t = last->h.hlc;
    /* V holds epoch 0 through the join flow and the history */
    ent_op_epoch_key box = {.epoch = 0};
    seal_box(box.box, k0, tnode_pk(&v));
    assert_int_equal(ent_obj_accept_keys(v.eng, id, &box, 1), ENT_OK);
    sync_all(&v, &o, id);
    const uint64_t bad[2] = {UINT64_MAX, UINT64_C(1) << 40};
    for (int i = 0; i < 2; i++) {
        uint64_t eps[2] = {0, bad[i]};
        uint8_t keys[2][32];
        memcpy(keys[0], k0, 32);
        memcpy(keys[1], evil, 32);
        ent_op *add =
            mk_add(a.id, id, 1, t + 1, 0, pa, 1, tnode_pk(&v), ENT_ROLE_MEMBER,
                   eps, (const uint8_t(*)[32])keys, 2, k0);
        refused_unchanged(&v, add, ENT_ECORRUPT);
        assert_int_equal(apply1(&o, add, NULL), ENT_ECORRUPT);
        ent_op_free(add);
        /* remove and rotate naming that epoch: header epoch + 1 does not
         * match, or the header epoch is above any of the op's past */
        const uint8_t *to[2] = {tnode_pk(&o), tnode_pk(&v)};
        ent_op *rm = mk_epoch(a.id, id, 1, t + 1, 0, pa, 1, tnode_pk(&a),
                              bad[i], to, 2, evil, k0);
        assert_int_equal(apply1(&v, rm, NULL), ENT_ECORRUPT);
        ent_op_free(rm);
        ent_op *rot = mk_epoch(a.id, id, 1, t + 1, 0, pa, 1, NULL, bad[i], to,
                               2, evil, k0);
        assert_int_equal(apply1(&v, rot, NULL), ENT_ECORRUPT);
        ent_op_free(rot);
        ent_op *rot2 = mk_epoch(a.id, id, 1, t + 1, bad[i] - 1, pa, 1, NULL,
                                bad[i], to, 2, evil, k0);
        assert_int_equal(apply1(&v, rot2, NULL), ENT_ECORRUPT);
        ent_op_free(rot2);
    }
    /* a proper add of V by A, then V's own changes still work */
    ent_op *add = NULL;
    ent_op_epoch_key *boxes = NULL;
    size_t nb = 0;
    sync_all(&a, &o, id);
    assert_int_equal(ent_obj_add_member(a.eng, id, tnode_pk(&v),
                                        ENT_ROLE_MEMBER, &add, &boxes, &nb),
                     ENT_OK);
    apply_ok(&v, add);
    apply_ok(&o, add);
    v.now = o.now + 100;
    ent_op *w = local_set(&v, id, "next_step", "V still writes");
    assert_int_equal(w->h.epoch, 0);
    assert_true(opens_with(w, k0));
    apply_ok(&o, w);
    assert_string_equal(field_of(&o, id, "next_step", buf, sizeof(buf)),
                        "V still writes");
    ent_op *rk = NULL;
    assert_int_equal(ent_obj_rotate_key(o.eng, id, &rk), ENT_OK);
    assert_int_equal(rk->h.epoch, 0);
    apply_ok(&v, rk);
    ent_op *w2 = local_set(&v, id, "next_step", "after rotation");
    assert_int_equal(w2->h.epoch, 1);
    apply_ok(&o, w2);
    assert_same_state(&o, &v, id);
    free(boxes);
    TFREE_OPS(add, w, w2, rk, last);
    tnodes_close(TNODES(&o, &a, &v));
}

/* -------------------------------------------------- 6: the structure */

/*
 * S1: an op whose hlc is not above its parents' is refused; S2: a seq gap,
 * or a seq whose predecessor is not in the op's past, is refused; S3: a
 * non-genesis op without parents is refused. All ENT_ECORRUPT, nothing
 * stored; the same op with a proper header is taken.
 */
static void test_structure(void **state) {
    tnode o, m;
    uint8_t id[32], k0[32];
    opp_open(id, TNODES(&o, &m), 151);
    join(&o, &m, id, ENT_ROLE_MEMBER);
    key0(&o, id, k0);
    ent_op *gen = pick_op(&o, id, (pick_req){.opid = id}); /* genesis */
    ent_op *add_m = last_of(&o, id, tnode_pk(&o));
    const ent_op *pa[1] = {add_m};
    const ent_op *pg[1] = {gen};
    uint64_t t = add_m->h.hlc;
    tdump before = tnode_dump(&o);
    ent_op *bad[5];
    bad[0] = mk_set(m.id, id, 1, t, 0, pa, 1, "next_step", "same hlc", false,
                    k0); /* S1: not above */
    bad[1] = mk_set(m.id, id, 1, t - 5, 0, pa, 1, "next_step", "below", false,
                    k0); /* S1 */
    bad[2] = mk_set(m.id, id, 2, t + 1, 0, pa, 1, "next_step", "gap", false,
                    k0); /* S2: seq 2, no seq 1 */
    bad[3] = mk_set(m.id, id, 1, t + 1, 0, NULL, 0, "next_step", "orphan",
                    false, k0); /* S3 */
    /* S2: seq 1 but with a past that does not hold M's add: no chain
     * problem, yet no authority: refused as not a member */
    bad[4] = mk_set(m.id, id, 1, gen->h.hlc + 1, 0, pg, 1, "next_step",
                    "before my add", false, k0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(apply1(&o, bad[i], NULL), ENT_ECORRUPT);
    assert_int_equal(apply1(&o, bad[4], NULL), ENT_ENOTMEMBER);
    tdump after = tnode_dump(&o);
    assert_true(tdump_equal(&before, &after));
    free(after.buf);
    free(before.buf);
    ent_op *good =
        mk_set(m.id, id, 1, t + 1, 0, pa, 1, "next_step", "fine", false, k0);
    apply_ok(&o, good);
    /* M's seq 2 must have seq 1 in its past: parents = the add only */
    ent_op *fork = mk_set(m.id, id, 2, t + 2, 0, pa, 1, "next_step",
                          "skips my own op", false, k0);
    assert_int_equal(apply1(&o, fork, NULL), ENT_ECORRUPT);
    /* an epoch above any of the op's past */
    const ent_op *pgood[1] = {good};
    ent_op *ep = mk_set(m.id, id, 2, t + 2, 1, pgood, 1, "next_step", "epoch 1",
                        false, k0);
    assert_int_equal(apply1(&o, ep, NULL), ENT_ECORRUPT);
    for (int i = 0; i < 5; i++)
        ent_op_free(bad[i]);
    TFREE_OPS(good, fork, ep, gen, add_m);
    tnodes_close(TNODES(&o, &m));
}

/* ------------------------------------------ 7: voided after the fact */

/*
 * Y removes X while X, not knowing, writes a field, comments and adds a
 * member Q. O takes X's ops first: they count. When Y's removal reaches
 * O, all three stop counting; Q is no member; O ends where a node that
 * got the removal first ends.
 */
static void test_voided_when_removal_arrives(void **state) {
    tnode o, y, x, q, o2;
    uint8_t id[32];
    char err[256], buf[64];
    opp_open(id, TNODES(&o, &y, &x, &q), 161);
    join(&o, &y, id, ENT_ROLE_ADMIN);
    join(&o, &x, id, ENT_ROLE_ADMIN);
    sync_all(&y, &o, id);
    uint8_t k0[32];
    key0(&o, id, k0);
    /* concurrently: Y removes X; X writes, comments, adds Q */
    ent_op *r = removal(&y, id, tnode_pk(&x));
    x.now += 20;
    ent_op *xw = local_set(&x, id, "next_step", "X's plan");
    ent_op *xc = NULL;
    assert_int_equal(
        ent_obj_comment(x.eng, id, "X says hi", &xc, err, sizeof(err)), ENT_OK);
    ent_op *xq = NULL;
    assert_int_equal(ent_obj_add_member(x.eng, id, tnode_pk(&q), ENT_ROLE_ADMIN,
                                        &xq, NULL, NULL),
                     ENT_OK);
    apply_ok(&o, xw);
    apply_ok(&o, xc);
    apply_ok(&o, xq);
    assert_string_equal(field_of(&o, id, "next_step", buf, sizeof(buf)),
                        "X's plan");
    assert_int_equal(ncomments(&o, id), 1);
    assert_true(is_active(&o, id, tnode_pk(&q)));
    apply_ok(&o, r);
    assert_string_equal(field_of(&o, id, "next_step", buf, sizeof(buf)),
                        "kickoff");
    assert_int_equal(ncomments(&o, id), 0);
    assert_false(is_active(&o, id, tnode_pk(&q)));
    assert_false(is_active(&o, id, tnode_pk(&x)));
    /* the same set, the removal first, at another engine of O */
    observer(&o2, 161, id, k0, NULL);
    sync_all(&o2, &y, id);
    apply_ok(&o2, xw);
    apply_ok(&o2, xc);
    apply_ok(&o2, xq);
    assert_same_state(&o, &o2, id);
    TFREE_OPS(r, xw, xc, xq);
    tnodes_close(TNODES(&o, &y, &x, &q, &o2));
}

/* ---------------------------------------------- 8: an older store */

/* Deletes every row of obj that past vectors brought (writes tags 0x05 to
 * 0x0b): what a store written before them holds. */
typedef struct strip_ctx {
    uint8_t (*k)[128];
    size_t *kl;
    size_t n;
} strip_ctx;

static int strip_scan(void *data, const void *key, size_t klen, const void *val,
                      size_t vlen) {
    strip_ctx *c = data;
    const uint8_t *k = key;
    if (klen < 33 || k[32] < 0x05 || klen > 128)
        return 0;
    c->k = realloc(c->k, (c->n + 1) * sizeof(*c->k));
    c->kl = realloc(c->kl, (c->n + 1) * sizeof(*c->kl));
    memcpy(c->k[c->n], key, klen);
    c->kl[c->n++] = klen;
    return 0;
}

static int strip_fn(ent_txn *txn, void *data) {
    strip_ctx c = {0};
    int rc = ent_txn_scan(txn, ENT_TBL_WRITES, data, 32, strip_scan, &c);
    for (size_t i = 0; i < c.n && rc == ENT_OK; i++)
        rc = ent_txn_del(txn, ENT_TBL_WRITES, c.k[i], c.kl[i]);
    free(c.k);
    free(c.kl);
    return rc;
}

/*
 * A node whose object was kept by a version without past vectors (its
 * rows of tags 0x05..0x0b gone) takes a new op and makes a change: the
 * engine derives the rows first and ends where a node that always had
 * them ends. So does the owner after its own rows are stripped.
 */
static void test_older_store(void **state) {
    tnode o, a, b, c;
    uint8_t id[32];
    char err[256];
    opp_open(id, TNODES(&o, &a, &b, &c), 181);
    join(&o, &a, id, ENT_ROLE_ADMIN);
    join(&o, &b, id, ENT_ROLE_MEMBER);
    join(&o, &c, id, ENT_ROLE_MEMBER);
    sync_all(&a, &o, id);
    ent_op *w = local_set(&b, id, "next_step", "B writes");
    ent_op *cm = NULL;
    assert_int_equal(
        ent_obj_comment(b.eng, id, "B comments", &cm, err, sizeof(err)),
        ENT_OK);
    apply_ok(&o, w);
    apply_ok(&o, cm);
    ent_op *rm = removal(&o, id, tnode_pk(&b));
    sync_all(&a, &o, id);
    sync_all(&c, &o, id);
    assert_int_equal(ent_store_write(c.store, strip_fn, id), ENT_OK);
    assert_int_equal(ent_store_write(o.store, strip_fn, id), ENT_OK);
    a.now += 100;
    ent_op *aw = local_set(&a, id, "name", "after the upgrade");
    apply_ok(&c, aw);
    apply_ok(&o, aw);
    assert_same_state(&a, &c, id);
    assert_same_state(&a, &o, id);
    o.now += 200;
    ent_op *ow = local_set(&o, id, "next_step", "owner again");
    apply_ok(&a, ow);
    apply_ok(&c, ow);
    assert_same_state(&a, &o, id);
    assert_same_state(&a, &c, id);
    assert_false(is_active(&c, id, tnode_pk(&b)));
    assert_int_equal(ncomments(&c, id), 1); /* B's, from before */
    TFREE_OPS(w, cm, rm, aw, ow);
    tnodes_close(TNODES(&o, &a, &b, &c));
}

/* ---------------------------------------------------- 9: model check */

/*
 * Three orgs: O (owner), B and A (admins, B appointed first, so A may
 * not remove B), and M, a member whose fresh engines observe. After the
 * base history (create, add B, add A, add M), eleven ops:
 *   0 ro  O removes A                     (key k1, not to A)
 *   1 a1  A removes B, back-dated          (key ka1, to O A M; A is junior)
 *   2 a2  A adds sock puppet P as admin    (after a1)
 *   3 p1  P adds A back                    (after a2)
 *   4 a3  A writes next_step "A"           (after a2)
 *   5 a4  A rotates (epoch 2, key ka2)     (after a3)
 *   6 b1  B removes A, concurrently        (key kb1, to O B M)
 *   7 m1  M writes "M", relaying           (after a4 and p1)
 *   8 b2  B writes "B"                     (after b1)
 *   9 o2  O writes "O"                     (after ro and b1)
 *  10 a2' A writes "A2" as its seq 2 again (after a1): a fork of a2
 * Every subset (2,048, closed under parents or not: ops whose parents are
 * missing are held) is applied in its sorted order, reversed, and
 * AUTHORITY_MC_SHUFFLES seeded shuffles, each to a fresh engine of M. Per subset the state is
 * one; when ro or b1 is in it, A is not active, P is nobody, next_step is
 * never A's; M's next op never opens with a key A made (ka1, ka2) and,
 * when the owner's removal is in it, not with the epoch-0 key A held.
 * When both versions of A's seq 2 are applied (a1, a2, a2' in the set),
 * A's ops from seq 2 count for nothing (spec/membership.md C4): P is
 * nobody, next_step is neither "A" nor "A2", A's keys are never used.
 */
#define MC_OPS 11
/* seeded shuffles per subset: AUTHORITY_MC_SHUFFLES, default 0 in
 * `make test` (sorted and reversed orders: 4,096 runs), 4 in `make
 * test-long` (12,288 runs) */
#define MC_SHUFFLES_MAX 64
#define MC_SEED UINT64_C(0xa77e5700d1ce)

static void test_model_check(void **state) {
    tnode o, a, b, m, p;
    if (getenv("AUTHORITY_TEST_QUICK") != NULL)
        skip();
    uint8_t id[32], k0[32], k1[32], ka1[32], ka2[32], kb1[32];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    opp_open(id, TNODES(&o, &a, &b, &m, &p), 171);
    join(&o, &b, id, ENT_ROLE_ADMIN); /* B first: B outranks A */
    join(&o, &a, id, ENT_ROLE_ADMIN);
    join(&o, &m, id, ENT_ROLE_MEMBER);
    tops base;
    ent_op *add_m = base_history(&o, id, k0, &base);
    uint64_t t = add_m->h.hlc;
    ent_random(k1, 32);
    ent_random(ka1, 32);
    ent_random(ka2, 32);
    ent_random(kb1, 32);
    const uint8_t *O = tnode_pk(&o), *A = tnode_pk(&a), *B = tnode_pk(&b),
                  *M = tnode_pk(&m), *P = tnode_pk(&p);
    uint64_t e0 = 0;
    ent_op *op[MC_OPS];
    const ent_op *pm[1] = {add_m};
    const uint8_t *to_ro[3] = {O, B, M};
    op[0] = mk_epoch(o.id, id, 5, t + 40, 0, pm, 1, A, 1, to_ro, 3, k1, k0);
    const uint8_t *to_a1[3] = {O, A, M};
    op[1] = mk_epoch(a.id, id, 1, t + 1, 0, pm, 1, B, 1, to_a1, 3, ka1, k0);
    const ent_op *pa1[1] = {op[1]};
    op[2] = mk_add(a.id, id, 2, t + 2, 0, pa1, 1, P, ENT_ROLE_ADMIN, &e0,
                   (const uint8_t(*)[32])k0, 1, k0);
    const ent_op *pa2[1] = {op[2]};
    op[3] = mk_add(p.id, id, 1, t + 3, 0, pa2, 1, A, ENT_ROLE_ADMIN, &e0,
                   (const uint8_t(*)[32])k0, 1, k0);
    op[4] = mk_set(a.id, id, 3, t + 3, 0, pa2, 1, "next_step", "A", false, k0);
    const ent_op *pa3[1] = {op[4]};
    const uint8_t *to_a4[4] = {O, A, M, P};
    op[5] =
        mk_epoch(a.id, id, 4, t + 4, 1, pa3, 1, NULL, 2, to_a4, 4, ka2, ka1);
    const uint8_t *to_b1[3] = {O, B, M};
    op[6] = mk_epoch(b.id, id, 1, t + 30, 0, pm, 1, A, 1, to_b1, 3, kb1, k0);
    const ent_op *pm1[2] = {op[5], op[3]};
    op[7] =
        mk_set(m.id, id, 1, t + 50, 2, pm1, 2, "next_step", "M", false, ka2);
    const ent_op *pb1[1] = {op[6]};
    op[8] = mk_set(b.id, id, 2, t + 31, 0, pb1, 1, "next_step", "B", false, k0);
    const ent_op *po2[2] = {op[0], op[6]};
    op[9] = mk_set(o.id, id, 6, t + 60, 1, po2, 2, "next_step", "O", false, k1);
    op[10] = mk_set(a.id, id, 2, t + 2, 0, pa1, 1, "next_step", "A2", false, k0);
    /* M's engine after the base history, copied for every run */
    tnode tmpl;
    observer(&tmpl, 174, id, k0, &base);
    ent_objects_free(tmpl.eng);
    ent_store_close(tmpl.store);
    tmpl.eng = NULL;
    tmpl.store = NULL;
    uint64_t rng = MC_SEED;
    size_t runs = 0;
    const char *sh = getenv("AUTHORITY_MC_SHUFFLES");
    int shuffles = sh != NULL ? atoi(sh) : 0;
    if (shuffles < 0 || shuffles > MC_SHUFFLES_MAX)
        fail_msg("AUTHORITY_MC_SHUFFLES: 0 to %d", MC_SHUFFLES_MAX);
    for (unsigned set = 0; set < (1u << MC_OPS); set++) {
        size_t idx[MC_OPS], n = 0;
        for (size_t i = 0; i < MC_OPS; i++)
            if (set & (1u << i))
                idx[n++] = i;
        uint8_t *ref = NULL;
        size_t ref_len = 0;
        bool removed = (set & 1u) || (set & (1u << 6));
        unsigned fork_bits = (1u << 1) | (1u << 2) | (1u << 10);
        bool forked = (set & fork_bits) == fork_bits;
        for (int order = 0; order < 2 + shuffles; order++) {
            size_t ord[MC_OPS];
            for (size_t i = 0; i < n; i++)
                ord[i] = idx[order == 1 ? n - 1 - i : i];
            for (size_t i = n; order >= 2 && i > 1; i--) {
                size_t k = (size_t)(trng_next(&rng) % i);
                size_t tmp = ord[i - 1];
                ord[i - 1] = ord[k];
                ord[k] = tmp;
            }
            if (n < 2 && order > 0)
                break;
            tnode v;
            const uint8_t *raws[MC_OPS];
            size_t lens[MC_OPS];
            int rcs[MC_OPS];
            clone_node(&v, tmpl.dir, 174);
            for (size_t i = 0; i < n; i++) {
                raws[i] = op[ord[i]]->raw;
                lens[i] = op[ord[i]]->rawlen;
            }
            /* one batch: applied one by one in this order, held ops
             * released as their parents come, one transaction */
            assert_int_equal(
                ent_obj_apply_batch(v.eng, raws, lens, n, NULL, rcs), ENT_OK);
            for (size_t i = 0; i < n; i++)
                if (rcs[i] != ENT_OK)
                    fail_msg("set %#x: op %zu: %s", set, ord[i],
                             ent_err_name(rcs[i]));
            size_t l;
            uint8_t *s = state_of(&v, id, &l);
            if (ref == NULL) {
                ref = s;
                ref_len = l;
            } else {
                if (l != ref_len || memcmp(s, ref, l) != 0)
                    fail_msg("set %#x: order %d gives another state", set,
                             order);
                free(s);
            }
            json_t *js;
            assert_int_equal(ent_obj_show_json(v.eng, id, true, &js), ENT_OK);
            if (removed) {
                if (json_active(js, A))
                    fail_msg("set %#x: the removed org is active", set);
                const char *f = json_string_value(json_object_get(
                    json_object_get(js, "shared"), "next_step"));
                if (f != NULL && strcmp(f, "A") == 0)
                    fail_msg("set %#x: the removed org's write counts", set);
            }
            if (json_active(js, P) &&
                (removed || forked || !(set & (1u << 2))))
                fail_msg("set %#x: the puppet is active", set);
            if (forked) {
                const char *f = json_string_value(json_object_get(
                    json_object_get(js, "shared"), "next_step"));
                if (f != NULL && (strcmp(f, "A") == 0 || strcmp(f, "A2") == 0))
                    fail_msg("set %#x: a write after the fork counts", set);
            }
            json_decref(js);
            /* the key M writes under next */
            if (order == 0) {
                v.now = o.now + 1000;
                ent_op *w = local_set(&v, id, "name", "probe");
                if (removed && (opens_with(w, ka1) || opens_with(w, ka2)))
                    fail_msg("set %#x: M writes under a key A made", set);
                if (forked && opens_with(w, ka2))
                    fail_msg("set %#x: M writes under A's key after its "
                             "fork",
                             set);
                if ((set & 1u) && opens_with(w, k0))
                    fail_msg("set %#x: M writes under epoch 0 after the "
                             "owner removed A",
                             set);
                if ((set & 1u) && !opens_with(w, k1) && !opens_with(w, kb1))
                    fail_msg("set %#x: M writes under an unknown key", set);
                ent_op_free(w);
            }
            tnode_close(&v);
            runs++;
        }
        free(ref);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("model check: %zu runs over %u subsets of %d ops in %.1f s\n", runs,
           1u << MC_OPS, MC_OPS,
           (double)(t1.tv_sec - t0.tv_sec) +
               (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    for (size_t i = 0; i < MC_OPS; i++)
        ent_op_free(op[i]);
    ent_op_free(add_m);
    tops_free(&base);
    tnodes_close(TNODES(&tmpl, &o, &a, &b, &m, &p));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backdated_removal_of_remover),
        cmocka_unit_test(test_sock_puppet),
        cmocka_unit_test(test_demoted_admin),
        cmocka_unit_test(test_seniority),
        cmocka_unit_test(test_removed_gets_no_key),
        cmocka_unit_test(test_leave),
        cmocka_unit_test(test_owner_only_field),
        cmocka_unit_test(test_epoch_bounds),
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_voided_when_removal_arrives),
        cmocka_unit_test(test_older_store),
        cmocka_unit_test(test_model_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
