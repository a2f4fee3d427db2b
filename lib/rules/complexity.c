/*
 * complexity.c - EventBridge's "Rule is too complex" check for wildcards.
 *
 * EventBridge refuses a rule whose wildcard patterns are too costly to
 * match.  The measure is event-ruler's MachineComplexityEvaluator run on a
 * machine that holds the rule's sub-rules that have a wildcard (event-
 * ruler's README, "limiting machine complexity", strategy 2, with a limit
 * of 10).  The evaluator walks each field's byte machine as a DFA over
 * sets of NFA states and, for every set reachable by some input, adds up
 * over its states the number of wildcard patterns each state can still
 * reach; the score is the largest such sum over every byte machine.  It
 * grows with the wildcards of one field that can be alive at once: "*a*"
 * scores 3, "*a*a*a*a*a" 10, "*a*a*a*a*a*" 11.
 *
 * This file rebuilds those numbers from evkit's compiled conditions:
 *
 *  - Byte machines.  event-ruler keeps one byte machine per field name in
 *    each name state; a sub-rule walks its fields in path order, and every
 *    value condition leads to a next name state (an existing one when the
 *    same condition is already in that machine, else the one the field's
 *    earlier conditions led to, else a new one).  exists:false goes
 *    through a name matcher instead, and the evaluator never follows it.
 *
 *  - The NFA of a field's wildcards, built as ByteMachine builds it: the
 *    value is the JSON string with its quotes; each character gets a state,
 *    a '*' a state with a transition on every byte to itself, and the
 *    character after a '*' is also reachable from the state before it (the
 *    star may match nothing).  A new path reuses the states of an earlier
 *    one of the same field while event-ruler would (canReuseNextByteState:
 *    always before the first star; after it on a star, on a UTF-8
 *    continuation byte, or on a character without case when no other star
 *    leaves the state).  The values of one anything-but wildcard list are
 *    one pattern.
 *
 *  - The evaluator's walk: breadth-first over the state sets reached from
 *    the start state, one step per byte that occurs in the patterns plus
 *    one for every other byte.  A set's score is, for each state in it, the
 *    patterns reachable from it, plus those reachable from the targets of
 *    its all-bytes transitions that are not in the set.  The walk stops at
 *    the cap.
 *
 * The result was checked against event-ruler 337e8d99 on a few thousand
 * random wildcard lists (see doc/event-ruler-semantics.md).  Reading and
 * reconstruction only; no code was copied.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "json/json_int.h"
#include "pattern_int.h"

/*
 * A walk that visits more state sets than this (or 16 per NFA state, if
 * more) gives up and reports the cap: a set holds at most cap states, so
 * a field whose walk is that long is most likely too complex anyway.
 */
#define MAX_SETS 20000

/* ------------------------------------------------------------- the NFA */

struct edge {
	int byte;		/* 0..255 */
	int to;
};

struct nstate {
	struct edge *e;		/* byte transitions */
	size_t ne, cape;
	int *all;		/* all-bytes transitions */
	size_t nall, capall;
	int indet;		/* reached through a star */
	int match;		/* a match of pattern id match - 1, or 0 */
};

struct nfa {
	struct nstate *s;
	size_t n, cap;
	int npat;
	int *mstate;		/* per pattern id: its match state, or -1 */
	size_t capm;
	unsigned char used[256];	/* bytes that occur */
};

static int
nfa_new(struct nfa *a, int indet)
{
	ev_grow(&a->s, &a->cap, a->n + 1, sizeof(*a->s));
	memset(&a->s[a->n], 0, sizeof(a->s[a->n]));
	a->s[a->n].indet = indet;
	return (int)a->n++;
}

static void
add_edge(struct nfa *a, int from, int byte, int to)
{
	struct nstate *s = &a->s[from];
	size_t i;

	for (i = 0; i < s->ne; i++)
		if (s->e[i].byte == byte && s->e[i].to == to)
			return;
	ev_grow(&s->e, &s->cape, s->ne + 1, sizeof(*s->e));
	s->e[s->ne].byte = byte;
	s->e[s->ne++].to = to;
	a->used[byte] = 1;
}

static void
add_all(struct nfa *a, int from, int to)
{
	struct nstate *s = &a->s[from];

	ev_grow(&s->all, &s->capall, s->nall + 1, sizeof(*s->all));
	s->all[s->nall++] = to;
}

