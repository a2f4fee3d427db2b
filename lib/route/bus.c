/*
 * bus.c - evroute's bus: each event to every target of every rule it
 * matches (or of the first, file order), shaped per target, written in
 * input order per target; what a target would not get goes to its
 * dead letters.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "route.h"
#include "proc/proc.h"
#include "rules/rules.h"

/*
 * A target's part that few targets need, made when one does: a retry
 * queue (a process driver's from the start, an in-process one's at its
 * first failure), a DeadLetterConfig, a batching driver's count, dead
 * letters.  What every target keeps is 40 bytes (it was 80).
 */
struct bslow {
	struct ev_bus *b;
	const struct ev_route_rule *r;
	const struct ev_route_target *t;
	struct btarget *bt;
	struct ev_deliv *q;		/* retries, or NULL */
	struct ev_target *dlq;		/* NULL: b->dlq, else a diagnostic */
	int active;			/* on b->act */
	unsigned long dead;		/* shaped into what AWS would not take */
	unsigned long unflushed;	/* sent to a batching driver, not
					   flushed yet (without q) */
};

struct btarget {
	struct ev_target *out;		/* NULL in a dry run */
	const char *uri;		/* borrowed: cf or a map */
	struct bslow *x;		/* NULL: none needed yet */
	unsigned long ok;		/* sent at once, without q */
	int gi;				/* its shape in b->all; -1: the
					   event as it is */
};

/*
 * A rule whose targets all take the event as it is, in process, without
 * a DeadLetterConfig, gets its targets' state when it first matches (t
 * NULL until then): 10,000 such rules of 20 targets, few of which match,
 * cost no 8 MB array filled at start.  Their URIs are checked and opened
 * at start all the same.
 */
struct brule {
	const struct ev_route_rule *r;
	struct btarget *t;
	unsigned long matched;
};

struct ev_bus {
	struct ev_bus_opts o;
	const struct ev_route_config *cf;
	const struct ev_rules *rs;
	struct ev_matcher *m;
	struct brule *r;		/* cf->n, by rule index */
	size_t nt;			/* targets of every rule */
	/* the open targets, each URI once: an open-addressing table */
	struct ev_target **outs;
	size_t nouts, hcap;
	struct ev_target **hash;
	/*
	 * the URIs resolved so far by address (the configuration interns
	 * its strings, so 10,000 rules naming one file give one address):
	 * checked and opened once, without hashing the text again
	 */
	struct ucache { const char *uri; struct ev_target *out; } *seen;
	size_t *mlen;			/* each map's key length; -1: none */
	char **mcopy;			/* the maps, copied (o.maps): a rule
					   bound when it first matches reads
					   them then */
	struct ev_target *dlq, *unmatched;
	struct bslow **act;		/* targets with a scheduler at work */
	size_t nact;
	struct bslow **xs;		/* every slow part made */
	size_t nxs, xcap;
	struct ev_paths *where;		/* region, account */
	struct ev_shapes *all;		/* every rule's targets' shapes:
					   one scan per event */
	struct ev_span *vals;		/* its slots */
	int scanned;			/* vals hold the event's values */
	size_t *hits;
	struct ev_buf pay, rec, key;
	/*
	 * The events that go as they are to targets taking lines by
	 * reference (files): each written here once with its newline, and
	 * each file writes it from here at its next flush; the arena is
	 * reused once every such target has flushed.
	 */
	char *arena;
	size_t alen;
	const char *ref;		/* this event in the arena, or NULL */
	unsigned long nunmatched, ndead;
	int failed;			/* a write error was reported */
};

static int bus_dead(void *ctx, const struct ev_task *t, struct ev_err *err);

/* Real time, ms (the virtual clock of EVKIT_NOW may stand still). */
static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
nomem(struct ev_err *err)
{
	ev_err_set(err, "out of memory");
	return -1;
}

