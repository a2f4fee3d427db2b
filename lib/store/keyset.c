/*
 * keyset.c - the in-memory key set: open addressing (linear probing) over
 * the entries themselves, so that a lookup touches one cache line.  An
 * entry holds the key's 128-bit hash, the time it was first seen and,
 * when the set is bounded, its place in a least-recently-seen list (slot
 * numbers).  An unbounded set doubles as it fills (no list to keep); a
 * bounded one is allocated once and evicts, deleting by backward shift and
 * mending the list as entries move.  32 bytes per slot, at most 3/4 full.
 */
#include <sys/mman.h>

#include <stdlib.h>
#include <string.h>

#include "store.h"

#define NIL UINT32_MAX

struct entry {
	uint64_t hi, lo;	/* both 0: empty */
	int64_t t;		/* first seen (or re-seen after expiring) */
	uint32_t prev, next;	/* LRU list, when bounded */
};

struct ev_keyset {
	struct entry *e;
	uint64_t *val;		/* --validate: per slot, the hash of the
				   validated part and where the key was
				   first seen; NULL without */
	size_t mask;		/* slots - 1 */
	size_t n;		/* keys held */
	size_t max;		/* 0: unbounded */
	uint32_t head, tail;	/* most, least recently seen */
};

/* An unbounded set starts with 2^14 slots (512 KiB) and doubles. */
#define FIRST_SLOTS ((size_t)1 << 14)

/*
 * Tables come from mmap(2), zeroed, in transparent huge pages where the
 * system allows it: the first touch of a page is a fault, and with keys
 * spread at random over the table every page is touched; 2 MiB pages make
 * that 512 times fewer faults.  No swap is reserved (MAP_NORESERVE): a
 * bounded set maps its whole table at once, and only the pages its keys
 * touch take memory.
 */
static void *
table_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	if (size >= ((size_t)2 << 20))
		madvise(p, size, MADV_HUGEPAGE);
#endif
	return p;
}

static void
table_free(void *p, size_t size)
{
	if (p != NULL)
		munmap(p, size);
}

static size_t
slots_for(size_t keys)
{
	size_t s = keys ? 1024 : FIRST_SLOTS;

	while (s / 4 * 3 < keys)
		s *= 2;
	return s;
}

struct ev_keyset *
ev_keyset_new(size_t max_keys, int values)
{
	struct ev_keyset *ks = calloc(1, sizeof(*ks));
	size_t slots;

	if (ks == NULL || max_keys > EV_KEYSET_MAX_KEYS) {
		free(ks);
		return NULL;
	}
	ks->max = max_keys;
	slots = slots_for(max_keys);
	ks->mask = slots - 1;
	ks->head = ks->tail = NIL;
	ks->e = table_alloc(slots * sizeof(*ks->e));
	if (values)
		ks->val = table_alloc(slots * 2 * sizeof(*ks->val));
	if (ks->e == NULL || (values && ks->val == NULL)) {
		table_free(ks->e, slots * sizeof(*ks->e));
		free(ks);
		return NULL;
	}
	return ks;
}

void
ev_keyset_free(struct ev_keyset *ks)
{
	if (ks == NULL)
		return;
	table_free(ks->e, (ks->mask + 1) * sizeof(*ks->e));
	table_free(ks->val, (ks->mask + 1) * 2 * sizeof(*ks->val));
	free(ks);
}

size_t
ev_keyset_count(const struct ev_keyset *ks)
{
	return ks->n;
}

static int
empty(const struct entry *x)
{
	return x->hi == 0 && x->lo == 0;
}

static void
lru_unlink(struct ev_keyset *ks, uint32_t i)
{
	struct entry *x = &ks->e[i];

	if (x->prev != NIL)
		ks->e[x->prev].next = x->next;
	else
		ks->head = x->next;
	if (x->next != NIL)
		ks->e[x->next].prev = x->prev;
	else
		ks->tail = x->prev;
}

static void
lru_front(struct ev_keyset *ks, uint32_t i)
{
	struct entry *x = &ks->e[i];

	x->prev = NIL;
	x->next = ks->head;
	if (ks->head != NIL)
		ks->e[ks->head].prev = i;
	ks->head = i;
	if (ks->tail == NIL)
		ks->tail = i;
}

/* Move the entry in slot from to the empty slot to, mending the list. */
static void
move_entry(struct ev_keyset *ks, size_t from, size_t to)
{
	struct entry *x = &ks->e[to];

	*x = ks->e[from];
	memset(&ks->e[from], 0, sizeof(*x));
	if (ks->val != NULL) {
		ks->val[2 * to] = ks->val[2 * from];
		ks->val[2 * to + 1] = ks->val[2 * from + 1];
	}
	if (x->prev != NIL)
		ks->e[x->prev].next = (uint32_t)to;
	else
		ks->head = (uint32_t)to;
	if (x->next != NIL)
		ks->e[x->next].prev = (uint32_t)to;
	else
		ks->tail = (uint32_t)to;
}

