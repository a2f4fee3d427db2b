/*
 * pattern_int.h - compiled EventBridge patterns (library-internal).
 *
 * A pattern compiles, as event-ruler's JsonRuleCompiler does it, into one
 * or more sub-rules ($or expands into its branches, each carrying the
 * fields of its siblings).  A sub-rule is a conjunction of fields; a field
 * is a path and a disjunction of conditions on the values found there.
 * Fields get global ids; the matcher (match.c) indexes conditions by path
 * and value so that the cost of an event does not grow with the number of
 * rules.
 */
#ifndef EV_PATTERN_INT_H
#define EV_PATTERN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "rules.h"
#include "base/base_int.h"
#include "json/json_int.h"

enum ev_op {
	EV_OP_EXACT,		/* key: string, number, text number, literal */
	EV_OP_PREFIX,
	EV_OP_SUFFIX,
	EV_OP_EQ_IC,		/* equals-ignore-case */
	EV_OP_PREFIX_IC,
	EV_OP_SUFFIX_IC,
	EV_OP_WILDCARD,
	EV_OP_NUMERIC,		/* range; "=" is a closed range lo == hi */
	EV_OP_CIDR,
	EV_OP_EXISTS,		/* exists: true */
	EV_OP_ABSENT,		/* exists: false */
	EV_OP_ANYBUT,		/* anything-but strings or numbers */
	EV_OP_ANYBUT_PREFIX,
	EV_OP_ANYBUT_SUFFIX,
	EV_OP_ANYBUT_IC,
	EV_OP_ANYBUT_WILDCARD
};

/* Kinds of exact-match key (the first byte of a key). */
enum ev_keykind {
	EV_K_STRING = 's',	/* decoded string */
	EV_K_NUMBER = 'n',	/* 8 bytes: a double that survives a round trip */
	EV_K_TEXT = 't',	/* raw text of a number that does not */
	EV_K_TRUE = 'T',
	EV_K_FALSE = 'F',
	EV_K_NULL = 'Z'
};

/* A string with its length; owned by whatever holds it. */
struct ev_str {
	char *p;
	size_t n;
};

/*
 * A condition: 32 bytes, the operands of each operator in one union (the
 * strings, numbers and address ranges live in the rule set's arena).
 */
struct ev_cond {
	unsigned char op;	/* enum ev_op */
	unsigned char keykind;	/* EXACT: enum ev_keykind */
	unsigned char lo_open, hi_open;	/* NUMERIC: the bound is open */
	unsigned char family;	/* CIDR: 4 or 6 */
	unsigned char anybut_numbers;	/* ANYBUT: the set holds numbers */
	/*
	 * CIDR: the rule has no numeric condition (numeric, a number that
	 * compares, anything-but numbers) on this path, so event-ruler also
	 * walks a number's text through the block (see cond.c).
	 */
	unsigned char num_text;
	/* EXACT string/text: one key; PREFIX/SUFFIX/WILDCARD: one string;
	 * EQ_IC and PREFIX_IC/SUFFIX_IC: the case-folded string (hash key)
	 * and the string as written (the test); ANYBUT_*: a set of strings
	 * (ANYBUT: or of numbers) */
	uint32_t nstrs, nnums;
	union {
		struct {
			struct ev_str *strs;
			double *nums;
		};
		double num;	/* EXACT number */
		struct {	/* NUMERIC: lo..hi */
			double lo, hi;
		};
		struct {	/* CIDR: inclusive ranges of 16 bytes each */
			uint8_t *ip_lo, *ip_hi;
		};
	};
};

struct ev_field {
	struct ev_cond *conds;
	int path_id;		/* id in the rule set's path set */
	uint32_t nconds;
	int subrule;		/* global sub-rule id */
	unsigned char absent_ok;	/* holds an exists:false condition */
	unsigned char anchor;	/* indexed: its hits trigger its sub-rule */
};

