/*
 * api_reports.c - GET /v1/reports/KIND (spec/api.md "Reports",
 * spec/reports.md): the report engine (node/reports/) run in one read
 * transaction for the caller, under the caller's policies. The access
 * guard lets every authenticated caller reach the route; this handler
 * checks the token's read scope and hands the principal and the policies
 * to the engine, which leaves out the objects the caller may not read and
 * refuses a report that would use a field the caller may not read.
 */
#include "node/api/api_reports.h"

#include <stdlib.h>
#include <string.h>

#include "node/access/access.h"
#include "node/api/api_objects.h"
#include "node/err.h"
#include "node/objects/fieldmap.h"
#include "node/reports/report.h"
#include "node/reports/view.h"

#define REPORTS_PREFIX "/v1/reports/"
#define VIEWS_PREFIX "/v1/views/"
#define FIELDMAPS_PREFIX "/v1/fieldmaps/"

typedef struct run_ctx {
    ent_rpt_opts o;
    ent_rule *rules;
    size_t nrules;
    json_t *out;
    char err[ENT_RPT_ERR_MAX];
} run_ctx;

static int run_fn(ent_txn *txn, void *data) {
    run_ctx *c = data;
    int rc;
    json_decref(c->out);
    c->out = NULL;
    free(c->rules);
    c->rules = NULL;
    c->nrules = 0;
    if (c->o.principal != NULL &&
        c->o.principal->kind == ENT_PRINCIPAL_USER &&
        (rc = ent_access_policies_load(txn, &c->rules, &c->nrules)) != ENT_OK)
        return rc;
    c->o.rules = c->rules;
    c->o.nrules = c->nrules;
    return ent_report_run(txn, &c->o, &c->out, c->err, sizeof(c->err));
}

static int bool_param(const char *v, bool *out) {
    if (v == NULL)
        return ENT_OK;
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
        *out = true;
    else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
        *out = false;
    else
        return ENT_EINVAL;
    return ENT_OK;
}

/* Runs c's report in one read transaction and answers it. */
static int run_respond(ent_node *n, run_ctx *c, ent_http_response *resp) {
    c->o.me = ent_identity_public(ent_node_identity(n));
    int rc = ent_store_read(ent_node_store(n), run_fn, c);
    free(c->rules);
    c->rules = NULL;
    if (rc == ENT_OK) {
        ent_http_response_json(resp, 200, c->out);
        return ENT_OK;
    }
    json_decref(c->out);
    c->out = NULL;
    int status = rc == ENT_EINVAL || rc == ENT_ELIMIT ? 400
                 : rc == ENT_ENOENT                   ? 404
                 : rc == ENT_EDENIED                  ? 403
                                                      : 500;
    return ent_http_response_error(resp, status, rc, "%s",
                                   c->err[0] ? c->err : ent_strerror(rc));
}

