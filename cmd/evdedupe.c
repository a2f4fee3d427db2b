/*
 * evdedupe - pass the first event for each idempotency key, hold back
 * repeats; keys in memory or in a state file shared across runs.
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evkit.h"
#include "jq/jq.h"

static const char usage_text[] =
    "usage: evdedupe [-j JOBS] [-e JQ | -k PATH ...] [-V JQ | --validate PATH] "
    "[--dups FILE]\n"
    "                [--fail-on-dup] [--max-keys COUNT] "
    "[--max-line-bytes SIZE]\n"
    "                [--missing pass | drop | error] [--reject FILE] "
    "[--state FILE]\n"
    "                [--time-field PATH] [--ttl DURATION] [FILE ...]\n"
    "       evdedupe --claim --lease DURATION --state FILE [-k PATH ...] "
    "[--ttl DURATION] [FILE ...]\n"
    "       evdedupe --commit --state FILE [-k PATH ...] [FILE ...]\n"
    "       evdedupe --stat --state FILE\n"
    "       evdedupe --expire --ttl DURATION --state FILE\n";

enum {
	OPT_CLAIM = 256, OPT_COMMIT, OPT_DUPS, OPT_EXPIRE, OPT_LEASE,
	OPT_FAIL_ON_DUP, OPT_MAX_KEYS, OPT_MAX_LINE,
	OPT_MISSING, OPT_REJECT, OPT_STAT, OPT_STATE, OPT_TIME_FIELD, OPT_TTL,
	OPT_VALIDATE,
	OPT_VERSION
};

static const struct option longopts[] = {
	{ "claim", no_argument, NULL, OPT_CLAIM },
	{ "commit", no_argument, NULL, OPT_COMMIT },
	{ "dups", required_argument, NULL, OPT_DUPS },
	{ "expire", no_argument, NULL, OPT_EXPIRE },
	{ "expression", required_argument, NULL, 'e' },
	{ "fail-on-dup", no_argument, NULL, OPT_FAIL_ON_DUP },
	{ "help", no_argument, NULL, 'h' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "key", required_argument, NULL, 'k' },
	{ "lease", required_argument, NULL, OPT_LEASE },
	{ "max-keys", required_argument, NULL, OPT_MAX_KEYS },
	{ "max-line-bytes", required_argument, NULL, OPT_MAX_LINE },
	{ "missing", required_argument, NULL, OPT_MISSING },
	{ "reject", required_argument, NULL, OPT_REJECT },
	{ "stat", no_argument, NULL, OPT_STAT },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "time-field", required_argument, NULL, OPT_TIME_FIELD },
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "validate", required_argument, NULL, OPT_VALIDATE },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

enum missing { MISS_PASS, MISS_DROP, MISS_ERROR };	/* --missing's order */

static struct {
	const char **keys;	/* -k operands, then --time-field, --validate */
	int nkeys;
	const char *time_field;
	const char *validate;	/* --validate PATH */
	const char *jq;		/* -e */
	const char *vjq;	/* -V */
	int tidx, vidx;		/* their places in paths */
	enum missing missing;
	int fail_on_dup;
	int clocked;		/* events get the time of processing */
	size_t jqmax;		/* -e and -V output at most a line's bytes */
} opt;

static struct ev_paths *paths;

/* What the line callback leaves for the in-order hook. */
struct res {
	struct ev_key key;
	int64_t t;		/* --time-field, ms */
	uint64_t v;		/* --validate: the validated part's hash */
	int missing;
};

/* A line callback's context: main's, or a worker's. */
struct wctx {
	struct ev_jq *jq, *vjq;
	struct ev_buf canon;
	struct ev_span *vals;
};

/* The filter the in-order hook feeds. */
static struct ev_dedupe *dd;

static void
usage(void)
{
	fputs(usage_text, stderr);
	exit(EV_EXIT_ERROR);
}

static void *
wctx_new(void *ctx)
{
	struct wctx *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->vals = calloc((size_t)opt.nkeys + 3, sizeof(*w->vals));
	if (opt.jq != NULL)
		w->jq = ev_jq_compile(opt.jq, NULL);
	if (opt.vjq != NULL)
		w->vjq = ev_jq_compile(opt.vjq, NULL);
	if (w->vals == NULL || (opt.jq != NULL && w->jq == NULL) ||
	    (opt.vjq != NULL && w->vjq == NULL)) {
		ev_jq_free(w->jq);
		free(w->vals);
		free(w);
		return NULL;
	}
	return w;
}

