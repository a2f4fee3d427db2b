/*
 * Unit tests for lib/store/dedupe.c: keys and values from paths' values,
 * event times, the filter in memory and with a state (batched verdicts in
 * input order, the same as one event at a time; TTL windows; conflicts
 * with their first place; claim and commit; rollback when the output did
 * not get out), --stat and --expire, and the file checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evkit.h"
#include "tap.h"

/* What emit saw: verdicts in order, and the lines. */
static struct {
	int v[40000];
	unsigned long line[40000];
	int n;
	char first[256];
	int flush_fails;
} got;

static int
emit(void *ctx, const struct ev_dedupe_event *ev, enum ev_dedupe_verdict v,
    struct ev_err *err)
{
	if (got.n < 40000) {
		got.v[got.n] = v;
		got.line[got.n] = ev->lineno;
	}
	got.n++;
	return 0;
}

static int
flush(void *ctx)
{
	return got.flush_fails ? -1 : 0;
}

static void
conflict(void *ctx, const struct ev_dedupe_event *ev, const char *first)
{
	snprintf(got.first, sizeof(got.first), "%s", first);
}

static struct ev_dedupe *
filter(const char *state, enum ev_dedupe_mode mode, int64_t ttl,
    int validate)
{
	struct ev_dedupe_opts o;
	struct ev_err err;
	struct ev_dedupe *d;

	memset(&o, 0, sizeof(o));
	o.mode = mode;
	o.state = state;
	o.ttl = ttl;
	o.lease = 1000;
	o.validate = validate;
	o.emit = emit;
	o.flush = flush;
	o.conflict = conflict;
	ev_err_clear(&err);
	if ((d = ev_dedupe_open(&o, &err)) == NULL)
		printf("# %s\n", err.msg);
	got.n = 0;
	return d;
}

/* Add an event with key "k<key>" at time t, value v, on line line. */
static int
add(struct ev_dedupe *d, int key, int64_t t, uint64_t v, unsigned long line)
{
	struct ev_dedupe_event ev;
	struct ev_err err;
	char k[32];

	memset(&ev, 0, sizeof(ev));
	snprintf(k, sizeof(k), "k%d", key);
	ev_key_hash(k, strlen(k), &ev.key);
	ev.file = "in";
	ev.lineno = line;
	ev.buf = k;
	ev.len = strlen(k);
	ev.time = t;
	ev.value = v;
	ev.fixed = -1;
	ev_err_clear(&err);
	return ev_dedupe_add(d, &ev, &err);
}

static int
end(struct ev_dedupe *d)
{
	struct ev_err err;
	int r;

	ev_err_clear(&err);
	r = ev_dedupe_flush(d, 1, &err);
	if (ev_dedupe_close(d, &err) < 0)
		r = -1;
	return r;
}

/* A verdict string of got: P pass, R repeat, C conflict. */
static const char *
verdicts(void)
{
	static char s[64];
	int i;

	for (i = 0; i < got.n && i < 63; i++)
		s[i] = "PRC"[got.v[i]];
	s[i] = '\0';
	return s;
}

static void
test_keys(void)
{
	struct ev_buf canon = { NULL, 0, 0 };
	struct ev_span v[3];
	struct ev_key a, b;
	struct ev_err err;
	uint64_t h1, h2;
	int64_t t;
	int absent = -1;

	ev_err_clear(&err);
	v[0] = (struct ev_span){ "{\"b\":1, \"a\":[1,2]}", 18 };
	v[1] = (struct ev_span){ "\"x\"", 3 };
	is_int(ev_dedupe_key(v, 2, &canon, &a, &absent, &err), 0,
	    "a composite key");
	is_str((canon.p[canon.len] = '\0', canon.p),
	    "{\"a\":[1,2],\"b\":1}\n\"x\"", "canonical values, one a line");
	v[0] = (struct ev_span){ "{\"a\":[1,2],\"b\":1}", 17 };
	v[1] = (struct ev_span){ "\"\\u0078\"", 8 };
	ev_dedupe_key(v, 2, &canon, &b, &absent, &err);
	ok(a.hi == b.hi && a.lo == b.lo, "member order and escapes do not "
	    "matter");
	v[1] = (struct ev_span){ "1", 1 };
	v[2] = (struct ev_span){ "\"1\"", 3 };
	ev_dedupe_key(v + 1, 1, &canon, &a, &absent, &err);
	ev_dedupe_key(v + 2, 1, &canon, &b, &absent, &err);
	ok(a.hi != b.hi || a.lo != b.lo, "1 and \"1\" are different keys");
	v[1] = (struct ev_span){ NULL, 0 };
	is_int(ev_dedupe_key(v, 2, &canon, &a, &absent, &err), 1,
	    "an absent value");
	is_int(absent, 1, "which one");
	v[0] = (struct ev_span){ "{\"a\":", 5 };
	is_int(ev_dedupe_key(v, 1, &canon, &a, &absent, &err), -1,
	    "invalid JSON");
	ok(strstr(err.msg, "invalid JSON") != NULL, "says so: %s", err.msg);

	v[0] = (struct ev_span){ "{\"b\":2,\"a\":1}", 13 };
	v[1] = (struct ev_span){ "{\"a\":1,\"b\":2}", 13 };
	ev_dedupe_value(&v[0], &canon, &h1, &err);
	ev_dedupe_value(&v[1], &canon, &h2, &err);
	ok(h1 == h2 && h1 != 0, "values compare canonically");
	v[2] = (struct ev_span){ NULL, 0 };
	ok(ev_dedupe_value(&v[2], &canon, &h1, &err) == 0 && h1 == 0,
	    "an absent value is 0");

	v[0] = (struct ev_span){ "\"2026-01-01T00:00:01Z\"", 22 };
	ok(ev_dedupe_time(&v[0], &t) == 0 && t == 1767225601000,
	    "an RFC 3339 time");
	v[0] = (struct ev_span){ "1767225601", 10 };
	ok(ev_dedupe_time(&v[0], &t) == 0 && t == 1767225601000,
	    "seconds since 1970");
	v[0] = (struct ev_span){ "\"soon\"", 6 };
	ok(ev_dedupe_time(&v[0], &t) < 0, "not a time");
	ev_buf_free(&canon);
}

