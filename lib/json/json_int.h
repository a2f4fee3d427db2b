/*
 * json_int.h - evkit's strict, zero-copy JSON scanner (library-internal).
 *
 * Two faces over one RFC 8259 grammar:
 *  - ev_scan(): a single validating pass over one event line that reports
 *    only the values found at the paths in a path set and skips every other
 *    subtree (still validating it).  Nothing is allocated, nothing copied.
 *  - ev_jdoc_parse() (declared in json.h): a small tree with byte offsets,
 *    for patterns and configuration files, where positions in diagnostics
 *    matter.
 *
 * Strictness: the input must be valid UTF-8 (no overlongs, no surrogates
 * encoded in UTF-8, nothing above U+10FFFF), strings must not hold raw
 * control characters, escapes are the RFC's eight plus \uXXXX (a \uD800-
 * \uDBFF escape must be followed by a \uDC00-\uDFFF one), numbers follow
 * the RFC grammar (no leading zeros, no "+", no "." without digits, no
 * NaN/Infinity), nesting deeper than EV_JSON_MAX_DEPTH is rejected, and
 * nothing but whitespace may follow the top-level value.
 */
#ifndef EV_JSON_INT_H
#define EV_JSON_INT_H

#include <locale.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

#define EV_JSON_MAX_DEPTH 512

/*
 * A scalar (or container) value seen in the input: a view into the line.
 * For a string, p/len cover the contents between the quotes (still
 * escaped); esc is nonzero when the contents hold a backslash.  For other
 * types p/len cover the raw token (for containers: from the bracket to the
 * matching bracket, inclusive).
 */
struct ev_jval {
	enum ev_jtype type;
	const char *p;
	size_t len;
	int esc;
	int elem;	/* ev_scan: the value is itself an element of the
			 * innermost array in its membership (not a member
			 * of an object inside it) */
};

/*
 * Decode the contents of a string value into buf (size at least v->len; the
 * decoded text is never longer).  Returns the decoded length.  The scanner
 * has already validated the escapes.
 */
size_t ev_json_unescape(const struct ev_jval *v, char *buf);

/* Append code point u to out as UTF-8 (at most 4 bytes); returns the end. */
char *ev_utf8_put(char *out, unsigned long u);
/* Decode one valid UTF-8 sequence at s[0..n) into *cp; returns its length. */
size_t ev_utf8_get(const char *s, size_t n, uint32_t *cp);

/* ------------------------------------------------------------ path sets */

/*
 * A path set is a trie over field names.  A path is a list of segments; an
 * event member "a.b" walks the same edges as "a" then "b" (EventBridge
 * joins nested names with dots, so both spell the same path).  Each node
 * added with ev_pathset_add() gets a small integer id (0, 1, 2, ... in the
 * order first added); interior nodes that were never added have no id.
 */
struct ev_pathset;

struct ev_pathset *ev_pathset_new(void);
void ev_pathset_free(struct ev_pathset *ps);
/*
 * Add the dotted path (e.g. "detail.state"; split at every '.').  Returns
 * the path's id (the same id when added twice), or -1 on allocation failure.
 */
int ev_pathset_add(struct ev_pathset *ps, const char *dotted, size_t len);
/* Number of ids handed out. */
int ev_pathset_count(const struct ev_pathset *ps);

/* One segment of a path: a member name (taken whole) or an array index. */
struct ev_pseg {
	const char *name;	/* NULL for an index */
	size_t len;
	size_t index;
};

/*
 * Add the path segs[0..nseg) (nseg 0: the whole value).  Names are taken
 * whole: a name holding dots matches the member of that very name, not
 * nested members.  Index segments are seen by ev_scan_ex() with
 * EV_SCAN_WHOLE only.  Returns the path's id, or -1 when out of memory.
 */
int ev_pathset_add_segs(struct ev_pathset *ps, const struct ev_pseg *segs,
    int nseg);

/* --------------------------------------------------------------- ev_scan */

/*
 * Array membership of a value: for each array the scanner descended through
 * to reach it (outermost first), the array's number within this event
 * (0, 1, 2, ... in document order) and the element's index in it.
 */
struct ev_arrpos {
	uint32_t array;
	uint32_t index;
};

/*
 * Called for each value found at a path with an id.  Arrays are never
 * reported as such: the scanner descends into them (at any depth, nested
 * arrays flattened) and reports their elements, each with the membership
 * extended by one ev_arrpos.  Objects at an id'd path are reported with
 * type EV_J_OBJECT (the scanner also descends into them when the path has
 * children, after reporting the object itself).  An empty array reports
 * nothing.  Array numbers count, in document order, the arrays the scanner
 * descends into: those at a path of the set or on the way to one.  Values
 * come in document order; v and memb are valid during the call only.
 * Return 0 to go on; nonzero stops reporting (the line is still validated
 * to its end).
 */
