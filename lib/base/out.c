/*
 * out.c - buffered, checked standard output.
 *
 * Tools write events through one buffer of their own on file descriptor 1
 * (no stdio), so that every write is checked.  The first write error is
 * remembered, output after it is dropped, and ev_out_close() reports it.  A
 * reader that went away (EPIPE, seen because ev_out_init() ignores SIGPIPE)
 * is not an error: output is dropped, ev_out_closed() turns true, and the
 * input loop stops quietly, like "grep | head".
 *
 * The buffer belongs to one thread at a time.  The parallel input loop
 * gives each worker a capture (struct ev_outcap) instead: on a thread with
 * a capture set, output and diagnostics are appended to it, and the loop's
 * writer thread passes them on in input order.  The closed and error flags
 * are atomic, so that ev_out_closed() can be asked from any thread.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"
#include "base_int.h"

#define OUT_BUFSIZE (128 * 1024)
#define CAP_MIN (16 * 1024) /* first allocation of a capture buffer */

static char out_buf[OUT_BUFSIZE];
static size_t out_len;
static atomic_int out_closed; /* EPIPE seen */
static atomic_int out_errno;  /* first write error, 0 if none */
static _Thread_local struct ev_outcap *capture;

/* Remember the first write error (later ones are dropped with the output). */
static void
set_errno(int e)
{
	int none = 0;

	atomic_compare_exchange_strong(&out_errno, &none, e);
}

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
	atomic_store(&out_closed, 0);
	atomic_store(&out_errno, 0);
}

/* True when output is being dropped (closed pipe or earlier error). */
static int
dropping(void)
{
	return atomic_load_explicit(&out_closed, memory_order_relaxed) ||
	    atomic_load_explicit(&out_errno, memory_order_relaxed) != 0;
}

/* Write all of p[0..n) to fd 1, retrying on EINTR and short writes. */
static void
write_all(const char *p, size_t n)
{
	ssize_t w;

	while (n > 0 && !dropping()) {
		w = write(STDOUT_FILENO, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE)
				atomic_store(&out_closed, 1);
			else
				set_errno(errno);
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

/*
 * Make room for n more bytes in a capture buffer.  Returns 0, or -1 (and
 * counts ENOMEM as a write error) when memory runs out.
 */
static int
cap_room(char **buf, size_t len, size_t *cap, size_t n)
{
	size_t ncap = *cap;
	char *nbuf;

	if (n <= ncap - len)
		return 0;
	if (n > SIZE_MAX / 2 - len) {
		set_errno(ENOMEM);
		return -1;
	}
	if (ncap < CAP_MIN)
		ncap = CAP_MIN;
	while (ncap - len < n)
		ncap *= 2;
	nbuf = realloc(*buf, ncap);
	if (nbuf == NULL) {
		set_errno(ENOMEM);
		return -1;
	}
	*buf = nbuf;
	*cap = ncap;
	return 0;
}

/*
 * Send the calling thread's output and diagnostics to cap (NULL: back to
 * the real streams).  See evkit.h.
 */
void
ev_out_capture(struct ev_outcap *cap)
{
	capture = cap;
}

/*
 * Append s[0..n) to the standard error bytes of the calling thread's
 * capture.  Returns 1, or 0 when the thread has no capture (the caller
 * writes to stderr itself).
 */
int
ev_out_capture_err(const char *s, size_t n)
{
	struct ev_outcap *c = capture;

	if (c == NULL)
		return 0;
	if (cap_room(&c->err, c->errlen, &c->errcap, n) == 0) {
		memcpy(c->err + c->errlen, s, n);
		c->errlen += n;
	}
	return 1;
}

/* Append p[0..n) to the capture's standard output bytes. */
static void
cap_out(struct ev_outcap *c, const void *p, size_t n)
{
	if (cap_room(&c->out, c->outlen, &c->outcap, n) == 0) {
		memcpy(c->out + c->outlen, p, n);
		c->outlen += n;
	}
}

/*
 * Write the buffered output now.  Returns 0, or -1 once a write error has
 * happened (the error itself is reported by ev_out_close()).  A closed pipe
 * is not an error.  On a thread with a capture there is nothing to do.
 */
int
ev_out_flush(void)
{
	if (capture == NULL && out_len > 0) {
		write_all(out_buf, out_len);
		out_len = 0;
	}
	return atomic_load(&out_errno) != 0 ? -1 : 0;
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
	if (capture != NULL) {
		cap_out(capture, buf, len);
		return;
	}
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
	struct ev_outcap *c = capture;

	if (dropping())
		return;
	if (c != NULL) {
		if (len < SIZE_MAX &&
		    cap_room(&c->out, c->outlen, &c->outcap, len + 1) == 0) {
			memcpy(c->out + c->outlen, buf, len);
			c->out[c->outlen + len] = '\n';
			c->outlen += len + 1;
		}
		return;
	}
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
	struct ev_outcap *c = capture;
	va_list ap;
	size_t room;
	char *dst, *tmp;
	int n;

	if (dropping())
		return;
	if (c != NULL) {
		if (c->outcap - c->outlen < 256)
			cap_room(&c->out, c->outlen, &c->outcap, 256);
		dst = c->out != NULL ? c->out + c->outlen : NULL;
		room = c->outcap - c->outlen;
	} else {
		dst = out_buf + out_len;
		room = OUT_BUFSIZE - out_len;
	}
	va_start(ap, fmt);
	n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		set_errno(errno != 0 ? errno : EINVAL);
		return;
	}
	if ((size_t)n < room) {
		if (c != NULL)
			c->outlen += (size_t)n;
		else
			out_len += (size_t)n;
		return;
	}
	tmp = malloc((size_t)n + 1);
	if (tmp == NULL) {
		set_errno(ENOMEM);
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
 * write is reported by ev_out_close().  Safe to call from any thread.
 */
int
ev_out_closed(void)
{
	return dropping();
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
	int e;

	ev_out_flush();
	if (close(STDOUT_FILENO) != 0 && atomic_load(&out_errno) == 0 &&
	    errno != EBADF && errno != EINTR && errno != EPIPE)
		set_errno(errno);
	e = atomic_load(&out_errno);
	if (e == 0)
		return 0;
	ev_err_clear(err);
	ev_err_set(err, "write error on '<stdout>': %s", strerror(e));
	return -1;
}
