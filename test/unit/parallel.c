/*
 * Unit tests for the parallel mode of lib/input/input.c: for every input, a run
 * with 2 and with 4 workers must give the same stdout, stderr, reject file
 * and result as a serial run.  Inputs: empty, one line, many chunks, lines
 * too long in the middle and at the end, CRLF, no final newline, several
 * files, missing files, EV_BAD/EV_STOP/EV_FAIL, a failing reject file, a
 * pipe, a closed stdout; and the same with an in-order hook (a dedupe).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "evkit.h"
#include "tap.h"

static char tmpdir[] = "/tmp/evkit-parallel-XXXXXX";
static unsigned long spin;	/* busy work per line, to make workers slow */

/* What a run of the callback is told, and what it counts. */
struct cfg {
	struct cfg *parent;	/* worker contexts: the caller's */
	unsigned long calls;	/* lines seen (folded into the parent) */
	unsigned long nctx;	/* worker contexts made */
	int saw_parent;		/* the callback got the caller's ctx */
};

static unsigned long ctx_limit;	/* cfg_new fails past this many; 0: never */

static uint32_t
hash(const char *p, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

/*
 * The in-order hook under test, a dedupe that batches its output like
 * evstore: the callback leaves each line's hash in its result; the hook
 * keeps a set of them, holds a line the first time, drops a repeat, calls
 * some lines bad, stops or fails on HSTOP and HFAIL; it writes what it
 * holds every 50 lines and when called without a line (the input ran dry
 * or ended).  It also checks that it runs on one thread and gets back what
 * the callback left.
 */
struct hres {
	uint32_t h;
	uint32_t tag;
};

struct hstate {
	unsigned char seen[1 << 16];
	unsigned long calls;
	unsigned long mismatches;	/* results not as the callback left them */
	unsigned long dirty;		/* results not zeroed for the callback */
	int threads;			/* calls on another thread than the first */
	pthread_t thr;
	char pend[1 << 16];		/* held output */
	size_t plen;
	int pn;				/* lines held */
	unsigned long idles;		/* calls without a line */
};

static int hook_on;
static struct hstate hs;

static enum ev_verdict
hook(void *octx, const struct ev_line *ln, struct ev_err *err)
{
	struct hstate *s = octx;
	const struct hres *r;
	uint32_t h;
	int n;

	if (ln == NULL || s->pn == 50 || s->plen > sizeof(s->pend) / 2) {
		ev_out_write(s->pend, s->plen);
		s->plen = 0;
		s->pn = 0;
		if (ln == NULL) {
			s->idles++;
			return EV_NEXT;
		}
	}
	r = ln->result;
	h = hash(ln->buf, ln->len);
	if (s->calls++ == 0)
		s->thr = pthread_self();
	else if (!pthread_equal(s->thr, pthread_self()))
		s->threads++;
	if (r == NULL || r->h != h || r->tag != 0xfeed)
		s->mismatches++;
	if (ln->len >= 5 && memcmp(ln->buf, "HSTOP", 5) == 0) {
		ev_out_printf("%s:%lu:hook stop\n", ln->file, ln->lineno);
		return EV_STOP;
	}
	if (ln->len >= 5 && memcmp(ln->buf, "HFAIL", 5) == 0) {
		ev_err_set(err, "hook failed at line %lu", ln->lineno);
		return EV_FAIL;
	}
	if (h % 13 == 0) {
		err->col = 2;
		ev_err_set(err, "hook: bad %u", h % 50);
		return EV_BAD;
	}
	if (s->seen[h & 0xffff])
		return EV_NEXT;
	s->seen[h & 0xffff] = 1;
	n = snprintf(s->pend + s->plen, sizeof(s->pend) - s->plen,
	    "H %s:%lu %.*s\n", ln->file, ln->lineno, (int)ln->len, ln->buf);
	if (n > 0 && (size_t)n < sizeof(s->pend) - s->plen) {
		s->plen += (size_t)n;
		s->pn++;
	}
	if (h % 17 == 0)
		ev_warnx("hook note %lu", ln->lineno);
	return EV_NEXT;
}

/*
 * The tool under test, decided by each line's content: echo it with a
 * FILE:LINE: prefix, call it bad, warn about it, stop or fail on it.
 */
static enum ev_verdict
cb(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	struct cfg *c = ctx;
	uint32_t h = hash(ln->buf, ln->len);

	c->calls++;
	if (c->parent == NULL)
		c->saw_parent = 1;
	if (ln->result != NULL) {
		struct hres *r = ln->result;

		if (r->h != 0 || r->tag != 0)
			hs.dirty++;	/* a data race if it ever counts */
		r->h = h;
		r->tag = 0xfeed;
	}
	if (spin > 0) {
		volatile unsigned long x = h, i;

		for (i = 0; i < spin; i++)
			x = x * 6364136223846793005u + 1;
	}
	if (ln->len >= 4 && memcmp(ln->buf, "STOP", 4) == 0) {
		ev_out_printf("%s:%lu:stop\n", ln->file, ln->lineno);
		return EV_STOP;
	}
	if (ln->len >= 4 && memcmp(ln->buf, "ECHO", 4) == 0) {
		ev_out_line(ln->buf, ln->len);
		return EV_NEXT;
	}
	if (ln->len >= 4 && memcmp(ln->buf, "FAIL", 4) == 0) {
		ev_out_str("before failing\n");
		ev_err_set(err, "database is locked at line %lu", ln->lineno);
		return EV_FAIL;
	}
	if (h % 2 == 0) {
		ev_out_printf("%s:%lu:", ln->file, ln->lineno);
		ev_out_line(ln->buf, ln->len);
	}
	if (h % 97 == 0) {
		ev_out_write(ln->buf, ln->len);
		ev_out_str("|");
		ev_out_line(ln->buf, ln->len);
		ev_out_flush();
	}
	if (h % 11 == 0)
		ev_warnx("%s:%lu: note: %u", ln->file, ln->lineno, h % 1000);
	if (h % 7 == 0) {
		err->col = h % 10 + 1;
		ev_err_set(err, "invalid JSON: test %u", h % 100);
		return EV_BAD;
	}
	return EV_NEXT;
}

static void *
cfg_new(void *ctx)
{
	struct cfg *parent = ctx, *c;

	if (ctx_limit != 0 && parent->nctx >= ctx_limit)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) != NULL)
		c->parent = parent;
	parent->nctx++;	/* ctx_new runs on the calling thread */
	return c;
}

