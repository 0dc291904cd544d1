/*
 * cli_audit.c - the log and audit commands (spec/cli.md, spec/audit.md):
 * `entente log`, `entente audit export|verify|heads` and `entente object
 * key`. Their help and options are in the command table (cli.c); they are
 * declared in cli_int.h with the other commands. `audit verify` works
 * without a node; the others ask the running node of HOME.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "node/audit/audit.h"
#include "node/audit/witness.h"
#include "node/cli/cli_int.h"
#include "node/cli/client.h"
#include "node/err.h"
#include "node/objects/hlc.h"
#include "node/objects/value.h"
#include "node/term.h"
#include "node/timefmt.h"
#include "protocol/op.h"

#define fail ent__cli_failw /* "entente: WORDS: reason", escaped; 1 */

#define print_json ent__cli_print_json

static bool digits(const char *s) {
    if (s == NULL || *s == '\0' || strlen(s) > 19)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* One GET to the node; -1 with *out on 2xx, else the exit status. */
static int call(const char *words, const char *home, const char *path,
                json_t **out) {
    int st = ent__cli_call(words, home, "GET", path, NULL, out);
    if (st < 0 && !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return fail(words, "malformed answer from the node");
    }
    return st;
}

static int log_cmd(const char *words, const char *home, const char *since,
                   bool json) {
    char path[64] = "/v1/log";
    json_t *r = NULL;
    int st;
    if (since != NULL) {
        if (!digits(since)) {
            return ent__cli_usagew(words, "--since wants an entry index");
        }
        snprintf(path, sizeof(path), "/v1/log?since=%s", since);
    }
    if ((st = call(words, home, path, &r)) >= 0)
        return st;
    if (json)
        print_json(r);
    else
        ent__cli_print_log(stdout, r);
    json_decref(r);
    return 0;
}

void ent__cli_print_log(FILE *f, const json_t *log) {
    size_t i;
    json_t *e;
    fprintf(f, "size %llu  root %s\n",
            (unsigned long long)ent__cli_jint(log, "size"),
            ent__cli_jstr(log, "root"));
    json_array_foreach(json_object_get(log, "entries"), i, e) {
        char idx[24], when[32], who[16], obj[24] = "-", op[24] = "-";
        const char *o = json_string_value(json_object_get(e, "object"));
        const char *p = json_string_value(json_object_get(e, "op"));
        snprintf(idx, sizeof(idx), "%6llu",
                 (unsigned long long)ent__cli_jint(e, "index"));
        if (o != NULL)
            snprintf(obj, sizeof(obj), "obj %.16s", o);
        if (p != NULL)
            snprintf(op, sizeof(op), "op %.16s", p);
        /* the org, and the local user that made the change (spec/access.md) */
        char by[128];
        const char *user = json_string_value(json_object_get(e, "user"));
        snprintf(
            by, sizeof(by), "%s%s%s%s",
            json_is_string(json_object_get(e, "org")) ? ent__cli_who(who, e)
                                                      : "-",
            user != NULL ? " by " : "", user != NULL ? user : "",
            user != NULL && json_is_true(json_object_get(e, "user_removed"))
                ? " (removed)"
                : "");
        ent__cli_row(f, "",
                     (const char *const[]){
                         idx, ent__cli_time(when, json_object_get(e, "time")),
                         ent__cli_jstr(e, "kind"), obj, op, by,
                         ent__cli_jstr(e, "reason")},
                     (const int[]){6, 19, 14, 20, 19, 12}, 7);
    }
}

static int audit_export(const char *words, const char *home, const char *out,
                        const char *object, const char *since, bool json) {
    char path[200] = "/v1/audit/export";
    json_t *r = NULL;
    uint8_t *buf = NULL;
    int st;
    if (since != NULL && !digits(since))
        return ent__cli_usagew(words, "--since wants an entry index");
    if (out == NULL && json)
        return ent__cli_usagew(words, "--json needs --out FILE (without it "
                                      "the export itself goes to standard "
                                      "output)");
    if (out == NULL && isatty(STDOUT_FILENO) == 1)
        return ent__cli_usagew(words, "refusing to write the binary export to "
                                      "a terminal: give --out FILE or "
                                      "redirect standard output");
    char objhex[65];
    if (object != NULL &&
        (st = ent__cli_object_id(words, home, object, objhex)) >= 0)
        return st;
    snprintf(path, sizeof(path), "/v1/audit/export%s%s%s%s%s%s",
             since || object ? "?" : "", since ? "since=" : "",
             since ? since : "", since && object ? "&" : "",
             object ? "object=" : "", object ? objhex : "");
    if ((st = call(words, home, path, &r)) >= 0)
        return st;
    const char *hex = json_string_value(json_object_get(r, "export"));
    size_t hl = hex ? strlen(hex) : 0;
    if (hex == NULL || hl % 2 != 0 || (buf = malloc(hl / 2 + 1)) == NULL ||
        ent_hex_decode(buf, hl / 2, hex) != ENT_OK) {
        st = fail(words, "malformed answer from the node");
        goto out;
    }
    if (out == NULL) {
        if (fwrite(buf, 1, hl / 2, stdout) != hl / 2 || fflush(stdout) != 0)
            st = fail(words, "cannot write to standard output");
        else
            st = 0;
        goto out;
    }
    int rc = ent_wholefile_write(out, buf, hl / 2);
    if (rc != ENT_OK) {
        st = fail(words, "%s: %s", out, ent_strerror(rc));
        goto out;
    }
    if (json) {
        json_t *o = json_pack("{s:s,s:I,s:O}", "file", out, "bytes",
                              (json_int_t)(hl / 2), "tree_size",
                              json_object_get(r, "tree_size"));
        print_json(o);
        json_decref(o);
    } else {
        ent_term_fputs(stdout, out);
        printf(": %zu bytes, %llu entries\n", hl / 2,
               (unsigned long long)ent__cli_jint(r, "tree_size"));
    }
    st = 0;
out:
    free(buf);
    json_decref(r);
    return st;
}

static int read_file(const char *path, uint8_t **out, size_t *len) {
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    int rc = ENT_OK;
    if (f == NULL)
        return ent_err_from_errno(errno);
    for (;;) {
        if (n == cap) {
            if (cap > ENT_AUDIT_MAX_SIZE) {
                rc = ENT_ETOOBIG;
                goto out;
            }
            cap = cap ? cap * 2 : 65536;
            uint8_t *q = realloc(buf, cap);
            if (q == NULL) {
                rc = ENT_ENOMEM;
                goto out;
            }
            buf = q;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f))
                rc = ENT_EIO;
            break;
        }
    }
    if (n > ENT_AUDIT_MAX_SIZE)
        rc = ENT_ETOOBIG;
