/*
 * proc.h - running handler programs for events: spawning a command
 * directly (never through a shell) in a process group of its own, the
 * Amazon States Language error names and Retry policy, a scheduler of due
 * times that runs several handlers at once, and the toolkit's one
 * dead-letter record (evkit(7), DEAD LETTERS).
 */
#ifndef EV_PROC_H
#define EV_PROC_H

#include <stdint.h>
#include <sys/types.h>

#include "base/base.h"
#include "json/json.h"

/* --------------------------------------------------------------- policy */

/*
 * How one attempt ended.  EV_RUN_NOEXEC: the command could not be run
 * (errnum ENOENT: "Exec.NotFound", anything else, EACCES first:
 * "Exec.NotExecutable"); it, and exit statuses 126 and 127, never succeed
 * on a retry, so no retrier retries them.
 */
enum ev_run {
	EV_RUN_OK = 0,
	EV_RUN_EXIT,		/* exit status != 0: "Exit.N" */
	EV_RUN_SIGNAL,		/* killed by a signal: "Signal.NAME" */
	EV_RUN_TIMEOUT,		/* killed by the timeout: "States.Timeout" */
	EV_RUN_NOEXEC,
	EV_RUN_ANSWER,		/* a persistent handler answered an error:
				   the name is the answer's (ev_task.name) */
	EV_RUN_DATALIMIT	/* its output passed max_output, killed:
				   "States.DataLimitExceeded" */
};

struct ev_outcome {
	enum ev_run run;
	int status;		/* EV_RUN_EXIT */
	int sig;		/* EV_RUN_SIGNAL */
	int errnum;		/* EV_RUN_NOEXEC */
};

/* The error name of an outcome ("Exit.75", "Signal.KILL"), into buf. */
void ev_outcome_name(const struct ev_outcome *o, char *buf, size_t size);
/* True when retrying cannot help (EV_RUN_NOEXEC, exit 126 or 127). */
int ev_outcome_final(const struct ev_outcome *o);

/*
 * An ASL Retrier.  errors: the ErrorEquals names (borrowed); the defaults
 * are ASL's: interval 1s, max_attempts 3, backoff 2.0, no max_delay (0),
 * no jitter.
 */
struct ev_retrier {
	const char *const *errors;
	int nerrors;
	int64_t interval_ms;
	int max_attempts;
	double backoff;
	int64_t max_delay_ms;	/* 0: no cap */
	int jitter_full;
};

/* Fill r with ASL's defaults and ErrorEquals ["States.ALL"]. */
void ev_retrier_default(struct ev_retrier *r);
/*
 * Does the error named name match retrier r's ErrorEquals?  States.ALL
 * matches every error, States.TaskFailed every error but States.Timeout,
 * any other name only itself; the terminal States.DataLimitExceeded is
 * matched by its own name only, as in Step Functions.
 */
int ev_retrier_matches(const struct ev_retrier *r, const char *name);
/*
 * The delay before retry number n (1 for the first retry) of retrier r:
 * interval * backoff^(n-1), capped at max_delay; with full jitter a
 * random delay from 0 to that, drawn from *seed (ev_rand()).
 */
int64_t ev_retrier_delay(const struct ev_retrier *r, int n, uint64_t *seed);
/*
 * ASL's decision after a failed attempt with error name: the first
 * retrier (of n, in order) whose ErrorEquals matches decides; when its
 * counter counts[i] has reached its MaxAttempts the event has failed,
 * else the counter goes up and *delay_ms is set.  Returns the retrier's
 * index, or -1 when the event failed for good; *why is then
 * "MaxAttempts" (the matching retrier is exhausted), "NoRetrier" (none
 * matches) or "NotRetryable" (final is true).
 */
int ev_retry_decide(const struct ev_retrier *rs, int n, int *counts,
    const char *name, int final, uint64_t *seed, int64_t *delay_ms,
    const char **why);
/* A xorshift64* generator: the next value from *seed (nonzero). */
uint64_t ev_rand(uint64_t *seed);

