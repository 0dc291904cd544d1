/*
 * report_test.c - the report engine over a known portfolio (spec/reports.md,
 * issue 16 point 6): 240 opportunities across three orgs in one process,
 * each owned by one org and shared with the next, in three currencies,
 * sourced, influenced or neither, won, lost or open, each with a stage
 * history on a fake clock and a private deal size of each member's own.
 * Every figure of every report is checked against values the test computes
 * from what it generated; two members agree on every column built from
 * shared fields only; a user sees only what its policy allows and a report
 * over a field it may not read is refused; --hide-private output holds no
 * private value (a canary).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "object_fixture.h"

#include "node/access/policy.h"
#include "node/objects/template.h"
#include "node/reports/derive.h"
#include "node/reports/report.h"
#include "node/reports/view.h"

#define NOBJ 240
#define NORG 3
#define DAY_MS 86400000ull

static const char *const currencies[] = {"USD", "EUR", "JPY"};
static const char *const regions[] = {"North America", "Latin America",
                                      "EMEA", "APAC"};
static const char *const finals[] = {"Qualification", "Solution", "Proposal",
                                     "Negotiation",   "Closed Won",
                                     "Closed Lost"};
static const char *const stages[] = {"Prospecting", "Qualification",
                                     "Solution",    "Proposal",
                                     "Negotiation", "Closed Won",
                                     "Closed Lost"};
#define NSTAGES 7

/* What the test generated for one object. */
typedef struct gobj {
    uint8_t id[32];
    int owner, partner; /* org indexes; both are members */
    int region, final;  /* indexes into regions, finals */
    int cur[NORG];      /* each member's private deal size: currency */
    int64_t minor[NORG];
    int sourced, influenced; /* org index or -1; influenced -2: text */
    int32_t close;           /* days */
    uint64_t t_stage[NSTAGES]; /* ms after creation; UINT64_MAX never */
} gobj;

typedef struct fixture {
    tnode n[NORG];
    gobj o[NOBJ];
} fixture;

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static unsigned rnd(unsigned n) { return (unsigned)(trng_next(&rng) % n); }

static void set_clock(fixture *f, uint64_t t) {
    for (int k = 0; k < NORG; k++)
        f->n[k].now = t;
}

static void money_text(char *buf, size_t cap, int cur, int64_t minor) {
    if (cur == 2)
        snprintf(buf, cap, "%lld JPY", (long long)minor);
    else
        snprintf(buf, cap, "%lld.%02lld %s", (long long)(minor / 100),
                 (long long)(minor % 100), currencies[cur]);
}

static void org_text(fixture *f, int k, char out[ENT_ORG_ID_LEN + 1]) {
    ent_org_id_format(out, tnode_pk(&f->n[k]));
}

static void build(fixture *f) {
    char err[256];
    uint64_t t = 1800000000000ull;
    for (int k = 0; k < NORG; k++)
        assert_int_equal(tnode_open(&f->n[k], (uint8_t)(0x41 + k)), 0);
    for (int i = 0; i < NOBJ; i++) {
        gobj *g = &f->o[i];
        char name[32], close[16], amount[48], src[ENT_ORG_ID_LEN + 1],
            infl[ENT_ORG_ID_LEN + 1], pair[8];
        g->owner = i % NORG;
        g->partner = (i + 1) % NORG;
        g->region = (int)rnd(4);
        g->final = (int)rnd(6);
        g->close = 20454 + (int32_t)rnd(700); /* 2026-01-01 onwards */
        int y, m, d;
        assert_int_equal(ent_date_to_ymd(g->close, &y, &m, &d), ENT_OK);
        snprintf(close, sizeof(close), "%04d-%02d-%02d", y, m, d);
        snprintf(name, sizeof(name), "deal %d", i);
        snprintf(pair, sizeof(pair), "%c%c", 'A' + g->owner, 'A' + g->partner);
        for (int k = 0; k < NORG; k++) {
            g->cur[k] = (int)rnd(3);
            g->minor[k] = 1 + (int64_t)rnd(10000000);
        }
        unsigned a = rnd(4);
        g->sourced = a == 0 ? g->partner : -1;
        g->influenced = a == 1 ? g->partner : a == 2 ? -2 : -1;
        money_text(amount, sizeof(amount), g->cur[g->owner],
                   g->minor[g->owner]);
        org_text(f, g->partner, src);
        snprintf(infl, sizeof(infl), "%s",
                 g->influenced == -2 ? "Consultancy Ltd" : src);
        ent_obj_input in[9] = {{"name", name, ENT_IN_SHARED},
                               {"region", regions[g->region], ENT_IN_SHARED},
                               {"close_date", close, ENT_IN_SHARED},
                               {"customer_account", pair, ENT_IN_SHARED},
                               {"deal_size", amount, ENT_IN_PRIVATE},
                               {"internal_notes", "CANARY-7f3a", ENT_IN_PRIVATE}};
        size_t nin = 6;
        if (g->sourced >= 0)
            in[nin++] = (ent_obj_input){"sourced_by", src, ENT_IN_SHARED};
        if (g->influenced != -1)
            in[nin++] = (ent_obj_input){"influenced_by", infl, ENT_IN_SHARED};
        set_clock(f, t);
        tnode *own = &f->n[g->owner], *par = &f->n[g->partner];
        assert_int_equal(ent_obj_create(own->eng, "opportunity", in, nin,
                                        g->id, NULL, err, sizeof(err)),
                         ENT_OK);
        for (int s = 0; s < NSTAGES; s++)
            g->t_stage[s] = UINT64_MAX;
        g->t_stage[0] = 0;
        uint64_t d1 = (1 + rnd(20)) * DAY_MS + rnd(DAY_MS);
        set_clock(f, t + d1);
        ent_op *op = NULL;
        assert_int_equal(ent_obj_stage(own->eng, g->id, "Qualification", &op,
                                       err, sizeof(err)),
                         ENT_OK);
        ent_op_free(op);
        g->t_stage[1] = d1;
        if (g->final > 0) {
            uint64_t d2 = (1 + rnd(20)) * DAY_MS + rnd(DAY_MS);
            set_clock(f, t + d1 + d2);
            assert_int_equal(ent_obj_stage(own->eng, g->id, finals[g->final],
                                           &op, err, sizeof(err)),
                             ENT_OK);
            ent_op_free(op);
            g->t_stage[g->final + 1] = d1 + d2;
            t += d2;
        }
        t += d1 + DAY_MS;
        set_clock(f, t);
        assert_int_equal(tnode_join(own, par, g->id, ENT_ROLE_MEMBER, NULL,
                                    NULL),
                         ENT_OK);
        money_text(amount, sizeof(amount), g->cur[g->partner],
                   g->minor[g->partner]);
        ent_obj_input pin[1] = {{"deal_size", amount, ENT_IN_PRIVATE}};
        assert_int_equal(ent_obj_set(par->eng, g->id, pin, 1, &op, err,
                                     sizeof(err)),
                         ENT_OK);
        assert_null(op);
    }
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    build(f);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    for (int k = 0; k < NORG; k++)
        tnode_close(&f->n[k]);
    free(f);
    return 0;
}

/* ---- running reports ----------------------------------------------------- */

