/*
 * client.h - a blocking client of a node's local API (HOME/api.sock).
 *
 * Used by the CLI and by tests (from a thread other than the node's loop).
 * Every command that talks to the daemon is a thin wrapper around
 * ent_client_request().
 */
#ifndef ENT_CLIENT_H
#define ENT_CLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define ENT_CLIENT_TIMEOUT_MS 30000 /* default send/receive timeout */

/*
 * Sends one request to the node of home and waits for the whole response.
 * body (may be NULL) is sent as compact JSON; it stays the caller's.
 * *status receives the HTTP status and *out the response JSON (caller
 * json_decref()s; NULL for an empty body). A response with an error status
 * is still ENT_OK: check *status (ent_client_error() extracts the message).
 * @return ENT_OK; ENT_ENOTRUNNING (no socket, or nobody listening on it);
 *         ENT_ETIMEOUT; ENT_ECLOSED (closed before a whole response);
 *         ENT_EPROTO (not HTTP or not JSON); ENT_ETOOBIG; ENT_EPERM; ENT_EIO.
 */
int ent_client_request(const char *home, const char *method, const char *path,
                       const json_t *body, int *status, json_t **out);

/* ent_client_request() with a timeout in milliseconds (0: no timeout). */
int ent_client_request_timeout(const char *home, const char *method,
                               const char *path, const json_t *body,
                               int timeout_ms, int *status, json_t **out);

/* The same with the body as JSON text (blen bytes, sent as it is). */
int ent_client_request_text(const char *home, const char *method,
                            const char *path, const char *body, size_t blen,
                            int timeout_ms, int *status, json_t **out);

/*
 * Opens a streamed answer: GET path on the node of home, and, when the
 * answer is 200, hands the bytes of its body to fn as they arrive, until
 * the node closes the connection, fn returns non-zero, or *stop becomes
 * non-zero (looked at every 200 ms and after each signal). Another status
 * reads the whole answer into *status and *out (the error JSON, caller
 * json_decref()s) without calling fn. *status is 200 while streaming.
 * @return ENT_OK (the node closed, or *stop), fn's value, and the errors
 *         of ent_client_request().
 */
int ent_client_stream(const char *home, const char *path,
                      const volatile int *stop,
                      int (*fn)(void *data, const uint8_t *buf, size_t len),
                      void *data, int *status, json_t **out);

/*
 * Reads {"error":{"code","message","field"}} (spec/api.md "Errors") from a
 * response; returns the message (borrowed from resp), which already names
 * the field it is about, or a generic text. Accepts NULL.
 */
const char *ent_client_error(const json_t *resp);

#endif
