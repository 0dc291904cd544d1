/* fuzz_api_tcp.c - the TCP API's request path after TLS decryption
 * (node/api/api_tcp.c, spec/api.md "The TCP API"): the plaintext of one
 * connection goes through the incremental parser request after request
 * (keep-alive, pipelined bytes carried over as the server does), each
 * request is marked ENT_HTTP_TLS and dispatched with the rate limiter
 * through the access guard (bearer tokens, the session cookie, CSRF and
 * origin checks: node/api/api_access.c, node/api/api_session.c) into a real
 * node, and every answer is serialised as on TCP and parsed back.
 *
 * So that inputs reach past authentication, the two bytes 0x01 'S' in the
 * input stand for a live session's text, 0x01 'T' for a live bearer token
 * of a rep user, 0x01 'C' for the session's CSRF token and 0x01 'O' for an
 * object's id (made with the home).
 *
 * Invariants (abort on violation): no answer says "operator":true; a
 * request with neither Authorization nor Cookie is 401 unless it is POST
 * /v1/login; statuses are among 200 201 202 400 401 403 404 405 409 413
 * 429; every body parses back as JSON, an error body as
 * {"error":{"code","message"}}.
 *
 * Globals: libFuzzer's entry points take no context, so the harness keeps
 * its one node in the static `fz` (the fuzzer process, not library code).
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "crypto/crypto.h"
#include "node/access/access.h"
#include "node/api/api.h"
#include "node/api/api_access.h"
#include "node/api/api_session.h"
#include "node/api/http.h"
#include "node/api/ratelimit.h"
#include "node/daemon/daemon.h"
#include "node/err.h"
#include "node/home.h"
#include "node/node.h"

#define FUZZ_WRITES_PER_HOME 256
#define FUZZ_MAX_INPUT (256u * 1024u)

static struct {
    bool ready;
    char base[512], home[512];
    unsigned generation, writes;
    uv_loop_t loop;
    ent_node *node;
    ent_ratelimit *rl;
    char session[ENT_TOKEN_STRLEN + 1], token[ENT_TOKEN_STRLEN + 1];
    char csrf[ENT_CSRF_STRLEN + 1], obj[65];
    uint64_t clock;
} fz;

static void die(const char *what, int rc) {
    fprintf(stderr, "fuzz_api_tcp: %s: %s\n", what,
            rc != 0 ? ent_strerror(rc) : "invariant violated");
    abort();
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void home_open(void) {
    char org[ENT_ORG_ID_LEN + 1], err[256], id[ENT_TOKEN_ID_HEX + 1];
    ent_pwhash_cost cost;
    uint8_t oid[32];
    int rc;
    snprintf(fz.home, sizeof(fz.home), "%s/h%u", fz.base, fz.generation);
    if ((rc = ent_home_init(fz.home, "Fuzz Org", "127.0.0.1:0", NULL, org)) !=
            ENT_OK ||
        (rc = ent_daemon_open(&fz.node, &fz.loop, fz.home, NULL)) != ENT_OK)
        die("opening a home", rc);
    ent_store *s = ent_node_store(fz.node);
    ent_pwhash_cost_min(&cost);
    const char *k[] = {"region"}, *v[] = {"EMEA"};
    ent_user_spec u = {.name = "rep", .role = "rep", .set_keys = k,
                       .set_vals = v, .nset = 1, .disabled = -1,
                       .password = "Fuzz-password-1"};
    uint32_t pid;
    if ((rc = ent_access_user_add(s, &u, &cost, 1, err, sizeof(err))) !=
            ENT_OK ||
        (rc = ent_access_policy_add(s,
                                    "allow role=rep read,create,change "
                                    "opportunity where region=$user.region",
                                    &pid, err, sizeof(err))) != ENT_OK ||
        (rc = ent_access_policy_add(s, "deny role=rep read opportunity.memo",
                                    &pid, err, sizeof(err))) != ENT_OK ||
        (rc = ent_access_session_create(s, "rep", ent_api_now_ms(),
                                        fz.session, id)) != ENT_OK ||
        (rc = ent_access_token_create(s, "rep", ENT_ACT_ALL, 0, 1, fz.token,
                                      id)) != ENT_OK)
        die("users and credentials", rc);
    ent_access_session_csrf(fz.session, fz.csrf);
    /* an object, made by the operator on the socket's path */
    static const char create[] =
        "POST /v1/objects HTTP/1.1\r\nContent-Length: 85\r\n\r\n"
        "{\"type\":\"opportunity\",\"set\":{\"name\":\"F\",\"region\":\"EMEA\"},"
        "\"private\":{\"memo\":\"secret\"}}";
    ent_http_request req;
    ent_http_response resp = {0};
    if ((rc = ent_http_parse((const uint8_t *)create, sizeof(create) - 1,
                             &req)) != ENT_OK)
        die("parsing the create request", rc);
    ent_api_dispatch(fz.node, &req, &resp);
    const char *hex = json_string_value(json_object_get(resp.body, "id"));
    if (resp.status != 201 || hex == NULL || strlen(hex) != 64 ||
        ent_hex_decode(oid, sizeof(oid), hex) != ENT_OK)
        die("creating the object", 0);
    memcpy(fz.obj, hex, 65);
    ent_http_response_clear(&resp);
    ent_http_request_clear(&req);
    fz.writes = 0;
}

