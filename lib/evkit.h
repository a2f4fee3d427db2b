/*
 * evkit.h - the public interface of libevkit, shared by every evkit tool.
 *
 * Commands include only this header.  Library internals (the JSON scanner,
 * libjq and SQLite glue) live behind the lib/..._int.h headers.
 *
 * Conventions:
 *  - Functions that can fail take a struct ev_err * and return -1 (or NULL)
 *    after filling it in; they never print and never exit.
 *  - Objects are created by ev_X_new()/ev_X_open() and released by
 *    ev_X_free()/ev_X_close(); passing NULL to a free function is a no-op.
 */
#ifndef EVKIT_H
#define EVKIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define EV_VERSION "0.1.0"

/*
 * Exit statuses of every evkit tool, documented in evkit(7).  Filters answer
 * like grep(1): something selected, nothing selected, or trouble (which wins
 * over "nothing selected").
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


/* ---------------------------------------------------------------- input */

#define EV_MAX_LINE_DEFAULT (1024 * 1024)

/* One input line as handed to a tool's callback.  Valid until it returns. */
struct ev_line {
	const char *file;	/* "<stdin>" or the operand */
	unsigned long lineno;	/* 1-based */
	const char *buf;	/* the line without its newline (and CR) */
	size_t len;
};

/* What a line callback answers. */
enum ev_verdict {
	EV_NEXT = 0,	/* line handled, go on */
	EV_BAD = 1,	/* bad line: err holds col and message; policy applies */
	EV_STOP = 2,	/* stop reading quietly (e.g. -q found a match) */
	EV_FAIL = 3	/* fatal error in err: stop, exit status 2 */
};

typedef enum ev_verdict (*ev_line_fn)(void *ctx, const struct ev_line *ln,
    struct ev_err *err);

/* ev_input_opts.jobs: one worker per CPU the process may run on, up to 8. */
#define EV_JOBS_AUTO (-1)

struct ev_input_opts {
	size_t max_line;	/* 0: EV_MAX_LINE_DEFAULT */
	const char *reject_path;	/* keep raw bad lines here, or NULL */
	/*
	 * Parallel mode: 0 or 1 reads serially (the default); N > 1 runs the
	 * callback on N worker threads; EV_JOBS_AUTO on one per CPU (so
	 * serially on a single CPU).  Needs ctx_new, else reads serially:
	 * it makes a worker's own context from ctx (NULL when it cannot; the
	 * loop then uses fewer workers, or none); ctx_free releases one.
	 * Both are called on the calling thread, before the workers start
	 * and after they have ended, so ctx_free may fold a worker's
	 * results into ctx.  Workers share nothing else: whatever fn reaches
	 * besides its wctx must be read-only.
	 */
	int jobs;
	void *(*ctx_new)(void *ctx);
	void (*ctx_free)(void *wctx);
};

/*
 * Read every line of the named files (NULL/empty list or "-" means stdin),
 * calling fn for each non-blank line.  Applies the toolkit's bad-input
 * policy: a line that is too long or that fn answers EV_BAD with is reported
 * with ev_diag() as FILE:LINE[:COL]: message, appended raw to the reject file
 * when there is one, and skipped; reading goes on.  An unreadable file is
 * reported and skipped.
 *
 * Returns 0 when every line was good, 1 when some line or file was bad (the
 * tool should exit EV_EXIT_ERROR), and -1 on a fatal error (reported already,
 * or in err for EV_FAIL).
 *
 * In parallel mode (opts->jobs, opts->ctx_new) the input is cut into chunks
 * of whole lines that worker threads run through fn(wctx, ...), with
 * ln->lineno counted from the start of each file as usual.  What fn writes
 * with ev_out_*() and ev_diag()/ev_warnx()/ev_warn() is held per chunk and
 * written in input order by one writer thread, so standard output, standard
 * error and the reject file get the same bytes as a serial run, and the
 * result is the same.  fn must not call ev_out_close().  After an EV_STOP
 * or EV_FAIL (or a closed stdout or a failed reject write) nothing from
 * later lines is written, but fn may already have been called for some of
 * them: a tally folded in by ctx_free can count those.  Memory stays
 * bounded: at most 2 * jobs + 2 chunks of about 512 KiB are in flight.
 * Reading a pipe or terminal, standard output is flushed whenever the
 * input runs dry, as serially.
 */
