/*
 * match.c - match events against a compiled rule set.
 *
 * The rule set is indexed by path.  Exact values, prefixes, suffixes and
 * their ignore-case forms go into one hash table keyed by (path, kind,
 * bytes): a value is looked up once for exact and equals-ignore-case, and
 * once per distinct prefix/suffix length for the affix forms, so its cost
 * does not grow with the number of rules.  Numeric ranges, cidr, wildcard
 * and anything-but are tested value by value against the conditions on
 * that path.
 *
 * For each event the scanner reports the values at the rule set's paths;
 * each value yields hits (field, value).  A sub-rule matches when every
 * field has a hit (or, for exists:false, its path holds no value) and the
 * hits can be chosen so that values inside the same array of objects come
 * from the same element (event-ruler's array consistency).  A rule matches
 * when one of its sub-rules does.  Nothing depends on which other rules are
 * loaded.
 */
#include <arpa/inet.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "evkit.h"
#include "json_int.h"
#include "pattern_int.h"

/* ------------------------------------------------------------- hashing */

static uint64_t
hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0xff51afd7ed558ccdULL);
	uint64_t w;

	while (n >= 8) {
		memcpy(&w, s, 8);
		h ^= w * 0x87c37b91114253d5ULL;
		h = (h << 31 | h >> 33) * 0x4cf5ad432745937fULL;
		s += 8;
		n -= 8;
	}
	w = 0;
	memcpy(&w, s, n);
	h ^= w * 0x87c37b91114253d5ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* Key layout: 4 bytes path id, 1 byte kind, payload. */
static size_t
make_key(char *buf, int path, int kind, const void *payload, size_t n)
{
	uint32_t p = (uint32_t)path;

	memcpy(buf, &p, 4);
	buf[4] = (char)kind;
	if (n)
		memcpy(buf + 5, payload, n);
	return n + 5;
}

static struct ev_hent *
ht_find(const struct ev_rules *rs, const char *key, size_t n, uint64_t h)
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

/* Add field to the list of entry e (in counting mode: count it). */
static void
ht_append(struct ev_rules *rs, struct ev_hent *e, int field)
{
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
			abort();
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
	uint64_t h = hash_bytes(key, n);
	struct ev_hent *e = ht_find(rs, key, n, h);

	if (e == NULL) {
		if ((rs->htn + 1) * 2 > rs->htcap)
			ht_reserve(rs, 2 * rs->htn + 1);
		ev_grow(&rs->ht, &rs->htcapents, rs->htn + 1, sizeof(*rs->ht));
		e = &rs->ht[rs->htn];
		ev_grow(&rs->keys, &rs->capkeys, rs->nkeys + n, 1);
		memcpy(rs->keys + rs->nkeys, key, n);
		e->hash = h;
		e->koff = (uint32_t)rs->nkeys;
		e->klen = (uint32_t)n;
		rs->nkeys += n;
		slot_put(rs, rs->htn++);
	}
	ht_append(rs, e, field);
	return (size_t)(e - rs->ht);
}

/* ------------------------------------------------------------- helpers */

static locale_t utf8_locale;

static int utf8_locale_tried;

/*
 * Make the C.UTF-8 locale the case mappings use.  Called by
 * ev_rules_finish() and ev_matcher_new(), before any worker thread runs, so
 * the workers only read it.
 */
void
ev_case_init(void)
{
	if (!utf8_locale_tried) {
		utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8",
		    (locale_t)0);
		utf8_locale_tried = 1;
	}
}

static locale_t
case_locale(void)
{
	ev_case_init();
	return utf8_locale;
}

static uint32_t
cp_lower(uint32_t c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	if (case_locale() == (locale_t)0)
		return c;
	return (uint32_t)towlower_l((wint_t)c, utf8_locale);
}

static uint32_t
cp_upper(uint32_t c)
{
	if (c < 0x80)
		return c >= 'a' && c <= 'z' ? c - 32 : c;
	if (case_locale() == (locale_t)0)
		return c;
	return (uint32_t)towupper_l((wint_t)c, utf8_locale);
}

size_t
ev_casefold(const char *s, size_t n, char *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0;

	while (i < n) {
		uint32_t cp;

		if (u[i] < 0x80) {
			out[o++] = (char)(u[i] >= 'A' && u[i] <= 'Z' ?
			    u[i] + 32 : u[i]);
			i++;
			continue;
		}
		i += ev_utf8_get(s + i, n - i, &cp);
		o = (size_t)(ev_utf8_put(out + o, cp_lower(cp_upper(cp))) - out);
	}
	return o;
}

