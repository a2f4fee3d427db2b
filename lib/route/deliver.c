/*
 * deliver.c - evroute's delivery engine: target drivers opened by URI,
 * the exec: and pipe: drivers, and delivery queues that retry failed
 * deliveries by the target's RetryPolicy on lib/proc's scheduler and
 * dead-letter what fails for good.
 *
 * Retries: EventBridge documents only that "by default, EventBridge
 * retries sending the event for 24 hours and up to 185 times with an
 * exponential back off and jitter, or randomized delay" (Amazon
 * EventBridge User Guide, "How EventBridge retries delivering events",
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/
 * eb-rule-retry-policy.html, which links the AWS Architecture Blog's
 * "Exponential Backoff And Jitter" for the jitter; MaximumRetryAttempts
 * 0-185 and MaximumEventAgeInSeconds 60-86400 in the RetryPolicy API
 * reference).  Its base and cap are not published; here a
 * retry waits a random time from 0 to min(1s * 2^(n-1), 5m) (full jitter,
 * ev_retrier_delay()), so 185 attempts of a target that never answers
 * spread over about 15 hours, inside the 24-hour age limit.  The age
 * counts from when evroute received the event (its ingestion), as
 * EventBridge's does, not from the event's "time".
 *
 * One thread, one loop: the bus sends to in-process drivers at once and
 * turns its schedulers (ev_deliv_run()) between events and, when a queue
 * is full, in turn with a short slice each until the full one has room.
 * A thread per target would let a blocking driver not hold the others,
 * but lib/proc's scheduler, the writers and the counts would then need
 * locks, and the virtual clock (EVKIT_NOW) would be advanced by several
 * threads at once; the schedulers already wait for many processes in one
 * poll(2), so the loop keeps each target's order and the tests
 * deterministic.
 */
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "proc/proc.h"

/* ---------------------------------------------------------- open targets */

struct ev_target {
	const struct ev_target_driver *d;
	void *state;
	char *uri;
};

/* The driver of each URI kind (add a driver here, see route.h). */
static const struct ev_target_driver *const drivers[] = {
	[EV_URI_STDOUT] = &ev_driver_file,
	[EV_URI_FILE] = &ev_driver_file,
	[EV_URI_FD] = &ev_driver_file,
	[EV_URI_EXEC] = &ev_driver_exec,
	[EV_URI_PIPE] = &ev_driver_pipe,
	[EV_URI_STORE] = &ev_driver_store,
	[EV_URI_HTTP] = &ev_driver_http,
};

const struct ev_target_driver *
ev_target_driver_for(const char *uri)
{
	const char *rest;
	size_t k = (size_t)ev_uri_kind(uri, &rest);

	return k < sizeof(drivers) / sizeof(drivers[0]) ? drivers[k] : NULL;
}

struct ev_target *
ev_target_open_driver(const struct ev_target_driver *d, const char *uri,
    struct ev_err *err)
{
	struct ev_target *t = calloc(1, sizeof(*t));

	if (t == NULL || (t->uri = strdup(uri)) == NULL) {
		free(t);
		ev_err_set(err, "out of memory");
		return NULL;
	}
	t->d = d;
	if (d->open(uri, &t->state, err) < 0) {
		free(t->uri);
		free(t);
		return NULL;
	}
	return t;
}

struct ev_target *
ev_target_open(const char *uri, struct ev_err *err)
{
	const struct ev_target_driver *d;

	if (ev_uri_check(uri, err) < 0)
		return NULL;
	if ((d = ev_target_driver_for(uri)) == NULL) {
		ev_err_set(err, "'%s': no driver for this target", uri);
		return NULL;
	}
	return ev_target_open_driver(d, uri, err);
}

const char *
ev_target_uri(const struct ev_target *t)
{
	return t->uri;
}

const struct ev_target_driver *
ev_target_driver(const struct ev_target *t)
{
	return t->d;
}

const struct stat *
ev_target_stat(const struct ev_target *t)
{
	return t->d->stat != NULL ? t->d->stat(t->state) : NULL;
}

enum ev_send
ev_target_send(struct ev_target *t, const char *p, size_t n,
    struct ev_send_fail *f, struct ev_err *err)
{
	f->name[0] = f->msg[0] = '\0';
	return t->d->send(t->state, p, n, f, err);
}

int
ev_target_takes_ref(const struct ev_target *t)
{
	return t->d->send_ref != NULL;
}

enum ev_send
ev_target_send_ref(struct ev_target *t, const char *p, size_t n,
    struct ev_err *err)
{
	return t->d->send_ref(t->state, p, n, err);
}

int
ev_target_flush(struct ev_target *t, struct ev_err *err)
{
	return t->d->flush != NULL ? t->d->flush(t->state, err) : 0;
}

int
ev_target_close(struct ev_target *t, struct ev_err *err)
{
	int r;

	if (t == NULL)
		return 0;
	r = t->d->close(t->state, err);
	free(t->uri);
	free(t);
	return r;
}

/* ----------------------------------------------------- exec: and pipe: */