out:
    fclose(f);
    if (rc != ENT_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = n;
    return ENT_OK;
}

/* Heads one --witness file may hold: a partner's file lists one kept head
 * per org it witnesses, plus its own. */
#define MAX_WITNESS_HEADS 65536

/* Adds s to the list of head strings (grown as needed). */
static int push_item(const char ***items, size_t *n, size_t *cap,
                     const char *s) {
    if (*n == MAX_WITNESS_HEADS)
        return ENT_ELIMIT;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        const char **q = realloc(*items, c * sizeof(*q));
        if (q == NULL)
            return ENT_ENOMEM;
        *items = q;
        *cap = c;
    }
    (*items)[(*n)++] = s;
    return ENT_OK;
}

/* Reads the heads an auditor holds (--witness FILE): the JSON printed by
 * `entente audit heads --json` (every "head"), or hex heads one a line.
 * Heads of every org are read; the verifier uses those of the export's
 * org and skips the others (spec/audit.md §10). */
static int load_heads(const char *path, ent_actlog_head **out, size_t *n,
                      ent_rewind **rws, size_t *nrw) {
    uint8_t *buf = NULL;
    size_t len = 0;
    json_t *root = NULL;
    ent_actlog_head *hs = NULL;
    ent_rewind *rs = NULL;
    const char **items = NULL;
    size_t nitems = 0, capitems = 0;
    int rc = read_file(path, &buf, &len);
    *out = NULL;
    *n = 0;
    *rws = NULL;
    *nrw = 0;
    if (rc != ENT_OK)
        return rc;
    size_t i = 0;
    while (i < len && isspace(buf[i]))
        i++;
    if (i < len && (buf[i] == '{' || buf[i] == '[')) {
        root = json_loadb((const char *)buf, len, 0, NULL);
        json_t *arr =
            json_is_array(root) ? root : json_object_get(root, "heads");
        json_t *e;
        size_t k;
        if (!json_is_array(arr)) {
            rc = ENT_EINVAL;
            goto out;
        }
        json_array_foreach(arr, k, e) {
            const char *h = json_string_value(json_object_get(e, "head"));
            if (h == NULL) {
                rc = ENT_EINVAL;
                goto out;
            }
            if ((rc = push_item(&items, &nitems, &capitems, h)) != ENT_OK)
                goto out;
        }
        /* the rewinds the witness kept (spec/audit.md §11.1) */
        json_array_foreach(json_is_object(root)
                               ? json_object_get(root, "rewinds")
                               : NULL,
                           k, e) {
            const char *h = json_string_value(json_object_get(e, "rewind"));
            if (h == NULL) {
                rc = ENT_EINVAL;
                goto out;
            }
            if ((rc = push_item(&items, &nitems, &capitems, h)) != ENT_OK)
                goto out;
        }
    } else {
        uint8_t *z = realloc(buf, len + 1);
        if (z == NULL) {
            rc = ENT_ENOMEM;
            goto out;
        }
        buf = z;
        buf[len] = '\0';
        char *save = NULL;
        for (char *t = strtok_r((char *)buf, " \t\r\n", &save); t != NULL;
             t = strtok_r(NULL, " \t\r\n", &save))
            if ((rc = push_item(&items, &nitems, &capitems, t)) != ENT_OK)
                goto out;
    }
    if ((hs = calloc(nitems ? nitems : 1, sizeof(*hs))) == NULL ||
        (rs = calloc(nitems ? nitems : 1, sizeof(*rs))) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    /* each item is a head or a rewind record */
    for (size_t k = 0; k < nitems; k++) {
        uint8_t raw[ENT_REWIND_MAX];
        size_t hl = strlen(items[k]);
        if (hl % 2 != 0 || hl / 2 > sizeof(raw) ||
            ent_hex_decode(raw, hl / 2, items[k]) != ENT_OK) {
            rc = ENT_EINVAL;
            goto out;
        }
        if (ent_actlog_head_decode(&hs[*n], raw, hl / 2) == ENT_OK)
            ++*n;
        else if (ent_rewind_decode(&rs[*nrw], raw, hl / 2) == ENT_OK)
            ++*nrw;
        else {
            rc = ENT_EINVAL;
            goto out;
        }
    }
    *out = hs;
    *rws = rs;
    hs = NULL;
    rs = NULL;
out:
    if (rc != ENT_OK)
        *n = *nrw = 0;
    free(hs);
    free(rs);
    free(items);
    json_decref(root);
    free(buf);
    return rc;
}

#define MAX_KEYS 64

/* Selective disclosure (--key OBJ:HEX[,HEX...]). */
typedef struct disclose {
    uint8_t obj[32];
    char prefix[65]; /* OBJ as given, lower case: 4..64 hex digits */
    uint8_t keys[MAX_KEYS][ENT_KEY_LEN];
    size_t nkeys;
    json_t *history;
    uint64_t hidden; /* ops of the object no key opens */
} disclose;

static int parse_key(disclose *d, const char *arg) {
    const char *colon = strchr(arg, ':');
    if (colon == NULL || colon - arg < ENT_CLI_ID_PREFIX_MIN ||
        colon - arg > 64)
        return ENT_EINVAL;
    for (size_t i = 0; i < (size_t)(colon - arg); i++) {
        if (!isxdigit((unsigned char)arg[i]))
            return ENT_EINVAL;
        d->prefix[i] = (char)tolower((unsigned char)arg[i]);
    }
    d->prefix[colon - arg] = '\0';
    if (colon - arg == 64 && ent_hex_decode(d->obj, 32, d->prefix) != ENT_OK)
        return ENT_EINVAL;
    const char *p = colon + 1;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t l = end ? (size_t)(end - p) : strlen(p);
        char hex[65];
        if (l != 64 || d->nkeys == MAX_KEYS)
            return ENT_EINVAL;
        memcpy(hex, p, 64);
        hex[64] = '\0';
        int rc = ent_hex_decode(d->keys[d->nkeys], ENT_KEY_LEN, hex);
        ent_wipe(hex, sizeof(hex));
        if (rc != ENT_OK)
            return ENT_EINVAL;
        d->nkeys++;
        p += l;
        if (*p == ',')
            p++;
    }
    return d->nkeys > 0 ? ENT_OK : ENT_EINVAL;
}

