/*
 * rules.h - the workflow rules a joint object carries (spec/workflows.md):
 * its stages, who may make each stage transition and which approvals it
 * needs first, and which org owns which field. The rules travel in the
 * object's genesis op and in rules ops, as the deterministic CBOR of
 * spec/workflows.md §2; this module decodes and encodes them, builds them
 * from a template's "workflow" section (JSON), and judges one transition or
 * write against facts the caller gathers from the op's causal past. It is
 * a pure evaluator over bytes and structs: it knows nothing of the object
 * engine, storage or the network.
 */
#ifndef ENT_WORK_RULES_H
#define ENT_WORK_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/value.h"

#define ENT_WF_VERSION 1
#define ENT_WF_NAME_MAX 64     /* bytes of a stage, step or field name */
#define ENT_WF_MAX_STAGES 64   /* stages of one object */
#define ENT_WF_MAX_TRANS 32    /* transitions */
#define ENT_WF_MAX_WHO 4       /* parties allowed to make one transition */
#define ENT_WF_MAX_STEPS 4     /* approvals one transition needs */
#define ENT_WF_MAX_FIELDS 32   /* field owners */
#define ENT_WF_MAX_LIMITS 8    /* amount limits */
#define ENT_WF_MAX_SIZE 4096   /* bytes of one encoding (ENT_OP_RULES_MAX) */
#define ENT_WF_PK_LEN 32

/* Who: the object's owner, any active member (owner, admin, member), an
 * active member with at least a role (admin: owner or admin; member:
 * owner, admin or member), or one named org while it is an active member. */
typedef enum ent_wf_who_kind {
    ENT_WF_OWNER = 0,
    ENT_WF_ANY = 1,
    ENT_WF_ROLE = 2,
    ENT_WF_ORG = 3,
    /* the owner of the object that the ref field `field` links; the
     * creator's engine replaces it by that org (ENT_WF_ORG) in the rules
     * the genesis carries (ent_wf_resolve_refs). Left unresolved (no link
     * at the creation), it matches the object's owner only. */
    ENT_WF_REF = 4,
} ent_wf_who_kind;

typedef struct ent_wf_who {
    uint8_t kind; /* ent_wf_who_kind */
    uint8_t role; /* ENT_WF_ROLE: 1 (admin) or 2 (member) */
    uint8_t org[ENT_WF_PK_LEN]; /* ENT_WF_ORG */
    char field[ENT_WF_NAME_MAX + 1]; /* ENT_WF_REF */
} ent_wf_who;

/* One approval a transition needs: a counting approval of step `name`
 * by a party `by`; by the transition's own author only when self_ok. */
typedef struct ent_wf_step {
    char name[ENT_WF_NAME_MAX + 1];
    ent_wf_who by;
    bool self_ok;
} ent_wf_step;

typedef struct ent_wf_trans {
    bool any_from; /* from any stage (or none yet) */
    char from[ENT_WF_NAME_MAX + 1];
    char to[ENT_WF_NAME_MAX + 1];
    ent_wf_who who[ENT_WF_MAX_WHO];
    size_t nwho; /* 1 .. ENT_WF_MAX_WHO */
    ent_wf_step steps[ENT_WF_MAX_STEPS];
    size_t nsteps;
} ent_wf_trans;

typedef struct ent_wf_field {
    char name[ENT_WF_NAME_MAX + 1];
    ent_wf_who who;
} ent_wf_field;

/* An amount limit: a write of field counts only when its value is at most
 * the value field bound has in the write's causal past
 * (spec/workflows.md §8). */
typedef struct ent_wf_limit {
    char field[ENT_WF_NAME_MAX + 1];
    char bound[ENT_WF_NAME_MAX + 1];
} ent_wf_limit;

typedef struct ent_wf_rules {
    char stages[ENT_WF_MAX_STAGES][ENT_WF_NAME_MAX + 1];
    size_t nstages; /* 1 .. ENT_WF_MAX_STAGES */
    ent_wf_trans trans[ENT_WF_MAX_TRANS];
    size_t ntrans;
    ent_wf_field fields[ENT_WF_MAX_FIELDS]; /* in encoding order */
    size_t nfields;
    ent_wf_limit limits[ENT_WF_MAX_LIMITS]; /* in encoding order */
    size_t nlimits;
} ent_wf_rules;

/*
 * Decodes rules (spec/workflows.md §2): one canonical item within the
 * limits, every name valid, every stage named by a transition listed, no
 * duplicate stage, transition (from, to), step of one transition or field;
 * fields in CBOR key order. r is caller-owned (about 30 KB: allocate it).
 * @return ENT_OK, ENT_ETOOBIG, ENT_ENONCANON, ENT_ETRUNCATED, ENT_ECORRUPT,
 *         ENT_EVERSION (a version other than 1), ENT_EINVAL (NULL).
 */
int ent_wf_decode(ent_wf_rules *r, const uint8_t *buf, size_t len);

