/*
 * Unit tests for lib/store/keyset.c and key.c: membership, TTL windows,
 * LRU eviction against a model, growth past many resizes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evkit.h"
#include "tap.h"

static void
key_of(unsigned long i, struct ev_key *k)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "k%lu", i);
	ev_key_hash(buf, strlen(buf), k);
}

/*
 * Times and values live in arrays beside the keys': they move with their
 * key when eviction shifts a probe chain back, and a set without times
 * keeps its keys for ever.
 */
static void
test_side(void)
{
	static long last[64], born[64];
	struct ev_keyset *ks;
	struct ev_key k;
	uint64_t at;
	unsigned long i, bad, badv;
	long tick;
	int r, j, n, in_model;

	ks = ev_keyset_new(16, EV_KEYSET_TIMES | EV_KEYSET_VALUES);
	srand(11);
	for (tick = 1, bad = badv = 0; tick <= 100000; tick++) {
		j = rand() % 64;
		/* held: among the 16 most recently seen, born < 20 ago */
		in_model = 0;
		if (last[j]) {
			for (n = 0, i = 0; i < 64; i++)
				n += last[i] > last[j];
			in_model = n < 16 && tick - born[j] < 20;
		}
		key_of((unsigned long)j, &k);
		at = 0;
		/* a key's value is its number: never a conflict */
		r = ev_keyset_checkv(ks, &k, tick, 20, (uint64_t)j + 1,
		    (uint64_t)tick, &at);
		bad += (r == 1) != in_model;
		badv += r == 2;
		if (!in_model)
			born[j] = tick;
		last[j] = tick;
	}
	is_int(bad, 0, "bounded, with times and values: LRU and TTL match "
	    "the model");
	is_int(badv, 0, "values stay with their keys as entries move");
	key_of(1000, &k);
	ev_keyset_checkv(ks, &k, tick, 1000, 5, 77, NULL);
	ok(ev_keyset_checkv(ks, &k, tick, 1000, 6, 78, &at) == 2 && at == 77,
	    "another value: a conflict, with the first location");
	ev_keyset_free(ks);

	ks = ev_keyset_new(0, 0);
	key_of(1, &k);
	ev_keyset_check(ks, &k, 0, 0);
	is_int(ev_keyset_check(ks, &k, 1000000, 10), 1,
	    "no times kept: a TTL has no effect");
	is_int(ev_keyset_seen(ks, &k, 1000000, 10), 1, "nor for seen");
	for (i = 2; i <= 1000; i++) {
		key_of(i, &k);
		ev_keyset_check(ks, &k, 0, 0);
	}
	is_int(ev_keyset_reserve(ks, 100000), 0, "room made for 100k keys");
	for (i = 1, bad = 0; i <= 1000; i++) {
		key_of(i, &k);
		bad += ev_keyset_seen(ks, &k, 0, 0) != 1;
	}
	is_int(bad, 0, "the keys held are still held");
	ev_keyset_free(ks);
}

/*
 * Home slots come from a seeded hash: keys whose hashes agree in their
 * low bits (which an attacker can find by trying keys) spread over the
 * table, and another seed gives other slots.
 */
static void
test_seed(void)
{
	static unsigned char used[1 << 14];
	struct ev_keyset *a, *b;
	struct ev_key k, first, col[200];
	unsigned long i, n, diff, distinct;
	char buf[32];

	/* 200 keys agreeing in the low 10 bits of lo */
	for (i = 0, n = 0; n < 200; i++) {
		snprintf(buf, sizeof(buf), "c%lu", i);
		ev_key_hash(buf, strlen(buf), &k);
		if (i == 0)
			first = k;
		if ((k.lo & 1023) == (first.lo & 1023))
			col[n++] = k;
	}
	a = ev_keyset_new(0, 0);
	b = ev_keyset_new(0, 0);
	ok(ev_keyset_seed(a, 1) == 0 && ev_keyset_seed(b, 2) == 0,
	    "an empty set takes a seed");
	for (i = 0, diff = 0, distinct = 0; i < 200; i++) {
		diff += ev_keyset_slot(a, &col[i]) != ev_keyset_slot(b, &col[i]);
		if (!used[ev_keyset_slot(a, &col[i])]++)
			distinct++;
	}
	ok(diff >= 190, "another seed, other slots (%lu of 200)", diff);
	ok(distinct >= 190, "colliding low bits, spread slots (%lu of 200 "
	    "distinct in 16384)", distinct);
	ok(ev_keyset_slot(a, &col[0]) == ev_keyset_slot(a, &col[0]),
	    "one seed, one slot");
	ev_keyset_check(a, &col[0], 0, 0);
	is_int(ev_keyset_seed(a, 3), -1, "a set holding keys keeps its seed");
	for (i = 0, n = 0; i < 200; i++)
		n += ev_keyset_check(a, &col[i], 0, 0) == 0;
	is_int(n, 199, "and its keys");
	ev_keyset_free(a);
	ev_keyset_free(b);
	/* two new sets get seeds of their own */
	a = ev_keyset_new(0, 0);
	b = ev_keyset_new(0, 0);
	for (i = 0, diff = 0; i < 200; i++)
		diff += ev_keyset_slot(a, &col[i]) != ev_keyset_slot(b, &col[i]);
	ok(diff >= 190, "random seeds: other slots (%lu of 200)", diff);
	ev_keyset_free(a);
	ev_keyset_free(b);
}

