/*
 * Unit tests for lib/base/clock.c: RFC 3339 times and the virtual clock.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evkit.h"
#include "tap.h"

static void
good(const char *s, int64_t want)
{
	int64_t ms = -1;
	int r;

	r = ev_time_parse(s, strlen(s), &ms);
	ok(r == 0 && ms == want, "time '%s' is %lld ms (got %lld)", s,
	    (long long)want, (long long)ms);
}

static void
bad(const char *s)
{
	int64_t ms = 42;

	ok(ev_time_parse(s, strlen(s), &ms) == -1 && ms == 42,
	    "time '%s' refused", s);
}

static void
fmt(int64_t ms, const char *want)
{
	char buf[32];

	ev_time_format(ms, buf, sizeof(buf));
	is_str(buf, want, "format %lld", (long long)ms);
}

int
main(void)
{
	struct ev_err err;
	int64_t t0;

	good("1970-01-01T00:00:00Z", 0);
	good("2017-12-22T18:43:48Z", 1513968228000LL);
	good("2017-12-22t18:43:48z", 1513968228000LL);
	good("2017-12-22 18:43:48Z", 1513968228000LL);
	good("2017-12-22T18:43:48.5Z", 1513968228500LL);
	good("2017-12-22T18:43:48.123456Z", 1513968228123LL);
	good("2017-12-22T19:43:48+01:00", 1513968228000LL);
	good("2017-12-22T17:13:48-01:30", 1513968228000LL);
	good("2000-02-29T00:00:00Z", 951782400000LL);
	good("1969-12-31T23:59:59Z", -1000);
	good("1700000000", 1700000000000LL);
	good("1700000000.25", 1700000000250LL);
	bad("");
	bad("2017-12-22");
	bad("2017-12-22T18:43:48");
	bad("2017-13-22T18:43:48Z");
	bad("2017-02-29T18:43:48Z");
	bad("2017-12-22T24:00:00Z");
	bad("2017-12-22T18:43:48.Z");
	bad("2017-12-22T18:43:48Zx");
	bad("2017-12-22T18:43:48+0100");
	bad("17000x");
	bad("1.");
	fmt(0, "1970-01-01T00:00:00Z");
	fmt(1513968228000LL, "2017-12-22T18:43:48Z");
	fmt(1513968228007LL, "2017-12-22T18:43:48.007Z");
	fmt(-1000, "1969-12-31T23:59:59Z");
	fmt(951782400000LL, "2000-02-29T00:00:00Z");

	setenv("EVKIT_NOW", "2026-12-03T00:00:00Z", 1);
	ev_err_clear(&err);
	ok(ev_clock_init(&err) == 0, "EVKIT_NOW accepted");
	ok(ev_clock_virtual(), "EVKIT_NOW makes the clock virtual");
	t0 = ev_now_ms();
	good("2026-12-03T00:00:00Z", t0);
	ok(ev_now_ms() == t0, "the virtual clock stands still");
	ev_sleep_ms(1500);
	ok(ev_now_ms() == t0 + 1500, "ev_sleep_ms advances it");
	ev_clock_advance(250);
	ok(ev_now_ms() == t0 + 1750, "ev_clock_advance advances it");
	return tap_done();
}