static void
wctx_free(void *ctx)
{
	struct wctx *w = ctx;

	ev_buf_free(&w->canon);
	ev_jq_free(w->jq);
	ev_jq_free(w->vjq);
	free(w->vals);
	free(w);
}

/* A key or value error: a bad line, or out of memory. */
static enum ev_verdict
bad(const struct ev_err *err)
{
	return err->errnum == ENOMEM ? EV_FAIL : EV_BAD;
}

/* No key: an error, or an event passed or held back (--missing). */
static enum ev_verdict
no_key(struct res *r, const char *what, struct ev_err *err)
{
	if (opt.missing == MISS_ERROR) {
		ev_err_set(err, "no key %s", what);
		return EV_BAD;
	}
	r->missing = 1;
	return EV_NEXT;
}

/* Read the key, time and value of one line; on worker threads. */
static enum ev_verdict
on_line(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	struct wctx *w = ctx;
	struct res *r = ln->result;
	struct ev_span all = { ln->buf, ln->len };
	const struct ev_span *tv;
	char at[1024];
	int i, absent = 0;

	if (paths != NULL &&
	    ev_paths_get(paths, ln->buf, ln->len, w->vals, err) < 0)
		return EV_BAD;
	if (opt.time_field != NULL) {
		tv = &w->vals[opt.tidx];
		if (tv->p == NULL) {
			ev_err_set(err, "no time at %s", opt.time_field);
			return EV_BAD;
		}
		if (ev_dedupe_time(tv, &r->t) < 0) {
			ev_err_set(err, "invalid time at %s: expected an RFC "
			    "3339 time", opt.time_field);
			return EV_BAD;
		}
	}
	if (opt.validate != NULL &&
	    ev_dedupe_value(&w->vals[opt.vidx], &w->canon, &r->v, err) < 0)
		return bad(err);
	if (opt.vjq != NULL) {
		w->canon.len = 0;
		if ((i = ev_jq_run(w->vjq, ln->buf, ln->len, opt.jqmax,
		    &w->canon, err)) < 0)
			return EV_BAD;
		/* no output: one value of its own, like an absent path */
		r->v = i > 0 ? ev_key_hash64(w->canon.p, w->canon.len) : 0;
	}
	if (opt.jq != NULL) {
		w->canon.len = 0;
		if ((i = ev_jq_run(w->jq, ln->buf, ln->len, opt.jqmax,
		    &w->canon, err)) < 0)
			return EV_BAD;
		if (i == 0)
			return no_key(r, "from -e", err);
		ev_key_hash(w->canon.p, w->canon.len, &r->key);
		return EV_NEXT;
	}
	/* without -k, the whole event */
	i = opt.nkeys > 0 ? ev_dedupe_key(w->vals, opt.nkeys, &w->canon,
	    &r->key, &absent, err) : ev_dedupe_key(&all, 1, &w->canon,
	    &r->key, &absent, err);
	if (i < 0)
		return bad(err);
	if (i > 0) {
		snprintf(at, sizeof(at), "at %s", opt.keys[absent]);
		return no_key(r, at, err);
	}
	return EV_NEXT;
}

/* A conflict: reported with both places. */
static void
on_conflict(void *ctx, const struct ev_dedupe_event *ev, const char *first)
{
	struct ev_err e;

	ev_err_clear(&e);
	e.file = ev->file;
	e.line = ev->lineno;
	ev_err_set(&e, "conflict: key first seen at %s with another "
	    "validated part", first);
	ev_diag(&e);
}

/* In input order, one line at a time: to the filter. */
static enum ev_verdict
on_order(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	const struct res *r;
	struct ev_dedupe_event ev;

	if (ln == NULL)
		return ev_dedupe_flush(dd, 0, err) < 0 ? EV_FAIL : EV_NEXT;
	if (ev_out_closed()) {
		ev_dedupe_abort(dd);
		return EV_STOP;
	}
	r = ln->result;
	ev.file = ln->file;
	ev.lineno = ln->lineno;
	ev.buf = ln->buf;
	ev.len = ln->len;
	ev.key = r->key;
	/* the clock only when a time counts (--ttl) or is kept (--state) */
	ev.time = opt.time_field != NULL ? r->t : opt.clocked ? ev_now_ms() :
	    0;
	ev.value = r->v;
	ev.fixed = !r->missing ? -1 : opt.missing == MISS_PASS ?
	    EV_DEDUPE_PASS : EV_DEDUPE_REPEAT;
	return ev_dedupe_add(dd, &ev, err) < 0 ? EV_FAIL : EV_NEXT;
}

