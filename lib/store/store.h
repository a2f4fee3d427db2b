/*
 * store.h - durable state for the tools that keep it (evdedupe's keys,
 * evstore's log and queues): one interface, with SQLite as the embedded
 * backend (one file, WAL mode) and room for a PostgreSQL one.  Commands see
 * only these types; the SQL lives behind lib/store/store_int.h.
 *
 * A database is opened once per process; its write transactions are
 * BEGIN IMMEDIATE, so that several processes on one file wait their turn
 * (busy timeout) instead of failing with "database is locked".  Each tool's
 * tables carry a schema version of their own (evkit_schema), so that a
 * newer file is refused by an older tool instead of misread.
 */
#ifndef EV_STORE_H
#define EV_STORE_H

#include "base/base.h"

/* ----------------------------------------------------------------- db */

struct ev_db;

/* How hard a commit holds on to the disk (SQLite's synchronous). */
enum ev_db_sync {
	EV_SYNC_NORMAL = 0,	/* survives a crash of the process, not of
				   the machine (WAL synced at checkpoints) */
	EV_SYNC_FULL = 1,	/* every commit synced: survives power loss */
	EV_SYNC_OFF = 2		/* never synced: the OS decides */
};

/* Wait at most this long for another process's write transaction. */
#define EV_DB_BUSY_DEFAULT_MS (60 * 1000)

struct ev_db_opts {
	enum ev_db_sync sync;
	int readonly;		/* open an existing file, write nothing */
	int64_t busy_ms;	/* 0: EV_DB_BUSY_DEFAULT_MS */
};

/*
 * Parse a --sync argument: "full", "normal" or "off".  Returns 0, or -1
 * with err set ("invalid sync mode 'x': expected full, normal or off").
 */
int ev_db_sync_parse(const char *s, enum ev_db_sync *sync, struct ev_err *err);

/*
 * Open (creating it unless opts->readonly) the database at target: a file
 * path for SQLite.  opts may be NULL (defaults).  target is copied.
 * Returns the database, or NULL with err set ("PATH: unable to open
 * database file", errnum and class where known).  SIGXFSZ is ignored from
 * then on, so that a file size limit is a write error, not a kill.
 */
struct ev_db *ev_db_open(const char *target, const struct ev_db_opts *opts,
    struct ev_err *err);
/*
 * Close db, rolling back an open transaction.  Returns 0, or -1 with err
 * set.  NULL is a no-op.
 */
int ev_db_close(struct ev_db *db, struct ev_err *err);
/* The target db was opened with, for messages. */
const char *ev_db_name(const struct ev_db *db);

/*
 * Make sure the tables of component (e.g. "evdedupe") exist at version:
 * create them (ddl, run in one transaction) when the component is new,
 * accept them when the version matches, refuse a file made by a newer
 * version ("PATH: evdedupe tables are version 3; this evdedupe reads
 * version 1").  Returns 0, or -1 with err set.
 */
int ev_db_schema(struct ev_db *db, const char *component, int version,
    const char *ddl, struct ev_err *err);

/*
 * Write transactions.  ev_db_begin() waits (up to the busy timeout) for
 * other writers and starts one; ev_db_commit() makes what it wrote durable
 * as opts->sync says; ev_db_rollback() forgets it.  Transactions do not
 * nest.  0, or -1 with err set (a commit that fails is rolled back).
 * A busy database past the timeout is EV_ERR_RETRYABLE; a full disk is
 * "PATH: database or disk is full" (ENOSPC, permanent).
 */
int ev_db_begin(struct ev_db *db, struct ev_err *err);
int ev_db_commit(struct ev_db *db, struct ev_err *err);
void ev_db_rollback(struct ev_db *db);
/* True inside a transaction started by ev_db_begin(). */
int ev_db_in_tx(const struct ev_db *db);

/* ---------------------------------------------------- dedupe keys (evdedupe) */

/* ---------------------------------------------- event log and queues (evstore) */

#endif
