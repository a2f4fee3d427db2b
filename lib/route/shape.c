/*
 * shape.c - a target's input shaping, as EventBridge delivers it: Input,
 * InputPath, InputTransformer (InputPathsMap and InputTemplate).
 *
 * Compiling validates the target as PutTargets does and cuts the template
 * into literal pieces, each followed by a variable; the paths of the
 * variables the template uses (and those the reserved variables need) go
 * into one path set.  Applying reads every path in one scanner pass over
 * the event (ev_paths_get()) and builds the payload by copying byte
 * ranges: the template's pieces and the values' raw JSON text.
 *
 * The substitution rules (doc/input-transformer.md has each with its
 * source):
 *  - A template whose first character is '{' or '[' must be JSON once its
 *    placeholders stand for values; one that starts with '"' is JSON when
 *    it is a valid JSON string, else text; anything else is text.
 *  - In a JSON template, a variable outside a string is replaced by the
 *    value's JSON text (objects and arrays minified); a missing value by
 *    "".  Inside a string: a string value loses its quotes (its escapes
 *    are kept as the event wrote them), numbers, true, false and null are
 *    their text, objects and arrays their minified text without quotes
 *    (AWS "removes any internal quotes to ensure a valid string"), and a
 *    missing value is nothing.  The whole payload is minified: one line.
 *  - In a text template, strings are decoded, other values are as inside a
 *    JSON string, a missing value is nothing; the text is kept as written.
 *  - Reserved: <aws.events.rule-name>, <aws.events.rule-arn> and
 *    <aws.events.event.ingestion-time> are strings; <aws.events.event.json>
 *    is the event, <aws.events.event> the event's envelope without detail
 *    (detail-type written detailType), both JSON that AWS does not escape:
 *    inside a JSON string they make the payload undeliverable.
 */
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "json/json_int.h"

/* The reserved variables: negative codes in piece.var. */
enum {
	V_END = -100,		/* the last piece: no variable after it */
	V_UNKNOWN = -101,	/* no such variable */
	V_RULE_ARN = -1,
	V_RULE_NAME = -2,
	V_INGESTION = -3,
	V_EVENT = -4,
	V_EVENT_JSON = -5
};

static const struct {
	const char *name;
	int code;
} reserved[] = {
	{ "aws.events.rule-arn", V_RULE_ARN },
	{ "aws.events.rule-name", V_RULE_NAME },
	{ "aws.events.event.ingestion-time", V_INGESTION },
	{ "aws.events.event", V_EVENT },
	{ "aws.events.event.json", V_EVENT_JSON },
};
#define NRESERVED (int)(sizeof(reserved) / sizeof(reserved[0]))

/* <aws.events.event>: the envelope's members in the order AWS writes them. */
static const struct {
	const char *path;
	const char *key;
} envelope[] = {
	{ "$.id", "id" },
	{ "$.account", "account" },
	{ "$.detail-type", "detailType" },
	{ "$.time", "time" },
	{ "$.source", "source" },
	{ "$.region", "region" },
	{ "$.resources", "resources" },
	{ "$.version", "version" },
};
#define NENV (int)(sizeof(envelope) / sizeof(envelope[0]))

/* Path slots at most: the map's paths, region and account, the envelope. */
#define MAX_SLOTS (EV_SHAPE_MAX_PATHS + 2 + NENV)

/* Literal text sh->text[off..off+len), then variable var. */
struct piece {
	size_t off, len;
	int var;		/* a path slot (>= 0) or a V_ code */
	int quoted;		/* the variable sits inside a JSON string */
};

struct ev_shape {
	enum ev_shape_kind kind;
	char *id;
	char *text;		/* Input (minified), or the template's pieces */
	size_t textlen;
	char *path;		/* InputPath as written, for messages */
	struct ev_paths *paths;	/* NULL: no path to read */
	char **specs;		/* the slots' paths */
	int nslots;
	int region, account;	/* slots for the default rule ARN, or -1 */
	int env[NENV];		/* the envelope's slots; env[0] -1: unused */
	struct piece *pc;
	int npc;
};

/* A placeholder found in a template. */
struct ph {
	size_t start, end;	/* '<' .. past '>' */
	int var;
	int quoted;
};

/* ------------------------------------------------------------ messages */

/*
 * The request validation message of the AWS API (Coral's wording) for the
 * target's member field: "1 validation error detected: Value 'v' at
 * 'targets.1.member.inputPath' failed to satisfy constraint: ...".
 */
static void
constraint(struct ev_err *err, const struct ev_shape_spec *sp,
    const char *value, const char *field, const char *what)
{
	if (value == NULL)
		ev_err_set(err, "1 validation error detected: Value null at "
		    "'targets.%d.member.%s' failed to satisfy constraint: %s",
		    sp->index > 0 ? sp->index : 1, field, what);
	else
		ev_err_set(err, "1 validation error detected: Value '%.100s%s' "
		    "at 'targets.%d.member.%s' failed to satisfy constraint: "
		    "%s", value, strlen(value) > 100 ? "..." : "",
		    sp->index > 0 ? sp->index : 1, field, what);
}

/*
 * Jackson's report of a JSON syntax error, as PutTargets passes it on:
 * "[Source: (String)"TEXT"; line: L, column: C]", the text cut short.
 */
