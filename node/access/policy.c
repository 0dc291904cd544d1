/*
 * policy.c - the rule parser, its canonical printer and the pure decision
 * of node/access/policy.h (spec/access.md). Input is bounded before it is
 * looked at: at most ENT_POLICY_TEXT_MAX bytes of printable ASCII, split
 * at blanks into at most a fixed number of words.
 */
#include "node/access/policy.h"
#include "node/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_WORDS (5 + 2 * ENT_POLICY_MAX_CONDS)

static const char *const action_names[] = {
    "read",      "create",        "change",  "comment", "invite",
    "approve",   "remove_member", "join",    "export",  "log",
    "configure", "manage",        "metrics",
};
#define N_ACTIONS (sizeof(action_names) / sizeof(action_names[0]))

const char *ent_action_name(uint32_t action) {
    for (size_t i = 0; i < N_ACTIONS; i++)
        if (action == 1u << i)
            return action_names[i];
    return NULL;
}

uint32_t ent_action_parse(const char *name, size_t len) {
    for (size_t i = 0; i < N_ACTIONS; i++)
        if (strlen(action_names[i]) == len &&
            memcmp(action_names[i], name, len) == 0)
            return 1u << i;
    return 0;
}

int ent_action_list_parse(const char *s, uint32_t *mask) {
    uint32_t m = 0;
    *mask = 0;
    if (s == NULL || s[0] == '\0')
        return ENT_EINVAL;
    if (strcmp(s, "*") == 0) {
        *mask = ENT_ACT_ALL;
        return ENT_OK;
    }
    for (const char *p = s;;) {
        size_t l = strcspn(p, ",");
        uint32_t a = ent_action_parse(p, l);
        if (a == 0 || (m & a) != 0)
            return ENT_EINVAL;
        m |= a;
        if (p[l] == '\0')
            break;
        p += l + 1;
    }
    *mask = m;
    return ENT_OK;
}

int ent_action_list_format(uint32_t mask, char *out, size_t cap) {
    size_t o = 0;
    if (cap == 0)
        return ENT_ETOOBIG;
    out[0] = '\0';
    if ((mask & ENT_ACT_ALL) == ENT_ACT_ALL) {
        if (cap < 2)
            return ENT_ETOOBIG;
        strcpy(out, "*");
        return ENT_OK;
    }
    for (size_t i = 0; i < N_ACTIONS; i++) {
        if ((mask & (1u << i)) == 0)
            continue;
        int w =
            snprintf(out + o, cap - o, "%s%s", o ? "," : "", action_names[i]);
        if (w < 0 || (size_t)w >= cap - o)
            return ENT_ETOOBIG;
        o += (size_t)w;
    }
    return ENT_OK;
}

/* ---- names -------------------------------------------------------------- */

static bool is_lower(char c) {
    return c >= 'a' && c <= 'z';
}
static bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool ent_policy_user_valid(const char *s) {
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > ENT_POLICY_VALUE_MAX ||
        !(is_lower(s[0]) || is_digit(s[0])))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(is_lower(s[i]) || is_digit(s[i]) || s[i] == '.' || s[i] == '_' ||
              s[i] == '-'))
            return false;
    return true;
}

