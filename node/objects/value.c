/*
 * value.c - typed field values (text, number, money, date, enum, ...):
 * parsing what a user types, formatting for display and JSON, comparing,
 * and the rules every value obeys. See value.h and spec/objects.md.
 */
#include "node/objects/value.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "protocol/cbor.h"

/*
 * ISO 4217 minor-unit exponents of the currencies we accept, sorted by code.
 * Constant data, not state. Add a currency by inserting it in order.
 */
static const struct currency {
    char code[4];
    unsigned char exp;
} currencies[] = {
    {"AED", 2}, {"ARS", 2}, {"AUD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3},
    {"BIF", 0}, {"BRL", 2}, {"CAD", 2}, {"CHF", 2}, {"CLF", 4}, {"CLP", 0},
    {"CNY", 2}, {"COP", 2}, {"CZK", 2}, {"DJF", 0}, {"DKK", 2}, {"EGP", 2},
    {"EUR", 2}, {"GBP", 2}, {"GNF", 0}, {"HKD", 2}, {"HUF", 2}, {"IDR", 2},
    {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"ISK", 0}, {"JOD", 3}, {"JPY", 0},
    {"KES", 2}, {"KMF", 0}, {"KRW", 0}, {"KWD", 3}, {"LYD", 3}, {"MAD", 2},
    {"MXN", 2}, {"MYR", 2}, {"NGN", 2}, {"NOK", 2}, {"NZD", 2}, {"OMR", 3},
    {"PEN", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2},
    {"RON", 2}, {"RWF", 0}, {"SAR", 2}, {"SEK", 2}, {"SGD", 2}, {"THB", 2},
    {"TND", 3}, {"TRY", 2}, {"TWD", 2}, {"UAH", 2}, {"UGX", 0}, {"USD", 2},
    {"UYU", 2}, {"UYW", 4}, {"VND", 0}, {"VUV", 0}, {"XAF", 0}, {"XOF", 0},
    {"XPF", 0}, {"ZAR", 2},
};

static const uint64_t pow10_u64[ENT_CURRENCY_EXP_MAX + 1] = {1, 10, 100, 1000,
                                                             10000};

static const char *const vtype_names[] = {
    [ENT_VT_NULL] = "null",   [ENT_VT_TEXT] = "text", [ENT_VT_INT] = "integer",
    [ENT_VT_MONEY] = "money", [ENT_VT_DATE] = "date", [ENT_VT_ENUM] = "enum",
    [ENT_VT_ORG] = "org",     [ENT_VT_REF] = "ref",
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

const char *ent_vtype_name(ent_vtype t) {
    if ((unsigned)t >= sizeof(vtype_names) / sizeof(vtype_names[0]))
        return NULL;
    return vtype_names[t];
}

int ent_vtype_parse(const char *s, ent_vtype *out) {
    for (unsigned t = ENT_VT_TEXT; t <= ENT_VT_REF; t++) {
        if (strcmp(s, vtype_names[t]) == 0) {
            *out = (ent_vtype)t;
            return ENT_OK;
        }
    }
    return ENT_EINVAL;
}

void ent_value_clear(ent_value *v) {
    if (v == NULL)
        return;
    if (v->type == ENT_VT_TEXT || v->type == ENT_VT_ENUM)
        free(v->u.text.s);
    memset(v, 0, sizeof(*v));
    v->type = ENT_VT_NULL;
}

int ent_value_copy(ent_value *dst, const ent_value *src) {
    int rc = ENT_OK;
    if (src->type == ENT_VT_TEXT || src->type == ENT_VT_ENUM) {
        char *s = malloc(src->u.text.len + 1);
        if (s == NULL) {
            memset(dst, 0, sizeof(*dst));
            dst->type = ENT_VT_NULL;
            rc = ENT_ENOMEM;
            goto out;
        }
        memcpy(s, src->u.text.s, src->u.text.len);
        s[src->u.text.len] = '\0';
        *dst = *src;
        dst->u.text.s = s;
    } else {
        *dst = *src;
    }
out:
    return rc;
}

bool ent_value_equal(const ent_value *a, const ent_value *b) {
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case ENT_VT_NULL:
        return true;
    case ENT_VT_TEXT:
    case ENT_VT_ENUM:
        return a->u.text.len == b->u.text.len &&
               memcmp(a->u.text.s, b->u.text.s, a->u.text.len) == 0;
    case ENT_VT_INT:
        return a->u.i == b->u.i;
    case ENT_VT_MONEY:
        return a->u.money.minor == b->u.money.minor &&
               strcmp(a->u.money.cur, b->u.money.cur) == 0;
    case ENT_VT_DATE:
        return a->u.days == b->u.days;
    case ENT_VT_ORG:
        return memcmp(a->u.org, b->u.org, sizeof(a->u.org)) == 0;
    case ENT_VT_REF:
        return memcmp(a->u.ref, b->u.ref, sizeof(a->u.ref)) == 0;
    }
    return false;
}

/*
 * Decodes one UTF-8 sequence at s (n bytes left) into *cp and returns its
 * length, or 0 if it is malformed, overlong, a surrogate or above U+10FFFF.
 */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    uint32_t c = s[0];
    size_t len;
    uint32_t min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        len = 2, min = 0x80, c &= 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, min = 0x800, c &= 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

bool ent_text_valid(const char *s, size_t len) {
    if (len > ENT_VALUE_TEXT_MAX)
        return false;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = utf8_decode(p + i, len - i, &cp);
        if (n == 0)
            return false;
        if ((cp < 0x20 && cp != '\t') || (cp >= 0x7F && cp <= 0x9F))
            return false;
        i += n;
    }
    return true;
}

