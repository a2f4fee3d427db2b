/*
 * refmatch.c - the reference matcher: EventBridge event patterns over
 * libjq values, the slow and obvious way.
 *
 * The pattern is expanded into sub-rules the way event-ruler's
 * JsonRuleCompiler does it: nested objects join their keys with dots, each
 * "$or" replaces the sub-rules built so far by one copy per branch, and a
 * later key overrides an earlier one with the same path.  The event is
 * flattened into leaves: (dotted path, scalar value, array membership),
 * where the membership lists, for every array of objects or arrays the
 * leaf sits in, the array's number and the element's index.  A scalar that
 * is itself an element of an array is not a member of that array (as in
 * event-ruler's Event.java).
 *
 * A sub-rule matches when each of its fields, taken in event-ruler's order
 * (paths sorted as Java strings, i.e. by UTF-16 code units), can be given
 * one leaf at its path that satisfies one of its conditions, all chosen
 * leaves being array-consistent (two leaves that are members of the same
 * array are members of the same element).  A field holding
 * {"exists": false} is also satisfied when no leaf at its path is
 * consistent with the leaves chosen for the fields before it: the fields
 * after it do not constrain it, exactly as event-ruler's NameState checks
 * absence against the membership gathered so far.  The search is plain
 * backtracking.
 *
 * Value conditions (event-ruler's ByteMachine, quotes and all):
 *  - a string matches an equal string; a string that is an IPv4 or IPv6
 *    literal instead matches any string holding the same address
 *    (event-ruler turns it into a one-address CIDR range): "10.0.0.1"
 *    matches "10.0.0.01", "::1" matches "0:0:0:0:0:0:0:1" (Java's
 *    InetAddress: IPv4 octets are decimal even with leading zeros, and an
 *    IPv4-mapped IPv6 address such as "::ffff:a00:1" is IPv4);
 *  - a number matches an equal number (as doubles: 5 == 5.0 == 5e0);
 *    true, false and null match themselves; strings never match numbers;
 *  - prefix, suffix, wildcard, equals-ignore-case and their combinations
 *    match strings only; equals-ignore-case matches character by
 *    character: for each pattern character the event must hold its lower
 *    or its upper case as Java's String.toLowerCase/toUpperCase give them
 *    (towlower/towupper in C.UTF-8, or the special casing table for the
 *    characters that map to several, so "ß" matches "SS"); a character
 *    beyond the BMP is two UTF-16 chars that Java turns into "??";
 *  - numeric matches numbers only; cidr matches strings holding an address
 *    of the same family from the given address with its host bits clear
 *    up to the address with all host bits set;
 *  - anything-but is satisfied by every value that is not excluded, and
 *    only values of the excluded kind can be excluded: anything-but a
 *    string (or prefix, suffix, equals-ignore-case, wildcard) is satisfied
 *    by numbers, booleans and null, anything-but a number by strings,
 *    booleans and null;
 *  - exists: true is satisfied by any leaf (null included); an object, an
 *    empty array or a missing field has no leaf.
 */
#include <arpa/inet.h>
#include <locale.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include <jv.h>

#include "base/base_int.h"
#include "ref.h"
#include "rules/pattern_int.h"
#include "ref_int.h"

/* ---------------------------------------------------------- utilities */

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		ev_oom();
	return p;
}

static char *
xmemdup(const char *s, size_t n)
{
	char *p = xrealloc(NULL, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* A growing string. */
struct buf {
	char *p;
	size_t n, cap;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
buf_fmt(struct buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n :
		    sizeof(tmp) - 1);
}

/* Append the JSON text of v (borrowed), cut to about max bytes. */
static void
buf_json(struct buf *b, jv v, size_t max)
{
	jv s = jv_dump_string(jv_copy(v), 0);
	const char *p = jv_string_value(s);
	size_t n = (size_t)jv_string_length_bytes(jv_copy(s));

	if (n > max) {
		while (max > 0 && ((unsigned char)p[max] & 0xC0) == 0x80)
			max--;
		buf_add(b, p, max);
		buf_str(b, "...");
	} else
		buf_add(b, p, n);
	jv_free(s);
}

/* Append a JSON array (borrowed) as "[a, b, c]". */
static void
buf_list(struct buf *b, jv arr)
{
	int i, n = jv_array_length(jv_copy(arr));

	buf_str(b, "[");
	for (i = 0; i < n; i++) {
		jv e = jv_array_get(jv_copy(arr), i);

		if (i > 0)
			buf_str(b, ", ");
		buf_json(b, e, 80);
		jv_free(e);
	}
	buf_str(b, "]");
}

static void
set_why(char *why, size_t whysz, const char *s)
{
	size_t n;

	if (why == NULL || whysz == 0)
		return;
	n = strlen(s);
	if (n >= whysz) {
		n = whysz - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(why, s, n);
	why[n] = '\0';
}

/* Bytes and length of a jv string (borrowed). */
static const char *
str_of(jv s, size_t *n)
{
	*n = (size_t)jv_string_length_bytes(jv_copy(s));
	return jv_string_value(s);
}

static int
is_str(jv v, const char *s)
{
	size_t n;
	const char *p;

	if (jv_get_kind(v) != JV_KIND_STRING)
		return 0;
	p = str_of(v, &n);
	return n == strlen(s) && memcmp(p, s, n) == 0;
}

/* Decode one UTF-8 sequence at s[*i] (jq has made the text valid). */
static uint32_t
utf8_next(const char *s, size_t n, size_t *i)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t c = u[*i];
	int k, len;

	if (c < 0x80)
		len = 1;
	else if (c >= 0xF0)
		len = 4, c &= 0x07;
	else if (c >= 0xE0)
		len = 3, c &= 0x0F;
	else
		len = 2, c &= 0x1F;
	(*i)++;
	for (k = 1; k < len && *i < n; k++, (*i)++)
		c = (c << 6) | (u[*i] & 0x3F);
	return c;
}

/* Decode s into a malloc'd array of code points; returns the count. */
static size_t
utf8_decode(const char *s, size_t n, uint32_t **out)
{
	size_t i = 0, k = 0;

	*out = xrealloc(NULL, (n + 1) * sizeof(**out));
	while (i < n)
		(*out)[k++] = utf8_next(s, n, &i);
	return k;
}

/*
 * Compare two UTF-8 strings as Java compares Strings: by UTF-16 code
 * units, so that U+FFFF sorts after U+10000.
 */
static int
u16cmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i = 0, j = 0;
	uint32_t ua[2], ub[2];
	int na = 0, nb = 0, ia = 0, ib = 0;

	for (;;) {
		if (ia == na && i < an) {
			uint32_t c = utf8_next(a, an, &i);

			if (c >= 0x10000) {
				ua[0] = 0xD800 + ((c - 0x10000) >> 10);
				ua[1] = 0xDC00 + ((c - 0x10000) & 0x3FF);
				na = 2;
			} else
				ua[0] = c, na = 1;
			ia = 0;
		}
		if (ib == nb && j < bn) {
			uint32_t c = utf8_next(b, bn, &j);

			if (c >= 0x10000) {
				ub[0] = 0xD800 + ((c - 0x10000) >> 10);
				ub[1] = 0xDC00 + ((c - 0x10000) & 0x3FF);
				nb = 2;
			} else
				ub[0] = c, nb = 1;
			ib = 0;
		}
		if (ia == na && ib == nb)
			return 0;
		if (ia == na)
			return -1;
		if (ib == nb)
			return 1;
		if (ua[ia] != ub[ib])
			return ua[ia] < ub[ib] ? -1 : 1;
		ia++, ib++;
	}
}

/* --------------------------------------------------------------- case */

static locale_t utf8_locale;
static int utf8_locale_tried;

static locale_t
case_locale(void)
{
	if (!utf8_locale_tried) {
		utf8_locale_tried = 1;
		utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	}
	return utf8_locale;
}

static uint32_t
lower_of(uint32_t c)
{
	locale_t l = case_locale();

	if (l == (locale_t)0)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	return (uint32_t)towlower_l((wint_t)c, l);
}

static uint32_t
upper_of(uint32_t c)
{
	locale_t l = case_locale();

	if (l == (locale_t)0)
		return c >= 'a' && c <= 'z' ? c - 32 : c;
	return (uint32_t)towupper_l((wint_t)c, l);
}

/*
 * The two forms pattern character p may take in an event, in UTF-8, as
 * Java's String.toLowerCase/toUpperCase(Locale.ROOT) of the one UTF-16
 * char give them: the special casing table for the characters that map to
 * several, "?" for each half of a character beyond the BMP.
 */
static void
ic_forms(uint32_t p, char f[2][16], size_t fn[2])
{
	const struct ev_special_case *sc;
	int k;

	if (p >= 0x10000) {
		for (k = 0; k < 2; k++) {
			memcpy(f[k], "??", 2);
			fn[k] = 2;
		}
		return;
	}
	if ((sc = ev_special_case(p)) != NULL) {
		fn[0] = strlen(sc->lo);
		memcpy(f[0], sc->lo, fn[0]);
		fn[1] = strlen(sc->up);
		memcpy(f[1], sc->up, fn[1]);
		return;
	}
	fn[0] = (size_t)(ev_utf8_put(f[0], lower_of(p)) - f[0]);
	fn[1] = (size_t)(ev_utf8_put(f[1], upper_of(p)) - f[1]);
}

/*
 * Positions of s[0..sn) reachable from those in at after reading pattern
 * characters pc[0..np), each in either form: a set of offsets.
 */
static void
ic_reach(const uint32_t *pc, size_t np, const char *s, size_t sn,
    unsigned char *at)
{
	unsigned char *nx = xrealloc(NULL, sn + 1);
	char f[2][16];
	size_t fn[2], i, j;
	int k;

	for (i = 0; i < np; i++) {
		ic_forms(pc[i], f, fn);
		memset(nx, 0, sn + 1);
		for (j = 0; j <= sn; j++)
			for (k = 0; k < 2 && at[j]; k++)
				if (fn[k] <= sn - j &&
				    memcmp(s + j, f[k], fn[k]) == 0)
					nx[j + fn[k]] = 1;
		memcpy(at, nx, sn + 1);
	}
	free(nx);
}

/* mode 0: whole string, 1: prefix, 2: suffix. */
static int
ic_match(const char *p, size_t pn, const char *s, size_t sn, int mode)
{
	uint32_t *pc;
	size_t np = utf8_decode(p, pn, &pc), j, start;
	unsigned char *at = xrealloc(NULL, sn + 1);
	int ok = 0;

	for (start = 0; start <= sn && !ok; start++) {
		if (start > 0 && mode != 2)
			break;
		memset(at, 0, sn + 1);
		at[start] = 1;
		ic_reach(pc, np, s, sn, at);
		if (mode == 1) {
			for (j = 0; j <= sn; j++)
				ok |= at[j];
		} else {
			ok = at[sn];
		}
	}
	free(pc);
	free(at);
	return ok;
}

/* ----------------------------------------------------------- wildcard */

/* Is p a valid wildcard: no "**", backslash only before '*' or '\'? */
static const char *
wildcard_error(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '*' && i + 1 < n && p[i + 1] == '*')
			return "consecutive wildcard characters";
		if (p[i] == '\\') {
			if (i + 1 < n && (p[i + 1] == '*' || p[i + 1] == '\\'))
				i++;
			else
				return "invalid escape character";
		}
	}
	return NULL;
}

