/*
 * wire.h - node-to-node frames and messages (spec/protocol.md).
 *
 * Three layers, all pure (no network, no clock, no globals):
 *
 *   1. Framing. On the TCP stream every frame is a 4-byte big-endian length
 *      followed by that many bytes (a Noise handshake or transport message,
 *      1..ENT_WIRE_MAX_FRAME bytes). ent_wire_reader reassembles frames from
 *      whatever chunks the socket delivers, holding at most one partial
 *      frame; ent_wire_frame_header() writes a prefix.
 *   2. Bounded msgpack. ent_wire_prescan() walks raw msgpack without
 *      allocating and enforces size, depth, element-count and length limits,
 *      no ext or float types and exactly one top-level object. msgpack-c
 *      never sees bytes that have not passed it.
 *   3. Messages. Each message is a msgpack array [type, field...]; the
 *      layouts are in spec/protocol.md. ent_wire_encode() / ent_wire_decode()
 *      convert between those bytes and ent_wire_msg.
 *
 * Decoded messages never point into the input buffer: fixed-size fields and
 * bounded strings are copied inline into the struct, and the few variable
 * parts (OPS op records, ACK op ids, HAVE/WANT summaries, JOIN_OK key
 * boxes, DIGESTS entries, VV vectors) are heap copies
 * that ent_wire_msg_clear() frees.
 */
#ifndef ENT_WIRE_H
#define ENT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- framing ----------------------------------------------------------- */

#define ENT_WIRE_PREFIX_LEN 4      /* big-endian uint32 length prefix */
#define ENT_WIRE_MAX_FRAME 65535   /* bytes after the prefix (one Noise msg) */
#define ENT_WIRE_NOISE_TAG_LEN 16  /* ChaChaPoly tag of a transport message */
/* Handshake frames of version 1 have exact sizes (spec/handshake.md,
 * spec/protocol.md): e | e,ee,s,es + 96-byte auth | s,se + 96-byte auth. */
#define ENT_WIRE_HS1_LEN 32
#define ENT_WIRE_HS2_LEN 192
#define ENT_WIRE_HS3_LEN 160
#define ENT_WIRE_HANDSHAKE_MAX_FRAME ENT_WIRE_HS2_LEN /* reader cap until open */
/* Largest encoded message: what fits one Noise transport message. */
#define ENT_WIRE_MAX_MSG (ENT_WIRE_MAX_FRAME - ENT_WIRE_NOISE_TAG_LEN)

/* ---- bounded msgpack (ent_wire_prescan) -------------------------------- */

#define ENT_WIRE_MAX_DEPTH 16       /* nested arrays/maps, top level = 1 */
#define ENT_WIRE_MAX_CONTAINER 4096 /* elements of one array (pairs of a map) */
#define ENT_WIRE_MAX_OBJECTS 8192   /* msgpack objects in one message, all */
#define ENT_WIRE_MAX_BYTES_FIELD ENT_WIRE_MAX_MSG /* one str or bin */

/* ---- message field limits ---------------------------------------------- */

