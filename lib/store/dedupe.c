/*
 * dedupe.c - the dedupe filter behind evdedupe: which events pass, which
 * are repeats or conflicts, with keys in memory (ev_keyset) or in a state
 * database (ev_dkeys_*), and when the state's keys are committed.
 *
 * With a state, events are decided in batches.  A batch's keys are looked
 * up in key order, which for SQLite is the order of the tables' B-trees
 * (the first 64 bits of the hash are the rowid): their pages are read
 * once, in file order, instead of at random.  New keys are written to a
 * small table, not to the large one (sqlite_dkeys.c).  Keys are committed once what was
 * emitted has been flushed, so a crash loses no unique event (it may emit
 * one twice).  Keys this process recorded are kept in memory, and their
 * repeats do not go to the database.
 *
 * In memory, without --validate, events are decided a few at a time
 * (MEM_BATCH): each one's home slot is prefetched as it comes in, so that
 * the lookups of a batch wait for memory together rather than one after
 * the other.  Their lines are copied meanwhile (an input line lives only
 * as long as the call that brings it).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json/json.h"
#include "store.h"

/*
 * Events decided together, at most.  Their lines are copied in and read
 * back out: a batch that stays in the CPU's cache costs less than the
 * longer sorted runs of a bigger one save (8192 events of the bench's
 * 560 bytes: about 12% more CPU than 1024).
 */
#define SORT_EVENTS 1024
#define SORT_BYTES ((size_t)1 << 20)
/*
 * Database operations per transaction: a commit rewrites every page its
 * transaction touched, and random keys touch most of a large state.  A
 * claim holds the database while the handler drains the pipe: those
 * commit sooner.
 */
#define COMMIT_OPS 100000
#define CLAIM_OPS 1000
/* --commit: try to mark the pending keys every so many. */
#define COMPLETE_EVERY 1000
/* Keys recorded this run, kept for their repeats: at most (128 MiB). */
#define RECENT_MAX ((size_t)3 << 20)
/* In memory with values: file numbers take the top 16 bits of "at". */
#define AT_LINE_BITS 48
#define AT_FILES ((size_t)1 << (64 - AT_LINE_BITS))
/* In memory: events decided together (their slots fetched meanwhile). */
#define MEM_BATCH 16
/* With a state: the recent keys' slots fetched this many lookups ahead. */
#define PREFETCH_AHEAD 8
/* In memory: the key set made room for this many keys at most at once. */
#define RESERVE_MAX ((size_t)1 << 22)
/* ... guessed from the inputs' sizes and the line length of a sample. */
#define SAMPLE_BYTES 65536

struct item {
	struct ev_dedupe_event ev;	/* ev.buf set when emitted */
	size_t off;			/* the line, in d->bytes */
	size_t first;			/* a conflict's first place, in
					   d->firsts */
	int verdict;
};

/*
 * A batch's lookup order: by the first 64 bits of the key, as the state's
 * rowid (signed) orders them; one key's events in their input order.
 */
struct order {
	uint64_t k;		/* hi with the sign bit flipped */
	size_t i;
};

struct pending {
	struct ev_key key;
	int64_t time;
	size_t seq;		/* complete_batched()'s */
};

struct ev_dedupe {
	struct ev_dedupe_opts o;
	struct ev_sink *dups;
	struct ev_dedupe_counts counts;
	struct ev_keyset *ks;		/* in memory */
	struct ev_db *db;		/* the state */
	struct ev_keyset *recent;	/* the state's keys recorded by this
					   run (plain checks), or NULL */
	struct item *items;		/* the batch */
	struct order *order;		/* and room for sorting it */
	size_t n, cap;
	struct ev_buf bytes, firsts;
	unsigned long ops;		/* database operations since commit */
	size_t ocap;			/* order's size */
	const char **files;		/* in memory with values: by number */
	size_t nfiles, capfiles;
	size_t guess;			/* keys in the inputs, roughly */
	struct pending *pend;		/* --commit: keys not marked yet */
	size_t npend, cappend;
};

static int
nomem(struct ev_err *err)
{
	ev_err_set(err, "out of memory");
	return -1;
}

/*
 * p (of *cap elements of size sz) grown to hold n + 1: p itself when it
 * does, a new array (p freed) with *cap updated, or NULL (p kept).
 */
static void *
grow(void *p, size_t *cap, size_t n, size_t sz)
{
	size_t ncap;

	if (n < *cap)
		return p;
	ncap = *cap ? *cap * 2 : 256;
	if ((p = realloc(p, ncap * sz)) != NULL)
		*cap = ncap;
	return p;
}

