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
#include "input/input.h"

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
	int page_size;		/* a new database's page size; 0: SQLite's */
	int migrate;		/* evstore migrate: upgrade older tables
				   (PostgreSQL; SQLite's upgrade on open) */
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

/*
 * A dedupe key: the 128-bit XXH3 hash of a key's canonical bytes.  Two
 * keys are one when their hashes are equal.
 */
struct ev_key {
	uint64_t hi, lo;
};

/* Hash buf[0..len) into *k (XXH3-128, libxxhash). */
void ev_key_hash(const void *buf, size_t len, struct ev_key *k);
/* A 64-bit hash of buf[0..len) (XXH3-64), for --validate. */
uint64_t ev_key_hash64(const void *buf, size_t len);

/*
 * The in-memory key set: a hash table of keys (16 bytes a slot, at most
 * 3/4 full), with, when asked for, the time each was first seen (for
 * --ttl), an LRU order (for --max-keys) and a value (for --validate).
 * Home slots come from a seeded hash, a new random seed per set, so that
 * nobody can make keys collide in it on purpose.
 */
struct ev_keyset;

/* ev_keyset_new() flags. */
#define EV_KEYSET_TIMES 1	/* keep times: ttl > 0 works */
#define EV_KEYSET_VALUES 2	/* keep values: ev_keyset_checkv() */

/*
 * A new empty set keeping at most max_keys keys (0: no limit); past it
 * the least recently seen key is evicted.  A bounded set takes its whole
 * table at once, in untouched pages (about 32 bytes a key, 43 with
 * times).  Times cost 11 bytes a key, values 21.  NULL when out of memory
 * or when max_keys is above EV_KEYSET_MAX_KEYS (slots are 31-bit numbers,
 * at most 3/4 used).
 */
#define EV_KEYSET_MAX_KEYS ((size_t)3 << 29)
struct ev_keyset *ev_keyset_new(size_t max_keys, int flags);
void ev_keyset_free(struct ev_keyset *ks);
/*
 * Make room for keys keys at once in an unbounded set, instead of
 * doubling the table on the way (no effect on a bounded one).  0, or -1
 * when out of memory (the set is unchanged).
 */
int ev_keyset_reserve(struct ev_keyset *ks, size_t keys);
/*
 * Look k up at time now (ms): a key seen before, less than ttl ms ago
 * (ttl 0, or a set without EV_KEYSET_TIMES: forever), is a repeat: it
 * becomes the most recently seen and 1 is returned.  Otherwise k is
 * (re)inserted with time now and 0 is returned (-1: out of memory,
 * nothing changed).
 */
int ev_keyset_check(struct ev_keyset *ks, const struct ev_key *k,
    int64_t now, int64_t ttl);
/*
 * The same, for a set made with values: a new key keeps v and at; a
 * repeat whose kept value is not v is a conflict: 2 is returned and
 * *first_at (when not NULL) gets the kept location.
 */
int ev_keyset_checkv(struct ev_keyset *ks, const struct ev_key *k,
    int64_t now, int64_t ttl, uint64_t v, uint64_t at, uint64_t *first_at);
/*
 * 1 when k is held and was seen less than ttl ms before now (ttl 0:
 * ever), else 0; the set is not changed.
 */
int ev_keyset_seen(const struct ev_keyset *ks, const struct ev_key *k,
    int64_t now, int64_t ttl);
/* The number of keys held. */
size_t ev_keyset_count(const struct ev_keyset *ks);
/*
 * Start fetching the cache line of k's home slot, for a lookup soon
 * (a hint: the set is not changed, nothing is read).
 */
void ev_keyset_prefetch(const struct ev_keyset *ks, const struct ev_key *k);
/* For tests: k's home slot, and a chosen seed (-1 unless ks is empty). */
size_t ev_keyset_slot(const struct ev_keyset *ks, const struct ev_key *k);
int ev_keyset_seed(struct ev_keyset *ks, uint64_t seed);

