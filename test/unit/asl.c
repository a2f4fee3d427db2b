/*
 * asl.c - unit tests for lib/proc/asl.c, catch.c and dlq.c: ASL Retry and
 * Catch arrays read and validated (every message, located), the retriers'
 * order and per-retrier counters as ASL defines them, catcher matching,
 * the error output at a ResultPath, dead-letter records read back, an
 * event's age, the scheduler's --max-age, and Catch destinations.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evkit.h"
#include "tap.h"

static struct ev_err err;

/* Parse text as kind: 0 or -1, the policy left in *p. */
static int
parse(struct ev_policy *p, enum ev_asl_kind kind, const char *text)
{
	char *t = strdup(text);

	ev_err_clear(&err);
	return ev_policy_parse(p, kind, t, strlen(t), &err);
}

/* text is refused with msg at line:col. */
static void
refused(enum ev_asl_kind kind, const char *text, const char *msg,
    unsigned long line, unsigned long col)
{
	struct ev_policy p;
	int r = parse(&p, kind, text);
	int pass = r == -1 && strcmp(err.msg, msg) == 0 && err.line == line &&
	    err.col == col;

	ok(pass, "%s at %lu:%lu", msg, line, col);
	if (!pass)
		printf("#   got %d '%s' at %lu:%lu\n", r, err.msg, err.line,
		    err.col);
	ev_policy_free(&p);
}

static void
validation(void)
{
	const enum ev_asl_kind R = EV_ASL_RETRY, C = EV_ASL_CATCH;

	refused(R, "[{\"ErrorEquals\":[\"States.ALL\",\"Exit.1\"]}]",
	    "'States.ALL' must appear alone in 'ErrorEquals'", 1, 18);
	refused(R, "[{\"ErrorEquals\":[\"States.ALL\"]},\n"
	    "{\"ErrorEquals\":[\"Exit.1\"]}]",
	    "'States.ALL' must appear in the last retrier", 1, 18);
	refused(C, "[{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"f\"},\n"
	    "{\"ErrorEquals\":[\"Exit.1\"],\"Next\":\"f\"}]",
	    "'States.ALL' must appear in the last catcher", 1, 18);
	refused(R, "[{\"ErrorEquals\":[]}]",
	    "'ErrorEquals' must be a non-empty array", 1, 17);
	refused(R, "[{\"ErrorEquals\":\"X\"}]",
	    "'ErrorEquals' must be an array", 1, 17);
	refused(R, "[\n {}]", "missing member 'ErrorEquals'", 2, 2);
	refused(R, "[{\"ErrorEquals\":[\"X\",3]}]",
	    "'ErrorEquals[1]' must be a string", 1, 22);
	refused(R, "[{\"ErrorEquals\":[\"\"]}]",
	    "an error name must be a non-empty string without NUL", 1, 18);
	refused(R, "[{\"ErrorEquals\":[\"States.Bogus\"]}]",
	    "unknown error name 'States.Bogus': the prefix 'States.' is "
	    "reserved", 1, 18);
	refused(R, "[{\"ErrorEquals\":[\"X\"],\"IntervalSeconds\":0}]",
	    "'IntervalSeconds' must be an integer from 1 to 99999999", 1, 41);
	refused(R, "[{\"ErrorEquals\":[\"X\"],\"IntervalSeconds\":1.5}]",
	    "'IntervalSeconds' must be an integer from 1 to 99999999", 1, 41);
	refused(R, "[{\"ErrorEquals\":[\"X\"],\"MaxAttempts\":100000000}]",
	    "'MaxAttempts' must be an integer from 0 to 99999999", 1, 37);
	refused(R, "[{\"ErrorEquals\":[\"X\"],\"MaxAttempts\":-1}]",
	    "'MaxAttempts' must be an integer from 0 to 99999999", 1, 37);
	refused(R, "[{\"ErrorEquals\":[\"X\"],\"BackoffRate\":0.99}]",
	    "'BackoffRate' must be a number of at least 1.0", 1, 37);
	refused(R, "[{\"ErrorEquals\":[\"X\"],\"BackoffRate\":\"2\"}]",
	    "'BackoffRate' must be a number", 1, 37);
	refused(R, "[{\"ErrorEquals\":[\"X\"],\"MaxDelaySeconds\":31622401}]",
	    "'MaxDelaySeconds' must be an integer from 1 to 31622400", 1, 41);
	refused(R, "[{\"ErrorEquals\":[\"X\"],\"JitterStrategy\":\"full\"}]",
	    "'JitterStrategy' must be 'FULL' or 'NONE'", 1, 40);
	refused(R, "[{\"ErrorEquals\":[\"X\"],\"Next\":\"f\"}]",
	    "unknown member 'Next'", 1, 23);
	refused(R, "[{\"ErrorEquals\":[\"X\"],\"Comment\":1}]",
	    "'Comment' must be a string", 1, 33);
	refused(R, "[1]", "'Retry[0]' must be an object", 1, 2);
	refused(R, "\"x\"", "a Retry file must hold an array or a Task state "
	    "object", 1, 1);
	refused(R, "{\"Type\":\"Task\"}", "missing member 'Retry'", 1, 1);
	refused(C, "{\"Catch\":{}}", "'Catch' must be an array", 1, 10);
	refused(R, "[", "invalid JSON: unexpected end of input", 1, 2);
	refused(C, "[{\"ErrorEquals\":[\"X\"]}]", "missing member 'Next'", 1,
	    2);
	refused(C, "[{\"ErrorEquals\":[\"X\"],\"Next\":\"\"}]",
	    "'Next' must be a file name or 'exec:COMMAND'", 1, 30);
	refused(C, "[{\"ErrorEquals\":[\"X\"],\"Next\":\"exec: \"}]",
	    "'Next' names no command after 'exec:'", 1, 30);
	refused(C, "[{\"ErrorEquals\":[\"X\"],\"Next\":\"f\",\"ResultPath\":"
	    "\"$.a..b\"}]", "'ResultPath' must be null, '$' or a path such "
	    "as '$.error'", 1, 47);
	refused(C, "[{\"ErrorEquals\":[\"X\"],\"Next\":\"f\",\"ResultPath\":"
	    "\"error\"}]", "'ResultPath' must be null, '$' or a path such "
	    "as '$.error'", 1, 47);
	refused(C, "[{\"ErrorEquals\":[\"X\"],\"Next\":\"f\",\"MaxAttempts\":"
	    "1}]", "unknown member 'MaxAttempts'", 1, 34);
}

