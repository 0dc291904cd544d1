/*
 * http.c - the HTTP/1.1 framing of the local API over http-parser: parsing
 * requests incrementally within the size limits of http.h (head, body,
 * headers), and encoding responses (status line, headers, JSON body). It
 * knows nothing of routes or of the node; the CLI's client uses its
 * response side. See http.h.
 */
#include "node/api/http.h"
#include "node/err.h"

#include <http_parser.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Framing bytes (chunk sizes, CRLFs, trailers) allowed beyond head + body. */
#define HTTP_MAX_FRAMING (64u * 1024u)

struct ent_http_parser {
    http_parser hp;
    http_parser_settings settings;
    ent_http_request req;
    char *url;          /* raw request target, NUL-terminated */
    size_t url_len;
    size_t body_cap;
    size_t head_bytes;  /* bytes fed before the headers completed */
    size_t total_bytes; /* bytes consumed in all */
    const char *chunk_start; /* the piece being executed, for callbacks */
    const char *chunk_end;
    bool in_value;      /* the last header callback was a value */
    bool field_open;    /* the last field ended at the end of its piece */
    bool headers_done;
    bool done;
    int err;            /* sticky error; ENT_OK while healthy */
    const char *reason; /* static text for err */
};

void ent_http_request_clear(ent_http_request *req) {
    if (req == NULL)
        return;
    free(req->path);
    free(req->query);
    for (size_t i = 0; i < req->nheaders; i++) {
        free(req->headers[i].name);
        free(req->headers[i].value);
    }
    free(req->body);
    memset(req, 0, sizeof(*req));
}

