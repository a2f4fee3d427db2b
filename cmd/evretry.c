/*
 * evretry - run a handler for each event, retrying failures with Amazon
 * States Language Retry semantics; what fails for good is dead-lettered.
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evkit.h"

static const char usage_text[] =
    "usage: evretry [-j JOBS] [--arg | --env NAME] [--backoff-rate RATE] "
    "[--dlq FILE]\n"
    "               [--interval DURATION] [--jitter full | none] "
    "[--keep-order]\n"
    "               [--max-attempts COUNT] [--max-delay DURATION] [--pass]\n"
    "               [--reject FILE] [--timeout DURATION]\n"
    "               [--breaker COUNT] [--group-by PATH] "
    "[--inflight COUNT]\n"
    "               [--pending FILE] [--persistent] [--rate N/s | N/m]\n"
    "               [--] COMMAND [ARG ...]\n";

enum {
	OPT_ARG = 256, OPT_BACKOFF, OPT_DLQ, OPT_ENV, OPT_INTERVAL,
	OPT_JITTER, OPT_KEEP, OPT_MAXATT, OPT_MAXDELAY, OPT_PASS,
	OPT_REJECT, OPT_TIMEOUT, OPT_VERSION,
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
	{ "pass", no_argument, NULL, OPT_PASS },
	{ "reject", required_argument, NULL, OPT_REJECT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "version", no_argument, NULL, OPT_VERSION },
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
	long jobs;
	unsigned long failed;
	struct ev_sink *dlq;
	struct ev_path *time;
	struct ev_sched *sched;
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

/* A whole number from lo to hi, or a usage error naming option. */
static long
number(const char *option, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) {
		ev_warnx("invalid %s '%s': expected a number from %ld to %ld",
		    option, s, lo, hi);
		usage();
	}
	return v;
}

static int64_t
duration(const char *option, const char *s)
{
	struct ev_err err;
	int64_t ms;

	ev_err_clear(&err);
	if (ev_duration_parse(s, &ms, &err) < 0) {
		ev_warnx("%s: %s", option, err.msg);
		usage();
	}
	return ms;
}

/*
 * Events read ahead are at most 4 * jobs + 16: enough that a retry waiting
 * for its due time does not hold back the events after it.  Persistent
 * handlers get them in batches: up to 2 * jobs * inflight events, or
 * AHEAD_BYTES of them.
 */
#define AHEAD_BYTES (64 * 1024 * 1024)

/* A finished event: its output downstream, or a dead letter. */
static int
on_done(void *ctx, const struct ev_task *t, struct ev_err *err)
{
	struct ev_buf b = { NULL, 0, 0 };

	if (t->exhausted == NULL) {
		if (opt.pass)
			ev_out_line(t->event, t->len);
		else if (t->outlen > 0) {
			ev_out_write(t->output, t->outlen);
			if (t->output[t->outlen - 1] != '\n')
				ev_out_write("\n", 1);
		}
		return 0;
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
	const char *v, *key = NULL;
	size_t vlen, n;
	long until;
	int r;

	r = ev_path_get(opt.group ? opt.group : opt.time, ln->buf, ln->len,
	    &v, &vlen, err);
	if (r < 0)
		return EV_BAD;
	if (opt.group != NULL && r > 0) {
		opt.key.len = 0;
		if (ev_json_canon(v, vlen, &opt.key, err) < 0)
			return EV_FAIL;
		key = opt.key.p;
	}
	if (opt.tripped) {
		t.event = ln->buf;
		t.len = ln->len;
		return on_pending(NULL, &t, err) < 0 ? EV_FAIL : EV_NEXT;
	}
	if (ev_sched_add_key(opt.sched, ln->buf, ln->len, key, opt.key.len,
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

/* Open FILE for --dlq or --pending (what), appending; not the input. */
static struct ev_sink *
open_aside(const char *path, const char *what)
{
	struct ev_sink *sk;
	struct ev_err err;
	struct stat st;

	ev_err_clear(&err);
	if ((sk = ev_sink_open(path, EV_SINK_APPEND, &err)) == NULL) {
		ev_diag(&err);
		exit(EV_EXIT_ERROR);
	}
	if (fstat(0, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_dev == ev_sink_stat(sk)->st_dev &&
	    st.st_ino == ev_sink_stat(sk)->st_ino) {
		ev_warnx("%s: input file is also the %s file", path, what);
		exit(EV_EXIT_ERROR);
	}
	return sk;
}

int
main(int argc, char *argv[])
{
	struct ev_sched_opts so;
	struct ev_input_opts in;
	struct ev_retrier rt;
	struct ev_err err;
	const char *dlq = NULL, *s, *group = NULL, *pending = NULL;
	char *end;
	int64_t v;
	int c, bad;

	memset(&in, 0, sizeof(in));
	memset(&so, 0, sizeof(so));
	if (ev_init(argv[0]) < 0) {
		ev_warn("/dev/null");
		return EV_EXIT_ERROR;
	}
	argv[0] = (char *)ev_progname();
	ev_retrier_default(&rt);
	opt.jobs = 1;
	while ((c = getopt_long(argc, argv, "+hj:", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			return ev_out_info(usage_text);
		case 'j':
			opt.jobs = number("job count", optarg, 1, 1024);
			break;
		case OPT_ARG:
			so.feed = EV_FEED_ARG;
			break;
		case OPT_BACKOFF:
			errno = 0;
			rt.backoff = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || errno != 0 ||
			    !(rt.backoff >= 1.0 && rt.backoff <= 1000.0)) {
				ev_warnx("invalid backoff rate '%s': expected "
				    "a number from 1.0 to 1000", optarg);
				usage();
			}
			break;
		case OPT_DLQ:
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
			rt.interval_ms = duration("--interval", optarg);
			break;
		case OPT_JITTER:
			if (strcmp(optarg, "full") != 0 &&
			    strcmp(optarg, "none") != 0) {
				ev_warnx("invalid jitter '%s': expected "
				    "'full' or 'none'", optarg);
				usage();
			}
			rt.jitter_full = optarg[0] == 'f';
			break;
		case OPT_KEEP:
			so.keep_order = 1;
			break;
		case OPT_MAXATT:
			rt.max_attempts = (int)number("attempt count",
			    optarg, 0, 99999999);
			break;
		case OPT_MAXDELAY:
			rt.max_delay_ms = duration("--max-delay", optarg);
			break;
		case OPT_PASS:
			opt.pass = 1;
			break;
		case OPT_REJECT:
			in.reject_path = optarg;
			break;
		case OPT_TIMEOUT:
			so.timeout_ms = duration("--timeout", optarg);
			break;
		case OPT_VERSION:
			return ev_out_info("evretry (evkit) " EV_VERSION "\n");
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
	so.argv = argv;
	so.jobs = (int)opt.jobs;
	so.retriers = &rt;
	so.nretriers = 1;
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
	if (dlq != NULL)
		opt.dlq = open_aside(dlq, "dead-letter");
	if (pending != NULL)
		opt.pending = open_aside(pending, "pending");
	in.order = on_order;
	ev_err_clear(&err);
	ev_stop_catch(2);	/* the second gives up on what runs */
	if (ev_stop_install(&err) < 0) {
		ev_diag(&err);
		return EV_EXIT_ERROR;
	}
	bad = ev_input_loop(NULL, 0, &in, on_line, NULL);
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
