/*
 * api_reports.h - the report endpoint of the local API (spec/api.md
 * "Reports", spec/reports.md):
 *
 *   GET /v1/reports/KIND[?type=&by=&where=&from=&to=&currency=&amount=
 *                        &date=&hide_private=]
 *
 * KIND is pipeline, attribution, win-rate, deal-size or cycle-time.
 */
#ifndef ENT_API_REPORTS_H
#define ENT_API_REPORTS_H

#include "node/api/route.h"

/* 200 the report (node/reports/report.h); 400 a bad option or expression
 * (the message gives the position), 403 a field the caller may not read
 * or a token without the read scope, 404 no such report or template, or
 * a missing exchange rate. */
int ent_api_report_get(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp);

/* Saved views (spec/reports.md "Saved views"):
 *   GET    /v1/views            the views the caller may run
 *   GET    /v1/views/NAME       one (404 when absent or not the caller's)
 *   GET    /v1/views/NAME/run   its report, under the caller's policies
 *   PUT    /v1/views/NAME       store {"report","params","roles","users"}
 *   DELETE /v1/views/NAME       {"name","removed":true}
 * PUT and DELETE need the configure right (the access guard). */
int ent_api_views_list(ent_node *n, const ent_http_request *req,
                       ent_http_response *resp);
int ent_api_view_get(ent_node *n, const ent_http_request *req,
                     ent_http_response *resp);
int ent_api_view_put(ent_node *n, const ent_http_request *req,
                     ent_http_response *resp);
int ent_api_view_delete(ent_node *n, const ent_http_request *req,
                        ent_http_response *resp);

/* Field maps (spec/reports.md "Field maps"; node/objects/fieldmap.h):
 *   GET    /v1/fieldmaps        every stored map [{"type","fields","values"}]
 *   GET    /v1/fieldmaps/TYPE   one (404 when none)
 *   PUT    /v1/fieldmaps/TYPE   check and store {"type"?,"fields","values"};
 *                               400 with the reason, nothing stored
 *   DELETE /v1/fieldmaps/TYPE   {"type","removed":true} (404 when none)
 * PUT and DELETE need the configure right (the access guard). */
int ent_api_fieldmaps(ent_node *n, const ent_http_request *req,
                      ent_http_response *resp);

#endif