int ent_value_check(const ent_value *v) {
    int rc = ENT_EBADVALUE;
    if (v == NULL)
        goto out;
    switch (v->type) {
    case ENT_VT_NULL:
    case ENT_VT_INT:
    case ENT_VT_DATE:
    case ENT_VT_ORG:
    case ENT_VT_REF:
        rc = ENT_OK;
        break;
    case ENT_VT_TEXT:
        if ((v->u.text.s != NULL || v->u.text.len == 0) &&
            ent_text_valid(v->u.text.s, v->u.text.len))
            rc = ENT_OK;
        break;
    case ENT_VT_ENUM:
        if (v->u.text.s != NULL && v->u.text.len > 0 &&
            v->u.text.len <= ENT_VALUE_ENUM_MAX &&
            ent_text_valid(v->u.text.s, v->u.text.len))
            rc = ENT_OK;
        break;
    case ENT_VT_MONEY:
        rc = ENT_OK;
        for (int i = 0; i < 3; i++)
            if (v->u.money.cur[i] < 'A' || v->u.money.cur[i] > 'Z')
                rc = ENT_EBADVALUE;
        break;
    default:
        break;
    }
out:
    return rc;
}

bool ent_value_name_valid(const char *s) {
    size_t n = 0;
    if (s == NULL || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (; s[n] != '\0'; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') ||
              s[n] == '_'))
            return false;
    return n <= 64;
}

int ent_value_set_text(ent_value *out, ent_vtype type, const char *s,
                       size_t len) {
    int rc = ENT_OK;
    memset(out, 0, sizeof(*out));
    out->type = ENT_VT_NULL;
    if ((type != ENT_VT_TEXT && type != ENT_VT_ENUM) ||
        !ent_text_valid(s, len)) {
        rc = ENT_EINVAL;
        goto out;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        rc = ENT_ENOMEM;
        goto out;
    }
    memcpy(copy, s, len);
    copy[len] = '\0';
    out->type = type;
    out->u.text.s = copy;
    out->u.text.len = len;
out:
    return rc;
}

/* Trims spaces and tabs at both ends: sets *start and *len. */
static void trim(const char *text, const char **start, size_t *len) {
    const char *b = text;
    while (*b == ' ' || *b == '\t')
        b++;
    const char *e = b + strlen(b);
    while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *start = b;
    *len = (size_t)(e - b);
}

static bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

/*
 * Parses the len bytes at s as "-"? digits+ into a magnitude and a sign.
 * The magnitude must not exceed limit. @return ENT_OK, ENT_EINVAL, ENT_ELIMIT.
 */
static int parse_digits(const char *s, size_t len, uint64_t limit,
                        uint64_t *mag) {
    uint64_t m = 0;
    if (len == 0)
        return ENT_EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return ENT_EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (m > (limit - d) / 10)
            return ENT_ELIMIT;
        m = m * 10 + d;
    }
    *mag = m;
    return ENT_OK;
}

