/*
 * clock.c - the toolkit's one clock, its override for tests, and RFC 3339
 * times.
 *
 * Every tool that reads the time (TTLs, leases, backoff, ingest times) asks
 * ev_now_ms().  With EVKIT_NOW set in the environment the clock is virtual:
 * it starts at that instant and moves only when a tool sleeps through
 * ev_sleep_ms() or calls ev_clock_advance(), so tests of windows, leases
 * and retry schedules run exactly and without waiting.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base.h"

static pthread_once_t clock_once = PTHREAD_ONCE_INIT;
static int clock_virt;			/* EVKIT_NOW was set and valid */
static const char *clock_bad;		/* EVKIT_NOW was set but invalid */
static _Atomic int64_t clock_vnow;	/* the virtual clock, ms */

static void
clock_setup(void)
{
	const char *s = getenv("EVKIT_NOW");
	int64_t ms;

	if (s == NULL || *s == '\0')
		return;
	if (ev_time_parse(s, strlen(s), &ms) != 0) {
		clock_bad = s;
		return;
	}
	atomic_store(&clock_vnow, ms);
	clock_virt = 1;
}

int
ev_clock_init(struct ev_err *err)
{
	pthread_once(&clock_once, clock_setup);
	if (clock_bad != NULL) {
		ev_err_set(err, "invalid EVKIT_NOW '%s': expected an RFC 3339 "
		    "time or seconds since 1970", clock_bad);
		return -1;
	}
	return 0;
}

int
ev_clock_virtual(void)
{
	pthread_once(&clock_once, clock_setup);
	return clock_virt;
}

int64_t
ev_now_ms(void)
{
	struct timespec ts;

	pthread_once(&clock_once, clock_setup);
	if (clock_virt)
		return atomic_load(&clock_vnow);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
ev_clock_advance(int64_t ms)
{
	pthread_once(&clock_once, clock_setup);
	if (clock_virt && ms > 0)
		atomic_fetch_add(&clock_vnow, ms);
}

void
ev_sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	if (ev_clock_virtual()) {
		ev_clock_advance(ms);
		return;
	}
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		if (ev_stop_signal() != 0)
			break;
}

/* ------------------------------------------------------------ RFC 3339 */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Read exactly n digits at s into *v. */
static int
digits(const char *s, int n, int *v)
{
	int i, x = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return 0;
}

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/*
 * Seconds since 1970 with an optional fraction ("1700000000",
 * "1700000000.25"), for EVKIT_NOW.
 */
static int
parse_epoch(const char *s, size_t n, int64_t *ms)
{
	int64_t sec = 0, frac = 0, scale = 1000;
	size_t i = 0;

	if (n == 0 || n > 30)
		return -1;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		if (sec > (INT64_MAX / 1000 - 9) / 10)
			return -1;
		sec = sec * 10 + (s[i] - '0');
	}
	if (i == 0)
		return -1;
	if (i < n) {
		if (s[i++] != '.' || i == n)
			return -1;
		for (; i < n; i++) {
			if (s[i] < '0' || s[i] > '9')
				return -1;
			if (scale > 1) {
				scale /= 10;
				frac += (s[i] - '0') * scale;
			}
		}
	}
	*ms = sec * 1000 + frac;
	return 0;
}

int
ev_time_parse(const char *s, size_t n, int64_t *ms)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31};
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	int64_t frac = 0, scale = 1000, t;
	size_t i;

	if (n > 0 && s[0] >= '0' && s[0] <= '9' &&
	    (n < 5 || s[4] != '-'))
		return parse_epoch(s, n, ms);
	/* 2017-12-22T18:43:48[.fff]Z|+hh:mm */
	if (n < 20 || digits(s, 4, &y) || s[4] != '-' ||
	    digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    digits(s + 11, 2, &h) || s[13] != ':' ||
	    digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &se))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && leap(y)) || h > 23 || mi > 59 ||
	    se > 60)
		return -1;
	i = 19;
	if (s[i] == '.') {
		if (++i == n || s[i] < '0' || s[i] > '9')
			return -1;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			if (scale > 1) {
				scale /= 10;
				frac += (s[i] - '0') * scale;
			}
	}
	if (i == n)
		return -1;
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		sign = s[i] == '-' ? -1 : 1;
		if (n - i < 6 || digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
		    digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		i += 6;
	} else {
		return -1;
	}
	if (i != n)
		return -1;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	t -= sign * (oh * 3600 + om * 60);
	*ms = t * 1000 + frac;
	return 0;
}

void
ev_time_format(int64_t ms, char *buf, size_t size)
{
	int64_t days, secs, y;
	int m, d, msec;

	days = ms / 86400000;
	if (ms % 86400000 < 0)
		days--;
	secs = (ms - days * 86400000) / 1000;
	msec = (int)((ms - days * 86400000) % 1000);
	civil_from_days(days, &y, &m, &d);
	if (msec != 0)
		snprintf(buf, size, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ",
		    (long long)y, m, d, (int)(secs / 3600),
		    (int)(secs / 60 % 60), (int)(secs % 60), msec);
	else
		snprintf(buf, size, "%04lld-%02d-%02dT%02d:%02d:%02dZ",
		    (long long)y, m, d, (int)(secs / 3600),
		    (int)(secs / 60 % 60), (int)(secs % 60));
}