static void
jackson(struct ev_err *err, const char *head, const char *id,
    const char *text, const struct ev_err *perr)
{
	size_t n = strlen(text);

	if (n > 120)
		ev_err_set(err, "%s %s: [Source: (String)\"%.120s\"[truncated "
		    "%zu chars]; line: %lu, column: %lu]", head, id, text,
		    n - 120, perr->line, perr->col + 1);
	else
		ev_err_set(err, "%s %s: [Source: (String)\"%s\"; line: %lu, "
		    "column: %lu]", head, id, text, perr->line, perr->col + 1);
}

/* -------------------------------------------------------------- helpers */

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Append JSON text s[0..n) to out without whitespace outside strings;
 * with noquotes, also without the quotes of its strings (a '"' and a
 * backslash-escaped one), as AWS writes an object inside a string.
 * instr: s starts inside a string (a piece of a template).
 */
static int
minify_from(struct ev_buf *out, const char *s, size_t n, int noquotes,
    int instr)
{
	size_t i, run = 0;

	if (!noquotes && memchr(s, ' ', n) == NULL &&
	    memchr(s, '\t', n) == NULL && memchr(s, '\n', n) == NULL &&
	    memchr(s, '\r', n) == NULL)
		return ev_buf_add(out, s, n);
	for (i = 0; i < n; i++) {
		char c = s[i];
		int drop = 0, skip = 0;

		if (instr) {
			if (c == '\\' && i + 1 < n) {
				if (noquotes && s[i + 1] == '"')
					drop = 2;
				else
					skip = 1;
			} else if (c == '"') {
				instr = 0;
				drop = noquotes;
			}
		} else if (c == '"') {
			instr = 1;
			drop = noquotes;
		} else if (is_ws(c)) {
			drop = 1;
		}
		if (drop) {
			if (ev_buf_add(out, s + run, i - run) < 0)
				return -1;
			i += (size_t)drop - 1;
			run = i + 1;
		} else {
			i += (size_t)skip;
		}
	}
	return ev_buf_add(out, s + run, n - run);
}

static int
minify(struct ev_buf *out, const char *s, size_t n, int noquotes)
{
	return minify_from(out, s, n, noquotes, 0);
}

/* Append s[0..n) as the inside of a JSON string (escaped). */
static int
escape(struct ev_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;
	char e[6];
	int k;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (ev_buf_add(out, s + run, i - run) < 0)
			return -1;
		e[0] = '\\';
		k = 2;
		switch (c) {
		case '"': e[1] = '"'; break;
		case '\\': e[1] = '\\'; break;
		case '\n': e[1] = 'n'; break;
		case '\t': e[1] = 't'; break;
		case '\r': e[1] = 'r'; break;
		case '\b': e[1] = 'b'; break;
		case '\f': e[1] = 'f'; break;
		default:
			memcpy(e + 1, "u00", 3);
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			k = 6;
		}
		if (ev_buf_add(out, e, (size_t)k) < 0)
			return -1;
		run = i + 1;
	}
	return ev_buf_add(out, s + run, n - run);
}

/*
 * Append the decoded contents of the JSON string whose inside (escapes
 * and all) is s[0..n): the copy reserves the room, decoding is never
 * longer.
 */
static int
decode(struct ev_buf *out, const char *s, size_t n)
{
	struct ev_jval v;
	size_t at = out->len;

	if (memchr(s, '\\', n) == NULL)
		return ev_buf_add(out, s, n);
	if (ev_buf_add(out, s, n) < 0)
		return -1;
	v.type = EV_J_STRING;
	v.p = s;
	v.len = n;
	v.esc = 1;
	v.elem = 0;
	out->len = at + ev_json_unescape(&v, out->p + at);
	return 0;
}

/*
 * Append the string s (a rule name, an ARN, a time) as a JSON template
 * wants it: quoted and escaped outside a string, escaped inside, as is in
 * text.
 */
static int
put_str(struct ev_buf *out, const char *s, size_t n, int json, int quoted)
{
	if (!json)
		return ev_buf_add(out, s, n);
	if (!quoted && ev_buf_add(out, "\"", 1) < 0)
		return -1;
	if (escape(out, s, n) < 0)
		return -1;
	return quoted ? 0 : ev_buf_add(out, "\"", 1);
}

/* The inside of value v if it is a JSON string, else v itself. */
static struct ev_span
unquote(struct ev_span v)
{
	if (v.p != NULL && v.len >= 2 && v.p[0] == '"') {
		v.p++;
		v.len -= 2;
	}
	return v;
}

/* Whether c may be in an InputPathsMap key: [A-Za-z0-9_-]. */
static int
key_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/*
 * Check a JSONPath that evkit's paths can read: dot notation and array
 * indexes (what the EventBridge guide lists, less wildcards).  Returns 0,
 * or -1 with err set, naming what (InputPath, InputPathsMap).
 */
static int
check_path(const char *what, const char *id, const char *path,
    struct ev_err *err)
{
	struct ev_path *p;
	struct ev_err perr;

	if (strchr(path, '*') != NULL || strstr(path, "..") != NULL ||
	    strchr(path, '?') != NULL || strchr(path, '@') != NULL ||
	    strchr(path, ':') != NULL || strchr(path, ',') != NULL ||
	    strstr(path, "[-") != NULL) {
		ev_err_set(err, "Invalid %s for target %s: '%s': wildcards, "
		    "deep scans, slices and filters are not supported", what,
		    id, path);
		return -1;
	}
	ev_err_clear(&perr);
	if ((p = ev_path_compile(path, &perr)) == NULL) {
		ev_err_set(err, "Invalid %s for target %s: %s", what, id,
		    perr.msg);
		return -1;
	}
	ev_path_free(p);
	return 0;
}

