/*
 * accounts.c - the private account list; see accounts.h and
 * spec/overlap.md §1. Values are compact JSON objects.
 */
#include "node/overlap/accounts.h"
#include "node/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const flag_names[] = {"customer", "prospect",
                                         "opportunity"};

uint32_t ent_account_flag(const char *name) {
    for (size_t i = 0; i < 3; i++)
        if (strcmp(name, flag_names[i]) == 0)
            return 1u << i;
    return 0;
}

json_t *ent_account_flags_json(uint32_t flags) {
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < 3; i++)
        if ((flags & (1u << i)) &&
            json_array_append_new(a, json_string(flag_names[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static int flag_word(const char *w, size_t len, uint32_t *out, char *err,
                     size_t errlen) {
    char b[32];
    while (len > 0 && w[0] == ' ')
        w++, len--;
    while (len > 0 && w[len - 1] == ' ')
        len--;
    if (len == 0)
        return ENT_OK;
    snprintf(b, sizeof(b), "%.*s", (int)(len < 31 ? len : 31), w);
    uint32_t f = len < 31 ? ent_account_flag(b) : 0;
    if (f == 0) {
        snprintf(err, errlen,
                 "unknown flag '%s' (customer, prospect, opportunity)", b);
        return ENT_EINVAL;
    }
    *out |= f;
    return ENT_OK;
}

int ent_account_flags_parse(const json_t *v, uint32_t *out, char *err,
                            size_t errlen) {
    *out = 0;
    if (v == NULL || json_is_null(v))
        return ENT_OK;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        while (*s != '\0') {
            size_t n = strcspn(s, ",");
            if (flag_word(s, n, out, err, errlen) != ENT_OK)
                return ENT_EINVAL;
            s += n + (s[n] == ',');
        }
        return ENT_OK;
    }
    if (!json_is_array(v) || json_array_size(v) > 8) {
        snprintf(err, errlen, "flags: want an array of names");
        return ENT_EINVAL;
    }
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
        if (!json_is_string(x) ||
            flag_word(json_string_value(x), json_string_length(x), out, err,
                      errlen) != ENT_OK) {
            if (!json_is_string(x))
                snprintf(err, errlen, "flags: want names");
            return ENT_EINVAL;
        }
    }
    return ENT_OK;
}

/* The string member k of o into out (cap bytes): ENT_OK also when absent
 * or null (""), ENT_EINVAL when not a string, too long or with a control
 * character. */
static int str_field(const json_t *o, const char *k, char *out, size_t cap,
                     char *err, size_t errlen) {
    json_t *v = json_object_get(o, k);
    out[0] = '\0';
    if (v == NULL || json_is_null(v))
        return ENT_OK;
    size_t n = json_is_string(v) ? json_string_length(v) : 0;
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    if (s == NULL || n >= cap || strlen(s) != n) {
        snprintf(err, errlen, "%s: want a string of at most %zu bytes", k,
                 cap - 1);
        return ENT_EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20) {
            snprintf(err, errlen, "%s: control character", k);
            return ENT_EINVAL;
        }
    memcpy(out, s, n + 1);
    return ENT_OK;
}

int ent_account_from_json(const json_t *o, ent_account *out, char *err,
                          size_t errlen) {
    static const char *const keys[] = {"name",  "domain", "country",
                                       "region", "flags", "id", NULL};
    char dom[ENT_NORM_MAX_IN + 1];
    const char *k;
    json_t *v;
    memset(out, 0, sizeof(*out));
    if (!json_is_object(o)) {
        snprintf(err, errlen, "an account is a JSON object");
        return ENT_EINVAL;
    }
    json_object_foreach((json_t *)o, k, v) {
        size_t i = 0;
        while (keys[i] != NULL && strcmp(keys[i], k) != 0)
            i++;
        if (keys[i] == NULL) {
            snprintf(err, errlen, "unknown field '%.40s'", k);
            return ENT_EINVAL;
        }
    }
    if (str_field(o, "name", out->name, sizeof(out->name), err, errlen) ||
        str_field(o, "domain", dom, sizeof(dom), err, errlen) ||
        str_field(o, "country", out->country, sizeof(out->country), err,
                  errlen) ||
        str_field(o, "region", out->region, sizeof(out->region), err,
                  errlen) ||
        str_field(o, "id", out->id, sizeof(out->id), err, errlen))
        return ENT_EINVAL;
    for (size_t i = 0; out->country[i] != '\0'; i++) {
        char c = out->country[i];
        if (c >= 'a' && c <= 'z')
            out->country[i] = (char)(c - 'a' + 'A');
        else if (c < 'A' || c > 'Z') {
            snprintf(err, errlen, "country: want two letters (ISO 3166)");
            return ENT_EINVAL;
        }
    }
    if (out->country[0] != '\0' && out->country[1] == '\0') {
        snprintf(err, errlen, "country: want two letters (ISO 3166)");
        return ENT_EINVAL;
    }
    if (ent_account_flags_parse(json_object_get(o, "flags"), &out->flags,
                                err, errlen) != ENT_OK)
        return ENT_EINVAL;
    if (dom[0] != '\0') {
        int rc = ent_norm_domain(out->domain, dom, strlen(dom));
        if (rc == ENT_EINVAL) {
            snprintf(err, errlen, "domain: '%.80s' is not a web domain", dom);
            return ENT_EINVAL;
        }
    }
    int rc = ent_norm_key(out->key, out->name, out->domain);
    if (rc != ENT_OK) {
        snprintf(err, errlen, "%s",
                 out->name[0] ? "name: nothing left after normalising"
                              : "an account needs a name or a domain");
        return ENT_EINVAL;
    }
    return ENT_OK;
}

json_t *ent_account_json(const ent_account *a) {
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o*}", "key", a->key, "id",
                     a->id, "name", a->name, "domain", a->domain, "country",
                     a->country, "region", a->region, "flags",
                     ent_account_flags_json(a->flags));
}

