/*
 * json.c - unit tests for lib/json/json.c: ev_scan() strictness, error messages
 * and columns, the path reporting contract, ev_json_unescape(),
 * ev_json_number() and ev_jdoc.
 */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json_int.h"
#include "tap.h"

/*
 * glibc's newlocale() keeps the LOCPATH list it splits for a locale made
 * by test_number_locale() (allocated in __argz_add_sep, never freed): not
 * ours, so LeakSanitizer is told to ignore it.
 */
const char *__lsan_default_options(void);
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_options(void)
{
	return "print_suppressions=0";
}

const char *
__lsan_default_suppressions(void)
{
	return "leak:__argz_add_sep\n";
}

/* --------------------------------------------------------------- helpers */

#define S(lit) lit, sizeof(lit) - 1

static struct ev_err err;

/* Scan s with no path set: 0 or -1. */
static int
scan(const char *s, size_t len)
{
	ev_err_clear(&err);
	return ev_scan(s, len, NULL, NULL, NULL, &err);
}

static void
scan_ok(const char *s, size_t len, const char *name)
{
	int r = scan(s, len);

	ok(r == 0, "valid: %s", name);
	if (r != 0)
		printf("#   %lu: %s\n", err.col, err.msg);
}

static void
scan_bad(const char *s, size_t len, const char *msg, unsigned long col,
    const char *name)
{
	static const char pad[] = ",\"zz\":\"0123456789abcdef0123456789abcdef"
				  "0123456789\"}";
	char *t;
	int r = scan(s, len);

	ok(r == -1 && strcmp(err.msg, msg) == 0 && err.col == col,
	    "rejected: %s", name);
	if (r != -1 || strcmp(err.msg, msg) != 0 || err.col != col)
		printf("#   got %d %lu: '%s'\n#   expected %lu: '%s'\n", r,
		    err.col, err.msg, col, msg);
	/*
	 * Again with more than 32 bytes after the error, where the fast
	 * paths (whole 16-byte blocks) take over from the careful ones.
	 */
	if (len < 2 || s[len - 1] != '}' || col >= len ||
	    strncmp(msg, "invalid JSON", 12) != 0)
		return;
	t = malloc(len + sizeof(pad));
	memcpy(t, s, len - 1);
	memcpy(t + len - 1, pad, sizeof(pad));
	r = scan(t, len - 1 + sizeof(pad) - 1);
	ok(r == -1 && strcmp(err.msg, msg) == 0 && err.col == col,
	    "rejected with padding: %s", name);
	if (r != -1 || strcmp(err.msg, msg) != 0 || err.col != col)
		printf("#   got %d %lu: '%s'\n#   expected %lu: '%s'\n", r,
		    err.col, err.msg, col, msg);
	free(t);
}

/* Reports collected as text: "id:type:value[array.index...]" ... */
struct rec {
	char buf[4096];
	size_t len;
	int stop_after; /* stop after this many reports, 0: never */
	int n;
};

static int
rec_fn(void *ctx, int id, const struct ev_jval *v, const struct ev_arrpos *memb,
    int depth)
{
	static const char tc[] = "nft#sOA";
	struct rec *r = ctx;
	char tmp[1024];
	size_t tl;
	int i;

	if (v->type == EV_J_STRING && v->len <= sizeof(tmp)) {
		tl = ev_json_unescape(v, tmp);
	} else {
		tl = v->len < sizeof(tmp) ? v->len : sizeof(tmp);
		memcpy(tmp, v->p, tl);
	}
	r->len += (size_t)snprintf(r->buf + r->len, sizeof(r->buf) - r->len,
	    "%s%d:%c:%.*s", r->len ? " " : "", id, tc[v->type], (int)tl, tmp);
	for (i = 0; i < depth; i++)
		r->len +=
		    (size_t)snprintf(r->buf + r->len, sizeof(r->buf) - r->len,
			"%s%u.%u", i ? "," : "[", memb[i].array, memb[i].index);
	if (depth > 0)
		r->len += (size_t)snprintf(
		    r->buf + r->len, sizeof(r->buf) - r->len, "]");
	r->n++;
	return r->stop_after && r->n >= r->stop_after;
}

/* A path set from a comma-separated list of dotted paths. */
static struct ev_pathset *
paths(const char *list)
{
	struct ev_pathset *ps = ev_pathset_new();
	const char *s = list, *c;

	for (;;) {
		c = strchr(s, ',');
		ev_pathset_add(ps, s, c ? (size_t)(c - s) : strlen(s));
		if (c == NULL)
			break;
		s = c + 1;
	}
	return ps;
}

/* Scan line with paths list; compare the reports with want. */
static void
reports(const char *list, const char *line, const char *want, const char *name)
{
	struct ev_pathset *ps = paths(list);
	struct rec r;
	int rc;

	memset(&r, 0, sizeof(r));
	ev_err_clear(&err);
	rc = ev_scan(line, strlen(line), ps, rec_fn, &r, &err);
	is_str(rc == 0 ? r.buf : err.msg, want, "reports: %s", name);
	ev_pathset_free(ps);
}

/* A line nesting n arrays inside {"a": ... }. */
static char *
nested(int n, size_t *len)
{
	char *s = malloc((size_t)n * 2 + 8);
	size_t k = 0;
	int i;

	memcpy(s, "{\"a\":", 5);
	k = 5;
	for (i = 0; i < n; i++)
		s[k++] = '[';
	for (i = 0; i < n; i++)
		s[k++] = ']';
	s[k++] = '}';
	s[k] = '\0';
	*len = k;
	return s;
}

/* ----------------------------------------------------------------- tests */

