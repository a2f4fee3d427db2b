/*
 * catch.c - where a Catch array sends the events that failed for good:
 * each catcher's Next, a file the error output is appended to, or a
 * command run once per event (directly, never through a shell) with it
 * on its standard input.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"

struct ev_catch {
	const struct ev_policy *p;
	struct ev_sink **sink;		/* per catcher with a file */
	struct ev_sched **sched;	/* per catcher with a command */
	struct ev_buf *out;		/* a command's output goes here */
	const char *failed;		/* its error name, when it failed */
	char name[48];
};

/* A catch command's run ended. */
static int
ran(void *ctx, const struct ev_task *t, struct ev_err *err)
{
	struct ev_catch *c = ctx;

	if (t->exhausted != NULL) {
		snprintf(c->name, sizeof(c->name), "%s", t->name);
		c->failed = c->name;
		return 0;
	}
	if (t->outlen > 0 && (ev_buf_add(c->out, t->output, t->outlen) < 0 ||
	    (t->output[t->outlen - 1] != '\n' &&
	    ev_buf_add(c->out, "\n", 1) < 0))) {
		ev_err_set(err, "out of memory");
		return -1;
	}
	return 0;
}

struct ev_catch *
ev_catch_open(const struct ev_policy *p, const struct ev_sched_opts *so,
    char *const *reads, int nreads, struct ev_err *err)
{
	struct ev_sched_opts co = *so;
	struct ev_catch *c;
	const char *in;
	int i, j, n = p->ncatchers;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto oom;
	c->p = p;
	if ((c->sink = calloc((size_t)n + 1, sizeof(*c->sink))) == NULL ||
	    (c->sched = calloc((size_t)n + 1, sizeof(*c->sched))) == NULL)
		goto oom;
	err->file = NULL;
	co.jobs = 1;
	co.feed = EV_FEED_STDIN;
	co.nretriers = 0;
	co.max_age_ms = 0;
	co.keep_order = 0;
	for (i = 0; i < n; i++) {
		const struct ev_catcher *k = &p->catchers[i];

		if (k->argv != NULL) {
			co.argv = k->argv;
			if ((c->sched[i] = ev_sched_new(&co, ran, c)) == NULL)
				goto oom;
			continue;
		}
		for (j = 0; j < i && c->sink[i] == NULL; j++)
			if (c->sink[j] != NULL &&
			    strcmp(p->catchers[j].next, k->next) == 0)
				c->sink[i] = c->sink[j];
		if (c->sink[i] != NULL)
			continue;
		if ((in = ev_file_is_input(k->next, reads, nreads)) != NULL) {
			err->file = in;
			ev_err_set(err, "input file is also the catch file");
			goto fail;
		}
		if ((c->sink[i] = ev_sink_open(k->next, EV_SINK_APPEND,
		    err)) == NULL)
			goto fail;
	}
	return c;
oom:
	ev_err_set(err, "out of memory");
fail:
	ev_catch_close(c, NULL);
	return NULL;
}

int
ev_catch_event(struct ev_catch *c, const struct ev_task *t,
    struct ev_buf *out, struct ev_err *err)
{
	const struct ev_catcher *k;
	struct ev_buf b = { NULL, 0, 0 };
	int i, r;

	if ((i = ev_catch_find(c->p, t->name)) < 0)
		return 0;
	k = &c->p->catchers[i];
	r = ev_catch_result(&b, t->event, t->len, k->result_path, t->name,
	    t->errtail, t->errlen, err);
	if (r != 0) {
		ev_buf_free(&b);
		return r < 0 ? -1 : 0;
	}
	r = 1;
	if (c->sink[i] != NULL) {
		ev_sink_line(c->sink[i], b.p, b.len);
		if (ev_sink_closed(c->sink[i])) {
			r = ev_sink_error(c->sink[i], err) < 0 ? -1 : 0;
			if (r == 0)
				ev_err_set(err, "catch file '%s' is closed",
				    k->next);
		}
	} else {
		c->out = out;
		c->failed = NULL;
		if (ev_sched_add(c->sched[i], b.p, b.len, t->file, t->lineno,
		    err) < 0 || ev_sched_run(c->sched[i], 0, err) < 0)
			r = -1;
		else if (c->failed != NULL || ev_sched_pending(c->sched[i])) {
			ev_err_set(err, "catch command '%s' failed: %s",
			    k->next, c->failed ? c->failed : "stopped");
			r = 0;
		}
	}
	ev_buf_free(&b);
	return r;
}

int
ev_catch_close(struct ev_catch *c, struct ev_err *err)
{
	struct ev_err e;
	int i, j, r = 0;

	if (c == NULL)
		return 0;
	for (i = 0; c->sink != NULL && i < c->p->ncatchers; i++) {
		if (c->sched != NULL)
			ev_sched_free(c->sched[i]);
		for (j = i + 1; j < c->p->ncatchers; j++)
			if (c->sink[j] == c->sink[i])
				c->sink[j] = NULL;
		ev_err_clear(&e);
		if (ev_sink_close(c->sink[i], &e) < 0 && r == 0) {
			if (err != NULL)
				*err = e;
			r = -1;
		}
	}
	free(c->sink);
	free(c->sched);
	free(c);
	return r;
}