int
main(void)
{
	struct ev_keyset *ks;
	struct ev_key a, b, k;
	unsigned long i, bad;
	/* the LRU model: last[i] is when key i was last seen */
	static long last[64];
	long tick;
	int in_model, r, j, n;

	ev_key_hash("abc", 3, &a);
	ev_key_hash("abc", 3, &b);
	ok(a.hi == b.hi && a.lo == b.lo, "one input, one hash");
	ev_key_hash("abd", 3, &b);
	ok(a.hi != b.hi || a.lo != b.lo, "another input, another hash");
	ev_key_hash("", 0, &b);
	/* XXH3-128 of the empty input, from xxHash's own test vectors */
	ok(b.hi == 0x99aa06d3014798d8ULL && b.lo == 0x6001c324468d497fULL,
	    "XXH3-128, not a home-made hash");

	ks = ev_keyset_new(0, 0);
	ok(ks != NULL, "new");
	is_int(ev_keyset_check(ks, &a, 1000, 0), 0, "first time: new");
	is_int(ev_keyset_check(ks, &a, 2000, 0), 1, "second time: repeat");
	is_int(ev_keyset_check(ks, &a, 1000 + 86400000LL * 365, 0), 1,
	    "no ttl: forever");
	ev_keyset_free(ks);

	ks = ev_keyset_new(0, EV_KEYSET_TIMES);
	ev_keyset_check(ks, &a, 1000, 500);
	is_int(ev_keyset_check(ks, &a, 1499, 500), 1, "inside the window");
	is_int(ev_keyset_check(ks, &a, 1500, 500), 0, "at ttl: expired, new");
	is_int(ev_keyset_check(ks, &a, 1999, 500), 1, "the window restarts");
	ev_keyset_free(ks);

	/* Growth: a million keys, every one new once and a repeat after. */
	ks = ev_keyset_new(0, 0);
	for (i = 0, bad = 0; i < 1000000; i++) {
		key_of(i, &k);
		bad += ev_keyset_check(ks, &k, 0, 0) != 0;
	}
	is_int(bad, 0, "1M distinct keys all new");
	for (i = 0, bad = 0; i < 1000000; i++) {
		key_of(i, &k);
		bad += ev_keyset_check(ks, &k, 0, 0) != 1;
	}
	is_int(bad, 0, "1M keys all repeats");
	is_int(ev_keyset_count(ks), 1000000, "count");
	ev_keyset_free(ks);

	/*
	 * Bounded: random accesses to 64 keys in a set of 16, against a
	 * model that evicts the least recently seen.
	 */
	ks = ev_keyset_new(16, 0);
	memset(last, 0, sizeof(last));
	srand(7);
	for (tick = 1, bad = 0; tick <= 200000; tick++) {
		j = rand() % 64;
		/* in the model: among the 16 most recently seen keys */
		in_model = 0;
		if (last[j]) {
			for (n = 0, i = 0; i < 64; i++)
				n += last[i] > last[j];
			in_model = n < 16;
		}
		key_of((unsigned long)j, &k);
		r = ev_keyset_check(ks, &k, tick, 0);
		bad += r != in_model;
		last[j] = tick;
	}
	is_int(bad, 0, "LRU eviction matches the model over 200k steps");
	is_int(ev_keyset_count(ks), 16, "bounded count");
	ev_keyset_free(ks);
	ev_keyset_free(NULL);

	test_side();
	test_seed();
	return tap_done();
}
