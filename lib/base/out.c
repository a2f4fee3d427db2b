/*
 * out.c - output sinks: buffered, checked output to files and descriptors,
 * standard output among them.
 *
 * Each sink writes through a buffer of its own with write(2) (no stdio), so
 * that every write is checked.  The first write error is remembered, output
 * after it is dropped, and ev_sink_close() reports it with the sink's name.
 * A reader that went away (EPIPE, seen because ev_out_init() ignores
 * SIGPIPE) is not an error: output is dropped, ev_sink_closed() turns true,
 * and for standard output the input loop stops quietly, like "grep | head".
 *
 * A sink belongs to one thread at a time.  The parallel input loop gives
 * each worker a capture (struct ev_outcap) instead: on a thread with a
 * capture set, what goes to the standard output sink and diagnostics are
 * appended to it, and the loop's writer thread passes them on in input
 * order.  The closed and error flags are atomic, so that ev_sink_closed()
 * can be asked from any thread.
 */
#include <errno.h>
#include <fcntl.h>
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
#define SINK_BUFSIZE (64 * 1024)
#define CAP_MIN (16 * 1024) /* first allocation of a capture buffer */

struct ev_sink {
	int fd;
	int own;		/* close fd in ev_sink_close() */
	const char *name;
	char *buf;
	size_t len, size;
	atomic_int closed;	/* EPIPE seen */
	atomic_int err;		/* first write error, 0 if none */
	struct stat st;
};

static char out_buf[OUT_BUFSIZE];
static struct ev_sink std = {
	.fd = STDOUT_FILENO, .name = "<stdout>", .buf = out_buf,
	.size = OUT_BUFSIZE
};
static _Thread_local struct ev_outcap *capture;

/* Remember the first write error (later ones are dropped with the output). */
static void
set_errno(struct ev_sink *s, int e)
{
	int none = 0;

	atomic_compare_exchange_strong(&s->err, &none, e);
}

/*
 * Ignore SIGPIPE (so a closed pipe is an EPIPE we can act on) and reset the
 * standard output sink: an empty buffer, no error, not closed.
 */
void
ev_out_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	std.len = 0;
	atomic_store(&std.closed, 0);
	atomic_store(&std.err, 0);
	if (fstat(STDOUT_FILENO, &std.st) != 0)
		memset(&std.st, 0, sizeof(std.st));
}

struct ev_sink *
ev_stdout(void)
{
	return &std;
}

/* A sink on fd, or NULL with err set. */
static struct ev_sink *
sink_new(int fd, const char *name, int own, struct ev_err *err)
{
	struct ev_sink *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->buf = malloc(SINK_BUFSIZE)) == NULL) {
		free(s);
		ev_err_clear(err);
		ev_err_set(err, "out of memory");
		ev_err_errno(err, ENOMEM);
		return NULL;
	}
	s->fd = fd;
	s->own = own;
	s->name = name;
	s->size = SINK_BUFSIZE;
	if (fstat(fd, &s->st) != 0)
		memset(&s->st, 0, sizeof(s->st));
	return s;
}

/* Open path as a sink; see base.h for flags. */
struct ev_sink *
ev_sink_open(const char *path, int flags, struct ev_err *err)
{
	struct ev_sink *s;
	int fd, oflags = O_WRONLY | O_CREAT | O_CLOEXEC;

	if (flags & EV_SINK_APPEND)
		oflags |= O_APPEND;
	if ((fd = open(path, oflags, 0666)) < 0) {
		ev_err_clear(err);
		err->file = path;
		ev_err_set(err, "%s", strerror(errno));
		ev_err_errno(err, errno);
		return NULL;
	}
	if ((s = sink_new(fd, path, 1, err)) == NULL) {
		close(fd);
		return NULL;
	}
	if ((flags & EV_SINK_TRUNC) && ev_sink_truncate(s, err) != 0) {
		close(fd);
		free(s->buf);
		free(s);
		return NULL;
	}
	return s;
}

/* A sink on an open descriptor. */
struct ev_sink *
ev_sink_fdopen(int fd, const char *name, int own, struct ev_err *err)
{
	return sink_new(fd, name, own, err);
}

const struct stat *
ev_sink_stat(const struct ev_sink *s)
{
	return &s->st;
}

const char *
ev_sink_name(const struct ev_sink *s)
{
	return s->name;
}

/*
 * Empty the sink's file if it is a regular file (a pipe or device has
 * nothing to empty).  Returns 0, or -1 with err set.
 */
int
ev_sink_truncate(struct ev_sink *s, struct ev_err *err)
{
	if (!S_ISREG(s->st.st_mode))
		return 0;
	if (ftruncate(s->fd, 0) != 0) {
		ev_err_clear(err);
		err->file = s->name;
		ev_err_set(err, "%s", strerror(errno));
		ev_err_errno(err, errno);
		return -1;
	}
	return 0;
}

