/*
 * peer_guard.c - who may hold a session with this node, and for how long
 * (spec/sessions.md "Guests, strikes and bans").
 *
 *   - A **member** is an org that shares an active object with this org;
 *     it is let in unless it is banned.
 *   - A **guest** is any other org that connects while this node has made
 *     an invite. At most max_guests of them hold a session at once, at most
 *     max_guests_per_addr from one IP address; a guest may send HELLO and
 *     one JOIN within guest_join_ms of the open, and nothing else. A JOIN
 *     that is granted makes it a member.
 *   - A **strike** is one session dropped for breaking a limit: a protocol
 *     violation, the op or frame rate, the frame size, a guest rule. It
 *     counts against the org, or for a guest against its IP address (guest
 *     keys cost nothing to make). ban_strikes strikes within
 *     strike_window_ms of each other ban the org (every session) or the
 *     address (as a guest; members from it still come in) for
 *     ban_ms * 2^(bans so far), at most ban_max_ms.
 *
 * Refused and closed guests are counted in the session manager's refusal
 * summary (one log line per interval), never logged one by one. It calls
 * down into peer_send.c and peer_table.c only.
 */
#include "node/peers/peer_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- limits
 * ------------------------------------------------------------------ */

void ent_peers_limits_default(ent_peers_limits *l) {
    l->max_guests = ENT_PEERS_MAX_GUESTS;
    l->max_guests_per_addr = ENT_PEERS_MAX_GUESTS_PER_ADDR;
    l->guest_join_ms = ENT_PEERS_GUEST_JOIN_MS;
    l->ban_strikes = ENT_PEERS_BAN_STRIKES;
    l->strike_window_ms = ENT_PEERS_STRIKE_WINDOW_MS;
    l->ban_ms = ENT_PEERS_BAN_MS;
    l->ban_max_ms = ENT_PEERS_BAN_MAX_MS;
    l->throttle_max_ms = ENT_PEERS_THROTTLE_MAX_MS;
    l->max_dialled = ENT_PEERS_MAX_DIALLED;
}

void ent_peers_set_limits(ent_peers *p, const ent_peers_limits *l) {
    if (p == NULL || l == NULL)
        return;
#define SET(f)                                                                 \
    if (l->f != 0)                                                             \
        p->lim.f = l->f;
    SET(max_guests)
    SET(max_guests_per_addr)
    SET(guest_join_ms)
    SET(ban_strikes)
    SET(strike_window_ms)
    SET(ban_ms)
    SET(ban_max_ms)
    SET(throttle_max_ms)
    SET(max_dialled)
#undef SET
}

int ent__guard_init(ent_peers *p) {
    ent_peers_limits_default(&p->lim);
    p->guards = calloc(ENT_PEERS_MAX_GUARDS, sizeof(*p->guards));
    return p->guards != NULL ? ENT_OK : ENT_ENOMEM;
}

void ent__guard_free(ent_peers *p) {
    free(p->guards);
    p->guards = NULL;
}

/* ---- strike records
 * ---------------------------------------------------------- */

static bool banned_now(const guard_ent *g, uint64_t now) {
    return g->used && g->banned_until > now;
}

/* A record nobody needs any more: not banned, and quiet for ban_max_ms
 * since its last strike and its last ban (the next ban starts short). */
static bool stale(const ent_peers *p, const guard_ent *g, uint64_t now) {
    uint64_t last =
        g->last_strike > g->banned_until ? g->last_strike : g->banned_until;
    return !g->used || (!banned_now(g, now) && now - last >= p->lim.ban_max_ms);
}

static guard_ent *find(ent_peers *p, const uint8_t *org, const char *host) {
    for (size_t i = 0; i < ENT_PEERS_MAX_GUARDS; i++) {
        guard_ent *g = &p->guards[i];
        if (!g->used || g->is_addr != (host != NULL))
            continue;
        if (host != NULL ? strcmp(g->host, host) == 0
                         : memcmp(g->org, org, 32) == 0)
            return g;
    }
    return NULL;
}

