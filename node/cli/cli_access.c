/*
 * cli_access.c - the commands of the org's people (spec/cli.md "Users,
 * tokens and policies", spec/access.md): user add|list|show|set|disable|
 * remove, token create|list|revoke, policy add|list|show|remove|test and
 * login. Each is a thin client of the node's API (node/api/api_users.c);
 * the command tables are here and the main table in cli.c points to them.
 */
#include "node/cli/cli_int.h"
#include "node/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PW_MAX 1024

/* ---- helpers --------------------------------------------------------------
 */

/* Reads one line (the password) from standard input, without its newline. */
static int read_password(cli *c, char *buf, size_t cap) {
    if (fgets(buf, (int)cap, stdin) == NULL)
        return ent__cli_fail(c, "no password on standard input");
    size_t n = strcspn(buf, "\r\n");
    if (buf[n] == '\0' && n + 1 >= cap)
        return ent__cli_fail(c, "password longer than %d bytes", PW_MAX);
    buf[n] = '\0';
    return -1;
}

/* Every --NAME K=V option into the object o as K: V. */
static int kv_opts(cli *c, const char *name, json_t *o) {
    for (int i = 0; i < c->nopts; i++) {
        if (strcmp(c->opts[i].name, name) != 0)
            continue;
        const char *v = c->opts[i].value, *eq = strchr(v, '=');
        if (eq == NULL || eq == v)
            return ent__cli_usage_error(c, "--%s wants KEY=VALUE, not '%s'",
                                        name, v);
        char key[128];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - v), v);
        json_object_set_new(o, key, json_string(eq + 1));
    }
    return -1;
}

/* "region=EMEA, team=north" */
static void attrs_text(char *out, size_t cap, const json_t *attrs) {
    const char *k;
    json_t *v;
    size_t o = 0;
    out[0] = '\0';
    json_object_foreach((json_t *)attrs, k, v) {
        int w = snprintf(out + o, cap - o, "%s%s=%s", o ? ", " : "", k,
                         json_string_value(v) ? json_string_value(v) : "");
        if (w < 0 || (size_t)w >= cap - o)
            break;
        o += (size_t)w;
    }
    if (o == 0)
        snprintf(out, cap, "-");
}

static const char *user_state(const json_t *u) {
    if (json_is_true(json_object_get(u, "disabled")))
        return "disabled";
    if (json_is_string(json_object_get(u, "locked_until")))
        return "locked";
    return "active";
}

static void print_users(const json_t *arr) {
    size_t i;
    json_t *u;
    if (json_array_size(arr) == 0)
        return;
    ent__cli_row(stdout, "",
                 (const char *const[]){"NAME", "ROLE", "STATE", "PASSWORD",
                                       "ATTRIBUTES"},
                 (const int[]){16, 10, 8, 8}, 5);
    json_array_foreach(arr, i, u) {
        char attrs[1024];
        attrs_text(attrs, sizeof(attrs), json_object_get(u, "attrs"));
        ent__cli_row(
            stdout, "",
            (const char *const[]){
                ent__cli_jstr(u, "name"), ent__cli_jstr(u, "role"),
                user_state(u),
                json_is_true(json_object_get(u, "password")) ? "yes" : "no",
                attrs},
            (const int[]){16, 10, 8, 8}, 5);
    }
}

static void print_user(const json_t *u) {
    char attrs[1024], t1[32], t2[32];
    attrs_text(attrs, sizeof(attrs), json_object_get(u, "attrs"));
    ent__cli_kv(stdout, "name", ent__cli_jstr(u, "name"));
    ent__cli_kv(stdout, "role", ent__cli_jstr(u, "role"));
    ent__cli_kv(stdout, "state", user_state(u));
    ent__cli_kv(stdout, "attrs", attrs);
    ent__cli_kv(stdout, "password",
                json_is_true(json_object_get(u, "password")) ? "set"
                                                             : "not set");
    ent__cli_kv(stdout, "created",
                ent__cli_time(t1, json_object_get(u, "created")));
    if (json_is_string(json_object_get(u, "id")))
        ent__cli_kv(stdout, "id", ent__cli_jstr(u, "id"));
    if (json_is_string(json_object_get(u, "locked_until")))
        ent__cli_kv(stdout, "locked",
                    ent__cli_time(t2, json_object_get(u, "locked_until")));
}

