/*
 * evdedupe - pass the first event for each idempotency key, hold back
 * repeats; keys in memory or in a state file shared across runs.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/*
 * Keys committed per state transaction: a commit rewrites every page the
 * batch touched, and random keys touch most of a large state.
 */
#define BATCH 100000
#define CLAIM_BATCH 1000

static struct {
	const char **keys;	/* -k operands, then --time-field */
	int nkeys;
	const char *time_field;
	const char *validate;	/* --validate PATH */
	const char *jq;		/* -e */
	const char *vjq;	/* -V */
	int validating;		/* --validate or -V */
	int tidx, vidx;		/* their places in paths */
	enum missing missing;
	int64_t ttl, lease;
	int fail_on_dup, claim, commit;
	const char *state;
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

/* The hook's state. */
static struct {
	struct ev_keyset *ks;
	struct ev_db *db;
	struct ev_sink *dups;
	unsigned long batch, ndups, nconflicts;
	const char *files[1024];	/* --validate in memory: names seen */
	int nfiles;
	struct pending {
		struct ev_key key;
		int64_t now;
	} *pend;		/* --commit: keys not written yet */
	size_t npend, cappend;
} st;

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

/*
 * Append the canonical form of the value v to w->canon; a string without
 * escapes is its own canonical form.
 */
static int
add_canon(struct wctx *w, const struct ev_span *v, struct ev_err *err)
{
	if (v->len >= 2 && v->p[0] == '"' && memchr(v->p, '\\', v->len) ==
	    NULL)
		return ev_buf_add(&w->canon, v->p, v->len) < 0 ? -1 : 0;
	return ev_json_canon(v->p, v->len, &w->canon, err);
}

/* Read the key (and time) of one line and hash it; on worker threads. */
static enum ev_verdict
on_line(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	struct wctx *w = ctx;
	struct res *r = ln->result;
	const struct ev_span *tv;
	int i;

	w->canon.len = 0;
	if (paths == NULL && opt.jq == NULL) {
		if (ev_json_canon(ln->buf, ln->len, &w->canon, err) < 0)
			return EV_BAD;
		ev_key_hash(w->canon.p, w->canon.len, &r->key);
		return EV_NEXT;
	}
	if (paths != NULL &&
	    ev_paths_get(paths, ln->buf, ln->len, w->vals, err) < 0)
		return EV_BAD;
	if (opt.time_field != NULL) {
		tv = &w->vals[opt.tidx];
		if (tv->p == NULL) {
			ev_err_set(err, "no time at %s", opt.time_field);
			return EV_BAD;
		}
		if (!(tv->len >= 2 && tv->p[0] == '"' &&
		    ev_time_parse(tv->p + 1, tv->len - 2, &r->t) == 0) &&
		    ev_time_parse(tv->p, tv->len, &r->t) < 0) {
			ev_err_set(err, "invalid time at %s: expected an RFC "
			    "3339 time", opt.time_field);
			return EV_BAD;
		}
	}
	if (opt.validate != NULL) {
		tv = &w->vals[opt.vidx];
		if (tv->p != NULL) {
			if (add_canon(w, tv, err) < 0)
				return err->msg[0] ? EV_BAD : EV_FAIL;
			r->v = ev_key_hash64(w->canon.p, w->canon.len);
		} else
			r->v = 0;	/* absent: one value of its own */
		w->canon.len = 0;
	}
	if (opt.vjq != NULL) {
		if ((i = ev_jq_run(w->vjq, ln->buf, ln->len, &w->canon,
		    err)) < 0)
			return EV_BAD;
		/* no output: one value of its own, like an absent path */
		r->v = i > 0 ? ev_key_hash64(w->canon.p, w->canon.len) : 0;
		w->canon.len = 0;
	}
	if (opt.jq != NULL) {
		if ((i = ev_jq_run(w->jq, ln->buf, ln->len, &w->canon,
		    err)) < 0)
			return EV_BAD;
		if (i == 0) {
			if (opt.missing == MISS_ERROR) {
				ev_err_set(err, "no key from -e");
				return EV_BAD;
			}
			r->missing = 1;
			return EV_NEXT;
		}
	} else if (opt.nkeys == 0) {
		if (ev_json_canon(ln->buf, ln->len, &w->canon, err) < 0)
			return EV_BAD;
	}
	for (i = 0; i < opt.nkeys; i++) {
		if (w->vals[i].p == NULL) {
			if (opt.missing == MISS_ERROR) {
				ev_err_set(err, "no key at %s", opt.keys[i]);
				return EV_BAD;
			}
			r->missing = 1;
			return EV_NEXT;
		}
		if (i > 0 && ev_buf_add(&w->canon, "\n", 1) < 0)
			goto nomem;
		if (add_canon(w, &w->vals[i], err) < 0)
			return err->msg[0] ? EV_BAD : EV_FAIL;
	}
	ev_key_hash(w->canon.p, w->canon.len, &r->key);
	return EV_NEXT;
nomem:
	ev_err_set(err, "out of memory");
	return EV_FAIL;
}

/*
 * End a state batch: what was passed reaches standard output first, then
 * the keys are committed.  Output that did not get out (a write error, a
 * reader gone) commits nothing: the batch is rolled back.
 */
static int
commit(struct ev_err *err)
{
	if (st.db == NULL || !ev_db_in_tx(st.db))
		return 0;
	st.batch = 0;
	if (st.dups != NULL)
		ev_sink_flush(st.dups);
	/* A write error is reported by ev_out_close(), once. */
	if (ev_out_flush() < 0 || ev_out_closed()) {
		ev_db_rollback(st.db);
		return 0;
	}
	return ev_db_commit(st.db, err);
}

/*
 * Open the state file (--commit: lazily, trying only: see complete()).
 * 0, or -1 with err set and st.db NULL.
 */
static int
open_state(struct ev_err *err)
{
	struct ev_db_opts o = { EV_SYNC_NORMAL, 0, 0 };
	struct ev_err cerr;

	o.busy_ms = opt.commit ? 1 : 0;
	if ((st.db = ev_db_open(opt.state, &o, err)) == NULL)
		return -1;
	if (ev_dkeys_open(st.db, err) < 0) {
		ev_db_close(st.db, &cerr);
		st.db = NULL;
		return -1;
	}
	return 0;
}

/*
 * --commit: mark the pending keys completed and commit.  In a pipeline
 * "evdedupe --claim | handler | evdedupe --commit" the claiming process
 * may hold the database while it waits for the pipe to drain; waiting for
 * it here, without reading, would stop the pipe for good.  So the keys are
 * kept, and the database is only tried (block false) until the input has
 * ended, when waiting is safe.
 */
static int
complete(int block, struct ev_err *err)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int64_t waited = 0;
	size_t i;

