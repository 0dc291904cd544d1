/*
 * jtext.h - a writer of compact JSON text, byte for byte what jansson's
 * json_dumps(v, JSON_COMPACT) writes for the same value: members in the
 * order they are written (jansson's is insertion order), no spaces, '"',
 * '\\' and the control bytes escaped (\b \f \n \r \t, else \u00XX in
 * capitals), everything else (UTF-8, '/', DEL) as it is. For paths that
 * write JSON without building a jansson value first: the text of the
 * events table (spec/events.md §2). Leaf module: jansson and libc only.
 *
 * A writer starts in the caller's array (or none) and moves to malloc'ed
 * memory when that is full; the first allocation failure is kept in oom
 * and later writes do nothing. The caller frees it with ent_jtext_free()
 * or takes the text with ent_jtext_take().
 */
#ifndef ENT_JTEXT_H
#define ENT_JTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

typedef struct ent_jtext {
    char *p;         /* the text so far, len bytes (no NUL until taken) */
    size_t len, cap; /* cap - len > 0: room for a NUL is always kept */
    bool oom;        /* an allocation failed: the text is incomplete */
    bool heap;       /* p is malloc'ed (else the caller's array) */
} ent_jtext;

/* Starts an empty text in arr (cap bytes, may be 0 with arr NULL). */
void ent_jtext_init(ent_jtext *t, char *arr, size_t cap);

/* Frees what t allocated (not the caller's array). Accepts NULL. */
void ent_jtext_free(ent_jtext *t);

/*
 * The text, NUL-terminated and malloc'ed (the caller frees it), t emptied;
 * NULL when an allocation failed (t freed then too).
 */
char *ent_jtext_take(ent_jtext *t);

/* Makes room for n more bytes (and a NUL); false (t->oom) on no memory. */
bool ent__jtext_grow(ent_jtext *t, size_t n);

static inline bool ent_jtext_room(ent_jtext *t, size_t n) {
    return t->cap - t->len > n || ent__jtext_grow(t, n);
}

/* Appends n bytes of JSON text as they are (punctuation, a literal). */
static inline void ent_jtext_raw(ent_jtext *t, const char *s, size_t n) {
    if (!ent_jtext_room(t, n))
        return;
    memcpy(t->p + t->len, s, n);
    t->len += n;
}

#define ENT_JTEXT_LIT(t, lit) ent_jtext_raw((t), (lit), sizeof(lit) - 1)

/* The n bytes at s as a JSON string; s must be valid UTF-8 (jansson
 * refuses to make a string of anything else), NULs allowed. */
void ent_jtext_str(ent_jtext *t, const char *s, size_t n);

/* v as a JSON integer ("%" JSON_INTEGER_FORMAT). */
void ent_jtext_int(ent_jtext *t, int64_t v);

/* The n bytes at b as a string of 2n lower-case hex digits. */
void ent_jtext_hex(ent_jtext *t, const uint8_t *b, size_t n);

/* "name": with a ',' before it unless *first (which it clears); name
 * must be valid UTF-8. */
void ent_jtext_key(ent_jtext *t, bool *first, const char *name);

/* v, any JSON value, as json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)
 * writes it (reals by jansson itself); more than 1,000 levels deep is
 * refused as t->oom. */
void ent_jtext_value(ent_jtext *t, const json_t *v);

#endif