/* The path /v1/users/NAME for a valid-looking name (else usage error). */
static int user_url(cli *c, const char *name, char *out, size_t cap) {
    if (name[0] == '\0' || strlen(name) > 64 || strpbrk(name, "/?%# ") != NULL)
        return ent__cli_fail(c, "invalid user name '%s'", name);
    snprintf(out, cap, "/v1/users/%s", name);
    return -1;
}

/* ---- users ----------------------------------------------------------------
 */

int ent__cli_cmd_user_add(cli *c) {
    json_t *body = json_pack("{s:s,s:{}}", "name", c->args[0], "attrs");
    char pw[PW_MAX + 2];
    int st = -1;
    const char *role = ent__cli_opt_value(c, "role");
    if (body == NULL)
        return ent__cli_fail(c, "out of memory");
    if (role == NULL) {
        st = ent__cli_usage_error(c, "--role is required");
        goto out;
    }
    json_object_set_new(body, "role", json_string(role));
    if ((st = kv_opts(c, "attr", json_object_get(body, "attrs"))) >= 0)
        goto out;
    if (ent__cli_opt_value(c, "disabled") != NULL)
        json_object_set_new(body, "disabled", json_true());
    if (ent__cli_opt_value(c, "password-stdin") != NULL) {
        if ((st = read_password(c, pw, sizeof(pw))) >= 0)
            goto out;
        json_object_set_new(body, "password", json_string(pw));
    }
    st = ent__cli_call_print(c, "POST", "/v1/users", body, NULL);
out:
    memset(pw, 0, sizeof(pw));
    json_decref(body);
    return st;
}

int ent__cli_cmd_user_list(cli *c) {
    return ent__cli_call_print(c, "GET", "/v1/users", NULL, print_users);
}

int ent__cli_cmd_user_show(cli *c) {
    char url[128];
    int st = user_url(c, c->args[0], url, sizeof(url));
    return st >= 0 ? st : ent__cli_call_print(c, "GET", url, NULL, print_user);
}

int ent__cli_cmd_user_set(cli *c) {
    char url[128], pw[PW_MAX + 2] = "";
    json_t *body = json_object(), *attrs = json_object();
    int st = user_url(c, c->args[0], url, sizeof(url));
    if (body == NULL || attrs == NULL) {
        st = ent__cli_fail(c, "out of memory");
        goto out;
    }
    if (st >= 0)
        goto out;
    const char *role = ent__cli_opt_value(c, "role");
    if (role != NULL)
        json_object_set_new(body, "role", json_string(role));
    if ((st = kv_opts(c, "attr", attrs)) >= 0)
        goto out;
    for (int i = 0; i < c->nopts; i++)
        if (strcmp(c->opts[i].name, "unset-attr") == 0)
            json_object_set_new(attrs, c->opts[i].value, json_null());
    if (json_object_size(attrs) > 0)
        json_object_set(body, "attrs", attrs);
    bool en = ent__cli_opt_value(c, "enable") != NULL;
    bool dis = ent__cli_opt_value(c, "disable") != NULL;
    if (en && dis) {
        st = ent__cli_usage_error(c, "--enable or --disable, not both");
        goto out;
    }
    if (en || dis)
        json_object_set_new(body, "disabled", json_boolean(dis));
    if (ent__cli_opt_value(c, "clear-password") != NULL)
        json_object_set_new(body, "password", json_null());
    if (ent__cli_opt_value(c, "password-stdin") != NULL) {
        if ((st = read_password(c, pw, sizeof(pw))) >= 0)
            goto out;
        json_object_set_new(body, "password", json_string(pw));
    }
    if (json_object_size(body) == 0) {
        st = ent__cli_usage_error(c, "nothing to change");
        goto out;
    }
    st = ent__cli_call_print(c, "POST", url, body, NULL);
out:
    memset(pw, 0, sizeof(pw));
    json_decref(attrs);
    json_decref(body);
    return st;
}

int ent__cli_cmd_user_disable(cli *c) {
    char url[128];
    int st = user_url(c, c->args[0], url, sizeof(url));
    if (st >= 0)
        return st;
    json_t *body = json_pack("{s:b}", "disabled", 1);
    st = ent__cli_call_print(c, "POST", url, body, NULL);
    json_decref(body);
    return st;
}

