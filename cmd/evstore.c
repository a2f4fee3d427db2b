/*
 * evstore - a storage-first event log and queue on one database file:
 * append (stored before handed on), read (replay, consumers), receive /
 * ack / nack (leases, dead letters), dead, redrive, stat, prune.  The
 * streams themselves live in lib/store (logio.c).
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
    "       evstore receive --group GROUP [--batch N] [--fail-empty] "
    "[--follow]\n"
    "               [--max N] [--max-receives N] [--sync MODE]\n"
    "               [--visibility DURATION] STORE\n"
    "       evstore ack --group GROUP [--sync MODE] STORE [FILE ...]\n"
    "       evstore nack --group GROUP [--sync MODE] STORE [FILE ...]\n"
    "       evstore dead --group GROUP [--fail-empty] STORE\n"
    "       evstore redrive --group GROUP STORE\n"
    "       evstore stat STORE\n"
    "       evstore prune {--before TIME | --keep N} STORE\n"
    "       evstore migrate STORE\n"
    "       evstore help\n"
    "       evstore --version\n";

enum {
	O_BEFORE = 1 << 0, O_CONSUMER = 1 << 1, O_FAIL = 1 << 2,
	O_FOLLOW = 1 << 3, O_FROM = 1 << 4, O_GROUP = 1 << 5,
	O_KEEP = 1 << 6, O_MAX = 1 << 7, O_MAXREC = 1 << 8,
	O_LINE = 1 << 9, O_REJECT = 1 << 10, O_REPLAY = 1 << 11,
	O_RETENTION = 1 << 12, O_SINCE = 1 << 13, O_SYNC = 1 << 14,
	O_UNTIL = 1 << 15, O_VIS = 1 << 16, O_PAT = 1 << 17,
	O_BATCH = 1 << 18, O_VERSION = 1 << 19
};

static const struct option longopts[] = {
	{ "batch", required_argument, NULL, O_BATCH },
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
	{ "version", no_argument, NULL, O_VERSION },
	{ "visibility", required_argument, NULL, O_VIS },
	{ NULL, 0, NULL, 0 }
};

/* The subcommands, the options each takes, and its default sync mode. */
enum cmd { C_APPEND, C_READ, C_RECEIVE, C_ACK, C_NACK, C_DEAD, C_REDRIVE,
	C_STAT, C_PRUNE, C_MIGRATE, C_HELP };
static const struct {
	const char *name;
	int opts;
	enum ev_db_sync sync;
} cmds[] = {
	[C_APPEND] = { "append", O_LINE | O_REJECT | O_RETENTION | O_SYNC |
	    O_PAT, EV_SYNC_FULL },
	[C_READ] = { "read", O_FAIL | O_FOLLOW | O_CONSUMER | O_FROM |
	    O_SINCE | O_UNTIL | O_REPLAY | O_PAT, EV_SYNC_FULL },
	/* A lease lost in a crash is only a redelivery. */
	[C_RECEIVE] = { "receive", O_GROUP | O_BATCH | O_FAIL | O_FOLLOW |
	    O_MAX | O_MAXREC | O_SYNC | O_VIS, EV_SYNC_NORMAL },
	[C_ACK] = { "ack", O_GROUP | O_LINE | O_REJECT | O_SYNC,
	    EV_SYNC_FULL },
	[C_NACK] = { "nack", O_GROUP | O_LINE | O_REJECT | O_SYNC,
	    EV_SYNC_FULL },
	[C_DEAD] = { "dead", O_GROUP | O_FAIL, EV_SYNC_FULL },
	[C_REDRIVE] = { "redrive", O_GROUP, EV_SYNC_FULL },
	[C_STAT] = { "stat", 0, EV_SYNC_FULL },
	[C_PRUNE] = { "prune", O_BEFORE | O_KEEP, EV_SYNC_FULL },
	[C_MIGRATE] = { "migrate", 0, EV_SYNC_FULL },
	[C_HELP] = { "help", 0, EV_SYNC_FULL },
};

static struct {
	enum cmd cmd;
	int fail_empty;
	const char *group;
	int64_t keep, before;
	struct ev_log_replay rp;
	struct ev_log_recv rc;
	struct ev_log_batch batch;
} opt;

