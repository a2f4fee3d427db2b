/*
 * evretry - run a handler for each event, retrying failures with Amazon
 * States Language Retry semantics; what fails for good is dead-lettered.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evkit.h"

static const char usage_text[] =
    "usage: evretry [-j JOBS] [--arg | --env NAME] [--backoff-rate RATE] "
    "[--dlq FILE]\n"
    "               [--interval DURATION] [--jitter full | none] "
    "[--keep-order]\n"
    "               [--max-attempts COUNT] [--max-delay DURATION]\n"
    "               [--max-output SIZE] [--pass] [--reject FILE] "
    "[--timeout DURATION]\n"
    "               [--catch FILE] [--max-age DURATION] "
    "[--redrive FILE ...]\n"
    "               [--retry FILE] [--breaker COUNT] [--group-by PATH]\n"
    "               [--inflight COUNT] [--pending FILE] [--persistent]\n"
    "               [--rate N/s | N/m] [--] COMMAND [ARG ...]\n";

enum {
	OPT_ARG = 256, OPT_BACKOFF, OPT_DLQ, OPT_ENV, OPT_INTERVAL,
	OPT_JITTER, OPT_KEEP, OPT_MAXATT, OPT_MAXDELAY, OPT_MAXOUT, OPT_PASS,
	OPT_REJECT, OPT_TIMEOUT, OPT_VERSION,
	/* policy files, age, redrive */
	OPT_CATCH, OPT_MAXAGE, OPT_REDRIVE, OPT_RETRY,
	/* the scheduler's */
	OPT_BREAKER, OPT_GROUP, OPT_INFLIGHT, OPT_PENDING, OPT_PERSIST,
	OPT_RATE
};

static const struct option longopts[] = {
	{ "arg", no_argument, NULL, OPT_ARG },
	{ "backoff-rate", required_argument, NULL, OPT_BACKOFF },
	{ "dlq", required_argument, NULL, OPT_DLQ },
	{ "env", required_argument, NULL, OPT_ENV },
	{ "help", no_argument, NULL, 'h' },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "jitter", required_argument, NULL, OPT_JITTER },
	{ "jobs", required_argument, NULL, 'j' },
	{ "keep-order", no_argument, NULL, OPT_KEEP },
	{ "max-attempts", required_argument, NULL, OPT_MAXATT },
	{ "max-delay", required_argument, NULL, OPT_MAXDELAY },
	{ "max-output", required_argument, NULL, OPT_MAXOUT },
	{ "pass", no_argument, NULL, OPT_PASS },
	{ "reject", required_argument, NULL, OPT_REJECT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "version", no_argument, NULL, OPT_VERSION },
	/* policy files, age, redrive */
	{ "catch", required_argument, NULL, OPT_CATCH },
	{ "max-age", required_argument, NULL, OPT_MAXAGE },
	{ "redrive", required_argument, NULL, OPT_REDRIVE },
	{ "retry", required_argument, NULL, OPT_RETRY },
	/* the scheduler's */
	{ "breaker", required_argument, NULL, OPT_BREAKER },
	{ "group-by", required_argument, NULL, OPT_GROUP },
	{ "inflight", required_argument, NULL, OPT_INFLIGHT },
	{ "pending", required_argument, NULL, OPT_PENDING },
	{ "persistent", no_argument, NULL, OPT_PERSIST },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ NULL, 0, NULL, 0 }
};

static struct {
	int pass;
	int64_t jobs;
	unsigned long failed;
	struct ev_sink *dlq;
	struct ev_path *time;
	struct ev_sched *sched;
	/* policy files, redrive */
	const char *retry, *catch;
	struct ev_policy rp, cp;
	struct ev_catch *caught;
	char **reads;		/* --redrive files or "-", policy files */
	int ninputs, redrive;
	/* the scheduler's */
	long ahead;		/* events read ahead */
	int batch;		/* --persistent */
	struct ev_path *group;
	struct ev_buf key;
	struct ev_sink *pending;
	unsigned long npending;
	int tripped, protocol;
} opt;

static void
usage(void)
{
	fputs(usage_text, stderr);
	exit(EV_EXIT_ERROR);
}

/*
 * Events read ahead are at most 4 * jobs + 16: enough that a retry waiting
 * for its due time does not hold back the events after it.  Persistent
 * handlers get them in batches: up to 2 * jobs * inflight events, or
 * AHEAD_BYTES of them.
 */
#define AHEAD_BYTES (64 * 1024 * 1024)

