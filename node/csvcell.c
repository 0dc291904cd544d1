/*
 * csvcell.c - the formula guard of csvcell.h.
 */
#include "node/csvcell.h"

#include <string.h>

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* ^[+-]?[0-9]+(\.[0-9]+)?$ */
static bool plain_number(const char *s, size_t len) {
    size_t i = 0, d;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    for (d = i; i < len && is_digit(s[i]); i++)
        ;
    if (i == d)
        return false;
    if (i < len && s[i] == '.') {
        for (d = ++i; i < len && is_digit(s[i]); i++)
            ;
        if (i == d)
            return false;
    }
    return i == len;
}

bool ent_csv_formula(const char *s, size_t len) {
    size_t i = 0;
    while (i < len && s[i] == '\'')
        i++;
    if (i == len || memchr("=+-@\t\r", s[i], 6) == NULL)
        return false;
    return !plain_number(s + i, len - i);
}

const char *ent_csv_unguard(const char *s, size_t *len) {
    if (*len > 0 && s[0] == '\'' && ent_csv_formula(s + 1, *len - 1)) {
        (*len)--;
        return s + 1;
    }
    return s;
}
