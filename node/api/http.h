/*
 * http.h - the HTTP/1.1 framing of the local API, over http-parser.
 *
 * Parsing is pure: bytes in, an ent_http_request out, no sockets, so that
 * tests/fuzz/fuzz_http.c can drive it. The limits are hard and checked while
 * the bytes arrive (spec/api.md):
 *
 *   - request line + headers: at most ENT_HTTP_MAX_HEAD bytes, and at most
 *     ENT_HTTP_MAX_HEADERS header lines;
 *   - body (Content-Length or the sum of chunks): at most ENT_HTTP_MAX_BODY;
 *   - one request per connection: the server always answers with
 *     "Connection: close", so bytes after the first request are not read.
 *
 * Malformed input gives ENT_EPROTO (answered with 400), input over a limit
 * gives ENT_ETOOBIG (answered with 413).
 */
#ifndef ENT_HTTP_H
#define ENT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define ENT_HTTP_MAX_HEAD (16u * 1024u)    /* request line + headers */
#define ENT_HTTP_MAX_BODY (1024u * 1024u)  /* request body */
#define ENT_HTTP_MAX_HEADERS 64            /* header lines kept */
#define ENT_HTTP_MAX_RESPONSE (64u << 20)  /* what the client accepts */

typedef struct ent_http_header {
    char *name;  /* lowercased, NUL-terminated */
    char *value; /* NUL-terminated, as received */
} ent_http_header;

/*
 * One parsed request. Every pointer is owned by the request and freed by
 * ent_http_request_clear(). body is NUL-terminated (not counted in body_len)
 * so JSON parsers can read it directly; it is NULL when there is no body.
 */
typedef struct ent_http_request {
    char method[16]; /* "GET", "POST", ... */
    char *path;      /* the URL path, e.g. "/v1/status"; starts with '/' */
    char *query;     /* the part after '?', or NULL */
    ent_http_header headers[ENT_HTTP_MAX_HEADERS];
    size_t nheaders;
    uint8_t *body;
    size_t body_len;
    /* who makes the request (node/access/policy.h): set by the server
     * before the handler runs, borrowed for the call; NULL outside it */
    const struct ent_principal *principal;
    int transport;   /* ENT_HTTP_UNIX (0), ENT_HTTP_TCP, ENT_HTTP_TLS: set
                        by the server that read it */
    bool keep_alive; /* the client may send another request after this
                        one (HTTP/1.1 without "Connection: close") */
} ent_http_request;

/* Where a request came from (ent_http_request.transport). */
enum {
    ENT_HTTP_UNIX = 0, /* HOME/api.sock: no credentials mean the operator */
    ENT_HTTP_TCP = 1,  /* the TCP API in plain HTTP (loopback by default) */
    ENT_HTTP_TLS = 2,  /* the TCP API under TLS */
};

/* Frees what req owns and zeroes it. Accepts a zeroed request. */
void ent_http_request_clear(ent_http_request *req);

/* Value of header name (case-insensitive), or NULL. Borrowed from req. */
const char *ent_http_request_header(const ent_http_request *req,
                                    const char *name);

/*
 * Parses the body of req as one JSON value into *out (caller json_decref()s).
 * An empty body gives ENT_ENOENT. @return ENT_OK, ENT_ENOENT, ENT_EPROTO.
 */
int ent_http_request_json(const ent_http_request *req, json_t **out);

/* ---- incremental parser (used by the server) ---------------------------- */

typedef struct ent_http_parser ent_http_parser;

/* Allocates a parser for one request. Free with ent_http_parser_free(). */
int ent_http_parser_new(ent_http_parser **out);

/* Frees p and any request it still holds. Accepts NULL. */
void ent_http_parser_free(ent_http_parser *p);

/*
 * Feeds len bytes. Sets *complete once a whole request has been read; bytes
 * after the end of the request are counted in *trailing (when non-NULL) and
 * otherwise ignored. After an error the parser accepts nothing more.
 * @return ENT_OK, ENT_EPROTO (malformed), ENT_ETOOBIG (over a limit),
 *         ENT_ENOMEM.
 */
int ent_http_parser_feed(ent_http_parser *p, const uint8_t *buf, size_t len,
                         bool *complete, size_t *trailing);

/* The request being built; complete once feed said so. Owned by p. */
ent_http_request *ent_http_parser_request(ent_http_parser *p);

/* Whether the request line and every header have been read. */
bool ent_http_parser_head_done(const ent_http_parser *p);

/* A static, human-readable reason for the last error ("header too large"). */
const char *ent_http_parser_reason(const ent_http_parser *p);

/*
 * Parses exactly one whole request from buf. On success *out owns the
 * request (ent_http_request_clear() it); on failure *out is zeroed.
 * @return ENT_OK, ENT_EAGAIN (incomplete), ENT_EPROTO (malformed or trailing
 *         bytes), ENT_ETOOBIG, ENT_ENOMEM.
 */
int ent_http_parse(const uint8_t *buf, size_t len, ent_http_request *out);

/* ---- responses ------------------------------------------------------------ */

struct ent_api_stream;