static void
cfg_free(void *wctx)
{
	struct cfg *c = wctx;

	c->parent->calls += c->calls;
	free(c);
}

static void
put_file(const char *name, const char *data, size_t len)
{
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || (len > 0 && write(fd, data, len) != (ssize_t)len) ||
	    close(fd) != 0) {
		perror(name);
		exit(1);
	}
}

static void
put(const char *name, const char *data)
{
	put_file(name, data, strlen(data));
}

/* A malloc'd copy of a file, "" when missing. */
static char *
slurp(const char *name, size_t *lenp)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap + 1);
	ssize_t r;
	int fd = open(name, O_RDONLY);

	while (fd >= 0 && (r = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)r;
		if (len == cap)
			buf = realloc(buf, (cap *= 2) + 1);
	}
	if (fd >= 0)
		close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* What one run left behind. */
struct run {
	int r, closed;
	unsigned long calls;
	unsigned long hcalls, hbad;	/* hook calls, and wrong ones */
	unsigned long hidles;		/* hook calls without a line */
	char *out, *err, *rej;
	size_t outlen, errlen, rejlen;
	struct cfg cfg;
};

static void
run_free(struct run *R)
{
	free(R->out);
	free(R->err);
	free(R->rej);
}

/*
 * Run the loop over files with jobs workers (0: serially), stdout and
 * stderr captured in files, stdin from stdin_name when not NULL.
 */
