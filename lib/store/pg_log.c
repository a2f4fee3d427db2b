/*
 * pg_log.c - the event log and queues on PostgreSQL (struct ev_log_ops).
 * The tables are documented in evstore(1), POSTGRESQL.  Appends are held
 * and sent by one COPY (binary) at commit; an appending transaction holds
 * a lock on the events table from its first append on, so that sequence
 * numbers are handed out, and become visible, in order.  Receivers lease
 * expired leases with FOR UPDATE SKIP LOCKED and new events past the
 * group's head under the group row's lock.
 */
#include <endian.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "pg_int.h"

/*
 * Version 2 of the evstore tables on PostgreSQL; version 1 had no index on
 * ingest (read --since and prune --before scanned the events).
 */
#define PG_LOG_VERSION 2

static const char ddl[] =
    "CREATE TABLE @events ("
    " seq int8 PRIMARY KEY,"
    " ingest int8 NOT NULL,"
    " event bytea NOT NULL);"
    "CREATE INDEX ON @events (ingest);"
    "CREATE TABLE @meta ("
    " name text PRIMARY KEY,"
    " value int8 NOT NULL);"
    "CREATE TABLE @consumers ("
    " name text PRIMARY KEY,"
    " seq int8 NOT NULL);"
    "CREATE TABLE @groups ("
    " name text PRIMARY KEY,"
    " head int8 NOT NULL);"
    "CREATE TABLE @leases ("
    " grp text NOT NULL,"
    " seq int8 NOT NULL,"
    " receives int8 NOT NULL,"
    " token text NOT NULL,"
    " expires int8 NOT NULL,"
    " PRIMARY KEY (grp, seq));"
    "CREATE TABLE @dead ("
    " grp text NOT NULL,"
    " seq int8 NOT NULL,"
    " receives int8 NOT NULL,"
    " reason text NOT NULL,"
    " at int8 NOT NULL,"
    " PRIMARY KEY (grp, seq));";

/* Rows read per statement by read. */
#define PG_READ_CHUNK 2000

#define P(...) (const char *[]){ __VA_ARGS__ }

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

static int
not_a_store(struct ev_db *db, struct ev_err *err)
{
	ev_err_set(err, "%s: not an evstore store", db->name);
	return -1;
}

/*
 * evstore migrate: version 1 tables to version 2, in one transaction under
 * the lock that creating tables takes (pg.c's pg_schema).
 */
static int
upgrade(struct ev_db *db, struct ev_err *err)
{
	char key[2 * EV_PG_NAME_MAX + 16];
	int v;

	if (ev_db_begin(db, err) < 0)
		return -1;
	snprintf(key, sizeof(key), "evstore:%s", db->pg->store);
	/* Another process may have done it meanwhile. */
	if (ev_pg_do(db, "SELECT pg_advisory_xact_lock(7470617)", 0, NULL,
	    err) < 0 || ev_pg_version(db, "evstore", &v, err) < 0 ||
	    (v == 1 && (ev_pg_do(db, "CREATE INDEX ON @events (ingest)", 0,
	    NULL, err) < 0 || ev_pg_do(db, "UPDATE @@.evkit_schema SET "
	    "version = 2 WHERE component = $1", 1, P(key), err) < 0))) {
		ev_db_rollback(db);
		return -1;
	}
	return ev_db_commit(db, err);
}

static int
lg_open(struct ev_db *db, struct ev_err *err)
{
	int v;

	if (ev_pg_version(db, "evstore", &v, err) < 0)
		return -1;
	if (v > PG_LOG_VERSION) {
		ev_err_set(err, "%s: evstore tables are version %d; this "
		    "evstore reads version %d", db->name, v, PG_LOG_VERSION);
		return -1;
	}
	if (db->opts.readonly)
		return v < 0 ? not_a_store(db, err) : 0;
	if (v == PG_LOG_VERSION)
		return 0;
	if (v == 1 && db->opts.migrate && upgrade(db, err) < 0)
		return -1;
	return ev_db_schema(db, "evstore", PG_LOG_VERSION, ddl, err);
}

/*
 * The first append of a transaction takes the events table's append lock
 * and reads where the log ends.
 */
