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
    "               [--reject FILE] [--timeout DURATION] "
    "[--] COMMAND [ARG ...]\n";

enum {
	OPT_ARG = 256, OPT_BACKOFF, OPT_DLQ, OPT_ENV, OPT_INTERVAL,
	OPT_JITTER, OPT_KEEP, OPT_MAXATT, OPT_MAXDELAY, OPT_PASS,
	OPT_REJECT, OPT_TIMEOUT, OPT_VERSION
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
	{ NULL, 0, NULL, 0 }
};

static struct {
	int pass;
	long jobs;
	unsigned long failed;
	struct ev_sink *dlq;
	struct ev_path *time;
	struct ev_sched *sched;
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
 * for its due time does not hold back the events after it.
 */

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

static enum ev_verdict
on_line(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	const char *v;
	size_t vlen;

	if (ev_path_get(opt.time, ln->buf, ln->len, &v, &vlen, err) < 0)
		return EV_BAD;
	if (ev_sched_add(opt.sched, ln->buf, ln->len, ln->file, ln->lineno,
	    err) < 0 || ev_sched_run(opt.sched, opt.jobs * 4 + 16, err) < 0)
		return EV_FAIL;
	return ev_out_closed() ? EV_STOP : EV_NEXT;
}

/* The input runs dry: collect what has finished, without waiting. */
static enum ev_verdict
on_order(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	if (ln == NULL && ev_sched_run(opt.sched, -1, err) < 0)
		return EV_FAIL;
	return EV_NEXT;
}

int
main(int argc, char *argv[])
{
	struct ev_sched_opts so;
	struct ev_input_opts in;
	struct ev_retrier rt;
	struct ev_err err;
	struct stat st;
	const char *dlq = NULL, *s;
	char *end;
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
	opt.time = ev_path_compile("time", &err);
	opt.sched = ev_sched_new(&so, on_done, NULL);
	if (opt.time == NULL || opt.sched == NULL) {
		ev_warnx("out of memory");
		return EV_EXIT_ERROR;
	}
	if (dlq != NULL) {
		if ((opt.dlq = ev_sink_open(dlq, EV_SINK_APPEND, &err)) ==
		    NULL) {
			ev_diag(&err);
			return EV_EXIT_ERROR;
		}
		if (fstat(0, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_dev == ev_sink_stat(opt.dlq)->st_dev &&
		    st.st_ino == ev_sink_stat(opt.dlq)->st_ino) {
			ev_warnx("%s: input file is also the dead-letter file",
			    dlq);
			return EV_EXIT_ERROR;
		}
	}
	in.order = on_order;
	ev_err_clear(&err);
	if (ev_stop_install(&err) < 0) {
		ev_diag(&err);
		return EV_EXIT_ERROR;
	}
	bad = ev_input_loop(NULL, 0, &in, on_line, NULL);
	ev_err_clear(&err);
	if (bad >= 0 && bad != EV_INPUT_STOPPED &&
	    ev_sched_run(opt.sched, 0, &err) < 0) {
		ev_diag(&err);
		bad = -1;
	}
	ev_sched_free(opt.sched);
	ev_path_free(opt.time);
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
	if (bad != 0)
		return EV_EXIT_ERROR;
	return opt.failed ? EV_EXIT_NONE : EV_EXIT_OK;
}
