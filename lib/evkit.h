/*
 * evkit.h - the public interface of libevkit, shared by every evkit tool.
 *
 * Commands include only this header.  Library internals (the JSON scanner,
 * libjq and SQLite glue) live behind the lib/..._int.h headers.
 *
 * Conventions:
 *  - Functions that can fail take a struct ev_err * and return -1 (or NULL)
 *    after filling it in; they never print and never exit.  Running out
 *    of memory is such a failure ("out of memory"), with one exception:
 *    where the library has no error to return (growing its internal
 *    tables), it prints "PROG: out of memory" and exits 2, as jq does.
 *  - Objects are created by ev_X_new()/ev_X_open() and released by
 *    ev_X_free()/ev_X_close(); passing NULL to a free function is a no-op.
 */
#ifndef EVKIT_H
#define EVKIT_H

/*
 * The modules, lowest layer first; a module includes only headers of the
 * layers below it.
 */
#include "base/base.h"		/* exits, errors, diagnostics, output */
#include "input/input.h"	/* the input loop and bad-line policy */
#include "json/json.h"		/* paths into events */
#include "rules/rules.h"	/* event patterns and matching */
#include "store/store.h"	/* durable state: SQLite, later PostgreSQL */
#include "proc/proc.h"		/* handlers, retries, dead letters */
#include "route/route.h"		/* the event bus: target input shaping */

#endif
