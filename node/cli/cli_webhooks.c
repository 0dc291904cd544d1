/*
 * cli_webhooks.c - the webhook commands (spec/webhooks.md §7, spec/cli.md):
 * webhook add|list|show|remove|pause|resume|deliveries|replay|test, thin
 * clients of the node's API (node/api/api_webhooks.c). The command table
 * is here; the main table in cli.c points to it.
 */
#include "node/cli/cli_int.h"
#include "node/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* /v1/webhooks/ID[/SUFFIX] for an id of 16 lowercase hex digits. */
static int hook_url(cli *c, const char *id, const char *suffix, char *out,
                    size_t cap) {
    size_t n = strlen(id);
    if (n != 16 || strspn(id, "0123456789abcdef") != n)
        return ent__cli_fail(c, "invalid webhook id '%s' (16 hex digits, as "
                                "webhook list shows)", id);
    snprintf(out, cap, "/v1/webhooks/%s%s%s", id, suffix[0] ? "/" : "",
             suffix);
    return -1;
}

static void events_text(char *out, size_t cap, const json_t *arr) {
    size_t i, o = 0;
    json_t *e;
    out[0] = '\0';
    json_array_foreach(arr, i, e) {
        int w = snprintf(out + o, cap - o, "%s%s", i ? "," : "",
                         json_string_value(e) ? json_string_value(e) : "");
        if (w < 0 || (size_t)w >= cap - o)
            break;
        o += (size_t)w;
    }
}

static void print_list(const json_t *arr) {
    size_t i;
    json_t *h;
    static const int w[] = {16, 8, 8, 9, 10, 24};
    if (json_array_size(arr) == 0)
        return;
    ent__cli_row(stdout, "",
                 (const char *const[]){"ID", "STATE", "BACKLOG", "DELIVERED",
                                       "FAILURES", "OWNER", "URL"},
                 w, 7);
    json_array_foreach(arr, i, h) {
        char b[32], d[32], f[32];
        const char *owner = json_string_value(json_object_get(h, "owner"));
        ent__cli_row(stdout, "",
                     (const char *const[]){
                         ent__cli_jstr(h, "id"), ent__cli_jstr(h, "state"),
                         ent__cli_fmt_count(b, ent__cli_jint(h, "backlog")),
                         ent__cli_fmt_count(d, ent__cli_jint(h, "delivered")),
                         ent__cli_fmt_count(f, ent__cli_jint(h, "failures")),
                         owner != NULL ? owner : "(operator)",
                         ent__cli_jstr(h, "url")},
                     w, 7);
    }
}

static void print_hook(const json_t *h) {
    char ev[1024], t[32], n1[32], n2[32], n3[32];
    const char *owner = json_string_value(json_object_get(h, "owner"));
    events_text(ev, sizeof(ev), json_object_get(h, "events"));
    ent__cli_kv(stdout, "id", ent__cli_jstr(h, "id"));
    ent__cli_kv(stdout, "url", ent__cli_jstr(h, "url"));
    ent__cli_kv(stdout, "events", ev);
    ent__cli_kv(stdout, "owner", owner != NULL ? owner : "(operator)");
    ent__cli_kv(stdout, "state", ent__cli_jstr(h, "state"));
    ent__cli_kv(stdout, "cursor", ent__cli_fmt_count(n1, ent__cli_jint(h, "cursor")));
    ent__cli_kv(stdout, "backlog",
                ent__cli_fmt_count(n2, ent__cli_jint(h, "backlog")));
    ent__cli_kv(stdout, "sent",
                ent__cli_fmt_count(n3, ent__cli_jint(h, "delivered")));
    ent__cli_kv(stdout, "created",
                ent__cli_time(t, json_object_get(h, "created")));
    if (ent__cli_jint(h, "failures") > 0) {
        char f[32];
        ent__cli_kv(stdout, "failing",
                    ent__cli_fmt_count(f, ent__cli_jint(h, "failures")));
        ent__cli_kv(stdout, "error", ent__cli_jstr(h, "last_error"));
    }
    const char *secret = json_string_value(json_object_get(h, "secret"));
    if (secret != NULL) {
        ent__cli_kv(stdout, "secret", secret);
        fprintf(stdout, "(the secret is shown only now; receivers verify the "
                        "Entente-Signature header with it)\n");
    }
}

