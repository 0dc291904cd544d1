/*
 * value.h - typed field values of joint objects.
 *
 * A value is what one field holds: text, integer, money (integer minor units
 * and an ISO 4217 code, never floating point), date (days since 1970-01-01),
 * enum (one allowed text value), org reference (an org's public key), object
 * reference (another joint object's id: a link), or null (a cleared field). Encoded in op bodies as described in spec/records.md;
 * parsed from what people type by node/template.c.
 */
#ifndef ENT_VALUE_H
#define ENT_VALUE_H

#include <stddef.h>
#include <stdint.h>

typedef enum ent_vtype {
    ENT_VT_NULL = 0,
    ENT_VT_TEXT = 1,
    ENT_VT_INT = 2,
    ENT_VT_MONEY = 3,
    ENT_VT_DATE = 4,
    ENT_VT_ENUM = 5,
    ENT_VT_ORG = 6,
    ENT_VT_REF = 7,
} ent_vtype;

#define ENT_VALUE_TEXT_MAX 4096 /* bytes of UTF-8 in one text/enum value */

typedef struct ent_value {
    ent_vtype type;
    union {
        struct {
            char *s;    /* owned, NUL-terminated UTF-8 */
            size_t len; /* bytes, without the NUL */
        } text;         /* ENT_VT_TEXT and ENT_VT_ENUM */
        int64_t i;      /* ENT_VT_INT */
        struct {
            int64_t minor;  /* amount in minor units (cents) */
            char cur[4];    /* ISO 4217 code, NUL-terminated, upper case */
        } money;            /* ENT_VT_MONEY */
        int32_t days;       /* ENT_VT_DATE: days since 1970-01-01 */
        uint8_t org[32];    /* ENT_VT_ORG: org public key */
        uint8_t ref[32];    /* ENT_VT_REF: the linked object's id */
    } u;
} ent_value;

#endif
