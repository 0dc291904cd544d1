/*
 * access.c - local users, passwords and lockout, tokens, the stored
 * policies and the private creator and op-author rows; see access.h and
 * spec/access.md. Rows of the "access" table (spec/storage.md):
 *
 *   u/NAME       user record (JSON, with the user's never-reused "id")
 *   t/ID         token record (JSON, with the token's hash, never the token)
 *   p/ID(u32 BE) a rule's canonical text
 *   n/policy     the next rule id (u32 BE)
 *   c/OBJ(32)    the user that created the object: NAME 0x00 ID(8)
 *   o/OP(32)     the user that made the op: NAME 0x00 ID(8)
 *                (NAME alone in rows written before users had ids)
 */
#include "node/access/access.h"
#include "node/err.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KEY_MAX 96

static void seterr(char *err, size_t cap, const char *msg) {
    if (cap > 0)
        snprintf(err, cap, "%s", msg);
}

/* ---- rows --------------------------------------------------------------- */

static size_t key_of(char *k, char tag, const char *name) {
    int n = snprintf(k, KEY_MAX, "%c/%s", tag, name);
    return n > 0 && n < KEY_MAX ? (size_t)n : 0;
}

/* Reads the JSON row key into *out. @return ENT_OK, ENT_ENOENT,
 * ENT_ECORRUPT. */
static int get_json(ent_txn *txn, const char *key, size_t klen, json_t **out) {
    const void *v;
    size_t vl;
    *out = NULL;
    int rc = ent_txn_get(txn, ENT_TBL_ACCESS, key, klen, &v, &vl);
    if (rc != ENT_OK)
        return rc;
    *out = json_loadb(v, vl, JSON_REJECT_DUPLICATES, NULL);
    return json_is_object(*out)
               ? ENT_OK
               : (json_decref(*out), *out = NULL, ENT_ECORRUPT);
}

static int put_json(ent_txn *txn, const char *key, size_t klen,
                    const json_t *o) {
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    if (s == NULL)
        return ENT_ENOMEM;
    int rc = ent_txn_put(txn, ENT_TBL_ACCESS, key, klen, s, strlen(s), 0);
    free(s);
    return rc;
}

static uint64_t jint(const json_t *o, const char *k) {
    json_int_t v = json_integer_value(json_object_get(o, k));
    return v > 0 ? (uint64_t)v : 0;
}

/* ---- passwords ---------------------------------------------------------- */

int ent_access_password_strength(const char *user, const char *pw, char *err,
                                 size_t errcap) {
    size_t n = pw != NULL ? strlen(pw) : 0;
    int classes = 0;
    bool lower = false, upper = false, digit = false, other = false;
    if (n < ENT_PASSWORD_MIN || n > ENT_PASSWORD_MAX) {
        if (errcap > 0)
            snprintf(err, errcap, "a password is %d to %d bytes",
                     ENT_PASSWORD_MIN, ENT_PASSWORD_MAX);
        return ENT_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)pw[i];
        if (c >= 'a' && c <= 'z')
            lower = true;
        else if (c >= 'A' && c <= 'Z')
            upper = true;
        else if (c >= '0' && c <= '9')
            digit = true;
        else
            other = true;
    }
    classes = lower + upper + digit + other;
    if (classes < 2) {
        seterr(err, errcap,
               "a password mixes at least two kinds of characters (lower "
               "case, upper case, digits, others)");
        return ENT_EINVAL;
    }
    if (user != NULL && strcasecmp(user, pw) == 0) {
        seterr(err, errcap, "a password is not the user name");
        return ENT_EINVAL;
    }
    return ENT_OK;
}

/* ---- users -------------------------------------------------------------- */

struct user_op {
    const ent_user_spec *u;
    const char *hash; /* the new password hash, or NULL */
    const char *uid;  /* add: the new user's id (hex) */
    bool add;
    uint64_t now;
    char *err;
    size_t errcap;
};

/* Applies the attribute changes of u to the object attrs. */
static int apply_attrs(json_t *attrs, const ent_user_spec *u, char *err,
                       size_t errcap) {
    for (size_t i = 0; i < u->nunset; i++)
        json_object_del(attrs, u->unset_keys[i]);
    for (size_t i = 0; i < u->nset; i++) {
        const char *k = u->set_keys[i], *v = u->set_vals[i];
        if (!ent_policy_key_valid(k) || strcmp(k, "role") == 0 ||
            strcmp(k, "user") == 0) {
            if (errcap > 0)
                snprintf(err, errcap,
                         "attribute name '%.64s': want [a-z][a-z0-9_-]{0,31}, "
                         "not role or user",
                         k);
            return ENT_EINVAL;
        }
        if (!ent_policy_value_valid(v)) {
            if (errcap > 0)
                snprintf(err, errcap,
                         "attribute %s: value is 1 to 64 of A-Z a-z 0-9 _ . "
                         ": @ / + -",
                         k);
            return ENT_EINVAL;
        }
        if (json_object_set_new(attrs, k, json_string(v)) != 0)
            return ENT_ENOMEM;
    }
    if (json_object_size(attrs) > ENT_POLICY_MAX_ATTRS) {
        if (errcap > 0)
            snprintf(err, errcap, "a user has at most %d attributes",
                     ENT_POLICY_MAX_ATTRS);
        return ENT_ELIMIT;
    }
    return ENT_OK;
}