static void
test_valid(void)
{
	scan_ok(S("{}"), "empty object");
	scan_ok(S(" \t\r\n{ } \t\r\n"), "whitespace around");
	scan_ok(S("{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}"),
	    "mixed");
	scan_ok(
	    S("{\"a\":[],\"b\":{},\"c\":[[]],\"d\":[{}]}"), "empty containers");
	scan_ok(S("{\"a\" : [ 1 , 2 ] , \"b\" : { } }"), "spaces everywhere");
	scan_ok(S("{\"\":\"\"}"), "empty key and value");
	scan_ok(S("{\"a\":\"\x7f\"}"), "DEL is not a control character");
	scan_ok(S("{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}"),
	    "2, 3 and 4 byte UTF-8");
	scan_ok(
	    S("{\"a\":\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf"
	      "\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"}"),
	    "UTF-8 boundaries");
	scan_ok(S("{\"\xc3\xa9\":1}"), "UTF-8 in a key");
	scan_ok(S("{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\"}"),
	    "all escapes");
	scan_ok(
	    S("{\"a\":\"\\uD83D\\uDE00\\udbff\\udfff\"}"), "surrogate pairs");
	scan_ok(S("{\"a\":\"a long string of plain ascii, over 16 bytes, "
		  "then \xc3\xa9 and more text after it to cross blocks\"}"),
	    "long string");
	scan_ok(S("{\"a\":[-0,0,1e5,1E+5,1e-5,0.5,-0.0e-0,123456789012345678901"
		  ",1e400,-1.5E300]}"),
	    "numbers");
	scan_ok(S("{\"a\":12345678901234567890123456789012345678901234567890}"),
	    "long number");
	scan_ok(S("{\"a\":[-0,0,1e5,1E+5,1e-5,0.5,-0.0e-0,-122.42200352825247,"
		  "37.808480096967251,0.0,1234567890123456789012345678901,"
		  "1.2345678901234567890123456789012,0.1e1,\"0123456789abcdef"
		  "0123456789abcdef\"]}"),
	    "numbers followed by 32 bytes");
	scan_ok(S("{\"a\":\"0123456789abcdef0123456789abcdef\",\"b\":"
		  "\"0123456789abcde\\\"0123456789abcdef\",\"c\":\"0123456789"
		  "abcdef0123456789abcd\xc3\xa9\",\"d\":\"\"}"),
	    "strings around the 16 and 32 byte marks");
}

static void
test_errors(void)
{
	scan_bad(S(""), "invalid JSON: unexpected end of input", 1, "empty");
	scan_bad(S("   "), "invalid JSON: unexpected end of input", 4, "blank");
	scan_bad(S("{"), "invalid JSON: unexpected end of input", 2, "{");
	scan_bad(S("{\"a\":1"), "invalid JSON: unexpected end of input", 7,
	    "unclosed object");
	scan_bad(S("{\"a\":"), "invalid JSON: unexpected end of input", 6,
	    "missing value");
	scan_bad(S("{\"a\":[1,"), "invalid JSON: unexpected end of input", 9,
	    "unclosed array");
	scan_bad(S("{\"a\":\"x"), "invalid JSON: unterminated string", 8,
	    "unterminated string");
	scan_bad(S("{\"a"), "invalid JSON: unterminated string", 4,
	    "unterminated key");
	scan_bad(S("{\"a\":\"x\\"), "invalid JSON: unterminated string", 9,
	    "string ends in backslash");
	scan_bad(
	    S("{\"a\" 1}"), "invalid JSON: expected ':'", 6, "missing colon");
	scan_bad(S("{\"a\":1 \"b\":2}"), "invalid JSON: expected ',' or '}'", 8,
	    "missing comma in object");
	scan_bad(S("{\"a\":[1 2]}"), "invalid JSON: expected ',' or ']'", 9,
	    "missing comma in array");
	scan_bad(S("{\"a\":1,}"), "invalid JSON: expected member name", 8,
	    "trailing comma in object");
	scan_bad(S("{\"a\":[1,]}"), "invalid JSON: expected value", 9,
	    "trailing comma in array");
	scan_bad(S("{a:1}"), "invalid JSON: expected member name", 2,
	    "unquoted key");
	scan_bad(S("{'a':1}"), "invalid JSON: expected member name", 2,
	    "single quotes");
	scan_bad(S("{\"a\":}"), "invalid JSON: expected value", 6, "no value");
	scan_bad(S("{\"a\":1}x"), "invalid JSON: trailing characters", 8,
	    "trailing garbage");
	scan_bad(S("{\"a\":1} {}"), "invalid JSON: trailing characters", 9,
	    "two objects");
	scan_bad(S("{\"a\":1}\v"), "invalid JSON: trailing characters", 8,
	    "vertical tab is not whitespace");
	scan_bad(S("\xef\xbb\xbf{}"), "invalid JSON: expected value", 1,
	    "byte order mark");
	scan_bad(S("{\"a\":1}\0"), "invalid JSON: trailing characters", 8,
	    "NUL after the object");
	scan_bad(S("[1,2]"), "not a JSON object", 1, "array");
	scan_bad(S("  \"x\"  "), "not a JSON object", 3, "string");
	scan_bad(S("12"), "not a JSON object", 1, "number");
	scan_bad(S("null"), "not a JSON object", 1, "null");
	scan_bad(S("[1,2"), "invalid JSON: unexpected end of input", 5,
	    "invalid array is invalid JSON first");
	scan_bad(S("[1] x"), "invalid JSON: trailing characters", 5,
	    "array with trailing characters");
}

static void
test_strings(void)
{
	scan_bad(S("{\"a\":\"\x01\"}"),
	    "invalid JSON: control character in string", 7, "raw \\x01");
	scan_bad(S("{\"a\":\"x\ty\"}"),
	    "invalid JSON: control character in string", 8, "raw tab");
	scan_bad(S("{\"a\":\"x\ny\"}"),
	    "invalid JSON: control character in string", 8, "raw newline");
	scan_bad(S("{\"a\":\"\0\"}"),
	    "invalid JSON: control character in string", 7, "raw NUL");
	scan_bad(S("{\"a\":\"0123456789abcdefghij\x1f\"}"),
	    "invalid JSON: control character in string", 27,
	    "control character after a 16-byte block");
	scan_bad(S("{\"a\x02\":1}"),
	    "invalid JSON: control character in string", 4,
	    "control character in key");
	scan_bad(
	    S("{\"a\":\"\\x\"}"), "invalid JSON: invalid escape", 7, "\\x");
	scan_bad(
	    S("{\"a\":\"\\U0041\"}"), "invalid JSON: invalid escape", 7, "\\U");
	scan_bad(S("{\"a\":\"\\u12G4\"}"), "invalid JSON: invalid escape", 7,
	    "bad hex digit");
	scan_bad(S("{\"a\":\"\\u12\"}"), "invalid JSON: invalid escape", 7,
	    "short \\u");
	scan_bad(
	    S("{\"a\":\"\\'\"}"), "invalid JSON: invalid escape", 7, "\\'");
	scan_bad(S("{\"a\":\"\\\n\"}"), "invalid JSON: invalid escape", 7,
	    "backslash newline");
	scan_bad(S("{\"a\":\"\\uDE00\"}"), "invalid JSON: lone surrogate", 7,
	    "lone low surrogate");
	scan_bad(S("{\"a\":\"\\uD83D\"}"), "invalid JSON: lone surrogate", 7,
	    "lone high surrogate");
	scan_bad(S("{\"a\":\"\\uD83Dxxxxxxxx\"}"),
	    "invalid JSON: lone surrogate", 7, "high surrogate then text");
	scan_bad(S("{\"a\":\"\\uD83D\\u0041\"}"),
	    "invalid JSON: lone surrogate", 7, "high then non-surrogate");
	scan_bad(S("{\"a\":\"\\uD83D\\uD83D\"}"),
	    "invalid JSON: lone surrogate", 7, "high then high");
	scan_bad(S("{\"a\":\"x\\uDE00\\uD83D\"}"),
	    "invalid JSON: lone surrogate", 8, "low then high");
	scan_bad(S("{\"a\":\"\\uD83D\\uZZZZ\"}"),
	    "invalid JSON: invalid escape", 13, "high then bad escape");
	scan_bad(S("{\"\\uDE00\":1}"), "invalid JSON: lone surrogate", 3,
	    "lone surrogate in key");
}

