/*
 * alloc_test.c - allocation-failure injection (spec/reliability.md
 * "Allocation faults").
 *
 * The test binary is linked with -Wl,--wrap=malloc,calloc,realloc,strdup,
 * strndup (tests/alloc_test.ldflags): every such call made by our own code
 * (the objects of libentente.a and this file) goes to __wrap_*, which counts
 * it and, when armed, fails the n-th one with NULL / ENOMEM. Shared system
 * libraries (libsodium, LMDB, jansson, msgpack-c, libuv) keep the real
 * allocator: the hook injects faults into our code without patching them.
 * The loops marked "+jansson" also fail jansson's allocations, through its
 * documented json_set_alloc_funcs hook, to check our handling of NULL from
 * json_object(), json_pack() and json_*_set/append.
 *
 * For each operation, alloc_loop() arms "fail the n-th allocation from now"
 * for n = 1, 2, ... and runs the operation once per n. Each round asserts:
 *  - it failed with a negative code (ENT_ENOMEM, or a code listed as the
 *    operation's documented translation) after the injected fault fired,
 *    and every table of the store (activity log included) and the engine's
 *    counters are byte-identical to before; or
 *  - it succeeded, and its result equals a reference result made without
 *    faults. When the fault did not fire (n is past the last allocation
 *    site) the loop ends: n - 1 is the number of allocation sites on that
 *    path.
 * ASan/UBSan abort on any memory error and LeakSanitizer (detect_leaks=1)
 * reports at exit anything an error path did not free.
 *
 * Output, one line per operation:
 *   alloc: NAME: N allocation sites
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>

#include "node/audit/audit.h"
#include "node/api/http.h"
#include "node/peers/invite.h"
#include "node/objects/template.h"
#include "node/objects/value.h"
#include "protocol/cbor.h"
#include "protocol/op.h"
#include "protocol/wire.h"
#include "tests/object_fixture.h"

#define ALLOC_MAX_SITES 5000 /* a loop that never succeeds is a bug */

/* ------------------------------------------------------------ the hook */

/* The one piece of mutable global state: the linker hook has no context
 * pointer. Test code only; single-threaded. */
static struct {
    bool armed;
    unsigned long target; /* fail the target-th allocation after arming */
    unsigned long count;  /* allocations since arming */
    unsigned long fired;  /* faults injected since arming */
    bool json;            /* count jansson's allocations too */
} g_hook;

static unsigned long g_faulted_runs; /* rounds that failed, all operations */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t sz);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

static bool hook_fail(void) {
    if (!g_hook.armed)
        return false;
    if (++g_hook.count != g_hook.target)
        return false;
    g_hook.fired++;
    errno = ENOMEM;
    return true;
}

void *__wrap_malloc(size_t n) {
    return hook_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t sz) {
    return hook_fail() ? NULL : __real_calloc(n, sz);
}

void *__wrap_realloc(void *p, size_t n) {
    return hook_fail() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s) {
    return hook_fail() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n) {
    return hook_fail() ? NULL : __real_strndup(s, n);
}

/* jansson's allocator (json_set_alloc_funcs, its documented hook): its
 * allocations count only in the loops that ask for them (g_hook.json). */
static void *json_malloc(size_t n) {
    return g_hook.json && hook_fail() ? NULL : __real_malloc(n);
}

static void hook_arm(unsigned long n) {
    g_hook.count = 0;
    g_hook.fired = 0;
    g_hook.target = n;
    g_hook.armed = true;
}

static void hook_disarm(void) {
    g_hook.armed = false;
}

/* ------------------------------------------------------------ the loop */

/* Every table of the store, the activity log included. */
static tdump dump_all(tnode *n) {
    tdump d = tnode_dump_ex(n, true);
    assert_non_null(d.buf); /* the store was read */
    return d;
}

/*
 * One operation under test. run() makes the call (armed) and keeps its
 * result in arg; check() (disarmed) compares a successful result with the
 * reference and frees it; clean() (disarmed, may be NULL) frees what a
 * failed call may have left in arg's output slots (it must be nothing).
 */
typedef struct aop {
    int (*run)(void *arg);
    void (*check)(void *arg);
    tnode *node;  /* the store and engine the call may change, or NULL */
    int alt_code; /* a documented non-ENOMEM translation, or 0 */
} aop;

/* What one loop saw, for the report. */
typedef struct astat {
    unsigned sites;     /* rounds that failed (= allocation sites) */
    unsigned tolerated; /* rounds where a fault fired and the call still
                           succeeded (a fallback path) */
} astat;

static astat alloc_loop(const char *name, const aop *op, void *arg) {
    astat st = {0};
    for (unsigned long n = 1; n < ALLOC_MAX_SITES; n++) {
        tdump before = {0}, after = {0};
        ent_obj_stats s0, s1;
        if (op->node != NULL) {
            before = dump_all(op->node);
            if (op->node->eng != NULL)
                ent_obj_stats_get(op->node->eng, &s0);
        }
        hook_arm(n);
        int rc = op->run(arg);
        hook_disarm();
        unsigned long fired = g_hook.fired;
        if (rc == ENT_OK) {
            op->check(arg);
            free(before.buf);
            if (fired == 0) {
                printf("alloc: %s: %u allocation sites%s\n", name, st.sites,
                       st.tolerated ? " (some tolerated)" : "");
                fflush(stdout);
                return st;
            }
            st.tolerated++;
            continue;
        }
        if (fired != 1)
            fail_msg("%s: site %lu: failed with %s but no fault was injected",
                     name, n, ent_err_name(rc));
        if (rc >= 0)
            fail_msg("%s: site %lu: returned %d, not an error", name, n, rc);
        if (rc != ENT_ENOMEM && (op->alt_code == 0 || rc != op->alt_code))
            fail_msg("%s: site %lu: returned %s, want ENT_ENOMEM", name, n,
                     ent_err_name(rc));
        if (op->node != NULL) {
            after = dump_all(op->node);
            if (!tdump_equal(&before, &after))
                fail_msg("%s: site %lu: the failed call changed the store",
                         name, n);
            if (op->node->eng != NULL) {
                ent_obj_stats_get(op->node->eng, &s1);
                if (memcmp(&s0, &s1, sizeof(s0)) != 0)
                    fail_msg("%s: site %lu: the failed call moved counters",
                             name, n);
            }
        }
        free(before.buf);
        free(after.buf);
        st.sites++;
        g_faulted_runs++;
    }
    fail_msg("%s: never succeeded in %d rounds", name, ALLOC_MAX_SITES);
    return st;
}

/* ------------------------------------------------------ the hook works */