static int
log_tail(struct ev_db *db, struct ev_err *err)
{
	PGresult *r;
	int64_t pruned;

	if (ev_pg_do(db, "LOCK TABLE @events IN SHARE ROW EXCLUSIVE MODE", 0,
	    NULL, err) < 0)
		return -1;
	db->pg->log_locked = 1;
	r = ev_pg_q(db, "SELECT seq, ingest FROM @events ORDER BY seq DESC "
	    "LIMIT 1", 0, NULL, err);
	if (r == NULL)
		return -1;
	db->log_next = 1;
	db->log_ingest = INT64_MIN;
	if (PQntuples(r) > 0) {
		db->log_next = ev_pg_getint(r, 0, 0) + 1;
		db->log_ingest = ev_pg_getint(r, 0, 1);
	}
	PQclear(r);
	if (ev_pg_int(db, "SELECT value FROM @meta WHERE name = 'last_seq'",
	    0, NULL, &pruned, err) < 0)
		return -1;
	if (pruned + 1 > db->log_next)
		db->log_next = pruned + 1;
	return 0;
}

static int
put_be(struct ev_buf *b, uint64_t v, int bytes)
{
	uint64_t be8 = htobe64(v);
	uint32_t be4 = htobe32((uint32_t)v);
	uint16_t be2 = htobe16((uint16_t)v);

	if (bytes == 8)
		return ev_buf_add(b, &be8, 8);
	if (bytes == 4)
		return ev_buf_add(b, &be4, 4);
	return ev_buf_add(b, &be2, 2);
}

static int
lg_append(struct ev_db *db, const char *data, size_t len, int64_t now,
    int64_t *seq, struct ev_err *err)
{
	struct ev_pg *pg = db->pg;
	struct ev_buf *b = &pg->copy;
	int own, r = -1;

	if (len > INT32_MAX) {
		ev_err_set(err, "%s: event too big", db->name);
		return -1;
	}
	if (tx_begin(db, &own, err) < 0)
		return -1;
	if (db->log_next == 0 && log_tail(db, err) < 0)
		goto out;
	now = ev_pg_now(db, now);
	if (now < db->log_ingest)
		now = db->log_ingest;	/* never back in time */
	if (b->len == 0 && ev_buf_add(b, "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0",
	    19) < 0)
		goto oom;
	if (put_be(b, 3, 2) < 0 || put_be(b, 8, 4) < 0 ||
	    put_be(b, (uint64_t)db->log_next, 8) < 0 || put_be(b, 8, 4) < 0 ||
	    put_be(b, (uint64_t)now, 8) < 0 || put_be(b, len, 4) < 0 ||
	    ev_buf_add(b, data, len) < 0)
		goto oom;
	pg->ncopy++;
	*seq = db->log_next++;
	db->log_ingest = now;
	r = 0;
	goto out;
oom:
	ev_err_set(err, "out of memory");
out:
	return tx_end(db, own, r, err);
}

int
ev_pg_log_sync(struct ev_db *db, struct ev_err *err)
{
	struct ev_pg *pg = db->pg;
	PGresult *r;
	int ok;

	if (pg->ncopy == 0)
		return 0;
	if (ev_buf_add(&pg->copy, "\377\377", 2) < 0) {
		ev_err_set(err, "out of memory");
		return -1;
	}
	r = ev_pg_q(db, "COPY @events (seq, ingest, event) FROM STDIN "
	    "(FORMAT binary)", 0, NULL, err);
	pg->ncopy = 0;
	if (r == NULL) {
		pg->copy.len = 0;
		return -1;
	}
	ok = PQresultStatus(r) == PGRES_COPY_IN;
	PQclear(r);
	if (ok)
		ok = PQputCopyData(pg->c, pg->copy.p, (int)pg->copy.len) == 1 &&
		    PQputCopyEnd(pg->c, NULL) == 1;
	pg->copy.len = 0;
	while ((r = PQgetResult(pg->c)) != NULL) {
		if (ok && PQresultStatus(r) != PGRES_COMMAND_OK) {
			ev_pg_err(db, r, err);
			ok = -1;
		}
		PQclear(r);
	}
	if (!ok)
		ev_pg_err(db, NULL, err);
	return ok == 1 ? 0 : -1;
}

