/*
 * report_out.c - the groups of a report (a hash table of key columns),
 * the measures each object adds to them, and the report's JSON and CSV
 * forms (spec/reports.md "Output"). Every figure is exact: integer sums
 * with overflow checks, averages and medians rounded half away from zero
 * in minor units, rates and day counts as decimal strings.
 */
#include "node/reports/report_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/csvcell.h"
#include "node/err.h"
#include "node/objects/value.h"

/* ---- groups -------------------------------------------------------------- */

static uint64_t key_hash(size_t n, const char *const *texts) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        const char *s = texts[i] != NULL ? texts[i] : "";
        h ^= texts[i] != NULL ? 0x5a : 0xa5;
        h *= 1099511628211ull;
        for (; *s; s++) {
            h ^= (unsigned char)*s;
            h *= 1099511628211ull;
        }
        h ^= 0x1f;
        h *= 1099511628211ull;
    }
    return h;
}

static bool key_equal(const rgroup *g, size_t n, const char *const *texts) {
    for (size_t i = 0; i < n; i++) {
        if ((g->text[i] == NULL) != (texts[i] == NULL))
            return false;
        if (texts[i] != NULL && strcmp(g->text[i], texts[i]) != 0)
            return false;
    }
    return true;
}

static int table_grow(rpt *r) {
    size_t ncap = r->tcap ? r->tcap * 2 : 64;
    uint32_t *t = calloc(ncap, sizeof(*t));
    if (t == NULL)
        return ENT_ENOMEM;
    for (size_t i = 0; i < r->ngroups; i++) {
        size_t k = r->groups[i]->hash & (ncap - 1);
        while (t[k] != 0)
            k = (k + 1) & (ncap - 1);
        t[k] = (uint32_t)(i + 1);
    }
    free(r->table);
    r->table = t;
    r->tcap = ncap;
    return ENT_OK;
}

int ent__rpt_group(rpt *r, const char *const *texts, const int *ranks,
                   rgroup **out) {
    uint64_t h = key_hash(r->nby, texts);
    if (r->tcap == 0 && table_grow(r) != ENT_OK)
        return ENT_ENOMEM;
    size_t k = h & (r->tcap - 1);
    for (; r->table[k] != 0; k = (k + 1) & (r->tcap - 1)) {
        rgroup *g = r->groups[r->table[k] - 1];
        if (g->hash == h && key_equal(g, r->nby, texts)) {
            *out = g;
            return ENT_OK;
        }
    }
    if (r->ngroups >= ENT_RPT_GROUPS_MAX)
        return ENT_ELIMIT;
    if (r->ngroups == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 16;
        rgroup **ng = realloc(r->groups, ncap * sizeof(*ng));
        if (ng == NULL)
            return ENT_ENOMEM;
        r->groups = ng;
        r->cap = ncap;
    }
    rgroup *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return ENT_ENOMEM;
    g->hash = h;
    for (size_t i = 0; i < r->nby; i++) {
        g->rank[i] = ranks[i];
        if (texts[i] != NULL && (g->text[i] = strdup(texts[i])) == NULL) {
            for (size_t j = 0; j < i; j++)
                free(g->text[j]);
            free(g);
            return ENT_ENOMEM;
        }
    }
    r->groups[r->ngroups++] = g;
    r->table[k] = (uint32_t)r->ngroups;
    if (r->ngroups * 2 > r->tcap && table_grow(r) != ENT_OK)
        return ENT_ENOMEM;
    *out = g;
    return ENT_OK;
}