#define ENT_WIRE_VERSION 1         /* protocol version sent in HELLO */
#define ENT_WIRE_MAX_CAPS 16       /* capabilities in HELLO */
#define ENT_WIRE_MAX_CAP_LEN 32    /* bytes of one capability */
#define ENT_WIRE_MAX_NAME_LEN 64   /* bytes of a node or display name */
#define ENT_WIRE_MAX_ADDRS 8       /* listen addresses in HELLO */
#define ENT_WIRE_MAX_ADDR_LEN 128  /* bytes of one "host:port" */
#define ENT_WIRE_INVITE_ID_LEN 16
#define ENT_WIRE_PROOF_LEN 32
#define ENT_WIRE_ID_LEN 32         /* object ids and op ids */
#define ENT_WIRE_MAX_OPS 256       /* op records in one OPS message */
#define ENT_WIRE_MAX_OP_LEN 65536  /* bytes of one op record (field cap) */
#define ENT_WIRE_MAX_ACK_IDS 1024  /* op ids in one ACK */
#define ENT_WIRE_MAX_SUMMARY 4096  /* bytes of a HAVE/WANT summary */
#define ENT_WIRE_DIGEST_LEN 32     /* DIGEST / DIGESTS: BLAKE2b-256 */
#define ENT_WIRE_DIGEST_ENTRY 64   /* DIGESTS: object id || digest */
#define ENT_WIRE_MAX_DIGESTS 1000  /* entries in one DIGESTS message */
#define ENT_WIRE_VV_ENTRY 40       /* VV: author (32) || max seq (u64 BE) */
#define ENT_WIRE_MAX_ADDR_RECS 16  /* records in one ADDRS message */
#define ENT_WIRE_MAX_ADDR_REC 1024 /* bytes of one address record */
#define ENT_WIRE_MAX_VV 1024       /* (author, seq) entries in one VV */
#define ENT_WIRE_VV_REPLY 0x1      /* VV flags: answer with your own VV */
#define ENT_WIRE_NONCE_LEN 8       /* PING/PONG */
#define ENT_WIRE_BOX_LEN 80        /* JOIN_OK: an epoch key sealed to the joiner */
#define ENT_WIRE_MAX_JOIN_KEYS 256 /* JOIN_OK: epoch key boxes */
#define ENT_WIRE_MAX_TEXT 256      /* bytes of an error reason */
/* Bytes an OPS message adds around a single op record of 256..65535 bytes:
 * a lone op record may be at most ENT_WIRE_MAX_MSG - this = 65479 bytes. */
#define ENT_WIRE_OPS_OVERHEAD_ONE 40

/* ---- per-peer limits enforced by the session layer --------------------- */

#define ENT_WIRE_PEER_MAX_PENDING (1024 * 1024) /* bytes queued, each way */
#define ENT_WIRE_PEER_OPS_PER_SEC 2000          /* ops/s sustained */
#define ENT_WIRE_PEER_OPS_BURST 4000            /* token bucket depth */
#define ENT_WIRE_PEER_FRAMES_PER_SEC 500        /* frames/s sustained */
#define ENT_WIRE_PEER_FRAMES_BURST 1000
#define ENT_WIRE_PEER_MAX_INFLIGHT 64   /* OPS awaiting ACK, WANTs unanswered */
#define ENT_WIRE_PEER_MAX_PINGS 2       /* PINGs unanswered before drop */
#define ENT_WIRE_HANDSHAKE_TIMEOUT_MS 10000 /* connect to first HELLO */
#define ENT_WIRE_PING_INTERVAL_MS 20000
#define ENT_WIRE_IDLE_TIMEOUT_MS 60000  /* nothing received: drop */
#define ENT_WIRE_MAX_VIOLATIONS 1       /* decode errors before drop */

/* ---- message types ------------------------------------------------------ */

