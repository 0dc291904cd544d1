/*
 * cli_backup.c - `entente backup DIR`, `entente backup verify DIR` and
 * `entente restore DIR HOME` (node/backup/backup.h, spec/operations.md).
 *
 * None of them needs the node to be stopped or running: a backup reads
 * the store read-only (a consistent view while the node writes), verify
 * and restore read only the backup folder (restore writes a new home).
 * `entente restore done` asks the running node, else changes the store.
 */
#include "node/backup/backup.h"
#include "node/cli/cli.h"
#include "node/cli/cli_int.h"
#include "node/err.h"
#include "node/cli/client.h"
#include "node/home.h"
#include "storage/store.h"

#include <stdio.h>
#include <string.h>

static void print_manifest(const json_t *m) {
    const json_t *db = json_object_get(json_object_get(m, "files"),
                                       "db/data.mdb");
    char n[32];
    printf("backup of %s (%s), schema %lld, %s bytes of store\n",
           ent__cli_jstr(m, "name"), ent__cli_jstr(m, "org"),
           (long long)json_integer_value(json_object_get(m, "schema")),
           ent__cli_fmt_count(n, ent__cli_jint(db, "size")));
}

int ent__cli_cmd_backup(cli *c) {
    char why[512] = "";
    json_t *m = NULL;
    int rc = ent_backup_create(c->home, c->args[0], ENT_VERSION, &c->log, &m,
                               why, sizeof(why));
    if (rc != ENT_OK)
        return ent__cli_fail(c, "%s", why[0] ? why : ent_strerror(rc));
    if (c->json)
        ent__cli_print_json(m);
    else
        print_manifest(m);
    json_decref(m);
    return 0;
}

int ent__cli_cmd_backup_verify(cli *c) {
    char why[512] = "";
    json_t *r = NULL;
    int rc = ent_backup_verify(c->args[0], &c->log, &r, why, sizeof(why));
    if (rc != ENT_OK) {
        if (c->json) {
            json_t *e = json_pack("{s:b,s:s,s:s}", "ok", 0, "code",
                                  ent_err_name(rc), "reason",
                                  why[0] ? why : ent_strerror(rc));
            ent__cli_print_json(e);
            json_decref(e);
        }
        return ent__cli_fail(c, "%s: %s", c->args[0],
                             why[0] ? why : ent_strerror(rc));
    }
    if (c->json) {
        ent__cli_print_json(r);
    } else {
        char a[32], b[32], d[32], t[32];
        printf("ok: backup of %s (%s) taken %s: %s objects, %s ops, %s "
               "log entries, %lld signed heads\n",
               ent__cli_jstr(r, "name"), ent__cli_jstr(r, "org"),
               ent__cli_time(t, json_object_get(r, "created")),
               ent__cli_fmt_count(a, ent__cli_jint(r, "objects")),
               ent__cli_fmt_count(b, ent__cli_jint(r, "ops")),
               ent__cli_fmt_count(d, ent__cli_jint(r, "log_size")),
               (long long)ent__cli_jint(r, "heads"));
    }
    json_decref(r);
    return 0;
}

int ent__cli_cmd_restore(cli *c) {
    char why[768] = "";
    json_t *r = NULL;
    int rc = ent_backup_restore(c->args[0], c->args[1], &c->log, &r, why,
                                sizeof(why));
    if (rc != ENT_OK)
        return ent__cli_fail(c, "%s", why[0] ? why : ent_strerror(rc));
    if (c->json) {
        ent__cli_print_json(r);
    } else {
        char t[32];
        printf("restored the backup of %s (%s) taken %s into %s\n"
               "the node catches up with its partners when it starts: "
               "local writes wait until each has given back our newer ops "
               "(entente status shows it)\n",
               ent__cli_jstr(r, "name"), ent__cli_jstr(r, "org"),
               ent__cli_time(t, json_object_get(r, "created")),
               ent__cli_jstr(r, "home"));
    }
    json_decref(r);
    return 0;
}

struct done_ctx {
    bool was;
};

