/*
 * json.c - evkit's strict, zero-copy JSON scanner.
 *
 * One lexer (strings, numbers, literals, whitespace; RFC 8259 and valid
 * UTF-8 only) under three users: ev_scan(), which walks an event line once
 * and reports the values at the paths of a path set while skipping every
 * other subtree with an iterative validator; the path-set trie that steers
 * it; and ev_jdoc_parse(), a small positioned tree for patterns and
 * configuration files.  The lexer never reads outside [base, end): lines
 * are views into a caller's buffer and carry no terminator.
 */
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "json_int.h"

#define M_EOF "unexpected end of input"
#define M_UNTERM "unterminated string"
#define M_UTF8 "invalid UTF-8"
#define M_CTRL "control character in string"
#define M_ESC "invalid escape"
#define M_SURR "lone surrogate"
#define M_NUM "invalid number"
#define M_LIT "invalid literal"
#define M_VALUE "expected value"
#define M_KEY "expected member name"
#define M_COLON "expected ':'"
#define M_OBJ "expected ',' or '}'"
#define M_ARR "expected ',' or ']'"
#define M_TRAIL "trailing characters"
#define M_DEEP "nesting too deep"

typedef unsigned char uchar;

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* ---------------------------------------------------------------- lexer */

/* Where the lexer stopped: the offending byte (end: end of input). */
struct lex {
	const uchar *base;
	const uchar *end;
	const uchar *errat;
	const char *msg;
	/*
	 * lex_string()'s window: bit i of wm set when wq[i] would end a
	 * plain run in a string; wq NULL, or 64 bytes before end at most.
	 */
	const uchar *wq;
	uint64_t wm;
};

/* clang-format off */
/* JSON whitespace. */
static const uchar ws_tab[256] = {
	['\t'] = 1, ['\n'] = 1, ['\r'] = 1, [' '] = 1
};

/* Bytes that end a plain run inside a string. */
static const uchar str_tab[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
};

/*
 * Bytes that may not directly follow a number token: they would continue
 * it ("01", "1.5.2", "1e5e") or glue a word to it ("1x").
 */
