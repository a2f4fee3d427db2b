/*
 * explain.c - why an event matches no rule, for evmatch --explain.
 *
 * Slow on purpose: the event and every rule's pattern text are parsed
 * again with libjq and handed to the reference matcher (refmatch.c),
 * which can say which field failed and how.
 */
#include <stdio.h>
#include <string.h>

#include <jv.h>

#include "ref.h"
#include "ref_int.h"

/*
 * Call fn(ctx, name, why) for each rule of rs that event line[0..len) does
 * not match, in rule order.  line and rs are borrowed.  Returns the number
 * of rules reported, or -1 with err->msg set when the line is not a JSON
 * object (the fast matcher reports such lines first, with a column).  A
 * rule the reference matcher cannot evaluate is reported with the reason.
 */
int
ev_rules_explain(const struct ev_rules *rs, const char *line, size_t len,
    ev_explain_fn fn, void *ctx, struct ev_err *err)
{
	char why[512];
	size_t i, n = ev_rules_count(rs);
	jv event;
	int reported = 0;

	if (len > (size_t)0x7fffffff) {
		ev_err_set(err, "line too long to explain");
		return -1;
	}
	event = jv_parse_sized(line, (int)len);
	if (!jv_is_valid(event)) {
		jv msg = jv_invalid_get_msg(event);

		ev_err_set(err, "invalid JSON: %s",
		    jv_get_kind(msg) == JV_KIND_STRING ?
		    jv_string_value(msg) : "unparseable");
		jv_free(msg);
		return -1;
	}
	if (jv_get_kind(event) != JV_KIND_OBJECT) {
		ev_err_set(err, "not a JSON object");
		jv_free(event);
		return -1;
	}
	for (i = 0; i < n; i++) {
		size_t tlen = 0;
		const char *text = ev_rules_text(rs, i, &tlen);
		const char *name = ev_rules_name(rs, i);
		jv pattern;
		int r;

		if (text == NULL || tlen > (size_t)0x7fffffff)
			continue;
		pattern = jv_parse_sized(text, (int)tlen);
		if (!jv_is_valid(pattern)) {
			jv_free(pattern);
			fn(ctx, name, "cannot explain: pattern is not JSON");
			reported++;
			continue;
		}
		r = ev_ref_match(pattern, event, why, sizeof(why));
		jv_free(pattern);
		if (r == 1)
			continue;
		if (r < 0) {
			char msg[sizeof(why) + 32];

			snprintf(msg, sizeof(msg), "cannot explain: %s", why);
			fn(ctx, name, msg);
		} else
			fn(ctx, name, why);
		reported++;
	}
	jv_free(event);
	return reported;
}
