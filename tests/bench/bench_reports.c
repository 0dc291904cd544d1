/*
 * bench_reports.c - reports and list pages over large stores (issue 16):
 * `report pipeline --by stage,partner` over 10k and 100k opportunities
 * (1M with ENT_BENCH_1M=1), as objects per second and as a ratio to a bare
 * LMDB cursor scan over the same rows (objects, shared fields, private
 * fields) in the same run; and the first page (limit 100) of the object
 * list, and a page after a cursor, at 100k objects (1M in the full run).
 *
 * The stores are filled directly with rows in the engine's own formats
 * (object records, merged field rows, private values; object_int.h), in
 * key order and without signatures: what is measured is reading, and
 * making a million signed ops would measure signing instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "node/err.h"
#include "node/objects/hlc.h"
#include "node/objects/object.h"
#include "node/objects/object_int.h"
#include "node/reports/report.h"
#include "storage/store.h"
#include "tests/bench/bench.h"
#include "tests/object_fixture.h"

#define FILL_BATCH 20000

static const char *const stages[] = {"Prospecting", "Qualification",
                                     "Solution",    "Proposal",
                                     "Negotiation", "Closed Won",
                                     "Closed Lost"};
static const char *const regions[] = {"North America", "Latin America",
                                      "EMEA", "APAC"};

typedef struct fill {
    uint8_t (*ids)[32];
    size_t n, at;
    bool fields; /* all the fields, or only the stage */
    uint8_t partners[5][32];
    uint64_t rng;
} fill;

static int cmp_id(const void *a, const void *b) { return memcmp(a, b, 32); }

static int put_field(ent_txn *txn, ent_table t, const uint8_t id[32],
                     const char *name, const ent_value *v, uint64_t hlc) {
    uint8_t key[32 + 64], *blob = NULL, val[OBJ_ORDER_LEN + 1 + 512];
    size_t blen = 0, nl = strlen(name), off = 0;
    int rc = ent__obj_value_encode(v, &blob, &blen);
    if (rc != ENT_OK)
        return rc;
    memcpy(key, id, 32);
    memcpy(key + 32, name, nl);
    if (t == ENT_TBL_FIELDS) {
        uint8_t author[32] = {1}, opid[32] = {2};
        ent__obj_order(val, hlc, author, opid);
        val[OBJ_ORDER_LEN] = FW_PLAIN;
        off = OBJ_ORDER_LEN + 1;
    }
    memcpy(val + off, blob, blen);
    free(blob);
    return ent_txn_put(txn, t, key, 32 + nl, val, off + blen, 0);
}

static void text_value(ent_value *v, ent_vtype t, const char *s) {
    memset(v, 0, sizeof(*v));
    v->type = t;
    v->u.text.s = (char *)s;
    v->u.text.len = strlen(s);
}

static int fill_fn(ent_txn *txn, void *data) {
    fill *f = data;
    int rc = ENT_OK;
    size_t end = f->at + FILL_BATCH < f->n ? f->at + FILL_BATCH : f->n;
    for (size_t i = f->at; i < end && rc == ENT_OK; i++) {
        const uint8_t *id = f->ids[i];
        uint64_t x = trng_next(&f->rng);
        uint64_t hlc = ent_hlc_make(1800000000000ull + i, 0);
        obj_rec rec;
        memset(&rec, 0, sizeof(rec));
        rec.status = OBJ_STATUS_ACTIVE;
        memset(rec.owner, 3, 32);
        rec.hlc = hlc;
        strcpy(rec.type, "opportunity");
        ent_value v;
        char name[32];
        rc = ent__obj_rec_put(txn, id, &rec);
        /* fields in key (name) order */
        if (rc == ENT_OK && f->fields) {
            memset(&v, 0, sizeof(v));
            v.type = ENT_VT_DATE;
            v.u.days = 20454 + (int32_t)(x % 700);
            rc = put_field(txn, ENT_TBL_FIELDS, id, "close_date", &v, hlc);
        }
        if (rc == ENT_OK && f->fields) {
            snprintf(name, sizeof(name), "deal %zu", i);
            text_value(&v, ENT_VT_TEXT, name);
            rc = put_field(txn, ENT_TBL_FIELDS, id, "name", &v, hlc);
        }
        if (rc == ENT_OK && f->fields) {
            text_value(&v, ENT_VT_ENUM, regions[(x >> 12) % 4]);
            rc = put_field(txn, ENT_TBL_FIELDS, id, "region", &v, hlc);
        }
        if (rc == ENT_OK && f->fields && (x >> 16) % 3 == 0) {
            memset(&v, 0, sizeof(v));
            v.type = ENT_VT_ORG;
            memcpy(v.u.org, f->partners[(x >> 20) % 5], 32);
            rc = put_field(txn, ENT_TBL_FIELDS, id, "sourced_by", &v, hlc);
        }
        if (rc == ENT_OK) {
            text_value(&v, ENT_VT_ENUM, stages[(x >> 24) % 7]);
            rc = put_field(txn, ENT_TBL_FIELDS, id, "stage", &v, hlc);
        }
        if (rc == ENT_OK && f->fields) {
            memset(&v, 0, sizeof(v));
            v.type = ENT_VT_MONEY;
            v.u.money.minor = (int64_t)((x >> 28) % 100000000);
            memcpy(v.u.money.cur, (x >> 40) % 2 ? "USD" : "EUR", 3);
            rc = put_field(txn, ENT_TBL_PRIVATE, id, "deal_size", &v, hlc);
        }
    }
    return rc;
}

