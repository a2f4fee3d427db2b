/*
 * index.c - index a compiled rule set for matching.
 *
 * The rule set is indexed by path.  Exact values, prefixes, suffixes and
 * their ignore-case forms go into one hash table keyed by (path, kind,
 * bytes): a value is looked up once for exact and equals-ignore-case, and
 * once per distinct prefix/suffix length for the affix forms.  Numeric
 * ranges go into sorted lists; cidr, wildcard and anything-but are tested
 * value by value.  Only each sub-rule's anchor, its most selective field,
 * is indexed; match.c checks the other fields when the anchor is hit.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "json/json_int.h"
#include "pattern_int.h"

/*
 * The last n bytes (1 to 7) at s as a little-endian word, zero above: what
 * memcpy(&w, s, n) leaves in a zeroed w on x86-64, without the byte stores
 * that a word load then waits for.  back: the 8 bytes before s + n are
 * readable.
 */
static inline uint64_t
tail_word(const unsigned char *s, size_t n, int back)
{
	uint32_t a, b;
	uint64_t w;

	if (back) {
		memcpy(&w, s + n - 8, 8);
		return w >> (8 * (8 - n));
	}
	if (n >= 4) {
		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		return a | (uint64_t)b << (8 * (n - 4));
	}
	return s[0] | (uint64_t)s[n / 2] << (8 * (n / 2)) |
	    (uint64_t)s[n - 1] << (8 * (n - 1));
}

/* A 64-bit hash of p[0..n). */
uint64_t
ev_hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0xff51afd7ed558ccdULL);
	uint64_t w;
	size_t len = n;

	while (n >= 8) {
		memcpy(&w, s, 8);
		h ^= w * 0x87c37b91114253d5ULL;
		h = (h << 31 | h >> 33) * 0x4cf5ad432745937fULL;
		s += 8;
		n -= 8;
	}
	w = n == 0 ? 0 : tail_word(s, n, len >= 8);
	h ^= w * 0x87c37b91114253d5ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* Key layout: 4 bytes path id, 1 byte kind, payload. */
size_t
ev_make_key(char *buf, int path, int kind, const void *payload, size_t n)
{
	uint32_t p = (uint32_t)path;

	memcpy(buf, &p, 4);
	buf[4] = (char)kind;
	if (n)
		memcpy(buf + 5, payload, n);
	return n + 5;
}

/* The entry of key[0..n) (hash h), or NULL: probes the 8-byte slots. */
struct ev_hent *
ev_ht_find(const struct ev_rules *rs, const char *key, size_t n, uint64_t h)
{
	size_t mask = rs->htcap - 1, i;
	uint32_t tag = (uint32_t)(h >> 32);

	if (rs->htcap == 0)
		return NULL;
	for (i = h & mask;; i = (i + 1) & mask) {
		const struct ev_slot *sl = &rs->slots[i];
		struct ev_hent *e;

		if (sl->ent == 0)
			return NULL;
		if (sl->tag != tag)
			continue;
		e = &rs->ht[sl->ent - 1];
		if (e->klen == n && memcmp(rs->keys + e->koff, key, n) == 0)
			return e;
	}
}

/* Put entry k (index in ht) into the slots. */
static void
slot_put(struct ev_rules *rs, size_t k)
{
	size_t mask = rs->htcap - 1, i;
	uint64_t h = rs->ht[k].hash;

	for (i = h & mask; rs->slots[i].ent; i = (i + 1) & mask)
		;
	rs->slots[i].tag = (uint32_t)(h >> 32);
	rs->slots[i].ent = (uint32_t)(k + 1);
}

/* Make room for n keys at least: slots at most half full. */
static void
ht_reserve(struct ev_rules *rs, size_t n)
{
	size_t cap = 64, k;

	while (cap < 2 * n + 2)
		cap *= 2;
	if (cap <= rs->htcap)
		return;
	free(rs->slots);
	rs->slots = ev_xcalloc(cap, sizeof(*rs->slots));
	rs->htcap = cap;
	for (k = 0; k < rs->htn; k++)
		slot_put(rs, k);
}

