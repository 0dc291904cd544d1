/*
 * expr.c - the expression language of reports: tokenizer, recursive
 * descent parser with static typing, and a bounded tree evaluator
 * (spec/reports.md "Expressions"). The parser is the only recursive part
 * and is bounded by ENT_EXPR_DEPTH_MAX; the compiled tree has at most
 * ENT_EXPR_NODES_MAX nodes, so one evaluation costs at most that many
 * steps.
 */
#include "node/reports/expr.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "node/err.h"
#include "node/objects/value.h"

enum {
    N_LIT = 0, N_FIELD, N_NOT, N_AND, N_OR, N_NEG, N_ADD, N_SUB, N_MUL,
    N_DIV, N_EQ, N_NE, N_LT, N_LE, N_GT, N_GE, N_IN, N_ISNULL, N_NOTNULL,
    N_IF,
};

typedef struct xnode {
    uint8_t kind;
    ent_xtype type;
    int16_t a, b;          /* children; IN: b = first list item; IF: a
                              the condition, b the then branch */
    uint16_t count;        /* IN: items (consecutive literal nodes); IF:
                              the else branch */
    uint16_t pos;          /* 1-based byte position, for errors */
    uint8_t slot;          /* FIELD */
    ent_vtype vtype;       /* FIELD */
    ent_xval lit;          /* LIT */
} xnode;

struct ent_expr {
    char *text; /* owned copy; string literals point into it */
    xnode n[ENT_EXPR_NODES_MAX];
    size_t nn;
    int16_t root;
};

/* ---- tokens -------------------------------------------------------------- */

enum { T_END, T_NUM, T_DATE, T_STR, T_IDENT, T_OP, T_LP, T_RP, T_COMMA };

typedef struct parser {
    ent_expr *e;
    char *s; /* the owned copy */
    size_t i;
    int tok;
    size_t tpos, tlen; /* token start and length in s */
    char *str;         /* T_STR: unescaped, NUL-terminated, inside s */
    size_t slen;
    int depth;
    ent_expr_lookup lookup;
    void *data;
    char *err;
    size_t errlen;
    int rc;
} parser;

