/*
 * policy.h - the access-policy language of a node (spec/access.md): one
 * rule per line of compact text, parsed into an ent_rule, and the pure
 * decision over a list of rules for one principal and one request.
 *
 *   deny role=rep read opportunity.deal_size
 *   allow role=rep read,change opportunity where region=$user.region
 *   allow role=rep * opportunity where creator=$user
 *
 * Nothing here touches the store or the network: node/access/access.c keeps
 * the rules in LMDB and builds the requests; tests/fuzz/fuzz_policy.c drives
 * the parser, tests/access_test.c the decision table.
 */
#ifndef ENT_POLICY_H
#define ENT_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENT_POLICY_TEXT_MAX 1024 /* bytes of one rule's text */
#define ENT_POLICY_KEY_MAX 32    /* attribute key, role, type */
#define ENT_POLICY_VALUE_MAX 64  /* attribute value, user name, field name */
#define ENT_POLICY_UID_HEX 16    /* a user's id: 8 random bytes in hex */
#define ENT_POLICY_MAX_SUBJ 8    /* key=value pairs in a subject */
#define ENT_POLICY_MAX_CONDS 8   /* conditions after "where" */
#define ENT_POLICY_MAX_ATTRS 16  /* attributes of one user */
#define ENT_POLICY_MAX_RULES 1024

/* What a request does. Bits, so that a rule and a token scope can name
 * several; the names are those of spec/access.md. */
typedef enum ent_action {
    ENT_ACT_READ = 1u << 0,
    ENT_ACT_CREATE = 1u << 1,
    ENT_ACT_CHANGE = 1u << 2,
    ENT_ACT_COMMENT = 1u << 3,
    ENT_ACT_INVITE = 1u << 4,
    ENT_ACT_APPROVE = 1u << 5,
    ENT_ACT_REMOVE_MEMBER = 1u << 6,
    ENT_ACT_JOIN = 1u << 7,
    ENT_ACT_EXPORT = 1u << 8,
    ENT_ACT_LOG = 1u << 9,
    ENT_ACT_CONFIGURE = 1u << 10,
    ENT_ACT_MANAGE = 1u << 11,
    ENT_ACT_METRICS = 1u << 12, /* GET /metrics (spec/access.md) */
} ent_action;

#define ENT_ACT_ALL 0x1fffu
#define ENT_ACT_LAST ENT_ACT_METRICS /* the highest bit */

/* The name of one action bit ("read"), NULL for anything else. */
const char *ent_action_name(uint32_t action);

/* The bit of an action name, 0 when unknown. */
uint32_t ent_action_parse(const char *name, size_t len);

/*
 * Parses a comma-separated list of action names, or "*" (every action),
 * into a mask. @return ENT_OK or ENT_EINVAL (empty, unknown name, repeated
 * name).
 */
int ent_action_list_parse(const char *s, uint32_t *mask);

/* Writes the mask as "read,change" (or "*") into out. @return ENT_OK or
 * ENT_ETOOBIG. */
int ent_action_list_format(uint32_t mask, char *out, size_t cap);

/* Who makes a request. */
typedef enum ent_principal_kind {
    ENT_PRINCIPAL_OPERATOR = 0, /* the local socket without credentials */
    ENT_PRINCIPAL_USER = 1,     /* a user, through one of its tokens */
    ENT_PRINCIPAL_NONE = 2,     /* nobody yet: TCP without credentials
                                   (POST /v1/login only); every decision
                                   denies */
} ent_principal_kind;

/*
 * The caller of one API request: the operator (every right), or a user with
 * its role, attributes and the scopes of the token it used. Plain data,
 * copied freely.
 */
typedef struct ent_principal {
    ent_principal_kind kind;
    char user[ENT_POLICY_VALUE_MAX + 1];
    char role[ENT_POLICY_KEY_MAX + 1];
    size_t nattrs;
    char attr_key[ENT_POLICY_MAX_ATTRS][ENT_POLICY_KEY_MAX + 1];
    char attr_val[ENT_POLICY_MAX_ATTRS][ENT_POLICY_VALUE_MAX + 1];
    uint32_t scopes; /* ENT_ACT_* the token allows; ENT_ACT_ALL */
    char token[17];  /* the token's id in hex, "" for the operator */
    bool session;    /* authenticated by a session cookie (TCP API) */
    /* the user record's never-reused id (spec/access.md §2), 16 lowercase
     * hex; "" for the operator and for a user added before users had ids */
    char uid[ENT_POLICY_UID_HEX + 1];
} ent_principal;

/* The value of attribute key of p, or NULL. */
const char *ent_principal_attr(const ent_principal *p, const char *key);

/* Sets p to the operator. */
void ent_principal_operator(ent_principal *p);

