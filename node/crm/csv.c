/*
 * csv.c - the streaming CSV reader and writer of csv.h, over libcsv.
 *
 * libcsv does the parsing; it knows nothing of lines, so the input is fed
 * to it in segments that end at a line feed (or earlier, when a line is
 * longer than the read buffer): every callback libcsv makes during one
 * segment belongs to that segment's physical line. A record starts on the
 * line of the first segment fed while no record was open. Cells are copied
 * into an arena as libcsv completes them; a record completed by a segment
 * is queued and handed out by ent_csv_next().
 */
#include "node/crm/csv.h"

#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "node/csvcell.h"
#include "node/err.h"
#include "protocol/cbor.h"

#define CSV_BUF 65536

/* A cell in the arena: its bytes start at off (NUL-terminated). */
typedef struct cell {
    size_t off, len;
} cell;

/* A completed record: cells [first, first + n). */
typedef struct rec {
    size_t first, n;
    unsigned long line, line_end;
} rec;

struct ent_csv {
    struct csv_parser p;
    bool p_ready;
    char name[256];
    char sep;
    ent_csv_limits lim;
    /* input */
    FILE *f;
    bool own_f;
    const uint8_t *mem;
    size_t memlen;
    uint8_t *buf; /* CSV_BUF bytes when reading a FILE */
    const uint8_t *in;
    size_t inlen, inpos; /* the bytes at hand, and how far fed */
    bool eof, finished, bom_checked, sep_known;
    bool after_cr; /* the last segment ended with a CR and the bytes read */
    uint64_t done, total;
    /* position */
    unsigned long line;      /* physical line of the next byte */
    size_t line_bytes;       /* bytes of that line fed so far */
    bool in_record;          /* a record is open */
    unsigned long rec_line;  /* line it started on */
    unsigned long cell_line; /* line the open cell started on */
    size_t rec_bytes;        /* bytes fed since it started */
    unsigned long nrecords;  /* records completed */
    /* arena */
    char *bytes;
    size_t nbytes, capbytes;
    cell *cells;
    size_t ncells, capcells;
    size_t cur_first; /* first cell of the open record */
    rec *recs;
    size_t nrecs, caprecs, qpos;
    /* the row handed out */
    const char **ptrs;
    size_t *lens;
    size_t capptrs, caplens;
    /* error */
    int err;
    unsigned long err_line, err_col;
    char errmsg[ENT_CSV_ERR_MAX];
};

static int no_space(unsigned char c) {
    (void)c;
    return 0;
}

/* Records the first error: "NAME: line L, column C: reason". */
static void fail(ent_csv *c, int err, unsigned long line, unsigned long col,
                 const char *fmt, ...) {
    char why[200];
    va_list ap;
    if (c->err != ENT_OK)
        return;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    c->err = err;
    c->err_line = line;
    c->err_col = col;
    if (col > 0)
        snprintf(c->errmsg, sizeof(c->errmsg),
                 "%.250s: line %lu, column %lu: %s", c->name, line, col, why);
    else if (line > 0)
        snprintf(c->errmsg, sizeof(c->errmsg), "%.250s: line %lu: %s", c->name,
                 line, why);
    else
        snprintf(c->errmsg, sizeof(c->errmsg), "%.250s: %s", c->name, why);
}

static int grow(void **p, size_t *cap, size_t need, size_t size) {
    size_t n = *cap ? *cap : 16;
    void *q;
    if (need <= *cap)
        return ENT_OK;
    while (n < need)
        n *= 2;
    q = realloc(*p, n * size);
    if (q == NULL)
        return ENT_ENOMEM;
    *p = q;
    *cap = n;
    return ENT_OK;
}

/* Column of the cell being parsed now: cells of the open record + 1. */
static unsigned long cur_col(const ent_csv *c) {
    return (unsigned long)(c->ncells - c->cur_first) + 1;
}

/* Offset of the first byte of s that does not start a valid UTF-8
 * character (len if there is none). */
static size_t utf8_bad_at(const char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint8_t b = (uint8_t)s[i];
        size_t n = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
        if (n > len - i || !ent_cbor_utf8_valid(s + i, n))
            return i;
        i += n;
    }
    return len;
}