int ent_api_report_get(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp) {
    static const char *const params[] = {
        "type", "by",     "where",  "from",         "to", "currency",
        "amount", "date", "hide_private", "shared_names", NULL};
    ent_api_query q;
    run_ctx c;
    ent_rpt_kind kind;
    int rc;
    memset(&c, 0, sizeof(c));
    const char *name = req->path + strlen(REPORTS_PREFIX);
    if (ent_rpt_kind_parse(name, &kind) != ENT_OK)
        return ent_http_response_error(resp, 404, ENT_ENOENT,
                                       "no report \"%.40s\" (pipeline, "
                                       "attribution, win-rate, deal-size, "
                                       "cycle-time, mdf, plan)",
                                       name);
    if ((rc = ent_api_query_parse(req, params, &q, resp)) != ENT_OK)
        return rc;
    const ent_principal *p = req->principal;
    if (p != NULL && p->kind == ENT_PRINCIPAL_USER &&
        (p->scopes & ENT_ACT_READ) == 0)
        return ent_http_response_error(resp, 403, ENT_EDENIED,
                                       "user %s may not read: the token's "
                                       "scopes do not include read",
                                       p->user);
    c.o.kind = kind;
    c.o.type = ent_api_query_get(&q, "type");
    c.o.by = ent_api_query_get(&q, "by");
    c.o.where = ent_api_query_get(&q, "where");
    c.o.from = ent_api_query_get(&q, "from");
    c.o.to = ent_api_query_get(&q, "to");
    c.o.currency = ent_api_query_get(&q, "currency");
    c.o.amount = ent_api_query_get(&q, "amount");
    c.o.date = ent_api_query_get(&q, "date");
    c.o.principal = p;
    if (bool_param(ent_api_query_get(&q, "shared_names"),
                   &c.o.shared_names) != ENT_OK)
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "shared_names must be 1, 0, true or "
                                       "false");
    if (bool_param(ent_api_query_get(&q, "hide_private"), &c.o.hide_private) !=
        ENT_OK)
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "hide_private must be 1, 0, true or "
                                       "false");
    return run_respond(n, &c, resp);
}

/* ---- saved views ---------------------------------------------------------- */

typedef struct view_ctx {
    const char *name;
    const json_t *doc;
    const ent_principal *p;
    json_t *out;
    char err[256];
    int op; /* 0 get, 1 put, 2 delete, 3 list */
} view_ctx;

static int view_fn(ent_txn *txn, void *data) {
    view_ctx *c = data;
    json_decref(c->out);
    c->out = NULL;
    switch (c->op) {
    case 0:
        return ent_view_get(txn, c->name, &c->out);
    case 1: {
        int rc = ent_view_put(txn, c->name, c->doc, c->err, sizeof(c->err));
        return rc == ENT_OK ? ent_view_get(txn, c->name, &c->out) : rc;
    }
    case 2:
        return ent_view_del(txn, c->name);
    default:
        return ent_view_list(txn, c->p, &c->out);
    }
}

static int view_error(ent_http_response *resp, int rc, const view_ctx *c) {
    if (rc == ENT_ENOENT)
        return ent_http_response_error(resp, 404, rc, "no view \"%.64s\"",
                                       c->name ? c->name : "");
    int st = rc == ENT_EINVAL || rc == ENT_ELIMIT ? 400 : 500;
    return ent_http_response_error(resp, st, rc, "%s",
                                   c->err[0] ? c->err : ent_strerror(rc));
}

int ent_api_views_list(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp) {
    view_ctx c = {.op = 3, .p = req->principal};
    int rc = ent_store_read(ent_node_store(n), view_fn, &c);
    if (rc != ENT_OK)
        return view_error(resp, rc, &c);
    ent_http_response_json(resp, 200, c.out);
    return ENT_OK;
}

/* "/v1/views/NAME[/run]" -> name (copied), run. */
static bool view_path(const ent_http_request *req, char name[65], bool *run) {
    const char *p = req->path + strlen(VIEWS_PREFIX);
    size_t l = strcspn(p, "/");
    *run = false;
    if (l == 0 || l > ENT_VIEW_NAME_MAX)
        return false;
    if (p[l] != '\0') {
        if (strcmp(p + l, "/run") != 0)
            return false;
        *run = true;
    }
    memcpy(name, p, l);
    name[l] = '\0';
    return ent_view_name_valid(name);
}

