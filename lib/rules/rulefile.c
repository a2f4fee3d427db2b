/*
 * rulefile.c - load the rules of a pattern file (evmatch -f).
 *
 * One reader for every shape a user is likely to hold rules in:
 *  1. one pattern: a JSON object with no wrapper keys, named by the path;
 *  2. a JSON array of rules {"name"|"Name": ..., "pattern"|"EventPattern":
 *     object or JSON text} (with the API's other rule members, Targets
 *     among them); an element without a pattern key is a bare
 *     pattern; unnamed rules are named PATH:N (N: 1-based position);
 *  3. NDJSON: one such rule, or one bare pattern, per line; unnamed ones
 *     are named PATH:LINE;
 *  4. a CloudFormation/SAM template (JSON or YAML): each AWS::Events::Rule's
 *     Properties.EventPattern, named by its logical id, and each
 *     EventBridgeRule/CloudWatchEvent event source of a SAM function or
 *     state machine, named LOGICALID.EVENTNAME;
 *  5. `aws events describe-rule` output (one wrapped rule) and
 *     `aws events list-rules` output ({"Rules": [...]}).
 * Rules without an event pattern (scheduled rules) are skipped.  A file
 * that is not JSON and does not start with '{' or '[' (after blanks and
 * '#' comments) is read as YAML (yaml.c) when it holds a template: a
 * mapping with a "Resources" key; else it gets the JSON error.  A UTF-8
 * byte order mark at the start of the file is skipped (columns on the
 * first line count from after it); a file with nothing in it but blanks
 * and '#' comments, an empty list and an empty "Rules" list hold no rules.
 *
 * Errors are located in the file.  A pattern written as a JSON object is
 * compiled from its own bytes, so a compile error inside it maps back to a
 * line and column of the file; a pattern written as a JSON string is
 * compiled from the decoded text and its errors point at the string.  A
 * YAML template is converted to JSON text, and offsets in it are mapped
 * back to the YAML's lines and columns.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "json/json_int.h"
#include "pattern_int.h"
#include "yaml_int.h"

/* What a load works with. */
struct load {
	struct ev_rules *rs;
	const char *disp;	/* file name in messages and rule names */
	const char *text;	/* the whole file */
	size_t len;
	const struct ev_yjson *yaml;	/* a YAML template: where the
					 * offsets of its JSON came from */
	int added;
	ev_rule_fn fn;		/* called for each rule added, or NULL */
	void *ctx;
	/*
	 * The last place located: its offset, line and the offset of that
	 * line's start.  Callers locate in file order (every rule, every
	 * target of a rule), so each locate counts newlines from there,
	 * not from the start of the file: linear, not quadratic.
	 */
	size_t loc_off, loc_bol;
	unsigned long loc_line;
};

/* Put err at byte offset off of the file (line and column from 1). */
static void
locate(const struct load *ld, struct ev_err *err, size_t off)
{
	struct load *c = (struct load *)ld;	/* the cache only */
	const char *p, *end, *nl;
	struct ev_jdoc d;

	err->file = ld->disp;
	if (ld->yaml != NULL) {
		ev_yjson_locate(ld->yaml, off, &err->line, &err->col);
		return;
	}
	if (off > ld->len)
		off = ld->len;
	if (ld->loc_line == 0 || off < ld->loc_off) {
		memset(&d, 0, sizeof(d));
		d.text = ld->text;
		d.textlen = ld->len;
		ev_jdoc_locate(&d, off, &err->line, &err->col);
		c->loc_line = err->line;
		c->loc_bol = off - (err->col - 1);
		c->loc_off = off;
		return;
	}
	p = ld->text + ld->loc_off;
	end = ld->text + off;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		c->loc_line++;
		c->loc_bol = (size_t)(nl + 1 - ld->text);
		p = nl + 1;
	}
	c->loc_off = off;
	err->line = c->loc_line;
	err->col = (unsigned long)(off - c->loc_bol) + 1;
}

