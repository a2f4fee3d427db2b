/*
 * base.h - the bottom layer of libevkit: exit statuses, located errors,
 * the one diagnostic format, checked output sinks (standard output among
 * them), the start of every main, stop signals, durations and sizes.
 * Every other module builds on it; it calls no module above it.
 */
#ifndef EV_BASE_H
#define EV_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

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
 * Whether trying again later may succeed: a busy or locked resource, an
 * interrupted or timed-out call (retryable), or not: bad input, a full or
 * failing disk, a missing file (permanent).  Tools such as evretry and
 * evstore decide on it; everything else just prints the message.
 */
enum ev_err_class {
	EV_ERR_PERMANENT = 0,
	EV_ERR_RETRYABLE = 1
};

/*
 * A located error.  file may be NULL (no location), line/col 0 when unknown.
 * file is borrowed: it must outlive the ev_err (input names do).  errnum is
 * the errno of a failed system call (0 when none); cls defaults to
 * EV_ERR_PERMANENT.
 */
struct ev_err {
	const char *file;
	unsigned long line;
	unsigned long col;
	int errnum;
	enum ev_err_class cls;
	char msg[512];
};

/*
 * Fill err with a message (printf format); location, errnum and class are
 * untouched.
 */
void ev_err_set(struct ev_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Clear err: no location, empty message, errno 0, permanent. */
void ev_err_clear(struct ev_err *err);
/*
 * Record the errno of a failed system call in err, and the class it implies
 * (ev_errno_class()).  The message is untouched.
 */
void ev_err_errno(struct ev_err *err, int errnum);
/* Set err's class, overriding what ev_err_errno() chose. */
void ev_err_setclass(struct ev_err *err, enum ev_err_class cls);
/*
 * The class of an errno: EAGAIN, EWOULDBLOCK, EINTR, EBUSY, ETXTBSY,
 * ETIMEDOUT, EDEADLK, ENOLCK and the transient network errors are
 * retryable; everything else (ENOSPC, EDQUOT, EIO, EROFS, EACCES, ENOENT,
 * EPIPE, ...) is permanent for the tool.
 */
enum ev_err_class ev_errno_class(int errnum);

/* ----------------------------------------------------------------- diag */

/*
 * Diagnostics.  Every tool prints through these so the format is one:
 *   PROG: FILE:LINE:COL: message
 *   PROG: message
 * ev_setprogname() takes the basename of argv[0].
 */
/*
 * The first call of every main: ev_setprogname(argv0), then /dev/null on
 * each of the descriptors 0, 1 and 2 that is closed (read-only, so that
 * reading stdin gives end of file at once and writing to a closed stdout or
 * stderr fails with EBADF instead of landing in a file the tool opens
 * later), then ev_out_init().  Returns 0, or -1 when /dev/null cannot be
 * opened (the tool should exit EV_EXIT_ERROR).
 */
int ev_init(const char *argv0);
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
 * Output sinks: a file or descriptor with a buffer of its own, every write
 * checked.  Writing never fails visibly: the first write error is
 * remembered, output after it is dropped, and ev_sink_close() reports it as
 * "write error on 'NAME': strerror" (errnum and class set).  A reader that
 * went away (EPIPE, seen because ev_out_init() ignores SIGPIPE) is not an
 * error: the sink drops its output quietly, ev_sink_closed() turns true.
 *
 * A sink belongs to one thread at a time.  Standard output is the sink
 * ev_stdout(), written with ev_out_*(); in the parallel input loop the
 * workers' writes to it (and only to it) are captured and written in input
 * order.  Other sinks are written by the thread that owns them, e.g. from
 * the in-order hook of ev_input_opts, which runs on one thread.
 */
struct ev_sink;

enum {
	EV_SINK_TRUNC = 1,	/* empty a regular file on open */
	EV_SINK_APPEND = 2	/* O_APPEND: every write goes to the end */
};

/*
 * Open path for writing (created with mode 0666 & ~umask if missing) as a
 * sink named path in messages.  flags: EV_SINK_TRUNC, EV_SINK_APPEND, or 0
 * (write from the start, keep what is there: check ev_sink_stat() and call
 * ev_sink_truncate() later).  Returns the sink, or NULL with err set
 * ("PATH: strerror", errnum and class).  path is borrowed.
 */
struct ev_sink *ev_sink_open(const char *path, int flags,
    struct ev_err *err);
/*
 * A sink on the open descriptor fd, named name (borrowed).  ev_sink_close()
 * flushes it and closes fd when own is true.  Returns NULL with err set
 * when memory runs out.
 */
struct ev_sink *ev_sink_fdopen(int fd, const char *name, int own,
    struct ev_err *err);
/* The standard output sink, named '<stdout>'.  Never freed. */
struct ev_sink *ev_stdout(void);
/* What fstat(2) said about the sink's file when it was opened. */
const struct stat *ev_sink_stat(const struct ev_sink *s);
/* Empty the sink's file now when it is a regular file.  0 or -1 (err). */
int ev_sink_truncate(struct ev_sink *s, struct ev_err *err);
const char *ev_sink_name(const struct ev_sink *s);
void ev_sink_write(struct ev_sink *s, const void *buf, size_t len);
void ev_sink_str(struct ev_sink *s, const char *str);
/* Write buf, then a newline. */
void ev_sink_line(struct ev_sink *s, const void *buf, size_t len);
void ev_sink_printf(struct ev_sink *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Write the buffered bytes now.  0, or -1 once a write error happened. */
int ev_sink_flush(struct ev_sink *s);
/*
 * True once the sink drops its output: its reader has gone away (EPIPE) or
 * a write failed.  Safe to call from any thread.
 */
int ev_sink_closed(const struct ev_sink *s);
/* The first write error's errno, 0 when none (EPIPE is none). */
int ev_sink_errno(const struct ev_sink *s);
/*
 * Set err to "write error on 'NAME': strerror" for the sink's first write
 * error, and return -1; return 0 when there was none.
 */
int ev_sink_error(const struct ev_sink *s, struct ev_err *err);
/*
 * Flush the sink, close its descriptor when it owns it, and free it (the
 * stdout sink is closed but not freed).  Returns 0, or -1 with err set for
 * the first write or close error.  A closed pipe is not an error.  NULL is
 * a no-op.
 */
int ev_sink_close(struct ev_sink *s, struct ev_err *err);

/*
 * Standard output: the ev_stdout() sink.  Call ev_out_init() once at the
 * start of main (ev_init() does): it ignores SIGPIPE so that a vanished
 * reader shows up as EPIPE (and ev_out_closed()) instead of killing the
 * tool, and resets the output state.  A tool that runs child programs
 * should restore SIGPIPE to SIG_DFL in the child before exec.
 */
void ev_out_init(void);
void ev_out_write(const void *buf, size_t len);
void ev_out_str(const char *s);
void ev_out_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write buf, then a newline. */
void ev_out_line(const void *buf, size_t len);
/*
 * Write name escaped, so that it cannot split a line or a comma-separated
 * list: backslash, newline, tab and CR as \\, \n, \t, \r, a comma and the
 * other control characters as \xHH; everything else as it is.
 */
void ev_out_name(const char *name);
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
/*
 * Write s (--help, --version) on standard output and close it.  Returns
 * the exit status: EV_EXIT_OK, or EV_EXIT_ERROR after printing the write
 * error.
 */
int ev_out_info(const char *s);

/* ----------------------------------------------------------------- stop */

/*
 * Stop signals.  ev_stop_install() catches SIGINT and SIGTERM: the first
 * one is recorded and a byte written to a pipe (async-signal-safe), and the
 * signal's default action is restored, so a second one kills.  The input
 * loop polls that pipe with its input, so a read that blocks ends at once:
 * ev_input_loop() then returns EV_INPUT_STOPPED after writing what it has.
 * Tools exit 128 + ev_stop_signal() then (evkit(7)).  Call it before any
 * thread starts.  Returns 0, or -1 with err set.
 */
int ev_stop_install(struct ev_err *err);
/* The signal that asked to stop, 0 when none came. */
int ev_stop_signal(void);
/* The read end of the stop pipe (readable once a signal came), or -1. */
int ev_stop_fd(void);
/*
 * Catch the first n stop signals instead of one, the default action
 * coming back only after the n-th: a tool that lets its work finish after
 * a stop gives the work up at the second (evretry).  Before
 * ev_stop_install().
 */
void ev_stop_catch(int n);
/* How many stop signals were caught. */
int ev_stop_count(void);

/* ------------------------------------------------------------- duration */

/*
 * Parse a duration written 250ms, 10s, 5m, 2h, 7d (a whole number and one
 * unit; "0" alone is 0).  Stores milliseconds in *ms.  Returns 0, or -1 with
 * err set ("invalid duration '5x': ...").
 */
int ev_duration_parse(const char *s, int64_t *ms, struct ev_err *err);
/* Format ms in the largest unit that divides it exactly: 1500 -> "1500ms". */
void ev_duration_format(int64_t ms, char *buf, size_t size);

/* ---------------------------------------------------------------- clock */

/*
 * The toolkit's one clock (clock.c), in milliseconds since 1970 UTC.  With
 * EVKIT_NOW set (an RFC 3339 time or seconds since 1970, documented in
 * evkit(7)) the clock is virtual: it starts at that instant and moves only
 * through ev_sleep_ms() and ev_clock_advance(), so tests of TTLs, leases
 * and backoff are exact and do not wait.  ev_clock_init() reports a bad
 * EVKIT_NOW ("invalid EVKIT_NOW '...': ..."); tools call it after their
 * options.  Thread-safe.
 */
int ev_clock_init(struct ev_err *err);
int64_t ev_now_ms(void);
/* True when EVKIT_NOW makes the clock virtual. */
int ev_clock_virtual(void);
/* Move the virtual clock forward by ms; nothing on the real clock. */
void ev_clock_advance(int64_t ms);
/*
 * Sleep ms milliseconds (on the virtual clock: advance it).  A stop signal
 * (ev_stop_install()) ends the sleep early.
 */
void ev_sleep_ms(int64_t ms);
/*
 * Parse an RFC 3339 time ("2017-12-22T18:43:48Z", with an optional
 * fraction, 'Z' or an offset; EventBridge's "time") from s[0..n), or a
 * number of seconds since 1970 with an optional fraction, into
 * milliseconds since 1970.  Returns 0, or -1 when s is neither.
 */
int ev_time_parse(const char *s, size_t n, int64_t *ms);
/*
 * Format ms as RFC 3339 in UTC: "2017-12-22T18:43:48Z", with ".123" when
 * the milliseconds are not 0.  size 32 is enough.
 */
void ev_time_format(int64_t ms, char *buf, size_t size);

/* ------------------------------------------------------------- size */

/* Parse a byte count with an optional K, M or G suffix (powers of 1024). */
int ev_size_parse(const char *s, size_t *bytes, struct ev_err *err);

/* -------------------------------------------------------------- options */

/*
 * Option arguments (opt.c).  Each stores the value and returns 0, or prints
 * "PROG: invalid OPT 'ARG': expected ..." and returns -1 for the caller to
 * print its usage.  opt is the option as the user wrote it ("--max").
 */
/* A whole number from lo to hi (hi INT64_MAX: no upper bound). */
int ev_opt_int(const char *opt, const char *arg, int64_t lo, int64_t hi,
    int64_t *v);
/* A finite real number from lo to hi, in the C locale's spelling. */
int ev_opt_real(const char *opt, const char *arg, double lo, double hi,
    double *v);
/* A duration (ev_duration_parse()) of at least lo_ms. */
int ev_opt_duration(const char *opt, const char *arg, int64_t lo_ms,
    int64_t *ms);
/* An RFC 3339 time or seconds since 1970 (ev_time_parse()). */
int ev_opt_time(const char *opt, const char *arg, int64_t *ms);
/* A byte count (ev_size_parse()) of at least lo. */
int ev_opt_size(const char *opt, const char *arg, size_t lo, size_t *bytes);
/*
 * A file to write (--reject): "-" is refused, since it would name no file
 * ("OPT: '-' is not a file; use /dev/stdout or ./-").
 */
int ev_opt_file(const char *opt, const char *arg);
/*
 * One of the NULL-terminated choices: returns its index, or -1 after
 * "invalid OPT 'ARG': expected a, b or c".
 */
int ev_opt_choice(const char *opt, const char *arg,
    const char *const *choices);

/* ------------------------------------------------------------------ buf */

/* A growable byte buffer; zero-initialised is empty (buf.c). */
struct ev_buf {
	char *p;
	size_t len;
	size_t cap;
};

/*
 * Append s[0..n) to b, growing it.  Returns 0, or -1 when out of memory
 * (b unchanged).
 */
int ev_buf_add(struct ev_buf *b, const void *s, size_t n);
/* Release what b holds and empty it. */
void ev_buf_free(struct ev_buf *b);

/*
 * Read all of path (NULL: standard input) into a malloc'd buffer, with a
 * NUL after its *len bytes.  A regular file's size sizes the buffer.
 * Returns 0, or -1 with err's message the system's reason and its errno
 * recorded (the caller names the file).
 */
int ev_file_read(const char *path, char **text, size_t *len,
    struct ev_err *err);

/* --------------------------------------------------------------- memory */

/*
 * Ask for transparent huge pages (madvise MADV_HUGEPAGE) over the 2 MB
 * aligned part of p[0..n), when n is large: a big array filled at once
 * (10,000 rules' targets, a rules file read whole) then takes one page
 * fault per 2 MB instead of one per 4 kB.  Advice only: nothing happens
 * where the system does not offer them.
 */
void ev_advise_huge(void *p, size_t n);

/* ------------------------------------------------------------ libraries */

/*
 * Load the shared library soname (say "libpq.so.5") and its functions
 * names[0..n) into fns[0..n), once per process however many threads ask:
 * a tool links a big library (libpq, libcurl: dozens of dependencies, some
 * 15 ms at every start) only when it uses it.  fns[i] holds the address
 * as a void *; the caller copies it into a typed pointer.  0, or -1 with
 * err "cannot load SONAME: REASON" (then and later).  At most 8 libraries
 * per process.
 */
int ev_dl_load(const char *soname, const char *const *names, void **fns,
    size_t n, struct ev_err *err);

#endif