typedef enum ent_wire_type {
    ENT_WIRE_UNKNOWN = 0, /* decoded only: an ignorable type 64..127 */
    ENT_WIRE_HELLO = 1,
    ENT_WIRE_JOIN = 2,
    ENT_WIRE_JOIN_OK = 3,
    ENT_WIRE_JOIN_ERR = 4,
    ENT_WIRE_OPS = 5,
    ENT_WIRE_ACK = 6,
    ENT_WIRE_HAVE = 7,
    ENT_WIRE_WANT = 8,
    ENT_WIRE_PING = 9,
    ENT_WIRE_PONG = 10,
    ENT_WIRE_ERROR = 11,
    ENT_WIRE_GOODBYE = 12,
    ENT_WIRE_DIGEST = 13,  /* spec/gossip.md: one set digest */
    ENT_WIRE_DIGESTS = 14, /* per-object digests */
    ENT_WIRE_VV = 15,      /* one object's version vector */
    ENT_WIRE_HEAD = 16,        /* spec/audit.md §11: a signed tree head */
    ENT_WIRE_CONSISTENCY = 17, /* consistency proof request / answer */
    ENT_WIRE_OVERLAP = 20, /* spec/overlap.md §5: account mapping (PSI) */
    ENT_WIRE_CHUNK_WANT = 18,  /* spec/protocol.md: attachment chunks asked */
    ENT_WIRE_CHUNK = 19,       /* one sealed attachment chunk */
    ENT_WIRE_CREDIT = 21, /* spec/protocol.md §3.9: flow control grant
                             (only between nodes that both say "flow/1") */
    ENT_WIRE_RANGES = 22, /* spec/gossip.md §13: 16 range fingerprints
                             (only between nodes that both say "recon/1") */
    ENT_WIRE_LEAF = 23,   /* the objects of one range (likewise) */
    ENT_WIRE_ACKS = 24,   /* spec/protocol.md §3.4: a cumulative ACK
                             (only between nodes that both say "acks/1") */
    ENT_WIRE_REWIND = 25, /* spec/audit.md §11.1: a restored node's rewind
                             (only to a node that says "rewind/1") */
    ENT_WIRE_ADDRS = 64, /* spec/gossip.md §10: signed address records (an
                            extension: older nodes ignore it) */
} ent_wire_type;

#define ENT_WIRE_TYPE_IGNORE_MIN 64  /* 64..127: unknown ones are ignored */
#define ENT_WIRE_TYPE_MAX 127        /* anything above is a violation */

/* Codes carried by ERROR, GOODBYE and JOIN_ERR (spec/protocol.md). */
typedef enum ent_wire_code {
    ENT_WIRE_C_NONE = 0,         /* GOODBYE: normal close */
    ENT_WIRE_C_PROTO = 1,        /* malformed or unexpected message */
    ENT_WIRE_C_VERSION = 2,      /* no common protocol version */
    ENT_WIRE_C_TOOBIG = 3,       /* frame or field over a limit */
    ENT_WIRE_C_LIMIT = 4,        /* rate or in-flight limit exceeded */
    ENT_WIRE_C_DENIED = 5,       /* not allowed */
    ENT_WIRE_C_NOTMEMBER = 6,    /* not a member of that object */
    ENT_WIRE_C_INTERNAL = 7,     /* the sender failed; try later */
    ENT_WIRE_C_SHUTDOWN = 8,     /* GOODBYE: node stopping */
    ENT_WIRE_C_UNKNOWN_ORG = 9,  /* remote static key not expected */
    ENT_WIRE_C_INVITE_UNKNOWN = 16,
    ENT_WIRE_C_INVITE_EXPIRED = 17,
    ENT_WIRE_C_INVITE_USED = 18,
    ENT_WIRE_C_BAD_PROOF = 19,
} ent_wire_code;

/* ---- messages ----------------------------------------------------------- */

/* Borrowed or owned byte string (see ent_wire_msg). */
typedef struct ent_wire_bytes {
    const uint8_t *p;
    size_t len;
} ent_wire_bytes;

typedef struct ent_wire_hello {
    uint32_t version;                 /* ENT_WIRE_VERSION when sending */
    size_t ncaps;                     /* <= ENT_WIRE_MAX_CAPS */
    char caps[ENT_WIRE_MAX_CAPS][ENT_WIRE_MAX_CAP_LEN + 1]; /* 1..32, ASCII */
    char name[ENT_WIRE_MAX_NAME_LEN + 1];   /* 1..64 bytes UTF-8 */
    size_t naddrs;                    /* <= ENT_WIRE_MAX_ADDRS */
    char addrs[ENT_WIRE_MAX_ADDRS][ENT_WIRE_MAX_ADDR_LEN + 1]; /* host:port */
} ent_wire_hello;