static void test_hook(void **state) {
    hook_arm(2);
    /* volatile: clang may drop an allocation whose pointer goes nowhere */
    void *volatile a = malloc(8);
    void *volatile b = calloc(1, 8);
    char *volatile c = strdup("x");
    hook_disarm();
    assert_non_null(a);
    assert_null(b);
    assert_non_null(c);
    assert_int_equal(g_hook.count, 3);
    assert_int_equal(g_hook.fired, 1);
    /* calls from the library are wrapped too (ent_value_format mallocs) */
    ent_value v = {.type = ENT_VT_INT, .u.i = 42};
    char *s = (char *)1;
    hook_arm(1);
    int rc = ent_value_format(&v, &s);
    hook_disarm();
    assert_int_equal(rc, ENT_ENOMEM);
    assert_int_equal(g_hook.fired, 1);
    free(a);
    free(c);
}

/* A negative control: an operation that leaks or swallows a failure is
 * caught (here: one that returns ENT_OK although its copy is missing would
 * be seen by check; one that fails with the wrong code by the loop). */
static int bad_run(void *arg) {
    char **out = arg;
    *out = strdup("copy");
    return *out == NULL ? ENT_EINVAL : ENT_OK; /* wrong translation */
}

static void bad_check(void *arg) {
    char **out = arg;
    assert_string_equal(*out, "copy");
    free(*out);
    *out = NULL;
}

static void test_loop_catches_wrong_code(void **state) {
    char *out = NULL;
    aop op = {bad_run, bad_check, NULL, 0};
    /* run the first round by hand as alloc_loop would */
    hook_arm(1);
    int rc = op.run(&out);
    hook_disarm();
    assert_int_equal(g_hook.fired, 1);
    assert_int_not_equal(rc, ENT_ENOMEM); /* alloc_loop would fail_msg */
    aop ok = {bad_run, bad_check, NULL, ENT_EINVAL};
    astat st = alloc_loop("control (strdup)", &ok, &out);
    assert_int_equal(st.sites, 1);
}

/* A check(): the call's result bytes (*buf, len) are the reference; they
 * are freed and the slot cleared. */
static void check_bytes(uint8_t **buf, size_t len, const uint8_t *ref,
                        size_t rlen) {
    assert_int_equal(len, rlen);
    assert_memory_equal(*buf, ref, rlen);
    free(*buf);
    *buf = NULL;
}

/* A check(): the call's result string *s is want; freed, slot cleared. */
static void check_string(char **s, const char *want) {
    assert_string_equal(*s, want);
    free(*s);
    *s = NULL;
}

/* ------------------------------------------------------------ ops, CBOR */

typedef struct opfix {
    ent_identity *alice;
    uint8_t key[ENT_KEY_LEN];
    ent_op_header h;
    ent_op_body body;
    uint8_t *benc; /* reference body encoding */
    size_t blen;
    ent_op *ref; /* reference sealed op */
    uint8_t *renc;
    size_t rlen;
    /* results */
    ent_op *op;
    uint8_t *buf;
    size_t len;
    ent_op_body out_body;
} opfix;

static void set_text(ent_value *v, ent_vtype t, const char *s) {
    v->type = t;
    v->u.text.s = strdup(s);
    v->u.text.len = strlen(s);
}

static void opfix_init(opfix *f) {
    memset(f, 0, sizeof(*f));
    assert_int_equal(ent_crypto_init(), ENT_OK);
    assert_int_equal(ent_identity_generate(&f->alice), ENT_OK);
    ent_random(f->key, sizeof(f->key));
    f->h.version = ENT_OP_VERSION;
    f->h.kind = ENT_OP_SET;
    memset(f->h.object, 0x0b, 32);
    f->h.nparents = 2;
    memset(f->h.parents[0], 0x11, 32);
    memset(f->h.parents[1], 0x22, 32);
    memcpy(f->h.author, ent_identity_public(f->alice), 32);
    f->h.seq = 5;
    f->h.hlc = (1700000000000ULL << 16) | 7;
    f->h.epoch = 1;
    f->body.kind = ENT_OP_SET;
    f->body.nfields = 4;
    f->body.fields = calloc(4, sizeof(*f->body.fields));
    assert_non_null(f->body.fields);
    strcpy(f->body.fields[0].name, "stage_note");
    set_text(&f->body.fields[0].v, ENT_VT_TEXT, "Z\xc3\xbcrich kickoff");
    strcpy(f->body.fields[1].name, "amount");
    f->body.fields[1].v.type = ENT_VT_MONEY;
    f->body.fields[1].v.u.money.minor = 123456;
    strcpy(f->body.fields[1].v.u.money.cur, "EUR");
    strcpy(f->body.fields[2].name, "region");
    set_text(&f->body.fields[2].v, ENT_VT_ENUM, "emea");
    strcpy(f->body.fields[3].name, "owner_org");
    f->body.fields[3].v.type = ENT_VT_ORG;
    f->body.fields[3].owner_only = true;
    memset(f->body.fields[3].v.u.org, 0x44, 32);
    assert_int_equal(ent_op_body_encode(&f->body, &f->benc, &f->blen), ENT_OK);
    assert_int_equal(
        ent_op_seal(&f->ref, &f->h, f->benc, f->blen, f->key, f->alice),
        ENT_OK);
    assert_int_equal(ent_op_encode(f->ref, &f->renc, &f->rlen), ENT_OK);
}

static void opfix_free(opfix *f) {
    ent_op_body_clear(&f->body);
    free(f->benc);
    ent_op_free(f->ref);
    free(f->renc);
    ent_identity_free(f->alice);
}

static int run_body_encode(void *arg) {
    opfix *f = arg;
    f->buf = (uint8_t *)1; /* must be NULL or untouched after a failure */
    int rc = ent_op_body_encode(&f->body, &f->buf, &f->len);
    if (rc != ENT_OK && f->buf != (uint8_t *)1 && f->buf != NULL)
        fail_msg("body_encode left a buffer after %s", ent_err_name(rc));
    return rc;
}

static void check_buf_is_benc(void *arg) {
    opfix *f = arg;
    check_bytes(&f->buf, f->len, f->benc, f->blen);
}

static int run_body_decode(void *arg) {
    opfix *f = arg;
    return ent_op_body_decode(&f->out_body, ENT_OP_SET, f->benc, f->blen);
}

static void check_body(void *arg) {
    opfix *f = arg;
    uint8_t *b;
    size_t l;
    assert_int_equal(ent_op_body_encode(&f->out_body, &b, &l), ENT_OK);
    assert_int_equal(l, f->blen);
    assert_memory_equal(b, f->benc, l);
    free(b);
    ent_op_body_clear(&f->out_body);
}

static int run_seal(void *arg) {
    opfix *f = arg;
    f->op = NULL;
    int rc = ent_op_seal(&f->op, &f->h, f->benc, f->blen, f->key, f->alice);
    if (rc != ENT_OK)
        assert_null(f->op);
    return rc;
}

