/*
 * evmatch - keep the events that match Amazon EventBridge event patterns.
 */
#include <sys/stat.h>

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "evkit.h"
#include "ref/ref.h"

static const char usage_text[] =
    "usage: evmatch [-cNnqtv] [-j JOBS] [--explain] [--max-line-bytes SIZE] "
    "[--reject FILE]\n"
    "               {PATTERN | -f PATTERNFILE ...} [FILE ...]\n";

enum { OPT_EXPLAIN = 256, OPT_MAX_LINE, OPT_REJECT, OPT_VERSION };

static const struct option longopts[] = {
	{ "count", no_argument, NULL, 'c' },
	{ "explain", no_argument, NULL, OPT_EXPLAIN },
	{ "file", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ "invert-match", no_argument, NULL, 'v' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "line-number", no_argument, NULL, 'n' },
	{ "max-line-bytes", required_argument, NULL, OPT_MAX_LINE },
	{ "names", no_argument, NULL, 'N' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "reject", required_argument, NULL, OPT_REJECT },
	{ "test", no_argument, NULL, 't' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

static struct {
	int count, explain, invert, names, numbers, quiet;
} opt;

static struct ev_rules *rules;
static const char **pfiles;	/* -f operands */

/* A matcher and its tally: main's, or a worker thread's. */
struct mctx {
	struct ev_matcher *matcher;
	unsigned long selected;
	struct mctx *parent;	/* a worker's: main's */
};

static void
usage(void)
{
	fputs(usage_text, stderr);
	exit(EV_EXIT_ERROR);
}

static void
print_prefix(const struct ev_line *ln)
{
	if (opt.numbers)
		ev_out_printf("%s:%lu:", ln->file, ln->lineno);
}

static void
print_reason(void *ctx, const char *rule, const char *why)
{
	const struct ev_line *ln = ctx;

	ev_out_printf("%s:%lu: ", ln->file, ln->lineno);
	ev_out_name(rule);
	ev_out_printf(": %s\n", why);
}

/* A worker's context: its own matcher, a tally folded in by mctx_free. */
static void *
mctx_new(void *ctx)
{
	struct mctx *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->parent = ctx;
	w->matcher = ev_matcher_new(rules);
	return w;
}

static void
mctx_free(void *wctx)
{
	struct mctx *w = wctx;

	w->parent->selected += w->selected;
	ev_matcher_free(w->matcher);
	free(w);
}

static enum ev_verdict
on_line(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	struct mctx *mc = ctx;
	enum ev_match_mode mode = opt.names ? EV_MATCH_ALL : EV_MATCH_ANY;
	const size_t *hits;
	size_t nhits, i;
	int r;

	r = ev_match(mc->matcher, ln->buf, ln->len, mode, err);
	if (r < 0)
		return EV_BAD;
	if (opt.explain && r == 0) {
		if (ev_rules_explain(rules, ln->buf, ln->len, print_reason,
		    (void *)ln, err) < 0)
			return EV_BAD;
	}
	if ((r > 0) == opt.invert)
		return EV_NEXT;
	mc->selected++;
	if (opt.quiet)
		return EV_STOP;
	if (opt.count || opt.explain)
		return EV_NEXT;
	print_prefix(ln);
	if (opt.names && !opt.invert) {
		hits = ev_matched(mc->matcher, &nhits);
		for (i = 0; i < nhits; i++) {
			if (i > 0)
				ev_out_write(",", 1);
			ev_out_name(ev_rules_name(rules, hits[i]));
		}
		ev_out_write("\t", 1);
	}
	ev_out_line(ln->buf, ln->len);
	return EV_NEXT;
}

int
main(int argc, char *argv[])
{
	struct ev_input_opts in;
	struct mctx mc = { NULL, 0, NULL };
	struct ev_err err;
	struct stat st;
	const char *jobs = NULL;
	int npfiles = 0, test = 0, c, bad;

	memset(&in, 0, sizeof(in));
	if (ev_init(argv[0]) < 0) {
		ev_warn("/dev/null");
		return EV_EXIT_ERROR;
	}
	argv[0] = (char *)ev_progname();	/* for getopt's messages */
	rules = ev_rules_new();
	pfiles = calloc((size_t)argc, sizeof(*pfiles));
	if (rules == NULL || pfiles == NULL) {
		ev_warnx("out of memory");
		return EV_EXIT_ERROR;
	}
	while ((c = getopt_long(argc, argv, "Ncf:hj:nqtv", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'N':
			opt.names = 1;
			break;
		case 'c':
			opt.count = 1;
			break;
		case 'f':
			pfiles[npfiles++] = optarg;
			break;
		case 'h':
			return ev_out_info(usage_text);
		case 'j':
			jobs = optarg;
			break;
		case 'n':
			opt.numbers = 1;
			break;
		case 'q':
			opt.quiet = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'v':
			opt.invert = 1;
			break;
		case OPT_EXPLAIN:
			opt.explain = 1;
			break;
		case OPT_MAX_LINE:
			if (ev_opt_size("--max-line-bytes", optarg, 1,
			    &in.max_line) < 0)
				usage();
			break;
		case OPT_REJECT:
			if (ev_opt_file("--reject", optarg) < 0)
				usage();
			in.reject_path = optarg;
			break;
		case OPT_VERSION:
			return ev_out_info("evmatch (evkit) " EV_VERSION "\n");
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (opt.explain && (opt.count || opt.quiet || opt.invert)) {
		ev_warnx("options '--explain' and '-%c' cannot be used "
		    "together", opt.count ? 'c' : opt.quiet ? 'q' : 'v');
		usage();
	}
	ev_err_clear(&err);
	if (ev_input_jobs(jobs, &in.jobs, &err) < 0) {
		ev_diag(&err);
		usage();
	}

	if (npfiles == 0) {
		if (argc < 1)
			usage();
		ev_err_clear(&err);
		if (ev_rules_add(rules, "pattern", argv[0], strlen(argv[0]),
		    &err) < 0) {
			err.file = "<pattern>";
			ev_diag(&err);
			if (stat(argv[0], &st) == 0 && !S_ISDIR(st.st_mode))
				ev_warnx("'%s' is a file: did you mean -f "
				    "'%s'?", argv[0], argv[0]);
			return EV_EXIT_ERROR;
		}
		argc--;
		argv++;
	}
	for (c = 0; c < npfiles; c++) {
		ev_err_clear(&err);
		if (ev_rules_load(rules, pfiles[c], &err) < 0) {
			ev_diag(&err);
			return EV_EXIT_ERROR;
		}
	}
	ev_err_clear(&err);
	if (ev_rules_finish(rules, &err) < 0) {
		ev_diag(&err);
		return EV_EXIT_ERROR;
	}
	if (test)
		return EV_EXIT_OK;

	mc.matcher = ev_matcher_new(rules);
	if (opt.explain)
		in.jobs = 0;
	in.ctx_new = mctx_new;
	in.ctx_free = mctx_free;
	in.read_files = pfiles;
	in.nread_files = npfiles;
	ev_err_clear(&err);
	if (ev_stop_install(&err) < 0) {
		ev_diag(&err);
		return EV_EXIT_ERROR;
	}
	bad = ev_input_loop(argv, argc, &in, on_line, &mc);
	/* After a fatal error or a stop signal there is no count to give. */
	if (opt.count && !opt.quiet && bad >= 0 && bad != EV_INPUT_STOPPED)
		ev_out_printf("%lu\n", mc.selected);
	ev_err_clear(&err);
	if (ev_out_close(&err) < 0) {
		ev_diag(&err);
		bad = -1;
	}
	ev_matcher_free(mc.matcher);
	ev_rules_free(rules);
	free(pfiles);
	if (bad == EV_INPUT_STOPPED)
		return 128 + ev_stop_signal();
	if (opt.quiet && mc.selected)
		return EV_EXIT_OK;
	if (bad != 0)
		return EV_EXIT_ERROR;
	return mc.selected ? EV_EXIT_OK : EV_EXIT_NONE;
}
