/*
 * match.c - match events against a compiled, indexed rule set (index.c).
 *
 * For each event the scanner reports the values at the rule set's paths;
 * each value yields hits (field, value).  A sub-rule matches when every
 * field has a hit (or, for exists:false, its path holds no value) and the
 * hits can be chosen so that values inside the same array of objects come
 * from the same element (event-ruler's array consistency).  A rule matches
 * when one of its sub-rules does.  Nothing depends on which other rules are
 * loaded.
 */
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "json/json_int.h"
#include "pattern_int.h"

/*
 * The most steps the array-consistency search may take on one event: a
 * hostile event must not stall the stream.  Past it the event is a bad
 * line (reported, kept in the reject file), never a silent non-match.
 */
#define SEARCH_BUDGET (1UL << 24)

/* A value seen at one of the rule set's paths in the current event. */
struct occ {
	uint32_t memb_off;	/* its array positions in memb[] */
	uint32_t depth;
	int next;		/* previous value at the same path, or -1 */
	int numstate;		/* number: 0 not read yet, 1 exact, 2 not */
	double num;
	struct ev_jval v;
};

struct hit {
	int occ;
	int next;
};

struct ev_matcher {
	const struct ev_rules *rs;
	uint32_t epoch;
	uint32_t *field_epoch;
	int *field_head;
	uint8_t *field_deep;
	uint32_t *sub_epoch;
	uint32_t *rule_epoch;
	uint32_t *path_epoch;	/* path has a leaf value in this event */
	int *path_head;		/* its last value (occ index) */
	int *touched;
	size_t ntouched;
	struct occ *occ;
	size_t nocc, capocc;
	struct ev_arrpos *memb;
	size_t nmemb, capmemb;
	struct hit *hits;
	size_t nhits, caphits;
	size_t *matched;
	size_t nmatched;
	char *scratch;		/* decoded strings, folded strings, keys */
	size_t capscratch;
	int *choice;		/* backtracking */
	unsigned long budget;	/* search steps left for this event */
};

struct ev_matcher *
ev_matcher_new(const struct ev_rules *rs)
{
	struct ev_matcher *m = ev_xcalloc(1, sizeof(*m));

	ev_case_init();
	size_t nf = rs->nfields + 1;

	m->rs = rs;
	m->field_epoch = ev_xcalloc(nf, sizeof(uint32_t));
	m->field_head = ev_xcalloc(nf, sizeof(int));
	m->field_deep = ev_xcalloc(nf, 1);
	m->sub_epoch = ev_xcalloc(rs->nsubs + 1, sizeof(uint32_t));
	m->rule_epoch = ev_xcalloc(rs->nrules + 1, sizeof(uint32_t));
	m->path_epoch = ev_xcalloc(rs->npidx + 1, sizeof(uint32_t));
	m->path_head = ev_xcalloc(rs->npidx + 1, sizeof(int));
	m->touched = ev_xcalloc(rs->nsubs + 1, sizeof(int));
	m->matched = ev_xcalloc(rs->nrules + 1, sizeof(size_t));
	m->choice = ev_xcalloc(nf, sizeof(int));
	return m;
}

void
ev_matcher_free(struct ev_matcher *m)
{
	if (m == NULL)
		return;
	free(m->field_epoch);
	free(m->field_head);
	free(m->field_deep);
	free(m->sub_epoch);
	free(m->rule_epoch);
	free(m->path_epoch);
	free(m->path_head);
	free(m->touched);
	free(m->occ);
	free(m->memb);
	free(m->hits);
	free(m->matched);
	free(m->scratch);
	free(m->choice);
	free(m);
}

/* Record that value occ satisfies field; returns 1 if it is the first. */
static int
add_hit(struct ev_matcher *m, int field, int occ, int deep)
{
	struct hit *h;
	int first = 0;

	if (m->field_epoch[field] != m->epoch) {
		m->field_epoch[field] = m->epoch;
		m->field_head[field] = -1;
		m->field_deep[field] = 0;
		first = 1;
	} else if (m->hits[m->field_head[field]].occ == occ) {
		return 0;
	}
	if (m->nhits == m->caphits)
		ev_grow(&m->hits, &m->caphits, m->nhits + 1, sizeof(*m->hits));
	h = &m->hits[m->nhits];
	h->occ = occ;
	h->next = m->field_head[field];
	m->field_head[field] = (int)m->nhits++;
	m->field_deep[field] |= deep;
	return first;
}