/* ----------------------------------------------------------------- json */

/* Append s[0..n) to b as a JSON string, quotes included.  0 or -1 (OOM). */
int ev_json_quote(struct ev_buf *b, const char *s, size_t n);

/* ---------------------------------------------------------------- sched */

/* How a handler gets its event. */
enum ev_feed {
	EV_FEED_STDIN = 0,	/* the event and a newline on its stdin */
	EV_FEED_ARG,		/* as its last argument */
	EV_FEED_ENV		/* in the environment variable feed_name */
};

#define EV_STDERR_TAIL 1024

/* An event that is done, for good or for bad. */
struct ev_task {
	const char *event;	/* the original line, without its newline */
	size_t len;
	const char *file;	/* where it came from */
	unsigned long lineno;
	struct ev_outcome out;	/* of the last attempt */
	char name[48];		/* its error name, "" on success */
	const char *exhausted;	/* why it failed for good, NULL on success */
	const char *output;	/* the handler's stdout (last attempt) */
	size_t outlen;
	char errtail[EV_STDERR_TAIL];	/* last bytes of its stderr */
	size_t errlen;
	int attempts;
	int64_t first_ms, last_ms;	/* first and last attempt's start */
	/*
	 * Optional, for an event bus's target (evroute); NULL leaves them
	 * out of the record: the payload made for the target, and
	 * EventBridge's dead-letter attributes RULE_ARN, TARGET_ARN and
	 * ERROR_MESSAGE (ERROR_CODE is name, EXHAUSTED_RETRY_CONDITION
	 * exhausted, RETRY_ATTEMPTS attempts - 1).
	 */
	const char *payload;
	size_t paylen;
	const char *rule_arn, *target_arn, *message;
};

/*
 * Called for each finished task, in the order tasks finish or, with
 * keep_order, in the order they were added.  Return 0, or -1 to stop the
 * scheduler (ev_sched_* then return -1 with what the callback put in err).
 */
typedef int (*ev_sched_fn)(void *ctx, const struct ev_task *t,
    struct ev_err *err);

/* What an attempt may write, buffered until it ends: 256 MiB. */
#define EV_SCHED_MAX_OUTPUT ((int64_t)256 << 20)

struct ev_sched_opts {
	char *const *argv;	/* the command (borrowed) */
	int jobs;		/* handlers at once, >= 1 */
	enum ev_feed feed;
	const char *feed_name;	/* EV_FEED_ENV */
	int64_t timeout_ms;	/* per attempt, real time; 0 none */
	/*
	 * An attempt whose standard output passes this many bytes (0:
	 * EV_SCHED_MAX_OUTPUT) is killed: States.DataLimitExceeded.
	 */
	int64_t max_output;
	const struct ev_retrier *retriers;	/* borrowed */
	int nretriers;
	int keep_order;
	uint64_t seed;		/* for full jitter; 0 picks one */
	/*
	 * Give up on an event older than this by its "time"
	 * (ev_event_time(); none: never too old) rather than start an
	 * attempt, or decide a retry, after that age: its task is done with
	 * exhausted "MaximumEventAgeInSeconds" (and error "Event.Expired"
	 * when no attempt was made).  0: no limit.
	 */
	int64_t max_age_ms;
	/*
	 * Long-running handlers (evretry(1), PROTOCOL): jobs processes each
	 * read events, one line each, on their stdin and answer one line per
	 * event in order; at most inflight events (0: EV_SCHED_INFLIGHT) are
	 * sent to one before it answers, and none while 4 MiB it has not
	 * read wait.  A per-event timeout_ms counts from
	 * when the event is the oldest one unanswered.  feed must be
	 * EV_FEED_STDIN.
	 */
	int persistent;
	int inflight;
	/* Start at most rate_n attempts per rate_ms (0: no limit), evenly. */
	int rate_n;
	int64_t rate_ms;
	/* Stop after this many failed attempts in a row (0: never). */
	int breaker;
	/*
	 * Called with a message when a persistent handler breaks the
	 * protocol (answers a line no event was sent for); NULL: ignored.
	 */
	void (*note)(void *ctx, const char *msg);
	/*
	 * In-process attempts (argv unused, no process): each attempt of a
	 * task calls attempt(ctx, ev, len, name, nsize, msg) with done's ctx
	 * and the task's event; it returns 0 (success), 1 (failed, may be
	 * retried) or 2 (failed for good), a failure with its error name in
	 * name (NUL-terminated; "" gives States.TaskFailed) and a message
	 * appended to msg (kept as the task's stderr text); -1 stops the
	 * scheduler with msg as the error.  Used by evroute's in-process
	 * targets (file, store, http) to retry on this scheduler.
	 */
	int (*attempt)(void *ctx, const char *ev, size_t len, char *name,
	    size_t nsize, struct ev_buf *msg);
	/* max_age_ms counts from when the task was added, not its "time". */
	int age_from_add;
};

