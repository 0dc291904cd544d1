/*
 * cli_members.c - membership and invites from the command line (spec/cli.md
 * "Members and invites"): `member list` (the members of an object and
 * their roles), `member role` (another role for a member), `member leave`
 * (this org leaves an object on its own), `invite list`, `invite revoke`
 * (the invites this node made) and `invite inspect` (what a token holds,
 * before `join`; it reads the token only and needs no node). Creating an
 * invite, joining and removing a member are in cli_objects.c. The API is
 * node/api/api_peers.c.
 */
#include "crypto/crypto.h"
#include "node/cli/cli_int.h"
#include "node/err.h"
#include "node/peers/invite.h"
#include "node/timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const role_names[] = {"owner", "admin", "member", "viewer"};

static int org_arg(cli *c, const char *s) {
    uint8_t org[ENT_PK_LEN];
    if (ent_org_id_parse(org, s) == ENT_OK)
        return -1;
    return ent__cli_fail(c, "invalid org id '%.80s' (want %d base32 characters)",
                         s, ENT_ORG_ID_LEN);
}

/* ---- member list, role, leave -------------------------------------------- */

int ent__cli_cmd_member_list(cli *c) {
    char hex[65], path[128];
    json_t *o = NULL, *m;
    size_t i;
    int st;
    if ((st = ent__cli_object_id(c->words, c->home, c->args[0], hex)) >= 0)
        return st;
    snprintf(path, sizeof(path), "/v1/objects/%s?hide_private=1", hex);
    if ((st = ent__cli_daemon_call(c, "GET", path, NULL, &o)) >= 0)
        return st;
    json_t *members = json_object_get(o, "members");
    if (c->json) {
        ent__cli_print_json(members);
    } else {
        json_array_foreach(members, i, m) {
            const char *name = json_string_value(json_object_get(m, "name"));
            ent__cli_row(stdout, "",
                         (const char *const[]){ent__cli_jstr(m, "org"),
                                               ent__cli_jstr(m, "role"),
                                               ent__cli_jstr(m, "status"),
                                               name ? name : ""},
                         (const int[]){52, 6, 7, 0}, 4);
        }
    }
    json_decref(o);
    return 0;
}

int ent__cli_cmd_member_role(cli *c) {
    char hex[65], path[200];
    const char *role = c->args[2];
    json_t *body = NULL, *resp = NULL;
    int st;
    if (strcmp(role, "admin") != 0 && strcmp(role, "member") != 0 &&
        strcmp(role, "viewer") != 0)
        return ent__cli_usage_error(c, "ROLE must be admin, member or viewer "
                                       "(the owner never changes)");
    if ((st = org_arg(c, c->args[1])) >= 0 ||
        (st = ent__cli_object_id(c->words, c->home, c->args[0], hex)) >= 0)
        return st;
    if ((body = json_pack("{s:s}", "role", role)) == NULL)
        return ent__cli_fail(c, "%s", ent_strerror(ENT_ENOMEM));
    snprintf(path, sizeof(path), "/v1/objects/%s/members/%s/role", hex,
             c->args[1]);
    if ((st = ent__cli_daemon_call(c, "POST", path, body, &resp)) < 0) {
        st = 0;
        if (c->json)
            ent__cli_print_json(resp);
    }
    json_decref(body);
    json_decref(resp);
    return st;
}

int ent__cli_cmd_member_leave(cli *c) {
    char hex[65], path[128];
    json_t *resp = NULL;
    int st;
    if ((st = ent__cli_object_id(c->words, c->home, c->args[0], hex)) >= 0)
        return st;
    snprintf(path, sizeof(path), "/v1/objects/%s/leave", hex);
    if ((st = ent__cli_daemon_call(c, "POST", path, NULL, &resp)) >= 0)
        return st;
    if (c->json)
        ent__cli_print_json(resp);
    json_decref(resp);
    return 0;
}

/* ---- invite list, revoke, inspect ---------------------------------------- */

