/*
 * path.c - paths into an event, for tools that pick values out of each
 * line (evdedupe's key, the transformers' InputPath and InputPathsMap).
 *
 * A path is a list of segments: field names, and array indexes written
 * [N].  Spellings: dotted ("detail.user.id"), or as EventBridge's
 * InputPath/JSONPath writes it ("$.detail.user.id", "$.resources[0]",
 * "$['weird.key'].x"; "$" alone is the whole event).
 *
 * Lookup semantics follow the matcher's (json_int.h): an event member whose
 * name holds dots ("user.id") stands for the same path as nested members
 * ("user" then "id"), and arrays met on the way are searched element by
 * element (nested arrays flattened).  When several values sit at the path
 * (a duplicate member name, a name both dotted and nested, several
 * elements of an array on the way) the last in document order wins, as in
 * jq and ev_jdoc_member().  A name written in brackets is matched whole:
 * $['a.b'] matches the member "a.b" only.
 *
 * The paths compile into one path set, and one validating pass of the
 * scanner (ev_scan_ex() with EV_SCAN_WHOLE) finds every path's value.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "json_int.h"

struct seg {
	const char *name; /* decoded; NULL for an index */
	size_t len;
	size_t index;
};

/* A parsed spec, before it joins a path set. */
struct spec {
	int nseg;
	struct seg *seg;
	char *names; /* owns the segment names */
};

/* Several paths in one set: path i has id pid[i] (ids repeat for twins). */
struct ev_paths {
	struct ev_pathset *ps;
	int n;
	int *pid;
};

/* One path is a set of one. */
struct ev_path {
	struct ev_paths *set;
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

static void
spec_free(struct spec *p)
{
	if (p == NULL)
		return;
	free(p->seg);
	free(p->names);
	free(p);
}

/*
 * Parse a path spec (see the top of this file).  Returns NULL with
 * err->msg set for an invalid spec, e.g. "invalid path 'a..b': empty field
 * name", or on allocation failure.
 */
static struct spec *
spec_parse(const char *spec, struct ev_err *err)
{
	struct spec *p;
	const char *s = spec, *why = "empty field name";
	size_t n = strlen(spec);
	struct seg *sg;
	char *o;

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
		spec_free(p);
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
	return p;
bad:
	spec_free(p);
	ev_err_set(err, "invalid path '%s': %s", spec, why);
	return NULL;
}

/* ------------------------------------------------------------ path sets */

/*
 * Compile the n path specs into one set read in one pass by
 * ev_paths_get().  The result is owned by the caller (ev_paths_free());
 * the specs are not kept.  Returns NULL with err->msg set for the first
 * invalid spec ("invalid path 'a..b': empty field name") or on allocation
 * failure.
 */
struct ev_paths *
ev_paths_compile(const char *const *specs, int n, struct ev_err *err)
{
	struct ev_pseg *sg;
	struct ev_paths *pv;
	struct spec *sp;
	int i, j, id;

	if ((pv = calloc(1, sizeof(*pv))) == NULL ||
	    (pv->ps = ev_pathset_new()) == NULL ||
	    (pv->pid = calloc((size_t)n + 1, sizeof(*pv->pid))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		if ((sp = spec_parse(specs[i], err)) == NULL) {
			ev_paths_free(pv);
			return NULL;
		}
		sg = calloc((size_t)sp->nseg + 1, sizeof(*sg));
		for (j = 0; sg != NULL && j < sp->nseg; j++) {
			sg[j].name = sp->seg[j].name;
			sg[j].len = sp->seg[j].len;
			sg[j].index = sp->seg[j].index;
		}
		id =
		    sg != NULL ? ev_pathset_add_segs(pv->ps, sg, sp->nseg) : -1;
		free(sg);
		spec_free(sp);
		if (id < 0)
			goto nomem;
		pv->pid[pv->n++] = id;
	}
	return pv;
nomem:
	ev_paths_free(pv);
	ev_err_set(err, "out of memory");
	return NULL;
}

/* Release a path set; NULL is a no-op. */
void
ev_paths_free(struct ev_paths *pv)
{
	if (pv == NULL)
		return;
	ev_pathset_free(pv->ps);
	free(pv->pid);
	free(pv);
}

/* Number of paths in pv. */
int
ev_paths_count(const struct ev_paths *pv)
{
	return pv->n;
}

/* ev_scan_ex() callback: the value at path id, raw; the last one wins. */
static int
on_value(void *ctx, int id, const struct ev_jval *v,
    const struct ev_arrpos *memb, int depth)
{
	struct ev_span *vals = ctx;

	if (v->type == EV_J_STRING) {
		vals[id].p = v->p - 1;
		vals[id].len = v->len + 2;
	} else {
		vals[id].p = v->p;
		vals[id].len = v->len;
	}
	return 0;
}

/*
 * Find the values of every path of pv in the JSON object line[0..len), in
 * one validating pass.  vals (ev_paths_count() entries) gets, for path i,
 * a view into line of the value's raw JSON text (a string keeps its
 * quotes, an object or array its brackets), or p NULL and len 0 when
 * nothing is at the path.  Returns how many paths have a value, or -1 with
 * err->col and err->msg set when the line is not a valid JSON object (as
 * ev_scan() words it); vals is then undefined.
 */
int
ev_paths_get(const struct ev_paths *pv, const char *line, size_t len,
    struct ev_span *vals, struct ev_err *err)
{
	int i, found = 0;

	for (i = 0; i < pv->n; i++) {
		vals[i].p = NULL;
		vals[i].len = 0;
	}
	if (ev_scan_ex(line, len, pv->ps, EV_SCAN_WHOLE, on_value, vals, err) !=
	    0)
		return -1;
	/* vals is indexed by id; ids come in path order, pid[i] <= i. */
	for (i = pv->n - 1; i >= 0; i--) {
		vals[i] = vals[pv->pid[i]];
		found += vals[i].p != NULL;
	}
	return found;
}

/* ----------------------------------------------------------------- path */

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

	if ((p = malloc(sizeof(*p))) == NULL) {
		ev_err_set(err, "out of memory");
		return NULL;
	}
	if ((p->set = ev_paths_compile(&spec, 1, err)) == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

/* Release a compiled path; NULL is a no-op. */
void
ev_path_free(struct ev_path *p)
{
	if (p == NULL)
		return;
	ev_paths_free(p->set);
	free(p);
}

/*
 * Find the value at path p in the JSON object line[0..len), validating the
 * line in the same pass.  On success stores a pointer into line and the
 * length of the value's raw JSON text (a string keeps its quotes, an
 * object or array its brackets) and returns 1; returns 0 when nothing is
 * at the path; -1 with err->col and err->msg set when the line is not a
 * valid JSON object (as ev_scan() words it).
 */
int
ev_path_get(const struct ev_path *p, const char *line, size_t len,
    const char **val, size_t *vlen, struct ev_err *err)
{
	struct ev_span v;
	int r;

	if ((r = ev_paths_get(p->set, line, len, &v, err)) == 1) {
		*val = v.p;
		*vlen = v.len;
	}
	return r;
}