/* The distinct objects of an export's ops whose id starts with a prefix. */
typedef struct prefix_scan {
    const char *prefix;
    char ids[ENT_CLI_ID_CANDIDATES + 1][65];
    size_t n;
} prefix_scan;

static int prefix_op(void *data, const uint8_t *raw, size_t n) {
    prefix_scan *ps = data;
    ent_op *op = NULL;
    char hex[65];
    if (ent_op_decode(&op, raw, n) != ENT_OK)
        return ENT_ECORRUPT;
    ent_hex_encode(hex, op->h.genesis ? op->id : op->h.object, 32);
    ent_op_free(op);
    if (strncmp(hex, ps->prefix, strlen(ps->prefix)) != 0)
        return 0;
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->ids[i], hex) == 0)
            return 0;
    memcpy(ps->ids[ps->n++], hex, sizeof(hex));
    return ps->n > ENT_CLI_ID_CANDIDATES ? 1 : 0;
}

/*
 * Resolves the object of --key against the objects of the export (which
 * verified): a unique prefix names one of them, as ids do everywhere.
 * Returns -1, or the exit status after printing why not.
 */
static int resolve_key_object(const char *words, disclose *d,
                              const uint8_t *buf, size_t len) {
    prefix_scan ps = {.prefix = d->prefix};
    char list[512] = "";
    if (strlen(d->prefix) == 64)
        return -1;
    int rc = ent_audit_foreach_op(buf, len, prefix_op, &ps);
    if (rc != ENT_OK)
        return fail(words, "--key: reading the export's ops: %s",
                    ent_strerror(rc));
    if (ps.n == 0)
        return fail(words,
                    "--key: no object of the export has an id "
                    "starting with %s",
                    d->prefix);
    if (ps.n > 1) {
        size_t o = 0;
        for (size_t i = 0; i < ps.n && o < sizeof(list); i++)
            o += (size_t)snprintf(
                list + o, sizeof(list) - o, "%s%.12s", i ? ", " : "",
                i == ENT_CLI_ID_CANDIDATES ? "..." : ps.ids[i]);
        return fail(words,
                    "--key: object id prefix %s is ambiguous: it matches "
                    "%s; give more characters",
                    d->prefix, list);
    }
    return ent_hex_decode(d->obj, 32, ps.ids[0]) == ENT_OK
               ? -1
               : fail(words, "--key: malformed object id");
}

