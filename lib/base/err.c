/*
 * err.c - located errors: the one way library functions report failure.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "base.h"

/*
 * Format a message into err->msg (truncated to fit).  The location fields
 * are left as they are, so a caller may set them before or after.
 */
void
ev_err_set(struct ev_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/* Reset err to "no location, no message, no errno, permanent". */
void
ev_err_clear(struct ev_err *err)
{
	err->file = NULL;
	err->line = 0;
	err->col = 0;
	err->errnum = 0;
	err->cls = EV_ERR_PERMANENT;
	err->msg[0] = '\0';
}

/* Record errno errnum in err, with the class it implies. */
void
ev_err_errno(struct ev_err *err, int errnum)
{
	err->errnum = errnum;
	err->cls = ev_errno_class(errnum);
}

/* Override the class of err. */
void
ev_err_setclass(struct ev_err *err, enum ev_err_class cls)
{
	err->cls = cls;
}

/*
 * Retryable: the resource is busy, locked, or the call was interrupted or
 * timed out; a later attempt may succeed without anyone doing anything.
 * Everything else needs a person (disk full, I/O error, permissions).
 */
enum ev_err_class
ev_errno_class(int errnum)
{
	switch (errnum) {
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
	case EINTR:
	case EBUSY:
	case ETXTBSY:
	case ETIMEDOUT:
	case EDEADLK:
	case ENOLCK:
	case ECONNREFUSED:
	case ECONNRESET:
	case ECONNABORTED:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case ENETDOWN:
	case ENETRESET:
		return EV_ERR_RETRYABLE;
	default:
		return EV_ERR_PERMANENT;
	}
}
