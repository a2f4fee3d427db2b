/*
 * evstore - a storage-first event log and queue on one database file:
 * append (stored before handed on), read (replay, consumers), receive /
 * ack / nack (leases, dead letters), dead, redrive, stat, prune.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "evkit.h"

static const char usage_text[] =
    "usage: evstore append [--max-line-bytes SIZE] [--reject FILE] "
    "[--retention DURATION]\n"
    "               [--sync MODE] [-p PATTERN | -f RULES ...] STORE "
    "[FILE ...]\n"
    "       evstore read [--fail-empty] [--follow] [--consumer NAME] "
    "[--from SEQ]\n"
    "               [--since TIME] [--until TIME] [--replay-name NAME]\n"
    "               [-p PATTERN | -f RULES ...] STORE\n"
    "       evstore receive --group GROUP [--fail-empty] [--max N] "
    "[--max-receives N]\n"
    "               [--visibility DURATION] STORE\n"
    "       evstore ack --group GROUP STORE [FILE ...]\n"
    "       evstore nack --group GROUP STORE [FILE ...]\n"
    "       evstore dead --group GROUP [--fail-empty] STORE\n"
    "       evstore redrive --group GROUP STORE\n"
    "       evstore stat STORE\n"
    "       evstore prune {--before TIME | --keep N} STORE\n"
    "       evstore help\n";

enum {
	O_BEFORE = 1 << 0, O_CONSUMER = 1 << 1, O_FAIL = 1 << 2,
	O_FOLLOW = 1 << 3, O_FROM = 1 << 4, O_GROUP = 1 << 5,
	O_KEEP = 1 << 6, O_MAX = 1 << 7, O_MAXREC = 1 << 8,
	O_LINE = 1 << 9, O_REJECT = 1 << 10, O_REPLAY = 1 << 11,
	O_RETENTION = 1 << 12, O_SINCE = 1 << 13, O_SYNC = 1 << 14,
	O_UNTIL = 1 << 15, O_VIS = 1 << 16, O_PAT = 1 << 17
};

static const struct option longopts[] = {
	{ "before", required_argument, NULL, O_BEFORE },
	{ "consumer", required_argument, NULL, O_CONSUMER },
	{ "fail-empty", no_argument, NULL, O_FAIL },
	{ "file", required_argument, NULL, 'f' },
	{ "follow", no_argument, NULL, O_FOLLOW },
	{ "from", required_argument, NULL, O_FROM },
	{ "group", required_argument, NULL, O_GROUP },
	{ "help", no_argument, NULL, 'h' },
	{ "keep", required_argument, NULL, O_KEEP },
	{ "max", required_argument, NULL, O_MAX },
	{ "max-line-bytes", required_argument, NULL, O_LINE },
	{ "max-receives", required_argument, NULL, O_MAXREC },
	{ "pattern", required_argument, NULL, 'p' },
	{ "reject", required_argument, NULL, O_REJECT },
	{ "replay-name", required_argument, NULL, O_REPLAY },
	{ "retention", required_argument, NULL, O_RETENTION },
	{ "since", required_argument, NULL, O_SINCE },
	{ "sync", required_argument, NULL, O_SYNC },
	{ "until", required_argument, NULL, O_UNTIL },
	{ "visibility", required_argument, NULL, O_VIS },
	{ NULL, 0, NULL, 0 }
};

/* The subcommands and the options each takes. */
enum cmd { C_APPEND, C_READ, C_RECEIVE, C_ACK, C_NACK, C_DEAD, C_REDRIVE,
	C_STAT, C_PRUNE, C_HELP };