#define EV_SCHED_INFLIGHT 1024
/* The member of a persistent handler's error answer (evretry(1)). */
#define EV_SCHED_ERROR_MEMBER "evkit-error"

/* Why ev_sched_stopped() says the scheduler stopped starting tasks. */
enum ev_sched_stop {
	EV_SCHED_RUNNING = 0,
	EV_SCHED_SIGNAL,	/* a stop signal (ev_stop_install()) */
	EV_SCHED_BREAKER	/* opts.breaker failed attempts in a row */
};

struct ev_sched;

/*
 * A scheduler for opts (copied; what it points to is borrowed) calling
 * done for each finished task.  NULL when memory runs out.  SIGPIPE must
 * be ignored (ev_init() does): a handler may not read its input.
 */
struct ev_sched *ev_sched_new(const struct ev_sched_opts *opts,
    ev_sched_fn done, void *ctx);
/* Kill what still runs (its process groups), and free s.  NULL: no-op. */
void ev_sched_free(struct ev_sched *s);
/*
 * Add an event (copied; file borrowed).  It starts when a slot is free
 * and its due time has come, during ev_sched_run().  0, or -1 (OOM).
 */
int ev_sched_add(struct ev_sched *s, const char *ev, size_t len,
    const char *file, unsigned long lineno, struct ev_err *err);
/*
 * ev_sched_add() with a group key key[0..klen) (copied; NULL: no group):
 * of the tasks with equal keys one runs at a time, in the order they were
 * added (an SQS FIFO message group), a task waiting for a retry holding
 * back the later ones.
 */
int ev_sched_add_key(struct ev_sched *s, const char *ev, size_t len,
    const char *key, size_t klen, const char *file, unsigned long lineno,
    struct ev_err *err);
/*
 * ev_sched_add() of ev[0..len), what the handler gets, for the event
 * orig[0..olen) (copied): the finished task's event is orig and its
 * payload ev (the dead-letter record of a bus's target, ev_dlq_record()).
 * due: when its first attempt may start (ev_now_ms() time; 0: now).
 */
int ev_sched_add_orig(struct ev_sched *s, const char *ev, size_t len,
    const char *orig, size_t olen, const char *file, unsigned long lineno,
    int64_t due, struct ev_err *err);
/* Tasks added and not yet handed to done. */
size_t ev_sched_pending(const struct ev_sched *s);
/* Tasks whose attempt runs now (a process, or sent down a handler). */
size_t ev_sched_running(const struct ev_sched *s);
/* The bytes of their events. */
size_t ev_sched_pending_bytes(const struct ev_sched *s);
/*
 * Whether the scheduler stopped starting tasks, and why.  After a stop
 * signal it lets what runs finish (its failures wait for a retry that
 * does not come); after a second one it kills what runs and hands those
 * tasks to done as failed for good, exhausted "Stopped", error
 * "Signal.KILL".  The breaker lets what runs finish.
 */
enum ev_sched_stop ev_sched_stopped(const struct ev_sched *s);
/*
 * Hand each task that is not running and not done (never started, or
 * waiting for a retry) to fn, in the order they were added, and forget
 * them: what a stopped scheduler did not run.  0, or what fn returned.
 */
