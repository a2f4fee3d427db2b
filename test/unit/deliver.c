/*
 * Unit tests for lib/route/deliver.c: the words of exec: and pipe: URIs,
 * and delivery queues over a driver of the test's own (in-process
 * retries on the scheduler, final failures, MaximumRetryAttempts, the
 * dead-letter callback, the bound) and over exec:.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evkit.h"
#include "tap.h"

static struct ev_err err;

/* A driver that fails each payload "fail:N" N times, "final" for good. */
static int calls;
static char fails[16][32];	/* payload -> failures so far */

static int
fake_open(const char *uri, void **state, struct ev_err *e)
{
	(void)uri;
	(void)e;
	*state = NULL;
	return 0;
}

static enum ev_send
fake_send(void *state, const char *p, size_t n, struct ev_send_fail *f,
    struct ev_err *e)
{
	int want, i;

	(void)state;
	(void)e;
	calls++;
	if (n == 5 && memcmp(p, "final", 5) == 0) {
		snprintf(f->name, sizeof(f->name), "Fake.Final");
		snprintf(f->msg, sizeof(f->msg), "no way");
		return EV_SEND_FINAL;
	}
	if (n < 6 || memcmp(p, "fail:", 5) != 0)
		return EV_SEND_OK;
	want = atoi(p + 5);
	i = p[n - 1] - '0';	/* one slot per last digit */
	if (fails[i][0] < want) {
		fails[i][0]++;
		snprintf(f->name, sizeof(f->name), "Fake.Busy");
		snprintf(f->msg, sizeof(f->msg), "try %d", fails[i][0]);
		return EV_SEND_RETRY;
	}
	return EV_SEND_OK;
}

static int
fake_close(void *state, struct ev_err *e)
{
	(void)state;
	(void)e;
	return 0;
}

static const struct ev_target_driver fake = {
	"fake", fake_open, fake_send, NULL, fake_close, NULL, NULL, 0, NULL
};

struct dead {
	int n;
	char name[48], exhausted[48], msg[64], payload[64], event[64];
	int attempts;
};

static int
on_dead(void *ctx, const struct ev_task *t, struct ev_err *e)
{
	struct dead *d = ctx;

	(void)e;
	d->n++;
	snprintf(d->name, sizeof(d->name), "%s", t->name);
	snprintf(d->exhausted, sizeof(d->exhausted), "%s", t->exhausted);
	snprintf(d->msg, sizeof(d->msg), "%.*s", (int)t->errlen, t->errtail);
	snprintf(d->payload, sizeof(d->payload), "%.*s", (int)t->paylen,
	    t->payload);
	snprintf(d->event, sizeof(d->event), "%.*s", (int)t->len, t->event);
	d->attempts = t->attempts;
	return 0;
}

static void
drain(struct ev_deliv *q)
{
	int i;

	for (i = 0; i < 1000 && ev_deliv_pending(q) > 0; i++)
		ev_deliv_run(q, 50, &err);
}

static void
test_words(void)
{
	char **w;

	w = ev_uri_words("  a 'b c'  \"d \\\" e\" f\\ g h\\\\i ''", &err);
	ok(w != NULL, "words split");
	if (w == NULL)
		return;
	is_str(w[0], "a", "a bare word");
	is_str(w[1], "b c", "single quotes");
	is_str(w[2], "d \" e", "double quotes with \\\"");
	is_str(w[3], "f g", "a backslash keeps a blank");
	is_str(w[4], "h\\i", "and a backslash");
	is_str(w[5], "", "an empty quoted word");
	ok(w[6] == NULL, "six words");
	free(w);
	ok(ev_uri_words("a 'b", &err) == NULL, "unterminated quote");
	is_str(err.msg, "unterminated quote", "its message");
	ok(ev_uri_words(" \t", &err) == NULL, "nothing");
	is_str(err.msg, "no command", "its message");
}