int ent__cli_cmd_user_remove(cli *c) {
    char url[128];
    int st = user_url(c, c->args[0], url, sizeof(url));
    return st >= 0 ? st : ent__cli_call_print(c, "DELETE", url, NULL, NULL);
}

/* ---- tokens ---------------------------------------------------------------
 */

static void print_token(const json_t *t) {
    printf("%s\n", ent__cli_jstr(t, "token"));
}

int ent__cli_cmd_token_create(cli *c) {
    const char *user = ent__cli_opt_value(c, "user");
    const char *scopes = ent__cli_opt_value(c, "scopes");
    const char *exp = ent__cli_opt_value(c, "expires");
    if (user == NULL)
        return ent__cli_usage_error(c, "--user is required");
    json_t *body = json_pack("{s:s}", "user", user);
    if (body == NULL)
        return ent__cli_fail(c, "out of memory");
    if (scopes != NULL)
        json_object_set_new(body, "scopes", json_string(scopes));
    if (exp != NULL)
        json_object_set_new(body, "expires", json_string(exp));
    int st = ent__cli_call_print(c, "POST", "/v1/tokens", body, print_token);
    json_decref(body);
    return st;
}

static void print_tokens(const json_t *arr) {
    size_t i;
    json_t *t, *s;
    if (json_array_size(arr) == 0)
        return;
    ent__cli_row(
        stdout, "",
        (const char *const[]){"ID", "USER", "EXPIRES", "LAST USED", "SCOPES"},
        (const int[]){16, 16, 19, 19}, 5);
    json_array_foreach(arr, i, t) {
        char sc[512] = "", e[32], u[32];
        size_t j, o = 0;
        json_array_foreach(json_object_get(t, "scopes"), j, s) {
            int w = snprintf(sc + o, sizeof(sc) - o, "%s%s", o ? "," : "",
                             json_string_value(s) ? json_string_value(s) : "");
            if (w < 0 || (size_t)w >= sizeof(sc) - o)
                break;
            o += (size_t)w;
        }
        ent__cli_row(stdout, "",
                     (const char *const[]){
                         ent__cli_jstr(t, "id"), ent__cli_jstr(t, "user"),
                         json_is_null(json_object_get(t, "expires"))
                             ? "never"
                             : ent__cli_time(e, json_object_get(t, "expires")),
                         ent__cli_time(u, json_object_get(t, "last_used")), sc},
                     (const int[]){16, 16, 19, 19}, 5);
    }
}

int ent__cli_cmd_token_list(cli *c) {
    const char *user = ent__cli_opt_value(c, "user");
    char url[128] = "/v1/tokens";
    if (user != NULL) {
        if (strpbrk(user, "&/?%# ") != NULL || strlen(user) > 64)
            return ent__cli_fail(c, "invalid user name '%s'", user);
        snprintf(url, sizeof(url), "/v1/tokens?user=%s", user);
    }
    return ent__cli_call_print(c, "GET", url, NULL, print_tokens);
}

int ent__cli_cmd_token_revoke(cli *c) {
    char url[128];
    if (strlen(c->args[0]) != 16 ||
        strspn(c->args[0], "0123456789abcdef") != 16)
        return ent__cli_fail(c,
                             "invalid token id '%s' (16 hex characters, as "
                             "token list shows)",
                             c->args[0]);
    snprintf(url, sizeof(url), "/v1/tokens/%s", c->args[0]);
    return ent__cli_call_print(c, "DELETE", url, NULL, NULL);
}

int ent__cli_cmd_login(cli *c) {
    const char *user = ent__cli_opt_value(c, "user");
    char pw[PW_MAX + 2] = "";
    int st;
    if (user == NULL)
        return ent__cli_usage_error(c, "--user is required");
    if ((st = read_password(c, pw, sizeof(pw))) >= 0)
        return st;
    json_t *body = json_pack("{s:s,s:s}", "user", user, "password", pw);
    memset(pw, 0, sizeof(pw));
    if (body == NULL)
        return ent__cli_fail(c, "out of memory");
    st = ent__cli_call_print(c, "POST", "/v1/login", body, print_token);
    json_decref(body);
    return st;
}

/* ---- policies -------------------------------------------------------------
 */