int ent_accounts_put(ent_txn *txn, const ent_account *a) {
    const void *v;
    size_t vn, klen = strlen(a->key);
    if (klen == 0)
        return ENT_EINVAL;
    if (ent_txn_get(txn, ENT_TBL_ACCOUNTS, a->key, klen, &v, &vn) ==
        ENT_ENOENT) {
        uint64_t n = 0;
        int rc = ent_txn_count(txn, ENT_TBL_ACCOUNTS, &n);
        if (rc != ENT_OK)
            return rc;
        if (n >= ENT_ACCOUNTS_MAX)
            return ENT_ELIMIT;
    }
    json_t *o = ent_account_json(a);
    json_object_del(o, "key"); /* the row's key */
    char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (s == NULL)
        return ENT_ENOMEM;
    size_t n = strlen(s);
    uint8_t *rec = malloc(n + 2);
    int rc = ENT_ENOMEM;
    if (rec != NULL) {
        rec[0] = ENT_ACCOUNT_REC_VERSION;
        rec[1] = (uint8_t)a->flags;
        memcpy(rec + 2, s, n);
        rc = ent_txn_put(txn, ENT_TBL_ACCOUNTS, a->key, klen, rec, n + 2, 0);
    }
    free(rec);
    free(s);
    return rc;
}

int ent_accounts_del(ent_txn *txn, const char *key) {
    return ent_txn_del(txn, ENT_TBL_ACCOUNTS, key, strlen(key));
}

/* A stored value back into an account (key from the row's key). */
static int decode(const void *key, size_t klen, const void *val, size_t vlen,
                  ent_account *out) {
    char err[128];
    json_error_t je;
    const uint8_t *v = val;
    if (klen == 0 || klen >= ENT_NORM_KEY_MAX || vlen < 2 ||
        v[0] != ENT_ACCOUNT_REC_VERSION)
        return ENT_ECORRUPT;
    json_t *o = json_loadb((const char *)v + 2, vlen - 2, 0, &je);
    if (o == NULL)
        return ENT_ECORRUPT;
    int rc = ent_account_from_json(o, out, err, sizeof(err));
    json_decref(o);
    if (rc != ENT_OK)
        return ENT_ECORRUPT;
    memcpy(out->key, key, klen); /* the key it was stored under */
    out->key[klen] = '\0';
    return ENT_OK;
}

int ent_accounts_get(ent_txn *txn, const char *key, ent_account *out) {
    const void *v;
    size_t vn;
    int rc = ent_txn_get(txn, ENT_TBL_ACCOUNTS, key, strlen(key), &v, &vn);
    return rc != ENT_OK ? rc : decode(key, strlen(key), v, vn, out);
}

typedef struct each_ctx {
    int (*fn)(void *data, const ent_account *a);
    void *data;
    ent_account a;
} each_ctx;

static int each_row(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    each_ctx *c = data;
    int rc = decode(key, klen, val, vlen, &c->a);
    return rc != ENT_OK ? rc : c->fn(c->data, &c->a);
}

int ent_accounts_foreach(ent_txn *txn,
                         int (*fn)(void *data, const ent_account *a),
                         void *data) {
    each_ctx c;
    memset(&c, 0, sizeof(c));
    c.fn = fn;
    c.data = data;
    return ent_txn_scan(txn, ENT_TBL_ACCOUNTS, NULL, 0, each_row, &c);
}

typedef struct keys_ctx {
    int (*fn)(void *data, const char *key, size_t klen, uint32_t flags);
    void *data;
} keys_ctx;

static int keys_row(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    keys_ctx *c = data;
    const uint8_t *v = val;
    if (klen == 0 || klen >= ENT_NORM_KEY_MAX || vlen < 2 ||
        v[0] != ENT_ACCOUNT_REC_VERSION || (v[1] & ~ENT_ACCOUNT_FLAGS_ALL))
        return ENT_ECORRUPT;
    return c->fn(c->data, key, klen, v[1]);
}

int ent_accounts_foreach_key(ent_txn *txn,
                             int (*fn)(void *data, const char *key,
                                       size_t klen, uint32_t flags),
                             void *data) {
    keys_ctx c = {fn, data};
    return ent_txn_scan(txn, ENT_TBL_ACCOUNTS, NULL, 0, keys_row, &c);
}