/*
 * ASL's own example: retriers ErrorA/ErrorB (interval 1, backoff 2, max 2)
 * and ErrorC (interval 5); errors A, B, C, B: waits of 1s, 2s, 5s, then
 * the first retrier is exhausted and the task fails.
 */
static void
order(void)
{
	struct ev_policy p;
	int counts[2] = { 0, 0 };
	uint64_t seed = 1;
	int64_t d = -1;
	const char *why = NULL;

	ok(parse(&p, EV_ASL_RETRY, "{\"Type\":\"Task\",\"Retry\":[\n"
	    " {\"ErrorEquals\":[\"ErrorA\",\"ErrorB\"],\"IntervalSeconds\":1,"
	    "\"BackoffRate\":2.0,\"MaxAttempts\":2},\n"
	    " {\"ErrorEquals\":[\"ErrorC\"],\"IntervalSeconds\":5}]}") == 0,
	    "a Task state's Retry");
	is_int(p.nretriers, 2, "two retriers");
	is_int(p.retriers[1].max_attempts, 3, "MaxAttempts defaults to 3");
	is_int(p.retriers[1].backoff * 10, 20, "BackoffRate defaults to 2.0");
	is_int(ev_retry_decide(p.retriers, 2, counts, "ErrorA", 0, &seed, &d,
	    &why), 0, "ErrorA: retrier 0");
	is_int(d, 1000, "waits 1s");
	is_int(ev_retry_decide(p.retriers, 2, counts, "ErrorB", 0, &seed, &d,
	    &why), 0, "ErrorB: retrier 0 again, one counter for both names");
	is_int(d, 2000, "waits 2s");
	is_int(ev_retry_decide(p.retriers, 2, counts, "ErrorC", 0, &seed, &d,
	    &why), 1, "ErrorC: retrier 1");
	is_int(d, 5000, "waits 5s");
	is_int(ev_retry_decide(p.retriers, 2, counts, "ErrorB", 0, &seed, &d,
	    &why), -1, "ErrorB a third time: retrier 0 is exhausted");
	is_str(why, "MaxAttempts", "MaxAttempts");
	ev_policy_free(&p);
	ok(parse(&p, EV_ASL_RETRY, "[{\"ErrorEquals\":[\"Exit.75\"],"
	    "\"IntervalSeconds\":3,\"BackoffRate\":1.5,\"MaxDelaySeconds\":4,"
	    "\"JitterStrategy\":\"FULL\",\"MaxAttempts\":0,\"Comment\":\"c\"},"
	    "{\"ErrorEquals\":[\"States.ALL\"]}]") == 0, "every field");
	is_int(p.retriers[0].interval_ms, 3000, "IntervalSeconds");
	is_int(p.retriers[0].max_delay_ms, 4000, "MaxDelaySeconds");
	ok(p.retriers[0].jitter_full, "JitterStrategy FULL");
	counts[0] = counts[1] = 0;
	is_int(ev_retry_decide(p.retriers, 2, counts, "Exit.75", 0, &seed, &d,
	    &why), -1, "MaxAttempts 0: Exit.75 fails, States.ALL not asked");
	ev_policy_free(&p);
}

