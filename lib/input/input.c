/*
 * input.c - the toolkit's input loop: files or standard input, one event per
 * line, with file and line tracking and the bad-line policy; and its serial
 * executor.
 *
 * Lines are found with memchr() in a large read(2) buffer and handed to the
 * tool's callback in place (no copy, no allocation per line).  The buffer
 * holds at most one partial line of max_line bytes besides a read's worth of
 * data; a longer line is reported, copied raw to the reject file as it
 * streams past, and skipped.
 *
 * ev_input_loop() picks the executor: this serial one, or the parallel one
 * of parallel.c.  Both stand on reader.c (operands, the reject file, the
 * line policy); see input_int.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "input.h"
#include "input_int.h"

#define READ_SIZE (256 * 1024) /* least room offered to read(2) */

/* The serial executor's state. */
struct serial {
	struct loop *L;
	char *buf;		/* read buffer */
	size_t cap;
	size_t maxcap;		/* max_line + CR + LF + READ_SIZE */
	void *result;		/* ev_line.result, with a hook */
	struct ev_rd_to to;	/* the reject file, the loop's flag */
	struct ev_err err;	/* the callback's */
};

/* Serially, a bad line goes to the reject file at once. */
static int
to_reject(void *arg, const char *p, size_t n)
{
	return ev_rd_reject(arg, p, n);
}

/*
 * Report line lineno of name as too long, and send its first n raw bytes to
 * the reject file (the caller sends the rest, and the newline).
 */
static int
too_long(struct loop *L, const char *name, unsigned long lineno, const char *p,
    size_t n)
{
	struct ev_err err;

	ev_rd_too_long(L, &err, name, lineno);
	ev_diag(&err);
	L->bad = 1;
	return ev_rd_reject(L, p, n);
}

/* The line policy for one complete line, then the in-order hook. */
static int
handle_line(struct serial *S, const char *name, unsigned long lineno,
    const char *p, size_t n)
{
	struct loop *L = S->L;
	int next, r;

	if (S->result != NULL)
		memset(S->result, 0, L->result_size);
	r = ev_rd_line(L, L->ctx, name, lineno, p, n, S->result, &S->to,
	    &S->err, &next);
	if (r == GO_ON && next && L->order != NULL)
		r = ev_rd_order(L, name, lineno, p, n, S->result, &S->to);
	if (r == GO_ON && ev_out_closed())
		r = STOP;
	return r;
}

/* Make room for at least READ_SIZE more bytes after end, up to maxcap. */
static int
grow(struct serial *S, size_t end)
{
	size_t ncap;
	char *nbuf;

	if (S->cap - end >= READ_SIZE || S->cap >= S->maxcap)
		return GO_ON;
	ncap = S->cap * 2;
	if (ncap < end + READ_SIZE)
		ncap = end + READ_SIZE;
	if (ncap > S->maxcap)
		ncap = S->maxcap;
	nbuf = realloc(S->buf, ncap);
	if (nbuf == NULL) {
		ev_warnx("out of memory");
		return FATAL;
	}
	S->buf = nbuf;
	S->cap = ncap;
	return GO_ON;
}

/*
 * Read every line of op.  When a pipe or terminal (streaming) runs dry,
 * the hook is called without a line and standard output is flushed before
 * the read that would block, so "tail -f | tool" shows results as they
 * come; a stop signal ends the wait.
 */
