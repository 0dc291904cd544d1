/* advertise.c - which address partners are told to dial; see advertise.h. */
#include "node/peers/advertise.h"
#include "node/err.h"
#include "node/peers/invite.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* Public addresses whose route is asked for (no packet is ever sent). */
#define PROBE4 "8.8.8.8"
#define PROBE6 "2001:4860:4860::8888"
#define PROBE_PORT 53

int ent_advertise_route(int family, char *ip, size_t cap, void *data) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int rc = ENT_ENOENT;
    (void)data;
    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(PROBE_PORT);
        inet_pton(AF_INET, PROBE4, &a->sin_addr);
        len = sizeof(*a);
    } else if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(PROBE_PORT);
        inet_pton(AF_INET6, PROBE6, &a->sin6_addr);
        len = sizeof(*a);
    } else {
        return ENT_EINVAL;
    }
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ENT_ENOENT;
    /* connect() on a UDP socket picks a route and a source; sends nothing */
    if (connect(fd, (struct sockaddr *)&ss, len) != 0)
        goto out;
    len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        goto out;
    if (family == AF_INET) {
        struct in_addr a = ((struct sockaddr_in *)&ss)->sin_addr;
        uint32_t h = ntohl(a.s_addr);
        if (h == INADDR_ANY || (h >> 24) == 127)
            goto out;
        rc = inet_ntop(AF_INET, &a, ip, (socklen_t)cap) ? ENT_OK : ENT_ETOOBIG;
    } else {
        struct in6_addr a = ((struct sockaddr_in6 *)&ss)->sin6_addr;
        if (IN6_IS_ADDR_UNSPECIFIED(&a) || IN6_IS_ADDR_LOOPBACK(&a) ||
            IN6_IS_ADDR_LINKLOCAL(&a) || IN6_IS_ADDR_V4MAPPED(&a))
            goto out;
        rc = inet_ntop(AF_INET6, &a, ip, (socklen_t)cap) ? ENT_OK : ENT_ETOOBIG;
    }
out:
    close(fd);
    return rc;
}

/* The outward address of family as "HOST:port" into out; false if none. */
static bool routed(char out[ENT_ADDR_STRLEN], int family, const char *port,
                   ent_advertise_route_fn route, void *data) {
    char ip[INET6_ADDRSTRLEN];
    if (route(family, ip, sizeof(ip), data) != ENT_OK)
        return false;
    int n = family == AF_INET6
                ? snprintf(out, ENT_ADDR_STRLEN, "[%s]:%s", ip, port)
                : snprintf(out, ENT_ADDR_STRLEN, "%s:%s", ip, port);
    return n > 0 && n < ENT_ADDR_STRLEN;
}

void ent_advertise_pick(char out[ENT_ADDR_STRLEN], const char *env,
                        const char *conf, const char *listen,
                        ent_advertise_route_fn route, void *data,
                        ent_advertise_source *source) {
    struct sockaddr_storage ss;
    ent_advertise_source src = ENT_ADVERTISE_LISTEN;
    out[0] = '\0';
    if (route == NULL)
        route = ent_advertise_route;
    if (env != NULL && env[0] != '\0' && strlen(env) < ENT_ADDR_STRLEN) {
        snprintf(out, ENT_ADDR_STRLEN, "%s", env);
        src = ENT_ADVERTISE_ENV;
    } else if (conf != NULL && conf[0] != '\0' &&
               strlen(conf) < ENT_ADDR_STRLEN) {
        snprintf(out, ENT_ADDR_STRLEN, "%s", conf);
        src = ENT_ADVERTISE_CONFIG;
    } else if (listen != NULL && ent_home_parse_addr(listen, &ss) == ENT_OK) {
        const char *port = strrchr(listen, ':') + 1;
        bool any4 = ss.ss_family == AF_INET &&
                    ((struct sockaddr_in *)&ss)->sin_addr.s_addr == INADDR_ANY;
        bool any6 =
            ss.ss_family == AF_INET6 &&
            IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr);
        if (!any4 && !any6) {
            snprintf(out, ENT_ADDR_STRLEN, "%s", listen);
            src = ENT_ADVERTISE_LISTEN;
        } else if ((any6 && routed(out, AF_INET6, port, route, data)) ||
                   routed(out, AF_INET, port, route, data)) {
            /* [::] accepts IPv4 too (dual stack): either route will do */
            src = ENT_ADVERTISE_ROUTE;
        } else {
            snprintf(out, ENT_ADDR_STRLEN, any6 ? "[::1]:%s" : "127.0.0.1:%s",
                     port);
            src = ENT_ADVERTISE_LOOPBACK;
        }
    }
    if (source != NULL)
        *source = src;
}

const char *ent_advertise_source_name(ent_advertise_source s) {
    switch (s) {
    case ENT_ADVERTISE_ENV:
        return "ENTENTE_ADVERTISE";
    case ENT_ADVERTISE_CONFIG:
        return "config";
    case ENT_ADVERTISE_LISTEN:
        return "listen";
    case ENT_ADVERTISE_ROUTE:
        return "route";
    case ENT_ADVERTISE_LOOPBACK:
        return "loopback";
    }
    return "?";
}

bool ent_advertise_valid(const char *s) {
    if (s == NULL)
        return false;
    size_t n = strlen(s);
    return n < ENT_ADDR_STRLEN && ent_invite_addr_valid(s, n);
}

bool ent_advertise_is_loopback(const char *s) {
    struct sockaddr_storage ss;
    if (s == NULL)
        return false;
    if (ent_home_parse_addr(s, &ss) == ENT_OK) {
        if (ss.ss_family == AF_INET)
            return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >>
                    24) == 127;
        const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) ||
               (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    /* a DNS name: "localhost" and names under it (RFC 6761) */
    const char *colon = strrchr(s, ':');
    size_t hl = colon != NULL ? (size_t)(colon - s) : strlen(s);
    if (hl > 0 && s[hl - 1] == '.')
        hl--; /* "localhost." */
    return (hl == 9 && strncasecmp(s, "localhost", 9) == 0) ||
           (hl > 10 && strncasecmp(s + hl - 10, ".localhost", 10) == 0);
}
