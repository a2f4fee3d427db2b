/*
 * Unit tests for the pattern compiler (pattern.c) and the matcher
 * (match.c): compile errors with their locations, the list of matched
 * rules, and verdicts that do not depend on the other rules loaded.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evkit.h"
#include "rules/pattern_int.h"
#include "tap.h"

/* Compile pattern p alone; return the error message or "" */
static const char *
compile_error(const char *p, unsigned long *line, unsigned long *col)
{
	static struct ev_err err;
	struct ev_rules *rs = ev_rules_new();

	ev_err_clear(&err);
	if (ev_rules_add(rs, "r", p, strlen(p), &err) == 0)
		err.msg[0] = '\0';
	if (line)
		*line = err.line;
	if (col)
		*col = err.col;
	ev_rules_free(rs);
	return err.msg;
}

/* Match event e against the single pattern p: 1, 0, or -1. */
static int
match1(const char *p, const char *e)
{
	struct ev_rules *rs = ev_rules_new();
	struct ev_matcher *m;
	struct ev_err err;
	int r;

	ev_err_clear(&err);
	if (ev_rules_add(rs, "r", p, strlen(p), &err) < 0 ||
	    ev_rules_finish(rs, &err) < 0) {
		printf("# compile: %s\n", err.msg);
		ev_rules_free(rs);
		return -2;
	}
	m = ev_matcher_new(rs);
	r = ev_match(m, e, strlen(e), EV_MATCH_ALL, &err);
	ev_matcher_free(m);
	ev_rules_free(rs);
	return r;
}

static void
test_errors(void)
{
	unsigned long line, col;

	is_str(compile_error("[1]", NULL, NULL),
	    "invalid pattern: Filter is not an object", "top level array");
	is_str(compile_error("{}", NULL, NULL),
	    "invalid pattern: Empty objects are not allowed", "empty pattern");
	is_str(compile_error("{\"a\":{\"b\":[]}}", &line, &col),
	    "invalid pattern at 'a.b': Empty arrays are not allowed",
	    "empty value list names its path");
	is_int(col, 11, "empty value list: column of the list");
	is_str(compile_error("{\n  \"a\": 1\n}", &line, &col),
	    "invalid pattern at 'a': \"a\" must be an object or an array",
	    "scalar field");
	is_int(line, 2, "scalar field: line");
	is_int(col, 8, "scalar field: column");
	is_str(compile_error("{\"a\":[{\"numeric\":[\">\",5,\"<\",1]}]}", NULL,
	    NULL), "invalid pattern at 'a': Bottom must be less than top",
	    "inverted range");
	is_str(compile_error("{\"a\":[{\"wildcard\":\"x**\"}]}", NULL, NULL),
	    "invalid pattern at 'a': Consecutive wildcard characters at pos 2",
	    "consecutive wildcards");
	is_str(compile_error("{\"a\":[{\"foo\":1}]}", NULL, NULL),
	    "invalid pattern at 'a': Unrecognized match type foo",
	    "unknown operator");
	is_str(compile_error("{\"$or\":[{\"a\":[1]}]}", NULL, NULL),
	    "invalid pattern: There must have at least 2 Objects in $or "
	    "relationship.", "lone $or branch");
	ok(strncmp(compile_error("{\"a\":[\"x\"]", NULL, NULL),
	    "invalid JSON: ", 14) == 0, "a pattern that is not JSON");
}

static void
test_or_expansion_limit(void)
{
	char p[4096];
	size_t n = 0;
	int i;

	/* 2^13 combinations: refused, not expanded without bound */
	n += (size_t)snprintf(p + n, sizeof(p) - n, "{");
	for (i = 0; i < 13; i++)
		n += (size_t)snprintf(p + n, sizeof(p) - n,
		    "%s\"x%d\":{\"$or\":[{\"a\":[1]},{\"b\":[2]}]}",
		    i ? "," : "", i);
	snprintf(p + n, sizeof(p) - n, "}");
	ok(strstr(compile_error(p, NULL, NULL), "pattern too complex") != NULL,
	    "$or expansion is bounded");
}

