/*
 * cli_overlap.c - account mapping on the command line (spec/cli.md
 * "Account mapping", spec/overlap.md): `entente accounts`, `entente
 * partner` and `entente overlap`, each a client of the running node's API
 * (node/api/api_overlap.c). The command tables are here; cli.c's table
 * points at them.
 */
#include "node/cli/cli_int.h"
#include "node/cli/client.h"
#include "node/crm/crm_map.h"
#include "node/crm/csv.h"
#include "node/err.h"
#include "node/overlap/accounts.h"
#include "node/peers/invite.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define IMPORT_BATCH 2000          /* accounts per POST /v1/accounts */
#define IMPORT_MAX_LINE 8192       /* bytes of one JSON line */
#define RUN_WAIT_S 120             /* overlap run: longest wait */

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- accounts ------------------------------------------------------------ */

static int cmd_accounts_add(cli *c) {
    static const char *const keys[] = {"name", "domain", "country", "region",
                                       "flags", "id", NULL};
    json_t *a = json_object(), *resp = NULL;
    for (size_t i = 0; keys[i] != NULL; i++) {
        const char *v = ent__cli_opt_value(c, keys[i]);
        if (v != NULL)
            json_object_set_new(a, keys[i], json_string(v));
    }
    if (json_object_get(a, "name") == NULL &&
        json_object_get(a, "domain") == NULL) {
        json_decref(a);
        return ent__cli_usage_error(c, "give --name or --domain");
    }
    json_t *body = json_pack("{s:[o]}", "accounts", a);
    int st = ent__cli_daemon_call(c, "POST", "/v1/accounts", body, &resp);
    json_decref(body);
    if (st >= 0)
        return st;
    if (c->json)
        ent__cli_print_json(resp);
    json_decref(resp);
    return 0;
}

/* Sends one batch; returns -1 (ok) or the exit status. */
static int import_batch(cli *c, json_t *arr, size_t *stored) {
    json_t *body = json_pack("{s:O}", "accounts", arr), *resp = NULL;
    int st = ent__cli_daemon_call(c, "POST", "/v1/accounts", body, &resp);
    json_decref(body);
    if (st >= 0)
        return st;
    *stored += ent__cli_jint(resp, "stored");
    json_decref(resp);
    json_array_clear(arr);
    return -1;
}

/* Sends all (checked accounts) in batches and prints the count. */
static int send_all(cli *c, json_t *all) {
    size_t stored = 0, total = json_array_size(all);
    int st = -1;
    json_t *batch = json_array();
    for (size_t i = 0; i < total && st < 0; i++) {
        json_array_append(batch, json_array_get(all, i));
        if (json_array_size(batch) == IMPORT_BATCH || i + 1 == total)
            st = import_batch(c, batch, &stored);
    }
    json_decref(batch);
    if (st >= 0)
        return st;
    if (c->json) {
        json_t *o = json_pack("{s:I}", "stored", (json_int_t)stored);
        ent__cli_print_json(o);
        json_decref(o);
    } else {
        printf("%zu accounts stored\n", stored);
    }
    return 0;
}

/* The fields a mapping file may fill for accounts (spec/overlap.md §1). */
static const ent_crm_field account_fields[] = {
    {"name", ENT_VT_TEXT, ENT_VIS_PRIVATE},
    {"domain", ENT_VT_TEXT, ENT_VIS_PRIVATE},
    {"country", ENT_VT_TEXT, ENT_VIS_PRIVATE},
    {"region", ENT_VT_TEXT, ENT_VIS_PRIVATE},
    {"flags", ENT_VT_TEXT, ENT_VIS_PRIVATE},
    {"id", ENT_VT_TEXT, ENT_VIS_PRIVATE},
};

/*
 * accounts import FILE.csv --map MAP: the CSV reader and mapping files of
 * the CRM import (node/crm/csv.h, crm_map.h; spec/crm.md §1-§2) with a map
 * of type "account" whose columns fill the fields above. Every row becomes
 * an account checked here (ent_account_from_json), so that the first bad
 * row is named by file, line and column before anything is sent.
 */
