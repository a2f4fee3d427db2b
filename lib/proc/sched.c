/*
 * sched.c - the scheduler: tasks (one event each) wait for their due time,
 * a free slot, their rate and their group, then run: as a handler process
 * of their own in a group of its own (input written, output and stderr
 * read), or sent down a long-running handler with many in flight
 * (persist.c, the PROTOCOL of evretry(1)); all watched with poll(2)
 * with the per-attempt timeout.  Failed attempts are retried by the Retry
 * policy or handed to the caller as done; a stop signal or the breaker
 * stops the starting of tasks.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sched_int.h"

extern char **environ;

int64_t
ev_sched_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
ev_sched_clk(void)
{
	return ev_clock_virtual() ? ev_now_ms() : ev_sched_mono();
}

void
ev_sched_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void
ev_sched_tail(struct tail *t, const char *b, size_t n)
{
	size_t i;

	if (n > EV_STDERR_TAIL) {
		b += n - EV_STDERR_TAIL;
		n = EV_STDERR_TAIL;
	}
	for (i = 0; i < n; i++) {
		t->b[t->pos] = b[i];
		t->pos = (t->pos + 1) % EV_STDERR_TAIL;
		if (t->len < EV_STDERR_TAIL)
			t->len++;
	}
}

/* Make room for n more bytes in b.  0 or -1. */
int
ev_sched_room(struct ev_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->cap - b->len >= n)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

static uint64_t
hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n-- > 0)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

struct ev_sched *
ev_sched_new(const struct ev_sched_opts *opts, ev_sched_fn done, void *ctx)
{
	static const char *const members[] = {
		"$['" EV_SCHED_ERROR_MEMBER "']",
		"$['" EV_SCHED_ERROR_MEMBER "'].Error",
		"$['" EV_SCHED_ERROR_MEMBER "'].Cause"
	};
	struct ev_sched *s = calloc(1, sizeof(*s));
	struct ev_err err;
	int i;

	if (s == NULL)
		return NULL;
	s->o = *opts;
	if (s->o.jobs < 1)
		s->o.jobs = 1;
	if (s->o.inflight < 1)
		s->o.inflight = EV_SCHED_INFLIGHT;
	if (s->o.max_output <= 0)
		s->o.max_output = EV_SCHED_MAX_OUTPUT;
	s->done = done;
	s->ctx = ctx;
	s->seed = opts->seed ? opts->seed :
	    (uint64_t)ev_sched_mono() * 2654435761u ^ (uint64_t)getpid();
	if (s->o.persistent) {
		s->nw = s->o.jobs;
		s->w = calloc((size_t)s->nw, sizeof(*s->w));
		if (s->w == NULL)
			goto fail;
		for (i = 0; i < s->nw; i++) {
			s->w[i].fd[0] = s->w[i].fd[1] = s->w[i].fd[2] = -1;
			s->w[i].fifo = calloc((size_t)s->o.inflight,
			    sizeof(*s->w[i].fifo));
			if (s->w[i].fifo == NULL)
				goto fail;
		}
		ev_err_clear(&err);
		if ((s->answer = ev_paths_compile(members, 3, &err)) == NULL)
			goto fail;
	}
	return s;
fail:
	ev_sched_free(s);
	return NULL;
}

static void
task_free(struct task *k)
{
	if (k == NULL)
		return;
	if (k->st == T_RUN && k->w == NULL) {
		kill(-k->pid, SIGKILL);
		waitpid(k->pid, NULL, 0);
	}
	ev_sched_close(&k->fd[0]);
	ev_sched_close(&k->fd[1]);
	ev_sched_close(&k->fd[2]);
	ev_buf_free(&k->in);
	ev_buf_free(&k->out);
	free(k->err);
	free(k);
}

void
ev_sched_free(struct ev_sched *s)
{
	size_t i;
	int j;

	if (s == NULL)
		return;
	for (j = 0; s->w != NULL && j < s->nw; j++) {
		ev_worker_end(&s->w[j]);
		ev_worker_reset(&s->w[j], 0);
		ev_buf_free(&s->w[j].wb);
		ev_buf_free(&s->w[j].rb);
		free(s->w[j].fifo);
	}
	free(s->w);
	for (i = 0; i < s->n; i++)
		task_free(s->q[i]);
	while (s->spare != NULL) {
		struct task *k = s->spare;

		s->spare = k->next;
		task_free(k);
	}
	ev_paths_free(s->answer);
	free(s->q);
	free(s->pfd);
	free(s->pown);
	free(s->pwk);
	free(s->gs);
	free(s);
}

size_t
ev_sched_pending(const struct ev_sched *s)
{
	return s->pending;
}

