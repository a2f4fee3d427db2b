/*
 * Unit tests for lib/input/input.c: line splitting, blank lines, CRLF, the length
 * limit, the bad-line policy, the reject file, operands and stdin, the byte
 * order mark, files that may not be the reject file or the output, and the
 * in-order hook when reading serially.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evkit.h"
#include "input/input_int.h"
#include "tap.h"

static char tmpdir[] = "/tmp/evkit-input-XXXXXX";

/* What the callbacks saw: "FILE:LINE:text|" per call. */
struct seen {
	char log[1 << 16];
	size_t len;
	int calls;
	int stop_after; /* answer EV_STOP on this call (1-based) */
	int fail_after; /* answer EV_FAIL on this call */
	int out;	/* write each line to stdout */
};

static enum ev_verdict
collect(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	struct seen *s = ctx;
	int n;

	s->calls++;
	n = snprintf(s->log + s->len, sizeof(s->log) - s->len, "%s:%lu:%.*s|",
	    ln->file, ln->lineno, (int)(ln->len > 40 ? 40 : ln->len), ln->buf);
	if (n > 0 && (size_t)n < sizeof(s->log) - s->len)
		s->len += (size_t)n;
	if (s->out) {
		ev_out_line(ln->buf, ln->len);
		ev_out_flush();
	}
	if (s->stop_after != 0 && s->calls == s->stop_after)
		return EV_STOP;
	if (s->fail_after != 0 && s->calls == s->fail_after) {
		ev_err_set(err, "database is locked");
		return EV_FAIL;
	}
	if (ln->len >= 3 && memcmp(ln->buf, "bad", 3) == 0) {
		err->col = 4;
		ev_err_set(err, "invalid JSON: unexpected 'b'");
		return EV_BAD;
	}
	return EV_NEXT;
}

static void
put_file(const char *name, const char *data, size_t len)
{
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) != 0) {
		perror(name);
		exit(1);
	}
}

static void
put(const char *name, const char *data)
{
	put_file(name, data, strlen(data));
}

