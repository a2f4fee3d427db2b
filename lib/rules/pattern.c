/*
 * pattern.c - compile EventBridge event patterns.
 *
 * The walk mirrors event-ruler's JsonRuleCompiler: the same checks in the
 * same order with the same reason texts (EventBridge returns them
 * verbatim), the same $or expansion (each branch takes a copy of the
 * fields seen so far; later siblings are added to every branch), and the
 * same "last wins" for a path written twice.  Reasons are prefixed with
 * the offending path: "invalid pattern at 'detail.a': Empty arrays are not
 * allowed".
 */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "json/json_int.h"
#include "pattern_int.h"

/*
 * A rule's $or expands to MAX_SUBRULES sub-rules at most, and all rules'
 * sub-rules together (one for a rule without $or) stay within
 * MAX_RULESET_SUBRULES: at that limit, with a dozen fields each (128
 * rules of 12 sibling two-way $or), evmatch peaks at about 320 MiB.
 */
#define MAX_SUBRULES 4096
#define MAX_RULESET_SUBRULES (1 << 19)
#define STRBLOCK (64 * 1024)

/* A field while compiling: shared by every branch that holds it. */
struct tfield {
	const char *path;	/* in the compiler's arena */
	size_t pathlen;
	struct ev_cond *conds;	/* likewise */
	uint32_t nconds;
	int absent_ok;
	int path_id;		/* in the rule set's path set, or -1 */
};

/*
 * One branch of a rule: its fields (indexes in compiler.tf) in the order
 * they were written; for a path written twice the last one wins when the
 * branch is committed.
 */
struct branch {
	int *f;
	size_t n, cap;
};

/* Where an arena stands. */
struct mark {
	struct strblock *block;
	size_t used;
};

struct compiler {
	struct ev_rules *rs;
	const struct ev_jdoc *doc;
	size_t erroff;		/* byte offset of the error in doc's text */
	struct ev_err *err;
	const char *name;	/* the rule's */
	struct branch *br;	/* current branches */
	size_t nbr, capbr;
	struct tfield *tf;	/* every field written */
	size_t ntf, captf;
	struct strblock *paths;	/* their paths */
	size_t abcap;		/* room for an anything-but set */
	char path[4096];	/* dotted path of the object being walked */
	size_t pathlen;
};

