/*
 * path.c - paths into an event, for tools that pick one value out of each
 * line (evdedupe's key, the transformers' inputs).
 *
 * A path is a list of segments: field names, and array indexes written
 * [N].  Spellings: dotted ("detail.user.id"), or as EventBridge's
 * InputPath/JSONPath writes it ("$.detail.user.id", "$.resources[0]",
 * "$['weird.key'].x"; "$" alone is the whole event).
 *
 * Lookup semantics follow the matcher's (json_int.h): an event member whose
 * name holds dots ("user.id") stands for the same path as nested members
 * ("user" then "id"), and arrays met on the way are searched element by
 * element (nested arrays flattened).  When several values sit at the path,
 * the first in document order wins.  A name written in brackets is matched
 * whole: $['a.b'] matches the member "a.b" only.
 *
 * ev_path_get() validates the line with the project's scanner, ev_scan(),
 * then walks the validated text to the value.  (ev_scan() reports array
 * elements, never an array itself, so it cannot return an array-valued
 * path in one pass.)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "json_int.h"

struct seg {
	const char *name; /* decoded; NULL for an index */
	size_t len;
	size_t index;
};

struct ev_path {
	int nseg;
	size_t maxjoin; /* length of all names joined with dots */
	struct seg *seg;
	char *names; /* owns the segment names */
};

/*
 * Parse a bracket at s (just past '['): a quoted name ('..' or "..", with
 * backslash escaping the next character) or a decimal index.  Fills sg
 * (name bytes go to *out) and returns the position past ']', or NULL with
 * *why set.
 */
static const char *
parse_bracket(const char *s, struct seg *sg, char **out, const char **why)
{
	char q, *o = *out;
	size_t n = 0;

	if (*s == '\'' || *s == '"') {
		q = *s++;
		sg->name = o;
		for (; *s != q; s++) {
			if (*s == '\0') {
				*why = "unterminated quoted name";
				return NULL;
			}
			if (*s == '\\' && s[1] != '\0')
				s++;
			*o++ = *s;
		}
		sg->len = (size_t)(o - sg->name);
		*o++ = '\0';
		*out = o;
		s++;
	} else if (*s >= '0' && *s <= '9') {
		for (; *s >= '0' && *s <= '9'; s++) {
			if (n > (SIZE_MAX - 9) / 10) {
				*why = "array index out of range";
				return NULL;
			}
			n = n * 10 + (size_t)(*s - '0');
		}
		sg->name = NULL;
		sg->index = n;
	} else {
		*why = "expected a quoted name or an index in brackets";
		return NULL;
	}
	if (*s != ']') {
		*why = "expected ']'";
		return NULL;
	}
	return s + 1;
}

/*
 * Compile a path spec (see the top of this file).  The result is owned by
 * the caller (ev_path_free()); spec is not kept.  Returns NULL with
 * err->msg set for an invalid spec, e.g. "invalid path 'a..b': empty field
 * name", or on allocation failure.
 */
struct ev_path *
ev_path_compile(const char *spec, struct ev_err *err)
{
	struct ev_path *p;
	const char *s = spec, *why = "empty field name";
	size_t n = strlen(spec);
	struct seg *sg;
	char *o;
	int i;

	if (n == 0) {
		ev_err_set(err, "invalid path '': empty path");
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p != NULL) {
		p->seg = calloc(n + 1, sizeof(*p->seg));
		p->names = malloc(2 * n + 2);
	}
	if (p == NULL || p->seg == NULL || p->names == NULL) {
		ev_path_free(p);
		ev_err_set(err, "out of memory");
		return NULL;
	}
	o = p->names;
	if (s[0] == '$' && (s[1] == '\0' || s[1] == '.' || s[1] == '[')) {
		s++;
		if (*s == '\0')
			return p;
		if (*s == '.' && s[1] == '[')
			goto bad;
		if (*s == '.')
			s++;
	}
	for (;;) {
		sg = &p->seg[p->nseg++];
		if (*s == '[') {
			s = parse_bracket(s + 1, sg, &o, &why);
			if (s == NULL)
				goto bad;
		} else {
			/* A plain name runs to the next '.' or '['. */
			sg->name = o;
			while (*s != '\0' && *s != '.' && *s != '[')
				*o++ = *s++;
			sg->len = (size_t)(o - sg->name);
			*o++ = '\0';
			if (sg->len == 0)
				goto bad;
		}
		if (*s == '\0')
			break;
		if (*s == '.') {
			s++;
			if (*s == '\0' || *s == '.' || *s == '[')
				goto bad;
		} else if (*s != '[') {
			why = "expected '.' or '[' after ']'";
			goto bad;
		}
	}
	for (i = 0; i < p->nseg; i++)
		p->maxjoin += p->seg[i].name != NULL ? p->seg[i].len + 1 : 0;
	return p;
bad:
	ev_path_free(p);
	ev_err_set(err, "invalid path '%s': %s", spec, why);
	return NULL;
}

/* Release a compiled path; NULL is a no-op. */
void
ev_path_free(struct ev_path *p)
{
	if (p == NULL)
		return;
	free(p->seg);
	free(p->names);
	free(p);
}

/* ------------------------------------------- walking validated JSON text */