/* The contents of a small file (static buffer), "" when missing. */
static char *
slurp(const char *name, size_t *lenp)
{
	static char *buf;
	size_t cap = 1 << 22, len = 0;
	ssize_t r;
	int fd;

	free(buf);
	buf = malloc(cap + 1);
	fd = open(name, O_RDONLY);
	while (fd >= 0 && (r = read(fd, buf + len, cap - len)) > 0)
		len += (size_t)r;
	if (fd >= 0)
		close(fd);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

static char errtext[1 << 16];

/* Run the loop with callback fn, stderr captured into errtext. */
static int
run_fn(char *const *files, int n, const struct ev_input_opts *o,
    struct seen *s, ev_line_fn fn)
{
	int saved = dup(2), fd, r;

	fd = open("stderr.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 2);
	close(fd);
	memset(s, 0, offsetof(struct seen, stop_after));
	r = ev_input_loop(files, n, o, fn, s);
	dup2(saved, 2);
	close(saved);
	snprintf(errtext, sizeof(errtext), "%s", slurp("stderr.txt", NULL));
	return r;
}

/* Run the loop with stderr captured into errtext. */
static int
run(char *const *files, int n, const struct ev_input_opts *o, struct seen *s)
{
	return run_fn(files, n, o, s, collect);
}

/* Run with stdin taken from the named file. */
static int
run_stdin(const char *name, char *const *files, int n,
    const struct ev_input_opts *o, struct seen *s)
{
	int saved = dup(0), fd, r;

	fd = open(name, O_RDONLY);
	dup2(fd, 0);
	close(fd);
	r = run(files, n, o, s);
	dup2(saved, 0);
	close(saved);
	return r;
}

static void
test_lines(void)
{
	struct seen s = {0};
	char *f[] = {"a.ndjson"};
	int r;

	put("a.ndjson", "{\"a\":1}\n\n   \n\t \r\n{\"b\":2}\r\n\r\n{\"c\":3}");
	r = run(f, 1, NULL, &s);
	is_int(r, 0, "lines: all good returns 0");
	is_str(s.log,
	    "a.ndjson:1:{\"a\":1}|a.ndjson:5:{\"b\":2}|"
	    "a.ndjson:7:{\"c\":3}|",
	    "lines: blank lines skipped but counted, CR stripped, "
	    "last line without newline");
	is_str(errtext, "", "lines: nothing on stderr");

	put("a.ndjson", "");
	r = run(f, 1, NULL, &s);
	ok(r == 0 && s.calls == 0, "lines: empty file");

	put("a.ndjson", "x\r\r\n \rx\n");
	r = run(f, 1, NULL, &s);
	is_str(s.log, "a.ndjson:1:x\r|a.ndjson:2: \rx|",
	    "lines: only one trailing CR stripped, inner CR kept");

	put("a.ndjson", "x\n\r");
	r = run(f, 1, NULL, &s);
	is_str(s.log, "a.ndjson:1:x|", "lines: lone CR at end is blank");
}

static void
test_bad(void)
{
	struct seen s = {0};
	struct ev_input_opts o = { .reject_path = "rej.ndjson" };
	char *f[] = {"a.ndjson", "b.ndjson"};
	int r;

	put("a.ndjson", "ok1\nbad1\r\nok2\n");
	put("b.ndjson", "\nbad2");
	r = run(f, 2, &o, &s);
	is_int(r, 1, "bad: returns 1");
	is_str(errtext,
	    "test: a.ndjson:2:4: invalid JSON: unexpected 'b'\n"
	    "test: b.ndjson:2:4: invalid JSON: unexpected 'b'\n",
	    "bad: diagnostics located");
	is_str(s.log,
	    "a.ndjson:1:ok1|a.ndjson:2:bad1|a.ndjson:3:ok2|"
	    "b.ndjson:2:bad2|",
	    "bad: reading goes on after a bad line");
	is_str(slurp("rej.ndjson", NULL), "bad1\r\nbad2\n",
	    "bad: reject file holds raw lines, newline-terminated");

	put("a.ndjson", "ok\n");
	r = run(f, 1, &o, &s);
	ok(r == 0 && access("rej.ndjson", F_OK) == 0 &&
		slurp("rej.ndjson", NULL)[0] == '\0',
	    "bad: reject file created empty (truncated) when nothing bad");

	put("a.ndjson", "bad\n");
	r = run(f, 1, NULL, &s);
	is_int(r, 1, "bad: no reject file is fine");

	o.reject_path = "/dev/full";
	r = run(f, 1, &o, &s);
	is_int(r, -1, "bad: failed reject write is fatal");
	is_str(errtext,
	    "test: a.ndjson:1:4: invalid JSON: unexpected 'b'\n"
	    "test: write error on '/dev/full': No space left on device\n",
	    "bad: reject write error reported");

	o.reject_path = "nosuchdir/rej";
	r = run(f, 1, &o, &s);
	ok(r == -1 && s.calls == 0, "bad: unopenable reject file is fatal");
	is_str(errtext, "test: nosuchdir/rej: No such file or directory\n",
	    "bad: unopenable reject file reported");

	o.reject_path = "a.ndjson";
	put("a.ndjson", "bad\n");
	r = run(f, 1, &o, &s);
	ok(r == -1 && s.calls == 0, "bad: input that is the reject file "
				    "is refused");
	is_str(errtext, "test: a.ndjson: input file is also the reject file\n",
	    "bad: input that is the reject file reported");
	is_str(slurp("a.ndjson", NULL), "bad\n",
	    "bad: input that is the reject file is not emptied");
}

static void
test_long(void)
{
	struct seen s = {0};
	struct ev_input_opts o = { .max_line = 5, .reject_path = "rej.ndjson" };
	char *f[] = {"a.ndjson"};
	char *big, *want;
	size_t n, len;
	int r;

	put("a.ndjson", "12345\n123456\n12345\r\n123456\r\nab\n1234567");
	r = run(f, 1, &o, &s);
	is_int(r, 1, "long: returns 1");
	is_str(s.log, "a.ndjson:1:12345|a.ndjson:3:12345|a.ndjson:5:ab|",
	    "long: exactly max_line accepted (CR not counted), max+1 not");
	is_str(errtext,
	    "test: a.ndjson:2: line too long (more than 5 bytes)\n"
	    "test: a.ndjson:4: line too long (more than 5 bytes)\n"
	    "test: a.ndjson:6: line too long (more than 5 bytes)\n",
	    "long: diagnostics");
	is_str(slurp("rej.ndjson", NULL), "123456\n123456\r\n1234567\n",
	    "long: raw long lines in the reject file");

	/* Lines far larger than the read buffer, around a small limit. */
	n = 3 * 1024 * 1024;
	big = malloc(n + 100);
	memset(big, 'x', n);
	memcpy(big + n, "\nok\n", 5);
	put_file("a.ndjson", big, n + 4);
	r = run(f, 1, &o, &s);
	ok(r == 1 && strcmp(s.log, "a.ndjson:2:ok|") == 0,
	    "long: 3 MiB line skipped, next line read");
	want = slurp("rej.ndjson", &len);
	ok(len == n + 1 && memcmp(want, big, n) == 0 && want[n] == '\n',
	    "long: 3 MiB line copied whole to the reject file");

	/* A line just under a large limit spans several reads. */
	o.max_line = n;
	big[n - 1] = 'y';
	r = run(f, 1, &o, &s);
	ok(r == 0 && s.calls == 2, "long: line of exactly max_line (3 MiB) "
				   "accepted");
	o.max_line = n - 1;
	r = run(f, 1, &o, &s);
	ok(r == 1 && s.calls == 1, "long: line of max_line+1 (3 MiB) "
				   "rejected");
	is_str(errtext,
	    "test: a.ndjson:1: line too long (more than 3145727 "
	    "bytes)\n",
	    "long: large limit in the diagnostic");
	free(big);
}

static void
test_operands(void)
{
	struct seen s = {0};
	char *f[] = {"nosuch.ndjson", "a.ndjson", ".", "b.ndjson"};
	char *dash[] = {"a.ndjson", "-"};
	int r;

	put("a.ndjson", "a\n");
	put("b.ndjson", "b\n");
	r = run(f, 4, NULL, &s);
	is_int(r, 1, "operands: missing file gives 1");
	is_str(errtext,
	    "test: nosuch.ndjson: No such file or directory\n"
	    "test: .: Is a directory\n",
	    "operands: diagnostics");
	is_str(s.log, "a.ndjson:1:a|b.ndjson:1:b|",
	    "operands: the others are read");

	r = run_stdin("b.ndjson", NULL, 0, NULL, &s);
	ok(r == 0 && strcmp(s.log, "<stdin>:1:b|") == 0,
	    "operands: no operand reads stdin");
	r = run_stdin("b.ndjson", dash, 2, NULL, &s);
	ok(r == 0 && strcmp(s.log, "a.ndjson:1:a|<stdin>:1:b|") == 0,
	    "operands: '-' reads stdin, named <stdin>");
}

/* stdin from a pipe, written in small pieces by a child. */
static void
test_pipe(void)
{
	struct seen s = {0};
	struct ev_input_opts o = { .max_line = 4 };
	const char *pieces[] = {
	    "ab", "c\nde", "f", "\n123", "45", "678", "\nlast"};
	int p[2], saved, r, st;
	size_t i;
	pid_t pid;

	if (pipe(p) != 0)
		exit(1);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
			if (write(p[1], pieces[i], strlen(pieces[i])) < 0)
				_exit(1);
			usleep(10000);
		}
		_exit(0);
	}
	close(p[1]);
	saved = dup(0);
	dup2(p[0], 0);
	close(p[0]);
	r = run(NULL, 0, &o, &s);
	dup2(saved, 0);
	close(saved);
	waitpid(pid, &st, 0);
	is_int(r, 1, "pipe: long line gives 1");
	is_str(s.log, "<stdin>:1:abc|<stdin>:2:def|<stdin>:4:last|",
	    "pipe: lines reassembled across reads");
	is_str(errtext, "test: <stdin>:3: line too long (more than 4 bytes)\n",
	    "pipe: long line split across reads");
}

