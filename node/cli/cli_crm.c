/*
 * cli_crm.c - `entente import FILE.csv` and `entente export` (spec/cli.md
 * "import", "export"; spec/crm.md): the CSV file and the mapping file are
 * read here, with the reader and the transforms of node/crm/, and rows go
 * to the running node in batches (POST /v1/crm/import), which commits each
 * batch at once and sends its ops to the members; an export pages through
 * POST /v1/crm/export and writes CSV with the same map in reverse.
 *
 * An import reads the whole file first (pass 1: CSV syntax, the mapping of
 * every row, duplicate external ids) and sends nothing when the file
 * itself is broken; then it reads the file again and sends the rows that
 * passed (pass 2).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "node/cli/cli_int.h"
#include "node/cli/client.h"
#include "node/crm/crm_export.h"
#include "node/crm/crm_import.h"
#include "node/err.h"
#include "node/jtext.h"

#define BATCH_ROWS 1000 /* rows of one request, by default */
#define BATCH_BYTES                                                            \
    (400u * 1024) /* JSON of the rows of one request, at most (a row larger \
                     than this goes alone) */
#define ROW_BYTES_MAX                                                          \
    (1024u * 1024u - 1024u) /* JSON of one row: with the request's other keys \
                               it stays under the node's 1 MiB body limit */

const cli_opt ent__cli_import_opts[] = {
    {"type", "TYPE", "the object type (the map's \"type\")"},
    {"map", "MAP", "the mapping file (spec/crm.md)"},
    {"dry-run", NULL, "report what would change; change nothing"},
    {"rejects", "FILE", "write the refused rows here (line, reason, cells)"},
    {"separator", "SEP",
     "',', ';' or 'tab' (default: the map's, else "
     "detected)"},
    {"batch", "N", "rows per commit (1..1000, default 1000)"},
    {NULL, NULL, NULL}};

const cli_opt ent__cli_export_opts[] = {
    {"type", "TYPE", "the object type (the map's \"type\")"},
    {"map", "MAP", "the mapping file (spec/crm.md)"},
    {"where", "EXPR", "only objects this expression keeps (spec/reports.md)"},
    {"hide-private", NULL, "leave private columns empty"},
    {"since", "CURSOR", "only objects changed after this event id"},
    {"out", "FILE", "write the CSV here (default: standard output)"},
    {NULL, NULL, NULL}};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The org's own names in the map: its field map of type (GET
 * /v1/fieldmaps/TYPE; none: nothing). -1, or the exit status. */
static int apply_fieldmap(cli *c, ent_crm_map *m, const char *type) {
    char p[64], err[ENT_CRM_ERR_MAX] = "";
    json_t *doc = NULL;
    ent_fieldmap *fm = NULL;
    int http = 0, st = -1;
    snprintf(p, sizeof(p), "/v1/fieldmaps/%s", type);
    int rc = ent_client_request(c->home, "GET", p, NULL, &http, &doc);
    if (rc != ENT_OK)
        st = ent__cli_fail(c, "%s", ent_strerror(rc));
    else if (http == 404)
        st = -1;
    else if (http < 200 || http > 299)
        st = ent__cli_fail(c, "%s", ent_client_error(doc));
    else if (ent_fieldmap_from_json(doc, NULL, NULL, &fm, err, sizeof(err)) !=
                 ENT_OK ||
             ent_crm_map_apply_fieldmap(m, fm, err, sizeof(err)) != ENT_OK)
        st = ent__cli_fail(c, "%s", err[0] ? err : "the node's field map");
    ent_fieldmap_free(fm);
    json_decref(doc);
    return st;
}