int ent__cli_cmd_invite_list(cli *c) {
    char hex[65], path[160] = "/v1/invites", t[32];
    json_t *rows = NULL, *r;
    size_t i;
    int st;
    if (c->nargs > 0) {
        if ((st = ent__cli_object_id(c->words, c->home, c->args[0], hex)) >= 0)
            return st;
        snprintf(path, sizeof(path), "/v1/invites?object=%s", hex);
    }
    if ((st = ent__cli_daemon_call(c, "GET", path, NULL, &rows)) >= 0)
        return st;
    if (c->json) {
        ent__cli_print_json(rows);
    } else {
        json_array_foreach(rows, i, r) {
            char obj[13], by[64] = "";
            snprintf(obj, sizeof(obj), "%s", ent__cli_jstr(r, "object"));
            if (json_is_string(json_object_get(r, "used_by")))
                snprintf(by, sizeof(by), "by %.12s",
                         ent__cli_jstr(r, "used_by"));
            ent__cli_row(stdout, "",
                         (const char *const[]){
                             ent__cli_jstr(r, "invite_id"), obj,
                             ent__cli_jstr(r, "role"),
                             ent__cli_jstr(r, "status"),
                             ent__cli_time(t, json_object_get(r, "expires")),
                             by},
                         (const int[]){32, 12, 6, 7, 19, 0}, 6);
        }
    }
    json_decref(rows);
    return 0;
}

int ent__cli_cmd_invite_revoke(cli *c) {
    const char *id = c->args[0];
    char path[80];
    json_t *resp = NULL;
    bool ok = strlen(id) == 32;
    for (size_t i = 0; ok && i < 32; i++)
        ok = (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f');
    if (!ok)
        return ent__cli_fail(c,
                             "invalid invite id '%.80s' (want the 32 hex "
                             "characters `entente invite list` shows)",
                             id);
    snprintf(path, sizeof(path), "/v1/invites/%s", id);
    int st = ent__cli_daemon_call(c, "DELETE", path, NULL, &resp);
    if (st >= 0)
        return st;
    if (c->json)
        ent__cli_print_json(resp);
    json_decref(resp);
    return 0;
}

int ent__cli_cmd_invite_inspect(cli *c) {
    ent_invite inv;
    char obj[65], iid[33], org[ENT_ORG_ID_LEN + 1];
    char rfc[ENT_TIMEFMT_RFC3339_LEN + 1], local[ENT_TIMEFMT_LOCAL_LEN + 1];
    const char *tok = c->args[0];
    int rc = ent_invite_token_parse(tok, strlen(tok), &inv);
    if (rc != ENT_OK)
        return ent__cli_fail(c, "%s", ent_invite_parse_error(rc));
    bool expired = ent_invite_check_expiry(&inv, (uint64_t)time(NULL)) !=
                   ENT_OK;
    ent_hex_encode(obj, inv.object, 32);
    ent_hex_encode(iid, inv.id, ENT_INVITE_ID_LEN);
    ent_org_id_format(org, inv.inviter);
    if (ent_timefmt_rfc3339(rfc, inv.expiry * 1000) != ENT_OK ||
        ent_timefmt_local(local, inv.expiry * 1000) != ENT_OK)
        snprintf(local, sizeof(local), "-");
    const char *role = inv.role < 4 ? role_names[inv.role] : "?";
    if (c->json) {
        json_t *o = ent_invite_describe(&inv, (uint64_t)time(NULL));
        if (o == NULL) {
            ent_invite_clear(&inv);
            return ent__cli_fail(c, "out of memory");
        }
        ent__cli_print_json(o);
        json_decref(o);
    } else {
        char exp[64];
        snprintf(exp, sizeof(exp), "%s%s", local, expired ? " (expired)" : "");
        ent__cli_kv(stdout, "object", obj);
        ent__cli_kv(stdout, "type",
                    inv.type[0] ? inv.type : "unknown (older token)");
        ent__cli_kv(stdout, "inviter", org);
        ent__cli_kv(stdout, "role", role);
        ent__cli_kv(stdout, "expires", exp);
        for (unsigned i = 0; i < inv.n_addrs; i++)
            ent__cli_kv(stdout, "address", inv.addrs[i]);
        ent__cli_kv(stdout, "invite", iid);
    }
    ent_invite_clear(&inv);
    return expired ? ent__cli_fail(c, "the invite has expired") : 0;
}
