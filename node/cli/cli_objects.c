/*
 * cli_objects.c - the commands on joint objects, all answered by the
 * running node's API (node/api/api_objects.c, node/api/api_peers.c):
 * `object create|set|show|list|stage|comment`, `template
 * list|show|set|reset`, `invite` (a one-time token for a partner), `join`
 * (with such a token, showing the history's progress) and `member remove`.
 * Their help and options are in the command table (cli.c); `object key` is
 * in cli_audit.c.
 */
#include "crypto/crypto.h"
#include "node/api/api_objects.h"
#include "node/cli/cli_int.h"
#include "node/err.h"
#include "node/objects/template.h"
#include "node/peers/invite.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CLI_MAX_FILE (1024 * 1024) /* bytes read by `template set` */

/* ---- objects and templates (API: node/api/api_objects.c) ----------------- */

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
    return ent__cli_fail(
        c, "invalid object id '%.80s' (want 64 hex characters)", arg);
}

static int type_arg(cli *c, const char *type) {
    if (ent_template_type_valid(type))
        return -1;
    return ent__cli_fail(
        c, "invalid type name '%.80s' (want [a-z][a-z0-9_]{0,31})", type);
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
            return ent__cli_usage_error(
                c, "--%s wants FIELD=VALUE, got '%.80s'", on, arg);
        char name[128];
        if ((size_t)(eq - arg) >= sizeof(name))
            return ent__cli_fail(c, "field name too long: '%.80s'", arg);
        memcpy(name, arg, (size_t)(eq - arg));
        name[eq - arg] = '\0';
        json_t *map = json_object_get(body, on);
        if (map == NULL) {
            map = json_object();
            if (map == NULL || json_object_set_new(body, on, map) != 0)
                return ent__cli_fail(c, "%s", ent_strerror(ENT_ENOMEM));
        }
        if (json_object_get(map, name) != NULL)
            return ent__cli_usage_error(c, "field %s given twice with --%s",
                                        name, on);
        json_t *v = json_string(eq + 1);
        if (v == NULL)
            return ent__cli_fail(c, "field %s: value is not valid UTF-8", name);
        if (json_object_set_new(map, name, v) != 0)
            return ent__cli_fail(c, "field %s: invalid field name", name);
        (*nfields)++;
    }
    return -1;
}

int ent__cli_cmd_object_create(cli *c) {
    const char *type = ent__cli_opt_value(c, "type");
    json_t *body = NULL, *resp = NULL;
    int nf, st;
    if (type == NULL)
        return ent__cli_usage_error(c, "--type is required");
    if ((st = type_arg(c, type)) >= 0)
        return st;
    body = json_pack("{s:s}", "type", type);
    if (body == NULL)
        return ent__cli_fail(c, "%s", ent_strerror(ENT_ENOMEM));
    if ((st = fields_body(c, body, &nf)) >= 0)
        goto out;
    if ((st = ent__cli_daemon_call(c, "POST", "/v1/objects", body, &resp)) >= 0)
        goto out;
    st = 0;
    if (c->json)
        ent__cli_print_json(resp);
    else
        printf("%s\n", json_string_value(json_object_get(resp, "id")));
out:
    json_decref(body);
    json_decref(resp);
    return st;
}