static void
run(struct run *R, char *const *files, int n, size_t max_line,
    const char *rej, int jobs, const char *stdin_name)
{
	struct ev_input_opts o;
	struct ev_err err;
	int s0 = -1, s1, s2, fd;

	memset(R, 0, sizeof(*R));
	memset(&o, 0, sizeof(o));
	o.max_line = max_line;
	o.reject_path = rej;
	o.jobs = jobs;
	o.ctx_new = cfg_new;
	o.ctx_free = cfg_free;
	if (hook_on) {
		memset(&hs, 0, sizeof(hs));
		o.order = hook;
		o.order_ctx = &hs;
		o.result_size = sizeof(struct hres);
	}
	fflush(stdout);
	s1 = dup(1);
	s2 = dup(2);
	if (stdin_name != NULL) {
		s0 = dup(0);
		fd = open(stdin_name, O_RDONLY);
		dup2(fd, 0);
		close(fd);
	}
	fd = open("stdout.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 1);
	close(fd);
	fd = open("stderr.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 2);
	close(fd);
	ev_out_init();
	R->r = ev_input_loop(files, n, &o, cb, &R->cfg);
	R->closed = ev_out_closed();
	ev_out_close(&err);
	dup2(s1, 1);
	dup2(s2, 2);
	close(s1);
	close(s2);
	if (s0 >= 0) {
		dup2(s0, 0);
		close(s0);
	}
	R->calls = R->cfg.calls;
	R->hcalls = hs.calls;
	R->hidles = hs.idles;
	R->hbad = hs.mismatches + hs.dirty + (unsigned long)hs.threads;
	R->out = slurp("stdout.txt", &R->outlen);
	R->err = slurp("stderr.txt", &R->errlen);
	R->rej = slurp(rej != NULL && strcmp(rej, "/dev/full") != 0 ?
		rej : "nosuch", &R->rejlen);
}

/* Compare two byte strings; on a difference, show where. */
static int
same(const char *what, const char *a, size_t alen, const char *b,
    size_t blen)
{
	size_t i;

	if (alen == blen && memcmp(a, b, alen) == 0)
		return 1;
	for (i = 0; i < alen && i < blen && a[i] == b[i]; i++)
		;
	printf("#   %s differs at byte %zu (lengths %zu, %zu)\n", what, i,
	    alen, blen);
	printf("#   serial:   '%.60s'\n#   parallel: '%.60s'\n",
	    i < alen ? a + i : "", i < blen ? b + i : "");
	return 0;
}

/*
 * Run serially and with 2 and 4 workers; everything must be the same.
 * full: every line was read (no stop), so the calls must add up too.
 */
static void
check(const char *name, char *const *files, int n, size_t max_line,
    const char *rej, const char *stdin_name, int full, int want_r)
{
	static const int jobs[] = {2, 4};
	struct run S, P;
	size_t i;

	run(&S, files, n, max_line, rej, 0, stdin_name);
	is_int(S.r, want_r, "%s: serial result", name);
	for (i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++) {
		run(&P, files, n, max_line, rej, jobs[i], stdin_name);
		is_int(P.r, S.r, "%s: -j%d result", name, jobs[i]);
		ok(same("stdout", S.out, S.outlen, P.out, P.outlen),
		    "%s: -j%d stdout", name, jobs[i]);
		ok(same("stderr", S.err, S.errlen, P.err, P.errlen),
		    "%s: -j%d stderr", name, jobs[i]);
		ok(same("reject", S.rej, S.rejlen, P.rej, P.rejlen),
		    "%s: -j%d reject file", name, jobs[i]);
		if (hook_on)
			ok(P.hbad == 0 && S.hbad == 0 &&
				(!full || P.hcalls == S.hcalls) &&
				P.hidles == S.hidles,
			    "%s: -j%d hook on one thread, in order, with the "
			    "callback's results (%lu calls, %lu wrong)",
			    name, jobs[i], P.hcalls, P.hbad);
		if (full)
			ok(P.calls == S.calls && !P.cfg.saw_parent &&
				P.cfg.nctx == (unsigned long)jobs[i],
			    "%s: -j%d every line once, on worker contexts "
			    "(%lu calls, %lu contexts)",
			    name, jobs[i], P.calls,
			    P.cfg.nctx);
		run_free(&P);
	}
	run_free(&S);
}

/* A growing byte string. */
struct gen {
	char *p;
	size_t len, cap;
};

static void
gen_add(struct gen *g, const char *s, size_t n)
{
	while (g->cap - g->len < n + 1) {
		g->cap = g->cap ? g->cap * 2 : 4096;
		g->p = realloc(g->p, g->cap);
	}
	memcpy(g->p + g->len, s, n);
	g->len += n;
	g->p[g->len] = '\0';
}

static uint32_t rng = 12345;

static uint32_t
rnd(uint32_t n)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 8) % n;
}

/*
 * About size bytes of lines of 0..maxlen bytes: events, blank and
 * whitespace lines, CRLF endings; now and then a line of long bytes.
 */
static void
gen_lines(struct gen *g, size_t size, size_t maxlen, size_t longlen)
{
	char line[64];
	size_t n, k, start = g->len;

	while (g->len - start < size) {
		switch (rnd(20)) {
		case 0:
			gen_add(g, "\n", 1);
			continue;
		case 1:
			gen_add(g, " \t \n", 4);
			continue;
		case 2:
			if (longlen > 0) {
				for (k = 0; k < longlen; k += n) {
					n = longlen - k < 64 ? longlen - k : 64;
					memset(line, 'L', n);
					gen_add(g, line, n);
				}
				gen_add(g, "\n", 1);
				continue;
			}
			break;
		default:
			break;
		}
		n = rnd((uint32_t)maxlen + 1);
		snprintf(line, sizeof(line), "{\"n\":%u,\"x\":\"",
		    rnd(1000000));
		gen_add(g, line, strlen(line) < n ? strlen(line) : n);
		for (k = strlen(line); k < n; k++)
			gen_add(g, "abcdefghij" + rnd(10), 1);
		if (rnd(4) == 0)
			gen_add(g, "\r", 1);
		gen_add(g, "\n", 1);
	}
}

