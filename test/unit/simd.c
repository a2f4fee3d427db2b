/*
 * simd.c - the scanner's vector paths (lib/json/simd.c) against its scalar
 * one, on lines aimed at the block logic: arrays of numbers that cross
 * 64-byte blocks at every offset, a byte of every kind put at every offset
 * of them (bad numbers and literals, whitespace, quotes, exponents,
 * brackets), nesting up to and past the limit, quotes, backslash runs and
 * UTF-8 (valid and not) across block boundaries, lines that end exactly at
 * a block boundary.  Each line goes through ev_scan() on every path the
 * CPU has: the answer, the error message and column, and the values
 * reported must be the scalar path's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json_int.h"
#include "tap.h"

static int npath;
static int paths[EV_SIMD_MAX];
static long ncases, nbad, ndiff;

/* What one scan gave: its answer, error and the values it reported. */
struct res {
	int rc;
	unsigned long col;
	char msg[512];
	char vals[4096];
	size_t vlen;
};

static int
on_val(void *ctx, int id, const struct ev_jval *v,
    const struct ev_arrpos *memb, int depth)
{
	struct res *r = ctx;
	int n;

	n = snprintf(r->vals + r->vlen, sizeof(r->vals) - r->vlen,
	    "%d:%d:%.*s|", id, (int)v->type, (int)v->len, v->p);
	if (n > 0 && (size_t)n < sizeof(r->vals) - r->vlen)
		r->vlen += (size_t)n;
	return 0;
}

static struct ev_pathset *ps;

static void
scan1(int path, const char *s, size_t n, struct res *r)
{
	struct ev_err err;
	char *copy;

	/* A copy of just n bytes: ASan sees any read past the line. */
	if ((copy = malloc(n ? n : 1)) == NULL)
		abort();
	memcpy(copy, s, n);
	ev_simd_set(path);
	memset(r, 0, sizeof(*r));
	ev_err_clear(&err);
	r->rc = ev_scan(copy, n, ps, on_val, r, &err);
	if (r->rc != 0) {
		r->col = err.col;
		snprintf(r->msg, sizeof(r->msg), "%s", err.msg);
	}
	free(copy);
}

/* Scan s[0..n) on every path; 0 when they all agree with the scalar one. */
static int
same(const char *s, size_t n)
{
	struct res a, b;
	int i;

	scan1(EV_SIMD_SCALAR, s, n, &a);
	ncases++;
	if (a.rc != 0)
		nbad++;
	for (i = 0; i < npath; i++) {
		scan1(paths[i], s, n, &b);
		if (a.rc != b.rc || a.col != b.col || strcmp(a.msg, b.msg) != 0 ||
		    a.vlen != b.vlen || memcmp(a.vals, b.vals, a.vlen) != 0) {
			if (ndiff++ < 5)
				printf("# %s differs on '%.*s': %d %lu '%s' vs "
				       "%d %lu '%s'\n",
				    ev_simd_name(paths[i]), (int)n, s, a.rc,
				    a.col, a.msg, b.rc, b.col, b.msg);
			return -1;
		}
	}
	return 0;
}

/* A line: prefix, an array under a name no path has, then suffix. */
static size_t
line(char *out, size_t pad, const char *arr, const char *suffix)
{
	size_t n;

	n = (size_t)sprintf(out, "{\"a\":1,\"%*s\":", (int)pad, "");
	memset(out + 8, 'k', pad);
	n += (size_t)sprintf(out + n, "%s%s", arr, suffix);
	return n;
}

/*
 * n coordinate triples, [[x,y,0.0],...] in one more array, after a first
 * element of phase + 3 bytes (so that what follows it crosses a block
 * boundary at a place that phase moves).
 */
static void
coords(char *out, int n, int phase)
{
	int i;

	strcpy(out, "[[");
	if (phase > 0)
		sprintf(out + 2, "[0.%0*d],", phase, 0);
	for (i = 0; i < n; i++)
		sprintf(out + strlen(out), "%s[-122.%06d,37.%d,0.0]",
		    i ? "," : "", 1000 * i + 7, 75000 + i);
	if (n == 0 && phase > 0)
		out[strlen(out) - 1] = '\0';
	strcat(out, "]]");
}

static char buf[1 << 16], arr[1 << 15], tmp[1 << 15];

