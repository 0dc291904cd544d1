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
#include "node/cli/client.h"
#include "node/err.h"
#include "node/objects/fieldmap.h"
#include "node/objects/template.h"
#include "node/peers/invite.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CLI_MAX_FILE (1024 * 1024) /* bytes read by `template set` */

/* ---- objects and templates (API: node/api/api_objects.c) ----------------- */

/* The candidates of an ambiguous prefix, "ID12 (type, title), ..." */
static void candidates(char *out, size_t cap, const json_t *rows) {
    size_t i, o = 0;
    json_t *r;
    out[0] = '\0';
    json_array_foreach(rows, i, r) {
        const char *title = json_string_value(json_object_get(r, "title"));
        int w = i == ENT_CLI_ID_CANDIDATES
                    ? snprintf(out + o, cap - o, ", ...")
                    : snprintf(out + o, cap - o, "%s%.12s (%s%s%.40s)",
                               i ? ", " : "", ent__cli_jstr(r, "id"),
                               ent__cli_jstr(r, "type"), title ? ", " : "",
                               title ? title : "");
        if (w < 0 || (size_t)w >= cap - o || i == ENT_CLI_ID_CANDIDATES)
            break;
        o += (size_t)w;
    }
}

int ent__cli_object_id(const char *words, const char *home, const char *arg,
                       char hex[65]) {
    size_t l = strlen(arg);
    char path[128], why[1200];
    json_t *rows = NULL;
    uint8_t id[32];
    bool is_hex = l > 0 && l <= ENT_API_OBJ_ID_HEX;
    for (size_t i = 0; is_hex && i < l; i++) {
        hex[i] = (char)tolower((unsigned char)arg[i]);
        is_hex = isxdigit((unsigned char)arg[i]) != 0;
    }
    if (!is_hex)
        return ent__cli_failw(words,
                              "invalid object id '%.80s' (want 64 hex "
                              "characters, or a unique prefix of at least %d)",
                              arg, ENT_CLI_ID_PREFIX_MIN);
    hex[l] = '\0';
    if (l == ENT_API_OBJ_ID_HEX)
        return ent_api_obj_id_parse(hex, id) == ENT_OK
                   ? -1
                   : ent__cli_failw(words, "invalid object id '%.80s'", arg);
    if (l < ENT_CLI_ID_PREFIX_MIN)
        return ent__cli_failw(words,
                              "object id prefix '%s' is too short: give at "
                              "least %d hex characters",
                              hex, ENT_CLI_ID_PREFIX_MIN);
    snprintf(path, sizeof(path), "/v1/objects?prefix=%s&limit=%d", hex,
             ENT_CLI_ID_CANDIDATES + 1);
    int st = ent__cli_call(words, home, "GET", path, NULL, &rows);
    if (st >= 0)
        return st;
    char prefix[65];
    snprintf(prefix, sizeof(prefix), "%s", hex);
    int rc = ent__cli_pick_object(rows, prefix, hex, why, sizeof(why));
    json_decref(rows);
    return rc == ENT_OK ? -1 : ent__cli_failw(words, "%s", why);
}

int ent__cli_pick_object(const json_t *rows, const char *prefix, char hex[65],
                         char *why, size_t cap) {
    char list[1024];
    size_t n = json_array_size(rows);
    const char *id = ent__cli_jstr(json_array_get(rows, 0), "id");
    if (n == 0) {
        snprintf(why, cap, "no object has an id starting with %s", prefix);
        return ENT_ENOENT;
    }
    if (n > 1) {
        candidates(list, sizeof(list), rows);
        snprintf(why, cap,
                 "object id prefix %s is ambiguous: it matches %s; give more "
                 "characters",
                 prefix, list);
        return ENT_EEXIST;
    }
    if (strlen(id) != ENT_API_OBJ_ID_HEX ||
        strncmp(id, prefix, strlen(prefix)) != 0) {
        snprintf(why, cap, "malformed answer from the node");
        return ENT_EPROTO;
    }
    memcpy(hex, id, ENT_API_OBJ_ID_HEX + 1);
    return ENT_OK;
}

/* An object id argument (full, or a prefix) into hex. -1 or exit status. */
static int obj_arg(cli *c, const char *arg, char hex[ENT_API_OBJ_ID_HEX + 1]) {
    return ent__cli_object_id(c->words, c->home, arg, hex);
}