/* A handler's output downstream, as whole lines. */
static void
out_lines(const char *p, size_t n)
{
	if (n == 0)
		return;
	ev_out_write(p, n);
	if (p[n - 1] != '\n')
		ev_out_write("\n", 1);
}

/* A finished event: its output downstream, a catcher, or a dead letter. */
static int
on_done(void *ctx, const struct ev_task *t, struct ev_err *err)
{
	struct ev_buf b = { NULL, 0, 0 };
	struct ev_err e;
	int r;

	if (t->exhausted == NULL) {
		if (opt.pass)
			ev_out_line(t->event, t->len);
		else
			out_lines(t->output, t->outlen);
		return 0;
	}
	if (opt.caught != NULL) {
		ev_err_clear(&e);
		r = ev_catch_event(opt.caught, t, &b, &e);
		out_lines(b.p, b.len);
		ev_buf_free(&b);
		if (r < 0) {
			*err = e;
			return -1;
		}
		if (r > 0)
			return 0;
		if (e.msg[0] != '\0')
			ev_warnx("%s:%lu: %s", t->file, t->lineno, e.msg);
	}
	opt.failed++;
	ev_warnx("%s:%lu: %s after %d attempt%s (%s)", t->file, t->lineno,
	    t->name, t->attempts, t->attempts == 1 ? "" : "s", t->exhausted);
	if (opt.dlq == NULL)
		return 0;
	if (ev_dlq_record(&b, t) < 0) {
		ev_err_set(err, "out of memory");
		return -1;
	}
	ev_sink_write(opt.dlq, b.p, b.len);
	ev_buf_free(&b);
	return ev_sink_closed(opt.dlq) ? ev_sink_error(opt.dlq, err) : 0;
}

/* An event not run goes to the --pending file, byte for byte. */
static int
on_pending(void *ctx, const struct ev_task *t, struct ev_err *err)
{
	opt.npending++;
	if (opt.pending == NULL)
		return 0;
	ev_sink_line(opt.pending, t->event, t->len);
	return ev_sink_closed(opt.pending) ? ev_sink_error(opt.pending, err) :
	    0;
}

static void
on_note(void *ctx, const char *msg)
{
	ev_warnx("%s", msg);
	opt.protocol = 1;
}

/*
 * The breaker opened: let what runs finish, then what was not run, and
 * from now on every event read, goes to the --pending file.
 */
static int
trip(struct ev_err *err)
{
	opt.tripped = 1;
	if (ev_sched_run(opt.sched, 0, err) < 0)
		return -1;
	return ev_sched_unstarted(opt.sched, on_pending, NULL, err);
}

static enum ev_verdict
on_line(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	struct ev_task t;
	const char *ev, *v, *key = NULL;
	size_t evlen, vlen, n;
	long until;
	int r = 0;

	ev = ln->buf;
	evlen = ln->len;
	if (opt.redrive && ev_dlq_event(ln->buf, ln->len, &ev, &evlen,
	    err) < 0)
		return EV_BAD;
	/* the event is checked when it is read, its group key found */
	if ((!opt.redrive || opt.group != NULL) &&
	    (r = ev_path_get(opt.group ? opt.group : opt.time, ev, evlen, &v,
	    &vlen, err)) < 0)
		return EV_BAD;
	if (opt.group != NULL && r > 0) {
		opt.key.len = 0;
		if (ev_json_canon(v, vlen, &opt.key, err) < 0)
			return EV_FAIL;
		key = opt.key.p;
	}
	if (opt.tripped) {
		t.event = ev;
		t.len = evlen;
		return on_pending(NULL, &t, err) < 0 ? EV_FAIL : EV_NEXT;
	}
	if (ev_sched_add_key(opt.sched, ev, evlen, key, opt.key.len,
	    ln->file, ln->lineno, err) < 0)
		return EV_FAIL;
	/*
	 * Persistent handlers get events in batches, others at once.
	 * Stopped by a signal, what is read waits for the --pending file.
	 */
	until = opt.ahead;
	if (opt.batch) {
		n = ev_sched_pending(opt.sched);
		until = n >= (size_t)opt.ahead ? opt.ahead / 2 :
		    ev_sched_pending_bytes(opt.sched) >= AHEAD_BYTES ?
		    (long)(n / 2 + 1) : 0;
	}
	if (ev_stop_signal() == 0 && until > 0 &&
	    ev_sched_run(opt.sched, until, err) < 0)
		return EV_FAIL;
	if (ev_sched_stopped(opt.sched) == EV_SCHED_BREAKER && !opt.tripped &&
	    trip(err) < 0)
		return EV_FAIL;
	return ev_out_closed() ? EV_STOP : EV_NEXT;
}

