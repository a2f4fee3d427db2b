/*
 * sqlite_dkeys.c - evdedupe's keys in SQLite, split in two tables as an
 * LSM tree is.  One row per key; the first 64 bits of its hash are the
 * rowid (a point lookup in the table's own B-tree, no second index), the
 * other 64 a column.  The schema is documented in evdedupe(1).
 *
 * evdedupe_keys is the big table: normal runs only read it.  Keys are
 * written to evdedupe_new, which shadows it (a lookup tries evdedupe_new
 * first), so a transaction dirties the pages of a small table, not those
 * of a large one.  A Bloom filter over evdedupe_keys, kept in the
 * database in chunks (evdedupe_filter_chunks) with a generation number
 * (evdedupe_filter), tells which keys need not be looked up there.  When
 * evdedupe_new grows past a quarter of evdedupe_keys (MERGE_MIN rows at
 * least), it is merged into evdedupe_keys, the filter brought up to date
 * and its generation bumped, in the transaction at hand; every
 * transaction checks the generation first and reloads the filter when
 * another process merged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

enum {
	S_STAT = EV_STMT_DKEYS,
	S_NEW_GET,
	S_KEYS_GET,
	S_PUT,
	S_GEN,
	S_COUNT_NEW,
	S_ADD
};

#define DKEYS_VERSION 2
/*
 * evdedupe_new is merged when it holds this many rows and a quarter of
 * evdedupe_keys's.  Below it, evdedupe_new is a small table already (2-3
 * MiB): a state that starts empty is not merged a dozen times over while
 * it grows (a fresh run of 100k keys: 12 merges, 29% of its instructions,
 * against one, 14%).
 */
#define MERGE_MIN 65536
#define MERGE_PART 4
/*
 * While evdedupe_keys is empty, evdedupe_new is the only table: it is
 * merged at this many rows, not before (a fresh run of 100k keys merges
 * none, about 8% less CPU).  MERGE_MIN * MERGE_PART: the merges after it
 * come where they came before, at 327680, 409600, ... 1000000 keys.
 */
#define MERGE_FIRST (MERGE_MIN * MERGE_PART)
/* For tests: both replaced by one number of rows (1 at least). */
#define MERGE_ENV "EVKIT_DKEYS_MERGE"

#define COLS "h INTEGER PRIMARY KEY,\n" \
    "  h2 INTEGER NOT NULL,\n" \
    "  seen INTEGER NOT NULL,\n" \
    "  claimed INTEGER,\n" \
    "  v INTEGER,\n" \
    "  at TEXT\n"

/* What version 2 adds to version 1's evdedupe_keys. */
static const char ddl2[] =
    "CREATE TABLE evdedupe_new (\n  " COLS ");\n"
    "CREATE TABLE evdedupe_filter (\n"
    "  id INTEGER PRIMARY KEY CHECK (id = 1),\n"
    "  generation INTEGER NOT NULL,\n"
    "  keys INTEGER NOT NULL,\n"
    "  capacity INTEGER NOT NULL,\n"
    "  bits INTEGER NOT NULL,\n"
    "  hashes INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE evdedupe_filter_chunks (\n"
    "  n INTEGER PRIMARY KEY,\n"
    "  data BLOB NOT NULL\n"
    ");\n"
    "CREATE VIEW evdedupe_all AS\n"
    "  SELECT * FROM evdedupe_new UNION ALL\n"
    "  SELECT * FROM evdedupe_keys\n"
    "  WHERE h NOT IN (SELECT h FROM evdedupe_new);\n"
    "INSERT INTO evdedupe_filter VALUES (1, 0, 0, 0, 0, 7);\n";

static const char ddl1[] = "CREATE TABLE evdedupe_keys (\n  " COLS ");\n";

