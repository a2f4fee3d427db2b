/*
 * Unit tests for lib/base/duration.c: durations and byte counts.
 */
#include <stdint.h>

#include "evkit.h"
#include "tap.h"

static void
good(const char *s, int64_t want)
{
	struct ev_err err;
	int64_t ms = -1;
	int r;

	ev_err_clear(&err);
	r = ev_duration_parse(s, &ms, &err);
	ok(r == 0 && ms == want, "duration '%s' is %lld ms", s,
	    (long long)want);
}

static void
bad(const char *s, const char *msg)
{
	struct ev_err err;
	int64_t ms = 42;
	int r;

	ev_err_clear(&err);
	r = ev_duration_parse(s, &ms, &err);
	ok(r == -1 && ms == 42, "duration '%s' rejected", s);
	is_str(err.msg, msg, "duration '%s' message", s);
}

static void
fmt(int64_t ms, const char *want)
{
	char buf[32];

	ev_duration_format(ms, buf, sizeof(buf));
	is_str(buf, want, "format %lld", (long long)ms);
}

static void
size_good(const char *s, size_t want)
{
	struct ev_err err;
	size_t n = 1;
	int r;

	r = ev_size_parse(s, &n, &err);
	ok(r == 0 && n == want, "size '%s' is %zu", s, want);
}

static void
size_bad(const char *s, const char *msg)
{
	struct ev_err err;
	size_t n = 42;
	int r;

	ev_err_clear(&err);
	r = ev_size_parse(s, &n, &err);
	ok(r == -1 && n == 42, "size '%s' rejected", s);
	is_str(err.msg, msg, "size '%s' message", s);
}

#define HINT ": expected a number and a unit (ms, s, m, h, d)"
#define SHINT ": expected a number of bytes, optionally with K, M or G"

int
main(void)
{
	char buf[4];

	good("250ms", 250);
	good("10s", 10000);
	good("5m", 300000);
	good("2h", 7200000);
	good("7d", 604800000);
	good("0", 0);
	good("0s", 0);
	good("007s", 7000);
	good("9223372036854775807ms", INT64_MAX);
	good("106751991167d", 106751991167LL * 86400000);
	bad("", "invalid duration ''" HINT);
	bad("5", "invalid duration '5'" HINT);
	bad("1.5s", "invalid duration '1.5s'" HINT);
	bad("-1s", "invalid duration '-1s'" HINT);
	bad("+1s", "invalid duration '+1s'" HINT);
	bad("5x", "invalid duration '5x'" HINT);
	bad("5 s", "invalid duration '5 s'" HINT);
	bad(" 5s", "invalid duration ' 5s'" HINT);
	bad("5sm", "invalid duration '5sm'" HINT);
	bad("5S", "invalid duration '5S'" HINT);
	bad("s", "invalid duration 's'" HINT);
	bad("9223372036854775808ms",
	    "invalid duration '9223372036854775808ms': out of range");
	bad("106751991168d", "invalid duration '106751991168d': out of range");
	bad("99999999999999999999999s",
	    "invalid duration '99999999999999999999999s': out of range");

	fmt(0, "0");
	fmt(1500, "1500ms");
	fmt(1000, "1s");
	fmt(90000, "90s");
	fmt(120000, "2m");
	fmt(3600000, "1h");
	fmt(86400000 * 7LL, "7d");
	fmt(86400000 + 3600000, "25h");
	fmt(-5000, "-5s");
	fmt(1, "1ms");
	ev_duration_format(123456, buf, sizeof(buf));
	is_str(buf, "123", "format truncates to the buffer");

	size_good("1048576", 1048576);
	size_good("0", 0);
	size_good("64K", 65536);
	size_good("64k", 65536);
	size_good("1M", 1048576);
	size_good("2G", 2147483648ULL);
	size_good("18446744073709551615", SIZE_MAX);
	size_bad("12Q", "invalid size '12Q'" SHINT);
	size_bad("", "invalid size ''" SHINT);
	size_bad("K", "invalid size 'K'" SHINT);
	size_bad("1KB", "invalid size '1KB'" SHINT);
	size_bad("-1", "invalid size '-1'" SHINT);
	size_bad("1.5M", "invalid size '1.5M'" SHINT);
	size_bad("18446744073709551616",
	    "invalid size '18446744073709551616': out of range");
	size_bad("17179869184G", "invalid size '17179869184G': out of range");
	return tap_done();
}