typedef struct ent_wire_join {
    uint8_t invite_id[ENT_WIRE_INVITE_ID_LEN];
    uint8_t proof[ENT_WIRE_PROOF_LEN]; /* MAC bound to the handshake hash */
    char name[ENT_WIRE_MAX_NAME_LEN + 1]; /* joiner display name, 1..64 */
} ent_wire_join;

/* One epoch key sealed to the joiner (JOIN_OK). */
typedef struct ent_wire_join_key {
    uint64_t epoch;
    uint8_t box[ENT_WIRE_BOX_LEN];
} ent_wire_join_key;

typedef struct ent_wire_join_ok {
    uint8_t object[ENT_WIRE_ID_LEN];
    size_t nkeys;                       /* 0..ENT_WIRE_MAX_JOIN_KEYS */
    ent_wire_join_key *keys;            /* nkeys epoch key boxes */
    uint64_t nops;                      /* op records of the history that
                                           follow in OPS (spec/protocol.md) */
} ent_wire_join_ok;

/* JOIN_ERR, ERROR and GOODBYE. */
typedef struct ent_wire_error {
    int32_t code;                       /* ent_wire_code, others allowed */
    char text[ENT_WIRE_MAX_TEXT + 1];   /* 0..256 bytes UTF-8 */
} ent_wire_error;

typedef struct ent_wire_ops {
    uint8_t object[ENT_WIRE_ID_LEN];
    size_t nops;                        /* 1..ENT_WIRE_MAX_OPS */
    ent_wire_bytes *ops;                /* nops op records, 1..64 KiB each */
} ent_wire_ops;

typedef struct ent_wire_ack {
    uint8_t object[ENT_WIRE_ID_LEN];
    size_t nids;                        /* 0..ENT_WIRE_MAX_ACK_IDS */
    uint8_t (*ids)[ENT_WIRE_ID_LEN];    /* nids op ids */
} ent_wire_ack;

/* HAVE and WANT. */
typedef struct ent_wire_summary {
    uint8_t object[ENT_WIRE_ID_LEN];
    size_t len;                         /* 0..ENT_WIRE_MAX_SUMMARY */
    uint8_t *bytes;                     /* len bytes; NULL when len is 0 */
} ent_wire_summary;

/* DIGEST (spec/gossip.md): the set digest of the objects both sides share. */
typedef struct ent_wire_digest {
    uint8_t digest[ENT_WIRE_DIGEST_LEN];
    uint64_t nobjects;                  /* objects the digest covers */
} ent_wire_digest;

/* DIGESTS: n entries of object id (32) || object digest (32), sorted by
 * object id, out of a listing of total objects (n == total: complete). */
typedef struct ent_wire_digests {
    uint64_t total;                     /* >= n */
    size_t n;                           /* 0..ENT_WIRE_MAX_DIGESTS */
    uint8_t (*entries)[ENT_WIRE_DIGEST_ENTRY]; /* NULL when n is 0 */
} ent_wire_digests;

/* RANGES (spec/gossip.md §13): the fingerprints of the 16 children of the
 * range of object ids whose first bits bits equal prefix's (bits 0, 4, 8
 * or 12; the bits of prefix after them are zero). Child j's next 4 bits
 * are j; its fingerprint is sum (32, little-endian) || count (u64 BE).
 * On the wire only the children with a non-zero count are sent (a mask). */
#define ENT_WIRE_RECON_CAP "recon/1" /* the HELLO capability */
#define ENT_WIRE_RECON_FANOUT 16
#define ENT_WIRE_RECON_FP 40
#define ENT_WIRE_RECON_BITS 16 /* deepest range */
typedef struct ent_wire_ranges {
    uint8_t prefix[2];
    uint32_t bits;
    uint8_t fps[ENT_WIRE_RECON_FANOUT][ENT_WIRE_RECON_FP];
} ent_wire_ranges;

/* LEAF: the sender's objects (id || object digest, ascending, each in the
 * range) of the range (prefix, bits), bits 0..16 a multiple of 4; n of
 * total (n == total: the whole range). */
