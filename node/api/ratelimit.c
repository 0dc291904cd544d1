/*
 * ratelimit.c - token buckets per key in a fixed open-addressed table; see
 * ratelimit.h.
 */
#include "node/api/ratelimit.h"
#include "node/err.h"

#include <stdlib.h>
#include <string.h>

#define PROBES 16 /* slots a key may use, from its hash on */

typedef struct bucket {
    char key[ENT_RATELIMIT_KEY_MAX + 1]; /* "" : free */
    double tokens;
    uint64_t last; /* ms of the last refill */
} bucket;

struct ent_ratelimit {
    double rate, burst;
    size_t nslots;
    bucket *slots;
};

int ent_ratelimit_new(ent_ratelimit **out, double rate, double burst,
                      size_t slots) {
    ent_ratelimit *r = NULL;
    *out = NULL;
    if (rate < 0 || burst < 1 || slots < PROBES)
        return ENT_EINVAL;
    if ((r = calloc(1, sizeof(*r))) == NULL ||
        (r->slots = calloc(slots, sizeof(*r->slots))) == NULL) {
        free(r);
        return ENT_ENOMEM;
    }
    r->rate = rate;
    r->burst = burst;
    r->nslots = slots;
    *out = r;
    return ENT_OK;
}

void ent_ratelimit_free(ent_ratelimit *r) {
    if (r == NULL)
        return;
    free(r->slots);
    free(r);
}

/* FNV-1a of the key: the keys are verified credential ids and client
 * addresses, not free text, so a keyed hash is not needed. */
static size_t hash(const char *k) {
    uint64_t h = 1469598103934665603ull;
    for (; *k; k++)
        h = (h ^ (uint8_t)*k) * 1099511628211ull;
    return (size_t)h;
}

bool ent_ratelimit_take(ent_ratelimit *r, const char *key, uint64_t now_ms,
                        uint64_t *retry_ms) {
    char k[ENT_RATELIMIT_KEY_MAX + 1];
    bucket *b = NULL, *oldest = NULL;
    if (retry_ms != NULL)
        *retry_ms = 0;
    if (r->rate <= 0)
        return true;
    strncpy(k, key, ENT_RATELIMIT_KEY_MAX);
    k[ENT_RATELIMIT_KEY_MAX] = '\0';
    size_t h = hash(k);
    /* the key's slot; else a free one, else the one refilled longest ago */
    for (size_t i = 0; i < PROBES && b == NULL; i++) {
        bucket *s = &r->slots[(h + i) % r->nslots];
        if (strcmp(s->key, k) == 0)
            b = s;
        else if (oldest == NULL ||
                 (oldest->key[0] != '\0' &&
                  (s->key[0] == '\0' || s->last < oldest->last)))
            oldest = s;
    }
    if (b == NULL) { /* a new key: a full bucket in the free or oldest slot */
        b = oldest;
        memcpy(b->key, k, sizeof(b->key));
        b->tokens = r->burst;
        b->last = now_ms;
    }
    if (now_ms > b->last) {
        b->tokens += (double)(now_ms - b->last) * r->rate / 1000.0;
        if (b->tokens > r->burst)
            b->tokens = r->burst;
        b->last = now_ms;
    }
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return true;
    }
    if (retry_ms != NULL) {
        double ms = (1.0 - b->tokens) * 1000.0 / r->rate;
        *retry_ms = (uint64_t)ms + 1;
    }
    return false;
}
