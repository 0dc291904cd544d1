/*
 * webhook.c - webhook records in the "webhooks" table, their validation,
 * the signature of a delivery, the retry schedule and the bounded delivery
 * log (webhook.h, spec/webhooks.md).
 *
 * Keys: "h/" ID -> the webhook as compact JSON; "l/" ID "/" seq (u64
 * big-endian) -> one delivery attempt as compact JSON.
 */
#include "node/webhooks/webhook.h"
#include "crypto/crypto.h"
#include "node/bytes.h"
#include "node/err.h"
#include "node/webhooks/curl_dl.h"
#include "protocol/cbor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REC_KEY_MAX (2 + ENT_WEBHOOK_ID_HEX)
#define LOG_KEY_LEN (2 + ENT_WEBHOOK_ID_HEX + 1 + 8)

static int why(char *err, size_t cap, const char *msg) {
    if (err != NULL && cap > 0)
        snprintf(err, cap, "%s", msg);
    return ENT_EINVAL;
}

/* ---- validation ------------------------------------------------------------ */

int ent_webhook_url_check(const char *url, char *err, size_t errcap) {
    size_t n = url != NULL ? strlen(url) : 0;
    if (n == 0)
        return why(err, errcap, "the URL is empty");
    if (n > ENT_WEBHOOK_URL_MAX)
        return why(err, errcap, "the URL is longer than 2048 bytes");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] < 0x21 || (unsigned char)url[i] > 0x7e)
            return why(err, errcap,
                       "the URL has a space, a control or a non-ASCII "
                       "character (percent-encode it)");
    if (strncasecmp(url, "http://", 7) != 0 &&
        strncasecmp(url, "https://", 8) != 0)
        return why(err, errcap, "the URL must start with http:// or https://");
    char lib_err[256];
    const ent_curl *cu = ent_curl_get(lib_err, sizeof(lib_err));
    if (cu == NULL) {
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "%s", lib_err);
        return ENT_EIO;
    }
    CURLU *u = cu->url();
    char *host = NULL, *user = NULL, *pw = NULL;
    int rc = ENT_OK;
    if (u == NULL)
        return ENT_ENOMEM;
    if (cu->url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        rc = why(err, errcap, "the URL does not parse");
    } else if (cu->url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
               cu->url_get(u, CURLUPART_PASSWORD, &pw, 0) == CURLUE_OK) {
        rc = why(err, errcap,
                 "the URL carries a user name or password: credentials in "
                 "a URL end up in logs; the signature authenticates");
    } else if (cu->url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
               host == NULL || host[0] == '\0') {
        rc = why(err, errcap, "the URL has no host");
    }
    cu->free(host);
    cu->free(user);
    cu->free(pw);
    cu->url_cleanup(u);
    return rc;
}

static bool kind_char(char c) {
    return (c >= 'a' && c <= 'z') || c == '_' || c == '.';
}

int ent_webhook_kinds_parse(ent_webhook *h, const char *list, char *err,
                            size_t errcap) {
    size_t n = list != NULL ? strlen(list) : 0;
    h->nkinds = 0;
    if (n == 0)
        return why(err, errcap, "no event kinds (use * for every kind)");
    if (strcmp(list, "*") == 0) {
        strcpy(h->kinds[0], "*");
        h->nkinds = 1;
        return ENT_OK;
    }
    const char *p = list;
    while (*p != '\0') {
        const char *e = strchr(p, ',');
        size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
        size_t body = len;
        if (len >= 2 && p[len - 2] == '.' && p[len - 1] == '*')
            body = len - 2; /* a prefix: "object.*" */
        if (body == 0 || body > ENT_EVENT_KIND_MAX) {
            h->nkinds = 0;
            return why(err, errcap, "an event kind is empty or longer than "
                                    "48 characters");
        }
        for (size_t i = 0; i < body; i++)
            if (!kind_char(p[i])) {
                h->nkinds = 0;
                return why(err, errcap,
                           "event kinds are a-z, _ and ., optionally "
                           "ending in .*; or * alone");
            }
        if (h->nkinds == ENT_WEBHOOK_KINDS_MAX) {
            h->nkinds = 0;
            return why(err, errcap, "more than 16 event kinds");
        }
        memcpy(h->kinds[h->nkinds], p, len);
        h->kinds[h->nkinds++][len] = '\0';
        if (e == NULL)
            break;
        p = e + 1;
        if (*p == '\0') {
            h->nkinds = 0;
            return why(err, errcap, "an event kind is empty");
        }
    }
    return ENT_OK;
}

