/*
 * Unit tests for lib/base/out.c: buffered checked stdout, the closed-pipe rule
 * and the write error message.  TAP goes to the real stdout, so every test
 * redirects fd 1 only around the calls under test.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
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

int
main(void)
{
	ev_setprogname("test");
	saved_stdout = dup(1);
	test_content();
	test_epipe();
	test_full();
	test_badfd();
	return tap_done();
}