static int fail(parser *p, size_t pos, int rc, const char *fmt, ...) {
    if (p->rc != ENT_OK)
        return p->rc;
    char msg[ENT_EXPR_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (p->err != NULL && p->errlen > 0)
        snprintf(p->err, p->errlen, "at %zu: %s", pos + 1, msg);
    p->rc = rc;
    return rc;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_date_at(const char *s) {
    for (int k = 0; k < 10; k++) {
        bool dash = k == 4 || k == 7;
        if (dash ? s[k] != '-' : !is_digit(s[k]))
            return false;
    }
    return !is_alpha(s[10]) && !is_digit(s[10]);
}

/* Reads the next token into p->tok. */
static int next(parser *p) {
    char *s = p->s;
    while (s[p->i] == ' ' || s[p->i] == '\t' || s[p->i] == '\n')
        p->i++;
    p->tpos = p->i;
    char c = s[p->i];
    if (c == '\0') {
        p->tok = T_END;
    } else if (is_date_at(s + p->i)) {
        p->tok = T_DATE;
        p->i += 10;
    } else if (is_digit(c)) {
        p->tok = T_NUM;
        while (is_digit(s[p->i]))
            p->i++;
        if (s[p->i] == '.') {
            p->i++;
            if (!is_digit(s[p->i]))
                return fail(p, p->i, ENT_EINVAL, "a digit must follow '.'");
            while (is_digit(s[p->i]))
                p->i++;
        }
        if (is_alpha(s[p->i]))
            return fail(p, p->i, ENT_EINVAL,
                        "a number must be followed by a space");
    } else if (is_alpha(c)) {
        p->tok = T_IDENT;
        while (is_alpha(s[p->i]) || is_digit(s[p->i]))
            p->i++;
    } else if (c == '"' || c == '\'') {
        /* unescape in place: the text only shrinks */
        size_t r = p->i + 1, w = p->i + 1;
        p->str = s + w;
        for (;;) {
            char d = s[r];
            if (d == '\0')
                return fail(p, p->tpos, ENT_EINVAL, "unterminated string");
            if (d == c)
                break;
            if (d == '\\') {
                if (s[r + 1] != '\\' && s[r + 1] != c)
                    return fail(p, r, ENT_EINVAL,
                                "only \\\\ and \\%c are escapes", c);
                d = s[++r];
            }
            s[w++] = d;
            r++;
        }
        p->slen = (size_t)(s + w - p->str);
        s[w] = '\0'; /* s[r] was the quote: w <= r */
        p->i = r + 1;
        if (!ent_text_valid(p->str, p->slen))
            return fail(p, p->tpos, ENT_EINVAL,
                        "a string must be valid text (UTF-8, no control "
                        "characters)");
        p->tok = T_STR;
    } else if (c == '(' || c == ')' || c == ',') {
        p->tok = c == '(' ? T_LP : c == ')' ? T_RP : T_COMMA;
        p->i++;
    } else if (strchr("=<>!+-*/", c) != NULL) {
        p->tok = T_OP;
        p->i++;
        if ((c == '<' || c == '>' || c == '!') && s[p->i] == '=')
            p->i++;
        else if (c == '<' && s[p->i] == '>')
            p->i++;
        else if (c == '!')
            return fail(p, p->tpos, ENT_EINVAL, "'!' must be '!='");
    } else {
        return fail(p, p->tpos, ENT_EINVAL, "unexpected character '%c'",
                    c >= 0x20 && c < 0x7f ? c : '?');
    }
    p->tlen = p->i - p->tpos;
    return p->rc;
}

static bool tok_is(const parser *p, int tok, const char *text) {
    if (p->tok != tok)
        return false;
    if (text == NULL)
        return true;
    size_t l = strlen(text);
    if (l != p->tlen)
        return false;
    for (size_t k = 0; k < l; k++) {
        char c = p->s[p->tpos + k];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != text[k])
            return false;
    }
    return true;
}

static bool is_keyword(const parser *p) {
    static const char *const kw[] = {"and",   "or", "not",  "in",
                                     "is",    "null", "true", "false",
                                     "if",    "then", "else", NULL};
    for (const char *const *k = kw; *k; k++)
        if (tok_is(p, T_IDENT, *k))
            return true;
    return false;
}

/* ---- nodes --------------------------------------------------------------- */

static int16_t node(parser *p, uint8_t kind, ent_xtype type, size_t pos) {
    if (p->rc != ENT_OK)
        return -1;
    if (p->e->nn >= ENT_EXPR_NODES_MAX) {
        fail(p, pos, ENT_ELIMIT, "expression too large (at most %d terms)",
             ENT_EXPR_NODES_MAX);
        return -1;
    }
    xnode *x = &p->e->n[p->e->nn];
    memset(x, 0, sizeof(*x));
    x->kind = kind;
    x->type = type;
    x->a = x->b = -1;
    x->pos = (uint16_t)pos;
    return (int16_t)p->e->nn++;
}

static ent_xtype ty(const parser *p, int16_t i) {
    return i < 0 ? ENT_XT_NULL : p->e->n[i].type;
}

const char *ent_xtype_name(ent_xtype t) {
    static const char *const names[] = {"null", "bool", "number",
                                        "money", "date", "text"};
    return t <= ENT_XT_TEXT ? names[t] : "?";
}

/* Parses a decimal number at s (len bytes) scaled by 10^exp into *out. */
static bool parse_scaled(const char *s, size_t len, unsigned exp,
                         int64_t *out) {
    int64_t v = 0;
    size_t k = 0;
    unsigned frac = 0;
    bool point = false;
    for (; k < len; k++) {
        if (s[k] == '.') {
            point = true;
            continue;
        }
        if (point && ++frac > exp)
            return false;
        if (__builtin_mul_overflow(v, 10, &v) ||
            __builtin_add_overflow(v, s[k] - '0', &v))
            return false;
    }
    for (; frac < exp; frac++)
        if (__builtin_mul_overflow(v, 10, &v))
            return false;
    *out = v;
    return true;
}

static int16_t parse_expr(parser *p);

static int16_t parse_atom(parser *p) {
    size_t pos = p->tpos;
    int16_t i = -1;
    if (p->rc != ENT_OK)
        return -1;
    if (p->tok == T_LP) {
        if (++p->depth > ENT_EXPR_DEPTH_MAX) {
            fail(p, pos, ENT_ELIMIT, "nested too deeply (at most %d)",
                 ENT_EXPR_DEPTH_MAX);
            return -1;
        }
        next(p);
        i = parse_expr(p);
        p->depth--;
        if (p->rc == ENT_OK && p->tok != T_RP)
            fail(p, p->tpos, ENT_EINVAL, "')' expected");
        next(p);
        return i;
    }
    if (p->tok == T_NUM) {
        const char *num = p->s + pos;
        size_t nl = p->tlen;
        next(p);
        if (p->tok == T_IDENT && p->tlen == 3 && !is_keyword(p)) {
            char cur[4];
            unsigned exp;
            for (int k = 0; k < 3; k++) {
                char c = p->s[p->tpos + k];
                cur[k] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
            }
            cur[3] = '\0';
            if (ent_currency_exponent(cur, &exp) != ENT_OK) {
                fail(p, p->tpos, ENT_EINVAL, "unknown currency %s", cur);
                return -1;
            }
            i = node(p, N_LIT, ENT_XT_MONEY, pos);
            if (i >= 0) {
                xnode *x = &p->e->n[i];
                x->lit.t = ENT_XT_MONEY;
                memcpy(x->lit.u.m.cur, cur, 4);
                if (!parse_scaled(num, nl, exp, &x->lit.u.m.minor))
                    fail(p, pos, ENT_EINVAL,
                         "amount out of range or with more than %u decimals "
                         "for %s",
                         exp, cur);
            }
            next(p);
            return i;
        }
        i = node(p, N_LIT, ENT_XT_NUM, pos);
        if (i >= 0) {
            p->e->n[i].lit.t = ENT_XT_NUM;
            if (!parse_scaled(num, nl, 6, &p->e->n[i].lit.u.n))
                fail(p, pos, ENT_EINVAL,
                     "number out of range or with more than 6 decimals");
        }
        return i;
    }
    if (p->tok == T_DATE) {
        int y = atoi(p->s + pos), m = atoi(p->s + pos + 5),
            d = atoi(p->s + pos + 8);
        i = node(p, N_LIT, ENT_XT_DATE, pos);
        if (i >= 0) {
            p->e->n[i].lit.t = ENT_XT_DATE;
            if (ent_date_from_ymd(y, m, d, &p->e->n[i].lit.u.d) != ENT_OK)
                fail(p, pos, ENT_EINVAL, "no such date");
        }
        next(p);
        return i;
    }
    if (p->tok == T_STR) {
        i = node(p, N_LIT, ENT_XT_TEXT, pos);
        if (i >= 0) {
            p->e->n[i].lit.t = ENT_XT_TEXT;
            p->e->n[i].lit.u.s.s = p->str;
            p->e->n[i].lit.u.s.len = p->slen;
        }
        next(p);
        return i;
    }
    if (tok_is(p, T_IDENT, "true") || tok_is(p, T_IDENT, "false")) {
        i = node(p, N_LIT, ENT_XT_BOOL, pos);
        if (i >= 0) {
            p->e->n[i].lit.t = ENT_XT_BOOL;
            p->e->n[i].lit.u.b = tok_is(p, T_IDENT, "true");
        }
        next(p);
        return i;
    }
    if (tok_is(p, T_IDENT, "null")) {
        i = node(p, N_LIT, ENT_XT_NULL, pos);
        next(p);
        return i;
    }
    if (p->tok == T_IDENT && !is_keyword(p)) {
        ent_vtype vt;
        unsigned slot;
        if (p->tlen > 64 || p->lookup == NULL ||
            !p->lookup(p->data, p->s + pos, p->tlen, &vt, &slot) ||
            slot > 255) {
            fail(p, pos, ENT_EINVAL, "unknown field '%.*s'",
                 (int)(p->tlen > 64 ? 64 : p->tlen), p->s + pos);
            return -1;
        }
        ent_xtype t = vt == ENT_VT_INT     ? ENT_XT_NUM
                      : vt == ENT_VT_MONEY ? ENT_XT_MONEY
                      : vt == ENT_VT_DATE  ? ENT_XT_DATE
                                           : ENT_XT_TEXT;
        i = node(p, N_FIELD, t, pos);
        if (i >= 0) {
            p->e->n[i].slot = (uint8_t)slot;
            p->e->n[i].vtype = vt;
        }
        next(p);
        return i;
    }
    if (p->tok == T_END)
        fail(p, pos, ENT_EINVAL, "unexpected end of expression");
    else
        fail(p, pos, ENT_EINVAL, "unexpected '%.*s'",
             (int)(p->tlen > 32 ? 32 : p->tlen), p->s + pos);
    return -1;
}

static int16_t parse_unary(parser *p) {
    if (tok_is(p, T_OP, "-")) {
        size_t pos = p->tpos;
        if (++p->depth > ENT_EXPR_DEPTH_MAX) {
            fail(p, pos, ENT_ELIMIT, "nested too deeply (at most %d)",
                 ENT_EXPR_DEPTH_MAX);
            return -1;
        }
        next(p);
        int16_t a = parse_unary(p);
        p->depth--;
        ent_xtype t = ty(p, a);
        if (p->rc == ENT_OK && t != ENT_XT_NUM && t != ENT_XT_MONEY)
            fail(p, pos, ENT_EINVAL, "cannot negate %s", ent_xtype_name(t));
        int16_t i = node(p, N_NEG, t, pos);
        if (i >= 0)
            p->e->n[i].a = a;
        return i;
    }
    return parse_atom(p);
}

/* The type of a op b for arithmetic, or -1 when not allowed. */
static int arith_type(uint8_t kind, ent_xtype a, ent_xtype b) {
    switch (kind) {
    case N_ADD:
        if (a == b && (a == ENT_XT_NUM || a == ENT_XT_MONEY))
            return a;
        if ((a == ENT_XT_DATE && b == ENT_XT_NUM) ||
            (a == ENT_XT_NUM && b == ENT_XT_DATE))
            return ENT_XT_DATE;
        return -1;
    case N_SUB:
        if (a == b && (a == ENT_XT_NUM || a == ENT_XT_MONEY))
            return a;
        if (a == ENT_XT_DATE && b == ENT_XT_NUM)
            return ENT_XT_DATE;
        if (a == ENT_XT_DATE && b == ENT_XT_DATE)
            return ENT_XT_NUM;
        return -1;
    case N_MUL:
        if (a == ENT_XT_NUM && b == ENT_XT_NUM)
            return ENT_XT_NUM;
        if ((a == ENT_XT_MONEY && b == ENT_XT_NUM) ||
            (a == ENT_XT_NUM && b == ENT_XT_MONEY))
            return ENT_XT_MONEY;
        return -1;
    case N_DIV:
        if (a == ENT_XT_NUM && b == ENT_XT_NUM)
            return ENT_XT_NUM;
        if (a == ENT_XT_MONEY && b == ENT_XT_NUM)
            return ENT_XT_MONEY;
        if (a == ENT_XT_MONEY && b == ENT_XT_MONEY)
            return ENT_XT_NUM;
        return -1;
    }
    return -1;
}

static int16_t binary(parser *p, uint8_t kind, int16_t a, int16_t b,
                      size_t pos, const char *op) {
    if (p->rc != ENT_OK)
        return -1;
    int t = arith_type(kind, ty(p, a), ty(p, b));
    if (t < 0) {
        fail(p, pos, ENT_EINVAL, "cannot %s %s and %s", op,
             ent_xtype_name(ty(p, a)), ent_xtype_name(ty(p, b)));
        return -1;
    }
    int16_t i = node(p, kind, (ent_xtype)t, pos);
    if (i >= 0) {
        p->e->n[i].a = a;
        p->e->n[i].b = b;
    }
    return i;
}

static int16_t parse_prod(parser *p) {
    int16_t a = parse_unary(p);
    while (p->rc == ENT_OK && (tok_is(p, T_OP, "*") || tok_is(p, T_OP, "/"))) {
        bool mul = tok_is(p, T_OP, "*");
        size_t pos = p->tpos;
        next(p);
        int16_t b = parse_unary(p);
        a = binary(p, mul ? N_MUL : N_DIV, a, b, pos,
                   mul ? "multiply" : "divide");
    }
    return a;
}

static int16_t parse_sum(parser *p) {
    int16_t a = parse_prod(p);
    while (p->rc == ENT_OK && (tok_is(p, T_OP, "+") || tok_is(p, T_OP, "-"))) {
        bool add = tok_is(p, T_OP, "+");
        size_t pos = p->tpos;
        next(p);
        int16_t b = parse_prod(p);
        a = binary(p, add ? N_ADD : N_SUB, a, b, pos,
                   add ? "add" : "subtract");
    }
    return a;
}

static bool comparable(ent_xtype a, ent_xtype b, bool eq) {
    if (a == ENT_XT_NULL || b == ENT_XT_NULL)
        return eq;
    if (a != b)
        return false;
    return eq || a != ENT_XT_BOOL;
}

static int16_t parse_cmp(parser *p) {
    static const struct {
        const char *op;
        uint8_t kind;
    } ops[] = {{"=", N_EQ},  {"!=", N_NE}, {"<>", N_NE}, {"<", N_LT},
               {"<=", N_LE}, {">", N_GT},  {">=", N_GE}};
    int16_t a = parse_sum(p);
    size_t pos = p->tpos;
    if (p->rc != ENT_OK)
        return -1;
    if (tok_is(p, T_IDENT, "is")) {
        next(p);
        bool neg = tok_is(p, T_IDENT, "not");
        if (neg)
            next(p);
        if (!tok_is(p, T_IDENT, "null")) {
            fail(p, p->tpos, ENT_EINVAL, "'null' expected after 'is'");
            return -1;
        }
        next(p);
        int16_t i = node(p, neg ? N_NOTNULL : N_ISNULL, ENT_XT_BOOL, pos);
        if (i >= 0)
            p->e->n[i].a = a;
        return i;
    }
    if (tok_is(p, T_IDENT, "in")) {
        next(p);
        if (p->tok != T_LP) {
            fail(p, p->tpos, ENT_EINVAL, "'(' expected after 'in'");
            return -1;
        }
        int16_t i = node(p, N_IN, ENT_XT_BOOL, pos);
        if (i < 0)
            return -1;
        p->e->n[i].a = a;
        do {
            next(p);
            size_t lpos = p->tpos;
            int16_t item = parse_atom(p);
            if (p->rc != ENT_OK)
                return -1;
            if (p->e->n[item].kind != N_LIT || item != i + 1 +
                                                    p->e->n[i].count) {
                fail(p, lpos, ENT_EINVAL, "the list after 'in' holds values "
                                          "only");
                return -1;
            }
            if (!comparable(ty(p, a), ty(p, item), true) ||
                ty(p, item) == ENT_XT_NULL) {
                fail(p, lpos, ENT_EINVAL, "cannot compare %s with %s",
                     ent_xtype_name(ty(p, a)), ent_xtype_name(ty(p, item)));
                return -1;
            }
            p->e->n[i].count++;
        } while (p->tok == T_COMMA);
        if (p->tok != T_RP) {
            fail(p, p->tpos, ENT_EINVAL, "')' or ',' expected");
            return -1;
        }
        p->e->n[i].b = (int16_t)(i + 1);
        next(p);
        return i;
    }
    for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
        if (!tok_is(p, T_OP, ops[k].op))
            continue;
        next(p);
        int16_t b = parse_sum(p);
        if (p->rc != ENT_OK)
            return -1;
        bool eq = ops[k].kind == N_EQ || ops[k].kind == N_NE;
        if (!comparable(ty(p, a), ty(p, b), eq)) {
            fail(p, pos, ENT_EINVAL, "cannot compare %s with %s%s",
                 ent_xtype_name(ty(p, a)), ent_xtype_name(ty(p, b)),
                 (ty(p, a) == ENT_XT_MONEY && ty(p, b) == ENT_XT_NUM) ||
                         (ty(p, b) == ENT_XT_MONEY && ty(p, a) == ENT_XT_NUM)
                     ? " (give the amount with its currency: 100000 USD)"
                     : "");
            return -1;
        }
        int16_t i = node(p, ops[k].kind, ENT_XT_BOOL, pos);
        if (i >= 0) {
            p->e->n[i].a = a;
            p->e->n[i].b = b;
        }
        return i;
    }
    return a;
}

