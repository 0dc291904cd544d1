/*
 * cli_reports.c - `entente report KIND` (spec/cli.md "report",
 * spec/reports.md): asks the daemon for GET /v1/reports/KIND and prints
 * the report as a table, as CSV (--csv) or as its JSON (--json).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/cli/cli_int.h"
#include "node/err.h"
#include "node/reports/report.h"

#define REPORT_PATH_MAX 8192

/* Appends &key=value (percent-encoded) to path; false when it does not
 * fit (nothing is cut silently). */
static bool add_param(char *path, size_t cap, const char *key,
                      const char *value) {
    static const char hex[] = "0123456789ABCDEF";
    size_t o = strlen(path);
    int w = snprintf(path + o, cap - o, "%c%s=", strchr(path, '?') ? '&' : '?',
                     key);
    if (w < 0 || (size_t)w >= cap - o)
        return false;
    o += (size_t)w;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (o + 4 >= cap)
            return false;
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL) {
            path[o++] = (char)*p;
        } else {
            path[o++] = '%';
            path[o++] = hex[*p >> 4];
            path[o++] = hex[*p & 15];
        }
    }
    path[o] = '\0';
    return true;
}

static void print_table(const json_t *report) {
    json_t *t = NULL, *line, *cell;
    size_t i, j;
    if (ent_report_table(report, &t) != ENT_OK)
        return;
    size_t ncols = json_array_size(json_array_get(t, 0));
    size_t nby = json_array_size(json_object_get(report, "by"));
    int *widths = calloc(ncols ? ncols : 1, sizeof(int));
    const char **cols = calloc(ncols ? ncols : 1, sizeof(char *));
    if (widths != NULL && cols != NULL) {
        json_array_foreach(t, i, line) json_array_foreach(line, j, cell) {
            int l = (int)strlen(json_string_value(cell));
            if (l == 0 && i > 0 && j < nby)
                l = 1;
            if (j < ncols && l > widths[j])
                widths[j] = l;
        }
        json_array_foreach(t, i, line) {
            json_array_foreach(line, j, cell) if (j < ncols) {
                cols[j] = json_string_value(cell);
                if (i > 0 && j < nby && cols[j][0] == '\0')
                    cols[j] = "-"; /* a null key */
            }
            ent__cli_row(stdout, "", cols, widths, ncols);
        }
    }
    free(widths);
    free(cols);
    json_decref(t);
}

int ent__cli_cmd_report(cli *c) {
    static const char *const params[][2] = {
        {"by", "by"},         {"where", "where"},   {"from", "from"},
        {"to", "to"},         {"currency", "currency"},
        {"amount", "amount"}, {"date", "date"},     {"type", "type"}};
    char *path = malloc(REPORT_PATH_MAX);
    json_t *resp = NULL;
    ent_rpt_kind kind;
    int st;
    bool csv = ent__cli_opt_value(c, "csv") != NULL;
    if (path == NULL)
        return ent__cli_fail(c, "out of memory");
    if (ent_rpt_kind_parse(c->args[0], &kind) != ENT_OK) {
        free(path);
        return ent__cli_usage_error(c,
                                    "no report '%.40s' (pipeline, "
                                    "attribution, win-rate, deal-size, "
                                    "cycle-time)",
                                    c->args[0]);
    }
    if (csv && c->json) {
        free(path);
        return ent__cli_usage_error(c, "--csv and --json exclude each other");
    }
    snprintf(path, REPORT_PATH_MAX, "/v1/reports/%s", ent_rpt_kind_name(kind));
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
        const char *v = ent__cli_opt_value(c, params[i][0]);
        if (v != NULL && !add_param(path, REPORT_PATH_MAX, params[i][1], v)) {
            free(path);
            return ent__cli_usage_error(c, "--%s is too long", params[i][0]);
        }
    }
    if (ent__cli_opt_value(c, "hide-private") != NULL)
        add_param(path, REPORT_PATH_MAX, "hide_private", "1");
    st = ent__cli_daemon_call(c, "GET", path, NULL, &resp);
    free(path);
    if (st >= 0)
        return st;
    if (c->json) {
        ent__cli_print_json(resp);
    } else if (csv) {
        char *text = NULL;
        if (ent_report_csv(resp, &text) != ENT_OK) {
            json_decref(resp);
            return ent__cli_fail(c, "the node's answer is not a report");
        }
        fputs(text, stdout);
        free(text);
    } else {
        const json_t *cur = json_object_get(resp, "currency");
        print_table(resp);
        if (json_is_object(cur) &&
            strcmp(ent__cli_jstr(cur, "mode"), "converted") == 0) {
            const char *k;
            json_t *v;
            printf("amounts converted to %s", ent__cli_jstr(cur, "to"));
            json_object_foreach(json_object_get(cur, "rates"), k, v)
                printf(", %s=%s", k, json_string_value(v));
            printf("\n");
        }
    }
    json_decref(resp);
    return 0;
}
