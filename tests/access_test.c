/* access_test.c - node/access: the rule parser, the policy decision table
 * (users x requests x expected decisions), passwords (hash, verify,
 * strength, lockout) and API tokens (hash only, expiry, revocation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "node/access/access.h"
#include "node/access/policy.h"
#include "node/err.h"
#include "storage/store.h"

/* ---- the parser ------------------------------------------------------- */

static void parse_ok(const char *text, const char *canon) {
    ent_rule r, r2;
    char err[256], out[2048], out2[2048];
    if (ent_rule_parse(text, strlen(text), &r, err, sizeof(err)) != ENT_OK)
        fail_msg("refused '%s': %s", text, err);
    assert_int_equal(ent_rule_format(&r, out, sizeof(out)), ENT_OK);
    if (strcmp(out, canon) != 0)
        fail_msg("'%s' printed as '%s', want '%s'", text, out, canon);
    assert_int_equal(ent_rule_parse(out, strlen(out), &r2, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_rule_format(&r2, out2, sizeof(out2)), ENT_OK);
    assert_string_equal(out, out2);
}

static void parse_bad(const char *text, const char *why) {
    ent_rule r;
    char err[256] = "";
    if (ent_rule_parse(text, strlen(text), &r, err, sizeof(err)) == ENT_OK)
        fail_msg("accepted '%s'", text);
    if (strstr(err, why) == NULL)
        fail_msg("'%s': reason '%s' lacks '%s'", text, err, why);
}

static void test_parse(void **state) {
    (void)state;
    parse_ok("deny role=rep read opportunity.deal_size",
             "deny role=rep read opportunity.deal_size");
    parse_ok("  allow\trole=rep   change,read opportunity where "
             "region=$user.region  ",
             "allow role=rep read,change opportunity where "
             "region=$user.region");
    parse_ok("allow * * *", "allow * * *");
    parse_ok("allow role=rep read,create,change,comment,invite,approve,"
             "remove_member,join,export,log,configure,manage,metrics *",
             "allow role=rep * *");
    parse_ok("allow role=rep,region=EMEA read *.name where creator=$user and "
             "stage!=Closed and owner_team=$user.team and x=$user.role and "
             "y=$user",
             "allow role=rep,region=EMEA read *.name where creator=$user and "
             "stage!=Closed and owner_team=$user.team and x=$user.role and "
             "y=$user");
    parse_ok("deny user=bob.smith export *", "deny user=bob.smith export *");
    parse_bad("", "want: allow|deny");
    parse_bad("permit * read *", "starts with allow or deny");
    parse_bad("allow role read *", "want * or KEY=VALUE");
    parse_bad("allow role=Rep read *", "bad value");
    parse_bad("allow role=rep,role=x read *", "given twice");
    parse_bad("allow role=rep fly *", "actions 'fly'");
    parse_bad("allow role=rep read,read *", "no repeats");
    parse_bad("allow role=rep read Opportunity", "target");
    parse_bad("allow role=rep read opportunity.", "target field");
    parse_bad("allow role=rep invite opportunity.name", "field target");
    parse_bad("allow role=rep read * when x=1", "where COND");
    parse_bad("allow role=rep read * where", "where COND");
    parse_bad("allow role=rep read * where x=1 or y=2", "joined by 'and'");
    parse_bad("allow role=rep read * where x=1 and", "joined by 'and'");
    parse_bad("allow role=rep read * where x", "want FIELD=VALUE");
    parse_bad("allow role=rep read * where x=", "a value is");
    parse_bad("allow role=rep read * where x=a b", "joined by 'and'");
    parse_bad("allow role=rep read * where x=$user.", "bad attribute");
    parse_bad("allow role=rep read * where x=$other", "a value is");
    parse_bad("allow role=rep read * where creator=Bob", "creator is a user");
    parse_bad("allow role=rep read * where Region=x", "bad field name");
    parse_bad("allow role=rép read *", "printable ASCII");
    parse_bad("allow role=rep read *\n", "printable ASCII");
    char big[2000];
    memset(big, 'a', sizeof(big));
    big[sizeof(big) - 1] = '\0';
    parse_bad(big, "at most 1024 bytes");
    /* more than 8 conditions */
    parse_bad("allow * read * where a=1 and b=1 and c=1 and d=1 and e=1 and "
              "f=1 and g=1 and h=1 and i=1",
              "too many words");
}

static void test_actions(void **state) {
    uint32_t m;
    char out[256];
    (void)state;
    assert_int_equal(ent_action_list_parse("read,log", &m), ENT_OK);
    assert_int_equal(m, ENT_ACT_READ | ENT_ACT_LOG);
    assert_int_equal(ent_action_list_format(m, out, sizeof(out)), ENT_OK);
    assert_string_equal(out, "read,log");
    assert_int_equal(ent_action_list_parse("*", &m), ENT_OK);
    assert_int_equal(m, ENT_ACT_ALL);
    assert_int_equal(ent_action_list_parse("", &m), ENT_EINVAL);
    assert_int_equal(ent_action_list_parse("read,", &m), ENT_EINVAL);
    assert_int_equal(ent_action_list_parse("reads", &m), ENT_EINVAL);
    assert_string_equal(ent_action_name(ENT_ACT_REMOVE_MEMBER),
                        "remove_member");
    assert_null(ent_action_name(ENT_ACT_READ | ENT_ACT_LOG));
}

/* ---- the decision table ----------------------------------------------- */

static const char *const table_rules[] = {
    /* 1 */ "allow role=rep read,create,change,comment opportunity where "
            "region=$user.region",
    /* 2 */ "deny role=rep read,change opportunity.deal_size",
    /* 3 */ "allow role=rep * opportunity where creator=$user",
    /* 4 */ "allow role=finance read opportunity",
    /* 5 */ "allow role=manager invite,remove_member opportunity",
    /* 6 */ "allow role=auditor export,log *",
    /* 7 */ "deny team=interns export *",
    /* 8 */ "deny role=admin read lead.secret",
    /* 9 */ "allow user=carol read lead where stage!=Closed",
    /* 10 */ "allow role=viewer read * where public=yes",
    /* 11 */ "deny region=APAC change opportunity where stage=Closed",
};

enum {
    OPERATOR,
    ALICE,
    BOB,
    DAVE,
    FIONA,
    MARK,
    AUDREY,
    IAN,
    ADA,
    CAROL,
    VIC,
    ALICE_READ,
    ADA_READ,
    NPRINC
};

static void principals(ent_principal p[NPRINC]) {
    static const struct {
        const char *user, *role, *k1, *v1, *k2, *v2;
        uint32_t scopes;
    } d[NPRINC] = {
        [ALICE] = {"alice", "rep", "region", "EMEA", NULL, NULL, ENT_ACT_ALL},
        [BOB] = {"bob", "rep", "region", "APAC", NULL, NULL, ENT_ACT_ALL},
        [DAVE] = {"dave", "rep", NULL, NULL, NULL, NULL, ENT_ACT_ALL},
        [FIONA] = {"fiona", "finance", NULL, NULL, NULL, NULL, ENT_ACT_ALL},
        [MARK] = {"mark", "manager", NULL, NULL, NULL, NULL, ENT_ACT_ALL},
        [AUDREY] = {"audrey", "auditor", NULL, NULL, NULL, NULL, ENT_ACT_ALL},
        [IAN] = {"ian", "auditor", "team", "interns", NULL, NULL, ENT_ACT_ALL},
        [ADA] = {"ada", "admin", NULL, NULL, NULL, NULL, ENT_ACT_ALL},
        [CAROL] = {"carol", "sales", "region", "EMEA", NULL, NULL, ENT_ACT_ALL},
        [VIC] = {"vic", "viewer", NULL, NULL, NULL, NULL, ENT_ACT_ALL},
        [ALICE_READ] = {"alice", "rep", "region", "EMEA", "team", "north",
                        ENT_ACT_READ},
        [ADA_READ] = {"ada", "admin", NULL, NULL, NULL, NULL, ENT_ACT_READ},
    };
    ent_principal_operator(&p[OPERATOR]);
    for (int i = 1; i < NPRINC; i++) {
        memset(&p[i], 0, sizeof(p[i]));
        p[i].kind = ENT_PRINCIPAL_USER;
        strcpy(p[i].user, d[i].user);
        strcpy(p[i].role, d[i].role);
        p[i].scopes = d[i].scopes;
        if (d[i].k1 != NULL) {
            strcpy(p[i].attr_key[0], d[i].k1);
            strcpy(p[i].attr_val[0], d[i].v1);
            p[i].nattrs = 1;
        }
        if (d[i].k2 != NULL) {
            strcpy(p[i].attr_key[1], d[i].k2);
            strcpy(p[i].attr_val[1], d[i].v2);
            p[i].nattrs = 2;
        }
    }
}

/* Object states the conditions look at. */
#define EMEA                                                                   \
    "{\"shared\":{\"region\":\"EMEA\",\"stage\":\"Open\",\"name\":\"x\"},"     \
    "\"private\":{\"deal_size\":{\"amount\":\"1200000.00\","                   \
    "\"currency\":\"EUR\",\"minor\":120000000}}}"
#define EMEA_LOWER "{\"shared\":{\"region\":\"emea\"}}"
#define APAC "{\"shared\":{\"region\":\"APAC\"}}"
#define APAC_CLOSED "{\"shared\":{\"region\":\"APAC\",\"stage\":\"Closed\"}}"
#define NONE "{\"shared\":{}}"
#define PUB "{\"shared\":{\"public\":\"yes\"}}"
#define LEAD_OPEN "{\"shared\":{\"stage\":\"Open\",\"secret\":\"s\"}}"
#define LEAD_CLOSED "{\"shared\":{\"stage\":\"Closed\"}}"
#define PRIV_REGION "{\"shared\":{},\"private\":{\"region\":\"EMEA\"}}"

typedef struct row {
    int who;
    uint32_t action;
    const char *type, *field, *state, *creator;
    bool allow;
    ent_decision_why why;
    uint32_t rule;
} row;

#define R ENT_ACT_READ
#define C ENT_ACT_CREATE
#define W ENT_ACT_CHANGE
#define ALLOW true
#define DENY false
#define RULE ENT_WHY_RULE
#define DEF ENT_WHY_DEFAULT
#define ADM ENT_WHY_ADMIN
#define OPR ENT_WHY_OPERATOR
#define SCO ENT_WHY_SCOPE

static const row table[] = {
    /* attribute match: a rep sees the objects of its region */
    {ALICE, R, "opportunity", NULL, EMEA, NULL, ALLOW, RULE, 1},
    {ALICE, R, "opportunity", "name", EMEA, NULL, ALLOW, RULE, 1},
    {ALICE, W, "opportunity", "name", EMEA, NULL, ALLOW, RULE, 1},
    {ALICE, ENT_ACT_COMMENT, "opportunity", NULL, EMEA, NULL, ALLOW, RULE, 1},
    {ALICE, R, "opportunity", NULL, EMEA_LOWER, NULL, ALLOW, RULE, 1},
    {ALICE, R, "opportunity", NULL, PRIV_REGION, NULL, ALLOW, RULE, 1},
    {BOB, R, "opportunity", NULL, APAC, NULL, ALLOW, RULE, 1},
    /* field level: deny wins over the object-level allow */
    {ALICE, R, "opportunity", "deal_size", EMEA, NULL, DENY, RULE, 2},
    {ALICE, W, "opportunity", "deal_size", EMEA, NULL, DENY, RULE, 2},
    {ALICE, C, "opportunity", "deal_size", EMEA, "alice", ALLOW, RULE, 1},
    /* default deny: another region, no attribute, no value, other type */
    {ALICE, R, "opportunity", NULL, APAC, NULL, DENY, DEF, 0},
    {ALICE, R, "opportunity", NULL, NONE, NULL, DENY, DEF, 0},
    {ALICE, R, "opportunity", NULL, NULL, NULL, DENY, DEF, 0},
    {ALICE, R, "lead", NULL, EMEA, NULL, DENY, DEF, 0},
    {ALICE, ENT_ACT_INVITE, "opportunity", NULL, EMEA, NULL, DENY, DEF, 0},
    {DAVE, R, "opportunity", NULL, EMEA, NULL, DENY, DEF, 0},
    {ALICE, ENT_ACT_MANAGE, NULL, NULL, NULL, NULL, DENY, DEF, 0},
    /* ownership: what the user created, even in another region */
    {ALICE, R, "opportunity", NULL, APAC, "alice", ALLOW, RULE, 3},
    {ALICE, ENT_ACT_INVITE, "opportunity", NULL, APAC, "alice", ALLOW, RULE, 3},
    {ALICE, C, "opportunity", NULL, APAC, "alice", ALLOW, RULE, 3},
    {ALICE, R, "opportunity", NULL, APAC, "bob", DENY, DEF, 0},
    {ALICE, R, "opportunity", "deal_size", APAC, "alice", DENY, RULE, 2},
    {ALICE, C, "opportunity", NULL, EMEA, "alice", ALLOW, RULE, 1},
    /* a deny on a user attribute, with a condition */
    {BOB, W, "opportunity", NULL, APAC_CLOSED, NULL, DENY, RULE, 11},
    {BOB, W, "opportunity", "name", APAC_CLOSED, NULL, DENY, RULE, 11},
    {BOB, R, "opportunity", NULL, APAC_CLOSED, NULL, ALLOW, RULE, 1},
    {BOB, W, "opportunity", NULL, APAC, NULL, ALLOW, RULE, 1},
    /* finance sees deal_size, changes nothing */
    {FIONA, R, "opportunity", NULL, EMEA, NULL, ALLOW, RULE, 4},
    {FIONA, R, "opportunity", "deal_size", EMEA, NULL, ALLOW, RULE, 4},
    {FIONA, W, "opportunity", "deal_size", EMEA, NULL, DENY, DEF, 0},
    {FIONA, R, "lead", NULL, LEAD_OPEN, NULL, DENY, DEF, 0},
    /* who may invite and remove members */
    {MARK, ENT_ACT_INVITE, "opportunity", NULL, EMEA, NULL, ALLOW, RULE, 5},
    {MARK, ENT_ACT_REMOVE_MEMBER, "opportunity", NULL, APAC, NULL, ALLOW, RULE,
     5},
    {MARK, R, "opportunity", NULL, EMEA, NULL, DENY, DEF, 0},
    {MARK, ENT_ACT_APPROVE, "opportunity", NULL, EMEA, NULL, DENY, DEF, 0},
    /* who may export the audit log */
    {AUDREY, ENT_ACT_EXPORT, NULL, NULL, NULL, NULL, ALLOW, RULE, 6},
    {AUDREY, ENT_ACT_LOG, NULL, NULL, NULL, NULL, ALLOW, RULE, 6},
    {AUDREY, R, "opportunity", NULL, EMEA, NULL, DENY, DEF, 0},
    {IAN, ENT_ACT_EXPORT, NULL, NULL, NULL, NULL, DENY, RULE, 7},
    {IAN, ENT_ACT_LOG, NULL, NULL, NULL, NULL, ALLOW, RULE, 6},
    /* admin: everything but an explicit deny */
    {ADA, R, "opportunity", "deal_size", EMEA, NULL, ALLOW, ADM, 0},
    {ADA, ENT_ACT_MANAGE, NULL, NULL, NULL, NULL, ALLOW, ADM, 0},
    {ADA, R, "lead", "secret", LEAD_OPEN, NULL, DENY, RULE, 8},
    {ADA, R, "lead", NULL, LEAD_OPEN, NULL, ALLOW, ADM, 0},
    /* user= subject, != condition, absent values */
    {CAROL, R, "lead", NULL, LEAD_OPEN, NULL, ALLOW, RULE, 9},
    {CAROL, R, "lead", NULL, LEAD_CLOSED, NULL, DENY, DEF, 0},
    {CAROL, R, "lead", NULL, NONE, NULL, DENY, DEF, 0},
    {CAROL, R, "opportunity", NULL, EMEA, NULL, DENY, DEF, 0},
    /* type * with a condition */
    {VIC, R, "opportunity", NULL, PUB, NULL, ALLOW, RULE, 10},
    {VIC, R, "lead", NULL, PUB, NULL, ALLOW, RULE, 10},
    {VIC, R, "opportunity", NULL, EMEA, NULL, DENY, DEF, 0},
    {VIC, ENT_ACT_EXPORT, NULL, NULL, NULL, NULL, DENY, DEF, 0},
    /* the operator */
    {OPERATOR, R, "opportunity", "deal_size", EMEA, NULL, ALLOW, OPR, 0},
    {OPERATOR, ENT_ACT_MANAGE, NULL, NULL, NULL, NULL, ALLOW, OPR, 0},
    /* token scopes narrow the user's rights */
    {ALICE_READ, W, "opportunity", "name", EMEA, NULL, DENY, SCO, 0},
    {ALICE_READ, R, "opportunity", NULL, EMEA, NULL, ALLOW, RULE, 1},
    {ALICE_READ, R, "opportunity", "deal_size", EMEA, NULL, DENY, RULE, 2},
    {ADA_READ, ENT_ACT_MANAGE, NULL, NULL, NULL, NULL, DENY, SCO, 0},
    {ADA_READ, R, "opportunity", NULL, EMEA, NULL, ALLOW, ADM, 0},
};

static void test_decision_table(void **state) {
    ent_rule rules[sizeof(table_rules) / sizeof(table_rules[0])];
    size_t n = sizeof(table_rules) / sizeof(table_rules[0]);
    ent_principal p[NPRINC];
    char err[256];
    (void)state;
    for (size_t i = 0; i < n; i++) {
        if (ent_rule_parse(table_rules[i], strlen(table_rules[i]), &rules[i],
                           err, sizeof(err)) != ENT_OK)
            fail_msg("rule %zu: %s", i + 1, err);
        rules[i].id = (uint32_t)(i + 1);
    }
    principals(p);
    assert_true(sizeof(table) / sizeof(table[0]) >= 40);
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        const row *t = &table[i];
        json_t *st = t->state != NULL ? json_loads(t->state, 0, NULL) : NULL;
        if (t->state != NULL && st == NULL)
            fail_msg("row %zu: bad state JSON", i);
        ent_access_req req = {t->action, t->type, t->field, st, t->creator};
        ent_decision d;
        ent_policy_decide(rules, n, &p[t->who], &req, &d);
        if (d.allow != t->allow || d.why != t->why || d.rule != t->rule)
            fail_msg("row %zu (%s %s %s.%s): got %s/%s/%u, want %s/%s/%u", i,
                     p[t->who].user, ent_action_name(t->action),
                     t->type ? t->type : "-", t->field ? t->field : "",
                     d.allow ? "allow" : "deny", ent_decision_why_name(d.why),
                     d.rule, t->allow ? "allow" : "deny",
                     ent_decision_why_name(t->why), t->rule);
        json_decref(st);
    }
}