static void
test_small(void)
{
	char *f[] = {"a.ndjson"};

	put("a.ndjson", "");
	check("empty file", f, 1, 0, "rej.ndjson", NULL, 1, 0);
	put("a.ndjson", "{\"a\":1}");
	check("one line, no newline", f, 1, 0, "rej.ndjson", NULL, 1, 0);
	put("a.ndjson", "{\"a\":24}\n");
	check("one bad line", f, 1, 0, "rej.ndjson", NULL, 1, 1);
	put("a.ndjson",
	    "{\"a\":1}\n\n   \n\t \r\n{\"b\":2}\r\n\r\n{\"c\":3}");
	check("blank lines and CRLF", f, 1, 0, "rej.ndjson", NULL, 1, 1);
	put("a.ndjson", "12345\n123456\n12345\r\n123456\r\nab\n1234567");
	check("lines over a 5-byte limit", f, 1, 5, "rej.ndjson", NULL, 1, 1);
	put("a.ndjson", "x\n1234567\r");
	check("too long at the end with a CR", f, 1, 5, "rej.ndjson", NULL, 1,
	    1);
	put("a.ndjson", "\xef\xbb\xbf{\"a\":24}\n\xef\xbb\xbf{\"b\":1}\n");
	check("a byte order mark", f, 1, 0, "rej.ndjson", NULL, 1, 1);
	put("a.ndjson", "\xef\xbb\xbf");
	check("a byte order mark alone", f, 1, 0, "rej.ndjson", NULL, 1, 0);
}

static void
test_chunks(void)
{
	struct gen g = {0};
	char *f[] = {"a.ndjson"};

	gen_lines(&g, 5 << 20, 300, 0);
	put_file("a.ndjson", g.p, g.len);
	check("5 MiB, many chunks", f, 1, 0, "rej.ndjson", NULL, 1, 1);
	check("5 MiB, no reject file", f, 1, 0, NULL, NULL, 1, 1);
	gen_add(&g, "{\"last\":\"no newline\"}", 21);
	put_file("a.ndjson", g.p, g.len);
	check("5 MiB, no final newline", f, 1, 0, "rej.ndjson", NULL, 1, 1);
	check("5 MiB from stdin", NULL, 0, 0, "rej.ndjson", "a.ndjson", 1, 1);
	free(g.p);

	/* Short lines: chunks of many lines, line numbers in the 100000s. */
	memset(&g, 0, sizeof(g));
	gen_lines(&g, 2 << 20, 12, 0);
	put_file("a.ndjson", g.p, g.len);
	check("2 MiB of short lines", f, 1, 0, "rej.ndjson", NULL, 1, 1);
	free(g.p);

	/*
	 * Chunks of nothing but newlines, then of long lines: the newline
	 * offsets the reader hands the workers grow far past their first
	 * size, and are trimmed again when the slot is reused.
	 */
	memset(&g, 0, sizeof(g));
	for (int i = 0; i < 3 << 20; i++)
		gen_add(&g, i % 5 == 4 ? "\r\n" : "\n", i % 5 == 4 ? 2 : 1);
	gen_add(&g, "{\"a\":24}\n", 9);
	gen_lines(&g, 4 << 20, 20000, 0);
	put_file("a.ndjson", g.p, g.len);
	check("3 MiB of empty lines, then long ones", f, 1, 0, "rej.ndjson",
	    NULL, 1, 1);
	free(g.p);

	/* Workers slower than the reader: the ring fills, the writer waits. */
	memset(&g, 0, sizeof(g));
	gen_lines(&g, 6 << 20, 300, 0);
	put_file("a.ndjson", g.p, g.len);
	spin = 2000;
	check("6 MiB, slow workers", f, 1, 0, "rej.ndjson", NULL, 1, 1);
	spin = 0;
	free(g.p);
}

static void
test_long(void)
{
	struct gen g = {0};
	char *f[] = {"a.ndjson"};
	size_t i;
	char *big;

	/* Lines of 1001 bytes over a 1000-byte limit, and of exactly 1000. */
	gen_lines(&g, 2 << 20, 1000, 1001);
	put_file("a.ndjson", g.p, g.len);
	check("lines of limit+1 in the middle", f, 1, 1000, "rej.ndjson",
	    NULL, 1, 1);
	free(g.p);
	memset(&g, 0, sizeof(g));
	gen_lines(&g, 2 << 20, 300, 40000);
	put_file("a.ndjson", g.p, g.len);
	check("40 KB lines over a 30 KB limit", f, 1, 30000, "rej.ndjson",
	    NULL, 1, 1);
	check("40 KB lines, no reject file", f, 1, 30000, NULL, NULL, 1, 1);

	/* Lines longer than chunks, in the middle and at the end. */
	big = malloc(3 << 20);
	memset(big, 'x', 3 << 20);
	for (i = 0; i < 3; i++) {
		gen_add(&g, big, (size_t)(3 << 20) - i);
		gen_add(&g, "\r\n", 2 - i % 2);
		gen_lines(&g, 100000, 300, 0);
	}
	gen_add(&g, big, 700000);
	put_file("a.ndjson", g.p, g.len);
	check("3 MiB lines over a 1 MiB limit", f, 1, 1 << 20, "rej.ndjson",
	    NULL, 1, 1);
	check("3 MiB lines over a 600 KB limit, also the last one", f, 1,
	    600000, "rej.ndjson", NULL, 1, 1);
	check("3 MiB lines, no reject file", f, 1, 1 << 20, NULL, NULL, 1, 1);
	check("3 MiB lines under a 4 MiB limit", f, 1, 4 << 20,
	    "rej.ndjson", NULL, 1, 1);
	free(big);
	free(g.p);
}