static int import_csv(cli *c, const char *path, const char *mapfile) {
    char err[ENT_CRM_ERR_MAX + 64];
    ent_crm_map *m = NULL;
    ent_csv *csv = NULL;
    ent_csv_row row;
    ent_crm_values vals;
    json_t *all = json_array();
    int st = 1, rc;
    memset(&vals, 0, sizeof(vals));
    if (ent_crm_map_load(&m, mapfile, err, sizeof(err)) != ENT_OK) {
        st = ent__cli_fail(c, "%s", err);
        goto out;
    }
    if (strcmp(ent_crm_map_type(m), "account") != 0) {
        st = ent__cli_fail(c, "%s: type \"%s\": an account map has type "
                              "\"account\"",
                           mapfile, ent_crm_map_type(m));
        goto out;
    }
    if (ent_crm_map_bind_fields(m, account_fields,
                                sizeof(account_fields) /
                                    sizeof(account_fields[0]),
                                err, sizeof(err)) != ENT_OK) {
        st = ent__cli_fail(c, "%s", err);
        goto out;
    }
    ent_csv_opts o;
    memset(&o, 0, sizeof(o));
    o.sep = ent_crm_map_sep(m);
    rc = strcmp(path, "-") == 0 ? ent_csv_open_stream(&csv, stdin, "-", &o)
                                : ent_csv_open_file(&csv, path, NULL, &o);
    if (rc != ENT_OK) {
        st = ent__cli_fail(c, "%s: %s", path, ent_strerror(rc));
        goto out;
    }
    if ((rc = ent_csv_next(csv, &row)) != ENT_OK) {
        st = ent__cli_fail(c, "%s", rc == ENT_ENOENT ? "the file is empty"
                                                     : ent_csv_error(csv));
        goto out;
    }
    if (ent_crm_map_header(m, &row, path, err, sizeof(err)) != ENT_OK) {
        st = ent__cli_fail(c, "%s", err);
        goto out;
    }
    while ((rc = ent_csv_next(csv, &row)) == ENT_OK) {
        if (ent_crm_map_row(m, &row, path, NULL, &vals, err, sizeof(err)) !=
            ENT_OK) {
            st = ent__cli_fail(c, "%s", err);
            goto out;
        }
        json_t *a = json_object();
        for (size_t i = 0; i < vals.n; i++)
            if (vals.v[i].text[0] != '\0')
                json_object_set_new(a, vals.v[i].field,
                                    json_string(vals.v[i].text));
        if (vals.extid[0] != '\0' && json_object_get(a, "id") == NULL)
            json_object_set_new(a, "id", json_string(vals.extid));
        ent_account acc;
        char why[160];
        if (ent_account_from_json(a, &acc, why, sizeof(why)) != ENT_OK) {
            json_decref(a);
            st = ent__cli_fail(c, "%s: line %lu: %s", path, row.line, why);
            goto out;
        }
        if (json_array_size(all) >= ENT_ACCOUNTS_MAX) {
            json_decref(a);
            st = ent__cli_fail(c, "%s: more than %d accounts", path,
                               ENT_ACCOUNTS_MAX);
            goto out;
        }
        json_array_append_new(all, a);
    }
    if (rc != ENT_ENOENT) {
        st = ent__cli_fail(c, "%s", ent_csv_error(csv));
        goto out;
    }
    st = send_all(c, all);
out:
    ent_crm_values_clear(&vals);
    ent_csv_free(csv);
    ent_crm_map_free(m);
    json_decref(all);
    return st;
}

/*
 * accounts import FILE: one JSON account object per line (spec/cli.md).
 * Every line is checked locally first (JSON object, line length); the
 * node checks each account and stores the file in batches of
 * IMPORT_BATCH. A bad line stops the import before anything is sent.
 */
