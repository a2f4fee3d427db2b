/*
 * evroute - an event bus in a pipe: EventBridge rules and their targets.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evkit.h"

static const char usage_text[] =
    "usage: evroute [-t] [-j JOBS] [--api-destination FILE ...] "
    "[--buffer COUNT]\n"
    "               [--connection FILE ...] [--dlq FILE] [--dry-run] "
    "[--first-match]\n"
    "               [--header HEADER ...] [--http-timeout DURATION] "
    "[--max-line-bytes SIZE]\n"
    "               [--reject FILE] [--stats] [--target ID=URI ...] "
    "[--unmatched FILE]\n"
    "               -f RULES [FILE ...]\n";

enum {
	OPT_BUFFER = 256, OPT_DLQ, OPT_DRY, OPT_FIRST, OPT_MAX_LINE, OPT_REJECT,
	OPT_STATS, OPT_TARGET, OPT_UNMATCHED, OPT_VERSION, OPT_APIDEST,
	OPT_CONN, OPT_HEADER, OPT_HTTP_TIMEOUT
};

static const struct option longopts[] = {
	{ "api-destination", required_argument, NULL, OPT_APIDEST },
	{ "buffer", required_argument, NULL, OPT_BUFFER },
	{ "connection", required_argument, NULL, OPT_CONN },
	{ "dlq", required_argument, NULL, OPT_DLQ },
	{ "dry-run", no_argument, NULL, OPT_DRY },
	{ "file", required_argument, NULL, 'f' },
	{ "first-match", no_argument, NULL, OPT_FIRST },
	{ "header", required_argument, NULL, OPT_HEADER },
	{ "help", no_argument, NULL, 'h' },
	{ "http-timeout", required_argument, NULL, OPT_HTTP_TIMEOUT },
	{ "jobs", required_argument, NULL, 'j' },
	{ "max-line-bytes", required_argument, NULL, OPT_MAX_LINE },
	{ "reject", required_argument, NULL, OPT_REJECT },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "target", required_argument, NULL, OPT_TARGET },
	{ "test", no_argument, NULL, 't' },
	{ "unmatched", required_argument, NULL, OPT_UNMATCHED },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

/* At file scope, so that what an early exit leaves is still reachable. */
static struct ev_bus *bus;
static struct ev_rules *rs;
static struct ev_route_config cf;
static struct ev_bus_opts bo;
static const char **maps;
static char *owned[2];		/* --dlq's and --unmatched's URIs */
/* http targets: --header, --connection, --api-destination */
static struct ev_http_conf hc;
static const char **headers, **conn_files, **dest_files;
static int nconn_files, ndest_files;

/* Matched rules, from a worker's match to the in-order routing. */
#define MAXHITS 8
struct hits {
	int n;			/* > MAXHITS: match again when routing */
	size_t h[MAXHITS];
};

/* Main's or a worker thread's matcher. */
static void *
mctx_new(void *ctx)
{
	return ev_matcher_new(rs);
}

static void
mctx_free(void *wctx)
{
	ev_matcher_free(wctx);
}

static void
usage(void)
{
	fputs(usage_text, stderr);
	exit(EV_EXIT_ERROR);
}

/* A file option's argument as a target URI ("-": standard output). */
static const char *
file_uri(const char *path, int i)
{
	char *u;

	if (strcmp(path, "-") == 0)
		return "-";
	if ((u = malloc(strlen(path) + 6)) == NULL) {
		ev_warnx("out of memory");
		exit(EV_EXIT_ERROR);
	}
	free(owned[i]);
	owned[i] = u;
	return strcat(strcpy(u, "file:"), path);
}

static enum ev_verdict
verdict(enum ev_bus_res r)
{
	switch (r) {
	case EV_BUS_OK:
		return EV_NEXT;
	case EV_BUS_BAD:
		return EV_BAD;
	case EV_BUS_STOP:
		return EV_STOP;
	default:
		return EV_FAIL;
	}
}

/* On a worker (or inline): which rules the event matches. */
static enum ev_verdict
on_line(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	struct hits *h = ln->result;

	h->n = ev_bus_match(bus, ctx, ln->buf, ln->len, h->h, MAXHITS, err);
	return h->n < 0 ? EV_BAD : EV_NEXT;
}

