/*
 * opt.c - option arguments: whole numbers, real numbers, durations, times,
 * byte counts and choices, each checked against its range, with one
 * message shape for every tool: "PROG: invalid OPTION 'ARG': expected ...".
 * The caller prints its usage and exits; nothing here exits.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

int
ev_opt_int(const char *opt, const char *arg, int64_t lo, int64_t hi,
    int64_t *v)
{
	const char *p = arg;
	char *end;
	long long n;

	if (*p == '+')
		p++;
	errno = 0;
	n = strtoll(arg, &end, 10);
	if (*p >= '0' && *p <= '9' && *end == '\0' && errno == 0 &&
	    n >= lo && n <= hi) {
		*v = n;
		return 0;
	}
	if (hi == INT64_MAX)
		ev_warnx("invalid %s '%s': expected a whole number from "
		    "%" PRId64 " up", opt, arg, lo);
	else
		ev_warnx("invalid %s '%s': expected a whole number from "
		    "%" PRId64 " to %" PRId64, opt, arg, lo, hi);
	return -1;
}

int
ev_opt_real(const char *opt, const char *arg, double lo, double hi,
    double *v)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(arg, &end);
	if (*arg != '\0' && *end == '\0' && errno == 0 && isfinite(d) &&
	    d >= lo && d <= hi && strchr(arg, ' ') == NULL) {
		*v = d;
		return 0;
	}
	ev_warnx("invalid %s '%s': expected a number from %g to %g", opt,
	    arg, lo, hi);
	return -1;
}

int
ev_opt_duration(const char *opt, const char *arg, int64_t lo_ms,
    int64_t *ms)
{
	struct ev_err err;
	char buf[32];
	int64_t d;

	ev_err_clear(&err);
	if (ev_duration_parse(arg, &d, &err) < 0) {
		ev_warnx("%s: %s", opt, err.msg);
		return -1;
	}
	if (d < lo_ms) {
		ev_duration_format(lo_ms, buf, sizeof(buf));
		ev_warnx("invalid %s '%s': expected a duration of at least %s",
		    opt, arg, buf);
		return -1;
	}
	*ms = d;
	return 0;
}

int
ev_opt_time(const char *opt, const char *arg, int64_t *ms)
{
	if (ev_time_parse(arg, strlen(arg), ms) == 0)
		return 0;
	ev_warnx("invalid %s '%s': expected an RFC 3339 time or seconds "
	    "since 1970", opt, arg);
	return -1;
}

int
ev_opt_size(const char *opt, const char *arg, size_t lo, size_t *bytes)
{
	struct ev_err err;
	size_t n;

	ev_err_clear(&err);
	if (ev_size_parse(arg, &n, &err) < 0) {
		ev_warnx("%s: %s", opt, err.msg);
		return -1;
	}
	if (n < lo) {
		ev_warnx("invalid %s '%s': expected at least %zu byte%s", opt,
		    arg, lo, lo == 1 ? "" : "s");
		return -1;
	}
	*bytes = n;
	return 0;
}

int
ev_opt_choice(const char *opt, const char *arg, const char *const *choices)
{
	char list[512];
	size_t i, n, len = 0;

	for (n = 0; choices[n] != NULL; n++)
		if (strcmp(arg, choices[n]) == 0)
			return (int)n;
	list[0] = '\0';
	for (i = 0; i < n && len < sizeof(list); i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
		int w = snprintf(list + len, sizeof(list) - len, "%s%s", sep,
		    choices[i]);
		if (w < 0)
			break;
		len += (size_t)w;
	}
	ev_warnx("invalid %s '%s': expected %s", opt, arg, list);
	return -1;
}

int
ev_opt_file(const char *opt, const char *arg)
{
	if (strcmp(arg, "-") != 0)
		return 0;
	ev_warnx("%s: '-' is not a file; use /dev/stdout or ./-", opt);
	return -1;
}
