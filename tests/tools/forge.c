/*
 * forge.c - a test-only tool that plays a misbehaving org for the
 * multi-process tests (tests/e2e/authority.sh). It opens a stopped node's
 * home with the library, signs ops with that home's key file and puts them
 * in that node's own store as if received, so that the real `entente serve`
 * then offers them to its partners like any op it holds. Never built into
 * the entente binary.
 *
 *   forge backdate HOME OBJ PUPPET_SEED_HEX
 *       On the home of an admin X that has not seen its own removal: three
 *       ops that name X's current heads as parents (so they are concurrent
 *       with the removal) with the lowest HLCs those parents allow: add the
 *       puppet org (Ed25519 seed PUPPET_SEED_HEX) as admin, rotate the key
 *       (a new key sealed to every active member and the puppet), set
 *       name=BACKDATED-BY-X. Prints {"ops","first_hlc","last_hlc","puppet"}.
 *   forge set HOME OBJ FIELD VALUE AHEAD_MS [flag]
 *       A set of FIELD to VALUE (money "12345 USD" -> minor units, or text)
 *       with an HLC AHEAD_MS ms ahead of the wall clock, with the
 *       owner-only flag when "flag" is given. Prints {"rc","hlc"}.
 *   forge open X_HOME OTHER_HOME OBJ
 *       Tries every epoch key X_HOME holds on every op OTHER_HOME stores
 *       for OBJ not authored by X_HOME's org, of an epoch above the header
 *       epoch of the removal of X (the remove_member op OTHER holds whose
 *       body names X). Prints {"removal_hlc","removal_epoch","x_max_hlc",
 *       "later","opened"}.
 *
 * Exit 0 on success (whatever the engine said about the ops: see "rc"),
 * 1 on any other error, 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "crypto/crypto.h"
#include "crypto/identity.h"
#include "node/err.h"
#include "node/node.h"
#include "node/objects/object.h"
#include "protocol/op.h"

typedef struct home {
    uv_loop_t loop;
    ent_node *node;
    ent_objects *eng;
    ent_op **ops;
    size_t n, cap;
} home;

static int collect(void *data, const uint8_t *raw, size_t len) {
    home *h = data;
    ent_op *op = NULL;
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 64;
        ent_op **v = realloc(h->ops, nc * sizeof(*v));
        if (v == NULL)
            return ENT_ENOMEM;
        h->ops = v;
        h->cap = nc;
    }
    int rc = ent_op_decode(&op, raw, len);
    if (rc != ENT_OK)
        return rc;
    h->ops[h->n++] = op;
    return 0;
}

static void home_close(home *h) {
    for (size_t i = 0; i < h->n; i++)
        ent_op_free(h->ops[i]);
    free(h->ops);
    ent_objects_free(h->eng);
    if (h->node != NULL)
        ent_node_free(h->node);
    uv_loop_close(&h->loop);
}

static int home_open(home *h, const char *dir, const uint8_t obj[32]) {
    memset(h, 0, sizeof(*h));
    uv_loop_init(&h->loop);
    int rc = ent_node_open(&h->node, &h->loop, dir, NULL);
    if (rc != ENT_OK) {
        fprintf(stderr, "forge: open %s: %s\n", dir, ent_strerror(rc));
        return rc;
    }
    ent_objects_config cfg = {.store = ent_node_store(h->node),
                              .id = ent_node_identity(h->node)};
    if ((rc = ent_objects_new(&h->eng, &cfg)) != ENT_OK)
        return rc;
    return ent_obj_ops_foreach(h->eng, obj, collect, h);
}

static const uint8_t *me(home *h) {
    return ent_identity_public(ent_node_identity(h->node));
}

static uint64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The heads of h's ops (named as a parent by none), their highest HLC, our
 * highest seq and the highest header epoch. */
static void frontier(home *h, ent_op_header *hd, uint64_t *maxhlc) {
    *maxhlc = 0;
    for (size_t i = 0; i < h->n; i++) {
        const ent_op *o = h->ops[i];
        bool named = false;
        for (size_t k = 0; k < h->n && !named; k++)
            for (size_t p = 0; p < h->ops[k]->h.nparents && !named; p++)
                named = memcmp(h->ops[k]->h.parents[p], o->id, 32) == 0;
        if (!named && hd->nparents < ENT_OP_MAX_PARENTS) {
            size_t j = hd->nparents++;
            while (j > 0 && memcmp(hd->parents[j - 1], o->id, 32) > 0) {
                memcpy(hd->parents[j], hd->parents[j - 1], 32);
                j--;
            }
            memcpy(hd->parents[j], o->id, 32);
            if (o->h.hlc > *maxhlc)
                *maxhlc = o->h.hlc;
        }
        if (memcmp(o->h.author, me(h), 32) == 0 && o->h.seq > hd->seq)
            hd->seq = o->h.seq;
        if (o->h.epoch > hd->epoch)
            hd->epoch = o->h.epoch;
    }
}

