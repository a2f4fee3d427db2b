/*
 * persist.c - long-running handlers (evretry(1), PROTOCOL): each reads
 * events, one line each, on its stdin and answers one line per event in
 * order, many in flight; written and read in big batches, one buffer
 * each way.  An answer with the EV_SCHED_ERROR_MEMBER member is a named
 * failure; a handler that ends, times out or breaks the protocol is
 * killed and its events failed, retried or sent again.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sched_int.h"

/*
 * The end of the input for handler w: it may finish what it does (up to
 * CLOSE_GRACE_MS of real time, its output going nowhere) before it is
 * killed.
 */
void
ev_worker_end(struct worker *w)
{
	int64_t end = ev_sched_mono() + CLOSE_GRACE_MS, now;
	struct pollfd p;
	char b[4096];

	ev_sched_close(&w->fd[0]);
	while (w->pid > 0 && w->fd[1] >= 0 && (now = ev_sched_mono()) < end) {
		p.fd = w->fd[1];
		p.events = POLLIN;
		if (poll(&p, 1, (int)(end - now)) < 0 && errno != EINTR)
			break;
		if (read(w->fd[1], b, sizeof(b)) == 0)
			break;
	}
}

/* The handler with the fewest events in flight and room for one more. */
struct worker *
ev_worker_slot(struct ev_sched *s)
{
	struct worker *w, *best = NULL;
	int i;

	for (i = 0; i < s->nw; i++) {
		w = &s->w[i];
		if (w->count >= (size_t)s->o.inflight ||
		    w->wb.len - w->woff >= INPUT_MAX ||
		    (w->pid > 0 && (w->fd[0] < 0 || w->eof_at != 0)))
			continue;
		if (best == NULL || w->count < best->count)
			best = w;
	}
	return best;
}

struct task *
ev_worker_pop(struct ev_sched *s, struct worker *w)
{
	struct task *k = w->fifo[w->head];

	w->head = (w->head + 1) % (size_t)s->o.inflight;
	w->count--;
	k->w = NULL;
	return k;
}

/* Kill handler w's process group, collect it (unless reaped), forget it. */
void
ev_worker_reset(struct worker *w, int reaped)
{
	int i;

	if (w->pid > 0) {
		kill(-w->pid, SIGKILL);
		while (!reaped && waitpid(w->pid, NULL, 0) < 0 &&
		    errno == EINTR)
			;
	}
	w->pid = 0;
	for (i = 0; i < 3; i++)
		ev_sched_close(&w->fd[i]);
	w->wb.len = w->woff = 0;
	w->rb.len = 0;
	w->head = w->count = 0;
	w->err.len = w->err.pos = 0;
	w->deadline = 0;
	w->eof_at = 0;
}

/* Write what w's input buffer holds; drop what is written. */
void
ev_worker_flush(struct worker *w)
{
	ev_sched_feed(&w->fd[0], &w->wb, &w->woff, 0);
	if (w->woff == w->wb.len) {
		w->wb.len = w->woff = 0;
	} else if (w->woff >= w->wb.len / 2) {
		memmove(w->wb.p, w->wb.p + w->woff, w->wb.len - w->woff);
		w->wb.len -= w->woff;
		w->woff = 0;
	}
}

/* Send k down handler w, starting it when none runs.  0 or -1 (err). */
int
ev_worker_assign(struct ev_sched *s, struct worker *w, struct task *k,
    int64_t now, struct ev_err *err)
{
	int r;

	if (w->pid == 0) {
		r = ev_sched_exec(s, 1, NULL, NULL, &w->pid, w->fd, err);
		if (r < 0)
			return -1;
		if (r > 0) {
			w->pid = 0;
			ev_sched_attempt(k, now);
			memset(&k->t.out, 0, sizeof(k->t.out));
			k->t.out.run = EV_RUN_NOEXEC;
			k->t.out.errnum = r;
			ev_sched_settle(s, k, NULL, NULL, 0);
			return 0;
		}
		/* fewer, bigger reads and writes; best effort */
		fcntl(w->fd[0], F_SETPIPE_SZ, 1 << 20);
		fcntl(w->fd[1], F_SETPIPE_SZ, 1 << 20);
	}
	if (ev_sched_room(&w->wb, k->evlen + 1) < 0) {
		ev_err_set(err, "out of memory");
		return -1;
	}
	memcpy(w->wb.p + w->wb.len, k->ev, k->evlen);
	w->wb.p[w->wb.len + k->evlen] = '\n';
	w->wb.len += k->evlen + 1;
	w->fifo[(w->head + w->count) % (size_t)s->o.inflight] = k;
	if (w->count++ == 0)
		w->deadline = s->o.timeout_ms > 0 ?
		    ev_sched_clk() + s->o.timeout_ms : 0;
	ev_sched_attempt(k, now);
	k->out.len = 0;
	k->st = T_RUN;
	k->w = w;
	s->running++;
	return 0;
}

/* The oldest event in flight on w got its answer line[0..n). */
static int
answer(struct ev_sched *s, struct worker *w, const char *line, size_t n,
    struct ev_err *err)
{
	static const char member[] = "\"" EV_SCHED_ERROR_MEMBER "\"";
	struct ev_span v[3];
	struct ev_err e;
	struct task *k = ev_worker_pop(s, w);
	const char *cause = NULL;
	size_t clen = 0, nl;