static int drop_tokens(ent_txn *txn, const char *user, bool sessions_only);

static int user_write_fn(ent_txn *txn, void *data) {
    struct user_op *c = data;
    const ent_user_spec *u = c->u;
    char key[KEY_MAX];
    size_t kl = key_of(key, 'u', u->name);
    json_t *rec = NULL;
    int rc = get_json(txn, key, kl, &rec);
    if (c->add) {
        if (rc == ENT_OK) {
            seterr(c->err, c->errcap, "a user of that name exists");
            rc = ENT_EEXIST;
            goto out;
        }
        if (rc != ENT_ENOENT)
            goto out;
        rec =
            json_pack("{s:s,s:s,s:{},s:b,s:n,s:I,s:i,s:i,s:s}", "name", u->name,
                      "role", u->role, "attrs", "disabled", u->disabled == 1,
                      "password", "created", (json_int_t)c->now, "failures", 0,
                      "locked_until", 0, "id", c->uid);
        if (rec == NULL) {
            rc = ENT_ENOMEM;
            goto out;
        }
    } else {
        if (rc == ENT_ENOENT)
            seterr(c->err, c->errcap, "no such user");
        if (rc != ENT_OK)
            goto out;
        if (u->role != NULL)
            json_object_set_new(rec, "role", json_string(u->role));
        if (u->disabled >= 0)
            json_object_set_new(rec, "disabled", json_boolean(u->disabled));
        if (u->clear_password)
            json_object_set_new(rec, "password", json_null());
        if (u->password != NULL || u->disabled == 0) {
            /* a new password or re-enabling lifts a lockout */
            json_object_set_new(rec, "failures", json_integer(0));
            json_object_set_new(rec, "locked_until", json_integer(0));
        }
    }
    json_t *attrs = json_object_get(rec, "attrs");
    if (!json_is_object(attrs)) {
        rc = ENT_ECORRUPT;
        goto out;
    }
    if ((rc = apply_attrs(attrs, u, c->err, c->errcap)) != ENT_OK)
        goto out;
    if (c->hash != NULL)
        json_object_set_new(rec, "password", json_string(c->hash));
    rc = put_json(txn, key, kl, rec);
    /* a new (or no) password ends the user's sessions; tokens stay */
    if (rc == ENT_OK && !c->add && (c->hash != NULL || u->clear_password))
        rc = drop_tokens(txn, u->name, true);
out:
    json_decref(rec);
    return rc;
}

static int user_write(ent_store *s, const ent_user_spec *u, bool add,
                      const ent_pwhash_cost *cost, uint64_t now, char *err,
                      size_t errcap) {
    char hash[ENT_PWHASH_STR_LEN];
    char uid[ENT_POLICY_UID_HEX + 1];
    uint8_t rid[ENT_POLICY_UID_HEX / 2];
    int rc;
    struct user_op c = {u, NULL, uid, add, now, err, errcap};
    seterr(err, errcap, "");
    uid[0] = '\0';
    if (add) { /* the new user's id: never that of an earlier one */
        ent_random(rid, sizeof(rid));
        ent_hex_encode(uid, rid, sizeof(rid));
    }
    if (!ent_policy_user_valid(u->name)) {
        seterr(err, errcap,
               "user name: want 1 to 64 of a-z 0-9 . _ - (starting with a "
               "letter or digit)");
        return ENT_EINVAL;
    }
    if ((add && u->role == NULL) ||
        (u->role != NULL && !ent_policy_key_valid(u->role))) {
        seterr(err, errcap,
               "role: want [a-z][a-z0-9_-]{0,31} (admin, "
               "manager, rep, finance, viewer or the org's own)");
        return ENT_EINVAL;
    }
    if (u->password != NULL) {
        if ((rc = ent_access_password_strength(u->name, u->password, err,
                                               errcap)) != ENT_OK)
            return rc;
        if ((rc = ent_pwhash_str(hash, u->password, strlen(u->password),
                                 cost)) != ENT_OK)
            return rc;
        c.hash = hash;
    }
    rc = ent_store_write(s, user_write_fn, &c);
    ent_wipe(hash, sizeof(hash));
    return rc;
}

int ent_access_user_add(ent_store *s, const ent_user_spec *u,
                        const ent_pwhash_cost *cost, uint64_t now, char *err,
                        size_t errcap) {
    return user_write(s, u, true, cost, now, err, errcap);
}

int ent_access_user_set(ent_store *s, const ent_user_spec *u,
                        const ent_pwhash_cost *cost, char *err, size_t errcap) {
    return user_write(s, u, false, cost, 0, err, errcap);
}

/* Collects the keys of the tokens of one user (or all, user NULL). */
struct tok_scan {
    const char *user;
    bool sessions_only; /* only "kind":"session" and "login":true rows */
    char ids[256][ENT_TOKEN_ID_HEX + 1];
    size_t n;
    bool more;
    json_t *arr;
};

static int tok_collect(void *data, const void *key, size_t klen,
                       const void *val, size_t vlen) {
    struct tok_scan *c = data;
    json_t *rec = json_loadb(val, vlen, 0, NULL);
    const char *u = json_string_value(json_object_get(rec, "user"));
    const char *kind = json_string_value(json_object_get(rec, "kind"));
    if (klen == 2 + ENT_TOKEN_ID_HEX && u != NULL && strcmp(u, c->user) == 0 &&
        (!c->sessions_only || (kind != NULL && strcmp(kind, "session") == 0) ||
         json_is_true(json_object_get(rec, "login")))) {
        if (c->n == sizeof(c->ids) / sizeof(c->ids[0])) {
            c->more = true;
            json_decref(rec);
            return 1;
        }
        memcpy(c->ids[c->n], (const char *)key + 2, ENT_TOKEN_ID_HEX);
        c->ids[c->n++][ENT_TOKEN_ID_HEX] = '\0';
    }
    json_decref(rec);
    return 0;
}