int ev_input_loop(char *const *files, int nfiles,
    const struct ev_input_opts *opts, ev_line_fn fn, void *ctx);

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

/* ----------------------------------------------------------------- path */

/*
 * A compiled path into an event: dotted ("detail.user.id") or as
 * EventBridge's InputPath writes it ("$.detail.user.id"; "$" is the whole
 * event).  Used by evdedupe and the transformers.
 */
struct ev_path;
struct ev_path *ev_path_compile(const char *spec, struct ev_err *err);
void ev_path_free(struct ev_path *p);

/*
 * Find the value at path p in the JSON object line[0..len).  On success
 * stores a pointer into line and the length of the value's raw JSON text
 * (a string keeps its quotes) and returns 1; returns 0 when the path is
 * absent; -1 with err (col set) when the line is not valid JSON.
 */
int ev_path_get(const struct ev_path *p, const char *line, size_t len,
    const char **val, size_t *vlen, struct ev_err *err);

/* -------------------------------------------------------------- pattern */

/*
 * A rule set: named EventBridge event patterns compiled together.
 */
struct ev_rules;

struct ev_rules *ev_rules_new(void);
void ev_rules_free(struct ev_rules *rs);

/*
 * Compile one pattern (JSON text) under name (copied; NULL names it by
 * position, "1", "2", ...).  On an invalid pattern returns -1 with err set
 * to event-ruler's reason, located in text (line/col relative to text).
 */
int ev_rules_add(struct ev_rules *rs, const char *name, const char *text,
    size_t len, struct ev_err *err);

/*
 * Load every rule in a pattern file.  Detects the file's shape: one pattern;
 * a JSON array or NDJSON of {"name":..., "pattern":...} rules; a
 * CloudFormation/SAM template (each AWS::Events::Rule's EventPattern, named
 * by logical id); or `aws events describe-rule` / `list-rules` output.
 * Errors are located in path.  Returns the number of rules added or -1.
 */
int ev_rules_load(struct ev_rules *rs, const char *path, struct ev_err *err);

/* Prepare the rule set for matching; call once, after the last add. */
int ev_rules_finish(struct ev_rules *rs, struct ev_err *err);

size_t ev_rules_count(const struct ev_rules *rs);
const char *ev_rules_name(const struct ev_rules *rs, size_t i);

/*
 * Per-thread match state: scratch space and the list of matched rules.
 */
struct ev_matcher;
struct ev_matcher *ev_matcher_new(const struct ev_rules *rs);
void ev_matcher_free(struct ev_matcher *m);

enum ev_match_mode {
	EV_MATCH_ANY = 0,	/* stop at the first matching rule */
	EV_MATCH_ALL = 1	/* find every matching rule */
};

/*
 * Match one event (a JSON object, line[0..len)) against the rule set.
 * Returns the number of rules matched (with EV_MATCH_ANY, 0 or 1), or -1 if
 * the line is not a valid JSON object (err->col and err->msg set).
 * The line is validated completely even when no rule can match.
 */
int ev_match(struct ev_matcher *m, const char *line, size_t len,
    enum ev_match_mode mode, struct ev_err *err);
/* Indexes (for ev_rules_name) of the rules matched by the last ev_match. */
const size_t *ev_matched(const struct ev_matcher *m, size_t *n);

/*
 * Explain why an event does not match: calls fn once per rule with a
 * human-readable reason, e.g. "rule 'r1': detail.state: \"pending\" is not
 * one of [\"running\"]".  Slow (uses libjq); for --explain only.
 */
typedef void (*ev_explain_fn)(void *ctx, const char *rule, const char *why);
int ev_rules_explain(const struct ev_rules *rs, const char *line, size_t len,
    ev_explain_fn fn, void *ctx, struct ev_err *err);

#endif
