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
#include "node/reports/report.h"

#define REPORTS_PREFIX "/v1/reports/"

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

int ent_api_report_get(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp) {
    static const char *const params[] = {
        "type", "by",     "where",  "from",         "to", "currency",
        "amount", "date", "hide_private", NULL};
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
                                       "cycle-time)",
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
    if (bool_param(ent_api_query_get(&q, "hide_private"), &c.o.hide_private) !=
        ENT_OK)
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "hide_private must be 1, 0, true or "
                                       "false");
    rc = ent_store_read(ent_node_store(n), run_fn, &c);
    free(c.rules);
    if (rc == ENT_OK) {
        ent_http_response_json(resp, 200, c.out);
        return ENT_OK;
    }
    json_decref(c.out);
    int status = rc == ENT_EINVAL || rc == ENT_ELIMIT ? 400
                 : rc == ENT_ENOENT                   ? 404
                 : rc == ENT_EDENIED                  ? 403
                                                      : 500;
    return ent_http_response_error(resp, status, rc, "%s",
                                   c.err[0] ? c.err : ent_strerror(rc));
}