static void
test_utf8(void)
{
	scan_bad(S("{\"a\":\"\x80\"}"), "invalid JSON: invalid UTF-8", 7,
	    "stray continuation byte");
	scan_bad(S("{\"a\":\"\xc0\x80\"}"), "invalid JSON: invalid UTF-8", 7,
	    "overlong C0 80");
	scan_bad(S("{\"a\":\"\xc1\xbf\"}"), "invalid JSON: invalid UTF-8", 7,
	    "overlong C1 BF");
	scan_bad(S("{\"a\":\"\xe0\x80\x80\"}"), "invalid JSON: invalid UTF-8",
	    7, "overlong E0 80 80");
	scan_bad(S("{\"a\":\"\xe0\x9f\xbf\"}"), "invalid JSON: invalid UTF-8",
	    7, "overlong E0 9F BF");
	scan_bad(S("{\"a\":\"\xf0\x8f\xbf\xbf\"}"),
	    "invalid JSON: invalid UTF-8", 7, "overlong F0 8F BF BF");
	scan_bad(S("{\"a\":\"\xed\xa0\x80\"}"), "invalid JSON: invalid UTF-8",
	    7, "surrogate ED A0 80");
	scan_bad(S("{\"a\":\"\xed\xbf\xbf\"}"), "invalid JSON: invalid UTF-8",
	    7, "surrogate ED BF BF");
	scan_bad(S("{\"a\":\"\xf4\x90\x80\x80\"}"),
	    "invalid JSON: invalid UTF-8", 7, "F4 90 80 80 above U+10FFFF");
	scan_bad(S("{\"a\":\"\xf5\x80\x80\x80\"}"),
	    "invalid JSON: invalid UTF-8", 7, "F5 lead byte");
	scan_bad(
	    S("{\"a\":\"\xff\"}"), "invalid JSON: invalid UTF-8", 7, "FF byte");
	scan_bad(S("{\"a\":\"\xc3\"}"), "invalid JSON: invalid UTF-8", 7,
	    "truncated 2-byte sequence");
	scan_bad(S("{\"a\":\"\xe2\x82\"}"), "invalid JSON: invalid UTF-8", 7,
	    "truncated 3-byte sequence");
	scan_bad(S("{\"a\":\"\xf0\x9f\x98\"}"), "invalid JSON: invalid UTF-8",
	    7, "truncated 4-byte sequence");
	scan_bad(S("{\"a\":\"x\xc3"), "invalid JSON: invalid UTF-8", 8,
	    "sequence cut by the end of the line");
	scan_bad(S("{\"a\":\"\xc3\xa9\xc3\"}"), "invalid JSON: invalid UTF-8",
	    9, "good then truncated");
	scan_bad(S("{\"a\":\"\xe2\x82\xac\x80\"}"),
	    "invalid JSON: invalid UTF-8", 10, "continuation after a sequence");
	scan_bad(S("{\"a\":\"0123456789abcdefghijkl\xc0\xaf\"}"),
	    "invalid JSON: invalid UTF-8", 29, "overlong after a block");
	scan_bad(S("{\"\xc0\x80\":1}"), "invalid JSON: invalid UTF-8", 3,
	    "overlong in a key");
	scan_bad(S("{\"a\":\xc3\xa9}"), "invalid JSON: expected value", 6,
	    "UTF-8 outside a string");
}

static void
test_numbers_grammar(void)
{
	scan_bad(
	    S("{\"a\":01}"), "invalid JSON: invalid number", 7, "leading zero");
	scan_bad(S("{\"a\":-01}"), "invalid JSON: invalid number", 8,
	    "negative leading zero");
	scan_bad(S("{\"a\":00}"), "invalid JSON: invalid number", 7, "00");
	scan_bad(S("{\"a\":1.}"), "invalid JSON: invalid number", 8, "1.");
	scan_bad(S("{\"a\":.5}"), "invalid JSON: invalid number", 6, ".5");
	scan_bad(S("{\"a\":-}"), "invalid JSON: invalid number", 7, "-");
	scan_bad(S("{\"a\":-a}"), "invalid JSON: invalid number", 7, "-a");
	scan_bad(S("{\"a\":+1}"), "invalid JSON: invalid number", 6, "+1");
	scan_bad(S("{\"a\":1e}"), "invalid JSON: invalid number", 8, "1e");
	scan_bad(S("{\"a\":1e+}"), "invalid JSON: invalid number", 9, "1e+");
	scan_bad(
	    S("{\"a\":1.5.2}"), "invalid JSON: invalid number", 9, "1.5.2");
	scan_bad(
	    S("{\"a\":1e5e5}"), "invalid JSON: invalid number", 9, "1e5e5");
	scan_bad(S("{\"a\":0x10}"), "invalid JSON: invalid number", 7, "0x10");
	scan_bad(S("{\"a\":1x}"), "invalid JSON: invalid number", 7, "1x");
	scan_bad(S("{\"a\":NaN}"), "invalid JSON: invalid literal", 6, "NaN");
	scan_bad(S("{\"a\":nan}"), "invalid JSON: invalid literal", 7, "nan");
	scan_bad(S("{\"a\":Infinity}"), "invalid JSON: invalid literal", 6,
	    "Infinity");
	scan_bad(S("{\"a\":-Infinity}"), "invalid JSON: invalid number", 7,
	    "-Infinity");
	scan_bad(S("{\"a\":1"), "invalid JSON: unexpected end of input", 7,
	    "number at the end");
	scan_bad(
	    S("{\"a\":1."), "invalid JSON: invalid number", 8, "1. at the end");
	scan_bad(S("{\"a\":tru}"), "invalid JSON: invalid literal", 9, "tru");
	scan_bad(
	    S("{\"a\":truex}"), "invalid JSON: invalid literal", 10, "truex");
	scan_bad(S("{\"a\":True}"), "invalid JSON: invalid literal", 6, "True");
	scan_bad(S("{\"a\":nul"), "invalid JSON: invalid literal", 9,
	    "nul at the end");
	scan_bad(
	    S("{\"a\":fals}"), "invalid JSON: invalid literal", 10, "fals");
}

