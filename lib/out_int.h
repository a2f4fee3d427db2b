/*
 * out_int.h - per-thread capture of output (library-internal), for the
 * parallel input loop.
 */
#ifndef EV_OUT_INT_H
#define EV_OUT_INT_H

#include <stddef.h>

/*
 * Per-thread capture, used by the parallel input loop.  The stdout buffer
 * of out.c belongs to one thread at a time; a thread with a capture set has
 * what it passes to ev_out_write(), ev_out_str(), ev_out_printf() and
 * ev_out_line() appended to out, and what it passes to ev_diag(),
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

#endif