/* One character of a wildcard value: a byte, or a star (-1). */
static size_t
wild_chars(const char *p, size_t n, int *out)
{
	size_t i, k = 0;

	out[k++] = '"';
	for (i = 0; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n)
			out[k++] = (unsigned char)p[++i];
		else if (p[i] == '*')
			out[k++] = -1;
		else
			out[k++] = (unsigned char)p[i];
	}
	out[k++] = '"';
	return k;
}

/* Does the character whose UTF-8 starts at ch[i] have two cases? */
static int
has_case(const int *ch, size_t n, size_t i)
{
	char buf[4];
	size_t k;
	uint32_t cp;

	for (k = 0; k < 4 && i + k < n && ch[i + k] >= 0; k++)
		buf[k] = (char)ch[i + k];
	if (k == 0 || ev_utf8_get(buf, k, &cp) == 0)
		return 0;
	return ev_cp_has_case(cp);
}

/* May the walk of a new value go on from state x to y on ch[i]? */
static int
can_reuse(const struct nfa *a, int x, int y, const int *ch, size_t n,
    size_t i)
{
	const struct nstate *sx = &a->s[x];
	size_t k;

	if (y == x || a->s[y].match)
		return 0;
	if (!a->s[y].indet || ch[i] < 0)
		return 1;
	if (ch[i] >= 0x80 && ch[i] < 0xc0)
		return 1;
	for (k = 0; k < sx->nall; k++)
		if (sx->all[k] != x)
			return 0;
	return !has_case(ch, n, i);
}

/*
 * Add value p[0..n) of pattern id pid to the NFA, as addMatchValue does.
 * Returns 1 when the walk found the pattern's match already there (the
 * value was added before and every state on its path could be reused),
 * else 0.  A value added again after a star and a letter is not found:
 * event-ruler builds a second path for it.
 */
static int
nfa_add(struct nfa *a, int pid, const char *p, size_t n)
{
	int *ch = ev_xmalloc((n + 2) * sizeof(*ch));
	size_t len = wild_chars(p, n, ch), i = 0, k;
	int x = 0, prev = -1, y, m;

	for (; i + 1 < len; i++) {
		const struct nstate *sx = &a->s[x];

		y = -1;
		if (ch[i] < 0) {
			for (k = 0; k < sx->nall && y < 0; k++)
				if (can_reuse(a, x, sx->all[k], ch, len, i))
					y = sx->all[k];
		} else {
			for (k = 0; k < sx->ne && y < 0; k++)
				if (sx->e[k].byte == ch[i] &&
				    can_reuse(a, x, sx->e[k].to, ch, len, i))
					y = sx->e[k].to;
		}
		if (y < 0)
			break;
		prev = x;
		x = y;
	}
	if (i + 1 == len && a->mstate[pid] >= 0)
		for (k = 0; k < a->s[x].ne; k++)
			if (a->s[x].e[k].byte == '"' &&
			    a->s[x].e[k].to == a->mstate[pid]) {
				free(ch);
				return 1;
			}
	for (; i + 1 < len; i++) {
		y = nfa_new(a, a->s[x].indet || ch[i] < 0);
		if (ch[i] < 0) {
			add_all(a, y, y);
			add_all(a, x, y);
		} else {
			add_edge(a, x, ch[i], y);
			if (prev >= 0 && i > 0 && ch[i - 1] < 0)
				add_edge(a, prev, ch[i], y);
		}
		prev = x;
		x = y;
	}
	/* the closing quote leads to the pattern's one match */
	if ((m = a->mstate[pid]) < 0) {
		m = nfa_new(a, 1);
		a->s[m].match = pid + 1;
		a->mstate[pid] = m;
	}
	add_edge(a, x, '"', m);
	if (len >= 2 && ch[len - 2] < 0 && prev >= 0)
		add_edge(a, prev, '"', m);
	free(ch);
	return 0;
}

static void
nfa_free(struct nfa *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		free(a->s[i].e);
		free(a->s[i].all);
	}
	free(a->s);
	free(a->mstate);
}

/* ------------------------------------------------------------ the walk */

struct setstore {
	int *mem;		/* sets, each as its length then its states */
	size_t n, cap;
	size_t *slot;		/* open addressing: offset + 1 into mem */
	size_t nslot, used;
};

static uint64_t
set_hash(const int *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (uint64_t)(unsigned)s[i]) * 1099511628211ULL;
	return h ^ (h >> 29);
}

