/*
 * diag.c - the toolkit's only printer of diagnostics.  Every message goes
 * to stderr as "PROG: FILE:LINE:COL: message", location parts only when
 * known.  Each diagnostic is formatted whole and written with one fwrite()
 * on unbuffered stderr, so it reaches the terminal as one write, with
 * control bytes escaped (\n, \xNN) so that no name can break the line; on a
 * thread with an output capture (ev_out_capture()) it is appended to the
 * capture instead, for the parallel input loop to print in input order.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "base_int.h"

static const char *progname = "evkit";

/*
 * Remember the program name for diagnostics: the basename of argv0, which
 * is borrowed (argv outlives every diagnostic).  NULL or "" keeps "evkit".
 * Call it before any thread is started.
 */
void
ev_setprogname(const char *argv0)
{
	const char *slash;

	if (argv0 == NULL || *argv0 == '\0')
		return;
	slash = strrchr(argv0, '/');
	if (slash == NULL)
		progname = argv0;
	else if (slash[1] != '\0')
		progname = slash + 1;
}

/* The name set by ev_setprogname(), or "evkit". */
const char *
ev_progname(void)
{
	return progname;
}

/*
 * Send the line s[0..n), which ends in '\n', to the thread's capture or to
 * stderr, with every other control byte written as \n, \t, \r or \xNN, so
 * that a file name or value holding them cannot forge or garble a line.
 */
static void
emit(const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char stack[2048], *e = stack;
	size_t i, k = 0, ctl = 0;
	unsigned char b;

	for (i = 0; i + 1 < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			ctl++;
	if (ctl != 0 && n + 3 * ctl > sizeof(stack) &&
	    (e = malloc(n + 3 * ctl)) == NULL) {
		e = stack;
		ctl = 0;
	}
	if (ctl == 0) {
		if (!ev_out_capture_err(s, n))
			fwrite(s, 1, n, stderr);
		if (e != stack)
			free(e);
		return;
	}
	for (i = 0; i < n; i++) {
		b = (unsigned char)s[i];
		if ((b >= 0x20 && b != 0x7f) || i + 1 == n) {
			e[k++] = (char)b;
			continue;
		}
		e[k++] = '\\';
		if (b == '\n' || b == '\t' || b == '\r') {
			e[k++] = b == '\n' ? 'n' : b == '\t' ? 't' : 'r';
		} else {
			e[k++] = 'x';
			e[k++] = hex[b >> 4];
			e[k++] = hex[b & 15];
		}
	}
	if (!ev_out_capture_err(e, k))
		fwrite(e, 1, k, stderr);
	if (e != stack)
		free(e);
}

/*
 * Format one diagnostic line and send it to the thread's capture or, one
 * write, to stderr.  Falls back to stdio formatting when memory is short.
 */
static void __attribute__((format(printf, 1, 2)))
say(const char *fmt, ...)
{
	char small[1024], *p = small;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(small)) {
		p = malloc((size_t)n + 1);
		va_start(ap, fmt);
		if (p != NULL)
			vsnprintf(p, (size_t)n + 1, fmt, ap);
		else
			vfprintf(stderr, fmt, ap);
		va_end(ap);
		if (p == NULL)
			return;
	}
	emit(p, (size_t)n);
	if (p != small)
		free(p);
}

/*
 * Print err on stderr as "prog: file:line:col: msg".  Each location part is
 * left out when unknown: the file when err->file is NULL, the line when it
 * is 0, the column when it (or the line) is 0.
 */
void
ev_diag(const struct ev_err *err)
{
	char pos[64];
	const char *file = err->file != NULL ? err->file : "";
	const char *sep = err->file != NULL ? ":" : "";
	const char *msg = err->msg;
	unsigned long line = err->line, col = err->col;

	pos[0] = '\0';
	if (line != 0 && col != 0)
		snprintf(pos, sizeof(pos), "%s%lu:%lu", sep, line, col);
	else if (line != 0)
		snprintf(pos, sizeof(pos), "%s%lu", sep, line);
	if (err->file == NULL && line == 0)
		say("%s: %s\n", progname, msg);
	else
		say("%s: %s%s: %s\n", progname, file, pos, msg);
}

/* Print "prog: <formatted>" on stderr. */
void
ev_warnx(const char *fmt, ...)
{
	char msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say("%s: %s\n", progname, msg);
}

/*
 * Print "prog: <formatted>: <strerror(errno)>" on stderr, with errno as it
 * was on entry.
 */
void
ev_warn(const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say("%s: %s: %s\n", progname, msg, strerror(saved));
}