/*
 * Locate err at byte offset off of r's document (see rules.h).
 */
void
ev_rule_src_locate(const struct ev_rule_src *r, size_t off,
    struct ev_err *err)
{
	locate(r->load_, err, r->base_ + off);
}

/*
 * Hand the rule just added (rule set index: the last) to the load's
 * callback: rule is the node of the rule object, res that of the template
 * resource that holds it (or -1).  An error from the callback is located
 * at the rule object unless the callback located it.
 */
static int
call_fn(struct load *ld, const struct ev_jdoc *doc, size_t base, int rule,
    int res, const char *name, struct ev_err *err)
{
	const struct ev_jnode *n = &doc->n[rule];
	struct ev_rule_src r;
	struct ev_err at;

	memset(&r, 0, sizeof(r));
	r.name = name;
	r.index = ev_rules_count(ld->rs) - 1;
	if (n->type == EV_J_OBJECT || n->type == EV_J_ARRAY) {
		r.text = n->str;
		r.len = n->len;
	}
	locate(ld, &at, base + n->off);
	r.file = at.file;
	r.line = at.line;
	r.col = at.col;
	r.doc = doc;
	r.node = rule;
	r.resource = res;
	r.load_ = ld;
	r.base_ = base;
	ev_err_clear(err);
	if (ld->fn(ld->ctx, &r, err) == 0)
		return 0;
	if (err->file == NULL)
		locate(ld, err, base + n->off);
	return -1;
}

/*
 * Compile the pattern written at file offset off: an object node (its
 * bytes are compiled, errors mapped back into the file) or a string node
 * (its decoded text is compiled, errors reported at the string).  rule is
 * the node of the rule object that holds it (ni itself for a bare
 * pattern) and res its template resource (or -1), for the callback.
 */
static int
add_pattern(struct load *ld, const struct ev_jdoc *doc, size_t base,
    int ni, int rule, int res, const char *name, struct ev_err *err)
{
	const struct ev_jnode *n = &doc->n[ni];
	size_t off = base + n->off, erroff;

	if (n->type == EV_J_STRING) {
		if (ev_rules_add(ld->rs, name, n->str, n->len, err) < 0) {
			locate(ld, err, off);
			return -1;
		}
	} else if (ev_rules_add_node(ld->rs, name, doc, ni, &erroff,
	    err) < 0) {
		/* erroff is in doc's text, which starts at base */
		locate(ld, err, base + erroff);
		return -1;
	}
	ld->added++;
	if (ld->fn != NULL)
		return call_fn(ld, doc, base, rule, res, name, err);
	return 0;
}

/* Member key of object o holding a string, or NULL. */
static const char *
member_str(const struct ev_jdoc *doc, int o, const char *key, int *ni)
{
	int m = ev_jdoc_member(doc, o, key);

	if (ni != NULL)
		*ni = m;
	if (m < 0 || doc->n[m].type != EV_J_STRING)
		return NULL;
	return doc->n[m].str;
}

/* The pattern member of a rule object (object or string), or -1. */
static int
pattern_member(const struct ev_jdoc *doc, int o)
{
	static const char *const keys[] = { "EventPattern", "pattern", NULL };
	const char *const *k;
	int m;

	for (k = keys; *k != NULL; k++) {
		m = ev_jdoc_member(doc, o, *k);
		if (m >= 0 && (doc->n[m].type == EV_J_OBJECT ||
		    doc->n[m].type == EV_J_STRING))
			return m;
	}
	return -1;
}

/*
 * Is object o a rule wrapper (a pattern key, and nothing but the keys of
 * a rule: its name, description, state and the like) rather than a bare
 * pattern?  A scheduled rule from `aws events` has no pattern but is a
 * wrapper too (*scheduled is set).
 */