/* Add field to the list of entry k (in counting mode: count it). */
static void
ht_append(struct ev_rules *rs, size_t k, int field)
{
	struct ev_hbuild *e = &rs->hb[k];

	if (e->tn && (e->tn == 1 || rs->counting ? e->one :
	    e->tmp[e->tn - 1]) == field)
		return;
	if (rs->counting || e->tn == 0) {
		e->one = field;
		e->tn++;
		return;
	}
	if (e->tn == 1) {
		e->tcap = 4;
		e->tmp = ev_xmalloc(e->tcap * sizeof(int));
		e->tmp[0] = e->one;
	} else if (e->tn == e->tcap) {
		e->tcap *= 2;
		e->tmp = realloc(e->tmp, e->tcap * sizeof(int));
		if (e->tmp == NULL)
			ev_oom();
	}
	e->tmp[e->tn++] = field;
}

/*
 * Add field to the list of key (built in key[0..n)), making the entry if
 * needed; returns the entry's index in ht.
 */
static size_t
ht_add(struct ev_rules *rs, const char *key, size_t n, int field)
{
	uint64_t h = ev_hash_bytes(key, n);
	struct ev_hent *e = ev_ht_find(rs, key, n, h);

	if (e == NULL) {
		if ((rs->htn + 1) * 2 > rs->htcap)
			ht_reserve(rs, 2 * rs->htn + 1);
		ev_grow_raw(&rs->ht, &rs->htcapents, rs->htn + 1,
		    sizeof(*rs->ht));
		ev_grow(&rs->hb, &rs->caphb, rs->htn + 1, sizeof(*rs->hb));
		e = &rs->ht[rs->htn];
		memset(e, 0, sizeof(*e));
		ev_grow_raw(&rs->keys, &rs->capkeys, rs->nkeys + n, 1);
		memcpy(rs->keys + rs->nkeys, key, n);
		e->hash = h;
		e->koff = (uint32_t)rs->nkeys;
		e->klen = (uint32_t)n;
		rs->nkeys += n;
		slot_put(rs, rs->htn++);
	}
	ht_append(rs, (size_t)(e - rs->ht), field);
	return (size_t)(e - rs->ht);
}

static void
add_len(struct ev_pidx *px, int which, size_t len)
{
	size_t i;

	for (i = 0; i < px->nlens[which]; i++)
		if (px->lens[which][i] == len)
			return;
	ev_grow(&px->lens[which], &px->caplens[which], px->nlens[which] + 1,
	    sizeof(size_t));
	px->lens[which][px->nlens[which]++] = len;
}

/*
 * The hash key of a hashed condition (exact, affix and ignore-case forms)
 * in buf (at least payload + 5 bytes); returns its length, or 0 for a
 * condition that is tested value by value.
 */
static size_t
cond_key(const struct ev_cond *c, int path, char *buf)
{
	const void *payload = NULL;
	size_t plen = 0;
	int kind;

	switch (c->op) {
	case EV_OP_EXACT:
		kind = c->keykind;
		if (kind == EV_K_NUMBER) {
			payload = &c->num;
			plen = sizeof(double);
		} else if (kind == EV_K_STRING || kind == EV_K_TEXT) {
			payload = c->strs[0].p;
			plen = c->strs[0].n;
		}
		return ev_make_key(buf, path, kind, payload, plen);
	case EV_OP_PREFIX:
		kind = 'p';
		break;
	case EV_OP_SUFFIX:
		kind = 'x';
		break;
	case EV_OP_EQ_IC:
		kind = 'i';
		break;
	case EV_OP_PREFIX_IC:
		kind = 'P';
		break;
	case EV_OP_SUFFIX_IC:
		kind = 'X';
		break;
	default:
		return 0;
	}
	return ev_make_key(buf, path, kind, c->strs[0].p, c->strs[0].n);
}

static size_t
cond_keysize(const struct ev_cond *c)
{
	return (c->nstrs ? c->strs[0].n : 0) + sizeof(double) + 5;
}

/*
 * Index condition c of field on path: in the hash table (at entry *ent
 * when that is known, >= 0; the entry used is stored back), or in the
 * path's value-by-value lists.
 */
