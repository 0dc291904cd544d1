/*
 * cbor.h - deterministic CBOR (RFC 8949 §4.2) for signed records.
 *
 * Three small pieces, none of which hands outside bytes to libcbor's
 * allocating decoder (spec/records.md, "CBOR profile"):
 *
 *   ent_cbor_check   a bounded, non-allocating, non-recursive walker that
 *                    accepts exactly the deterministic profile (definite
 *                    lengths, shortest heads, no floats, no tags, only
 *                    false/true/null as simple values, map keys unique and
 *                    sorted bytewise by encoding, valid UTF-8 text, no
 *                    trailing bytes) within caller-given limits;
 *   ent_cbor_reader  a typed cursor over bytes that passed the check; every
 *                    pointer it hands out borrows the caller's buffer;
 *   ent_cbor_writer  a "size first, then write" encoder whose item heads
 *                    come from libcbor's encoding.h (always shortest form).
 *
 * The profile is stricter than RFC 8949 §4.2.1 only in what it refuses
 * (floats, tags, simple values other than false/true/null).
 */
#ifndef ENT_CBOR_H
#define ENT_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Hard cap on nesting, whatever the limits say: the walker's stack lives on
 * the C stack and holds this many frames. */
#define ENT_CBOR_DEPTH_CAP 32

/* CBOR major types as returned by ent_cbor_peek(). */
enum {
    ENT_CBOR_UINT = 0,
    ENT_CBOR_NEGINT = 1,
    ENT_CBOR_BYTES = 2,
    ENT_CBOR_TEXT = 3,
    ENT_CBOR_ARRAY = 4,
    ENT_CBOR_MAP = 5,
    ENT_CBOR_TAG = 6,
    ENT_CBOR_SIMPLE = 7,
};

typedef struct ent_cbor_limits {
    size_t max_depth; /* nesting of arrays/maps; a lone scalar is depth 0, [x]
                         is depth 1; values above ENT_CBOR_DEPTH_CAP are
                         clamped to it */
    size_t max_items; /* entries of one array, or pairs of one map */
    size_t max_total; /* data items in the whole encoding (every key, value,
                         element and container counts one) */
    size_t max_str;   /* bytes of one byte or text string */
    size_t max_size;  /* bytes of the whole encoding */
} ent_cbor_limits;

/* Limits used when NULL is passed: depth 16, 1024 items per container,
 * 65536 items in total, strings up to 64 KiB, 1 MiB overall. */
void ent_cbor_limits_default(ent_cbor_limits *lim);

/*
 * Checks that buf[0..len) is exactly one data item in the deterministic
 * profile, within lim (NULL: defaults). Never allocates; runs in time
 * linear in len; a length prefix is compared with the limits and with the
 * bytes that remain before anything else happens.
 * @return ENT_OK,
 *         ENT_ENONCANON (not the deterministic profile: long-form head,
 *           indefinite length, unsorted or duplicate map key, float, tag,
 *           undefined or other simple value),
 *         ENT_ETRUNCATED (the input ends inside an item, or a container or
 *           string claims more than the bytes that remain),
 *         ENT_ETOOBIG (a limit is exceeded),
 *         ENT_ECORRUPT (ill-formed: reserved additional information, stray
 *           break, invalid UTF-8, trailing bytes after the item, empty input
 *           is ENT_ETRUNCATED).
 */
int ent_cbor_check(const uint8_t *buf, size_t len, const ent_cbor_limits *lim);

/* True if s[0..n) is valid UTF-8 (RFC 3629: no overlong forms, surrogates
 * or code points above U+10FFFF). */
bool ent_cbor_utf8_valid(const void *s, size_t n);

/* ---------------------------------------------------------------- reader */

/*
 * A cursor over one encoding. Each read consumes one item of the expected
 * type or fails without moving (pos is unchanged on error). Reads check
 * bounds and shortest-form heads themselves, so a reader over unchecked
 * bytes cannot overrun, but map order, UTF-8 and limits are only guaranteed
 * after ent_cbor_check() passed on the same bytes.
 */
typedef struct ent_cbor_reader {
    const uint8_t *buf; /* borrowed */
    size_t len;
    size_t pos;
} ent_cbor_reader;

void ent_cbor_reader_init(ent_cbor_reader *r, const uint8_t *buf, size_t len);

/* Major type (ENT_CBOR_*) of the next item, or a negative error
 * (ENT_ETRUNCATED at the end). */
