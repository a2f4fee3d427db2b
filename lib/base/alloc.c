/*
 * alloc.c - allocation helpers, and evkit's one out-of-memory policy.
 *
 * A library function that can report an error reports running out of
 * memory as one: it returns -1 (or NULL) with err set to "out of memory".
 * The helpers here are the single exception, for the places that have no
 * error to return (growing an index, a hash list, a scratch array): they
 * print "PROG: out of memory" and exit 2 (EV_EXIT_ERROR), as jq and
 * sqlite3's shell do.  Nothing else in lib/ aborts or exits.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "base_int.h"

/* Print "PROG: out of memory" on standard error and exit 2. */
void
ev_oom(void)
{
	ev_out_capture(NULL);	/* a worker's message must not be buffered */
	ev_warnx("out of memory");
	exit(EV_EXIT_ERROR);
}

/* malloc(n) that never returns NULL. */
void *
ev_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		ev_oom();
	return p;
}

/* calloc(n, sz) that never returns NULL. */
void *
ev_xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (p == NULL)
		ev_oom();
	return p;
}

/* A NUL-terminated copy of s[0..n). */
char *
ev_xstrndup(const char *s, size_t n)
{
	char *p = ev_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/*
 * Make the array *pp (capacity *cap elements of sz bytes) hold at least n
 * elements, doubling; new space is zeroed.
 */
void
ev_grow(void *pp, size_t *cap, size_t n, size_t sz)
{
	void **p = pp;
	size_t ncap = *cap ? *cap : 8;
	void *q;

	if (n <= *cap)
		return;
	while (ncap < n)
		ncap *= 2;
	q = realloc(*p, ncap * sz);
	if (q == NULL)
		ev_oom();
	memset((char *)q + *cap * sz, 0, (ncap - *cap) * sz);
	*p = q;
	*cap = ncap;
}

#define HUGE_PAGE ((uintptr_t)2 << 20)

void
ev_advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
	uintptr_t a = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	uintptr_t e = ((uintptr_t)p + n) & ~(HUGE_PAGE - 1);

	if (p != NULL && n >= 2 * HUGE_PAGE && e > a)
		(void)madvise((void *)a, (size_t)(e - a), MADV_HUGEPAGE);
#else
	(void)p;
	(void)n;
#endif
}
