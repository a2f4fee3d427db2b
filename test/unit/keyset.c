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
	return tap_done();
}
