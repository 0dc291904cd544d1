/*
 * term.h - text from outside, made safe to print on a terminal.
 *
 * Partner org names, comments, field names and values come from other
 * nodes (and addresses, reasons and file names from other places) and end
 * up on a user's terminal. A control character in them would act instead of
 * showing: ESC starts an escape sequence that can clear the screen, move
 * the cursor or retitle the window, BEL rings, CR and BS overwrite what was
 * printed, a C1 CSI (U+009B) is ESC [ on many terminals, a newline forges
 * a line of output, and a bidirectional override (U+202E) reorders what
 * follows it. Every text printer of the command line, and the logger,
 * passes such text through this module, which shows each of them as a
 * visible escape instead:
 *
 *   \n \r \t                       for LF, CR and tab
 *   \xHH                           for other C0 bytes (0x00-0x1f), DEL (0x7f)
 *                                  and every byte that is not valid UTF-8
 *   \u0080 .. \u009f               for the C1 controls (UTF-8 C2 80..C2 9F)
 *   \u2028 \u2029 \u202a..\u202e   line and paragraph separators and the
 *   \u2066..\u2069                 bidirectional embeddings and isolates
 *
 * Everything else (printable UTF-8, backslash included) is kept as is, so
 * ordinary text prints unchanged. A leaf module: it depends on nothing
 * but err.h and the C library.
 */
#ifndef ENT_TERM_H
#define ENT_TERM_H

#include <stddef.h>
#include <stdio.h>

/*
 * The escaped form of the len bytes at s as a new NUL-terminated string in
 * *out; the caller frees it with free().
 * @return ENT_OK or ENT_ENOMEM (*out NULL).
 */
int ent_term_escape(char **out, const char *s, size_t len);

/*
 * Writes as much of the escaped form of the len bytes at s into out (cap
 * bytes, cap >= 1) as fits, never cutting an escape or a UTF-8 character,
 * and NUL-terminates it. Returns the number of bytes written (without the
 * NUL); it is less than the full escaped length when out is too small.
 */
size_t ent_term_escape_buf(char *out, size_t cap, const char *s, size_t len);

/*
 * Writes the NUL-terminated s to f, escaped (s NULL writes nothing).
 * @return ENT_OK or ENT_EIO.
 */
int ent_term_fputs(FILE *f, const char *s);

/*
 * Writes the JSON text json (as a JSON encoder made it: valid UTF-8, C0
 * controls already escaped) to f with every character that ent_term_fputs
 * would escape written as a JSON escape instead ("\u009b", "\u202e",
 * "\u007f"), so --json output on a terminal is as safe as text output and
 * still the same JSON document. Such characters can only stand inside JSON
 * strings, where the escape means the same character.
 * @return ENT_OK or ENT_EIO.
 */
int ent_term_fputs_json(FILE *f, const char *json);

/*
 * The number of terminal columns the len bytes at s take once escaped, one
 * per character (wide characters are counted as one), for aligning columns.
 */
size_t ent_term_width(const char *s, size_t len);

#endif