int ent_cbor_peek(const ent_cbor_reader *r);

/* True if the next item is null. */
bool ent_cbor_peek_null(const ent_cbor_reader *r);

/* Errors of every read: ENT_ETRUNCATED, ENT_ENONCANON (long-form head),
 * ENT_ECORRUPT (another type than expected, or a value out of range). */
int ent_cbor_read_uint(ent_cbor_reader *r, uint64_t *v);
/* Major type 0 or 1 within int64_t. */
int ent_cbor_read_int(ent_cbor_reader *r, int64_t *v);
/* Major type 1 as its raw argument n: the value is -1 - n (covers -2^64). */
int ent_cbor_read_negint(ent_cbor_reader *r, uint64_t *n);
int ent_cbor_read_bool(ent_cbor_reader *r, bool *v);
int ent_cbor_read_null(ent_cbor_reader *r);
/* *p borrows r->buf (valid as long as the buffer). */
int ent_cbor_read_bytes(ent_cbor_reader *r, const uint8_t **p, size_t *n);
/* A byte string of exactly n bytes copied into out. */
int ent_cbor_read_bytes_exact(ent_cbor_reader *r, uint8_t *out, size_t n);
/* *s borrows r->buf and is NOT NUL-terminated. */
int ent_cbor_read_text(ent_cbor_reader *r, const char **s, size_t *n);
/* Array or map head: *n entries (pairs for a map) follow. */
int ent_cbor_read_array(ent_cbor_reader *r, size_t *n);
int ent_cbor_read_map(ent_cbor_reader *r, size_t *n);
/* Skips one whole item without recursion. */
int ent_cbor_skip(ent_cbor_reader *r);
/* ENT_OK if every byte was consumed, else ENT_ECORRUPT. */
int ent_cbor_read_end(const ent_cbor_reader *r);

/* ---------------------------------------------------------------- writer */

/*
 * A writer with a sticky error. Initialised with buf == NULL it only counts
 * bytes (the "size" pass); with a buffer it writes and fails with
 * ENT_ETOOBIG once cap would be exceeded. The caller supplies arrays and
 * maps in the right order: for a map, keys sorted bytewise by encoding.
 */
typedef struct ent_cbor_writer {
    uint8_t *buf; /* borrowed; NULL: count only */
    size_t cap;
    size_t len; /* bytes written (or counted) so far */
    int err;    /* first error, ENT_OK while none */
} ent_cbor_writer;

void ent_cbor_writer_init(ent_cbor_writer *w, uint8_t *buf, size_t cap);
void ent_cbor_write_uint(ent_cbor_writer *w, uint64_t v);
void ent_cbor_write_int(ent_cbor_writer *w, int64_t v);
/* Writes the negative integer -1 - n. */
void ent_cbor_write_negint(ent_cbor_writer *w, uint64_t n);
void ent_cbor_write_bool(ent_cbor_writer *w, bool v);
void ent_cbor_write_null(ent_cbor_writer *w);
void ent_cbor_write_bytes(ent_cbor_writer *w, const void *p, size_t n);
/* Writes the head of an n-byte byte string and returns where its n bytes
 * go (NULL in the size pass or on error); the caller fills them. */
uint8_t *ent_cbor_write_bytes_reserve(ent_cbor_writer *w, size_t n);
/* Fails with ENT_EINVAL unless s[0..n) is valid UTF-8. */
void ent_cbor_write_text(ent_cbor_writer *w, const char *s, size_t n);
void ent_cbor_write_array(ent_cbor_writer *w, size_t n);
void ent_cbor_write_map(ent_cbor_writer *w, size_t n);
/* Copies an already encoded item verbatim. */
void ent_cbor_write_raw(ent_cbor_writer *w, const void *p, size_t n);
/* Records err (negative) as the writer's error unless one is already set;
 * used by emitters that validate what they write. */
void ent_cbor_writer_fail(ent_cbor_writer *w, int err);

/*
 * Runs emit(w, data) twice, once to size and once to write into a fresh
 * malloc'ed buffer of exactly that size. On ENT_OK the caller frees *out
 * with free(). Fails with emit's sticky error, ENT_ETOOBIG above max bytes,
 * or ENT_ENOMEM.
 */
int ent_cbor_encode(uint8_t **out, size_t *len, size_t max,
                    void (*emit)(ent_cbor_writer *w, const void *data),
                    const void *data);

#endif