static void
test_depth(void)
{
	struct ev_pathset *ps = paths("a,b");
	struct rec r;
	struct ev_jdoc doc;
	size_t len;
	char *s;

	memset(&r, 0, sizeof(r));
	s = nested(EV_JSON_MAX_DEPTH - 1, &len);
	scan_ok(s, len, "nesting at the limit");
	ok(ev_scan(s, len, ps, rec_fn, &r, &err) == 0,
	    "nesting at the limit, tracked");
	ok(ev_jdoc_parse(&doc, s, len, &err) == 0, "jdoc at the limit");
	ev_jdoc_free(&doc);
	free(s);
	s = nested(EV_JSON_MAX_DEPTH, &len);
	scan_bad(s, len, "invalid JSON: nesting too deep",
	    6 + EV_JSON_MAX_DEPTH - 1, "nesting over the limit");
	memset(&r, 0, sizeof(r));
	ok(ev_scan(s, len, ps, rec_fn, &r, &err) == -1 &&
		strcmp(err.msg, "invalid JSON: nesting too deep") == 0 &&
		err.col == 6 + EV_JSON_MAX_DEPTH - 1,
	    "nesting over the limit, tracked");
	ok(ev_jdoc_parse(&doc, s, len, &err) == -1 &&
		strcmp(err.msg, "invalid JSON: nesting too deep") == 0 &&
		err.line == 1 && err.col == 6 + EV_JSON_MAX_DEPTH - 1,
	    "jdoc over the limit");
	s[2] = 'b'; /* an untracked subtree, scanned then skipped */
	memset(&r, 0, sizeof(r));
	ok(ev_scan(s, len, ps, rec_fn, &r, &err) == -1 &&
		strcmp(err.msg, "invalid JSON: nesting too deep") == 0,
	    "nesting over the limit under another key");
	free(s);
	ev_pathset_free(ps);
	s = malloc(2 * EV_JSON_MAX_DEPTH + 2);
	memset(s, '[', EV_JSON_MAX_DEPTH + 1);
	scan_bad(s, EV_JSON_MAX_DEPTH + 1, "invalid JSON: nesting too deep",
	    EV_JSON_MAX_DEPTH + 1, "top-level arrays over the limit");
	free(s);
}

static void
test_paths(void)
{
	struct ev_pathset *ps;

	ps = ev_pathset_new();
	is_int(ev_pathset_add(ps, S("source")), 0, "first id");
	is_int(ev_pathset_add(ps, S("detail.state")), 1, "second id");
	is_int(ev_pathset_add(ps, S("source")), 0, "same id again");
	is_int(ev_pathset_add(ps, S("detail")), 2, "interior node gets an id");
	is_int(ev_pathset_count(ps), 3, "count");
	ev_pathset_free(ps);
	ev_pathset_free(NULL);

	reports("source,detail.state",
	    "{\"version\":\"0\",\"source\":\"aws.ec2\",\"detail\":"
	    "{\"x\":[1,{\"state\":2}],\"state\":\"running\"}}",
	    "0:s:aws.ec2 1:s:running", "EventBridge event");
	reports(
	    "detail.state", "{\"detail.state\":\"x\"}", "0:s:x", "dotted key");
	reports("a.b.c", "{\"a.b\":{\"c\":1},\"a\":{\"b.c\":2},\"a.b.c\":3}",
	    "0:#:1 0:#:2 0:#:3", "dotted keys at several levels");
	reports("a.b", "{\"a.\":{\"b\":1},\"a..b\":2,\".a.b\":3}", "",
	    "empty segments do not match");
	reports("source", "{\"sour\\u0063e\":\"s\"}", "0:s:s", "escaped key");
	reports("detail.state", "{\"detail\\u002estate\":1}", "0:#:1",
	    "escaped dot in a key");
	reports("a", "{\"a\":\"x\\ny\\u00e9\"}", "0:s:x\ny\xc3\xa9",
	    "escaped value");
	reports("a", "{\"a\":1,\"a\":[2],\"a\":{}}", "0:#:1 0:#:2[0.0] 0:O:{}",
	    "duplicate keys all reported");
	reports("a", "{\"a\":[1,[2,3],[],[[4]]]}",
	    "0:#:1[0.0] 0:#:2[0.1,1.0] 0:#:3[0.1,1.1] 0:#:4[0.3,3.0,4.0]",
	    "nested arrays flattened");
	reports("a", "{\"a\":[]}", "", "empty array reports nothing");
	reports("a", "{\"a\":[[],[[]]]}", "", "empty arrays report nothing");
	reports("a,a.b", "{\"a\":{\"b\":1,\"c\":2}}",
	    "0:O:{\"b\":1,\"c\":2} 1:#:1", "object reported, then descended");
	reports("a", "{\"a\":{\"b\":[1]}}", "0:O:{\"b\":[1]}",
	    "object reported, not descended");
	reports("a.b", "{\"a\":[{\"b\":1},{\"c\":0,\"b\":[2,3]},5,{\"b\":{}}]}",
	    "0:#:1[0.0] 0:#:2[0.1,1.0] 0:#:3[0.1,1.1] 0:O:{}[0.3]",
	    "objects inside arrays");
	reports("x,a.b", "{\"x\":[0],\"a\":[[{\"b\":true}]],\"c\":[9]}",
	    "0:#:0[0.0] 1:t:true[1.0,2.0]", "array numbers per event");
	reports("a.b", "{\"a\":5,\"a\":\"s\",\"a\":[1]}", "",
	    "scalars at an interior node");
	reports("a", "{\"b\":{\"a\":1},\"c\":[{\"a\":2}]}", "",
	    "same name deeper is another path");
	reports("a,b,c,d", "{\"a\":null,\"b\":true,\"c\":false,\"d\":-1.5e3}",
	    "0:n:null 1:t:true 2:f:false 3:#:-1.5e3", "scalar types");
	reports("a", "{\"a\" : [ 1 , [ 2 ] ] }", "0:#:1[0.0] 0:#:2[0.1,1.0]",
	    "whitespace");
	reports("a", "{\"a\":1,\"b\":\"\x80\"}", "invalid JSON: invalid UTF-8",
	    "errors after reports");
	reports("", "{\"\":1}", "0:#:1", "empty name");
	reports("k0,k1,k2,k3,k4,k5,k6,k7,k8,k9,k10,k11,k12,k13,k14,k15,k16",
	    "{\"k7\":7,\"x\":0,\"k16\":16,\"k17\":17,\"k0\":0}",
	    "7:#:7 16:#:16 0:#:0", "many children");
}

