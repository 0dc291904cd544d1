/*
 * advertise_test.c - which address partners are told to dial
 * (node/peers/advertise.c): precedence of $ENTENTE_ADVERTISE, the setting
 * and the listen address; a wildcard listener with a fake route, with no
 * route, and with the real routing table (the chosen address must belong
 * to an interface of this machine); the loopback test and validation.
 *
 * Nothing here binds a wildcard address or sends a packet: the listen
 * address is only text, and the real route lookup is a connect() on a UDP
 * socket, which sends nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "node/err.h"
#include "node/peers/advertise.h"

/* A fake route: data is the IPv4 answer, or NULL for "no route"; IPv6 has
 * none unless the answer contains ':'. */
static int fake_route(int family, char *ip, size_t cap, void *data) {
    const char *a = data;
    if (a == NULL || (family == AF_INET6) != (strchr(a, ':') != NULL))
        return ENT_ENOENT;
    snprintf(ip, cap, "%s", a);
    return ENT_OK;
}

static void pick(char out[ENT_ADDR_STRLEN], const char *env, const char *conf,
                 const char *listen, const char *route,
                 ent_advertise_source *src) {
    ent_advertise_pick(out, env, conf, listen, fake_route, (void *)route, src);
}

static void test_precedence(void **state) {
    (void)state;
    char out[ENT_ADDR_STRLEN];
    ent_advertise_source src;
    pick(out, "10.9.9.9:1", "node.example.com:7411", "127.0.0.1:7411",
         "10.1.2.3", &src);
    assert_string_equal(out, "10.9.9.9:1");
    assert_int_equal(src, ENT_ADVERTISE_ENV);
    assert_string_equal(ent_advertise_source_name(src), "ENTENTE_ADVERTISE");
    pick(out, "", "node.example.com:7411", "0.0.0.0:7411", "10.1.2.3", &src);
    assert_string_equal(out, "node.example.com:7411");
    assert_int_equal(src, ENT_ADVERTISE_CONFIG);
    pick(out, NULL, NULL, "127.0.0.1:40000", "10.1.2.3", &src);
    assert_string_equal(out, "127.0.0.1:40000");
    assert_int_equal(src, ENT_ADVERTISE_LISTEN);
    pick(out, NULL, "", "[::1]:40000", "10.1.2.3", &src);
    assert_string_equal(out, "[::1]:40000");
    assert_int_equal(src, ENT_ADVERTISE_LISTEN);
    /* nothing at all: "" (a node that is not started yet) */
    pick(out, NULL, NULL, "", "10.1.2.3", &src);
    assert_string_equal(out, "");
}

static void test_wildcard(void **state) {
    (void)state;
    char out[ENT_ADDR_STRLEN];
    ent_advertise_source src;
    /* 0.0.0.0: the outward interface with the bound port */
    pick(out, NULL, NULL, "0.0.0.0:7411", "10.1.2.3", &src);
    assert_string_equal(out, "10.1.2.3:7411");
    assert_int_equal(src, ENT_ADVERTISE_ROUTE);
    assert_string_equal(ent_advertise_source_name(src), "route");
    /* no route: loopback */
    pick(out, NULL, NULL, "0.0.0.0:7411", NULL, &src);
    assert_string_equal(out, "127.0.0.1:7411");
    assert_int_equal(src, ENT_ADVERTISE_LOOPBACK);
    /* [::]: an IPv6 route, else an IPv4 one (dual stack), else [::1] */
    pick(out, NULL, NULL, "[::]:7411", "2001:db8::5", &src);
    assert_string_equal(out, "[2001:db8::5]:7411");
    assert_int_equal(src, ENT_ADVERTISE_ROUTE);
    pick(out, NULL, NULL, "[::]:7411", "10.1.2.3", &src);
    assert_string_equal(out, "10.1.2.3:7411");
    pick(out, NULL, NULL, "[::]:7411", NULL, &src);
    assert_string_equal(out, "[::1]:7411");
    assert_int_equal(src, ENT_ADVERTISE_LOOPBACK);
    /* 0.0.0.0 never takes an IPv6 route */
    pick(out, NULL, NULL, "0.0.0.0:7411", "2001:db8::5", &src);
    assert_string_equal(out, "127.0.0.1:7411");
}