static int cmd_accounts_import(cli *c) {
    const char *path = c->args[0];
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    int st = -1;
    if (f == NULL)
        return ent__cli_fail(c, "%s: cannot open", path);
    if (ent__cli_opt_value(c, "map") != NULL) {
        if (f != stdin)
            fclose(f);
        return import_csv(c, path, ent__cli_opt_value(c, "map"));
    }
    json_t *all = json_array();
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if ((size_t)n > IMPORT_MAX_LINE) {
            st = ent__cli_fail(c, "%s:%zu: line longer than %d bytes", path,
                               lineno, IMPORT_MAX_LINE);
            goto out;
        }
        size_t k = strspn(line, " \t\r\n");
        if (line[k] == '\0')
            continue;
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        if (!json_is_object(o)) {
            json_decref(o);
            st = ent__cli_fail(c, "%s:%zu: not a JSON object%s%s", path,
                               lineno, o == NULL ? ": " : "",
                               o == NULL ? je.text : "");
            goto out;
        }
        if (json_array_size(all) >= 250000) {
            json_decref(o);
            st = ent__cli_fail(c, "%s:%zu: more than 250000 accounts", path,
                               lineno);
            goto out;
        }
        json_array_append_new(all, o);
    }
    st = send_all(c, all);
out:
    free(line);
    json_decref(all);
    if (f != stdin)
        fclose(f);
    return st;
}

static void flags_text(const json_t *arr, char *out, size_t cap) {
    size_t i, o = 0;
    json_t *x;
    out[0] = '\0';
    json_array_foreach(arr, i, x) {
        int k = snprintf(out + o, cap - o, "%s%s", i ? ";" : "",
                         json_string_value(x));
        if (k < 0 || (size_t)k >= cap - o)
            break;
        o += (size_t)k;
    }
}

static void print_accounts(const json_t *r) {
    const json_t *arr = json_object_get(r, "accounts");
    size_t i;
    json_t *a;
    static const int w[] = {30, 24, 3, 0};
    printf("%llu accounts\n", (unsigned long long)ent__cli_jint(r, "count"));
    json_array_foreach(arr, i, a) {
        char fl[64];
        flags_text(json_object_get(a, "flags"), fl, sizeof(fl));
        const char *cols[] = {ent__cli_jstr(a, "name"),
                              ent__cli_jstr(a, "domain"),
                              ent__cli_jstr(a, "country"), fl};
        ent__cli_row(stdout, "  ", cols, w, 4);
    }
}

static int cmd_accounts_list(cli *c) {
    return ent__cli_call_print(c, "GET", "/v1/accounts", NULL,
                               print_accounts);
}

/* ---- partners ------------------------------------------------------------ */

static int cmd_partner_invite(cli *c) {
    const char *ttl = ent__cli_opt_value(c, "ttl");
    uint64_t secs = ENT_INVITE_DEFAULT_TTL;
    json_t *body, *resp = NULL;
    if (ttl != NULL && (ent_duration_parse(ttl, &secs) != ENT_OK ||
                        secs < ENT_DURATION_MIN || secs > ENT_DURATION_MAX))
        return ent__cli_usage_error(c, "--ttl wants a duration like 7d");
    body = json_pack("{s:I}", "ttl", (json_int_t)secs);
    int st = ent__cli_daemon_call(c, "POST", "/v1/partners/invites", body,
                                  &resp);
    json_decref(body);
    if (st >= 0)
        return st;
    if (c->json)
        ent__cli_print_json(resp);
    else
        printf("%s\n", ent__cli_jstr(resp, "token"));
    json_decref(resp);
    return 0;
}

static int cmd_partner_join(cli *c) {
    json_t *body = json_pack("{s:s}", "token", c->args[0]), *resp = NULL;
    char path[64];
    if (body == NULL)
        return ent__cli_fail(c, "the token is not valid text");
    int st = ent__cli_daemon_call(c, "POST", "/v1/join", body, &resp);
    json_decref(body);
    if (st >= 0)
        return st;
    snprintf(path, sizeof(path), "/v1/joins/%lld",
             (long long)json_integer_value(json_object_get(resp, "join")));
    json_decref(resp);
    for (long waited = 0; waited < 60000; waited += 50) {
        if ((st = ent__cli_daemon_call(c, "GET", path, NULL, &resp)) >= 0)
            return st;
        const char *state = ent__cli_jstr(resp, "state");
        if (strcmp(state, "done") == 0) {
            fprintf(stderr, "safety code: %s\n", ent__cli_jstr(resp, "safety"));
            if (c->json) {
                json_t *o = json_pack("{s:s}", "partner",
                                      ent__cli_jstr(resp, "inviter"));
                ent__cli_print_json(o);
                json_decref(o);
            } else {
                printf("%s\n", ent__cli_jstr(resp, "inviter"));
            }
            json_decref(resp);
            return 0;
        }
        if (strcmp(state, "failed") == 0) {
            st = ent__cli_fail(c, "%s", ent__cli_jstr(resp, "error"));
            json_decref(resp);
            return st;
        }
        json_decref(resp);
        sleep_ms(50);
    }
    return ent__cli_fail(c, "timed out waiting for the inviter");
}