/* The filter as this connection has it. */
struct ev_dkeys_mem {
	struct ev_bloom f;
	int64_t gen;		/* loaded; -1: none */
	int64_t keys, cap;	/* rows in evdedupe_keys; the filter's size */
	int64_t nnew;		/* rows in evdedupe_new */
	int64_t merge_min;	/* MERGE_MIN, or EVKIT_DKEYS_MERGE's */
	int64_t merge_first;	/* MERGE_FIRST, or EVKIT_DKEYS_MERGE's */
	uint64_t txn;		/* the transaction checked; 0: none */
};

/* A key's row, as a lookup found it. */
struct row {
	int found, in_new;
	uint64_t h2;
	int64_t seen, claimed, v;
	int has_claimed, has_v;
	char at[1024];
};

void
ev_sqlite_dkeys_free(struct ev_db *db)
{
	if (db->dk == NULL)
		return;
	ev_bloom_free(&db->dk->f);
	free(db->dk);
	db->dk = NULL;
}

/* A one-off statement (not cached); NULL with err set. */
static sqlite3_stmt *
prep(struct ev_db *db, const char *sql, struct ev_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db->sq, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		ev_sqlite_err(db, rc, err);
		return NULL;
	}
	return st;
}

/* One integer from sql (no parameters); 0 or -1 (err). */
static int
query_int(struct ev_db *db, int slot, const char *sql, int64_t *v,
    struct ev_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = ev_sqlite_stmt(db, slot, sql, err)) == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return ev_sqlite_err(db, rc, err);
	return 0;
}