bool ent_webhook_kind_match(const ent_webhook *h, const char *kind) {
    for (size_t i = 0; i < h->nkinds; i++) {
        const char *k = h->kinds[i];
        size_t len = strlen(k);
        if (strcmp(k, "*") == 0 || strcmp(k, kind) == 0)
            return true;
        /* "object.*" takes "object.created", not "objects" */
        if (len >= 2 && k[len - 1] == '*' && strncmp(k, kind, len - 1) == 0 &&
            kind[len - 1] != '\0')
            return true;
    }
    return false;
}

int ent_webhook_secret_check(const char *secret, char *err, size_t errcap) {
    size_t n = secret != NULL ? strlen(secret) : 0;
    if (n < ENT_WEBHOOK_SECRET_MIN || n > ENT_WEBHOOK_SECRET_MAX)
        return why(err, errcap, "a secret is 16 to 128 characters");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)secret[i] < 0x21 || (unsigned char)secret[i] > 0x7e)
            return why(err, errcap, "a secret is printable ASCII without "
                                    "spaces");
    return ENT_OK;
}

void ent_webhook_secret_new(char out[ENT_WEBHOOK_SECRET_MAX + 1]) {
    uint8_t b[32];
    ent_random(b, sizeof(b));
    ent_base64_encode(out, ENT_WEBHOOK_SECRET_MAX + 1, b, sizeof(b));
    ent_wipe(b, sizeof(b));
}

void ent_webhook_id_new(char out[ENT_WEBHOOK_ID_HEX + 1]) {
    uint8_t b[ENT_WEBHOOK_ID_HEX / 2];
    ent_random(b, sizeof(b));
    ent_hex_encode(out, b, sizeof(b));
}