/*
 * Keys in a database (evdedupe --state): two tables, a small one
 * (evdedupe_new) taking the writes in front of a large one (evdedupe_keys)
 * with a Bloom filter, see evdedupe(1) for the schema.  ev_dkeys_open() makes sure the tables exist
 * (ev_db_schema).  ev_dkeys_check() must run inside a write transaction
 * (ev_db_begin): like ev_keyset_check() it answers 1 for a repeat (seen
 * less than ttl ms before now; ttl 0: forever) and records a new or
 * expired key with time now, answering 0; -1 with err on a database
 * error.  The key becomes durable with the transaction's commit.
 */
int ev_dkeys_open(struct ev_db *db, struct ev_err *err);
int ev_dkeys_check(struct ev_db *db, const struct ev_key *k, int64_t now,
    int64_t ttl, struct ev_err *err);
/*
 * The same with --validate: a new key keeps v (the validated part's hash)
 * and at (where it was first seen, "FILE:LINE"); a repeat whose kept
 * value differs is a conflict: 2 is returned, the kept location copied to
 * first[0..size).
 */
int ev_dkeys_checkv(struct ev_db *db, const struct ev_key *k, int64_t now,
    int64_t ttl, uint64_t v, const char *at, char *first, size_t size,
    struct ev_err *err);
/*
 * Two-phase mode.  ev_dkeys_claim() passes (answers 0 for) a key that is
 * new, expired (ttl), or claimed with a lease that ran out by now, and
 * marks it claimed until now + lease; a completed key seen less than ttl
 * ago, or one claimed under a running lease, answers 1.
 * ev_dkeys_complete() marks a key completed (recording it when missing).
 * Both inside a write transaction; -1 with err on a database error.
 */
int ev_dkeys_claim(struct ev_db *db, const struct ev_key *k, int64_t now,
    int64_t ttl, int64_t lease, struct ev_err *err);
int ev_dkeys_complete(struct ev_db *db, const struct ev_key *k, int64_t now,
    struct ev_err *err);
/*
 * --stat: fill st from the table.  --expire: delete keys seen ttl ms or
 * more before now, storing how many in *n.  0, or -1 with err.
 */
struct ev_dkeys_stat {
	int64_t keys, claimed, oldest, newest, bytes;
};
int ev_dkeys_stat(struct ev_db *db, struct ev_dkeys_stat *st,
    struct ev_err *err);
int ev_dkeys_expire(struct ev_db *db, int64_t now, int64_t ttl, int64_t *n,
    struct ev_err *err);
/*
 * The keys are kept in two tables (evdedupe(1)): a small one that takes
 * the writes and a large one behind it, merged when the small one grows
 * past a quarter of the large one.  ev_dkeys_merge() merges now, in the
 * transaction at hand or in one of its own.  0, or -1 with err.
 */
int ev_dkeys_merge(struct ev_db *db, struct ev_err *err);

/*
 * Decisions in bulk, where the backend takes them: on PostgreSQL one
 * statement decides a whole batch, instead of a round trip a key.
 * ev_dkeys_batched() is 1 when the backend does (not SQLite, whose
 * decisions take no round trip; nor PostgreSQL with EVKIT_PG_BATCH=0).
 * ev_dkeys_batch() decides r[0..n) as ev_dkeys_check() (how
 * EV_DKEYS_CHECK), ev_dkeys_checkv() (EV_DKEYS_CHECKV, with v and at) or
 * ev_dkeys_claim() (EV_DKEYS_CLAIM, with lease) would, or mark them
 * completed as ev_dkeys_complete() (EV_DKEYS_COMPLETE), each at its now,
 * one after another in order of key.hi; no two requests may share a
 * key.hi (a later repeat goes in a later call).  Each r[i].verdict gets
 * the answer; a conflict's kept location is appended to firsts
 * (NUL-terminated) at offset r[i].first.  Inside a write transaction;
 * 0, or -1 with err.
 */