static void on_cell(void *s, size_t len, void *data) {
    ent_csv *c = data;
    const char *b = s ? s : "";
    unsigned long col = cur_col(c);
    const char *nul;
    if (c->err != ENT_OK)
        return;
    if (c->ncells - c->cur_first >= c->lim.max_cols) {
        fail(c, ENT_ELIMIT, c->rec_line, col,
             "more than %zu columns in one record", c->lim.max_cols);
        return;
    }
    b = ent_csv_unguard(b, &len); /* the apostrophe our writer put */
    if (len > c->lim.max_cell) {
        fail(c, ENT_ETOOBIG, c->cell_line, col, "cell longer than %zu bytes",
             c->lim.max_cell);
        return;
    }
    nul = memchr(b, 0, len);
    if (nul != NULL || !ent_cbor_utf8_valid(b, len)) {
        size_t at = nul ? (size_t)(nul - b) : utf8_bad_at(b, len);
        unsigned long l = c->cell_line;
        for (size_t i = 0; i < at; i++)
            if (b[i] == '\n' ||
                (b[i] == '\r' && (i + 1 >= len || b[i + 1] != '\n')))
                l++;
        fail(c, ENT_ECORRUPT, l, col,
             nul ? "NUL byte in a cell" : "invalid UTF-8 in a cell");
        return;
    }
    if (grow((void **)&c->cells, &c->capcells, c->ncells + 1, sizeof(cell)) !=
            ENT_OK ||
        grow((void **)&c->bytes, &c->capbytes, c->nbytes + len + 1, 1) !=
            ENT_OK) {
        fail(c, ENT_ENOMEM, c->line, col, "out of memory");
        return;
    }
    memcpy(c->bytes + c->nbytes, b, len);
    c->bytes[c->nbytes + len] = '\0';
    c->cells[c->ncells].off = c->nbytes;
    c->cells[c->ncells].len = len;
    c->ncells++;
    c->nbytes += len + 1;
    c->cell_line = c->line;
}

static void on_record(int term, void *data) {
    ent_csv *c = data;
    (void)term;
    if (c->err != ENT_OK)
        return;
    if (grow((void **)&c->recs, &c->caprecs, c->nrecs + 1, sizeof(rec)) !=
        ENT_OK) {
        fail(c, ENT_ENOMEM, c->line, 0, "out of memory");
        return;
    }
    c->recs[c->nrecs].first = c->cur_first;
    c->recs[c->nrecs].n = c->ncells - c->cur_first;
    c->recs[c->nrecs].line = c->rec_line;
    c->recs[c->nrecs].line_end = c->line;
    c->nrecs++;
    c->nrecords++;
    c->cur_first = c->ncells;
    c->in_record = false;
}

/* Picks the separator from the first line of the bytes at hand. */
static void detect_sep(ent_csv *c) {
    size_t n[3] = {0, 0, 0};
    bool q = false;
    for (size_t i = c->inpos; i < c->inlen; i++) {
        uint8_t b = c->in[i];
        if (b == '"')
            q = !q;
        else if (!q && (b == '\n' || b == '\r'))
            break;
        else if (!q && b == ',')
            n[0]++;
        else if (!q && b == ';')
            n[1]++;
        else if (!q && b == '\t')
            n[2]++;
    }
    c->sep = ',';
    if (n[1] > n[0] && n[1] >= n[2])
        c->sep = ';';
    else if (n[2] > n[0] && n[2] > n[1])
        c->sep = '\t';
    csv_set_delim(&c->p, (unsigned char)c->sep);
    c->sep_known = true;
}

/* Makes more input bytes available. */
static int refill(ent_csv *c) {
    size_t got;
    if (c->f == NULL) {
        c->eof = true;
        return ENT_OK;
    }
    got = fread(c->buf, 1, CSV_BUF, c->f);
    if (got == 0) {
        if (ferror(c->f)) {
            fail(c, ENT_EIO, c->line, 0, "read error: %s", strerror(errno));
            return c->err;
        }
        c->eof = true;
    }
    c->in = c->buf;
    c->inlen = got;
    c->inpos = 0;
    return ENT_OK;
}

