/*
 * rules.h - EventBridge event patterns: compiling rule sets (one pattern,
 * or every rule of a pattern file) and matching events against them.
 */
#ifndef EV_RULES_H
#define EV_RULES_H

#include "base/base.h"

/* -------------------------------------------------------------- pattern */

/*
 * A rule set: named EventBridge event patterns compiled together.
 */
struct ev_rules;

struct ev_rules *ev_rules_new(void);
void ev_rules_free(struct ev_rules *rs);

/*
 * Compile one pattern (JSON text) under name (copied; NULL names it by
 * position, "1", "2", ...).  On an invalid pattern returns -1 with err set
 * to event-ruler's reason, located in text (line/col relative to text).
 */
int ev_rules_add(struct ev_rules *rs, const char *name, const char *text,
    size_t len, struct ev_err *err);

/*
 * Load every rule in a pattern file.  Detects the file's shape: one pattern;
 * a JSON array or NDJSON of {"name":..., "pattern":...} rules; a
 * CloudFormation/SAM template (each AWS::Events::Rule's EventPattern, named
 * by logical id); or `aws events describe-rule` / `list-rules` output.
 * Errors are located in path.  Returns the number of rules added or -1.
 */
int ev_rules_load(struct ev_rules *rs, const char *path, struct ev_err *err);

struct ev_jdoc;

/*
 * A rule as its pattern file holds it, for the callback of
 * ev_rules_load_cb(): what a tool needs to read more of the rule than its
 * pattern (the Targets of a template's AWS::Events::Rule, say).  Valid
 * during the call only.
 */
struct ev_rule_src {
	const char *name;	/* its name in the rule set */
	size_t index;		/* its index: ev_rules_name(rs, index) */
	/*
	 * The rule object: the list or NDJSON element, the describe-rule
	 * output or list-rules element, the template's AWS::Events::Rule
	 * resource or SAM event source, or the bare pattern.  Its JSON text
	 * (for a YAML template, its conversion to JSON; NULL for a pattern
	 * that is a JSON string at the top of the file) and where it
	 * starts in the file.
	 */
	const char *text;
	size_t len;
	const char *file;
	unsigned long line, col;
	/*
	 * For lib/ code (json/json_int.h): the parsed document that holds
	 * it, the rule object's node and, in a template, the node of the
	 * resource that holds it (the rule object itself for an
	 * AWS::Events::Rule, the function or state machine for a SAM event
	 * source; -1 elsewhere).  Node offsets are in doc->text.
	 */
	const struct ev_jdoc *doc;
	int node;
	int resource;
	const void *load_;	/* private to the loader */
	size_t base_;
};

/*
 * Called for each rule a file yields, after it is added.  Returns 0, or
 * -1 with err->msg set to refuse the file: the loader locates the error
 * at the rule object, unless fn located it (set err->file, as
 * ev_rule_src_locate() does).
 */
typedef int (*ev_rule_fn)(void *ctx, const struct ev_rule_src *r,
    struct ev_err *err);

/*
 * ev_rules_load(), handing each rule to fn (NULL: none) as it is added,
 * in file order.  fn's error ends the load with -1 and fn's err.
 */
int ev_rules_load_cb(struct ev_rules *rs, const char *path, ev_rule_fn fn,
    void *ctx, struct ev_err *err);
/* Locate err (file, line, col) at byte offset off of r->doc->text. */
void ev_rule_src_locate(const struct ev_rule_src *r, size_t off,
    struct ev_err *err);

/* Prepare the rule set for matching; call once, after the last add. */
int ev_rules_finish(struct ev_rules *rs, struct ev_err *err);

size_t ev_rules_count(const struct ev_rules *rs);
const char *ev_rules_name(const struct ev_rules *rs, size_t i);

/*
 * Per-thread match state: scratch space and the list of matched rules.
 */
struct ev_matcher;
struct ev_matcher *ev_matcher_new(const struct ev_rules *rs);
void ev_matcher_free(struct ev_matcher *m);

enum ev_match_mode {
	EV_MATCH_ANY = 0,	/* stop at the first matching rule */
	EV_MATCH_ALL = 1	/* find every matching rule */
};

/*
 * Match one event (a JSON object, line[0..len)) against the rule set.
 * Returns the number of rules matched (with EV_MATCH_ANY, 0 or 1), or -1 if
 * the line is not a valid JSON object (err->col and err->msg set).
 * The line is validated completely even when no rule can match.
 */
int ev_match(struct ev_matcher *m, const char *line, size_t len,
    enum ev_match_mode mode, struct ev_err *err);
/* Indexes (for ev_rules_name) of the rules matched by the last ev_match. */
const size_t *ev_matched(const struct ev_matcher *m, size_t *n);

/*
 * The original JSON text of rule i of a rule set, as given to
 * ev_rules_add().  The text is owned by the rule set.
 */
const char *ev_rules_text(const struct ev_rules *rs, size_t i, size_t *len);

#endif