/* The options with a value to check; the usage on a bad one. */
static void
parse_opt(int c, struct ev_input_opts *in, struct ev_dedupe_opts *d)
{
	static const char *const missing[] = {
		"pass", "drop", "error", NULL
	};
	int64_t n;
	int r = 0;

	switch (c) {
	case OPT_DUPS:
		d->dups = optarg;
		break;
	case OPT_LEASE:
		r = ev_opt_duration("--lease", optarg, 1, &d->lease);
		break;
	case OPT_MAX_KEYS:
		r = ev_opt_int("--max-keys", optarg, 1, EV_KEYSET_MAX_KEYS, &n);
		d->max_keys = (size_t)n;
		break;
	case OPT_MAX_LINE:
		r = ev_opt_size("--max-line-bytes", optarg, 1, &in->max_line);
		break;
	case OPT_MISSING:
		if ((r = ev_opt_choice("--missing", optarg, missing)) >= 0)
			opt.missing = (enum missing)r;
		break;
	case OPT_REJECT:
		if (ev_opt_file("--reject", optarg) < 0)
			usage();
		in->reject_path = optarg;
		break;
	case OPT_TTL:
		r = ev_opt_duration("--ttl", optarg, 1, &d->ttl);
		break;
	default:
		usage();
	}
	if (r < 0)
		usage();
}

/* Option conflicts, after getopt: the usage on one. */
static void
check_opts(const struct ev_dedupe_opts *d, int maint, int expire)
{
	const char *mode = d->mode == EV_DEDUPE_CLAIM ? "--claim" :
	    d->mode == EV_DEDUPE_COMMIT ? "--commit" : maint ? (expire ?
	    "--expire" : "--stat") : NULL;

	if (mode != NULL && d->state == NULL)
		ev_warnx("option '%s' needs '--state'", mode);
	else if ((d->mode == EV_DEDUPE_CLAIM) != (d->lease > 0))
		ev_warnx(d->lease == 0 ? "option '--claim' needs '--lease'" :
		    "option '--lease' needs '--claim'");
	else if (expire && d->ttl == 0)
		ev_warnx("option '--expire' needs '--ttl'");
	else if (d->max_keys && d->state != NULL)
		ev_warnx("options '--max-keys' and '--state' cannot be used "
		    "together");
	else if (opt.validate != NULL && opt.vjq != NULL)
		ev_warnx("options '-V' and '--validate' cannot be used "
		    "together");
	else if (d->validate && mode != NULL && !maint)
		ev_warnx("options '%s' and '%s' cannot be used together",
		    opt.vjq != NULL ? "-V" : "--validate", mode);
	else if (opt.jq != NULL && opt.nkeys > 0)
		ev_warnx("options '-e' and '-k' cannot be used together");
	else
		return;
	usage();
}

/* Compile the -e and -V programs (once, to report errors) and the paths. */
static void
compile(void)
{
	struct ev_err err;
	int n = opt.nkeys;

	ev_err_clear(&err);
	if (opt.jq != NULL)
		ev_jq_free(ev_jq_compile(opt.jq, &err));
	if (!err.msg[0] && opt.vjq != NULL)
		ev_jq_free(ev_jq_compile(opt.vjq, &err));
	if (opt.time_field != NULL)
		opt.keys[opt.tidx = n++] = opt.time_field;
	if (opt.validate != NULL)
		opt.keys[opt.vidx = n++] = opt.validate;
	if (!err.msg[0] && n > 0)
		paths = ev_paths_compile(opt.keys, n, &err);
	if (err.msg[0]) {
		ev_diag(&err);
		usage();
	}
}