static void
test_valid(void)
{
	int n, fail = 0;
	size_t pad, len;

	for (n = 0; n < 12; n++) {
		coords(arr, n * 3, n * 5);
		for (pad = 0; pad < 64; pad++) {
			len = line(buf, pad, arr, ",\"b\":{\"c\":[1,2]}}");
			fail |= same(buf, len);
		}
	}
	ok(!fail, "coordinate arrays starting at every offset of a block");
	/* The line ends exactly at a block boundary, or around it. */
	fail = 0;
	for (n = 1; n < 8; n++) {
		coords(arr, n * 5, n);
		for (pad = 0; pad < 130; pad++) {
			len = line(buf, pad, arr, "}");
			fail |= same(buf, len);
			fail |= same(buf, len - 1);
			fail |= same(buf, len - 2);
		}
	}
	ok(!fail, "lines ending at, before and after a block boundary, and "
		  "cut short");
}

/* Put each kind of byte (and deletions) at every offset of the array. */
static void
test_bytes(void)
{
	static const char kinds[] = "-.,[]0123456789eE+ \t\"{}:ntfx\\\x80\xff";
	size_t len, i, k, alen;
	int fail = 0, phase;

	for (phase = 0; phase < 64; phase++) {
		coords(arr, 4, phase);
		alen = strlen(arr);
		for (i = 0; i < alen; i++) {
			for (k = 0; k < sizeof(kinds) - 1; k++) {
				memcpy(tmp, arr, alen + 1);
				tmp[i] = kinds[k];
				len = line(buf, 1, tmp, ",\"b\":{\"c\":2}}");
				fail |= same(buf, len);
			}
			memcpy(tmp, arr, i);
			memcpy(tmp + i, arr + i + 1, alen - i);
			len = line(buf, 2, tmp, "}");
			fail |= same(buf, len);
		}
	}
	/*
	 * The pass starts in an array of arrays it was not asked about (a
	 * space after its '['): it may not close the array it started in.
	 */
	for (phase = 0; phase < 64; phase += 3) {
		coords(tmp, 2, phase);
		alen = (size_t)snprintf(arr, sizeof(arr), "[ %s,%s,[1,2]]", tmp, tmp);
		for (i = 0; i < alen; i++) {
			for (k = 0; k < 6; k++) {
				memcpy(tmp, arr, alen + 1);
				tmp[i] = kinds[k];
				len = line(buf, 3, tmp, "}");
				fail |= same(buf, len);
			}
		}
	}
	ok(!fail, "every kind of byte at every offset of a coordinate "
		  "array, and every byte deleted");
}

/* Bad and good tokens inserted at every offset, across block boundaries. */
static void
test_tokens(void)
{
	static const char *toks[] = { "01", "-", "1.", "1..2", "1.2.3", "--1",
		"-.5", "00", "1-2", "+1", "1e5", "1E+5", "-0.0", "0x1", ",]",
		"[,", ",,", "[]", "[[]]", "],[", "1[", "]1", "-01", "0.",
		".0", "-0", "10.05", "nul", "true", "1.0.", "9.99.9", "[-",
		"-]", "0-", "1.-2", "[1.5]", "1 ", " 1", "\"\\\\\"", "\"a\"",
		"]]],[[[", "]],[[", "]]]],[[[[", "]]]]]", "1]]],[[[2", "1]],[[2",
		"1],[2" };
	size_t len, i, k, alen, tl;
	int fail = 0, phase;

	for (k = 0; k < sizeof(toks) / sizeof(toks[0]); k++) {
		tl = strlen(toks[k]);
		for (phase = 0; phase < 66; phase++) {
			if (phase < 64) {
				coords(arr, 3, phase);
			} else {
				/* Long numbers: few brackets in a block. */
				sprintf(arr, "[[[1.%0200d1,2],[3.%0*d5]],[[-4]]]",
				    0, 70 + 3 * (phase - 64), 0);
			}
			alen = strlen(arr);
			for (i = 1; i < alen; i++) {
				memcpy(tmp, arr, i);
				memcpy(tmp + i, toks[k], tl);
				memcpy(tmp + i + tl, arr + i, alen - i + 1);
				len = line(buf, 0, tmp, "}");
				fail |= same(buf, len);
			}
		}
	}
	ok(!fail, "bad numbers and brackets at every offset of a skipped "
		  "array: the scalar diagnostic");
}