/* ---------------------------------------------------------------- free */

void
ev_shape_free(struct ev_shape *sh)
{
	int i;

	if (sh == NULL)
		return;
	free(sh->id);
	free(sh->text);
	free(sh->path);
	ev_paths_free(sh->paths);
	for (i = 0; i < sh->nslots; i++)
		free(sh->specs[i]);
	free(sh->specs);
	free(sh->pc);
	free(sh);
}

enum ev_shape_kind
ev_shape_kind(const struct ev_shape *sh)
{
	return sh->kind;
}

const char *
ev_shape_id(const struct ev_shape *sh)
{
	return sh->id;
}

/* ------------------------------------------------------------- compile */

static int
nomem(struct ev_err *err)
{
	ev_err_set(err, "out of memory");
	return -1;
}

/* Input: valid JSON (as PutTargets checks), kept minified. */
static int
compile_input(struct ev_shape *sh, const struct ev_shape_spec *sp,
    struct ev_err *err)
{
	struct ev_jdoc doc;
	struct ev_err perr;
	struct ev_buf b = { NULL, 0, 0 };
	size_t n = strlen(sp->input);

	if (n > EV_SHAPE_MAX_INPUT) {
		constraint(err, sp, sp->input, "input", "Member must have "
		    "length less than or equal to 8192");
		return -1;
	}
	ev_err_clear(&perr);
	if (ev_jdoc_parse(&doc, sp->input, n, &perr) < 0) {
		if (strcmp(perr.msg, "out of memory") == 0)
			return nomem(err);
		jackson(err, "JSON syntax error in input for target", sh->id,
		    sp->input, &perr);
		return -1;
	}
	ev_jdoc_free(&doc);
	if (minify(&b, sp->input, n, 0) < 0 || ev_buf_add(&b, "", 1) < 0) {
		ev_buf_free(&b);
		return nomem(err);
	}
	sh->kind = EV_SHAPE_INPUT;
	sh->text = b.p;
	sh->textlen = b.len - 1;
	return 0;
}

static int
compile_path(struct ev_shape *sh, const struct ev_shape_spec *sp,
    struct ev_err *err)
{
	const char *p = sp->input_path;

	if (strlen(p) > EV_SHAPE_MAX_PATH) {
		constraint(err, sp, p, "inputPath", "Member must have length "
		    "less than or equal to 256");
		return -1;
	}
	if (check_path("InputPath", sh->id, p, err) < 0)
		return -1;
	if ((sh->path = strdup(p)) == NULL ||
	    (sh->specs = calloc(1, sizeof(*sh->specs))) == NULL ||
	    (sh->specs[0] = strdup(p)) == NULL)
		return nomem(err);
	sh->nslots = 1;
	if ((sh->paths = ev_paths_compile(&p, 1, err)) == NULL)
		return -1;
	sh->kind = EV_SHAPE_PATH;
	return 0;
}

/* The variable a placeholder names: a map key's index, a V_ code, or
 * V_UNKNOWN. */
static int
lookup(const struct ev_shape_spec *sp, const char *name, size_t n)
{
	int i;

	for (i = 0; i < NRESERVED; i++)
		if (strlen(reserved[i].name) == n &&
		    memcmp(reserved[i].name, name, n) == 0)
			return reserved[i].code;
	/* The last of duplicate keys wins. */
	for (i = sp->npaths - 1; i >= 0; i--)
		if (strlen(sp->keys[i]) == n && memcmp(sp->keys[i], name, n) == 0)
			return i;
	return V_UNKNOWN;
}

/*
 * Find the placeholders of template t[0..n): '<', then the shortest run
 * of characters other than line ends up to '>' (Java's "<(.*?)>"); a '<'
 * without one is text.  Records whether each sits inside a JSON string.
 * Fills *out (allocated) and *count; returns 0, or -1 with err set for an
 * unknown name.
 */
static int
find_placeholders(const struct ev_shape_spec *sp, const char *id,
    const char *t, size_t n, struct ph **out, int *count, struct ev_err *err)
{
	struct ph *ph = NULL, *tmp;
	size_t i = 0, j, cap = 0;
	int instr = 0, np = 0, var;

	while (i < n) {
		char c = t[i];

		if (c == '<') {
			for (j = i + 1; j < n && t[j] != '>' && t[j] != '\n' &&
			    t[j] != '\r'; j++)
				;
			if (j < n && t[j] == '>') {
				var = lookup(sp, t + i + 1, j - i - 1);
				if (var == V_UNKNOWN) {
					ev_err_set(err, "InputTemplate for "
					    "target %s contains invalid "
					    "placeholder %.*s.", id,
					    (int)(j - i - 1), t + i + 1);
					free(ph);
					return -1;
				}
				if ((size_t)np == cap) {
					cap = cap ? 2 * cap : 16;
					tmp = realloc(ph, cap * sizeof(*ph));
					if (tmp == NULL) {
						free(ph);
						return nomem(err);
					}
					ph = tmp;
				}
				ph[np].start = i;
				ph[np].end = j + 1;
				ph[np].var = var;
				ph[np].quoted = instr;
				np++;
				i = j + 1;
				continue;
			}
		}
		if (instr) {
			if (c == '\\' && i + 1 < n)
				i++;
			else if (c == '"')
				instr = 0;
		} else if (c == '"') {
			instr = 1;
		}
		i++;
	}
	*out = ph;
	*count = np;
	return 0;
}

