/*
 * reader.c - what the serial and the parallel executor share, below both:
 * the loop's settings and reject file, opening operands, reads that a stop
 * signal can end, the byte order mark, and the line policy (CR, length
 * limit, blank lines, the tool's verdict, bad-line report and reject).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "input.h"
#include "input_int.h"

#define JOBS_AUTO_MAX 8	/* more workers than this outrun the reader */

/* Format err as "NAME: strerror(errnum)". */
void
ev_rd_file_error(struct ev_err *err, const char *name, int errnum)
{
	ev_err_clear(err);
	err->file = name;
	ev_err_set(err, "%s", strerror(errnum));
	ev_err_errno(err, errnum);
}

/* True when a and b are the same regular file. */
static int
same_file(const struct stat *a, const struct stat *b)
{
	return S_ISREG(a->st_mode) && S_ISREG(b->st_mode) &&
	    a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/*
 * Refuse a reject file that is something the tool reads: an input operand,
 * standard input when it is read, or one of opts->read_files.  Returns
 * GO_ON, or FATAL (reported).
 */
static int
check_reject(struct loop *L, const struct ev_input_opts *opts,
    char *const *files, int nfiles)
{
	const struct stat *rst = ev_sink_stat(L->rej);
	const char *name;
	struct stat st;
	int i, n = nfiles + opts->nread_files, r;

	if (!S_ISREG(rst->st_mode))
		return GO_ON;
	for (i = 0; i < n; i++) {
		if (i < nfiles) {
			name = files[i];
			if (strcmp(name, "-") == 0) {
				name = "<stdin>";
				r = fstat(STDIN_FILENO, &st);
			} else
				r = stat(name, &st);
		} else {
			name = opts->read_files[i - nfiles];
			r = stat(name, &st);
		}
		if (r == 0 && same_file(&st, rst)) {
			ev_err_clear(&L->err);
			L->err.file = name;
			ev_err_set(&L->err, "input file is also the reject file");
			ev_diag(&L->err);
			return FATAL;
		}
	}
	return GO_ON;
}

/*
 * Set up L from opts: the line limit, the hook, and the reject file, which
 * is checked against the inputs before it is emptied.  Returns GO_ON, or
 * FATAL (reported).
 */
int
ev_rd_start(struct loop *L, const struct ev_input_opts *opts,
    char *const *files, int nfiles, ev_line_fn fn, void *ctx)
{
	memset(L, 0, sizeof(*L));
	L->fn = fn;
	L->ctx = ctx;
	L->max_line = EV_MAX_LINE_DEFAULT;
	if (opts == NULL)
		return GO_ON;
	if (opts->max_line != 0)
		L->max_line = opts->max_line;
	if (L->max_line > SIZE_MAX / 4)
		L->max_line = SIZE_MAX / 4;
	if (opts->order != NULL) {
		L->order = opts->order;
		L->order_ctx = opts->order_ctx;
		L->result_size = opts->result_size;
	}
	if (opts->reject_path == NULL)
		return GO_ON;
	L->rej_path = opts->reject_path;
	if ((L->rej = ev_sink_open(L->rej_path, 0, &L->err)) == NULL) {
		ev_diag(&L->err);
		return FATAL;
	}
	if (check_reject(L, opts, files, nfiles) == GO_ON) {
		/*
		 * The file standard output goes to (--reject /dev/stdout):
		 * write through fd 1, at its offset, and empty nothing.
		 */
		if (same_file(ev_sink_stat(L->rej), ev_sink_stat(ev_stdout()))) {
			ev_sink_close(L->rej, &L->err);
			L->rej = ev_sink_fdopen(STDOUT_FILENO, L->rej_path, 0,
			    &L->err);
			if (L->rej != NULL)
				return GO_ON;
		} else if (ev_sink_truncate(L->rej, &L->err) == 0)
			return GO_ON;
		ev_diag(&L->err);
	}
	ev_sink_close(L->rej, &L->err);
	L->rej = NULL;
	return FATAL;
}

/*
 * Close the reject file.  Returns r, or FATAL when it cannot be written
 * (reported, unless it was already).
 */
int
ev_rd_end(struct loop *L, int r)
{
	struct ev_err err;

	if (L->rej != NULL) {
		ev_err_clear(&err);
		if (ev_sink_close(L->rej, &err) != 0) {
			if (!L->rej_failed)
				ev_diag(&err);
			r = FATAL;
		}
		L->rej = NULL;
	}
	return r;
}

/*
 * Append p[0..n) to the reject file, if there is one.  Returns GO_ON, or
 * FATAL (reported) once it cannot be written; a closed pipe drops rejects
 * quietly.
 */
int
ev_rd_reject(struct loop *L, const char *p, size_t n)
{
	if (L->rej == NULL)
		return GO_ON;
	ev_sink_write(L->rej, p, n);
	if (ev_sink_errno(L->rej) == 0)
		return GO_ON;
	if (!L->rej_failed) {
		ev_sink_error(L->rej, &L->err);
		ev_diag(&L->err);
		L->rej_failed = 1;
	}
	return FATAL;
}

/*
 * Wait until fd is readable (data, end of file or error), wake is readable
 * (when not -1), or a stop signal came, or timeout ms pass (-1: no limit).
 * Returns GO_ON when fd is readable, STOPPED after a stop signal, STOP
 * otherwise.
 */
int
ev_rd_wait(int fd, int wake, int timeout)
{
	struct pollfd pfd[3];
	int n;

	pfd[0].fd = fd;
	pfd[1].fd = wake;
	pfd[2].fd = ev_stop_fd();
	pfd[0].events = pfd[1].events = pfd[2].events = POLLIN;
	do {
		pfd[0].revents = pfd[1].revents = pfd[2].revents = 0;
		n = poll(pfd, 3, timeout);
	} while (n < 0 && errno == EINTR && ev_stop_signal() == 0);
	if (ev_stop_signal() != 0)
		return STOPPED;
	if (n < 0)
		return GO_ON;	/* let read(2) say what is wrong */
	return pfd[1].revents == 0 && pfd[0].revents != 0 ? GO_ON : STOP;
}

/*
 * read(2) into buf, retrying on EINTR, after waiting in poll(2) with the
 * stop pipe until fd is readable.  Checking the stop flag and then calling
 * a read that blocks would lose a signal that lands between the two (or
 * on another thread): the read would block for good.  The pipe's byte
 * stays until exit, so the wait cannot miss it.  Returns -1 with errno
 * EINTR when a stop signal came.
 */
ssize_t
ev_rd_read(int fd, char *buf, size_t n)
{
	ssize_t r;

	for (;;) {
		if (ev_rd_wait(fd, -1, -1) == STOPPED) {
			errno = EINTR;
			return -1;
		}
		r = read(fd, buf, n);
		if (r >= 0)
			return r;
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
	}
}

/*
 * Open one operand ("-" is standard input, named "<stdin>").  Returns
 * GO_ON with op filled in; BAD_FILE with err set when it cannot be read,
 * is a directory, or is also standard output or the reject file (report
 * it and go on); STOPPED when a stop signal interrupted the open.
 */
int
ev_rd_open(struct loop *L, const char *arg, struct operand *op,
    struct ev_err *err)
{
	const struct stat *ost = ev_sink_stat(ev_stdout());
	struct stat st;

	op->name = arg;
	if (strcmp(arg, "-") == 0) {
		op->fd = STDIN_FILENO;
		op->name = "<stdin>";
	} else {
		/* A fifo blocks here until a writer comes, or a signal. */
		while ((op->fd = open(arg, O_RDONLY | O_CLOEXEC)) < 0) {
			if (errno == EINTR && ev_stop_signal() != 0)
				return STOPPED;
			if (errno != EINTR) {
				ev_rd_file_error(err, arg, errno);
				return BAD_FILE;
			}
		}
	}
	ev_err_clear(err);
	err->file = op->name;
	if (fstat(op->fd, &st) != 0)
		ev_rd_file_error(err, op->name, errno);
	else if (S_ISDIR(st.st_mode))
		ev_rd_file_error(err, op->name, EISDIR);
	else if (same_file(&st, ost))
		ev_err_set(err, "input file is also the output");
	else if (L->rej != NULL && same_file(&st, ev_sink_stat(L->rej)))
		/* Reading it would loop over our own rejects. */
		ev_err_set(err, "input file is also the reject file");
	else {
		op->streaming = !S_ISREG(st.st_mode);
		return GO_ON;
	}
	ev_rd_close(op);
	return BAD_FILE;
}

void
ev_rd_close(struct operand *op)
{
	if (op->fd != STDIN_FILENO)
		close(op->fd);
}

/*
 * The UTF-8 byte order mark at the start of an input: p[0..n) are its
 * first bytes, eof true when there are no more.  Returns 3 when they begin
 * with the mark, 0 when they do not, -1 when more bytes are needed to say.
 */
int
ev_rd_bom(const char *p, size_t n, int eof)
{
	static const char bom[3] = {'\xef', '\xbb', '\xbf'};

	if (n >= 3)
		return memcmp(p, bom, 3) == 0 ? 3 : 0;
	if (eof || memcmp(p, bom, n) != 0)
		return 0;
	return -1;
}

/* Set err to "NAME:LINE: line too long (more than MAX bytes)". */
void
ev_rd_too_long(const struct loop *L, struct ev_err *err, const char *name,
    unsigned long lineno)
{
	ev_err_clear(err);
	err->file = name;
	err->line = lineno;
	ev_err_set(err, "line too long (more than %zu bytes)", L->max_line);
}

/* True when p[0..n) holds nothing but spaces and tabs. */
int
ev_rd_blank(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t')
			return 0;
	return 1;
}

/* Mark the run bad; send a bad line's raw bytes and a newline on. */
static int
reject_line(const struct ev_rd_to *to, const char *p, size_t n)
{
	*to->bad = 1;
	if (to->rej(to->arg, p, n) != GO_ON || to->rej(to->arg, "\n", 1) != GO_ON)
		return FATAL;
	return GO_ON;
}

/*
 * Apply the policy to verdict v about line lineno of name, p[0..n) as read
 * (CR included): EV_BAD reports err at the line (column from err; "bad
 * event" when it has no message) and rejects the line through to; EV_FAIL
 * reports err.
 * Returns GO_ON, STOP or FATAL.
 */
int
ev_rd_verdict(enum ev_verdict v, struct ev_err *err, const char *name,
    unsigned long lineno, const char *p, size_t n, const struct ev_rd_to *to)
{
	switch (v) {
	case EV_NEXT:
		return GO_ON;
	case EV_BAD:
		err->file = name;
		err->line = lineno;
		if (err->msg[0] == '\0')
			ev_err_set(err, "bad event");
		ev_diag(err);
		return reject_line(to, p, n);
	case EV_STOP:
		return STOP;
	case EV_FAIL:
	default:
		ev_diag(err);
		return FATAL;
	}
}

/*
 * The line policy's rare case (see ev_rd_line() in input_int.h): a line
 * over the limit, reported and rejected.
 */
int
ev_rd_long_line(const struct loop *L, const char *name, unsigned long lineno,
    const char *p, size_t n, const struct ev_rd_to *to)
{
	struct ev_err err;

	ev_rd_too_long(L, &err, name, lineno);
	ev_diag(&err);
	return reject_line(to, p, n);
}

/* How many workers opts asks for: 1 means read serially. */
int
ev_rd_jobs(const struct ev_input_opts *opts)
{
	cpu_set_t set;
	long n;
	int jobs;

	if (opts == NULL || opts->ctx_new == NULL)
		return 1;
	jobs = opts->jobs;
	if (jobs == EV_JOBS_AUTO) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		if (sched_getaffinity(0, sizeof(set), &set) == 0 &&
		    CPU_COUNT(&set) < n)
			n = CPU_COUNT(&set);
		jobs = n > JOBS_AUTO_MAX ? JOBS_AUTO_MAX : (int)n;
	}
	if (jobs < 2)
		return 1;
	return jobs > EV_JOBS_MAX ? EV_JOBS_MAX : jobs;
}

