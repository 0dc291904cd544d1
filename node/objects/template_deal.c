/*
 * template_deal.c - the built-in template of deal registrations
 * (spec/workflows.md §9, spec/objects.md "Built-in templates"): a partner
 * registers a deal (customer account, web domain, solution, expected
 * size, close date) under a vendor's program; the rules it carries give
 * the approval, the expiry and the rejection to the program's owner (the
 * vendor) alone. Kept apart from template.c, which parses it with every
 * other built-in.
 */
#include "node/objects/template.h"

const char ent__tpl_deal_registration[] =
    "{\"type\":\"deal_registration\",\"strict\":false,\"fields\":["
    "{\"name\":\"name\",\"type\":\"text\",\"label\":\"Deal name\"},"
    "{\"name\":\"program\",\"type\":\"ref\",\"target\":\"program\","
    "\"label\":\"Vendor program\"},"
    "{\"name\":\"customer_account\",\"type\":\"text\","
    "\"label\":\"Customer account\"},"
    "{\"name\":\"account_domain\",\"type\":\"text\","
    "\"label\":\"Customer web domain\"},"
    "{\"name\":\"solution\",\"type\":\"text\","
    "\"label\":\"Product or solution\"},"
    "{\"name\":\"amount\",\"type\":\"money\",\"label\":\"Expected size\"},"
    "{\"name\":\"close_date\",\"type\":\"date\",\"label\":\"Close date\"},"
    "{\"name\":\"expires\",\"type\":\"date\","
    "\"label\":\"Registration expires\"},"
    "{\"name\":\"stage\",\"type\":\"enum\",\"default\":\"Submitted\"},"
    "{\"name\":\"internal_notes\",\"type\":\"text\",\"visibility\":"
    "\"private\"}],"
    "\"stages\":[\"Submitted\",\"Approved\",\"Rejected\"],"
    "\"workflow\":{\"transitions\":["
    "{\"from\":\"Submitted\",\"to\":\"Approved\",\"who\":[\"ref:program\"],"
    "\"approvals\":[{\"step\":\"registration\",\"by\":\"ref:program\","
    "\"self\":true}]},"
    "{\"from\":\"Submitted\",\"to\":\"Rejected\",\"who\":[\"ref:program\"]},"
    "{\"from\":\"Approved\",\"to\":\"Rejected\",\"who\":[\"ref:program\"]}],"
    "\"field_owners\":{\"program\":\"owner\",\"customer_account\":\"owner\","
    "\"account_domain\":\"owner\",\"solution\":\"owner\","
    "\"amount\":\"owner\",\"close_date\":\"owner\","
    "\"expires\":\"ref:program\"}}}";
