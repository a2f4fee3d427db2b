/*
 * asl.c - Amazon States Language Retry and Catch arrays read from a file
 * (or a Task state holding them), validated as Step Functions validates a
 * state machine definition, with located messages; matching a catcher and
 * placing the error output into the event at its ResultPath.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "proc.h"

/* Error names ASL reserves, with the "States." prefix. */
static const char *const states_names[] = {
	"States.ALL", "States.BranchFailed", "States.DataLimitExceeded",
	"States.ExceedToleratedFailureThreshold", "States.HeartbeatTimeout",
	"States.Http.Socket", "States.IntrinsicFailure",
	"States.ItemReaderFailed", "States.NoChoiceMatched",
	"States.ParameterPathFailure", "States.Permissions",
	"States.QueryEvaluationError", "States.ResultPathMatchFailure",
	"States.ResultWriterFailed", "States.Runtime", "States.TaskFailed",
	"States.Timeout", NULL
};

static const char *const retrier_fields[] = { "BackoffRate", "Comment",
	"ErrorEquals", "IntervalSeconds", "JitterStrategy", "MaxAttempts",
	"MaxDelaySeconds", NULL };
static const char *const catcher_fields[] = { "Comment", "ErrorEquals",
	"Next", "ResultPath", NULL };

void
ev_policy_free(struct ev_policy *p)
{
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nretriers; i++)
		free((void *)p->retriers[i].errors);
	for (i = 0; i < p->ncatchers; i++) {
		free((void *)p->catchers[i].errors);
		free(p->catchers[i].argv);
	}
	free(p->retriers);
	free(p->catchers);
	ev_jdoc_free(&p->doc);
	free(p->text);
	memset(p, 0, sizeof(*p));
}

/* err at node's value, -1. */
static int
at(const struct ev_policy *p, int node, struct ev_err *err)
{
	ev_jdoc_locate(&p->doc, p->doc.n[node].off, &err->line, &err->col);
	return -1;
}

static int
is_name(const char *s, const char *name)
{
	return strcmp(s, name) == 0;
}

/*
 * The ErrorEquals of element el (what: "retrier", "catcher"), last: is it
 * the array's last element.  Stores a malloc'd array of borrowed names.
 */
static int
error_equals(struct ev_policy *p, int el, int last, const char *what,
    const char *const **names, int *n, struct ev_err *err)
{
	const char **v;
	const char *s;
	char elt[32];
	size_t len;
	int arr, e, i, k, all = -1;

	if (ev_jdoc_get_arr(&p->doc, el, "ErrorEquals", EV_JGET_REQUIRED,
	    &arr, err) < 0)
		return -1;
	k = p->doc.n[arr].nchild;
	if (k == 0) {
		ev_err_set(err, "'ErrorEquals' must be a non-empty array");
		return at(p, arr, err);
	}
	if ((v = calloc((size_t)k, sizeof(*v))) == NULL) {
		ev_err_set(err, "out of memory");
		return -1;
	}
	*names = v;
	*n = k;
	for (i = 0, e = ev_jdoc_child(&p->doc, arr); e >= 0;
	    i++, e = ev_jdoc_next(&p->doc, e)) {
		snprintf(elt, sizeof(elt), "ErrorEquals[%d]", i);
		if (ev_jdoc_as_str(&p->doc, e, elt, &s, &len, err) < 0)
			return -1;
		if (len == 0 || strlen(s) != len) {
			ev_err_set(err, "an error name must be a non-empty "
			    "string without NUL");
			return at(p, e, err);
		}
		if (strncmp(s, "States.", 7) == 0) {
			for (k = 0; states_names[k] != NULL; k++)
				if (is_name(s, states_names[k]))
					break;
			if (states_names[k] == NULL) {
				ev_err_set(err, "unknown error name '%s': "
				    "the prefix 'States.' is reserved", s);
				return at(p, e, err);
			}
		}
		if (is_name(s, "States.ALL"))
			all = e;
		v[i] = s;
	}
	if (all >= 0 && *n > 1) {
		ev_err_set(err, "'States.ALL' must appear alone in "
		    "'ErrorEquals'");
		return at(p, all, err);
	}
	if (all >= 0 && !last) {
		ev_err_set(err, "'States.ALL' must appear in the last %s",
		    what);
		return at(p, all, err);
	}
	return 0;
}