struct ev_subrule {
	int rule;		/* index of the rule it belongs to */
	int first_field;	/* global field ids first_field .. + nfields */
	int nfields;
	int npositive;		/* fields that need a value (not absent_ok) */
	int anchor;		/* the field whose hits trigger it, or -1 */
};

/* Satisfy-check of one condition against one scalar value (the slow,
 * general path used for the conditions that are not hashed). */
struct ev_val {
	enum ev_jtype type;
	const char *s;		/* decoded string, or raw number text */
	size_t n;
	int num_ok;		/* number survives a round trip */
	double num;
};

int ev_cond_test(const struct ev_cond *c, const struct ev_val *v);

/*
 * Case-fold UTF-8 s[0..n) into out (each code point c becomes the lower
 * case of its upper case, both as Java maps them, less any combining
 * diacritical mark; a character beyond the BMP becomes "??"), which must
 * hold 2*n+4 bytes; returns the folded length.  Strings that match
 * ignoring case fold alike, so the fold finds candidates; ev_ic_match()
 * decides.
 */
size_t ev_casefold(const char *s, size_t n, char *out);
/* Prepare the case mappings (once, before threads start). */
void ev_case_init(void);

/*
 * event-ruler's equals-ignore-case: for each character c of the pattern, in
 * order, s must hold Java's lower case or upper case of c (either may be
 * several characters: "ß" matches "SS"); a character beyond the BMP is
 * two UTF-16 chars, each of which Java turns into "?".  mode 0 compares
 * whole strings, 1 a prefix of s, 2 a suffix of s.
 */
int ev_ic_match(const char *pat, size_t np, const char *s, size_t n,
    int mode);

/*
 * Does code point c have distinct lower and upper cases, as Java's
 * String.toLowerCase/toUpperCase see them? (cond.c)
 */
int ev_cp_has_case(uint32_t c);

/* A character whose Java case mapping is longer than one character. */
struct ev_special_case {
	uint32_t cp;
	const char *lo, *up;	/* UTF-8 */
};
/* Its entry, or NULL for a character that maps to one character. */
const struct ev_special_case *ev_special_case(uint32_t c);

/*
 * event-ruler's complexity score (MachineComplexityEvaluator) of the
 * wildcards in the sub-rules of one rule: fields f[0..n), grouped by their
 * subrule member, each sub-rule's fields in path order.  Scores above cap
 * are reported as cap.  EventBridge refuses a rule scoring above
 * EV_MAX_COMPLEXITY.  (complexity.c)
 */
#define EV_MAX_COMPLEXITY 10
struct ev_cx_field {
	const char *path;	/* dotted, NUL-terminated */
	const struct ev_cond *conds;
	size_t nconds;
	int subrule;
};
int ev_wildcard_complexity(const struct ev_cx_field *f, size_t n, int cap);

/*
 * Parse an IP address literal as event-ruler does: text shaped like IPv4
 * (four dot-separated decimal runs) or IPv6 (hex digits and colons) is
 * parsed; returns 4 or 6 (address in out), 0 when the text does not have
 * either shape, -1 when it has the shape but is not a valid address.
 */
int ev_ip_parse(const char *s, size_t n, uint8_t out[16]);

/*
 * Wildcard match: pattern pat (with '*' runs and escapes \* \\ already
 * validated) against s.
 */
int ev_wildcard_match(const char *pat, size_t np, const char *s, size_t n);

/*
 * ev_rules_add() for a pattern already parsed: the object at node root of
 * doc (see pattern.c).  Errors are located in doc's text; *erroff (when
 * not NULL) gets the byte offset of the fault there.
 */
int ev_rules_add_node(struct ev_rules *rs, const char *name,
    const struct ev_jdoc *doc, int root, size_t *erroff, struct ev_err *err);

/* ------------------------------------------------------------ rule sets */

/* Hash table entry: an exact/prefix/suffix/ignore-case key of one path
 * (24 bytes: what matching reads). */
