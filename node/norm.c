/*
 * norm.c - matching keys of accounts; see norm.h and spec/overlap.md §2.
 */
#include "node/norm.h"
#include "node/err.h"

#include <libpsl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char lower(char c) {
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

int ent_norm_domain(char out[ENT_NORM_DOMAIN_MAX + 1], const char *in,
                    size_t len) {
    char h[ENT_NORM_MAX_IN + 1];
    size_t a = 0, b = len, n = 0;
    out[0] = '\0';
    if (in == NULL)
        return ENT_ENOENT;
    if (len > ENT_NORM_MAX_IN)
        return ENT_EINVAL;
    while (a < b && is_space(in[a]))
        a++;
    while (b > a && is_space(in[b - 1]))
        b--;
    if (a == b)
        return ENT_ENOENT;
    for (size_t i = a; i < b; i++)
        h[n++] = lower(in[i]);
    h[n] = '\0';
    char *s = h, *p = strstr(h, "://");
    if (p != NULL)
        s = p + 3;
    s[strcspn(s, "/?#")] = '\0';
    if ((p = strrchr(s, '@')) != NULL)
        s = p + 1;
    if ((p = strchr(s, ':')) != NULL) /* a port; an IPv6 host is refused */
        *p = '\0';
    n = strlen(s);
    if (n > 0 && s[n - 1] == '.')
        s[--n] = '\0';
    /* no "www." stripping of its own: the registrable domain drops it
     * with every other subdomain (and "www.co.uk" stays one) */
    if (n == 0 || n > ENT_NORM_DOMAIN_MAX || s[n - 1] == '.')
        return ENT_EINVAL; /* empty, too long, or an empty last label */
    bool alpha = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c >= 0x80;
        if (!ok || (c == '.' && (i == 0 || s[i - 1] == '.')))
            return ENT_EINVAL;
        if (c != '.' && (c < '0' || c > '9'))
            alpha = true;
    }
    /* an IPv4 address, or any host whose top-level label is all digits:
     * no top-level domain is numeric */
    const char *tld = strrchr(s, '.');
    tld = tld != NULL ? tld + 1 : s;
    if (!alpha || strspn(tld, "0123456789") == strlen(tld))
        return ENT_EINVAL;
    const psl_ctx_t *psl = psl_builtin();
    const char *reg = psl != NULL ? psl_registrable_domain(psl, s) : s;
    if (reg == NULL)
        return ENT_EINVAL; /* a public suffix itself, or no dot */
    size_t rl = strlen(reg);
    if (rl > ENT_NORM_DOMAIN_MAX)
        return ENT_EINVAL;
    memcpy(out, reg, rl + 1);
    return ENT_OK;
}

/* Legal-form words removed from the end of a name (spec/overlap.md §2.2),
 * after dots are dropped ("S.A." is "sa", "Co." is "co"). */
static const char *const legal[] = {
    "inc",  "incorporated", "corp", "corporation", "co",   "company",
    "ltd",  "limited",      "llc",  "llp",         "lp",   "plc",
    "gmbh", "mbh",          "ag",   "kg",          "sa",   "sas",
    "sarl", "srl",          "spa",  "bv",          "nv",   "oy",
    "oyj",  "ab",           "as",   "asa",         "aps",  "kk",
    "pty",  "pte",          "se",   "sl",          "ltda", "pvt",
    "private", "holding",   "holdings", "group",   NULL};

static bool is_legal(const char *w, size_t len) {
    for (size_t i = 0; legal[i] != NULL; i++)
        if (strlen(legal[i]) == len && memcmp(legal[i], w, len) == 0)
            return true;
    return false;
}

/* A valid UTF-8 sequence at s (n bytes left): its length, else 0. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    size_t k = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (k == 0 || s[0] > 0xf4 || k > n)
        return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return k;
}

int ent_norm_name(char out[ENT_NORM_NAME_MAX + 1], const char *in,
                  size_t len) {
    char t[ENT_NORM_MAX_IN * 5 + 1];
    size_t n = 0;
    out[0] = '\0';
    if (in == NULL)
        return ENT_ENOENT;
    if (len > ENT_NORM_MAX_IN)
        return ENT_EINVAL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 0x80) {
            size_t k = utf8_len((const unsigned char *)in + i, len - i);
            if (k == 0)
                return ENT_EINVAL;
            memcpy(t + n, in + i, k);
            n += k;
            i += k - 1;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            t[n++] = (char)c;
        } else if (c >= 'A' && c <= 'Z') {
            t[n++] = lower((char)c);
        } else if (c == '.' || c == '\'' || c == ',') {
            continue;
        } else if (c == '&') {
            memcpy(t + n, " and ", 5);
            n += 5;
        } else {
            t[n++] = ' ';
        }
    }
    t[n] = '\0';
    /* words: start/length pairs */
    size_t ws[ENT_NORM_MAX_IN], wl[ENT_NORM_MAX_IN], nw = 0;
    for (size_t i = 0; i < n;) {
        while (i < n && t[i] == ' ')
            i++;
        if (i == n)
            break;
        size_t s = i;
        while (i < n && t[i] != ' ')
            i++;
        ws[nw] = s;
        wl[nw++] = i - s;
    }
    /* "GmbH & Co. KG": a legal form joined by "and" goes as a whole */
    while (nw > 1 && (is_legal(t + ws[nw - 1], wl[nw - 1]) ||
                      (wl[nw - 1] == 3 && memcmp(t + ws[nw - 1], "and", 3) == 0)))
        nw--;
    if (nw == 0)
        return ENT_ENOENT;
    size_t o = 0;
    for (size_t w = 0; w < nw; w++) {
        if (o + wl[w] + (w > 0) > ENT_NORM_NAME_MAX)
            return ENT_EINVAL;
        if (w > 0)
            out[o++] = ' ';
        memcpy(out + o, t + ws[w], wl[w]);
        o += wl[w];
    }
    out[o] = '\0';
    return ENT_OK;
}

int ent_norm_key(char out[ENT_NORM_KEY_MAX], const char *name,
                 const char *domain) {
    char d[ENT_NORM_DOMAIN_MAX + 1], nm[ENT_NORM_NAME_MAX + 1];
    out[0] = '\0';
    if (domain != NULL && domain[0] != '\0') {
        int rc = ent_norm_domain(d, domain, strlen(domain));
        if (rc == ENT_OK) {
            memcpy(out, "d:", 2);
            memcpy(out + 2, d, strlen(d) + 1);
            return ENT_OK;
        }
        if (rc != ENT_ENOENT)
            return rc;
    }
    if (name == NULL)
        return ENT_ENOENT;
    size_t len = strlen(name);
    int rc = ent_norm_name(nm, name, len > ENT_NORM_MAX_IN + 1 ? ENT_NORM_MAX_IN + 1 : len);
    if (rc != ENT_OK)
        return rc;
    memcpy(out, "n:", 2);
    memcpy(out + 2, nm, strlen(nm) + 1);
    return ENT_OK;
}