/* Match a valid wildcard pattern against s, byte by byte. */
static int
wildcard_match(const char *p, size_t pn, const char *s, size_t sn)
{
	int *tok = xrealloc(NULL, (pn + 1) * sizeof(*tok));
	size_t nt = 0, i, ti = 0, si = 0, star_t = (size_t)-1, star_s = 0;
	int ok;

	for (i = 0; i < pn; i++) {
		if (p[i] == '*')
			tok[nt++] = -1;
		else if (p[i] == '\\')
			tok[nt++] = (unsigned char)p[++i];
		else
			tok[nt++] = (unsigned char)p[i];
	}
	while (si < sn) {
		if (ti < nt && tok[ti] == -1) {
			star_t = ti++;
			star_s = si;
		} else if (ti < nt && tok[ti] == (unsigned char)s[si]) {
			ti++;
			si++;
		} else if (star_t != (size_t)-1) {
			ti = star_t + 1;
			si = ++star_s;
		} else
			break;
	}
	while (ti < nt && tok[ti] == -1)
		ti++;
	ok = si == sn && ti == nt;
	free(tok);
	return ok;
}

/* ----------------------------------------------------------------- ip */

/*
 * Parse an IP address literal as event-ruler does (its regexes, then
 * Java's InetAddress): IPv4 is four dot-separated decimal numbers up to
 * 255 (leading zeros allowed, read as decimal), 15 characters at most;
 * IPv6 is hex digits and colons only (no embedded IPv4, no zone), in the
 * usual forms; an IPv4-mapped IPv6 address (::ffff:a:b) is IPv4.
 * Returns 4 or 16 (the bytes in out), or 0.
 */
static int
ip_parse(const char *s, size_t n, unsigned char out[16])
{
	size_t i;
	int colon = 0, dots = 0, digits = 0, alldec = 1;
	unsigned val = 0;
	char tmp[64];

	if (n == 0 || n >= sizeof(tmp))
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == ':')
			colon = 1;
		if (c == '.')
			dots++;
		if (!(c >= '0' && c <= '9') && c != '.')
			alldec = 0;
	}
	if (alldec && dots == 3) {
		int part = 0;

		if (n > 15)
			return 0;
		for (i = 0; i <= n; i++) {
			if (i == n || s[i] == '.') {
				if (digits == 0 || val > 255)
					return 0;
				out[part++] = (unsigned char)val;
				val = 0;
				digits = 0;
			} else {
				val = val * 10 + (unsigned)(s[i] - '0');
				digits++;
				if (val > 255)
					return 0;
			}
		}
		return 4;
	}
	if (!colon)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F') || c == ':'))
			return 0;
	}
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET6, tmp, out) != 1)
		return 0;
	for (i = 0; i < 10; i++)
		if (out[i] != 0)
			return 16;
	if (out[10] == 0xFF && out[11] == 0xFF) {
		memmove(out, out + 12, 4);
		return 4;
	}
	return 16;
}

/*
 * Parse "ADDRESS/BITS" into the inclusive range [lo, hi] event-ruler
 * builds: lo is the address with its host bits clear, hi the address with
 * its host bits set.  IPv4 takes 0-31 bits, IPv6 0-127.  Returns the family's byte
 * count, or 0 with a message in *err.
 */
