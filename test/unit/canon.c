/*
 * canon.c - unit tests for lib/json/canon.c: the canonical form of JSON
 * values (RFC 8785 JCS) that evdedupe compares and hashes.
 */
#include <stdlib.h>
#include <string.h>

#include "evkit.h"
#include "tap.h"

#define S(lit) lit, sizeof(lit) - 1

/* The canonical form of in[0..len), or NULL (err.msg printed). */
static char *
canon(const char *in, size_t len)
{
	struct ev_buf b = {0};
	struct ev_err err;
	char *r;

	ev_err_clear(&err);
	if (ev_json_canon(in, len, &b, &err) != 0) {
		printf("#   %s: %lu:%lu: %s\n", in, err.line, err.col, err.msg);
		ev_buf_free(&b);
		return NULL;
	}
	r = malloc(b.len + 1);
	memcpy(r, b.p, b.len);
	r[b.len] = '\0';
	ev_buf_free(&b);
	return r;
}

static void
is_canon(const char *in, const char *want)
{
	char *got = canon(in, strlen(in));

	is_str(got, want, "canon %s", in);
	free(got);
}

/* a and b are one key, or (same 0) two. */
static void
same_key(const char *a, const char *b, int same)
{
	char *x = canon(a, strlen(a)), *y = canon(b, strlen(b));

	ok(x != NULL && y != NULL && (strcmp(x, y) == 0) == same,
	    "%s and %s are %s", a, b, same ? "one key" : "two keys");
	free(x);
	free(y);
}

static void
test_numbers(void)
{
	/* ECMAScript Number::toString of the double (RFC 8785 3.2.2.3). */
	is_canon("1", "1");
	is_canon("1.0", "1");
	is_canon("1e0", "1");
	is_canon("10e-1", "1");
	is_canon("1E+2", "100");
	is_canon("-0", "0");
	is_canon("-0.0e5", "0");
	is_canon("4.50", "4.5");
	is_canon("2e-3", "0.002");
	is_canon("0.000001", "0.000001");
	is_canon("1e-7", "1e-7");
	is_canon("1e-27", "1e-27");
	is_canon("1e20", "100000000000000000000");
	is_canon("1e21", "1e+21");
	is_canon("1e30", "1e+30");
	is_canon("-1.5e30", "-1.5e+30");
	is_canon("123e-2", "1.23");
	is_canon("0.1", "0.1");
	is_canon("0.10000000000000001", "0.1");
	is_canon("0.30000000000000004", "0.30000000000000004");
	is_canon("333333333.33333329", "333333333.3333333");
	is_canon("123456789012345678901", "123456789012345680000");
	is_canon("9007199254740993", "9007199254740992");
	is_canon("5e-324", "5e-324");
	is_canon("1.7976931348623157e308", "1.7976931348623157e+308");
	is_canon("-1.7976931348623157e308", "-1.7976931348623157e+308");
	/* Beyond doubles: the exact value; below them: 0. */
	is_canon("1e400", "1e+400");
	is_canon("-15e399", "-1.5e+400");
	is_canon("1e-400", "0");
	same_key("1e400", "10e399", 1);
	same_key("1e400", "1e401", 0);
	/* Up to 15 digits: the token's own digits, however written. */
	is_canon("123456789012345", "123456789012345");
	is_canon("0.000123456789012345", "0.000123456789012345");
	is_canon("1.23456789012345e-10", "1.23456789012345e-10");
	same_key("1", "1.0000000000000002", 0);
	same_key("1", "1.00000000000000001", 1);
}