/* The input runs dry: collect what has finished, without waiting. */
static enum ev_verdict
on_order(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	if (ln == NULL && !opt.tripped && ev_sched_run(opt.sched, -1, err) < 0)
		return EV_FAIL;
	return EV_NEXT;
}

/*
 * Load the --retry and --catch files, and open the catchers' files (none
 * may be read: reads[0..nreads)).  0, or -1 reported.
 */
static int
load_policy(const struct ev_sched_opts *so, char **reads, int nreads)
{
	struct ev_err err;

	ev_err_clear(&err);
	if ((opt.retry != NULL &&
	    ev_policy_load(&opt.rp, EV_ASL_RETRY, opt.retry, &err) < 0) ||
	    (opt.catch != NULL &&
	    (ev_policy_load(&opt.cp, EV_ASL_CATCH, opt.catch, &err) < 0 ||
	    (opt.caught = ev_catch_open(&opt.cp, so, reads, nreads,
	    &err)) == NULL))) {
		ev_diag(&err);
		return -1;
	}
	return 0;
}

/*
 * The dead-letter or pending file (what) at path (open, so it exists) may
 * not also be the reject file (which the input loop would empty), a
 * catcher's file or, for the pending file, the dead-letter file dlq (lines
 * of two sinks, in two formats, would interleave).  0, or -1 reported.
 */
static int
outputs_overlap(const char *path, const char *what, const char *dlq,
    const char *reject)
{
	char *d[] = { (char *)path };
	int i;

	if (dlq != NULL && ev_file_is_input(dlq, d, 1) != NULL) {
		ev_warnx("%s: %s file is also the dead-letter file", path, what);
		return -1;
	}
	if (reject != NULL && ev_file_is_input(reject, d, 1) != NULL) {
		ev_warnx("%s: %s file is also the reject file", path, what);
		return -1;
	}
	for (i = 0; i < opt.cp.ncatchers; i++)
		if (opt.cp.catchers[i].argv == NULL &&
		    ev_file_is_input(opt.cp.catchers[i].next, d, 1) != NULL) {
			ev_warnx("%s: %s file is also a catch file", path,
			    what);
			return -1;
		}
	return 0;
}

/*
 * Open path for --dlq or --pending (what), appending; none of the files
 * read (reads[0..nreads)) may be it.  Exits on an error.
 */
static struct ev_sink *
open_aside(const char *path, const char *what, char **reads, int nreads)
{
	struct ev_sink *sk;
	struct ev_err err;
	const char *s;

	if ((s = ev_file_is_input(path, reads, nreads)) != NULL) {
		ev_warnx("%s: input file is also the %s file", s, what);
		exit(EV_EXIT_ERROR);
	}
	ev_err_clear(&err);
	if ((sk = ev_sink_open(path, EV_SINK_APPEND, &err)) == NULL) {
		ev_diag(&err);
		exit(EV_EXIT_ERROR);
	}
	return sk;
}

