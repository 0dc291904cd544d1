/*
 * access_events.c - the policy view of one event: whether a reader may see
 * it, and its data without the fields the reader may not read. See
 * access_events.h and spec/events.md "Who sees what".
 */
#include "node/access/access_events.h"
#include "node/access/access.h"
#include "node/err.h"
#include "node/objects/object.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Leaves out of the field map m every field that who may not read. */
static void filter_map(const ent_rule *rules, size_t n,
                       const ent_principal *who, const char *type,
                       const json_t *state, const char *creator, json_t *m) {
    const char *k;
    json_t *v;
    void *tmp;
    if (!json_is_object(m))
        return;
    json_object_foreach_safe(m, tmp, k, v) {
        ent_access_req r = {ENT_ACT_READ, type, k, state, creator};
        ent_decision d;
        ent_policy_decide(rules, n, who, &r, &d);
        if (!d.allow)
            json_object_del(m, k);
    }
}

/* Whether a change event has nothing left to show. */
static bool change_empty(const char *kind, const json_t *data) {
    if (strcmp(kind, "fields.changed") != 0 &&
        strcmp(kind, "private.changed") != 0)
        return false;
    return json_object_size(json_object_get(data, "shared")) == 0 &&
           json_object_size(json_object_get(data, "private")) == 0 &&
           json_object_get(data, "stage") == NULL;
}

int ent_access_event_view_rules(ent_txn *txn, const ent_rule *rules,
                                size_t nrules, const ent_principal *who,
                                const ent_event *ev, json_t **out) {
    json_t *state = NULL, *j = NULL;
    char creator[ENT_POLICY_VALUE_MAX + 1] = "";
    ent_decision d;
    int rc = ENT_OK;
    *out = NULL;
    if (who->kind == ENT_PRINCIPAL_OPERATOR) {
        *out = ent_event_json(ev);
        return *out != NULL ? ENT_OK : ENT_ENOMEM;
    }
    if (!ev->has_object) { /* node-wide: what the activity log shows */
        ent_access_req r = {ENT_ACT_LOG, NULL, NULL, NULL, NULL};
        ent_policy_decide(rules, nrules, who, &r, &d);
        if (d.allow && (*out = ent_event_json(ev)) == NULL)
            rc = ENT_ENOMEM;
        return rc;
    }
    rc = ent_obj_state_json_txn(txn, ev->object, &state);
    if (rc == ENT_ENOENT) { /* nothing to decide on: not shown */
        rc = ENT_OK;
        goto out;
    }
    if (rc != ENT_OK)
        goto out;
    rc = ent_access_creator(txn, ev->object, creator);
    if (rc == ENT_ENOENT)
        rc = ENT_OK;
    if (rc != ENT_OK)
        goto out;
    const char *type = json_string_value(json_object_get(state, "type"));
    const char *cr = creator[0] != '\0' ? creator : NULL;
    ent_access_req r = {ENT_ACT_READ, type, NULL, state, cr};
    ent_policy_decide(rules, nrules, who, &r, &d);
    if (!d.allow)
        goto out;
    if ((j = ent_event_json(ev)) == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    json_t *data = json_object_get(j, "data");
    filter_map(rules, nrules, who, type, state, cr,
               json_object_get(data, "shared"));
    filter_map(rules, nrules, who, type, state, cr,
               json_object_get(data, "private"));
    if (json_object_get(data, "stage") != NULL) {
        ent_access_req rs = {ENT_ACT_READ, type, "stage", state, cr};
        ent_policy_decide(rules, nrules, who, &rs, &d);
        if (!d.allow)
            json_object_del(data, "stage");
    }
    if (change_empty(ev->kind, data))
        goto out;
    *out = j;
    j = NULL;
out:
    json_decref(j);
    json_decref(state);
    return rc;
}

int ent_access_event_view(ent_txn *txn, const ent_principal *who,
                          const ent_event *ev, json_t **out) {
    ent_rule *rules = NULL;
    size_t n = 0;
    int rc = ENT_OK;
    *out = NULL;
    if (who->kind != ENT_PRINCIPAL_OPERATOR)
        rc = ent_access_policies_load(txn, &rules, &n);
    if (rc == ENT_OK)
        rc = ent_access_event_view_rules(txn, rules, n, who, ev, out);
    free(rules);
    return rc;
}
