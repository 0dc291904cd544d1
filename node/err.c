/*
 * err.c - the names and texts of the project's error codes, generated from
 * the one table ENT_ERR_MAP in err.h, and the translation of errno values
 * into those codes. See err.h.
 */
#include "node/err.h"

#include <errno.h>

const char *ent_strerror(int err) {
    switch (err) {
    case ENT_OK:
        return "success";
#define ENT__ERR_TEXT(name, code, text)                                        \
    case ENT_E##name:                                                          \
        return text;
        ENT_ERR_MAP(ENT__ERR_TEXT)
#undef ENT__ERR_TEXT
    default:
        return "unknown error";
    }
}

const char *ent_err_name(int err) {
    switch (err) {
    case ENT_OK:
        return "ENT_OK";
#define ENT__ERR_NAME(name, code, text)                                        \
    case ENT_E##name:                                                          \
        return "ENT_E" #name;
        ENT_ERR_MAP(ENT__ERR_NAME)
#undef ENT__ERR_NAME
    default:
        return "ENT_EUNKNOWN";
    }
}

int ent_err_from_errno(int errnum) {
    switch (errnum) {
    case 0:
        return ENT_OK;
    case EINVAL:
        return ENT_EINVAL;
    case ENOMEM:
        return ENT_ENOMEM;
    case ENOENT:
        return ENT_ENOENT;
    case EEXIST:
        return ENT_EEXIST;
    case EACCES:
    case EPERM:
    case EROFS:
        return ENT_EPERM;
    case ENOSPC:
    case EDQUOT:
        return ENT_ENOSPC;
    case EAGAIN:
        return ENT_EAGAIN;
    case EBUSY:
        return ENT_EBUSY;
    case ETIMEDOUT:
        return ENT_ETIMEOUT;
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE:
        return ENT_ECLOSED;
    case EFBIG:
    case E2BIG:
    case ENAMETOOLONG:
        return ENT_ETOOBIG;
    default:
        return ENT_EIO;
    }
}