/* True when output is being dropped (closed pipe or earlier error). */
static int
dropping(const struct ev_sink *s)
{
	return atomic_load_explicit(&s->closed, memory_order_relaxed) ||
	    atomic_load_explicit(&s->err, memory_order_relaxed) != 0;
}

/* Write all of p[0..n) to the sink's fd, retrying on EINTR and short writes. */
static void
write_all(struct ev_sink *s, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0 && !dropping(s)) {
		w = write(s->fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE)
				atomic_store(&s->closed, 1);
			else
				set_errno(s, errno);
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

/*
 * Make room for n more bytes in a capture buffer.  Returns 0, or -1 (and
 * counts ENOMEM as a write error of stdout) when memory runs out.
 */
static int
cap_room(char **buf, size_t len, size_t *cap, size_t n)
{
	size_t ncap = *cap;
	char *nbuf;

	if (n <= ncap - len)
		return 0;
	if (n > SIZE_MAX / 2 - len) {
		set_errno(&std, ENOMEM);
		return -1;
	}
	if (ncap < CAP_MIN)
		ncap = CAP_MIN;
	while (ncap - len < n)
		ncap *= 2;
	nbuf = realloc(*buf, ncap);
	if (nbuf == NULL) {
		set_errno(&std, ENOMEM);
		return -1;
	}
	*buf = nbuf;
	*cap = ncap;
	return 0;
}

/*
 * Send the calling thread's stdout and diagnostics to cap (NULL: back to
 * the real streams).  See base_int.h.
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

/* The capture that takes what goes to sink s on this thread, or NULL. */
static struct ev_outcap *
captured(const struct ev_sink *s)
{
	return s == &std ? capture : NULL;
}

/*
 * Write the buffered output now.  Returns 0, or -1 once a write error has
 * happened (the error itself is reported by ev_sink_close()).  A closed
 * pipe is not an error.  Captured stdout has nothing to flush.
 */
int
ev_sink_flush(struct ev_sink *s)
{
	if (captured(s) == NULL && s->len > 0) {
		write_all(s, s->buf, s->len);
		s->len = 0;
	}
	return atomic_load(&s->err) != 0 ? -1 : 0;
}

/*
 * Append buf[0..len).  Never fails visibly: errors are remembered for
 * ev_sink_close().  Writes larger than the buffer go straight to the
 * descriptor.
 */
void
ev_sink_write(struct ev_sink *s, const void *buf, size_t len)
{
	struct ev_outcap *c;

	if (dropping(s))
		return;
	if ((c = captured(s)) != NULL) {
		cap_out(c, buf, len);
		return;
	}
	if (len <= s->size - s->len) {
		memcpy(s->buf + s->len, buf, len);
		s->len += len;
		return;
	}
	ev_sink_flush(s);
	if (len >= s->size)
		write_all(s, buf, len);
	else if (!dropping(s)) {
		memcpy(s->buf, buf, len);
		s->len = len;
	}
}

/* Append the string str. */
void
ev_sink_str(struct ev_sink *s, const char *str)
{
	ev_sink_write(s, str, strlen(str));
}

/* Append buf[0..len) and a newline. */
void
ev_sink_line(struct ev_sink *s, const void *buf, size_t len)
{
	struct ev_outcap *c;

	if (dropping(s))
		return;
	if ((c = captured(s)) != NULL) {
		if (len < SIZE_MAX &&
		    cap_room(&c->out, c->outlen, &c->outcap, len + 1) == 0) {
			memcpy(c->out + c->outlen, buf, len);
			c->out[c->outlen + len] = '\n';
			c->outlen += len + 1;
		}
		return;
	}
	if (len < s->size - s->len) {
		memcpy(s->buf + s->len, buf, len);
		s->buf[s->len + len] = '\n';
		s->len += len + 1;
		return;
	}
	ev_sink_write(s, buf, len);
	ev_sink_write(s, "\n", 1);
}

/*
 * Append printf-formatted text.  Formats straight into the buffer when it
 * fits; a longer result goes through a temporary allocation (failure to
 * allocate counts as a write error, ENOMEM).
 */
static void
sink_vprintf(struct ev_sink *s, const char *fmt, va_list ap0)
{
	struct ev_outcap *c = captured(s);
	va_list ap;
	size_t room;
	char *dst, *tmp;
	int n;

	if (dropping(s))
		return;
	if (c != NULL) {
		if (c->outcap - c->outlen < 256)
			cap_room(&c->out, c->outlen, &c->outcap, 256);
		dst = c->out != NULL ? c->out + c->outlen : NULL;
		room = c->outcap - c->outlen;
	} else {
		dst = s->buf + s->len;
		room = s->size - s->len;
	}
	va_copy(ap, ap0);
	n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		set_errno(s, errno != 0 ? errno : EINVAL);
		return;
	}
	if ((size_t)n < room) {
		if (c != NULL)
			c->outlen += (size_t)n;
		else
			s->len += (size_t)n;
		return;
	}
	tmp = malloc((size_t)n + 1);
	if (tmp == NULL) {
		set_errno(s, ENOMEM);
		return;
	}
	va_copy(ap, ap0);
	vsnprintf(tmp, (size_t)n + 1, fmt, ap);
	va_end(ap);
	ev_sink_write(s, tmp, (size_t)n);
	free(tmp);
}