/* Add set s[0..n) (sorted); returns its offset, or -1 if it was there. */
static long
set_put(struct setstore *st, const int *s, size_t n)
{
	size_t i, j, off;

	if (2 * (st->used + 1) > st->nslot) {
		size_t *old = st->slot, on = st->nslot;

		st->nslot = on ? 2 * on : 1024;
		st->slot = ev_xcalloc(st->nslot, sizeof(*st->slot));
		st->used = 0;
		for (i = 0; i < on; i++) {
			if (old[i] == 0)
				continue;
			off = old[i] - 1;
			j = set_hash(&st->mem[off + 1], (size_t)st->mem[off]) &
			    (st->nslot - 1);
			while (st->slot[j])
				j = (j + 1) & (st->nslot - 1);
			st->slot[j] = old[i];
			st->used++;
		}
		free(old);
	}
	j = set_hash(s, n) & (st->nslot - 1);
	for (; st->slot[j]; j = (j + 1) & (st->nslot - 1)) {
		off = st->slot[j] - 1;
		if ((size_t)st->mem[off] == n &&
		    memcmp(&st->mem[off + 1], s, n * sizeof(*s)) == 0)
			return -1;
	}
	ev_grow(&st->mem, &st->cap, st->n + n + 1, sizeof(*st->mem));
	off = st->n;
	st->mem[off] = (int)n;
	if (n)
		memcpy(&st->mem[off + 1], s, n * sizeof(*s));
	st->n += n + 1;
	st->slot[j] = off + 1;
	st->used++;
	return (long)off;
}

static int
cmp_int(const void *x, const void *y)
{
	int a = *(const int *)x, b = *(const int *)y;

	return a < b ? -1 : a > b;
}

/* The states reached from set s[0..n) on byte b (-1: a byte not used). */
static size_t
set_step(const struct nfa *a, const int *s, size_t n, int b, int **out,
    size_t *cap)
{
	size_t i, k, m = 0;

	for (i = 0; i < n; i++) {
		const struct nstate *st = &a->s[s[i]];

		for (k = 0; k < st->ne; k++)
			if (st->e[k].byte == b) {
				ev_grow(out, cap, m + 1, sizeof(**out));
				(*out)[m++] = st->e[k].to;
			}
		for (k = 0; k < st->nall; k++) {
			ev_grow(out, cap, m + 1, sizeof(**out));
			(*out)[m++] = st->all[k];
		}
	}
	if (m == 0)
		return 0;
	qsort(*out, m, sizeof(**out), cmp_int);
	for (i = 1, k = 1; i < m; i++)
		if ((*out)[i] != (*out)[k - 1])
			(*out)[k++] = (*out)[i];
	return k;
}

static int
in_set(const int *s, size_t n, int x)
{
	return bsearch(&x, s, n, sizeof(*s), cmp_int) != NULL;
}

/*
 * The evaluator's score of one field's wildcard NFA, at most cap.  reach
 * counts, per state, the patterns reachable from it.
 */
static int
nfa_score(const struct nfa *a, int cap)
{
	uint64_t *bits;
	size_t words = ((size_t)a->npat + 63) / 64, i, k, w, nq = 0, capq = 0;
	int *cnt, *buf = NULL, best = 0, nsets = 0, b;
	size_t capbuf = 0, m;
	size_t *queue = NULL, qh = 0;
	struct setstore st = { NULL, 0, 0, NULL, 0, 0 };
	int start = 0;

	/*
	 * Patterns reachable from each state.  An edge goes to a state made
	 * later, or to a match state (which has no edges).
	 */
	bits = ev_xcalloc(a->n * words + 1, sizeof(*bits));
	cnt = ev_xcalloc(a->n + 1, sizeof(*cnt));
	for (i = 0; i < a->n; i++)
		if (a->s[i].match)
			bits[i * words + (size_t)(a->s[i].match - 1) / 64] |=
			    1ULL << ((a->s[i].match - 1) % 64);
	for (i = a->n; i-- > 0;) {
		const struct nstate *s = &a->s[i];
		uint64_t *bi = &bits[i * words];

		for (k = 0; k < s->ne; k++)
			for (w = 0; w < words; w++)
				bi[w] |= bits[(size_t)s->e[k].to * words + w];
		for (k = 0; k < s->nall; k++)
			if ((size_t)s->all[k] != i)
				for (w = 0; w < words; w++)
					bi[w] |= bits[(size_t)s->all[k] *
					    words + w];
		for (w = 0; w < words; w++)
			cnt[i] += __builtin_popcountll(bi[w]);
	}
	/* seed: the sets one byte away from the start state */
	for (b = -1; b < 256; b++) {
		long off;

		if (b >= 0 && !a->used[b])
			continue;
		m = set_step(a, &start, 1, b, &buf, &capbuf);
		if (m == 0 || (off = set_put(&st, buf, m)) < 0)
			continue;
		ev_grow(&queue, &capq, nq + 1, sizeof(*queue));
		queue[nq++] = (size_t)off;
	}
	while (qh < nq && best < cap) {
		size_t off = queue[qh++], n;
		int size = 0, *s;

		if (++nsets > MAX_SETS && (size_t)nsets > 16 * a->n) {
			best = cap;
			break;
		}
		n = (size_t)st.mem[off];
		/* copy: st.mem may move while the set's successors go in */
		s = ev_xmalloc((n + 1) * sizeof(*s));
		memcpy(s, &st.mem[off + 1], n * sizeof(*s));
		for (i = 0; i < n; i++) {
			const struct nstate *x = &a->s[s[i]];

			size += cnt[s[i]];
			for (k = 0; k < x->nall; k++)
				if (!in_set(s, n, x->all[k]))
					size += cnt[x->all[k]];
		}
		if (size > best)
			best = size;
		for (b = -1; b < 256 && best < cap; b++) {
			long noff;

			if (b >= 0 && !a->used[b])
				continue;
			m = set_step(a, s, n, b, &buf, &capbuf);
			if (m == 0 || (noff = set_put(&st, buf, m)) < 0)
				continue;
			ev_grow(&queue, &capq, nq + 1, sizeof(*queue));
			queue[nq++] = (size_t)noff;
		}
		free(s);
	}
	free(bits);
	free(cnt);
	free(buf);
	free(queue);
	free(st.mem);
	free(st.slot);
	return best < cap ? best : cap;
}

