/* cli.c - the entente command line; see cli.h and spec/cli.md. */
#include "node/cli/cli.h"
#include "crypto/crypto.h"
#include "node/api/api_objects.h"
#include "node/cli/client.h"
#include "node/cli/cli_audit.h"
#include "node/err.h"
#include "node/home.h"
#include "node/peers/invite.h"
#include "node/log.h"
#include "node/daemon/daemon.h"
#include "node/node.h"
#include "node/objects/template.h"

#include <uv.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define CLI_MAX_OPTS 256 /* options of one invocation (--set repeats) */

/* An option of one command (global options are listed in global_opts). */
typedef struct cli_opt {
    const char *name; /* long name without "--" */
    const char *arg;  /* argument name for help ("HOST:PORT"), NULL: flag */
    const char *help;
} cli_opt;

typedef struct cli cli;

typedef struct cli_cmd {
    const char *name;
    int (*fn)(cli *c);
    const char *summary; /* one line for `entente help` */
    const char *usage;   /* after "entente " */
    const char *desc;    /* one paragraph */
    const cli_opt *opts; /* terminated by {NULL} */
    int min_args, max_args;
    const struct cli_cmd *sub; /* sub-words, terminated by {NULL} */
} cli_cmd;

/* One invocation: parsed options and positional arguments. */
struct cli {
    const cli_cmd *cmd;
    char words[64]; /* "status", "object create" */
    char home[PATH_MAX];
    bool json;
    ent_log log;
    struct {
        const char *name;
        const char *value;
    } opts[CLI_MAX_OPTS];
    int nopts;
    char **args;
    int nargs;
};

static const cli_opt global_opts[] = {
    {"home", "DIR", "home folder (default: $ENTENTE_HOME, else ~/.entente)"},
    {"json", NULL, "print exactly one JSON document on standard output"},
    {"log-level", "L", "debug, info, warn or error (default: warn; serve: info)"},
    {"help", NULL, "print this help and exit"},
    {NULL, NULL, NULL},
};

/* ---- output helpers -------------------------------------------------------- */

static int fail(const cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "entente: WORDS: message" on stderr and returns exit status 1. */
static int fail(const cli *c, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "entente: %s: ", c->words);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

static void print_json(const json_t *v) {
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s != NULL) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
}

static const char *opt_value(const cli *c, const char *name) {
    const char *v = NULL;
    for (int i = 0; i < c->nopts; i++)
        if (strcmp(c->opts[i].name, name) == 0)
            v = c->opts[i].value;
    return v;
}

/* ---- backlog progress (GET /v1/status "syncs", GET /v1/joins/N) ----------- */

static const char *jstr(const json_t *o, const char *k);

/* n with thousands separators: 41,200. */
static const char *fmt_count(char out[32], uint64_t n) {
    char tmp[32];
    int len = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)n);
    size_t o = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = tmp[i];
    }
    out[o] = '\0';
    return out;
}

static uint64_t jint(const json_t *o, const char *k) {
    json_int_t v = json_integer_value(json_object_get(o, k));
    return v > 0 ? (uint64_t)v : 0;
}

/*
 * "41,200 / 100,000 ops (41%), 9,800 ops/s, ~6 s left" into out: done of
 * expected (known: the total is known) at rate ops/s; eta < 0: unknown.
 */
static void fmt_progress(char *out, size_t cap, uint64_t done, bool known,
                         uint64_t expected, uint64_t rate, long long eta) {
    char a[32], b[32], r[32];
    size_t o = 0;
    if (known && expected > 0) {
        uint64_t pct = (done > expected ? expected : done) * 100 / expected;
        o = (size_t)snprintf(out, cap, "%s / %s ops (%llu%%)",
                             fmt_count(a, done), fmt_count(b, expected),
                             (unsigned long long)pct);
    } else {
        o = (size_t)snprintf(out, cap, "%s ops", fmt_count(a, done));
    }
    if (o < cap && rate > 0)
        o += (size_t)snprintf(out + o, cap - o, ", %s ops/s",
                              fmt_count(r, rate));
    if (o < cap && eta >= 0)
        snprintf(out + o, cap - o, ", ~%lld s left", eta);
}

/* One line of `entente status` per sync (spec/cli.md). */
static void print_sync(const json_t *o) {
    char line[200], obj[13], peer[40];
    snprintf(obj, sizeof(obj), "%s", jstr(o, "object"));
    const char *name = jstr(o, "peer_name");
    snprintf(peer, sizeof(peer), "%s", name[0] ? name : jstr(o, "peer"));
    if (!name[0] && strlen(peer) > 12)
        peer[12] = '\0';
    const json_t *exp = json_object_get(o, "expected");
    const json_t *eta = json_object_get(o, "eta_seconds");
    const char *state = jstr(o, "state");
    uint64_t elapsed = jint(o, "elapsed_ms");
    bool running = strcmp(state, "receiving") == 0;
    fmt_progress(line, sizeof(line), jint(o, "applied"), json_is_integer(exp),
                 jint(o, "expected"), running ? jint(o, "ops_per_sec") : 0,
                 running && json_is_integer(eta) ? (long long)jint(o, "eta_seconds")
                                                 : -1);
    printf("sync  %s from %s: %s", obj, peer, line);
    if (!running) {
        char r[32];
        printf(", %s in %llu.%llu s (%s ops/s)", state,
               (unsigned long long)(elapsed / 1000),
               (unsigned long long)(elapsed % 1000 / 100),
               fmt_count(r, jint(o, "ops_per_sec")));
    }
    putchar('\n');
}

/* ---- commands -------------------------------------------------------------- */

static int cmd_init(cli *c) {
    char org[ENT_ORG_ID_LEN + 1];
    const char *name = opt_value(c, "name");
    const char *listen = opt_value(c, "listen");
    struct sockaddr_storage ss;
    if (name == NULL) {
        fprintf(stderr, "entente: init: --name is required\n");
        fprintf(stderr, "usage: entente %s\n", c->cmd->usage);
        return EXIT_USAGE;
    }
    if (ent_home_check_name(name) != ENT_OK)
        return fail(c, "invalid name: 1 to %d bytes of printable UTF-8",
                    ENT_NAME_MAX);
    if (listen != NULL && ent_node_parse_addr(listen, &ss) != ENT_OK)
        return fail(c, "invalid listen address '%s' (want HOST:PORT)", listen);
    if (ent_crypto_init() != ENT_OK)
        return fail(c, "cannot initialise libsodium");
    int rc = ent_home_init(c->home, name, listen, &c->log, org);
    if (rc == ENT_EEXIST)
        return fail(c, "%s: already exists", c->home);
    if (rc == ENT_ENOENT)
        return fail(c, "%s: parent folder does not exist", c->home);
    if (rc != ENT_OK)
        return fail(c, "%s: %s", c->home, ent_strerror(rc));
    if (c->json) {
        json_t *o = json_pack("{s:s,s:s,s:s}", "org", org, "name", name,
                              "home", c->home);
        print_json(o);
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
        return fail(c, "%s: file is readable by others (chmod 600)", d->what);
    case ENT_EBUSY:
        if (d->pid > 0)
            return fail(c, "%s: another node is running (pid %ld)", c->home,
                        d->pid);
        return fail(c, "%s: another node is running", c->home);
    case ENT_ENOENT:
        if (stat(c->home, &st) != 0)
            return fail(c, "%s: no such home (create one with: entente init "
                           "--name NAME)",
                        c->home);
        return fail(c, "%s: not found", d->what);
    case ENT_ETRUNCATED:
        return fail(c, "%s: file is truncated", d->what);
    case ENT_ECORRUPT:
        return fail(c, "%s: file is corrupt", d->what);
    default:
        return fail(c, "%s: %s", d->what[0] ? d->what : c->home,
                    ent_strerror(rc));
    }
}