static void print_policies(const json_t *arr) {
    size_t i;
    json_t *r;
    json_array_foreach(arr, i, r) {
        char id[24];
        snprintf(id, sizeof(id), "%llu",
                 (unsigned long long)ent__cli_jint(r, "id"));
        ent__cli_row(stdout, "",
                     (const char *const[]){id, ent__cli_jstr(r, "rule")},
                     (const int[]){5}, 2);
    }
}

static void print_policy(const json_t *r) {
    char id[24];
    snprintf(id, sizeof(id), "%llu",
             (unsigned long long)ent__cli_jint(r, "id"));
    ent__cli_row(stdout, "",
                 (const char *const[]){id, ent__cli_jstr(r, "rule")},
                 (const int[]){5}, 2);
}

int ent__cli_cmd_policy_add(cli *c) {
    char text[2048] = "";
    size_t o = 0;
    for (int i = 0; i < c->nargs; i++) {
        int w = snprintf(text + o, sizeof(text) - o, "%s%s", i ? " " : "",
                         c->args[i]);
        if (w < 0 || (size_t)w >= sizeof(text) - o)
            return ent__cli_fail(c, "rule too long");
        o += (size_t)w;
    }
    json_t *body = json_pack("{s:s}", "rule", text);
    if (body == NULL)
        return ent__cli_fail(c, "out of memory");
    int st = ent__cli_call_print(c, "POST", "/v1/policies", body, print_policy);
    json_decref(body);
    return st;
}

int ent__cli_cmd_policy_list(cli *c) {
    return ent__cli_call_print(c, "GET", "/v1/policies", NULL, print_policies);
}

static int policy_url(cli *c, char *url, size_t cap) {
    const char *a = c->args[0];
    if (a[0] < '1' || a[0] > '9' || strspn(a, "0123456789") != strlen(a) ||
        strlen(a) > 10)
        return ent__cli_fail(c,
                             "invalid rule id '%s' (a number, as policy "
                             "list shows)",
                             a);
    snprintf(url, cap, "/v1/policies/%s", a);
    return -1;
}

int ent__cli_cmd_policy_show(cli *c) {
    char url[64];
    int st = policy_url(c, url, sizeof(url));
    return st >= 0 ? st : ent__cli_call_print(c, "GET", url, NULL, print_policy);
}

int ent__cli_cmd_policy_remove(cli *c) {
    char url[64];
    int st = policy_url(c, url, sizeof(url));
    return st >= 0 ? st : ent__cli_call_print(c, "DELETE", url, NULL, NULL);
}

static void print_decision(const json_t *d) {
    const char *why = ent__cli_jstr(d, "reason");
    char line[2048];
    if (strcmp(why, "rule") == 0)
        snprintf(line, sizeof(line), "%s by rule %llu: %s",
                 ent__cli_jstr(d, "decision"),
                 (unsigned long long)ent__cli_jint(d, "rule"),
                 ent__cli_jstr(d, "text"));
    else
        snprintf(line, sizeof(line), "%s: %s", ent__cli_jstr(d, "decision"),
                 strcmp(why, "admin") == 0 ? "role admin, no deny matched"
                 : strcmp(why, "default") == 0
                     ? "no rule matched (default deny)"
                 : strcmp(why, "scope") == 0 ? "outside the token's scopes"
                                             : why);
    ent__cli_row(stdout, "", (const char *const[]){line}, NULL, 1);
}

int ent__cli_cmd_policy_test(cli *c) {
    static const char *const opts[] = {"user",  "action",  "type",
                                       "field", "creator", NULL};
    json_t *body = json_object(), *values = json_object();
    char hex[65];
    int st = -1;
    if (body == NULL || values == NULL) {
        st = ent__cli_fail(c, "out of memory");
        goto out;
    }
    for (const char *const *o = opts; *o != NULL; o++) {
        const char *v = ent__cli_opt_value(c, *o);
        if (v != NULL)
            json_object_set_new(body, *o, json_string(v));
    }
    if (json_object_get(body, "user") == NULL ||
        json_object_get(body, "action") == NULL) {
        st = ent__cli_usage_error(c, "--user and --action are required");
        goto out;
    }
    const char *obj = ent__cli_opt_value(c, "object");
    if (obj != NULL) {
        if ((st = ent__cli_object_id(c->words, c->home, obj, hex)) >= 0)
            goto out;
        json_object_set_new(body, "object", json_string(hex));
    }
    if ((st = kv_opts(c, "value", values)) >= 0)
        goto out;
    if (json_object_size(values) > 0)
        json_object_set(body, "values", values);
    st = ent__cli_call_print(c, "POST", "/v1/policies/test", body, print_decision);
    /* a deny is an answer, not a failure: exit 0 either way */
out:
    json_decref(values);
    json_decref(body);
    return st;
}