/*
 * A streamed answer (spec/api.md "Streams"): instead of a JSON body, the
 * server sends the head (status 200, Content-Type content_type, no
 * Content-Length, "Connection: close"), then calls start() with the
 * stream the handler writes to (node/api/route.h). drain() (may be NULL)
 * runs when everything written so far has gone out; closed() runs exactly
 * once when the stream ends (client gone, reader too slow, node stopping,
 * ent_api_stream_end) or when the answer is not streamed after all (an
 * error replaced it, too many streams): it frees data. After closed()
 * the stream must not be used.
 */
typedef struct ent_http_stream_ops {
    const char *content_type; /* e.g. "text/event-stream" */
    void (*start)(void *data, struct ent_api_stream *s);
    void (*drain)(void *data);
    void (*closed)(void *data);
} ent_http_stream_ops;

/* A response under construction; handlers fill it, the server sends it. */
typedef struct ent_http_response {
    int status;        /* HTTP status code; 0 until set */
    json_t *body;      /* owned; sent as application/json */
    char allow[64];    /* "Allow" header value for 405, or "" */
    char *text;        /* owned; sent as is when body is NULL */
    size_t text_len;
    const char *content_type; /* of text; static */
    char set_cookie[256]; /* "Set-Cookie" header value, or "" */
    unsigned retry_after; /* "Retry-After" in seconds (429), 0: none */
    const char *headers;  /* static header lines, each ending in CRLF, or
                             NULL (the web page's, node/web/web.h) */
    /* a streamed answer instead of body (status 200); stream_data is owned
     * until the server takes both (ent_http_response_clear() and a new
     * status or error call stream->closed(stream_data)) */
    const ent_http_stream_ops *stream;
    void *stream_data;
} ent_http_response;

/* Makes resp a streamed answer (status 200) over ops with data. */
void ent_http_response_stream(ent_http_response *resp,
                              const ent_http_stream_ops *ops, void *data);

/* The head of a streamed answer ("HTTP/1.1 200 OK", its Content-Type,
 * "Cache-Control: no-store", "Connection: close"). *out is malloc'ed. */
int ent_http_stream_head_serialize(const ent_http_stream_ops *ops, char **out,
                                   size_t *len);

/* Sets status and body; takes the reference to body (may be NULL). */
void ent_http_response_json(ent_http_response *resp, int status, json_t *body);

/*
 * Sets an error response {"error":{"code":ent_err_name(err),"message":...,
 * "field":null}}, the one shape of every error (spec/api.md "Errors").
 * @return err, so handlers can `return ent_http_response_error(...)`.
 */
int ent_http_response_error(ent_http_response *resp, int status, int err,
                            const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * The same with "field": the input field the error is about (a body key, a
 * query parameter, a path parameter); NULL gives null.
 */
int ent_http_response_error_field(ent_http_response *resp, int status, int err,
                                  const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/*
 * Sets status and a body that is not JSON (GET /metrics): text (malloc'ed,
 * len bytes) is taken over and sent as is with content_type (static).
 */
void ent_http_response_text(ent_http_response *resp, int status,
                            const char *content_type, char *text, size_t len);

/* Releases the body. */
void ent_http_response_clear(ent_http_response *resp);

/* The reason phrase of an HTTP status code ("Not Found"). */
const char *ent_http_status_text(int status);

/*
 * Serialises resp as an HTTP/1.1 response with Content-Length and
 * "Connection: close". *out is malloc'ed; the caller frees it.
 */
int ent_http_response_serialize(const ent_http_response *resp, char **out,
                                size_t *len);

/*
 * The same for the TCP API: "Connection: keep-alive" when keep_alive (else
 * close), "Cache-Control: no-store" and "X-Content-Type-Options: nosniff"
 * on every answer, and "WWW-Authenticate: Bearer realm="entente"" on a 401.
 */
int ent_http_response_serialize_tcp(const ent_http_response *resp,
                                    bool keep_alive, char **out, size_t *len);

/*
 * Serialises a request (used by the client): method, path, optional JSON body
 * (compact), "Host: localhost", "Connection: close". *out is malloc'ed.
 */
int ent_http_request_serialize(const char *method, const char *path,
                               const json_t *body, char **out, size_t *len);

/* The same with "Authorization: Bearer BEARER" (NULL: none); a bearer with
 * blanks or control characters is ENT_EINVAL. */
int ent_http_request_serialize_auth(const char *method, const char *path,
                                    const json_t *body, const char *bearer,
                                    char **out, size_t *len);
/* The same with the body given as JSON text (b, blen bytes; NULL: none),
 * sent as it is. */
int ent_http_request_serialize_text(const char *method, const char *path,
                                    const char *b, size_t blen,
                                    const char *bearer, char **out,
                                    size_t *len);

/*
 * Parses one whole HTTP/1.1 response (read until the server closed): status
 * code and body. *body is malloc'ed and NUL-terminated (caller frees), NULL
 * when empty. @return ENT_OK, ENT_EPROTO, ENT_ETOOBIG, ENT_ENOMEM.
 */
int ent_http_parse_response(const uint8_t *buf, size_t len, int *status,
                            uint8_t **body, size_t *body_len);

#endif