static int parse_int(ent_value *out, const char *text, char *err,
                     size_t errlen) {
    const char *s;
    size_t len;
    trim(text, &s, &len);
    bool neg = len > 0 && s[0] == '-';
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t mag = 0;
    int rc = parse_digits(s + neg, len - neg, limit, &mag);
    if (rc == ENT_EINVAL) {
        set_err(err, errlen, "not an integer: \"%.*s\"", (int)len, s);
        goto out;
    }
    if (rc == ENT_ELIMIT) {
        set_err(err, errlen, "integer out of range: \"%.*s\"", (int)len, s);
        goto out;
    }
    out->type = ENT_VT_INT;
    /* negate in unsigned arithmetic so that INT64_MIN does not overflow */
    out->u.i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
out:
    return rc;
}

int ent_currency_exponent(const char *code, unsigned *exp) {
    size_t lo = 0, hi = sizeof(currencies) / sizeof(currencies[0]);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(code, currencies[mid].code);
        if (c == 0) {
            *exp = currencies[mid].exp;
            return ENT_OK;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return ENT_EINVAL;
}

bool ent_currency_known(const char *code) {
    unsigned exp;
    return ent_currency_exponent(code, &exp) == ENT_OK;
}

static bool is_alpha(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool looks_like_code(const char *s, size_t len) {
    return len == 3 && is_alpha(s[0]) && is_alpha(s[1]) && is_alpha(s[2]);
}

/*
 * Money: "AMOUNT", "AMOUNT CODE" or "CODE AMOUNT", where AMOUNT is
 * "-"? digits ("." digits)? with at most the currency's exponent of decimals,
 * and CODE an ISO 4217 code (any case). The result is exact minor units.
 */
static int parse_money(ent_value *out, const char *text, const char *defcur,
                       char *err, size_t errlen) {
    int rc = ENT_EINVAL;
    const char *s;
    size_t len;
    trim(text, &s, &len);
    /* split into at most two words */
    const char *w[2] = {NULL, NULL};
    size_t wl[2] = {0, 0};
    size_t nw = 0, i = 0;
    while (i < len) {
        if (s[i] == ' ' || s[i] == '\t') {
            i++;
            continue;
        }
        if (nw == 2) {
            set_err(err, errlen,
                    "not a money amount: \"%.*s\" (use \"1200.50 EUR\")",
                    (int)len, s);
            goto out;
        }
        w[nw] = s + i;
        while (i < len && s[i] != ' ' && s[i] != '\t')
            i++;
        wl[nw] = (size_t)(s + i - w[nw]);
        nw++;
    }
    if (nw == 0) {
        set_err(err, errlen, "empty money amount");
        goto out;
    }
    const char *amt = w[0], *code = NULL;
    size_t amtlen = wl[0], codelen = 0;
    if (nw == 2) {
        if (looks_like_code(w[0], wl[0])) {
            code = w[0], codelen = wl[0];
            amt = w[1], amtlen = wl[1];
        } else {
            code = w[1], codelen = wl[1];
        }
    }
    char cur[4];
    if (code != NULL) {
        if (!looks_like_code(code, codelen)) {
            set_err(err, errlen, "not a currency code: \"%.*s\"", (int)codelen,
                    code);
            goto out;
        }
        for (size_t k = 0; k < 3; k++)
            cur[k] = (char)(code[k] >= 'a' ? code[k] - 'a' + 'A' : code[k]);
        cur[3] = '\0';
    } else if (defcur != NULL && strlen(defcur) == 3) {
        memcpy(cur, defcur, 4);
    } else {
        set_err(err, errlen, "money amount \"%.*s\" needs a currency code",
                (int)len, s);
        goto out;
    }
    unsigned exp;
    if (ent_currency_exponent(cur, &exp) != ENT_OK) {
        set_err(err, errlen, "unknown currency %s", cur);
        goto out;
    }
    bool neg = amtlen > 0 && amt[0] == '-';
    const char *ip = amt + neg;
    size_t rest = amtlen - neg;
    const char *dot = memchr(ip, '.', rest);
    size_t il = dot ? (size_t)(dot - ip) : rest;
    size_t fl = dot ? rest - il - 1 : 0;
    const char *fp = dot ? dot + 1 : NULL;
    uint64_t ipart = 0, fpart = 0;
    if (il == 0 || (dot != NULL && fl == 0) ||
        parse_digits(ip, il, UINT64_MAX, &ipart) == ENT_EINVAL ||
        (fl > 0 && (memchr(fp, '.', fl) != NULL ||
                    parse_digits(fp, fl, UINT64_MAX, &fpart) == ENT_EINVAL))) {
        set_err(err, errlen, "not a money amount: \"%.*s\"", (int)amtlen, amt);
        goto out;
    }
    if (fl > exp) {
        set_err(err, errlen, "%s has %u decimal%s, \"%.*s\" has %zu", cur, exp,
                exp == 1 ? "" : "s", (int)amtlen, amt, fl);
        goto out;
    }
    /* ipart or fpart may have failed with ENT_ELIMIT above: re-check below */
    rc = ENT_ELIMIT;
    uint64_t mag;
    if (parse_digits(ip, il, (uint64_t)INT64_MAX, &ipart) != ENT_OK ||
        (fl > 0 &&
         parse_digits(fp, fl, (uint64_t)INT64_MAX, &fpart) != ENT_OK) ||
        __builtin_mul_overflow(ipart, pow10_u64[exp], &mag) ||
        __builtin_add_overflow(mag, fpart * pow10_u64[exp - fl], &mag) ||
        mag > (uint64_t)INT64_MAX) {
        set_err(err, errlen, "money amount out of range: \"%.*s\"", (int)amtlen,
                amt);
        goto out;
    }
    rc = ENT_OK;
    out->type = ENT_VT_MONEY;
    out->u.money.minor = neg ? -(int64_t)mag : (int64_t)mag;
    memcpy(out->u.money.cur, cur, 4);
out:
    return rc;
}

static bool is_leap(int y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m) {
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Howard Hinnant's days_from_civil, in 64-bit arithmetic. */
int ent_date_from_ymd(int y, int m, int d, int32_t *days) {
    if (y < ENT_DATE_MIN_YEAR || y > ENT_DATE_MAX_YEAR || m < 1 || m > 12 ||
        d < 1 || d > days_in_month(y, m))
        return ENT_EINVAL;
    int64_t yy = y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    *days = (int32_t)(era * 146097 + doe - 719468);
    return ENT_OK;
}

/* Howard Hinnant's civil_from_days. */
int ent_date_to_ymd(int32_t days, int *y, int *m, int *d) {
    int64_t z = (int64_t)days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t dd = doy - (153 * mp + 2) / 5 + 1;
    int64_t mm = mp < 10 ? mp + 3 : mp - 9;
    int64_t yr = yoe + era * 400 + (mm <= 2);
    if (yr < ENT_DATE_MIN_YEAR || yr > ENT_DATE_MAX_YEAR)
        return ENT_EINVAL;
    *y = (int)yr;
    *m = (int)mm;
    *d = (int)dd;
    return ENT_OK;
}

static int parse_date(ent_value *out, const char *text, char *err,
                      size_t errlen) {
    const char *s;
    size_t len;
    trim(text, &s, &len);
    int rc = ENT_EINVAL;
    static const char shape[] = "dddd-dd-dd";
    if (len != sizeof(shape) - 1)
        goto bad;
    for (size_t i = 0; i < len; i++) {
        if (shape[i] == 'd' ? !is_digit(s[i]) : s[i] != '-')
            goto bad;
    }
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
            (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    int32_t days;
    if (ent_date_from_ymd(y, m, d, &days) != ENT_OK) {
        set_err(err, errlen, "no such date: %.*s", (int)len, s);
        goto out;
    }
    out->type = ENT_VT_DATE;
    out->u.days = days;
    rc = ENT_OK;
    goto out;
bad:
    set_err(err, errlen, "not a date: \"%.*s\" (use YYYY-MM-DD)", (int)len, s);
out:
    return rc;
}

bool ent_ascii_caseeq(const char *a, size_t alen, const char *b) {
    size_t blen = strlen(b);
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

static int parse_enum(ent_value *out, const char *text,
                      const ent_value_opts *opts, char *err, size_t errlen) {
    const char *s;
    size_t len;
    trim(text, &s, &len);
    size_t n = opts ? opts->nallowed : 0;
    for (size_t i = 0; i < n; i++) {
        if (ent_ascii_caseeq(s, len, opts->allowed[i])) {
            int rc = ent_value_set_text(out, ENT_VT_ENUM, opts->allowed[i],
                                        strlen(opts->allowed[i]));
            if (rc == ENT_EINVAL)
                set_err(err, errlen, "allowed value \"%s\" is not valid text",
                        opts->allowed[i]);
            return rc;
        }
    }
    /* list the allowed values (as many as fit) to help the user */
    if (err != NULL && errlen > 0) {
        int w =
            snprintf(err, errlen,
                     "\"%.*s\" is not one of:", (int)(len > 64 ? 64 : len), s);
        size_t used = w < 0 ? 0 : (size_t)w;
        for (size_t i = 0; i < n && used < errlen; i++) {
            w = snprintf(err + used, errlen - used, "%s \"%s\"", i ? "," : "",
                         opts->allowed[i]);
            used += w < 0 ? 0 : (size_t)w;
        }
        if (n == 0)
            snprintf(err + (used < errlen ? used : errlen - 1),
                     errlen - (used < errlen ? used : errlen - 1),
                     " (no allowed values)");
    }
    return ENT_EINVAL;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void ent_value_ref_format(char out[65], const uint8_t ref[32]) {
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = hx[ref[i] >> 4];
        out[2 * i + 1] = hx[ref[i] & 15];
    }
    out[64] = '\0';
}

static int parse_org(ent_value *out, const char *text, char *err,
                     size_t errlen) {
    const char *s;
    size_t len;
    trim(text, &s, &len);
    char id[ENT_ORG_ID_LEN + 1];
    if (len != ENT_ORG_ID_LEN)
        goto bad;
    memcpy(id, s, len);
    id[len] = '\0';
    if (ent_org_id_parse(out->u.org, id) != ENT_OK)
        goto bad;
    out->type = ENT_VT_ORG;
    return ENT_OK;
bad:
    memset(out, 0, sizeof(*out));
    set_err(err, errlen, "not an org id: \"%.*s\" (%d base32 characters)",
            (int)(len > 64 ? 64 : len), s, ENT_ORG_ID_LEN);
    return ENT_EINVAL;
}

/* An object reference: the linked object's id as 64 hexadecimal
 * characters (either case). */
static int parse_ref(ent_value *out, const char *text, char *err,
                     size_t errlen) {
    const char *s;
    size_t len;
    trim(text, &s, &len);
    if (len != 64)
        goto bad;
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            goto bad;
        out->u.ref[i] = (uint8_t)(hi << 4 | lo);
    }
    out->type = ENT_VT_REF;
    return ENT_OK;
bad:
    memset(out, 0, sizeof(*out));
    set_err(err, errlen,
            "not an object id: \"%.*s\" (64 hexadecimal characters)",
            (int)(len > 80 ? 80 : len), s);
    return ENT_EINVAL;
}

int ent_value_parse(ent_value *out, ent_vtype type, const char *text,
                    const ent_value_opts *opts, char *err, size_t errlen) {
    int rc;
    memset(out, 0, sizeof(*out));
    out->type = ENT_VT_NULL;
    switch (type) {
    case ENT_VT_TEXT: {
        size_t len = strlen(text);
        if (len > ENT_VALUE_TEXT_MAX) {
            set_err(err, errlen, "text longer than %d bytes",
                    ENT_VALUE_TEXT_MAX);
            rc = ENT_ETOOBIG;
            break;
        }
        rc = ent_value_set_text(out, ENT_VT_TEXT, text, len);
        if (rc == ENT_EINVAL)
            set_err(err, errlen,
                    "text is not valid UTF-8 or has control characters");
        break;
    }
    case ENT_VT_INT:
        rc = parse_int(out, text, err, errlen);
        break;
    case ENT_VT_MONEY:
        rc = parse_money(out, text, opts ? opts->default_currency : NULL, err,
                         errlen);
        break;
    case ENT_VT_DATE:
        rc = parse_date(out, text, err, errlen);
        break;
    case ENT_VT_ENUM:
        rc = parse_enum(out, text, opts, err, errlen);
        break;
    case ENT_VT_ORG:
        rc = parse_org(out, text, err, errlen);
        break;
    case ENT_VT_REF:
        rc = parse_ref(out, text, err, errlen);
        break;
    default:
        set_err(err, errlen, "cannot parse values of type %d", (int)type);
        rc = ENT_EINVAL;
        break;
    }
    if (rc != ENT_OK)
        ent_value_clear(out);
    return rc;
}

/* Writes u in decimal at the end of buf (before *end), at least width
 * digits (zeros in front); *end moves to the first digit. */
static void put_digits(char **end, uint64_t u, int width) {
    do {
        *--*end = (char)('0' + u % 10);
        u /= 10;
        width--;
    } while (u != 0 || width > 0);
}

/* Writes the amount of minor units with exp decimals into buf (at least
 * 24 bytes with exp <= ENT_CURRENCY_EXP_MAX): "-12.50", "1200000", as
 * "%s%" PRIu64 ".%0*" PRIu64 would. */
static void format_amount(char buf[24], int64_t minor, unsigned exp) {
    uint64_t mag = minor < 0 ? 0 - (uint64_t)minor : (uint64_t)minor;
    uint64_t p = pow10_u64[exp];
    char t[24], *e = t + sizeof(t);
    if (exp > 0) {
        put_digits(&e, mag % p, (int)exp);
        *--e = '.';
    }
    put_digits(&e, mag / p, 1);
    if (minor < 0)
        *--e = '-';
    size_t n = (size_t)(t + sizeof(t) - e);
    memcpy(buf, e, n);
    buf[n] = '\0';
}

/* v as text in buf (72 bytes), or in place for text and enum (*src, *len).
 * @return ENT_OK, ENT_EINVAL (unknown currency, date out of range, bad
 *         type). */
static int format_in(const ent_value *v, char buf[72], const char **src,
                     size_t *len) {
    *src = buf;
    switch (v->type) {
    case ENT_VT_NULL:
        buf[0] = '\0';
        break;
    case ENT_VT_TEXT:
    case ENT_VT_ENUM:
        *src = v->u.text.s;
        *len = v->u.text.len;
        return ENT_OK;
    case ENT_VT_INT:
        snprintf(buf, 72, "%" PRId64, v->u.i);
        break;
    case ENT_VT_MONEY: {
        unsigned exp;
        if (ent_currency_exponent(v->u.money.cur, &exp) != ENT_OK)
            return ENT_EINVAL;
        format_amount(buf, v->u.money.minor, exp);
        size_t n = strlen(buf);
        buf[n] = ' ';
        memcpy(buf + n + 1, v->u.money.cur, 4); /* NUL-terminated */
        break;
    }
    case ENT_VT_DATE: {
        int y, m, d;
        if (ent_date_to_ymd(v->u.days, &y, &m, &d) != ENT_OK)
            return ENT_EINVAL;
        char *e = buf + 10; /* "%04d-%02d-%02d": years 1..9999 */
        *e = '\0';
        put_digits(&e, (uint64_t)d, 2);
        *--e = '-';
        put_digits(&e, (uint64_t)m, 2);
        *--e = '-';
        put_digits(&e, (uint64_t)y, 4);
        break;
    }
    case ENT_VT_ORG:
        ent_org_id_format(buf, v->u.org);
        break;
    case ENT_VT_REF:
        ent_value_ref_format(buf, v->u.ref);
        break;
    default:
        return ENT_EINVAL;
    }
    *len = strlen(buf);
    return ENT_OK;
}

int ent_value_format(const ent_value *v, char **out) {
    char buf[72];
    const char *src;
    size_t len;
    *out = NULL;
    int rc = format_in(v, buf, &src, &len);
    if (rc != ENT_OK)
        return rc;
    *out = malloc(len + 1);
    if (*out == NULL)
        return ENT_ENOMEM;
    memcpy(*out, src, len);
    (*out)[len] = '\0';
    return ENT_OK;
}

/*
 * What a value is in JSON (ent_value_to_json, ent_value_json_text): null,
 * an integer, a string, money as {"amount","currency","minor"} (no
 * "amount" in a currency we do not know) or a date outside years 1..9999
 * as {"days":N}.
 */
typedef struct jform {
    enum { JF_NULL, JF_INT, JF_STR, JF_MONEY, JF_DAYS } t;
    const char *s; /* JF_STR: len bytes (NULL: jansson makes no string) */
    size_t len;
    int64_t i;     /* JF_INT, JF_DAYS; JF_MONEY: the minor units */
    bool amount;   /* JF_MONEY: buf holds the amount */
    char buf[72];
} jform;

static int json_form(const ent_value *v, jform *f) {
    unsigned exp;
    int y, m, d;
    f->amount = false;
    switch (v->type) {
    case ENT_VT_NULL:
        f->t = JF_NULL;
        return ENT_OK;
    case ENT_VT_INT:
        f->t = JF_INT;
        f->i = v->u.i;
        return ENT_OK;
    case ENT_VT_MONEY:
        f->t = JF_MONEY;
        f->i = v->u.money.minor;
        /* a partner's currency we do not know: exact, without amount */
        f->amount = ent_currency_exponent(v->u.money.cur, &exp) == ENT_OK;
        if (f->amount)
            format_amount(f->buf, v->u.money.minor, exp);
        return ENT_OK;
    case ENT_VT_DATE:
        if (ent_date_to_ymd(v->u.days, &y, &m, &d) != ENT_OK) {
            /* outside years 1..9999: the day number itself */
            f->t = JF_DAYS;
            f->i = (int)v->u.days;
            return ENT_OK;
        }
        break;
    default:
        break;
    }
    f->t = JF_STR;
    return format_in(v, f->buf, &f->s, &f->len);
}

/* The error of a string jansson would not make: text that is not valid. */
static int string_error(const ent_value *v) {
    return (v->type == ENT_VT_TEXT || v->type == ENT_VT_ENUM) &&
                   !ent_text_valid(v->u.text.s, v->u.text.len)
               ? ENT_EINVAL
               : ENT_ENOMEM;
}

int ent_value_to_json(const ent_value *v, json_t **out) {
    jform f;
    json_t *j = NULL;
    *out = NULL;
    int rc = json_form(v, &f);
    if (rc != ENT_OK)
        return rc;
    switch (f.t) {
    case JF_NULL:
        j = json_null();
        break;
    case JF_INT:
        j = json_integer((json_int_t)f.i);
        break;
    case JF_STR: /* json_stringn also fails on invalid UTF-8 */
        j = f.s != NULL ? json_stringn(f.s, f.len) : NULL;
        if (j == NULL)
            return string_error(v);
        break;
    case JF_MONEY:
        /* as json_pack("{s:s, s:s, s:I}") would, without parsing a format
         * for every value */
        j = json_object();
        if (j != NULL &&
            ((f.amount &&
              json_object_set_new(j, "amount", json_string(f.buf)) != 0) ||
             json_object_set_new(j, "currency",
                                 json_string(v->u.money.cur)) != 0 ||
             json_object_set_new(j, "minor", json_integer((json_int_t)f.i)) !=
                 0)) {
            json_decref(j);
            j = NULL;
        }
        break;
    case JF_DAYS:
        j = json_object();
        if (j != NULL &&
            json_object_set_new(j, "days", json_integer((json_int_t)f.i)) !=
                0) {
            json_decref(j);
            j = NULL;
        }
        break;
    }
    if (j == NULL)
        return ENT_ENOMEM;
    *out = j;
    return ENT_OK;
}

int ent_value_json_text(const ent_value *v, ent_jtext *t) {
    jform f;
    int rc = json_form(v, &f);
    if (rc != ENT_OK)
        return rc;
    switch (f.t) {
    case JF_NULL:
        ENT_JTEXT_LIT(t, "null");
        break;
    case JF_INT:
        ent_jtext_int(t, f.i);
        break;
    case JF_STR:
        if (f.s == NULL || !ent_cbor_utf8_valid(f.s, f.len))
            return string_error(v);
        ent_jtext_str(t, f.s, f.len);
        break;
    case JF_MONEY:
        if (!ent_cbor_utf8_valid(v->u.money.cur, strlen(v->u.money.cur)))
            return ENT_ENOMEM; /* as jansson refuses it */
        if (f.amount) {
            ENT_JTEXT_LIT(t, "{\"amount\":");
            ent_jtext_str(t, f.buf, strlen(f.buf));
            ENT_JTEXT_LIT(t, ",\"currency\":");
        } else {
            ENT_JTEXT_LIT(t, "{\"currency\":");
        }
        ent_jtext_str(t, v->u.money.cur, strlen(v->u.money.cur));
        ENT_JTEXT_LIT(t, ",\"minor\":");
        ent_jtext_int(t, f.i);
        ENT_JTEXT_LIT(t, "}");
        break;
    case JF_DAYS:
        ENT_JTEXT_LIT(t, "{\"days\":");
        ent_jtext_int(t, f.i);
        ENT_JTEXT_LIT(t, "}");
        break;
    }
    return t->oom ? ENT_ENOMEM : ENT_OK;
}