static void print_partners(const json_t *r) {
    size_t i;
    json_t *p;
    static const int w[] = {52, 16, 8, 0};
    json_array_foreach(r, i, p) {
        const char *name = ent__cli_jstr(p, "name");
        const char *cols[] = {
            ent__cli_jstr(p, "org"), name[0] ? name : "-",
            json_is_true(json_object_get(p, "connected")) ? "online"
                                                          : "offline",
            ent__cli_jstr(json_object_get(p, "share"), "level")};
        ent__cli_row(stdout, "", cols, w, 4);
    }
}

static int cmd_partner_list(cli *c) {
    return ent__cli_call_print(c, "GET", "/v1/partners", NULL,
                               print_partners);
}

/*
 * PARTNER as an org id (52 characters), else the display name of exactly
 * one partner. Returns -1 with org filled, else the exit status.
 */
static int resolve(cli *c, const char *who, char org[ENT_ORG_ID_LEN + 1]) {
    json_t *arr = NULL, *p;
    size_t i, hits = 0;
    if (strlen(who) == ENT_ORG_ID_LEN) {
        snprintf(org, ENT_ORG_ID_LEN + 1, "%s", who);
        return -1;
    }
    int st = ent__cli_daemon_call(c, "GET", "/v1/partners", NULL, &arr);
    if (st >= 0)
        return st;
    json_array_foreach(arr, i, p) {
        if (strcmp(ent__cli_jstr(p, "name"), who) == 0) {
            snprintf(org, ENT_ORG_ID_LEN + 1, "%s", ent__cli_jstr(p, "org"));
            hits++;
        }
    }
    json_decref(arr);
    if (hits == 1)
        return -1;
    return ent__cli_fail(c, hits ? "'%s' names %zu partners: give the org id"
                                 : "no partner named '%s'%.0zu",
                         who, hits);
}

/* ---- overlap ------------------------------------------------------------- */

static void print_view(const json_t *v) {
    const json_t *sh = json_object_get(v, "share");
    const json_t *res = json_object_get(v, "result");
    const json_t *run = json_object_get(v, "run");
    char fl[64], n1[32];
    flags_text(json_object_get(sh, "flags"), fl, sizeof(fl));
    printf("partner:  %s\n", ent__cli_jstr(v, "partner"));
    printf("share:    %s (flags: %s)%s\n", ent__cli_jstr(sh, "level"),
           fl[0] ? fl : "none",
           json_is_true(json_object_get(sh, "suspended")) ? ", SUSPENDED" : "");
    printf("runs:     %llu of %llu today\n",
           (unsigned long long)ent__cli_jint(v, "runs_today"),
           (unsigned long long)ent__cli_jint(v, "runs_per_day"));
    if (json_is_object(run))
        printf("last run: %s %s%s%s\n", ent__cli_jstr(run, "id"),
               ent__cli_jstr(run, "state"),
               json_is_string(json_object_get(run, "error")) ? ": " : "",
               ent__cli_jstr(run, "error"));
    if (!json_is_object(res)) {
        printf("result:   none yet\n");
        return;
    }
    printf("result:   level %s, %s matches (ours %llu in a bucket of %llu, "
           "theirs a bucket of %llu)\n",
           ent__cli_jstr(res, "level"),
           ent__cli_fmt_count(n1, ent__cli_jint(res, "matches")),
           (unsigned long long)ent__cli_jint(res, "mine"),
           (unsigned long long)ent__cli_jint(res, "mine_bucket"),
           (unsigned long long)ent__cli_jint(res, "partner_bucket"));
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(res, "segments"), i, x) {
        if (ent__cli_jint(x, "count") == 0)
            continue;
        printf("  %-12s x partner %-12s %llu\n", ent__cli_jstr(x, "mine"),
               ent__cli_jstr(x, "partner"),
               (unsigned long long)ent__cli_jint(x, "count"));
    }
    static const int w[] = {30, 24, 24, 0};
    json_array_foreach(json_object_get(res, "accounts"), i, x) {
        char mine[64], theirs[64];
        flags_text(json_object_get(x, "flags"), mine, sizeof(mine));
        flags_text(json_object_get(x, "partner_flags"), theirs,
                   sizeof(theirs));
        const char *cols[] = {ent__cli_jstr(x, "name"),
                              ent__cli_jstr(x, "domain"), mine, theirs};
        ent__cli_row(stdout, "  ", cols, w, 4);
    }
}

