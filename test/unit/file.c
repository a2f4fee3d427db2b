/*
 * Unit tests for ev_file_read() (lib/base/buf.c): a regular file read
 * whole (NUL bytes inside kept, a NUL after the end), standard input from
 * a pipe larger than the first buffer, an empty file, and the errors of a
 * missing file and of a directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evkit.h"
#include "tap.h"

#define BIG (200 * 1000)

static char *
pattern(size_t n)
{
	char *p = malloc(n);
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = i % 97 == 0 ? '\0' : (char)('a' + i % 26);
	return p;
}

static void
test_regular(void)
{
	char tmpl[] = "/tmp/evkit-file-XXXXXX";
	struct ev_err err;
	char *want = pattern(BIG), *got = NULL;
	size_t len = 0;
	int fd = mkstemp(tmpl);

	ok(write(fd, want, BIG) == BIG, "regular: file written");
	close(fd);
	ev_err_clear(&err);
	is_int(ev_file_read(tmpl, &got, &len, &err), 0, "regular: read");
	is_int((int)len, BIG, "regular: every byte, NULs included");
	ok(got != NULL && memcmp(got, want, BIG) == 0, "regular: same bytes");
	ok(got != NULL && got[len] == '\0', "regular: a NUL after the end");
	free(got);
	truncate(tmpl, 0);
	got = NULL;
	is_int(ev_file_read(tmpl, &got, &len, &err), 0, "empty: read");
	is_int((int)len, 0, "empty: no bytes");
	ok(got != NULL && got[0] == '\0', "empty: a NUL string");
	free(got);
	unlink(tmpl);
	free(want);
}

static void
test_stdin(void)
{
	struct ev_err err;
	char *want = pattern(BIG), *got = NULL;
	size_t len = 0;
	int p[2], saved = dup(0);
	pid_t pid;

	if (pipe(p) < 0)
		abort();
	if ((pid = fork()) == 0) {
		close(p[0]);
		if (write(p[1], want, BIG) != BIG)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	dup2(p[0], 0);
	close(p[0]);
	ev_err_clear(&err);
	is_int(ev_file_read(NULL, &got, &len, &err), 0, "stdin: read");
	is_int((int)len, BIG, "stdin: every byte of a pipe");
	ok(got != NULL && memcmp(got, want, BIG) == 0, "stdin: same bytes");
	waitpid(pid, NULL, 0);
	dup2(saved, 0);
	close(saved);
	free(got);
	free(want);
}

static void
test_errors(void)
{
	struct ev_err err;
	char *got = NULL;
	size_t len = 0;

	ev_err_clear(&err);
	is_int(ev_file_read("/nonexistent/evkit", &got, &len, &err), -1,
	    "missing: fails");
	is_int(err.errnum, ENOENT, "missing: errno recorded");
	is_str(err.msg, strerror(ENOENT), "missing: the system's reason");
	ev_err_clear(&err);
	is_int(ev_file_read("/", &got, &len, &err), -1, "directory: fails");
	is_int(err.errnum, EISDIR, "directory: EISDIR");
}

int
main(void)
{
	test_regular();
	test_stdin();
	test_errors();
	return tap_done();
}