static void
test_long_escaped_key(void)
{
	struct ev_pathset *ps = ev_pathset_new();
	char path[700], line[1600];
	struct rec r;
	size_t i, n = 0;

	for (i = 0; i < 600; i++)
		path[i] = (char)('a' + i % 26);
	ev_pathset_add(ps, path, 600);
	n += (size_t)sprintf(line, "{\"\\u0061");
	memcpy(line + n, path + 1, 599);
	n += 599;
	n += (size_t)sprintf(line + n, "\":42}");
	memset(&r, 0, sizeof(r));
	ok(ev_scan(line, n, ps, rec_fn, &r, &err) == 0 &&
		strcmp(r.buf, "0:#:42") == 0,
	    "long escaped key");
	ev_pathset_free(ps);
}

static void
test_stop(void)
{
	struct ev_pathset *ps = paths("a");
	const char *line = "{\"a\":1,\"a\":[2,3],\"b\":\"\xc3\"}";
	const char *good = "{\"a\":1,\"a\":[2,3],\"b\":[[[]]]}";
	struct rec r;

	memset(&r, 0, sizeof(r));
	r.stop_after = 2;
	ok(ev_scan(good, strlen(good), ps, rec_fn, &r, &err) == 0 &&
		strcmp(r.buf, "0:#:1 0:#:2[0.0]") == 0,
	    "nonzero from fn stops reporting");
	memset(&r, 0, sizeof(r));
	r.stop_after = 1;
	ok(ev_scan(line, strlen(line), ps, rec_fn, &r, &err) == -1 &&
		strcmp(err.msg, "invalid JSON: invalid UTF-8") == 0 &&
		err.col == 23 && r.n == 1,
	    "the line is validated after a stop");
	ok(ev_scan(good, strlen(good), ps, NULL, NULL, &err) == 0,
	    "no callback: validate only");
	ev_pathset_free(ps);
	ps = ev_pathset_new();
	ok(ev_scan(good, strlen(good), ps, rec_fn, &r, &err) == 0,
	    "empty path set");
	ev_pathset_free(ps);
}

static void
test_unescape(void)
{
	static const char in[] = "a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u0041"
				 "\\u00e9\\u20ac\\uD83D\\uDE00\\u0000z";
	static const char want[] = "a\"b\\c/d\b\f\n\r\tA\xc3\xa9\xe2\x82\xac"
				   "\xf0\x9f\x98\x80\0z";
	struct ev_jval v;
	char buf[sizeof(in)];
	size_t n;

	v.type = EV_J_STRING;
	v.p = in;
	v.len = sizeof(in) - 1;
	v.esc = 1;
	n = ev_json_unescape(&v, buf);
	ok(n == sizeof(want) - 1 && memcmp(buf, want, n) == 0,
	    "unescape every escape");
	v.p = "plain";
	v.len = 5;
	v.esc = 0;
	n = ev_json_unescape(&v, buf);
	ok(n == 5 && memcmp(buf, "plain", 5) == 0, "unescape plain");
}

static void
num(const char *tok, int want, double wantd)
{
	double d = -12345;
	int r = ev_json_number(tok, strlen(tok), &d);

	ok(r == want && (d == wantd || (isinf(wantd) && isinf(d))),
	    "number %s -> %d", tok, want);
	if (r != want || d != wantd)
		printf("#   got %d %.17g\n", r, d);
}

static void
test_number_roundtrip(void)
{
	double d;

	num("300", 1, 300);
	num("3e2", 1, 300);
	num("300.0", 1, 300);
	num("3.00e+2", 1, 300);
	num("30000e-2", 1, 300);
	num("0.1", 1, 0.1);
	num("-0.1", 1, -0.1);
	num("0", 1, 0);
	num("-0", 1, 0);
	num("-0.0e5", 1, 0);
	num("0e400", 1, 0);
	num("0.000001", 1, 1e-6);
	num("123456789012345678901", 0, 123456789012345678901.0);
	num("1e308", 1, 1e308);
	num("1.7976931348623157e308", 1, 1.7976931348623157e308);
	num("1.7976931348623159e308", 0, INFINITY);
	num("1e400", 0, INFINITY);
	num("-1e400", 0, -INFINITY);
	num("9007199254740993", 0, 9007199254740992.0);
	num("9007199254740992", 1, 9007199254740992.0);
	num("9007199254740992.000", 1, 9007199254740992.0);
	num("0.10000000000000001", 0, 0.1);
	num("0.30000000000000004", 1, 0.30000000000000004);
	num("123456789012345", 1, 123456789012345.0);
	num("1234567890123456", 1, 1234567890123456.0);
	num("12345678901234567", 0, 12345678901234568.0);
	num("5e-324", 1, 5e-324);
	num("4.9406564584124654e-324", 0, 5e-324);
	num("1e-400", 0, 0);
	num("2.2250738585072014e-308", 1, 2.2250738585072014e-308);
	num("1e-310", 1, 1e-310);
	num("1e22", 1, 1e22);
	num("1e23", 1, 1e23);
	num("100000000000000000000000", 1, 1e23);
	d = 0;
	ok(ev_json_number("-0", 2, &d) == 1 && !signbit(d), "-0 reads as +0");
}

static void
test_number_long(void)
{
	char tok[2100];
	double d;

	/* 2000 digits: 1 then 999 zeros, then 1000 more zeros ending in 1. */
	memset(tok, '0', 2000);
	tok[0] = '0';
	tok[1] = '.';
	tok[2] = '5';
	tok[1999] = '1';
	ok(ev_json_number(tok, 2000, &d) == 0 && d == 0.5,
	    "2000-digit number rounds right and does not survive");
	memset(tok, '0', 2000);
	tok[0] = '1';
	ok(ev_json_number(tok, 2000, &d) == 0 && isinf(d),
	    "2000-digit integer is inf");
	memcpy(tok, "0.", 2);
	memset(tok + 2, '0', 1500);
	memcpy(tok + 1502, "1e1500", 6);
	ok(ev_json_number(tok, 1508, &d) == 1 && d == 0.1,
	    "leading zeros and a big exponent");
}

