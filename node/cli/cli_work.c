/*
 * cli_work.c - the workflow commands (spec/workflows.md §5), answered by
 * the running node's API: `approve` and `reject` (an approve op on an
 * object's step), `inbox` (what waits on this org) and `object rules`
 * (show the rules an object carries, or give it new ones with --set),
 * and `object erase` (an erase op: spec/objects.md "Erasure").
 * Their help and options are in the command table (cli.c).
 */
#include "node/cli/cli_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"

#define CLI_WORK_MAX_FILE (64 * 1024) /* bytes of a workflow file */

/* POST /v1/objects/ID/approve or /reject with the options given. */
static int decide(cli *c, bool reject) {
    char hex[65], path[160];
    json_t *body = NULL, *resp = NULL;
    const char *step = ent__cli_opt_value(c, "step");
    const char *text = ent__cli_opt_value(c, reject ? "reason" : "comment");
    const char *exp = reject ? NULL : ent__cli_opt_value(c, "expires");
    int st = ent__cli_object_id(c->words, c->home, c->args[0], hex);
    if (st >= 0)
        return st;
    if (reject && (text == NULL || text[0] == '\0'))
        return ent__cli_fail(c, "a rejection needs --reason TEXT");
    if ((body = json_object()) == NULL)
        return ent__cli_fail(c, "%s", ent_strerror(ENT_ENOMEM));
    if ((step != NULL &&
         json_object_set_new(body, "step", json_string(step)) != 0) ||
        (exp != NULL &&
         json_object_set_new(body, "expires", json_string(exp)) != 0) ||
        (text != NULL &&
         json_object_set_new(body, reject ? "reason" : "comment",
                             json_string(text)) != 0)) {
        json_decref(body);
        return ent__cli_fail(c,
                             "--step, --expires and --%s must be valid UTF-8",
                             reject ? "reason" : "comment");
    }
    snprintf(path, sizeof(path), "/v1/objects/%s/%s", hex,
             reject ? "reject" : "approve");
    if ((st = ent__cli_daemon_call(c, "POST", path, body, &resp)) < 0) {
        st = 0;
        if (c->json)
            ent__cli_print_json(resp);
    }
    json_decref(body);
    json_decref(resp);
    return st;
}

int ent__cli_cmd_approve(cli *c) {
    return decide(c, false);
}

int ent__cli_cmd_reject(cli *c) {
    return decide(c, true);
}

const cli_opt ent__cli_approve_opts[] = {
    {"step", "STEP", "the approval step (default: the one waiting on this org)"},
    {"comment", "TEXT", "a comment the members see with the approval"},
    {"expires", "DATE",
     "a deal registration: the date its approval expires (YYYY-MM-DD)"},
    {NULL, NULL, NULL},
};

const cli_opt ent__cli_reject_opts[] = {
    {"step", "STEP", "the approval step (default: the one waiting on this org)"},
    {"reason", "TEXT", "why (required; the members see it)"},
    {NULL, NULL, NULL},
};

const cli_opt ent__cli_rules_opts[] = {
    {"set", "FILE",
     "give the object new rules: a workflow section as JSON (owner only)"},
    {NULL, NULL, NULL},
};

const cli_opt ent__cli_erase_opts[] = {
    {"field", "FIELD", "the shared field to erase (default: the whole object)"},
    {NULL, NULL, NULL},
};

/* POST /v1/objects/ID/erase [{"field"}]. */
int ent__cli_cmd_object_erase(cli *c) {
    char hex[65], path[160];
    json_t *body = NULL, *resp = NULL;
    const char *field = ent__cli_opt_value(c, "field");
    int st = ent__cli_object_id(c->words, c->home, c->args[0], hex);
    if (st >= 0)
        return st;
    if ((body = json_object()) == NULL)
        return ent__cli_fail(c, "%s", ent_strerror(ENT_ENOMEM));
    if (field != NULL &&
        json_object_set_new(body, "field", json_string(field)) != 0) {
        json_decref(body);
        return ent__cli_fail(c, "--field must be valid UTF-8");
    }
    snprintf(path, sizeof(path), "/v1/objects/%s/erase", hex);
    if ((st = ent__cli_daemon_call(c, "POST", path, body, &resp)) < 0) {
        st = 0;
        if (c->json)
            ent__cli_print_json(resp);
    }
    json_decref(body);
    json_decref(resp);
    return st;
}