/*
 * The input loop reads each line's last byte before it calls the hook;
 * the lines of a chunk follow one another in memory, last touched by a
 * worker on another CPU: fetch the bytes 4 kB past this line's (as far
 * again as the line is long) so that the lines to come are in cache (a
 * miss per line was 9% of the run with 1,000 rules).  Prefetching never
 * faults, past the chunk's end neither.
 */
static void
prefetch_ahead(const struct ev_line *ln)
{
	uintptr_t a = ((uintptr_t)ln->buf + 4096) & ~(uintptr_t)63;
	uintptr_t e = (uintptr_t)ln->buf + ln->len + 1 + 4096;

	for (; a < e; a += 64)
		__builtin_prefetch((const void *)a);
}

/*
 * In input order: route the event to its rules' targets; when the input
 * runs dry (ln NULL), the targets get what is buffered.
 */
static enum ev_verdict
on_order(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	const struct hits *h;

	if (ln == NULL)
		return ev_bus_flush(bus, err) < 0 ? EV_FAIL : EV_NEXT;
	prefetch_ahead(ln);
	h = ln->result;
	if (h->n > MAXHITS)
		return verdict(ev_bus_event(bus, ln->file, ln->lineno,
		    ln->buf, ln->len, ev_now_ms(), err));
	/* the clock is read for events that go somewhere only */
	return verdict(ev_bus_route(bus, ln->file, ln->lineno, ln->buf,
	    ln->len, h->h, (size_t)h->n, h->n > 0 ? ev_now_ms() : 0, err));
}