typedef struct run {
    const ent_rpt_opts *o;
    json_t *out;
    int rc;
    char err[ENT_RPT_ERR_MAX];
} run;

static int run_fn(ent_txn *txn, void *data) {
    run *r = data;
    json_decref(r->out);
    r->out = NULL;
    r->rc = ent_report_run(txn, r->o, &r->out, r->err, sizeof(r->err));
    return ENT_OK;
}

static json_t *report(tnode *n, const ent_rpt_opts *o, int want) {
    run r = {o, NULL, 0, ""};
    assert_int_equal(ent_store_read(n->store, run_fn, &r), ENT_OK);
    if (r.rc != want)
        fail_msg("report: %s (%d, want %d)", r.err, r.rc, want);
    return r.out;
}

/* The group of report j whose key column col is text (NULL: null). */
static json_t *group(json_t *j, const char *col, const char *text) {
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(j, "groups"), i, g) {
        json_t *v = json_object_get(json_object_get(g, "key"), col);
        if (text == NULL ? json_is_null(v)
                         : json_is_string(v) &&
                               strcmp(json_string_value(v), text) == 0)
            return g;
    }
    return NULL;
}

static int64_t jint(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

/* The sum of currency cur in money list l (0 when absent); fails when a
 * currency appears twice. */
static int64_t msum(json_t *l, const char *cur) {
    size_t i;
    json_t *e;
    int64_t r = 0;
    int seen = 0;
    assert_true(json_is_array(l));
    json_array_foreach(l, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "currency")), cur) ==
            0) {
            r = json_integer_value(json_object_get(e, "minor"));
            seen++;
        }
    }
    assert_true(seen <= 1);
    return r;
}

static bool holds(const gobj *g, int k) {
    return g->owner == k || g->partner == k;
}
static bool won(const gobj *g) { return g->final == 4; }
static bool lost(const gobj *g) { return g->final == 5; }

/* ---- the reports --------------------------------------------------------- */

/* pipeline by stage at every org: counts and sums per currency. */
static void test_pipeline(void **state) {
    fixture *f = *state;
    for (int k = 0; k < NORG; k++) {
        ent_rpt_opts o = {.kind = ENT_RPT_PIPELINE};
        json_t *j = report(&f->n[k], &o, ENT_OK);
        int64_t tot = 0;
        for (int s = 0; s < 6; s++) {
            int64_t cnt = 0, sum[3] = {0, 0, 0};
            for (int i = 0; i < NOBJ; i++) {
                const gobj *g = &f->o[i];
                if (!holds(g, k) || g->final != s)
                    continue;
                cnt++;
                sum[g->cur[k]] += g->minor[k];
            }
            tot += cnt;
            json_t *gr = group(j, "stage", finals[s]);
            if (cnt == 0) {
                assert_null(gr);
                continue;
            }
            assert_non_null(gr);
            assert_int_equal(jint(gr, "count"), cnt);
            assert_int_equal(jint(gr, "won"), s == 4 ? cnt : 0);
            assert_int_equal(jint(gr, "lost"), s == 5 ? cnt : 0);
            assert_int_equal(jint(gr, "open"), s < 4 ? cnt : 0);
            for (int c = 0; c < 3; c++) {
                assert_int_equal(msum(json_object_get(gr, "amount"),
                                      currencies[c]),
                                 sum[c]);
                assert_int_equal(msum(json_object_get(gr, "won_amount"),
                                      currencies[c]),
                                 s == 4 ? sum[c] : 0);
            }
        }
        assert_int_equal(jint(j, "objects"), tot);
        assert_int_equal(jint(json_object_get(j, "total"), "count"), tot);
        /* stage order: the template's */
        json_t *first = json_array_get(json_object_get(j, "groups"), 0);
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(first, "key"), "stage")),
                            "Qualification");
        json_decref(j);
    }
}

/* --by region,close_date:quarter with --where and --from/--to. */
static void test_filters(void **state) {
    fixture *f = *state;
    ent_rpt_opts o = {.kind = ENT_RPT_PIPELINE,
                      .by = "region,close_date:quarter",
                      .where = "deal_size >= 50000 USD or stage in "
                               "('closed won', 'Proposal')",
                      .from = "2026-03-01",
                      .to = "2026-12-31"};
    json_t *j = report(&f->n[0], &o, ENT_OK);
    int32_t from, to;
    ent_date_from_ymd(2026, 3, 1, &from);
    ent_date_from_ymd(2026, 12, 31, &to);
    int64_t cnt = 0;
    for (int i = 0; i < NOBJ; i++) {
        const gobj *g = &f->o[i];
        if (!holds(g, 0) || g->close < from || g->close > to)
            continue;
        bool big = g->cur[0] == 0 && g->minor[0] >= 5000000;
        if (big || g->final == 4 || g->final == 2)
            cnt++;
    }
    assert_int_equal(jint(j, "objects"), cnt);
    size_t i;
    json_t *g;
    int64_t sum = 0;
    json_array_foreach(json_object_get(j, "groups"), i, g) {
        const char *q = json_string_value(
            json_object_get(json_object_get(g, "key"), "close_date:quarter"));
        assert_non_null(q);
        assert_true(strncmp(q, "2026-Q", 6) == 0 && q[6] >= '1' && q[6] <= '4');
        sum += jint(g, "count");
    }
    assert_int_equal(sum, cnt);
    json_decref(j);
}

/* attribution at org 1 (B): per partner, sourced and influenced. */
static void test_attribution(void **state) {
    fixture *f = *state;
    const int k = 1;
    ent_rpt_opts o = {.kind = ENT_RPT_ATTRIBUTION};
    json_t *j = report(&f->n[k], &o, ENT_OK);
    for (int p = -2; p < NORG; p++) {
        char key[ENT_ORG_ID_LEN + 1];
        if (p == -1)
            continue;
        if (p == -2)
            snprintf(key, sizeof(key), "Consultancy Ltd");
        else
            org_text(f, p, key);
        int64_t sc = 0, ic = 0, sopen[3] = {0}, srev[3] = {0}, iopen[3] = {0},
                irev[3] = {0};
        for (int i = 0; i < NOBJ; i++) {
            const gobj *g = &f->o[i];
            if (!holds(g, k))
                continue;
            if (g->sourced == p) {
                sc++;
                if (won(g))
                    srev[g->cur[k]] += g->minor[k];
                else if (!lost(g))
                    sopen[g->cur[k]] += g->minor[k];
            }
            if (g->influenced == p) {
                ic++;
                if (won(g))
                    irev[g->cur[k]] += g->minor[k];
                else if (!lost(g))
                    iopen[g->cur[k]] += g->minor[k];
            }
        }
        json_t *gr = group(j, "partner", key);
        if (sc + ic == 0) {
            assert_null(gr);
            continue;
        }
        assert_non_null(gr);
        json_t *s = json_object_get(gr, "sourced"),
               *in = json_object_get(gr, "influenced");
        assert_int_equal(jint(s, "count"), sc);
        assert_int_equal(jint(in, "count"), ic);
        for (int c = 0; c < 3; c++) {
            assert_int_equal(msum(json_object_get(s, "pipeline"),
                                  currencies[c]),
                             sopen[c]);
            assert_int_equal(msum(json_object_get(s, "revenue"),
                                  currencies[c]),
                             srev[c]);
            assert_int_equal(msum(json_object_get(in, "pipeline"),
                                  currencies[c]),
                             iopen[c]);
            assert_int_equal(msum(json_object_get(in, "revenue"),
                                  currencies[c]),
                             irev[c]);
        }
    }
    json_decref(j);
}

