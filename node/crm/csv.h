/*
 * csv.h - a streaming, bounded CSV reader over libcsv, and a CSV writer.
 *
 * Reads CSV as RFC 4180 describes it and as CRMs really write it: an
 * optional UTF-8 byte order mark, CRLF, LF or CR line ends, quoted cells with
 * embedded separators, quotes ("") and newlines, and ',' or ';' (European
 * locales) or tab as the separator, detected from the header line unless
 * given. The parsing itself is libcsv's (strict mode); this module feeds it,
 * keeps the position (physical line, column), and enforces the bounds and
 * the text rules below before anything reaches a caller. Records come out
 * one at a time (pull), so a file of any length is read in bounded memory.
 *
 * Refused, each with an error that names the file, the line and the column
 * (ent_csv_error(): "deals.csv: line 12, column 3: invalid UTF-8"):
 *   - a quote that is never closed (the file ends inside a quoted cell),
 *     or a stray quote inside an unquoted cell / text after a closing one;
 *   - a cell longer than limits.max_cell bytes, a record of more than
 *     limits.max_cols cells, a physical line longer than limits.max_line
 *     bytes, a record longer than limits.max_record bytes;
 *   - a cell that is not valid UTF-8 (overlong forms, surrogates, code
 *     points above U+10FFFF), or that holds a NUL byte;
 *   - a file that ends in the middle of a record (no line end after the
 *     last record is fine; an open quote is not);
 *   - a read error of the file.
 * After the first error the reader is done: every later ent_csv_next()
 * returns the same error. Lines and columns count from 1 (a line ends at
 * LF, CRLF or a lone CR, inside quotes too); a column is the
 * cell's position in its record (not a byte offset); the line of a record
 * is the physical line it starts on (a quoted newline makes a record span
 * several lines, ent_csv_row.line_end says the last one).
 *
 * Empty lines are skipped (libcsv gives no record for them). Spaces and
 * tabs around an unquoted cell are kept as they are (CRM values such as
 * " Inc." are data); a quoted cell is exactly what stands between its
 * quotes.
 *
 * This header is the stable interface the account import (node/overlap/)
 * shares with the CRM import; spec/crm.md §1 specifies the behaviour.
 * Not thread-safe: one reader per thread.
 */
#ifndef ENT_CSV_H
#define ENT_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ENT_CSV_MAX_CELL (64u * 1024)         /* default bytes of one cell */
#define ENT_CSV_MAX_COLS 1024u                /* default cells of a record */
#define ENT_CSV_MAX_LINE (1024u * 1024)       /* default bytes of a line */
#define ENT_CSV_MAX_RECORD (4u * 1024 * 1024) /* default bytes of a record */
#define ENT_CSV_ERR_MAX 512                   /* bytes of an error message */

typedef struct ent_csv ent_csv;

/* Bounds of one reader; a 0 field takes the default above. */
typedef struct ent_csv_limits {
    size_t max_cell;   /* bytes of one cell, after unquoting */
    size_t max_cols;   /* cells of one record */
    size_t max_line;   /* bytes of one physical line, its end excluded */
    size_t max_record; /* bytes of one record, line ends included */
} ent_csv_limits;

/* Options of a reader; zeroed: auto-detected separator, default limits. */
typedef struct ent_csv_opts {
    /* ',', ';' or '\t'; 0: detect from the first line (the one of ',', ';'
     * and tab that occurs most often outside quotes; ',' when none does) */
    char sep;
    ent_csv_limits limits;
} ent_csv_opts;

/* One record. Pointers are borrowed from the reader and valid until the
 * next ent_csv_next() or ent_csv_free(). Every cell is NUL-terminated
 * (its bytes hold no NUL) and valid UTF-8. */
typedef struct ent_csv_row {
    size_t ncols;
    const char *const *cells; /* ncols cells */
    const size_t *lens;       /* their lengths in bytes */
    unsigned long line;       /* physical line the record starts on */
    unsigned long line_end;   /* physical line it ends on */
    unsigned long index;      /* 1 for the first record (the header) */
} ent_csv_row;

/*
 * Opens the file at path for reading. name is what errors call the file
 * (NULL: path); it is copied. opts may be NULL. Free *out with
 * ent_csv_free().
 * @return ENT_OK, ENT_EINVAL (bad separator or NULL path), ENT_ENOENT,
 *         ENT_EPERM, ENT_EIO, ENT_ENOMEM. On failure *out is NULL; errors
 *         of opening the file are returned, not kept.
 */
int ent_csv_open_file(ent_csv **out, const char *path, const char *name,
                      const ent_csv_opts *opts);

/*
 * A reader over a FILE the caller opened (e.g. stdin); f is borrowed and
 * not closed by ent_csv_free(). @return as ent_csv_open_file.
 */
int ent_csv_open_stream(ent_csv **out, FILE *f, const char *name,
                        const ent_csv_opts *opts);

/*
 * A reader over len bytes at buf, borrowed until ent_csv_free().
 * @return ENT_OK, ENT_EINVAL, ENT_ENOMEM.
 */
int ent_csv_open_mem(ent_csv **out, const uint8_t *buf, size_t len,
                     const char *name, const ent_csv_opts *opts);

/*
 * The next record into *row.
 * @return ENT_OK (a record), ENT_ENOENT (the end of the file, no record),
 *         or an error: ENT_ECORRUPT (quoting, invalid UTF-8, NUL, a file
 *         ending mid-record), ENT_ETOOBIG (cell, line or record too long),
 *         ENT_ELIMIT (too many columns), ENT_EIO (read error), ENT_ENOMEM;
 *         ent_csv_error() says what and where.
 */
int ent_csv_next(ent_csv *c, ent_csv_row *row);

/*
 * The message of the reader's error ("FILE: line L, column C: reason"),
 * "" when there is none. Borrowed until ent_csv_free().
 */
const char *ent_csv_error(const ent_csv *c);

/* Where the reader's error is (0 when there is none or it has no column). */
void ent_csv_error_pos(const ent_csv *c, unsigned long *line,
                       unsigned long *column);

/* The separator in use (detected once the first line has been read). */
char ent_csv_sep(const ent_csv *c);

/* The file name errors use. Borrowed until ent_csv_free(). */
const char *ent_csv_name(const ent_csv *c);

/* Bytes consumed so far (for progress), and the total size when known
 * (a regular file or memory; 0 otherwise). */
void ent_csv_progress(const ent_csv *c, uint64_t *done, uint64_t *total);

/* Closes the file (if the reader opened it) and frees c. Accepts NULL. */
void ent_csv_free(ent_csv *c);

/*
 * Writes one record of n cells (lens[i] bytes at cells[i]; lens NULL:
 * NUL-terminated) to f, separated by sep, ended by CRLF (RFC 4180). A cell
 * is quoted (libcsv's csv_fwrite2, quotes doubled) when it holds sep, a
 * quote, CR or LF, or starts or ends with a space or tab; other cells are
 * written as they are. A cell a spreadsheet would run as a formula gets
 * one apostrophe in front (node/csvcell.h), which the reader takes away
 * again, so reading the output with this reader gives back exactly the
 * same cells (a record of one empty cell is written as "", since an empty
 * line is no record).
 * @return ENT_OK, ENT_EIO or ENT_ENOMEM.
 */
int ent_csv_write_row(FILE *f, char sep, const char *const *cells,
                      const size_t *lens, size_t n);

#endif