static void
test_memory(void)
{
	struct ev_dedupe *d;
	struct ev_dedupe_counts n;
	struct ev_err err;

	ev_err_clear(&err);
	d = filter(NULL, EV_DEDUPE_CHECK, 10, 0);
	add(d, 1, 0, 0, 1);
	add(d, 2, 1, 0, 2);
	add(d, 1, 9, 0, 3);
	add(d, 1, 10, 0, 4);	/* the window ended */
	add(d, 1, 19, 0, 5);	/* and restarted at 10 */
	is_int((int)got.n, 0, "in memory: held in a batch, not emitted yet");
	ok(ev_dedupe_flush(d, 0, &err) == 0, "flushed");
	n = ev_dedupe_counts(d);
	is_str(verdicts(), "PPRPR", "in memory: first passes, TTL window");
	ok(n.passed == 3 && n.repeats == 2 && n.conflicts == 0, "counts");
	ok(end(d) == 0, "end");

	d = filter(NULL, EV_DEDUPE_CHECK, 0, 1);
	add(d, 1, 0, 7, 1);
	add(d, 1, 0, 7, 2);
	add(d, 1, 0, 8, 3);
	is_str(verdicts(), "PRC", "validate: same value a repeat, another "
	    "a conflict");
	is_str(got.first, "in:1", "with where the key was first seen");
	ok(ev_dedupe_counts(d).conflicts == 1, "counted");
	end(d);
}

/*
 * A state's verdicts, in batches, are those of the key set, one event at
 * a time: keys from a small pool, times that jump ahead and back.
 */
static void
test_batches(const char *path)
{
	static int want[20000];
	struct ev_dedupe *m, *s;
	int i, key, same = 1, inorder = 1;
	int64_t t = 0;

	srand(7);
	m = filter(NULL, EV_DEDUPE_CHECK, 50, 0);
	for (i = 0; i < 20000; i++) {
		key = rand() % 3000;
		t += rand() % 3;
		add(m, key, t - rand() % 5, 0, (unsigned long)i + 1);
	}
	end(m);
	is_int(got.n, 20000, "in memory: every event emitted once");
	memcpy(want, got.v, sizeof(want));
	srand(7);
	s = filter(path, EV_DEDUPE_CHECK, 50, 0);
	t = 0;
	for (i = 0; i < 20000; i++) {
		key = rand() % 3000;
		t += rand() % 3;
		add(s, key, t - rand() % 5, 0, (unsigned long)i + 1);
	}
	ok(end(s) == 0, "a state run ends");
	is_int(got.n, 20000, "every event emitted once");
	for (i = 0; i < 20000; i++) {
		same &= got.v[i] == want[i];
		inorder &= got.line[i] == (unsigned long)i + 1;
	}
	ok(inorder, "in input order");
	ok(same, "batched verdicts are those of one event at a time");

	/* a second run over the committed state: all repeats, none passed */
	srand(7);
	s = filter(path, EV_DEDUPE_CHECK, 0, 0);
	t = 0;
	for (i = 0; i < 20000; i++) {
		key = rand() % 3000;
		t += rand() % 3;
		add(s, key, 1000000 + rand() % 5, 0, (unsigned long)i + 1);
	}
	end(s);
	for (i = 0, same = 1; i < 20000; i++)
		same &= got.v[i] == EV_DEDUPE_REPEAT;
	ok(same, "keys committed: all repeats in the next run");
}