/* Fill ev from columns seq, ingest, event at col. */
static void
row_event(const PGresult *r, int row, int col, struct ev_log_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->seq = ev_pg_getint(r, row, col);
	ev->ingest = ev_pg_getint(r, row, col + 1);
	ev->data = PQgetvalue(r, row, col + 2);
	ev->len = (size_t)PQgetlength(r, row, col + 2);
}

/* The first sequence number ingested at t or later (the end when none). */
static int
seq_at(struct ev_db *db, int64_t t, int64_t *seq, struct ev_err *err)
{
	char ts[24];

	return ev_pg_int(db, "SELECT coalesce((SELECT min(seq) FROM @events "
	    "WHERE ingest >= $1), (SELECT coalesce(max(seq), 0) + 1 FROM "
	    "@events))", 1, P(ev_pg_i64(ts, t)), seq, err);
}

static int64_t
lg_read(struct ev_db *db, const struct ev_log_range *rg, ev_log_fn fn,
    void *ctx, struct ev_err *err)
{
	struct ev_log_event ev;
	PGresult *r;
	int64_t n = 0, from = rg->from, s, want;
	char a[24], b[24], c[24], d[24];
	int i, rows, stop = 0;

	if (ev_pg_log_sync(db, err) < 0)
		return -1;
	if (rg->since != INT64_MIN) {
		if (seq_at(db, rg->since, &s, err) < 0)
			return -1;
		if (s > from)
			from = s;
	}
	while (!stop) {
		want = PG_READ_CHUNK;
		if (rg->max > 0 && rg->max - n < want)
			want = rg->max - n;
		if (want <= 0)
			break;
		r = ev_pg_q(db, "SELECT seq, ingest, event FROM @events WHERE "
		    "seq >= $1 AND ingest >= $2 AND ingest < $3 ORDER BY seq "
		    "LIMIT $4", 4, P(ev_pg_i64(a, from), ev_pg_i64(b,
		    rg->since), ev_pg_i64(c, rg->until), ev_pg_i64(d, want)),
		    err);
		if (r == NULL)
			return -1;
		rows = PQntuples(r);
		for (i = 0; i < rows && !stop; i++) {
			row_event(r, i, 0, &ev);
			n++;
			from = ev.seq + 1;
			stop = fn(ctx, &ev) != 0;
		}
		PQclear(r);
		if (rows < want)
			break;
	}
	return n;
}

static int
lg_cursor_get(struct ev_db *db, const char *name, int64_t *seq,
    struct ev_err *err)
{
	return ev_pg_int(db, "SELECT seq FROM @consumers WHERE name = $1", 1,
	    P(name), seq, err);
}

static int
lg_cursor_set(struct ev_db *db, const char *name, int64_t seq,
    struct ev_err *err)
{
	char s[24];

	return ev_pg_do(db, "INSERT INTO @consumers (name, seq) VALUES ($1, "
	    "$2) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq", 2,
	    P(name, ev_pg_i64(s, seq)), err);
}

/*
 * A new lease token: 16 hex digits, from a random seed stepped and mixed
 * as splitmix64 does.  One token serves a whole receive: a receipt is the
 * sequence number with it.
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

/* Hand the rows seq, ingest, event, receives of r to fn. */
static int64_t
hand(PGresult *r, const char *tok, ev_log_fn fn, void *ctx)
{
	struct ev_log_event ev;
	int i, rows = PQntuples(r);

	for (i = 0; i < rows; i++) {
		row_event(r, i, 0, &ev);
		ev.receives = ev_pg_getint(r, i, 3);
		ev.token = tok;
		fn(ctx, &ev);
	}
	PQclear(r);
	return rows;
}

static int64_t
lg_receive_tx(struct ev_db *db, const char *group,
    const struct ev_log_lease *l, ev_log_fn fn, void *ctx,
    struct ev_err *err)
{
	char now[24], exp[24], want[24], maxr[24], hs[24], tok[17];
	int64_t m, head, w = l->max > 0 ? l->max : 1;
	PGresult *r;