int ent_api_view_get(ent_node *n, const ent_http_request *req,
                     ent_http_response *resp) {
    char name[ENT_VIEW_NAME_MAX + 1];
    bool run;
    view_ctx c = {.op = 0, .name = name};
    if (!view_path(req, name, &run))
        return ent_http_response_error(resp, 404, ENT_ENOENT,
                                       "no such endpoint (a view name is "
                                       "[a-z][a-z0-9_-]{0,63})");
    if (req->query != NULL && req->query[0] != '\0')
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "no query parameters are accepted "
                                       "here");
    int rc = ent_store_read(ent_node_store(n), view_fn, &c);
    if (rc == ENT_OK && !ent_view_allows(c.out, req->principal))
        rc = ENT_ENOENT; /* a view not for this caller: as if absent */
    if (rc != ENT_OK) {
        json_decref(c.out);
        return view_error(resp, rc, &c);
    }
    if (!run) {
        ent_http_response_json(resp, 200, c.out);
        return ENT_OK;
    }
    run_ctx r;
    memset(&r, 0, sizeof(r));
    const ent_principal *p = req->principal;
    if (p != NULL && p->kind == ENT_PRINCIPAL_USER &&
        (p->scopes & ENT_ACT_READ) == 0) {
        json_decref(c.out);
        return ent_http_response_error(resp, 403, ENT_EDENIED,
                                       "user %s may not read: the token's "
                                       "scopes do not include read",
                                       p->user);
    }
    if (ent_view_opts(c.out, &r.o) != ENT_OK) {
        json_decref(c.out);
        return ent_http_response_error(resp, 500, ENT_ECORRUPT,
                                       "view %s is corrupt", name);
    }
    r.o.principal = p;
    rc = run_respond(n, &r, resp);
    json_decref(c.out); /* after the run: r.o borrows its strings */
    return rc;
}

int ent_api_view_put(ent_node *n, const ent_http_request *req,
                     ent_http_response *resp) {
    char name[ENT_VIEW_NAME_MAX + 1];
    bool run;
    json_t *body = NULL;
    view_ctx c = {.op = 1, .name = name};
    if (!view_path(req, name, &run) || run)
        return ent_http_response_error_field(resp, 400, ENT_EINVAL, "name",
                                             "invalid view name (want "
                                             "[a-z][a-z0-9_-]{0,63})");
    if (ent_http_request_json(req, &body) != ENT_OK || !json_is_object(body)) {
        json_decref(body);
        return ent_http_response_error(resp, 400, ENT_EPROTO,
                                       "body: want a JSON object "
                                       "{\"report\",\"params\",\"roles\","
                                       "\"users\"}");
    }
    c.doc = body;
    int rc = ent_store_write(ent_node_store(n), view_fn, &c);
    json_decref(body);
    if (rc != ENT_OK)
        return view_error(resp, rc, &c);
    ent_http_response_json(resp, 200, c.out);
    return ENT_OK;
}

int ent_api_view_delete(ent_node *n, const ent_http_request *req,
                        ent_http_response *resp) {
    char name[ENT_VIEW_NAME_MAX + 1];
    bool run;
    view_ctx c = {.op = 2, .name = name};
    if (!view_path(req, name, &run) || run)
        return ent_http_response_error(resp, 404, ENT_ENOENT,
                                       "no such endpoint");
    int rc = ent_store_write(ent_node_store(n), view_fn, &c);
    if (rc != ENT_OK)
        return view_error(resp, rc, &c);
    ent_http_response_json(resp, 200,
                           json_pack("{s:s,s:b}", "name", name, "removed", 1));
    return ENT_OK;
}

/* ---- field maps ----------------------------------------------------------- */

typedef struct fm_ctx {
    const char *type;
    const json_t *doc;
    json_t *out;
    char err[ENT_FM_ERR_MAX];
    int op; /* 0 get, 1 put, 2 delete, 3 list */
} fm_ctx;

static int fm_fn(ent_txn *txn, void *data) {
    fm_ctx *c = data;
    ent_fieldmap *m = NULL;
    int rc;
    json_decref(c->out);
    c->out = NULL;
    switch (c->op) {
    case 1:
        if ((rc = ent_fieldmap_put(txn, c->doc, c->err, sizeof(c->err))) !=
            ENT_OK)
            return rc;
        __attribute__((fallthrough)); /* answer what is stored */
    case 0:
        if ((rc = ent_fieldmap_get(txn, c->type, &m)) != ENT_OK)
            return rc;
        c->out = ent_fieldmap_to_json(m);
        ent_fieldmap_free(m);
        return c->out != NULL ? ENT_OK : ENT_ENOMEM;
    case 2:
        return ent_fieldmap_del(txn, c->type);
    default:
        return ent_fieldmap_list(txn, &c->out);
    }
}

