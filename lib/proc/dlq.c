/*
 * dlq.c - dead-letter records read back (evretry --redrive), the age of
 * an event by its "time", and whether an output file is also an input.
 */
#include <sys/stat.h>

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "json/json.h"
#include "proc.h"

int
ev_dlq_event(const char *line, size_t len, const char **ev, size_t *evlen,
    struct ev_err *err)
{
	static const char *const specs[] = { "event", "error", "exhausted" };
	static const char *const want[] = { "an object", "a string",
		"a string" };
	static struct ev_paths *pv;
	struct ev_span v[3];
	int i;

	if (pv == NULL && (pv = ev_paths_compile(specs, 3, err)) == NULL)
		return -1;
	if (ev_paths_get(pv, line, len, v, err) < 0)
		return -1;
	for (i = 0; i < 3; i++) {
		if (v[i].p == NULL) {
			ev_err_set(err, "not a dead-letter record: missing "
			    "member '%s'", specs[i]);
			err->col = 1;
			return -1;
		}
		if (v[i].p[0] != (i == 0 ? '{' : '"')) {
			ev_err_set(err, "not a dead-letter record: '%s' must "
			    "be %s", specs[i], want[i]);
			err->col = (unsigned long)(v[i].p - line) + 1;
			return -1;
		}
	}
	*ev = v[0].p;
	*evlen = v[0].len;
	return 0;
}

int64_t
ev_event_time(const char *ev, size_t len)
{
	static struct ev_path *p;
	struct ev_err err;
	const char *v;
	size_t vlen;
	int64_t ms;

	ev_err_clear(&err);
	if (p == NULL && (p = ev_path_compile("time", &err)) == NULL)
		return INT64_MIN;
	if (ev_path_get(p, ev, len, &v, &vlen, &err) != 1 || vlen < 2 ||
	    v[0] != '"' || memchr(v, '\\', vlen) != NULL ||
	    ev_time_parse(v + 1, vlen - 2, &ms) < 0)
		return INT64_MIN;
	return ms;
}

const char *
ev_file_is_input(const char *path, char *const *files, int n)
{
	struct stat a, b;
	int i;

	if (stat(path, &a) < 0 || !S_ISREG(a.st_mode))
		return NULL;
	for (i = 0; i < (n ? n : 1); i++) {
		if (n == 0 || strcmp(files[i], "-") == 0) {
			if (fstat(STDIN_FILENO, &b) < 0)
				continue;
		} else if (stat(files[i], &b) < 0)
			continue;
		if (S_ISREG(b.st_mode) && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return n == 0 || strcmp(files[i], "-") == 0 ?
			    "<stdin>" : files[i];
	}
	return NULL;
}