typedef struct ent_wire_leaf {
    uint8_t prefix[2];
    uint32_t bits;
    uint64_t total;                     /* >= n */
    size_t n;                           /* 0..ENT_WIRE_MAX_DIGESTS */
    uint8_t (*entries)[ENT_WIRE_DIGEST_ENTRY]; /* NULL when n is 0 */
} ent_wire_leaf;

/* VV: version vector of one object, len/40 entries author || seq BE,
 * sorted by author; flags ENT_WIRE_VV_REPLY or 0. tips (optional, the
 * fifth element): per entry, in the same order, the 32-byte id of an op
 * the sender holds at that (author, seq), so that two versions of one seq
 * (a fork, spec/gossip.md §3) are told apart. */
typedef struct ent_wire_vv {
    uint8_t object[ENT_WIRE_ID_LEN];
    size_t len;                         /* 0..ENT_WIRE_MAX_VV * 40 */
    uint8_t *bytes;                     /* NULL when len is 0 */
    uint32_t flags;
    bool has_tips;                      /* the fifth element is there */
    uint8_t *tips;                      /* len / 40 * 32 bytes; NULL when
                                           len is 0 or !has_tips */
} ent_wire_vv;

#define ENT_WIRE_HEAD_MAX 160      /* HEAD: bytes of a signed tree head */
#define ENT_WIRE_MAX_CPROOF 64     /* CONSISTENCY: hashes of a proof */
#define ENT_WIRE_HASH_LEN 32
#define ENT_WIRE_SIG_LEN 64

/* HEAD (spec/audit.md §11): the sender's signed tree head, 1..160 bytes. */
typedef struct ent_wire_head {
    size_t len;
    uint8_t bytes[ENT_WIRE_HEAD_MAX];
} ent_wire_head;

/* CONSISTENCY: a request (has_sig false, no hashes) for the proof from
 * tree size `from` to `to`, or the answer: the proof and the sender's
 * signature over it (spec/audit.md §11). */
typedef struct ent_wire_consistency {
    uint64_t from, to;
    size_t nhashes;                     /* 0..ENT_WIRE_MAX_CPROOF */
    uint8_t hashes[ENT_WIRE_MAX_CPROOF][ENT_WIRE_HASH_LEN];
    bool has_sig;
    uint8_t sig[ENT_WIRE_SIG_LEN];
} ent_wire_consistency;

/* REWIND (spec/audit.md §11.1, capability "rewind/1"): [25, kind, bytes].
 * ASK (bytes empty): "which head of mine do you keep?"; KEPT: the answer,
 * the asker's head the sender keeps as a witness (a head, 1..160 bytes) or
 * nothing; DECLARE: a rewind record (1..512 bytes), which the audit layer
 * decodes and checks (node/audit/witness.h). */
#define ENT_WIRE_REWIND_CAP "rewind/1"
#define ENT_WIRE_REWIND_MAX 512
enum {
    ENT_WIRE_REWIND_ASK = 0,
    ENT_WIRE_REWIND_KEPT = 1,
    ENT_WIRE_REWIND_DECLARE = 2,
};
typedef struct ent_wire_rewind {
    uint32_t kind;
    size_t len;
    uint8_t bytes[ENT_WIRE_REWIND_MAX];
} ent_wire_rewind;

/* OVERLAP (spec/overlap.md §5): [20, kind, run, a, b, data]. The kinds
 * and the meaning of a, b and data are the overlap layer's
 * (node/overlap/); here: kind 1..ENT_WIRE_OVERLAP_MAX_KIND, run 16 bytes,
 * a and b any uint64, data 0..ENT_WIRE_OVERLAP_MAX_DATA bytes. */