static int done_txn(struct ent_txn *txn, void *data) {
    struct done_ctx *d = data;
    int rc = ent_home_restoring(txn);
    if (rc != ENT_OK && rc != ENT_ERESTORING)
        return rc;
    d->was = rc == ENT_ERESTORING;
    return ent_home_meta_put(txn, ENT_META_RESTORED, NULL);
}

static const char done_warning[] =
    "warning: local writes allowed before this node has caught up with "
    "its partners: if a partner still holds ops this node signed after "
    "the backup, the next op on that object repeats a sequence number and "
    "partners record an equivocation against this org\n";

int ent__cli_cmd_restore_done(cli *c) {
    json_t *out = NULL;
    int http = 0, st = 0;
    int rc = ent_client_request(c->home, "POST", "/v1/restore/done", NULL,
                                &http, &out);
    if (rc == ENT_ENOTRUNNING) {
        struct done_ctx d = {false};
        int err = ENT_OK;
        st = ent__cli_offline(c, true, done_txn, &d, &err);
        if (st == -2)
            st = ent__cli_fail(c, "%s", ent_strerror(err));
        if (st != -1)
            goto out;
        st = 0;
        if (d.was)
            fputs(done_warning, stderr);
        if (c->json)
        {
            json_t *j = json_pack("{s:b}", "was_catching_up", d.was);
            ent__cli_print_json(j);
            json_decref(j);
        }
        else
            printf(d.was ? "restore mark cleared: the node signs as soon as "
                           "it starts\n"
                         : "this node was not catching up after a restore\n");
        goto out;
    }
    if (rc != ENT_OK) {
        st = ent__cli_fail(c, "%s", ent_strerror(rc));
        goto out;
    }
    if (http != 200) {
        st = ent__cli_fail(c, "%s", ent_client_error(out));
        goto out;
    }
    bool was = json_is_true(json_object_get(out, "was_catching_up"));
    if (was)
        fputs(done_warning, stderr);
    if (c->json)
        ent__cli_print_json(out);
    else if (was)
        printf("local writes allowed (%lld of %lld partners were in sync)\n",
               (long long)ent__cli_jint(out, "in_sync"),
               (long long)ent__cli_jint(out, "partners"));
    else
        printf("this node was not catching up after a restore\n");
out:
    json_decref(out);
    return st;
}

/* ---- the backup and restore sub-commands (cli.c's table points here) --- */

static const cli_opt no_opts[] = {{NULL, NULL, NULL}};

const cli_cmd ent__cli_backup_cmds[] = {
    {"verify", ent__cli_cmd_backup_verify, "check a backup offline",
     "backup verify DIR [--json]",
     "Checks the backup in DIR without any node: its MANIFEST.json is well "
     "formed; db/data.mdb and identity.key have the sizes and BLAKE2b-256 "
     "hashes it lists; the key is the manifest's org; the store opens "
     "read-only with a schema this entente reads and the manifest's name, "
     "and every table reads through; every activity-log entry hashes to "
     "its stored leaf and the newest signed tree head verifies under the "
     "org key over the log's first entries. Exit status 1 with the reason "
     "when any check fails. With --json: {\"ok\",\"org\",\"name\","
     "\"schema\",\"created\",\"bytes\",\"objects\",\"ops\","
     "\"log_size\",\"heads\"}, or {\"ok\":false,\"code\",\"reason\"}.",
     no_opts, 1, 1, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

const cli_cmd ent__cli_restore_cmds[] = {
    {"done", ent__cli_cmd_restore_done,
     "allow local writes before a restored node has caught up",
     "restore done [--home DIR] [--json]",
     "Clears the restore mark of HOME (through the running node, else in "
     "its store): the node signs ops at once instead of waiting until every "
     "partner has given back the ops it signed after the backup. Prints a "
     "warning on standard error: if a partner still holds such an op, the "
     "next op on that object repeats its sequence number and partners "
     "record an equivocation against this org. With --json: "
     "{\"was_catching_up\"[,\"partners\",\"in_sync\"]}.",
     no_opts, 0, 0, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
