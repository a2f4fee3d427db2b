/*
 * sched.c - the scheduler: tasks (one event each) wait for their due time
 * and a free slot, run as a handler process in a group of its own, are
 * watched with poll(2) (input written, output and stderr read, the
 * per-attempt timeout), and are retried by the Retry policy or handed to
 * the caller as done.
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

#include "base/base.h"
#include "proc.h"

extern char **environ;

enum tstate { T_WAIT, T_RUN, T_DONE, T_GONE };

struct task {
	struct ev_task t;
	char *ev;		/* the event, NUL-terminated */
	enum tstate st;
	int64_t due;		/* ev_now_ms() */
	int *counts;		/* per retrier */
	pid_t pid;
	int fd[3];		/* to its stdin, from its stdout, stderr */
	size_t inoff;
	struct ev_buf in, out;
	char ring[EV_STDERR_TAIL];
	size_t ringlen, ringpos;
	int64_t deadline;	/* monotonic ms, 0 none */
	int timedout;
	int64_t born;		/* its "time" (max_age_ms), or INT64_MIN */
};

struct ev_sched {
	struct ev_sched_opts o;
	ev_sched_fn done;
	void *ctx;
	struct task **q;	/* in order of addition */
	size_t n, cap;
	size_t pending, running;
	uint64_t seed;
	struct pollfd *pfd;
	struct task **pown;
	size_t pcap;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct ev_sched *
ev_sched_new(const struct ev_sched_opts *opts, ev_sched_fn done, void *ctx)
{
	struct ev_sched *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->o = *opts;
	if (s->o.jobs < 1)
		s->o.jobs = 1;
	s->done = done;
	s->ctx = ctx;
	s->seed = opts->seed ? opts->seed :
	    (uint64_t)mono_ms() * 2654435761u ^ (uint64_t)getpid();
	return s;
}

static void
closefd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void
task_free(struct task *k)
{
	if (k == NULL)
		return;
	if (k->st == T_RUN) {
		kill(-k->pid, SIGKILL);
		waitpid(k->pid, NULL, 0);
	}
	closefd(&k->fd[0]);
	closefd(&k->fd[1]);
	closefd(&k->fd[2]);
	ev_buf_free(&k->in);
	ev_buf_free(&k->out);
	free(k->counts);
	free(k->ev);
	free(k);
}

void
ev_sched_free(struct ev_sched *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		task_free(s->q[i]);
	free(s->q);
	free(s->pfd);
	free(s->pown);
	free(s);
}

size_t
ev_sched_pending(const struct ev_sched *s)
{
	return s->pending;
}

int
ev_sched_add(struct ev_sched *s, const char *ev, size_t len,
    const char *file, unsigned long lineno, struct ev_err *err)
{
	struct task *k, **nq;
	size_t cap;

	if (s->n == s->cap) {
		cap = s->cap ? s->cap * 2 : 16;
		nq = realloc(s->q, cap * sizeof(*nq));
		if (nq == NULL)
			goto oom;
		s->q = nq;
		s->cap = cap;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		goto oom;
	k->ev = malloc(len + 1);
	k->counts = calloc((size_t)s->o.nretriers + 1, sizeof(int));
	if (k->ev == NULL || k->counts == NULL) {
		task_free(k);
		goto oom;
	}
	memcpy(k->ev, ev, len);
	k->ev[len] = '\0';
	k->t.event = k->ev;
	k->t.len = len;
	k->t.file = file;
	k->t.lineno = lineno;
	k->fd[0] = k->fd[1] = k->fd[2] = -1;
	k->due = ev_now_ms();
	k->born = s->o.max_age_ms > 0 ? ev_event_time(k->ev, len) : INT64_MIN;
	s->q[s->n++] = k;
	s->pending++;
	return 0;
oom:
	ev_err_set(err, "out of memory");
	return -1;
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
 * Start an attempt of k.  Returns 0 (running, or done at once because the
 * command could not be run: k->t.out says so), or -1 with err.
 */
static int
spawn(struct ev_sched *s, struct task *k, struct ev_err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	int p[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
	char **argv = NULL, **env = NULL, *var = NULL;
	size_t argc = 0;
	int i, r;

	for (i = 0; i < 3; i++) {
		if ((i == 0 && s->o.feed != EV_FEED_STDIN))
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
	if (argv == NULL)
		goto oom;
	memcpy(argv, s->o.argv, argc * sizeof(*argv));
	if (s->o.feed == EV_FEED_ARG)
		argv[argc] = k->ev;
	if (s->o.feed == EV_FEED_ENV &&
	    (env = make_env(s->o.feed_name, k->ev, &var)) == NULL)
		goto oom;
	posix_spawn_file_actions_init(&fa);
	if (s->o.feed == EV_FEED_STDIN)
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
	r = posix_spawnp(&k->pid, argv[0], &fa, &at, argv,
	    env ? env : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(argv);
	free(env);
	free(var);
	argv = NULL;
	closefd(&p[0][0]);
	closefd(&p[1][1]);
	closefd(&p[2][1]);
	k->t.attempts++;
	k->t.last_ms = ev_now_ms();
	if (k->t.attempts == 1)
		k->t.first_ms = k->t.last_ms;
	k->out.len = 0;
	k->ringlen = k->ringpos = 0;
	k->inoff = 0;
	k->timedout = 0;
	if (r != 0) {
		closefd(&p[0][1]);
		closefd(&p[1][0]);
		closefd(&p[2][0]);
		k->t.out.run = EV_RUN_NOEXEC;
		k->t.out.errnum = r;
		k->st = T_DONE;
		return 0;
	}
	k->fd[0] = p[0][1];
	k->fd[1] = p[1][0];
	k->fd[2] = p[2][0];
	for (i = 0; i < 3; i++)
		if (k->fd[i] >= 0)
			fcntl(k->fd[i], F_SETFL, O_NONBLOCK);
	if (s->o.feed == EV_FEED_STDIN && k->in.len == 0 &&
	    (ev_buf_add(&k->in, k->ev, k->t.len) < 0 ||
	    ev_buf_add(&k->in, "\n", 1) < 0))
		goto oom;
	k->deadline = s->o.timeout_ms > 0 ? mono_ms() + s->o.timeout_ms : 0;
	k->st = T_RUN;
	s->running++;
	return 0;
oom:
	ev_err_set(err, "out of memory");
fail:
	free(argv);
	for (i = 0; i < 3; i++) {
		closefd(&p[i][0]);
		closefd(&p[i][1]);
	}
	return -1;
}

static void
errtail_add(struct task *k, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		k->ring[k->ringpos] = b[i];
		k->ringpos = (k->ringpos + 1) % EV_STDERR_TAIL;
		if (k->ringlen < EV_STDERR_TAIL)
			k->ringlen++;
	}
}

/* Read what fd i of k has; at end of file close it. */
static int
drain(struct task *k, int i, struct ev_err *err)
{
	char b[65536];
	ssize_t n;

	for (;;) {
		n = read(k->fd[i], b, sizeof(b));
		if (n > 0) {
			if (i == 1) {
				if (ev_buf_add(&k->out, b, (size_t)n) < 0) {
					ev_err_set(err, "out of memory");
					return -1;
				}
			} else
				errtail_add(k, b, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EINTR))
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		closefd(&k->fd[i]);
		return 0;
	}
}

static void
feed(struct task *k)
{
	ssize_t n;

	while (k->inoff < k->in.len) {
		n = write(k->fd[0], k->in.p + k->inoff, k->in.len - k->inoff);
		if (n > 0) {
			k->inoff += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		break;		/* EPIPE: it does not read its input */
	}
	closefd(&k->fd[0]);
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
	closefd(&k->fd[0]);
	memset(&k->t.out, 0, sizeof(k->t.out));
	if (k->timedout)
		k->t.out.run = EV_RUN_TIMEOUT;
	else if (r < 0)
		k->t.out.run = EV_RUN_SIGNAL, k->t.out.sig = SIGKILL;
	else if (WIFSIGNALED(st))
		k->t.out.run = EV_RUN_SIGNAL, k->t.out.sig = WTERMSIG(st);
	else if (WEXITSTATUS(st) != 0)
		k->t.out.run = EV_RUN_EXIT, k->t.out.status = WEXITSTATUS(st);
	else
		k->t.out.run = EV_RUN_OK;
	/* the rest of the group: nothing of an attempt outlives it */
	if (k->t.out.run != EV_RUN_OK || k->timedout)
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

/* k's attempt ended: retry it later or mark it finished. */
static void
settle(struct ev_sched *s, struct task *k)
{
	size_t i;
	int64_t delay = 0;

	k->t.errlen = k->ringlen;
	for (i = 0; i < k->ringlen; i++)
		k->t.errtail[i] = k->ring[(k->ringpos + EV_STDERR_TAIL -
		    k->ringlen + i) % EV_STDERR_TAIL];
	ev_outcome_name(&k->t.out, k->t.name, sizeof(k->t.name));
	k->t.output = k->out.p ? k->out.p : "";
	k->t.outlen = k->out.len;
	k->t.exhausted = NULL;
	if (k->t.out.run == EV_RUN_OK)
		return;
	if (ev_retry_decide(s->o.retriers, s->o.nretriers, k->counts,
	    k->t.name, ev_outcome_final(&k->t.out), &s->seed, &delay,
	    &k->t.exhausted) >= 0) {
		k->st = T_WAIT;
		k->due = ev_now_ms() + delay;
		if (too_old(s, k, k->due)) {
			k->st = T_DONE;
			k->t.exhausted = "MaximumEventAgeInSeconds";
		}
	}
}

/* Hand finished tasks to done, in order with keep_order. */
static int
emit(struct ev_sched *s, struct ev_err *err)
{
	size_t i, j;
	int r = 0;

	for (i = 0; i < s->n; i++) {
		if (s->q[i]->st == T_DONE) {
			s->q[i]->st = T_GONE;
			s->pending--;
			if (s->done(s->ctx, &s->q[i]->t, err) < 0) {
				r = -1;
				break;
			}
		} else if (s->q[i]->st != T_GONE && s->o.keep_order)
			break;
	}
	for (i = j = 0; i < s->n; i++) {
		if (s->q[i]->st == T_GONE)
			task_free(s->q[i]);
		else
			s->q[j++] = s->q[i];
	}
	s->n = j;
	return r;
}

static int
grow_poll(struct ev_sched *s, size_t need)
{
	struct pollfd *p;
	struct task **o;

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
	s->pcap = need;
	return 0;
}

int
ev_sched_run(struct ev_sched *s, long until, struct ev_err *err)
{
	struct task *k;
	size_t i, np;
	int64_t now, mono, wait, d;
	int passes = 0, r, reaping;

	for (;;) {
		if (ev_stop_signal() != 0)
			return 0;
		now = ev_now_ms();
		for (i = 0; i < s->n && s->running < (size_t)s->o.jobs; i++) {
			k = s->q[i];
			if (k->st != T_WAIT || k->due > now)
				continue;
			if (k->t.attempts == 0 && too_old(s, k, now)) {
				k->st = T_DONE;
				k->t.first_ms = k->t.last_ms = now;
				snprintf(k->t.name, sizeof(k->t.name), "%s",
				    "Event.Expired");
				k->t.output = "";
				k->t.exhausted = "MaximumEventAgeInSeconds";
				continue;
			}
			if (spawn(s, k, err) < 0)
				return -1;
			if (k->st == T_DONE)
				settle(s, k);
		}
		if (emit(s, err) < 0)
			return -1;
		if (until >= 0 ? s->pending < (size_t)(until ? until : 1) &&
		    (until > 0 || s->pending == 0) : passes > 0)
			return 0;
		passes++;
		/* what to wait for */
		now = ev_now_ms();
		mono = mono_ms();
		wait = -1;
		reaping = 0;
		if (grow_poll(s, s->n * 3 + 1) < 0) {
			ev_err_set(err, "out of memory");
			return -1;
		}
		np = 0;
		for (i = 0; i < s->n; i++) {
			k = s->q[i];
			if (k->st == T_WAIT && s->running < (size_t)s->o.jobs) {
				d = k->due > now ? k->due - now : 0;
				if (wait < 0 || d < wait)
					wait = d;
			}
			if (k->st != T_RUN)
				continue;
			if (k->deadline) {
				d = k->deadline > mono ? k->deadline - mono : 0;
				if (wait < 0 || d < wait)
					wait = d;
			}
			if (k->fd[1] < 0 && k->fd[2] < 0)
				reaping = 1;
			for (r = 0; r < 3; r++) {
				if (k->fd[r] < 0)
					continue;
				s->pfd[np].fd = k->fd[r];
				s->pfd[np].events = r ? POLLIN : POLLOUT;
				s->pown[np++] = k;
			}
		}
		if (reaping && (wait < 0 || wait > 5))
			wait = 5;
		if (until >= 0 && s->running == 0 && wait > 0 &&
		    ev_clock_virtual()) {
			ev_clock_advance(wait);
			continue;
		}
		if (ev_stop_fd() >= 0) {
			s->pfd[np].fd = ev_stop_fd();
			s->pfd[np].events = POLLIN;
			s->pown[np++] = NULL;
		}
		if (until < 0)
			wait = 0;
		if (wait > 60000)
			wait = 60000;
		r = poll(s->pfd, np, (int)wait);
		if (r < 0 && errno != EINTR) {
			ev_err_set(err, "poll: %s", strerror(errno));
			ev_err_errno(err, errno);
			return -1;
		}
		for (i = 0; r > 0 && i < np; i++) {
			k = s->pown[i];
			if (k == NULL || s->pfd[i].revents == 0)
				continue;
			if (s->pfd[i].fd == k->fd[0])
				feed(k);
			else if (s->pfd[i].fd == k->fd[1]) {
				if (drain(k, 1, err) < 0)
					return -1;
			} else if (s->pfd[i].fd == k->fd[2])
				drain(k, 2, err);
		}
		mono = mono_ms();
		for (i = 0; i < s->n; i++) {
			k = s->q[i];
			if (k->st != T_RUN)
				continue;
			if (k->deadline && mono >= k->deadline &&
			    !k->timedout) {
				k->timedout = 1;
				kill(-k->pid, SIGKILL);
				closefd(&k->fd[0]);
				closefd(&k->fd[1]);
				closefd(&k->fd[2]);
			}
			if (reap(s, k, k->timedout))
				settle(s, k);
		}
	}
}
