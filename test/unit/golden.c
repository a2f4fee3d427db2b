/*
 * golden.c - evmatch's engine against verdicts made by event-ruler itself.
 *
 * test/golden/NAME.cases holds groups of patterns and events (format in
 * test/golden/Verdicts.java); test/golden/NAME.verdicts holds event-ruler's
 * verdict for every pattern (ok, or error and its reason) and for every
 * pattern x event pair (match or nomatch), written by test/golden/regen.sh.
 * Each pattern is compiled alone with ev_rules_add/ev_rules_finish and
 * matched with ev_match; a refused pattern must give event-ruler's reason
 * exactly (the text after "invalid pattern[ at 'PATH']: ").
 *
 * test/golden/known-differences lists, one per line, the case ids where
 * evmatch is known to answer differently, each with a category.  The test
 * fails on a difference that is not listed and on a listed case that now
 * agrees (remove its line), so the list only shrinks as fixes land.  With
 * EVKIT_GOLDEN_ALL set every unlisted difference is printed, not just the
 * first ones (per corpus).
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evkit.h"
#include "rules/pattern_int.h"
#include "tap.h"

#define DIR "test/golden"
#ifndef MAXSHOW
#define MAXSHOW 40
#endif
#define TOO_COMPLEX "Rule is too complex - try using fewer wildcard " \
    "characters or fewer repeating character sequences after a wildcard"

struct group {
	char *name;
	char **pat, **ev;
	size_t npat, nev;
};

struct known {
	char *id;
	char *cat;
	int used;	/* 1: case seen and still differs; 2: now agrees */
};

static struct known *known;
static size_t nknown;
static int shown;

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL)
		abort();
	return p;
}

/* Read the whole file into a NUL-terminated buffer, or NULL. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, r;

	if (f == NULL)
		return NULL;
	do {
		if (cap - n < 65536)
			buf = xrealloc(buf, cap = cap * 2 + 65536);
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Cut buf into lines in place: returns the next line, advances *p. */
static char *
nextline(char **p)
{
	char *s = *p, *nl;

	if (*s == '\0')
		return NULL;
	nl = strchr(s, '\n');
	if (nl != NULL) {
		*nl = '\0';
		*p = nl + 1;
	} else
		*p = s + strlen(s);
	return s;
}

static char **
push(char **v, size_t *n, char *s)
{
	v = xrealloc(v, (*n + 1) * sizeof(*v));
	v[(*n)++] = s;
	return v;
}

/* Parse a corpus (buf is kept: the groups point into it). */
static struct group *
read_cases(char *buf, size_t *ngroup, const char *path)
{
	struct group *g = NULL, *cur = NULL;
	unsigned long lineno = 0;
	char *line;

	*ngroup = 0;
	while ((line = nextline(&buf)) != NULL) {
		lineno++;
		if (*line == '\0' || *line == '#')
			continue;
		if (strncmp(line, "= ", 2) == 0) {
			g = xrealloc(g, (*ngroup + 1) * sizeof(*g));
			cur = &g[(*ngroup)++];
			memset(cur, 0, sizeof(*cur));
			cur->name = line + 2;
		} else if (cur != NULL && strncmp(line, "p ", 2) == 0)
			cur->pat = push(cur->pat, &cur->npat, line + 2);
		else if (cur != NULL && strncmp(line, "e ", 2) == 0)
			cur->ev = push(cur->ev, &cur->nev, line + 2);
		else
			printf("# %s:%lu: bad corpus line\n", path, lineno);
	}
	return g;
}

static void
read_known(void)
{
	static char *buf;
	char *line, *p, *cat;

	if ((buf = slurp(DIR "/known-differences")) == NULL)
		return;
	p = buf;
	while ((line = nextline(&p)) != NULL) {
		if (*line == '\0' || *line == '#')
			continue;
		cat = line + strcspn(line, " \t");
		if (*cat != '\0')
			*cat++ = '\0';
		cat += strspn(cat, " \t");
		cat[strcspn(cat, " \t")] = '\0';
		known = xrealloc(known, (nknown + 1) * sizeof(*known));
		known[nknown].id = line;
		known[nknown].cat = cat;
		known[nknown].used = 0;
		nknown++;
	}
}

static struct known *
find_known(const char *id)
{
	size_t i;

	for (i = 0; i < nknown; i++)
		if (strcmp(known[i].id, id) == 0)
			return &known[i];
	return NULL;
}

/*
 * Record the outcome of one case: agree or not, and whether that is
 * what known-differences says.  Returns 1 when the outcome is unexpected.
 */
