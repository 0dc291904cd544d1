/*
 * cli_audit.c - `entente log`, `entente audit export`, `entente audit
 * verify`; see cli_audit.h.
 */
#include "node/cli_audit.h"

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
#include "node/audit.h"
#include "node/client.h"
#include "node/err.h"

static int fail(const char *words, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(const char *words, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "entente: %s: ", words);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

static void print_json(json_t *v) {
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s != NULL) {
        puts(s);
        free(s);
    }
}

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
    int http = 0;
    *out = NULL;
    int rc = ent_client_request(home, "GET", path, NULL, &http, out);
    if (rc == ENT_ENOTRUNNING)
        return fail(words, "no node is running for %s (start one with: "
                           "entente serve)",
                    home);
    if (rc != ENT_OK)
        return fail(words, "%s", ent_strerror(rc));
    if (http < 200 || http > 299 || !json_is_object(*out)) {
        int st = fail(words, "%s", ent_client_error(*out));
        json_decref(*out);
        *out = NULL;
        return st;
    }
    return -1;
}

int ent_cli_log(const char *words, const char *home, const char *since,
                bool json) {
    char path[64] = "/v1/log";
    json_t *r = NULL;
    int st;
    if (since != NULL) {
        if (!digits(since)) {
            fprintf(stderr, "entente: %s: --since wants an entry index\n",
                    words);
            return 2;
        }
        snprintf(path, sizeof(path), "/v1/log?since=%s", since);
    }
    if ((st = call(words, home, path, &r)) >= 0)
        return st;
    if (json) {
        print_json(r);
    } else {
        size_t i;
        json_t *e;
        printf("size %lld  root %s\n",
               (long long)json_integer_value(json_object_get(r, "size")),
               json_string_value(json_object_get(r, "root")));
        json_array_foreach(json_object_get(r, "entries"), i, e) {
            const char *obj = json_string_value(json_object_get(e, "object"));
            const char *op = json_string_value(json_object_get(e, "op"));
            const char *reason =
                json_string_value(json_object_get(e, "reason"));
            printf("%6lld  %lld  %-15s obj %.16s  op %.16s%s%s\n",
                   (long long)json_integer_value(json_object_get(e, "index")),
                   (long long)json_integer_value(json_object_get(e, "time")),
                   json_string_value(json_object_get(e, "kind")),
                   obj ? obj : "-", op ? op : "-",
                   reason && *reason ? "  " : "", reason ? reason : "");
        }
    }
    json_decref(r);
    return 0;
}

/* Writes buf to path with mode 0600: temporary file, fsync, rename. */
static int write_file(const char *path, const uint8_t *buf, size_t len) {
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 16);
    int fd = -1, rc = ENT_OK;
    if (tmp == NULL)
        return ENT_ENOMEM;
    snprintf(tmp, pl + 16, "%s.tmpXXXXXX", path);
    if ((fd = mkstemp(tmp)) < 0) {
        rc = ent_err_from_errno(errno);
        goto out;
    }
    if (fchmod(fd, 0600) != 0) {
        rc = ent_err_from_errno(errno);
        goto out;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = ent_err_from_errno(errno ? errno : EIO);
            goto out;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        rc = ent_err_from_errno(errno);
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        rc = ent_err_from_errno(errno);
out:
    if (fd >= 0)
        close(fd);
    if (rc != ENT_OK)
        unlink(tmp);
    free(tmp);
    return rc;
}

int ent_cli_audit_export(const char *words, const char *home, const char *out,
                         const char *object, const char *since, bool json) {
    char path[200] = "/v1/audit/export";
    json_t *r = NULL;
    uint8_t *buf = NULL;
    int st;
    if (since != NULL && !digits(since)) {
        fprintf(stderr, "entente: %s: --since wants an entry index\n", words);
        return 2;
    }
    if (object != NULL) {
        uint8_t id[32];
        if (strlen(object) != 64 || ent_hex_decode(id, 32, object) != ENT_OK)
            return fail(words, "invalid object id '%.80s' (want 64 hex "
                               "characters)",
                        object);
    }
    snprintf(path, sizeof(path), "/v1/audit/export%s%s%s%s%s",
             since || object ? "?" : "", since ? "since=" : "",
             since ? since : "", since && object ? "&" : "",
             object ? "object=" : "");
    if (object != NULL) {
        size_t l = strlen(path);
        for (size_t i = 0; i < 64; i++)
            path[l + i] = (char)tolower((unsigned char)object[i]);
        path[l + 64] = '\0';
    }
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
    int rc = write_file(out, buf, hl / 2);
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
        printf("%s: %zu bytes, %lld entries\n", out, hl / 2,
               (long long)json_integer_value(json_object_get(r, "tree_size")));
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

int ent_cli_audit_verify(const char *words, const char *file, const char *org,
                         bool json) {
    uint8_t pk[ENT_PK_LEN], *buf = NULL;
    size_t len = 0;
    ent_audit_result res;
    char orgid[ENT_ORG_ID_LEN + 1];
    int rc, st = 1;
    if (org != NULL && ent_org_id_parse(pk, org) != ENT_OK) {
        fprintf(stderr, "entente: %s: invalid org id '%.80s'\n", words, org);
        return 2;
    }
    if (ent_crypto_init() != ENT_OK)
        return fail(words, "cannot initialise libsodium");
    if ((rc = read_file(file, &buf, &len)) != ENT_OK)
        return fail(words, "%s: %s", file, ent_strerror(rc));
    rc = ent_audit_verify(buf, len, org ? pk : NULL, &res);
    free(buf);
    ent_org_id_format(orgid, res.org);
    if (rc == ENT_OK) {
        char obj[65] = "";
        if (res.has_object)
            ent_hex_encode(obj, res.object, 32);
        if (json) {
            json_t *o = json_pack(
                "{s:b,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:o}", "ok", 1, "org",
                orgid, "name", res.name, "entries", (json_int_t)res.entries,
                "tree_size", (json_int_t)res.tree_size, "since",
                (json_int_t)res.since, "heads", (json_int_t)res.heads, "ops",
                (json_int_t)res.ops, "object",
                res.has_object ? json_string(obj) : json_null());
            print_json(o);
            json_decref(o);
        } else {
            printf("ok: %s (%s): %llu entries of %llu, %llu signed heads, "
                   "%llu ops checked\n",
                   orgid, res.name, (unsigned long long)res.entries,
                   (unsigned long long)res.tree_size,
                   (unsigned long long)res.heads,
                   (unsigned long long)res.ops);
        }
        return 0;
    }
    if (json) {
        json_t *o = json_pack("{s:b,s:s,s:s,s:o}", "ok", 0, "error",
                              ent_err_name(rc), "reason", res.reason, "entry",
                              res.has_fail_index
                                  ? json_integer((json_int_t)res.fail_index)
                                  : json_null());
        print_json(o);
        json_decref(o);
    }
    fail(words, "%s: verification failed: %s", file, res.reason);
    return st;
}
