/*
 * cli_config.c - the configuration tables from the command line: `config
 * list` (every table, built-in or stored), `config show TABLE` (its
 * values; `config get TABLE` is the same) and `config set TABLE VALUE...`
 * (replace its values). The enum fields of templates take their allowed
 * values from these tables (spec/objects.md "Configuration tables"). Like
 * the settings (cli_node.c), they go through the running node's API
 * (GET /v1/config-tables, GET and PUT /v1/config/NAME) and, with no node
 * running, through the home's store directly.
 */
#include "node/cli/cli_int.h"
#include "node/cli/client.h"
#include "node/err.h"
#include "node/objects/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The stages of a type are its template's, never a table (one list). */
#define STAGES_TABLE "stages"

/* What one offline transaction reads or writes. */
typedef struct table_io {
    const char *name;           /* NULL: every table */
    const char *const *values;  /* set: the new values */
    size_t n;
    json_t *doc;                /* the answer the API would give */
} table_io;

/* {"name","values"} of one list. */
static json_t *list_doc(const char *name, const ent_strlist *l) {
    json_t *vals = json_array();
    for (size_t i = 0; vals != NULL && i < l->n; i++)
        if (json_array_append_new(vals, json_string(l->v[i])) != 0) {
            json_decref(vals);
            vals = NULL;
        }
    return vals != NULL ? json_pack("{s:s,s:o}", "name", name, "values", vals)
                        : NULL;
}

static int table_txn(ent_txn *txn, void *data) {
    table_io *io = data;
    ent_strlist l = {0}, stored = {0}, all = {0};
    int rc = ENT_OK;
    json_decref(io->doc);
    io->doc = NULL;
    if (io->name != NULL && io->values != NULL)
        rc = ent_config_put_list(txn, io->name, io->values, io->n);
    if (rc == ENT_OK && io->name != NULL) {
        rc = ent_config_get_list(txn, io->name, &l);
        if (rc == ENT_OK && (io->doc = list_doc(io->name, &l)) == NULL)
            rc = ENT_ENOMEM;
    } else if (rc == ENT_OK) {
        rc = ent_config_tables(txn, &stored, &all);
        if (rc == ENT_OK && (io->doc = json_array()) == NULL)
            rc = ENT_ENOMEM;
        for (size_t i = 0; rc == ENT_OK && i < all.n; i++) {
            bool st = false;
            for (size_t k = 0; k < stored.n && !st; k++)
                st = strcmp(stored.v[k], all.v[i]) == 0;
            ent_strlist_free(&l);
            if ((rc = ent_config_get_list(txn, all.v[i], &l)) != ENT_OK)
                break;
            json_t *row = list_doc(all.v[i], &l);
            if (row == NULL ||
                json_object_set_new(row, "builtin",
                                    json_boolean(ent_config_builtin_table(
                                        all.v[i]))) != 0 ||
                json_object_set_new(row, "stored", json_boolean(st)) != 0 ||
                json_array_append_new(io->doc, row) != 0)
                rc = ENT_ENOMEM;
        }
    }
    ent_strlist_free(&l);
    ent_strlist_free(&stored);
    ent_strlist_free(&all);
    return rc;
}

#define TABLE_MISSING (-3) /* table_fetch: no such table, nothing printed */

/*
 * The API's answer for io (GET or PUT), from the running node or, with
 * none, from the store. Returns -1 with io->doc set, TABLE_MISSING when
 * the table does not exist (nothing printed), or the exit status after
 * printing the error.
 */
static int table_fetch(cli *c, table_io *io) {
    char path[128];
    int http = 0, st = -1;
    json_t *body = NULL, *out = NULL;
    if (io->name != NULL)
        snprintf(path, sizeof(path), "/v1/config/%s", io->name);
    else
        snprintf(path, sizeof(path), "/v1/config-tables");
    if (io->values != NULL) {
        json_t *vals = json_array();
        for (size_t i = 0; vals != NULL && i < io->n; i++)
            if (json_array_append_new(vals, json_string(io->values[i])) != 0) {
                json_decref(vals);
                vals = NULL;
            }
        if (vals == NULL ||
            (body = json_pack("{s:o}", "values", vals)) == NULL)
            return ent__cli_fail(c, "%s", ent_strerror(ENT_ENOMEM));
    }
    int rc = ent_client_request(c->home, body ? "PUT" : "GET", path, body,
                                &http, &out);
    if (rc == ENT_ENOTRUNNING) {
        st = ent__cli_offline(c, io->values != NULL, table_txn, io, &rc);
        if (st == -2) {
            st = rc == ENT_ENOENT ? TABLE_MISSING
                 : rc == ENT_EINVAL
                     ? ent__cli_fail(c,
                                     "invalid values for %s: non-empty, "
                                     "distinct text of at most %d bytes each",
                                     io->name, ENT_TPL_VALUE_MAX)
                     : ent__cli_fail(c, "%s: %s", c->home, ent_strerror(rc));
        }
    } else if (rc != ENT_OK) {
        st = ent__cli_fail(c, "%s", ent_strerror(rc));
    } else if (http == 404 && io->values == NULL) {
        st = TABLE_MISSING;
    } else if (http < 200 || http > 299) {
        st = ent__cli_fail(c, "%s", ent_client_error(out));
    } else {
        json_decref(io->doc);
        io->doc = out;
        out = NULL;
        /* versions are the page's (if_version); the CLI prints the same
         * keys with the node running or not */
        json_object_del(io->doc, "version");
        for (size_t i = 0; i < json_array_size(io->doc); i++)
            json_object_del(json_array_get(io->doc, i), "version");
    }
    json_decref(out);
    json_decref(body);
    return st;
}

