/*
 * directory.h - the object directory of the activity log (spec/audit.md
 * §7.1): for every object named by an entry before a checkpoint, the index
 * of that object's latest such entry, as an RFC 9162 Merkle tree whose
 * leaves are in the order of each object's first entry.
 *
 * A checkpoint entry commits to the directory of the entries before it
 * (its size and root), and every entry names the previous entry of its
 * object (`oprev`). Together they let an auditor check, from an object
 * export alone, that it holds every entry of the object up to a signed
 * head: the chain of oprev links proves that nothing is missing between
 * two exported entries, the directory that nothing is missing after the
 * last one.
 *
 * ent_dir is an in-memory replay of a log, used by the export (to prove an
 * object's leaf at past checkpoints) and by the offline verifier (to
 * recompute every checkpoint of a whole-log export). It rests on
 * ent_mtree, an in-memory RFC 9162 tree whose leaves can be appended and
 * replaced: O(1) amortised per append, O(log M) per replaced leaf, O(log
 * M) for the root and O(log^2 M) for an inclusion path, M leaves, about 64
 * bytes per leaf (the export also holds the log's own leaves in one, to
 * prove entries without reading the log once per proof). A directory
 * takes about 180 bytes per object. The node's own log keeps its
 * directory in LMDB instead (node/audit/actlog.c).
 */
#ifndef ENT_DIRECTORY_H
#define ENT_DIRECTORY_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/merkle.h"

/* Bytes of a directory leaf before hashing: object (32) || last (u64 BE). */
#define ENT_DIR_LEAF_LEN 40
/* Bytes of the dir field of a checkpoint: size (u64 BE) || root (32). */
#define ENT_DIR_COMMIT_LEN 40
/* Objects one in-memory directory holds at most. */
#define ENT_DIR_MAX ((uint64_t)1 << 32)

/* leaf = HASH(0x00 || object || last as u64 big-endian). */
void ent_dir_leaf_hash(uint8_t out[ENT_MERKLE_HASH_LEN],
                       const uint8_t object[32], uint64_t last);

/* ---- an in-memory Merkle tree ---- */

typedef struct ent_mtree ent_mtree;

/* A new empty tree. @return ENT_OK, ENT_ENOMEM. */
int ent_mtree_new(ent_mtree **out);
/* Frees t. Accepts NULL. */
void ent_mtree_free(ent_mtree *t);
/* Number of leaves. */
uint64_t ent_mtree_size(const ent_mtree *t);
/* Appends a leaf hash. @return ENT_OK, ENT_ENOMEM, ENT_ELIMIT (2^63). On
 * error t is unchanged. */
int ent_mtree_append(ent_mtree *t, const uint8_t leaf[ENT_MERKLE_HASH_LEN]);
/* Replaces leaf pos (< size). @return ENT_OK, ENT_EINVAL. */
int ent_mtree_set(ent_mtree *t, uint64_t pos,
                  const uint8_t leaf[ENT_MERKLE_HASH_LEN]);
/* MTH of the first n leaves (n <= size; HASH() for 0). */
void ent_mtree_root(const ent_mtree *t, uint64_t n,
                    uint8_t root[ENT_MERKLE_HASH_LEN]);
/*
 * Inclusion proof of leaf pos in the tree of the first n leaves (RFC 9162
 * PATH(pos, D[n])), into path[0..*len). @return ENT_OK, ENT_EINVAL (pos >=
 * n or n > size), ENT_ETOOBIG (cap too small; *len set).
 */
int ent_mtree_path(const ent_mtree *t, uint64_t pos, uint64_t n,
                   uint8_t (*path)[ENT_MERKLE_HASH_LEN], size_t cap,
                   size_t *len);

/* ---- the directory ---- */

typedef struct ent_dir ent_dir;

/* A new empty directory. @return ENT_OK, ENT_ENOMEM. */
int ent_dir_new(ent_dir **out);
/* Frees d. Accepts NULL. */
void ent_dir_free(ent_dir *d);

/*
 * Entry `index` names `object`: its leaf becomes (object, index), appended
 * when the object is new. *oprev (may be NULL) receives the object's
 * previous latest index, or `index` itself when the object is new, which
 * is exactly the oprev that entry must carry (spec/audit.md §7). Indexes
 * must grow; the caller checks that.
 * @return ENT_OK, ENT_ENOMEM, ENT_ELIMIT (ENT_DIR_MAX objects).
 */
int ent_dir_note(ent_dir *d, const uint8_t object[32], uint64_t index,
                 uint64_t *oprev);

/* Number of objects. */
uint64_t ent_dir_size(const ent_dir *d);

/* The directory root (HASH() when empty). O(log M) hashes. */
void ent_dir_root(const ent_dir *d, uint8_t root[ENT_MERKLE_HASH_LEN]);

/* Leaf position and latest index of object. @return ENT_OK, ENT_ENOENT. */
int ent_dir_find(const ent_dir *d, const uint8_t object[32], uint64_t *pos,
                 uint64_t *last);

/*
 * Inclusion proof of leaf pos in the current directory (RFC 9162 PATH),
 * into path[0..*len). @return ENT_OK, ENT_EINVAL (pos out of range),
 * ENT_ETOOBIG (cap too small).
 */
int ent_dir_path(const ent_dir *d, uint64_t pos,
                 uint8_t (*path)[ENT_MERKLE_HASH_LEN], size_t cap,
                 size_t *len);

#endif