/* Deny wins whatever the order of the rules; the lowest-id deny decides. */
static void test_deny_wins_order(void **state) {
    const char *texts[] = {"allow role=rep read *", "deny role=rep read lead",
                           "deny * read lead", "allow role=rep read lead"};
    ent_rule r[4];
    ent_principal p;
    (void)state;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(
            ent_rule_parse(texts[i], strlen(texts[i]), &r[i], NULL, 0), ENT_OK);
        r[i].id = (uint32_t)(10 - i); /* any ids */
    }
    memset(&p, 0, sizeof(p));
    p.kind = ENT_PRINCIPAL_USER;
    strcpy(p.user, "u");
    strcpy(p.role, "rep");
    p.scopes = ENT_ACT_ALL;
    ent_access_req req = {ENT_ACT_READ, "lead", NULL, NULL, NULL};
    ent_decision d;
    ent_policy_decide(r, 4, &p, &req, &d);
    assert_false(d.allow);
    assert_int_equal(d.rule, 9); /* the first deny in evaluation order */
    req.type = "opportunity";
    ent_policy_decide(r, 4, &p, &req, &d);
    assert_true(d.allow);
    assert_int_equal(d.rule, 10);
    /* no rules: default deny, admin allowed */
    ent_policy_decide(NULL, 0, &p, &req, &d);
    assert_false(d.allow);
    assert_int_equal(d.why, ENT_WHY_DEFAULT);
    strcpy(p.role, "admin");
    ent_policy_decide(NULL, 0, &p, &req, &d);
    assert_true(d.allow);
    assert_int_equal(d.why, ENT_WHY_ADMIN);
    /* allows_all: an admin no deny rule names; never a rep */
    assert_true(ent_policy_allows_all(NULL, 0, &p, ENT_ACT_READ));
    assert_true(ent_policy_allows_all(r, 2, &p, ENT_ACT_READ));  /* rep's */
    assert_false(ent_policy_allows_all(r, 4, &p, ENT_ACT_READ)); /* deny * */
    const char *adeny =
        "deny role=admin read opportunity.deal_size where region=EMEA";
    ent_rule ad;
    assert_int_equal(ent_rule_parse(adeny, strlen(adeny), &ad, NULL, 0),
                     ENT_OK);
    assert_false(ent_policy_allows_all(&ad, 1, &p, ENT_ACT_READ));
    assert_true(ent_policy_allows_all(&ad, 1, &p, ENT_ACT_CHANGE));
    p.scopes = ENT_ACT_CHANGE;
    assert_false(ent_policy_allows_all(NULL, 0, &p, ENT_ACT_READ));
    p.scopes = ENT_ACT_ALL;
    strcpy(p.role, "rep");
    assert_false(ent_policy_allows_all(NULL, 0, &p, ENT_ACT_READ));
    assert_false(ent_policy_allows_all(r, 4, &p, ENT_ACT_READ));
    p.kind = ENT_PRINCIPAL_OPERATOR;
    assert_true(ent_policy_allows_all(&ad, 1, &p, ENT_ACT_READ));
    p.kind = ENT_PRINCIPAL_USER;
    strcpy(p.role, "admin");
}

