/*
 * jdoc.c - typed, located getters over ev_jdoc, for configuration files.
 *
 * A configuration reader says what it expects of each member and gets
 * either the value or one located message in evkit's wording:
 * "'IntervalSeconds' must be a positive integer" at the value's line and
 * column.  The parser itself is in json.c.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "json.h"
#include "json_int.h"

/* Locate err at byte offset off of doc's text. */
static int
fail_at(const struct ev_jdoc *doc, size_t off, struct ev_err *err)
{
	ev_jdoc_locate(doc, off, &err->line, &err->col);
	return -1;
}

static const char *
type_name(enum ev_jtype t)
{
	switch (t) {
	case EV_J_STRING:
		return "a string";
	case EV_J_NUMBER:
		return "a number";
	case EV_J_OBJECT:
		return "an object";
	case EV_J_ARRAY:
		return "an array";
	case EV_J_TRUE:
	case EV_J_FALSE:
		return "true or false";
	default:
		return "null";
	}
}

/* Whether node type t is what want asks for (a bool is either literal). */
static int
type_is(enum ev_jtype t, enum ev_jtype want)
{
	if (want == EV_J_TRUE || want == EV_J_FALSE)
		return t == EV_J_TRUE || t == EV_J_FALSE;
	return t == want;
}

/*
 * Check that node is of type want; what names it in the message.
 * Returns 0, or -1 with err located at the node.
 */
int
ev_jdoc_as_type(const struct ev_jdoc *doc, int node, const char *what,
    enum ev_jtype want, struct ev_err *err)
{
	if (type_is(doc->n[node].type, want))
		return 0;
	ev_err_set(err, "'%s' must be %s", what, type_name(want));
	return fail_at(doc, doc->n[node].off, err);
}

/* The string at node (decoded); what names it in the message. */
int
ev_jdoc_as_str(const struct ev_jdoc *doc, int node, const char *what,
    const char **s, size_t *len, struct ev_err *err)
{
	if (ev_jdoc_as_type(doc, node, what, EV_J_STRING, err) < 0)
		return -1;
	*s = doc->n[node].str;
	if (len != NULL)
		*len = doc->n[node].len;
	return 0;
}

/* The words for an integer in [min, max] after "must be ". */
static void
int_words(int64_t min, int64_t max, char *buf, size_t size)
{
	if (min == 1 && max == INT64_MAX)
		snprintf(buf, size, "a positive integer");
	else if (min == 0 && max == INT64_MAX)
		snprintf(buf, size, "a non-negative integer");
	else if (min == INT64_MIN && max == INT64_MAX)
		snprintf(buf, size, "an integer");
	else
		snprintf(buf, size, "an integer from %lld to %lld",
		    (long long)min, (long long)max);
}

/*
 * The integer at node, which must be a number with a whole value in
 * [min, max] (and within +-2^53, where doubles hold every integer).
 */
int
ev_jdoc_as_int(const struct ev_jdoc *doc, int node, const char *what,
    int64_t min, int64_t max, int64_t *v, struct ev_err *err)
{
	const struct ev_jnode *n = &doc->n[node];
	char words[96];
	double d;

	if (n->type == EV_J_NUMBER && ev_json_number(n->str, n->len, &d) &&
	    d == floor(d) && fabs(d) <= 9007199254740992.0 &&
	    d >= (double)min && d <= (double)max) {
		*v = (int64_t)d;
		if (*v >= min && *v <= max)
			return 0;
	}
	int_words(min, max, words, sizeof(words));
	ev_err_set(err, "'%s' must be %s", what, words);
	return fail_at(doc, n->off, err);
}

/*
 * The member key of obj: 1 with *m set, 0 when absent and not required,
 * -1 with err when absent and required.
 */
static int
member(const struct ev_jdoc *doc, int obj, const char *key, int flags, int *m,
    struct ev_err *err)
{
	if ((*m = ev_jdoc_member(doc, obj, key)) >= 0)
		return 1;
	if (!(flags & EV_JGET_REQUIRED))
		return 0;
	ev_err_set(err, "missing member '%s'", key);
	return fail_at(doc, doc->n[obj].off, err);
}