/* The key h holds for epoch (the first found). */
static int key_of(home *h, const uint8_t obj[32], uint64_t epoch,
                  uint8_t key[32]) {
    ent_obj_key *keys = NULL;
    size_t n = 0;
    int rc = ent_obj_epoch_keys(h->eng, obj, &keys, &n);
    if (rc != ENT_OK)
        return rc;
    rc = ENT_ENOENT;
    for (size_t i = 0; i < n && rc != ENT_OK; i++)
        if (keys[i].epoch == epoch) {
            memcpy(key, keys[i].key, 32);
            rc = ENT_OK;
        }
    ent_obj_keys_free(keys, n);
    return rc;
}

/* Seals b under key with header hd, signs it as h's org and applies it to
 * h's store as a received op; hd->parents becomes {the new op}. */
static int put(home *h, ent_op_header *hd, const ent_op_body *b,
               const uint8_t key[32], char idhex[65]) {
    uint8_t *body = NULL;
    size_t blen = 0;
    ent_op *op = NULL;
    ent_apply_info info;
    int rc = ent_op_body_encode(b, &body, &blen);
    if (rc == ENT_OK)
        rc = ent_op_seal(&op, hd, body, blen, key, ent_node_identity(h->node));
    free(body);
    if (rc != ENT_OK)
        return rc;
    rc = ent_obj_apply(h->eng, op->raw, op->rawlen, &info);
    ent_hex_encode(idhex, op->id, 32);
    memcpy(hd->parents[0], op->id, 32);
    hd->nparents = 1;
    ent_op_free(op);
    return rc;
}

static void seal_box(uint8_t box[ENT_OP_BOX_LEN], const uint8_t key[32],
                     const uint8_t org[32]) {
    uint8_t xpk[32];
    if (ent_pk_to_x25519(xpk, org) != ENT_OK ||
        ent_seal_to(box, key, 32, xpk) != ENT_OK)
        abort();
}

/* The active members of obj in h's view: every org that authored or was
 * added, less the ones a removal names (enough for the test's objects). */
static size_t members(home *h, const uint8_t obj[32], uint8_t (*out)[32],
                      size_t cap) {
    size_t n = 0;
    uint8_t key[32];
    for (size_t i = 0; i < h->n; i++) {
        const ent_op *o = h->ops[i];
        ent_op_body b;
        uint8_t *pt = NULL;
        size_t plen = 0;
        if (o->h.kind != ENT_OP_ADD_MEMBER && o->h.kind != ENT_OP_CREATE)
            continue;
        const uint8_t *org = o->h.author;
        if (o->h.kind == ENT_OP_ADD_MEMBER) {
            if (key_of(h, obj, o->h.epoch, key) != ENT_OK ||
                ent_op_open(o, key, &pt, &plen) != ENT_OK)
                continue;
            if (ent_op_body_decode(&b, o->h.kind, pt, plen) != ENT_OK) {
                free(pt);
                continue;
            }
            free(pt);
            static uint8_t tmp[32];
            memcpy(tmp, b.org, 32);
            ent_op_body_clear(&b);
            org = tmp;
        }
        bool dup = false;
        for (size_t k = 0; k < n && !dup; k++)
            dup = memcmp(out[k], org, 32) == 0;
        if (!dup && n < cap)
            memcpy(out[n++], org, 32);
    }
    return n;
}

static int memcmp32(const void *a, const void *b) {
    return memcmp(a, b, 32);
}

static int parse_id(uint8_t out[32], const char *hex) {
    return ent_hex_decode(out, 32, hex) == ENT_OK ? 0 : -1;
}

