/*
 * duration.c - the toolkit's spelling of durations (250ms, 10s, 5m, 2h, 7d)
 * and byte counts (1048576, 64K, 1M, 2G), for option arguments.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base.h"

#define DURATION_HINT "expected a number and a unit (ms, s, m, h, d)"
#define SIZE_HINT "expected a number of bytes, optionally with K, M or G"

/*
 * Read the run of decimal digits at *sp into *v, advancing *sp.  Returns 0,
 * -1 when there is no digit, -2 when the number does not fit in max.
 */
static int
parse_digits(const char **sp, uint64_t max, uint64_t *v)
{
	const char *s = *sp;
	uint64_t n = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (n > (max - (uint64_t)(*s - '0')) / 10) {
			*sp = s;
			return -2;
		}
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*sp = s;
	*v = n;
	return 0;
}

/*
 * Parse a duration: a whole number immediately followed by one unit, ms, s,
 * m, h or d; "0" alone is also accepted.  Stores milliseconds in *ms.
 * Returns 0, or -1 with err->msg set ("invalid duration '5x': expected a
 * number and a unit (ms, s, m, h, d)", or "...: out of range" when the
 * value does not fit in 64 bits of milliseconds).
 */
int
ev_duration_parse(const char *s, int64_t *ms, struct ev_err *err)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} units[] = {
	    {"ms", 1},
	    {"s", 1000},
	    {"m", 60 * 1000},
	    {"h", 60 * 60 * 1000},
	    {"d", 24 * 60 * 60 * 1000},
	};
	const char *p = s;
	uint64_t n;
	size_t i;
	int r;

	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	r = parse_digits(&p, INT64_MAX, &n);
	if (r == -2)
		goto range;
	if (r == 0) {
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (strcmp(p, units[i].name) != 0)
				continue;
			if (n > INT64_MAX / units[i].ms)
				goto range;
			*ms = (int64_t)(n * units[i].ms);
			return 0;
		}
	}
	ev_err_set(err, "invalid duration '%s': " DURATION_HINT, s);
	return -1;
range:
	ev_err_set(err, "invalid duration '%s': out of range", s);
	return -1;
}

/*
 * Write ms into buf in the largest unit that divides it exactly (1500 ->
 * "1500ms", 120000 -> "2m", 0 -> "0"), so that ev_duration_parse() reads
 * it back.  Truncates to size like snprintf().
 */
void
ev_duration_format(int64_t ms, char *buf, size_t size)
{
	static const struct {
		const char *name;
		int64_t ms;
	} units[] = {
	    {"d", 24 * 60 * 60 * 1000},
	    {"h", 60 * 60 * 1000},
	    {"m", 60 * 1000},
	    {"s", 1000},
	};
	size_t i;

	if (ms == 0) {
		snprintf(buf, size, "0");
		return;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ms % units[i].ms == 0) {
			snprintf(buf, size, "%" PRId64 "%s", ms / units[i].ms,
			    units[i].name);
			return;
		}
	}
	snprintf(buf, size, "%" PRId64 "ms", ms);
}

/*
 * Parse a byte count: a whole number with an optional K, M or G suffix
 * (either case; powers of 1024).  Stores it in *bytes.  Returns 0, or -1
 * with err->msg set ("invalid size '12Q': expected a number of bytes,
 * optionally with K, M or G", or "...: out of range").
 */
int
ev_size_parse(const char *s, size_t *bytes, struct ev_err *err)
{
	const char *p = s;
	uint64_t n, mult;
	int r;

	r = parse_digits(&p, SIZE_MAX, &n);
	if (r == -2)
		goto range;
	if (r == 0) {
		mult = 0;
		if (p[0] == '\0')
			mult = 1;
		else if (p[1] == '\0' && (p[0] == 'K' || p[0] == 'k'))
			mult = 1024;
		else if (p[1] == '\0' && (p[0] == 'M' || p[0] == 'm'))
			mult = 1024 * 1024;
		else if (p[1] == '\0' && (p[0] == 'G' || p[0] == 'g'))
			mult = 1024 * 1024 * 1024;
		if (mult != 0) {
			if (n > SIZE_MAX / mult)
				goto range;
			*bytes = (size_t)(n * mult);
			return 0;
		}
	}
	ev_err_set(err, "invalid size '%s': " SIZE_HINT, s);
	return -1;
range:
	ev_err_set(err, "invalid size '%s': out of range", s);
	return -1;
}