/*
 * The state of a process driver: the command's words.  Its processes
 * belong to each queue's scheduler: exec: one per delivery (the payload
 * and a newline on its stdin, exit 0 success, 126 and 127 final, other
 * statuses retried), pipe: one long-running process fed one payload per
 * line that answers one line each (evretry(1), PROTOCOL).
 */
static int
proc_open(const char *uri, void **state, struct ev_err *err)
{
	const char *rest;

	ev_uri_kind(uri, &rest);
	return (*state = ev_uri_words(rest, err)) == NULL ? -1 : 0;
}

static int
proc_close(void *state, struct ev_err *err)
{
	(void)err;
	free(state);
	return 0;
}

static int
exec_sched(void *state, struct ev_sched_opts *so, struct ev_err *err)
{
	(void)err;
	so->argv = state;
	so->feed = EV_FEED_STDIN;
	return 0;
}

static int
pipe_sched(void *state, struct ev_sched_opts *so, struct ev_err *err)
{
	(void)err;
	so->argv = state;
	so->feed = EV_FEED_STDIN;
	so->persistent = 1;
	return 0;
}

const struct ev_target_driver ev_driver_exec = {
	"exec", proc_open, NULL, NULL, proc_close, NULL, exec_sched, 0, NULL
};

const struct ev_target_driver ev_driver_pipe = {
	"pipe", proc_open, NULL, NULL, proc_close, NULL, pipe_sched, 0, NULL
};

/* ------------------------------------------------------------- queues */

struct ev_deliv {
	struct ev_target *t;
	struct ev_deliv_opts o;
	struct ev_retrier retrier;
	struct ev_sched *s;		/* NULL until an in-process retry */
	uint64_t seed;			/* the first retry's jitter */
	unsigned long delivered, retried, dead, unflushed;
};

static const char *const all_errors[] = { "States.ALL" };

/* A finished task: delivered, or dead. */
static int
task_done(void *ctx, const struct ev_task *t, struct ev_err *err)
{
	struct ev_deliv *q = ctx;
	struct ev_task d;

	/* in-process: every attempt on the scheduler was a retry */
	q->retried += (unsigned long)t->attempts -
	    (q->t->d->send == NULL && t->attempts > 0 ? 1 : 0);
	if (t->exhausted == NULL) {
		if (q->t->d->batched)
			q->unflushed++;
		else
			q->delivered++;
		return 0;
	}
	q->dead++;
	d = *t;
	if (q->t->d->send != NULL)
		d.attempts++;		/* the first, made outside */
	if (strcmp(t->exhausted, "MaxAttempts") == 0)
		d.exhausted = "MaximumRetryAttempts";
	return q->o.dead(q->o.ctx, &d, err);
}

/* An in-process retry: the driver's send again. */
static int
task_attempt(void *ctx, const char *p, size_t n, char *name, size_t nsize,
    struct ev_buf *msg)
{
	struct ev_deliv *q = ctx;
	struct ev_send_fail f;
	struct ev_err e;
	enum ev_send r;

	ev_err_clear(&e);
	r = ev_target_send(q->t, p, n, &f, &e);
	switch (r) {
	case EV_SEND_OK:
		return 0;
	case EV_SEND_ERROR:
		ev_buf_add(msg, e.msg, strlen(e.msg));
		return -1;
	default:
		snprintf(name, nsize, "%s", f.name);
		ev_buf_add(msg, f.msg, strlen(f.msg));
		return r == EV_SEND_RETRY ? 1 : 2;
	}
}

static int
make_sched(struct ev_deliv *q, struct ev_err *err)
{
	struct ev_sched_opts so;

	memset(&so, 0, sizeof(so));
	so.jobs = 1;		/* one at a time: the target's order */
	so.retriers = &q->retrier;
	so.nretriers = 1;
	so.seed = q->o.seed;
	so.max_age_ms = q->o.max_age_ms;
	so.age_from_add = 1;
	so.keep_order = 0;
	if (q->t->d->sched != NULL) {
		if (q->t->d->sched(q->t->state, &so, err) < 0)
			return -1;
	} else {
		/* its first attempt on the scheduler is the first retry */
		so.attempt = task_attempt;
		q->retrier.max_attempts--;
	}
	if ((q->s = ev_sched_new(&so, task_done, q)) == NULL) {
		ev_err_set(err, "out of memory");
		return -1;
	}
	return 0;
}

struct ev_deliv *
ev_deliv_new(struct ev_target *t, const struct ev_deliv_opts *o,
    struct ev_err *err)
{
	struct ev_deliv *q = calloc(1, sizeof(*q));

