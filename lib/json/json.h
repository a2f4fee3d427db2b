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
 * Find the value at path p in the JSON object line[0..len).  On success
 * stores a pointer into line and the length of the value's raw JSON text
 * (a string keeps its quotes) and returns 1; returns 0 when the path is
 * absent; -1 with err (col set) when the line is not valid JSON.
 */
int ev_path_get(const struct ev_path *p, const char *line, size_t len,
    const char **val, size_t *vlen, struct ev_err *err);

#endif