/* A string literal and its length. */
#define S(lit) lit, sizeof(lit) - 1

/* A growing string. */
struct sbuf {
	char *p;
	size_t n, cap;
};

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	for (;;) {
		va_start(ap, fmt);
		k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (k >= 0 && (size_t)k < b->cap - b->n)
			break;
		b->cap = b->cap ? 2 * b->cap + (size_t)k : 4096;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL)
			abort();
	}
	b->n += (size_t)k;
}

/*
 * Compile pattern p alone and match events e1 (must match) and e2 (must
 * not); returns 1 when both verdicts are right.
 */
static int
match_pair(const char *p, size_t np, const char *e1, size_t n1,
    const char *e2, size_t n2)
{
	struct ev_rules *rs = ev_rules_new();
	struct ev_matcher *m;
	struct ev_err err;
	int r1, r2;

	ev_err_clear(&err);
	if (ev_rules_add(rs, "r", p, np, &err) < 0 ||
	    ev_rules_finish(rs, &err) < 0) {
		printf("# compile: %s\n", err.msg);
		ev_rules_free(rs);
		return 0;
	}
	m = ev_matcher_new(rs);
	r1 = ev_match(m, e1, n1, EV_MATCH_ALL, &err);
	r2 = ev_match(m, e2, n2, EV_MATCH_ALL, &err);
	ev_matcher_free(m);
	ev_rules_free(rs);
	return r1 == 1 && r2 == 0;
}

/*
 * Compile time grows with the number of fields, not its square: a flat
 * pattern of 100,000 fields took minutes (every field was looked up in
 * the fields before it, and sorted by insertion), a deep one longer
 * still.  Both must compile and match; "f7" is written twice and the
 * last one wins.
 */
static void
test_large_patterns(void)
{
	struct sbuf p = { 0 }, e1 = { 0 }, e2 = { 0 };
	int i, g, h, ok1;

	sb_printf(&p, "{");
	sb_printf(&e1, "{");
	sb_printf(&e2, "{");
	for (i = 0; i < 100000; i++) {
		sb_printf(&p, "%s\"f%d\":[%d]", i ? "," : "", i,
		    i == 7 ? -1 : i);
		sb_printf(&e1, "%s\"f%d\":%d", i ? "," : "", i,
		    i == 7 ? 77 : i);
		sb_printf(&e2, "%s\"f%d\":%d", i ? "," : "", i,
		    i == 7 ? -1 : i);
	}
	sb_printf(&p, ",\"f7\":[77]}");
	sb_printf(&e1, "}");
	sb_printf(&e2, "}");
	ok(match_pair(p.p, p.n, e1.p, e1.n, e2.p, e2.n),
	    "a flat pattern of 100000 fields compiles and matches");

	/* 100 objects of 1000 fields each, under a chain of 40 objects */
	p.n = e1.n = e2.n = 0;
	for (i = 0; i < 40; i++) {
		sb_printf(&p, "{\"level%d\":", i);
		sb_printf(&e1, "{\"level%d\":", i);
		sb_printf(&e2, "{\"level%d\":", i);
	}
	sb_printf(&p, "{");
	sb_printf(&e1, "{");
	sb_printf(&e2, "{");
	for (g = 0; g < 100; g++) {
		sb_printf(&p, "%s\"g%d\":{", g ? "," : "", g);
		sb_printf(&e1, "%s\"g%d\":{", g ? "," : "", g);
		sb_printf(&e2, "%s\"g%d\":{", g ? "," : "", g);
		for (h = 0; h < 1000; h++) {
			sb_printf(&p, "%s\"h%d\":[\"v%d\"]", h ? "," : "", h,
			    g * 1000 + h);
			sb_printf(&e1, "%s\"h%d\":\"v%d\"", h ? "," : "", h,
			    g * 1000 + h);
			sb_printf(&e2, "%s\"h%d\":\"v%d\"", h ? "," : "", h,
			    g == 99 && h == 999 ? 0 : g * 1000 + h);
		}
		sb_printf(&p, "}");
		sb_printf(&e1, "}");
		sb_printf(&e2, "}");
	}
	for (i = 0; i <= 40; i++) {
		sb_printf(&p, "}");
		sb_printf(&e1, "}");
		sb_printf(&e2, "}");
	}
	ok1 = match_pair(p.p, p.n, e1.p, e1.n, e2.p, e2.n);
	ok(ok1, "a deep pattern of 100000 fields compiles and matches");

	/* a path written 100000 times before an $or: the last one wins in
	 * every branch, and the branches do not copy the others */
	p.n = 0;
	sb_printf(&p, "{");
	for (i = 0; i < 100000; i++)
		sb_printf(&p, "\"a\":[%d],", i);
	sb_printf(&p, "\"$or\":[");
	for (i = 0; i < 4000; i++)
		sb_printf(&p, "%s{\"b\":[%d]}", i ? "," : "", i);
	sb_printf(&p, ",{\"a\":[-1]}]}");
	ok(match_pair(p.p, p.n, S("{\"a\":99999,\"b\":3999}"),
	    S("{\"a\":99998,\"b\":3999}")) &&
	    match_pair(p.p, p.n, S("{\"a\":-1}"), S("{\"a\":99999}")),
	    "a path written over before an $or: the last write wins");
	free(p.p);
	free(e1.p);
	free(e2.p);
}

