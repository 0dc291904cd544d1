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

/* $ENTENTE_TOKEN (or --token): act as that token's user; without it the
 * socket's operator (spec/access.md) */
static const char *bearer(void) {
    const char *tok = getenv("ENTENTE_TOKEN");
    return tok != NULL && tok[0] != '\0' ? tok : NULL;
}

static int exchange(const char *home, char *req, size_t reqlen,
                    int timeout_ms, int *status, json_t **out);

int ent_client_request_timeout(const char *home, const char *method,
                               const char *path, const json_t *body,
                               int timeout_ms, int *status, json_t **out) {
    char *req = NULL;
    size_t reqlen = 0;
    *status = 0;
    *out = NULL;
    int rc = ent_http_request_serialize_auth(method, path, body, bearer(),
                                             &req, &reqlen);
    if (rc == ENT_OK)
        rc = exchange(home, req, reqlen, timeout_ms, status, out);
    free(req);
    return rc;
}

int ent_client_request_text(const char *home, const char *method,
                            const char *path, const char *body, size_t blen,
                            int timeout_ms, int *status, json_t **out) {
    char *req = NULL;
    size_t reqlen = 0;
    *status = 0;
    *out = NULL;
    int rc = ent_http_request_serialize_text(method, path, body, blen,
                                             bearer(), &req, &reqlen);
    if (rc == ENT_OK)
        rc = exchange(home, req, reqlen, timeout_ms, status, out);
    free(req);
    return rc;
}

/* Sends the serialised request req and reads the whole answer. */
static int exchange(const char *home, char *req, size_t reqlen,
                    int timeout_ms, int *status, json_t **out) {
    uint8_t *buf = NULL, *rbody = NULL;
    size_t len = 0, cap = 0, rlen = 0;
    long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
    int fd = -1;
    int rc = connect_home(home, &fd);
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
    free(buf);
    free(rbody);
    return rc;
}

int ent_client_request(const char *home, const char *method, const char *path,
                       const json_t *body, int *status, json_t **out) {
    return ent_client_request_timeout(home, method, path, body,
                                      ENT_CLIENT_TIMEOUT_MS, status, out);
}

/* Sends all of buf on fd (the node may answer before reading it all). */
static int send_all(int fd, const char *buf, size_t len, long long deadline) {
    for (size_t off = 0; off < len;) {
        int rc = wait_fd(fd, POLLOUT, deadline);
        if (rc != ENT_OK)
            return rc;
        ssize_t w = send(fd, buf + off, len - off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            if (errno == EPIPE || errno == ECONNRESET)
                return ENT_OK;
            return ent_err_from_errno(errno);
        }
        off += (size_t)w;
    }
    return ENT_OK;
}

/* The status code of a response head "HTTP/1.1 NNN ...", 0 if none. */
static int head_status(const uint8_t *b, size_t n) {
    if (n < 12 || memcmp(b, "HTTP/1.", 7) != 0 || b[8] != ' ')
        return 0;
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (b[i] < '0' || b[i] > '9')
            return 0;
        st = st * 10 + (b[i] - '0');
    }
    return st;
}

int ent_client_stream(const char *home, const char *path,
                      const volatile int *stop,
                      int (*fn)(void *data, const uint8_t *buf, size_t len),
                      void *data, int *status, json_t **out) {
    char *req = NULL;
    size_t reqlen = 0, len = 0, cap = 0, head = 0;
    uint8_t *buf = NULL, *rbody = NULL;
    size_t rlen = 0;
    int fd = -1;
    *status = 0;
    *out = NULL;
    const char *tok = getenv("ENTENTE_TOKEN");
    int rc = ent_http_request_serialize_auth(
        "GET", path, NULL, tok != NULL && tok[0] != '\0' ? tok : NULL, &req,
        &reqlen);
    if (rc == ENT_OK)
        rc = connect_home(home, &fd);
    if (rc == ENT_OK)
        rc = send_all(fd, req, reqlen, now_ms() + ENT_CLIENT_TIMEOUT_MS);
    long long deadline = now_ms() + ENT_CLIENT_TIMEOUT_MS; /* for the head */
    while (rc == ENT_OK && (stop == NULL || *stop == 0)) {
        if (len == cap) {
            if (cap >= ENT_HTTP_MAX_RESPONSE) {
                rc = ENT_ETOOBIG;
                break;
            }
            size_t ncap = cap ? cap * 2 : 16384;
            uint8_t *nb = realloc(buf, ncap);
            if (nb == NULL) {
                rc = ENT_ENOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int r = poll(&pf, 1, 200);
        if (r < 0 && errno != EINTR) {
            rc = ent_err_from_errno(errno);
            break;
        }
        if (r <= 0) {
            if (head == 0 && now_ms() > deadline)
                rc = ENT_ETIMEOUT;
            continue;
        }
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            rc = errno == ECONNRESET ? ENT_ECLOSED : ent_err_from_errno(errno);
            break;
        }
        if (n == 0) { /* the node closed */
            if (head == 0 && len == 0)
                rc = ENT_ECLOSED;
            break;
        }
        len += (size_t)n;
        if (head == 0) {
            uint8_t *end = memmem(buf, len, "\r\n\r\n", 4);
            if (end == NULL)
                continue;
            *status = head_status(buf, len);
            if (*status == 0) {
                rc = ENT_EPROTO;
                break;
            }
            head = (size_t)(end - buf) + 4;
            if (*status != 200)
                continue; /* the whole answer is read, then parsed */
            if (len > head && (rc = fn(data, buf + head, len - head)) != 0)
                break;
            len = 0;
            continue;
        }
        if (*status == 200) {
            rc = fn(data, buf, len);
            len = 0;
        }
    }
    if (rc == ENT_OK && head > 0 && *status != 200) {
        rc = ent_http_parse_response(buf, len, status, &rbody, &rlen);
        if (rc == ENT_OK && rlen > 0 &&
            (*out = json_loadb((const char *)rbody, rlen, JSON_DECODE_ANY,
                               NULL)) == NULL)
            rc = ENT_EPROTO;
    }
    if (fd >= 0)
        close(fd);
    free(req);
    free(buf);
    free(rbody);
    return rc;
}

const char *ent_client_error(const json_t *resp) {
    const json_t *e = resp ? json_object_get(resp, "error") : NULL;
    const json_t *m = e ? json_object_get(e, "message") : NULL;
    if (json_is_string(m))
        return json_string_value(m);
    return "unexpected response from the node";
}