/* Offset of the first CR or LF among the n bytes at s (n if none). */
static size_t find_eol(const uint8_t *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n' || s[i] == '\r')
            return i;
    return n;
}

/* Feeds one segment: up to and including the next line end (LF, CRLF or a
 * lone CR), at most CSV_BUF bytes. */
static void feed_segment(ent_csv *c) {
    const uint8_t *s = c->in + c->inpos;
    size_t avail = c->inlen - c->inpos, n, used, eol, content;
    size_t lim = avail < CSV_BUF ? avail : CSV_BUF;
    bool ends_line = false;
    if (c->after_cr && s[0] == '\n') {
        /* the LF of a CRLF whose CR ended the bytes read before: the same
         * line end (libcsv takes it as an empty line) */
        c->after_cr = false;
        csv_parse(&c->p, s, 1, on_cell, on_record, c);
        c->inpos++;
        c->done++;
        return;
    }
    c->after_cr = false;
    eol = find_eol(s, lim);
    if (eol == lim) {
        n = lim; /* bounds what libcsv buffers between our checks */
        content = n;
    } else if (s[eol] == '\r' && eol + 1 < avail && s[eol + 1] == '\n') {
        n = eol + 2;
        content = eol;
        ends_line = true;
    } else {
        n = eol + 1;
        content = eol;
        ends_line = true;
        /* a CR at the end of what was read: an LF may follow */
        c->after_cr = s[eol] == '\r' && eol + 1 == avail;
    }
    if (c->line_bytes + content > c->lim.max_line) {
        fail(c, ENT_ETOOBIG, c->line, 0, "line longer than %zu bytes",
             c->lim.max_line);
        return;
    }
    if (!c->in_record) {
        c->in_record = true;
        c->rec_line = c->line;
        c->cell_line = c->line;
        c->rec_bytes = 0;
    }
    used = csv_parse(&c->p, s, n, on_cell, on_record, c);
    if (c->err == ENT_OK && used != n) {
        int e = csv_error(&c->p);
        if (e == CSV_EPARSE)
            fail(c, ENT_ECORRUPT, c->line, cur_col(c),
                 "misplaced quote (a quote inside an unquoted cell, or text "
                 "after a closing quote)");
        else
            fail(c, ENT_ENOMEM, c->line, cur_col(c), "%s", csv_strerror(e));
    }
    c->inpos += n;
    c->done += n;
    if (c->in_record) {
        c->rec_bytes += n;
        if (c->err == ENT_OK && c->rec_bytes > c->lim.max_record)
            fail(c, ENT_ETOOBIG, c->rec_line, cur_col(c),
                 "record longer than %zu bytes%s", c->lim.max_record,
                 c->p.quoted ? " (is a quote left open?)" : "");
        if (c->err == ENT_OK && c->p.entry_pos > c->lim.max_cell)
            fail(c, ENT_ETOOBIG, c->cell_line, cur_col(c),
                 "cell longer than %zu bytes%s", c->lim.max_cell,
                 c->p.quoted ? " (is a quote left open?)" : "");
    }
    if (ends_line) {
        c->line++;
        c->line_bytes = 0;
        /* a blank line opens no record */
        if (c->in_record && c->ncells == c->cur_first && c->p.pstate == 0)
            c->in_record = false;
    } else {
        c->line_bytes += n;
    }
}

/* Drops the records handed out; keeps the cells of the open record. */
static void compact(ent_csv *c) {
    size_t keep = c->ncells - c->cur_first;
    size_t boff = keep ? c->cells[c->cur_first].off : c->nbytes;
    if (keep > 0) {
        memmove(c->bytes, c->bytes + boff, c->nbytes - boff);
        for (size_t i = 0; i < keep; i++) {
            c->cells[i] = c->cells[c->cur_first + i];
            c->cells[i].off -= boff;
        }
    }
    c->nbytes -= boff;
    c->ncells = keep;
    c->cur_first = 0;
    c->nrecs = 0;
    c->qpos = 0;
}

