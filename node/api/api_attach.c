/*
 * api_attach.c - the attachment endpoints (spec/api.md, spec/objects.md
 * "Attachments"):
 *
 *   GET  /v1/objects/ID/attachments         the attachments, with how many
 *                                           chunks this node holds
 *   POST /v1/objects/ID/attachments         {"path","name"?}: attach a file
 *                                           the node reads (local socket);
 *                                           {"name","content"}: attach the
 *                                           bytes sent, in base64 (any
 *                                           transport: the web page)
 *   POST /v1/objects/ID/attachments/fetch   {"name"}: fetch missing chunks
 *                                           from members; progress
 *   POST /v1/objects/ID/attachments/save    {"name","out"}: write the file,
 *                                           every chunk and the hash checked
 *                                           (local socket)
 *   POST /v1/objects/ID/attachments/read    {"name"}: the file's bytes in
 *                                           base64, every chunk and the hash
 *                                           checked (any transport)
 *
 * Paths in bodies name files of the node's machine: they are taken only
 * from the Unix socket in the home folder (the operator's), never over TCP.
 */
#include "node/api/api_attach.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "node/api/api_objects.h"
#include "node/api/route.h"
#include "node/err.h"
#include "node/node.h"
#include "node/objects/object.h"
#include "node/peers/peer.h"
#include "node/wholefile.h"

static json_t *att_json(const ent_obj_attachment *a) {
    char hash[65], op[65], by[65];
    ent_hex_encode(hash, a->hash, 32);
    ent_hex_encode(op, a->op, 32);
    ent_hex_encode(by, a->by, 32);
    return json_pack("{s:s,s:I,s:s,s:I,s:s,s:s,s:I,s:I,s:b}", "name", a->name,
                     "size", (json_int_t)a->size, "hash", hash, "epoch",
                     (json_int_t)a->epoch, "op", op, "by", by, "chunks",
                     (json_int_t)a->nchunks, "have", (json_int_t)a->have,
                     "complete", a->have == a->nchunks);
}

static int list(ent_node *n, const uint8_t id[32], ent_http_response *resp) {
    ent_obj_attachment *v = NULL;
    size_t nv = 0;
    int rc = ent_obj_attachments(ent_node_objects(n), id, &v, &nv);
    json_t *arr = json_array();
    for (size_t i = 0; rc == ENT_OK && arr != NULL && i < nv; i++)
        if (json_array_append_new(arr, att_json(&v[i])) != 0)
            rc = ENT_ENOMEM;
    free(v);
    if (rc != ENT_OK || arr == NULL) {
        json_decref(arr);
        return ent_http_response_error(resp, ent_api_error_status(rc), rc, "%s",
                                       rc == ENT_ENOENT ? "no such object"
                                                        : ent_strerror(rc));
    }
    ent_http_response_json(resp, 200, arr);
    return ENT_OK;
}

/* A string member of body of 1..max bytes without NUL, or NULL (400). */
static const char *str_member(const json_t *body, const char *key, size_t max,
                              bool required, ent_http_response *resp, int *rc) {
    const json_t *v = json_object_get(body, key);
    *rc = ENT_OK;
    if (v == NULL && !required)
        return NULL;
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        *rc = ent_http_response_error_field(
            resp, 400, ENT_EINVAL, key, "\"%s\" is a string of 1 to %zu bytes",
            key, max);
        return NULL;
    }
    return json_string_value(v);
}

/* 400 for a member of body other than the allowed ones. */
static int keys_ok(const json_t *body, const char *const *allowed,
                   ent_http_response *resp) {
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)body, key, val) {
        bool ok = false;
        for (const char *const *a = allowed; *a != NULL; a++)
            ok |= strcmp(key, *a) == 0;
        if (!ok)
            return ent_http_response_error_field(
                resp, 400, ENT_EINVAL, key, "unknown key \"%.64s\" in body",
                key);
    }
    return ENT_OK;
}

static int only_local(const ent_http_request *req, ent_http_response *resp) {
    if (req->transport == ENT_HTTP_UNIX)
        return ENT_OK;
    return ent_http_response_error(
        resp, 403, ENT_EDENIED,
        "file paths are taken only over the node's local socket");
}

/* Reads a regular file of 1 .. ENT_OP_FILE_MAX bytes. */
static int read_file(const char *path, uint8_t **out, size_t *len, char *err,
                     size_t errlen) {
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int rc = ENT_OK;
    *out = NULL;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = errno == ENOENT ? ENT_ENOENT : ENT_EIO;
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (uint64_t)st.st_size > ENT_OP_FILE_MAX) {
        snprintf(err, errlen,
                 "%s: not a regular file of 1 byte to 25 MiB (%lld bytes)",
                 path, (long long)st.st_size);
        rc = S_ISREG(st.st_mode) && st.st_size > 0 ? ENT_ETOOBIG : ENT_EINVAL;
        goto out;
    }
    if ((*out = malloc((size_t)st.st_size)) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, *out + got, (size_t)st.st_size - got);
        if (r <= 0) {
            snprintf(err, errlen, "%s: %s", path,
                     r < 0 ? strerror(errno) : "shorter than its size");
            rc = ENT_EIO;
            goto out;
        }
        got += (size_t)r;
    }
    *len = got;