static const uchar numtail_tab[256] = {
	['+'] = 1, ['-'] = 1, ['.'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
	['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1, ['_'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1
};
/* clang-format on */

static const uchar *
lex_fail(struct lex *lx, const uchar *at, const char *msg)
{
	lx->errat = at;
	lx->msg = msg;
	return NULL;
}

static inline const uchar *
skip_ws(const uchar *p, const uchar *end)
{
	while (p < end && ws_tab[*p])
		p++;
	return p;
}

/*
 * The ':' after a member's key at p (whitespace around it allowed): where
 * the value starts, or NULL after lex_fail().
 */
static inline const uchar *
lex_colon(struct lex *lx, const uchar *p, const uchar *end)
{
	p = skip_ws(p, end);
	if (p >= end)
		return lex_fail(lx, end, M_EOF);
	if (*p != ':')
		return lex_fail(lx, p, M_COLON);
	p = skip_ws(p + 1, end);
	if (p >= end)
		return lex_fail(lx, end, M_EOF);
	return p;
}

static inline int
isdig(uchar c)
{
	return (unsigned)(c - '0') < 10;
}

static inline int
hexval(uchar c)
{
	if (isdig(c))
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The four hex digits at p (caller checked they are in bounds), or -1. */
static inline long
hex4(const uchar *p)
{
	int a = hexval(p[0]), b = hexval(p[1]), c = hexval(p[2]),
	    d = hexval(p[3]);

	if ((a | b | c | d) < 0)
		return -1;
	return (long)a << 12 | b << 8 | c << 4 | d;
}

/*
 * Length of the well-formed UTF-8 sequence at p (p[0] >= 0x80), or 0:
 * no overlongs, no UTF-16 surrogates, nothing above U+10FFFF (RFC 3629).
 */
static inline int
utf8_len(const uchar *p, const uchar *end)
{
	uchar c = p[0], lo = 0x80, hi = 0xBF;
	ptrdiff_t n = end - p;
	int k;

	if (c < 0xC2 || c > 0xF4)
		return 0;
	if (c < 0xE0) {
		k = 2;
	} else if (c < 0xF0) {
		k = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else {
		k = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	}
	if (n < k || p[1] < lo || p[1] > hi)
		return 0;
	if (k > 2 && (p[2] & 0xC0) != 0x80)
		return 0;
	if (k > 3 && (p[3] & 0xC0) != 0x80)
		return 0;
	return k;
}

/* Validate the escape at p (p[0] == '\\'); returns the byte after it. */
static const uchar *
lex_escape(struct lex *lx, const uchar *p)
{
	const uchar *end = lx->end;
	long u, l;

	if (end - p < 2)
		return lex_fail(lx, end, M_UNTERM);
	switch (p[1]) {
	case '"':
	case '\\':
	case '/':
	case 'b':
	case 'f':
	case 'n':
	case 'r':
	case 't':
		return p + 2;
	case 'u':
		break;
	default:
		return lex_fail(lx, p, M_ESC);
	}
	if (end - p < 6) {
		/* Truncated by the end of the line, or by a quote. */
		if (memchr(p + 2, '"', (size_t)(end - p - 2)) == NULL)
			return lex_fail(lx, end, M_UNTERM);
		return lex_fail(lx, p, M_ESC);
	}
	if ((u = hex4(p + 2)) < 0)
		return lex_fail(lx, p, M_ESC);
	if (u >= 0xDC00 && u <= 0xDFFF)
		return lex_fail(lx, p, M_SURR);
	if (u < 0xD800 || u > 0xDBFF)
		return p + 6;
	if (end - p < 12 || p[6] != '\\' || p[7] != 'u')
		return lex_fail(lx, p, M_SURR);
	if ((l = hex4(p + 8)) < 0)
		return lex_fail(lx, p + 6, M_ESC);
	if (l < 0xDC00 || l > 0xDFFF)
		return lex_fail(lx, p, M_SURR);
	return p + 12;
}

#ifdef __SSE2__
/*
 * Bits for the bytes of p[0..16) that end a plain run in a string: quote,
 * backslash, and (one signed compare with ' ') both < 0x20 and >= 0x80.
 */
static inline unsigned
str_special16(const uchar *p)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i m =
	    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
			     _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
		_mm_cmplt_epi8(v, _mm_set1_epi8(' ')));

	return (unsigned)_mm_movemask_epi8(m);
}
#endif

/*
 * Validate a string whose opening quote is just before s.  Returns the byte
 * after the closing quote; sets *esc when the contents hold a backslash.
 */
static const uchar *
lex_string_slow(struct lex *lx, const uchar *s, int *esc)
{
	const uchar *p = s, *end = lx->end;
	int n;
#ifdef __SSE2__
	unsigned bits;
#endif

	for (;;) {
#ifdef __SSE2__
		while (end - p >= 16) {
			if ((bits = str_special16(p)) != 0) {
				p += __builtin_ctz(bits);
				goto special;
			}
			p += 16;
		}
#endif
		while (p < end && !str_tab[*p])
			p++;
		if (unlikely(p >= end))
			return lex_fail(lx, end, M_UNTERM);
#ifdef __SSE2__
	special:
#endif
		if (likely(*p == '"'))
			return p + 1;
		if (*p == '\\') {
			*esc = 1;
			if ((p = lex_escape(lx, p)) == NULL)
				return NULL;
		} else if (*p < 0x20) {
			return lex_fail(lx, p, M_CTRL);
		} else {
			do {
				if ((n = utf8_len(p, end)) == 0)
					return lex_fail(lx, p, M_UTF8);
				p += n;
			} while (p < end && *p >= 0x80);
		}
	}
}

#ifdef __SSE2__
/* Bits for the bytes of p[0..64) that end a plain run in a string. */
static inline uint64_t
str_special64(const uchar *p)
{
	return (uint64_t)str_special16(p) |
	    (uint64_t)str_special16(p + 16) << 16 |
	    (uint64_t)str_special16(p + 32) << 32 |
	    (uint64_t)str_special16(p + 48) << 48;
}
#endif

/*
 * lex_string_slow(), with the common case inline: a plain string that
 * ends within the window of 64 bytes the lexer keeps the bitmap of, made
 * at the string when it lies past the last one.  The members of an object
 * are strings a few bytes apart: from one to the next is then a shift and
 * a count of trailing zeros, not a load and compares on the way.
 */
static inline __attribute__((always_inline)) const uchar *
lex_string(struct lex *lx, const uchar *s, int *esc)
{
#ifdef __SSE2__
	uintptr_t off = (uintptr_t)s - (uintptr_t)lx->wq;
	uint64_t m;
	unsigned bits;

	if (off >= 64 && likely(lx->end - s >= 64)) {
		lx->wq = s;
		lx->wm = str_special64(s);
		off = 0;
	}
	if (off < 64) {
		if (likely((m = lx->wm >> off) != 0)) {
			s += __builtin_ctzll(m);
			if (likely(*s == '"'))
				return s + 1;
			return lex_string_slow(lx, s, esc);
		}
		return lex_string_slow(lx, lx->wq + 64, esc);
	}
	if (likely(lx->end - s >= 32)) {
		if ((bits = str_special16(s)) == 0) {
			if ((bits = str_special16(s + 16) << 16) == 0)
				return lex_string_slow(lx, s + 32, esc);
		}
		s += __builtin_ctz(bits);
		if (likely(*s == '"'))
			return s + 1;
	}
#endif
	return lex_string_slow(lx, s, esc);
}

/* Skip a run of decimal digits. */
static inline const uchar *
skip_digits(const uchar *p, const uchar *end)
{
#ifdef __SSE2__
	const __m128i lo = _mm_set1_epi8('0' - 1);
	const __m128i hi = _mm_set1_epi8('9' + 1);

	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i d =
		    _mm_and_si128(_mm_cmpgt_epi8(v, lo), _mm_cmplt_epi8(v, hi));
		unsigned bits = ~(unsigned)_mm_movemask_epi8(d) & 0xFFFF;

		if (bits != 0)
			return p + __builtin_ctz(bits);
		p += 16;
	}
#endif
	while (p < end && isdig(*p))
		p++;
	return p;
}

#ifdef __SSE2__
/* Bit i set when p[i] is a decimal digit, for i < 32. */
static inline uint32_t
digit_mask32(const uchar *p)
{
	const __m128i lo = _mm_set1_epi8('0' - 1);
	const __m128i hi = _mm_set1_epi8('9' + 1);
	__m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
	uint32_t ma, mb;

	a = _mm_and_si128(_mm_cmpgt_epi8(a, lo), _mm_cmplt_epi8(a, hi));
	b = _mm_and_si128(_mm_cmpgt_epi8(b, lo), _mm_cmplt_epi8(b, hi));
	ma = (uint32_t)_mm_movemask_epi8(a);
	mb = (uint32_t)_mm_movemask_epi8(b);
	return ma | mb << 16;
}
#endif

/* Validate the number token at s (s[0] is '-' or a digit). */
static inline __attribute__((always_inline)) const uchar *
lex_number(struct lex *lx, const uchar *s)
{
	const uchar *p = s, *end = lx->end;
#ifdef __SSE2__
	uint32_t d, nd;
	int i;

	/*
	 * The common shapes (-12, 3.25, 37.808480096967) in one go: a digit
	 * mask over 32 bytes gives the integer and fraction runs.  Anything
	 * else (exponents, errors, long runs) takes the plain path.
	 */
	if (likely(end - p >= 33)) {
		p += *p == '-';
		d = digit_mask32(p);
		nd = ~d;
		if (unlikely(!(d & 1) || nd == 0))
			goto slow;
		i = __builtin_ctz(nd);
		if (unlikely(p[0] == '0' && i > 1))
			goto slow;
		p += i;
		if (*p == '.') {
			/* 31 integer digits: the fraction lies past the mask. */
			if (unlikely(i >= 31))
				goto slow;
			nd >>= i + 1;
			if (unlikely(!(d >> (i + 1) & 1) || nd == 0))
				goto slow;
			p += 1 + __builtin_ctz(nd);
		}
		if (likely(!numtail_tab[*p]))
			return p;
	}
slow:
#endif
	p = s + (*s == '-');
	if (p >= end || !isdig(*p))
		return lex_fail(lx, p, M_NUM);
	if (*p++ != '0')
		p = skip_digits(p, end);
	if (p < end && *p == '.') {
		p++;
		if (p >= end || !isdig(*p))
			return lex_fail(lx, p, M_NUM);
		p = skip_digits(p + 1, end);
	}
	if (p < end && (*p | 0x20) == 'e') {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || !isdig(*p))
			return lex_fail(lx, p, M_NUM);
		p = skip_digits(p + 1, end);
	}
	if (p < end && numtail_tab[*p])
		return lex_fail(lx, p, M_NUM);
	return p;
}

/* Validate the literal at s (s[0] is 't', 'f' or 'n'); *type gets it. */
static inline const uchar *
lex_literal(struct lex *lx, const uchar *s, enum ev_jtype *type)
{
	const char *w;
	uint32_t a, b;
	size_t i, n;

	switch (*s) {
	case 't':
		w = "true";
		n = 4;
		*type = EV_J_TRUE;
		break;
	case 'f':
		w = "false";
		n = 5;
		*type = EV_J_FALSE;
		break;
	default:
		w = "null";
		n = 4;
		*type = EV_J_NULL;
		break;
	}
	/* Compare the last four bytes: the first one is known. */
	if ((size_t)(lx->end - s) >= n) {
		memcpy(&a, s + n - 4, 4);
		memcpy(&b, w + n - 4, 4);
		if (a == b) {
			s += n;
			if (s < lx->end && numtail_tab[*s])
				return lex_fail(lx, s, M_LIT);
			return s;
		}
	}
	for (i = 1; s + i < lx->end && s[i] == (uchar)w[i]; i++)
		;
	return lex_fail(lx, s + i, M_LIT);
}

/* Why a byte cannot start a value. */
static const char *
value_err(uchar c)
{
	if (c == '+' || c == '.')
		return M_NUM;
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
		return M_LIT;
	return M_VALUE;
}

/*
 * Validate the value at s (not whitespace, not the end), which sits inside
 * depth open containers.  Iterative: a bit per open container says object
 * (1) or array (0).
 */