/* Arrays nested up to and past EV_JSON_MAX_DEPTH, under a few objects. */
static void
test_depth(void)
{
	size_t len, d, o, i, n;
	int fail = 0;

	for (o = 0; o < 4; o++) {
		for (d = EV_JSON_MAX_DEPTH - 70; d < EV_JSON_MAX_DEPTH + 3;
		     d++) {
			n = 0;
			n += (size_t)sprintf(tmp + n, "{\"a\":1,\"z\":");
			for (i = 0; i < o; i++)
				n += (size_t)sprintf(tmp + n, "{\"o\":");
			for (i = 0; i < d; i++)
				tmp[n++] = '[';
			n += (size_t)sprintf(tmp + n, "1,2.5,-3");
			for (i = 0; i < d; i++)
				tmp[n++] = ']';
			for (i = 0; i < o; i++)
				tmp[n++] = '}';
			tmp[n++] = '}';
			len = n;
			fail |= same(tmp, len);
			/* One ']' short: unexpected end, or a '}' for ']'. */
			memmove(tmp + len - o - 2, tmp + len - o - 1, o + 1);
			fail |= same(tmp, len - 1);
		}
	}
	/* Deep arrays with commas between them: [[[1,[[2,... */
	n = (size_t)sprintf(tmp, "{\"z\":");
	for (i = 0; i < 600; i++)
		n += (size_t)sprintf(tmp + n, i % 3 ? "[" : "[%zu,", i);
	tmp[n++] = '7';
	for (i = 0; i < 600; i++)
		tmp[n++] = ']';
	tmp[n++] = '}';
	fail |= same(tmp, n);
	ok(!fail, "nesting up to and past the limit in a skipped subtree: "
		  "the same 'nesting too deep' or answer");
}

/* Strings in and around arrays: quotes, backslashes, UTF-8 at block ends. */
static void
test_strings(void)
{
	static const char *pieces[] = { "\\\\", "\\\"", "\\\\\\\"", "\xc3\xa9",
		"\xe2\x82\xac", "\xf0\x9f\x98\x80", "\\u00e9", "\\uD83D\\uDE00",
		"ab" };
	static const char bad[] = "\x80\xbf\xc0\xc1\xe0\xed\xf4\xf5\xff\x01\x1f";
	size_t pad, len, i, k, n;
	int fail = 0;

	for (k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
		for (pad = 0; pad < 70; pad++) {
			n = (size_t)sprintf(tmp, "[1,2,\"%*s", (int)pad, "");
			memset(tmp + 6, 'x', pad);
			for (i = 0; i < 6; i++)
				n += (size_t)sprintf(tmp + n, "%s", pieces[k]);
			n += (size_t)sprintf(tmp + n, "\",3.5,[4,5]]");
			len = line(buf, 3, tmp, "}");
			fail |= same(buf, len);
		}
	}
	ok(!fail, "escapes, backslash runs and multibyte UTF-8 across "
		  "block boundaries");
	fail = 0;
	for (k = 0; k < sizeof(bad) - 1; k++) {
		for (i = 0; i < 130; i++) {
			n = (size_t)sprintf(tmp, "[1,\"");
			memset(tmp + n, 'y', 140);
			tmp[n + i] = bad[k];
			n += 140;
			n += (size_t)sprintf(tmp + n, "\",2]");
			len = line(buf, 5, tmp, "}");
			fail |= same(buf, len);
		}
	}
	ok(!fail, "invalid UTF-8 and control bytes at every offset of two "
		  "blocks: the scalar diagnostic");
}

int
main(void)
{
	int p;

	for (p = EV_SIMD_SSE2; p <= EV_SIMD_MAX; p++)
		if (ev_simd_set(p) == p)
			paths[npath++] = p;
	printf("# vector paths on this CPU: %d\n", npath);
	if ((ps = ev_pathset_new()) == NULL ||
	    ev_pathset_add(ps, "a", 1) < 0 || ev_pathset_add(ps, "b.c", 3) < 0)
		abort();
	test_valid();
	test_bytes();
	test_tokens();
	test_depth();
	test_strings();
	ok(ncases > 50000 && nbad > ncases / 4,
	    "%ld lines, %ld of them bad, on each path", ncases, nbad);
	ok(ndiff == 0, "no path differs from the scalar one");
	ev_pathset_free(ps);
	ev_simd_set(EV_SIMD_MAX);
	return tap_done();
}
