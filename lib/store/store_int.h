/*
 * store_int.h - inside lib/store: the backend interface and the SQLite
 * helpers the backend's parts share.  Commands never include it.
 *
 * struct ev_db dispatches through a backend (struct ev_db_backend): one
 * set of functions per backend, each domain (dedupe keys, event log) a
 * table of operations of its own, so that a PostgreSQL backend fills in
 * the same tables and cmd/ does not change.
 */
#ifndef EV_STORE_INT_H
#define EV_STORE_INT_H

#include <sqlite3.h>

#include "store.h"

struct ev_db;
struct ev_log_ops;

/* evdedupe's keys (store.h: ev_dkeys_*), one backend's implementation. */
struct ev_dkeys_ops {
	int (*open)(struct ev_db *db, struct ev_err *err);
	int (*check)(struct ev_db *db, const struct ev_key *k, int64_t now,
	    int64_t ttl, struct ev_err *err);
	int (*checkv)(struct ev_db *db, const struct ev_key *k, int64_t now,
	    int64_t ttl, uint64_t v, const char *at, char *first, size_t size,
	    struct ev_err *err);
	int (*claim)(struct ev_db *db, const struct ev_key *k, int64_t now,
	    int64_t ttl, int64_t lease, struct ev_err *err);
	int (*complete)(struct ev_db *db, const struct ev_key *k, int64_t now,
	    struct ev_err *err);
	int (*stat)(struct ev_db *db, struct ev_dkeys_stat *st,
	    struct ev_err *err);
	int (*expire)(struct ev_db *db, int64_t now, int64_t ttl, int64_t *n,
	    struct ev_err *err);
	int (*merge)(struct ev_db *db, struct ev_err *err);
	/* ev_dkeys_batch(); NULL: the backend decides a key at a time */
	int (*batch)(struct ev_db *db, int how, struct ev_dkeys_req *r,
	    size_t n, int64_t ttl, int64_t lease, struct ev_buf *firsts,
	    struct ev_err *err);
	/* ev_dkeys_prefetch(); NULL: nothing to fetch */
	void (*prefetch)(struct ev_db *db, const struct ev_key *k);
};

/* The core operations every backend implements. */
struct ev_db_backend {
	const char *name;	/* "sqlite" */
	int (*open)(struct ev_db *db, struct ev_err *err);
	void (*close)(struct ev_db *db);
	int (*begin)(struct ev_db *db, struct ev_err *err);
	int (*commit)(struct ev_db *db, struct ev_err *err);
	void (*rollback)(struct ev_db *db);
	int (*schema)(struct ev_db *db, const char *component, int version,
	    const char *ddl, struct ev_err *err);
	const struct ev_dkeys_ops *dkeys;	/* evdedupe's keys */
	const struct ev_log_ops *log;	/* evstore's event log and queues */
};

/* The event log's operations (store.h's ev_log_*), one set per backend. */
struct ev_log_ops {
	int (*open)(struct ev_db *db, struct ev_err *err);
	int (*append)(struct ev_db *db, const char *data, size_t len,
	    int64_t now, int64_t *seq, struct ev_err *err);
	int64_t (*read)(struct ev_db *db, const struct ev_log_range *r,
	    ev_log_fn fn, void *ctx, struct ev_err *err);
	int (*cursor_get)(struct ev_db *db, const char *name, int64_t *seq,
	    struct ev_err *err);
	int (*cursor_set)(struct ev_db *db, const char *name, int64_t seq,
	    struct ev_err *err);
	int64_t (*receive)(struct ev_db *db, const char *group,
	    const struct ev_log_lease *l, ev_log_fn fn, void *ctx,
	    struct ev_err *err);
	int (*ack)(struct ev_db *db, const char *group, int64_t seq,
	    const char *token, int nack, int64_t now, struct ev_err *err);
	int64_t (*dead)(struct ev_db *db, const char *group, ev_log_fn fn,
	    void *ctx, struct ev_err *err);
	int64_t (*redrive)(struct ev_db *db, const char *group,
	    struct ev_err *err);
	int64_t (*prune)(struct ev_db *db, int64_t before, int64_t keep,
	    struct ev_err *err);
	int (*stat)(struct ev_db *db, int64_t now, struct ev_buf *out,
	    struct ev_err *err);
};
extern const struct ev_log_ops ev_log_sqlite;