static int cmd_backdate(const char *dir, const char *objhex,
                        const char *seedhex) {
    uint8_t obj[32], seed[32], key[32], nkey[32];
    home h;
    ent_identity *puppet = NULL;
    char ids[3][65];
    int rc;
    if (parse_id(obj, objhex) || ent_hex_decode(seed, 32, seedhex) != ENT_OK)
        return 2;
    if ((rc = home_open(&h, dir, obj)) != ENT_OK ||
        (rc = ent_identity_from_seed(&puppet, seed)) != ENT_OK)
        goto out;
    ent_op_header hd;
    uint64_t maxhlc;
    memset(&hd, 0, sizeof(hd));
    frontier(&h, &hd, &maxhlc);
    hd.version = ENT_OP_VERSION;
    memcpy(hd.object, obj, 32);
    memcpy(hd.author, me(&h), 32);
    if ((rc = key_of(&h, obj, hd.epoch, key)) != ENT_OK)
        goto out;
    uint64_t first = maxhlc + 1;
    /* 1: the puppet becomes an admin, with a box of every epoch up to ours */
    ent_op_body b;
    ent_op_epoch_key ek[8];
    size_t nek = 0;
    memset(&b, 0, sizeof(b));
    b.kind = ENT_OP_ADD_MEMBER;
    memcpy(b.org, ent_identity_public(puppet), 32);
    b.role = ENT_ROLE_ADMIN;
    for (uint64_t e = 0; e <= hd.epoch && nek < 8; e++) {
        uint8_t k[32];
        if (key_of(&h, obj, e, k) != ENT_OK)
            continue;
        ek[nek].epoch = e;
        seal_box(ek[nek].box, k, b.org);
        nek++;
    }
    b.ekeys = ek;
    b.nekeys = nek;
    hd.kind = ENT_OP_ADD_MEMBER;
    hd.seq++;
    hd.hlc = first;
    if ((rc = put(&h, &hd, &b, key, ids[0])) != ENT_OK)
        goto out;
    /* 2: a new key of X's making, sealed to every member and the puppet */
    uint8_t orgs[16][32];
    size_t no = members(&h, obj, orgs, 15);
    memcpy(orgs[no++], ent_identity_public(puppet), 32);
    qsort(orgs, no, 32, memcmp32);
    ent_op_member_key mk[16];
    ent_random(nkey, 32);
    memset(&b, 0, sizeof(b));
    b.kind = ENT_OP_ROTATE_KEY;
    b.epoch = hd.epoch + 1;
    for (size_t i = 0; i < no; i++) {
        memcpy(mk[i].org, orgs[i], 32);
        seal_box(mk[i].box, nkey, orgs[i]);
    }
    b.mkeys = mk;
    b.nmkeys = no;
    hd.kind = ENT_OP_ROTATE_KEY;
    hd.seq++;
    hd.hlc++;
    if ((rc = put(&h, &hd, &b, key, ids[1])) != ENT_OK)
        goto out;
    /* 3: a write under the old epoch */
    ent_op_field f;
    memset(&f, 0, sizeof(f));
    memset(&b, 0, sizeof(b));
    snprintf(f.name, sizeof(f.name), "name");
    f.v.type = ENT_VT_TEXT;
    f.v.u.text.s = (char *)"BACKDATED-BY-X";
    f.v.u.text.len = strlen(f.v.u.text.s);
    b.kind = ENT_OP_SET;
    b.fields = &f;
    b.nfields = 1;
    hd.kind = ENT_OP_SET;
    hd.seq++;
    hd.hlc++;
    if ((rc = put(&h, &hd, &b, key, ids[2])) != ENT_OK)
        goto out;
    char porg[ENT_ORG_ID_LEN + 1];
    ent_org_id_format(porg, ent_identity_public(puppet));
    printf("{\"ops\":[\"%s\",\"%s\",\"%s\"],\"first_hlc\":%llu,"
           "\"last_hlc\":%llu,\"puppet\":\"%s\"}\n",
           ids[0], ids[1], ids[2], (unsigned long long)first,
           (unsigned long long)hd.hlc, porg);
out:
    if (rc != ENT_OK)
        fprintf(stderr, "forge: backdate: %s\n", ent_strerror(rc));
    ent_wipe(key, 32);
    ent_wipe(nkey, 32);
    ent_identity_free(puppet);
    home_close(&h);
    return rc == ENT_OK ? 0 : 1;
}

/* "12345 USD" -> money 1234500 minor units; anything else -> text. */
static void parse_value(ent_value *v, char *s) {
    char cur[4];
    long long whole;
    int used = 0;
    if (sscanf(s, "%lld %3[A-Z]%n", &whole, cur, &used) == 2 &&
        s[used] == '\0') {
        v->type = ENT_VT_MONEY;
        v->u.money.minor = whole * 100;
        memcpy(v->u.money.cur, cur, 4);
    } else {
        v->type = ENT_VT_TEXT;
        v->u.text.s = s;
        v->u.text.len = strlen(s);
    }
}

