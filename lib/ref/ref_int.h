/*
 * ref_int.h - the reference matcher (library-internal).
 *
 * A slow, straightforward implementation of EventBridge event-pattern
 * matching over libjq values, written to be read rather than to be fast.
 * It serves two purposes: evmatch --explain (which needs to say why a rule
 * did not match) and the differential test that checks the fast engine
 * (pattern.c, match.c) against it.
 *
 * Semantics follow aws/event-ruler (JsonRuleCompiler + array-consistent
 * Machine.rulesForJSONEvent); refmatch.c spells them out.  Known limits,
 * all inherited from libjq 1.6:
 *  - numbers are doubles: two numbers that read as the same double are
 *    equal (123456789012345678 == 123456789012345679), numbers beyond the
 *    double range are not supported;
 *  - duplicate keys collapse (the last one wins, at the first one's
 *    position), in patterns and in events, while event-ruler sees them
 *    all (two "$or" keys at one level, or an event field given twice);
 *  - text that is not valid UTF-8 has been replaced by U+FFFD.
 */
#ifndef EV_REF_INT_H
#define EV_REF_INT_H

#include <stddef.h>

#include <jv.h>

#include "ref.h"

/*
 * Check that pattern (a jv object) is a pattern the reference matcher can
 * evaluate: the shape and operator rules of event-ruler's JsonRuleCompiler
 * (objects and arrays only, no empty ones, "$or" arrays of two or more
 * objects, known operators with well-formed arguments, valid wildcards and
 * CIDR blocks).  The wording of the message is the reference's own, not
 * event-ruler's.  Returns 0, or -1 with a message in why (which may be
 * NULL when whysz is 0).  Borrows pattern: the caller keeps its reference.
 */
int ev_ref_check(jv pattern, char *why, size_t whysz);

/*
 * Match event (a jv object) against pattern.  Returns 1 on a match; 0 on
 * no match, with a one-line explanation in why, field path first, e.g.
 *   detail.state: "pending" is not "running"
 *   detail.count: 12 is not in numeric [">", 0, "<=", 5]
 *   detail.user: missing (exists: true)
 *   detail.x: the fields matched must come from the same array element
 * and -1 when the pattern fails ev_ref_check() or the event is not an
 * object (why says which).  Borrows both arguments: neither is consumed.
 */
int ev_ref_match(jv pattern, jv event, char *why, size_t whysz);

#endif