static int
read_fd(struct serial *S, const struct operand *op)
{
	struct loop *L = S->L;
	const char *name = op->name;
	unsigned long lineno = 0;
	size_t start = 0, end = 0, seen = 0, n;
	int discarding = 0, bom = 1, r;
	char *p, *nl;
	ssize_t nr;

	for (;;) {
		/* Complete lines; seen bytes of the partial have no LF. */
		while (start < end) {
			p = S->buf + start;
			nl = memchr(p + seen, '\n', end - start - seen);
			if (nl == NULL)
				break;
			n = (size_t)(nl - p);
			start += n + 1;
			seen = 0;
			if (discarding) {
				discarding = 0;
				r = ev_rd_reject(L, p, n + 1);
			} else
				r = handle_line(S, name, ++lineno, p, n);
			if (r != GO_ON)
				return r;
		}
		/* A partial line: too long already, or moved to the front. */
		p = S->buf + start;
		n = end - start;
		if (discarding || n > L->max_line + 1) {
			if (discarding)
				r = ev_rd_reject(L, p, n);
			else
				r = too_long(L, name, ++lineno, p, n);
			if (r != GO_ON)
				return r;
			discarding = 1;
			start = end = seen = 0;
		} else if (start > 0) {
			memmove(S->buf, p, n);
			start = 0;
			end = n;
		}
		seen = end - start;
		if (grow(S, end) != GO_ON)
			return FATAL;
		/* Dry: the hook's turn, stdout flushed, then wait. */
		if (op->streaming && (r = ev_rd_wait(op->fd, -1, 0)) != GO_ON) {
			if (r == STOPPED)
				return STOPPED;
			if ((r = ev_rd_order_idle(L)) != GO_ON)
				return r;
			ev_out_flush();
			if (ev_out_closed())
				return STOP;
			if (ev_rd_wait(op->fd, -1, -1) == STOPPED)
				return STOPPED;
		}
		nr = ev_rd_read(op->fd, S->buf + end, S->cap - end);
		if (nr < 0 && ev_stop_signal() != 0)
			return STOPPED;
		if (nr < 0) {
			ev_rd_file_error(&L->err, name, errno);
			ev_diag(&L->err);
			L->bad = 1;
			return GO_ON;
		}
		end += (size_t)nr;
		/* A byte order mark starts the input: not part of line 1. */
		if (bom && (r = ev_rd_bom(S->buf, end, nr == 0)) >= 0) {
			bom = 0;
			start = (size_t)r;
			seen = 0;
		}
		if (nr == 0)
			break;
	}
	if (discarding)
		return ev_rd_reject(L, "\n", 1);
	p = S->buf + start;
	if (end > start)
		return handle_line(S, name, ++lineno, p, end - start);
	return GO_ON;
}

/* Read the operands one after the other on the calling thread. */
static int
serial_loop(struct loop *L, char *const *files, int nfiles)
{
	struct serial S;
	struct operand op;
	struct ev_err err;
	int i, r = GO_ON;

	memset(&S, 0, sizeof(S));
	S.L = L;
	S.to.rej = to_reject;
	S.to.arg = L;
	S.to.bad = &L->bad;
	S.maxcap = L->max_line + 2 + READ_SIZE;
	S.cap = READ_SIZE + 4096;
	if (S.cap > S.maxcap)
		S.cap = S.maxcap;
	S.buf = malloc(S.cap);
	if (L->order != NULL)
		S.result = malloc(L->result_size > 0 ? L->result_size : 1);
	if (S.buf == NULL || (L->order != NULL && S.result == NULL)) {
		ev_warnx("out of memory");
		r = FATAL;
	}
	for (i = 0; i < nfiles && r == GO_ON && !ev_out_closed(); i++) {
		if (ev_stop_signal() != 0) {
			r = STOPPED;
			break;
		}
		r = ev_rd_open(L, files[i], &op, &err);
		if (r == BAD_FILE) {
			ev_diag(&err);
			L->bad = 1;
			r = GO_ON;
		} else if (r == GO_ON) {
			r = read_fd(&S, &op);
			ev_rd_close(&op);
		}
	}
	free(S.buf);
	free(S.result);
	return r;
}

/*
 * Read every line of the named files (none, or "-", is standard input),
 * calling fn for each non-blank line; see input.h for the policy and for
 * the parallel mode, which falls back to reading serially when it cannot
 * make a worker context or thread.
 *
 * The reject file, when asked for, is opened before the first line is
 * read and, once it is known not to be an input, emptied: after the run it
 * holds exactly this run's rejected lines.  Each rejected line is copied
 * raw (CR included), newline-terminated.  Failing to open or write it is
 * fatal.
 */
int
ev_input_loop(char *const *files, int nfiles, const struct ev_input_opts *opts,
    ev_line_fn fn, void *ctx)
{
	static char *const dash[] = {"-"};
	struct loop L;
	int jobs, r = NO_THREADS;

	if (files == NULL || nfiles <= 0) {
		files = dash;
		nfiles = 1;
	}
	if (ev_rd_start(&L, opts, files, nfiles, fn, ctx) != GO_ON)
		return -1;
	jobs = ev_rd_jobs(opts);
	if (jobs > 1)
		r = ev_par_loop(&L, files, nfiles, opts, ctx, jobs);
	if (r == NO_THREADS)
		r = serial_loop(&L, files, nfiles);
	/* The end: the hook's last turn, on this thread, threads joined. */
	if (r != FATAL && ev_rd_order_idle(&L) == FATAL)
		r = FATAL;
	r = ev_rd_end(&L, r);
	if (r == FATAL)
		return -1;
	if (r == STOPPED) {
		ev_out_flush();
		return EV_INPUT_STOPPED;
	}
	return L.bad;
}