static void mlist_free(rmlist *l) {
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void group_free_lists(rgroup *g) {
    mlist_free(&g->amt);
    mlist_free(&g->open_amt);
    mlist_free(&g->won_amt);
    for (int k = 0; k < 2; k++) {
        mlist_free(&g->role[k].open_amt);
        mlist_free(&g->role[k].won_amt);
    }
    free(g->wv);
    g->wv = NULL;
}

void ent__rpt_groups_free(rpt *r) {
    for (size_t i = 0; i < r->ngroups; i++) {
        for (size_t c = 0; c < ENT_RPT_BY_MAX; c++)
            free(r->groups[i]->text[c]);
        group_free_lists(r->groups[i]);
        free(r->groups[i]);
    }
    free(r->groups);
    free(r->table);
    group_free_lists(&r->total);
    r->groups = NULL;
    r->table = NULL;
    r->ngroups = r->cap = r->tcap = 0;
}

/* ---- measures ------------------------------------------------------------ */

static int madd(rmlist *l, const char cur[4], int64_t minor) {
    for (size_t i = 0; i < l->n; i++)
        if (memcmp(l->v[i].cur, cur, 3) == 0)
            return __builtin_add_overflow(l->v[i].sum, minor, &l->v[i].sum)
                       ? ENT_ELIMIT
                       : ENT_OK;
    rmoney *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
    if (nv == NULL)
        return ENT_ENOMEM;
    l->v = nv;
    memcpy(nv[l->n].cur, cur, 3);
    nv[l->n].cur[3] = '\0';
    nv[l->n].sum = minor;
    l->n++;
    return ENT_OK;
}

int ent__rpt_add(rpt *r, rgroup *g, int which, const robj *ob) {
    int rc = ENT_OK;
    bool won = ob->state == 1, lost = ob->state == 2, open = ob->state == 0;
    if (r->o->kind == ENT_RPT_ATTRIBUTION) {
        rrole *ro = &g->role[which];
        ro->count++;
        ro->open += open;
        ro->won += won;
        ro->lost += lost;
        if (ob->has_amount && open)
            rc = madd(&ro->open_amt, ob->cur, ob->minor);
        if (rc == ENT_OK && ob->has_amount && won)
            rc = madd(&ro->won_amt, ob->cur, ob->minor);
        return rc;
    }
    g->count++;
    g->open += open;
    g->won += won;
    g->lost += lost;
    if (ob->has_amount) {
        rc = madd(&g->amt, ob->cur, ob->minor);
        if (rc == ENT_OK && open)
            rc = madd(&g->open_amt, ob->cur, ob->minor);
        if (rc == ENT_OK && won)
            rc = madd(&g->won_amt, ob->cur, ob->minor);
    }
    if (rc == ENT_OK && won && ob->has_amount &&
        r->o->kind == ENT_RPT_DEAL_SIZE) {
        if (g->nwv == g->capwv) {
            size_t nc = g->capwv ? g->capwv * 2 : 8;
            rwon *nv = realloc(g->wv, nc * sizeof(*nv));
            if (nv == NULL)
                return ENT_ENOMEM;
            g->wv = nv;
            g->capwv = nc;
        }
        memcpy(g->wv[g->nwv].cur, ob->cur, 4);
        g->wv[g->nwv++].minor = ob->minor;
    }
    if (rc == ENT_OK && r->o->kind == ENT_RPT_CYCLE_TIME) {
        for (size_t i = 0; i < r->tpl->stages.n && i < ENT_TPL_MAX_STAGES; i++)
            if (ob->stage_ms[i] >= 0) {
                g->stage_n[i]++;
                if (__builtin_add_overflow(g->stage_sum[i], ob->stage_ms[i],
                                           &g->stage_sum[i]))
                    return ENT_ELIMIT;
            }
        if (ob->close_ms >= 0) {
            g->close_n++;
            if (__builtin_add_overflow(g->close_sum, ob->close_ms,
                                       &g->close_sum))
                return ENT_ELIMIT;
        }
    }
    return rc;
}

/* ---- JSON ---------------------------------------------------------------- */

/* a / b rounded half away from zero (b > 0). */
static int64_t div_round(__int128 a, __int128 b) {
    __int128 q = a / b, rem = a % b;
    if (rem != 0 && (rem < 0 ? -rem : rem) * 2 >= b)
        q += a < 0 ? -1 : 1;
    return (int64_t)q;
}

static json_t *money_json(const char cur[4], int64_t minor) {
    ent_value v;
    json_t *j = NULL;
    memset(&v, 0, sizeof(v));
    v.type = ENT_VT_MONEY;
    memcpy(v.u.money.cur, cur, 3);
    v.u.money.minor = minor;
    if (ent_value_to_json(&v, &j) != ENT_OK)
        return NULL;
    return j;
}

static int cmp_money(const void *a, const void *b) {
    const rmoney *x = a, *y = b;
    return memcmp(x->cur, y->cur, 3);
}

/* [{"amount","currency","minor"}...] in currency order. */
static json_t *mlist_json(rmlist *l) {
    json_t *a = json_array();
    if (l->n > 1)
        qsort(l->v, l->n, sizeof(*l->v), cmp_money);
    for (size_t i = 0; a != NULL && i < l->n; i++)
        if (json_array_append_new(a, money_json(l->v[i].cur, l->v[i].sum)) !=
            0) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

/* A ratio n/d with 4 decimals ("0.6667"), null when d is 0. */
static json_t *ratio_json(uint64_t n, uint64_t d) {
    if (d == 0)
        return json_null();
    int64_t x = div_round((__int128)n * 10000, d);
    char buf[48];
    snprintf(buf, sizeof(buf), "%lld.%04lld", (long long)(x / 10000),
             (long long)(x % 10000));
    return json_string(buf);
}

/* Average days of sum ms over n, one decimal ("12.5"), null when n is 0. */
static json_t *days_json(int64_t sum_ms, uint64_t n) {
    if (n == 0)
        return json_null();
    int64_t tenths = div_round((__int128)sum_ms, (__int128)n * 8640000);
    char buf[48];
    snprintf(buf, sizeof(buf), "%lld.%lld", (long long)(tenths / 10),
             (long long)(tenths % 10));
    return json_string(buf);
}

static int cmp_won(const void *a, const void *b) {
    const rwon *x = a, *y = b;
    int c = memcmp(x->cur, y->cur, 3);
    if (c != 0)
        return c;
    return x->minor < y->minor ? -1 : x->minor > y->minor;
}

/* deal-size: average and median won amount per currency. */
static int deal_json(rgroup *g, json_t *o) {
    json_t *avg = json_array(), *med = json_array();
    if (avg == NULL || med == NULL) {
        json_decref(avg);
        json_decref(med);
        return ENT_ENOMEM;
    }
    if (g->nwv > 1)
        qsort(g->wv, g->nwv, sizeof(*g->wv), cmp_won);
    for (size_t i = 0; i < g->nwv;) {
        size_t j = i;
        __int128 sum = 0;
        while (j < g->nwv && memcmp(g->wv[j].cur, g->wv[i].cur, 3) == 0)
            sum += g->wv[j++].minor;
        size_t n = j - i;
        int64_t m = n % 2 ? g->wv[i + n / 2].minor
                          : div_round((__int128)g->wv[i + n / 2 - 1].minor +
                                          g->wv[i + n / 2].minor,
                                      2);
        json_array_append_new(avg,
                              money_json(g->wv[i].cur, div_round(sum, n)));
        json_array_append_new(med, money_json(g->wv[i].cur, m));
        i = j;
    }
    json_object_set_new(o, "average", avg);
    json_object_set_new(o, "median", med);
    return ENT_OK;
}

static json_t *role_json(rrole *ro) {
    return json_pack("{s:I,s:I,s:I,s:I,s:o,s:o}", "count",
                     (json_int_t)ro->count, "open", (json_int_t)ro->open,
                     "won", (json_int_t)ro->won, "lost", (json_int_t)ro->lost,
                     "pipeline", mlist_json(&ro->open_amt), "revenue",
                     mlist_json(&ro->won_amt));
}

/* The name this report prints for stage i: the org's own, else the
 * template's. */
static const char *stage_name(const rpt *r, size_t i) {
    const char *s = r->tpl->stages.v[i];
    const char *own = ent_fieldmap_own_value(r->fm, ENT_TPL_STAGE_FIELD, s,
                                             strlen(s));
    return own != NULL ? own : s;
}

/* The measures of g for the report's kind. */
static json_t *measures_json(rpt *r, rgroup *g) {
    json_t *o = NULL;
    switch (r->o->kind) {
    case ENT_RPT_PIPELINE:
        o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o}", "count",
                      (json_int_t)g->count, "open", (json_int_t)g->open,
                      "closed", (json_int_t)(g->won + g->lost), "won",
                      (json_int_t)g->won, "lost", (json_int_t)g->lost,
                      "amount", mlist_json(&g->amt), "open_amount",
                      mlist_json(&g->open_amt), "won_amount",
                      mlist_json(&g->won_amt));
        break;
    case ENT_RPT_ATTRIBUTION:
        o = json_pack("{s:o,s:o}", "sourced", role_json(&g->role[0]),
                      "influenced", role_json(&g->role[1]));
        break;
    case ENT_RPT_WIN_RATE:
        o = json_pack("{s:I,s:I,s:I,s:o}", "count", (json_int_t)g->count,
                      "won", (json_int_t)g->won, "lost", (json_int_t)g->lost,
                      "win_rate", ratio_json(g->won, g->won + g->lost));
        break;
    case ENT_RPT_DEAL_SIZE:
        o = json_pack("{s:I,s:o}", "won", (json_int_t)g->won, "won_amount",
                      mlist_json(&g->won_amt));
        if (o != NULL && deal_json(g, o) != ENT_OK) {
            json_decref(o);
            o = NULL;
        }
        break;
    default: {
        json_t *st = json_array();
        for (size_t i = 0; st != NULL && i < r->tpl->stages.n &&
                           i < ENT_TPL_MAX_STAGES;
             i++)
            json_array_append_new(
                st, json_pack("{s:s,s:I,s:o}", "stage", stage_name(r, i),
                              "reached", (json_int_t)g->stage_n[i], "avg_days",
                              days_json(g->stage_sum[i], g->stage_n[i])));
        o = json_pack("{s:I,s:o,s:I,s:o}", "count", (json_int_t)g->count,
                      "stages", st, "closed", (json_int_t)g->close_n,
                      "avg_days_to_close", days_json(g->close_sum, g->close_n));
    }
    }
    return o;
}

