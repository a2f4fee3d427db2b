/*
 * ref.h - the slow reference matcher's public face: explaining why an
 * event matches no rule (evmatch --explain).  Linked only by the tools that
 * need it (libevkit-ref.a, with libjq); the fast path never calls it.
 */
#ifndef EV_REF_H
#define EV_REF_H

#include "rules/rules.h"

/*
 * Explain why an event does not match: calls fn once per rule with a
 * human-readable reason, e.g. "rule 'r1': detail.state: \"pending\" is not
 * one of [\"running\"]".  Slow (uses libjq); for --explain only.
 */
typedef void (*ev_explain_fn)(void *ctx, const char *rule, const char *why);
int ev_rules_explain(const struct ev_rules *rs, const char *line, size_t len,
    ev_explain_fn fn, void *ctx, struct ev_err *err);

#endif
