/* node_test.c - node handles, homes, the lock and the local API on one loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "nodes_fixture.h"

#include "node/api/api.h"
#include "node/cli/client.h"

/* Paths here are short temp paths; truncation cannot happen. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/* A temp folder with a fresh home "home" in it, made the way init makes it. */
static void make_home(char tmp[PATH_MAX], char home[PATH_MAX],
                      const char *name, char org[ENT_ORG_ID_LEN + 1]) {
    nodes_tmpdir(tmp, "/tmp", "node-test");
    node_home(home, tmp, "home", name, org);
}

/* Sends raw bytes to a node's socket and returns the HTTP status. */
static int raw_request(const char *home, const char *data, size_t len) {
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/api.sock", home);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
        return -1;
    for (size_t off = 0; off < len;) {
        ssize_t w = send(fd, data + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    char buf[4096];
    size_t got = 0;
    for (;;) {
        ssize_t r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got == sizeof(buf) - 1)
            break;
    }
    close(fd);
    buf[got] = '\0';
    int status = -1;
    if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
        return -1;
    return status;
}

/* ---- two nodes, one loop ---------------------------------------------------- */

struct world {
    uv_loop_t loop;
    uv_async_t done;
    char tmp[2][PATH_MAX];
    char home[2][PATH_MAX];
    char org[2][ENT_ORG_ID_LEN + 1];
    ent_node *n[2];
    int stopped;
    /* results gathered by the client thread */
    int status[2];
    json_t *resp[2];
    int st_404, st_405, st_400, st_413, st_413b, st_route, st_prefix;
    int st_503, st_after_limit;
    json_t *route_resp;
};

static int echo_handler(ent_node *n, const ent_http_request *req,
                        ent_http_response *resp) {
    json_t *body = NULL;
    int rc = ent_api_body_object(req, resp, &body);
    if (rc != ENT_OK)
        return rc;
    json_object_set_new(body, "org", json_string(ent_node_org_id(n)));
    json_object_set_new(body, "path", json_string(req->path));
    ent_http_response_json(resp, 201, body);
    return ENT_OK;
}

static int failing_handler(ent_node *n, const ent_http_request *req,
                           ent_http_response *resp) {
    return ENT_ENOENT;
}

static void client_thread(void *arg) {
    struct world *w = arg;
    for (int i = 0; i < 2; i++) {
        if (ent_client_request(w->home[i], "GET", "/v1/status", NULL,
                               &w->status[i], &w->resp[i]) != ENT_OK)
            w->status[i] = -1;
    }
    json_t *j = NULL;
    if (ent_client_request(w->home[0], "GET", "/v1/nope", NULL, &w->st_404,
                           &j) != ENT_OK)
        w->st_404 = -1;
    json_decref(j);
    const char *r405 = "POST /v1/status HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
    w->st_405 = raw_request(w->home[0], r405, strlen(r405));
    w->st_400 = raw_request(w->home[0], "BLAH\r\n\r\n", 8);
    /* a head over 16 KiB */
    size_t big = ENT_HTTP_MAX_HEAD + 64;
    char *b = malloc(big);
    int k = snprintf(b, big, "GET /v1/status HTTP/1.1\r\nX: ");
    memset(b + k, 'a', big - (size_t)k);
    w->st_413 = raw_request(w->home[1], b, big);
    free(b);
    char hdr[128];
    k = snprintf(hdr, sizeof(hdr),
                 "POST /v1/echo HTTP/1.1\r\nContent-Length: %u\r\n\r\n",
                 ENT_HTTP_MAX_BODY + 1);
    w->st_413b = raw_request(w->home[1], hdr, (size_t)k);
    /* a route added at run time, and a prefix route */
    json_t *body = json_pack("{s:s}", "hello", "world");
    if (ent_client_request(w->home[1], "POST", "/v1/echo", body,
                           &w->st_route, &w->route_resp) != ENT_OK)
        w->st_route = -1;
    json_decref(body);
    j = NULL;
    if (ent_client_request(w->home[1], "GET", "/v1/things/abc", NULL,
                           &w->st_prefix, &j) != ENT_OK)
        w->st_prefix = -1;
    json_decref(j);
    /* the 65th concurrent connection is refused with 503 */
    int fds[ENT_API_MAX_CONNS];
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/api.sock", w->home[0]);
    for (int i = 0; i < ENT_API_MAX_CONNS; i++) {
        fds[i] = socket(AF_UNIX, SOCK_STREAM, 0);
        connect(fds[i], (struct sockaddr *)&sun, sizeof(sun));
    }
    w->st_503 = raw_request(w->home[0], "GET /v1/status HTTP/1.1\r\n\r\n", 27);
    for (int i = 0; i < ENT_API_MAX_CONNS; i++)
        close(fds[i]);
    /* and once they are gone the node answers again */
    for (int tries = 0; tries < 100; tries++) {
        w->st_after_limit = raw_request(
            w->home[0], "GET /v1/status HTTP/1.1\r\n\r\n", 27);
        if (w->st_after_limit == 200)
            break;
        usleep(20000);
    }
    uv_async_send(&w->done);
}

static void node_stopped(ent_node *n, void *data) {
    struct world *w = data;
    w->stopped++;
}

static void on_done(uv_async_t *a) {
    struct world *w = a->data;
    ent_node_stop(w->n[0], node_stopped, w);
    ent_node_stop(w->n[1], node_stopped, w);
    uv_close((uv_handle_t *)a, NULL);
}

/* Leaves a socket file at path, as a node killed with -9 does. */
static void leave_stale_socket(const char *path) {
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    close(fd);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
}

static void test_two_nodes_one_loop(void **state) {
    struct world *w = calloc(1, sizeof(*w));
    uv_thread_t th;
    assert_non_null(w);
    assert_int_equal(uv_loop_init(&w->loop), 0);
    make_home(w->tmp[0], w->home[0], "Acme Corp", w->org[0]);
    make_home(w->tmp[1], w->home[1], "Globex \xc3\xa9", w->org[1]);
    assert_string_not_equal(w->org[0], w->org[1]);

    char sock[PATH_MAX];
    snprintf(sock, sizeof(sock), "%s/api.sock", w->home[0]);
    leave_stale_socket(sock);

    for (int i = 0; i < 2; i++) {
        node_open(&w->n[i], &w->loop, w->home[i], NULL);
        assert_string_equal(ent_node_org_id(w->n[i]), w->org[i]);
        assert_string_equal(ent_node_listen(w->n[i]), "");
    }
    ent_api_route route = {"POST", "/v1/echo", false, echo_handler};
    assert_int_equal(ent_api_route_add(w->n[1], &route), ENT_OK);
    ent_api_route pre = {"GET", "/v1/things/", true, failing_handler};
    assert_int_equal(ent_api_route_add(w->n[1], &pre), ENT_OK);

    for (int i = 0; i < 2; i++)
        assert_int_equal(ent_node_start(w->n[i], NULL), ENT_OK);
    assert_string_not_equal(ent_node_listen(w->n[0]),
                            ent_node_listen(w->n[1]));
    struct stat st;
    assert_int_equal(stat(sock, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);

    assert_int_equal(uv_async_init(&w->loop, &w->done, on_done), 0);
    w->done.data = w;
    assert_int_equal(uv_thread_create(&th, client_thread, w), 0);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_thread_join(&th);
    assert_int_equal(w->stopped, 2);

    const char *names[2] = {"Acme Corp", "Globex \xc3\xa9"};
    int ports[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(w->status[i], 200);
        json_t *r = w->resp[i];
        assert_string_equal(json_string_value(json_object_get(r, "org")),
                            w->org[i]);
        assert_string_equal(json_string_value(json_object_get(r, "name")),
                            names[i]);
        const char *l = json_string_value(json_object_get(r, "listen"));
        assert_non_null(l);
        assert_string_equal(l, ent_node_listen(w->n[i]));
        assert_int_equal(sscanf(l, "127.0.0.1:%d", &ports[i]), 1);
        assert_true(ports[i] > 0);
        assert_int_equal(json_integer_value(json_object_get(r, "peers")), 0);
        assert_int_equal(json_integer_value(json_object_get(r, "objects")), 0);
        /* the brief's five keys, plus equivocations (spec/audit.md) */
        assert_int_equal(
            json_integer_value(json_object_get(r, "equivocations")), 0);
        /* and the backlog syncs in progress (spec/api.md): none yet */
        json_t *syncs = json_object_get(r, "syncs");
        assert_true(json_is_array(syncs));
        assert_int_equal(json_array_size(syncs), 0);
        /* and the address put in invites (spec/cli.md "Advertised
         * address"): "" without a peer layer, as here */
        assert_true(json_is_string(json_object_get(r, "advertise")));
        /* and the session counters (spec/api.md, spec/sessions.md) */
        json_t *ses = json_object_get(r, "sessions");
        assert_true(json_is_object(ses));
        assert_int_equal(json_integer_value(json_object_get(ses, "guests")), 0);
        assert_int_equal(json_integer_value(json_object_get(ses, "refused")),
                         0);
        /* and what the engine did with received ops (spec/api.md) */
        json_t *rcv = json_object_get(r, "received");
        assert_true(json_is_object(rcv));
        assert_int_equal(
            json_integer_value(json_object_get(rcv, "bad_value")), 0);
        assert_int_equal(
            json_integer_value(json_object_get(rcv, "held_strangers")), 0);
        /* + api_tcp, api_tls, restore, rewinds (spec/audit.md §11.1) */
        assert_int_equal(json_object_size(r), 14);
        assert_int_equal(json_integer_value(json_object_get(r, "rewinds")), 0);
        assert_true(json_is_null(json_object_get(r, "api_tcp")));
        assert_true(json_is_null(json_object_get(r, "restore")));
        json_decref(r);
    }
    assert_int_not_equal(ports[0], ports[1]);
    assert_int_equal(w->st_404, 404);
    assert_int_equal(w->st_405, 405);
    assert_int_equal(w->st_400, 400);
    assert_int_equal(w->st_413, 413);
    assert_int_equal(w->st_413b, 413);
    assert_int_equal(w->st_route, 201);
    assert_string_equal(
        json_string_value(json_object_get(w->route_resp, "hello")), "world");
    assert_string_equal(
        json_string_value(json_object_get(w->route_resp, "org")), w->org[1]);
    json_decref(w->route_resp);
    assert_int_equal(w->st_prefix, 404); /* the handler's ENT_ENOENT */
    assert_int_equal(w->st_503, 503);
    assert_int_equal(w->st_after_limit, 200);

    ent_node_counters c;
    ent_node_counters_get(w->n[0], &c);
    assert_true(c.api_rejected >= 1);
    assert_true(c.api_errors >= 3);

    /* stop removed the sockets */
    for (int i = 0; i < 2; i++) {
        snprintf(sock, sizeof(sock), "%s/api.sock", w->home[i]);
        assert_int_equal(stat(sock, &st), -1);
        ent_node_free(w->n[i]);
        rm_tree(w->tmp[i]);
    }
    assert_int_equal(uv_loop_close(&w->loop), 0);
    free(w);
}

/* ---- the lock and home creation ------------------------------------------- */

static void test_lock(void **state) {
    char tmp[PATH_MAX], home[PATH_MAX], org[ENT_ORG_ID_LEN + 1];
    uv_loop_t loop;
    ent_node *a = NULL, *b = NULL;
    ent_node_diag d;
    assert_int_equal(uv_loop_init(&loop), 0);
    make_home(tmp, home, "Lock", org);
    node_open(&a, &loop, home, NULL);
    assert_int_equal(ent_daemon_open_diag(&b, &loop, home, NULL, &d), ENT_EBUSY);
    assert_null(b);
    assert_int_equal(d.pid, (long)getpid());
    assert_string_equal(d.what, home);
    ent_node_free(a);
    node_open(&b, &loop, home, NULL);
    ent_node_free(b);
    assert_int_equal(uv_loop_close(&loop), 0);
    rm_tree(tmp);
}

static void test_open_errors(void **state) {
    char tmp[PATH_MAX], home[PATH_MAX], path[PATH_MAX];
    char org[ENT_ORG_ID_LEN + 1];
    uv_loop_t loop;
    ent_node *n = NULL;
    ent_node_diag d;
    assert_int_equal(uv_loop_init(&loop), 0);
    make_home(tmp, home, "Errors", org);
    snprintf(path, sizeof(path), "%s/identity.key", home);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(ent_daemon_open_diag(&n, &loop, home, NULL, &d),
                     ENT_EINSECURE);
    assert_string_equal(d.what, path);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(truncate(path, 10), 0);
    assert_int_equal(ent_daemon_open_diag(&n, &loop, home, NULL, &d),
                     ENT_ETRUNCATED);
    snprintf(path, sizeof(path), "%s/nothing", tmp);
    assert_int_equal(ent_daemon_open_diag(&n, &loop, path, NULL, &d),
                     ENT_ENOENT);
    assert_null(n);
    assert_int_equal(uv_loop_close(&loop), 0);
    rm_tree(tmp);
}

static void test_home_init(void **state) {
    char tmp[PATH_MAX], home[PATH_MAX], org[ENT_ORG_ID_LEN + 1];
    char path[PATH_MAX], org2[ENT_ORG_ID_LEN + 1];
    struct stat st;
    make_home(tmp, home, "First", org);
    assert_int_equal(strlen(org), ENT_ORG_ID_LEN);
    snprintf(path, sizeof(path), "%s/identity.key", home);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* an existing home is refused and left as it was */
    assert_int_equal(ent_home_init(home, "Second", NULL, NULL, org2),
                     ENT_EEXIST);
    /* so is a non-empty folder and a file */
    snprintf(path, sizeof(path), "%s/full", tmp);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/full/x", tmp);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/full", tmp);
    assert_int_equal(ent_home_init(path, "X", NULL, NULL, org2), ENT_EEXIST);
    snprintf(path, sizeof(path), "%s/full/x", tmp);
    assert_int_equal(ent_home_init(path, "X", NULL, NULL, org2), ENT_EEXIST);
    /* an empty folder is used */
    snprintf(path, sizeof(path), "%s/empty", tmp);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(ent_home_init(path, "Empty", NULL, NULL, org2), ENT_OK);
    assert_string_not_equal(org, org2);
    /* bad names, addresses and a missing parent leave nothing behind */
    snprintf(path, sizeof(path), "%s/bad", tmp);
    assert_int_equal(ent_home_init(path, "", NULL, NULL, org2), ENT_EINVAL);
    assert_int_equal(ent_home_init(path, "a\nb", NULL, NULL, org2),
                     ENT_EINVAL);
    assert_int_equal(ent_home_init(path, "\xc0\xaf", NULL, NULL, org2),
                     ENT_EINVAL);
    char longname[ENT_NAME_MAX + 2];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[ENT_NAME_MAX + 1] = '\0';
    assert_int_equal(ent_home_init(path, longname, NULL, NULL, org2),
                     ENT_EINVAL);
    longname[ENT_NAME_MAX] = '\0';
    assert_int_equal(ent_home_check_name(longname), ENT_OK);
    assert_int_equal(ent_home_init(path, "ok", "nohost", NULL, org2),
                     ENT_EINVAL);
    assert_int_equal(ent_home_init(path, "ok", "1.2.3.4:70000", NULL, org2),
                     ENT_EINVAL);
    assert_int_equal(stat(path, &st), -1);
    snprintf(path, sizeof(path), "%s/no/such/parent", tmp);
    assert_int_equal(ent_home_init(path, "ok", NULL, NULL, org2), ENT_ENOENT);
    /* an unwritable parent: nothing is created (skipped as root) */
    if (geteuid() != 0) {
        snprintf(path, sizeof(path), "%s/ro", tmp);
        assert_int_equal(mkdir(path, 0500), 0);
        snprintf(path, sizeof(path), "%s/ro/home", tmp);
        assert_int_equal(ent_home_init(path, "ok", NULL, NULL, org2),
                         ENT_EPERM);
    }
    /* only the homes made above are in tmp: no temp folders left over */
    int count = 0;
    FILE *ls = NULL;
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof(cmd), "ls -A '%s'", tmp);
    ls = popen(cmd, "r");
    assert_non_null(ls);
    char line[256];
    while (fgets(line, sizeof(line), ls) != NULL) {
        assert_true(line[0] != '.');
        count++;
    }
    pclose(ls);
    assert_int_equal(count, geteuid() != 0 ? 4 : 3);
    rm_tree(tmp);
}