/* Key columns in order: rank (a stage's place, text, null last), then
 * text. qsort_r (glibc) passes the report. */
static int cmp_groups(const void *pa, const void *pb, void *data) {
    const rpt *r = data;
    const rgroup *a = *(rgroup *const *)pa, *b = *(rgroup *const *)pb;
    for (size_t i = 0; i < r->nby; i++) {
        if (a->rank[i] != b->rank[i])
            return a->rank[i] < b->rank[i] ? -1 : 1;
        if (a->text[i] != NULL && b->text[i] != NULL) {
            int c = strcmp(a->text[i], b->text[i]);
            if (c != 0)
                return c;
        }
    }
    return 0;
}

/* The key texts of field columns in the org's own values (its field map),
 * before the groups are sorted: the report speaks the org's language. */
static int own_values(rpt *r) {
    for (size_t c = 0; r->fm != NULL && c < r->nby; c++) {
        if (r->by[c].kind != BY_FIELD || r->by[c].slot < 0 ||
            !ent_fieldmap_has_values(r->fm, r->slots[r->by[c].slot].name))
            continue;
        const char *field = r->slots[r->by[c].slot].name;
        for (size_t i = 0; i < r->ngroups; i++) {
            rgroup *g = r->groups[i];
            const char *own =
                g->text[c] == NULL
                    ? NULL
                    : ent_fieldmap_own_value(r->fm, field, g->text[c],
                                             strlen(g->text[c]));
            char *t = own != NULL ? strdup(own) : NULL;
            if (own != NULL && t == NULL)
                return ENT_ENOMEM;
            if (t != NULL) {
                free(g->text[c]);
                g->text[c] = t;
            }
        }
    }
    return ENT_OK;
}

