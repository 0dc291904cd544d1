/*
 * err.h - the one error enum of the project.
 *
 * Every function that can fail returns int: ENT_OK (0) or one of the negative
 * codes below. The table is an X-macro so that the enum, ent_err_name() and
 * ent_strerror() cannot drift apart (libuv's UV_ERRNO_MAP).
 *
 * This header and log.h (with term.h, which escapes its messages) are leaf
 * modules with no other dependencies; crypto/, storage/, protocol/ and
 * node/ all include them (see spec/storage.md).
 */
#ifndef ENT_ERR_H
#define ENT_ERR_H

#define ENT_ERR_MAP(X)                                                        \
    X(INVAL, -1, "invalid argument")                                          \
    X(NOMEM, -2, "out of memory")                                             \
    X(IO, -3, "input/output error")                                           \
    X(NOENT, -4, "not found")                                                 \
    X(EXIST, -5, "already exists")                                            \
    X(PERM, -6, "permission denied")                                          \
    X(INSECURE, -7, "file is readable by others")                             \
    X(CORRUPT, -8, "corrupt data")                                            \
    X(TRUNCATED, -9, "truncated data")                                        \
    X(TOOBIG, -10, "too large")                                               \
    X(NONCANON, -11, "non-canonical encoding")                                \
    X(BADSIG, -12, "bad signature")                                           \
    X(DECRYPT, -13, "decryption failed")                                      \
    X(VERSION, -14, "unsupported version")                                    \
    X(BUSY, -15, "resource busy")                                             \
    X(MAPFULL, -16, "database map full")                                      \
    X(NOSPC, -17, "no space left on device")                                  \
    X(AGAIN, -18, "try again")                                                \
    X(PROTO, -19, "protocol violation")                                       \
    X(DENIED, -20, "not allowed")                                             \
    X(EXPIRED, -21, "expired")                                                \
    X(USED, -22, "already used")                                              \
    X(CHECKSUM, -23, "checksum mismatch")                                     \
    X(NOTRUNNING, -24, "no node is running")                                  \
    X(CRYPTO, -25, "cryptographic failure")                                   \
    X(STORAGE, -26, "storage error")                                          \
    X(TIMEOUT, -27, "timed out")                                              \
    X(CLOSED, -28, "connection closed")                                       \
    X(LIMIT, -29, "limit exceeded")                                           \
    X(REPLAY, -30, "replayed input")                                          \
    X(NOTMEMBER, -31, "not a member")                                         \
    X(NET, -32, "network error")                                              \
    X(USAGE, -33, "usage error")                                              \
    X(SCHEMA, -34, "does not match the template")                             \
    X(CONFLICT, -35, "conflicting input")                                     \
    X(BADVALUE, -36, "value breaks the value rules")                          \
    X(AUTH, -37, "not authenticated")                                         \
    X(METHOD, -38, "method not allowed")                                      \
    X(RESTORING, -39, "restored from a backup: catching up with partners")

typedef enum ent_err {
    ENT_OK = 0,
#define ENT__ERR_ENUM(name, code, text) ENT_E##name = (code),
    ENT_ERR_MAP(ENT__ERR_ENUM)
#undef ENT__ERR_ENUM
} ent_err;

/*
 * Returns a static, human-readable description of err ("invalid argument").
 * Unknown codes give "unknown error". The string is never freed.
 */
const char *ent_strerror(int err);

/* Returns the symbolic name of err ("ENT_EINVAL"), static storage. */
const char *ent_err_name(int err);

/* Translates a positive errno value into the closest ent_err. */
int ent_err_from_errno(int errnum);

#endif
