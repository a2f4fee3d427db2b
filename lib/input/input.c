/*
 * input.c - the toolkit's input loop: files or standard input, one event per
 * line, with file and line tracking and the bad-line policy.
 *
 * Lines are found with memchr() in a large read(2) buffer and handed to the
 * tool's callback in place (no copy, no allocation per line).  The buffer
 * holds at most one partial line of max_line bytes besides a read's worth of
 * data; a longer line is reported, copied raw to the reject file as it
 * streams past, and skipped.
 *
 * The order-preserving parallel mode is in parallel.c; input_int.h holds
 * what the two files share.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "input.h"
#include "input_int.h"

#define READ_SIZE (256 * 1024) /* least room offered to read(2) */
#define REJECT_BUFSIZE (64 * 1024)

/*
 * Report err about a bad file or line and mark the run bad: on stderr now,
 * or in parallel mode in input order.
 */
static int
report_bad(struct loop *L, struct ev_err *err)
{
	if (L->par != NULL)
		return ev_par_note(L->par, err, GO_ON);
	ev_diag(err);
	L->bad = 1;
	return GO_ON;
}

/*
 * Report a system error on the named file ("prog: FILE: strerror"), which
 * makes the run bad.
 */
int
ev_input_file_error(struct loop *L, const char *name, int errnum)
{
	ev_err_clear(&L->err);
	L->err.file = name;
	ev_err_set(&L->err, "%s", strerror(errnum));
	return report_bad(L, &L->err);
}

/* Write p[0..n) to the reject file, retrying on EINTR. */
static int
reject_flush_bytes(struct loop *L, const char *p, size_t n)
{
	struct ev_err err;
	ssize_t w;

	while (n > 0) {
		w = write(L->rej_fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			ev_err_clear(&err);
			ev_err_set(&err, "write error on '%s': %s",
			    L->rej_path, strerror(errno));
			ev_diag(&err);
			return FATAL;
		}
		p += w;
		n -= (size_t)w;
	}
	return GO_ON;
}

/* Write out what the reject buffer holds. */
static int
reject_flush(struct loop *L)
{
	int r = GO_ON;

	if (L->rej_fd >= 0 && L->rej_len > 0)
		r = reject_flush_bytes(L, L->rej_buf, L->rej_len);
	L->rej_len = 0;
	return r;
}

/* Append p[0..n) to the reject file, if there is one (buffered). */
int
ev_input_reject(struct loop *L, const char *p, size_t n)
{
	if (L->rej_fd < 0)
		return GO_ON;
	if (n <= REJECT_BUFSIZE - L->rej_len) {
		memcpy(L->rej_buf + L->rej_len, p, n);
		L->rej_len += n;
		return GO_ON;
	}
	if (reject_flush(L) != GO_ON)
		return FATAL;
	if (n >= REJECT_BUFSIZE)
		return reject_flush_bytes(L, p, n);
	memcpy(L->rej_buf, p, n);
	L->rej_len = n;
	return GO_ON;
}

/*
 * Report line lineno of name as too long, and send its first n raw bytes to
 * the reject file (the caller sends the rest, and the newline).
 */
static int
too_long(struct loop *L, const char *name, unsigned long lineno, const char *p,
    size_t n)
{
	ev_err_clear(&L->err);
	L->err.file = name;
	L->err.line = lineno;
	ev_err_set(&L->err, "line too long (more than %zu bytes)", L->max_line);
	ev_diag(&L->err);
	L->bad = 1;
	return ev_input_reject(L, p, n);
}

/* True when p[0..n) holds nothing but spaces and tabs. */
int
ev_input_blank(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t')
			return 0;
	return 1;
}

/*
 * Handle one complete line, p[0..n) as read (without its newline): strip a
 * CR, apply the length limit, skip a blank line, call the tool, and apply
 * the bad-line policy to its answer.
 */
