/*
 * Unit tests for lib/json/path.c: path spellings and ev_path_get().
 */
#include <stdlib.h>
#include <string.h>

#include "evkit.h"
#include "tap.h"

static struct ev_err gerr;

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

/*
 * Several paths in one pass: each gets its own value, twins the same,
 * prefixes and extensions of one another too.
 */
static void
test_multi(void)
{
	static const char *const specs[] = {"detail.id", "$.items[0]",
	    "items.k", "$.items", "detail.id", "$", "nope", "items[1].k",
	    "$['a.b']"};
	const char *line = "{\"detail\":{\"id\":\"x1\"},\"items\":[{\"k\":1},"
			   "{\"k\":[2]}],\"a.b\":null}";
	static const char *const want[] = {"\"x1\"", "{\"k\":1}", "[2]",
	    "[{\"k\":1},{\"k\":[2]}]", "\"x1\"", NULL, NULL, "[2]", "null"};
	struct ev_span v[9];
	struct ev_paths *pv;
	char buf[256];
	int i, r;

	ev_err_clear(&gerr);
	pv = ev_paths_compile(specs, 9, &gerr);
	ok(pv != NULL && ev_paths_count(pv) == 9, "multi: compiles 9 paths");
	if (pv == NULL)
		return;
	r = ev_paths_get(pv, line, strlen(line), v, &gerr);
	is_int(r, 8, "multi: 8 of 9 paths found");
	for (i = 0; i < 9; i++) {
		if (i == 5) {
			ok(v[i].p == line && v[i].len == strlen(line),
			    "multi: '$' is the whole line");
			continue;
		}
		snprintf(buf, sizeof(buf), "%.*s", (int)v[i].len,
		    v[i].p ? v[i].p : "");
		if (want[i] == NULL)
			ok(v[i].p == NULL && v[i].len == 0, "multi: %s absent",
			    specs[i]);
		else
			is_str(buf, want[i], "multi: %s", specs[i]);
	}
	r = ev_paths_get(pv, "{\"items\":[1,}", 13, v, &gerr);
	ok(r == -1 && gerr.col == 13, "multi: invalid line, column 13");
	ev_paths_free(pv);

	/* An element that is both [0] and searched for a name below. */
	{
		static const char *const s2[] = {"a[0].x", "a.y"};

		pv = ev_paths_compile(s2, 2, &gerr);
		r = ev_paths_get(
		    pv, "{\"a\":[{\"x\":1,\"y\":2}]}", 21, v, &gerr);
		ok(r == 2 && v[0].len == 1 && v[0].p[0] == '1' &&
			v[1].len == 1 && v[1].p[0] == '2',
		    "multi: a[0].x and a.y in one element");
		ev_paths_free(pv);
	}
	{
		static const char *const s3[] = {"a", "a..b"};

		ok(ev_paths_compile(s3, 2, &gerr) == NULL &&
			strcmp(gerr.msg, "invalid path 'a..b': empty field "
					 "name") == 0,
		    "multi: the first bad spec is named");
	}
}

/* Nesting at the scanner's limit, at the path and away from it. */
static void
test_deep(void)
{
	struct ev_path *p = ev_path_compile("a", &gerr);
	char *line = malloc(2000);
	const char *v;
	size_t n, len;
	int i, r;

	len = 0;
	len += (size_t)sprintf(line, "{\"a\":");
	for (i = 0; i < 511; i++)
		line[len++] = '[';
	for (i = 0; i < 511; i++)
		line[len++] = ']';
	line[len++] = '}';
	r = ev_path_get(p, line, len, &v, &n, &gerr);
	ok(r == 1 && n == 1022, "deep: 511 arrays at the path (512 deep)");
	len = 5;
	for (i = 0; i < 512; i++)
		line[len++] = '[';
	for (i = 0; i < 512; i++)
		line[len++] = ']';
	line[len++] = '}';
	ev_err_clear(&gerr);
	r = ev_path_get(p, line, len, &v, &n, &gerr);
	ok(r == -1 && strcmp(gerr.msg, "invalid JSON: nesting too deep") == 0,
	    "deep: 513 levels rejected");
	free(line);
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
	get("a.b", "{\"a\":{\"b\":1},\"a.b\":2}", "2");
	get("a.b", "{\"a.b\":2,\"a\":{\"b\":1}}", "1");
	get("a.b.c", "{\"a.b\":{\"c\":3}}", "3");
	get("a.b.c", "{\"a\":{\"b.c\":4}}", "4");
	get("a.b", "{\"a.bc\":1,\"ab\":2}", NULL);
	get("$['weird.key'].x",
	    "{\"weird\":{\"key\":{\"x\":6}},\"weird.key\":{\"x\":5}}", "5");

	/*
	 * Duplicate member names: the last wins, as in ev_jdoc_member() and
	 * jq (evkit(7), DUPLICATE MEMBER NAMES).
	 */
	get("x", "{\"x\":1,\"x\":2}", "2");
	get("x", "{\"x\":{\"y\":1},\"x\":[3]}", "[3]");
	get("x.y", "{\"x\":{\"y\":1},\"x\":{\"z\":2}}", "1");
	get("x.y", "{\"x\":{\"y\":1,\"y\":\"b\"}}", "\"b\"");

	/* Arrays. */
	get("items.id", "{\"items\":[{\"id\":1},{\"id\":2}]}", "2");
	get("items.id", "{\"items\":[{\"id\":1},{\"x\":2}]}", "1");
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
	get("a[1]", "{\"a\":[[1,2]]}", NULL);
	get("a[0]", "{\"a\":[[1,2]]}", "[1,2]");
	get("a[0]", "{\"a\":{\"0\":1}}", NULL);
	get("a.0", "{\"a\":[5]}", NULL);
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
	/* One pass: the line is validated past the value, in every subtree. */
	invalid("{\"a\":1,\"b\":}", 12, "invalid JSON: expected value");
	invalid("{\"a\":{\"b\":[1,2,]}}", 16, "invalid JSON: expected value");
	invalid("{\"a\":[1,{\"b\":01}]}", 15, "invalid JSON: invalid number");
	invalid("{\"a\":\"\\x\"}", 7, "invalid JSON: invalid escape");
	invalid("{\"a\":1} x", 9, "invalid JSON: trailing characters");
	test_multi();
	test_deep();
	return tap_done();
}
