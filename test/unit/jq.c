/*
 * Unit tests for lib/jq/jq.c: compiling, outputs with sorted keys, no
 * output, errors, the bound on the outputs.
 */
#include <stdio.h>
#include <string.h>

#include "evkit.h"
#include "jq/jq.h"
#include "tap.h"

static int
run(struct ev_jq *q, const char *line, struct ev_buf *out, struct ev_err *err)
{
	out->len = 0;
	ev_err_clear(err);
	return ev_jq_run(q, line, strlen(line), 100, out, err);
}

int
main(void)
{
	struct ev_jq *q;
	struct ev_err err;
	struct ev_buf out = { NULL, 0, 0 };
	char s[256];

	ev_err_clear(&err);
	ok(ev_jq_compile(".a +", &err) == NULL, "a bad program is refused");
	is_str(err.msg, "invalid jq program '.a +': syntax error, unexpected "
	    "$end (Unix shell quoting issues?) at <top-level>, line 1:",
	    "one line, the program named");

	q = ev_jq_compile(".a", &err);
	ok(q != NULL, "compile");
	is_int(run(q, "{\"a\":{\"y\":1,\"x\":[2,3]}}", &out, &err), 1,
	    "one output");
	snprintf(s, sizeof(s), "%.*s", (int)out.len, out.p);
	is_str(s, "{\"x\":[2,3],\"y\":1}", "compact, keys sorted");
	is_int(run(q, "[1]", &out, &err), -1, "an error");
	is_str(err.msg, "jq: error: Cannot index array with string \"a\"",
	    "the program's error");
	is_int(run(q, "{\"a\":", &out, &err), -1, "invalid JSON");
	ok(strncmp(err.msg, "invalid JSON: ", 14) == 0, "said so");
	ev_jq_free(q);

	q = ev_jq_compile(".a[]", &err);
	is_int(run(q, "{\"a\":[1,\"1\"]}", &out, &err), 2, "two outputs");
	snprintf(s, sizeof(s), "%.*s", (int)out.len, out.p);
	is_str(s, "1\n\"1\"", "one a line");
	is_int(run(q, "{\"a\":[]}", &out, &err), 0, "no output");
	ev_jq_free(q);

	/* 100 bytes of outputs at most: a program that never ends ends */
	q = ev_jq_compile("repeat(.)", &err);
	is_int(run(q, "1", &out, &err), -1, "endless outputs");
	is_str(err.msg, "jq: outputs of more than 100 bytes", "said so");
	ev_jq_free(q);
	q = ev_jq_compile("\"x\" * 98", &err);
	is_int(run(q, "1", &out, &err), 1, "exactly 100 bytes pass");
	ev_jq_free(q);
	q = ev_jq_compile("\"x\" * 99", &err);
	is_int(run(q, "1", &out, &err), -1, "101 do not");
	ev_jq_free(q);
	ev_jq_free(NULL);
	ev_buf_free(&out);
	return tap_done();
}