int ent_csv_next(ent_csv *c, ent_csv_row *row) {
    int rc = ENT_OK;
    if (c == NULL || row == NULL)
        return ENT_EINVAL;
    if (c->qpos == c->nrecs && c->err == ENT_OK) {
        compact(c);
        while (c->nrecs == 0 && c->err == ENT_OK && !c->finished) {
            if (c->inpos == c->inlen && !c->eof) {
                if (refill(c) != ENT_OK)
                    break;
                continue;
            }
            if (!c->bom_checked && (c->inlen - c->inpos >= 3 || c->eof)) {
                c->bom_checked = true;
                if (c->inlen - c->inpos >= 3 &&
                    memcmp(c->in + c->inpos, "\xef\xbb\xbf", 3) == 0) {
                    c->inpos += 3;
                    c->done += 3;
                }
            }
            if (!c->sep_known)
                detect_sep(c);
            if (c->inpos < c->inlen) {
                feed_segment(c);
                continue;
            }
            if (c->eof) {
                c->finished = true;
                if (csv_fini(&c->p, on_cell, on_record, c) != 0 &&
                    c->err == ENT_OK)
                    fail(c, ENT_ECORRUPT, c->cell_line, cur_col(c),
                         "the file ends inside a quoted cell (its quote is "
                         "never closed)");
            }
        }
    }
    if (c->qpos < c->nrecs) {
        const rec *r = &c->recs[c->qpos++];
        if (grow((void **)&c->ptrs, &c->capptrs, r->n + 1, sizeof(char *)) !=
            ENT_OK)
            return ENT_ENOMEM;
        if (grow((void **)&c->lens, &c->caplens, r->n + 1, sizeof(size_t)) !=
            ENT_OK)
            return ENT_ENOMEM;
        for (size_t i = 0; i < r->n; i++) {
            c->ptrs[i] = c->bytes + c->cells[r->first + i].off;
            c->lens[i] = c->cells[r->first + i].len;
        }
        row->ncols = r->n;
        row->cells = c->ptrs;
        row->lens = c->lens;
        row->line = r->line;
        row->line_end = r->line_end;
        row->index = c->nrecords - (c->nrecs - c->qpos);
        return ENT_OK;
    }
    if (c->err != ENT_OK)
        rc = c->err;
    else
        rc = ENT_ENOENT;
    return rc;
}

static int csv_new(ent_csv **out, const char *name, const ent_csv_opts *opts) {
    ent_csv *c;
    ent_csv_opts z;
    *out = NULL;
    if (opts == NULL) {
        memset(&z, 0, sizeof(z));
        opts = &z;
    }
    if (opts->sep != 0 && opts->sep != ',' && opts->sep != ';' &&
        opts->sep != '\t')
        return ENT_EINVAL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return ENT_ENOMEM;
    snprintf(c->name, sizeof(c->name), "%s", name ? name : "-");
    c->lim = opts->limits;
    if (c->lim.max_cell == 0)
        c->lim.max_cell = ENT_CSV_MAX_CELL;
    if (c->lim.max_cols == 0)
        c->lim.max_cols = ENT_CSV_MAX_COLS;
    if (c->lim.max_line == 0)
        c->lim.max_line = ENT_CSV_MAX_LINE;
    if (c->lim.max_record == 0)
        c->lim.max_record = ENT_CSV_MAX_RECORD;
    if (csv_init(&c->p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        free(c);
        return ENT_ENOMEM;
    }
    c->p_ready = true;
    csv_set_space_func(&c->p, no_space);
    if (opts->sep != 0) {
        c->sep = opts->sep;
        c->sep_known = true;
        csv_set_delim(&c->p, (unsigned char)c->sep);
    }
    c->line = 1;
    *out = c;
    return ENT_OK;
}

int ent_csv_open_mem(ent_csv **out, const uint8_t *buf, size_t len,
                     const char *name, const ent_csv_opts *opts) {
    int rc;
    if (out == NULL || (buf == NULL && len > 0))
        return ENT_EINVAL;
    rc = csv_new(out, name, opts);
    if (rc != ENT_OK)
        return rc;
    (*out)->mem = buf;
    (*out)->in = buf;
    (*out)->inlen = len;
    (*out)->eof = true;
    (*out)->total = len;
    return ENT_OK;
}

int ent_csv_open_stream(ent_csv **out, FILE *f, const char *name,
                        const ent_csv_opts *opts) {
    int rc;
    struct stat st;
    if (out == NULL || f == NULL)
        return ENT_EINVAL;
    rc = csv_new(out, name, opts);
    if (rc != ENT_OK)
        return rc;
    (*out)->buf = malloc(CSV_BUF);
    if ((*out)->buf == NULL) {
        ent_csv_free(*out);
        *out = NULL;
        return ENT_ENOMEM;
    }
    (*out)->f = f;
    (*out)->in = (*out)->buf;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode))
        (*out)->total = (uint64_t)st.st_size;
    return ENT_OK;
}

