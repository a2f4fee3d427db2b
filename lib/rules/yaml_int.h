/*
 * yaml_int.h - YAML documents read as JSON text (library-internal).
 *
 * Only lib/rules/yaml.c includes <yaml.h>.  A YAML document (the first of a
 * stream) is converted to one line of JSON text that ev_jdoc_parse()
 * reads, with a table that maps offsets of that text back to the YAML
 * lines and columns the values came from, so that errors found in the JSON
 * are reported where the user wrote them.
 */
#ifndef EV_YAML_INT_H
#define EV_YAML_INT_H

#include <stddef.h>

#include "rules.h"

/* The start of a value or member name: offset in the JSON, place in YAML. */
struct ev_ymark {
	size_t off;
	unsigned long line, col;	/* 1-based; col counts characters */
};

struct ev_yjson {
	char *text;		/* JSON, one line, NUL-terminated */
	size_t len;
	struct ev_ymark *marks;	/* by increasing off */
	size_t nmarks;
};

/*
 * Convert the first YAML document of text[0..len) into y (release it with
 * ev_yjson_free()).  Returns 0, or -1 with err->msg and err->line/col set
 * ("invalid YAML: REASON" for a syntax error, "unsupported YAML: REASON"
 * for an alias or a mapping key that is not a scalar, "out of memory" with
 * line/col 0); err->file is left alone and y holds nothing.
 */
int ev_yaml_to_json(const char *text, size_t len, struct ev_yjson *y,
    struct ev_err *err);
void ev_yjson_free(struct ev_yjson *y);
/* YAML line and column of the value or name at (or before) offset off. */
void ev_yjson_locate(const struct ev_yjson *y, size_t off,
    unsigned long *line, unsigned long *col);

#endif
