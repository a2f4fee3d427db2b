/*
 * Unit tests for lib/proc: error names, retrier matching, the backoff
 * schedule (exact, and full jitter within its bounds), ASL's per-retrier
 * counters, JSON quoting, the dead-letter record, and the scheduler on the
 * virtual clock.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evkit.h"
#include "tap.h"

static void
name_is(enum ev_run run, int status, int sig, int errnum, const char *want)
{
	struct ev_outcome o = { run, status, sig, errnum };
	char buf[48];

	ev_outcome_name(&o, buf, sizeof(buf));
	is_str(buf, want, "error name %s", want);
}

static void
names(void)
{
	struct ev_outcome o = { EV_RUN_EXIT, 127, 0, 0 };

	name_is(EV_RUN_EXIT, 75, 0, 0, "Exit.75");
	name_is(EV_RUN_SIGNAL, 0, SIGKILL, 0, "Signal.KILL");
	name_is(EV_RUN_SIGNAL, 0, SIGSEGV, 0, "Signal.SEGV");
	name_is(EV_RUN_TIMEOUT, 0, 0, 0, "States.Timeout");
	name_is(EV_RUN_NOEXEC, 0, 0, ENOENT, "Exec.NotFound");
	name_is(EV_RUN_NOEXEC, 0, 0, EACCES, "Exec.NotExecutable");
	ok(ev_outcome_final(&o), "exit 127 is final");
	o.status = 126;
	ok(ev_outcome_final(&o), "exit 126 is final");
	o.status = 1;
	ok(!ev_outcome_final(&o), "exit 1 is not final");
}

static void
matching(void)
{
	static const char *const tf[] = { "States.TaskFailed" };
	static const char *const two[] = { "Exit.75", "Signal.KILL" };
	struct ev_retrier r;

	ev_retrier_default(&r);
	ok(ev_retrier_matches(&r, "States.Timeout"), "States.ALL: timeout");
	ok(ev_retrier_matches(&r, "Exit.1"), "States.ALL: Exit.1");
	r.errors = tf;
	ok(!ev_retrier_matches(&r, "States.Timeout"),
	    "States.TaskFailed does not match States.Timeout");
	ok(ev_retrier_matches(&r, "Signal.TERM"),
	    "States.TaskFailed matches Signal.TERM");
	r.errors = two;
	r.nerrors = 2;
	ok(ev_retrier_matches(&r, "Signal.KILL"), "a listed name matches");
	ok(!ev_retrier_matches(&r, "Exit.7"), "another name does not");
	ok(!ev_retrier_matches(&r, "Exit.750"), "nor a longer one");
}

static void
schedule(void)
{
	struct ev_retrier r;
	uint64_t seed = 42, seed2 = 42;
	int64_t d, lo = -1, hi = -1;
	int i, n;

	ev_retrier_default(&r);
	is_int(r.interval_ms, 1000, "default IntervalSeconds 1");
	is_int(r.max_attempts, 3, "default MaxAttempts 3");
	is_int(ev_retrier_delay(&r, 1, &seed), 1000, "retry 1: 1s");
	is_int(ev_retrier_delay(&r, 2, &seed), 2000, "retry 2: 2s");
	is_int(ev_retrier_delay(&r, 3, &seed), 4000, "retry 3: 4s");
	r.interval_ms = 3000;
	r.backoff = 1.5;
	r.max_delay_ms = 5000;
	is_int(ev_retrier_delay(&r, 1, &seed), 3000, "3s x 1.5^0");
	is_int(ev_retrier_delay(&r, 2, &seed), 4500, "3s x 1.5^1");
	is_int(ev_retrier_delay(&r, 3, &seed), 5000, "capped at 5s");
	is_int(ev_retrier_delay(&r, 60, &seed), 5000, "still 5s");
	r.max_delay_ms = 0;
	r.backoff = 1.0;
	is_int(ev_retrier_delay(&r, 9, &seed), 3000, "backoff 1.0: flat");
	r.backoff = 2.0;
	r.jitter_full = 1;
	n = 0;
	for (i = 0; i < 1000; i++) {
		d = ev_retrier_delay(&r, 3, &seed);
		if (d >= 0 && d <= 12000)
			n++;
		if (lo < 0 || d < lo)
			lo = d;
		if (d > hi)
			hi = d;
	}
	is_int(n, 1000, "full jitter: 1000 delays within [0, 12s]");
	ok(lo < 1200 && hi > 10800, "full jitter spreads over the range "
	    "(%lld..%lld)", (long long)lo, (long long)hi);
	ok(ev_retrier_delay(&r, 3, &seed2) == ev_retrier_delay(&r, 3,
	    &(uint64_t){ 42 }), "one seed, one jitter");
}

static void
counters(void)
{
	static const char *const e75[] = { "Exit.75" };
	static const char *const all[] = { "States.ALL" };
	struct ev_retrier rs[2];
	int counts[2] = { 0, 0 };
	uint64_t seed = 1;
	int64_t d = -1;
	const char *why = NULL;

	ev_retrier_default(&rs[0]);
	ev_retrier_default(&rs[1]);
	rs[0].errors = e75;
	rs[0].max_attempts = 2;
	rs[0].interval_ms = 10000;
	rs[1].errors = all;
	rs[1].max_attempts = 1;
	is_int(ev_retry_decide(rs, 2, counts, "Exit.75", 0, &seed, &d, &why),
	    0, "Exit.75: the first retrier");
	is_int(d, 10000, "its first delay");
	is_int(ev_retry_decide(rs, 2, counts, "Exit.1", 0, &seed, &d, &why),
	    1, "Exit.1: the second");
	is_int(d, 1000, "with its own first delay");
	is_int(ev_retry_decide(rs, 2, counts, "Exit.75", 0, &seed, &d, &why),
	    0, "Exit.75 again: the first, its counter at 2");
	is_int(d, 20000, "its second delay");
	is_int(ev_retry_decide(rs, 2, counts, "Exit.75", 0, &seed, &d, &why),
	    -1, "Exit.75 a third time: failed, not passed to States.ALL");
	is_str(why, "MaxAttempts", "exhausted: MaxAttempts");
	counts[0] = counts[1] = 0;
	rs[1].errors = e75;
	is_int(ev_retry_decide(rs, 2, counts, "Exit.1", 0, &seed, &d, &why),
	    -1, "no retrier matches");
	is_str(why, "NoRetrier", "exhausted: NoRetrier");
	rs[0].errors = all;
	is_int(ev_retry_decide(rs, 2, counts, "Exec.NotFound", 1, &seed, &d,
	    &why), -1, "a final error is not retried");
	is_str(why, "NotRetryable", "exhausted: NotRetryable");
	rs[0].max_attempts = 0;
	is_int(ev_retry_decide(rs, 2, counts, "Exit.1", 0, &seed, &d, &why),
	    -1, "MaxAttempts 0 never retries");
}

static void
records(void)
{
	struct ev_buf b = { NULL, 0, 0 };
	struct ev_task t;

	ev_json_quote(&b, "a\"b\\c\n\x01\x7f\xc3\xa9", 10);
	ev_buf_add(&b, "", 1);
	is_str(b.p, "\"a\\\"b\\\\c\\n\\u0001\\u007f\xc3\xa9\"",
	    "JSON quoting");
	ev_buf_free(&b);
	memset(&t, 0, sizeof(t));
	t.event = "{ \"a\" : 1 }";
	t.len = strlen(t.event);
	t.file = "in\n.ndjson";
	t.lineno = 7;
	t.out.run = EV_RUN_SIGNAL;
	t.out.sig = SIGKILL;
	strcpy(t.name, "Signal.KILL");
	t.exhausted = "MaxAttempts";
	memcpy(t.errtail, "\xa9x\xc3", 3);	/* cut UTF-8 both ends */
	t.errlen = 3;
	t.attempts = 4;
	t.first_ms = 0;
	t.last_ms = 7001;
	ev_dlq_record(&b, &t);
	ev_buf_add(&b, "", 1);
	is_str(b.p, "{\"event\":{ \"a\" : 1 },\"error\":\"Signal.KILL\","
	    "\"status\":null,\"signal\":\"KILL\",\"stderr\":\"\xef\xbf\xbdx"
	    "\xef\xbf\xbd\",\"attempts\":4,\"exhausted\":\"MaxAttempts\","
	    "\"firstAttempt\":\"1970-01-01T00:00:00Z\",\"lastAttempt\":"
	    "\"1970-01-01T00:00:07.001Z\",\"source\":\"in\\n.ndjson\","
	    "\"line\":7}\n", "the dead-letter record");
	ev_buf_free(&b);
	t.rule_arn = "arn:aws:events:x:1:rule/r";
	t.target_arn = "file:t";
	t.message = "InputPath '$.x' matches nothing";
	t.payload = "a\nb";
	t.paylen = 3;
	ev_dlq_record(&b, &t);
	ev_buf_add(&b, "", 1);
	ok(strstr(b.p, "\"line\":7,\"payload\":\"a\\nb\",\"attributes\":"
	    "{\"RULE_ARN\":\"arn:aws:events:x:1:rule/r\",\"TARGET_ARN\":"
	    "\"file:t\",\"ERROR_CODE\":\"Signal.KILL\",\"ERROR_MESSAGE\":"
	    "\"InputPath '$.x' matches nothing\",\"EXHAUSTED_RETRY_CONDITION\":"
	    "\"MaxAttempts\",\"RETRY_ATTEMPTS\":3}}\n") != NULL,
	    "an event bus's record: the payload and EventBridge's attributes");
	ev_buf_free(&b);
}

