/*
 * api_access.h - who calls the local API and what they may see and do
 * (spec/access.md "Enforcement"). The server (api.c) wraps every request:
 *
 *   ent_api_access_begin()  authenticate (no Authorization header on the
 *                           socket: the operator; "Bearer TOKEN": that
 *                           token's user, else 401), then decide the
 *                           request before its handler runs (403 with the
 *                           deciding rule, nothing changed)
 *   ... the route's handler runs with req->principal set ...
 *   ent_api_access_end()    filter what the answer carries (denied fields
 *                           and objects left out), and note which user
 *                           made the ops and objects the request created
 *
 * The endpoints of users, tokens, policies and login are in api_users.c.
 */
#ifndef ENT_API_ACCESS_H
#define ENT_API_ACCESS_H

#include <stdint.h>

#include "node/access/access.h"
#include "node/api/route.h"

/* What begin() found out and end() needs; zeroed by begin(). */
typedef struct ent_api_guard {
    int kind;        /* the route's class (api_access.c) */
    ent_rule *rules; /* the policies, loaded once per request */
    size_t nrules;
    uint64_t log_size; /* activity-log size before the handler */
    size_t limit;      /* GET /v1/objects: the limit applied after
                          filtering, 0: none */
    char *query;       /* the query given to the handler, owned */
    json_t *state;     /* GET /v1/objects/ID: the object's state begin()
                          decided on, reused by end() (owned) */
    char creator[ENT_POLICY_VALUE_MAX + 1]; /* and its creator, "" none */
    bool stage_filter; /* GET /v1/objects: the query has stage= */
    char sort_col[8];  /* GET /v1/objects: sort by title, date or stage
                          ("" none) */
} ent_api_guard;

/*
 * Authenticates req and decides it. On success returns ENT_OK with
 * *principal and *g filled and req->principal / req->query possibly
 * rewritten (req is the server's shallow copy); otherwise fills resp (401
 * or 403) and returns its error. Call ent_api_access_end() either way.
 */
int ent_api_access_begin(ent_node *n, ent_http_request *req,
                         ent_principal *principal, ent_api_guard *g,
                         ent_http_response *resp);

/* Filters resp for the principal and records who made what; frees g. */
void ent_api_access_end(ent_node *n, const ent_http_request *req,
                        const ent_principal *principal, ent_api_guard *g,
                        ent_http_response *resp);

/* The current time in ms since the Unix epoch (CLOCK_REALTIME). */
uint64_t ent_api_now_ms(void);

/*
 * Decides one request for the principal of req against the stored
 * policies, for a handler that needs a decision of its own; answers 403
 * into resp when denied. state and creator as in ent_access_req.
 * @return ENT_OK (allowed) or ENT_EDENIED (resp set).
 */
int ent_api_access_check(ent_node *n, const ent_http_request *req,
                         uint32_t action, const char *type, const char *field,
                         const json_t *state, const char *creator,
                         ent_http_response *resp);

#endif