static void check_op(void *arg) {
    opfix *f = arg;
    uint8_t *b;
    size_t l;
    assert_int_equal(ent_op_verify(f->op), ENT_OK);
    assert_memory_equal(&f->op->h, &f->ref->h, sizeof(f->op->h));
    assert_int_equal(ent_op_open(f->op, f->key, &b, &l), ENT_OK);
    assert_int_equal(l, f->blen);
    assert_memory_equal(b, f->benc, l);
    free(b);
    ent_op_free(f->op);
    f->op = NULL;
}

static int run_op_decode(void *arg) {
    opfix *f = arg;
    f->op = NULL;
    int rc = ent_op_decode(&f->op, f->renc, f->rlen);
    if (rc != ENT_OK)
        assert_null(f->op);
    return rc;
}

static void check_decoded(void *arg) {
    opfix *f = arg;
    assert_int_equal(f->op->rawlen, f->rlen);
    assert_memory_equal(f->op->raw, f->renc, f->rlen);
    assert_memory_equal(f->op->id, f->ref->id, sizeof(f->op->id));
    check_op(arg);
}

static int run_op_encode(void *arg) {
    opfix *f = arg;
    f->buf = NULL;
    return ent_op_encode(f->ref, &f->buf, &f->len);
}

static void check_buf_is_renc(void *arg) {
    opfix *f = arg;
    check_bytes(&f->buf, f->len, f->renc, f->rlen);
}

static int run_op_open(void *arg) {
    opfix *f = arg;
    f->buf = NULL;
    return ent_op_open(f->ref, f->key, &f->buf, &f->len);
}

/* CBOR: the one allocating entry point, ent_cbor_encode. */
static void emit_sample(ent_cbor_writer *w, const void *data) {
    (void)data;
    ent_cbor_write_map(w, 2);
    ent_cbor_write_text(w, "a", 1);
    ent_cbor_write_array(w, 3);
    ent_cbor_write_uint(w, 1);
    ent_cbor_write_negint(w, 7);
    ent_cbor_write_bytes(w, "xyz", 3);
    ent_cbor_write_text(w, "b", 1);
    ent_cbor_write_null(w);
}

static int run_cbor_encode(void *arg) {
    opfix *f = arg;
    f->buf = NULL;
    return ent_cbor_encode(&f->buf, &f->len, 1024, emit_sample, NULL);
}

static void check_cbor(void *arg) {
    opfix *f = arg;
    static const uint8_t want[] = {0xa2, 0x61, 'a', 0x83, 0x01, 0x27, 0x43,
                                   'x',  'y',  'z', 0x61, 'b',  0xf6};
    assert_int_equal(f->len, sizeof(want));
    assert_memory_equal(f->buf, want, sizeof(want));
    assert_int_equal(ent_cbor_check(f->buf, f->len, NULL), ENT_OK);
    free(f->buf);
    f->buf = NULL;
}

static void test_op_and_cbor(void **state) {
    opfix f;
    opfix_init(&f);
    aop ops[] = {
        {run_body_encode, check_buf_is_benc, NULL, 0},
        {run_body_decode, check_body, NULL, 0},
        {run_seal, check_op, NULL, 0},
        {run_op_decode, check_decoded, NULL, 0},
        {run_op_encode, check_buf_is_renc, NULL, 0},
        {run_op_open, check_buf_is_benc, NULL, 0},
        {run_cbor_encode, check_cbor, NULL, 0},
    };
    static const char *const names[] = {
        "op body_encode (set, 4 fields)", "op body_decode (set, 4 fields)",
        "op seal",                        "op decode",
        "op encode",                      "op open",
        "cbor encode",
    };
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        alloc_loop(names[i], &ops[i], &f);
    opfix_free(&f);
}

/* ------------------------------------------------------------------ wire */

typedef struct wirefix {
    ent_wire_msg msg;
    uint8_t *ref;
    size_t rlen;
    uint8_t *buf;
    size_t len;
    ent_wire_msg out;
} wirefix;

static int run_wire_encode(void *arg) {
    wirefix *w = arg;
    w->buf = NULL;
    int rc = ent_wire_encode(&w->msg, &w->buf, &w->len);
    if (rc != ENT_OK)
        assert_null(w->buf);
    return rc;
}

static void check_wire_buf(void *arg) {
    wirefix *w = arg;
    check_bytes(&w->buf, w->len, w->ref, w->rlen);
}

static int run_wire_decode(void *arg) {
    wirefix *w = arg;
    memset(&w->out, 0x5c, sizeof(w->out));
    int rc = ent_wire_decode(&w->out, w->ref, w->rlen);
    if (rc != ENT_OK) { /* documented: m is zeroed and owns nothing */
        ent_wire_msg z;
        memset(&z, 0, sizeof(z));
        assert_memory_equal(&w->out, &z, sizeof(z));
    }
    return rc;
}

static void check_wire_decoded(void *arg) {
    wirefix *w = arg;
    uint8_t *b;
    size_t l;
    assert_int_equal(w->out.type, w->msg.type);
    assert_int_equal(ent_wire_encode(&w->out, &b, &l), ENT_OK);
    assert_int_equal(l, w->rlen);
    assert_memory_equal(b, w->ref, l);
    free(b);
    ent_wire_msg_clear(&w->out);
}

