/*
 * buf.c - a growable byte buffer (struct ev_buf, base.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

/*
 * Append s[0..n) to b, growing it.  Returns 0, or -1 when out of memory
 * (b unchanged).
 */
int
ev_buf_add(struct ev_buf *b, const void *s, size_t n)
{
	size_t cap;
	char *t;

	if (b->cap - b->len < n) {
		cap = b->cap ? b->cap : 256;
		while (cap - b->len < n) {
			if (cap > SIZE_MAX / 2)
				return -1;
			cap *= 2;
		}
		if ((t = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = t;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

/* Release what b holds and empty it. */
void
ev_buf_free(struct ev_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
