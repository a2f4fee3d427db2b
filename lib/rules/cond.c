/*
 * cond.c - when one value satisfies one condition of an event pattern:
 * exact values, affixes, event-ruler's per-character ignore-case, Java's
 * reading of IP addresses, wildcards, numeric ranges, anything-but.
 */
#include <arpa/inet.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "rules.h"
#include "json/json_int.h"
#include "pattern_int.h"

static locale_t utf8_locale;

static int utf8_locale_tried;

/*
 * Make the C.UTF-8 locale the case mappings use.  Called by
 * ev_rules_finish() and ev_matcher_new(), before any worker thread runs, so
 * the workers only read it.
 */
void
ev_case_init(void)
{
	if (!utf8_locale_tried) {
		utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8",
		    (locale_t)0);
		utf8_locale_tried = 1;
	}
}

static locale_t
case_locale(void)
{
	ev_case_init();
	return utf8_locale;
}

static uint32_t
cp_lower(uint32_t c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	if (case_locale() == (locale_t)0)
		return c;
	return (uint32_t)towlower_l((wint_t)c, utf8_locale);
}

static uint32_t
cp_upper(uint32_t c)
{
	if (c < 0x80)
		return c >= 'a' && c <= 'z' ? c - 32 : c;
	if (case_locale() == (locale_t)0)
		return c;
	return (uint32_t)towupper_l((wint_t)c, utf8_locale);
}

/*
 * Java's lower and upper case of code point c (a BMP character) in UTF-8:
 * into lo and up (16 bytes each); lengths in *nlo, *nup.
 */
static void
java_cases(uint32_t c, char *lo, size_t *nlo, char *up, size_t *nup)
{
	const struct ev_special_case *sc = ev_special_case(c);

	if (sc != NULL) {
		*nlo = strlen(sc->lo);
		memcpy(lo, sc->lo, *nlo);
		*nup = strlen(sc->up);
		memcpy(up, sc->up, *nup);
		return;
	}
	*nlo = (size_t)(ev_utf8_put(lo, cp_lower(c)) - lo);
	*nup = (size_t)(ev_utf8_put(up, cp_upper(c)) - up);
}

/* Does code point c have distinct lower and upper cases (Java's test)? */
int
ev_cp_has_case(uint32_t c)
{
	char lo[16], up[16];
	size_t nlo, nup;

	if (c >= 0x10000)
		return 0;
	java_cases(c, lo, &nlo, up, &nup);
	return nlo != nup || memcmp(lo, up, nlo) != 0;
}

static int
is_mark(uint32_t c)
{
	return c >= 0x300 && c <= 0x36f;
}

size_t
ev_casefold(const char *s, size_t n, char *out)
{
	const unsigned char *u = (const unsigned char *)s;
	char lo[16], up[16], lo2[16], up2[16];
	size_t i = 0, o = 0, nlo, nup, nlo2, nup2, j, k;
	uint32_t cp, c2, c3;

	while (i < n) {
		if (u[i] < 0x80) {
			out[o++] = (char)(u[i] >= 'A' && u[i] <= 'Z' ?
			    u[i] + 32 : u[i]);
			i++;
			continue;
		}
		i += ev_utf8_get(s + i, n - i, &cp);
		if (cp >= 0x10000) {
			out[o++] = '?';
			out[o++] = '?';
			continue;
		}
		if (is_mark(cp))
			continue;
		/* the lower case of each character of the upper case */
		java_cases(cp, lo, &nlo, up, &nup);
		for (j = 0; j < nup; j += ev_utf8_get(up + j, nup - j, &c2)) {
			ev_utf8_get(up + j, nup - j, &c2);
			if (is_mark(c2))
				continue;
			java_cases(c2, lo2, &nlo2, up2, &nup2);
			for (k = 0; k < nlo2;
			    k += ev_utf8_get(lo2 + k, nlo2 - k, &c3)) {
				ev_utf8_get(lo2 + k, nlo2 - k, &c3);
				if (!is_mark(c3))
					o = (size_t)(ev_utf8_put(out + o, c3) -
					    out);
			}
		}
	}
	return o;
}

