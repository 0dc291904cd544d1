/*
 * api_metrics.c - GET /metrics; see api_metrics.h. The families of the
 * node's own parts are written here, from the counters each part already
 * keeps; other parts add theirs through the registry (node/metrics.h).
 */
#include "node/api/api_metrics.h"
#include "node/api/api_objects.h"
#include "node/audit/actlog.h"
#include "node/audit/witness.h"
#include "node/err.h"
#include "node/metrics.h"
#include "node/objects/object.h"
#include "node/peers/peer.h"
#include "protocol/session.h"

#include <stdlib.h>
#include <string.h>

typedef struct tables {
    uint64_t peers, objects, log, equivocations;
} tables;

static int tables_fn(ent_txn *txn, void *data) {
    tables *t = data;
    uint8_t root[ENT_MERKLE_HASH_LEN];
    int rc = ent_txn_count(txn, ENT_TBL_PEERS, &t->peers);
    if (rc == ENT_OK)
        rc = ent_txn_count(txn, ENT_TBL_OBJECTS, &t->objects);
    if (rc == ENT_OK)
        rc = ent_actlog_root(txn, &t->log, root);
    if (rc == ENT_OK)
        rc = ent_witness_count(txn, &t->equivocations);
    return rc;
}

/* One family with one unlabelled sample. */
static void one(ent_metrics_out *o, const char *name, ent_metric_type t,
                const char *help, uint64_t v) {
    ent_metrics_family(o, name, t, help);
    ent_metrics_sample(o, (double)v, NULL);
}

/* A family of samples labelled by one label from a fixed list of words. */
typedef struct labelled {
    const char *value;
    uint64_t n;
} labelled;