static int
handle_line(struct loop *L, const char *name, unsigned long lineno,
    const char *p, size_t n)
{
	struct ev_line ln;
	size_t len = n;

	if (len > 0 && p[len - 1] == '\r')
		len--;
	if (len > L->max_line) {
		if (too_long(L, name, lineno, p, n) != GO_ON)
			return FATAL;
		return ev_input_reject(L, "\n", 1);
	}
	if (len == 0 ||
	    ((p[0] == ' ' || p[0] == '\t') && ev_input_blank(p, len)))
		return GO_ON;
	ln.file = name;
	ln.lineno = lineno;
	ln.buf = p;
	ln.len = len;
	L->err.file = NULL;
	L->err.line = 0;
	L->err.col = 0;
	L->err.msg[0] = '\0';
	switch (L->fn(L->ctx, &ln, &L->err)) {
	case EV_NEXT:
		break;
	case EV_BAD:
		L->err.file = name;
		L->err.line = lineno;
		if (L->err.msg[0] == '\0')
			ev_err_set(&L->err, "bad event");
		ev_diag(&L->err);
		L->bad = 1;
		if (ev_input_reject(L, p, n) != GO_ON ||
		    ev_input_reject(L, "\n", 1) != GO_ON)
			return FATAL;
		break;
	case EV_STOP:
		return STOP;
	case EV_FAIL:
	default:
		ev_diag(&L->err);
		return FATAL;
	}
	return ev_out_closed() ? STOP : GO_ON;
}

/* Make room for at least READ_SIZE more bytes after end, up to maxcap. */
static int
grow(struct loop *L, size_t end)
{
	size_t ncap;
	char *nbuf;

	if (L->cap - end >= READ_SIZE || L->cap >= L->maxcap)
		return GO_ON;
	ncap = L->cap * 2;
	if (ncap < end + READ_SIZE)
		ncap = end + READ_SIZE;
	if (ncap > L->maxcap)
		ncap = L->maxcap;
	nbuf = realloc(L->buf, ncap);
	if (nbuf == NULL) {
		ev_err_clear(&L->err);
		ev_err_set(&L->err, "out of memory");
		ev_diag(&L->err);
		return FATAL;
	}
	L->buf = nbuf;
	L->cap = ncap;
	return GO_ON;
}

/*
 * read(2) into buf, retrying on EINTR and waiting when the descriptor was
 * left non-blocking by whoever handed it to us.
 */
ssize_t
ev_input_read_some(int fd, char *buf, size_t n)
{
	struct pollfd pfd;
	ssize_t r;

	for (;;) {
		r = read(fd, buf, n);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		pfd.fd = fd;
		pfd.events = POLLIN;
		poll(&pfd, 1, -1);
	}
}

/*
 * Read every line of fd, named name in diagnostics.  A pipe or terminal
 * (streaming) gets standard output flushed before each read that may
 * block, so "tail -f | tool" shows results as they come.
 */
static int
read_fd(struct loop *L, int fd, const char *name, int streaming)
{
	unsigned long lineno = 0;
	size_t start = 0, end = 0, seen = 0, n;
	int discarding = 0, r;
	char *p, *nl;
	ssize_t nr;

	for (;;) {
		/* Complete lines; seen bytes of the partial have no LF. */
		while (start < end) {
			p = L->buf + start;
			nl = memchr(p + seen, '\n', end - start - seen);
			if (nl == NULL)
				break;
			n = (size_t)(nl - p);
			start += n + 1;
			seen = 0;
			if (discarding) {
				discarding = 0;
				r = ev_input_reject(L, p, n + 1);
			} else
				r = handle_line(L, name, ++lineno, p, n);
			if (r != GO_ON)
				return r;
		}
		/* A partial line: too long already, or moved to the front. */
		p = L->buf + start;
		n = end - start;
		if (discarding || n > L->max_line + 1) {
			if (discarding)
				r = ev_input_reject(L, p, n);
			else
				r = too_long(L, name, ++lineno, p, n);
			if (r != GO_ON)
				return r;
			discarding = 1;
			start = end = seen = 0;
		} else if (start > 0) {
			memmove(L->buf, p, n);
			start = 0;
			end = n;
		}
		seen = end - start;
		if (grow(L, end) != GO_ON)
			return FATAL;
		if (streaming) {
			ev_out_flush();
			if (ev_out_closed())
				return STOP;
		}
		nr = ev_input_read_some(fd, L->buf + end, L->cap - end);
		if (nr < 0)
			return ev_input_file_error(L, name, errno);
		if (nr == 0)
			break;
		end += (size_t)nr;
	}
	if (discarding)
		return ev_input_reject(L, "\n", 1);
	p = L->buf + start;
	if (end > start)
		return handle_line(L, name, ++lineno, p, end - start);
	return GO_ON;
}

/*
 * Open and read one operand ("-" is standard input, shown as "<stdin>").
 * A file that cannot be opened, a directory, or the reject file itself is
 * reported and skipped.
 */
