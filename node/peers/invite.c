/*
 * invite.c - invite tokens, join proofs, invite records and safety codes.
 *
 * The byte layouts, derivations and rules implemented here are specified in
 * spec/invites.md; keep the two in step.
 */
#include "node/peers/invite.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/objects/template.h"
#include "node/timefmt.h"

/* ---- domain separation (spec/invites.md section 3) ---- */

/* Each string is used with its terminating NUL as a separator. */
static const char DOM_CHECKSUM[] = "entente/v1/invite-checksum";
static const char DOM_SCALAR[] = "entente/v1/invite-scalar";
static const char DOM_KEY[] = "entente/v1/invite-key";
static const char DOM_JOIN[] = "entente/v1/join";
static const char DOM_SAFETY[] = "entente/v1/safety-code";

/* The X25519 base point (u = 9). */
static const uint8_t x25519_base[ENT_X25519_LEN] = {9};

/* ---- token payload layout ---- */

#define PREFIX_LEN 4 /* "ent1" */
/* version, inviter, object, role, expiry, id, secret, address count */
#define FIXED_LEN                                                              \
    (1 + ENT_PK_LEN + ENT_INVITE_OBJECT_LEN + 1 + 8 + ENT_INVITE_ID_LEN +      \
     ENT_INVITE_SECRET_LEN + 1)
#define MIN_ADDR_LEN 3 /* "a:1" */
/* Version 2 adds, after the addresses, type length (u8) and type name. */
#define MAX_PAYLOAD                                                            \
    (FIXED_LEN + ENT_INVITE_MAX_ADDRS * (1 + ENT_INVITE_MAX_ADDR_LEN) + 1 +    \
     ENT_INVITE_MAX_TYPE_LEN + ENT_INVITE_CHECKSUM_LEN)
/* Decoded bytes of the longest base32 text we accept. */
#define MAX_DECODED (ENT_INVITE_MAX_TEXT * 5 / 8 + 1)

_Static_assert(ENT_INVITE_SECRET_LEN == ENT_KEY_LEN, "secret size");
_Static_assert(ENT_INVITE_PROOF_LEN == ENT_MAC_LEN, "proof size");
_Static_assert(ENT_INVITE_MAX_TYPE_LEN == ENT_TPL_TYPE_MAX, "type name size");
_Static_assert(PREFIX_LEN + (MAX_PAYLOAD + 4) / 5 * 8 <= ENT_INVITE_MAX_TEXT,
               "the longest token must fit the parser's limit");

/* ---- record layout (ENT_TBL_INVITES value) ---- */

#define REC_VERSION 1
#define REC_OFF_VERSION 0
#define REC_OFF_ROLE 1
#define REC_OFF_USED 2
#define REC_OFF_OBJECT 3
#define REC_OFF_EXPIRY (REC_OFF_OBJECT + ENT_INVITE_OBJECT_LEN)
#define REC_OFF_CREATED (REC_OFF_EXPIRY + 8)
#define REC_OFF_USED_AT (REC_OFF_CREATED + 8)
#define REC_OFF_USED_BY (REC_OFF_USED_AT + 8)
#define REC_OFF_VERIFIER (REC_OFF_USED_BY + ENT_PK_LEN)
#define REC_LEN (REC_OFF_VERIFIER + ENT_X25519_LEN)

/* ---- small helpers ---- */

static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* A partnership invite has no object and type "partnership"
 * (spec/overlap.md §3); no other invite has that type. */
static bool partner_shape_ok(uint8_t role, const uint8_t *object,
                             const char *type) {
    static const uint8_t zero[ENT_INVITE_OBJECT_LEN];
    bool named = type != NULL && strcmp(type, ENT_INVITE_PARTNER_TYPE) == 0;
    if (role != ENT_INVITE_ROLE_PARTNER)
        return !named;
    return named && memcmp(object, zero, ENT_INVITE_OBJECT_LEN) == 0;
}

static bool role_valid(uint8_t role) {
    return role == ENT_INVITE_ROLE_ADMIN || role == ENT_INVITE_ROLE_MEMBER ||
           role == ENT_INVITE_ROLE_VIEWER || role == ENT_INVITE_ROLE_PARTNER;
}

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

static bool is_b32(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7');
}

static bool is_zero(const uint8_t *p, size_t len) {
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++)
        acc |= p[i];
    return acc == 0;
}