struct ev_hent {
	uint64_t hash;
	uint32_t koff, klen;	/* key bytes in keys arena */
	uint32_t loff, ln;	/* field ids in flist (after finish) */
};

/* The field list of a hash entry while the index is built. */
struct ev_hbuild {
	int one;		/* the field id when tn == 1 (or, when only
				 * counting, the last one) */
	int *tmp;		/* the field ids when tn > 1 */
	uint32_t tn, tcap;
};

/* A hash slot: 8 bytes, so that probing stays in cache. */
struct ev_slot {
	uint32_t tag;		/* the high half of the key's hash */
	uint32_t ent;		/* index in ht + 1; 0: empty */
};

/* A condition that is tested value by value (not hashed). */
struct ev_lcond {
	const struct ev_cond *c;
	int field;
};

/* A numeric range in a path's sorted range lists. */
struct ev_nrange {
	double lo, hi;
	int lo_open, hi_open;
	int field;
};

/* Per-path index. */
struct ev_pidx {
	/* numeric ranges with a lower bound, by lo; the others, by hi */
	struct ev_nrange *bylo, *byhi;
	size_t nbylo, capbylo, nbyhi, capbyhi;
	struct ev_lcond *lin;	/* linear conditions */
	size_t nlin, caplin;
	int *exists;		/* fields with exists:true */
	size_t nexists, capexists;
	/* distinct key lengths of the prefix, suffix, prefix-ic and
	 * suffix-ic keys on this path */
	size_t *lens[4];
	size_t nlens[4], caplens[4];
	int has_eq_ic;
	int nhashed;		/* conditions in the hash table */
};

/*
 * The rule set's arena: blocks that hold names, texts, paths, conditions
 * and their operands, freed with the rule set.  A rule that fails to
 * compile gives back what it took (pattern.c).
 */
struct strblock {
	struct strblock *next;
	size_t size, used;
	char mem[];		/* 8-byte aligned (after three words) */
};

struct ev_rule {
	char *name;
	char *text;
	size_t textlen;
	int first_sub, nsub;
};

struct ev_rules {
	struct ev_rule *rules;
	size_t nrules, caprules;
	struct ev_subrule *subs;
	size_t nsubs, capsubs;
	struct ev_field *fields;
	size_t nfields, capfields;
	struct ev_pathset *ps;
	struct ev_pidx *pidx;	/* by path id */
	size_t npidx;
	/* hash of keys */
	struct ev_hent *ht;	/* the entries, dense */
	size_t htn, htcapents;
	struct ev_hbuild *hb;	/* building: beside ht */
	size_t caphb;
	struct ev_slot *slots;	/* open addressing over ht */
	size_t htcap;
	char *keys;
	size_t nkeys, capkeys;
	int *flist;
	size_t nflist;
	int *always;		/* sub-rules to check on every event */
	size_t nalways;
	struct strblock *strs;	/* the arena */
	int finished;
	int counting;		/* indexing pass that only counts fields */
	int last_complexity;	/* wildcard score of the last rule added */
};

/* Kinds of length list in a path's index (ev_pidx.lens). */
enum { L_PREFIX, L_SUFFIX, L_PREFIX_IC, L_SUFFIX_IC };

/* The index's hashing (index.c), shared with the matcher. */
uint64_t ev_hash_bytes(const void *p, size_t n);
/* Write the key (path, kind, payload) into buf; returns its length. */
size_t ev_make_key(char *buf, int path, int kind, const void *payload,
    size_t n);
/* The entry of key[0..n) with hash h, or NULL. */
struct ev_hent *ev_ht_find(const struct ev_rules *rs, const char *key,
    size_t n, uint64_t h);

/* ev_grow() that leaves the new space as malloc gives it (pattern.c). */
void ev_grow_raw(void *pp, size_t *cap, size_t n, size_t sz);

/* Build the matching indexes (index.c); called by ev_rules_finish(). */
int ev_rules_index(struct ev_rules *rs, struct ev_err *err);
void ev_rules_index_free(struct ev_rules *rs);

#endif
