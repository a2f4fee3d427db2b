/*
 * jq.h - a jq program run over events (evdedupe -e), with libjq.  Linked
 * only by the tools that need it (libevkit-jq.a, with libjq): slower than
 * the scanner's paths, for keys no path can name.
 */
#ifndef EV_JQ_H
#define EV_JQ_H

#include "base/base.h"

struct ev_jq;

/*
 * Compile program.  Returns the compiled program, or NULL with err set
 * ("invalid jq program '...'").  One per thread: a program is not safe to
 * run on two threads at once.
 */
struct ev_jq *ev_jq_compile(const char *program, struct ev_err *err);
void ev_jq_free(struct ev_jq *jq);
/*
 * Run jq over the JSON text line[0..len) and append to out the outputs,
 * each compact with sorted object keys, separated by newlines, at most
 * max bytes of them (a program like repeat(.) never ends).  Returns the
 * number of outputs (0: the program produced nothing), or -1 with err
 * ("invalid JSON", the program's error: "jq: error: ...", or "jq: outputs
 * of more than MAX bytes").
 */
int ev_jq_run(struct ev_jq *jq, const char *line, size_t len, size_t max,
    struct ev_buf *out, struct ev_err *err);

#endif