/*
 * A sub-rule's fields are in the order of their paths as Java orders
 * strings, by UTF-16 code units: U+E000 comes after U+1F600 (a surrogate
 * pair, 0xd83d 0xde00), though its UTF-8 bytes come first.  Path ids are
 * handed out in that order.
 */
static void
test_field_order(void)
{
	static const char p[] = "{\"\\ue000\":[1],\"\\ud83d\\ude00\":[1],"
	    "\"b\":{\"x\":[1]},\"\\u00e9\":[1],\"a\":[1],\"b.\":[1]}";
	static const char *const want[] = { "a", "b.", "b.x", "\xc3\xa9",
		"\xf0\x9f\x98\x80", "\xee\x80\x80" };
	struct ev_rules *rs = ev_rules_new();
	struct ev_err err;
	size_t i;
	int bad = 0;

	ev_err_clear(&err);
	if (ev_rules_add(rs, "r", p, strlen(p), &err) < 0) {
		printf("# %s\n", err.msg);
		bad = 1;
	}
	is_int(rs->nfields, 6, "fields in one sub-rule");
	for (i = 0; i < 6 && !bad; i++)
		if (ev_pathset_add(rs->ps, want[i], strlen(want[i])) !=
		    rs->fields[i].path_id || rs->fields[i].path_id != (int)i)
			bad = 1;
	ok(!bad, "fields sorted by UTF-16 code units");
	ev_rules_free(rs);
}

/*
 * A rule that fails to compile gives back the arena memory it took; the
 * rules before and after it keep theirs.  The failing rule is big enough
 * to take a block of its own.
 */
static void
test_failed_rule_between(void)
{
	struct ev_rules *rs = ev_rules_new();
	struct ev_matcher *m;
	struct ev_err err;
	struct sbuf bad = { 0 };
	const size_t *hits;
	size_t nh = 0;
	int i, r;
	static const char r1[] = "{\"a\":[\"one\"],\"b\":[{\"prefix\":\"x\"}]}";
	static const char r3[] = "{\"a\":[\"three\"],\"c\":[\"10.0.0.1\"]}";
	static const char ev[] =
	    "{\"a\":\"one\",\"b\":\"xy\",\"c\":\"10.0.0.1\"}";
	static const char ev3[] = "{\"a\":\"three\",\"c\":\"10.0.0.1\"}";

	sb_printf(&bad, "{");
	for (i = 0; i < 5000; i++)
		sb_printf(&bad, "\"k%d\":[\"a long string value %d\"],", i, i);
	sb_printf(&bad, "\"z\":[]}");
	ev_err_clear(&err);
	r = ev_rules_add(rs, "r1", r1, strlen(r1), &err);
	is_int(r, 0, "first rule compiles");
	r = ev_rules_add(rs, "r2", bad.p, bad.n, &err);
	is_str(r < 0 ? err.msg : "", "invalid pattern at 'z': Empty arrays "
	    "are not allowed", "the rule between fails");
	r = ev_rules_add(rs, "r3", r3, strlen(r3), &err);
	is_int(r, 0, "third rule compiles");
	is_int(ev_rules_finish(rs, &err), 0, "rule set finishes");
	is_int((int)ev_rules_count(rs), 2, "two rules");
	m = ev_matcher_new(rs);
	is_int(ev_match(m, ev, strlen(ev), EV_MATCH_ALL, &err), 1,
	    "the first rule matches");
	hits = ev_matched(m, &nh);
	is_str(nh == 1 ? ev_rules_name(rs, hits[0]) : "", "r1",
	    "by its name");
	is_int(ev_match(m, ev3, strlen(ev3), EV_MATCH_ALL, &err), 1,
	    "the third rule matches");
	hits = ev_matched(m, &nh);
	is_str(nh == 1 ? ev_rules_name(rs, hits[0]) : "", "r3",
	    "by its name");
	ev_matcher_free(m);
	ev_rules_free(rs);
	free(bad.p);
}