static struct ev_db *db;
static const char **pfiles;	/* -f operands */
static struct ev_rules *rules;	/* -p/-f, or NULL */
static struct ev_matcher *matcher;
static int64_t seen;

static void
usage(void)
{
	fputs(usage_text, stderr);
	exit(EV_EXIT_ERROR);
}

/* ------------------------------------------------------ subcommands */

/* -p and -f: append archives, read replays only what matches. */
static int
archive(void *ctx, const char *line, size_t len, struct ev_err *err)
{
	return ev_match(matcher, line, len, EV_MATCH_ANY, err);
}

static int
keep_event(void *ctx, const char *data, size_t len)
{
	struct ev_err err;

	return ev_match(matcher, data, len, EV_MATCH_ANY, &err) > 0;
}

static int
cmd_other(struct ev_err *err)
{
	struct ev_buf b = { NULL, 0, 0 };
	int64_t n;

	switch (opt.cmd) {
	case C_READ:
		if (rules != NULL)
			opt.rp.filter = keep_event;
		n = ev_log_replay(db, &opt.rp, ev_stdout(), err);
		break;
	case C_RECEIVE:
		n = ev_log_receive_to(db, opt.group, &opt.rc, ev_stdout(), err);
		break;
	case C_DEAD:
		n = ev_log_dead_to(db, opt.group, ev_stdout(), err);
		break;
	case C_REDRIVE:
		if ((n = ev_log_redrive(db, opt.group, err)) >= 0)
			ev_out_printf("{\"redriven\":%" PRId64 "}\n", n);
		break;
	case C_PRUNE:
		if ((n = ev_log_prune(db, opt.before, opt.keep, err)) >= 0)
			ev_out_printf("{\"pruned\":%" PRId64 "}\n", n);
		break;
	case C_MIGRATE:		/* opening it did it */
		n = 0;
		break;
	default:
		n = ev_log_stat(db, ev_now_ms(), &b, err);
		if (n >= 0)
			ev_out_line(b.p, b.len);
		ev_buf_free(&b);
		break;
	}
	if (n < 0)
		return -1;
	seen = n;
	return 0;
}

/* ---------------------------------------------------------------- main */

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

/* Options given to a subcommand that does not take them: usage. */
static void
check_opts(int given)
{
	int i;

	if ((given & ~cmds[opt.cmd].opts) == 0)
		return;
	for (i = 0; longopts[i].name != NULL; i++)
		if (strchr("fhp", longopts[i].val) == NULL &&
		    (longopts[i].val & given & ~cmds[opt.cmd].opts))
			break;
	if (longopts[i].name != NULL)
		ev_warnx("'%s' takes no option '--%s'", cmds[opt.cmd].name,
		    longopts[i].name);
	else
		ev_warnx("'%s' takes no option '-p' or '-f'",
		    cmds[opt.cmd].name);
	usage();
}

