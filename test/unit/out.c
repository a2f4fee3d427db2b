/*
 * Unit tests for lib/base/out.c: buffered checked stdout, the closed-pipe rule
 * and the write error message; output sinks on files and descriptors; the
 * class and errno of errors (err.c); ev_init() on closed standard
 * descriptors (init.c).  TAP goes to the real stdout, so every test
 * redirects fd 1 only around the calls under test.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evkit.h"
#include "tap.h"

static int saved_stdout;

/* Point fd 1 at fd (which is closed), after flushing the TAP stream. */
static void
redirect(int fd)
{
	fflush(stdout);
	dup2(fd, 1);
	close(fd);
	ev_out_init();
}

static void
restore(void)
{
	dup2(saved_stdout, 1);
}

static void
test_content(void)
{
	char tmpl[] = "/tmp/evkit-out-XXXXXX";
	struct ev_err err;
	char *big, *want, *got;
	size_t n = 300 * 1024, wlen, glen = 0;
	int fd, r, i;
	ssize_t k;

	big = malloc(n);
	for (i = 0; (size_t)i < n; i++)
		big[i] = 'a' + i % 26;
	fd = mkstemp(tmpl);
	redirect(fd);
	ev_out_str("one ");
	ev_out_line("two", 3);
	ev_out_printf("%d-%s\n", 3, "three");
	ev_out_write(big, n);
	ev_out_printf("%.*s|", 200 * 1024, big + n - 200 * 1024);
	for (i = 0; i < 100000; i++)
		ev_out_line("0123456789", 10);
	r = ev_out_close(&err);
	restore();
	is_int(r, 0, "content: close succeeds");

	wlen = 4 + 4 + 8 + n + 200 * 1024 + 1 + 100000 * 11;
	want = malloc(wlen);
	memcpy(want, "one two\n3-three\n", 16);
	memcpy(want + 16, big, n);
	memcpy(want + 16 + n, big + n - 200 * 1024, 200 * 1024);
	memcpy(want + 16 + n + 200 * 1024, "|", 1);
	for (i = 0; i < 100000; i++)
		memcpy(want + 17 + n + 200 * 1024 + i * 11, "0123456789\n", 11);
	got = malloc(wlen + 1);
	fd = open(tmpl, O_RDONLY);
	while ((k = read(fd, got + glen, wlen + 1 - glen)) > 0)
		glen += (size_t)k;
	close(fd);
	unlink(tmpl);
	ok(glen == wlen && memcmp(got, want, wlen) == 0,
	    "content: bytes arrive in order, big writes and printf included");
	free(big);
	free(want);
	free(got);
}

static void
test_epipe(void)
{
	struct ev_err err;
	int p[2], closed0, closed1, r;

	if (pipe(p) != 0)
		exit(1);
	close(p[0]);
	redirect(p[1]);
	ev_out_line("x", 1);
	closed0 = ev_out_closed();
	r = ev_out_flush();
	closed1 = ev_out_closed();
	ev_out_line("y", 1);
	ev_out_flush();
	ev_err_clear(&err);
	r += ev_out_close(&err);
	restore();
	ok(!closed0, "epipe: not closed before anything is written");
	ok(closed1, "epipe: closed once a write meets EPIPE");
	is_int(r, 0, "epipe: flush and close report no error");
	is_str(err.msg, "", "epipe: no message");
}

static void
test_full(void)
{
	struct ev_err err;
	int r, f;

	redirect(open("/dev/full", O_WRONLY));
	ev_out_line("x", 1);
	f = ev_out_flush();
	ev_out_line("y", 1);
	r = ev_out_close(&err);
	restore();
	is_int(f, -1, "full: flush reports the failure");
	is_int(r, -1, "full: close fails");
	is_str(err.msg, "write error on '<stdout>': No space left on device",
	    "full: message");
	ok(err.file == NULL && err.line == 0, "full: no location");
	ok(ev_out_closed(), "full: output stops after a write error");
}

