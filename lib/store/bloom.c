/*
 * bloom.c - a Bloom filter over dedupe keys (evdedupe's big table): k bit
 * positions derived from the key's 128-bit hash by double hashing (the low
 * 64 bits the start, the high 64 the step), so nothing is hashed again.
 * No false negatives; about 1% false positives at 10 bits a key.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

int
ev_bloom_init(struct ev_bloom *b, uint64_t keys)
{
	uint64_t nbytes;

	nbytes = (keys * EV_BLOOM_BITS_PER_KEY + 7) / 8;
	nbytes = (nbytes + EV_BLOOM_CHUNK - 1) / EV_BLOOM_CHUNK *
	    EV_BLOOM_CHUNK;
	if (nbytes == 0)
		nbytes = EV_BLOOM_CHUNK;
	return ev_bloom_alloc(b, nbytes * 8, EV_BLOOM_HASHES);
}

int
ev_bloom_alloc(struct ev_bloom *b, uint64_t nbits, int k)
{
	uint8_t *p = NULL;

	if (nbits % 8 != 0 || k < 1 || k > 32 ||
	    nbits / 8 > (uint64_t)SIZE_MAX)
		return -1;
	if (nbits > 0 && (p = calloc(1, (size_t)(nbits / 8))) == NULL)
		return -1;
	free(b->bits);
	b->bits = p;
	b->nbits = nbits;
	b->k = k;
	return 0;
}

void
ev_bloom_free(struct ev_bloom *b)
{
	free(b->bits);
	b->bits = NULL;
	b->nbits = 0;
}

void
ev_bloom_add(struct ev_bloom *b, const struct ev_key *key)
{
	uint64_t h = key->lo, step = key->hi | 1, i;
	int j;

	if (b->nbits == 0)
		return;
	for (j = 0; j < b->k; j++, h += step) {
		i = h % b->nbits;
		b->bits[i >> 3] |= (uint8_t)(1u << (i & 7));
	}
}

/*
 * The bytes of key's first two bit positions on their way to the cache:
 * a key never added stops at one of them most of the time.
 */
void
ev_bloom_prefetch(const struct ev_bloom *b, const struct ev_key *key)
{
	uint64_t h = key->lo, step = key->hi | 1, i;

	if (b->nbits == 0)
		return;
	i = h % b->nbits;
	__builtin_prefetch(&b->bits[i >> 3], 0, 3);
	if (b->k > 1) {
		i = (h + step) % b->nbits;
		__builtin_prefetch(&b->bits[i >> 3], 0, 3);
	}
}

int
ev_bloom_may(const struct ev_bloom *b, const struct ev_key *key)
{
	uint64_t h = key->lo, step = key->hi | 1, i;
	int j;

	if (b->nbits == 0)
		return 0;
	for (j = 0; j < b->k; j++, h += step) {
		i = h % b->nbits;
		if (!(b->bits[i >> 3] & (1u << (i & 7))))
			return 0;
	}
	return 1;
}