static void print_deliveries(const json_t *arr) {
    size_t i;
    json_t *r;
    static const int w[] = {19, 8, 7, 6, 8};
    if (json_array_size(arr) == 0)
        return;
    ent__cli_row(stdout, "",
                 (const char *const[]){"TIME", "EVENT", "ATTEMPT", "STATUS",
                                       "MS", "ERROR"},
                 w, 6);
    json_array_foreach(arr, i, r) {
        char t[32], e[32], a[32], s[32], d[32];
        const char *err = json_string_value(json_object_get(r, "error"));
        snprintf(s, sizeof(s), "%lld",
                 (long long)json_integer_value(json_object_get(r, "status")));
        ent__cli_row(stdout, "",
                     (const char *const[]){
                         ent__cli_time(t, json_object_get(r, "time")),
                         ent__cli_fmt_count(e, ent__cli_jint(r, "event")),
                         ent__cli_fmt_count(a, ent__cli_jint(r, "attempt")), s,
                         ent__cli_fmt_count(d, ent__cli_jint(r, "duration_ms")),
                         err != NULL ? err : "ok"},
                     w, 6);
    }
}

/* ---- commands ----------------------------------------------------------------- */

int ent__cli_cmd_webhook_add(cli *c) {
    const char *events = ent__cli_opt_value(c, "events");
    const char *secret = ent__cli_opt_value(c, "secret");
    const char *as = ent__cli_opt_value(c, "as");
    if (events == NULL)
        return ent__cli_usage_error(c, "--events is required (* for every "
                                       "kind)");
    json_t *body = json_pack("{s:s,s:s}", "url", c->args[0], "events", events);
    if (body == NULL)
        return ent__cli_fail(c, "out of memory");
    if (secret != NULL)
        json_object_set_new(body, "secret", json_string(secret));
    if (as != NULL)
        json_object_set_new(body, "as", json_string(as));
    int st = ent__cli_call_print(c, "POST", "/v1/webhooks", body, print_hook);
    json_decref(body);
    return st;
}

int ent__cli_cmd_webhook_list(cli *c) {
    return ent__cli_call_print(c, "GET", "/v1/webhooks", NULL, print_list);
}

int ent__cli_cmd_webhook_show(cli *c) {
    char url[64];
    int st = hook_url(c, c->args[0], "", url, sizeof(url));
    return st >= 0 ? st : ent__cli_call_print(c, "GET", url, NULL, print_hook);
}

int ent__cli_cmd_webhook_remove(cli *c) {
    char url[64];
    int st = hook_url(c, c->args[0], "", url, sizeof(url));
    return st >= 0 ? st : ent__cli_call_print(c, "DELETE", url, NULL, NULL);
}

/* pause, resume: the command's own word is the action */
int ent__cli_cmd_webhook_state(cli *c) {
    char url[64];
    int st = hook_url(c, c->args[0], c->cmd->name, url, sizeof(url));
    return st >= 0 ? st : ent__cli_call_print(c, "POST", url, NULL, NULL);
}

int ent__cli_cmd_webhook_deliveries(cli *c) {
    char url[64];
    int st = hook_url(c, c->args[0], "deliveries", url, sizeof(url));
    return st >= 0 ? st : ent__cli_call_print(c, "GET", url, NULL, print_deliveries);
}

int ent__cli_cmd_webhook_replay(cli *c) {
    char url[64], *end = NULL;
    const char *from = ent__cli_opt_value(c, "from");
    if (from == NULL)
        return ent__cli_usage_error(c, "--from EVENT_ID is required");
    unsigned long long v = strtoull(from, &end, 10);
    if (from[0] < '1' || from[0] > '9' || *end != '\0' || v > (1ull << 53))
        return ent__cli_usage_error(c, "--from wants an event id, not '%s'",
                                    from);
    int st = hook_url(c, c->args[0], "replay", url, sizeof(url));
    if (st >= 0)
        return st;
    json_t *body = json_pack("{s:I}", "from", (json_int_t)v);
    st = ent__cli_call_print(c, "POST", url, body, NULL);
    json_decref(body);
    return st;
}

static void print_test(const json_t *o) {
    printf("queued event %llu for webhook %s\n",
           (unsigned long long)ent__cli_jint(o, "event"),
           ent__cli_jstr(o, "id"));
}

int ent__cli_cmd_webhook_test(cli *c) {
    char url[64];
    int st = hook_url(c, c->args[0], "test", url, sizeof(url));
    return st >= 0 ? st : ent__cli_call_print(c, "POST", url, NULL, print_test);
}