/*
 * A Bloom filter over dedupe keys (bloom.c).  ev_bloom_init() sizes it
 * for keys keys (EV_BLOOM_BITS_PER_KEY bits each, a whole number of
 * EV_BLOOM_CHUNK-byte chunks, at least one); ev_bloom_alloc() makes an
 * empty one of nbits bits (a multiple of 8; 0: a filter that holds
 * nothing) and k hashes.  Both 0, or -1 when out of memory (b unchanged).
 * ev_bloom_may() is 0 when key was never added, 1 when it may have been.
 */
#define EV_BLOOM_BITS_PER_KEY 10
#define EV_BLOOM_HASHES 7
#define EV_BLOOM_CHUNK 65536
struct ev_bloom {
	uint8_t *bits;
	uint64_t nbits;
	int k;
};
int ev_bloom_init(struct ev_bloom *b, uint64_t keys);
int ev_bloom_alloc(struct ev_bloom *b, uint64_t nbits, int k);
void ev_bloom_free(struct ev_bloom *b);
void ev_bloom_add(struct ev_bloom *b, const struct ev_key *key);
int ev_bloom_may(const struct ev_bloom *b, const struct ev_key *key);
void ev_bloom_prefetch(const struct ev_bloom *b, const struct ev_key *key);

/* evdedupe's keys: what a connection keeps of them (sqlite_dkeys.c). */
struct ev_dkeys_mem;
void ev_sqlite_dkeys_free(struct ev_db *db);

/* The number of prepared statements a database caches (ev_sqlite_stmt). */
#define EV_DB_STMTS 64

struct ev_db {
	const struct ev_db_backend *be;
	char *name;			/* the target, for messages */
	struct ev_db_opts opts;
	int in_tx;
	uint64_t txn;			/* transactions begun, ever */
	struct ev_dkeys_mem *dk;	/* evdedupe's keys, when opened */
	/* SQLite */
	sqlite3 *sq;
	sqlite3_stmt *stmt[EV_DB_STMTS];
	/*
	 * evstore's log (sqlite_log.c): in a write transaction, the next
	 * sequence number and the last ingest time; log_next 0: not read yet
	 * (ev_db_begin() clears it).
	 */
	int64_t log_next, log_ingest;
	/* PostgreSQL (pg.c) */
	struct ev_pg *pg;
};

extern const struct ev_db_backend ev_db_sqlite;
extern const struct ev_db_backend ev_db_pg;
extern const struct ev_dkeys_ops ev_dkeys_sqlite;

/*
 * SQLite helpers for the backend's parts (sqlite*.c).
 *
 * ev_sqlite_err() fills err from rc and the connection's message, as
 * "NAME: message", with errnum ENOSPC for SQLITE_FULL, EIO for I/O errors,
 * and class RETRYABLE for SQLITE_BUSY and SQLITE_LOCKED; returns -1.
 */
int ev_sqlite_err(struct ev_db *db, int rc, struct ev_err *err);
/*
 * The statement cached in slot (0 <= slot < EV_DB_STMTS) for sql,
 * prepared on first use and reset for reuse (bindings cleared).  Each
 * caller owns fixed slots (see the EV_STMT_* list in sqlite.c).  NULL with
 * err set when preparing fails.
 */
sqlite3_stmt *ev_sqlite_stmt(struct ev_db *db, int slot, const char *sql,
    struct ev_err *err);
/* Run sql (no results), one or more statements.  0 or -1 (err). */
int ev_sqlite_exec(struct ev_db *db, const char *sql, struct ev_err *err);

/*
 * Statement slots, one range per part of the backend, so that the parts
 * never share a slot.
 */
enum {
	EV_STMT_CORE = 0,	/* sqlite.c: 0..7 */
	EV_STMT_DKEYS = 8,	/* evdedupe's keys: 8..23 */
	EV_STMT_LOG = 24	/* evstore's log and queues: 24..63 */
};

/*
 * For the backends' JSON reports (stat): append s as a JSON string, or
 * printf-formatted text (at most 255 bytes), to out.  0, or -1 when
 * memory runs out.  In log.c.
 */
int ev_store_jstr(struct ev_buf *out, const char *s);
int ev_store_printf(struct ev_buf *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * The busy handler of every SQLite connection (sqlite.c): short sleeps
 * until db->opts.busy_ms has passed; ctx is the struct ev_db.
 */
int ev_sqlite_busy(void *ctx, int count);

#endif