/*
 * Append the canonical form of v to canon; a string without escapes is
 * its own canonical form.
 */
static int
add_canon(struct ev_buf *canon, const struct ev_span *v, struct ev_err *err)
{
	if (v->len >= 2 && v->p[0] == '"' &&
	    memchr(v->p, '\\', v->len) == NULL) {
		if (ev_buf_add(canon, v->p, v->len) == 0)
			return 0;
		ev_err_set(err, "out of memory");
		ev_err_errno(err, ENOMEM);
		return -1;
	}
	if (ev_json_canon(v->p, v->len, canon, err) == 0)
		return 0;
	if (strcmp(err->msg, "out of memory") == 0)
		ev_err_errno(err, ENOMEM);
	return -1;
}

int
ev_dedupe_key(const struct ev_span *vals, int n, struct ev_buf *canon,
    struct ev_key *key, int *absent, struct ev_err *err)
{
	int i;

	canon->len = 0;
	for (i = 0; i < n; i++) {
		if (vals[i].p == NULL) {
			*absent = i;
			return 1;
		}
		if (i > 0 && ev_buf_add(canon, "\n", 1) < 0) {
			ev_err_set(err, "out of memory");
			ev_err_errno(err, ENOMEM);
			return -1;
		}
		if (add_canon(canon, &vals[i], err) < 0)
			return -1;
	}
	ev_key_hash(canon->p, canon->len, key);
	return 0;
}

int
ev_dedupe_value(const struct ev_span *v, struct ev_buf *canon, uint64_t *h,
    struct ev_err *err)
{
	*h = 0;
	if (v->p == NULL)
		return 0;
	canon->len = 0;
	if (add_canon(canon, v, err) < 0)
		return -1;
	*h = ev_key_hash64(canon->p, canon->len);
	return 0;
}

int
ev_dedupe_time(const struct ev_span *v, int64_t *ms)
{
	if (v->len >= 2 && v->p[0] == '"' &&
	    ev_time_parse(v->p + 1, v->len - 2, ms) == 0)
		return 0;
	return ev_time_parse(v->p, v->len, ms);
}

static int
open_state(struct ev_dedupe *d, struct ev_err *err)
{
	struct ev_db_opts o = { EV_SYNC_NORMAL, 0, 0, 0, 0 };
	struct ev_err cerr;

	/* --commit only tries; see complete(). */
	o.busy_ms = d->o.mode == EV_DEDUPE_COMMIT ? 1 : 0;
	if ((d->db = ev_db_open(d->o.state, &o, err)) == NULL)
		return -1;
	if (ev_dkeys_open(d->db, err) < 0) {
		ev_db_close(d->db, &cerr);
		d->db = NULL;
		return -1;
	}
	return 0;
}

/* True when path names the file sb describes. */
static int
is_file(const char *path, const struct stat *sb)
{
	struct stat ps;

	return path != NULL && stat(path, &ps) == 0 &&
	    ps.st_dev == sb->st_dev && ps.st_ino == sb->st_ino;
}

/* True when descriptor fd is the file sb describes. */
static int
is_fd(int fd, const struct stat *sb)
{
	struct stat fs;

	return fstat(fd, &fs) == 0 && fs.st_dev == sb->st_dev &&
	    fs.st_ino == sb->st_ino;
}

/*
 * Refuse files that would destroy each other: a dups or state file that
 * is an input, standard output or the reject file, a state file that is
 * the dups file.  With the state and the dups file
 * open (so that both exist), before either is written.
 */
static int
check_files(const struct ev_dedupe_opts *o, struct ev_err *err)
{
	const char *name, *what, *in;
	struct stat fs;
	int i, pass, std = o->ninputs == 0;

	for (i = 0; i < o->ninputs; i++)
		std |= strcmp(o->inputs[i], "-") == 0;
	for (pass = 0; pass < 2; pass++) {
		name = pass == 0 ? o->dups : o->state;
		what = pass == 0 ? "dups" : "state";
		if (name == NULL || stat(name, &fs) != 0 || !S_ISREG(fs.st_mode))
			continue;
		for (i = 0, in = NULL; i < o->ninputs && in == NULL; i++)
			if (strcmp(o->inputs[i], "-") != 0 &&
			    is_file(o->inputs[i], &fs))
				in = o->inputs[i];
		if (in == NULL && std && is_fd(0, &fs))
			in = "<stdin>";
		if (in != NULL) {
			ev_err_set(err, "%s: input file is also the %s file",
			    in, what);
			return -1;
		}
		if (is_file(o->reject, &fs)) {
			ev_err_set(err, "%s: %s file is also the reject file",
			    name, what);
			return -1;
		}
		if (is_fd(1, &fs)) {
			ev_err_set(err, "%s: %s file is also the output", name,
			    what);
			return -1;
		}
		if (pass == 1 && is_file(o->dups, &fs)) {
			ev_err_set(err, "%s: state file is also the dups file",
			    name);
			return -1;
		}
	}
	return 0;
}