	if (q == NULL) {
		ev_err_set(err, "out of memory");
		return NULL;
	}
	q->t = t;
	q->o = *o;
	if (q->o.bound == 0)
		q->o.bound = EV_DELIV_BOUND;
	ev_retrier_default(&q->retrier);
	q->retrier.errors = all_errors;
	q->retrier.nerrors = 1;
	q->retrier.interval_ms = 1000;
	q->retrier.backoff = 2.0;
	q->retrier.max_delay_ms = EV_DELIV_MAX_DELAY_MS;
	q->retrier.jitter_full = 1;
	q->retrier.max_attempts = (int)o->max_retries;
	q->seed = o->seed ? o->seed : (uint64_t)(uintptr_t)q ^ 0x9e3779b97f4a7c15ULL;
	if (t->d->sched != NULL && make_sched(q, err) < 0) {
		free(q);
		return NULL;
	}
	return q;
}

void
ev_deliv_free(struct ev_deliv *q)
{
	if (q == NULL)
		return;
	ev_sched_free(q->s);
	free(q);
}

size_t
ev_deliv_pending(const struct ev_deliv *q)
{
	return q->s != NULL ? ev_sched_pending(q->s) : 0;
}

int
ev_deliv_busy(const struct ev_deliv *q)
{
	return q->s != NULL && ev_sched_running(q->s) > 0;
}

int
ev_deliv_full(const struct ev_deliv *q)
{
	return q->s != NULL && (ev_sched_pending(q->s) >= q->o.bound ||
	    ev_sched_pending_bytes(q->s) >= EV_DELIV_BOUND_BYTES);
}

int
ev_deliv_send(struct ev_deliv *q, const char *ev, size_t elen,
    const char *payload, size_t plen, const char *file,
    unsigned long lineno, struct ev_err *err)
{
	struct ev_send_fail f;
	enum ev_send r;

	if (q->t->d->send == NULL)
		return ev_sched_add_orig(q->s, payload, plen, ev, elen, file,
		    lineno, 0, err);
	r = ev_target_send(q->t, payload, plen, &f, err);
	if (r == EV_SEND_OK) {
		if (q->t->d->batched)
			q->unflushed++;
		else
			q->delivered++;
		return 0;
	}
	if (r == EV_SEND_ERROR)
		return -1;
	return ev_deliv_failed(q, ev, elen, payload, plen, file, lineno, r,
	    &f, err);
}

int
ev_deliv_failed(struct ev_deliv *q, const char *ev, size_t elen,
    const char *payload, size_t plen, const char *file,
    unsigned long lineno, enum ev_send r, const struct ev_send_fail *f,
    struct ev_err *err)
{
	struct ev_task t;
	int64_t now;

	if (r == EV_SEND_RETRY && q->o.max_retries > 0) {
		/* the first retry goes on the scheduler, due after a delay */
		if (q->s == NULL && make_sched(q, err) < 0)
			return -1;
		return ev_sched_add_orig(q->s, payload, plen, ev, elen, file,
		    lineno, ev_now_ms() + ev_retrier_delay(&q->retrier, 1,
		    &q->seed), err);
	}
	q->dead++;
	memset(&t, 0, sizeof(t));
	now = ev_now_ms();
	t.event = ev;
	t.len = elen;
	t.payload = payload;
	t.paylen = plen;
	t.file = file;
	t.lineno = lineno;
	t.out.run = EV_RUN_ANSWER;
	snprintf(t.name, sizeof(t.name), "%s", f->name[0] ? f->name :
	    "States.TaskFailed");
	t.errlen = strlen(f->msg);
	memcpy(t.errtail, f->msg, t.errlen);
	t.exhausted = r == EV_SEND_FINAL ? "NotRetryable" :
	    "MaximumRetryAttempts";
	t.attempts = 1;
	t.first_ms = t.last_ms = now;
	return q->o.dead(q->o.ctx, &t, err);
}

int
ev_deliv_run(struct ev_deliv *q, int64_t max_ms, struct ev_err *err)
{
	if (q->s == NULL || ev_sched_pending(q->s) == 0)
		return 0;
	if (max_ms <= 0)
		return ev_sched_run(q->s, -1, err);
	/* a full queue: until it has room; else until all is done */
	return ev_sched_run_for(q->s, ev_deliv_full(q) ?
	    (long)ev_sched_pending(q->s) : 0, max_ms, err);
}

static int
stopped(void *ctx, const struct ev_task *t, struct ev_err *err)
{
	struct ev_deliv *q = ctx;
	struct ev_task d = *t;

	q->dead++;
	d.exhausted = "Stopped";
	if (d.name[0] == '\0')
		snprintf(d.name, sizeof(d.name), "%s", "Evroute.Stopped");
	if (q->t->d->send != NULL)
		d.attempts++;
	return q->o.dead(q->o.ctx, &d, err);
}

int
ev_deliv_stop(struct ev_deliv *q, struct ev_err *err)
{
	if (q->s == NULL)
		return 0;
	return ev_sched_unstarted(q->s, stopped, q, err);
}

void
ev_deliv_flushed(struct ev_deliv *q)
{
	q->delivered += q->unflushed;
	q->unflushed = 0;
}

void
ev_deliv_counts(const struct ev_deliv *q, unsigned long *delivered,
    unsigned long *retried, unsigned long *dead)
{
	*delivered = q->delivered;
	*retried = q->retried;
	*dead = q->dead;
}