/* Encodes r (checked as the decoder checks; fields are sorted here) into a
 * malloc'ed buffer the caller frees with free().
 * @return ENT_OK, ENT_EINVAL, ENT_ETOOBIG, ENT_ENOMEM. */
int ent_wf_encode(const ent_wf_rules *r, uint8_t **out, size_t *len);

/*
 * Builds rules from a template's "workflow" JSON section (a jansson
 * json_t, passed as void * so that callers need not include jansson) and
 * its stages: {"transitions":[{"from","to","who":[...],"approvals":
 * [{"step","by","self"}]}], "field_owners":{"F":"who"}}, where a who is
 * "owner", "any", "role:admin", "role:member" or "org:ID" (base32 org id).
 * err gets a message naming the offending item.
 * @return ENT_OK, ENT_ESCHEMA (bad section), ENT_EINVAL (NULL).
 */
int ent_wf_from_json(ent_wf_rules *r, const void *json,
                     const char *const *stages, size_t nstages, char *err,
                     size_t errlen);

/* The rules as JSON (the template form above, plus "stages"): a new
 * json_t reference (void *) the caller releases with json_decref; NULL on
 * ENOMEM. */
void *ent_wf_to_json(const ent_wf_rules *r);

/* Formats who as its template string into out (at least 70 bytes). */
void ent_wf_who_format(const ent_wf_who *w, char *out, size_t outlen);

/* ------------------------------------------------------------- judging */

/* What the caller knows of one org at one causal past. */
typedef struct ent_wf_party {
    const uint8_t *org; /* 32 bytes */
    bool owner;         /* the object's owner (genesis author) */
    bool active;        /* an active member in that past */
    uint8_t role;       /* its role there (0 owner .. 3 viewer) */
} ent_wf_party;

/* Whether party p matches who. */
bool ent_wf_who_matches(const ent_wf_who *w, const ent_wf_party *p);

/* One approve/reject op of the object in the transition's causal past that
 * counts (spec/membership.md), as the caller found it. */
typedef struct ent_wf_decision {
    const char *step;
    bool reject;
    ent_wf_party by; /* its author, judged in the decision's own past */
} ent_wf_decision;

/*
 * Callback: whether decision i is in the causal past of decision k.
 */
typedef bool (*ent_wf_before_fn)(void *data, size_t i, size_t k);

/*
 * Judges a stage write: a move of an object with rules r from stage from
 * (NULL: none yet) to stage to, by actor (judged in the write's past),
 * given the counting decisions ds[0..n) of its past (before tells their
 * causal order). Allowed when `to` is a stage of r and some transition
 * (from or any, to) names a party the actor matches and each of its steps
 * is met: some approval of the step by a matching party (not the actor
 * unless self_ok) that no rejection of the step by a matching party
 * follows or is concurrent with (every such rejection is in its past).
 * why (may be NULL) gets the reason of a refusal.
 * @return true when allowed.
 */
bool ent_wf_transition_ok(const ent_wf_rules *r, const char *from,
                          const char *to, const ent_wf_party *actor,
                          const ent_wf_decision *ds, size_t n,
                          ent_wf_before_fn before, void *data, char *why,
                          size_t whylen);

/* The field owner rule of field name, or NULL when r names none. */
const ent_wf_who *ent_wf_field_owner(const ent_wf_rules *r, const char *name);

/* Whether an approve/reject of step by p can ever matter: some transition
 * of r has a step of that name whose party p matches. */
bool ent_wf_step_known(const ent_wf_rules *r, const char *step);

/* The field that bounds field name (a limit of r), or NULL. */
const char *ent_wf_limit_of(const ent_wf_rules *r, const char *name);

/*
 * Judges an amount limit (spec/workflows.md §8): the value v written to a
 * limited field against bound, the value its bound field has in the
 * write's past (NULL or null: none). Allowed: v null (a cleared field);
 * or v and bound both money of one currency, or both integers, with
 * 0 <= v <= bound. why (may be NULL) gets the reason of a refusal, naming
 * field and bound_name.
 * @return true when allowed.
 */
bool ent_wf_limit_ok(const ent_value *v, const ent_value *bound,
                     const char *field, const char *bound_name, char *why,
                     size_t whylen);

/* Callback of ent_wf_resolve_refs: the org that owns the object the ref
 * field `field` links (*found false: no such link, or the linked object is
 * unknown). @return ENT_OK or an error that stops the resolution. */
typedef int (*ent_wf_ref_fn)(void *data, const char *field,
                             uint8_t org[ENT_WF_PK_LEN], bool *found);

/*
 * Replaces every ENT_WF_REF party of r by the org fn names (ENT_WF_ORG).
 * A party whose field fn does not find stays as it is (it then matches
 * the owner only). *changed tells whether any party was replaced.
 * @return ENT_OK or fn's error.
 */
int ent_wf_resolve_refs(ent_wf_rules *r, ent_wf_ref_fn fn, void *data,
                        bool *changed);

#endif
