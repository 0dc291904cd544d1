/*
 * dealreg.c - the key and the conflict score of deal registrations
 * (spec/workflows.md §9). The account part reuses the account-overlap
 * normalisation (node/overlap/norm.c) so that a registration, an
 * opportunity and an overlap run see one company alike.
 */
#include "node/work/dealreg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"

#define DR_IN_MAX 512 /* bytes of a raw solution read */

static void solution_norm(char out[ENT_DR_SOLUTION_MAX + 1], const char *in,
                          size_t len) {
    size_t o = 0;
    bool sp = false;
    out[0] = '\0';
    if (in == NULL || len > DR_IN_MAX)
        return;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        bool word =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
        if (!word) {
            sp = o > 0;
            continue;
        }
        if (o + (sp ? 2 : 1) > ENT_DR_SOLUTION_MAX) {
            out[0] = '\0';
            return;
        }
        if (sp)
            out[o++] = ' ';
        sp = false;
        out[o++] = (char)c;
    }
    out[o] = '\0';
}

bool ent_dr_key_make(ent_dr_key *k, const char *name, size_t nlen,
                     const char *domain, size_t dlen, const char *solution,
                     size_t slen) {
    memset(k, 0, sizeof(*k));
    if (domain != NULL && dlen > 0 &&
        ent_norm_domain(k->domain, domain, dlen) != ENT_OK)
        k->domain[0] = '\0';
    if (name != NULL && nlen > 0 &&
        ent_norm_name(k->name, name, nlen) != ENT_OK)
        k->name[0] = '\0';
    solution_norm(k->solution, solution, solution ? slen : 0);
    return k->domain[0] != '\0' || k->name[0] != '\0';
}

/* Whether every space-separated word of a is a word of b. */
static bool words_in(const char *a, const char *b) {
    size_t bl = strlen(b);
    while (*a) {
        size_t wl = strcspn(a, " ");
        bool found = false;
        for (size_t i = 0; i + wl <= bl && !found; i++)
            found = (i == 0 || b[i - 1] == ' ') &&
                    (b[i + wl] == ' ' || b[i + wl] == '\0') &&
                    memcmp(b + i, a, wl) == 0;
        if (!found)
            return false;
        a += wl;
        while (*a == ' ')
            a++;
    }
    return true;
}

static size_t nwords(const char *s) {
    size_t n = 0;
    for (bool in = false; *s; s++) {
        if (*s != ' ' && !in)
            n++;
        in = *s != ' ';
    }
    return n;
}

static int cmp_u16(const void *a, const void *b) {
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return (x > y) - (x < y);
}

/* The byte bigrams of s, sorted; returns how many. */
static size_t bigrams(uint16_t out[ENT_NORM_NAME_MAX], const char *s) {
    size_t n = 0, l = strlen(s);
    for (size_t i = 0; i + 1 < l; i++)
        out[n++] =
            (uint16_t)((unsigned char)s[i] << 8 | (unsigned char)s[i + 1]);
    qsort(out, n, sizeof(*out), cmp_u16);
    return n;
}

/* 80 x the Dice coefficient of the bigram multisets of a and b. */
static unsigned dice80(const char *a, const char *b) {
    uint16_t x[ENT_NORM_NAME_MAX], y[ENT_NORM_NAME_MAX];
    size_t nx = bigrams(x, a), ny = bigrams(y, b), i = 0, j = 0, common = 0;
    if (nx + ny == 0)
        return 0;
    while (i < nx && j < ny) {
        if (x[i] == y[j]) {
            common++;
            i++;
            j++;
        } else if (x[i] < y[j]) {
            i++;
        } else {
            j++;
        }
    }
    return (unsigned)(160 * common / (nx + ny));
}

unsigned ent_dr_score(const ent_dr_key *a, const ent_dr_key *b,
                      ent_dr_match *m) {
    ent_dr_match mm = ENT_DR_NONE;
    unsigned s = 0;
    if (a->domain[0] && strcmp(a->domain, b->domain) == 0) {
        mm = ENT_DR_DOMAIN;
        s = 100;
    } else if (a->name[0] && b->name[0]) {
        const char *few = a->name, *more = b->name;
        if (nwords(few) > nwords(more) ||
            (nwords(few) == nwords(more) && strcmp(few, more) > 0)) {
            few = b->name;
            more = a->name;
        }
        if (strcmp(a->name, b->name) == 0) {
            mm = ENT_DR_NAME;
            s = 90;
        } else if (words_in(few, more)) {
            mm = ENT_DR_WORDS;
            s = 75;
        } else {
            s = dice80(a->name, b->name);
            if (s > 79)
                s = 79;
            mm = s > 0 ? ENT_DR_SIMILAR : ENT_DR_NONE;
        }
    }
    if (m != NULL)
        *m = mm;
    return s;
}

const char *ent_dr_match_name(ent_dr_match m) {
    switch (m) {
    case ENT_DR_DOMAIN:
        return "domain";
    case ENT_DR_NAME:
        return "name";
    case ENT_DR_WORDS:
        return "words";
    case ENT_DR_SIMILAR:
        return "similar";
    default:
        return "none";
    }
}

bool ent_dr_same_solution(const ent_dr_key *a, const ent_dr_key *b) {
    return a->solution[0] != '\0' && strcmp(a->solution, b->solution) == 0;
}