static int
retrier(struct ev_policy *p, int el, int last, struct ev_retrier *r,
    struct ev_err *err)
{
	const char *s;
	int64_t v;
	double d;
	int m;

	ev_retrier_default(r);
	r->errors = NULL;
	r->nerrors = 0;
	if (ev_jdoc_known(&p->doc, el, retrier_fields, err) < 0 ||
	    ev_jdoc_get_str(&p->doc, el, "Comment", 0, &s, NULL, err) < 0 ||
	    error_equals(p, el, last, "retrier", &r->errors, &r->nerrors,
	    err) < 0)
		return -1;
	if ((m = ev_jdoc_get_int(&p->doc, el, "IntervalSeconds", 0, 1,
	    99999999, &v, err)) < 0)
		return -1;
	if (m)
		r->interval_ms = v * 1000;
	if ((m = ev_jdoc_get_int(&p->doc, el, "MaxAttempts", 0, 0, 99999999,
	    &v, err)) < 0)
		return -1;
	if (m)
		r->max_attempts = (int)v;
	if ((m = ev_jdoc_get_num(&p->doc, el, "BackoffRate", 0, &d,
	    err)) < 0)
		return -1;
	if (m && !(d >= 1.0)) {
		ev_err_set(err, "'BackoffRate' must be a number of at least "
		    "1.0");
		return at(p, ev_jdoc_member(&p->doc, el, "BackoffRate"), err);
	}
	if (m)
		r->backoff = d;
	if ((m = ev_jdoc_get_int(&p->doc, el, "MaxDelaySeconds", 0, 1,
	    31622400, &v, err)) < 0)
		return -1;
	if (m)
		r->max_delay_ms = v * 1000;
	if ((m = ev_jdoc_get_str(&p->doc, el, "JitterStrategy", 0, &s, NULL,
	    err)) < 0)
		return -1;
	if (m && !is_name(s, "FULL") && !is_name(s, "NONE")) {
		ev_err_set(err, "'JitterStrategy' must be 'FULL' or 'NONE'");
		return at(p, ev_jdoc_member(&p->doc, el, "JitterStrategy"),
		    err);
	}
	if (m)
		r->jitter_full = is_name(s, "FULL");
	return 0;
}

/* A ResultPath: "$" or "$.name" ... with names of [A-Za-z0-9_-] or UTF-8. */
static int
result_path_ok(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	if (u[0] != '$')
		return 0;
	for (u++; *u != '\0';) {
		if (*u++ != '.')
			return 0;
		if (*u == '.' || *u == '\0')
			return 0;
		while (*u != '\0' && *u != '.') {
			if (!(*u >= 0x80 || (*u >= 'a' && *u <= 'z') ||
			    (*u >= 'A' && *u <= 'Z') ||
			    (*u >= '0' && *u <= '9') || *u == '_' ||
			    *u == '-'))
				return 0;
			u++;
		}
	}
	return 1;
}

/*
 * Split "PROG ARG ..." at blanks (no quoting, no expansion) into c->argv:
 * one allocation holding the pointers and a copy of the words.
 */
static int
split_exec(struct ev_catcher *c, const char *cmd)
{
	size_t n = strlen(cmd), k = 0;
	char *q, *words, *save;

	if ((c->argv = malloc((n / 2 + 2) * sizeof(char *) + n + 1)) == NULL)
		return -1;
	words = (char *)(c->argv + n / 2 + 2);
	memcpy(words, cmd, n + 1);
	for (q = strtok_r(words, " \t", &save); q != NULL;
	    q = strtok_r(NULL, " \t", &save))
		c->argv[k++] = q;
	c->argv[k] = NULL;
	return 0;
}

static int
catcher(struct ev_policy *p, int el, int last, struct ev_catcher *c,
    struct ev_err *err)
{
	const char *s;
	size_t len;
	int m;

