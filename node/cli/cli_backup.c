/*
 * cli_backup.c - `entente backup DIR`, `entente backup verify DIR` and
 * `entente restore DIR HOME` (node/backup/backup.h, spec/operations.md).
 *
 * None of them needs the node to be stopped or running: a backup reads
 * the store read-only (a consistent view while the node writes), verify
 * and restore read only the backup folder.
 */
#include "node/backup/backup.h"
#include "node/cli/cli.h"
#include "node/cli/cli_int.h"
#include "node/err.h"
#include "node/home.h"

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