static void test_wire(void **state) {
    static uint8_t recs[3][300];
    ent_wire_bytes ops3[3];
    ent_wire_join_key keys[2];
    uint8_t ids[5][ENT_WIRE_ID_LEN];
    uint8_t summary[40];
    uint8_t entries[3][ENT_WIRE_DIGEST_ENTRY];
    for (int i = 0; i < 3; i++) {
        memset(recs[i], 0x30 + i, sizeof(recs[i]));
        ops3[i].p = recs[i];
        ops3[i].len = 100 + 50 * (size_t)i;
    }
    memset(keys, 0x61, sizeof(keys));
    keys[0].epoch = 0;
    keys[1].epoch = 1;
    memset(ids, 0x71, sizeof(ids));
    memset(summary, 0x72, sizeof(summary));
    memset(entries, 0x73, sizeof(entries));
    for (int i = 0; i < 3; i++)
        entries[i][0] = (uint8_t)(0x10 + i); /* sorted, unique ids */
    ent_wire_msg m[6];
    memset(m, 0, sizeof(m));
    m[0].type = ENT_WIRE_HELLO;
    m[0].u.hello.version = ENT_WIRE_VERSION;
    m[0].u.hello.ncaps = 1;
    strcpy(m[0].u.hello.caps[0], "ops/1");
    strcpy(m[0].u.hello.name, "Acme");
    m[0].u.hello.naddrs = 1;
    strcpy(m[0].u.hello.addrs[0], "127.0.0.1:7400");
    m[1].type = ENT_WIRE_OPS;
    memset(m[1].u.ops.object, 4, 32);
    m[1].u.ops.ops = ops3;
    m[1].u.ops.nops = 3;
    m[2].type = ENT_WIRE_ACK;
    memset(m[2].u.ack.object, 5, 32);
    m[2].u.ack.ids = ids;
    m[2].u.ack.nids = 5;
    m[3].type = ENT_WIRE_JOIN_OK;
    memset(m[3].u.join_ok.object, 6, 32);
    m[3].u.join_ok.keys = keys;
    m[3].u.join_ok.nkeys = 2;
    m[3].u.join_ok.nops = 9;
    m[4].type = ENT_WIRE_HAVE;
    memset(m[4].u.summary.object, 7, 32);
    m[4].u.summary.bytes = summary;
    m[4].u.summary.len = sizeof(summary);
    m[5].type = ENT_WIRE_DIGESTS;
    m[5].u.digests.entries = entries;
    m[5].u.digests.n = 3;
    m[5].u.digests.total = 3;
    for (size_t i = 0; i < 6; i++) {
        wirefix w;
        char name[64];
        memset(&w, 0, sizeof(w));
        w.msg = m[i];
        assert_int_equal(ent_wire_encode(&w.msg, &w.ref, &w.rlen), ENT_OK);
        aop enc = {run_wire_encode, check_wire_buf, NULL, 0};
        aop dec = {run_wire_decode, check_wire_decoded, NULL, 0};
        snprintf(name, sizeof(name), "wire encode %s",
                 ent_wire_type_name(m[i].type));
        alloc_loop(name, &enc, &w);
        snprintf(name, sizeof(name), "wire decode %s",
                 ent_wire_type_name(m[i].type));
        alloc_loop(name, &dec, &w);
        free(w.ref);
    }
}

/* ---------------------------------------------------------------- invite */

typedef struct invfix {
    ent_invite inv;
    char *ref;
    char *tok;
    ent_invite out;
} invfix;

static int run_invite_encode(void *arg) {
    invfix *f = arg;
    f->tok = NULL;
    return ent_invite_token_encode(&f->inv, &f->tok);
}

static void check_invite_tok(void *arg) {
    invfix *f = arg;
    check_string(&f->tok, f->ref);
}

static int run_invite_parse(void *arg) {
    invfix *f = arg;
    return ent_invite_token_parse(f->ref, strlen(f->ref), &f->out);
}

static void check_invite_parsed(void *arg) {
    invfix *f = arg;
    assert_memory_equal(&f->out, &f->inv, sizeof(f->inv));
    ent_invite_clear(&f->out);
}

static void test_invite(void **state) {
    invfix f;
    uint8_t pk[ENT_PK_LEN], obj[32];
    memset(&f, 0, sizeof(f));
    assert_int_equal(ent_crypto_init(), ENT_OK);
    memset(pk, 0x21, sizeof(pk));
    memset(obj, 0x22, sizeof(obj));
    assert_int_equal(ent_invite_init(&f.inv, pk, obj, "opportunity",
                                     ENT_INVITE_ROLE_MEMBER,
                                     1900000000),
                     ENT_OK);
    assert_int_equal(ent_invite_add_addr(&f.inv, "127.0.0.1:7400"), ENT_OK);
    assert_int_equal(ent_invite_add_addr(&f.inv, "node.acme.example:443"),
                     ENT_OK);
    assert_int_equal(ent_invite_token_encode(&f.inv, &f.ref), ENT_OK);
    aop enc = {run_invite_encode, check_invite_tok, NULL, 0};
    aop par = {run_invite_parse, check_invite_parsed, NULL, 0};
    alloc_loop("invite token_encode", &enc, &f);
    alloc_loop("invite token_parse", &par, &f);
    ent_wipe(f.ref, strlen(f.ref));
    free(f.ref);
    ent_invite_clear(&f.inv);
}

/* ------------------------------------------------------- template, value */

static const char tpl_json[] =
    "{\"type\":\"deal\",\"strict\":false,"
    "\"fields\":["
    "{\"name\":\"title\",\"type\":\"text\",\"label\":\"Title\","
    "\"default\":\"untitled\"},"
    "{\"name\":\"amount\",\"type\":\"money\",\"visibility\":\"private\"},"
    "{\"name\":\"region\",\"type\":\"enum\","
    "\"values\":[\"emea\",\"apac\",\"amer\"]},"
    "{\"name\":\"lead\",\"type\":\"org\",\"owner_only\":true,"
    "\"or_text\":true}],"
    "\"stages\":[\"New\",\"Won\",\"Lost\"]}";

typedef struct tplfix {
    json_t *j;
    ent_template *ref;
    ent_template *t;
    json_t *out;
    tnode node;
    ent_resolved res;
    const char *field, *text;
    bool priv;
    char want[128];
} tplfix;

static int run_tpl_from(void *arg) {
    tplfix *f = arg;
    char err[256];
    f->t = NULL;
    int rc = ent_template_from_json(f->j, &f->t, err, sizeof(err));
    if (rc != ENT_OK)
        assert_null(f->t);
    return rc;
}

static void check_tpl(void *arg) {
    tplfix *f = arg;
    assert_true(ent_template_equal(f->t, f->ref));
    ent_template_free(f->t);
    f->t = NULL;
}

static int run_tpl_to(void *arg) {
    tplfix *f = arg;
    f->out = NULL;
    return ent_template_to_json(f->ref, &f->out);
}

static void check_tpl_json(void *arg) {
    tplfix *f = arg;
    ent_template *t = NULL;
    assert_int_equal(ent_template_from_json(f->out, &t, NULL, 0), ENT_OK);
    assert_true(ent_template_equal(t, f->ref));
    ent_template_free(t);
    json_decref(f->out);
    f->out = NULL;
}

static int resolve_fn(ent_txn *txn, void *data) {
    tplfix *f = data;
    char err[256];
    return ent_template_resolve(f->ref, txn, f->field, f->text, f->priv,
                                &f->res, err, sizeof(err));
}

static int run_tpl_resolve(void *arg) {
    tplfix *f = arg;
    return ent_store_read(f->node.store, resolve_fn, f);
}

static void check_resolved(void *arg) {
    tplfix *f = arg;
    char *s = NULL;
    assert_string_equal(f->res.field, f->field);
    assert_int_equal(ent_value_format(&f->res.value, &s), ENT_OK);
    assert_string_equal(s, f->want);
    free(s);
    ent_value_clear(&f->res.value);
}

static int get_fn(ent_txn *txn, void *data) {
    tplfix *f = data;
    return ent_template_get(txn, "opportunity", &f->t);
}

