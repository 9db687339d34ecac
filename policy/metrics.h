/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * metrics.h: a tiny registry of counters and gauges, rendered in the
 * Prometheus text exposition format (version 0.0.4) for GET /metrics.
 *
 * The daemon registers a series once (a metric name, its help, its label
 * pairs) and keeps the pointer; updating is a plain add or store, as the
 * daemon is single-threaded (libevent's loop).  Series of one name form a
 * family, printed under one # HELP and # TYPE in the order first seen.
 * Deliberately left out: histograms, summaries, removing series.
 */
#ifndef LUNLINK_POLICY_METRICS_H
#define LUNLINK_POLICY_METRICS_H

enum pa_metric_type { PA_COUNTER, PA_GAUGE };

struct pa_metrics;
struct pa_metric;

struct pa_metrics *pa_metrics_new(void);
void pa_metrics_free(struct pa_metrics *m);

/*
 * Register a series: name matches [a-zA-Z_:][a-zA-Z0-9_:]*, labels is a
 * NULL-terminated list of key, value, key, value... (or NULL); values are
 * escaped when rendered.  A name registered before keeps its first help
 * and type (a different type is refused).  NULL on a bad name or no memory.
 */
struct pa_metric *pa_metric_add(struct pa_metrics *m, enum pa_metric_type type,
				const char *name, const char *help, const char *const *labels);

void pa_metric_inc(struct pa_metric *s, double by);	/* counters: by >= 0 */
void pa_metric_set(struct pa_metric *s, double value);	/* gauges */
double pa_metric_value(const struct pa_metric *s);

/* The whole registry in the text format; malloc'd, NULL on no memory. */
char *pa_metrics_render(const struct pa_metrics *m);

#endif
