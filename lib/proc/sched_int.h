/*
 * sched_int.h - the scheduler's insides, shared by sched.c (tasks, the
 * queue, handlers of their own, the loop) and persist.c (long-running
 * handlers).  Not for the commands: proc.h is the interface.
 */
#ifndef EV_SCHED_INT_H
#define EV_SCHED_INT_H

#include <sys/types.h>

#include "base/base.h"
#include "json/json.h"
#include "proc.h"

/* Under EVKIT_NOW: what runs has been silent this long: advance. */
#define QUIET_MS 1000
/* A persistent handler that closed its stdout has this long to exit. */
#define CLOSE_GRACE_MS 1000
/* What one read(2) of a persistent handler's answers asks for. */
#define READ_CHUNK (256 * 1024)
/* Unwritten input beyond which a persistent handler gets no more events. */
#define INPUT_MAX (4 * 1024 * 1024)
/* The longest answer line a persistent handler may write. */
#define ANSWER_MAX (64 * 1024 * 1024)

enum tstate { T_WAIT, T_RUN, T_DONE, T_GONE };

/* The last EV_STDERR_TAIL bytes of a stream. */
struct tail {
	char b[EV_STDERR_TAIL];
	size_t len, pos;
};

struct worker;

struct task {
	struct ev_task t;
	char *ev;		/* the event, NUL-terminated */
	size_t evlen;		/* its length (t.len is the original's) */
	int final;		/* an in-process attempt failed for good */
	enum tstate st;
	int64_t due;		/* ev_now_ms() */
	int *counts;		/* per retrier */
	const char *key;	/* group key, NULL: none */
	size_t klen;
	uint64_t khash;
	int64_t prev_last;	/* last_ms before this attempt */
	int64_t born;		/* its "time" (max_age_ms), or INT64_MIN */
	/* a process of its own */
	pid_t pid;
	int fd[3];		/* to its stdin, from its stdout, stderr */
	size_t inoff;
	struct ev_buf in, out;
	struct tail *err;
	int64_t deadline;	/* ev_sched_clk(), 0 none */
	int timedout;
	int overflow;		/* its output passed max_output */
	/* sent to a persistent handler */
	struct worker *w;
	size_t size;		/* allocated, for reuse */
	struct task *next;	/* on the spare list */
};

/* A persistent handler. */
struct worker {
	pid_t pid;		/* 0: none runs */
	int fd[3];
	struct ev_buf wb;	/* events to write, from woff */
	size_t woff;
	struct ev_buf rb;	/* what it answered, not yet a whole line */
	struct task **fifo;	/* in flight, oldest at head */
	size_t head, count;
	struct tail err;
	int64_t deadline;	/* the oldest event's, ev_sched_clk(); 0 none */
	int64_t eof_at;		/* ev_sched_clk() its stdout closed, 0 open */
};

struct gslot {
	unsigned gen;
	const struct task *k;
};

struct ev_sched {
	struct ev_sched_opts o;
	ev_sched_fn done;
	void *ctx;
	struct task **q;	/* in order of addition */
	size_t n, cap;
	size_t pending, running;
	size_t bytes;		/* of the events pending */
	uint64_t seed;
	struct pollfd *pfd;
	struct task **pown;
	struct worker **pwk;
	size_t pcap;
	struct worker *w;	/* persistent handlers */
	int nw;
	struct ev_paths *answer;	/* an error answer's members */
	struct gslot *gs;	/* groups seen in one pass */
	size_t gcap;
	unsigned ggen;
	int64_t rate_tat;	/* next start allowed, ms * rate_n */
	int consec;		/* failed attempts in a row */
	enum ev_sched_stop stopped;
	int signals;		/* stop signals acted on */
	int64_t active;		/* ev_sched_mono() something last happened */
	struct task *spare;	/* finished tasks to reuse */
	size_t nspare;
	int64_t until_mono;	/* ev_sched_run_for(): return by then, 0 */
};

/* sched.c */
int64_t ev_sched_mono(void);
/* The clock of timeouts: the virtual one under EVKIT_NOW, else real. */
int64_t ev_sched_clk(void);
void ev_sched_close(int *fd);
void ev_sched_tail(struct tail *t, const char *b, size_t n);
int ev_sched_room(struct ev_buf *b, size_t n);
int ev_sched_exec(struct ev_sched *s, int tostdin, const char *extra,
    char **env, pid_t *pid, int fd[3], struct ev_err *err);
void ev_sched_attempt(struct task *k, int64_t now);
void ev_sched_unattempt(struct ev_sched *s, struct task *k);
void ev_sched_feed(int *fd, const struct ev_buf *b, size_t *off, int last);
void ev_sched_outcome(struct ev_outcome *o, int st);
void ev_sched_settle(struct ev_sched *s, struct task *k,
    const struct tail *tl, const char *text, size_t tlen);

/* persist.c */
struct worker *ev_worker_slot(struct ev_sched *s);
struct task *ev_worker_pop(struct ev_sched *s, struct worker *w);
void ev_worker_reset(struct worker *w, int reaped);
void ev_worker_end(struct worker *w);
void ev_worker_flush(struct worker *w);
int ev_worker_assign(struct ev_sched *s, struct worker *w, struct task *k,
    int64_t now, struct ev_err *err);
int ev_worker_read(struct ev_sched *s, struct worker *w, struct ev_err *err);
void ev_worker_stderr(struct worker *w);
int ev_worker_check(struct ev_sched *s, struct worker *w,
    struct ev_err *err);

#endif