static const uchar *
skip_value(struct lex *lx, const uchar *s, int depth)
{
	uchar stk[EV_JSON_MAX_DEPTH];
	const uchar *p = s, *end = lx->end, *q, *retry = s;
	int sp = 0, lim = EV_JSON_MAX_DEPTH - depth, esc, r;
	enum ev_jtype t;

value:
	switch (*p) {
	case '"':
		if ((p = lex_string(lx, p + 1, &esc)) == NULL)
			return NULL;
		break;
	case '{':
		if (sp >= lim)
			return lex_fail(lx, p, M_DEEP);
		stk[sp++] = 1;
		p = skip_ws(p + 1, end);
		if (p >= end)
			return lex_fail(lx, end, M_EOF);
		if (*p == '}') {
			p++;
			sp--;
			break;
		}
		goto key;
	case '[':
		if (sp >= lim)
			return lex_fail(lx, p, M_DEEP);
		stk[sp++] = 0;
		/*
		 * An array of numbers and arrays: the vector pass takes it
		 * 64 bytes at a time, up to its last ',' in the blocks that
		 * are plain and valid; this loop checks the rest.  Not again
		 * within 64 bytes of a try that took nothing.
		 */
		if (ev_simd_arr != NULL && end - p > 64 && p >= retry &&
		    (isdig(p[1]) || p[1] == '-' || p[1] == '[')) {
			if ((q = ev_simd_arr(p + 1, end, lim - sp + 1, &r)) !=
			    NULL) {
				while (--r > 0)
					stk[sp++] = 0;
				p = q;
				goto next;
			}
			retry = p + 64;
		}
		p = skip_ws(p + 1, end);
		if (p >= end)
			return lex_fail(lx, end, M_EOF);
		if (*p == ']') {
			p++;
			sp--;
			break;
		}
		/* Runs of numbers (coordinates, metrics) in a tight loop. */
		while (*p == '-' || isdig(*p)) {
			if ((p = lex_number(lx, p)) == NULL)
				return NULL;
			if (end - p < 2 || p[0] != ',' ||
			    !(p[1] == '-' || isdig(p[1])))
				goto next;
			p++;
		}
		goto value;
	case '-':
	case '0':
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
	case '7':
	case '8':
	case '9':
		if ((p = lex_number(lx, p)) == NULL)
			return NULL;
		break;
	case 't':
	case 'f':
	case 'n':
		if ((p = lex_literal(lx, p, &t)) == NULL)
			return NULL;
		break;
	default:
		return lex_fail(lx, p, value_err(*p));
	}
next:
	if (sp == 0)
		return p;
	if (unlikely(p >= end))
		return lex_fail(lx, end, M_EOF);
	if (unlikely(ws_tab[*p])) {
		p = skip_ws(p, end);
		if (p >= end)
			return lex_fail(lx, end, M_EOF);
	}
	if (*p == ',') {
		p++;
		if (unlikely(p >= end))
			return lex_fail(lx, end, M_EOF);
		if (unlikely(ws_tab[*p])) {
			p = skip_ws(p, end);
			if (p >= end)
				return lex_fail(lx, end, M_EOF);
		}
		if (stk[sp - 1])
			goto key;
		goto value;
	}
	if (*p != (stk[sp - 1] ? '}' : ']'))
		return lex_fail(lx, p, stk[sp - 1] ? M_OBJ : M_ARR);
	p++;
	sp--;
	goto next;
key:
	if (*p != '"')
		return lex_fail(lx, p, M_KEY);
	if ((p = lex_string(lx, p + 1, &esc)) == NULL)
		return NULL;
	if ((p = lex_colon(lx, p, end)) == NULL)
		return NULL;
	goto value;
}

/* ------------------------------------------------------------- strings */

/* Append code point u to out as UTF-8; returns the end of what it wrote. */
char *
ev_utf8_put(char *out, unsigned long u)
{
	if (u < 0x80) {
		*out++ = (char)u;
	} else if (u < 0x800) {
		*out++ = (char)(0xC0 | u >> 6);
		*out++ = (char)(0x80 | (u & 0x3F));
	} else if (u < 0x10000) {
		*out++ = (char)(0xE0 | u >> 12);
		*out++ = (char)(0x80 | (u >> 6 & 0x3F));
		*out++ = (char)(0x80 | (u & 0x3F));
	} else {
		*out++ = (char)(0xF0 | u >> 18);
		*out++ = (char)(0x80 | (u >> 12 & 0x3F));
		*out++ = (char)(0x80 | (u >> 6 & 0x3F));
		*out++ = (char)(0x80 | (u & 0x3F));
	}
	return out;
}

/*
 * Decode the UTF-8 sequence at s[0..n) (valid: the scanner checked it) into
 * *cp; returns its length.  A truncated sequence reads as one byte.
 */
