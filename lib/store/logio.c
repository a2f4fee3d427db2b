/*
 * logio.c - evstore's streams over the event log (store.h's ev_log_*):
 * group commit for append, replays, the receive loop and its envelope,
 * dead letters as lines, and settling received lines.  Backend-neutral:
 * everything here goes through ev_log_* and ev_db_*.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json/json.h"
#include "store_int.h"

/* Events per replay query; the poll interval of --follow (ms). */
#define READ_CHUNK 4096
#define FOLLOW_MS 100
/* How long past --until a replay still waits for commits in progress. */
#define UNTIL_GRACE_MS 1000

static int
oom(struct ev_err *err)
{
	ev_err_set(err, "out of memory");
	return -1;
}

/* ------------------------------------------------------- group commit */

struct ev_log_writer {
	struct ev_db *db;
	struct ev_sink *out;
	struct ev_log_batch b;
	struct ev_buf pending;	/* added, not yet committed */
	int64_t n, start;
};

struct ev_log_writer *
ev_log_writer_new(struct ev_db *db, struct ev_sink *out,
    const struct ev_log_batch *b)
{
	struct ev_log_writer *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->db = db;
	w->out = out;
	if (b != NULL)
		w->b = *b;
	if (w->b.max_events <= 0)
		w->b.max_events = EV_LOG_BATCH_EVENTS;
	if (w->b.max_bytes <= 0)
		w->b.max_bytes = EV_LOG_BATCH_BYTES;
	if (w->b.max_ms <= 0)
		w->b.max_ms = EV_LOG_BATCH_MS;
	return w;
}

int
ev_log_writer_add(struct ev_log_writer *w, const char *data, size_t len,
    struct ev_err *err)
{
	int64_t now, seq;

	if (!ev_db_in_tx(w->db) && ev_db_begin(w->db, err) < 0)
		return -1;
	/* Taken inside the transaction: ingest times follow commit order. */
	now = ev_now_ms();
	if (w->n == 0)
		w->start = now;
	if (ev_log_append(w->db, data, len, now, &seq, err) < 0)
		return -1;
	if (ev_buf_add(&w->pending, data, len) < 0 ||
	    ev_buf_add(&w->pending, "\n", 1) < 0)
		return oom(err);
	if (++w->n >= w->b.max_events ||
	    (int64_t)w->pending.len >= w->b.max_bytes ||
	    now - w->start >= w->b.max_ms)
		return ev_log_writer_flush(w, err);
	return 0;
}

int
ev_log_writer_flush(struct ev_log_writer *w, struct ev_err *err)
{
	if (!ev_db_in_tx(w->db))
		return 0;
	if (w->b.retention > 0 && ev_log_prune(w->db,
	    ev_now_ms() - w->b.retention, -1, err) < 0)
		return -1;
	if (ev_db_commit(w->db, err) < 0)
		return -1;
	/* Durable now: hand it on. */
	ev_sink_write(w->out, w->pending.p, w->pending.len);
	w->pending.len = 0;
	w->n = 0;
	return 0;
}

void
ev_log_writer_free(struct ev_log_writer *w)
{
	if (w == NULL)
		return;
	ev_db_rollback(w->db);
	ev_buf_free(&w->pending);
	free(w);
}

/* ------------------------------------------------------------- replay */

struct replay {
	const struct ev_log_replay *rp;
	struct ev_sink *out;
	const char *name;	/* JSON-quoted */
	int64_t last, n;
	int past;		/* an event ingested at or after until */
};

/* s as a JSON string (control characters escaped); NULL: out of memory. */
static char *
json_quote(const char *s)
{
	char *q = malloc(strlen(s) * 6 + 3), *p = q;

	if (q == NULL)
		return NULL;
	*p++ = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < 0x20)
			p += sprintf(p, "\\u%04x", c);
		else
			*p++ = (char)c;
	}
	*p++ = '"';
	*p = '\0';
	return q;
}

/* Write ev's bytes, with "replay-name" as the first member when asked. */
static void
put_event(struct replay *r, const struct ev_log_event *ev)
{
	const char *p = ev->data, *e = ev->data + ev->len;

	if (r->name != NULL) {
		while (p < e && *p != '{')
			p++;
	}
	if (r->name == NULL || p == e) {
		ev_sink_line(r->out, ev->data, ev->len);
		return;
	}
	ev_sink_str(r->out, "{\"replay-name\":");
	ev_sink_str(r->out, r->name);
	p++;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	if (p < e && *p != '}')
		ev_sink_write(r->out, ",", 1);
	ev_sink_line(r->out, p, (size_t)(e - p));
}

