/*
 * jtext.c - compact JSON text, as jansson writes it (jtext.h). Strings are
 * copied in runs: the bytes that need no escape are found eight at a
 * time, and a string makes room for itself once (and again only after an
 * escape).
 */
#include "node/jtext.h"

#include <stdlib.h>

void ent_jtext_init(ent_jtext *t, char *arr, size_t cap) {
    t->p = arr;
    t->len = 0;
    t->cap = arr != NULL ? cap : 0;
    t->oom = false;
    t->heap = false;
}

void ent_jtext_free(ent_jtext *t) {
    if (t != NULL && t->heap)
        free(t->p);
    if (t != NULL)
        ent_jtext_init(t, NULL, 0);
}

bool ent__jtext_grow(ent_jtext *t, size_t n) {
    if (t->oom)
        return false;
    size_t cap = t->cap >= 1024 ? t->cap : 1024;
    while (cap - t->len <= n) {
        if (cap > SIZE_MAX / 2) {
            t->oom = true;
            return false;
        }
        cap *= 2;
    }
    char *q = t->heap ? realloc(t->p, cap) : malloc(cap);
    if (q == NULL) {
        t->oom = true;
        return false;
    }
    if (!t->heap && t->len > 0)
        memcpy(q, t->p, t->len);
    t->p = q;
    t->cap = cap;
    t->heap = true;
    return true;
}

char *ent_jtext_take(ent_jtext *t) {
    if (!t->oom && !t->heap)
        ent__jtext_grow(t, t->cap); /* off the caller's array */
    if (t->oom) {
        ent_jtext_free(t);
        return NULL;
    }
    char *s = t->p;
    s[t->len] = '\0';
    ent_jtext_init(t, NULL, 0);
    return s;
}

#define ONES 0x0101010101010101ull
#define HIGH 0x8080808080808080ull

/* True when none of the 8 bytes of w is a control byte, '"' or '\\': the
 * usual "a byte below n" and "a zero byte" tests, which are exact as a
 * whole (a borrow only ever follows a byte that matched). */
static inline bool plain8(uint64_t w) {
    uint64_t q = w ^ (ONES * '"'), s = w ^ (ONES * '\\');
    return ((((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) |
             ((s - ONES) & ~s)) &
            HIGH) == 0;
}

static inline bool plain(unsigned char c) {
    return c >= 0x20 && c != '"' && c != '\\';
}

void ent_jtext_str(ent_jtext *t, const char *s, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    if (n > SIZE_MAX / 2 || !ent_jtext_room(t, n + 2)) /* s as is, quotes */
        return;
    char *o = t->p + t->len;
    size_t i = 0;
    *o++ = '"';
    for (;;) {
        size_t run = i;
        uint64_t w;
        while (n - i >= 8 && (memcpy(&w, s + i, 8), plain8(w)))
            i += 8;
        while (i < n && plain((unsigned char)s[i]))
            i++;
        memcpy(o, s + run, i - run);
        o += i - run;
        if (i == n)
            break;
        unsigned char c = (unsigned char)s[i++];
        t->len = (size_t)(o - t->p);
        if (!ent_jtext_room(t, 6 + (n - i) + 1)) /* this escape, the rest */
            return;
        o = t->p + t->len;
        *o++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *o++ = (char)c;
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        default:
            memcpy(o, "u00", 3);
            o[3] = hex[c >> 4];
            o[4] = hex[c & 15];
            o += 5;
        }
    }
    *o++ = '"';
    t->len = (size_t)(o - t->p);
}

void ent_jtext_int(ent_jtext *t, int64_t v) {
    char d[24];
    size_t i = sizeof(d);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        d[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        d[--i] = '-';
    ent_jtext_raw(t, d + i, sizeof(d) - i);
}

void ent_jtext_hex(ent_jtext *t, const uint8_t *b, size_t n) {
    static const char digits[] = "0123456789abcdef";
    if (n > SIZE_MAX / 4 || !ent_jtext_room(t, 2 * n + 2))
        return;
    char *o = t->p + t->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        *o++ = digits[b[i] >> 4];
        *o++ = digits[b[i] & 15];
    }
    *o++ = '"';
    t->len = (size_t)(o - t->p);
}

void ent_jtext_key(ent_jtext *t, bool *first, const char *name) {
    if (!*first)
        ENT_JTEXT_LIT(t, ",");
    *first = false;
    ent_jtext_str(t, name, strlen(name));
    ENT_JTEXT_LIT(t, ":");
}

static void value(ent_jtext *t, const json_t *v, int depth) {
    if (depth > 1000) { /* far deeper than anything written here */
        t->oom = true;
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        bool first = true;
        ENT_JTEXT_LIT(t, "{");
        for (void *it = json_object_iter((json_t *)v); it != NULL;
             it = json_object_iter_next((json_t *)v, it)) {
            ent_jtext_key(t, &first, json_object_iter_key(it));
            value(t, json_object_iter_value(it), depth + 1);
        }
        ENT_JTEXT_LIT(t, "}");
        return;
    }
    case JSON_ARRAY:
        ENT_JTEXT_LIT(t, "[");
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i > 0)
                ENT_JTEXT_LIT(t, ",");
            value(t, json_array_get(v, i), depth + 1);
        }
        ENT_JTEXT_LIT(t, "]");
        return;
    case JSON_STRING:
        ent_jtext_str(t, json_string_value(v), json_string_length(v));
        return;
    case JSON_INTEGER:
        ent_jtext_int(t, (int64_t)json_integer_value(v));
        return;
    case JSON_TRUE:
        ENT_JTEXT_LIT(t, "true");
        return;
    case JSON_FALSE:
        ENT_JTEXT_LIT(t, "false");
        return;
    case JSON_NULL:
        ENT_JTEXT_LIT(t, "null");
        return;
    default: { /* a real: jansson's own formatting */
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (s == NULL) {
            t->oom = true;
            return;
        }
        ent_jtext_raw(t, s, strlen(s));
        free(s);
    }
    }
}

void ent_jtext_value(ent_jtext *t, const json_t *v) {
    if (v == NULL) {
        t->oom = true;
        return;
    }
    value(t, v, 0);
}