int ent__cli_cmd_object_set(cli *c) {
    char hex[ENT_API_OBJ_ID_HEX + 1], path[128];
    json_t *body = NULL, *resp = NULL;
    int nf, st;
    if ((st = obj_arg(c, c->args[0], hex)) >= 0)
        return st;
    if ((body = json_object()) == NULL)
        return ent__cli_fail(c, "%s", ent_strerror(ENT_ENOMEM));
    if ((st = fields_body(c, body, &nf)) >= 0)
        goto out;
    if (nf == 0) {
        st = ent__cli_usage_error(c, "nothing to set: give --set or --private");
        goto out;
    }
    snprintf(path, sizeof(path), "/v1/objects/%s", hex);
    if ((st = ent__cli_daemon_call(c, "POST", path, body, &resp)) >= 0)
        goto out;
    st = 0;
    if (c->json)
        ent__cli_print_json(resp);
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

int ent__cli_cmd_object_show(cli *c) {
    char hex[ENT_API_OBJ_ID_HEX + 1], path[160];
    json_t *resp = NULL;
    int st;
    if ((st = obj_arg(c, c->args[0], hex)) >= 0)
        return st;
    bool hide = ent__cli_opt_value(c, "hide-private") != NULL;
    snprintf(path, sizeof(path), "/v1/objects/%s%s", hex,
             hide ? "?hide_private=1" : "");
    if ((st = ent__cli_daemon_call(c, "GET", path, NULL, &resp)) >= 0)
        return st;
    if (c->json) {
        ent__cli_print_json(resp);
        goto out;
    }
    printf("id:      %s\n", ent__cli_jstr(resp, "id"));
    printf("type:    %s\n", ent__cli_jstr(resp, "type"));
    printf("epoch:   %lld\n",
           (long long)json_integer_value(json_object_get(resp, "epoch")));
    printf("status:  %s\n", ent__cli_jstr(resp, "status"));
    printf("members:\n");
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(resp, "members"), i, m) {
        printf("  %-52s  %-8s  %-7s  %s\n", ent__cli_jstr(m, "org"),
               ent__cli_jstr(m, "role"), ent__cli_jstr(m, "status"),
               ent__cli_jstr(m, "name"));
    }
    print_fields("shared", json_object_get(resp, "shared"));
    if (!hide)
        print_fields("private", json_object_get(resp, "private"));
    json_t *cm = json_object_get(resp, "comments");
    if (json_array_size(cm) > 0) {
        printf("comments:\n");
        json_array_foreach(cm, i, m) {
            printf("  %s: %s\n", ent__cli_jstr(m, "org"),
                   ent__cli_jstr(m, "text"));
        }
    }
out:
    json_decref(resp);
    return 0;
}