/* Member key of obj as a decoded string. */
int
ev_jdoc_get_str(const struct ev_jdoc *doc, int obj, const char *key, int flags,
    const char **s, size_t *len, struct ev_err *err)
{
	int m, r;

	if ((r = member(doc, obj, key, flags, &m, err)) <= 0)
		return r;
	return ev_jdoc_as_str(doc, m, key, s, len, err) < 0 ? -1 : 1;
}

/* Member key of obj as an integer in [min, max]. */
int
ev_jdoc_get_int(const struct ev_jdoc *doc, int obj, const char *key, int flags,
    int64_t min, int64_t max, int64_t *v, struct ev_err *err)
{
	int m, r;

	if ((r = member(doc, obj, key, flags, &m, err)) <= 0)
		return r;
	return ev_jdoc_as_int(doc, m, key, min, max, v, err) < 0 ? -1 : 1;
}

/* Member key of obj as a number (a double; 1e400 is out of range). */
int
ev_jdoc_get_num(const struct ev_jdoc *doc, int obj, const char *key, int flags,
    double *v, struct ev_err *err)
{
	int m, r;

	if ((r = member(doc, obj, key, flags, &m, err)) <= 0)
		return r;
	if (ev_jdoc_as_type(doc, m, key, EV_J_NUMBER, err) < 0)
		return -1;
	ev_json_number(doc->n[m].str, doc->n[m].len, v);
	if (isinf(*v)) {
		ev_err_set(err, "'%s' is out of range", key);
		return fail_at(doc, doc->n[m].off, err);
	}
	return 1;
}

/* Member key of obj as true (1) or false (0). */
int
ev_jdoc_get_bool(const struct ev_jdoc *doc, int obj, const char *key, int flags,
    int *v, struct ev_err *err)
{
	int m, r;

	if ((r = member(doc, obj, key, flags, &m, err)) <= 0)
		return r;
	if (ev_jdoc_as_type(doc, m, key, EV_J_TRUE, err) < 0)
		return -1;
	*v = doc->n[m].type == EV_J_TRUE;
	return 1;
}

/* Member key of obj, which must be an array: its node. */
int
ev_jdoc_get_arr(const struct ev_jdoc *doc, int obj, const char *key, int flags,
    int *node, struct ev_err *err)
{
	int m, r;

	if ((r = member(doc, obj, key, flags, &m, err)) <= 0)
		return r;
	if (ev_jdoc_as_type(doc, m, key, EV_J_ARRAY, err) < 0)
		return -1;
	*node = m;
	return 1;
}

/* Member key of obj, which must be an object: its node. */
int
ev_jdoc_get_obj(const struct ev_jdoc *doc, int obj, const char *key, int flags,
    int *node, struct ev_err *err)
{
	int m, r;

	if ((r = member(doc, obj, key, flags, &m, err)) <= 0)
		return r;
	if (ev_jdoc_as_type(doc, m, key, EV_J_OBJECT, err) < 0)
		return -1;
	*node = m;
	return 1;
}

/* First child of node (element or member), or -1. */
int
ev_jdoc_child(const struct ev_jdoc *doc, int node)
{
	return node >= 0 && node < doc->count ? doc->n[node].first : -1;
}

/* The sibling after node, or -1. */
int
ev_jdoc_next(const struct ev_jdoc *doc, int node)
{
	return node >= 0 && node < doc->count ? doc->n[node].next : -1;
}

/*
 * Reject a member of obj whose name is not in known (NULL-terminated).
 * Returns 0, or -1 with err at the member's name: "unknown member 'Foo'".
 */
int
ev_jdoc_known(const struct ev_jdoc *doc, int obj, const char *const *known,
    struct ev_err *err)
{
	const struct ev_jnode *m;
	const char *const *k;
	int i;

	for (i = ev_jdoc_child(doc, obj); i >= 0; i = doc->n[i].next) {
		m = &doc->n[i];
		for (k = known; *k != NULL; k++)
			if (strlen(*k) == m->keylen &&
			    memcmp(*k, m->key, m->keylen) == 0)
				break;
		if (*k == NULL) {
			ev_err_set(err, "unknown member '%s'", m->key);
			return fail_at(doc, m->koff, err);
		}
	}
	return 0;
}
