/*
 * overlap.c - account-overlap runs between partners; see overlap.h and
 * spec/overlap.md. The state of this org's side of a run lives in a `run`
 * on the loop thread; the ristretto255 work goes to the thread pool in
 * ENT_OVERLAP_PIECES pieces per phase (uv_queue_work), and a run is freed
 * only when none of its pieces is out.
 *
 * Table ENT_TBL_OVERLAP (local only; spec/overlap.md §9; read and written
 * by overlap_store.c):
 *   "s" || org -> share: version 1 | level | population | flags |
 *                 suspended | 0 0 0 | set at (u64 BE ms)
 *   "d" || org -> limits: day (u32 BE, days since 1970) | runs that day |
 *                 partner bucket of the last run | our set size of it
 *   "b" || org -> baseline: our set of the last run, sorted 8-byte
 *                 BLAKE2b(salt || key) values
 *   "r" || org -> the last result (JSON text)
 *   "salt"     -> 32 random bytes of this node (never leaves it)
 */
#include "node/overlap/overlap.h"
#include "crypto/crypto.h"
#include "node/audit/actlog.h"
#include "node/err.h"
#include "node/log.h"
#include "node/overlap/accounts.h"
#include "node/overlap/overlap_int.h"
#include "node/overlap/psi_run.h"
#include "node/peers/peer.h"
#include "protocol/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#define PT ENT_PSI_POINT_LEN
#define PTS_PER_MSG (ENT_WIRE_OVERLAP_MAX_DATA / PT)
#define FLAG_ENTRY (ENT_PSI_TAG_LEN + 1)
#define FLAGS_PER_MSG (ENT_WIRE_OVERLAP_MAX_DATA / FLAG_ENTRY)

/* OVERLAP kinds (spec/overlap.md §5) */
enum { K_OPEN = 1, K_ACCEPT, K_REFUSE, K_BLINDED, K_DOUBLED, K_FLAGS };
/* REFUSE codes */
enum {
    R_NOT_SHARED = 1, R_BUSY, R_LIMIT, R_SIZE, R_CHANGED, R_INTERNAL,
    R_SUSPENDED, R_PROTO, R_REVOKED, R_TIMEOUT
};

static const char *const level_names[] = {"none", "counts", "accounts",
                                          "flags"};

const char *ent_overlap_level_name(int level) {
    return level >= 0 && level <= 3 ? level_names[level] : "?";
}