	if (st.npend == 0)
		return 0;
	while ((st.db == NULL && open_state(err) < 0) ||
	    ev_db_begin(st.db, err) < 0) {
		if (err->cls != EV_ERR_RETRYABLE)
			return -1;
		if (!block)
			return 0;
		if ((waited += 10) > EV_DB_BUSY_DEFAULT_MS)
			return -1;
		ev_err_clear(err);
		nanosleep(&ts, NULL);
	}
	for (i = 0; i < st.npend; i++)
		if (ev_dkeys_complete(st.db, &st.pend[i].key, st.pend[i].now,
		    err) < 0)
			return -1;
	st.npend = 0;
	return commit(err);
}

/* --commit: pass the line through, keep its key for complete(). */
static enum ev_verdict
on_commit(const struct ev_line *ln, const struct res *r, int64_t now,
    struct ev_err *err)
{
	struct pending *np;
	size_t ncap;

	ev_out_line(ln->buf, ln->len);
	if (st.npend == st.cappend) {
		ncap = st.cappend ? st.cappend * 2 : 1024;
		if ((np = realloc(st.pend, ncap * sizeof(*np))) == NULL) {
			ev_err_set(err, "out of memory");
			return EV_FAIL;
		}
		st.pend = np;
		st.cappend = ncap;
	}
	st.pend[st.npend].key = r->key;
	st.pend[st.npend++].now = now;
	if (st.npend % 1000 == 0 && complete(0, err) < 0)
		return EV_FAIL;
	return EV_NEXT;
}

