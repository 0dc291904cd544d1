/*
 * web.h - the web page's files (spec/web.md), embedded in the binary at
 * build time from node/web/dist/ (the bundle that node/web/build.sh makes
 * with esbuild from node/web/src/ and the npm packages pinned in
 * node/web/package-lock.json). Nothing is read from disk or the network at
 * run time. The TCP API serves them (node/api/api_tcp.c).
 */
#ifndef ENT_WEB_H
#define ENT_WEB_H

#include <stddef.h>

/* One embedded file: its URL path, its Content-Type and its bytes. */
typedef struct ent_web_file {
    const char *path;         /* "/", "/app.js", "/app.css" */
    const char *content_type; /* static */
    const unsigned char *data;
    size_t len;
} ent_web_file;

/*
 * The security headers of every page answer (spec/web.md "Headers"): a
 * Content-Security-Policy that allows scripts, styles and connections to
 * this origin only (no inline script, no eval), no framing, no referrer.
 * Each line ends with CRLF.
 */
#define ENT_WEB_HEADERS                                                        \
    "Content-Security-Policy: default-src 'none'; script-src 'self'; "         \
    "style-src 'self'; img-src 'self' data:; font-src 'self'; "                \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; "                \
    "frame-ancestors 'none'\r\n"                                               \
    "X-Frame-Options: DENY\r\n"                                                \
    "Referrer-Policy: no-referrer\r\n"                                         \
    "Cross-Origin-Opener-Policy: same-origin\r\n"

/*
 * The file served at path (the URL path without query), or NULL. The
 * page's own views ("/board", "/objects/ID", …: a path without a dot
 * under one of the page's view prefixes) answer index.html, so that a
 * reload or a copied address opens the same view. Paths under /v1/ and
 * /metrics are never the page's.
 */
const ent_web_file *ent_web_find(const char *path);

/* Every embedded file, for tests: *n is set to their count. */
const ent_web_file *ent_web_files(size_t *n);

#endif