int ent__cli_cmd_object_list(cli *c) {
    const char *type = ent__cli_opt_value(c, "type");
    char path[96];
    json_t *resp = NULL;
    int st;
    if (type != NULL && (st = type_arg(c, type)) >= 0)
        return st;
    snprintf(path, sizeof(path), "/v1/objects%s%s", type ? "?type=" : "",
             type ? type : "");
    if ((st = ent__cli_daemon_call(c, "GET", path, NULL, &resp)) >= 0)
        return st;
    if (c->json) {
        ent__cli_print_json(resp);
    } else {
        size_t i;
        json_t *o;
        json_array_foreach(resp, i, o) {
            printf("%s  %-14s  epoch %-4lld  %s\n", ent__cli_jstr(o, "id"),
                   ent__cli_jstr(o, "type"),
                   (long long)json_integer_value(json_object_get(o, "epoch")),
                   ent__cli_jstr(o, "status"));
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
        return ent__cli_fail(c, "%s: not valid UTF-8", key);
    snprintf(path, sizeof(path), "/v1/objects/%s/%s", hex, sub);
    if ((st = ent__cli_daemon_call(c, "POST", path, body, &resp)) < 0) {
        st = 0;
        if (c->json)
            ent__cli_print_json(resp);
    }
    json_decref(body);
    json_decref(resp);
    return st;
}

int ent__cli_cmd_object_stage(cli *c) {
    return object_post_one(c, "stage", "stage");
}

int ent__cli_cmd_object_comment(cli *c) {
    return object_post_one(c, "comments", "text");
}

int ent__cli_cmd_template_list(cli *c) {
    json_t *resp = NULL;
    int st = ent__cli_daemon_call(c, "GET", "/v1/templates", NULL, &resp);
    if (st >= 0)
        return st;
    if (c->json) {
        ent__cli_print_json(resp);
    } else {
        size_t i;
        json_t *o;
        json_array_foreach(resp, i, o) {
            bool b = json_is_true(json_object_get(o, "builtin"));
            bool s = json_is_true(json_object_get(o, "stored"));
            printf("%-16s %s\n", ent__cli_jstr(o, "type"),
                   s ? (b ? "stored (overrides the built-in)" : "stored")
                     : "built-in");
        }
    }
    json_decref(resp);
    return 0;
}

int ent__cli_cmd_template_show(cli *c) {
    char path[96];
    json_t *resp = NULL;
    int st;
    if ((st = type_arg(c, c->args[0])) >= 0)
        return st;
    snprintf(path, sizeof(path), "/v1/templates/%s", c->args[0]);
    if ((st = ent__cli_daemon_call(c, "GET", path, NULL, &resp)) >= 0)
        return st;
    if (c->json) {
        ent__cli_print_json(resp);
        goto out;
    }
    printf("type:    %s\n", ent__cli_jstr(resp, "type"));
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
        const char *vis = ent__cli_jstr(f, "visibility");
        printf("  %-20s %-8s %-8s", ent__cli_jstr(f, "name"),
               ent__cli_jstr(f, "type"), vis[0] ? vis : "shared");
        if (json_is_true(json_object_get(f, "owner_only")))
            printf(" owner-only");
        if (json_object_get(f, "table") != NULL)
            printf(" values from table %s", ent__cli_jstr(f, "table"));
        if (json_object_get(f, "default") != NULL)
            printf(" default \"%s\"", ent__cli_jstr(f, "default"));
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
        return ent__cli_fail(c, "%s: %s", name, strerror(errno));
    if ((buf = malloc(CLI_MAX_FILE + 1)) == NULL) {
        st = ent__cli_fail(c, "%s", ent_strerror(ENT_ENOMEM));
        goto out;
    }
    n = fread(buf, 1, CLI_MAX_FILE + 1, f);
    if (ferror(f)) {
        st = ent__cli_fail(c, "%s: read error", name);
        goto out;
    }
    if (n > CLI_MAX_FILE) {
        st = ent__cli_fail(c, "%s: larger than %d bytes", name, CLI_MAX_FILE);
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

int ent__cli_cmd_template_set(cli *c) {
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
        st = ent__cli_fail(c, "%s: not valid JSON: line %d: %s", c->args[1],
                           jerr.line, jerr.text);
        goto out;
    }
    snprintf(path, sizeof(path), "/v1/templates/%s", c->args[0]);
    if ((st = ent__cli_daemon_call(c, "PUT", path, body, &resp)) >= 0)
        goto out;
    st = 0;
    if (c->json)
        ent__cli_print_json(resp);
out:
    free(text);
    json_decref(body);
    json_decref(resp);
    return st;
}

int ent__cli_cmd_template_reset(cli *c) {
    char path[96];
    json_t *resp = NULL;
    int st;
    if ((st = type_arg(c, c->args[0])) >= 0)
        return st;
    snprintf(path, sizeof(path), "/v1/templates/%s", c->args[0]);
    if ((st = ent__cli_daemon_call(c, "DELETE", path, NULL, &resp)) >= 0)
        return st;
    if (c->json)
        ent__cli_print_json(resp);
    json_decref(resp);
    return 0;
}

/* ---- partners: invite, join, member (API: node/api/api_peers.c) ---------- */

int ent__cli_cmd_invite(cli *c) {
    char hex[ENT_API_OBJ_ID_HEX + 1], path[160];
    const char *role = ent__cli_opt_value(c, "role");
    const char *ttl = ent__cli_opt_value(c, "ttl");
    json_t *body = NULL, *resp = NULL;
    uint64_t secs;
    int st;
    if ((st = obj_arg(c, c->args[0], hex)) >= 0)
        return st;
    if (role != NULL && strcmp(role, "member") != 0 &&
        strcmp(role, "admin") != 0 && strcmp(role, "viewer") != 0)
        return ent__cli_usage_error(c,
                                    "--role must be member, admin or viewer");
    if (ttl != NULL && ent_duration_parse(ttl, &secs) != ENT_OK)
        return ent__cli_usage_error(c,
                                    "--ttl wants a duration like 90s, 15m, "
                                    "2h or 7d (at most 90d), got '%.40s'",
                                    ttl);
    body = json_pack("{s:s,s:s}", "role", role ? role : "member", "ttl",
                     ttl ? ttl : "7d");
    if (body == NULL)
        return ent__cli_fail(c, "%s", ent_strerror(ENT_ENOMEM));
    snprintf(path, sizeof(path), "/v1/objects/%s/invites", hex);
    if ((st = ent__cli_daemon_call(c, "POST", path, body, &resp)) < 0) {
        st = 0;
        if (c->json)
            ent__cli_print_json(resp);
        else
            printf("%s\n", json_string_value(json_object_get(resp, "token")));
        ent__cli_warn_loopback_token(c, ent__cli_jstr(resp, "token"));
    }
    json_decref(body);
    json_decref(resp);
    return st;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int ent__cli_cmd_join(cli *c) {
    const char *to = ent__cli_opt_value(c, "timeout");
    uint64_t timeout = 60;
    json_t *body = NULL, *resp = NULL;
    char path[64];
    int st;
    if (to != NULL && ent_duration_parse(to, &timeout) != ENT_OK)
        return ent__cli_usage_error(
            c, "--timeout wants a duration like 30s or 2m");
    body = json_pack("{s:s}", "token", c->args[0]);
    if (body == NULL)
        return ent__cli_fail(c, "the token is not valid text");
    st = ent__cli_daemon_call(c, "POST", "/v1/join", body, &resp);
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
        if ((st = ent__cli_daemon_call(c, "GET", path, NULL, &resp)) >= 0)
            return st;
        const char *state = ent__cli_jstr(resp, "state");
        uint64_t ops = ent__cli_jint(resp, "ops"),
                 expected = ent__cli_jint(resp, "expected");
        uint64_t applied = ent__cli_jint(resp, "applied");
        if (strcmp(state, last) != 0 && strcmp(state, "joining") == 0)
            fprintf(stderr, "joining\xe2\x80\xa6\n");
        if (strcmp(state, "syncing") == 0 && expected > 0) {
            uint64_t tenth = applied * 10 / expected;
            if (tty ? waited - last_line >= 250
                    : (!shown || waited - last_line >= 2000 ||
                       tenth > last_tenth)) {
                char line[160];
                const json_t *eta = json_object_get(resp, "eta_seconds");
                ent__cli_fmt_progress(
                    line, sizeof(line), applied, true, expected,
                    ent__cli_jint(resp, "ops_per_sec"),
                    json_is_integer(eta)
                        ? (long long)ent__cli_jint(resp, "eta_seconds")
                        : -1);
                fprintf(stderr,
                        tty ? "\rreceiving: %s\033[K" : "receiving: %s\n",
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
                fprintf(stderr, "received %s ops\n",
                        ent__cli_fmt_count(n1, ops));
            }
        }
        if (strcmp(state, "done") == 0) {
            fprintf(stderr, "safety code: %s\n", ent__cli_jstr(resp, "safety"));
            if (c->json) {
                json_t *o =
                    json_pack("{s:s}", "id", ent__cli_jstr(resp, "object"));
                ent__cli_print_json(o);
                json_decref(o);
            } else {
                printf("%s\n", ent__cli_jstr(resp, "object"));
            }
            json_decref(resp);
            return 0;
        }
        if (strcmp(state, "failed") == 0) {
            st = ent__cli_fail(c, "%s", ent__cli_jstr(resp, "error"));
            json_decref(resp);
            return st;
        }
        last = strcmp(state, "joining") == 0 ? "joining" : "";
        json_decref(resp);
        resp = NULL;
        if (waited >= (long)timeout * 1000)
            return ent__cli_fail(c,
                                 "timed out after %llus waiting for the object "
                                 "(the join goes on in the node)",
                                 (unsigned long long)timeout);
        sleep_ms(100);
        waited += 100;
    }
}

int ent__cli_cmd_member_remove(cli *c) {
    char hex[ENT_API_OBJ_ID_HEX + 1], path[200];
    uint8_t org[ENT_PK_LEN];
    json_t *resp = NULL;
    int st;
    if ((st = obj_arg(c, c->args[0], hex)) >= 0)
        return st;
    if (ent_org_id_parse(org, c->args[1]) != ENT_OK)
        return ent__cli_fail(
            c, "invalid org id '%.80s' (want %d base32 characters)", c->args[1],
            ENT_ORG_ID_LEN);
    snprintf(path, sizeof(path), "/v1/objects/%s/members/%s", hex, c->args[1]);
    if ((st = ent__cli_daemon_call(c, "DELETE", path, NULL, &resp)) >= 0)
        return st;
    if (c->json)
        ent__cli_print_json(resp);
    json_decref(resp);
    return 0;
}