static void
catchers(void)
{
	struct ev_policy p;

	ok(parse(&p, EV_ASL_CATCH, "[{\"ErrorEquals\":[\"Exit.3\"],"
	    "\"Next\":\"exec:./fix  --now\",\"ResultPath\":\"$.err\"},"
	    "{\"ErrorEquals\":[\"States.TaskFailed\"],\"Next\":\"tf\","
	    "\"ResultPath\":null},"
	    "{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"all\"}]") == 0,
	    "a Catch array");
	is_int(ev_catch_find(&p, "Exit.3"), 0, "Exit.3: catcher 0");
	is_int(ev_catch_find(&p, "Signal.KILL"), 1,
	    "Signal.KILL: States.TaskFailed");
	is_int(ev_catch_find(&p, "States.Timeout"), 2,
	    "States.Timeout: only States.ALL");
	is_str(p.catchers[0].argv[0], "./fix", "exec: the program");
	is_str(p.catchers[0].argv[1], "--now", "split at blanks");
	ok(p.catchers[0].argv[2] == NULL, "two words");
	ok(p.catchers[1].argv == NULL, "a file");
	ok(p.catchers[1].result_path == NULL, "ResultPath null");
	is_str(p.catchers[2].result_path, "$", "ResultPath defaults to $");
	ev_policy_free(&p);
}

/* ev_catch_result(ev, path) gives want (or returns r). */
static void
result(const char *ev, const char *path, int r, const char *want)
{
	struct ev_buf b = { NULL, 0, 0 };
	int got;

	ev_err_clear(&err);
	got = ev_catch_result(&b, ev, strlen(ev), path, "Exit.1", "bad\xff",
	    4, &err);
	ev_buf_add(&b, "", 1);
	if (r != 0)
		ok(got == r && strcmp(err.msg, want) == 0, "%s into %s: %s",
		    path, ev, want);
	else
		is_str(got == 0 ? b.p : err.msg, want, "%s into %s",
		    path ? path : "null", ev);
	ev_buf_free(&b);
}

static void
result_paths(void)
{
	result("{\"a\":1}", "$", 0,
	    "{\"Error\":\"Exit.1\",\"Cause\":\"bad\xef\xbf\xbd\"}");
	result("{ \"a\" : 1 }", NULL, 0, "{ \"a\" : 1 }");
	result("{ \"a\" : 1 }", "$.error", 0, "{ \"a\" : 1 ,\"error\":"
	    "{\"Error\":\"Exit.1\",\"Cause\":\"bad\xef\xbf\xbd\"}}");
	result("{}", "$.e", 0, "{\"e\":{\"Error\":\"Exit.1\",\"Cause\":"
	    "\"bad\xef\xbf\xbd\"}}");
	result("{ }", "$.x.y.z", 0, "{ \"x\":{\"y\":{\"z\":{\"Error\":"
	    "\"Exit.1\",\"Cause\":\"bad\xef\xbf\xbd\"}}}}");
	result("{\"e\":\"o\\\"ld\",\"f\":2}", "$.e", 0, "{\"e\":{\"Error\":"
	    "\"Exit.1\",\"Cause\":\"bad\xef\xbf\xbd\"},\"f\":2}");
	result("{\"d\":{\"n\":[1,{}]},\"f\":2}", "$.d.n", 0, "{\"d\":{\"n\":"
	    "{\"Error\":\"Exit.1\",\"Cause\":\"bad\xef\xbf\xbd\"}},\"f\":2}");
	result("{\"d\":{\"a\":true}}", "$.d.e", 0, "{\"d\":{\"a\":true,"
	    "\"e\":{\"Error\":\"Exit.1\",\"Cause\":\"bad\xef\xbf\xbd\"}}}");
	result("{\"d\":false,\"d\":null}", "$.d", 0, "{\"d\":false,\"d\":"
	    "{\"Error\":\"Exit.1\",\"Cause\":\"bad\xef\xbf\xbd\"}}");
	result("{\"d\":[1]}", "$.d.e", 1, "ResultPath '$.d.e' does not match "
	    "the event: not an object on the way");
	result("{\"d\":\"s\"}", "$.d.e", 1, "ResultPath '$.d.e' does not "
	    "match the event: not an object on the way");
}