static int16_t parse_not(parser *p) {
    if (tok_is(p, T_IDENT, "not")) {
        size_t pos = p->tpos;
        if (++p->depth > ENT_EXPR_DEPTH_MAX) {
            fail(p, pos, ENT_ELIMIT, "nested too deeply (at most %d)",
                 ENT_EXPR_DEPTH_MAX);
            return -1;
        }
        next(p);
        int16_t a = parse_not(p);
        p->depth--;
        if (p->rc == ENT_OK && ty(p, a) != ENT_XT_BOOL)
            fail(p, pos, ENT_EINVAL, "'not' wants a bool, not %s",
                 ent_xtype_name(ty(p, a)));
        int16_t i = node(p, N_NOT, ENT_XT_BOOL, pos);
        if (i >= 0)
            p->e->n[i].a = a;
        return i;
    }
    return parse_cmp(p);
}

static int16_t logic(parser *p, const char *word, uint8_t kind,
                     int16_t (*sub)(parser *)) {
    int16_t a = sub(p);
    while (p->rc == ENT_OK && tok_is(p, T_IDENT, word)) {
        size_t pos = p->tpos;
        next(p);
        int16_t b = sub(p);
        if (p->rc != ENT_OK)
            return -1;
        if (ty(p, a) != ENT_XT_BOOL || ty(p, b) != ENT_XT_BOOL) {
            fail(p, pos, ENT_EINVAL, "'%s' wants bools, not %s and %s", word,
                 ent_xtype_name(ty(p, a)), ent_xtype_name(ty(p, b)));
            return -1;
        }
        int16_t i = node(p, kind, ENT_XT_BOOL, pos);
        if (i >= 0) {
            p->e->n[i].a = a;
            p->e->n[i].b = b;
        }
        a = i;
    }
    return a;
}