/*
 * Whether template t[0..n) is JSON once its placeholders stand for
 * values: 1, 0 (it is text), or -1 with err set (it starts with '{' or
 * '[' but is not JSON: PutTargets refuses it).  The probe replaces a
 * placeholder outside a string by 0 and one inside by spaces, so that
 * line and column are the template's.
 */
static int
template_is_json(const char *id, const char *t, size_t n,
    const struct ph *ph, int np, struct ev_err *err)
{
	struct ev_jdoc doc;
	struct ev_err perr;
	size_t i = 0;
	char *probe;
	int k, r;

	while (i < n && is_ws(t[i]))
		i++;
	if (i == n || (t[i] != '{' && t[i] != '[' && t[i] != '"'))
		return 0;
	if ((probe = malloc(n + 1)) == NULL)
		return nomem(err);
	memcpy(probe, t, n);
	probe[n] = '\0';
	for (k = 0; k < np; k++) {
		memset(probe + ph[k].start, ' ', ph[k].end - ph[k].start);
		if (!ph[k].quoted)
			probe[ph[k].start] = '0';
	}
	ev_err_clear(&perr);
	r = ev_jdoc_parse(&doc, probe, n, &perr);
	free(probe);
	if (r == 0) {
		ev_jdoc_free(&doc);
		return 1;
	}
	if (strcmp(perr.msg, "out of memory") == 0)
		return nomem(err);
	if (t[i] == '"')
		return 0;
	jackson(err, "Invalid InputTemplate for target", id, t, &perr);
	return -1;
}

/* Add path spec p to the slot list; returns its slot. */
static int
add_slot(const char **specs, int *nspecs, const char *p)
{
	int i;

	for (i = 0; i < *nspecs; i++)
		if (strcmp(specs[i], p) == 0)
			return i;
	specs[*nspecs] = p;
	return (*nspecs)++;
}

/*
 * Cut the template into pieces: the literal text before each placeholder
 * (minified for a JSON template), then its variable; map variables to
 * path slots and compile the slots' paths.
 */
static int
build_pieces(struct ev_shape *sh, const struct ev_shape_spec *sp,
    const char *t, size_t n, const struct ph *ph, int np, int json,
    struct ev_err *err)
{
	const char *specs[MAX_SLOTS];
	int slot_of[EV_SHAPE_MAX_PATHS];
	struct ev_buf b = { NULL, 0, 0 };
	size_t from = 0, start;
	int k, i, nspecs = 0, var;

	for (i = 0; i < sp->npaths && i < EV_SHAPE_MAX_PATHS; i++)
		slot_of[i] = -1;
	sh->region = sh->account = sh->env[0] = -1;
	if ((sh->pc = calloc((size_t)np + 1, sizeof(*sh->pc))) == NULL)
		return nomem(err);
	for (k = 0; k <= np; k++) {
		size_t end = k < np ? ph[k].start : n;

		start = b.len;
		if ((json ? minify_from(&b, t + from, end - from, 0,
		    k > 0 && ph[k - 1].quoted) :
		    ev_buf_add(&b, t + from, end - from)) < 0)
			goto oom;
		sh->pc[k].off = start;
		sh->pc[k].len = b.len - start;
		sh->pc[k].var = V_END;
		if (k == np)
			break;
		from = ph[k].end;
		var = ph[k].var;
		sh->pc[k].quoted = ph[k].quoted;
		if (var >= 0) {
			if (slot_of[var] < 0)
				slot_of[var] = add_slot(specs, &nspecs,
				    sp->paths[var]);
			var = slot_of[var];
		} else if (var == V_RULE_ARN && sh->region < 0) {
			sh->region = add_slot(specs, &nspecs, "$.region");
			sh->account = add_slot(specs, &nspecs, "$.account");
		} else if (var == V_EVENT && sh->env[0] < 0) {
			for (i = 0; i < NENV; i++)
				sh->env[i] = add_slot(specs, &nspecs,
				    envelope[i].path);
		}
		sh->pc[k].var = var;
	}
	sh->npc = np + 1;
	if (ev_buf_add(&b, "", 1) < 0)
		goto oom;
	sh->text = b.p;
	sh->textlen = b.len - 1;
	if (nspecs > 0 &&
	    (sh->specs = calloc((size_t)nspecs, sizeof(*sh->specs))) == NULL)
		return nomem(err);
	for (i = 0; i < nspecs; i++) {
		if ((sh->specs[i] = strdup(specs[i])) == NULL)
			return nomem(err);
		sh->nslots = i + 1;
	}
	if (nspecs > 0 &&
	    (sh->paths = ev_paths_compile(specs, nspecs, err)) == NULL)
		return -1;
	return 0;
oom:
	ev_buf_free(&b);
	return nomem(err);
}

static int
compile_transformer(struct ev_shape *sh, const struct ev_shape_spec *sp,
    struct ev_err *err)
{
	const char *t = sp->input_template;
	struct ph *ph = NULL;
	size_t n, k;
	int i, np, json, r;

