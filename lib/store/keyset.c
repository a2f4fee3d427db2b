/*
 * keyset.c - the in-memory key set: open addressing (linear probing) over
 * an array of the keys' 128-bit hashes (16 bytes a slot), with side arrays
 * in the same slot order for what a set keeps besides: the time each key
 * was first seen (EV_KEYSET_TIMES, for --ttl), its place in a
 * least-recently-seen list (bounded sets, slot numbers) and its value and
 * location (EV_KEYSET_VALUES).  A plain set, the common case, is the key
 * array alone: a lookup touches one cache line.  An unbounded set doubles
 * as it fills (no list to keep); a bounded one is allocated once and
 * evicts, deleting by backward shift and mending the list as entries move.
 * At most 3/4 full.
 *
 * A key's home slot is not a bit field of its hash, which anyone can aim
 * at by choosing keys, but a seeded hash of it (XXH3-64 of the 128 bits
 * with a random seed per set): keys made to collide in one process do not
 * collide in another.  The key itself (what a state file stores) does not
 * depend on the seed.
 */
#include <sys/mman.h>
#include <sys/random.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "store.h"

#define NIL UINT32_MAX

struct slot {
	uint64_t hi, lo;	/* both 0: empty */
};

struct link {
	uint32_t prev, next;	/* LRU list, when bounded */
};

struct ev_keyset {
	struct slot *e;
	int64_t *t;		/* EV_KEYSET_TIMES: first seen (or re-seen
				   after expiring); else NULL */
	struct link *lru;	/* bounded: the list; else NULL */
	uint64_t *val;		/* EV_KEYSET_VALUES: per slot, the hash of
				   the validated part and where the key was
				   first seen; else NULL */
	size_t mask;		/* slots - 1 */
	size_t n;		/* keys held */
	size_t max;		/* 0: unbounded */
	uint64_t seed;		/* of the home slots */
	uint32_t head, tail;	/* most, least recently seen */
};

/* An unbounded set starts with 2^14 slots (256 KiB) and doubles. */
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

/* The arrays of a set of slots slots, as in ks (flags from ks). */
struct tables {
	struct slot *e;
	int64_t *t;
	struct link *lru;
	uint64_t *val;
};

static void
tables_free(struct tables *tb, size_t slots)
{
	table_free(tb->e, slots * sizeof(*tb->e));
	table_free(tb->t, slots * sizeof(*tb->t));
	table_free(tb->lru, slots * sizeof(*tb->lru));
	table_free(tb->val, slots * 2 * sizeof(*tb->val));
}

static int
tables_alloc(struct tables *tb, size_t slots, int times, int lru, int values)
{
	memset(tb, 0, sizeof(*tb));
	tb->e = table_alloc(slots * sizeof(*tb->e));
	if (times)
		tb->t = table_alloc(slots * sizeof(*tb->t));
	if (lru)
		tb->lru = table_alloc(slots * sizeof(*tb->lru));
	if (values)
		tb->val = table_alloc(slots * 2 * sizeof(*tb->val));
	if (tb->e == NULL || (times && tb->t == NULL) ||
	    (lru && tb->lru == NULL) || (values && tb->val == NULL)) {
		tables_free(tb, slots);
		return -1;
	}
	return 0;
}

static size_t
slots_for(size_t keys)
{
	size_t s = keys ? 1024 : FIRST_SLOTS;

	while (s / 4 * 3 < keys)
		s *= 2;
	return s;
}

/* A seed nobody outside this process knows (or can guess cheaply). */
static uint64_t
new_seed(void)
{
	struct timespec ts;
	uint64_t s;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) == (ssize_t)sizeof(s))
		return s;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	s = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^
	    (uint64_t)getpid() << 16 ^ (uint64_t)(uintptr_t)&ts;
	return XXH3_64bits(&s, sizeof(s));
}

/* The slot hash of k (not 0 0), whose low bits are its home slot. */
static uint64_t
home_hash(uint64_t seed, uint64_t hi, uint64_t lo)
{
	uint64_t b[2] = { hi, lo };

	return XXH3_64bits_withSeed(b, sizeof(b), seed);
}

