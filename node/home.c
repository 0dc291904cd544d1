/*
 * home.c - a node's home folder: the default location, paths inside it,
 * org names, `entente init` (identity, store and meta entries built in a
 * temporary sibling and renamed into place), the serve lock, and the
 * parsing of "HOST:PORT" addresses. See home.h.
 */
#include "node/home.h"
#include "crypto/identity.h"
#include "node/err.h"
#include "storage/store.h"

#include <uv.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int ent_home_default(char *out, size_t cap) {
    const char *e = getenv("ENTENTE_HOME");
    int n;
    if (e != NULL && e[0] != '\0') {
        n = snprintf(out, cap, "%s", e);
    } else {
        const char *h = getenv("HOME");
        if (h == NULL || h[0] == '\0')
            return ENT_ENOENT;
        n = snprintf(out, cap, "%s/.entente", h);
    }
    return (n < 0 || (size_t)n >= cap) ? ENT_ETOOBIG : ENT_OK;
}

int ent_home_path(char *out, size_t cap, const char *home, const char *file) {
    int n = snprintf(out, cap, "%s/%s", home, file);
    return (n < 0 || (size_t)n >= cap) ? ENT_ETOOBIG : ENT_OK;
}

/*
 * Checks strict UTF-8 (no overlong forms, no surrogates, nothing above
 * U+10FFFF) and refuses C0 and C1 control characters and DEL.
 */
int ent_home_check_name(const char *name) {
    const unsigned char *s = (const unsigned char *)name;
    size_t len = strlen(name);
    if (len == 0 || len > ENT_NAME_MAX)
        return ENT_EINVAL;
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        uint32_t cp;
        size_t n;
        if (c < 0x80) {
            cp = c;
            n = 1;
        } else if (c >= 0xc2 && c <= 0xdf) {
            cp = c & 0x1f;
            n = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            cp = c & 0x0f;
            n = 3;
        } else if (c >= 0xf0 && c <= 0xf4) {
            cp = c & 0x07;
            n = 4;
        } else {
            return ENT_EINVAL;
        }
        if (n > len - i)
            return ENT_EINVAL;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return ENT_EINVAL;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return ENT_EINVAL;
        if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
            return ENT_EINVAL;
        i += n;
    }
    return ENT_OK;
}

static int rm_entry(const char *path, const struct stat *sb, int type,
                    struct FTW *ftw) {
    (void)sb;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

/* Removes the folder tree at path (best effort). */
static void rm_tree(const char *path) {
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ENT_OK when path does not exist or is an empty folder. */
static int check_absent_or_empty(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? ENT_OK : ent_err_from_errno(errno);
    if (!S_ISDIR(st.st_mode))
        return ENT_EEXIST;
    DIR *d = opendir(path);
    if (d == NULL)
        return ENT_EEXIST;
    int rc = ENT_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            rc = ENT_EEXIST;
            break;
        }
    }
    closedir(d);
    return rc;
}

int ent_home_meta_get(ent_txn *txn, const char *key, char *out, size_t cap) {
    const void *v;
    size_t vl;
    int rc = ent_txn_get(txn, ENT_TBL_META, key, strlen(key), &v, &vl);
    if (rc != ENT_OK)
        return rc;
    if (vl >= cap || memchr(v, '\0', vl) != NULL)
        return ENT_ECORRUPT;
    memcpy(out, v, vl);
    out[vl] = '\0';
    return ENT_OK;
}

int ent_home_meta_put(ent_txn *txn, const char *key, const char *value) {
    if (value == NULL || value[0] == '\0') {
        int rc = ent_txn_del(txn, ENT_TBL_META, key, strlen(key));
        return rc == ENT_ENOENT ? ENT_OK : rc;
    }
    return ent_txn_put(txn, ENT_TBL_META, key, strlen(key), value,
                       strlen(value), 0);
}

int ent_home_restoring(ent_txn *txn) {
    const void *v;
    size_t vl;
    int rc = ent_txn_get(txn, ENT_TBL_META, ENT_META_RESTORED,
                         strlen(ENT_META_RESTORED), &v, &vl);
    if (rc == ENT_ENOENT)
        return ENT_OK;
    return rc == ENT_OK ? ENT_ERESTORING : rc;
}

static int write_meta(ent_txn *txn, void *data) {
    const ent_home_conf *m = data;
    int rc = ent_home_meta_put(txn, ENT_META_NAME, m->name);
    if (rc == ENT_OK)
        rc = ent_home_meta_put(txn, ENT_META_LISTEN, m->listen);
    if (rc == ENT_OK && m->advertise != NULL && m->advertise[0] != '\0')
        rc = ent_home_meta_put(txn, ENT_META_ADVERTISE, m->advertise);
    return rc;
}