	if (sp->npaths > EV_SHAPE_MAX_PATHS) {
		ev_err_set(err, "1 validation error detected: Value at "
		    "'targets.%d.member.inputTransformer.inputPathsMap' "
		    "failed to satisfy constraint: Member must have length "
		    "less than or equal to 100",
		    sp->index > 0 ? sp->index : 1);
		return -1;
	}
	for (i = 0; i < sp->npaths; i++) {
		const char *key = sp->keys[i];

		for (k = 0; key[k] != '\0' && key_char((unsigned char)key[k]);
		    k++)
			;
		if (key[k] != '\0' || k == 0 || k > EV_SHAPE_MAX_KEY) {
			constraint(err, sp, key,
			    "inputTransformer.inputPathsMap", k > 
			    EV_SHAPE_MAX_KEY && key[k] == '\0' ?
			    "Map keys must satisfy constraint: [Member must "
			    "have length less than or equal to 256]" :
			    "Map keys must satisfy constraint: [Member must "
			    "satisfy regular expression pattern: "
			    "[A-Za-z0-9\\_\\-]+]");
			return -1;
		}
		if (strlen(sp->paths[i]) > EV_SHAPE_MAX_PATH) {
			constraint(err, sp, sp->paths[i],
			    "inputTransformer.inputPathsMap", "Map value must "
			    "satisfy constraint: [Member must have length less "
			    "than or equal to 256]");
			return -1;
		}
		if (check_path("InputPathsMap", sh->id, sp->paths[i], err) < 0)
			return -1;
	}
	if (t == NULL) {
		constraint(err, sp, NULL, "inputTransformer.inputTemplate",
		    "Member must not be null");
		return -1;
	}
	n = strlen(t);
	if (n == 0 || n > EV_SHAPE_MAX_TEMPLATE) {
		constraint(err, sp, t, "inputTransformer.inputTemplate",
		    n == 0 ? "Member must have length greater than or equal "
		    "to 1" : "Member must have length less than or equal to "
		    "8192");
		return -1;
	}
	if (find_placeholders(sp, sh->id, t, n, &ph, &np, err) < 0)
		return -1;
	if ((json = template_is_json(sh->id, t, n, ph, np, err)) < 0) {
		free(ph);
		return -1;
	}
	sh->kind = json ? EV_SHAPE_JSON : EV_SHAPE_TEXT;
	r = build_pieces(sh, sp, t, n, ph, np, json, err);
	free(ph);
	return r;
}

struct ev_shape *
ev_shape_compile(const struct ev_shape_spec *sp, struct ev_err *err)
{
	struct ev_shape *sh;
	int r = 0;

	if ((sh = calloc(1, sizeof(*sh))) == NULL ||
	    (sh->id = strdup(sp->id != NULL ? sp->id : "")) == NULL) {
		free(sh);
		nomem(err);
		return NULL;
	}
	sh->region = sh->account = sh->env[0] = -1;
	if ((sp->input != NULL) + (sp->input_path != NULL) +
	    (sp->has_transformer != 0) > 1) {
		ev_err_set(err, "Only one of Input, InputPath, or "
		    "InputTransformer must be provided for target %s.", sh->id);
		r = -1;
	} else if (sp->input != NULL) {
		r = compile_input(sh, sp, err);
	} else if (sp->input_path != NULL) {
		r = compile_path(sh, sp, err);
	} else if (sp->has_transformer) {
		r = compile_transformer(sh, sp, err);
	} else {
		sh->kind = EV_SHAPE_EVENT;
	}
	if (r < 0) {
		ev_shape_free(sh);
		return NULL;
	}
	return sh;
}

/* ----------------------------------------------------------- from_target */

/* Fail at node's offset. */
static struct ev_shape *
target_fail(const struct ev_jdoc *doc, size_t off, size_t *erroff,
    struct ev_err *err)
{
	ev_jdoc_locate(doc, off, &err->line, &err->col);
	if (erroff != NULL)
		*erroff = off;
	return NULL;
}

/* A string member without an embedded NUL; 1, 0 absent, -1 with err. */
static int
get_str(const struct ev_jdoc *doc, int obj, const char *key, int flags,
    const char **s, size_t *off, struct ev_err *err)
{
	size_t len;
	int r, m;

	if ((r = ev_jdoc_get_str(doc, obj, key, flags, s, &len, err)) <= 0) {
		if (r < 0) {
			m = ev_jdoc_member(doc, obj, key);
			*off = m >= 0 ? doc->n[m].off : doc->n[obj].off;
		}
		return r;
	}
	m = ev_jdoc_member(doc, obj, key);
	*off = doc->n[m].off;
	if (strlen(*s) != len) {
		ev_err_set(err, "'%s' holds a NUL character", key);
		return -1;
	}
	return 1;
}

/* The offset of member key of obj, or of obj when it is absent. */
static size_t
member_off(const struct ev_jdoc *doc, int obj, const char *key)
{
	int m = obj >= 0 ? ev_jdoc_member(doc, obj, key) : -1;

	return m >= 0 ? doc->n[m].off : doc->n[obj >= 0 ? obj : 0].off;
}

