/*
 * yaml.c - read a YAML document (a CloudFormation or SAM template) as JSON
 * text, with the YAML place of every value, using libyaml's event API.
 *
 * Scalars are resolved much as CloudFormation's YAML 1.1 reader does the
 * values a template holds: a plain scalar that is empty, ~, null, Null or
 * NULL is null; true/True/TRUE and false/False/FALSE are booleans; one that
 * reads as a JSON number (a leading '+' allowed) is that number; anything
 * else (yes, no, on, off, 0x1F, .inf, .nan, ...) is a string, as is every
 * quoted, literal (|) or folded (>) scalar and every scalar tagged !!str or
 * '!'.  A CloudFormation short-form intrinsic becomes its long form: !Ref X
 * is {"Ref": X}, !Condition X is {"Condition": X}, !GetAtt A.B is
 * {"Fn::GetAtt": ["A", "B"]} and any other !Name V is {"Fn::Name": V}.
 * Aliases and mapping keys that are not scalars are refused, as
 * CloudFormation refuses them.
 */
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "rules.h"
#include "json/json_int.h"
#include "yaml_int.h"

/* An open sequence or mapping. */
struct frame {
	int mapping;
	size_t n;		/* nodes seen in it (keys count) */
	int wrapped;		/* inside {"Fn::X": ...}: close it too */
};

struct conv {
	struct ev_yjson *y;
	size_t cap, markcap;
	struct frame *st;
	size_t depth, stcap;
	int oom;
};

/* Grow *pp (cap elements of sz) to hold n; on failure set c->oom. */
static int
grow(struct conv *c, void *pp, size_t *cap, size_t n, size_t sz)
{
	void *t;
	size_t nc;

	if (n <= *cap)
		return 0;
	nc = *cap ? *cap : 64;
	while (nc < n)
		nc *= 2;
	if ((t = realloc(*(void **)pp, nc * sz)) == NULL) {
		c->oom = 1;
		return -1;
	}
	*(void **)pp = t;
	*cap = nc;
	return 0;
}

static void
put(struct conv *c, const char *s, size_t n)
{
	struct ev_yjson *y = c->y;

	if (grow(c, &y->text, &c->cap, y->len + n + 1, 1) < 0)
		return;
	memcpy(y->text + y->len, s, n);
	y->len += n;
	y->text[y->len] = '\0';
}

static void
put_str(struct conv *c, const char *s)
{
	put(c, s, strlen(s));
}

/* Record that the JSON from here on came from YAML mark m. */
static void
mark(struct conv *c, yaml_mark_t m)
{
	struct ev_yjson *y = c->y;

	if (grow(c, &y->marks, &c->markcap, y->nmarks + 1,
	    sizeof(*y->marks)) < 0)
		return;
	y->marks[y->nmarks].off = y->len;
	y->marks[y->nmarks].line = (unsigned long)m.line + 1;
	y->marks[y->nmarks].col = (unsigned long)m.column + 1;
	y->nmarks++;
}

/* s[0..n) escaped for the inside of a JSON string. */
static void
put_chars(struct conv *c, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char esc[6] = { '\\', 'u', '0', '0', 0, 0 };
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		unsigned char b = (unsigned char)s[i];

		if (b >= 0x20 && b != '"' && b != '\\')
			continue;
		put(c, s + run, i - run);
		run = i + 1;
		if (b == '"' || b == '\\') {
			esc[1] = (char)b;
			put(c, esc, 2);
			esc[1] = 'u';
		} else if (b == '\n')
			put(c, "\\n", 2);
		else if (b == '\t')
			put(c, "\\t", 2);
		else {
			esc[4] = hex[b >> 4];
			esc[5] = hex[b & 15];
			put(c, esc, 6);
		}
	}
	put(c, s + run, n - run);
}

/* s[0..n) as a JSON string. */
static void
put_string(struct conv *c, const char *s, size_t n)
{
	put(c, "\"", 1);
	put_chars(c, s, n);
	put(c, "\"", 1);
}

static int
is_one_of(const char *s, size_t n, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strlen(*words) == n && memcmp(*words, s, n) == 0)
			return 1;
	return 0;
}

