/*
 * json.h - evkit's JSON layer for the tools: compiled paths into an event,
 * read by the zero-copy scanner in one validating pass; canonical values
 * (for keys and hashes); and the document parser with typed, located
 * getters for configuration files.  json_int.h holds the scanner itself,
 * for the rules layer.
 */
#ifndef EV_JSON_H
#define EV_JSON_H

#include "base/base.h"

enum ev_jtype {
	EV_J_NULL = 0,
	EV_J_FALSE,
	EV_J_TRUE,
	EV_J_NUMBER,
	EV_J_STRING,
	EV_J_OBJECT,
	EV_J_ARRAY
};

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

/* ---------------------------------------------------------- canonical */

/*
 * Append the canonical form of the JSON value val[0..len) to out (RFC 8785
 * JCS: no whitespace, strings escaped one way, numbers as ECMAScript
 * writes their double, members sorted by UTF-16 code units, of duplicate
 * names the last; numbers beyond the double range keep their exact value
 * as d.ddde+N).  Two values are one key when their forms are equal bytes:
 * "a" and "\u0061" are, "1" and 1 are not.  Returns 0, or -1 with err
 * ("invalid JSON: ..." with line/col, or "out of memory").
 */
int ev_json_canon(const char *val, size_t len, struct ev_buf *out,
    struct ev_err *err);

/* ------------------------------------------------------------ documents */

/*
 * A parsed document: nodes in an array, children linked by index.  Member
 * order and duplicate keys are kept as written.  Keys and string values are
 * decoded (NUL-terminated, may hold embedded NULs: use the length).
 */
struct ev_jnode {
	enum ev_jtype type;
	size_t off;		/* byte offset of the value in the text */
	size_t koff;		/* byte offset of the member's key, if any */
	const char *key;	/* member name (decoded), or NULL */
	size_t keylen;
	const char *str;	/* decoded string, raw number token (both in
				   the arena), or a container's raw text */
	size_t len;
	int first;		/* index of first child, -1 if none */
	int next;		/* index of next sibling, -1 if none */
	int nchild;
};

struct ev_jdoc {
	struct ev_jnode *n;	/* n[0] is the root */
	int count;
	const char *text;	/* borrowed */
	size_t textlen;
	char *arena;		/* owns decoded strings */
};

/*
 * Parse text[0..len) (any JSON value) into doc.  Returns 0, or -1 with
 * err->line/col (1-based; col counts bytes) and err->msg set ("out of
 * memory" with line/col 0).  ev_jdoc_free() releases it.
 */
int ev_jdoc_parse(struct ev_jdoc *doc, const char *text, size_t len,
    struct ev_err *err);
void ev_jdoc_free(struct ev_jdoc *doc);
/* 1-based line and column of byte offset off in doc's text. */
void ev_jdoc_locate(const struct ev_jdoc *doc, size_t off,
    unsigned long *line, unsigned long *col);
/*
 * Member of object node o named key (NUL-terminated), or -1.  When a name
 * repeats, the last member wins, as everywhere in evkit (evkit(7)).
 */
int ev_jdoc_member(const struct ev_jdoc *doc, int o, const char *key);


/*
 * Typed, located getters for configuration files (ASL Retry and Catch,
 * EventBridge rules and Targets).  Each looks up member key of object node
 * obj (the last of duplicates, like ev_jdoc_member()) and returns 1 with
 * the value stored, 0 when the member is absent and flags lack
 * EV_JGET_REQUIRED, or -1 with err->line/col at the offending value (at
 * the object for a missing member; err->file untouched) and err->msg:
 *   missing member 'Retry'
 *   'ErrorEquals' must be an array        (a string, a number, an object,
 *                                          true or false)
 *   'IntervalSeconds' must be a positive integer
 *                                          (a non-negative integer, an
 *                                          integer, an integer from 1 to 99)
 * A string is decoded (NUL-terminated in the document's arena; *len, when
 * not NULL, gets its length, which counts any embedded NUL).  An integer is
 * any number whose value is a whole number in [min, max] (2, 2.0, 2e0;
 * not 2.5, not beyond 2^53).  Node indexes feed ev_jdoc_child() and
 * ev_jdoc_next() to iterate, and the ev_jdoc_as_*() checks for elements.
 */
#define EV_JGET_REQUIRED 1

int ev_jdoc_get_str(const struct ev_jdoc *doc, int obj, const char *key,
    int flags, const char **s, size_t *len, struct ev_err *err);
int ev_jdoc_get_int(const struct ev_jdoc *doc, int obj, const char *key,
    int flags, int64_t min, int64_t max, int64_t *v, struct ev_err *err);
int ev_jdoc_get_num(const struct ev_jdoc *doc, int obj, const char *key,
    int flags, double *v, struct ev_err *err);
int ev_jdoc_get_bool(const struct ev_jdoc *doc, int obj, const char *key,
    int flags, int *v, struct ev_err *err);
int ev_jdoc_get_arr(const struct ev_jdoc *doc, int obj, const char *key,
    int flags, int *node, struct ev_err *err);
int ev_jdoc_get_obj(const struct ev_jdoc *doc, int obj, const char *key,
    int flags, int *node, struct ev_err *err);

/*
 * The same checks on a node itself (an array element), named what in the
 * message ("'Retry[2]' must be an object").  Return 0, or -1 with err.
 */
int ev_jdoc_as_str(const struct ev_jdoc *doc, int node, const char *what,
    const char **s, size_t *len, struct ev_err *err);
int ev_jdoc_as_int(const struct ev_jdoc *doc, int node, const char *what,
    int64_t min, int64_t max, int64_t *v, struct ev_err *err);
int ev_jdoc_as_type(const struct ev_jdoc *doc, int node, const char *what,
    enum ev_jtype type, struct ev_err *err);

/* First child (element or member) of node, or -1; then the next, or -1. */
int ev_jdoc_child(const struct ev_jdoc *doc, int node);
int ev_jdoc_next(const struct ev_jdoc *doc, int node);

/*
 * Reject members of object obj not named in known (NULL-terminated):
 * returns 0, or -1 with err at the first unknown member's name, "unknown
 * member 'Foo'".
 */
int ev_jdoc_known(const struct ev_jdoc *doc, int obj,
    const char *const *known, struct ev_err *err);

#endif