/* Loads the map and binds it to the node's template of its type. */
static int load_map(cli *c, ent_crm_map **out) {
    const char *path = ent__cli_opt_value(c, "map");
    const char *type = ent__cli_opt_value(c, "type");
    char err[ENT_CRM_ERR_MAX] = "";
    ent_template *t = NULL;
    json_t *tj = NULL;
    char p[128];
    int st;
    *out = NULL;
    if (path == NULL || type == NULL)
        return ent__cli_usage_error(c, "--type and --map are required");
    if (ent_crm_map_load(out, path, err, sizeof(err)) != ENT_OK)
        return ent__cli_fail(c, "%s", err);
    if (strcmp(ent_crm_map_type(*out), type) != 0) {
        st = ent__cli_fail(c, "%s: the map is for type %s, not %s", path,
                           ent_crm_map_type(*out), type);
        goto fail;
    }
    if (!ent_template_type_valid(type)) {
        st = ent__cli_usage_error(c, "bad type name %s", type);
        goto fail;
    }
    snprintf(p, sizeof(p), "/v1/templates/%s", type);
    if ((st = ent__cli_daemon_call(c, "GET", p, NULL, &tj)) >= 0)
        goto fail;
    if (ent_template_from_json(tj, &t, err, sizeof(err)) != ENT_OK) {
        st = ent__cli_fail(c, "template %s: %s", type, err);
        goto fail;
    }
    json_decref(tj);
    tj = NULL;
    if ((st = apply_fieldmap(c, *out, type)) >= 0)
        goto fail;
    if (ent_crm_map_bind(*out, t, err, sizeof(err)) != ENT_OK) {
        st = ent__cli_fail(c, "%s", err);
        goto fail;
    }
    ent_template_free(t);
    return -1;
fail:
    json_decref(tj);
    ent_template_free(t);
    ent_crm_map_free(*out);
    *out = NULL;
    return st;
}

/* ---------------------------------------------------------------- import */

/* Partner names for "org" columns (GET /v1/peers). */
typedef struct peers_ctx {
    json_t *peers;
} peers_ctx;

static int org_lookup(void *data, const char *name,
                      char id[ENT_ORG_ID_LEN + 1]) {
    peers_ctx *p = data;
    size_t i;
    json_t *row;
    json_array_foreach(p->peers, i, row) {
        const char *n = json_string_value(json_object_get(row, "name"));
        const char *o = json_string_value(json_object_get(row, "org"));
        if (n && o && strlen(o) == ENT_ORG_ID_LEN && strcasecmp(n, name) == 0) {
            memcpy(id, o, ENT_ORG_ID_LEN + 1);
            return ENT_OK;
        }
    }
    return ENT_ENOENT;
}

typedef struct idline {
    char *extid;
    unsigned long line;
    size_t row; /* index among data rows */
} idline;

static int cmp_idline(const void *a, const void *b) {
    const idline *x = a, *y = b;
    int r = strcmp(x->extid, y->extid);
    return r ? r : (x->line < y->line ? -1 : x->line > y->line);
}

typedef struct imp {
    cli *c;
    const char *file;
    ent_crm_map *map;
    ent_csv_opts copts;
    ent_crm_row_opts ropts;
    FILE *rej;
    bool dry;
    size_t batch;
    /* pass 1 */
    size_t nrows; /* data rows */
    char **why;   /* per data row: why it is refused (NULL: fine) */
    unsigned long *lines;
    /* totals */
    uint64_t created, updated, unchanged, rejected, ops;
    /* progress */
    bool tty;
    double t0, shown;
} imp;

static void reject_row(imp *m, FILE *rej, unsigned long line, const char *why,
                       const ent_csv_row *row) {
    char lb[32];
    const char *cells[2] = {lb, why};
    m->rejected++;
    if (rej == NULL)
        return;
    snprintf(lb, sizeof(lb), "%lu", line);
    /* line, reason, then the row's own cells */
    size_t n = row ? row->ncols : 0;
    const char **all = calloc(n + 2, sizeof(char *));
    size_t *lens = calloc(n + 2, sizeof(size_t));
    if (all == NULL || lens == NULL) {
        ent_csv_write_row(rej, ',', cells, NULL, 2);
    } else {
        all[0] = lb;
        all[1] = why;
        lens[0] = strlen(lb);
        lens[1] = strlen(why);
        for (size_t i = 0; i < n; i++) {
            all[i + 2] = row->cells[i];
            lens[i + 2] = row->lens[i];
        }
        ent_csv_write_row(rej, ',', all, lens, n + 2);
    }
    free(all);
    free(lens);
}

