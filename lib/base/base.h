/*
 * base.h - the bottom layer of libevkit: exit statuses, located errors,
 * the one diagnostic format, checked standard output, durations and sizes.
 * Every other module builds on it; it calls no module above it.
 */
#ifndef EV_BASE_H
#define EV_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define EV_VERSION "0.1.0"

/*
 * Exit statuses of every evkit tool, documented in evkit(7).  Filters answer
 * like grep(1): something selected, nothing selected, or trouble (which wins
 * over "nothing selected").
 */
/*
 * Running out of memory: functions that can fail report it as an error
 * ("out of memory"); where there is no error to return, the library's
 * allocation helpers print "PROG: out of memory" and exit EV_EXIT_ERROR.
 * That is the only way the library exits (see base/alloc.c).
 */
enum ev_exit {
	EV_EXIT_OK = 0,		/* success; a filter selected something */
	EV_EXIT_NONE = 1,	/* a filter selected nothing */
	EV_EXIT_ERROR = 2	/* usage error, bad input, I/O error */
};

/* ------------------------------------------------------------------ err */

/*
 * A located error.  file may be NULL (no location), line/col 0 when unknown.
 * file is borrowed: it must outlive the ev_err (input names do).
 */
struct ev_err {
	const char *file;
	unsigned long line;
	unsigned long col;
	char msg[512];
};

/* Fill err with a message (printf format); location fields are untouched. */
void ev_err_set(struct ev_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Clear err: no location, empty message. */
void ev_err_clear(struct ev_err *err);

/* ----------------------------------------------------------------- diag */

/*
 * Diagnostics.  Every tool prints through these so the format is one:
 *   PROG: FILE:LINE:COL: message
 *   PROG: message
 * ev_setprogname() takes the basename of argv[0].
 */
void ev_setprogname(const char *argv0);
const char *ev_progname(void);
/* Print err as "prog: file:line:col: msg" (location parts only if known). */
void ev_diag(const struct ev_err *err);
/* Print "prog: <formatted>" on stderr. */
void ev_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "prog: <formatted>: strerror(errno)" on stderr. */
void ev_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ------------------------------------------------------------------ out */

/*
 * Buffered, checked standard output.  ev_out_write() never fails visibly;
 * the first write error is remembered and reported by ev_out_close().
 * A closed pipe (EPIPE) is not an error: ev_out_closed() turns true and the
 * input loop stops quietly.
 */
/*
 * Call once at the start of main: ignores SIGPIPE so that a vanished reader
 * shows up as EPIPE (and ev_out_closed()) instead of killing the tool, and
 * resets the output state.  A tool that runs child programs should restore
 * SIGPIPE to SIG_DFL in the child before exec.
 */
void ev_out_init(void);
void ev_out_write(const void *buf, size_t len);
void ev_out_str(const char *s);
void ev_out_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write buf, then a newline. */
void ev_out_line(const void *buf, size_t len);
int ev_out_flush(void);
/*
 * True once output is dropped: the reader of stdout has gone away (EPIPE)
 * or a write failed (reported later by ev_out_close()).  Input loops stop.
 * Safe to call from any thread.
 */
int ev_out_closed(void);
/*
 * Flush and close stdout.  Returns 0, or -1 with err set ("write error on
 * '<stdout>': No space left on device").  A closed pipe is not an error.
 */
int ev_out_close(struct ev_err *err);


/* ------------------------------------------------------------- duration */

/*
 * Parse a duration written 250ms, 10s, 5m, 2h, 7d (a whole number and one
 * unit; "0" alone is 0).  Stores milliseconds in *ms.  Returns 0, or -1 with
 * err set ("invalid duration '5x': ...").
 */
int ev_duration_parse(const char *s, int64_t *ms, struct ev_err *err);
/* Format ms in the largest unit that divides it exactly: 1500 -> "1500ms". */
void ev_duration_format(int64_t ms, char *buf, size_t size);

/* ------------------------------------------------------------- size */

/* Parse a byte count with an optional K, M or G suffix (powers of 1024). */
int ev_size_parse(const char *s, size_t *bytes, struct ev_err *err);

#endif