/* Write ln to --dups, marked as a conflict. */
static void
conflict(const struct ev_line *ln, const char *first)
{
	struct ev_err e;

	ev_err_clear(&e);
	e.file = ln->file;
	e.line = ln->lineno;
	ev_err_set(&e, "conflict: key first seen at %s with another "
	    "validated part", first);
	ev_diag(&e);
	st.nconflicts++;
	if (st.dups != NULL) {
		ev_sink_str(st.dups, "conflict\t");
		ev_sink_line(st.dups, ln->buf, ln->len);
	}
}

/* The hook's work with --validate: new, repeat, or conflict. */
static enum ev_verdict
validate(const struct ev_line *ln, const struct res *r, int64_t now,
    struct ev_err *err)
{
	char at[1024], first[1024];
	uint64_t fa = 0;
	int f, dup;

	if (st.db != NULL) {
		if (!ev_db_in_tx(st.db) && ev_db_begin(st.db, err) < 0)
			return EV_FAIL;
		snprintf(at, sizeof(at), "%s:%lu", ln->file, ln->lineno);
		dup = ev_dkeys_checkv(st.db, &r->key, now, opt.ttl, r->v, at,
		    first, sizeof(first), err);
		if (dup < 0)
			return EV_FAIL;
	} else {
		for (f = 0; f < st.nfiles && st.files[f] != ln->file; f++)
			;
		if (f == st.nfiles && f < 1024)
			st.files[st.nfiles++] = ln->file;
		dup = ev_keyset_checkv(st.ks, &r->key, now, opt.ttl, r->v,
		    (uint64_t)f << 48 | ln->lineno, &fa);
		if (dup < 0) {
			ev_err_set(err, "out of memory");
			return EV_FAIL;
		}
		f = (int)(fa >> 48);
		snprintf(first, sizeof(first), "%s:%llu",
		    f < st.nfiles ? st.files[f] : "?",
		    (unsigned long long)(fa & ((1ULL << 48) - 1)));
	}
	if (dup == 0)
		ev_out_line(ln->buf, ln->len);
	else if (dup == 2)
		conflict(ln, first);
	else {
		st.ndups++;
		if (st.dups != NULL)
			ev_sink_line(st.dups, ln->buf, ln->len);
	}
	if (st.db != NULL && ++st.batch >= BATCH && commit(err) < 0)
		return EV_FAIL;
	return EV_NEXT;
}

/* In input order, one line at a time: the key set, then the output. */
static enum ev_verdict
on_order(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	const struct res *r;
	int64_t now;
	int dup;

	if (ln == NULL) {
		if (opt.commit && complete(0, err) < 0)
			return EV_FAIL;
		return commit(err) < 0 ? EV_FAIL : EV_NEXT;
	}
	if (ev_out_closed()) {
		if (st.db != NULL)
			ev_db_rollback(st.db);
		return EV_STOP;
	}
	r = ln->result;
	if (r->missing) {
		if (opt.missing == MISS_PASS)
			ev_out_line(ln->buf, ln->len);
		else if (st.dups != NULL)
			ev_sink_line(st.dups, ln->buf, ln->len);
		return EV_NEXT;
	}
	now = opt.time_field != NULL ? r->t : ev_now_ms();
	if (opt.validating)
		return validate(ln, r, now, err);
	if (opt.commit)
		return on_commit(ln, r, now, err);
	if (st.db != NULL) {
		if (!ev_db_in_tx(st.db) && ev_db_begin(st.db, err) < 0)
			return EV_FAIL;
		if (opt.claim)
			dup = ev_dkeys_claim(st.db, &r->key, now, opt.ttl,
			    opt.lease, err);
		else
			dup = ev_dkeys_check(st.db, &r->key, now, opt.ttl,
			    err);
		if (dup < 0)
			return EV_FAIL;
	} else {
		dup = ev_keyset_check(st.ks, &r->key, now, opt.ttl);
		if (dup < 0) {
			ev_err_set(err, "out of memory");
			return EV_FAIL;
		}
	}
	if (!dup) {
		ev_out_line(ln->buf, ln->len);
	} else {
		st.ndups++;
		if (st.dups != NULL)
			ev_sink_line(st.dups, ln->buf, ln->len);
	}
	/* A claim holds the database while the handler drains the pipe. */
	if (st.db != NULL && ++st.batch >= (opt.claim ? CLAIM_BATCH : BATCH) &&
	    commit(err) < 0)
		return EV_FAIL;
	return EV_NEXT;
}