static void fsync_dir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/*
 * Builds the home in PARENT/.BASE.init-XXXXXX (mode 0700 from mkdtemp), then
 * renames it onto home. rename(2) replaces an empty folder atomically and
 * fails on a non-empty one, so a home that appears meanwhile is not touched.
 */
int ent_home_init(const char *home, const char *name, const char *listen,
                  const ent_log *log, char org_out[ENT_ORG_ID_LEN + 1]) {
    ent_home_conf conf = {.name = name, .listen = listen};
    return ent_home_create(home, &conf, log, org_out);
}

int ent_home_create(const char *home, const ent_home_conf *conf,
                    const ent_log *log, char org_out[ENT_ORG_ID_LEN + 1]) {
    const char *name = conf->name;
    const char *listen = conf->listen;
    char clean[PATH_MAX], pbuf[PATH_MAX], bbuf[PATH_MAX];
    char tmp[PATH_MAX], path[PATH_MAX];
    struct sockaddr_storage ss;
    ent_identity *id = NULL;
    ent_store *st = NULL;
    bool made_tmp = false;
    int rc;

    if (listen == NULL)
        listen = ENT_DEFAULT_LISTEN;
    rc = ent_home_check_name(name);
    if (rc != ENT_OK)
        goto out;
    rc = ent_home_parse_addr(listen, &ss);
    if (rc != ENT_OK)
        goto out;
    if (conf->advertise != NULL && strlen(conf->advertise) >= ENT_ADDR_STRLEN) {
        rc = ENT_EINVAL;
        goto out;
    }
    size_t hl = strlen(home);
    if (hl == 0 || hl >= sizeof(clean)) {
        rc = ENT_EINVAL;
        goto out;
    }
    memcpy(clean, home, hl + 1);
    while (hl > 1 && clean[hl - 1] == '/')
        clean[--hl] = '\0';
    rc = check_absent_or_empty(clean);
    if (rc != ENT_OK)
        goto out;
    memcpy(pbuf, clean, hl + 1);
    memcpy(bbuf, clean, hl + 1);
    const char *parent = dirname(pbuf);
    const char *base = basename(bbuf);
    if (strcmp(base, "/") == 0 || strcmp(base, ".") == 0 ||
        strcmp(base, "..") == 0) {
        rc = ENT_EINVAL;
        goto out;
    }
    int n = snprintf(tmp, sizeof(tmp), "%s/.%s.init-XXXXXX", parent, base);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        rc = ENT_ETOOBIG;
        goto out;
    }
    if (mkdtemp(tmp) == NULL) {
        rc = ent_err_from_errno(errno);
        ENT_DEBUG(log, "init: mkdtemp %s: %s", tmp, strerror(errno));
        goto out;
    }
    made_tmp = true;

    rc = ent_identity_generate(&id);
    if (rc != ENT_OK)
        goto out;
    if ((rc = ent_home_path(path, sizeof(path), tmp, ENT_HOME_KEY)) != ENT_OK)
        goto out;
    rc = ent_identity_save(id, path);
    if (rc != ENT_OK)
        goto out;
    if ((rc = ent_home_path(path, sizeof(path), tmp, ENT_HOME_DB)) != ENT_OK)
        goto out;
    if (mkdir(path, 0700) != 0) {
        rc = ent_err_from_errno(errno);
        goto out;
    }
    rc = ent_store_open(&st, path, ENT_STORE_CREATE, log);
    if (rc != ENT_OK)
        goto out;
    ent_home_conf m = {name, listen, conf->advertise};
    rc = ent_store_write(st, write_meta, &m);
    if (rc != ENT_OK)
        goto out;
    ent_store_close(st);
    st = NULL;
    fsync_dir(tmp);

    if (rename(tmp, clean) != 0) {
        int e = errno;
        rc = (e == ENOTEMPTY || e == EEXIST || e == ENOTDIR)
                 ? ENT_EEXIST
                 : ent_err_from_errno(e);
        goto out;
    }
    made_tmp = false;
    fsync_dir(parent);
    ent_identity_org_id(id, org_out);
    ENT_INFO(log, "created home %s for org %s", clean, org_out);
out:
    ent_store_close(st);
    ent_identity_free(id);
    if (made_tmp)
        rm_tree(tmp);
    return rc;
}