static const char *op_kind_name(unsigned k) {
    static const char *const names[] = {
        "create",     "set",   "add_member", "remove_member",
        "rotate_key", "stage", "comment",    "approve",    "rules",
        "erase"};
    return k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

/* The plaintext of one op as JSON: its fields, text or member. */
static json_t *body_json(const ent_op_body *b) {
    json_t *o = json_object();
    char org[ENT_ORG_ID_LEN + 1];
    if (o == NULL)
        return NULL;
    if (b->type[0])
        json_object_set_new(o, "type", json_string(b->type));
    if (b->nfields > 0) {
        json_t *f = json_object();
        for (size_t i = 0; f != NULL && i < b->nfields; i++) {
            json_t *v = NULL;
            if (ent_value_to_json(&b->fields[i].v, &v) == ENT_OK)
                json_object_set_new(f, b->fields[i].name, v);
        }
        json_object_set_new(o, "fields", f);
    }
    if (b->kind == ENT_OP_ADD_MEMBER || b->kind == ENT_OP_REMOVE_MEMBER) {
        ent_org_id_format(org, b->org);
        json_object_set_new(o, "member", json_string(org));
    }
    if (b->kind == ENT_OP_REMOVE_MEMBER || b->kind == ENT_OP_ROTATE_KEY)
        json_object_set_new(o, "epoch", json_integer((json_int_t)b->epoch));
    if (b->text != NULL)
        json_object_set_new(o, "text", json_string(b->text));
    return o;
}

static int disclose_op(void *data, const uint8_t *raw, size_t n) {
    disclose *d = data;
    ent_op *op = NULL;
    ent_op_body b;
    uint8_t *pt = NULL;
    size_t ptlen = 0;
    char org[ENT_ORG_ID_LEN + 1], id[65];
    memset(&b, 0, sizeof(b));
    if (ent_op_decode(&op, raw, n) != ENT_OK)
        return ENT_ECORRUPT;
    const uint8_t *obj = op->h.genesis ? op->id : op->h.object;
    if (memcmp(obj, d->obj, 32) != 0)
        goto out;
    bool opened = false;
    for (size_t i = 0; i < d->nkeys && !opened; i++)
        opened = ent_op_open(op, d->keys[i], &pt, &ptlen) == ENT_OK;
    if (!opened || ent_op_body_decode(&b, op->h.kind, pt, ptlen) != ENT_OK) {
        d->hidden++;
        goto out;
    }
    ent_org_id_format(org, op->h.author);
    ent_hex_encode(id, op->id, 32);
    /* "_hlc" orders the history (sort_history) and is dropped after */
    char when[ENT_TIMEFMT_RFC3339_LEN + 1];
    bool timed = ent_timefmt_rfc3339(when, ent_hlc_ms(op->h.hlc)) == ENT_OK;
    json_t *e = json_pack(
        "{s:s,s:s,s:I,s:o,s:s,s:I,s:o*,s:I}", "op", id, "author", org, "seq",
        (json_int_t)op->h.seq, "time", timed ? json_string(when) : json_null(),
        "kind", op_kind_name(op->h.kind), "epoch", (json_int_t)op->h.epoch,
        "body", body_json(&b), "_hlc", (json_int_t)op->h.hlc);
    if (e != NULL)
        json_array_append_new(d->history, e);
out:
    if (pt != NULL) {
        ent_wipe(pt, ptlen);
        free(pt);
    }
    ent_op_body_clear(&b);
    ent_op_free(op);
    return 0;
}

static int cmp_time(const void *a, const void *b) {
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    uint64_t p = (uint64_t)json_integer_value(json_object_get(x, "_hlc")),
             q = (uint64_t)json_integer_value(json_object_get(y, "_hlc"));
    if (p != q)
        return p < q ? -1 : 1;
    return strcmp(json_string_value(json_object_get(x, "op")),
                  json_string_value(json_object_get(y, "op")));
}

/* Sorts the disclosed history by op time (HLC order), then op id. */
static void sort_history(json_t *h) {
    size_t n = json_array_size(h);
    json_t **v = n ? malloc(n * sizeof(*v)) : NULL;
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(h, i));
    qsort(v, n, sizeof(*v), cmp_time);
    json_array_clear(h);
    for (size_t i = 0; i < n; i++) {
        json_object_del(v[i], "_hlc");
        json_array_append_new(h, v[i]);
    }
    free(v);
}