	if (ev_jdoc_known(&p->doc, el, catcher_fields, err) < 0 ||
	    ev_jdoc_get_str(&p->doc, el, "Comment", 0, &s, NULL, err) < 0 ||
	    error_equals(p, el, last, "catcher", &c->errors, &c->nerrors,
	    err) < 0 ||
	    ev_jdoc_get_str(&p->doc, el, "Next", EV_JGET_REQUIRED, &s, &len,
	    err) < 0)
		return -1;
	m = ev_jdoc_member(&p->doc, el, "Next");
	if (len == 0 || strlen(s) != len) {
		ev_err_set(err, "'Next' must be a file name or "
		    "'exec:COMMAND'");
		return at(p, m, err);
	}
	c->next = s;
	if (strncmp(s, "exec:", 5) == 0) {
		if (split_exec(c, s + 5) < 0) {
			ev_err_set(err, "out of memory");
			return -1;
		}
		if (c->argv[0] == NULL) {
			ev_err_set(err, "'Next' names no command after "
			    "'exec:'");
			return at(p, m, err);
		}
	}
	c->result_path = "$";
	if ((m = ev_jdoc_member(&p->doc, el, "ResultPath")) < 0)
		return 0;
	if (p->doc.n[m].type == EV_J_NULL) {
		c->result_path = NULL;
		return 0;
	}
	if (p->doc.n[m].type != EV_J_STRING ||
	    !result_path_ok(p->doc.n[m].str)) {
		ev_err_set(err, "'ResultPath' must be null, '$' or a path "
		    "such as '$.error'");
		return at(p, m, err);
	}
	c->result_path = p->doc.n[m].str;
	return 0;
}

int
ev_policy_parse(struct ev_policy *p, enum ev_asl_kind kind, char *text,
    size_t len, struct ev_err *err)
{
	const char *what = kind == EV_ASL_RETRY ? "Retry" : "Catch";
	int arr, el, i, n;
	void *v;

	memset(p, 0, sizeof(*p));
	p->text = text;
	if (ev_jdoc_parse(&p->doc, text, len, err) < 0)
		return -1;
	arr = 0;
	if (p->doc.n[0].type == EV_J_OBJECT) {
		/* a Task state: its Retry or Catch member */
		if (ev_jdoc_get_arr(&p->doc, 0, what, EV_JGET_REQUIRED, &arr,
		    err) < 0)
			return -1;
	} else if (p->doc.n[0].type != EV_J_ARRAY) {
		ev_err_set(err, "a %s file must hold an array or a Task "
		    "state object", what);
		return at(p, 0, err);
	}
	n = p->doc.n[arr].nchild;
	v = calloc((size_t)n + 1, kind == EV_ASL_RETRY ?
	    sizeof(struct ev_retrier) : sizeof(struct ev_catcher));
	if (v == NULL) {
		ev_err_set(err, "out of memory");
		return -1;
	}
	if (kind == EV_ASL_RETRY)
		p->retriers = v;
	else
		p->catchers = v;
	for (i = 0, el = ev_jdoc_child(&p->doc, arr); el >= 0;
	    i++, el = ev_jdoc_next(&p->doc, el)) {
		if (p->doc.n[el].type != EV_J_OBJECT) {
			ev_err_set(err, "'%s[%d]' must be an object", what, i);
			return at(p, el, err);
		}
		if (kind == EV_ASL_RETRY) {
			p->nretriers++;
			if (retrier(p, el, i == n - 1, &p->retriers[i],
			    err) < 0)
				return -1;
		} else {
			p->ncatchers++;
			if (catcher(p, el, i == n - 1, &p->catchers[i],
			    err) < 0)
				return -1;
		}
	}
	return 0;
}

int
ev_policy_load(struct ev_policy *p, enum ev_asl_kind kind, const char *path,
    struct ev_err *err)
{
	char *buf;
	size_t n;

	memset(p, 0, sizeof(*p));
	err->file = path;
	if (ev_file_read(path, &buf, &n, err) < 0)
		return -1;
	/* The policy owns buf from here, on failure too. */
	if (ev_policy_parse(p, kind, buf, n, err) < 0) {
		ev_policy_free(p);
		return -1;
	}
	return 0;
}

int
ev_catch_find(const struct ev_policy *p, const char *name)
{
	struct ev_retrier r;
	int i;

	ev_retrier_default(&r);
	for (i = 0; i < p->ncatchers; i++) {
		r.errors = p->catchers[i].errors;
		r.nerrors = p->catchers[i].nerrors;
		if (ev_retrier_matches(&r, name))
			return i;
	}
	return -1;
}

