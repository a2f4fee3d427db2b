/*
 * Unit tests for lib/store/dkeys.c and sqlite_dkeys.c: evdedupe's keys in
 * a database: new and repeat, TTL, rollback, stat, expire, two
 * connections.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evkit.h"
#include "tap.h"

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

	snprintf(sh, sizeof(sh), "rm -rf '%s'", dir);
	if (system(sh) != 0)
		return 1;
	return tap_done();
}