/*
 * At most how many keys the inputs hold, roughly: their lines, from their
 * sizes and the lines in the first SAMPLE_BYTES of the first one (regular
 * files only; 0 when there are none), within RESERVE_MAX.
 */
static size_t
guess_keys(const struct ev_dedupe_opts *o)
{
	static char buf[SAMPLE_BYTES];
	struct stat sb;
	uint64_t total = 0;
	size_t got = 0, nl = 0, i;
	ssize_t n;
	int k, fd, first = -1;

	for (k = 0; k < o->ninputs; k++)
		if (strcmp(o->inputs[k], "-") != 0 &&
		    stat(o->inputs[k], &sb) == 0 && S_ISREG(sb.st_mode) &&
		    sb.st_size > 0) {
			total += (uint64_t)sb.st_size;
			if (first < 0)
				first = k;
		}
	/* not blocking on a file that became a FIFO meanwhile */
	if (first < 0 || (fd = open(o->inputs[first], O_RDONLY | O_NONBLOCK |
	    O_CLOEXEC)) < 0)
		return 0;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (n = pread(fd, buf, sizeof(buf), 0)) > 0)
		got = (size_t)n;
	close(fd);
	for (i = 0; i < got; i++)
		nl += buf[i] == '\n';
	if (nl == 0)
		return 0;
	total /= got / nl;
	return total > RESERVE_MAX ? RESERVE_MAX : (size_t)total;
}

/* The set of keys this run recorded in the state. */
static struct ev_keyset *
recent_new(const struct ev_dedupe *d)
{
	struct ev_keyset *ks;

	ks = ev_keyset_new(0, d->o.ttl > 0 ? EV_KEYSET_TIMES : 0);
	if (ks != NULL)
		(void)ev_keyset_reserve(ks, d->guess < RECENT_MAX ? d->guess :
		    RECENT_MAX);
	return ks;
}

struct ev_dedupe *
ev_dedupe_open(const struct ev_dedupe_opts *opts, struct ev_err *err)
{
	struct ev_dedupe *d = calloc(1, sizeof(*d));
	struct ev_err cerr;

	if (d == NULL) {
		nomem(err);
		return NULL;
	}
	d->o = *opts;
	d->guess = guess_keys(&d->o);
	if (d->o.state == NULL) {
		d->o.mode = EV_DEDUPE_CHECK;
		if ((d->ks = ev_keyset_new(d->o.max_keys,
		    (d->o.ttl > 0 ? EV_KEYSET_TIMES : 0) |
		    (d->o.validate ? EV_KEYSET_VALUES : 0))) == NULL) {
			nomem(err);
			goto fail;
		}
		if (!d->o.max_keys)
			(void)ev_keyset_reserve(d->ks, d->guess);
	} else if (d->o.mode != EV_DEDUPE_COMMIT && open_state(d, err) < 0)
		goto fail;
	/* Without it repeats go to the database: slower, not wrong. */
	if (d->db != NULL && d->o.mode == EV_DEDUPE_CHECK && !d->o.validate)
		d->recent = recent_new(d);
	if (d->o.dups != NULL &&
	    (d->dups = ev_sink_open(d->o.dups, 0, err)) == NULL)
		goto fail;
	if (check_files(&d->o, err) < 0 ||
	    (d->dups != NULL && ev_sink_truncate(d->dups, err) < 0))
		goto fail;
	return d;
fail:
	ev_err_clear(&cerr);
	ev_sink_close(d->dups, &cerr);
	d->dups = NULL;
	ev_dedupe_close(d, &cerr);
	return NULL;
}

struct ev_dedupe_counts
ev_dedupe_counts(const struct ev_dedupe *d)
{
	return d->counts;
}

