/*
 * jq.c - running a jq program over an event with libjq (jq 1.6).  Outputs
 * are dumped with sorted keys, so that two objects differing only in
 * member order give the same text.
 */
#include <stdlib.h>
#include <string.h>

#include <jq.h>
#include <jv.h>

#include "jq.h"

struct ev_jq {
	jq_state *jq;
};

/* Compile errors arrive through a callback; keep the first. */
static void
on_error(void *data, jv msg)
{
	struct ev_err *err = data;

	const char *m;

	if (err != NULL && !err->msg[0] &&
	    jv_get_kind(msg) == JV_KIND_STRING) {
		m = jv_string_value(msg);
		if (strncmp(m, "jq: error: ", 11) == 0)
			m += 11;
		/* one line: the message, not the program echoed after it */
		ev_err_set(err, "%.*s", (int)strcspn(m, "\n"), m);
	}
	jv_free(msg);
}

struct ev_jq *
ev_jq_compile(const char *program, struct ev_err *err)
{
	struct ev_jq *q = calloc(1, sizeof(*q));
	struct ev_err why;

	if (q == NULL || (q->jq = jq_init()) == NULL) {
		free(q);
		ev_err_set(err, "out of memory");
		return NULL;
	}
	ev_err_clear(&why);
	jq_set_error_cb(q->jq, on_error, &why);
	if (!jq_compile(q->jq, program)) {
		ev_err_set(err, "invalid jq program '%s'%s%s", program,
		    why.msg[0] ? ": " : "", why.msg);
		ev_jq_free(q);
		return NULL;
	}
	jq_set_error_cb(q->jq, on_error, NULL);
	return q;
}

void
ev_jq_free(struct ev_jq *q)
{
	if (q == NULL)
		return;
	jq_teardown(&q->jq);
	free(q);
}

int
ev_jq_run(struct ev_jq *q, const char *line, size_t len, size_t max,
    struct ev_buf *out, struct ev_err *err)
{
	size_t start = out->len;
	jv in, v, s;
	int n = 0, r = 0;

	in = jv_parse_sized(line, (int)len);
	if (!jv_is_valid(in)) {
		v = jv_invalid_get_msg(in);
		ev_err_set(err, "invalid JSON: %s",
		    jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) :
		    "cannot parse");
		jv_free(v);
		return -1;
	}
	jq_start(q->jq, in, 0);
	for (;;) {
		v = jq_next(q->jq);
		if (!jv_is_valid(v)) {
			s = jv_invalid_get_msg(v);
			if (jv_get_kind(s) == JV_KIND_NULL) {
				jv_free(s);
				break;
			}
			ev_err_set(err, "jq: error: %s",
			    jv_get_kind(s) == JV_KIND_STRING ?
			    jv_string_value(s) : "(not a string)");
			jv_free(s);
			return -1;
		}
		s = jv_dump_string(v, JV_PRINT_SORTED);
		if ((n > 0 && ev_buf_add(out, "\n", 1) < 0) ||
		    ev_buf_add(out, jv_string_value(s),
		    (size_t)jv_string_length_bytes(jv_copy(s))) < 0)
			r = -1;
		jv_free(s);
		if (r < 0) {
			ev_err_set(err, "out of memory");
			return -1;
		}
		if (out->len - start > max) {
			ev_err_set(err, "jq: outputs of more than %zu bytes",
			    max);
			return -1;
		}
		n++;
	}
	return n;
}