/* ---- addresses ---- */

/* A DNS name: dot-separated labels of [A-Za-z0-9-], 1..63 bytes each, not
 * starting or ending with '-'. */
static bool dns_name_valid(const char *s, size_t len) {
    size_t label = 0;

    if (len == 0)
        return false;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? s[i] : '.';
        if (c == '.') {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
              c == '-'))
            return false;
        if (label == 0 && c == '-')
            return false;
        label++;
    }
    return true;
}

bool ent_invite_addr_valid(const char *s, size_t len) {
    char host[ENT_INVITE_MAX_ADDR_LEN + 1];
    uint8_t ip[16];
    size_t colon, plen, hlen;
    unsigned long port = 0;
    bool numeric = true;

    if (s == NULL || len < MIN_ADDR_LEN || len > ENT_INVITE_MAX_ADDR_LEN)
        return false;
    /* The port is everything after the last ':'. */
    colon = len;
    while (colon > 0 && s[colon - 1] != ':')
        colon--;
    if (colon == 0)
        return false;
    colon--;
    plen = len - colon - 1;
    if (plen < 1 || plen > 5 || s[colon + 1] == '0')
        return false;
    for (size_t i = colon + 1; i < len; i++) {
        if (!is_digit(s[i]))
            return false;
        port = port * 10 + (unsigned long)(s[i] - '0');
    }
    if (port < 1 || port > 65535)
        return false;

    hlen = colon;
    if (hlen == 0)
        return false;
    if (s[0] == '[') {
        /* "[v6]": inet_pton refuses zone ids and anything not IPv6. */
        if (hlen < 3 || s[hlen - 1] != ']')
            return false;
        memcpy(host, s + 1, hlen - 2);
        host[hlen - 2] = '\0';
        if (memchr(host, '\0', hlen - 2) != NULL)
            return false;
        return inet_pton(AF_INET6, host, ip) == 1;
    }
    for (size_t i = 0; i < hlen; i++) {
        if (!is_digit(s[i]) && s[i] != '.')
            numeric = false;
    }
    if (numeric) {
        /* Only digits and dots: it must be a dotted-quad IPv4 address. */
        memcpy(host, s, hlen);
        host[hlen] = '\0';
        return inet_pton(AF_INET, host, ip) == 1;
    }
    return dns_name_valid(s, hlen);
}

/* ---- object type names ---- */

bool ent_invite_type_valid(const char *s, size_t len) {
    char name[ENT_INVITE_MAX_TYPE_LEN + 1];

    if (s == NULL || len < 1 || len > ENT_INVITE_MAX_TYPE_LEN ||
        memchr(s, '\0', len) != NULL)
        return false;
    memcpy(name, s, len);
    name[len] = '\0';
    return ent_template_type_valid(name);
}

/* ---- the invite value ---- */

int ent_invite_init(ent_invite *inv, const uint8_t inviter[ENT_PK_LEN],
                    const uint8_t object[ENT_INVITE_OBJECT_LEN],
                    const char *type, uint8_t role, uint64_t expiry) {
    size_t tlen = 0;

    if (inv == NULL || inviter == NULL || object == NULL || !role_valid(role))
        return ENT_EINVAL;
    if (type != NULL) {
        tlen = strnlen(type, ENT_INVITE_MAX_TYPE_LEN + 1);
        if (!ent_invite_type_valid(type, tlen))
            return ENT_EINVAL;
    }
    if (!partner_shape_ok(role, object, type))
        return ENT_EINVAL;
    ent_invite_clear(inv);
    inv->version = type != NULL ? ENT_INVITE_VERSION : ENT_INVITE_VERSION_1;
    memcpy(inv->type, type != NULL ? type : "", tlen);
    memcpy(inv->inviter, inviter, ENT_PK_LEN);
    memcpy(inv->object, object, ENT_INVITE_OBJECT_LEN);
    inv->role = role;
    inv->expiry = expiry;
    ent_random(inv->id, sizeof(inv->id));
    ent_random(inv->secret, sizeof(inv->secret));
    return ENT_OK;
}