/* Decode UTF-8 into code points; *out is buf or malloc'd.  Returns count. */
static size_t
decode_all(const char *s, size_t n, uint32_t *buf, size_t cap,
    uint32_t **out)
{
	size_t i = 0, k = 0;

	*out = n <= cap ? buf : ev_xmalloc(n * sizeof(uint32_t));
	while (i < n)
		i += ev_utf8_get(s + i, n - i, &(*out)[k++]);
	return k;
}

int
ev_ic_match(const char *pat, size_t np, const char *s, size_t n, int mode)
{
	uint32_t pb[64], sb[64], *pc, *sc;
	size_t kp = decode_all(pat, np, pb, 64, &pc);
	size_t ks = decode_all(s, n, sb, 64, &sc);
	size_t i, off;
	int ok = 1;

	if (ks < kp || (mode == 0 && ks != kp)) {
		ok = 0;
	} else {
		off = mode == 2 ? ks - kp : 0;
		for (i = 0; i < kp && ok; i++)
			ok = sc[off + i] == cp_lower(pc[i]) ||
			    sc[off + i] == cp_upper(pc[i]);
	}
	if (pc != pb)
		free(pc);
	if (sc != sb)
		free(sc);
	return ok;
}

int
ev_ip_parse(const char *s, size_t n, uint8_t out[16])
{
	char buf[64];
	size_t i, dots = 0, colons = 0, run = 0;
	unsigned v = 0;
	int k = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '.')
			dots++;
		else if (s[i] == ':')
			colons++;
		else if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	}
	if (dots == 3 && colons == 0) {
		/* [0-9]+\.[0-9]+\.[0-9]+\.[0-9]+, octets read as decimal */
		for (i = 0; i <= n; i++) {
			if (i == n || s[i] == '.') {
				if (run == 0)
					return 0;
				if (v > 255)
					return -1;
				out[k++] = (uint8_t)v;
				v = 0;
				run = 0;
			} else if (s[i] >= '0' && s[i] <= '9') {
				if (v <= 255)
					v = v * 10 + (unsigned)(s[i] - '0');
				run++;
			} else {
				return 0;
			}
		}
		return 4;
	}
	if (dots || colons == 0)
		return 0;
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET6, buf, out) != 1)
		return -1;
	/* Java's InetAddress reads ::ffff:a.b.c.d as the IPv4 address */
	if (memcmp(out, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		memmove(out, out + 12, 4);
		return 4;
	}
	return 6;
}

int
ev_wildcard_match(const char *pat, size_t np, const char *s, size_t n)
{
	size_t p = 0, i = 0, star_p = (size_t)-1, star_i = 0;

	while (i < n) {
		if (p < np && pat[p] == '*') {
			star_p = ++p;
			star_i = i;
			continue;
		}
		if (p < np) {
			char want = pat[p];
			size_t step = 1;

			if (want == '\\' && p + 1 < np) {
				want = pat[p + 1];
				step = 2;
			}
			if (want == s[i]) {
				p += step;
				i++;
				continue;
			}
		}
		if (star_p == (size_t)-1)
			return 0;
		p = star_p;
		i = ++star_i;
	}
	while (p < np && pat[p] == '*')
		p++;
	return p == np;
}

static const char *
value_fold(struct ev_val *v, char *scratch)
{
	if (v->fold == NULL) {
		v->nfold = ev_casefold(v->s, v->n, scratch);
		v->fold = scratch;
	}
	return v->fold;
}

static int
in_ip_range(const struct ev_cond *c, const struct ev_val *v)
{
	uint8_t ip[16];
	int fam, nb;

	if (v->type != EV_J_STRING)
		return 0;
	fam = ev_ip_parse(v->s, v->n, ip);
	if (fam <= 0 || fam != c->family)
		return 0;
	nb = fam == 4 ? 4 : 16;
	return memcmp(ip, c->ip_lo, nb) >= 0 && memcmp(ip, c->ip_hi, nb) <= 0;
}

static int
has_prefix(const struct ev_str *p, const char *s, size_t n)
{
	return n >= p->n && memcmp(s, p->p, p->n) == 0;
}

static int
has_suffix(const struct ev_str *p, const char *s, size_t n)
{
	return n >= p->n && memcmp(s + n - p->n, p->p, p->n) == 0;
}

/*
 * Does value v satisfy condition c?  scratch holds at least 2*v->n+8
 * bytes, for case folding.
 */
