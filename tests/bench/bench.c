/*
 * bench.c - `make bench`: this machine's limits, and Entente's throughput as
 * ratios to them, measured in the same run.
 *
 * The limits are the raw libraries called directly (libsodium Ed25519 sign
 * and verify, XChaCha20-Poly1305, BLAKE2b; LMDB durable batched puts with
 * sequential and random keys). Entente's own figures, added as the modules
 * land, are reported as a fraction of the limit that bounds them, so the
 * numbers mean the same on a fast or a slow machine.
 *
 * Usage: bench [--json FILE] [--quick]
 */
#include <lmdb.h>
#include <sodium.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/bench/bench.h"
#include "tests/store_fixture.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double ent_bench_now(void) {
    return now_s();
}

uint64_t ent_bench_io_write_bytes(void) {
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    unsigned long long v = 0;
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "write_bytes: %llu", &v) == 1)
            break;
    fclose(f);
    return v;
}

/* Runs fn(ctx, iters) with growing iteration counts until it takes at least
 * min_s, and returns operations per second. */
double ent_bench_rate(void (*fn)(void *ctx, uint64_t iters), void *ctx,
                      double min_s) {
    uint64_t iters = 16;
    for (;;) {
        double t0 = now_s();
        fn(ctx, iters);
        double dt = now_s() - t0;
        if (dt >= min_s)
            return (double)iters / dt;
        iters = dt < min_s / 16 ? iters * 8 : iters * 2;
    }
}

struct sign_ctx {
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    uint8_t msg[256];
    uint8_t sig[crypto_sign_BYTES];
};

static void do_sign(void *p, uint64_t n) {
    struct sign_ctx *c = p;
    for (uint64_t i = 0; i < n; i++) {
        c->msg[0] = (uint8_t)i;
        crypto_sign_detached(c->sig, NULL, c->msg, sizeof(c->msg), c->sk);
    }
}

static void do_verify(void *p, uint64_t n) {
    struct sign_ctx *c = p;
    for (uint64_t i = 0; i < n; i++) {
        if (crypto_sign_verify_detached(c->sig, c->msg, sizeof(c->msg),
                                        c->pk) != 0)
            abort();
    }
}

struct aead_ctx {
    uint8_t key[32];
    uint8_t nonce[24];
    size_t len;
    uint8_t *pt;
    uint8_t *ct;
};

static void do_aead(void *p, uint64_t n) {
    struct aead_ctx *c = p;
    unsigned long long clen;
    for (uint64_t i = 0; i < n; i++) {
        c->nonce[0] = (uint8_t)i;
        crypto_aead_xchacha20poly1305_ietf_encrypt(c->ct, &clen, c->pt,
                                                   c->len, NULL, 0, NULL,
                                                   c->nonce, c->key);
    }
}

static void do_blake(void *p, uint64_t n) {
    uint8_t *buf = p;
    uint8_t out[32];
    for (uint64_t i = 0; i < n; i++) {
        buf[0] = (uint8_t)i;
        crypto_generichash(out, 32, buf, 64, NULL, 0);
    }
    buf[1] ^= out[0];
}

/* Durable LMDB puts in committed batches of `batch`; sequential or random
 * 32-byte keys, 64-byte values. Returns puts per second. */
static double lmdb_puts(const char *dir, int sequential, int total, int batch) {
    MDB_env *env = NULL;
    MDB_dbi dbi;
    double rate = -1;
    if (mdb_env_create(&env) != 0)
        return -1;
    mdb_env_set_mapsize(env, (size_t)1 << 30);
    if (mdb_env_open(env, dir, 0, 0600) != 0)
        goto out;
    uint8_t key[32] = {0}, val[64] = {0};
    double t0 = now_s();
    for (int done = 0; done < total;) {
        MDB_txn *txn;
        if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
            goto out;
        mdb_dbi_open(txn, NULL, 0, &dbi);
        for (int i = 0; i < batch && done < total; i++, done++) {
            if (sequential) {
                uint64_t k = (uint64_t)done;
                for (int b = 0; b < 8; b++)
                    key[7 - b] = (uint8_t)(k >> (8 * b));
            } else {
                randombytes_buf(key, sizeof(key));
            }
            MDB_val k = {sizeof(key), key}, v = {sizeof(val), val};
            if (mdb_put(txn, dbi, &k, &v, sequential ? MDB_APPEND : 0) != 0) {
                mdb_txn_abort(txn);
                goto out;
            }
        }
        if (mdb_txn_commit(txn) != 0)
            goto out;
    }
    rate = total / (now_s() - t0);
out:
    mdb_env_close(env);
    return rate;
}