int ent__rpt_json(rpt *r, json_t **out) {
    json_t *o = NULL, *groups = json_array(), *by = json_array(),
           *cur = NULL;
    int rc = ENT_ENOMEM;
    if (groups == NULL || by == NULL)
        goto out;
    for (size_t i = 0; i < r->nby; i++)
        json_array_append_new(by, json_string(r->by[i].label));
    if (own_values(r) != ENT_OK)
        goto out;
    if (r->ngroups > 1)
        qsort_r(r->groups, r->ngroups, sizeof(*r->groups), cmp_groups, r);
    for (size_t i = 0; i < r->ngroups; i++) {
        rgroup *g = r->groups[i];
        json_t *key = json_object(), *m = measures_json(r, g);
        for (size_t c = 0; key != NULL && c < r->nby; c++)
            json_object_set_new(key, r->by[c].label,
                                g->text[c] ? json_string(g->text[c])
                                           : json_null());
        if (key == NULL || m == NULL || json_object_set_new(m, "key", key)) {
            json_decref(m);
            goto out;
        }
        if (json_array_append_new(groups, m) != 0)
            goto out;
    }
    if (r->cur[0] != '\0') {
        json_t *rates = json_object();
        for (size_t i = 0; rates != NULL && i < r->nrates; i++)
            if (r->rates[i].used) {
                char pair[8];
                snprintf(pair, sizeof(pair), "%s/%s", r->rates[i].from,
                         r->rates[i].to);
                json_object_set_new(rates, pair,
                                    json_string(r->rates[i].text));
            }
        cur = json_pack("{s:s,s:s,s:o}", "mode", "converted", "to", r->cur,
                        "rates", rates ? rates : json_object());
    } else {
        cur = json_pack("{s:s}", "mode", "per_currency");
    }
    json_t *total = measures_json(r, &r->total);
    o = json_pack("{s:s,s:s,s:o,s:o,s:o,s:b,s:I,s:o,s:o}", "report",
                  ent_rpt_kind_name(r->o->kind), "type", r->tpl->type, "by",
                  by, "where",
                  r->o->where ? json_string(r->o->where) : json_null(),
                  "currency", cur, "hide_private", r->o->hide_private,
                  "objects", (json_int_t)r->objects, "groups", groups, "total",
                  total);
    by = groups = cur = NULL;
    if (o == NULL)
        goto out;
    if (r->has_from || r->has_to) {
        json_object_set_new(o, "date", json_string(r->datef));
        json_object_set_new(o, "from", r->has_from ? json_string(r->o->from)
                                                   : json_null());
        json_object_set_new(o, "to",
                            r->has_to ? json_string(r->o->to) : json_null());
    }
    *out = o;
    rc = ENT_OK;
out:
    json_decref(groups);
    json_decref(by);
    json_decref(cur);
    return rc;
}