/* Pass 1: the whole file; -1 or an exit status. */
static int pass1(imp *m) {
    ent_csv *csv = NULL;
    ent_csv_row row;
    ent_crm_values v = {0};
    idline *ids = NULL;
    size_t nids = 0, cap = 0;
    char err[ENT_CRM_ERR_MAX];
    int rc, st = -1;
    rc = ent_csv_open_file(&csv, m->file, NULL, &m->copts);
    if (rc != ENT_OK)
        return ent__cli_fail(m->c, "%s: %s", m->file, ent_strerror(rc));
    rc = ent_csv_next(csv, &row);
    if (rc != ENT_OK) {
        st = ent__cli_fail(m->c, "%s",
                           rc == ENT_ENOENT ? "the file is empty (no header)"
                                            : ent_csv_error(csv));
        goto out;
    }
    if (ent_crm_map_header(m->map, &row, m->file, err, sizeof(err)) != ENT_OK) {
        st = ent__cli_fail(m->c, "%s", err);
        goto out;
    }
    while ((rc = ent_csv_next(csv, &row)) == ENT_OK) {
        size_t i = m->nrows;
        void *a = realloc(m->why, (i + 1) * sizeof(char *));
        void *b = a ? realloc(m->lines, (i + 1) * sizeof(unsigned long)) : NULL;
        if (a)
            m->why = a;
        if (b)
            m->lines = b;
        if (a == NULL || b == NULL) {
            st = ent__cli_fail(m->c, "out of memory");
            goto out;
        }
        m->why[i] = NULL;
        m->lines[i] = row.line;
        m->nrows++;
        if (ent_crm_map_row(m->map, &row, m->file, &m->ropts, &v, err,
                            sizeof(err)) != ENT_OK) {
            m->why[i] = strdup(err);
            continue;
        }
        if (v.extid[0] == '\0')
            continue;
        if (nids == cap) {
            cap = cap ? cap * 2 : 1024;
            void *p = realloc(ids, cap * sizeof(*ids));
            if (p == NULL) {
                st = ent__cli_fail(m->c, "out of memory");
                goto out;
            }
            ids = p;
        }
        ids[nids].extid = strdup(v.extid);
        ids[nids].line = row.line;
        ids[nids].row = i;
        if (ids[nids].extid == NULL) {
            st = ent__cli_fail(m->c, "out of memory");
            goto out;
        }
        nids++;
    }
    if (rc != ENT_ENOENT) {
        /* the file itself is broken: nothing is sent */
        st = ent__cli_fail(m->c, "%s (nothing imported)", ent_csv_error(csv));
        goto out;
    }
    /* every row of an external id that the file holds twice is refused:
     * which one is right is not for us to guess */
    if (nids > 1) /* a file of a header only: ids is NULL */
        qsort(ids, nids, sizeof(*ids), cmp_idline);
    for (size_t i = 0; i < nids; i++) {
        size_t j = i;
        while (j + 1 < nids && strcmp(ids[j + 1].extid, ids[i].extid) == 0)
            j++;
        for (size_t k = i; k <= j && j > i; k++) {
            char why[ENT_CRM_ERR_MAX];
            size_t other = k == i ? i + 1 : i;
            snprintf(why, sizeof(why),
                     "%s: line %lu: external id \"%.100s\" also on line %lu "
                     "(each id once per file)",
                     m->file, ids[k].line, ids[k].extid, ids[other].line);
            free(m->why[ids[k].row]);
            m->why[ids[k].row] = strdup(why);
        }
        i = j;
    }
out:
    for (size_t i = 0; i < nids; i++)
        free(ids[i].extid);
    free(ids);
    ent_crm_values_clear(&v);
    ent_csv_free(csv);
    return st;
}

static void progress(imp *m, uint64_t done, bool last) {
    double t = now_s();
    if (!m->tty || (!last && t - m->shown < 0.25))
        return;
    m->shown = t;
    double el = t - m->t0;
    uint64_t rate = el > 0 ? (uint64_t)((double)done / el) : 0;
    char a[32], b[32], r[32];
    fprintf(stderr, "\r%s: %s / %s rows (%llu%%), %s rows/s",
            m->dry ? "checking" : "importing", ent__cli_fmt_count(a, done),
            ent__cli_fmt_count(b, m->nrows),
            (unsigned long long)(m->nrows ? done * 100 / m->nrows : 100),
            ent__cli_fmt_count(r, rate));
    if (rate > 0 && !last)
        fprintf(stderr, ", ~%llu s left",
                (unsigned long long)((m->nrows - done) / rate));
    fputs(last ? "\r\033[K" : "\033[K", stderr);
    fflush(stderr);
}

/* Takes the node's answer out for one batch: rejects (lines and cells of
 * saved, for the rejects file) and counts. */
