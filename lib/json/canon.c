/*
 * canon.c - the canonical form of a JSON value, for keys and hashes.
 *
 * Two values that mean the same have one canonical text; the form follows
 * RFC 8785 (JCS):
 *  - no whitespace;
 *  - strings with escapes decoded and written one way: only '"', '\\' and
 *    the control characters are escaped (\b \t \n \f \r, else \u00xx in
 *    lowercase hex); everything else, '/' and U+007F included, is its own
 *    UTF-8 ("\u0061" and "a" are one string);
 *  - numbers by their IEEE double value, written as ECMAScript's
 *    Number.prototype.toString() writes it: 1, 1.0, 1e0 and 10e-1 are all
 *    "1", -0 is "0", 1e21 is "1e+21", 1e-7 is "1e-7", 0.1 is "0.1" (the
 *    shortest digits that read back as the same double).  Numbers beyond
 *    the double range, which JCS rejects, keep their exact value instead,
 *    written as d.ddde+N (1e400 is "1e+400"): no finite double prints so;
 *    numbers that underflow are 0;
 *  - object members sorted by name, compared as UTF-16 code units (as JCS
 *    and JavaScript sort), and of duplicate names the last only (evkit's
 *    rule everywhere, evkit(7));
 *  - array elements in their order.
 * The string "1" and the number 1 stay different values.
 */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "json_int.h"

/* ------------------------------------------------------------- numbers */

/*
 * Write the decimal digits[0..k) (no leading or trailing zeros, k >= 1)
 * times 10^(n - k) as ECMAScript's Number::toString does, after a '-' when
 * neg.  Returns the length written into out (which holds k + 32 bytes).
 */
static size_t
num_format(int neg, const char *digits, int k, long n, char *out)
{
	char *o = out;
	long i;

	if (neg)
		*o++ = '-';
	if (k <= n && n <= 21) {
		memcpy(o, digits, (size_t)k);
		o += k;
		for (i = k; i < n; i++)
			*o++ = '0';
	} else if (0 < n && n <= 21) {
		memcpy(o, digits, (size_t)n);
		o += n;
		*o++ = '.';
		memcpy(o, digits + n, (size_t)(k - n));
		o += k - n;
	} else if (-6 < n && n <= 0) {
		*o++ = '0';
		*o++ = '.';
		for (i = n; i < 0; i++)
			*o++ = '0';
		memcpy(o, digits, (size_t)k);
		o += k;
	} else {
		*o++ = digits[0];
		if (k > 1) {
			*o++ = '.';
			memcpy(o, digits + 1, (size_t)(k - 1));
			o += k - 1;
		}
		o += sprintf(o, "e%c%ld", n - 1 < 0 ? '-' : '+',
		    n - 1 < 0 ? -(n - 1) : n - 1);
	}
	return (size_t)(o - out);
}

/*
 * The shortest digits that read back as x (> 0, finite) with printf's
 * correctly rounded %e, into digits; *n gets the decimal exponent as
 * num_format() takes it.  Returns the digit count.
 */
static int
num_shortest(double x, char *digits, long *n)
{
	char buf[40], *e;
	locale_t old = ev_json_c_locale();
	int prec, k = 0;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*e", prec - 1, x);
		if (strtod(buf, NULL) == x)
			break;
	}
	if (old != (locale_t)0)
		uselocale(old);
	/* buf is "d.ddde[+-]X": digits, then the exponent. */
	e = strchr(buf, 'e');
	digits[k++] = buf[0];
	if (prec > 1)
		memcpy(digits + k, buf + 2, (size_t)(prec - 1)), k += prec - 1;
	while (k > 1 && digits[k - 1] == '0')
		k--;
	*n = strtol(e + 1, NULL, 10) + 1;
	return k;
}

