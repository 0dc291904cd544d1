/*
 * client.c - the CLI's blocking client of a node's local API: it connects to
 * HOME/api.sock, sends one HTTP/1.1 request with an optional JSON body and
 * parses the response with node/api/http.c, with an optional timeout. See
 * client.h.
 */
#include "node/cli/client.h"
#include "node/err.h"
#include "node/home.h"
#include "node/api/http.h"
#include "node/node.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline (0: none) passes. */
static int wait_fd(int fd, short events, long long deadline) {
    for (;;) {
        int t = -1;
        if (deadline != 0) {
            long long left = deadline - now_ms();
            if (left <= 0)
                return ENT_ETIMEOUT;
            t = left > INT_MAX ? INT_MAX : (int)left;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, t);
        if (r > 0)
            return ENT_OK;
        if (r == 0)
            return ENT_ETIMEOUT;
        if (errno != EINTR)
            return ent_err_from_errno(errno);
    }
}

static int connect_home(const char *home, int *fd_out) {
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    char path[PATH_MAX];
    int rc = ent_home_path(path, sizeof(path), home, ENT_HOME_SOCK);
    *fd_out = -1;
    if (rc != ENT_OK)
        return rc;
    if (strlen(path) >= sizeof(sun.sun_path))
        return ENT_ETOOBIG;
    strcpy(sun.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ent_err_from_errno(errno);
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
        int e = errno;
        close(fd);
        if (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR)
            return ENT_ENOTRUNNING;
        return ent_err_from_errno(e);
    }
    *fd_out = fd;
    return ENT_OK;
}

int ent_client_request_timeout(const char *home, const char *method,
                               const char *path, const json_t *body,
                               int timeout_ms, int *status, json_t **out) {
    char *req = NULL;
    size_t reqlen = 0;
    uint8_t *buf = NULL, *rbody = NULL;
    size_t len = 0, cap = 0, rlen = 0;
    long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
    int fd = -1;
    *status = 0;
    *out = NULL;

    /* $ENTENTE_TOKEN (or --token): act as that token's user; without it
     * the socket's operator (spec/access.md) */
    const char *tok = getenv("ENTENTE_TOKEN");
    int rc = ent_http_request_serialize_auth(
        method, path, body, tok != NULL && tok[0] != '\0' ? tok : NULL, &req,
        &reqlen);
    if (rc != ENT_OK)
        goto out;
    rc = connect_home(home, &fd);
    if (rc != ENT_OK)
        goto out;
    for (size_t off = 0; off < reqlen;) {
        if ((rc = wait_fd(fd, POLLOUT, deadline)) != ENT_OK)
            goto out;
        ssize_t w = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            /* the server may answer (413) before reading everything */
            if (errno == EPIPE || errno == ECONNRESET)
                break;
            rc = ent_err_from_errno(errno);
            goto out;
        }
        off += (size_t)w;
    }
    for (;;) {
        if (len == cap) {
            if (cap >= ENT_HTTP_MAX_RESPONSE + 64 * 1024) {
                rc = ENT_ETOOBIG;
                goto out;
            }
            size_t ncap = cap ? cap * 2 : 8192;
            uint8_t *nb = realloc(buf, ncap);
            if (nb == NULL) {
                rc = ENT_ENOMEM;
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        if ((rc = wait_fd(fd, POLLIN, deadline)) != ENT_OK)
            goto out;
        ssize_t r = recv(fd, buf + len, cap - len, 0);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            if (errno == ECONNRESET && len > 0)
                break;
            rc = errno == ECONNRESET ? ENT_ECLOSED : ent_err_from_errno(errno);
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (len == 0) {
        rc = ENT_ECLOSED;
        goto out;
    }
    rc = ent_http_parse_response(buf, len, status, &rbody, &rlen);
    if (rc != ENT_OK)
        goto out;
    if (rlen > 0) {
        json_error_t jerr;
        *out = json_loadb((const char *)rbody, rlen, JSON_DECODE_ANY, &jerr);
        if (*out == NULL)
            rc = ENT_EPROTO;
    }
out:
    if (fd >= 0)
        close(fd);
    free(req);
    free(buf);
    free(rbody);
    return rc;
}

int ent_client_request(const char *home, const char *method, const char *path,
                       const json_t *body, int *status, json_t **out) {
    return ent_client_request_timeout(home, method, path, body,
                                      ENT_CLIENT_TIMEOUT_MS, status, out);
}

const char *ent_client_error(const json_t *resp) {
    const json_t *e = resp ? json_object_get(resp, "error") : NULL;
    const json_t *m = e ? json_object_get(e, "message") : NULL;
    if (json_is_string(m))
        return json_string_value(m);
    return "unexpected response from the node";
}