static void batch_results(imp *m, json_t *out, const ent_csv_row *saved,
                          size_t nsaved) {
    json_t *res = json_object_get(out, "results");
    for (size_t i = 0; i < json_array_size(res) && i < nsaved; i++) {
        json_t *r = json_array_get(res, i);
        const char *o = ent__cli_jstr(r, "outcome");
        if (strcmp(o, "rejected") == 0) {
            char why[ENT_CRM_ERR_MAX + 64];
            snprintf(why, sizeof(why), "%s: line %lu: %s", m->file,
                     saved[i].line, ent__cli_jstr(r, "error"));
            reject_row(m, m->rej, saved[i].line, why, &saved[i]);
        }
    }
    m->created += ent__cli_jint(out, "created");
    m->updated += ent__cli_jint(out, "updated");
    m->unchanged += ent__cli_jint(out, "unchanged");
    m->ops += ent__cli_jint(out, "ops");
}

/* A copy of row that outlives the reader's next record. */
static int save_row(ent_csv_row *dst, const ent_csv_row *src) {
    char **cells = calloc(src->ncols + 1, sizeof(char *));
    size_t *lens = calloc(src->ncols + 1, sizeof(size_t));
    if (cells == NULL || lens == NULL) {
        free(cells);
        free(lens);
        return ENT_ENOMEM;
    }
    for (size_t i = 0; i < src->ncols; i++) {
        cells[i] = malloc(src->lens[i] + 1);
        if (cells[i] == NULL)
            return ENT_ENOMEM;
        memcpy(cells[i], src->cells[i], src->lens[i] + 1);
        lens[i] = src->lens[i];
    }
    *dst = *src;
    dst->cells = (const char *const *)cells;
    dst->lens = lens;
    return ENT_OK;
}

static void drop_rows(ent_csv_row *rows, size_t n) {
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < rows[i].ncols; k++)
            free((char *)rows[i].cells[k]);
        free((void *)rows[i].cells);
        free((void *)rows[i].lens);
    }
}

/*
 * The batch on its way: sent on a thread of its own, so that the next one
 * is read, mapped and written as JSON while the node commits this one
 * (one request at a time still: the next is sent once this one's answer
 * is in). Rejects of the next batch's rows found here meanwhile wait in
 * a memory stream, so the rejects file keeps its order: each batch's own
 * refusals, then the node's.
 */
typedef struct flight {
    cli *c;
    char *body; /* the request's JSON text, blen bytes */
    size_t blen;
    json_t *out;
    int st;
    bool on, threaded;
    pthread_t th;
    ent_csv_row *saved; /* the batch's rows (lines and cells) */
    size_t nsaved, done;
} flight;

static void *flight_main(void *arg) {
    flight *f = arg;
    f->st = ent__cli_call_text(f->c->words, f->c->home, "POST",
                               "/v1/crm/import", f->body, f->blen, &f->out);
    return NULL;
}

/* Pass 2's state: the batch being gathered (its request's JSON text so
 * far, written as jansson would write the object {"type","source",
 * "dry_run","rows":[...]}) and the one on its way. */
typedef struct gather {
    ent_jtext text;
    ent_jtext row; /* scratch: one row's JSON */
    ent_csv_row *saved;
    size_t nsaved, bytes;
    flight fl;
    FILE *defer; /* rejects found while a batch is on its way */
    char *dbuf;
    size_t dlen;
} gather;

/* Waits for the batch on its way and takes its answer; -1 or an exit
 * status. Then the rejects deferred meanwhile go to the file. */
static int land(imp *m, gather *g) {
    flight *f = &g->fl;
    int st = -1;
    if (f->on) {
        if (f->threaded)
            pthread_join(f->th, NULL);
        f->on = false;
        free(f->body);
        f->body = NULL;
        st = f->st;
        if (st < 0)
            batch_results(m, f->out, f->saved, f->nsaved);
        json_decref(f->out);
        f->out = NULL;
        drop_rows(f->saved, f->nsaved);
        f->nsaved = 0;
        if (st < 0)
            progress(m, f->done, false);
    }
    if (g->defer != NULL) {
        FILE *d = g->defer;
        g->defer = NULL;
        if (fclose(d) == 0 && g->dlen > 0)
            fwrite(g->dbuf, 1, g->dlen, m->rej);
        free(g->dbuf);
        g->dbuf = NULL;
        g->dlen = 0;
    }
    return st;
}