static int64_t round_div(__int128 a, __int128 b) {
    __int128 q = a / b, r = a % b;
    if (r != 0 && (r < 0 ? -r : r) * 2 >= b)
        q += a < 0 ? -1 : 1;
    return (int64_t)q;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* win-rate and deal-size by partner (sourced_by, else influenced_by). */
static void test_win_rate_deal_size(void **state) {
    fixture *f = *state;
    const int k = 2;
    ent_rpt_opts o = {.kind = ENT_RPT_WIN_RATE, .by = "partner"};
    json_t *j = report(&f->n[k], &o, ENT_OK);
    o.kind = ENT_RPT_DEAL_SIZE;
    json_t *d = report(&f->n[k], &o, ENT_OK);
    for (int p = -2; p < NORG; p++) {
        char key[ENT_ORG_ID_LEN + 1];
        int64_t w = 0, l = 0, vals[3][NOBJ], nv[3] = {0};
        if (p >= 0)
            org_text(f, p, key);
        else
            snprintf(key, sizeof(key), "Consultancy Ltd");
        for (int i = 0; i < NOBJ; i++) {
            const gobj *g = &f->o[i];
            if (!holds(g, k))
                continue;
            int part = g->sourced >= 0 ? g->sourced : g->influenced;
            if (part != p)
                continue;
            w += won(g);
            l += lost(g);
            if (won(g))
                vals[g->cur[k]][nv[g->cur[k]]++] = g->minor[k];
        }
        json_t *gr = group(j, "partner", p == -1 ? NULL : key);
        json_t *dg = group(d, "partner", p == -1 ? NULL : key);
        if (gr == NULL) {
            assert_int_equal(w + l, 0);
            continue;
        }
        assert_int_equal(jint(gr, "won"), w);
        assert_int_equal(jint(gr, "lost"), l);
        json_t *rate = json_object_get(gr, "win_rate");
        if (w + l == 0) {
            assert_true(json_is_null(rate));
        } else {
            char want[48];
            int64_t x = round_div((__int128)w * 10000, w + l);
            snprintf(want, sizeof(want), "%lld.%04lld", (long long)(x / 10000),
                     (long long)(x % 10000));
            assert_string_equal(json_string_value(rate), want);
        }
        for (int c = 0; c < 3; c++) {
            __int128 sum = 0;
            for (int64_t q = 0; q < nv[c]; q++)
                sum += vals[c][q];
            qsort(vals[c], (size_t)nv[c], sizeof(int64_t), cmp_i64);
            int64_t avg = nv[c] ? round_div(sum, nv[c]) : 0;
            int64_t med = nv[c] == 0       ? 0
                          : nv[c] % 2 == 1 ? vals[c][nv[c] / 2]
                                           : round_div((__int128)vals[c][nv[c] / 2 - 1] +
                                                           vals[c][nv[c] / 2],
                                                       2);
            assert_int_equal(msum(json_object_get(dg, "average"),
                                  currencies[c]),
                             avg);
            assert_int_equal(msum(json_object_get(dg, "median"),
                                  currencies[c]),
                             med);
        }
    }
    json_decref(j);
    json_decref(d);
}

/* cycle-time by partnered: reached and average days per stage. */
static void test_cycle_time(void **state) {
    fixture *f = *state;
    const int k = 0;
    ent_rpt_opts o = {.kind = ENT_RPT_CYCLE_TIME};
    json_t *j = report(&f->n[k], &o, ENT_OK);
    for (int pt = 0; pt < 2; pt++) {
        uint64_t n[NSTAGES] = {0}, cn = 0;
        __int128 sum[NSTAGES] = {0}, cs = 0;
        for (int i = 0; i < NOBJ; i++) {
            const gobj *g = &f->o[i];
            bool partnered = g->sourced >= 0 || g->influenced != -1;
            if (!holds(g, k) || partnered != (pt == 0))
                continue;
            for (int s = 0; s < NSTAGES; s++)
                if (g->t_stage[s] != UINT64_MAX) {
                    n[s]++;
                    sum[s] += g->t_stage[s];
                }
            if (won(g) || lost(g)) {
                cn++;
                cs += g->t_stage[g->final + 1];
            }
        }
        json_t *gr = group(j, "partnered", pt == 0 ? "yes" : "no");
        assert_non_null(gr);
        json_t *st = json_object_get(gr, "stages");
        assert_int_equal(json_array_size(st), NSTAGES);
        for (int s = 0; s < NSTAGES; s++) {
            json_t *e = json_array_get(st, (size_t)s);
            assert_string_equal(json_string_value(json_object_get(e, "stage")),
                                stages[s]);
            assert_int_equal(jint(e, "reached"), n[s]);
            json_t *days = json_object_get(e, "avg_days");
            if (n[s] == 0) {
                assert_true(json_is_null(days));
                continue;
            }
            char want[32];
            int64_t tenths = round_div(sum[s], (__int128)n[s] * 8640000);
            snprintf(want, sizeof(want), "%lld.%lld", (long long)(tenths / 10),
                     (long long)(tenths % 10));
            assert_string_equal(json_string_value(days), want);
        }
        assert_int_equal(jint(gr, "closed"), cn);
        char want[32];
        int64_t tenths = round_div(cs, (__int128)cn * 8640000);
        snprintf(want, sizeof(want), "%lld.%lld", (long long)(tenths / 10),
                 (long long)(tenths % 10));
        assert_string_equal(
            json_string_value(json_object_get(gr, "avg_days_to_close")), want);
    }
    json_decref(j);
}

static int rates_fn(ent_txn *txn, void *data) {
    const char *const v[] = {"EUR/USD=1.085", "USD/JPY=150", "bad entry"};
    return ent_config_put_list(txn, ENT_RPT_RATES_TABLE, v, 3);
}

/* --currency USD with the rates table; a missing rate refuses. */
static void test_currency(void **state) {
    fixture *f = *state;
    const int k = 1;
    ent_rpt_opts o = {.kind = ENT_RPT_PIPELINE, .by = "", .currency = "USD"};
    json_t *j = report(&f->n[k], &o, ENT_ENOENT); /* no rates yet */
    assert_null(j);
    assert_int_equal(ent_store_write(f->n[k].store, rates_fn, NULL), ENT_OK);
    j = report(&f->n[k], &o, ENT_OK);
    int64_t want = 0;
    for (int i = 0; i < NOBJ; i++) {
        const gobj *g = &f->o[i];
        if (!holds(g, k))
            continue;
        int64_t m = g->minor[k];
        if (g->cur[k] == 1) /* EUR: * 1.085 */
            m = round_div((__int128)m * 1085000000, 1000000000);
        else if (g->cur[k] == 2) /* JPY: / 150, exponent 0 -> 2 */
            m = round_div((__int128)m * 1000000000 * 100,
                          (__int128)150000000000);
        want += m;
    }
    json_t *amt = json_object_get(json_object_get(j, "total"), "amount");
    assert_int_equal(json_array_size(amt), 1);
    assert_int_equal(msum(amt, "USD"), want);
    json_t *cur = json_object_get(j, "currency");
    assert_string_equal(json_string_value(json_object_get(cur, "mode")),
                        "converted");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(cur, "rates"), "EUR/USD")),
                        "1.085");
    json_decref(j);
    o.currency = "GBP"; /* no GBP rates at all */
    assert_null(report(&f->n[k], &o, ENT_ENOENT));
}