static int
outcome(const char *id, int agree, const char *er, const char *ev,
    const char *pat, const char *event)
{
	struct known *k = find_known(id);

	if (k != NULL) {	/* a listed case that agrees fails later */
		k->used = agree ? 2 : 1;
		return 0;
	}
	if (agree)
		return 0;
	if (shown++ < MAXSHOW || getenv("EVKIT_GOLDEN_ALL") != NULL)
		printf("# %s\tevent-ruler: %s\tevmatch: %s\t%s%s%s\n", id, er,
		    ev, pat, event ? " ~ " : "", event ? event : "");
	return 1;
}

/* The reason in an ev_rules_add message, or NULL if it has none. */
static const char *
reason_of(const char *msg)
{
	const char *p;

	if (strncmp(msg, "invalid pattern: ", 17) == 0)
		return msg + 17;
	if (strncmp(msg, "invalid pattern at '", 20) != 0)
		return NULL;
	/* the path may hold anything: find the "': " the reason follows */
	for (p = msg + 20; (p = strstr(p, "': ")) != NULL; p++)
		if (strstr(p + 3, "': ") == NULL)
			return p + 3;
	return NULL;
}

/*
 * Check one corpus against its verdicts.  Counts cases, unexpected
 * outcomes, and verdict lines that name no case.
 */
static void
check_file(const char *cases, int *ncase, int *nbad, int *nstray,
    int *nmissing)
{
	char vpath[4096], *cbuf, *vbuf, *p, *line, *end;
	struct group *g;
	size_t ng, gi, pi, ei;
	unsigned char **seen;

	snprintf(vpath, sizeof(vpath), "%.*s.verdicts",
	    (int)(strlen(cases) - strlen(".cases")), cases);
	cbuf = slurp(cases);
	vbuf = slurp(vpath);
	if (cbuf == NULL || vbuf == NULL) {
		printf("# cannot read %s or %s\n", cases, vpath);
		(*nmissing)++;
		free(cbuf);
		free(vbuf);
		return;
	}
	g = read_cases(cbuf, &ng, cases);
	seen = calloc(ng, sizeof(*seen));
	for (gi = 0; gi < ng; gi++)
		seen[gi] = calloc(g[gi].npat + 1, 1);
	p = vbuf;
	while ((line = nextline(&p)) != NULL) {
		char *id = line, *v, *why, *dot;
		struct ev_rules *rs;
		struct ev_matcher *m;
		struct ev_err err;
		struct group *gr = NULL;
		char got[600];
		size_t nl;
		int r, agree, score;

		if (*line == '\0')
			continue;
		v = strchr(line, '\t');
		if (v == NULL || (dot = strchr(line, '.')) == NULL ||
		    dot > v) {
			(*nstray)++;
			continue;
		}
		*v++ = '\0';
		why = strchr(v, '\t');
		if (why != NULL)
			*why++ = '\0';
		for (gi = 0; gi < ng; gi++)
			if (strlen(g[gi].name) == (size_t)(dot - id) &&
			    strncmp(g[gi].name, id, (size_t)(dot - id)) == 0)
				break;
		if (gi < ng)
			gr = &g[gi];
		end = dot;
		pi = dot[1] == 'p' ? strtoul(dot + 2, &end, 10) : 0;
		if (gr == NULL || pi == 0 || pi > gr->npat) {
			printf("# %s: verdict for no case: %s\n", vpath, id);
			(*nstray)++;
			continue;
		}
		ei = 0;
		if (*end == '.' && end[1] == 'e')
			ei = strtoul(end + 2, &end, 10);
		if (*end != '\0' || ei > gr->nev || (end[-1] == 'e')) {
			printf("# %s: verdict for no case: %s\n", vpath, id);
			(*nstray)++;
			continue;
		}
		(*ncase)++;
		if (ei == 0)
			seen[gi][pi] = 1;
		/*
		 * event-ruler scores wildcard rules but refuses none;
		 * EventBridge refuses a score above EV_MAX_COMPLEXITY, and
		 * so does evmatch: that is the verdict to expect.
		 */
		score = -1;
		if (strcmp(v, "ok") == 0 && why != NULL &&
		    strncmp(why, "complexity ", 11) == 0) {
			score = atoi(why + 11);
			if (score > EV_MAX_COMPLEXITY) {
				v = "error";
				why = TOO_COMPLEX;
			}
		}

		/* the pattern alone, as evmatch compiles it */
		rs = ev_rules_new();
		ev_err_clear(&err);
		if (ev_rules_add(rs, "r", gr->pat[pi - 1],
		    strlen(gr->pat[pi - 1]), &err) < 0 ||
		    ev_rules_finish(rs, &err) < 0) {
			const char *rr = reason_of(err.msg);

			snprintf(got, sizeof(got), "error %s", rr ? rr :
			    err.msg);
			ev_rules_free(rs);
			if (ei > 0) {	/* counted with the pattern's verdict */
				struct known *k = find_known(id);

				if (k != NULL)
					k->used = 1;
				continue;
			}
			agree = strcmp(v, "error") == 0 && why != NULL &&
			    rr != NULL && strcmp(rr, why) == 0;
			*nbad += outcome(id, agree, why ? why : v, got,
			    gr->pat[pi - 1], NULL);
			continue;
		}
		if (ei == 0) {
			/* an accepted wildcard rule: the same score */
			char want[64];

			agree = strcmp(v, "ok") == 0;
			if (agree && score >= 0 &&
			    rs->last_complexity != score) {
				snprintf(want, sizeof(want), "ok complexity %d",
				    score);
				snprintf(got, sizeof(got), "ok complexity %d",
				    rs->last_complexity);
				agree = 0;
			} else
				snprintf(got, sizeof(got), "ok");
			ev_rules_free(rs);
			*nbad += outcome(id, agree, !agree && score >= 0 &&
			    strcmp(v, "ok") == 0 ? want : why &&
			    strcmp(v, "error") == 0 ? why : v, got,
			    gr->pat[pi - 1], NULL);
			continue;
		}
		m = ev_matcher_new(rs);
		nl = strlen(gr->ev[ei - 1]);
		r = ev_match(m, gr->ev[ei - 1], nl, EV_MATCH_ANY, &err);
		ev_matcher_free(m);
		ev_rules_free(rs);
		snprintf(got, sizeof(got), "%s", r < 0 ? "error" : r > 0 ?
		    "match" : "nomatch");
		agree = strcmp(v, got) == 0;
		*nbad += outcome(id, agree, v, r < 0 ? err.msg : got,
		    gr->pat[pi - 1], gr->ev[ei - 1]);
	}
	for (gi = 0; gi < ng; gi++) {
		for (pi = 1; pi <= g[gi].npat; pi++)
			if (!seen[gi][pi]) {
				printf("# %s: no verdict for %s.p%zu (run "
				    "regen.sh)\n", vpath, g[gi].name, pi);
				(*nmissing)++;
			}
		free(seen[gi]);
		free(g[gi].pat);
		free(g[gi].ev);
	}
	free(seen);
	free(g);
	free(cbuf);
	free(vbuf);
}