static int16_t parse_and(parser *p) {
    return logic(p, "and", N_AND, parse_not);
}

static int16_t parse_or(parser *p) { return logic(p, "or", N_OR, parse_and); }

/* expr = "if" expr "then" expr "else" expr | or. The branches have one
 * type (or one of them is the literal null); a condition that is false or
 * null takes the else branch. */
static int16_t parse_expr(parser *p) {
    if (!tok_is(p, T_IDENT, "if"))
        return parse_or(p);
    size_t pos = p->tpos;
    if (++p->depth > ENT_EXPR_DEPTH_MAX) {
        fail(p, pos, ENT_ELIMIT, "nested too deeply (at most %d)",
             ENT_EXPR_DEPTH_MAX);
        return -1;
    }
    int16_t part[3] = {-1, -1, -1};
    static const char *const word[] = {"then", "else"};
    next(p);
    for (int k = 0; k < 3 && p->rc == ENT_OK; k++) {
        part[k] = parse_expr(p);
        if (p->rc != ENT_OK)
            break;
        if (k < 2 && !tok_is(p, T_IDENT, word[k]))
            fail(p, p->tpos, ENT_EINVAL, "'if' wants '%s' here", word[k]);
        else if (k < 2)
            next(p);
    }
    p->depth--;
    if (p->rc != ENT_OK)
        return -1;
    ent_xtype c = ty(p, part[0]), a = ty(p, part[1]), b = ty(p, part[2]);
    if (c != ENT_XT_BOOL) {
        fail(p, pos, ENT_EINVAL, "'if' wants a condition, not %s",
             ent_xtype_name(c));
        return -1;
    }
    if (a != b && a != ENT_XT_NULL && b != ENT_XT_NULL) {
        fail(p, pos, ENT_EINVAL,
             "the branches of 'if' are %s and %s; give both one type",
             ent_xtype_name(a), ent_xtype_name(b));
        return -1;
    }
    int16_t i = node(p, N_IF, a != ENT_XT_NULL ? a : b, pos);
    if (i >= 0) {
        p->e->n[i].a = part[0];
        p->e->n[i].b = part[1];
        p->e->n[i].count = (uint16_t)part[2];
    }
    return i;
}