static void
test_jdoc(void)
{
	static const char text[] =
	    "{\n  \"a\": [1, \"x\\u00e9\", true],\n"
	    "  \"b\\u0000c\": {},\n  \"a\": -1.5e3,\n  \"n\": null\n}\n";
	struct ev_jdoc doc;
	unsigned long line, col;
	int a, i, k;

	if (ev_jdoc_parse(&doc, S(text), &err) != 0) {
		ok(0, "jdoc parses");
		printf("#   %lu:%lu: %s\n", err.line, err.col, err.msg);
		return;
	}
	ok(1, "jdoc parses");
	is_int(doc.n[0].type, EV_J_OBJECT, "root is an object");
	is_int(doc.n[0].nchild, 4, "four members, duplicates kept");
	is_int(doc.n[0].off, 0, "root offset");
	is_int(doc.n[0].len, sizeof(text) - 2, "root raw length");
	a = doc.n[0].first;
	is_str(doc.n[a].key, "a", "first key");
	is_int(doc.n[a].type, EV_J_ARRAY, "first value is an array");
	is_int(doc.n[a].nchild, 3, "array of three");
	is_int(doc.n[a].koff, 4, "key offset");
	is_int(doc.n[a].off, 9, "value offset");
	ev_jdoc_locate(&doc, doc.n[a].off, &line, &col);
	ok(line == 2 && col == 8, "locate value: line 2 col 8");
	i = doc.n[a].first;
	is_int(doc.n[i].type, EV_J_NUMBER, "number");
	is_str(doc.n[i].str, "1", "number text");
	i = doc.n[i].next;
	is_str(doc.n[i].str, "x\xc3\xa9", "decoded string");
	is_int(doc.n[i].len, 3, "decoded length");
	i = doc.n[i].next;
	is_int(doc.n[i].type, EV_J_TRUE, "true");
	is_int(doc.n[i].next, -1, "end of array");
	k = doc.n[a].next;
	ok(doc.n[k].keylen == 3 && memcmp(doc.n[k].key, "b\0c", 4) == 0,
	    "key with NUL");
	is_int(doc.n[k].type, EV_J_OBJECT, "empty object");
	is_int(doc.n[k].first, -1, "no children");
	i = ev_jdoc_member(&doc, 0, "a");
	is_int(doc.n[i].type, EV_J_NUMBER, "last duplicate wins");
	is_str(doc.n[i].str, "-1.5e3", "raw number token");
	ok(ev_jdoc_member(&doc, 0, "zz") == -1, "no member");
	ok(ev_jdoc_member(&doc, a, "a") == -1, "member of an array");
	i = ev_jdoc_member(&doc, 0, "n");
	is_int(doc.n[i].type, EV_J_NULL, "null member");
	ev_jdoc_locate(&doc, sizeof(text) - 1, &line, &col);
	ok(line == 7 && col == 1, "locate end of text");
	ev_jdoc_free(&doc);

	ok(ev_jdoc_parse(&doc, S(" 42 "), &err) == 0 && doc.count == 1 &&
		doc.n[0].type == EV_J_NUMBER &&
		strcmp(doc.n[0].str, "42") == 0 && doc.n[0].off == 1,
	    "scalar document");
	ev_jdoc_free(&doc);
	ok(ev_jdoc_parse(&doc, S("\"\""), &err) == 0 &&
		doc.n[0].type == EV_J_STRING && doc.n[0].len == 0 &&
		doc.n[0].str[0] == '\0',
	    "empty string document");
	ev_jdoc_free(&doc);
	ok(ev_jdoc_parse(&doc, S("7"), &err) == 0 &&
		strcmp(doc.n[0].str, "7") == 0,
	    "number fills the arena");
	ev_jdoc_free(&doc);
}

static void
jdoc_bad(const char *s, size_t len, const char *msg, unsigned long line,
    unsigned long col, const char *name)
{
	struct ev_jdoc doc;
	int r;

	ev_err_clear(&err);
	r = ev_jdoc_parse(&doc, s, len, &err);
	ok(r == -1 && strcmp(err.msg, msg) == 0 && err.line == line &&
		err.col == col && doc.n == NULL,
	    "jdoc rejects: %s", name);
	if (r != -1 || strcmp(err.msg, msg) != 0 || err.line != line ||
	    err.col != col)
		printf("#   got %d %lu:%lu: '%s'\n", r, err.line, err.col,
		    err.msg);
}

static void
test_jdoc_errors(void)
{
	jdoc_bad(S("{\n  \"a\": tru\n}"), "invalid JSON: invalid literal", 2,
	    11, "literal on line 2");
	jdoc_bad(S("{\n  \"a\": 1,\n}"), "invalid JSON: expected member name",
	    3, 1, "trailing comma");
	jdoc_bad(S("[1,\n2"), "invalid JSON: unexpected end of input", 2, 2,
	    "end of input");
	jdoc_bad(S("\"abc"), "invalid JSON: unterminated string", 1, 5,
	    "unterminated string");
	jdoc_bad(S("\n\n  \"\xc3\x28\""), "invalid JSON: invalid UTF-8", 3, 4,
	    "invalid UTF-8 on line 3");
	jdoc_bad(S("[1]\n]"), "invalid JSON: trailing characters", 2, 1,
	    "trailing characters");
	jdoc_bad(
	    S(""), "invalid JSON: unexpected end of input", 1, 1, "empty text");
	jdoc_bad(
	    S("[01]"), "invalid JSON: invalid number", 1, 3, "leading zero");
	jdoc_bad(S("{\"a\" 1}"), "invalid JSON: expected ':'", 1, 6,
	    "missing colon");
	jdoc_bad(S("{\"a\":1 2}"), "invalid JSON: expected ',' or '}'", 1, 8,
	    "missing comma in object");
	jdoc_bad(S("[1 2]"), "invalid JSON: expected ',' or ']'", 1, 4,
	    "missing comma in array");
	jdoc_bad(S("[\"\\uDC00\"]"), "invalid JSON: lone surrogate", 1, 3,
	    "lone surrogate");
	jdoc_bad(S("[\"\\q\"]"), "invalid JSON: invalid escape", 1, 3,
	    "invalid escape");
	jdoc_bad(S("[\"\t\"]"), "invalid JSON: control character in string", 1,
	    3, "control character");
}

/*
 * The fast path of ev_json_number (Clinger's) against strtod on random
 * decimals of up to 15 digits with small exponents, where both must give
 * the same correctly rounded double.
 */