/* Append printf output to out. */
static int
buf_printf(struct ev_buf *out, struct ev_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int
buf_printf(struct ev_buf *out, struct ev_err *err, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    ev_buf_add(out, line, (size_t)n) < 0)
		return nomem(err);
	return 0;
}

/* The state, opened when it is not yet. */
static int
need_db(struct ev_dedupe *d, struct ev_err *err)
{
	if (d->db != NULL)
		return 0;
	if (d->o.state == NULL) {
		ev_err_set(err, "no state file");
		return -1;
	}
	return open_state(d, err);
}

int
ev_dedupe_stat(struct ev_dedupe *d, struct ev_buf *out, struct ev_err *err)
{
	struct ev_dkeys_stat s;
	char t1[32], t2[32];

	if (need_db(d, err) < 0)
		return -1;
	if (ev_dkeys_stat(d->db, &s, err) < 0)
		return -1;
	if (s.keys == 0)
		return buf_printf(out, err, "{\"keys\":0,\"claimed\":0,"
		    "\"oldest\":null,\"newest\":null,\"bytes\":%lld}\n",
		    (long long)s.bytes);
	ev_time_format(s.oldest, t1, sizeof(t1));
	ev_time_format(s.newest, t2, sizeof(t2));
	return buf_printf(out, err, "{\"keys\":%lld,\"claimed\":%lld,"
	    "\"oldest\":\"%s\",\"newest\":\"%s\",\"bytes\":%lld}\n",
	    (long long)s.keys, (long long)s.claimed, t1, t2,
	    (long long)s.bytes);
}

int
ev_dedupe_expire(struct ev_dedupe *d, int64_t now, struct ev_buf *out,
    struct ev_err *err)
{
	int64_t n;

	if (need_db(d, err) < 0)
		return -1;
	if (ev_db_begin(d->db, err) < 0)
		return -1;
	if (ev_dkeys_expire(d->db, now, d->o.ttl, &n, err) < 0) {
		ev_db_rollback(d->db);
		return -1;
	}
	if (ev_db_commit(d->db, err) < 0)
		return -1;
	return buf_printf(out, err, "{\"expired\":%lld}\n", (long long)n);
}

/* Hand an event on: to emit, or to standard output or the dups file. */
static int
emit(struct ev_dedupe *d, const struct ev_dedupe_event *ev, int v,
    const char *first, struct ev_err *err)
{
	if (v == EV_DEDUPE_PASS)
		d->counts.passed++;
	else if (v == EV_DEDUPE_CONFLICT) {
		d->counts.conflicts++;
		if (d->o.conflict != NULL)
			d->o.conflict(d->o.ctx, ev, first);
	} else if (ev->fixed < 0)
		d->counts.repeats++;
	if (d->o.emit != NULL)
		return d->o.emit(d->o.ctx, ev, v, err);
	if (v == EV_DEDUPE_PASS)
		ev_out_line(ev->buf, ev->len);
	else if (d->dups != NULL) {
		if (v == EV_DEDUPE_CONFLICT)
			ev_sink_str(d->dups, "conflict\t");
		ev_sink_line(d->dups, ev->buf, ev->len);
	}
	return 0;
}

/* Did what was emitted get out?  0 yes, -1 no (a write error, no reader). */
static int
flushed(struct ev_dedupe *d)
{
	if (d->o.flush != NULL)
		return d->o.flush(d->o.ctx);
	if (d->o.emit != NULL)
		return 0;
	if (d->dups != NULL)
		ev_sink_flush(d->dups);
	/* A write error is reported by ev_out_close(), once. */
	return ev_out_flush() < 0 || ev_out_closed() ? -1 : 0;
}

/* Forget the recent keys: they may not be in the state. */
static void
rollback(struct ev_dedupe *d)
{
	ev_db_rollback(d->db);
	if (d->recent != NULL) {
		ev_keyset_free(d->recent);
		d->recent = recent_new(d);
	}
}

/*
 * End a transaction: what was emitted reaches its destination first, then
 * the keys are committed.  Output that did not get out commits nothing.
 */
static int
commit(struct ev_dedupe *d, struct ev_err *err)
{
	if (d->db == NULL || !ev_db_in_tx(d->db))
		return 0;
	d->ops = 0;
	if (flushed(d) < 0) {
		rollback(d);
		return 0;
	}
	return ev_db_commit(d->db, err);
}