static int
cidr_parse(const char *s, size_t n, unsigned char lo[16],
    unsigned char hi[16], const char **err)
{
	const char *slash = memchr(s, '/', n);
	size_t i, bn;
	long bits = 0;
	int len, hostbits, neg = 0;

	if (slash == NULL || memchr(slash + 1, '/', n - (size_t)(slash - s) - 1)
	    != NULL) {
		*err = "malformed CIDR, one '/' required";
		return 0;
	}
	bn = n - (size_t)(slash - s) - 1;
	i = 0;
	if (bn > 0 && (slash[1] == '+' || slash[1] == '-'))
		neg = slash[1] == '-', i = 1;
	if (i == bn) {
		*err = "malformed CIDR, mask bits must be an integer";
		return 0;
	}
	for (; i < bn; i++) {
		if (slash[1 + i] < '0' || slash[1 + i] > '9') {
			*err = "malformed CIDR, mask bits must be an integer";
			return 0;
		}
		if (bits < 100000)
			bits = bits * 10 + (slash[1 + i] - '0');
	}
	if (neg && bits > 0) {
		*err = "malformed CIDR, mask bits must not be negative";
		return 0;
	}
	len = ip_parse(s, (size_t)(slash - s), lo);
	if (len == 0) {
		*err = "invalid IP address";
		return 0;
	}
	if (len == 4 && bits > 31) {
		*err = "IPv4 mask bits must be < 32";
		return 0;
	}
	if (len == 16 && bits > 127) {
		*err = "IPv6 mask bits must be < 128";
		return 0;
	}
	hostbits = len * 8 - (int)bits;
	for (i = (size_t)len; i-- > 0;) {
		if (hostbits >= 8) {
			lo[i] = 0;
			hi[i] = 0xFF;
		} else if (hostbits <= 0) {
			hi[i] = lo[i];
		} else {
			lo[i] &= (unsigned char)~((1u << hostbits) - 1);
			hi[i] = lo[i] | (unsigned char)((1u << hostbits) - 1);
		}
		hostbits -= 8;
	}
	return len;
}

/* --------------------------------------------------- pattern checking */

static const char *const reserved_in_or[] = {
	"exactly", "equals-ignore-case", "prefix", "suffix", "anything-but",
	"exists", "wildcard", "numeric", "cidr", "=", "<", "<=", ">", ">=",
	"regex", "not-wildcard", "not-equals-ignore-case", "date-after",
	"date-on-or-after", "date-before", "date-on-or-before",
	"in-date-range", "ip-address-in-range", "ip-address-not-in-range",
	NULL
};

/* A field of a sub-rule: its dotted path and its pattern array. */
struct field {
	char *path;
	size_t plen;
	jv vals;
};

struct sub {
	struct field *f;
	size_t n, cap;
};

struct subs {
	struct sub *v;
	size_t n, cap;
};

struct cctx {
	struct buf err;
	const char *path;	/* for messages */
};

static int __attribute__((format(printf, 2, 3)))
bad(struct cctx *c, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;

	if (c->err.n > 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (c->path != NULL)
		buf_fmt(&c->err, "invalid pattern at '%s': %s", c->path, tmp);
	else
		buf_fmt(&c->err, "invalid pattern: %s", tmp);
	return -1;
}

/* Single member of a match-expression object: its key and value. */
static int
sole_member(struct cctx *c, jv obj, jv *key, jv *val)
{
	int it;

	if (jv_object_length(jv_copy(obj)) != 1)
		return jv_object_length(jv_copy(obj)) == 0 ?
		    bad(c, "match expression name not found") :
		    bad(c, "only one key allowed in match expression");
	it = jv_object_iter(obj);
	*key = jv_object_iter_key(obj, it);
	*val = jv_object_iter_value(obj, it);
	return 0;
}

static int
check_wildcard(struct cctx *c, jv s)
{
	size_t n;
	const char *p = str_of(s, &n), *e = wildcard_error(p, n);

	return e == NULL ? 0 : bad(c, "%s in wildcard", e);
}

static int
check_numeric(struct cctx *c, jv arr)
{
	int n = jv_array_length(jv_copy(arr)), i, ok = 0;
	jv a[4];

	if (n != 2 && n != 4)
		return bad(c, "numeric takes an operator and a number, or a "
		    "range");
	for (i = 0; i < n; i++)
		a[i] = jv_array_get(jv_copy(arr), i);
	if (jv_get_kind(a[1]) != JV_KIND_NUMBER ||
	    (n == 4 && jv_get_kind(a[3]) != JV_KIND_NUMBER))
		bad(c, "numeric bounds must be numbers");
	else if (n == 2)
		ok = is_str(a[0], "=") || is_str(a[0], "<") ||
		    is_str(a[0], "<=") || is_str(a[0], ">") ||
		    is_str(a[0], ">=");
	else
		ok = (is_str(a[0], ">") || is_str(a[0], ">=")) &&
		    (is_str(a[2], "<") || is_str(a[2], "<="));
	if (c->err.n == 0 && !ok)
		bad(c, "bad numeric operator");
	if (c->err.n == 0 && n == 4 &&
	    !(jv_number_value(a[1]) < jv_number_value(a[3])))
		bad(c, "numeric range bottom must be less than top");
	for (i = 0; i < n; i++)
		jv_free(a[i]);
	return c->err.n ? -1 : 0;
}

/* {"anything-but": arg} */
static int
check_anything_but(struct cctx *c, jv arg)
{
	jv_kind k = jv_get_kind(arg);
	int i, n, nstr = 0, nnum = 0;

	if (k == JV_KIND_STRING || k == JV_KIND_NUMBER)
		return 0;
	if (k == JV_KIND_ARRAY) {
		n = jv_array_length(jv_copy(arg));
		for (i = 0; i < n; i++) {
			jv e = jv_array_get(jv_copy(arg), i);

			if (jv_get_kind(e) == JV_KIND_STRING)
				nstr++;
			else if (jv_get_kind(e) == JV_KIND_NUMBER)
				nnum++;
			else
				bad(c, "anything-but list holds only strings "
				    "or numbers");
			jv_free(e);
		}
		if (c->err.n == 0 && (nstr == 0) == (nnum == 0))
			bad(c, "anything-but list must be all strings or "
			    "all numbers");
		return c->err.n ? -1 : 0;
	}
	if (k == JV_KIND_OBJECT) {
		jv key, val;
		const char *w = NULL;

		if (sole_member(c, arg, &key, &val) < 0)
			return -1;
		if (is_str(key, "prefix") || is_str(key, "suffix"))
			w = "p";
		else if (is_str(key, "equals-ignore-case"))
			w = "i";
		else if (is_str(key, "wildcard"))
			w = "w";
		else
			bad(c, "unsupported anything-but operator '%s'",
			    jv_string_value(key));
		if (w != NULL) {
			int many = jv_get_kind(val) == JV_KIND_ARRAY;

			n = many ? jv_array_length(jv_copy(val)) : 1;
			for (i = 0; i < n && c->err.n == 0; i++) {
				jv e = many ? jv_array_get(jv_copy(val), i) :
				    jv_copy(val);

				if (jv_get_kind(e) != JV_KIND_STRING)
					bad(c, "anything-but %s takes strings",
					    jv_string_value(key));
				else if (*w == 'p' &&
				    jv_string_length_bytes(jv_copy(e)) == 0)
					bad(c, "empty anything-but %s",
					    jv_string_value(key));
				else if (*w == 'w')
					check_wildcard(c, e);
				jv_free(e);
			}
		}
		jv_free(key);
		jv_free(val);
		return c->err.n ? -1 : 0;
	}
	return bad(c, "anything-but takes a string, a number, a list or an "
	    "object");
}

/* One match expression: {"prefix": "x"} and the like. */
static int
check_expr(struct cctx *c, jv obj)
{
	jv key, val;
	jv_kind vk;
	const char *k;

	if (sole_member(c, obj, &key, &val) < 0)
		return -1;
	k = jv_string_value(key);
	vk = jv_get_kind(val);
	if (strcmp(k, "prefix") == 0 || strcmp(k, "suffix") == 0) {
		if (vk == JV_KIND_OBJECT) {
			jv k2, v2;

			if (sole_member(c, val, &k2, &v2) == 0) {
				if (!is_str(k2, "equals-ignore-case"))
					bad(c, "unsupported %s operator '%s'",
					    k, jv_string_value(k2));
				else if (jv_get_kind(v2) != JV_KIND_STRING)
					bad(c, "equals-ignore-case takes a "
					    "string");
				jv_free(k2);
				jv_free(v2);
			}
		} else if (vk != JV_KIND_STRING)
			bad(c, "%s takes a string", k);
	} else if (strcmp(k, "exactly") == 0 ||
	    strcmp(k, "equals-ignore-case") == 0) {
		if (vk != JV_KIND_STRING)
			bad(c, "%s takes a string", k);
	} else if (strcmp(k, "wildcard") == 0) {
		if (vk != JV_KIND_STRING)
			bad(c, "wildcard takes a string");
		else
			check_wildcard(c, val);
	} else if (strcmp(k, "numeric") == 0) {
		if (vk != JV_KIND_ARRAY)
			bad(c, "numeric takes an array");
		else
			check_numeric(c, val);
	} else if (strcmp(k, "anything-but") == 0) {
		check_anything_but(c, val);
	} else if (strcmp(k, "exists") == 0) {
		if (vk != JV_KIND_TRUE && vk != JV_KIND_FALSE)
			bad(c, "exists takes true or false");
	} else if (strcmp(k, "cidr") == 0) {
		unsigned char lo[16], hi[16];
		const char *e = NULL;
		size_t n;

		if (vk != JV_KIND_STRING)
			bad(c, "cidr takes a string");
		else {
			const char *p = str_of(val, &n);

			if (cidr_parse(p, n, lo, hi, &e) == 0)
				bad(c, "%s", e);
		}
	} else
		bad(c, "unrecognized match type '%s'", k);
	jv_free(key);
	jv_free(val);
	return c->err.n ? -1 : 0;
}

/* The array of a field: values and match expressions, at least one. */
static int
check_values(struct cctx *c, jv arr)
{
	int i, n = jv_array_length(jv_copy(arr));

	if (n == 0)
		return bad(c, "empty arrays are not allowed");
	for (i = 0; i < n && c->err.n == 0; i++) {
		jv e = jv_array_get(jv_copy(arr), i);

		switch (jv_get_kind(e)) {
		case JV_KIND_OBJECT:
			check_expr(c, e);
			break;
		case JV_KIND_ARRAY:
			bad(c, "match value must be a string, number, true, "
			    "false or null");
			break;
		default:
			break;
		}
		jv_free(e);
	}
	return c->err.n ? -1 : 0;
}

/* ------------------------------------------------ sub-rule expansion */

static void
sub_put(struct sub *s, const char *path, size_t plen, jv vals)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->f[i].plen == plen && memcmp(s->f[i].path, path, plen)
		    == 0) {
			jv_free(s->f[i].vals);
			s->f[i].vals = vals;
			return;
		}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->f = xrealloc(s->f, s->cap * sizeof(*s->f));
	}
	s->f[s->n].path = xmemdup(path, plen);
	s->f[s->n].plen = plen;
	s->f[s->n].vals = vals;
	s->n++;
}