int
main(void)
{
	glob_t gl;
	size_t i;
	int total = 0;

	read_known();
	if (glob(DIR "/*.cases", 0, NULL, &gl) != 0) {
		ok(0, "golden corpora found in " DIR);
		return tap_done();
	}
	for (i = 0; i < gl.gl_pathc; i++) {
		int ncase = 0, nbad = 0, nstray = 0, nmissing = 0;

		shown = 0;
		check_file(gl.gl_pathv[i], &ncase, &nbad, &nstray, &nmissing);
		ok(nstray == 0 && nmissing == 0 && ncase > 0, "%s: %d "
		    "verdicts, one per case", gl.gl_pathv[i], ncase);
		ok(nbad == 0, "%s: evmatch agrees with event-ruler except "
		    "on listed differences (%d unexpected)", gl.gl_pathv[i],
		    nbad);
		total += ncase;
	}
	globfree(&gl);
	{
		int gone = 0, unseen = 0, nocat = 0;
		int all = getenv("EVKIT_GOLDEN_ALL") != NULL;

		for (i = 0; i < nknown; i++) {
			if (known[i].used == 2 && (gone++ < MAXSHOW || all))
				printf("# %s (%s) now agrees: remove it from "
				    "known-differences\n", known[i].id,
				    known[i].cat);
			if (known[i].used == 0 && (unseen++ < MAXSHOW || all))
				printf("# %s: no such case\n", known[i].id);
			if (*known[i].cat == '\0')
				nocat++;
		}
		ok(gone == 0, "every listed difference still differs (%d now "
		    "agree)", gone);
		ok(unseen == 0 && nocat == 0, "every listed difference names "
		    "a case and a category");
	}
	printf("# %d golden cases, %zu listed differences\n", total, nknown);
	return tap_done();
}