static const struct {
	const char *name;
	int opts;
} cmds[] = {
	[C_APPEND] = { "append", O_LINE | O_REJECT | O_RETENTION | O_SYNC |
	    O_PAT },
	[C_READ] = { "read", O_FAIL | O_FOLLOW | O_CONSUMER | O_FROM |
	    O_SINCE | O_UNTIL | O_REPLAY | O_PAT },
	[C_RECEIVE] = { "receive", O_GROUP | O_FAIL | O_MAX | O_MAXREC |
	    O_VIS },
	[C_ACK] = { "ack", O_GROUP | O_LINE | O_REJECT },
	[C_NACK] = { "nack", O_GROUP | O_LINE | O_REJECT },
	[C_DEAD] = { "dead", O_GROUP | O_FAIL },
	[C_REDRIVE] = { "redrive", O_GROUP },
	[C_STAT] = { "stat", 0 },
	[C_PRUNE] = { "prune", O_BEFORE | O_KEEP },
	[C_HELP] = { "help", 0 },
};

/* Events per group commit, and the longest a batch waits (ms). */
#define BATCH_MAX 10000
#define BATCH_MS 100
/* Events per read query; --follow's poll interval (ms). */
#define READ_CHUNK 4096
#define FOLLOW_MS 100

static struct {
	enum cmd cmd;
	int fail_empty, follow;
	const char *consumer, *group, *replay;
	int64_t from, since, until, keep, max, max_receives, visibility,
	    retention, before;
} opt;

static struct ev_db *db;
static const char **pfiles;	/* -f operands */
static struct ev_rules *rules;	/* -p/-f, or NULL */
static struct ev_matcher *matcher;
static struct ev_path *whole, *receipt;
static struct ev_buf pending;	/* append: stored lines, not yet written */
static int64_t npending, batch_start, last_seq, seen;

static void
usage(void)
{
	fputs(usage_text, stderr);
	exit(EV_EXIT_ERROR);
}

static int64_t
num_arg(const char *name, const char *s, int64_t min)
{
	char *end;
	long long v;

	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < min) {
		ev_warnx("invalid %s '%s': expected a whole number from "
		    "%" PRId64, name, s, min);
		usage();
	}
	return v;
}

static int64_t
time_arg(const char *name, const char *s)
{
	int64_t ms;

	if (ev_time_parse(s, strlen(s), &ms) < 0) {
		ev_warnx("invalid %s '%s': expected an RFC 3339 time or "
		    "seconds since 1970", name, s);
		usage();
	}
	return ms;
}

static int64_t
dur_arg(const char *s)
{
	struct ev_err err;
	int64_t ms;

	ev_err_clear(&err);
	if (ev_duration_parse(s, &ms, &err) < 0) {
		ev_diag(&err);
		usage();
	}
	return ms;
}

/* A fatal store error: report, exit 2. */
static int
fail(struct ev_err *err)
{
	ev_diag(err);
	ev_db_close(db, err);
	return EV_EXIT_ERROR;
}

/* ------------------------------------------------------------- append */

/* Commit the batch, then write what it stored. */
static enum ev_verdict
flush_batch(struct ev_err *err)
{
	if (!ev_db_in_tx(db))
		return EV_NEXT;
	if (opt.retention > 0 &&
	    ev_log_prune(db, ev_now_ms() - opt.retention, -1, err) < 0)
		return EV_FAIL;
	if (ev_db_commit(db, err) < 0)
		return EV_FAIL;
	if (pending.len > 0)
		ev_out_write(pending.p, pending.len);
	pending.len = 0;
	npending = 0;
	return EV_NEXT;
}

static enum ev_verdict
on_event(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	const char *v;
	size_t vlen;
	int r;

	if (rules != NULL) {
		if ((r = ev_match(matcher, ln->buf, ln->len, EV_MATCH_ANY,
		    err)) < 0)
			return EV_BAD;
	} else if ((r = ev_path_get(whole, ln->buf, ln->len, &v, &vlen,
	    err)) < 0)
		return EV_BAD;
	*(char *)ln->result = r > 0;
	return EV_NEXT;
}

