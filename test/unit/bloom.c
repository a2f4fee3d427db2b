/*
 * Unit tests for lib/store/bloom.c: the Bloom filter over dedupe keys has
 * no false negatives, and its false-positive rate stays in bounds at its
 * capacity.
 */
#include <stdio.h>

#include "evkit.h"
#include "store/store_int.h"
#include "tap.h"

static void
key(unsigned long i, const char *pfx, struct ev_key *k)
{
	char b[64];
	int n = snprintf(b, sizeof(b), "%s-%lu", pfx, i);

	ev_key_hash(b, (size_t)n, k);
}

int
main(void)
{
	struct ev_bloom b = { 0 };
	struct ev_key k;
	unsigned long i, n = 200000, misses = 0, fp = 0, probes = 200000;

	ok(ev_bloom_alloc(&b, 0, EV_BLOOM_HASHES) == 0, "an empty filter");
	key(1, "in", &k);
	is_int(ev_bloom_may(&b, &k), 0, "holds nothing");
	ev_bloom_add(&b, &k);
	is_int(ev_bloom_may(&b, &k), 0, "and takes nothing");
	ok(ev_bloom_alloc(&b, 12, 7) < 0, "bits not a multiple of 8 refused");
	ok(ev_bloom_alloc(&b, 64, 0) < 0, "no hashes refused");

	ok(ev_bloom_init(&b, 10) == 0, "a filter for 10 keys");
	is_int((long long)b.nbits, EV_BLOOM_CHUNK * 8, "is one chunk");
	ok(ev_bloom_init(&b, n) == 0, "a filter for 200000 keys");
	ok(b.nbits >= n * EV_BLOOM_BITS_PER_KEY &&
	    b.nbits % (EV_BLOOM_CHUNK * 8) == 0, "10 bits a key, whole chunks");
	/* As full as it gets: as many keys as its chunks hold. */
	n = (unsigned long)(b.nbits / EV_BLOOM_BITS_PER_KEY);
	for (i = 0; i < n; i++) {
		key(i, "in", &k);
		ev_bloom_add(&b, &k);
	}
	for (i = 0; i < n; i++) {
		key(i, "in", &k);
		misses += !ev_bloom_may(&b, &k);
	}
	is_int(misses, 0, "no false negatives over %lu keys", n);
	for (i = 0; i < probes; i++) {
		key(i, "out", &k);
		fp += ev_bloom_may(&b, &k);
	}
	printf("# false positives: %lu of %lu\n", fp, probes);
	ok(fp < probes / 50, "false positives under 2%% at capacity");
	ok(fp > 0, "and some (the filter is not a set)");
	/* Keys that differ only in their high or low half. */
	key(1, "in", &k);
	k.lo ^= 0x8000;
	fp = ev_bloom_may(&b, &k);
	key(1, "in", &k);
	k.hi ^= 0x10;
	ok(fp + (unsigned long)ev_bloom_may(&b, &k) < 2,
	    "both halves of the hash count");
	ev_bloom_free(&b);
	ok(b.bits == NULL && b.nbits == 0, "freed");
	return tap_done();
}
