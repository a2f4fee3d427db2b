/*
 * Unit tests for lib/store/dkeys.c and sqlite_dkeys.c: evdedupe's keys in
 * a database: new and repeat, TTL, rollback, stat, expire, two
 * connections; the two tables (evdedupe_new shadowing evdedupe_keys),
 * merges, the filter's generation across connections, and the migration
 * of a version 1 file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "evkit.h"
#include "tap.h"

/* One integer from sql on the file at path, read by a connection of its
   own; -1 on error. */
static long long
q(const char *path, const char *sql)
{
	sqlite3 *s;
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_open(path, &s) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(s, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(s);
	return v;
}

/* Run sql on the file at path; 0 or -1. */
static int
x(const char *path, const char *sql)
{
	sqlite3 *s;
	int rc;

	if (sqlite3_open(path, &s) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(s, sql, NULL, NULL, NULL);
	sqlite3_close(s);
	return rc == SQLITE_OK ? 0 : -1;
}

static void
key(int i, struct ev_key *k)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "key-%d", i);

	ev_key_hash(b, (size_t)n, k);
}

/* check() of keys [from, to) at time now: how many answered r. */
static int
check_many(struct ev_db *db, int from, int to, int64_t now, int r)
{
	struct ev_err err;
	struct ev_key k;
	int i, n = 0;

	for (i = from; i < to; i++) {
		key(i, &k);
		n += ev_dkeys_check(db, &k, now, 0, &err) == r;
	}
	return n;
}

/* Shadowing, merges and the filter's generation. */
static void
two_tables(const char *dir)
{
	char path[128];
	struct ev_db *db, *db2;
	struct ev_err err;
	struct ev_key a, b, y;
	struct ev_dkeys_stat st;
	int64_t n;

	snprintf(path, sizeof(path), "%s/lsm.db", dir);
	ev_err_clear(&err);
	key(-1, &a);
	key(-2, &b);
	key(-3, &y);
	/* the first merge at 65536 rows, not 262144: a quicker test */
	setenv("EVKIT_DKEYS_MERGE", "65536", 1);
	db = ev_db_open(path, NULL, &err);
	ok(db != NULL && ev_dkeys_open(db, &err) == 0, "lsm: open");
	ok(ev_db_begin(db, &err) == 0 &&
	    ev_dkeys_claim(db, &a, 1000, 0, 500, &err) == 0 &&
	    ev_dkeys_check(db, &b, 1000, 0, &err) == 0 &&
	    ev_db_commit(db, &err) == 0, "a claimed, b checked");
	is_int(q(path, "SELECT count(*) FROM evdedupe_new"), 2,
	    "new keys go to evdedupe_new");
	is_int(q(path, "SELECT count(*) FROM evdedupe_keys"), 0,
	    "not to evdedupe_keys");
	ok(ev_dkeys_merge(db, &err) == 0, "merge");
	is_int(q(path, "SELECT count(*) FROM evdedupe_new"), 0,
	    "evdedupe_new empty after a merge");
	is_int(q(path, "SELECT count(*) FROM evdedupe_keys"), 2,
	    "its keys in evdedupe_keys");
	is_int(q(path, "SELECT generation FROM evdedupe_filter"), 1,
	    "the filter's generation bumped");
	ok(ev_db_begin(db, &err) == 0, "begin");
	is_int(ev_dkeys_check(db, &b, 2000, 0, &err), 1,
	    "a merged key is a repeat (found through the filter)");
	is_int(ev_dkeys_claim(db, &a, 1200, 0, 500, &err), 1,
	    "a merged claim holds while its lease runs");
	is_int(ev_dkeys_claim(db, &a, 1600, 0, 500, &err), 0,
	    "and is taken again when it ran out");
	ok(ev_db_commit(db, &err) == 0, "commit");
	is_int(q(path, "SELECT claimed FROM evdedupe_new"), 2100,
	    "the new claim went to evdedupe_new");
	is_int(q(path, "SELECT claimed FROM evdedupe_keys WHERE claimed "
	    "IS NOT NULL"), 1500, "shadowing the old one, left in place");
	ok(ev_dkeys_stat(db, &st, &err) == 0 && st.keys == 2 &&
	    st.claimed == 1, "stat counts a shadowed key once");
	is_int(st.oldest, 1000, "stat oldest");
	is_int(st.newest, 1600, "stat newest (the shadowing row's)");
	ok(ev_db_begin(db, &err) == 0 &&
	    ev_dkeys_complete(db, &a, 1700, &err) == 0 &&
	    ev_db_commit(db, &err) == 0, "a completed");
	ok(ev_dkeys_stat(db, &st, &err) == 0 && st.keys == 2 &&
	    st.claimed == 0, "stat: nothing claimed (the old claim is "
	    "shadowed)");
	ok(ev_dkeys_merge(db, &err) == 0, "merge a key held in both tables");
	is_int(q(path, "SELECT count(*) FROM evdedupe_keys"), 2,
	    "still one row a key");
	is_int(q(path, "SELECT count(*) FROM evdedupe_keys WHERE claimed "
	    "IS NULL AND seen = 1600"), 1, "the newer row won");

	/* Another process merges between two of this one's transactions. */
	db2 = ev_db_open(path, NULL, &err);
	ok(db2 != NULL && ev_dkeys_open(db2, &err) == 0, "second process");
	ok(ev_db_begin(db2, &err) == 0 &&
	    ev_dkeys_check(db2, &b, 3000, 0, &err) == 1 &&
	    ev_db_commit(db2, &err) == 0, "it loads the filter");
	ok(ev_db_begin(db, &err) == 0 &&
	    ev_dkeys_check(db, &y, 3000, 0, &err) == 0 &&
	    ev_dkeys_merge(db, &err) == 0 && ev_db_commit(db, &err) == 0,
	    "the first adds y and merges");
	is_int(q(path, "SELECT count(*) FROM evdedupe_new"), 0,
	    "y is in evdedupe_keys only");
	ok(ev_db_begin(db2, &err) == 0, "second process, next transaction");
	is_int(ev_dkeys_check(db2, &y, 3001, 0, &err), 1,
	    "y is a repeat: the filter was reloaded");
	ok(ev_db_commit(db2, &err) == 0, "commit");

	/* Past EVKIT_DKEYS_MERGE (65536) keys a transaction merges on its own. */
	ok(ev_db_begin(db2, &err) == 0, "begin");
	is_int(check_many(db2, 0, 70000, 4000, 0), 70000, "70000 new keys");
	ok(ev_db_commit(db2, &err) == 0, "commit");
	ok(q(path, "SELECT count(*) FROM evdedupe_new") < 70000 &&
	    q(path, "SELECT generation FROM evdedupe_filter") > 3,
	    "merged during the transaction");
	is_int(q(path, "SELECT count(*) FROM evdedupe_all"), 70003,
	    "evdedupe_all holds every key once");
	ok(ev_db_begin(db, &err) == 0, "the first process");
	is_int(check_many(db, 0, 70000, 5000, 1), 70000,
	    "sees them all as repeats");
	ok(ev_db_commit(db, &err) == 0, "commit");

	/* Expiry across both tables. */
	ok(ev_db_begin(db, &err) == 0 &&
	    ev_dkeys_check(db, &b, 1000000, 10000, &err) == 0 &&
	    ev_dkeys_expire(db, 1000000, 10000, &n, &err) == 0 &&
	    ev_db_commit(db, &err) == 0, "b refreshed, the rest expired");
	is_int(n, 70002, "each expired key counted once");
	is_int(q(path, "SELECT count(*) FROM evdedupe_all"), 1, "b is left");
	is_int(q(path, "SELECT count(*) FROM evdedupe_keys"), 0,
	    "evdedupe_keys emptied");
	ok(ev_db_begin(db, &err) == 0, "begin");
	is_int(ev_dkeys_check(db, &a, 1000001, 0, &err), 0,
	    "an expired key is new again");
	is_int(ev_dkeys_check(db, &b, 1000001, 0, &err), 1, "b is not");
	ev_db_rollback(db);
	ev_db_close(db2, &err);
	ev_db_close(db, &err);
}