/* Load the filter, its generation and sizes from the database. */
static int
load_filter(struct ev_db *db, struct ev_err *err)
{
	struct ev_dkeys_mem *dk = db->dk;
	sqlite3_stmt *st;
	int64_t gen = 0, keys = 0, cap = 0, bits = 0, hashes = 0, n;
	const void *p;
	int rc, len;

	if ((st = prep(db, "SELECT generation, keys, capacity, bits, hashes "
	    "FROM evdedupe_filter WHERE id = 1", err)) == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		gen = sqlite3_column_int64(st, 0);
		keys = sqlite3_column_int64(st, 1);
		cap = sqlite3_column_int64(st, 2);
		bits = sqlite3_column_int64(st, 3);
		hashes = sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return ev_sqlite_err(db, rc == SQLITE_DONE ? SQLITE_CORRUPT :
		    rc, err);
	dk->gen = -1;
	if (bits < 0 || ev_bloom_alloc(&dk->f, (uint64_t)bits,
	    (int)hashes) < 0) {
		ev_err_set(err, "%s: evdedupe_filter: bad filter (%lld bits, "
		    "%lld hashes) or out of memory", db->name, (long long)bits,
		    (long long)hashes);
		return -1;
	}
	if ((st = prep(db, "SELECT n, data FROM evdedupe_filter_chunks "
	    "ORDER BY n", err)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 0);
		p = sqlite3_column_blob(st, 1);
		len = sqlite3_column_bytes(st, 1);
		if (n < 0 || len < 0 || (uint64_t)n * EV_BLOOM_CHUNK +
		    (uint64_t)len > dk->f.nbits / 8) {
			sqlite3_finalize(st);
			ev_err_set(err, "%s: evdedupe_filter_chunks: chunk "
			    "%lld out of the filter", db->name, (long long)n);
			return -1;
		}
		if (len > 0)
			memcpy(dk->f.bits + n * EV_BLOOM_CHUNK, p, (size_t)len);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return ev_sqlite_err(db, rc, err);
	dk->gen = gen;
	dk->keys = keys;
	dk->cap = cap;
	return 0;
}

/*
 * Before the first operation of a transaction: reload the filter when
 * another process merged since it was loaded, count evdedupe_new.
 * Outside a transaction, before every operation.
 */
static int
prepare(struct ev_db *db, struct ev_err *err)
{
	struct ev_dkeys_mem *dk = db->dk;
	int64_t gen;

	if (db->in_tx && dk->txn == db->txn)
		return 0;
	if (query_int(db, S_GEN, "SELECT generation FROM evdedupe_filter "
	    "WHERE id = 1", &gen, err) < 0)
		return -1;
	if (gen != dk->gen && load_filter(db, err) < 0)
		return -1;
	if (query_int(db, S_COUNT_NEW, "SELECT count(*) FROM evdedupe_new",
	    &dk->nnew, err) < 0)
		return -1;
	dk->txn = db->in_tx ? db->txn : 0;
	return 0;
}

/* Add the keys sql selects (h, h2) to the filter. */
static int
filter_add(struct ev_db *db, const char *sql, struct ev_err *err)
{
	sqlite3_stmt *st;
	struct ev_key k;
	int rc;

	if ((st = prep(db, sql, err)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		k.hi = (uint64_t)sqlite3_column_int64(st, 0);
		k.lo = (uint64_t)sqlite3_column_int64(st, 1);
		ev_bloom_add(&db->dk->f, &k);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return ev_sqlite_err(db, rc, err);
	return 0;
}

/* Write the filter to the database with the next generation. */
static int
store_filter(struct ev_db *db, struct ev_err *err)
{
	struct ev_dkeys_mem *dk = db->dk;
	sqlite3_stmt *st;
	uint64_t off, nbytes = dk->f.nbits / 8;
	size_t len;
	int rc = SQLITE_DONE;

	if (ev_sqlite_exec(db, "DELETE FROM evdedupe_filter_chunks", err) < 0)
		return -1;
	if ((st = prep(db, "INSERT INTO evdedupe_filter_chunks (n, data) "
	    "VALUES (?1, ?2)", err)) == NULL)
		return -1;
	for (off = 0; off < nbytes && rc == SQLITE_DONE;
	    off += EV_BLOOM_CHUNK) {
		len = nbytes - off < EV_BLOOM_CHUNK ? (size_t)(nbytes - off) :
		    EV_BLOOM_CHUNK;
		sqlite3_bind_int64(st, 1, (sqlite3_int64)(off / EV_BLOOM_CHUNK));
		sqlite3_bind_blob(st, 2, dk->f.bits + off, (int)len,
		    SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return ev_sqlite_err(db, rc, err);
	if ((st = prep(db, "UPDATE evdedupe_filter SET generation = "
	    "generation + 1, keys = ?1, capacity = ?2, bits = ?3, "
	    "hashes = ?4 WHERE id = 1", err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, dk->keys);
	sqlite3_bind_int64(st, 2, dk->cap);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)dk->f.nbits);
	sqlite3_bind_int64(st, 4, dk->f.k);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return ev_sqlite_err(db, rc, err);
	/*
	 * What was written counts once committed: the next transaction
	 * loads the filter again (this one may yet be rolled back).
	 */
	dk->gen = -1;
	return 0;
}

/*
 * A filter made anew from evdedupe_keys, sized for a quarter more keys
 * than it holds, so that merges add to it for a while.
 */
static int
rebuild_filter(struct ev_db *db, struct ev_err *err)
{
	struct ev_dkeys_mem *dk = db->dk;

	dk->cap = dk->keys + dk->keys / MERGE_PART + dk->merge_min;
	if (ev_bloom_init(&dk->f, (uint64_t)dk->cap) < 0) {
		ev_err_set(err, "out of memory");
		return -1;
	}
	/* Full chunks hold more keys than asked for: count them. */
	dk->cap = (int64_t)(dk->f.nbits / EV_BLOOM_BITS_PER_KEY);
	if (filter_add(db, "SELECT h, h2 FROM evdedupe_keys", err) < 0)
		return -1;
	return store_filter(db, err);
}

/* One integer from sql, a statement not cached; 0 or -1 (err). */
static int
once_int(struct ev_db *db, const char *sql, int64_t *v, struct ev_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = prep(db, sql, err)) == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return ev_sqlite_err(db, rc, err);
	return 0;
}

/*
 * Merge evdedupe_new into evdedupe_keys (its rows replace those they
 * shadow) and bring the filter up to date, inside a transaction: the
 * filter grows by the new keys while it has room, else is made anew.
 */
static int
merge(struct ev_db *db, struct ev_err *err)
{
	struct ev_dkeys_mem *dk = db->dk;

	if (prepare(db, err) < 0)
		return -1;
	if (ev_sqlite_exec(db, "INSERT OR REPLACE INTO evdedupe_keys "
	    "SELECT * FROM evdedupe_new", err) < 0)
		return -1;
	if (once_int(db, "SELECT count(*) FROM evdedupe_keys", &dk->keys,
	    err) < 0)
		return -1;
	if (dk->keys <= dk->cap && dk->f.nbits > 0) {
		if (filter_add(db, "SELECT h, h2 FROM evdedupe_new", err) < 0 ||
		    store_filter(db, err) < 0)
			return -1;
	} else if (rebuild_filter(db, err) < 0)
		return -1;
	if (ev_sqlite_exec(db, "DELETE FROM evdedupe_new", err) < 0)
		return -1;
	dk->nnew = 0;
	return 0;
}

static int
sqd_merge(struct ev_db *db, struct ev_err *err)
{
	int r, own = !db->in_tx;

	if (own && ev_db_begin(db, err) < 0)
		return -1;
	r = merge(db, err);
	if (own) {
		if (r < 0)
			ev_db_rollback(db);
		else
			r = ev_db_commit(db, err);
	}
	return r;
}

/* After a row was added to evdedupe_new: merge when it is time. */
static int
maybe_merge(struct ev_db *db, struct ev_err *err)
{
	struct ev_dkeys_mem *dk = db->dk;

	if (!db->in_tx || dk->nnew < (dk->keys == 0 ? dk->merge_first :
	    dk->merge_min) || dk->nnew < dk->keys / MERGE_PART)
		return 0;
	return merge(db, err);
}

/* The schema version of component evdedupe; 0 when there is none. */
static int
version(struct ev_db *db, int64_t *v, struct ev_err *err)
{
	int64_t n;

	*v = 0;
	if (once_int(db, "SELECT count(*) FROM sqlite_schema WHERE "
	    "type = 'table' AND name = 'evkit_schema'", &n, err) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (once_int(db, "SELECT ifnull(max(version), 0) FROM evkit_schema "
	    "WHERE component = 'evdedupe'", v, err) < 0)
		return -1;
	return 0;
}

/* EVKIT_DKEYS_MERGE's number of rows when it is one, else dflt. */
static int64_t
merge_env(int64_t dflt)
{
	const char *e = getenv(MERGE_ENV);
	char *end;
	long long n;

	if (e == NULL || *e == '\0')
		return dflt;
	errno = 0;
	n = strtoll(e, &end, 10);
	if (errno != 0 || *end != '\0' || n < 1)
		return dflt;
	return n;
}

/*
 * Open: make the tables, or migrate version 1's (evdedupe_keys alone) to
 * version 2 by adding the others and a filter over its keys, in one
 * transaction.
 */
static int
sqd_open(struct ev_db *db, struct ev_err *err)
{
	char ddl[sizeof(ddl1) + sizeof(ddl2)];
	int64_t have;
	int own = !db->in_tx;

	if (db->dk == NULL) {
		if ((db->dk = calloc(1, sizeof(*db->dk))) == NULL) {
			ev_err_set(err, "out of memory");
			return -1;
		}
		db->dk->gen = -1;
		db->dk->merge_min = merge_env(MERGE_MIN);
		db->dk->merge_first = merge_env(MERGE_FIRST);
	}
	if (own && ev_db_begin(db, err) < 0)
		return -1;
	if (version(db, &have, err) < 0)
		goto fail;
	if (have == 1) {
		if (ev_sqlite_exec(db, ddl2, err) < 0 ||
		    ev_sqlite_exec(db, "UPDATE evkit_schema SET version = 2 "
		    "WHERE component = 'evdedupe'", err) < 0 ||
		    once_int(db, "SELECT count(*) FROM evdedupe_keys",
		    &db->dk->keys, err) < 0 ||
		    rebuild_filter(db, err) < 0)
			goto fail;
	}
	snprintf(ddl, sizeof(ddl), "%s%s", ddl1, ddl2);
	if (ev_db_schema(db, "evdedupe", DKEYS_VERSION, ddl, err) != 0)
		goto fail;
	if (own && ev_db_commit(db, err) < 0)
		return -1;
	/* Lookups go to the B-tree pages: keep many of them. */
	return ev_sqlite_exec(db, "PRAGMA cache_size=-131072; "
	    "PRAGMA mmap_size=1073741824", err);
fail:
	if (own)
		ev_db_rollback(db);
	return -1;
}

/* Find k's row: in evdedupe_new, else in evdedupe_keys if the filter may
   hold it. */
static int
lookup(struct ev_db *db, const struct ev_key *k, struct row *r,
    struct ev_err *err)
{
	sqlite3_stmt *st;
	const unsigned char *t;
	int rc, pass;

	r->found = 0;
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1 && !ev_bloom_may(&db->dk->f, k))
			return 0;
		st = pass == 0 ? ev_sqlite_stmt(db, S_NEW_GET, "SELECT h2, "
		    "seen, claimed, v, at FROM evdedupe_new WHERE h = ?1",
		    err) : ev_sqlite_stmt(db, S_KEYS_GET, "SELECT h2, seen, "
		    "claimed, v, at FROM evdedupe_keys WHERE h = ?1", err);
		if (st == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, (sqlite3_int64)k->hi);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			r->found = 1;
			r->in_new = pass == 0;
			r->h2 = (uint64_t)sqlite3_column_int64(st, 0);
			r->seen = sqlite3_column_int64(st, 1);
			r->has_claimed = sqlite3_column_type(st, 2) !=
			    SQLITE_NULL;
			r->claimed = sqlite3_column_int64(st, 2);
			r->has_v = sqlite3_column_type(st, 3) != SQLITE_NULL;
			r->v = sqlite3_column_int64(st, 3);
			t = sqlite3_column_text(st, 4);
			snprintf(r->at, sizeof(r->at), "%s",
			    t != NULL ? (const char *)t : "");
		}
		sqlite3_reset(st);
		if (rc == SQLITE_ROW)
			return 0;
		if (rc != SQLITE_DONE)
			return ev_sqlite_err(db, rc, err);
	}
	return 0;
}


/*
 * Bind a row of evdedupe_new (?1 h, ?2 h2, ?3 seen, ?4 claimed, ?5 v,
 * ?6 at; claimed, v and at NULL unless given) to st, run it and reset it.
 * SQLite's result code.
 */
static int
step_row(sqlite3_stmt *st, const struct ev_key *k, int64_t seen,
    int has_claimed, int64_t claimed, int has_v, int64_t v, const char *at)
{
	int rc;

	sqlite3_bind_int64(st, 1, (sqlite3_int64)k->hi);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)k->lo);
	sqlite3_bind_int64(st, 3, seen);
	if (has_claimed)
		sqlite3_bind_int64(st, 4, claimed);
	if (has_v) {
		sqlite3_bind_int64(st, 5, v);
		sqlite3_bind_text(st, 6, at, -1, SQLITE_TRANSIENT);
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc;
}

/*
 * Write k's row to evdedupe_new: seen, claimed (when has_claimed), v and
 * at (when has_v); then merge when it is time.
 */
static int
put(struct ev_db *db, const struct ev_key *k, const struct row *old,
    int64_t seen, int has_claimed, int64_t claimed, int has_v, int64_t v,
    const char *at, struct ev_err *err)
{
	sqlite3_stmt *st;
	int rc;

	st = ev_sqlite_stmt(db, S_PUT, "INSERT OR REPLACE INTO evdedupe_new "
	    "(h, h2, seen, claimed, v, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	    err);
	if (st == NULL)
		return -1;
	rc = step_row(st, k, seen, has_claimed, claimed, has_v, v, at);
	if (rc != SQLITE_DONE)
		return ev_sqlite_err(db, rc, err);
	if (!(old->found && old->in_new))
		db->dk->nnew++;
	return maybe_merge(db, err);
}

/*
 * A key the filter says evdedupe_keys does not hold: add its row to
 * evdedupe_new unless that table has one, in one statement (a new key
 * costs one B-tree descent, not a lookup and then an insert).  1 when the
 * row was added, 0 when evdedupe_new has one (look it up), -1 (err).
 */
static int
add_new(struct ev_db *db, const struct ev_key *k, int64_t seen,
    int has_claimed, int64_t claimed, int has_v, int64_t v, const char *at,
    struct ev_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (ev_bloom_may(&db->dk->f, k))
		return 0;
	st = ev_sqlite_stmt(db, S_ADD, "INSERT INTO evdedupe_new "
	    "(h, h2, seen, claimed, v, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
	    "ON CONFLICT (h) DO NOTHING", err);
	if (st == NULL)
		return -1;
	rc = step_row(st, k, seen, has_claimed, claimed, has_v, v, at);
	if (rc != SQLITE_DONE)
		return ev_sqlite_err(db, rc, err);
	if (sqlite3_changes(db->sq) == 0)
		return 0;
	db->dk->nnew++;
	if (maybe_merge(db, err) < 0)
		return -1;
	return 1;
}

/* Is r a row of k that counts at now (not expired)? */
static int
live(const struct row *r, const struct ev_key *k, int64_t now, int64_t ttl)
{
	return r->found && r->h2 == k->lo && !(ttl > 0 && r->seen <= now - ttl);
}

/*
 * A new key is recorded; so is an expired one, or one whose other 64 bits
 * differ from the row's (two keys sharing the rowid: the newer one wins,
 * which may let a repeat of the older through, never holds a unique event
 * back).  A key's own --validate value is kept.
 */
static int
sqd_check(struct ev_db *db, const struct ev_key *k, int64_t now, int64_t ttl,
    struct ev_err *err)
{
	struct row r;
	int same, added;

	if (prepare(db, err) < 0 ||
	    (added = add_new(db, k, now, 0, 0, 0, 0, NULL, err)) < 0)
		return -1;
	if (added > 0)
		return 0;
	if (lookup(db, k, &r, err) < 0)
		return -1;
	if (live(&r, k, now, ttl))
		return 1;
	same = r.found && r.h2 == k->lo;
	if (put(db, k, &r, now, 0, 0, same && r.has_v, r.v, r.at, err) < 0)
		return -1;
	return 0;
}

/*
 * A claim takes a new key, an expired one, one sharing only the rowid, or
 * one whose lease ran out; claimed holds the lease's end.
 */
static int
sqd_claim(struct ev_db *db, const struct ev_key *k, int64_t now, int64_t ttl,
    int64_t lease, struct ev_err *err)
{
	struct row r;
	int same, added;

	if (prepare(db, err) < 0 ||
	    (added = add_new(db, k, now, 1, now + lease, 0, 0, NULL, err)) < 0)
		return -1;
	if (added > 0)
		return 0;
	if (lookup(db, k, &r, err) < 0)
		return -1;
	if (live(&r, k, now, ttl) && !(r.has_claimed && r.claimed <= now))
		return 1;
	same = r.found && r.h2 == k->lo;
	if (put(db, k, &r, now, 1, now + lease, same && r.has_v, r.v, r.at,
	    err) < 0)
		return -1;
	return 0;
}

/* A key completed keeps the time it was first seen. */
static int
sqd_complete(struct ev_db *db, const struct ev_key *k, int64_t now,
    struct ev_err *err)
{
	struct row r;
	int same;

	if (prepare(db, err) < 0 || lookup(db, k, &r, err) < 0)
		return -1;
	same = r.found && r.h2 == k->lo;
	if (same && !r.has_claimed)
		return 0;	/* completed already */
	if (put(db, k, &r, same ? r.seen : now, 0, 0, same && r.has_v, r.v,
	    r.at, err) < 0)
		return -1;
	return 0;
}

static int
sqd_checkv(struct ev_db *db, const struct ev_key *k, int64_t now, int64_t ttl,
    uint64_t v, const char *at, char *first, size_t size, struct ev_err *err)
{
	struct row r;
	int added;

	if (prepare(db, err) < 0 ||
	    (added = add_new(db, k, now, 0, 0, 1, (int64_t)v, at, err)) < 0)
		return -1;
	if (added > 0)
		return 0;
	if (lookup(db, k, &r, err) < 0)
		return -1;
	if (!live(&r, k, now, ttl)) {
		if (put(db, k, &r, now, 0, 0, 1, (int64_t)v, at, err) < 0)
			return -1;
		return 0;
	}
	/* A key recorded without --validate has no value: no conflict. */
	if (r.has_v && (uint64_t)r.v != v) {
		snprintf(first, size, "%s", r.at[0] != '\0' ? r.at : "?");
		return 2;
	}
	return 1;
}

/* Counts over evdedupe_all: a shadowed row of evdedupe_keys is not one. */
static int
sqd_stat(struct ev_db *db, struct ev_dkeys_stat *s, struct ev_err *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(s, 0, sizeof(*s));
	st = ev_sqlite_stmt(db, S_STAT,
	    "SELECT count(*), count(claimed), ifnull(min(seen), 0), "
	    "ifnull(max(seen), 0), (SELECT page_count * page_size FROM "
	    "pragma_page_count(), pragma_page_size()) FROM evdedupe_all",
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

/* Run sql with ?1 now and ?2 ttl; its changes() to *n. */
static int
expire_in(struct ev_db *db, const char *sql, int64_t now, int64_t ttl,
    int64_t *n, struct ev_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = prep(db, sql, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, ttl);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*n = sqlite3_changes(db->sq);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return ev_sqlite_err(db, rc, err);
	return 0;
}

/*
 * Expire in both tables; the count is of keys (a row of evdedupe_keys
 * that evdedupe_new shadows is deleted without counting).  The filter
 * keeps the deleted keys' bits: false positives until the next rebuild.
 */
static int
sqd_expire(struct ev_db *db, int64_t now, int64_t ttl, int64_t *n,
    struct ev_err *err)
{
	int64_t a, b, c;

	if (prepare(db, err) < 0 ||
	    expire_in(db, "SELECT count(*) FROM evdedupe_keys WHERE "
	    "seen <= ?1 - ?2 AND h NOT IN (SELECT h FROM evdedupe_new)",
	    now, ttl, &a, err) < 0 ||
	    expire_in(db, "DELETE FROM evdedupe_new WHERE seen <= ?1 - ?2",
	    now, ttl, &b, err) < 0 ||
	    expire_in(db, "DELETE FROM evdedupe_keys WHERE seen <= ?1 - ?2",
	    now, ttl, &c, err) < 0)
		return -1;
	*n = a + b;
	db->dk->nnew -= b;
	db->dk->keys -= c;
	return 0;
}

/* The filter's bytes for k, which add_new() reads. */
static void
sqd_prefetch(struct ev_db *db, const struct ev_key *k)
{
	if (db->dk != NULL)
		ev_bloom_prefetch(&db->dk->f, k);
}

const struct ev_dkeys_ops ev_dkeys_sqlite = {
	.open = sqd_open,
	.check = sqd_check,
	.checkv = sqd_checkv,
	.claim = sqd_claim,
	.complete = sqd_complete,
	.stat = sqd_stat,
	.expire = sqd_expire,
	.merge = sqd_merge,
	.prefetch = sqd_prefetch,
};