static void
test_number_fast_path(void)
{
	char tok[64];
	int i, bad = 0;
	double d;
	unsigned long long seed = 12345;

	for (i = 0; i < 200000; i++) {
		unsigned long long r;
		int digits, point, ex;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		r = seed >> 11;
		digits = 1 + (int)(r % 15);
		point = (int)((r >> 8) % (unsigned)(digits + 1));
		ex = (int)((r >> 16) % 41) - 20;
		snprintf(tok, sizeof(tok), "%s%.*llu", (r >> 30) & 1 ? "-" : "",
		    digits, (r >> 20) % 1000000000000000ULL);
		if (point > 0 && point < (int)strlen(tok) &&
		    tok[point] != '-' && tok[point - 1] != '-') {
			memmove(tok + point + 1, tok + point,
			    strlen(tok + point) + 1);
			tok[point] = '.';
		}
		snprintf(tok + strlen(tok), sizeof(tok) - strlen(tok), "e%d",
		    ex);
		if (tok[0] == '0' && tok[1] >= '0' && tok[1] <= '9')
			continue;	/* not RFC 8259 */
		if (tok[0] == '-' && tok[1] == '0' && tok[2] >= '0' &&
		    tok[2] <= '9')
			continue;
		ev_json_number(tok, strlen(tok), &d);
		if (d != strtod(tok, NULL) && !(d == 0 && strtod(tok,
		    NULL) == 0)) {
			if (bad++ < 5)
				printf("# %s: %.17g != %.17g\n", tok, d,
				    strtod(tok, NULL));
		}
	}
	is_int(bad, 0, "number values equal strtod's on 200000 decimals");
}

/* ----------------------------------------------- number fast-path bounds */

struct firstnum {
	const char *p;
	size_t len;
	int type, n;
};

static int
firstnum_fn(void *ctx, int id, const struct ev_jval *v,
    const struct ev_arrpos *memb, int depth)
{
	struct firstnum *f = ctx;

	if (f->n++ == 0) {
		f->p = v->p;
		f->len = v->len;
		f->type = v->type;
	}
	return 0;
}

/*
 * Bug: the scanner's 32-byte digit-mask path shifted a 32-bit mask by 32
 * for an integer part of exactly 31 digits followed by a fraction (UBSan:
 * "shift exponent 32 is too large"), and then misplaced the token's end.
 * Integer parts of 1..40 digits, with and without fraction and exponent,
 * negative too, each followed by enough bytes for the fast path: the
 * scanner must report exactly the token, and ev_json_number() must agree
 * with strtod().
 */
static void
test_number_digits(void)
{
	static const char *const tails[] = { "", ".5", ".0625", "e3", "E-7",
		".25e+2", ".123456789012345678901234567890123" };
	struct ev_pathset *ps = ev_pathset_new();
	struct firstnum f;
	char tok[128], line[384];
	int nd, t, neg, i, bad = 0, badval = 0;
	double d;

	ev_pathset_add(ps, S("a"));
	for (nd = 1; nd <= 40; nd++)
		for (t = 0; t < (int)(sizeof(tails) / sizeof(tails[0])); t++)
			for (neg = 0; neg < 2; neg++) {
				char *o = tok;

				if (neg)
					*o++ = '-';
				for (i = 0; i < nd; i++)
					*o++ = (char)('1' + (i * 7 + nd) % 9);
				strcpy(o, tails[t]);
				snprintf(line, sizeof(line),
				    "{\"a\":%s,\"pad\":\"0123456789abcdef"
				    "0123456789abcdef0123456789\"}",
				    tok);
				memset(&f, 0, sizeof(f));
				ev_err_clear(&err);
				if (ev_scan(line, strlen(line), ps, firstnum_fn,
					&f, &err) != 0 ||
				    f.n != 1 || f.type != EV_J_NUMBER ||
				    f.len != strlen(tok) ||
				    memcmp(f.p, tok, f.len) != 0) {
					if (bad++ < 5)
						printf("# scan %s: %s\n", line,
						    err.msg);
				}
				snprintf(line, sizeof(line),
				    "{\"x\":[%s,%s],\"pad\":\"0123456789abcdef"
				    "0123456789abcdef0123456789\"}",
				    tok, tok);
				if (scan(line, strlen(line)) != 0 && bad++ < 5)
					printf("# skip %s: %s\n", line,
					    err.msg);
				ev_json_number(tok, strlen(tok), &d);
				if (d != strtod(tok, NULL) && badval++ < 5)
					printf("# %s: %.17g != %.17g\n", tok, d,
					    strtod(tok, NULL));
			}
	is_int(bad, 0, "numbers of 1..40 integer digits scan as one token");
	is_int(badval, 0, "numbers of 1..40 integer digits equal strtod's");
	ev_pathset_free(ps);
}

/* ------------------------------------------------- numbers and locales */

static char locdir[64];

/*
 * An LC_NUMERIC locale named name (e.g. "de_DE.UTF-8"), made with
 * localedef(1) into a scratch LOCPATH when the system has none installed;
 * (locale_t)0 when neither works.
 */
static locale_t
numeric_locale(const char *name, const char *src)
{
	char cmd[1024], path[256];
	locale_t l;

	if ((l = newlocale(LC_NUMERIC_MASK, name, (locale_t)0)) != (locale_t)0)
		return l;
	if (locdir[0] == '\0') {
		strcpy(locdir, "/tmp/evkit-locale.XXXXXX");
		if (mkdtemp(locdir) == NULL) {
			locdir[0] = '\0';
			return (locale_t)0;
		}
	}
	/* A directory per locale: glibc remembers misses per LOCPATH. */
	snprintf(path, sizeof(path), "%s/%s", locdir, src);
	snprintf(cmd, sizeof(cmd),
	    "mkdir %s && localedef -i %s -f UTF-8 %s/%s >/dev/null 2>&1", path,
	    src, path, name);
	if (system(cmd) == -1)
		return (locale_t)0;
	setenv("LOCPATH", path, 1);
	l = newlocale(LC_NUMERIC_MASK, name, (locale_t)0);
	unsetenv("LOCPATH");
	return l;
}

/*
 * ev_json_number() reads the same under any LC_NUMERIC: ',' (de_DE) and a
 * two-byte decimal point (ps_AF's U+066B), which broke the round-trip
 * check that compared printf's digits at fixed offsets.
 */