static int fm_error(ent_http_response *resp, int rc, const fm_ctx *c) {
    if (rc == ENT_ENOENT && c->err[0] == '\0')
        return ent_http_response_error(resp, 404, rc,
                                       "no field map of type \"%.32s\"",
                                       c->type ? c->type : "");
    int st = rc == ENT_EINVAL || rc == ENT_ELIMIT ? 400
             : rc == ENT_ENOENT                   ? 404
                                                  : 500;
    return ent_http_response_error(resp, st, rc, "%s",
                                   c->err[0] ? c->err : ent_strerror(rc));
}

/* The TYPE of /v1/fieldmaps/TYPE into type; false when it is not one. */
static bool fm_path(const ent_http_request *req, char type[33]) {
    const char *p = req->path + strlen(FIELDMAPS_PREFIX);
    size_t l = strlen(p);
    if (l == 0 || l > ENT_TPL_TYPE_MAX)
        return false;
    memcpy(type, p, l + 1);
    return ent_template_type_valid(type);
}

int ent_api_fieldmaps(ent_node *n, const ent_http_request *req,
                      ent_http_response *resp) {
    char type[ENT_TPL_TYPE_MAX + 1] = "";
    json_t *body = NULL;
    fm_ctx c = {.type = type, .op = 3};
    int rc;
    bool one = strncmp(req->path, FIELDMAPS_PREFIX,
                       strlen(FIELDMAPS_PREFIX)) == 0;
    if (one && !fm_path(req, type))
        return ent_http_response_error_field(resp, 400, ENT_EINVAL, "type",
                                             "invalid type name (want "
                                             "[a-z][a-z0-9_]{0,31})");
    if (req->query != NULL && req->query[0] != '\0')
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "no query parameters are accepted "
                                       "here");
    if (strcmp(req->method, "GET") == 0) {
        c.op = one ? 0 : 3;
        rc = ent_store_read(ent_node_store(n), fm_fn, &c);
    } else if (strcmp(req->method, "DELETE") == 0) {
        c.op = 2;
        rc = ent_store_write(ent_node_store(n), fm_fn, &c);
        if (rc == ENT_OK)
            c.out = json_pack("{s:s,s:b}", "type", type, "removed", 1);
    } else {
        if (ent_http_request_json(req, &body) != ENT_OK ||
            !json_is_object(body))
            rc = ENT_EPROTO;
        else if (json_object_get(body, "type") == NULL)
            rc = json_object_set_new(body, "type", json_string(type)) == 0
                     ? ENT_OK
                     : ENT_ENOMEM;
        else
            rc = json_is_string(json_object_get(body, "type")) &&
                         strcmp(json_string_value(
                                    json_object_get(body, "type")),
                                type) == 0
                     ? ENT_OK
                     : ENT_EINVAL;
        if (rc != ENT_OK) {
            json_decref(body);
            return ent_http_response_error(
                resp, 400, rc == ENT_ENOMEM ? rc : ENT_EINVAL,
                rc == ENT_EPROTO ? "body: want a JSON object {\"type\","
                                   "\"fields\",\"values\"}"
                                 : "body: \"type\" is not the type of the "
                                   "path");
        }
        c.op = 1;
        c.doc = body;
        rc = ent_store_write(ent_node_store(n), fm_fn, &c);
        json_decref(body);
    }
    if (rc != ENT_OK) {
        json_decref(c.out);
        return fm_error(resp, rc, &c);
    }
    ent_http_response_json(resp, 200, c.out);
    return ENT_OK;
}