/* A name that is neither a setting nor a table: exit status 2. */
static int unknown_name(cli *c, const char *name) {
    return ent__cli_usage_error(c,
                                "unknown setting or table '%.80s' (settings: "
                                "advertise, default_currency; tables: see "
                                "entente config list; a new table: config "
                                "set --new TABLE VALUE...)",
                                name);
}

/* A table name argument: -1, or exit status 2 with the rule. */
static int table_arg(cli *c, const char *name) {
    if (strcmp(name, STAGES_TABLE) == 0)
        return ent__cli_fail(c,
                             "the workflow stages of a type are its "
                             "template's \"stages\" (entente template show "
                             "TYPE; change them with entente template set)");
    if (!ent_template_name_valid(name))
        return unknown_name(c, name);
    return -1;
}

static void print_values(const json_t *doc) {
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(doc, "values"), i, v) {
        ent__cli_row(stdout, "", (const char *const[]){json_string_value(v)},
                     (const int[]){0}, 1);
    }
}

int ent__cli_config_table_show(cli *c, const char *name) {
    table_io io = {.name = name};
    int st = table_arg(c, name);
    if (st >= 0 || (st = table_fetch(c, &io)) >= 0)
        return st;
    if (st == TABLE_MISSING)
        return unknown_name(c, name);
    if (c->json)
        ent__cli_print_json(io.doc);
    else
        print_values(io.doc);
    json_decref(io.doc);
    return 0;
}

int ent__cli_config_table_set(cli *c, const char *name) {
    table_io io = {.name = name,
                   .values = (const char *const *)c->args + 1,
                   .n = (size_t)c->nargs - 1};
    int st = table_arg(c, name);
    if (st >= 0)
        return st;
    if (io.n == 0)
        return ent__cli_usage_error(c, "table %s needs at least one VALUE",
                                    name);
    /* a typo must not make a table: a new one takes --new */
    if (ent__cli_opt_value(c, "new") == NULL) {
        table_io probe = {.name = name};
        st = table_fetch(c, &probe);
        json_decref(probe.doc);
        if (st == TABLE_MISSING)
            return unknown_name(c, name);
        if (st >= 0)
            return st;
    }
    if ((st = table_fetch(c, &io)) >= 0)
        return st;
    if (c->json)
        ent__cli_print_json(io.doc);
    json_decref(io.doc);
    return 0;
}

int ent__cli_cmd_config_show(cli *c) {
    return ent__cli_config_table_show(c, c->args[0]);
}

int ent__cli_cmd_config_list(cli *c) {
    table_io io = {0};
    size_t i;
    json_t *row;
    int st = table_fetch(c, &io);
    if (st >= 0 || st == TABLE_MISSING)
        return st >= 0 ? st : ent__cli_fail(c, "no configuration tables");
    if (c->json) {
        ent__cli_print_json(io.doc);
    } else {
        json_array_foreach(io.doc, i, row) {
            bool b = json_is_true(json_object_get(row, "builtin"));
            bool s = json_is_true(json_object_get(row, "stored"));
            char n[32];
            snprintf(n, sizeof(n), "%zu value%s",
                     json_array_size(json_object_get(row, "values")),
                     json_array_size(json_object_get(row, "values")) == 1
                         ? ""
                         : "s");
            ent__cli_row(stdout, "",
                         (const char *const[]){
                             ent__cli_jstr(row, "name"),
                             s && b ? "stored (overrides the built-in)"
                             : s    ? "stored"
                                    : "built-in",
                             n},
                         (const int[]){20, 31, 0}, 3);
        }
    }
    json_decref(io.doc);
    return 0;
}
