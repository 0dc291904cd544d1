/*
 * cli_events.c - `entente events` (spec/cli.md): a page of the node's
 * events as the caller may see them (GET /v1/events?follow=false), or,
 * with --follow, the live stream (Server-Sent Events, node/cli/sse.h)
 * until SIGINT or SIGTERM, which end it with status 0. Its help and
 * options are in the command table (cli.c).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "node/cli/cli_int.h"
#include "node/cli/client.h"
#include "node/cli/sse.h"
#include "node/err.h"
#include "node/term.h"

#define PATH_CAP 2048

static volatile int stop_flag;

static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
}

static bool digits(const char *s) {
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > 19)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* A value of an event's data as text: a string as it is, anything else
 * as compact JSON (money, numbers, null). Caller frees. */
static char *value_text(const json_t *v) {
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_object(v) && json_is_string(json_object_get(v, "amount")) &&
        json_is_string(json_object_get(v, "currency"))) {
        const char *a = json_string_value(json_object_get(v, "amount"));
        const char *c = json_string_value(json_object_get(v, "currency"));
        char *s = malloc(strlen(a) + strlen(c) + 2);
        if (s != NULL)
            sprintf(s, "%s %s", a, c);
        return s;
    }
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* The data of an event as "k=v k=v ...", maps flattened ("shared",
 * "private": their fields; private ones marked "(private)"), the op id
 * left out. */
static void data_text(char *out, size_t cap, const json_t *d) {
    const char *k;
    json_t *v;
    size_t o = 0;
    out[0] = '\0';
    json_object_foreach((json_t *)d, k, v) {
        if (strcmp(k, "op") == 0)
            continue;
        bool map = json_is_object(v) &&
                   (strcmp(k, "shared") == 0 || strcmp(k, "private") == 0);
        if (strcmp(k, "stage") == 0 &&
            json_object_get(json_object_get(d, "shared"), "stage") != NULL)
            continue; /* shown with the shared fields */
        const char *fk;
        json_t *fv;
        json_t *one = map ? v : json_pack("{s:O}", k, v);
        json_object_foreach(one, fk, fv) {
            char *t = value_text(fv);
            int n = snprintf(
                out + o, o < cap ? cap - o : 0, "%s%s%s=%s", o ? " " : "",
                map && strcmp(k, "private") == 0 ? "(private) " : "", fk,
                t != NULL ? t : "?");
            free(t);
            if (n > 0)
                o += (size_t)n;
        }
        if (!map)
            json_decref(one);
        if (o >= cap)
            break;
    }
    if (o >= cap && cap > 4)
        strcpy(out + cap - 4, "...");
}

/* One event as a line: id, time (RFC 3339, UTC), kind, object, org, user,
 * data. Everything from outside is escaped (node/term.h). */
static void print_event(const json_t *ev) {
    char id[24], obj[20] = "-", org[16] = "-", by[80] = "-", data[1024];
    snprintf(id, sizeof(id), "%llu",
             (unsigned long long)ent__cli_jint(ev, "id"));
    const char *o = json_string_value(json_object_get(ev, "object"));
    const char *g = json_string_value(json_object_get(ev, "org"));
    const char *u = json_string_value(json_object_get(ev, "user"));
    if (o != NULL)
        snprintf(obj, sizeof(obj), "%.16s", o);
    if (g != NULL)
        snprintf(org, sizeof(org), "%.12s", g);
    if (u != NULL)
        snprintf(by, sizeof(by), "by %s", u);
    data_text(data, sizeof(data), json_object_get(ev, "data"));
    ent__cli_row(stdout, "",
                 (const char *const[]){id, ent__cli_jstr(ev, "time"),
                                       ent__cli_jstr(ev, "kind"), obj, org, by,
                                       data},
                 (const int[]){6, 24, 21, 16, 12, 12}, 7);
}

static void print_reset(bool json, uint64_t after, uint64_t first) {
    if (json) {
        json_t *r = json_pack("{s:{s:I,s:I}}", "reset", "after",
                              (json_int_t)after, "first", (json_int_t)first);
        ent__cli_print_json(r);
        json_decref(r);
    } else {
        fprintf(stderr,
                "entente: events: events after %llu were deleted by "
                "retention; going on from %llu\n",
                (unsigned long long)after, (unsigned long long)first);
    }
}

/* ---- --follow ------------------------------------------------------------ */

struct follow {
    const char *words;
    bool json;
    ent_sse_parser *sse;
    int st; /* exit status when an event was bad */
};