int ent_csv_open_file(ent_csv **out, const char *path, const char *name,
                      const ent_csv_opts *opts) {
    FILE *f;
    int rc;
    if (out == NULL || path == NULL)
        return ENT_EINVAL;
    *out = NULL;
    f = fopen(path, "rb");
    if (f == NULL)
        return ent_err_from_errno(errno);
    rc = ent_csv_open_stream(out, f, name ? name : path, opts);
    if (rc != ENT_OK) {
        fclose(f);
        return rc;
    }
    (*out)->own_f = true;
    return ENT_OK;
}

const char *ent_csv_error(const ent_csv *c) {
    return c ? c->errmsg : "";
}

void ent_csv_error_pos(const ent_csv *c, unsigned long *line,
                       unsigned long *column) {
    if (line)
        *line = c ? c->err_line : 0;
    if (column)
        *column = c ? c->err_col : 0;
}

char ent_csv_sep(const ent_csv *c) {
    return c ? c->sep : 0;
}

const char *ent_csv_name(const ent_csv *c) {
    return c ? c->name : "";
}

void ent_csv_progress(const ent_csv *c, uint64_t *done, uint64_t *total) {
    if (done)
        *done = c ? c->done : 0;
    if (total)
        *total = c ? c->total : 0;
}

void ent_csv_free(ent_csv *c) {
    if (c == NULL)
        return;
    if (c->p_ready)
        csv_free(&c->p);
    if (c->own_f && c->f != NULL)
        fclose(c->f);
    free(c->buf);
    free(c->bytes);
    free(c->cells);
    free(c->recs);
    free(c->ptrs);
    free(c->lens);
    free(c);
}

static bool needs_quote(const char *s, size_t len, char sep) {
    if (len == 0)
        return false;
    if (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t')
        return true;
    /* a byte order mark at the start of a file would be taken away */
    if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
        return true;
    for (size_t i = 0; i < len; i++)
        if (s[i] == sep || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
            return true;
    return false;
}

int ent_csv_write_row(FILE *f, char sep, const char *const *cells,
                      const size_t *lens, size_t n) {
    /* one empty cell: "" (an empty line would be no record at all) */
    if (n == 1 &&
        (cells[0] == NULL || (lens ? lens[0] : strlen(cells[0])) == 0))
        return fputs("\"\"\r\n", f) == EOF ? ENT_EIO : ENT_OK;
    for (size_t i = 0; i < n; i++) {
        const char *s = cells[i] ? cells[i] : "";
        size_t len = lens ? lens[i] : strlen(s);
        char *guarded = NULL;
        int rc = ENT_OK;
        if (i > 0 && fputc(sep, f) == EOF)
            return ENT_EIO;
        if (ent_csv_formula(s, len)) { /* csvcell.h: "'" in front */
            guarded = malloc(len + 1);
            if (guarded == NULL)
                return ENT_ENOMEM;
            guarded[0] = '\'';
            memcpy(guarded + 1, s, len);
            s = guarded;
            len++;
        }
        if (needs_quote(s, len, sep)) {
            if (csv_fwrite(f, s, len) != 0)
                rc = ENT_EIO;
        } else if (len > 0 && fwrite(s, 1, len, f) != len) {
            rc = ENT_EIO;
        }
        free(guarded);
        if (rc != ENT_OK)
            return rc;
    }
    if (fputs("\r\n", f) == EOF)
        return ENT_EIO;
    return ENT_OK;
}
