/*
 * jdoc.c - unit tests for lib/json/jdoc.c: the typed, located getters over
 * ev_jdoc that configuration readers use (ASL Retry, EventBridge Targets).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evkit.h"
#include "tap.h"

static const char retry[] =
    "{\n"
    "  \"Retry\": [\n"
    "    {\"ErrorEquals\": [\"States.Timeout\"], \"IntervalSeconds\": 3,\n"
    "     \"MaxAttempts\": 2.0, \"BackoffRate\": 1.5, \"Jitter\": true},\n"
    "    {\"ErrorEquals\": \"States.ALL\", \"IntervalSeconds\": 0,\n"
    "     \"MaxAttempts\": 2.5, \"BackoffRate\": \"x\", \"Bogus\": 1}\n"
    "  ],\n"
    "  \"Name\": \"caf\\u00e9\", \"Name\": \"last\",\n"
    "  \"Big\": 1e400, \"Huge\": 9007199254740993, \"Neg\": -4\n"
    "}\n";

static struct ev_jdoc doc;
static struct ev_err err;

/* -1 with this message at line:col. */
static void
fails(int r, const char *msg, unsigned long line, unsigned long col,
    const char *name)
{
	ok(r == -1 && strcmp(err.msg, msg) == 0 && err.line == line &&
		err.col == col,
	    "%s: %s at %lu:%lu", name, msg, line, col);
	if (!(r == -1 && strcmp(err.msg, msg) == 0 && err.line == line &&
		err.col == col))
		printf("#   got %d '%s' at %lu:%lu\n", r, err.msg, err.line,
		    err.col);
	ev_err_clear(&err);
}

int
main(void)
{
	static const char *const known[] = {"ErrorEquals", "IntervalSeconds",
	    "MaxAttempts", "BackoffRate", "Jitter", NULL};
	int arr, r0, r1, e, n, b, r;
	int64_t iv;
	double d;
	const char *s;
	size_t len;

	ok(ev_jdoc_parse(&doc, retry, strlen(retry), &err) == 0, "parses");
	is_int(ev_jdoc_get_arr(&doc, 0, "Retry", EV_JGET_REQUIRED, &arr, &err),
	    1, "get_arr: Retry");
	r0 = ev_jdoc_child(&doc, arr);
	r1 = ev_jdoc_next(&doc, r0);
	ok(r0 >= 0 && r1 >= 0 && ev_jdoc_next(&doc, r1) == -1,
	    "child/next: two Retry elements");
	is_int(ev_jdoc_as_type(&doc, r0, "Retry[0]", EV_J_OBJECT, &err), 0,
	    "as_type: Retry[0] is an object");
	fails(ev_jdoc_as_type(&doc, r0, "Retry[0]", EV_J_ARRAY, &err),
	    "'Retry[0]' must be an array", 3, 5, "as_type");

	/* Retry[0]: every getter succeeds. */
	is_int(ev_jdoc_get_arr(
		   &doc, r0, "ErrorEquals", EV_JGET_REQUIRED, &e, &err),
	    1, "get_arr: ErrorEquals");
	n = ev_jdoc_child(&doc, e);
	ok(ev_jdoc_as_str(&doc, n, "ErrorEquals[0]", &s, &len, &err) == 0 &&
		strcmp(s, "States.Timeout") == 0 && len == 14,
	    "as_str: States.Timeout");
	ok(ev_jdoc_get_int(
	       &doc, r0, "IntervalSeconds", 0, 1, INT64_MAX, &iv, &err) == 1 &&
		iv == 3,
	    "get_int: IntervalSeconds 3");
	ok(ev_jdoc_get_int(
	       &doc, r0, "MaxAttempts", 0, 0, 99999999, &iv, &err) == 1 &&
		iv == 2,
	    "get_int: 2.0 is the integer 2");
	ok(ev_jdoc_get_num(&doc, r0, "BackoffRate", 0, &d, &err) == 1 &&
		d == 1.5,
	    "get_num: BackoffRate 1.5");
	ok(ev_jdoc_get_bool(&doc, r0, "Jitter", 0, &b, &err) == 1 && b == 1,
	    "get_bool: Jitter true");
	is_int(ev_jdoc_known(&doc, r0, known, &err), 0,
	    "known: Retry[0] has only known members");
	is_int(ev_jdoc_get_str(&doc, r0, "Comment", 0, &s, &len, &err), 0,
	    "get_str: absent optional member is 0");
	fails(ev_jdoc_get_str(
		  &doc, r0, "Comment", EV_JGET_REQUIRED, &s, &len, &err),
	    "missing member 'Comment'", 3, 5, "required");

	/* Retry[1]: every getter fails, located at the value. */
	fails(ev_jdoc_get_arr(&doc, r1, "ErrorEquals", 0, &e, &err),
	    "'ErrorEquals' must be an array", 5, 21, "get_arr");
	fails(ev_jdoc_get_int(
		  &doc, r1, "IntervalSeconds", 0, 1, INT64_MAX, &iv, &err),
	    "'IntervalSeconds' must be a positive integer", 5, 54, "get_int");
	is_int(ev_jdoc_get_int(
		   &doc, r1, "IntervalSeconds", 0, 0, INT64_MAX, &iv, &err),
	    1, "get_int: 0 is a non-negative integer");
	fails(ev_jdoc_get_int(
		  &doc, r1, "MaxAttempts", 0, 0, INT64_MAX, &iv, &err),
	    "'MaxAttempts' must be a non-negative integer", 6, 21,
	    "get_int: 2.5");
	fails(ev_jdoc_get_num(&doc, r1, "BackoffRate", 0, &d, &err),
	    "'BackoffRate' must be a number", 6, 41, "get_num");
	fails(ev_jdoc_get_bool(&doc, r1, "BackoffRate", 0, &b, &err),
	    "'BackoffRate' must be true or false", 6, 41, "get_bool");
	fails(ev_jdoc_get_obj(&doc, r1, "BackoffRate", 0, &b, &err),
	    "'BackoffRate' must be an object", 6, 41, "get_obj");
	fails(ev_jdoc_get_str(&doc, r1, "IntervalSeconds", 0, &s, &len, &err),
	    "'IntervalSeconds' must be a string", 5, 54, "get_str");
	fails(ev_jdoc_known(&doc, r1, known, &err), "unknown member 'Bogus'", 6,
	    46, "known");

	/* Duplicates: the last wins.  Ranges. */
	ok(ev_jdoc_get_str(&doc, 0, "Name", 0, &s, &len, &err) == 1 &&
		strcmp(s, "last") == 0,
	    "get_str: the last of duplicate members wins");
	fails(ev_jdoc_get_num(&doc, 0, "Big", 0, &d, &err),
	    "'Big' is out of range", 9, 10, "get_num: 1e400");
	fails(ev_jdoc_get_int(
		  &doc, 0, "Huge", 0, INT64_MIN, INT64_MAX, &iv, &err),
	    "'Huge' must be an integer", 9, 25, "get_int: beyond 2^53");
	fails(ev_jdoc_get_int(&doc, 0, "Neg", 0, 1, 10, &iv, &err),
	    "'Neg' must be an integer from 1 to 10", 9, 50, "get_int: range");
	ok(ev_jdoc_get_int(&doc, 0, "Neg", 0, -10, 10, &iv, &err) == 1 &&
		iv == -4,
	    "get_int: -4 in -10..10");
	r = ev_jdoc_get_obj(&doc, 0, "Retry", 0, &b, &err);
	fails(r, "'Retry' must be an object", 2, 12, "get_obj: an array");
	ev_jdoc_free(&doc);
	return tap_done();
}
