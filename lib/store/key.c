/*
 * key.c - dedupe keys: the 128-bit XXH3 hash (libxxhash) of a key's
 * canonical bytes.
 */
#include <xxhash.h>

#include "store.h"

void
ev_key_hash(const void *buf, size_t len, struct ev_key *k)
{
	XXH128_hash_t h = XXH3_128bits(buf, len);

	k->hi = h.high64;
	k->lo = h.low64;
}

uint64_t
ev_key_hash64(const void *buf, size_t len)
{
	return XXH3_64bits(buf, len);
}