static void
test_stop(void)
{
	struct seen s = {0};
	char *f[] = {"a.ndjson", "b.ndjson"};
	int r;

	put("a.ndjson", "1\nbad\n3\n4\n");
	put("b.ndjson", "5\n");
	s.stop_after = 3;
	r = run(f, 2, NULL, &s);
	ok(r == 1 && s.calls == 3, "stop: EV_STOP after a bad line gives 1");
	s.stop_after = 1;
	r = run(f, 2, NULL, &s);
	ok(r == 0 && s.calls == 1 && errtext[0] == '\0',
	    "stop: EV_STOP stops quietly");
	s.stop_after = 0;
	s.fail_after = 3;
	r = run(f, 2, NULL, &s);
	ok(r == -1 && s.calls == 3, "stop: EV_FAIL returns -1");
	is_str(errtext,
	    "test: a.ndjson:2:4: invalid JSON: unexpected 'b'\n"
	    "test: database is locked\n",
	    "stop: EV_FAIL reported");
}

static void *
raise_int(void *arg)
{
	sigset_t set;

	(void)arg;
	usleep(50000);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGINT);
	return NULL;
}

/*
 * A stop signal handled on another thread than the one blocked in a read
 * of an empty pipe still ends the read: the reader waits in poll(2) with
 * the stop pipe, which a flag checked before a blocking read(2) cannot do.
 * In a child, which alarm(2) kills if the read never returns.
 */