static size_t
digits(const char *s, size_t i, size_t n)
{
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/* Length of the sign to drop if s[0..n) is a JSON number after it, or -1. */
static int
number_sign(const char *s, size_t n)
{
	size_t i = 0, j;
	int plus = 0;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		plus = s[i++] == '+';
	if (i < n && s[i] == '0')
		j = i + 1;
	else if ((j = digits(s, i, n)) == i)
		return -1;
	if (j < n && s[j] == '.') {
		i = j + 1;
		if ((j = digits(s, i, n)) == i)
			return -1;
	}
	if (j < n && (s[j] == 'e' || s[j] == 'E')) {
		i = j + 1;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		if ((j = digits(s, i, n)) == i)
			return -1;
	}
	return j == n ? plus : -1;
}

/* A scalar value, its tag (if any) read as described at the top. */
static void
put_scalar(struct conv *c, const yaml_event_t *ev, const char *tag)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL",
	    NULL };
	static const char *const trues[] = { "true", "True", "TRUE", NULL };
	static const char *const falses[] = { "false", "False", "FALSE",
	    NULL };
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	int sign;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    (tag != NULL && (strcmp(tag, "!") == 0 ||
	    strcmp(tag, YAML_STR_TAG) == 0)))
		put_string(c, s, n);
	else if (is_one_of(s, n, nulls))
		put_str(c, "null");
	else if (is_one_of(s, n, trues))
		put_str(c, "true");
	else if (is_one_of(s, n, falses))
		put_str(c, "false");
	else if ((sign = number_sign(s, n)) >= 0)
		put(c, s + sign, n - (size_t)sign);
	else
		put_string(c, s, n);
}

/* !GetAtt A.B: the resource and the attribute, split at the first dot. */
static void
put_getatt(struct conv *c, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	const char *dot = memchr(s, '.', n);

	if (dot == NULL) {
		put_string(c, s, n);
		return;
	}
	put(c, "[", 1);
	put_string(c, s, (size_t)(dot - s));
	put(c, ",", 1);
	put_string(c, dot + 1, n - (size_t)(dot - s) - 1);
	put(c, "]", 1);
}

/*
 * The intrinsic a node's tag names ("Ref", "Fn::Sub", ...), written as
 * the opening of its long form; NULL when the tag is none.
 */
static const char *
open_intrinsic(struct conv *c, const yaml_char_t *utag)
{
	const char *tag = (const char *)utag;

	if (tag == NULL || tag[0] != '!' || tag[1] == '\0')
		return NULL;
	put(c, "{\"", 2);
	if (strcmp(tag, "!Ref") != 0 && strcmp(tag, "!Condition") != 0)
		put(c, "Fn::", 4);
	put_chars(c, tag + 1, strlen(tag + 1));
	put(c, "\":", 2);
	return tag + 1;
}

static void
set_err(struct ev_err *err, yaml_mark_t m, const char *msg)
{
	ev_err_set(err, "%s", msg);
	err->line = (unsigned long)m.line + 1;
	err->col = (unsigned long)m.column + 1;
}

/*
 * Place the node of event ev in the open container: write the separator,
 * or, for a mapping key, the key itself and the colon.  Returns 1 when ev
 * was that key, 0 when its value is still to write, -1 on error.
 */
static int
place(struct conv *c, const yaml_event_t *ev, struct ev_err *err)
{
	struct frame *f;

	if (c->depth == 0)
		return 0;
	f = &c->st[c->depth - 1];
	if (f->n++ > 0 && !(f->mapping && f->n % 2 == 0))
		put(c, ",", 1);
	if (!f->mapping || f->n % 2 == 0)
		return 0;
	if (ev->type != YAML_SCALAR_EVENT) {
		set_err(err, ev->start_mark, ev->type == YAML_ALIAS_EVENT ?
		    "unsupported YAML: alias" :
		    "unsupported YAML: mapping key is not a scalar");
		return -1;
	}
	mark(c, ev->start_mark);
	put_string(c, (const char *)ev->data.scalar.value,
	    ev->data.scalar.length);
	put(c, ":", 1);
	return 1;
}