/* The rewinds of the verified export's org that the auditor gave
 * (spec/audit.md §11.1), as `audit verify --json` prints them. */
static json_t *rewinds_json(const ent_audit_result *res) {
    json_t *a = json_array();
    for (uint64_t k = 0;
         a != NULL && k < res->nrewinds && k < ENT_AUDIT_MAX_REWINDS; k++) {
        char when[ENT_TIMEFMT_RFC3339_LEN + 1] = "";
        char lost[ENT_TIMEFMT_RFC3339_LEN + 1] = "";
        ent_timefmt_rfc3339(when, res->rewinds[k].time);
        ent_timefmt_rfc3339(lost, res->rewinds[k].lost_time);
        json_array_append_new(
            a, json_pack("{s:I,s:I,s:s,s:s}", "base",
                         (json_int_t)res->rewinds[k].base, "lost",
                         (json_int_t)res->rewinds[k].lost, "time", when,
                         "lost_time", lost));
    }
    return a;
}

static int audit_verify(const char *words, const char *file, const char *org,
                        const char *witness, const char *key, bool json) {
    uint8_t pk[ENT_PK_LEN], *buf = NULL;
    size_t len = 0, nheads = 0;
    ent_audit_result res;
    ent_actlog_head *heads = NULL;
    ent_rewind *rewinds = NULL;
    size_t nrewinds = 0;
    disclose *d = NULL;
    char orgid[ENT_ORG_ID_LEN + 1];
    int rc, st = 1;
    memset(&res, 0, sizeof(res));
    if (org != NULL && ent_org_id_parse(pk, org) != ENT_OK)
        return ent__cli_usagew(words, "invalid org id '%.80s'", org);
    if (key != NULL) {
        if ((d = calloc(1, sizeof(*d))) == NULL)
            return fail(words, "out of memory");
        if (parse_key(d, key) != ENT_OK) {
            ent_wipe(d, sizeof(*d));
            free(d);
            return ent__cli_usagew(words,
                                   "--key wants OBJ:HEX[,HEX...] (OBJ: the "
                                   "object id or a prefix of at least %d hex "
                                   "characters; HEX: 64 hex characters each)",
                                   ENT_CLI_ID_PREFIX_MIN);
        }
    }
    if (ent_crypto_init() != ENT_OK) {
        st = fail(words, "cannot initialise libsodium");
        goto out;
    }
    if (witness != NULL && (rc = load_heads(witness, &heads, &nheads,
                                            &rewinds, &nrewinds)) != ENT_OK) {
        st = fail(words, "%s: not a file of signed tree heads: %s", witness,
                  ent_strerror(rc));
        goto out;
    }
    if ((rc = read_file(file, &buf, &len)) != ENT_OK) {
        st = fail(words, "%s: %s", file, ent_strerror(rc));
        goto out;
    }
    ent_audit_opts o = {.expected_org = org ? pk : NULL,
                        .heads = heads,
                        .nheads = nheads,
                        .rewinds = rewinds,
                        .nrewinds = nrewinds};
    rc = ent_audit_verify_ex(buf, len, &o, &res);
    ent_org_id_format(orgid, res.org);
    if (rc == ENT_OK && d != NULL) {
        if ((st = resolve_key_object(words, d, buf, len)) >= 0)
            goto out;
        st = 1;
        if ((d->history = json_array()) == NULL ||
            (rc = ent_audit_foreach_op(buf, len, disclose_op, d)) != ENT_OK) {
            st = fail(words, "%s: disclosure failed: %s", file,
                      ent_strerror(rc ? rc : ENT_ENOMEM));
            goto out;
        }
        sort_history(d->history);
    }
    if (rc == ENT_OK) {
        char obj[65] = "";
        if (res.has_object)
            ent_hex_encode(obj, res.object, 32);
        if (json) {
            json_t *jo = json_pack(
                "{s:b,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "ok", 1, "org",
                orgid, "name", res.name, "entries", (json_int_t)res.entries,
                "tree_size", (json_int_t)res.tree_size, "since",
                (json_int_t)res.since, "heads", (json_int_t)res.heads, "ops",
                (json_int_t)res.ops, "equivocations",
                (json_int_t)res.equivocations, "witnessed",
                (json_int_t)res.witnessed, "object",
                res.has_object ? json_string(obj) : json_null());
            json_t *ers = json_array();
            for (uint64_t i = 0; ers != NULL && i < res.nerasures &&
                                 i < ENT_AUDIT_MAX_ERASURES;
                 i++) {
                char op[65], ob[65], by[ENT_ORG_ID_LEN + 1];
                char when[ENT_TIMEFMT_RFC3339_LEN + 1] = "";
                ent_hex_encode(op, res.erasures[i].op, 32);
                ent_hex_encode(ob, res.erasures[i].object, 32);
                ent_org_id_format(by, res.erasures[i].by);
                ent_timefmt_rfc3339(when, res.erasures[i].time_ms);
                json_array_append_new(
                    ers, json_pack("{s:s,s:s,s:s,s:I,s:s,s:I}", "op", op,
                                   "object", ob, "by", by, "seq",
                                   (json_int_t)res.erasures[i].seq, "time",
                                   when, "ops",
                                   (json_int_t)res.erasures[i].ops));
            }
            if (jo != NULL) /* spec/workflows.md §9 */
                json_object_set_new(jo, "first",
                                    res.has_first
                                        ? json_integer((json_int_t)res.first)
                                        : json_null());
            if (jo != NULL) {
                json_object_set_new(jo, "erased",
                                    json_integer((json_int_t)res.erased));
                json_object_set_new(jo, "erasures", ers);
            } else {
                json_decref(ers);
            }
            if (jo != NULL) /* spec/audit.md §11.1 */
                json_object_set_new(jo, "rewinds", rewinds_json(&res));
            if (jo != NULL)
                json_object_set_new(jo, "rewound",
                                    json_integer((json_int_t)res.rewound));
            if (jo != NULL && d != NULL) {
                json_object_set(jo, "history", d->history);
                json_object_set_new(jo, "undisclosed",
                                    json_integer((json_int_t)d->hidden));
            }
            print_json(jo);
            json_decref(jo);
        } else {
            printf("ok: %s (", orgid);
            ent_term_fputs(stdout, res.name); /* the export's own claim */
            printf("): %llu entries of %llu, %llu signed heads "
                   "(%llu witnessed), %llu ops checked, %llu equivocation "
                   "proofs\n",
                   (unsigned long long)res.entries,
                   (unsigned long long)res.tree_size,
                   (unsigned long long)res.heads,
                   (unsigned long long)res.witnessed,
                   (unsigned long long)res.ops,
                   (unsigned long long)res.equivocations);
            if (res.has_first)
                printf("object %.16s first recorded at entry %llu\n", obj,
                       (unsigned long long)res.first);
            for (uint64_t k = 0; k < res.nrewinds && k < ENT_AUDIT_MAX_REWINDS;
                 k++) {
                char when[ENT_TIMEFMT_RFC3339_LEN + 1] = "";
                ent_timefmt_rfc3339(when, res.rewinds[k].time);
                printf("  rewind: the log beyond entry %llu was declared lost "
                       "at %s (a witnessed head of size %llu)\n",
                       (unsigned long long)res.rewinds[k].base, when,
                       (unsigned long long)res.rewinds[k].lost);
            }
            for (uint64_t k = 0;
                 k < res.nerasures && k < ENT_AUDIT_MAX_ERASURES; k++) {
                char op[17], ob[17], by[ENT_ORG_ID_LEN + 1];
                char when[ENT_TIMEFMT_RFC3339_LEN + 1] = "";
                ent_hex_encode(op, res.erasures[k].op, 8);
                ent_hex_encode(ob, res.erasures[k].object, 8);
                ent_org_id_format(by, res.erasures[k].by);
                ent_timefmt_rfc3339(when, res.erasures[k].time_ms);
                printf("  erasure: op %s of object %s by %s at %s (seq %llu) "
                       "erased %llu op bodies\n",
                       op, ob, by, when,
                       (unsigned long long)res.erasures[k].seq,
                       (unsigned long long)res.erasures[k].ops);
            }
            size_t i;
            json_t *e;
            if (d != NULL)
                json_array_foreach(d->history, i, e) {
                    char when[32], who[16], seq[32];
                    const char *author = ent__cli_jstr(e, "author");
                    char *b = json_dumps(json_object_get(e, "body"),
                                         JSON_COMPACT | JSON_SORT_KEYS);
                    snprintf(who, sizeof(who), "%.12s", author);
                    snprintf(seq, sizeof(seq), "seq %llu",
                             (unsigned long long)ent__cli_jint(e, "seq"));
                    ent__cli_row(
                        stdout, "  ",
                        (const char *const[]){
                            ent__cli_time(when, json_object_get(e, "time")),
                            strcmp(author, orgid) == 0 ? res.name : who, seq,
                            ent__cli_jstr(e, "kind"), b ? b : "{}"},
                        (const int[]){19, 12, 8, 13}, 5);
                    free(b);
                }
        }
        st = 0;
        goto out;
    }
    if (json) {
        json_t *jo = json_pack("{s:b,s:s,s:s,s:o}", "ok", 0, "error",
                               ent_err_name(rc), "reason", res.reason, "entry",
                               res.has_fail_index
                                   ? json_integer((json_int_t)res.fail_index)
                                   : json_null());
        print_json(jo);
        json_decref(jo);
    }
    fail(words, "%s: verification failed: %s", file, res.reason);
out:
    free(buf);
    free(heads);
    free(rewinds);
    if (d != NULL) {
        json_decref(d->history);
        ent_wipe(d, sizeof(*d));
        free(d);
    }
    return st;
}

