/*
 * parallel.c - the input loop's order-preserving parallel executor (see
 * input.c for the serial one; both stand on reader.c, the line policy).
 *
 * In parallel mode, worker threads take turns at being the reader: a
 * worker with no chunk to take reads the next one, cutting the input into
 * chunks of whole lines and finding where their lines end (once: workers
 * never search a byte for a newline again), and dealing with the lines
 * that are too long; then it runs the tool's callback over the chunk it
 * read, while its bytes are in that CPU's cache, with output and
 * diagnostics captured per chunk (ev_out_capture()).  One writer thread
 * writes the chunks out in input order, running the in-order hook for each
 * good line as it goes.  A ring of 2*jobs+2 chunk slots bounds memory; one
 * mutex and three condition variables (a slot is free, a chunk is ready or
 * the reader's turn is free, a chunk is done) tie them together.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "input.h"
#include "base/base_int.h"
#include "input_int.h"

#define CHUNK_SIZE (512 * 1024) /* parallel mode: input bytes per chunk */
#define CHUNK_READ (64 * 1024)	/* least room offered to read(2) there */
#define SLOT_DATA (2 * CHUNK_SIZE) /* a slot's own room for input */
#define HUGE_PAGE (2 * 1024 * 1024)

/*
 * A step for the writer to replay between the captured bytes: a bad line
 * for the reject file (MARK_BAD), or a good line for the in-order hook
 * (MARK_HOOK: off, len, lineno, and the result at the same index).  out,
 * err and rej are the capture lengths after the line.
 */
enum { MARK_BAD, MARK_HOOK };
struct mark {
	size_t out, err, rej;
	int kind;
	unsigned long lineno;
	size_t off, len;
};

/*
 * One chunk of input and what became of it.  In input order: oc.err[0..err0)
 * (the reader's diagnostic), data[0..skip) (the end or a piece of a line
 * that is too long, for the reject file) and a newline if rej_nl, then the
 * lines of data[skip..len) with their output, diagnostics and rejects.
 */
struct chunk {
	unsigned long seq;
	int done;		/* the writer may take it */
	const char *file;
	unsigned long lineno;	/* lines of file before data[skip] */
	char *data;		/* home, or the heap for a long line */
	char *home;		/* the slot's SLOT_DATA bytes of the slab */
	size_t len, cap, skip;
	size_t *ends;		/* offsets of the newlines of data[skip..len) */
	size_t nends, capends;
	int rej_nl;
	size_t err0;
	struct ev_outcap oc;
	char *rej;		/* raw bad lines, newline-terminated */
	size_t rejlen, rejcap;
	struct mark *marks;	/* per bad line, when there is a reject file,
				 * and per good line, when there is a hook */
	size_t nmarks, capmarks;
	char *res;		/* result_size bytes per mark */
	int bad;
	int verdict;		/* GO_ON, STOP (EV_STOP) or FATAL */
};

struct worker {
	pthread_t t;
	struct par *P;
	void *wctx;
	struct ev_err err;	/* the callback's */
};

struct par;

/* The reader's position in one file. */
struct rd {
	struct par *P;
	struct chunk *c;	/* being filled */
	const char *name;
	unsigned long lineno;	/* lines before c's first */
	unsigned long nlines;	/* complete lines in c so far (c->nends) */
	size_t start;		/* start of the partial line in c->data */
	size_t scan;		/* bytes of c->data looked at for newlines */
	int discarding;		/* in a line that is too long */
};

/* The reader's place in the operands; a worker at a time moves it. */
struct rdr {
	char *const *files;
	int nfiles, next;	/* operands, the next to open */
	int open;		/* op is being read */
	struct operand op;
	struct rd d;
	int bom;		/* a byte order mark may come */
	int done;		/* no more chunks: res says why */
	int res;		/* GO_ON, STOP, STOPPED or FATAL */
};