static void
test_strings(void)
{
	is_canon("\"\\u0061\"", "\"a\"");
	is_canon("\"\\/\"", "\"/\"");
	is_canon("\"\\u00e9\"", "\"\xc3\xa9\"");
	is_canon("\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"");
	is_canon("\"\\u007f\"", "\"\x7f\"");
	is_canon("\"\\u2028\"", "\"\xe2\x80\xa8\"");
	is_canon("\"\\b\\t\\n\\f\\r\\\"\\\\\"", "\"\\b\\t\\n\\f\\r\\\"\\\\\"");
	is_canon(
	    "\"\\u0008\\u0009\\u000A\\u000c\\u000D\"", "\"\\b\\t\\n\\f\\r\"");
	is_canon("\"\\u0000\\u001F\\u000b\"", "\"\\u0000\\u001f\\u000b\"");
	same_key("\"a\"", "\"\\u0061\"", 1);
	same_key("\"1\"", "1", 0);
	same_key("\"true\"", "true", 0);
	same_key("\"null\"", "null", 0);
	same_key("\"\\u00e9\"", "\"e\\u0301\"", 0); /* no normalisation */
}

static void
test_containers(void)
{
	is_canon(" { \"b\" : 1 , \"a\" : [ 1 , true , null , false ] } ",
	    "{\"a\":[1,true,null,false],\"b\":1}");
	is_canon("{}", "{}");
	is_canon("[]", "[]");
	is_canon("[{}, [], [[]]]", "[{},[],[[]]]");
	/* Nested objects sorted too; member values canonical. */
	is_canon("{\"z\":{\"y\":1.0,\"x\":\"\\u0041\"},\"a\":0}",
	    "{\"a\":0,\"z\":{\"x\":\"A\",\"y\":1}}");
	/* Duplicate names: the last wins (evkit(7)). */
	is_canon("{\"a\":1,\"b\":2,\"a\":3}", "{\"a\":3,\"b\":2}");
	is_canon("{\"a\":{\"x\":1},\"a\":{\"y\":2}}", "{\"a\":{\"y\":2}}");
	is_canon("{\"a\":1,\"\\u0061\":2}", "{\"a\":2}");
	/*
	 * Names compared as UTF-16 code units: U+1F600 (a surrogate pair,
	 * 0xD83D...) sorts before U+E000, unlike in UTF-8 byte order; a
	 * prefix before a longer name; "B" before "a".
	 */
	is_canon("{\"\\ue000\":1,\"\\ud83d\\ude00\":2,\"\":0,\"aa\":3,"
		 "\"a\":4,\"B\":5}",
	    "{\"\":0,\"B\":5,\"a\":4,\"aa\":3,\"\xf0\x9f\x98\x80\":2,"
	    "\"\xee\x80\x80\":1}");
	/* RFC 8785 3.2.3's sorting example. */
	is_canon("{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\","
		 "\"\\ufb33\":\"Hebrew Letter Dalet With Dagesh\","
		 "\"1\":\"One\",\"\\ud83d\\ude00\":\"Emoji: Grinning Face\","
		 "\"\\u0080\":\"Control\",\"\\u00f6\":\"Latin Small Letter O "
		 "With Diaeresis\"}",
	    "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":"
	    "\"Control\",\"\xc3\xb6\":\"Latin Small Letter O With "
	    "Diaeresis\",\"\xe2\x82\xac\":\"Euro Sign\",\"\xf0\x9f\x98\x80\":"
	    "\"Emoji: Grinning Face\",\"\xef\xac\xb3\":\"Hebrew Letter Dalet "
	    "With Dagesh\"}");
	same_key("{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1}", 1);
	same_key("[1,2]", "[2,1]", 0);
	same_key("{\"a\":null}", "{}", 0);
	same_key("{\"a\":[1]}", "{\"a\":1}", 0);
}

static void
test_errors_and_append(void)
{
	struct ev_buf b = {0};
	struct ev_err err;

	ev_err_clear(&err);
	ok(ev_json_canon(S("{\"a\":1,}"), &b, &err) == -1 &&
		strcmp(err.msg, "invalid JSON: expected member name") == 0 &&
		err.line == 1 && err.col == 8,
	    "invalid JSON: located error");
	ok(ev_json_canon(S("[1]\n [01]"), &b, &err) == -1 && err.line == 2,
	    "invalid JSON: line of the error");
	b.len = 0;
	ok(ev_json_canon(S("{\"b\":2}"), &b, &err) == 0 &&
		ev_json_canon(S(" 1.0 "), &b, &err) == 0 && b.len == 8 &&
		memcmp(b.p, "{\"b\":2}1", 8) == 0,
	    "appends to what the buffer holds");
	ev_buf_free(&b);
	ok(b.p == NULL && b.len == 0 && b.cap == 0, "ev_buf_free empties");
}

/* Canonical forms are fixed points. */
static void
test_idempotent(void)
{
	static const char *const in[] = {"{\"b\":[1.50,{\"d\":1e400,"
					 "\"c\":\"\\u001f\"}],\"a\":-0}",
	    "[0.1e-6,1e21,\"\\ud800\\udc00\"]", "\"\\\\/\""};
	char *a, *b;
	int i;

	for (i = 0; i < 3; i++) {
		a = canon(in[i], strlen(in[i]));
		b = a ? canon(a, strlen(a)) : NULL;
		ok(a && b && strcmp(a, b) == 0, "canon of canon %s: %s", in[i],
		    a ? a : "(null)");
		free(a);
		free(b);
	}
}

int
main(void)
{
	test_numbers();
	test_strings();
	test_containers();
	test_errors_and_append();
	test_idempotent();
	return tap_done();
}