/* A version 1 file (evdedupe_keys alone) is migrated when opened. */
static void
migrate(const char *dir)
{
	char path[128], sql[256];
	struct ev_db *db;
	struct ev_err err;
	struct ev_key k;
	sqlite3 *s;
	sqlite3_stmt *st;
	int i, ok1 = 1;

	snprintf(path, sizeof(path), "%s/v1.db", dir);
	ev_err_clear(&err);
	ok(x(path, "CREATE TABLE evkit_schema (component TEXT PRIMARY KEY, "
	    "version INTEGER NOT NULL); INSERT INTO evkit_schema VALUES "
	    "('evdedupe', 1); CREATE TABLE evdedupe_keys (h INTEGER PRIMARY "
	    "KEY, h2 INTEGER NOT NULL, seen INTEGER NOT NULL, claimed "
	    "INTEGER, v INTEGER, at TEXT)") == 0, "v1: a version 1 file");
	ok(sqlite3_open(path, &s) == SQLITE_OK &&
	    sqlite3_exec(s, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(s, "INSERT INTO evdedupe_keys (h, h2, seen) "
	    "VALUES (?1, ?2, 1000)", -1, &st, NULL) == SQLITE_OK, "v1: fill");
	for (i = 0; i < 20000; i++) {
		key(i, &k);
		sqlite3_bind_int64(st, 1, (sqlite3_int64)k.hi);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)k.lo);
		ok1 &= sqlite3_step(st) == SQLITE_DONE;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	ok1 &= sqlite3_exec(s, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
	sqlite3_close(s);
	ok(ok1, "v1: 20000 keys");
	db = ev_db_open(path, NULL, &err);
	ok(db != NULL && ev_dkeys_open(db, &err) == 0, "v1: opened");
	snprintf(sql, sizeof(sql), "SELECT version FROM evkit_schema WHERE "
	    "component = 'evdedupe'");
	is_int(q(path, sql), 2, "v1: now version 2");
	is_int(q(path, "SELECT keys FROM evdedupe_filter"), 20000,
	    "v1: a filter over its keys");
	is_int(q(path, "SELECT count(*) FROM evdedupe_filter_chunks"),
	    q(path, "SELECT (bits / 8 + 65535) / 65536 FROM evdedupe_filter"),
	    "v1: in whole chunks");
	ok(ev_db_begin(db, &err) == 0, "v1: begin");
	is_int(check_many(db, 0, 20000, 2000, 1), 20000,
	    "v1: every old key a repeat");
	is_int(check_many(db, 20000, 20100, 2000, 0), 100,
	    "v1: new keys pass");
	ok(ev_db_commit(db, &err) == 0, "v1: commit");
	ok(ev_dkeys_open(db, &err) == 0 && q(path, "SELECT generation FROM "
	    "evdedupe_filter") == 1, "v1: opened again, not migrated again");
	ev_db_close(db, &err);
}

int
main(void)
{
	char dir[64] = "/tmp/evkit-dkeys-XXXXXX", path[128], sh[256];
	struct ev_db *db, *db2;
	struct ev_err err;
	struct ev_key a, b, c;
	struct ev_dkeys_stat st;
	int64_t n;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/state.db", dir);
	ev_err_clear(&err);
	ev_key_hash("a", 1, &a);
	ev_key_hash("b", 1, &b);
	/* c shares a's rowid (first 64 bits), not the rest */
	c = a;
	c.lo ^= 1;

	db = ev_db_open(path, NULL, &err);
	ok(db != NULL && ev_dkeys_open(db, &err) == 0, "open, tables made");
	ok(ev_dkeys_open(db, &err) == 0, "open again");
	ok(ev_db_begin(db, &err) == 0, "begin");
	is_int(ev_dkeys_check(db, &a, 1000, 0, &err), 0, "a new");
	is_int(ev_dkeys_check(db, &a, 1001, 0, &err), 1, "a repeat, same tx");
	is_int(ev_dkeys_check(db, &b, 1002, 0, &err), 0, "b new");
	ev_db_rollback(db);
	ok(ev_db_begin(db, &err) == 0, "begin after rollback");
	is_int(ev_dkeys_check(db, &a, 1003, 0, &err), 0,
	    "rolled back: a new again");
	ok(ev_db_commit(db, &err) == 0, "commit");

	db2 = ev_db_open(path, NULL, &err);
	ok(db2 != NULL && ev_dkeys_open(db2, &err) == 0, "second connection");
	ok(ev_db_begin(db2, &err) == 0, "its transaction");
	is_int(ev_dkeys_check(db2, &a, 2000, 0, &err), 1,
	    "committed key seen by another connection");
	is_int(ev_dkeys_check(db2, &c, 2000, 0, &err), 0,
	    "a key sharing the rowid is not taken for a repeat");
	is_int(ev_dkeys_check(db2, &a, 2001, 0, &err), 0,
	    "and the older key passes again (never held back)");
	ok(ev_db_commit(db2, &err) == 0, "commit");
	ev_db_close(db2, &err);

	ok(ev_db_begin(db, &err) == 0, "begin");
	is_int(ev_dkeys_check(db, &b, 10000, 5000, &err), 0, "b new at 10s");
	is_int(ev_dkeys_check(db, &b, 14999, 5000, &err), 1, "b inside ttl");
	is_int(ev_dkeys_check(db, &b, 15000, 5000, &err), 0, "b expired");
	is_int(ev_dkeys_check(db, &b, 19999, 5000, &err), 1,
	    "b's window restarted");
	ok(ev_db_commit(db, &err) == 0, "commit");

	ok(ev_dkeys_stat(db, &st, &err) == 0, "stat");
	is_int(st.keys, 2, "stat keys");
	is_int(st.claimed, 0, "stat claimed");
	is_int(st.oldest, 2001, "stat oldest");
	is_int(st.newest, 15000, "stat newest");
	ok(st.bytes > 0, "stat bytes");
	ok(ev_db_begin(db, &err) == 0 &&
	    ev_dkeys_expire(db, 16000, 10000, &n, &err) == 0 &&
	    ev_db_commit(db, &err) == 0, "expire");
	is_int(n, 1, "one key expired");
	ok(ev_dkeys_stat(db, &st, &err) == 0 && st.keys == 1, "one left");
	ok(ev_db_close(db, &err) == 0, "close");
	two_tables(dir);
	unsetenv("EVKIT_DKEYS_MERGE");
	migrate(dir);

	snprintf(sh, sizeof(sh), "rm -rf '%s'", dir);
	if (system(sh) != 0)
		return 1;
	return tap_done();
}
