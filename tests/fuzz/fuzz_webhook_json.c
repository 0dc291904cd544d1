/* fuzz_webhook_json.c - the JSON bodies of the webhook endpoints
 * (node/api/api_webhooks.c, node/webhooks/webhook.c; spec/webhooks.md §6).
 *
 * Drives the real request path without sockets, as fuzz_api_json.c does:
 * the input becomes "POST PATH HTTP/1.1\r\nContent-Length: N\r\n\r\nBODY",
 * parsed with ent_http_parse() and routed with ent_api_dispatch() into a
 * real node (never started: the delivery engine sends nothing) over a
 * temporary home.
 *
 * Input: byte 0 picks the endpoint (byte % 3); the rest is the body.
 *
 *   0  POST /v1/webhooks                     add
 *   1  POST /v1/webhooks/ID/replay           ID: a webhook made with the home
 *   2  POST /v1/webhooks/UNKNOWN/replay      an id no webhook has
 *
 * Invariants (abort on violation): the status is one of 200/201/400/404/
 * 409/413; 201 only from add, with an "id" of 16 hex digits, the "secret"
 * (shown once) and an http(s) "url" that ent_webhook_url_check() accepts;
 * no other answer carries "secret"; an error body is {"error":{"code",
 * "message"}}; nothing answers 2xx for the unknown id.
 *
 * State: the node lives across inputs; after FUZZ_WRITES_PER_HOME
 * successful writes the home is thrown away and a fresh one made.
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
#include "node/webhooks/webhook.h"

#define FUZZ_WRITES_PER_HOME 48
#define FUZZ_PATH_MAX 512

static struct {
    bool ready;
    char base[FUZZ_PATH_MAX];
    char home[FUZZ_PATH_MAX];
    unsigned generation;
    uv_loop_t loop;
    ent_node *node;
    char hook[ENT_WEBHOOK_ID_HEX + 1];
    unsigned writes;
} fz;

static void die(const char *what, int rc) {
    fprintf(stderr, "fuzz_webhook_json: %s: %s\n", what,
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
        "{\"url\":\"http://127.0.0.1:9/hook\",\"events\":\"*\"}";
    int rc;
    snprintf(fz.home, sizeof(fz.home), "%s/h%u", fz.base, fz.generation);
    if ((rc = ent_home_init(fz.home, "Fuzz Org", "127.0.0.1:0", NULL, org)) !=
        ENT_OK)
        die("ent_home_init", rc);
    if ((rc = ent_daemon_open(&fz.node, &fz.loop, fz.home, NULL)) != ENT_OK)
        die("ent_daemon_open", rc);
    run_request("/v1/webhooks", (const uint8_t *)add, sizeof(add) - 1, &resp);
    const char *id = json_string_value(json_object_get(resp.body, "id"));
    if (resp.status != 201 || id == NULL || !ent_webhook_id_valid(id))
        die("creating the target webhook", 0);
    memcpy(fz.hook, id, sizeof(fz.hook));
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
    (void)argc, (void)argv;
    const char *tmp = getenv("TMPDIR");
    struct stat st;
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
        access("/dev/shm", W_OK) == 0)
        tmp = "/dev/shm";
    else if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    snprintf(fz.base, sizeof(fz.base), "%s/fuzz_webhook_json.XXXXXX", tmp);
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

static void check(const ent_http_response *resp, int sel) {
    int s = resp->status;
    if (s != 200 && s != 201 && s != 400 && s != 404 && s != 409 &&
        s != 413) {
        fprintf(stderr, "status %d\n", s);
        die("status outside 200/201/400/404/409/413", 0);
    }
    if (resp->body == NULL)
        die("response without a JSON body", 0);
    const char *secret =
        json_string_value(json_object_get(resp->body, "secret"));
    if (s == 201) {
        const char *id = json_string_value(json_object_get(resp->body, "id"));
        const char *url =
            json_string_value(json_object_get(resp->body, "url"));
        char err[256];
        if (sel != 0 || id == NULL || !ent_webhook_id_valid(id) ||
            secret == NULL || url == NULL ||
            ent_webhook_url_check(url, err, sizeof(err)) != ENT_OK)
            die("a 201 that is not a valid new webhook", 0);
    } else if (secret != NULL) {
        die("the secret in an answer other than add's", 0);
    }
    if (s >= 300) {
        json_t *e = json_object_get(resp->body, "error");
        if (json_string_value(json_object_get(e, "code")) == NULL ||
            json_string_value(json_object_get(e, "message")) == NULL)
            die("error body is not {\"error\":{\"code\",\"message\"}}", 0);
    }
    if (sel == 2 && s < 300)
        die("a replay of an unknown webhook succeeded", 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[FUZZ_PATH_MAX];
    ent_http_response resp;
    if (size == 0)
        return 0;
    int sel = data[0] % 3;
    if (sel == 0)
        snprintf(path, sizeof(path), "/v1/webhooks");
    else
        snprintf(path, sizeof(path), "/v1/webhooks/%s/replay",
                 sel == 1 ? fz.hook : "00000000000000ff");
    if (run_request(path, data + 1, size - 1, &resp) != ENT_OK)
        return 0;
    check(&resp, sel);
    bool wrote = resp.status < 300;
    ent_http_response_clear(&resp);
    if (wrote && ++fz.writes >= FUZZ_WRITES_PER_HOME) {
        home_close();
        home_open();
    }
    return 0;
}