/* ------------------------------------------------------- the ResultPath */

/* Where the raw text of the value at node ends. */
static size_t
value_end(const struct ev_jdoc *d, int node)
{
	const struct ev_jnode *n = &d->n[node];
	size_t i;

	switch (n->type) {
	case EV_J_OBJECT:
	case EV_J_ARRAY:
	case EV_J_NUMBER:
		return n->off + n->len;
	case EV_J_STRING:
		for (i = n->off + 1; i < d->textlen && d->text[i] != '"'; i++)
			if (d->text[i] == '\\')
				i++;
		return i + 1;
	case EV_J_FALSE:
		return n->off + 5;
	default:
		return n->off + 4;
	}
}

/* {"Error":name,"Cause":cause} into b. */
static int
error_output(struct ev_buf *b, const char *name, const char *cause,
    size_t clen)
{
	return ev_buf_add(b, "{\"Error\":", 9) < 0 ||
	    ev_json_quote(b, name, strlen(name)) < 0 ||
	    ev_buf_add(b, ",\"Cause\":", 9) < 0 ||
	    ev_json_quote_text(b, cause, clen) < 0 ||
	    ev_buf_add(b, "}", 1) < 0 ? -1 : 0;
}

int
ev_catch_result(struct ev_buf *b, const char *ev, size_t len,
    const char *path, const char *name, const char *cause, size_t clen,
    struct ev_err *err)
{
	struct ev_jdoc d;
	struct ev_buf key = { NULL, 0, 0 };
	const char *seg, *dot;
	size_t pos, seglen, depth = 0, i;
	int node = 0, m = -1, r = -1;

	if (path == NULL)
		return ev_buf_add(b, ev, len) < 0 ? -1 : 0;
	if (strcmp(path, "$") == 0)
		return error_output(b, name, cause, clen) < 0 ? -1 : 0;
	if (ev_jdoc_parse(&d, ev, len, err) < 0)
		return -1;
	/* walk the path's members down while they exist */
	for (seg = path + 2;; seg = dot + 1) {
		dot = strchr(seg, '.');
		seglen = dot ? (size_t)(dot - seg) : strlen(seg);
		if (d.n[node].type != EV_J_OBJECT) {
			ev_err_set(err, "ResultPath '%s' does not match the "
			    "event: not an object on the way", path);
			r = 1;
			goto out;
		}
		key.len = 0;
		if (ev_buf_add(&key, seg, seglen) < 0 ||
		    ev_buf_add(&key, "", 1) < 0)
			goto oom;
		if ((m = ev_jdoc_member(&d, node, key.p)) < 0)
			break;
		node = m;
		if (dot == NULL)
			break;
	}
	if (m >= 0) {
		/* the whole path exists: replace its value */
		if (ev_buf_add(b, ev, d.n[node].off) < 0 ||
		    error_output(b, name, cause, clen) < 0)
			goto oom;
		pos = value_end(&d, node);
		if (ev_buf_add(b, ev + pos, len - pos) < 0)
			goto oom;
		r = 0;
		goto out;
	}
	/* insert "seg":{"next":{...:ERROR}} before the object's '}' */
	pos = value_end(&d, node) - 1;
	if (ev_buf_add(b, ev, pos) < 0)
		goto oom;
	if (d.n[node].nchild > 0 && ev_buf_add(b, ",", 1) < 0)
		goto oom;
	for (;;) {
		if (ev_json_quote(b, seg, seglen) < 0 ||
		    ev_buf_add(b, ":", 1) < 0)
			goto oom;
		if (dot == NULL)
			break;
		seg = dot + 1;
		dot = strchr(seg, '.');
		seglen = dot ? (size_t)(dot - seg) : strlen(seg);
		if (ev_buf_add(b, "{", 1) < 0)
			goto oom;
		depth++;
	}
	if (error_output(b, name, cause, clen) < 0)
		goto oom;
	for (i = 0; i < depth; i++)
		if (ev_buf_add(b, "}", 1) < 0)
			goto oom;
	if (ev_buf_add(b, ev + pos, len - pos) < 0)
		goto oom;
	r = 0;
	goto out;
oom:
	ev_err_set(err, "out of memory");
	r = -1;
out:
	ev_buf_free(&key);
	ev_jdoc_free(&d);
	return r;
}