struct ev_dkeys_req {
	struct ev_key key;
	int64_t now;
	uint64_t v;		/* EV_DKEYS_CHECKV: the value's hash */
	const char *at;		/* and "FILE:LINE" */
	int verdict;		/* out: 0 pass, 1 repeat, 2 conflict */
	size_t first;		/* out: a conflict's location, in firsts */
};
enum { EV_DKEYS_CHECK, EV_DKEYS_CHECKV, EV_DKEYS_CLAIM, EV_DKEYS_COMPLETE };
int ev_dkeys_batched(const struct ev_db *db);
/*
 * A hint that k will be checked soon: what the backend reads in memory
 * for it (SQLite: the Bloom filter's bytes) starts on its way to the
 * cache.  No effect on verdicts.
 */
void ev_dkeys_prefetch(struct ev_db *db, const struct ev_key *k);
int ev_dkeys_batch(struct ev_db *db, int how, struct ev_dkeys_req *r,
    size_t n, int64_t ttl, int64_t lease, struct ev_buf *firsts,
    struct ev_err *err);

/*
 * The dedupe filter (evdedupe): events with their keys in, verdicts out,
 * in input order.  Keys are kept in memory (an ev_keyset) or in a state
 * database (ev_dkeys_*), where events are decided in batches: a batch's
 * keys are looked up in key order (the B-tree read in file order), its
 * events then handed back in input order, and the keys committed only
 * once what was handed back has been flushed (at-least-once).  A key this
 * process recorded is answered from memory when it repeats.
 */
enum ev_dedupe_mode {
	EV_DEDUPE_CHECK = 0,	/* pass new keys, hold back repeats */
	EV_DEDUPE_CLAIM,	/* pass new, expired or unleased keys, claim
				   them for a lease */
	EV_DEDUPE_COMMIT	/* pass every event, mark its key completed */
};

/* What became of an event. */
enum ev_dedupe_verdict {
	EV_DEDUPE_PASS = 0,	/* pass it */
	EV_DEDUPE_REPEAT,	/* hold it back */
	EV_DEDUPE_CONFLICT	/* a repeat whose validated part differs */
};

/* One event, as given to ev_dedupe_add() and handed back to emit. */
struct ev_dedupe_event {
	const char *file;	/* kept, not copied: must outlive the filter */
	unsigned long lineno;
	const char *buf;	/* the line (copied while batched) */
	size_t len;
	struct ev_key key;
	int64_t time;		/* ms since 1970: processing or event time */
	uint64_t value;		/* validate: the validated part's hash */
	int fixed;		/* -1: decide; else the verdict it gets
				   (an event without a key) */
};

struct ev_dedupe_opts {
	enum ev_dedupe_mode mode;
	const char *state;	/* database target; NULL: in memory */
	int64_t ttl;		/* ms a key counts; 0: forever */
	int64_t lease;		/* EV_DEDUPE_CLAIM: ms a claim holds */
	size_t max_keys;	/* in memory: at most this many; 0: no bound */
	int validate;		/* compare events' values: conflicts */
	/*
	 * The held-back events go to the file dups (NULL: nowhere), byte
	 * for byte, a conflict after "conflict" and a tab.  It may not be
	 * one of inputs[0..ninputs) ("-" or none: standard input), the
	 * reject file nor standard output; the state file may not be any
	 * of them.
	 */
	const char *dups;
	char *const *inputs;
	int ninputs;
	const char *reject;
	/* Told of each conflict, with where its key was first seen. */
	void (*conflict)(void *ctx, const struct ev_dedupe_event *ev,
	    const char *first);
	/*
	 * Instead of standard output and the dups file (tests, other
	 * tools): emit gets each event once, in the order added, with its
	 * verdict (0, or -1 with err set to stop); flush makes what it
	 * wrote reach its destination, 0 when it did (the keys are then
	 * committed), -1 when it did not (they are rolled back).
	 */
	int (*emit)(void *ctx, const struct ev_dedupe_event *ev,
	    enum ev_dedupe_verdict v, struct ev_err *err);
	int (*flush)(void *ctx);
	void *ctx;
};