static void
test_files(void)
{
	struct gen g = {0};
	char *f[] = {"a.ndjson", "nosuch.ndjson", "b.ndjson", ".", "-",
	    "a.ndjson"};
	char *self[] = {"a.ndjson", "rej.ndjson", "b.ndjson"};

	gen_lines(&g, 700000, 300, 0);
	put_file("a.ndjson", g.p, g.len);
	put("b.ndjson", "{\"b\":1}\n\n{\"b\":2}");
	put("c.ndjson", "{\"c\":1}\n");
	check("several files, stdin, missing ones", f, 6, 0, "rej.ndjson",
	    "c.ndjson", 1, 1);
	/* Refused before anything is read or emptied. */
	check("the reject file as an input", self, 3, 0, "rej.ndjson", NULL,
	    0, -1);
	free(g.p);
}

static void
test_stop(void)
{
	struct gen g = {0};
	char *f[] = {"a.ndjson", "b.ndjson"};

	gen_lines(&g, 1 << 20, 300, 0);
	gen_add(&g, "STOP here\n", 10);
	gen_lines(&g, 1 << 20, 300, 0);
	put_file("a.ndjson", g.p, g.len);
	put("b.ndjson", "{\"b\":1}\n");
	check("EV_STOP in the middle", f, 2, 0, "rej.ndjson", NULL, 0, 1);
	g.p[g.len / 4] = '\n';
	memcpy(g.p + g.len / 4 + 1, "FAIL", 4);
	put_file("a.ndjson", g.p, g.len);
	check("EV_FAIL before the EV_STOP", f, 2, 0, "rej.ndjson", NULL, 0,
	    -1);
	free(g.p);
	put("a.ndjson", "{\"a\":24}\n");
	put("b.ndjson", "{\"b\":1}\nSTOP\n{\"b\":2}\n");
	check("EV_STOP in the second file", f, 2, 0, "rej.ndjson", NULL, 0,
	    1);
	put("a.ndjson", "STOP\n");
	check("EV_STOP on the first line", f, 2, 0, "rej.ndjson", NULL, 0, 0);
}

/* A reject file that cannot be written stops at the same line. */
static void
test_reject_full(void)
{
	struct gen g = {0};
	char *f[] = {"a.ndjson"};

	gen_lines(&g, 1 << 20, 300, 0);
	put_file("a.ndjson", g.p, g.len);
	check("reject file on /dev/full", f, 1, 0, "/dev/full", NULL, 0, -1);
	free(g.p);
}

/*
 * With stdin and stdout pipes, each line's output must come out before the
 * next line is written (the writer flushes when the reader waits), as with
 * "tail -f | evmatch": jobs workers, of which only limit (0: all) get a
 * context.
 */
static void
pipe_echo(int jobs, unsigned long limit)
{
	struct ev_input_opts o;
	struct pollfd pfd;
	struct ev_err err;
	struct cfg cfg;
	char buf[256];
	size_t i;
	int in[2], out[2], s0, s1, st, r;
	pid_t pid;

	memset(&o, 0, sizeof(o));
	o.max_line = 9;
	o.jobs = jobs;
	o.ctx_new = cfg_new;
	o.ctx_free = cfg_free;
	memset(&cfg, 0, sizeof(cfg));
	if (pipe(in) != 0 || pipe(out) != 0)
		exit(1);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* Write the lines one by one; wait for each one's output. */
		close(in[0]);
		close(out[1]);
		st = 0;
		for (i = 0; i < 4; i++) {
			snprintf(buf, sizeof(buf), "ECHO %zu\n", i);
			if (write(in[1], buf, strlen(buf)) < 0)
				_exit(3);
			pfd.fd = out[0];
			pfd.events = POLLIN;
			if (poll(&pfd, 1, 5000) != 1 ||
			    read(out[0], buf, sizeof(buf)) <= 0)
				st = 1;
		}
		close(in[1]);
		while (read(out[0], buf, sizeof(buf)) > 0)
			;
		_exit(st);
	}
	close(in[1]);
	close(out[0]);
	s0 = dup(0);
	s1 = dup(1);
	dup2(in[0], 0);
	dup2(out[1], 1);
	close(in[0]);
	close(out[1]);
	ev_out_init();
	ctx_limit = limit;
	r = ev_input_loop(NULL, 0, &o, cb, &cfg);
	ctx_limit = 0;
	ev_out_close(&err);
	dup2(s0, 0);
	dup2(s1, 1);
	close(s0);
	close(s1);
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0 && r == 0,
	    "pipe: output of each line is written before the next read, "
	    "%d jobs, %lu context%s (status %d, result %d)", jobs,
	    limit != 0 ? limit : (unsigned long)jobs, limit == 1 ? "" : "s",
	    st, r);
}