/* Two members agree on every column built from shared fields only. */
static void test_members_agree(void **state) {
    fixture *f = *state;
    ent_rpt_opts o = {.kind = ENT_RPT_PIPELINE,
                      .by = "stage,region,partner,close_date:month",
                      .where = "customer_account = 'AB'",
                      .amount = "none"};
    json_t *a = report(&f->n[0], &o, ENT_OK);
    json_t *b = report(&f->n[1], &o, ENT_OK);
    assert_true(jint(a, "objects") > 10);
    assert_true(json_equal(a, b));
    o.kind = ENT_RPT_CYCLE_TIME;
    o.by = "partnered,region";
    json_t *ca = report(&f->n[0], &o, ENT_OK);
    json_t *cb = report(&f->n[1], &o, ENT_OK);
    assert_true(json_equal(ca, cb));
    json_decref(a);
    json_decref(b);
    json_decref(ca);
    json_decref(cb);
}

static void principal(ent_principal *p) {
    memset(p, 0, sizeof(*p));
    p->kind = ENT_PRINCIPAL_USER;
    strcpy(p->user, "ann");
    strcpy(p->role, "rep");
    strcpy(p->attr_key[0], "region");
    strcpy(p->attr_val[0], "EMEA");
    p->nattrs = 1;
    p->scopes = ENT_ACT_ALL;
}

/* A rep sees only its region; a sum over a field it may not read is
 * refused, not computed. */
static void test_access(void **state) {
    fixture *f = *state;
    ent_rule rules[2];
    char err[256];
    ent_principal p;
    principal(&p);
    const char *deny = "deny role=rep read opportunity.deal_size";
    assert_int_equal(ent_rule_parse(deny, strlen(deny), &rules[0], err,
                                    sizeof(err)),
                     ENT_OK);
    const char *allow = "allow role=rep read opportunity where "
                        "region=$user.region";
    assert_int_equal(ent_rule_parse(allow, strlen(allow), &rules[1], err,
                                    sizeof(err)),
                     ENT_OK);
    rules[0].id = 1;
    rules[1].id = 2;
    ent_rpt_opts o = {.kind = ENT_RPT_PIPELINE,
                      .principal = &p,
                      .rules = &rules[1],
                      .nrules = 1};
    json_t *j = report(&f->n[0], &o, ENT_OK);
    int64_t emea = 0, sum[3] = {0};
    for (int i = 0; i < NOBJ; i++)
        if (holds(&f->o[i], 0) && f->o[i].region == 2) {
            emea++;
            sum[f->o[i].cur[0]] += f->o[i].minor[0];
        }
    assert_int_equal(jint(j, "objects"), emea);
    assert_int_equal(msum(json_object_get(json_object_get(j, "total"),
                                          "amount"),
                          "EUR"),
                     sum[1]);
    json_decref(j);
    /* deal_size denied: the sum is refused, naming the rule */
    o.rules = rules;
    o.nrules = 2;
    run r = {&o, NULL, 0, ""};
    assert_int_equal(ent_store_read(f->n[0].store, run_fn, &r), ENT_OK);
    assert_int_equal(r.rc, ENT_EDENIED);
    assert_null(r.out);
    assert_non_null(strstr(r.err, "rule 1"));
    assert_non_null(strstr(r.err, "deal_size"));
    /* ... and filtering or grouping by it too */
    o.amount = "none";
    o.where = "deal_size > 1 USD";
    assert_null(report(&f->n[0], &o, ENT_EDENIED));
    o.where = NULL;
    o.by = "deal_size";
    assert_null(report(&f->n[0], &o, ENT_EDENIED));
    /* left out, the report is given */
    o.by = "stage";
    j = report(&f->n[0], &o, ENT_OK);
    assert_int_equal(jint(j, "objects"), emea);
    json_decref(j);
}

/* --hide-private: no private value in the output, in any report. */
static void test_hide_private_canary(void **state) {
    fixture *f = *state;
    ent_rpt_opts o = {.by = "internal_notes,stage", .hide_private = true};
    for (int kind = 0; kind < ENT_RPT_MDF; kind++) { /* mdf, plan: below */
        o.kind = (ent_rpt_kind)kind;
        json_t *j = report(&f->n[0], &o, ENT_OK);
        char *s = json_dumps(j, JSON_COMPACT);
        char *csv = NULL;
        assert_int_equal(ent_report_csv(j, &csv), ENT_OK);
        assert_null(strstr(s, "CANARY"));
        assert_null(strstr(csv, "CANARY"));
        /* no amount either: deal_size is private */
        assert_null(strstr(s, "\"minor\""));
        free(csv);
        free(s);
        json_decref(j);
    }
    /* without it the canary is there (the check above means something) */
    o.kind = ENT_RPT_PIPELINE;
    o.hide_private = false;
    json_t *j = report(&f->n[0], &o, ENT_OK);
    char *s = json_dumps(j, JSON_COMPACT);
    assert_non_null(strstr(s, "CANARY-7f3a"));
    free(s);
    json_decref(j);
}