struct par {
	struct loop *L;
	struct chunk *slot;
	size_t nslot;
	void *slab;		/* the slots' input buffers, in huge pages */
	struct worker *w;
	int nctx, nwork;
	pthread_t writer;
	pthread_mutex_t mu;
	pthread_cond_t cv_free;	/* reader: a slot was freed, or writer done */
	pthread_cond_t cv_work;	/* workers: a chunk was dispatched */
	pthread_cond_t cv_done;	/* writer: a chunk is done, or flush asked */
	unsigned long nfill;	/* chunks dispatched */
	unsigned long ntake;	/* chunks taken by workers */
	unsigned long nemit;	/* chunks written, slots free again */
	unsigned long flush_at;	/* flush stdout once nemit reaches it */
	int flush_req;
	int rwait;		/* the reader waits for half the ring */
	int nidle;		/* workers waiting for a chunk */
	int finished;		/* the reader is done: no more chunks */
	int reading;		/* a worker has the reader's turn */
	struct rdr rdr;		/* the reader's state, the turn's holder's */
	struct ev_rd_to to;	/* the writer's: the reject file, L->bad */
	int wdone;		/* the writer has stopped */
	int wres;		/* GO_ON, or FATAL */
	atomic_ulong cut;	/* nothing after this chunk is written */
	int wake[2];		/* a byte in this pipe: a cut was made */
};

enum { MORE = -1 };	/* the reader's: the operand goes on */

/*
 * Lower the cut to seq: nothing after chunk seq is to be written.  The
 * first cut wakes the reader if it waits for input.
 */
static void
set_cut(struct par *P, unsigned long seq)
{
	unsigned long cur = atomic_load(&P->cut);
	ssize_t w;

	while (seq < cur) {
		if (atomic_compare_exchange_weak(&P->cut, &cur, seq)) {
			if (cur == ULONG_MAX) {
				w = write(P->wake[1], "", 1);
				(void)w; /* full: the reader was woken */
			}
			break;
		}
	}
}

/* True when the reader should stop: a cut was made, or stdout is gone. */
static int
halted(struct par *P)
{
	return atomic_load_explicit(&P->cut, memory_order_relaxed) !=
		   ULONG_MAX ||
	    ev_out_closed();
}

/* Free one buffer when it grew past keep bytes (after a long line). */
static void
trim(char **p, size_t *cap, size_t keep)
{
	if (*cap > keep) {
		free(*p);
		*p = NULL;
		*cap = 0;
	}
}

/*
 * Wait for the next slot of the ring to be free and make it an empty chunk
 * of file name after line lineno.  NULL when the writer has stopped.
 */
static struct chunk *
acquire(struct par *P, const char *name, unsigned long lineno)
{
	struct chunk *c;

	pthread_mutex_lock(&P->mu);
	while (P->nfill - P->nemit >= P->nslot && !P->wdone) {
		P->rwait = 1;
		pthread_cond_wait(&P->cv_free, &P->mu);
	}
	P->rwait = 0;
	c = P->wdone ? NULL : &P->slot[P->nfill % P->nslot];
	pthread_mutex_unlock(&P->mu);
	if (c == NULL)
		return NULL;
	trim(&c->data, &c->cap, SLOT_DATA);	/* the home's cap: kept */
	trim(&c->oc.out, &c->oc.outcap, 4 * CHUNK_SIZE);
	trim(&c->oc.err, &c->oc.errcap, 4 * CHUNK_SIZE);
	trim(&c->rej, &c->rejcap, 4 * CHUNK_SIZE);
	if (c->capends > 65536) {
		free(c->ends);
		c->ends = NULL;
		c->capends = 0;
	}
	c->nends = 0;
	if (c->capmarks > 65536) {
		free(c->marks);
		free(c->res);
		c->marks = NULL;
		c->res = NULL;
		c->capmarks = 0;
	}
	c->file = name;
	c->lineno = lineno;
	c->len = c->skip = c->err0 = 0;
	c->rej_nl = 0;
	c->oc.outlen = c->oc.errlen = c->rejlen = c->nmarks = 0;
	c->bad = 0;
	c->verdict = GO_ON;
	return c;
}

/* Hand the chunk the reader filled to the workers. */
static void
dispatch(struct par *P, struct chunk *c)
{
	int idle;

	pthread_mutex_lock(&P->mu);
	c->seq = P->nfill++;
	c->done = 0;
	idle = P->nidle > 0;
	pthread_mutex_unlock(&P->mu);
	if (idle)
		pthread_cond_signal(&P->cv_work);
}

/* Ask the writer to flush stdout once what was dispatched is written. */
static void
request_flush(struct par *P)
{
	pthread_mutex_lock(&P->mu);
	P->flush_req = 1;
	P->flush_at = P->nfill;
	pthread_cond_signal(&P->cv_done);
	pthread_mutex_unlock(&P->mu);
}