/* Deletes the tokens of user (only its sessions and login tokens when
 * sessions_only). */
static int drop_tokens(ent_txn *txn, const char *user, bool sessions_only) {
    char key[KEY_MAX];
    size_t kl;
    int rc;
    struct tok_scan *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return ENT_ENOMEM;
    c->user = user;
    c->sessions_only = sessions_only;
    do {
        c->n = 0;
        c->more = false;
        rc = ent_txn_scan(txn, ENT_TBL_ACCESS, "t/", 2, tok_collect, c);
        for (size_t i = 0; rc == ENT_OK && i < c->n; i++) {
            kl = key_of(key, 't', c->ids[i]);
            rc = ent_txn_del(txn, ENT_TBL_ACCESS, key, kl);
        }
    } while (rc == ENT_OK && c->more);
    free(c);
    return rc;
}

static int user_remove_fn(ent_txn *txn, void *data) {
    const char *name = data;
    char key[KEY_MAX];
    size_t kl = key_of(key, 'u', name);
    int rc = ent_txn_del(txn, ENT_TBL_ACCESS, key, kl);
    if (rc != ENT_OK)
        return rc;
    return drop_tokens(txn, name, false);
}

int ent_access_user_remove(ent_store *s, const char *name) {
    if (!ent_policy_user_valid(name))
        return ENT_ENOENT;
    return ent_store_write(s, user_remove_fn, (void *)name);
}

/* The public view of a user record: no password hash. */
static json_t *user_public(const json_t *rec) {
    json_t *o = json_deep_copy(rec);
    if (o == NULL)
        return NULL;
    json_object_set_new(
        o, "password",
        json_boolean(json_is_string(json_object_get(rec, "password"))));
    if (json_object_get(o, "id") == NULL)
        json_object_set_new(o, "id", json_null()); /* added before ids */
    return o;
}

struct user_get {
    const char *name;
    json_t *out;
};

static int user_get_fn(ent_txn *txn, void *data) {
    struct user_get *c = data;
    char key[KEY_MAX];
    json_t *rec = NULL;
    int rc = get_json(txn, key, key_of(key, 'u', c->name), &rec);
    if (rc == ENT_OK) {
        json_decref(c->out);
        c->out = user_public(rec);
        rc = c->out != NULL ? ENT_OK : ENT_ENOMEM;
    }
    json_decref(rec);
    return rc;
}

int ent_access_user_json(ent_store *s, const char *name, json_t **out) {
    struct user_get c = {name, NULL};
    *out = NULL;
    if (!ent_policy_user_valid(name))
        return ENT_ENOENT;
    int rc = ent_store_read(s, user_get_fn, &c);
    if (rc == ENT_OK)
        *out = c.out;
    else
        json_decref(c.out);
    return rc;
}

static int users_one(void *data, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    json_t *arr = data;
    json_t *rec = json_loadb(val, vlen, 0, NULL);
    json_t *o = rec != NULL ? user_public(rec) : NULL;
    json_decref(rec);
    if (o == NULL)
        return ENT_ECORRUPT;
    return json_array_append_new(arr, o) == 0 ? 0 : ENT_ENOMEM;
}

static int users_fn(ent_txn *txn, void *data) {
    json_array_clear(data);
    return ent_txn_scan(txn, ENT_TBL_ACCESS, "u/", 2, users_one, data);
}

int ent_access_users_json(ent_store *s, json_t **out) {
    json_t *arr = json_array();
    *out = NULL;
    if (arr == NULL)
        return ENT_ENOMEM;
    int rc = ent_store_read(s, users_fn, arr);
    if (rc != ENT_OK) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return ENT_OK;
}

/* ---- login -------------------------------------------------------------- */

struct login_ctx {
    const char *name;
    bool read_only; /* first pass: read the record */
    json_t *rec;
    bool ok; /* second pass: the verdict to record */
    uint64_t now;
};

static int login_read_fn(ent_txn *txn, void *data) {
    struct login_ctx *c = data;
    char key[KEY_MAX];
    json_decref(c->rec);
    c->rec = NULL;
    return get_json(txn, key, key_of(key, 'u', c->name), &c->rec);
}

/* Records the outcome of one password check in the user's record. */
static int login_note_fn(ent_txn *txn, void *data) {
    struct login_ctx *c = data;
    char key[KEY_MAX];
    size_t kl = key_of(key, 'u', c->name);
    json_t *rec = NULL;
    int rc = get_json(txn, key, kl, &rec);
    if (rc != ENT_OK)
        return rc;
    uint64_t f = c->ok ? 0 : jint(rec, "failures") + 1;
    uint64_t until = 0;
    if (f >= ENT_LOGIN_FREE_FAILURES) {
        uint64_t shift = f - ENT_LOGIN_FREE_FAILURES;
        uint64_t ms =
            shift >= 12 ? ENT_LOGIN_MAX_LOCK_MS : (uint64_t)1000u << shift;
        if (ms > ENT_LOGIN_MAX_LOCK_MS)
            ms = ENT_LOGIN_MAX_LOCK_MS;
        until = c->now + ms;
    }
    json_object_set_new(rec, "failures", json_integer((json_int_t)f));
    json_object_set_new(rec, "locked_until", json_integer((json_int_t)until));
    rc = put_json(txn, key, kl, rec);
    json_decref(rec);
    return rc;
}