static enum ev_verdict
store_event(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	int64_t now = ev_now_ms(), seq;

	if (ln == NULL)
		return flush_batch(err);
	if (!*(char *)ln->result)
		return EV_NEXT;
	if (!ev_db_in_tx(db)) {
		if (ev_db_begin(db, err) < 0)
			return EV_FAIL;
		batch_start = now;
	}
	if (ev_log_append(db, ln->buf, ln->len, now, &seq, err) < 0)
		return EV_FAIL;
	if (ev_buf_add(&pending, ln->buf, ln->len) < 0 ||
	    ev_buf_add(&pending, "\n", 1) < 0) {
		ev_err_set(err, "out of memory");
		return EV_FAIL;
	}
	if (++npending >= BATCH_MAX || now - batch_start >= BATCH_MS)
		return flush_batch(err);
	return EV_NEXT;
}

/* ------------------------------------------------------- ack and nack */

static enum ev_verdict
on_receipt(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	char tok[64];
	const char *v;
	size_t vlen;
	long long seq;
	int n = 0, r;

	r = ev_path_get(receipt, ln->buf, ln->len, &v, &vlen, err);
	if (r < 0)
		return EV_BAD;
	if (r == 0 || vlen < 2 || vlen - 2 >= sizeof(tok) ||
	    sscanf(v, "\"%lld:%*d:%16[0-9a-f]\"%n", &seq, tok, &n) != 2 ||
	    (size_t)n != vlen) {
		ev_err_set(err, "no receipt: expected a line that evstore "
		    "receive wrote");
		return EV_BAD;
	}
	if (!ev_db_in_tx(db) && ev_db_begin(db, err) < 0)
		return EV_FAIL;
	r = opt.cmd == C_ACK ? ev_log_ack(db, opt.group, seq, tok, err) :
	    ev_log_nack(db, opt.group, seq, tok, ev_now_ms(), err);
	if (r < 0)
		return EV_FAIL;
	if (r == 0) {
		ev_err_set(err, "receipt '%.*s' is not held: the lease "
		    "expired or was completed", (int)(vlen - 2), v + 1);
		return EV_BAD;
	}
	seen++;
	return EV_NEXT;
}

static enum ev_verdict
commit_receipts(void *ctx, const struct ev_line *ln, struct ev_err *err)
{
	if (ln == NULL && ev_db_in_tx(db) && ev_db_commit(db, err) < 0)
		return EV_FAIL;
	return EV_NEXT;
}

/* ------------------------------------------------------ read, receive */

/* Write ev's bytes, with "replay-name" first when asked. */
static void
put_event(const struct ev_log_event *ev)
{
	const char *p = ev->data, *e = ev->data + ev->len;

	if (opt.replay == NULL) {
		ev_out_line(p, ev->len);
		return;
	}
	while (p < e && *p != '{')
		p++;
	if (p == e) {
		ev_out_line(ev->data, ev->len);
		return;
	}
	ev_out_str("{\"replay-name\":");
	ev_out_str(opt.replay);	/* JSON-escaped already */
	p++;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	if (p < e && *p != '}')
		ev_out_write(",", 1);
	ev_out_line(p, (size_t)(e - p));
}

static int
on_read(void *ctx, const struct ev_log_event *ev)
{
	struct ev_err err;

	last_seq = ev->seq;
	if (rules != NULL &&
	    ev_match(matcher, ev->data, ev->len, EV_MATCH_ANY, &err) <= 0)
		return 0;
	seen++;
	put_event(ev);
	return ev_out_closed();
}

static int
on_receive(void *ctx, const struct ev_log_event *ev)
{
	struct ev_buf *b = ctx;
	char head[128];
	int n;

	n = snprintf(head, sizeof(head), "{\"receipt\":\"%" PRId64 ":%"
	    PRId64 ":%s\",\"seq\":%" PRId64 ",\"receives\":%" PRId64
	    ",\"event\":", ev->seq, ev->receives, ev->token, ev->seq,
	    ev->receives);
	if (ev_buf_add(b, head, (size_t)n) < 0 ||
	    ev_buf_add(b, ev->data, ev->len) < 0 || ev_buf_add(b, "}\n", 2) < 0)
		return 1;
	return 0;
}