	ev_pg_i64(now, ev_pg_now(db, l->now));
	ev_pg_i64(exp, ev_pg_now(db, l->now) + l->visibility);
	ev_pg_i64(want, w);
	new_token(tok);
	/* Expired leases received often enough become dead letters. */
	if (l->max_receives > 0 && ev_pg_do(db, "WITH d AS (DELETE FROM "
	    "@leases WHERE grp = $1 AND seq IN (SELECT seq FROM @leases "
	    "WHERE grp = $1 AND expires <= $2 AND receives >= $3 FOR UPDATE "
	    "SKIP LOCKED) RETURNING grp, seq, receives) INSERT INTO @dead "
	    "(grp, seq, receives, reason, at) SELECT grp, seq, receives, "
	    "'max receives exceeded', $2 FROM d ON CONFLICT (grp, seq) DO "
	    "UPDATE SET receives = excluded.receives, reason = "
	    "excluded.reason, at = excluded.at", 3, P(group, now,
	    ev_pg_i64(maxr, l->max_receives)), err) < 0)
		return -1;
	/* Expired leases first, in sequence order, skipping those taken. */
	r = ev_pg_q(db, "WITH x AS (UPDATE @leases SET receives = receives + "
	    "1, token = $4, expires = $3 WHERE grp = $1 AND seq IN (SELECT seq "
	    "FROM @leases WHERE grp = $1 AND expires <= $2 ORDER BY seq LIMIT "
	    "$5 FOR UPDATE SKIP LOCKED) RETURNING seq, receives) SELECT e.seq, "
	    "e.ingest, e.event, x.receives FROM x JOIN @events e ON e.seq = "
	    "x.seq ORDER BY e.seq", 5, P(group, now, exp, tok, want), err);
	if (r == NULL)
		return -1;
	m = hand(r, tok, fn, ctx);
	if (m >= w)
		return m;
	/* Then new events past the group's head, under its row's lock. */
	if (ev_pg_do(db, "INSERT INTO @groups (name, head) VALUES ($1, 0) ON "
	    "CONFLICT (name) DO NOTHING", 1, P(group), err) < 0 ||
	    ev_pg_int(db, "SELECT head FROM @groups WHERE name = $1 FOR "
	    "UPDATE", 1, P(group), &head, err) < 0)
		return -1;
	ev_pg_i64(want, w - m);
	r = ev_pg_q(db, "WITH n AS (SELECT seq, ingest, event FROM @events "
	    "WHERE seq > $2 ORDER BY seq LIMIT $5), l AS (INSERT INTO @leases "
	    "(grp, seq, receives, token, expires) SELECT $1, seq, 1, $4, $3 "
	    "FROM n ON CONFLICT (grp, seq) DO UPDATE SET receives = "
	    "@leases.receives + 1, token = excluded.token, expires = "
	    "excluded.expires RETURNING seq, receives) SELECT n.seq, n.ingest, "
	    "n.event, l.receives FROM n JOIN l ON l.seq = n.seq ORDER BY n.seq",
	    5, P(group, ev_pg_i64(hs, head), exp, tok, want), err);
	if (r == NULL)
		return -1;
	if (PQntuples(r) > 0) {
		head = ev_pg_getint(r, PQntuples(r) - 1, 0);
		if (ev_pg_do(db, "UPDATE @groups SET head = $2 WHERE name = $1",
		    2, P(group, ev_pg_i64(hs, head)), err) < 0) {
			PQclear(r);
			return -1;
		}
	}
	return m + hand(r, tok, fn, ctx);
}

static int64_t
lg_receive(struct ev_db *db, const char *group, const struct ev_log_lease *l,
    ev_log_fn fn, void *ctx, struct ev_err *err)
{
	int64_t n;
	int own;

	if (tx_begin(db, &own, err) < 0 || ev_pg_log_sync(db, err) < 0)
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
	char s[24], t[24];
	PGresult *r;
	int n;

	if (nack)
		r = ev_pg_q(db, "UPDATE @leases SET expires = $4 WHERE grp = $1 "
		    "AND seq = $2 AND token = $3", 4, P(group, ev_pg_i64(s, seq),
		    token, ev_pg_i64(t, ev_pg_now(db, now))), err);
	else
		r = ev_pg_q(db, "DELETE FROM @leases WHERE grp = $1 AND seq = "
		    "$2 AND token = $3", 3, P(group, ev_pg_i64(s, seq), token),
		    err);
	if (r == NULL)
		return -1;
	n = atoi(PQcmdTuples(r)) > 0;
	PQclear(r);
	return n;
}