static void
test_stop_thread(void)
{
	struct ev_err err;
	pthread_t t;
	sigset_t set;
	char buf[16];
	int p[2], st = 0;
	ssize_t r;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		alarm(10);
		if (pipe(p) != 0 || ev_stop_install(&err) != 0)
			_exit(3);
		sigemptyset(&set);
		sigaddset(&set, SIGINT);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
		pthread_create(&t, NULL, raise_int, NULL);
		r = ev_rd_read(p[0], buf, sizeof(buf));
		_exit(r == -1 && errno == EINTR && ev_stop_signal() == SIGINT ?
		    0 : 4);
	}
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "stop: a signal taken by another thread ends a blocked read");
}

/* A reader that went away stops the loop after the current line. */
static void
test_closed(void)
{
	struct seen s = {0};
	char *f[] = {"a.ndjson"};
	struct ev_err err;
	int p[2], saved, r;

	put("a.ndjson", "1\n2\n3\n");
	if (pipe(p) != 0)
		exit(1);
	close(p[0]);
	saved = dup(1);
	dup2(p[1], 1);
	close(p[1]);
	ev_out_init();
	s.out = 1;
	r = run(f, 1, NULL, &s);
	ok(r == 0 && s.calls == 1 && ev_out_closed(),
	    "closed: loop stops after the line that met EPIPE");
	is_int(ev_out_close(&err), 0, "closed: not an error");
	dup2(saved, 1);
	close(saved);
	s.out = 0;
}