static int
on_dead(void *ctx, const struct ev_log_event *ev)
{
	char t[32];

	ev_time_format(ev->dead_at, t, sizeof(t));
	ev_out_printf("{\"seq\":%" PRId64 ",\"receives\":%" PRId64
	    ",\"reason\":\"%s\",\"time\":\"%s\",\"event\":", ev->seq,
	    ev->receives, ev->reason, t);
	ev_out_write(ev->data, ev->len);
	ev_out_str("}\n");
	return 0;
}

static int
cmd_read(struct ev_err *err)
{
	struct ev_log_range r = { opt.from, opt.since, opt.until,
	    READ_CHUNK };
	int64_t n, cur;

	if (opt.consumer != NULL) {
		if (ev_log_cursor_get(db, opt.consumer, &cur, err) < 0)
			return -1;
		if (cur + 1 > r.from)
			r.from = cur + 1;
	}
	for (;;) {
		last_seq = 0;
		if ((n = ev_log_read(db, &r, on_read, NULL, err)) < 0)
			return -1;
		if (ev_out_flush() < 0 || ev_out_closed())
			break;
		/* Only now was every event up to last_seq written. */
		if (last_seq > 0 && opt.consumer != NULL &&
		    ev_log_cursor_set(db, opt.consumer, last_seq, err) < 0)
			return -1;
		if (last_seq > 0)
			r.from = last_seq + 1;
		if (n == READ_CHUNK)
			continue;
		if (!opt.follow || ev_stop_signal())
			break;
		ev_sleep_ms(FOLLOW_MS);
		if (ev_stop_signal())
			break;
	}
	return 0;
}

static int
cmd_receive(struct ev_err *err)
{
	struct ev_log_lease l = { opt.max, opt.visibility, opt.max_receives,
	    ev_now_ms() };
	struct ev_buf b = { NULL, 0, 0 };
	int64_t n;

	n = ev_log_receive(db, opt.group, &l, on_receive, &b, err);
	if (n >= 0) {
		/* Committed: now the receipts are real. */
		if (b.len > 0)
			ev_out_write(b.p, b.len);
		seen = n;
	}
	ev_buf_free(&b);
	return n < 0 ? -1 : 0;
}

static int
cmd_other(struct ev_err *err)
{
	struct ev_buf b = { NULL, 0, 0 };
	int64_t n;

	switch (opt.cmd) {
	case C_DEAD:
		if ((n = ev_log_dead(db, opt.group, on_dead, NULL, err)) < 0)
			return -1;
		seen = n;
		return 0;
	case C_REDRIVE:
		if ((n = ev_log_redrive(db, opt.group, err)) < 0)
			return -1;
		ev_out_printf("{\"redriven\":%" PRId64 "}\n", n);
		return 0;
	case C_PRUNE:
		if ((n = ev_log_prune(db, opt.before, opt.keep, err)) < 0)
			return -1;
		ev_out_printf("{\"pruned\":%" PRId64 "}\n", n);
		return 0;
	default:
		if (ev_log_stat(db, ev_now_ms(), &b, err) < 0) {
			ev_buf_free(&b);
			return -1;
		}
		ev_out_line(b.p, b.len);
		ev_buf_free(&b);
		return 0;
	}
}

/* ---------------------------------------------------------------- main */

/* Quote s as a JSON string for --replay-name (control characters too). */
static char *
json_quote(const char *s)
{
	char *q = malloc(strlen(s) * 6 + 3), *p = q;

	if (q == NULL)
		return NULL;
	*p++ = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < 0x20)
			p += sprintf(p, "\\u%04x", c);
		else
			*p++ = (char)c;
	}
	*p++ = '"';
	*p = '\0';
	return q;
}

