/*
 * config.c - evroute's rules and their targets, read from the files users
 * already have: a JSON list (or NDJSON) of rules as the EventBridge API
 * spells them ({Name, Arn, EventBusName, EventPattern, State, Targets}),
 * `aws events` output, and CloudFormation/SAM templates in JSON or YAML.
 *
 * The rule-file reader of lib/rules (ev_rules_load_cb()) finds the rules
 * and compiles their patterns, as for evmatch; for each rule it hands over
 * the rule's object, from which this file reads the rule's name, ARN, bus,
 * state and targets, and compiles each target's shaping (shape.c) into the
 * rule's shape set.  Errors are located in the file (YAML too).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "rules/rules.h"

/* Members of the rule, wherever the file's shape keeps them. */
struct where {
	const struct ev_rule_src *src;
	const struct ev_jdoc *doc;
	int props;		/* the object holding the rule's members */
	int sam;		/* a SAM event source: one implicit target */
	struct load_ctx *lc;
};

/*
 * The Id and Arn the previous rule's first HINTS targets had, by place:
 * rules of the same targets (10,000 rules fanning out to the same 20
 * files) find their strings there with a comparison, not a hash.
 */
#define HINTS 32

struct load_ctx {
	struct ev_route_config *cf;
	const char *hint_id[HINTS], *hint_arn[HINTS];
};

/*
 * The configuration's strings: interned in chunks, so that 10,000 rules
 * with 20 targets each cost no 600,000 allocations (and frees), and the
 * ids and URIs that repeat from rule to rule are kept once.
 */
#define STRS_CHUNK 65536

struct strs_chunk {
	struct strs_chunk *next;
	size_t used, cap;
	char p[];
};

struct ev_route_strs {
	struct strs_chunk *chunk;
	struct strs_chunk *tchunk;	/* the rules' target arrays */
	const char **tab;	/* open addressing, NULL empty */
	int *mark;		/* per slot: the last rule (from 1) that
				   used the string as a target Id */
	size_t n, cap;
};

