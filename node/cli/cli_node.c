/*
 * cli_node.c - the commands that create, run or ask the node itself: `init`
 * (a new home: identity and database), `serve` (the node in the
 * foreground until SIGINT or SIGTERM), `status` (the running node's
 * identity, counts and backlog syncs) and `peers` (its partner nodes).
 * Their help and options are in the command table (cli.c).
 */
#include "crypto/crypto.h"
#include "node/cli/cli_int.h"
#include "node/cli/client.h"
#include "node/daemon/daemon.h"
#include "node/err.h"
#include "node/home.h"
#include "node/log.h"
#include "node/node.h"
#include "node/term.h"

#include <uv.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

/* One line of `entente status` per sync (spec/cli.md). */
static void print_sync(const json_t *o) {
    char line[200], obj[13], peer[40];
    snprintf(obj, sizeof(obj), "%s", ent__cli_jstr(o, "object"));
    const char *name = ent__cli_jstr(o, "peer_name");
    snprintf(peer, sizeof(peer), "%s",
             name[0] ? name : ent__cli_jstr(o, "peer"));
    if (!name[0] && strlen(peer) > 12)
        peer[12] = '\0';
    const json_t *exp = json_object_get(o, "expected");
    const json_t *eta = json_object_get(o, "eta_seconds");
    const char *state = ent__cli_jstr(o, "state");
    uint64_t elapsed = ent__cli_jint(o, "elapsed_ms");
    bool running = strcmp(state, "receiving") == 0;
    ent__cli_fmt_progress(line, sizeof(line), ent__cli_jint(o, "applied"),
                          json_is_integer(exp), ent__cli_jint(o, "expected"),
                          running ? ent__cli_jint(o, "ops_per_sec") : 0,
                          running && json_is_integer(eta)
                              ? (long long)ent__cli_jint(o, "eta_seconds")
                              : -1);
    printf("sync  %s from ", obj);
    ent_term_fputs(stdout, peer); /* a partner's name */
    printf(": %s", line);
    if (!running) {
        char r[32];
        printf(", %s in %llu.%llu s (%s ops/s)", state,
               (unsigned long long)(elapsed / 1000),
               (unsigned long long)(elapsed % 1000 / 100),
               ent__cli_fmt_count(r, ent__cli_jint(o, "ops_per_sec")));
    }
    putchar('\n');
}

int ent__cli_cmd_init(cli *c) {
    char org[ENT_ORG_ID_LEN + 1];
    const char *name = ent__cli_opt_value(c, "name");
    const char *listen = ent__cli_opt_value(c, "listen");
    if (name == NULL) {
        fprintf(stderr, "entente: init: --name is required\n");
        fprintf(stderr, "usage: entente %s\n", c->cmd->usage);
        return EXIT_USAGE;
    }
    if (ent_home_check_name(name) != ENT_OK) {
        size_t nl = strlen(name);
        if (nl == 0 || nl > ENT_NAME_MAX)
            return ent__cli_fail(c, "invalid name: %zu bytes, want 1 to %d",
                                 nl, ENT_NAME_MAX);
        return ent__cli_fail(c,
                             "invalid name '%s': not UTF-8 text without "
                             "control characters",
                             name);
    }
    int st = ent__cli_addr_arg(c, "listen", listen);
    if (st >= 0)
        return st;
    if (ent_crypto_init() != ENT_OK)
        return ent__cli_fail(c, "cannot initialise libsodium");
    int rc = ent_home_init(c->home, name, listen, &c->log, org);
    if (rc == ENT_EEXIST)
        return ent__cli_fail(c, "%s: already exists", c->home);
    if (rc == ENT_ENOENT)
        return ent__cli_fail(c, "%s: parent folder does not exist", c->home);
    if (rc != ENT_OK)
        return ent__cli_fail(c, "%s: %s", c->home, ent_strerror(rc));
    if (c->json) {
        json_t *o = json_pack("{s:s,s:s,s:s}", "org", org, "name", name, "home",
                              c->home);
        ent__cli_print_json(o);
        json_decref(o);
    } else {
        printf("%s\n", org);
    }
    return 0;
}

struct serve_ctx {
    ent_node *node;
    uv_signal_t sigint;
    uv_signal_t sigterm;
    const ent_log *log;
};

static void serve_stopped(ent_node *n, void *data) {
    struct serve_ctx *s = data;
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
}

static void serve_signal(uv_signal_t *h, int signum) {
    struct serve_ctx *s = h->data;
    ENT_INFO(s->log, "received %s, stopping",
             signum == SIGINT ? "SIGINT" : "SIGTERM");
    uv_signal_stop(&s->sigint);
    uv_signal_stop(&s->sigterm);
    ent_node_stop(s->node, serve_stopped, s);
}

static int serve_open_error(cli *c, int rc, const ent_node_diag *d) {
    struct stat st;
    switch (rc) {
    case ENT_EINSECURE:
        return ent__cli_fail(c, "%s: file is readable by others (chmod 600)",
                             d->what);
    case ENT_EBUSY:
        if (d->pid > 0)
            return ent__cli_fail(c, "%s: another node is running (pid %ld)",
                                 c->home, d->pid);
        return ent__cli_fail(c, "%s: another node is running", c->home);
    case ENT_ENOENT:
        if (stat(c->home, &st) != 0)
            return ent__cli_fail(c,
                                 "%s: no such home (create one with: "
                                 "entente init --name NAME)",
                                 c->home);
        return ent__cli_fail(c, "%s: not found", d->what);
    case ENT_ETRUNCATED:
        return ent__cli_fail(c, "%s: file is truncated", d->what);
    case ENT_ECORRUPT:
        return ent__cli_fail(c, "%s: file is corrupt", d->what);
    default:
        return ent__cli_fail(c, "%s: %s", d->what[0] ? d->what : c->home,
                             ent_strerror(rc));
    }
}