/* ---- CSV ----------------------------------------------------------------- */

/* Flattens a group's measures into cells: scalars as they are, money
 * lists as "NAME CUR", nested objects as "NAME_SUB", stage lists as
 * "days to STAGE" / "reached STAGE". */
static void flatten(json_t *cells, const char *prefix, json_t *v) {
    const char *k;
    json_t *x;
    char name[512];
    json_object_foreach(v, k, x) {
        if (strcmp(k, "key") == 0)
            continue;
        snprintf(name, sizeof(name), "%s%s%s", prefix, prefix[0] ? "_" : "",
                 k);
        if (json_is_object(x)) {
            flatten(cells, name, x);
        } else if (json_is_array(x)) {
            size_t i;
            json_t *e;
            json_array_foreach(x, i, e) {
                char col[600];
                const char *stage = json_string_value(json_object_get(e,
                                                                      "stage"));
                if (stage != NULL) {
                    snprintf(col, sizeof(col), "reached %s", stage);
                    json_object_set(cells, col, json_object_get(e, "reached"));
                    snprintf(col, sizeof(col), "days_to %s", stage);
                    json_object_set(cells, col,
                                    json_object_get(e, "avg_days"));
                    continue;
                }
                json_t *amt = json_object_get(e, "amount");
                const char *c = json_string_value(json_object_get(e,
                                                                  "currency"));
                if (c == NULL)
                    continue;
                snprintf(col, sizeof(col), "%s %s", name, c);
                if (amt != NULL)
                    json_object_set(cells, col, amt);
                else
                    json_object_set(cells, col, json_object_get(e, "minor"));
            }
        } else {
            json_object_set(cells, name, x);
        }
    }
}

typedef struct sbuf {
    char *s;
    size_t n, cap;
    bool bad;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->bad)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (b->n + n + 1 > nc)
            nc *= 2;
        char *ns = realloc(b->s, nc);
        if (ns == NULL) {
            b->bad = true;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

/* One CSV field: quoted when it holds a comma, quote, CR or LF; one
 * apostrophe in front of what a spreadsheet would run as a formula
 * (node/csvcell.h). */
static void sb_field(sbuf *b, const char *s) {
    bool guard = ent_csv_formula(s, strlen(s));
    if (strpbrk(s, ",\"\r\n") == NULL) {
        if (guard)
            sb_put(b, "'", 1);
        sb_put(b, s, strlen(s));
        return;
    }
    sb_put(b, "\"", 1);
    if (guard)
        sb_put(b, "'", 1);
    for (; *s; s++) {
        sb_put(b, s, 1);
        if (*s == '"') /* a quote is doubled */
            sb_put(b, "\"", 1);
    }
    sb_put(b, "\"", 1);
}

/* A cell's text as a new JSON string: the whole of a string value (a text
 * key may hold 4,096 bytes: no fixed buffer cuts it, or splits a UTF-8
 * character), an integer in decimal, else empty. NULL: out of memory. */
static json_t *cell_text(const json_t *v) {
    char buf[32];
    if (json_is_string(v))
        return json_stringn(json_string_value(v), json_string_length(v));
    if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        return json_string(buf);
    }
    return json_string("");
}

/* The measure a column belongs to: its name up to the first space. */
static size_t base_len(const char *s) { return strcspn(s, " "); }

/* True if column s is a money column: "MEASURE CUR". */
static bool is_cur_col(const char *s) {
    const char *sp = strchr(s, ' ');
    return sp != NULL && strlen(sp + 1) == 3 && sp[1] >= 'A' && sp[1] <= 'Z';
}

/* Orders columns so that those of one measure ("amount USD", "amount
 * EUR"; "days_to Proposal", "days_to Solution") stand together, at the
 * place of the measure's first column: currencies in code order, stages
 * in the order they came (the template's). Insertion sort: a report has
 * few columns. */