/* ---- the command tables (cli.c's main table points here) ------------------
 */

static const cli_opt no_opts[] = {{NULL, NULL, NULL}};

static const cli_opt user_add_opts[] = {
    {"role", "ROLE",
     "admin, manager, rep, finance, viewer or the org's own role"},
    {"attr", "KEY=VALUE", "an attribute (region=EMEA, team=north); repeats"},
    {"password-stdin", NULL,
     "read the password (one line) from standard input"},
    {"disabled", NULL, "create the user disabled"},
    {NULL, NULL, NULL},
};

static const cli_opt user_set_opts[] = {
    {"role", "ROLE", "the new role"},
    {"attr", "KEY=VALUE", "set an attribute; repeats"},
    {"unset-attr", "KEY", "remove an attribute; repeats"},
    {"password-stdin", NULL, "read a new password from standard input"},
    {"clear-password", NULL, "remove the password (tokens still work)"},
    {"enable", NULL, "enable the user (and lift a login lockout)"},
    {"disable", NULL, "disable the user: its tokens stop working"},
    {NULL, NULL, NULL},
};

#define USER_JSON                                                              \
    "{\"name\",\"role\",\"attrs\",\"disabled\",\"password\","                  \
    "\"created\",\"failures\",\"locked_until\",\"id\"} (id: the user's "       \
    "own, never that of an earlier user of the name; null for users added "    \
    "before users had ids)"

