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
    "               [--max-attempts COUNT] [--max-delay DURATION] [--pass]\n"
    "               [--reject FILE] [--timeout DURATION]\n"
    "               [--catch FILE] [--max-age DURATION] "
    "[--redrive FILE ...]\n"
    "               [--retry FILE] [--] COMMAND [ARG ...]\n";

enum {
	OPT_ARG = 256, OPT_BACKOFF, OPT_DLQ, OPT_ENV, OPT_INTERVAL,
	OPT_JITTER, OPT_KEEP, OPT_MAXATT, OPT_MAXDELAY, OPT_PASS,
	OPT_REJECT, OPT_TIMEOUT, OPT_VERSION,
	/* policy files, age, redrive */
	OPT_CATCH, OPT_MAXAGE, OPT_REDRIVE, OPT_RETRY
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
	/* policy files, age, redrive */
	{ "catch", required_argument, NULL, OPT_CATCH },
	{ "max-age", required_argument, NULL, OPT_MAXAGE },
	{ "redrive", required_argument, NULL, OPT_REDRIVE },
	{ "retry", required_argument, NULL, OPT_RETRY },
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
	struct ev_sink **csink;		/* per catcher with a file */
	struct ev_sched **csched;	/* per catcher with a command */
	const struct ev_task *caught;	/* what a catch command ran for */
	int cfailed;
	char **inputs;			/* --redrive files */
	int ninputs;
} opt;

static void
usage(void)
{
	fputs(usage_text, stderr);
	exit(EV_EXIT_ERROR);
}

/*
 * Events read ahead are at most 4 * jobs + 16: enough that a retry waiting
 * for its due time does not hold back the events after it.
 */

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

/* A catch command's run ended: its output downstream, or a failure. */
static int
on_catch_done(void *ctx, const struct ev_task *t, struct ev_err *err)
{
	const struct ev_task *o = opt.caught;

	if (t->exhausted == NULL) {
		out_lines(t->output, t->outlen);
		return 0;
	}
	opt.cfailed = 1;
	ev_warnx("%s:%lu: catch command '%s' failed: %s", o->file, o->lineno,
	    opt.cp.catchers[(intptr_t)ctx].next, t->name);
	return 0;
}

/*
 * Hand the failed event t to catcher i: 1 when it took it, 0 when not
 * (reported: the event is dead-lettered), -1 on a fatal error.
 */
static int
catch_event(int i, const struct ev_task *t, struct ev_err *err)
{
	const struct ev_catcher *c = &opt.cp.catchers[i];
	struct ev_buf b = { NULL, 0, 0 };
	struct ev_err e;
	int r;

	ev_err_clear(&e);
	r = ev_catch_result(&b, t->event, t->len, c->result_path, t->name,
	    t->errtail, t->errlen, &e);
	if (r != 0) {
		ev_buf_free(&b);
		if (r < 0) {
			*err = e;
			return -1;
		}
		ev_warnx("%s:%lu: %s", t->file, t->lineno, e.msg);
		return 0;
	}
	r = 1;
	if (opt.csink[i] != NULL) {
		ev_sink_line(opt.csink[i], b.p, b.len);
		if (ev_sink_closed(opt.csink[i]))
			r = ev_sink_error(opt.csink[i], err) < 0 ? -1 : 0;
	} else {
		opt.caught = t;
		opt.cfailed = 0;
		if (ev_sched_add(opt.csched[i], b.p, b.len, t->file,
		    t->lineno, err) < 0 || ev_sched_run(opt.csched[i], 0,
		    err) < 0)
			r = -1;
		else if (opt.cfailed || ev_sched_pending(opt.csched[i]) > 0)
			r = 0;
	}
	ev_buf_free(&b);
	return r;
}

