/*
 * cli_reports.c - `entente report KIND` and `entente view save|list|show|
 * run|remove` (spec/cli.md "report", spec/reports.md): asks the daemon for
 * GET /v1/reports/KIND (or a saved view's run) and prints the report as a
 * table, as CSV (--csv) or as its JSON (--json).
 */
#include <errno.h>
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

static int print_report(cli *c, json_t *resp, bool csv);

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
                                    "cycle-time, mdf, plan)",
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
    if (ent__cli_opt_value(c, "shared-names") != NULL)
        add_param(path, REPORT_PATH_MAX, "shared_names", "1");
    st = ent__cli_daemon_call(c, "GET", path, NULL, &resp);
    free(path);
    if (st >= 0)
        return st;
    return print_report(c, resp, csv);
}

/* Writes the report's chart to the --svg FILE, if given (mode 0600, replaced
 * only once the whole chart is written). */
static int write_svg(cli *c, const json_t *resp) {
    const char *file = ent__cli_opt_value(c, "svg");
    char *svg = NULL;
    if (file == NULL)
        return 0;
    if (ent_report_svg(resp, &svg) != ENT_OK)
        return ent__cli_fail(c, "the node's answer is not a report");
    /* the labels may be private values: 0600, written whole or not at all */
    ent__cli_outfile f;
    if (ent__cli_out_open(&f, file) != ENT_OK) {
        free(svg);
        return ent__cli_fail(c, "%s: %s", file, strerror(errno));
    }
    if (fputs(svg, f.f) < 0) {
        ent__cli_out_abort(&f);
        free(svg);
        return ent__cli_fail(c, "%s: write failed", file);
    }
    free(svg);
    if (ent__cli_out_commit(&f, file) != ENT_OK)
        return ent__cli_fail(c, "%s: %s", file, strerror(errno));
    return 0;
}

/* Prints a report answer as JSON, CSV or a table; frees resp. */
static int print_report(cli *c, json_t *resp, bool csv) {
    int st = write_svg(c, resp);
    if (st != 0) {
        json_decref(resp);
        return st;
    }
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
        const char *rk = ent__cli_jstr(resp, "report");
        if (strcmp(rk, "mdf") == 0 || strcmp(rk, "plan") == 0)
            printf("computed from the objects this node holds%s\n",
                   json_is_true(json_object_get(resp, "complete"))
                       ? " (complete: this org owns every budget)"
                       : "; figures may be partial (spec/reports.md)");
    }
    json_decref(resp);
    return 0;
}

/* ---- saved views ---------------------------------------------------------- */

/* Splits a comma-separated list into a JSON array of strings. */
static json_t *list_json(const char *s) {
    json_t *a = json_array();
    while (a != NULL && s != NULL && *s != '\0') {
        size_t l = strcspn(s, ",");
        json_array_append_new(a, json_stringn(s, l));
        s += l + (s[l] == ',');
    }
    return a;
}

int ent__cli_cmd_view_save(cli *c) {
    static const char *const opts[] = {"by",     "where", "from", "to",
                                       "currency", "amount", "date", "type",
                                       NULL};
    char path[128];
    json_t *params = json_object(), *body = NULL, *resp = NULL;
    ent_rpt_kind kind;
    int st;
    if (ent_rpt_kind_parse(c->args[1], &kind) != ENT_OK) {
        json_decref(params);
        return ent__cli_usage_error(c, "no report '%.40s'", c->args[1]);
    }
    if (strlen(c->args[0]) > 64) {
        json_decref(params);
        return ent__cli_usage_error(c, "view name too long");
    }
    for (const char *const *o = opts; *o; o++) {
        const char *v = ent__cli_opt_value(c, *o);
        if (v != NULL)
            json_object_set_new(params, *o, json_string(v));
    }
    if (ent__cli_opt_value(c, "hide-private") != NULL)
        json_object_set_new(params, "hide_private", json_true());
    body = json_pack("{s:s,s:o,s:o,s:o}", "report", ent_rpt_kind_name(kind),
                     "params", params, "roles",
                     list_json(ent__cli_opt_value(c, "roles")), "users",
                     list_json(ent__cli_opt_value(c, "users")));
    if (body == NULL)
        return ent__cli_fail(c, "an option is not valid UTF-8");
    snprintf(path, sizeof(path), "/v1/views/%s", c->args[0]);
    if ((st = ent__cli_daemon_call(c, "PUT", path, body, &resp)) < 0) {
        st = 0;
        if (c->json)
            ent__cli_print_json(resp);
        else
            printf("saved view %s\n", c->args[0]);
    }
    json_decref(body);
    json_decref(resp);
    return st;
}

int ent__cli_cmd_view_list(cli *c) {
    json_t *resp = NULL, *v;
    size_t i;
    int st = ent__cli_daemon_call(c, "GET", "/v1/views", NULL, &resp);
    if (st >= 0)
        return st;
    if (c->json) {
        ent__cli_print_json(resp);
    } else {
        json_array_foreach(resp, i, v) {
            char *params = json_dumps(json_object_get(v, "params"),
                                      JSON_COMPACT | JSON_SORT_KEYS);
            const char *cols[3] = {ent__cli_jstr(v, "name"),
                                   ent__cli_jstr(v, "report"),
                                   params ? params : ""};
            static const int widths[3] = {20, 12, 0};
            ent__cli_row(stdout, "", cols, widths, 3);
            free(params);
        }
    }
    json_decref(resp);
    return 0;
}