/* ------------------------------------------------- name states, machines */

/*
 * One value condition in a byte machine, the name state it leads to, and
 * its pattern id in the machine's NFA (wildcards), or -1.
 */
struct mcond {
	const struct ev_cond *c;
	int next;
	int pid;
};

/* A byte machine: field path in name state `at`, and its wildcards. */
struct machine {
	int at;
	const char *path;
	struct mcond *c;
	size_t n, cap;
	struct nfa a;
};

struct sim {
	struct machine *m;
	size_t nm, capm;
	/* exists:false: (name state, path) -> next name state */
	struct { int at; const char *path; int next; } *abs;
	size_t nabs, capabs;
	int nstates;
};

static int
str_eq(const struct ev_str *a, const struct ev_str *b)
{
	return a->n == b->n && memcmp(a->p, b->p, a->n) == 0;
}

/* Would event-ruler see the same Patterns object? */
static int
cond_eq(const struct ev_cond *a, const struct ev_cond *b)
{
	size_t i;

	if (a == b)
		return 1;
	if (a->op != b->op || a->nstrs != b->nstrs || a->nnums != b->nnums ||
	    a->keykind != b->keykind || a->anybut_numbers != b->anybut_numbers)
		return 0;
	for (i = 0; i < a->nstrs; i++)
		if (!str_eq(&a->strs[i], &b->strs[i]))
			return 0;
	for (i = 0; i < a->nnums; i++)
		if (a->nums[i] != b->nums[i])
			return 0;
	switch (a->op) {
	case EV_OP_EXACT:
		return a->keykind != EV_K_NUMBER || a->num == b->num;
	case EV_OP_NUMERIC:
		return a->lo == b->lo && a->hi == b->hi &&
		    a->lo_open == b->lo_open && a->hi_open == b->hi_open;
	case EV_OP_CIDR:
		return a->family == b->family &&
		    memcmp(a->ip_lo, b->ip_lo, 16) == 0 &&
		    memcmp(a->ip_hi, b->ip_hi, 16) == 0;
	default:
		return 1;
	}
}

static struct machine *
machine_at(struct sim *sm, int at, const char *path)
{
	size_t i;

	for (i = 0; i < sm->nm; i++)
		if (sm->m[i].at == at && strcmp(sm->m[i].path, path) == 0)
			return &sm->m[i];
	ev_grow(&sm->m, &sm->capm, sm->nm + 1, sizeof(*sm->m));
	memset(&sm->m[sm->nm], 0, sizeof(sm->m[sm->nm]));
	sm->m[sm->nm].at = at;
	sm->m[sm->nm].path = path;
	nfa_new(&sm->m[sm->nm].a, 0);
	return &sm->m[sm->nm++];
}

static int
is_wild(const struct ev_cond *c)
{
	return c->op == EV_OP_WILDCARD || c->op == EV_OP_ANYBUT_WILDCARD;
}