/* True when path names the file sb describes. */
static int
is_file(const char *path, const struct stat *sb)
{
	struct stat ps;

	return path != NULL && stat(path, &ps) == 0 &&
	    ps.st_dev == sb->st_dev && ps.st_ino == sb->st_ino;
}

/*
 * Refuse files that would destroy each other: a --dups file that is an
 * input or the reject file, a state file that is an input, the output,
 * the dups or the reject file.  Run with the state and the dups file open
 * (so that both exist), before either is written.  0, or -1 with err set.
 */
static int
check_files(const char *state, const char *dups, const char *reject,
    char **files, int nfiles, struct ev_err *err)
{
	struct stat is, fs;
	const char *name;
	int i, pass;

	for (pass = 0; pass < 2; pass++) {
		name = pass == 0 ? dups : state;
		if (name == NULL || stat(name, &fs) != 0 || !S_ISREG(fs.st_mode))
			continue;
		for (i = 0; i <= nfiles; i++) {
			if (i < nfiles && strcmp(files[i], "-") != 0) {
				if (!is_file(files[i], &fs))
					continue;
			} else if (i < nfiles || nfiles == 0) {
				if (fstat(0, &is) != 0 || is.st_dev != fs.st_dev ||
				    is.st_ino != fs.st_ino)
					continue;
			} else
				continue;
			ev_err_set(err, "%s: input file is also the %s file",
			    i < nfiles && strcmp(files[i], "-") != 0 ?
			    files[i] : "<stdin>", pass == 0 ? "dups" : "state");
			return -1;
		}
		if (is_file(reject, &fs)) {
			ev_err_set(err, "%s: %s file is also the reject file",
			    name, pass == 0 ? "dups" : "state");
			return -1;
		}
	}
	if (state == NULL || stat(state, &fs) != 0)
		return 0;
	if (is_file(dups, &fs)) {
		ev_err_set(err, "%s: state file is also the dups file", state);
		return -1;
	}
	if (fstat(1, &is) == 0 && is.st_dev == fs.st_dev &&
	    is.st_ino == fs.st_ino) {
		ev_err_set(err, "%s: state file is also the output", state);
		return -1;
	}
	return 0;
}

/* --stat and --expire: one JSON object on standard output. */
static int
maintain(int expire, struct ev_err *err)
{
	struct ev_dkeys_stat s;
	char t1[32], t2[32];
	int64_t n;

	if (!expire) {
		if (ev_dkeys_stat(st.db, &s, err) < 0)
			return -1;
		ev_time_format(s.oldest, t1, sizeof(t1));
		ev_time_format(s.newest, t2, sizeof(t2));
		if (s.keys == 0)
			ev_out_printf("{\"keys\":0,\"claimed\":0,\"oldest\":null,"
			    "\"newest\":null,\"bytes\":%lld}\n",
			    (long long)s.bytes);
		else
			ev_out_printf("{\"keys\":%lld,\"claimed\":%lld,"
			    "\"oldest\":\"%s\",\"newest\":\"%s\",\"bytes\":"
			    "%lld}\n", (long long)s.keys, (long long)s.claimed,
			    t1, t2, (long long)s.bytes);
		return 0;
	}
	if (ev_db_begin(st.db, err) < 0)
		return -1;
	if (ev_dkeys_expire(st.db, ev_now_ms(), opt.ttl, &n, err) < 0) {
		ev_db_rollback(st.db);
		return -1;
	}
	if (ev_db_commit(st.db, err) < 0)
		return -1;
	ev_out_printf("{\"expired\":%lld}\n", (long long)n);
	return 0;
}