static size_t
home(const struct ev_keyset *ks, uint64_t hi, uint64_t lo)
{
	return (size_t)home_hash(ks->seed, hi, lo) & ks->mask;
}

struct ev_keyset *
ev_keyset_new(size_t max_keys, int flags)
{
	struct ev_keyset *ks = calloc(1, sizeof(*ks));
	struct tables tb;
	size_t slots;

	if (ks == NULL || max_keys > EV_KEYSET_MAX_KEYS) {
		free(ks);
		return NULL;
	}
	ks->max = max_keys;
	slots = slots_for(max_keys);
	ks->mask = slots - 1;
	ks->head = ks->tail = NIL;
	ks->seed = new_seed();
	if (tables_alloc(&tb, slots, (flags & EV_KEYSET_TIMES) != 0,
	    max_keys != 0, (flags & EV_KEYSET_VALUES) != 0) < 0) {
		free(ks);
		return NULL;
	}
	ks->e = tb.e;
	ks->t = tb.t;
	ks->lru = tb.lru;
	ks->val = tb.val;
	return ks;
}

static void
ks_tables(const struct ev_keyset *ks, struct tables *tb)
{
	tb->e = ks->e;
	tb->t = ks->t;
	tb->lru = ks->lru;
	tb->val = ks->val;
}

void
ev_keyset_free(struct ev_keyset *ks)
{
	struct tables tb;

	if (ks == NULL)
		return;
	ks_tables(ks, &tb);
	tables_free(&tb, ks->mask + 1);
	free(ks);
}

size_t
ev_keyset_count(const struct ev_keyset *ks)
{
	return ks->n;
}

int
ev_keyset_seed(struct ev_keyset *ks, uint64_t seed)
{
	if (ks->n != 0)
		return -1;
	ks->seed = seed;
	return 0;
}

static void
fix_key(struct ev_key *k)
{
	if (k->hi == 0 && k->lo == 0)
		k->lo = 1;	/* 0 0 marks an empty slot */
}

size_t
ev_keyset_slot(const struct ev_keyset *ks, const struct ev_key *key)
{
	struct ev_key k = *key;

	fix_key(&k);
	return home(ks, k.hi, k.lo);
}

void
ev_keyset_prefetch(const struct ev_keyset *ks, const struct ev_key *key)
{
	__builtin_prefetch(&ks->e[ev_keyset_slot(ks, key)], 1, 3);
}

static int
empty(const struct slot *x)
{
	return x->hi == 0 && x->lo == 0;
}

static void
lru_unlink(struct ev_keyset *ks, uint32_t i)
{
	struct link *x = &ks->lru[i];

	if (x->prev != NIL)
		ks->lru[x->prev].next = x->next;
	else
		ks->head = x->next;
	if (x->next != NIL)
		ks->lru[x->next].prev = x->prev;
	else
		ks->tail = x->prev;
}

static void
lru_front(struct ev_keyset *ks, uint32_t i)
{
	struct link *x = &ks->lru[i];

	x->prev = NIL;
	x->next = ks->head;
	if (ks->head != NIL)
		ks->lru[ks->head].prev = i;
	ks->head = i;
	if (ks->tail == NIL)
		ks->tail = i;
}

/* Move the entry in slot from to the empty slot to, mending the list. */
static void
move_entry(struct ev_keyset *ks, size_t from, size_t to)
{
	struct link *x;

	ks->e[to] = ks->e[from];
	memset(&ks->e[from], 0, sizeof(ks->e[from]));
	if (ks->t != NULL)
		ks->t[to] = ks->t[from];
	if (ks->val != NULL) {
		ks->val[2 * to] = ks->val[2 * from];
		ks->val[2 * to + 1] = ks->val[2 * from + 1];
	}
	if (ks->lru == NULL)
		return;
	x = &ks->lru[to];
	*x = ks->lru[from];
	if (x->prev != NIL)
		ks->lru[x->prev].next = (uint32_t)to;
	else
		ks->head = (uint32_t)to;
	if (x->next != NIL)
		ks->lru[x->next].prev = (uint32_t)to;
	else
		ks->tail = (uint32_t)to;
}