static int
is_wrapper(const struct ev_jdoc *doc, int o, int *scheduled)
{
	static const char *const known[] = {
		"name", "Name", "pattern", "EventPattern", "description",
		"Description", "Arn", "State", "EventBusName", "CreatedBy",
		"ManagedBy", "RoleArn", "ScheduleExpression", "Targets", NULL
	};
	const char *const *k;
	int i, has_pattern = pattern_member(doc, o) >= 0;

	*scheduled = 0;
	for (i = doc->n[o].first; i >= 0; i = doc->n[i].next) {
		for (k = known; *k != NULL; k++)
			if (strlen(*k) == doc->n[i].keylen &&
			    memcmp(*k, doc->n[i].key, doc->n[i].keylen) == 0)
				break;
		if (*k == NULL)
			return 0;
	}
	if (!has_pattern && ev_jdoc_member(doc, o, "ScheduleExpression") >= 0)
		*scheduled = 1;
	return has_pattern || *scheduled;
}

/*
 * The default name of a rule: "FILE:N".  (Made for every rule of a large
 * file, so without snprintf.)
 */
static void
pos_name(char *buf, size_t size, const char *file, unsigned long n)
{
	char digits[24];
	size_t fl = strlen(file), k = 0;

	do
		digits[k++] = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	if (fl + k + 2 > size)
		fl = size - k - 2;
	memcpy(buf, file, fl);
	buf[fl++] = ':';
	while (k > 0)
		buf[fl++] = digits[--k];
	buf[fl] = '\0';
}

/*
 * Add the rule in object o: a wrapper (named by its name member, else
 * dflt) or a bare pattern (named dflt).
 */
static int
add_rule_object(struct load *ld, const struct ev_jdoc *doc, size_t base,
    int o, const char *dflt, struct ev_err *err)
{
	int scheduled, ni, pi;
	const char *name;

	if (!is_wrapper(doc, o, &scheduled))
		return add_pattern(ld, doc, base, o, o, -1, dflt, err);
	if (scheduled)
		return 0;
	name = member_str(doc, o, "Name", &ni);
	if (ni < 0)
		name = member_str(doc, o, "name", &ni);
	if (ni >= 0 && name == NULL) {
		ev_err_set(err, "rule name must be a string");
		locate(ld, err, base + doc->n[ni].off);
		return -1;
	}
	pi = pattern_member(doc, o);
	return add_pattern(ld, doc, base, pi, o, -1,
	    name != NULL ? name : dflt, err);
}

/* A JSON array of rules. */
static int
load_array(struct load *ld, const struct ev_jdoc *doc, int a,
    struct ev_err *err)
{
	char name[4096];
	int i, pos = 0;

	for (i = doc->n[a].first; i >= 0; i = doc->n[i].next) {
		pos++;
		if (doc->n[i].type != EV_J_OBJECT) {
			ev_err_set(err, "a rule must be a JSON object");
			locate(ld, err, doc->n[i].off);
			return -1;
		}
		pos_name(name, sizeof(name), ld->disp, (unsigned long)pos);
		if (add_rule_object(ld, doc, 0, i, name, err) < 0)
			return -1;
	}
	return 0;
}

/* Does type node t (a string) equal s? */
static int
type_is(const struct ev_jdoc *doc, int o, const char *s)
{
	const char *t = member_str(doc, o, "Type", NULL);

	return t != NULL && strcmp(t, s) == 0;
}

/* Is root object r a CloudFormation/SAM template? */
static int
is_template(const struct ev_jdoc *doc, int r)
{
	int res = ev_jdoc_member(doc, r, "Resources"), i;

	if (ev_jdoc_member(doc, r, "AWSTemplateFormatVersion") >= 0 ||
	    ev_jdoc_member(doc, r, "Transform") >= 0)
		return res >= 0;
	if (res < 0 || doc->n[res].type != EV_J_OBJECT ||
	    doc->n[res].nchild == 0)
		return 0;
	for (i = doc->n[res].first; i >= 0; i = doc->n[i].next)
		if (doc->n[i].type != EV_J_OBJECT ||
		    member_str(doc, i, "Type", NULL) == NULL)
			return 0;
	return 1;
}