static void
parse_opt(int c, struct ev_input_opts *in, const char **state,
    const char **dups, size_t *max_keys)
{
	static const char *const missing[] = {
		"pass", "drop", "error", NULL
	};
	int64_t n;
	int r = 0;

	switch (c) {
	case OPT_DUPS:
		*dups = optarg;
		break;
	case OPT_LEASE:
		r = ev_opt_duration("--lease", optarg, 1, &opt.lease);
		break;
	case OPT_MAX_KEYS:
		r = ev_opt_int("--max-keys", optarg, 1, EV_KEYSET_MAX_KEYS, &n);
		*max_keys = (size_t)n;
		break;
	case OPT_MAX_LINE:
		r = ev_opt_size("--max-line-bytes", optarg, 1, &in->max_line);
		break;
	case OPT_MISSING:
		if ((r = ev_opt_choice("--missing", optarg, missing)) >= 0)
			opt.missing = (enum missing)r;
		break;
	case OPT_REJECT:
		if (strcmp(optarg, "-") == 0) {
			ev_warnx("--reject: '-' is not a file; use /dev/stdout "
			    "or ./-");
			usage();
		}
		in->reject_path = optarg;
		break;
	case OPT_STATE:
		*state = optarg;
		break;
	case OPT_TIME_FIELD:
		opt.time_field = optarg;
		break;
	case OPT_VALIDATE:
		opt.validate = optarg;
		break;
	case OPT_TTL:
		r = ev_opt_duration("--ttl", optarg, 1, &opt.ttl);
		break;
	default:
		usage();
	}
	if (r < 0)
		usage();
}