struct ev_shape *
ev_shape_from_target(const struct ev_jdoc *doc, int target, const char *id,
    int index, size_t *erroff, struct ev_err *err)
{
	struct ev_shape_spec sp;
	struct ev_shape *sh;
	const char **keys = NULL, **paths = NULL;
	const char *msg;
	size_t off = doc->n[target].off, len;
	int tr = -1, map = -1, m, n = 0;

	memset(&sp, 0, sizeof(sp));
	sp.index = index;
	if (ev_jdoc_as_type(doc, target, "Targets[]", EV_J_OBJECT, err) < 0)
		return target_fail(doc, off, erroff, err);
	sp.id = id;
	if ((id == NULL && get_str(doc, target, "Id", EV_JGET_REQUIRED,
	    &sp.id, &off, err) < 0) ||
	    get_str(doc, target, "Input", 0, &sp.input, &off, err) < 0 ||
	    get_str(doc, target, "InputPath", 0, &sp.input_path, &off,
	    err) < 0)
		return target_fail(doc, off, erroff, err);
	if (ev_jdoc_get_obj(doc, target, "InputTransformer", 0, &tr, err) < 0)
		return target_fail(doc, member_off(doc, target,
		    "InputTransformer"), erroff, err);
	if (tr >= 0) {
		sp.has_transformer = 1;
		if (get_str(doc, tr, "InputTemplate", 0, &sp.input_template,
		    &off, err) < 0)
			return target_fail(doc, off, erroff, err);
		if (ev_jdoc_get_obj(doc, tr, "InputPathsMap", 0, &map,
		    err) < 0)
			return target_fail(doc, member_off(doc, tr,
			    "InputPathsMap"), erroff, err);
	}
	if (map >= 0 && doc->n[map].nchild > 0) {
		keys = calloc((size_t)doc->n[map].nchild, sizeof(*keys));
		paths = calloc((size_t)doc->n[map].nchild, sizeof(*paths));
		if (keys == NULL || paths == NULL) {
			free(keys);
			free(paths);
			nomem(err);
			return target_fail(doc, doc->n[map].off, erroff, err);
		}
		for (m = ev_jdoc_child(doc, map); m >= 0;
		    m = ev_jdoc_next(doc, m), n++) {
			if (ev_jdoc_as_str(doc, m, "InputPathsMap", &paths[n],
			    &len, err) < 0 || strlen(paths[n]) != len ||
			    strlen(doc->n[m].key) != doc->n[m].keylen) {
				if (strncmp(err->msg, "'InputPathsMap' must",
				    20) != 0)
					ev_err_set(err, "'InputPathsMap' holds "
					    "a NUL character");
				free(keys);
				free(paths);
				return target_fail(doc, doc->n[m].off, erroff,
				    err);
			}
			keys[n] = doc->n[m].key;
		}
	}
	sp.npaths = n;
	sp.keys = keys;
	sp.paths = paths;
	sh = ev_shape_compile(&sp, err);
	free(keys);
	free(paths);
	if (sh != NULL)
		return sh;
	/* Locate the error at the member it is about. */
	msg = err->msg;
	if (strstr(msg, "Only one of") != NULL)
		off = doc->n[target].off;
	else if (strstr(msg, "nputTemplate") != NULL)
		off = member_off(doc, tr, "InputTemplate");
	else if (strstr(msg, "nputPathsMap") != NULL)
		off = member_off(doc, tr, "InputPathsMap");
	else if (strstr(msg, "nputPath") != NULL)
		off = member_off(doc, target, "InputPath");
	else if (strstr(msg, "input") != NULL)
		off = member_off(doc, target, "Input");
	else
		off = doc->n[target].off;
	return target_fail(doc, off, erroff, err);
}

/* --------------------------------------------------------------- apply */

static int
undeliverable(struct ev_err *err, const char *fmt, const char *arg)
{
	ev_err_set(err, fmt, arg);
	return EV_SHAPE_UNDELIVERABLE;
}

/* The value of a path slot as a template wants it. */
static int
put_value(struct ev_buf *out, struct ev_span v, int json, int quoted)
{
	if (v.p == NULL)
		return json && !quoted ? ev_buf_add(out, "\"\"", 2) : 0;
	if (json && !quoted)
		return v.p[0] == '{' || v.p[0] == '[' ?
		    minify(out, v.p, v.len, 0) : ev_buf_add(out, v.p, v.len);
	if (v.p[0] == '"') {
		v = unquote(v);
		return json ? ev_buf_add(out, v.p, v.len) :
		    decode(out, v.p, v.len);
	}
	if (v.p[0] == '{' || v.p[0] == '[')
		return minify(out, v.p, v.len, 1);
	return ev_buf_add(out, v.p, v.len);
}

/* The values a shape reads: vals, indexed by slot through map (or not). */
struct vals {
	const struct ev_span *v;
	const int *map;
};

static struct ev_span
val(const struct vals *vs, int slot)
{
	return vs->v[vs->map != NULL ? vs->map[slot] : slot];
}

/* <aws.events.event>: the envelope without detail, detailType for
 * detail-type. */
static int
put_envelope(const struct ev_shape *sh, struct ev_buf *out,
    const struct vals *vs)
{
	int i, first = 1;

	if (ev_buf_add(out, "{", 1) < 0)
		return -1;
	for (i = 0; i < NENV; i++) {
		struct ev_span v = val(vs, sh->env[i]);

		if (v.p == NULL)
			continue;
		if ((!first && ev_buf_add(out, ",", 1) < 0) ||
		    ev_buf_add(out, "\"", 1) < 0 ||
		    ev_buf_add(out, envelope[i].key,
		    strlen(envelope[i].key)) < 0 ||
		    ev_buf_add(out, "\":", 2) < 0 ||
		    minify(out, v.p, v.len, 0) < 0)
			return -1;
		first = 0;
	}
	return ev_buf_add(out, "}", 1);
}

/* How arn_put() writes its parts. */
enum {
	ARN_PLAIN,	/* every part as it is */
	ARN_JSON,	/* inside a JSON string: region and account are the
			 * event's string contents (escaped already), bus
			 * and name are escaped */
	ARN_TEXT	/* in text: region and account decoded */
};

static int
add_str(struct ev_buf *out, const char *s, size_t n)
{
	return ev_buf_add(out, s, n);
}

