/*
 * pg.c - the PostgreSQL backend's core (libpq): a postgres:// or
 * postgresql:// target, its #[SCHEMA.]NAME fragment naming the store,
 * transactions, schema versions, a lost connection retried with backoff,
 * and the server's clock.  The tables are documented in evstore(1) and
 * evdedupe(1), POSTGRESQL.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg_int.h"

struct ev_pq ev_pq;

int
ev_pg_load(struct ev_err *err)
{
	static const char *const names[] = {
#define EV_PQ_NAME(f) #f,
		EV_PQ_FUNCS(EV_PQ_NAME)
#undef EV_PQ_NAME
	};
	void *fns[sizeof(names) / sizeof(names[0])];
	static int loaded;
	size_t i = 0;

	if (__atomic_load_n(&loaded, __ATOMIC_ACQUIRE))
		return 0;
	if (ev_dl_load("libpq.so.5", names, fns, sizeof(names) /
	    sizeof(names[0]), err) < 0)
		return -1;
#define EV_PQ_SET(f) memcpy(&ev_pq.f, &fns[i++], sizeof(void *));
	EV_PQ_FUNCS(EV_PQ_SET)
#undef EV_PQ_SET
	__atomic_store_n(&loaded, 1, __ATOMIC_RELEASE);
	return 0;
}

/* How long a lost connection is retried by default (EVKIT_PG_RETRY). */
#define PG_RETRY_MS (10 * 1000)

int
ev_pg_target(const char *target)
{
	return strncmp(target, "postgres://", 11) == 0 ||
	    strncmp(target, "postgresql://", 13) == 0;
}

const char *
ev_pg_i64(char *b, int64_t v)
{
	snprintf(b, 24, "%" PRId64, v);
	return b;
}

int64_t
ev_pg_now(const struct ev_db *db, int64_t now)
{
	return now + db->pg->skew;
}

int
ev_pg_err(struct ev_db *db, const PGresult *r, struct ev_err *err)
{
	const char *m = NULL, *code = NULL;
	size_t n;

	if (r != NULL) {
		m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	}
	if (m == NULL && db->pg->c != NULL)
		m = PQerrorMessage(db->pg->c);
	if (m == NULL || *m == '\0')
		m = "unknown error";
	n = strlen(m);
	while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
		n--;
	ev_err_set(err, "%s: %.*s", db->name, (int)n, m);
	if (db->pg->c == NULL || PQstatus(db->pg->c) != CONNECTION_OK)
		ev_err_setclass(err, EV_ERR_RETRYABLE);
	else if (code != NULL && (strcmp(code, "40001") == 0 ||
	    strcmp(code, "40P01") == 0))
		ev_err_setclass(err, EV_ERR_RETRYABLE);
	else if (code != NULL && strcmp(code, "53100") == 0)
		ev_err_errno(err, ENOSPC);
	return -1;
}