/* Empty slot s (unlinked already), shifting its probe chain back. */
static void
slot_delete(struct ev_keyset *ks, size_t s)
{
	size_t j = s, h;

	memset(&ks->e[s], 0, sizeof(ks->e[s]));
	for (;;) {
		j = (j + 1) & ks->mask;
		if (empty(&ks->e[j]))
			return;
		h = home(ks, ks->e[j].hi, ks->e[j].lo);
		/* j stays when its home lies cyclically in (s, j]. */
		if (s <= j ? (s < h && h <= j) : (s < h || h <= j))
			continue;
		move_entry(ks, j, s);
		s = j;
	}
}

/* Rehash an unbounded set (no list to keep) into slots slots. */
static int
resize(struct ev_keyset *ks, size_t slots)
{
	size_t nmask = slots - 1, i, s;
	struct tables tb, old;

	if (tables_alloc(&tb, slots, ks->t != NULL, 0, ks->val != NULL) < 0)
		return -1;
	for (i = 0; i <= ks->mask; i++) {
		if (empty(&ks->e[i]))
			continue;
		s = (size_t)home_hash(ks->seed, ks->e[i].hi, ks->e[i].lo) &
		    nmask;
		while (!empty(&tb.e[s]))
			s = (s + 1) & nmask;
		tb.e[s] = ks->e[i];
		if (tb.t != NULL)
			tb.t[s] = ks->t[i];
		if (tb.val != NULL) {
			tb.val[2 * s] = ks->val[2 * i];
			tb.val[2 * s + 1] = ks->val[2 * i + 1];
		}
	}
	ks_tables(ks, &old);
	tables_free(&old, ks->mask + 1);
	ks->e = tb.e;
	ks->t = tb.t;
	ks->val = tb.val;
	ks->mask = nmask;
	return 0;
}

int
ev_keyset_reserve(struct ev_keyset *ks, size_t keys)
{
	size_t slots;

	if (ks->max || keys > EV_KEYSET_MAX_KEYS)
		return 0;
	slots = slots_for(keys);
	return slots > ks->mask + 1 ? resize(ks, slots) : 0;
}

int
ev_keyset_seen(const struct ev_keyset *ks, const struct ev_key *key,
    int64_t now, int64_t ttl)
{
	struct ev_key k = *key;
	const struct slot *x;
	size_t s;

	fix_key(&k);
	for (s = home(ks, k.hi, k.lo); !empty(x = &ks->e[s]);
	    s = (s + 1) & ks->mask)
		if (x->lo == k.lo && x->hi == k.hi)
			return !(ttl > 0 && ks->t != NULL &&
			    now - ks->t[s] >= ttl);
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
	struct slot *x;
	size_t s, h;

	fix_key(&k);
	if (ks->t == NULL)
		ttl = 0;	/* a set without times keeps keys for ever */
	h = home(ks, k.hi, k.lo);
	for (s = h; !empty(x = &ks->e[s]); s = (s + 1) & ks->mask) {
		if (x->lo != k.lo || x->hi != k.hi)
			continue;
		if (ks->lru != NULL) {
			lru_unlink(ks, (uint32_t)s);
			lru_front(ks, (uint32_t)s);
		}
		if (ttl > 0 && now - ks->t[s] >= ttl) {
			ks->t[s] = now;
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
		if (resize(ks, (ks->mask + 1) * 2) < 0)
			return -1;
		h = home(ks, k.hi, k.lo);
	}
	for (s = h; !empty(&ks->e[s]); s = (s + 1) & ks->mask)
		;
	x = &ks->e[s];
	x->hi = k.hi;
	x->lo = k.lo;
	if (ks->t != NULL)
		ks->t[s] = now;
	if (ks->val != NULL) {
		ks->val[2 * s] = v;
		ks->val[2 * s + 1] = at;
	}
	if (ks->lru != NULL)
		lru_front(ks, (uint32_t)s);
	ks->n++;
	return 0;
}
