/*
 * advertise.h - the peer address this node advertises to partners: the one
 * address an invite token carries and HELLO announces (spec/invites.md §7,
 * spec/cli.md "Advertised address").
 *
 * In order of precedence: $ENTENTE_ADVERTISE (an override for tests and
 * containers); the home's setting `advertise` (meta table, set with `entente
 * init --advertise` or `entente config set advertise`); the bound listen
 * address when its host is a specific address; for a wildcard listener
 * (0.0.0.0 or [::]) the address of the interface that routes outward, with
 * the bound port; and the loopback address when there is no such route.
 *
 * Finding the outward interface sends nothing: connect() on a UDP socket
 * only asks the kernel for a route and a source address, which
 * getsockname() then reads. Pure functions otherwise, so the choice can be
 * tested with a fake route and without binding a wildcard address.
 */
#ifndef ENT_PEERS_ADVERTISE_H
#define ENT_PEERS_ADVERTISE_H

#include <stdbool.h>

#include "node/node.h" /* ENT_ADDR_STRLEN */

/* Where the advertised address came from (ent_advertise_source_name). */
typedef enum ent_advertise_source {
    ENT_ADVERTISE_ENV = 0, /* $ENTENTE_ADVERTISE */
    ENT_ADVERTISE_CONFIG,  /* the home's setting "advertise" */
    ENT_ADVERTISE_LISTEN,  /* the bound, specific listen address */
    ENT_ADVERTISE_ROUTE,   /* wildcard listener: the outward interface */
    ENT_ADVERTISE_LOOPBACK /* wildcard listener, no outward route */
} ent_advertise_source;

/*
 * Finds the local address the kernel would use to reach the internet over
 * family (AF_INET or AF_INET6) and writes it to ip (cap bytes; no port, no
 * brackets). Sends no packet. data is unused; it lets tests pass their own
 * function of this type to ent_advertise_pick().
 * @return ENT_OK; ENT_ENOENT (no route, or only a loopback, unspecified or
 *         link-local source); ENT_ETOOBIG (cap too small).
 */
int ent_advertise_route(int family, char *ip, size_t cap, void *data);

typedef int (*ent_advertise_route_fn)(int family, char *ip, size_t cap,
                                      void *data);

/*
 * Chooses the advertised address (precedence above) and writes it to out.
 * env and conf: the override and the setting, NULL or "" when unset; they
 * are taken as they are (callers check settings with
 * ent_advertise_valid()). listen: the bound address, "HOST:PORT" with the
 * actual port. route: finds the outward interface (NULL:
 * ent_advertise_route), called only for a wildcard listener, with data.
 * source (may be NULL) receives where the address came from. out is "" when
 * nothing applies (no override, no setting, and listen empty or invalid).
 */
void ent_advertise_pick(char out[ENT_ADDR_STRLEN], const char *env,
                        const char *conf, const char *listen,
                        ent_advertise_route_fn route, void *data,
                        ent_advertise_source *source);

/* "ENTENTE_ADVERTISE", "config", "listen", "route" or "loopback". */
const char *ent_advertise_source_name(ent_advertise_source s);

/*
 * True if s is an address a partner can be told to dial: "HOST:PORT" with
 * HOST an IPv4 address, a bracketed IPv6 address or a DNS name, and PORT
 * 1..65535 (ent_invite_addr_valid), shorter than ENT_ADDR_STRLEN.
 */
bool ent_advertise_valid(const char *s);

/*
 * True if s ("HOST:PORT") names this machine only: 127.0.0.0/8, [::1],
 * [::ffff:127.x.y.z], "localhost" or a name under ".localhost".
 */
bool ent_advertise_is_loopback(const char *s);

#endif