/* The number of file in the name table (in memory with values). */
static size_t
file_number(struct ev_dedupe *d, const char *file)
{
	size_t f = d->nfiles;
	const char **nf;

	while (f > 0 && d->files[f - 1] != file)
		f--;
	if (f > 0)
		return f - 1;
	if (d->nfiles == AT_FILES - 1 || (nf = grow(d->files, &d->capfiles,
	    d->nfiles, sizeof(*d->files))) == NULL)
		return AT_FILES - 1;	/* "?" */
	d->files = nf;
	d->files[d->nfiles] = file;
	return d->nfiles++;
}

/* Decide ev in memory; a conflict's first place goes to first. */
static int
decide_mem(struct ev_dedupe *d, const struct ev_dedupe_event *ev,
    char *first, size_t size, struct ev_err *err)
{
	uint64_t at, fa = 0, mask = ((uint64_t)1 << AT_LINE_BITS) - 1;
	size_t f;
	int r;

	if (!d->o.validate)
		r = ev_keyset_check(d->ks, &ev->key, ev->time, d->o.ttl);
	else {
		at = (uint64_t)file_number(d, ev->file) << AT_LINE_BITS |
		    (ev->lineno & mask);
		r = ev_keyset_checkv(d->ks, &ev->key, ev->time, d->o.ttl,
		    ev->value, at, &fa);
		if (r == EV_DEDUPE_CONFLICT) {
			f = (size_t)(fa >> AT_LINE_BITS);
			snprintf(first, size, "%s:%llu", f < d->nfiles ?
			    d->files[f] : "?", (unsigned long long)(fa & mask));
		}
	}
	return r < 0 ? nomem(err) : r;
}

/* A key the state passed: kept for its repeats, while there is room. */
static void
remember(struct ev_dedupe *d, const struct ev_dedupe_event *ev)
{
	if (d->recent != NULL && ev_keyset_count(d->recent) < RECENT_MAX &&
	    ev_keyset_check(d->recent, &ev->key, ev->time, d->o.ttl) < 0) {
		ev_keyset_free(d->recent);
		d->recent = NULL;
	}
}

/* Decide a batched event against the state. */
static int
decide_db(struct ev_dedupe *d, struct item *it, struct ev_err *err)
{
	const struct ev_dedupe_event *ev = &it->ev;
	char at[1024], first[1024];
	int r;

	if (d->recent != NULL &&
	    ev_keyset_seen(d->recent, &ev->key, ev->time, d->o.ttl))
		return EV_DEDUPE_REPEAT;
	d->ops++;
	if (d->o.mode == EV_DEDUPE_CLAIM)
		return ev_dkeys_claim(d->db, &ev->key, ev->time, d->o.ttl,
		    d->o.lease, err);
	if (!d->o.validate)
		r = ev_dkeys_check(d->db, &ev->key, ev->time, d->o.ttl, err);
	else {
		snprintf(at, sizeof(at), "%s:%lu", ev->file, ev->lineno);
		r = ev_dkeys_checkv(d->db, &ev->key, ev->time, d->o.ttl,
		    ev->value, at, first, sizeof(first), err);
		if (r == EV_DEDUPE_CONFLICT) {
			it->first = d->firsts.len;
			if (ev_buf_add(&d->firsts, first, strlen(first) + 1) < 0)
				return nomem(err);
		}
	}
	if (r == EV_DEDUPE_PASS)
		remember(d, ev);
	return r;
}

/*
 * Decide the sorted batch, d->order[0..n), with the backend's batches
 * (ev_dkeys_batch): in rounds, each taking the next event of every key
 * (by its first 64 bits, as the state's rows) that the recent keys do not
 * answer.  One key's events are decided in input order, each after the
 * one before it, and other keys' decisions do not touch it: the verdicts
 * are decide_db()'s, one event at a time.  Rows are locked in key order.
 */