/* The record of org (or host), made if there is none. When the table is
 * full the record of least use goes: a stale one, else the unbanned one
 * struck longest ago, else the ban that ends first. */
static guard_ent *get(ent_peers *p, const uint8_t *org, const char *host,
                      uint64_t now) {
    guard_ent *g = find(p, org, host), *victim = NULL;
    if (g != NULL)
        return g;
    for (size_t i = 0; i < ENT_PEERS_MAX_GUARDS; i++) {
        guard_ent *x = &p->guards[i];
        if (stale(p, x, now)) {
            victim = x;
            break;
        }
        if (victim == NULL ||
            (banned_now(victim, now) && !banned_now(x, now)) ||
            (banned_now(victim, now) == banned_now(x, now) &&
             (banned_now(x, now) ? x->banned_until < victim->banned_until
                                 : x->last_strike < victim->last_strike)))
            victim = x;
    }
    memset(victim, 0, sizeof(*victim));
    victim->used = true;
    victim->is_addr = host != NULL;
    if (host != NULL)
        snprintf(victim->host, sizeof(victim->host), "%s", host);
    else
        memcpy(victim->org, org, 32);
    return victim;
}

/* Is org (or, when host is not NULL, host) banned now? */
static bool is_banned(ent_peers *p, const uint8_t *org, const char *host,
                      uint64_t now) {
    const guard_ent *g = find(p, org, host);
    return g != NULL && banned_now(g, now);
}

/* ---- admission
 * ---------------------------------------------------------------- */

static size_t guests_from(const ent_peers *p, const char *host) {
    size_t n = 0;
    for (const conn *c = p->conns; c != NULL; c = c->next)
        if (c->guest && strcmp(ent_session_peer_host(c->s), host) == 0)
            n++;
    return n;
}

/* Refuses s (authorize() then returns false): why goes to the summary. */
static bool refuse(ent_session *s, const char *why) {
    ent_session_set_refusal(s, why);
    return false;
}

bool ent__guard_admit(ent_peers *p, ent_session *s, const uint8_t org[32],
                      bool member, bool invites) {
    uint64_t now = uv_now(p->loop);
    const char *host = ent_session_peer_host(s);
    if (is_banned(p, org, NULL, now)) {
        p->stats.banned_refused++;
        return refuse(s, "banned org");
    }
    if (member)
        return true;
    if (!invites)
        return refuse(s, "not a partner (no invite made)");
    if (is_banned(p, NULL, host, now)) {
        p->stats.banned_refused++;
        return refuse(s, "banned address (guest)");
    }
    if (p->nguests >= p->lim.max_guests) {
        p->stats.guests_refused++;
        return refuse(s, "guest limit");
    }
    if (guests_from(p, host) >= p->lim.max_guests_per_addr) {
        p->stats.guests_refused++;
        return refuse(s, "guest limit per address");
    }
    return true;
}

void ent__guard_member(conn *c) {
    c->known = true;
    if (c->guest) {
        c->guest = false;
        c->p->nguests--;
    }
}

void ent__guard_conn_gone(conn *c) {
    if (c->guest) {
        c->guest = false;
        c->p->nguests--;
    }
}

/* ---- strikes and bans
 * --------------------------------------------------------- */

/* Closes every other open session of the banned org, or every guest from
 * the banned address. */
static void close_banned(ent_peers *p, const guard_ent *g) {
    for (conn *d = p->conns; d != NULL; d = d->next) {
        if (d->closing)
            continue;
        bool hit = g->is_addr ? d->guest && strcmp(ent_session_peer_host(d->s),
                                                   g->host) == 0
                              : d->has_org && memcmp(d->org, g->org, 32) == 0;
        if (hit)
            ent__peers_fail(d, ENT_WIRE_ERROR, ENT_WIRE_C_LIMIT, "banned",
                            ENT_ELIMIT);
    }
}