int ent_home_lock(const char *home, int *fd_out, long *holder_pid) {
    char path[PATH_MAX];
    int rc = ENT_OK;
    int fd = -1;
    *fd_out = -1;
    if (holder_pid != NULL)
        *holder_pid = 0;
    rc = ent_home_path(path, sizeof(path), home, ENT_HOME_LOCK);
    if (rc != ENT_OK)
        goto out;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = ent_err_from_errno(errno);
        goto out;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            char buf[32] = {0};
            ssize_t r = pread(fd, buf, sizeof(buf) - 1, 0);
            if (r > 0 && holder_pid != NULL)
                *holder_pid = strtol(buf, NULL, 10);
            rc = ENT_EBUSY;
        } else {
            rc = ent_err_from_errno(errno);
        }
        goto out;
    }
    char pid[32];
    int pn = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)pn, 0) != pn) {
        rc = ent_err_from_errno(errno);
        goto out;
    }
    *fd_out = fd;
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

void ent_home_unlock(int fd) {
    if (fd < 0)
        return;
    flock(fd, LOCK_UN);
    close(fd);
}

/* ---- addresses ---------------------------------------------------------- */

int ent_home_addr_check(const char *s, char *why, size_t cap) {
    struct sockaddr_storage ss;
    const char *colon;
    size_t hl;
    why[0] = '\0';
    if (ent_home_parse_addr(s, &ss) == ENT_OK)
        return ENT_OK;
    if (s == NULL || s[0] == '\0') {
        snprintf(why, cap, "empty: want HOST:PORT, e.g. 127.0.0.1:7411");
        return ENT_EINVAL;
    }
    if (strlen(s) >= ENT_ADDR_STRLEN) {
        snprintf(why, cap, "longer than %d bytes", ENT_ADDR_STRLEN - 1);
        return ENT_EINVAL;
    }
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || rb[1] != ':') {
            snprintf(why, cap,
                     "want [IPv6]:PORT, e.g. [::1]:7411 (no port after ']')");
            return ENT_EINVAL;
        }
        colon = rb + 1;
        hl = (size_t)(rb - s) + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL) {
            snprintf(why, cap, "no port: want HOST:PORT, e.g. %s:7411", s);
            return ENT_EINVAL;
        }
        if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
            snprintf(why, cap,
                     "an IPv6 address goes in brackets, e.g. [::1]:7411");
            return ENT_EINVAL;
        }
        hl = (size_t)(colon - s);
    }
    const char *ps = colon + 1;
    bool digits = *ps != '\0' && strlen(ps) <= 5;
    for (const char *p = ps; digits && *p; p++)
        digits = *p >= '0' && *p <= '9';
    if (!digits || atol(ps) > 65535) {
        snprintf(why, cap, "the port must be a number from 0 to 65535");
        return ENT_EINVAL;
    }
    if (hl == 0) {
        snprintf(why, cap, "no host: want HOST:PORT, e.g. 0.0.0.0:%s", ps);
        return ENT_EINVAL;
    }
    if (s[0] == '[') {
        snprintf(why, cap, "%.*s is not an IPv6 address", (int)hl, s);
        return ENT_EINVAL;
    }
    bool name = false;
    for (size_t i = 0; i < hl; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
            name = true;
    if (name)
        snprintf(why, cap,
                 "%.*s is a name, and names are not resolved: give an IPv4 "
                 "address (127.0.0.1, or 0.0.0.0 for every interface) or a "
                 "bracketed IPv6 address ([::1])",
                 (int)hl, s);
    else
        snprintf(why, cap,
                 "%.*s is not an IPv4 address (four numbers from "
                 "0 to 255, e.g. 127.0.0.1)",
                 (int)hl, s);
    return ENT_EINVAL;
}

int ent_home_parse_addr(const char *s, void *out) {
    char host[ENT_ADDR_STRLEN];
    const char *colon;
    struct sockaddr_storage *ss = out;
    if (s == NULL || strlen(s) >= sizeof(host))
        return ENT_EINVAL;
    memset(ss, 0, sizeof(*ss));
    const char *hs = s;
    size_t hl;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || rb[1] != ':')
            return ENT_EINVAL;
        hs = s + 1;
        hl = (size_t)(rb - hs);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
            return ENT_EINVAL;
        hl = (size_t)(colon - s);
    }
    if (hl == 0)
        return ENT_EINVAL;
    memcpy(host, hs, hl);
    host[hl] = '\0';
    const char *ps = colon + 1;
    if (*ps == '\0' || strlen(ps) > 5)
        return ENT_EINVAL;
    long port = 0;
    for (const char *p = ps; *p; p++) {
        if (*p < '0' || *p > '9')
            return ENT_EINVAL;
        port = port * 10 + (*p - '0');
    }
    if (port > 65535)
        return ENT_EINVAL;
    if (s[0] == '[') {
        if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) != 0)
            return ENT_EINVAL;
    } else {
        if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) != 0)
            return ENT_EINVAL;
    }
    return ENT_OK;
}
