/*
 * sqlite_log.c - the event log and queues on SQLite (struct ev_log_ops).
 * The tables are documented in evstore(1), SCHEMA.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "store_int.h"

enum {
	S_APPEND = EV_STMT_LOG,
	S_READ,
	S_CUR_GET,
	S_CUR_PUT,
	S_GRP_GET,
	S_GRP_PUT,
	S_DEAD_MOVE,
	S_DEAD_DEL,
	S_EXPIRED,
	S_RELEASE,
	S_NEW,
	S_LEASE,
	S_EV_GET,
	S_ACK,
	S_NACK,
	S_DEAD_LIST,
	S_REDRIVE,
	S_REDRIVE_DEL,
	S_PRUNE_BEFORE,
	S_PRUNE_KEEP,
	S_PRUNE_LEASES,
	S_PRUNE_DEAD,
	S_STAT,
	S_STAT_FIRST,
	S_STAT_LAST,
	S_LAG,
	S_CONSUMERS,
	S_GROUPS,
	S_GRP_EXPIRED,
	S_GRP_INFLIGHT,
	S_GRP_DEAD,
	S_TAIL,
	S_META_GET,
	S_META_PUT,
	S_PROBE,
	S_FIRST,
	S_END
};
_Static_assert(S_END <= EV_DB_STMTS, "evstore's statement slots");

/*
 * Version 2: sequence numbers are assigned here (the last one handed out
 * is kept in evstore_meta once prune deletes it, so none is reused), and
 * ingest times never decrease along them, so that sequence order serves
 * --since and --until without an index on ingest.
 */
static const char ddl[] =
    "CREATE TABLE evstore_events ("
    " seq INTEGER PRIMARY KEY,"
    " ingest INTEGER NOT NULL,"
    " event BLOB NOT NULL);"
    "CREATE TABLE evstore_meta ("
    " name TEXT PRIMARY KEY,"
    " value INTEGER NOT NULL);"
    "CREATE TABLE evstore_consumers ("
    " name TEXT PRIMARY KEY,"
    " seq INTEGER NOT NULL);"
    "CREATE TABLE evstore_groups ("
    " name TEXT PRIMARY KEY,"
    " head INTEGER NOT NULL);"
    "CREATE TABLE evstore_leases ("
    " grp TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " receives INTEGER NOT NULL,"
    " token TEXT NOT NULL,"
    " expires INTEGER NOT NULL,"
    " PRIMARY KEY (grp, seq)) WITHOUT ROWID;"
    "CREATE TABLE evstore_dead ("
    " grp TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " receives INTEGER NOT NULL,"
    " reason TEXT NOT NULL,"
    " at INTEGER NOT NULL,"
    " PRIMARY KEY (grp, seq)) WITHOUT ROWID;";

/*
 * From version 1 (AUTOINCREMENT, an index on ingest): keep the table, drop
 * the index, carry the last sequence number over.
 */
static const char upgrade1[] =
    "CREATE TABLE IF NOT EXISTS evstore_meta ("
    " name TEXT PRIMARY KEY,"
    " value INTEGER NOT NULL);"
    "INSERT OR REPLACE INTO evstore_meta (name, value) SELECT 'last_seq', "
    " seq FROM sqlite_sequence WHERE name = 'evstore_events';"
    "DROP INDEX IF EXISTS evstore_events_ingest;"
    "UPDATE evkit_schema SET version = 2 WHERE component = 'evstore';";

/* Start a transaction unless the caller holds one; *own says who ends it. */
static int
tx_begin(struct ev_db *db, int *own, struct ev_err *err)
{
	*own = !ev_db_in_tx(db);
	return *own ? ev_db_begin(db, err) : 0;
}

static int
tx_end(struct ev_db *db, int own, int r, struct ev_err *err)
{
	if (!own)
		return r;
	if (r < 0) {
		ev_db_rollback(db);
		return r;
	}
	return ev_db_commit(db, err) < 0 ? -1 : r;
}

