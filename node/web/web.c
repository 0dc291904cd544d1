/*
 * web.c - the web page's files embedded at build time (see web.h). The
 * assembler's .incbin puts the bytes of node/web/dist/ into .rodata, so
 * the build needs no generator; the Makefile makes this file's object
 * depend on those files. Paths are relative to the repository root, where
 * make runs the compiler.
 */
#include "node/web/web.h"

#include <string.h>

/* NAME_start .. NAME_end: the bytes of FILE, NUL-terminated for safety */
#define ENT__WEB_EMBED(name, file)                                             \
    __asm__(".pushsection .rodata\n"                                           \
            ".balign 16\n"                                                     \
            ".local ent__web_" #name "_start\n"                                \
            ".local ent__web_" #name "_end\n"                                  \
            "ent__web_" #name "_start:\n"                                      \
            ".incbin \"" file "\"\n"                                           \
            "ent__web_" #name "_end:\n"                                        \
            ".byte 0\n"                                                        \
            ".popsection\n");                                                  \
    extern const unsigned char ent__web_##name##_start[] __asm__(              \
        "ent__web_" #name "_start");                                           \
    extern const unsigned char ent__web_##name##_end[] __asm__(                \
        "ent__web_" #name "_end")

ENT__WEB_EMBED(index, "node/web/dist/index.html");
ENT__WEB_EMBED(js, "node/web/dist/app.js");
ENT__WEB_EMBED(css, "node/web/dist/app.css");

static ent_web_file files[3];

static void files_init(void) {
    if (files[0].path != NULL)
        return;
    files[0] =
        (ent_web_file){"/", "text/html; charset=utf-8", ent__web_index_start,
                       (size_t)(ent__web_index_end - ent__web_index_start)};
    files[1] = (ent_web_file){"/app.js", "text/javascript; charset=utf-8",
                              ent__web_js_start,
                              (size_t)(ent__web_js_end - ent__web_js_start)};
    files[2] = (ent_web_file){"/app.css", "text/css; charset=utf-8",
                              ent__web_css_start,
                              (size_t)(ent__web_css_end - ent__web_css_start)};
}

const ent_web_file *ent_web_files(size_t *n) {
    files_init();
    *n = sizeof(files) / sizeof(files[0]);
    return files;
}

/* The page's views: a reload of one of these answers index.html. */
static const char *const view_prefixes[] = {"/board", "/table",   "/objects/",
                                            "/inbox", "/reports", "/partners",
                                            "/admin", "/login"};

const ent_web_file *ent_web_find(const char *path) {
    size_t n;
    const ent_web_file *f = ent_web_files(&n);
    if (path == NULL || path[0] != '/')
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(path, f[i].path) == 0)
            return &f[i];
    if (strchr(path, '.') != NULL || strlen(path) > 200)
        return NULL;
    for (size_t i = 0; i < sizeof(view_prefixes) / sizeof(view_prefixes[0]);
         i++) {
        size_t pl = strlen(view_prefixes[i]);
        if (strncmp(path, view_prefixes[i], pl) == 0 &&
            (path[pl] == '\0' || path[pl] == '/' ||
             view_prefixes[i][pl - 1] == '/'))
            return &f[0];
    }
    return NULL;
}
