/*
 * curl_dl.h - libcurl, loaded when webhooks first need it (spec/webhooks.md
 * §4.5).
 *
 * Only webhooks use libcurl: the node delivering them (`entente serve`) and
 * the check of a webhook's URL. Linked at build time, libcurl and the 27
 * libraries it pulls in (GnuTLS, Kerberos, LDAP, SSH, RTMP...) were loaded
 * and relocated by every command, `entente --version` included, which never
 * calls it. Loaded with dlopen on first use instead, they cost only the
 * processes that deliver or check a webhook.
 *
 * The table holds the functions of libcurl's documented ABI (soname
 * libcurl.so.4) that webhooks call; the types and constants still come from
 * <curl/curl.h>.
 */
#ifndef ENT_NODE_WEBHOOKS_CURL_DL_H
#define ENT_NODE_WEBHOOKS_CURL_DL_H

#include <curl/curl.h>

#include <stddef.h>

typedef struct ent_curl {
    CURLcode (*global_init)(long flags);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *e, CURLoption o, ...);
    CURLcode (*easy_getinfo)(CURL *e, CURLINFO i, ...);
    void (*easy_cleanup)(CURL *e);
    const char *(*easy_strerror)(CURLcode c);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_setopt)(CURLM *m, CURLMoption o, ...);
    CURLMcode (*multi_add_handle)(CURLM *m, CURL *e);
    CURLMcode (*multi_remove_handle)(CURLM *m, CURL *e);
    CURLMcode (*multi_socket_action)(CURLM *m, curl_socket_t s, int ev,
                                     int *running);
    CURLMcode (*multi_assign)(CURLM *m, curl_socket_t s, void *p);
    CURLMsg *(*multi_info_read)(CURLM *m, int *left);
    CURLMcode (*multi_cleanup)(CURLM *m);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
    CURLU *(*url)(void);
    CURLUcode (*url_set)(CURLU *u, CURLUPart p, const char *s,
                         unsigned int flags);
    CURLUcode (*url_get)(const CURLU *u, CURLUPart p, char **s,
                         unsigned int flags);
    void (*url_cleanup)(CURLU *u);
    void (*free)(void *p);
} ent_curl;

/*
 * libcurl's functions, loaded on the first call (thread-safe; the library
 * stays loaded for the life of the process). NULL when it cannot be
 * loaded: then err (if not NULL) says why, naming the file and the Debian
 * package that has it.
 */
const ent_curl *ent_curl_get(char *err, size_t errcap);

#endif