/*
 * Make room for need bytes of data in c: the slot's home in the slab, or
 * the heap past it (or without a slab).  Returns 0 or -1.
 */
static int
chunk_room(struct chunk *c, size_t need)
{
	size_t ncap = c->cap != 0 ? c->cap : CHUNK_SIZE;
	char *p;

	if (need <= c->cap)
		return 0;
	if (c->cap == 0 && c->home != NULL && need <= SLOT_DATA) {
		c->data = c->home;
		c->cap = SLOT_DATA;
		return 0;
	}
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -1;
		ncap *= 2;
	}
	if (c->home != NULL && c->data == c->home) {
		if ((p = malloc(ncap)) == NULL)
			return -1;
		memcpy(p, c->data, c->len);
	} else if ((p = realloc(c->data, ncap)) == NULL)
		return -1;
	c->data = p;
	c->cap = ncap;
	return 0;
}

/* Put the reader's diagnostic err in chunk c, before its lines. */
static void
chunk_diag(struct chunk *c, const struct ev_err *err)
{
	ev_out_capture(&c->oc);
	ev_diag(err);
	ev_out_capture(NULL);
	c->err0 = c->oc.errlen;
}

/*
 * Report err in input order, in a chunk of its own: a bad file (verdict
 * GO_ON, the run is bad) or a fatal error (FATAL).  Returns the verdict,
 * or STOP when the writer has stopped.
 */
static int
note(struct par *P, struct ev_err *err, int verdict)
{
	struct chunk *c = acquire(P, NULL, 0);

	if (c == NULL)
		return STOP;
	chunk_diag(c, err);
	c->bad = verdict == GO_ON;
	c->verdict = verdict;
	dispatch(P, c);
	return verdict;
}

/* Out of memory in the reader: the chunk being filled says so, fatally. */
static int
rd_oom(struct rd *d)
{
	struct ev_err err;

	ev_err_clear(&err);
	ev_err_set(&err, "out of memory");
	d->c->len = d->c->skip = 0;
	chunk_diag(d->c, &err);
	d->c->verdict = FATAL;
	dispatch(d->P, d->c);
	return FATAL;
}

/*
 * Dispatch the complete lines of the chunk being filled and carry its
 * partial line over to a new one.
 */
static int
rd_next(struct rd *d)
{
	struct chunk *c = d->c, *n;
	size_t tail = c->len - d->start;

	c->len = d->start;
	dispatch(d->P, c);
	d->lineno += d->nlines;
	d->nlines = 0;
	if ((n = acquire(d->P, d->name, d->lineno)) == NULL)
		return STOP;
	d->c = n;
	if (chunk_room(n, tail + CHUNK_READ) != 0)
		return rd_oom(d);
	/* The old slot is reused only after the reader acquires it again. */
	if (tail > 0)
		memcpy(n->data, c->data + d->start, tail);
	n->len = tail;
	d->start = 0;
	d->scan = tail;
	return GO_ON;
}

/*
 * The partial line has grown past the limit: dispatch the lines before
 * it, then a chunk with the diagnostic and (for the reject file) the bytes
 * so far, and discard the rest of the line as it comes.
 */
static int
rd_long(struct rd *d)
{
	struct loop *L = d->P->L;
	struct ev_err err;
	struct chunk *c;
	int r;

	if (d->start > 0 && (r = rd_next(d)) != GO_ON)
		return r;
	c = d->c;
	ev_rd_too_long(L, &err, d->name, ++d->lineno);
	chunk_diag(c, &err);
	c->bad = 1;
	if (L->rej != NULL)
		c->skip = c->len;
	else
		c->len = 0;
	dispatch(d->P, c);
	if ((d->c = acquire(d->P, d->name, d->lineno)) == NULL)
		return STOP;
	d->discarding = 1;
	d->start = d->scan = 0;
	return GO_ON;
}

/*
 * Record the newlines of c->data[d->scan..c->len) in c->ends, the ends of
 * the complete lines the workers run through; d->start goes past the last.
 */
static int
find_ends(struct rd *d, struct chunk *c)
{
	const char *p = c->data + d->scan, *end = c->data + c->len, *nl;
	size_t ncap, *q;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (c->nends == c->capends) {
			ncap = c->capends != 0 ? c->capends * 2 : 4096;
			if ((q = realloc(c->ends, ncap * sizeof(*q))) == NULL)
				return rd_oom(d);
			c->ends = q;
			c->capends = ncap;
		}
		c->ends[c->nends++] = (size_t)(nl - c->data);
		p = nl + 1;
	}
	d->nlines = c->nends;
	if (c->nends > 0)
		d->start = c->ends[c->nends - 1] + 1;
	return GO_ON;
}