out:
    if (fd >= 0)
        close(fd);
    if (rc != ENT_OK) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* The answer to a failed ent_obj_attachment_read of body's "name". */
static int read_error(ent_http_response *resp, int rc) {
    return ent_http_response_error_field(
        resp, rc == ENT_EAGAIN ? 409 : ent_api_error_status(rc), rc, "name",
        "%s",
        rc == ENT_EAGAIN      ? "chunks are missing: fetch them first"
        : rc == ENT_ENOENT    ? "no attachment of that name"
        : rc == ENT_ECHECKSUM ? "a chunk or the file does not match its hash"
                              : ent_strerror(rc));
}

/* The bytes of body's "content": base64 of 1 byte to ENT_OP_FILE_MAX;
 * *out is the caller's to free. 400 (the response set) when it is not. */
static int content_member(const json_t *body, uint8_t **out, size_t *len,
                          ent_http_response *resp) {
    const json_t *v = json_object_get(body, "content");
    size_t tl = json_string_length(v);
    int rc = ENT_EINVAL;
    *out = NULL;
    *len = 0;
    if (json_is_string(v) && tl > 0 &&
        ENT_BASE64_DECODED_MAX(tl) <= ENT_OP_FILE_MAX + 2 &&
        (*out = malloc(ENT_BASE64_DECODED_MAX(tl))) == NULL)
        return ENT_ENOMEM;
    if (*out != NULL)
        rc = ent_base64_decode(*out, ENT_BASE64_DECODED_MAX(tl), len,
                               json_string_value(v), tl);
    if (rc == ENT_OK && *len > 0 && *len <= ENT_OP_FILE_MAX)
        return ENT_OK;
    free(*out);
    *out = NULL;
    return ent_http_response_error_field(
        resp, 400, ENT_EINVAL, "content",
        "\"content\" is the file's bytes in standard base64 with padding, "
        "1 byte to 25 MiB");
}

static int attach(ent_node *n, const ent_http_request *req,
                  const uint8_t id[32], const json_t *body,
                  ent_http_response *resp) {
    char err[ENT_OBJ_ERR_MAX] = "";
    uint8_t *data = NULL;
    size_t len = 0;
    ent_op *op = NULL;
    int rc;
    bool sent = json_object_get(body, "content") != NULL;
    const char *path = NULL;
    if (sent && json_object_get(body, "path") != NULL)
        return ent_http_response_error_field(
            resp, 400, ENT_EINVAL, "path",
            "give \"path\" or \"content\", not both");
    if (!sent) {
        path = str_member(body, "path", 4096, true, resp, &rc);
        if (rc != ENT_OK || (rc = only_local(req, resp)) != ENT_OK)
            return rc;
    }
    const char *name =
        str_member(body, "name", ENT_OP_FILE_NAME_MAX, sent, resp, &rc);
    if (rc != ENT_OK)
        return rc;
    if (name == NULL) {
        name = strrchr(path, '/');
        name = name ? name + 1 : path;
    }
    if (sent)
        rc = content_member(body, &data, &len, resp);
    else
        rc = read_file(path, &data, &len, err, sizeof(err));
    if (sent && rc != ENT_OK)
        return rc;
    if (rc == ENT_OK)
        rc = ent_obj_attach(ent_node_objects(n), id, name, data, len, &op, err,
                            sizeof(err));
    free(data);
    if (rc != ENT_OK)
        return ent_http_response_error_field(
            resp, rc == ENT_EINVAL ? 400 : ent_api_error_status(rc), rc,
            rc == ENT_EINVAL ? "name" : NULL, "%s",
            err[0] ? err : ent_strerror(rc));
    ent_node_op_created(n, op);
    ent_obj_attachment *v = NULL;
    size_t nv = 0;
    json_t *o = NULL;
    if (ent_obj_attachments(ent_node_objects(n), id, &v, &nv) == ENT_OK)
        for (size_t i = 0; i < nv; i++)
            if (strcmp(v[i].name, name) == 0) {
                json_decref(o);
                o = att_json(&v[i]);
            }
    free(v);
    if (o == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, o);
    return ENT_OK;
}