/* Sleep ms on the real clock (backoff is never virtual). */
static void
real_sleep(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int64_t
real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Connect (again): with backoff from 50 ms doubling to 1 s, for
 * pg->retry_ms at most.  0, or -1 with err set.
 */
static int
pg_connect(struct ev_db *db, struct ev_err *err)
{
	struct ev_pg *pg = db->pg;
	int64_t start = real_ms(), wait = 50;

	for (;;) {
		pg->nprep = 0;	/* a new session: nothing prepared */
		if (pg->c != NULL)
			PQreset(pg->c);
		else
			pg->c = PQconnectdb(pg->conninfo);
		if (pg->c != NULL && PQstatus(pg->c) == CONNECTION_OK)
			break;
		if (pg->c == NULL) {
			ev_err_set(err, "out of memory");
			return -1;
		}
		if (real_ms() - start + wait > pg->retry_ms) {
			ev_pg_err(db, NULL, err);
			return -1;
		}
		real_sleep(wait);
		if ((wait *= 2) > 1000)
			wait = 1000;
	}
	/* Quiet: notices (IF NOT EXISTS) are not for our users. */
	PQclear(PQexec(pg->c, "SET client_min_messages = warning"));
	return 0;
}

/*
 * Expand sql: "@@" is the quoted schema, "@NAME" the store's table NAME
 * ("schema"."store_NAME").
 */
static char *
expand(struct ev_db *db, const char *sql)
{
	struct ev_buf b = { NULL, 0, 0 };
	const char *p, *at, *e;
	char q[2 * EV_PG_NAME_MAX + 64];
	int r = 0;

	for (p = sql; (at = strchr(p, '@')) != NULL; p = e) {
		r |= ev_buf_add(&b, p, (size_t)(at - p));
		if (at[1] == '@') {
			snprintf(q, sizeof(q), "\"%s\"", db->pg->schema);
			e = at + 2;
		} else {
			for (e = at + 1; (*e >= 'a' && *e <= 'z') || *e == '_';
			    e++)
				;
			snprintf(q, sizeof(q), "\"%s\".\"%s_%.*s\"",
			    db->pg->schema, db->pg->store, (int)(e - at - 1),
			    at + 1);
		}
		r |= ev_buf_add(&b, q, strlen(q));
	}
	if ((r |= ev_buf_add(&b, p, strlen(p) + 1)) != 0) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/*
 * Run q (sql expanded): a statement with parameters as a prepared one
 * (prepared on first use on this connection), others at once.
 */
static PGresult *
run(struct ev_db *db, const char *sql, const char *q, int nparams,
    const char *const *params)
{
	struct ev_pg *pg = db->pg;
	char name[16];
	PGresult *r;
	int i;

	if (nparams == 0)
		return PQexecParams(pg->c, q, 0, NULL, NULL, NULL, NULL, 1);
	for (i = 0; i < pg->nprep && pg->prep[i] != sql; i++)
		;
	snprintf(name, sizeof(name), "ev%d", i);
	if (i == pg->nprep) {
		if (i == EV_PG_PREP_MAX)
			return PQexecParams(pg->c, q, nparams, NULL, params,
			    NULL, NULL, 1);
		r = PQprepare(pg->c, name, q, nparams, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			return r;
		PQclear(r);
		pg->prep[pg->nprep++] = sql;
	}
	return PQexecPrepared(pg->c, name, nparams, params, NULL, NULL, 1);
}

PGresult *
ev_pg_q(struct ev_db *db, const char *sql, int nparams,
    const char *const *params, struct ev_err *err)
{
	struct ev_pg *pg = db->pg;
	PGresult *r;
	ExecStatusType st;
	char *q;

	if ((q = expand(db, sql)) == NULL) {
		ev_err_set(err, "out of memory");
		return NULL;
	}
	for (;;) {
		r = run(db, sql, q, nparams, params);
		st = PQresultStatus(r);
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ||
		    st == PGRES_COPY_IN)
			break;
		/*
		 * A lost connection: outside a transaction the statement is
		 * run again once connected; inside, the transaction is gone.
		 */
		if (PQstatus(pg->c) != CONNECTION_OK && !db->in_tx &&
		    strncmp(q, "COMMIT", 6) != 0) {
			PQclear(r);
			if (pg_connect(db, err) < 0) {
				free(q);
				return NULL;
			}
			continue;
		}
		ev_pg_err(db, r, err);
		PQclear(r);
		free(q);
		return NULL;
	}
	free(q);
	return r;
}

int
ev_pg_do(struct ev_db *db, const char *sql, int nparams,
    const char *const *params, struct ev_err *err)
{
	PGresult *r = ev_pg_q(db, sql, nparams, params, err);

	PQclear(r);
	return r == NULL ? -1 : 0;
}

int64_t
ev_pg_getint(const PGresult *r, int row, int col)
{
	const char *v = PQgetvalue(r, row, col);
	uint64_t u8;
	uint32_t u4;
	uint16_t u2;

	if (PQgetisnull(r, row, col))
		return 0;
	switch (PQgetlength(r, row, col)) {
	case 8:
		memcpy(&u8, v, 8);
		return (int64_t)be64toh(u8);
	case 4:
		memcpy(&u4, v, 4);
		return (int32_t)be32toh(u4);
	case 2:
		memcpy(&u2, v, 2);
		return (int16_t)be16toh(u2);
	default:
		return 0;
	}
}

int
ev_pg_int(struct ev_db *db, const char *sql, int nparams,
    const char *const *params, int64_t *v, struct ev_err *err)
{
	PGresult *r = ev_pg_q(db, sql, nparams, params, err);

	if (r == NULL)
		return -1;
	*v = PQntuples(r) > 0 ? ev_pg_getint(r, 0, 0) : 0;
	PQclear(r);
	return 0;
}

/* A schema or store name: letters, digits and '_', not empty. */
static int
good_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > EV_PG_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= '0' &&
		    s[i] <= '9') && s[i] != '_')
			return 0;
	return 1;
}

/*
 * Hide a password in the target, which names the store in messages: the
 * one of the URL's user information (postgres://user:PASSWORD@host) and
 * a password=... parameter become "***" (the name only gets shorter).
 */