/*
 * Look at the bytes read into the chunk since last time: finish a line
 * being discarded, count complete lines, catch a line that grows too long,
 * and dispatch the chunk once it is full.
 */
static int
rd_scan(struct rd *d)
{
	struct loop *L = d->P->L;
	struct chunk *c = d->c;
	char *nl = NULL;
	int r;

	if (d->discarding) {
		if (d->scan < c->len)
			nl = memchr(c->data + d->scan, '\n', c->len - d->scan);
		if (nl == NULL) {
			if (L->rej == NULL)
				c->len = 0;
			else if (c->cap - c->len < CHUNK_READ) {
				c->skip = c->len;
				dispatch(d->P, c);
				c = d->c = acquire(d->P, d->name, d->lineno);
				if (c == NULL)
					return STOP;
			}
			d->scan = c->len;
			return GO_ON;
		}
		c->skip = d->start = d->scan = (size_t)(nl - c->data) + 1;
		d->discarding = 0;
	}
	if (d->scan < c->len && (r = find_ends(d, c)) != GO_ON)
		return r;
	d->scan = c->len;
	if (c->len - d->start > L->max_line + 1)
		return rd_long(d);
	if (d->start > 0 &&
	    (c->cap - c->len < CHUNK_READ || d->start >= CHUNK_SIZE))
		return rd_next(d);
	return GO_ON;
}

/*
 * The reader: cut an operand's input into chunks for the workers, one
 * read(2) at a time (rd_once()), run by whichever worker finds no chunk to
 * take (rd_step()), so that the bytes a read copies are scanned on the CPU
 * whose cache holds them.  A pipe or terminal (streaming) has what was
 * read so far dispatched, and standard output flushed once it is written,
 * whenever the next read would block; the wait ends with a cut or a stop
 * signal.  A byte order mark at the start is dropped.
 */

/* Start reading op: the reader's first chunk.  GO_ON, or STOP. */
static int
rd_begin(struct par *P, struct rdr *R)
{
	memset(&R->d, 0, sizeof(R->d));
	R->d.P = P;
	R->d.name = R->op.name;
	R->bom = 1;
	if ((R->d.c = acquire(P, R->d.name, 0)) == NULL)
		return STOP;
	return GO_ON;
}

/*
 * The last chunk of the operand after the last read: nr (0 at the end of
 * the input, -1 on an error, errno e) and r (STOPPED or GO_ON).
 */
static int
rd_end(struct par *P, struct rdr *R, ssize_t nr, int e, int r)
{
	struct rd *d = &R->d;
	struct ev_err err;

	if (r == STOPPED) {
		/* Lines complete so far are written; the partial one is not. */
		if (!d->discarding)
			d->c->len = d->start;
		else
			d->c->len = d->c->skip = 0;
		dispatch(P, d->c);
		return STOPPED;
	}
	/* What is left: a line being discarded, or the last line. */
	if (d->discarding) {
		if (P->L->rej == NULL)
			d->c->len = 0;
		d->c->skip = d->c->len;
		d->c->rej_nl = nr == 0 && P->L->rej != NULL;
	} else if (nr < 0)
		d->c->len = d->start;
	dispatch(P, d->c);
	if (nr < 0) {
		ev_rd_file_error(&err, d->name, e);
		return note(P, &err, GO_ON);
	}
	return GO_ON;
}

/*
 * One step of reading the operand: look at what was read, then read(2)
 * once.  MORE while the operand goes on; else what became of it (GO_ON at
 * its end, STOP, STOPPED, FATAL).
 */