static int cmd_set(const char *dir, const char *objhex, const char *field,
                   char *value, const char *ahead, bool flag) {
    uint8_t obj[32], key[32];
    home h;
    char id[65];
    int rc;
    if (parse_id(obj, objhex))
        return 2;
    if ((rc = home_open(&h, dir, obj)) != ENT_OK)
        goto out;
    ent_op_header hd;
    uint64_t maxhlc;
    memset(&hd, 0, sizeof(hd));
    frontier(&h, &hd, &maxhlc);
    hd.version = ENT_OP_VERSION;
    memcpy(hd.object, obj, 32);
    memcpy(hd.author, me(&h), 32);
    hd.kind = ENT_OP_SET;
    hd.seq++;
    hd.hlc = (wall_ms() + strtoull(ahead, NULL, 10)) << 16;
    if (hd.hlc <= maxhlc)
        hd.hlc = maxhlc + 1;
    if ((rc = key_of(&h, obj, hd.epoch, key)) != ENT_OK)
        goto out;
    ent_op_field f;
    ent_op_body b;
    memset(&f, 0, sizeof(f));
    memset(&b, 0, sizeof(b));
    snprintf(f.name, sizeof(f.name), "%s", field);
    parse_value(&f.v, value);
    f.owner_only = flag;
    b.kind = ENT_OP_SET;
    b.fields = &f;
    b.nfields = 1;
    int arc = put(&h, &hd, &b, key, id);
    printf("{\"rc\":\"%s\",\"hlc\":%llu,\"id\":\"%s\"}\n", ent_err_name(arc),
           (unsigned long long)hd.hlc, id);
out:
    if (rc != ENT_OK)
        fprintf(stderr, "forge: set: %s\n", ent_strerror(rc));
    ent_wipe(key, 32);
    home_close(&h);
    return rc == ENT_OK ? 0 : 1;
}

static int cmd_open(const char *xdir, const char *odir, const char *objhex) {
    uint8_t obj[32], okey[32];
    home x, o;
    ent_obj_key *keys = NULL;
    size_t nkeys = 0;
    int rc;
    uint64_t rm_hlc = 0, rm_epoch = 0, x_max = 0, later = 0, opened = 0;
    bool found = false;
    if (parse_id(obj, objhex))
        return 2;
    memset(&o, 0, sizeof(o));
    if ((rc = home_open(&x, xdir, obj)) != ENT_OK ||
        (rc = home_open(&o, odir, obj)) != ENT_OK ||
        (rc = ent_obj_epoch_keys(x.eng, obj, &keys, &nkeys)) != ENT_OK)
        goto out;
    /* the removal of X among OTHER's ops (OTHER reads every body) */
    for (size_t i = 0; i < o.n; i++) {
        const ent_op *op = o.ops[i];
        if (memcmp(op->h.author, me(&x), 32) == 0 && op->h.hlc > x_max)
            x_max = op->h.hlc;
        if (op->h.kind != ENT_OP_REMOVE_MEMBER ||
            key_of(&o, obj, op->h.epoch, okey) != ENT_OK)
            continue;
        uint8_t *pt = NULL;
        size_t plen = 0;
        ent_op_body b;
        if (ent_op_open(op, okey, &pt, &plen) != ENT_OK)
            continue;
        if (ent_op_body_decode(&b, op->h.kind, pt, plen) == ENT_OK) {
            if (memcmp(b.org, me(&x), 32) == 0) {
                found = true;
                rm_hlc = op->h.hlc;
                rm_epoch = op->h.epoch;
            }
            ent_op_body_clear(&b);
        }
        free(pt);
    }
    if (!found) {
        rc = ENT_ENOENT;
        goto out;
    }
    for (size_t i = 0; i < o.n; i++) {
        const ent_op *op = o.ops[i];
        if (memcmp(op->h.author, me(&x), 32) == 0 || op->h.epoch <= rm_epoch)
            continue;
        later++;
        for (size_t k = 0; k < nkeys; k++) {
            uint8_t *pt = NULL;
            size_t plen = 0;
            if (keys[k].epoch == op->h.epoch &&
                ent_op_open(op, keys[k].key, &pt, &plen) == ENT_OK) {
                opened++;
                free(pt);
                break;
            }
        }
    }
    printf("{\"removal_hlc\":%llu,\"removal_epoch\":%llu,\"x_max_hlc\":%llu,"
           "\"later\":%llu,\"opened\":%llu}\n",
           (unsigned long long)rm_hlc, (unsigned long long)rm_epoch,
           (unsigned long long)x_max, (unsigned long long)later,
           (unsigned long long)opened);
out:
    if (rc != ENT_OK)
        fprintf(stderr, "forge: open: %s\n", ent_strerror(rc));
    ent_wipe(okey, 32);
    ent_obj_keys_free(keys, nkeys);
    home_close(&o);
    home_close(&x);
    return rc == ENT_OK ? 0 : 1;
}

int main(int argc, char **argv) {
    if (ent_crypto_init() != ENT_OK)
        return 1;
    if (argc == 5 && strcmp(argv[1], "backdate") == 0)
        return cmd_backdate(argv[2], argv[3], argv[4]);
    if ((argc == 7 || argc == 8) && strcmp(argv[1], "set") == 0)
        return cmd_set(argv[2], argv[3], argv[4], argv[5], argv[6],
                       argc == 8 && strcmp(argv[7], "flag") == 0);
    if (argc == 5 && strcmp(argv[1], "open") == 0)
        return cmd_open(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: forge backdate HOME OBJ SEEDHEX | set HOME OBJ "
                    "FIELD VALUE AHEAD_MS [flag] | open X_HOME HOME OBJ\n");
    return 2;
}
