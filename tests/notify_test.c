/*
 * notify_test.c - the sd_notify(3) datagram of node/daemon/notify.c,
 * received by a datagram socket of the test's own, at a path and at an
 * abstract name, and every refusal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "node/daemon/notify.h"
#include "node/err.h"

/* A bound, non-blocking datagram socket at name ('@': abstract). */
static int listener(const char *name) {
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    size_t n = strlen(name);
    assert_true(n < sizeof(sun.sun_path));
    memcpy(sun.sun_path, name, n);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    if (name[0] == '@')
        sun.sun_path[0] = '\0';
    else
        len++;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, len), 0);
    return fd;
}

/* The one datagram waiting on fd, as a string ("" when none). */
static void received(int fd, char *out, size_t cap) {
    ssize_t r = recv(fd, out, cap - 1, 0);
    out[r > 0 ? r : 0] = '\0';
}

static void test_path_socket(void **state) {
    (void)state;
    char dir[] = "/tmp/ent-notify-XXXXXX", path[64], got[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/notify", dir);
    int fd = listener(path);
    const char *msg = "READY=1\nSTATUS=listening on 127.0.0.1:7411";
    assert_int_equal(ent_daemon_notify(path, msg), ENT_OK);
    received(fd, got, sizeof(got));
    assert_string_equal(got, msg);
    assert_int_equal(ent_daemon_notify(path, "STOPPING=1"), ENT_OK);
    received(fd, got, sizeof(got));
    assert_string_equal(got, "STOPPING=1");
    close(fd);
    unlink(path);
    /* nobody listens there any more */
    assert_int_equal(ent_daemon_notify(path, "READY=1"), ENT_ENOENT);
    rmdir(dir);
}

static void test_abstract_socket(void **state) {
    (void)state;
    char name[64], got[64];
    snprintf(name, sizeof(name), "@entente-notify-test-%ld-%d", (long)getpid(),
             rand());
    int fd = listener(name);
    assert_int_equal(ent_daemon_notify(name, "READY=1"), ENT_OK);
    received(fd, got, sizeof(got));
    assert_string_equal(got, "READY=1");
    close(fd);
}

static void test_refusals(void **state) {
    (void)state;
    char longname[200];
    /* no service manager: nothing to do */
    assert_int_equal(ent_daemon_notify(NULL, "READY=1"), ENT_OK);
    assert_int_equal(ent_daemon_notify("", "READY=1"), ENT_OK);
    /* neither absolute nor abstract, or nothing after the '@' */
    assert_int_equal(ent_daemon_notify("run/notify", "READY=1"), ENT_EINVAL);
    assert_int_equal(ent_daemon_notify("@", "READY=1"), ENT_EINVAL);
    assert_int_equal(ent_daemon_notify("/tmp/x", ""), ENT_EINVAL);
    assert_int_equal(ent_daemon_notify("/tmp/x", NULL), ENT_EINVAL);
    memset(longname, 'a', sizeof(longname) - 1);
    longname[0] = '/';
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(ent_daemon_notify(longname, "READY=1"), ENT_ETOOBIG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_socket),
        cmocka_unit_test(test_abstract_socket),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
