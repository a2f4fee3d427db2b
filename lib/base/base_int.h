/*
 * base_int.h - base helpers for the rest of lib/ (library-internal):
 * allocation that never returns NULL, and the per-thread capture of output
 * that the parallel input loop uses.
 */
#ifndef EV_BASE_INT_H
#define EV_BASE_INT_H

#include <stddef.h>

/*
 * Per-thread capture, used by the parallel input loop.  The stdout sink
 * of out.c belongs to one thread at a time; a thread with a capture set has
 * what it writes to standard output (ev_out_*(), ev_sink_*() on
 * ev_stdout()) appended to out, and what it passes to ev_diag(),
 * ev_warnx() and ev_warn() appended to err, instead; ev_out_flush() does
 * nothing there.  The caller owns the buffers (free() them) and empties
 * them by setting the lengths to 0.  Running out of memory counts as a
 * write error (ENOMEM), as in ev_out_printf().
 */
struct ev_outcap {
	char *out;		/* stdout bytes */
	size_t outlen, outcap;
	char *err;		/* stderr bytes: whole diagnostic lines */
	size_t errlen, errcap;
};
/* Capture the calling thread's output in cap; NULL ends the capture. */
void ev_out_capture(struct ev_outcap *cap);
/*
 * Append s[0..n) to the stderr bytes of the calling thread's capture and
 * return 1; return 0 when the thread has none.  For diag.c.
 */
int ev_out_capture_err(const char *s, size_t n);

/*
 * Allocation (alloc.c): the single exception to "the library never exits".
 * Where there is no error to return, these print "PROG: out of memory"
 * and exit 2; everywhere else running out of memory is an error like any
 * other ("out of memory", returned).  See alloc.c.
 */
void ev_oom(void) __attribute__((noreturn));
void ev_grow(void *pp, size_t *cap, size_t n, size_t sz);
void *ev_xmalloc(size_t n);
void *ev_xcalloc(size_t n, size_t sz);
char *ev_xstrndup(const char *s, size_t n);

#endif