int ent_invite_add_addr(ent_invite *inv, const char *addr) {
    size_t len;

    if (inv == NULL || addr == NULL)
        return ENT_EINVAL;
    len = strnlen(addr, ENT_INVITE_MAX_ADDR_LEN + 1);
    if (!ent_invite_addr_valid(addr, len))
        return ENT_EINVAL;
    if (inv->n_addrs >= ENT_INVITE_MAX_ADDRS)
        return ENT_ELIMIT;
    memcpy(inv->addrs[inv->n_addrs], addr, len);
    inv->addrs[inv->n_addrs][len] = '\0';
    inv->n_addrs++;
    return ENT_OK;
}

void ent_invite_clear(ent_invite *inv) {
    if (inv != NULL)
        ent_wipe(inv, sizeof(*inv));
}

int ent_invite_check_expiry(const ent_invite *inv, uint64_t now) {
    if (inv == NULL)
        return ENT_EINVAL;
    return now >= inv->expiry ? ENT_EEXPIRED : ENT_OK;
}

/* ---- token encoding ---- */

static void checksum(uint8_t out[ENT_INVITE_CHECKSUM_LEN], const uint8_t *p,
                     size_t len) {
    uint8_t h[ENT_HASH_LEN];

    ent_hash2(h, DOM_CHECKSUM, sizeof(DOM_CHECKSUM), p, len);
    memcpy(out, h, ENT_INVITE_CHECKSUM_LEN);
}

/*
 * Checks inv and returns the payload length (checksum included) in *len.
 */
static int payload_size(const ent_invite *inv, size_t *len) {
    size_t n = FIXED_LEN + ENT_INVITE_CHECKSUM_LEN;
    size_t tlen = strnlen(inv->type, ENT_INVITE_MAX_TYPE_LEN + 1);

    if (!role_valid(inv->role) || inv->n_addrs < 1 ||
        inv->n_addrs > ENT_INVITE_MAX_ADDRS)
        return ENT_EINVAL;
    if (inv->version == ENT_INVITE_VERSION) {
        if (!ent_invite_type_valid(inv->type, tlen))
            return ENT_EINVAL;
        n += 1 + tlen;
    } else if (inv->version != ENT_INVITE_VERSION_1 || tlen != 0) {
        return ENT_EINVAL;
    }
    for (unsigned i = 0; i < inv->n_addrs; i++) {
        size_t alen = strnlen(inv->addrs[i], ENT_INVITE_MAX_ADDR_LEN + 1);
        if (!ent_invite_addr_valid(inv->addrs[i], alen))
            return ENT_EINVAL;
        n += 1 + alen;
    }
    *len = n;
    return ENT_OK;
}