/* An anchor field is satisfied by occ: its sub-rule is a candidate. */
static void
hit(struct ev_matcher *m, int field, int occ, int deep)
{
	int sub;

	if (!add_hit(m, field, occ, deep))
		return;
	sub = m->rs->fields[field].subrule;
	if (m->sub_epoch[sub] != m->epoch) {
		m->sub_epoch[sub] = m->epoch;
		m->touched[m->ntouched++] = sub;
	}
}

/*
 * The case fold only finds candidates: does some ignore-case condition of
 * fd really match v?
 */
static int
ic_ok(const struct ev_field *fd, const struct ev_val *v)
{
	size_t i;

	for (i = 0; i < fd->nconds; i++) {
		enum ev_op op = fd->conds[i].op;

		if ((op == EV_OP_EQ_IC || op == EV_OP_PREFIX_IC ||
		    op == EV_OP_SUFFIX_IC) && ev_cond_test(&fd->conds[i], v))
			return 1;
	}
	return 0;
}

/*
 * Hit the fields listed under a key; v, when not NULL, is the value to
 * check ignore-case candidates against.
 */
static void
lookup(struct ev_matcher *m, int path, int kind, const char *p, size_t n,
    int occ, int deep, char *kbuf, const struct ev_val *v)
{
	const struct ev_rules *rs = m->rs;
	size_t kn = ev_make_key(kbuf, path, kind, p, n);
	const struct ev_hent *e = ev_ht_find(rs, kbuf, kn, ev_hash_bytes(kbuf, kn));
	uint32_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->ln; i++) {
		int f = rs->flist[e->loff + i];

		if (v != NULL && !ic_ok(&rs->fields[f], v))
			continue;
		hit(m, f, occ, deep);
	}
}

static void
scratch_need(struct ev_matcher *m, size_t n)
{
	if (n > m->capscratch) {
		free(m->scratch);
		m->capscratch = n < 4096 ? 4096 : n * 2;
		m->scratch = ev_xmalloc(m->capscratch);
	}
}