size_t
ev_sched_running(const struct ev_sched *s)
{
	return s->running;
}

size_t
ev_sched_pending_bytes(const struct ev_sched *s)
{
	return s->bytes;
}

enum ev_sched_stop
ev_sched_stopped(const struct ev_sched *s)
{
	return s->stopped;
}

/* Add a task: ev for the handler, orig (or NULL: ev) for the record. */
static int
add_task(struct ev_sched *s, const char *ev, size_t len, const char *orig,
    size_t olen, const char *key, size_t klen, const char *file,
    unsigned long lineno, struct ev_err *err)
{
	struct task *k, **nq;
	size_t cap, size, nc = (size_t)s->o.nretriers + 1;
	struct ev_buf out;
	char *p;

	if (s->n == s->cap) {
		cap = s->cap ? s->cap * 2 : 16;
		nq = realloc(s->q, cap * sizeof(*nq));
		if (nq == NULL)
			goto oom;
		s->q = nq;
		s->cap = cap;
	}
	/*
	 * One allocation: the task, its counters, the event, the key; a
	 * spare one when it is big enough (no malloc and page faults per
	 * event), keeping its output buffer.
	 */
	size = sizeof(*k) + nc * sizeof(int) + len + 1 + (key ? klen : 0) +
	    (orig ? olen + 1 : 0);
	size = (size + 1023) & ~(size_t)1023;
	while ((k = s->spare) != NULL && k->size < size) {
		s->spare = k->next;
		s->nspare--;
		task_free(k);
	}
	if (k != NULL) {
		s->spare = k->next;
		s->nspare--;
		out = k->out;
		size = k->size;
		memset(k, 0, sizeof(*k));
		out.len = 0;
		k->out = out;
	} else if ((k = calloc(1, size)) == NULL)
		goto oom;
	k->size = size;
	k->counts = (int *)(k + 1);
	memset(k->counts, 0, nc * sizeof(int));	/* a spare's are old */
	p = (char *)(k->counts + nc);
	k->ev = p;
	memcpy(k->ev, ev, len);
	k->ev[len] = '\0';
	if (key != NULL) {
		memcpy(p + len + 1, key, klen);
		k->key = p + len + 1;
		k->klen = klen;
		k->khash = hash(key, klen);
	}
	k->evlen = len;
	k->t.event = k->ev;
	k->t.len = len;
	if (orig != NULL) {
		p += len + 1 + (key ? klen : 0);
		memcpy(p, orig, olen);
		p[olen] = '\0';
		k->t.event = p;
		k->t.len = olen;
		k->t.payload = k->ev;
		k->t.paylen = len;
	}
	k->t.file = file;
	k->t.lineno = lineno;
	k->fd[0] = k->fd[1] = k->fd[2] = -1;
	k->due = ev_now_ms();
	k->born = s->o.max_age_ms <= 0 ? INT64_MIN : s->o.age_from_add ?
	    k->due : ev_event_time(k->ev, len);
	s->q[s->n++] = k;
	s->pending++;
	s->bytes += len;
	return 0;
oom:
	ev_err_set(err, "out of memory");
	return -1;
}

int
ev_sched_add_key(struct ev_sched *s, const char *ev, size_t len,
    const char *key, size_t klen, const char *file, unsigned long lineno,
    struct ev_err *err)
{
	return add_task(s, ev, len, NULL, 0, key, klen, file, lineno, err);
}

int
ev_sched_add_orig(struct ev_sched *s, const char *ev, size_t len,
    const char *orig, size_t olen, const char *file, unsigned long lineno,
    int64_t due, struct ev_err *err)
{
	if (add_task(s, ev, len, orig, olen, NULL, 0, file, lineno, err) < 0)
		return -1;
	if (due > s->q[s->n - 1]->due)
		s->q[s->n - 1]->due = due;
	return 0;
}

int
ev_sched_add(struct ev_sched *s, const char *ev, size_t len,
    const char *file, unsigned long lineno, struct ev_err *err)
{
	return ev_sched_add_key(s, ev, len, NULL, 0, file, lineno, err);
}

/* The environment for --env NAME: environ without NAME, then NAME=ev. */
static char **
make_env(const char *name, const char *ev, char **var)
{
	size_t n = 0, i, j = 0, nl = strlen(name);
	char **env;

	while (environ[n] != NULL)
		n++;
	env = calloc(n + 2, sizeof(*env));
	*var = malloc(nl + strlen(ev) + 2);
	if (env == NULL || *var == NULL) {
		free(env);
		free(*var);
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], name, nl) != 0 || environ[i][nl] != '=')
			env[j++] = environ[i];
	strcpy(*var, name);
	(*var)[nl] = '=';
	strcpy(*var + nl + 1, ev);
	env[j] = *var;
	return env;
}

