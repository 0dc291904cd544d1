/* fuzz_batch.c - the body of POST /v1/objects/batch (node/api/api_batch.c;
 * spec/api.md "Batches").
 *
 * Drives the real request path without sockets, as fuzz_webhook_json.c
 * does: the input becomes "POST /v1/objects/batch HTTP/1.1\r\n
 * Content-Length: N\r\n\r\nBODY", parsed with ent_http_parse() and routed
 * with ent_api_dispatch() into a real node (never started) over a temporary
 * home. The string "@ID" in the input is replaced by the id of an object
 * made with the home, so that set, stage and comment changes reach the
 * object engine.
 *
 * Invariants (abort on violation): the status is 200, 400 or 413; an error
 * body is {"error":{"code","message"}}; a 400 applies nothing (the node's
 * op count is unchanged); a 200 has one result per change, each with a
 * status, and "applied" + "failed" equal to their number, and exactly
 * "applied" ops were made.
 *
 * State: the node lives across inputs; after FUZZ_WRITES_PER_HOME
 * successful batches the home is thrown away and a fresh one made.
 * Globals: this file is the fuzzer process (libFuzzer's entry points take no
 * context), so the harness keeps its node in the static `fz` below.
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
#include "node/api/http.h"
#include "node/daemon/daemon.h"
#include "node/err.h"
#include "node/home.h"
#include "node/node.h"

#define FUZZ_WRITES_PER_HOME 32
#define FUZZ_PATH_MAX 512

static struct {
    bool ready;
    char base[FUZZ_PATH_MAX];
    char home[FUZZ_PATH_MAX];
    unsigned generation;
    uv_loop_t loop;
    ent_node *node;
    char obj[65];
    unsigned writes;
    uint64_t ops; /* ops the node handed to its peer layer */
} fz;

static void die(const char *what, int rc) {
    fprintf(stderr, "fuzz_batch: %s: %s\n", what,
            rc != 0 ? ent_strerror(rc) : "invariant violated");
    abort();
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void rm_tree(const char *path) {
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void on_op(ent_node *n, const uint8_t *raw, size_t len,
                  const uint8_t object[32], void *data) {
    (void)n, (void)raw, (void)len, (void)object, (void)data;
    fz.ops++;
}

static int run_request(const char *path, const uint8_t *body,
                       size_t body_len, ent_http_response *resp) {
    char head[FUZZ_PATH_MAX + 128];
    ent_http_request req;
    int hl = snprintf(head, sizeof(head),
                      "POST %s HTTP/1.1\r\nHost: localhost\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      path, body_len);
    uint8_t *buf = malloc((size_t)hl + body_len + 1);
    if (buf == NULL)
        die("malloc", ENT_ENOMEM);
    memcpy(buf, head, (size_t)hl);
    if (body_len > 0)
        memcpy(buf + hl, body, body_len);
    int rc = ent_http_parse(buf, (size_t)hl + body_len, &req);
    free(buf);
    memset(resp, 0, sizeof(*resp));
    if (body_len > ENT_HTTP_MAX_BODY)
        return ENT_ETOOBIG;
    if (rc != ENT_OK)
        die("synthesised request does not parse", rc);
    ent_api_dispatch(fz.node, &req, resp);
    ent_http_request_clear(&req);
    return ENT_OK;
}

static void home_open(void) {
    char org[ENT_ORG_ID_LEN + 1];
    ent_http_response resp;
    static const char add[] =
        "{\"type\":\"opportunity\",\"set\":{\"name\":\"Fuzz\"}}";
    int rc;
    snprintf(fz.home, sizeof(fz.home), "%s/h%u", fz.base, fz.generation);
    if ((rc = ent_home_init(fz.home, "Fuzz Org", "127.0.0.1:0", NULL, org)) !=
        ENT_OK)
        die("ent_home_init", rc);
    if ((rc = ent_daemon_open(&fz.node, &fz.loop, fz.home, NULL)) != ENT_OK)
        die("ent_daemon_open", rc);
    ent_node_set_op_cb(fz.node, on_op, NULL);
    run_request("/v1/objects", (const uint8_t *)add, sizeof(add) - 1, &resp);
    const char *id = json_string_value(json_object_get(resp.body, "id"));
    if (resp.status != 201 || id == NULL || strlen(id) != 64)
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
    uv_run(&fz.loop, UV_RUN_NOWAIT);
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
    (void)argc, (void)argv;
    const char *tmp = getenv("TMPDIR");
    struct stat st;
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
        access("/dev/shm", W_OK) == 0)
        tmp = "/dev/shm";
    else if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    snprintf(fz.base, sizeof(fz.base), "%s/fuzz_batch.XXXXXX", tmp);
    if (mkdtemp(fz.base) == NULL)
        die("mkdtemp", ENT_EIO);
    if (ent_crypto_init() != ENT_OK)
        die("ent_crypto_init", ENT_EIO);
    if (uv_loop_init(&fz.loop) != 0)
        die("uv_loop_init", ENT_EIO);
    home_open();
    fz.ready = true;
    atexit(fuzz_cleanup);
    return 0;
}

static void check(const ent_http_response *resp, uint64_t made) {
    int s = resp->status;
    if (s != 200 && s != 400 && s != 413) {
        fprintf(stderr, "status %d\n", s);
        die("status outside 200/400/413", 0);
    }
    if (resp->body == NULL)
        die("response without a JSON body", 0);
    if (s != 200) {
        json_t *e = json_object_get(resp->body, "error");
        if (json_string_value(json_object_get(e, "code")) == NULL ||
            json_string_value(json_object_get(e, "message")) == NULL)
            die("error body is not {\"error\":{\"code\",\"message\"}}", 0);
        if (made != 0)
            die("a refused batch made ops", 0);
        return;
    }
    const json_t *r = json_object_get(resp->body, "results");
    json_int_t ok = json_integer_value(json_object_get(resp->body, "applied"));
    json_int_t bad = json_integer_value(json_object_get(resp->body, "failed"));
    size_t i;
    json_t *x;
    if (!json_is_array(r) || json_array_size(r) == 0 ||
        (size_t)(ok + bad) != json_array_size(r))
        die("results do not match applied + failed", 0);
    json_array_foreach((json_t *)r, i, x) {
        if (!json_is_integer(json_object_get(x, "status")))
            die("a result without a status", 0);
    }
    /* a change of private fields only makes no op: at most one per change */
    if (made > (uint64_t)ok)
        die("more ops than applied changes", 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ent_http_response resp;
    if (size > ENT_HTTP_MAX_BODY / 2)
        return 0;
    /* "@ID" -> the object's id */
    uint8_t *body = malloc(size * 22 + 1);
    size_t n = 0;
    if (body == NULL)
        die("malloc", ENT_ENOMEM);
    for (size_t i = 0; i < size; i++) {
        if (i + 3 <= size && memcmp(data + i, "@ID", 3) == 0) {
            memcpy(body + n, fz.obj, 64);
            n += 64;
            i += 2;
        } else {
            body[n++] = data[i];
        }
    }
    uint64_t before = fz.ops;
    int rc = run_request("/v1/objects/batch", body, n, &resp);
    free(body);
    if (rc != ENT_OK)
        return 0;
    check(&resp, fz.ops - before);
    bool wrote = resp.status == 200;
    ent_http_response_clear(&resp);
    if (wrote && ++fz.writes >= FUZZ_WRITES_PER_HOME) {
        home_close();
        home_open();
    }
    return 0;
}