static int audit_heads(const char *words, const char *home, const char *org,
                       bool json) {
    char path[128] = "/v1/audit/heads";
    uint8_t pk[ENT_PK_LEN];
    json_t *r = NULL;
    int st;
    if (org != NULL) {
        if (ent_org_id_parse(pk, org) != ENT_OK) {
            return ent__cli_usagew(words, "invalid org id '%.80s'", org);
        }
        snprintf(path, sizeof(path), "/v1/audit/heads?org=%s", org);
    }
    if ((st = call(words, home, path, &r)) >= 0)
        return st;
    if (json) {
        print_json(r);
    } else {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(r, "heads"), i, e) {
            char size[32], when[32];
            const char *name = json_string_value(json_object_get(e, "name"));
            snprintf(size, sizeof(size), "size %llu",
                     (unsigned long long)ent__cli_jint(e, "size"));
            ent__cli_row(stdout, "",
                         (const char *const[]){
                             ent__cli_jstr(e, "org"), name ? name : "-", size,
                             ent__cli_time(when, json_object_get(e, "time")),
                             ent__cli_jstr(e, "root")},
                         (const int[]){52, 20, 10, 19}, 5);
        }
        json_array_foreach(json_object_get(r, "rewinds"), i, e) {
            char when[32];
            const char *name = json_string_value(json_object_get(e, "name"));
            printf("rewind  %s %s: log beyond %lld entries lost at %s (head "
                   "of size %lld kept here)\n",
                   ent__cli_jstr(e, "org"), name ? name : "-",
                   (long long)ent__cli_jint(e, "base"),
                   ent__cli_time(when, json_object_get(e, "time")),
                   (long long)ent__cli_jint(e, "lost"));
        }
    }
    json_decref(r);
    return 0;
}

