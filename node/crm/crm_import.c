/*
 * crm_import.c - the upsert of a batch of CRM rows in one write
 * transaction (crm_import.h, spec/crm.md §3).
 *
 * Each row is first resolved against the template (every value parsed by
 * the value rules) without writing anything: a bad value rejects the row
 * on the spot. Then its external id is looked up; the values that differ
 * from the object's current ones are written by the engine inside the
 * batch's transaction. The creates of new ids are prepared and signed on
 * a second thread, beside the batch's transaction (spec/crm.md §3). A
 * refusal that comes after a row has started writing (its role, an
 * owner-only field, the workflow rules) marks the row rejected and runs
 * the transaction again without it: a row is all in the commit or not at
 * all.
 */
#include "node/crm/crm_import.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/objects/template.h"

#define KEY_MAX                                                                \
    (ENT_CRM_SOURCE_MAX + 1 + ENT_TPL_TYPE_MAX + 1 + ENT_CRM_EXTID_MAX)
/* an object's external id for a source, in table "obj_local" (numbered:
 * a new object's row goes to the end): object id || 'x' || source ->
 * external id */
#define EXT_TAG 'x'
#define EXT_PREFIX_LEN (ENT_OBJ_ID_LEN + 1)

const char *ent_crm_outcome_name(ent_crm_outcome o) {
    switch (o) {
    case ENT_CRM_CREATED:
        return "created";
    case ENT_CRM_UPDATED:
        return "updated";
    case ENT_CRM_UNCHANGED:
        return "unchanged";
    default:
        return "rejected";
    }
}

static int make_key(const char *source, const char *type, const char *extid,
                    uint8_t key[KEY_MAX], size_t *klen) {
    size_t s = strlen(source), t = strlen(type), e = strlen(extid);
    if (s == 0 || s > ENT_CRM_SOURCE_MAX || t == 0 || t > ENT_TPL_TYPE_MAX ||
        e == 0 || e > ENT_CRM_EXTID_MAX)
        return ENT_EINVAL;
    memcpy(key, source, s);
    key[s] = 0;
    memcpy(key + s + 1, type, t);
    key[s + 1 + t] = 0;
    memcpy(key + s + t + 2, extid, e);
    *klen = s + t + 2 + e;
    return ENT_OK;
}

int ent_crm_lookup(ent_txn *txn, const char *source, const char *type,
                   const char *extid, uint8_t id[ENT_OBJ_ID_LEN]) {
    uint8_t key[KEY_MAX];
    size_t klen, vlen;
    const void *val;
    int rc = make_key(source, type, extid, key, &klen);
    if (rc != ENT_OK)
        return rc;
    rc = ent_txn_get(txn, ENT_TBL_CRM_IDS, key, klen, &val, &vlen);
    if (rc != ENT_OK)
        return rc;
    if (vlen != ENT_OBJ_ID_LEN)
        return ENT_ECORRUPT;
    memcpy(id, val, ENT_OBJ_ID_LEN);
    return ENT_OK;
}

static int ids_fn(void *data, const void *key, size_t klen, const void *val,
                  size_t vlen) {
    json_t *o = data;
    char src[ENT_CRM_SOURCE_MAX + 1], ext[ENT_CRM_EXTID_MAX + 1];
    size_t sl = klen - EXT_PREFIX_LEN;
    if (sl == 0 || sl > ENT_CRM_SOURCE_MAX || vlen == 0 ||
        vlen > ENT_CRM_EXTID_MAX)
        return ENT_ECORRUPT;
    memcpy(src, (const uint8_t *)key + EXT_PREFIX_LEN, sl);
    src[sl] = '\0';
    memcpy(ext, val, vlen);
    ext[vlen] = '\0';
    if (!ent_text_valid(ext, vlen))
        return ENT_ECORRUPT;
    return json_object_set_new(o, src, json_string(ext)) == 0 ? 0 : ENT_ENOMEM;
}