/* True if ip is the address of one of this machine's interfaces. */
static bool local_address(int family, const char *ip) {
    struct ifaddrs *ifs, *i;
    char buf[INET6_ADDRSTRLEN];
    bool found = false;
    assert_int_equal(getifaddrs(&ifs), 0);
    for (i = ifs; i != NULL && !found; i = i->ifa_next) {
        if (i->ifa_addr == NULL || i->ifa_addr->sa_family != family)
            continue;
        const void *a =
            family == AF_INET
                ? (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr
                : (const void *)&((struct sockaddr_in6 *)i->ifa_addr)
                      ->sin6_addr;
        if (inet_ntop(family, a, buf, sizeof(buf)) != NULL &&
            strcmp(buf, ip) == 0)
            found = true;
    }
    freeifaddrs(ifs);
    return found;
}

/* The real routing table: whatever this machine has, the answer is an
 * address of its own (never loopback or unspecified), or "no route". */
static void test_real_route(void **state) {
    (void)state;
    char ip[INET6_ADDRSTRLEN], out[ENT_ADDR_STRLEN], want[ENT_ADDR_STRLEN];
    ent_advertise_source src;
    int rc = ent_advertise_route(AF_INET, ip, sizeof(ip), NULL);
    if (rc == ENT_OK) {
        assert_true(local_address(AF_INET, ip));
        assert_false(strncmp(ip, "127.", 4) == 0);
        assert_string_not_equal(ip, "0.0.0.0");
        snprintf(want, sizeof(want), "%s:7411", ip);
    } else {
        assert_int_equal(rc, ENT_ENOENT);
        snprintf(want, sizeof(want), "127.0.0.1:7411");
    }
    ent_advertise_pick(out, NULL, NULL, "0.0.0.0:7411", NULL, NULL, &src);
    assert_string_equal(out, want);
    assert_int_equal(src, rc == ENT_OK ? ENT_ADVERTISE_ROUTE
                                       : ENT_ADVERTISE_LOOPBACK);
    rc = ent_advertise_route(AF_INET6, ip, sizeof(ip), NULL);
    if (rc == ENT_OK)
        assert_true(local_address(AF_INET6, ip));
    else
        assert_int_equal(rc, ENT_ENOENT);
    assert_int_equal(ent_advertise_route(AF_INET, ip, 4, NULL) == ENT_OK,
                     false);
    assert_int_equal(ent_advertise_route(AF_UNIX, ip, sizeof(ip), NULL),
                     ENT_EINVAL);
}

static void test_loopback_and_valid(void **state) {
    (void)state;
    assert_true(ent_advertise_is_loopback("127.0.0.1:7411"));
    assert_true(ent_advertise_is_loopback("127.8.9.10:1"));
    assert_true(ent_advertise_is_loopback("[::1]:7411"));
    assert_true(ent_advertise_is_loopback("[::ffff:127.0.0.1]:7411"));
    assert_true(ent_advertise_is_loopback("localhost:7411"));
    assert_true(ent_advertise_is_loopback("LocalHost.:7411"));
    assert_true(ent_advertise_is_loopback("node.localhost:7411"));
    assert_false(ent_advertise_is_loopback("128.0.0.1:7411"));
    assert_false(ent_advertise_is_loopback("10.0.0.1:7411"));
    assert_false(ent_advertise_is_loopback("[2001:db8::1]:7411"));
    assert_false(ent_advertise_is_loopback("[::ffff:10.0.0.1]:7411"));
    assert_false(ent_advertise_is_loopback("notlocalhost:7411"));
    assert_false(ent_advertise_is_loopback("node.example.com:7411"));
    assert_false(ent_advertise_is_loopback(NULL));

    assert_true(ent_advertise_valid("192.0.2.10:7411"));
    assert_true(ent_advertise_valid("[2001:db8::1]:1"));
    assert_true(ent_advertise_valid("node.example.com:65535"));
    assert_false(ent_advertise_valid("192.0.2.10"));
    assert_false(ent_advertise_valid("192.0.2.10:0"));
    assert_false(ent_advertise_valid("192.0.2.10:65536"));
    assert_false(ent_advertise_valid("2001:db8::1:7411"));
    assert_false(ent_advertise_valid("bad host:7411"));
    assert_false(ent_advertise_valid(""));
    assert_false(ent_advertise_valid(NULL));
    char longname[ENT_ADDR_STRLEN + 8];
    memset(longname, 'a', sizeof(longname));
    memcpy(longname + ENT_ADDR_STRLEN - 5, ":7411", 6);
    assert_false(ent_advertise_valid(longname)); /* 64 bytes: too long */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_wildcard),
        cmocka_unit_test(test_real_route),
        cmocka_unit_test(test_loopback_and_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