/* Where a reject found now goes: the file, or while a batch is on its
 * way, the memory stream. */
static FILE *rej_now(imp *m, gather *g) {
    if (m->rej == NULL || !g->fl.on)
        return m->rej;
    if (g->defer == NULL)
        g->defer = open_memstream(&g->dbuf, &g->dlen);
    return g->defer != NULL ? g->defer : m->rej;
}

/* The start of a request's text, before its first row. */
static void batch_open(imp *m, gather *g) {
    const char *ty = ent_crm_map_type(m->map);
    const char *src = ent_crm_map_source(m->map);
    ENT_JTEXT_LIT(&g->text, "{\"type\":");
    ent_jtext_str(&g->text, ty, strlen(ty));
    ENT_JTEXT_LIT(&g->text, ",\"source\":");
    ent_jtext_str(&g->text, src, strlen(src));
    if (m->dry)
        ENT_JTEXT_LIT(&g->text, ",\"dry_run\":true,\"rows\":[");
    else
        ENT_JTEXT_LIT(&g->text, ",\"dry_run\":false,\"rows\":[");
}

/* The group of the row's JSON a value goes in: 0 set, 1 private, 2 custom. */
static int group_of(const ent_crm_value *cv) {
    return cv->private_ ? 1 : cv->custom ? 2 : 0;
}

/* One row's JSON into t: {"extid","set":{},"private":{},"custom":{}}, each
 * value a string; a field given twice (no map gives one) keeps its last
 * value, as a JSON object would. */

static void row_text(ent_jtext *t, const ent_crm_values *v) {
    static const char *const grp[3] = {"set", "private", "custom"};
    ENT_JTEXT_LIT(t, "{\"extid\":");
    ent_jtext_str(t, v->extid, strlen(v->extid));
    for (int gi = 0; gi < 3; gi++) {
        bool first = true;
        ENT_JTEXT_LIT(t, ",");
        ent_jtext_str(t, grp[gi], strlen(grp[gi]));
        ENT_JTEXT_LIT(t, ":{");
        for (size_t k = 0; k < v->n; k++) {
            const ent_crm_value *cv = &v->v[k];
            bool later = false;
            for (size_t j = k + 1; j < v->n && !later; j++)
                later = group_of(&v->v[j]) == gi &&
                        strcmp(v->v[j].field, cv->field) == 0;
            if (group_of(cv) != gi || later)
                continue;
            ent_jtext_key(t, &first, cv->field);
            ent_jtext_str(t, cv->text, strlen(cv->text));
        }
        ENT_JTEXT_LIT(t, "}");
    }
    ENT_JTEXT_LIT(t, "}");
}

/* Sends the batch gathered (after the one on its way has landed) and
 * starts the next one; -1 or an exit status. done: the data rows read so
 * far (progress). */
static int flush_batch(imp *m, gather *g, size_t done) {
    int st;
    if (g->nsaved == 0)
        return land(m, g);
    ENT_JTEXT_LIT(&g->text, "]}");
    size_t blen = g->text.len;
    char *body = ent_jtext_take(&g->text); /* g->text is empty again */
    if (body == NULL)
        return ent__cli_fail(m->c, "out of memory");
    if ((st = land(m, g)) >= 0) {
        free(body);
        return st;
    }
    flight *f = &g->fl;
    ent_csv_row *t = f->saved;
    f->saved = g->saved;
    f->nsaved = g->nsaved;
    g->saved = t;
    g->nsaved = 0;
    g->bytes = 0;
    f->c = m->c;
    f->body = body;
    f->blen = blen;
    f->out = NULL;
    f->st = -1;
    f->done = done;
    f->on = true;
    f->threaded = pthread_create(&f->th, NULL, flight_main, f) == 0;
    if (!f->threaded)
        flight_main(f); /* no thread: the batch is sent here */
    return -1;
}

