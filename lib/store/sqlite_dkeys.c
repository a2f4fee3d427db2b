/*
 * sqlite_dkeys.c - evdedupe's keys in SQLite.  One row per key; the first
 * 64 bits of its hash are the rowid (a point lookup in the table's own
 * B-tree, no second index), the other 64 a column.  The schema is
 * documented in evdedupe(1).
 */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

enum {
	S_CHECK = EV_STMT_DKEYS,
	S_STAT,
	S_EXPIRE,
	S_CLAIM,
	S_COMPLETE,
	S_CHECKV,
	S_GETV
};

#define DKEYS_VERSION 1

static const char ddl[] =
    "CREATE TABLE evdedupe_keys (\n"
    "  h INTEGER PRIMARY KEY,\n"
    "  h2 INTEGER NOT NULL,\n"
    "  seen INTEGER NOT NULL,\n"
    "  claimed INTEGER,\n"
    "  v INTEGER,\n"
    "  at TEXT\n"
    ")";

static int
sqd_open(struct ev_db *db, struct ev_err *err)
{
	if (ev_db_schema(db, "evdedupe", DKEYS_VERSION, ddl, err) != 0)
		return -1;
	/* Lookups go to the B-tree pages: keep many of them. */
	return ev_sqlite_exec(db, "PRAGMA cache_size=-131072; "
	    "PRAGMA mmap_size=1073741824", err);
}

/*
 * A new key is inserted; an existing one is overwritten only when it
 * expired, or when its other 64 bits differ (two keys sharing the rowid:
 * the newer one wins, which may let a repeat of the older through, never
 * holds a unique event back).  changes() tells which happened.
 */
static int
sqd_check(struct ev_db *db, const struct ev_key *k, int64_t now, int64_t ttl,
    struct ev_err *err)
{
	sqlite3_stmt *st;
	int rc;

	st = ev_sqlite_stmt(db, S_CHECK,
	    "INSERT INTO evdedupe_keys (h, h2, seen) VALUES (?1, ?2, ?3) "
	    "ON CONFLICT (h) DO UPDATE SET h2 = excluded.h2, "
	    "seen = excluded.seen, claimed = NULL "
	    "WHERE h2 <> excluded.h2 OR (?4 > 0 AND seen <= ?3 - ?4)", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)k->hi);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)k->lo);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, ttl);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return ev_sqlite_err(db, rc, err);
	return sqlite3_changes(db->sq) == 0;
}

/* Run a cached upsert with keys bound; 1 when it changed no row. */
static int
upsert(struct ev_db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return -rc;
	return sqlite3_changes(db->sq) == 0;
}

/*
 * A claim takes a new key, an expired one, one sharing only the rowid, or
 * one whose lease ran out; claimed holds the lease's end.
 */
static int
sqd_claim(struct ev_db *db, const struct ev_key *k, int64_t now, int64_t ttl,
    int64_t lease, struct ev_err *err)
{
	sqlite3_stmt *st;
	int r;

	st = ev_sqlite_stmt(db, S_CLAIM,
	    "INSERT INTO evdedupe_keys (h, h2, seen, claimed) "
	    "VALUES (?1, ?2, ?3, ?3 + ?5) "
	    "ON CONFLICT (h) DO UPDATE SET h2 = excluded.h2, "
	    "seen = excluded.seen, claimed = excluded.claimed "
	    "WHERE h2 <> excluded.h2 OR (?4 > 0 AND seen <= ?3 - ?4) "
	    "OR (claimed IS NOT NULL AND claimed <= ?3)", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)k->hi);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)k->lo);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, ttl);
	sqlite3_bind_int64(st, 5, lease);
	if ((r = upsert(db, st)) < 0)
		return ev_sqlite_err(db, -r, err);
	return r;
}

static int
sqd_complete(struct ev_db *db, const struct ev_key *k, int64_t now,
    struct ev_err *err)
{
	sqlite3_stmt *st;
	int r;

