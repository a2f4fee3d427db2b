/*
 * input_int.h - what the serial input loop (input.c) and its parallel mode
 * (parallel.c) share (library-internal): the loop's state, the helpers'
 * answers, and the functions each file calls in the other.
 */
#ifndef EV_INPUT_INT_H
#define EV_INPUT_INT_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "input.h"

/* What the helpers of input.c and parallel.c answer. */
enum {
	GO_ON = 0,
	STOP = 1,  /* stop quietly */
	FATAL = -1, /* reported already */
	NO_THREADS = 2 /* the parallel loop could not start: read serially */
};

struct par;

struct loop {
	ev_line_fn fn;
	void *ctx;
	size_t max_line;
	char *buf; /* read buffer */
	size_t cap;
	size_t maxcap; /* max_line + CR + LF + READ_SIZE */
	const char *rej_path;
	int rej_fd; /* -1 when there is no reject file */
	struct stat rej_st;
	char *rej_buf;
	size_t rej_len;
	int bad; /* some line or file was bad */
	struct ev_err err;
	struct par *par; /* parallel mode: the reader's state */
};

/* input.c */
int ev_input_file_error(struct loop *L, const char *name, int errnum);
int ev_input_reject(struct loop *L, const char *p, size_t n);
int ev_input_blank(const char *p, size_t n);
ssize_t ev_input_read_some(int fd, char *buf, size_t n);
int ev_input_read_operand(struct loop *L, const char *arg);

/* parallel.c */
int ev_par_note(struct par *P, struct ev_err *err, int verdict);
int ev_par_read_fd(struct par *P, int fd, const char *name, int streaming);
int ev_par_jobs(const struct ev_input_opts *opts);
int ev_par_loop(struct loop *L, char *const *files, int nfiles,
    const struct ev_input_opts *opts, void *ctx, int jobs);

#endif
