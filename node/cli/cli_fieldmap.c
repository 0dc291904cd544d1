/*
 * cli_fieldmap.c - `entente fieldmap set|show|remove` (spec/cli.md
 * "fieldmap", spec/reports.md "Field maps"): this org's own names for the
 * fields and values of an object type, used by reports and CRM mapping
 * files. Through the running node's API (GET, PUT and DELETE
 * /v1/fieldmaps/TYPE) and, with no node running, through the home's store
 * directly, as `entente config` does. A map is local: it never leaves the
 * node.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/cli/cli_int.h"
#include "node/cli/client.h"
#include "node/err.h"
#include "node/objects/fieldmap.h"

/* What one offline transaction does (the API's answer in doc). */
typedef struct fm_io {
    const char *type; /* NULL: every map */
    const json_t *put;
    bool del;
    json_t *doc;
    char err[ENT_FM_ERR_MAX];
} fm_io;

static int fm_txn(ent_txn *txn, void *data) {
    fm_io *io = data;
    ent_fieldmap *m = NULL;
    int rc;
    json_decref(io->doc);
    io->doc = NULL;
    if (io->type == NULL)
        return ent_fieldmap_list(txn, &io->doc);
    if (io->del) {
        rc = ent_fieldmap_del(txn, io->type);
        if (rc == ENT_OK && (io->doc = json_pack("{s:s,s:b}", "type", io->type,
                                                 "removed", 1)) == NULL)
            rc = ENT_ENOMEM;
        return rc;
    }
    if (io->put != NULL && (rc = ent_fieldmap_put(txn, io->put, io->err,
                                                  sizeof(io->err))) != ENT_OK)
        return rc;
    if ((rc = ent_fieldmap_get(txn, io->type, &m)) != ENT_OK)
        return rc;
    io->doc = ent_fieldmap_to_json(m);
    ent_fieldmap_free(m);
    return io->doc != NULL ? ENT_OK : ENT_ENOMEM;
}

/*
 * io's request to the running node or, with none, to the store. Returns
 * -1 with io->doc set, or the exit status after printing the error.
 */
static int fm_fetch(cli *c, fm_io *io, const char *method) {
    char path[64];
    int http = 0, st = -1;
    json_t *out = NULL;
    snprintf(path, sizeof(path), "/v1/fieldmaps%s%s", io->type ? "/" : "",
             io->type ? io->type : "");
    int rc = ent_client_request(c->home, method, path, io->put, &http, &out);
    if (rc == ENT_ENOTRUNNING) {
        st = ent__cli_offline(c, io->put != NULL || io->del, fm_txn, io, &rc);
        if (st == -2)
            st = rc == ENT_ENOENT && io->err[0] == '\0'
                     ? ent__cli_fail(c, "no field map of type %s", io->type)
                 : io->err[0] != '\0'
                     ? ent__cli_fail(c, "%s", io->err)
                     : ent__cli_fail(c, "%s: %s", c->home, ent_strerror(rc));
    } else if (rc != ENT_OK) {
        st = ent__cli_fail(c, "%s", ent_strerror(rc));
    } else if (http < 200 || http > 299) {
        st = ent__cli_fail(c, "%s", ent_client_error(out));
    } else {
        io->doc = out;
        out = NULL;
    }
    json_decref(out);
    return st;
}

/* One map as lines: "field  OWN -> SHARED", "value  FIELD: OWN -> SHARED". */
static void print_map(const json_t *m) {
    const char *k, *k2;
    json_t *v, *v2;
    char line[1024];
    json_object_foreach(json_object_get(m, "fields"), k, v) {
        snprintf(line, sizeof(line), "%s -> %s", k, json_string_value(v));
        ent__cli_row(
            stdout, "",
            (const char *const[]){ent__cli_jstr(m, "type"), "field", line},
            (const int[]){16, 5, 0}, 3);
    }
    json_object_foreach(json_object_get(m, "values"), k, v) {
        json_object_foreach(v, k2, v2) {
            snprintf(line, sizeof(line), "%s: %s -> %s", k, k2,
                     json_string_value(v2));
            ent__cli_row(
                stdout, "",
                (const char *const[]){ent__cli_jstr(m, "type"), "value", line},
                (const int[]){16, 5, 0}, 3);
        }
    }
}