/* Parse a job count, from arg or EVKIT_JOBS; see input.h. */
int
ev_input_jobs(const char *arg, int *jobs, struct ev_err *err)
{
	const char *s = arg, *what = "job count";
	char *end;
	long n;

	*jobs = EV_JOBS_AUTO;
	if (s == NULL) {
		s = getenv("EVKIT_JOBS");
		what = "EVKIT_JOBS";
		if (s == NULL || *s == '\0')
			return 0;
	}
	errno = 0;
	n = strtol(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || n < 1 ||
	    n > EV_JOBS_MAX) {
		ev_err_clear(err);
		ev_err_set(err, "invalid %s '%s': expected a number from 1 to %d",
		    what, s, EV_JOBS_MAX);
		return -1;
	}
	*jobs = (int)n;
	return 0;
}

/*
 * Run the in-order hook for line lineno of name, p[0..n) as read, which
 * the callback answered EV_NEXT with result, and apply the policy to its
 * answer.  Returns GO_ON, STOP or FATAL.
 */
int
ev_rd_order(const struct loop *L, const char *name, unsigned long lineno,
    const char *p, size_t n, void *result, const struct ev_rd_to *to)
{
	struct ev_line ln;
	struct ev_err err;

	ln.file = name;
	ln.lineno = lineno;
	ln.buf = p;
	ln.len = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
	ln.result = result;
	ev_err_clear(&err);
	return ev_rd_verdict(L->order(L->order_ctx, &ln, &err), &err, name,
	    lineno, p, n, to);
}

/*
 * Tell the in-order hook, if any, that the input ran dry or ended: it is
 * called with no line, so that a tool that batches (evstore) can commit
 * and write what it holds.  Returns GO_ON, STOP (EV_STOP) or FATAL
 * (EV_FAIL, reported).
 */
int
ev_rd_order_idle(const struct loop *L)
{
	struct ev_err err;

	if (L->order == NULL)
		return GO_ON;
	ev_err_clear(&err);
	switch (L->order(L->order_ctx, NULL, &err)) {
	case EV_STOP:
		return STOP;
	case EV_FAIL:
		ev_diag(&err);
		return FATAL;
	default:
		return GO_ON;
	}
}