int
ev_cond_test(const struct ev_cond *c, struct ev_val *v, char *scratch)
{
	size_t i;

	if (v->type == EV_J_OBJECT || v->type == EV_J_ARRAY)
		return 0;
	switch (c->op) {
	case EV_OP_EXACT:
		switch (c->keykind) {
		case EV_K_STRING:
			return v->type == EV_J_STRING && v->n == c->strs[0].n &&
			    memcmp(v->s, c->strs[0].p, v->n) == 0;
		case EV_K_NUMBER:
			return v->type == EV_J_NUMBER && v->num_ok &&
			    v->num == c->num;
		case EV_K_TEXT:
			return v->type == EV_J_NUMBER && !v->num_ok &&
			    v->n == c->strs[0].n &&
			    memcmp(v->s, c->strs[0].p, v->n) == 0;
		case EV_K_TRUE:
			return v->type == EV_J_TRUE;
		case EV_K_FALSE:
			return v->type == EV_J_FALSE;
		default:
			return v->type == EV_J_NULL;
		}
	case EV_OP_PREFIX:
		return v->type == EV_J_STRING && has_prefix(c->strs, v->s, v->n);
	case EV_OP_SUFFIX:
		return v->type == EV_J_STRING && has_suffix(c->strs, v->s, v->n);
	case EV_OP_EQ_IC:
	case EV_OP_PREFIX_IC:
	case EV_OP_SUFFIX_IC:
		return v->type == EV_J_STRING && ev_ic_match(c->strs[1].p,
		    c->strs[1].n, v->s, v->n, c->op == EV_OP_EQ_IC ? 0 :
		    c->op == EV_OP_PREFIX_IC ? 1 : 2);
	case EV_OP_WILDCARD:
		return v->type == EV_J_STRING &&
		    ev_wildcard_match(c->strs[0].p, c->strs[0].n, v->s, v->n);
	case EV_OP_NUMERIC:
		if (v->type != EV_J_NUMBER || !v->num_ok)
			return 0;
		if (v->num < c->lo || (c->lo_open && v->num == c->lo))
			return 0;
		if (v->num > c->hi || (c->hi_open && v->num == c->hi))
			return 0;
		return 1;
	case EV_OP_CIDR:
		return in_ip_range(c, v);
	case EV_OP_EXISTS:
		return 1;
	case EV_OP_ABSENT:
		return 0;
	case EV_OP_ANYBUT:
		if (c->anybut_numbers) {
			if (v->type != EV_J_NUMBER || !v->num_ok)
				return 1;
			for (i = 0; i < c->nnums; i++)
				if (c->nums[i] == v->num)
					return 0;
			return 1;
		}
		if (v->type != EV_J_STRING)
			return 1;
		for (i = 0; i < c->nstrs; i++)
			if (c->strs[i].n == v->n &&
			    memcmp(c->strs[i].p, v->s, v->n) == 0)
				return 0;
		return 1;
	case EV_OP_ANYBUT_PREFIX:
	case EV_OP_ANYBUT_SUFFIX:
	case EV_OP_ANYBUT_WILDCARD:
		if (v->type != EV_J_STRING)
			return 1;
		for (i = 0; i < c->nstrs; i++) {
			int hit;

			if (c->op == EV_OP_ANYBUT_PREFIX)
				hit = has_prefix(&c->strs[i], v->s, v->n);
			else if (c->op == EV_OP_ANYBUT_SUFFIX)
				hit = has_suffix(&c->strs[i], v->s, v->n);
			else
				hit = ev_wildcard_match(c->strs[i].p,
				    c->strs[i].n, v->s, v->n);
			if (hit)
				return 0;
		}
		return 1;
	case EV_OP_ANYBUT_IC:
		if (v->type != EV_J_STRING)
			return 1;
		for (i = 0; i < c->nstrs; i++)
			if (ev_ic_match(c->strs[i].p, c->strs[i].n, v->s, v->n,
			    0))
				return 0;
		return 1;
	}
	return 0;
}

/* -------------------------------------------------------------- index */