static void
test_bom(void)
{
	struct seen s = {0};
	char *f[] = {"a.ndjson", "b.ndjson"};
	int r;

	ev_out_init();	/* test_closed() left stdout closed */
	put("a.ndjson", "\xef\xbb\xbf{\"a\":1}\n\xef\xbb\xbf{\"a\":2}\n");
	put("b.ndjson", "\xef\xbb\xbf");
	r = run(f, 2, NULL, &s);
	is_str(s.log, "a.ndjson:1:{\"a\":1}|a.ndjson:2:\xef\xbb\xbf{\"a\":2}|",
	    "bom: skipped at the start of a file only");
	ok(r == 0 && s.calls == 2, "bom: a file of just the mark is empty");
	put("a.ndjson", "\xef\xbb\n\xef\xbb\xbf" "bad\n");
	put("b.ndjson", "\xef\xbb\xbf" "bad\n");
	r = run(f, 2, NULL, &s);
	is_str(s.log, "a.ndjson:1:\xef\xbb|a.ndjson:2:\xef\xbb\xbf" "bad|"
	    "b.ndjson:1:bad|", "bom: a partial mark is data");
	is_str(errtext, "test: b.ndjson:1:4: invalid JSON: unexpected 'b'\n",
	    "bom: columns count from after the mark");
	r = run_stdin("b.ndjson", NULL, 0, NULL, &s);
	is_str(s.log, "<stdin>:1:bad|", "bom: skipped on stdin");
}

/* stdin from a pipe that delivers the mark one byte at a time. */
static void
test_bom_pipe(void)
{
	static const char *pieces[] = {"\xef", "\xbb", "\xbf", "ab\n"};
	struct seen s = {0};
	int p[2], saved, st;
	size_t i;
	pid_t pid;

	if (pipe(p) != 0)
		exit(1);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
			if (write(p[1], pieces[i], strlen(pieces[i])) < 0)
				_exit(1);
			usleep(10000);
		}
		_exit(0);
	}
	close(p[1]);
	saved = dup(0);
	dup2(p[0], 0);
	close(p[0]);
	run(NULL, 0, NULL, &s);
	dup2(saved, 0);
	close(saved);
	waitpid(pid, &st, 0);
	is_str(s.log, "<stdin>:1:ab|", "bom: a mark split across reads");
}

/* The reject file may not be an input, stdin, or a file the tool reads. */
static void
test_guard(void)
{
	struct seen s = {0};
	struct ev_input_opts o = {0};
	const char *pf[] = {"p.json"};
	char *f[] = {"a.ndjson", "b.ndjson"};
	char *fb[] = {"b.ndjson"};
	int r, saved, fd;

	put("a.ndjson", "1\n");
	put("b.ndjson", "2\n");
	put("p.json", "{}\n");
	o.reject_path = "p.json";
	o.read_files = pf;
	o.nread_files = 1;
	r = run(f, 2, &o, &s);
	ok(r == -1 && s.calls == 0, "guard: a file the tool reads is refused");
	is_str(errtext, "test: p.json: input file is also the reject file\n",
	    "guard: read file reported");
	is_str(slurp("p.json", NULL), "{}\n", "guard: read file not emptied");

	o.read_files = NULL;
	o.nread_files = 0;
	o.reject_path = "a.ndjson";
	r = run_stdin("a.ndjson", NULL, 0, &o, &s);
	ok(r == -1 && s.calls == 0, "guard: stdin's file is refused");
	is_str(errtext, "test: <stdin>: input file is also the reject file\n",
	    "guard: stdin reported");
	is_str(slurp("a.ndjson", NULL), "1\n", "guard: stdin not emptied");
	r = run_stdin("a.ndjson", fb, 1, &o, &s);
	ok(r == 0 && s.calls == 1, "guard: stdin not read is not checked");

	/* An input that is standard output: skipped, as grep does. */
	put("a.ndjson", "1\n");
	fflush(stdout);
	saved = dup(1);
	fd = open("a.ndjson", O_WRONLY | O_APPEND);
	dup2(fd, 1);
	close(fd);
	ev_out_init();
	r = run(f, 2, NULL, &s);
	ev_out_flush();
	dup2(saved, 1);
	close(saved);
	ev_out_init();
	ok(r == 1 && strcmp(s.log, "b.ndjson:1:2|") == 0,
	    "guard: input that is stdout skipped, the rest read");
	is_str(errtext, "test: a.ndjson: input file is also the output\n",
	    "guard: input that is stdout reported");
	put("a.ndjson", "1\n");
	saved = dup(1);
	fd = open("/dev/null", O_WRONLY);
	dup2(fd, 1);
	close(fd);
	ev_out_init();
	r = run(f, 2, NULL, &s);
	dup2(saved, 1);
	close(saved);
	ev_out_init();
	ok(r == 0 && s.calls == 2, "guard: stdout on /dev/null is no input");
}