static double lmdb_bench_batch(int sequential, int total, int batch) {
    char dir[64];
    if (tmp_dir_at(dir, sizeof(dir), "/tmp", "bench") != 0)
        return -1;
    double r = lmdb_puts(dir, sequential, total, batch);
    rm_tree(dir);
    return r;
}

static double lmdb_bench(int sequential, int total) {
    return lmdb_bench_batch(sequential, total, 1000);
}

int main(int argc, char **argv) {
    const char *json_path = NULL;
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            json_path = argv[++i];
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else {
            fprintf(stderr, "usage: bench [--json FILE] [--quick]\n");
            return 2;
        }
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "entente: bench: libsodium failed to initialise\n");
        return 1;
    }
    double min_s = quick ? 0.1 : 0.5;
    ent_bench_report rep;
    ent_bench_report_init(&rep);

    struct sign_ctx sc;
    crypto_sign_keypair(sc.pk, sc.sk);
    randombytes_buf(sc.msg, sizeof(sc.msg));
    fprintf(stderr, "measuring machine limits...\n");
    rep.lim.sign = ent_bench_rate(do_sign, &sc, min_s);
    do_sign(&sc, 1);
    rep.lim.verify = ent_bench_rate(do_verify, &sc, min_s);

    struct aead_ctx ac;
    randombytes_buf(ac.key, sizeof(ac.key));
    randombytes_buf(ac.nonce, sizeof(ac.nonce));
    ac.len = 1 << 16;
    ac.pt = calloc(1, ac.len);
    ac.ct = calloc(1, ac.len + 16);
    if (ac.pt == NULL || ac.ct == NULL)
        return 1;
    rep.lim.aead_mbs = ent_bench_rate(do_aead, &ac, min_s) * ac.len / 1e6;
    ac.len = 128;
    rep.lim.aead_small = ent_bench_rate(do_aead, &ac, min_s);
    free(ac.pt);
    free(ac.ct);

    uint8_t hb[64] = {0};
    rep.lim.blake_ns = 1e9 / ent_bench_rate(do_blake, hb, min_s);

    int total = quick ? 20000 : 100000;
    fprintf(stderr, "measuring LMDB durable batched puts (%d keys)...\n",
            total);
    rep.lim.lmdb_seq = lmdb_bench(1, total);
    rep.lim.lmdb_rand = lmdb_bench(0, total);
    rep.lim.lmdb_commit = lmdb_bench_batch(1, quick ? 300 : 1000, 1);

    ent_bench_entente(&rep, quick);
    int rc = ent_bench_report_print(&rep, json_path);
    return rc != 0 ? rc : rep.failed ? 1 : 0;
}

static long vm_rss_kib(pid_t pid) {
    char path[64], line[256];
    long kib = 0;
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

pid_t ent_bench_serve_start(const char *home) {
    const char *bin = getenv("ENTENTE") ? getenv("ENTENTE") : "./entente";
    char sock[4096];
    if (access(bin, X_OK) != 0)
        return -1;
    snprintf(sock, sizeof(sock), "%s/api.sock", home);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execl(bin, bin, "serve", "--home", home, "--listen", "127.0.0.1:0",
              "--log-level", "error", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 3000 && access(sock, F_OK) != 0; i++)
        usleep(10000);
    if (access(sock, F_OK) != 0) {
        ent_bench_serve_stop(pid);
        return -1;
    }
    return pid;
}

void ent_bench_serve_stop(pid_t pid) {
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

long ent_bench_serve_rss(const char *home) {
    long kib = -1;
    pid_t pid = ent_bench_serve_start(home);
    if (pid < 0)
        return -1;
    usleep(500000);
    kib = vm_rss_kib(pid);
    ent_bench_serve_stop(pid);
    return kib > 0 ? kib : -1;
}