/* What a filter saw: repeats held back (no-key events not counted). */
struct ev_dedupe_counts {
	unsigned long passed, repeats, conflicts;
};

struct ev_dedupe;
struct ev_span;

/*
 * The key of an event from its values at the key paths, vals[0..n): their
 * canonical JSON forms (RFC 8785; a string without escapes as it is),
 * joined by newlines, hashed into *key; canon is scratch.  0; 1 when
 * vals[i] is absent (*absent = i); -1 with err set: invalid JSON, or out
 * of memory (errnum ENOMEM).
 */
int ev_dedupe_key(const struct ev_span *vals, int n, struct ev_buf *canon,
    struct ev_key *key, int *absent, struct ev_err *err);
/*
 * The validated part's value: the XXH3-64 hash of v's canonical form, 0
 * when v is absent.  0, or -1 with err set as for ev_dedupe_key().
 */
int ev_dedupe_value(const struct ev_span *v, struct ev_buf *canon, uint64_t *h,
    struct ev_err *err);
/*
 * An event's time from the JSON value v: an RFC 3339 string, or a number
 * of seconds since 1970.  0, or -1 when it is neither.
 */
int ev_dedupe_time(const struct ev_span *v, int64_t *ms);

/*
 * A new filter: opens and checks opts->state (ev_dkeys_open) unless the
 * mode is EV_DEDUPE_COMMIT, which opens it on first use, then the dups
 * file, which it empties once the files are known to be distinct ("FILE:
 * input file is also the dups file", "FILE: dups file is also the reject
 * file", "FILE: state file is also the output", ...).  opts is copied,
 * the strings in it are kept.  NULL with err set.
 */
struct ev_dedupe *ev_dedupe_open(const struct ev_dedupe_opts *opts,
    struct ev_err *err);
/*
 * Add one event: with EV_DEDUPE_COMMIT, and in memory with validate, it
 * is decided and emitted at once; in memory without validate, a few (16)
 * at a time, their slots fetched meanwhile; with a state, in batches.  A
 * batched event's line is copied.  0, or -1 with err set (a database
 * error, out of memory, or what emit returned).
 */
int ev_dedupe_add(struct ev_dedupe *d, const struct ev_dedupe_event *ev,
    struct ev_err *err);
/*
 * Decide and emit what is batched, and commit it (see flush).  With end
 * false (input ran dry) EV_DEDUPE_COMMIT only tries the database, so that
 * "claim | handler | commit" cannot deadlock on a full pipe; with end
 * true it waits up to the busy timeout.  0, or -1 with err set.
 */
int ev_dedupe_flush(struct ev_dedupe *d, int end, struct ev_err *err);
/* Forget what is batched and not committed (the run is stopping). */
void ev_dedupe_abort(struct ev_dedupe *d);
/* The counts so far. */
struct ev_dedupe_counts ev_dedupe_counts(const struct ev_dedupe *d);
/*
 * The state's statistics (--stat), as one JSON object and a newline
 * appended to out: keys, claimed, oldest, newest (RFC 3339, null when
 * empty), bytes.  0, or -1 with err set.
 */
int ev_dedupe_stat(struct ev_dedupe *d, struct ev_buf *out,
    struct ev_err *err);
/*
 * Delete the state's keys first seen opts->ttl ms or more before now
 * (--expire); append {"expired":N} and a newline to out.  0, or -1.
 */
int ev_dedupe_expire(struct ev_dedupe *d, int64_t now, struct ev_buf *out,
    struct ev_err *err);
/*
 * Close: roll back what was not flushed, close the dups file and the
 * database.  0, or -1 with err set (a write error on the dups file).
 * NULL is a no-op.
 */