static int type_arg(cli *c, const char *type) {
    if (ent_template_type_valid(type))
        return -1;
    return ent__cli_fail(
        c, "invalid type name '%.80s' (want [a-z][a-z0-9_]{0,31})", type);
}

/* Appends --remove F to body["remove"] (an array of names). */
static int remove_add(cli *c, json_t *body, const char *name) {
    json_t *arr = json_object_get(body, "remove"), *v;
    size_t i;
    if (name[0] == '\0' || strchr(name, '=') != NULL)
        return ent__cli_usage_error(c, "--remove wants a FIELD name, got "
                                       "'%.80s'",
                                    name);
    if (arr == NULL &&
        ((arr = json_array()) == NULL ||
         json_object_set_new(body, "remove", arr) != 0))
        return ent__cli_fail(c, "%s", ent_strerror(ENT_ENOMEM));
    json_array_foreach(arr, i, v) {
        if (strcmp(json_string_value(v), name) == 0)
            return ent__cli_usage_error(c, "field %s given twice with --remove",
                                        name);
    }
    if ((v = json_string(name)) == NULL || json_array_append_new(arr, v) != 0)
        return ent__cli_fail(c, "field %s: invalid field name", name);
    return -1;
}

/*
 * Builds {"set":{F:V},"private":{F:V},"custom":{F:V},"remove":[F]} from the
 * --set/--private/--custom/--remove options in the order given (split at
 * the first '='). Returns -1 or an exit status; *nfields counts the fields.
 */
