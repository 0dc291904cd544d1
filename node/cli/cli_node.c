/*
 * cli_node.c - the commands that create, run or ask the node itself: `init`
 * (a new home: identity and database), `serve` (the node in the
 * foreground until SIGINT or SIGTERM), `status` (the running node's
 * identity, counts and backlog syncs), `peers` (its partner nodes) and
 * `config` (its settings, with or without a running node); and the check
 * that warns when an invite token carries a loopback address. Their help
 * and options are in the command table (cli.c).
 */
#include "crypto/crypto.h"
#include "node/cli/cli_int.h"
#include "node/cli/client.h"
#include "node/daemon/daemon.h"
#include "node/daemon/notify.h"
#include "node/api/api_tcp.h"
#include "node/err.h"
#include "node/home.h"
#include "node/log.h"
#include "node/node.h"
#include "node/objects/template.h"
#include "node/objects/value.h"
#include "node/peers/advertise.h"
#include "node/peers/invite.h"
#include "node/term.h"

#include <uv.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

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

/* The message for an address that cannot be advertised. */
#define BAD_ADVERTISE                                                          \
    "invalid advertise address '%s' (want HOST:PORT: an IPv4 address, "        \
    "[IPv6] or a DNS name, port 1-65535)"

int ent__cli_cmd_init(cli *c) {
    char org[ENT_ORG_ID_LEN + 1];
    const char *name = ent__cli_opt_value(c, "name");
    const char *listen = ent__cli_opt_value(c, "listen");
    const char *advertise = ent__cli_opt_value(c, "advertise");
    if (name == NULL) {
        fprintf(stderr, "entente: init: --name is required\n");
        fprintf(stderr, "usage: entente %s\n", c->cmd->usage);
        return EXIT_USAGE;
    }
    if (ent_home_check_name(name) != ENT_OK) {
        size_t nl = strlen(name);
        if (nl == 0 || nl > ENT_NAME_MAX)
            return ent__cli_fail(c, "invalid name: %zu bytes, want 1 to %d", nl,
                                 ENT_NAME_MAX);
        return ent__cli_fail(c,
                             "invalid name '%s': not UTF-8 text without "
                             "control characters",
                             name);
    }
    int st = ent__cli_addr_arg(c, "listen", listen);
    if (st >= 0)
        return st;
    if (advertise != NULL && !ent_advertise_valid(advertise))
        return ent__cli_fail(c, BAD_ADVERTISE, advertise);
    if (ent_crypto_init() != ENT_OK)
        return ent__cli_fail(c, "cannot initialise libsodium");
    ent_home_conf conf = {name, listen, advertise};
    int rc = ent_home_create(c->home, &conf, &c->log, org);
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
    uv_signal_t sighup;
    const ent_log *log;
    ent_log_file *file; /* --log-file, or NULL */
};

static void serve_stopped(ent_node *n, void *data) {
    struct serve_ctx *s = data;
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sighup, NULL);
}

/* SIGHUP: reopen the log file (logrotate has moved it). */
static void serve_hup(uv_signal_t *h, int signum) {
    struct serve_ctx *s = h->data;
    (void)signum;
    if (s->file == NULL) {
        ENT_INFO(s->log, "received SIGHUP: no log file to reopen");
        return;
    }
    if (ent_log_file_reopen(s->file) != ENT_OK)
        ENT_ERROR(s->log, "received SIGHUP: cannot reopen %s (logging to "
                          "standard error)",
                  s->file->path);
    else
        ENT_INFO(s->log, "received SIGHUP: reopened %s", s->file->path);
}

static void serve_signal(uv_signal_t *h, int signum) {
    struct serve_ctx *s = h->data;
    ENT_INFO(s->log, "received %s, stopping",
             signum == SIGINT ? "SIGINT" : "SIGTERM");
    ent_daemon_notify(getenv("NOTIFY_SOCKET"), "STOPPING=1");
    uv_signal_stop(&s->sigint);
    uv_signal_stop(&s->sigterm);
    uv_signal_stop(&s->sighup);
    ent_node_stop(s->node, serve_stopped, s);
}