const char *ent_http_request_header(const ent_http_request *req,
                                    const char *name) {
    for (size_t i = 0; i < req->nheaders; i++) {
        if (req->headers[i].name != NULL &&
            strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value != NULL ? req->headers[i].value : "";
    }
    return NULL;
}

int ent_http_request_json(const ent_http_request *req, json_t **out) {
    *out = NULL;
    if (req->body == NULL || req->body_len == 0)
        return ENT_ENOENT;
    json_error_t jerr;
    json_t *v = json_loadb((const char *)req->body, req->body_len,
                           JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (v == NULL)
        return ENT_EPROTO;
    *out = v;
    return ENT_OK;
}

/* ---- parser callbacks ------------------------------------------------------ */

static int fail(ent_http_parser *p, int err, const char *reason) {
    if (p->err == ENT_OK) {
        p->err = err;
        p->reason = reason;
    }
    return -1;
}

/* Appends len bytes to the NUL-terminated string *s of length *slen. */
static int append(char **s, size_t *slen, const char *at, size_t len) {
    char *n = realloc(*s, *slen + len + 1);
    if (n == NULL)
        return ENT_ENOMEM;
    memcpy(n + *slen, at, len);
    *slen += len;
    n[*slen] = '\0';
    *s = n;
    return ENT_OK;
}

static int on_message_begin(http_parser *hp) {
    (void)hp;
    return 0;
}

static int on_url(http_parser *hp, const char *at, size_t len) {
    ent_http_parser *p = hp->data;
    if (append(&p->url, &p->url_len, at, len) != ENT_OK)
        return fail(p, ENT_ENOMEM, "out of memory");
    return 0;
}

static int on_header_field(http_parser *hp, const char *at, size_t len) {
    ent_http_parser *p = hp->data;
    ent_http_request *r = &p->req;
    if (p->headers_done) /* trailers after a chunked body: ignored */
        return 0;
    /* A field arrives in several callbacks only when it straddles two
     * pieces of input; an empty value gives no value callback at all. */
    bool cont = r->nheaders > 0 && !p->in_value && p->field_open &&
                at == p->chunk_start;
    p->field_open = (at + len == p->chunk_end);
    if (!cont) {
        if (r->nheaders == ENT_HTTP_MAX_HEADERS)
            return fail(p, ENT_ETOOBIG, "too many header lines");
        r->nheaders++;
        p->in_value = false;
    }
    ent_http_header *h = &r->headers[r->nheaders - 1];
    size_t n = h->name != NULL ? strlen(h->name) : 0;
    if (append(&h->name, &n, at, len) != ENT_OK)
        return fail(p, ENT_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        h->name[i] = (char)tolower((unsigned char)h->name[i]);
    return 0;
}

static int on_header_value(http_parser *hp, const char *at, size_t len) {
    ent_http_parser *p = hp->data;
    ent_http_request *r = &p->req;
    if (p->headers_done || r->nheaders == 0)
        return 0;
    p->in_value = true;
    p->field_open = false;
    ent_http_header *h = &r->headers[r->nheaders - 1];
    size_t n = h->value != NULL ? strlen(h->value) : 0;
    if (append(&h->value, &n, at, len) != ENT_OK)
        return fail(p, ENT_ENOMEM, "out of memory");
    return 0;
}

/* Splits the request target into path and query; origin-form only. */
static int split_url(ent_http_parser *p) {
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (p->url == NULL || p->url_len == 0 || p->url[0] != '/' ||
        http_parser_parse_url(p->url, p->url_len, 0, &u) != 0)
        return fail(p, ENT_EPROTO, "bad request target");
    if ((u.field_set & (1 << UF_SCHEMA)) || (u.field_set & (1 << UF_HOST)) ||
        (u.field_set & (1 << UF_FRAGMENT)) || !(u.field_set & (1 << UF_PATH)))
        return fail(p, ENT_EPROTO, "bad request target");
    p->req.path = strndup(p->url + u.field_data[UF_PATH].off,
                          u.field_data[UF_PATH].len);
    if (p->req.path == NULL)
        return fail(p, ENT_ENOMEM, "out of memory");
    if (u.field_set & (1 << UF_QUERY)) {
        p->req.query = strndup(p->url + u.field_data[UF_QUERY].off,
                               u.field_data[UF_QUERY].len);
        if (p->req.query == NULL)
            return fail(p, ENT_ENOMEM, "out of memory");
    }
    return 0;
}

static int on_headers_complete(http_parser *hp) {
    ent_http_parser *p = hp->data;
    p->headers_done = true;
    if (hp->http_major != 1)
        return fail(p, ENT_EPROTO, "unsupported HTTP version");
    if (hp->upgrade)
        return fail(p, ENT_EPROTO, "upgrade not supported");
    const char *m = http_method_str((enum http_method)hp->method);
    if (strlen(m) >= sizeof(p->req.method))
        return fail(p, ENT_EPROTO, "bad method");
    strcpy(p->req.method, m);
    p->req.keep_alive = http_should_keep_alive(hp) != 0;
    if (split_url(p) != 0)
        return -1;
    if (!(hp->flags & F_CHUNKED) && hp->content_length != UINT64_MAX) {
        if (hp->content_length > ENT_HTTP_MAX_BODY)
            return fail(p, ENT_ETOOBIG, "body too large");
        if (hp->content_length > 0) {
            p->body_cap = (size_t)hp->content_length;
            p->req.body = malloc(p->body_cap + 1);
            if (p->req.body == NULL)
                return fail(p, ENT_ENOMEM, "out of memory");
            p->req.body[0] = '\0';
        }
    }
    return 0;
}

static int on_body(http_parser *hp, const char *at, size_t len) {
    ent_http_parser *p = hp->data;
    ent_http_request *r = &p->req;
    if (len > ENT_HTTP_MAX_BODY - r->body_len)
        return fail(p, ENT_ETOOBIG, "body too large");
    if (r->body_len + len > p->body_cap) {
        size_t cap = p->body_cap ? p->body_cap : 1024;
        while (cap < r->body_len + len)
            cap *= 2;
        if (cap > ENT_HTTP_MAX_BODY)
            cap = ENT_HTTP_MAX_BODY;
        uint8_t *nb = realloc(r->body, cap + 1);
        if (nb == NULL)
            return fail(p, ENT_ENOMEM, "out of memory");
        r->body = nb;
        p->body_cap = cap;
    }
    memcpy(r->body + r->body_len, at, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return 0;
}

static int on_message_complete(http_parser *hp) {
    ent_http_parser *p = hp->data;
    p->done = true;
    http_parser_pause(hp, 1); /* one request per connection */
    return 0;
}

int ent_http_parser_new(ent_http_parser **out) {
    ent_http_parser *p = calloc(1, sizeof(*p));
    *out = NULL;
    if (p == NULL)
        return ENT_ENOMEM;
    http_parser_init(&p->hp, HTTP_REQUEST);
    p->hp.data = p;
    http_parser_settings_init(&p->settings);
    p->settings.on_message_begin = on_message_begin;
    p->settings.on_url = on_url;
    p->settings.on_header_field = on_header_field;
    p->settings.on_header_value = on_header_value;
    p->settings.on_headers_complete = on_headers_complete;
    p->settings.on_body = on_body;
    p->settings.on_message_complete = on_message_complete;
    *out = p;
    return ENT_OK;
}

void ent_http_parser_free(ent_http_parser *p) {
    if (p == NULL)
        return;
    ent_http_request_clear(&p->req);
    free(p->url);
    free(p);
}

ent_http_request *ent_http_parser_request(ent_http_parser *p) {
    return &p->req;
}

bool ent_http_parser_head_done(const ent_http_parser *p) {
    return p->headers_done;
}

const char *ent_http_parser_reason(const ent_http_parser *p) {
    return p->reason != NULL ? p->reason : "no error";
}

/*
 * Runs http-parser over buf in pieces: until the headers are complete, never
 * more than what is left of the ENT_HTTP_MAX_HEAD budget, so an endless header
 * is cut off at exactly the limit whatever the chunking of the input.
 */
int ent_http_parser_feed(ent_http_parser *p, const uint8_t *buf, size_t len,
                         bool *complete, size_t *trailing) {
    size_t off = 0;
    if (trailing != NULL)
        *trailing = 0;
    *complete = p->done;
    if (p->err != ENT_OK)
        return p->err;
    if (p->done) {
        if (trailing != NULL)
            *trailing = len;
        return ENT_OK;
    }
    while (off < len && !p->done) {
        size_t chunk = len - off;
        if (!p->headers_done) {
            size_t room = ENT_HTTP_MAX_HEAD - p->head_bytes;
            if (room == 0) {
                fail(p, ENT_ETOOBIG, "request head too large");
                break;
            }
            if (chunk > room)
                chunk = room;
        }
        if (chunk > ENT_HTTP_MAX_HEAD + ENT_HTTP_MAX_BODY + HTTP_MAX_FRAMING -
                        p->total_bytes) {
            fail(p, ENT_ETOOBIG, "request too large");
            break;
        }
        bool head_before = p->headers_done;
        p->chunk_start = (const char *)buf + off;
        p->chunk_end = p->chunk_start + chunk;
        size_t n = http_parser_execute(&p->hp, &p->settings,
                                       (const char *)buf + off, chunk);
        if (p->err != ENT_OK)
            break;
        enum http_errno he = HTTP_PARSER_ERRNO(&p->hp);
        if (he != HPE_OK && !(he == HPE_PAUSED && p->done)) {
            fail(p, ENT_EPROTO, http_errno_description(he));
            break;
        }
        if (!head_before && !p->headers_done)
            p->head_bytes += n;
        p->total_bytes += n;
        off += n;
        if (n < chunk && !p->done) {
            fail(p, ENT_EPROTO, "parser stopped early");
            break;
        }
    }
    if (p->err != ENT_OK)
        return p->err;
    *complete = p->done;
    if (p->done && trailing != NULL)
        *trailing = len - off;
    return ENT_OK;
}

int ent_http_parse(const uint8_t *buf, size_t len, ent_http_request *out) {
    ent_http_parser *p = NULL;
    bool complete = false;
    size_t trailing = 0;
    memset(out, 0, sizeof(*out));
    int rc = ent_http_parser_new(&p);
    if (rc != ENT_OK)
        goto out;
    rc = ent_http_parser_feed(p, buf, len, &complete, &trailing);
    if (rc != ENT_OK)
        goto out;
    if (!complete) {
        rc = ENT_EAGAIN;
        goto out;
    }
    if (trailing != 0) {
        rc = ENT_EPROTO;
        goto out;
    }
    *out = p->req;
    memset(&p->req, 0, sizeof(p->req));
out:
    ent_http_parser_free(p);
    return rc;
}

/* ---- responses ------------------------------------------------------------ */

/* A stream the answer no longer is: its owner hears it closed. */
static void drop_stream(ent_http_response *resp) {
    const ent_http_stream_ops *ops = resp->stream;
    void *data = resp->stream_data;
    resp->stream = NULL;
    resp->stream_data = NULL;
    if (ops != NULL && ops->closed != NULL)
        ops->closed(data);
}

void ent_http_response_stream(ent_http_response *resp,
                              const ent_http_stream_ops *ops, void *data) {
    ent_http_response_json(resp, 200, NULL);
    resp->stream = ops;
    resp->stream_data = data;
}

int ent_http_stream_head_serialize(const ent_http_stream_ops *ops, char **out,
                                   size_t *len) {
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 200 OK\r\n"
                     "Content-Type: %s\r\n"
                     "Cache-Control: no-store\r\n"
                     "Connection: close\r\n"
                     "\r\n",
                     ops->content_type != NULL ? ops->content_type
                                               : "application/octet-stream");
    *out = NULL;
    if (n < 0 || (size_t)n >= sizeof(head))
        return ENT_EINVAL;
    if ((*out = strdup(head)) == NULL)
        return ENT_ENOMEM;
    *len = (size_t)n;
    return ENT_OK;
}

void ent_http_response_json(ent_http_response *resp, int status, json_t *body) {
    drop_stream(resp);
    if (resp->body != NULL)
        json_decref(resp->body);
    free(resp->text);
    resp->text = NULL;
    resp->text_len = 0;
    resp->content_type = NULL;
    resp->status = status;
    resp->body = body;
}

/* The one error body: {"error":{"code","message","field"}}. */
static int response_error_v(ent_http_response *resp, int status, int err,
                            const char *field, const char *fmt, va_list ap) {
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    json_t *body = json_pack("{s:{s:s,s:s,s:o}}", "error", "code",
                             ent_err_name(err), "message", msg, "field",
                             field != NULL ? json_string(field) : json_null());
    ent_http_response_json(resp, status, body);
    return err;
}

int ent_http_response_error(ent_http_response *resp, int status, int err,
                            const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    response_error_v(resp, status, err, NULL, fmt, ap);
    va_end(ap);
    return err;
}

int ent_http_response_error_field(ent_http_response *resp, int status, int err,
                                  const char *field, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    response_error_v(resp, status, err, field, fmt, ap);
    va_end(ap);
    return err;
}

void ent_http_response_text(ent_http_response *resp, int status,
                            const char *content_type, char *text, size_t len) {
    json_decref(resp->body);
    resp->body = NULL;
    free(resp->text);
    resp->status = status;
    resp->text = text;
    resp->text_len = len;
    resp->content_type = content_type;
}

void ent_http_response_clear(ent_http_response *resp) {
    drop_stream(resp);
    if (resp->body != NULL)
        json_decref(resp->body);
    free(resp->text);
    memset(resp, 0, sizeof(*resp));
}

const char *ent_http_status_text(int status) {
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

static int serialize(const ent_http_response *resp, bool tcp, bool keep_alive,
                     char **out, size_t *len);

int ent_http_response_serialize(const ent_http_response *resp, char **out,
                                size_t *len) {
    return serialize(resp, false, false, out, len);
}

int ent_http_response_serialize_tcp(const ent_http_response *resp,
                                    bool keep_alive, char **out, size_t *len) {
    return serialize(resp, true, keep_alive, out, len);
}

static int serialize(const ent_http_response *resp, bool tcp, bool keep_alive,
                     char **out, size_t *len) {
    char *body = NULL;
    size_t blen = 0;
    int rc = ENT_OK;
    *out = NULL;
    *len = 0;
    /* a text body goes as it is; a JSON one gets a newline */
    bool text = resp->text != NULL && resp->body == NULL;
    if (text) {
        body = resp->text;
        blen = resp->text_len;
    } else if (resp->body != NULL) {
        body = json_dumps(resp->body, JSON_COMPACT | JSON_ENCODE_ANY);
        if (body == NULL) {
            rc = ENT_ENOMEM;
            goto out;
        }
        blen = strlen(body);
    }
    size_t nl = body != NULL && !text ? 1 : 0;
    int status = resp->status ? resp->status : 500;
    char head[2048], retry[48] = "";
    /* a 503 (too many connections or streams, a restored node catching
     * up) always says when to come back */
    unsigned ra = resp->retry_after > 0 ? resp->retry_after
                  : status == 503       ? 5
                                        : 0;
    if (ra > 0)
        snprintf(retry, sizeof(retry), "Retry-After: %u\r\n", ra);
    int hn = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d %s\r\n"
                      "Content-Type: %s\r\n"
                      "Content-Length: %zu\r\n"
                      "Connection: %s\r\n"
                      "%s"
                      "%s%s%s"
                      "%s%s%s"
                      "%s%s"
                      "\r\n",
                      status, ent_http_status_text(status),
                      text && resp->content_type != NULL ? resp->content_type
                                                         : "application/json",
                      body != NULL ? blen + nl : 0,
                      keep_alive ? "keep-alive" : "close",
                      !tcp ? ""
                      : status == 401
                          ? "Cache-Control: no-store\r\n"
                            "X-Content-Type-Options: nosniff\r\n"
                            "WWW-Authenticate: Bearer realm=\"entente\"\r\n"
                          : "Cache-Control: no-store\r\n"
                            "X-Content-Type-Options: nosniff\r\n",
                      resp->allow[0] ? "Allow: " : "", resp->allow,
                      resp->allow[0] ? "\r\n" : "",
                      resp->set_cookie[0] ? "Set-Cookie: " : "",
                      resp->set_cookie, resp->set_cookie[0] ? "\r\n" : "",
                      retry, tcp && resp->headers != NULL ? resp->headers : "");
    if (hn < 0 || (size_t)hn >= sizeof(head)) {
        rc = ENT_EINVAL;
        goto out;
    }
    size_t total = (size_t)hn + (body != NULL ? blen + nl : 0);
    char *buf = malloc(total + 1);
    if (buf == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    memcpy(buf, head, (size_t)hn);
    if (body != NULL) {
        memcpy(buf + hn, body, blen);
        if (nl)
            buf[(size_t)hn + blen] = '\n';
    }
    buf[total] = '\0';
    *out = buf;
    *len = total;
out:
    if (!text)
        free(body);
    return rc;
}

int ent_http_request_serialize(const char *method, const char *path,
                               const json_t *body, char **out, size_t *len) {
    return ent_http_request_serialize_auth(method, path, body, NULL, out, len);
}

int ent_http_request_serialize_auth(const char *method, const char *path,
                                    const json_t *body, const char *bearer,
                                    char **out, size_t *len) {
    char *b = NULL;
    *out = NULL;
    *len = 0;
    if (body != NULL &&
        (b = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
        return ENT_ENOMEM;
    int rc = ent_http_request_serialize_text(method, path, b,
                                             b != NULL ? strlen(b) : 0,
                                             bearer, out, len);
    free(b);
    return rc;
}

int ent_http_request_serialize_text(const char *method, const char *path,
                                    const char *b, size_t blen,
                                    const char *bearer, char **out,
                                    size_t *len) {
    int rc = ENT_OK;
    char auth[512] = "";
    *out = NULL;
    *len = 0;
    if (strchr(path, '\r') != NULL || strchr(path, '\n') != NULL ||
        strchr(path, ' ') != NULL || path[0] != '/') {
        rc = ENT_EINVAL;
        goto out;
    }
    if (bearer != NULL) {
        for (const char *p = bearer; *p; p++)
            if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
                rc = ENT_EINVAL;
                goto out;
            }
        int al = snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n",
                          bearer);
        if (al < 0 || (size_t)al >= sizeof(auth)) {
            rc = ENT_EINVAL;
            goto out;
        }
    }
    int hn =
        snprintf(NULL, 0,
                 "%s %s HTTP/1.1\r\nHost: localhost\r\n%s"
                 "Connection: close\r\n%sContent-Length: %zu\r\n\r\n",
                 method, path, auth,
                 b != NULL ? "Content-Type: application/json\r\n" : "", blen);
    if (hn < 0) {
        rc = ENT_EINVAL;
        goto out;
    }
    char *buf = malloc((size_t)hn + blen + 1);
    if (buf == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    snprintf(buf, (size_t)hn + 1,
             "%s %s HTTP/1.1\r\nHost: localhost\r\n%s"
             "Connection: close\r\n%sContent-Length: %zu\r\n\r\n",
             method, path, auth,
             b != NULL ? "Content-Type: application/json\r\n" : "", blen);
    if (b != NULL)
        memcpy(buf + hn, b, blen);
    buf[(size_t)hn + blen] = '\0';
    *out = buf;
    *len = (size_t)hn + blen;
out:
    return rc;
}

/* ---- response parsing (client side) --------------------------------------- */

struct resp_state {
    uint8_t *body;
    size_t len;
    size_t cap;
    bool done;
    int err;
};

static int resp_on_body(http_parser *hp, const char *at, size_t len) {
    struct resp_state *s = hp->data;
    if (len > ENT_HTTP_MAX_RESPONSE - s->len) {
        s->err = ENT_ETOOBIG;
        return -1;
    }
    if (s->len + len + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + len + 1)
            cap *= 2;
        uint8_t *nb = realloc(s->body, cap);
        if (nb == NULL) {
            s->err = ENT_ENOMEM;
            return -1;
        }
        s->body = nb;
        s->cap = cap;
    }
    memcpy(s->body + s->len, at, len);
    s->len += len;
    s->body[s->len] = '\0';
    return 0;
}

static int resp_on_complete(http_parser *hp) {
    struct resp_state *s = hp->data;
    s->done = true;
    http_parser_pause(hp, 1);
    return 0;
}

int ent_http_parse_response(const uint8_t *buf, size_t len, int *status,
                            uint8_t **body, size_t *body_len) {
    http_parser hp;
    http_parser_settings st;
    struct resp_state s = {0};
    int rc = ENT_OK;
    *status = 0;
    *body = NULL;
    *body_len = 0;
    http_parser_init(&hp, HTTP_RESPONSE);
    hp.data = &s;
    http_parser_settings_init(&st);
    st.on_body = resp_on_body;
    st.on_message_complete = resp_on_complete;
    http_parser_execute(&hp, &st, (const char *)buf, len);
    if (!s.done && s.err == ENT_OK && HTTP_PARSER_ERRNO(&hp) == HPE_OK)
        http_parser_execute(&hp, &st, NULL, 0); /* end of stream */
    if (s.err != ENT_OK) {
        rc = s.err;
        goto out;
    }
    if (!s.done) {
        rc = ENT_EPROTO;
        goto out;
    }
    *status = (int)hp.status_code;
    *body = s.body;
    *body_len = s.len;
    s.body = NULL;
out:
    free(s.body);
    return rc;
}