int ev_dedupe_close(struct ev_dedupe *d, struct ev_err *err);

/* ---------------------------------------------- event log and queues (evstore) */

/*
 * The event log: events in append order, each with a sequence number
 * (from 1, never reused) and its ingest time (ms since 1970); the stored
 * bytes are the input bytes.  Consumers keep a cursor (the last sequence
 * number they handed on); queue groups lease events to one receiver at a
 * time, with a visibility timeout, a receive count and dead letters.
 * ev_log_open() makes sure the tables exist (component "evstore").  Unless
 * said otherwise the functions run in their own write transaction, or in
 * the caller's when one is open (ev_db_begin()).  They return -1 with err
 * set on a database error.
 */
#define EV_LOG_SCHEMA_VERSION 2

/* One stored (or received, or dead) event, valid during a callback. */
struct ev_log_event {
	int64_t seq;
	int64_t ingest;		/* ms since 1970 */
	const char *data;	/* the stored bytes */
	size_t len;
	/* receive and dead letters only */
	int64_t receives;	/* how often it was received */
	const char *token;	/* receive: the lease's token */
	const char *reason;	/* dead letters: why */
	int64_t dead_at;	/* dead letters: when (ms) */
};

/* A callback over events: return 0 to go on, nonzero to stop. */
typedef int (*ev_log_fn)(void *ctx, const struct ev_log_event *ev);

int ev_log_open(struct ev_db *db, struct ev_err *err);
/*
 * Append data[0..len) with ingest time now; *seq gets its sequence number.
 * Inside the caller's transaction (ev_db_begin()): a batch commits at once.
 */
int ev_log_append(struct ev_db *db, const char *data, size_t len,
    int64_t now, int64_t *seq, struct ev_err *err);

/* What ev_log_read() reads: from <= seq, since <= ingest < until. */
struct ev_log_range {
	int64_t from;		/* 0: the first */
	int64_t since;		/* INT64_MIN: no bound */
	int64_t until;		/* INT64_MAX: no bound */
	int64_t max;		/* at most this many, 0: all */
};
/*
 * Call fn for the events in r in sequence order.  Returns how many fn saw
 * (the one that stopped it included), or -1.  Read-only.
 */
int64_t ev_log_read(struct ev_db *db, const struct ev_log_range *r,
    ev_log_fn fn, void *ctx, struct ev_err *err);

/* A consumer's cursor: the last sequence number handed on (0: none). */
int ev_log_cursor_get(struct ev_db *db, const char *name, int64_t *seq,
    struct ev_err *err);
int ev_log_cursor_set(struct ev_db *db, const char *name, int64_t seq,
    struct ev_err *err);

/* How a group leases. */
struct ev_log_lease {
	int64_t max;		/* events per receive */
	int64_t visibility;	/* ms a lease lasts */
	int64_t max_receives;	/* 0: no limit; else dead after that many */
	int64_t now;
};
/*
 * Lease up to l->max events of group (created on first use, starting at
 * the first stored event) to the caller, in one transaction: first those
 * whose lease expired (an expired event received max_receives times
 * already moves to the dead letters instead, with reason "max receives
 * exceeded"), then new ones.  fn gets each with its receive count and a
 * new token; its return value is ignored.  Returns the number leased.
 */
int64_t ev_log_receive(struct ev_db *db, const char *group,
    const struct ev_log_lease *l, ev_log_fn fn, void *ctx,
    struct ev_err *err);
/*
 * Complete (ack) or release (nack: visible again at now) the lease of seq
 * in group held with token.  1 done, 0 when that lease is not held (it
 * expired and was received again, or was acked), -1 error.
 */
int ev_log_ack(struct ev_db *db, const char *group, int64_t seq,
    const char *token, struct ev_err *err);
int ev_log_nack(struct ev_db *db, const char *group, int64_t seq,
    const char *token, int64_t now, struct ev_err *err);