int ev_sched_unstarted(struct ev_sched *s, ev_sched_fn fn, void *ctx,
    struct ev_err *err);
/*
 * Parse a rate "N/s" or "N/m" (N from 1 to 1000000) into *n per *per_ms.
 * 0, or -1 with err set ("invalid rate 'X': expected N/s or N/m").
 */
int ev_rate_parse(const char *s, int *n, int64_t *per_ms,
    struct ev_err *err);
/*
 * Run handlers: start tasks that are due while fewer than jobs run (and
 * the rate allows, and their group is free), wait (poll(2), never
 * sleeping per event) for output, exits, timeouts and due times, and hand
 * finished tasks to done.  Returns once fewer than `until` tasks are
 * pending (0: all done), or at once after one pass when until is
 * negative, or, once stopped (ev_sched_stopped()), when nothing runs.
 * On the virtual clock (EVKIT_NOW) timeouts count virtual time too; when
 * nothing runs, or what runs has been silent (no output, no exit) for
 * 1s of real time, the clock is advanced to the next due time or
 * deadline.  0, or -1 with err.
 */
int ev_sched_run(struct ev_sched *s, long until, struct ev_err *err);
/*
 * ev_sched_run() that also returns once max_ms of real time have passed
 * (after one pass at least): for a caller that runs several schedulers
 * in turn.
 */
int ev_sched_run_for(struct ev_sched *s, long until, int64_t max_ms,
    struct ev_err *err);

/* ------------------------------------------------------------------ dlq */

/*
 * Append the dead-letter record of t to b, one JSON object and a newline:
 * {"event":<the original bytes>,"error":NAME,"status":N|null,
 * "signal":NAME|null,"stderr":TEXT,"attempts":N,"exhausted":WHY,
 * "firstAttempt":RFC3339,"lastAttempt":RFC3339,"source":FILE,"line":N}.
 * With t->rule_arn set, two more members before the closing brace:
 * "payload":TEXT (t->payload as a JSON string, or null) and
 * "attributes":{"RULE_ARN":..,"TARGET_ARN":..,"ERROR_CODE":..,
 * "ERROR_MESSAGE":..,"EXHAUSTED_RETRY_CONDITION":..,"RETRY_ATTEMPTS":N}.
 * 0, or -1 when memory runs out.
 */
int ev_dlq_record(struct ev_buf *b, const struct ev_task *t);

/* ------------------------------------------- policy files (asl.c, dlq.c) */

/*
 * Append s[0..n) to b as a JSON string, bytes that are not valid UTF-8
 * written as U+FFFD (stderr text).  0 or -1 (OOM).
 */
int ev_json_quote_text(struct ev_buf *b, const char *s, size_t n);

/*
 * An ASL Catcher.  errors: its ErrorEquals; next: the Next as written, a
 * file to append to, or "exec:PROG ARG ..." (argv: PROG and its
 * arguments split at blanks, never through a shell; NULL for a file);
 * result_path: "$", "$.a.b", or NULL for ResultPath null.
 */
struct ev_catcher {
	const char *const *errors;
	int nerrors;
	const char *next;
	char **argv;
	const char *result_path;
};

enum ev_asl_kind { EV_ASL_RETRY, EV_ASL_CATCH };

/* A Retry or a Catch array read from a file; strings live in doc. */
struct ev_policy {
	struct ev_retrier *retriers;
	int nretriers;
	struct ev_catcher *catchers;
	int ncatchers;
	struct ev_jdoc doc;
	char *text;
};

/*
 * Parse text[0..len) (malloc'd, owned by p from now on, freed by
 * ev_policy_free() even on failure) as an ASL Retry (kind EV_ASL_RETRY)
 * or Catch array, or as a Task state object holding one as its "Retry" or
 * "Catch" member (other members are ignored), and validate it as Step
 * Functions does: known fields only, ErrorEquals a non-empty array of
 * names, "States.ALL" alone in its ErrorEquals and only in the last
 * element, no unknown "States." name, IntervalSeconds 1..99999999,
 * MaxAttempts 0..99999999, BackoffRate >= 1.0, MaxDelaySeconds
 * 1..31622400, JitterStrategy "FULL" or "NONE", Next a non-empty string,
 * ResultPath null, "$" or "$.name...".  Returns 0, or -1 with err located
 * (line and column; err->file untouched).
 */