int ent_crm_external_ids(ent_txn *txn, const uint8_t id[ENT_OBJ_ID_LEN],
                         json_t **out) {
    uint8_t prefix[EXT_PREFIX_LEN];
    json_t *o = json_object();
    int rc;
    *out = NULL;
    if (o == NULL)
        return ENT_ENOMEM;
    memcpy(prefix, id, ENT_OBJ_ID_LEN);
    prefix[ENT_OBJ_ID_LEN] = EXT_TAG;
    rc =
        ent_txn_scan(txn, ENT_TBL_OBJ_LOCAL, prefix, sizeof(prefix), ids_fn, o);
    if (rc != ENT_OK || json_object_size(o) == 0) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return ENT_OK;
}

typedef struct batch_ctx {
    ent_objects *eng;
    const char *type, *source;
    const ent_crm_row *rows;
    size_t n;
    bool dry;
    ent_crm_result *res;
    bool *out; /* rows rejected in an earlier attempt */
    ent_op **ops;
    size_t nops;
    bool rerun, dry_done;
    ent_obj_input *chg; /* scratch: the changed inputs of a row */
    /* the new rows of the attempt: header time, prepared create, and
     * prepare's answer and message (worker) */
    bool *fresh;
    uint64_t *hlc;
    ent_obj_prepared **prep;
    int *prc;
    char **perr;
} batch_ctx;

static void drop_prep(batch_ctx *c) {
    for (size_t i = 0; c->prep != NULL && i < c->n; i++) {
        ent_obj_prepared_free(c->prep[i]);
        c->prep[i] = NULL;
        free(c->perr[i]);
        c->perr[i] = NULL;
        c->prc[i] = ENT_OK;
        c->fresh[i] = false;
    }
}

static void drop_ops(batch_ctx *c) {
    for (size_t i = 0; i < c->nops; i++)
        ent_op_free(c->ops[i]);
    c->nops = 0;
}

static bool row_error(int rc) {
    return rc == ENT_EINVAL || rc == ENT_ESCHEMA || rc == ENT_ETOOBIG ||
           rc == ENT_ELIMIT || rc == ENT_EDENIED || rc == ENT_EBADVALUE ||
           rc == ENT_ENOTMEMBER;
}

static void reject(batch_ctx *c, size_t i, const char *why) {
    c->res[i].outcome = ENT_CRM_REJECTED;
    snprintf(c->res[i].err, sizeof(c->res[i].err), "%s", why);
    c->out[i] = true;
}

/* The current value of the field r resolves, as JSON (borrowed), or NULL. */
static const json_t *current(const json_t *state, const ent_resolved *r) {
    const json_t *m = json_object_get(
        state, r->visibility == ENT_VIS_PRIVATE ? "private" : "shared");
    return m ? json_object_get(m, r->field) : NULL;
}

static bool same(const json_t *cur, const ent_value *v) {
    json_t *j = NULL;
    bool eq;
    if (ent_value_to_json(v, &j) != ENT_OK)
        return false;
    eq = cur == NULL ? json_is_null(j) : json_equal((json_t *)cur, j);
    json_decref(j);
    return eq;
}

/* The two rows of the new object of row i: in crm_ids, source, type,
 * external id -> object; in obj_local, object, 'x', source -> external
 * id. */
static int put_ids(batch_ctx *c, ent_txn *txn, size_t i, const uint8_t *key,
                   size_t klen) {
    const ent_crm_row *row = &c->rows[i];
    const uint8_t *id = c->res[i].id;
    uint8_t rkey[EXT_PREFIX_LEN + ENT_CRM_SOURCE_MAX];
    size_t sl = strlen(c->source);
    int rc = ent_txn_put(txn, ENT_TBL_CRM_IDS, key, klen, id, ENT_OBJ_ID_LEN,
                         0);
    if (rc != ENT_OK)
        return rc;
    memcpy(rkey, id, ENT_OBJ_ID_LEN);
    rkey[ENT_OBJ_ID_LEN] = EXT_TAG;
    memcpy(rkey + EXT_PREFIX_LEN, c->source, sl);
    return ent_txn_put(txn, ENT_TBL_OBJ_LOCAL, rkey, EXT_PREFIX_LEN + sl,
                       row->extid, strlen(row->extid), 0);
}

