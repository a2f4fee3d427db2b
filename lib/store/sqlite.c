/*
 * sqlite.c - the SQLite backend's core: open in WAL mode with a busy
 * timeout, write transactions, schema versions, and the helpers its parts
 * share (cached statements, errors).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

/* Core statement slots (EV_STMT_CORE + ...). */
enum {
	S_BEGIN = EV_STMT_CORE,
	S_COMMIT,
	S_ROLLBACK,
	S_SCHEMA_GET,
	S_SCHEMA_PUT
};

int
ev_sqlite_err(struct ev_db *db, int rc, struct ev_err *err)
{
	const char *msg;

	msg = db->sq != NULL ? sqlite3_errmsg(db->sq) : sqlite3_errstr(rc);
	if ((rc & 0xff) == SQLITE_FULL)
		msg = sqlite3_errstr(SQLITE_FULL);
	ev_err_set(err, "%s: %s", db->name, msg);
	switch (rc & 0xff) {
	case SQLITE_FULL:
		ev_err_errno(err, ENOSPC);
		break;
	case SQLITE_IOERR:
		ev_err_errno(err, EIO);
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		ev_err_setclass(err, EV_ERR_RETRYABLE);
		break;
	case SQLITE_NOMEM:
		ev_err_errno(err, ENOMEM);
		break;
	default:
		break;
	}
	return -1;
}

sqlite3_stmt *
ev_sqlite_stmt(struct ev_db *db, int slot, const char *sql,
    struct ev_err *err)
{
	sqlite3_stmt *st = db->stmt[slot];
	int rc;

	if (st != NULL) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return st;
	}
	rc = sqlite3_prepare_v3(db->sq, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &st, NULL);
	if (rc != SQLITE_OK) {
		ev_sqlite_err(db, rc, err);
		return NULL;
	}
	db->stmt[slot] = st;
	return st;
}

int
ev_sqlite_exec(struct ev_db *db, const char *sql, struct ev_err *err)
{
	int rc;

	rc = sqlite3_exec(db->sq, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return ev_sqlite_err(db, rc, err);
	return 0;
}

/* Run a cached statement that returns no rows. */
static int
step_done(struct ev_db *db, int slot, const char *sql, struct ev_err *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = ev_sqlite_stmt(db, slot, sql, err)) == NULL)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return ev_sqlite_err(db, rc, err);
	return 0;
}

/*
 * Run an open-time statement, waiting while another connection holds the
 * lock: SQLite returns SQLITE_BUSY without calling the busy handler when
 * a journal mode change meets another connection (several processes
 * creating one store at once).
 */
static int
exec_wait(struct ev_db *db, const char *sql)
{
	int rc, n = 0;

	while (((rc = sqlite3_exec(db->sq, sql, NULL, NULL, NULL)) & 0xff) ==
	    SQLITE_BUSY && ev_sqlite_busy(db, n++))
		;
	return rc;
}

