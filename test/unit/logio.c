/*
 * Unit tests for lib/store/logio.c, evstore's streams: group commit (only
 * committed events are written out), replays (replay-name, filter, until,
 * consumers), the receive loop in batches with its envelope, settling
 * received lines, dead letters as lines, and the store-as-input check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evkit.h"
#include "tap.h"

static char dir[] = "/tmp/evkit-logio-XXXXXX";
static char outpath[4096];
static char text[65536];

/* A fresh sink on the scratch file. */
static struct ev_sink *
sink(void)
{
	struct ev_err err;

	return ev_sink_open(outpath, EV_SINK_TRUNC, &err);
}

/* What the sink's file holds now. */
static const char *
written(struct ev_sink *s)
{
	FILE *f;
	size_t n;

	ev_sink_flush(s);
	text[0] = '\0';
	if ((f = fopen(outpath, "r")) == NULL)
		return text;
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static int
count(struct ev_db *db)
{
	struct ev_buf b = { NULL, 0, 0 };
	struct ev_err err;
	const char *p;
	int n = -1;

	if (ev_log_stat(db, 0, &b, &err) == 0 && ev_buf_add(&b, "", 1) == 0 &&
	    (p = strstr(b.p, "\"count\":")) != NULL)
		n = atoi(p + 8);
	ev_buf_free(&b);
	return n;
}

static int
no_b(void *ctx, const char *data, size_t len)
{
	return memmem(data, len, "\"b\"", 3) == NULL;
}

/* For ev_log_append_files: x is bad, z is skipped, the rest are stored. */
static int
keep_line(void *ctx, const char *line, size_t len, struct ev_err *err)
{
	if (len > 0 && line[0] == 'x') {
		err->col = 1;
		ev_err_set(err, "bad");
		return -1;
	}
	return !(len > 0 && line[0] == 'z');
}

/* Write text to path; 0 or -1. */
static int
put(const char *path, const char *t)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(t, f);
	return fclose(f);
}