#define ENT_WIRE_OVERLAP_MAX_KIND 15
#define ENT_WIRE_OVERLAP_RUN_LEN 16
#define ENT_WIRE_OVERLAP_MAX_DATA 65280 /* 2040 points of 32 bytes */
typedef struct ent_wire_overlap {
    uint32_t kind;
    uint8_t run[ENT_WIRE_OVERLAP_RUN_LEN];
    uint64_t a, b;
    size_t len;
    uint8_t *data; /* len bytes; NULL when len is 0 (decode: malloc'ed) */
} ent_wire_overlap;
#define ENT_WIRE_MAX_CHUNK_WANT 16 /* CHUNK_WANT: hashes of one request */
#define ENT_WIRE_MAX_CHUNK 49192   /* CHUNK: bytes of a sealed chunk (nonce,
                                      49,152 bytes, tag) */

/* CHUNK_WANT: chunks of an object's attachments, by their hashes. */
typedef struct ent_wire_chunk_want {
    uint8_t object[ENT_WIRE_ID_LEN];
    size_t n;                           /* 1..ENT_WIRE_MAX_CHUNK_WANT */
    uint8_t hashes[ENT_WIRE_MAX_CHUNK_WANT][ENT_WIRE_HASH_LEN];
} ent_wire_chunk_want;

/* CHUNK: one sealed chunk of an object's attachment; its hash is the
 * BLAKE2b-256 of data (the receiver computes it). */
typedef struct ent_wire_chunk {
    uint8_t object[ENT_WIRE_ID_LEN];
    size_t len;                         /* 1..ENT_WIRE_MAX_CHUNK */
    const uint8_t *data;                /* owned after decode */
} ent_wire_chunk;

/* ACKS (spec/protocol.md §3.4, capability "acks/1"): [24, count], the
 * answer to the next count OPS messages not answered yet, in arrival order,
 * as count ACKs would be (1..ENT_WIRE_MAX_ACKS_COUNT). */
#define ENT_WIRE_ACKS_CAP "acks/1" /* the HELLO capability */
#define ENT_WIRE_MAX_ACKS_COUNT ENT_WIRE_PEER_MAX_INFLIGHT
typedef struct ent_wire_acks {
    uint32_t count;
} ent_wire_acks;

/* CREDIT (spec/protocol.md §3.9): [21, frames, bytes], the totals of
 * messages and plaintext bytes the receiver of this CREDIT may have sent
 * on the session in all (protocol/flow.h). */
typedef struct ent_wire_credit {
    uint64_t frames, bytes;
} ent_wire_credit;

/* ADDRS: signed address records (protocol/addr_record.h), opaque here. */
typedef struct ent_wire_addrs {
    size_t nrecs;                       /* 1..ENT_WIRE_MAX_ADDR_RECS */
    ent_wire_bytes *recs;               /* 1..1024 bytes each */
} ent_wire_addrs;

/*
 * One message. Set type and the matching union member.
 *
 * Ownership: after ent_wire_decode() every pointer inside is owned by the
 * message (one allocation per variable part) and ent_wire_msg_clear() frees
 * it. When you fill a message yourself to encode it, the pointers are yours:
 * ent_wire_encode() only reads them, and you must not call
 * ent_wire_msg_clear() on it unless they came from malloc as decode does
 * (OPS and ADDRS: one block holding the ent_wire_bytes array and every
 * record; CHUNK: the data; ACK:
 * the ids array; HAVE/WANT: the summary bytes; JOIN_OK: the keys array).
 *
 * type ENT_WIRE_UNKNOWN is produced by the decoder only, for a type in
 * 64..127 that this version does not know; u.unknown_type holds it and the
 * receiver ignores the message (forward compatibility).
 */