static void
index_cond(struct ev_rules *rs, struct ev_pidx *px, int path,
    const struct ev_cond *c, int field, long *ent)
{
	char kbuf[128], *key;
	size_t n;

	switch (c->op) {
	case EV_OP_PREFIX:
		add_len(px, L_PREFIX, c->strs[0].n);
		break;
	case EV_OP_SUFFIX:
		add_len(px, L_SUFFIX, c->strs[0].n);
		break;
	case EV_OP_EQ_IC:
		px->has_eq_ic = 1;
		break;
	case EV_OP_PREFIX_IC:
		add_len(px, L_PREFIX_IC, c->strs[0].n);
		break;
	case EV_OP_SUFFIX_IC:
		add_len(px, L_SUFFIX_IC, c->strs[0].n);
		break;
	case EV_OP_EXISTS:
		ev_grow(&px->exists, &px->capexists, px->nexists + 1,
		    sizeof(int));
		px->exists[px->nexists++] = field;
		return;
	case EV_OP_ABSENT:
		return;
	case EV_OP_EXACT:
		break;
	case EV_OP_NUMERIC: {
		struct ev_nrange r = { c->lo, c->hi, c->lo_open, c->hi_open,
			field };

		if (isinf(c->lo)) {
			ev_grow(&px->byhi, &px->capbyhi, px->nbyhi + 1,
			    sizeof(r));
			px->byhi[px->nbyhi++] = r;
		} else {
			ev_grow(&px->bylo, &px->capbylo, px->nbylo + 1,
			    sizeof(r));
			px->bylo[px->nbylo++] = r;
		}
		return;
	}
	default:
		ev_grow(&px->lin, &px->caplin, px->nlin + 1, sizeof(*px->lin));
		px->lin[px->nlin].c = c;
		px->lin[px->nlin++].field = field;
		return;
	}
	px->nhashed++;
	if (*ent >= 0) {
		ht_append(rs, (size_t)*ent, field);
		return;
	}
	key = cond_keysize(c) <= sizeof(kbuf) ? kbuf :
	    ev_xmalloc(cond_keysize(c));
	n = cond_key(c, path, key);
	*ent = (long)ht_add(rs, key, n, field);
	if (key != kbuf)
		free(key);
}

/*
 * How many other fields a field's hits come with: the fields sharing each
 * of its hash keys, or every field for a condition tested value by value
 * (those hit most values: anything-but, exists, ranges).
 */
static size_t
field_cost(const struct ev_rules *rs, const struct ev_field *fd,
    const long *ent)
{
	size_t cost = 0, i;

	for (i = 0; i < fd->nconds; i++) {
		const struct ev_cond *c = &fd->conds[i];

		if (c->op == EV_OP_NUMERIC) {
			/* a range index finds about half of its ranges */
			const struct ev_pidx *px = &rs->pidx[fd->path_id];

			cost += (px->nbylo + px->nbyhi) / 2 + 1;
		} else if (ent[i] < 0) {
			cost += rs->nfields + 1;
		} else {
			cost += rs->hb[ent[i]].tn;
		}
	}
	return cost;
}

static int
cmp_lo(const void *a, const void *b)
{
	double x = ((const struct ev_nrange *)a)->lo;
	double y = ((const struct ev_nrange *)b)->lo;

	return x < y ? -1 : x > y;
}

static int
cmp_hi(const void *a, const void *b)
{
	double x = ((const struct ev_nrange *)a)->hi;
	double y = ((const struct ev_nrange *)b)->hi;

	return x < y ? -1 : x > y;
}

/*
 * Index the conditions of every field (only counting the fields of each
 * hash key), or of the anchors only.  ent[cbase[f] + i] is the hash entry
 * of condition i of field f: found by the first pass, reused by the second.
 */
static void
build_index(struct ev_rules *rs, int anchors_only, long *ent,
    const size_t *cbase)
{
	size_t f, i;

	rs->npidx = (size_t)ev_pathset_count(rs->ps);
	rs->pidx = ev_xcalloc(rs->npidx + 1, sizeof(*rs->pidx));
	rs->counting = !anchors_only;
	for (f = 0; f < rs->nfields; f++) {
		const struct ev_field *fd = &rs->fields[f];
		struct ev_pidx *px = &rs->pidx[fd->path_id];

		if (anchors_only && !fd->anchor)
			continue;
		for (i = 0; i < fd->nconds; i++)
			index_cond(rs, px, fd->path_id, &fd->conds[i], (int)f,
			    &ent[cbase[f] + i]);
	}
	for (i = 0; i < rs->npidx; i++) {
		struct ev_pidx *px = &rs->pidx[i];

		if (px->nbylo > 1)
			qsort(px->bylo, px->nbylo, sizeof(*px->bylo), cmp_lo);
		if (px->nbyhi > 1)
			qsort(px->byhi, px->nbyhi, sizeof(*px->byhi), cmp_hi);
	}
}