const cli_cmd ent__cli_user_cmds[] = {
    {"add", ent__cli_cmd_user_add, "add a user of this org",
     "user add NAME --role ROLE [--attr KEY=VALUE]... [--password-stdin] "
     "[--json]",
     "Adds a person known only to this node (never sent to partners): a "
     "name (a-z 0-9 . _ -), a role and attributes that policies match on. "
     "A password (for login) is 12 to 1024 bytes of at least two kinds of "
     "characters and not the user name; it is stored as an Argon2id hash. "
     "Prints nothing; with --json the user: " USER_JSON
     " (password: whether one is set; times RFC 3339 or null).",
     user_add_opts, 1, 1, NULL},
    {"list", ent__cli_cmd_user_list, "list the users of this org",
     "user list [--json]",
     "One line per user: name, role, state (active, locked, disabled), "
     "whether a password is set, attributes. With --json: [" USER_JSON "].",
     no_opts, 0, 0, NULL},
    {"show", ent__cli_cmd_user_show, "show one user", "user show NAME [--json]",
     "Prints the user's role, state, attributes, whether a password is set "
     "and when it was created. With --json: " USER_JSON ".",
     no_opts, 1, 1, NULL},
    {"set", ent__cli_cmd_user_set, "change a user",
     "user set NAME [--role ROLE] [--attr KEY=VALUE]... [--unset-attr KEY]... "
     "[--password-stdin] [--enable|--disable] [--json]",
     "Changes a user's role, attributes, password or state in one step. A "
     "new password or --enable lifts a login lockout. Prints nothing; with "
     "--json the user: " USER_JSON ".",
     user_set_opts, 1, 1, NULL},
    {"disable", ent__cli_cmd_user_disable, "disable a user",
     "user disable NAME [--json]",
     "Disables the user: logins fail and its tokens are refused (401) until "
     "`user set NAME --enable`. Prints nothing; with --json the "
     "user: " USER_JSON ".",
     no_opts, 1, 1, NULL},
    {"remove", ent__cli_cmd_user_remove, "remove a user and its tokens",
     "user remove NAME [--json]",
     "Removes the user and revokes every token of it. Prints nothing; with "
     "--json {\"name\",\"removed\"}.",
     no_opts, 1, 1, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const cli_opt token_create_opts[] = {
    {"user", "USER", "the user the token acts as (required)"},
    {"scopes", "LIST",
     "* (default) or actions: read,create,change,comment,invite,approve,"
     "remove_member,join,export,log,configure,manage,metrics"},
    {"expires", "DURATION", "90s, 15m, 12h, 30d (default 90d) or never"},
    {NULL, NULL, NULL},
};

static const cli_opt token_list_opts[] = {
    {"user", "USER", "only the tokens of USER"},
    {NULL, NULL, NULL},
};

const cli_cmd ent__cli_token_cmds[] = {
    {"create", ent__cli_cmd_token_create, "create an API token for a user",
     "token create --user USER [--scopes LIST] [--expires DURATION] [--json]",
     "Creates a token that acts as USER, limited to the actions in LIST, "
     "and prints it once on standard output: the node keeps only its "
     "BLAKE2b-256 hash. Programs send it as \"Authorization: Bearer "
     "TOKEN\"; the CLI with --token TOKEN or $ENTENTE_TOKEN. With --json: "
     "{\"id\",\"token\",\"user\",\"scopes\",\"expires\"}.",
     token_create_opts, 0, 0, NULL},
    {"list", ent__cli_cmd_token_list, "list API tokens",
     "token list [--user USER] [--json]",
     "One line per token: id, user, expiry, last use, scopes; never the "
     "token itself. With --json: [{\"id\",\"user\",\"scopes\","
     "\"expires\",\"created\",\"last_used\",\"login\"}] (times RFC 3339 "
     "or null; \"login\": true on a token a login made, which a new "
     "password ends, absent otherwise).",
     token_list_opts, 0, 0, NULL},
    {"revoke", ent__cli_cmd_token_revoke, "revoke an API token",
     "token revoke ID [--json]",
     "Deletes the token with id ID (as token list shows it): requests with "
     "it get 401 from now on. Prints nothing; with --json {\"id\","
     "\"revoked\"}.",
     no_opts, 1, 1, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const cli_opt policy_test_opts[] = {
    {"user", "USER", "the user making the request (required)"},
    {"action", "ACTION",
     "read, create, change, comment, invite, approve, remove_member, join, "
     "export, log, configure or manage (required)"},
    {"type", "TYPE", "the object type"},
    {"field", "FIELD", "one field (read, create, change)"},
    {"object", "OBJ", "an object whose values the conditions test"},
    {"value", "FIELD=VALUE", "a hypothetical field value; repeats"},
    {"creator", "USER", "the user that created the object"},
    {NULL, NULL, NULL},
};

const cli_cmd ent__cli_policy_cmds[] = {
    {"add", ent__cli_cmd_policy_add, "add an access rule",
     "policy add RULE [--json]",
     "Adds one rule (spec/access.md), e.g. 'deny role=rep read "
     "opportunity.deal_size' or 'allow role=rep read,change opportunity "
     "where region=$user.region'. Quote it: it has spaces, and * and $ "
     "mean something to the shell. Deny wins; without a matching allow a "
     "user other than an admin is denied. Prints the rule's id and its "
     "canonical text; with --json {\"id\",\"effect\",\"rule\"}.",
     no_opts, 1, 32, NULL},
    {"list", ent__cli_cmd_policy_list, "list the access rules",
     "policy list [--json]",
     "One line per rule, in evaluation order: id and text. With --json: "
     "[{\"id\",\"effect\",\"rule\"}].",
     no_opts, 0, 0, NULL},
    {"show", ent__cli_cmd_policy_show, "show one access rule",
     "policy show ID [--json]",
     "Prints rule ID. With --json: {\"id\",\"effect\",\"rule\"}.", no_opts, 1,
     1, NULL},
    {"remove", ent__cli_cmd_policy_remove, "remove an access rule",
     "policy remove ID [--json]",
     "Removes rule ID. Prints nothing; with --json {\"id\",\"removed\"}.",
     no_opts, 1, 1, NULL},
    {"test", ent__cli_cmd_policy_test, "decide a hypothetical request",
     "policy test --user USER --action ACTION [--type TYPE] [--field FIELD] "
     "[--object OBJ | --value FIELD=VALUE...] [--creator USER] [--json]",
     "Evaluates the stored rules for a request USER might make and prints "
     "the decision and what decided it: \"deny by rule 3: deny role=rep "
     "read opportunity.deal_size\", \"allow: role admin, no deny "
     "matched\", \"deny: no rule matched (default deny)\". Exit 0 either "
     "way. With --json: {\"decision\",\"reason\",\"rule\",\"text\"} "
     "(reason: rule, admin, default or scope; rule and text null unless a "
     "rule decided).",
     policy_test_opts, 0, 0, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
