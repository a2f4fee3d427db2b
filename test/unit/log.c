/*
 * Unit tests for lib/store's event log and queues (log.c, sqlite_log.c):
 * append and read ranges, cursors, leases with tokens, dead letters,
 * redrive, prune, stat.
 */
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evkit.h"
#include "tap.h"

/* What the callbacks saw. */
static char seen[4096];
static char tok[8][32];
static int64_t seqs[8];
static int nseen;

static int
collect(void *ctx, const struct ev_log_event *ev)
{
	size_t n = strlen(seen);

	snprintf(seen + n, sizeof(seen) - n, "%lld:%.*s:%lld;",
	    (long long)ev->seq, (int)ev->len, ev->data,
	    (long long)ev->receives);
	if (nseen < 8) {
		seqs[nseen] = ev->seq;
		snprintf(tok[nseen], sizeof(tok[0]), "%s",
		    ev->token ? ev->token : "");
	}
	nseen++;
	return ctx != NULL;	/* a non-NULL ctx stops after one */
}

static void
reset(void)
{
	seen[0] = '\0';
	nseen = 0;
}

/*
 * N processes open one new store at the same moment (released together
 * by the close of a pipe) and append an event each; returns how many
 * failed.  Two of them switching a new file to WAL at once got
 * SQLITE_BUSY without the busy handler; one reading the version before
 * another's tables were committed and the table count after took it for
 * somebody else's file ("not an evstore store").
 */
static int
race(const char *path, int n)
{
	struct ev_db_opts o = { .page_size = EV_LOG_PAGE_SIZE };
	int fd[2], i, st, failed = 0;
	char c;

	if (pipe(fd) < 0)
		return n;
	for (i = 0; i < n; i++) {
		if (fork() == 0) {
			struct ev_err err;
			struct ev_db *db;
			int64_t seq;

			close(fd[1]);
			(void)read(fd[0], &c, 1);
			ev_err_clear(&err);
			db = ev_db_open(path, &o, &err);
			if (db == NULL || ev_log_open(db, &err) < 0 ||
			    ev_log_append(db, "{}", 2, 1, &seq, &err) < 0) {
				printf("# %s\n", err.msg);
				fflush(stdout);
				_exit(1);
			}
			ev_db_close(db, &err);
			_exit(0);
		}
	}
	close(fd[0]);
	close(fd[1]);
	while (wait(&st) > 0)
		failed += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	return failed;
}

int
main(void)
{
	char dir[] = "/tmp/evkit-log-XXXXXX", path[4096];
	struct ev_log_range all = { 0, INT64_MIN, INT64_MAX, 0 }, r;
	struct ev_log_lease l = { 2, 1000, 2, 10000 };
	struct ev_buf b = { NULL, 0, 0 };
	struct ev_db *db;
	struct ev_err err;
	int64_t seq, cur;
	int i;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/log.db", dir);
	ev_err_clear(&err);
	db = ev_db_open(path, NULL, &err);
	ok(db != NULL && ev_log_open(db, &err) == 0, "open: %s", err.msg);

	/* A batch in one transaction. */
	ok(ev_db_begin(db, &err) == 0, "begin");
	for (i = 1; i <= 3; i++) {
		char ev[16];

		snprintf(ev, sizeof(ev), "{\"n\":%d}", i);
		ok(ev_log_append(db, ev, strlen(ev), 1000 * i, &seq, &err) ==
		    0 && seq == i, "append %d", i);
	}
	ok(ev_db_commit(db, &err) == 0, "commit");

	reset();
	ok(ev_log_read(db, &all, collect, NULL, &err) == 3, "read all");
	is_str(seen, "1:{\"n\":1}:0;2:{\"n\":2}:0;3:{\"n\":3}:0;", "in order");
	reset();
	r = all;
	r.from = 2;
	r.until = 3000;
	ok(ev_log_read(db, &r, collect, NULL, &err) == 1, "from 2 until 3s");
	is_str(seen, "2:{\"n\":2}:0;", "the range");
	reset();
	ok(ev_log_read(db, &all, collect, (void *)1, &err) == 1,
	    "the callback stops it");

	ok(ev_log_cursor_get(db, "c", &cur, &err) == 0 && cur == 0,
	    "a new consumer is at 0");
	ok(ev_log_cursor_set(db, "c", 2, &err) == 0 &&
	    ev_log_cursor_get(db, "c", &cur, &err) == 0 && cur == 2,
	    "the cursor moves");

	/* Leases: two at a time, disjoint. */
	reset();
	ok(ev_log_receive(db, "g", &l, collect, NULL, &err) == 2,
	    "receive 2");
	is_str(seen, "1:{\"n\":1}:1;2:{\"n\":2}:1;", "first receives");
	ok(strlen(tok[0]) == 16 && strcmp(tok[0], tok[1]) != 0, "tokens");
	reset();
	ok(ev_log_receive(db, "g", &l, collect, NULL, &err) == 1,
	    "the next receiver gets the rest");
	ok(ev_log_ack(db, "g", 3, tok[0], &err) == 1, "ack");
	ok(ev_log_ack(db, "g", 3, tok[0], &err) == 0, "ack twice: not held");
	/* Expired: delivered again with a new token; the old one is stale. */
	reset();
	l.now = 11000;
	ok(ev_log_receive(db, "g", &l, collect, NULL, &err) == 2,
	    "expired leases come back");
	is_str(seen, "1:{\"n\":1}:2;2:{\"n\":2}:2;", "received twice");
	ok(ev_log_nack(db, "g", 1, tok[0], 11000, &err) == 1, "nack");
	/* Receive count 2 reached: dead after the lease ends. */
	reset();
	l.now = 12000;
	ok(ev_log_receive(db, "g", &l, collect, NULL, &err) == 0,
	    "max receives: nothing delivered");
	reset();
	ok(ev_log_dead(db, "g", collect, NULL, &err) == 2, "two dead");
	ok(ev_log_redrive(db, "g", &err) == 2, "redrive");
	ok(ev_log_dead(db, "g", collect, NULL, &err) == 0, "none dead now");

	ok(ev_log_stat(db, 12000, &b, &err) == 0, "stat");
	ok(b.p != NULL && strstr(b.p, "\"count\":3") != NULL &&
	    strstr(b.p, "\"c\":{\"seq\":2,\"lag\":1}") != NULL &&
	    strstr(b.p, "\"g\":{\"depth\":2,\"in-flight\":0,\"dead\":0}") !=
	    NULL, "stat: %.*s", (int)b.len, b.p);
	ev_buf_free(&b);

	ok(ev_log_prune(db, 2000, -1, &err) == 1, "prune before 2s");
	ok(ev_log_prune(db, INT64_MIN, 1, &err) == 1, "keep 1");
	reset();
	ok(ev_log_read(db, &all, collect, NULL, &err) == 1 && seqs[0] == 3,
	    "the last is left");
	ok(ev_log_prune(db, INT64_MIN, 0, &err) == 1, "keep 0");
	ok(ev_log_append(db, "{}", 2, 1, &seq, &err) == 0 && seq == 4,
	    "sequence numbers are not reused");
	ok(ev_db_close(db, &err) == 0, "close");

	for (i = 0, seq = 0; i < 20; i++) {
		snprintf(path, sizeof(path), "%s/race%d.db", dir, i);
		seq += race(path, 6);
	}
	is_int(seq, 0, "6 processes creating one store at once, 20 times");

	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		return 1;
	return tap_done();
}