size_t
ev_utf8_get(const char *str, size_t n, uint32_t *cp)
{
	const uchar *s = (const uchar *)str;

	if (s[0] < 0x80 || n < 2) {
		*cp = s[0];
		return 1;
	}
	if (s[0] < 0xe0) {
		*cp = (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
		return 2;
	}
	if (s[0] < 0xf0 && n >= 3) {
		*cp = (uint32_t)(s[0] & 0x0f) << 12 |
		    (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
		return 3;
	}
	if (n >= 4) {
		*cp = (uint32_t)(s[0] & 0x07) << 18 |
		    (uint32_t)(s[1] & 0x3f) << 12 |
		    (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
		return 4;
	}
	*cp = s[0];
	return 1;
}

/* Decode validated string contents s[0..len) into out; returns the length. */
static size_t
unescape(const uchar *s, size_t len, char *out)
{
	const uchar *end = s + len, *bs;
	char *o = out;
	unsigned long u;
	size_t n;

	while (s < end) {
		bs = memchr(s, '\\', (size_t)(end - s));
		n = (size_t)((bs ? bs : end) - s);
		memcpy(o, s, n);
		o += n;
		if (bs == NULL)
			break;
		s = bs + 2;
		switch (bs[1]) {
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'u':
			u = (unsigned long)hex4(bs + 2);
			s = bs + 6;
			if (u >= 0xD800 && u <= 0xDBFF) {
				u = 0x10000 + ((u - 0xD800) << 10) +
				    ((unsigned long)hex4(bs + 8) - 0xDC00);
				s = bs + 12;
			}
			o = ev_utf8_put(o, u);
			break;
		default: /* " \ / */
			*o++ = (char)bs[1];
			break;
		}
	}
	return (size_t)(o - out);
}

/*
 * Decode the contents of string value v (escapes validated by the scanner)
 * into buf, which must hold v->len bytes.  Returns the decoded length; no
 * terminator is written.
 */
size_t
ev_json_unescape(const struct ev_jval *v, char *buf)
{
	if (!v->esc) {
		memcpy(buf, v->p, v->len);
		return v->len;
	}
	return unescape((const uchar *)v->p, v->len, buf);
}

/* ------------------------------------------------------------- numbers */

/*
 * The "C" locale, made once: number text is never read or written through
 * the caller's LC_NUMERIC, whose decimal point may be ',' or several bytes.
 * (locale_t)0 if it cannot be made, which glibc never fails to do for "C".
 */
static locale_t c_loc;
static pthread_once_t c_loc_once = PTHREAD_ONCE_INIT;

static void
c_loc_init(void)
{
	c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/*
 * Switch this thread to the "C" locale; returns the locale to restore with
 * uselocale(), or (locale_t)0 when nothing was switched.
 */
locale_t
ev_json_c_locale(void)
{
	pthread_once(&c_loc_once, c_loc_init);
	return c_loc != (locale_t)0 ? uselocale(c_loc) : (locale_t)0;
}

/* Significant digits kept for strtod(); enough for correct rounding. */
#define NUM_MAXDIG 800

/*
 * Read the validated number token p[0..len): store its value in *d and
 * return 1 if the shortest decimal that reads back as *d has the token's
 * value, else 0.  Tokens of 15 significant digits or fewer in the normal
 * range always do; the rest are checked by printing *d at increasing
 * precision.  Too large for a double (1e400) does not survive; -0 is 0.
 */
int
ev_json_number(const char *p, size_t len, double *d)
{
	char buf[NUM_MAXDIG + 32], out[40], *o;
	const char *end = p + len, *q;
	int neg = 0, k = 0, sticky = 0, prec;
	long pt = 0, e = 0, sci, ee;
	int esign = 1, seen = 0, nz = 0, r;
	double x, y;
	locale_t old;

	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	/*
	 * Collect the significant digits: skip leading zeros, keep the
	 * point's position (pt: digits before the point, counted from the
	 * first significant one).  Trailing zeros are trimmed below.
	 */
	o = buf;
	for (q = p; q < end && (isdig((uchar)*q) || *q == '.'); q++) {
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
		if (k < NUM_MAXDIG) {
			*o++ = *q;
			k++;
			if (*q != '0')
				nz = k;
		} else if (*q != '0') {
			sticky = 1;
		}
	}
	if (q < end && (*q | 0x20) == 'e') {
		q++;
		if (q < end && (*q == '+' || *q == '-'))
			esign = *q++ == '-' ? -1 : 1;
		for (; q < end && isdig((uchar)*q); q++)
			if (e < 1000000)
				e = e * 10 + (*q - '0');
		e *= esign;
	}
	if (nz == 0) {
		*d = 0.0;
		return 1;
	}
	if (sticky)
		buf[k++] = '1'; /* rounds like the digits dropped */
	else
		k = nz;	  /* trim trailing zeros */
	sci = pt + e - 1; /* value = d1.d2d3... x 10^sci */
	if (!sticky && k <= 15 && pt + e - k >= -22 && pt + e - k <= 22) {
		/*
		 * Clinger's fast path: an integer below 2^53 times or divided
		 * by an exact power of ten is correctly rounded by one IEEE
		 * operation, and 15 digits always survive the round trip.
		 */
		static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5,
			1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
			1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
		long ex = pt + e - k;
		int64_t mant = 0;
		int j;

		for (j = 0; j < k; j++)
			mant = mant * 10 + (buf[j] - '0');
		x = ex >= 0 ? (double)mant * p10[ex] : (double)mant / p10[-ex];
		*d = neg ? -x : x;
		return 1;
	}
	snprintf(buf + k, sizeof(buf) - (size_t)k, "e%ld", pt + e - k);
	old = ev_json_c_locale();
	x = strtod(buf, NULL);
	*d = neg ? -x : x;
	if (isinf(x) || x == 0.0 || sticky) {
		r = 0;
		goto out;
	}
	if (k <= 15 && sci >= -307 && sci <= 307) {
		r = 1;
		goto out;
	}
	r = 0;
	if (k > 17)
		goto out;
	for (prec = 1; prec <= k; prec++) {
		snprintf(out, sizeof(out), "%.*e", prec - 1, x);
		y = strtod(out, NULL);
		if (y == x)
			break;
	}
	if (prec != k)
		goto out;
	/* out is "d.ddd...e[+-]XX": compare digits and exponent. */
	if (out[0] != buf[0])
		goto out;
	if (k > 1 && memcmp(out + 2, buf + 1, (size_t)(k - 1)) != 0)
		goto out;
	q = strchr(out, 'e');
	ee = q ? strtol(q + 1, NULL, 10) : 0;
	r = ee == sci;
out:
	if (old != (locale_t)0)
		uselocale(old);
	return r;
}

/* ----------------------------------------------------------- path sets */

#define PS_LINEAR 8 /* children searched linearly up to this many */

struct pedge {
	char *name;
	uint32_t len;
	int node;
};

struct pidx {
	size_t index;
	int node;
};

struct pnode {
	int id; /* -1: not added itself */
	int nkids;
	int cap;
	uint32_t maxlen;  /* longest child name */
	uint64_t lenmask; /* bit (len & 63) per child name */
	struct pedge *kids;
	int *hash; /* nkids > PS_LINEAR: kid index + 1, or 0 */
	uint32_t hmask;
	int nidx; /* array-index children ([N] segments) */
	int idxcap;
	struct pidx *idx;
};

struct ev_pathset {
	struct pnode *nodes; /* nodes[0] is the root */
	int nnodes;
	int cap;
	int nids;
};

static inline uint32_t
ps_hash(const uchar *s, size_t n)
{
	uint32_t h = 2166136261u;

	while (n-- > 0)
		h = (h ^ *s++) * 16777619u;
	return h;
}

/* Whether a[0..n) equals s[0..n): names are short, a call costs more. */
static inline int
same(const char *a, const uchar *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((uchar)a[i] != s[i])
			return 0;
	return 1;
}

/* Child of node n named s[0..len), or -1. */
static inline int
ps_child(const struct pnode *n, const uchar *s, size_t len)
{
	const struct pedge *e;
	uint32_t h;
	int i, k;

	if (len > n->maxlen || !(n->lenmask & (uint64_t)1 << (len & 63)))
		return -1;
	if (n->hash == NULL) {
		for (i = 0, e = n->kids; i < n->nkids; i++, e++)
			if (e->len == len && same(e->name, s, len))
				return e->node;
		return -1;
	}
	for (h = ps_hash(s, len) & n->hmask; (k = n->hash[h]) != 0;
	     h = (h + 1) & n->hmask) {
		e = &n->kids[k - 1];
		if (e->len == len && same(e->name, s, len))
			return e->node;
	}
	return -1;
}

static int
ps_rehash(struct pnode *n)
{
	uint32_t size = 16, h;
	int i, *t;

	while (size < (uint32_t)n->nkids * 2)
		size *= 2;
	if ((t = calloc(size, sizeof(*t))) == NULL)
		return -1;
	for (i = 0; i < n->nkids; i++) {
		h = ps_hash((const uchar *)n->kids[i].name, n->kids[i].len) &
		    (size - 1);
		while (t[h] != 0)
			h = (h + 1) & (size - 1);
		t[h] = i + 1;
	}
	free(n->hash);
	n->hash = t;
	n->hmask = size - 1;
	return 0;
}

/* Add a node; returns its index or -1. */
static int
ps_newnode(struct ev_pathset *ps)
{
	struct pnode *t;
	int cap;

	if (ps->nnodes == ps->cap) {
		cap = ps->cap ? ps->cap * 2 : 8;
		if ((t = realloc(ps->nodes, (size_t)cap * sizeof(*t))) == NULL)
			return -1;
		ps->nodes = t;
		ps->cap = cap;
	}
	memset(&ps->nodes[ps->nnodes], 0, sizeof(ps->nodes[0]));
	ps->nodes[ps->nnodes].id = -1;
	return ps->nnodes++;
}

/* Add a child named s[0..len) under node ni; returns its index or -1. */
static int
ps_addkid(struct ev_pathset *ps, int ni, const char *s, size_t len)
{
	struct pnode *n;
	struct pedge *t;
	char *name;
	int ci, cap;

	if (len > UINT32_MAX || (ci = ps_newnode(ps)) < 0)
		return -1;
	n = &ps->nodes[ni];
	if (n->nkids == n->cap) {
		cap = n->cap ? n->cap * 2 : 4;
		if ((t = realloc(n->kids, (size_t)cap * sizeof(*t))) == NULL)
			goto fail;
		n->kids = t;
		n->cap = cap;
	}
	if ((name = malloc(len + 1)) == NULL)
		goto fail;
	memcpy(name, s, len);
	name[len] = '\0';
	n->kids[n->nkids].name = name;
	n->kids[n->nkids].len = (uint32_t)len;
	n->kids[n->nkids].node = ci;
	n->nkids++;
	if (n->nkids > PS_LINEAR && (n->hash == NULL ||
	    (uint32_t)n->nkids * 2 > n->hmask + 1)) {
		/* the table grows by doubling: adding a child stays O(1) */
		if (ps_rehash(n) < 0) {
			n->nkids--;
			free(name);
			goto fail;
		}
	} else if (n->hash != NULL) {
		uint32_t h = ps_hash((const uchar *)name, len) & n->hmask;

		while (n->hash[h] != 0)
			h = (h + 1) & n->hmask;
		n->hash[h] = n->nkids;
	}
	if (len > n->maxlen)
		n->maxlen = (uint32_t)len;
	n->lenmask |= (uint64_t)1 << (len & 63);
	return ci;
fail:
	ps->nnodes--;
	return -1;
}

/* Create an empty path set, or NULL when out of memory. */
struct ev_pathset *
ev_pathset_new(void)
{
	struct ev_pathset *ps;

	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return NULL;
	if (ps_newnode(ps) < 0) {
		free(ps);
		return NULL;
	}
	return ps;
}

/* Release ps and everything it owns; NULL is a no-op. */
void
ev_pathset_free(struct ev_pathset *ps)
{
	int i, j;

	if (ps == NULL)
		return;
	for (i = 0; i < ps->nnodes; i++) {
		for (j = 0; j < ps->nodes[i].nkids; j++)
			free(ps->nodes[i].kids[j].name);
		free(ps->nodes[i].kids);
		free(ps->nodes[i].hash);
		free(ps->nodes[i].idx);
	}
	free(ps->nodes);
	free(ps);
}

/*
 * Add the path dotted[0..len), split at every '.', creating the nodes it
 * walks.  Returns the path's id (the one it already had if added before),
 * or -1 when out of memory (the set stays usable).
 */
int
ev_pathset_add(struct ev_pathset *ps, const char *dotted, size_t len)
{
	const char *s = dotted, *end = dotted + len, *dot;
	size_t n;
	int ni = 0, ci;

	for (;;) {
		dot = memchr(s, '.', (size_t)(end - s));
		n = (size_t)((dot ? dot : end) - s);
		ci = ps_child(&ps->nodes[ni], (const uchar *)s, n);
		if (ci < 0 && (ci = ps_addkid(ps, ni, s, n)) < 0)
			return -1;
		ni = ci;
		if (dot == NULL)
			break;
		s = dot + 1;
	}
	if (ps->nodes[ni].id < 0)
		ps->nodes[ni].id = ps->nids++;
	return ps->nodes[ni].id;
}

/* The child of n for array index i, or NULL. */
static inline const struct pnode *
ps_idxkid(const struct ev_pathset *ps, const struct pnode *n, size_t i)
{
	int k;

	for (k = 0; k < n->nidx; k++)
		if (n->idx[k].index == i)
			return &ps->nodes[n->idx[k].node];
	return NULL;
}

/* Add an index child [i] under node ni; returns its index or -1. */
static int
ps_addidx(struct ev_pathset *ps, int ni, size_t i)
{
	struct pidx *t;
	struct pnode *n;
	int ci, cap;

	if ((ci = ps_newnode(ps)) < 0)
		return -1;
	n = &ps->nodes[ni];
	if (n->nidx == n->idxcap) {
		cap = n->idxcap ? n->idxcap * 2 : 2;
		if ((t = realloc(n->idx, (size_t)cap * sizeof(*t))) == NULL) {
			ps->nnodes--;
			return -1;
		}
		n->idx = t;
		n->idxcap = cap;
	}
	n->idx[n->nidx].index = i;
	n->idx[n->nidx].node = ci;
	n->nidx++;
	return ci;
}

/*
 * Add the path made of segs[0..nseg): names taken whole (a name may hold
 * dots; it then matches a member of that very name only) and array
 * indexes.  nseg 0 is the whole value.  Returns the path's id, or -1 when
 * out of memory.
 */
int
ev_pathset_add_segs(struct ev_pathset *ps, const struct ev_pseg *segs,
    int nseg)
{
	const struct pnode *k;
	int ni = 0, ci, i;

	for (i = 0; i < nseg; i++) {
		if (segs[i].name == NULL) {
			k = ps_idxkid(ps, &ps->nodes[ni], segs[i].index);
			ci = k != NULL ? (int)(k - ps->nodes)
				       : ps_addidx(ps, ni, segs[i].index);
		} else {
			ci = ps_child(&ps->nodes[ni],
			    (const uchar *)segs[i].name, segs[i].len);
			if (ci < 0)
				ci = ps_addkid(
				    ps, ni, segs[i].name, segs[i].len);
		}
		if (ci < 0)
			return -1;
		ni = ci;
	}
	if (ps->nodes[ni].id < 0)
		ps->nodes[ni].id = ps->nids++;
	return ps->nodes[ni].id;
}

/* Number of ids handed out by ev_pathset_add(). */
int
ev_pathset_count(const struct ev_pathset *ps)
{
	return ps ? ps->nids : 0;
}

/* -------------------------------------------------------------- ev_scan */

struct scan {
	struct lex lx;
	const struct ev_pathset *ps;
	ev_scan_fn fn;
	void *ctx;
	int stop;
	int depth; /* open containers around the cursor */
	int nmemb;
	int elem;	/* the value being scanned is an array element */
	uint32_t narr;
	struct ev_arrpos memb[EV_JSON_MAX_DEPTH];
};

static void
report(struct scan *c, int id, enum ev_jtype t, const uchar *p, size_t len,
    int esc)
{
	struct ev_jval v;

	v.type = t;
	v.p = (const char *)p;
	v.len = len;
	v.esc = esc;
	v.elem = c->elem;
	if (c->fn(c->ctx, id, &v, c->memb, c->nmemb) != 0)
		c->stop = 1;
}

/*
 * The node a member named k[0..klen) (unescaped) of node n leads to, or
 * NULL.  A name holding dots walks one edge per segment.  Child names hold
 * no dots: a name equal to one is a whole segment, and otherwise the first
 * segment must end at a dot placed at the length of some child's name.
 */
static inline const struct pnode *
scan_lookup(const struct ev_pathset *ps, const struct pnode *n, const uchar *k,
    size_t klen)
{
	uint64_t cand;
	size_t seg, i;
	int ci;

	for (;;) {
		if (klen <= n->maxlen &&
		    (n->lenmask & (uint64_t)1 << (klen & 63)) &&
		    (ci = ps_child(n, k, klen)) >= 0)
			return &ps->nodes[ci];
		if (n->maxlen < 64) {
			cand = n->lenmask;
			if (klen < 64)
				cand &= ((uint64_t)1 << klen) - 1;
			for (; cand != 0; cand &= cand - 1)
				if (k[__builtin_ctzll(cand)] == '.')
					break;
			if (cand == 0)
				return NULL;
			seg = (size_t)__builtin_ctzll(cand);
		} else {
			for (seg = 0;
			     seg < klen && seg <= n->maxlen && k[seg] != '.';
			     seg++)
				;
			if (seg == klen || seg > n->maxlen)
				return NULL;
		}
		for (i = 0; i < seg; i++)
			if (k[i] == '.')
				return NULL;
		if ((ci = ps_child(n, k, seg)) < 0)
			return NULL;
		n = &ps->nodes[ci];
		k += seg + 1;
		klen -= seg + 1;
	}
}

/* scan_lookup() for a name with escapes: decode it first. */
static const struct pnode *
scan_lookup_esc(const struct ev_pathset *ps, const struct pnode *n,
    const uchar *k, size_t klen)
{
	char sbuf[256], *dbuf = NULL, *d = sbuf;
	const struct pnode *r;

	if (klen > sizeof(sbuf) && (d = dbuf = malloc(klen)) == NULL)
		return NULL;
	klen = unescape(k, klen, d);
	r = scan_lookup(ps, n, (const uchar *)d, klen);
	free(dbuf);
	return r;
}

static const uchar *scan_value(
    struct scan *, const uchar *, const struct pnode *);
static const uchar *wscan_value(
    struct scan *, const uchar *, const struct pnode *, int);
static const uchar *wscan_object(
    struct scan *, const uchar *, const struct pnode *);

#define W_REP 1 /* report the value at the node's id */
#define W_IDX 2 /* the node's index children apply to an array here */

/*
 * Scan the members of an object whose '{' is just before s, at node n;
 * whole (a constant in each caller) picks the walk of EV_SCAN_WHOLE.
 */
static inline __attribute__((always_inline)) const uchar *
scan_members(struct scan *c, const uchar *s, const struct pnode *n, int whole)
{
	struct lex *lx = &c->lx;
	const uchar *p, *k, *end = lx->end;
	const struct pnode *cn;
	int esc;

	p = skip_ws(s, end);
	if (p >= end)
		return lex_fail(lx, end, M_EOF);
	if (*p == '}')
		return p + 1;
	for (;;) {
		if (*p != '"')
			return lex_fail(lx, p, M_KEY);
		k = p + 1;
		esc = 0;
		if ((p = lex_string(lx, k, &esc)) == NULL)
			return NULL;
		if (c->stop)
			cn = NULL;
		else if (esc)
			cn = scan_lookup_esc(c->ps, n, k, (size_t)(p - 1 - k));
		else
			cn = scan_lookup(c->ps, n, k, (size_t)(p - 1 - k));
		/* Fast path: ':' right after the key, the value right after. */
		if (likely(end - p >= 2 && *p == ':' && !ws_tab[p[1]])) {
			p++;
		} else if ((p = lex_colon(lx, p, end)) == NULL) {
			return NULL;
		}
		if (cn == NULL && *p == '"')
			p = lex_string(lx, p + 1, &esc);
		else if (cn == NULL)
			p = skip_value(lx, p, c->depth);
		else if (whole)
			p = wscan_value(c, p, cn, W_REP | W_IDX);
		else {
			c->elem = 0;
			p = scan_value(c, p, cn);
		}
		if (p == NULL)
			return NULL;
		/* Fast path: ',' right after the value, the key right after. */
		if (likely(end - p >= 2 && *p == ',' && p[1] == '"')) {
			p++;
			continue;
		}
		p = skip_ws(p, end);
		if (p >= end)
			return lex_fail(lx, end, M_EOF);
		if (*p == '}')
			return p + 1;
		if (*p != ',')
			return lex_fail(lx, p, M_OBJ);
		p = skip_ws(p + 1, end);
		if (p >= end)
			return lex_fail(lx, end, M_EOF);
	}
}

static const uchar *
scan_object(struct scan *c, const uchar *s, const struct pnode *n)
{
	return scan_members(c, s, n, 0);
}

static const uchar *
wscan_object(struct scan *c, const uchar *s, const struct pnode *n)
{
	return scan_members(c, s, n, 1);
}

/* Scan an array whose '[' is at s, at node n: elements carry membership. */
static const uchar *
scan_array(struct scan *c, const uchar *s, const struct pnode *n)
{
	struct lex *lx = &c->lx;
	const uchar *p, *end = lx->end;
	struct ev_arrpos *m;

	if (c->depth >= EV_JSON_MAX_DEPTH)
		return lex_fail(lx, s, M_DEEP);
	c->depth++;
	m = &c->memb[c->nmemb++];
	m->array = c->narr++;
	m->index = 0;
	p = skip_ws(s + 1, end);
	if (p >= end)
		return lex_fail(lx, end, M_EOF);
	if (*p != ']') {
		for (;;) {
			c->elem = 1;
			if ((p = scan_value(c, p, n)) == NULL)
				return NULL;
			p = skip_ws(p, end);
			if (p >= end)
				return lex_fail(lx, end, M_EOF);
			if (*p == ']')
				break;
			if (*p != ',')
				return lex_fail(lx, p, M_ARR);
			p = skip_ws(p + 1, end);
			if (p >= end)
				return lex_fail(lx, end, M_EOF);
			m->index++;
		}
	}
	c->nmemb--;
	c->depth--;
	return p + 1;
}

/* Scan the value at s (not whitespace, not the end) found at node n. */
static const uchar *
scan_value(struct scan *c, const uchar *s, const struct pnode *n)
{
	struct lex *lx = &c->lx;
	const uchar *p;
	enum ev_jtype t;
	int esc = 0;

	if (c->stop)
		return skip_value(lx, s, c->depth);
	switch (*s) {
	case '{':
		if (n->id >= 0) {
			if ((p = skip_value(lx, s, c->depth)) == NULL)
				return NULL;
			report(c, n->id, EV_J_OBJECT, s, (size_t)(p - s), 0);
			if (n->nkids == 0 || c->stop)
				return p;
		} else if (n->nkids == 0) {
			return skip_value(lx, s, c->depth);
		}
		if (c->depth >= EV_JSON_MAX_DEPTH)
			return lex_fail(lx, s, M_DEEP);
		c->depth++;
		p = scan_object(c, s + 1, n);
		c->depth--;
		return p;
	case '[':
		return scan_array(c, s, n);
	case '"':
		if ((p = lex_string(lx, s + 1, &esc)) == NULL)
			return NULL;
		if (n->id >= 0)
			report(c, n->id, EV_J_STRING, s + 1,
			    (size_t)(p - 1 - (s + 1)), esc);
		return p;
	case '-':
	case '0':
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
	case '7':
	case '8':
	case '9':
		t = EV_J_NUMBER;
		p = lex_number(lx, s);
		break;
	case 't':
	case 'f':
	case 'n':
		p = lex_literal(lx, s, &t);
		break;
	default:
		return lex_fail(lx, s, value_err(*s));
	}
	if (p != NULL && n->id >= 0)
		report(c, n->id, t, s, (size_t)(p - s), 0);
	return p;
}

/*
 * EV_SCAN_WHOLE: scan an array whose '[' is at s, at node n.  Elements are
 * not values at n; an element with an index child of n (when fl has W_IDX)
 * is the value at that child, and a container element is searched for n's
 * named children (arrays on the way to a name are searched element by
 * element, nested ones too).  An element that is both is walked twice.
 */
static const uchar *
wscan_array(struct scan *c, const uchar *s, const struct pnode *n, int fl)
{
	struct lex *lx = &c->lx;
	const uchar *p, *q = NULL, *end = lx->end;
	const struct pnode *k;
	size_t i = 0;

	if (c->depth >= EV_JSON_MAX_DEPTH)
		return lex_fail(lx, s, M_DEEP);
	c->depth++;
	p = skip_ws(s + 1, end);
	if (p >= end)
		return lex_fail(lx, end, M_EOF);
	if (*p != ']') {
		for (;; i++) {
			k = (fl & W_IDX) && n->nidx > 0 ? ps_idxkid(c->ps, n, i)
							: NULL;
			if (k != NULL &&
			    (q = wscan_value(c, p, k, W_REP | W_IDX)) == NULL)
				return NULL;
			if (n->nkids > 0 && (*p == '{' || *p == '['))
				q = wscan_value(c, p, n, 0);
			else if (k == NULL)
				q = skip_value(lx, p, c->depth);
			if ((p = q) == NULL)
				return NULL;
			p = skip_ws(p, end);
			if (p >= end)
				return lex_fail(lx, end, M_EOF);
			if (*p == ']')
				break;
			if (*p != ',')
				return lex_fail(lx, p, M_ARR);
			p = skip_ws(p + 1, end);
			if (p >= end)
				return lex_fail(lx, end, M_EOF);
		}
	}
	c->depth--;
	return p + 1;
}

/*
 * EV_SCAN_WHOLE: scan the value at s (not whitespace, not the end) found
 * at node n.  With W_REP, a value at an id'd node is reported whole: a
 * scalar when lexed, an object or array when its closing bracket is
 * reached, with p/len covering it from bracket to bracket.  One pass: a
 * container is validated while its children are searched.
 */
static const uchar *
wscan_value(struct scan *c, const uchar *s, const struct pnode *n, int fl)
{
	struct lex *lx = &c->lx;
	const uchar *p;
	enum ev_jtype t;
	int esc = 0, rep = (fl & W_REP) && n->id >= 0 && !c->stop;

	switch (*s) {
	case '{':
		t = EV_J_OBJECT;
		if (n->nkids == 0 || c->stop) {
			p = skip_value(lx, s, c->depth);
			break;
		}
		if (c->depth >= EV_JSON_MAX_DEPTH)
			return lex_fail(lx, s, M_DEEP);
		c->depth++;
		p = wscan_object(c, s + 1, n);
		c->depth--;
		break;
	case '[':
		t = EV_J_ARRAY;
		if ((n->nkids == 0 && !((fl & W_IDX) && n->nidx > 0)) ||
		    c->stop)
			p = skip_value(lx, s, c->depth);
		else
			p = wscan_array(c, s, n, fl);
		break;
	case '"':
		if ((p = lex_string(lx, s + 1, &esc)) == NULL)
			return NULL;
		if (rep)
			report(c, n->id, EV_J_STRING, s + 1,
			    (size_t)(p - 1 - (s + 1)), esc);
		return p;
	case '-':
	case '0':
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
	case '7':
	case '8':
	case '9':
		t = EV_J_NUMBER;
		p = lex_number(lx, s);
		break;
	case 't':
	case 'f':
	case 'n':
		p = lex_literal(lx, s, &t);
		break;
	default:
		return lex_fail(lx, s, value_err(*s));
	}
	if (p != NULL && rep)
		report(c, n->id, t, s, (size_t)(p - s), 0);
	return p;
}

/*
 * Validate line[0..len) as one JSON object and report the values at the
 * paths of ps to fn (see ev_scan_fn).  An object at an id'd path is
 * reported before its contents.  Returns 0, or -1 with err->col and
 * err->msg set (err->file and err->line untouched).
 */
static inline __attribute__((always_inline)) int
scan_line(const char *line, size_t len, const struct ev_pathset *ps,
    int flags, ev_scan_fn fn, void *ctx, struct ev_err *err)
{
	struct scan c;
	const uchar *p, *v;

	c.lx.base = (const uchar *)line;
	c.lx.end = c.lx.base + len;
	c.lx.errat = NULL;
	c.lx.msg = NULL;
	c.lx.wq = NULL;
	p = skip_ws(c.lx.base, c.lx.end);
	if (p >= c.lx.end) {
		lex_fail(&c.lx, c.lx.end, M_EOF);
		goto fail;
	}
	v = p;
	if (*p == '{' && ps != NULL && fn != NULL &&
	    (ps->nodes[0].nkids > 0 ||
		((flags & EV_SCAN_WHOLE) && ps->nodes[0].id >= 0))) {
		c.ps = ps;
		c.fn = fn;
		c.ctx = ctx;
		c.stop = 0;
		c.nmemb = 0;
		c.elem = 0;
		c.narr = 0;
		if (flags & EV_SCAN_WHOLE) {
			c.depth = 0;
			p = wscan_value(&c, p, &ps->nodes[0], W_REP);
		} else {
			c.depth = 1;
			p = scan_object(&c, p + 1, &ps->nodes[0]);
		}
	} else {
		p = skip_value(&c.lx, p, 0);
	}
	if (p == NULL)
		goto fail;
	p = skip_ws(p, c.lx.end);
	if (p < c.lx.end) {
		lex_fail(&c.lx, p, M_TRAIL);
		goto fail;
	}
	if (*v != '{') {
		if (err != NULL) {
			ev_err_set(err, "not a JSON object");
			err->col = (unsigned long)(v - c.lx.base) + 1;
		}
		return -1;
	}
	return 0;
fail:
	if (err != NULL) {
		ev_err_set(err, "invalid JSON: %s", c.lx.msg);
		err->col = (unsigned long)(c.lx.errat - c.lx.base) + 1;
	}
	return -1;
}

int
ev_scan(const char *line, size_t len, const struct ev_pathset *ps,
    ev_scan_fn fn, void *ctx, struct ev_err *err)
{
	return scan_line(line, len, ps, 0, fn, ctx, err);
}

/*
 * ev_scan() with flags: EV_SCAN_WHOLE reports the values at the paths
 * whole (see json_int.h).  The walk, the validation and the errors are
 * ev_scan()'s.
 */
int
ev_scan_ex(const char *line, size_t len, const struct ev_pathset *ps,
    int flags, ev_scan_fn fn, void *ctx, struct ev_err *err)
{
	return scan_line(line, len, ps, flags, fn, ctx, err);
}

/* ------------------------------------------------------------ documents */

struct jparse {
	struct lex lx;
	struct ev_jdoc *doc;
	int cap;
	char *ap; /* arena cursor */
	int depth;
	int nomem;
};

static int
jp_node(struct jparse *j, enum ev_jtype type, const uchar *at)
{
	struct ev_jdoc *doc = j->doc;
	struct ev_jnode *t, *n;
	int cap;

	if (doc->count == j->cap) {
		cap = j->cap ? j->cap * 2 : 16;
		if ((t = realloc(doc->n, (size_t)cap * sizeof(*t))) == NULL) {
			j->nomem = 1;
			return -1;
		}
		doc->n = t;
		j->cap = cap;
	}
	n = &doc->n[doc->count];
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->off = (size_t)(at - j->lx.base);
	n->first = -1;
	n->next = -1;
	return doc->count++;
}

/* Copy the decoded string s[0..len) into the arena, NUL-terminated. */
static const char *
jp_str(struct jparse *j, const uchar *s, size_t len, int esc, size_t *outlen)
{
	char *r = j->ap;

	if (esc) {
		*outlen = unescape(s, len, r);
	} else {
		memcpy(r, s, len);
		*outlen = len;
	}
	r[*outlen] = '\0';
	j->ap += *outlen + 1;
	return r;
}

/* Parse the value at s (not whitespace, not the end); *ni gets its node. */
static const uchar *
jp_value(struct jparse *j, const uchar *s, int *ni)
{
	struct lex *lx = &j->lx;
	const uchar *p, *end = lx->end, *k;
	struct ev_jnode *n;
	enum ev_jtype t;
	int me, ci, last = -1, esc, obj;
	size_t klen;

	switch (*s) {
	case '{':
	case '[':
		obj = *s == '{';
		if (j->depth >= EV_JSON_MAX_DEPTH)
			return lex_fail(lx, s, M_DEEP);
		if ((me = jp_node(j, obj ? EV_J_OBJECT : EV_J_ARRAY, s)) < 0)
			return NULL;
		j->depth++;
		p = skip_ws(s + 1, end);
		if (p >= end)
			return lex_fail(lx, end, M_EOF);
		if (*p == (obj ? '}' : ']'))
			goto close;
		for (;;) {
			k = NULL;
			klen = 0;
			esc = 0;
			if (obj) {
				if (*p != '"')
					return lex_fail(lx, p, M_KEY);
				k = p + 1;
				if ((p = lex_string(lx, k, &esc)) == NULL)
					return NULL;
				klen = (size_t)(p - 1 - k);
				if ((p = lex_colon(lx, p, end)) == NULL)
					return NULL;
			}
			if ((p = jp_value(j, p, &ci)) == NULL)
				return NULL;
			n = &j->doc->n[ci];
			if (obj) {
				n->koff = (size_t)(k - 1 - lx->base);
				n->key = jp_str(j, k, klen, esc, &n->keylen);
			}
			if (last < 0)
				j->doc->n[me].first = ci;
			else
				j->doc->n[last].next = ci;
			last = ci;
			j->doc->n[me].nchild++;
			p = skip_ws(p, end);
			if (p >= end)
				return lex_fail(lx, end, M_EOF);
			if (*p == (obj ? '}' : ']'))
				break;
			if (*p != ',')
				return lex_fail(lx, p, obj ? M_OBJ : M_ARR);
			p = skip_ws(p + 1, end);
			if (p >= end)
				return lex_fail(lx, end, M_EOF);
		}
	close:
		j->depth--;
		n = &j->doc->n[me];
		n->str = (const char *)s;
		n->len = (size_t)(p + 1 - s);
		*ni = me;
		return p + 1;
	case '"':
		esc = 0;
		if ((p = lex_string(lx, s + 1, &esc)) == NULL)
			return NULL;
		if ((me = jp_node(j, EV_J_STRING, s)) < 0)
			return NULL;
		n = &j->doc->n[me];
		n->str =
		    jp_str(j, s + 1, (size_t)(p - 1 - (s + 1)), esc, &n->len);
		*ni = me;
		return p;
	case '-':
	case '0':
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
	case '7':
	case '8':
	case '9':
		if ((p = lex_number(lx, s)) == NULL)
			return NULL;
		if ((me = jp_node(j, EV_J_NUMBER, s)) < 0)
			return NULL;
		n = &j->doc->n[me];
		n->str = jp_str(j, s, (size_t)(p - s), 0, &n->len);
		*ni = me;
		return p;
	case 't':
	case 'f':
	case 'n':
		if ((p = lex_literal(lx, s, &t)) == NULL)
			return NULL;
		if ((me = jp_node(j, t, s)) < 0)
			return NULL;
		*ni = me;
		return p;
	default:
		return lex_fail(lx, s, value_err(*s));
	}
}

/*
 * Parse text[0..len), any JSON value, into doc: nodes in document order
 * (n[0] is the root), strings and keys decoded into an arena, numbers kept
 * as their token text, containers' str/len covering their raw text in
 * text (which doc borrows).  Returns 0, or -1 with err->line, err->col
 * (1-based) and err->msg set and doc empty.  Release with ev_jdoc_free().
 */
int
ev_jdoc_parse(
    struct ev_jdoc *doc, const char *text, size_t len, struct ev_err *err)
{
	struct jparse j;
	const uchar *p;
	unsigned long line, col;
	int root;

	memset(doc, 0, sizeof(*doc));
	doc->text = text;
	doc->textlen = len;
	memset(&j, 0, sizeof(j));
	j.lx.base = (const uchar *)text;
	j.lx.end = j.lx.base + len;
	j.doc = doc;
	/* Every string or number decodes into no more than its token. */
	if ((doc->arena = malloc(len + 1)) == NULL) {
		j.nomem = 1;
		goto fail;
	}
	j.ap = doc->arena;
	p = skip_ws(j.lx.base, j.lx.end);
	if (p >= j.lx.end) {
		lex_fail(&j.lx, j.lx.end, M_EOF);
		goto fail;
	}
	if ((p = jp_value(&j, p, &root)) == NULL)
		goto fail;
	p = skip_ws(p, j.lx.end);
	if (p < j.lx.end) {
		lex_fail(&j.lx, p, M_TRAIL);
		goto fail;
	}
	return 0;
fail:
	if (err != NULL) {
		if (j.nomem) {
			ev_err_set(err, "out of memory");
			err->line = err->col = 0;
		} else {
			ev_jdoc_locate(
			    doc, (size_t)(j.lx.errat - j.lx.base), &line, &col);
			ev_err_set(err, "invalid JSON: %s", j.lx.msg);
			err->line = line;
			err->col = col;
		}
	}
	ev_jdoc_free(doc);
	return -1;
}

/* Release what doc owns (not its text) and empty it. */
void
ev_jdoc_free(struct ev_jdoc *doc)
{
	if (doc == NULL)
		return;
	free(doc->n);
	free(doc->arena);
	doc->n = NULL;
	doc->arena = NULL;
	doc->count = 0;
}

/*
 * The 1-based line and byte column of offset off in doc's text (off may be
 * the text's length: just past the last byte).  Lines end at '\n'.
 */
void
ev_jdoc_locate(const struct ev_jdoc *doc, size_t off, unsigned long *line,
    unsigned long *col)
{
	const char *p = doc->text, *end, *nl;
	unsigned long l = 1;

	if (off > doc->textlen)
		off = doc->textlen;
	end = p + off;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		l++;
		p = nl + 1;
	}
	*line = l;
	*col = (unsigned long)(end - p) + 1;
}

/*
 * The member of object node o named key (NUL-terminated; the last of
 * duplicates wins), or -1 when o has none or is not an object.
 */
int
ev_jdoc_member(const struct ev_jdoc *doc, int o, const char *key)
{
	size_t klen = strlen(key);
	int i, found = -1;

	if (o < 0 || o >= doc->count || doc->n[o].type != EV_J_OBJECT)
		return -1;
	for (i = doc->n[o].first; i >= 0; i = doc->n[i].next)
		if (doc->n[i].keylen == klen &&
		    memcmp(doc->n[i].key, key, klen) == 0)
			found = i;
	return found;
}
