/*
 * jsondiff.c - differential test of lib/json/json.c against libjq 1.6.
 *
 * Random JSON documents (and random mutations of them: byte flips,
 * insertions, deletions, truncation) go through jq's jv_parse_sized(),
 * ev_jdoc_parse() and ev_scan().  They must agree on valid/invalid, except
 * where jq 1.6 is laxer than RFC 8259 (each known laxity is named below and
 * pinned by its own test that evkit rejects it).  For valid documents the
 * values must be equal (compared as jq dumps them), and the values that
 * ev_scan() reports for random path sets must be those a plain tree walk
 * of the ev_jdoc finds; ev_paths_get() must find the values a tree walk
 * finds (the last in document order); and ev_json_canon() must give a
 * text that jq reads as an equal value and that is its own canonical
 * form.  ev_scan() and ev_jdoc_parse() must also give the same error
 * message.
 *
 * The seed is fixed; EVKIT_SEED overrides it, EVKIT_DIFF_ITER the number
 * of documents.
 */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jv.h>

#include "json/json_int.h"
#include "tap.h"

/*
 * jq 1.6 leaks the string token when a string is followed by another value
 * without a separator (jv_parse_sized("[\"a\" \"b\"]")): not ours, so
 * LeakSanitizer is told to ignore leaks allocated inside libjq.  (libjq has
 * no frame pointers, so the fast unwinder cannot see jv_parse_sized(); the
 * slow one would, at four times this test's run time.  A run with
 * ASAN_OPTIONS=fast_unwind_on_malloc=0 and "leak:jv_parse_sized" showed no
 * other leak.)
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
	return "leak:libjq.so\n";
}

/* ------------------------------------------------------------ random */

static uint64_t rs;

static uint32_t
rnd(uint32_t n)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return n ? (uint32_t)((rs >> 11) % n) : 0;
}

/* ------------------------------------------------------------ buffer */

struct buf {
	char *p;
	size_t len, cap;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 256;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			abort();
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* --------------------------------------------------------- generator */

static void
gen_ws(struct buf *b)
{
	static const char ws[] = " \t\r\n";

	while (rnd(6) == 0)
		put(b, &ws[rnd(4)], 1);
}

static void
gen_string_body(struct buf *b)
{
	static const char *pieces[] = {"a", "b", "xyz", " ", "\\\"", "\\\\",
	    "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u00e9", "\\u0000",
	    "\\uD83D\\uDE00", "\\u20AC", "\\uFFFF", "\\udbff\\udfff",
	    "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf",
	    "\xe0\xa0\x80", "\xef\xbf\xbf", "\xed\x9f\xbf", "\x7f", ".",
	    "the quick brown fox jumps over the lazy dog",
	    "0123456789abcdef0123456789"};
	int n = (int)rnd(6);

	while (n-- > 0)
		puts_(b, pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))]);
}

static void
gen_digits(struct buf *b, int n, int lead)
{
	char c;

	while (n-- > 0) {
		c = (char)('0' + (lead ? 1 + rnd(9) : rnd(10)));
		lead = 0;
		put(b, &c, 1);
	}
}

static void
gen_number(struct buf *b)
{
	static const char *special[] = {"0", "-0", "-0.0", "1e400", "-1e400",
	    "1e-400", "5e-324", "1.7976931348623157e308", "9007199254740993",
	    "123456789012345678901", "0.1", "3e2", "300.0", "0E0",
	    "4.9406564584124654e-324", "2.2250738585072014e-308"};
	char tmp[16];

	if (rnd(5) == 0) {
		puts_(b, special[rnd(sizeof(special) / sizeof(special[0]))]);
		return;
	}
	if (rnd(3) == 0)
		puts_(b, "-");
	if (rnd(4) == 0)
		puts_(b, "0");
	else
		gen_digits(b, 1 + (int)rnd(rnd(5) ? 6 : 25), 1);
	if (rnd(3) == 0) {
		puts_(b, ".");
		gen_digits(b, 1 + (int)rnd(18), 0);
	}
	if (rnd(4) == 0) {
		puts_(b, rnd(2) ? "e" : "E");
		if (rnd(2))
			puts_(b, rnd(2) ? "+" : "-");
		snprintf(tmp, sizeof(tmp), "%u", rnd(rnd(4) ? 30 : 400));
		puts_(b, tmp);
	}
}

static void
gen_key(struct buf *b)
{
	/* Few names, so that paths hit and duplicates happen. */
	static const char *keys[] = {"a", "b", "c", "a.b", "b.c", "",
	    "x\\u0041", "\xc3\xa9", "a\\u002eb", "detail", "state"};

	puts_(b, "\"");
	puts_(b, keys[rnd(sizeof(keys) / sizeof(keys[0]))]);
	puts_(b, "\"");
}