bool ent_policy_key_valid(const char *s) {
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > ENT_POLICY_KEY_MAX || !is_lower(s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(is_lower(s[i]) || is_digit(s[i]) || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

bool ent_policy_value_valid(const char *s) {
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > ENT_POLICY_VALUE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!(is_lower(c) || is_digit(c) || (c >= 'A' && c <= 'Z') ||
              strchr("_.:@/+-", c) != NULL))
            return false;
    }
    return true;
}

/* A field name as templates spell them: [a-z][a-z0-9_]{0,63}. */
static bool field_valid(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > ENT_POLICY_VALUE_MAX || !is_lower(s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(is_lower(s[i]) || is_digit(s[i]) || s[i] == '_'))
            return false;
    return true;
}

/* ---- parser ------------------------------------------------------------- */

typedef struct word {
    const char *p;
    size_t n;
} word;

static int fail(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t cap, const char *fmt, ...) {
    if (cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return ENT_EINVAL;
}

/* Copies w into dst (cap bytes with the NUL); false when too long. */
static bool copy_word(char *dst, size_t cap, const char *p, size_t n) {
    if (n >= cap)
        return false;
    memcpy(dst, p, n);
    dst[n] = '\0';
    return true;
}

static bool word_is(const word *w, const char *s) {
    return w->n == strlen(s) && memcmp(w->p, s, w->n) == 0;
}

static int parse_subject(const word *w, ent_rule *r, char *err, size_t cap) {
    if (word_is(w, "*"))
        return ENT_OK;
    const char *p = w->p, *end = w->p + w->n;
    while (p <= end) {
        const char *c = memchr(p, ',', (size_t)(end - p));
        size_t l = c != NULL ? (size_t)(c - p) : (size_t)(end - p);
        const char *eq = memchr(p, '=', l);
        char key[ENT_POLICY_KEY_MAX + 1], val[ENT_POLICY_VALUE_MAX + 1];
        if (r->nsubj == ENT_POLICY_MAX_SUBJ)
            return fail(err, cap, "more than %d key=value pairs in the subject",
                        ENT_POLICY_MAX_SUBJ);
        if (eq == NULL || !copy_word(key, sizeof(key), p, (size_t)(eq - p)) ||
            !copy_word(val, sizeof(val), eq + 1, l - (size_t)(eq - p) - 1))
            return fail(err, cap,
                        "subject '%.*s': want * or KEY=VALUE[,KEY=VALUE]",
                        (int)w->n, w->p);
        if (!ent_policy_key_valid(key))
            return fail(err, cap,
                        "subject key '%s': want [a-z][a-z0-9_-]{0,31}", key);
        bool ok = strcmp(key, "user") == 0   ? ent_policy_user_valid(val)
                  : strcmp(key, "role") == 0 ? ent_policy_key_valid(val)
                                             : ent_policy_value_valid(val);
        if (!ok)
            return fail(err, cap, "subject %s: bad value '%s'", key, val);
        for (size_t i = 0; i < r->nsubj; i++)
            if (strcmp(r->subj_key[i], key) == 0)
                return fail(err, cap, "subject key '%s' given twice", key);
        strcpy(r->subj_key[r->nsubj], key);
        strcpy(r->subj_val[r->nsubj], val);
        r->nsubj++;
        if (c == NULL)
            break;
        p = c + 1;
    }
    return ENT_OK;
}

static int parse_target(const word *w, ent_rule *r, char *err, size_t cap) {
    const char *dot = memchr(w->p, '.', w->n);
    size_t tl = dot != NULL ? (size_t)(dot - w->p) : w->n;
    char type[ENT_POLICY_KEY_MAX + 1];
    if (!copy_word(type, sizeof(type), w->p, tl))
        return fail(err, cap, "target type too long");
    if (strcmp(type, "*") == 0)
        type[0] = '\0';
    else if (!ent_policy_key_valid(type) || strchr(type, '-') != NULL)
        return fail(err, cap,
                    "target '%.*s': want *, TYPE, TYPE.FIELD or "
                    "*.FIELD",
                    (int)w->n, w->p);
    strcpy(r->type, type);
    if (dot != NULL) {
        if (!copy_word(r->field, sizeof(r->field), dot + 1, w->n - tl - 1) ||
            !field_valid(r->field))
            return fail(err, cap,
                        "target field '%.*s': want "
                        "[a-z][a-z0-9_]{0,63}",
                        (int)(w->n - tl - 1), dot + 1);
    }
    return ENT_OK;
}

static int parse_cond(const word *w, ent_cond *c, char *err, size_t cap) {
    const char *eq = memchr(w->p, '=', w->n);
    if (eq == NULL || eq == w->p)
        return fail(err, cap,
                    "condition '%.*s': want FIELD=VALUE, "
                    "FIELD!=VALUE or FIELD=$user[.KEY]",
                    (int)w->n, w->p);
    size_t ll = (size_t)(eq - w->p);
    c->negate = eq[-1] == '!';
    if (c->negate)
        ll--;
    if (!copy_word(c->field, sizeof(c->field), w->p, ll) ||
        !field_valid(c->field))
        return fail(err, cap, "condition '%.*s': bad field name", (int)w->n,
                    w->p);
    const char *v = eq + 1;
    size_t vl = w->n - (size_t)(v - w->p);
    char val[ENT_POLICY_VALUE_MAX + 8];
    if (!copy_word(val, sizeof(val), v, vl))
        return fail(err, cap, "condition '%.*s': value too long", (int)w->n,
                    w->p);
    if (strcmp(val, "$user") == 0) {
        c->rhs = ENT_RHS_USER;
    } else if (strcmp(val, "$user.role") == 0) {
        c->rhs = ENT_RHS_ROLE;
    } else if (strncmp(val, "$user.", 6) == 0) {
        if (!ent_policy_key_valid(val + 6))
            return fail(err, cap, "condition '%.*s': bad attribute name",
                        (int)w->n, w->p);
        c->rhs = ENT_RHS_ATTR;
        strcpy(c->value, val + 6);
    } else {
        if (!ent_policy_value_valid(val))
            return fail(err, cap,
                        "condition '%.*s': a value is 1 to 64 of "
                        "A-Z a-z 0-9 _ . : @ / + -, or $user[.KEY]",
                        (int)w->n, w->p);
        c->rhs = ENT_RHS_VALUE;
        strcpy(c->value, val);
    }
    if (strcmp(c->field, "creator") == 0 && c->rhs == ENT_RHS_VALUE &&
        !ent_policy_user_valid(c->value))
        return fail(err, cap, "condition '%.*s': creator is a user name",
                    (int)w->n, w->p);
    return ENT_OK;
}

int ent_rule_parse(const char *text, size_t len, ent_rule *out, char *err,
                   size_t errcap) {
    word w[MAX_WORDS];
    size_t nw = 0;
    ent_rule r;
    int rc = ENT_OK;
    memset(out, 0, sizeof(*out));
    memset(&r, 0, sizeof(r));
    if (errcap > 0)
        err[0] = '\0';
    if (text == NULL || len > ENT_POLICY_TEXT_MAX)
        return fail(err, errcap, "a rule is at most %d bytes",
                    ENT_POLICY_TEXT_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == ' ' || ch == '\t')
            continue;
        if (ch < 0x21 || ch > 0x7e)
            return fail(err, errcap,
                        "a rule is printable ASCII (byte %zu is 0x%02x)", i,
                        ch);
        if (i > 0 && text[i - 1] != ' ' && text[i - 1] != '\t')
            continue;
        if (nw == MAX_WORDS)
            return fail(err, errcap, "too many words (at most %d conditions)",
                        ENT_POLICY_MAX_CONDS);
        size_t j = i;
        while (j < len && text[j] != ' ' && text[j] != '\t')
            j++;
        w[nw++] = (word){text + i, j - i};
    }
    if (nw < 4)
        return fail(err, errcap,
                    "want: allow|deny SUBJECT ACTIONS TARGET [where COND "
                    "[and COND]...]");
    if (word_is(&w[0], "allow"))
        r.deny = false;
    else if (word_is(&w[0], "deny"))
        r.deny = true;
    else
        return fail(err, errcap, "a rule starts with allow or deny, not '%.*s'",
                    (int)(w[0].n > 32 ? 32 : w[0].n), w[0].p);
    if ((rc = parse_subject(&w[1], &r, err, errcap)) != ENT_OK)
        return rc;
    char acts[ENT_POLICY_TEXT_MAX + 1];
    memcpy(acts, w[2].p, w[2].n);
    acts[w[2].n] = '\0';
    if (ent_action_list_parse(acts, &r.actions) != ENT_OK)
        return fail(err, errcap,
                    "actions '%.*s': want * or a list of read, create, "
                    "change, comment, invite, approve, remove_member, join, "
                    "export, log, configure, manage, metrics (no repeats)",
                    (int)(w[2].n > 64 ? 64 : w[2].n), w[2].p);
    if ((rc = parse_target(&w[3], &r, err, errcap)) != ENT_OK)
        return rc;
    if (r.field[0] != '\0' &&
        (r.actions &
         ~(uint32_t)(ENT_ACT_READ | ENT_ACT_CREATE | ENT_ACT_CHANGE)) != 0 &&
        r.actions != ENT_ACT_ALL)
        return fail(err, errcap,
                    "a field target goes with read, create and "
                    "change only");
    if (nw > 4) {
        if (!word_is(&w[4], "where") || nw == 5)
            return fail(err, errcap,
                        "after the target: where COND [and "
                        "COND]...");
        for (size_t i = 5; i < nw; i++) {
            if ((i - 5) % 2 == 1) {
                if (!word_is(&w[i], "and") || i + 1 == nw)
                    return fail(err, errcap, "conditions are joined by 'and'");
                continue;
            }
            if ((rc = parse_cond(&w[i], &r.conds[r.nconds], err, errcap)) !=
                ENT_OK)
                return rc;
            r.nconds++;
        }
    }
    *out = r;
    return ENT_OK;
}

int ent_rule_format(const ent_rule *r, char *out, size_t cap) {
    size_t o = 0;
    int w;
    char acts[256];
#define PUT(...)                                                               \
    do {                                                                       \
        w = snprintf(out + o, cap - o, __VA_ARGS__);                           \
        if (w < 0 || (size_t)w >= cap - o)                                     \
            return ENT_ETOOBIG;                                                \
        o += (size_t)w;                                                        \
    } while (0)
    if (cap == 0)
        return ENT_ETOOBIG;
    PUT("%s ", r->deny ? "deny" : "allow");
    if (r->nsubj == 0)
        PUT("*");
    for (size_t i = 0; i < r->nsubj; i++)
        PUT("%s%s=%s", i ? "," : "", r->subj_key[i], r->subj_val[i]);
    if (ent_action_list_format(r->actions, acts, sizeof(acts)) != ENT_OK)
        return ENT_ETOOBIG;
    PUT(" %s %s", acts, r->type[0] ? r->type : "*");
    if (r->field[0])
        PUT(".%s", r->field);
    for (size_t i = 0; i < r->nconds; i++) {
        const ent_cond *c = &r->conds[i];
        PUT(" %s %s%s", i ? "and" : "where", c->field, c->negate ? "!=" : "=");
        switch (c->rhs) {
        case ENT_RHS_USER:
            PUT("$user");
            break;
        case ENT_RHS_ROLE:
            PUT("$user.role");
            break;
        case ENT_RHS_ATTR:
            PUT("$user.%s", c->value);
            break;
        default:
            PUT("%s", c->value);
            break;
        }
    }
#undef PUT
    return ENT_OK;
}

/* ---- decision ----------------------------------------------------------- */

const char *ent_principal_attr(const ent_principal *p, const char *key) {
    for (size_t i = 0; i < p->nattrs && i < ENT_POLICY_MAX_ATTRS; i++)
        if (strcmp(p->attr_key[i], key) == 0)
            return p->attr_val[i];
    return NULL;
}

void ent_principal_operator(ent_principal *p) {
    memset(p, 0, sizeof(*p));
    p->kind = ENT_PRINCIPAL_OPERATOR;
    p->scopes = ENT_ACT_ALL;
}

const char *ent_decision_why_name(ent_decision_why why) {
    switch (why) {
    case ENT_WHY_OPERATOR:
        return "operator";
    case ENT_WHY_RULE:
        return "rule";
    case ENT_WHY_ADMIN:
        return "admin";
    case ENT_WHY_DEFAULT:
        return "default";
    case ENT_WHY_SCOPE:
        return "scope";
    }
    return "?";
}

/* A field's value as text: strings as they are, integers in decimal, money
 * as its amount; NULL for anything else or an absent field. */
static const char *state_text(const json_t *state, const char *field, char *buf,
                              size_t cap) {
    if (state == NULL)
        return NULL;
    const json_t *v = json_object_get(json_object_get(state, "shared"), field);
    if (v == NULL)
        v = json_object_get(json_object_get(state, "private"), field);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    if (json_is_object(v) && json_is_string(json_object_get(v, "amount")))
        return json_string_value(json_object_get(v, "amount"));
    return NULL;
}

static bool cond_holds(const ent_cond *c, const ent_principal *p,
                       const ent_access_req *req) {
    char buf[32];
    const char *lhs = strcmp(c->field, "creator") == 0
                          ? req->creator
                          : state_text(req->state, c->field, buf, sizeof(buf));
    const char *rhs = NULL;
    switch (c->rhs) {
    case ENT_RHS_VALUE:
        rhs = c->value;
        break;
    case ENT_RHS_USER:
        rhs = p->kind == ENT_PRINCIPAL_USER ? p->user : NULL;
        break;
    case ENT_RHS_ROLE:
        rhs = p->role[0] ? p->role : NULL;
        break;
    case ENT_RHS_ATTR:
        rhs = ent_principal_attr(p, c->value);
        break;
    }
    if (lhs == NULL || rhs == NULL || lhs[0] == '\0' || rhs[0] == '\0')
        return false; /* an absent value satisfies neither = nor != */
    bool eq = strcasecmp(lhs, rhs) == 0;
    return c->negate ? !eq : eq;
}

static bool subject_matches(const ent_rule *r, const ent_principal *p) {
    for (size_t i = 0; i < r->nsubj; i++) {
        const char *have = strcmp(r->subj_key[i], "role") == 0 ? p->role
                           : strcmp(r->subj_key[i], "user") == 0
                               ? p->user
                               : ent_principal_attr(p, r->subj_key[i]);
        if (have == NULL || have[0] == '\0' ||
            strcasecmp(have, r->subj_val[i]) != 0)
            return false;
    }
    return true;
}

bool ent_rule_matches(const ent_rule *r, const ent_principal *p,
                      const ent_access_req *req) {
    if ((r->actions & req->action) == 0)
        return false;
    if (r->type[0] != '\0' &&
        (req->type == NULL || strcmp(r->type, req->type) != 0))
        return false;
    if (r->field[0] != '\0' &&
        (req->field == NULL || strcmp(r->field, req->field) != 0))
        return false;
    if (!subject_matches(r, p))
        return false;
    for (size_t i = 0; i < r->nconds; i++)
        if (!cond_holds(&r->conds[i], p, req))
            return false;
    return true;
}

void ent_policy_decide(const ent_rule *rules, size_t n, const ent_principal *p,
                       const ent_access_req *req, ent_decision *out) {
    const ent_rule *allow = NULL;
    memset(out, 0, sizeof(*out));
    if (p->kind == ENT_PRINCIPAL_OPERATOR) {
        out->allow = true;
        out->why = ENT_WHY_OPERATOR;
        return;
    }
    if (p->kind != ENT_PRINCIPAL_USER || (p->scopes & req->action) == 0) {
        out->why = ENT_WHY_SCOPE; /* nobody (ENT_PRINCIPAL_NONE): nothing */
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!ent_rule_matches(&rules[i], p, req))
            continue;
        if (rules[i].deny) {
            out->allow = false;
            out->why = ENT_WHY_RULE;
            out->rule = rules[i].id;
            return;
        }
        if (allow == NULL)
            allow = &rules[i];
    }
    if (allow != NULL) {
        out->allow = true;
        out->why = ENT_WHY_RULE;
        out->rule = allow->id;
    } else if (strcmp(p->role, "admin") == 0) {
        out->allow = true;
        out->why = ENT_WHY_ADMIN;
    } else {
        out->why = ENT_WHY_DEFAULT;
    }
}

bool ent_policy_allows_all(const ent_rule *rules, size_t n,
                           const ent_principal *p, uint32_t action) {
    if (p->kind == ENT_PRINCIPAL_OPERATOR)
        return true;
    if (p->kind != ENT_PRINCIPAL_USER || (p->scopes & action) == 0 ||
        strcmp(p->role, "admin") != 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (rules[i].deny && (rules[i].actions & action) != 0 &&
            subject_matches(&rules[i], p))
            return false;
    return true;
}