static int
load_rules(const char *pattern, int npfiles, struct ev_err *err)
{
	int i;

	if (pattern == NULL && npfiles == 0)
		return 0;
	rules = ev_rules_new();
	if (pattern != NULL && ev_rules_add(rules, "pattern", pattern,
	    strlen(pattern), err) < 0) {
		err->file = "<pattern>";
		return -1;
	}
	for (i = 0; i < npfiles; i++)
		if (ev_rules_load(rules, pfiles[i], err) < 0)
			return -1;
	if (ev_rules_finish(rules, err) < 0)
		return -1;
	matcher = ev_matcher_new(rules);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct ev_input_opts in;
	struct ev_db_opts dbo = { EV_SYNC_FULL, 0, 0 };
	struct ev_err err;
	const char *pattern = NULL;
	int npfiles = 0, c, seen_opts = 0, r = 0, i;

	memset(&in, 0, sizeof(in));
	if (ev_init(argv[0]) < 0) {
		ev_warn("/dev/null");
		return EV_EXIT_ERROR;
	}
	if (argc < 2)
		usage();
	for (i = 0; i <= C_HELP && strcmp(argv[1], cmds[i].name) != 0; i++)
		;
	if (i > C_HELP) {
		if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
			i = C_HELP;
		else {
			ev_warnx("unknown command '%s'", argv[1]);
			usage();
		}
	}
	opt.cmd = (enum cmd)i;
	opt.since = INT64_MIN;
	opt.until = INT64_MAX;
	opt.before = INT64_MIN;
	opt.keep = -1;
	opt.max = 10;
	opt.visibility = 30 * 1000;
	if ((pfiles = calloc((size_t)argc, sizeof(*pfiles))) == NULL) {
		ev_warnx("out of memory");
		return EV_EXIT_ERROR;
	}
	argv++;
	argc--;
	argv[0] = (char *)ev_progname();
	while ((c = getopt_long(argc, argv, "f:hp:", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': pfiles[npfiles++] = optarg; c = O_PAT; break;
		case 'h': opt.cmd = C_HELP; continue;
		case 'p': pattern = optarg; c = O_PAT; break;
		case O_BEFORE: opt.before = time_arg("time", optarg); break;
		case O_CONSUMER: opt.consumer = optarg; break;
		case O_FAIL: opt.fail_empty = 1; break;
		case O_FOLLOW: opt.follow = 1; break;
		case O_FROM: opt.from = num_arg("sequence number", optarg, 0);
			break;
		case O_GROUP: opt.group = optarg; break;
		case O_KEEP: opt.keep = num_arg("count", optarg, 0); break;
		case O_MAX: opt.max = num_arg("count", optarg, 1); break;
		case O_MAXREC: opt.max_receives = num_arg("count", optarg, 1);
			break;
		case O_LINE:
			ev_err_clear(&err);
			if (ev_size_parse(optarg, &in.max_line, &err) < 0 ||
			    in.max_line == 0) {
				if (!err.msg[0])
					ev_err_set(&err, "invalid size '%s'",
					    optarg);
				ev_diag(&err);
				usage();
			}
			break;
		case O_REJECT:
			if (strcmp(optarg, "-") == 0) {
				ev_warnx("--reject: '-' is not a file; use "
				    "/dev/stdout or ./-");
				usage();
			}
			in.reject_path = optarg;
			break;
		case O_REPLAY:
			if ((opt.replay = json_quote(optarg)) == NULL) {
				ev_warnx("out of memory");
				return EV_EXIT_ERROR;
			}
			break;
		case O_RETENTION: opt.retention = dur_arg(optarg); break;
		case O_SINCE: opt.since = time_arg("time", optarg); break;
		case O_SYNC:
			ev_err_clear(&err);
			if (ev_db_sync_parse(optarg, &dbo.sync, &err) < 0) {
				ev_diag(&err);
				usage();
			}
			break;
		case O_UNTIL: opt.until = time_arg("time", optarg); break;
		case O_VIS: opt.visibility = dur_arg(optarg); break;
		default: usage();
		}
		seen_opts |= c;
	}
	if (opt.cmd == C_HELP) {
		free(pfiles);
		ev_out_str(usage_text);
		ev_err_clear(&err);
		if (ev_out_close(&err) < 0) {
			ev_diag(&err);
			return EV_EXIT_ERROR;
		}
		return EV_EXIT_OK;
	}
	if (seen_opts & ~cmds[opt.cmd].opts) {
		for (i = 0; longopts[i].name != NULL; i++)
			if (strchr("fhp", longopts[i].val) == NULL &&
			    (longopts[i].val & seen_opts & ~cmds[opt.cmd].opts))
				break;
		if (longopts[i].name != NULL)
			ev_warnx("'%s' takes no option '--%s'",
			    cmds[opt.cmd].name, longopts[i].name);
		else
			ev_warnx("'%s' takes no option '-p' or '-f'",
			    cmds[opt.cmd].name);
		usage();
	}
	if ((cmds[opt.cmd].opts & O_GROUP) && opt.group == NULL) {
		ev_warnx("'%s' needs --group", cmds[opt.cmd].name);
		usage();
	}
	if (opt.cmd == C_PRUNE && (opt.before == INT64_MIN) == (opt.keep < 0)) {
		ev_warnx("'prune' needs one of --before and --keep");
		usage();
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || (argc > 1 && opt.cmd != C_APPEND &&
	    opt.cmd != C_ACK && opt.cmd != C_NACK))
		usage();
	ev_err_clear(&err);
	if (ev_clock_init(&err) < 0 || ev_stop_install(&err) < 0 ||
	    load_rules(pattern, npfiles, &err) < 0) {
		ev_diag(&err);
		return EV_EXIT_ERROR;
	}
	dbo.readonly = (opt.cmd == C_READ && opt.consumer == NULL) ||
	    opt.cmd == C_DEAD || opt.cmd == C_STAT;
	if ((db = ev_db_open(argv[0], &dbo, &err)) == NULL)
		return fail(&err);
	if (!dbo.readonly && ev_log_open(db, &err) < 0)
		return fail(&err);
	if (opt.cmd == C_APPEND || opt.cmd == C_ACK || opt.cmd == C_NACK) {
		whole = ev_path_compile("$", &err);
		receipt = ev_path_compile("receipt", &err);
		in.read_files = pfiles;
		in.nread_files = npfiles;
		in.order = opt.cmd == C_APPEND ? store_event : commit_receipts;
		in.result_size = 1;
		r = ev_input_loop(argv + 1, argc - 1, &in, opt.cmd == C_APPEND ?
		    on_event : on_receipt, NULL);
		/* After a failure, nothing unstored is written: drop it. */
		ev_db_rollback(db);
	} else if (opt.cmd == C_READ)
		r = cmd_read(&err);
	else if (opt.cmd == C_RECEIVE)
		r = cmd_receive(&err);
	else
		r = cmd_other(&err);
	if (r < 0 && err.msg[0])
		ev_diag(&err);
	ev_err_clear(&err);
	if (ev_out_close(&err) < 0) {
		ev_diag(&err);
		r = -1;
	}
	ev_db_close(db, &err);
	ev_path_free(whole);
	ev_path_free(receipt);
	ev_matcher_free(matcher);
	ev_rules_free(rules);
	ev_buf_free(&pending);
	free(pfiles);
	free((char *)opt.replay);
	if (r == EV_INPUT_STOPPED || (r == 0 && ev_stop_signal()))
		return 128 + ev_stop_signal();
	if (r != 0)
		return EV_EXIT_ERROR;
	if (opt.fail_empty && seen == 0)
		return EV_EXIT_NONE;
	return EV_EXIT_OK;
}