/* Free the per-path index (not the hash table). */
static void
pidx_free(struct ev_rules *rs)
{
	size_t i;
	int k;

	if (rs->pidx)
		for (i = 0; i < rs->npidx; i++) {
			free(rs->pidx[i].lin);
			free(rs->pidx[i].exists);
			free(rs->pidx[i].bylo);
			free(rs->pidx[i].byhi);
			for (k = 0; k < 4; k++)
				free(rs->pidx[i].lens[k]);
		}
	free(rs->pidx);
	rs->pidx = NULL;
}

/*
 * Index the rule set.  Each sub-rule is triggered by one field, its
 * anchor: the one whose values the fewest other fields share (so 3,000
 * rules on "source": ["aws.ec2"] that differ in detail-type are found by
 * detail-type).  Its other fields are checked only when it triggers.
 */
int
ev_rules_index(struct ev_rules *rs, struct ev_err *err)
{
	size_t i, k, f, total = 0, *cbase;
	long *ent;

	cbase = ev_xmalloc((rs->nfields + 1) * sizeof(size_t));
	for (f = 0, total = 0; f < rs->nfields; f++) {
		cbase[f] = total;
		total += rs->fields[f].nconds;
	}
	ent = ev_xmalloc((total + 1) * sizeof(long));
	for (i = 0; i < total; i++)
		ent[i] = -1;
	ht_reserve(rs, total);
	build_index(rs, 0, ent, cbase);
	for (i = 0; i < rs->nsubs; i++) {
		struct ev_subrule *s = &rs->subs[i];
		size_t best = (size_t)-1;
		int g;

		s->anchor = -1;
		for (g = s->first_field; g < s->first_field + s->nfields; g++) {
			size_t cost;

			if (rs->fields[g].absent_ok)
				continue;
			cost = field_cost(rs, &rs->fields[g], &ent[cbase[g]]);
			if (cost < best) {
				best = cost;
				s->anchor = g;
			}
		}
		if (s->anchor >= 0)
			rs->fields[s->anchor].anchor = 1;
	}
	/* again, with the anchors only, into the same hash entries */
	pidx_free(rs);
	for (k = 0; k < rs->htn; k++)
		rs->hb[k].tn = 0;
	build_index(rs, 1, ent, cbase);
	free(ent);
	free(cbase);
	total = 0;
	for (i = 0; i < rs->nsubs; i++)
		if (rs->subs[i].anchor < 0) {
			rs->always = realloc(rs->always,
			    (rs->nalways + 1) * sizeof(int));
			if (rs->always == NULL)
				ev_oom();
			rs->always[rs->nalways++] = (int)i;
		}
	/* flatten the hash lists */
	for (k = 0; k < rs->htn; k++)
		total += rs->hb[k].tn;
	rs->flist = ev_xmalloc((total + 1) * sizeof(int));
	for (k = 0; k < rs->htn; k++) {
		struct ev_hent *e = &rs->ht[k];
		struct ev_hbuild *b = &rs->hb[k];

		e->loff = (uint32_t)rs->nflist;
		e->ln = b->tn;
		if (b->tn == 1)
			rs->flist[rs->nflist] = b->one;
		else if (b->tn > 1)
			memcpy(rs->flist + rs->nflist, b->tmp,
			    b->tn * sizeof(int));
		rs->nflist += b->tn;
		free(b->tmp);
	}
	free(rs->hb);
	rs->hb = NULL;
	rs->caphb = 0;
	(void)err;
	return 0;
}

void
ev_rules_index_free(struct ev_rules *rs)
{
	size_t i;

	pidx_free(rs);
	if (rs->hb != NULL)
		for (i = 0; i < rs->htn; i++)
			free(rs->hb[i].tmp);
	free(rs->hb);
	rs->hb = NULL;
	rs->caphb = 0;
	free(rs->ht);
	free(rs->slots);
	rs->slots = NULL;
	rs->htcapents = 0;
	free(rs->keys);
	free(rs->flist);
	free(rs->always);
	rs->pidx = NULL;
	rs->npidx = 0;
	rs->ht = NULL;
	rs->htcap = rs->htn = 0;
	rs->keys = NULL;
	rs->nkeys = rs->capkeys = 0;
	rs->flist = NULL;
	rs->nflist = 0;
	rs->always = NULL;
	rs->nalways = 0;
}
