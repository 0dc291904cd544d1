/*
 * api_session.c - the session cookie, CSRF and origin checks of the TCP
 * API; see api_session.h and spec/access.md §2.3.
 */
#include "node/api/api_session.h"
#include "crypto/crypto.h"
#include "node/err.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool cookie_octet(unsigned char c) {
    return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' &&
           c != '\\';
}

int ent_api_cookie_parse(const char *hdr, const char *name, char *out,
                         size_t cap) {
    size_t nl = strlen(name);
    int rc = ENT_ENOENT;
    if (cap > 0)
        out[0] = '\0';
    for (const char *p = hdr; *p != '\0';) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t l = strcspn(p, ";");
        size_t e = l;
        while (e > 0 && (p[e - 1] == ' ' || p[e - 1] == '\t'))
            e--;
        const char *eq = memchr(p, '=', e);
        if (e > 0 && eq == NULL)
            return ENT_EPROTO;
        if (eq != NULL && (size_t)(eq - p) == nl && memcmp(p, name, nl) == 0) {
            const char *v = eq + 1;
            size_t vl = e - nl - 1;
            if (rc == ENT_OK || vl == 0)
                return ENT_EPROTO;
            if (vl >= cap)
                return ENT_ETOOBIG;
            for (size_t i = 0; i < vl; i++)
                if (!cookie_octet((unsigned char)v[i]))
                    return ENT_EPROTO;
            memcpy(out, v, vl);
            out[vl] = '\0';
            rc = ENT_OK;
        }
        p += l;
        if (*p == ';')
            p++;
    }
    return rc;
}

int ent_api_session_cookie(const ent_http_request *req,
                           char out[ENT_TOKEN_STRLEN + 1]) {
    int rc = ENT_ENOENT;
    char one[ENT_TOKEN_STRLEN + 1];
    out[0] = '\0';
    for (size_t i = 0; i < req->nheaders; i++) {
        const ent_http_header *h = &req->headers[i];
        if (h->name == NULL || strcmp(h->name, "cookie") != 0)
            continue;
        int r = ent_api_cookie_parse(h->value != NULL ? h->value : "",
                                     ENT_SESSION_COOKIE, one, sizeof(one));
        if (r == ENT_ENOENT)
            continue;
        if (r != ENT_OK || rc == ENT_OK) {
            rc = r != ENT_OK ? r : ENT_EPROTO;
            break;
        }
        memcpy(out, one, sizeof(one));
        rc = ENT_OK;
    }
    ent_wipe(one, sizeof(one));
    if (rc != ENT_OK)
        ent_wipe(out, ENT_TOKEN_STRLEN + 1);
    return rc;
}

bool ent_api_same_origin(const ent_http_request *req, bool tls) {
    const char *site = ent_http_request_header(req, "sec-fetch-site");
    const char *origin = ent_http_request_header(req, "origin");
    const char *host = ent_http_request_header(req, "host");
    if (site != NULL && strcmp(site, "same-origin") != 0 &&
        strcmp(site, "none") != 0)
        return false;
    if (origin == NULL)
        return true;
    const char *scheme = tls ? "https://" : "http://";
    size_t sl = strlen(scheme);
    if (host == NULL || host[0] == '\0' || strncasecmp(origin, scheme, sl) != 0)
        return false;
    return strcasecmp(origin + sl, host) == 0;
}

bool ent_api_method_unsafe(const char *method) {
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
           strcmp(method, "OPTIONS") != 0;
}

int ent_api_csrf_check(const ent_http_request *req, const char *session) {
    char want[ENT_CSRF_STRLEN + 1];
    int rc = ENT_EDENIED;
    if (!ent_api_method_unsafe(req->method))
        return ENT_OK;
    const char *got = ent_http_request_header(req, ENT_CSRF_HEADER);
    if (got == NULL || strlen(got) != ENT_CSRF_STRLEN)
        return ENT_EDENIED;
    ent_access_session_csrf(session, want);
    if (ent_memeq(want, got, ENT_CSRF_STRLEN))
        rc = ENT_OK;
    ent_wipe(want, sizeof(want));
    return rc;
}

void ent_api_session_set_cookie(ent_http_response *resp, const char *token,
                                unsigned max_age_s, bool tls) {
    snprintf(resp->set_cookie, sizeof(resp->set_cookie),
             "%s=%s; Path=/; Max-Age=%u; HttpOnly; SameSite=Strict%s",
             ENT_SESSION_COOKIE, token != NULL ? token : "",
             token != NULL ? max_age_s : 0, tls ? "; Secure" : "");
}