static void
redact(char *name)
{
	char *a, *end, *at, *colon, *p, *q;

	if ((a = strstr(name, "://")) != NULL) {
		a += 3;
		end = a + strcspn(a, "/?#");
		for (at = NULL, p = a; p < end; p++)
			if (*p == '@')
				at = p;
		if (at != NULL && (colon = memchr(a, ':', (size_t)(at - a)))
		    != NULL && at - colon > 4) {
			memcpy(colon + 1, "***", 3);
			memmove(colon + 4, at, strlen(at) + 1);
		}
	}
	for (p = name; (p = strstr(p, "password=")) != NULL; p = q) {
		p += 9;
		q = p + strcspn(p, "&# ");
		if (q - p > 3) {
			memcpy(p, "***", 3);
			memmove(p + 3, q, strlen(q) + 1);
			q = p + 3;
		}
	}
}

/* Split the #[SCHEMA.]NAME fragment off the target. */
static int
parse_target(struct ev_db *db, struct ev_err *err)
{
	struct ev_pg *pg = db->pg;
	const char *frag = strchr(db->name, '#'), *dot;
	PQconninfoOption *opts;
	char *msg = NULL;
	size_t n;

	n = frag != NULL ? (size_t)(frag - db->name) : strlen(db->name);
	if ((pg->conninfo = strndup(db->name, n)) == NULL) {
		ev_err_set(err, "out of memory");
		return -1;
	}
	redact(db->name);
	if (ev_pg_load(err) < 0) {
		char m[sizeof(err->msg)];

		snprintf(m, sizeof(m), "%s", err->msg);
		ev_err_set(err, "%s: %s", db->name, m);
		return -1;
	}
	/* A malformed URL is not worth retrying: say what libpq says. */
	if ((opts = PQconninfoParse(pg->conninfo, &msg)) == NULL) {
		n = msg != NULL ? strlen(msg) : 0;
		while (n > 0 && msg[n - 1] == '\n')
			n--;
		ev_err_set(err, "%s: %.*s", db->name, (int)n,
		    msg != NULL ? msg : "out of memory");
		PQfreemem(msg);
		return -1;
	}
	PQconninfoFree(opts);
	strcpy(pg->schema, "evkit");
	strcpy(pg->store, "default");
	frag = strchr(db->name, '#');
	if (frag != NULL) {
		frag++;
		if ((dot = strchr(frag, '.')) != NULL) {
			if (!good_name(frag, (size_t)(dot - frag)))
				goto bad;
			memcpy(pg->schema, frag, (size_t)(dot - frag));
			pg->schema[dot - frag] = '\0';
			frag = dot + 1;
		}
		if (!good_name(frag, strlen(frag)))
			goto bad;
		strcpy(pg->store, frag);
	}
	return 0;
bad:
	ev_err_set(err, "%s: invalid store name: expected #[SCHEMA.]NAME, "
	    "lower-case letters, digits and '_', at most %d each", db->name,
	    EV_PG_NAME_MAX);
	return -1;
}

static int
pg_open(struct ev_db *db, struct ev_err *err)
{
	struct ev_pg *pg;
	const char *s;
	int64_t t, ms;

	if ((pg = calloc(1, sizeof(*pg))) == NULL) {
		ev_err_set(err, "out of memory");
		return -1;
	}
	db->pg = pg;
	pg->retry_ms = PG_RETRY_MS;
	s = getenv("EVKIT_PG_RETRY");
	if (s != NULL && *s != '\0') {
		if (ev_duration_parse(s, &ms, err) != 0) {
			ev_err_set(err, "invalid EVKIT_PG_RETRY '%s': expected "
			    "a duration such as 250ms, 10s or 5m", s);
			goto fail;
		}
		pg->retry_ms = ms;
	}
	if (parse_target(db, err) < 0 ||
	    pg_connect(db, err) < 0)
		goto fail;
	/*
	 * One clock: the server's.  Our times are shifted by the difference
	 * seen now, unless EVKIT_NOW makes the clock virtual (the tests).
	 */
	if (!ev_clock_virtual()) {
		if (ev_pg_int(db, "SELECT (extract(epoch FROM "
		    "clock_timestamp()) * 1000)::int8", 0, NULL, &t, err) < 0)
			goto fail;
		pg->skew = t - ev_now_ms();
	}
	return 0;
fail:
	if (pg->c != NULL)
		PQfinish(pg->c);
	free(pg->conninfo);
	free(pg);
	db->pg = NULL;
	return -1;
}