typedef int (*ev_scan_fn)(void *ctx, int path_id, const struct ev_jval *v,
    const struct ev_arrpos *memb, int depth);

/*
 * Validate line[0..len) as one JSON object and report the values at the
 * paths in ps (which may be NULL: validate only; fn may be NULL too).
 * Returns 0, or -1 with err->col (1-based byte column of the offending
 * byte) and err->msg set, e.g. "invalid JSON: unterminated string", "not a
 * JSON object"; err->file and err->line are left alone.  The column is
 * len + 1 for errors at the end of the line (unterminated string,
 * unexpected end of input), the first byte of a bad UTF-8 sequence, the
 * backslash of a bad escape or lone surrogate, the first byte of a
 * top-level value that is not an object (which is validated first).
 * The messages after "invalid JSON: " are: unexpected end of input,
 * unterminated string, invalid UTF-8, control character in string,
 * invalid escape, lone surrogate, invalid number, invalid literal,
 * expected value, expected member name, expected ':', expected ',' or '}',
 * expected ',' or ']', trailing characters, nesting too deep.
 * Reentrant: no state outside the call, a few KB of stack (up to ~100 KB
 * for arrays nested hundreds deep at a path of ps).
 */
int ev_scan(const char *line, size_t len, const struct ev_pathset *ps,
    ev_scan_fn fn, void *ctx, struct ev_err *err);

/*
 * ev_scan() with flags.  EV_SCAN_WHOLE reports each value at a path of ps
 * whole, in one validating pass: objects and arrays too (type
 * EV_J_OBJECT/EV_J_ARRAY, p/len from the opening to the closing bracket,
 * reported when the closing bracket is reached, after anything reported
 * inside them), the elements of an array not as values of its path; an
 * index segment ([N]) selects element N of an array at the path before
 * it; arrays met on the way to a named member are searched element by
 * element (nested arrays too).  The root may be a path (nseg 0).  The
 * callback gets depth 0 (no membership).  Used by ev_path_get().
 */
#define EV_SCAN_WHOLE 1
int ev_scan_ex(const char *line, size_t len, const struct ev_pathset *ps,
    int flags, ev_scan_fn fn, void *ctx, struct ev_err *err);

/* --------------------------------------------------------------- numbers */

/*
 * Classify a number token (already validated): store its value in *d and
 * return 1 if it survives a round trip through a double (the shortest
 * decimal that reads back as *d equals the token's value, e.g. 300, 3e2,
 * 0.1, 1e308), else 0 (e.g. 123456789012345678901, 1e400).  -0 reads as 0.
 */
int ev_json_number(const char *p, size_t len, double *d);

/*
 * Switch the calling thread to the "C" locale (uselocale(3)) so that
 * strtod() and printf() read and write '.'; returns the locale to give back
 * to uselocale() afterwards, or (locale_t)0 when nothing was switched.
 * Number text in evkit never goes through the user's LC_NUMERIC.
 */
locale_t ev_json_c_locale(void);

/* ----------------------------------------------------------- vector path */

/*
 * The scanner's vector path (simd.c): chosen once before main() (AVX-512 VBMI
 * or AVX2 when the CPU has it, else SSE2 on x86-64, the scalar scanner
 * alone elsewhere), or as the environment variable EVKIT_SIMD says:
 * "scalar", "sse2", "avx2" or "avx512" (capped at what the CPU has; other
 * values: the best).
 */
enum { EV_SIMD_SCALAR = 0, EV_SIMD_SSE2, EV_SIMD_AVX2, EV_SIMD_AVX512 };
#define EV_SIMD_MAX EV_SIMD_AVX512

/* The path in use, and its name ("scalar", "sse2", "avx2", "avx512"). */
int ev_simd_path(void);
const char *ev_simd_name(int path);
/*
 * Use path (capped at what the CPU has); returns the path now in use.  Not
 * thread-safe: for tests, while no scan runs.
 */
int ev_simd_set(int path);

/*
 * The structural pass over an array being skipped: p is just after its
 * '[', room the number of arrays that may be open at once (that one
 * included) before "nesting too deep".  Takes 64-byte blocks of
 * [p, end) while they hold nothing but numbers (no exponent), ',', '['
 * and ']' in valid order, stay inside the array and within room.  Returns
 * the last ',' taken, or the array's own ']' when the bytes up to it are
 * valid, with *rdepth the arrays open there (that one included, so 1 at
 * its ']'; all of them hold only what was checked up to it), or NULL when
 * neither was reached.  NULL on the scalar path.
 */
typedef const unsigned char *(*ev_simd_arr_fn)(const unsigned char *p,
    const unsigned char *end, int room, int *rdepth);
extern ev_simd_arr_fn ev_simd_arr;

#endif