static int64_t
lg_dead(struct ev_db *db, const char *group, ev_log_fn fn, void *ctx,
    struct ev_err *err)
{
	struct ev_log_event ev;
	PGresult *r;
	int i, rows;

	r = ev_pg_q(db, "SELECT e.seq, e.ingest, e.event, d.receives, "
	    "d.reason, d.at FROM @dead d JOIN @events e ON e.seq = d.seq WHERE "
	    "d.grp = $1 ORDER BY d.seq", 1, P(group), err);
	if (r == NULL)
		return -1;
	rows = PQntuples(r);
	for (i = 0; i < rows; i++) {
		row_event(r, i, 0, &ev);
		ev.receives = ev_pg_getint(r, i, 3);
		ev.reason = PQgetvalue(r, i, 4);
		ev.dead_at = ev_pg_getint(r, i, 5);
		if (fn(ctx, &ev) != 0) {
			i++;
			break;
		}
	}
	PQclear(r);
	return i;
}

static int64_t
lg_redrive(struct ev_db *db, const char *group, struct ev_err *err)
{
	PGresult *r;
	int64_t n;

	r = ev_pg_q(db, "WITH d AS (DELETE FROM @dead WHERE grp = $1 "
	    "RETURNING grp, seq) INSERT INTO @leases (grp, seq, receives, "
	    "token, expires) SELECT grp, seq, 0, '', 0 FROM d ON CONFLICT "
	    "(grp, seq) DO UPDATE SET receives = 0, token = '', expires = 0",
	    1, P(group), err);
	if (r == NULL)
		return -1;
	n = atoll(PQcmdTuples(r));
	PQclear(r);
	return n;
}

static int64_t
lg_prune(struct ev_db *db, int64_t before, int64_t keep, struct ev_err *err)
{
	PGresult *res;
	int64_t n = 0, bound;
	char b[24];
	int own, r = -1;

	if (tx_begin(db, &own, err) < 0 || ev_pg_log_sync(db, err) < 0)
		return -1;
	/* Appends wait: the last sequence number must outlive its event. */
	if (!db->pg->log_locked && ev_pg_do(db, "LOCK TABLE @events IN SHARE "
	    "ROW EXCLUSIVE MODE", 0, NULL, err) < 0)
		goto out;
	db->pg->log_locked = 1;
	if (ev_pg_do(db, "INSERT INTO @meta (name, value) SELECT 'last_seq', "
	    "max(seq) FROM @events HAVING max(seq) IS NOT NULL ON CONFLICT "
	    "(name) DO UPDATE SET value = excluded.value", 0, NULL, err) < 0)
		goto out;
	if (before != INT64_MIN) {
		if (seq_at(db, ev_pg_now(db, before), &bound, err) < 0)
			goto out;
		if ((res = ev_pg_q(db, "DELETE FROM @events WHERE seq < $1", 1,
		    P(ev_pg_i64(b, bound)), err)) == NULL)
			goto out;
		n += atoll(PQcmdTuples(res));
		PQclear(res);
	}
	if (keep >= 0) {
		if ((res = ev_pg_q(db, "DELETE FROM @events WHERE seq <= "
		    "coalesce((SELECT seq FROM @events ORDER BY seq DESC LIMIT 1 "
		    "OFFSET $1), 0)", 1, P(ev_pg_i64(b, keep)), err)) == NULL)
			goto out;
		n += atoll(PQcmdTuples(res));
		PQclear(res);
	}
	if (n > 0 && (ev_pg_do(db, "DELETE FROM @leases l WHERE NOT EXISTS "
	    "(SELECT 1 FROM @events e WHERE e.seq = l.seq)", 0, NULL, err) < 0 ||
	    ev_pg_do(db, "DELETE FROM @dead d WHERE NOT EXISTS (SELECT 1 FROM "
	    "@events e WHERE e.seq = d.seq)", 0, NULL, err) < 0))
		goto out;
	r = 0;
out:
	if (tx_end(db, own, r, err) < 0)
		return -1;
	return n;
}

