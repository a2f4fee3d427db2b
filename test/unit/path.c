/*
 * Unit tests for lib/json/path.c: path spellings and ev_path_get().
 */
#include <stdlib.h>
#include <string.h>

#include "evkit.h"
#include "tap.h"

static void
compiles(const char *spec)
{
	struct ev_err err;
	struct ev_path *p;

	ev_err_clear(&err);
	p = ev_path_compile(spec, &err);
	ok(p != NULL, "compile '%s'", spec);
	if (p == NULL)
		printf("#   %s\n", err.msg);
	ev_path_free(p);
}

static void
rejects(const char *spec, const char *msg)
{
	struct ev_err err;
	struct ev_path *p;

	ev_err_clear(&err);
	p = ev_path_compile(spec, &err);
	ok(p == NULL, "reject '%s'", spec);
	is_str(err.msg, msg, "reject '%s': message", spec);
	ev_path_free(p);
}

/* want NULL: absent. */
static void
get(const char *spec, const char *line, const char *want)
{
	struct ev_err err;
	struct ev_path *p;
	const char *v = NULL;
	size_t n = 0;
	char buf[512];
	int r;

	ev_err_clear(&err);
	p = ev_path_compile(spec, &err);
	if (p == NULL) {
		ok(0, "get %s: compiles (%s)", spec, err.msg);
		return;
	}
	r = ev_path_get(p, line, strlen(line), &v, &n, &err);
	if (want == NULL) {
		is_int(r, 0, "get %s in %s: absent", spec, line);
	} else {
		snprintf(buf, sizeof(buf), "%.*s", r == 1 ? (int)n : 0,
		    r == 1 ? v : "");
		ok(r == 1 && v >= line && v + n <= line + strlen(line),
		    "get %s in %s: found, inside the line", spec, line);
		is_str(buf, want, "get %s in %s: value", spec, line);
	}
	ev_path_free(p);
}

static void
invalid(const char *line, unsigned long col, const char *msg)
{
	struct ev_err err;
	struct ev_path *p = ev_path_compile("a", &err);
	const char *v;
	size_t n;
	int r;

	ev_err_clear(&err);
	r = ev_path_get(p, line, strlen(line), &v, &n, &err);
	ok(r == -1 && err.col == col, "invalid %s: -1 at col %lu", line, col);
	ok(strncmp(err.msg, msg, strlen(msg)) == 0,
	    "invalid %s: message "
	    "starts '%s'",
	    line, msg);
	if (strncmp(err.msg, msg, strlen(msg)) != 0)
		printf("#   got: '%s'\n", err.msg);
	ev_path_free(p);
}

int
main(void)
{
	const char *ev = " {\"detail\":{\"user\":{\"id\":42,\"name\":\"x\"}},"
			 "\"a.b\":1} ";

	compiles("detail.user.id");
	compiles("$.detail.user.id");
	compiles("$");
	compiles("$['weird.key'].x");
	compiles("$[\"a\\\"b\"]");
	compiles("resources[0]");
	compiles("$.a[0][1].b");
	compiles("$schema");
	rejects("", "invalid path '': empty path");
	rejects("a..b", "invalid path 'a..b': empty field name");
	rejects("$.", "invalid path '$.': empty field name");
	rejects(".a", "invalid path '.a': empty field name");
	rejects("a.", "invalid path 'a.': empty field name");
	rejects("a.[0]", "invalid path 'a.[0]': empty field name");
	rejects("$.[0]", "invalid path '$.[0]': empty field name");
	rejects("a[", "invalid path 'a[': expected a quoted name or an "
		      "index in brackets");
	rejects("a[x]", "invalid path 'a[x]': expected a quoted name or an "
			"index in brackets");
	rejects("a['b'", "invalid path 'a['b'': expected ']'");
	rejects("a['b", "invalid path 'a['b': unterminated quoted name");
	rejects("a[0]b", "invalid path 'a[0]b': expected '.' or '[' after "
			 "']'");
	rejects("a[99999999999999999999999]",
	    "invalid path "
	    "'a[99999999999999999999999]': array index out of range");

	get("detail.user.id", ev, "42");
	get("$.detail.user.name", ev, "\"x\"");
	get("detail.user", ev, "{\"id\":42,\"name\":\"x\"}");
	get("$", ev,
	    "{\"detail\":{\"user\":{\"id\":42,\"name\":\"x\"}},"
	    "\"a.b\":1}");
	get("detail.nope", ev, NULL);
	get("detail.user.id.deeper", ev, NULL);
	get("a.b", ev, "1");
	get("a", ev, NULL);
	get("$['a.b']", ev, "1");

	/* A dotted member name and nested members spell the same path. */
	get("a.b", "{\"a\":{\"x\":1},\"a.b\":2}", "2");
	get("a.b", "{\"a\":{\"b\":1},\"a.b\":2}", "1");
	get("a.b", "{\"a.b\":2,\"a\":{\"b\":1}}", "2");
	get("a.b.c", "{\"a.b\":{\"c\":3}}", "3");
	get("a.b.c", "{\"a\":{\"b.c\":4}}", "4");
	get("a.b", "{\"a.bc\":1,\"ab\":2}", NULL);
	get("$['weird.key'].x",
	    "{\"weird\":{\"key\":{\"x\":6}},\"weird.key\":{\"x\":5}}", "5");
	get("x", "{\"x\":1,\"x\":2}", "1");

	/* Arrays. */
	get("items.id", "{\"items\":[{\"id\":1},{\"id\":2}]}", "1");
	get("items", "{\"items\":[{\"id\":1},{\"id\":2}]}",
	    "[{\"id\":1},{\"id\":2}]");
	get("items[1].id", "{\"items\":[{\"id\":1},{\"id\":2}]}", "2");
	get("items[2].id", "{\"items\":[{\"id\":1},{\"id\":2}]}", NULL);
	get("$.resources[0]", "{\"resources\":[\"arn:1\",\"arn:2\"]}",
	    "\"arn:1\"");
	get("a", "{\"a\":[]}", "[]");
	get("a", "{\"a\": [ 1 , [2] ] }", "[ 1 , [2] ]");
	get("a.b", "{\"a\":[[{\"b\":7}]]}", "7");
	get("a.b", "{\"a\":[1,\"{\\\"b\\\":0}\",{\"c\":1},{\"b\":2}]}", "2");
	get("a[0][1]", "{\"a\":[[1,2]]}", "2");
	get("a.b", "{\"a\":[]}", NULL);

	/* Scalars and tricky strings. */
	get("n", "{\"n\":-1.5e3}", "-1.5e3");
	get("t", "{\"t\":true,\"f\":false}", "true");
	get("z", "{\"z\":null}", "null");
	get("t", "{\"s\":\"a\\\"b}\",\"t\":1}", "1");
	get("s", "{\"s\":\"a\\\"b}\",\"t\":1}", "\"a\\\"b}\"");
	get("v", "{\"s\":\"[{\",\"t\":{\"u\":\"}]\"},\"v\":3}", "3");
	get("detail", "{\"d\\u0065tail\":1}", "1");
	get("a.b", "{\"a\\u002eb\":1}", "1");
	get("é", "{\"\\u00e9\":1}", "1");

	invalid("{\"a\":1", 7, "invalid JSON: ");
	invalid("[1]", 1, "not a JSON object");
	return tap_done();
}