static void
sub_free(struct sub *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->f[i].path);
		jv_free(s->f[i].vals);
	}
	free(s->f);
	s->f = NULL;
	s->n = s->cap = 0;
}

static void
subs_push(struct subs *ss, struct sub s)
{
	if (ss->n == ss->cap) {
		ss->cap = ss->cap ? ss->cap * 2 : 4;
		ss->v = xrealloc(ss->v, ss->cap * sizeof(*ss->v));
	}
	ss->v[ss->n++] = s;
}

static struct sub
sub_copy(const struct sub *s)
{
	struct sub d = { NULL, 0, 0 };
	size_t i;

	for (i = 0; i < s->n; i++)
		sub_put(&d, s->f[i].path, s->f[i].plen, jv_copy(s->f[i].vals));
	return d;
}

static void
subs_free(struct subs *ss)
{
	size_t i;

	for (i = 0; i < ss->n; i++)
		sub_free(&ss->v[i]);
	free(ss->v);
	ss->v = NULL;
	ss->n = ss->cap = 0;
}

static int expand_object(struct cctx *, struct subs *, const char *, size_t,
    jv, int);

/* "$or": [ {...}, {...} ] at prefix. */
static int
expand_or(struct cctx *c, struct subs *ss, const char *prefix, size_t plen,
    jv arr)
{
	struct subs current = *ss, out = { NULL, 0, 0 };
	const char *where = c->path;
	int i, n;

	ss->v = NULL;
	ss->n = ss->cap = 0;
	if (jv_get_kind(arr) != JV_KIND_ARRAY) {
		*ss = current;
		return bad(c, "\"$or\" takes an array");
	}
	n = jv_array_length(jv_copy(arr));
	for (i = 0; i < n && c->err.n == 0; i++) {
		jv e = jv_array_get(jv_copy(arr), i);
		struct subs branch = { NULL, 0, 0 };
		size_t k;

		if (jv_get_kind(e) != JV_KIND_OBJECT) {
			c->path = where;
			bad(c, "only objects are allowed in \"$or\"");
			jv_free(e);
			break;
		}
		for (k = 0; k < current.n; k++)
			subs_push(&branch, sub_copy(&current.v[k]));
		if (branch.n == 0)
			subs_push(&branch, (struct sub){ NULL, 0, 0 });
		expand_object(c, &branch, prefix, plen, e, 1);
		for (k = 0; k < branch.n; k++)
			subs_push(&out, branch.v[k]);
		free(branch.v);
		jv_free(e);
	}
	c->path = where;
	if (c->err.n == 0 && n < 2)
		bad(c, "\"$or\" needs at least two objects");
	subs_free(&current);
	*ss = out;
	return c->err.n ? -1 : 0;
}

/*
 * Expand the members of pattern object obj at path prefix into ss,
 * mirroring JsonRuleCompiler.parseObject (in_or: inside an "$or" branch,
 * where operator names are reserved).
 */