int
main(void)
{
	struct ev_log_batch batch = { 2, 0, 60000, 0 };
	struct ev_log_replay rp = { 0, INT64_MIN, INT64_MAX, NULL, NULL, 0,
	    NULL, NULL };
	struct ev_log_recv rc = { 3, 2, 30000, 0, 0 };
	struct ev_db *db, *db2;
	struct ev_log_writer *w;
	struct ev_log_acker *a;
	struct ev_sink *s;
	struct ev_err err;
	char path[4096], line[4096], *nl, *files[1];
	int64_t n;
	int r;

	if (mkdtemp(dir) == NULL || ev_clock_init(&err) < 0)
		return 1;
	snprintf(path, sizeof(path), "%s/s.db", dir);
	snprintf(outpath, sizeof(outpath), "%s/out", dir);
	ev_err_clear(&err);
	db = ev_db_open(path, NULL, &err);
	ok(db != NULL && ev_log_open(db, &err) == 0, "open: %s", err.msg);
	db2 = ev_db_open(path, NULL, &err);
	ok(db2 != NULL && ev_log_open(db2, &err) == 0, "a second connection");

	/* Group commit: nothing is written before its commit. */
	s = sink();
	w = ev_log_writer_new(db, s, &batch);
	ok(ev_log_writer_add(w, "{\"a\":1}", 7, &err) == 0, "add 1");
	is_str(written(s), "", "not written before the commit");
	ok(count(db2) == 0, "not visible before the commit");
	ok(ev_log_writer_add(w, "{ \"b\":2}", 8, &err) == 0, "add 2: commit");
	is_str(written(s), "{\"a\":1}\n{ \"b\":2}\n", "written after it");
	ok(count(db2) == 2, "stored");
	ok(ev_log_writer_add(w, "{}", 2, &err) == 0 &&
	    ev_log_writer_flush(w, &err) == 0, "flush commits a short batch");
	is_str(written(s), "{\"a\":1}\n{ \"b\":2}\n{}\n", "the short batch");
	ok(ev_log_writer_add(w, "{\"lost\":1}", 10, &err) == 0, "add 4");
	ev_log_writer_free(w);
	is_str(written(s), "{\"a\":1}\n{ \"b\":2}\n{}\n",
	    "freed unflushed: not written");
	ok(count(db2) == 3, "and not stored");
	ev_sink_close(s, &err);

	/* Replays. */
	s = sink();
	rp.name = "n\"1";
	ok(ev_log_replay(db, &rp, s, &err) == 3, "replay all");
	is_str(written(s), "{\"replay-name\":\"n\\\"1\",\"a\":1}\n"
	    "{\"replay-name\":\"n\\\"1\",\"b\":2}\n{\"replay-name\":\"n\\\"1\"}\n",
	    "replay-name first, the rest as stored");
	ev_sink_close(s, &err);
	s = sink();
	rp.name = NULL;
	rp.filter = no_b;
	rp.consumer = "c";
	ok(ev_log_replay(db, &rp, s, &err) == 2, "a filter");
	is_str(written(s), "{\"a\":1}\n{}\n", "what it keeps");
	ok(ev_log_replay(db, &rp, s, &err) == 0, "the consumer resumes");
	ok(ev_log_cursor_get(db, "c", &n, &err) == 0 && n == 3,
	    "past what it skipped too");
	ev_sink_close(s, &err);
	s = sink();
	rp.filter = NULL;
	rp.consumer = NULL;
	rp.until = 0;	/* every event was ingested after 1970 */
	rp.follow = 1;
	ok(ev_log_replay(db, &rp, s, &err) == 0, "until stops a follow");
	rp.until = INT64_MAX;
	rp.follow = 0;
	ev_sink_close(s, &err);

	/* Receiving in batches, and settling. */
	s = sink();
	ok(ev_log_receive_to(db, "g", &rc, s, &err) == 3, "receive 3 of 3");
	written(s);
	ok(strncmp(text, "{\"receipt\":\"1:1:", 16) == 0 &&
	    strstr(text, "\",\"seq\":1,\"receives\":1,\"event\":{\"a\":1}}\n") !=
	    NULL, "the envelope");
	ev_sink_close(s, &err);
	a = ev_log_acker_new(db, "g", 0, 2, &err);
	ok(a != NULL, "an acker");
	strcpy(line, text);
	nl = strchr(line, '\n');
	*nl = '\0';
	ok(ev_log_acker_line(a, line, strlen(line), &err) == 1, "ack");
	ok(ev_db_in_tx(db), "in its transaction");
	ok(ev_log_acker_line(a, line, strlen(line), &err) == 0 &&
	    strstr(err.msg, "is not held") != NULL, "twice: %s", err.msg);
	ok(ev_log_acker_line(a, "{\"x\":1}", 7, &err) == 0 &&
	    strcmp(err.msg, "no receipt: expected a line that evstore "
	    "receive wrote") == 0, "no receipt");
	ok(ev_log_acker_line(a, "{\"receipt\":\"1:1:zz\"}", 20, &err) == 0,
	    "a bad receipt");
	ev_err_clear(&err);
	ok(ev_log_acker_line(a, "{\"receipt\":", 11, &err) == 0 &&
	    err.col > 0, "invalid JSON, located");
	nl = strchr(text, '\n') + 1;
	*strchr(nl, '\n') = '\0';
	ok(ev_log_acker_line(a, nl, strlen(nl), &err) == 1 && !ev_db_in_tx(db),
	    "a batch of 2 commits");
	ok(ev_log_acker_flush(a, &err) == 0, "flush");
	ev_log_acker_free(a);

	/* Dead letters as lines. */
	s = sink();
	ok(ev_log_dead_to(db, "g", s, &err) == 0, "no dead letters");
	is_str(written(s), "", "none written");
	ev_sink_close(s, &err);

	/* The store is not an input. */
	files[0] = path;
	ev_err_clear(&err);
	r = ev_log_check_files(path, files, 1, NULL, &err);
	ok(r == -1 && strcmp(err.msg, "input file is also the store") == 0 &&
	    err.file == path, "the store as an input");
	ev_err_clear(&err);
	files[0] = outpath;
	ok(ev_log_check_files(path, files, 1, path, &err) == -1 &&
	    strcmp(err.msg, "reject file is also the store") == 0,
	    "the store as the reject file");
	ok(ev_log_check_files(path, files, 1, NULL, &err) == 0,
	    "another file");

	/* The input loops. */
	{
		struct ev_input_opts in;
		char inpath[4096], *inputs[1] = { inpath };
		int64_t got = -1;

		memset(&in, 0, sizeof(in));
		snprintf(inpath, sizeof(inpath), "%s/in", dir);
		put(inpath, "{\"f\":1}\nx\nz\n{\"f\":2}\n");
		s = sink();
		r = ev_log_append_files(db, inputs, 1, &in, keep_line, NULL,
		    NULL, s, &got, &err);
		ok(r == 1 && got == 2, "append_files: a bad line, 2 stored");
		is_str(written(s), "{\"f\":1}\n{\"f\":2}\n", "what was stored");
		ev_sink_close(s, &err);
		r = ev_log_append_files(db, inputs, 1, &in, NULL, NULL, NULL,
		    s = sink(), &got, &err);
		ok(r == 1 && got == 2, "without keep, the JSON objects");
		ev_sink_close(s, &err);
		rc.max = 2;
		s = sink();
		ok(ev_log_receive_to(db, "h", &rc, s, &err) == 2, "receive 2");
		written(s);
		ev_sink_close(s, &err);
		put(inpath, text);
		r = ev_log_settle_files(db, "h", 0, inputs, 1, &in, &got, &err);
		ok(r == 0 && got == 2, "settle_files acks both");
		inputs[0] = path;
		ev_err_clear(&err);
		r = ev_log_settle_files(db, "h", 0, inputs, 1, &in, &got, &err);
		ok(r == -1 && strcmp(err.msg, "input file is also the store") ==
		    0, "settle_files refuses the store");
	}

	ok(ev_db_close(db2, &err) == 0 && ev_db_close(db, &err) == 0, "close");
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		return 1;
	return tap_done();
}