/* RFC 4180 field: quoted when it holds a comma, quote or line break. */
static void csv_field(const char *s, bool last) {
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, stdout);
    } else {
        putchar('"');
        for (; *s; s++) {
            if (*s == '"')
                putchar('"');
            putchar(*s);
        }
        putchar('"');
    }
    fputs(last ? "\r\n" : ",", stdout);
}

static int cmd_overlap_share(cli *c, const char *level) {
    char org[ENT_ORG_ID_LEN + 1], path[128];
    int st = resolve(c, c->args[0], org);
    if (st >= 0)
        return st;
    const char *lv = level ? level : ent__cli_opt_value(c, "level");
    if (lv == NULL)
        return ent__cli_usage_error(c, "--level none|counts|accounts|flags");
    const char *pop = ent__cli_opt_value(c, "population");
    const char *fl = ent__cli_opt_value(c, "flags");
    json_t *body = json_pack("{s:s,s:s,s:s}", "level", lv, "population",
                             pop ? pop : "all", "flags", fl ? fl : "");
    snprintf(path, sizeof(path), "/v1/partners/%s/share", org);
    st = ent__cli_call_print(c, "PUT", path, body, print_view);
    json_decref(body);
    return st;
}

static int cmd_overlap_share_cmd(cli *c) {
    return cmd_overlap_share(c, NULL);
}

static int cmd_overlap_revoke(cli *c) {
    return cmd_overlap_share(c, "none");
}

static int cmd_overlap_run(cli *c) {
    char org[ENT_ORG_ID_LEN + 1], path[128], id[40];
    json_t *resp = NULL;
    int st = resolve(c, c->args[0], org);
    if (st >= 0)
        return st;
    snprintf(path, sizeof(path), "/v1/partners/%s/runs", org);
    /* a session with the partner that is just being (re)dialled answers
     * 503: try again for a while before saying so */
    for (int i = 0;; i++) {
        int http = 0;
        int rc = ent_client_request(c->home, "POST", path, NULL, &http, &resp);
        if (rc != ENT_OK) /* no node, ...: said as every command says it */
            return ent__cli_daemon_call(c, "POST", path, NULL, &resp);
        if (http >= 200 && http <= 299)
            break;
        if (http != 503 || i == 40) {
            st = ent__cli_fail(c, "%s", ent_client_error(resp));
            json_decref(resp);
            return st;
        }
        json_decref(resp);
        resp = NULL;
        sleep_ms(250);
    }
    snprintf(id, sizeof(id), "%s", ent__cli_jstr(resp, "run"));
    json_decref(resp);
    snprintf(path, sizeof(path), "/v1/partners/%s/overlap", org);
    /* polls 50 ms apart at first, then up to 500 ms: each answer carries
     * the last result, which the node reads and the loop thread encodes */
    long pause = 50;
    for (long waited = 0; waited < RUN_WAIT_S * 1000L; waited += pause) {
        if ((st = ent__cli_daemon_call(c, "GET", path, NULL, &resp)) >= 0)
            return st;
        const json_t *run = json_object_get(resp, "run");
        const char *state = ent__cli_jstr(run, "state");
        if (strcmp(ent__cli_jstr(run, "id"), id) == 0 &&
            strcmp(state, "running") != 0) {
            if (strcmp(state, "failed") == 0) {
                st = ent__cli_fail(c, "run %s: %s", id,
                                   ent__cli_jstr(run, "error"));
            } else {
                if (c->json)
                    ent__cli_print_json(resp);
                else
                    print_view(resp);
                st = 0;
            }
            json_decref(resp);
            return st;
        }
        json_decref(resp);
        sleep_ms(pause);
        if (pause < 500)
            pause += pause / 2;
    }
    return ent__cli_fail(c, "run %s: no end after %d s", id, RUN_WAIT_S);
}

