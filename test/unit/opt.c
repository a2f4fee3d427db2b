/*
 * Unit tests for lib/base/opt.c (option arguments and their one message
 * shape) and for the escaping of control bytes in diagnostics (diag.c).
 * stderr is pointed at a file around each call and read back.
 */
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evkit.h"
#include "tap.h"

static char errpath[] = "/tmp/evkit-opt-XXXXXX";
static char got[8192];

/* Start capturing stderr. */
static void
cap(void)
{
	int fd = open(errpath, O_WRONLY | O_TRUNC);

	dup2(fd, 2);
	close(fd);
}

/* What was written to stderr since cap(), without the last newline. */
static const char *
said(void)
{
	int fd = open(errpath, O_RDONLY);
	ssize_t n = read(fd, got, sizeof(got) - 1);

	close(fd);
	if (n < 0)
		n = 0;
	got[n] = '\0';
	if (n > 0 && got[n - 1] == '\n')
		got[n - 1] = '\0';
	return got;
}

static void
int_good(const char *s, int64_t lo, int64_t hi, int64_t want)
{
	int64_t v = -42;

	cap();
	ok(ev_opt_int("--n", s, lo, hi, &v) == 0 && v == want &&
	    *said() == '\0', "int '%s' is %lld", s, (long long)want);
}

static void
int_bad(const char *s, int64_t lo, int64_t hi, const char *msg)
{
	int64_t v = -42;
	int r;

	cap();
	r = ev_opt_int("--n", s, lo, hi, &v);
	ok(r == -1 && v == -42, "int '%s' refused", s);
	is_str(said(), msg, "int '%s' message", s);
}

int
main(void)
{
	const char *const jit[] = { "full", "none", NULL };
	const char *const one[] = { "only", NULL };
	struct ev_err err;
	int64_t ms = -1;
	size_t sz = 7;
	double d = -1;
	int fd;

	ev_setprogname("evtest");
	fd = mkstemp(errpath);
	close(fd);

	int_good("0", 0, 10, 0);
	int_good("10", 0, 10, 10);
	int_good("+3", 0, 10, 3);
	int_good("9223372036854775807", 1, INT64_MAX, INT64_MAX);
	int_bad("11", 0, 10,
	    "evtest: invalid --n '11': expected a whole number from 0 to 10");
	int_bad("-1", 0, INT64_MAX,
	    "evtest: invalid --n '-1': expected a whole number from 0 up");
	int_bad("", 0, 10,
	    "evtest: invalid --n '': expected a whole number from 0 to 10");
	int_bad(" 1", 0, 10,
	    "evtest: invalid --n ' 1': expected a whole number from 0 to 10");
	int_bad("1x", 0, 10,
	    "evtest: invalid --n '1x': expected a whole number from 0 to 10");
	int_bad("9223372036854775808", 0, INT64_MAX,
	    "evtest: invalid --n '9223372036854775808': expected a whole "
	    "number from 0 up");
	int_bad("2147483648", 1, INT32_MAX,
	    "evtest: invalid --n '2147483648': expected a whole number from "
	    "1 to 2147483647");

	cap();
	ok(ev_opt_real("--rate", "2.5", 1, 100, &d) == 0 && d == 2.5,
	    "real 2.5");
	cap();
	ok(ev_opt_real("--rate", "nan", 1, 100, &d) == -1 && d == 2.5,
	    "real nan refused");
	is_str(said(), "evtest: invalid --rate 'nan': expected a number from "
	    "1 to 100", "real message");
	cap();
	ok(ev_opt_real("--rate", "0.5", 1, 100, &d) == -1,
	    "real below the range refused");
	cap();
	ok(ev_opt_real("--rate", "1e999", 1, INFINITY, &d) == -1,
	    "real overflow refused");

	cap();
	ok(ev_opt_duration("--ttl", "5m", 0, &ms) == 0 && ms == 300000,
	    "duration 5m");
	cap();
	ok(ev_opt_duration("--ttl", "5x", 0, &ms) == -1 && ms == 300000,
	    "duration 5x refused");
	is_str(said(), "evtest: --ttl: invalid duration '5x': expected a "
	    "number and a unit (ms, s, m, h, d)", "duration message");
	cap();
	ok(ev_opt_duration("--lease", "0", 1, &ms) == -1, "duration 0 < 1ms");
	is_str(said(), "evtest: invalid --lease '0': expected a duration of "
	    "at least 1ms", "duration minimum message");

	cap();
	ok(ev_opt_time("--since", "2017-12-22T18:43:48Z", &ms) == 0 &&
	    ms == 1513968228000LL, "time RFC 3339");
	cap();
	ok(ev_opt_time("--since", "yesterday", &ms) == -1, "time refused");
	is_str(said(), "evtest: invalid --since 'yesterday': expected an RFC "
	    "3339 time or seconds since 1970", "time message");

	cap();
	ok(ev_opt_size("--max-line", "64K", 1, &sz) == 0 && sz == 65536,
	    "size 64K");
	cap();
	ok(ev_opt_size("--max-line", "0", 1, &sz) == -1 && sz == 65536,
	    "size below minimum refused");
	is_str(said(), "evtest: invalid --max-line '0': expected at least 1 "
	    "byte", "size minimum message");
	cap();
	ok(ev_opt_size("--max-line", "1", 2, &sz) == -1, "size below 2");
	is_str(said(), "evtest: invalid --max-line '1': expected at least 2 "
	    "bytes", "plural past 1");

	cap();
	is_int(ev_opt_choice("--jitter", "none", jit), 1, "choice index");
	cap();
	is_int(ev_opt_choice("--jitter", "FULL", jit), -1, "choice refused");
	is_str(said(), "evtest: invalid --jitter 'FULL': expected full or "
	    "none", "choice message");
	cap();
	is_int(ev_opt_choice("--x", "y", one), -1, "one choice refused");
	is_str(said(), "evtest: invalid --x 'y': expected only",
	    "one choice message");

	cap();
	ok(ev_opt_file("--reject", "rej") == 0 && *said() == '\0',
	    "file: a name is taken");
	cap();
	ok(ev_opt_file("--reject", "-") == -1, "file: '-' refused");
	is_str(said(), "evtest: --reject: '-' is not a file; use /dev/stdout "
	    "or ./-", "file message");

	/* Control bytes in diagnostics are escaped; the line stays one line. */
	cap();
	ev_warnx("cannot open '%s'", "a\nevtest: forged\t\x1b[31m\x7f");
	is_str(said(), "evtest: cannot open 'a\\nevtest: forged\\t\\x1b[31m"
	    "\\x7f'", "warnx escapes control bytes");
	cap();
	ev_err_clear(&err);
	ev_err_set(&err, "bad");
	err.file = "x\ry";
	err.line = 3;
	ev_diag(&err);
	is_str(said(), "evtest: x\\ry:3: bad", "diag escapes the file name");
	cap();
	ev_warnx("%s", "plain \\ back\xc3\xa9");
	is_str(said(), "evtest: plain \\ back\xc3\xa9",
	    "backslash and UTF-8 are left alone");

	{
		char big[3001];

		memset(big, '\n', 3000);
		big[3000] = '\0';
		cap();
		ev_warnx("%s", big);
		ok(strlen(said()) == 8 + 6000 &&
		    strncmp(got + 8, "\\n\\n", 4) == 0,
		    "a long line of control bytes is escaped whole");
	}
	unlink(errpath);
	return tap_done();
}