/* Step st to its end (no rows wanted); 0 or -1. */
static int
done(struct ev_db *db, sqlite3_stmt *st, struct ev_err *err)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return ev_sqlite_err(db, rc, err);
	return 0;
}

/* Run st for its single integer (0 when NULL or no row) into *v. */
static int
one_int(struct ev_db *db, sqlite3_stmt *st, int64_t *v, struct ev_err *err)
{
	int rc = sqlite3_step(st);

	*v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return ev_sqlite_err(db, rc, err);
	return 0;
}

/* True when the file holds no table yet (a new store). */
static int
is_empty(struct ev_db *db)
{
	sqlite3_stmt *st;
	int empty = 0;

	if (sqlite3_prepare_v2(db->sq, "SELECT count(*) FROM sqlite_schema",
	    -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		empty = sqlite3_column_int(st, 0) == 0;
	sqlite3_finalize(st);
	return empty;
}

/*
 * The version of the evstore tables in the file: -1 when the file holds
 * tables but no evstore ones (another tool's, or no evkit file at all).
 */
static int
log_version(struct ev_db *db, int *v)
{
	sqlite3_stmt *st;
	int rc;

	*v = -1;
	if (sqlite3_prepare_v2(db->sq, "SELECT version FROM evkit_schema "
	    "WHERE component = 'evstore'", -1, &st, NULL) != SQLITE_OK)
		return 0;	/* no evkit_schema: not ours */
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : rc;
}

static int
not_a_store(struct ev_db *db, struct ev_err *err)
{
	ev_err_set(err, "%s: not an evstore store", db->name);
	return -1;
}

/* Bring version 1 tables to version 2, in one transaction. */
static int
upgrade(struct ev_db *db, struct ev_err *err)
{
	int v, rc;

	if (ev_db_begin(db, err) < 0)
		return -1;
	/* Another process may have done it meanwhile. */
	if ((rc = log_version(db, &v)) != 0 ||
	    (v == 1 && ev_sqlite_exec(db, upgrade1, err) < 0)) {
		if (rc != 0)
			ev_sqlite_err(db, rc, err);
		ev_db_rollback(db);
		return -1;
	}
	return ev_db_commit(db, err);
}

static int
lg_open(struct ev_db *db, struct ev_err *err)
{
	int v, rc, empty;

	/*
	 * Both in one snapshot: another process creating the store at this
	 * moment has either committed all of its tables or none.
	 */
	if (ev_sqlite_exec(db, "BEGIN", err) < 0)
		return -1;
	empty = is_empty(db);
	rc = log_version(db, &v);
	sqlite3_exec(db->sq, "COMMIT", NULL, NULL, NULL);
	if (rc != 0)
		return ev_sqlite_err(db, rc, err);
	empty = empty && v < 0;
	if (v < 0 && !empty)
		return not_a_store(db, err);
	if (db->opts.readonly) {
		if (empty)
			return not_a_store(db, err);
		if (v > EV_LOG_SCHEMA_VERSION) {
			ev_err_set(err, "%s: evstore tables are version %d; "
			    "this evstore reads version %d", db->name, v,
			    EV_LOG_SCHEMA_VERSION);
			return -1;
		}
		return 0;
	}
	/*
	 * Short-lived processes (receive, ack) must not pay for a checkpoint
	 * each when they close: SQLite's automatic checkpoints do it.
	 */
	sqlite3_db_config(db->sq, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	/*
	 * A page cache of 64 pages (4 MiB of 64 KiB pages), in pages: a cache
	 * given in KiB (SQLite's default, -2000) grows with each transaction
	 * of an append and is given back after it, so that every batch
	 * faulted its memory in again (a third of append's system time).
	 */
	sqlite3_exec(db->sq, "PRAGMA cache_size=64", NULL, NULL, NULL);
	if (v == 1 && upgrade(db, err) < 0)
		return -1;
	return ev_db_schema(db, "evstore", EV_LOG_SCHEMA_VERSION, ddl, err);
}

/*
 * In a write transaction, the first append reads where the log ends: the
 * next sequence number (past the last event and the last one pruned) and
 * the last ingest time, kept in db->log_next and db->log_ingest until the
 * transaction ends (ev_db_begin() clears log_next).
 */
static int
log_tail(struct ev_db *db, struct ev_err *err)
{
	sqlite3_stmt *st;
	int64_t pruned;
	int rc;

	st = ev_sqlite_stmt(db, S_TAIL, "SELECT seq, ingest FROM "
	    "evstore_events ORDER BY seq DESC LIMIT 1", err);
	if (st == NULL)
		return -1;
	db->log_next = 1;
	db->log_ingest = INT64_MIN;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		db->log_next = sqlite3_column_int64(st, 0) + 1;
		db->log_ingest = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ev_sqlite_err(db, rc, err);
	st = ev_sqlite_stmt(db, S_META_GET, "SELECT value FROM evstore_meta "
	    "WHERE name = 'last_seq'", err);
	if (st == NULL || one_int(db, st, &pruned, err) < 0)
		return -1;
	if (pruned + 1 > db->log_next)
		db->log_next = pruned + 1;
	return 0;
}

static int
lg_append(struct ev_db *db, const char *data, size_t len, int64_t now,
    int64_t *seq, struct ev_err *err)
{
	sqlite3_stmt *st;
	int own, r = -1;

	if (tx_begin(db, &own, err) < 0)
		return -1;
	if (db->log_next == 0 && log_tail(db, err) < 0)
		goto out;
	if (now < db->log_ingest)
		now = db->log_ingest;	/* never back in time */
	st = ev_sqlite_stmt(db, S_APPEND, "INSERT INTO evstore_events "
	    "(seq, ingest, event) VALUES (?1, ?2, ?3)", err);
	if (st == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, db->log_next);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_blob64(st, 3, len ? data : "", len, SQLITE_STATIC);
	if (done(db, st, err) < 0)
		goto out;
	*seq = db->log_next++;
	db->log_ingest = now;
	r = 0;
out:
	if (r < 0 && !own)
		db->log_next = 0;	/* read the tail again */
	return tx_end(db, own, r, err);
}

/*
 * The first sequence number whose ingest time is t or later (the end of
 * the log, when none is), by bisection: ingest times never decrease along
 * sequence numbers, and numbers may have gaps.
 */
static int
seq_at(struct ev_db *db, int64_t t, int64_t *seq, struct ev_err *err)
{
	sqlite3_stmt *st;
	int64_t lo, hi, mid, s, ing;
	int rc;

	st = ev_sqlite_stmt(db, S_FIRST, "SELECT coalesce(min(seq), 1), "
	    "coalesce(max(seq), 0) + 1 FROM evstore_events", err);
	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	lo = sqlite3_column_int64(st, 0);
	hi = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return ev_sqlite_err(db, rc, err);
	/* Events before lo are older than t; those from hi on are not. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		st = ev_sqlite_stmt(db, S_PROBE, "SELECT seq, ingest FROM "
		    "evstore_events WHERE seq >= ?1 ORDER BY seq LIMIT 1", err);
		if (st == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, mid);
		rc = sqlite3_step(st);
		s = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : hi;
		ing = rc == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
		sqlite3_reset(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return ev_sqlite_err(db, rc, err);
		if (s >= hi || ing >= t)
			hi = mid;
		else
			lo = s + 1;
	}
	*seq = lo;
	return 0;
}

/* Fill ev from columns seq, ingest, event at i. */
static void
row_event(sqlite3_stmt *st, int i, struct ev_log_event *ev)
{
	ev->seq = sqlite3_column_int64(st, i);
	ev->ingest = sqlite3_column_int64(st, i + 1);
	ev->data = sqlite3_column_blob(st, i + 2);
	ev->len = (size_t)sqlite3_column_bytes(st, i + 2);
	if (ev->data == NULL)
		ev->data = "";
}

static int64_t
lg_read(struct ev_db *db, const struct ev_log_range *r, ev_log_fn fn,
    void *ctx, struct ev_err *err)
{
	struct ev_log_event ev;
	sqlite3_stmt *st;
	int64_t n = 0, from = r->from, s;
	int rc;

	if (r->since != INT64_MIN) {
		if (seq_at(db, r->since, &s, err) < 0)
			return -1;
		if (s > from)
			from = s;
	}
	st = ev_sqlite_stmt(db, S_READ, "SELECT seq, ingest, event FROM "
	    "evstore_events WHERE seq >= ?1 AND ingest >= ?2 AND ingest < ?3 "
	    "ORDER BY seq LIMIT ?4", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, r->since);
	sqlite3_bind_int64(st, 3, r->until);
	sqlite3_bind_int64(st, 4, r->max > 0 ? r->max : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&ev, 0, sizeof(ev));
		row_event(st, 0, &ev);
		n++;
		if (fn(ctx, &ev) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return ev_sqlite_err(db, rc, err);
	return n;
}

static int
lg_cursor_get(struct ev_db *db, const char *name, int64_t *seq,
    struct ev_err *err)
{
	sqlite3_stmt *st;

	st = ev_sqlite_stmt(db, S_CUR_GET, "SELECT seq FROM "
	    "evstore_consumers WHERE name = ?1", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	return one_int(db, st, seq, err);
}

static int
lg_cursor_set(struct ev_db *db, const char *name, int64_t seq,
    struct ev_err *err)
{
	sqlite3_stmt *st;
	int own, r;

	if (tx_begin(db, &own, err) < 0)
		return -1;
	st = ev_sqlite_stmt(db, S_CUR_PUT, "INSERT INTO evstore_consumers "
	    "(name, seq) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET "
	    "seq = excluded.seq", err);
	r = -1;
	if (st != NULL) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, seq);
		r = done(db, st, err);
	}
	return tx_end(db, own, r, err);
}

/*
 * A new lease token: 16 hex digits, from a random seed (one getrandom(2)
 * per process) stepped and mixed as splitmix64 does: distinct for every
 * lease of the process, unpredictable across processes.
 */
static void
new_token(char tok[17])
{
	static uint64_t state;
	uint64_t z;

	if (state == 0 &&
	    getrandom(&state, sizeof(state), 0) != (ssize_t)sizeof(state))
		state = (uint64_t)(uintptr_t)tok ^ (uint64_t)ev_now_ms();
	z = (state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	snprintf(tok, 17, "%016" PRIx64, z ^ (z >> 31));
}

/*
 * Lease seq to the caller (receives so far: rec) and hand it to fn with
 * the event's bytes.  S_LEASE inserts or replaces the lease row.
 */
static int
lease_one(struct ev_db *db, const char *group, int64_t seq, int64_t rec,
    const struct ev_log_lease *l, ev_log_fn fn, void *ctx,
    struct ev_err *err)
{
	struct ev_log_event ev;
	sqlite3_stmt *st;
	char tok[17];
	int rc;

	new_token(tok);
	st = ev_sqlite_stmt(db, S_LEASE, "INSERT OR REPLACE INTO "
	    "evstore_leases (grp, seq, receives, token, expires) VALUES "
	    "(?1, ?2, ?3, ?4, ?5)", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, seq);
	sqlite3_bind_int64(st, 3, rec + 1);
	sqlite3_bind_text(st, 4, tok, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, l->now + l->visibility);
	if (done(db, st, err) < 0)
		return -1;
	st = ev_sqlite_stmt(db, S_EV_GET, "SELECT seq, ingest, event FROM "
	    "evstore_events WHERE seq = ?1", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(&ev, 0, sizeof(ev));
		row_event(st, 0, &ev);
		ev.receives = rec + 1;
		ev.token = tok;
		fn(ctx, &ev);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return ev_sqlite_err(db, rc, err);
	return 0;
}

static int64_t
lg_receive_tx(struct ev_db *db, const char *group,
    const struct ev_log_lease *l, ev_log_fn fn, void *ctx,
    struct ev_err *err)
{
	sqlite3_stmt *st;
	int64_t n = 0, head, want = l->max, *seqs, *recs, m = 0, i;
	int rc;

	if (want <= 0)
		want = 1;
	seqs = calloc((size_t)want, sizeof(*seqs));
	recs = calloc((size_t)want, sizeof(*recs));
	if (seqs == NULL || recs == NULL) {
		free(seqs);
		free(recs);
		ev_err_set(err, "out of memory");
		return -1;
	}
	/* Expired leases received often enough become dead letters. */
	if (l->max_receives > 0) {
		st = ev_sqlite_stmt(db, S_DEAD_MOVE, "INSERT OR REPLACE INTO "
		    "evstore_dead (grp, seq, receives, reason, at) SELECT grp, "
		    "seq, receives, 'max receives exceeded', ?2 FROM "
		    "evstore_leases WHERE grp = ?1 AND expires <= ?2 AND "
		    "receives >= ?3", err);
		if (st == NULL)
			goto fail;
		sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, l->now);
		sqlite3_bind_int64(st, 3, l->max_receives);
		if (done(db, st, err) < 0)
			goto fail;
		st = ev_sqlite_stmt(db, S_DEAD_DEL, "DELETE FROM evstore_leases "
		    "WHERE grp = ?1 AND expires <= ?2 AND receives >= ?3", err);
		if (st == NULL)
			goto fail;
		sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, l->now);
		sqlite3_bind_int64(st, 3, l->max_receives);
		if (done(db, st, err) < 0)
			goto fail;
	}
	/* Expired leases first, in sequence order. */
	st = ev_sqlite_stmt(db, S_EXPIRED, "SELECT seq, receives FROM "
	    "evstore_leases WHERE grp = ?1 AND expires <= ?2 ORDER BY seq "
	    "LIMIT ?3", err);
	if (st == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, l->now);
	sqlite3_bind_int64(st, 3, want);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && m < want) {
		seqs[m] = sqlite3_column_int64(st, 0);
		recs[m++] = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		ev_sqlite_err(db, rc, err);
		goto fail;
	}
	/* Then new events past the group's head. */
	st = ev_sqlite_stmt(db, S_GRP_GET, "SELECT head FROM evstore_groups "
	    "WHERE name = ?1", err);
	if (st == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
	if (one_int(db, st, &head, err) < 0)
		goto fail;
	if (m < want) {
		st = ev_sqlite_stmt(db, S_NEW, "SELECT seq FROM evstore_events "
		    "WHERE seq > ?1 ORDER BY seq LIMIT ?2", err);
		if (st == NULL)
			goto fail;
		sqlite3_bind_int64(st, 1, head);
		sqlite3_bind_int64(st, 2, want - m);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			seqs[m] = sqlite3_column_int64(st, 0);
			recs[m++] = 0;
			head = seqs[m - 1];
		}
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			ev_sqlite_err(db, rc, err);
			goto fail;
		}
	}
	st = ev_sqlite_stmt(db, S_GRP_PUT, "INSERT INTO evstore_groups "
	    "(name, head) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET "
	    "head = excluded.head", err);
	if (st == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, head);
	if (done(db, st, err) < 0)
		goto fail;
	for (i = 0; i < m; i++) {
		if (lease_one(db, group, seqs[i], recs[i], l, fn, ctx,
		    err) < 0)
			goto fail;
		n++;
	}
	free(seqs);
	free(recs);
	return n;
fail:
	free(seqs);
	free(recs);
	return -1;
}

static int64_t
lg_receive(struct ev_db *db, const char *group, const struct ev_log_lease *l,
    ev_log_fn fn, void *ctx, struct ev_err *err)
{
	int64_t n;
	int own;

	if (tx_begin(db, &own, err) < 0)
		return -1;
	n = lg_receive_tx(db, group, l, fn, ctx, err);
	if (tx_end(db, own, n < 0 ? -1 : 0, err) < 0)
		return -1;
	return n;
}

static int
lg_ack(struct ev_db *db, const char *group, int64_t seq, const char *token,
    int nack, int64_t now, struct ev_err *err)
{
	sqlite3_stmt *st;
	int own, r = -1;

	if (tx_begin(db, &own, err) < 0)
		return -1;
	if (nack)
		st = ev_sqlite_stmt(db, S_NACK, "UPDATE evstore_leases SET "
		    "expires = ?4 WHERE grp = ?1 AND seq = ?2 AND token = ?3",
		    err);
	else
		st = ev_sqlite_stmt(db, S_ACK, "DELETE FROM evstore_leases "
		    "WHERE grp = ?1 AND seq = ?2 AND token = ?3", err);
	if (st != NULL) {
		sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, seq);
		sqlite3_bind_text(st, 3, token, -1, SQLITE_STATIC);
		if (nack)
			sqlite3_bind_int64(st, 4, now);
		if (done(db, st, err) == 0)
			r = sqlite3_changes(db->sq) > 0;
	}
	return tx_end(db, own, r, err);
}

static int64_t
lg_dead(struct ev_db *db, const char *group, ev_log_fn fn, void *ctx,
    struct ev_err *err)
{
	struct ev_log_event ev;
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc;

	st = ev_sqlite_stmt(db, S_DEAD_LIST, "SELECT e.seq, e.ingest, "
	    "e.event, d.receives, d.reason, d.at FROM evstore_dead d JOIN "
	    "evstore_events e ON e.seq = d.seq WHERE d.grp = ?1 ORDER BY "
	    "d.seq", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&ev, 0, sizeof(ev));
		row_event(st, 0, &ev);
		ev.receives = sqlite3_column_int64(st, 3);
		ev.reason = (const char *)sqlite3_column_text(st, 4);
		ev.dead_at = sqlite3_column_int64(st, 5);
		n++;
		if (fn(ctx, &ev) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return ev_sqlite_err(db, rc, err);
	return n;
}

static int64_t
lg_redrive(struct ev_db *db, const char *group, struct ev_err *err)
{
	sqlite3_stmt *st;
	int64_t n = -1;
	int own;

	if (tx_begin(db, &own, err) < 0)
		return -1;
	st = ev_sqlite_stmt(db, S_REDRIVE, "INSERT OR REPLACE INTO "
	    "evstore_leases (grp, seq, receives, token, expires) SELECT grp, "
	    "seq, 0, '', 0 FROM evstore_dead WHERE grp = ?1", err);
	if (st == NULL)
		goto out;
	sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
	if (done(db, st, err) < 0)
		goto out;
	st = ev_sqlite_stmt(db, S_REDRIVE_DEL, "DELETE FROM evstore_dead "
	    "WHERE grp = ?1", err);
	if (st == NULL)
		goto out;
	sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
	if (done(db, st, err) < 0)
		goto out;
	n = sqlite3_changes(db->sq);
out:
	if (tx_end(db, own, n < 0 ? -1 : 0, err) < 0)
		return -1;
	return n;
}

static int64_t
lg_prune(struct ev_db *db, int64_t before, int64_t keep, struct ev_err *err)
{
	sqlite3_stmt *st;
	int64_t n = 0, bound;
	int own, r = -1;

	if (tx_begin(db, &own, err) < 0)
		return -1;
	/* The last sequence number handed out outlives its event. */
	st = ev_sqlite_stmt(db, S_META_PUT, "INSERT OR REPLACE INTO "
	    "evstore_meta (name, value) SELECT 'last_seq', max(seq) FROM "
	    "evstore_events HAVING max(seq) IS NOT NULL", err);
	if (st == NULL || done(db, st, err) < 0)
		goto out;
	if (before != INT64_MIN) {
		if (seq_at(db, before, &bound, err) < 0)
			goto out;
		st = ev_sqlite_stmt(db, S_PRUNE_BEFORE, "DELETE FROM "
		    "evstore_events WHERE seq < ?1", err);
		if (st == NULL)
			goto out;
		sqlite3_bind_int64(st, 1, bound);
		if (done(db, st, err) < 0)
			goto out;
		n += sqlite3_changes(db->sq);
	}
	if (keep >= 0) {
		st = ev_sqlite_stmt(db, S_PRUNE_KEEP, "DELETE FROM "
		    "evstore_events WHERE seq <= coalesce((SELECT seq FROM "
		    "evstore_events ORDER BY seq DESC LIMIT 1 OFFSET ?1), 0)",
		    err);
		if (st == NULL)
			goto out;
		sqlite3_bind_int64(st, 1, keep);
		if (done(db, st, err) < 0)
			goto out;
		n += sqlite3_changes(db->sq);
	}
	if (n == 0) {
		r = 0;
		goto out;
	}
	st = ev_sqlite_stmt(db, S_PRUNE_LEASES, "DELETE FROM evstore_leases "
	    "WHERE NOT EXISTS (SELECT 1 FROM evstore_events e WHERE "
	    "e.seq = evstore_leases.seq)", err);
	if (st == NULL || done(db, st, err) < 0)
		goto out;
	st = ev_sqlite_stmt(db, S_PRUNE_DEAD, "DELETE FROM evstore_dead "
	    "WHERE NOT EXISTS (SELECT 1 FROM evstore_events e WHERE "
	    "e.seq = evstore_dead.seq)", err);
	if (st == NULL || done(db, st, err) < 0)
		goto out;
	r = 0;
out:
	if (tx_end(db, own, r, err) < 0)
		return -1;
	return n;
}

/* "first"/"last": {"seq":N,"time":"..."} or null. */
static int
stat_end(struct ev_db *db, int slot, const char *sql, const char *key,
    struct ev_buf *out, struct ev_err *err)
{
	sqlite3_stmt *st;
	char t[32];
	int rc;

	if ((st = ev_sqlite_stmt(db, slot, sql, err)) == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ev_time_format(sqlite3_column_int64(st, 1), t, sizeof(t));
		ev_store_printf(out, ",\"%s\":{\"seq\":%" PRId64 ",\"time\":\"%s\"}",
		    key, (int64_t)sqlite3_column_int64(st, 0), t);
	} else
		ev_store_printf(out, ",\"%s\":null", key);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ev_sqlite_err(db, rc, err);
	return 0;
}

/* Bind text and group's now, run for one integer. */
static int
grp_int(struct ev_db *db, int slot, const char *sql, const char *name,
    int64_t now, int64_t *v, struct ev_err *err)
{
	sqlite3_stmt *st = ev_sqlite_stmt(db, slot, sql, err);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	if (sqlite3_bind_parameter_count(st) > 1)
		sqlite3_bind_int64(st, 2, now);
	return one_int(db, st, v, err);
}

static const char lag_sql[] =
    "SELECT count(*) FROM evstore_events WHERE seq > ?1";

/* Names and heads of consumers or groups, with their counts. */
static int
stat_names(struct ev_db *db, int groups, int64_t now, struct ev_buf *out,
    struct ev_err *err)
{
	sqlite3_stmt *st, *lag;
	int64_t v, pending, ready, flying, dead;
	const char *name;
	int rc, first = 1;

	st = ev_sqlite_stmt(db, groups ? S_GROUPS : S_CONSUMERS, groups ?
	    "SELECT name, head FROM evstore_groups ORDER BY name" :
	    "SELECT name, seq FROM evstore_consumers ORDER BY name", err);
	if (st == NULL)
		return -1;
	ev_store_printf(out, ",\"%s\":{", groups ? "groups" : "consumers");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(st, 0);
		v = sqlite3_column_int64(st, 1);
		if (!first)
			ev_buf_add(out, ",", 1);
		first = 0;
		ev_store_jstr(out, name);
		if ((lag = ev_sqlite_stmt(db, S_LAG, lag_sql, err)) == NULL)
			goto fail;
		sqlite3_bind_int64(lag, 1, v);
		if (one_int(db, lag, &pending, err) < 0)
			goto fail;
		if (!groups) {
			ev_store_printf(out, ":{\"seq\":%" PRId64 ",\"lag\":%" PRId64
			    "}", v, pending);
			continue;
		}
		if (grp_int(db, S_GRP_EXPIRED, "SELECT count(*) FROM "
		    "evstore_leases WHERE grp = ?1 AND expires <= ?2", name,
		    now, &ready, err) < 0 || grp_int(db, S_GRP_INFLIGHT,
		    "SELECT count(*) FROM evstore_leases WHERE grp = ?1 AND "
		    "expires > ?2", name, now, &flying, err) < 0 ||
		    grp_int(db, S_GRP_DEAD, "SELECT count(*) FROM evstore_dead "
		    "WHERE grp = ?1", name, now, &dead, err) < 0)
			goto fail;
		ev_store_printf(out, ":{\"depth\":%" PRId64 ",\"in-flight\":%" PRId64
		    ",\"dead\":%" PRId64 "}", pending + ready, flying, dead);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return ev_sqlite_err(db, rc, err);
	return ev_buf_add(out, "}", 1);
fail:
	sqlite3_reset(st);
	return -1;
}

static int
lg_stat(struct ev_db *db, int64_t now, struct ev_buf *out,
    struct ev_err *err)
{
	sqlite3_stmt *st;
	int rc, r = -1;

	/* One read transaction: the numbers agree with each other. */
	if (ev_sqlite_exec(db, "BEGIN", err) < 0)
		return -1;
	st = ev_sqlite_stmt(db, S_STAT, "SELECT count(*), "
	    "coalesce(sum(length(event)), 0) FROM evstore_events", err);
	if (st == NULL)
		goto out;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		ev_sqlite_err(db, rc, err);
		goto out;
	}
	ev_store_printf(out, "{\"count\":%" PRId64 ",\"bytes\":%" PRId64,
	    (int64_t)sqlite3_column_int64(st, 0),
	    (int64_t)sqlite3_column_int64(st, 1));
	sqlite3_reset(st);
	if (stat_end(db, S_STAT_FIRST, "SELECT seq, ingest FROM "
	    "evstore_events ORDER BY seq LIMIT 1", "first", out, err) < 0 ||
	    stat_end(db, S_STAT_LAST, "SELECT seq, ingest FROM evstore_events "
	    "ORDER BY seq DESC LIMIT 1", "last", out, err) < 0 ||
	    stat_names(db, 0, now, out, err) < 0 ||
	    stat_names(db, 1, now, out, err) < 0)
		goto out;
	if (ev_buf_add(out, "}", 1) < 0) {
		ev_err_set(err, "out of memory");
		goto out;
	}
	r = 0;
out:
	sqlite3_exec(db->sq, "COMMIT", NULL, NULL, NULL);
	return r;
}

const struct ev_log_ops ev_log_sqlite = {
	.open = lg_open,
	.append = lg_append,
	.read = lg_read,
	.cursor_get = lg_cursor_get,
	.cursor_set = lg_cursor_set,
	.receive = lg_receive,
	.ack = lg_ack,
	.dead = lg_dead,
	.redrive = lg_redrive,
	.prune = lg_prune,
	.stat = lg_stat,
};
