/*
 * Unit tests for the wildcard complexity score (complexity.c).  Every
 * expected score is event-ruler 337e8d99's own: MachineComplexityEvaluator
 * (cap 1000) on a Machine holding the pattern's wildcard sub-rules.
 */
#include <stdlib.h>
#include <string.h>

#include "evkit.h"
#include "rules/pattern_int.h"
#include "tap.h"

/* Score of pattern p, compiled as a rule (so at most 10), or -1. */
static int
score_rule(const char *p)
{
	struct ev_rules *rs = ev_rules_new();
	struct ev_err err;
	int r = -1;

	ev_err_clear(&err);
	if (ev_rules_add(rs, "r", p, strlen(p), &err) == 0)
		r = rs->last_complexity;
	ev_rules_free(rs);
	return r;
}

/*
 * Score of one field holding the wildcard values w[0..n) (NULL-ended);
 * a value starting with '!' is an anything-but wildcard of one value.
 * Builds the conditions by hand, so scores above 10 can be seen.
 */
static int
score_field(const char *const *w)
{
	struct ev_cond c[16];
	struct ev_str s[16];
	struct ev_cx_field f;
	size_t n;

	memset(c, 0, sizeof(c));
	memset(&f, 0, sizeof(f));
	for (n = 0; w[n] != NULL && n < 16; n++) {
		int ab = w[n][0] == '!';

		s[n].p = (char *)w[n] + ab;
		s[n].n = strlen(w[n] + ab);
		c[n].op = ab ? EV_OP_ANYBUT_WILDCARD : EV_OP_WILDCARD;
		c[n].strs = &s[n];
		c[n].nstrs = 1;
	}
	f.path = "a";
	f.conds = c;
	f.nconds = n;
	return ev_wildcard_complexity(&f, 1, 1000);
}

static const struct {
	const char *w[6];
	int score;
} fields[] = {
	{ { "*", NULL }, 2 },
	{ { "a*", NULL }, 2 },
	{ { "abc", NULL }, 1 },
	{ { "a*b*c", NULL }, 3 },
	{ { "*a*", NULL }, 3 },
	{ { "*a*a", NULL }, 4 },
	{ { "*aaaa", NULL }, 5 },
	{ { "*aaaa*", NULL }, 6 },
	{ { "*abab", NULL }, 3 },
	{ { "*a*b*c*d*e", NULL }, 6 },
	{ { "*ab*ab*ab", NULL }, 6 },
	{ { "*a*a*a*a*a", NULL }, 10 },
	{ { "*a*a*a*a*a*", NULL }, 11 },
	{ { "a*a*a*a*a*a*", NULL }, 11 },
	{ { "*a*a*a*a*a*a", NULL }, 12 },
	{ { "*aa*aa*aa*aa*aa", NULL }, 15 },
	{ { "*/*/*/*/*", NULL }, 9 },
	{ { "*\xc3\xa9*", NULL }, 3 },
	{ { "a\\*b*", NULL }, 2 },
	{ { "x*", "y*", NULL }, 2 },
	{ { "x*", "x*y", NULL }, 4 },
	{ { "*x*", "*y*", NULL }, 6 },
	{ { "*x*", "*y*", "*z*", "*w*", NULL }, 12 },
	/* the same wildcard twice: walked again after a star and a letter */
	{ { "*a*", "*a*", NULL }, 5 },
	{ { "!*x*", NULL }, 3 },
	{ { "!*a*a*a*a*a*", NULL }, 11 },
};

static const struct {
	const char *p;
	int score;
} rules[] = {
	{ "{\"a\":[{\"wildcard\":\"*x*\"}],\"b\":[{\"wildcard\":\"*y*\"}]}", 3 },
	{ "{\"$or\":[{\"a\":[{\"wildcard\":\"*x*\"}]},"
	  "{\"a\":[{\"wildcard\":\"*y*\"}]}]}", 6 },
	{ "{\"a\":[{\"anything-but\":{\"wildcard\":[\"*x*\",\"*y*\"]}}]}", 4 },
	{ "{\"a\":[{\"wildcard\":\"*a*\"},\"abc\"]}", 3 },
	{ "{\"a\":[{\"wildcard\":\"*a*\"},{\"prefix\":\"a\"}]}", 3 },
	{ "{\"a\":[\"x\"]}", 0 },
	/* a repeated wildcard leads to new name states: two b machines */
	{ "{\"a\":[{\"wildcard\":\"*b*b\"}],\"$or\":[{\"b\":[5.0]},"
	  "{\"b\":[{\"exists\":true}]}]}", 7 },
	/* ...unless its walk reuses every state (no letter after a star) */
	{ "{\"a\":[{\"wildcard\":\"*/*/\"}],\"$or\":[{\"b\":[5.0]},"
	  "{\"b\":[{\"exists\":true}]}]}", 4 },
	{ "{\"a\":[{\"wildcard\":\"*/*/*\"}],\"$or\":[{\"b\":[\"1\"]},"
	  "{\"b\":[\"2\"]},{\"b\":[\"3\"]}]}", 5 },
	/* the evaluator does not follow exists:false */
	{ "{\"a\":[{\"exists\":false}],"
	  "\"b\":[{\"wildcard\":\"*a*a*a*a*a*\"}]}", 0 },
	{ "{\"a\":[{\"wildcard\":\"*x*\"}],\"b\":[{\"wildcard\":\"*y*\"}],"
	  "\"c\":[{\"wildcard\":\"*z*\"}],\"d\":[{\"wildcard\":\"*w*\"}]}", 3 },
};

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		is_int(score_field(fields[i].w), fields[i].score,
		    "field score %s%s", fields[i].w[0],
		    fields[i].w[1] ? " ..." : "");
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		is_int(score_rule(rules[i].p), rules[i].score, "rule score %s",
		    rules[i].p);
	is_int(score_field((const char *const []){ "*a*a*a*a*a*", NULL }),
	    11, "a score above the cap is not cut below it");
	{
		struct ev_cond c;
		char w[] = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a";
		struct ev_str s = { w, sizeof(w) - 1 };
		struct ev_cx_field f;

		memset(&c, 0, sizeof(c));
		memset(&f, 0, sizeof(f));
		c.op = EV_OP_WILDCARD;
		c.strs = &s;
		c.nstrs = 1;
		f.path = "a";
		f.conds = &c;
		f.nconds = 1;
		is_int(ev_wildcard_complexity(&f, 1, 11), 11,
		    "the walk stops at the cap");
	}
	return tap_done();
}