/* Pass 2: the rows that passed, batch by batch. */
static int pass2(imp *m) {
    ent_csv *csv = NULL;
    ent_csv_row row;
    ent_crm_values v = {0};
    gather g;
    size_t i = 0;
    char err[ENT_CRM_ERR_MAX];
    int rc, st = -1;
    memset(&g, 0, sizeof(g));
    ent_jtext_init(&g.text, NULL, 0);
    ent_jtext_init(&g.row, NULL, 0);
    g.saved = calloc(m->batch + 1, sizeof(*g.saved));
    g.fl.saved = calloc(m->batch + 1, sizeof(*g.fl.saved));
    if (g.saved == NULL || g.fl.saved == NULL) {
        st = ent__cli_fail(m->c, "out of memory");
        goto out;
    }
    rc = ent_csv_open_file(&csv, m->file, NULL, &m->copts);
    if (rc == ENT_OK)
        rc = ent_csv_next(csv, &row); /* the header, checked in pass 1 */
    if (rc != ENT_OK) {
        st = ent__cli_fail(m->c, "%s: read again: %s", m->file,
                           ent_strerror(rc));
        goto out;
    }
    while ((rc = ent_csv_next(csv, &row)) == ENT_OK && i < m->nrows) {
        size_t idx = i++;
        if (m->why[idx] != NULL) {
            reject_row(m, rej_now(m, &g), row.line, m->why[idx], &row);
            continue;
        }
        if (ent_crm_map_row(m->map, &row, m->file, &m->ropts, &v, err,
                            sizeof(err)) != ENT_OK) {
            reject_row(m, rej_now(m, &g), row.line, err, &row);
            continue;
        }
        g.row.len = 0;
        row_text(&g.row, &v);
        if (g.row.oom) {
            st = ent__cli_fail(m->c, "out of memory");
            goto out;
        }
        /* its JSON as sent (escapes included) and a comma */
        size_t rb = g.row.len + 1;
        if (rb > ROW_BYTES_MAX) {
            /* no request can carry it: the row alone is refused, not the
             * batch (the node would answer 413 and the import stop) */
            char why[ENT_CRM_ERR_MAX];
            snprintf(why, sizeof(why),
                     "%s: line %lu: the row's values take %zu bytes as JSON, "
                     "more than the %u bytes one request carries",
                     m->file, row.line, rb, ROW_BYTES_MAX);
            reject_row(m, rej_now(m, &g), row.line, why, &row);
            continue;
        }
        /* the batch goes first when the row would take it past
         * BATCH_BYTES */
        if (g.nsaved > 0 && g.bytes + rb > BATCH_BYTES &&
            (st = flush_batch(m, &g, i - 1)) >= 0)
            goto out;
        if (g.nsaved == 0)
            batch_open(m, &g);
        else
            ENT_JTEXT_LIT(&g.text, ",");
        ent_jtext_raw(&g.text, g.row.p, g.row.len);
        if (g.text.oom) {
            st = ent__cli_fail(m->c, "out of memory");
            goto out;
        }
        g.bytes += rb;
        if (save_row(&g.saved[g.nsaved++], &row) != ENT_OK) {
            st = ent__cli_fail(m->c, "out of memory");
            goto out;
        }
        if (g.nsaved == m->batch && (st = flush_batch(m, &g, i)) >= 0)
            goto out;
    }
    if (rc != ENT_OK && rc != ENT_ENOENT) {
        st = ent__cli_fail(m->c, "%s (read again)", ent_csv_error(csv));
        goto out;
    }
    if ((st = flush_batch(m, &g, m->nrows)) < 0)
        st = land(m, &g); /* the last batch's answer */
    if (st < 0)
        progress(m, m->nrows, true);
out:
    {
        int lst = land(m, &g); /* a batch still on its way (an error) */
        if (st < 0)
            st = lst;
    }
    drop_rows(g.saved, g.nsaved);
    free(g.saved);
    free(g.fl.saved);
    ent_jtext_free(&g.text);
    ent_jtext_free(&g.row);
    ent_crm_values_clear(&v);
    ent_csv_free(csv);
    return st;
}