static int
decide_batched(struct ev_dedupe *d, size_t n, struct ev_err *err)
{
	struct ev_dkeys_req *req = malloc(n * sizeof(*req));
	size_t *pos = malloc(n * sizeof(*pos)), *end = malloc(n * sizeof(*end));
	size_t *aoff = malloc(n * sizeof(*aoff));
	int how = d->o.mode == EV_DEDUPE_CLAIM ? EV_DKEYS_CLAIM :
	    d->o.validate ? EV_DKEYS_CHECKV : EV_DKEYS_CHECK;
	struct ev_buf ats = { 0 };
	struct item *it;
	size_t g, ng = 0, m, i;
	char at[1024];
	int rc = -1;

	if (req == NULL || pos == NULL || end == NULL || aoff == NULL) {
		nomem(err);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (i == 0 || d->order[i].k != d->order[i - 1].k)
			pos[ng++] = i;
		end[ng - 1] = i + 1;
	}
	for (;;) {
		ats.len = 0;
		for (g = 0, m = 0; g < ng; g++) {
			for (i = pos[g]; i < end[g]; i++) {
				it = &d->items[d->order[i].i];
				if (d->recent == NULL || !ev_keyset_seen(
				    d->recent, &it->ev.key, it->ev.time,
				    d->o.ttl))
					break;
				it->verdict = EV_DEDUPE_REPEAT;
			}
			if (i == end[g])
				continue;
			it = &d->items[d->order[i].i];
			pos[m] = i;
			end[m] = end[g];
			req[m].key = it->ev.key;
			req[m].now = it->ev.time;
			req[m].v = it->ev.value;
			if (how == EV_DKEYS_CHECKV) {
				snprintf(at, sizeof(at), "%s:%lu", it->ev.file,
				    it->ev.lineno);
				aoff[m] = ats.len;
				if (ev_buf_add(&ats, at, strlen(at) + 1) < 0) {
					nomem(err);
					goto out;
				}
			}
			m++;
		}
		if ((ng = m) == 0)
			break;
		for (g = 0; g < m; g++)
			req[g].at = how == EV_DKEYS_CHECKV ? ats.p + aoff[g] :
			    NULL;
		if (ev_dkeys_batch(d->db, how, req, m, d->o.ttl, d->o.lease,
		    &d->firsts, err) < 0)
			goto out;
		d->ops += m;
		for (g = 0; g < m; g++) {
			it = &d->items[d->order[pos[g]++].i];
			it->verdict = req[g].verdict;
			if (it->verdict == EV_DEDUPE_CONFLICT)
				it->first = req[g].first;
			else if (it->verdict == EV_DEDUPE_PASS)
				remember(d, &it->ev);
		}
	}
	rc = 0;
out:
	free(req);
	free(pos);
	free(end);
	free(aoff);
	ev_buf_free(&ats);
	return rc;
}

/*
 * Sort o[0..n) by k, keeping the order of equal ones: a radix sort, a byte
 * at a time from the lowest, through tmp[0..n).
 */
static void
order_sort(struct order *o, struct order *tmp, size_t n)
{
	size_t count[256], i, pos, c;
	struct order *from = o, *to = tmp, *t;
	int shift;

	for (shift = 0; shift < 64; shift += 8) {
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[from[i].k >> shift & 0xff]++;
		if (count[from[0].k >> shift & 0xff] == n)
			continue;	/* one byte value: nothing moves */
		for (i = 0, pos = 0; i < 256; i++) {
			c = count[i];
			count[i] = pos;
			pos += c;
		}
		for (i = 0; i < n; i++)
			to[count[from[i].k >> shift & 0xff]++] = from[i];
		t = from;
		from = to;
		to = t;
	}
	if (from != o)
		memcpy(o, from, n * sizeof(*o));
}

/*
 * Decide the batch in key order (one key's events keep their input order,
 * so the verdicts are those of one event at a time), emit it in input
 * order, and commit when the transaction is full.
 */
static int
run_batch(struct ev_dedupe *d, struct ev_err *err)
{
	const struct ev_key *k;
	const char *first;
	struct item *it;
	size_t i, n = 0;
	int r, batched = 0;

	for (i = 0; i < d->n; i++) {
		if (d->items[i].ev.fixed >= 0)
			continue;
		d->order[n].k = d->items[i].ev.key.hi ^ (uint64_t)1 << 63;
		d->order[n++].i = i;
	}
	if (n == 0)
		goto emit;
	if (!ev_db_in_tx(d->db) && ev_db_begin(d->db, err) < 0)
		return -1;
	order_sort(d->order, d->order + d->cap, n);
	if ((batched = ev_dkeys_batched(d->db)) != 0) {
		if (decide_batched(d, n, err) < 0)
			return -1;
		goto emit;
	}
	for (i = 0; i < n; i++) {
		/* the recent keys' slots and the state's filter, a few
		   lookups ahead */
		if (i + PREFETCH_AHEAD < n) {
			k = &d->items[d->order[i + PREFETCH_AHEAD].i].ev.key;
			if (d->recent != NULL)
				ev_keyset_prefetch(d->recent, k);
			ev_dkeys_prefetch(d->db, k);
		}
		it = &d->items[d->order[i].i];
		if ((r = decide_db(d, it, err)) < 0)
			return -1;
		it->verdict = r;
	}
emit:
	for (i = 0; i < d->n; i++) {
		it = &d->items[i];
		it->ev.buf = d->bytes.p + it->off;
		r = it->ev.fixed >= 0 ? it->ev.fixed : it->verdict;
		first = r == EV_DEDUPE_CONFLICT ? d->firsts.p + it->first :
		    NULL;
		if (emit(d, &it->ev, r, first, err) < 0)
			return -1;
	}
	d->n = 0;
	d->bytes.len = 0;
	d->firsts.len = 0;
	/*
	 * Batches lock their rows in key order, all in their first round: a
	 * transaction of one batch never waits for another in a cycle.
	 */
	if (batched ||
	    d->ops >= (d->o.mode == EV_DEDUPE_CLAIM ? CLAIM_OPS : COMMIT_OPS))
		return commit(d, err);
	return 0;
}