/* stdin from a pipe written in pieces. */
static void
test_pipe(void)
{
	static const char *pieces[] = {"{\"a\":\"", "x\"}\n{\"b\":", "1}\n",
	    "12345678", "90\n{\"c\":2}", "\n{\"d\":4}\n"};
	char buf[256];
	size_t i, j, k;
	int in[2], st, got;
	pid_t pid;

	pipe_echo(2, 0);
	/* One context: serially (a lone worker would hold its chunk back). */
	pipe_echo(4, 1);
	pipe_echo(4, 2);
	/* The same pieces from a pipe, serially and in parallel. */
	for (k = 0; k < 2; k++) {
		struct run R[2];
		char *f[] = {"-"};

		for (i = 0; i < 2; i++) {
			if (pipe(in) != 0)
				exit(1);
			fflush(stdout);	/* the child must not repeat our TAP */
			pid = fork();
			if (pid == 0) {
				close(in[0]);
				for (j = 0;
				     j < sizeof(pieces) / sizeof(pieces[0]);
				     j++) {
					if (write(in[1], pieces[j],
						strlen(pieces[j])) < 0)
						_exit(1);
					usleep(k == 0 ? 0 : 5000);
				}
				_exit(0);
			}
			close(in[1]);
			snprintf(buf, sizeof(buf), "/dev/fd/%d", in[0]);
			run(&R[i], f, 1, 9, "rej.ndjson", i == 0 ? 0 : 2, buf);
			close(in[0]);
			waitpid(pid, &st, 0);
		}
		got = R[0].r == R[1].r &&
		    same("stdout", R[0].out, R[0].outlen, R[1].out,
			R[1].outlen) &&
		    same("stderr", R[0].err, R[0].errlen, R[1].err,
			R[1].errlen) &&
		    same("reject", R[0].rej, R[0].rejlen, R[1].rej,
			R[1].rejlen);
		ok(got && R[0].errlen > 0,
		    "pipe: pieces %s: same as serial", k ? "slowly" : "fast");
		run_free(&R[0]);
		run_free(&R[1]);
	}
}

/*
 * The hook on a pipe, fed one line at a time by a child that waits for the
 * hook's output of each line before it writes the next: the hook holds
 * its output until it is called without a line, which must happen when
 * the input runs dry, serially and in parallel.
 */
static void
test_pipe_hook(int jobs)
{
	struct ev_input_opts o;
	struct pollfd pfd;
	struct ev_err err;
	struct cfg cfg;
	char buf[256], acc[4096], want[300];
	size_t i, alen;
	unsigned k;
	int in[2], out[2], s0, s1, st, r;
	ssize_t n;
	pid_t pid;

	memset(&o, 0, sizeof(o));
	o.jobs = jobs;
	o.ctx_new = cfg_new;
	o.ctx_free = cfg_free;
	o.order = hook;
	o.order_ctx = &hs;
	o.result_size = sizeof(struct hres);
	memset(&hs, 0, sizeof(hs));
	memset(&cfg, 0, sizeof(cfg));
	if (pipe(in) != 0 || pipe(out) != 0)
		exit(1);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(in[0]);
		close(out[1]);
		st = 0;
		alen = 0;
		for (i = 0, k = 0; i < 4; i++, k++) {
			/* A line the hook keeps (not one it calls bad). */
			do
				snprintf(buf, sizeof(buf), "ECHO %u\n", k);
			while (hash(buf, strlen(buf) - 1) % 13 == 0 && ++k);
			snprintf(want, sizeof(want), "H <stdin>:%zu %s", i + 1,
			    buf);
			if (write(in[1], buf, strlen(buf)) < 0)
				_exit(3);
			pfd.fd = out[0];
			pfd.events = POLLIN;
			acc[alen] = '\0';
			while (strstr(acc, want) == NULL) {
				if (poll(&pfd, 1, 5000) != 1 ||
				    (n = read(out[0], acc + alen,
					sizeof(acc) - 1 - alen)) <= 0) {
					st = 1;
					break;
				}
				alen += (size_t)n;
				acc[alen] = '\0';
			}
		}
		close(in[1]);
		while (read(out[0], buf, sizeof(buf)) > 0)
			;
		_exit(st);
	}
	close(in[1]);
	close(out[0]);
	s0 = dup(0);
	s1 = dup(1);
	dup2(in[0], 0);
	dup2(out[1], 1);
	close(in[0]);
	close(out[1]);
	ev_out_init();
	r = ev_input_loop(NULL, 0, &o, cb, &cfg);
	ev_out_close(&err);
	dup2(s0, 0);
	dup2(s1, 1);
	close(s0);
	close(s1);
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0 && r == 0 && hs.idles >= 4,
	    "pipe -j%d: the hook is called without a line when the input "
	    "runs dry (status %d, result %d, %lu calls)", jobs, st, r,
	    hs.idles);
}

