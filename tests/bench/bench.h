/* bench.h - shared pieces of `make bench` (see bench.c). */
#ifndef ENT_BENCH_H
#define ENT_BENCH_H

#include <stdint.h>
#include <sys/types.h>

#define ENT_BENCH_MAX_ROWS 128

typedef struct ent_bench_limits {
    double sign;       /* Ed25519 signatures per second */
    double verify;     /* Ed25519 verifications per second */
    double aead_mbs;   /* XChaCha20-Poly1305, 64 KiB messages, MB/s */
    double aead_small; /* XChaCha20-Poly1305, 128-byte messages per second */
    double blake_ns;   /* BLAKE2b-256 of 64 bytes, ns */
    double lmdb_seq;   /* durable puts/s, batches of 1000, keys in order */
    double lmdb_rand;  /* durable puts/s, batches of 1000, random keys */
    double lmdb_commit; /* durable commits/s of one put each */
} ent_bench_limits;

typedef struct ent_bench_row {
    char name[64];      /* what Entente did */
    double value;       /* per second */
    char unit[16];      /* "ops/s" */
    char limit[24];     /* name of the limit it is compared to */
    double limit_value; /* that limit, per second */
} ent_bench_row;

typedef struct ent_bench_report {
    ent_bench_limits lim;
    ent_bench_row rows[ENT_BENCH_MAX_ROWS];
    int nrows;
    int failed; /* a check failed (e.g. gossip did not converge): exit 1 */
} ent_bench_report;

double ent_bench_now(void);
/* Bytes the whole process (every thread) caused to be written to block
 * devices so far (/proc/self/io write_bytes): a page of a disk file counts
 * once each time it goes from clean to dirty in the page cache, so after
 * every fdatasync each page a commit writes counts once; tmpfs counts
 * nothing. 0 when /proc is not there. Divide by 4096 for pages. */
uint64_t ent_bench_io_write_bytes(void);

/*
 * RSS in KiB of a fresh `entente serve` (the binary in $ENTENTE, else
 * ./entente, which `make bench` builds) on home, read 500 ms after its API
 * socket appears (waiting up to 30 s); -1 when the binary is missing or
 * does not start. A process of its own, not a fork of the bench, so that
 * none of the bench's memory is counted.
 */
long ent_bench_serve_rss(const char *home);
/* `entente serve` ($ENTENTE or ./entente) on home, once its API socket is
 * there: its pid, or -1; and its stop (SIGTERM, then waited for). */
pid_t ent_bench_serve_start(const char *home);
void ent_bench_serve_stop(pid_t pid);
double ent_bench_rate(void (*fn)(void *ctx, uint64_t iters), void *ctx,
                      double min_s);
void ent_bench_report_init(ent_bench_report *r);
void ent_bench_add(ent_bench_report *r, const char *name, double value,
                   const char *unit, const char *limit, double limit_value);
int ent_bench_report_print(const ent_bench_report *r, const char *json_path);

/* Ops created and ops verified+applied (bench_objects.c). */
void ent_bench_objects(ent_bench_report *r, int quick);

/* Replication: in-sync round bytes, backlog sync, push latency, RSS
 * (bench_sync.c). */
void ent_bench_sync(ent_bench_report *r, int quick);

/* Consistency proofs over a large log and the local API under a flood of
 * proof requests (bench_proofs.c). */
void ent_bench_proofs(ent_bench_report *r, int quick);

/* The API over the socket, TCP and TLS with 50 connections
 * (bench_api_tcp.c). */
void ent_bench_api_tcp(ent_bench_report *r, int quick);
/* Local writes through the API on disk with group commit: 1 and 4
 * clients, and the batch endpoint (bench_api_tcp.c). */
void ent_bench_api_group(ent_bench_report *r, int quick);
/* Webhook deliveries per second and the drain of 10,000 queued events
 * after the receiver comes back (bench_webhooks.c). */
void ent_bench_webhooks(ent_bench_report *r, int quick);
/* Applying ops on objects with workflow rules against the same ops
 * without (bench_work.c). */
void ent_bench_work(ent_bench_report *r, int quick);
/* Reports and list pages over large stores (bench_reports.c). */
void ent_bench_reports(ent_bench_report *r, int quick);

/* One account-overlap run between two nodes, 100,000 accounts a side,
 * against the ristretto255 multiplication rate (bench_overlap.c). */
void ent_bench_overlap(ent_bench_report *r, int quick);
/* CRM import of 100,000 rows and a re-import with 1 % changed
 * (bench_crm.c). */
void ent_bench_crm(ent_bench_report *r, int quick);
/* Attachment transfer between two nodes on loopback (bench_attach.c). */
void ent_bench_attach(ent_bench_report *r, int quick);

/* Cost per op as the store grows: 10k..1M ops, 1k..100k objects
 * (bench_growth.c). */
void ent_bench_growth(ent_bench_report *r, int quick);

/* Entente's own figures (bench_entente.c), appended to r. */
void ent_bench_entente(ent_bench_report *r, int quick);

#endif