static int
rd_once(struct par *P, struct rdr *R)
{
	struct rd *d = &R->d;
	const struct operand *op = &R->op;
	ssize_t nr;
	int r, e;

	if ((r = rd_scan(d)) != GO_ON)
		return r;
	if (op->streaming && ev_rd_wait(op->fd, P->wake[0], 0) != GO_ON) {
		if (!d->discarding && d->start > 0 && (r = rd_next(d)) != GO_ON)
			return r;
		request_flush(P);
		/*
		 * Not in read(2): "tail -f | tool -q" must end, and so must a
		 * blocked read on a stop signal.
		 */
		r = ev_rd_wait(op->fd, P->wake[0], -1);
		if (r == STOP)
			return STOP;
		if (r == STOPPED)
			return rd_end(P, R, -1, errno, STOPPED);
	}
	if (halted(P))
		return STOP;
	if (chunk_room(d->c, d->c->len + CHUNK_READ) != 0)
		return rd_oom(d);
	nr = ev_rd_read(op->fd, d->c->data + d->c->len,
	    d->c->cap - d->c->len);
	e = errno;
	if (nr < 0 && ev_stop_signal() != 0)
		return rd_end(P, R, nr, e, STOPPED);
	if (nr > 0)
		d->c->len += (size_t)nr;
	if (R->bom && (r = ev_rd_bom(d->c->data, d->c->len, nr == 0)) >= 0) {
		R->bom = 0;
		if (r > 0) {
			d->c->len -= (size_t)r;
			memmove(d->c->data, d->c->data + r, d->c->len);
			/* Found again from the start, if any were. */
			d->c->nends = 0;
			d->nlines = 0;
			d->start = d->scan = 0;
		}
	}
	if (nr > 0)
		return MORE;
	return rd_end(P, R, nr, e, GO_ON);
}

/*
 * Open the next operand, reporting a bad one in input order.  MORE when
 * there is one to read; GO_ON when there is none left, or STOP, STOPPED
 * or FATAL.
 */
static int
rd_open_next(struct par *P, struct rdr *R)
{
	struct ev_err err;
	int r;

	for (;;) {
		if (R->next >= R->nfiles || halted(P))
			return GO_ON;
		if (ev_stop_signal() != 0)
			return STOPPED;
		r = ev_rd_open(P->L, R->files[R->next++], &R->op, &err);
		if (r == BAD_FILE) {
			if ((r = note(P, &err, GO_ON)) != GO_ON)
				return r;
			continue;
		}
		if (r != GO_ON)
			return r;
		if ((r = rd_begin(P, R)) != GO_ON) {
			ev_rd_close(&R->op);
			return r;
		}
		R->open = 1;
		return MORE;
	}
}

/*
 * The reader's turn, taken by a worker: read until a chunk is dispatched
 * or the input is done (R->done, with R->res what became of it).
 */
static void
rd_step(struct par *P)
{
	struct rdr *R = &P->rdr;
	unsigned long n0 = P->nfill;	/* only the reader dispatches */
	int r;

	while (!R->done && P->nfill == n0) {
		if (!R->open)
			r = rd_open_next(P, R);
		else if ((r = rd_once(P, R)) != MORE) {
			ev_rd_close(&R->op);
			R->open = 0;
			if (r == GO_ON)
				continue;
		}
		if (r != MORE) {
			R->done = 1;
			R->res = r;
		}
	}
}

/* Out of memory in a worker: the chunk ends the run there. */
static int
chunk_oom(struct par *P, struct chunk *c)
{
	ev_warnx("out of memory");
	c->verdict = FATAL;
	set_cut(P, c->seq);
	return FATAL;
}

/* A worker's reject file: the raw bytes of a chunk's bad lines. */
static int
chunk_reject(void *arg, const char *p, size_t n)
{
	struct chunk *c = arg;
	size_t ncap;
	char *q;

	if (c->rejcap - c->rejlen < n) {
		ncap = c->rejcap != 0 ? c->rejcap : 4096;
		while (ncap - c->rejlen < n)
			ncap *= 2;
		if ((q = realloc(c->rej, ncap)) == NULL) {
			ev_warnx("out of memory");
			return FATAL;
		}
		c->rej = q;
		c->rejcap = ncap;
	}
	memcpy(c->rej + c->rejlen, p, n);
	c->rejlen += n;
	return GO_ON;
}

/* No reject file: nothing to keep. */
static int
no_reject(void *arg, const char *p, size_t n)
{
	return GO_ON;
}

/*
 * Make room for one more mark and its result; the result is zeroed.
 * Returns 0 or -1.
 */
static int
mark_room(struct par *P, struct chunk *c)
{
	size_t rs = P->L->result_size, ncap;
	struct mark *m;
	char *q;

	if (c->nmarks == c->capmarks) {
		ncap = c->capmarks != 0 ? c->capmarks * 2 : 64;
		if ((m = realloc(c->marks, ncap * sizeof(*m))) == NULL)
			return -1;
		c->marks = m;
		if (rs > 0) {
			if ((q = realloc(c->res, ncap * rs)) == NULL)
				return -1;
			c->res = q;
		}
		c->capmarks = ncap;
	}
	if (rs > 0)
		memset(c->res + c->nmarks * rs, 0, rs);
	return 0;
}