/* Append the canonical form of the number token p[0..len). */
static int
canon_number(const char *p, size_t len, struct ev_buf *out)
{
	const char *end = p + len, *q;
	char *dig, sbuf[64], tmp[64], *o;
	int neg = 0, seen = 0, k = 0, nz = 0, esign = 1, r;
	long long e = 0;
	long pt = 0, n;
	double x;

	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	/* Significant digits (as ev_json_number() collects them). */
	dig = len < sizeof(sbuf) ? sbuf : malloc(len + 1);
	if (dig == NULL)
		return -1;
	for (q = p; q < end && (*q == '.' || (*q >= '0' && *q <= '9')); q++) {
		if (*q == '.') {
			seen = 1;
			continue;
		}
		if (k == 0 && *q == '0') {
			if (seen)
				pt--;
			continue;
		}
		if (!seen)
			pt++;
		dig[k++] = *q;
		if (*q != '0')
			nz = k;
	}
	if (q < end && (*q | 0x20) == 'e') {
		q++;
		if (q < end && (*q == '+' || *q == '-'))
			esign = *q++ == '-' ? -1 : 1;
		for (; q < end && *q >= '0' && *q <= '9'; q++)
			if (e < 100000000000000000LL)
				e = e * 10 + (*q - '0');
		e *= esign;
	}
	k = nz;
	if (k == 0) {
		r = ev_buf_add(out, "0", 1);
		goto done;
	}
	n = (long)(pt + e); /* value = 0.d1d2... x 10^n */
	if (k <= 15 && n - 1 >= -307 && n - 1 <= 307) {
		/*
		 * Up to 15 significant digits in the normal range read back
		 * from the double as they are, and no shorter decimal reads
		 * as the same double: they are the shortest digits.
		 */
		r = ev_buf_add(out, tmp, num_format(neg, dig, k, n, tmp));
		goto done;
	}
	ev_json_number(p - neg, len, &x);
	if (x == 0.0) {
		r = ev_buf_add(out, "0", 1);
	} else if (isinf(x)) {
		/* Beyond doubles (n > 309): the exact value, d.ddde+N. */
		if ((o = malloc((size_t)k + 32)) == NULL) {
			r = -1;
			goto done;
		}
		r = ev_buf_add(out, o, num_format(neg, dig, k, n, o));
		free(o);
	} else {
		k = num_shortest(fabs(x), tmp, &n);
		r = ev_buf_add(out, sbuf, num_format(neg, tmp, k, n, sbuf));
	}
done:
	if (dig != sbuf)
		free(dig);
	return r;
}

/* ------------------------------------------------------------- strings */

/* Append s[0..n) (decoded) as a canonical JSON string. */
static int
canon_string(const char *s, size_t n, struct ev_buf *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *end = p + n, *run;
	char esc[6];
	size_t el;

	if (ev_buf_add(out, "\"", 1) < 0)
		return -1;
	while (p < end) {
		for (run = p; p < end && *p >= 0x20 && *p != '"' && *p != '\\';
		     p++)
			;
		if (ev_buf_add(out, run, (size_t)(p - run)) < 0)
			return -1;
		if (p == end)
			break;
		esc[0] = '\\';
		el = 2;
		switch (*p) {
		case '"':
		case '\\':
			esc[1] = (char)*p;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			el = 6;
			break;
		}
		if (ev_buf_add(out, esc, el) < 0)
			return -1;
		p++;
	}
	return ev_buf_add(out, "\"", 1);
}

/* The first UTF-16 code unit of code point u. */
static uint32_t
utf16_lead(uint32_t u)
{
	return u < 0x10000 ? u : 0xD800 + ((u - 0x10000) >> 10);
}

/*
 * Compare two valid UTF-8 names as sequences of UTF-16 code units (RFC
 * 8785 3.2.3): code point order, except that the supplementary planes
 * (surrogate pairs, 0xD800-0xDBFF first) sort before U+E000-U+FFFF.
 */
static int
name_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	uint32_t ca, cb;
	size_t i = 0, j = 0;

	while (i < an && j < bn) {
		if (a[i] == b[j] && (unsigned char)a[i] < 0x80) {
			i++;
			j++;
			continue;
		}
		i += ev_utf8_get(a + i, an - i, &ca);
		j += ev_utf8_get(b + j, bn - j, &cb);
		if (ca == cb)
			continue;
		if (utf16_lead(ca) != utf16_lead(cb))
			return utf16_lead(ca) < utf16_lead(cb) ? -1 : 1;
		return ca < cb ? -1 : 1;
	}
	return (i < an) - (j < bn);
}

/* ------------------------------------------------------------- values */

struct canon {
	const struct ev_jdoc *doc;
	struct ev_buf *out;
	int *kids; /* scratch for member indexes, doc->count long */
};

