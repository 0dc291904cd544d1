/*
 * identity.h - an org's Ed25519 identity and its key file.
 *
 * The key file HOME/identity.key is created with mode 0600 and refused when
 * group or others can read it, or when it is truncated or corrupt (format in
 * spec/crypto.md). The secret key never leaves this module except as a
 * signature or an X25519 secret handed to the Noise handshake.
 */
#ifndef ENT_IDENTITY_H
#define ENT_IDENTITY_H

#include "crypto/crypto.h"

typedef struct ent_identity ent_identity;

/* Generates a fresh identity. Free with ent_identity_free(). */
int ent_identity_generate(ent_identity **out);

/*
 * Writes id to path with mode 0600, refusing to replace an existing file
 * (ENT_EEXIST). Written to a temporary file, fsynced and renamed, so a crash
 * leaves either no file or a whole one. @return ENT_OK, ENT_EEXIST, ENT_EPERM,
 * ENT_ENOSPC, ENT_EIO.
 */
int ent_identity_save(const ent_identity *id, const char *path);

/*
 * Loads the identity at path. @return ENT_OK, ENT_ENOENT, ENT_EINSECURE
 * (readable by group or others), ENT_ETRUNCATED, ENT_ECORRUPT (bad magic,
 * checksum or key pair, trailing bytes), ENT_EVERSION, ENT_EPERM, ENT_EIO,
 * ENT_EINVAL (not a regular file).
 */
int ent_identity_load(ent_identity **out, const char *path);

/* Parses the bytes of a key file (the part of load after reading). */
int ent_identity_parse(ent_identity **out, const uint8_t *buf, size_t len);

/* Wipes and frees id. Accepts NULL. */
void ent_identity_free(ent_identity *id);

/* The 32-byte public key; valid as long as id. */
const uint8_t *ent_identity_public(const ent_identity *id);

/* The org id (base32 of the public key), NUL-terminated. */
void ent_identity_org_id(const ent_identity *id, char out[ENT_ORG_ID_LEN + 1]);

/* Signs msg under context ctx (see ent_sig_verify in crypto.h). */
int ent_identity_sign(const ent_identity *id, ent_sig_ctx ctx,
                      const uint8_t *msg, size_t len,
                      uint8_t sig[ENT_SIG_LEN]);

/* The X25519 key pair derived from the identity (for Noise and sealing). The
 * caller wipes xsk after use. */
int ent_identity_x25519(const ent_identity *id, uint8_t xpk[ENT_X25519_LEN],
                        uint8_t xsk[ENT_X25519_LEN]);

/* ---- additions (appended; the declarations above are the contract) ---- */

#define ENT_IDENTITY_FILE_LEN 106 /* bytes in a version-1 key file */

/*
 * The identity whose Ed25519 seed is seed (deterministic: tests and the
 * network simulator). Free with ent_identity_free(). @return ENT_OK,
 * ENT_ENOMEM, ENT_ECRYPTO.
 */
int ent_identity_from_seed(ent_identity **out,
                           const uint8_t seed[ENT_SIG_SEED_LEN]);

/*
 * Writes the key file bytes of id (exactly what ent_identity_save() puts on
 * disk) to out. The caller wipes out after use: it holds the secret seed.
 */
void ent_identity_encode(const ent_identity *id,
                         uint8_t out[ENT_IDENTITY_FILE_LEN]);

#endif