int
main(int argc, char *argv[])
{
	static const char *const jitters[] = { "none", "full", NULL };
	struct ev_sched_opts so;
	struct ev_input_opts in;
	struct ev_retrier rt;
	struct ev_err err;
	const char *dlq = NULL, *s, *policy = NULL, *group = NULL;
	const char *pending = NULL;
	int64_t v;
	size_t sz;
	int c, bad, n;

	memset(&in, 0, sizeof(in));
	memset(&so, 0, sizeof(so));
	if (ev_init(argv[0]) < 0) {
		ev_warn("/dev/null");
		return EV_EXIT_ERROR;
	}
	argv[0] = (char *)ev_progname();
	ev_retrier_default(&rt);
	opt.jobs = 1;
	if ((opt.reads = calloc((size_t)argc + 3, sizeof(char *))) == NULL) {
		ev_warnx("out of memory");
		return EV_EXIT_ERROR;
	}
	while ((c = getopt_long(argc, argv, "+hj:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			return ev_out_info(usage_text);
		case 'j':
			if (ev_opt_int("-j", optarg, 1, 1024, &opt.jobs) < 0)
				usage();
			break;
		case OPT_ARG:
			so.feed = EV_FEED_ARG;
			break;
		case OPT_BACKOFF:
			if (ev_opt_real("--backoff-rate", optarg, 1.0, 1000.0,
			    &rt.backoff) < 0)
				usage();
			policy = "--backoff-rate";
			break;
		case OPT_DLQ:
			if (ev_opt_file("--dlq", optarg) < 0)
				usage();
			dlq = optarg;
			break;
		case OPT_ENV:
			if (*optarg == '\0' || strchr(optarg, '=') != NULL) {
				ev_warnx("invalid variable name '%s'", optarg);
				usage();
			}
			so.feed = EV_FEED_ENV;
			so.feed_name = optarg;
			break;
		case OPT_INTERVAL:
			if (ev_opt_duration("--interval", optarg, 0,
			    &rt.interval_ms) < 0)
				usage();
			policy = "--interval";
			break;
		case OPT_JITTER:
			if ((c = ev_opt_choice("--jitter", optarg,
			    jitters)) < 0)
				usage();
			rt.jitter_full = c;
			policy = "--jitter";
			break;
		case OPT_KEEP:
			so.keep_order = 1;
			break;
		case OPT_MAXATT:
			if (ev_opt_int("--max-attempts", optarg, 0, 99999999,
			    &v) < 0)
				usage();
			rt.max_attempts = (int)v;
			policy = "--max-attempts";
			break;
		case OPT_MAXDELAY:
			if (ev_opt_duration("--max-delay", optarg, 0,
			    &rt.max_delay_ms) < 0)
				usage();
			policy = "--max-delay";
			break;
		case OPT_MAXOUT:
			if (ev_opt_size("--max-output", optarg, 1, &sz) < 0)
				usage();
			so.max_output = sz > INT64_MAX ? INT64_MAX :
			    (int64_t)sz;
			break;
		case OPT_PASS:
			opt.pass = 1;
			break;
		case OPT_REJECT:
			if (ev_opt_file("--reject", optarg) < 0)
				usage();
			in.reject_path = optarg;
			break;
		case OPT_TIMEOUT:
			if (ev_opt_duration("--timeout", optarg, 0,
			    &so.timeout_ms) < 0)
				usage();
			break;
		case OPT_VERSION:
			return ev_out_info("evretry (evkit) " EV_VERSION "\n");
		/* policy files, age, redrive */
		case OPT_CATCH:
			opt.catch = optarg;
			break;
		case OPT_MAXAGE:
			if (ev_opt_duration("--max-age", optarg, 1,
			    &so.max_age_ms) < 0)
				usage();
			break;
		case OPT_REDRIVE:
			opt.reads[opt.ninputs++] = optarg;
			opt.redrive = 1;
			break;
		case OPT_RETRY:
			opt.retry = optarg;
			break;
		/* the scheduler's */
		case OPT_BREAKER:
			if (ev_opt_int("--breaker", optarg, 1, INT64_MAX,
			    &v) < 0)
				usage();
			so.breaker = v > INT32_MAX ? INT32_MAX : (int)v;
			break;
		case OPT_GROUP:
			group = optarg;
			break;
		case OPT_INFLIGHT:
			if (ev_opt_int("--inflight", optarg, 1, 65536, &v) < 0)
				usage();
			so.inflight = (int)v;
			break;
		case OPT_PENDING:
			if (ev_opt_file("--pending", optarg) < 0)
				usage();
			pending = optarg;
			break;
		case OPT_PERSIST:
			so.persistent = 1;
			break;
		case OPT_RATE:
			if (ev_rate_parse(optarg, &so.rate_n, &so.rate_ms,
			    &err) < 0) {
				ev_warnx("%s", err.msg);
				usage();
			}
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		ev_warnx("no command given");
		usage();
	}
	if (opt.retry != NULL && policy != NULL) {
		ev_warnx("options '--retry' and '%s' cannot be used together",
		    policy);
		usage();
	}
	if (so.persistent && so.feed != EV_FEED_STDIN) {
		ev_warnx("--persistent handlers read events on their stdin: "
		    "not with --arg or --env");
		usage();
	}
	if (so.breaker > 0 && pending == NULL) {
		ev_warnx("--breaker needs --pending for the events not run");
		usage();
	}
	ev_err_clear(&err);
	if (ev_clock_init(&err) < 0) {
		ev_diag(&err);
		return EV_EXIT_ERROR;
	}
	if ((s = getenv("EVKIT_SEED")) != NULL && *s != '\0')
		so.seed = strtoull(s, NULL, 10);
	if (!opt.redrive)
		opt.reads[opt.ninputs++] = "-";
	n = opt.ninputs;
	if (opt.retry != NULL)
		opt.reads[n++] = (char *)opt.retry;
	if (opt.catch != NULL)
		opt.reads[n++] = (char *)opt.catch;
	if (load_policy(&so, opt.reads, n) < 0)
		return EV_EXIT_ERROR;
	so.argv = argv;
	so.jobs = (int)opt.jobs;
	so.retriers = opt.retry ? opt.rp.retriers : &rt;
	so.nretriers = opt.retry ? opt.rp.nretriers : 1;
	so.note = on_note;
	if (group != NULL && (opt.group = ev_path_compile(group, &err)) ==
	    NULL) {
		ev_warnx("invalid --group-by '%s': %s", group, err.msg);
		usage();
	}
	opt.time = ev_path_compile("time", &err);
	opt.sched = ev_sched_new(&so, on_done, NULL);
	if (opt.time == NULL || opt.sched == NULL) {
		ev_warnx("out of memory");
		return EV_EXIT_ERROR;
	}
	/* read ahead: enough that a waiting retry holds nothing back */
	opt.batch = so.persistent;
	opt.ahead = so.persistent ? 2L * opt.jobs * (so.inflight ?
	    so.inflight : EV_SCHED_INFLIGHT) : opt.jobs * 4 + 16;
	if (dlq != NULL) {
		opt.dlq = open_aside(dlq, "dead-letter", opt.reads, n);
		if (outputs_overlap(dlq, "dead-letter", NULL,
			in.reject_path) < 0)
			return EV_EXIT_ERROR;
	}
	if (pending != NULL) {
		opt.pending = open_aside(pending, "pending", opt.reads, n);
		if (outputs_overlap(pending, "pending", dlq,
			in.reject_path) < 0)
			return EV_EXIT_ERROR;
	}
	in.order = on_order;
	in.read_files = (const char *const *)opt.reads + opt.ninputs;
	in.nread_files = n - opt.ninputs;
	ev_err_clear(&err);
	ev_stop_catch(2);	/* the second gives up on what runs */
	if (ev_stop_install(&err) < 0) {
		ev_diag(&err);
		return EV_EXIT_ERROR;
	}
	bad = ev_input_loop(opt.redrive ? opt.reads : NULL,
	    opt.redrive ? opt.ninputs : 0, &in, on_line, NULL);
	ev_err_clear(&err);
	if (bad >= 0 && (ev_sched_run(opt.sched, 0, &err) < 0 ||
	    ev_sched_unstarted(opt.sched, on_pending, NULL, &err) < 0)) {
		ev_diag(&err);
		bad = -1;
	}
	if (ev_sched_stopped(opt.sched) == EV_SCHED_BREAKER)
		opt.tripped = 1;
	if (opt.tripped)
		ev_warnx("breaker open after %d failed attempts in a row: %lu "
		    "events not run, written to '%s'", so.breaker,
		    opt.npending, pending);
	else if (opt.npending > 0 && pending != NULL)
		ev_warnx("stopped: %lu events not run, written to '%s'",
		    opt.npending, pending);
	else if (opt.npending > 0)
		ev_warnx("stopped: %lu events not run (no --pending file)",
		    opt.npending);
	ev_sched_free(opt.sched);
	ev_path_free(opt.time);
	ev_path_free(opt.group);
	ev_buf_free(&opt.key);
	ev_err_clear(&err);
	if (ev_sink_close(opt.pending, &err) < 0) {
		ev_diag(&err);
		bad = -1;
	}
	ev_err_clear(&err);
	if (ev_catch_close(opt.caught, &err) < 0) {
		ev_diag(&err);
		bad = -1;
	}
	ev_policy_free(&opt.rp);
	ev_policy_free(&opt.cp);
	free(opt.reads);
	ev_err_clear(&err);
	if (ev_sink_close(opt.dlq, &err) < 0) {
		ev_diag(&err);
		bad = -1;
	}
	ev_err_clear(&err);
	if (ev_out_close(&err) < 0) {
		ev_diag(&err);
		bad = -1;
	}
	if (bad == EV_INPUT_STOPPED || ev_stop_signal() != 0)
		return 128 + ev_stop_signal();
	if (bad != 0 || opt.protocol)
		return EV_EXIT_ERROR;
	return opt.failed || opt.tripped ? EV_EXIT_NONE : EV_EXIT_OK;
}
