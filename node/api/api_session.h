/*
 * api_session.h - login sessions of the TCP API in HTTP terms
 * (spec/access.md §2.3): the session cookie (reading it from the Cookie
 * headers, writing Set-Cookie), the CSRF token check of state-changing
 * requests and the same-origin check of Origin and Sec-Fetch-Site. Pure
 * functions of a request: tests/api_session_test.c and
 * tests/fuzz/fuzz_api_tcp.c drive them without a node.
 */
#ifndef ENT_API_SESSION_H
#define ENT_API_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "node/access/access.h"
#include "node/api/http.h"

#define ENT_SESSION_COOKIE "ent_session"
#define ENT_CSRF_HEADER "x-csrf-token"

/*
 * The value of cookie name in the Cookie header value hdr
 * ("a=1; name=VALUE; b=2"): pairs split at ';', blanks around them
 * ignored, names compared exactly. A value is 1 to cap - 1 cookie octets
 * (0x21-0x7e but '"', ',', ';', '\'); copied NUL-terminated into out.
 * @return ENT_OK; ENT_ENOENT (absent); ENT_EPROTO (the name twice, an
 *         empty or malformed value, a pair without '='); ENT_ETOOBIG.
 */
int ent_api_cookie_parse(const char *hdr, const char *name, char *out,
                         size_t cap);

/*
 * The session cookie of req over every Cookie header it has (a name given
 * twice, in one header or in two, is ENT_EPROTO: a cookie planted by
 * another site must not pick the session). out holds a token's text.
 * @return as ent_api_cookie_parse.
 */
int ent_api_session_cookie(const ent_http_request *req,
                           char out[ENT_TOKEN_STRLEN + 1]);

/*
 * Whether req may act on a session: true unless Sec-Fetch-Site is present
 * and neither "same-origin" nor "none", or Origin is present and is not
 * "http://HOST" ("https://HOST" when tls) for the request's own Host
 * header (compared ignoring ASCII case; "null" never matches).
 */
bool ent_api_same_origin(const ent_http_request *req, bool tls);

/* Whether the method changes state: anything but GET, HEAD and OPTIONS. */
bool ent_api_method_unsafe(const char *method);

/*
 * Checks the X-CSRF-Token header of req against the session token in
 * constant time. @return ENT_OK (a safe method, or the right token),
 *         ENT_EDENIED (missing or wrong).
 */
int ent_api_csrf_check(const ent_http_request *req, const char *session);

/*
 * Sets resp's Set-Cookie for session token (NULL: the cookie that ends
 * the session, Max-Age=0): ent_session=TOKEN; Path=/; Max-Age=S;
 * HttpOnly; SameSite=Strict, and Secure when tls.
 */
void ent_api_session_set_cookie(ent_http_response *resp, const char *token,
                                unsigned max_age_s, bool tls);

#endif
