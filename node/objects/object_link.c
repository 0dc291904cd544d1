/*
 * object_link.c - linked objects (spec/objects.md "Links"): converting a
 * lead into an opportunity that carries the lead's mapped fields, with a
 * ref field on each side naming the other. The new object is made and the
 * lead is changed by the engine's ordinary create and set, so every rule
 * of those (templates, values, workflow rules) applies unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/err.h"
#include "node/objects/object_int.h"
#include "node/objects/template.h"
#include "node/objects/value.h"

/* One field carried by a conversion: from the source's field (shared or
 * this org's private value) to the new object's field. */
typedef struct conv_map {
    const char *from;
    const char *to;
} conv_map;

/* lead -> opportunity (spec/objects.md "Converting a lead"). */
static const conv_map lead_to_opp[] = {
    {"company", "name"},        {"company", "customer_account"},
    {"region", "region"},       {"industry", "industry"},
    {"need", "next_step"},      {"referred_by", "sourced_by"},
    {"estimated_value", "deal_size"},
};
#define NMAP (sizeof(lead_to_opp) / sizeof(lead_to_opp[0]))

/* The mapped values of the lead, as text, read in one transaction. */
typedef struct conv_ctx {
    const uint8_t *lead;
    ent_objects *eng;
    char *text[NMAP];  /* owned; NULL: the lead has no value */
    bool priv[NMAP];   /* the lead's value is this org's private one */
    char type[ENT_OP_NAME_MAX + 1];
    bool member;
    bool tpl_lead, tpl_conv; /* the opportunity / lead template lists the
                                link field */
    bool to_priv[NMAP];      /* the target field is private by template */
} conv_ctx;

static int conv_field(void *data, const char *name, size_t nlen, bool priv,
                      const uint8_t *blob, size_t blen) {
    conv_ctx *c = data;
    for (size_t i = 0; i < NMAP; i++) {
        if (strlen(lead_to_opp[i].from) != nlen ||
            memcmp(lead_to_opp[i].from, name, nlen) != 0)
            continue;
        ent_value v;
        if (ent_obj_value_decode(blob, blen, &v) != ENT_OK)
            return ENT_OK; /* a value this node cannot read is not carried */
        char *t = NULL;
        int rc = v.type == ENT_VT_NULL ? ENT_OK : ent_value_format(&v, &t);
        ent_value_clear(&v);
        if (rc == ENT_ENOMEM)
            return rc;
        if (t != NULL && t[0] != '\0') {
            free(c->text[i]);
            c->text[i] = t; /* a private value comes last and wins */
            c->priv[i] = priv;
        } else {
            free(t);
        }
    }
    return ENT_OK;
}

static int conv_read(ent_txn *txn, void *data) {
    conv_ctx *c = data;
    obj_rec r;
    bool active = false;
    uint8_t role;
    ent_template *t = NULL;
    int rc = ent__obj_rec_get(txn, c->lead, &r);
    if (rc != ENT_OK)
        return rc;
    memcpy(c->type, r.type, sizeof(c->type));
    rc = ent__obj_member_get(txn, c->lead, c->eng->me, &active, &role);
    c->member = rc == ENT_OK && active && r.status == OBJ_STATUS_ACTIVE &&
                role <= ENT_ROLE_MEMBER;
    if (rc != ENT_OK && rc != ENT_ENOENT)
        return rc;
    if ((rc = ent_obj_fields_scan(txn, c->lead, true, conv_field, c)) !=
        ENT_OK)
        return rc;
    if ((rc = ent_template_get(txn, "opportunity", &t)) == ENT_OK) {
        c->tpl_lead = ent_template_field(t, "lead") != NULL;
        for (size_t i = 0; i < NMAP; i++) {
            const ent_tpl_field *f = ent_template_field(t, lead_to_opp[i].to);
            c->to_priv[i] = f != NULL && f->visibility == ENT_VIS_PRIVATE;
        }
        ent_template_free(t);
        t = NULL;
    }
    if (rc != ENT_OK && rc != ENT_ENOENT)
        return rc;
    if ((rc = ent_template_get(txn, "lead", &t)) == ENT_OK)
        c->tpl_conv = ent_template_field(t, "converted_to") != NULL;
    ent_template_free(t);
    return rc == ENT_ENOENT ? ENT_OK : rc;
}

int ent_obj_convert(ent_objects *eng, const uint8_t lead[ENT_OBJ_ID_LEN],
                    const char *to, uint8_t id_out[ENT_OBJ_ID_LEN],
                    ent_op **create_out, ent_op **set_out, char *err,
                    size_t errlen) {
    conv_ctx c;
    ent_obj_input in[NMAP + 1], up[3];
    char lhex[65], ohex[65];
    size_t n = 0;
    int rc;
    memset(&c, 0, sizeof(c));
    *create_out = *set_out = NULL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (to == NULL || strcmp(to, "opportunity") != 0) {
        snprintf(err, errlen, "convert: a lead converts to an opportunity "
                              "(--to opportunity)");
        return ENT_EINVAL;
    }
    c.lead = lead;
    c.eng = eng;
    if ((rc = ent_store_read(eng->store, conv_read, &c)) != ENT_OK) {
        if (rc == ENT_ENOENT)
            snprintf(err, errlen, "no such object");
        goto out;
    }
    if (strcmp(c.type, "lead") != 0) {
        snprintf(err, errlen, "convert: object is a %s, not a lead", c.type);
        rc = ENT_EINVAL;
        goto out;
    }
    if (!c.member) {
        snprintf(err, errlen, "convert: this org is not an active member "
                              "(owner, admin or member) of the lead");
        rc = ENT_EDENIED;
        goto out;
    }
    for (size_t i = 0; i < NMAP; i++)
        if (c.text[i] != NULL)
            in[n++] = (ent_obj_input){lead_to_opp[i].to, c.text[i],
                                      c.to_priv[i] ? ENT_IN_PRIVATE
                                                   : ENT_IN_SHARED};
    ent_value_ref_format(lhex, lead);
    in[n++] = (ent_obj_input){"lead", lhex,
                              c.tpl_lead ? ENT_IN_SHARED : ENT_IN_CUSTOM};
    if ((rc = ent_obj_create(eng, "opportunity", in, n, id_out, create_out,
                             err, errlen)) != ENT_OK)
        goto out;
    ent_value_ref_format(ohex, id_out);
    up[0] = (ent_obj_input){"converted_to", ohex,
                            c.tpl_conv ? ENT_IN_SHARED : ENT_IN_CUSTOM};
    up[1] = (ent_obj_input){"status", "Converted", ENT_IN_SHARED};
    up[2] = (ent_obj_input){"stage", "Converted", ENT_IN_SHARED};
    rc = ent_obj_set(eng, lead, up, 3, set_out, err, errlen);
    if (rc != ENT_OK && err != NULL && errlen > 0) {
        char why[ENT_OBJ_ERR_MAX];
        snprintf(why, sizeof(why), "%s", err);
        snprintf(err, errlen,
                 "opportunity %.16s… made, but the lead was not marked "
                 "converted: %s",
                 ohex, why);
    }
out:
    for (size_t i = 0; i < NMAP; i++)
        free(c.text[i]);
    return rc;
}
