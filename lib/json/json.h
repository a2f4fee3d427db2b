/*
 * json.h - JSON on the event path: compiled paths into an event, read by
 * the zero-copy scanner (json_int.h holds the scanner itself).
 */
#ifndef EV_JSON_H
#define EV_JSON_H

#include "base/base.h"

/* ----------------------------------------------------------------- path */

/*
 * A compiled path into an event: dotted ("detail.user.id") or as
 * EventBridge's InputPath writes it ("$.detail.user.id"; "$" is the whole
 * event).  Used by evdedupe and the transformers.
 */
struct ev_path;
struct ev_path *ev_path_compile(const char *spec, struct ev_err *err);
void ev_path_free(struct ev_path *p);

/*
 * Find the value at path p in the JSON object line[0..len), validating
 * the line in the same pass.  On success stores a pointer into line and
 * the length of the value's raw JSON text (a string keeps its quotes) and
 * returns 1; returns 0 when the path is absent; -1 with err (col set) when
 * the line is not valid JSON.  The last of several values wins.
 */
int ev_path_get(const struct ev_path *p, const char *line, size_t len,
    const char **val, size_t *vlen, struct ev_err *err);

/* A view of bytes in someone else's buffer (p NULL: nothing). */
struct ev_span {
	const char *p;
	size_t len;
};

/*
 * Several paths read in one pass (a composite key, an InputPathsMap).
 * ev_paths_get() fills vals[i] (ev_paths_count() entries) with the raw
 * JSON text at path i, or {NULL, 0} when absent; it returns how many paths
 * have a value, or -1 with err (col set) when the line is not a valid
 * JSON object.  When several values sit at one path (duplicate member
 * names, elements of arrays on the way), the last in document order wins.
 */
struct ev_paths;
struct ev_paths *ev_paths_compile(const char *const *specs, int n,
    struct ev_err *err);
void ev_paths_free(struct ev_paths *pv);
int ev_paths_count(const struct ev_paths *pv);
int ev_paths_get(const struct ev_paths *pv, const char *line, size_t len,
    struct ev_span *vals, struct ev_err *err);

#endif