static void
test_fake(void)
{
	struct ev_target *t = ev_target_open_driver(&fake, "fake:", &err);
	struct ev_deliv_opts o;
	struct ev_deliv *q;
	struct dead d;
	unsigned long del, ret, dead;

	ok(t != NULL, "a driver of our own opens");
	memset(&o, 0, sizeof(o));
	memset(&d, 0, sizeof(d));
	o.max_retries = 3;
	o.max_age_ms = 86400000;
	o.seed = 42;
	o.dead = on_dead;
	o.ctx = &d;
	q = ev_deliv_new(t, &o, &err);
	ok(q != NULL, "a queue");
	ok(ev_deliv_send(q, "{}", 2, "ok", 2, "f", 1, &err) == 0, "sent");
	ok(ev_deliv_pending(q) == 0, "delivered at once: nothing pending");
	ok(ev_deliv_send(q, "{\"a\":1}", 7, "fail:2 1", 8, "f", 2, &err) == 0,
	    "a failing one");
	ok(ev_deliv_send(q, "{\"a\":2}", 7, "fail:9 2", 8, "f", 3, &err) == 0,
	    "one failing too often");
	is_int((int)ev_deliv_pending(q), 2, "both wait for a retry");
	ev_deliv_run(q, 0, &err);
	is_int(calls, 3, "nothing is due yet: no attempt without waiting");
	drain(q);
	ev_deliv_counts(q, &del, &ret, &dead);
	is_int((int)del, 2, "the first and the one that succeeded later");
	is_int((int)ret, 2 + 3, "retries: 2 and 3");
	is_int((int)dead, 1, "one dead");
	is_int(d.n, 1, "dead called once");
	is_str(d.name, "Fake.Busy", "its error name");
	is_str(d.exhausted, "MaximumRetryAttempts", "exhausted");
	is_str(d.msg, "try 4", "the last message");
	is_str(d.payload, "fail:9 2", "the payload");
	is_str(d.event, "{\"a\":2}", "the event");
	is_int(d.attempts, 4, "attempts: the first and 3 retries");
	ok(ev_deliv_send(q, "{}", 2, "final", 5, "f", 4, &err) == 0,
	    "a final failure");
	is_str(d.exhausted, "NotRetryable", "dead at once");
	is_str(d.name, "Fake.Final", "with its name");
	is_int(d.attempts, 1, "one attempt");
	ev_deliv_free(q);
	ev_target_close(t, &err);
}

static void
test_exec(void)
{
	struct ev_target *t = ev_target_open("exec:sh -c 'exit 3'", &err);
	struct ev_deliv_opts o;
	struct ev_deliv *q;
	struct dead d;
	unsigned long del, ret, dead;
	int i;

	ok(t != NULL, "exec: opens");
	if (t == NULL)
		return;
	memset(&o, 0, sizeof(o));
	memset(&d, 0, sizeof(d));
	o.max_retries = 1;
	o.max_age_ms = 86400000;
	o.bound = 3;
	o.seed = 7;
	o.dead = on_dead;
	o.ctx = &d;
	q = ev_deliv_new(t, &o, &err);
	for (i = 0; i < 3; i++)
		ev_deliv_send(q, "{}", 2, "{\"p\":1}", 7, "f", 1, &err);
	ok(ev_deliv_full(q), "three pending fill a bound of three");
	drain(q);
	ev_deliv_counts(q, &del, &ret, &dead);
	is_int((int)dead, 3, "all dead");
	is_int((int)ret, 3, "one retry each");
	is_str(d.name, "Exit.3", "exit status name");
	is_str(d.payload, "{\"p\":1}", "the payload fed to it");
	is_int(d.attempts, 2, "two attempts");
	ok(!ev_deliv_full(q), "room again");
	ev_deliv_free(q);
	ev_target_close(t, &err);
}

int
main(void)
{
	setenv("EVKIT_NOW", "2026-12-03T00:00:00Z", 1);
	signal(SIGPIPE, SIG_IGN);	/* as ev_init() does */
	ev_err_clear(&err);
	ev_clock_init(&err);
	test_words();
	test_fake();
	test_exec();
	return tap_done();
}