typedef struct bstore {
    char dir[64];
    ent_store *store;
} bstore;

static void bstore_close(bstore *b) {
    ent_store_close(b->store);
    if (b->dir[0])
        rm_tree(b->dir);
    memset(b, 0, sizeof(*b));
}

static int bstore_fill(bstore *b, size_t n, bool fields) {
    ent_store_opts so = {.map_size = (size_t)(fields ? 400 : 160) << 20};
    fill f = {.n = n, .fields = fields, .rng = 0x1234567u};
    int rc = -1;
    memset(b, 0, sizeof(*b));
    so.map_size = so.map_size * (n / 100000 + 1);
    if (tmp_dir_at(b->dir, sizeof(b->dir), "/tmp", "bench_rpt") != 0 ||
        ent_store_open_ex(&b->store, b->dir, ENT_STORE_CREATE, NULL, &so) !=
            ENT_OK)
        return -1;
    if ((f.ids = malloc(n * 32)) == NULL)
        return -1;
    ent_random(f.ids, n * 32);
    ent_random(f.partners, sizeof(f.partners));
    qsort(f.ids, n, 32, cmp_id);
    for (f.at = 0; f.at < n; f.at += FILL_BATCH)
        if (ent_store_write(b->store, fill_fn, &f) != ENT_OK)
            goto out;
    rc = 0;
out:
    free(f.ids);
    return rc;
}

/* ---- the bare scan and the report ---------------------------------------- */

static int count_cb(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    (*(size_t *)data) += klen + vlen; /* touch the lengths */
    return 0;
}

static int scan_fn(ent_txn *txn, void *data) {
    size_t *n = data;
    int rc = ent_txn_scan(txn, ENT_TBL_OBJECTS, NULL, 0, count_cb, n);
    if (rc == ENT_OK)
        rc = ent_txn_scan(txn, ENT_TBL_FIELDS, NULL, 0, count_cb, n);
    if (rc == ENT_OK)
        rc = ent_txn_scan(txn, ENT_TBL_PRIVATE, NULL, 0, count_cb, n);
    return rc;
}

typedef struct rrun {
    json_t *out;
    char err[ENT_RPT_ERR_MAX];
} rrun;

static int report_fn(ent_txn *txn, void *data) {
    rrun *r = data;
    ent_rpt_opts o = {.kind = ENT_RPT_PIPELINE, .by = "stage,partner"};
    json_decref(r->out);
    r->out = NULL;
    return ent_report_run(txn, &o, &r->out, r->err, sizeof(r->err));
}

