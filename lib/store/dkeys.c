/*
 * dkeys.c - evdedupe's keys in a database: the public calls, dispatched
 * to the backend's table of operations.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

int
ev_dkeys_open(struct ev_db *db, struct ev_err *err)
{
	return db->be->dkeys->open(db, err);
}

int
ev_dkeys_check(struct ev_db *db, const struct ev_key *k, int64_t now,
    int64_t ttl, struct ev_err *err)
{
	return db->be->dkeys->check(db, k, now, ttl, err);
}

int
ev_dkeys_checkv(struct ev_db *db, const struct ev_key *k, int64_t now,
    int64_t ttl, uint64_t v, const char *at, char *first, size_t size,
    struct ev_err *err)
{
	return db->be->dkeys->checkv(db, k, now, ttl, v, at, first, size, err);
}

int
ev_dkeys_claim(struct ev_db *db, const struct ev_key *k, int64_t now,
    int64_t ttl, int64_t lease, struct ev_err *err)
{
	return db->be->dkeys->claim(db, k, now, ttl, lease, err);
}

int
ev_dkeys_complete(struct ev_db *db, const struct ev_key *k, int64_t now,
    struct ev_err *err)
{
	return db->be->dkeys->complete(db, k, now, err);
}

int
ev_dkeys_stat(struct ev_db *db, struct ev_dkeys_stat *st, struct ev_err *err)
{
	return db->be->dkeys->stat(db, st, err);
}

int
ev_dkeys_expire(struct ev_db *db, int64_t now, int64_t ttl, int64_t *n,
    struct ev_err *err)
{
	return db->be->dkeys->expire(db, now, ttl, n, err);
}

int
ev_dkeys_merge(struct ev_db *db, struct ev_err *err)
{
	return db->be->dkeys->merge(db, err);
}

void
ev_dkeys_prefetch(struct ev_db *db, const struct ev_key *k)
{
	if (db->be->dkeys->prefetch != NULL)
		db->be->dkeys->prefetch(db, k);
}

/* EVKIT_PG_BATCH=0 (for tests): a key at a time, as without a batch. */
int
ev_dkeys_batched(const struct ev_db *db)
{
	const char *e = getenv("EVKIT_PG_BATCH");

	return db->be->dkeys->batch != NULL && (e == NULL || strcmp(e, "0"));
}

int
ev_dkeys_batch(struct ev_db *db, int how, struct ev_dkeys_req *r, size_t n,
    int64_t ttl, int64_t lease, struct ev_buf *firsts, struct ev_err *err)
{
	return db->be->dkeys->batch(db, how, r, n, ttl, lease, firsts, err);
}