/* Empty slot s (unlinked already), shifting its probe chain back. */
static void
slot_delete(struct ev_keyset *ks, size_t s)
{
	size_t j = s, home;

	memset(&ks->e[s], 0, sizeof(ks->e[s]));
	for (;;) {
		j = (j + 1) & ks->mask;
		if (empty(&ks->e[j]))
			return;
		home = ks->e[j].lo & ks->mask;
		/* j stays when its home lies cyclically in (s, j]. */
		if (s <= j ? (s < home && home <= j) : (s < home || home <= j))
			continue;
		move_entry(ks, j, s);
		s = j;
	}
}

/* Double an unbounded set (no list to keep). */
static int
grow(struct ev_keyset *ks)
{
	size_t nmask = ks->mask * 2 + 1, i, s;
	struct entry *ne = table_alloc((nmask + 1) * sizeof(*ne));
	uint64_t *nv = NULL;

	if (ne != NULL && ks->val != NULL &&
	    (nv = table_alloc((nmask + 1) * 2 * sizeof(*nv))) == NULL) {
		table_free(ne, (nmask + 1) * sizeof(*ne));
		return -1;
	}
	if (ne == NULL)
		return -1;
	for (i = 0; i <= ks->mask; i++) {
		if (empty(&ks->e[i]))
			continue;
		s = ks->e[i].lo & nmask;
		while (!empty(&ne[s]))
			s = (s + 1) & nmask;
		ne[s] = ks->e[i];
		if (nv != NULL) {
			nv[2 * s] = ks->val[2 * i];
			nv[2 * s + 1] = ks->val[2 * i + 1];
		}
	}
	table_free(ks->e, (ks->mask + 1) * sizeof(*ks->e));
	table_free(ks->val, (ks->mask + 1) * 2 * sizeof(*ks->val));
	ks->e = ne;
	ks->val = nv;
	ks->mask = nmask;
	return 0;
}

int
ev_keyset_seen(const struct ev_keyset *ks, const struct ev_key *key,
    int64_t now, int64_t ttl)
{
	struct ev_key k = *key;
	const struct entry *x;
	size_t s;

	if (k.hi == 0 && k.lo == 0)
		k.lo = 1;
	for (s = k.lo & ks->mask; !empty(x = &ks->e[s]);
	    s = (s + 1) & ks->mask)
		if (x->lo == k.lo && x->hi == k.hi)
			return !(ttl > 0 && now - x->t >= ttl);
	return 0;
}

int
ev_keyset_check(struct ev_keyset *ks, const struct ev_key *key, int64_t now,
    int64_t ttl)
{
	return ev_keyset_checkv(ks, key, now, ttl, 0, 0, NULL);
}

int
ev_keyset_checkv(struct ev_keyset *ks, const struct ev_key *key, int64_t now,
    int64_t ttl, uint64_t v, uint64_t at, uint64_t *first_at)
{
	struct ev_key k = *key;
	struct entry *x;
	size_t s;

	if (k.hi == 0 && k.lo == 0)
		k.lo = 1;	/* 0 marks an empty slot */
	for (s = k.lo & ks->mask; !empty(x = &ks->e[s]);
	    s = (s + 1) & ks->mask) {
		if (x->lo != k.lo || x->hi != k.hi)
			continue;
		if (ks->max) {
			lru_unlink(ks, (uint32_t)s);
			lru_front(ks, (uint32_t)s);
		}
		if (ttl > 0 && now - x->t >= ttl) {
			x->t = now;
			if (ks->val != NULL) {
				ks->val[2 * s] = v;
				ks->val[2 * s + 1] = at;
			}
			return 0;
		}
		if (ks->val != NULL && ks->val[2 * s] != v) {
			if (first_at != NULL)
				*first_at = ks->val[2 * s + 1];
			return 2;
		}
		return 1;
	}
	if (ks->max && ks->n >= ks->max) {
		/* Evict the least recently seen key, then probe again. */
		s = ks->tail;
		lru_unlink(ks, (uint32_t)s);
		slot_delete(ks, s);
		ks->n--;
	} else if (!ks->max && (ks->n + 1) * 4 > (ks->mask + 1) * 3) {
		if (grow(ks) < 0)
			return -1;
	}
	for (s = k.lo & ks->mask; !empty(&ks->e[s]); s = (s + 1) & ks->mask)
		;
	x = &ks->e[s];
	x->hi = k.hi;
	x->lo = k.lo;
	x->t = now;
	if (ks->val != NULL) {
		ks->val[2 * s] = v;
		ks->val[2 * s + 1] = at;
	}
	if (ks->max)
		lru_front(ks, (uint32_t)s);
	ks->n++;
	return 0;
}
