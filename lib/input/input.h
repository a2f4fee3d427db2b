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

/*
 * One input line as handed to a tool's callback.  Valid until it returns.
 * A UTF-8 byte order mark at the very start of an input is not part of
 * line 1 (columns count from the byte after it).
 */
struct ev_line {
	const char *file;	/* "<stdin>" or the operand */
	unsigned long lineno;	/* 1-based */
	const char *buf;	/* the line without its newline (and CR) */
	size_t len;
	/*
	 * With an in-order hook (ev_input_opts.order): result_size bytes,
	 * zeroed, that the line callback fills for the hook (e.g. a dedupe
	 * key's hash); the hook gets them back.  NULL without a hook.
	 */
	void *result;
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

/*
 * The in-order hook: called in input order, one call at a time (on the
 * writer thread in parallel mode, inline serially), for every line the
 * line callback answered EV_NEXT, after that callback's output; ln is the
 * same line (valid until the hook returns), ln->result what the callback
 * left there.  It may write output (stdout or sinks of its own) and keep
 * state without locks (evdedupe: a set of keys), and answers like a line
 * callback: EV_BAD applies the bad-line policy to the line, EV_STOP and
 * EV_FAIL end the loop.
 *
 * It is also called with ln NULL when the input runs dry (reading a pipe
 * or terminal, before standard output is flushed) and once when the input
 * ends (not after a fatal error), on the calling thread then: a tool that
 * batches (evstore: commit, then write the committed lines) finishes its
 * batch there.  EV_FAIL is fatal then, EV_STOP stops, EV_BAD counts as
 * EV_NEXT.
 */
typedef enum ev_verdict (*ev_order_fn)(void *octx, const struct ev_line *ln,
    struct ev_err *err);

/* ev_input_opts.jobs: one worker per CPU the process may run on, up to 8. */
#define EV_JOBS_AUTO (-1)
#define EV_JOBS_MAX 64

/*
 * The worker count a tool asked for: arg (its --jobs value) when not NULL,
 * else the environment variable EVKIT_JOBS when set and not empty, else
 * EV_JOBS_AUTO.  A value is a whole number from 1 (read serially) to
 * EV_JOBS_MAX.  Returns 0, or -1 with err set ("invalid job count '0':
 * expected a number from 1 to 64", or "invalid EVKIT_JOBS '0': ...").
 */
int ev_input_jobs(const char *arg, int *jobs, struct ev_err *err);

/* ev_input_loop() returns this when a stop signal ended it (see base.h). */
#define EV_INPUT_STOPPED 2

struct ev_input_opts {
	size_t max_line;	/* 0: EV_MAX_LINE_DEFAULT */
	const char *reject_path;	/* keep raw bad lines here, or NULL */
	/*
	 * Parallel mode: 0 or 1 reads serially (the default); N > 1 runs the
	 * callback on N worker threads; EV_JOBS_AUTO on one per CPU (so
	 * serially on a single CPU).  Needs ctx_new, else reads serially:
	 * it makes a worker's own context from ctx (NULL when it cannot; the
	 * loop then uses fewer workers, and reads serially with fewer than
	 * two); ctx_free releases one.
	 * Both are called on the calling thread, before the workers start
	 * and after they have ended, so ctx_free may fold a worker's
	 * results into ctx.  Workers share nothing else: whatever fn reaches
	 * besides its wctx must be read-only.
	 */
	int jobs;
	void *(*ctx_new)(void *ctx);
	void (*ctx_free)(void *wctx);
	/*
	 * The in-order hook, with its context and the size of the per-line
	 * result (see ev_order_fn): inline after the callback when reading
	 * serially, on the writer thread in parallel mode.  With a hook
	 * each chunk keeps a record of about 56 + result_size bytes per
	 * line in flight.
	 */
	ev_order_fn order;
	void *order_ctx;
	size_t result_size;
	/*
	 * Other files the tool reads (evmatch's -f files): like the inputs
	 * and standard input, the reject file may not be one of them.
	 */
	const char *const *read_files;
	int nread_files;
};

/*
 * Read every line of the named files (NULL/empty list or "-" means stdin),
 * calling fn for each non-blank line.  Applies the toolkit's bad-input
 * policy: a line that is too long or that fn answers EV_BAD with is reported
 * with ev_diag() as FILE:LINE[:COL]: message, appended raw to the reject file
 * when there is one, and skipped; reading goes on.  An unreadable file, a
 * directory, or a regular file that is also standard output or the reject
 * file is reported and skipped.  A UTF-8 byte order mark at the start of
 * an input is skipped.
 *
 * The reject file is opened before reading, without truncating it first:
 * when it is one of the inputs (standard input included, when read) or of
 * opts->read_files, the loop reports "FILE: input file is also the reject
 * file" and returns -1 having changed nothing.  Otherwise it is emptied.
 *
 * Returns 0 when every line was good, 1 when some line or file was bad (the
 * tool should exit EV_EXIT_ERROR), EV_INPUT_STOPPED when a stop signal
 * (ev_stop_install()) ended reading, what was read being written out, and
 * -1 on a fatal error (reported already, or in err for EV_FAIL).
 *
 * In parallel mode (opts->jobs, opts->ctx_new) the input is cut into chunks
 * of whole lines that worker threads run through fn(wctx, ...), with
 * ln->lineno counted from the start of each file as usual.  What fn writes
 * to standard output (ev_out_*(), ev_sink_*(ev_stdout(), ...)) and with
 * ev_diag()/ev_warnx()/ev_warn() is held per chunk and written in input
 * order by one writer thread, which also runs the in-order hook, so
 * standard output, standard error and the reject file get the same bytes
 * as a serial run, and the result is the same.  fn must not call
 * ev_out_close() nor write to other sinks (the hook may).  After an EV_STOP
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