static int on_event(void *data, const ent_sse_event *ev) {
    struct follow *f = data;
    json_t *j = json_loadb(ev->data, ev->data_len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        f->st = ent__cli_failw(f->words, "malformed event from the node");
        return ENT_EPROTO;
    }
    if (strcmp(ev->event, "reset") == 0)
        print_reset(f->json, ent__cli_jint(j, "after"),
                    ent__cli_jint(j, "first"));
    else if (f->json)
        ent__cli_print_json(j);
    else
        print_event(j);
    fflush(stdout);
    json_decref(j);
    return 0;
}

static int on_bytes(void *data, const uint8_t *buf, size_t len) {
    struct follow *f = data;
    return ent_sse_parser_feed(f->sse, buf, len, on_event, f);
}

static int follow(cli *c, const char *path) {
    struct follow f = {c->words, c->json, NULL, 0};
    struct sigaction sa, old_int, old_term;
    json_t *err = NULL;
    int status = 0;
    if (ent_sse_parser_new(&f.sse) != ENT_OK)
        return ent__cli_fail(c, "%s", ent_strerror(ENT_ENOMEM));
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int rc = ent_client_stream(c->home, path, &stop_flag, on_bytes, &f, &status,
                               &err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    ent_sse_parser_free(f.sse);
    int st = 0;
    if (f.st != 0)
        st = f.st;
    else if (rc == ENT_ENOTRUNNING)
        st = ent__cli_not_running(c->words, c->home);
    else if (rc != ENT_OK)
        st = ent__cli_fail(c, "%s", ent_strerror(rc));
    else if (status != 200)
        st = ent__cli_fail(c, "%s", ent_client_error(err));
    else if (!stop_flag)
        st = ent__cli_fail(c, "the node closed the stream");
    json_decref(err);
    return st;
}

/* ---- the command -----------------------------------------------------------
 */

int ent__cli_cmd_events(cli *c) {
    char path[PATH_CAP], kinds[1024] = "", obj[65];
    const char *after = ent__cli_opt_value(c, "after");
    const char *limit = ent__cli_opt_value(c, "limit");
    const char *object = ent__cli_opt_value(c, "object");
    bool follow_on = ent__cli_opt_value(c, "follow") != NULL;
    size_t o = 0;
    if (after != NULL && !digits(after))
        return ent__cli_usage_error(c, "--after wants an event id");
    if (limit != NULL && (!digits(limit) || atoi(limit) < 1 ||
                          atoi(limit) > 1000 || strlen(limit) > 4))
        return ent__cli_usage_error(c, "--limit wants 1 to 1000");
    if (limit != NULL && follow_on)
        return ent__cli_usage_error(c, "--limit goes without --follow");
    for (int i = 0; i < c->nopts; i++) {
        if (strcmp(c->opts[i].name, "kind") != 0)
            continue;
        const char *k = c->opts[i].value;
        if (k[0] == '\0' ||
            strspn(k, "abcdefghijklmnopqrstuvwxyz_.,") != strlen(k))
            return ent__cli_usage_error(c, "--kind wants an event kind "
                                           "(object.created, ...)");
        int n = snprintf(kinds + o, sizeof(kinds) - o, "%s%s", o ? "," : "", k);
        if (n < 0 || (size_t)n >= sizeof(kinds) - o)
            return ent__cli_usage_error(c, "too many --kind");
        o += (size_t)n;
    }
    if (object != NULL) {
        int st = ent__cli_object_id(c->words, c->home, object, obj);
        if (st >= 0)
            return st;
    }
    snprintf(path, sizeof(path), "/v1/events?follow=%s%s%s%s%s%s%s%s%s",
             follow_on ? "true" : "false", after ? "&after=" : "",
             after ? after : "", kinds[0] ? "&kinds=" : "", kinds,
             object ? "&object=" : "", object ? obj : "",
             limit ? "&limit=" : "", limit ? limit : "");
    if (follow_on)
        return follow(c, path);
    json_t *r = NULL;
    int st = ent__cli_daemon_call(c, "GET", path, NULL, &r);
    if (st >= 0)
        return st;
    if (!json_is_array(json_object_get(r, "events"))) {
        json_decref(r);
        return ent__cli_fail(c, "malformed answer from the node");
    }
    if (c->json) {
        ent__cli_print_json(r);
    } else {
        size_t i;
        json_t *ev;
        if (json_is_true(json_object_get(r, "reset")))
            print_reset(false, after ? strtoull(after, NULL, 10) : 0,
                        ent__cli_jint(r, "first"));
        json_array_foreach(json_object_get(r, "events"), i, ev) print_event(ev);
    }
    json_decref(r);
    return 0;
}