bool ent_webhook_id_valid(const char *id) {
    if (id == NULL || strlen(id) != ENT_WEBHOOK_ID_HEX)
        return false;
    for (size_t i = 0; i < ENT_WEBHOOK_ID_HEX; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    return true;
}

void ent_webhook_sign(char out[ENT_WEBHOOK_SIG_MAX], const char *secret,
                      uint64_t t, const char *body, size_t len) {
    char ts[24], hex[2 * ENT_HMAC_SHA256_LEN + 1];
    uint8_t mac[ENT_HMAC_SHA256_LEN];
    int tl = snprintf(ts, sizeof(ts), "%llu", (unsigned long long)t);
    const void *parts[] = {ts, ".", body};
    size_t lens[] = {(size_t)tl, 1, len};
    ent_hmac_sha256(mac, (const uint8_t *)secret, strlen(secret), parts, lens,
                    3);
    ent_hex_encode(hex, mac, sizeof(mac));
    snprintf(out, ENT_WEBHOOK_SIG_MAX, "t=%s,v1=%s", ts, hex);
}

uint64_t ent_webhook_backoff_ms(uint32_t attempt, uint64_t base_ms,
                                uint64_t max_ms, uint32_t rnd) {
    uint64_t d = base_ms;
    for (uint32_t i = 1; i < attempt && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    uint64_t half = d / 2;
    return d - half + (half > 0 ? rnd % (half + 1) : 0);
}

void ent_webhook_cursor_name(char out[32], const char *id) {
    snprintf(out, 32, "hook:%s", id);
}

/* ---- the table ------------------------------------------------------------- */

static size_t rec_key(char key[REC_KEY_MAX + 1], const char *id) {
    return (size_t)snprintf(key, REC_KEY_MAX + 1, "h/%s", id);
}

static void log_key(uint8_t key[LOG_KEY_LEN], const char *id, uint64_t seq) {
    memcpy(key, "l/", 2);
    memcpy(key + 2, id, ENT_WEBHOOK_ID_HEX);
    key[2 + ENT_WEBHOOK_ID_HEX] = '/';
    ent_be64_put(key + 3 + ENT_WEBHOOK_ID_HEX, seq);
}

/* An error text as a JSON string, each byte that does not start a valid
 * UTF-8 character written '?': the text is libcurl's message cut at a byte
 * count, which may split a character (a receiver's certificate name is
 * quoted in some), and jansson refuses invalid UTF-8: the delivery log row
 * and the record would not be written at all. NULL: out of memory. */
static json_t *error_json(const char *s) {
    size_t n = strlen(s), o = 0;
    json_t *j = json_stringn(s, n);
    char *t;
    if (j != NULL || (t = malloc(n + 1)) == NULL)
        return j;
    for (size_t i = 0; i < n;) {
        uint8_t b = (uint8_t)s[i];
        size_t k = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
        if (k <= n - i && ent_cbor_utf8_valid(s + i, k)) {
            memcpy(t + o, s + i, k);
            o += k;
            i += k;
        } else {
            t[o++] = '?';
            i++;
        }
    }
    j = json_stringn(t, o);
    free(t);
    return j;
}

json_t *ent_webhook_json(const ent_webhook *h, bool with_secret) {
    json_t *kinds = json_array();
    for (size_t i = 0; kinds != NULL && i < h->nkinds; i++)
        json_array_append_new(kinds, json_string(h->kinds[i]));
    json_t *o = json_pack(
        "{s:s,s:s,s:o,s:o,s:I,s:b,s:I,s:I,s:I,s:I,s:o}", "id", h->id, "url",
        h->url, "events", kinds, "owner",
        h->owner[0] ? json_string(h->owner) : json_null(), "created",
        (json_int_t)h->created, "paused", h->paused, "failures",
        (json_int_t)h->failures, "failing_since",
        (json_int_t)h->failing_since, "delivered", (json_int_t)h->delivered,
        "failed", (json_int_t)h->failed, "last_error",
        error_json(h->last_error));
    if (o != NULL && with_secret &&
        json_object_set_new(o, "secret", json_string(h->secret)) != 0) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

int ent_webhook_put(ent_txn *txn, const ent_webhook *h) {
    char key[REC_KEY_MAX + 1];
    if (!ent_webhook_id_valid(h->id))
        return ENT_EINVAL;
    json_t *o = ent_webhook_json(h, true);
    if (o == NULL ||
        json_object_set_new(o, "log_next", json_integer((json_int_t)h->log_next)) ||
        (h->owner_id[0] &&
         json_object_set_new(o, "owner_id", json_string(h->owner_id))))
    {
        json_decref(o);
        return ENT_ENOMEM;
    }
    json_object_del(o, "id");
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (text == NULL)
        return ENT_ENOMEM;
    int rc = ent_txn_put(txn, ENT_TBL_WEBHOOKS, key, rec_key(key, h->id), text,
                         strlen(text), 0);
    free(text);
    return rc;
}

static uint64_t jint(const json_t *o, const char *k) {
    json_int_t v = json_integer_value(json_object_get(o, k));
    return v > 0 ? (uint64_t)v : 0;
}

static int copy_str(char *out, size_t cap, const json_t *v, bool required) {
    const char *s = json_string_value(v);
    if (s == NULL) {
        out[0] = '\0';
        return required ? ENT_ECORRUPT : ENT_OK;
    }
    if (strlen(s) >= cap)
        return ENT_ECORRUPT;
    strcpy(out, s);
    return ENT_OK;
}

/* Decodes a stored record (id given) into h. */
static int decode(const char *id, const void *val, size_t vlen,
                  ent_webhook *h) {
    memset(h, 0, sizeof(*h));
    json_t *o = json_loadb(val, vlen, JSON_REJECT_DUPLICATES, NULL);
    json_t *kinds = json_object_get(o, "events");
    int rc = json_is_object(o) && json_is_array(kinds) &&
                     json_array_size(kinds) >= 1 &&
                     json_array_size(kinds) <= ENT_WEBHOOK_KINDS_MAX
                 ? ENT_OK
                 : ENT_ECORRUPT;
    if (rc == ENT_OK)
        rc = copy_str(h->url, sizeof(h->url), json_object_get(o, "url"), true);
    if (rc == ENT_OK)
        rc = copy_str(h->secret, sizeof(h->secret),
                      json_object_get(o, "secret"), true);
    if (rc == ENT_OK)
        rc = copy_str(h->owner, sizeof(h->owner), json_object_get(o, "owner"),
                      false);
    if (rc == ENT_OK)
        rc = copy_str(h->owner_id, sizeof(h->owner_id),
                      json_object_get(o, "owner_id"), false);
    if (rc == ENT_OK)
        rc = copy_str(h->last_error, sizeof(h->last_error),
                      json_object_get(o, "last_error"), false);
    for (size_t i = 0; rc == ENT_OK && i < json_array_size(kinds); i++) {
        rc = copy_str(h->kinds[i], sizeof(h->kinds[i]),
                      json_array_get(kinds, i), true);
        h->nkinds++;
    }
    if (rc == ENT_OK) {
        snprintf(h->id, sizeof(h->id), "%s", id);
        h->created = jint(o, "created");
        h->paused = json_is_true(json_object_get(o, "paused"));
        h->failures = (uint32_t)jint(o, "failures");
        h->failing_since = jint(o, "failing_since");
        h->delivered = jint(o, "delivered");
        h->failed = jint(o, "failed");
        h->log_next = jint(o, "log_next");
    }
    json_decref(o);
    return rc;
}

int ent_webhook_get(ent_txn *txn, const char *id, ent_webhook *h) {
    char key[REC_KEY_MAX + 1];
    const void *v;
    size_t vlen;
    if (!ent_webhook_id_valid(id))
        return ENT_ENOENT;
    int rc = ent_txn_get(txn, ENT_TBL_WEBHOOKS, key, rec_key(key, id), &v,
                         &vlen);
    return rc == ENT_OK ? decode(id, v, vlen, h) : rc;
}

struct keys_ctx {
    uint8_t (*keys)[LOG_KEY_LEN];
    size_t n, cap;
};

static int collect_log(void *data, const void *key, size_t klen,
                       const void *val, size_t vlen) {
    struct keys_ctx *c = data;
    if (klen != LOG_KEY_LEN || c->n == c->cap)
        return klen != LOG_KEY_LEN ? ENT_ECORRUPT : 1;
    memcpy(c->keys[c->n++], key, LOG_KEY_LEN);
    return 0;
}

int ent_webhook_del(ent_txn *txn, const char *id) {
    char key[REC_KEY_MAX + 1], cur[32];
    uint8_t prefix[LOG_KEY_LEN];
    if (!ent_webhook_id_valid(id))
        return ENT_ENOENT;
    int rc = ent_txn_del(txn, ENT_TBL_WEBHOOKS, key, rec_key(key, id));
    if (rc != ENT_OK)
        return rc;
    log_key(prefix, id, 0);
    /* the log holds at most ENT_WEBHOOK_LOG_MAX rows */
    uint8_t keys[ENT_WEBHOOK_LOG_MAX + 8][LOG_KEY_LEN];
    struct keys_ctx c = {keys, 0, ENT_WEBHOOK_LOG_MAX + 8};
    do {
        c.n = 0;
        rc = ent_txn_scan(txn, ENT_TBL_WEBHOOKS, prefix, LOG_KEY_LEN - 8,
                          collect_log, &c);
        for (size_t i = 0; rc == ENT_OK && i < c.n; i++)
            rc = ent_txn_del(txn, ENT_TBL_WEBHOOKS, keys[i], LOG_KEY_LEN);
    } while (rc == ENT_OK && c.n == c.cap);
    ent_webhook_cursor_name(cur, id);
    if (rc == ENT_OK) {
        rc = ent_events_cursor_del(txn, cur);
        if (rc == ENT_ENOENT)
            rc = ENT_OK;
    }
    return rc;
}

struct each_ctx {
    int (*fn)(void *data, const ent_webhook *h);
    void *data;
    int stop;
    ent_webhook h;
};

static int each_one(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    struct each_ctx *c = data;
    char id[ENT_WEBHOOK_ID_HEX + 1];
    if (klen != REC_KEY_MAX)
        return ENT_ECORRUPT;
    memcpy(id, (const char *)key + 2, ENT_WEBHOOK_ID_HEX);
    id[ENT_WEBHOOK_ID_HEX] = '\0';
    int rc = decode(id, val, vlen, &c->h);
    if (rc != ENT_OK)
        return rc;
    int r = c->fn(c->data, &c->h);
    if (r != 0) {
        c->stop = r;
        return r < 0 ? r : 1;
    }
    return 0;
}

int ent_webhook_each(ent_txn *txn, int (*fn)(void *data, const ent_webhook *h),
                     void *data) {
    struct each_ctx *c = calloc(1, sizeof(*c)); /* ent_webhook is ~5 KiB */
    if (c == NULL)
        return ENT_ENOMEM;
    c->fn = fn;
    c->data = data;
    int rc = ent_txn_scan(txn, ENT_TBL_WEBHOOKS, "h/", 2, each_one, c);
    if (rc == ENT_OK && c->stop > 0)
        rc = c->stop;
    free(c);
    return rc;
}

static int count_one(void *data, const ent_webhook *h) {
    (*(size_t *)data)++;
    return 0;
}

int ent_webhook_count(ent_txn *txn, size_t *out) {
    *out = 0;
    return ent_webhook_each(txn, count_one, out);
}

int ent_webhook_log_add(ent_txn *txn, ent_webhook *h,
                        const ent_webhook_attempt *a) {
    uint8_t key[LOG_KEY_LEN];
    json_t *o = json_pack(
        "{s:I,s:I,s:i,s:o,s:I,s:I}", "event", (json_int_t)a->event, "attempt",
        (json_int_t)a->attempt, "status", a->status, "error",
        a->error != NULL ? error_json(a->error) : json_null(), "duration_ms",
        (json_int_t)a->duration_ms, "time", (json_int_t)a->time);
    char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text == NULL)
        return ENT_ENOMEM;
    log_key(key, h->id, h->log_next);
    int rc = ent_txn_put(txn, ENT_TBL_WEBHOOKS, key, sizeof(key), text,
                         strlen(text), 0);
    free(text);
    if (rc == ENT_OK && h->log_next >= ENT_WEBHOOK_LOG_MAX) {
        log_key(key, h->id, h->log_next - ENT_WEBHOOK_LOG_MAX);
        rc = ent_txn_del(txn, ENT_TBL_WEBHOOKS, key, sizeof(key));
        if (rc == ENT_ENOENT)
            rc = ENT_OK;
    }
    if (rc == ENT_OK)
        h->log_next++;
    return rc;
}

struct log_ctx {
    json_t *arr;
};

static int log_one(void *data, const void *key, size_t klen, const void *val,
                   size_t vlen) {
    struct log_ctx *c = data;
    if (klen != LOG_KEY_LEN)
        return ENT_ECORRUPT;
    json_t *o = json_loadb(val, vlen, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return ENT_ECORRUPT;
    }
    json_object_set_new(
        o, "seq",
        json_integer((json_int_t)ent_be64_get((const uint8_t *)key + klen - 8)));
    return json_array_append_new(c->arr, o) == 0 ? 0 : ENT_ENOMEM;
}

int ent_webhook_log_json(ent_txn *txn, const char *id, json_t **out) {
    uint8_t prefix[LOG_KEY_LEN];
    struct log_ctx c = {json_array()};
    *out = NULL;
    if (c.arr == NULL)
        return ENT_ENOMEM;
    log_key(prefix, id, 0);
    int rc = ent_txn_scan(txn, ENT_TBL_WEBHOOKS, prefix, LOG_KEY_LEN - 8,
                          log_one, &c);
    if (rc != ENT_OK) {
        json_decref(c.arr);
        return rc;
    }
    *out = c.arr;
    return ENT_OK;
}