/* view show|run|remove NAME */
static int view_one(cli *c, const char *method, const char *suffix) {
    char path[128];
    json_t *resp = NULL;
    int st;
    bool csv = ent__cli_opt_value(c, "csv") != NULL;
    if (strlen(c->args[0]) > 64)
        return ent__cli_usage_error(c, "view name too long");
    if (csv && c->json)
        return ent__cli_usage_error(c, "--csv and --json exclude each other");
    snprintf(path, sizeof(path), "/v1/views/%s%s", c->args[0], suffix);
    if ((st = ent__cli_daemon_call(c, method, path, NULL, &resp)) >= 0)
        return st;
    if (suffix[0] != '\0')
        return print_report(c, resp, csv);
    if (c->json || strcmp(method, "GET") == 0)
        ent__cli_print_json(resp);
    else
        printf("removed view %s\n", c->args[0]);
    json_decref(resp);
    return 0;
}

int ent__cli_cmd_view_show(cli *c) { return view_one(c, "GET", ""); }
int ent__cli_cmd_view_run(cli *c) { return view_one(c, "GET", "/run"); }
int ent__cli_cmd_view_remove(cli *c) { return view_one(c, "DELETE", ""); }

/* ---- the command tables (listed in cli.c's command table) ---------------- */

static const cli_opt view_no_opts[] = {{NULL, NULL, NULL}};

const cli_opt ent__cli_report_opts[] = {
    {"by", "F[,F]...", "group by these columns (default: the report's)"},
    {"where", "EXPR", "only objects for which EXPR holds"},
    {"from", "DATE", "only objects whose --date field is on or after DATE"},
    {"to", "DATE", "only objects whose --date field is on or before DATE"},
    {"currency", "CUR", "convert amounts to CUR with the rates table"},
    {"amount", "F", "the money field summed (default deal_size; none)"},
    {"date", "F", "the date field of --from, --to, month... (close_date)"},
    {"type", "TYPE", "the object type (default opportunity)"},
    {"hide-private", NULL, "read shared fields only"},
    {"shared-names", NULL, "the shared names, not this org's field map"},
    {"csv", NULL, "print CSV (RFC 4180)"},
    {"svg", "FILE", "also write the report as an SVG chart to FILE"},
    {NULL, NULL, NULL},
};

static const cli_opt view_save_opts[] = {
    {"by", "F[,F]...", "group by these columns"},
    {"where", "EXPR", "only objects for which EXPR holds"},
    {"from", "DATE", "only objects whose --date field is on or after DATE"},
    {"to", "DATE", "only objects whose --date field is on or before DATE"},
    {"currency", "CUR", "convert amounts to CUR with the rates table"},
    {"amount", "F", "the money field summed (default deal_size; none)"},
    {"date", "F", "the date field of --from, --to, month..."},
    {"type", "TYPE", "the object type (default opportunity)"},
    {"hide-private", NULL, "read shared fields only"},
    {"roles", "R[,R]...", "only users of these roles may run it"},
    {"users", "U[,U]...", "only these users may run it"},
    {NULL, NULL, NULL},
};

static const cli_opt view_run_opts[] = {
    {"csv", NULL, "print CSV (RFC 4180)"},
    {"svg", "FILE", "also write the report as an SVG chart to FILE"},
    {NULL, NULL, NULL},
};

const cli_cmd ent__cli_view_cmds[] = {
    {"save", ent__cli_cmd_view_save, "save a report with its options",
     "view save NAME KIND [report options] [--roles R,...] [--users U,...] "
     "[--json]",
     "Stores report KIND with its options as view NAME ([a-z][a-z0-9_-]"
     "{0,63}) on this node (replacing one of that name). --roles and "
     "--users limit who may run it; a view never widens what a caller may "
     "read: it runs under the caller's own policies.",
     view_save_opts, 2, 2, NULL},
    {"list", ent__cli_cmd_view_list, "list the views this caller may run",
     "view list [--json]", "One line per view: name, report, options.",
     view_no_opts, 0, 0, NULL},
    {"show", ent__cli_cmd_view_show, "show a view", "view show NAME [--json]",
     "Prints the view's document {\"name\",\"report\",\"params\","
     "\"roles\",\"users\"}.",
     view_no_opts, 1, 1, NULL},
    {"run", ent__cli_cmd_view_run, "run a saved view",
     "view run NAME [--json|--csv]",
     "Runs the view's report for this caller, as `entente report` prints "
     "it.",
     view_run_opts, 1, 1, NULL},
    {"remove", ent__cli_cmd_view_remove, "remove a view",
     "view remove NAME [--json]", "Removes the view.", view_no_opts, 1, 1, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
