/*
 * Unit tests for lib/base/dl.c: libraries loaded when first used.
 */
#include <string.h>

#include "evkit.h"
#include "tap.h"

int
main(void)
{
	static const char *const names[] = { "sqrt", "cos" };
	static const char *const bad[] = { "sqrt", "no_such_function_here" };
	void *fns[2] = { NULL, NULL };
	double (*sq)(double);
	struct ev_err err;

	ev_err_clear(&err);
	ok(ev_dl_load("libm.so.6", names, fns, 2, &err) == 0,
	    "libm.so.6 loads");
	ok(fns[0] != NULL && fns[1] != NULL, "its functions are found");
	memcpy(&sq, &fns[0], sizeof(sq));
	ok(sq(81.0) == 9.0, "and called");

	ev_err_clear(&err);
	ok(ev_dl_load("libevkit-nosuch.so.9", names, fns, 2, &err) == -1,
	    "a missing library is an error");
	ok(strncmp(err.msg, "cannot load libevkit-nosuch.so.9: ", 34) == 0,
	    "naming it: %s", err.msg);
	ev_err_clear(&err);
	ok(ev_dl_load("libevkit-nosuch.so.9", names, fns, 2, &err) == -1 &&
	    strncmp(err.msg, "cannot load libevkit-nosuch.so.9: ", 34) == 0,
	    "and stays one, with its reason, when asked again");

	ev_err_clear(&err);
	ok(ev_dl_load("libdl.so.2", bad, fns, 2, &err) == -1,
	    "a missing function is an error");
	is_str(err.msg, "cannot load libdl.so.2: no function sqrt",
	    "naming the first one missing");
	return tap_done();
}
