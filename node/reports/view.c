/*
 * view.c - saved report views in the config table (key "view/NAME",
 * value the canonical JSON document, sorted keys, compact); see view.h
 * and spec/reports.md "Saved views".
 */
#include "node/reports/view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/objects/value.h"

#define VIEW_PREFIX "view/"
#define VIEW_DOC_MAX 16384

static const char *const params[] = {"by",     "where", "from", "to",
                                     "currency", "amount", "date", "type",
                                     "hide_private", NULL};

bool ent_view_name_valid(const char *s) {
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > ENT_VIEW_NAME_MAX || s[0] < 'a' || s[0] > 'z')
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

static int bad(char *err, size_t errlen, const char *msg, const char *what) {
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, msg, what);
    return ENT_EINVAL;
}

static int check_who(const json_t *a, const char *key, bool (*valid)(const char *),
                     char *err, size_t errlen) {
    size_t i;
    json_t *v;
    if (a == NULL)
        return ENT_OK;
    if (!json_is_array(a) || json_array_size(a) > ENT_VIEW_WHO_MAX)
        return bad(err, errlen, "\"%s\" must be an array of at most 16 names",
                   key);
    json_array_foreach(a, i, v) {
        if (!json_is_string(v) || !valid(json_string_value(v)))
            return bad(err, errlen, "\"%s\" holds an invalid name", key);
    }
    return ENT_OK;
}

int ent_view_check(const json_t *doc, json_t **out, char *err, size_t errlen) {
    const char *k;
    json_t *v;
    ent_rpt_kind kind;
    *out = NULL;
    if (!json_is_object(doc))
        return bad(err, errlen, "a view is a JSON object%s", "");
    json_object_foreach((json_t *)doc, k, v) {
        if (strcmp(k, "report") != 0 && strcmp(k, "params") != 0 &&
            strcmp(k, "roles") != 0 && strcmp(k, "users") != 0 &&
            strcmp(k, "name") != 0)
            return bad(err, errlen, "unknown key \"%.64s\" in a view", k);
    }
    if (ent_rpt_kind_parse(json_string_value(json_object_get(doc, "report")),
                           &kind) != ENT_OK)
        return bad(err, errlen,
                   "\"report\" must be pipeline, attribution, win-rate, "
                   "deal-size, cycle-time, mdf or plan%s",
                   "");
    const json_t *ps = json_object_get(doc, "params");
    if (ps != NULL && !json_is_object(ps))
        return bad(err, errlen, "\"params\" must be an object%s", "");
    json_object_foreach((json_t *)ps, k, v) {
        bool known = false;
        for (const char *const *p = params; *p; p++)
            known |= strcmp(*p, k) == 0;
        if (!known)
            return bad(err, errlen, "unknown report option \"%.64s\"", k);
        if (strcmp(k, "hide_private") == 0 ? !json_is_boolean(v)
                                           : !json_is_string(v) ||
                                                 json_string_length(v) >
                                                     ENT_VIEW_PARAM_MAX ||
                                                 !ent_text_valid(
                                                     json_string_value(v),
                                                     json_string_length(v)))
            return bad(err, errlen,
                       "report option \"%.64s\": a string of valid text of at "
                       "most 1024 bytes (hide_private: a bool)",
                       k);
    }
    if (check_who(json_object_get(doc, "roles"), "roles",
                  ent_policy_key_valid, err, errlen) != ENT_OK ||
        check_who(json_object_get(doc, "users"), "users",
                  ent_policy_user_valid, err, errlen) != ENT_OK)
        return ENT_EINVAL;
    json_t *roles = json_object_get(doc, "roles");
    json_t *users = json_object_get(doc, "users");
    json_t *c = json_pack(
        "{s:s,s:o,s:o,s:o}", "report", ent_rpt_kind_name(kind), "params",
        ps ? json_deep_copy(ps) : json_object(), "roles",
        roles ? json_deep_copy(roles) : json_array(), "users",
        users ? json_deep_copy(users) : json_array());
    if (c == NULL)
        return ENT_ENOMEM;
    *out = c;
    return ENT_OK;
}

static size_t view_key(char *key, const char *name) {
    return (size_t)snprintf(key, 8 + ENT_VIEW_NAME_MAX, VIEW_PREFIX "%s",
                            name);
}

typedef struct cnt {
    size_t n;
} cnt;

static int count_cb(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    ((cnt *)data)->n++;
    return 0;
}