typedef struct ent_wire_msg {
    int type;                           /* ent_wire_type */
    union {
        ent_wire_hello hello;           /* HELLO */
        ent_wire_join join;             /* JOIN */
        ent_wire_join_ok join_ok;       /* JOIN_OK */
        ent_wire_error error;           /* JOIN_ERR, ERROR, GOODBYE */
        ent_wire_ops ops;               /* OPS */
        ent_wire_ack ack;               /* ACK */
        ent_wire_summary summary;       /* HAVE, WANT */
        ent_wire_digest digest;         /* DIGEST */
        ent_wire_digests digests;       /* DIGESTS */
        ent_wire_ranges ranges;         /* RANGES */
        ent_wire_leaf leaf;             /* LEAF */
        ent_wire_vv vv;                 /* VV */
        ent_wire_head head;             /* HEAD */
        ent_wire_consistency cons;      /* CONSISTENCY */
        ent_wire_rewind rewind;         /* REWIND */
        ent_wire_addrs addrs;           /* ADDRS */
        ent_wire_overlap overlap;       /* OVERLAP */
        ent_wire_chunk_want chunk_want; /* CHUNK_WANT */
        ent_wire_chunk chunk;           /* CHUNK */
        ent_wire_credit credit;         /* CREDIT */
        ent_wire_acks acks;             /* ACKS */
        uint8_t nonce[ENT_WIRE_NONCE_LEN]; /* PING, PONG */
        int unknown_type;               /* UNKNOWN */
    } u;
} ent_wire_msg;

/* ---- framing API -------------------------------------------------------- */

typedef struct ent_wire_reader ent_wire_reader;

/*
 * Called once per whole frame. frame (len bytes, 1..max_frame) is borrowed:
 * valid only during the call. Return ENT_OK to continue; any other value
 * stops ent_wire_reader_feed(), which returns it, and poisons the reader.
 * The callback must not free the reader or feed it; it may call
 * ent_wire_reader_set_max().
 */
typedef int (*ent_wire_frame_cb)(ent_wire_reader *r, const uint8_t *frame,
                                 size_t len, void *data);

/*
 * Creates a frame reader accepting frames of 1..max_frame bytes
 * (0 means ENT_WIRE_MAX_FRAME; larger than that is ENT_EINVAL). The reader
 * never holds more than ENT_WIRE_PREFIX_LEN + max_frame bytes. Free with
 * ent_wire_reader_free().
 * @return ENT_OK, ENT_EINVAL, ENT_ENOMEM.
 */
int ent_wire_reader_new(ent_wire_reader **out, size_t max_frame);

/* Frees r and its buffer. Accepts NULL. */
void ent_wire_reader_free(ent_wire_reader *r);

/*
 * Consumes len bytes of stream (a chunk of any size, even 0) and calls cb
 * for every frame completed, in order. Whole frames inside buf are passed
 * without copying; only a trailing partial frame is buffered.
 *
 * A length prefix above max_frame fails at once with ENT_ETOOBIG (before
 * its body arrives), a zero length with ENT_EPROTO. After any error,
 * including one returned by cb, the reader is unusable: every later call
 * returns the same error. The session drops the peer.
 * @return ENT_OK, ENT_ETOOBIG, ENT_EPROTO, ENT_ENOMEM, ENT_EINVAL, or what
 *         cb returned.
 */
int ent_wire_reader_feed(ent_wire_reader *r, const uint8_t *buf, size_t len,
                         ent_wire_frame_cb cb, void *data);

/*
 * Changes the largest accepted frame (0 means ENT_WIRE_MAX_FRAME) for every
 * prefix read from now on; a frame whose prefix was already accepted keeps
 * its length. May be called from inside the frame callback, e.g. to accept
 * only handshake-sized frames until the session is authenticated.
 * @return ENT_OK or ENT_EINVAL (above ENT_WIRE_MAX_FRAME).
 */
int ent_wire_reader_set_max(ent_wire_reader *r, size_t max_frame);

/* Bytes currently held (partial prefix + partial frame). */
size_t ent_wire_reader_buffered(const ent_wire_reader *r);

/* The sticky error of r, or ENT_OK while it is usable. */
int ent_wire_reader_error(const ent_wire_reader *r);

/*
 * Writes the 4-byte length prefix of a frame of len bytes.
 * @return ENT_OK, or ENT_ETOOBIG / ENT_EINVAL when len is not 1..65535.
 */
