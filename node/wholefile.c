/*
 * wholefile.c - a file written whole or not at all (wholefile.h).
 */
#include "node/wholefile.h"

#include "node/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ent_wholefile_open(ent_wholefile *w, const char *path) {
    size_t pl = strlen(path);
    int fd = -1, e = 0;
    w->f = NULL;
    w->dir_synced = false;
    if ((w->tmp = malloc(pl + 16)) == NULL) {
        errno = ENOMEM;
        return ENT_ENOMEM;
    }
    snprintf(w->tmp, pl + 16, "%s.tmpXXXXXX", path);
    if ((fd = mkostemp(w->tmp, O_CLOEXEC)) < 0) {
        e = errno;
        free(w->tmp);
        w->tmp = NULL;
        goto out;
    }
    if (fchmod(fd, 0600) != 0 || (w->f = fdopen(fd, "w")) == NULL) {
        e = errno;
        close(fd);
        unlink(w->tmp);
        free(w->tmp);
        w->tmp = NULL;
    }
out:
    errno = e;
    return e == 0 ? ENT_OK : ent_err_from_errno(e);
}

void ent_wholefile_abort(ent_wholefile *w) {
    if (w->f != NULL)
        fclose(w->f);
    if (w->tmp != NULL)
        unlink(w->tmp);
    free(w->tmp);
    w->f = NULL;
    w->tmp = NULL;
}

/* fsyncs the folder that holds path, so that its new entry is durable
 * (crypto/identity.c sync_parent_dir); 0 or an errno. */
static int sync_dir(const char *path) {
    char *copy = strdup(path), *slash;
    int dfd, e = 0;
    if (copy == NULL)
        return ENOMEM;
    slash = strrchr(copy, '/');
    if (slash == NULL)
        strcpy(copy, ".");
    else if (slash == copy)
        copy[1] = '\0';
    else
        *slash = '\0';
    dfd = open(copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0)
        e = errno;
    if (dfd >= 0)
        close(dfd);
    free(copy);
    return e;
}

int ent_wholefile_commit(ent_wholefile *w, const char *path) {
    int e = 0;
    errno = 0;
    if (fflush(w->f) != 0 || ferror(w->f) || fsync(fileno(w->f)) != 0)
        e = errno ? errno : EIO;
    if (fclose(w->f) != 0 && e == 0)
        e = errno ? errno : EIO;
    w->f = NULL;
    if (e == 0 && rename(w->tmp, path) != 0)
        e = errno;
    if (e != 0)
        unlink(w->tmp);
    free(w->tmp);
    w->tmp = NULL;
    if (e == 0 && (e = sync_dir(path)) == 0)
        w->dir_synced = true;
    errno = e;
    return e == 0 ? ENT_OK : ent_err_from_errno(e);
}

int ent_wholefile_write(const char *path, const void *buf, size_t len) {
    ent_wholefile w;
    int rc = ent_wholefile_open(&w, path);
    if (rc != ENT_OK)
        return rc;
    if (len > 0 && fwrite(buf, 1, len, w.f) != len) {
        int e = errno ? errno : EIO;
        ent_wholefile_abort(&w);
        errno = e;
        return ent_err_from_errno(e);
    }
    return ent_wholefile_commit(&w, path);
}