static int object_key(const char *words, const char *home, const char *obj,
                      bool json) {
    char path[128], hex[65];
    json_t *r = NULL;
    int st;
    if ((st = ent__cli_object_id(words, home, obj, hex)) >= 0)
        return st;
    snprintf(path, sizeof(path), "/v1/object-keys/%s", hex);
    if ((st = call(words, home, path, &r)) >= 0)
        return st;
    if (json) {
        print_json(r);
    } else {
        /* the form `audit verify --key` takes */
        size_t i;
        json_t *e;
        printf("%s:", json_string_value(json_object_get(r, "object")));
        json_array_foreach(json_object_get(r, "keys"), i, e) printf(
            "%s%s", i ? "," : "", json_string_value(json_object_get(e, "key")));
        printf("\n");
    }
    json_decref(r);
    return 0;
}

/* ---- the commands (cli_int.h) ----------------------------------------------
 */

int ent__cli_cmd_object_key(cli *c) {
    return object_key(c->words, c->home, c->args[0], c->json);
}

int ent__cli_cmd_log(cli *c) {
    return log_cmd(c->words, c->home, ent__cli_opt_value(c, "since"), c->json);
}

int ent__cli_cmd_audit_export(cli *c) {
    return audit_export(c->words, c->home, ent__cli_opt_value(c, "out"),
                        ent__cli_opt_value(c, "object"),
                        ent__cli_opt_value(c, "since"), c->json);
}

int ent__cli_cmd_audit_verify(cli *c) {
    return audit_verify(c->words, c->args[0], ent__cli_opt_value(c, "org"),
                        ent__cli_opt_value(c, "witness"),
                        ent__cli_opt_value(c, "key"), c->json);
}

int ent__cli_cmd_audit_heads(cli *c) {
    return audit_heads(c->words, c->home, ent__cli_opt_value(c, "org"),
                       c->json);
}