	memset(&k->t.out, 0, sizeof(k->t.out));
	k->out.len = 0;
	if (memmem(line, n, member, sizeof(member) - 1) != NULL &&
	    ev_paths_get(s->answer, line, n, v, &e) > 0 && v[0].p != NULL) {
		k->t.out.run = EV_RUN_ANSWER;
		if (v[1].p != NULL && v[1].len >= 2 && v[1].p[0] == '"') {
			nl = v[1].len - 2;
			if (nl > sizeof(k->t.name) - 1)
				nl = sizeof(k->t.name) - 1;
			memcpy(k->t.name, v[1].p + 1, nl);
			k->t.name[nl] = '\0';
		} else
			snprintf(k->t.name, sizeof(k->t.name), "%s",
			    "States.TaskFailed");
		if ((cause = v[2].p) != NULL) {
			clen = v[2].len;
			if (clen >= 2 && cause[0] == '"')
				cause++, clen -= 2;
		}
	} else if (n > 0 && (ev_buf_add(&k->out, line, n) < 0 ||
	    ev_buf_add(&k->out, "\n", 1) < 0)) {
		ev_err_set(err, "out of memory");
		return -1;
	}
	s->running--;
	ev_sched_settle(s, k, NULL, cause, clen);
	w->deadline = w->count > 0 && s->o.timeout_ms > 0 ?
	    ev_sched_clk() + s->o.timeout_ms : 0;
	return 0;
}

/* Read w's answers; at end of file note when. */
int
ev_worker_read(struct ev_sched *s, struct worker *w, struct ev_err *err)
{
	char *p, *q, *nl, *end;
	ssize_t n;

	for (;;) {
		if (ev_sched_room(&w->rb, READ_CHUNK) < 0) {
			ev_err_set(err, "out of memory");
			return -1;
		}
		n = read(w->fd[1], w->rb.p + w->rb.len, w->rb.cap - w->rb.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			/* a last line without its newline is no answer */
			ev_sched_close(&w->fd[1]);
			ev_sched_close(&w->fd[0]);
			w->eof_at = ev_sched_clk();
			return 0;
		}
		p = w->rb.p;
		q = p + w->rb.len;
		w->rb.len += (size_t)n;
		end = p + w->rb.len;
		while ((nl = memchr(q, '\n', (size_t)(end - q))) != NULL) {
			if (w->count == 0) {
				if (s->o.note != NULL)
					s->o.note(s->ctx, "handler answered "
					    "more lines than it was sent "
					    "events: restarted");
				ev_worker_reset(w, 0);
				return 0;
			}
			if (answer(s, w, p, (size_t)(nl - p), err) < 0)
				return -1;
			p = q = nl + 1;
		}
		w->rb.len = (size_t)(end - p);
		memmove(w->rb.p, p, w->rb.len);
		if (w->rb.len > ANSWER_MAX) {
			if (s->o.note != NULL)
				s->o.note(s->ctx, "handler answered a line "
				    "longer than 64 MiB: killed");
			kill(-w->pid, SIGKILL);
			ev_sched_close(&w->fd[1]);
			ev_sched_close(&w->fd[0]);
			w->rb.len = 0;
			w->eof_at = ev_sched_clk();
			return 0;
		}
	}
}

void
ev_worker_stderr(struct worker *w)
{
	char b[65536];
	ssize_t n;

	while (w->fd[2] >= 0) {
		n = read(w->fd[2], b, sizeof(b));
		if (n > 0)
			ev_sched_tail(&w->err, b, (size_t)n);
		else if (n < 0 && errno == EINTR)
			continue;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		else
			ev_sched_close(&w->fd[2]);
	}
}

/*
 * Handler w's timeout, exit or closed output: the oldest event in flight
 * times out (the rest go back to wait, not counted), or every event in
 * flight fails with how it ended (a handler that closed its output and
 * has not exited CLOSE_GRACE_MS later is killed: Signal.KILL).
 */
int
ev_worker_check(struct ev_sched *s, struct worker *w, struct ev_err *err)
{
	struct ev_outcome o;
	struct task *k;
	int st = 0;
	pid_t r;

	if (w->pid == 0)
		return 0;
	if (w->count > 0 && w->deadline != 0 && ev_sched_clk() >= w->deadline) {
		kill(-w->pid, SIGKILL);
		ev_worker_stderr(w);
		k = ev_worker_pop(s, w);
		memset(&k->t.out, 0, sizeof(k->t.out));
		k->t.out.run = EV_RUN_TIMEOUT;
		s->running--;
		ev_sched_settle(s, k, &w->err, NULL, 0);
		while (w->count > 0)
			ev_sched_unattempt(s, ev_worker_pop(s, w));
		ev_worker_reset(w, 0);
		return 0;
	}
	do
		r = waitpid(w->pid, &st, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0 && w->eof_at != 0 &&
	    ev_sched_clk() - w->eof_at >= CLOSE_GRACE_MS) {
		kill(-w->pid, SIGKILL);
		do
			r = waitpid(w->pid, &st, 0);
		while (r < 0 && errno == EINTR);
	}
	if (r == 0)
		return 0;
	if (r < 0)
		st = SIGKILL;	/* a wait status: killed */
	/* it ended: the answers still in the pipe count */
	if (w->fd[1] >= 0 && ev_worker_read(s, w, err) < 0)
		return -1;
	if (w->pid == 0)
		return 0;
	ev_worker_stderr(w);
	ev_sched_outcome(&o, st);
	if (o.run == EV_RUN_OK)
		o.run = EV_RUN_EXIT;	/* Exit.0: it did not answer */
	while (w->count > 0) {
		k = ev_worker_pop(s, w);
		k->t.out = o;
		k->out.len = 0;
		s->running--;
		ev_sched_settle(s, k, &w->err, NULL, 0);
	}
	ev_worker_reset(w, 1);
	return 0;
}
