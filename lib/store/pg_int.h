/*
 * pg_int.h - inside lib/store: the PostgreSQL backend's connection and the
 * helpers its parts (pg.c, pg_log.c, pg_dkeys.c) share.
 */
#ifndef EV_PG_INT_H
#define EV_PG_INT_H

#include <libpq-fe.h>

#include "store_int.h"

/*
 * libpq is loaded when a PostgreSQL store is first opened (ev_pg_load(),
 * ev_dl_load()), not linked: its dozens of dependencies would cost every
 * start of evstore and evdedupe some 15 ms.  The backend calls libpq's
 * functions through ev_pq, by their own names (the macros below).
 */
#define EV_PQ_FUNCS(X) \
	X(PQclear) \
	X(PQntuples) \
	X(PQgetvalue) \
	X(PQresultStatus) \
	X(PQexec) \
	X(PQcmdTuples) \
	X(PQgetisnull) \
	X(PQstatus) \
	X(PQresultErrorField) \
	X(PQgetlength) \
	X(PQfinish) \
	X(PQexecParams) \
	X(PQtransactionStatus) \
	X(PQreset) \
	X(PQputCopyEnd) \
	X(PQputCopyData) \
	X(PQprepare) \
	X(PQgetResult) \
	X(PQfreemem) \
	X(PQexecPrepared) \
	X(PQerrorMessage) \
	X(PQconninfoParse) \
	X(PQconninfoFree) \
	X(PQconnectdb)

struct ev_pq {
#define EV_PQ_MEMBER(f) __typeof__(f) *f;
	EV_PQ_FUNCS(EV_PQ_MEMBER)
#undef EV_PQ_MEMBER
};
extern struct ev_pq ev_pq;
/* Load libpq (once): 0, or -1 with err "cannot load libpq.so.5: ...". */
int ev_pg_load(struct ev_err *err);

#ifndef EV_PQ_DIRECT
#define PQclear(...) ev_pq.PQclear(__VA_ARGS__)
#define PQntuples(...) ev_pq.PQntuples(__VA_ARGS__)
#define PQgetvalue(...) ev_pq.PQgetvalue(__VA_ARGS__)
#define PQresultStatus(...) ev_pq.PQresultStatus(__VA_ARGS__)
#define PQexec(...) ev_pq.PQexec(__VA_ARGS__)
#define PQcmdTuples(...) ev_pq.PQcmdTuples(__VA_ARGS__)
#define PQgetisnull(...) ev_pq.PQgetisnull(__VA_ARGS__)
#define PQstatus(...) ev_pq.PQstatus(__VA_ARGS__)
#define PQresultErrorField(...) ev_pq.PQresultErrorField(__VA_ARGS__)
#define PQgetlength(...) ev_pq.PQgetlength(__VA_ARGS__)
#define PQfinish(...) ev_pq.PQfinish(__VA_ARGS__)
#define PQexecParams(...) ev_pq.PQexecParams(__VA_ARGS__)
#define PQtransactionStatus(...) ev_pq.PQtransactionStatus(__VA_ARGS__)
#define PQreset(...) ev_pq.PQreset(__VA_ARGS__)
#define PQputCopyEnd(...) ev_pq.PQputCopyEnd(__VA_ARGS__)
#define PQputCopyData(...) ev_pq.PQputCopyData(__VA_ARGS__)
#define PQprepare(...) ev_pq.PQprepare(__VA_ARGS__)
#define PQgetResult(...) ev_pq.PQgetResult(__VA_ARGS__)
#define PQfreemem(...) ev_pq.PQfreemem(__VA_ARGS__)
#define PQexecPrepared(...) ev_pq.PQexecPrepared(__VA_ARGS__)
#define PQerrorMessage(...) ev_pq.PQerrorMessage(__VA_ARGS__)
#define PQconninfoParse(...) ev_pq.PQconninfoParse(__VA_ARGS__)
#define PQconninfoFree(...) ev_pq.PQconninfoFree(__VA_ARGS__)
#define PQconnectdb(...) ev_pq.PQconnectdb(__VA_ARGS__)
#endif

/* Statements prepared per connection, at most. */
#define EV_PG_PREP_MAX 64

/* Longest schema or store name. */
#define EV_PG_NAME_MAX 48

struct ev_pg {
	PGconn *c;
	char *conninfo;		/* the target without its #fragment */
	char schema[EV_PG_NAME_MAX + 1];
	char store[EV_PG_NAME_MAX + 1];
	int64_t skew;		/* the server's clock minus ours, ms */
	int64_t retry_ms;	/* how long a lost connection is retried */
	/* evstore's appends, sent by COPY at commit (pg_log.c) */
	struct ev_buf copy;
	int64_t ncopy;
	int log_locked;		/* this transaction holds the append lock */
	/* statements prepared on this connection, by their SQL's address */
	const char *prep[EV_PG_PREP_MAX];
	int nprep;
};

/* A target PostgreSQL takes: postgres:// or postgresql://. */
int ev_pg_target(const char *target);

/*
 * Run sql with nparams text parameters; in sql "@NAME" names the store's
 * table NAME ("schema"."store_NAME") and "@@" the schema.  sql must be a
 * string constant: a statement with parameters is prepared once per
 * connection, found again by sql's address.  Results come in binary.  A lost connection outside a transaction
 * is retried (reconnecting with backoff for pg->retry_ms); NULL with err set
 * on failure, else the result (PQclear it).
 */
PGresult *ev_pg_q(struct ev_db *db, const char *sql, int nparams,
    const char *const *params, struct ev_err *err);
/* ev_pg_q() for a statement whose result is not needed: 0 or -1. */
int ev_pg_do(struct ev_db *db, const char *sql, int nparams,
    const char *const *params, struct ev_err *err);
/* ev_pg_q() for one integer (0 when no row or NULL): 0 or -1. */
int ev_pg_int(struct ev_db *db, const char *sql, int nparams,
    const char *const *params, int64_t *v, struct ev_err *err);
/* The integer (int2/int4/int8, binary) at row, col; 0 when NULL. */
int64_t ev_pg_getint(const PGresult *r, int row, int col);
/* Fill err from the connection or result: "NAME: message"; -1. */
int ev_pg_err(struct ev_db *db, const PGresult *r, struct ev_err *err);
/* Our clock's now as the server's clock (unchanged under EVKIT_NOW). */
int64_t ev_pg_now(const struct ev_db *db, int64_t now);
/* Format v in b (at least 24 bytes) and return b. */
const char *ev_pg_i64(char *b, int64_t v);
/* The store's tables' version of component, -1 when absent: 0 or -1. */
int ev_pg_version(struct ev_db *db, const char *component, int *v,
    struct ev_err *err);

/* Send the appends held for COPY (pg_log.c); 0 or -1. */
int ev_pg_log_sync(struct ev_db *db, struct ev_err *err);

extern const struct ev_log_ops ev_log_pg;
extern const struct ev_dkeys_ops ev_dkeys_pg;

#endif
