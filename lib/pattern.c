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

#include "evkit.h"
#include "json_int.h"
#include "pattern_int.h"

#define MAX_SUBRULES 4096
#define STRBLOCK (64 * 1024)

/* A field while compiling: shared by every branch that holds it. */
struct tfield {
	char *path;
	struct ev_cond *conds;
	size_t nconds;
	int absent_ok;
};

/* One branch of a rule: its fields by path, last write wins. */
struct branch {
	struct tfield **f;
	size_t n, cap;
};

struct compiler {
	struct ev_rules *rs;
	const struct ev_jdoc *doc;
	size_t erroff;		/* byte offset of the error in doc's text */
	struct ev_err *err;
	struct branch *br;	/* current branches */
	size_t nbr, capbr;
	struct tfield **all;	/* every tfield made, for freeing */
	size_t nall, capall;
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

/* ------------------------------------------------------------ strings */

static struct ev_str
mkstr(const char *p, size_t n)
{
	struct ev_str s;

	s.p = ev_xstrndup(p, n);
	s.n = n;
	return s;
}

static struct ev_str
mkfold(const char *p, size_t n)
{
	struct ev_str s;

	s.p = ev_xmalloc(2 * n + 5);
	s.n = ev_casefold(p, n, s.p);
	s.p[s.n] = '\0';
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
	cd->family = fam;
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
			cd->family = fam;
			ip_range(fam, ip, fam == 4 ? 32 : 128, cd->ip_lo,
			    cd->ip_hi);
			return 0;
		}
		cd->keykind = EV_K_STRING;
		cd->strs = ev_xmalloc(sizeof(struct ev_str));
		cd->strs[0] = mkstr(n->str, n->len);
		cd->nstrs = 1;
		return 0;
	case EV_J_NUMBER:
		if (ev_json_number(n->str, n->len, &cd->num)) {
			cd->keykind = EV_K_NUMBER;
		} else {
			cd->keykind = EV_K_TEXT;
			cd->strs = ev_xmalloc(sizeof(struct ev_str));
			cd->strs[0] = mkstr(n->str, n->len);
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
	cd->strs = realloc(cd->strs, (cd->nstrs + 1) * sizeof(struct ev_str));
	if (cd->strs == NULL)
		abort();
	cd->strs[cd->nstrs++] = mkstr(n->str, n->len);
	return 0;
}

static int
ab_add_number(struct compiler *c, int node, const char *field,
    struct ev_cond *cd)
{
	double d;