int ent_expr_compile(const char *text, ent_expr_lookup lookup, void *data,
                     ent_expr **out, char *err, size_t errlen) {
    parser p;
    *out = NULL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    memset(&p, 0, sizeof(p));
    p.err = err;
    p.errlen = errlen;
    if (text == NULL)
        return fail(&p, 0, ENT_EINVAL, "no expression");
    size_t len = strlen(text);
    if (len > ENT_EXPR_TEXT_MAX)
        return fail(&p, ENT_EXPR_TEXT_MAX, ENT_ELIMIT,
                    "expression longer than %d bytes", ENT_EXPR_TEXT_MAX);
    if (!ent_text_valid(text, len))
        return fail(&p, 0, ENT_EINVAL, "expression is not valid text");
    ent_expr *e = calloc(1, sizeof(*e));
    if (e == NULL || (e->text = strdup(text)) == NULL) {
        free(e);
        return ENT_ENOMEM;
    }
    p.e = e;
    p.s = e->text;
    p.lookup = lookup;
    p.data = data;
    if (next(&p) == ENT_OK) {
        if (p.tok == T_END)
            fail(&p, 0, ENT_EINVAL, "empty expression");
        else
            e->root = parse_expr(&p);
    }
    if (p.rc == ENT_OK && p.tok != T_END)
        fail(&p, p.tpos, ENT_EINVAL, "unexpected '%.*s' after the expression",
             (int)(p.tlen > 32 ? 32 : p.tlen), p.s + p.tpos);
    if (p.rc != ENT_OK) {
        ent_expr_free(e);
        return p.rc;
    }
    *out = e;
    return ENT_OK;
}