/*
 * An array of numbers and arrays without whitespace or exponents, like
 * GeoJSON coordinates: what the scanner's vector pass takes in blocks.
 */
static void
gen_coords(struct buf *b, int depth)
{
	int n = depth > 0 ? (int)rnd(5) : (int)rnd(rnd(3) ? 12 : 60), i;

	puts_(b, "[");
	for (i = 0; i < n; i++) {
		if (i)
			puts_(b, ",");
		if (depth < 12 && rnd(3) == 0) {
			gen_coords(b, depth + 1);
			continue;
		}
		if (rnd(2))
			puts_(b, "-");
		if (rnd(6) == 0)
			puts_(b, "0");
		else
			gen_digits(b, 1 + (int)rnd(4), 1);
		if (rnd(3)) {
			puts_(b, ".");
			gen_digits(b, 1 + (int)rnd(16), 0);
		}
	}
	puts_(b, "]");
}

static void
gen_value(struct buf *b, int depth, int top)
{
	int n, i, k = top ? 7 : (int)rnd(depth > 5 ? 5 : 7);

	switch (k) {
	case 0:
		puts_(b, "\"");
		gen_string_body(b);
		puts_(b, "\"");
		break;
	case 1:
		gen_number(b);
		break;
	case 2:
		puts_(b, rnd(3) == 0 ? "null" : rnd(2) ? "true" : "false");
		break;
	case 3:
	case 4:
		gen_number(b);
		break;
	case 5:
		if (rnd(3) == 0) {
			gen_coords(b, 0);
			break;
		}
		puts_(b, "[");
		n = (int)rnd(5);
		for (i = 0; i < n; i++) {
			if (i)
				puts_(b, ",");
			gen_ws(b);
			gen_value(b, depth + 1, 0);
			gen_ws(b);
		}
		puts_(b, "]");
		break;
	default:
		puts_(b, "{");
		n = (int)rnd(6);
		for (i = 0; i < n; i++) {
			if (i)
				puts_(b, ",");
			gen_ws(b);
			gen_key(b);
			gen_ws(b);
			puts_(b, ":");
			gen_ws(b);
			gen_value(b, depth + 1, 0);
			gen_ws(b);
		}
		puts_(b, "}");
		break;
	}
}

/* Damage b at random: flips, insertions, deletions, truncation. */
static void
mutate(struct buf *b)
{
	static const char bytes[] = "\"\\{}[],:0.e-+ nu\x80\xc0\xed\xf4"
				    "\xff\x01\x0b\x0c\t\n";
	int n = 1 + (int)rnd(3);
	size_t at;
	char c;

	while (n-- > 0 && b->len > 0) {
		at = rnd((uint32_t)b->len);
		c = rnd(3) ? bytes[rnd(sizeof(bytes) - 1)] : (char)rnd(256);
		switch (rnd(5)) {
		case 0:
		case 1:
			b->p[at] = c;
			break;
		case 2:
			put(b, "", 1); /* make room */
			memmove(b->p + at + 1, b->p + at, b->len - at - 1);
			b->p[at] = c;
			break;
		case 3:
			memmove(b->p + at, b->p + at + 1, b->len - at - 1);
			b->len--;
			break;
		default:
			b->len = at;
			break;
		}
	}
}

/* --------------------------------------------------- jdoc to jq value */

static jv
tojv(const struct ev_jdoc *doc, int i)
{
	const struct ev_jnode *n = &doc->n[i];
	jv v;
	double d;
	int c;

	switch (n->type) {
	case EV_J_NULL:
		return jv_null();
	case EV_J_FALSE:
		return jv_false();
	case EV_J_TRUE:
		return jv_true();
	case EV_J_NUMBER:
		ev_json_number(n->str, n->len, &d);
		/* jq 1.6 clamps what overflows a double to +-DBL_MAX. */
		if (isinf(d))
			d = d > 0 ? DBL_MAX : -DBL_MAX;
		/* evkit reads -0 as 0 (for matching); jq keeps the sign. */
		if (d == 0 && n->str[0] == '-')
			d = -0.0;
		return jv_number(d);
	case EV_J_STRING:
		return jv_string_sized(n->str, (int)n->len);
	case EV_J_ARRAY:
		v = jv_array();
		for (c = n->first; c >= 0; c = doc->n[c].next)
			v = jv_array_append(v, tojv(doc, c));
		return v;
	default:
		v = jv_object();
		for (c = n->first; c >= 0; c = doc->n[c].next)
			v = jv_object_set(v,
			    jv_string_sized(
				doc->n[c].key, (int)doc->n[c].keylen),
			    tojv(doc, c));
		return v;
	}
}