/*
 * The hash an unknown user, or one without a password, is checked against,
 * at the default cost (spec/access.md §2.1), so that every login costs one
 * Argon2id verification whether the name exists or not. Its password was
 * random and is not kept; a match is ignored anyway.
 */
static const char dummy_hash[] =
    "$argon2id$v=19$m=65536,t=2,p=1$+W0IIILvQkslRsb9KxFb1A$"
    "Tmt92YEEegIVQKVy4vCDnmzSdCktmCmZis6Kvm5u770";

/* Password verifications run by ent_access_login, for tests only. */
static atomic_ulong login_hashes;

unsigned long ent__access_login_hashes(void) {
    return atomic_load(&login_hashes);
}

int ent_access_login(ent_store *s, const char *name, const char *pw,
                     uint64_t now, uint64_t *retry_ms) {
    struct login_ctx c = {name, true, NULL, false, now};
    int rc;
    *retry_ms = 0;
    if (!ent_policy_user_valid(name) || pw == NULL)
        return ENT_EPERM;
    rc = ent_store_read(s, login_read_fn, &c);
    if (rc != ENT_OK && rc != ENT_ENOENT)
        goto out;
    /* the hash runs first, for every name: its time tells nothing */
    const char *hash = json_string_value(json_object_get(c.rec, "password"));
    atomic_fetch_add(&login_hashes, 1);
    bool right = ent_pwhash_verify(hash != NULL ? hash : dummy_hash, pw,
                                   strlen(pw)) == ENT_OK;
    if (rc == ENT_ENOENT) {
        rc = ENT_EPERM;
        goto out;
    }
    uint64_t until = jint(c.rec, "locked_until");
    if (until > now) {
        *retry_ms = until - now;
        rc = ENT_ELIMIT;
        goto out;
    }
    c.ok = hash != NULL && right;
    if (c.ok && jint(c.rec, "failures") == 0 && until == 0)
        rc = ENT_OK; /* nothing to record */
    else
        rc = ent_store_write(s, login_note_fn, &c);
    if (rc == ENT_OK && !c.ok)
        rc = ENT_EPERM;
    else if (rc == ENT_OK && json_is_true(json_object_get(c.rec, "disabled")))
        rc = ENT_EDENIED; /* only told with the right password */
out:
    json_decref(c.rec);
    return rc;
}

/* ---- tokens ------------------------------------------------------------- */

static json_t *scopes_json(uint32_t scopes) {
    json_t *a = json_array();
    for (uint32_t b = 1; a != NULL && b <= ENT_ACT_LAST; b <<= 1)
        if ((scopes & b) != 0)
            json_array_append_new(a, json_string(ent_action_name(b)));
    return a;
}

static uint32_t scopes_parse(const json_t *a) {
    uint32_t m = 0;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        const char *s = json_string_value(v);
        if (s != NULL)
            m |= ent_action_parse(s, strlen(s));
    }
    return m;
}

struct tok_create {
    const char *user;
    const char *id;
    const char *hash;
    uint32_t scopes;
    uint64_t expires, now;
    bool session; /* a login session of the TCP API (cookie) */
    bool login;   /* a bearer token a login answered */
};

static int tok_create_fn(ent_txn *txn, void *data) {
    struct tok_create *c = data;
    char key[KEY_MAX];
    json_t *u = NULL;
    int rc = get_json(txn, key, key_of(key, 'u', c->user), &u);
    if (rc != ENT_OK)
        return rc;
    bool disabled = json_is_true(json_object_get(u, "disabled"));
    json_decref(u);
    if (disabled)
        return ENT_EDENIED;
    json_t *rec = json_pack(
        "{s:s,s:s,s:o,s:I,s:I,s:i,s:s}", "id", c->id, "user", c->user, "scopes",
        scopes_json(c->scopes), "expires", (json_int_t)c->expires, "created",
        (json_int_t)c->now, "last_used", 0, "hash", c->hash);
    if (rec == NULL)
        return ENT_ENOMEM;
    if (c->session &&
        json_object_set_new(rec, "kind", json_string("session")) != 0) {
        json_decref(rec);
        return ENT_ENOMEM;
    }
    if (c->login && json_object_set_new(rec, "login", json_true()) != 0) {
        json_decref(rec);
        return ENT_ENOMEM;
    }
    rc = put_json(txn, key, key_of(key, 't', c->id), rec);
    json_decref(rec);
    return rc;
}