static void
records(void)
{
	static const char rec[] = "{\"event\":{ \"a\" : [1] },\"error\":"
	    "\"Exit.1\",\"status\":1,\"exhausted\":\"MaxAttempts\"}";
	const char *ev = NULL;
	size_t len = 0;

	ev_err_clear(&err);
	is_int(ev_dlq_event(rec, strlen(rec), &ev, &len, &err), 0,
	    "a dead-letter record");
	ok(len == 13 && memcmp(ev, "{ \"a\" : [1] }", 13) == 0,
	    "its event, byte for byte");
	is_int(ev_dlq_event("{\"a\":1}", 7, &ev, &len, &err), -1,
	    "an event is not a record");
	is_str(err.msg, "not a dead-letter record: missing member 'event'",
	    "missing member");
	ev_err_clear(&err);
	ev = "{\"event\":1,\"error\":\"x\",\"exhausted\":\"y\"}";
	is_int(ev_dlq_event(ev, strlen(ev), &ev, &len, &err), -1,
	    "event not an object");
	ok(strcmp(err.msg, "not a dead-letter record: 'event' must be an "
	    "object") == 0 && err.col == 10, "located at the value");
	ev_err_clear(&err);
	is_int(ev_dlq_event("{\"event\":", 9, &ev, &len, &err), -1,
	    "invalid JSON");
	ok(strncmp(err.msg, "invalid JSON", 12) == 0, "invalid JSON message");
	is_int(ev_event_time("{\"time\":\"2026-12-03T00:00:01Z\"}", 31),
	    1796256001000LL, "time");
	ok(ev_event_time("{\"time\":\"yesterday\"}", 20) == INT64_MIN,
	    "no valid time");
	ok(ev_event_time("{\"time\":12}", 11) == INT64_MIN,
	    "a number is not a time string");
	ok(ev_event_time("{}", 2) == INT64_MIN, "no time");
}

struct seen {
	int n;
	char name[48];
	const char *why;
	int attempts;
};

static int
done(void *ctx, const struct ev_task *t, struct ev_err *e)
{
	struct seen *s = ctx;

	s->n++;
	snprintf(s->name, sizeof(s->name), "%s", t->name);
	s->why = t->exhausted;
	s->attempts = t->attempts;
	return 0;
}

/* --max-age on the virtual clock (2026-12-03T00:00:00Z). */
static void
max_age(void)
{
	static char *const fail[] = { "false", NULL };
	static const char old[] = "{\"time\":\"2026-12-02T23:00:00Z\"}";
	static const char young[] = "{\"time\":\"2026-12-02T23:59:58Z\"}";
	struct ev_sched_opts o;
	struct ev_retrier r;
	struct ev_sched *s;
	struct seen seen;

	memset(&o, 0, sizeof(o));
	memset(&seen, 0, sizeof(seen));
	ev_retrier_default(&r);
	o.argv = fail;
	o.jobs = 1;
	o.retriers = &r;
	o.nretriers = 1;
	o.max_age_ms = 5000;
	s = ev_sched_new(&o, done, &seen);
	ev_sched_add(s, old, strlen(old), "f", 1, &err);
	ok(ev_sched_run(s, 0, &err) == 0 && seen.n == 1, "expired: done");
	is_str(seen.name, "Event.Expired", "never run: Event.Expired");
	is_int(seen.attempts, 0, "no attempt");
	is_str(seen.why, "MaximumEventAgeInSeconds", "MaximumEventAgeInSeconds");
	ev_sched_add(s, young, strlen(young), "f", 2, &err);
	ok(ev_sched_run(s, 0, &err) == 0 && seen.n == 2, "young: done");
	/* 2s old: attempts at +0 and +1s (3s old), +3s (5s); +7s is 9s */
	is_int(seen.attempts, 3, "no retry after 5s of age");
	is_str(seen.name, "Exit.1", "the last attempt's error");
	is_str(seen.why, "MaximumEventAgeInSeconds", "gave up on its age");
	ev_sched_add(s, "{}", 2, "f", 3, &err);
	ok(ev_sched_run(s, 0, &err) == 0 && seen.n == 3, "no time: done");
	is_int(seen.attempts, 4, "no time: never too old");
	ev_sched_free(s);
}