static char *
dump(jv v)
{
	jv s = jv_dump_string(v, JV_PRINT_SORTED | JV_PRINT_ASCII);
	char *r = strdup(jv_string_value(s));

	jv_free(s);
	return r;
}

/* ------------------------------------------------- path reporting check */

#define MAXPATHS 4

static long nreported, nmemb; /* ev_scan() reports checked */

struct pathcase {
	char *path[MAXPATHS];
	int npath;
	struct ev_pathset *ps;
	int id[MAXPATHS];
};

static int
path_id(const struct pathcase *pc, const char *p)
{
	int i;

	for (i = 0; i < pc->npath; i++)
		if (strcmp(pc->path[i], p) == 0)
			return pc->id[i];
	return -1;
}

/* Whether some path goes on below p (p NULL: the root). */
static int
path_below(const struct pathcase *pc, const char *p)
{
	size_t n;
	int i;

	if (p == NULL)
		return pc->npath > 0;
	n = strlen(p);
	for (i = 0; i < pc->npath; i++)
		if (strncmp(pc->path[i], p, n) == 0 && pc->path[i][n] == '.')
			return 1;
	return 0;
}

static void
rec_put(struct buf *out, int id, enum ev_jtype t, const char *s, size_t len,
    const struct ev_arrpos *memb, int depth)
{
	char tmp[64];
	int i;

	snprintf(tmp, sizeof(tmp), "%d:%d:", id, (int)t);
	puts_(out, tmp);
	if (t == EV_J_STRING || t == EV_J_NUMBER || t == EV_J_OBJECT)
		put(out, s, len);
	for (i = 0; i < depth; i++) {
		snprintf(tmp, sizeof(tmp), "%s%u.%u", i ? "," : "[",
		    memb[i].array, memb[i].index);
		puts_(out, tmp);
	}
	puts_(out, depth ? "]\n" : "\n");
}

struct refwalk {
	const struct ev_jdoc *doc;
	const struct pathcase *pc;
	struct buf *out;
	struct ev_arrpos memb[EV_JSON_MAX_DEPTH];
	int nmemb;
	uint32_t narr;
};

/* What ev_scan() should report, from the tree: see ev_scan_fn. */
static void
ref(struct refwalk *w, int i, const char *path)
{
	const struct ev_jnode *n = &w->doc->n[i];
	char *sub;
	int c, id = path ? path_id(w->pc, path) : -1;
	size_t k;

	switch (n->type) {
	case EV_J_ARRAY:
		if (id < 0 && !path_below(w->pc, path))
			return;
		w->memb[w->nmemb].array = w->narr++;
		w->memb[w->nmemb].index = 0;
		w->nmemb++;
		for (c = n->first; c >= 0; c = w->doc->n[c].next) {
			ref(w, c, path);
			w->memb[w->nmemb - 1].index++;
		}
		w->nmemb--;
		return;
	case EV_J_OBJECT:
		if (id >= 0)
			rec_put(w->out, id, n->type, n->str, n->len, w->memb,
			    w->nmemb);
		if (!path_below(w->pc, path))
			return;
		for (c = n->first; c >= 0; c = w->doc->n[c].next) {
			k = path ? strlen(path) + 1 : 0;
			sub = malloc(k + w->doc->n[c].keylen + 1);
			if (path) {
				memcpy(sub, path, k - 1);
				sub[k - 1] = '.';
			}
			memcpy(sub + k, w->doc->n[c].key, w->doc->n[c].keylen);
			sub[k + w->doc->n[c].keylen] = '\0';
			/* A key with a NUL cannot be a path: leave it out. */
			if (strlen(sub) == k + w->doc->n[c].keylen)
				ref(w, c, sub);
			free(sub);
		}
		return;
	default:
		if (id >= 0)
			rec_put(w->out, id, n->type, n->str, n->len, w->memb,
			    w->nmemb);
		return;
	}
}

static int
scan_fn(void *ctx, int id, const struct ev_jval *v,
    const struct ev_arrpos *memb, int depth)
{
	char *tmp;
	size_t n;

	if (v->type == EV_J_STRING) {
		tmp = malloc(v->len + 1);
		n = ev_json_unescape(v, tmp);
		rec_put(ctx, id, v->type, tmp, n, memb, depth);
		free(tmp);
	} else {
		rec_put(ctx, id, v->type, v->p, v->len, memb, depth);
	}
	return 0;
}