/* Line lineno of chunk c, p[0..n) as read, through the line policy. */
static int
chunk_line(struct par *P, struct chunk *c, struct worker *w,
    unsigned long lineno, const char *p, size_t n)
{
	struct loop *L = P->L;
	struct ev_rd_to to;
	size_t rej0 = c->rejlen;
	struct mark *m;
	void *result = NULL;
	int r, next;

	to.rej = L->rej != NULL ? chunk_reject : no_reject;
	to.arg = c;
	to.bad = &c->bad;
	if (L->order != NULL || L->rej != NULL) {
		if (mark_room(P, c) != 0)
			return chunk_oom(P, c);
		if (L->order != NULL && L->result_size > 0)
			result = c->res + c->nmarks * L->result_size;
	}
	r = ev_rd_line(L, w->wctx, c->file, lineno, p, n, result, &to, &w->err,
	    &next);
	if (c->rejlen > rej0 || (r == GO_ON && next && L->order != NULL)) {
		m = &c->marks[c->nmarks++];
		m->out = c->oc.outlen;
		m->err = c->oc.errlen;
		m->rej = c->rejlen;
		m->kind = c->rejlen > rej0 ? MARK_BAD : MARK_HOOK;
		m->lineno = lineno;
		m->off = (size_t)(p - c->data);
		m->len = n;
	}
	if (r != GO_ON) {
		c->verdict = r;
		set_cut(P, c->seq);
	}
	return r;
}

/* Run the lines of chunk c through the tool, capturing what they print. */
static void
chunk_run(struct par *P, struct chunk *c, struct worker *w)
{
	const char *p, *end, *nl;
	unsigned long lineno = c->lineno;
	size_t n, i = 0;

	if (c->len <= c->skip)
		return;
	p = c->data + c->skip;
	end = c->data + c->len;
	ev_out_capture(&c->oc);
	while (p < end) {
		/* The reader found the newlines; the last line may lack one. */
		nl = i < c->nends ? c->data + c->ends[i++] : NULL;
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (chunk_line(P, c, w, ++lineno, p, n) != GO_ON ||
		    nl == NULL)
			break;
		p = nl + 1;
		/* Later output would not be written anyway. */
		if (atomic_load_explicit(&P->cut, memory_order_relaxed) <
			c->seq ||
		    ev_out_closed())
			break;
	}
	ev_out_capture(NULL);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct par *P = w->P;
	struct chunk *c;

	int wake = 0;

	/* Signals go out after unlocking, not to wake into a held lock. */
	pthread_mutex_lock(&P->mu);
	for (;;) {
		while (P->ntake == P->nfill && !P->finished) {
			if (wake) {
				pthread_mutex_unlock(&P->mu);
				pthread_cond_signal(&P->cv_done);
				wake = 0;
				pthread_mutex_lock(&P->mu);
				continue;
			}
			if (!P->reading) {
				/* No chunk to take: read one. */
				P->reading = 1;
				pthread_mutex_unlock(&P->mu);
				rd_step(P);
				pthread_mutex_lock(&P->mu);
				P->reading = 0;
				if (P->rdr.done) {
					P->finished = 1;
					pthread_cond_broadcast(&P->cv_work);
					pthread_cond_broadcast(&P->cv_done);
				} else if (P->nidle > 0) {
					pthread_cond_signal(&P->cv_work);
				}
				continue;
			}
			P->nidle++;
			pthread_cond_wait(&P->cv_work, &P->mu);
			P->nidle--;
		}
		if (P->ntake == P->nfill)
			break;
		c = &P->slot[P->ntake++ % P->nslot];
		pthread_mutex_unlock(&P->mu);
		if (wake)
			pthread_cond_signal(&P->cv_done);
		if (c->seq <= atomic_load(&P->cut) && !ev_out_closed())
			chunk_run(P, c, w);
		pthread_mutex_lock(&P->mu);
		c->done = 1;
		wake = c->seq == P->nemit;
	}
	pthread_mutex_unlock(&P->mu);
	if (wake)
		pthread_cond_signal(&P->cv_done);
	return NULL;
}