static int
stat_body(struct ev_db *db, int64_t now, struct ev_buf *out,
    struct ev_err *err)
{
	PGresult *r;
	char t[32], ns[24];
	int i, rows, e = 0;

	r = ev_pg_q(db, "SELECT count(*), coalesce(sum(length(event)), 0)::int8, "
	    "min(seq), (SELECT ingest FROM @events ORDER BY seq LIMIT 1), "
	    "max(seq), (SELECT ingest FROM @events ORDER BY seq DESC LIMIT 1) "
	    "FROM @events", 0, NULL, err);
	if (r == NULL)
		return -1;
	ev_store_printf(out, "{\"count\":%" PRId64 ",\"bytes\":%" PRId64,
	    ev_pg_getint(r, 0, 0), ev_pg_getint(r, 0, 1));
	for (i = 0; i < 2; i++) {
		if (PQgetisnull(r, 0, 2 + 2 * i)) {
			ev_store_printf(out, ",\"%s\":null", i ? "last" : "first");
			continue;
		}
		ev_time_format(ev_pg_getint(r, 0, 3 + 2 * i), t, sizeof(t));
		ev_store_printf(out, ",\"%s\":{\"seq\":%" PRId64 ",\"time\":\"%s\"}",
		    i ? "last" : "first", ev_pg_getint(r, 0, 2 + 2 * i), t);
	}
	PQclear(r);
	r = ev_pg_q(db, "SELECT c.name, c.seq, (SELECT count(*) FROM @events "
	    "e WHERE e.seq > c.seq) FROM @consumers c ORDER BY c.name COLLATE "
	    "\"C\"", 0, NULL, err);
	if (r == NULL)
		return -1;
	ev_store_printf(out, ",\"consumers\":{");
	rows = PQntuples(r);
	for (i = 0; i < rows; i++) {
		e |= i > 0 ? ev_buf_add(out, ",", 1) : 0;
		e |= ev_store_jstr(out, PQgetvalue(r, i, 0));
		ev_store_printf(out, ":{\"seq\":%" PRId64 ",\"lag\":%" PRId64 "}",
		    ev_pg_getint(r, i, 1), ev_pg_getint(r, i, 2));
	}
	PQclear(r);
	r = ev_pg_q(db, "SELECT g.name, (SELECT count(*) FROM @events e WHERE "
	    "e.seq > g.head) + (SELECT count(*) FROM @leases l WHERE l.grp = "
	    "g.name AND l.expires <= $1), (SELECT count(*) FROM @leases l "
	    "WHERE l.grp = g.name AND l.expires > $1), (SELECT count(*) FROM "
	    "@dead d WHERE d.grp = g.name) FROM @groups g ORDER BY g.name "
	    "COLLATE \"C\"", 1, P(ev_pg_i64(ns, ev_pg_now(db, now))), err);
	if (r == NULL)
		return -1;
	ev_store_printf(out, "},\"groups\":{");
	rows = PQntuples(r);
	for (i = 0; i < rows; i++) {
		e |= i > 0 ? ev_buf_add(out, ",", 1) : 0;
		e |= ev_store_jstr(out, PQgetvalue(r, i, 0));
		ev_store_printf(out, ":{\"depth\":%" PRId64 ",\"in-flight\":%" PRId64
		    ",\"dead\":%" PRId64 "}", ev_pg_getint(r, i, 1),
		    ev_pg_getint(r, i, 2), ev_pg_getint(r, i, 3));
	}
	PQclear(r);
	if ((e | ev_buf_add(out, "}}", 2)) != 0) {
		ev_err_set(err, "out of memory");
		return -1;
	}
	return 0;
}

static int
lg_stat(struct ev_db *db, int64_t now, struct ev_buf *out,
    struct ev_err *err)
{
	int r;

	/* One snapshot: the numbers agree with each other. */
	if (ev_pg_do(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0,
	    NULL, err) < 0)
		return -1;
	r = stat_body(db, now, out, err);
	PQclear(PQexec(db->pg->c, "COMMIT"));
	return r;
}

const struct ev_log_ops ev_log_pg = {
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