/* Collect the dotted paths of the values of doc (objects only). */
static void
collect(const struct ev_jdoc *doc, int i, const char *path, char **all,
    int *nall, int max)
{
	const struct ev_jnode *n = &doc->n[i];
	char *sub;
	size_t k;
	int c;

	if (path && *nall < max)
		all[(*nall)++] = strdup(path);
	for (c = n->first; c >= 0; c = doc->n[c].next) {
		if (n->type == EV_J_ARRAY) {
			collect(doc, c, path, all, nall, max);
			continue;
		}
		if (memchr(doc->n[c].key, '\0', doc->n[c].keylen))
			continue;
		k = path ? strlen(path) + 1 : 0;
		sub = malloc(k + doc->n[c].keylen + 1);
		if (path) {
			memcpy(sub, path, k - 1);
			sub[k - 1] = '.';
		}
		memcpy(sub + k, doc->n[c].key, doc->n[c].keylen + 1);
		collect(doc, c, sub, all, nall, max);
		free(sub);
	}
}

/*
 * What ev_paths_get() should find at the dotted path rest below node i,
 * from the tree: the last value in document order; arrays on the way
 * searched element by element; a member name holding dots stands for the
 * nested names.  *off gets the value's byte offset.
 */
static void
ref_get(const struct ev_jdoc *doc, int i, const char *rest, long *off)
{
	const struct ev_jnode *n = &doc->n[i], *m;
	size_t k;
	int c;

	if (*rest == '\0') {
		*off = (long)n->off;
		return;
	}
	for (c = n->first; c >= 0; c = doc->n[c].next) {
		m = &doc->n[c];
		if (n->type == EV_J_ARRAY) {
			if (m->type == EV_J_ARRAY || m->type == EV_J_OBJECT)
				ref_get(doc, c, rest, off);
			continue;
		}
		k = m->keylen;
		if (strncmp(rest, m->key, k) != 0 || memchr(m->key, 0, k))
			continue;
		if (rest[k] == '\0')
			ref_get(doc, c, "", off);
		else if (rest[k] == '.')
			ref_get(doc, c, rest + k + 1, off);
	}
}

static long ngot; /* ev_paths_get() values checked */

/*
 * ev_paths_get() against ref_get() for the paths of pc that are dotted
 * paths (not those with brackets, empty segments or a leading '$', which
 * spell something else): 0 when they agree.
 */
static int
check_get(const struct ev_jdoc *doc, const char *text, size_t len,
    const struct pathcase *pc, char **why)
{
	const char *specs[MAXPATHS];
	struct ev_span v[MAXPATHS];
	struct ev_paths *pv;
	struct ev_err err;
	int i, n = 0, r = 0;
	long want;

	for (i = 0; i < pc->npath; i++)
		if (strchr(pc->path[i], '[') == NULL && pc->path[i][0] != '$' &&
		    (pv = ev_paths_compile(
			 (const char *const *)&pc->path[i], 1, &err)) != NULL) {
			ev_paths_free(pv);
			specs[n++] = pc->path[i];
		}
	if (n == 0)
		return 0;
	if ((pv = ev_paths_compile(specs, n, &err)) == NULL) {
		asprintf(why, "ev_paths_compile: %s", err.msg);
		return -1;
	}
	if (ev_paths_get(pv, text, len, v, &err) < 0) {
		asprintf(why, "ev_paths_get failed: %s", err.msg);
		ev_paths_free(pv);
		return -1;
	}
	for (i = 0; i < n && r == 0; i++) {
		want = -1;
		ref_get(doc, 0, specs[i], &want);
		if ((v[i].p ? v[i].p - text : -1) != want) {
			asprintf(why, "ev_paths_get %s: at %ld, want %ld",
			    specs[i], v[i].p ? (long)(v[i].p - text) : -1L,
			    want);
			r = -1;
		}
		ngot += v[i].p != NULL;
	}
	ev_paths_free(pv);
	return r;
}

/* Check ev_scan()'s reports on a valid object document; 0 when right. */
static int
check_paths(const struct ev_jdoc *doc, const char *text, size_t len, char **why)
{
	char *all[64];
	int nall = 0, i, r = 0;
	struct pathcase pc;
	struct refwalk *w;
	struct buf want = {0}, got = {0};
	struct ev_err err;

	collect(doc, 0, NULL, all, &nall, 64);
	memset(&pc, 0, sizeof(pc));
	pc.ps = ev_pathset_new();
	for (i = 0; i < MAXPATHS && nall > 0; i++) {
		pc.path[pc.npath] = all[rnd((uint32_t)nall)];
		if (path_id(&pc, pc.path[pc.npath]) >= 0)
			continue;
		pc.id[pc.npath] = ev_pathset_add(
		    pc.ps, pc.path[pc.npath], strlen(pc.path[pc.npath]));
		pc.npath++;
	}
	w = calloc(1, sizeof(*w));
	w->doc = doc;
	w->pc = &pc;
	w->out = &want;
	put(&want, "", 0);
	put(&got, "", 0);
	ref(w, 0, NULL);
	if (ev_scan(text, len, pc.ps, scan_fn, &got, &err) != 0) {
		r = -1;
		asprintf(why, "scan failed: %s", err.msg);
	} else if (strcmp(want.p, got.p) == 0) {
		for (i = 0; got.p[i]; i++) {
			nreported += got.p[i] == '\n';
			nmemb += got.p[i] == '[';
		}
		r = check_get(doc, text, len, &pc, why);
	} else {
		r = -1;
		asprintf(why, "paths %s %s %s %s:\n want:\n%s got:\n%s",
		    pc.npath > 0 ? pc.path[0] : "",
		    pc.npath > 1 ? pc.path[1] : "",
		    pc.npath > 2 ? pc.path[2] : "",
		    pc.npath > 3 ? pc.path[3] : "", want.p, got.p);
	}
	for (i = 0; i < nall; i++)
		free(all[i]);
	free(w);
	free(want.p);
	free(got.p);
	ev_pathset_free(pc.ps);
	return r;
}