/* Decide and emit the events batched in memory, in input order. */
static int
mem_batch(struct ev_dedupe *d, struct ev_err *err)
{
	char first[1024];
	struct item *it;
	size_t i;
	int r;

	for (i = 0; i < d->n; i++) {
		it = &d->items[i];
		it->ev.buf = d->bytes.p + it->off;
		r = it->ev.fixed;
		if (r < 0 && (r = decide_mem(d, &it->ev, first, sizeof(first),
		    err)) < 0)
			return -1;
		if (emit(d, &it->ev, r, first, err) < 0)
			return -1;
	}
	d->n = 0;
	d->bytes.len = 0;
	return 0;
}

/* Keep ev for mem_batch(), its slot on its way to the cache. */
static int
mem_add(struct ev_dedupe *d, const struct ev_dedupe_event *ev,
    struct ev_err *err)
{
	struct item *it;

	if ((it = grow(d->items, &d->cap, d->n, sizeof(*d->items))) == NULL)
		return nomem(err);
	d->items = it;
	it = &d->items[d->n];
	it->ev = *ev;
	it->off = d->bytes.len;
	if (ev_buf_add(&d->bytes, ev->buf, ev->len) < 0)
		return nomem(err);
	if (ev->fixed < 0)
		ev_keyset_prefetch(d->ks, &ev->key);
	if (++d->n >= MEM_BATCH)
		return mem_batch(d, err);
	return 0;
}