/* Catch destinations: a file and a command, one event each. */
static void
destinations(void)
{
	struct ev_policy p;
	struct ev_sched_opts o;
	struct ev_catch *c;
	struct ev_buf out = { NULL, 0, 0 };
	struct ev_task t;
	char *reads[] = { "caught.tmp" };
	char line[256], dir[] = "/tmp/evkit-asl.XXXXXX";
	FILE *fp;

	ok(mkdtemp(dir) != NULL && chdir(dir) == 0, "in a directory of its own");
	memset(&o, 0, sizeof(o));
	memset(&t, 0, sizeof(t));
	t.event = "{\"a\":1}";
	t.len = 7;
	t.file = "f";
	t.lineno = 1;
	strcpy(t.name, "Exit.1");
	ok(parse(&p, EV_ASL_CATCH, "[{\"ErrorEquals\":[\"Exit.1\"],"
	    "\"Next\":\"caught.tmp\",\"ResultPath\":\"$.e\"},"
	    "{\"ErrorEquals\":[\"Exit.2\"],\"Next\":\"exec:sed s/^/x/\"},"
	    "{\"ErrorEquals\":[\"Exit.3\"],\"Next\":\"exec:false\"}]") == 0,
	    "catchers");
	c = ev_catch_open(&p, &o, NULL, 0, &err);
	ok(c != NULL, "opened");
	is_int(ev_catch_event(c, &t, &out, &err), 1, "caught into the file");
	strcpy(t.name, "Exit.2");
	is_int(ev_catch_event(c, &t, &out, &err), 1, "caught by a command");
	ev_buf_add(&out, "", 1);
	is_str(out.p, "x{\"Error\":\"Exit.2\",\"Cause\":\"\"}\n",
	    "its output");
	strcpy(t.name, "Exit.3");
	ev_err_clear(&err);
	is_int(ev_catch_event(c, &t, &out, &err), 0, "a command that fails");
	is_str(err.msg, "catch command 'exec:false' failed: Exit.1",
	    "says so");
	strcpy(t.name, "Exit.4");
	ev_err_clear(&err);
	ok(ev_catch_event(c, &t, &out, &err) == 0 && err.msg[0] == '\0',
	    "no catcher matches");
	is_int(ev_catch_close(c, &err), 0, "closed");
	fp = fopen("caught.tmp", "r");
	ok(fp != NULL && fgets(line, sizeof(line), fp) != NULL &&
	    strcmp(line, "{\"a\":1,\"e\":{\"Error\":\"Exit.1\",\"Cause\":"
	    "\"\"}}\n") == 0, "the file has the event with its error");
	if (fp != NULL)
		fclose(fp);
	ev_err_clear(&err);
	ok(ev_catch_open(&p, &o, reads, 1, &err) == NULL &&
	    strcmp(err.msg, "input file is also the catch file") == 0 &&
	    strcmp(err.file, "caught.tmp") == 0, "an input is no catch file");
	unlink("caught.tmp");
	ok(chdir("/") == 0 && rmdir(dir) == 0, "nothing left behind");
	ev_policy_free(&p);
	ev_buf_free(&out);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);	/* as ev_init() does for the tools */
	setenv("EVKIT_NOW", "2026-12-03T00:00:00Z", 1);
	ev_err_clear(&err);
	ev_clock_init(&err);
	validation();
	order();
	catchers();
	result_paths();
	records();
	max_age();
	destinations();
	return tap_done();
}