int
main(int argc, char *argv[])
{
	struct ev_dedupe_opts dopt;
	struct ev_dedupe_counts n;
	struct ev_input_opts in;
	struct ev_err err;
	struct wctx *w;
	struct ev_buf out = { NULL, 0, 0 };
	const char *jobs = NULL;
	int c, bad, maint = 0, expire = 0;

	memset(&in, 0, sizeof(in));
	memset(&dopt, 0, sizeof(dopt));
	opt.missing = MISS_ERROR;
	if (ev_init(argv[0]) < 0) {
		ev_warn("/dev/null");
		return EV_EXIT_ERROR;
	}
	argv[0] = (char *)ev_progname();
	opt.keys = calloc((size_t)argc + 2, sizeof(*opt.keys));
	if (opt.keys == NULL) {
		ev_warnx("out of memory");
		return EV_EXIT_ERROR;
	}
	while ((c = getopt_long(argc, argv, "V:e:hj:k:", longopts, NULL)) !=
	    -1) {
		switch (c) {
		case 'V':
			opt.vjq = optarg;
			break;
		case 'e':
			opt.jq = optarg;
			break;
		case 'h':
			return ev_out_info(usage_text);
		case 'j':
			jobs = optarg;
			break;
		case 'k':
			opt.keys[opt.nkeys++] = optarg;
			break;
		case OPT_CLAIM:
		case OPT_COMMIT:
			if (dopt.mode != EV_DEDUPE_CHECK) {
				ev_warnx("options '--claim' and '--commit' "
				    "cannot be used together");
				usage();
			}
			dopt.mode = c == OPT_CLAIM ? EV_DEDUPE_CLAIM :
			    EV_DEDUPE_COMMIT;
			break;
		case OPT_EXPIRE:
		case OPT_STAT:
			maint = 1;
			expire = c == OPT_EXPIRE;
			break;
		case OPT_FAIL_ON_DUP:
			opt.fail_on_dup = 1;
			break;
		case OPT_STATE:
			dopt.state = optarg;
			break;
		case OPT_TIME_FIELD:
			opt.time_field = optarg;
			break;
		case OPT_VALIDATE:
			opt.validate = optarg;
			break;
		case OPT_VERSION:
			return ev_out_info("evdedupe (evkit) " EV_VERSION "\n");
		default:
			parse_opt(c, &in, &dopt);
		}
	}
	argc -= optind;
	argv += optind;
	dopt.validate = opt.validate != NULL || opt.vjq != NULL;
	opt.jqmax = in.max_line != 0 ? in.max_line : EV_MAX_LINE_DEFAULT;
	opt.clocked = dopt.ttl > 0 || dopt.state != NULL;
	check_opts(&dopt, maint, expire);
	ev_err_clear(&err);
	if (ev_input_jobs(jobs, &in.jobs, &err) < 0 ||
	    ev_clock_init(&err) < 0) {
		ev_diag(&err);
		usage();
	}
	compile();
	dopt.inputs = argv;
	dopt.ninputs = argc;
	dopt.reject = in.reject_path;
	dopt.conflict = on_conflict;
	if ((dd = ev_dedupe_open(&dopt, &err)) == NULL) {
		ev_diag(&err);
		return EV_EXIT_ERROR;
	}
	if (maint) {
		bad = (expire ? ev_dedupe_expire(dd, ev_now_ms(), &out, &err) :
		    ev_dedupe_stat(dd, &out, &err)) < 0;
		if (bad)
			ev_diag(&err);
		if (out.len > 0)
			ev_out_write(out.p, out.len);
		ev_buf_free(&out);
		ev_dedupe_close(dd, &err);
		if (ev_out_close(&err) < 0) {
			ev_diag(&err);
			bad = 1;
		}
		return bad ? EV_EXIT_ERROR : EV_EXIT_OK;
	}
	if ((w = wctx_new(NULL)) == NULL) {
		ev_warnx("out of memory");
		return EV_EXIT_ERROR;
	}
	in.ctx_new = wctx_new;
	in.ctx_free = wctx_free;
	in.order = on_order;
	in.result_size = sizeof(struct res);
	if (ev_stop_install(&err) < 0) {
		ev_diag(&err);
		return EV_EXIT_ERROR;
	}
	bad = ev_input_loop(argv, argc, &in, on_line, w);
	ev_err_clear(&err);
	if (bad < 0)
		ev_dedupe_abort(dd);
	else if (ev_dedupe_flush(dd, 1, &err) < 0) {
		ev_diag(&err);
		bad = -1;
	}
	ev_err_clear(&err);
	if (ev_out_close(&err) < 0) {
		ev_diag(&err);
		bad = -1;
	}
	n = ev_dedupe_counts(dd);
	ev_err_clear(&err);
	if (ev_dedupe_close(dd, &err) < 0) {
		ev_diag(&err);
		bad = -1;
	}
	wctx_free(w);
	ev_paths_free(paths);
	free(opt.keys);
	if (bad == EV_INPUT_STOPPED)
		return 128 + ev_stop_signal();
	if (bad != 0 || n.conflicts)
		return EV_EXIT_ERROR;
	return opt.fail_on_dup && n.repeats ? EV_EXIT_NONE : EV_EXIT_OK;
}