/* One condition after "where": LHS (=|!=) RHS. */
typedef enum ent_cond_rhs {
    ENT_RHS_VALUE = 0, /* a literal */
    ENT_RHS_USER,      /* $user: the user's name */
    ENT_RHS_ROLE,      /* $user.role */
    ENT_RHS_ATTR,      /* $user.KEY: an attribute */
} ent_cond_rhs;

typedef struct ent_cond {
    char field[ENT_POLICY_VALUE_MAX + 1]; /* an object field, or "creator" */
    bool negate;                          /* != */
    ent_cond_rhs rhs;
    char value[ENT_POLICY_VALUE_MAX + 1]; /* literal, or the attribute key */
} ent_cond;

/* One parsed rule. */
typedef struct ent_rule {
    uint32_t id; /* set by the store; 0 while parsing */
    bool deny;
    size_t nsubj; /* 0: "*" (every user) */
    char subj_key[ENT_POLICY_MAX_SUBJ][ENT_POLICY_KEY_MAX + 1];
    char subj_val[ENT_POLICY_MAX_SUBJ][ENT_POLICY_VALUE_MAX + 1];
    uint32_t actions;                     /* ENT_ACT_* mask */
    char type[ENT_POLICY_KEY_MAX + 1];    /* "" : "*" (any type, or none) */
    char field[ENT_POLICY_VALUE_MAX + 1]; /* "" : the whole object */
    size_t nconds;
    ent_cond conds[ENT_POLICY_MAX_CONDS];
} ent_rule;

/*
 * Parses one rule from text (len bytes, need not be NUL-terminated; at most
 * ENT_POLICY_TEXT_MAX). On failure writes the reason to err (errcap bytes,
 * may be 0) and leaves *out zeroed. @return ENT_OK or ENT_EINVAL.
 */
int ent_rule_parse(const char *text, size_t len, ent_rule *out, char *err,
                   size_t errcap);

/*
 * Writes the canonical text of r into out (single spaces, actions in bit
 * order): parsing it gives r again. @return ENT_OK or ENT_ETOOBIG.
 */
int ent_rule_format(const ent_rule *r, char *out, size_t cap);

/* What a request asks for, as the decision sees it. */
typedef struct ent_access_req {
    uint32_t action;     /* exactly one ENT_ACT_* bit */
    const char *type;    /* object type, NULL for a request on no object */
    const char *field;   /* NULL: the object as a whole */
    const json_t *state; /* {"shared":{..},"private":{..}} or NULL */
    const char *creator; /* the local user that created the object, or NULL */
} ent_access_req;

/* Why a decision went the way it did. */
typedef enum ent_decision_why {
    ENT_WHY_OPERATOR = 0, /* the operator may do anything */
    ENT_WHY_RULE,         /* rule decided it */
    ENT_WHY_ADMIN,        /* role admin, no deny matched */
    ENT_WHY_DEFAULT,      /* no rule matched: default deny */
    ENT_WHY_SCOPE,        /* the token's scopes do not include the action */
} ent_decision_why;

typedef struct ent_decision {
    bool allow;
    ent_decision_why why;
    uint32_t rule; /* the deciding rule's id when why is ENT_WHY_RULE */
} ent_decision;

/* "operator", "rule", "admin", "default", "scope". */
const char *ent_decision_why_name(ent_decision_why why);

/*
 * Decides req for p over rules[0..n) (in evaluation order: the first
 * matching deny decides, else the first matching allow, else admin / the
 * default; spec/access.md "Evaluation").
 */
void ent_policy_decide(const ent_rule *rules, size_t n, const ent_principal *p,
                       const ent_access_req *req, ent_decision *out);

/*
 * Whether ent_policy_decide allows action to p on every object and field,
 * whatever the type and values: p is the operator, or an admin user with
 * action in its scopes that no deny rule for action names as its subject
 * (conditions, types and fields are not looked at: a deny rule that could
 * apply is enough to say false). Lets a list skip reading each object's
 * state to decide (node/api/api_access.c).
 */
bool ent_policy_allows_all(const ent_rule *rules, size_t n,
                           const ent_principal *p, uint32_t action);

/* Whether rule r matches p and req (ignoring allow/deny). */
bool ent_rule_matches(const ent_rule *r, const ent_principal *p,
                      const ent_access_req *req);

/* Name checks shared with node/access/access.c: user names
 * [a-z0-9][a-z0-9._-]{0,63}, keys (roles, attributes, types)
 * [a-z][a-z0-9_-]{0,31}, values [A-Za-z0-9_.:@/+-]{1,64}. */
bool ent_policy_user_valid(const char *s);
bool ent_policy_key_valid(const char *s);
bool ent_policy_value_valid(const char *s);

#endif
