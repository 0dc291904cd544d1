/*
 * cli_attach.c - `attach OBJ FILE`, `attachment list OBJ` and `attachment
 * get OBJ NAME` (spec/cli.md, spec/objects.md "Attachments"), answered by
 * the running node's API over its local socket: the node reads FILE and
 * writes the fetched file itself, so both paths are made absolute here.
 * `get` asks the node to fetch the missing chunks from members
 * (POST .../attachments/fetch) until it holds them all, then to save the
 * file (POST .../attachments/save), which checks every chunk and the
 * file's hash.
 */
#include "node/cli/cli_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "node/err.h"

const cli_opt ent__cli_attach_opts[] = {
    {"name", "NAME", "the attachment's name (default: FILE's base name)"},
    {NULL, NULL, NULL},
};

static const cli_opt list_opts[] = {{NULL, NULL, NULL}};

static const cli_opt get_opts[] = {
    {"out", "FILE", "where to write it (default: NAME in this folder)"},
    {"timeout", "SECONDS", "how long to wait for missing chunks (default 60)"},
    {NULL, NULL, NULL},
};

/* path made absolute against the working folder, into out (PATH_MAX). */
static int absolute(cli *c, const char *path, char *out) {
    char cwd[PATH_MAX];
    if (path[0] == '/') {
        if (strlen(path) >= PATH_MAX)
            return ent__cli_fail(c, "%s: path too long", path);
        strcpy(out, path);
        return -1;
    }
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return ent__cli_fail(c, "working folder: %s", strerror(errno));
    if (snprintf(out, PATH_MAX, "%s/%s", cwd, path) >= PATH_MAX)
        return ent__cli_fail(c, "%s: path too long", path);
    return -1;
}

int ent__cli_cmd_attach(cli *c) {
    char hex[65], path[160], file[PATH_MAX];
    json_t *body = NULL, *resp = NULL;
    const char *name = ent__cli_opt_value(c, "name");
    int st = ent__cli_object_id(c->words, c->home, c->args[0], hex);
    if (st >= 0 || (st = absolute(c, c->args[1], file)) >= 0)
        return st;
    if (name == NULL) {
        name = strrchr(c->args[1], '/');
        name = name ? name + 1 : c->args[1];
    }
    body = json_pack("{s:s,s:s}", "path", file, "name", name);
    if (body == NULL)
        return ent__cli_fail(c, "the file name and path must be UTF-8");
    snprintf(path, sizeof(path), "/v1/objects/%s/attachments", hex);
    if ((st = ent__cli_daemon_call(c, "POST", path, body, &resp)) < 0) {
        st = 0;
        if (c->json)
            ent__cli_print_json(resp);
        else
            printf("attached %s: %llu bytes, %llu chunks\n",
                   ent__cli_jstr(resp, "name"),
                   (unsigned long long)ent__cli_jint(resp, "size"),
                   (unsigned long long)ent__cli_jint(resp, "chunks"));
    }
    json_decref(body);
    json_decref(resp);
    return st;
}

static int cmd_list(cli *c) {
    char hex[65], path[160];
    json_t *resp = NULL, *o;
    size_t i;
    int st = ent__cli_object_id(c->words, c->home, c->args[0], hex);
    if (st >= 0)
        return st;
    snprintf(path, sizeof(path), "/v1/objects/%s/attachments", hex);
    if ((st = ent__cli_daemon_call(c, "GET", path, NULL, &resp)) >= 0)
        return st;
    if (c->json)
        ent__cli_print_json(resp);
    else if (json_array_size(resp) == 0)
        printf("no attachments\n");
    json_array_foreach(c->json ? NULL : resp, i, o) {
        printf("%-40s %12llu bytes  %llu/%llu chunks here\n",
               ent__cli_jstr(o, "name"),
               (unsigned long long)ent__cli_jint(o, "size"),
               (unsigned long long)ent__cli_jint(o, "have"),
               (unsigned long long)ent__cli_jint(o, "chunks"));
    }
    json_decref(resp);
    return 0;
}

static int cmd_get(cli *c) {
    char hex[65], path[160], out[PATH_MAX];
    json_t *body = NULL, *resp = NULL;
    const char *name = c->args[1];
    const char *o = ent__cli_opt_value(c, "out");
    const char *t = ent__cli_opt_value(c, "timeout");
    long secs = 60;
    if (t != NULL) {
        char *end;
        errno = 0;
        secs = strtol(t, &end, 10);
        if (errno || *end || secs < 1 || secs > 86400)
            return ent__cli_fail(c, "--timeout: 1 to 86400 seconds");
    }
    int st = ent__cli_object_id(c->words, c->home, c->args[0], hex);
    if (st >= 0 || (st = absolute(c, o ? o : name, out)) >= 0)
        return st;
    if ((body = json_pack("{s:s}", "name", name)) == NULL)
        return ent__cli_fail(c, "NAME must be UTF-8");
    snprintf(path, sizeof(path), "/v1/objects/%s/attachments/fetch", hex);
    time_t until = time(NULL) + secs;
    for (;;) {
        if ((st = ent__cli_daemon_call(c, "POST", path, body, &resp)) >= 0)
            goto out;
        bool done = json_is_true(json_object_get(resp, "complete"));
        unsigned long long have = ent__cli_jint(resp, "have");
        unsigned long long all = ent__cli_jint(resp, "chunks");
        json_decref(resp);
        resp = NULL;
        if (done)
            break;
        if (time(NULL) >= until) {
            st = ent__cli_fail(c,
                               "%s: %llu of %llu chunks after %ld s: no "
                               "member online holds the others (the chunks "
                               "here are kept: run get again)",
                               name, have, all, secs);
            goto out;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    json_decref(body);
    body = json_pack("{s:s,s:s}", "name", name, "out", out);
    snprintf(path, sizeof(path), "/v1/objects/%s/attachments/save", hex);
    if (body == NULL) {
        st = ent__cli_fail(c, "--out must be UTF-8");
        goto out;
    }
    if ((st = ent__cli_daemon_call(c, "POST", path, body, &resp)) < 0) {
        st = 0;
        if (c->json)
            ent__cli_print_json(resp);
        else
            printf("saved %s to %s: %llu bytes, hash checked\n", name, out,
                   (unsigned long long)ent__cli_jint(resp, "size"));
    }
out:
    json_decref(body);
    json_decref(resp);
    return st;
}

const cli_cmd ent__cli_attachment_cmds[] = {
    {"list", cmd_list, "list an object's attachments",
     "attachment list OBJ [--json]",
     "Lists the attachments of OBJ: name, size and how many of its chunks "
     "this node holds. With --json: [{\"name\",\"size\",\"hash\",\"epoch\","
     "\"op\",\"by\",\"chunks\",\"have\",\"complete\"}].",
     list_opts, 1, 1, NULL},
    {"get", cmd_get, "fetch an attachment and write it to a file",
     "attachment get OBJ NAME [--out FILE] [--timeout SECONDS] [--json]",
     "Fetches the chunks of attachment NAME of OBJ this node lacks from the "
     "members online (resuming: chunks already here are not asked again), "
     "checks each one and the file's hash, and writes it to FILE (default: "
     "NAME in this folder). With --json: {\"name\",\"size\",\"hash\","
     "\"out\"}.",
     get_opts, 2, 2, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
