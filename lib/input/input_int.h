/*
 * input_int.h - the input layer's internals (library-internal).
 *
 * Calls go one way: input.c (ev_input_loop() and the serial executor) ->
 * parallel.c (the parallel executor) -> reader.c (the reader and the line
 * policy: options, the reject file, operands, reads that a stop signal
 * ends, the byte order mark, what becomes of one line).  reader.c calls
 * neither executor.
 */
#ifndef EV_INPUT_INT_H
#define EV_INPUT_INT_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "input.h"

/* What the helpers answer. */
enum {
	GO_ON = 0,
	STOP = 1,	/* stop quietly */
	FATAL = -1,	/* reported already */
	NO_THREADS = 2,	/* the parallel loop could not start: read serially */
	STOPPED = 3,	/* a stop signal came: write what is done, return */
	BAD_FILE = 4	/* an operand cannot be read: report err, go on */
};

/* The loop's settings and state, shared by both executors. */
struct loop {
	ev_line_fn fn;
	void *ctx;
	ev_order_fn order;	/* the in-order hook, or NULL */
	void *order_ctx;
	size_t result_size;	/* bytes of ev_line.result, 0 without hook */
	size_t max_line;
	const char *rej_path;
	struct ev_sink *rej;	/* the reject file, or NULL */
	int rej_failed;		/* its write error was reported */
	int bad;		/* some line or file was bad */
	struct ev_err err;
};

/*
 * Where the policy sends what becomes of bad lines: their raw bytes to
 * rej(arg, ...) (GO_ON or FATAL), and a 1 to *bad.  Serially these are the
 * reject file and the loop's flag; a worker keeps them in its chunk.
 */
typedef int (*ev_reject_fn)(void *arg, const char *p, size_t n);
struct ev_rd_to {
	ev_reject_fn rej;
	void *arg;
	int *bad;
};

/* An open operand. */
struct operand {
	int fd;
	const char *name;	/* "<stdin>" or the operand */
	int streaming;		/* a pipe, terminal or socket */
};

/* reader.c */
int ev_rd_start(struct loop *L, const struct ev_input_opts *opts,
    char *const *files, int nfiles, ev_line_fn fn, void *ctx);
int ev_rd_end(struct loop *L, int r);
int ev_rd_open(struct loop *L, const char *arg, struct operand *op,
    struct ev_err *err);
void ev_rd_close(struct operand *op);
void ev_rd_file_error(struct ev_err *err, const char *name, int errnum);
ssize_t ev_rd_read(int fd, char *buf, size_t n);
int ev_rd_wait(int fd, int wake, int timeout);
int ev_rd_bom(const char *p, size_t n, int eof);
void ev_rd_too_long(const struct loop *L, struct ev_err *err,
    const char *name, unsigned long lineno);
int ev_rd_reject(struct loop *L, const char *p, size_t n);
int ev_rd_long_line(const struct loop *L, const char *name,
    unsigned long lineno, const char *p, size_t n, const struct ev_rd_to *to);
int ev_rd_blank(const char *p, size_t n);
int ev_rd_verdict(enum ev_verdict v, struct ev_err *err, const char *name,
    unsigned long lineno, const char *p, size_t n, const struct ev_rd_to *to);
int ev_rd_order(const struct loop *L, const char *name, unsigned long lineno,
    const char *p, size_t n, void *result, const struct ev_rd_to *to);
int ev_rd_order_idle(const struct loop *L);
int ev_rd_jobs(const struct ev_input_opts *opts);

/*
 * The line policy for one complete line, p[0..n) as read (without its
 * newline), the one both executors run: strip a CR, report a line over the
 * limit, skip a blank line, call the tool's callback with ctx, and apply
 * the policy to its answer (ev_rd_verdict()).  result, when not NULL, is
 * the zeroed ev_line.result; err is the caller's scratch.  Returns GO_ON,
 * STOP or FATAL; *next tells whether the callback answered EV_NEXT, after
 * which the caller runs the in-order hook.  Inline: it runs for every line.
 */
static inline int
ev_rd_line(const struct loop *L, void *ctx, const char *name,
    unsigned long lineno, const char *p, size_t n, void *result,
    const struct ev_rd_to *to, struct ev_err *err, int *next)
{
	struct ev_line ln;
	enum ev_verdict v;
	size_t len = n;

	*next = 0;
	if (len > 0 && p[len - 1] == '\r')
		len--;
	if (len > L->max_line)
		return ev_rd_long_line(L, name, lineno, p, n, to);
	if (len == 0 || ((p[0] == ' ' || p[0] == '\t') && ev_rd_blank(p, len)))
		return GO_ON;
	ln.file = name;
	ln.lineno = lineno;
	ln.buf = p;
	ln.len = len;
	ln.result = result;
	err->file = NULL;
	err->line = err->col = 0;
	err->errnum = 0;
	err->cls = EV_ERR_PERMANENT;
	err->msg[0] = '\0';
	v = L->fn(ctx, &ln, err);
	if (v == EV_NEXT) {
		*next = 1;
		return GO_ON;
	}
	return ev_rd_verdict(v, err, name, lineno, p, n, to);
}

/* parallel.c */
int ev_par_loop(struct loop *L, char *const *files, int nfiles,
    const struct ev_input_opts *opts, void *ctx, int jobs);

#endif