static int
on_replay(void *ctx, const struct ev_log_event *ev)
{
	struct replay *r = ctx;

	if (ev->ingest >= r->rp->until) {
		/* Ingest times never decrease: nothing later is wanted. */
		r->past = 1;
		return 1;
	}
	r->last = ev->seq;
	if (r->rp->filter != NULL &&
	    !r->rp->filter(r->rp->filter_ctx, ev->data, ev->len))
		return 0;
	r->n++;
	put_event(r, ev);
	return ev_sink_closed(r->out);
}

int64_t
ev_log_replay(struct ev_db *db, const struct ev_log_replay *rp,
    struct ev_sink *out, struct ev_err *err)
{
	struct ev_log_range range = { rp->from, rp->since, INT64_MAX,
	    READ_CHUNK };
	struct replay r = { rp, out, NULL, 0, 0, 0 };
	int64_t n, cur, ret = -1;
	int empty;

	if (rp->name != NULL && (r.name = json_quote(rp->name)) == NULL) {
		oom(err);
		return -1;
	}
	if (rp->consumer != NULL) {
		if (ev_log_cursor_get(db, rp->consumer, &cur, err) < 0)
			goto out;
		if (cur + 1 > range.from)
			range.from = cur + 1;
	}
	for (;;) {
		r.last = 0;
		if ((n = ev_log_read(db, &range, on_replay, &r, err)) < 0)
			goto out;
		if (ev_sink_flush(out) < 0 || ev_sink_closed(out))
			break;
		/* Only now was every event up to r.last written. */
		if (r.last > 0 && rp->consumer != NULL &&
		    ev_log_cursor_set(db, rp->consumer, r.last, err) < 0)
			goto out;
		if (r.last > 0)
			range.from = r.last + 1;
		if (r.past)
			break;
		if (n == READ_CHUNK)
			continue;
		empty = n == 0;
		if (!rp->follow || ev_stop_signal() || (empty &&
		    rp->until != INT64_MAX &&
		    ev_now_ms() >= rp->until + UNTIL_GRACE_MS))
			break;
		ev_sleep_ms(FOLLOW_MS);
		if (ev_stop_signal())
			break;
	}
	ret = r.n;
out:
	free((char *)r.name);
	return ret;
}

/* ------------------------------------------------------------ receive */

int
ev_log_envelope(struct ev_buf *b, const struct ev_log_event *ev)
{
	char head[128];
	int n;

	n = snprintf(head, sizeof(head), "{\"receipt\":\"%" PRId64 ":%"
	    PRId64 ":%s\",\"seq\":%" PRId64 ",\"receives\":%" PRId64
	    ",\"event\":", ev->seq, ev->receives, ev->token, ev->seq,
	    ev->receives);
	if (n < 0 || (size_t)n >= sizeof(head) ||
	    ev_buf_add(b, head, (size_t)n) < 0 ||
	    ev_buf_add(b, ev->data, ev->len) < 0 || ev_buf_add(b, "}\n", 2) < 0)
		return -1;
	return 0;
}

struct recv {
	struct ev_buf b;
	int oom;
};

static int
on_receive(void *ctx, const struct ev_log_event *ev)
{
	struct recv *r = ctx;

	if (ev_log_envelope(&r->b, ev) < 0)
		r->oom = 1;
	return 0;
}

int64_t
ev_log_receive_to(struct ev_db *db, const char *group,
    const struct ev_log_recv *rc, struct ev_sink *out, struct ev_err *err)
{
	struct ev_log_lease l = { 0, rc->visibility, rc->max_receives, 0 };
	struct recv r = { { NULL, 0, 0 }, 0 };
	int64_t n, total = 0, batch = rc->batch > 0 ? rc->batch : 1;

	for (;;) {
		l.max = batch;
		if (rc->max > 0 && rc->max - total < l.max)
			l.max = rc->max - total;
		l.now = ev_now_ms();
		r.b.len = 0;
		if ((n = ev_log_receive(db, group, &l, on_receive, &r,
		    err)) < 0)
			break;
		if (r.oom) {	/* leased, not written: they come back */
			n = oom(err);
			break;
		}
		/* Committed: now the receipts are real.  Hand them on. */
		if (r.b.len > 0)
			ev_sink_write(out, r.b.p, r.b.len);
		if (ev_sink_flush(out) < 0 || ev_sink_closed(out))
			break;
		total += n;
		if ((rc->max > 0 && total >= rc->max) || ev_stop_signal())
			break;
		if (n == 0) {
			if (!rc->follow)
				break;
			ev_sleep_ms(FOLLOW_MS);
			if (ev_stop_signal())
				break;
		}
	}
	ev_buf_free(&r.b);
	return n < 0 ? -1 : total;
}

