/*
 * report_svg.c - a report as an SVG chart (spec/reports.md "Charts"):
 * bars of the count per group (pipeline, deal-size: won, cycle-time: days
 * to close), stacked sourced/influenced counts per partner (attribution),
 * a line of the win rate per group (win-rate). Labels are the group keys,
 * XML-escaped and cut to 40 bytes at a character boundary; the values are
 * written on the bars. No script, no external reference.
 */
#include "node/reports/report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"

#define SVG_MAX_GROUPS 200
#define BAR_W 48
#define GAP 16
#define PLOT_H 240
#define LEFT 60
#define TOP 40
#define LABEL_H 120

typedef struct sb {
    char *s;
    size_t n, cap;
    bool bad;
} sb;

static void put(sb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(sb *b, const char *fmt, ...) {
    va_list ap;
    if (b->bad)
        return;
    for (;;) {
        va_start(ap, fmt);
        /* b->s is NULL before the first growth: NULL + 0 is undefined */
        int w = vsnprintf(b->s ? b->s + b->n : NULL, b->cap - b->n, fmt, ap);
        va_end(ap);
        if (w < 0) {
            b->bad = true;
            return;
        }
        if (b->n + (size_t)w < b->cap) {
            b->n += (size_t)w;
            return;
        }
        size_t nc = b->cap ? b->cap * 2 : 4096;
        while (nc <= b->n + (size_t)w)
            nc *= 2;
        char *ns = realloc(b->s, nc);
        if (ns == NULL) {
            b->bad = true;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
}

/* XML-escaped text, at most 40 bytes of it (not cutting a character). */
static void put_text(sb *b, const char *s) {
    size_t n = strlen(s);
    if (n > 40) {
        n = 40;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '<': put(b, "&lt;"); break;
        case '>': put(b, "&gt;"); break;
        case '&': put(b, "&amp;"); break;
        case '"': put(b, "&quot;"); break;
        case '\'': put(b, "&apos;"); break;
        default: put(b, "%c", s[i]);
        }
    }
    if (n < strlen(s))
        put(b, "…");
}

/* The group's label: its key values joined by " / " ("-" for null). */
static void put_label(sb *b, const json_t *report, const json_t *g) {
    const json_t *by = json_object_get(report, "by");
    const json_t *key = json_object_get(g, "key");
    size_t i;
    json_t *c;
    json_array_foreach(by, i, c) {
        const json_t *v = json_object_get(key, json_string_value(c));
        if (i > 0)
            put(b, " / ");
        put_text(b, json_is_string(v) ? json_string_value(v) : "-");
    }
    if (json_array_size(by) == 0)
        put(b, "all");
}

/* The value(s) charted for group g: up to two stacked, or a ratio. */
static double value_of(ent_rpt_kind k, const json_t *g, double *second) {
    *second = 0;
    switch (k) {
    case ENT_RPT_ATTRIBUTION:
        *second = (double)json_integer_value(json_object_get(
            json_object_get(g, "influenced"), "count"));
        return (double)json_integer_value(
            json_object_get(json_object_get(g, "sourced"), "count"));
    case ENT_RPT_WIN_RATE: {
        const char *r = json_string_value(json_object_get(g, "win_rate"));
        return r != NULL ? strtod(r, NULL) : -1;
    }
    case ENT_RPT_DEAL_SIZE:
    case ENT_RPT_PLAN: /* won opportunities per plan */
        return (double)json_integer_value(json_object_get(g, "won"));
    case ENT_RPT_MDF: /* fund requests per group */
        return (double)json_integer_value(json_object_get(g, "requests"));
    case ENT_RPT_CYCLE_TIME: {
        const char *d =
            json_string_value(json_object_get(g, "avg_days_to_close"));
        return d != NULL ? strtod(d, NULL) : 0;
    }
    default:
        return (double)json_integer_value(json_object_get(g, "count"));
    }
}

int ent_report_svg(const json_t *report, char **out) {
    const json_t *groups = json_object_get(report, "groups");
    ent_rpt_kind kind;
    sb b = {0};
    *out = NULL;
    if (!json_is_array(groups) ||
        ent_rpt_kind_parse(json_string_value(json_object_get(report, "report")),
                           &kind) != ENT_OK)
        return ENT_EINVAL;
    size_t n = json_array_size(groups);
    if (n > SVG_MAX_GROUPS)
        n = SVG_MAX_GROUPS;
    double max = kind == ENT_RPT_WIN_RATE ? 1.0 : 0;
    for (size_t i = 0; i < n; i++) {
        double s2, v = value_of(kind, json_array_get(groups, i), &s2);
        if (v + s2 > max)
            max = v + s2;
    }
    if (max <= 0)
        max = 1;
    static const char *const titles[] = {
        "Objects per group", "Partner-sourced and partner-influenced objects",
        "Win rate", "Won objects", "Average days to close"};
    int width = LEFT + (int)n * (BAR_W + GAP) + GAP + 160;
    int height = TOP + PLOT_H + LABEL_H;
    put(&b,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
        "viewBox=\"0 0 %d %d\" role=\"img\" font-family=\"sans-serif\" "
        "font-size=\"12\">\n<title>",
        width, height, width, height);
    put(&b, "%s: %s", ent_rpt_kind_name(kind), titles[kind]);
    put(&b, "</title>\n<text x=\"%d\" y=\"20\" font-size=\"15\">%s</text>\n",
        LEFT, titles[kind]);
    /* axis */
    put(&b,
        "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n"
        "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%g</text>\n"
        "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>\n",
        LEFT, TOP + PLOT_H, width - 150, TOP + PLOT_H, LEFT - 6, TOP + 4,
        max, LEFT - 6, TOP + PLOT_H + 4);
    double px = 0, py = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *g = json_array_get(groups, i);
        double s2, v = value_of(kind, g, &s2);
        int x = LEFT + GAP + (int)i * (BAR_W + GAP);
        int h1 = (int)(v / max * PLOT_H + 0.5), h2 = (int)(s2 / max * PLOT_H + 0.5);
        if (kind == ENT_RPT_WIN_RATE) {
            if (v >= 0) {
                double cx = x + BAR_W / 2.0, cy = TOP + PLOT_H - v * PLOT_H;
                if (i > 0 && px > 0)
                    put(&b,
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                        "stroke=\"#1f6fb2\" stroke-width=\"2\"/>\n",
                        px, py, cx, cy);
                put(&b,
                    "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#1f6fb2\"/>"
                    "\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
                    "%.0f%%</text>\n",
                    cx, cy, cx, cy - 8, v * 100);
                px = cx;
                py = cy;
            }
        } else {
            put(&b,
                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                "fill=\"#1f6fb2\"><title>",
                x, TOP + PLOT_H - h1, BAR_W, h1);
            put_label(&b, report, g);
            put(&b, ": %g</title></rect>\n", v);
            if (kind == ENT_RPT_ATTRIBUTION) {
                put(&b,
                    "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                    "fill=\"#f0a030\"><title>",
                    x, TOP + PLOT_H - h1 - h2, BAR_W, h2);
                put_label(&b, report, g);
                put(&b, ": %g influenced</title></rect>\n", s2);
            }
            put(&b,
                "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%g</text>\n",
                x + BAR_W / 2, TOP + PLOT_H - h1 - h2 - 4, v + s2);
        }
        put(&b,
            "<text transform=\"translate(%d,%d) rotate(45)\">",
            x + BAR_W / 2, TOP + PLOT_H + 14);
        put_label(&b, report, g);
        put(&b, "</text>\n");
    }
    if (kind == ENT_RPT_ATTRIBUTION)
        put(&b,
            "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" "
            "fill=\"#1f6fb2\"/><text x=\"%d\" y=\"%d\">sourced</text>\n"
            "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" "
            "fill=\"#f0a030\"/><text x=\"%d\" y=\"%d\">influenced</text>\n",
            width - 140, TOP, width - 122, TOP + 11, width - 140, TOP + 20,
            width - 122, TOP + 31);
    if (json_array_size(groups) > n)
        put(&b, "<text x=\"%d\" y=\"%d\">(first %d groups)</text>\n", LEFT,
            height - 6, SVG_MAX_GROUPS);
    put(&b, "</svg>\n");
    if (b.bad) {
        free(b.s);
        return ENT_ENOMEM;
    }
    *out = b.s;
    return ENT_OK;
}