static int cmd_serve(cli *c) {
    uv_loop_t loop;
    struct serve_ctx s = {0};
    ent_node_diag diag;
    const char *listen = opt_value(c, "listen");
    struct sockaddr_storage ss;
    int status = 0;

    if (listen != NULL && ent_node_parse_addr(listen, &ss) != ENT_OK)
        return fail(c, "invalid listen address '%s' (want HOST:PORT)", listen);
    if (ent_crypto_init() != ENT_OK)
        return fail(c, "cannot initialise libsodium");
    signal(SIGPIPE, SIG_IGN);
    if (uv_loop_init(&loop) != 0)
        return fail(c, "cannot initialise the event loop");
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
            status = fail(c, "listen %s: address already in use", addr);
        else if (rc == ENT_ETOOBIG)
            status = fail(c, "%s: socket path too long",
                          ent_node_api_path(s.node));
        else
            status = fail(c, "cannot listen on %s: %s", addr,
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

static int cmd_status(cli *c) {
    int http = 0;
    json_t *resp = NULL;
    int status = 0;
    int rc = ent_client_request(c->home, "GET", "/v1/status", NULL, &http,
                                &resp);
    if (rc == ENT_ENOTRUNNING) {
        status = fail(c, "no node is running for %s (start one with: "
                         "entente serve)",
                      c->home);
        goto out;
    }
    if (rc != ENT_OK) {
        status = fail(c, "%s", ent_strerror(rc));
        goto out;
    }
    if (http != 200 || !json_is_object(resp)) {
        status = fail(c, "%s", ent_client_error(resp));
        goto out;
    }
    if (c->json) {
        print_json(resp);
    } else {
        printf("org:     %s\n",
               json_string_value(json_object_get(resp, "org")));
        printf("name:    %s\n",
               json_string_value(json_object_get(resp, "name")));
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

static int cmd_help(cli *c);

static const cli_opt init_opts[] = {
    {"name", "NAME", "the org's display name (1-64 bytes of UTF-8), required"},
    {"listen", "HOST:PORT", "peer address to listen on (default " ENT_DEFAULT_LISTEN ")"},
    {NULL, NULL, NULL},
};

static const cli_opt serve_opts[] = {
    {"listen", "HOST:PORT", "listen here, not at the init address (port 0: a free port)"},
    {NULL, NULL, NULL},
};

static const cli_opt no_opts[] = {{NULL, NULL, NULL}};

/* ---- objects and templates (API: node/api_objects.c) ----------------------- */

#define CLI_MAX_FILE (1024 * 1024) /* bytes read by `template set` */

static int usage_error(const cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * One request to the running node of c->home. On a 2xx answer *out holds the
 * response JSON (caller json_decref()s) and -1 is returned; otherwise the
 * error is printed and the exit status returned.
 */
static int daemon_call(cli *c, const char *method, const char *path,
                       const json_t *body, json_t **out) {
    int http = 0;
    *out = NULL;
    int rc = ent_client_request(c->home, method, path, body, &http, out);
    if (rc == ENT_ENOTRUNNING)
        return fail(c, "no node is running for %s (start one with: entente "
                       "serve)",
                    c->home);
    if (rc != ENT_OK)
        return fail(c, "%s", ent_strerror(rc));
    if (http < 200 || http > 299) {
        int st = fail(c, "%s", ent_client_error(*out));
        json_decref(*out);
        *out = NULL;
        return st;
    }
    return -1;
}

/* Checks and lowercases an object id argument into hex. -1 or exit status. */
static int obj_arg(cli *c, const char *arg, char hex[ENT_API_OBJ_ID_HEX + 1]) {
    uint8_t id[32];
    size_t l = strlen(arg);
    if (l == ENT_API_OBJ_ID_HEX) {
        for (size_t i = 0; i <= l; i++)
            hex[i] = (char)tolower((unsigned char)arg[i]);
        if (ent_api_obj_id_parse(hex, id) == ENT_OK)
            return -1;
    }
    return fail(c, "invalid object id '%.80s' (want 64 hex characters)", arg);
}

static int type_arg(cli *c, const char *type) {
    if (ent_template_type_valid(type))
        return -1;
    return fail(c, "invalid type name '%.80s' (want [a-z][a-z0-9_]{0,31})",
                type);
}

/*
 * Builds {"set":{F:V},"private":{F:V}} from the --set/--private options in
 * the order given (split at the first '='). Returns -1 or an exit status;
 * *nfields counts the fields.
 */
static int fields_body(cli *c, json_t *body, int *nfields) {
    *nfields = 0;
    for (int i = 0; i < c->nopts; i++) {
        const char *on = c->opts[i].name;
        if (strcmp(on, "set") != 0 && strcmp(on, "private") != 0)
            continue;
        const char *arg = c->opts[i].value;
        const char *eq = strchr(arg, '=');
        if (eq == NULL || eq == arg)
            return usage_error(c, "--%s wants FIELD=VALUE, got '%.80s'", on,
                               arg);
        char name[128];
        if ((size_t)(eq - arg) >= sizeof(name))
            return fail(c, "field name too long: '%.80s'", arg);
        memcpy(name, arg, (size_t)(eq - arg));
        name[eq - arg] = '\0';
        json_t *map = json_object_get(body, on);
        if (map == NULL) {
            map = json_object();
            if (map == NULL || json_object_set_new(body, on, map) != 0)
                return fail(c, "%s", ent_strerror(ENT_ENOMEM));
        }
        if (json_object_get(map, name) != NULL)
            return usage_error(c, "field %s given twice with --%s", name, on);
        json_t *v = json_string(eq + 1);
        if (v == NULL)
            return fail(c, "field %s: value is not valid UTF-8", name);
        if (json_object_set_new(map, name, v) != 0)
            return fail(c, "field %s: invalid field name", name);
        (*nfields)++;
    }
    return -1;
}

static int cmd_object_create(cli *c) {
    const char *type = opt_value(c, "type");
    json_t *body = NULL, *resp = NULL;
    int nf, st;
    if (type == NULL)
        return usage_error(c, "--type is required");
    if ((st = type_arg(c, type)) >= 0)
        return st;
    body = json_pack("{s:s}", "type", type);
    if (body == NULL)
        return fail(c, "%s", ent_strerror(ENT_ENOMEM));
    if ((st = fields_body(c, body, &nf)) >= 0)
        goto out;
    if ((st = daemon_call(c, "POST", "/v1/objects", body, &resp)) >= 0)
        goto out;
    st = 0;
    if (c->json)
        print_json(resp);
    else
        printf("%s\n", json_string_value(json_object_get(resp, "id")));
out:
    json_decref(body);
    json_decref(resp);
    return st;
}

static int cmd_object_set(cli *c) {
    char hex[ENT_API_OBJ_ID_HEX + 1], path[128];
    json_t *body = NULL, *resp = NULL;
    int nf, st;
    if ((st = obj_arg(c, c->args[0], hex)) >= 0)
        return st;
    if ((body = json_object()) == NULL)
        return fail(c, "%s", ent_strerror(ENT_ENOMEM));
    if ((st = fields_body(c, body, &nf)) >= 0)
        goto out;
    if (nf == 0) {
        st = usage_error(c, "nothing to set: give --set or --private");
        goto out;
    }
    snprintf(path, sizeof(path), "/v1/objects/%s", hex);
    if ((st = daemon_call(c, "POST", path, body, &resp)) >= 0)
        goto out;
    st = 0;
    if (c->json)
        print_json(resp);
out:
    json_decref(body);
    json_decref(resp);
    return st;
}

/* One field value of show's JSON as text ("1200000.00 EUR"). */
static void print_value(const json_t *v) {
    if (json_is_string(v)) {
        fputs(json_string_value(v), stdout);
    } else if (json_is_integer(v)) {
        printf("%lld", (long long)json_integer_value(v));
    } else if (json_is_null(v)) {
        fputs("(empty)", stdout);
    } else if (json_is_object(v) && json_object_get(v, "currency") != NULL) {
        const json_t *amt = json_object_get(v, "amount");
        if (json_is_string(amt))
            printf("%s", json_string_value(amt));
        else
            printf("%lld minor units",
                   (long long)json_integer_value(json_object_get(v, "minor")));
        printf(" %s", json_string_value(json_object_get(v, "currency")));
    } else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        fputs(s ? s : "?", stdout);
        free(s);
    }
}

static void print_fields(const char *title, const json_t *fields) {
    const char *k;
    json_t *v;
    printf("%s:\n", title);
    if (json_object_size(fields) == 0)
        printf("  (none)\n");
    json_object_foreach((json_t *)fields, k, v) {
        printf("  %-20s ", k);
        print_value(v);
        fputc('\n', stdout);
    }
}

static const char *jstr(const json_t *o, const char *k) {
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static int cmd_object_show(cli *c) {
    char hex[ENT_API_OBJ_ID_HEX + 1], path[160];
    json_t *resp = NULL;
    int st;
    if ((st = obj_arg(c, c->args[0], hex)) >= 0)
        return st;
    bool hide = opt_value(c, "hide-private") != NULL;
    snprintf(path, sizeof(path), "/v1/objects/%s%s", hex,
             hide ? "?hide_private=1" : "");
    if ((st = daemon_call(c, "GET", path, NULL, &resp)) >= 0)
        return st;
    if (c->json) {
        print_json(resp);
        goto out;
    }
    printf("id:      %s\n", jstr(resp, "id"));
    printf("type:    %s\n", jstr(resp, "type"));
    printf("epoch:   %lld\n",
           (long long)json_integer_value(json_object_get(resp, "epoch")));
    printf("status:  %s\n", jstr(resp, "status"));
    printf("members:\n");
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(resp, "members"), i, m) {
        printf("  %-52s  %-8s  %-7s  %s\n", jstr(m, "org"), jstr(m, "role"),
               jstr(m, "status"), jstr(m, "name"));
    }
    print_fields("shared", json_object_get(resp, "shared"));
    if (!hide)
        print_fields("private", json_object_get(resp, "private"));
    json_t *cm = json_object_get(resp, "comments");
    if (json_array_size(cm) > 0) {
        printf("comments:\n");
        json_array_foreach(cm, i, m) {
            printf("  %s: %s\n", jstr(m, "org"), jstr(m, "text"));
        }
    }
out:
    json_decref(resp);
    return 0;
}

static int cmd_object_list(cli *c) {
    const char *type = opt_value(c, "type");
    char path[96];
    json_t *resp = NULL;
    int st;
    if (type != NULL && (st = type_arg(c, type)) >= 0)
        return st;
    snprintf(path, sizeof(path), "/v1/objects%s%s", type ? "?type=" : "",
             type ? type : "");
    if ((st = daemon_call(c, "GET", path, NULL, &resp)) >= 0)
        return st;
    if (c->json) {
        print_json(resp);
    } else {
        size_t i;
        json_t *o;
        json_array_foreach(resp, i, o) {
            printf("%s  %-14s  epoch %-4lld  %s\n", jstr(o, "id"),
                   jstr(o, "type"),
                   (long long)json_integer_value(json_object_get(o, "epoch")),
                   jstr(o, "status"));
        }
    }
    json_decref(resp);
    return 0;
}

/* object stage OBJ STAGE / object comment OBJ TEXT */
static int object_post_one(cli *c, const char *sub, const char *key) {
    char hex[ENT_API_OBJ_ID_HEX + 1], path[160];
    json_t *body = NULL, *resp = NULL;
    int st;
    if ((st = obj_arg(c, c->args[0], hex)) >= 0)
        return st;
    if ((body = json_pack("{s:s}", key, c->args[1])) == NULL)
        return fail(c, "%s: not valid UTF-8", key);
    snprintf(path, sizeof(path), "/v1/objects/%s/%s", hex, sub);
    if ((st = daemon_call(c, "POST", path, body, &resp)) < 0) {
        st = 0;
        if (c->json)
            print_json(resp);
    }
    json_decref(body);
    json_decref(resp);
    return st;
}

static int cmd_object_stage(cli *c) {
    return object_post_one(c, "stage", "stage");
}

static int cmd_object_comment(cli *c) {
    return object_post_one(c, "comments", "text");
}

static int cmd_template_list(cli *c) {
    json_t *resp = NULL;
    int st = daemon_call(c, "GET", "/v1/templates", NULL, &resp);
    if (st >= 0)
        return st;
    if (c->json) {
        print_json(resp);
    } else {
        size_t i;
        json_t *o;
        json_array_foreach(resp, i, o) {
            bool b = json_is_true(json_object_get(o, "builtin"));
            bool s = json_is_true(json_object_get(o, "stored"));
            printf("%-16s %s\n", jstr(o, "type"),
                   s ? (b ? "stored (overrides the built-in)" : "stored")
                     : "built-in");
        }
    }
    json_decref(resp);
    return 0;
}

static int cmd_template_show(cli *c) {
    char path[96];
    json_t *resp = NULL;
    int st;
    if ((st = type_arg(c, c->args[0])) >= 0)
        return st;
    snprintf(path, sizeof(path), "/v1/templates/%s", c->args[0]);
    if ((st = daemon_call(c, "GET", path, NULL, &resp)) >= 0)
        return st;
    if (c->json) {
        print_json(resp);
        goto out;
    }
    printf("type:    %s\n", jstr(resp, "type"));
    printf("strict:  %s\n",
           json_is_true(json_object_get(resp, "strict")) ? "yes" : "no");
    size_t i;
    json_t *f;
    const json_t *stages = json_object_get(resp, "stages");
    if (json_array_size(stages) > 0) {
        printf("stages: ");
        json_array_foreach(stages, i, f) {
            printf(" %s%s", json_string_value(f),
                   i + 1 < json_array_size(stages) ? "," : "");
        }
        printf("\n");
    }
    printf("fields:\n");
    json_array_foreach(json_object_get(resp, "fields"), i, f) {
        const char *vis = jstr(f, "visibility");
        printf("  %-20s %-8s %-8s", jstr(f, "name"), jstr(f, "type"),
               vis[0] ? vis : "shared");
        if (json_is_true(json_object_get(f, "owner_only")))
            printf(" owner-only");
        if (json_object_get(f, "table") != NULL)
            printf(" values from table %s", jstr(f, "table"));
        if (json_object_get(f, "default") != NULL)
            printf(" default \"%s\"", jstr(f, "default"));
        printf("\n");
    }
out:
    json_decref(resp);
    return 0;
}

/* Reads at most CLI_MAX_FILE bytes of name ("-": standard input). */
static int read_input(cli *c, const char *name, char **out, size_t *len) {
    FILE *f = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");
    char *buf = NULL;
    size_t n = 0;
    int st = -1;
    *out = NULL;
    if (f == NULL)
        return fail(c, "%s: %s", name, strerror(errno));
    if ((buf = malloc(CLI_MAX_FILE + 1)) == NULL) {
        st = fail(c, "%s", ent_strerror(ENT_ENOMEM));
        goto out;
    }
    n = fread(buf, 1, CLI_MAX_FILE + 1, f);
    if (ferror(f)) {
        st = fail(c, "%s: read error", name);
        goto out;
    }
    if (n > CLI_MAX_FILE) {
        st = fail(c, "%s: larger than %d bytes", name, CLI_MAX_FILE);
        goto out;
    }
    *out = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    if (f != stdin)
        fclose(f);
    return st;
}

static int cmd_template_set(cli *c) {
    char path[96];
    char *text = NULL;
    size_t len = 0;
    json_t *body = NULL, *resp = NULL;
    json_error_t jerr;
    int st;
    if ((st = type_arg(c, c->args[0])) >= 0)
        return st;
    if ((st = read_input(c, c->args[1], &text, &len)) >= 0)
        return st;
    body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (body == NULL) {
        st = fail(c, "%s: not valid JSON: line %d: %s", c->args[1], jerr.line,
                  jerr.text);
        goto out;
    }
    snprintf(path, sizeof(path), "/v1/templates/%s", c->args[0]);
    if ((st = daemon_call(c, "PUT", path, body, &resp)) >= 0)
        goto out;
    st = 0;
    if (c->json)
        print_json(resp);
out:
    free(text);
    json_decref(body);
    json_decref(resp);
    return st;
}

static int cmd_template_reset(cli *c) {
    char path[96];
    json_t *resp = NULL;
    int st;
    if ((st = type_arg(c, c->args[0])) >= 0)
        return st;
    snprintf(path, sizeof(path), "/v1/templates/%s", c->args[0]);
    if ((st = daemon_call(c, "DELETE", path, NULL, &resp)) >= 0)
        return st;
    if (c->json)
        print_json(resp);
    json_decref(resp);
    return 0;
}

static const cli_opt object_create_opts[] = {
    {"type", "TYPE", "the object type (opportunity, lead, ...), required"},
    {"set", "F=V", "a shared field (repeatable)"},
    {"private", "F=V", "a private field: never leaves this node (repeatable)"},
    {NULL, NULL, NULL},
};

static const cli_opt object_set_opts[] = {
    {"set", "F=V", "a shared field (repeatable); an empty V clears it"},
    {"private", "F=V", "a private field (repeatable); an empty V clears it"},
    {NULL, NULL, NULL},
};

static int cmd_object_key(cli *c) {
    return ent_cli_object_key(c->words, c->home, c->args[0], c->json);
}

static const cli_opt object_show_opts[] = {
    {"hide-private", NULL, "leave out the private fields entirely"},
    {NULL, NULL, NULL},
};

static const cli_opt object_list_opts[] = {
    {"type", "TYPE", "only objects of this type"},
    {NULL, NULL, NULL},
};

static const cli_cmd object_cmds[] = {
    {"create", cmd_object_create, "create a joint object",
     "object create --type TYPE [--set F=V]... [--private F=V]... [--json]",
     "Creates a joint object of TYPE with this org as its owner and prints "
     "its id (64 hex characters; with --json: {\"id\"}). --set F=V gives a "
     "shared field (sent, encrypted, to the members), --private F=V a "
     "private one (kept on this node only); each splits at the first '=' and "
     "may be repeated. Values are parsed by the org's template of TYPE "
     "(entente template show TYPE): money as \"1200000 EUR\", dates as "
     "YYYY-MM-DD, enums from their list. A field the template marks private "
     "is refused with --set; a strict template refuses unknown fields. A "
     "refused value creates nothing.",
     object_create_opts, 0, 0, NULL},
    {"set", cmd_object_set, "change fields of an object",
     "object set OBJ [--set F=V]... [--private F=V]... [--json]",
     "Changes shared (--set) and private (--private) fields of object OBJ, "
     "as one change: if any value is refused, nothing changes. An empty "
     "value clears the field. Prints nothing (with --json: {\"id\"}).",
     object_set_opts, 1, 1, NULL},
    {"show", cmd_object_show, "show an object",
     "object show OBJ [--json] [--hide-private]",
     "Prints the type, epoch, members, shared fields and private fields of "
     "object OBJ. With --json: {\"id\",\"type\",\"epoch\",\"status\","
     "\"members\":[{\"org\",\"name\",\"role\",\"status\"}],\"shared\":{},"
     "\"private\":{},\"comments\":[]}. With --hide-private the private "
     "fields are left out entirely (no \"private\" key).",
     object_show_opts, 1, 1, NULL},
    {"list", cmd_object_list, "list the objects this node holds",
     "object list [--type TYPE] [--json]",
     "Lists the objects this node holds, in id order, optionally only those "
     "of TYPE. With --json: [{\"id\",\"type\",\"epoch\",\"status\"}].",
     object_list_opts, 0, 0, NULL},
    {"stage", cmd_object_stage, "move an object to a workflow stage",
     "object stage OBJ STAGE [--json]",
     "Moves object OBJ to workflow STAGE (one of the stages of its template, "
     "matched ignoring case), as a shared change of the field \"stage\".",
     no_opts, 2, 2, NULL},
    {"comment", cmd_object_comment, "comment on an object",
     "object comment OBJ TEXT [--json]",
     "Adds a comment to object OBJ; comments are shared with the members.",
     no_opts, 2, 2, NULL},
    {"key", cmd_object_key, "print an object's keys for an auditor",
     "object key OBJ [--json]",
     "Prints the epoch keys of object OBJ as OBJ:KEY,KEY... (with --json: "
     "{\"object\",\"keys\":[{\"epoch\",\"key\"}]}), the form `entente "
     "audit verify --key` takes to disclose the object's history to an "
     "auditor. Owner or admin only; anyone holding them reads every shared "
     "field of the object.",
     no_opts, 1, 1, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const cli_cmd template_cmds[] = {
    {"list", cmd_template_list, "list the object types that have a template",
     "template list [--json]",
     "Lists every object type with a template: the built-in ones and the "
     "ones this org stored. With --json: [{\"type\",\"builtin\","
     "\"stored\"}].",
     no_opts, 0, 0, NULL},
    {"show", cmd_template_show, "show the template of a type",
     "template show TYPE [--json]",
     "Prints this org's template of TYPE (the stored one, else the "
     "built-in): strictness, workflow stages and fields with their type and "
     "default visibility. With --json: the template JSON (spec/objects.md), "
     "which `entente template set` accepts back.",
     no_opts, 1, 1, NULL},
    {"set", cmd_template_set, "store this org's template of a type",
     "template set TYPE FILE|- [--json]",
     "Reads a template as JSON from FILE (or standard input with '-', at "
     "most 1 MiB), checks it and stores it as this org's template of TYPE, "
     "replacing the previous one. Its \"type\" must be TYPE. Stored objects "
     "are not changed. With --json prints the stored template.",
     no_opts, 2, 2, NULL},
    {"reset", cmd_template_reset, "drop this org's template of a type",
     "template reset TYPE [--json]",
     "Deletes the template this org stored for TYPE, so that the built-in "
     "one applies again.",
     no_opts, 1, 1, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

/* ---- partners: invite, join, member, peers (API: node/api_peers.c) -------- */

static int cmd_invite(cli *c) {
    char hex[ENT_API_OBJ_ID_HEX + 1], path[160];
    const char *role = opt_value(c, "role");
    const char *ttl = opt_value(c, "ttl");
    json_t *body = NULL, *resp = NULL;
    uint64_t secs;
    int st;
    if ((st = obj_arg(c, c->args[0], hex)) >= 0)
        return st;
    if (role != NULL && strcmp(role, "member") != 0 &&
        strcmp(role, "admin") != 0 && strcmp(role, "viewer") != 0)
        return usage_error(c, "--role must be member, admin or viewer");
    if (ttl != NULL && ent_duration_parse(ttl, &secs) != ENT_OK)
        return usage_error(c, "--ttl wants a duration like 90s, 15m, 2h or "
                              "7d (at most 90d), got '%.40s'", ttl);
    body = json_pack("{s:s,s:s}", "role", role ? role : "member", "ttl",
                     ttl ? ttl : "7d");
    if (body == NULL)
        return fail(c, "%s", ent_strerror(ENT_ENOMEM));
    snprintf(path, sizeof(path), "/v1/objects/%s/invites", hex);
    if ((st = daemon_call(c, "POST", path, body, &resp)) < 0) {
        st = 0;
        if (c->json)
            print_json(resp);
        else
            printf("%s\n", json_string_value(json_object_get(resp, "token")));
    }
    json_decref(body);
    json_decref(resp);
    return st;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int cmd_join(cli *c) {
    const char *to = opt_value(c, "timeout");
    uint64_t timeout = 60;
    json_t *body = NULL, *resp = NULL;
    char path[64];
    int st;
    if (to != NULL && ent_duration_parse(to, &timeout) != ENT_OK)
        return usage_error(c, "--timeout wants a duration like 30s or 2m");
    body = json_pack("{s:s}", "token", c->args[0]);
    if (body == NULL)
        return fail(c, "the token is not valid text");
    st = daemon_call(c, "POST", "/v1/join", body, &resp);
    json_decref(body);
    if (st >= 0)
        return st;
    snprintf(path, sizeof(path), "/v1/joins/%lld",
             (long long)json_integer_value(json_object_get(resp, "join")));
    json_decref(resp);
    resp = NULL;
    long waited = 0;
    const char *last = "";
    /* progress: one line rewritten with \r on a terminal (at most 4 a
     * second), else a line every 2 s or every 10% */
    bool tty = isatty(STDERR_FILENO) == 1;
    long last_line = -1000000;
    uint64_t last_tenth = 0;
    bool shown = false;
    for (;;) {
        if ((st = daemon_call(c, "GET", path, NULL, &resp)) >= 0)
            return st;
        const char *state = jstr(resp, "state");
        uint64_t ops = jint(resp, "ops"), expected = jint(resp, "expected");
        uint64_t applied = jint(resp, "applied");
        if (strcmp(state, last) != 0 && strcmp(state, "joining") == 0)
            fprintf(stderr, "joining\xe2\x80\xa6\n");
        if (strcmp(state, "syncing") == 0 && expected > 0) {
            uint64_t tenth = applied * 10 / expected;
            if (tty ? waited - last_line >= 250
                    : (!shown || waited - last_line >= 2000 ||
                       tenth > last_tenth)) {
                char line[160];
                const json_t *eta = json_object_get(resp, "eta_seconds");
                fmt_progress(line, sizeof(line), applied, true, expected,
                             jint(resp, "ops_per_sec"),
                             json_is_integer(eta)
                                 ? (long long)jint(resp, "eta_seconds")
                                 : -1);
                fprintf(stderr, tty ? "\rreceiving: %s\033[K" : "receiving: %s\n",
                        line);
                fflush(stderr);
                last_line = waited;
                last_tenth = tenth;
                shown = true;
            }
        }
        if (strcmp(state, "done") == 0 || strcmp(state, "failed") == 0) {
            if (tty && shown)
                fputs("\r\033[K", stderr);
            if (ops > 0) {
                char n1[32];
                fprintf(stderr, "received %s ops\n", fmt_count(n1, ops));
            }
        }
        if (strcmp(state, "done") == 0) {
            fprintf(stderr, "safety code: %s\n", jstr(resp, "safety"));
            if (c->json) {
                json_t *o = json_pack("{s:s}", "id", jstr(resp, "object"));
                print_json(o);
                json_decref(o);
            } else {
                printf("%s\n", jstr(resp, "object"));
            }
            json_decref(resp);
            return 0;
        }
        if (strcmp(state, "failed") == 0) {
            st = fail(c, "%s", jstr(resp, "error"));
            json_decref(resp);
            return st;
        }
        last = strcmp(state, "joining") == 0 ? "joining" : "";
        json_decref(resp);
        resp = NULL;
        if (waited >= (long)timeout * 1000)
            return fail(c, "timed out after %llus waiting for the object "
                           "(the join goes on in the node)",
                        (unsigned long long)timeout);
        sleep_ms(100);
        waited += 100;
    }
}

static int cmd_member_remove(cli *c) {
    char hex[ENT_API_OBJ_ID_HEX + 1], path[200];
    uint8_t org[ENT_PK_LEN];
    json_t *resp = NULL;
    int st;
    if ((st = obj_arg(c, c->args[0], hex)) >= 0)
        return st;
    if (ent_org_id_parse(org, c->args[1]) != ENT_OK)
        return fail(c, "invalid org id '%.80s' (want %d base32 characters)",
                    c->args[1], ENT_ORG_ID_LEN);
    snprintf(path, sizeof(path), "/v1/objects/%s/members/%s", hex,
             c->args[1]);
    if ((st = daemon_call(c, "DELETE", path, NULL, &resp)) >= 0)
        return st;
    if (c->json)
        print_json(resp);
    json_decref(resp);
    return 0;
}

static int cmd_peers(cli *c) {
    json_t *resp = NULL;
    int st = daemon_call(c, "GET", "/v1/peers", NULL, &resp);
    if (st >= 0)
        return st;
    if (c->json) {
        print_json(resp);
    } else {
        size_t i, k;
        json_t *o, *a;
        json_array_foreach(resp, i, o) {
            printf("%s  %-20s  %-12s", jstr(o, "org"), jstr(o, "name"),
                   json_is_true(json_object_get(o, "connected"))
                       ? "connected"
                       : "disconnected");
            json_array_foreach(json_object_get(o, "addrs"), k, a) {
                printf(" %s", json_string_value(a));
            }
            printf("\n  safety code: %s\n", jstr(o, "safety"));
        }
    }
    json_decref(resp);
    return 0;
}

static const cli_opt invite_opts[] = {
    {"role", "ROLE", "member (default), admin or viewer"},
    {"ttl", "DURATION", "how long the token is valid: 90s, 15m, 2h, 7d (default 7d, at most 90d)"},
    {NULL, NULL, NULL},
};

static const cli_opt join_opts[] = {
    {"timeout", "DURATION", "how long to wait for the object (default 60s)"},
    {NULL, NULL, NULL},
};

static const cli_cmd member_cmds[] = {
    {"remove", cmd_member_remove, "remove a member org from an object",
     "member remove OBJ ORG [--json]",
     "Removes org ORG (its org id) from object OBJ; only an owner or admin "
     "may, and never the owner. The object moves to a new epoch whose key "
     "the removed org never receives: it is told of its removal and gets "
     "nothing of the object afterwards.",
     no_opts, 2, 2, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

/* ---- activity log and audit (node/cli_audit.c) ---------------------------- */

static int cmd_log(cli *c) {
    return ent_cli_log(c->words, c->home, opt_value(c, "since"), c->json);
}

static int cmd_audit_export(cli *c) {
    return ent_cli_audit_export(c->words, c->home, opt_value(c, "out"),
                                opt_value(c, "object"), opt_value(c, "since"),
                                c->json);
}

static int cmd_audit_verify(cli *c) {
    return ent_cli_audit_verify(c->words, c->args[0], opt_value(c, "org"),
                                opt_value(c, "witness"), opt_value(c, "key"),
                                c->json);
}

static int cmd_audit_heads(cli *c) {
    return ent_cli_audit_heads(c->words, c->home, opt_value(c, "org"),
                               c->json);
}

static const cli_opt heads_opts[] = {
    {"org", "ORG", "only the head kept of org id ORG"},
    {NULL, NULL, NULL},
};

static const cli_opt log_opts[] = {
    {"since", "N", "start at entry index N"},
    {NULL, NULL, NULL},
};

static const cli_opt export_opts[] = {
    {"out", "FILE", "write the export to FILE (mode 0600), not stdout"},
    {"object", "OBJ", "only the entries of object OBJ, with inclusion proofs"},
    {"since", "N", "only entries from index N, with the frontier before N"},
    {NULL, NULL, NULL},
};

static const cli_opt verify_opts[] = {
    {"org", "ORG", "fail unless the export is of org id ORG"},
    {"witness", "FILE", "also check the signed heads in FILE (audit heads "
                        "--json output, or hex heads one a line)"},
    {"key", "OBJ:HEX", "decrypt object OBJ's ops with its epoch key(s) HEX[,HEX]"
                       " and print its history"},
    {NULL, NULL, NULL},
};

static const cli_cmd audit_cmds[] = {
    {"export", cmd_audit_export, "export the signed activity log",
     "audit export [--out FILE] [--object OBJ] [--since N] [--json]",
     "Has the running node sign a tree head over its activity log and "
     "write the export (spec/audit.md section 9): entries, signed heads, "
     "proofs and the ops they refer to, as one file.",
     export_opts, 0, 0, NULL},
    {"verify", cmd_audit_verify, "verify an export offline",
     "audit verify FILE [--org ORG] [--witness FILE] [--key OBJ:HEX] "
     "[--json]",
     "Checks every byte of an export with public keys only, without a "
     "node: signatures, hash chain, Merkle root, inclusion and consistency "
     "proofs, ops. Exit status 0 only if everything checks; otherwise the "
     "first failure (and the entry at fault) is printed.",
     verify_opts, 1, 1, NULL},
    {"heads", cmd_audit_heads, "partners' tree heads kept as a witness",
     "audit heads [--org ORG] [--json]",
     "Prints the latest signed tree head this node keeps for each partner "
     "org (spec/audit.md section 11). With --json: {\"heads\":[{\"org\","
     "\"size\",\"root\",\"time\",\"head\"}]}; give that file to "
     "`entente audit verify --witness` to check the org's export against "
     "it.",
     heads_opts, 0, 0, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

/* The command table. Planned commands (spec/cli.md) join it as they land. */
static const cli_cmd commands[] = {
    {"init", cmd_init, "create the org identity and the database",
     "init --name NAME [--listen HOST:PORT] [--home DIR] [--json]",
     "Creates a new home folder: a fresh Ed25519 org identity in "
     "identity.key (mode 0600) and the node's LMDB database, holding the org "
     "name and the peer listen address. Prints the org id (with --json: "
     "{\"org\",\"name\",\"home\"}). Refuses to touch a home that already "
     "exists and is not empty; a failure leaves nothing behind.",
     init_opts, 0, 0, NULL},
    {"serve", cmd_serve, "run the node in the foreground",
     "serve [--listen HOST:PORT] [--home DIR] [--log-level L]",
     "Runs the node until SIGINT or SIGTERM: listens for partner nodes on "
     "TCP and serves the local API on the Unix socket HOME/api.sock (mode "
     "0600). Only one node may run per home; a second one exits with an "
     "error naming the running one. Logs go to standard error.",
     serve_opts, 0, 0, NULL},
    {"status", cmd_status, "show the running node's identity and counts",
     "status [--home DIR] [--json]",
     "Asks the running node of HOME for its org id, name, actual listen "
     "address, number of partner nodes and number of objects, and prints "
     "one line per backlog sync running or finished in the last minute "
     "(a join's history, or a catch-up): \"sync  OBJ from PEER: 41,200 / "
     "100,000 ops (41%), 9,800 ops/s, ~6 s left\". With --json, prints "
     "{\"org\",\"name\",\"listen\",\"peers\",\"objects\",\"syncs\":[...]} "
     "(spec/api.md). Fails when no node is running for HOME.",
     no_opts, 0, 0, NULL},
    {"object", NULL, "create, change, show and list joint objects",
     "object COMMAND [ARGS] [options]",
     "Joint objects: shared opportunities, leads, solutions, plans... Each "
     "field is shared (sent, encrypted, to the member orgs) or private "
     "(never leaves this node). OBJ is the object id, 64 hex characters.",
     no_opts, 0, 0, object_cmds},
    {"template", NULL, "list, show and set this org's object templates",
     "template COMMAND [ARGS] [options]",
     "Templates define each object type for this org: fields, their types, "
     "default visibility, allowed values and workflow stages.",
     no_opts, 0, 0, template_cmds},
    {"invite", cmd_invite, "invite a partner org to an object",
     "invite OBJ [--role member|admin|viewer] [--ttl DURATION] [--json]",
     "Creates a one-time invite to object OBJ (owner or admin only) and "
     "prints it as a single-line token (with --json: {\"token\","
     "\"expires\",\"invite_id\"}). Send it to the partner out of band; "
     "it runs `entente join TOKEN`. The token carries this node's address "
     "and a secret; it works once, until it expires.",
     invite_opts, 1, 1, NULL},
    {"join", cmd_join, "join an object with an invite token",
     "join TOKEN [--timeout DURATION] [--json]",
     "Dials the inviting node named in TOKEN, proves the invite, and waits "
     "until the object's shared state has arrived; then prints the object "
     "id (with --json: {\"id\"}). Progress and the safety code (compare "
     "it with the inviter's `entente peers`) go to standard error: while "
     "the history arrives, \"receiving: N / TOTAL ops (P%), R ops/s, ~S s "
     "left\", rewritten in place on a terminal, else one line every 2 s or "
     "10%; then \"received N ops\".",
     join_opts, 1, 1, NULL},
    {"member", NULL, "manage the member orgs of an object",
     "member COMMAND [ARGS] [options]",
     "Membership of joint objects.", no_opts, 0, 0, member_cmds},
    {"peers", cmd_peers, "list known partner nodes",
     "peers [--json]",
     "Lists the partner nodes this node knows, whether a session is open, "
     "their addresses and the safety code of each pair of org keys. With "
     "--json: [{\"org\",\"name\",\"addrs\",\"connected\","
     "\"safety\",\"last_seen\"}].",
     no_opts, 0, 0, NULL},
    {"log", cmd_log, "show this node's activity log",
     "log [--since N] [--json]",
     "Lists the entries of the node's activity log: index, time, kind, "
     "object, op and reason. With --json: {\"size\",\"root\","
     "\"entries\":[{\"index\",\"time\",\"kind\",\"object\",\"op\","
     "\"org\",\"reason\"}]}.",
     log_opts, 0, 0, NULL},
    {"audit", NULL, "export and verify the signed activity log",
     "audit COMMAND [ARGS] [options]",
     "The activity log for auditors: export it from the running node, "
     "verify an export offline.",
     no_opts, 0, 0, audit_cmds},
    {"help", cmd_help, "show help for a command", "help [COMMAND...]",
     "Prints the list of commands, or the usage, options and description of "
     "one command. `entente COMMAND --help` does the same.",
     no_opts, 0, 4, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

/* ---- help ------------------------------------------------------------------ */

static void print_opts(FILE *f, const cli_opt *opts) {
    for (const cli_opt *o = opts; o->name != NULL; o++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "",
                 o->arg ? o->arg : "");
        fprintf(f, "  %-22s %s\n", left, o->help);
    }
}

static void print_cmd_list(FILE *f, const cli_cmd *tab, const char *prefix) {
    for (const cli_cmd *k = tab; k->name != NULL; k++) {
        char left[64];
        snprintf(left, sizeof(left), "%s%s", prefix, k->name);
        fprintf(f, "  %-16s %s\n", left, k->summary);
    }
}

static void print_main_usage(FILE *f) {
    fprintf(f, "usage: entente COMMAND [options]\n\n"
               "Entente runs one company's node of a peer-to-peer network of "
               "partner nodes:\nprivate data stays here, signed and encrypted "
               "shared fields of joint objects\ngo to the partners who are "
               "members of each object.\n\ncommands:\n");
    print_cmd_list(f, commands, "");
    fprintf(f, "\nglobal options (anywhere after the command words):\n");
    print_opts(f, global_opts);
    fprintf(f, "\nRun 'entente COMMAND --help' for the options of one "
               "command.\n");
}

/* Prints text word-wrapped at 78 columns. */
static void print_wrapped(FILE *f, const char *text) {
    size_t col = 0;
    const char *p = text;
    while (*p != '\0') {
        while (*p == ' ')
            p++;
        size_t wl = strcspn(p, " ");
        if (wl == 0)
            break;
        if (col > 0 && col + 1 + wl > 78) {
            fputc('\n', f);
            col = 0;
        } else if (col > 0) {
            fputc(' ', f);
            col++;
        }
        fwrite(p, 1, wl, f);
        col += wl;
        p += wl;
    }
    fputc('\n', f);
}

static void print_cmd_help(FILE *f, const cli_cmd *k) {
    fprintf(f, "usage: entente %s\n\n", k->usage);
    print_wrapped(f, k->desc);
    if (k->sub != NULL) {
        fprintf(f, "\ncommands:\n");
        print_cmd_list(f, k->sub, "");
    }
    if (k->opts != NULL && k->opts[0].name != NULL) {
        fprintf(f, "\noptions:\n");
        print_opts(f, k->opts);
    }
    fprintf(f, "\nglobal options:\n");
    print_opts(f, global_opts);
}

static const cli_cmd *find_cmd(const cli_cmd *tab, const char *name) {
    for (const cli_cmd *k = tab; k->name != NULL; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

static int cmd_help(cli *c) {
    const cli_cmd *tab = commands, *k = NULL;
    if (c->nargs == 0) {
        print_main_usage(stdout);
        return 0;
    }
    for (int i = 0; i < c->nargs; i++) {
        k = find_cmd(tab, c->args[i]);
        if (k == NULL) {
            fprintf(stderr, "entente: help: unknown command '%s'\n",
                    c->args[i]);
            print_main_usage(stderr);
            return EXIT_USAGE;
        }
        if (k->sub == NULL || i == c->nargs - 1)
            break;
        tab = k->sub;
    }
    print_cmd_help(stdout, k);
    return 0;
}

/* ---- dispatch -------------------------------------------------------------- */

static int usage_error(const cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int usage_error(const cli *c, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "entente: %s: ", c->words);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: entente %s\n(see: entente %s --help)\n",
            c->cmd->usage, c->words);
    return EXIT_USAGE;
}

/*
 * Parses the options of c->cmd from argv (argv[0] is the last command word)
 * with getopt_long, which permutes, so options may stand anywhere.
 * Returns -1 to go on, or an exit status.
 */
static int parse_opts(cli *c, int argc, char **argv) {
    struct option lo[CLI_MAX_OPTS + 1];
    const cli_opt *all[CLI_MAX_OPTS];
    int nlo = 0;
    bool help = false;
    const char *level = NULL;
    const char *home = NULL;
    for (int pass = 0; pass < 2; pass++) {
        const cli_opt *tab = pass == 0 ? global_opts : c->cmd->opts;
        for (const cli_opt *o = tab; o != NULL && o->name != NULL; o++) {
            if (nlo == CLI_MAX_OPTS)
                break;
            lo[nlo] = (struct option){o->name,
                                      o->arg ? required_argument : no_argument,
                                      NULL, 256 + nlo};
            all[nlo++] = o;
        }
    }
    lo[nlo] = (struct option){NULL, 0, NULL, 0};
    opterr = 0;
    optind = 0; /* full re-initialisation of GNU getopt */
    for (;;) {
        int li = -1;
        int ch = getopt_long(argc, argv, ":h", lo, &li);
        if (ch == -1)
            break;
        if (ch == 'h') {
            help = true;
        } else if (ch == '?') {
            if (optopt != 0)
                return usage_error(c, "unknown option -%c", optopt);
            return usage_error(c, "unknown option %s", argv[optind - 1]);
        } else if (ch == ':') {
            return usage_error(c, "option %s needs a value", argv[optind - 1]);
        } else if (ch >= 256 && ch < 256 + nlo) {
            const char *name = all[ch - 256]->name;
            if (strcmp(name, "help") == 0) {
                help = true;
            } else if (strcmp(name, "json") == 0) {
                c->json = true;
            } else if (strcmp(name, "home") == 0) {
                home = optarg;
            } else if (strcmp(name, "log-level") == 0) {
                level = optarg;
            } else {
                if (c->nopts == CLI_MAX_OPTS)
                    return usage_error(c, "too many options");
                c->opts[c->nopts].name = name;
                c->opts[c->nopts].value = optarg ? optarg : "";
                c->nopts++;
            }
        }
    }
    if (help) {
        print_cmd_help(stdout, c->cmd);
        return 0;
    }
    c->args = argv + optind;
    c->nargs = argc - optind;
    if (c->nargs < c->cmd->min_args)
        return usage_error(c, "missing argument");
    if (c->nargs > c->cmd->max_args)
        return usage_error(c, "unexpected argument '%s'",
                           c->args[c->cmd->max_args]);
    ent_log_level lv = strcmp(c->cmd->name, "serve") == 0 ? ENT_LOG_INFO
                                                          : ENT_LOG_WARN;
    if (level != NULL && ent_log_level_parse(level, &lv) != ENT_OK)
        return usage_error(c, "unknown log level '%s'", level);
    ent_log_init(&c->log, lv, NULL);
    if (home != NULL) {
        if (home[0] == '\0' || strlen(home) >= sizeof(c->home))
            return usage_error(c, "bad --home");
        strcpy(c->home, home);
    } else if (ent_home_default(c->home, sizeof(c->home)) != ENT_OK) {
        return usage_error(c, "no home: set $ENTENTE_HOME or use --home DIR");
    }
    return -1;
}

int ent_cli_main(int argc, char **argv) {
    cli c;
    memset(&c, 0, sizeof(c));
    if (argc < 2) {
        print_main_usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_main_usage(stdout);
        return 0;
    }
    const cli_cmd *tab = commands;
    int i = 1;
    for (;;) {
        const cli_cmd *k = find_cmd(tab, argv[i]);
        if (k == NULL) {
            if (argv[i][0] == '-')
                fprintf(stderr, "entente: unknown option %s before the "
                                "command\n", argv[i]);
            else
                fprintf(stderr, "entente: unknown command '%s'\n", argv[i]);
            print_main_usage(stderr);
            return EXIT_USAGE;
        }
        size_t wl = strlen(c.words);
        snprintf(c.words + wl, sizeof(c.words) - wl, "%s%s", wl ? " " : "",
                 k->name);
        c.cmd = k;
        if (k->sub == NULL || i + 1 >= argc || argv[i + 1][0] == '-')
            break;
        tab = k->sub;
        i++;
    }
    int st = parse_opts(&c, argc - i, argv + i);
    if (st >= 0)
        return st;
    if (c.cmd->fn == NULL) { /* a group word without its sub-command */
        print_cmd_help(stderr, c.cmd);
        return EXIT_USAGE;
    }
    return c.cmd->fn(&c);
}
