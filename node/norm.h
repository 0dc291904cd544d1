/*
 * norm.h - matching keys of accounts (spec/overlap.md §2): a web domain
 * brought to its registrable domain (libpsl's built-in Public Suffix List)
 * and a company name without case, punctuation and legal suffixes. Two
 * orgs that hold the same company produce the same key, byte for byte,
 * which is all the overlap protocol compares.
 *
 * Pure functions: no allocation, no state (psl_builtin() is static data).
 */
#ifndef ENT_NORM_H
#define ENT_NORM_H

#include <stddef.h>

#define ENT_NORM_MAX_IN 512     /* bytes of a raw domain or name */
#define ENT_NORM_DOMAIN_MAX 253 /* bytes of a normalised domain */
#define ENT_NORM_NAME_MAX 200   /* bytes of a normalised name */
/* "d:" + domain or "n:" + name, NUL included */
#define ENT_NORM_KEY_MAX (2 + ENT_NORM_DOMAIN_MAX + 1)

/*
 * Normalises a web domain or URL (in, len bytes, not NUL-terminated) into
 * out (NUL-terminated, at most ENT_NORM_DOMAIN_MAX bytes): trims spaces,
 * lowercases ASCII, drops a scheme ("https://"), user info, path, query,
 * fragment, port and a trailing dot, then keeps the registrable domain
 * (public suffix + one label: "www.shop.example.co.uk" -> "example.co.uk"),
 * which drops "www." with every other subdomain. Idempotent.
 * @return ENT_OK; ENT_ENOENT when in is empty or blank; ENT_EINVAL when it
 *         is longer than ENT_NORM_MAX_IN, holds a character other than
 *         letters, digits, '-', '.' and UTF-8 bytes, has an empty label,
 *         is an IP address or is itself a public suffix ("co.uk").
 */
int ent_norm_domain(char out[ENT_NORM_DOMAIN_MAX + 1], const char *in,
                    size_t len);

/*
 * Normalises a company name into out (NUL-terminated): lowercases ASCII,
 * drops '.', '\'' and ',' , turns '&' into " and ", every other ASCII
 * character but letters and digits into a space, collapses spaces, then
 * removes legal-form words at the end (inc, ltd, gmbh, llc, sa, ag...,
 * spec/overlap.md §2.2) as long as one word stays.
 * @return ENT_OK; ENT_ENOENT when nothing is left; ENT_EINVAL when in is
 *         longer than ENT_NORM_MAX_IN, not UTF-8, or the result is longer
 *         than ENT_NORM_NAME_MAX.
 */
int ent_norm_name(char out[ENT_NORM_NAME_MAX + 1], const char *in,
                  size_t len);

/*
 * The matching key of an account: "d:" + normalised domain when domain
 * (NUL-terminated, may be NULL) normalises, else "n:" + normalised name.
 * @return ENT_OK; ENT_EINVAL when the domain is given but invalid;
 *         ENT_ENOENT when neither gives a key.
 */
int ent_norm_key(char out[ENT_NORM_KEY_MAX], const char *name,
                 const char *domain);

#endif