/* One character of an ignore-case pattern: the two forms it may take. */
struct icchar {
	char lo[16], up[16];
	size_t nlo, nup;
};

/* Split pattern p[0..np) into its characters; *out is buf or malloc'd. */
static size_t
ic_chars(const char *p, size_t np, struct icchar *buf, size_t cap,
    struct icchar **out)
{
	size_t i = 0, k = 0;
	uint32_t cp;

	*out = np <= cap ? buf : ev_xmalloc(np * sizeof(**out));
	while (i < np) {
		struct icchar *c = &(*out)[k++];

		i += ev_utf8_get(p + i, np - i, &cp);
		if (cp >= 0x10000) {
			/* two UTF-16 chars, each "?" in UTF-8 */
			memcpy(c->lo, "??", 2);
			memcpy(c->up, "??", 2);
			c->nlo = c->nup = 2;
		} else {
			java_cases(cp, c->lo, &c->nlo, c->up, &c->nup);
		}
	}
	return k;
}

/*
 * Can pattern characters c[0..k) be read in s[0..n) from the front (back
 * when back), the whole of s when whole?  Either form of a character may
 * do; when both would, the first is tried by recursion.
 */
static int
ic_walk(const struct icchar *c, size_t k, const char *s, size_t n,
    int back, int whole)
{
	while (k > 0) {
		const struct icchar *x = back ? &c[k - 1] : c;
		int m0, m1;

		m0 = x->nlo <= n && memcmp(back ? s + n - x->nlo : s, x->lo,
		    x->nlo) == 0;
		m1 = (x->nup != x->nlo || memcmp(x->up, x->lo, x->nlo) != 0) &&
		    x->nup <= n && memcmp(back ? s + n - x->nup : s, x->up,
		    x->nup) == 0;
		if (m0 && m1 && (back ?
		    ic_walk(c, k - 1, s, n - x->nlo, back, whole) :
		    ic_walk(c + 1, k - 1, s + x->nlo, n - x->nlo, back, whole)))
			return 1;
		if (!m0 && !m1)
			return 0;
		if (m1) {
			if (!back)
				s += x->nup;
			n -= x->nup;
		} else {
			if (!back)
				s += x->nlo;
			n -= x->nlo;
		}
		if (!back)
			c++;
		k--;
	}
	return !whole || n == 0;
}

int
ev_ic_match(const char *pat, size_t np, const char *s, size_t n, int mode)
{
	struct icchar cb[32], *c;
	size_t k;
	int ok;

	cb[0].nlo = cb[0].nup = 0;
	k = ic_chars(pat, np, cb, 32, &c);
	ok = ic_walk(c, k, s, n, mode == 2, mode == 0);

	if (c != cb)
		free(c);
	return ok;
}

int
ev_ip_parse(const char *s, size_t n, uint8_t out[16])
{
	char buf[64];
	size_t i, dots = 0, colons = 0, run = 0;
	unsigned v = 0;
	int k = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '.')
			dots++;
		else if (s[i] == ':')
			colons++;
		else if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	}
	if (dots == 3 && colons == 0) {
		/*
		 * [0-9]+\.[0-9]+\.[0-9]+\.[0-9]+, octets read as decimal;
		 * Java takes no literal longer than 15 characters (it would
		 * look the name up in the DNS instead)
		 */
		if (n > 15)
			return -1;
		for (i = 0; i <= n; i++) {
			if (i == n || s[i] == '.') {
				if (run == 0)
					return 0;
				if (v > 255)
					return -1;
				out[k++] = (uint8_t)v;
				v = 0;
				run = 0;
			} else if (s[i] >= '0' && s[i] <= '9') {
				if (v <= 255)
					v = v * 10 + (unsigned)(s[i] - '0');
				run++;
			} else {
				return 0;
			}
		}
		return 4;
	}
	if (dots || colons == 0)
		return 0;
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET6, buf, out) != 1)
		return -1;
	/* Java's InetAddress reads ::ffff:a.b.c.d as the IPv4 address */
	if (memcmp(out, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		memmove(out, out + 12, 4);
		return 4;
	}
	return 6;
}