/* Row i's result cleared, its crm_ids key (key, *klen) and whether its
 * external id is known (*known; res->id is then its object): ENT_OK, or a
 * storage error; a key that cannot be made rejects the row (*known false,
 * c->out[i] set). */
static int row_lookup(batch_ctx *c, ent_txn *txn, size_t i,
                      uint8_t key[KEY_MAX], size_t *klen, bool *known) {
    ent_crm_result *res = &c->res[i];
    memset(res, 0, sizeof(*res));
    *known = false;
    if (make_key(c->source, c->type, c->rows[i].extid, key, klen) != ENT_OK) {
        reject(c, i, "bad external id");
        return ENT_OK;
    }
    int rc = ent_crm_lookup(txn, c->source, c->type, c->rows[i].extid, res->id);
    *known = rc == ENT_OK;
    return rc == ENT_OK || rc == ENT_ENOENT ? ENT_OK : rc;
}

/* First pass over a row: its external id looked up; a new one gets its
 * create's header time now (c->fresh[i], c->hlc[i]), in row order; a
 * known one is left to do_row. */
static int first_pass_row(batch_ctx *c, ent_txn *txn, size_t i) {
    uint8_t key[KEY_MAX];
    size_t klen;
    bool known;
    int rc = row_lookup(c, txn, i, key, &klen, &known);
    if (rc != ENT_OK || known || c->out[i])
        return rc;
    c->fresh[i] = true;
    return ent_obj_hlc_take(c->eng, &c->hlc[i]);
}

/*
 * The creates of a batch's new rows, prepared and sealed on a thread of
 * their own, in row order, in a read transaction beside the batch's
 * (ent_store_read_beside: it sees what the batch's transaction began
 * from), while the batch commits the rows before them. A row the worker
 * did not reach (no thread, or no read transaction beside this one) is
 * prepared by the batch's thread itself.
 */
typedef struct worker {
    batch_ctx *c;
    ent_txn *txn;              /* the batch's write transaction */
    const ent_template *tpl;
    size_t done;               /* rows [0, done) handled */
    bool stop, finished, running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
} worker;

static bool worker_stopped(worker *w) {
    pthread_mutex_lock(&w->mu);
    bool stop = w->stop;
    pthread_mutex_unlock(&w->mu);
    return stop;
}