struct seen {
	int n;
	struct ev_task t[4];
	char out[4][16];
};

static int
done(void *ctx, const struct ev_task *t, struct ev_err *err)
{
	struct seen *s = ctx;

	if (s->n < 4) {
		s->t[s->n] = *t;
		snprintf(s->out[s->n], sizeof(s->out[0]), "%.*s",
		    (int)t->outlen, t->output);
	}
	s->n++;
	return 0;
}

static void
sched(void)
{
	static char *const fail[] = { "sh", "-c", "cat >/dev/null; "
	    "echo no >&2; exit 3", NULL };
	static char *const echo[] = { "cat", NULL };
	struct ev_sched_opts o;
	struct ev_retrier r;
	struct ev_sched *s;
	struct seen seen;
	struct ev_err err;
	int64_t t0 = ev_now_ms();

	memset(&o, 0, sizeof(o));
	memset(&seen, 0, sizeof(seen));
	ev_retrier_default(&r);
	o.argv = fail;
	o.jobs = 2;
	o.retriers = &r;
	o.nretriers = 1;
	ev_err_clear(&err);
	s = ev_sched_new(&o, done, &seen);
	ev_sched_add(s, "{}", 2, "f", 1, &err);
	ok(ev_sched_run(s, 0, &err) == 0, "scheduler runs");
	is_int(seen.n, 1, "one task done");
	is_int(seen.t[0].attempts, 4, "after 4 attempts");
	is_str(seen.t[0].name, "Exit.3", "Exit.3");
	is_int(seen.t[0].first_ms - t0, 0, "first attempt at once");
	is_int(seen.t[0].last_ms - t0, 7000,
	    "last attempt 1s + 2s + 4s later on the virtual clock");
	is_int((long long)seen.t[0].errlen, 3, "stderr kept");
	ev_sched_free(s);
	o.argv = echo;
	o.keep_order = 1;
	memset(&seen, 0, sizeof(seen));
	s = ev_sched_new(&o, done, &seen);
	ev_sched_add(s, "{\"n\":1}", 7, "f", 1, &err);
	ev_sched_add(s, "{\"n\":2}", 7, "f", 2, &err);
	ev_sched_add(s, "{\"n\":3}", 7, "f", 3, &err);
	ok(ev_sched_run(s, 0, &err) == 0 && seen.n == 3, "three done");
	is_str(seen.out[0], "{\"n\":1}\n", "in order 1");
	is_str(seen.out[2], "{\"n\":3}\n", "in order 3");
	ok(seen.t[1].exhausted == NULL, "success");
	ev_sched_free(s);
}