/*
 * EV_STOP on a pipe that stays open ("tail -f | tool -q"): the loop must
 * end at once, not wait in read(2) for more input.  The writer keeps the
 * pipe open until the loop has returned, so a loop that waited for more
 * input would never return: the alarm is only a guard against hanging the
 * suite (it kills the test, which then fails), not a time measurement.
 */
static void
test_pipe_stop(void)
{
	struct ev_input_opts o;
	struct cfg cfg;
	int in[2], rel[2], s0, s1, fd, r, st;
	char c;
	pid_t pid;

	memset(&o, 0, sizeof(o));
	o.jobs = 2;
	o.ctx_new = cfg_new;
	o.ctx_free = cfg_free;
	memset(&cfg, 0, sizeof(cfg));
	if (pipe(in) != 0 || pipe(rel) != 0)
		exit(1);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(in[0]);
		close(rel[1]);
		if (write(in[1], "{\"a\":1}\nSTOP\n{\"a\":2}\n", 22) < 0)
			_exit(1);
		/* Hold the pipe open until the parent's loop has returned. */
		while (read(rel[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(in[1]);
	close(rel[0]);
	s0 = dup(0);
	s1 = dup(1);
	dup2(in[0], 0);
	close(in[0]);
	fd = open("stdout.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 1);
	close(fd);
	ev_out_init();
	alarm(120);
	r = ev_input_loop(NULL, 0, &o, cb, &cfg);
	alarm(0);
	ev_out_flush();
	dup2(s0, 0);
	dup2(s1, 1);
	close(s0);
	close(s1);
	close(rel[1]);
	waitpid(pid, &st, 0);
	ok(r == 0, "pipe: EV_STOP ends the loop while the writer still "
	    "holds the pipe open");
}

/*
 * Run with stdout a pipe nobody reads (jobs 0: serially).  Returns the
 * result; *calls gets the number of lines seen.
 */
static int
run_closed(char *const *files, int jobs, unsigned long *calls, int *quiet)
{
	struct ev_input_opts o;
	struct ev_err err;
	struct cfg cfg;
	int p[2], s1, r, closed;

	memset(&o, 0, sizeof(o));
	o.jobs = jobs;
	o.ctx_new = cfg_new;
	o.ctx_free = cfg_free;
	memset(&cfg, 0, sizeof(cfg));
	if (pipe(p) != 0)
		exit(1);
	close(p[0]);
	fflush(stdout);
	s1 = dup(1);
	dup2(p[1], 1);
	close(p[1]);
	ev_out_init();
	r = ev_input_loop(files, 1, &o, cb, &cfg);
	closed = ev_out_closed();
	ev_err_clear(&err);
	*quiet = closed && ev_out_close(&err) == 0 && err.msg[0] == '\0';
	dup2(s1, 1);
	close(s1);
	*calls = cfg.calls;
	return r;
}

/* A reader that went away stops the loop quietly, as serially. */
static void
test_closed(void)
{
	struct gen g = {0};
	char *f[] = {"a.ndjson"};
	unsigned long scalls, pcalls, lines = 0;
	int sr, pr, squiet, pquiet, s2, fd;
	size_t i;

	gen_lines(&g, 16 << 20, 300, 0);
	put_file("a.ndjson", g.p, g.len);
	for (i = 0; i < g.len; i++)
		lines += g.p[i] == '\n';
	free(g.p);
	s2 = dup(2);
	fd = open("stderr.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 2);
	close(fd);
	sr = run_closed(f, 0, &scalls, &squiet);
	pr = run_closed(f, 2, &pcalls, &pquiet);
	dup2(s2, 2);
	close(s2);
	ok(squiet && pquiet && sr == pr,
	    "closed: stdout gone stops the loop quietly (results %d, %d)", sr,
	    pr);
	ok(pcalls < lines / 2,
	    "closed: reading stops soon (%lu of %lu lines seen, %lu serially)",
	    pcalls, lines, scalls);
}

/*
 * The in-order hook: everything again with a dedupe hook, on input with
 * many repeats; then the hook's own EV_STOP and EV_FAIL.
 */
static void
test_hook(void)
{
	struct gen g = {0};
	char *f[] = {"a.ndjson", "b.ndjson"};
	char line[64];
	int i;

	hook_on = 1;
	for (i = 0; i < 100000; i++) {
		snprintf(line, sizeof(line), "{\"k\":%u}\n", rnd(3000));
		gen_add(&g, line, strlen(line));
		if (rnd(50) == 0)
			gen_lines(&g, 200, 300, 0);
	}
	put_file("a.ndjson", g.p, g.len);
	put("b.ndjson", "{\"k\":1}\n\n{\"k\":2}\r\n{\"k\":1}");
	check("hook: dedupe, 2 files", f, 2, 0, "rej.ndjson", NULL, 1, 1);
	check("hook: dedupe, no reject file", f, 2, 0, NULL, NULL, 1, 1);
	check("hook: dedupe from stdin", NULL, 0, 0, "rej.ndjson", "a.ndjson",
	    1, 1);
	spin = 2000;
	check("hook: slow workers", f, 2, 0, "rej.ndjson", NULL, 1, 1);
	spin = 0;
	check("hook: lines over a 12-byte limit", f, 2, 12, "rej.ndjson", NULL,
	    1, 1);
	free(g.p);

	memset(&g, 0, sizeof(g));
	gen_lines(&g, 1 << 20, 300, 0);
	gen_add(&g, "HSTOP\n", 6);
	gen_lines(&g, 1 << 20, 300, 0);
	put_file("a.ndjson", g.p, g.len);
	check("hook: EV_STOP from the hook", f, 2, 0, "rej.ndjson", NULL, 0,
	    1);
	g.p[g.len / 4] = '\n';
	memcpy(g.p + g.len / 4 + 1, "HFAIL", 5);
	put_file("a.ndjson", g.p, g.len);
	check("hook: EV_FAIL from the hook", f, 2, 0, "rej.ndjson", NULL, 0,
	    -1);
	free(g.p);
	put("a.ndjson", "STOP\nHSTOP\n");
	check("hook: not called for a line the callback stopped at", f, 1, 0,
	    "rej.ndjson", NULL, 0, 0);
	hook_on = 0;
}

/*
 * A stop signal while the loop waits for input on a pipe that stays open:
 * in a child with the handler installed (it is once per process), fed one
 * line; once that line's output is out, SIGTERM.  The loop must return
 * EV_INPUT_STOPPED with the output written.
 */
static void
test_signal(int jobs)
{
	struct ev_input_opts o;
	struct pollfd pfd;
	struct ev_err err;
	struct cfg cfg;
	char buf[64];
	int in[2], out[2], st, r;
	ssize_t n;
	pid_t pid;

	memset(&o, 0, sizeof(o));
	o.jobs = jobs;
	o.ctx_new = cfg_new;
	o.ctx_free = cfg_free;
	memset(&cfg, 0, sizeof(cfg));
	if (pipe(in) != 0 || pipe(out) != 0)
		exit(1);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(in[1]);
		close(out[0]);
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(out[1]);
		alarm(60);	/* a read that does not end fails the test */
		ev_out_init();
		if (ev_stop_install(&err) != 0)
			_exit(10);
		r = ev_input_loop(NULL, 0, &o, cb, &cfg);
		if (ev_out_close(&err) != 0)
			_exit(11);
		_exit(r == EV_INPUT_STOPPED && ev_stop_signal() == SIGTERM ?
		    0 : 12);
	}
	close(in[0]);
	close(out[1]);
	n = write(in[1], "ECHO 1\nECHO 2\n", 14);
	pfd.fd = out[0];
	pfd.events = POLLIN;
	st = 0;
	n = 0;
	while (n < 14 && poll(&pfd, 1, 10000) == 1 &&
	    (r = (int)read(out[0], buf + n, sizeof(buf) - 1 - (size_t)n)) > 0)
		n += r;
	buf[n] = '\0';
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	close(in[1]);
	close(out[0]);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
		strcmp(buf, "ECHO 1\nECHO 2\n") == 0,
	    "signal -j%d: SIGTERM ends a blocked read, EV_INPUT_STOPPED "
	    "(status %d)", jobs, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static void
cleanup(void)
{
	const char *names[] = {"a.ndjson", "b.ndjson", "c.ndjson",
	    "rej.ndjson", "stdout.txt", "stderr.txt"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(names[i]);
	if (chdir("/") == 0)
		rmdir(tmpdir);
}

int
main(void)
{
	ev_setprogname("/usr/bin/test");
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(tmpdir) == NULL || chdir(tmpdir) != 0)
		return 1;
	alarm(600);	/* a deadlock fails the run instead of hanging it */
	test_small();
	test_chunks();
	test_long();
	test_files();
	test_stop();
	test_reject_full();
	test_pipe();
	test_pipe_stop();
	test_closed();
	test_hook();
	test_pipe_hook(0);
	test_pipe_hook(2);
	test_signal(0);
	test_signal(2);
	cleanup();
	return tap_done();
}