static int
expand_object(struct cctx *c, struct subs *ss, const char *prefix,
    size_t plen, jv obj, int in_or)
{
	int it, any = 0;

	for (it = jv_object_iter(obj); jv_object_iter_valid(obj, it) &&
	    c->err.n == 0; it = jv_object_iter_next(obj, it)) {
		jv key = jv_object_iter_key(obj, it);
		jv val = jv_object_iter_value(obj, it);
		size_t kn, pn;
		const char *k = str_of(key, &kn), *const *r = NULL;
		char *path;

		any = 1;
		pn = plen ? plen + 1 + kn : kn;
		path = xrealloc(NULL, pn + 1);
		if (plen) {
			memcpy(path, prefix, plen);
			path[plen] = '.';
			memcpy(path + plen + 1, k, kn);
		} else
			memcpy(path, k, kn);
		path[pn] = '\0';
		c->path = path;
		if (is_str(key, "$or")) {
			c->path = plen ? prefix : NULL;
			expand_or(c, ss, prefix, plen, val);
		} else {
			for (r = reserved_in_or; in_or && *r != NULL; r++)
				if (is_str(key, *r))
					break;
			if (in_or && *r != NULL)
				bad(c, "'%s' is reserved inside \"$or\"", *r);
			else if (jv_get_kind(val) == JV_KIND_OBJECT)
				expand_object(c, ss, path, pn, val, in_or);
			else if (jv_get_kind(val) != JV_KIND_ARRAY)
				bad(c, "a field must hold an object or an "
				    "array");
			else if (check_values(c, val) == 0) {
				size_t i;

				if (ss->n == 0)
					subs_push(ss, (struct sub){ NULL, 0,
					    0 });
				for (i = 0; i < ss->n; i++)
					sub_put(&ss->v[i], path, pn,
					    jv_copy(val));
			}
		}
		/* messages are formatted at once: path may go now */
		free(path);
		c->path = NULL;
		jv_free(key);
		jv_free(val);
	}
	if (!any && c->err.n == 0) {
		c->path = plen ? prefix : NULL;
		bad(c, "empty objects are not allowed");
		c->path = NULL;
	}
	return c->err.n ? -1 : 0;
}

/* Expand pattern into sub-rules; -1 with c->err set when invalid. */
static int
expand(struct cctx *c, jv pattern, struct subs *ss)
{
	ss->v = NULL;
	ss->n = ss->cap = 0;
	if (jv_get_kind(pattern) != JV_KIND_OBJECT)
		return bad(c, "filter is not an object");
	if (expand_object(c, ss, "", 0, pattern, 0) < 0) {
		subs_free(ss);
		return -1;
	}
	return 0;
}

/*
 * Validate pattern (borrowed) by expanding it; -1 with the reason in why.
 */
int
ev_ref_check(jv pattern, char *why, size_t whysz)
{
	struct cctx c = { { NULL, 0, 0 }, NULL };
	struct subs ss;
	int r = expand(&c, pattern, &ss);

	if (r < 0)
		set_why(why, whysz, c.err.p);
	else
		subs_free(&ss);
	free(c.err.p);
	return r;
}

/* ------------------------------------------------------------- events */

struct memb {
	int arr, idx;
};

enum leafkind {
	LEAF_VALUE,	/* a scalar */
	LEAF_OBJECT,	/* an object (kept for explanations) */
	LEAF_EMPTY	/* an empty array (kept for explanations) */
};

struct leaf {
	enum leafkind kind;
	char *path;
	size_t plen;
	jv v;
	struct memb *m;
	int nm;
};

struct event {
	struct leaf *l;
	size_t n, cap;
	int narrays;
	struct memb *stack;	/* membership while flattening */
	int nstack, capstack;
};

static void
add_leaf(struct event *ev, enum leafkind kind, const char *path,
    size_t plen, jv v)
{
	struct leaf *l;

	if (ev->n == ev->cap) {
		ev->cap = ev->cap ? ev->cap * 2 : 16;
		ev->l = xrealloc(ev->l, ev->cap * sizeof(*ev->l));
	}
	l = &ev->l[ev->n++];
	l->kind = kind;
	l->path = xmemdup(path, plen);
	l->plen = plen;
	l->v = v;
	l->nm = ev->nstack;
	l->m = xrealloc(NULL, (size_t)(ev->nstack + 1) * sizeof(*l->m));
	if (ev->nstack > 0)
		memcpy(l->m, ev->stack, (size_t)ev->nstack * sizeof(*l->m));
}

static void
push_memb(struct event *ev, int arr, int idx)
{
	if (ev->nstack == ev->capstack) {
		ev->capstack = ev->capstack ? ev->capstack * 2 : 8;
		ev->stack = xrealloc(ev->stack,
		    (size_t)ev->capstack * sizeof(*ev->stack));
	}
	ev->stack[ev->nstack].arr = arr;
	ev->stack[ev->nstack].idx = idx;
	ev->nstack++;
}

static void flatten_value(struct event *, const char *, size_t, jv);

static void
flatten_object(struct event *ev, const char *prefix, size_t plen, jv obj)
{
	int it;

	for (it = jv_object_iter(obj); jv_object_iter_valid(obj, it);
	    it = jv_object_iter_next(obj, it)) {
		jv key = jv_object_iter_key(obj, it);
		jv val = jv_object_iter_value(obj, it);
		size_t kn, pn;
		const char *k = str_of(key, &kn);
		char *path;

		pn = plen ? plen + 1 + kn : kn;
		path = xrealloc(NULL, pn + 1);
		if (plen) {
			memcpy(path, prefix, plen);
			path[plen] = '.';
			memcpy(path + plen + 1, k, kn);
		} else
			memcpy(path, k, kn);
		flatten_value(ev, path, pn, val);
		free(path);
		jv_free(key);
	}
}

static void
flatten_array(struct event *ev, const char *path, size_t plen, jv arr)
{
	int id = ev->narrays++, i, n = jv_array_length(jv_copy(arr));

	if (n == 0)
		add_leaf(ev, LEAF_EMPTY, path, plen, jv_null());
	for (i = 0; i < n; i++) {
		jv e = jv_array_get(jv_copy(arr), i);
		jv_kind k = jv_get_kind(e);

		if (k == JV_KIND_OBJECT || k == JV_KIND_ARRAY) {
			push_memb(ev, id, i);
			flatten_value(ev, path, plen, e);
			ev->nstack--;
		} else
			flatten_value(ev, path, plen, e);
	}
}

/* Flatten v (consumed) found at path. */
static void
flatten_value(struct event *ev, const char *path, size_t plen, jv v)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_OBJECT:
		add_leaf(ev, LEAF_OBJECT, path, plen, jv_null());
		flatten_object(ev, path, plen, v);
		jv_free(v);
		break;
	case JV_KIND_ARRAY:
		flatten_array(ev, path, plen, v);
		jv_free(v);
		break;
	default:
		add_leaf(ev, LEAF_VALUE, path, plen, v);
		break;
	}
}

static void
event_free(struct event *ev)
{
	size_t i;

	for (i = 0; i < ev->n; i++) {
		free(ev->l[i].path);
		free(ev->l[i].m);
		jv_free(ev->l[i].v);
	}
	free(ev->l);
	free(ev->stack);
}

/* --------------------------------------------------------- conditions */

static int
str_eq(jv a, jv b)
{
	size_t an, bn;
	const char *ap = str_of(a, &an), *bp = str_of(b, &bn);

	return an == bn && memcmp(ap, bp, an) == 0;
}

/* Does string value v (borrowed) satisfy the string test op/arg? */
static int
str_test(const char *op, jv arg, jv v)
{
	size_t an, vn;
	const char *a, *s;

	if (jv_get_kind(v) != JV_KIND_STRING)
		return 0;
	s = str_of(v, &vn);
	if (jv_get_kind(arg) == JV_KIND_OBJECT) {
		/* {"prefix"|"suffix": {"equals-ignore-case": "x"}} */
		int it = jv_object_iter(arg);
		jv inner = jv_object_iter_value(arg, it);
		int r;

		a = str_of(inner, &an);
		r = ic_match(a, an, s, vn, strcmp(op, "prefix") == 0 ? 1 : 2);
		jv_free(inner);
		return r;
	}
	a = str_of(arg, &an);
	if (strcmp(op, "prefix") == 0)
		return vn >= an && memcmp(s, a, an) == 0;
	if (strcmp(op, "suffix") == 0)
		return vn >= an && memcmp(s + vn - an, a, an) == 0;
	if (strcmp(op, "equals-ignore-case") == 0)
		return ic_match(a, an, s, vn, 0);
	if (strcmp(op, "wildcard") == 0)
		return wildcard_match(a, an, s, vn);
	if (strcmp(op, "exactly") == 0)
		return vn == an && memcmp(s, a, an) == 0;
	return 0;
}