/* Every event rule of a template, in document order. */
static int
load_template(struct load *ld, const struct ev_jdoc *doc, int r,
    struct ev_err *err)
{
	int res = ev_jdoc_member(doc, r, "Resources"), i, props, p, evs, e,
	    ep;
	char name[4096];

	if (res < 0 || doc->n[res].type != EV_J_OBJECT) {
		ev_err_set(err, "no event rules in template");
		locate(ld, err, res < 0 ? doc->n[r].off : doc->n[res].off);
		return -1;
	}
	for (i = doc->n[res].first; i >= 0; i = doc->n[i].next) {
		if (doc->n[i].type != EV_J_OBJECT)
			continue;
		props = ev_jdoc_member(doc, i, "Properties");
		if (props < 0 || doc->n[props].type != EV_J_OBJECT)
			continue;
		if (type_is(doc, i, "AWS::Events::Rule")) {
			p = ev_jdoc_member(doc, props, "EventPattern");
			if (p < 0)
				continue;	/* a scheduled rule */
			if (doc->n[p].type != EV_J_OBJECT &&
			    doc->n[p].type != EV_J_STRING) {
				ev_err_set(err, "EventPattern must be an "
				    "object or a JSON string");
				locate(ld, err, doc->n[p].off);
				return -1;
			}
			if (add_pattern(ld, doc, 0, p, i, i, doc->n[i].key,
			    err) < 0)
				return -1;
			continue;
		}
		/* SAM: AWS::Serverless::Function, ::StateMachine events */
		evs = ev_jdoc_member(doc, props, "Events");
		if (evs < 0 || doc->n[evs].type != EV_J_OBJECT ||
		    strncmp(member_str(doc, i, "Type", NULL) ?
		    member_str(doc, i, "Type", NULL) : "",
		    "AWS::Serverless::", 17) != 0)
			continue;
		for (e = doc->n[evs].first; e >= 0; e = doc->n[e].next) {
			if (doc->n[e].type != EV_J_OBJECT ||
			    !(type_is(doc, e, "EventBridgeRule") ||
			    type_is(doc, e, "CloudWatchEvent")))
				continue;
			ep = ev_jdoc_member(doc, e, "Properties");
			p = ep < 0 ? -1 : ev_jdoc_member(doc, ep, "Pattern");
			if (p < 0)
				continue;
			if (doc->n[p].type != EV_J_OBJECT &&
			    doc->n[p].type != EV_J_STRING) {
				ev_err_set(err, "Pattern must be an object "
				    "or a JSON string");
				locate(ld, err, doc->n[p].off);
				return -1;
			}
			snprintf(name, sizeof(name), "%s.%s", doc->n[i].key,
			    doc->n[e].key);
			if (add_pattern(ld, doc, 0, p, e, i, name, err) < 0)
				return -1;
		}
	}
	if (ld->added == 0) {
		ev_err_set(err, "no event rules in template");
		locate(ld, err, doc->n[r].off);
		return -1;
	}
	return 0;
}

/* Is root object r `aws events list-rules` output? */
static int
is_rule_list(const struct ev_jdoc *doc, int r)
{
	int rules = ev_jdoc_member(doc, r, "Rules"), i, s;

	if (rules < 0 || doc->n[rules].type != EV_J_ARRAY)
		return 0;
	for (i = doc->n[r].first; i >= 0; i = doc->n[i].next)
		if (strcmp(doc->n[i].key, "Rules") != 0 &&
		    strcmp(doc->n[i].key, "NextToken") != 0)
			return 0;
	for (i = doc->n[rules].first; i >= 0; i = doc->n[i].next)
		if (doc->n[i].type != EV_J_OBJECT || !is_wrapper(doc, i, &s))
			return 0;
	return 1;
}