void ent__guard_strike(conn *c, const char *what) {
    ent_peers *p = c->p;
    uint64_t now = uv_now(p->loop);
    const char *host = c->guest ? ent_session_peer_host(c->s) : NULL;
    if (host == NULL && !c->has_org)
        return;
    guard_ent *g = get(p, c->org, host, now);
    p->stats.strikes++;
    if (banned_now(g, now))
        return; /* strikes during a ban add nothing */
    if (g->strikes > 0 && now - g->last_strike > p->lim.strike_window_ms)
        g->strikes = 0; /* a strike long after the last one starts again */
    g->strikes++;
    g->last_strike = now;
    if (g->strikes < p->lim.ban_strikes)
        return;
    uint64_t len = p->lim.ban_ms;
    for (uint32_t i = 0; i < g->bans && len < p->lim.ban_max_ms; i++)
        len *= 2;
    if (len > p->lim.ban_max_ms)
        len = p->lim.ban_max_ms;
    g->banned_until = now + len;
    g->bans++;
    g->strikes = 0;
    p->stats.bans++;
    char who[ENT_ORG_ID_LEN + 64], id[ENT_ORG_ID_LEN + 1];
    if (g->is_addr) {
        snprintf(who, sizeof(who), "address %s (as a guest)", g->host);
    } else {
        ent_org_id_format(id, g->org);
        snprintf(who, sizeof(who), "org %s", id);
        peer_ent *e = ent__peers_find(p, g->org);
        if (e != NULL && e->next_dial < g->banned_until)
            e->next_dial = g->banned_until; /* nor do we dial it */
    }
    ENT_WARN(p->log,
             "peers: banning %s for %llu s: %u violations within "
             "%u s (the last: %s)",
             who, (unsigned long long)(len / 1000), p->lim.ban_strikes,
             p->lim.strike_window_ms / 1000, what);
    close_banned(p, g);
}

void ent__guard_guest_close(conn *c, const char *why, int reason) {
    ent_peers *p = c->p;
    if (c->closing)
        return;
    p->stats.guests_closed++;
    ent_session_mgr_refused(p->mgr, ent_session_peer_host(c->s), why);
    ENT_DEBUG(p->log, "peers: guest %s closed: %s", ent_session_peer_addr(c->s),
              why);
    ent__peers_fail(c, ENT_WIRE_ERROR, ENT_WIRE_C_DENIED, "not allowed",
                    reason);
    ent__guard_strike(c, why);
}

void ent__guard_tick(ent_peers *p, uint64_t now) {
    for (conn *c = p->conns, *nx; c != NULL; c = nx) {
        nx = c->next;
        if (c->guest && c->open && !c->closing && !c->join_seen &&
            now - c->opened_at >= p->lim.guest_join_ms)
            ent__guard_guest_close(c, "guest: no JOIN in time", ENT_ETIMEOUT);
    }
}

/* ---- GET /v1/status "sessions"
 * ------------------------------------------------ */

int ent_peers_sessions_json(ent_peers *p, json_t **out) {
    ent_session_stats ss;
    uint64_t now = uv_now(p->loop), open = 0, banned = 0;
    memset(&ss, 0, sizeof(ss));
    if (p->mgr != NULL)
        ent_session_mgr_stats(p->mgr, &ss);
    for (const conn *c = p->conns; c != NULL; c = c->next)
        open += c->open && !c->closing;
    for (size_t i = 0; p->guards != NULL && i < ENT_PEERS_MAX_GUARDS; i++)
        banned += banned_now(&p->guards[i], now);
    *out = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "open", (json_int_t)open,
                     "guests", (json_int_t)p->nguests, "guests_closed",
                     (json_int_t)p->stats.guests_closed, "refused",
                     (json_int_t)ss.refused, "bans", (json_int_t)p->stats.bans,
                     "banned", (json_int_t)banned);
    return *out != NULL ? ENT_OK : ENT_ENOMEM;
}
