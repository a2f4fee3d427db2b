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
	EV_RUN_NOEXEC
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
 * any other name only itself.
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

struct ev_sched_opts {
	char *const *argv;	/* the command (borrowed) */
	int jobs;		/* handlers at once, >= 1 */
	enum ev_feed feed;
	const char *feed_name;	/* EV_FEED_ENV */
	int64_t timeout_ms;	/* per attempt, real time; 0 none */
	const struct ev_retrier *retriers;	/* borrowed */
	int nretriers;
	int keep_order;
	uint64_t seed;		/* for full jitter; 0 picks one */
};

struct ev_sched;

/*
 * A scheduler for opts (copied; what it points to is borrowed) calling
 * done for each finished task.  NULL when memory runs out.
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
/* Tasks added and not yet handed to done. */
size_t ev_sched_pending(const struct ev_sched *s);
/*
 * Run handlers: start tasks that are due while fewer than jobs run, wait
 * (poll(2), never sleeping per event) for output, exits, timeouts and
 * due times, and hand finished tasks to done.  Returns once fewer than
 * `until` tasks are pending (0: all done), or at once after one pass
 * when until is negative, or when a stop signal came (ev_stop_fd()).
 * On the virtual clock (EVKIT_NOW), when nothing runs and the next task
 * is due later, the clock is advanced to that time.  0, or -1 with err.
 */
int ev_sched_run(struct ev_sched *s, long until, struct ev_err *err);

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

#endif
