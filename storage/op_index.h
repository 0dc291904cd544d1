/*
 * op_index.h - where each stored op is, by op id (spec/storage.md
 * "Op index").
 *
 * Op ids are random (BLAKE2b-256 of the op), so a table keyed by them has
 * every commit of a backlog touch nearly all of its leaf pages. The index
 * is therefore in two tables: "op_order" appends one row per op in arrival
 * order (arrival number, a local u64 from 1 -> op id || ops key), and
 * "op_index" maps the first 8 bytes of the op id to the arrival number
 * (16-byte rows: about four times as many per page as op id -> ops key);
 * an op whose 8 bytes are already taken by another op is indexed under its
 * whole 32-byte id instead. A lookup compares the whole id kept in
 * "op_order", so a clash of prefixes never gives the wrong op.
 *
 * The index has two levels of that layout: new rows go to the small
 * "op_recent", which is moved into "op_index" in one go once it holds
 * max(ENT_OP_INDEX_RECENT_MIN, sqrt(ENT_OP_INDEX_RECENT_K * all rows))
 * rows. A commit then rewrites the few pages of "op_recent" instead of
 * most of "op_index", and "op_index" is rewritten once per move.
 */
#ifndef ENT_OP_INDEX_H
#define ENT_OP_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

/* Bytes of an op id that key its "op_index" row. */
#define ENT_OP_INDEX_PREFIX 8
/* When "op_recent" moves into "op_index" (spec/storage.md "Op index"). */
#define ENT_OP_INDEX_RECENT_MIN 4096
#define ENT_OP_INDEX_RECENT_K 4000

/*
 * Finds op id's "ops" key. *okey points into the map, valid until the
 * transaction ends; *klen is 72 or 104 (spec/storage.md "Tables"). Either
 * pointer may be NULL (an existence test).
 * @return ENT_OK, ENT_ENOENT, ENT_ECORRUPT (an index row that names no
 *         "op_order" row), errors of the store.
 */
int ent_op_index_get(ent_txn *txn, const uint8_t id[32], const void **okey,
                     size_t *klen);

/*
 * Records that op id is stored under "ops" key okey (klen bytes, 1..255):
 * a new arrival number, or, when id is already indexed, its row rewritten
 * with the new key. @return ENT_OK, ENT_EINVAL, errors of the store.
 */
int ent_op_index_put(ent_txn *txn, const uint8_t id[32], const void *okey,
                     size_t klen);

/* *out: the number of indexed ops. */
int ent_op_index_count(ent_txn *txn, uint64_t *out);

#endif
