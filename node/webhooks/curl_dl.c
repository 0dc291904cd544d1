/*
 * curl_dl.c - libcurl loaded on first use (curl_dl.h).
 */
#include "node/webhooks/curl_dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define CURL_SONAME "libcurl.so.4"

static ent_curl table;
static const ent_curl *loaded;
static char failure[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Each function of the table: its name in libcurl, its slot. */
#define SYM(f)                                                                 \
    { "curl_" #f, offsetof(ent_curl, f) }
static const struct {
    const char *name;
    size_t off;
} syms[] = {
    SYM(global_init),
    SYM(global_cleanup),
    SYM(easy_init),
    SYM(easy_setopt),
    SYM(easy_getinfo),
    SYM(easy_cleanup),
    SYM(easy_strerror),
    SYM(multi_init),
    SYM(multi_setopt),
    SYM(multi_add_handle),
    SYM(multi_remove_handle),
    SYM(multi_socket_action),
    SYM(multi_assign),
    SYM(multi_info_read),
    SYM(multi_cleanup),
    SYM(slist_append),
    SYM(slist_free_all),
    SYM(url),
    SYM(url_set),
    SYM(url_get),
    SYM(url_cleanup),
    SYM(free),
};
#undef SYM

static void load(void) {
    void *lib = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        const char *why = dlerror();
        snprintf(failure, sizeof(failure),
                 "cannot load %s, which webhooks need (Debian package "
                 "libcurl4): %s",
                 CURL_SONAME, why != NULL ? why : "not found");
        return;
    }
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        void *p = dlsym(lib, syms[i].name);
        if (p == NULL) {
            snprintf(failure, sizeof(failure),
                     "%s has no %s (libcurl too old?)", CURL_SONAME,
                     syms[i].name);
            dlclose(lib);
            return;
        }
        /* POSIX: a function pointer and void * have the same
         * representation */
        memcpy((char *)&table + syms[i].off, &p, sizeof(p));
    }
    loaded = &table;
}

const ent_curl *ent_curl_get(char *err, size_t errcap) {
    pthread_once(&once, load);
    if (loaded == NULL && err != NULL && errcap > 0)
        snprintf(err, errcap, "%s", failure);
    return loaded;
}
