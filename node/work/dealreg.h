/*
 * dealreg.h - matching of deal registrations (spec/workflows.md §9): the
 * key of a registration or opportunity (its customer account's web domain
 * and company name, normalised by the account-overlap rules of
 * node/norm.h, and its product or solution), and the score of a
 * likely conflict between two keys.
 *
 * Pure functions: no allocation, no state.
 */
#ifndef ENT_DEALREG_H
#define ENT_DEALREG_H

#include <stdbool.h>
#include <stddef.h>

#include "node/norm.h"

#define ENT_DR_SOLUTION_MAX 200 /* bytes of a normalised solution */
#define ENT_DR_MATCH_MIN 50     /* scores below are no likely conflict */
#define ENT_DR_SAME_ACCOUNT 90  /* scores from here on: the same account */

/* What two keys match by (ent_dr_score). */
typedef enum ent_dr_match {
    ENT_DR_NONE = 0,
    ENT_DR_DOMAIN,  /* the same registrable domain: 100 */
    ENT_DR_NAME,    /* the same normalised name: 90 */
    ENT_DR_WORDS,   /* every word of one name is a word of the other: 75 */
    ENT_DR_SIMILAR, /* bigram similarity: 80 x Dice, 0..79 */
} ent_dr_match;

/* The key of a registration or an opportunity; empty strings: unknown. */
typedef struct ent_dr_key {
    char domain[ENT_NORM_DOMAIN_MAX + 1];
    char name[ENT_NORM_NAME_MAX + 1];
    char solution[ENT_DR_SOLUTION_MAX + 1];
} ent_dr_key;

/*
 * Fills k from the raw account name, web domain and solution (each len
 * bytes, not NUL-terminated; NULL or 0 bytes: unknown): the domain and the
 * name by ent_norm_domain and ent_norm_name (a value they refuse is left
 * unknown), the solution lower-cased (ASCII), every run of characters
 * other than ASCII letters and digits (and bytes >= 0x80, kept as they
 * are) made one space, trimmed. A solution longer than
 * ENT_DR_SOLUTION_MAX bytes after this is unknown.
 * @return true when the key names an account (a domain or a name).
 */
bool ent_dr_key_make(ent_dr_key *k, const char *name, size_t nlen,
                     const char *domain, size_t dlen, const char *solution,
                     size_t slen);

/*
 * The likelihood, 0..100, that keys a and b name the same customer
 * account (spec/workflows.md §9), and what matched (*m may be NULL):
 * 100 the same domain; else 90 the same name; else 75 when every word of
 * the name with fewer words is a word of the other; else
 * floor(80 * Dice), Dice the Sørensen–Dice coefficient of the multisets
 * of byte bigrams of the two names. Unknown names or domains never match.
 * Symmetric: ent_dr_score(a, b) == ent_dr_score(b, a).
 */
unsigned ent_dr_score(const ent_dr_key *a, const ent_dr_key *b,
                      ent_dr_match *m);

/* Name of a match ("domain", "name", "words", "similar", "none"). */
const char *ent_dr_match_name(ent_dr_match m);

/* Whether a and b name the same solution (both known, byte for byte). */
bool ent_dr_same_solution(const ent_dr_key *a, const ent_dr_key *b);

#endif