/* The text here was validated by ev_scan(): no bounds surprises. */
static const char *
skip_ws(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
		s++;
	return s;
}

/* s is just past an opening quote: return the position past the closing. */
static const char *
skip_string(const char *s, const char *end)
{
	while (s < end) {
		if (*s == '\\')
			s += 2;
		else if (*s++ == '"')
			break;
	}
	return s;
}

/* s is at a value: return the position just past it. */
static const char *
skip_value(const char *s, const char *end)
{
	int depth = 0;

	if (*s == '"')
		return skip_string(s + 1, end);
	if (*s != '{' && *s != '[') {
		while (s < end && *s != ',' && *s != '}' && *s != ']' &&
		       *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			s++;
		return s;
	}
	while (s < end) {
		switch (*s++) {
		case '"':
			s = skip_string(s, end);
			break;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (--depth == 0)
				return s;
			break;
		}
	}
	return s;
}

/*
 * How many segments from i on the member name k[0..klen) stands for:
 * "a.b" stands for segments "a", "b".  0 when it matches none.
 */
static int
name_match(const struct ev_path *p, int i, const char *k, size_t klen)
{
	size_t pos = 0;
	int j;

	for (j = i; j < p->nseg && p->seg[j].name != NULL; j++) {
		if (klen - pos < p->seg[j].len ||
		    memcmp(k + pos, p->seg[j].name, p->seg[j].len) != 0)
			return 0;
		pos += p->seg[j].len;
		if (pos == klen)
			return j - i + 1;
		if (k[pos] != '.')
			return 0;
		pos++;
	}
	return 0;
}

/*
 * The same for a member name as written in the event, k[0..klen) between
 * its quotes, decoding escapes first.  -1 when out of memory.
 */
static int
key_match(const struct ev_path *p, int i, const char *k, size_t klen)
{
	char sbuf[256], *buf = sbuf;
	struct ev_jval v;
	size_t n;
	int r;

	if (memchr(k, '\\', klen) == NULL)
		return name_match(p, i, k, klen);
	/* A \uXXXX escape is 6 bytes for at least 1: too long to match. */
	if (klen / 6 > p->maxjoin)
		return 0;
	if (klen > sizeof(sbuf) && (buf = malloc(klen)) == NULL)
		return -1;
	v.type = EV_J_STRING;
	v.p = k;
	v.len = klen;
	v.esc = 1;
	n = ev_json_unescape(&v, buf);
	r = name_match(p, i, buf, n);
	if (buf != sbuf)
		free(buf);
	return r;
}

/*
 * Look for segments i.. of p in the value at s.  Returns 1 with *val and
 * *vlen set, 0 when absent, -1 when out of memory.
 */
static int
find(const struct ev_path *p, int i, const char *s, const char *end,
    const char **val, size_t *vlen)
{
	const char *k;
	size_t idx;
	int r, used;

	s = skip_ws(s, end);
	if (i == p->nseg) {
		*val = s;
		*vlen = (size_t)(skip_value(s, end) - s);
		return 1;
	}
	if (*s == '[') {
		s = skip_ws(s + 1, end);
		for (idx = 0; s < end && *s != ']'; idx++) {
			if (p->seg[i].name == NULL && idx == p->seg[i].index)
				return find(p, i + 1, s, end, val, vlen);
			if (p->seg[i].name != NULL &&
			    (*s == '{' || *s == '[') &&
			    (r = find(p, i, s, end, val, vlen)) != 0)
				return r;
			s = skip_ws(skip_value(s, end), end);
			if (s < end && *s == ',')
				s = skip_ws(s + 1, end);
		}
		return 0;
	}
	if (*s != '{' || p->seg[i].name == NULL)
		return 0;
	s = skip_ws(s + 1, end);
	while (s < end && *s == '"') {
		k = s + 1;
		s = skip_string(k, end);
		used = key_match(p, i, k, (size_t)(s - 1 - k));
		if (used < 0)
			return -1;
		s = skip_ws(skip_ws(s, end) + 1, end); /* past ':' */
		if (used > 0 && (r = find(p, i + used, s, end, val, vlen)) != 0)
			return r;
		s = skip_ws(skip_value(s, end), end);
		if (s < end && *s == ',')
			s = skip_ws(s + 1, end);
	}
	return 0;
}

/* ev_scan() callback for a validating pass: never called without paths. */
static int
validate_only(void *ctx, int id, const struct ev_jval *v,
    const struct ev_arrpos *memb, int depth)
{
	return 0;
}

/*
 * Find the value at path p in the JSON object line[0..len).  On success
 * stores a pointer into line and the length of the value's raw JSON text
 * (a string keeps its quotes, an object or array its brackets) and returns
 * 1; returns 0 when nothing is at the path; -1 with err->col and err->msg
 * set when the line is not a valid JSON object (as ev_scan() words it), or
 * with err->msg "out of memory".
 */
int
ev_path_get(const struct ev_path *p, const char *line, size_t len,
    const char **val, size_t *vlen, struct ev_err *err)
{
	int r;

	if (ev_scan(line, len, NULL, validate_only, NULL, err) != 0)
		return -1;
	r = find(p, 0, line, line + len, val, vlen);
	if (r < 0)
		ev_err_set(err, "out of memory");
	return r;
}