int ev_policy_parse(struct ev_policy *p, enum ev_asl_kind kind, char *text,
    size_t len, struct ev_err *err);
/* Read path and ev_policy_parse() it; err->file is path (borrowed). */
int ev_policy_load(struct ev_policy *p, enum ev_asl_kind kind,
    const char *path, struct ev_err *err);
/* Release what p holds.  NULL is a no-op. */
void ev_policy_free(struct ev_policy *p);
/* The first catcher of p whose ErrorEquals matches name, or -1. */
int ev_catch_find(const struct ev_policy *p, const char *name);
/*
 * Append to b the event ev[0..len) with the error output
 * {"Error":name,"Cause":cause} placed at ASL ResultPath path: "$"
 * replaces the event, NULL keeps it unchanged, "$.a.b" sets member b of
 * member a (objects made on the way when missing).  Returns 0; 1 with err
 * set when the path runs into something not an object
 * (States.ResultPathMatchFailure); -1 with err when ev is not JSON or
 * memory runs out.
 */
int ev_catch_result(struct ev_buf *b, const char *ev, size_t len,
    const char *path, const char *name, const char *cause, size_t clen,
    struct ev_err *err);

/*
 * A dead-letter record read back (ev_dlq_record()): line[0..len) must be a
 * JSON object with an "event" object, and "error" and "exhausted"
 * strings.  Stores where the original event's bytes are in line.  Returns
 * 0, or -1 with err (col set): "invalid JSON: ...", "not a dead-letter
 * record: missing member 'event'", "... 'event' must be an object".
 */
int ev_dlq_event(const char *line, size_t len, const char **ev,
    size_t *evlen, struct ev_err *err);
/*
 * When the event ev[0..len) was made: its "time" (RFC 3339, or seconds
 * since 1970) in ms since 1970, or INT64_MIN when it has no valid one.
 */
int64_t ev_event_time(const char *ev, size_t len);
/*
 * Does path name the same regular file as one of files[0..n) ("-" or
 * n == 0: standard input)?  Returns the name it matches ("<stdin>"), or
 * NULL.
 */
const char *ev_file_is_input(const char *path, char *const *files, int n);

/*
 * The destinations of a Catch policy p (borrowed), opened: each catcher
 * whose Next is a file gets it opened for appending (one sink per name),
 * unless it is one of reads[0..nreads) (as ev_file_is_input(): then err
 * is "input file is also the catch file" with err->file that name); each
 * catcher whose Next is "exec:..." gets a scheduler made from so (its
 * timeout, seed; one job, the event on standard input, no retries).
 * NULL with err set when a file cannot be opened or memory runs out.
 */
struct ev_catch;
struct ev_catch *ev_catch_open(const struct ev_policy *p,
    const struct ev_sched_opts *so, char *const *reads, int nreads,
    struct ev_err *err);
/*
 * Hand t, which failed for good, to the first catcher matching its error
 * name: the event with the error output at the catcher's ResultPath is
 * appended to its file, or fed to its command (which runs to its end
 * now; its standard output is appended to out as whole lines).  Returns
 * 1 when a catcher took the event; 0 when none did: no catcher matches
 * (err untouched), or the ResultPath does not match the event, the
 * command failed, the file's reader has gone (err->msg says which); -1
 * with err on a write error or when memory runs out.
 */
int ev_catch_event(struct ev_catch *c, const struct ev_task *t,
    struct ev_buf *out, struct ev_err *err);
/*
 * Kill what still runs, close the files and free c.  0, or -1 with the
 * first write error in err (when not NULL).  NULL is a no-op.
 */
int ev_catch_close(struct ev_catch *c, struct ev_err *err);

#endif