static void order_columns(json_t *cols) {
    size_t n = json_array_size(cols);
    for (size_t i = 1; i < n; i++) {
        const char *s = json_string_value(json_array_get(cols, i));
        size_t bl = base_len(s), at = i;
        bool cur = is_cur_col(s);
        for (size_t k = 0; k < i; k++) {
            const char *t = json_string_value(json_array_get(cols, k));
            if (base_len(t) == bl && strncmp(s, t, bl) == 0) {
                if (cur && is_cur_col(t) && strcmp(s, t) < 0) {
                    at = k;
                    break;
                }
                at = k + 1; /* after the last column of the same measure */
            }
        }
        if (at != i) {
            json_t *v = json_incref(json_array_get(cols, i));
            json_array_remove(cols, i);
            json_array_insert_new(cols, at, v);
        }
    }
}

int ent_report_table(const json_t *report, json_t **out) {
    const json_t *groups = json_object_get(report, "groups");
    const json_t *by = json_object_get(report, "by");
    json_t *rows = json_array(), *cols = json_array(), *seen = json_object(),
           *table = json_array(), *line;
    int rc = ENT_ENOMEM;
    size_t i, j;
    json_t *g, *c;
    *out = NULL;
    if (!json_is_array(groups) || !json_is_array(by)) {
        rc = ENT_EINVAL;
        goto out;
    }
    if (rows == NULL || cols == NULL || seen == NULL || table == NULL)
        goto out;
    for (i = 0; i <= json_array_size(groups); i++) {
        json_t *src = i < json_array_size(groups)
                          ? json_array_get(groups, i)
                          : json_object_get(report, "total");
        json_t *cells = json_object();
        if (cells == NULL || !json_is_object(src)) {
            json_decref(cells);
            rc = cells == NULL ? ENT_ENOMEM : ENT_EINVAL;
            goto out;
        }
        flatten(cells, "", src);
        const char *k;
        json_t *v;
        json_object_foreach(cells, k, v) {
            (void)v;
            if (json_object_get(seen, k) == NULL) {
                json_object_set_new(seen, k, json_true());
                json_array_append_new(cols, json_string(k));
            }
        }
        json_array_append_new(rows, cells);
    }
    order_columns(cols);
    if ((line = json_array()) == NULL)
        goto out;
    json_array_foreach(by, j, c)
        json_array_append_new(line, json_string(json_string_value(c) ?
                                                json_string_value(c) : ""));
    json_array_foreach(cols, j, c) json_array_append(line, c);
    json_array_append_new(table, line);
    json_array_foreach(rows, i, g) {
        bool total = i == json_array_size(groups);
        const json_t *key =
            total ? NULL
                  : json_object_get(json_array_get(groups, i), "key");
        size_t k;
        json_t *bc;
        if ((line = json_array()) == NULL)
            goto out;
        bool ok = true;
        json_array_foreach(by, k, bc) {
            json_t *t = total ? json_string(k == 0 ? "total" : "")
                              : cell_text(json_object_get(
                                    key, json_string_value(bc)));
            ok = json_array_append_new(line, t) == 0 && ok;
        }
        json_array_foreach(cols, j, c) {
            json_t *t = cell_text(json_object_get(g, json_string_value(c)));
            ok = json_array_append_new(line, t) == 0 && ok;
        }
        if (json_array_append_new(table, line) != 0 || !ok)
            goto out; /* out of memory: no row goes short */
    }
    *out = table;
    table = NULL;
    rc = ENT_OK;
out:
    json_decref(table);
    json_decref(rows);
    json_decref(cols);
    json_decref(seen);
    return rc;
}

int ent_report_csv(const json_t *report, char **out) {
    json_t *table = NULL, *line, *cell;
    sbuf b = {0};
    size_t i, j;
    *out = NULL;
    int rc = ent_report_table(report, &table);
    if (rc != ENT_OK)
        return rc;
    json_array_foreach(table, i, line) {
        json_array_foreach(line, j, cell) {
            if (j > 0)
                sb_put(&b, ",", 1);
            sb_field(&b, json_string_value(cell) ? json_string_value(cell)
                                                 : "");
        }
        sb_put(&b, "\r\n", 2);
    }
    json_decref(table);
    if (b.bad || b.s == NULL) {
        free(b.s);
        return ENT_ENOMEM;
    }
    *out = b.s;
    return ENT_OK;
}