/* The error for a file that holds no rule at all. */
static int
no_rules(struct load *ld, struct ev_err *err)
{
	ev_err_set(err, "no rules");
	err->file = ld->disp;
	err->line = err->col = 0;
	return -1;
}

/* A document holding one JSON value: every shape but NDJSON. */
static int
load_document(struct load *ld, const struct ev_jdoc *doc, struct ev_err *err)
{
	int r = 0, rules;

	if (doc->n[r].type == EV_J_ARRAY) {
		if (doc->n[r].nchild == 0)
			return no_rules(ld, err);
		if (load_array(ld, doc, r, err) < 0)
			return -1;
		if (ld->added == 0) {
			ev_err_set(err, "no event rules in list");
			locate(ld, err, doc->n[r].off);
			return -1;
		}
		return 0;
	}
	if (doc->n[r].type != EV_J_OBJECT)
		return add_pattern(ld, doc, 0, r, r, -1, ld->disp, err);
	if (is_template(doc, r))
		return load_template(ld, doc, r, err);
	if (is_rule_list(doc, r)) {
		rules = ev_jdoc_member(doc, r, "Rules");
		if (doc->n[rules].nchild == 0)
			return no_rules(ld, err);
		if (load_array(ld, doc, rules, err) < 0)
			return -1;
		if (ld->added == 0) {
			ev_err_set(err, "no event rules in list");
			locate(ld, err, doc->n[rules].off);
			return -1;
		}
		return 0;
	}
	if (add_rule_object(ld, doc, 0, r, ld->disp, err) < 0)
		return -1;
	if (ld->added == 0) {
		ev_err_set(err, "rule has no event pattern");
		locate(ld, err, doc->n[r].off);
		return -1;
	}
	return 0;
}

/*
 * Would the file be NDJSON?  It is when it is not one JSON document and
 * its first non-blank line is a JSON object on its own.
 */
static int
looks_ndjson(const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl;
	struct ev_jdoc doc;
	struct ev_err e;
	size_t n;
	int ok;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (strspn(p, " \t\r") < n) {
			ev_err_clear(&e);
			ok = ev_jdoc_parse(&doc, p, n, &e) == 0 &&
			    doc.n[0].type == EV_J_OBJECT;
			if (ok)
				ev_jdoc_free(&doc);
			return ok;
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return 0;
}

/* One rule (or bare pattern) per line. */
static int
load_ndjson(struct load *ld, struct ev_err *err)
{
	const char *p = ld->text, *end = ld->text + ld->len, *nl;
	unsigned long lineno = 0;
	struct ev_jdoc doc;
	char name[4096];
	size_t n, base;
	int r;

	for (; p < end; p = nl + 1) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (strspn(p, " \t\r") >= n)
			continue;
		base = (size_t)(p - ld->text);
		if (ev_jdoc_parse(&doc, p, n, err) < 0) {
			err->file = ld->disp;
			err->line = lineno;
			return -1;
		}
		if (doc.n[0].type != EV_J_OBJECT) {
			ev_jdoc_free(&doc);
			ev_err_set(err, "a rule must be a JSON object");
			locate(ld, err, base + doc.n[0].off);
			return -1;
		}
		pos_name(name, sizeof(name), ld->disp, lineno);
		r = add_rule_object(ld, &doc, base, 0, name, err);
		ev_jdoc_free(&doc);
		if (r < 0)
			return -1;
	}
	if (ld->added == 0) {
		ev_err_set(err, "no event rules in file");
		err->file = ld->disp;
		return -1;
	}
	return 0;
}

/* Does p[0..len) hold nothing but blanks and '#' comments? */
static int
is_blank(const char *p, size_t len)
{
	const char *end = p + len;

	for (; p < end; p++) {
		if (*p == '#') {
			if ((p = memchr(p, '\n', (size_t)(end - p))) == NULL)
				return 1;
		} else if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			return 0;
	}
	return 1;
}