/* Best of three of each, alternating. */
static void bench_report(ent_bench_report *r, size_t n) {
    bstore b;
    char name[64];
    if (bstore_fill(&b, n, true) != 0) {
        fprintf(stderr, "bench_reports: fill %zu failed\n", n);
        r->failed = 1;
        bstore_close(&b);
        return;
    }
    double best_scan = 1e9, best_rep = 1e9;
    for (int k = 0; k < 3; k++) {
        size_t bytes = 0;
        rrun rr = {NULL, ""};
        double t0 = ent_bench_now();
        int rc = ent_store_read(b.store, scan_fn, &bytes);
        double t1 = ent_bench_now();
        int rc2 = ent_store_read(b.store, report_fn, &rr);
        double t2 = ent_bench_now();
        if (rc != ENT_OK || rc2 != ENT_OK ||
            json_integer_value(json_object_get(rr.out, "objects")) !=
                (json_int_t)n) {
            fprintf(stderr, "bench_reports: %s\n", rr.err);
            r->failed = 1;
        }
        json_decref(rr.out);
        if (t1 - t0 < best_scan)
            best_scan = t1 - t0;
        if (t2 - t1 < best_rep)
            best_rep = t2 - t1;
    }
    snprintf(name, sizeof(name), "report pipeline stage,partner %zuk (%.0f ms)",
             n / 1000, best_rep * 1000);
    ent_bench_add(r, name, (double)n / best_rep, "objects/s", "cursor scan",
                  (double)n / best_scan);
    bstore_close(&b);
}

typedef struct lrun {
    ent_objects *eng;
    const uint8_t *after;
    json_t *out;
} lrun;

static void bench_list(ent_bench_report *r, size_t n) {
    bstore b;
    ent_identity *id = NULL;
    ent_objects *eng = NULL;
    char name[64];
    if (bstore_fill(&b, n, false) != 0 ||
        ent_identity_generate(&id) != ENT_OK) {
        r->failed = 1;
        goto out;
    }
    ent_objects_config cfg = {.store = b.store, .id = id};
    if (ent_objects_new(&eng, &cfg) != ENT_OK) {
        r->failed = 1;
        goto out;
    }
    double best1 = 1e9, best2 = 1e9;
    for (int k = 0; k < 5; k++) {
        json_t *p1 = NULL, *p2 = NULL;
        ent_obj_list_opts o = {.limit = 100};
        uint8_t last[32];
        double t0 = ent_bench_now();
        int rc = ent_obj_list_json_ex(eng, &o, &p1);
        double t1 = ent_bench_now();
        if (rc != ENT_OK || json_array_size(p1) != 100 ||
            ent_hex_decode(last, 32,
                           json_string_value(json_object_get(
                               json_array_get(p1, 99), "id"))) != ENT_OK) {
            r->failed = 1;
            json_decref(p1);
            break;
        }
        o.after = last;
        double t2 = ent_bench_now();
        rc = ent_obj_list_json_ex(eng, &o, &p2);
        double t3 = ent_bench_now();
        if (rc != ENT_OK || json_array_size(p2) != 100)
            r->failed = 1;
        json_decref(p1);
        json_decref(p2);
        if (t1 - t0 < best1)
            best1 = t1 - t0;
        if (t3 - t2 < best2)
            best2 = t3 - t2;
    }
    /* compared to the goal: a first page in 20 ms (50 pages/s) */
    snprintf(name, sizeof(name), "list first page of 100, %zuk objs (%.2f ms)",
             n / 1000, best1 * 1000);
    ent_bench_add(r, name, 1.0 / best1, "pages/s", "goal 20 ms", 50.0);
    snprintf(name, sizeof(name), "list page after cursor, %zuk objs (%.2f ms)",
             n / 1000, best2 * 1000);
    ent_bench_add(r, name, 1.0 / best2, "pages/s", "goal 20 ms", 50.0);
out:
    ent_objects_free(eng);
    ent_identity_free(id);
    bstore_close(&b);
}

void ent_bench_reports(ent_bench_report *r, int quick) {
    if (ent_crypto_init() != ENT_OK) {
        r->failed = 1;
        return;
    }
    bench_report(r, 10000);
    if (!quick)
        bench_report(r, 100000);
    const char *big = getenv("ENT_BENCH_1M");
    if (big != NULL && strcmp(big, "1") == 0)
        bench_report(r, 1000000);
    bench_list(r, quick ? 100000 : 1000000);
}
