/*
 * metrics.c - the registry of collectors and the writer of the Prometheus
 * text exposition format; see metrics.h.
 */
#include "node/metrics.h"
#include "node/err.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LABELS 8
#define MAX_FAMILIES 256

struct ent_metrics {
    struct {
        ent_metrics_collect_fn fn;
        void *data;
    } * c;
    size_t n, cap;
};

struct ent_metrics_out {
    char *buf;
    size_t len, cap;
    bool oom;
    bool skip;        /* the current family was refused */
    const char *name; /* the current family (borrowed for its samples) */
    char names[MAX_FAMILIES][128]; /* families written */
    size_t nnames;
};

int ent_metrics_new(ent_metrics **out) {
    *out = calloc(1, sizeof(**out));
    return *out != NULL ? ENT_OK : ENT_ENOMEM;
}

void ent_metrics_free(ent_metrics *m) {
    if (m == NULL)
        return;
    free(m->c);
    free(m);
}

int ent_metrics_collector_add(ent_metrics *m, ent_metrics_collect_fn fn,
                              void *data) {
    if (fn == NULL)
        return ENT_EINVAL;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        void *c = realloc(m->c, cap * sizeof(*m->c));
        if (c == NULL)
            return ENT_ENOMEM;
        m->c = c;
        m->cap = cap;
    }
    m->c[m->n].fn = fn;
    m->c[m->n].data = data;
    m->n++;
    return ENT_OK;
}

void ent_metrics_collector_remove(ent_metrics *m, ent_metrics_collect_fn fn,
                                  void *data) {
    for (size_t i = 0; m != NULL && i < m->n; i++) {
        if (m->c[i].fn == fn && m->c[i].data == data) {
            memmove(&m->c[i], &m->c[i + 1], (m->n - i - 1) * sizeof(*m->c));
            m->n--;
            return;
        }
    }
}

/* ---- the writer -----------------------------------------------------------
 */

static void put(ent_metrics_out *o, const char *s, size_t l) {
    if (o->oom)
        return;
    if (o->len + l + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (o->len + l + 1 > cap)
            cap *= 2;
        char *b = realloc(o->buf, cap);
        if (b == NULL) {
            o->oom = true;
            return;
        }
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, l);
    o->len += l;
    o->buf[o->len] = '\0';
}

static void puts_(ent_metrics_out *o, const char *s) {
    put(o, s, strlen(s));
}

static bool name_ok(const char *s, bool colon) {
    if (s == NULL || s[0] == '\0' || strlen(s) >= 128 ||
        (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || (colon && c == ':')))
            return false;
    }
    return true;
}

/* HELP text escapes \ and newline; label values also ". */
static void put_escaped(ent_metrics_out *o, const char *s, bool quote) {
    for (const char *p = s; *p; p++) {
        if (*p == '\\')
            puts_(o, "\\\\");
        else if (*p == '\n')
            puts_(o, "\\n");
        else if (quote && *p == '"')
            puts_(o, "\\\"");
        else
            put(o, p, 1);
    }
}

void ent_metrics_family(ent_metrics_out *o, const char *name,
                        ent_metric_type type, const char *help) {
    size_t nl = name != NULL ? strlen(name) : 0;
    o->skip = true;
    o->name = NULL;
    if (!name_ok(name, true) || o->nnames == MAX_FAMILIES ||
        (type != ENT_METRIC_COUNTER && type != ENT_METRIC_GAUGE) ||
        (type == ENT_METRIC_COUNTER &&
         (nl < 6 || strcmp(name + nl - 6, "_total") != 0)))
        return;
    for (size_t i = 0; i < o->nnames; i++)
        if (strcmp(o->names[i], name) == 0)
            return;
    strcpy(o->names[o->nnames++], name);
    o->skip = false;
    o->name = o->names[o->nnames - 1];
    puts_(o, "# HELP ");
    puts_(o, name);
    puts_(o, " ");
    put_escaped(o, help != NULL ? help : "", false);
    puts_(o, "\n# TYPE ");
    puts_(o, name);
    puts_(o, type == ENT_METRIC_COUNTER ? " counter\n" : " gauge\n");
}

void ent_metrics_sample(ent_metrics_out *o, double value, ...) {
    const char *k[MAX_LABELS], *v[MAX_LABELS];
    size_t n = 0;
    va_list ap;
    if (o->skip)
        return;
    va_start(ap, value);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (key == NULL)
            break;
        const char *val = va_arg(ap, const char *);
        if (n == MAX_LABELS || !name_ok(key, false) || val == NULL) {
            va_end(ap);
            return; /* a bad sample is left out */
        }
        k[n] = key;
        v[n++] = val;
    }
    va_end(ap);
    puts_(o, o->name);
    for (size_t i = 0; i < n; i++) {
        puts_(o, i == 0 ? "{" : ",");
        puts_(o, k[i]);
        puts_(o, "=\"");
        put_escaped(o, v[i], true);
        puts_(o, "\"");
    }
    if (n > 0)
        puts_(o, "}");
    char num[64];
    if (isnan(value))
        snprintf(num, sizeof(num), " NaN\n");
    else if (isinf(value))
        snprintf(num, sizeof(num), " %sInf\n", value < 0 ? "-" : "+");
    else if (value == floor(value) && fabs(value) < 1e15)
        snprintf(num, sizeof(num), " %.0f\n", value);
    else
        snprintf(num, sizeof(num), " %.17g\n", value);
    puts_(o, num);
}

int ent_metrics_render(ent_metrics *m, ent_metrics_collect_fn collect,
                       void *data, char **text, size_t *len) {
    ent_metrics_out *o = calloc(1, sizeof(*o));
    int rc = ENT_OK;
    *text = NULL;
    *len = 0;
    if (o == NULL)
        return ENT_ENOMEM;
    puts_(o, ""); /* an empty exposition is still a string */
    if (collect != NULL)
        collect(o, data);
    for (size_t i = 0; m != NULL && i < m->n; i++)
        m->c[i].fn(o, m->c[i].data);
    if (o->oom) {
        free(o->buf);
        rc = ENT_ENOMEM;
    } else {
        *text = o->buf;
        *len = o->len;
    }
    free(o);
    return rc;
}
