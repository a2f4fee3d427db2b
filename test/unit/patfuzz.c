/*
 * Robustness of the pattern compiler and the matcher on hostile input:
 * random mutations (byte flips, cuts, splices, inserted JSON tokens) of
 * valid patterns and events must either compile/match or fail with a
 * located message, never crash, leak or read out of bounds (the suite also
 * runs under ASan+UBSan).  Seed: EVKIT_SEED; iterations: EVKIT_FUZZ_ITER.
 */
#include <stdlib.h>
#include <string.h>

#include "evkit.h"
#include "tap.h"

static const char *const patterns[] = {
	"{\"source\":[\"aws.ec2\"],\"detail\":{\"state\":[\"running\"]}}",
	"{\"a\":[{\"prefix\":{\"equals-ignore-case\":\"x\"}},{\"suffix\":\"y\"}]}",
	"{\"a\":[{\"anything-but\":{\"wildcard\":[\"*x\",\"y\\\\*\"]}}]}",
	"{\"a\":[{\"numeric\":[\">\",0,\"<=\",5]},{\"cidr\":\"10.0.0.0/8\"}]}",
	"{\"$or\":[{\"a\":[1]},{\"b\":{\"$or\":[{\"c\":[null]},{\"d\":[true]}]}}]}",
	"{\"a.b\":[{\"exists\":false}],\"a\":{\"c\":[{\"exists\":true}]}}",
	"{\"x\":{\"y\":[{\"anything-but\":[1,2,3]},\"::1\",\"10.0.0.1\"]}}",
};

static const char *const events[] = {
	"{\"source\":\"aws.ec2\",\"detail\":{\"state\":\"running\"}}",
	"{\"a\":[\"X\",\"yy\",{\"b\":null,\"c\":[1,[2,{}]]}],\"b\":{\"d\":true}}",
	"{\"x\":[{\"y\":[\"10.0.0.1\",4,\"\\u00e9\\ud83d\\ude00\"]},{\"y\":2}]}",
	"{\"a.b\":1,\"a\":{\"b\":2e5,\"c\":\"caf\\u00e9\"}}",
};

static const char *const tokens[] = { "{", "}", "[", "]", ",", ":", "\"",
	"\\", "\\u", "\\ud800", "1e400", "-0", "null", "\"$or\"", "\"*\"",
	"{\"exists\":false}", "\xff", "\xc0\x80", "\xe2\x82", "\x00", " ",
	"\"numeric\":[\">\",", "\"anything-but\":", "\"cidr\":\"::/0\"" };

static unsigned long long rng;

static unsigned
rnd(unsigned n)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)((rng >> 33) % n);
}

/* Write a mutation of src into dst (size cap); returns its length. */
static size_t
mutate(const char *src, char *dst, size_t cap)
{
	size_t n = strlen(src), i, k;
	int rounds = 1 + (int)rnd(4);

	memcpy(dst, src, n);
	while (rounds-- > 0) {
		switch (rnd(4)) {
		case 0:		/* flip a byte */
			if (n)
				dst[rnd((unsigned)n)] ^= (char)(1 << rnd(8));
			break;
		case 1:		/* cut */
			if (n)
				n = rnd((unsigned)n);
			break;
		case 2: {	/* insert a token */
			const char *t = tokens[rnd(sizeof(tokens) /
			    sizeof(tokens[0]))];
			size_t tl = strlen(t) ? strlen(t) : 1;

			if (n + tl >= cap)
				break;
			i = rnd((unsigned)n + 1);
			memmove(dst + i + tl, dst + i, n - i);
			memcpy(dst + i, t, tl);
			n += tl;
			break;
		}
		default:	/* duplicate a slice */
			if (n < 2 || 2 * n >= cap)
				break;
			i = rnd((unsigned)n);
			k = rnd((unsigned)(n - i)) + 1;
			memmove(dst + i + k, dst + i, n - i);
			n += k;
			break;
		}
	}
	return n;
}

int
main(void)
{
	char pbuf[2048], ebuf[2048];
	const char *seed = getenv("EVKIT_SEED");
	const char *iter = getenv("EVKIT_FUZZ_ITER");
	int n = iter ? atoi(iter) : 20000, i, j, compiled = 0, refused = 0;
	int matched = 0, badjson = 0, unlocated = 0;

	rng = seed ? strtoull(seed, NULL, 10) : 4242;
	printf("# seed %llu, %d iterations\n", rng, n);
	for (i = 0; i < n; i++) {
		struct ev_rules *rs = ev_rules_new();
		struct ev_matcher *m;
		struct ev_err err;
		size_t pl, el;

		pl = mutate(patterns[rnd(sizeof(patterns) /
		    sizeof(patterns[0]))], pbuf, sizeof(pbuf));
		ev_err_clear(&err);
		if (ev_rules_add(rs, "f", pbuf, pl, &err) < 0) {
			refused++;
			if (err.msg[0] == '\0' || err.col == 0)
				unlocated++;
			ev_rules_free(rs);
			continue;
		}
		compiled++;
		ev_rules_finish(rs, &err);
		m = ev_matcher_new(rs);
		for (j = 0; j < 4; j++) {
			el = mutate(events[rnd(sizeof(events) /
			    sizeof(events[0]))], ebuf, sizeof(ebuf));
			ev_err_clear(&err);
			switch (ev_match(m, ebuf, el, EV_MATCH_ALL, &err)) {
			case -1:
				badjson++;
				if (err.msg[0] == '\0' || err.col == 0)
					unlocated++;
				break;
			case 0:
				break;
			default:
				matched++;
			}
		}
		ev_matcher_free(m);
		ev_rules_free(rs);
	}
	printf("# %d compiled, %d refused, %d events matched, %d bad\n",
	    compiled, refused, matched, badjson);
	ok(compiled > n / 50 && refused > n / 50,
	    "mutations both compile and fail");
	ok(badjson > 0 && matched > 0, "mutated events both match and fail");
	is_int(unlocated, 0, "every refusal has a message and a column");
	return tap_done();
}