static int
numeric_test(jv arr, double x)
{
	int i, n = jv_array_length(jv_copy(arr)), ok = 1;

	for (i = 0; i + 1 < n && ok; i += 2) {
		jv op = jv_array_get(jv_copy(arr), i);
		jv num = jv_array_get(jv_copy(arr), i + 1);
		double b = jv_number_value(num);

		if (is_str(op, "="))
			ok = x == b;
		else if (is_str(op, "<"))
			ok = x < b;
		else if (is_str(op, "<="))
			ok = x <= b;
		else if (is_str(op, ">"))
			ok = x > b;
		else
			ok = x >= b;
		jv_free(op);
		jv_free(num);
	}
	return ok;
}

/*
 * Is the address v (vl bytes) in [lo, hi] (len bytes)?  Read as
 * event-ruler's byte machine reads it: both as upper-case hex digits, v
 * is in when its digits cover the block's width and lie between lo and
 * hi, or when a shorter run of its leading digits is already strictly
 * between the same runs of lo and hi.  The lengths need not agree.
 */
static int
ip_in_hex(const char *vx, size_t m, const unsigned char *lo,
    const unsigned char *hi, int len)
{
	char lx[33], hx[33];
	size_t i, n;

	if (len <= 0 || len > 16)
		return 0;
	n = 2 * (size_t)len;
	for (i = 0; i < (size_t)len; i++) {
		snprintf(lx + 2 * i, 3, "%02X", lo[i]);
		snprintf(hx + 2 * i, 3, "%02X", hi[i]);
	}
	/* the whole block's width read and inside it */
	if (m >= n && memcmp(vx, lx, n) >= 0 && memcmp(vx, hx, n) <= 0)
		return 1;
	/* or some shorter run of leading digits already strictly inside */
	for (i = 1; i < n && i <= m; i++)
		if (memcmp(vx, lx, i) > 0 && memcmp(vx, hx, i) < 0)
			return 1;
	return 0;
}

static int
ip_in(const unsigned char *v, int vl, const unsigned char *lo,
    const unsigned char *hi, int len)
{
	char vx[33];
	int i;

	if (vl <= 0 || vl > 16)
		return 0;
	for (i = 0; i < vl; i++)
		snprintf(vx + 2 * i, 3, "%02X", v[i]);
	return ip_in_hex(vx, 2 * (size_t)vl, lo, hi, len);
}

/*
 * The number v read as event-ruler reads a number against a CIDR range
 * when its field has no numeric pattern: its text, up to the first
 * character that is not 0-9 or A-F, as hex digits.  libjq keeps no number
 * text, so the text here is the shortest "%.17g" spelling of the double:
 * right for the integers and decimals the tests use, not for "1E5".
 */
static int
number_in(jv v, const unsigned char *lo, const unsigned char *hi, int len)
{
	char t[64];
	size_t m = 0;
	int prec;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(t, sizeof(t), "%.*g", prec, jv_number_value(v));
		if (strtod(t, NULL) == jv_number_value(v))
			break;
	}
	while (m < 32 && ((t[m] >= '0' && t[m] <= '9') ||
	    (t[m] >= 'A' && t[m] <= 'F')))
		m++;
	return ip_in_hex(t, m, lo, hi, len);
}

/* Is v excluded by the argument of anything-but? */
static int
excluded(jv arg, jv v)
{
	jv_kind ak = jv_get_kind(arg), vk = jv_get_kind(v);
	int i, n, r = 0;

	if (ak == JV_KIND_STRING)
		return vk == JV_KIND_STRING && str_eq(arg, v);
	if (ak == JV_KIND_NUMBER)
		return vk == JV_KIND_NUMBER &&
		    jv_number_value(arg) == jv_number_value(v);
	if (ak == JV_KIND_ARRAY) {
		n = jv_array_length(jv_copy(arg));
		for (i = 0; i < n && !r; i++) {
			jv e = jv_array_get(jv_copy(arg), i);

			r = excluded(e, v);
			jv_free(e);
		}
		return r;
	}
	/* {"prefix"|"suffix"|"equals-ignore-case"|"wildcard": s or [s]} */
	{
		int it = jv_object_iter(arg);
		jv key = jv_object_iter_key(arg, it);
		jv val = jv_object_iter_value(arg, it);
		const char *op = jv_string_value(key);

		if (jv_get_kind(val) == JV_KIND_ARRAY) {
			n = jv_array_length(jv_copy(val));
			for (i = 0; i < n && !r; i++) {
				jv e = jv_array_get(jv_copy(val), i);

				r = str_test(op, e, v);
				jv_free(e);
			}
		} else
			r = str_test(op, val, v);
		jv_free(key);
		jv_free(val);
		return r;
	}
}

/*
 * Does scalar v satisfy condition cond (an element of a pattern array)?
 * {"exists": false} is never satisfied by a value.
 */
static int
cond_test(jv cond, jv v, int numtext)
{
	jv_kind ck = jv_get_kind(cond), vk = jv_get_kind(v);
	unsigned char a[16], b[16], lo[16], hi[16];
	int al, bl, it, r;
	size_t n, m;
	const char *p, *e;
	jv key, arg;

	switch (ck) {
	case JV_KIND_STRING:
		p = str_of(cond, &n);
		al = ip_parse(p, n, a);
		if (al != 0 && vk == JV_KIND_NUMBER && numtext)
			return number_in(v, a, a, al);
		if (vk != JV_KIND_STRING)
			return 0;
		if (al == 0)
			return str_eq(cond, v);
		p = str_of(v, &m);
		bl = ip_parse(p, m, b);
		return ip_in(b, bl, a, a, al);
	case JV_KIND_NUMBER:
		return vk == JV_KIND_NUMBER &&
		    jv_number_value(cond) == jv_number_value(v);
	case JV_KIND_TRUE:
	case JV_KIND_FALSE:
	case JV_KIND_NULL:
		return vk == ck;
	case JV_KIND_OBJECT:
		break;
	default:
		return 0;
	}
	it = jv_object_iter(cond);
	key = jv_object_iter_key(cond, it);
	arg = jv_object_iter_value(cond, it);
	p = jv_string_value(key);
	if (strcmp(p, "exists") == 0)
		r = jv_get_kind(arg) == JV_KIND_TRUE;
	else if (strcmp(p, "numeric") == 0)
		r = vk == JV_KIND_NUMBER &&
		    numeric_test(arg, jv_number_value(v));
	else if (strcmp(p, "cidr") == 0) {
		e = str_of(arg, &n);
		al = cidr_parse(e, n, lo, hi, &e);
		r = 0;
		if (vk == JV_KIND_STRING) {
			p = str_of(v, &m);
			bl = ip_parse(p, m, b);
			r = ip_in(b, bl, lo, hi, al);
		} else if (vk == JV_KIND_NUMBER && numtext) {
			r = number_in(v, lo, hi, al);
		}
	} else if (strcmp(p, "anything-but") == 0)
		r = !excluded(arg, v);
	else
		r = str_test(p, arg, v);
	jv_free(key);
	jv_free(arg);
	return r;
}