int
main(int argc, char *argv[])
{
	static const char *const syncs[] = { "full", "normal", "off", NULL };
	static const enum ev_db_sync sync_of[] = { EV_SYNC_FULL,
	    EV_SYNC_NORMAL, EV_SYNC_OFF };
	struct ev_input_opts in;
	struct ev_db_opts dbo = { EV_SYNC_FULL, 0, 0, EV_LOG_PAGE_SIZE, 0 };
	struct ev_err err;
	const char *pattern = NULL;
	int npfiles = 0, c, given = 0, r = 0, i, max_set = 0;
	int64_t v;

	memset(&in, 0, sizeof(in));
	if (ev_init(argv[0]) < 0) {
		ev_warn("/dev/null");
		return EV_EXIT_ERROR;
	}
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "--version") == 0)
		return ev_out_info("evstore (evkit) " EV_VERSION "\n");
	for (i = 0; i <= C_HELP && strcmp(argv[1], cmds[i].name) != 0; i++)
		;
	if (i > C_HELP) {
		if (strcmp(argv[1], "--help") != 0 && strcmp(argv[1], "-h")) {
			ev_warnx("unknown command '%s'", argv[1]);
			usage();
		}
		i = C_HELP;
	}
	opt.cmd = (enum cmd)i;
	dbo.sync = cmds[opt.cmd].sync;
	opt.rp.since = INT64_MIN;
	opt.rp.until = INT64_MAX;
	opt.before = INT64_MIN;
	opt.keep = -1;
	opt.rc.max = 10;
	opt.rc.batch = 100;
	opt.rc.visibility = 30 * 1000;
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
		case O_BATCH: r = ev_opt_int("--batch", optarg, 1, 1000000,
			    &opt.rc.batch); break;
		case O_BEFORE: r = ev_opt_time("--before", optarg,
			    &opt.before); break;
		case O_CONSUMER: opt.rp.consumer = optarg; break;
		case O_FAIL: opt.fail_empty = 1; break;
		case O_FOLLOW: opt.rp.follow = opt.rc.follow = 1; break;
		case O_FROM: r = ev_opt_int("--from", optarg, 0, INT64_MAX,
			    &opt.rp.from); break;
		case O_GROUP: opt.group = optarg; break;
		case O_KEEP: r = ev_opt_int("--keep", optarg, 0, INT64_MAX,
			    &opt.keep); break;
		case O_LINE: r = ev_opt_size("--max-line-bytes", optarg, 1,
			    &in.max_line); break;
		case O_MAX: r = ev_opt_int("--max", optarg, 1, INT64_MAX,
			    &opt.rc.max); max_set = 1; break;
		case O_MAXREC: r = ev_opt_int("--max-receives", optarg, 1,
			    INT64_MAX, &opt.rc.max_receives); break;
		case O_REJECT:
			if (ev_opt_file("--reject", optarg) < 0)
				usage();
			in.reject_path = optarg;
			break;
		case O_REPLAY: opt.rp.name = optarg; break;
		case O_RETENTION: r = ev_opt_duration("--retention", optarg, 1,
			    &opt.batch.retention); break;
		case O_SINCE: r = ev_opt_time("--since", optarg, &opt.rp.since);
			break;
		case O_SYNC:
			if ((r = ev_opt_choice("--sync", optarg, syncs)) >= 0)
				dbo.sync = sync_of[r];
			break;
		case O_UNTIL: r = ev_opt_time("--until", optarg, &opt.rp.until);
			break;
		case O_VERSION: free(pfiles);
			return ev_out_info("evstore (evkit) " EV_VERSION "\n");
		case O_VIS: r = ev_opt_duration("--visibility", optarg, 0, &v);
			opt.rc.visibility = v; break;
		default: usage();
		}
		if (r < 0)
			usage();
		given |= c;
	}
	if (opt.cmd == C_HELP) {
		free(pfiles);
		return ev_out_info(usage_text);
	}
	check_opts(given);
	if ((cmds[opt.cmd].opts & O_GROUP) && opt.group == NULL) {
		ev_warnx("'%s' needs --group", cmds[opt.cmd].name);
		usage();
	}
	if (opt.cmd == C_PRUNE && (opt.before == INT64_MIN) == (opt.keep < 0)) {
		ev_warnx("'prune' needs one of --before and --keep");
		usage();
	}
	if (opt.rc.follow && !max_set)
		opt.rc.max = 0;		/* until stopped */
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
	dbo.readonly = (opt.cmd == C_READ && opt.rp.consumer == NULL) ||
	    opt.cmd == C_DEAD || opt.cmd == C_STAT;
	dbo.migrate = opt.cmd == C_MIGRATE;
	if ((db = ev_db_open(argv[0], &dbo, &err)) == NULL ||
	    ev_log_open(db, &err) < 0)
		r = -1;
	else if (opt.cmd == C_APPEND) {
		in.read_files = pfiles;
		in.nread_files = npfiles;
		r = ev_log_append_files(db, argv + 1, argc - 1, &in,
		    rules != NULL ? archive : NULL, NULL, &opt.batch,
		    ev_stdout(), &seen, &err);
	} else if (opt.cmd == C_ACK || opt.cmd == C_NACK)
		r = ev_log_settle_files(db, opt.group, opt.cmd == C_NACK,
		    argv + 1, argc - 1, &in, &seen, &err);
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
	ev_matcher_free(matcher);
	ev_rules_free(rules);
	free(pfiles);
	if (r == EV_INPUT_STOPPED || (r == 0 && ev_stop_signal()))
		return 128 + ev_stop_signal();
	if (r != 0)
		return EV_EXIT_ERROR;
	if (opt.fail_empty && seen == 0)
		return EV_EXIT_NONE;
	return EV_EXIT_OK;
}
