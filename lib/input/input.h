/*
 * input.h - the input loop: files or standard input, line by line, with
 * line numbers and the toolkit's bad-line policy; serial, or in order on
 * worker threads.
 */
#ifndef EV_INPUT_H
#define EV_INPUT_H

#include "base/base.h"

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

#endif
