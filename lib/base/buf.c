/*
 * buf.c - a growable byte buffer (struct ev_buf, base.h), and a whole
 * file read into one.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
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

int
ev_file_read(const char *path, char **text, size_t *len, struct ev_err *err)
{
	FILE *fp;
	struct stat st;
	char *p = NULL, *t;
	size_t n = 0, cap = 0, r;
	int is_stdin = path == NULL;

	if (is_stdin)
		fp = stdin;
	else if ((fp = fopen(path, "rb")) == NULL) {
		ev_err_set(err, "%s", strerror(errno));
		ev_err_errno(err, errno);
		return -1;
	}
	/* A regular file's size sizes the buffer: no copies as it grows. */
	if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size > 0 && (uintmax_t)st.st_size < SIZE_MAX / 4) {
		cap = (size_t)st.st_size + 1;
		if ((p = malloc(cap + 1)) == NULL)
			goto nomem;
		ev_advise_huge(p, cap + 1);
	}
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			if ((t = realloc(p, cap + 1)) == NULL)
				goto nomem;
			p = t;
		}
		if ((r = fread(p + n, 1, cap - n, fp)) == 0)
			break;
		n += r;
	}
	if (ferror(fp)) {
		ev_err_set(err, "%s", strerror(errno ? errno : EIO));
		ev_err_errno(err, errno ? errno : EIO);
		goto fail;
	}
	if (!is_stdin)
		fclose(fp);
	p[n] = '\0';
	*text = p;
	*len = n;
	return 0;
nomem:
	ev_err_set(err, "out of memory");
fail:
	if (!is_stdin)
		fclose(fp);
	free(p);
	return -1;
}