static int fetch(ent_node *n, const uint8_t id[32], const json_t *body,
                 ent_http_response *resp) {
    int rc;
    size_t have = 0, total = 0;
    const char *name =
        str_member(body, "name", ENT_OP_FILE_NAME_MAX, true, resp, &rc);
    if (rc != ENT_OK)
        return rc;
    ent_peers *p = ent_node_peers(n);
    if (p != NULL) {
        rc = ent_peers_fetch(p, id, name, &have, &total);
    } else { /* no peer layer: what is here */
        uint8_t h[32];
        rc = ent_obj_attachment_missing(ent_node_objects(n), id, name, h, 1,
                                        &have, &total);
        ent_obj_attachment *v = NULL;
        size_t nv = 0;
        if (rc == ENT_OK &&
            ent_obj_attachments(ent_node_objects(n), id, &v, &nv) == ENT_OK)
            for (size_t i = 0; i < nv; i++)
                if (strcmp(v[i].name, name) == 0) {
                    have = v[i].have;
                    total = v[i].nchunks;
                }
        free(v);
    }
    if (rc != ENT_OK)
        return ent_http_response_error_field(
            resp, ent_api_error_status(rc), rc, "name", "%s",
            rc == ENT_ENOENT ? "no attachment of that name" : ent_strerror(rc));
    json_t *o = json_pack("{s:s,s:I,s:I,s:b}", "name", name, "chunks",
                          (json_int_t)total, "have", (json_int_t)have,
                          "complete", have == total);
    if (o == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, o);
    return ENT_OK;
}

static int save(ent_node *n, const ent_http_request *req, const uint8_t id[32],
                const json_t *body, ent_http_response *resp) {
    int rc;
    uint8_t *data = NULL, h[32];
    size_t len = 0;
    const char *name =
        str_member(body, "name", ENT_OP_FILE_NAME_MAX, true, resp, &rc);
    if (rc != ENT_OK)
        return rc;
    const char *out = str_member(body, "out", 4096, true, resp, &rc);
    if (rc != ENT_OK || (rc = only_local(req, resp)) != ENT_OK)
        return rc;
    rc = ent_obj_attachment_read(ent_node_objects(n), id, name, &data, &len);
    if (rc != ENT_OK)
        return read_error(resp, rc);
    int err = 0; /* whole or not at all (node/wholefile.h) */
    if (ent_wholefile_write(out, data, len) != ENT_OK)
        err = errno ? errno : EIO;
    ent_hash(h, data, len);
    free(data);
    if (err != 0)
        return ent_http_response_error_field(resp, 500, ENT_EIO, "out",
                                             "%s: %s", out, strerror(err));
    char hex[65];
    ent_hex_encode(hex, h, 32);
    json_t *o = json_pack("{s:s,s:I,s:s,s:s}", "name", name, "size",
                          (json_int_t)len, "hash", hex, "out", out);
    if (o == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, o);
    return ENT_OK;
}

/* The latest attachment of body's name, every chunk opened and the file's
 * hash checked, in base64. */
static int read_content(ent_node *n, const uint8_t id[32], const json_t *body,
                        ent_http_response *resp) {
    int rc;
    uint8_t *data = NULL, h[32];
    size_t len = 0;
    char *b64 = NULL, hex[65];
    const char *name =
        str_member(body, "name", ENT_OP_FILE_NAME_MAX, true, resp, &rc);
    if (rc != ENT_OK)
        return rc;
    rc = ent_obj_attachment_read(ent_node_objects(n), id, name, &data, &len);
    if (rc != ENT_OK)
        return read_error(resp, rc);
    ent_hash(h, data, len);
    ent_hex_encode(hex, h, 32);
    json_t *o = NULL;
    if ((b64 = malloc(ENT_BASE64_LEN(len))) != NULL &&
        ent_base64_encode(b64, ENT_BASE64_LEN(len), data, len) == ENT_OK)
        o = json_pack("{s:s,s:I,s:s,s:s}", "name", name, "size",
                      (json_int_t)len, "hash", hex, "content", b64);
    free(data);
    free(b64);
    if (o == NULL)
        return ENT_ENOMEM;
    ent_http_response_json(resp, 200, o);
    return ENT_OK;
}

int ent_api_attachments(ent_node *n, const ent_http_request *req,
                        ent_http_response *resp) {
    uint8_t id[32];
    const char *rest;
    json_t *body = NULL;
    int rc = ent_api_obj_path(req, id, &rest, resp);
    if (rc != ENT_OK)
        return rc;
    if (req->query != NULL && req->query[0] != '\0')
        return ent_http_response_error(resp, 400, ENT_EINVAL,
                                       "no query parameters are accepted here");
    if (strcmp(req->method, "GET") == 0)
        return list(n, id, resp);
    if ((rc = ent_api_body_object(req, resp, &body)) != ENT_OK)
        return rc;
    static const char *const akeys[] = {"path", "name", "content", NULL};
    static const char *const fkeys[] = {"name", NULL};
    static const char *const skeys[] = {"name", "out", NULL};
    if (strcmp(rest, "/attachments") == 0) {
        if ((rc = keys_ok(body, akeys, resp)) == ENT_OK)
            rc = attach(n, req, id, body, resp);
    } else if (strcmp(rest, "/attachments/read") == 0) {
        if ((rc = keys_ok(body, fkeys, resp)) == ENT_OK)
            rc = read_content(n, id, body, resp);
    } else if (strcmp(rest, "/attachments/fetch") == 0) {
        if ((rc = keys_ok(body, fkeys, resp)) == ENT_OK)
            rc = fetch(n, id, body, resp);
    } else if ((rc = keys_ok(body, skeys, resp)) == ENT_OK) {
        rc = save(n, req, id, body, resp);
    }
    json_decref(body);
    return rc;
}
