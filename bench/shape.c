/*
 * bench/shape.c - what evroute's input shaping costs (lib/route/shape.c),
 * for bench/run: read NDJSON events from FILE and write, for each event,
 * the payload of each of N targets (one line each) to standard output.
 * The targets are one rule's: their paths are read in one scanner pass
 * per event (a shape set), each target renders its own template.
 *
 *   shape N FILE
 *
 * Every target's InputTransformer reads four paths of an S3 event and
 * the rule ARN; the output matches that of
 *   jq -c '{bucket: .detail.bucket.name, key: "s3://\(...)/\(...)",
 *           size: .detail.object.size, at: .time, rule: ...}'
 * for the events that have those members.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evkit.h"

int
main(int argc, char **argv)
{
	static const char *keys[] = { "b", "k", "s", "t" };
	static const char *paths[] = { "$.detail.bucket.name",
		"$.detail.object.key", "$.detail.object.size", "$.time" };
	struct ev_shape_ctx ctx = { "r1", NULL, NULL, 0 };
	struct ev_buf out = { NULL, 0, 0 };
	struct ev_span *vals;
	struct ev_shapes *ss;
	struct ev_err err;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *fp;
	int i, nt;

	if (argc != 3 || (nt = atoi(argv[1])) < 1) {
		fputs("usage: shape N FILE\n", stderr);
		return 2;
	}
	if ((fp = fopen(argv[2], "r")) == NULL) {
		perror(argv[2]);
		return 2;
	}
	ev_err_clear(&err);
	ss = ev_shapes_new();
	for (i = 0; i < nt; i++) {
		struct ev_shape_spec sp;

		memset(&sp, 0, sizeof(sp));
		sp.id = "t";
		sp.has_transformer = 1;
		sp.npaths = 4;
		sp.keys = keys;
		sp.paths = paths;
		sp.input_template = "{\"bucket\": <b>, \"key\": \"s3://<b>/<k>\", "
		    "\"size\": <s>, \"at\": <t>, \"rule\": "
		    "<aws.events.rule-arn>}";
		if (ev_shapes_add(ss, ev_shape_compile(&sp, &err), &err) < 0)
			goto fail;
	}
	if (ev_shapes_finish(ss, &err) < 0)
		goto fail;
	vals = calloc((size_t)ev_shapes_nslots(ss) + 1, sizeof(*vals));
	while ((n = getline(&line, &cap, fp)) > 0) {
		if (line[n - 1] == '\n')
			n--;
		if (ev_shapes_scan(ss, line, (size_t)n, vals, &err) < 0)
			goto fail;
		out.len = 0;
		for (i = 0; i < nt; i++) {
			if (ev_shapes_apply(ss, i, line, (size_t)n, vals, &ctx,
			    EV_SHAPE_LINE, &out, &err) < 0)
				goto fail;
			ev_buf_add(&out, "\n", 1);
		}
		fwrite(out.p, 1, out.len, stdout);
	}
	free(vals);
	free(line);
	ev_buf_free(&out);
	ev_shapes_free(ss);
	fclose(fp);
	return fflush(stdout) == 0 ? 0 : 2;
fail:
	fprintf(stderr, "shape: %s\n", err.msg);
	return 2;
}