static void
test_number_locale(void)
{
	static const char *const toks[] = { "0.1", "300", "3e2", "1e308",
		"1e400", "5e-324", "1e-310", "1234567890123456",
		"12345678901234567", "0.1234567890123456",
		"1.7976931348623157e308", "2.2250738585072014e-308",
		"123456789012345678901", "9007199254740993", "0.30000000000000004",
		"-2.5e-3", "1.5", "4.35" };
	static const struct {
		const char *name, *src, *point;
	} locs[] = { { "de_DE.UTF-8", "de_DE", "," },
		{ "ps_AF.UTF-8", "ps_AF", "\xd9\xab" } };
	int want[sizeof(toks) / sizeof(toks[0])], got, i, k, same, csame;
	double wd[sizeof(toks) / sizeof(toks[0])], d;
	struct ev_buf wc = { 0 }, gc = { 0 };
	locale_t l, old;
	char cmd[96];

	for (i = 0; i < (int)(sizeof(toks) / sizeof(toks[0])); i++) {
		want[i] = ev_json_number(toks[i], strlen(toks[i]), &wd[i]);
		ev_json_canon(toks[i], strlen(toks[i]), &wc, &err);
		ev_buf_add(&wc, " ", 1);
	}
	for (k = 0; k < 2; k++) {
		if ((l = numeric_locale(locs[k].name, locs[k].src)) ==
		    (locale_t)0) {
			ok(1, "# SKIP locale %s cannot be made", locs[k].name);
			continue;
		}
		old = uselocale(l);
		is_str(localeconv()->decimal_point, locs[k].point,
		    "%s: the decimal point is the locale's", locs[k].name);
		same = 1;
		gc.len = 0;
		for (i = 0; i < (int)(sizeof(toks) / sizeof(toks[0])); i++) {
			ev_json_canon(toks[i], strlen(toks[i]), &gc, &err);
			ev_buf_add(&gc, " ", 1);
			got = ev_json_number(toks[i], strlen(toks[i]), &d);
			if (got != want[i] || d != wd[i]) {
				printf("# %s: %s: %d %.17g, in C %d %.17g\n",
				    locs[k].name, toks[i], got, d, want[i],
				    wd[i]);
				same = 0;
			}
		}
		ok(same, "%s: numbers read as in the C locale", locs[k].name);
		csame = gc.len == wc.len && memcmp(gc.p, wc.p, wc.len) == 0;
		ok(csame, "%s: canonical numbers as in the C locale",
		    locs[k].name);
		if (!csame)
			printf("#   %.*s\n#   in C: %.*s\n", (int)gc.len, gc.p,
			    (int)wc.len, wc.p);
		uselocale(old);
		freelocale(l);
	}
	ev_buf_free(&wc);
	ev_buf_free(&gc);
	if (locdir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", locdir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", locdir);
	}
}

/*
 * A line scanned with the paths of list (the member walk of a named
 * object, plain and EV_SCAN_WHOLE) must fail with msg at col.
 */
static void
ps_bad(const char *list, const char *s, size_t len, const char *msg,
    unsigned long col, const char *name)
{
	struct ev_pathset *ps = paths(list);
	struct rec r;
	int rc, fl;

	for (fl = 0; fl <= EV_SCAN_WHOLE; fl += EV_SCAN_WHOLE) {
		memset(&r, 0, sizeof(r));
		ev_err_clear(&err);
		rc = ev_scan_ex(s, len, ps, fl, rec_fn, &r, &err);
		ok(rc == -1 && strcmp(err.msg, msg) == 0 && err.col == col,
		    "rejected with paths %s%s: %s", list,
		    fl ? " (whole)" : "", name);
		if (rc != -1 || strcmp(err.msg, msg) != 0 || err.col != col)
			printf("#   got %d %lu: '%s'\n#   expected %lu: '%s'\n",
			    rc, err.col, err.msg, col, msg);
	}
	ev_pathset_free(ps);
}

/*
 * The member walk of a named object takes ':' and ',' without whitespace
 * around them in one step; whitespace, a missing or doubled separator, and
 * a line that ends right after one go the careful way, with the same
 * reports and errors.
 */
static void
test_member_separators(void)
{
	reports("a.x,b", "{\"a\":{\"x\":1},\"b\":2}", "0:#:1 1:#:2",
	    "members without whitespace");
	reports("a.x,b", "{\"a\" :{\"x\": 1} ,\"b\"\t:\t2 , \"c\":3}",
	    "0:#:1 1:#:2", "whitespace around each separator");
	reports("a.x,b", "{\"c\":\"\",\"b\":\"\",\"a\":{\"y\":[],\"x\":{}}}",
	    "1:s: 0:O:{}", "empty strings before the separators");
	ps_bad("a,b", S("{\"a\":1,\""), "invalid JSON: unterminated string",
	    9, "ends after ,\"");
	ps_bad("a,b", S("{\"a\":1,"), "invalid JSON: unexpected end of input",
	    8, "ends after ,");
	ps_bad("a,b", S("{\"a\":"), "invalid JSON: unexpected end of input",
	    6, "ends after :");
	ps_bad("a,b", S("{\"a\":\""), "invalid JSON: unterminated string", 7,
	    "ends after :\"");
	ps_bad("a,b", S("{\"c\":\""), "invalid JSON: unterminated string", 7,
	    "ends after :\" of an unnamed member");
	ps_bad("a,b", S("{\"a\":1,\"b\""),
	    "invalid JSON: unexpected end of input", 11, "ends after a key");
	ps_bad("a,b", S("{\"a\":1,\"b\":}"), "invalid JSON: expected value", 12,
	    "no value after :");
	ps_bad("a,b", S("{\"a\":1,,\"b\":2}"),
	    "invalid JSON: expected member name", 8, "doubled ,");
	ps_bad("a,b", S("{\"a\":1,}"), "invalid JSON: expected member name", 8,
	    "trailing ,");
	ps_bad("a,b", S("{\"b\"::1}"), "invalid JSON: expected value", 6,
	    "doubled :");
	ps_bad("a,b", S("{\"b\",\"a\":1}"), "invalid JSON: expected ':'", 5,
	    ", for :");
	ps_bad("a,b", S("{\"b\":1:\"a\":1}"),
	    "invalid JSON: expected ',' or '}'", 7, ": for ,");
	ps_bad("a,b", S("{\"b\":1,\v\"a\":1}"),
	    "invalid JSON: expected member name", 8, "vertical tab after ,");
	ps_bad("a,b", S("{\"b\":\v1}"), "invalid JSON: expected value", 6,
	    "vertical tab after :");
}

int
main(void)
{
	test_number_fast_path();
	test_valid();
	test_errors();
	test_strings();
	test_utf8();
	test_numbers_grammar();
	test_depth();
	test_paths();
	test_member_separators();
	test_long_escaped_key();
	test_stop();
	test_unescape();
	test_number_roundtrip();
	test_number_long();
	test_jdoc();
	test_jdoc_errors();
	test_number_digits();
	test_number_locale();
	return tap_done();
}