int ent_view_put(ent_txn *txn, const char *name, const json_t *doc, char *err,
                 size_t errlen) {
    char key[8 + ENT_VIEW_NAME_MAX];
    json_t *c = NULL;
    const void *old;
    size_t olen;
    cnt n = {0};
    if (!ent_view_name_valid(name))
        return bad(err, errlen,
                   "invalid view name \"%.64s\" (want [a-z][a-z0-9_-]{0,63})",
                   name ? name : "");
    int rc = ent_view_check(doc, &c, err, errlen);
    if (rc != ENT_OK)
        return rc;
    size_t kl = view_key(key, name);
    char *text = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(c);
    if (text == NULL)
        return ENT_ENOMEM;
    if (strlen(text) > VIEW_DOC_MAX) {
        free(text);
        return bad(err, errlen, "view larger than 16 KiB%s", "");
    }
    if (ent_txn_get(txn, ENT_TBL_CONFIG, key, kl, &old, &olen) == ENT_ENOENT) {
        rc = ent_txn_scan(txn, ENT_TBL_CONFIG, VIEW_PREFIX,
                          strlen(VIEW_PREFIX), count_cb, &n);
        if (rc == ENT_OK && n.n >= ENT_VIEW_MAX) {
            if (err != NULL && errlen > 0)
                snprintf(err, errlen, "at most %d views", ENT_VIEW_MAX);
            rc = ENT_ELIMIT;
        }
    }
    if (rc == ENT_OK)
        rc = ent_txn_put(txn, ENT_TBL_CONFIG, key, kl, text, strlen(text), 0);
    free(text);
    return rc;
}

static int parse_doc(const char *name, const void *val, size_t vlen,
                     json_t **out) {
    json_error_t e;
    json_t *d = json_loadb(val, vlen, 0, &e), *c = NULL;
    if (d == NULL || ent_view_check(d, &c, NULL, 0) != ENT_OK) {
        json_decref(d);
        return ENT_ECORRUPT;
    }
    json_decref(d);
    json_object_set_new(c, "name", json_string(name));
    *out = c;
    return ENT_OK;
}

int ent_view_get(ent_txn *txn, const char *name, json_t **out) {
    char key[8 + ENT_VIEW_NAME_MAX];
    const void *val;
    size_t vlen;
    *out = NULL;
    if (!ent_view_name_valid(name))
        return ENT_ENOENT;
    int rc = ent_txn_get(txn, ENT_TBL_CONFIG, key, view_key(key, name), &val,
                         &vlen);
    if (rc != ENT_OK)
        return rc;
    return parse_doc(name, val, vlen, out);
}

int ent_view_del(ent_txn *txn, const char *name) {
    char key[8 + ENT_VIEW_NAME_MAX];
    if (!ent_view_name_valid(name))
        return ENT_ENOENT;
    return ent_txn_del(txn, ENT_TBL_CONFIG, key, view_key(key, name));
}

typedef struct lctx {
    const ent_principal *p;
    json_t *arr;
} lctx;

static int list_cb(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    lctx *c = data;
    char name[ENT_VIEW_NAME_MAX + 1];
    size_t pl = strlen(VIEW_PREFIX);
    json_t *d = NULL;
    if (klen <= pl || klen - pl > ENT_VIEW_NAME_MAX)
        return ENT_ECORRUPT;
    memcpy(name, (const char *)key + pl, klen - pl);
    name[klen - pl] = '\0';
    int rc = parse_doc(name, val, vlen, &d);
    if (rc != ENT_OK)
        return rc;
    if (ent_view_allows(d, c->p))
        json_array_append(c->arr, d);
    json_decref(d);
    return 0;
}

int ent_view_list(ent_txn *txn, const ent_principal *p, json_t **out) {
    lctx c = {p, json_array()};
    *out = NULL;
    if (c.arr == NULL)
        return ENT_ENOMEM;
    int rc = ent_txn_scan(txn, ENT_TBL_CONFIG, VIEW_PREFIX,
                          strlen(VIEW_PREFIX), list_cb, &c);
    if (rc != ENT_OK) {
        json_decref(c.arr);
        return rc;
    }
    *out = c.arr;
    return ENT_OK;
}

bool ent_view_allows(const json_t *doc, const ent_principal *p) {
    const json_t *roles = json_object_get(doc, "roles");
    const json_t *users = json_object_get(doc, "users");
    size_t i;
    json_t *v;
    if (p == NULL || p->kind != ENT_PRINCIPAL_USER)
        return true;
    if (json_array_size(roles) == 0 && json_array_size(users) == 0)
        return true;
    json_array_foreach(roles, i, v) {
        if (strcmp(json_string_value(v), p->role) == 0)
            return true;
    }
    json_array_foreach(users, i, v) {
        if (strcmp(json_string_value(v), p->user) == 0)
            return true;
    }
    return false;
}

int ent_view_opts(const json_t *doc, ent_rpt_opts *o) {
    const json_t *ps = json_object_get(doc, "params");
    memset(o, 0, sizeof(*o));
    if (ent_rpt_kind_parse(json_string_value(json_object_get(doc, "report")),
                           &o->kind) != ENT_OK)
        return ENT_ECORRUPT;
    o->by = json_string_value(json_object_get(ps, "by"));
    o->where = json_string_value(json_object_get(ps, "where"));
    o->from = json_string_value(json_object_get(ps, "from"));
    o->to = json_string_value(json_object_get(ps, "to"));
    o->currency = json_string_value(json_object_get(ps, "currency"));
    o->amount = json_string_value(json_object_get(ps, "amount"));
    o->date = json_string_value(json_object_get(ps, "date"));
    o->type = json_string_value(json_object_get(ps, "type"));
    o->hide_private = json_is_true(json_object_get(ps, "hide_private"));
    return ENT_OK;
}