int ent_wire_frame_header(uint8_t out[ENT_WIRE_PREFIX_LEN], size_t len);

/* ---- bounded msgpack ---------------------------------------------------- */

/*
 * Checks that buf holds exactly one msgpack object within the limits above,
 * without allocating: len <= ENT_WIRE_MAX_MSG, depth <= ENT_WIRE_MAX_DEPTH,
 * each array/map <= ENT_WIRE_MAX_CONTAINER elements/pairs, all objects <=
 * ENT_WIRE_MAX_OBJECTS, every str/bin within the remaining bytes, no ext,
 * float or 0xc1 bytes, no trailing bytes.
 * @return ENT_OK; ENT_ETOOBIG when a limit is exceeded; ENT_EPROTO for
 *         malformed, truncated or forbidden input; ENT_EINVAL for NULL buf
 *         with len > 0.
 */
int ent_wire_prescan(const uint8_t *buf, size_t len);

/* ---- message API -------------------------------------------------------- */

/*
 * Exact encoded size of m in bytes, or 0 when m is not valid (a field over
 * its limit, an unknown type). The result may exceed ENT_WIRE_MAX_MSG: the
 * sender then splits (OPS) or fails. Lets gossip fill frames.
 */
size_t ent_wire_encoded_size(const ent_wire_msg *m);

/*
 * Encodes m into a new buffer (*out, *len); the caller free()s *out.
 * @return ENT_OK; ENT_EINVAL for an invalid message (bad type, a field over
 *         its limit, empty name, bad address, invalid UTF-8...);
 *         ENT_ETOOBIG when the encoding exceeds ENT_WIRE_MAX_MSG;
 *         ENT_ENOMEM. On error *out is NULL.
 */
int ent_wire_encode(const ent_wire_msg *m, uint8_t **out, size_t *len);

/*
 * Same, into buf of cap bytes (e.g. right after a frame prefix).
 * @return as ent_wire_encode, and ENT_ETOOBIG when cap is too small.
 */
int ent_wire_encode_to(const ent_wire_msg *m, uint8_t *buf, size_t cap,
                       size_t *len);

/*
 * Decodes one message from buf (the plaintext of one transport frame): runs
 * ent_wire_prescan(), then msgpack-c, then checks every type and length.
 * On success m owns its variable parts (free with ent_wire_msg_clear());
 * nothing points into buf. On error m is zeroed and owns nothing.
 * @return ENT_OK (m->type may be ENT_WIRE_UNKNOWN: ignore it);
 *         ENT_ETOOBIG or ENT_EPROTO from the prescan; ENT_EPROTO for a
 *         wrong shape, wrong field type or length, invalid text, or an
 *         unknown type below 64 or above 127; ENT_ENOMEM.
 */
int ent_wire_decode(ent_wire_msg *m, const uint8_t *buf, size_t len);

/* Frees what ent_wire_decode() allocated in m and zeroes it. Accepts NULL. */
void ent_wire_msg_clear(ent_wire_msg *m);

/* "HELLO", "OPS"...; "?" for anything else. Static storage. */
const char *ent_wire_type_name(int type);

/*
 * The type of message buf (len bytes) without decoding it: the first
 * element of its top-level array, in any integer form. Only a hint for a
 * dispatch (the session layer takes CREDIT out of the stream); the message
 * is still decoded in full before anything acts on it.
 * @return ENT_OK with *type, or ENT_EPROTO when buf does not start so.
 */
int ent_wire_peek_type(const uint8_t *buf, size_t len, int *type);

/* The ent_err code (ENT_EPROTO, ENT_ETOOBIG...) closest to a wire code. */
int ent_wire_code_to_err(int32_t code);

/* The wire code to send in ERROR for a local ent_err (ENT_ETOOBIG -> TOOBIG,
 * ENT_EPROTO -> PROTO, ... else INTERNAL). */
int32_t ent_wire_code_from_err(int err);

#endif
