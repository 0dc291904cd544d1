/* notify.c - the sd_notify(3) datagram, written by hand; see notify.h. */
#include "node/daemon/notify.h"
#include "node/err.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/*
 * Fills sun from a $NOTIFY_SOCKET value. An abstract name ("@name") becomes
 * a sun_path that starts with a NUL byte, and its length counts exactly the
 * bytes of the name (abstract names are not NUL-terminated).
 */
static int notify_addr(struct sockaddr_un *sun, socklen_t *len,
                       const char *name) {
    size_t n = strlen(name);
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (name[0] != '/' && name[0] != '@')
        return ENT_EINVAL;
    if (n >= sizeof(sun->sun_path) || n < 2)
        return n < 2 ? ENT_EINVAL : ENT_ETOOBIG;
    memcpy(sun->sun_path, name, n);
    if (name[0] == '@')
        sun->sun_path[0] = '\0';
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
                       (name[0] == '/' ? 1 : 0));
    return ENT_OK;
}

int ent_daemon_notify(const char *socket_name, const char *state) {
    struct sockaddr_un sun;
    socklen_t len = 0;
    int fd = -1;
    int rc = ENT_OK;
    if (socket_name == NULL || socket_name[0] == '\0')
        goto out;
    if (state == NULL || state[0] == '\0') {
        rc = ENT_EINVAL;
        goto out;
    }
    if ((rc = notify_addr(&sun, &len, socket_name)) != ENT_OK)
        goto out;
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = ent_err_from_errno(errno);
        goto out;
    }
    ssize_t w;
    do {
        w = sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT,
                   (const struct sockaddr *)&sun, len);
    } while (w < 0 && errno == EINTR);
    if (w < 0)
        rc = ent_err_from_errno(errno);
out:
    if (fd >= 0)
        close(fd);
    return rc;
}
