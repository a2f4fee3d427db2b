/*
 * Unit tests for lib/store/db.c and sqlite.c: opening, schema versions,
 * transactions, errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evkit.h"
#include "tap.h"

static const char ddl[] = "CREATE TABLE t (k TEXT PRIMARY KEY)";

int
main(void)
{
	char dir[] = "/tmp/evkit-db-XXXXXX", path[128];
	struct ev_db *db;
	struct ev_err err;
	enum ev_db_sync sync;
	FILE *f;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/state.db", dir);

	ev_err_clear(&err);
	ok(ev_db_sync_parse("full", &sync, &err) == 0 && sync == EV_SYNC_FULL,
	    "sync 'full'");
	ok(ev_db_sync_parse("off", &sync, &err) == 0 && sync == EV_SYNC_OFF,
	    "sync 'off'");
	ok(ev_db_sync_parse("Full", &sync, &err) == -1, "sync 'Full' refused");
	is_str(err.msg, "invalid sync mode 'Full': expected full, normal or "
	    "off", "sync message");

	db = ev_db_open(path, NULL, &err);
	ok(db != NULL, "open creates the file");
	ok(ev_db_schema(db, "evtest", 1, ddl, &err) == 0, "schema created");
	ok(ev_db_schema(db, "evtest", 1, ddl, &err) == 0,
	    "same schema accepted, ddl not run twice");
	ok(ev_db_begin(db, &err) == 0 && ev_db_in_tx(db), "begin");
	ok(ev_db_begin(db, &err) == -1, "no nested transaction");
	ev_db_rollback(db);
	ok(!ev_db_in_tx(db), "rollback ends it");
	ok(ev_db_close(db, &err) == 0, "close");

	/* A file written by a newer version is refused. */
	db = ev_db_open(path, NULL, &err);
	ok(ev_db_schema(db, "evtest", 0, ddl, &err) == -1,
	    "newer tables refused");
	ok(strstr(err.msg, "evtest tables are version 1; this evtest reads "
	    "version 0") != NULL, "newer tables message: %s", err.msg);
	ok(!ev_db_in_tx(db), "refusal leaves no transaction");
	ev_db_close(db, &err);

	/* Not a database. */
	snprintf(path, sizeof(path), "%s/text", dir);
	f = fopen(path, "w");
	fputs("this is not a database, not at all, no: just some text\n", f);
	fclose(f);
	ok(ev_db_open(path, NULL, &err) == NULL, "a text file is refused");
	ok(strstr(err.msg, "file is not a database") != NULL,
	    "not a database message: %s", err.msg);

	/* A missing directory. */
	snprintf(path, sizeof(path), "%s/no/such.db", dir);
	ok(ev_db_open(path, NULL, &err) == NULL, "missing directory refused");
	ok(strncmp(err.msg, path, strlen(path)) == 0,
	    "message names the file: %s", err.msg);

	/* Read-only: a missing file is not created. */
	snprintf(path, sizeof(path), "%s/ro.db", dir);
	{
		struct ev_db_opts o = {.readonly = 1};

		ok(ev_db_open(path, &o, &err) == NULL &&
		    access(path, F_OK) != 0, "read-only does not create");
	}

	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		return 1;
	return tap_done();
}