static size_t
hash_str(const char *s)
{
	size_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The target uri, opened once.  NULL with err set. */
static struct ev_target *
writer(struct ev_bus *b, const char *uri, struct ev_err *err)
{
	size_t i = hash_str(uri) & (b->hcap - 1);
	struct ev_target *o;

	while (b->hash[i] != NULL) {
		if (strcmp(ev_target_uri(b->hash[i]), uri) == 0)
			return b->hash[i];
		i = (i + 1) & (b->hcap - 1);
	}
	if ((o = ev_target_open(uri, err)) == NULL)
		return NULL;
	b->hash[i] = o;
	b->outs[b->nouts++] = o;
	return o;
}

/* The URI a map gives key, or NULL. */
static const char *
mapped(const struct ev_bus *b, const char *key, size_t klen, int *used)
{
	int i;

	for (i = 0; i < b->o.nmaps; i++) {
		if (b->mlen[i] == klen &&
		    memcmp(b->o.maps[i], key, klen) == 0) {
			if (used != NULL)
				used[i] = 1;
			return b->o.maps[i] + klen + 1;
		}
	}
	return NULL;
}

/* The cache entry of uri's address: its uri NULL when not seen yet. */
static struct ucache *
seen(struct ev_bus *b, const char *uri)
{
	size_t i = (((uintptr_t)uri >> 3) * 0x9e3779b97f4a7c15ULL) &
	    (b->hcap - 1);

	while (b->seen[i].uri != NULL && b->seen[i].uri != uri)
		i = (i + 1) & (b->hcap - 1);
	return &b->seen[i];
}

/* Locate err at target t of the rules file. */
static int
at_target(const struct ev_bus *b, const struct ev_route_target *t,
    struct ev_err *err)
{
	err->file = b->o.rules_path;
	err->line = t->line;
	err->col = t->col;
	return -1;
}

/* Target j of rule br's slow part, made if need be.  NULL: err set. */
static struct bslow *
slow(struct ev_bus *b, struct brule *br, int j, struct ev_err *err)
{
	struct btarget *bt = &br->t[j];
	struct bslow *x, **xs;

	if (bt->x != NULL)
		return bt->x;
	if (b->nxs == b->xcap) {
		size_t cap = b->xcap ? 2 * b->xcap : 16;

		if ((xs = realloc(b->xs, cap * sizeof(*xs))) == NULL) {
			nomem(err);
			return NULL;
		}
		b->xs = xs;
		b->xcap = cap;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		nomem(err);
		return NULL;
	}
	x->b = b;
	x->r = br->r;
	x->t = &br->r->t[j];
	x->bt = bt;
	b->xs[b->nxs++] = x;
	return bt->x = x;
}

/* The delivery queue (retries, dead letters) of x's target. */
static int
make_q(struct ev_bus *b, struct bslow *x, struct ev_err *err)
{
	struct ev_deliv_opts dq;

	memset(&dq, 0, sizeof(dq));
	dq.max_retries = x->t->max_attempts;
	dq.max_age_ms = (int64_t)x->t->max_age_s * 1000;
	dq.bound = b->o.bound;
	dq.dead = bus_dead;
	dq.ctx = x;
	return (x->q = ev_deliv_new(x->bt->out, &dq, err)) == NULL ? -1 : 0;
}

/*
 * The URI target t of rule r goes to: the first of RULE.ID, ID, its Arn
 * that a --target map names, the endpoint of the API destination its Arn
 * names, else its Arn.  used (when not NULL) marks the maps used.  NULL
 * when out of memory.
 */
static const char *
target_uri(const struct ev_bus *b, const struct ev_route_rule *r,
    const struct ev_route_target *t, int *used, struct ev_buf *key)
{
	const struct ev_http_dest *d;
	const char *u = NULL;

	if (b->o.nmaps > 0) {
		key->len = 0;
		if (ev_buf_add(key, r->name, strlen(r->name)) < 0 ||
		    ev_buf_add(key, ".", 1) < 0 ||
		    ev_buf_add(key, t->id, strlen(t->id)) < 0)
			return NULL;
		u = mapped(b, key->p, key->len, used);
		if (u == NULL)
			u = mapped(b, t->id, strlen(t->id), used);
		if (u == NULL)
			u = mapped(b, t->arn, strlen(t->arn), used);
	}
	if (u != NULL)
		return u;
	if ((d = ev_http_conf_dest(b->o.http, t->arn)) != NULL)
		return d->endpoint;	/* an API destination */
	return t->arn;
}

/* uri's cache entry, checked and (unless a dry run) opened once. */
static struct ucache *
open_uri(struct ev_bus *b, const struct ev_route_rule *r,
    const struct ev_route_target *t, const char *uri, struct ev_err *err)
{
	struct ucache *c = seen(b, uri);
	struct ev_err e;

	if (c->uri != NULL)
		return c;
	ev_err_clear(&e);
	if (ev_uri_check(uri, &e) < 0) {
		ev_err_set(err, "target '%s' of rule '%s': %s", t->id,
		    r->name, e.msg);
		at_target(b, t, err);
		return NULL;
	}
	if (!b->o.dry_run && (c->out = writer(b, uri, err)) == NULL)
		return NULL;
	c->uri = uri;
	return c;
}

/*
 * Whether target t, going to c, needs nothing of its own at start (see
 * struct brule): it takes the event as it is, in process, and has no
 * DeadLetterConfig.
 */
static int
plain(const struct ev_bus *b, const struct ev_route_target *t,
    const struct ucache *c)
{
	const struct ev_target_driver *d;

	if (!t->event || t->dlq != NULL)
		return 0;
	if (b->o.dry_run)
		return 1;
	d = ev_target_driver(c->out);
	return d->send != NULL && d->sched == NULL && !d->batched;
}

/* Target j of rule br: its URI, writer, queue, DeadLetterConfig. */
static int
resolve(struct ev_bus *b, struct brule *br, int j, int *used,
    struct ev_err *err)
{
	const struct ev_route_rule *r = br->r;
	const struct ev_route_target *t = &r->t[j];
	struct btarget *bt = &br->t[j];
	const char *u;
	struct ucache *c;
	struct bslow *x;
	struct ev_err e;
	struct ev_target *dlq;

	if ((bt->uri = target_uri(b, r, t, used, &b->key)) == NULL)
		return nomem(err);
	if ((c = open_uri(b, r, t, bt->uri, err)) == NULL)
		return -1;
	if (!b->o.dry_run) {
		bt->out = c->out;
		if (ev_target_driver(bt->out)->sched != NULL) {
			if ((x = slow(b, br, j, err)) == NULL ||
			    make_q(b, x, err) < 0)
				return -1;
			x->active = 1;
			b->act[b->nact++] = x;
		} else if (ev_target_driver(bt->out)->batched &&
		    slow(b, br, j, err) == NULL)
			return -1;
	}
	if (t->dlq == NULL)
		return 0;
	u = mapped(b, t->dlq, strlen(t->dlq), used);
	if (u == NULL)
		u = t->dlq;
	if (ev_uri_kind(u, &(const char *){ NULL }) == EV_URI_AWS &&
	    b->o.dlq != NULL)
		return 0;	/* an AWS queue: --dlq stands in for it */
	ev_err_clear(&e);
	if (ev_uri_check(u, &e) < 0) {
		ev_err_set(err, "DeadLetterConfig of target '%s' of rule "
		    "'%s': %s", t->id, r->name, e.msg);
		return at_target(b, t, err);
	}
	if (b->o.dry_run)
		return 0;
	if ((dlq = writer(b, u, err)) == NULL)
		return -1;
	if (ev_target_driver(dlq)->send == NULL) {
		ev_err_set(err, "DeadLetterConfig of target '%s' of rule "
		    "'%s': '%s': %s: targets cannot take dead letters", t->id,
		    r->name, u, ev_target_driver(dlq)->kind);
		return at_target(b, t, err);
	}
	if ((x = slow(b, br, j, err)) == NULL)
		return -1;
	x->dlq = dlq;
	return 0;
}

/*
 * Give rule br's targets their state (br->t), with their shapes' places
 * in b->all when all is not NULL (at start; a rule bound later has plain
 * targets only).  0, or -1 with err.
 */
static int
bind_rule(struct ev_bus *b, struct brule *br, int *used,
    struct ev_shapes *all, struct ev_err *err)
{
	const struct ev_route_rule *r = br->r;
	const struct ev_shape *sh;
	int j;

	if ((br->t = calloc((size_t)r->nt + 1, sizeof(*br->t))) == NULL)
		return nomem(err);
	for (j = 0; j < r->nt; j++) {
		br->t[j].gi = -1;
		if (resolve(b, br, j, used, err) < 0)
			return -1;
		if (all == NULL || r->t[j].event)
			continue;
		sh = ev_shapes_get(r->shapes, r->t[j].shape);
		/* the event as it is: nothing to scan or apply */
		if (ev_shape_kind(sh) != EV_SHAPE_EVENT &&
		    (br->t[j].gi = ev_shapes_add(all, (struct ev_shape *)sh,
		    err)) < 0)
			return -1;
	}
	return 0;
}

/*
 * At start: check and open rule br's targets; bind them now unless they
 * are all plain.  0, or -1 with err.
 */
static int
start_rule(struct ev_bus *b, struct brule *br, int *used, struct ev_err *err)
{
	const struct ev_route_rule *r = br->r;
	const char *uri;
	struct ucache *c;
	int j;

	for (j = 0; j < r->nt; j++) {
		const struct ev_route_target *t = &r->t[j];

		if ((uri = target_uri(b, r, t, used, &b->key)) == NULL)
			return nomem(err);
		if ((c = open_uri(b, r, t, uri, err)) == NULL)
			return -1;
		if (!plain(b, t, c))
			return bind_rule(b, br, used, b->all, err);
	}
	return 0;
}

/* Copy o's maps into b (one allocation).  0, or -1 with err. */
static int
copy_maps(struct ev_bus *b, const struct ev_bus_opts *o, struct ev_err *err)
{
	size_t size = (size_t)(o->nmaps + 1) * sizeof(char *), n;
	char *p;
	int i;

	for (i = 0; i < o->nmaps; i++)
		size += strlen(o->maps[i]) + 1;
	if ((b->mcopy = malloc(size)) == NULL)
		return nomem(err);
	p = (char *)(b->mcopy + o->nmaps + 1);
	for (i = 0; i < o->nmaps; i++) {
		n = strlen(o->maps[i]) + 1;
		b->mcopy[i] = memcpy(p, o->maps[i], n);
		p += n;
	}
	b->mcopy[o->nmaps] = NULL;
	b->o.maps = (const char *const *)b->mcopy;
	return 0;
}

struct ev_bus *
ev_bus_new(const struct ev_route_config *cf, const struct ev_rules *rs,
    const struct ev_bus_opts *o, struct ev_err *err)
{
	static const char *const where[] = { "region", "account" };
	struct ev_bus *b = calloc(1, sizeof(*b));
	int i, *used = NULL, slots = 0;

	if (b == NULL) {
		nomem(err);
		return NULL;
	}
	b->o = *o;
	ev_http_use(o->http);	/* before the http targets open */
	b->cf = cf;
	b->rs = rs;
	for (i = 0; i < cf->n; i++)
		b->nt += (size_t)cf->r[i].nt;
	for (b->hcap = 16; b->hcap < 4 * (b->nt + 2); b->hcap *= 2)
		;
	if ((b->m = ev_matcher_new(rs)) == NULL ||
	    (b->r = calloc((size_t)cf->n + 1, sizeof(*b->r))) == NULL ||
	    (b->outs = calloc(b->nt * 2 + 2, sizeof(*b->outs))) == NULL ||
	    (b->act = calloc(b->nt + 1, sizeof(*b->act))) == NULL ||
	    (b->hash = calloc(b->hcap, sizeof(*b->hash))) == NULL ||
	    (b->seen = calloc(b->hcap, sizeof(*b->seen))) == NULL ||
	    (b->mlen = calloc((size_t)o->nmaps + 1, sizeof(*b->mlen))) ==
	    NULL ||
	    (b->all = ev_shapes_new_borrowed()) == NULL ||
	    (b->hits = calloc((size_t)cf->n + 1, sizeof(*b->hits))) == NULL ||
	    (used = calloc((size_t)o->nmaps + 1, sizeof(int))) == NULL ||
	    (b->where = ev_paths_compile(where, 2, err)) == NULL) {
		if (b->where == NULL && err->msg[0] == '\0')
			nomem(err);
		else if (b->where != NULL)
			nomem(err);
		goto fail;
	}
	if (copy_maps(b, o, err) < 0)
		goto fail;
	for (i = 0; i < o->nmaps; i++) {
		const char *eq = strchr(o->maps[i], '=');

		b->mlen[i] = eq != NULL ? (size_t)(eq - o->maps[i]) :
		    (size_t)-1;
	}
	for (i = 0; i < cf->n; i++) {
		b->r[i].r = &cf->r[i];
		if (cf->r[i].enabled && start_rule(b, &b->r[i], used, err) < 0)
			goto fail;
	}
	if (ev_shapes_finish(b->all, err) < 0)
		goto fail;
	slots = ev_shapes_nslots(b->all);
	if ((b->vals = calloc((size_t)slots + 1, sizeof(*b->vals))) == NULL) {
		nomem(err);
		goto fail;
	}
	for (i = 0; i < o->nmaps; i++) {
		if (!used[i]) {
			ev_err_set(err, "--target '%s': no target or dead-"
			    "letter queue has that name", o->maps[i]);
			goto fail;
		}
	}
	if (!o->dry_run && o->dlq != NULL &&
	    (b->dlq = writer(b, o->dlq, err)) == NULL)
		goto fail;
	if (!o->dry_run && o->unmatched != NULL &&
	    (b->unmatched = writer(b, o->unmatched, err)) == NULL)
		goto fail;
	free(used);
	return b;
fail:
	free(used);
	ev_bus_free(b, NULL);
	return NULL;
}

int
ev_bus_check_inputs(const struct ev_bus *b, const struct stat *st,
    const char *const *names, int n, struct ev_err *err)
{
	size_t i;
	int j;

	for (i = 0; i < b->nouts; i++) {
		const struct stat *o = ev_target_stat(b->outs[i]);

		if (o == NULL || !S_ISREG(o->st_mode))
			continue;
		for (j = 0; j < n; j++) {
			if (S_ISREG(st[j].st_mode) &&
			    st[j].st_dev == o->st_dev &&
			    st[j].st_ino == o->st_ino) {
				ev_err_set(err, "%s: input file is also target "
				    "'%s'", names[j],
				    ev_target_uri(b->outs[i]));
				return -1;
			}
		}
	}
	return 0;
}

/* The URI of target j of rule br (NULL: a DISABLED rule's). */
static const char *
uri_at(const struct ev_bus *b, const struct brule *br, int j)
{
	struct ev_buf key = { NULL, 0, 0 };
	const char *u;

	if (br->t != NULL)
		return br->t[j].uri;
	if (!br->r->enabled)
		return NULL;
	u = target_uri(b, br->r, &br->r->t[j], NULL, &key);
	ev_buf_free(&key);
	return u;
}

void
ev_bus_report(const struct ev_bus *b)
{
	const struct ev_route_config *c = b->cf;
	int i, j;

	for (i = 0; i < c->n; i++) {
		for (j = 0; j < c->r[i].nt; j++) {
			ev_out_name(c->r[i].name);
			ev_out_write("\t", 1);
			ev_out_name(c->r[i].t[j].id);
			ev_out_write("\t", 1);
			if (c->r[i].enabled)
				ev_out_name(uri_at(b, &b->r[i], j));
			else
				ev_out_str("DISABLED");
			ev_out_write("\n", 1);
		}
	}
}

int
ev_bus_refuse_inputs(const struct ev_bus *b, char *const *files, int n,
    const char *rules, const char *rej, struct ev_err *err)
{
	struct stat *st = calloc((size_t)n + 2, sizeof(*st));
	const char **names = calloc((size_t)n + 2, sizeof(*names));
	struct ev_err e;
	const char *t;
	int i, k = 0, r = 0;

	if (st == NULL || names == NULL) {
		r = nomem(err);
		goto out;
	}
	if (stat(rules, &st[k]) == 0)
		names[k++] = rules;
	for (i = 0; i <= n; i++) {
		const char *f = i < n ? files[i] : n == 0 ? "-" : NULL;

		if (f == NULL)
			break;
		if (strcmp(f, "-") == 0) {
			if (fstat(0, &st[k]) == 0)
				names[k++] = "<stdin>";
		} else if (stat(f, &st[k]) == 0)
			names[k++] = f;
	}
	if (ev_bus_check_inputs(b, st, names, k, err) < 0) {
		r = -1;
		goto out;
	}
	/* The bus has opened its files: a reject file that is one exists. */
	ev_err_clear(&e);
	if (rej != NULL && stat(rej, &st[0]) == 0 &&
	    ev_bus_check_inputs(b, st, &rej, 1, &e) < 0) {
		t = strstr(e.msg, " target '");
		ev_err_set(err, "%s: reject file is also%s", rej, t != NULL ?
		    t : " a target");
		r = -1;
	}
out:
	free(st);
	free(names);
	return r;
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* A string member: ,"key":"text" (with ev_json_quote()). */
static int
jstr(struct ev_buf *o, const char *key, const char *s)
{
	return ev_buf_add(o, ",\"", 2) < 0 ||
	    ev_buf_add(o, key, strlen(key)) < 0 ||
	    ev_buf_add(o, "\":", 2) < 0 ||
	    ev_json_quote(o, s, strlen(s)) < 0 ? -1 : 0;
}

/* The rule's ARN, as the shape context would make it, into out. */
static int
rule_arn(struct ev_bus *b, const struct ev_route_rule *r, const char *line,
    size_t len, struct ev_buf *out)
{
	struct ev_span v[2];
	struct ev_err e;
	int i;

	if (r->arn != NULL)
		return ev_buf_add(out, r->arn, strlen(r->arn));
	memset(v, 0, sizeof(v));
	ev_err_clear(&e);
	ev_paths_get(b->where, line, len, v, &e);
	for (i = 0; i < 2; i++) {
		if (v[i].p != NULL && v[i].len >= 2 && v[i].p[0] == '"') {
			v[i].p++;
			v[i].len -= 2;
		} else {
			v[i].p = "";
			v[i].len = 0;
		}
	}
	return ev_route_rule_arn(v[0].p, v[0].len, v[1].p, v[1].len, r->bus,
	    r->name, out);
}

/*
 * The dead-letter record of delivery t to target bt (t->event the event,
 * t->payload the payload), to bt's DeadLetterConfig or --dlq, else a
 * diagnostic.
 */
static int
write_dead(struct ev_bus *b, struct bslow *x, const struct ev_task *t0,
    struct ev_err *err)
{
	struct ev_target *o = x->dlq != NULL ? x->dlq : b->dlq;
	struct ev_buf arn = { NULL, 0, 0 };
	char msg[EV_STDERR_TAIL + 1];
	struct ev_send_fail f;
	struct ev_task t = *t0;
	enum ev_send r;

	b->ndead++;
	if (t.message == NULL) {
		memcpy(msg, t.errtail, t.errlen);
		msg[t.errlen] = '\0';
		t.message = msg;
	}
	if (o == NULL) {
		ev_warnx("%s:%lu: rule '%s' target '%s': %s: %s", t.file,
		    t.lineno, x->r->name, x->t->id,
		    strcmp(t.name, "INVALID_PAYLOAD") == 0 ? "undeliverable" :
		    t.name, t.message[0] ? t.message : t.exhausted);
		return 0;
	}
	t.target_arn = x->t->arn;
	if (t.payload == NULL)
		t.payload = "";
	b->rec.len = 0;
	if (rule_arn(b, x->r, t.event, t.len, &arn) < 0 ||
	    ev_buf_add(&arn, "", 1) < 0) {
		ev_buf_free(&arn);
		return nomem(err);
	}
	t.rule_arn = arn.p;
	if (ev_dlq_record(&b->rec, &t) < 0) {
		ev_buf_free(&arn);
		return nomem(err);
	}
	ev_buf_free(&arn);
	/* the record ends with a newline: send it as a line without */
	r = ev_target_send(o, b->rec.p, b->rec.len - 1, &f, err);
	if (r == EV_SEND_OK)
		return 0;
	if (r != EV_SEND_ERROR)
		ev_err_set(err, "dead-letter target '%s' failed: %s: %s",
		    ev_target_uri(o), f.name, f.msg);
	b->failed = 1;
	return -1;
}

/* A delivery failed for good (ev_deliv_opts.dead). */
static int
bus_dead(void *ctx, const struct ev_task *t, struct ev_err *err)
{
	struct bslow *x = ctx;

	return write_dead(x->b, x, t, err);
}

/* Dead-letter the payload in b->pay that target x would not take. */
static enum ev_bus_res
dead_letter(struct ev_bus *b, struct bslow *x, const char *file,
    unsigned long lineno, const char *line, size_t len, int64_t now,
    const char *why, struct ev_err *err)
{
	struct ev_task t;

	x->dead++;
	memset(&t, 0, sizeof(t));
	t.event = line;
	t.len = len;
	t.file = file;
	t.lineno = lineno;
	snprintf(t.name, sizeof(t.name), "INVALID_PAYLOAD");
	t.exhausted = "NotRetryable";
	t.attempts = 1;
	t.first_ms = t.last_ms = now;
	t.payload = b->pay.p != NULL ? b->pay.p : "";
	t.paylen = b->pay.len;
	t.message = why;
	return write_dead(b, x, &t, err) < 0 ? EV_BUS_FAIL : EV_BUS_OK;
}

/* A failed send: stdout gone quietly stops, anything else is fatal. */
static enum ev_bus_res
send_failed(struct ev_bus *b, struct ev_target *o, struct ev_err *err)
{
	if (err->errnum == EPIPE && strcmp(ev_target_uri(o), "-") == 0)
		return EV_BUS_STOP;
	if (err->msg[0] == '\0')
		nomem(err);
	b->failed = 1;
	return EV_BUS_FAIL;
}

/*
 * Flush every target (a store commits), or (refs) those that take lines
 * by reference only; then the arena is free.  Batched deliveries count.
 */
static int
flush_some(struct ev_bus *b, int refs, struct ev_err *err)
{
	size_t i;

	for (i = 0; i < b->nouts; i++) {
		if (refs && !ev_target_takes_ref(b->outs[i]))
			continue;
		ev_err_clear(err);
		if (ev_target_flush(b->outs[i], err) < 0) {
			if (send_failed(b, b->outs[i], err) == EV_BUS_FAIL)
				return -1;
		}
	}
	b->alen = 0;
	b->ref = NULL;
	if (refs)
		return 0;
	for (i = 0; i < b->nxs; i++) {
		b->xs[i]->bt->ok += b->xs[i]->unflushed;
		b->xs[i]->unflushed = 0;
		if (b->xs[i]->q != NULL)
			ev_deliv_flushed(b->xs[i]->q);
	}
	return 0;
}

static int
flush_outs(struct ev_bus *b, struct ev_err *err)
{
	return flush_some(b, 0, err);
}

#define ARENA (256 * 1024)

/*
 * Put the event line[0..len) and a newline in the arena (b->ref), once
 * per event; b->ref stays NULL for a line too long for it.  0, or -1
 * with err.
 */
static int
to_arena(struct ev_bus *b, const char *line, size_t len, struct ev_err *err)
{
	if (len + 1 > ARENA)
		return 0;
	if (b->arena == NULL && (b->arena = malloc(ARENA)) == NULL)
		return nomem(err);
	if (b->alen + len + 1 > ARENA && flush_some(b, 1, err) < 0)
		return -1;
	memcpy(b->arena + b->alen, line, len);
	b->arena[b->alen + len] = '\n';
	b->ref = b->arena + b->alen;
	b->alen += len + 1;
	return 0;
}

/*
 * Turn the schedulers of the targets at work: one pass each without
 * waiting (wait_for NULL), or, until wait_for has room, up to 20ms for it
 * and a pass for each other one in turn (backpressure: the input is not
 * read meanwhile).
 */
static int
turn(struct ev_bus *b, struct bslow *wait_for, struct ev_err *err)
{
	size_t i, j;

	/* the others get what they have before evroute waits */
	if (wait_for != NULL && flush_outs(b, err) < 0)
		return -1;
	do {
		for (i = 0; i < b->nact; i++) {
			struct bslow *x = b->act[i];

			if (ev_deliv_run(x->q, x == wait_for ? 20 : 0,
			    err) < 0)
				return -1;
		}
		/* the in-process ones whose retries are all done leave */
		for (i = j = 0; i < b->nact; i++) {
			if (ev_target_driver(b->act[i]->bt->out)->sched ==
			    NULL &&
			    ev_deliv_pending(b->act[i]->q) == 0)
				b->act[i]->active = 0;
			else
				b->act[j++] = b->act[i];
		}
		b->nact = j;
		if (wait_for != NULL && ev_stop_count() > 0)
			break;
	} while (wait_for != NULL && ev_deliv_full(wait_for->q));
	return 0;
}

static void
dry_line(const char *file, unsigned long lineno, const char *rule,
    const char *id, const struct btarget *bt, const char *why,
    struct ev_buf *o)
{
	char tmp[64];

	o->len = 0;
	ev_buf_add(o, "{\"source\":", 10);
	ev_json_quote(o, file, strlen(file));
	snprintf(tmp, sizeof(tmp), ",\"line\":%lu", lineno);
	ev_buf_add(o, tmp, strlen(tmp));
	if (rule == NULL) {
		ev_buf_add(o, ",\"rule\":null", 12);
	} else {
		jstr(o, "rule", rule);
		jstr(o, "target", id);
		jstr(o, "uri", bt->uri);
		if (why != NULL)
			jstr(o, "undeliverable", why);
	}
	ev_buf_add(o, "}", 1);
	ev_out_line(o->p, o->len);
}

/* Route the event to rule ri's targets. */
static enum ev_bus_res
route_rule(struct ev_bus *b, size_t ri, const char *file,
    unsigned long lineno, const char *line, size_t len, int64_t now,
    struct ev_err *err)
{
	struct brule *br = &b->r[ri];
	const struct ev_route_rule *r = br->r;
	struct ev_shape_ctx ctx = { r->name, r->arn, r->bus, now };
	enum ev_bus_res res;
	int j, s;

	br->matched++;
	if (br->t == NULL && bind_rule(b, br, NULL, NULL, err) < 0)
		return EV_BUS_FAIL;
	/* one scan for every matched rule's targets' paths */
	if (!b->scanned && ev_shapes_nslots(r->shapes) > 0) {
		if (ev_shapes_scan(b->all, line, len, b->vals, err) < 0)
			return EV_BUS_BAD;
		b->scanned = 1;
	}
	for (j = 0; j < r->nt; j++) {
		struct btarget *bt = &br->t[j];
		struct bslow *x = bt->x;
		const char *p = line;
		size_t n = len;

		err->msg[0] = '\0';
		b->pay.len = 0;
		s = 0;
		if (bt->gi >= 0) {	/* shaped: not the event as it is */
			s = ev_shapes_apply(b->all, bt->gi, line, len,
			    b->vals, &ctx, EV_SHAPE_LINE, &b->pay, err);
			if (s < 0) {
				if (err->msg[0] == '\0')
					nomem(err);
				return EV_BUS_BAD;
			}
			p = b->pay.p != NULL ? b->pay.p : "";
			n = b->pay.len;
		}
		if (b->o.dry_run) {
			dry_line(file, lineno, r->name, r->t[j].id, bt,
			    s == EV_SHAPE_UNDELIVERABLE ? err->msg : NULL,
			    &b->rec);
			if (ev_out_closed())
				return EV_BUS_STOP;
			continue;
		}
		if (s == EV_SHAPE_UNDELIVERABLE) {
			char why[sizeof(err->msg)];

			memcpy(why, err->msg, sizeof(why));
			if (x == NULL && (x = slow(b, br, j, err)) == NULL)
				return EV_BUS_FAIL;
			res = dead_letter(b, x, file, lineno, line, len,
			    now, why, err);
			if (res != EV_BUS_OK)
				return res;
			continue;
		}
		ev_err_clear(err);
		if (x == NULL || x->q == NULL) {
			/* an in-process target, no failure yet: at once */
			struct ev_send_fail f;
			enum ev_send sr;

			f.name[0] = f.msg[0] = '\0';
			if (bt->gi < 0 && ev_target_takes_ref(bt->out) &&
			    (b->ref != NULL || len + 1 <= ARENA)) {
				if (b->ref == NULL &&
				    to_arena(b, line, len, err) < 0)
					return EV_BUS_FAIL;
				sr = ev_target_send_ref(bt->out, b->ref,
				    len + 1, err);
			} else
				sr = ev_target_send(bt->out, p, n, &f, err);

			if (sr == EV_SEND_OK) {
				/* a batching driver's x is made at start */
				if (ev_target_driver(bt->out)->batched)
					x->unflushed++;
				else
					bt->ok++;
				continue;
			}
			if (sr == EV_SEND_ERROR ||
			    (x == NULL && (x = slow(b, br, j, err)) == NULL) ||
			    make_q(b, x, err) < 0 ||
			    ev_deliv_failed(x->q, line, len, p, n, file,
			    lineno, sr, &f, err) < 0)
				return send_failed(b, bt->out, err);
		} else {
			if (ev_deliv_full(x->q) && turn(b, x, err) < 0)
				return EV_BUS_FAIL;
			if (ev_deliv_send(x->q, line, len, p, n, file, lineno,
			    err) < 0)
				return send_failed(b, bt->out, err);
		}
		if (!x->active && ev_deliv_pending(x->q) > 0) {
			x->active = 1;
			b->act[b->nact++] = x;
		}
	}
	return EV_BUS_OK;
}

int
ev_bus_match(const struct ev_bus *b, struct ev_matcher *m, const char *line,
    size_t len, size_t *out, size_t max, struct ev_err *err)
{
	const size_t *hits;
	size_t nhits, i, n = 0, first = (size_t)-1;
	int sorted = 1;

	if (ev_match(m, line, len, EV_MATCH_ALL, err) < 0)
		return -1;
	hits = ev_matched(m, &nhits);
	if (b->o.first_match) {
		for (i = 0; i < nhits; i++)
			if (b->cf->r[hits[i]].enabled && hits[i] < first)
				first = hits[i];
		if (first == (size_t)-1)
			return 0;
		if (max > 0)
			out[0] = first;
		return 1;
	}
	for (i = 0; i < nhits; i++) {
		if (!b->cf->r[hits[i]].enabled)
			continue;
		if (n < max) {
			if (n > 0 && hits[i] < out[n - 1])
				sorted = 0;
			out[n] = hits[i];
		}
		n++;
	}
	if (!sorted && n <= max)
		qsort(out, n, sizeof(*out), cmp_size);
	return (int)n;
}

enum ev_bus_res
ev_bus_route(struct ev_bus *b, const char *file, unsigned long lineno,
    const char *line, size_t len, const size_t *hits, size_t n, int64_t now,
    struct ev_err *err)
{
	enum ev_bus_res res;
	size_t i;

	if (n == 0) {
		b->nunmatched++;
		if (b->o.dry_run) {
			dry_line(file, lineno, NULL, NULL, NULL, NULL,
			    &b->rec);
			return ev_out_closed() ? EV_BUS_STOP : EV_BUS_OK;
		}
		if (b->unmatched != NULL) {
			struct ev_send_fail f;

			ev_err_clear(err);
			if (ev_target_send(b->unmatched, line, len, &f, err) !=
			    EV_SEND_OK)
				return send_failed(b, b->unmatched, err);
		}
		return EV_BUS_OK;
	}
	b->scanned = 0;
	b->ref = NULL;
	for (i = 0; i < n; i++) {
		res = route_rule(b, hits[i], file, lineno, line, len, now,
		    err);
		if (res != EV_BUS_OK)
			return res;
	}
	if (b->nact > 0 && turn(b, NULL, err) < 0)
		return EV_BUS_FAIL;
	return EV_BUS_OK;
}

enum ev_bus_res
ev_bus_event(struct ev_bus *b, const char *file, unsigned long lineno,
    const char *line, size_t len, int64_t now, struct ev_err *err)
{
	int n = ev_bus_match(b, b->m, line, len, b->hits,
	    (size_t)b->cf->n + 1, err);

	if (n < 0)
		return EV_BUS_BAD;
	return ev_bus_route(b, file, lineno, line, len, b->hits, (size_t)n,
	    now, err);
}

const char *
ev_bus_uri(const struct ev_bus *b, int i, int j)
{
	return uri_at(b, &b->r[i], j);
}

unsigned long
ev_bus_unmatched(const struct ev_bus *b)
{
	return b->nunmatched;
}

unsigned long
ev_bus_dead(const struct ev_bus *b)
{
	return b->ndead;
}

int
ev_bus_stats(const struct ev_bus *b, struct ev_buf *o)
{
	char tmp[128];
	int i, j, r = 0;
	unsigned long d, r0, x;

	r |= ev_buf_add(o, "{\"rules\":[", 10);
	for (i = 0; i < b->cf->n; i++) {
		const struct brule *br = &b->r[i];

		r |= ev_buf_add(o, i ? ",{\"rule\":" : "{\"rule\":", i ? 9 : 8);
		r |= ev_json_quote(o, br->r->name, strlen(br->r->name));
		snprintf(tmp, sizeof(tmp), ",\"matched\":%lu,\"targets\":[",
		    br->matched);
		r |= ev_buf_add(o, tmp, strlen(tmp));
		for (j = 0; j < br->r->nt; j++) {
			const struct btarget *bt = br->t != NULL ? &br->t[j] :
			    NULL;
			const char *uri = uri_at(b, br, j);

			r |= ev_buf_add(o, j ? ",{\"id\":" : "{\"id\":",
			    j ? 7 : 6);
			r |= ev_json_quote(o, br->r->t[j].id,
			    strlen(br->r->t[j].id));
			if (uri != NULL)
				r |= jstr(o, "uri", uri);
			d = r0 = x = 0;
			if (bt != NULL && bt->x != NULL && bt->x->q != NULL)
				ev_deliv_counts(bt->x->q, &d, &r0, &x);
			if (bt != NULL && bt->x != NULL)
				x += bt->x->dead;
			snprintf(tmp, sizeof(tmp), ",\"delivered\":%lu,"
			    "\"retried\":%lu,\"deadLettered\":%lu}",
			    d + (bt != NULL ? bt->ok : 0), r0, x);
			r |= ev_buf_add(o, tmp, strlen(tmp));
		}
		r |= ev_buf_add(o, "]}", 2);
	}
	snprintf(tmp, sizeof(tmp), "],\"unmatched\":%lu}\n", b->nunmatched);
	r |= ev_buf_add(o, tmp, strlen(tmp));
	return r ? -1 : 0;
}

int
ev_bus_flush(struct ev_bus *b, struct ev_err *err)
{
	size_t i;

	int64_t t0 = mono_ms();

	/*
	 * What is being attempted may end first (its processes' answers),
	 * for 100ms at most: a stalled target does not stop the reading.
	 */
	while (!b->o.dry_run && ev_stop_count() == 0 &&
	    mono_ms() - t0 < 100) {
		int busy = 0;

		for (i = 0; i < b->nact; i++)
			busy |= ev_deliv_busy(b->act[i]->q);
		if (!busy)
			break;
		for (i = 0; i < b->nact; i++)
			if (ev_deliv_run(b->act[i]->q, 20, err) < 0)
				return -1;
	}
	return flush_outs(b, err);
}

int
ev_bus_drain(struct ev_bus *b, struct ev_err *err)
{
	size_t i;
	int left;

	do {
		left = 0;
		for (i = 0; i < b->nact; i++) {
			if (ev_deliv_run(b->act[i]->q, 50, err) < 0)
				return -1;
			if (ev_stop_count() > 0 &&
			    ev_deliv_stop(b->act[i]->q, err) < 0)
				return -1;
			left |= ev_deliv_pending(b->act[i]->q) > 0;
		}
	} while (left);
	return ev_bus_flush(b, err);
}

int
ev_bus_free(struct ev_bus *b, struct ev_err *err)
{
	size_t i;
	int r = 0;
	struct ev_err e;

	if (b == NULL)
		return 0;
	for (i = 0; i < b->nxs; i++) {
		ev_deliv_free(b->xs[i]->q);
		free(b->xs[i]);
	}
	for (i = 0; i < b->nouts; i++) {
		ev_err_clear(&e);
		if (ev_target_close(b->outs[i], err ? &e : NULL) < 0 &&
		    r == 0 && !b->failed) {
			*err = e;
			r = -1;
		}
	}
	ev_matcher_free(b->m);
	ev_paths_free(b->where);
	ev_shapes_free(b->all);
	ev_buf_free(&b->pay);
	ev_buf_free(&b->rec);
	ev_buf_free(&b->key);
	free(b->arena);		/* after the targets' last writes */
	for (i = 0; b->r != NULL && i < (size_t)b->cf->n; i++)
		free(b->r[i].t);
	free(b->outs);
	free(b->act);
	free(b->xs);
	free(b->hash);
	free(b->seen);
	free(b->mlen);
	free(b->mcopy);
	free(b->vals);
	free(b->hits);
	free(b->r);
	free(b);
	return r;
}