static int
on_dead(void *ctx, const struct ev_log_event *ev)
{
	struct ev_sink *out = ctx;
	char t[32];

	ev_time_format(ev->dead_at, t, sizeof(t));
	ev_sink_printf(out, "{\"seq\":%" PRId64 ",\"receives\":%" PRId64
	    ",\"reason\":\"%s\",\"time\":\"%s\",\"event\":", ev->seq,
	    ev->receives, ev->reason, t);
	ev_sink_write(out, ev->data, ev->len);
	ev_sink_str(out, "}\n");
	return ev_sink_closed(out);
}

int64_t
ev_log_dead_to(struct ev_db *db, const char *group, struct ev_sink *out,
    struct ev_err *err)
{
	return ev_log_dead(db, group, on_dead, out, err);
}

/* ------------------------------------------------------------- settle */

struct ev_log_acker {
	struct ev_db *db;
	const char *group;
	int nack;
	int64_t batch, n;
	struct ev_path *receipt;
};

struct ev_log_acker *
ev_log_acker_new(struct ev_db *db, const char *group, int nack,
    int64_t batch, struct ev_err *err)
{
	struct ev_log_acker *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		oom(err);
		return NULL;
	}
	a->db = db;
	a->group = group;
	a->nack = nack;
	a->batch = batch > 0 ? batch : 1;
	if ((a->receipt = ev_path_compile("receipt", err)) == NULL) {
		free(a);
		return NULL;
	}
	return a;
}

/*
 * The receipt "SEQ:N:TOKEN" (v[0..vlen), quotes included): 0, or -1 when
 * it is not one.
 */
static int
receipt_parse(const char *v, size_t vlen, int64_t *seq, char tok[17])
{
	char buf[64];
	long long s;
	int n = 0;

	if (vlen < 2 || vlen >= sizeof(buf))
		return -1;
	memcpy(buf, v, vlen);
	buf[vlen] = '\0';
	if (sscanf(buf, "\"%lld:%*d:%16[0-9a-f]\"%n", &s, tok, &n) != 2 ||
	    (size_t)n != vlen || s < 1)
		return -1;
	*seq = s;
	return 0;
}

int
ev_log_acker_line(struct ev_log_acker *a, const char *line, size_t len,
    struct ev_err *err)
{
	const char *v;
	size_t vlen;
	int64_t seq;
	char tok[17];
	int r;

	r = ev_path_get(a->receipt, line, len, &v, &vlen, err);
	if (r < 0)
		return 0;
	if (r == 0 || receipt_parse(v, vlen, &seq, tok) < 0) {
		ev_err_set(err, "no receipt: expected a line that evstore "
		    "receive wrote");
		return 0;
	}
	if (!ev_db_in_tx(a->db) && ev_db_begin(a->db, err) < 0)
		return -1;
	r = a->nack ? ev_log_nack(a->db, a->group, seq, tok, ev_now_ms(),
	    err) : ev_log_ack(a->db, a->group, seq, tok, err);
	if (r < 0)
		return -1;
	if (r == 0) {
		ev_err_set(err, "receipt '%.*s' is not held: the lease "
		    "expired or was completed", (int)(vlen - 2), v + 1);
		return 0;
	}
	if (++a->n >= a->batch && ev_log_acker_flush(a, err) < 0)
		return -1;
	return 1;
}

int
ev_log_acker_flush(struct ev_log_acker *a, struct ev_err *err)
{
	a->n = 0;
	return ev_db_commit(a->db, err);
}

void
ev_log_acker_free(struct ev_log_acker *a)
{
	if (a == NULL)
		return;
	ev_db_rollback(a->db);
	ev_path_free(a->receipt);
	free(a);
}

/* ------------------------------------------------------------- checks */

