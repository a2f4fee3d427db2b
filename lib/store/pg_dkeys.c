/*
 * pg_dkeys.c - evdedupe's keys on PostgreSQL (struct ev_dkeys_ops): one
 * table, each decision one INSERT ... ON CONFLICT DO UPDATE ... WHERE that
 * returns a row when the event passes.  A key another process decides at
 * the same moment waits on its row until that transaction ends, then is
 * decided against what it committed: every key passes once.  The table
 * is documented in evdedupe(1), POSTGRESQL.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

#define PG_DKEYS_VERSION 1

static const char ddl[] =
    "CREATE TABLE @keys ("
    " h int8 PRIMARY KEY,"
    " h2 int8 NOT NULL,"
    " seen int8 NOT NULL,"
    " claimed int8,"
    " v int8,"
    " at text);";

#define P(...) (const char *[]){ __VA_ARGS__ }

/* The key's columns of the statements below: $1 h, $2 h2. */
#define SAME "k.h2 = excluded.h2"
/* The row counts at $3 now with $4 ttl. */
#define LIVE "(" SAME " AND NOT ($4::int8 > 0 AND k.seen <= $3::int8 - $4)) "

static int
pd_open(struct ev_db *db, struct ev_err *err)
{
	int v;

	if (ev_pg_version(db, "evdedupe", &v, err) < 0)
		return -1;
	if (v == PG_DKEYS_VERSION)
		return 0;
	if (v > PG_DKEYS_VERSION) {
		ev_err_set(err, "%s: evdedupe tables are version %d; this "
		    "evdedupe reads version %d", db->name, v, PG_DKEYS_VERSION);
		return -1;
	}
	return ev_db_schema(db, "evdedupe", PG_DKEYS_VERSION, ddl, err);
}

/* Run a deciding statement: 0 when it returned a row (pass), else 1. */
static int
decide(struct ev_db *db, const char *sql, int n, const char *const *p,
    struct ev_err *err)
{
	PGresult *r = ev_pg_q(db, sql, n, p, err);
	int rows;

	if (r == NULL)
		return -1;
	rows = PQntuples(r);
	PQclear(r);
	return rows > 0 ? 0 : 1;
}

static int
pd_check(struct ev_db *db, const struct ev_key *k, int64_t now, int64_t ttl,
    struct ev_err *err)
{
	char h[24], h2[24], t[24], l[24];

	return decide(db, "INSERT INTO @keys AS k (h, h2, seen) VALUES ($1, "
	    "$2, $3) ON CONFLICT (h) DO UPDATE SET h2 = excluded.h2, seen = "
	    "excluded.seen, claimed = NULL, v = CASE WHEN " SAME " THEN k.v "
	    "END, at = CASE WHEN " SAME " THEN k.at END WHERE NOT " LIVE
	    "RETURNING 1", 4, P(ev_pg_i64(h, (int64_t)k->hi), ev_pg_i64(h2,
	    (int64_t)k->lo), ev_pg_i64(t, ev_pg_now(db, now)), ev_pg_i64(l,
	    ttl)), err);
}

static int
pd_checkv(struct ev_db *db, const struct ev_key *k, int64_t now, int64_t ttl,
    uint64_t v, const char *at, char *first, size_t size, struct ev_err *err)
{
	char h[24], h2[24], t[24], l[24], vs[24];
	PGresult *r;
	int d, ret = 1;

	ev_pg_i64(h, (int64_t)k->hi);
	d = decide(db, "INSERT INTO @keys AS k (h, h2, seen, v, at) VALUES "
	    "($1, $2, $3, $5, $6) ON CONFLICT (h) DO UPDATE SET h2 = "
	    "excluded.h2, seen = excluded.seen, claimed = NULL, v = excluded.v, "
	    "at = excluded.at WHERE NOT " LIVE "RETURNING 1", 6, P(h,
	    ev_pg_i64(h2, (int64_t)k->lo), ev_pg_i64(t, ev_pg_now(db, now)),
	    ev_pg_i64(l, ttl), ev_pg_i64(vs, (int64_t)v), at), err);
	if (d != 1)
		return d;
	/* A repeat: a conflict when its kept value differs. */
	r = ev_pg_q(db, "SELECT v, at FROM @keys WHERE h = $1", 1, P(h), err);
	if (r == NULL)
		return -1;
	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) &&
	    (uint64_t)ev_pg_getint(r, 0, 0) != v) {
		snprintf(first, size, "%s", PQgetisnull(r, 0, 1) ||
		    *PQgetvalue(r, 0, 1) == '\0' ? "?" : PQgetvalue(r, 0, 1));
		ret = 2;
	}
	PQclear(r);
	return ret;
}