/* ---- the command table ------------------------------------------------------- */

static const cli_opt no_opts[] = {{NULL, NULL, NULL}};

static const cli_opt add_opts[] = {
    {"events", "KINDS",
     "event kinds to send: * or a comma list (object.created,fields.*)"},
    {"secret", "SECRET",
     "the signing secret, 16 to 128 characters (default: 32 random bytes)"},
    {"as", "USER", "whose policies filter the events (default: the caller)"},
    {NULL, NULL, NULL},
};

static const cli_opt replay_opts[] = {
    {"from", "EVENT_ID", "send again from this event on (required)"},
    {NULL, NULL, NULL},
};

#define HOOK_JSON                                                              \
    "{\"id\",\"url\",\"events\",\"owner\",\"state\",\"cursor\",\"backlog\","  \
    "\"delivered\",\"failed\",\"failures\",\"failing_since\",\"last_error\","  \
    "\"created\",\"paused\",\"in_flight\",\"attempt\",\"retry_at\"}"

const cli_cmd ent__cli_webhook_cmds[] = {
    {"add", ent__cli_cmd_webhook_add, "send events to a URL",
     "webhook add URL --events KINDS [--secret SECRET] [--as USER] [--json]",
     "Adds a webhook: the node POSTs each new event of the given kinds to "
     "URL (http or https), signed with the secret (header "
     "Entente-Signature: t=TIME,v1=HMAC-SHA256 hex of \"TIME.BODY\"), in "
     "event order, retrying with backoff until the receiver answers 2xx. "
     "Events are filtered by the policies of USER (default: the caller; "
     "the operator's webhooks see everything). Needs the manage action. "
     "Prints the webhook and its secret, shown only this once; with --json "
     HOOK_JSON " plus \"secret\".",
     add_opts, 1, 1, NULL},
    {"list", ent__cli_cmd_webhook_list, "list webhooks",
     "webhook list [--json]",
     "One line per webhook: id, state (active, paused, blocked: its owner is "
     "disabled or removed, failing: 10 or more failures in a row), "
     "backlog (events not yet delivered), deliveries, consecutive "
     "failures, owner, URL. With --json: [" HOOK_JSON "].",
     no_opts, 0, 0, NULL},
    {"show", ent__cli_cmd_webhook_show, "show one webhook",
     "webhook show ID [--json]", "With --json: " HOOK_JSON ".", no_opts, 1, 1,
     NULL},
    {"remove", ent__cli_cmd_webhook_remove, "remove a webhook",
     "webhook remove ID [--json]",
     "Removes the webhook, its delivery log and its cursor. Prints nothing; "
     "with --json {\"id\",\"removed\"}.",
     no_opts, 1, 1, NULL},
    {"pause", ent__cli_cmd_webhook_state, "stop delivering (events wait)",
     "webhook pause ID [--json]",
     "Stops deliveries; events keep queueing behind the cursor. With --json "
     "the webhook: " HOOK_JSON ".",
     no_opts, 1, 1, NULL},
    {"resume", ent__cli_cmd_webhook_state, "deliver again, at once",
     "webhook resume ID [--json]",
     "Resumes a paused webhook and retries a failing one now. With --json "
     "the webhook: " HOOK_JSON ".",
     no_opts, 1, 1, NULL},
    {"deliveries", ent__cli_cmd_webhook_deliveries, "the delivery log",
     "webhook deliveries ID [--json]",
     "The last 100 attempts, oldest first: time, event, attempt, HTTP "
     "status, duration, error. With --json: [{\"seq\",\"event\",\"attempt\","
     "\"status\",\"error\",\"duration_ms\",\"time\"}].",
     no_opts, 1, 1, NULL},
    {"replay", ent__cli_cmd_webhook_replay, "send events again",
     "webhook replay ID --from EVENT_ID [--json]",
     "Moves the webhook's cursor back so that events from EVENT_ID on are "
     "sent again (receivers de-duplicate by Entente-Event-Id). EVENT_ID "
     "must still be kept. With --json the webhook: " HOOK_JSON ".",
     replay_opts, 1, 1, NULL},
    {"test", ent__cli_cmd_webhook_test, "send a test event",
     "webhook test ID [--json]",
     "Queues an event of kind webhook.test for this webhook only; it is "
     "delivered in order like any other. With --json {\"id\",\"event\"}.",
     no_opts, 1, 1, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