static void
pg_close(struct ev_db *db)
{
	struct ev_pg *pg = db->pg;

	if (pg == NULL)
		return;
	PQfinish(pg->c);
	free(pg->conninfo);
	free(pg->copy.p);
	free(pg);
	db->pg = NULL;
}

static int
pg_begin(struct ev_db *db, struct ev_err *err)
{
	db->pg->copy.len = 0;
	db->pg->ncopy = 0;
	db->pg->log_locked = 0;
	return ev_pg_do(db, "BEGIN", 0, NULL, err);
}

static int
pg_commit(struct ev_db *db, struct ev_err *err)
{
	if (ev_pg_log_sync(db, err) < 0 ||
	    ev_pg_do(db, "COMMIT", 0, NULL, err) < 0) {
		PQclear(PQexec(db->pg->c, "ROLLBACK"));
		return -1;
	}
	return 0;
}

static void
pg_rollback(struct ev_db *db)
{
	db->pg->copy.len = 0;
	db->pg->ncopy = 0;
	if (PQtransactionStatus(db->pg->c) != PQTRANS_IDLE)
		PQclear(PQexec(db->pg->c, "ROLLBACK"));
}

int
ev_pg_version(struct ev_db *db, const char *component, int *v,
    struct ev_err *err)
{
	char tab[EV_PG_NAME_MAX + 32], key[2 * EV_PG_NAME_MAX + 8];
	int64_t n;

	*v = -1;
	snprintf(tab, sizeof(tab), "\"%s\".evkit_schema", db->pg->schema);
	snprintf(key, sizeof(key), "%s:%s", component, db->pg->store);
	if (ev_pg_int(db, "SELECT (to_regclass($1) IS NOT NULL)::int4", 1,
	    (const char *[]){ tab }, &n, err) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (ev_pg_int(db, "SELECT coalesce((SELECT version FROM "
	    "@@.evkit_schema WHERE component = $1), -1)", 1,
	    (const char *[]){ key }, &n, err) < 0)
		return -1;
	*v = (int)n;
	return 0;
}

/* Run ddl (several statements, '@' expanded); 0 or -1. */
static int
exec_ddl(struct ev_db *db, const char *ddl, struct ev_err *err)
{
	PGresult *r;
	char *q = expand(db, ddl);

	if (q == NULL) {
		ev_err_set(err, "out of memory");
		return -1;
	}
	r = PQexec(db->pg->c, q);
	free(q);
	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK) {
		ev_pg_err(db, r, err);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

/*
 * The schema of component in the store: created when absent (under a
 * lock, so that processes starting together do not race), an error when
 * newer or older than version (older: "evstore migrate" upgrades).
 */
static int
pg_schema(struct ev_db *db, const char *component, int version,
    const char *ddl, struct ev_err *err)
{
	char key[2 * EV_PG_NAME_MAX + 8], vs[24];
	int have, own = !db->in_tx;

	if (own && ev_db_begin(db, err) != 0)
		return -1;
	if (ev_pg_do(db, "SELECT pg_advisory_xact_lock(7470617)", 0, NULL,
	    err) < 0 || exec_ddl(db, "CREATE SCHEMA IF NOT EXISTS @@; "
	    "CREATE TABLE IF NOT EXISTS @@.evkit_schema (component text "
	    "PRIMARY KEY, version int4 NOT NULL)", err) < 0 ||
	    ev_pg_version(db, component, &have, err) < 0)
		goto fail;
	if (have > version) {
		ev_err_set(err, "%s: %s tables are version %d; this %s reads "
		    "version %d", db->name, component, have, component,
		    version);
		goto fail;
	}
	/*
	 * Older tables are upgraded only under "evstore migrate" (by the
	 * component's open, before it gets here).
	 */
	if (have >= 0 && have < version) {
		ev_err_set(err, "%s: %s tables are version %d; run '%s "
		    "migrate' to upgrade them to version %d", db->name,
		    component, have, component, version);
		goto fail;
	}
	if (have < 0) {
		snprintf(key, sizeof(key), "%s:%s", component, db->pg->store);
		if (exec_ddl(db, ddl, err) < 0 || ev_pg_do(db, "INSERT INTO "
		    "@@.evkit_schema (component, version) VALUES ($1, $2)", 2,
		    (const char *[]){ key, ev_pg_i64(vs, version) }, err) < 0)
			goto fail;
	}
	if (own && ev_db_commit(db, err) != 0)
		return -1;
	return 0;
fail:
	if (own)
		ev_db_rollback(db);
	return -1;
}

const struct ev_db_backend ev_db_pg = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.schema = pg_schema,
	.dkeys = &ev_dkeys_pg,
	.log = &ev_log_pg,
};