/*
 * ByteMachine.addPattern: add c to m; returns the name state it leads to
 * (cand, or a new one when cand is -1, unless c was found there).
 */
static int
machine_add(struct sim *sm, struct machine *m, const struct ev_cond *c,
    int cand)
{
	size_t j, k;
	int pid = -1, found = 0, r;

	for (j = 0; j < m->n; j++)
		if (cond_eq(m->c[j].c, c))
			break;
	if (!is_wild(c)) {
		if (j < m->n)
			return m->c[j].next;
	} else {
		if (j < m->n) {
			pid = m->c[j].pid;
		} else {
			pid = m->a.npat++;
			ev_grow(&m->a.mstate, &m->a.capm, (size_t)m->a.npat,
			    sizeof(*m->a.mstate));
			m->a.mstate[pid] = -1;
		}
		for (k = 0; k < c->nstrs; k++) {
			int f = nfa_add(&m->a, pid, c->strs[k].p,
			    c->strs[k].n);

			if (k == 0)
				found = f;
		}
		if (found && j < m->n)
			return m->c[j].next;
	}
	r = cand >= 0 ? cand : sm->nstates++;
	ev_grow(&m->c, &m->cap, m->n + 1, sizeof(*m->c));
	m->c[m->n].c = c;
	m->c[m->n].next = r;
	m->c[m->n++].pid = pid;
	return r;
}

/* GenericMachine.addStep for fields f[i..n) from name state at. */
static void
add_step(struct sim *sm, const struct ev_cx_field *f, size_t i, size_t n,
    int at)
{
	int *next, last = -1;
	size_t k, j, nn = 0;

	if (i == n)
		return;
	next = ev_xmalloc((f[i].nconds + 1) * sizeof(*next));
	for (k = 0; k < f[i].nconds; k++) {
		const struct ev_cond *c = &f[i].conds[k];
		int r = -1;

		if (c->op == EV_OP_ABSENT) {
			for (j = 0; j < sm->nabs && r < 0; j++)
				if (sm->abs[j].at == at &&
				    strcmp(sm->abs[j].path, f[i].path) == 0)
					r = sm->abs[j].next;
			if (r < 0) {
				r = last >= 0 ? last : sm->nstates++;
				ev_grow(&sm->abs, &sm->capabs, sm->nabs + 1,
				    sizeof(*sm->abs));
				sm->abs[sm->nabs].at = at;
				sm->abs[sm->nabs].path = f[i].path;
				sm->abs[sm->nabs++].next = r;
			}
		} else {
			r = machine_add(sm, machine_at(sm, at, f[i].path), c,
			    last);
		}
		last = r;
		for (j = 0; j < nn && next[j] != r; j++)
			;
		if (j == nn)
			next[nn++] = r;
	}
	for (j = 0; j < nn; j++)
		add_step(sm, f, i + 1, n, next[j]);
	free(next);
}

int
ev_wildcard_complexity(const struct ev_cx_field *f, size_t n, int cap)
{
	struct sim sm;
	size_t i, j, k;
	int score = 0, *live, changed;

	memset(&sm, 0, sizeof(sm));
	sm.nstates = 1;
	/* the sub-rules that hold a wildcard, one machine for all */
	for (i = 0; i < n; i = j) {
		int wild = 0;

		for (j = i; j < n && f[j].subrule == f[i].subrule; j++)
			for (k = 0; k < f[j].nconds; k++)
				wild |= is_wild(&f[j].conds[k]);
		if (wild)
			add_step(&sm, f + i, 0, j - i, 0);
	}
	/* the evaluator follows value matches only */
	live = ev_xcalloc((size_t)sm.nstates, sizeof(*live));
	live[0] = 1;
	for (changed = 1; changed;) {
		changed = 0;
		for (i = 0; i < sm.nm; i++)
			for (k = 0; k < sm.m[i].n; k++)
				if (live[sm.m[i].at] &&
				    !live[sm.m[i].c[k].next])
					live[sm.m[i].c[k].next] = changed = 1;
	}
	for (i = 0; i < sm.nm; i++) {
		int s;

		if (score < cap && live[sm.m[i].at] && sm.m[i].a.npat > 0 &&
		    (s = nfa_score(&sm.m[i].a, cap)) > score)
			score = s;
		free(sm.m[i].c);
		nfa_free(&sm.m[i].a);
	}
	free(live);
	free(sm.m);
	free(sm.abs);
	return score;
}
