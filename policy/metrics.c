// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * metrics.c: the metrics registry and its text rendering (see metrics.h).
 * Families and series are short singly-linked lists kept in registration
 * order; rendering walks them once.  O(n) lookups at registration only.
 */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pa_metric {
	struct pa_metric *next;
	char *labels;		/* rendered: k="v",k2="v2", or NULL */
	double value;
};

struct family {
	struct family *next;
	enum pa_metric_type type;
	char *name, *help;
	struct pa_metric *series, **tail;
};

struct pa_metrics {
	struct family *families, **tail;
};

struct pa_metrics *pa_metrics_new(void)
{
	struct pa_metrics *m = calloc(1, sizeof(*m));

	if (m)
		m->tail = &m->families;
	return m;
}

void pa_metrics_free(struct pa_metrics *m)
{
	struct family *f, *fn;
	struct pa_metric *s, *sn;

	if (!m)
		return;
	for (f = m->families; f; f = fn) {
		fn = f->next;
		for (s = f->series; s; s = sn) {
			sn = s->next;
			free(s->labels);
			free(s);
		}
		free(f->name);
		free(f->help);
		free(f);
	}
	free(m);
}

static int valid_name(const char *s, int label)
{
	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || (*s == ':' && !label)))
			return 0;
	return 1;
}

/* Write text escaped for a HELP line (\\ and \n) or a label value (also \"). */
static void put_escaped(FILE *f, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '"' && quote)
			fputs("\\\"", f);
		else
			fputc(*s, f);
	}
}

static char *render_labels(const char *const *labels)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!labels || !labels[0])
		return NULL;
	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	for (unsigned int i = 0; labels[i] && labels[i + 1]; i += 2) {
		fprintf(f, "%s%s=\"", i ? "," : "", labels[i]);
		put_escaped(f, labels[i + 1], 1);
		fputc('"', f);
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

struct pa_metric *pa_metric_add(struct pa_metrics *m, enum pa_metric_type type,
				const char *name, const char *help, const char *const *labels)
{
	struct pa_metric *s = NULL;
	struct family *f;

	if (!valid_name(name, 0))
		goto err;
	for (unsigned int i = 0; labels && labels[i]; i += 2)
		if (!valid_name(labels[i], 1) || !labels[i + 1])
			goto err;
	for (f = m->families; f && strcmp(f->name, name); f = f->next)
		;
	if (f && f->type != type)
		goto err;
	s = calloc(1, sizeof(*s));
	if (!s || (labels && labels[0] && !(s->labels = render_labels(labels))))
		goto err;
	if (!f) {
		f = calloc(1, sizeof(*f));
		if (!f || !(f->name = strdup(name)) || !(f->help = strdup(help ? help : name))) {
			if (f)
				free(f->name);
			free(f);
			goto err;
		}
		f->type = type;
		f->tail = &f->series;
		*m->tail = f;
		m->tail = &f->next;
	}
	*f->tail = s;
	f->tail = &s->next;
	return s;
err:
	if (s)
		free(s->labels);
	free(s);
	return NULL;
}

void pa_metric_inc(struct pa_metric *s, double by)
{
	if (s && by >= 0)
		s->value += by;
}

void pa_metric_set(struct pa_metric *s, double value)
{
	if (s)
		s->value = value;
}

double pa_metric_value(const struct pa_metric *s)
{
	return s ? s->value : 0;
}

char *pa_metrics_render(const struct pa_metrics *m)
{
	const struct family *fam;
	const struct pa_metric *s;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (fam = m->families; fam; fam = fam->next) {
		fprintf(f, "# HELP %s ", fam->name);
		put_escaped(f, fam->help, 0);
		fprintf(f, "\n# TYPE %s %s\n", fam->name, fam->type == PA_COUNTER ? "counter" : "gauge");
		for (s = fam->series; s; s = s->next)
			fprintf(f, "%s%s%s%s %.17g\n", fam->name, s->labels ? "{" : "",
				s->labels ? s->labels : "", s->labels ? "}" : "", s->value);
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}
