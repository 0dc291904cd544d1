/* fuzz_api_json.c - the JSON bodies of the local API's write endpoints
 * (node/api/api.c routing, node/api/api_objects.c handlers, the object engine and
 * the template and configuration tables behind them).
 *
 * Drives the real request path without sockets: the input becomes
 * "METHOD PATH HTTP/1.1\r\nContent-Length: N\r\n\r\nBODY", is parsed with
 * ent_http_parse() and routed with ent_api_dispatch() into a real node
 * opened over a temporary home made by ent_home_init() (what `entente init`
 * runs). The response is then serialised and parsed back as the client
 * would.
 *
 * Input: byte 0 picks the endpoint (byte % 7) and a variant of its path
 * (byte / 7 % 4); the rest is the body.
 *
 *   0  POST /v1/objects
 *   1  POST /v1/objects/ID              variant 3: an unknown ID
 *   2  POST /v1/objects/ID/stage        variant 3: an unknown ID
 *   3  POST /v1/objects/ID/comments     variant 3: an unknown ID
 *   4  PUT  /v1/templates/TYPE          TYPE from tpl_types[variant]
 *   5  PUT  /v1/config/NAME             NAME from cfg_names[variant]
 *   6  PUT  /v1/config
 *
 * Invariants (abort on violation): the synthesised request parses; the
 * status is one of 200/201/400/403/404/409/413; every response body
 * survives serialisation and parses back as JSON; a 2xx body is a JSON
 * object or array ({"id":ID} with the right ID for the object endpoints,
 * 201 only from create); an error body is {"error":{"code","message","field"}}.
 *
 * State: the node lives across inputs so that set/stage/comment reach a
 * real object (created when the home is made). To keep the store from
 * growing without bound, the home is thrown away and a fresh one made after
 * FUZZ_WRITES_PER_HOME successful writes (a deterministic function of the
 * input sequence). A crash found late in a run may therefore need the
 * inputs before it; the first input after start always sees a fresh home.
 *
 * Globals: the no-mutable-globals rule is for library code. This file is
 * the fuzzer process itself, and libFuzzer's entry points take no context,
 * so the harness keeps its one node in the static `fz` below.
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
#include "node/api/api.h"
#include "node/api/api_objects.h"
#include "node/err.h"
#include "node/home.h"
#include "node/api/http.h"
#include "node/daemon/daemon.h"
#include "node/node.h"

#define FUZZ_WRITES_PER_HOME 256 /* successful writes before a fresh home */
#define FUZZ_PATH_MAX 512

static const char *const tpl_types[4] = {"opportunity", "lead",
                                         "partner_review", "x"};
static const char *const cfg_names[4] = {"regions", "stages", "industries",
                                         "forecast_categories"};
/* an id no object has */
static const char unknown_id[ENT_API_OBJ_ID_HEX + 1] =
    "00000000000000000000000000000000"
    "00000000000000000000000000000000";

static struct {
    bool ready;
    char base[FUZZ_PATH_MAX]; /* mkdtemp folder holding the homes */
    char home[FUZZ_PATH_MAX]; /* current home, base/hN */
    unsigned generation;      /* N of the current home */
    uv_loop_t loop;
    ent_node *node;
    char obj[ENT_API_OBJ_ID_HEX + 1]; /* the object made with the home */
    unsigned writes;                  /* successful writes in this home */
    bool trace; /* FUZZ_API_JSON_TRACE set: print each request's status */
} fz;