/* A sequence or mapping starts: open it, in its intrinsic if tagged. */
static int
open_container(struct conv *c, const yaml_event_t *ev, int mapping,
    const yaml_char_t *tag, struct ev_err *err)
{
	struct frame *f;

	if (place(c, ev, err) < 0)
		return -1;
	if (grow(c, &c->st, &c->stcap, c->depth + 1, sizeof(*c->st)) < 0)
		return 0;
	mark(c, ev->start_mark);
	f = &c->st[c->depth++];
	f->mapping = mapping;
	f->n = 0;
	f->wrapped = open_intrinsic(c, tag) != NULL;
	put(c, mapping ? "{" : "[", 1);
	return 0;
}

/*
 * Write what event ev adds to the JSON.  Returns 0, 1 at the end of the
 * first document, -1 on error.
 */
static int
convert(struct conv *c, const yaml_event_t *ev, struct ev_err *err)
{
	const yaml_char_t *tag;
	const char *fn;
	struct frame *f;
	int k;

	switch (ev->type) {
	case YAML_DOCUMENT_END_EVENT:
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_ALIAS_EVENT:
		if (place(c, ev, err) == 0)
			set_err(err, ev->start_mark,
			    "unsupported YAML: alias");
		return -1;
	case YAML_SCALAR_EVENT:
		if ((k = place(c, ev, err)) != 0)
			return k < 0 ? -1 : 0;
		mark(c, ev->start_mark);
		tag = ev->data.scalar.tag;
		if ((fn = open_intrinsic(c, tag)) == NULL)
			put_scalar(c, ev, (const char *)tag);
		else {
			if (strcmp(fn, "GetAtt") == 0)
				put_getatt(c, ev);
			else
				put_scalar(c, ev, NULL);
			put(c, "}", 1);
		}
		return 0;
	case YAML_SEQUENCE_START_EVENT:
		return open_container(c, ev, 0, ev->data.sequence_start.tag,
		    err);
	case YAML_MAPPING_START_EVENT:
		return open_container(c, ev, 1, ev->data.mapping_start.tag,
		    err);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		f = &c->st[--c->depth];
		put(c, f->mapping ? "}" : "]", 1);
		if (f->wrapped)
			put(c, "}", 1);
		return 0;
	default:
		return 0;
	}
}

/* err for libyaml's complaint about text[0..len). */
static void
parse_err(const yaml_parser_t *p, const char *text, size_t len,
    struct ev_err *err)
{
	yaml_mark_t m = p->problem_mark;
	size_t i;

	if (p->error == YAML_MEMORY_ERROR || p->problem == NULL) {
		ev_err_set(err, "out of memory");
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		/* the mark is not kept: find the byte's line and column */
		memset(&m, 0, sizeof(m));
		for (i = 0; i < p->problem_offset && i < len; i++) {
			m.column++;
			if (text[i] == '\n') {
				m.line++;
				m.column = 0;
			}
		}
	}
	set_err(err, m, "invalid YAML: ");
	strncat(err->msg, p->problem, sizeof(err->msg) - strlen(err->msg) - 1);
}

/*
 * Refuse flow collections ([...], {...}) nested deeper than the JSON
 * reader takes (EV_JSON_MAX_DEPTH) before libyaml sees them: libyaml takes
 * time quadratic in that depth (over a minute for 200,000 brackets), and
 * the JSON it would give is refused anyway.  A light scan: it skips
 * comments, quoted scalars and block scalars, and counts a bracket in
 * block context only where a node starts (not inside "key: a[1"); flow
 * context has no plain scalar that holds one.  Block nesting needs no
 * check: it costs libyaml linear time.  Returns 0, or -1 with err at the
 * bracket ("invalid YAML: nesting too deep").
 */