/* Append the rule ARN from its parts, written as mode says. */
static int
arn_put(struct ev_buf *out, int mode, const char *region, size_t rlen,
    const char *account, size_t alen, const char *bus, const char *name)
{
	int (*ev)(struct ev_buf *, const char *, size_t) =
	    mode == ARN_TEXT ? decode : add_str;
	int (*cf)(struct ev_buf *, const char *, size_t) =
	    mode == ARN_JSON ? escape : add_str;
	int custom = bus != NULL && bus[0] != '\0' &&
	    strcmp(bus, "default") != 0;

	if (add_str(out, "arn:aws:events:", 15) < 0 ||
	    ev(out, region, rlen) < 0 || add_str(out, ":", 1) < 0 ||
	    ev(out, account, alen) < 0 || add_str(out, ":rule/", 6) < 0 ||
	    (custom && (cf(out, bus, strlen(bus)) < 0 ||
	    add_str(out, "/", 1) < 0)))
		return -1;
	return cf(out, name, strlen(name));
}

/* <aws.events.rule-arn>: the rule's, or the default from the event. */
static int
put_arn(const struct ev_shape *sh, struct ev_buf *out, const struct vals *vs,
    const struct ev_shape_ctx *ctx, int json, int quoted)
{
	struct ev_span r, c;

	if (ctx->rule_arn != NULL)
		return put_str(out, ctx->rule_arn, strlen(ctx->rule_arn), json,
		    quoted);
	r = unquote(val(vs, sh->region));
	c = unquote(val(vs, sh->account));
	if (json && !quoted && ev_buf_add(out, "\"", 1) < 0)
		return -1;
	if (arn_put(out, json ? ARN_JSON : ARN_TEXT, r.p != NULL ? r.p : "",
	    r.len, c.p != NULL ? c.p : "", c.len, ctx->bus,
	    ctx->rule_name != NULL ? ctx->rule_name : "") < 0)
		return -1;
	return json && !quoted ? ev_buf_add(out, "\"", 1) : 0;
}

/* Build the payload of sh from the values its paths read (see apply). */
static int
render(const struct ev_shape *sh, const struct vals *vs, const char *line,
    size_t len, const struct ev_shape_ctx *ctx, int flags,
    struct ev_buf *out, struct ev_err *err)
{
	const char *name;
	char tbuf[32];
	size_t start = out->len;
	int k, json = sh->kind == EV_SHAPE_JSON, r = 0;
	struct ev_span v;

	switch (sh->kind) {
	case EV_SHAPE_EVENT:
		r = ev_buf_add(out, line, len);
		break;
	case EV_SHAPE_INPUT:
		r = ev_buf_add(out, sh->text, sh->textlen);
		break;
	case EV_SHAPE_PATH:
		v = val(vs, 0);
		if (v.p == NULL)
			return undeliverable(err, "InputPath '%s' matches "
			    "nothing in the event", sh->path);
		r = minify(out, v.p, v.len, 0);
		break;
	default:
		for (k = 0; k < sh->npc && r == 0; k++) {
			const struct piece *pc = &sh->pc[k];

			if (ev_buf_add(out, sh->text + pc->off, pc->len) < 0)
				return nomem(err);
			switch (pc->var) {
			case V_END:
				break;
			case V_RULE_NAME:
				name = ctx->rule_name != NULL ? ctx->rule_name :
				    "";
				r = put_str(out, name, strlen(name), json,
				    pc->quoted);
				break;
			case V_RULE_ARN:
				r = put_arn(sh, out, vs, ctx, json, pc->quoted);
				break;
			case V_INGESTION:
				ev_time_format(ctx->ingestion_ms, tbuf,
				    sizeof(tbuf));
				r = put_str(out, tbuf, strlen(tbuf), json,
				    pc->quoted);
				break;
			case V_EVENT:
			case V_EVENT_JSON:
				if (json && pc->quoted)
					return undeliverable(err, "<%s> inside "
					    "a JSON string: its contents are "
					    "not escaped, the payload is not "
					    "valid JSON", pc->var == V_EVENT ?
					    "aws.events.event" :
					    "aws.events.event.json");
				r = pc->var == V_EVENT ?
				    put_envelope(sh, out, vs) :
				    minify(out, line, len, 0);
				break;
			default:
				r = put_value(out, val(vs, pc->var), json,
				    pc->quoted);
			}
		}
	}
	if (r < 0)
		return nomem(err);
	if ((flags & EV_SHAPE_LINE) && out->len > start &&
	    memchr(out->p + start, '\n', out->len - start) != NULL)
		return undeliverable(err, "the payload holds a newline%s",
		    ": the target takes one line per event");
	return 0;
}

int
ev_shape_apply(const struct ev_shape *sh, const char *line, size_t len,
    const struct ev_shape_ctx *ctx, int flags, struct ev_buf *out,
    struct ev_err *err)
{
	struct ev_span v[MAX_SLOTS];
	struct vals vs = { v, NULL };

	if (sh->paths != NULL && ev_paths_get(sh->paths, line, len, v, err) < 0)
		return -1;
	return render(sh, &vs, line, len, ctx, flags, out, err);
}

int
ev_shape_reads(const struct ev_shape *sh)
{
	return sh->nslots > 0;
}

/* ------------------------------------------------------------ shape sets */

struct ev_shapes {
	struct ev_shape **sh;
	int **map;		/* per shape: its slots in the set's */
	int n, cap;
	const char **specs;	/* the set's distinct paths (the shapes') */
	int nspecs, capspecs;
	int *hash;		/* open addressing over specs, -1 empty */
	size_t hcap;
	struct ev_paths *paths;
	int borrowed;		/* the shapes are their owners' */
};

