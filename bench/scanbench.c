/*
 * scanbench - time ev_scan() over the lines of a file.
 *
 *   scanbench gen eb|geo N >FILE    write N synthetic events: EventBridge
 *                                   shaped (eb) or citylots GeoJSON
 *                                   features (geo), one per line
 *   scanbench [-g] [-n ROUNDS] [-r SECS] FILE [PATH ...]
 *                                   validate every line (extracting the
 *                                   dotted PATHs) repeatedly for about
 *                                   SECS seconds (default 2) or exactly
 *                                   ROUNDS times; print MB/s.  With -g,
 *                                   read the PATHs as evdedupe does:
 *                                   ev_path_get() for one path,
 *                                   ev_paths_get() for several
 *
 * Build: cc -O2 -Ilib bench/scanbench.c lib/json/json.c lib/json/simd.c \
 *            lib/json/path.c lib/base/err.c -o scanbench -lm -pthread
 * EVKIT_SIMD=scalar, sse2, avx2 or avx512 picks the scanner path (evkit(7)).
 * Compare with `time wc -l FILE` and `time jq -c . FILE >/dev/null`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json/json_int.h"

static uint64_t rng = 88172645463325252ull;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static void
hex(int n)
{
	while (n-- > 0)
		putchar("0123456789abcdef"[rnd(16)]);
}

static void
gen_eb(void)
{
	static const char *states[] = {"pending", "running", "stopping",
	    "stopped", "shutting-down", "terminated"};
	static const char *regions[] = {
	    "us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"};
	static const char *sources[] = {
	    "aws.ec2", "aws.s3", "aws.rds", "com.example.orders"};
	int i, n;

	printf("{\"version\":\"0\",\"id\":\"");
	hex(8);
	putchar('-');
	hex(4);
	putchar('-');
	hex(4);
	putchar('-');
	hex(4);
	putchar('-');
	hex(12);
	printf("\",\"detail-type\":\"EC2 Instance State-change "
	       "Notification\",\"source\":\"%s\",\"account\":\"%012u\","
	       "\"time\":\"2024-%02u-%02uT%02u:%02u:%02uZ\",\"region\":\"%s\","
	       "\"resources\":[",
	    sources[rnd(4)], rnd(1000000000), rnd(12) + 1, rnd(28) + 1, rnd(24),
	    rnd(60), rnd(60), regions[rnd(4)]);
	n = 1 + rnd(3);
	for (i = 0; i < n; i++) {
		printf("%s\"arn:aws:ec2:us-east-1:123456789012:instance/i-",
		    i ? "," : "");
		hex(17);
		putchar('"');
	}
	printf("],\"detail\":{\"instance-id\":\"i-");
	hex(17);
	printf("\",\"state\":\"%s\",\"previous-state\":\"%s\","
	       "\"launch-time\":%u,\"cpu\":%u.%02u,\"spot\":%s,"
	       "\"owner\":{\"team\":\"platform-%u\",\"email\":"
	       "\"oncall+%u@example.com\",\"cost-center\":null},\"tags\":[",
	    states[rnd(6)], states[rnd(6)], 1700000000 + rnd(10000000),
	    rnd(100), rnd(100), rnd(2) ? "true" : "false", rnd(50), rnd(1000));
	n = 1 + rnd(4);
	for (i = 0; i < n; i++)
		printf("%s{\"key\":\"k%u\",\"value\":\"value-%u with "
		       "some text\"}",
		    i ? "," : "", rnd(100), rnd(100000));
	printf("],\"metrics\":[");
	n = 2 + rnd(6);
	for (i = 0; i < n; i++)
		printf("%s%u.%u", i ? "," : "", rnd(1000), rnd(1000));
	printf(
	    ",3e2],\"note\":\"caf\\u00e9 d\\u00e9j\\u00e0 vu \\\"%u\\\"\"}}\n",
	    rnd(100));
}

static void
gen_geo(void)
{
	int i, n, blk = (int)rnd(9000), lot = (int)rnd(900);

	printf("{\"type\":\"Feature\",\"properties\":{\"MAPBLKLOT\":"
	       "\"%04d%03d\",\"BLKLOT\":\"%04d%03d\",\"BLOCK_NUM\":\"%04d\","
	       "\"LOT_NUM\":\"%03d\",\"FROM_ST\":\"%u\",\"TO_ST\":\"%u\","
	       "\"STREET\":\"UNKNOWN\",\"ST_TYPE\":null,\"ODD_EVEN\":\"E\"},"
	       "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[",
	    blk, lot, blk, lot, blk, lot, rnd(3000), rnd(3000));
	n = 5 + rnd(20);
	for (i = 0; i < n; i++)
		printf("%s[-122.%09u%05u,37.%09u%05u,0.0]", i ? "," : "",
		    rnd(1000000000), rnd(100000), rnd(1000000000), rnd(100000));
	printf("]]}}\n");
}

static int
count_fn(void *ctx, int id, const struct ev_jval *v,
    const struct ev_arrpos *memb, int depth)
{
	(void)id;
	(void)memb;
	(*(size_t *)ctx) += v->len + (size_t)depth;
	return 0;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* -g: the value(s) at the paths, one validating pass per line. */