static void
test_values(void)
{
	is_int(match1("{\"a\":[0]}", "{\"a\":-0}"), 1, "-0 equals 0");
	is_int(match1("{\"a\":[300]}", "{\"a\":3e2}"), 1, "3e2 equals 300");
	is_int(match1("{\"a\":[300]}", "{\"a\":\"300\"}"), 0,
	    "a number never equals a string");
	is_int(match1("{\"a\":[\"x\"]}", "{\"a\":\"\\u0078\"}"), 1,
	    "escaped event strings are decoded");
	is_int(match1("{\"a\":[\"x\"]}", "{\"a\":\"x\""), -1,
	    "invalid JSON is an error even when nothing could match");
	is_int(match1("{\"a\":[{\"prefix\":\"\"}]}", "{\"a\":\"\"}"), 1,
	    "empty prefix matches the empty string");
	is_int(match1("{\"a\":[{\"exists\":false}],\"b\":[1]}", "{\"b\":1}"), 1,
	    "exists false beside a positive field");
	is_int(match1("{\"a\":[{\"exists\":false}]}", "{\"a\":{\"c\":1}}"), 1,
	    "an object is not a value: exists false holds");
	is_int(match1("{\"a\":[{\"exists\":true}]}", "{\"a\":[]}"), 0,
	    "an empty array is not a value");
	is_int(match1("{\"x\":{\"a\":[1],\"b\":[2]}}",
	    "{\"x\":[{\"a\":1,\"b\":3},{\"a\":3,\"b\":2}]}"), 0,
	    "array consistency across elements");
	is_int(match1("{\"x\":{\"a\":[1],\"b\":[2]}}",
	    "{\"x\":[{\"a\":1,\"b\":3},{\"a\":1,\"b\":2}]}"), 1,
	    "array consistency finds the consistent element");
	is_int(match1("{\"x\":{\"a\":[1],\"b\":[2],\"c\":[3]}}",
	    "{\"x\":[{\"a\":1,\"b\":2},{\"b\":2,\"c\":3},{\"a\":1,\"c\":3}]}"), 0,
	    "three fields met pairwise but never in one element");
	is_int(match1("{\"x\":{\"a\":[1],\"b\":[2],\"c\":[3]}}",
	    "{\"x\":[{\"a\":1,\"b\":2},{\"a\":1,\"b\":2,\"c\":3}]}"), 1,
	    "three fields in one element among others");
	is_int(match1("{\"x\":{\"a\":[1],\"b\":[2]},\"z\":[9]}",
	    "{\"z\":[9],\"x\":[{\"a\":1},{\"b\":2}]}"), 0,
	    "a field outside the array does not loosen the others");
	is_int(match1("{\"x\":{\"a\":[1],\"b\":[2]},\"y\":[5]}",
	    "{\"y\":5,\"x\":[{\"a\":[1,7],\"b\":[0,2]}]}"), 1,
	    "values in nested scalar arrays of one element are consistent");
}