ent_xtype ent_expr_type(const ent_expr *e) {
    return e != NULL ? e->n[e->root].type : ENT_XT_NULL;
}

/* The replacement of literal node li compared with field node fi. */
static void map_lit(ent_expr *e, int16_t fi, int16_t li,
                    const char *(*fn)(void *, unsigned, const char *, size_t),
                    void *data) {
    xnode *f = &e->n[fi], *l = &e->n[li];
    if (f->kind != N_FIELD || l->kind != N_LIT || l->lit.t != ENT_XT_TEXT ||
        l->lit.u.s.s == NULL)
        return;
    const char *r = fn(data, f->slot, l->lit.u.s.s, l->lit.u.s.len);
    if (r != NULL) {
        l->lit.u.s.s = r;
        l->lit.u.s.len = strlen(r);
    }
}

void ent_expr_map_text(ent_expr *e,
                       const char *(*fn)(void *data, unsigned slot,
                                         const char *s, size_t len),
                       void *data) {
    for (size_t i = 0; e != NULL && i < e->nn; i++) {
        const xnode *x = &e->n[i];
        if (x->kind == N_EQ || x->kind == N_NE) {
            map_lit(e, x->a, x->b, fn, data);
            map_lit(e, x->b, x->a, fn, data);
        } else if (x->kind == N_IN) {
            for (uint16_t k = 0; k < x->count; k++)
                map_lit(e, x->a, (int16_t)(x->b + k), fn, data);
        }
    }
}

void ent_expr_free(ent_expr *e) {
    if (e == NULL)
        return;
    free(e->text);
    free(e);
}

/* ---- evaluation ---------------------------------------------------------- */

typedef struct evalctx {
    const ent_expr *e;
    const ent_value *(*slot)(void *data, unsigned i);
    void *data;
} evalctx;

/* a * b / d rounded half away from zero; false when it does not fit. */
static bool muldiv(int64_t a, int64_t b, int64_t d, int64_t *out) {
    if (d == 0)
        return false;
    __int128 x = (__int128)a * b;
    __int128 q = x / d, r = x % d;
    if (r != 0) {
        __int128 twice = r < 0 ? -2 * r : 2 * r;
        __int128 ad = d < 0 ? -(__int128)d : d;
        if (twice >= ad)
            q += ((x < 0) != (d < 0)) ? -1 : 1;
    }
    if (q > INT64_MAX || q < INT64_MIN)
        return false;
    *out = (int64_t)q;
    return true;
}

static void set_null(ent_xval *v) { memset(v, 0, sizeof(*v)); }

static void eval(const evalctx *c, int16_t i, ent_xval *out);

static void eval_field(const evalctx *c, const xnode *x, ent_xval *out) {
    const ent_value *v = c->slot(c->data, x->slot);
    set_null(out);
    if (v == NULL)
        return;
    switch (v->type) {
    case ENT_VT_TEXT:
    case ENT_VT_ENUM:
        if (x->type != ENT_XT_TEXT)
            return; /* stored with another type: unknown here */
        out->t = ENT_XT_TEXT;
        out->u.s.s = v->u.text.s ? v->u.text.s : "";
        out->u.s.len = v->u.text.len;
        break;
    case ENT_VT_ORG:
        if (x->type != ENT_XT_TEXT)
            return;
        out->t = ENT_XT_TEXT;
        out->u.s.s = NULL; /* an org: compared by its key */
        out->u.s.org = v->u.org;
        break;
    case ENT_VT_INT:
        if (x->type == ENT_XT_NUM &&
            !__builtin_mul_overflow(v->u.i, ENT_EXPR_SCALE, &out->u.n))
            out->t = ENT_XT_NUM;
        break;
    case ENT_VT_MONEY:
        if (x->type != ENT_XT_MONEY)
            return;
        out->t = ENT_XT_MONEY;
        out->u.m.minor = v->u.money.minor;
        memcpy(out->u.m.cur, v->u.money.cur, 3);
        out->u.m.cur[3] = '\0';
        break;
    case ENT_VT_DATE:
        if (x->type != ENT_XT_DATE)
            return;
        out->t = ENT_XT_DATE;
        out->u.d = v->u.days;
        break;
    default:
        break;
    }
}