/*
 * Tells whoever started the node that it is ready: the peer listener is
 * bound and the API socket listens (ent_node_start returned), so a client
 * that connects from now on is answered. One line on standard output
 * (spec/cli.md gives its exact text), flushed at once because a pipe would
 * hold it back, and READY=1 to a service manager that set $NOTIFY_SOCKET.
 */
static void serve_ready(cli *c, ent_node *n) {
    char adv[ENT_ADDR_STRLEN], state[3 * ENT_ADDR_STRLEN + 64];
    bool tls = false;
    const char *tcp = ent_api_tcp_address(n, &tls);
    ent_daemon_advertised(n, adv);
    if (c->json) {
        json_t *o = json_pack("{s:b,s:s,s:s,s:s}", "ready", 1, "listen",
                              ent_node_listen(n), "advertise", adv, "api",
                              ent_node_api_path(n));
        if (o != NULL && tcp[0] != '\0') {
            json_object_set_new(o, "api_tcp", json_string(tcp));
            json_object_set_new(o, "api_tls", json_boolean(tls));
        }
        ent__cli_print_json(o);
        json_decref(o);
    } else if (tcp[0] != '\0') {
        printf("ready: listening on %s, advertising %s, api %s, api-tcp "
               "%s%s\n",
               ent_node_listen(n), adv, ent_node_api_path(n), tcp,
               tls ? " (TLS)" : "");
    } else {
        printf("ready: listening on %s, advertising %s, api %s\n",
               ent_node_listen(n), adv, ent_node_api_path(n));
    }
    fflush(stdout);
    snprintf(state, sizeof(state),
             "READY=1\nSTATUS=listening on %s, advertising %s",
             ent_node_listen(n), adv);
    int rc = ent_daemon_notify(getenv("NOTIFY_SOCKET"), state);
    if (rc != ENT_OK)
        ENT_WARN(&c->log, "sd_notify to $NOTIFY_SOCKET (%s): %s",
                 getenv("NOTIFY_SOCKET"), ent_strerror(rc));
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

/*
 * The TCP API's settings from --api, --tls-cert, --tls-key,
 * --insecure-http, --api-rate and --api-conns-per-ip (and $ENTENTE_API_HEAD_MS, a test knob
 * for the head deadline). Returns -1 to go on, or a usage error's status.
 */
static int serve_tcp_opts(cli *c, ent_api_tcp_config *cfg) {
    const char *rate = ent__cli_opt_value(c, "api-rate");
    const char *per_ip = ent__cli_opt_value(c, "api-conns-per-ip");
    const char *head = getenv("ENTENTE_API_HEAD_MS");
    memset(cfg, 0, sizeof(*cfg));
    cfg->addr = ent__cli_opt_value(c, "api");
    cfg->tls_cert = ent__cli_opt_value(c, "tls-cert");
    cfg->tls_key = ent__cli_opt_value(c, "tls-key");
    cfg->insecure_http = ent__cli_opt_value(c, "insecure-http") != NULL;
    if (cfg->addr == NULL &&
        (cfg->tls_cert != NULL || cfg->tls_key != NULL ||
         cfg->insecure_http || rate != NULL || per_ip != NULL))
        return ent__cli_usage_error(c, "--tls-cert, --tls-key, "
                                       "--insecure-http, --api-rate and "
                                       "--api-conns-per-ip go with --api "
                                       "HOST:PORT");
    if (rate != NULL) {
        char *end = NULL;
        unsigned long v = strtoul(rate, &end, 10);
        if (rate[0] < '1' || rate[0] > '9' || *end != '\0' || v > 1000000)
            return ent__cli_usage_error(c, "--api-rate wants 1 to 1000000 "
                                           "requests per second");
        cfg->rate = (double)v;
    }
    if (per_ip != NULL) {
        char *end = NULL;
        unsigned long v = strtoul(per_ip, &end, 10);
        if (per_ip[0] < '0' || per_ip[0] > '9' || *end != '\0' ||
            v > ENT_API_TCP_MAX_CONNS)
            return ent__cli_usage_error(c, "--api-conns-per-ip wants 0 (no "
                                           "bound) to %d connections",
                                        ENT_API_TCP_MAX_CONNS);
        cfg->max_conns_per_ip = v == 0 ? -1 : (int)v;
    }
    if (head != NULL && head[0] != '\0')
        cfg->head_ms = (unsigned)strtoul(head, NULL, 10);
    return -1;
}

int ent__cli_cmd_serve(cli *c) {
    uv_loop_t loop;
    struct serve_ctx s = {0};
    ent_node_diag diag;
    ent_api_tcp_config tcp;
    const char *listen = ent__cli_opt_value(c, "listen");
    const char *fmt = ent__cli_opt_value(c, "log-format");
    const char *file = ent__cli_opt_value(c, "log-file");
    ent_log_file lf = {.f = NULL};
    int status = 0;

    int bad = ent__cli_addr_arg(c, "listen", listen);
    if (bad >= 0)
        return bad;
    if ((bad = serve_tcp_opts(c, &tcp)) >= 0)
        return bad;
    if (fmt != NULL && strcmp(fmt, "text") != 0 && strcmp(fmt, "json") != 0)
        return ent__cli_usage_error(c, "--log-format must be text or json, "
                                       "got '%.40s'",
                                    fmt);
    if (file != NULL && file[0] == '\0')
        return ent__cli_usage_error(c, "--log-file wants a file name");
    if (file != NULL && ent_log_file_open(&lf, file) != ENT_OK)
        return ent__cli_fail(c, "--log-file %s: cannot open it for "
                                "appending: %s",
                             file, strerror(errno));
    c->log.json = fmt != NULL && strcmp(fmt, "json") == 0;
    if (file != NULL) {
        c->log.sink = ent_log_file_sink;
        c->log.data = &lf;
        s.file = &lf;
    }
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
    if (tcp.addr != NULL) {
        char err[512];
        /* checked before anything is bound: a refusal leaves no trace */
        if (ent_api_tcp_configure(s.node, &tcp, err, sizeof(err)) != ENT_OK) {
            status = ent__cli_fail(c, "%s", err);
            goto out;
        }
    }
    s.log = &c->log;
    uv_signal_init(&loop, &s.sigint);
    uv_signal_init(&loop, &s.sigterm);
    uv_signal_init(&loop, &s.sighup);
    s.sigint.data = &s;
    s.sigterm.data = &s;
    s.sighup.data = &s;
    uv_signal_start(&s.sigint, serve_signal, SIGINT);
    uv_signal_start(&s.sigterm, serve_signal, SIGTERM);
    uv_signal_start(&s.sighup, serve_hup, SIGHUP);
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
    } else {
        serve_ready(c, s.node);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
out:
    ent_node_free(s.node);
    if (uv_loop_close(&loop) != 0) {
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
    }
    c->log.sink = NULL;
    c->log.data = NULL;
    ent_log_file_close(&lf);
    return status;
}

static long long mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * GET /v1/status, and with a wait of wait_ms > 0 again every
 * ENT_CLI_WAIT_POLL_MS while the node is not there yet (no socket, a stale
 * one, a connection closed or refused by a node still starting or busy)
 * until it answers or the wait is over; the last error is returned.
 */
static int status_request(cli *c, long long wait_ms, int *http, json_t **resp) {
    long long deadline = mono_ms() + wait_ms;
    for (;;) {
        long long left = deadline - mono_ms();
        int to = wait_ms > 0 && left < ENT_CLIENT_TIMEOUT_MS
                     ? (int)(left > 0 ? left : 1)
                     : ENT_CLIENT_TIMEOUT_MS;
        int rc = ent_client_request_timeout(c->home, "GET", "/v1/status", NULL,
                                            to, http, resp);
        bool again = rc == ENT_ENOTRUNNING || rc == ENT_ECLOSED ||
                     rc == ENT_ETIMEOUT || (rc == ENT_OK && *http == 503);
        if (!again || wait_ms <= 0 || mono_ms() >= deadline)
            return rc;
        json_decref(*resp);
        *resp = NULL;
        struct timespec ts = {0, ENT_CLI_WAIT_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int ent__cli_cmd_status(cli *c) {
    int http = 0;
    json_t *resp = NULL;
    int status = 0;
    const char *wait = ent__cli_opt_value(c, "wait");
    uint64_t wait_s = 0;
    if (wait != NULL) {
        wait_s = ENT_CLI_WAIT_DEFAULT_S;
        if (wait[0] != '\0' && ent_duration_parse(wait, &wait_s) != ENT_OK)
            return ent__cli_usage_error(c,
                                        "--wait wants a duration like 10s or "
                                        "2m, got '%.40s'",
                                        wait);
    }
    struct stat hs;
    if (wait != NULL && stat(c->home, &hs) != 0) /* no home: nothing to wait
                                                    for */
        return ent__cli_not_running(c->words, c->home);
    int rc = status_request(c, (long long)wait_s * 1000, &http, &resp);
    if (wait != NULL && rc != ENT_OK &&
        (rc == ENT_ENOTRUNNING || rc == ENT_ECLOSED || rc == ENT_ETIMEOUT)) {
        status = ent__cli_fail(c,
                               "no node answered for %s within %llus (start "
                               "one with: entente serve)",
                               c->home, (unsigned long long)wait_s);
        goto out;
    }
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
        const char *listen = ent__cli_jstr(resp, "listen");
        const char *adv = ent__cli_jstr(resp, "advertise");
        if (adv[0] != '\0' && strcmp(adv, listen) != 0)
            printf("listen:  %s, advertised as %s\n", listen, adv);
        else
            printf("listen:  %s\n", listen);
        printf("peers:   %lld\n",
               (long long)json_integer_value(json_object_get(resp, "peers")));
        printf("objects: %lld\n",
               (long long)json_integer_value(json_object_get(resp, "objects")));
        const json_t *rs = json_object_get(resp, "restore");
        if (json_is_object(rs))
            printf("restore: catching up after a restore from a backup, %lld "
                   "of %lld partners in sync; local writes refused until "
                   "all are (entente restore done forces it)\n",
                   (long long)ent__cli_jint(rs, "in_sync"),
                   (long long)ent__cli_jint(rs, "partners"));
        printf("equivocations: %lld\n",
               (long long)json_integer_value(
                   json_object_get(resp, "equivocations")));
        if (ent__cli_jint(resp, "rewinds") > 0)
            printf("rewinds: %lld (partners restored from a backup declared "
                   "their activity log rewound: entente audit heads)\n",
                   (long long)ent__cli_jint(resp, "rewinds"));
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
        ent__cli_row(
            f, "",
            (const char *const[]){ent__cli_jstr(o, "org"), name ? name : "-",
                                  json_is_true(json_object_get(o, "connected"))
                                      ? "connected"
                                      : "disconnected",
                                  addrs},
            (const int[]){52, 20, 12}, 4);
        ent__cli_row(
            f, "  ",
            (const char *const[]){"safety code:", ent__cli_jstr(o, "safety")},
            (const int[]){12}, 2);
        ent__cli_row(
            f, "  ",
            (const char *const[]){
                "last seen:",
                json_is_string(json_object_get(o, "last_seen"))
                    ? ent__cli_time(when, json_object_get(o, "last_seen"))
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

/* ---- config ------------------------------------------------------------- */

/* The settings `entente config` knows, as keys of GET/PUT /v1/config. */
static const char *const config_keys[] = {"advertise", "default_currency",
                                          NULL};

static bool config_key_known(const char *k) {
    for (const char *const *p = config_keys; *p != NULL; p++)
        if (strcmp(*p, k) == 0)
            return true;
    return false;
}

/* The settings without a node: read (and with set_key, first change) in the
 * home's store, under the home's lock so that no node starts meanwhile. */
typedef struct config_io {
    const char *set_key; /* NULL: read only */
    const char *set_value;
    char cur[4];
    char advertise[ENT_ADDR_STRLEN];
} config_io;

static int config_txn(ent_txn *txn, void *data) {
    config_io *io = data;
    int rc = ENT_OK;
    if (io->set_key != NULL && strcmp(io->set_key, "advertise") == 0)
        rc = ent_home_meta_put(txn, ENT_META_ADVERTISE, io->set_value);
    else if (io->set_key != NULL)
        rc = ent_config_set_default_currency(txn, io->set_value);
    if (rc == ENT_OK)
        rc = ent_config_default_currency(txn, io->cur);
    if (rc == ENT_OK) {
        rc = ent_home_meta_get(txn, ENT_META_ADVERTISE, io->advertise,
                               sizeof(io->advertise));
        if (rc == ENT_ENOENT) {
            io->advertise[0] = '\0';
            rc = ENT_OK;
        }
    }
    return rc;
}

int ent__cli_offline(cli *c, bool write, int (*fn)(ent_txn *, void *),
                     void *data, int *err) {
    char path[PATH_MAX];
    ent_store *st = NULL;
    long pid = 0;
    int fd = -1, status = -1;
    int rc = ent_home_lock(c->home, &fd, &pid);
    if (rc == ENT_EBUSY) {
        status = ent__cli_fail(c,
                               "%s: a node is running (pid %ld) but does not "
                               "answer; try again",
                               c->home, pid);
        goto out;
    }
    if (rc == ENT_ENOENT) {
        status = ent__cli_fail(c,
                               "%s: no such home (create one with: entente "
                               "init --name NAME)",
                               c->home);
        goto out;
    }
    if (rc == ENT_OK)
        rc = ent_home_path(path, sizeof(path), c->home, ENT_HOME_DB);
    if (rc == ENT_OK)
        rc = ent_store_open(&st, path, 0, &c->log);
    if (rc == ENT_OK)
        rc = write ? ent_store_write(st, fn, data)
                   : ent_store_read(st, fn, data);
    if (rc != ENT_OK) {
        *err = rc; /* the caller words the error */
        status = -2;
    }
out:
    ent_store_close(st);
    ent_home_unlock(fd);
    return status;
}

/*
 * Reads (and changes, if io->set_key) the settings of c->home with no node
 * running; on success *out is the document GET /v1/config would answer.
 * Returns -1 to go on, or the exit status after printing the error.
 */
static int config_offline(cli *c, config_io *io, json_t **out) {
    int err = ENT_OK;
    int st = ent__cli_offline(c, io->set_key != NULL, config_txn, io, &err);
    if (st == -2)
        return ent__cli_fail(c, "%s: %s", c->home, ent_strerror(err));
    if (st >= 0)
        return st;
    *out =
        json_pack("{s:s,s:o}", "default_currency", io->cur, "advertise",
                  io->advertise[0] ? json_string(io->advertise) : json_null());
    if (*out == NULL)
        return ent__cli_fail(c, "%s", ent_strerror(ENT_ENOMEM));
    return -1;
}

/*
 * The settings document of c->home into *out: from the running node (GET,
 * or PUT {key: value} when key is not NULL), else from the store directly.
 * Returns -1 to go on, or the exit status after printing the error.
 */
static int config_fetch(cli *c, const char *key, const char *value,
                        json_t **out) {
    int http = 0, st = -1;
    json_t *body = NULL;
    *out = NULL;
    if (key != NULL) {
        body = json_object();
        if (body == NULL ||
            json_object_set_new(
                body, key, value[0] ? json_string(value) : json_null()) != 0) {
            st = ent__cli_fail(c, "%s", ent_strerror(ENT_ENOMEM));
            goto out;
        }
    }
    int rc = ent_client_request(c->home, key ? "PUT" : "GET", "/v1/config",
                                body, &http, out);
    if (rc == ENT_ENOTRUNNING) {
        config_io io = {.set_key = key, .set_value = value};
        st = config_offline(c, &io, out);
    } else if (rc != ENT_OK) {
        st = ent__cli_fail(c, "%s", ent_strerror(rc));
    } else if (http < 200 || http > 299 || !json_is_object(*out)) {
        st = ent__cli_fail(c, "%s", ent_client_error(*out));
    }
out:
    if (st >= 0) {
        json_decref(*out);
        *out = NULL;
    }
    json_decref(body);
    return st;
}

/* A setting's value as text ("" when not set). */
static const char *config_text(const json_t *doc, const char *key) {
    const char *s = json_string_value(json_object_get(doc, key));
    return s != NULL ? s : "";
}

int ent__cli_cmd_config_get(cli *c) {
    const char *key = c->nargs > 0 ? c->args[0] : NULL;
    json_t *doc = NULL;
    if (key != NULL && !config_key_known(key))
        return ent__cli_config_table_show(c, key);
    int st = config_fetch(c, NULL, NULL, &doc);
    if (st >= 0)
        return st;
    if (c->json && key != NULL) {
        json_t *one = json_pack("{s:O}", key, json_object_get(doc, key));
        ent__cli_print_json(one);
        json_decref(one);
    } else if (c->json) {
        ent__cli_print_json(doc);
    } else if (key != NULL) {
        const char *v = config_text(doc, key);
        if (v[0] != '\0')
            printf("%s\n", v);
    } else {
        for (const char *const *k = config_keys; *k != NULL; k++) {
            const char *v = config_text(doc, *k);
            printf("%-17s %s\n", *k, v[0] ? v : "(not set)");
        }
    }
    json_decref(doc);
    return 0;
}

int ent__cli_cmd_config_set(cli *c) {
    const char *key = c->args[0], *value = c->args[1];
    json_t *doc = NULL;
    if (!config_key_known(key))
        return ent__cli_config_table_set(c, key);
    if (ent__cli_opt_value(c, "new") != NULL)
        return ent__cli_usage_error(c, "--new is for a new table, and %s is "
                                       "a setting",
                                    key);
    if (c->nargs != 2)
        return ent__cli_usage_error(c, "setting %s takes one VALUE", key);
    if (strcmp(key, "advertise") == 0 && value[0] != '\0' &&
        !ent_advertise_valid(value))
        return ent__cli_fail(c, BAD_ADVERTISE, value);
    if (strcmp(key, "default_currency") == 0 &&
        (strlen(value) != 3 || !ent_currency_known(value)))
        return ent__cli_fail(c,
                             "unknown currency '%s' (want an ISO 4217 code "
                             "in upper case, such as EUR)",
                             value);
    int st = config_fetch(c, key, value, &doc);
    if (st >= 0)
        return st;
    if (c->json)
        ent__cli_print_json(doc);
    json_decref(doc);
    return 0;
}

/* ---- invite: a token only this machine can use ------------------------- */

void ent__cli_warn_loopback_token(const cli *c, const char *token) {
    ent_invite inv;
    if (token == NULL ||
        ent_invite_token_parse(token, strlen(token), &inv) != ENT_OK)
        return;
    bool loop = inv.n_addrs > 0;
    for (unsigned i = 0; i < inv.n_addrs; i++)
        if (!ent_advertise_is_loopback(inv.addrs[i]))
            loop = false;
    if (loop)
        fprintf(stderr,
                "entente: %s: warning: the token carries the loopback "
                "address %s, which only this machine can reach; for a "
                "partner elsewhere, set the address it can dial with: "
                "entente config set advertise HOST:PORT\n",
                c->words, inv.addrs[0]);
    ent_invite_clear(&inv);
}