/*
 * Could the file be YAML?  Its first character that is neither blank nor
 * in a '#' comment does not open a JSON object or array.
 */
static int
looks_yaml(const char *p, size_t len)
{
	const char *end = p + len;

	while (p < end) {
		if (*p == '#') {
			if ((p = memchr(p, '\n', (size_t)(end - p))) == NULL)
				return 0;
		} else if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			return *p != '{' && *p != '[';
		p++;
	}
	return 0;
}

/*
 * A template written in YAML.  Returns 1 when the file holds no template
 * (its top level is not a mapping with a "Resources" key): the caller
 * reports the JSON error.  Else 0, or -1 with err located in the YAML.
 */
static int
load_yaml(struct load *ld, struct ev_err *err)
{
	struct ev_yjson y;
	struct ev_jdoc doc;
	int r;

	if (ev_yaml_to_json(ld->text, ld->len, &y, err) < 0) {
		err->file = ld->disp;
		return -1;
	}
	ld->yaml = &y;
	if (ev_jdoc_parse(&doc, y.text, y.len, err) < 0) {
		/* y.text is one line: the column is the offset + 1 */
		if (err->col > 0)
			locate(ld, err, err->col - 1);
		err->file = ld->disp;
		if (strncmp(err->msg, "invalid JSON: ", 14) == 0)
			memcpy(err->msg, "invalid YAML: ", 14);
		r = -1;
	} else {
		r = doc.n[0].type != EV_J_OBJECT ||
		    ev_jdoc_member(&doc, 0, "Resources") < 0;
		if (r == 0)
			r = load_template(ld, &doc, 0, err);
		ev_jdoc_free(&doc);
	}
	ld->yaml = NULL;
	ev_yjson_free(&y);
	return r;
}

/*
 * Load every rule of the pattern file path ("-": standard input) into rs
 * with ev_rules_add(), handing each to fn (when not NULL) as it is added.
 * Returns the number of rules added, or -1 with err located in the file
 * (err->file is path, or "<stdin>"; path must outlive err).  On error,
 * the rules added before it stay in rs.
 */
int
ev_rules_load_cb(struct ev_rules *rs, const char *path, ev_rule_fn fn,
    void *ctx, struct ev_err *err)
{
	struct load ld;
	struct ev_jdoc doc;
	struct ev_err perr;
	char *buf = NULL;
	int r;

	memset(&ld, 0, sizeof(ld));
	ld.rs = rs;
	ld.fn = fn;
	ld.ctx = ctx;
	ld.disp = strcmp(path, "-") == 0 ? "<stdin>" : path;
	ev_err_clear(err);
	if (ev_file_read(strcmp(path, "-") == 0 ? NULL : path, &buf, &ld.len,
	    err) < 0) {
		err->file = ld.disp;
		return -1;
	}
	ld.text = buf;
	/* A byte order mark, as some Windows editors write, is skipped. */
	if (ld.len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		ld.text += 3;
		ld.len -= 3;
	}
	ev_err_clear(&perr);
	if (is_blank(ld.text, ld.len)) {
		r = no_rules(&ld, err);
	} else if (ev_jdoc_parse(&doc, ld.text, ld.len, &perr) == 0) {
		r = load_document(&ld, &doc, err);
		ev_jdoc_free(&doc);
	} else if (looks_ndjson(ld.text, ld.len)) {
		r = load_ndjson(&ld, err);
	} else if (!looks_yaml(ld.text, ld.len) ||
	    (r = load_yaml(&ld, err)) > 0) {
		*err = perr;
		err->file = ld.disp;
		r = -1;
	}
	free(buf);
	return r < 0 ? -1 : ld.added;
}

/* ev_rules_load_cb() without a callback. */
int
ev_rules_load(struct ev_rules *rs, const char *path, struct ev_err *err)
{
	return ev_rules_load_cb(rs, path, NULL, NULL, err);
}