/* Is cond {"exists": <want>}? */
static int
is_exists(jv cond, int want)
{
	jv key, arg;
	int it, r;

	if (jv_get_kind(cond) != JV_KIND_OBJECT)
		return 0;
	it = jv_object_iter(cond);
	key = jv_object_iter_key(cond, it);
	arg = jv_object_iter_value(cond, it);
	r = is_str(key, "exists") &&
	    jv_get_kind(arg) == (want ? JV_KIND_TRUE : JV_KIND_FALSE);
	jv_free(key);
	jv_free(arg);
	return r;
}

/*
 * Does v satisfy some condition of the pattern array vals?  numtext: the
 * rule has no numeric condition on this path (see number_in).
 */
static int
field_test(jv vals, jv v, int numtext)
{
	int i, n = jv_array_length(jv_copy(vals)), r = 0;

	for (i = 0; i < n && !r; i++) {
		jv c = jv_array_get(jv_copy(vals), i);

		r = cond_test(c, v, numtext);
		jv_free(c);
	}
	return r;
}

/* Count the conditions of vals that are / are not {"exists": false}. */
static void
count_conds(jv vals, int *nabsent, int *nvalue)
{
	int i, n = jv_array_length(jv_copy(vals));

	*nabsent = *nvalue = 0;
	for (i = 0; i < n; i++) {
		jv c = jv_array_get(jv_copy(vals), i);

		if (is_exists(c, 0))
			(*nabsent)++;
		else
			(*nvalue)++;
		jv_free(c);
	}
}

/* ----------------------------------------------------------- matching */

struct mfield {
	const struct field *f;
	int absent_ok;		/* has {"exists": false} */
	int valued;		/* has some other condition */
	struct leaf **cand;	/* leaves at the path that satisfy it */
	size_t ncand;
	struct leaf **all;	/* every value leaf at the path */
	size_t nall;
};

struct mctx {
	struct mfield *mf;
	size_t n;
	int failed;		/* some failure recorded */
	size_t deepest;		/* furthest field the search failed at */
};

static int
consistent(const struct memb *so, int nso, const struct memb *m, int nm)
{
	int i, j;

	for (i = 0; i < nm; i++)
		for (j = 0; j < nso; j++)
			if (m[i].arr == so[j].arr && m[i].idx != so[j].idx)
				return 0;
	return 1;
}

/*
 * Can fields i.. be satisfied given the membership so[0..nso) of the
 * leaves chosen for the fields before i?
 */
static int
search(struct mctx *mc, size_t i, const struct memb *so, int nso)
{
	struct mfield *f;
	struct leaf *present = NULL;
	size_t k;
	int j, l;

	if (i == mc->n)
		return 1;
	f = &mc->mf[i];
	for (k = 0; k < f->ncand; k++) {
		struct leaf *lf = f->cand[k];
		struct memb *m;
		int nm = nso, r;

		if (!consistent(so, nso, lf->m, lf->nm))
			continue;
		m = xrealloc(NULL, (size_t)(nso + lf->nm + 1) * sizeof(*m));
		if (nso > 0)
			memcpy(m, so, (size_t)nso * sizeof(*m));
		for (j = 0; j < lf->nm; j++) {
			for (l = 0; l < nso; l++)
				if (so[l].arr == lf->m[j].arr)
					break;
			if (l == nso)
				m[nm++] = lf->m[j];
		}
		r = search(mc, i + 1, m, nm);
		free(m);
		if (r)
			return 1;
	}
	if (f->absent_ok) {
		for (k = 0; k < f->nall && present == NULL; k++)
			if (consistent(so, nso, f->all[k]->m, f->all[k]->nm))
				present = f->all[k];
		if (present == NULL && search(mc, i + 1, so, nso))
			return 1;
	}
	if (!mc->failed || i > mc->deepest) {
		mc->failed = 1;
		mc->deepest = i;
	}
	return 0;
}

static int
mfield_cmp(const void *a, const void *b)
{
	const struct mfield *x = a, *y = b;

	return u16cmp(x->f->path, x->f->plen, y->f->path, y->f->plen);
}

static void
mfields_free(struct mfield *mf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(mf[i].cand);
		free(mf[i].all);
	}
	free(mf);
}

/*
 * Is some condition of the rule at path numeric (a number, numeric, or
 * anything-but numbers)?  Then event-ruler's byte machine for the path
 * reads numbers as numbers only, never through a CIDR range.
 */
static int
path_numeric(const struct subs *ss, const char *path, size_t plen)
{
	size_t s, f;
	int i, n, r = 0;

	for (s = 0; s < ss->n && !r; s++)
		for (f = 0; f < ss->v[s].n && !r; f++) {
			const struct field *fd = &ss->v[s].f[f];

			if (fd->plen != plen || memcmp(fd->path, path, plen))
				continue;
			n = jv_array_length(jv_copy(fd->vals));
			for (i = 0; i < n && !r; i++) {
				jv c = jv_array_get(jv_copy(fd->vals), i), a, e;

				if (jv_get_kind(c) == JV_KIND_NUMBER) {
					r = 1;
				} else if (jv_get_kind(c) == JV_KIND_OBJECT) {
					a = jv_object_get(jv_copy(c),
					    jv_string("anything-but"));
					e = jv_get_kind(a) == JV_KIND_ARRAY &&
					    jv_array_length(jv_copy(a)) > 0 ?
					    jv_array_get(jv_copy(a), 0) :
					    jv_null();
					r = jv_object_has(jv_copy(c),
					    jv_string("numeric")) ||
					    jv_get_kind(a) == JV_KIND_NUMBER ||
					    jv_get_kind(e) == JV_KIND_NUMBER;
					jv_free(a);
					jv_free(e);
				}
				jv_free(c);
			}
		}
	return r;
}

/* Prepare the fields of sub-rule s against ev, sorted as event-ruler. */
static struct mfield *
prepare(const struct sub *s, struct event *ev, const struct subs *ss)
{
	struct mfield *mf = xrealloc(NULL, (s->n + 1) * sizeof(*mf));
	size_t i, k;

	for (i = 0; i < s->n; i++) {
		struct mfield *f = &mf[i];
		int na, nv, numtext;

		f->f = &s->f[i];
		count_conds(f->f->vals, &na, &nv);
		f->absent_ok = na > 0;
		f->valued = nv > 0;
		f->cand = xrealloc(NULL, (ev->n + 1) * sizeof(*f->cand));
		f->all = xrealloc(NULL, (ev->n + 1) * sizeof(*f->all));
		f->ncand = f->nall = 0;
		numtext = !path_numeric(ss, f->f->path, f->f->plen);
		for (k = 0; k < ev->n; k++) {
			struct leaf *l = &ev->l[k];

			if (l->kind != LEAF_VALUE || l->plen != f->f->plen ||
			    memcmp(l->path, f->f->path, l->plen) != 0)
				continue;
			f->all[f->nall++] = l;
			if (f->valued && field_test(f->f->vals, l->v, numtext))
				f->cand[f->ncand++] = l;
		}
	}
	qsort(mf, s->n, sizeof(*mf), mfield_cmp);
	return mf;
}

/* ------------------------------------------------------- explanations */