/* Makes a token (or a session) and stores its hash; see the header. */
static int token_make(ent_store *s, const char *user, uint32_t scopes,
                      uint64_t expires, uint64_t now, bool session,
                      bool login, char token[ENT_TOKEN_STRLEN + 1],
                      char id[ENT_TOKEN_ID_HEX + 1]) {
    uint8_t rid[ENT_TOKEN_ID_HEX / 2], secret[32], h[ENT_HASH_LEN];
    char shex[65], hhex[2 * ENT_HASH_LEN + 1];
    token[0] = '\0';
    id[0] = '\0';
    if (!ent_policy_user_valid(user) || (scopes & ENT_ACT_ALL) == 0)
        return ENT_EINVAL;
    ent_random(rid, sizeof(rid));
    ent_random(secret, sizeof(secret));
    ent_hex_encode(id, rid, sizeof(rid));
    ent_hex_encode(shex, secret, sizeof(secret));
    snprintf(token, ENT_TOKEN_STRLEN + 1, "ent_%s_%s", id, shex);
    ent_hash(h, token, strlen(token));
    ent_hex_encode(hhex, h, sizeof(h));
    struct tok_create c = {user,    id,  hhex,    scopes & ENT_ACT_ALL,
                           expires, now, session, login};
    int rc = ent_store_write(s, tok_create_fn, &c);
    ent_wipe(secret, sizeof(secret));
    ent_wipe(shex, sizeof(shex));
    if (rc != ENT_OK) {
        ent_wipe(token, ENT_TOKEN_STRLEN + 1);
        id[0] = '\0';
    }
    return rc;
}

int ent_access_session_create(ent_store *s, const char *user, uint64_t now,
                              char token[ENT_TOKEN_STRLEN + 1],
                              char id[ENT_TOKEN_ID_HEX + 1]) {
    return token_make(s, user, ENT_ACT_ALL, now + ENT_SESSION_MS, now, true,
                      false, token, id);
}

void ent_access_session_csrf(const char *token,
                             char out[ENT_CSRF_STRLEN + 1]) {
    static const char dom[] = "entente csrf v1";
    uint8_t buf[sizeof(dom) + ENT_TOKEN_STRLEN], h[ENT_HASH_LEN];
    size_t tl = strnlen(token, ENT_TOKEN_STRLEN);
    memcpy(buf, dom, sizeof(dom)); /* with its NUL: a separator */
    memcpy(buf + sizeof(dom), token, tl);
    ent_hash(h, buf, sizeof(dom) + tl);
    ent_hex_encode(out, h, sizeof(h));
    ent_wipe(buf, sizeof(buf));
}

int ent_access_token_create(ent_store *s, const char *user, uint32_t scopes,
                            uint64_t expires, uint64_t now,
                            char token[ENT_TOKEN_STRLEN + 1],
                            char id[ENT_TOKEN_ID_HEX + 1]) {
    return token_make(s, user, scopes, expires, now, false, false, token, id);
}

int ent_access_login_token_create(ent_store *s, const char *user,
                                  uint64_t expires, uint64_t now,
                                  char token[ENT_TOKEN_STRLEN + 1],
                                  char id[ENT_TOKEN_ID_HEX + 1]) {
    return token_make(s, user, ENT_ACT_ALL, expires, now, false, true, token,
                      id);
}