static size_t
str_hash(const char *s, size_t len)
{
	size_t h = 1469598103934665603ULL, i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static void
strs_free(struct ev_route_strs *ss)
{
	struct strs_chunk *c, *next;

	if (ss == NULL)
		return;
	for (c = ss->chunk; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	for (c = ss->tchunk; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(ss->tab);
	free(ss->mark);
	free(ss);
}

/* Grow the table to twice its size: 0, or -1 when out of memory. */
static int
strs_grow(struct ev_route_strs *ss)
{
	size_t cap = ss->cap ? 2 * ss->cap : 256, i, j;
	const char **t = calloc(cap, sizeof(*t));
	int *m = calloc(cap, sizeof(*m));

	if (t == NULL || m == NULL) {
		free(t);
		free(m);
		return -1;
	}
	for (i = 0; i < ss->cap; i++) {
		if (ss->tab[i] == NULL)
			continue;
		for (j = str_hash(ss->tab[i], strlen(ss->tab[i])) & (cap - 1);
		    t[j] != NULL; j = (j + 1) & (cap - 1))
			;
		t[j] = ss->tab[i];
		m[j] = ss->mark[i];
	}
	free(ss->tab);
	free(ss->mark);
	ss->tab = t;
	ss->mark = m;
	ss->cap = cap;
	return 0;
}

/*
 * The interned copy of s[0..len) (no NUL inside), NUL-terminated, owned
 * by cf; NULL when out of memory.
 */
static char *
intern(struct ev_route_config *cf, const char *s, size_t len)
{
	struct ev_route_strs *ss = cf->strs;
	struct strs_chunk *c;
	size_t j;
	char *r;

	if (ss == NULL && (ss = cf->strs = calloc(1, sizeof(*ss))) == NULL)
		return NULL;
	if (2 * (ss->n + 1) > ss->cap && strs_grow(ss) < 0)
		return NULL;
	for (j = str_hash(s, len) & (ss->cap - 1); ss->tab[j] != NULL;
	    j = (j + 1) & (ss->cap - 1))
		if (strncmp(ss->tab[j], s, len) == 0 &&
		    ss->tab[j][len] == '\0')
			return (char *)ss->tab[j];
	c = ss->chunk;
	if (c == NULL || c->cap - c->used < len + 1) {
		size_t cap = len + 1 > STRS_CHUNK ? len + 1 : STRS_CHUNK;

		if ((c = malloc(sizeof(*c) + cap)) == NULL)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = ss->chunk;
		ss->chunk = c;
	}
	r = c->p + c->used;
	memcpy(r, s, len);
	r[len] = '\0';
	c->used += len + 1;
	ss->tab[j] = r;
	ss->n++;
	return r;
}

/*
 * A zeroed array of n targets, owned by cf; NULL when out of memory.
 * Carved from chunks: no allocation per rule.  After two small ones, a
 * big configuration's chunks are 8 MB, aligned to 2 MB with huge pages
 * advised (10,000 rules of 20 targets take 14 MB), so that filling them
 * costs few page faults; only what is handed out is zeroed (touched).
 */
#define TGT_HUGE ((size_t)2 << 20)
#define TGT_BIG ((size_t)8 << 20)

static struct ev_route_target *
targets_new(struct ev_route_config *cf, size_t n)
{
	struct ev_route_strs *ss = cf->strs;
	struct strs_chunk *c;
	size_t need, cap;
	char *r;

	if (ss == NULL && (ss = cf->strs = calloc(1, sizeof(*ss))) == NULL)
		return NULL;
	if (n > SIZE_MAX / 2 / sizeof(struct ev_route_target))
		return NULL;
	need = (n * sizeof(struct ev_route_target) + 15) & ~(size_t)15;
	c = ss->tchunk;
	if (c == NULL || c->cap - c->used < need) {
		if (need > TGT_BIG / 2) {
			cap = need;	/* a chunk of its own */
			c = malloc(sizeof(*c) + cap);
		} else if ((c == NULL || c->cap < 2 * STRS_CHUNK) &&
		    need <= 2 * STRS_CHUNK) {
			cap = c == NULL && need <= STRS_CHUNK ? STRS_CHUNK :
			    2 * STRS_CHUNK;
			c = malloc(sizeof(*c) + cap);
		} else {
			cap = TGT_BIG - sizeof(*c);
			if ((c = aligned_alloc(TGT_HUGE, TGT_BIG)) != NULL)
				ev_advise_huge(c, TGT_BIG);
		}
		if (c == NULL)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = ss->tchunk;
		ss->tchunk = c;
	}
	r = c->p + c->used;
	c->used += need;
	memset(r, 0, need);
	return (struct ev_route_target *)(void *)r;
}

/*
 * Has rule (from 1) already a target whose Id is the interned s?  Marks
 * it as used by rule: a linear check per rule, not a quadratic one.
 */
static int
id_seen(struct ev_route_config *cf, const char *s, int rule)
{
	struct ev_route_strs *ss = cf->strs;
	size_t j;

	for (j = str_hash(s, strlen(s)) & (ss->cap - 1); ss->tab[j] != s;
	    j = (j + 1) & (ss->cap - 1))
		;
	if (ss->mark[j] == rule)
		return 1;
	ss->mark[j] = rule;
	return 0;
}

static char *
intern_str(struct ev_route_config *cf, const char *s)
{
	return intern(cf, s, strlen(s));
}

/* Locate err at node (or at byte offset off when node < 0) of the file. */
static int
fail(const struct where *w, int node, size_t off, struct ev_err *err)
{
	ev_rule_src_locate(w->src, node >= 0 ? w->doc->n[node].off : off,
	    err);
	return -1;
}

/* The node of member key of obj, or -1. */
static int
member(const struct where *w, int obj, const char *key)
{
	return obj >= 0 ? ev_jdoc_member(w->doc, obj, key) : -1;
}

static int opt_str_hint(const struct where *w, int obj, const char *key,
    int lax, const char **hint, char **out, struct ev_err *err);

/*
 * An optional string member copied into *out (NULL when absent or, with
 * lax, when not a string: an intrinsic function of a template).  Returns
 * 0, or -1 with err located.
 */
static int
opt_str(const struct where *w, int obj, const char *key, int lax,
    char **out, struct ev_err *err)
{
	return opt_str_hint(w, obj, key, lax, NULL, out, err);
}

/* opt_str(), *hint (when not NULL) the string it likely is. */
static int
opt_str_hint(const struct where *w, int obj, const char *key, int lax,
    const char **hint, char **out, struct ev_err *err)
{
	int m = member(w, obj, key);
	const struct ev_jnode *n;

	*out = NULL;
	if (m < 0)
		return 0;
	n = &w->doc->n[m];
	if (n->type != EV_J_STRING) {
		if (lax)
			return 0;
		ev_err_set(err, "'%s' must be a string", key);
		return fail(w, m, 0, err);
	}
	if (strlen(n->str) != n->len) {
		ev_err_set(err, "'%s' holds a NUL character", key);
		return fail(w, m, 0, err);
	}
	if (hint != NULL && *hint != NULL &&
	    strncmp(*hint, n->str, n->len) == 0 && (*hint)[n->len] == '\0') {
		*out = (char *)*hint;
		return 0;
	}
	if ((*out = intern(w->lc->cf, n->str, n->len)) == NULL) {
		ev_err_set(err, "out of memory");
		return -1;
	}
	if (hint != NULL)
		*hint = *out;
	return 0;
}

/* A whole number member in [lo, hi], or dflt when absent. */
static int
opt_int(const struct where *w, int obj, const char *key, int64_t lo,
    int64_t hi, int64_t dflt, int64_t *v, struct ev_err *err)
{
	int r;

	*v = dflt;
	if (obj < 0)
		return 0;
	ev_err_clear(err);
	r = ev_jdoc_get_int(w->doc, obj, key, 0, lo, hi, v, err);
	if (r < 0)
		return fail(w, member(w, obj, key), 0, err);
	return 0;
}

/* An optional object member: its node, or -1. */
static int
opt_obj(const struct where *w, int obj, const char *key, int *node,
    struct ev_err *err)
{
	int m = member(w, obj, key);

	*node = -1;
	if (m < 0)
		return 0;
	if (w->doc->n[m].type != EV_J_OBJECT) {
		ev_err_set(err, "'%s' must be an object", key);
		return fail(w, m, 0, err);
	}
	*node = m;
	return 0;
}

/* The JSON text of node (an intrinsic function), interned. */
static char *
node_text(const struct where *w, int node)
{
	const struct ev_jnode *n = &w->doc->n[node];
	const char *s = n->type == EV_J_OBJECT || n->type == EV_J_ARRAY ?
	    n->str : w->doc->text + n->off;
	size_t len = n->type == EV_J_OBJECT || n->type == EV_J_ARRAY ? n->len :
	    0;

	return intern(w->lc->cf, s, len);
}

/*
 * Read the target at node tn (for SAM, the event source's properties,
 * named id) into t, its shaping into the rule's shape set.
 */
static int
read_target(const struct where *w, struct ev_route_rule *r, int tn,
    const char *id, int index, struct ev_route_target *t, struct ev_err *err)
{
	struct ev_shape *sh;
	size_t erroff = 0;
	int64_t attempts, age;
	int arn, retry, dlc;

	memset(t, 0, sizeof(*t));
	t->shape = -1;
	if (w->doc->n[tn].type != EV_J_OBJECT) {
		ev_err_set(err, "a target must be an object");
		return fail(w, tn, 0, err);
	}
	ev_rule_src_locate(w->src, w->doc->n[tn].off, err);
	t->line = err->line > UINT_MAX ? UINT_MAX : (unsigned int)err->line;
	t->col = err->col > UINT_MAX ? UINT_MAX : (unsigned int)err->col;
	ev_err_clear(err);
	if (id != NULL) {
		if ((t->id = intern_str(w->lc->cf, id)) == NULL)
			goto oom;
	} else {
		if (opt_str_hint(w, tn, "Id", 0, index <= HINTS ?
		    &w->lc->hint_id[index - 1] : NULL, &t->id, err) < 0)
			return -1;
		if (t->id == NULL) {
			ev_err_set(err, "missing member 'Id'");
			return fail(w, tn, 0, err);
		}
	}
	if (w->sam) {
		/* The function or state machine that holds the event. */
		char buf[600];

		snprintf(buf, sizeof(buf), "{\"Fn::GetAtt\": [\"%s\", "
		    "\"Arn\"]}", w->doc->n[w->src->resource].key);
		t->arn_intrinsic = 1;
		if ((t->arn = intern_str(w->lc->cf, buf)) == NULL)
			goto oom;
	} else if ((arn = member(w, tn, "Arn")) < 0) {
		ev_err_set(err, "missing member 'Arn'");
		return fail(w, tn, 0, err);
	} else if (w->doc->n[arn].type == EV_J_STRING) {
		if (opt_str_hint(w, tn, "Arn", 0, index <= HINTS ?
		    &w->lc->hint_arn[index - 1] : NULL, &t->arn, err) < 0)
			return -1;
	} else if (w->doc->n[arn].type == EV_J_OBJECT) {
		t->arn_intrinsic = 1;
		if ((t->arn = node_text(w, arn)) == NULL)
			goto oom;
	} else {
		ev_err_set(err, "'Arn' must be a string");
		return fail(w, arn, 0, err);
	}
	/* EventBridge's defaults and limits (API RetryPolicy). */
	if (opt_obj(w, tn, "RetryPolicy", &retry, err) < 0 ||
	    opt_int(w, retry, "MaximumRetryAttempts", 0, 185, 185,
	    &attempts, err) < 0 ||
	    opt_int(w, retry, "MaximumEventAgeInSeconds", 60, 86400, 86400,
	    &age, err) < 0 ||
	    opt_obj(w, tn, "DeadLetterConfig", &dlc, err) < 0 ||
	    opt_str(w, dlc, "Arn", 0, &t->dlq, err) < 0)
		return -1;
	t->max_attempts = (int32_t)attempts;
	t->max_age_s = (int32_t)age;
	ev_err_clear(err);
	/* Targets without shaping have no shape to compile (-1). */
	if (member(w, tn, "Input") < 0 && member(w, tn, "InputPath") < 0 &&
	    member(w, tn, "InputTransformer") < 0) {
		t->event = 1;
		return 0;
	}
	if ((sh = ev_shape_from_target(w->doc, tn, t->id, index, &erroff,
	    err)) == NULL) {
		if (strcmp(err->msg, "out of memory") == 0)
			return -1;
		return fail(w, -1, erroff, err);
	}
	if ((t->shape = ev_shapes_add(r->shapes, sh, err)) < 0)
		return -1;
	return 0;
oom:
	ev_err_set(err, "out of memory");
	return -1;
}

/* The rule's state: 1 enabled, 0 disabled, -1 with err. */
static int
read_state(const struct where *w, struct ev_err *err)
{
	int m = member(w, w->props, "State"), en;
	const char *s;

	if (w->sam && m < 0 && (en = member(w, w->props, "Enabled")) >= 0) {
		if (w->doc->n[en].type == EV_J_TRUE)
			return 1;
		if (w->doc->n[en].type == EV_J_FALSE)
			return 0;
		ev_err_set(err, "'Enabled' must be true or false");
		return fail(w, en, 0, err);
	}
	if (m < 0)
		return 1;
	s = w->doc->n[m].type == EV_J_STRING ? w->doc->n[m].str : "";
	if (strcmp(s, "ENABLED") == 0 ||
	    strcmp(s, "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS") == 0)
		return 1;
	if (strcmp(s, "DISABLED") == 0)
		return 0;
	ev_err_set(err, "'State' must be ENABLED or DISABLED");
	return fail(w, m, 0, err);
}

/* ev_rules_load_cb() callback: one rule and its targets. */
static int
on_rule(void *vctx, const struct ev_rule_src *src, struct ev_err *err)
{
	struct load_ctx *lc = vctx;
	struct ev_route_config *cf = lc->cf;
	struct ev_route_rule *r, *tmp;
	struct where w;
	int props, tl, tn, i, k, st;
	char *name = NULL;

	if (cf->n == cf->cap) {
		int cap = cf->cap ? 2 * cf->cap : 16;

		if ((tmp = realloc(cf->r, (size_t)cap * sizeof(*tmp))) == NULL) {
			ev_err_set(err, "out of memory");
			return -1;
		}
		cf->r = tmp;
		cf->cap = cap;
	}
	r = &cf->r[cf->n];
	memset(r, 0, sizeof(*r));
	r->index = src->index;
	r->line = src->line;
	r->col = src->col;
	if ((r->shapes = ev_shapes_new()) == NULL) {
		ev_err_set(err, "out of memory");
		return -1;
	}
	cf->n++;
	memset(&w, 0, sizeof(w));
	w.lc = lc;
	w.src = src;
	w.doc = src->doc;
	w.props = -1;
	if (src->doc == NULL || src->node < 0 ||
	    src->doc->n[src->node].type != EV_J_OBJECT ||
	    (src->resource < 0 &&
	    ev_jdoc_member(src->doc, src->node, "EventPattern") < 0 &&
	    ev_jdoc_member(src->doc, src->node, "pattern") < 0)) {
		/* A bare pattern: a rule without targets. */
		if ((r->name = intern_str(cf, src->name)) == NULL)
			goto oom;
		r->enabled = 1;
		return ev_shapes_finish(r->shapes, err);
	}
	/* A template's resource or SAM event source keeps the rule's
	 * members in Properties. */
	props = ev_jdoc_member(w.doc, src->node, "Properties");
	if (src->resource >= 0 && props >= 0 &&
	    w.doc->n[props].type == EV_J_OBJECT) {
		w.props = props;
		w.sam = src->resource != src->node;
	} else {
		w.props = src->node;
	}
	if (opt_str(&w, w.props, w.sam ? "RuleName" : "Name", 1, &name,
	    err) < 0)
		return -1;
	if ((r->name = name != NULL ? name : intern_str(cf, src->name)) ==
	    NULL)
		goto oom;
	if (opt_str(&w, w.props, "Arn", 1, &r->arn, err) < 0 ||
	    opt_str(&w, w.props, "EventBusName", 1, &r->bus, err) < 0)
		return -1;
	if ((st = read_state(&w, err)) < 0)
		return -1;
	r->enabled = st;
	if (w.sam) {
		char id[600];
		const char *res = w.doc->n[src->resource].key;
		int tgt = member(&w, w.props, "Target"), type;
		char *given = NULL;

		if (tgt >= 0 && w.doc->n[tgt].type == EV_J_OBJECT &&
		    opt_str(&w, tgt, "Id", 0, &given, err) < 0)
			return -1;
		/* SAM's default target id. */
		type = member(&w, src->resource, "Type");
		snprintf(id, sizeof(id), "%s%s%s", res,
		    w.doc->n[src->node].key, type >= 0 &&
		    w.doc->n[type].type == EV_J_STRING &&
		    strcmp(w.doc->n[type].str,
		    "AWS::Serverless::StateMachine") == 0 ?
		    "StepFunctionsTarget" : "LambdaTarget");
		if ((r->t = targets_new(w.lc->cf, 1)) == NULL)
			goto oom;
		k = read_target(&w, r, w.props, given != NULL ? given : id, 1,
		    &r->t[0], err);
		r->nt = 1;
		if (k < 0)
			return -1;
		return ev_shapes_finish(r->shapes, err);
	}
	tl = member(&w, w.props, "Targets");
	if (tl >= 0 && w.doc->n[tl].type != EV_J_ARRAY) {
		ev_err_set(err, "'Targets' must be an array");
		return fail(&w, tl, 0, err);
	}
	if (tl >= 0 && w.doc->n[tl].nchild > 0) {
		r->t = targets_new(w.lc->cf, (size_t)w.doc->n[tl].nchild);
		if (r->t == NULL)
			goto oom;
		for (tn = ev_jdoc_child(w.doc, tl), i = 0; tn >= 0;
		    tn = ev_jdoc_next(w.doc, tn), i++) {
			if (read_target(&w, r, tn, NULL, i + 1, &r->t[i],
			    err) < 0) {
				r->nt = i + 1;
				return -1;
			}
			r->nt = i + 1;
			if (id_seen(cf, r->t[i].id, cf->n)) {
				ev_err_set(err, "duplicate target Id '%s'",
				    r->t[i].id);
				return fail(&w, tn, 0, err);
			}
		}
	}
	return ev_shapes_finish(r->shapes, err);
oom:
	ev_err_set(err, "out of memory");
	return -1;
}

int
ev_route_config_load(struct ev_route_config *cf, struct ev_rules *rs,
    const char *path, struct ev_err *err)
{
	struct load_ctx lc;

	memset(&lc, 0, sizeof(lc));
	lc.cf = cf;

	memset(cf, 0, sizeof(*cf));
	ev_err_clear(err);
	if (ev_rules_load_cb(rs, path, on_rule, &lc, err) < 0) {
		ev_route_config_free(cf);
		return -1;
	}
	return 0;
}

void
ev_route_config_free(struct ev_route_config *cf)
{
	int i;

	if (cf == NULL)
		return;
	for (i = 0; i < cf->n; i++) {
		struct ev_route_rule *r = &cf->r[i];

		ev_shapes_free(r->shapes);
	}
	free(cf->r);
	strs_free(cf->strs);
	memset(cf, 0, sizeof(*cf));
}