	st = ev_sqlite_stmt(db, S_COMPLETE,
	    "INSERT INTO evdedupe_keys (h, h2, seen) VALUES (?1, ?2, ?3) "
	    "ON CONFLICT (h) DO UPDATE SET claimed = NULL, "
	    "seen = CASE WHEN h2 = excluded.h2 THEN seen ELSE excluded.seen END, "
	    "h2 = excluded.h2", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)k->hi);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)k->lo);
	sqlite3_bind_int64(st, 3, now);
	if ((r = upsert(db, st)) < 0)
		return ev_sqlite_err(db, -r, err);
	return 0;
}

static int
sqd_checkv(struct ev_db *db, const struct ev_key *k, int64_t now, int64_t ttl,
    uint64_t v, const char *at, char *first, size_t size, struct ev_err *err)
{
	sqlite3_stmt *st;
	const unsigned char *t;
	int r, rc;

	st = ev_sqlite_stmt(db, S_CHECKV,
	    "INSERT INTO evdedupe_keys (h, h2, seen, v, at) "
	    "VALUES (?1, ?2, ?3, ?5, ?6) "
	    "ON CONFLICT (h) DO UPDATE SET h2 = excluded.h2, "
	    "seen = excluded.seen, claimed = NULL, v = excluded.v, "
	    "at = excluded.at "
	    "WHERE h2 <> excluded.h2 OR (?4 > 0 AND seen <= ?3 - ?4)", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)k->hi);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)k->lo);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, ttl);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)v);
	sqlite3_bind_text(st, 6, at, -1, SQLITE_STATIC);
	if ((r = upsert(db, st)) < 0)
		return ev_sqlite_err(db, -r, err);
	if (r == 0)
		return 0;
	st = ev_sqlite_stmt(db, S_GETV,
	    "SELECT v, at FROM evdedupe_keys WHERE h = ?1", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)k->hi);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return ev_sqlite_err(db, rc, err);
	}
	/* A key recorded without --validate has no value: no conflict. */
	r = 1;
	if (sqlite3_column_type(st, 0) != SQLITE_NULL &&
	    (uint64_t)sqlite3_column_int64(st, 0) != v) {
		r = 2;
		t = sqlite3_column_text(st, 1);
		snprintf(first, size, "%s", t != NULL ? (const char *)t : "?");
	}
	sqlite3_reset(st);
	return r;
}

static int
sqd_stat(struct ev_db *db, struct ev_dkeys_stat *s, struct ev_err *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(s, 0, sizeof(*s));
	st = ev_sqlite_stmt(db, S_STAT,
	    "SELECT count(*), count(claimed), ifnull(min(seen), 0), "
	    "ifnull(max(seen), 0), (SELECT page_count * page_size FROM "
	    "pragma_page_count(), pragma_page_size()) FROM evdedupe_keys",
	    err);
	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		s->keys = sqlite3_column_int64(st, 0);
		s->claimed = sqlite3_column_int64(st, 1);
		s->oldest = sqlite3_column_int64(st, 2);
		s->newest = sqlite3_column_int64(st, 3);
		s->bytes = sqlite3_column_int64(st, 4);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return ev_sqlite_err(db, rc, err);
	return 0;
}

static int
sqd_expire(struct ev_db *db, int64_t now, int64_t ttl, int64_t *n,
    struct ev_err *err)
{
	sqlite3_stmt *st;
	int rc;

	st = ev_sqlite_stmt(db, S_EXPIRE,
	    "DELETE FROM evdedupe_keys WHERE seen <= ?1 - ?2", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, ttl);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return ev_sqlite_err(db, rc, err);
	*n = sqlite3_changes(db->sq);
	return 0;
}

const struct ev_dkeys_ops ev_dkeys_sqlite = {
	.open = sqd_open,
	.check = sqd_check,
	.checkv = sqd_checkv,
	.claim = sqd_claim,
	.complete = sqd_complete,
	.stat = sqd_stat,
	.expire = sqd_expire,
};