/* Pending keys by key, then by input order. */
static int
pend_cmp(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;

	if (x->key.hi != y->key.hi)
		return x->key.hi < y->key.hi ? -1 : 1;
	if (x->key.lo != y->key.lo)
		return x->key.lo < y->key.lo ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * The pending keys completed in a statement per round (PostgreSQL): a key
 * pending twice is completed once, at its first time (what the second
 * completion would leave); keys sharing key.hi go in rounds of their own.
 */
static int
complete_batched(struct ev_dedupe *d, struct ev_err *err)
{
	struct ev_dkeys_req *req;
	size_t i, m, n = 0;
	int rc = 0;

	for (i = 0; i < d->npend; i++)
		d->pend[i].seq = i;
	qsort(d->pend, d->npend, sizeof(*d->pend), pend_cmp);
	for (i = 0; i < d->npend; i++)
		if (n == 0 || d->pend[i].key.hi != d->pend[n - 1].key.hi ||
		    d->pend[i].key.lo != d->pend[n - 1].key.lo)
			d->pend[n++] = d->pend[i];
	if ((req = calloc(n, sizeof(*req))) == NULL)
		return nomem(err);
	while (n > 0 && rc == 0) {
		/* the first of each key.hi now, the others in later rounds */
		for (i = m = 0; i < n; i++) {
			if (i > 0 && d->pend[i].key.hi == d->pend[i - 1].key.hi)
				continue;
			req[m].key = d->pend[i].key;
			req[m++].now = d->pend[i].time;
			d->pend[i].seq = SIZE_MAX;
		}
		rc = ev_dkeys_batch(d->db, EV_DKEYS_COMPLETE, req, m, 0, 0,
		    &d->firsts, err);
		for (i = m = 0; i < n; i++)
			if (d->pend[i].seq != SIZE_MAX)
				d->pend[m++] = d->pend[i];
		n = m;
	}
	free(req);
	return rc;
}

/*
 * --commit: mark the pending keys completed and commit.  In a pipeline
 * "evdedupe --claim | handler | evdedupe --commit" the claiming process
 * may hold the database while it waits for the pipe to drain; waiting for
 * it here, without reading, would stop the pipe for good.  So the keys are
 * kept, and the database is only tried (block false) until the input has
 * ended, when waiting is safe.
 */
static int
complete(struct ev_dedupe *d, int block, struct ev_err *err)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int64_t waited = 0;
	size_t i;

	if (d->npend == 0)
		return 0;
	while ((d->db == NULL && open_state(d, err) < 0) ||
	    ev_db_begin(d->db, err) < 0) {
		if (err->cls != EV_ERR_RETRYABLE)
			return -1;
		ev_err_clear(err);
		if (!block)
			return 0;
		if ((waited += 10) > EV_DB_BUSY_DEFAULT_MS) {
			ev_err_set(err, "%s: database is locked", d->o.state);
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	if (ev_dkeys_batched(d->db)) {
		if (complete_batched(d, err) < 0)
			return -1;
	} else
		for (i = 0; i < d->npend; i++)
			if (ev_dkeys_complete(d->db, &d->pend[i].key,
			    d->pend[i].time, err) < 0)
				return -1;
	d->npend = 0;
	return commit(d, err);
}

int
ev_dedupe_add(struct ev_dedupe *d, const struct ev_dedupe_event *ev,
    struct ev_err *err)
{
	char first[1024];
	struct pending *np;
	struct item *it;
	struct order *no;
	int r;

	if (d->o.mode == EV_DEDUPE_COMMIT) {
		if (ev->fixed < 0) {
			if ((np = grow(d->pend, &d->cappend, d->npend,
			    sizeof(*d->pend))) == NULL)
				return nomem(err);
			d->pend = np;
			d->pend[d->npend].key = ev->key;
			d->pend[d->npend++].time = ev->time;
		}
		r = ev->fixed >= 0 ? ev->fixed : EV_DEDUPE_PASS;
		if (emit(d, ev, r, NULL, err) < 0)
			return -1;
		return d->npend % COMPLETE_EVERY == 0 ? complete(d, 0, err) : 0;
	}
	if (d->db == NULL && !d->o.validate)
		return mem_add(d, ev, err);
	if (d->db == NULL || (ev->fixed >= 0 && d->n == 0)) {
		r = ev->fixed;
		if (r < 0 && (r = decide_mem(d, ev, first, sizeof(first),
		    err)) < 0)
			return -1;
		return emit(d, ev, r, first, err);
	}
	if ((it = grow(d->items, &d->cap, d->n, sizeof(*d->items))) == NULL)
		return nomem(err);
	d->items = it;
	if (d->ocap != d->cap) {
		/* twice: the second half is the sort's room */
		if ((no = realloc(d->order, 2 * d->cap * sizeof(*no))) == NULL)
			return nomem(err);
		d->order = no;
		d->ocap = d->cap;
	}
	it = &d->items[d->n];
	it->ev = *ev;
	it->off = d->bytes.len;
	if (ev_buf_add(&d->bytes, ev->buf, ev->len) < 0)
		return nomem(err);
	d->n++;
	if (d->n >= (d->o.mode == EV_DEDUPE_CLAIM ? CLAIM_OPS : SORT_EVENTS) ||
	    d->bytes.len >= SORT_BYTES)
		return run_batch(d, err);
	return 0;
}

int
ev_dedupe_flush(struct ev_dedupe *d, int end, struct ev_err *err)
{
	if (d->o.mode == EV_DEDUPE_COMMIT && complete(d, end, err) < 0)
		return -1;
	if (d->n > 0 && (d->db == NULL ? mem_batch(d, err) :
	    run_batch(d, err)) < 0)
		return -1;
	return commit(d, err);
}

void
ev_dedupe_abort(struct ev_dedupe *d)
{
	d->n = 0;
	d->bytes.len = 0;
	d->firsts.len = 0;
	d->npend = 0;
	if (d->db != NULL)
		rollback(d);
}

int
ev_dedupe_close(struct ev_dedupe *d, struct ev_err *err)
{
	struct ev_err cerr;
	int r;

	if (d == NULL)
		return 0;
	r = d->dups != NULL ? ev_sink_close(d->dups, err) : 0;
	if (ev_db_close(d->db, r < 0 ? &cerr : err) < 0)
		r = -1;
	ev_keyset_free(d->ks);
	ev_keyset_free(d->recent);
	ev_buf_free(&d->bytes);
	ev_buf_free(&d->firsts);
	free(d->items);
	free(d->order);
	free(d->files);
	free(d->pend);
	free(d);
	return r;
}