void ent__cli_print_conflicts(FILE *f, const json_t *reg) {
    const json_t *x;
    size_t k;
    json_array_foreach(json_object_get(reg, "conflicts"), k, x) {
        char id[13];
        snprintf(id, sizeof(id), "%.12s", ent__cli_jstr(x, "object"));
        fprintf(f, "  %3lld %-7s %s %s  %s / %s, %s%s%s\n",
                (long long)json_integer_value(json_object_get(x, "score")),
                ent__cli_jstr(x, "match"), ent__cli_jstr(x, "type"), id,
                ent__cli_jstr(x, "account"), ent__cli_jstr(x, "solution"),
                ent__cli_jstr(x, "stage"),
                json_is_true(json_object_get(x, "earlier"))
                    ? ", registered earlier"
                    : "",
                json_is_true(json_object_get(x, "holds"))
                    ? ", approved and unexpired"
                    : "");
    }
}

int ent__cli_cmd_inbox(cli *c) {
    json_t *resp = NULL, *o;
    size_t i;
    int st = ent__cli_daemon_call(c, "GET", "/v1/inbox", NULL, &resp);
    if (st >= 0)
        return st;
    if (c->json) {
        ent__cli_print_json(resp);
        json_decref(resp);
        return 0;
    }
    json_t *ap = json_object_get(resp, "approvals");
    json_t *inv = json_object_get(resp, "invites");
    json_t *cl = json_object_get(resp, "claims");
    json_t *rg = json_object_get(resp, "registrations");
    if (json_array_size(ap) == 0 && json_array_size(inv) == 0 &&
        json_array_size(cl) == 0 && json_array_size(rg) == 0)
        printf("nothing waits on this org\n");
    json_array_foreach(rg, i, o) {
        char id[13];
        json_t *cf = json_object_get(o, "conflicts");
        snprintf(id, sizeof(id), "%.12s", ent__cli_jstr(o, "object"));
        printf("register %s  %s / %s: %zu likely conflict%s\n", id,
               ent__cli_jstr(o, "account"), ent__cli_jstr(o, "solution"),
               json_array_size(cf), json_array_size(cf) == 1 ? "" : "s");
        ent__cli_print_conflicts(stdout, o);
    }
    json_array_foreach(ap, i, o) {
        char id[13];
        snprintf(id, sizeof(id), "%.12s", ent__cli_jstr(o, "object"));
        printf("approve  %s  %s at %s: step \"%s\" (by %s) to move to %s\n",
               id, ent__cli_jstr(o, "type"), ent__cli_jstr(o, "stage"),
               ent__cli_jstr(o, "step"), ent__cli_jstr(o, "by"),
               ent__cli_jstr(o, "to"));
    }
    json_array_foreach(cl, i, o) {
        char id[13];
        snprintf(id, sizeof(id), "%.12s", ent__cli_jstr(o, "object"));
        printf("claim    %s  %s: %s claimed of %s approved\n", id,
               ent__cli_jstr(o, "name"),
               ent__cli_jstr(json_object_get(o, "claimed"), "amount"),
               ent__cli_jstr(json_object_get(o, "approved"), "amount"));
    }
    json_array_foreach(inv, i, o) {
        char id[13];
        snprintf(id, sizeof(id), "%.12s", ent__cli_jstr(o, "object"));
        printf("invite   %s  %s, pending, expires %s\n", id,
               ent__cli_jstr(o, "role"), ent__cli_jstr(o, "expires"));
    }
    json_decref(resp);
    return 0;
}