/* Call fn for group's dead letters in sequence order; returns how many. */
int64_t ev_log_dead(struct ev_db *db, const char *group, ev_log_fn fn,
    void *ctx, struct ev_err *err);
/* Put group's dead letters back in its queue; returns how many. */
int64_t ev_log_redrive(struct ev_db *db, const char *group,
    struct ev_err *err);
/*
 * Delete the events ingested before before (INT64_MIN: none), and all but
 * the last keep (< 0: no bound); returns how many went.
 */
int64_t ev_log_prune(struct ev_db *db, int64_t before, int64_t keep,
    struct ev_err *err);
/*
 * Append the store's statistics at now to out as one JSON object: count,
 * first and last (seq, time), bytes, consumers (seq, lag), groups (depth,
 * in-flight, dead).
 */
int ev_log_stat(struct ev_db *db, int64_t now, struct ev_buf *out,
    struct ev_err *err);

/* ------------------------------------------- evstore's streams (logio.c) */

/*
 * Group commit, for append: ev_log_writer_add() appends an event in the
 * writer's transaction (begun on the first), which commits when it holds
 * max_events events or max_bytes bytes or is max_ms old, and at
 * ev_log_writer_flush().  Only after a commit (and, with a retention, the
 * prune of the events older than it) are its events written to out, one
 * line each: nothing reaches out before it is durable as the database's
 * sync mode says.  Zeros take the EV_LOG_BATCH_* defaults.
 */
/* A new store's page size: pass it as ev_db_opts.page_size. */
#define EV_LOG_PAGE_SIZE 65536
#define EV_LOG_BATCH_EVENTS 10000
#define EV_LOG_BATCH_BYTES (8 << 20)
#define EV_LOG_BATCH_MS 100
struct ev_log_batch {
	int64_t max_events, max_bytes, max_ms;
	int64_t retention;	/* ms; 0: keep every event */
};
struct ev_log_writer;
/* A writer on db and out (both borrowed).  NULL when out of memory. */
struct ev_log_writer *ev_log_writer_new(struct ev_db *db,
    struct ev_sink *out, const struct ev_log_batch *b);
/* Append data[0..len) at the clock's time.  0, or -1 with err set. */
int ev_log_writer_add(struct ev_log_writer *w, const char *data, size_t len,
    struct ev_err *err);
/* Commit what was added, then write it out.  0, or -1 with err set. */
int ev_log_writer_flush(struct ev_log_writer *w, struct ev_err *err);
/* Free w; what was added and not flushed is rolled back, never written. */
void ev_log_writer_free(struct ev_log_writer *w);

/* Whether an event is kept (1) or skipped (0), e.g. a pattern. */
typedef int (*ev_log_filter)(void *ctx, const char *data, size_t len);

/*
 * A replay (evstore read): the events from seq from on, ingested at or
 * after since and before until, that filter keeps (NULL: all), written to
 * out in sequence order.  With name, each gets "replay-name":name as its
 * first member (the name is JSON-quoted here).  With consumer, the replay
 * starts after that consumer's cursor and moves it past the events once
 * they were written out whole (flushed).  With follow it waits for new
 * events (polling), until a stop signal, a closed out, an event ingested
 * at or after until, or the clock a second past until.
 */
struct ev_log_replay {
	int64_t from, since, until;	/* 0, INT64_MIN, INT64_MAX: none */
	const char *name;		/* or NULL */
	const char *consumer;		/* or NULL */
	int follow;
	ev_log_filter filter;
	void *filter_ctx;
};
/* Returns the number of events written, or -1 with err set. */
int64_t ev_log_replay(struct ev_db *db, const struct ev_log_replay *rp,
    struct ev_sink *out, struct ev_err *err);