int
ev_wildcard_match(const char *pat, size_t np, const char *s, size_t n)
{
	size_t p = 0, i = 0, star_p = (size_t)-1, star_i = 0;

	while (i < n) {
		if (p < np && pat[p] == '*') {
			star_p = ++p;
			star_i = i;
			continue;
		}
		if (p < np) {
			char want = pat[p];
			size_t step = 1;

			if (want == '\\' && p + 1 < np) {
				want = pat[p + 1];
				step = 2;
			}
			if (want == s[i]) {
				p += step;
				i++;
				continue;
			}
		}
		if (star_p == (size_t)-1)
			return 0;
		p = star_p;
		i = ++star_i;
	}
	while (p < np && pat[p] == '*')
		p++;
	return p == np;
}

static int
nibble(const uint8_t *b, int i)
{
	return i & 1 ? b[i / 2] & 15 : b[i / 2] >> 4;
}

/*
 * Is v in the block of c?  event-ruler compares hexadecimal digits (8 for
 * IPv4, 32 for IPv6) in its byte machine, where a range is a path along
 * the bottom and top digits with a match on every digit that leaves the
 * path strictly inside the range; the match fires on that digit, whatever
 * follows, and the value's own length is never checked.  So the block
 * 10.0.0.0/8 holds the IPv6 address a00:1:: (its first 8 digits are in
 * range), and ::/0 holds 1.2.3.4 but not 0.0.0.0 (8 zeros never leave the
 * bottom path before the value ends).
 *
 * The value's digits are those of its address when it is a string that
 * is one.  A number is no address, but when its field has no numeric
 * pattern (or the number does not compare) event-ruler walks its text
 * through the same machine: its leading run of characters 0-9 and A-F are
 * the digits, so 0.0.0.0/0 holds the numbers 1 and 5e3.
 */
static int
in_ip_range(const struct ev_cond *c, const struct ev_val *v)
{
	uint8_t ip[16], dig[32];
	const uint8_t *edge;
	int fam, m = 0, n, k, j, d, e, up;

	if (v->type == EV_J_STRING) {
		fam = ev_ip_parse(v->s, v->n, ip);
		if (fam <= 0)
			return 0;
		m = fam == 4 ? 8 : 32;
		for (j = 0; j < m; j++)
			dig[j] = (uint8_t)nibble(ip, j);
	} else if (v->type == EV_J_NUMBER && (c->num_text || !v->num_ok)) {
		for (; m < 32 && (size_t)m < v->n; m++) {
			char ch = v->s[m];

			if (ch >= '0' && ch <= '9')
				dig[m] = (uint8_t)(ch - '0');
			else if (ch >= 'A' && ch <= 'F')
				dig[m] = (uint8_t)(ch - 'A' + 10);
			else
				break;
		}
	} else {
		return 0;
	}
	n = c->family == 4 ? 8 : 32;
	for (k = 0; k < n && nibble(c->ip_lo, k) == nibble(c->ip_hi, k); k++)
		if (k >= m || dig[k] != nibble(c->ip_lo, k))
			return 0;
	if (k == n)
		return 1;
	if (k >= m)
		return 0;
	d = dig[k];
	if (d > nibble(c->ip_lo, k) && d < nibble(c->ip_hi, k))
		return 1;
	if (d == nibble(c->ip_lo, k))
		edge = c->ip_lo, up = 1;
	else if (d == nibble(c->ip_hi, k))
		edge = c->ip_hi, up = 0;
	else
		return 0;
	for (j = k + 1; j < n; j++) {
		if (j >= m)
			return 0;
		d = dig[j];
		e = nibble(edge, j);
		if (d != e)
			return up ? d > e : d < e;
	}
	return 1;
}

static int
has_prefix(const struct ev_str *p, const char *s, size_t n)
{
	return n >= p->n && memcmp(s, p->p, p->n) == 0;
}

static int
has_suffix(const struct ev_str *p, const char *s, size_t n)
{
	return n >= p->n && memcmp(s + n - p->n, p->p, p->n) == 0;
}