static bool token_id_valid(const char *id) {
    if (id == NULL || strlen(id) != ENT_TOKEN_ID_HEX)
        return false;
    for (size_t i = 0; i < ENT_TOKEN_ID_HEX; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    return true;
}

static int tok_revoke_fn(ent_txn *txn, void *data) {
    char key[KEY_MAX];
    return ent_txn_del(txn, ENT_TBL_ACCESS, key, key_of(key, 't', data));
}

int ent_access_token_revoke(ent_store *s, const char *id) {
    if (!token_id_valid(id))
        return ENT_ENOENT;
    return ent_store_write(s, tok_revoke_fn, (void *)id);
}

struct tok_list {
    const char *user;
    json_t *arr;
};

static int tok_list_one(void *data, const void *key, size_t klen,
                        const void *val, size_t vlen) {
    struct tok_list *c = data;
    json_t *rec = json_loadb(val, vlen, 0, NULL);
    const char *u = json_string_value(json_object_get(rec, "user"));
    int rc = 0;
    if (u == NULL) {
        rc = ENT_ECORRUPT;
    } else if (c->user == NULL || strcmp(u, c->user) == 0) {
        json_object_del(rec, "hash");
        if (json_array_append(c->arr, rec) != 0)
            rc = ENT_ENOMEM;
    }
    json_decref(rec);
    return rc;
}

static int tok_list_fn(ent_txn *txn, void *data) {
    struct tok_list *c = data;
    json_array_clear(c->arr);
    return ent_txn_scan(txn, ENT_TBL_ACCESS, "t/", 2, tok_list_one, c);
}

int ent_access_tokens_json(ent_store *s, const char *user, json_t **out) {
    struct tok_list c = {user, json_array()};
    *out = NULL;
    if (c.arr == NULL)
        return ENT_ENOMEM;
    int rc = ent_store_read(s, tok_list_fn, &c);
    if (rc != ENT_OK) {
        json_decref(c.arr);
        return rc;
    }
    *out = c.arr;
    return ENT_OK;
}

/* Fills a principal from a user record. */
static int principal_from(const json_t *rec, ent_principal *p) {
    const char *name = json_string_value(json_object_get(rec, "name"));
    const char *role = json_string_value(json_object_get(rec, "role"));
    const char *k;
    json_t *v;
    memset(p, 0, sizeof(*p));
    p->kind = ENT_PRINCIPAL_USER;
    p->scopes = ENT_ACT_ALL;
    if (name == NULL || role == NULL || strlen(name) >= sizeof(p->user) ||
        strlen(role) >= sizeof(p->role))
        return ENT_ECORRUPT;
    strcpy(p->user, name);
    strcpy(p->role, role);
    json_t *uid = json_object_get(rec, "id");
    if (uid != NULL) { /* absent: added before users had ids */
        const char *h = json_string_value(uid);
        if (h == NULL || strlen(h) != ENT_POLICY_UID_HEX)
            return ENT_ECORRUPT;
        strcpy(p->uid, h);
    }
    json_object_foreach((json_t *)json_object_get(rec, "attrs"), k, v) {
        const char *s = json_string_value(v);
        if (p->nattrs == ENT_POLICY_MAX_ATTRS || s == NULL ||
            strlen(k) > ENT_POLICY_KEY_MAX || strlen(s) > ENT_POLICY_VALUE_MAX)
            return ENT_ECORRUPT;
        strcpy(p->attr_key[p->nattrs], k);
        strcpy(p->attr_val[p->nattrs], s);
        p->nattrs++;
    }
    return ENT_OK;
}

struct auth_ctx {
    const char *id;
    const uint8_t *hash;
    uint64_t now;
    ent_principal *p;
    bool touch;
    bool session; /* want a session (cookie), not a bearer token */
};

static int auth_fn(ent_txn *txn, void *data) {
    struct auth_ctx *c = data;
    char key[KEY_MAX];
    size_t kl = key_of(key, 't', c->id);
    json_t *tok = NULL, *u = NULL;
    uint8_t want[ENT_HASH_LEN];
    int rc = get_json(txn, key, kl, &tok);
    if (rc == ENT_ENOENT)
        rc = ENT_EPERM;
    if (rc != ENT_OK)
        goto out;
    const char *hhex = json_string_value(json_object_get(tok, "hash"));
    if (hhex == NULL || strlen(hhex) != 2 * ENT_HASH_LEN ||
        ent_hex_decode(want, sizeof(want), hhex) != ENT_OK) {
        rc = ENT_ECORRUPT;
        goto out;
    }
    if (!ent_memeq(want, c->hash, ENT_HASH_LEN)) {
        rc = ENT_EPERM;
        goto out;
    }
    /* a session is only a cookie and a token only a bearer */
    const char *kind = json_string_value(json_object_get(tok, "kind"));
    if ((kind != NULL && strcmp(kind, "session") == 0) != c->session) {
        rc = ENT_EPERM;
        goto out;
    }
    uint64_t exp = jint(tok, "expires");
    if (exp != 0 && exp <= c->now) {
        rc = ENT_EEXPIRED;
        goto out;
    }
    const char *user = json_string_value(json_object_get(tok, "user"));
    if (user == NULL) {
        rc = ENT_ECORRUPT;
        goto out;
    }
    char ukey[KEY_MAX];
    rc = get_json(txn, ukey, key_of(ukey, 'u', user), &u);
    if (rc == ENT_ENOENT)
        rc = ENT_EDENIED;
    if (rc != ENT_OK)
        goto out;
    if (json_is_true(json_object_get(u, "disabled"))) {
        rc = ENT_EDENIED;
        goto out;
    }
    if ((rc = principal_from(u, c->p)) != ENT_OK)
        goto out;
    c->p->scopes = scopes_parse(json_object_get(tok, "scopes"));
    memcpy(c->p->token, c->id, ENT_TOKEN_ID_HEX + 1);
    c->p->session = c->session;
    if (c->touch) {
        json_object_set_new(tok, "last_used", json_integer((json_int_t)c->now));
        rc = put_json(txn, key, kl, tok);
    } else {
        c->touch = jint(tok, "last_used") + ENT_TOKEN_TOUCH_MS <= c->now;
    }
out:
    json_decref(tok);
    json_decref(u);
    return rc;
}

static int authenticate(ent_store *s, const char *token, uint64_t now,
                        bool session, ent_principal *out) {
    uint8_t h[ENT_HASH_LEN];
    char id[ENT_TOKEN_ID_HEX + 1];
    memset(out, 0, sizeof(*out));
    if (token == NULL || strlen(token) != ENT_TOKEN_STRLEN ||
        strncmp(token, "ent_", 4) != 0 || token[4 + ENT_TOKEN_ID_HEX] != '_')
        return ENT_EPERM;
    memcpy(id, token + 4, ENT_TOKEN_ID_HEX);
    id[ENT_TOKEN_ID_HEX] = '\0';
    if (!token_id_valid(id))
        return ENT_EPERM;
    ent_hash(h, token, strlen(token));
    struct auth_ctx c = {id, h, now, out, false, session};
    int rc = ent_store_read(s, auth_fn, &c);
    if (rc == ENT_OK && c.touch)
        rc = ent_store_write(s, auth_fn, &c);
    if (rc != ENT_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

int ent_access_authenticate(ent_store *s, const char *token, uint64_t now,
                            ent_principal *out) {
    return authenticate(s, token, now, false, out);
}

int ent_access_session_authenticate(ent_store *s, const char *token,
                                    uint64_t now, ent_principal *out) {
    return authenticate(s, token, now, true, out);
}

static int principal_fn(ent_txn *txn, void *data) {
    ent_principal *p = data;
    char key[KEY_MAX];
    json_t *u = NULL;
    int rc = get_json(txn, key, key_of(key, 'u', p->user), &u);
    if (rc == ENT_OK)
        rc = principal_from(u, p);
    json_decref(u);
    return rc;
}

int ent_access_principal(ent_store *s, const char *user, ent_principal *out) {
    memset(out, 0, sizeof(*out));
    if (!ent_policy_user_valid(user))
        return ENT_ENOENT;
    strcpy(out->user, user);
    return ent_store_read(s, principal_fn, out);
}

/* ---- policies ----------------------------------------------------------- */

struct pol_add {
    const char *text;
    uint32_t id;
};

static int pol_add_fn(ent_txn *txn, void *data) {
    struct pol_add *c = data;
    const void *v;
    size_t vl;
    uint8_t key[6] = {'p', '/'};
    uint32_t next = 1;
    int rc = ent_txn_get(txn, ENT_TBL_ACCESS, "n/policy", 8, &v, &vl);
    if (rc == ENT_OK && vl == 4) {
        const uint8_t *b = v;
        next = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
               (uint32_t)b[2] << 8 | b[3];
    } else if (rc != ENT_ENOENT) {
        return rc == ENT_OK ? ENT_ECORRUPT : rc;
    }
    if (next == 0)
        return ENT_ELIMIT;
    c->id = next;
    key[2] = (uint8_t)(next >> 24);
    key[3] = (uint8_t)(next >> 16);
    key[4] = (uint8_t)(next >> 8);
    key[5] = (uint8_t)next;
    rc = ent_txn_put(txn, ENT_TBL_ACCESS, key, 6, c->text, strlen(c->text),
                     ENT_PUT_NOOVERWRITE);
    if (rc != ENT_OK)
        return rc;
    next++;
    uint8_t nb[4] = {(uint8_t)(next >> 24), (uint8_t)(next >> 16),
                     (uint8_t)(next >> 8), (uint8_t)next};
    return ent_txn_put(txn, ENT_TBL_ACCESS, "n/policy", 8, nb, 4, 0);
}

static int count_one(void *data, const void *key, size_t klen, const void *val,
                     size_t vlen) {
    (*(size_t *)data)++;
    return 0;
}

static int count_fn(ent_txn *txn, void *data) {
    *(size_t *)data = 0;
    return ent_txn_scan(txn, ENT_TBL_ACCESS, "p/", 2, count_one, data);
}

int ent_access_policy_add(ent_store *s, const char *text, uint32_t *id,
                          char *err, size_t errcap) {
    ent_rule r;
    char canon[ENT_POLICY_TEXT_MAX + 256];
    size_t n = 0;
    *id = 0;
    int rc =
        ent_rule_parse(text, text != NULL ? strlen(text) : 0, &r, err, errcap);
    if (rc != ENT_OK)
        return rc;
    if (ent_rule_format(&r, canon, sizeof(canon)) != ENT_OK ||
        strlen(canon) > ENT_POLICY_TEXT_MAX) {
        seterr(err, errcap, "rule too long");
        return ENT_EINVAL;
    }
    if ((rc = ent_store_read(s, count_fn, &n)) != ENT_OK)
        return rc;
    if (n >= ENT_POLICY_MAX_RULES) {
        if (errcap > 0)
            snprintf(err, errcap, "at most %d rules", ENT_POLICY_MAX_RULES);
        return ENT_ELIMIT;
    }
    struct pol_add c = {canon, 0};
    rc = ent_store_write(s, pol_add_fn, &c);
    if (rc == ENT_OK)
        *id = c.id;
    return rc;
}

static int pol_rm_fn(ent_txn *txn, void *data) {
    uint32_t id = *(uint32_t *)data;
    uint8_t key[6] = {'p',
                      '/',
                      (uint8_t)(id >> 24),
                      (uint8_t)(id >> 16),
                      (uint8_t)(id >> 8),
                      (uint8_t)id};
    return ent_txn_del(txn, ENT_TBL_ACCESS, key, 6);
}

int ent_access_policy_remove(ent_store *s, uint32_t id) {
    return ent_store_write(s, pol_rm_fn, &id);
}

struct pol_load {
    ent_rule *rules;
    size_t n, cap;
};

static int pol_load_one(void *data, const void *key, size_t klen,
                        const void *val, size_t vlen) {
    struct pol_load *c = data;
    const uint8_t *k = key;
    if (klen != 6 || vlen > ENT_POLICY_TEXT_MAX)
        return ENT_ECORRUPT;
    if (c->n == c->cap) {
        size_t nc = c->cap ? 2 * c->cap : 16;
        ent_rule *nr = realloc(c->rules, nc * sizeof(*nr));
        if (nr == NULL)
            return ENT_ENOMEM;
        c->rules = nr;
        c->cap = nc;
    }
    if (ent_rule_parse(val, vlen, &c->rules[c->n], NULL, 0) != ENT_OK)
        return ENT_ECORRUPT;
    c->rules[c->n].id = (uint32_t)k[2] << 24 | (uint32_t)k[3] << 16 |
                        (uint32_t)k[4] << 8 | k[5];
    c->n++;
    return 0;
}

int ent_access_policies_load(ent_txn *txn, ent_rule **rules, size_t *n) {
    struct pol_load c = {NULL, 0, 0};
    int rc = ent_txn_scan(txn, ENT_TBL_ACCESS, "p/", 2, pol_load_one, &c);
    if (rc != ENT_OK) {
        free(c.rules);
        c.rules = NULL;
        c.n = 0;
    }
    *rules = c.rules;
    *n = c.n;
    return rc;
}

struct pol_json {
    json_t *arr;
};

static int pol_json_fn(ent_txn *txn, void *data) {
    struct pol_json *c = data;
    ent_rule *rules = NULL;
    size_t n = 0;
    char text[ENT_POLICY_TEXT_MAX + 256];
    int rc = ent_access_policies_load(txn, &rules, &n);
    json_array_clear(c->arr);
    for (size_t i = 0; rc == ENT_OK && i < n; i++) {
        if (ent_rule_format(&rules[i], text, sizeof(text)) != ENT_OK)
            rc = ENT_ECORRUPT;
        else if (json_array_append_new(
                     c->arr,
                     json_pack("{s:I,s:s,s:s}", "id", (json_int_t)rules[i].id,
                               "effect", rules[i].deny ? "deny" : "allow",
                               "rule", text)) != 0)
            rc = ENT_ENOMEM;
    }
    free(rules);
    return rc;
}

int ent_access_policies_json(ent_store *s, json_t **out) {
    struct pol_json c = {json_array()};
    *out = NULL;
    if (c.arr == NULL)
        return ENT_ENOMEM;
    int rc = ent_store_read(s, pol_json_fn, &c);
    if (rc != ENT_OK) {
        json_decref(c.arr);
        return rc;
    }
    *out = c.arr;
    return ENT_OK;
}

/* ---- who did what ------------------------------------------------------- */

/* Writes tag/id -> user 0x00 ID(8), or user alone when uid is NULL or ""
 * (a user added before users had ids). */
static int note(ent_txn *txn, char tag, const uint8_t id[32], const char *user,
                const char *uid) {
    uint8_t key[34] = {(uint8_t)tag, '/'};
    uint8_t val[ENT_POLICY_VALUE_MAX + 1 + ENT_POLICY_UID_HEX / 2];
    size_t n = user != NULL ? strlen(user) : 0;
    if (!ent_policy_user_valid(user))
        return ENT_EINVAL;
    memcpy(key + 2, id, 32);
    memcpy(val, user, n);
    if (uid != NULL && uid[0] != '\0') {
        val[n++] = 0x00;
        if (strlen(uid) != ENT_POLICY_UID_HEX ||
            ent_hex_decode(val + n, ENT_POLICY_UID_HEX / 2, uid) != ENT_OK)
            return ENT_EINVAL;
        n += ENT_POLICY_UID_HEX / 2;
    }
    return ent_txn_put(txn, ENT_TBL_ACCESS, key, sizeof(key), val, n, 0);
}

/* Reads tag/id: the user's name into out, and *current whether that user
 * is the user of that name now: u/NAME exists and its "id" is the row's,
 * or both have none (a row and a user from before users had ids). A user
 * added since always has an id, so a removed user's rows never match the
 * next user given its name. */
static int lookup(ent_txn *txn, char tag, const uint8_t id[32],
                  char out[ENT_POLICY_VALUE_MAX + 1], bool *current) {
    uint8_t key[34] = {(uint8_t)tag, '/'};
    const void *v;
    size_t vl, nl;
    char rid[ENT_POLICY_UID_HEX + 1] = "", ukey[KEY_MAX];
    json_t *rec = NULL;
    out[0] = '\0';
    *current = false;
    memcpy(key + 2, id, 32);
    int rc = ent_txn_get(txn, ENT_TBL_ACCESS, key, sizeof(key), &v, &vl);
    if (rc != ENT_OK)
        return rc;
    const uint8_t *nul = memchr(v, 0x00, vl);
    nl = nul != NULL ? (size_t)(nul - (const uint8_t *)v) : vl;
    if (nl == 0 || nl > ENT_POLICY_VALUE_MAX ||
        (nul != NULL && vl - nl - 1 != ENT_POLICY_UID_HEX / 2))
        return ENT_ECORRUPT;
    memcpy(out, v, nl);
    out[nl] = '\0';
    if (nul != NULL)
        ent_hex_encode(rid, nul + 1, ENT_POLICY_UID_HEX / 2);
    rc = get_json(txn, ukey, key_of(ukey, 'u', out), &rec);
    if (rc == ENT_ENOENT)
        return ENT_OK; /* removed, none of that name now */
    if (rc != ENT_OK)
        return rc;
    const json_t *uid = json_object_get(rec, "id");
    *current = uid == NULL ? rid[0] == '\0'
                           : json_is_string(uid) &&
                                 strcmp(json_string_value(uid), rid) == 0;
    json_decref(rec);
    return ENT_OK;
}

int ent_access_note_creator(ent_txn *txn, const uint8_t obj[32],
                            const char *user, const char *uid) {
    return note(txn, 'c', obj, user, uid);
}

int ent_access_note_op(ent_txn *txn, const uint8_t op[32], const char *user,
                       const char *uid) {
    return note(txn, 'o', op, user, uid);
}

int ent_access_creator(ent_txn *txn, const uint8_t obj[32],
                       char out[ENT_POLICY_VALUE_MAX + 1]) {
    bool current;
    int rc = lookup(txn, 'c', obj, out, &current);
    if (rc == ENT_OK && !current)
        strcpy(out, ENT_ACCESS_CREATOR_REMOVED);
    return rc;
}

int ent_access_op_user(ent_txn *txn, const uint8_t op[32],
                       char out[ENT_POLICY_VALUE_MAX + 1], bool *removed) {
    bool current;
    int rc = lookup(txn, 'o', op, out, &current);
    *removed = rc == ENT_OK && !current;
    return rc;
}