static int
get(const struct ev_path *one, const struct ev_paths *pv, struct ev_span *v,
    const char *p, size_t len, size_t *sink, struct ev_err *err)
{
	const char *val;
	size_t vlen;
	int r, i;

	if (one != NULL) {
		if ((r = ev_path_get(one, p, len, &val, &vlen, err)) < 0)
			return -1;
		*sink += r ? vlen : 0;
		return 0;
	}
	if (ev_paths_get(pv, p, len, v, err) < 0)
		return -1;
	for (i = 0; i < ev_paths_count(pv); i++)
		*sink += v[i].len;
	return 0;
}

int
main(int argc, char **argv)
{
	struct ev_pathset *ps = NULL;
	struct ev_path *one = NULL;
	struct ev_paths *pv = NULL;
	struct ev_span *v = NULL;
	int getmode = 0;
	struct ev_err err;
	char *buf, *p, *nl, *end;
	size_t size = 0, cap = 1 << 20, n, lines = 0, sink = 0, rounds = 0;
	double secs = 2, t0, t;
	size_t maxrounds = 0;
	FILE *fp;
	int i, c;

	if (argc == 4 && strcmp(argv[1], "gen") == 0) {
		n = strtoul(argv[3], NULL, 10);
		while (n-- > 0)
			strcmp(argv[2], "geo") == 0 ? gen_geo() : gen_eb();
		return 0;
	}
	while ((c = getopt(argc, argv, "gn:r:")) != -1) {
		if (c == 'g')
			getmode = 1;
		else if (c == 'n')
			maxrounds = strtoul(optarg, NULL, 10);
		else if (c == 'r')
			secs = atof(optarg);
		else
			return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: scanbench [-g] [-n rounds] [-r secs] file "
				"[path ...]\n"
				"       scanbench gen eb|geo n\n");
		return 2;
	}
	if ((fp = fopen(argv[optind], "rb")) == NULL) {
		perror(argv[optind]);
		return 2;
	}
	buf = malloc(cap);
	while (buf && (n = fread(buf + size, 1, cap - size, fp)) > 0)
		if ((size += n) == cap)
			buf = realloc(buf, cap *= 2);
	fclose(fp);
	if (buf == NULL)
		return 2;
	if (getmode && optind + 2 == argc) {
		one = ev_path_compile(argv[optind + 1], &err);
	} else if (getmode && optind + 2 < argc) {
		pv = ev_paths_compile((const char *const *)argv + optind + 1,
		    argc - optind - 1, &err);
		v = calloc((size_t)(argc - optind), sizeof(*v));
	} else if (getmode) {
		fprintf(stderr, "scanbench: -g needs a path\n");
		return 2;
	} else if (optind + 1 < argc) {
		ps = ev_pathset_new();
		for (i = optind + 1; i < argc; i++)
			ev_pathset_add(ps, argv[i], strlen(argv[i]));
	}
	end = buf + size;
	t0 = now();
	do {
		for (p = buf; p < end; p = nl + 1) {
			if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
				nl = end;
			if (getmode ? get(one, pv, v, p, (size_t)(nl - p),
					  &sink, &err) != 0
				    : ev_scan(p, (size_t)(nl - p), ps, count_fn,
					  &sink, &err) != 0) {
				fprintf(stderr, "line %zu:%lu: %s\n", lines + 1,
				    err.col, err.msg);
				return 1;
			}
			if (rounds == 0)
				lines++;
		}
		rounds++;
		t = now() - t0;
	} while (maxrounds ? rounds < maxrounds : t < secs);
	printf("%zu bytes, %zu lines, %zu rounds, %.3f s: %.0f MB/s "
	       "(%.0f ns/line, sink %zu)\n",
	    size, lines, rounds, t, (double)size * rounds / t / 1e6,
	    t * 1e9 / (double)(lines * rounds), sink);
	ev_pathset_free(ps);
	ev_path_free(one);
	ev_paths_free(pv);
	free(v);
	free(buf);
	return 0;
}