struct ev_shapes *
ev_shapes_new(void)
{
	return calloc(1, sizeof(struct ev_shapes));
}

struct ev_shapes *
ev_shapes_new_borrowed(void)
{
	struct ev_shapes *ss = ev_shapes_new();

	if (ss != NULL)
		ss->borrowed = 1;
	return ss;
}

/* Free sh unless the set borrows it. */
static void
drop(const struct ev_shapes *ss, struct ev_shape *sh)
{
	if (!ss->borrowed)
		ev_shape_free(sh);
}

void
ev_shapes_free(struct ev_shapes *ss)
{
	int i;

	if (ss == NULL)
		return;
	for (i = 0; i < ss->n; i++) {
		drop(ss, ss->sh[i]);
		free(ss->map[i]);
	}
	free(ss->sh);
	free(ss->map);
	free(ss->specs);
	free(ss->hash);
	ev_paths_free(ss->paths);
	free(ss);
}

static size_t
hash_str(const char *s)
{
	size_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The set's slot for path spec, added when new; -1 when out of memory. */
static int
set_slot(struct ev_shapes *ss, const char *spec)
{
	size_t i, j;
	int *h;

	if ((size_t)ss->nspecs * 2 >= ss->hcap) {
		size_t cap = ss->hcap ? 2 * ss->hcap : 64;

		if ((h = malloc(cap * sizeof(*h))) == NULL)
			return -1;
		for (i = 0; i < cap; i++)
			h[i] = -1;
		for (i = 0; i < (size_t)ss->nspecs; i++) {
			for (j = hash_str(ss->specs[i]) & (cap - 1); h[j] >= 0;
			    j = (j + 1) & (cap - 1))
				;
			h[j] = (int)i;
		}
		free(ss->hash);
		ss->hash = h;
		ss->hcap = cap;
	}
	for (j = hash_str(spec) & (ss->hcap - 1); ss->hash[j] >= 0;
	    j = (j + 1) & (ss->hcap - 1))
		if (strcmp(ss->specs[ss->hash[j]], spec) == 0)
			return ss->hash[j];
	if (ss->nspecs == ss->capspecs) {
		int cap = ss->capspecs ? 2 * ss->capspecs : 16;
		const char **t = realloc(ss->specs, (size_t)cap * sizeof(*t));

		if (t == NULL)
			return -1;
		ss->specs = t;
		ss->capspecs = cap;
	}
	ss->specs[ss->nspecs] = spec;
	ss->hash[j] = ss->nspecs;
	return ss->nspecs++;
}

int
ev_shapes_add(struct ev_shapes *ss, struct ev_shape *sh, struct ev_err *err)
{
	int i, *map = NULL;

	if (ss->paths != NULL) {
		drop(ss, sh);
		ev_err_set(err, "shape set already finished");
		return -1;
	}
	if (ss->n == ss->cap) {
		int cap = ss->cap ? 2 * ss->cap : 16;
		struct ev_shape **t = realloc(ss->sh, (size_t)cap * sizeof(*t));
		int **m;

		if (t != NULL)
			ss->sh = t;
		m = t != NULL ? realloc(ss->map, (size_t)cap * sizeof(*m)) :
		    NULL;
		if (m == NULL) {
			drop(ss, sh);
			return nomem(err);
		}
		ss->map = m;
		ss->cap = cap;
	}
	if (sh->nslots > 0 &&
	    (map = malloc((size_t)sh->nslots * sizeof(*map))) == NULL) {
		drop(ss, sh);
		return nomem(err);
	}
	for (i = 0; i < sh->nslots; i++)
		if ((map[i] = set_slot(ss, sh->specs[i])) < 0) {
			free(map);
			drop(ss, sh);
			return nomem(err);
		}
	ss->sh[ss->n] = sh;
	ss->map[ss->n] = map;
	return ss->n++;
}

int
ev_shapes_finish(struct ev_shapes *ss, struct ev_err *err)
{
	if (ss->nspecs == 0 || ss->paths != NULL)
		return 0;
	ss->paths = ev_paths_compile(ss->specs, ss->nspecs, err);
	return ss->paths != NULL ? 0 : -1;
}

int
ev_shapes_count(const struct ev_shapes *ss)
{
	return ss->n;
}

const struct ev_shape *
ev_shapes_get(const struct ev_shapes *ss, int i)
{
	return ss->sh[i];
}

int
ev_shapes_nslots(const struct ev_shapes *ss)
{
	return ss->nspecs;
}

int
ev_shapes_scan(const struct ev_shapes *ss, const char *line, size_t len,
    struct ev_span *vals, struct ev_err *err)
{
	if (ss->paths == NULL)
		return 0;
	return ev_paths_get(ss->paths, line, len, vals, err) < 0 ? -1 : 0;
}

int
ev_shapes_apply(const struct ev_shapes *ss, int i, const char *line,
    size_t len, const struct ev_span *vals, const struct ev_shape_ctx *ctx,
    int flags, struct ev_buf *out, struct ev_err *err)
{
	struct vals vs;

	if (i < 0)	/* no shaping: the event as it is */
		return ev_buf_add(out, line, len) < 0 ? nomem(err) : 0;
	vs.v = vals;
	vs.map = ss->map[i];
	return render(ss->sh[i], &vs, line, len, ctx, flags, out, err);
}

int
ev_route_rule_arn(const char *region, size_t rlen, const char *account,
    size_t alen, const char *bus, const char *name, struct ev_buf *out)
{
	return arn_put(out, ARN_PLAIN, region, rlen, account, alen, bus, name);
}