/* --------------------------------------------------------- laxities */

/*
 * The known ways jq 1.6's parser (jv_parse_sized) is laxer than RFC 8259,
 * found by this test.  A document jq accepts and evkit rejects is skipped
 * only when evkit's first error is one of these:
 *
 * LAX_NUMBER	jq reads any token strtod() takes: 01, -01, 00, +1, .5,
 *		1., nan, NaN, -nan, inf, Infinity, -Infinity
 * LAX_UTF8	invalid UTF-8 (stray continuation bytes, overlongs,
 *		encoded surrogates, above U+10FFFF, truncated sequences)
 *		becomes U+FFFD
 * LAX_LOWSURR	a lone low surrogate escape (\uDE00) becomes U+FFFD; a
 *		lone high one is rejected
 * LAX_NUL	a raw NUL byte in a string is kept
 * LAX_US	a raw U+001F in a string is kept (jq checks c < 0x1f)
 * LAX_NUMTOK	number tokens go to strtod() as C strings: a NUL ends one
 *		("1\0"), a lone NUL reads as 0 ("[\0]"), a leading \v or
 *		\f is skipped as space ("\v1", "\f.5")
 * LAX_BOM	a leading byte order mark is skipped
 * LAX_RS	an RS byte (0x1E, RFC 7464) after the value ends the text:
 *		what follows is ignored ("[1]\x1e[2" is [1])
 *
 * jq is stricter in one way: it stops at depth 256 (evkit at 512).  The
 * generated documents stay far below both.
 */
enum laxity {
	LAX_NUMBER,
	LAX_UTF8,
	LAX_LOWSURR,
	LAX_NUL,
	LAX_US,
	LAX_NUMTOK,
	LAX_BOM,
	LAX_RS,
	LAX_N
};

static const char *lax_name[LAX_N] = {
    "numbers (leading zeros, '+', '.5', '1.', nan, infinity)",
    "invalid UTF-8 replaced with U+FFFD", "lone low surrogate escape",
    "raw NUL in strings", "raw U+001F in strings",
    "NUL or leading \\v, \\f in number tokens", "byte order mark",
    "record separator ends the text"};

static int lax_seen[LAX_N];

static int
tokch(unsigned char c)
{
	return isalnum(c) || c == '.' || c == '+' || c == '-';
}

/* Whether s[0..n) is a number by the RFC's grammar (written apart). */
static int
rfc_number(const char *s, size_t n)
{
	size_t i = 0;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (i < n && s[i] >= '1' && s[i] <= '9')
		while (i < n && isdigit((unsigned char)s[i]))
			i++;
	else
		return 0;
	if (i < n && s[i] == '.') {
		if (++i >= n || !isdigit((unsigned char)s[i]))
			return 0;
		while (i < n && isdigit((unsigned char)s[i]))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || !isdigit((unsigned char)s[i]))
			return 0;
		while (i < n && isdigit((unsigned char)s[i]))
			i++;
	}
	return i == n;
}

/*
 * Whether the token at (or just before) off is one jq takes and the RFC
 * does not: not a valid number, not true/false/null.
 */
static int
lax_token(const char *text, size_t len, size_t off)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t a = off, b, n;

	if (a >= len || !tokch(p[a])) {
		if (a == 0 || !tokch(p[a - 1]))
			return 0;
		a--;
	}
	while (a > 0 && tokch(p[a - 1]))
		a--;
	for (b = a; b < len && tokch(p[b]); b++)
		;
	n = b - a;
	if (rfc_number(text + a, n))
		return 0;
	return !((n == 4 && memcmp(text + a, "true", 4) == 0) ||
		 (n == 5 && memcmp(text + a, "false", 5) == 0) ||
		 (n == 4 && memcmp(text + a, "null", 4) == 0));
}

