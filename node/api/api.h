/*
 * api.h - the local HTTP+JSON API of a node (spec/api.md).
 *
 * The API is served on the Unix socket HOME/api.sock (mode 0600), one request
 * per connection ("Connection: close"), at most ENT_API_MAX_CONNS connections
 * at once, each closed after ENT_API_IDLE_MS without progress.
 *
 * Routing goes through one table of {method, path, prefix, handler}:
 *
 *   - built-in routes live in the static table `builtin_routes` in api.c:
 *     a module that owns endpoints adds one line per endpoint there and
 *     declares its handlers in its own header;
 *   - routes can also be added to one node at run time with
 *     ent_api_route_add() (tests, optional features).
 *
 * route->path is a template: a segment "{name}" matches one non-empty path
 * segment ("/v1/objects/{id}/stage" matches "/v1/objects/ID/stage"; the
 * handler reads ID from req->path), every other character itself. A prefix
 * route (per-node routes only) matches every path that starts with
 * route->path. Per-node routes are tried before built-in ones, each table
 * in order. A path that matches some route but not with this method is
 * answered 405 ENT_EMETHOD with an Allow header; no match is 404.
 *
 * spec/openapi.yaml documents every built-in route; tests/openapi_test.c
 * checks the two against each other (ent_api_builtin_routes()).
 */
#ifndef ENT_API_H
#define ENT_API_H

#include <stdbool.h>
#include <stdint.h>

#include "node/api/http.h"
#include "node/api/route.h"
#include "node/node.h"

#define ENT_API_MAX_CONNS 64   /* concurrent API connections */
#define ENT_API_MAX_STREAMS 16 /* of them streaming an answer (events) */
#define ENT_API_IDLE_MS 10000  /* idle timeout of one API connection */
#define ENT_API_MAX_ROUTES 128 /* per-node routes */

/* The built-in route table (static; *n gets its length). */
const ent_api_route *ent_api_builtin_routes(size_t *n);

/*
 * Adds a route to n's API. route is copied; its strings are borrowed and
 * must outlive n (string literals). @return ENT_OK, ENT_ELIMIT.
 */
int ent_api_route_add(ent_node *n, const ent_api_route *route);

/*
 * Routes req to its handler and fills resp (status, JSON body, Allow).
 * Always leaves a complete response in resp. Pure apart from the handler:
 * tests call it without sockets.
 */
void ent_api_dispatch(ent_node *n, const ent_http_request *req,
                      ent_http_response *resp);

/* GET /v1/status -> {"org","name","listen","peers","objects"} */
/* POST /v1/restore/done: the operator allows local writes on a node still
 * catching up after a restore (spec/operations.md §3.3). */
int ent_api_restore_done(ent_node *n, const ent_http_request *req,
                         ent_http_response *resp);

int ent_api_status(ent_node *n, const ent_http_request *req,
                   ent_http_response *resp);

/* ---- internal to node/ (node/daemon/daemon.c drives the server) ---------- */

typedef struct ent_api ent_api;

int ent__api_new(ent_api **out, ent_node *n);
/* Binds path (removing a stale socket), chmods it 0600 and listens. */
int ent__api_listen(ent_api *api, const char *path);
/* Closes the listener and every connection; cb runs when all are closed. */
void ent__api_close(ent_api *api, void (*cb)(void *data), void *data);
/* Frees a closed (or never started) server. Accepts NULL. */
void ent__api_free(ent_api *api);
/* The routes added with ent_api_route_add(). */
const ent_api_route *ent__api_routes(const ent_api *api, size_t *n);
int ent__api_route_add(ent_api *api, const ent_api_route *route);
/* The API server attached to n (slot ENT_NODE_API). */
ent_api *ent__node_api(ent_node *n);

struct ent_principal;
/*
 * ent_api_dispatch() with a rate limit (the TCP API): after the guard has
 * authenticated the request, admit(data, who, &retry_ms) is asked, with
 * who the authenticated principal or NULL (no or a refused credential);
 * when it returns false the answer is 429 with Retry-After and the
 * handler does not run.
 */
void ent__api_dispatch_admit(ent_node *n, const ent_http_request *req,
                             ent_http_response *resp,
                             bool (*admit)(void *data,
                                           const struct ent_principal *who,
                                           uint64_t *retry_ms),
                             void *data);

/*
 * Group commit (spec/storage.md "Group commit"). ent__api_dispatch_held is
 * ent__api_dispatch_admit for a transport that can wait: when the route's
 * writes joined the store's group, it returns true and the transport must
 * not answer now but pass resp to ent__api_hold. The API commits the group
 * once per loop iteration (a uv_check handle, after all reads of the
 * iteration were dispatched) and then calls release(conn, resp, keep) for
 * each held answer (an error answer when the commit failed) and pushes the
 * held ops. ent__api_hold takes resp's contents (resp is zeroed); conn is
 * borrowed until released or ent__api_unhold(api, conn), which a transport
 * calls when it closes conn.
 */
bool ent__api_dispatch_held(ent_node *n, const ent_http_request *req,
                            ent_http_response *resp,
                            bool (*admit)(void *data,
                                          const struct ent_principal *who,
                                          uint64_t *retry_ms),
                            void *data);
typedef void (*ent__api_release_fn)(void *conn, ent_http_response *resp,
                                    bool keep);
int ent__api_hold(ent_api *api, void *conn, ent_http_response *resp,
                  bool keep, ent__api_release_fn release);
void ent__api_unhold(ent_api *api, void *conn);
/*
 * A second listener of the API (the TCP API, node/api/api_tcp.c, which sits
 * above this file): the server starts it after the socket, closes it with
 * the socket's connections and frees it with the server, through this
 * table, so that api.c never calls it by name.
 *   start:   binds and listens; an error fails ent_node_start();
 *   close:   closes everything, then cb(data) once (at once if nothing is
 *            open);
 *   free:    frees state (closed or never started);
 *   address: its "HOST:PORT" ("" when not listening) and whether under
 *            TLS, for GET /v1/status.
 */
typedef struct ent_api_ext {
    int (*start)(void *state);
    void (*close)(void *state, void (*cb)(void *data), void *data);
    void (*free)(void *state);
    const char *(*address)(void *state, bool *tls);
} ent_api_ext;

/* Attaches ext with its state (freeing one attached before); ext is
 * borrowed (a static table), state owned from then on. */
void ent__api_set_ext(ent_api *api, const ent_api_ext *ext, void *state);
/* The state attached with ext, or NULL when another or none is. */
void *ent__api_ext_state(ent_api *api, const ent_api_ext *ext);

#endif