int
ev_input_read_operand(struct loop *L, const char *arg)
{
	const char *name = arg;
	struct stat st;
	int fd, r;

	if (strcmp(arg, "-") == 0) {
		fd = STDIN_FILENO;
		name = "<stdin>";
	} else if ((fd = open(arg, O_RDONLY | O_CLOEXEC)) < 0)
		return ev_input_file_error(L, name, errno);
	if (fstat(fd, &st) != 0)
		r = ev_input_file_error(L, name, errno);
	else if (S_ISDIR(st.st_mode))
		r = ev_input_file_error(L, name, EISDIR);
	else if (L->rej_fd >= 0 && S_ISREG(st.st_mode) &&
		 st.st_dev == L->rej_st.st_dev &&
		 st.st_ino == L->rej_st.st_ino) {
		/* Reading it would loop over our own rejects. */
		ev_err_clear(&L->err);
		L->err.file = name;
		ev_err_set(&L->err, "input file is also the reject file");
		r = report_bad(L, &L->err);
	} else if (L->par != NULL)
		r = ev_par_read_fd(L->par, fd, name, !S_ISREG(st.st_mode));
	else
		r = read_fd(L, fd, name, !S_ISREG(st.st_mode));
	if (fd != STDIN_FILENO)
		close(fd);
	return r;
}

/*
 * Read every line of the named files (none, or "-", is standard input),
 * calling fn for each non-blank line; see evkit.h for the policy and for
 * the parallel mode, which falls back to reading serially when it cannot
 * make a worker context or thread.
 *
 * The reject file, when asked for, is created (or truncated) before the
 * first line is read, like a shell redirection: after the run it holds
 * exactly this run's rejected lines, and is empty when nothing was bad.
 * Each rejected line is copied raw (CR included), newline-terminated.
 * Failing to open or write it is fatal.
 *
 * Returns 0 when every line and file was good, 1 when something was bad,
 * -1 on a fatal error (always reported on stderr already).
 */
int
ev_input_loop(char *const *files, int nfiles, const struct ev_input_opts *opts,
    ev_line_fn fn, void *ctx)
{
	static char *const dash[] = {"-"};
	struct loop L;
	int i, flags, jobs, r = GO_ON;

	memset(&L, 0, sizeof(L));
	L.fn = fn;
	L.ctx = ctx;
	L.rej_fd = -1;
	L.max_line = EV_MAX_LINE_DEFAULT;
	if (opts != NULL && opts->max_line != 0)
		L.max_line = opts->max_line;
	if (L.max_line > SIZE_MAX - READ_SIZE - 2)
		L.max_line = SIZE_MAX - READ_SIZE - 2;
	L.maxcap = L.max_line + 2 + READ_SIZE;
	L.cap = READ_SIZE + 4096;
	if (L.cap > L.maxcap)
		L.cap = L.maxcap;
	if (files == NULL || nfiles <= 0) {
		files = dash;
		nfiles = 1;
	}
	L.buf = malloc(L.cap);
	if (opts != NULL && opts->reject_path != NULL)
		L.rej_buf = malloc(REJECT_BUFSIZE);
	if (L.buf == NULL ||
	    (opts != NULL && opts->reject_path != NULL && L.rej_buf == NULL)) {
		ev_err_clear(&L.err);
		ev_err_set(&L.err, "out of memory");
		ev_diag(&L.err);
		r = FATAL;
		goto done;
	}
	if (opts != NULL && opts->reject_path != NULL) {
		L.rej_path = opts->reject_path;
		flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
		L.rej_fd = open(L.rej_path, flags, 0666);
		if (L.rej_fd < 0 || fstat(L.rej_fd, &L.rej_st) != 0) {
			ev_input_file_error(&L, L.rej_path, errno);
			r = FATAL;
			goto done;
		}
	}
	jobs = ev_par_jobs(opts);
	if (jobs > 1)
		r = ev_par_loop(&L, files, nfiles, opts, ctx, jobs);
	if (jobs <= 1 || r == NO_THREADS) {
		r = GO_ON;
		for (i = 0; i < nfiles && r == GO_ON && !ev_out_closed(); i++)
			r = ev_input_read_operand(&L, files[i]);
	}
done:
	if (L.rej_fd >= 0) {
		if (reject_flush(&L) != GO_ON)
			r = FATAL;
		if (close(L.rej_fd) != 0 && errno != EINTR && r != FATAL) {
			ev_err_clear(&L.err);
			ev_err_set(&L.err, "write error on '%s': %s",
			    L.rej_path, strerror(errno));
			ev_diag(&L.err);
			r = FATAL;
		}
	}
	free(L.buf);
	free(L.rej_buf);
	if (r == FATAL)
		return -1;
	return L.bad;
}