/* ---- store fixture ----------------------------------------------------- */

struct fixture {
    char dir[64];
    ent_store *store;
    ent_pwhash_cost cost;
};

static int setup(void **state) {
    struct fixture *f = calloc(1, sizeof(*f));
    if (f == NULL || ent_crypto_init() != ENT_OK)
        return -1;
    strcpy(f->dir, "/tmp/ent-access-test.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    if (ent_store_open(&f->store, f->dir, ENT_STORE_CREATE, NULL) != ENT_OK)
        return -1;
    ent_pwhash_cost_min(&f->cost);
    *state = f;
    return 0;
}

static void rm_store(const char *dir) {
    char p[128];
    snprintf(p, sizeof(p), "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

static int teardown(void **state) {
    struct fixture *f = *state;
    ent_store_close(f->store);
    rm_store(f->dir);
    free(f);
    return 0;
}

static int add_user(struct fixture *f, const char *name, const char *role,
                    const char *pw, const char *k, const char *v) {
    const char *keys[1] = {k}, *vals[1] = {v};
    ent_user_spec u = {.name = name,
                       .role = role,
                       .set_keys = keys,
                       .set_vals = vals,
                       .nset = k != NULL ? 1 : 0,
                       .disabled = -1,
                       .password = pw};
    char err[256] = "";
    return ent_access_user_add(f->store, &u, &f->cost, 1000, err, sizeof(err));
}

/* ---- passwords --------------------------------------------------------- */

static void test_pwhash(void **state) {
    struct fixture *f = *state;
    char h1[ENT_PWHASH_STR_LEN], h2[ENT_PWHASH_STR_LEN];
    const char *pw = "Correct-horse-9";
    assert_int_equal(ent_pwhash_str(h1, pw, strlen(pw), &f->cost), ENT_OK);
    assert_int_equal(ent_pwhash_str(h2, pw, strlen(pw), &f->cost), ENT_OK);
    assert_non_null(strstr(h1, "$argon2id$"));
    assert_null(strstr(h1, pw));
    assert_string_not_equal(h1, h2); /* a salt per hash */
    assert_int_equal(ent_pwhash_verify(h1, pw, strlen(pw)), ENT_OK);
    assert_int_equal(ent_pwhash_verify(h1, "Correct-horse-8", 15), ENT_EBADSIG);
    assert_int_equal(ent_pwhash_verify("$2y$10$notargon", pw, strlen(pw)),
                     ENT_EBADSIG);
    ent_pwhash_cost bad = {0, 0};
    assert_int_equal(ent_pwhash_str(h1, pw, strlen(pw), &bad), ENT_EINVAL);
}

static void test_strength(void **state) {
    char err[256];
    (void)state;
    assert_int_equal(
        ent_access_password_strength("alice", "short-1", err, sizeof(err)),
        ENT_EINVAL);
    assert_non_null(strstr(err, "12 to 1024 bytes"));
    assert_int_equal(ent_access_password_strength(
                         "alice", "alllowercaseletters", err, sizeof(err)),
                     ENT_EINVAL);
    assert_non_null(strstr(err, "two kinds"));
    assert_int_equal(
        ent_access_password_strength("alice", "123456789012", err, sizeof(err)),
        ENT_EINVAL);
    assert_int_equal(ent_access_password_strength(
                         "alice.smith12", "ALICE.SMITH12", err, sizeof(err)),
                     ENT_EINVAL);
    assert_non_null(strstr(err, "user name"));
    assert_int_equal(ent_access_password_strength("alice", "lowercase-only",
                                                  err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(ent_access_password_strength("alice", "Mixed CaseWords",
                                                  err, sizeof(err)),
                     ENT_OK);
}

static void test_users(void **state) {
    struct fixture *f = *state;
    json_t *u = NULL;
    char err[256] = "";
    assert_int_equal(
        add_user(f, "alice", "rep", "Secret-pass-123", "region", "EMEA"),
        ENT_OK);
    assert_int_equal(add_user(f, "alice", "rep", NULL, NULL, NULL), ENT_EEXIST);
    assert_int_equal(add_user(f, "Alice", "rep", NULL, NULL, NULL), ENT_EINVAL);
    assert_int_equal(add_user(f, "bob", "Rep", NULL, NULL, NULL), ENT_EINVAL);
    assert_int_equal(add_user(f, "bob", "rep", "weak", NULL, NULL), ENT_EINVAL);
    assert_int_equal(add_user(f, "bob", "rep", NULL, "role", "x"), ENT_EINVAL);
    assert_int_equal(add_user(f, "bob", "rep", NULL, "region", "has space"),
                     ENT_EINVAL);
    assert_int_equal(ent_access_user_json(f->store, "bob", &u), ENT_ENOENT);
    assert_int_equal(ent_access_user_json(f->store, "alice", &u), ENT_OK);
    assert_true(json_is_true(json_object_get(u, "password")));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(u, "attrs"), "region")),
                        "EMEA");
    char *dump = json_dumps(u, 0);
    assert_null(strstr(dump, "argon2"));
    free(dump);
    json_decref(u);
    /* set: role, attributes in and out, disable */
    const char *sk[] = {"team"}, *sv[] = {"north"}, *uk[] = {"region"};
    ent_user_spec s = {.name = "alice",
                       .role = "manager",
                       .set_keys = sk,
                       .set_vals = sv,
                       .nset = 1,
                       .unset_keys = uk,
                       .nunset = 1,
                       .disabled = 1};
    assert_int_equal(
        ent_access_user_set(f->store, &s, &f->cost, err, sizeof(err)), ENT_OK);
    ent_principal p;
    assert_int_equal(ent_access_principal(f->store, "alice", &p), ENT_OK);
    assert_string_equal(p.role, "manager");
    assert_null(ent_principal_attr(&p, "region"));
    assert_string_equal(ent_principal_attr(&p, "team"), "north");
    s = (ent_user_spec){.name = "nobody", .disabled = -1};
    assert_int_equal(
        ent_access_user_set(f->store, &s, &f->cost, err, sizeof(err)),
        ENT_ENOENT);
    assert_int_equal(ent_access_users_json(f->store, &u), ENT_OK);
    assert_int_equal(json_array_size(u), 1);
    json_decref(u);
    assert_int_equal(ent_access_user_remove(f->store, "alice"), ENT_OK);
    assert_int_equal(ent_access_user_remove(f->store, "alice"), ENT_ENOENT);
}

static void test_lockout(void **state) {
    struct fixture *f = *state;
    uint64_t retry = 0, now = 1000000;
    const char *pw = "Secret-pass-123";
    assert_int_equal(add_user(f, "alice", "rep", pw, NULL, NULL), ENT_OK);
    assert_int_equal(add_user(f, "nopw", "rep", NULL, NULL, NULL), ENT_OK);
    assert_int_equal(ent_access_login(f->store, "alice", pw, now, &retry),
                     ENT_OK);
    assert_int_equal(ent_access_login(f->store, "nopw", "", now, &retry),
                     ENT_EPERM);
    /* an unknown user costs the same Argon2id verification as a known one
     * (against a dummy hash), so the time does not tell which names exist */
    unsigned long hashes = ent__access_login_hashes();
    assert_int_equal(ent_access_login(f->store, "ghost", pw, now, &retry),
                     ENT_EPERM);
    assert_int_equal(ent__access_login_hashes(), hashes + 1);
    assert_int_equal(ent_access_login(f->store, "nopw", "x", now, &retry),
                     ENT_EPERM);
    assert_int_equal(ent__access_login_hashes(), hashes + 2);
    /* two failures cost nothing */
    assert_int_equal(ent_access_login(f->store, "alice", "x", now, &retry),
                     ENT_EPERM);
    assert_int_equal(ent_access_login(f->store, "alice", "y", now, &retry),
                     ENT_EPERM);
    assert_int_equal(ent_access_login(f->store, "alice", pw, now, &retry),
                     ENT_OK); /* and a success resets them */
    /* the third failure in a row locks for 1 s, the fourth 2 s, then 4 s */
    uint64_t want[] = {0, 0, 1000, 2000, 4000};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(
            ent_access_login(f->store, "alice", "bad", now, &retry), ENT_EPERM);
        if (want[i] > 0) {
            /* locked: even the right password is refused, and not counted */
            assert_int_equal(ent_access_login(f->store, "alice", pw,
                                              now + want[i] - 1, &retry),
                             ENT_ELIMIT);
            assert_int_equal(retry, 1);
            now += want[i];
        }
    }
    /* persisted: a reopened store is still locked */
    ent_store_close(f->store);
    assert_int_equal(ent_store_open(&f->store, f->dir, 0, NULL), ENT_OK);
    assert_int_equal(ent_access_login(f->store, "alice", "bad", now, &retry),
                     ENT_EPERM); /* the 6th failure: 8 s */
    assert_int_equal(
        ent_access_login(f->store, "alice", pw, now + 7999, &retry),
        ENT_ELIMIT);
    assert_int_equal(retry, 1);
    json_t *u = NULL;
    assert_int_equal(ent_access_user_json(f->store, "alice", &u), ENT_OK);
    assert_int_equal(json_integer_value(json_object_get(u, "failures")), 6);
    json_decref(u);
    assert_int_equal(
        ent_access_login(f->store, "alice", pw, now + 8000, &retry), ENT_OK);
    assert_int_equal(ent_access_user_json(f->store, "alice", &u), ENT_OK);
    assert_int_equal(json_integer_value(json_object_get(u, "failures")), 0);
    json_decref(u);
    /* many failures: at most an hour */
    for (int i = 0; i < 30; i++) {
        ent_access_login(f->store, "alice", "bad", now + 8000, &retry);
        now += 3600u * 1000u;
    }
    assert_int_equal(
        ent_access_login(f->store, "alice", pw, now + 8000 - 1, &retry),
        ENT_ELIMIT);
    assert_true(retry <= ENT_LOGIN_MAX_LOCK_MS);
    /* disabled: told so only with the right password (this used to be
     * ENT_EDENIED for any password, which let anyone find disabled
     * names); a wrong one is ENT_EPERM like any other and counted */
    assert_int_equal(add_user(f, "dis", "rep", pw, NULL, NULL), ENT_OK);
    ent_user_spec s = {.name = "dis", .disabled = 1};
    char err[64];
    assert_int_equal(
        ent_access_user_set(f->store, &s, &f->cost, err, sizeof(err)), ENT_OK);
    assert_int_equal(ent_access_login(f->store, "dis", "x", now, &retry),
                     ENT_EPERM);
    assert_int_equal(ent_access_user_json(f->store, "dis", &u), ENT_OK);
    assert_int_equal(json_integer_value(json_object_get(u, "failures")), 1);
    json_decref(u);
    assert_int_equal(ent_access_login(f->store, "dis", pw, now, &retry),
                     ENT_EDENIED);
    s = (ent_user_spec){.name = "nopw", .disabled = 1};
    assert_int_equal(
        ent_access_user_set(f->store, &s, &f->cost, err, sizeof(err)), ENT_OK);
    assert_int_equal(ent_access_login(f->store, "nopw", "x", now, &retry),
                     ENT_EPERM);
}

/* ---- tokens ------------------------------------------------------------ */

struct scan_ctx {
    const char *needle;
    bool found;
};

static int scan_one(void *data, const void *key, size_t klen, const void *val,
                    size_t vlen) {
    struct scan_ctx *c = data;
    size_t nl = strlen(c->needle);
    for (size_t i = 0; i + nl <= vlen; i++)
        if (memcmp((const char *)val + i, c->needle, nl) == 0)
            c->found = true;
    return 0;
}

static int scan_fn(ent_txn *txn, void *data) {
    return ent_txn_scan(txn, ENT_TBL_ACCESS, NULL, 0, scan_one, data);
}

static bool stored(struct fixture *f, const char *needle) {
    struct scan_ctx c = {needle, false};
    assert_int_equal(ent_store_read(f->store, scan_fn, &c), ENT_OK);
    return c.found;
}

static void test_tokens(void **state) {
    struct fixture *f = *state;
    char tok[ENT_TOKEN_STRLEN + 1], id[ENT_TOKEN_ID_HEX + 1];
    char tok2[ENT_TOKEN_STRLEN + 1], id2[ENT_TOKEN_ID_HEX + 1];
    ent_principal p;
    uint64_t now = 5000000;
    assert_int_equal(add_user(f, "alice", "rep", NULL, "region", "EMEA"),
                     ENT_OK);
    assert_int_equal(ent_access_token_create(f->store, "ghost", ENT_ACT_ALL, 0,
                                             now, tok, id),
                     ENT_ENOENT);
    assert_int_equal(ent_access_token_create(f->store, "alice",
                                             ENT_ACT_READ | ENT_ACT_LOG,
                                             now + 60000, now, tok, id),
                     ENT_OK);
    assert_int_equal(strlen(tok), ENT_TOKEN_STRLEN);
    assert_int_equal(strncmp(tok, "ent_", 4), 0);
    assert_int_equal(strncmp(tok + 4, id, ENT_TOKEN_ID_HEX), 0);
    /* hash only: neither the token nor its secret is in the store */
    assert_false(stored(f, tok));
    assert_false(stored(f, tok + 5 + ENT_TOKEN_ID_HEX));
    uint8_t h[ENT_HASH_LEN];
    char hhex[2 * ENT_HASH_LEN + 1];
    ent_hash(h, tok, strlen(tok));
    ent_hex_encode(hhex, h, sizeof(h));
    assert_true(stored(f, hhex));
    /* authenticate */
    assert_int_equal(ent_access_authenticate(f->store, tok, now + 1, &p),
                     ENT_OK);
    assert_int_equal(p.kind, ENT_PRINCIPAL_USER);
    assert_string_equal(p.user, "alice");
    assert_string_equal(p.role, "rep");
    assert_string_equal(ent_principal_attr(&p, "region"), "EMEA");
    assert_int_equal(p.scopes, ENT_ACT_READ | ENT_ACT_LOG);
    assert_string_equal(p.token, id);
    /* wrong: one character of the secret, the id, the shape */
    char bad[ENT_TOKEN_STRLEN + 1];
    strcpy(bad, tok);
    bad[ENT_TOKEN_STRLEN - 1] = bad[ENT_TOKEN_STRLEN - 1] == '0' ? '1' : '0';
    assert_int_equal(ent_access_authenticate(f->store, bad, now, &p),
                     ENT_EPERM);
    assert_int_equal(p.user[0], '\0');
    strcpy(bad, tok);
    bad[5] = bad[5] == '0' ? '1' : '0';
    assert_int_equal(ent_access_authenticate(f->store, bad, now, &p),
                     ENT_EPERM);
    assert_int_equal(ent_access_authenticate(f->store, "ent_x", now, &p),
                     ENT_EPERM);
    assert_int_equal(ent_access_authenticate(f->store, "", now, &p), ENT_EPERM);
    /* expiry */
    assert_int_equal(ent_access_authenticate(f->store, tok, now + 60000, &p),
                     ENT_EEXPIRED);
    /* list: no token, no hash; last_used noted */
    json_t *arr = NULL;
    assert_int_equal(ent_access_tokens_json(f->store, NULL, &arr), ENT_OK);
    assert_int_equal(json_array_size(arr), 1);
    char *dump = json_dumps(arr, 0);
    assert_null(strstr(dump, hhex));
    assert_null(strstr(dump, "hash"));
    assert_null(strstr(dump, tok + 5 + ENT_TOKEN_ID_HEX));
    free(dump);
    assert_int_equal(json_integer_value(
                         json_object_get(json_array_get(arr, 0), "last_used")),
                     (json_int_t)(now + 1));
    json_decref(arr);
    /* revoke */
    assert_int_equal(ent_access_token_create(f->store, "alice", ENT_ACT_ALL, 0,
                                             now, tok2, id2),
                     ENT_OK);
    assert_int_equal(ent_access_authenticate(f->store, tok2, now, &p), ENT_OK);
    assert_int_equal(ent_access_token_revoke(f->store, id2), ENT_OK);
    assert_int_equal(ent_access_token_revoke(f->store, id2), ENT_ENOENT);
    assert_int_equal(ent_access_authenticate(f->store, tok2, now, &p),
                     ENT_EPERM);
    /* a disabled user's tokens are refused; removing it removes them */
    assert_int_equal(ent_access_token_create(f->store, "alice", ENT_ACT_ALL, 0,
                                             now, tok2, id2),
                     ENT_OK);
    ent_user_spec s = {.name = "alice", .disabled = 1};
    char err[64];
    assert_int_equal(
        ent_access_user_set(f->store, &s, &f->cost, err, sizeof(err)), ENT_OK);
    assert_int_equal(ent_access_authenticate(f->store, tok2, now, &p),
                     ENT_EDENIED);
    assert_int_equal(ent_access_token_create(f->store, "alice", ENT_ACT_ALL, 0,
                                             now, tok, id),
                     ENT_EDENIED);
    assert_int_equal(ent_access_user_remove(f->store, "alice"), ENT_OK);
    assert_int_equal(ent_access_tokens_json(f->store, NULL, &arr), ENT_OK);
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    assert_int_equal(add_user(f, "alice", "rep", NULL, NULL, NULL), ENT_OK);
    assert_int_equal(ent_access_authenticate(f->store, tok2, now, &p),
                     ENT_EPERM);
}

/* A new password (or none) ends the user's sessions and login tokens, not
 * its other tokens nor another user's sessions (spec/access.md §2.3). */
static void test_password_ends_sessions(void **state) {
    struct fixture *f = *state;
    char ses[ENT_TOKEN_STRLEN + 1], sid[ENT_TOKEN_ID_HEX + 1];
    char tok[ENT_TOKEN_STRLEN + 1], tid[ENT_TOKEN_ID_HEX + 1];
    char bob[ENT_TOKEN_STRLEN + 1], bid[ENT_TOKEN_ID_HEX + 1];
    char err[256] = "";
    ent_principal p;
    uint64_t now = 5000000;
    assert_int_equal(add_user(f, "alice", "rep", "Alice-pass-1234", NULL, NULL),
                     ENT_OK);
    assert_int_equal(add_user(f, "bob", "rep", "Bobs-pass-12345", NULL, NULL),
                     ENT_OK);
    assert_int_equal(ent_access_session_create(f->store, "alice", now, ses,
                                               sid),
                     ENT_OK);
    assert_int_equal(ent_access_token_create(f->store, "alice", ENT_ACT_ALL, 0,
                                             now, tok, tid),
                     ENT_OK);
    assert_int_equal(ent_access_session_create(f->store, "bob", now, bob, bid),
                     ENT_OK);
    /* a login's bearer token ("login":true) goes with the password too */
    char lt[ENT_TOKEN_STRLEN + 1], lid[ENT_TOKEN_ID_HEX + 1];
    assert_int_equal(ent_access_login_token_create(f->store, "alice",
                                                   now + ENT_LOGIN_TOKEN_MS,
                                                   now, lt, lid),
                     ENT_OK);
    assert_int_equal(ent_access_session_authenticate(f->store, ses, now, &p),
                     ENT_OK);
    /* a change of attributes alone keeps the session */
    const char *keys[1] = {"region"}, *vals[1] = {"EMEA"};
    ent_user_spec a = {.name = "alice", .set_keys = keys, .set_vals = vals,
                       .nset = 1, .disabled = -1};
    assert_int_equal(
        ent_access_user_set(f->store, &a, &f->cost, err, sizeof(err)), ENT_OK);
    assert_int_equal(ent_access_session_authenticate(f->store, ses, now, &p),
                     ENT_OK);
    assert_int_equal(ent_access_authenticate(f->store, lt, now, &p), ENT_OK);
    ent_user_spec s = {.name = "alice", .disabled = -1,
                       .password = "Alice-pass-5678"};
    assert_int_equal(
        ent_access_user_set(f->store, &s, &f->cost, err, sizeof(err)), ENT_OK);
    assert_int_equal(ent_access_session_authenticate(f->store, ses, now, &p),
                     ENT_EPERM);
    assert_int_equal(ent_access_authenticate(f->store, lt, now, &p),
                     ENT_EPERM);
    assert_int_equal(ent_access_authenticate(f->store, tok, now, &p), ENT_OK);
    assert_int_equal(ent_access_session_authenticate(f->store, bob, now, &p),
                     ENT_OK);
    /* removing the password ends the sessions made since too */
    assert_int_equal(ent_access_session_create(f->store, "alice", now, ses,
                                               sid),
                     ENT_OK);
    assert_int_equal(ent_access_login_token_create(f->store, "alice",
                                                   now + ENT_LOGIN_TOKEN_MS,
                                                   now, lt, lid),
                     ENT_OK);
    ent_user_spec c = {.name = "alice", .disabled = -1, .clear_password = true};
    assert_int_equal(
        ent_access_user_set(f->store, &c, &f->cost, err, sizeof(err)), ENT_OK);
    assert_int_equal(ent_access_session_authenticate(f->store, ses, now, &p),
                     ENT_EPERM);
    assert_int_equal(ent_access_authenticate(f->store, lt, now, &p),
                     ENT_EPERM);
    assert_int_equal(ent_access_authenticate(f->store, tok, now, &p), ENT_OK);
}

/* ---- stored policies and who-did-what rows ----------------------------- */

struct load_ctx {
    ent_rule *rules;
    size_t n;
};

static int load_fn(ent_txn *txn, void *data) {
    struct load_ctx *c = data;
    free(c->rules);
    return ent_access_policies_load(txn, &c->rules, &c->n);
}

static int note_fn(ent_txn *txn, void *data) {
    const ent_principal *p = data; /* alice, then bob */
    uint8_t id[32];
    memset(id, 7, sizeof(id));
    int rc = ent_access_note_creator(txn, id, p[0].user, p[0].uid);
    if (rc == ENT_OK)
        rc = ent_access_note_op(txn, id, p[1].user, p[1].uid);
    return rc;
}

struct lookup_out {
    char name[3][ENT_POLICY_VALUE_MAX + 1];
    bool removed;
};

static int lookup_fn(ent_txn *txn, void *data) {
    struct lookup_out *out = data;
    uint8_t id[32], other[32];
    memset(id, 7, sizeof(id));
    memset(other, 8, sizeof(other));
    int rc = ent_access_creator(txn, id, out->name[0]);
    if (rc == ENT_OK)
        rc = ent_access_op_user(txn, id, out->name[1], &out->removed);
    if (rc == ENT_OK &&
        ent_access_creator(txn, other, out->name[2]) != ENT_ENOENT)
        rc = ENT_EINVAL;
    return rc;
}

static void test_stored_policies(void **state) {
    struct fixture *f = *state;
    uint32_t id = 0;
    char err[256];
    struct load_ctx c = {NULL, 0};
    assert_int_equal(ent_access_policy_add(f->store,
                                           "allow  role=rep  read,read *", &id,
                                           err, sizeof(err)),
                     ENT_EINVAL);
    assert_int_equal(ent_access_policy_add(f->store,
                                           "allow  role=rep  change,read  *",
                                           &id, err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(id, 1);
    assert_int_equal(ent_access_policy_add(f->store, "deny * export *", &id,
                                           err, sizeof(err)),
                     ENT_OK);
    assert_int_equal(id, 2);
    assert_int_equal(ent_access_policy_remove(f->store, 1), ENT_OK);
    assert_int_equal(ent_access_policy_remove(f->store, 1), ENT_ENOENT);
    assert_int_equal(
        ent_access_policy_add(f->store, "allow * log *", &id, err, sizeof(err)),
        ENT_OK);
    assert_int_equal(id, 3); /* ids are never reused */
    assert_int_equal(ent_store_read(f->store, load_fn, &c), ENT_OK);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.rules[0].id, 2);
    assert_int_equal(c.rules[1].id, 3);
    free(c.rules);
    json_t *arr = NULL;
    assert_int_equal(ent_access_policies_json(f->store, &arr), ENT_OK);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(arr, 0), "rule")),
        "deny * export *");
    json_decref(arr);
    /* creator and op user rows: the user's name and id */
    struct lookup_out out;
    ent_principal p[2];
    assert_int_equal(add_user(f, "alice", "rep", NULL, NULL, NULL), ENT_OK);
    assert_int_equal(add_user(f, "bob", "rep", NULL, NULL, NULL), ENT_OK);
    assert_int_equal(ent_access_principal(f->store, "alice", &p[0]), ENT_OK);
    assert_int_equal(ent_access_principal(f->store, "bob", &p[1]), ENT_OK);
    assert_int_equal(strlen(p[0].uid), ENT_POLICY_UID_HEX);
    assert_string_not_equal(p[0].uid, p[1].uid);
    assert_int_equal(ent_store_write(f->store, note_fn, p), ENT_OK);
    assert_int_equal(ent_store_read(f->store, lookup_fn, &out), ENT_OK);
    assert_string_equal(out.name[0], "alice");
    assert_string_equal(out.name[1], "bob");
    assert_false(out.removed);
    /* removed, then a new bob and alice: neither is taken for the old */
    assert_int_equal(ent_access_user_remove(f->store, "bob"), ENT_OK);
    assert_int_equal(ent_store_read(f->store, lookup_fn, &out), ENT_OK);
    assert_string_equal(out.name[1], "bob");
    assert_true(out.removed);
    assert_int_equal(ent_access_user_remove(f->store, "alice"), ENT_OK);
    assert_int_equal(add_user(f, "alice", "rep", NULL, NULL, NULL), ENT_OK);
    assert_int_equal(add_user(f, "bob", "rep", NULL, NULL, NULL), ENT_OK);
    assert_int_equal(ent_store_read(f->store, lookup_fn, &out), ENT_OK);
    assert_string_equal(out.name[0], ENT_ACCESS_CREATOR_REMOVED);
    assert_string_equal(out.name[1], "bob");
    assert_true(out.removed);
    /* creator= never holds for it, creator!= always does */
    ent_principal alice;
    ent_rule r[2];
    ent_decision d;
    assert_int_equal(ent_access_principal(f->store, "alice", &alice), ENT_OK);
    const char *own = "allow * read * where creator=$user";
    const char *others = "allow * read * where creator!=$user";
    assert_int_equal(ent_rule_parse(own, strlen(own), &r[0], err, sizeof(err)),
                     ENT_OK);
    ent_access_req q = {ENT_ACT_READ, "deal", NULL, NULL, out.name[0]};
    ent_policy_decide(r, 1, &alice, &q, &d);
    assert_false(d.allow);
    q.creator = "alice";
    ent_policy_decide(r, 1, &alice, &q, &d);
    assert_true(d.allow);
    assert_int_equal(
        ent_rule_parse(others, strlen(others), &r[1], err, sizeof(err)),
        ENT_OK);
    q.creator = out.name[0];
    ent_policy_decide(&r[1], 1, &alice, &q, &d);
    assert_true(d.allow);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_actions),
        cmocka_unit_test(test_decision_table),
        cmocka_unit_test(test_deny_wins_order),
        cmocka_unit_test_setup_teardown(test_pwhash, setup, teardown),
        cmocka_unit_test(test_strength),
        cmocka_unit_test_setup_teardown(test_users, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lockout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_password_ends_sessions, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stored_policies, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