static void
test_state(const char *dir)
{
	struct ev_buf out = { NULL, 0, 0 };
	struct ev_dedupe *d;
	struct ev_err err;
	char p[256];

	snprintf(p, sizeof(p), "%s/v.db", dir);
	d = filter(p, EV_DEDUPE_CHECK, 0, 1);
	add(d, 1, 0, 7, 1);
	add(d, 1, 0, 8, 2);
	add(d, 2, 0, 1, 3);
	end(d);
	is_str(verdicts(), "PCP", "validate with a state");
	is_str(got.first, "in:1", "the first place from the state");

	/* output that did not get out commits nothing */
	snprintf(p, sizeof(p), "%s/r.db", dir);
	d = filter(p, EV_DEDUPE_CHECK, 0, 0);
	add(d, 1, 0, 0, 1);
	got.flush_fails = 1;
	end(d);
	got.flush_fails = 0;
	d = filter(p, EV_DEDUPE_CHECK, 0, 0);
	add(d, 1, 0, 0, 1);
	add(d, 1, 0, 0, 2);
	end(d);
	is_str(verdicts(), "PR", "rolled back: the key passes again");

	/* claim and commit */
	snprintf(p, sizeof(p), "%s/c.db", dir);
	d = filter(p, EV_DEDUPE_CLAIM, 0, 0);
	add(d, 1, 0, 0, 1);
	add(d, 2, 0, 0, 2);
	add(d, 1, 0, 0, 3);
	end(d);
	is_str(verdicts(), "PPR", "claims");
	d = filter(p, EV_DEDUPE_CLAIM, 0, 0);
	add(d, 1, 999, 0, 1);
	add(d, 2, 1000, 0, 2);
	end(d);
	is_str(verdicts(), "RP", "a lease holds, then runs out (1000 ms)");
	d = filter(p, EV_DEDUPE_COMMIT, 0, 0);
	add(d, 2, 1001, 0, 1);
	add(d, 3, 1001, 0, 2);
	end(d);
	is_str(verdicts(), "PP", "commit passes everything");
	d = filter(p, EV_DEDUPE_CLAIM, 0, 0);
	add(d, 2, 5000, 0, 1);
	add(d, 3, 5000, 0, 2);
	add(d, 1, 5000, 0, 3);
	ev_err_clear(&err);
	is_int(ev_dedupe_stat(d, &out, &err), 0, "stat");
	end(d);
	is_str(verdicts(), "RRP", "committed keys stay done, a lost claim is "
	    "retried");
	ok(out.len > 0 && strncmp(out.p, "{\"keys\":3,\"claimed\":1,", 22) == 0,
	    "stat counts keys and claims: %.*s", (int)out.len, out.p);

	d = filter(p, EV_DEDUPE_CHECK, 2000, 0);
	out.len = 0;
	is_int(ev_dedupe_expire(d, 6000, &out, &err), 0, "expire");
	is_str((out.p[out.len] = '\0', out.p), "{\"expired\":2}\n",
	    "keys seen 2s before are gone");
	end(d);
	ev_buf_free(&out);
}

static void
test_files(const char *dir)
{
	struct ev_dedupe_opts o;
	struct ev_err err;
	char in[256], st[256], *inputs[1];
	FILE *f;

	snprintf(in, sizeof(in), "%s/in", dir);
	snprintf(st, sizeof(st), "%s/s.db", dir);
	if ((f = fopen(in, "w")) != NULL) {
		fputs("{\"k\":1}\n", f);
		fclose(f);
	}
	inputs[0] = in;
	memset(&o, 0, sizeof(o));
	o.dups = in;
	o.inputs = inputs;
	o.ninputs = 1;
	ev_err_clear(&err);
	ok(ev_dedupe_open(&o, &err) == NULL, "a dups file that is an input");
	ok(strstr(err.msg, "input file is also the dups file") != NULL,
	    "is refused: %s", err.msg);
	o.dups = NULL;
	o.state = in;
	ev_err_clear(&err);
	ok(ev_dedupe_open(&o, &err) == NULL, "an input as the state");
	o.state = st;
	o.dups = st;
	o.ninputs = 0;
	o.inputs = NULL;
	ev_err_clear(&err);
	ok(ev_dedupe_open(&o, &err) == NULL &&
	    strstr(err.msg, "state file is also the dups file") != NULL,
	    "the state as the dups file: %s", err.msg);
	o.dups = NULL;
	o.reject = st;
	ev_err_clear(&err);
	ok(ev_dedupe_open(&o, &err) == NULL &&
	    strstr(err.msg, "state file is also the reject file") != NULL,
	    "the state as the reject file: %s", err.msg);
}

int
main(void)
{
	char dir[64] = "/tmp/evkit-dedupe-XXXXXX", path[128], sh[256];

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/state.db", dir);
	test_keys();
	test_memory();
	test_batches(path);
	test_state(dir);
	test_files(dir);
	snprintf(sh, sizeof(sh), "rm -rf '%s'", dir);
	if (system(sh) != 0)
		return 1;
	return tap_done();
}
