/*
 * err.c - located errors: the one way library functions report failure.
 */
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

/* Reset err to "no location, no message". */
void
ev_err_clear(struct ev_err *err)
{
	err->file = NULL;
	err->line = 0;
	err->col = 0;
	err->msg[0] = '\0';
}