int
main(int argc, char *argv[])
{
	struct ev_input_opts in;
	struct ev_err err;
	void *mctx;
	struct ev_buf sb = { NULL, 0, 0 };
	const char *rules = NULL, *rfiles[1], *jobs = NULL;
	int test = 0, stats = 0, drop = 0, c, bad, rc;
	int64_t buffer;
	unsigned long n;

	memset(&in, 0, sizeof(in));
	if (ev_init(argv[0]) < 0) {
		ev_warn("/dev/null");
		return EV_EXIT_ERROR;
	}
	argv[0] = (char *)ev_progname();
	if ((maps = calloc((size_t)argc, sizeof(*maps))) == NULL ||
	    (headers = calloc((size_t)argc, sizeof(*headers))) == NULL ||
	    (conn_files = calloc((size_t)argc, sizeof(char *))) == NULL ||
	    (dest_files = calloc((size_t)argc, sizeof(char *))) == NULL ||
	    (rs = ev_rules_new()) == NULL) {
		ev_warnx("out of memory");
		return EV_EXIT_ERROR;
	}
	while ((c = getopt_long(argc, argv, "f:hj:t", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (rules != NULL) {
				ev_warnx("-f: one rules file only");
				usage();
			}
			rules = optarg;
			break;
		case 'h':
			return ev_out_info(usage_text);
		case 'j':
			jobs = optarg;
			break;
		case 't':
			test = 1;
			break;
		case OPT_BUFFER:
			if (ev_opt_int("--buffer", optarg, 1, 1000000,
			    &buffer) < 0)
				usage();
			bo.bound = (size_t)buffer;
			break;
		case OPT_APIDEST:
			if (ev_opt_file("--api-destination", optarg) < 0)
				usage();
			dest_files[ndest_files++] = optarg;
			break;
		case OPT_CONN:
			if (ev_opt_file("--connection", optarg) < 0)
				usage();
			conn_files[nconn_files++] = optarg;
			break;
		case OPT_HEADER:
			ev_err_clear(&err);
			if (ev_http_header_check(optarg, &err) < 0) {
				ev_diag(&err);
				usage();
			}
			headers[hc.nheaders++] = optarg;
			break;
		case OPT_HTTP_TIMEOUT:
			if (ev_opt_duration("--http-timeout", optarg, 1,
			    &hc.timeout_ms) < 0)
				usage();
			break;
		case OPT_DLQ:
			bo.dlq = file_uri(optarg, 0);
			break;
		case OPT_DRY:
			bo.dry_run = 1;
			break;
		case OPT_FIRST:
			bo.first_match = 1;
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
		case OPT_STATS:
			stats = 1;
			break;
		case OPT_TARGET:
			if (strchr(optarg, '=') == NULL ||
			    optarg[0] == '=') {
				ev_warnx("invalid --target '%s': expected "
				    "ID=URI", optarg);
				usage();
			}
			maps[bo.nmaps++] = optarg;
			break;
		case OPT_UNMATCHED:
			if (strcmp(optarg, "drop") == 0)
				drop = 1;
			else
				bo.unmatched = file_uri(optarg, 1);
			break;
		case OPT_VERSION:
			return ev_out_info("evroute (evkit) " EV_VERSION "\n");
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (rules == NULL)
		usage();
	ev_err_clear(&err);
	if (ev_input_jobs(jobs, &in.jobs, &err) < 0) {
		ev_diag(&err);
		usage();
	}
	ev_err_clear(&err);
	if (ev_clock_init(&err) < 0) {
		ev_diag(&err);
		usage();
	}

	hc.headers = headers;
	ev_err_clear(&err);
	if (ev_http_conf_load(&hc, conn_files, nconn_files, dest_files,
	    ndest_files, &err) < 0) {
		ev_diag(&err);
		return EV_EXIT_ERROR;
	}
	ev_err_clear(&err);
	if (ev_route_config_load(&cf, rs, rules, &err) < 0 ||
	    ev_rules_finish(rs, &err) < 0) {
		ev_diag(&err);
		return EV_EXIT_ERROR;
	}
	bo.maps = maps;
	bo.http = &hc;
	bo.rules_path = rules;
	bo.dry_run |= test;
	ev_err_clear(&err);
	if ((bus = ev_bus_new(&cf, rs, &bo, &err)) == NULL) {
		ev_diag(&err);
		return EV_EXIT_ERROR;
	}
	if (test) {
		ev_bus_report(bus);
		rc = EV_EXIT_OK;
		goto done;
	}
	ev_err_clear(&err);
	if (ev_bus_refuse_inputs(bus, argv, argc, rules, in.reject_path,
	    &err) < 0) {
		ev_diag(&err);
		return EV_EXIT_ERROR;
	}

	rfiles[0] = rules;
	in.read_files = rfiles;
	in.nread_files = 1;
	in.order = on_order;
	in.result_size = sizeof(struct hits);
	in.ctx_new = mctx_new;
	in.ctx_free = mctx_free;
	if ((mctx = ev_matcher_new(rs)) == NULL) {
		ev_warnx("out of memory");
		return EV_EXIT_ERROR;
	}
	ev_err_clear(&err);
	if (ev_stop_install(&err) < 0) {
		ev_diag(&err);
		return EV_EXIT_ERROR;
	}
	bad = ev_input_loop(argv, argc, &in, on_line, mctx);
	ev_matcher_free(mctx);
	/* what waits for a retry, or runs, is delivered or dead-lettered */
	ev_err_clear(&err);
	if (bad >= 0 && ev_bus_drain(bus, &err) < 0) {
		ev_diag(&err);
		bad = -1;
	}
	n = ev_bus_unmatched(bus);
	if (n > 0 && bo.unmatched == NULL && !drop && !bo.dry_run)
		ev_warnx("%lu event%s matched no rule", n, n == 1 ? "" : "s");
	if (stats) {
		if (ev_bus_stats(bus, &sb) < 0) {
			ev_warnx("out of memory");
			bad = -1;
		} else
			fwrite(sb.p, 1, sb.len, stderr);
		ev_buf_free(&sb);
	}
	if (bad == EV_INPUT_STOPPED)
		rc = 128 + ev_stop_signal();
	else if (bad != 0)
		rc = EV_EXIT_ERROR;
	else
		rc = ev_bus_dead(bus) > 0 ? EV_EXIT_NONE : EV_EXIT_OK;
done:
	ev_err_clear(&err);
	if (ev_bus_free(bus, &err) < 0) {
		ev_diag(&err);
		rc = EV_EXIT_ERROR;
	}
	ev_err_clear(&err);
	if (ev_out_close(&err) < 0) {
		ev_diag(&err);
		rc = EV_EXIT_ERROR;
	}
	ev_route_config_free(&cf);
	ev_rules_free(rs);
	free(maps);
	free(owned[0]);
	free(owned[1]);
	ev_http_conf_free(&hc);
	free(headers);
	free(conn_files);
	free(dest_files);
	return rc;
}