static int cmd_overlap_show(cli *c) {
    char org[ENT_ORG_ID_LEN + 1], path[128];
    json_t *resp = NULL;
    int st = resolve(c, c->args[0], org);
    if (st >= 0)
        return st;
    snprintf(path, sizeof(path), "/v1/partners/%s/overlap", org);
    if (ent__cli_opt_value(c, "csv") == NULL)
        return ent__cli_call_print(c, "GET", path, NULL, print_view);
    if ((st = ent__cli_daemon_call(c, "GET", path, NULL, &resp)) >= 0)
        return st;
    size_t i;
    json_t *x;
    fputs("name,domain,country,flags,partner_flags\r\n", stdout);
    json_array_foreach(json_object_get(json_object_get(resp, "result"),
                                       "accounts"),
                       i, x) {
        char mine[64], theirs[64];
        flags_text(json_object_get(x, "flags"), mine, sizeof(mine));
        flags_text(json_object_get(x, "partner_flags"), theirs,
                   sizeof(theirs));
        csv_field(ent__cli_jstr(x, "name"), false);
        csv_field(ent__cli_jstr(x, "domain"), false);
        csv_field(ent__cli_jstr(x, "country"), false);
        csv_field(mine, false);
        csv_field(theirs, true);
    }
    json_decref(resp);
    return 0;
}

static int cmd_overlap_seed(cli *c) {
    char org[ENT_ORG_ID_LEN + 1], path[128];
    json_t *resp = NULL;
    int st = resolve(c, c->args[0], org);
    if (st >= 0)
        return st;
    const char *type = ent__cli_opt_value(c, "type");
    json_t *body = json_pack("{s:s,s:s}", "account", c->args[1], "type",
                             type ? type : "opportunity");
    snprintf(path, sizeof(path), "/v1/partners/%s/seed", org);
    st = ent__cli_daemon_call(c, "POST", path, body, &resp);
    json_decref(body);
    if (st >= 0)
        return st;
    if (c->json) {
        ent__cli_print_json(resp);
    } else {
        printf("%s\n", ent__cli_jstr(resp, "id"));
        fprintf(stderr, "give the partner this invite: entente join %s\n",
                ent__cli_jstr(resp, "token"));
    }
    json_decref(resp);
    return 0;
}

/* ---- the tables -------------------------------------------------------- */

static const cli_opt no_opts[] = {{NULL, NULL, NULL}};

static const cli_opt add_opts[] = {
    {"name", "NAME", "company name"},
    {"domain", "DOMAIN", "web domain or URL"},
    {"country", "CC", "ISO 3166 two-letter country"},
    {"region", "REGION", "owner region (never revealed)"},
    {"flags", "F[,F]...", "customer, prospect, opportunity"},
    {"id", "ID", "the CRM's id (never revealed)"},
    {NULL, NULL, NULL},
};

static const cli_opt import_opts[] = {
    {"map", "MAP", "FILE is CSV, mapped by this mapping file"},
    {NULL, NULL, NULL},
};

static const cli_opt invite_opts[] = {
    {"ttl", "DURATION", "valid for (default 7d, at most 90d)"},
    {NULL, NULL, NULL},
};

static const cli_opt share_opts[] = {
    {"level", "LEVEL", "none, counts, accounts or flags"},
    {"population", "F[,F]...", "only accounts with one of these flags "
                               "take part (default all)"},
    {"flags", "F[,F]...", "flags a match may reveal at level flags"},
    {NULL, NULL, NULL},
};

static const cli_opt show_opts[] = {
    {"csv", NULL, "print the matched accounts as CSV (RFC 4180)"},
    {NULL, NULL, NULL},
};

static const cli_opt seed_opts[] = {
    {"type", "TYPE", "object type (default opportunity)"},
    {NULL, NULL, NULL},
};