enum { L_PREFIX, L_SUFFIX, L_PREFIX_IC, L_SUFFIX_IC };

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
		return make_key(buf, path, kind, payload, plen);
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
	return make_key(buf, path, kind, c->strs[0].p, c->strs[0].n);
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
		ht_append(rs, &rs->ht[*ent], field);
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
			cost += rs->ht[ent[i]].tn;
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

		if (fd->absent_ok)
			px->nabsent++;
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
		rs->ht[k].tn = 0;
	build_index(rs, 1, ent, cbase);
	free(ent);
	free(cbase);
	total = 0;
	for (i = 0; i < rs->nsubs; i++)
		if (rs->subs[i].anchor < 0) {
			rs->always = realloc(rs->always,
			    (rs->nalways + 1) * sizeof(int));
			if (rs->always == NULL)
				abort();
			rs->always[rs->nalways++] = (int)i;
		}
	/* flatten the hash lists */
	for (k = 0; k < rs->htn; k++)
		total += rs->ht[k].tn;
	rs->flist = ev_xmalloc((total + 1) * sizeof(int));
	for (k = 0; k < rs->htn; k++) {
		struct ev_hent *e = &rs->ht[k];

		e->loff = (uint32_t)rs->nflist;
		e->ln = e->tn;
		if (e->tn == 1)
			rs->flist[rs->nflist] = e->one;
		else if (e->tn > 1)
			memcpy(rs->flist + rs->nflist, e->tmp,
			    e->tn * sizeof(int));
		rs->nflist += e->tn;
		free(e->tmp);
		e->tmp = NULL;
	}
	(void)err;
	return 0;
}

void
ev_rules_index_free(struct ev_rules *rs)
{
	size_t i;

	pidx_free(rs);
	for (i = 0; i < rs->htn; i++)
		free(rs->ht[i].tmp);
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

/* ------------------------------------------------------------ matcher */

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
	const char *line;
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
ic_ok(const struct ev_field *fd, struct ev_val *v)
{
	size_t i;

	for (i = 0; i < fd->nconds; i++) {
		enum ev_op op = fd->conds[i].op;

		if ((op == EV_OP_EQ_IC || op == EV_OP_PREFIX_IC ||
		    op == EV_OP_SUFFIX_IC) && ev_cond_test(&fd->conds[i], v,
		    NULL))
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
    int occ, int deep, char *kbuf, struct ev_val *v)
{
	const struct ev_rules *rs = m->rs;
	size_t kn = make_key(kbuf, path, kind, p, n);
	const struct ev_hent *e = ht_find(rs, kbuf, kn, hash_bytes(kbuf, kn));
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
			const char *f = value_fold(&v, fold);

			if (px->has_eq_ic)
				lookup(m, path, 'i', f, v.nfold, occ, deep,
				    kbuf, &v);
			for (k = L_PREFIX_IC; k <= L_SUFFIX_IC; k++)
				for (i = 0; i < px->nlens[k]; i++) {
					size_t l = px->lens[k][i];

					if (l <= v.nfold)
						lookup(m, path, k == L_PREFIX_IC
						    ? 'P' : 'X', k ==
						    L_PREFIX_IC ? f : f +
						    v.nfold - l, l, occ, deep,
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
		if (ev_cond_test(px->lin[i].c, &v, fold))
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
	int f, h, o;

	if (k == sr->nfields)
		return 1;
	f = sr->first_field + k;
	fd = &m->rs->fields[f];
	if (m->field_epoch[f] == m->epoch)
		for (h = m->field_head[f]; h >= 0; h = m->hits[h].next) {
			o = m->hits[h].occ;
			if (!fits(m, o, nch))
				continue;
			m->choice[nch] = o;
			if (search(m, sr, k + 1, nch + 1))
				return 1;
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
	char *dec, *fold;
	size_t i;
	int o;

	if (m->path_epoch[fd->path_id] != m->epoch)
		return;
	for (o = m->path_head[fd->path_id]; o >= 0; o = m->occ[o].next) {
		scratch_need(m, 3 * m->occ[o].v.len + 32);
		dec = m->scratch;
		fold = dec + m->occ[o].v.len + 8;
		occ_value(m, o, &v, dec);
		for (i = 0; i < fd->nconds; i++)
			if (ev_cond_test(&fd->conds[i], &v, fold)) {
				add_hit(m, f, o, m->occ[o].depth > 0);
				break;
			}
	}
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
	if (ev_scan(line, len, rs->npidx ? rs->ps : NULL, on_value, m,
	    err) < 0)
		return -1;
	for (i = 0; i < m->ntouched + rs->nalways; i++) {
		int s = i < m->ntouched ? m->touched[i] :
		    rs->always[i - m->ntouched];
		int r = rs->subs[s].rule;

		if (m->rule_epoch[r] == m->epoch)
			continue;
		if (!sub_matches(m, s))
			continue;
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