static void die(const char *what, int rc) {
    fprintf(stderr, "fuzz_api_json: %s: %s\n", what,
            rc != 0 ? ent_strerror(rc) : "invariant violated");
    abort();
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void rm_tree(const char *path) {
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * Builds the request for (method, path, body) with the real parser and
 * dispatches it. The caller ent_http_response_clear()s resp. Returns
 * ENT_ETOOBIG (and leaves resp empty) for a body over the parser's limit.
 */
static int run_request(const char *method, const char *path,
                       const uint8_t *body, size_t body_len,
                       ent_http_response *resp) {
    char head[FUZZ_PATH_MAX + 128];
    ent_http_request req;
    int hl = snprintf(head, sizeof(head),
                      "%s %s HTTP/1.1\r\nHost: localhost\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      method, path, body_len);
    if (hl < 0 || (size_t)hl >= sizeof(head))
        die("request head too long", 0);
    uint8_t *buf = malloc((size_t)hl + body_len + 1);
    if (buf == NULL)
        die("malloc", ENT_ENOMEM);
    memcpy(buf, head, (size_t)hl);
    if (body_len > 0)
        memcpy(buf + hl, body, body_len);
    int rc = ent_http_parse(buf, (size_t)hl + body_len, &req);
    free(buf);
    memset(resp, 0, sizeof(*resp));
    if (body_len > ENT_HTTP_MAX_BODY) {
        if (rc != ENT_ETOOBIG)
            die("oversized body not refused with ENT_ETOOBIG", rc);
        return ENT_ETOOBIG;
    }
    if (rc != ENT_OK)
        die("synthesised request does not parse", rc);
    if (strcmp(req.method, method) != 0 || strcmp(req.path, path) != 0 ||
        req.query != NULL || req.body_len != body_len ||
        (body_len > 0 && memcmp(req.body, body, body_len) != 0))
        die("parsed request differs from the one built", 0);
    ent_api_dispatch(fz.node, &req, resp);
    ent_http_request_clear(&req);
    return ENT_OK;
}

/* Makes base/hN with ent_home_init, opens the node and creates the object
 * that the set, stage and comment endpoints target. */
static void home_open(void) {
    char org[ENT_ORG_ID_LEN + 1];
    ent_http_response resp;
    static const char create[] =
        "{\"type\":\"opportunity\",\"set\":{\"name\":\"Fuzz deal\","
        "\"close_date\":\"2026-03-31\"},\"private\":{\"deal_size\":"
        "\"1200000 EUR\"}}";
    int rc;
    snprintf(fz.home, sizeof(fz.home), "%s/h%u", fz.base, fz.generation);
    if ((rc = ent_home_init(fz.home, "Fuzz Org", "127.0.0.1:0", NULL, org)) !=
        ENT_OK)
        die("ent_home_init", rc);
    if ((rc = ent_daemon_open(&fz.node, &fz.loop, fz.home, NULL)) != ENT_OK)
        die("ent_node_open", rc);
    run_request("POST", "/v1/objects", (const uint8_t *)create,
                sizeof(create) - 1, &resp);
    const char *id = json_string_value(json_object_get(resp.body, "id"));
    if (resp.status != 201 || id == NULL || strlen(id) != ENT_API_OBJ_ID_HEX)
        die("creating the target object", 0);
    memcpy(fz.obj, id, sizeof(fz.obj));
    ent_http_response_clear(&resp);
    fz.writes = 0;
}

static void home_close(void) {
    ent_node_stop(fz.node, NULL, NULL); /* never started: at once */
    uv_run(&fz.loop, UV_RUN_NOWAIT);
    ent_node_free(fz.node);
    fz.node = NULL;
    rm_tree(fz.home);
    fz.generation++;
}

static void fuzz_cleanup(void) {
    if (!fz.ready)
        return;
    home_close();
    uv_loop_close(&fz.loop);
    rm_tree(fz.base);
    fz.ready = false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    struct stat st;
    /* LMDB syncs every commit: a tmpfs keeps writes fast */
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
        access("/dev/shm", W_OK) == 0)
        tmp = "/dev/shm";
    else if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    snprintf(fz.base, sizeof(fz.base), "%s/fuzz_api_json.XXXXXX", tmp);
    if (mkdtemp(fz.base) == NULL)
        die("mkdtemp", ENT_EIO);
    if (ent_crypto_init() != ENT_OK)
        die("ent_crypto_init", ENT_EIO);
    if (uv_loop_init(&fz.loop) != 0)
        die("uv_loop_init", ENT_EIO);
    fz.trace = getenv("FUZZ_API_JSON_TRACE") != NULL;
    home_open();
    fz.ready = true;
    atexit(fuzz_cleanup);
    return 0;
}

static bool status_allowed(int s) {
    return s == 200 || s == 201 || s == 400 || s == 403 || s == 404 ||
           s == 409 || s == 413;
}

/* Serialises resp, parses it back as the client does and checks the
 * invariants listed at the top against the body read back. */
static void check_response(const ent_http_response *resp, int sel,
                           const char *target) {
    char *wire = NULL;
    size_t wire_len = 0;
    uint8_t *body = NULL;
    size_t body_len = 0;
    int status = 0;
    json_error_t jerr;
    int rc;

    if (!status_allowed(resp->status)) {
        fprintf(stderr, "status %d\n", resp->status);
        die("status outside 200/201/400/403/404/409/413", 0);
    }
    if (resp->status == 201 && sel != 0)
        die("201 from an endpoint that creates nothing", 0);
    if (resp->body == NULL)
        die("response without a JSON body", 0);
    if ((rc = ent_http_response_serialize(resp, &wire, &wire_len)) != ENT_OK)
        die("ent_http_response_serialize", rc);
    if ((rc = ent_http_parse_response((const uint8_t *)wire, wire_len, &status,
                                      &body, &body_len)) != ENT_OK)
        die("ent_http_parse_response", rc);
    if (status != resp->status)
        die("status changed on the wire", 0);
    json_t *j = body != NULL ? json_loadb((const char *)body, body_len,
                                          JSON_DECODE_ANY, &jerr)
                             : NULL;
    if (j == NULL) {
        fprintf(stderr, "body: %.*s\n", (int)body_len,
                body != NULL ? (const char *)body : "");
        die("response body is not JSON", 0);
    }
    if (status < 300) {
        if (!json_is_object(j) && !json_is_array(j))
            die("2xx body is neither an object nor an array", 0);
        if (sel <= 3) {
            const char *id = json_string_value(json_object_get(j, "id"));
            uint8_t raw[32];
            if (id == NULL || ent_api_obj_id_parse(id, raw) != ENT_OK)
                die("object endpoint answered 2xx without a valid id", 0);
            if (target != NULL && strcmp(id, target) != 0)
                die("answered id differs from the path id", 0);
        }
    } else {
        json_t *e = json_object_get(j, "error");
        json_t *field = json_object_get(e, "field");
        if (json_object_size(j) != 1 ||
            json_string_value(json_object_get(e, "code")) == NULL ||
            strncmp(json_string_value(json_object_get(e, "code")), "ENT_E",
                    5) != 0 ||
            json_string_value(json_object_get(e, "message")) == NULL ||
            field == NULL || !(json_is_null(field) || json_is_string(field)))
            die("error body is not {\"error\":{\"code\",\"message\","
                "\"field\"}} (spec/api.md \"Errors\")",
                0);
    }
    json_decref(j);
    free(body);
    free(wire);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[FUZZ_PATH_MAX];
    const char *method = "POST";
    const char *target = NULL;
    ent_http_response resp;
    if (size == 0)
        return 0;
    int sel = data[0] % 7;
    int var = (data[0] / 7) % 4;
    const char *id = var == 3 ? unknown_id : fz.obj;
    switch (sel) {
    case 0:
        snprintf(path, sizeof(path), "/v1/objects");
        break;
    case 1:
        snprintf(path, sizeof(path), "/v1/objects/%s", id);
        target = id;
        break;
    case 2:
        snprintf(path, sizeof(path), "/v1/objects/%s/stage", id);
        target = id;
        break;
    case 3:
        snprintf(path, sizeof(path), "/v1/objects/%s/comments", id);
        target = id;
        break;
    case 4:
        method = "PUT";
        snprintf(path, sizeof(path), "/v1/templates/%s", tpl_types[var]);
        break;
    case 5:
        method = "PUT";
        snprintf(path, sizeof(path), "/v1/config/%s", cfg_names[var]);
        break;
    default:
        method = "PUT";
        snprintf(path, sizeof(path), "/v1/config");
        break;
    }
    if (run_request(method, path, data + 1, size - 1, &resp) != ENT_OK)
        return 0; /* over the body limit: the server answers 413 */
    if (fz.trace) {
        char *b = json_dumps(resp.body, JSON_COMPACT);
        fprintf(stderr, "%s %s -> %d %.200s\n", method, path, resp.status,
                b != NULL ? b : "(no body)");
        free(b);
    }
    check_response(&resp, sel, target);
    if (sel >= 1 && sel <= 3 && var == 3 && resp.status < 300)
        die("a write to an unknown object succeeded", 0);
    bool wrote = resp.status < 300;
    ent_http_response_clear(&resp);
    if (wrote && ++fz.writes >= FUZZ_WRITES_PER_HOME) {
        home_close();
        home_open();
    }
    return 0;
}
