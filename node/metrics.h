/*
 * metrics.h - the numbers a node exposes at GET /metrics, in the Prometheus
 * text exposition format 0.0.4 (spec/api.md "Metrics").
 *
 * Each node has one registry (ent_node_metrics()). A part of the node that
 * has numbers to show (the API server, the webhooks, ...) adds a collector
 * once: a function that the registry calls on every scrape and that writes
 * its families with ent_metrics_family() and ent_metrics_sample(). No
 * module edits another's code to add a metric:
 *
 *     static void collect(ent_metrics_out *o, void *data) {
 *         struct hooks *h = data;
 *         ent_metrics_family(o, "entente_webhook_queue_depth",
 *                            ENT_METRIC_GAUGE, "deliveries waiting");
 *         ent_metrics_sample(o, (double)h->queued, NULL);
 *     }
 *     ent_metrics_collector_add(ent_node_metrics(n), collect, h);
 *
 * The writer checks names (metric [a-zA-Z_:][a-zA-Z0-9_:]*, label
 * [a-zA-Z_][a-zA-Z0-9_]*), makes counters end in _total, escapes label
 * values (\\, \", \n) and drops a family whose name was already written,
 * so one bad collector cannot make the whole exposition unparsable.
 *
 * Metrics never carry object ids, field values, org names or any private
 * data: label values are route templates, states, reasons and other words
 * from fixed lists.
 */
#ifndef ENT_METRICS_H
#define ENT_METRICS_H

#include <stddef.h>

typedef struct ent_metrics ent_metrics;
typedef struct ent_metrics_out ent_metrics_out;

typedef enum ent_metric_type {
    ENT_METRIC_COUNTER = 1, /* only goes up; the name ends in _total */
    ENT_METRIC_GAUGE,
} ent_metric_type;

/* Writes families with the two functions below; data as given to add. */
typedef void (*ent_metrics_collect_fn)(ent_metrics_out *out, void *data);

/* @return ENT_OK, ENT_ENOMEM. Free with ent_metrics_free (accepts NULL). */
int ent_metrics_new(ent_metrics **out);
void ent_metrics_free(ent_metrics *m);

/*
 * Adds a collector; it runs on every scrape, in the order of adding, on
 * the loop thread, until removed. data is borrowed: remove the collector
 * before data goes away. @return ENT_OK, ENT_ENOMEM, ENT_EINVAL (fn NULL).
 */
int ent_metrics_collector_add(ent_metrics *m, ent_metrics_collect_fn fn,
                              void *data);
/* Removes the collector added with fn and data (nothing if none). */
void ent_metrics_collector_remove(ent_metrics *m, ent_metrics_collect_fn fn,
                                  void *data);

/*
 * Starts a family: the "# HELP" and "# TYPE" lines. Samples that follow
 * belong to it. A bad name, a counter whose name does not end in _total or
 * a name already written turns the family and its samples into nothing.
 */
void ent_metrics_family(ent_metrics_out *o, const char *name,
                        ent_metric_type type, const char *help);

/*
 * One sample of the current family: value and labels as pairs of name and
 * value, ended by NULL: ent_metrics_sample(o, 3, "route", "/v1/status",
 * "status", "200", NULL). At most 8 labels.
 */
void ent_metrics_sample(ent_metrics_out *o, double value, ...);

/*
 * Writes the exposition: first what collect (may be NULL) writes, then
 * every collector of m (may be NULL). *text is malloc'ed (the caller frees
 * it), NUL-terminated, *len bytes long. @return ENT_OK, ENT_ENOMEM.
 */
int ent_metrics_render(ent_metrics *m, ent_metrics_collect_fn collect,
                       void *data, char **text, size_t *len);

#define ENT_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
