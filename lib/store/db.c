/*
 * db.c - opening a database and dispatching to its backend: a
 * postgres:// or postgresql:// target is PostgreSQL (pg.c), anything else
 * a SQLite file (sqlite.c).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

int
ev_db_sync_parse(const char *s, enum ev_db_sync *sync, struct ev_err *err)
{
	if (strcmp(s, "full") == 0)
		*sync = EV_SYNC_FULL;
	else if (strcmp(s, "normal") == 0)
		*sync = EV_SYNC_NORMAL;
	else if (strcmp(s, "off") == 0)
		*sync = EV_SYNC_OFF;
	else {
		ev_err_set(err, "invalid sync mode '%s': expected full, "
		    "normal or off", s);
		return -1;
	}
	return 0;
}

struct ev_db *
ev_db_open(const char *target, const struct ev_db_opts *opts,
    struct ev_err *err)
{
	struct ev_db *db;

	db = calloc(1, sizeof(*db));
	if (db == NULL || (db->name = strdup(target)) == NULL) {
		free(db);
		ev_err_set(err, "out of memory");
		return NULL;
	}
	if (opts != NULL)
		db->opts = *opts;
	if (db->opts.busy_ms <= 0)
		db->opts.busy_ms = EV_DB_BUSY_DEFAULT_MS;
	/* A file size limit (ulimit -f) must be a write error, not a kill. */
	signal(SIGXFSZ, SIG_IGN);
	db->be = ev_pg_target(target) ? &ev_db_pg : &ev_db_sqlite;
	if (db->be->open(db, err) != 0) {
		free(db->name);
		free(db);
		return NULL;
	}
	return db;
}

int
ev_db_close(struct ev_db *db, struct ev_err *err)
{
	if (db == NULL)
		return 0;
	if (db->in_tx)
		ev_db_rollback(db);
	db->be->close(db);
	free(db->name);
	free(db);
	return 0;
}

const char *
ev_db_name(const struct ev_db *db)
{
	return db->name;
}

int
ev_db_schema(struct ev_db *db, const char *component, int version,
    const char *ddl, struct ev_err *err)
{
	return db->be->schema(db, component, version, ddl, err);
}

int
ev_db_begin(struct ev_db *db, struct ev_err *err)
{
	if (db->in_tx) {
		ev_err_set(err, "%s: transaction already open", db->name);
		return -1;
	}
	if (db->be->begin(db, err) != 0)
		return -1;
	db->in_tx = 1;
	db->log_next = 0;
	db->txn++;
	return 0;
}

int
ev_db_commit(struct ev_db *db, struct ev_err *err)
{
	int r;

	if (!db->in_tx)
		return 0;
	r = db->be->commit(db, err);
	db->in_tx = 0;
	return r;
}

void
ev_db_rollback(struct ev_db *db)
{
	if (!db->in_tx)
		return;
	db->be->rollback(db);
	db->in_tx = 0;
}

int
ev_db_in_tx(const struct ev_db *db)
{
	return db->in_tx;
}