/* A finished event: its output downstream, a catcher, or a dead letter. */
static int
on_done(void *ctx, const struct ev_task *t, struct ev_err *err)
{
	struct ev_buf b = { NULL, 0, 0 };
	int i, r;

	if (t->exhausted == NULL) {
		if (opt.pass)
			ev_out_line(t->event, t->len);
		else
			out_lines(t->output, t->outlen);
		return 0;
	}
	if (opt.catch != NULL && (i = ev_catch_find(&opt.cp, t->name)) >= 0 &&
	    (r = catch_event(i, t, err)) != 0)
		return r < 0 ? -1 : 0;
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

	if (opt.inputs != NULL) {
		if (ev_dlq_event(ln->buf, ln->len, &v, &vlen, err) < 0)
			return EV_BAD;
	} else if (ev_path_get(opt.time, ln->buf, ln->len, &v, &vlen,
	    err) < 0)
		return EV_BAD;
	else {
		v = ln->buf;
		vlen = ln->len;
	}
	if (ev_sched_add(opt.sched, v, vlen, ln->file, ln->lineno,
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

/*
 * Load the --retry and --catch files; open each catcher's file (it may
 * not be read: an input, standard input, a policy file) or make its
 * command's scheduler (no retries).  0, or -1 reported.
 */
static int
setup_policy(const struct ev_sched_opts *so, struct ev_sched_opts *co,
    struct ev_retrier *rt, const char **reads, int nreads)
{
	const char *in;
	struct ev_err err;
	int i, j;

	ev_err_clear(&err);
	if ((opt.retry != NULL &&
	    ev_policy_load(&opt.rp, EV_ASL_RETRY, opt.retry, &err) < 0) ||
	    (opt.catch != NULL &&
	    ev_policy_load(&opt.cp, EV_ASL_CATCH, opt.catch, &err) < 0)) {
		ev_diag(&err);
		return -1;
	}
	opt.csink = calloc((size_t)opt.cp.ncatchers + 1, sizeof(*opt.csink));
	opt.csched = calloc((size_t)opt.cp.ncatchers + 1,
	    sizeof(*opt.csched));
	if (opt.csink == NULL || opt.csched == NULL)
		goto oom;
	*co = *so;
	co->jobs = 1;
	co->feed = EV_FEED_STDIN;
	co->retriers = rt;
	co->nretriers = 0;
	co->max_age_ms = 0;
	for (i = 0; i < opt.cp.ncatchers; i++) {
		const struct ev_catcher *c = &opt.cp.catchers[i];

		if (c->argv != NULL) {
			co->argv = c->argv;
			opt.csched[i] = ev_sched_new(co, on_catch_done,
			    (void *)(intptr_t)i);
			if (opt.csched[i] == NULL)
				goto oom;
			continue;
		}
		for (j = 0; j < i; j++)
			if (opt.csink[j] != NULL &&
			    strcmp(opt.cp.catchers[j].next, c->next) == 0)
				opt.csink[i] = opt.csink[j];
		if (opt.csink[i] != NULL)
			continue;
		if ((in = ev_file_is_input(c->next, opt.inputs,
		    opt.ninputs)) != NULL || (nreads > 0 &&
		    (in = ev_file_is_input(c->next, (char **)reads,
		    nreads)) != NULL)) {
			ev_warnx("%s: input file is also the catch file", in);
			return -1;
		}
		if ((opt.csink[i] = ev_sink_open(c->next, EV_SINK_APPEND,
		    &err)) == NULL) {
			ev_diag(&err);
			return -1;
		}
	}
	return 0;
oom:
	ev_warnx("out of memory");
	return -1;
}

/* Flush and close the catchers' files and schedulers: 0, or -1 reported. */
static int
close_policy(void)
{
	struct ev_err err;
	int i, j, r = 0;

	for (i = 0; opt.csink != NULL && i < opt.cp.ncatchers; i++) {
		ev_sched_free(opt.csched[i]);
		for (j = i + 1; j < opt.cp.ncatchers; j++)
			if (opt.csink[j] == opt.csink[i])
				opt.csink[j] = NULL;
		ev_err_clear(&err);
		if (ev_sink_close(opt.csink[i], &err) < 0) {
			ev_diag(&err);
			r = -1;
		}
	}
	free(opt.csink);
	free(opt.csched);
	ev_policy_free(&opt.rp);
	ev_policy_free(&opt.cp);
	free(opt.inputs);
	return r;
}

int
main(int argc, char *argv[])
{
	static const char *const jitters[] = { "none", "full", NULL };
	struct ev_sched_opts so, co;
	struct ev_input_opts in;
	struct ev_retrier rt;
	struct ev_err err;
	const char *dlq = NULL, *s, *policy = NULL, *reads[2];
	int64_t v;
	int c, bad, nreads = 0;

	memset(&in, 0, sizeof(in));
	memset(&so, 0, sizeof(so));
	if (ev_init(argv[0]) < 0) {
		ev_warn("/dev/null");
		return EV_EXIT_ERROR;
	}
	argv[0] = (char *)ev_progname();
	ev_retrier_default(&rt);
	opt.jobs = 1;
	if ((opt.inputs = calloc((size_t)argc, sizeof(char *))) == NULL) {
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
		case OPT_PASS:
			opt.pass = 1;
			break;
		case OPT_REJECT:
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
			opt.inputs[opt.ninputs++] = optarg;
			break;
		case OPT_RETRY:
			opt.retry = optarg;
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
	ev_err_clear(&err);
	if (ev_clock_init(&err) < 0) {
		ev_diag(&err);
		return EV_EXIT_ERROR;
	}
	if ((s = getenv("EVKIT_SEED")) != NULL && *s != '\0')
		so.seed = strtoull(s, NULL, 10);
	if (opt.ninputs == 0) {
		free(opt.inputs);
		opt.inputs = NULL;
	}
	if (opt.retry != NULL)
		reads[nreads++] = opt.retry;
	if (opt.catch != NULL)
		reads[nreads++] = opt.catch;
	if (setup_policy(&so, &co, &rt, reads, nreads) < 0)
		return EV_EXIT_ERROR;
	so.argv = argv;
	so.jobs = (int)opt.jobs;
	so.retriers = opt.retry ? opt.rp.retriers : &rt;
	so.nretriers = opt.retry ? opt.rp.nretriers : 1;
	opt.time = ev_path_compile("time", &err);
	opt.sched = ev_sched_new(&so, on_done, NULL);
	if (opt.time == NULL || opt.sched == NULL) {
		ev_warnx("out of memory");
		return EV_EXIT_ERROR;
	}
	if (dlq != NULL) {
		if ((s = ev_file_is_input(dlq, opt.inputs, opt.ninputs)) !=
		    NULL ||
		    (nreads > 0 && (s = ev_file_is_input(dlq, (char **)reads,
		    nreads)) != NULL)) {
			ev_warnx("%s: input file is also the dead-letter file",
			    s);
			return EV_EXIT_ERROR;
		}
		if ((opt.dlq = ev_sink_open(dlq, EV_SINK_APPEND, &err)) ==
		    NULL) {
			ev_diag(&err);
			return EV_EXIT_ERROR;
		}
	}
	in.order = on_order;
	in.read_files = reads;
	in.nread_files = nreads;
	ev_err_clear(&err);
	if (ev_stop_install(&err) < 0) {
		ev_diag(&err);
		return EV_EXIT_ERROR;
	}
	bad = ev_input_loop(opt.inputs, opt.ninputs, &in, on_line, NULL);
	ev_err_clear(&err);
	if (bad >= 0 && bad != EV_INPUT_STOPPED &&
	    ev_sched_run(opt.sched, 0, &err) < 0) {
		ev_diag(&err);
		bad = -1;
	}
	ev_sched_free(opt.sched);
	ev_path_free(opt.time);
	if (close_policy() < 0)
		bad = -1;
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