static void home_close(void) {
    ent_node_stop(fz.node, NULL, NULL);
    uv_run(&fz.loop, UV_RUN_NOWAIT);
    ent_node_free(fz.node);
    fz.node = NULL;
    nftw(fz.home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    fz.generation++;
}

static void fuzz_cleanup(void) {
    if (!fz.ready)
        return;
    home_close();
    uv_loop_close(&fz.loop);
    ent_ratelimit_free(fz.rl);
    nftw(fz.base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    fz.ready = false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    struct stat st;
    const char *tmp = "/tmp";
    if (stat("/dev/shm", &st) == 0 && access("/dev/shm", W_OK) == 0)
        tmp = "/dev/shm";
    snprintf(fz.base, sizeof(fz.base), "%s/fuzz_api_tcp.XXXXXX", tmp);
    if (mkdtemp(fz.base) == NULL || ent_crypto_init() != ENT_OK ||
        uv_loop_init(&fz.loop) != 0 ||
        ent_ratelimit_new(&fz.rl, 1000, 50, 64) != ENT_OK)
        die("setting up", ENT_EIO);
    home_open();
    fz.ready = true;
    atexit(fuzz_cleanup);
    return 0;
}

static bool admit(void *data, const struct ent_principal *who,
                  uint64_t *retry_ms) {
    (void)data;
    fz.clock += 7; /* a fake clock: a few ms per request */
    return ent_ratelimit_take(fz.rl, who != NULL ? who->token : "a:ip",
                              fz.clock, retry_ms);
}

/* Expands the 0x01 X placeholders into *out (malloc'ed). */
static size_t expand(const uint8_t *in, size_t len, uint8_t **out) {
    size_t cap = len * 86 + 1, n = 0;
    uint8_t *b = malloc(cap);
    if (b == NULL)
        die("malloc", ENT_ENOMEM);
    for (size_t i = 0; i < len; i++) {
        const char *sub = NULL;
        if (in[i] == 0x01 && i + 1 < len) {
            switch (in[i + 1]) {
            case 'S': sub = fz.session; break;
            case 'T': sub = fz.token; break;
            case 'C': sub = fz.csrf; break;
            case 'O': sub = fz.obj; break;
            default: break;
            }
        }
        if (sub != NULL) {
            memcpy(b + n, sub, strlen(sub));
            n += strlen(sub);
            i++;
        } else {
            b[n++] = in[i];
        }
    }
    *out = b;
    return n;
}

static void check(const ent_http_request *req, const ent_http_response *resp) {
    static const int ok[] = {200, 201, 202, 400, 401, 403,
                             404, 405, 409, 413, 429};
    bool known = false;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        known |= resp->status == ok[i];
    if (!known) {
        fprintf(stderr, "status %d for %s %s\n", resp->status, req->method,
                req->path);
        die("unexpected status", 0);
    }
    if (ent_http_request_header(req, "authorization") == NULL &&
        ent_http_request_header(req, "cookie") == NULL &&
        !(strcmp(req->method, "POST") == 0 &&
          strcmp(req->path, "/v1/login") == 0) &&
        resp->status != 401 && resp->status != 429)
        die("a request without credentials was not refused 401", 0);
    if (json_is_true(json_object_get(resp->body, "operator")))
        die("a TCP request acted as the operator", 0);
    char *wire = NULL;
    size_t wl = 0, bl = 0;
    uint8_t *body = NULL;
    int status = 0, rc;
    if ((rc = ent_http_response_serialize_tcp(resp, true, &wire, &wl)) !=
            ENT_OK ||
        (rc = ent_http_parse_response((const uint8_t *)wire, wl, &status,
                                      &body, &bl)) != ENT_OK)
        die("the answer does not go through the wire", rc);
    if (status != resp->status)
        die("status changed on the wire", 0);
    json_t *j = json_loadb((const char *)body, bl, JSON_DECODE_ANY, NULL);
    if (j == NULL)
        die("body is not JSON", 0);
    if (status >= 400) {
        json_t *e = json_object_get(j, "error");
        if (json_string_value(json_object_get(e, "code")) == NULL ||
            json_string_value(json_object_get(e, "message")) == NULL)
            die("error body is not {\"error\":{\"code\",\"message\"}}", 0);
    }
    json_decref(j);
    free(body);
    free(wire);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = NULL;
    if (size > FUZZ_MAX_INPUT)
        return 0;
    size_t len = expand(data, size, &buf), off = 0;
    bool wrote = false;
    /* one connection: request after request until the bytes run out or
     * the framing fails (the server answers 400/413 and closes) */
    for (int n = 0; off < len && n < 32; n++) {
        ent_http_parser *p = NULL;
        bool complete = false;
        size_t trailing = 0;
        if (ent_http_parser_new(&p) != ENT_OK)
            die("parser", ENT_ENOMEM);
        int rc = ent_http_parser_feed(p, buf + off, len - off, &complete,
                                      &trailing);
        if (rc != ENT_OK || !complete) {
            ent_http_parser_free(p);
            break;
        }
        ent_http_request *req = ent_http_parser_request(p);
        ent_http_response resp = {0};
        req->transport = ENT_HTTP_TLS;
        ent__api_dispatch_admit(fz.node, req, &resp, admit, NULL);
        check(req, &resp);
        wrote |= resp.status < 300 && strcmp(req->method, "GET") != 0;
        ent_http_response_clear(&resp);
        ent_http_parser_free(p);
        off = len - trailing;
    }
    free(buf);
    if (wrote && ++fz.writes >= FUZZ_WRITES_PER_HOME) {
        home_close();
        home_open();
    }
    return 0;
}