static void test_addr(void **state) {
    struct sockaddr_storage ss;
    assert_int_equal(ent_home_parse_addr("127.0.0.1:0", &ss), ENT_OK);
    assert_int_equal(ent_home_parse_addr("[::1]:7411", &ss), ENT_OK);
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_int_equal(ent_home_parse_addr("127.0.0.1", &ss), ENT_EINVAL);
    assert_int_equal(ent_home_parse_addr("127.0.0.1:", &ss), ENT_EINVAL);
    assert_int_equal(ent_home_parse_addr("127.0.0.1:-1", &ss), ENT_EINVAL);
    assert_int_equal(ent_home_parse_addr("::1:80", &ss), ENT_EINVAL);
    assert_int_equal(ent_home_parse_addr("host.example:80", &ss), ENT_EINVAL);
}

/* The reason of a refused address names the real rule. */
static void test_addr_why(void **state) {
    static const struct {
        const char *in, *why;
    } cases[] = {
        {"localhost:7411", "localhost is a name, and names are not resolved"},
        {"host.example:80", "host.example is a name, and names are not "
                            "resolved"},
        {"127.0.0.1", "no port: want HOST:PORT"},
        {"127.0.0.1:", "the port must be a number from 0 to 65535"},
        {"127.0.0.1:65536", "the port must be a number from 0 to 65535"},
        {"::1:80", "an IPv6 address goes in brackets, e.g. [::1]:7411"},
        {"[::1]", "want [IPv6]:PORT"},
        {"[nope]:1", "[nope] is not an IPv6 address"},
        {"1.2.3.400:1", "1.2.3.400 is not an IPv4 address"},
        {":1", "no host"},
        {"", "empty"},
    };
    char why[256];
    assert_int_equal(ent_home_addr_check("127.0.0.1:0", why, sizeof(why)),
                     ENT_OK);
    assert_string_equal(why, "");
    assert_int_equal(ent_home_addr_check("[::1]:7411", why, sizeof(why)),
                     ENT_OK);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(ent_home_addr_check(cases[i].in, why, sizeof(why)),
                         ENT_EINVAL);
        if (strstr(why, cases[i].why) == NULL)
            fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].in, why, cases[i].why);
    }
}

int main(void) {
    assert_int_equal(ent_crypto_init(), ENT_OK);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_nodes_one_loop),
        cmocka_unit_test(test_lock),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_home_init),
        cmocka_unit_test(test_addr),
        cmocka_unit_test(test_addr_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