int
main(int argc, char *argv[])
{
	struct ev_input_opts in;
	struct ev_err err;
	struct wctx *w;
	const char *jobs = NULL, *state = NULL, *dups = NULL;
	size_t max_keys = 0;
	int c, bad, do_stat = 0, expire = 0;

	memset(&in, 0, sizeof(in));
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
			opt.claim = 1;
			break;
		case OPT_COMMIT:
			opt.commit = 1;
			break;
		case OPT_EXPIRE:
			expire = 1;
			break;
		case OPT_FAIL_ON_DUP:
			opt.fail_on_dup = 1;
			break;
		case OPT_STAT:
			do_stat = 1;
			break;
		case OPT_VERSION:
			return ev_out_info("evdedupe (evkit) " EV_VERSION "\n");
		default:
			parse_opt(c, &in, &state, &dups, &max_keys);
		}
	}
	argc -= optind;
	argv += optind;
	if ((do_stat || expire) && state == NULL) {
		ev_warnx("option '--%s' needs '--state'", do_stat ? "stat" :
		    "expire");
		usage();
	}
	if ((opt.claim || opt.commit) && state == NULL) {
		ev_warnx("option '--%s' needs '--state'", opt.claim ? "claim" :
		    "commit");
		usage();
	}
	if (opt.claim && opt.commit) {
		ev_warnx("options '--claim' and '--commit' cannot be used "
		    "together");
		usage();
	}
	if (opt.claim != (opt.lease > 0)) {
		ev_warnx(opt.claim ? "option '--claim' needs '--lease'" :
		    "option '--lease' needs '--claim'");
		usage();
	}
	if (expire && opt.ttl == 0) {
		ev_warnx("option '--expire' needs '--ttl'");
		usage();
	}
	if (max_keys && state != NULL) {
		ev_warnx("options '--max-keys' and '--state' cannot be used "
		    "together");
		usage();
	}
	ev_err_clear(&err);
	if (ev_input_jobs(jobs, &in.jobs, &err) < 0 ||
	    ev_clock_init(&err) < 0) {
		ev_diag(&err);
		usage();
	}
	if (opt.validate != NULL && opt.vjq != NULL) {
		ev_warnx("options '-V' and '--validate' cannot be used "
		    "together");
		usage();
	}
	opt.validating = opt.validate != NULL || opt.vjq != NULL;
	if ((opt.claim || opt.commit) && opt.validating) {
		ev_warnx("options '%s' and '--%s' cannot be used together",
		    opt.vjq != NULL ? "-V" : "--validate", opt.claim ?
		    "claim" : "commit");
		usage();
	}
	if (opt.vjq != NULL) {
		ev_jq_free(ev_jq_compile(opt.vjq, &err));
		if (err.msg[0]) {
			ev_diag(&err);
			usage();
		}
	}
	if (opt.jq != NULL) {
		if (opt.nkeys > 0) {
			ev_warnx("options '-e' and '-k' cannot be used "
			    "together");
			usage();
		}
		ev_jq_free(ev_jq_compile(opt.jq, &err));
		if (err.msg[0]) {
			ev_diag(&err);
			usage();
		}
	}
	c = opt.nkeys;
	if (opt.time_field != NULL)
		opt.keys[opt.tidx = c++] = opt.time_field;
	if (opt.validate != NULL)
		opt.keys[opt.vidx = c++] = opt.validate;
	if (c > 0) {
		paths = ev_paths_compile(opt.keys, c, &err);
		if (paths == NULL) {
			ev_diag(&err);
			usage();
		}
	}
	if (state != NULL) {
		opt.state = state;
		if (!opt.commit && open_state(&err) < 0) {
			ev_diag(&err);
			return EV_EXIT_ERROR;
		}
	}
	if (dups != NULL && (st.dups = ev_sink_open(dups, 0, &err)) == NULL) {
		ev_diag(&err);
		return EV_EXIT_ERROR;
	}
	if (check_files(state, dups, in.reject_path, argv, argc, &err) < 0 ||
	    (st.dups != NULL && ev_sink_truncate(st.dups, &err) < 0)) {
		ev_diag(&err);
		return EV_EXIT_ERROR;
	}
	if (do_stat || expire) {
		bad = maintain(expire, &err) < 0;
		if (bad)
			ev_diag(&err);
		ev_db_close(st.db, &err);
		if (ev_out_close(&err) < 0) {
			ev_diag(&err);
			bad = 1;
		}
		return bad ? EV_EXIT_ERROR : EV_EXIT_OK;
	}
	if (state == NULL &&
	    (st.ks = ev_keyset_new(max_keys, opt.validating)) == NULL) {
		ev_warnx("out of memory");
		return EV_EXIT_ERROR;
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
	if (bad < 0 && st.db != NULL)
		ev_db_rollback(st.db);
	else if ((opt.commit && complete(1, &err) < 0) || commit(&err) < 0) {
		ev_diag(&err);
		bad = -1;
	}
	ev_err_clear(&err);
	if (ev_out_close(&err) < 0) {
		ev_diag(&err);
		bad = -1;
	}
	ev_err_clear(&err);
	if (st.dups != NULL && ev_sink_close(st.dups, &err) < 0) {
		ev_diag(&err);
		bad = -1;
	}
	ev_err_clear(&err);
	if (st.db != NULL && ev_db_close(st.db, &err) < 0) {
		ev_diag(&err);
		bad = -1;
	}
	wctx_free(w);
	free(st.pend);
	ev_keyset_free(st.ks);
	ev_paths_free(paths);
	free(opt.keys);
	if (bad == EV_INPUT_STOPPED)
		return 128 + ev_stop_signal();
	if (bad != 0 || st.nconflicts)
		return EV_EXIT_ERROR;
	return opt.fail_on_dup && st.ndups ? EV_EXIT_NONE : EV_EXIT_OK;
}