static int work_fn(ent_txn *rtxn, void *data) {
    worker *w = data;
    batch_ctx *c = w->c;
    for (size_t i = 0; i < c->n && !worker_stopped(w); i++) {
        if (c->fresh[i]) {
            const ent_crm_row *row = &c->rows[i];
            char err[ENT_OBJ_ERR_MAX] = "";
            int rc = ent_obj_create_prepare_as(c->eng, rtxn, w->tpl, c->hlc[i],
                                               row->in, row->n, &c->prep[i],
                                               err, sizeof(err));
            if (rc == ENT_OK)
                ent_obj_prepared_seal(c->prep[i]);
            else if (err[0] != '\0')
                c->perr[i] = strdup(err); /* NULL: the error's name */
            c->prc[i] = rc;
        }
        pthread_mutex_lock(&w->mu);
        w->done = i + 1;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    return ENT_OK;
}

static void *work_main(void *arg) {
    worker *w = arg;
    (void)ent_store_read_beside(w->txn, work_fn, w); /* else: rows left */
    pthread_mutex_lock(&w->mu);
    w->finished = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void worker_start(worker *w, batch_ctx *c, ent_txn *txn,
                         const ent_template *tpl) {
    memset(w, 0, sizeof(*w));
    w->c = c;
    w->txn = txn;
    w->tpl = tpl;
    if (pthread_mutex_init(&w->mu, NULL) != 0)
        return;
    if (pthread_cond_init(&w->cv, NULL) != 0) {
        pthread_mutex_destroy(&w->mu);
        return;
    }
    w->running = pthread_create(&w->th, NULL, work_main, w) == 0;
    if (!w->running) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
    }
}

/* Waits until the worker handled row i (true) or ended before it
 * (false: the caller prepares the row). */
static bool worker_wait(worker *w, size_t i) {
    if (!w->running)
        return false;
    pthread_mutex_lock(&w->mu);
    while (w->done <= i && !w->finished)
        pthread_cond_wait(&w->cv, &w->mu);
    bool handled = w->done > i;
    pthread_mutex_unlock(&w->mu);
    return handled;
}

static void worker_stop(worker *w) {
    if (!w->running)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    w->running = false;
}

/* Second pass over a new row: its create prepared (by the worker, else
 * here) and committed, with the rows of its external id (put_ids); a
 * refusal of prepare rejects the row, which has written nothing. */
static int finish_row(batch_ctx *c, ent_txn *txn, worker *w, size_t i) {
    const ent_crm_row *row = &c->rows[i];
    ent_crm_result *res = &c->res[i];
    uint8_t key[KEY_MAX];
    size_t klen;
    ent_op *op = NULL;
    char err[ENT_OBJ_ERR_MAX] = "";
    int rc;
    if (worker_wait(w, i)) {
        rc = c->prc[i];
        if (rc != ENT_OK && c->perr[i] != NULL)
            snprintf(err, sizeof(err), "%s", c->perr[i]);
    } else {
        rc = ent_obj_create_prepare_as(c->eng, txn, w->tpl, c->hlc[i], row->in,
                                       row->n, &c->prep[i], err, sizeof(err));
    }
    if (rc != ENT_OK) {
        if (!row_error(rc) && rc != ENT_ENOENT)
            return rc;
        reject(c, i, err[0] ? err : ent_strerror(rc)); /* nothing written */
        return ENT_OK;
    }
    rc = make_key(c->source, c->type, row->extid, key, &klen);
    if (rc == ENT_OK)
        rc = ent_obj_create_finish_txn(txn, c->prep[i], res->id, &op, err,
                                       sizeof(err));
    if (rc == ENT_OK)
        rc = put_ids(c, txn, i, key, klen);
    if (rc != ENT_OK) {
        ent_op_free(op);
        if (!row_error(rc))
            return rc;
        /* the row may have written: run the batch again without it */
        reject(c, i, err[0] ? err : ent_strerror(rc));
        c->rerun = true;
        return ENT_EAGAIN;
    }
    c->ops[c->nops++] = op;
    res->outcome = ENT_CRM_CREATED;
    res->changed = row->n;
    return ENT_OK;
}

/* One row; returns ENT_OK (res filled, maybe rejected), or ENT_EAGAIN with
 * c->rerun set, or a batch error. */
static int do_row(batch_ctx *c, ent_txn *txn, const ent_template *tpl,
                  size_t i) {
    const ent_crm_row *row = &c->rows[i];
    ent_crm_result *res = &c->res[i];
    uint8_t key[KEY_MAX];
    size_t klen, nchg = 0;
    json_t *state = NULL;
    ent_op *op = NULL;
    char err[ENT_OBJ_ERR_MAX] = "";
    bool exists;
    int rc = row_lookup(c, txn, i, key, &klen, &exists);
    if (rc != ENT_OK || c->out[i])
        return rc;
    if (exists) {
        rc = ent_obj_state_json_txn(txn, res->id, &state);
        if (rc == ENT_ENOENT)
            exists = false; /* the object is gone: create it again */
        else if (rc != ENT_OK)
            return rc;
    }
    /* every value first, writing nothing */
    for (size_t k = 0; k < row->n; k++) {
        ent_resolved r;
        rc = ent_template_resolve_as(
            tpl, txn, row->in[k].name, row->in[k].text,
            row->in[k].how == ENT_IN_PRIVATE  ? ENT_RESOLVE_PRIVATE
            : row->in[k].how == ENT_IN_CUSTOM ? ENT_RESOLVE_CUSTOM
                                              : ENT_RESOLVE_SHARED,
            &r, err, sizeof(err));
        if (rc != ENT_OK) {
            json_decref(state);
            if (!row_error(rc) && rc != ENT_ENOENT)
                return rc;
            reject(c, i, err[0] ? err : ent_strerror(rc));
            return ENT_OK;
        }
        if (!exists || !same(current(state, &r), &r.value))
            c->chg[nchg++] = row->in[k];
        ent_value_clear(&r.value);
    }
    json_decref(state);
    if (exists && nchg == 0) {
        res->outcome = ENT_CRM_UNCHANGED;
        return ENT_OK;
    }
    if (exists)
        rc = ent_obj_set_txn(c->eng, txn, res->id, c->chg, nchg, &op, err,
                             sizeof(err));
    else
        rc = ent_obj_create_txn(c->eng, txn, c->type, c->chg, nchg, res->id,
                                &op, err, sizeof(err));
    if (rc == ENT_OK && !exists)
        rc = put_ids(c, txn, i, key, klen);
    if (rc != ENT_OK) {
        if (!row_error(rc))
            return rc;
        /* the row may have written: run the batch again without it */
        reject(c, i, err[0] ? err : ent_strerror(rc));
        c->rerun = true;
        return ENT_EAGAIN;
    }
    if (op != NULL)
        c->ops[c->nops++] = op;
    res->outcome = exists ? ENT_CRM_UPDATED : ENT_CRM_CREATED;
    res->changed = nchg;
    return ENT_OK;
}

static int batch_fn(ent_txn *txn, void *data) {
    batch_ctx *c = data;
    ent_template *tpl = NULL;
    int rc;
    worker w;
    memset(&w, 0, sizeof(w));
    drop_ops(c);
    drop_prep(c);
    c->rerun = false;
    rc = ent_template_get(txn, c->type, &tpl);
    if (rc != ENT_OK)
        return rc;
    /* the ids first, and a header time for each new row; then the new
     * rows are prepared and sealed on another thread while the rows
     * commit in order (spec/crm.md §3, §8) */
    for (size_t i = 0; i < c->n && rc == ENT_OK; i++)
        if (!c->out[i])
            rc = first_pass_row(c, txn, i);
    if (rc == ENT_OK)
        worker_start(&w, c, txn, tpl);
    for (size_t i = 0; i < c->n && rc == ENT_OK; i++)
        if (!c->out[i])
            rc = c->fresh[i] ? finish_row(c, txn, &w, i)
                             : do_row(c, txn, tpl, i);
    worker_stop(&w);
    drop_prep(c);
    ent_template_free(tpl);
    if (rc == ENT_OK && c->dry) {
        c->dry_done = true;
        return ENT_EAGAIN; /* abort: a dry run changes nothing */
    }
    return rc;
}

typedef struct dup_ent {
    const char *extid;
    size_t row;
} dup_ent;

/* By external id, then by row. */
static int by_extid(const void *a, const void *b) {
    const dup_ent *x = a, *y = b;
    int d = strcmp(x->extid, y->extid);
    return d != 0 ? d : (x->row > y->row) - (x->row < y->row);
}

/* Rejects every row whose external id an earlier row of the batch has
 * (rows already out do not count): one sort instead of comparing every
 * pair of rows. */
static int reject_duplicates(batch_ctx *c) {
    dup_ent *e = malloc((c->n + 1) * sizeof(*e));
    size_t m = 0;
    if (e == NULL)
        return ENT_ENOMEM;
    for (size_t i = 0; i < c->n; i++)
        if (!c->out[i])
            e[m++] = (dup_ent){c->rows[i].extid, i};
    qsort(e, m, sizeof(*e), by_extid);
    for (size_t j = 1; j < m; j++)
        if (strcmp(e[j].extid, e[j - 1].extid) == 0) {
            char why[ENT_OBJ_ERR_MAX];
            snprintf(why, sizeof(why),
                     "external id \"%.150s\" is already on an earlier row "
                     "of the batch",
                     e[j].extid);
            reject(c, e[j].row, why);
        }
    free(e);
    return ENT_OK;
}

int ent_crm_import_batch(ent_objects *eng, ent_store *store, const char *type,
                         const char *source, const ent_crm_row *rows, size_t n,
                         bool dry_run, ent_crm_result *res, ent_op ***ops,
                         size_t *nops) {
    batch_ctx c;
    int rc;
    if (ops)
        *ops = NULL;
    if (nops)
        *nops = 0;
    if (eng == NULL || store == NULL || type == NULL || source == NULL ||
        (rows == NULL && n > 0) || res == NULL || n > ENT_CRM_BATCH_MAX)
        return ENT_EINVAL;
    memset(&c, 0, sizeof(c));
    c.eng = eng;
    c.type = type;
    c.source = source;
    c.rows = rows;
    c.n = n;
    c.dry = dry_run;
    c.res = res;
    c.out = calloc(n + 1, sizeof(bool));
    c.ops = calloc(n + 1, sizeof(ent_op *));
    c.chg = calloc(ENT_CRM_ROW_INPUTS_MAX + 1, sizeof(ent_obj_input));
    c.prep = calloc(n + 1, sizeof(*c.prep));
    c.fresh = calloc(n + 1, sizeof(*c.fresh));
    c.hlc = calloc(n + 1, sizeof(*c.hlc));
    c.prc = calloc(n + 1, sizeof(*c.prc));
    c.perr = calloc(n + 1, sizeof(*c.perr));
    if (c.out == NULL || c.ops == NULL || c.chg == NULL || c.prep == NULL ||
        c.fresh == NULL || c.hlc == NULL || c.prc == NULL || c.perr == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    /* an external id twice in the batch: the later rows are rejected */
    for (size_t i = 0; i < n; i++) {
        char why[ENT_OBJ_ERR_MAX];
        memset(&res[i], 0, sizeof(res[i]));
        if (rows[i].n > ENT_CRM_ROW_INPUTS_MAX || rows[i].extid == NULL)
            reject(&c, i, "too many fields or no external id");
        else if (ent_crm_extid_check(rows[i].extid, strlen(rows[i].extid),
                                     why, sizeof(why)) != ENT_OK)
            reject(&c, i, why); /* the CLI's rule: a stored id is read back */
    }
    if ((rc = reject_duplicates(&c)) != ENT_OK)
        goto out;
    do {
        c.dry_done = false;
        rc = ent_store_write(store, batch_fn, &c);
    } while (rc == ENT_EAGAIN && c.rerun);
    if (rc == ENT_EAGAIN && c.dry_done)
        rc = ENT_OK;
    if (rc != ENT_OK || dry_run) {
        drop_ops(&c);
        if (rc != ENT_OK)
            goto out;
    }
    /* rows rejected by an earlier attempt keep their result */
    if (ops != NULL) {
        *ops = c.ops;
        *nops = c.nops;
        c.ops = NULL;
    } else {
        drop_ops(&c);
    }
out:
    if (c.ops != NULL)
        drop_ops(&c);
    free(c.ops);
    free(c.out);
    free(c.chg);
    if (c.perr != NULL && c.prc != NULL && c.fresh != NULL)
        drop_prep(&c);
    free(c.prep);
    free(c.fresh);
    free(c.hlc);
    free(c.prc);
    free(c.perr);
    return rc;
}