/*
 * Spawn the command with pipes to its stdin (when stdin), from its stdout
 * and stderr (p[i][0] or [1]: the ends that stay here are in fd[0..2]),
 * extra the last argument or env the environment.  0 with *pid set; a
 * positive errno when it could not be run; -1 with err.
 */
int
ev_sched_exec(struct ev_sched *s, int tostdin, const char *extra, char **env,
    pid_t *pid, int fd[3], struct ev_err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	int p[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
	char **argv;
	size_t argc = 0;
	int i, r;

	for (i = 0; i < 3; i++) {
		if (i == 0 && !tostdin)
			continue;
		if (pipe2(p[i], O_CLOEXEC) < 0) {
			ev_err_set(err, "pipe: %s", strerror(errno));
			ev_err_errno(err, errno);
			goto fail;
		}
	}
	while (s->o.argv[argc] != NULL)
		argc++;
	argv = calloc(argc + 2, sizeof(*argv));
	if (argv == NULL) {
		ev_err_set(err, "out of memory");
		goto fail;
	}
	memcpy(argv, s->o.argv, argc * sizeof(*argv));
	argv[argc] = (char *)extra;
	posix_spawn_file_actions_init(&fa);
	if (tostdin)
		posix_spawn_file_actions_adddup2(&fa, p[0][0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
		    O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1][1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[2][1], 2);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	r = posix_spawnp(pid, argv[0], &fa, &at, argv, env ? env : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(argv);
	ev_sched_close(&p[0][0]);
	ev_sched_close(&p[1][1]);
	ev_sched_close(&p[2][1]);
	if (r != 0) {
		for (i = 0; i < 3; i++)
			ev_sched_close(&p[i][0 + (i == 0)]);
		return r;
	}
	fd[0] = p[0][1];
	fd[1] = p[1][0];
	fd[2] = p[2][0];
	for (i = 0; i < 3; i++)
		if (fd[i] >= 0)
			fcntl(fd[i], F_SETFL, O_NONBLOCK);
	return 0;
fail:
	for (i = 0; i < 3; i++) {
		ev_sched_close(&p[i][0]);
		ev_sched_close(&p[i][1]);
	}
	return -1;
}

/* An attempt of k starts now (ev_now_ms()). */
void
ev_sched_attempt(struct task *k, int64_t now)
{
	k->prev_last = k->t.last_ms;
	k->t.attempts++;
	k->t.last_ms = now;
	if (k->t.attempts == 1)
		k->t.first_ms = k->t.last_ms;
}

/* k's attempt did not count: it goes back to wait, due now. */
void
ev_sched_unattempt(struct ev_sched *s, struct task *k)
{
	k->t.attempts--;
	k->t.last_ms = k->prev_last;
	k->st = T_WAIT;
	k->due = ev_now_ms();
	k->w = NULL;
	s->running--;
}

/*
 * Start an attempt of k in a process of its own.  Returns 0 (running, or
 * done at once because the command could not be run: k->t.out says so),
 * or -1 with err.
 */
static int
spawn(struct ev_sched *s, struct task *k, struct ev_err *err)
{
	char **env = NULL, *var = NULL;
	int r;

	if (s->o.feed == EV_FEED_ENV &&
	    (env = make_env(s->o.feed_name, k->ev, &var)) == NULL)
		goto oom;
	if (k->err == NULL && (k->err = malloc(sizeof(*k->err))) == NULL)
		goto oom;
	r = ev_sched_exec(s, s->o.feed == EV_FEED_STDIN,
	    s->o.feed == EV_FEED_ARG ? k->ev : NULL, env, &k->pid, k->fd,
	    err);
	free(env);
	free(var);
	if (r < 0)
		return -1;
	ev_sched_attempt(k, ev_now_ms());
	k->out.len = 0;
	k->err->len = k->err->pos = 0;
	k->inoff = 0;
	k->timedout = 0;
	k->overflow = 0;
	if (r != 0) {
		memset(&k->t.out, 0, sizeof(k->t.out));
		k->t.out.run = EV_RUN_NOEXEC;
		k->t.out.errnum = r;
		k->st = T_DONE;
		return 0;
	}
	if (s->o.feed == EV_FEED_STDIN && k->in.len == 0 &&
	    (ev_buf_add(&k->in, k->ev, k->evlen) < 0 ||
	    ev_buf_add(&k->in, "\n", 1) < 0))
		goto oom;
	k->deadline = s->o.timeout_ms > 0 ?
	    ev_sched_clk() + s->o.timeout_ms : 0;
	k->st = T_RUN;
	s->running++;
	return 0;
oom:
	free(env);
	free(var);
	ev_err_set(err, "out of memory");
	return -1;
}

/* Kill k's attempt, its whole group, and close its pipes; reap() ends it. */
static void
stop_attempt(struct task *k)
{
	kill(-k->pid, SIGKILL);
	ev_sched_close(&k->fd[0]);
	ev_sched_close(&k->fd[1]);
	ev_sched_close(&k->fd[2]);
}

/*
 * Read what fd i of k has; at end of file close it.  Output past max
 * bytes kills the attempt (States.DataLimitExceeded).
 */
static int
drain(struct task *k, int i, int64_t max, struct ev_err *err)
{
	char b[65536];
	ssize_t n;

	for (;;) {
		n = read(k->fd[i], b, sizeof(b));
		if (n > 0) {
			if (i == 1 && (int64_t)(k->out.len + (size_t)n) > max) {
				k->overflow = 1;
				stop_attempt(k);
				return 0;
			}
			if (i == 1) {
				if (ev_buf_add(&k->out, b, (size_t)n) < 0) {
					ev_err_set(err, "out of memory");
					return -1;
				}
			} else
				ev_sched_tail(k->err, b, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EINTR))
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		ev_sched_close(&k->fd[i]);
		return 0;
	}
}

/*
 * Write from b at *off to *fd; on EPIPE close it, and with last also once
 * everything is written (the end of the handler's input).
 */
void
ev_sched_feed(int *fd, const struct ev_buf *b, size_t *off, int last)
{
	ssize_t n;

	while (*off < b->len) {
		n = write(*fd, b->p + *off, b->len - *off);
		if (n > 0) {
			*off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		ev_sched_close(fd);	/* EPIPE: it does not read its input */
		return;
	}
	if (last)
		ev_sched_close(fd);
}

/* The outcome of wait status st. */
void
ev_sched_outcome(struct ev_outcome *o, int st)
{
	memset(o, 0, sizeof(*o));
	if (WIFSIGNALED(st))
		o->run = EV_RUN_SIGNAL, o->sig = WTERMSIG(st);
	else if (WEXITSTATUS(st) != 0)
		o->run = EV_RUN_EXIT, o->status = WEXITSTATUS(st);
	else
		o->run = EV_RUN_OK;
}

/* Collect k's exit once its output is closed; 1 when it has ended. */
static int
reap(struct ev_sched *s, struct task *k, int block)
{
	int st;
	pid_t r;

	if (k->fd[1] >= 0 || k->fd[2] >= 0)
		return 0;
	do
		r = waitpid(k->pid, &st, block ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0;
	ev_sched_close(&k->fd[0]);
	if (k->timedout) {
		memset(&k->t.out, 0, sizeof(k->t.out));
		k->t.out.run = EV_RUN_TIMEOUT;
	} else if (k->overflow) {
		memset(&k->t.out, 0, sizeof(k->t.out));
		k->t.out.run = EV_RUN_DATALIMIT;
	} else if (r < 0) {
		memset(&k->t.out, 0, sizeof(k->t.out));
		k->t.out.run = EV_RUN_SIGNAL, k->t.out.sig = SIGKILL;
	} else
		ev_sched_outcome(&k->t.out, st);
	/* the rest of the group: nothing of an attempt outlives it */
	if (k->t.out.run != EV_RUN_OK)
		kill(-k->pid, SIGKILL);
	k->st = T_DONE;
	s->running--;
	return 1;
}

/* Would k be older than max_age_ms at time t? */
static int
too_old(const struct ev_sched *s, const struct task *k, int64_t t)
{
	return k->born != INT64_MIN && t - k->born > s->o.max_age_ms;
}

/*
 * k's attempt ended (k->t.out, and k->t.name for EV_RUN_ANSWER), with
 * tl (or text[0..tlen)) the stderr or cause to keep: retry it later or
 * mark it finished.  Counts failures in a row for the breaker.
 */
void
ev_sched_settle(struct ev_sched *s, struct task *k, const struct tail *tl,
    const char *text, size_t tlen)
{
	size_t i;
	int64_t delay = 0;

	k->st = T_DONE;
	k->t.errlen = 0;
	if (tl != NULL) {
		k->t.errlen = tl->len;
		for (i = 0; i < tl->len; i++)
			k->t.errtail[i] = tl->b[(tl->pos + EV_STDERR_TAIL -
			    tl->len + i) % EV_STDERR_TAIL];
	} else if (text != NULL) {
		if (tlen > EV_STDERR_TAIL) {
			text += tlen - EV_STDERR_TAIL;
			tlen = EV_STDERR_TAIL;
		}
		memcpy(k->t.errtail, text, tlen);
		k->t.errlen = tlen;
	}
	if (k->t.out.run == EV_RUN_OK)
		k->t.name[0] = '\0';
	else if (k->t.out.run != EV_RUN_ANSWER)
		ev_outcome_name(&k->t.out, k->t.name, sizeof(k->t.name));
	k->t.output = k->out.p ? k->out.p : "";
	k->t.outlen = k->out.len;
	k->t.exhausted = NULL;
	if (k->t.out.run == EV_RUN_OK) {
		s->consec = 0;
		return;
	}
	k->t.outlen = 0;
	if (s->o.breaker > 0 && ++s->consec >= s->o.breaker &&
	    s->stopped == EV_SCHED_RUNNING)
		s->stopped = EV_SCHED_BREAKER;
	if (ev_retry_decide(s->o.retriers, s->o.nretriers, k->counts,
	    k->t.name, ev_outcome_final(&k->t.out) || k->final, &s->seed,
	    &delay,
	    &k->t.exhausted) >= 0) {
		k->st = T_WAIT;
		k->due = ev_now_ms() + delay;
		if (too_old(s, k, k->due)) {
			k->st = T_DONE;
			k->t.exhausted = "MaximumEventAgeInSeconds";
		}
	}
}

/* Drop the tasks handed over (T_GONE) from the queue. */
static void
compact(struct ev_sched *s)
{
	struct task *k;
	size_t i, j;

	for (i = j = 0; i < s->n; i++) {
		k = s->q[i];
		if (k->st == T_GONE && k->pid == 0 && k->err == NULL &&
		    s->nspare < 4096 && k->size <= 8192 &&
		    k->out.cap <= 65536) {
			k->next = s->spare;
			s->spare = k;
			s->nspare++;
		} else if (k->st == T_GONE)
			task_free(k);
		else
			s->q[j++] = s->q[i];
	}
	s->n = j;
}

/*
 * Hand finished tasks to done, in order with keep_order (but once stopped
 * and nothing runs, every finished one: the others are not going to run).
 */
static int
emit(struct ev_sched *s, struct ev_err *err)
{
	size_t i;
	int r = 0, ordered;

	ordered = s->o.keep_order &&
	    !(s->stopped != EV_SCHED_RUNNING && s->running == 0);
	for (i = 0; i < s->n; i++) {
		if (s->q[i]->st == T_DONE) {
			s->q[i]->st = T_GONE;
			s->pending--;
			s->bytes -= s->q[i]->evlen;
			if (s->done(s->ctx, &s->q[i]->t, err) < 0) {
				r = -1;
				break;
			}
		} else if (s->q[i]->st != T_GONE && ordered)
			break;
	}
	compact(s);
	return r;
}

int
ev_sched_unstarted(struct ev_sched *s, ev_sched_fn fn, void *ctx,
    struct ev_err *err)
{
	size_t i;
	int r = 0;

	for (i = 0; i < s->n; i++) {
		if (s->q[i]->st != T_WAIT)
			continue;
		s->q[i]->st = T_GONE;
		s->pending--;
		s->bytes -= s->q[i]->evlen;
		if (fn(ctx, &s->q[i]->t, err) < 0) {
			r = -1;
			break;
		}
	}
	compact(s);
	return r;
}

/* ---------------------------------------------------------- groups, rate */

/*
 * Note k's group as taken in this pass.  Returns 1 when an earlier task
 * of the pass took it already (k must wait), else 0.
 */
static int
group_taken(struct ev_sched *s, const struct task *k)
{
	size_t i, mask;
	struct gslot *g;

	mask = s->gcap - 1;
	for (i = (size_t)k->khash & mask;; i = (i + 1) & mask) {
		g = &s->gs[i];
		if (g->gen != s->ggen) {
			g->gen = s->ggen;
			g->k = k;
			return 0;
		}
		if (g->k->khash == k->khash && g->k->klen == k->klen &&
		    memcmp(g->k->key, k->key, k->klen) == 0)
			return 1;
	}
}

/* A fresh group table with room for the queue.  0 or -1. */
static int
groups_reset(struct ev_sched *s)
{
	size_t cap = s->gcap ? s->gcap : 64;
	struct gslot *g;

	while (cap < s->n * 2)
		cap *= 2;
	if (cap != s->gcap) {
		if ((g = calloc(cap, sizeof(*g))) == NULL)
			return -1;
		free(s->gs);
		s->gs = g;
		s->gcap = cap;
		s->ggen = 0;
	}
	if (++s->ggen == 0) {
		memset(s->gs, 0, s->gcap * sizeof(*s->gs));
		s->ggen = 1;
	}
	return 0;
}

/* When the rate lets the next attempt start (ev_now_ms()). */
static int64_t
rate_next(const struct ev_sched *s)
{
	if (s->o.rate_n <= 0)
		return 0;
	return (s->rate_tat + s->o.rate_n - 1) / s->o.rate_n;
}

static void
rate_take(struct ev_sched *s, int64_t now)
{
	int64_t t = now * s->o.rate_n;

	if (s->o.rate_n <= 0)
		return;
	if (s->rate_tat < t)
		s->rate_tat = t;
	s->rate_tat += s->o.rate_ms;
}

int
ev_rate_parse(const char *str, int *n, int64_t *per_ms, struct ev_err *err)
{
	char *end;
	long v;

	v = strtol(str, &end, 10);
	if (str[0] < '0' || str[0] > '9' || v < 1 || v > 1000000 ||
	    end[0] != '/' || (end[1] != 's' && end[1] != 'm') ||
	    end[2] != '\0') {
		ev_err_set(err, "invalid rate '%s': expected N/s or N/m, N "
		    "from 1 to 1000000", str);
		return -1;
	}
	*n = (int)v;
	*per_ms = end[1] == 's' ? 1000 : 60000;
	return 0;
}

/* ------------------------------------------------------------ the loop */

/* A second stop signal: kill what runs, and fail it for good. */
static void
give_up(struct ev_sched *s, struct task *k, const struct tail *tl)
{
	ev_sched_settle(s, k, tl, NULL, 0);	/* keeps tl, names it */
	k->t.exhausted = "Stopped";
	k->t.outlen = 0;
	k->st = T_DONE;
}

static void
kill_all(struct ev_sched *s)
{
	struct worker *w;
	struct task *k;
	size_t i;
	int j;

	for (i = 0; i < s->n; i++) {
		k = s->q[i];
		if (k->st != T_RUN || k->w != NULL)
			continue;
		kill(-k->pid, SIGKILL);
		while (waitpid(k->pid, NULL, 0) < 0 && errno == EINTR)
			;
		ev_sched_close(&k->fd[0]);
		ev_sched_close(&k->fd[1]);
		ev_sched_close(&k->fd[2]);
		memset(&k->t.out, 0, sizeof(k->t.out));
		k->t.out.run = EV_RUN_SIGNAL;
		k->t.out.sig = SIGKILL;
		s->running--;
		give_up(s, k, k->err);
	}
	for (j = 0; j < s->nw; j++) {
		w = &s->w[j];
		if (w->pid == 0)
			continue;
		kill(-w->pid, SIGKILL);
		while (w->count > 0) {
			k = ev_worker_pop(s, w);
			memset(&k->t.out, 0, sizeof(k->t.out));
			k->t.out.run = EV_RUN_SIGNAL;
			k->t.out.sig = SIGKILL;
			s->running--;
			give_up(s, k, &w->err);
		}
		ev_worker_reset(w, 0);
	}
}

static void
check_stop(struct ev_sched *s)
{
	int c = ev_stop_count();

	if (c == s->signals)
		return;
	if (s->stopped == EV_SCHED_RUNNING)
		s->stopped = EV_SCHED_SIGNAL;
	if (c >= 2 && s->signals < 2)
		kill_all(s);
	s->signals = c;
}

/*
 * An in-process attempt of k (opts.attempt): it ends before this returns,
 * settled as a process's would be (a final failure is not retried).
 */
static int
call_attempt(struct ev_sched *s, struct task *k, int64_t now,
    struct ev_err *err)
{
	struct ev_buf msg = { NULL, 0, 0 };
	int r;

	ev_sched_attempt(k, now);
	memset(&k->t.out, 0, sizeof(k->t.out));
	k->t.name[0] = '\0';
	k->out.len = 0;
	r = s->o.attempt(s->ctx, k->ev, k->evlen, k->t.name,
	    sizeof(k->t.name), &msg);
	if (r < 0) {
		ev_err_set(err, "%.*s", (int)msg.len, msg.p ? msg.p : "");
		ev_buf_free(&msg);
		return -1;
	}
	if (r != 0) {
		k->t.out.run = EV_RUN_ANSWER;
		if (k->t.name[0] == '\0')
			snprintf(k->t.name, sizeof(k->t.name), "%s",
			    "States.TaskFailed");
	}
	k->final = r == 2;
	ev_sched_settle(s, k, NULL, msg.p, msg.len);
	k->final = 0;
	ev_buf_free(&msg);
	return 0;
}

/*
 * Start the tasks that may: due, a slot free, the rate allowing, their
 * group free.  *wake: when one that may not yet could (ev_now_ms()), -1
 * when only a slot freeing can help.
 */
static int
start_due(struct ev_sched *s, int64_t *wake, struct ev_err *err)
{
	struct worker *w = NULL;
	struct task *k;
	int64_t now = ev_now_ms();
	size_t i;
	int j, groups = 0, started = 0;

	*wake = -1;
	if (s->stopped != EV_SCHED_RUNNING)
		return 0;
	for (i = 0; i < s->n; i++) {
		k = s->q[i];
		if (k->st == T_DONE || k->st == T_GONE)
			continue;
		if (k->key != NULL) {
			if (!groups && groups_reset(s) < 0) {
				ev_err_set(err, "out of memory");
				return -1;
			}
			groups = 1;
			if (group_taken(s, k))
				continue;
		}
		if (k->st != T_WAIT)
			continue;
		if (k->due > now) {
			if (*wake < 0 || k->due < *wake)
				*wake = k->due;
			continue;
		}
		if (k->t.attempts == 0 && too_old(s, k, now)) {
			k->st = T_DONE;
			k->t.first_ms = k->t.last_ms = now;
			snprintf(k->t.name, sizeof(k->t.name), "%s",
			    "Event.Expired");
			k->t.output = "";
			k->t.exhausted = "MaximumEventAgeInSeconds";
			continue;
		}
		if (s->o.persistent ? (w = ev_worker_slot(s)) == NULL :
		    s->running >= (size_t)s->o.jobs)
			break;
		if (rate_next(s) > now) {
			*wake = rate_next(s);
			break;
		}
		rate_take(s, now);
		started = 1;
		if (s->o.attempt != NULL) {
			if (call_attempt(s, k, now, err) < 0)
				return -1;
		} else if (s->o.persistent) {
			if (ev_worker_assign(s, w, k, now, err) < 0)
				return -1;
		} else {
			if (spawn(s, k, err) < 0)
				return -1;
			if (k->st == T_DONE)
				ev_sched_settle(s, k, NULL, NULL, 0);
		}
		if (s->stopped != EV_SCHED_RUNNING)
			break;
	}
	if (started)
		s->active = ev_sched_mono();
	for (j = 0; j < s->nw; j++)
		if (s->w[j].fd[0] >= 0 && s->w[j].woff < s->w[j].wb.len)
			ev_worker_flush(&s->w[j]);
	return 0;
}

static int
grow_poll(struct ev_sched *s, size_t need)
{
	struct pollfd *p;
	struct task **o;
	struct worker **w;

	if (need <= s->pcap)
		return 0;
	p = realloc(s->pfd, need * sizeof(*p));
	if (p == NULL)
		return -1;
	s->pfd = p;
	o = realloc(s->pown, need * sizeof(*o));
	if (o == NULL)
		return -1;
	s->pown = o;
	w = realloc(s->pwk, need * sizeof(*w));
	if (w == NULL)
		return -1;
	s->pwk = w;
	s->pcap = need;
	return 0;
}

static void
poll_add(struct ev_sched *s, size_t *np, int fd, short ev, struct task *k,
    struct worker *w)
{
	s->pfd[*np].fd = fd;
	s->pfd[*np].events = ev;
	s->pfd[*np].revents = 0;
	s->pown[*np] = k;
	s->pwk[*np] = w;
	(*np)++;
}

static void
wait_min(int64_t *wait, int64_t d)
{
	if (d < 0)
		d = 0;
	if (*wait < 0 || d < *wait)
		*wait = d;
}

int
ev_sched_run_for(struct ev_sched *s, long until, int64_t max_ms,
    struct ev_err *err)
{
	int r;

	s->until_mono = ev_sched_mono() + (max_ms > 0 ? max_ms : 1);
	r = ev_sched_run(s, until, err);
	s->until_mono = 0;
	return r;
}

int
ev_sched_run(struct ev_sched *s, long until, struct ev_err *err)
{
	struct worker *w;
	struct task *k;
	size_t i, np;
	int64_t now, c, d, wait, wake, tmo;
	int passes = 0, r, j, reaping;

	s->active = ev_sched_mono();
	for (;;) {
		check_stop(s);
		if (start_due(s, &wake, err) < 0 || emit(s, err) < 0)
			return -1;
		if (s->stopped != EV_SCHED_RUNNING ?
		    s->running == 0 || (until < 0 && passes > 0) :
		    until >= 0 ? s->pending < (size_t)(until ? until : 1) &&
		    (until > 0 || s->pending == 0) : passes > 0)
			return 0;
		if (s->until_mono && passes > 0 &&
		    ev_sched_mono() >= s->until_mono)
			return 0;
		passes++;
		/* what to wait for */
		now = ev_now_ms();
		c = ev_sched_clk();
		wait = -1;
		reaping = 0;
		if (wake >= 0)
			wait_min(&wait, wake - now);
		if (grow_poll(s, s->n * 3 + (size_t)s->nw * 3 + 1) < 0) {
			ev_err_set(err, "out of memory");
			return -1;
		}
		np = 0;
		for (i = 0; i < s->n; i++) {
			k = s->q[i];
			if (k->st != T_RUN || k->w != NULL)
				continue;
			if (k->deadline)
				wait_min(&wait, k->deadline - c);
			if (k->fd[1] < 0 && k->fd[2] < 0)
				reaping = 1;
			for (r = 0; r < 3; r++)
				if (k->fd[r] >= 0)
					poll_add(s, &np, k->fd[r],
					    r ? POLLIN : POLLOUT, k, NULL);
		}
		for (j = 0; j < s->nw; j++) {
			w = &s->w[j];
			if (w->pid == 0)
				continue;
			if (w->count > 0 && w->deadline)
				wait_min(&wait, w->deadline - c);
			if (w->count > 0)	/* an exit its children hide */
				wait_min(&wait, 1000);
			if (w->eof_at) {
				reaping = 1;
				wait_min(&wait, w->eof_at + CLOSE_GRACE_MS - c);
			}
			if (w->fd[0] >= 0 && w->woff < w->wb.len)
				poll_add(s, &np, w->fd[0], POLLOUT, NULL, w);
			for (r = 1; r < 3; r++)
				if (w->fd[r] >= 0)
					poll_add(s, &np, w->fd[r], POLLIN,
					    NULL, w);
		}
		/* wait: on the clock of timeouts; tmo: real */
		tmo = wait;
		if (reaping && (tmo < 0 || tmo > 5))
			tmo = 5;
		if (until >= 0 && wait > 0 && ev_clock_virtual()) {
			/* nothing else can happen: time passes */
			d = ev_sched_mono() - s->active;
			if ((s->running == 0 && !reaping) || d >= QUIET_MS) {
				ev_clock_advance(wait);
				s->active = ev_sched_mono();
				continue;
			}
			tmo = reaping ? 5 : QUIET_MS - d;
		}
		if (s->stopped == EV_SCHED_RUNNING && ev_stop_fd() >= 0)
			poll_add(s, &np, ev_stop_fd(), POLLIN, NULL, NULL);
		else if (s->stopped == EV_SCHED_SIGNAL && s->signals < 2 &&
		    (tmo < 0 || tmo > 100))
			tmo = 100;	/* a second signal interrupts poll */
		if (until < 0)
			tmo = 0;
		if (s->until_mono && (tmo < 0 || tmo > s->until_mono -
		    ev_sched_mono())) {
			tmo = s->until_mono - ev_sched_mono();
			if (tmo < 0)
				tmo = 0;
		}
		if (tmo > 60000)
			tmo = 60000;
		r = poll(s->pfd, np, (int)tmo);
		if (r < 0 && errno != EINTR) {
			ev_err_set(err, "poll: %s", strerror(errno));
			ev_err_errno(err, errno);
			return -1;
		}
		if (r > 0)
			s->active = ev_sched_mono();
		for (i = 0; r > 0 && i < np; i++) {
			if (s->pfd[i].revents == 0)
				continue;
			if ((k = s->pown[i]) != NULL) {
				if (s->pfd[i].fd == k->fd[0])
					ev_sched_feed(&k->fd[0], &k->in,
					    &k->inoff, 1);
				else if (s->pfd[i].fd == k->fd[1]) {
					if (drain(k, 1, s->o.max_output,
					    err) < 0)
						return -1;
				} else if (s->pfd[i].fd == k->fd[2])
					drain(k, 2, 0, err);
			} else if ((w = s->pwk[i]) != NULL) {
				if (s->pfd[i].fd == w->fd[0]) {
					ev_worker_flush(w);
				} else if (s->pfd[i].fd == w->fd[1]) {
					if (ev_worker_read(s, w, err) < 0)
						return -1;
				} else if (s->pfd[i].fd == w->fd[2])
					ev_worker_stderr(w);
			}
		}
		c = ev_sched_clk();
		for (i = 0; i < s->n; i++) {
			k = s->q[i];
			if (k->st != T_RUN || k->w != NULL)
				continue;
			if (k->deadline && c >= k->deadline && !k->timedout) {
				k->timedout = 1;
				stop_attempt(k);
			}
			/* killed: it ends at once */
			if (reap(s, k, k->timedout || k->overflow))
				ev_sched_settle(s, k, k->err, NULL, 0);
		}
		for (j = 0; j < s->nw; j++)
			if (ev_worker_check(s, &s->w[j], err) < 0)
				return -1;
	}
}