static int fields_body(cli *c, json_t *body, int *nfields) {
    *nfields = 0;
    for (int i = 0; i < c->nopts; i++) {
        const char *on = c->opts[i].name;
        if (strcmp(on, "remove") == 0) {
            int st = remove_add(c, body, c->opts[i].value);
            if (st >= 0)
                return st;
            (*nfields)++;
            continue;
        }
        if (strcmp(on, "set") != 0 && strcmp(on, "private") != 0 &&
            strcmp(on, "custom") != 0)
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
        st = ent__cli_usage_error(
            c, "nothing to set: give --set, --private, --custom or --remove");
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

/* One field value of show's JSON as text ("1200000.00 EUR"), malloc'ed. */
static char *value_text(const json_t *v) {
    char *out = NULL;
    if (json_is_string(v)) {
        out = strdup(json_string_value(v));
    } else if (json_is_integer(v)) {
        if (asprintf(&out, "%lld", (long long)json_integer_value(v)) < 0)
            out = NULL;
    } else if (json_is_null(v)) {
        out = strdup("(empty)");
    } else if (json_is_object(v) && json_object_get(v, "currency") != NULL) {
        const json_t *amt = json_object_get(v, "amount");
        int r = json_is_string(amt)
                    ? asprintf(&out, "%s %s", json_string_value(amt),
                               ent__cli_jstr(v, "currency"))
                    : asprintf(&out, "%lld minor units %s",
                               (long long)json_integer_value(
                                   json_object_get(v, "minor")),
                               ent__cli_jstr(v, "currency"));
        if (r < 0)
            out = NULL;
    } else {
        out = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    }
    return out;
}

static void print_fields(FILE *f, const char *title, const json_t *fields) {
    const char *k;
    json_t *v;
    fprintf(f, "%s:\n", title);
    if (json_object_size(fields) == 0)
        fprintf(f, "  (none)\n");
    json_object_foreach((json_t *)fields, k, v) {
        char *t = value_text(v);
        ent__cli_row(f, "  ", (const char *const[]){k, t ? t : "?"},
                     (const int[]){19}, 2);
        free(t);
    }
}

void ent__cli_print_object(FILE *f, const json_t *o, bool hide_private) {
    char num[32], when[32], who[16];
    size_t i;
    json_t *m;
    ent__cli_kv(f, "id", ent__cli_jstr(o, "id"));
    ent__cli_kv(f, "type", ent__cli_jstr(o, "type"));
    snprintf(num, sizeof(num), "%llu",
             (unsigned long long)ent__cli_jint(o, "epoch"));
    ent__cli_kv(f, "epoch", num);
    ent__cli_kv(f, "status", ent__cli_jstr(o, "status"));
    fprintf(f, "members:\n");
    json_array_foreach(json_object_get(o, "members"), i, m) {
        ent__cli_row(f, "  ",
                     (const char *const[]){
                         ent__cli_jstr(m, "org"), ent__cli_jstr(m, "role"),
                         ent__cli_jstr(m, "status"), ent__cli_jstr(m, "name")},
                     (const int[]){52, 8, 7}, 4);
    }
    print_fields(f, "shared", json_object_get(o, "shared"));
    if (!hide_private)
        print_fields(f, "private", json_object_get(o, "private"));
    if (json_object_get(o, "derived") != NULL) /* computed here */
        print_fields(f, "derived", json_object_get(o, "derived"));
    const json_t *rg = json_object_get(o, "registration");
    if (rg != NULL) { /* spec/workflows.md §9.3, the approver's view */
        fprintf(f, "registration: log entry %lld, %zu likely conflicts\n",
                (long long)json_integer_value(json_object_get(rg, "log_index")),
                json_array_size(json_object_get(rg, "conflicts")));
        ent__cli_print_conflicts(f, rg);
    }
    const json_t *cm = json_object_get(o, "comments");
    if (json_array_size(cm) > 0) {
        fprintf(f, "comments:\n");
        json_array_foreach(cm, i, m) {
            char *line = NULL;
            if (asprintf(&line, "%s: %s", ent__cli_who(who, m),
                         ent__cli_jstr(m, "text")) < 0)
                line = NULL;
            ent__cli_row(f, "  ",
                         (const char *const[]){
                             ent__cli_time(when, json_object_get(m, "time")),
                             line ? line : "?"},
                         (const int[]){19}, 2);
            free(line);
        }
    }
}

/* `object show --own-names`: the "shared" and "private" fields of obj by
 * the org's field map of its type (GET /v1/fieldmaps/TYPE; none: as they
 * are). -1, or the exit status. */
static int own_names(cli *c, json_t *obj) {
    char path[64];
    const char *type = json_string_value(json_object_get(obj, "type"));
    json_t *doc = NULL;
    ent_fieldmap *m = NULL;
    int http = 0, st = -1;
    if (type == NULL || !ent_template_type_valid(type))
        return -1;
    snprintf(path, sizeof(path), "/v1/fieldmaps/%s", type);
    int rc = ent_client_request(c->home, "GET", path, NULL, &http, &doc);
    if (rc != ENT_OK || (http != 404 && (http < 200 || http > 299)))
        st = ent__cli_fail(c, "%s", rc != ENT_OK ? ent_strerror(rc)
                                                 : ent_client_error(doc));
    else if (http != 404 &&
             ent_fieldmap_from_json(doc, NULL, NULL, &m, NULL, 0) != ENT_OK)
        st = ent__cli_fail(c, "the node's field map of %s", type);
    for (int i = 0; st < 0 && m != NULL && i < 2; i++) {
        const char *k = i == 0 ? "shared" : "private";
        json_t *f = json_object_get(obj, k);
        if (f != NULL &&
            json_object_set_new(obj, k, ent_fieldmap_own_fields(m, f)) != 0)
            st = ent__cli_fail(c, "%s", ent_strerror(ENT_ENOMEM));
    }
    ent_fieldmap_free(m);
    json_decref(doc);
    return st;
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
    if (ent__cli_opt_value(c, "own-names") != NULL &&
        (st = own_names(c, resp)) >= 0) {
        json_decref(resp);
        return st;
    }
    if (c->json)
        ent__cli_print_json(resp);
    else
        ent__cli_print_object(stdout, resp, hide);
    json_decref(resp);
    return 0;
}

/* Appends "&key=value" to the query in path, value percent-encoded. */
static void query_add(char *path, size_t cap, const char *key,
                      const char *value) {
    size_t o = strlen(path);
    int w = snprintf(path + o, cap - o, "%c%s=", strchr(path, '?') ? '&' : '?',
                     key);
    if (w < 0 || (size_t)w >= cap - o)
        return;
    o += (size_t)w;
    for (const unsigned char *p = (const unsigned char *)value;
         *p && o + 4 < cap; p++) {
        if (isalnum(*p) || strchr("-._~", *p) != NULL)
            path[o++] = (char)*p;
        else
            o += (size_t)snprintf(path + o, cap - o, "%%%02X", *p);
    }
    path[o] = '\0';
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void ent__cli_print_object_list(FILE *f, const json_t *rows) {
    size_t i, idlen = 12, n = json_array_size(rows);
    json_t *o;
    if (n == 0)
        return;
    /* ids as long as it takes to tell the listed ones apart (12 at least):
     * neighbours in id order share the longest prefixes */
    const char **ids = calloc(n, sizeof(*ids));
    for (i = 0; ids != NULL && i < n; i++)
        ids[i] = ent__cli_jstr(json_array_get(rows, i), "id");
    if (ids != NULL)
        qsort(ids, n, sizeof(*ids), cmp_str);
    for (i = 1; ids != NULL && i < n; i++) {
        size_t k = 0;
        while (ids[i - 1][k] && ids[i - 1][k] == ids[i][k])
            k++;
        if (k + 1 > idlen)
            idlen = k + 1 > ENT_API_OBJ_ID_HEX ? ENT_API_OBJ_ID_HEX : k + 1;
    }
    free(ids);
    ent__cli_row(f, "",
                 (const char *const[]){"ID", "TYPE", "STAGE", "DATE", "TITLE"},
                 (const int[]){(int)idlen, 12, 14, 10}, 5);
    json_array_foreach(rows, i, o) {
        char id[ENT_API_OBJ_ID_HEX + 1], *title = NULL;
        const char *t = json_string_value(json_object_get(o, "title"));
        const char *stage = json_string_value(json_object_get(o, "stage"));
        const char *date = json_string_value(json_object_get(o, "date"));
        bool removed = strcmp(ent__cli_jstr(o, "status"), "active") != 0;
        snprintf(id, sizeof(id), "%.*s", (int)idlen, ent__cli_jstr(o, "id"));
        if (asprintf(&title, "%s%s", t ? t : "-",
                     removed ? "  (this org was removed)" : "") < 0)
            title = NULL;
        ent__cli_row(f, "",
                     (const char *const[]){id, ent__cli_jstr(o, "type"),
                                           stage ? stage : "-",
                                           date ? date : "-", title},
                     (const int[]){(int)idlen, 12, 14, 10}, 5);
        free(title);
    }
}

int ent__cli_cmd_object_list(cli *c) {
    static const char *const sorts[] = {"id",    "title", "stage",  "date",
                                        "type",  "-id",   "-title", "-stage",
                                        "-date", "-type", NULL};
    const char *type = ent__cli_opt_value(c, "type");
    const char *stage = ent__cli_opt_value(c, "stage");
    const char *sort = ent__cli_opt_value(c, "sort");
    const char *limit = ent__cli_opt_value(c, "limit");
    const char *after = ent__cli_opt_value(c, "after");
    char path[1024] = "/v1/objects";
    json_t *resp = NULL;
    int st;
    if (type != NULL && (st = type_arg(c, type)) >= 0)
        return st;
    if (stage != NULL && (stage[0] == '\0' || strlen(stage) > 256))
        return ent__cli_usage_error(c, "--stage wants a stage name");
    if (sort != NULL) {
        bool ok = false;
        for (const char *const *k = sorts; *k != NULL && !ok; k++)
            ok = strcmp(*k, sort) == 0;
        if (!ok)
            return ent__cli_usage_error(c,
                                        "--sort wants id, title, stage, date "
                                        "or type (with '-' before it: "
                                        "descending), got '%.40s'",
                                        sort);
    }
    if (limit != NULL) {
        char *end = NULL;
        unsigned long long v = strtoull(limit, &end, 10);
        if (limit[0] < '1' || limit[0] > '9' || *end != '\0' ||
            v > ENT_API_OBJ_MAX_LIMIT)
            return ent__cli_usage_error(c,
                                        "--limit wants a number from 1 to %d",
                                        ENT_API_OBJ_MAX_LIMIT);
    }
    if (after != NULL) {
        uint8_t id[32];
        if (ent_api_obj_id_parse(after, id) != ENT_OK)
            return ent__cli_usage_error(c, "--after wants a full object id "
                                           "(64 lowercase hex characters)");
        if (sort != NULL && strcmp(sort, "id") != 0)
            return ent__cli_usage_error(c, "--after pages in id order only");
        query_add(path, sizeof(path), "after", after);
    }
    if (type != NULL)
        query_add(path, sizeof(path), "type", type);
    if (stage != NULL)
        query_add(path, sizeof(path), "stage", stage);
    if (sort != NULL)
        query_add(path, sizeof(path), "sort", sort);
    if (limit != NULL)
        query_add(path, sizeof(path), "limit", limit);
    if ((st = ent__cli_daemon_call(c, "GET", path, NULL, &resp)) >= 0)
        return st;
    if (c->json)
        ent__cli_print_json(resp);
    else
        ent__cli_print_object_list(stdout, resp);
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
        return ent__cli_fail(c, "the %s is not valid UTF-8",
                             strcmp(key, "text") == 0 ? "comment" : key);
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

const cli_opt ent__cli_convert_opts[] = {
    {"to", "TYPE", "the type of the new object (opportunity)"},
    {NULL, NULL, NULL},
};

int ent__cli_cmd_object_convert(cli *c) {
    char hex[65], path[128];
    json_t *body, *resp = NULL;
    int st;
    const char *to = ent__cli_opt_value(c, "to");
    if (to == NULL)
        return ent__cli_usage_error(c, "give the new type with --to "
                                       "opportunity");
    if ((st = obj_arg(c, c->args[0], hex)) >= 0)
        return st;
    if ((body = json_pack("{s:s}", "to", to)) == NULL)
        return ent__cli_fail(c, "--to is not valid UTF-8");
    snprintf(path, sizeof(path), "/v1/objects/%s/convert", hex);
    if ((st = ent__cli_daemon_call(c, "POST", path, body, &resp)) < 0) {
        st = 0;
        if (c->json)
            ent__cli_print_json(resp);
        else
            printf("%s\n", ent__cli_jstr(resp, "id"));
    }
    json_decref(body);
    json_decref(resp);
    return st;
}

int ent__cli_cmd_object_comment(cli *c) {
    return object_post_one(c, "comments", "text");
}

static int read_input(cli *c, const char *name, char **out, size_t *len);

/* object batch FILE|-: the file's body to POST /v1/objects/batch. */
int ent__cli_cmd_object_batch(cli *c) {
    char *text = NULL;
    size_t len = 0, i;
    json_t *body = NULL, *resp = NULL, *r;
    json_error_t jerr;
    int st;
    if ((st = read_input(c, c->args[0], &text, &len)) >= 0)
        return st;
    body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (body == NULL) {
        st = ent__cli_fail(c, "%s: not valid JSON: line %d: %s", c->args[0],
                           jerr.line, jerr.text);
        goto out;
    }
    /* one commit of up to 1,000 changes: a slow node may take longer than
     * the usual 30 s to answer (spec/cli.md) */
    size_t n = json_array_size(json_object_get(body, "changes"));
    if ((st = ent__cli_call_timeout(
             c->words, c->home, "POST", "/v1/objects/batch", body,
             ENT_CLIENT_TIMEOUT_MS + (int)(n > 1000 ? 1000 : n) * 100,
             &resp)) >= 0)
        goto out;
    st = json_integer_value(json_object_get(resp, "failed")) > 0 ? 1 : 0;
    if (c->json) {
        ent__cli_print_json(resp);
        goto out;
    }
    json_array_foreach(json_object_get(resp, "results"), i, r) {
        const json_t *e = json_object_get(r, "error");
        char line[64];
        snprintf(line, sizeof(line), "%zu %lld", i,
                 (long long)json_integer_value(json_object_get(r, "status")));
        if (e == NULL)
            printf("%s %s\n", line, ent__cli_jstr(r, "id"));
        else
            ent__cli_fail(c, "change %s: %s: %s", line,
                          ent__cli_jstr(e, "code"), ent__cli_jstr(e, "message"));
    }
out:
    free(text);
    json_decref(body);
    json_decref(resp);
    return st;
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
            ent__cli_row(
                stdout, "",
                (const char *const[]){
                    ent__cli_jstr(o, "type"),
                    s ? (b ? "stored (overrides the built-in)" : "stored")
                      : "built-in"},
                (const int[]){15}, 2);
        }
    }
    json_decref(resp);
    return 0;
}

/* Appends text to the malloc'ed *buf (NULL: empty), "; " before each
 * part after the first. On allocation failure *buf stays as it was. */
static void details_add(char **buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void details_add(char **buf, const char *fmt, ...) {
    char *part = NULL, *joined = NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&part, fmt, ap);
    va_end(ap);
    if (r < 0)
        return;
    if (asprintf(&joined, "%s%s%s", *buf ? *buf : "", *buf ? "; " : "", part) >=
        0) {
        free(*buf);
        *buf = joined;
    }
    free(part);
}

/* "A", "B", "C" of a JSON array of strings, malloc'ed. */
static char *quoted_list(const json_t *arr) {
    char *out = strdup("");
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char *n = NULL;
        if (out == NULL ||
            asprintf(&n, "%s%s\"%s\"", out, i ? ", " : "",
                     json_string_value(v) ? json_string_value(v) : "") < 0) {
            free(out);
            return NULL;
        }
        free(out);
        out = n;
    }
    return out;
}

void ent__cli_print_template(FILE *f, const json_t *t) {
    size_t i;
    json_t *fl;
    ent__cli_kv(f, "type", ent__cli_jstr(t, "type"));
    ent__cli_kv(f, "strict",
                json_is_true(json_object_get(t, "strict")) ? "yes" : "no");
    const json_t *stages = json_object_get(t, "stages");
    if (json_array_size(stages) > 0) {
        char *l = quoted_list(stages);
        ent__cli_kv(f, "stages", l ? l : "?");
        free(l);
    }
    fprintf(f, "fields:\n");
    json_array_foreach(json_object_get(t, "fields"), i, fl) {
        const char *vis = ent__cli_jstr(fl, "visibility");
        char *d = NULL;
        if (json_object_get(fl, "label") != NULL)
            details_add(&d, "label \"%s\"", ent__cli_jstr(fl, "label"));
        if (json_is_true(json_object_get(fl, "owner_only")))
            details_add(&d, "owner-only");
        if (json_is_true(json_object_get(fl, "or_text")))
            details_add(&d, "an org id or text");
        if (json_object_get(fl, "table") != NULL)
            details_add(&d, "values from table %s", ent__cli_jstr(fl, "table"));
        if (json_object_get(fl, "values") != NULL) {
            char *l = quoted_list(json_object_get(fl, "values"));
            details_add(&d, "values %s", l ? l : "?");
            free(l);
        } else if (strcmp(ent__cli_jstr(fl, "type"), "enum") == 0 &&
                   strcmp(ent__cli_jstr(fl, "name"), "stage") == 0) {
            details_add(&d, "values from the stages"); /* the one list */
        }
        if (json_object_get(fl, "default") != NULL)
            details_add(&d, "default \"%s\"", ent__cli_jstr(fl, "default"));
        ent__cli_row(f, "  ",
                     (const char *const[]){ent__cli_jstr(fl, "name"),
                                           ent__cli_jstr(fl, "type"),
                                           vis[0] ? vis : "shared", d},
                     (const int[]){20, 7, 7}, 4);
        free(d);
    }
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
    ent__cli_print_template(stdout, resp);
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

/*
 * The type a token names is the inviter's claim; what the object is comes
 * from its own genesis op, which the join has just brought. When the two
 * differ (a token of version 1 names none), warns on stderr: the join
 * stands, the object's history decides (spec/invites.md section 7).
 */
static void join_check_type(cli *c, const char *token, const char *obj) {
    ent_invite inv;
    char path[128];
    json_t *o = NULL;
    if (ent_invite_token_parse(token, strlen(token), &inv) != ENT_OK)
        return;
    snprintf(path, sizeof(path), "/v1/objects/%.64s?hide_private=1", obj);
    if (inv.type[0] != '\0' &&
        ent__cli_daemon_call(c, "GET", path, NULL, &o) < 0) {
        const char *real = ent__cli_jstr(o, "type");
        if (strcmp(real, inv.type) != 0)
            fprintf(stderr,
                    "entente: %s: warning: the invite said the object is "
                    "of type %s, but it is of type %s\n",
                    c->words, inv.type, real);
    }
    json_decref(o);
    ent_invite_clear(&inv);
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
        if (strcmp(state, "done") == 0 &&
            strspn(ent__cli_jstr(resp, "object"), "0") == 64) {
            /* a partnership invite (spec/overlap.md §3): no object */
            fprintf(stderr, "safety code: %s\npartnership with %s recorded\n",
                    ent__cli_jstr(resp, "safety"),
                    ent__cli_jstr(resp, "inviter"));
            json_t *o = json_pack("{s:s}", "partner",
                                  ent__cli_jstr(resp, "inviter"));
            if (c->json)
                ent__cli_print_json(o);
            else
                printf("%s\n", ent__cli_jstr(resp, "inviter"));
            json_decref(o);
            json_decref(resp);
            return 0;
        }
        if (strcmp(state, "done") == 0) {
            fprintf(stderr, "safety code: %s\n", ent__cli_jstr(resp, "safety"));
            join_check_type(c, c->args[0], ent__cli_jstr(resp, "object"));
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