/* Write c's output bytes [from, to) and diagnostic bytes [efrom, eto). */
static void
emit_part(const struct chunk *c, size_t from, size_t to, size_t efrom,
    size_t eto)
{
	if (to > from)
		ev_out_write(c->oc.out + from, to - from);
	if (eto > efrom)
		fwrite(c->oc.err + efrom, 1, eto - efrom, stderr);
}

/*
 * Write chunk c out: stdout through the ev_out buffer, stderr, and the
 * reject file, bad line by bad line, so that a failing reject write stops
 * at the same line as in a serial run.  Returns the chunk's verdict, or
 * FATAL.
 */
static int
emit(struct par *P, struct chunk *c)
{
	struct loop *L = P->L;
	size_t o = 0, e = c->err0, j = 0, i;
	const struct mark *m;

	int r;

	emit_part(c, 0, 0, 0, c->err0);
	if (L->rej != NULL &&
	    ((c->skip > 0 && ev_rd_reject(L, c->data, c->skip) != GO_ON) ||
		(c->rej_nl && ev_rd_reject(L, "\n", 1) != GO_ON)))
		return FATAL;
	for (i = 0; i < c->nmarks; i++) {
		m = &c->marks[i];
		emit_part(c, o, m->out, e, m->err);
		o = m->out;
		e = m->err;
		if (m->kind == MARK_BAD) {
			if (ev_rd_reject(L, c->rej + j, m->rej - j) != GO_ON)
				return FATAL;
			j = m->rej;
			continue;
		}
		r = ev_rd_order(L, c->file, m->lineno, c->data + m->off,
		    m->len, c->res != NULL ? c->res + i * L->result_size :
		    NULL, &P->to);
		if (r == GO_ON && ev_out_closed())
			r = STOP;
		if (r != GO_ON) {
			if (c->bad)
				L->bad = 1;
			return r;
		}
	}
	emit_part(c, o, c->oc.outlen, e, c->oc.errlen);
	if (c->bad)
		L->bad = 1;
	return c->verdict;
}

/*
 * The writer: chunks in input order, until the reader is done or a chunk
 * stops the run (EV_STOP, a fatal error, stdout closed).
 */
static void *
writer_main(void *arg)
{
	struct par *P = arg;
	struct chunk *c;
	int r;

	pthread_mutex_lock(&P->mu);
	for (;;) {
		c = &P->slot[P->nemit % P->nslot];
		if (P->nemit < P->nfill && c->done) {
			pthread_mutex_unlock(&P->mu);
			r = emit(P, c);
			if (r == GO_ON && ev_out_closed())
				r = STOP;
			pthread_mutex_lock(&P->mu);
			/* Wake the reader to refill half the ring at once. */
			P->nemit++;
			if (P->rwait &&
			    P->nslot - (P->nfill - P->nemit) >= P->nslot / 2)
				pthread_cond_signal(&P->cv_free);
			if (r != GO_ON) {
				if (r == FATAL)
					P->wres = FATAL;
				set_cut(P, c->seq);
				break;
			}
		} else if (P->nemit == P->nfill && P->finished)
			break;
		else if (P->flush_req && P->nemit >= P->flush_at) {
			P->flush_req = 0;
			pthread_mutex_unlock(&P->mu);
			/* The input ran dry: the hook's turn, then stdout's. */
			r = ev_rd_order_idle(P->L);
			ev_out_flush();
			pthread_mutex_lock(&P->mu);
			if (r == GO_ON && ev_out_closed())
				r = STOP;
			if (r != GO_ON) {
				if (r == FATAL)
					P->wres = FATAL;
				set_cut(P, P->nemit);
				break;
			}
		} else
			pthread_cond_wait(&P->cv_done, &P->mu);
	}
	P->wdone = 1;
	pthread_cond_broadcast(&P->cv_free);
	pthread_mutex_unlock(&P->mu);
	return NULL;
}

/* Wait for the threads: the reader's turn ends the run when it is done. */
static void
par_join(struct par *P)
{
	int i;

	for (i = 0; i < P->nwork; i++)
		pthread_join(P->w[i].t, NULL);
	pthread_join(P->writer, NULL);
}