/* Append what field f wants: "exists: true", "x" or [a, b]. */
static void
want_of(struct buf *b, jv vals)
{
	int n = jv_array_length(jv_copy(vals));
	jv c;

	if (n != 1) {
		buf_list(b, vals);
		return;
	}
	c = jv_array_get(jv_copy(vals), 0);
	if (is_exists(c, 1))
		buf_str(b, "exists: true");
	else
		buf_json(b, c, 120);
	jv_free(c);
}

/* Append why a present value fails the (non-absent) conditions. */
static void
phrase(struct buf *b, jv vals)
{
	int i, n = jv_array_length(jv_copy(vals)), nscalar = 0, nobj = 0;
	jv only = jv_invalid();

	for (i = 0; i < n; i++) {
		jv c = jv_array_get(jv_copy(vals), i);

		if (is_exists(c, 0)) {
			jv_free(c);
			continue;
		}
		if (jv_get_kind(c) == JV_KIND_OBJECT)
			nobj++;
		else
			nscalar++;
		jv_free(only);
		only = c;
	}
	if (nscalar + nobj > 1) {
		jv list = jv_array();

		for (i = 0; i < n; i++) {
			jv c = jv_array_get(jv_copy(vals), i);

			if (is_exists(c, 0))
				jv_free(c);
			else
				list = jv_array_append(list, c);
		}
		buf_str(b, nobj == 0 ? "is not one of " : "matches none of ");
		buf_list(b, list);
		jv_free(list);
	} else if (nscalar == 1) {
		buf_str(b, "is not ");
		buf_json(b, only, 120);
	} else if (nobj == 1) {
		int it = jv_object_iter(only);
		jv key = jv_object_iter_key(only, it);
		jv arg = jv_object_iter_value(only, it);
		const char *k = jv_string_value(key);

		if (strcmp(k, "numeric") == 0) {
			buf_str(b, "is not in numeric ");
			buf_list(b, arg);
		} else if (strcmp(k, "cidr") == 0) {
			buf_str(b, "is not in cidr ");
			buf_json(b, arg, 80);
		} else if (strcmp(k, "anything-but") == 0) {
			buf_str(b, "is excluded by anything-but ");
			if (jv_get_kind(arg) == JV_KIND_ARRAY)
				buf_list(b, arg);
			else
				buf_json(b, arg, 120);
		} else if (strcmp(k, "exactly") == 0) {
			buf_str(b, "is not exactly ");
			buf_json(b, arg, 120);
		} else if (strcmp(k, "exists") == 0) {
			buf_str(b, "exists");
		} else if (jv_get_kind(arg) == JV_KIND_OBJECT) {
			/* prefix/suffix with equals-ignore-case */
			int it2 = jv_object_iter(arg);
			jv s = jv_object_iter_value(arg, it2);

			buf_fmt(b, "does not match %s equals-ignore-case ", k);
			buf_json(b, s, 120);
			jv_free(s);
		} else {
			buf_fmt(b, "does not match %s ", k);
			buf_json(b, arg, 120);
		}
		jv_free(key);
		jv_free(arg);
	}
	jv_free(only);
}

/* Append the values of the leaves: one as itself, several as a list. */
static void
values_of(struct buf *b, struct leaf **l, size_t n)
{
	size_t i;

	if (n == 1) {
		buf_json(b, l[0]->v, 120);
		return;
	}
	buf_str(b, "[");
	for (i = 0; i < n && i < 8; i++) {
		if (i > 0)
			buf_str(b, ", ");
		buf_json(b, l[i]->v, 60);
	}
	if (n > 8)
		buf_str(b, ", ...");
	buf_str(b, "]");
}

/*
 * Is field f satisfiable on its own (ignoring the other fields)?  If not,
 * append the reason to b.
 */
static int
explain_field(struct buf *b, const struct mfield *f, struct event *ev)
{
	size_t k;
	enum leafkind shape = LEAF_VALUE;
	int only_exists = 0;

	if (f->ncand > 0 || (f->absent_ok && f->nall == 0))
		return 1;
	buf_add(b, f->f->path, f->f->plen);
	buf_str(b, ": ");
	if (f->nall > 0) {
		/* present, but no value satisfies */
		values_of(b, f->all, f->nall);
		if (!f->valued) {
			buf_str(b, " is present (exists: false)");
			return 0;
		}
		buf_str(b, " ");
		phrase(b, f->f->vals);
		return 0;
	}
	for (k = 0; k < ev->n; k++)
		if (ev->l[k].kind != LEAF_VALUE &&
		    ev->l[k].plen == f->f->plen &&
		    memcmp(ev->l[k].path, f->f->path, f->f->plen) == 0)
			shape = ev->l[k].kind;
	if (jv_array_length(jv_copy(f->f->vals)) == 1) {
		jv c = jv_array_get(jv_copy(f->f->vals), 0);

		only_exists = is_exists(c, 1);
		jv_free(c);
	}
	if (shape == LEAF_OBJECT)
		buf_str(b, "is an object, wanted ");
	else if (shape == LEAF_EMPTY)
		buf_str(b, "is an empty array, wanted ");
	else if (only_exists) {
		buf_str(b, "missing (exists: true)");
		return 0;
	} else
		buf_str(b, "missing, wanted ");
	want_of(b, f->f->vals);
	return 0;
}

/*
 * Match event against pattern (both borrowed): try each sub-rule; when
 * none matches, explain the one that came closest (most fields satisfied
 * on their own, then the furthest the consistent search got).
 */
int
ev_ref_match(jv pattern, jv event, char *why, size_t whysz)
{
	struct cctx c = { { NULL, 0, 0 }, NULL };
	struct subs ss;
	struct event ev = { NULL, 0, 0, 0, NULL, 0, 0 };
	struct buf best = { NULL, 0, 0 };
	size_t s, i;
	long best_score = -1;
	int matched = 0;

	if (expand(&c, pattern, &ss) < 0) {
		set_why(why, whysz, c.err.p);
		free(c.err.p);
		return -1;
	}
	if (jv_get_kind(event) != JV_KIND_OBJECT) {
		set_why(why, whysz, "event is not a JSON object");
		subs_free(&ss);
		return -1;
	}
	flatten_object(&ev, "", 0, event);
	for (s = 0; s < ss.n && !matched; s++) {
		struct mfield *mf = prepare(&ss.v[s], &ev, &ss);
		struct mctx mc = { mf, ss.v[s].n, 0, 0 };
		struct buf b = { NULL, 0, 0 };
		long score = 0;

		matched = search(&mc, 0, NULL, 0);
		if (!matched) {
			/* score: fields satisfiable alone, then depth */
			for (i = 0; i < mc.n; i++) {
				struct buf tmp = { NULL, 0, 0 };

				if (explain_field(&tmp, &mf[i], &ev))
					score += 1000;
				else if (b.n == 0)
					b = tmp, tmp.p = NULL;
				free(tmp.p);
			}
			if (b.n == 0) {
				struct mfield *f = &mf[mc.deepest];

				score += (long)mc.deepest;
				buf_add(&b, f->f->path, f->f->plen);
				buf_str(&b, ": the fields matched must come "
				    "from the same array element");
			}
			if (score > best_score) {
				best_score = score;
				free(best.p);
				best = b;
			} else
				free(b.p);
		}
		mfields_free(mf, ss.v[s].n);
	}
	if (!matched)
		set_why(why, whysz, best.p ? best.p : "no match");
	else
		set_why(why, whysz, "");
	free(best.p);
	event_free(&ev);
	subs_free(&ss);
	return matched;
}
