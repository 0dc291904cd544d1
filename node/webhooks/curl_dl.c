/*
 * curl_dl.c - libcurl loaded on first use (curl_dl.h).
 */
#include "node/webhooks/curl_dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#define CURL_SONAME "libcurl.so.4"

static ent_curl table;
static const ent_curl *loaded;
static char failure[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* One symbol into *slot; false (and failure set) when it is missing. */
static bool sym(void *lib, const char *name, void *slot) {
    void *p = dlsym(lib, name);
    if (p == NULL) {
        snprintf(failure, sizeof(failure), "%s has no %s (libcurl too old?)",
                 CURL_SONAME, name);
        return false;
    }
    /* POSIX: a function pointer and void * have the same representation */
    *(void **)slot = p;
    return true;
}

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
    bool ok = sym(lib, "curl_global_init", &table.global_init) &&
              sym(lib, "curl_global_cleanup", &table.global_cleanup) &&
              sym(lib, "curl_easy_init", &table.easy_init) &&
              sym(lib, "curl_easy_setopt", &table.easy_setopt) &&
              sym(lib, "curl_easy_getinfo", &table.easy_getinfo) &&
              sym(lib, "curl_easy_cleanup", &table.easy_cleanup) &&
              sym(lib, "curl_easy_strerror", &table.easy_strerror) &&
              sym(lib, "curl_multi_init", &table.multi_init) &&
              sym(lib, "curl_multi_setopt", &table.multi_setopt) &&
              sym(lib, "curl_multi_add_handle", &table.multi_add_handle) &&
              sym(lib, "curl_multi_remove_handle",
                  &table.multi_remove_handle) &&
              sym(lib, "curl_multi_socket_action",
                  &table.multi_socket_action) &&
              sym(lib, "curl_multi_assign", &table.multi_assign) &&
              sym(lib, "curl_multi_info_read", &table.multi_info_read) &&
              sym(lib, "curl_multi_cleanup", &table.multi_cleanup) &&
              sym(lib, "curl_slist_append", &table.slist_append) &&
              sym(lib, "curl_slist_free_all", &table.slist_free_all) &&
              sym(lib, "curl_url", &table.url) &&
              sym(lib, "curl_url_set", &table.url_set) &&
              sym(lib, "curl_url_get", &table.url_get) &&
              sym(lib, "curl_url_cleanup", &table.url_cleanup) &&
              sym(lib, "curl_free", &table.free);
    if (!ok) {
        dlclose(lib);
        return;
    }
    loaded = &table;
}

const ent_curl *ent_curl_get(char *err, size_t errcap) {
    pthread_once(&once, load);
    if (loaded == NULL && err != NULL && errcap > 0)
        snprintf(err, errcap, "%s", failure);
    return loaded;
}