void
ev_sink_printf(struct ev_sink *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sink_vprintf(s, fmt, ap);
	va_end(ap);
}

/* True once the sink drops its output.  Safe to call from any thread. */
int
ev_sink_closed(const struct ev_sink *s)
{
	return dropping(s);
}

int
ev_sink_errno(const struct ev_sink *s)
{
	return atomic_load(&s->err);
}

/* "write error on 'NAME': strerror" for the first write error, if any. */
int
ev_sink_error(const struct ev_sink *s, struct ev_err *err)
{
	int e = atomic_load(&s->err);

	if (e == 0)
		return 0;
	ev_err_clear(err);
	ev_err_set(err, "write error on '%s': %s", s->name, strerror(e));
	ev_err_errno(err, e);
	return -1;
}

/*
 * Flush the sink and close its descriptor (if it owns it; stdout's fd 1
 * always), then free it (not stdout).  Returns 0, or -1 with err set for
 * the first write or close error.  A closed pipe is not an error, nor is a
 * descriptor that was never open when nothing was written to it.
 */
int
ev_sink_close(struct ev_sink *s, struct ev_err *err)
{
	int r;

	if (s == NULL)
		return 0;
	ev_sink_flush(s);
	if ((s->own || s == &std) && close(s->fd) != 0 &&
	    atomic_load(&s->err) == 0 && errno != EBADF && errno != EINTR &&
	    errno != EPIPE)
		set_errno(s, errno);
	r = ev_sink_error(s, err);
	if (s != &std) {
		free(s->buf);
		free(s);
	}
	return r;
}

void
ev_out_write(const void *buf, size_t len)
{
	ev_sink_write(&std, buf, len);
}

void
ev_out_str(const char *s)
{
	ev_sink_write(&std, s, strlen(s));
}

void
ev_out_line(const void *buf, size_t len)
{
	ev_sink_line(&std, buf, len);
}

void
ev_out_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sink_vprintf(&std, fmt, ap);
	va_end(ap);
}

int
ev_out_flush(void)
{
	return ev_sink_flush(&std);
}

int
ev_out_closed(void)
{
	return dropping(&std);
}

/*
 * Flush and close standard output (fd 1).  Returns 0, or -1 with err set
 * to "write error on '<stdout>': <strerror>" (no location).
 */
int
ev_out_close(struct ev_err *err)
{
	return ev_sink_close(&std, err);
}

/*
 * Write s (a tool's --help or --version text) on standard output and close
 * it.  Returns the exit status: EV_EXIT_OK, or EV_EXIT_ERROR after printing
 * the write error (--help >/dev/full fails).
 */
int
ev_out_info(const char *s)
{
	struct ev_err err;

	ev_out_str(s);
	ev_err_clear(&err);
	if (ev_out_close(&err) < 0) {
		ev_diag(&err);
		return EV_EXIT_ERROR;
	}
	return EV_EXIT_OK;
}

/*
 * Write a name (a rule's, a target's) on the standard output so that it
 * cannot split or forge an output line or a comma-separated list: a backslash,
 * a comma and the control characters are written as \\, \n, \t, \r or
 * \xHH (a comma as \x2c), everything else as it is.
 */
void
ev_out_name(const char *s)
{
	static const char hex[] = "0123456789abcdef";
	char esc[4] = { '\\', 'x', 0, 0 };
	const char *run = s;
	unsigned char b;

	for (; (b = (unsigned char)*s) != '\0'; s++) {
		if (b >= 0x20 && b != 0x7f && b != ',' && b != '\\')
			continue;
		ev_out_write(run, (size_t)(s - run));
		run = s + 1;
		if (b == '\\' || b == '\n' || b == '\t' || b == '\r') {
			esc[1] = b == '\\' ? '\\' : b == '\n' ? 'n' :
			    b == '\t' ? 't' : 'r';
			ev_out_write(esc, 2);
			esc[1] = 'x';
		} else {
			esc[2] = hex[b >> 4];
			esc[3] = hex[b & 15];
			ev_out_write(esc, 4);
		}
	}
	ev_out_write(run, (size_t)(s - run));
}