const cli_cmd ent__cli_accounts_cmds[] = {
    {"add", cmd_accounts_add, "add or replace one account",
     "accounts add [--name NAME] [--domain DOMAIN] [--country CC] "
     "[--region R] [--flags F,...] [--id ID] [--json]",
     "Stores one account of this org's private list (spec/overlap.md §1) "
     "under its matching key: the registrable domain, else the normalised "
     "name. An account with the same key is replaced.",
     add_opts, 0, 0, NULL},
    {"import", cmd_accounts_import, "import accounts from a file",
     "accounts import FILE [--map MAP] [--json]",
     "With --map: FILE is CSV and MAP a mapping file of type \"account\" "
     "(spec/crm.md §2) whose columns fill name, domain, country, region, "
     "flags and id. Without: one JSON account object per line "
     "({\"name\",\"domain\",\"country\",\"region\",\"flags\","
     "\"id\"}). FILE - is standard input. Every row is checked first: "
     "the first bad one is named (file, line, column) and nothing is "
     "stored; then the accounts are stored in batches.",
     import_opts, 1, 1, NULL},
    {"list", cmd_accounts_list, "list the accounts",
     "accounts list [--json]",
     "Prints how many accounts there are and the first 1,000 by key.",
     no_opts, 0, 0, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const cli_cmd ent__cli_partner_cmds[] = {
    {"invite", cmd_partner_invite, "make a partnership invite token",
     "partner invite [--ttl DURATION] [--json]",
     "Prints a single-line partnership invite (spec/overlap.md §3): an "
     "invite token without an object. The other org runs `entente partner "
     "join TOKEN`; both nodes then record the partnership (and a "
     "partner_added log entry) and keep a session.",
     invite_opts, 0, 0, NULL},
    {"join", cmd_partner_join, "accept a partnership invite",
     "partner join TOKEN [--json]",
     "Dials the inviter, proves the token and records the partnership; "
     "prints the partner's org id ({\"partner\"}) and the safety code on "
     "standard error.",
     no_opts, 1, 1, NULL},
    {"list", cmd_partner_list, "list the partnerships",
     "partner list [--json]",
     "One line per partner: org id, name, online or offline, and the level "
     "this org shares with it.",
     no_opts, 0, 0, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const cli_cmd ent__cli_overlap_cmds[] = {
    {"share", cmd_overlap_share_cmd, "set what this org reveals to a partner",
     "overlap share PARTNER --level LEVEL [--population F,...] "
     "[--flags F,...] [--json]",
     "LEVEL: none (runs refused), counts (the number of common accounts), "
     "accounts (each side learns which of its own accounts are common), "
     "flags (and the --flags this org holds for them). A run reveals the "
     "lower of the two orgs' levels and only flags both chose. Setting it "
     "again accepts a large change of either list (spec/overlap.md §7). "
     "PARTNER is an org id or a partner's name.",
     share_opts, 1, 1, NULL},
    {"revoke", cmd_overlap_revoke, "reveal nothing to a partner any more",
     "overlap revoke PARTNER [--json]",
     "Sets the level to none: runs are refused and a run going on ends.",
     no_opts, 1, 1, NULL},
    {"run", cmd_overlap_run, "compare account lists with a partner",
     "overlap run PARTNER [--json]",
     "Runs the private set intersection with PARTNER (spec/overlap.md §5), "
     "waits for its end (at most 2 minutes) and prints the result as "
     "`overlap show` does. Limited per partner per day; every run is in "
     "both orgs' activity logs.",
     no_opts, 1, 1, NULL},
    {"show", cmd_overlap_show, "show the last result with a partner",
     "overlap show PARTNER [--json|--csv]",
     "The share, today's runs, the last run and its result: the number of "
     "matches, counts per segment (my flag x partner flag) and, at levels "
     "accounts and flags, this org's matched accounts with the partner's "
     "revealed flags. --csv prints the accounts: name,domain,country,"
     "flags,partner_flags.",
     show_opts, 1, 1, NULL},
    {"seed", cmd_overlap_seed, "start a joint object from a match",
     "overlap seed PARTNER ACCOUNT [--type TYPE] [--json]",
     "Creates a joint object (default an opportunity) for ACCOUNT, a "
     "matched account of the last result (its key, name or domain), and "
     "prints its id; the invite token for the partner goes to standard "
     "error ({\"id\",\"token\",\"invite_id\",\"expires\"} with --json).",
     seed_opts, 2, 2, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