/* The in-order hook, serially: after the callback, with its result. */
static enum ev_verdict
result_cb(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	unsigned char *res = ln->result;
	struct seen *s = ctx;

	if (res == NULL || res[0] != 0 || res[7] != 0)
		s->out = -1;	/* no result, or not zeroed */
	else
		res[0] = (unsigned char)ln->len;
	return collect(ctx, ln, err);
}

static enum ev_verdict
hook_cb(void *octx, const struct ev_line *ln, struct ev_err *err)
{
	const unsigned char *res;
	struct seen *s = octx;
	int n;

	if (ln == NULL) {	/* the input ran dry or ended */
		n = snprintf(s->log + s->len, sizeof(s->log) - s->len, "IDLE|");
		if (n > 0 && (size_t)n < sizeof(s->log) - s->len)
			s->len += (size_t)n;
		return EV_NEXT;
	}
	res = ln->result;
	n = snprintf(s->log + s->len, sizeof(s->log) - s->len, "H%lu:%u|",
	    ln->lineno, res[0]);
	if (n > 0 && (size_t)n < sizeof(s->log) - s->len)
		s->len += (size_t)n;
	if (ln->len >= 4 && memcmp(ln->buf, "hbad", 4) == 0) {
		err->col = 2;
		ev_err_set(err, "hook says no");
		return EV_BAD;
	}
	if (ln->len >= 5 && memcmp(ln->buf, "hstop", 5) == 0)
		return EV_STOP;
	if (ln->len >= 5 && memcmp(ln->buf, "hfail", 5) == 0) {
		ev_err_set(err, "hook failed");
		return EV_FAIL;
	}
	return EV_NEXT;
}

static void
test_hook(void)
{
	struct seen s = {0};
	struct ev_input_opts o = {0};
	char *f[] = {"a.ndjson"};
	int r;

	o.order = hook_cb;
	o.order_ctx = &s;
	o.result_size = 8;
	o.reject_path = "rej.ndjson";
	put("a.ndjson", "ab\nbad\n\nhbad\r\nabc\nhstop\nnot read\n");
	memset(&s, 0, sizeof(s));
	r = run_fn(f, 1, &o, &s, result_cb);
	is_int(r, 1, "hook: a bad line from the hook makes the run bad");
	is_str(s.log, "a.ndjson:1:ab|H1:2|a.ndjson:2:bad|a.ndjson:4:hbad|H4:4|"
	    "a.ndjson:5:abc|H5:3|a.ndjson:6:hstop|H6:5|IDLE|",
	    "hook: after the callback, not after a bad line, with the result; "
	    "EV_STOP stops; called without a line at the end");
	ok(s.out == 0, "hook: the callback gets a zeroed result");
	is_str(slurp("rej.ndjson", NULL), "bad\nhbad\r\n",
	    "hook: EV_BAD rejects the line raw");
	put("a.ndjson", "x\nhfail\ny\n");
	memset(&s, 0, sizeof(s));
	r = run(f, 1, &o, &s);
	is_int(r, -1, "hook: EV_FAIL is fatal");
	ok(strstr(s.log, "IDLE") == NULL, "hook: no end call after EV_FAIL");
	is_str(errtext, "test: hook failed\n", "hook: EV_FAIL reported");
}

static void
cleanup(void)
{
	const char *names[] = {
	    "a.ndjson", "b.ndjson", "rej.ndjson", "stderr.txt", "p.json"};
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
	test_lines();
	test_bad();
	test_long();
	test_operands();
	test_pipe();
	test_stop();
	test_stop_thread();
	test_closed();
	test_bom();
	test_bom_pipe();
	test_guard();
	test_hook();
	cleanup();
	return tap_done();
}