static int
pd_claim(struct ev_db *db, const struct ev_key *k, int64_t now, int64_t ttl,
    int64_t lease, struct ev_err *err)
{
	char h[24], h2[24], t[24], l[24], c[24];

	now = ev_pg_now(db, now);
	return decide(db, "INSERT INTO @keys AS k (h, h2, seen, claimed) "
	    "VALUES ($1, $2, $3, $5) ON CONFLICT (h) DO UPDATE SET h2 = "
	    "excluded.h2, seen = excluded.seen, claimed = excluded.claimed, "
	    "v = CASE WHEN " SAME " THEN k.v END, at = CASE WHEN " SAME
	    " THEN k.at END WHERE NOT (" LIVE "AND NOT (k.claimed IS NOT NULL "
	    "AND k.claimed <= $3)) RETURNING 1", 5, P(ev_pg_i64(h,
	    (int64_t)k->hi), ev_pg_i64(h2, (int64_t)k->lo), ev_pg_i64(t, now),
	    ev_pg_i64(l, ttl), ev_pg_i64(c, now + lease)), err);
}

/* A key completed keeps the time it was first seen. */
static int
pd_complete(struct ev_db *db, const struct ev_key *k, int64_t now,
    struct ev_err *err)
{
	char h[24], h2[24], t[24];

	return decide(db, "INSERT INTO @keys AS k (h, h2, seen) VALUES ($1, "
	    "$2, $3) ON CONFLICT (h) DO UPDATE SET h2 = excluded.h2, seen = "
	    "CASE WHEN " SAME " THEN k.seen ELSE excluded.seen END, claimed = "
	    "NULL, v = CASE WHEN " SAME " THEN k.v END, at = CASE WHEN " SAME
	    " THEN k.at END WHERE NOT (" SAME " AND k.claimed IS NULL) "
	    "RETURNING 1", 3, P(ev_pg_i64(h, (int64_t)k->hi), ev_pg_i64(h2,
	    (int64_t)k->lo), ev_pg_i64(t, ev_pg_now(db, now))), err) < 0 ?
	    -1 : 0;
}

static int
pd_stat(struct ev_db *db, struct ev_dkeys_stat *s, struct ev_err *err)
{
	PGresult *r;

	memset(s, 0, sizeof(*s));
	r = ev_pg_q(db, "SELECT count(*), count(claimed), coalesce(min(seen), "
	    "0), coalesce(max(seen), 0), pg_total_relation_size('@keys') FROM "
	    "@keys", 0, NULL, err);
	if (r == NULL)
		return -1;
	s->keys = ev_pg_getint(r, 0, 0);
	s->claimed = ev_pg_getint(r, 0, 1);
	s->oldest = ev_pg_getint(r, 0, 2);
	s->newest = ev_pg_getint(r, 0, 3);
	s->bytes = ev_pg_getint(r, 0, 4);
	PQclear(r);
	return 0;
}

static int
pd_expire(struct ev_db *db, int64_t now, int64_t ttl, int64_t *n,
    struct ev_err *err)
{
	char t[24], l[24];
	PGresult *r;

	r = ev_pg_q(db, "DELETE FROM @keys WHERE seen <= $1::int8 - $2", 2,
	    P(ev_pg_i64(t, ev_pg_now(db, now)), ev_pg_i64(l, ttl)), err);
	if (r == NULL)
		return -1;
	*n = atoll(PQcmdTuples(r));
	PQclear(r);
	return 0;
}

/* One table: nothing to merge. */
static int
pd_merge(struct ev_db *db, struct ev_err *err)
{
	return 0;
}

const struct ev_dkeys_ops ev_dkeys_pg = {
	.open = pd_open,
	.check = pd_check,
	.checkv = pd_checkv,
	.claim = pd_claim,
	.complete = pd_complete,
	.stat = pd_stat,
	.expire = pd_expire,
	.merge = pd_merge,
};