int ent__cli_cmd_import(cli *c) {
    imp m;
    peers_ctx pc = {NULL};
    const char *sep = ent__cli_opt_value(c, "separator");
    const char *batch = ent__cli_opt_value(c, "batch");
    const char *rejects = ent__cli_opt_value(c, "rejects");
    ent__cli_outfile rejf = {0};
    int st;
    memset(&m, 0, sizeof(m));
    m.c = c;
    m.file = c->args[0];
    m.dry = ent__cli_opt_value(c, "dry-run") != NULL;
    m.batch = BATCH_ROWS;
    if (batch != NULL) {
        char *end;
        unsigned long b = strtoul(batch, &end, 10);
        if (*batch == '\0' || *end != '\0' || b < 1 || b > ENT_CRM_BATCH_MAX)
            return ent__cli_usage_error(c, "--batch: 1..%d", ENT_CRM_BATCH_MAX);
        m.batch = b;
    }
    if (sep != NULL) {
        if (strcmp(sep, ",") == 0 || strcmp(sep, ";") == 0)
            m.copts.sep = sep[0];
        else if (strcmp(sep, "tab") == 0 || strcmp(sep, "\t") == 0)
            m.copts.sep = '\t';
        else
            return ent__cli_usage_error(c, "--separator: ',', ';' or 'tab'");
    }
    if (rejects != NULL) {
        /* the rejects file replaces FILE: never the CSV or the map */
        const char *in[] = {m.file, ent__cli_opt_value(c, "map")};
        struct stat rs, is;
        for (size_t i = 0; i < 2; i++)
            if (in[i] != NULL && stat(rejects, &rs) == 0 &&
                stat(in[i], &is) == 0 && rs.st_dev == is.st_dev &&
                rs.st_ino == is.st_ino)
                return ent__cli_usage_error(
                    c, "--rejects %s is the %s being imported", rejects,
                    i == 0 ? "CSV file" : "map");
    }
    if ((st = load_map(c, &m.map)) >= 0)
        return st;
    if (ent_crm_map_extid_field(m.map) == NULL) {
        st = ent__cli_fail(c,
                           "%s: the map has no \"external_id\" column: an "
                           "import upserts by it (spec/crm.md §3)",
                           ent__cli_opt_value(c, "map"));
        goto out;
    }
    if (m.copts.sep == 0)
        m.copts.sep = ent_crm_map_sep(m.map);
    if ((st = ent__cli_daemon_call(c, "GET", "/v1/peers", NULL, &pc.peers)) >=
        0)
        goto out;
    m.ropts.org_lookup = org_lookup;
    m.ropts.org_lookup_data = &pc;
    m.tty = isatty(STDERR_FILENO) == 1;
    m.t0 = now_s();
    if ((st = pass1(&m)) >= 0)
        goto out;
    if (rejects != NULL) {
        if (ent__cli_out_open(&rejf, rejects) != ENT_OK) {
            st = ent__cli_fail(c, "%s: %s", rejects, strerror(errno));
            goto out;
        }
        m.rej = rejf.f;
        static const char *const h[] = {"line", "reason"};
        ent_csv_write_row(m.rej, ',', h, NULL, 2);
    }
    if ((st = pass2(&m)) >= 0)
        goto out;
    if (m.rej != NULL) {
        m.rej = NULL;
        if (ent__cli_out_commit(&rejf, rejects) != ENT_OK) {
            st = ent__cli_fail(c, "%s: %s", rejects, strerror(errno));
            goto out;
        }
    }
    if (c->json) {
        json_t *o = json_pack(
            "{s:I,s:I,s:I,s:I,s:I,s:b}", "created", (json_int_t)m.created,
            "updated", (json_int_t)m.updated, "unchanged",
            (json_int_t)m.unchanged, "rejected", (json_int_t)m.rejected, "ops",
            (json_int_t)m.ops, "dry_run", m.dry);
        ent__cli_print_json(o);
        json_decref(o);
    } else {
        char a[32], b[32], d[32], e[32], f[32];
        double el = now_s() - m.t0;
        printf("%s%s created, %s updated, %s unchanged, %s rejected (%s "
               "ops, %.1f s)\n",
               m.dry ? "dry run: " : "", ent__cli_fmt_count(a, m.created),
               ent__cli_fmt_count(b, m.updated),
               ent__cli_fmt_count(d, m.unchanged),
               ent__cli_fmt_count(e, m.rejected), ent__cli_fmt_count(f, m.ops),
               el);
    }
    st = m.rejected > 0 ? 1 : 0;
    if (m.rejected > 0)
        fprintf(stderr, "entente: import: %llu row%s rejected%s%s\n",
                (unsigned long long)m.rejected, m.rejected == 1 ? "" : "s",
                rejects ? ": see " : " (--rejects FILE lists them)",
                rejects ? rejects : "");
out:
    ent__cli_out_abort(&rejf); /* an import that failed leaves FILE as it was */
    for (size_t i = 0; i < m.nrows; i++)
        free(m.why[i]);
    free(m.why);
    free(m.lines);
    json_decref(pc.peers);
    ent_crm_map_free(m.map);
    return st;
}

