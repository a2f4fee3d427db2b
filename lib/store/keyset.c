/*
 * keyset.c - the in-memory key set: open addressing (linear probing) over
 * an index of entry numbers, entries in one array with the time a key was
 * first seen and, when the set is bounded, a least-recently-seen list.
 * 32 bytes per entry and 4 to 8 per index slot.
 */
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define NIL UINT32_MAX

struct entry {
	uint64_t hi, lo;
	int64_t t;		/* first seen (or re-seen after expiring) */
	uint32_t prev, next;	/* LRU list, when bounded */
};

struct ev_keyset {
	struct entry *e;
	size_t n, cap;		/* entries used, allocated */
	uint32_t *slot;		/* entry number + 1; 0 empty */
	size_t mask;		/* slots - 1 */
	size_t max;		/* 0: unbounded */
	uint32_t head, tail;	/* most, least recently seen */
};

struct ev_keyset *
ev_keyset_new(size_t max_keys)
{
	struct ev_keyset *ks = calloc(1, sizeof(*ks));

	if (ks == NULL)
		return NULL;
	if (max_keys >= NIL / 2)
		max_keys = 0;
	ks->max = max_keys;
	ks->mask = 1023;
	ks->slot = calloc(ks->mask + 1, sizeof(*ks->slot));
	ks->head = ks->tail = NIL;
	if (ks->slot == NULL) {
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
	free(ks->e);
	free(ks->slot);
	free(ks);
}

size_t
ev_keyset_count(const struct ev_keyset *ks)
{
	return ks->n;
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

/* The slot where entry i sits. */
static size_t
find_slot(const struct ev_keyset *ks, uint32_t i)
{
	size_t s = ks->e[i].lo & ks->mask;

	while (ks->slot[s] != i + 1)
		s = (s + 1) & ks->mask;
	return s;
}

/* Empty slot s, shifting the probe chain after it back (no tombstones). */
static void
slot_delete(struct ev_keyset *ks, size_t s)
{
	size_t j = s, home;

	for (;;) {
		ks->slot[s] = 0;
		for (;;) {
			j = (j + 1) & ks->mask;
			if (ks->slot[j] == 0)
				return;
			home = ks->e[ks->slot[j] - 1].lo & ks->mask;
			/* Move j back to s unless its home lies in (s, j]. */
			if (s <= j ? (s < home && home <= j) :
			    (s < home || home <= j))
				continue;
			break;
		}
		ks->slot[s] = ks->slot[j];
		s = j;
	}
}

static int
grow_slots(struct ev_keyset *ks)
{
	size_t nmask = ks->mask * 2 + 1, i, s;
	uint32_t *ns = calloc(nmask + 1, sizeof(*ns));

	if (ns == NULL)
		return -1;
	for (i = 0; i < ks->n; i++) {
		s = ks->e[i].lo & nmask;
		while (ns[s] != 0)
			s = (s + 1) & nmask;
		ns[s] = (uint32_t)i + 1;
	}
	free(ks->slot);
	ks->slot = ns;
	ks->mask = nmask;
	return 0;
}

int
ev_keyset_check(struct ev_keyset *ks, const struct ev_key *k, int64_t now,
    int64_t ttl)
{
	size_t s = k->lo & ks->mask;
	uint32_t i;
	struct entry *x, *ne;
	size_t ncap;

	while ((i = ks->slot[s]) != 0) {
		x = &ks->e[i - 1];
		if (x->lo == k->lo && x->hi == k->hi) {
			if (ks->max) {
				lru_unlink(ks, i - 1);
				lru_front(ks, i - 1);
			}
			if (ttl > 0 && now - x->t >= ttl) {
				x->t = now;
				return 0;
			}
			return 1;
		}
		s = (s + 1) & ks->mask;
	}
	if (ks->max && ks->n >= ks->max) {
		/* Reuse the least recently seen key's entry. */
		i = ks->tail;
		slot_delete(ks, find_slot(ks, i));
		lru_unlink(ks, i);
	} else {
		if ((ks->n + 1) * 4 > (ks->mask + 1) * 3) {
			if (grow_slots(ks) < 0)
				return -1;
		}
		if (ks->n == ks->cap) {
			ncap = ks->cap ? ks->cap * 2 : 1024;
			if (ks->max && ncap > ks->max)
				ncap = ks->max;
			ne = realloc(ks->e, ncap * sizeof(*ne));
			if (ne == NULL)
				return -1;
			ks->e = ne;
			ks->cap = ncap;
		}
		i = (uint32_t)ks->n++;
	}
	x = &ks->e[i];
	x->hi = k->hi;
	x->lo = k->lo;
	x->t = now;
	if (ks->max)
		lru_front(ks, i);
	s = k->lo & ks->mask;
	while (ks->slot[s] != 0)
		s = (s + 1) & ks->mask;
	ks->slot[s] = i + 1;
	return 0;
}