int
ev_log_check_files(const char *store, char *const *files, int nfiles,
    const char *reject, struct ev_err *err)
{
	struct stat ss, st;
	const char *name;
	int i, std = nfiles == 0;

	if (stat(store, &ss) < 0 || !S_ISREG(ss.st_mode))
		return 0;
	for (i = 0; i <= nfiles; i++) {
		if (i < nfiles && strcmp(files[i], "-") == 0) {
			std = 1;
			continue;
		}
		name = i < nfiles ? files[i] : "<stdin>";
		if (i < nfiles ? stat(name, &st) < 0 : !std ||
		    fstat(0, &st) < 0)
			continue;
		if (st.st_dev == ss.st_dev && st.st_ino == ss.st_ino) {
			err->file = i < nfiles ? files[i] : "<stdin>";
			ev_err_set(err, "input file is also the store");
			return -1;
		}
	}
	if (reject != NULL && stat(reject, &st) == 0 &&
	    st.st_dev == ss.st_dev && st.st_ino == ss.st_ino) {
		err->file = reject;
		ev_err_set(err, "reject file is also the store");
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------- the input loops */

struct ingest {
	struct ev_log_writer *w;
	struct ev_log_acker *a;
	struct ev_path *whole;
	ev_log_keep keep;
	void *keep_ctx;
	int64_t n;
};

/* Is the line an event to store?  For store_line, in ln->result. */
static enum ev_verdict
check_line(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	struct ingest *g = ctx;
	const char *v;
	size_t vlen;
	int r;

	if (g->keep != NULL)
		r = g->keep(g->keep_ctx, ln->buf, ln->len, err);
	else
		r = ev_path_get(g->whole, ln->buf, ln->len, &v, &vlen, err);
	if (r < 0)
		return EV_BAD;
	*(char *)ln->result = r > 0;
	return EV_NEXT;
}

/* In input order: store it; when the input is dry or ends, commit. */
static enum ev_verdict
store_line(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	struct ingest *g = ctx;

	if (ln == NULL)
		return ev_log_writer_flush(g->w, err) < 0 ? EV_FAIL : EV_NEXT;
	if (!*(char *)ln->result)
		return EV_NEXT;
	if (ev_log_writer_add(g->w, ln->buf, ln->len, err) < 0)
		return EV_FAIL;
	g->n++;
	return EV_NEXT;
}

int
ev_log_append_files(struct ev_db *db, char *const *files, int nfiles,
    const struct ev_input_opts *opts, ev_log_keep keep, void *keep_ctx,
    const struct ev_log_batch *b, struct ev_sink *out, int64_t *n,
    struct ev_err *err)
{
	struct ev_input_opts in = *opts;
	struct ingest g = { NULL, NULL, NULL, keep, keep_ctx, 0 };
	int r = -1;

	if (ev_log_check_files(ev_db_name(db), files, nfiles,
	    opts->reject_path, err) < 0)
		return -1;
	in.jobs = 0;
	in.order = store_line;
	in.order_ctx = &g;
	in.result_size = 1;
	if ((g.whole = ev_path_compile("$", err)) == NULL)
		return -1;
	if ((g.w = ev_log_writer_new(db, out, b)) == NULL)
		oom(err);
	else
		r = ev_input_loop(files, nfiles, &in, check_line, &g);
	/* After a failure, nothing unstored is written: drop it. */
	ev_log_writer_free(g.w);
	ev_path_free(g.whole);
	*n = g.n;
	return r;
}

static enum ev_verdict
settle_line(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	struct ingest *g = ctx;
	int r = ev_log_acker_line(g->a, ln->buf, ln->len, err);

	if (r > 0)
		g->n++;
	return r < 0 ? EV_FAIL : r == 0 ? EV_BAD : EV_NEXT;
}

static enum ev_verdict
settle_dry(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	struct ingest *g = ctx;

	if (ln == NULL && ev_log_acker_flush(g->a, err) < 0)
		return EV_FAIL;
	return EV_NEXT;
}

int
ev_log_settle_files(struct ev_db *db, const char *group, int nack,
    char *const *files, int nfiles, const struct ev_input_opts *opts,
    int64_t *n, struct ev_err *err)
{
	struct ev_input_opts in = *opts;
	struct ingest g = { NULL, NULL, NULL, NULL, NULL, 0 };
	int r;

	if (ev_log_check_files(ev_db_name(db), files, nfiles,
	    opts->reject_path, err) < 0)
		return -1;
	in.jobs = 0;
	in.order = settle_dry;
	in.order_ctx = &g;
	if ((g.a = ev_log_acker_new(db, group, nack, EV_LOG_SETTLE_BATCH,
	    err)) == NULL)
		return -1;
	r = ev_input_loop(files, nfiles, &in, settle_line, &g);
	ev_log_acker_free(g.a);
	*n = g.n;
	return r;
}
