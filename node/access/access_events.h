/*
 * access_events.h - what one user may see of one event (spec/events.md
 * "Who sees what", spec/access.md "Enforcement").
 *
 * Every output of the event stream (GET /v1/events, entente events,
 * webhooks) passes each event through ent_access_event_view() for its
 * reader. The decision is the one the object routes make, with the same
 * functions (ent_policy_decide over the stored rules, on the object's
 * current values and creator): an event about an object the reader may
 * not read is left out entirely; inside a visible event, every field the
 * reader may not read is left out of the data's "shared" and "private"
 * maps (and "stage" when the field stage is denied). A change event
 * (fields.changed, private.changed) with nothing left to show is left out
 * too. An event on no object needs the action "log". The operator sees
 * everything.
 */
#ifndef ENT_ACCESS_EVENTS_H
#define ENT_ACCESS_EVENTS_H

#include <jansson.h>
#include <stddef.h>

#include "node/access/policy.h"
#include "node/events/event.h"
#include "storage/store.h"

/*
 * The event ev as who may see it: *out = ent_event_json(ev) with its data
 * filtered (a new reference, the caller json_decref()s it), or NULL when
 * who may not see the event at all. Reads the stored policies, the
 * object's values and its creator in txn (a read or write transaction).
 * @return ENT_OK (also when *out is NULL), ENT_ENOMEM, ENT_ECORRUPT,
 *         storage errors (*out NULL).
 */
int ent_access_event_view(ent_txn *txn, const ent_principal *who,
                          const ent_event *ev, json_t **out);

/*
 * As ent_access_event_view(), with the rules already loaded by the caller
 * (ent_access_policies_load(), in evaluation order), for a reader that
 * views many events in one transaction. rules is borrowed for the call.
 */
int ent_access_event_view_rules(ent_txn *txn, const ent_rule *rules,
                                size_t nrules, const ent_principal *who,
                                const ent_event *ev, json_t **out);

#endif