static int
fail(struct compiler *c, int node, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Record a compile error at node, naming field (or the current path when
 * field is NULL).
 */
static int
fail(struct compiler *c, int node, const char *field, const char *fmt, ...)
{
	char reason[400];
	va_list ap;
	const char *p = field ? field : c->path;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (*p)
		ev_err_set(c->err, "invalid pattern at '%s': %s", p, reason);
	else
		ev_err_set(c->err, "invalid pattern: %s", reason);
	c->erroff = c->doc->n[node].off;
	ev_jdoc_locate(c->doc, c->erroff, &c->err->line, &c->err->col);
	return -1;
}

/*
 * The rule set would hold n sub-rules, too many: evkit's own limit, so
 * not worded as event-ruler's reasons are.
 */
static int
too_many(struct compiler *c, int node, size_t n)
{
	ev_err_set(c->err, "rule '%s': too many sub-rules in the rule set "
	    "($or expands to %zu; the limit is %d)", c->name, n,
	    MAX_RULESET_SUBRULES);
	c->erroff = c->doc->n[node].off;
	ev_jdoc_locate(c->doc, c->erroff, &c->err->line, &c->err->col);
	return -1;
}

static const struct ev_jnode *
N(struct compiler *c, int i)
{
	return &c->doc->n[i];
}

/* The raw text of a node, as Jackson's getText() would show it. */
static void
node_text(struct compiler *c, int i, char *buf, size_t sz)
{
	const struct ev_jnode *n = N(c, i);

	switch (n->type) {
	case EV_J_STRING:
	case EV_J_NUMBER:
		snprintf(buf, sz, "%.*s", (int)n->len, n->str);
		break;
	case EV_J_TRUE:
		snprintf(buf, sz, "true");
		break;
	case EV_J_FALSE:
		snprintf(buf, sz, "false");
		break;
	case EV_J_NULL:
		snprintf(buf, sz, "null");
		break;
	case EV_J_OBJECT:
		snprintf(buf, sz, "{");
		break;
	case EV_J_ARRAY:
		snprintf(buf, sz, "[");
		break;
	}
}

/* -------------------------------------------------------------- arena */

/*
 * n bytes from the rule set's arena, aligned to align (1 or 8); they live
 * as long as the rule set.  Names, texts, paths and conditions are many
 * and small: a block of 64 KiB holds hundreds.
 */
static void *
arena_alloc(struct strblock **a, size_t n, size_t align)
{
	struct strblock *b = *a;
	size_t at = b ? (b->used + align - 1) & ~(align - 1) : 0;

	if (b == NULL || at > b->size || b->size - at < n) {
		size_t size = n > STRBLOCK ? n : STRBLOCK;

		b = ev_xmalloc(sizeof(*b) + size);
		b->size = size;
		b->used = 0;
		b->next = *a;
		*a = b;
		at = 0;
	}
	b->used = at + n;
	return b->mem + at;
}

/* Give back the end of the last allocation, p[n..]. */
static void
arena_trim(struct strblock **a, char *p, size_t n)
{
	(*a)->used = (size_t)(p - (*a)->mem) + n;
}

static struct mark
arena_mark(struct strblock **a)
{
	struct mark m = { *a, *a ? (*a)->used : 0 };

	return m;
}

/* Free what the arena gave out after mark m (all of it: a zero mark). */
static void
arena_release(struct strblock **a, struct mark m)
{
	while (*a != m.block) {
		struct strblock *b = *a;

		*a = b->next;
		free(b);
	}
	if (*a != NULL)
		(*a)->used = m.used;
}

/*
 * Copy s[0..n) (NUL-terminated) into an arena.
 */
static char *
strs_dup(struct strblock **a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1, 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* An array of n of elements of sz bytes in the arena, zeroed. */
static void *
arena_array(struct strblock **a, size_t n, size_t sz)
{
	void *p = arena_alloc(a, n * sz, 8);

	memset(p, 0, n * sz);
	return p;
}

#define RAW_SMALL ((size_t)64 * 1024)
#define RAW_MAPPED ((size_t)33 * 1024 * 1024)

/*
 * ev_grow() without zeroing the new space, for the rule set's large arrays
 * (their elements are written whole when added): pages past the end are
 * not touched before they are used.  Past 64 KiB the capacity jumps to 33
 * MiB, more than malloc ever serves from its heap: the block is mapped,
 * costs only the pages used, and grows by remapping instead of copying.
 * (Page faults were half of the compile time of 10,000 rules.)
 */
void
ev_grow_raw(void *pp, size_t *cap, size_t n, size_t sz)
{
	void **p = pp;
	size_t ncap = *cap ? *cap : 8;
	void *q;

	if (n <= *cap)
		return;
	while (ncap < n)
		ncap *= 2;
	if (ncap * sz > RAW_SMALL && ncap * sz < RAW_MAPPED)
		ncap = RAW_MAPPED / sz;
	if ((q = realloc(*p, ncap * sz)) == NULL) {
		/* as ev_grow does: out of memory is fatal */
		ev_grow(p, cap, n, sz);
		return;
	}
	*p = q;
	*cap = ncap;
}

/* n bytes for a condition of the rule being compiled, 8-byte aligned. */
static void *
cmem(struct compiler *c, size_t n)
{
	return arena_alloc(&c->rs->strs, n, 8);
}

/* ------------------------------------------------------------ strings */

static struct ev_str
mkstr(struct compiler *c, const char *p, size_t n)
{
	struct ev_str s;

	s.p = strs_dup(&c->rs->strs, p, n);
	s.n = n;
	return s;
}

static struct ev_str
mkfold(struct compiler *c, const char *p, size_t n)
{
	struct ev_str s;

	s.p = arena_alloc(&c->rs->strs, 2 * n + 5, 1);
	s.n = ev_casefold(p, n, s.p);
	s.p[s.n] = '\0';
	arena_trim(&c->rs->strs, s.p, s.n + 1);
	return s;
}

/* ------------------------------------------------------------ numbers */

/*
 * A number operand of numeric/anything-but: event-ruler's ComparableNumber
 * takes every double, so only a token that does not survive a round trip
 * (or is out of the double range) is refused.
 */
static int
number_operand(struct compiler *c, int node, const char *field, double *d)
{
	const struct ev_jnode *n = N(c, node);

	if (!ev_json_number(n->str, n->len, d))
		return fail(c, node, field, "Cannot compare number : %.*s",
		    (int)n->len, n->str);
	return 0;
}

/* ----------------------------------------------------------- wildcard */

/*
 * Validate a wildcard pattern the way event-ruler's WildcardParser does.
 * Positions count from the opening quote event-ruler puts around the
 * value, so the first character is at pos 1.
 */
static int
check_wildcard(struct compiler *c, int node, const char *field,
    const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\\') {
			if (i + 1 >= n || (s[i + 1] != '*' && s[i + 1] != '\\'))
				return fail(c, node, field,
				    "Invalid escape character at pos %zu",
				    i + 1);
			i++;
		} else if (s[i] == '*' && i + 1 < n && s[i + 1] == '*') {
			return fail(c, node, field,
			    "Consecutive wildcard characters at pos %zu", i + 1);
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- cidr */

static void
ip_range(int fam, const uint8_t ip[16], int bits, uint8_t lo[16],
    uint8_t hi[16])
{
	int nbytes = fam == 4 ? 4 : 16, i;

	for (i = 0; i < nbytes; i++) {
		int keep = bits >= 8 ? 8 : bits > 0 ? bits : 0;
		uint8_t mask = keep ? (uint8_t)(0xff << (8 - keep)) : 0;

		lo[i] = ip[i] & mask;
		hi[i] = ip[i] | (uint8_t)~mask;
		bits -= 8;
	}
}

/*
 * Parse "a.b.c.d/n" or "x:y::z/n" into cd, with event-ruler's checks in
 * its order (CIDR.cidr): the range runs from the address with all host
 * bits clear to the address with all host bits set, so "10.1.2.3/8" is
 * 10.0.0.0 to 10.255.255.255 (event-ruler since #89, May 2023).  /32 and
 * /128 stay errors.  Returns 0 or -1 (err set).
 */
static int
parse_cidr(struct compiler *c, int node, const char *field, const char *s,
    size_t n, struct ev_cond *cd)
{
	const char *slash = memchr(s, '/', n), *m, *end = s + n;
	uint8_t ip[16];
	long long bits = 0;
	int fam, neg = 0, digits = 0;

	/* Java's split("/") drops trailing empty parts */
	while (end > s && end[-1] == '/')
		end--;
	if (slash == NULL || slash >= end ||
	    memchr(slash + 1, '/', (size_t)(end - slash - 1)) != NULL)
		return fail(c, node, field, "Malformed CIDR, one '/' required");
	m = slash + 1;
	if (m < end && (*m == '+' || *m == '-'))
		neg = *m++ == '-';
	for (; m < end && *m >= '0' && *m <= '9'; m++, digits++)
		if ((bits = bits * 10 + (*m - '0')) > 2147483648LL)
			break;
	if (m != end || digits == 0 || bits > 2147483647LL + neg)
		return fail(c, node, field,
		    "Malformed CIDR, mask bits must be an integer");
	if (neg && bits > 0)
		return fail(c, node, field,
		    "Malformed CIDR, mask bits must not be negative");
	fam = ev_ip_parse(s, (size_t)(slash - s), ip);
	if (fam < 0)
		return fail(c, node, field, "Invalid IP address: %.*s",
		    (int)(slash - s), s);
	if (fam == 0)
		return fail(c, node, field, "Nonstandard IP address: %.*s",
		    (int)(slash - s), s);
	if (fam == 4 && bits > 31)
		return fail(c, node, field, "IPv4 mask bits must be < 32");
	if (fam == 6 && bits > 127)
		return fail(c, node, field, "IPv6 mask bits must be < 128");
	cd->op = EV_OP_CIDR;
	cd->family = (unsigned char)fam;
	cd->ip_lo = arena_alloc(&c->rs->strs, 32, 1);
	cd->ip_hi = cd->ip_lo + 16;
	ip_range(fam, ip, (int)bits, cd->ip_lo, cd->ip_hi);
	return 0;
}

/* ------------------------------------------------------ match values */

/*
 * Compile one element of a field's value list: a literal or a match
 * expression object.
 */
static int compile_expr(struct compiler *c, int node, const char *field,
    struct ev_cond *cd, int *absent);

static int
compile_literal(struct compiler *c, int node, const char *field,
    struct ev_cond *cd)
{
	const struct ev_jnode *n = N(c, node);
	uint8_t ip[16];
	int fam;

	memset(cd, 0, sizeof(*cd));
	cd->op = EV_OP_EXACT;
	switch (n->type) {
	case EV_J_STRING:
		fam = ev_ip_parse(n->str, n->len, ip);
		if (fam > 0) {
			cd->op = EV_OP_CIDR;
			cd->family = (unsigned char)fam;
			cd->ip_lo = arena_alloc(&c->rs->strs, 32, 1);
			cd->ip_hi = cd->ip_lo + 16;
			ip_range(fam, ip, fam == 4 ? 32 : 128, cd->ip_lo,
			    cd->ip_hi);
			return 0;
		}
		cd->keykind = EV_K_STRING;
		cd->strs = cmem(c, sizeof(struct ev_str));
		cd->strs[0] = mkstr(c, n->str, n->len);
		cd->nstrs = 1;
		return 0;
	case EV_J_NUMBER:
		if (ev_json_number(n->str, n->len, &cd->num)) {
			cd->keykind = EV_K_NUMBER;
		} else {
			cd->keykind = EV_K_TEXT;
			cd->strs = cmem(c, sizeof(struct ev_str));
			cd->strs[0] = mkstr(c, n->str, n->len);
			cd->nstrs = 1;
		}
		return 0;
	case EV_J_TRUE:
		cd->keykind = EV_K_TRUE;
		return 0;
	case EV_J_FALSE:
		cd->keykind = EV_K_FALSE;
		return 0;
	case EV_J_NULL:
		cd->keykind = EV_K_NULL;
		return 0;
	default:
		return fail(c, node, field,
		    "Match value must be String, number, true, false, or null");
	}
}

/* The one string operand of a simple expression, or an error. */
static int
want_string(struct compiler *c, int node, const char *field,
    const char *what)
{
	if (N(c, node)->type != EV_J_STRING)
		return fail(c, node, field, "%s match pattern must be a string",
		    what);
	return 0;
}

/* An object node must have exactly one member. */
static int
one_key(struct compiler *c, int obj, const char *field, const char *msg)
{
	const struct ev_jnode *o = N(c, obj);

	if (o->nchild > 1) {
		int second = N(c, o->first)->next;

		return fail(c, second, field, "%s", msg);
	}
	return 0;
}

#define ONLY_ONE "Only one key allowed in match expression"
#define TOO_MANY "Too many elements in numeric expression"

static int
is_number(struct compiler *c, int node)
{
	return node >= 0 && N(c, node)->type == EV_J_NUMBER;
}

/* Compile ["op", n, ...] of a numeric expression. */
static int
compile_numeric(struct compiler *c, int arr, const char *field,
    struct ev_cond *cd)
{
	int e[5], k = 0, i;
	char op[64], op2[64], txt[128];
	double v, top;

	for (i = N(c, arr)->first; i >= 0 && k < 5; i = N(c, i)->next)
		e[k++] = i;
	for (i = k; i < 5; i++)
		e[i] = -1;
	cd->op = EV_OP_NUMERIC;
	cd->lo = -INFINITY;
	cd->hi = INFINITY;
	if (e[0] < 0 || N(c, e[0])->type != EV_J_STRING) {
		if (e[0] < 0)
			snprintf(txt, sizeof(txt), "]");
		else
			node_text(c, e[0], txt, sizeof(txt));
		return fail(c, e[0] < 0 ? arr : e[0], field,
		    "Invalid member in numeric match: %s", txt);
	}
	snprintf(op, sizeof(op), "%.*s", (int)N(c, e[0])->len, N(c, e[0])->str);
	if (strcmp(op, "=") != 0 && strcmp(op, ">=") != 0 &&
	    strcmp(op, ">") != 0 && strcmp(op, "<=") != 0 &&
	    strcmp(op, "<") != 0) {
		/* event-ruler reads the operand before it looks at op */
		return fail(c, e[0], field,
		    "Unrecognized numeric range operator: %s", op);
	}
	if (!is_number(c, e[1]))
		return fail(c, e[1] < 0 ? arr : e[1], field,
		    "Value of %s must be numeric",
		    strcmp(op, "=") == 0 ? "equals" : op);
	if (number_operand(c, e[1], field, &v) < 0)
		return -1;
	if (strcmp(op, "=") == 0 || op[0] == '<') {
		if (e[2] >= 0)
			return fail(c, e[2], field, TOO_MANY);
		if (op[0] == '=') {
			cd->lo = cd->hi = v;
		} else {
			cd->hi = v;
			cd->hi_open = op[1] == '\0';
		}
		return 0;
	}
	cd->lo = v;
	cd->lo_open = op[1] == '\0';
	if (e[2] < 0)
		return 0;
	if (N(c, e[2])->type != EV_J_STRING) {
		node_text(c, e[2], txt, sizeof(txt));
		return fail(c, e[2], field, "Bad value in numeric range: %s",
		    txt);
	}
	snprintf(op2, sizeof(op2), "%.*s", (int)N(c, e[2])->len,
	    N(c, e[2])->str);
	if (strcmp(op2, "<") != 0 && strcmp(op2, "<=") != 0)
		return fail(c, e[2], field, "Bad numeric range operator: %s",
		    op2);
	if (!is_number(c, e[3]))
		return fail(c, e[3] < 0 ? arr : e[3], field,
		    "Value of %s must be numeric", op2);
	if (number_operand(c, e[3], field, &top) < 0)
		return -1;
	if (e[4] >= 0)
		return fail(c, e[4], field,
		    "Too many terms in numeric range expression");
	if (!(v < top))
		return fail(c, e[1], field, "Bottom must be less than top");
	cd->hi = top;
	cd->hi_open = op2[1] == '\0';
	return 0;
}

enum abkind { AB_PLAIN, AB_IC, AB_PREFIX, AB_SUFFIX, AB_WILDCARD };

/* Add one string to an anything-but set. */
static int
ab_add_string(struct compiler *c, int node, const char *field,
    enum abkind k, struct ev_cond *cd)
{
	const struct ev_jnode *n = N(c, node);

	if ((k == AB_PREFIX || k == AB_SUFFIX) && n->len == 0)
		return fail(c, node, field, "Null prefix/suffix not allowed");
	if (k == AB_WILDCARD &&
	    check_wildcard(c, node, field, n->str, n->len) < 0)
		return -1;
	/* room for every element of the set, taken at the first */
	if (cd->strs == NULL)
		cd->strs = cmem(c, c->abcap * sizeof(struct ev_str));
	cd->strs[cd->nstrs++] = mkstr(c, n->str, n->len);
	return 0;
}

static int
ab_add_number(struct compiler *c, int node, const char *field,
    struct ev_cond *cd)
{
	double d;

	if (number_operand(c, node, field, &d) < 0)
		return -1;
	if (cd->nums == NULL)
		cd->nums = cmem(c, c->abcap * sizeof(double));
	cd->nums[cd->nnums++] = d == 0 ? 0 : d;
	return 0;
}

static int
ab_set_type_error(struct compiler *c, int node, const char *field,
    enum abkind k)
{
	if (k == AB_IC)
		return fail(c, node, field, "Inside anything-but/"
		    "equals-ignore-case list, number|start|null|boolean is "
		    "not supported.");
	if (k == AB_WILDCARD)
		return fail(c, node, field,
		    "wildcard match pattern must be a string");
	return fail(c, node, field,
	    "prefix/suffix match pattern must be a string");
}

static int
compile_anything_but(struct compiler *c, int obj, int val,
    const char *field, struct ev_cond *cd)
{
	static const enum ev_op ops[] = { EV_OP_ANYBUT, EV_OP_ANYBUT_IC,
		EV_OP_ANYBUT_PREFIX, EV_OP_ANYBUT_SUFFIX,
		EV_OP_ANYBUT_WILDCARD };
	enum abkind k = AB_PLAIN;
	int inner = -1, v = val, i, nstr = 0, nnum = 0;

	if (N(c, val)->type == EV_J_OBJECT) {
		const struct ev_jnode *in;

		inner = val;
		if (N(c, val)->first < 0)
			return fail(c, val, field,
			    "Anything-But expression name not found");
		in = N(c, N(c, val)->first);
		if (in->keylen == 18 &&
		    memcmp(in->key, "equals-ignore-case", 18) == 0)
			k = AB_IC;
		else if (in->keylen == 6 && memcmp(in->key, "prefix", 6) == 0)
			k = AB_PREFIX;
		else if (in->keylen == 6 && memcmp(in->key, "suffix", 6) == 0)
			k = AB_SUFFIX;
		else if (in->keylen == 8 && memcmp(in->key, "wildcard", 8) == 0)
			k = AB_WILDCARD;
		else
			return fail(c, N(c, val)->first, field,
			    "Unsupported anything-but pattern: %.*s",
			    (int)in->keylen, in->key);
		v = N(c, val)->first;
	}
	cd->op = (unsigned char)ops[k];
	c->abcap = N(c, v)->type == EV_J_ARRAY ? (size_t)N(c, v)->nchild : 1;
	switch (N(c, v)->type) {
	case EV_J_ARRAY:
	case EV_J_STRING:
	case EV_J_NUMBER:
		break;
	default:
		return fail(c, v, field, "Value of anything-but must be an "
		    "array or single string/number value.");
	}
	if (N(c, v)->type == EV_J_ARRAY) {
		for (i = N(c, v)->first; i >= 0; i = N(c, i)->next) {
			enum ev_jtype t = N(c, i)->type;

			if (k != AB_PLAIN) {
				if (t != EV_J_STRING)
					return ab_set_type_error(c, i, field, k);
				if (ab_add_string(c, i, field, k, cd) < 0)
					return -1;
			} else if (t == EV_J_STRING) {
				nstr++;
				if (ab_add_string(c, i, field, k, cd) < 0)
					return -1;
			} else if (t == EV_J_NUMBER) {
				nnum++;
				if (ab_add_number(c, i, field, cd) < 0)
					return -1;
			} else {
				return fail(c, i, field, "Inside anything but "
				    "list, start|null|boolean is not "
				    "supported.");
			}
		}
		if (k == AB_PLAIN && (nstr > 0) == (nnum > 0))
			return fail(c, v, field, "Inside anything but list, "
			    "either all values are number or string, mixed "
			    "type is not supported");
	} else if (k != AB_PLAIN) {
		if (N(c, v)->type != EV_J_STRING)
			return ab_set_type_error(c, v, field, k);
		if (ab_add_string(c, v, field, k, cd) < 0)
			return -1;
	} else if (N(c, v)->type == EV_J_STRING) {
		if (ab_add_string(c, v, field, k, cd) < 0)
			return -1;
	} else {
		nnum = 1;
		if (ab_add_number(c, v, field, cd) < 0)
			return -1;
	}
	cd->anybut_numbers = (unsigned char)(nnum > 0);
	if (inner >= 0 && one_key(c, inner, field, TOO_MANY) < 0)
		return -1;
	return one_key(c, obj, field, TOO_MANY);
}

/* {"prefix": {"equals-ignore-case": "x"}} and the suffix twin. */
static int
compile_affix_ic(struct compiler *c, int obj, int val, const char *field,
    int prefix, struct ev_cond *cd)
{
	const struct ev_jnode *in;
	const char *Kind = prefix ? "Prefix" : "Suffix";
	const char *kind = prefix ? "prefix" : "suffix";

	if (N(c, val)->first < 0)
		return fail(c, val, field, "%s expression name not found", Kind);
	in = N(c, N(c, val)->first);
	if (!(in->keylen == 18 &&
	    memcmp(in->key, "equals-ignore-case", 18) == 0))
		return fail(c, N(c, val)->first, field,
		    "Unsupported %s pattern: %.*s", kind, (int)in->keylen,
		    in->key);
	if (want_string(c, N(c, val)->first, field, "equals-ignore-case") < 0)
		return -1;
	cd->op = prefix ? EV_OP_PREFIX_IC : EV_OP_SUFFIX_IC;
	cd->strs = cmem(c, 2 * sizeof(struct ev_str));
	cd->strs[0] = mkfold(c, in->str, in->len);
	cd->strs[1] = mkstr(c, in->str, in->len);
	cd->nstrs = 2;
	if (one_key(c, val, field, ONLY_ONE) < 0)
		return -1;
	return one_key(c, obj, field, ONLY_ONE);
}

/* A one-string expression: exact, prefix, suffix, equals-ignore-case,
 * wildcard. */
static int
compile_simple(struct compiler *c, int obj, int val, const char *field,
    enum ev_op op, const char *what, struct ev_cond *cd)
{
	const struct ev_jnode *n = N(c, val);

	if (want_string(c, val, field, what) < 0)
		return -1;
	if (op == EV_OP_WILDCARD &&
	    check_wildcard(c, val, field, n->str, n->len) < 0)
		return -1;
	cd->op = (unsigned char)op;
	if (op == EV_OP_EXACT)
		cd->keykind = EV_K_STRING;
	if (op == EV_OP_EQ_IC) {
		cd->strs = cmem(c, 2 * sizeof(struct ev_str));
		cd->strs[0] = mkfold(c, n->str, n->len);
		cd->strs[1] = mkstr(c, n->str, n->len);
		cd->nstrs = 2;
	} else {
		cd->strs = cmem(c, sizeof(struct ev_str));
		cd->strs[0] = mkstr(c, n->str, n->len);
		cd->nstrs = 1;
	}
	return one_key(c, obj, field, ONLY_ONE);
}

static int
keyis(const struct ev_jnode *n, const char *k)
{
	size_t l = strlen(k);

	return n->keylen == l && memcmp(n->key, k, l) == 0;
}

static int
compile_expr(struct compiler *c, int obj, const char *field,
    struct ev_cond *cd, int *absent)
{
	const struct ev_jnode *m;
	int val;

	memset(cd, 0, sizeof(*cd));
	if (N(c, obj)->first < 0)
		return fail(c, obj, field, "Match expression name not found");
	val = N(c, obj)->first;
	m = N(c, val);
	if (keyis(m, "exactly"))
		return compile_simple(c, obj, val, field, EV_OP_EXACT, "exact",
		    cd);
	if (keyis(m, "prefix")) {
		if (m->type == EV_J_OBJECT)
			return compile_affix_ic(c, obj, val, field, 1, cd);
		return compile_simple(c, obj, val, field, EV_OP_PREFIX,
		    "prefix", cd);
	}
	if (keyis(m, "suffix")) {
		if (m->type == EV_J_OBJECT)
			return compile_affix_ic(c, obj, val, field, 0, cd);
		return compile_simple(c, obj, val, field, EV_OP_SUFFIX,
		    "suffix", cd);
	}
	if (keyis(m, "numeric")) {
		if (m->type != EV_J_ARRAY)
			return fail(c, val, field,
			    "Value of numeric must be an array.");
		if (compile_numeric(c, val, field, cd) < 0)
			return -1;
		return one_key(c, obj, field, TOO_MANY);
	}
	if (keyis(m, "anything-but"))
		return compile_anything_but(c, obj, val, field, cd);
	if (keyis(m, "exists")) {
		if (m->type != EV_J_TRUE && m->type != EV_J_FALSE)
			return fail(c, val, field, "exists match pattern must "
			    "be either true or false.");
		cd->op = m->type == EV_J_TRUE ? EV_OP_EXISTS : EV_OP_ABSENT;
		if (cd->op == EV_OP_ABSENT)
			*absent = 1;
		return one_key(c, obj, field, ONLY_ONE);
	}
	if (keyis(m, "cidr")) {
		if (want_string(c, val, field, "prefix") < 0)
			return -1;
		if (parse_cidr(c, val, field, m->str, m->len, cd) < 0)
			return -1;
		return one_key(c, obj, field, ONLY_ONE);
	}
	if (keyis(m, "equals-ignore-case"))
		return compile_simple(c, obj, val, field, EV_OP_EQ_IC,
		    "equals-ignore-case", cd);
	if (keyis(m, "wildcard"))
		return compile_simple(c, obj, val, field, EV_OP_WILDCARD,
		    "wildcard", cd);
	return fail(c, val, field, "Unrecognized match type %.*s",
	    (int)m->keylen, m->key);
}

/* ------------------------------------------------------------ branches */

/* Append field f (an index in c->tf); commit_rule() lets the last win. */
static void
branch_put(struct branch *b, int f)
{
	ev_grow(&b->f, &b->cap, b->n + 1, sizeof(*b->f));
	b->f[b->n++] = f;
}

static struct branch
branch_copy(const struct branch *b)
{
	struct branch nb = { NULL, 0, 0 };

	ev_grow(&nb.f, &nb.cap, b->n + 1, sizeof(*nb.f));
	if (b->n)
		memcpy(nb.f, b->f, b->n * sizeof(*nb.f));
	nb.n = b->n;
	return nb;
}

/* A field's value list: compile it and put it into every branch. */
static int
write_rules(struct compiler *c, int arr, const char *key, size_t keylen)
{
	struct tfield *f;
	char name[4096];
	int i, fi;
	size_t k;

	if (c->pathlen + keylen + 2 > sizeof(name))
		return fail(c, arr, NULL, "path too long");
	if (c->pathlen) {
		memcpy(name, c->path, c->pathlen);
		name[c->pathlen] = '.';
		memcpy(name + c->pathlen + 1, key, keylen);
		name[c->pathlen + 1 + keylen] = '\0';
	} else {
		memcpy(name, key, keylen);
		name[keylen] = '\0';
	}
	ev_grow(&c->tf, &c->captf, c->ntf + 1, sizeof(*c->tf));
	fi = (int)c->ntf++;
	f = &c->tf[fi];
	f->pathlen = strlen(name);
	f->path = strs_dup(&c->paths, name, f->pathlen);
	f->path_id = -1;
	f->conds = arena_array(&c->rs->strs, (size_t)N(c, arr)->nchild,
	    sizeof(struct ev_cond));
	for (i = N(c, arr)->first; i >= 0; i = N(c, i)->next) {
		struct ev_cond *cd = &f->conds[f->nconds];
		int r;

		if (N(c, i)->type == EV_J_OBJECT)
			r = compile_expr(c, i, name, cd, &f->absent_ok);
		else
			r = compile_literal(c, i, name, cd);
		f->nconds++;
		if (r < 0)
			return -1;
	}
	if (f->nconds == 0)
		return fail(c, arr, name, "Empty arrays are not allowed");
	if (c->nbr == 0) {
		ev_grow(&c->br, &c->capbr, 1, sizeof(*c->br));
		memset(&c->br[0], 0, sizeof(c->br[0]));
		c->nbr = 1;
	}
	for (k = 0; k < c->nbr; k++)
		branch_put(&c->br[k], fi);
	return 0;
}

static int parse_object(struct compiler *c, int obj, int in_or);

static int
push_path(struct compiler *c, const char *key, size_t keylen, size_t *saved)
{
	*saved = c->pathlen;
	if (c->pathlen + keylen + 2 >= sizeof(c->path))
		return -1;
	if (c->pathlen)
		c->path[c->pathlen++] = '.';
	memcpy(c->path + c->pathlen, key, keylen);
	c->pathlen += keylen;
	c->path[c->pathlen] = '\0';
	return 0;
}

static void
pop_path(struct compiler *c, size_t saved)
{
	c->pathlen = saved;
	c->path[saved] = '\0';
}

static size_t branch_settle(const struct tfield *tf, struct branch *b,
    int **tmp, size_t *captmp);

/* "$or": [ {...}, {...}, ... ] */
static int
parse_or(struct compiler *c, int arr)
{
	struct branch *cur = c->br, *out = NULL;
	size_t ncur = c->nbr, nout = 0, capout = 0, k, captmp = 0;
	int i, count = 0, r = 0, *tmp = NULL;

	if (N(c, arr)->type != EV_J_ARRAY)
		return fail(c, arr, NULL,
		    "It must be an Array followed with $or.");
	/* every branch is copied: drop the paths written over first */
	for (k = 0; k < ncur; k++)
		branch_settle(c->tf, &cur[k], &tmp, &captmp);
	free(tmp);
	c->br = NULL;
	c->nbr = c->capbr = 0;
	for (i = N(c, arr)->first; i >= 0; i = N(c, i)->next) {
		count++;
		if (N(c, i)->type != EV_J_OBJECT) {
			r = fail(c, i, NULL, "Only JSON object is allowed in "
			    "array of $or relationship.");
			break;
		}
		/* this branch starts from a copy of the fields so far */
		c->nbr = 0;
		ev_grow(&c->br, &c->capbr, ncur + 1, sizeof(*c->br));
		for (k = 0; k < ncur; k++)
			c->br[c->nbr++] = branch_copy(&cur[k]);
		if (c->nbr == 0) {
			memset(&c->br[0], 0, sizeof(c->br[0]));
			c->nbr = 1;
		}
		r = parse_object(c, i, 1);
		ev_grow(&out, &capout, nout + c->nbr + 1, sizeof(*out));
		if (c->nbr)
			memcpy(out + nout, c->br, c->nbr * sizeof(*out));
		nout += c->nbr;
		c->nbr = 0;
		if (r < 0)
			break;
		if (nout > MAX_SUBRULES) {
			r = fail(c, i, NULL, "pattern too complex: $or expands "
			    "to more than %d combinations", MAX_SUBRULES);
			break;
		}
		if (c->rs->nsubs + nout > MAX_RULESET_SUBRULES) {
			r = too_many(c, i, c->rs->nsubs + nout);
			break;
		}
	}
	if (r == 0 && count < 2)
		r = fail(c, arr, NULL,
		    "There must have at least 2 Objects in $or relationship.");
	for (k = 0; k < ncur; k++)
		free(cur[k].f);
	free(cur);
	free(c->br);
	c->br = out;
	c->nbr = nout;
	c->capbr = capout;
	return r;
}

static int
is_reserved_in_or(const struct ev_jnode *m)
{
	static const char *const words[] = { "exactly", "equals-ignore-case",
		"prefix", "suffix", "anything-but", "exists", "wildcard",
		"numeric", "cidr", "=", "<", "<=", ">", ">=", "regex",
		"not-wildcard", "not-equals-ignore-case", "date-after",
		"date-on-or-after", "date-before", "date-on-or-before",
		"in-date-range", "ip-address-in-range",
		"ip-address-not-in-range" };
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (keyis(m, words[i]))
			return 1;
	return 0;
}

static int
parse_object(struct compiler *c, int obj, int in_or)
{
	int i;
	size_t saved;

	if (N(c, obj)->first < 0)
		return fail(c, obj, NULL, "Empty objects are not allowed");
	for (i = N(c, obj)->first; i >= 0; i = N(c, i)->next) {
		const struct ev_jnode *m = N(c, i);

		if (keyis(m, "$or")) {
			if (parse_or(c, i) < 0)
				return -1;
			continue;
		}
		if (in_or && is_reserved_in_or(m)) {
			char name[600];

			snprintf(name, sizeof(name), "%.*s", (int)m->keylen,
			    m->key);
			return fail(c, i, NULL, "%s is Ruler reserved "
			    "fieldName which cannot be used inside $or.", name);
		}
		switch (m->type) {
		case EV_J_OBJECT:
			if (push_path(c, m->key, m->keylen, &saved) < 0)
				return fail(c, i, NULL, "path too long");
			if (parse_object(c, i, in_or) < 0)
				return -1;
			pop_path(c, saved);
			break;
		case EV_J_ARRAY:
			if (write_rules(c, i, m->key, m->keylen) < 0)
				return -1;
			break;
		default: {
			char name[600];

			snprintf(name, sizeof(name), "%.*s", (int)m->keylen,
			    m->key);
			if (push_path(c, m->key, m->keylen, &saved) < 0)
				return fail(c, i, NULL, "path too long");
			fail(c, i, NULL, "\"%s\" must be an object or an array",
			    name);
			pop_path(c, saved);
			return -1;
		}
		}
	}
	return 0;
}

/* --------------------------------------------------------------- rules */

struct ev_rules *
ev_rules_new(void)
{
	struct ev_rules *rs = ev_xcalloc(1, sizeof(*rs));

	rs->ps = ev_pathset_new();
	if (rs->ps == NULL) {
		free(rs);
		return NULL;
	}
	return rs;
}

void
ev_rules_free(struct ev_rules *rs)
{
	if (rs == NULL)
		return;
	ev_rules_index_free(rs);
	while (rs->strs != NULL) {
		struct strblock *b = rs->strs;

		rs->strs = b->next;
		free(b);
	}
	free(rs->rules);
	free(rs->fields);
	free(rs->subs);
	ev_pathset_free(rs->ps);
	free(rs);
}

/* Free the compiler's own state (what it put in the arena stays). */
static void
compiler_free(struct compiler *c)
{
	struct mark none = { NULL, 0 };
	size_t i;

	for (i = 0; i < c->nbr; i++)
		free(c->br[i].f);
	free(c->br);
	free(c->tf);
	arena_release(&c->paths, none);
}

/*
 * The rank of byte b at the first difference of two valid UTF-8 texts, in
 * the order of their UTF-16 code units (Java's order of strings).  UTF-8
 * bytes order texts by code point, and the first difference is at bytes
 * of the same role (a leading byte, an ASCII byte or the end: both
 * texts share the bytes before it): only U+E000..U+FFFF (leading bytes
 * 0xee, 0xef) and U+10000 and up (0xf0..0xf4, surrogates in UTF-16, which
 * are 0xd800..0xdfff) trade places.
 */
static unsigned
utf16_rank(unsigned char b)
{
	if (b >= 0xf0)
		return b - 2u;
	if (b >= 0xee)
		return b + 5u;
	return b;
}

/*
 * Order paths x[0..nx) and y[0..ny) as Java orders strings; the paths
 * are valid UTF-8 (the JSON parser checks keys).  Long shared prefixes
 * (deep patterns) are skipped eight bytes at a time.
 */
static int
path_cmp(const char *x, size_t nx, const char *y, size_t ny)
{
	size_t n = nx < ny ? nx : ny, i = 0;
	uint64_t a, b;
	unsigned rx, ry;

	while (i + 8 <= n) {
		memcpy(&a, x + i, 8);
		memcpy(&b, y + i, 8);
		if (a != b)
			break;
		i += 8;
	}
	while (i < n && x[i] == y[i])
		i++;
	rx = i < nx ? utf16_rank((unsigned char)x[i]) + 1 : 0;
	ry = i < ny ? utf16_rank((unsigned char)y[i]) + 1 : 0;
	return rx < ry ? -1 : rx > ry;
}

/*
 * Sort f[0..n) (indexes in tf) by path, keeping the order of equal paths:
 * a merge sort, bottom up, through tmp (n elements).
 */
static void
sort_fields(const struct tfield *tf, int *f, int *tmp, size_t n)
{
	size_t w, lo, i, j, k, mid, hi;
	int *from = f, *to = tmp, *t;

	for (w = 1; w < n; w *= 2) {
		for (lo = 0; lo < n; lo += 2 * w) {
			mid = lo + w < n ? lo + w : n;
			hi = mid + w < n ? mid + w : n;
			i = lo;
			j = mid;
			k = lo;
			while (i < mid && j < hi)
				to[k++] = path_cmp(tf[from[j]].path,
				    tf[from[j]].pathlen, tf[from[i]].path,
				    tf[from[i]].pathlen) < 0 ? from[j++] :
				    from[i++];
			while (i < mid)
				to[k++] = from[i++];
			while (j < hi)
				to[k++] = from[j++];
		}
		t = from;
		from = to;
		to = t;
	}
	if (from != f)
		memcpy(f, from, n * sizeof(*f));
}

/*
 * Put branch b's fields in path order (event-ruler checks them that way)
 * and keep, of a path written more than once, the field written last.
 * Returns the new length.
 */
static size_t
branch_settle(const struct tfield *tf, struct branch *b, int **tmp,
    size_t *captmp)
{
	size_t i, n = 0;

	ev_grow(tmp, captmp, b->n + 1, sizeof(**tmp));
	sort_fields(tf, b->f, *tmp, b->n);
	for (i = 0; i < b->n; i++) {
		const struct tfield *p = n ? &tf[b->f[n - 1]] : NULL;
		const struct tfield *q = &tf[b->f[i]];

		if (p != NULL && p->pathlen == q->pathlen &&
		    memcmp(p->path, q->path, p->pathlen) == 0)
			n--;
		b->f[n++] = b->f[i];
	}
	b->n = n;
	return n;
}

/* Settle every branch of c (see branch_settle). */
static void
settle_all(struct compiler *c)
{
	size_t k, captmp = 0;
	int *tmp = NULL;

	for (k = 0; k < c->nbr; k++)
		branch_settle(c->tf, &c->br[k], &tmp, &captmp);
	free(tmp);
}

/* Move the compiled branches of c, settled, into rs as rule `name`. */
static int
commit_rule(struct ev_rules *rs, struct compiler *c, const char *name,
    const char *text, size_t len, struct ev_err *err)
{
	struct ev_rule *r;
	size_t i, k, nf = 0;

	for (k = 0; k < c->nbr; k++)
		nf += c->br[k].n;
	ev_grow_raw(&rs->rules, &rs->caprules, rs->nrules + 1,
	    sizeof(*rs->rules));
	ev_grow_raw(&rs->subs, &rs->capsubs, rs->nsubs + c->nbr,
	    sizeof(*rs->subs));
	ev_grow_raw(&rs->fields, &rs->capfields, rs->nfields + nf,
	    sizeof(*rs->fields));
	r = &rs->rules[rs->nrules];
	r->name = strs_dup(&rs->strs, name, strlen(name));
	r->text = strs_dup(&rs->strs, text, len);
	r->textlen = len;
	r->first_sub = (int)rs->nsubs;
	r->nsub = (int)c->nbr;
	for (k = 0; k < c->nbr; k++) {
		struct ev_subrule *s = &rs->subs[rs->nsubs];

		s->rule = (int)rs->nrules;
		s->first_field = (int)rs->nfields;
		s->nfields = (int)c->br[k].n;
		s->npositive = 0;
		for (i = 0; i < c->br[k].n; i++) {
			struct tfield *tf = &c->tf[c->br[k].f[i]];
			struct ev_field *f;

			if (tf->path_id < 0)
				tf->path_id = ev_pathset_add(rs->ps, tf->path,
				    tf->pathlen);
			if (tf->path_id < 0) {
				ev_err_set(err, "out of memory");
				return -1;
			}
			f = &rs->fields[rs->nfields++];
			f->path_id = tf->path_id;
			f->conds = tf->conds;
			f->nconds = tf->nconds;
			f->absent_ok = (unsigned char)tf->absent_ok;
			f->anchor = 0;
			f->subrule = (int)rs->nsubs;
			if (!f->absent_ok)
				s->npositive++;
		}
		rs->nsubs++;
	}
	rs->nrules++;
	return 0;
}

/* Does cd make event-ruler's byte machine numeric (hasNumeric)? */
static int
is_numeric_cond(const struct ev_cond *cd)
{
	return cd->op == EV_OP_NUMERIC ||
	    (cd->op == EV_OP_EXACT && cd->keykind == EV_K_NUMBER) ||
	    (cd->op == EV_OP_ANYBUT && cd->anybut_numbers);
}

/* qsort_r order of indexes into the fields tf by path. */
static int
cmp_tf_path(const void *a, const void *b, void *tf)
{
	const struct tfield *t = tf;

	return strcmp(t[*(const int *)a].path, t[*(const int *)b].path);
}

/*
 * Mark the CIDR conditions (blocks and address strings) whose path has no
 * numeric condition in any branch of the rule: event-ruler then walks
 * numbers' text through them (cond.c, in_ip_range).  Fields overridden by
 * a later duplicate key are in no branch and do not count.  The branches
 * are settled.  Fields are grouped by path with one sort, so that a rule of
 * many fields costs n log n, not n squared.
 */
static void
mark_cidr_numbers(struct compiler *c)
{
	size_t a, i, j, k, n = 0, ncidr = 0;
	int *idx;

	for (a = 0; a < c->nbr; a++)
		for (i = 0; i < c->br[a].n; i++) {
			const struct tfield *f = &c->tf[c->br[a].f[i]];

			for (k = 0; k < f->nconds; k++)
				ncidr += f->conds[k].op == EV_OP_CIDR;
			n++;
		}
	if (ncidr == 0)
		return;
	idx = ev_xmalloc(n * sizeof(*idx));
	n = 0;
	for (a = 0; a < c->nbr; a++)
		for (i = 0; i < c->br[a].n; i++)
			idx[n++] = c->br[a].f[i];
	qsort_r(idx, n, sizeof(*idx), cmp_tf_path, c->tf);
	for (i = 0; i < n; i = j) {
		int numeric = 0;

		for (j = i; j < n && strcmp(c->tf[idx[j]].path,
		    c->tf[idx[i]].path) == 0; j++)
			for (k = 0; k < c->tf[idx[j]].nconds; k++)
				numeric |= is_numeric_cond(
				    &c->tf[idx[j]].conds[k]);
		for (a = i; a < j; a++)
			for (k = 0; k < c->tf[idx[a]].nconds; k++)
				if (c->tf[idx[a]].conds[k].op == EV_OP_CIDR)
					c->tf[idx[a]].conds[k].num_text =
					    (unsigned char)!numeric;
	}
	free(idx);
}

/*
 * EventBridge's limit on wildcards: the branches' fields, in path order,
 * scored as event-ruler's MachineComplexityEvaluator scores them
 * (complexity.c).  Returns 0, or -1 (err set, at the pattern's start).
 */
static int
check_complexity(struct compiler *c, int root)
{
	struct ev_cx_field *f;
	size_t i, k, n = 0;
	int score;

	for (k = 0; k < c->nbr; k++)
		n += c->br[k].n;
	f = ev_xcalloc(n + 1, sizeof(*f));
	n = 0;
	for (k = 0; k < c->nbr; k++) {
		for (i = 0; i < c->br[k].n; i++, n++) {
			const struct tfield *t = &c->tf[c->br[k].f[i]];

			f[n].path = t->path;
			f[n].conds = t->conds;
			f[n].nconds = t->nconds;
			f[n].subrule = (int)k;
		}
	}
	score = ev_wildcard_complexity(f, n, EV_MAX_COMPLEXITY + 1);
	free(f);
	c->rs->last_complexity = score;
	if (score > EV_MAX_COMPLEXITY)
		return fail(c, root, "", "Rule is too complex - try using "
		    "fewer wildcard characters or fewer repeating character "
		    "sequences after a wildcard");
	return 0;
}

/*
 * Compile the pattern at node root of doc (whose raw text is kept for
 * --explain) as rule name.  On error, *erroff gets the byte offset of the
 * fault in doc's text.
 */
int
ev_rules_add_node(struct ev_rules *rs, const char *name,
    const struct ev_jdoc *doc, int root, size_t *erroff, struct ev_err *err)
{
	const struct ev_jnode *n = &doc->n[root];
	struct compiler c;
	struct mark m;
	char nbuf[32];
	int r;

	if (rs->finished) {
		ev_err_set(err, "rule set already finished");
		return -1;
	}
	if (name == NULL) {
		snprintf(nbuf, sizeof(nbuf), "%zu", rs->nrules + 1);
		name = nbuf;
	}
	/* all but the path buffer: zeroing 4 KiB per rule shows in a profile */
	memset(&c, 0, offsetof(struct compiler, path));
	c.path[0] = '\0';
	c.pathlen = 0;
	c.rs = rs;
	c.doc = doc;
	c.err = err;
	c.name = name;
	m = arena_mark(&rs->strs);
	if (n->type != EV_J_OBJECT)
		r = fail(&c, root, NULL, "Filter is not an object");
	else
		r = parse_object(&c, root, 0);
	if (r == 0)
		settle_all(&c);
	if (r == 0)
		r = check_complexity(&c, root);
	if (r == 0)
		mark_cidr_numbers(&c);
	/* an object node's str is its raw text */
	if (r == 0)
		r = commit_rule(rs, &c, name, n->str, n->len, err);
	if (r < 0) {
		if (erroff != NULL)
			*erroff = c.erroff;
		arena_release(&rs->strs, m);
	}
	compiler_free(&c);
	return r;
}

int
ev_rules_add(struct ev_rules *rs, const char *name, const char *text,
    size_t len, struct ev_err *err)
{
	struct ev_jdoc doc;
	int r;

	if (rs->finished) {
		ev_err_set(err, "rule set already finished");
		return -1;
	}
	if (ev_jdoc_parse(&doc, text, len, err) < 0)
		return -1;
	r = ev_rules_add_node(rs, name, &doc, 0, NULL, err);
	ev_jdoc_free(&doc);
	return r;
}

int
ev_rules_finish(struct ev_rules *rs, struct ev_err *err)
{
	if (rs->finished)
		return 0;
	ev_case_init();
	if (ev_rules_index(rs, err) < 0)
		return -1;
	rs->finished = 1;
	return 0;
}

size_t
ev_rules_count(const struct ev_rules *rs)
{
	return rs->nrules;
}

const char *
ev_rules_name(const struct ev_rules *rs, size_t i)
{
	return i < rs->nrules ? rs->rules[i].name : NULL;
}

const char *
ev_rules_text(const struct ev_rules *rs, size_t i, size_t *len)
{
	if (i >= rs->nrules)
		return NULL;
	*len = rs->rules[i].textlen;
	return rs->rules[i].text;
}
