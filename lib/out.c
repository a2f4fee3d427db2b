/*
 * out.c - buffered, checked standard output.
 *
 * Tools write events through one buffer of their own on file descriptor 1
 * (no stdio), so that every write is checked.  The first write error is
 * remembered, output after it is dropped, and ev_out_close() reports it.  A
 * reader that went away (EPIPE, seen because ev_out_init() ignores SIGPIPE)
 * is not an error: output is dropped, ev_out_closed() turns true, and the
 * input loop stops quietly, like "grep | head".
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evkit.h"

#define OUT_BUFSIZE (128 * 1024)

static char out_buf[OUT_BUFSIZE];
static size_t out_len;
static int out_closed; /* EPIPE seen */
static int out_errno;  /* first write error, 0 if none */

/*
 * Ignore SIGPIPE (so a closed pipe is an EPIPE we can act on) and reset the
 * output state: an empty buffer, no error, not closed.
 */
void
ev_out_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	out_len = 0;
	out_closed = 0;
	out_errno = 0;
}

/* Write all of p[0..n) to fd 1, retrying on EINTR and short writes. */
static void
write_all(const char *p, size_t n)
{
	ssize_t w;

	while (n > 0 && !out_closed && out_errno == 0) {
		w = write(STDOUT_FILENO, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE)
				out_closed = 1;
			else
				out_errno = errno;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

/* True when output is being dropped (closed pipe or earlier error). */
static int
dropping(void)
{
	return out_closed || out_errno != 0;
}

/*
 * Write the buffered output now.  Returns 0, or -1 once a write error has
 * happened (the error itself is reported by ev_out_close()).  A closed pipe
 * is not an error.
 */
int
ev_out_flush(void)
{
	if (out_len > 0) {
		write_all(out_buf, out_len);
		out_len = 0;
	}
	return out_errno != 0 ? -1 : 0;
}

/*
 * Append buf[0..len) to standard output.  Never fails visibly: errors are
 * remembered for ev_out_close().  Writes larger than the buffer go straight
 * to the descriptor.
 */
void
ev_out_write(const void *buf, size_t len)
{
	if (dropping())
		return;
	if (len <= OUT_BUFSIZE - out_len) {
		memcpy(out_buf + out_len, buf, len);
		out_len += len;
		return;
	}
	ev_out_flush();
	if (len >= OUT_BUFSIZE)
		write_all(buf, len);
	else if (!dropping()) {
		memcpy(out_buf, buf, len);
		out_len = len;
	}
}

/* Append the string s. */
void
ev_out_str(const char *s)
{
	ev_out_write(s, strlen(s));
}

/* Append buf[0..len) and a newline. */
void
ev_out_line(const void *buf, size_t len)
{
	if (dropping())
		return;
	if (len < OUT_BUFSIZE - out_len) {
		memcpy(out_buf + out_len, buf, len);
		out_buf[out_len + len] = '\n';
		out_len += len + 1;
		return;
	}
	ev_out_write(buf, len);
	ev_out_write("\n", 1);
}

/*
 * Append printf-formatted text.  Formats straight into the buffer when it
 * fits; a longer result goes through a temporary allocation (failure to
 * allocate counts as a write error, ENOMEM).
 */
void
ev_out_printf(const char *fmt, ...)
{
	va_list ap;
	size_t room;
	char *tmp;
	int n;

	if (dropping())
		return;
	room = OUT_BUFSIZE - out_len;
	va_start(ap, fmt);
	n = vsnprintf(out_buf + out_len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		out_errno = errno != 0 ? errno : EINVAL;
		return;
	}
	if ((size_t)n < room) {
		out_len += (size_t)n;
		return;
	}
	tmp = malloc((size_t)n + 1);
	if (tmp == NULL) {
		out_errno = ENOMEM;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(tmp, (size_t)n + 1, fmt, ap);
	va_end(ap);
	ev_out_write(tmp, (size_t)n);
	free(tmp);
}

/*
 * True once output is being dropped: the reader of stdout has gone away
 * (EPIPE) or a write failed.  The input loop stops reading then; a failed
 * write is reported by ev_out_close().
 */
int
ev_out_closed(void)
{
	return out_closed || out_errno != 0;
}

/*
 * Flush and close standard output (fd 1).  Returns 0, or -1 with err set to
 * "write error on '<stdout>': <strerror>" (no location) for the first write
 * or close error.  A closed pipe is not an error, nor is an fd 1 that was
 * never open when nothing was written to it.
 */
int
ev_out_close(struct ev_err *err)
{
	ev_out_flush();
	if (close(STDOUT_FILENO) != 0 && out_errno == 0 && errno != EBADF &&
	    errno != EINTR && errno != EPIPE)
		out_errno = errno;
	if (out_errno == 0)
		return 0;
	ev_err_clear(err);
	ev_err_set(err, "write error on '<stdout>': %s", strerror(out_errno));
	return -1;
}