/* Whether s starts with a well-formed UTF-8 sequence (written apart). */
static int
utf8_ok(const unsigned char *s, size_t n)
{
	unsigned long cp, min;
	size_t k, i;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		k = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		k = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		k = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	for (i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	return cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
}

/* Which laxity excuses evkit's error at offset off, or -1. */
static int
laxity(const char *text, size_t len, const char *msg, size_t off)
{
	const unsigned char *p = (const unsigned char *)text;
	unsigned long u;
	char hex[5];

	if (strstr(msg, "invalid number") || strstr(msg, "invalid literal"))
		return lax_token(text, len, off) ? LAX_NUMBER : -1;
	if (strstr(msg, "invalid UTF-8"))
		return off < len && !utf8_ok(p + off, len - off) ? LAX_UTF8
								 : -1;
	if (strstr(msg, "lone surrogate") && off + 6 <= len) {
		memcpy(hex, text + off + 2, 4);
		hex[4] = '\0';
		u = strtoul(hex, NULL, 16);
		if (u >= 0xDC00 && u <= 0xDFFF)
			return LAX_LOWSURR;
		return -1;
	}
	if (strstr(msg, "control character") && off < len)
		return p[off] == 0 ? LAX_NUL : p[off] == 0x1f ? LAX_US : -1;
	if (off < len && (p[off] == 0 || p[off] == 0x0b || p[off] == 0x0c))
		return LAX_NUMTOK;
	if (off == 0 && len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		return LAX_BOM;
	if (strstr(msg, "trailing characters") && off < len &&
	    memchr(text + off, 0x1e, len - off) != NULL)
		return LAX_RS;
	/*
	 * jq reads "tru" as the start of a number token, and a token glued
	 * to another ("1true", "nullx") the same way: the message differs
	 * but both reject, so nothing is needed here.
	 */
	return -1;
}

/* ---------------------------------------------------------- one case */

static int nvalid, ninvalid, nskipped, nfail;

/*
 * ev_json_canon() keeps the value (jq reads the canonical text as a value
 * equal to the original: numbers as doubles, of duplicate names the last)
 * and is a fixed point.  0 when right.
 */
static int
check_canon(const char *text, size_t len, jv v, char **why)
{
	struct ev_buf c = {0}, cc = {0};
	struct ev_err err;
	jv w;
	int r = 0;

	if (ev_json_canon(text, len, &c, &err) != 0) {
		asprintf(why, "ev_json_canon failed: %s", err.msg);
		jv_free(v);
		return -1;
	}
	w = jv_parse_sized(c.p, (int)c.len);
	if (!jv_is_valid(w) || !jv_equal(jv_copy(v), jv_copy(w))) {
		asprintf(why, "canonical form changes the value: %.*s",
		    (int)c.len, c.p);
		r = -1;
	} else if (ev_json_canon(c.p, c.len, &cc, &err) != 0 ||
		   cc.len != c.len || memcmp(c.p, cc.p, c.len) != 0) {
		asprintf(why, "canonical form is no fixed point: %.*s",
		    (int)c.len, c.p);
		r = -1;
	}
	jv_free(v);
	jv_free(w);
	ev_buf_free(&c);
	ev_buf_free(&cc);
	return r;
}

/* Run one text through all three; 0 when they agree. */
static int
check(const char *text, size_t len)
{
	struct ev_jdoc doc;
	struct ev_err e1, e2, e3;
	struct ev_pathset *ps;
	struct buf sink = {0};
	jv v;
	int jq_ok, doc_ok, scan_ok, scan2_ok, is_obj, lx, bad = 0;
	char *why = NULL, *a, *b, *nl;
	size_t i, off;

	v = jv_parse_sized(text, (int)len);
	jq_ok = jv_is_valid(v);
	ev_err_clear(&e1);
	ev_err_clear(&e2);
	ev_err_clear(&e3);
	doc_ok = ev_jdoc_parse(&doc, text, len, &e1) == 0;
	scan_ok = ev_scan(text, len, NULL, NULL, NULL, &e2) == 0;
	ps = ev_pathset_new();
	ev_pathset_add(ps, "a", 1);
	ev_pathset_add(ps, "b.c", 3);
	ev_pathset_add(ps, "", 0);
	scan2_ok = ev_scan(text, len, ps, scan_fn, &sink, &e3) == 0;
	ev_pathset_free(ps);
	free(sink.p);
	for (i = 0; i < len && strchr(" \t\r\n", text[i]); i++)
		;
	is_obj = i < len && text[i] == '{';

	/* evkit against itself. */
	if (scan_ok != (doc_ok && is_obj)) {
		asprintf(&why, "ev_scan %d, ev_jdoc %d", scan_ok, doc_ok);
		bad = 1;
	} else if (scan_ok != scan2_ok || strcmp(e2.msg, e3.msg) != 0 ||
		   e2.col != e3.col) {
		asprintf(&why,
		    "ev_scan with paths: '%s' %lu, without: '%s'"
		    " %lu",
		    e3.msg, e3.col, e2.msg, e2.col);
		bad = 1;
	} else if (!doc_ok && strcmp(e1.msg, e2.msg) != 0) {
		asprintf(&why, "messages: ev_jdoc '%s', ev_scan '%s'", e1.msg,
		    e2.msg);
		bad = 1;
	} else if (!doc_ok && memchr(text, '\n', len) == NULL &&
		   (e1.line != 1 || e1.col != e2.col)) {
		asprintf(&why, "columns: ev_jdoc %lu:%lu, ev_scan %lu", e1.line,
		    e1.col, e2.col);
		bad = 1;
	}

	/* evkit against jq. */
	if (!bad && jq_ok && doc_ok) {
		nvalid++;
		a = dump(jv_copy(v));
		b = dump(tojv(&doc, 0));
		if (strcmp(a, b) != 0) {
			asprintf(&why, "values differ:\n jq:    %s\n evkit: %s",
			    a, b);
			bad = 1;
		}
		free(a);
		free(b);
		if (!bad && is_obj && check_paths(&doc, text, len, &why) != 0)
			bad = 1;
		if (!bad && check_canon(text, len, jv_copy(v), &why) != 0)
			bad = 1;
	} else if (!bad && !jq_ok && !doc_ok) {
		ninvalid++;
	} else if (!bad && jq_ok) {
		/* Locate evkit's error as a byte offset. */
		off = 0;
		for (i = 1; i < e1.line; i++) {
			nl = memchr(text + off, '\n', len - off);
			off = (size_t)(nl - text) + 1;
		}
		off += e1.col - 1;
		if ((lx = laxity(text, len, e1.msg, off)) >= 0) {
			lax_seen[lx]++;
			nskipped++;
		} else {
			asprintf(&why, "jq accepts, evkit: %lu:%lu: %s",
			    e1.line, e1.col, e1.msg);
			bad = 1;
		}
	} else if (!bad) {
		jv m = jv_invalid_get_msg(jv_copy(v));

		asprintf(&why, "evkit accepts, jq: %s",
		    jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m)
						     : "?");
		jv_free(m);
		bad = 1;
	}
	jv_free(v);
	if (doc_ok)
		ev_jdoc_free(&doc);
	if (bad) {
		nfail++;
		if (nfail <= 5) {
			printf("# disagreement on %zu bytes: '", len);
			for (i = 0; i < len && i < 300; i++)
				if ((unsigned char)text[i] >= 0x20 &&
				    (unsigned char)text[i] < 0x7f)
					putchar(text[i]);
				else
					printf(
					    "\\x%02x", (unsigned char)text[i]);
			printf("'\n# %s\n", why);
		}
	}
	free(why);
	return bad;
}

/* ------------------------------------------------------ laxity tests */

/* jq accepts text; evkit rejects it with msg (ev_scan and ev_jdoc). */
static void
lax(const char *text, size_t len, const char *msg, const char *name)
{
	struct ev_jdoc doc;
	struct ev_err err;
	jv v = jv_parse_sized(text, (int)len);
	int jq_ok = jv_is_valid(v), r;

	jv_free(v);
	r = ev_jdoc_parse(&doc, text, len, &err);
	ok(jq_ok && r == -1 && strcmp(err.msg, msg) == 0 &&
		ev_scan(text, len, NULL, NULL, NULL, &err) == -1 &&
		strcmp(err.msg, msg) == 0,
	    "jq 1.6 laxity, evkit rejects: %s", name);
	if (!jq_ok || r != -1)
		printf("#   jq %s, evkit %s: '%s'\n",
		    jq_ok ? "accepts" : "rejects", r ? "rejects" : "accepts",
		    err.msg);
}

#define L(lit) lit, sizeof(lit) - 1

static void
test_laxities(void)
{
	lax(L("{\"a\":01}"), "invalid JSON: invalid number", "leading zero");
	lax(L("{\"a\":+1}"), "invalid JSON: invalid number", "plus sign");
	lax(L("{\"a\":.5}"), "invalid JSON: invalid number", ".5");
	lax(L("{\"a\":1.}"), "invalid JSON: invalid number", "1.");
	lax(L("{\"a\":nan}"), "invalid JSON: invalid literal", "nan");
	lax(L("{\"a\":NaN}"), "invalid JSON: invalid literal", "NaN");
	lax(L("{\"a\":-Infinity}"), "invalid JSON: invalid number",
	    "-Infinity");
	lax(L("{\"a\":infinity}"), "invalid JSON: invalid literal", "infinity");
	lax(L("{\"a\":\"\x80\"}"), "invalid JSON: invalid UTF-8",
	    "stray continuation byte");
	lax(L("{\"a\":\"\xc0\x80\"}"), "invalid JSON: invalid UTF-8",
	    "overlong");
	lax(L("{\"a\":\"\xed\xa0\x80\"}"), "invalid JSON: invalid UTF-8",
	    "UTF-8 encoded surrogate");
	lax(L("{\"a\":\"\xf4\x90\x80\x80\"}"), "invalid JSON: invalid UTF-8",
	    "above U+10FFFF");
	lax(L("{\"a\":\"\\uDE00\"}"), "invalid JSON: lone surrogate",
	    "lone low surrogate escape");
	lax(L("{\"a\":\"x\0y\"}"), "invalid JSON: control character in string",
	    "raw NUL in a string");
	lax(L("{\"a\":\"x\x1fy\"}"),
	    "invalid JSON: control character in string",
	    "raw U+001F in a string");
	lax(L("{\"a\":\0}"), "invalid JSON: expected value", "NUL as 0");
	lax(L("{\"a\":1\0}"), "invalid JSON: expected ',' or '}'",
	    "NUL after a number");
	lax(L("{\"a\":[1\0\0]}"), "invalid JSON: expected ',' or ']'",
	    "NULs after a number in an array");
	lax(L("{\"a\":\v1}"), "invalid JSON: expected value",
	    "vertical tab before a number");
	lax(L("{\"a\":\f.5}"), "invalid JSON: expected value",
	    "form feed before a number");
	lax(L("\xef\xbb\xbf{\"a\":1}"), "invalid JSON: expected value",
	    "byte order mark");
	lax(L("{\"a\":1}\x1e"), "invalid JSON: trailing characters",
	    "record separator after the object");
	lax(L("{\"a\":1}\x1e{\"a\":[}"), "invalid JSON: trailing characters",
	    "anything after a record separator");
}

/* jq is stricter on depth: documented, not a laxity. */
static void
test_depth(void)
{
	char s[600];
	struct ev_jdoc doc;
	struct ev_err err;
	jv v;
	int i;

	for (i = 0; i < 257; i++) {
		s[i] = '[';
		s[257 + i] = ']';
	}
	v = jv_parse_sized(s, 514);
	ok(!jv_is_valid(v) && ev_jdoc_parse(&doc, s, 514, &err) == 0,
	    "jq 1.6 stops at depth 256, evkit at %d", EV_JSON_MAX_DEPTH);
	jv_free(v);
	ev_jdoc_free(&doc);
}

int
main(void)
{
	const char *e;
	struct buf b = {0}, m = {0};
	unsigned long seed = 20240601, iters = 10000, i, k;
	int j, path;

	if ((e = getenv("EVKIT_SEED")) != NULL && *e)
		seed = strtoul(e, NULL, 0);
	if ((e = getenv("EVKIT_DIFF_ITER")) != NULL && *e)
		iters = strtoul(e, NULL, 0);
	rs = seed * 2654435761u + 1;
	printf("# seed %lu, %lu documents\n", seed, iters);

	test_laxities();
	test_depth();

	/* Every path of the scanner, on the same documents. */
	for (path = EV_SIMD_SCALAR; path <= EV_SIMD_MAX; path++) {
		if (ev_simd_set(path) != path)
			continue;
		rs = seed * 2654435761u + 1;
		nvalid = ninvalid = nskipped = nfail = 0;
		nreported = nmemb = ngot = 0;
		for (i = 0; i < iters; i++) {
			b.len = 0;
			gen_value(&b, 0, rnd(8) != 0);
			check(b.p, b.len);
			for (k = 0; k < 4; k++) {
				m.len = 0;
				put(&m, b.p, b.len);
				mutate(&m);
				check(m.p, m.len);
			}
		}
		ok(nfail == 0,
		    "%s path: %lu random documents and %lu mutants: evkit agrees "
		    "with jq and itself (%d valid, %d invalid, %d skipped)",
		    ev_simd_name(path), iters, iters * 4, nvalid, ninvalid, nskipped);
		ok(nvalid > (int)iters / 2 && ninvalid > (int)iters &&
			nreported > (long)iters && nmemb > (long)iters / 10 &&
			ngot > (long)iters / 4,
		    "the cases are mixed enough to mean something (%ld values "
		    "reported, %ld in arrays, %ld found by ev_paths_get)",
		    nreported, nmemb, ngot);
	}
	for (j = 0; j < LAX_N; j++)
		printf("# skipped for jq laxity '%s': %d\n", lax_name[j],
		    lax_seen[j]);
	free(b.p);
	free(m.p);
	return tap_done();
}