static int
check_depth(const char *text, size_t len, struct ev_err *err)
{
	const char *p = text, *end = text + len, *line = text;
	unsigned long lineno = 0, col;
	size_t depth = 0, indent = 0, skip_above = (size_t)-1;
	int start = 1;		/* a node may start here */
	int bol = 1;		/* at the beginning of a line */
	char q;

	while (p < end) {
		if (bol) {		/* a new line: its indentation */
			bol = 0;
			while (p < end && *p == ' ')
				p++;
			indent = (size_t)(p - line);
			if (skip_above != (size_t)-1) {
				/* inside a block scalar: its lines are blank
				 * or more indented than the line of the '|' */
				if (p == end || *p == '\n' || *p == '\r' ||
				    indent > skip_above) {
					p = memchr(p, '\n', (size_t)(end - p));
					if (p == NULL)
						break;
					line = ++p;
					lineno++;
					bol = 1;
					continue;
				}
				skip_above = (size_t)-1;
			}
			if (depth == 0)
				start = 1;
			continue;
		}
		switch (*p) {
		case '\n':
			line = ++p;
			lineno++;
			bol = 1;
			continue;
		case ' ':
		case '\t':
		case '\r':
			p++;
			continue;
		case '#':
			if (p == line || p[-1] == ' ' || p[-1] == '\t') {
				while (p < end && *p != '\n')
					p++;
				continue;
			}
			break;
		case '\'':
		case '"':
			if (!start)
				break;
			for (q = *p++; p < end; p++) {
				if (*p == '\n') {
					line = p + 1;
					lineno++;
				} else if (q == '"' && *p == '\\' && p + 1 < end)
					p++;
				else if (*p == q && (q == '"' || p + 1 == end ||
				    p[1] != '\''))
					break;
				else if (*p == q)
					p++;	/* '' in '...' */
			}
			p++;
			start = 0;
			continue;
		case '[':
		case '{':
			if (depth == 0 && !start)
				break;
			if (++depth > EV_JSON_MAX_DEPTH) {
				for (col = 1; line < p; line++)
					col += ((unsigned char)*line & 0xc0) !=
					    0x80;
				ev_err_set(err, "invalid YAML: nesting too deep");
				err->line = lineno + 1;
				err->col = col;
				return -1;
			}
			p++;
			start = 1;
			continue;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			p++;
			start = 0;
			continue;
		case ',':
			p++;
			start = depth > 0;
			continue;
		case '-':
		case '?':
		case ':':
			/* an indicator: followed by a blank or the line end */
			if (p + 1 == end || p[1] == ' ' || p[1] == '\t' ||
			    p[1] == '\n' || p[1] == '\r' ||
			    (*p == ':' && depth > 0)) {
				p++;
				start = 1;
				continue;
			}
			break;
		case '|':
		case '>':
			if (start && depth == 0) {
				skip_above = indent;
				while (p < end && *p != '\n')
					p++;
				continue;
			}
			break;
		case '!':
		case '&':
			/* a tag or anchor: a node may still start after it */
			if (start) {
				while (p < end && *p != ' ' && *p != '\n' &&
				    *p != ',' && *p != '[' && *p != '{' &&
				    *p != ']' && *p != '}')
					p++;
				continue;
			}
			break;
		}
		/* part of a plain scalar */
		p++;
		start = 0;
	}
	return 0;
}

/*
 * Convert the first document of text[0..len) to JSON in y (see
 * yaml_int.h); the caller frees y with ev_yjson_free() after a success.
 */
int
ev_yaml_to_json(const char *text, size_t len, struct ev_yjson *y,
    struct ev_err *err)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct conv c;
	int r = 0;

	memset(y, 0, sizeof(*y));
	memset(&c, 0, sizeof(c));
	c.y = y;
	if (check_depth(text, len, err) < 0)
		return -1;
	if (!yaml_parser_initialize(&p)) {
		ev_err_set(err, "out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (r == 0 && !c.oom) {
		if (!yaml_parser_parse(&p, &ev)) {
			parse_err(&p, text, len, err);
			r = -1;
			break;
		}
		r = convert(&c, &ev, err);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	free(c.st);
	if (r >= 0 && y->len == 0)
		put_str(&c, "null");	/* an empty document: at 1:1 */
	if (c.oom) {
		ev_err_set(err, "out of memory");
		err->line = err->col = 0;
		r = -1;
	}
	if (r < 0) {
		ev_yjson_free(y);
		return -1;
	}
	return 0;
}

/* Release what y holds (not y itself). */
void
ev_yjson_free(struct ev_yjson *y)
{
	free(y->text);
	free(y->marks);
	memset(y, 0, sizeof(*y));
}

/*
 * The YAML line and column of JSON offset off: those of the nearest value
 * or member name that starts at or before it (1:1 before any).
 */
void
ev_yjson_locate(const struct ev_yjson *y, size_t off, unsigned long *line,
    unsigned long *col)
{
	size_t lo = 0, hi = y->nmarks, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (y->marks[mid].off <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	*line = lo > 0 ? y->marks[lo - 1].line : 1;
	*col = lo > 0 ? y->marks[lo - 1].col : 1;
}