static void
test_badfd(void)
{
	struct ev_err err;
	int r1, r2;

	fflush(stdout);
	close(1);
	ev_out_init();
	r1 = ev_out_close(&err);
	ev_out_init();
	ev_out_str("x");
	r2 = ev_out_close(&err);
	restore();
	is_int(r1, 0, "badfd: closed stdout, nothing written: no error");
	is_int(r2, -1, "badfd: closed stdout, something written: error");
	is_str(err.msg, "write error on '<stdout>': Bad file descriptor",
	    "badfd: message");
}

/* The contents of a small file, in buf. */
static const char *
contents(const char *name, char *buf, size_t size)
{
	int fd = open(name, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	return buf;
}

static void
test_sink(void)
{
	char tmpl[] = "/tmp/evkit-sink-XXXXXX", buf[4096], *big;
	struct ev_sink *s;
	struct ev_err err;
	size_t i, n = 100 * 1024;
	int fd, r;

	fd = mkstemp(tmpl);
	if (fd < 0 || write(fd, "old contents\n", 13) != 13)
		exit(1);
	close(fd);
	s = ev_sink_open(tmpl, EV_SINK_APPEND, &err);
	ok(s != NULL, "sink: opens for appending");
	ev_sink_str(s, "one ");
	ev_sink_line(s, "two", 3);
	ev_sink_printf(s, "%d-%s\n", 3, "three");
	is_str(contents(tmpl, buf, sizeof(buf)), "old contents\n",
	    "sink: buffered until flushed");
	is_int(ev_sink_flush(s), 0, "sink: flush succeeds");
	is_str(contents(tmpl, buf, sizeof(buf)),
	    "old contents\none two\n3-three\n", "sink: appended in order");
	is_int(ev_sink_close(s, &err), 0, "sink: close succeeds");

	s = ev_sink_open(tmpl, EV_SINK_TRUNC, &err);
	big = malloc(n);
	for (i = 0; i < n; i++)
		big[i] = 'a' + i % 26;
	ev_sink_write(s, "x", 1);
	ev_sink_write(s, big, n);
	ev_sink_printf(s, "%.*s", 70000, big);
	r = ev_sink_close(s, &err);
	fd = open(tmpl, O_RDONLY);
	i = (size_t)lseek(fd, 0, SEEK_END);
	close(fd);
	ok(r == 0 && i == 1 + n + 70000,
	    "sink: truncated, big writes and printf pass the buffer (%zu)", i);
	free(big);

	/* Opened without truncating: what ev_input_loop() checks first. */
	s = ev_sink_open(tmpl, 0, &err);
	ok(s != NULL && S_ISREG(ev_sink_stat(s)->st_mode) &&
		ev_sink_stat(s)->st_size == (off_t)(1 + n + 70000),
	    "sink: flags 0 keep the contents, stat says what it is");
	r = ev_sink_truncate(s, &err);
	fd = open(tmpl, O_RDONLY);
	ok(r == 0 && lseek(fd, 0, SEEK_END) == 0,
	    "sink: ev_sink_truncate empties it");
	close(fd);
	ev_sink_close(s, &err);
	unlink(tmpl);

	ev_err_clear(&err);
	s = ev_sink_open("nosuchdir/out.ndjson", EV_SINK_TRUNC, &err);
	ok(s == NULL, "sink: unopenable path fails");
	ok(err.file != NULL && strcmp(err.file, "nosuchdir/out.ndjson") == 0,
	    "sink: the path is the error's file");
	is_str(err.msg, "No such file or directory", "sink: open message");
	ok(err.errnum == ENOENT && err.cls == EV_ERR_PERMANENT,
	    "sink: open errno and class");

	s = ev_sink_open("/dev/full", EV_SINK_TRUNC, &err);
	ev_sink_line(s, "x", 1);
	ok(ev_sink_flush(s) == -1 && ev_sink_closed(s) &&
		ev_sink_errno(s) == ENOSPC,
	    "sink: write error remembered, output dropped");
	ev_err_clear(&err);
	r = ev_sink_close(s, &err);
	is_int(r, -1, "sink: close reports the write error");
	is_str(err.msg, "write error on '/dev/full': No space left on device",
	    "sink: write error names the sink");
	ok(err.errnum == ENOSPC && err.cls == EV_ERR_PERMANENT,
	    "sink: write error errno and class (ENOSPC is permanent)");
}

/* A sink on a pipe nobody reads: dropped quietly, fd closed only if own. */
static void
test_sink_pipe(void)
{
	struct ev_sink *s;
	struct ev_err err;
	int p[2], r;

	if (pipe(p) != 0)
		exit(1);
	close(p[0]);
	s = ev_sink_fdopen(p[1], "<pipe>", 0, &err);
	is_str(ev_sink_name(s), "<pipe>", "sink pipe: named");
	ev_sink_line(s, "x", 1);
	ev_sink_flush(s);
	ok(ev_sink_closed(s) && ev_sink_errno(s) == 0,
	    "sink pipe: EPIPE closes it quietly");
	ev_err_clear(&err);
	r = ev_sink_close(s, &err);
	ok(r == 0 && err.msg[0] == '\0', "sink pipe: not an error");
	ok(fcntl(p[1], F_GETFD) != -1, "sink pipe: fd not owned, left open");
	close(p[1]);
}

static void
test_err(void)
{
	struct ev_err err;

	memset(&err, 0x55, sizeof(err));
	ev_err_clear(&err);
	ok(err.errnum == 0 && err.cls == EV_ERR_PERMANENT,
	    "err: cleared is permanent, errno 0");
	ev_err_errno(&err, EBUSY);
	ok(err.errnum == EBUSY && err.cls == EV_ERR_RETRYABLE,
	    "err: EBUSY (locked) is retryable");
	ev_err_setclass(&err, EV_ERR_PERMANENT);
	ok(err.errnum == EBUSY && err.cls == EV_ERR_PERMANENT,
	    "err: the class can be overridden");
	ok(ev_errno_class(EAGAIN) == EV_ERR_RETRYABLE &&
		ev_errno_class(EINTR) == EV_ERR_RETRYABLE &&
		ev_errno_class(ETIMEDOUT) == EV_ERR_RETRYABLE,
	    "err: EAGAIN, EINTR, ETIMEDOUT are retryable");
	ok(ev_errno_class(ENOSPC) == EV_ERR_PERMANENT &&
		ev_errno_class(EIO) == EV_ERR_PERMANENT &&
		ev_errno_class(ENOENT) == EV_ERR_PERMANENT &&
		ev_errno_class(0) == EV_ERR_PERMANENT,
	    "err: ENOSPC, EIO, ENOENT are permanent");
}

/*
 * ev_init() with fds 0-2 closed, in a child: each gets /dev/null, reading
 * fd 0 gives end of file, writing fd 1 or 2 fails with EBADF.
 */
static void
test_init(void)
{
	char c;
	int st;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(0);
		close(1);
		close(2);
		if (ev_init("/bin/evtest") != 0)
			_exit(1);
		if (read(0, &c, 1) != 0)
			_exit(2);
		if (write(1, "x", 1) != -1 || errno != EBADF)
			_exit(3);
		if (write(2, "x", 1) != -1 || errno != EBADF)
			_exit(4);
		if (open("/dev/null", O_RDONLY) <= 2)
			_exit(5);
		if (strcmp(ev_progname(), "evtest") != 0)
			_exit(6);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "init: closed fds 0-2 become /dev/null, read-only (status %d)",
	    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

int
main(void)
{
	ev_setprogname("test");
	saved_stdout = dup(1);
	test_content();
	test_epipe();
	test_full();
	test_badfd();
	test_sink();
	test_sink_pipe();
	test_err();
	test_init();
	return tap_done();
}