static void eval_arith(const evalctx *c, const xnode *x, ent_xval *out) {
    ent_xval a, b;
    eval(c, x->a, &a);
    eval(c, x->b, &b);
    set_null(out);
    if (a.t == ENT_XT_NULL || b.t == ENT_XT_NULL)
        return;
    int64_t r;
    bool ok = true;
    switch (x->kind) {
    case N_ADD:
    case N_SUB: {
        bool sub = x->kind == N_SUB;
        if (a.t == ENT_XT_MONEY) {
            if (memcmp(a.u.m.cur, b.u.m.cur, 3) != 0)
                return;
            ok = sub ? !__builtin_sub_overflow(a.u.m.minor, b.u.m.minor, &r)
                     : !__builtin_add_overflow(a.u.m.minor, b.u.m.minor, &r);
            if (ok) {
                *out = a;
                out->u.m.minor = r;
            }
            return;
        }
        if (a.t == ENT_XT_NUM && b.t == ENT_XT_NUM) {
            ok = sub ? !__builtin_sub_overflow(a.u.n, b.u.n, &r)
                     : !__builtin_add_overflow(a.u.n, b.u.n, &r);
            if (ok) {
                out->t = ENT_XT_NUM;
                out->u.n = r;
            }
            return;
        }
        if (a.t == ENT_XT_DATE && b.t == ENT_XT_DATE) { /* sub only */
            out->t = ENT_XT_NUM;
            out->u.n = ((int64_t)a.u.d - b.u.d) * ENT_EXPR_SCALE;
            return;
        }
        /* date +/- number of days (whole days, the fraction dropped) */
        int64_t days = (a.t == ENT_XT_NUM ? a.u.n : b.u.n) / ENT_EXPR_SCALE;
        int64_t d = a.t == ENT_XT_DATE ? a.u.d : b.u.d;
        d = sub ? d - days : d + days;
        int y, m, dd;
        if (d >= INT32_MIN && d <= INT32_MAX &&
            ent_date_to_ymd((int32_t)d, &y, &m, &dd) == ENT_OK) {
            out->t = ENT_XT_DATE;
            out->u.d = (int32_t)d;
        }
        return;
    }
    case N_MUL:
        if (a.t == ENT_XT_NUM && b.t == ENT_XT_NUM) {
            if (muldiv(a.u.n, b.u.n, ENT_EXPR_SCALE, &r)) {
                out->t = ENT_XT_NUM;
                out->u.n = r;
            }
        } else {
            const ent_xval *m = a.t == ENT_XT_MONEY ? &a : &b;
            const ent_xval *n = a.t == ENT_XT_MONEY ? &b : &a;
            if (muldiv(m->u.m.minor, n->u.n, ENT_EXPR_SCALE, &r)) {
                *out = *m;
                out->u.m.minor = r;
            }
        }
        return;
    case N_DIV:
        if (a.t == ENT_XT_NUM && b.t == ENT_XT_NUM) {
            if (muldiv(a.u.n, ENT_EXPR_SCALE, b.u.n, &r)) {
                out->t = ENT_XT_NUM;
                out->u.n = r;
            }
        } else if (b.t == ENT_XT_NUM) {
            if (muldiv(a.u.m.minor, ENT_EXPR_SCALE, b.u.n, &r)) {
                *out = a;
                out->u.m.minor = r;
            }
        } else if (memcmp(a.u.m.cur, b.u.m.cur, 3) == 0 &&
                   muldiv(a.u.m.minor, ENT_EXPR_SCALE, b.u.m.minor, &r)) {
            out->t = ENT_XT_NUM;
            out->u.n = r;
        }
        return;
    }
}