/* ---------------------------------------------------------------- export */

int ent__cli_cmd_export(cli *c) {
    ent_crm_map *map = NULL;
    const char *where = ent__cli_opt_value(c, "where");
    const char *since = ent__cli_opt_value(c, "since");
    const char *outp = ent__cli_opt_value(c, "out");
    bool hide = ent__cli_opt_value(c, "hide-private") != NULL;
    FILE *f = stdout;
    ent__cli_outfile of = {0};
    json_t *page = NULL;
    char after[65] = "";
    unsigned long long cur = 0;
    uint64_t nrows = 0;
    int st;
    if (since != NULL) {
        char *end;
        errno = 0;
        cur = strtoull(since, &end, 10);
        if (*since == '\0' || *end != '\0' || errno != 0 || since[0] == '-')
            return ent__cli_usage_error(c, "--since: an event id (from a "
                                           "previous export)");
    }
    if ((st = load_map(c, &map)) >= 0)
        return st;
    if (outp != NULL) {
        if (ent__cli_out_open(&of, outp) != ENT_OK) {
            st = ent__cli_fail(c, "%s: %s", outp, strerror(errno));
            goto out;
        }
        f = of.f;
    }
    char sep = ent_crm_map_sep(map) ? ent_crm_map_sep(map) : ',';
    size_t nh;
    const char *const *hdr = ent_crm_map_export_header(map, &nh);
    if (hdr == NULL || ent_csv_write_row(f, sep, hdr, NULL, nh) != ENT_OK) {
        st = ent__cli_fail(c, "write: %s", strerror(errno));
        goto out;
    }
    json_int_t cursor = 0;
    for (;;) {
        json_t *body = json_pack("{s:s,s:b}", "type", ent_crm_map_type(map),
                                 "hide_private", hide);
        if (body == NULL) {
            st = ent__cli_fail(c, "out of memory");
            goto out;
        }
        if (where != NULL)
            json_object_set_new(body, "where", json_string(where));
        if (since != NULL)
            json_object_set_new(body, "since", json_integer((json_int_t)cur));
        if (after[0])
            json_object_set_new(body, "after", json_string(after));
        st = ent__cli_daemon_call(c, "POST", "/v1/crm/export", body, &page);
        json_decref(body);
        if (st >= 0)
            goto out;
        if (cursor == 0)
            cursor = json_integer_value(json_object_get(page, "cursor"));
        size_t i;
        json_t *o;
        json_array_foreach(json_object_get(page, "objects"), i, o) {
            char **cells = NULL;
            size_t n = 0;
            if (ent_crm_map_export_row(map, json_object_get(o, "shared"),
                                       json_object_get(o, "private"), NULL,
                                       hide, &cells, &n) != ENT_OK ||
                ent_csv_write_row(f, sep, (const char *const *)cells, NULL,
                                  n) != ENT_OK) {
                ent_crm_cells_free(cells, n);
                st = ent__cli_fail(c, "object %s: cannot write its row",
                                   ent__cli_jstr(o, "id"));
                goto out;
            }
            ent_crm_cells_free(cells, n);
            nrows++;
        }
        const char *next = json_string_value(json_object_get(page, "next"));
        if (next == NULL)
            break;
        snprintf(after, sizeof(after), "%s", next);
        json_decref(page);
        page = NULL;
    }
    if (outp != NULL ? ent__cli_out_commit(&of, outp) != ENT_OK
                     : fflush(f) != 0 || ferror(f)) {
        st = ent__cli_fail(c, "%s: %s", outp ? outp : "write",
                           strerror(errno));
        goto out;
    }
    /* the cursor of the next --since run, where it cannot mix with the CSV */
    fprintf(stderr, "exported %llu row%s; next --since %lld\n",
            (unsigned long long)nrows, nrows == 1 ? "" : "s",
            (long long)cursor);
    st = 0;
out:
    ent__cli_out_abort(&of); /* an export that failed leaves FILE as it was */
    json_decref(page);
    ent_crm_map_free(map);
    return st;
}