static int run_tpl_get(void *arg) {
    tplfix *f = arg;
    f->t = NULL;
    int rc = ent_store_read(f->node.store, get_fn, f);
    if (rc != ENT_OK)
        assert_null(f->t);
    return rc;
}

static void check_tpl_builtin(void *arg) {
    tplfix *f = arg;
    ent_template *b = NULL;
    assert_int_equal(ent_template_builtin("opportunity", &b), ENT_OK);
    assert_true(ent_template_equal(f->t, b));
    ent_template_free(b);
    ent_template_free(f->t);
    f->t = NULL;
}

static void test_template(void **state) {
    tplfix f;
    json_error_t jerr;
    char err[256] = "";
    memset(&f, 0, sizeof(f));
    f.j = json_loads(tpl_json, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(f.j);
    if (ent_template_from_json(f.j, &f.ref, err, sizeof(err)) != ENT_OK)
        fail_msg("template: %s", err);
    assert_int_equal(tnode_open(&f.node, 1), 0);
    aop from = {run_tpl_from, check_tpl, NULL, 0};
    aop to = {run_tpl_to, check_tpl_json, NULL, 0};
    aop res = {run_tpl_resolve, check_resolved, &f.node, 0};
    aop get = {run_tpl_get, check_tpl_builtin, &f.node, 0};
    alloc_loop("template from_json", &from, &f);
    alloc_loop("template to_json", &to, &f);
    static const struct {
        const char *field, *text;
        bool priv;
        const char *want;
    } cases[] = {
        {"title", "Big deal \xc3\xa9", false, "Big deal \xc3\xa9"},
        {"region", "EMEA", false, "emea"},
        {"amount", "1200.50 EUR", true, "1200.50 EUR"},
        {"lead", "Someone Inc", false, "Someone Inc"},
        {"custom_note", "free text", true, "free text"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[96];
        f.field = cases[i].field;
        f.text = cases[i].text;
        f.priv = cases[i].priv;
        snprintf(f.want, sizeof(f.want), "%s", cases[i].want);
        snprintf(name, sizeof(name), "template resolve %s", f.field);
        alloc_loop(name, &res, &f);
    }
    alloc_loop("template get (built-in opportunity)", &get, &f);
    ent_template_free(f.ref);
    json_decref(f.j);
    tnode_close(&f.node);
}

typedef struct valfix {
    ent_vtype type;
    const char *text;
    const char *want;
    ent_value v;
    char *s;
} valfix;

static int run_value_parse(void *arg) {
    valfix *f = arg;
    static const char *const allowed[] = {"Emea", "Apac"};
    ent_value_opts o = {.default_currency = "EUR",
                        .allowed = allowed,
                        .nallowed = 2};
    char err[256];
    f->v.type = ENT_VT_NULL;
    int rc = ent_value_parse(&f->v, f->type, f->text, &o, err, sizeof(err));
    if (rc != ENT_OK)
        assert_int_equal(f->v.type, ENT_VT_NULL); /* owns nothing */
    return rc;
}

static void check_value(void *arg) {
    valfix *f = arg;
    char *s = NULL;
    assert_int_equal(f->v.type, f->type);
    assert_int_equal(ent_value_format(&f->v, &s), ENT_OK);
    assert_string_equal(s, f->want);
    free(s);
    ent_value_clear(&f->v);
}

static int run_value_format(void *arg) {
    valfix *f = arg;
    f->s = NULL;
    int rc = ent_value_format(&f->v, &f->s);
    if (rc != ENT_OK)
        assert_null(f->s);
    return rc;
}

static void check_formatted(void *arg) {
    valfix *f = arg;
    check_string(&f->s, f->want);
}

static void test_value(void **state) {
    static const struct {
        ent_vtype type;
        const char *text, *want;
    } cases[] = {
        {ENT_VT_TEXT, "hello w\xc3\xb6rld", "hello w\xc3\xb6rld"},
        {ENT_VT_ENUM, "emea", "Emea"},
        {ENT_VT_MONEY, "12.5", "12.50 EUR"},
        {ENT_VT_INT, " -42 ", "-42"},
        {ENT_VT_DATE, "2024-02-29", "2024-02-29"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        valfix f = {.type = cases[i].type,
                    .text = cases[i].text,
                    .want = cases[i].want};
        char name[64];
        aop parse = {run_value_parse, check_value, NULL, 0};
        aop fmt = {run_value_format, check_formatted, NULL, 0};
        snprintf(name, sizeof(name), "value parse %s",
                 ent_vtype_name(f.type));
        alloc_loop(name, &parse, &f);
        assert_int_equal(run_value_parse(&f), ENT_OK);
        snprintf(name, sizeof(name), "value format %s",
                 ent_vtype_name(f.type));
        alloc_loop(name, &fmt, &f);
        ent_value_clear(&f.v);
    }
}

/* ------------------------------------------------------------------ http */

typedef struct httpfix {
    const char *raw;
    ent_http_request req;
} httpfix;

static int run_http(void *arg) {
    httpfix *f = arg;
    int rc = ent_http_parse((const uint8_t *)f->raw, strlen(f->raw), &f->req);
    if (rc != ENT_OK) { /* owns nothing */
        assert_null(f->req.path);
        assert_null(f->req.query);
        assert_null(f->req.body);
        assert_int_equal(f->req.nheaders, 0);
    }
    return rc;
}

static void check_http(void *arg) {
    httpfix *f = arg;
    assert_string_equal(f->req.method, "POST");
    assert_string_equal(f->req.path, "/v1/objects");
    assert_string_equal(f->req.query, "type=deal&x=1");
    assert_string_equal(ent_http_request_header(&f->req, "content-type"),
                        "application/json");
    assert_string_equal(ent_http_request_header(&f->req, "x-long"),
                        "a fairly long header value, split over reads");
    assert_int_equal(f->req.body_len, 25);
    assert_memory_equal(f->req.body, "{\"name\":\"Acme\",\"n\":12345}", 25);
    ent_http_request_clear(&f->req);
}

static void test_http(void **state) {
    httpfix f = {
        .raw = "POST /v1/objects?type=deal&x=1 HTTP/1.1\r\n"
               "Host: 127.0.0.1\r\n"
               "Content-Type: application/json\r\n"
               "X-Long: a fairly long header value, split over reads\r\n"
               "Transfer-Encoding: chunked\r\n"
               "\r\n"
               "a\r\n{\"name\":\"A\r\n"
               "f\r\ncme\",\"n\":12345}\r\n"
               "0\r\n\r\n",
    };
    memset(&f.req, 0, sizeof(f.req));
    aop op = {run_http, check_http, NULL, 0};
    alloc_loop("http parse (chunked POST)", &op, &f);
}

/* -------------------------------------------------------- object engine */

static const ent_obj_input create_in[] = {
    {"name", "Acme rollout", false},
    {"customer_account", "Acme Corp", false},
    {"region", "emea", false},
    {"deal_size", "1200000.50 EUR", true},
    {"internal_notes", "private note", true},
};

static const ent_obj_input set_in[] = {
    {"next_step", "workshop in March", false},
    {"customer_account", "Acme Europe", false},
    {"deal_size", "1500000.00 EUR", true},
};

typedef struct objfix {
    tnode *n;
    uint8_t id[32];
    ent_op *op;
    json_t *ref_json; /* the reference show JSON, without "id" */
    json_t *out;
    /* add / remove */
    const uint8_t *org;
    ent_op_epoch_key *boxes;
    size_t nboxes;
    /* batch */
    const uint8_t **raws;
    size_t *lens;
    size_t nraws;
    int *rcs;
} objfix;

static json_t *show_noid(tnode *n, const uint8_t id[32]) {
    json_t *j = NULL;
    assert_int_equal(ent_obj_show_json(n->eng, id, false, &j), ENT_OK);
    json_object_del(j, "id");
    return j;
}

static void assert_json_equal(json_t *a, json_t *b) {
    if (!json_equal(a, b)) {
        char *x = json_dumps(a, JSON_SORT_KEYS);
        char *y = json_dumps(b, JSON_SORT_KEYS);
        print_error("victim:    %s\nreference: %s\n", x, y);
        free(x);
        free(y);
        fail_msg("show JSON differs from the reference");
    }
}

static void check_show(objfix *f) {
    json_t *j = show_noid(f->n, f->id);
    assert_json_equal(j, f->ref_json);
    json_decref(j);
}

static int run_create(void *arg) {
    objfix *f = arg;
    char err[ENT_OBJ_ERR_MAX];
    f->op = NULL;
    int rc = ent_obj_create(f->n->eng, "opportunity", create_in, 5, f->id,
                            &f->op, err, sizeof(err));
    if (rc != ENT_OK)
        assert_null(f->op);
    return rc;
}

static void check_create(void *arg) {
    objfix *f = arg;
    assert_non_null(f->op);
    assert_memory_equal(f->op->id, f->id, 32);
    ent_op_free(f->op);
    f->op = NULL;
    check_show(f);
}

static int run_set(void *arg) {
    objfix *f = arg;
    char err[ENT_OBJ_ERR_MAX];
    f->op = NULL;
    int rc =
        ent_obj_set(f->n->eng, f->id, set_in, 3, &f->op, err, sizeof(err));
    if (rc != ENT_OK)
        assert_null(f->op);
    return rc;
}

static void check_op_and_show(void *arg) {
    objfix *f = arg;
    assert_non_null(f->op);
    ent_op_free(f->op);
    f->op = NULL;
    check_show(f);
}

static int run_show(void *arg) {
    objfix *f = arg;
    f->out = NULL;
    int rc = ent_obj_show_json(f->n->eng, f->id, false, &f->out);
    if (rc != ENT_OK)
        assert_null(f->out);
    return rc;
}

static void check_shown(void *arg) {
    objfix *f = arg;
    json_object_del(f->out, "id");
    assert_json_equal(f->out, f->ref_json);
    json_decref(f->out);
    f->out = NULL;
}

static int run_add(void *arg) {
    objfix *f = arg;
    f->op = NULL;
    f->boxes = NULL;
    f->nboxes = 0;
    int rc = ent_obj_add_member(f->n->eng, f->id, f->org, ENT_ROLE_MEMBER,
                                &f->op, &f->boxes, &f->nboxes);
    if (rc != ENT_OK) {
        assert_null(f->op);
        assert_null(f->boxes);
    }
    return rc;
}

static void check_add(void *arg) {
    objfix *f = arg;
    assert_true(f->nboxes >= 1);
    free(f->boxes);
    f->boxes = NULL;
    check_op_and_show(arg);
}

static int run_remove(void *arg) {
    objfix *f = arg;
    f->op = NULL;
    int rc = ent_obj_remove_member(f->n->eng, f->id, f->org, &f->op);
    if (rc != ENT_OK)
        assert_null(f->op);
    return rc;
}

static int run_batch(void *arg) {
    objfix *f = arg;
    return ent_obj_apply_batch(f->n->eng, f->raws, f->lens, f->nraws, NULL,
                               f->rcs);
}

static void check_batch(void *arg) {
    objfix *f = arg;
    for (size_t i = 0; i < f->nraws; i++)
        if (f->rcs[i] != ENT_OK)
            fail_msg("site %lu (fired %lu): batch committed, op %zu: %s",
                     g_hook.target, g_hook.fired, i, ent_err_name(f->rcs[i]));
    check_show(f);
}

/* Makes op's call once on the reference g (its own node, no fault) to learn
 * what show must give afterwards, then loops over its allocation sites on
 * f (alloc_loop). */
static void obj_loop(const char *name, const aop *op, objfix *f, objfix *g) {
    assert_int_equal(op->run(g), ENT_OK);
    ent_op_free(g->op);
    g->op = NULL;
    free(g->boxes);
    g->boxes = NULL;
    f->ref_json = show_noid(g->n, g->id);
    alloc_loop(name, op, f);
    json_decref(f->ref_json);
}

static void test_objects(void **state) {
    tnode v, r, b, c;
    objfix f, g;
    assert_int_equal(tnode_open(&v, 1), 0);
    assert_int_equal(tnode_open(&r, 1), 0); /* the reference: same org */
    assert_int_equal(tnode_open(&b, 2), 0);
    assert_int_equal(tnode_open(&c, 5), 0);
    memset(&f, 0, sizeof(f));
    memset(&g, 0, sizeof(g));
    f.n = &v;
    g.n = &r;
    /* create: the reference object first */
    aop create = {run_create, check_create, &v, 0};
    obj_loop("obj create (5 inputs)", &create, &f, &g);
    /* set */
    aop set = {run_set, check_op_and_show, &v, 0};
    obj_loop("obj set (2 shared + 1 private)", &set, &f, &g);
    /* add_member b, then c */
    const uint8_t *orgs[2] = {tnode_pk(&b), tnode_pk(&c)};
    aop add = {run_add, check_add, &v, 0};
    for (int i = 0; i < 2; i++) {
        g.org = f.org = orgs[i];
        obj_loop(i == 0 ? "obj add_member (1st)" : "obj add_member (2nd)",
                 &add, &f, &g);
    }
    /* show */
    f.ref_json = show_noid(&v, f.id);
    aop show = {run_show, check_shown, &v, 0};
    alloc_loop("obj show_json", &show, &f);
    json_decref(f.ref_json);
    /* remove c: new epoch for the remaining members */
    g.org = f.org = orgs[1];
    aop rm = {run_remove, check_op_and_show, &v, 0};
    obj_loop("obj remove_member (new epoch, 2 members)", &rm, &f, &g);
    tnodes_close(TNODES(&v, &r, &b, &c));
}

/* apply_batch: node x authors an object with the receiver as a member;
 * the receiver v takes the key boxes, then applies every op in one batch.
 * Reference: a second receiver of the same org applying without faults. */
static void test_apply_batch(void **state) {
    tnode x, v, r;
    char err[ENT_OBJ_ERR_MAX];
    uint8_t id[32];
    ent_op *op = NULL;
    ent_op_epoch_key *boxes = NULL;
    size_t nboxes = 0;
    assert_int_equal(tnode_open(&x, 3), 0);
    assert_int_equal(tnode_open(&v, 4), 0);
    assert_int_equal(tnode_open(&r, 4), 0);
    assert_int_equal(ent_obj_create(x.eng, "opportunity", create_in, 5, id,
                                    NULL, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_obj_add_member(x.eng, id, tnode_pk(&v),
                                        ENT_ROLE_MEMBER, &op, &boxes, &nboxes),
                     ENT_OK);
    ent_op_free(op);
    for (int i = 0; i < 3; i++) {
        char text[32];
        snprintf(text, sizeof(text), "step %d", i);
        const ent_obj_input in[] = {{"next_step", text, false}};
        x.now += 1000;
        assert_int_equal(ent_obj_set(x.eng, id, in, 1, NULL, err, sizeof(err)),
                         ENT_OK);
    }
    assert_int_equal(
        ent_obj_comment(x.eng, id, "kick-off done", NULL, err, sizeof(err)),
        ENT_OK);
    assert_int_equal(ent_obj_accept_keys(v.eng, id, boxes, nboxes), ENT_OK);
    assert_int_equal(ent_obj_accept_keys(r.eng, id, boxes, nboxes), ENT_OK);
    tops t = tnode_ops(&x, id);
    assert_true(t.n >= 6);
    objfix f;
    memset(&f, 0, sizeof(f));
    f.n = &v;
    memcpy(f.id, id, 32);
    f.raws = (const uint8_t **)t.raw;
    f.lens = t.len;
    f.nraws = t.n;
    f.rcs = calloc(t.n, sizeof(int));
    assert_non_null(f.rcs);
    objfix g = f;
    g.n = &r;
    assert_int_equal(run_batch(&g), ENT_OK);
    f.ref_json = show_noid(&r, id);
    char name[64];
    snprintf(name, sizeof(name), "obj apply_batch (%zu ops)", t.n);
    aop batch = {run_batch, check_batch, &v, 0};
    alloc_loop(name, &batch, &f);
    ent_obj_stats sv, sr;
    ent_obj_stats_get(v.eng, &sv);
    ent_obj_stats_get(r.eng, &sr);
    assert_memory_equal(&sv, &sr, sizeof(sv));
    tdump a = dump_all(&v), bb = dump_all(&r);
    assert_true(tdump_equal(&a, &bb)); /* same org, same ops: same bytes */
    free(a.buf);
    free(bb.buf);
    json_decref(f.ref_json);
    free(f.rcs);
    tops_free(&t);
    free(boxes);
    tnodes_close(TNODES(&x, &v, &r));
}

/* ------------------------------------------------------------------ audit */

typedef struct auditfix {
    tnode *n;
    uint8_t *ref;
    size_t rlen;
    uint8_t *buf;
    size_t len;
    ent_audit_result res, ref_res;
} auditfix;

static int run_export(void *arg) {
    auditfix *f = arg;
    f->buf = NULL;
    int rc = ent_audit_export(f->n->store, f->n->id, 1700000000000ULL, NULL,
                              &f->buf, &f->len);
    if (rc != ENT_OK)
        assert_null(f->buf);
    return rc;
}

static void check_export(void *arg) {
    auditfix *f = arg;
    check_bytes(&f->buf, f->len, f->ref, f->rlen);
}

static int run_verify(void *arg) {
    auditfix *f = arg;
    return ent_audit_verify(f->ref, f->rlen, ent_identity_public(f->n->id),
                            &f->res);
}

static void check_verify(void *arg) {
    auditfix *f = arg;
    assert_true(f->res.ok);
    assert_memory_equal(&f->res, &f->ref_res, sizeof(f->res));
}

static void test_audit(void **state) {
    tnode x, v;
    char err[ENT_OBJ_ERR_MAX];
    uint8_t id[32];
    ent_op *op = NULL;
    ent_op_epoch_key *boxes = NULL;
    size_t nboxes = 0;
    assert_int_equal(tnodes_open(TNODES(&x, &v), 3), 0);
    assert_int_equal(ent_obj_create(x.eng, "opportunity", create_in, 5, id,
                                    NULL, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_obj_add_member(x.eng, id, tnode_pk(&v),
                                        ENT_ROLE_MEMBER, &op, &boxes, &nboxes),
                     ENT_OK);
    ent_op_free(op);
    assert_int_equal(ent_obj_set(x.eng, id, set_in, 3, NULL, err, sizeof(err)),
                     ENT_OK);
    /* v applies (and logs) x's ops */
    assert_int_equal(ent_obj_accept_keys(v.eng, id, boxes, nboxes), ENT_OK);
    assert_int_equal(tnode_sync(&v, &x, id), 0);
    auditfix f;
    memset(&f, 0, sizeof(f));
    f.n = &v;
    assert_int_equal(run_export(&f), ENT_OK);
    f.ref = f.buf;
    f.rlen = f.len;
    assert_int_equal(run_verify(&f), ENT_OK);
    f.ref_res = f.res;
    assert_true(f.ref_res.entries > 0);
    aop exp = {run_export, check_export, &v, 0};
    aop ver = {run_verify, check_verify, NULL, 0};
    alloc_loop("audit export", &exp, &f);
    alloc_loop("audit verify", &ver, &f);
    free(f.ref);
    free(boxes);
    tnodes_close(TNODES(&x, &v));
}

/* ------------------------------------------- JSON output, jansson faulted */

typedef struct jfix {
    tnode *n;
    uint8_t id[32];
    const ent_template *tpl;
    ent_value v;
    json_t *ref;
    json_t *out;
    int kind; /* 0 show, 1 list, 2 template to_json, 3 value to_json */
} jfix;

static int run_json(void *arg) {
    jfix *f = arg;
    f->out = NULL;
    int rc;
    switch (f->kind) {
    case 0:
        rc = ent_obj_show_json(f->n->eng, f->id, false, &f->out);
        break;
    case 1:
        rc = ent_obj_list_json(f->n->eng, NULL, &f->out);
        break;
    case 2:
        rc = ent_template_to_json(f->tpl, &f->out);
        break;
    default:
        rc = ent_value_to_json(&f->v, &f->out);
    }
    if (rc != ENT_OK)
        assert_null(f->out);
    return rc;
}

static void check_json(void *arg) {
    jfix *f = arg;
    assert_json_equal(f->out, f->ref);
    json_decref(f->out);
    f->out = NULL;
}

static void test_json(void **state) {
    static const char *const names[] = {
        "obj show_json (+jansson)", "obj list_json (+jansson)",
        "template to_json (+jansson)", "value to_json money (+jansson)"};
    tnode v;
    jfix f;
    char err[ENT_OBJ_ERR_MAX];
    ent_template *tpl = NULL;
    memset(&f, 0, sizeof(f));
    assert_int_equal(tnode_open(&v, 1), 0);
    f.n = &v;
    assert_int_equal(ent_obj_create(v.eng, "opportunity", create_in, 5, f.id,
                                    NULL, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_obj_comment(v.eng, f.id, "first call done", NULL, err,
                                     sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_template_builtin("opportunity", &tpl), ENT_OK);
    f.tpl = tpl;
    f.v.type = ENT_VT_MONEY;
    f.v.u.money.minor = 120050;
    strcpy(f.v.u.money.cur, "EUR");
    aop op = {run_json, check_json, &v, 0};
    for (f.kind = 0; f.kind < 4; f.kind++) {
        assert_int_equal(run_json(&f), ENT_OK);
        f.ref = f.out;
        g_hook.json = true;
        alloc_loop(names[f.kind], &op, &f);
        g_hook.json = false;
        json_decref(f.ref);
    }
    ent_template_free(tpl);
    tnode_close(&v);
}

/* ------------------------------------------- incremental readers, engine */

typedef struct sfix {
    const char *http;
    ent_http_parser *p;
    uint8_t stream[3 * 300];
    size_t slen;
    size_t frames;
    tnode *n;
    ent_objects *eng;
} sfix;

/* The HTTP request of test_http, one byte per read: the realloc paths. */
static int run_http_bytes(void *arg) {
    sfix *f = arg;
    bool complete = false;
    size_t trailing = 0;
    size_t len = strlen(f->http);
    int rc = ent_http_parser_new(&f->p);
    for (size_t i = 0; rc == ENT_OK && i < len; i++) {
        rc = ent_http_parser_feed(f->p, (const uint8_t *)f->http + i, 1,
                                  &complete, &trailing);
        if (rc == ENT_OK && complete != (i + 1 == len))
            fail_msg("complete after %zu of %zu bytes", i + 1, len);
    }
    if (rc != ENT_OK) {
        ent_http_parser_free(f->p);
        f->p = NULL;
    }
    return rc;
}

static void check_http_bytes(void *arg) {
    sfix *f = arg;
    httpfix h;
    h.req = *ent_http_parser_request(f->p);
    check_http(&h); /* clears the copy: the parser must not free it again */
    memset(ent_http_parser_request(f->p), 0, sizeof(h.req));
    ent_http_parser_free(f->p);
    f->p = NULL;
}

static int frame_cb(ent_wire_reader *r, const uint8_t *frame, size_t len,
                    void *data) {
    sfix *f = data;
    if (len != 100 + 50 * f->frames || frame[0] != 0x30 + f->frames)
        return ENT_ECORRUPT;
    f->frames++;
    return ENT_OK;
}

/* Three frames fed in 7-byte chunks: every one is buffered. */
static int run_wire_reader(void *arg) {
    sfix *f = arg;
    ent_wire_reader *r = NULL;
    f->frames = 0;
    int rc = ent_wire_reader_new(&r, 0);
    for (size_t i = 0; rc == ENT_OK && i < f->slen; i += 7)
        rc = ent_wire_reader_feed(r, f->stream + i,
                                  f->slen - i < 7 ? f->slen - i : 7,
                                  frame_cb, f);
    ent_wire_reader_free(r);
    return rc;
}

static void check_frames(void *arg) {
    sfix *f = arg;
    assert_int_equal(f->frames, 3);
}

static int run_engine_new(void *arg) {
    sfix *f = arg;
    ent_objects_config cfg = {.store = f->n->store,
                              .id = f->n->id,
                              .log = &f->n->log,
                              .clock = tnode_clock,
                              .clock_data = &f->n->now};
    f->eng = NULL;
    int rc = ent_objects_new(&f->eng, &cfg);
    if (rc != ENT_OK)
        assert_null(f->eng);
    return rc;
}

static void check_engine(void *arg) {
    sfix *f = arg;
    assert_non_null(f->eng);
    ent_objects_free(f->eng);
    f->eng = NULL;
}

static void test_streams(void **state) {
    sfix f;
    tnode v;
    memset(&f, 0, sizeof(f));
    f.http = "POST /v1/objects?type=deal&x=1 HTTP/1.1\r\n"
             "Host: 127.0.0.1\r\n"
             "Content-Type: application/json\r\n"
             "X-Long: a fairly long header value, split over reads\r\n"
             "Transfer-Encoding: chunked\r\n"
             "\r\n"
             "a\r\n{\"name\":\"A\r\n"
             "f\r\ncme\",\"n\":12345}\r\n"
             "0\r\n\r\n";
    aop http = {run_http_bytes, check_http_bytes, NULL, 0};
    alloc_loop("http parser_feed (1 byte per read)", &http, &f);
    for (size_t i = 0; i < 3; i++) {
        size_t len = 100 + 50 * i;
        uint8_t *p = f.stream + f.slen;
        assert_int_equal(ent_wire_frame_header(p, len), ENT_OK);
        memset(p + ENT_WIRE_PREFIX_LEN, 0x30 + (int)i, len);
        f.slen += ENT_WIRE_PREFIX_LEN + len;
    }
    aop rd = {run_wire_reader, check_frames, NULL, 0};
    alloc_loop("wire reader (3 frames, 7-byte reads)", &rd, &f);
    assert_int_equal(tnode_open(&v, 1), 0);
    f.n = &v;
    aop en = {run_engine_new, check_engine, &v, 0};
    alloc_loop("obj engine new", &en, &f);
    tnode_close(&v);
}

static int report(void **state) {
    printf("alloc: %lu faulted runs in all\n", g_faulted_runs);
    return 0;
}

int main(void) {
    json_set_alloc_funcs(json_malloc, free);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hook),
        cmocka_unit_test(test_loop_catches_wrong_code),
        cmocka_unit_test(test_op_and_cbor),
        cmocka_unit_test(test_wire),
        cmocka_unit_test(test_invite),
        cmocka_unit_test(test_template),
        cmocka_unit_test(test_value),
        cmocka_unit_test(test_http),
        cmocka_unit_test(test_objects),
        cmocka_unit_test(test_apply_batch),
        cmocka_unit_test(test_audit),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_streams),
    };
    return cmocka_run_group_tests(tests, NULL, report);
}
