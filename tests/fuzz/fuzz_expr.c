/*
 * fuzz_expr.c - arbitrary bytes as a report expression (spec/reports.md
 * "Expressions").
 *
 * ent_expr_compile() must refuse or accept without crashing, within its
 * bounds; an accepted expression is evaluated over a few object states
 * (every field present, every field absent, values at the edges of their
 * ranges) and must not crash, overflow or read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/reports/expr.h"

#define MAX_INPUT 2048

static const struct {
    const char *name;
    ent_vtype type;
} fields[] = {{"stage", ENT_VT_ENUM},     {"name", ENT_VT_TEXT},
              {"deal_size", ENT_VT_MONEY}, {"close_date", ENT_VT_DATE},
              {"score", ENT_VT_INT},       {"sourced_by", ENT_VT_ORG}};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static bool lookup(void *data, const char *name, size_t len, ent_vtype *type,
                   unsigned *slot) {
    for (size_t i = 0; i < NFIELDS; i++)
        if (strlen(fields[i].name) == len &&
            memcmp(fields[i].name, name, len) == 0) {
            *type = fields[i].type;
            *slot = (unsigned)i;
            return true;
        }
    return false;
}

typedef struct state {
    ent_value v[NFIELDS];
    bool present;
} state;

static const ent_value *slot(void *data, unsigned i) {
    state *s = data;
    return s->present && i < NFIELDS ? &s->v[i] : NULL;
}

static void fill(state *s, int64_t big, int32_t day) {
    memset(s, 0, sizeof(*s));
    s->present = true;
    s->v[0].type = ENT_VT_ENUM;
    s->v[0].u.text.s = (char *)"Closed Won";
    s->v[0].u.text.len = 10;
    s->v[1].type = ENT_VT_TEXT;
    s->v[1].u.text.s = (char *)"";
    s->v[1].u.text.len = 0;
    s->v[2].type = ENT_VT_MONEY;
    s->v[2].u.money.minor = big;
    memcpy(s->v[2].u.money.cur, "USD", 3);
    s->v[3].type = ENT_VT_DATE;
    s->v[3].u.days = day;
    s->v[4].type = ENT_VT_INT;
    s->v[4].u.i = big;
    s->v[5].type = ENT_VT_ORG;
    memset(s->v[5].u.org, 0xab, sizeof(s->v[5].u.org));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char text[MAX_INPUT + 1], err[ENT_EXPR_ERR_MAX];
    ent_expr *e = NULL;
    if (size > MAX_INPUT)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (ent_expr_compile(text, lookup, NULL, &e, err, sizeof(err)) != ENT_OK) {
        if (e != NULL || err[0] == '\0')
            abort(); /* a refusal always says why, and makes nothing */
        return 0;
    }
    static const int64_t bigs[] = {0, 1, -1, INT64_MAX, INT64_MIN, 100000};
    static const int32_t days[] = {0, -719162, 2932896, INT32_MAX, INT32_MIN};
    state s;
    ent_xval out;
    for (size_t b = 0; b < sizeof(bigs) / sizeof(bigs[0]); b++)
        for (size_t d = 0; d < sizeof(days) / sizeof(days[0]); d++) {
            fill(&s, bigs[b], days[d]);
            ent_expr_eval(e, slot, &s, &out);
            if (ent_expr_type(e) == ENT_XT_BOOL && out.t != ENT_XT_NULL &&
                out.t != ENT_XT_BOOL)
                abort(); /* the static type holds at run time */
        }
    s.present = false;
    (void)ent_expr_test(e, slot, &s);
    ent_expr_free(e);
    return 0;
}