/*
 * The regression event-ruler has: a rule's verdict changes with the rules
 * loaded beside it.  Load 600 generated rules plus the probe and check
 * the probe's verdict against the probe alone.
 */
static void
test_independence(void)
{
	static const char *const ops[] = {
		"\"%s\"", "{\"prefix\":\"%s\"}", "{\"suffix\":\"%s\"}",
		"{\"equals-ignore-case\":\"%s\"}", "{\"anything-but\":\"%s\"}",
		"{\"wildcard\":\"%s*\"}",
		"{\"prefix\":{\"equals-ignore-case\":\"%s\"}}",
	};
	static const char *const words[] = { "x", "beta", "b", "be", "eta",
		"alpha", "X", "BETA", "bet" };
	const char *probe = "{\"detail\":{\"a\":[{\"equals-ignore-case\":"
	    "\"x\"}]}}";
	const char *events[] = { "{\"detail\":{\"a\":\"beta\"}}",
		"{\"detail\":{\"a\":\"X\"}}", "{\"detail\":{\"a\":\"b\"}}" };
	struct ev_rules *rs = ev_rules_new();
	struct ev_matcher *m;
	struct ev_err err;
	char p[256], v[64];
	int i, e, bad = 0;

	srand(7);
	for (i = 0; i < 600; i++) {
		snprintf(v, sizeof(v), ops[rand() % 7], words[rand() % 9]);
		snprintf(p, sizeof(p), "{\"detail\":{\"a\":[%s]}}", v);
		ev_err_clear(&err);
		if (ev_rules_add(rs, NULL, p, strlen(p), &err) < 0)
			printf("# %s: %s\n", p, err.msg);
	}
	ev_rules_add(rs, "probe", probe, strlen(probe), &err);
	ev_rules_finish(rs, &err);
	m = ev_matcher_new(rs);
	for (e = 0; e < 3; e++) {
		const size_t *hits;
		size_t n, k;
		int all = 0;

		ev_match(m, events[e], strlen(events[e]), EV_MATCH_ALL, &err);
		hits = ev_matched(m, &n);
		for (k = 0; k < n; k++)
			if (strcmp(ev_rules_name(rs, hits[k]), "probe") == 0)
				all = 1;
		if (all != match1(probe, events[e]))
			bad++;
		for (k = 1; k < n; k++)
			if (hits[k - 1] >= hits[k])
				bad++;
	}
	is_int(bad, 0, "verdicts with 600 rules loaded equal verdicts alone");
	ev_matcher_free(m);
	ev_rules_free(rs);
}

/*
 * ev_hash_bytes() as first written, its last bytes copied into a zeroed
 * word: the word loads that replaced the copy must give the same hashes.
 */
static uint64_t
hash_ref(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0xff51afd7ed558ccdULL);
	uint64_t w;

	while (n >= 8) {
		memcpy(&w, s, 8);
		h ^= w * 0x87c37b91114253d5ULL;
		h = (h << 31 | h >> 33) * 0x4cf5ad432745937fULL;
		s += 8;
		n -= 8;
	}
	w = 0;
	memcpy(&w, s, n);
	h ^= w * 0x87c37b91114253d5ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static void
test_hash(void)
{
	unsigned char buf[64];
	size_t off, n, bad = 0;
	char *copy;

	for (n = 0; n < sizeof(buf); n++)
		buf[n] = (unsigned char)(n * 37 + 11);
	for (off = 0; off < 8; off++)
		for (n = 0; off + n <= 40; n++) {
			/* Just n bytes: ASan sees a read outside them. */
			if ((copy = malloc(n ? n : 1)) == NULL)
				abort();
			memcpy(copy, buf + off, n);
			if (ev_hash_bytes(copy, n) != hash_ref(buf + off, n))
				bad++;
			free(copy);
		}
	ok(bad == 0, "ev_hash_bytes: the hash of every length from 0 to 40 "
	    "bytes is the byte-copy one (%zu differ)", bad);
}

int
main(void)
{
	test_hash();
	test_errors();
	test_or_expansion_limit();
	test_large_patterns();
	test_field_order();
	test_failed_rule_between();
	test_values();
	test_independence();
	return tap_done();
}