static int type_arg(cli *c, const char *type) {
    if (!ent_template_type_valid(type))
        return ent__cli_usage_error(c,
                                    "'%.40s' is not a type name "
                                    "([a-z][a-z0-9_]{0,31})",
                                    type);
    return -1;
}

int ent__cli_cmd_fieldmap_set(cli *c) {
    char err[ENT_FM_ERR_MAX] = "";
    json_t *doc = NULL;
    fm_io io = {.type = c->args[0]};
    int st = type_arg(c, c->args[0]);
    if (st >= 0)
        return st;
    int rc = ent_fieldmap_doc_from_args(
        c->args[0], (const char *const *)c->args + 1, (size_t)c->nargs - 1,
        &doc, err, sizeof(err));
    if (rc != ENT_OK)
        return rc == ENT_ENOMEM ? ent__cli_fail(c, "%s", ent_strerror(rc))
                                : ent__cli_usage_error(c, "%s", err);
    io.put = doc;
    st = fm_fetch(c, &io, "PUT");
    json_decref(doc);
    if (st >= 0)
        return st;
    if (c->json)
        ent__cli_print_json(io.doc);
    json_decref(io.doc);
    return 0;
}

int ent__cli_cmd_fieldmap_show(cli *c) {
    fm_io io = {.type = c->nargs > 0 ? c->args[0] : NULL};
    size_t i;
    json_t *m;
    int st = io.type != NULL ? type_arg(c, io.type) : -1;
    if (st >= 0 || (st = fm_fetch(c, &io, "GET")) >= 0)
        return st;
    if (c->json)
        ent__cli_print_json(io.doc);
    else if (io.type != NULL)
        print_map(io.doc);
    else
        json_array_foreach(io.doc, i, m) print_map(m);
    json_decref(io.doc);
    return 0;
}

int ent__cli_cmd_fieldmap_remove(cli *c) {
    fm_io io = {.type = c->args[0], .del = true};
    int st = type_arg(c, c->args[0]);
    if (st >= 0 || (st = fm_fetch(c, &io, "DELETE")) >= 0)
        return st;
    if (c->json)
        ent__cli_print_json(io.doc);
    json_decref(io.doc);
    return 0;
}

static const cli_opt fm_no_opts[] = {{NULL, NULL, NULL}};

const cli_cmd ent__cli_fieldmap_cmds[] = {
    {"set", ent__cli_cmd_fieldmap_set,
     "set this org's own names for a type's fields and values",
     "fieldmap set TYPE OWN=SHARED... FIELD:OWN=SHARED... [--json]",
     "Replaces the field map of object type TYPE with the mappings given: "
     "OWN=SHARED names a shared field of the type's template by this "
     "org's own name (opp_title=name); FIELD:OWN=SHARED names a value of "
     "field FIELD (its own or shared name) by this org's own value "
     "('stage:Qualify=Qualification'; the own value ends at the first "
     "'='). Reports, report views and CRM mapping files then take and "
     "print the own names. Refused, with the reason and nothing stored: a "
     "field the template lacks, a value the field does not allow, two own "
     "names (values) onto one shared one, a cycle or chain, an own name "
     "that is a field of the template or a report column (partner, "
     "partnered, month, quarter, year, none), a name over 64 bytes. The map "
     "stays on this node: it is never sent to partners. Works with or "
     "without a running node. Prints nothing (with --json: the stored map "
     "{\"type\",\"fields\",\"values\"}).",
     fm_no_opts, 2, ENT_FM_ARGS_MAX + 1, NULL},
    {"show", ent__cli_cmd_fieldmap_show, "show this org's field maps",
     "fieldmap show [TYPE] [--json]",
     "Prints the field map of TYPE, or every map, one mapping per line: "
     "type, field or value, then OWN -> SHARED. With --json: "
     "{\"type\",\"fields\",\"values\"} (fields: own name -> shared name; "
     "values: shared field -> {own value -> shared value}), or an array "
     "of them without TYPE.",
     fm_no_opts, 0, 1, NULL},
    {"remove", ent__cli_cmd_fieldmap_remove, "remove the field map of a type",
     "fieldmap remove TYPE [--json]",
     "Removes the field map of TYPE: reports and CRM maps use the shared "
     "names again. Prints nothing (with --json: {\"type\",\"removed\"}).",
     fm_no_opts, 1, 1, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