/*
 * Receiving, as an SQS consumer does: lease up to batch events of group
 * per transaction (ev_log_receive()), write each batch to out in receipt
 * envelopes and flush it, then lease the next, until max events (0: no
 * limit) were received or the queue is empty (with follow: until a stop
 * signal, polling while it is empty), or out is closed.  The envelope:
 *   {"receipt":"SEQ:N:TOKEN","seq":SEQ,"receives":N,"event":EVENT}
 */
struct ev_log_recv {
	int64_t max, batch;
	int64_t visibility, max_receives;	/* as in ev_log_lease */
	int follow;
};
/* Returns the number of events received, or -1 with err set. */
int64_t ev_log_receive_to(struct ev_db *db, const char *group,
    const struct ev_log_recv *rc, struct ev_sink *out, struct ev_err *err);
/* Append ev's envelope line (with its newline) to b.  0, or -1 (memory). */
int ev_log_envelope(struct ev_buf *b, const struct ev_log_event *ev);
/*
 * Write group's dead letters to out, one line each: {"seq":S,"receives":N,
 * "reason":"...","time":"RFC 3339","event":EVENT}.  Returns how many.
 */
int64_t ev_log_dead_to(struct ev_db *db, const char *group,
    struct ev_sink *out, struct ev_err *err);

/*
 * Settling received lines (ack, nack): ev_log_acker_line() reads the
 * receipt of one line that ev_log_receive_to() wrote and acks (or nacks)
 * its lease in the acker's transaction, which commits every batch lines
 * and at ev_log_acker_flush(): a settle is done once that returned 0.
 * ev_log_acker_line() returns 1 when settled, 0 for a bad line (err: "no
 * receipt: ...", "receipt 'R' is not held: ...", or invalid JSON with its
 * column), -1 on a database error.
 */
struct ev_log_acker;
struct ev_log_acker *ev_log_acker_new(struct ev_db *db, const char *group,
    int nack, int64_t batch, struct ev_err *err);
int ev_log_acker_line(struct ev_log_acker *a, const char *line, size_t len,
    struct ev_err *err);
int ev_log_acker_flush(struct ev_log_acker *a, struct ev_err *err);
/* Free a; what was settled and not flushed is rolled back. */
void ev_log_acker_free(struct ev_log_acker *a);

/*
 * Refuse inputs that are the store: an input operand (standard input when
 * nfiles is 0 or one is "-") or the reject file (NULL: none) that is the
 * file store.  0, or -1 with err set ("FILE: input file is also the
 * store", "FILE: reject file is also the store").
 */
int ev_log_check_files(const char *store, char *const *files, int nfiles,
    const char *reject, struct ev_err *err);

/*
 * The input loops of append, ack and nack (ev_input_loop() over files with
 * opts' line limit, reject file and read_files; the hooks are set here).
 * ev_log_append_files() stores each line that keep accepts through a
 * writer (ev_log_writer_*) on out; keep answers 1 (store), 0 (skip) or -1
 * (a bad line, err set with its column); NULL keeps every JSON object.
 * ev_log_settle_files() acks (nack: nacks) each line through an acker
 * that commits every EV_LOG_SETTLE_BATCH lines and whenever the input
 * runs dry, so that a pipeline never holds the store while it waits.
 * Both refuse the store as an input or reject file first, store in *n how
 * many events were stored or settled, and return ev_input_loop()'s result
 * (-1 with err set when the loop did not run).
 */
#define EV_LOG_SETTLE_BATCH 1000
typedef int (*ev_log_keep)(void *ctx, const char *line, size_t len,
    struct ev_err *err);
int ev_log_append_files(struct ev_db *db, char *const *files, int nfiles,
    const struct ev_input_opts *opts, ev_log_keep keep, void *keep_ctx,
    const struct ev_log_batch *b, struct ev_sink *out, int64_t *n,
    struct ev_err *err);
int ev_log_settle_files(struct ev_db *db, const char *group, int nack,
    char *const *files, int nfiles, const struct ev_input_opts *opts,
    int64_t *n, struct ev_err *err);

#endif