static void by(ent_metrics_out *o, const char *name, ent_metric_type t,
               const char *help, const char *label, const labelled *v,
               size_t n) {
    ent_metrics_family(o, name, t, help);
    for (size_t i = 0; i < n; i++)
        ent_metrics_sample(o, (double)v[i].n, label, v[i].value, NULL);
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void store_collect(ent_metrics_out *o, ent_node *n) {
    tables t = {0, 0, 0, 0};
    ent_store_usage u;
    if (ent_store_read(ent_node_store(n), tables_fn, &t) == ENT_OK) {
        one(o, "entente_peers_known", ENT_METRIC_GAUGE,
            "partner nodes in the peers table", t.peers);
        one(o, "entente_objects", ENT_METRIC_GAUGE,
            "joint objects this node holds", t.objects);
        one(o, "entente_log_entries", ENT_METRIC_GAUGE,
            "entries of the activity log", t.log);
        one(o, "entente_equivocations", ENT_METRIC_GAUGE,
            "equivocation proofs held", t.equivocations);
    }
    if (ent_store_usage_get(ent_node_store(n), &u) == ENT_OK) {
        one(o, "entente_lmdb_map_size_bytes", ENT_METRIC_GAUGE,
            "size of the LMDB map", u.map_size);
        one(o, "entente_lmdb_used_bytes", ENT_METRIC_GAUGE,
            "bytes of the LMDB map up to its last used page", u.used);
        one(o, "entente_lmdb_page_size_bytes", ENT_METRIC_GAUGE,
            "LMDB page size", u.page_size);
        one(o, "entente_lmdb_readers", ENT_METRIC_GAUGE,
            "LMDB reader slots in use", u.readers);
    }
    uint64_t chunks, bytes;
    if (ent_node_objects(n) != NULL &&
        ent_obj_chunk_usage(ent_node_objects(n), &chunks, &bytes) == ENT_OK) {
        one(o, "entente_attachment_chunks", ENT_METRIC_GAUGE,
            "sealed attachment chunks stored", chunks);
        one(o, "entente_attachment_bytes", ENT_METRIC_GAUGE,
            "bytes of the sealed attachment chunks stored", bytes);
    }
}

static void objects_collect(ent_metrics_out *o, ent_node *n) {
    ent_obj_stats s;
    ent_node_counters c;
    memset(&s, 0, sizeof(s));
    if (ent_node_objects(n) != NULL)
        ent_obj_stats_get(ent_node_objects(n), &s);
    ent_node_counters_get(n, &c);
    one(o, "entente_ops_created_total", ENT_METRIC_COUNTER,
        "ops this node made and committed", c.ops_created);
    one(o, "entente_ops_applied_total", ENT_METRIC_COUNTER,
        "ops from other nodes applied", s.applied);
    one(o, "entente_ops_duplicate_total", ENT_METRIC_COUNTER,
        "ops from other nodes already known", s.duplicate);
    one(o, "entente_ops_held_total", ENT_METRIC_COUNTER,
        "ops put on hold until their causal parents arrive", s.pending);
    labelled rej[] = {{"bad_signature", s.badsig}, {"denied", s.denied},
                      {"not_member", s.notmember}, {"decrypt", s.decrypt},
                      {"corrupt", s.corrupt},      {"conflict", s.conflict},
                      {"protocol", s.proto},       {"limit", s.limit},
                      {"bad_value", s.bad_value}};
    by(o, "entente_ops_rejected_total", ENT_METRIC_COUNTER,
       "ops from other nodes the object engine refused, by reason", "reason",
       rej, COUNT(rej));
    labelled held[] = {{"evicted", s.held_evicted},
                       {"expired", s.held_expired}};
    by(o, "entente_held_ops_dropped_total", ENT_METRIC_COUNTER,
       "held ops dropped, by reason", "reason", held, COUNT(held));
    one(o, "entente_held_ops_strangers_total", ENT_METRIC_COUNTER,
        "ops held in an object's strangers' share", s.held_strangers);
}

/* The peer layer's numbers; the JSON views are only counted, their ids
 * and names never leave this function. */
static void peers_collect(ent_metrics_out *o, ent_node *n) {
    ent_peers *p = ent_node_peers(n);
    ent_peers_stats s;
    json_t *list = NULL, *sessions = NULL, *syncs = NULL, *row;
    size_t i;
    uint64_t connected = 0;
    memset(&s, 0, sizeof(s));
    if (p != NULL) {
        ent_peers_stats_get(p, &s);
        if (ent_peers_list_json(p, &list) != ENT_OK)
            list = NULL;
        if (ent_peers_sessions_json(p, &sessions) != ENT_OK)
            sessions = NULL;
        if (ent_peers_syncs_json(p, &syncs) != ENT_OK)
            syncs = NULL;
    }
    json_array_foreach(list, i, row) connected +=
        json_is_true(json_object_get(row, "connected"));
    one(o, "entente_peers_connected", ENT_METRIC_GAUGE,
        "partner nodes with an open session", connected);
    json_int_t open = json_integer_value(json_object_get(sessions, "open"));
    json_int_t guests = json_integer_value(json_object_get(sessions, "guests"));
    json_int_t banned = json_integer_value(json_object_get(sessions, "banned"));
    one(o, "entente_sessions", ENT_METRIC_GAUGE,
        "sessions with other nodes open now, guests included", (uint64_t)open);
    one(o, "entente_sessions_guests", ENT_METRIC_GAUGE,
        "of the open sessions, guests", (uint64_t)guests);
    one(o, "entente_sessions_opened_total", ENT_METRIC_COUNTER,
        "sessions opened", s.sessions_opened);
    one(o, "entente_banned", ENT_METRIC_GAUGE, "orgs and addresses banned now",
        (uint64_t)banned);
    one(o, "entente_bans_total", ENT_METRIC_COUNTER, "bans imposed", s.bans);
    one(o, "entente_ops_received_total", ENT_METRIC_COUNTER,
        "op records received from other nodes", s.ops_received);
    one(o, "entente_ops_sent_total", ENT_METRIC_COUNTER,
        "op records sent to other nodes", s.ops_sent);
    one(o, "entente_ops_relayed_total", ENT_METRIC_COUNTER,
        "op records forwarded to other members", s.ops_relayed);
    labelled ch[] = {{"out", s.chunks_sent}, {"in", s.chunks_received}};
    by(o, "entente_attachment_chunks_total", ENT_METRIC_COUNTER,
       "attachment chunks sent to members and received from them",
       "direction", ch, COUNT(ch));
    labelled ref[] = {{"sender_not_member", s.ops_nonmember},
                      {"queue_full", s.queue_dropped},
                      {"protocol_violation", s.violations},
                      {"guest_message", s.denied},
                      {"guest_limit", s.guests_refused},
                      {"guest_closed", s.guests_closed},
                      {"banned", s.banned_refused},
                      {"proof_rate", s.proofs_refused},
                      {"digest_rate", s.digests_refused},
                      {"recon_rate", s.recon_refused},
                      {"digests_unasked", s.digests_unasked},
                      {"vv_rate", s.vv_refused},
                      {"chunk_refused", s.chunks_refused},
                      {"chunk_bad", s.chunks_bad}};
    by(o, "entente_peer_refusals_total", ENT_METRIC_COUNTER,
       "what the peer layer turned away, by reason", "reason", ref, COUNT(ref));
    /* the sessions themselves (protocol/session.h) */
    ent_session_stats ss;
    memset(&ss, 0, sizeof(ss));
    if (p != NULL)
        ent_peers_session_stats(p, &ss);
    labelled hs[] = {{"ok", ss.handshakes_ok},
                     {"failed", ss.handshakes_failed}};
    by(o, "entente_handshakes_total", ENT_METRIC_COUNTER,
       "Noise handshakes with other nodes, by result", "result", hs, COUNT(hs));
    labelled conn[] = {{"accepted", ss.accepted}, {"dialled", ss.dialled}};
    by(o, "entente_peer_connections_total", ENT_METRIC_COUNTER,
       "peer connections, by direction", "direction", conn, COUNT(conn));
    labelled refused[] = {{"session_limit", ss.refused_limit},
                          {"address_limit", ss.refused_addr}};
    by(o, "entente_peer_connections_refused_total", ENT_METRIC_COUNTER,
       "peer connections refused over a limit, by limit", "reason", refused,
       COUNT(refused));
    labelled drops[] = {{"too_big", ss.drop_too_big},
                        {"protocol", ss.drop_proto},
                        {"decrypt", ss.drop_decrypt},
                        {"bad_signature", ss.drop_bad_sig},
                        {"key_mismatch", ss.drop_key_mismatch},
                        {"wrong_org", ss.drop_wrong_org},
                        {"unauthorized", ss.drop_unauthorized},
                        {"handshake_timeout", ss.drop_hs_timeout},
                        {"idle", ss.drop_idle},
                        {"network", ss.drop_net},
                        {"nonce", ss.drop_nonce},
                        {"rate", ss.drop_rate},
                        {"credit", ss.drop_credit}};
    by(o, "entente_peer_drops_total", ENT_METRIC_COUNTER,
       "sessions dropped by this node, by reason", "reason", drops,
       COUNT(drops));
    labelled bytes[] = {{"in", ss.bytes_in}, {"out", ss.bytes_out}};
    by(o, "entente_peer_bytes_total", ENT_METRIC_COUNTER,
       "bytes on peer sockets, by direction", "direction", bytes, COUNT(bytes));
    labelled msgs[] = {{"in", ss.messages_in}, {"out", ss.messages_out}};
    by(o, "entente_peer_messages_total", ENT_METRIC_COUNTER,
       "messages in sessions, by direction", "direction", msgs, COUNT(msgs));
    labelled joins[] = {{"ok", s.joins_ok}, {"failed", s.joins_failed}};
    by(o, "entente_joins_served_total", ENT_METRIC_COUNTER,
       "joins of partners this node served as inviter, by result", "result",
       joins, COUNT(joins));
    /* backlog syncs: how many in each state, and the progress of the
     * running ones summed */
    labelled st[] = {{"receiving", 0}, {"done", 0}, {"failed", 0}};
    uint64_t expected = 0, received = 0, applied = 0;
    json_array_foreach(syncs, i, row) {
        const char *state = json_string_value(json_object_get(row, "state"));
        for (size_t k = 0; state != NULL && k < COUNT(st); k++)
            if (strcmp(state, st[k].value) == 0)
                st[k].n++;
        if (state == NULL || strcmp(state, "receiving") != 0)
            continue;
        expected +=
            (uint64_t)json_integer_value(json_object_get(row, "expected"));
        received +=
            (uint64_t)json_integer_value(json_object_get(row, "received"));
        applied +=
            (uint64_t)json_integer_value(json_object_get(row, "applied"));
    }
    by(o, "entente_syncs", ENT_METRIC_GAUGE,
       "backlog syncs tracked (spec/api.md syncs), by state", "state", st,
       COUNT(st));
    one(o, "entente_sync_ops_expected", ENT_METRIC_GAUGE,
        "ops the running backlog syncs asked for (where known)", expected);
    one(o, "entente_sync_ops_received", ENT_METRIC_GAUGE,
        "ops the running backlog syncs received", received);
    one(o, "entente_sync_ops_applied", ENT_METRIC_GAUGE,
        "ops the running backlog syncs stored", applied);
    json_decref(list);
    json_decref(sessions);
    json_decref(syncs);
}

static void node_collect(ent_metrics_out *o, void *data) {
    ent_node *n = data;
    store_collect(o, n);
    objects_collect(o, n);
    peers_collect(o, n);
}

int ent_api_metrics(ent_node *n, const ent_http_request *req,
                    ent_http_response *resp) {
    static const char *const none[] = {NULL};
    char *text = NULL;
    size_t len = 0;
    ent_api_query q; /* no parameters: each is 400, as on every route */
    int rc = ent_api_query_parse(req, none, &q, resp);
    if (rc != ENT_OK)
        return rc;
    rc = ent_metrics_render(ent_node_metrics(n), node_collect, n, &text, &len);
    if (rc != ENT_OK)
        return rc;
    ent_http_response_text(resp, 200, ENT_METRICS_CONTENT_TYPE, text, len);
    return ENT_OK;
}