int ent_overlap_level_parse(const char *s) {
    for (int i = 0; i <= 3; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

typedef struct run run;

/* The last run with one partner (ent_overlap_json "run"). */
typedef struct status {
    struct status *next;
    uint8_t org[32];
    char id[33];
    const char *state; /* "running", "done", "failed" */
    char error[256];
} status;

struct ent_overlap {
    ent_node *node;
    ent_peers *peers;
    ent_store *store;
    const ent_log *log;
    uv_loop_t *loop;
    uv_timer_t timer;
    bool started, stopping, timer_open;
    void (*stop_done)(void *arg);
    void *stop_arg;
    run *runs;
    size_t nruns;
    size_t jobs; /* pieces out, all runs */
    status *statuses;
    ent_overlap_limits lim;
};

struct run {
    run *next;
    ent_overlap *ov;
    uint8_t org[32], id[16];
    char hex[33];
    bool initiator, dead, matched, finished;
    int level;             /* effective */
    uint32_t flags;        /* effective flags revealed (both masks) */
    share mine;
    uint32_t their_level, their_flags;
    size_t n;              /* own keys */
    char **keys;
    size_t *lens;
    uint32_t *aflags;      /* own flags per key */
    ent_psi_run *psi;
    size_t their_m;
    int blind_out, double_out; /* pieces still out */
    bool blinded, doubled;
    size_t sent_b, sent_d, sent_f;
    uint8_t *ftags;        /* our FLAGS entries (nf * 17) */
    size_t nf;
    bool flags_sent;
    uint8_t *theirs;       /* their FLAGS entries, sorted by tag */
    size_t ntheirs, their_total;
    bool theirs_begun;
    bool *which;
    size_t count;
    uint64_t last_progress, started;
};

typedef struct piece {
    uv_work_t w;
    run *r;
    bool dbl;
    size_t from, to;
} piece;

static void run_fail(run *r, int code, const char *why, bool tell);
static void on_timer(uv_timer_t *t);
static void pump(run *r);



/* ---- the own set of a run ------------------------------------------------ */

typedef struct load_ctx {
    run *r;
    size_t cap;
    int rc;
} load_ctx;

static int load_row(void *data, const char *key, size_t klen,
                    uint32_t aflags) {
    load_ctx *c = data;
    run *r = c->r;
    if (r->mine.population != 0 && (aflags & r->mine.population) == 0)
        return 0;
    if (r->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 1024;
        char **k = realloc(r->keys, nc * sizeof(*k));
        if (k != NULL)
            r->keys = k;
        size_t *l = realloc(r->lens, nc * sizeof(*l));
        if (l != NULL)
            r->lens = l;
        uint32_t *f = realloc(r->aflags, nc * sizeof(*f));
        if (f != NULL)
            r->aflags = f;
        if (k == NULL || l == NULL || f == NULL)
            return ENT_ENOMEM;
        c->cap = nc;
    }
    if ((r->keys[r->n] = malloc(klen + 1)) == NULL)
        return ENT_ENOMEM;
    memcpy(r->keys[r->n], key, klen);
    r->keys[r->n][klen] = '\0';
    r->lens[r->n] = klen;
    r->aflags[r->n] = aflags;
    r->n++;
    return 0;
}

typedef struct prep_ctx {
    run *r;
    share s;
    limits_rec l;
    size_t changed, base_n; /* own keys not in the baseline */
    char *err;
    size_t errlen;
} prep_ctx;

/* Reads the share, limits, accounts and the baseline; checks §7. */
static int prep_fn(ent_txn *txn, void *data) {
    prep_ctx *c = data;
    run *r = c->r;
    uint8_t k[33], salt[32];
    const uint8_t *v;
    size_t n;
    int rc;
    if ((rc = ent__ovl_share_get(txn, r->org, &c->s)) != ENT_OK ||
        (rc = ent__ovl_limits_get(txn, r->org, &c->l)) != ENT_OK)
        return rc;
    r->mine = c->s;
    if (c->s.level == ENT_OVERLAP_NONE) {
        snprintf(c->err, c->errlen, "this org shares nothing with the "
                                    "partner (entente overlap share)");
        return ENT_EDENIED;
    }
    if (c->s.suspended) {
        snprintf(c->err, c->errlen,
                 "runs with this partner are suspended: the matches changed "
                 "too much (spec/overlap.md §7); share again to resume");
        return ENT_EDENIED;
    }
    if (c->l.runs >= r->ov->lim.runs_per_day) {
        snprintf(c->err, c->errlen, "%u runs with this partner today already",
                 c->l.runs);
        return ENT_ELIMIT;
    }
    load_ctx lc = {r, 0, ENT_OK};
    if ((rc = ent_accounts_foreach_key(txn, load_row, &lc)) != ENT_OK)
        return rc;
    if (r->n > ENT_PSI_MAX_BUCKET) {
        snprintf(c->err, c->errlen, "%zu accounts: at most %d take part",
                 r->n, ENT_PSI_MAX_BUCKET);
        return ENT_ELIMIT;
    }
    /* our own list against the one of the last run */
    ent__ovl_key_of(k, 'b', r->org);
    rc = ent_txn_get(txn, ENT_TBL_OVERLAP, k, sizeof(k), (const void **)&v,
                     &n);
    if (rc == ENT_ENOENT)
        return ENT_OK;
    if (rc != ENT_OK || (rc = ent__ovl_salt_get(txn, salt, false)) != ENT_OK)
        return rc;
    c->base_n = n / 8;
    for (size_t i = 0; i < r->n; i++) {
        uint8_t h[ENT_HASH_LEN];
        ent_hash2(h, salt, 32, r->keys[i], r->lens[i]);
        if (bsearch(h, v, n / 8, 8, ent__ovl_cmp8) == NULL)
            c->changed++;
    }
    size_t removed = c->base_n + c->changed - r->n; /* in base, not now */
    size_t diff = c->changed + removed;
    size_t den = c->base_n > r->n ? c->base_n : r->n;
    if (den > 0 && diff * 100 > den * r->ov->lim.change_pct &&
        diff > ENT_OVERLAP_CHURN_FLOOR) {
        snprintf(c->err, c->errlen,
                 "our account list changed by %zu of %zu since the last run "
                 "with this partner (limit %u%%): share again to accept it",
                 diff, den, r->ov->lim.change_pct);
        return ENT_ELIMIT;
    }
    return ENT_OK;
}

/* ---- runs ------------------------------------------------------------------ */

static status *status_of(ent_overlap *o, const uint8_t org[32], bool make) {
    for (status *s = o->statuses; s != NULL; s = s->next)
        if (memcmp(s->org, org, 32) == 0)
            return s;
    if (!make)
        return NULL;
    status *s = calloc(1, sizeof(*s));
    if (s != NULL) {
        memcpy(s->org, org, 32);
        s->next = o->statuses;
        o->statuses = s;
    }
    return s;
}

static void status_set(run *r, const char *state, const char *err) {
    status *s = status_of(r->ov, r->org, true);
    if (s == NULL)
        return;
    memcpy(s->id, r->hex, sizeof(s->id));
    s->state = state;
    snprintf(s->error, sizeof(s->error), "%s", err ? err : "");
}

static run *run_find(ent_overlap *o, const uint8_t org[32]) {
    for (run *r = o->runs; r != NULL; r = r->next)
        if (!r->dead && memcmp(r->org, org, 32) == 0)
            return r;
    return NULL;
}

static void run_free(run *r) {
    for (size_t i = 0; i < r->n; i++)
        free(r->keys[i]);
    free(r->keys);
    free(r->lens);
    free(r->aflags);
    ent_psi_run_free(r->psi);
    free(r->ftags);
    free(r->theirs);
    free(r->which);
    free(r);
}

/* Unlinks and frees dead runs whose pieces are all back. */
static void reap(ent_overlap *o) {
    run **pp = &o->runs;
    while (*pp != NULL) {
        run *r = *pp;
        if (r->dead && r->blind_out == 0 && r->double_out == 0) {
            *pp = r->next;
            o->nruns--;
            run_free(r);
        } else {
            pp = &r->next;
        }
    }
    if (o->stopping && o->jobs == 0 && o->runs == NULL && !o->timer_open &&
        o->stop_done != NULL) {
        void (*d)(void *) = o->stop_done;
        o->stop_done = NULL;
        d(o->stop_arg);
    }
}

static int send_msg(run *r, int kind, uint64_t a, uint64_t b,
                    const uint8_t *data, size_t len) {
    ent_wire_overlap m;
    memset(&m, 0, sizeof(m));
    m.kind = (uint32_t)kind;
    memcpy(m.run, r->id, 16);
    m.a = a;
    m.b = b;
    m.data = (uint8_t *)data;
    m.len = len;
    return ent_peers_overlap_send(r->ov->peers, r->org, &m);
}

/* The overlap_run entry of r with result (ok) or why; on success also
 * the result, the new baseline and the partner's bucket (§7). */
static void run_log(run *r, const char *why, const char *result,
                    const uint8_t *base, size_t nbase, bool suspend) {
    log_ctx c;
    limits_rec l;
    memset(&c, 0, sizeof(c));
    c.org = r->org;
    c.kind = ENT_LOG_OVERLAP_RUN;
    snprintf(c.reason, sizeof(c.reason),
             "run=%s role=%s level=%s mine=%zu/%zu theirs=%zu matches=%zu "
             "result=%.120s",
             r->hex, r->initiator ? "initiator" : "responder",
             ent_overlap_level_name(r->level), r->n,
             r->psi ? ent_psi_size(r->psi) : 0, r->their_m,
             r->matched ? r->count : 0, why ? why : "ok");
    c.result = result;
    c.base = base;
    c.nbase = nbase;
    c.suspend = suspend;
    if (result != NULL) {
        memset(&l, 0, sizeof(l));
        l.their_m = (uint32_t)r->their_m;
        l.mine_n = (uint32_t)r->n;
        c.l = &l; /* runs: filled in by ent__ovl_log_fn from the stored count */
    }
    int rc = ent_store_write(r->ov->store, ent__ovl_log_fn, &c);
    if (rc != ENT_OK)
        ENT_WARN(r->ov->log, "overlap: logging run %s: %s", r->hex,
                 ent_strerror(rc));
}

/* Counts a run against today's limit (both sides, when it starts). */
static int count_fn(ent_txn *txn, void *data) {
    const uint8_t *org = data;
    limits_rec l;
    int rc = ent__ovl_limits_get(txn, org, &l);
    if (rc != ENT_OK)
        return rc;
    l.runs++;
    return ent__ovl_limits_put(txn, org, &l);
}

/* ---- thread-pool pieces --------------------------------------------------- */

static void piece_work(uv_work_t *w) {
    piece *pc = w->data;
    run *r = pc->r;
    if (r->dead)
        return;
    if (pc->dbl)
        ent_psi_double_range(r->psi, pc->from, pc->to);
    else
        ent_psi_blind_range(r->psi, (const char *const *)r->keys, r->lens,
                            pc->from, pc->to);
}

static void try_match(run *r);

static void piece_done(uv_work_t *w, int st) {
    piece *pc = w->data;
    run *r = pc->r;
    ent_overlap *o = r->ov;
    o->jobs--;
    if (pc->dbl)
        r->double_out--;
    else
        r->blind_out--;
    bool dbl = pc->dbl;
    free(pc);
    if (!r->dead) {
        r->last_progress = uv_now(o->loop);
        if (!dbl && r->blind_out == 0)
            r->blinded = true;
        if (dbl && r->double_out == 0) {
            r->doubled = true;
            if (ent_psi_invalid(r->psi) > 0) {
                run_fail(r, R_PROTO, "the partner sent invalid points", true);
                reap(o);
                return;
            }
            try_match(r);
        }
        if (!r->dead)
            pump(r);
    }
    reap(o);
}

/* Splits [0, total) into ENT_OVERLAP_PIECES jobs. */
static int start_pieces(run *r, bool dbl, size_t total) {
    ent_overlap *o = r->ov;
    size_t k = ENT_OVERLAP_PIECES, step = (total + k - 1) / k;
    for (size_t i = 0; i < k; i++) {
        size_t from = i * step, to = from + step > total ? total : from + step;
        if (from >= to)
            break;
        piece *pc = calloc(1, sizeof(*pc));
        if (pc == NULL)
            return ENT_ENOMEM;
        pc->r = r;
        pc->dbl = dbl;
        pc->from = from;
        pc->to = to;
        pc->w.data = pc;
        if (uv_queue_work(o->loop, &pc->w, piece_work, piece_done) != 0) {
            free(pc);
            return ENT_EIO;
        }
        o->jobs++;
        if (dbl)
            r->double_out++;
        else
            r->blind_out++;
    }
    if (!dbl && r->blind_out == 0)
        r->blinded = true;
    if (dbl && r->double_out == 0)
        r->doubled = true;
    return ENT_OK;
}

/* ---- failing, finishing ------------------------------------------------- */

static void run_fail(run *r, int code, const char *why, bool tell) {
    if (r->dead)
        return;
    if (tell)
        send_msg(r, K_REFUSE, (uint64_t)code, 0, (const uint8_t *)why,
                 strlen(why));
    char hex[ENT_ORG_ID_LEN + 1];
    ent_org_id_format(hex, r->org);
    ENT_WARN(r->ov->log, "overlap: run %s with %.12s failed: %s", r->hex, hex,
             why);
    run_log(r, why, NULL, NULL, 0, false);
    status_set(r, "failed", why);
    r->dead = true;
}

static int cmp_tag(const void *a, const void *b) {
    return memcmp(a, b, ENT_PSI_TAG_LEN);
}

/* Partner flags of own key i (level flags), or 0. */
static uint32_t their_flags_of(run *r, size_t i) {
    uint8_t tag[ENT_PSI_TAG_LEN];
    if (r->level < ENT_OVERLAP_FLAGS || r->theirs == NULL)
        return 0;
    ent_psi_tag_own(r->psi, i, r->id, tag);
    const uint8_t *e = bsearch(tag, r->theirs, r->ntheirs, FLAG_ENTRY, cmp_tag);
    return e != NULL ? (e[ENT_PSI_TAG_LEN] & r->flags) : 0;
}

typedef struct res_ctx {
    run *r;
    json_t *accts;
    int rc;
} res_ctx;

static int res_fn(ent_txn *txn, void *data) {
    res_ctx *c = data;
    run *r = c->r;
    for (size_t i = 0; i < r->n; i++) {
        if (!r->which[i])
            continue;
        ent_account a;
        if (ent_accounts_get(txn, r->keys[i], &a) != ENT_OK)
            continue; /* removed since */
        json_t *o = ent_account_json(&a);
        if (o == NULL)
            return ENT_ENOMEM;
        if (r->level >= ENT_OVERLAP_FLAGS)
            json_object_set_new(o, "partner_flags",
                                ent_account_flags_json(their_flags_of(r, i)));
        if (json_array_append_new(c->accts, o) != 0)
            return ENT_ENOMEM;
    }
    return ENT_OK;
}

/* Counts per segment: (my flag or "any") x (their flag or "any"). */
static json_t *segments(run *r) {
    static const char *const fl[] = {"customer", "prospect", "opportunity",
                                     "any"};
    size_t cnt[4][4];
    memset(cnt, 0, sizeof(cnt));
    for (size_t i = 0; i < r->n; i++) {
        if (!r->which[i])
            continue;
        uint32_t t = their_flags_of(r, i);
        for (int a = 0; a < 4; a++) {
            if (a < 3 && !(r->aflags[i] & (1u << a)))
                continue;
            for (int b = 0; b < 4; b++)
                if (b == 3 || (t & (1u << b)))
                    cnt[a][b]++;
        }
    }
    json_t *arr = json_array();
    for (int a = 0; arr != NULL && a < 4; a++)
        for (int b = 0; b < 4; b++) {
            if (b < 3 && r->level < ENT_OVERLAP_FLAGS)
                continue;
            if (b < 3 && !(r->flags & (1u << b)))
                continue;
            json_array_append_new(arr,
                                  json_pack("{s:s,s:s,s:I}", "mine", fl[a],
                                            "partner", fl[b], "count",
                                            (json_int_t)cnt[a][b]));
        }
    return arr;
}

/* How many matches changed since the previous result (§7, churn). */
static size_t churn(run *r, json_t *prev, size_t *den) {
    json_t *pa = json_object_get(prev, "accounts");
    size_t pcount = (size_t)json_integer_value(json_object_get(prev,
                                                               "matches"));
    *den = pcount > r->count ? pcount : r->count;
    if (!json_is_array(pa) || r->level < ENT_OVERLAP_ACCOUNTS)
        return pcount > r->count ? pcount - r->count : r->count - pcount;
    /* our keys are in key order (the scan), so a binary search finds a
     * previous match among the current ones */
    size_t same = 0, i;
    json_t *x;
    json_array_foreach(pa, i, x) {
        const char *key = json_string_value(json_object_get(x, "key"));
        size_t lo = 0, hi = r->n;
        while (key != NULL && lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = strcmp(r->keys[mid], key);
            if (c == 0) {
                same += r->which[mid];
                break;
            }
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    return (json_array_size(pa) - same) + (r->count - same);
}

typedef struct base_ctx {
    run *r;
    uint8_t *base;
} base_ctx;

static int base_fn(ent_txn *txn, void *data) {
    base_ctx *c = data;
    uint8_t salt[32], h[ENT_HASH_LEN];
    int rc = ent__ovl_salt_get(txn, salt, true);
    if (rc != ENT_OK)
        return rc;
    for (size_t i = 0; i < c->r->n; i++) {
        ent_hash2(h, salt, 32, c->r->keys[i], c->r->lens[i]);
        memcpy(c->base + i * 8, h, 8);
    }
    ent_wipe(salt, sizeof(salt));
    return ENT_OK;
}

static void run_finish(run *r) {
    ent_overlap *o = r->ov;
    char org[ENT_ORG_ID_LEN + 1];
    json_t *res = NULL;
    char *text = NULL;
    uint8_t *base = NULL;
    int rc = ENT_ENOMEM;
    ent_org_id_format(org, r->org);
    res = json_pack("{s:s,s:s,s:I,s:s,s:s,s:o,s:I,s:I,s:I,s:I}", "run",
                    r->hex, "partner", org, "at_ms", (json_int_t)ent__ovl_wall_ms(),
                    "role", r->initiator ? "initiator" : "responder", "level",
                    ent_overlap_level_name(r->level), "flags_revealed",
                    ent_account_flags_json(r->level >= ENT_OVERLAP_FLAGS
                                               ? r->flags
                                               : 0),
                    "mine", (json_int_t)r->n, "mine_bucket",
                    (json_int_t)ent_psi_size(r->psi), "partner_bucket",
                    (json_int_t)r->their_m, "matches", (json_int_t)r->count);
    if (res == NULL)
        goto out;
    if (r->level >= ENT_OVERLAP_ACCOUNTS) {
        res_ctx rc2 = {r, json_array(), ENT_OK};
        if (rc2.accts == NULL ||
            json_object_set_new(res, "accounts", rc2.accts) != 0 ||
            (rc = ent_store_read(o->store, res_fn, &rc2)) != ENT_OK)
            goto out;
        json_object_set_new(res, "segments", segments(r));
    }
    /* churn of the matches against the last result (§7) */
    prev_ctx pc = {r->org, NULL};
    bool suspend = false;
    size_t den = 0, ch = 0;
    if (ent_store_read(o->store, ent__ovl_prev_fn, &pc) == ENT_OK && pc.res != NULL) {
        ch = churn(r, pc.res, &den);
        suspend = ch > ENT_OVERLAP_CHURN_FLOOR &&
                  ch * 100 > den * o->lim.change_pct;
        json_decref(pc.res);
    }
    if (suspend)
        json_object_set_new(res, "suspended", json_true());
    if ((text = json_dumps(res, JSON_COMPACT)) == NULL)
        goto out;
    base = malloc(r->n ? r->n * 8 : 1);
    base_ctx bc = {r, base};
    if (base == NULL || (rc = ent_store_write(o->store, base_fn, &bc)) != ENT_OK)
        goto out;
    qsort(base, r->n, 8, ent__ovl_cmp8);
    run_log(r, suspend ? "ok, then suspended: matches changed too much"
                       : NULL,
            text, base, r->n, suspend);
    ENT_INFO(o->log, "overlap: run %s with %.12s done: level %s, %zu matches",
             r->hex, org, ent_overlap_level_name(r->level), r->count);
    status_set(r, "done", suspend ? "matches changed too much since the last "
                                    "run: runs suspended"
                                  : NULL);
    r->dead = true;
    rc = ENT_OK;
out:
    if (rc != ENT_OK)
        run_fail(r, R_INTERNAL, "internal error", true);
    free(base);
    free(text);
    json_decref(res);
}

/* Our FLAGS entries: tag || our flags (masked) per match, sorted. */
static int make_flags(run *r) {
    r->ftags = malloc(r->count ? r->count * FLAG_ENTRY : 1);
    if (r->ftags == NULL)
        return ENT_ENOMEM;
    r->nf = 0;
    for (size_t i = 0; i < r->n && r->nf < r->count; i++) {
        if (!r->which[i])
            continue;
        uint8_t *e = r->ftags + r->nf * FLAG_ENTRY;
        ent_psi_tag_own(r->psi, i, r->id, e);
        e[ENT_PSI_TAG_LEN] = (uint8_t)(r->aflags[i] & r->flags);
        r->nf++;
    }
    qsort(r->ftags, r->nf, FLAG_ENTRY, cmp_tag);
    return ENT_OK;
}

static void try_match(run *r) {
    if (r->matched || !r->doubled || !ent_psi_returned_full(r->psi))
        return;
    bool ordered = r->level >= ENT_OVERLAP_ACCOUNTS;
    r->which = calloc(r->n ? r->n : 1, sizeof(bool));
    if (r->which == NULL ||
        ent_psi_match(r->psi, &r->count, ordered ? r->which : NULL) !=
            ENT_OK ||
        (r->level >= ENT_OVERLAP_FLAGS && make_flags(r) != ENT_OK)) {
        run_fail(r, R_INTERNAL, "internal error", true);
        return;
    }
    r->matched = true;
}

/* Sends what r may send now, then finishes it when all is done. */
static void pump(run *r) {
    ent_overlap *o = r->ov;
    if (r->dead || r->their_m == 0)
        return;
    int rc = ENT_OK;
    size_t m = ent_psi_size(r->psi);
    while (r->blinded && r->sent_b < m && rc == ENT_OK &&
           ent_peers_queued(o->peers, r->org) < ENT_OVERLAP_QUEUE_MAX) {
        size_t k = m - r->sent_b < PTS_PER_MSG ? m - r->sent_b : PTS_PER_MSG;
        rc = send_msg(r, K_BLINDED, r->sent_b, k,
                      ent_psi_blinded(r->psi) + r->sent_b * PT, k * PT);
        if (rc == ENT_OK)
            r->sent_b += k;
    }
    const uint8_t *d =
        r->doubled ? ent_psi_doubled(r->psi, r->level == ENT_OVERLAP_COUNTS)
                   : NULL;
    while (d != NULL && r->sent_d < r->their_m && rc == ENT_OK &&
           ent_peers_queued(o->peers, r->org) < ENT_OVERLAP_QUEUE_MAX) {
        size_t left = r->their_m - r->sent_d;
        size_t k = left < PTS_PER_MSG ? left : PTS_PER_MSG;
        rc = send_msg(r, K_DOUBLED, r->sent_d, k, d + r->sent_d * PT, k * PT);
        if (rc == ENT_OK)
            r->sent_d += k;
    }
    while (r->matched && r->level >= ENT_OVERLAP_FLAGS && !r->flags_sent &&
           rc == ENT_OK &&
           ent_peers_queued(o->peers, r->org) < ENT_OVERLAP_QUEUE_MAX) {
        size_t left = r->nf - r->sent_f;
        size_t k = left < FLAGS_PER_MSG ? left : FLAGS_PER_MSG;
        rc = send_msg(r, K_FLAGS, r->sent_f, r->nf,
                      r->ftags + r->sent_f * FLAG_ENTRY, k * FLAG_ENTRY);
        if (rc == ENT_OK) {
            r->sent_f += k;
            r->flags_sent = r->sent_f == r->nf;
        }
    }
    if (rc == ENT_ECLOSED) {
        run_fail(r, R_INTERNAL, "the session with the partner closed", false);
        return;
    }
    bool theirs_done = r->level < ENT_OVERLAP_FLAGS ||
                       (r->theirs_begun && r->ntheirs == r->their_total);
    if (r->matched && r->sent_d == r->their_m &&
        (r->level < ENT_OVERLAP_FLAGS || r->flags_sent) && theirs_done) {
        if (r->level >= ENT_OVERLAP_FLAGS)
            qsort(r->theirs, r->ntheirs, FLAG_ENTRY, cmp_tag);
        run_finish(r);
    }
}

/* ---- starting a run (both sides) ------------------------------------------ */

/* A new run with org: share, limits and our set read and checked (§7),
 * blinding started. On failure err says why and *code the REFUSE code. */
static int run_new(ent_overlap *o, const uint8_t org[32], const uint8_t id[16],
                   bool initiator, run **out, int *code, char *err,
                   size_t errlen) {
    *out = NULL;
    *code = R_INTERNAL;
    if (o->nruns >= ENT_OVERLAP_MAX_RUNS) {
        snprintf(err, errlen, "%d runs are going on already",
                 ENT_OVERLAP_MAX_RUNS);
        *code = R_BUSY;
        return ENT_ELIMIT;
    }
    if (run_find(o, org) != NULL) {
        snprintf(err, errlen, "a run with this partner is going on");
        *code = R_BUSY;
        return ENT_EBUSY;
    }
    run *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return ENT_ENOMEM;
    r->ov = o;
    memcpy(r->org, org, 32);
    memcpy(r->id, id, 16);
    ent_hex_encode(r->hex, id, 16);
    r->initiator = initiator;
    r->started = r->last_progress = uv_now(o->loop);
    prep_ctx pc;
    memset(&pc, 0, sizeof(pc));
    pc.r = r;
    pc.err = err;
    pc.errlen = errlen;
    err[0] = '\0';
    int rc = ent_store_read(o->store, prep_fn, &pc);
    if (rc != ENT_OK) {
        *code = rc == ENT_EDENIED  ? (pc.s.suspended ? R_SUSPENDED
                                                      : R_NOT_SHARED)
                : rc == ENT_ELIMIT ? (pc.l.runs >= o->lim.runs_per_day
                                          ? R_LIMIT
                                          : R_CHANGED)
                                   : R_INTERNAL;
        if (err[0] == '\0')
            snprintf(err, errlen, "%s", ent_strerror(rc));
        run_free(r);
        return rc;
    }
    r->level = r->mine.level;
    if ((rc = ent_psi_run_new(&r->psi, r->n)) != ENT_OK ||
        (rc = ent_psi_returned_begin(r->psi)) != ENT_OK) {
        snprintf(err, errlen, "%s", ent_strerror(rc));
        run_free(r);
        return rc;
    }
    r->next = o->runs;
    o->runs = r;
    o->nruns++;
    if ((rc = start_pieces(r, false, ent_psi_size(r->psi))) != ENT_OK) {
        snprintf(err, errlen, "%s", ent_strerror(rc));
        r->dead = true;
        reap(o);
        return rc;
    }
    if (!uv_is_active((uv_handle_t *)&o->timer))
        uv_timer_start(&o->timer, on_timer, 5, 5);
    *out = r;
    return ENT_OK;
}

typedef struct lim_q {
    const uint8_t *org;
    limits_rec *l;
} lim_q;

static int lim_fn(ent_txn *txn, void *data) {
    lim_q *q = data;
    return ent__ovl_limits_get(txn, q->org, q->l);
}

/* The partner's level, flags and bucket (OPEN, ACCEPT): the effective
 * level (the lower one; flags: both masks) and the size check of §7. */
static int agree(run *r, uint64_t a, uint64_t b, int *code, char *err,
                 size_t errlen) {
    limits_rec l;
    r->their_level = (uint32_t)(a & 0xff);
    r->their_flags = (uint32_t)((a >> 8) & ENT_ACCOUNT_FLAGS_ALL);
    if (r->their_level > 3 || (a >> 16) != 0 || b > SIZE_MAX ||
        !ent_psi_bucket_valid((size_t)b)) {
        snprintf(err, errlen, "the partner sent an invalid level or size");
        *code = R_PROTO;
        return ENT_EPROTO;
    }
    r->level = r->mine.level < (int)r->their_level ? r->mine.level
                                                   : (int)r->their_level;
    r->flags = r->mine.flags & r->their_flags;
    if (r->level == ENT_OVERLAP_FLAGS && r->flags == 0)
        r->level = ENT_OVERLAP_ACCOUNTS;
    if (r->level == ENT_OVERLAP_NONE) {
        snprintf(err, errlen, "the partner shares nothing with this org");
        *code = R_NOT_SHARED;
        return ENT_EDENIED;
    }
    lim_q q = {r->org, &l};
    int rc = ent_store_read(r->ov->store, lim_fn, &q);
    if (rc != ENT_OK) {
        snprintf(err, errlen, "%s", ent_strerror(rc));
        *code = R_INTERNAL;
        return rc;
    }
    r->their_m = (size_t)b;
    /* the partner's padded size against the last run's (buckets are 1/8
     * apart, so this sees changes of the list's size, not of its items) */
    size_t last = l.their_m;
    size_t diff = last > r->their_m ? last - r->their_m : r->their_m - last;
    if (last != 0 && diff * 100 > last * r->ov->lim.change_pct) {
        snprintf(err, errlen,
                 "the partner's list changed size from about %zu to %zu since "
                 "the last run (limit %u%%)",
                 last, r->their_m, r->ov->lim.change_pct);
        *code = R_SIZE;
        r->their_m = 0;
        return ENT_ELIMIT;
    }
    if ((rc = ent_psi_partner_begin(r->psi, r->their_m)) != ENT_OK) {
        snprintf(err, errlen, "%s", ent_strerror(rc));
        *code = R_INTERNAL;
        r->their_m = 0;
        return rc;
    }
    return ENT_OK;
}

/* REFUSE without a run (busy, not shared...): run id of the request. */
static void refuse_bare(ent_overlap *o, const uint8_t org[32],
                        const uint8_t id[16], int code, const char *why) {
    ent_wire_overlap m;
    memset(&m, 0, sizeof(m));
    m.kind = K_REFUSE;
    memcpy(m.run, id, 16);
    m.a = (uint64_t)code;
    m.data = (uint8_t *)why;
    m.len = strlen(why);
    ent_peers_overlap_send(o->peers, org, &m);
}

static void on_open(ent_overlap *o, const uint8_t org[32],
                    const ent_wire_overlap *m) {
    char err[200];
    int code;
    run *r = NULL;
    if (m->len != 0) {
        refuse_bare(o, org, m->run, R_PROTO, "OPEN carries no data");
        return;
    }
    int rc = run_new(o, org, m->run, false, &r, &code, err, sizeof(err));
    if (rc != ENT_OK) {
        /* refused before anything was computed: logged all the same */
        run tmp;
        memset(&tmp, 0, sizeof(tmp));
        tmp.ov = o;
        memcpy(tmp.org, org, 32);
        memcpy(tmp.id, m->run, 16);
        ent_hex_encode(tmp.hex, m->run, 16);
        tmp.their_m = ent_psi_bucket_valid((size_t)m->b) ? (size_t)m->b : 0;
        if (code != R_BUSY) {
            run_log(&tmp, err, NULL, NULL, 0, false);
            status_set(&tmp, "failed", err);
        }
        refuse_bare(o, org, m->run, code, err);
        return;
    }
    if (agree(r, m->a, m->b, &code, err, sizeof(err)) != ENT_OK) {
        run_fail(r, code, err, true);
        reap(o);
        return;
    }
    ent_store_write(o->store, count_fn, r->org);
    status_set(r, "running", NULL);
    send_msg(r, K_ACCEPT,
             (uint64_t)r->mine.level | (uint64_t)r->mine.flags << 8,
             ent_psi_size(r->psi), NULL, 0);
    pump(r);
}

static void on_message(void *data, const uint8_t org[32],
                       const struct ent_wire_overlap *m) {
    ent_overlap *o = data;
    char err[200];
    int code;
    if (o->stopping)
        return;
    if (m->kind == K_OPEN) {
        on_open(o, org, m);
        return;
    }
    run *r = run_find(o, org);
    if (r == NULL || memcmp(r->id, m->run, 16) != 0)
        return; /* a run that ended (or never was): ignored */
    r->last_progress = uv_now(o->loop);
    switch (m->kind) {
    case K_ACCEPT:
        if (!r->initiator || r->their_m != 0 || m->len != 0) {
            run_fail(r, R_PROTO, "unexpected ACCEPT", true);
            break;
        }
        if (agree(r, m->a, m->b, &code, err, sizeof(err)) != ENT_OK) {
            run_fail(r, code, err, true);
            break;
        }
        ent_store_write(o->store, count_fn, r->org);
        break;
    case K_REFUSE: {
        char why[120];
        size_t n = m->len < sizeof(why) - 1 ? m->len : sizeof(why) - 1;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) /* printable ASCII only */
            why[k++] = m->data[i] >= 0x20 && m->data[i] < 0x7f
                           ? (char)m->data[i]
                           : '?';
        why[k] = '\0';
        snprintf(err, sizeof(err), "refused by the partner: %s", why);
        run_fail(r, 0, err, false);
        break;
    }
    case K_BLINDED:
        if (r->their_m == 0 || m->len != m->b * PT ||
            ent_psi_partner_put(r->psi, m->a, m->data, m->b) != ENT_OK) {
            run_fail(r, R_PROTO, "bad BLINDED", true);
            break;
        }
        if (ent_psi_partner_full(r->psi) &&
            start_pieces(r, true, r->their_m) != ENT_OK)
            run_fail(r, R_INTERNAL, "internal error", true);
        break;
    case K_DOUBLED:
        if (r->their_m == 0 || m->len != m->b * PT ||
            ent_psi_returned_put(r->psi, m->a, m->data, m->b) != ENT_OK) {
            run_fail(r, R_PROTO, "bad DOUBLED", true);
            break;
        }
        try_match(r);
        break;
    case K_FLAGS:
        /* a: offset, b: total entries (at most our own padded size) */
        if (r->level < ENT_OVERLAP_FLAGS || m->len % FLAG_ENTRY != 0 ||
            m->b > ent_psi_size(r->psi) ||
            (r->theirs_begun && m->b != r->their_total) ||
            m->a != r->ntheirs || m->len / FLAG_ENTRY > m->b - m->a) {
            run_fail(r, R_PROTO, "bad FLAGS", true);
            break;
        }
        if (!r->theirs_begun) {
            r->theirs_begun = true;
            r->their_total = (size_t)m->b;
            r->theirs = malloc(m->b ? m->b * FLAG_ENTRY : 1);
            if (r->theirs == NULL) {
                run_fail(r, R_INTERNAL, "internal error", true);
                break;
            }
        }
        if (m->len > 0)
            memcpy(r->theirs + r->ntheirs * FLAG_ENTRY, m->data, m->len);
        r->ntheirs += m->len / FLAG_ENTRY;
        break;
    default:
        run_fail(r, R_PROTO, "unknown OVERLAP kind", true);
        break;
    }
    if (!r->dead)
        pump(r);
    reap(o);
}

static void on_session(void *data, const uint8_t org[32], bool open) {
    ent_overlap *o = data;
    run *r = open ? NULL : run_find(o, org);
    if (r != NULL) {
        run_fail(r, R_INTERNAL, "the session with the partner closed", false);
        reap(o);
    }
}

static void on_timer(uv_timer_t *t) {
    ent_overlap *o = t->data;
    uint64_t now = uv_now(o->loop);
    for (run *r = o->runs; r != NULL; r = r->next) {
        if (r->dead)
            continue;
        if (now - r->last_progress > ENT_OVERLAP_TIMEOUT_MS)
            run_fail(r, R_TIMEOUT, "timed out", true);
        else
            pump(r);
    }
    reap(o);
    if (o->runs == NULL)
        uv_timer_stop(&o->timer);
}

/* ---- the public side --------------------------------------------------- */

int ent_overlap_new(ent_overlap **out, ent_node *n) {
    ent_overlap *o = calloc(1, sizeof(*o));
    *out = NULL;
    if (o == NULL)
        return ENT_ENOMEM;
    o->node = n;
    o->peers = ent_node_peers(n);
    o->store = ent_node_store(n);
    o->log = ent_node_log(n);
    o->loop = ent_node_loop(n);
    o->lim.runs_per_day = ENT_OVERLAP_RUNS_PER_DAY;
    o->lim.change_pct = ENT_OVERLAP_CHANGE_PCT;
    const char *v = getenv("ENTENTE_OVERLAP_RUNS_PER_DAY");
    if (v != NULL && atoi(v) > 0 && atoi(v) <= 100000)
        o->lim.runs_per_day = (uint32_t)atoi(v);
    *out = o;
    return ENT_OK;
}

int ent_overlap_start(ent_overlap *o) {
    o->peers = ent_node_peers(o->node);
    if (o->peers == NULL)
        return ENT_ENOENT;
    if (uv_timer_init(o->loop, &o->timer) != 0)
        return ENT_EIO;
    o->timer.data = o;
    o->timer_open = true;
    ent_peers_ext ext = {.on_overlap = on_message,
                         .on_session = on_session,
                         .data = o};
    ent_peers_set_ext(o->peers, &ext);
    o->started = true;
    return ENT_OK;
}

static void timer_closed(uv_handle_t *h) {
    ent_overlap *o = h->data;
    o->timer_open = false;
    reap(o);
}

void ent_overlap_stop(ent_overlap *o, void (*done)(void *arg), void *arg) {
    if (o == NULL || !o->started) {
        if (done != NULL)
            done(arg);
        return;
    }
    o->stopping = true;
    o->stop_done = done;
    o->stop_arg = arg;
    ent_peers_set_ext(o->peers, NULL);
    for (run *r = o->runs; r != NULL; r = r->next)
        if (!r->dead) {
            status_set(r, "failed", "the node stopped");
            r->dead = true;
        }
    uv_close((uv_handle_t *)&o->timer, timer_closed);
}

void ent_overlap_free(ent_overlap *o) {
    if (o == NULL)
        return;
    while (o->runs != NULL) {
        run *r = o->runs;
        o->runs = r->next;
        run_free(r);
    }
    while (o->statuses != NULL) {
        status *s = o->statuses;
        o->statuses = s->next;
        free(s);
    }
    free(o);
}

void ent_overlap_set_limits(ent_overlap *o, const ent_overlap_limits *l) {
    if (l->runs_per_day)
        o->lim.runs_per_day = l->runs_per_day;
    if (l->change_pct)
        o->lim.change_pct = l->change_pct;
}

int ent_overlap_share(ent_overlap *o, const uint8_t org[32], int level,
                      uint32_t population, uint32_t flags) {
    if (level < 0 || level > 3 || (population & ~ENT_ACCOUNT_FLAGS_ALL) ||
        (flags & ~ENT_ACCOUNT_FLAGS_ALL))
        return ENT_EINVAL;
    if (o->peers == NULL || !ent_peers_is_partner(o->peers, org))
        return ENT_ENOENT;
    share s = {.level = level, .population = population, .flags = flags};
    log_ctx c;
    memset(&c, 0, sizeof(c));
    c.org = org;
    c.kind = ENT_LOG_OVERLAP_SHARE;
    c.s = &s;
    char pop[64] = "all", fl[64] = "none";
    json_t *pj = ent_account_flags_json(population),
           *fj = ent_account_flags_json(flags);
    size_t i, po = 0, fo = 0;
    json_t *x;
    json_array_foreach(pj, i, x) po += (size_t)snprintf(
        pop + po, sizeof(pop) - po, "%s%s", i ? "," : "", json_string_value(x));
    json_array_foreach(fj, i, x) fo += (size_t)snprintf(
        fl + fo, sizeof(fl) - fo, "%s%s", i ? "," : "", json_string_value(x));
    json_decref(pj);
    json_decref(fj);
    snprintf(c.reason, sizeof(c.reason), "level=%s population=%s flags=%s",
             ent_overlap_level_name(level), pop, fl);
    int rc = ent_store_write(o->store, ent__ovl_log_fn, &c);
    if (rc == ENT_OK && level == ENT_OVERLAP_NONE) {
        run *r = run_find(o, org);
        if (r != NULL) {
            run_fail(r, R_REVOKED, "revoked", true);
            reap(o);
        }
    }
    return rc;
}

int ent_overlap_run(ent_overlap *o, const uint8_t org[32], char hex[33],
                    char *err, size_t errlen) {
    uint8_t id[16];
    int code;
    run *r = NULL;
    hex[0] = '\0';
    if (!o->started || o->stopping) {
        snprintf(err, errlen, "the node is not running");
        return ENT_ECLOSED;
    }
    if (!ent_peers_is_partner(o->peers, org)) {
        snprintf(err, errlen, "not a partner of this org");
        return ENT_ENOENT;
    }
    if (!ent_peers_ready(o->peers, org)) {
        snprintf(err, errlen, "no session with the partner now (is its node "
                              "running?)");
        return ENT_ECLOSED;
    }
    ent_random(id, sizeof(id));
    int rc = run_new(o, org, id, true, &r, &code, err, errlen);
    if (rc != ENT_OK) {
        if (code != R_BUSY) {
            run tmp;
            memset(&tmp, 0, sizeof(tmp));
            tmp.ov = o;
            tmp.initiator = true;
            memcpy(tmp.org, org, 32);
            ent_hex_encode(tmp.hex, id, 16);
            run_log(&tmp, err, NULL, NULL, 0, false);
        }
        return rc;
    }
    memcpy(hex, r->hex, 33);
    status_set(r, "running", NULL);
    rc = send_msg(r, K_OPEN,
                  (uint64_t)r->mine.level | (uint64_t)r->mine.flags << 8,
                  ent_psi_size(r->psi), NULL, 0);
    if (rc != ENT_OK) {
        snprintf(err, errlen, "sending OPEN: %s", ent_strerror(rc));
        run_fail(r, R_INTERNAL, err, false);
        reap(o);
    }
    return rc;
}

typedef struct json_ctx {
    const uint8_t *org;
    share s;
    limits_rec l;
    json_t *result;
} json_ctx;

static int json_fn(ent_txn *txn, void *data) {
    json_ctx *c = data;
    int rc;
    if ((rc = ent__ovl_share_get(txn, c->org, &c->s)) != ENT_OK ||
        (rc = ent__ovl_limits_get(txn, c->org, &c->l)) != ENT_OK)
        return rc;
    prev_ctx pc = {c->org, NULL};
    rc = ent__ovl_prev_fn(txn, &pc);
    c->result = pc.res;
    return rc;
}

int ent_overlap_json(ent_overlap *o, const uint8_t org[32], json_t **out) {
    char hex[ENT_ORG_ID_LEN + 1];
    json_ctx c;
    memset(&c, 0, sizeof(c));
    c.org = org;
    *out = NULL;
    if (o->peers == NULL || !ent_peers_is_partner(o->peers, org))
        return ENT_ENOENT;
    int rc = ent_store_read(o->store, json_fn, &c);
    if (rc != ENT_OK)
        return rc;
    ent_org_id_format(hex, org);
    status *st = status_of(o, org, false);
    json_t *rj = st == NULL ? json_null()
                             : json_pack("{s:s,s:s,s:s?}", "id", st->id,
                                         "state", st->state, "error",
                                         st->error[0] ? st->error : NULL);
    json_t *pop = c.s.population ? ent_account_flags_json(c.s.population)
                                 : json_string("all");
    *out = json_pack("{s:s,s:{s:s,s:o,s:o,s:b},s:I,s:I,s:o,s:o}", "partner",
                     hex, "share", "level",
                     ent_overlap_level_name(c.s.level), "population", pop,
                     "flags", ent_account_flags_json(c.s.flags), "suspended",
                     c.s.suspended, "runs_today", (json_int_t)c.l.runs,
                     "runs_per_day", (json_int_t)o->lim.runs_per_day, "run",
                     rj, "result", c.result ? c.result : json_null());
    return *out != NULL ? ENT_OK : ENT_ENOMEM;
}