int ent__cli_cmd_serve(cli *c) {
    uv_loop_t loop;
    struct serve_ctx s = {0};
    ent_node_diag diag;
    const char *listen = ent__cli_opt_value(c, "listen");
    int status = 0;

    int bad = ent__cli_addr_arg(c, "listen", listen);
    if (bad >= 0)
        return bad;
    if (ent_crypto_init() != ENT_OK)
        return ent__cli_fail(c, "cannot initialise libsodium");
    signal(SIGPIPE, SIG_IGN);
    if (uv_loop_init(&loop) != 0)
        return ent__cli_fail(c, "cannot initialise the event loop");
    int rc = ent_daemon_open_diag(&s.node, &loop, c->home, &c->log, &diag);
    if (rc != ENT_OK) {
        status = serve_open_error(c, rc, &diag);
        goto out;
    }
    s.log = &c->log;
    uv_signal_init(&loop, &s.sigint);
    uv_signal_init(&loop, &s.sigterm);
    s.sigint.data = &s;
    s.sigterm.data = &s;
    uv_signal_start(&s.sigint, serve_signal, SIGINT);
    uv_signal_start(&s.sigterm, serve_signal, SIGTERM);
    rc = ent_node_start(s.node, listen);
    if (rc != ENT_OK) {
        const char *addr = listen != NULL ? listen : "the configured address";
        if (rc == ENT_EBUSY)
            status =
                ent__cli_fail(c, "listen %s: address already in use", addr);
        else if (rc == ENT_ETOOBIG)
            status = ent__cli_fail(c, "%s: socket path too long",
                                   ent_node_api_path(s.node));
        else
            status = ent__cli_fail(c, "cannot listen on %s: %s", addr,
                                   ent_strerror(rc));
        ent_node_stop(s.node, serve_stopped, &s);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
out:
    ent_node_free(s.node);
    if (uv_loop_close(&loop) != 0) {
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
    }
    return status;
}

int ent__cli_cmd_status(cli *c) {
    int http = 0;
    json_t *resp = NULL;
    int status = 0;
    int rc =
        ent_client_request(c->home, "GET", "/v1/status", NULL, &http, &resp);
    if (rc == ENT_ENOTRUNNING) {
        status = ent__cli_not_running(c->words, c->home);
        goto out;
    }
    if (rc != ENT_OK) {
        status = ent__cli_fail(c, "%s", ent_strerror(rc));
        goto out;
    }
    if (http != 200 || !json_is_object(resp)) {
        status = ent__cli_fail(c, "%s", ent_client_error(resp));
        goto out;
    }
    if (c->json) {
        ent__cli_print_json(resp);
    } else {
        printf("org:     %s\n",
               json_string_value(json_object_get(resp, "org")));
        ent__cli_kv(stdout, "name", ent__cli_jstr(resp, "name"));
        printf("listen:  %s\n",
               json_string_value(json_object_get(resp, "listen")));
        printf("peers:   %lld\n",
               (long long)json_integer_value(json_object_get(resp, "peers")));
        printf("objects: %lld\n",
               (long long)json_integer_value(json_object_get(resp, "objects")));
        size_t i;
        const json_t *o;
        json_array_foreach(json_object_get(resp, "syncs"), i, o) {
            print_sync(o);
        }
    }
out:
    json_decref(resp);
    return status;
}

void ent__cli_print_peers(FILE *f, const json_t *peers) {
    size_t i, k;
    json_t *o, *a;
    json_array_foreach(peers, i, o) {
        char addrs[512] = "", when[32], extra[96];
        size_t used = 0;
        json_array_foreach(json_object_get(o, "addrs"), k, a) {
            int w = snprintf(addrs + used, sizeof(addrs) - used, "%s%s",
                             k ? " " : "",
                             json_string_value(a) ? json_string_value(a) : "");
            if (w < 0 || (size_t)w >= sizeof(addrs) - used)
                break;
            used += (size_t)w;
        }
        const char *name = json_string_value(json_object_get(o, "name"));
        ent__cli_row(f, "",
                     (const char *const[]){
                         ent__cli_jstr(o, "org"), name ? name : "-",
                         json_is_true(json_object_get(o, "connected"))
                             ? "connected"
                             : "disconnected",
                         addrs},
                     (const int[]){52, 20, 12}, 4);
        ent__cli_row(f, "  ",
                     (const char *const[]){"safety code:",
                                           ent__cli_jstr(o, "safety")},
                     (const int[]){12}, 2);
        ent__cli_row(f, "  ",
                     (const char *const[]){
                         "last seen:",
                         json_is_string(json_object_get(o, "last_seen"))
                             ? ent__cli_time(when,
                                             json_object_get(o, "last_seen"))
                             : "never"},
                     (const int[]){12}, 2);
        uint64_t fails = ent__cli_jint(o, "failures"),
                 score = ent__cli_jint(o, "score");
        if (fails > 0 || score > 0) {
            snprintf(extra, sizeof(extra),
                     "%llu since the last good dial; score %llu (protocol "
                     "violations)",
                     (unsigned long long)fails, (unsigned long long)score);
            ent__cli_row(f, "  ", (const char *const[]){"failures:", extra},
                         (const int[]){12}, 2);
        }
    }
}

int ent__cli_cmd_peers(cli *c) {
    json_t *resp = NULL;
    int st = ent__cli_daemon_call(c, "GET", "/v1/peers", NULL, &resp);
    if (st >= 0)
        return st;
    if (c->json)
        ent__cli_print_json(resp);
    else
        ent__cli_print_peers(stdout, resp);
    json_decref(resp);
    return 0;
}