	if (number_operand(c, node, field, &d) < 0)
		return -1;
	cd->nums = realloc(cd->nums, (cd->nnums + 1) * sizeof(double));
	if (cd->nums == NULL)
		abort();
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
	cd->op = ops[k];
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
	cd->anybut_numbers = nnum > 0;
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
	cd->strs = ev_xmalloc(2 * sizeof(struct ev_str));
	cd->strs[0] = mkfold(in->str, in->len);
	cd->strs[1] = mkstr(in->str, in->len);
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
	cd->op = op;
	if (op == EV_OP_EXACT)
		cd->keykind = EV_K_STRING;
	cd->strs = ev_xmalloc(2 * sizeof(struct ev_str));
	if (op == EV_OP_EQ_IC) {
		cd->strs[0] = mkfold(n->str, n->len);
		cd->strs[1] = mkstr(n->str, n->len);
		cd->nstrs = 2;
	} else {
		cd->strs[0] = mkstr(n->str, n->len);
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

static void
free_cond(struct ev_cond *cd)
{
	size_t i;

	for (i = 0; i < cd->nstrs; i++)
		free(cd->strs[i].p);
	free(cd->strs);
	free(cd->nums);
}

static void
branch_put(struct branch *b, struct tfield *f)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (strcmp(b->f[i]->path, f->path) == 0) {
			b->f[i] = f;
			return;
		}
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
	int i;
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
	f = ev_xcalloc(1, sizeof(*f));
	f->path = ev_xstrndup(name, strlen(name));
	ev_grow(&c->all, &c->capall, c->nall + 1, sizeof(*c->all));
	c->all[c->nall++] = f;
	f->conds = ev_xcalloc((size_t)N(c, arr)->nchild, sizeof(struct ev_cond));
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
		branch_put(&c->br[k], f);
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

/* "$or": [ {...}, {...}, ... ] */
static int
parse_or(struct compiler *c, int arr)
{
	struct branch *cur = c->br, *out = NULL;
	size_t ncur = c->nbr, nout = 0, capout = 0, k;
	int i, count = 0, r = 0;

	if (N(c, arr)->type != EV_J_ARRAY)
		return fail(c, arr, NULL,
		    "It must be an Array followed with $or.");
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
	size_t i, j;

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
	for (i = 0; i < rs->ncondblocks; i++) {
		for (j = 0; j < rs->condcounts[i]; j++)
			free_cond(&rs->condblocks[i][j]);
		free(rs->condblocks[i]);
	}
	free(rs->condblocks);
	free(rs->condcounts);
	ev_pathset_free(rs->ps);
	free(rs);
}

static void
compiler_free(struct compiler *c, int keep_conds)
{
	size_t i, j;

	for (i = 0; i < c->nbr; i++)
		free(c->br[i].f);
	free(c->br);
	for (i = 0; i < c->nall; i++) {
		if (!keep_conds) {
			for (j = 0; j < c->all[i]->nconds; j++)
				free_cond(&c->all[i]->conds[j]);
			free(c->all[i]->conds);
		}
		free(c->all[i]->path);
		free(c->all[i]);
	}
	free(c->all);
}

/*
 * The next UTF-16 code unit of the NUL-terminated UTF-8 text at *s, or 0
 * at its end; *low holds a pending low surrogate.
 */
static unsigned
utf16_next(const char **s, unsigned *low)
{
	uint32_t cp;
	unsigned u;

	if (*low) {
		u = *low;
		*low = 0;
		return u;
	}
	if (**s == '\0')
		return 0;
	*s += ev_utf8_get(*s, strnlen(*s, 4), &cp);
	if (cp < 0x10000)
		return cp;
	*low = 0xdc00 + ((cp - 0x10000) & 0x3ff);
	return 0xd800 + ((cp - 0x10000) >> 10);
}

/* Order paths as Java orders strings (by UTF-16 code units). */
/*
 * Copy s[0..n) (NUL-terminated) into the rule set's string blocks, which
 * live as long as the rule set: names, texts and paths are many and small.
 */
static char *
strs_dup(struct ev_rules *rs, const char *s, size_t n)
{
	struct strblock *b = rs->strs;
	char *p;

	if (b == NULL || b->size - b->used < n + 1) {
		size_t size = n + 1 > STRBLOCK ? n + 1 : STRBLOCK;

		b = ev_xmalloc(sizeof(*b) + size);
		b->size = size;
		b->used = 0;
		b->next = rs->strs;
		rs->strs = b;
	}
	p = b->mem + b->used;
	memcpy(p, s, n);
	p[n] = '\0';
	b->used += n + 1;
	return p;
}

static int
cmp_tfield(const void *a, const void *b)
{
	const char *x = (*(struct tfield *const *)a)->path;
	const char *y = (*(struct tfield *const *)b)->path;
	unsigned lx = 0, ly = 0, cx, cy;

	do {
		cx = utf16_next(&x, &lx);
		cy = utf16_next(&y, &ly);
	} while (cx == cy && cx != 0);
	return cx < cy ? -1 : cx > cy;
}

/* Insertion sort: a branch has a handful of fields. */
static void
sort_fields(struct tfield **f, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		struct tfield *t = f[i];

		for (j = i; j > 0 && cmp_tfield(&f[j - 1], &t) > 0; j--)
			f[j] = f[j - 1];
		f[j] = t;
	}
}

/* Move the compiled branches of c into rs as rule `name`. */
static int
commit_rule(struct ev_rules *rs, struct compiler *c, const char *name,
    const char *text, size_t len, struct ev_err *err)
{
	struct ev_rule *r;
	size_t i, k;

	ev_grow(&rs->rules, &rs->caprules, rs->nrules + 1, sizeof(*rs->rules));
	r = &rs->rules[rs->nrules];
	r->name = strs_dup(rs, name, strlen(name));
	r->text = strs_dup(rs, text, len);
	r->textlen = len;
	r->first_sub = (int)rs->nsubs;
	r->nsub = (int)c->nbr;
	for (k = 0; k < c->nbr; k++) {
		struct ev_subrule *s;

		/* fields in path order: event-ruler checks them that way */
		sort_fields(c->br[k].f, c->br[k].n);
		ev_grow(&rs->subs, &rs->capsubs, rs->nsubs + 1,
		    sizeof(*rs->subs));
		s = &rs->subs[rs->nsubs];
		s->rule = (int)rs->nrules;
		s->first_field = (int)rs->nfields;
		s->nfields = (int)c->br[k].n;
		s->npositive = 0;
		for (i = 0; i < c->br[k].n; i++) {
			const struct tfield *tf = c->br[k].f[i];
			struct ev_field *f;
			int id;

			id = ev_pathset_add(rs->ps, tf->path, strlen(tf->path));
			if (id < 0) {
				ev_err_set(err, "out of memory");
				return -1;
			}
			ev_grow(&rs->fields, &rs->capfields, rs->nfields + 1,
			    sizeof(*rs->fields));
			f = &rs->fields[rs->nfields++];
			f->path = strs_dup(rs, tf->path, strlen(tf->path));
			f->path_id = id;
			f->conds = tf->conds;
			f->nconds = tf->nconds;
			f->absent_ok = tf->absent_ok;
			f->subrule = (int)rs->nsubs;
			if (!f->absent_ok)
				s->npositive++;
		}
		rs->nsubs++;
	}
	/* the rule set now owns every condition block */
	for (i = 0; i < c->nall; i++) {
		size_t cap = rs->capcondblocks;

		ev_grow(&rs->condblocks, &rs->capcondblocks,
		    rs->ncondblocks + 1, sizeof(*rs->condblocks));
		if (rs->capcondblocks != cap || rs->condcounts == NULL) {
			rs->condcounts = realloc(rs->condcounts,
			    rs->capcondblocks * sizeof(size_t));
			if (rs->condcounts == NULL)
				abort();
		}
		rs->condblocks[rs->ncondblocks] = c->all[i]->conds;
		rs->condcounts[rs->ncondblocks++] = c->all[i]->nconds;
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

/*
 * Mark the CIDR conditions (blocks and address strings) whose path has no
 * numeric condition in any branch of the rule: event-ruler then walks
 * numbers' text through them (cond.c, in_ip_range).  Fields overridden by
 * a later duplicate key are in no branch and do not count.
 */
static void
mark_cidr_numbers(struct compiler *c)
{
	size_t a, b, i, j, k;

	for (a = 0; a < c->nbr; a++)
		for (i = 0; i < c->br[a].n; i++) {
			struct tfield *f = c->br[a].f[i];
			int numeric = 0;

			for (b = 0; b < c->nbr && !numeric; b++)
				for (j = 0; j < c->br[b].n && !numeric; j++) {
					const struct tfield *g = c->br[b].f[j];

					if (strcmp(g->path, f->path) != 0)
						continue;
					for (k = 0; k < g->nconds; k++)
						numeric |= is_numeric_cond(
						    &g->conds[k]);
				}
			for (k = 0; k < f->nconds; k++)
				if (f->conds[k].op == EV_OP_CIDR)
					f->conds[k].num_text = !numeric;
		}
}

/*
 * EventBridge's limit on wildcards: the branches' fields, in path order,
 * scored as event-ruler's MachineComplexityEvaluator scores them
 * (complexity.c).  Returns 0, or -1 (err set, at the pattern's start).
 */
static int
check_complexity(struct compiler *c, int root)
{
	struct ev_field *f;
	size_t i, k, n = 0;
	int score;

	for (k = 0; k < c->nbr; k++)
		n += c->br[k].n;
	f = ev_xcalloc(n + 1, sizeof(*f));
	n = 0;
	for (k = 0; k < c->nbr; k++) {
		sort_fields(c->br[k].f, c->br[k].n);
		for (i = 0; i < c->br[k].n; i++, n++) {
			f[n].path = c->br[k].f[i]->path;
			f[n].conds = c->br[k].f[i]->conds;
			f[n].nconds = c->br[k].f[i]->nconds;
			f[n].subrule = (int)k;
		}
	}
	score = ev_wildcard_complexity(f, n, EV_MAX_COMPLEXITY + 1);
	free(f);
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
	char nbuf[32];
	int r;

	if (rs->finished) {
		ev_err_set(err, "rule set already finished");
		return -1;
	}
	memset(&c, 0, sizeof(c));
	c.rs = rs;
	c.doc = doc;
	c.err = err;
	if (n->type != EV_J_OBJECT)
		r = fail(&c, root, NULL, "Filter is not an object");
	else
		r = parse_object(&c, root, 0);
	if (r == 0)
		r = check_complexity(&c, root);
	if (r == 0)
		mark_cidr_numbers(&c);
	if (r == 0) {
		if (name == NULL) {
			snprintf(nbuf, sizeof(nbuf), "%zu", rs->nrules + 1);
			name = nbuf;
		}
		/* an object node's str is its raw text */
		r = commit_rule(rs, &c, name, n->str, n->len, err);
	}
	if (r < 0 && erroff != NULL)
		*erroff = c.erroff;
	compiler_free(&c, r == 0);
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