/* Release the workers' contexts and the chunks. */
static void
par_free(struct par *P, const struct ev_input_opts *opts)
{
	struct chunk *c;
	size_t i;
	int k;

	for (k = 0; k < P->nctx; k++)
		if (opts->ctx_free != NULL)
			opts->ctx_free(P->w[k].wctx);
	for (i = 0; P->slot != NULL && i < P->nslot; i++) {
		c = &P->slot[i];
		if (c->data != c->home)
			free(c->data);
		free(c->oc.out);
		free(c->oc.err);
		free(c->rej);
		free(c->marks);
		free(c->res);
		free(c->ends);
	}
	free(P->slot);
	free(P->w);
	free(P->slab);
}

/* The writer's reject file: at once, as serially. */
static int
to_reject(void *arg, const char *p, size_t n)
{
	return ev_rd_reject(arg, p, n);
}

/*
 * Give each slot its input buffer in one slab of huge pages where the
 * kernel has them: under a hypervisor a page fault costs microseconds, and
 * with 4 KiB pages read(2) took one for every 4 KiB a slot first held
 * (evmatch on 176 MB: 1,000 faults, 20% more time).  Without the slab,
 * chunk_room() takes the heap.
 */
static void
slab_init(struct par *P)
{
	size_t i, n;

	n = (P->nslot * SLOT_DATA + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);

	if (posix_memalign(&P->slab, HUGE_PAGE, n) != 0) {
		P->slab = NULL;
		return;
	}
#ifdef MADV_HUGEPAGE
	(void)madvise(P->slab, n, MADV_HUGEPAGE);
#endif
	for (i = 0; i < P->nslot; i++)
		P->slot[i].home = (char *)P->slab + i * SLOT_DATA;
}

/*
 * Read the operands in parallel mode.  Returns GO_ON, STOP, STOPPED (what
 * was read is written) or FATAL, or NO_THREADS, having read nothing, when
 * fewer than two workers (a context and a thread each) could be made.
 */
int
ev_par_loop(struct loop *L, char *const *files, int nfiles,
    const struct ev_input_opts *opts, void *ctx, int jobs)
{
	struct par P;
	int r;

	memset(&P, 0, sizeof(P));
	P.L = L;
	P.to.rej = to_reject;
	P.to.arg = L;
	P.to.bad = &L->bad;
	P.nslot = 2 * (size_t)jobs + 2;
	P.rdr.files = files;
	P.rdr.nfiles = nfiles;
	atomic_init(&P.cut, ULONG_MAX);
	P.slot = calloc(P.nslot, sizeof(*P.slot));
	P.w = calloc((size_t)jobs, sizeof(*P.w));
	if (P.slot == NULL || P.w == NULL ||
	    pipe2(P.wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		free(P.slot);
		free(P.w);
		return NO_THREADS;
	}
	slab_init(&P);
	for (; P.nctx < jobs; P.nctx++) {
		P.w[P.nctx].P = &P;
		if ((P.w[P.nctx].wctx = opts->ctx_new(ctx)) == NULL)
			break;
	}
	pthread_mutex_init(&P.mu, NULL);
	pthread_cond_init(&P.cv_free, NULL);
	pthread_cond_init(&P.cv_work, NULL);
	pthread_cond_init(&P.cv_done, NULL);
	/*
	 * The workers wait until all have started: with fewer than two, one
	 * waiting for input in the reader's turn would hold back the chunks
	 * read before, so the run goes serially.
	 */
	P.reading = 1;
	if (P.nctx > 0 &&
	    pthread_create(&P.writer, NULL, writer_main, &P) == 0) {
		while (P.nwork < P.nctx &&
		    pthread_create(&P.w[P.nwork].t, NULL, worker_main,
			&P.w[P.nwork]) == 0)
			P.nwork++;
		pthread_mutex_lock(&P.mu);
		if (P.nwork < 2)
			P.finished = 1;
		P.reading = 0;
		pthread_cond_broadcast(&P.cv_work);
		pthread_cond_broadcast(&P.cv_done);
		pthread_mutex_unlock(&P.mu);
		par_join(&P);
		r = P.rdr.res;
		if (P.nwork < 2)
			r = NO_THREADS;
		else if (P.wres == FATAL || r != STOPPED)
			r = P.wres;
	} else
		r = NO_THREADS;
	pthread_cond_destroy(&P.cv_done);
	pthread_cond_destroy(&P.cv_work);
	pthread_cond_destroy(&P.cv_free);
	pthread_mutex_destroy(&P.mu);
	close(P.wake[0]);
	close(P.wake[1]);
	par_free(&P, opts);
	return r;
}