/* Reads FILE (or "-") into a fresh NUL-terminated buffer. */
static int read_small(cli *c, const char *name, char **out, size_t *len) {
    FILE *f = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");
    char *buf = NULL;
    int st = -1;
    *out = NULL;
    if (f == NULL)
        return ent__cli_fail(c, "%s: %s", name, strerror(errno));
    if ((buf = malloc(CLI_WORK_MAX_FILE + 1)) == NULL) {
        st = ent__cli_fail(c, "%s", ent_strerror(ENT_ENOMEM));
        goto out;
    }
    size_t n = fread(buf, 1, CLI_WORK_MAX_FILE + 1, f);
    if (ferror(f) || n > CLI_WORK_MAX_FILE) {
        st = ent__cli_fail(c, "%s: %s", name,
                           ferror(f) ? "read error" : "larger than 64 KiB");
        goto out;
    }
    *out = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    if (f != stdin)
        fclose(f);
    return st;
}

static void print_rules(const json_t *resp) {
    const json_t *r = json_object_get(resp, "rules");
    const json_t *t, *d;
    size_t i, k;
    if (json_is_null(r)) {
        printf("no workflow rules: any member moves the stage\n");
        return;
    }
    printf("stage: %s\n", ent__cli_jstr(resp, "stage"));
    json_array_foreach(json_object_get(r, "transitions"), i, t) {
        char who[256] = "";
        const json_t *w;
        json_array_foreach(json_object_get(t, "who"), k, w) {
            size_t l = strlen(who);
            snprintf(who + l, sizeof(who) - l, "%s%s", k ? ", " : "",
                     json_string_value(w));
        }
        printf("  %s -> %s by %s\n", ent__cli_jstr(t, "from"),
               ent__cli_jstr(t, "to"), who);
        json_array_foreach(json_object_get(t, "approvals"), k, w)
            printf("    needs \"%s\" by %s%s\n", ent__cli_jstr(w, "step"),
                   ent__cli_jstr(w, "by"),
                   json_is_true(json_object_get(w, "self"))
                       ? " (the mover may give it)"
                       : "");
    }
    const char *f;
    json_object_foreach((json_t *)json_object_get(r, "field_owners"), f, d)
        printf("  field %s written by %s\n", f, json_string_value(d));
    json_array_foreach(json_object_get(resp, "decisions"), i, d)
        printf("  %s \"%s\" by %s%s%s%s\n", ent__cli_jstr(d, "decision"),
               ent__cli_jstr(d, "step"),
               json_is_string(json_object_get(d, "name"))
                   ? ent__cli_jstr(d, "name")
                   : ent__cli_jstr(d, "org"),
               json_is_true(json_object_get(d, "counts")) ? ""
                                                          : " (counts for "
                                                            "nothing)",
               ent__cli_jstr(d, "comment")[0] ? ": " : "",
               ent__cli_jstr(d, "comment"));
}

int ent__cli_cmd_object_rules(cli *c) {
    char hex[65], path[160];
    json_t *resp = NULL, *body = NULL;
    const char *file = ent__cli_opt_value(c, "set");
    char *text = NULL;
    size_t len = 0;
    json_error_t jerr;
    int st = ent__cli_object_id(c->words, c->home, c->args[0], hex);
    if (st >= 0)
        return st;
    snprintf(path, sizeof(path), "/v1/objects/%s/rules", hex);
    if (file == NULL) {
        if ((st = ent__cli_daemon_call(c, "GET", path, NULL, &resp)) >= 0)
            return st;
        if (c->json)
            ent__cli_print_json(resp);
        else
            print_rules(resp);
        json_decref(resp);
        return 0;
    }
    if ((st = read_small(c, file, &text, &len)) >= 0)
        return st;
    body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (body == NULL) {
        st = ent__cli_fail(c, "%s: not valid JSON: line %d: %s", file,
                           jerr.line, jerr.text);
        goto out;
    }
    if ((st = ent__cli_daemon_call(c, "PUT", path, body, &resp)) >= 0)
        goto out;
    st = 0;
    if (c->json)
        ent__cli_print_json(resp);
out:
    free(text);
    json_decref(body);
    json_decref(resp);
    return st;
}