/* Hit the fields whose numeric range holds x. */
static void
ranges(struct ev_matcher *m, const struct ev_pidx *px, double x, int occ,
    int deep)
{
	size_t lo, hi, i;

	/* bylo: the ranges with lo <= x, then check hi */
	for (lo = 0, hi = px->nbylo; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (px->bylo[mid].lo <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = 0; i < lo; i++) {
		const struct ev_nrange *r = &px->bylo[i];

		if ((r->lo_open && x == r->lo) || x > r->hi ||
		    (r->hi_open && x == r->hi))
			continue;
		hit(m, r->field, occ, deep);
	}
	/* byhi (no lower bound): the ranges with hi >= x */
	for (lo = 0, hi = px->nbyhi; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (px->byhi[mid].hi < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < px->nbyhi; i++)
		if (!(px->byhi[i].hi_open && x == px->byhi[i].hi))
			hit(m, px->byhi[i].field, occ, deep);
}

static int
on_value(void *ctx, int path, const struct ev_jval *jv,
    const struct ev_arrpos *memb, int depth)
{
	struct ev_matcher *m = ctx;
	const struct ev_rules *rs = m->rs;
	const struct ev_pidx *px = &rs->pidx[path];
	struct ev_val v;
	char *dec, *fold, *kbuf;
	int occ, deep = depth > 0, kind;
	size_t i, k;

	if (jv->type == EV_J_OBJECT || jv->type == EV_J_ARRAY)
		return 0;
	/*
	 * As in event-ruler, a scalar element of an array is not tied to its
	 * position there: only the arrays that hold it inside an object or an
	 * inner array count for consistency.
	 */
	if (jv->elem && depth > 0)
		deep = --depth > 0;
	/* record the value, with its array membership, on its path's list */
	if (m->nocc == m->capocc)
		ev_grow(&m->occ, &m->capocc, m->nocc + 1, sizeof(*m->occ));
	if (m->nmemb + (size_t)depth + 1 > m->capmemb)
		ev_grow(&m->memb, &m->capmemb, m->nmemb + (size_t)depth + 1,
		    sizeof(*m->memb));
	occ = (int)m->nocc++;
	m->occ[occ].memb_off = (uint32_t)m->nmemb;
	m->occ[occ].depth = (uint32_t)depth;
	m->occ[occ].v = *jv;
	m->occ[occ].numstate = 0;
	if (m->path_epoch[path] != m->epoch) {
		m->path_epoch[path] = m->epoch;
		m->occ[occ].next = -1;
	} else {
		m->occ[occ].next = m->path_head[path];
	}
	m->path_head[path] = occ;
	if (depth)
		memcpy(m->memb + m->nmemb, memb, (size_t)depth * sizeof(*memb));
	m->nmemb += (size_t)depth;
	if (px->nhashed == 0 && px->nexists == 0 && px->nlin == 0 &&
	    px->nbylo == 0 && px->nbyhi == 0)
		return 0;

	/* scratch: decoded value | folded value | key buffer */
	scratch_need(m, 5 * jv->len + 64);
	dec = m->scratch;
	fold = dec + jv->len + 8;
	kbuf = fold + 2 * jv->len + 16;	/* 2 * len + 40 bytes */
	memset(&v, 0, sizeof(v));
	v.type = jv->type;
	v.s = jv->p;
	v.n = jv->len;
	if (jv->type == EV_J_STRING && jv->esc) {
		v.n = ev_json_unescape(jv, dec);
		v.s = dec;
	}
	switch (jv->type) {
	case EV_J_STRING:
		lookup(m, path, EV_K_STRING, v.s, v.n, occ, deep, kbuf, NULL);
		for (k = 0; k < 2; k++)
			for (i = 0; i < px->nlens[k]; i++) {
				size_t l = px->lens[k][i];

				if (l <= v.n)
					lookup(m, path, k == L_PREFIX ? 'p' :
					    'x', k == L_PREFIX ? v.s :
					    v.s + v.n - l, l, occ, deep, kbuf,
					    NULL);
			}
		if (px->has_eq_ic || px->nlens[L_PREFIX_IC] ||
		    px->nlens[L_SUFFIX_IC]) {
			size_t nfold = ev_casefold(v.s, v.n, fold);

			if (px->has_eq_ic)
				lookup(m, path, 'i', fold, nfold, occ, deep,
				    kbuf, &v);
			for (k = L_PREFIX_IC; k <= L_SUFFIX_IC; k++)
				for (i = 0; i < px->nlens[k]; i++) {
					size_t l = px->lens[k][i];

					if (l <= nfold)
						lookup(m, path, k == L_PREFIX_IC
						    ? 'P' : 'X', k ==
						    L_PREFIX_IC ? fold : fold +
						    nfold - l, l, occ, deep,
						    kbuf, &v);
				}
		}
		break;
	case EV_J_NUMBER:
		v.num_ok = ev_json_number(jv->p, jv->len, &v.num);
		if (v.num == 0)
			v.num = 0;	/* -0 */
		m->occ[occ].num = v.num;
		m->occ[occ].numstate = v.num_ok ? 1 : 2;
		if (v.num_ok) {
			lookup(m, path, EV_K_NUMBER, (const char *)&v.num,
			    sizeof(double), occ, deep, kbuf, NULL);
			ranges(m, px, v.num, occ, deep);
		} else {
			lookup(m, path, EV_K_TEXT, v.s, v.n, occ, deep, kbuf,
			    NULL);
		}
		break;
	default:
		kind = jv->type == EV_J_TRUE ? EV_K_TRUE :
		    jv->type == EV_J_FALSE ? EV_K_FALSE : EV_K_NULL;
		lookup(m, path, kind, NULL, 0, occ, deep, kbuf, NULL);
		break;
	}
	for (i = 0; i < px->nexists; i++)
		hit(m, px->exists[i], occ, deep);
	for (i = 0; i < px->nlin; i++)
		if (ev_cond_test(px->lin[i].c, &v))
			hit(m, px->lin[i].field, occ, deep);
	return 0;
}

/* Are the array positions of occurrences a and b compatible? */
static int
consistent(const struct ev_matcher *m, int a, int b)
{
	const struct occ *oa = &m->occ[a], *ob = &m->occ[b];
	uint32_t i, j;

	for (i = 0; i < oa->depth; i++)
		for (j = 0; j < ob->depth; j++) {
			const struct ev_arrpos *pa = &m->memb[oa->memb_off + i];
			const struct ev_arrpos *pb = &m->memb[ob->memb_off + j];

			if (pa->array == pb->array && pa->index != pb->index)
				return 0;
		}
	return 1;
}

/* Is occurrence o consistent with the n occurrences chosen so far? */
static int
fits(const struct ev_matcher *m, int o, int n)
{
	int j;

	if (m->occ[o].depth == 0)
		return 1;
	for (j = 0; j < n; j++)
		if (!consistent(m, m->choice[j], o))
			return 0;
	return 1;
}

/*
 * event-ruler's search over a sub-rule's fields, in path order: each field
 * takes a value consistent with the values taken before it, or, when it
 * holds exists:false, is absent if no value at its path is consistent with
 * them (the fields after it do not constrain it).  nch values are chosen.
 */
static int
search(struct ev_matcher *m, const struct ev_subrule *sr, int k, int nch)
{
	const struct ev_field *fd;
	int f, h, o, r;

	if (k == sr->nfields)
		return 1;
	f = sr->first_field + k;
	fd = &m->rs->fields[f];
	if (m->field_epoch[f] == m->epoch)
		for (h = m->field_head[f]; h >= 0; h = m->hits[h].next) {
			if (m->budget-- == 0)
				return -1;
			o = m->hits[h].occ;
			if (!fits(m, o, nch))
				continue;
			m->choice[nch] = o;
			if ((r = search(m, sr, k + 1, nch + 1)) != 0)
				return r;
		}
	if (!fd->absent_ok)
		return 0;
	if (m->path_epoch[fd->path_id] == m->epoch)
		for (o = m->path_head[fd->path_id]; o >= 0; o = m->occ[o].next)
			if (fits(m, o, nch))
				return 0;
	return search(m, sr, k + 1, nch);
}

/* Make the ev_val of a recorded value (decoding a string into buf). */
static void
occ_value(struct ev_matcher *m, int o, struct ev_val *v, char *buf)
{
	const struct ev_jval *jv = &m->occ[o].v;

	memset(v, 0, sizeof(*v));
	v->type = jv->type;
	v->s = jv->p;
	v->n = jv->len;
	if (jv->type == EV_J_STRING && jv->esc) {
		v->n = ev_json_unescape(jv, buf);
		v->s = buf;
	} else if (jv->type == EV_J_NUMBER) {
		struct occ *oc = &m->occ[o];

		if (oc->numstate == 0) {
			oc->numstate = ev_json_number(jv->p, jv->len,
			    &oc->num) ? 1 : 2;
			if (oc->num == 0)
				oc->num = 0;	/* -0 */
		}
		v->num_ok = oc->numstate == 1;
		v->num = oc->num;
	}
}

/* Test a field that is not an anchor against the values at its path. */
static void
verify(struct ev_matcher *m, int f)
{
	const struct ev_field *fd = &m->rs->fields[f];
	struct ev_val v;
	size_t i;
	int o;

	if (m->path_epoch[fd->path_id] != m->epoch)
		return;
	for (o = m->path_head[fd->path_id]; o >= 0; o = m->occ[o].next) {
		scratch_need(m, m->occ[o].v.len + 8);
		occ_value(m, o, &v, m->scratch);
		for (i = 0; i < fd->nconds; i++)
			if (ev_cond_test(&fd->conds[i], &v)) {
				add_hit(m, f, o, m->occ[o].depth > 0);
				break;
			}
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The common shape of array consistency, in O(n log n) rather than by
 * search: every field with hits inside arrays has them one level down in
 * the same array of objects.  A field with a hit outside any array fits
 * anywhere; the others must all have a hit in one element.  Returns 1 or
 * 0, or -1 when the hits have another shape (search() decides then).
 */
static int
same_element(struct ev_matcher *m, const struct ev_subrule *sr)
{
	uint64_t *keys, mask = 0, want = 0, seen = 0;
	uint32_t array = 0, cur = 0;
	size_t n = 0, cap = 0, i;
	int f, h, slot = 0, have = 0, r = 0;

	if (sr->nfields > 64)
		return -1;
	for (f = sr->first_field; f < sr->first_field + sr->nfields; f++) {
		int outside = 0;

		if (m->field_epoch[f] != m->epoch)
			continue;	/* absent, and may be */
		for (h = m->field_head[f]; h >= 0; h = m->hits[h].next) {
			const struct occ *o = &m->occ[m->hits[h].occ];

			if (o->depth == 0) {
				outside = 1;
				break;
			}
			if (o->depth > 1)
				return -1;
			if (have && m->memb[o->memb_off].array != array)
				return -1;
			array = m->memb[o->memb_off].array;
			have = 1;
		}
		if (!outside) {
			want |= 1ULL << slot;
			for (h = m->field_head[f]; h >= 0; h = m->hits[h].next)
				cap++;
		}
		slot++;
	}
	if (want == 0)
		return 1;
	keys = ev_xmalloc((cap + 1) * sizeof(*keys));
	slot = 0;
	for (f = sr->first_field; f < sr->first_field + sr->nfields; f++) {
		if (m->field_epoch[f] != m->epoch)
			continue;
		if (want & 1ULL << slot)
			for (h = m->field_head[f]; h >= 0; h = m->hits[h].next) {
				const struct occ *o = &m->occ[m->hits[h].occ];

				keys[n++] = (uint64_t)m->memb[o->memb_off].index
				    << 6 | (uint64_t)slot;
			}
		slot++;
	}
	qsort(keys, n, sizeof(*keys), cmp_u64);
	for (i = 0; i < n && !r; i++) {
		uint32_t idx = (uint32_t)(keys[i] >> 6);

		if (i == 0 || idx != cur) {
			cur = idx;
			seen = 0;
		}
		seen |= 1ULL << (keys[i] & 63);
		mask = seen & want;
		r = mask == want;
	}
	free(keys);
	return r;
}

static int
sub_matches(struct ev_matcher *m, int s)
{
	const struct ev_rules *rs = m->rs;
	const struct ev_subrule *sr = &rs->subs[s];
	int ndeep = 0, hard = 0, f;

	for (f = sr->first_field; f < sr->first_field + sr->nfields; f++) {
		const struct ev_field *fd = &rs->fields[f];

		if (f != sr->anchor && m->field_epoch[f] != m->epoch)
			verify(m, f);
		if (m->field_epoch[f] == m->epoch) {
			if (m->field_deep[f])
				ndeep++;
			continue;
		}
		if (!fd->absent_ok)
			return 0;
		if (m->path_epoch[fd->path_id] == m->epoch)
			hard = 1;	/* absent only beside some elements */
	}
	if (ndeep < 2 && !hard)
		return 1;
	if (!hard) {
		int r = same_element(m, sr);

		if (r >= 0)
			return r;
	}
	return search(m, sr, 0, 0);
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

int
ev_match(struct ev_matcher *m, const char *line, size_t len,
    enum ev_match_mode mode, struct ev_err *err)
{
	const struct ev_rules *rs = m->rs;
	size_t i;

	if (++m->epoch == 0) {
		memset(m->field_epoch, 0, (rs->nfields + 1) * sizeof(uint32_t));
		memset(m->sub_epoch, 0, (rs->nsubs + 1) * sizeof(uint32_t));
		memset(m->rule_epoch, 0, (rs->nrules + 1) * sizeof(uint32_t));
		memset(m->path_epoch, 0, (rs->npidx + 1) * sizeof(uint32_t));
		m->epoch = 1;
	}
	m->ntouched = m->nocc = m->nmemb = m->nhits = m->nmatched = 0;
	m->budget = SEARCH_BUDGET;
	if (ev_scan(line, len, rs->npidx ? rs->ps : NULL, on_value, m,
	    err) < 0)
		return -1;
	for (i = 0; i < m->ntouched + rs->nalways; i++) {
		int s = i < m->ntouched ? m->touched[i] :
		    rs->always[i - m->ntouched];
		int r = rs->subs[s].rule;

		if (m->rule_epoch[r] == m->epoch)
			continue;
		switch (sub_matches(m, s)) {
		case 0:
			continue;
		case -1:
			ev_err_set(err, "event too complex: array consistency "
			    "needs more than %lu steps", (unsigned long)
			    SEARCH_BUDGET);
			err->col = 1;
			return -1;
		}
		m->rule_epoch[r] = m->epoch;
		m->matched[m->nmatched++] = (size_t)r;
		if (mode == EV_MATCH_ANY)
			break;
	}
	if (m->nmatched > 1)
		qsort(m->matched, m->nmatched, sizeof(size_t), cmp_size);
	return (int)m->nmatched;
}

const size_t *
ev_matched(const struct ev_matcher *m, size_t *n)
{
	*n = m->nmatched;
	return m->matched;
}