/* Bad options change nothing and say why. */
static void test_bad_options(void **state) {
    fixture *f = *state;
    static const struct {
        ent_rpt_opts o;
        int rc;
        const char *why;
    } cases[] = {
        {{.by = "stag"}, ENT_EINVAL, "did you mean stage"},
        {{.by = "region:month"}, ENT_EINVAL, "not a date field"},
        {{.by = "a,b,c,d,e"}, ENT_EINVAL, "no field"},
        {{.by = "stage,stage"}, ENT_EINVAL, "given twice"},
        {{.by = "stage,"}, ENT_EINVAL, "empty column"},
        {{.where = "deal_size > 5"}, ENT_EINVAL, "--where: at 11:"},
        {{.where = "deal_size"}, ENT_EINVAL, "not a condition"},
        {{.from = "2026-02-30"}, ENT_EINVAL, "--from wants a date"},
        {{.from = "2026-03-01", .to = "2026-02-01"}, ENT_EINVAL, "after"},
        {{.currency = "usd"}, ENT_EINVAL, "--currency"},
        {{.amount = "name"}, ENT_EINVAL, "not a money field"},
        {{.type = "nothing"}, ENT_ENOENT, "no template"},
        {{.type = "Bad Type"}, ENT_EINVAL, "not a type name"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run r = {&cases[i].o, NULL, 0, ""};
        assert_int_equal(ent_store_read(f->n[0].store, run_fn, &r), ENT_OK);
        if (r.rc != cases[i].rc || strstr(r.err, cases[i].why) == NULL)
            fail_msg("case %zu: %d \"%s\", want %d \"%s\"", i, r.rc, r.err,
                     cases[i].rc, cases[i].why);
        assert_null(r.out);
    }
}

/* CSV: header, groups, total; quoting. */
static void test_csv(void **state) {
    json_t *j = json_pack(
        "{s:[s],s:[{s:{s:s},s:i,s:[{s:s,s:s,s:i}]}],s:{s:i,s:[]}}", "by",
        "stage", "groups", "key", "stage", "a,\"b\"", "count", 2, "amount",
        "amount", "1.00", "currency", "USD", "minor", 100, "total", "count", 2,
        "amount");
    char *csv = NULL;
    assert_int_equal(ent_report_csv(j, &csv), ENT_OK);
    assert_string_equal(csv, "stage,count,amount USD\r\n"
                             "\"a,\"\"b\"\"\",2,1.00\r\n"
                             "total,2,\r\n");
    free(csv);
    json_decref(j);
    /* a partner's stage name a spreadsheet would run: an apostrophe in
     * front (node/csvcell.h); a negative amount stays a number */
    j = json_pack("{s:[s],s:[{s:{s:s},s:i,s:[{s:s,s:s,s:i}]}],s:{s:i,s:[]}}",
                  "by", "stage", "groups", "key", "stage",
                  "=HYPERLINK(\"x\",A1)", "count", 1, "amount", "amount",
                  "-1.00", "currency", "USD", "minor", -100, "total", "count",
                  1, "amount");
    assert_int_equal(ent_report_csv(j, &csv), ENT_OK);
    assert_string_equal(csv, "stage,count,amount USD\r\n"
                             "\"'=HYPERLINK(\"\"x\"\",A1)\",1,-1.00\r\n"
                             "total,1,\r\n");
    free(csv);
    json_decref(j);
    /* a group key of a long text field (text is up to 4,096 bytes): the
     * whole key, not cut at a buffer's end (which also split a UTF-8
     * character, and the cell was then left out and the row shifted) */
    char key[1501], want[1600];
    for (size_t i = 0; i < 1500; i += 2)
        memcpy(key + i, "\xc3\xa9", 2); /* e acute */
    key[1500] = '\0';
    j = json_pack("{s:[s],s:[{s:{s:s},s:i,s:[{s:s,s:s,s:i}]}],s:{s:i,s:[]}}",
                  "by", "stage", "groups", "key", "stage", key, "count", 1,
                  "amount", "amount", "1.00", "currency", "USD", "minor", 100,
                  "total", "count", 1, "amount");
    assert_int_equal(ent_report_csv(j, &csv), ENT_OK);
    snprintf(want, sizeof(want),
             "stage,count,amount USD\r\n%s,1,1.00\r\ntotal,1,\r\n", key);
    assert_string_equal(csv, want);
    free(csv);
    json_decref(j);
    json_t *none = json_object();
    assert_int_equal(ent_report_csv(none, &csv), ENT_EINVAL);
    json_decref(none);
}

/* Saved views: stored, checked, listed for whom they allow, run with the
 * caller's options and policies. */
typedef struct vctx {
    const char *name;
    json_t *doc, *out;
    const ent_principal *p;
    char err[256];
    int op;
} vctx;

static int view_fn(ent_txn *txn, void *data) {
    vctx *c = data;
    json_decref(c->out);
    c->out = NULL;
    if (c->op == 0)
        return ent_view_put(txn, c->name, c->doc, c->err, sizeof(c->err));
    if (c->op == 1)
        return ent_view_get(txn, c->name, &c->out);
    if (c->op == 2)
        return ent_view_list(txn, c->p, &c->out);
    return ent_view_del(txn, c->name);
}

static int view_op(tnode *n, int op, const char *name, const char *doc,
                   const ent_principal *p, vctx *c) {
    memset(c, 0, sizeof(*c));
    c->op = op;
    c->name = name;
    c->p = p;
    c->doc = doc != NULL ? json_loads(doc, 0, NULL) : NULL;
    int rc = op == 0 || op == 3 ? ent_store_write(n->store, view_fn, c)
                                : ent_store_read(n->store, view_fn, c);
    json_decref(c->doc);
    return rc;
}

static void test_views(void **state) {
    fixture *f = *state;
    tnode *n = &f->n[2];
    vctx c;
    ent_principal rep, fin;
    principal(&rep);
    principal(&fin);
    strcpy(fin.user, "fin");
    strcpy(fin.role, "finance");
    assert_int_equal(view_op(n, 0, "emea", "{\"report\":\"win-rate\","
                                          "\"params\":{\"by\":\"stage\","
                                          "\"where\":\"region = 'EMEA'\"},"
                                          "\"roles\":[\"rep\"]}",
                             NULL, &c),
                     ENT_OK);
    assert_int_equal(view_op(n, 0, "all", "{\"report\":\"pipeline\"}",
                             NULL, &c),
                     ENT_OK);
    static const char *const bad[][2] = {
        {"Bad", "{\"report\":\"pipeline\"}"},
        {"x", "{\"report\":\"nope\"}"},
        {"x", "{\"report\":\"pipeline\",\"params\":{\"limit\":\"1\"}}"},
        {"x", "{\"report\":\"pipeline\",\"params\":{\"by\":5}}"},
        {"x", "{\"report\":\"pipeline\",\"roles\":[\"Not A Role\"]}"},
        {"x", "{\"report\":\"pipeline\",\"extra\":1}"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(view_op(n, 0, bad[i][0], bad[i][1], NULL, &c),
                         ENT_EINVAL);
        assert_true(c.err[0] != '\0');
    }
    assert_int_equal(view_op(n, 1, "x", NULL, NULL, &c), ENT_ENOENT);
    /* the operator and rep see both, fin only the unlimited one */
    assert_int_equal(view_op(n, 2, NULL, NULL, NULL, &c), ENT_OK);
    assert_int_equal(json_array_size(c.out), 2);
    json_decref(c.out);
    assert_int_equal(view_op(n, 2, NULL, NULL, &rep, &c), ENT_OK);
    assert_int_equal(json_array_size(c.out), 2);
    json_decref(c.out);
    assert_int_equal(view_op(n, 2, NULL, NULL, &fin, &c), ENT_OK);
    assert_int_equal(json_array_size(c.out), 1);
    json_decref(c.out);
    /* run: the stored options, as a report with them */
    assert_int_equal(view_op(n, 1, "emea", NULL, NULL, &c), ENT_OK);
    assert_true(ent_view_allows(c.out, &rep));
    assert_false(ent_view_allows(c.out, &fin));
    ent_rpt_opts o;
    assert_int_equal(ent_view_opts(c.out, &o), ENT_OK);
    json_t *a = report(n, &o, ENT_OK);
    ent_rpt_opts direct = {.kind = ENT_RPT_WIN_RATE,
                           .by = "stage",
                           .where = "region = 'EMEA'"};
    json_t *b = report(n, &direct, ENT_OK);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    json_decref(c.out);
    assert_int_equal(view_op(n, 3, "emea", NULL, NULL, &c), ENT_OK);
    assert_int_equal(view_op(n, 3, "emea", NULL, NULL, &c), ENT_ENOENT);
}

static size_t count_of(const char *s, const char *what) {
    size_t n = 0;
    for (const char *p = strstr(s, what); p != NULL; p = strstr(p + 1, what))
        n++;
    return n;
}

/* Charts: one bar per group (two for attribution), a win-rate line,
 * labels escaped. */
static void test_svg(void **state) {
    fixture *f = *state;
    ent_rpt_opts o = {.kind = ENT_RPT_PIPELINE};
    json_t *j = report(&f->n[0], &o, ENT_OK);
    char *svg = NULL;
    assert_int_equal(ent_report_svg(j, &svg), ENT_OK);
    size_t groups = json_array_size(json_object_get(j, "groups"));
    assert_true(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) ==
                0);
    assert_int_equal(count_of(svg, "<rect "), groups);
    assert_non_null(strstr(svg, ">Closed Won</text>"));
    assert_non_null(strstr(svg, "</svg>\n"));
    free(svg);
    json_decref(j);
    o.kind = ENT_RPT_ATTRIBUTION;
    j = report(&f->n[0], &o, ENT_OK);
    assert_int_equal(ent_report_svg(j, &svg), ENT_OK);
    assert_int_equal(count_of(svg, "<rect "),
                     2 * json_array_size(json_object_get(j, "groups")) + 2);
    free(svg);
    json_decref(j);
    o.kind = ENT_RPT_WIN_RATE;
    o.by = "quarter";
    j = report(&f->n[0], &o, ENT_OK);
    assert_int_equal(ent_report_svg(j, &svg), ENT_OK);
    assert_true(count_of(svg, "<circle ") >= 4);
    assert_true(count_of(svg, "<line ") >= 4);
    free(svg);
    json_decref(j);
    /* labels from outside are escaped */
    j = json_pack("{s:s,s:[s],s:[{s:{s:s},s:i}]}", "report", "pipeline", "by",
                  "name", "groups", "key", "name", "<script>&\"", "count", 3);
    assert_int_equal(ent_report_svg(j, &svg), ENT_OK);
    assert_null(strstr(svg, "<script>"));
    assert_non_null(strstr(svg, "&lt;script&gt;&amp;&quot;"));
    free(svg);
    json_decref(j);
    j = json_object();
    assert_int_equal(ent_report_svg(j, &svg), ENT_EINVAL);
    json_decref(j);
}

/* plan and mdf (spec/reports.md "MDF and plans"): org A's sales plan,
 * linked by A's opportunities; a budget of A's, requests of B's. */
static void test_plan_and_mdf(void **state) {
    fixture *f = *state;
    char err[256], ph[65], amount[48];
    uint8_t plan[32];
    ent_op *op = NULL;
    tnode *a = &f->n[0], *b = &f->n[1];
    ent_obj_input pin[] = {{"name", "A plan", ENT_IN_SHARED},
                           {"joint_target", "1000000 USD", ENT_IN_SHARED}};
    /* no plan and no budget yet: no group (and no sort of no group) */
    for (int k = 0; k < 2; k++) {
        ent_rpt_opts o0 = {.kind = k ? ENT_RPT_PLAN : ENT_RPT_MDF,
                           .me = tnode_pk(a)};
        json_t *j0 = report(a, &o0, ENT_OK);
        assert_int_equal(json_array_size(json_object_get(j0, "groups")), 0);
        json_decref(j0);
    }
    assert_int_equal(ent_obj_create(a->eng, "sales_plan", pin, 2, plan, NULL,
                                    err, sizeof(err)),
                     ENT_OK);
    ent_value_ref_format(ph, plan);
    /* expected: A's view (its private deal sizes), B's (its own, on the
     * opportunities it holds with the link: A's, shared with B) */
    int64_t won_a[3] = {0}, pipe_a[3] = {0}, won_b[3] = {0};
    uint64_t n_a = 0, nwon_a = 0, nlost_a = 0, n_b = 0;
    for (int i = 0; i < NOBJ; i++) {
        const gobj *g = &f->o[i];
        if (g->owner != 0)
            continue;
        ent_obj_input in = {"plan", ph, ENT_IN_SHARED};
        assert_int_equal(ent_obj_set(a->eng, g->id, &in, 1, &op, err,
                                     sizeof(err)),
                         ENT_OK);
        ent_op_free(op);
        n_a++;
        if (won(g)) {
            nwon_a++;
            won_a[g->cur[0]] += g->minor[0];
        } else if (lost(g)) {
            nlost_a++;
        } else {
            pipe_a[g->cur[0]] += g->minor[0];
        }
        if (g->partner == 1) {
            assert_int_equal(tnode_sync(b, a, g->id), 0);
            n_b++;
            if (won(g))
                won_b[g->cur[1]] += g->minor[1];
        }
    }
    ent_rpt_opts o = {.kind = ENT_RPT_PLAN, .me = tnode_pk(a)};
    json_t *j = report(a, &o, ENT_OK);
    json_t *g = group(j, "plan", "A plan");
    assert_non_null(g);
    assert_int_equal(jint(g, "opportunities"), (int64_t)n_a);
    assert_int_equal(jint(g, "won"), (int64_t)nwon_a);
    assert_int_equal(jint(g, "lost"), (int64_t)nlost_a);
    for (int c = 0; c < 3; c++) {
        assert_true(msum(json_object_get(g, "won_amount"), currencies[c]) ==
                    won_a[c]);
        assert_true(msum(json_object_get(g, "pipeline"), currencies[c]) ==
                    pipe_a[c]);
    }
    assert_true(msum(json_object_get(g, "target"), "USD") == 100000000);
    /* won amounts in three currencies: no progress, never a mixed sum */
    assert_true(json_is_null(json_object_get(g, "progress")));
    json_decref(j);
    /* --hide-private: deal_size is private, so no amount is summed */
    o.hide_private = true;
    j = report(a, &o, ENT_OK);
    g = group(j, "plan", "A plan");
    assert_int_equal(jint(g, "opportunities"), (int64_t)n_a);
    assert_int_equal(json_array_size(json_object_get(g, "won_amount")), 0);
    assert_int_equal(json_array_size(json_object_get(g, "pipeline")), 0);
    json_decref(j);
    o.hide_private = false;
    /* B is not a member of the plan: its key is the id, an opaque link */
    o.me = tnode_pk(b);
    j = report(b, &o, ENT_OK);
    g = group(j, "plan", ph);
    assert_non_null(g);
    char *dump = json_dumps(j, 0);
    assert_null(strstr(dump, "A plan"));
    free(dump);
    assert_int_equal(jint(g, "opportunities"), (int64_t)n_b);
    for (int c = 0; c < 3; c++)
        assert_true(msum(json_object_get(g, "won_amount"), currencies[c]) ==
                    won_b[c]);
    json_decref(j);

    /* mdf: A's budget of 1000 EUR, B a member; B asks 400, 500, 300 */
    uint8_t bud[32], req[3][32];
    char bh[65];
    ent_obj_input bin[] = {{"name", "A budget", ENT_IN_SHARED},
                           {"amount", "1000 EUR", ENT_IN_SHARED}};
    assert_int_equal(ent_obj_create(a->eng, "mdf_budget", bin, 2, bud, NULL,
                                    err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(tnode_join(a, b, bud, ENT_ROLE_MEMBER, NULL, NULL),
                     ENT_OK);
    ent_value_ref_format(bh, bud);
    static const char *const asked[] = {"400 EUR", "500 EUR", "300 EUR"};
    static const char *const given[] = {"400 EUR", "500 EUR", "100 EUR"};
    for (int i = 0; i < 3; i++) {
        ent_obj_input rin[] = {{"budget", bh, ENT_IN_SHARED},
                               {"amount_requested", asked[i], ENT_IN_SHARED}};
        assert_int_equal(ent_obj_create(b->eng, "mdf_request", rin, 2, req[i],
                                        NULL, err, sizeof(err)),
                         ENT_OK);
        assert_int_equal(tnode_join(b, a, req[i], ENT_ROLE_MEMBER, NULL, NULL),
                         ENT_OK);
        assert_int_equal(ent_obj_stage(b->eng, req[i], "Submitted", NULL, err,
                                       sizeof(err)),
                         ENT_OK);
        assert_int_equal(tnode_sync(a, b, req[i]), 0);
        if (i == 2) { /* 100 left: 300 is refused */
            ent_obj_input over = {"amount_approved", "300 EUR", ENT_IN_SHARED};
            assert_int_equal(ent_obj_set(a->eng, req[i], &over, 1, NULL, err,
                                         sizeof(err)),
                             ENT_EDENIED);
        }
        ent_obj_input ap = {"amount_approved", given[i], ENT_IN_SHARED};
        assert_int_equal(
            ent_obj_set(a->eng, req[i], &ap, 1, NULL, err, sizeof(err)),
            ENT_OK);
        assert_int_equal(ent_obj_stage(a->eng, req[i], "Approved", NULL, err,
                                       sizeof(err)),
                         ENT_OK);
        assert_int_equal(tnode_sync(b, a, req[i]), 0);
    }
    snprintf(amount, sizeof(amount), "%s", "350 EUR"); /* B claims 350 */
    ent_obj_input cl = {"amount_claimed", amount, ENT_IN_SHARED};
    assert_int_equal(ent_obj_set(b->eng, req[0], &cl, 1, NULL, err,
                                 sizeof(err)),
                     ENT_OK);
    assert_int_equal(
        ent_obj_stage(b->eng, req[0], "Claimed", NULL, err, sizeof(err)),
        ENT_OK);
    assert_int_equal(tnode_sync(a, b, req[0]), 0);
    char borg[ENT_ORG_ID_LEN + 1];
    org_text(f, 1, borg);
    for (int k = 0; k < 2; k++) {
        tnode *n = k == 0 ? a : b;
        ent_rpt_opts m = {.kind = ENT_RPT_MDF, .me = tnode_pk(n)};
        j = report(n, &m, ENT_OK);
        g = group(j, "partner", borg);
        assert_non_null(g);
        assert_int_equal(jint(g, "requests"), 3);
        assert_true(msum(json_object_get(g, "requested"), "EUR") == 120000);
        assert_true(msum(json_object_get(g, "approved"), "EUR") == 100000);
        assert_true(msum(json_object_get(g, "claimed"), "EUR") == 35000);
        assert_true(msum(json_object_get(g, "paid"), "EUR") == 0);
        json_t *t = json_object_get(j, "total");
        assert_true(msum(json_object_get(t, "budget"), "EUR") == 100000);
        assert_true(msum(json_object_get(t, "left"), "EUR") == 0);
        assert_true(json_is_true(json_object_get(j, "complete")) == (k == 0));
        json_decref(j);
    }
    /* options the report does not take */
    ent_rpt_opts bad = {.kind = ENT_RPT_MDF, .where = "true"};
    j = report(a, &bad, ENT_EINVAL);
    assert_null(j);
    bad = (ent_rpt_opts){.kind = ENT_RPT_MDF, .by = "partner,partner"};
    assert_null(report(a, &bad, ENT_EINVAL));
}

/* ---- derived fields ------------------------------------------------------ */

/* The percent of each of finals[] in the test's stage_probability. */
static const int final_pct[] = {20, 40, 60, 80, 100, 0};

/* The built-in opportunity template with extra JSON fields, its stage
 * probabilities, and a check; rc: what ent_derive_check (or the parse,
 * when it fails first) gives. */
static ent_template *tpl_with(const char *fields_json, bool probs, int rc) {
    ent_template *b = NULL, *t = NULL;
    json_t *j = NULL, *extra = json_loads(fields_json, 0, NULL);
    char err[256] = "";
    assert_non_null(extra);
    assert_int_equal(ent_template_builtin("opportunity", &b), ENT_OK);
    assert_int_equal(ent_template_to_json(b, &j), ENT_OK);
    ent_template_free(b);
    json_array_extend(json_object_get(j, "fields"), extra);
    json_decref(extra);
    if (probs) {
        json_t *sp = json_object();
        json_object_set_new(sp, "Prospecting", json_integer(10));
        for (int s = 0; s < 6; s++)
            json_object_set_new(sp, finals[s], json_integer(final_pct[s]));
        json_object_set_new(j, "stage_probability", sp);
    }
    int got = ent_template_from_json(j, &t, err, sizeof(err));
    if (got == ENT_OK)
        got = ent_derive_check(t, err, sizeof(err));
    json_decref(j);
    if (got != rc)
        fail_msg("template: %d (want %d): %s", got, rc, err);
    if (rc != ENT_OK) {
        assert_true(err[0] != '\0');
        ent_template_free(t);
        return NULL;
    }
    return t;
}

static int tpl_put_fn(ent_txn *txn, void *data) {
    return ent_template_put(txn, data);
}
static int tpl_del_fn(ent_txn *txn, void *data) {
    (void)data;
    return ent_template_del(txn, "opportunity");
}

typedef struct showrun {
    const ent_template *t;
    const uint8_t *id;
    bool hide;
    json_t *o;
} showrun;

static int show_fn(ent_txn *txn, void *data) {
    showrun *s = data;
    return ent_derive_show(txn, s->t, s->id, 1900000000000ull, s->hide, s->o);
}

/* Formulas in templates: checked when stored, refused as input, computed
 * the same in reports (--by, --amount, --where) and in object show, private
 * unless shared, and hidden with --hide-private. */
static void test_derived(void **state) {
    fixture *f = *state;
    static const char *const fields =
        "[{\"name\":\"weighted\",\"type\":\"money\","
        "\"derived\":\"deal_size * stage_probability / 100\"},"
        "{\"name\":\"heat\",\"type\":\"text\",\"visibility\":\"shared\","
        "\"derived\":\"if stage_probability >= 50 then 'hot' else 'cold'\"},"
        "{\"name\":\"age\",\"type\":\"integer\",\"visibility\":\"shared\","
        "\"derived\":\"today - created\"}]";
    /* what is refused, and why */
    static const struct {
        const char *json;
        int rc;
    } bad[] = {
        {"[{\"name\":\"x\",\"type\":\"money\",\"visibility\":\"shared\","
         "\"derived\":\"deal_size * 2\"}]", ENT_EINVAL}, /* shares private */
        {"[{\"name\":\"x\",\"type\":\"money\",\"derived\":\"deal_size\"},"
         "{\"name\":\"y\",\"type\":\"money\",\"derived\":\"x\"}]",
         ENT_EINVAL}, /* names a derived field */
        {"[{\"name\":\"x\",\"type\":\"money\",\"derived\":\"2 * 3\"}]",
         ENT_EINVAL}, /* a number is not money */
        {"[{\"name\":\"x\",\"type\":\"enum\",\"values\":[\"a\"],"
         "\"derived\":\"'a'\"}]", ENT_EINVAL},
        {"[{\"name\":\"x\",\"type\":\"text\",\"default\":\"a\","
         "\"derived\":\"'a'\"}]", ENT_EINVAL},
        {"[{\"name\":\"x\",\"type\":\"text\",\"derived\":\"if true then 1 "
         "else 'a'\"}]", ENT_EINVAL},
        {"[{\"name\":\"x\",\"type\":\"text\",\"derived\":\"nosuch + 1\"}]",
         ENT_EINVAL},
        {"[{\"name\":\"x\",\"type\":\"text\",\"derived\":\"\"}]", ENT_EINVAL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_null(tpl_with(bad[i].json, true, bad[i].rc));
    /* stage_probability: stages only, whole percents 0..100 */
    {
        ent_template *t = NULL;
        char err[256];
        json_t *j = json_pack("{s:s,s:[],s:[s,s],s:{s:i}}", "type", "x",
                              "fields", "stages", "A", "B",
                              "stage_probability", "C", 5);
        assert_int_equal(ent_template_from_json(j, &t, err, sizeof(err)),
                         ENT_EINVAL);
        json_object_set_new(j, "stage_probability",
                            json_pack("{s:i}", "A", 101));
        assert_int_equal(ent_template_from_json(j, &t, err, sizeof(err)),
                         ENT_EINVAL);
        json_object_set_new(j, "stage_probability",
                            json_pack("{s:i}", "B", 30));
        assert_int_equal(ent_template_from_json(j, &t, err, sizeof(err)),
                         ENT_OK);
        json_t *back = NULL;
        assert_int_equal(ent_template_to_json(t, &back), ENT_OK);
        assert_int_equal(json_integer_value(json_object_get(
                             json_object_get(back, "stage_probability"), "B")),
                         30);
        json_decref(back);
        ent_template_free(t);
        json_decref(j);
    }
    ent_template *t = tpl_with(fields, true, ENT_OK);
    assert_int_equal(ent_template_field(t, "weighted")->visibility,
                     ENT_VIS_PRIVATE);
    tnode *n = &f->n[0];
    assert_int_equal(ent_store_write(n->store, tpl_put_fn, t), ENT_OK);
    /* a derived field is computed, never set */
    {
        char err[256];
        ent_op *op = NULL;
        ent_obj_input in[1] = {{"heat", "hot", ENT_IN_SHARED}};
        int i = 0;
        while (!holds(&f->o[i], 0))
            i++;
        assert_int_equal(ent_obj_set(n->eng, f->o[i].id, in, 1, &op, err,
                                     sizeof(err)),
                         ENT_ESCHEMA);
        assert_non_null(strstr(err, "derived"));
        assert_null(op);
    }
    /* pipeline by heat, amount weighted */
    ent_rpt_opts o = {.kind = ENT_RPT_PIPELINE, .by = "heat",
                      .amount = "weighted"};
    json_t *j = report(n, &o, ENT_OK);
    for (int hot = 0; hot < 2; hot++) {
        int64_t cnt = 0, sum[3] = {0, 0, 0};
        for (int i = 0; i < NOBJ; i++) {
            const gobj *g = &f->o[i];
            int pct = final_pct[g->final];
            if (!holds(g, 0) || (pct >= 50) != hot)
                continue;
            cnt++;
            __int128 x = (__int128)g->minor[0] * pct;
            sum[g->cur[0]] += (int64_t)((x + 50) / 100); /* half up, x >= 0 */
        }
        json_t *gr = group(j, "heat", hot ? "hot" : "cold");
        assert_non_null(gr);
        assert_int_equal(jint(gr, "count"), cnt);
        for (int c = 0; c < 3; c++)
            assert_int_equal(msum(json_object_get(gr, "amount"),
                                  currencies[c]),
                             sum[c]);
    }
    json_decref(j);
    /* --where over a formula and over today */
    o = (ent_rpt_opts){.kind = ENT_RPT_PIPELINE,
                       .where = "heat = 'hot' and today = 2030-03-17",
                       .now_ms = 1900000000000ull}; /* 2030-03-17 */
    j = report(n, &o, ENT_OK);
    int64_t hot = 0;
    for (int i = 0; i < NOBJ; i++)
        hot += holds(&f->o[i], 0) && final_pct[f->o[i].final] >= 50;
    assert_int_equal(jint(j, "objects"), hot);
    json_decref(j);
    o.now_ms = 1900000000000ull + DAY_MS;
    j = report(n, &o, ENT_OK);
    assert_int_equal(jint(j, "objects"), 0);
    json_decref(j);
    /* --hide-private: the private formula is null, never computed */
    o = (ent_rpt_opts){.kind = ENT_RPT_PIPELINE, .by = "heat",
                       .amount = "weighted", .hide_private = true};
    j = report(n, &o, ENT_OK);
    char *txt = json_dumps(j, JSON_COMPACT);
    assert_null(strstr(txt, "\"minor\""));
    free(txt);
    json_decref(j);
    /* object show: the same values */
    int i = 0;
    while (!holds(&f->o[i], 0) || f->o[i].final != 2)
        i++;
    for (int hide = 0; hide < 2; hide++) {
        showrun sr = {t, f->o[i].id, hide, json_object()};
        assert_int_equal(ent_store_read(n->store, show_fn, &sr), ENT_OK);
        json_t *d = json_object_get(sr.o, "derived");
        assert_non_null(d);
        assert_string_equal(json_string_value(json_object_get(d, "heat")),
                            "hot");
        assert_true(json_is_integer(json_object_get(d, "age")) &&
                    json_integer_value(json_object_get(d, "age")) > 0);
        json_t *w = json_object_get(d, "weighted");
        if (hide) {
            assert_null(w);
        } else {
            __int128 x = (__int128)f->o[i].minor[0] * 60;
            assert_int_equal(jint(w, "minor"), (int64_t)((x + 50) / 100));
            assert_string_equal(
                json_string_value(json_object_get(w, "currency")),
                currencies[f->o[i].cur[0]]);
        }
        json_decref(sr.o);
    }
    assert_int_equal(ent_store_write(n->store, tpl_del_fn, NULL), ENT_OK);
    ent_template_free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_attribution),
        cmocka_unit_test(test_win_rate_deal_size),
        cmocka_unit_test(test_cycle_time),
        cmocka_unit_test(test_currency),
        cmocka_unit_test(test_members_agree),
        cmocka_unit_test(test_access),
        cmocka_unit_test(test_hide_private_canary),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_svg),
        cmocka_unit_test(test_derived),
        cmocka_unit_test(test_plan_and_mdf), /* last: it adds objects */
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
