/*
 * template_mdf.c - the built-in templates of market development funds
 * (spec/workflows.md §8, spec/objects.md "Built-in templates"): a budget,
 * and a fund request that links it and carries the workflow every member
 * enforces (owned fields, amount limits, the claim approval). Kept apart
 * from template.c, which parses them with every other built-in.
 */
#include "node/objects/template.h"

const char ent__tpl_mdf_budget[] =
    "{\"type\":\"mdf_budget\",\"strict\":false,\"fields\":["
    "{\"name\":\"name\",\"type\":\"text\",\"label\":\"Budget name\"},"
    "{\"name\":\"program\",\"type\":\"ref\",\"target\":\"program\","
    "\"label\":\"Program\"},"
    "{\"name\":\"amount\",\"type\":\"money\",\"owner_only\":true,"
    "\"label\":\"Budget amount\"},"
    "{\"name\":\"fiscal_period\",\"type\":\"text\"},"
    "{\"name\":\"start_date\",\"type\":\"date\"},"
    "{\"name\":\"end_date\",\"type\":\"date\"},"
    "{\"name\":\"region\",\"type\":\"enum\",\"table\":\"regions\"},"
    "{\"name\":\"stage\",\"type\":\"enum\",\"default\":\"Draft\"},"
    "{\"name\":\"internal_notes\",\"type\":\"text\",\"visibility\":"
    "\"private\"}],"
    "\"stages\":[\"Draft\",\"Active\",\"Closed\"]}";

const char ent__tpl_mdf_request[] =
    "{\"type\":\"mdf_request\",\"strict\":false,\"fields\":["
    "{\"name\":\"name\",\"type\":\"text\",\"label\":\"Activity name\"},"
    "{\"name\":\"budget\",\"type\":\"ref\",\"target\":\"mdf_budget\","
    "\"label\":\"Budget\"},"
    "{\"name\":\"activity_type\",\"type\":\"enum\","
    "\"table\":\"mdf_activity_types\"},"
    "{\"name\":\"region\",\"type\":\"enum\",\"table\":\"regions\"},"
    "{\"name\":\"amount_requested\",\"type\":\"money\"},"
    "{\"name\":\"amount_approved\",\"type\":\"money\"},"
    "{\"name\":\"amount_claimed\",\"type\":\"money\"},"
    "{\"name\":\"stage\",\"type\":\"enum\",\"default\":\"Draft\"},"
    "{\"name\":\"start_date\",\"type\":\"date\"},"
    "{\"name\":\"end_date\",\"type\":\"date\"},"
    "{\"name\":\"expected_leads\",\"type\":\"integer\"},"
    "{\"name\":\"proof_of_performance\",\"type\":\"text\","
    "\"label\":\"Proof of performance (attachment names)\"},"
    "{\"name\":\"internal_notes\",\"type\":\"text\",\"visibility\":"
    "\"private\"}],"
    "\"stages\":[\"Draft\",\"Submitted\",\"Approved\",\"Rejected\","
    "\"Claimed\",\"Claim Approved\",\"Paid\"],"
    "\"workflow\":{\"transitions\":["
    "{\"from\":\"Draft\",\"to\":\"Submitted\",\"who\":[\"owner\"]},"
    "{\"from\":\"Submitted\",\"to\":\"Approved\",\"who\":[\"ref:budget\"]},"
    "{\"from\":\"Submitted\",\"to\":\"Rejected\",\"who\":[\"ref:budget\"]},"
    "{\"from\":\"Approved\",\"to\":\"Claimed\",\"who\":[\"owner\"]},"
    "{\"from\":\"Claimed\",\"to\":\"Claim Approved\",\"who\":"
    "[\"ref:budget\"],\"approvals\":[{\"step\":\"claim\",\"by\":"
    "\"ref:budget\",\"self\":true}]},"
    "{\"from\":\"Claim Approved\",\"to\":\"Paid\",\"who\":[\"ref:budget\"]}],"
    "\"field_owners\":{\"budget\":\"owner\",\"amount_requested\":\"owner\","
    "\"amount_claimed\":\"owner\",\"amount_approved\":\"ref:budget\"},"
    "\"limits\":{\"amount_approved\":\"amount_requested\","
    "\"amount_claimed\":\"amount_approved\"}}}";