/* Does value v satisfy condition c? */
int
ev_cond_test(const struct ev_cond *c, const struct ev_val *v)
{
	size_t i;

	if (v->type == EV_J_OBJECT || v->type == EV_J_ARRAY)
		return 0;
	switch (c->op) {
	case EV_OP_EXACT:
		switch (c->keykind) {
		case EV_K_STRING:
			return v->type == EV_J_STRING && v->n == c->strs[0].n &&
			    memcmp(v->s, c->strs[0].p, v->n) == 0;
		case EV_K_NUMBER:
			return v->type == EV_J_NUMBER && v->num_ok &&
			    v->num == c->num;
		case EV_K_TEXT:
			return v->type == EV_J_NUMBER && !v->num_ok &&
			    v->n == c->strs[0].n &&
			    memcmp(v->s, c->strs[0].p, v->n) == 0;
		case EV_K_TRUE:
			return v->type == EV_J_TRUE;
		case EV_K_FALSE:
			return v->type == EV_J_FALSE;
		default:
			return v->type == EV_J_NULL;
		}
	case EV_OP_PREFIX:
		return v->type == EV_J_STRING && has_prefix(c->strs, v->s, v->n);
	case EV_OP_SUFFIX:
		return v->type == EV_J_STRING && has_suffix(c->strs, v->s, v->n);
	case EV_OP_EQ_IC:
	case EV_OP_PREFIX_IC:
	case EV_OP_SUFFIX_IC:
		return v->type == EV_J_STRING && ev_ic_match(c->strs[1].p,
		    c->strs[1].n, v->s, v->n, c->op == EV_OP_EQ_IC ? 0 :
		    c->op == EV_OP_PREFIX_IC ? 1 : 2);
	case EV_OP_WILDCARD:
		return v->type == EV_J_STRING &&
		    ev_wildcard_match(c->strs[0].p, c->strs[0].n, v->s, v->n);
	case EV_OP_NUMERIC:
		if (v->type != EV_J_NUMBER || !v->num_ok)
			return 0;
		if (v->num < c->lo || (c->lo_open && v->num == c->lo))
			return 0;
		if (v->num > c->hi || (c->hi_open && v->num == c->hi))
			return 0;
		return 1;
	case EV_OP_CIDR:
		return in_ip_range(c, v);
	case EV_OP_EXISTS:
		return 1;
	case EV_OP_ABSENT:
		return 0;
	case EV_OP_ANYBUT:
		if (c->anybut_numbers) {
			if (v->type != EV_J_NUMBER || !v->num_ok)
				return 1;
			for (i = 0; i < c->nnums; i++)
				if (c->nums[i] == v->num)
					return 0;
			return 1;
		}
		if (v->type != EV_J_STRING)
			return 1;
		for (i = 0; i < c->nstrs; i++)
			if (c->strs[i].n == v->n &&
			    memcmp(c->strs[i].p, v->s, v->n) == 0)
				return 0;
		return 1;
	case EV_OP_ANYBUT_PREFIX:
	case EV_OP_ANYBUT_SUFFIX:
	case EV_OP_ANYBUT_WILDCARD:
		if (v->type != EV_J_STRING)
			return 1;
		for (i = 0; i < c->nstrs; i++) {
			int hit;

			if (c->op == EV_OP_ANYBUT_PREFIX)
				hit = has_prefix(&c->strs[i], v->s, v->n);
			else if (c->op == EV_OP_ANYBUT_SUFFIX)
				hit = has_suffix(&c->strs[i], v->s, v->n);
			else
				hit = ev_wildcard_match(c->strs[i].p,
				    c->strs[i].n, v->s, v->n);
			if (hit)
				return 0;
		}
		return 1;
	case EV_OP_ANYBUT_IC:
		if (v->type != EV_J_STRING)
			return 1;
		for (i = 0; i < c->nstrs; i++)
			if (ev_ic_match(c->strs[i].p, c->strs[i].n, v->s, v->n,
			    0))
				return 0;
		return 1;
	}
	return 0;
}
