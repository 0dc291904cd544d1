/* term.c - escaping text from outside for the terminal; see term.h. */
#include "node/term.h"
#include "node/err.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PIECE_MAX 8 /* longest piece: "\u202e" (6) or 4 bytes of UTF-8 */

/*
 * Decodes one UTF-8 character at s (n > 0 bytes left): its code point in
 * *cp and its length, or 0 for an invalid sequence (overlong, surrogate,
 * above U+10FFFF, truncated, stray continuation byte).
 */
static size_t utf8_next(const uint8_t *s, size_t n, uint32_t *cp) {
    uint8_t b = s[0];
    size_t need;
    uint32_t c, min;
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xc2 && b <= 0xdf) {
        need = 2;
        c = b & 0x1f;
        min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
        need = 3;
        c = b & 0x0f;
        min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
        need = 4;
        c = b & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return need;
}

/* True for the code points shown as \uHHHH: C1, separators, bidi. */
static bool escaped_cp(uint32_t cp) {
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * The printable form of the character at s (n > 0 bytes left) into piece;
 * returns its length and sets *used to the bytes of s it stands for.
 */
static size_t next_piece(const uint8_t *s, size_t n, size_t *used,
                         char piece[PIECE_MAX]) {
    static const char hex[] = "0123456789abcdef";
    uint32_t cp = 0;
    size_t l = utf8_next(s, n, &cp);
    if (l == 0 || (l == 1 && (cp < 0x20 || cp == 0x7f))) {
        *used = 1;
        if (l == 1 && (cp == '\n' || cp == '\r' || cp == '\t')) {
            piece[0] = '\\';
            piece[1] = cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't';
            return 2;
        }
        piece[0] = '\\';
        piece[1] = 'x';
        piece[2] = hex[s[0] >> 4];
        piece[3] = hex[s[0] & 15];
        return 4;
    }
    *used = l;
    if (escaped_cp(cp)) {
        piece[0] = '\\';
        piece[1] = 'u';
        for (int i = 0; i < 4; i++)
            piece[2 + i] = hex[(cp >> (12 - 4 * i)) & 15];
        return 6;
    }
    memcpy(piece, s, l);
    return l;
}

size_t ent_term_escape_buf(char *out, size_t cap, const char *s, size_t len) {
    const uint8_t *p = (const uint8_t *)s;
    size_t o = 0;
    char piece[PIECE_MAX];
    if (cap == 0)
        return 0;
    for (size_t i = 0; i < len;) {
        size_t used = 0, pl = next_piece(p + i, len - i, &used, piece);
        if (o + pl >= cap)
            break;
        memcpy(out + o, piece, pl);
        o += pl;
        i += used;
    }
    out[o] = '\0';
    return o;
}

int ent_term_escape(char **out, const char *s, size_t len) {
    const uint8_t *p = (const uint8_t *)s;
    char piece[PIECE_MAX];
    size_t total = 0;
    *out = NULL;
    for (size_t i = 0; i < len;) {
        size_t used = 0;
        total += next_piece(p + i, len - i, &used, piece);
        i += used;
    }
    char *buf = malloc(total + 1);
    if (buf == NULL)
        return ENT_ENOMEM;
    ent_term_escape_buf(buf, total + 1, s, len);
    *out = buf;
    return ENT_OK;
}

int ent_term_fputs(FILE *f, const char *s) {
    const uint8_t *p = (const uint8_t *)s;
    char piece[PIECE_MAX];
    size_t len = s != NULL ? strlen(s) : 0;
    for (size_t i = 0; i < len;) {
        size_t used = 0, pl = next_piece(p + i, len - i, &used, piece);
        if (fwrite(piece, 1, pl, f) != pl)
            return ENT_EIO;
        i += used;
    }
    return ENT_OK;
}

int ent_term_fputs_json(FILE *f, const char *json) {
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = (const uint8_t *)json;
    size_t len = json != NULL ? strlen(json) : 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t l = utf8_next(p + i, len - i, &cp);
        if (l == 0 || cp < 0x20) { /* not from a JSON encoder: as text */
            char piece[PIECE_MAX];
            size_t used = 0, pl = next_piece(p + i, len - i, &used, piece);
            if (fwrite(piece, 1, pl, f) != pl)
                return ENT_EIO;
            i += used;
            continue;
        }
        if (cp == 0x7f || escaped_cp(cp)) {
            char e[6] = {'\\', 'u'};
            for (int k = 0; k < 4; k++)
                e[2 + k] = hex[(cp >> (12 - 4 * k)) & 15];
            if (fwrite(e, 1, 6, f) != 6)
                return ENT_EIO;
        } else if (fwrite(p + i, 1, l, f) != l) {
            return ENT_EIO;
        }
        i += l;
    }
    return ENT_OK;
}

size_t ent_term_width(const char *s, size_t len) {
    const uint8_t *p = (const uint8_t *)s;
    char piece[PIECE_MAX];
    size_t w = 0;
    for (size_t i = 0; i < len;) {
        size_t used = 0, pl = next_piece(p + i, len - i, &used, piece);
        /* an escape shows all its bytes; a character takes one column (a
         * lone backslash is a one-byte piece) */
        w += piece[0] == '\\' && pl > 1 ? pl : 1;
        i += used;
    }
    return w;
}