/* Order members by name, then by position (the last duplicate last). */
static int
member_cmp(const void *x, const void *y, void *arg)
{
	const struct ev_jdoc *doc = arg;
	const struct ev_jnode *a = &doc->n[*(const int *)x],
			      *b = &doc->n[*(const int *)y];
	int r = name_cmp(a->key, a->keylen, b->key, b->keylen);

	if (r != 0)
		return r;
	return *(const int *)x < *(const int *)y ? -1 : 1;
}

static int canon_node(struct canon *c, int i, int *scratch);

/* Members of object node i, sorted; duplicates but the last dropped. */
static int
canon_object(struct canon *c, int i, int *scratch)
{
	const struct ev_jdoc *doc = c->doc;
	const struct ev_jnode *a, *b;
	int n = 0, k, first = 1;

	for (k = doc->n[i].first; k >= 0; k = doc->n[k].next)
		scratch[n++] = k;
	/* A member's own members go after this object's in scratch. */
	if (n > 1)
		qsort_r(scratch, (size_t)n, sizeof(*scratch), member_cmp,
		    (void *)doc);
	if (ev_buf_add(c->out, "{", 1) < 0)
		return -1;
	for (k = 0; k < n; k++) {
		a = &doc->n[scratch[k]];
		if (k + 1 < n) {
			b = &doc->n[scratch[k + 1]];
			if (a->keylen == b->keylen &&
			    memcmp(a->key, b->key, a->keylen) == 0)
				continue;
		}
		if ((!first && ev_buf_add(c->out, ",", 1) < 0) ||
		    canon_string(a->key, a->keylen, c->out) < 0 ||
		    ev_buf_add(c->out, ":", 1) < 0 ||
		    canon_node(c, scratch[k], scratch + n) < 0)
			return -1;
		first = 0;
	}
	return ev_buf_add(c->out, "}", 1);
}

/*
 * Append the canonical form of node i.  scratch has room for the members
 * of every object from here down (their number is below doc->count).
 */
static int
canon_node(struct canon *c, int i, int *scratch)
{
	const struct ev_jnode *n = &c->doc->n[i];
	int k;

	switch (n->type) {
	case EV_J_NULL:
		return ev_buf_add(c->out, "null", 4);
	case EV_J_TRUE:
		return ev_buf_add(c->out, "true", 4);
	case EV_J_FALSE:
		return ev_buf_add(c->out, "false", 5);
	case EV_J_NUMBER:
		return canon_number(n->str, n->len, c->out);
	case EV_J_STRING:
		return canon_string(n->str, n->len, c->out);
	case EV_J_ARRAY:
		if (ev_buf_add(c->out, "[", 1) < 0)
			return -1;
		for (k = n->first; k >= 0; k = c->doc->n[k].next)
			if ((k != n->first && ev_buf_add(c->out, ",", 1) < 0) ||
			    canon_node(c, k, scratch) < 0)
				return -1;
		return ev_buf_add(c->out, "]", 1);
	case EV_J_OBJECT:
		return canon_object(c, i, scratch);
	}
	return -1;
}

/*
 * Append the canonical form (see the top of this file) of the JSON value
 * val[0..len) (any value; RFC 8259, strictly, as ev_scan() reads it) to
 * out, which keeps what it held: a caller may hash out->p after each call
 * or collect several values.  Returns 0, or -1 with err set: "invalid
 * JSON: ..." with err->line/col (1-based) for an invalid value, or "out of
 * memory".  out may then hold part of the form.
 */
int
ev_json_canon(
    const char *val, size_t len, struct ev_buf *out, struct ev_err *err)
{
	struct ev_jdoc doc;
	struct canon c;
	int r;

	if (ev_jdoc_parse(&doc, val, len, err) < 0)
		return -1;
	c.doc = &doc;
	c.out = out;
	if ((c.kids = malloc((size_t)doc.count * sizeof(int))) == NULL) {
		ev_jdoc_free(&doc);
		ev_err_set(err, "out of memory");
		return -1;
	}
	if ((r = canon_node(&c, 0, c.kids)) < 0)
		ev_err_set(err, "out of memory");
	free(c.kids);
	ev_jdoc_free(&doc);
	return r;
}