int ent_invite_token_encode(const ent_invite *inv, char **out) {
    uint8_t buf[MAX_PAYLOAD];
    size_t plen = 0, o = 0, tlen;
    char *text = NULL;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (inv == NULL || out == NULL)
        return ENT_EINVAL;
    rc = payload_size(inv, &plen);
    if (rc != ENT_OK)
        goto out;

    buf[o++] = inv->version;
    memcpy(buf + o, inv->inviter, ENT_PK_LEN);
    o += ENT_PK_LEN;
    memcpy(buf + o, inv->object, ENT_INVITE_OBJECT_LEN);
    o += ENT_INVITE_OBJECT_LEN;
    buf[o++] = inv->role;
    put_u64(buf + o, inv->expiry);
    o += 8;
    memcpy(buf + o, inv->id, ENT_INVITE_ID_LEN);
    o += ENT_INVITE_ID_LEN;
    memcpy(buf + o, inv->secret, ENT_INVITE_SECRET_LEN);
    o += ENT_INVITE_SECRET_LEN;
    buf[o++] = inv->n_addrs;
    for (unsigned i = 0; i < inv->n_addrs; i++) {
        size_t alen = strlen(inv->addrs[i]);
        buf[o++] = (uint8_t)alen;
        memcpy(buf + o, inv->addrs[i], alen);
        o += alen;
    }
    if (inv->version == ENT_INVITE_VERSION) {
        size_t ylen = strlen(inv->type);
        buf[o++] = (uint8_t)ylen;
        memcpy(buf + o, inv->type, ylen);
        o += ylen;
    }
    checksum(buf + o, buf, o);
    o += ENT_INVITE_CHECKSUM_LEN;
    if (o != plen) {
        rc = ENT_EINVAL;
        goto out;
    }

    tlen = PREFIX_LEN + ent_base32_encoded_len(plen) + 1;
    text = malloc(tlen);
    if (text == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    memcpy(text, ENT_INVITE_PREFIX, PREFIX_LEN);
    rc = ent_base32_encode(text + PREFIX_LEN, tlen - PREFIX_LEN, buf, plen);
    if (rc != ENT_OK)
        goto out;
    *out = text;
    text = NULL;
out:
    ent_wipe(buf, sizeof(buf));
    free(text);
    return rc;
}

/* ---- token parsing ---- */

/*
 * Decodes the payload p (checksum already verified and removed) into *out.
 */
static int parse_payload(const uint8_t *p, size_t len, ent_invite *out) {
    size_t o = 0;

    out->version = p[o++];
    if (out->version != ENT_INVITE_VERSION &&
        out->version != ENT_INVITE_VERSION_1)
        return ENT_EVERSION;
    if (len < FIXED_LEN)
        return ENT_ETRUNCATED;
    memcpy(out->inviter, p + o, ENT_PK_LEN);
    o += ENT_PK_LEN;
    memcpy(out->object, p + o, ENT_INVITE_OBJECT_LEN);
    o += ENT_INVITE_OBJECT_LEN;
    out->role = p[o++];
    if (!role_valid(out->role))
        return ENT_ECORRUPT;
    out->expiry = get_u64(p + o);
    o += 8;
    memcpy(out->id, p + o, ENT_INVITE_ID_LEN);
    o += ENT_INVITE_ID_LEN;
    memcpy(out->secret, p + o, ENT_INVITE_SECRET_LEN);
    o += ENT_INVITE_SECRET_LEN;
    out->n_addrs = p[o++];
    if (out->n_addrs < 1 || out->n_addrs > ENT_INVITE_MAX_ADDRS)
        return ENT_ECORRUPT;
    for (unsigned i = 0; i < out->n_addrs; i++) {
        size_t alen;
        if (o >= len)
            return ENT_ECORRUPT;
        alen = p[o++];
        if (alen > len - o || !ent_invite_addr_valid((const char *)p + o, alen))
            return ENT_ECORRUPT;
        memcpy(out->addrs[i], p + o, alen);
        out->addrs[i][alen] = '\0';
        o += alen;
    }
    if (out->version == ENT_INVITE_VERSION) {
        /* the object's type: length 1..32, then a valid type name */
        size_t tlen;
        if (o >= len)
            return ENT_ECORRUPT;
        tlen = p[o++];
        if (tlen > len - o || !ent_invite_type_valid((const char *)p + o, tlen))
            return ENT_ECORRUPT;
        memcpy(out->type, p + o, tlen);
        out->type[tlen] = '\0';
        o += tlen;
    }
    if (o != len)
        return ENT_ECORRUPT; /* trailing bytes */
    if (!partner_shape_ok(out->role, out->object, out->type))
        return ENT_ECORRUPT;
    return ENT_OK;
}

int ent_invite_token_parse(const char *s, size_t len, ent_invite *out) {
    uint8_t buf[MAX_DECODED];
    uint8_t sum[ENT_INVITE_CHECKSUM_LEN];
    size_t n = 0, blen;
    const char *b;
    int rc;

    if (out == NULL)
        return ENT_EINVAL;
    ent_invite_clear(out);
    if (s == NULL)
        return ENT_EINVAL;
    if (len > ENT_INVITE_MAX_TEXT)
        return ENT_ETOOBIG;
    while (len > 0 && is_space(s[0])) {
        s++;
        len--;
    }
    while (len > 0 && is_space(s[len - 1]))
        len--;

    /* "ent" then the text-form version digit. */
    if (len < 3 || memcmp(s, "ent", 3) != 0)
        return ENT_EINVAL;
    if (len < PREFIX_LEN || !is_digit(s[3]))
        return ENT_EINVAL;
    if (s[3] != ENT_INVITE_PREFIX[3])
        return ENT_EVERSION;
    b = s + PREFIX_LEN;
    blen = len - PREFIX_LEN;

    /* Strict lowercase base32, no padding, no inner whitespace. */
    for (size_t i = 0; i < blen; i++) {
        if (!is_b32(b[i]))
            return ENT_ECORRUPT;
    }
    rc = ent_base32_decode(buf, sizeof(buf), &n, b, blen);
    if (rc != ENT_OK) {
        rc = ENT_ECORRUPT;
        goto out;
    }
    /* The checksum and the version byte are where every version has them;
     * the rest of the layout is checked once the version is known. */
    if (n < 1 + ENT_INVITE_CHECKSUM_LEN) {
        rc = ENT_ETRUNCATED;
        goto out;
    }
    n -= ENT_INVITE_CHECKSUM_LEN;
    checksum(sum, buf, n);
    if (!ent_memeq(sum, buf + n, ENT_INVITE_CHECKSUM_LEN)) {
        rc = ENT_ECHECKSUM;
        goto out;
    }
    rc = parse_payload(buf, n, out);
out:
    ent_wipe(buf, sizeof(buf));
    if (rc != ENT_OK)
        ent_invite_clear(out);
    return rc;
}

/* ---- join proof ---- */

/* The invite's X25519 scalar: BLAKE2b-256(DOM_SCALAR || 0 || secret). */
static void invite_scalar(uint8_t out[ENT_X25519_LEN],
                          const uint8_t secret[ENT_INVITE_SECRET_LEN]) {
    ent_hash2(out, DOM_SCALAR, sizeof(DOM_SCALAR), secret,
              ENT_INVITE_SECRET_LEN);
}

/* The invite's public verifier V = X25519(scalar, base point). */
static int invite_verifier(uint8_t out[ENT_X25519_LEN],
                           const uint8_t secret[ENT_INVITE_SECRET_LEN]) {
    uint8_t sc[ENT_X25519_LEN];
    int rc;

    invite_scalar(sc, secret);
    rc = ent_x25519_shared(out, sc, x25519_base);
    ent_wipe(sc, sizeof(sc));
    return rc;
}

/*
 * The proof itself, from the shared secret dh = X25519(scalar, X_inviter) =
 * X25519(x_inviter, V):
 *   K     = BLAKE2b-256(DOM_KEY || 0 || dh || V || X_inviter)
 *   proof = MAC(K, DOM_JOIN || 0 || id || handshake_hash || joiner_pk)
 */
static int proof_from_dh(uint8_t out[ENT_INVITE_PROOF_LEN],
                         const uint8_t dh[ENT_X25519_LEN],
                         const uint8_t v[ENT_X25519_LEN],
                         const uint8_t xinv[ENT_X25519_LEN],
                         const uint8_t id[ENT_INVITE_ID_LEN],
                         const uint8_t hh[ENT_HASH_LEN],
                         const uint8_t joiner[ENT_PK_LEN]) {
    uint8_t kin[sizeof(DOM_KEY) + 3 * ENT_X25519_LEN];
    uint8_t
        msg[sizeof(DOM_JOIN) + ENT_INVITE_ID_LEN + ENT_HASH_LEN + ENT_PK_LEN];
    uint8_t k[ENT_KEY_LEN];
    size_t o = 0;
    int rc;

    memcpy(kin, DOM_KEY, sizeof(DOM_KEY));
    o = sizeof(DOM_KEY);
    memcpy(kin + o, dh, ENT_X25519_LEN);
    memcpy(kin + o + ENT_X25519_LEN, v, ENT_X25519_LEN);
    memcpy(kin + o + 2 * ENT_X25519_LEN, xinv, ENT_X25519_LEN);
    ent_hash(k, kin, sizeof(kin));

    o = 0;
    memcpy(msg, DOM_JOIN, sizeof(DOM_JOIN));
    o += sizeof(DOM_JOIN);
    memcpy(msg + o, id, ENT_INVITE_ID_LEN);
    o += ENT_INVITE_ID_LEN;
    memcpy(msg + o, hh, ENT_HASH_LEN);
    o += ENT_HASH_LEN;
    memcpy(msg + o, joiner, ENT_PK_LEN);
    rc = ent_mac(out, k, msg, sizeof(msg));
    ent_wipe(kin, sizeof(kin));
    ent_wipe(k, sizeof(k));
    return rc;
}

int ent_invite_proof(uint8_t out[ENT_INVITE_PROOF_LEN], const ent_invite *inv,
                     const uint8_t handshake_hash[ENT_HASH_LEN],
                     const uint8_t joiner_org_pk[ENT_PK_LEN]) {
    uint8_t sc[ENT_X25519_LEN], v[ENT_X25519_LEN], xinv[ENT_X25519_LEN];
    uint8_t dh[ENT_X25519_LEN];
    int rc;

    if (out == NULL || inv == NULL || handshake_hash == NULL ||
        joiner_org_pk == NULL)
        return ENT_EINVAL;
    rc = ent_pk_to_x25519(xinv, inv->inviter);
    if (rc != ENT_OK)
        goto out;
    invite_scalar(sc, inv->secret);
    rc = ent_x25519_shared(v, sc, x25519_base);
    if (rc != ENT_OK)
        goto out;
    rc = ent_x25519_shared(dh, sc, xinv);
    if (rc != ENT_OK)
        goto out;
    rc =
        proof_from_dh(out, dh, v, xinv, inv->id, handshake_hash, joiner_org_pk);
out:
    ent_wipe(sc, sizeof(sc));
    ent_wipe(dh, sizeof(dh));
    if (rc != ENT_OK)
        ent_wipe(out, ENT_INVITE_PROOF_LEN);
    return rc;
}

/* ---- records ---- */

static int record_decode(const uint8_t *key, size_t klen, const uint8_t *v,
                         size_t vlen, ent_invite_record *out,
                         uint8_t verifier[ENT_X25519_LEN]) {
    memset(out, 0, sizeof(*out));
    if (klen != ENT_INVITE_ID_LEN || vlen != REC_LEN ||
        v[REC_OFF_VERSION] != REC_VERSION || !role_valid(v[REC_OFF_ROLE]) ||
        v[REC_OFF_USED] > 1)
        return ENT_ECORRUPT;
    memcpy(out->id, key, ENT_INVITE_ID_LEN);
    memcpy(out->object, v + REC_OFF_OBJECT, ENT_INVITE_OBJECT_LEN);
    out->role = v[REC_OFF_ROLE];
    out->expiry = get_u64(v + REC_OFF_EXPIRY);
    out->created = get_u64(v + REC_OFF_CREATED);
    out->used = v[REC_OFF_USED] == 1;
    out->used_at = get_u64(v + REC_OFF_USED_AT);
    memcpy(out->used_by, v + REC_OFF_USED_BY, ENT_PK_LEN);
    if (!out->used && (out->used_at != 0 || !is_zero(out->used_by, ENT_PK_LEN)))
        return ENT_ECORRUPT;
    if (verifier != NULL)
        memcpy(verifier, v + REC_OFF_VERIFIER, ENT_X25519_LEN);
    return ENT_OK;
}

static void record_encode(uint8_t v[REC_LEN], const ent_invite_record *r,
                          const uint8_t verifier[ENT_X25519_LEN]) {
    v[REC_OFF_VERSION] = REC_VERSION;
    v[REC_OFF_ROLE] = r->role;
    v[REC_OFF_USED] = r->used ? 1 : 0;
    memcpy(v + REC_OFF_OBJECT, r->object, ENT_INVITE_OBJECT_LEN);
    put_u64(v + REC_OFF_EXPIRY, r->expiry);
    put_u64(v + REC_OFF_CREATED, r->created);
    put_u64(v + REC_OFF_USED_AT, r->used_at);
    memcpy(v + REC_OFF_USED_BY, r->used_by, ENT_PK_LEN);
    memcpy(v + REC_OFF_VERIFIER, verifier, ENT_X25519_LEN);
}

int ent_invite_record_put(ent_txn *txn, const ent_invite *inv, uint64_t now) {
    ent_invite_record r;
    uint8_t verifier[ENT_X25519_LEN];
    uint8_t v[REC_LEN];
    int rc;

    if (txn == NULL || inv == NULL || !role_valid(inv->role) ||
        inv->expiry <= now)
        return ENT_EINVAL;
    memset(&r, 0, sizeof(r));
    memcpy(r.id, inv->id, ENT_INVITE_ID_LEN);
    memcpy(r.object, inv->object, ENT_INVITE_OBJECT_LEN);
    r.role = inv->role;
    r.expiry = inv->expiry;
    r.created = now;
    rc = invite_verifier(verifier, inv->secret);
    if (rc != ENT_OK)
        return rc;
    record_encode(v, &r, verifier);
    return ent_txn_put(txn, ENT_TBL_INVITES, inv->id, ENT_INVITE_ID_LEN, v,
                       REC_LEN, ENT_PUT_NOOVERWRITE);
}

int ent_invite_record_get(ent_txn *txn, const uint8_t id[ENT_INVITE_ID_LEN],
                          ent_invite_record *out) {
    const void *val = NULL;
    size_t vlen = 0;
    int rc;

    if (txn == NULL || id == NULL || out == NULL)
        return ENT_EINVAL;
    rc = ent_txn_get(txn, ENT_TBL_INVITES, id, ENT_INVITE_ID_LEN, &val, &vlen);
    if (rc != ENT_OK)
        return rc;
    return record_decode(id, ENT_INVITE_ID_LEN, val, vlen, out, NULL);
}

int ent_invite_redeem(ent_txn *txn, const uint8_t id[ENT_INVITE_ID_LEN],
                      const uint8_t proof[ENT_INVITE_PROOF_LEN],
                      const uint8_t handshake_hash[ENT_HASH_LEN],
                      const uint8_t joiner_org_pk[ENT_PK_LEN],
                      const ent_identity *inviter, uint64_t now,
                      ent_invite_record *out) {
    ent_invite_record r;
    uint8_t verifier[ENT_X25519_LEN], xpk[ENT_X25519_LEN];
    uint8_t xsk[ENT_X25519_LEN], dh[ENT_X25519_LEN];
    uint8_t want[ENT_INVITE_PROOF_LEN];
    uint8_t v[REC_LEN];
    const void *val = NULL;
    size_t vlen = 0;
    int rc;

    if (txn == NULL || id == NULL || proof == NULL || handshake_hash == NULL ||
        joiner_org_pk == NULL || inviter == NULL)
        return ENT_EINVAL;
    rc = ent_txn_get(txn, ENT_TBL_INVITES, id, ENT_INVITE_ID_LEN, &val, &vlen);
    if (rc != ENT_OK)
        return rc;
    rc = record_decode(id, ENT_INVITE_ID_LEN, val, vlen, &r, verifier);
    if (rc != ENT_OK)
        return rc;
    if (now >= r.expiry)
        return ENT_EEXPIRED;
    if (r.used)
        return ENT_EUSED;

    rc = ent_identity_x25519(inviter, xpk, xsk);
    if (rc != ENT_OK)
        goto out;
    /* A verifier of low order cannot come from record_put: corrupt. */
    rc = ent_x25519_shared(dh, xsk, verifier);
    if (rc != ENT_OK) {
        rc = ENT_ECORRUPT;
        goto out;
    }
    rc = proof_from_dh(want, dh, verifier, xpk, id, handshake_hash,
                       joiner_org_pk);
    if (rc != ENT_OK)
        goto out;
    if (!ent_memeq(want, proof, ENT_INVITE_PROOF_LEN)) {
        rc = ENT_EDENIED;
        goto out;
    }

    r.used = true;
    r.used_at = now;
    memcpy(r.used_by, joiner_org_pk, ENT_PK_LEN);
    record_encode(v, &r, verifier);
    rc =
        ent_txn_put(txn, ENT_TBL_INVITES, id, ENT_INVITE_ID_LEN, v, REC_LEN, 0);
    if (rc == ENT_OK && out != NULL)
        *out = r;
out:
    ent_wipe(xsk, sizeof(xsk));
    ent_wipe(dh, sizeof(dh));
    ent_wipe(want, sizeof(want));
    return rc;
}

struct list_ctx {
    int (*fn)(void *data, const ent_invite_record *rec);
    void *data;
};

static int list_one(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    struct list_ctx *c = data;
    ent_invite_record r;
    int rc = record_decode(key, klen, val, vlen, &r, NULL);

    if (rc != ENT_OK)
        return rc;
    return c->fn(c->data, &r);
}

int ent_invite_list(ent_txn *txn,
                    int (*fn)(void *data, const ent_invite_record *rec),
                    void *data) {
    struct list_ctx c = {fn, data};

    if (txn == NULL || fn == NULL)
        return ENT_EINVAL;
    return ent_txn_scan(txn, ENT_TBL_INVITES, NULL, 0, list_one, &c);
}

int ent_invite_revoke(ent_txn *txn, const uint8_t id[ENT_INVITE_ID_LEN]) {
    ent_invite_record r;
    int rc = ent_invite_record_get(txn, id, &r);

    if (rc != ENT_OK)
        return rc;
    if (r.used)
        return ENT_EUSED;
    return ent_txn_del(txn, ENT_TBL_INVITES, id, ENT_INVITE_ID_LEN);
}

/* ---- durations ---- */

int ent_duration_parse(const char *s, uint64_t *seconds) {
    uint64_t v = 0, mul = 1;
    bool big = false;
    size_t i = 0;

    if (s == NULL || seconds == NULL || !is_digit(s[0]))
        return ENT_EINVAL;
    for (; is_digit(s[i]); i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            big = true; /* keep reading: a syntax error still wins */
        else
            v = v * 10 + d;
    }
    switch (s[i]) {
    case '\0':
        break;
    case 's':
        i++;
        break;
    case 'm':
        mul = 60;
        i++;
        break;
    case 'h':
        mul = 3600;
        i++;
        break;
    case 'd':
        mul = 24 * 3600;
        i++;
        break;
    default:
        return ENT_EINVAL;
    }
    if (s[i] != '\0')
        return ENT_EINVAL;
    if (big || v > UINT64_MAX / mul || v * mul > ENT_DURATION_MAX)
        return ENT_ETOOBIG;
    if (v * mul < ENT_DURATION_MIN)
        return ENT_EINVAL;
    *seconds = v * mul;
    return ENT_OK;
}

/* ---- safety code ---- */

void ent_safety_code(const uint8_t a[ENT_PK_LEN], const uint8_t b[ENT_PK_LEN],
                     char out[ENT_SAFETY_CODE_LEN + 1]) {
    uint8_t in[sizeof(DOM_SAFETY) + 2 * ENT_PK_LEN];
    uint8_t h[ENT_HASH_LEN];
    const uint8_t *lo = a, *hi = b;
    size_t o = 0;

    if (memcmp(a, b, ENT_PK_LEN) > 0) {
        lo = b;
        hi = a;
    }
    memcpy(in, DOM_SAFETY, sizeof(DOM_SAFETY));
    memcpy(in + sizeof(DOM_SAFETY), lo, ENT_PK_LEN);
    memcpy(in + sizeof(DOM_SAFETY) + ENT_PK_LEN, hi, ENT_PK_LEN);
    ent_hash(h, in, sizeof(in));
    for (int g = 0; g < 6; g++) {
        uint64_t v = 0;
        for (int j = 0; j < 5; j++)
            v = (v << 8) | h[5 * g + j];
        o +=
            (size_t)snprintf(out + o, ENT_SAFETY_CODE_LEN + 1 - o,
                             g == 0 ? "%05u" : " %05u", (unsigned)(v % 100000));
    }
}

const char *ent_invite_parse_error(int rc) {
    switch (rc) {
    case ENT_ECHECKSUM:
        return "the token has a typo (checksum mismatch): copy it again";
    case ENT_ETRUNCATED:
        return "the token is truncated: copy all of it";
    case ENT_EVERSION:
        return "unsupported token version: upgrade entente";
    case ENT_ETOOBIG:
        return "the token is too long";
    case ENT_ECORRUPT:
        return "the token is malformed or incomplete: copy all of it";
    default:
        return "not a valid invite token (malformed)";
    }
}

json_t *ent_invite_describe(const ent_invite *inv, uint64_t now) {
    static const char *const roles[] = {"owner", "admin", "member", "viewer"};
    char obj[65], iid[2 * ENT_INVITE_ID_LEN + 1], org[ENT_ORG_ID_LEN + 1];
    char rfc[ENT_TIMEFMT_RFC3339_LEN + 1];
    ent_hex_encode(obj, inv->object, 32);
    ent_hex_encode(iid, inv->id, ENT_INVITE_ID_LEN);
    ent_org_id_format(org, inv->inviter);
    if (ent_timefmt_rfc3339(rfc, inv->expiry * 1000) != ENT_OK)
        rfc[0] = '\0';
    json_t *addrs = json_array();
    for (unsigned i = 0; addrs != NULL && i < inv->n_addrs; i++)
        json_array_append_new(addrs, json_string(inv->addrs[i]));
    /* a version-1 token does not name the type: null */
    return json_pack("{s:s,s:s?,s:s,s:s,s:s,s:b,s:o,s:s}", "object", obj,
                     "type", inv->type[0] ? inv->type : NULL, "inviter", org,
                     "role", inv->role < 4 ? roles[inv->role] : "?",
                     "expires", rfc, "expired",
                     ent_invite_check_expiry(inv, now) != ENT_OK, "addrs",
                     addrs, "invite_id", iid);
}