/* The first attempt's time of the task from line n, after t0. */
static int64_t
first_of(const struct seen *sn, unsigned long n, int64_t t0)
{
	int i;

	for (i = 0; i < sn->n && i < 4; i++)
		if (sn->t[i].lineno == n)
			return sn->t[i].first_ms - t0;
	return -1;
}

static int
count(void *ctx, const struct ev_task *t, struct ev_err *err)
{
	(*(int *)ctx)++;
	return 0;
}

static void
scheduler(void)
{
	static char *const fail[] = { "false", NULL };
	static char *const cat[] = { "cat", NULL };
	static char *const answer[] = { "sh", "-c", "while read -r e; do "
	    "case $e in *2*) echo '{\"evkit-error\":{\"Error\":\"Busy\","
	    "\"Cause\":\"later\"}}' ;; *) echo \"$e\" ;; esac; done", NULL };
	struct ev_sched_opts o;
	struct ev_retrier r;
	struct ev_sched *s;
	struct seen sn;
	struct ev_err err;
	int64_t t0, per;
	int n, left;

	ev_err_clear(&err);
	ok(ev_rate_parse("5/s", &n, &per, &err) == 0 && n == 5 &&
	    per == 1000, "rate 5/s");
	ok(ev_rate_parse("30/m", &n, &per, &err) == 0 && n == 30 &&
	    per == 60000, "rate 30/m");
	ok(ev_rate_parse("0/s", &n, &per, &err) < 0, "rate 0/s refused");
	ok(ev_rate_parse("5/h", &n, &per, &err) < 0, "rate 5/h refused");
	ok(ev_rate_parse("5", &n, &per, &err) < 0, "a rate needs its unit");
	ok(ev_rate_parse("-5/s", &n, &per, &err) < 0, "rate -5/s refused");

	/* the rate spaces attempts evenly, on the virtual clock */
	memset(&o, 0, sizeof(o));
	ev_retrier_default(&r);
	r.max_attempts = 0;
	o.argv = fail;
	o.jobs = 4;
	o.retriers = &r;
	o.nretriers = 1;
	o.rate_n = 4;
	o.rate_ms = 1000;
	memset(&sn, 0, sizeof(sn));
	s = ev_sched_new(&o, done, &sn);
	t0 = ev_now_ms();
	ev_sched_add(s, "{}", 2, "f", 1, &err);
	ev_sched_add(s, "{}", 2, "f", 2, &err);
	ev_sched_add(s, "{}", 2, "f", 3, &err);
	ok(ev_sched_run(s, 0, &err) == 0 && sn.n == 3, "rate: three done");
	is_int(first_of(&sn, 1, t0), 0, "rate 4/s: the first at once");
	is_int(first_of(&sn, 2, t0), 250, "the second 250ms later");
	is_int(first_of(&sn, 3, t0), 500, "the third 500ms later");
	ev_sched_free(s);

	/* groups: one at a time, a retry holding back its group */
	o.rate_n = 0;
	r.max_attempts = 1;
	memset(&sn, 0, sizeof(sn));
	s = ev_sched_new(&o, done, &sn);
	t0 = ev_now_ms();
	ev_sched_add_key(s, "{}", 2, "\"a\"", 3, "f", 1, &err);
	ev_sched_add_key(s, "{}", 2, "\"a\"", 3, "f", 2, &err);
	ev_sched_add_key(s, "{}", 2, "\"b\"", 3, "f", 3, &err);
	ev_sched_add_key(s, "{}", 2, NULL, 0, "f", 4, &err);
	ok(ev_sched_run(s, 0, &err) == 0 && sn.n == 4, "groups: four done");
	is_int(first_of(&sn, 1, t0), 0, "group a: the first at once");
	is_int(first_of(&sn, 2, t0), 1000,
	    "group a: the second after the first's retry");
	is_int(first_of(&sn, 3, t0), 0, "group b at once");
	is_int(first_of(&sn, 4, t0), 0, "no group at once");
	ev_sched_free(s);

	/* the breaker: failed attempts in a row stop it */
	o.breaker = 2;
	o.jobs = 1;
	memset(&sn, 0, sizeof(sn));
	s = ev_sched_new(&o, done, &sn);
	for (n = 1; n <= 5; n++)
		ev_sched_add(s, "{}", 2, "f", (unsigned long)n, &err);
	ok(ev_sched_run(s, 0, &err) == 0, "breaker: run returns");
	is_int(ev_sched_stopped(s), EV_SCHED_BREAKER, "the breaker opened");
	is_int(sn.n, 0, "nothing failed for good");
	left = 0;
	ok(ev_sched_unstarted(s, count, &left, &err) == 0 && left == 5,
	    "five not run: two waiting for a retry, three not started");
	is_int((long long)ev_sched_pending(s), 0, "none pending then");
	ev_sched_free(s);

	/* persistent handlers: answers in order, error answers */
	o.breaker = 0;
	o.persistent = 1;
	o.argv = cat;
	o.keep_order = 0;
	memset(&sn, 0, sizeof(sn));
	s = ev_sched_new(&o, done, &sn);
	ev_sched_add(s, "{\"n\":1}", 7, "f", 1, &err);
	ev_sched_add(s, "{\"n\":2}", 7, "f", 2, &err);
	is_int((long long)ev_sched_pending_bytes(s), 14, "14 bytes pending");
	ok(ev_sched_run(s, 0, &err) == 0 && sn.n == 2, "persistent: done");
	is_int((long long)ev_sched_pending_bytes(s), 0, "none then");
	is_str(sn.out[0], "{\"n\":1}\n", "answer 1");
	is_str(sn.out[1], "{\"n\":2}\n", "answer 2");
	is_int(sn.t[1].attempts, 1, "one attempt");
	ev_sched_free(s);
	o.argv = answer;
	r.max_attempts = 0;
	memset(&sn, 0, sizeof(sn));
	s = ev_sched_new(&o, done, &sn);
	ev_sched_add(s, "{\"n\":1}", 7, "f", 1, &err);
	ev_sched_add(s, "{\"n\":2}", 7, "f", 2, &err);
	ev_sched_add(s, "{\"n\":3}", 7, "f", 3, &err);
	ok(ev_sched_run(s, 0, &err) == 0 && sn.n == 3, "errors: done");
	is_str(sn.t[1].name, "Busy", "the answer names the error");
	is_int(sn.t[1].out.run, EV_RUN_ANSWER, "an answered error");
	ok(sn.t[1].errlen == 5 && memcmp(sn.t[1].errtail, "later", 5) == 0,
	    "its Cause kept");
	ok(sn.t[2].exhausted == NULL, "the next one succeeds");
	ev_sched_free(s);
}

int
main(void)
{
	struct ev_err err;

	signal(SIGPIPE, SIG_IGN);	/* as ev_init() does */
	setenv("EVKIT_NOW", "2026-12-03T00:00:00Z", 1);
	ev_err_clear(&err);
	ev_clock_init(&err);
	names();
	matching();
	schedule();
	counters();
	records();
	sched();
	scheduler();
	return tap_done();
}