static int
sq_open(struct ev_db *db, struct ev_err *err)
{
	static const char *const sync[] = {
	    [EV_SYNC_NORMAL] = "PRAGMA synchronous=NORMAL",
	    [EV_SYNC_FULL] = "PRAGMA synchronous=FULL",
	    [EV_SYNC_OFF] = "PRAGMA synchronous=OFF",
	};
	static int configured;
	struct stat st;
	char sql[64];
	int flags, rc;

	/*
	 * No memory statistics: keeping them takes a global mutex on every
	 * allocation (2% of evdedupe --state's writer thread), and nothing
	 * reads them.  Only before SQLite starts; later calls fail, harmlessly.
	 */
	if (!configured) {
		configured = 1;
		sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	}
	/*
	 * A device, FIFO or socket is no database: SQLite would put its
	 * journal beside it (/dev/null-journal) and fail on a disk I/O error.
	 */
	if (stat(db->name, &st) == 0 && !S_ISREG(st.st_mode)) {
		ev_err_set(err, "%s: %s", db->name, S_ISDIR(st.st_mode) ?
		    strerror(EISDIR) : "not a regular file");
		return -1;
	}
	flags = db->opts.readonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	flags |= SQLITE_OPEN_NOMUTEX;
	rc = sqlite3_open_v2(db->name, &db->sq, flags, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_extended_result_codes(db->sq, 1);
	sqlite3_busy_handler(db->sq, ev_sqlite_busy, db);
	/*
	 * Reading the schema finds a file that is not a database at once
	 * ("file is not a database"), before WAL mode is asked for.
	 */
	rc = exec_wait(db, "SELECT count(*) FROM sqlite_schema");
	if (rc != SQLITE_OK)
		goto fail;
	if (!db->opts.readonly) {
		/*
		 * Before WAL mode, which writes a new file's first page: the
		 * page size of a new file (no effect on another).
		 */
		if (db->opts.page_size > 0) {
			snprintf(sql, sizeof(sql), "PRAGMA page_size=%d",
			    db->opts.page_size);
			if ((rc = exec_wait(db, sql)) != SQLITE_OK)
				goto fail;
		}
		rc = exec_wait(db, "PRAGMA journal_mode=WAL");
		if (rc != SQLITE_OK)
			goto fail;
	}
	if ((rc = exec_wait(db, sync[db->opts.sync])) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	ev_sqlite_err(db, rc, err);
	sqlite3_close_v2(db->sq);
	db->sq = NULL;
	return -1;
}

static void
sq_close(struct ev_db *db)
{
	int i;

	ev_sqlite_dkeys_free(db);
	for (i = 0; i < EV_DB_STMTS; i++)
		sqlite3_finalize(db->stmt[i]);
	sqlite3_close_v2(db->sq);
	db->sq = NULL;
}

static int
sq_begin(struct ev_db *db, struct ev_err *err)
{
	return step_done(db, S_BEGIN, "BEGIN IMMEDIATE", err);
}

static int
sq_commit(struct ev_db *db, struct ev_err *err)
{
	if (step_done(db, S_COMMIT, "COMMIT", err) == 0)
		return 0;
	/* A failed COMMIT may leave the transaction open: end it. */
	if (!sqlite3_get_autocommit(db->sq))
		sqlite3_exec(db->sq, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static void
sq_rollback(struct ev_db *db)
{
	struct ev_err err;

	if (!sqlite3_get_autocommit(db->sq))
		step_done(db, S_ROLLBACK, "ROLLBACK", &err);
}

static int
sq_schema(struct ev_db *db, const char *component, int version,
    const char *ddl, struct ev_err *err)
{
	sqlite3_stmt *st;
	int have = -1, rc, own = !db->in_tx;

	if (own && ev_db_begin(db, err) != 0)
		return -1;
	if (ev_sqlite_exec(db, "CREATE TABLE IF NOT EXISTS evkit_schema ("
	    "component TEXT PRIMARY KEY, version INTEGER NOT NULL)",
	    err) != 0)
		goto fail;
	st = ev_sqlite_stmt(db, S_SCHEMA_GET,
	    "SELECT version FROM evkit_schema WHERE component = ?1", err);
	if (st == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, component, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		have = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ev_sqlite_err(db, rc, err);
		goto fail;
	}
	if (have > version) {
		ev_err_set(err, "%s: %s tables are version %d; this %s reads "
		    "version %d", db->name, component, have, component,
		    version);
		goto fail;
	}
	if (have < version) {
		/* No older versions exist yet: a missing component. */
		if (ev_sqlite_exec(db, ddl, err) != 0)
			goto fail;
		st = ev_sqlite_stmt(db, S_SCHEMA_PUT, "INSERT OR REPLACE INTO "
		    "evkit_schema (component, version) VALUES (?1, ?2)", err);
		if (st == NULL)
			goto fail;
		sqlite3_bind_text(st, 1, component, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, version);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			ev_sqlite_err(db, rc, err);
			goto fail;
		}
	}
	if (own && ev_db_commit(db, err) != 0)
		return -1;
	return 0;
fail:
	if (own)
		ev_db_rollback(db);
	return -1;
}

const struct ev_db_backend ev_db_sqlite = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.schema = sq_schema,
	.dkeys = &ev_dkeys_sqlite,
	.log = &ev_log_sqlite,
};

/*
 * Wait for another connection's transaction in short sleeps: 50 us,
 * doubling to 2 ms (SQLite's own handler starts at 1 ms and grows to
 * 100 ms, far longer than a transaction of a batch), until the busy
 * timeout has passed.
 */
int
ev_sqlite_busy(void *ctx, int count)
{
	const struct ev_db *db = ctx;
	struct timespec ts;
	int64_t us, slept;

	us = count < 6 ? 50LL << count : 2000;
	slept = count <= 6 ? 50 * ((1LL << count) - 1) :
	    3150 + 2000LL * (count - 6);
	if (slept >= db->opts.busy_ms * 1000)
		return 0;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)us * 1000;
	nanosleep(&ts, NULL);
	return 1;
}