static int lower(int ch) {
    return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

/* Compares two non-null values of one type: -1, 0, 1, or 2 when they
 * cannot be ordered (money of two currencies, an org against text). */
static int compare(const ent_xval *a, const ent_xval *b, bool eq) {
    switch (a->t) {
    case ENT_XT_BOOL:
        return a->u.b == b->u.b ? 0 : 1;
    case ENT_XT_NUM:
        return a->u.n < b->u.n ? -1 : a->u.n > b->u.n;
    case ENT_XT_DATE:
        return a->u.d < b->u.d ? -1 : a->u.d > b->u.d;
    case ENT_XT_MONEY:
        if (memcmp(a->u.m.cur, b->u.m.cur, 3) != 0)
            return 2;
        return a->u.m.minor < b->u.m.minor ? -1 : a->u.m.minor > b->u.m.minor;
    case ENT_XT_TEXT: {
        if (a->u.s.s == NULL || b->u.s.s == NULL) { /* an org */
            if (!eq)
                return 2;
            uint8_t pk[ENT_PK_LEN];
            const ent_xval *o = a->u.s.s == NULL ? a : b;
            const ent_xval *t = a->u.s.s == NULL ? b : a;
            const uint8_t *key = o->u.s.org;
            if (t->u.s.s == NULL)
                return memcmp(key, t->u.s.org, ENT_PK_LEN) != 0;
            char id[ENT_ORG_ID_LEN + 1];
            if (t->u.s.len != ENT_ORG_ID_LEN)
                return 1;
            memcpy(id, t->u.s.s, ENT_ORG_ID_LEN);
            id[ENT_ORG_ID_LEN] = '\0';
            return ent_org_id_parse(pk, id) != ENT_OK ||
                   memcmp(pk, key, ENT_PK_LEN) != 0;
        }
        size_t n = a->u.s.len < b->u.s.len ? a->u.s.len : b->u.s.len;
        if (eq) { /* equality ignores ASCII case, as stages and enums do */
            if (a->u.s.len != b->u.s.len)
                return 1;
            for (size_t k = 0; k < n; k++)
                if (lower((unsigned char)a->u.s.s[k]) !=
                    lower((unsigned char)b->u.s.s[k]))
                    return 1;
            return 0;
        }
        int r = memcmp(a->u.s.s, b->u.s.s, n);
        if (r != 0)
            return r < 0 ? -1 : 1;
        return a->u.s.len < b->u.s.len ? -1 : a->u.s.len > b->u.s.len;
    }
    default:
        return 2;
    }
}

static void set_bool(ent_xval *v, bool b) {
    set_null(v);
    v->t = ENT_XT_BOOL;
    v->u.b = b;
}

static void eval(const evalctx *c, int16_t i, ent_xval *out) {
    const xnode *x = &c->e->n[i];
    ent_xval a, b;
    switch (x->kind) {
    case N_LIT:
        *out = x->lit;
        return;
    case N_FIELD:
        eval_field(c, x, out);
        return;
    case N_NEG:
        eval(c, x->a, &a);
        *out = a;
        if (a.t == ENT_XT_NUM && a.u.n != INT64_MIN)
            out->u.n = -a.u.n;
        else if (a.t == ENT_XT_MONEY && a.u.m.minor != INT64_MIN)
            out->u.m.minor = -a.u.m.minor;
        else
            set_null(out);
        return;
    case N_ADD:
    case N_SUB:
    case N_MUL:
    case N_DIV:
        eval_arith(c, x, out);
        return;
    case N_NOT:
        eval(c, x->a, &a);
        if (a.t == ENT_XT_BOOL)
            set_bool(out, !a.u.b);
        else
            set_null(out);
        return;
    case N_AND:
    case N_OR: {
        bool is_and = x->kind == N_AND;
        eval(c, x->a, &a);
        if (a.t == ENT_XT_BOOL && a.u.b != is_and) { /* decided */
            set_bool(out, !is_and);
            return;
        }
        eval(c, x->b, &b);
        if (b.t == ENT_XT_BOOL && b.u.b != is_and)
            set_bool(out, !is_and);
        else if (a.t == ENT_XT_BOOL && b.t == ENT_XT_BOOL)
            set_bool(out, is_and);
        else
            set_null(out);
        return;
    }
    case N_IF:
        eval(c, x->a, &a);
        eval(c, a.t == ENT_XT_BOOL && a.u.b ? x->b : (int16_t)x->count, out);
        return;
    case N_ISNULL:
    case N_NOTNULL:
        eval(c, x->a, &a);
        set_bool(out, (a.t == ENT_XT_NULL) == (x->kind == N_ISNULL));
        return;
    case N_IN:
        eval(c, x->a, &a);
        set_null(out);
        if (a.t == ENT_XT_NULL)
            return;
        for (uint16_t k = 0; k < x->count; k++)
            if (compare(&a, &c->e->n[x->b + k].lit, true) == 0) {
                set_bool(out, true);
                return;
            }
        set_bool(out, false);
        return;
    default: { /* comparisons */
        eval(c, x->a, &a);
        eval(c, x->b, &b);
        bool eq = x->kind == N_EQ || x->kind == N_NE;
        if (a.t == ENT_XT_NULL || b.t == ENT_XT_NULL) {
            if (eq) /* x = null: is null */
                set_bool(out, (a.t == b.t) == (x->kind == N_EQ));
            else
                set_null(out);
            return;
        }
        int r = compare(&a, &b, eq);
        if (r == 2 && !eq) {
            set_null(out);
            return;
        }
        bool v = x->kind == N_EQ   ? r == 0
                 : x->kind == N_NE ? r != 0
                 : x->kind == N_LT ? r < 0
                 : x->kind == N_LE ? r <= 0
                 : x->kind == N_GT ? r > 0
                                   : r >= 0;
        set_bool(out, v);
        return;
    }
    }
}

void ent_expr_eval(const ent_expr *e,
                   const ent_value *(*slot)(void *data, unsigned i),
                   void *data, ent_xval *out) {
    evalctx c = {e, slot, data};
    set_null(out);
    if (e != NULL)
        eval(&c, e->root, out);
}

bool ent_expr_test(const ent_expr *e,
                   const ent_value *(*slot)(void *data, unsigned i),
                   void *data) {
    ent_xval v;
    ent_expr_eval(e, slot, data, &v);
    return v.t == ENT_XT_BOOL && v.u.b;
}
