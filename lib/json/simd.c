/*
 * simd.c - the scanner's vector path (library-internal; see json_int.h).
 *
 * A structural pass in the spirit of simdjson's stage 1, for the subtrees
 * ev_scan() skips: 64 input bytes at a time become bitmaps of their classes
 * (digits, '0', '-', '.', ',', '[', ']'), and the grammar of an array of
 * numbers and arrays (coordinates, metrics) is checked on the bitmaps with
 * shifts, one carry bit per class from the block before, and an addition
 * that carries along digit runs (at most one '.' per number).  Brackets are
 * counted over the bitmaps.  A block holding any other byte (a quote, a
 * space, an exponent, '{'), breaking the grammar, closing the array the
 * pass started in or nesting too deep is not taken: the scalar scanner
 * resumes at the last ',' of the blocks taken and meets the block itself,
 * so every diagnostic (message and column) is the scalar scanner's.
 *
 * The path is chosen once, at start: AVX-512BW or AVX2 when the CPU has
 * it, else SSE2 (every x86-64), the scalar scanner alone elsewhere;
 * EVKIT_SIMD=scalar, sse2, avx2 or avx512 asks for one (capped at what the
 * CPU has).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "json_int.h"

typedef unsigned char uchar;

/* One block's classes, bit i for byte i. */
struct cls {
	uint64_t d, z, m, p, c, o, x;
};

/* The pass so far: the block before, carries, depth, resume point. */
struct pass {
	struct cls pv;		/* the previous block's classes */
	uint64_t l0;		/* previous block's leading zeros */
	unsigned char fc;	/* a fraction run reaches into this block */
	int r;			/* open arrays, the starting one included */
	int room;		/* r may not exceed this */
	const uchar *at;	/* the last ',' taken, or NULL */
	int rat;		/* r there */
};

/*
 * Check block b (at q) against the grammar and the depth limits and take
 * it into s.  Returns 0, or -1 (s untouched) when the block is not plain,
 * not valid, or ends or nests the array too far.
 */
static inline __attribute__((always_inline)) int
take(struct pass *s, const struct cls *b, const uchar *q)
{
	const struct cls *v = &s->pv;
	uint64_t pd, pm, pp, pc, po, px, pn, bad, ist, l0, sum, above, stop;
	unsigned long long t;
	unsigned char c1, c2;
	int r, no, nx, pos;

	pd = b->d << 1 | v->d >> 63;
	pm = b->m << 1 | v->m >> 63;
	pp = b->p << 1 | v->p >> 63;
	pc = b->c << 1 | v->c >> 63;
	po = b->o << 1 | v->o >> 63;
	px = b->x << 1 | v->x >> 63;
	pn = pd | pm | pp;
	bad = (po & (b->p | b->c)) |		/* '[' then a value or ']' */
	    (pc & ~(b->d | b->m | b->o)) |	/* ',' then a value */
	    (px & ~(b->c | b->x)) |		/* ']' then ',' or ']' */
	    (pn & b->o) |			/* no '[' after a number */
	    (pn & b->m) |			/* '-' starts a number */
	    (pm & ~b->d) | (pp & ~b->d);	/* '-' and '.' before a digit */
	/* (So a '.' follows a digit: what else may come before is checked.) */
	/* No leading zero: "0" starting an integer part ends it. */
	ist = b->d & ~pd & ~pp;
	l0 = ist & b->z;
	bad |= (l0 << 1 | s->l0 >> 63) & b->d;
	/*
	 * One '.' per number: carry from the first digit of each fraction
	 * along its digit run; the byte after the run may not be a '.'.
	 */
	c1 = (unsigned char)__builtin_uaddll_overflow(pp, b->d, &t);
	c2 = (unsigned char)__builtin_uaddll_overflow(t, s->fc, &t);
	sum = t;
	bad |= sum & ~b->d & b->p;
	stop = ~(b->d | b->m | b->p | b->c | b->o | b->x) | bad;
	/* Depth: never back to the array the pass started in, nor too deep. */
	r = s->r;
	no = __builtin_popcountll(b->o);
	nx = __builtin_popcountll(b->x);
	if (stop == 0 && r - nx >= 1 && r + no <= s->room) {
		r += no - nx;
		if (b->c != 0) {
			pos = 63 - __builtin_clzll(b->c);
			above = pos == 63 ? 0 : ~(uint64_t)0 << (pos + 1);
			s->at = q + pos;
			s->rat = r - __builtin_popcountll(b->o & above) +
			    __builtin_popcountll(b->x & above);
		}
	} else {
		/*
		 * The bytes before the first that may not follow (stop) are
		 * valid: walk their brackets and commas in order, up to one
		 * that closes the first array or nests too deep.
		 */
		uint64_t ev, bit;

		ev = (b->o | b->x | b->c) & (stop != 0 ? (stop & -stop) - 1 :
		    ~(uint64_t)0);
		for (; ev != 0; ev &= ev - 1) {
			bit = ev & -ev;
			if (b->c & bit) {
				s->at = q + __builtin_ctzll(bit);
				s->rat = r;
			} else if (b->o & bit) {
				if (r >= s->room)
					return -1;
				r++;
			} else if (--r < 1) {
				return -1;
			}
		}
		if (stop != 0)
			return -1;
	}
	s->r = r;
	s->pv = *b;
	s->l0 = l0;
	s->fc = c1 | c2;
	return 0;
}

static inline void
pass_init(struct pass *s, int room)
{
	memset(s, 0, sizeof(*s));
	s->pv.o = (uint64_t)1 << 63;	/* the byte before is the '[' */
	s->r = 1;
	s->room = room;
}

static inline const uchar *
pass_end(const struct pass *s, int *rdepth)
{
	if (s->at != NULL)
		*rdepth = s->rat;
	return s->at;
}

#if defined(__x86_64__)
/* Bits of the 16 bytes at p: digits, and bytes equal to each class. */
#define CMP16(v, ch) \
	((uint64_t)(uint32_t)_mm_movemask_epi8( \
	    _mm_cmpeq_epi8((v), _mm_set1_epi8(ch))))

static inline void
classify_sse2(const uchar *p, struct cls *b)
{
	const __m128i lo = _mm_set1_epi8('0' - 1), hi = _mm_set1_epi8('9' + 1);
	int i;

	memset(b, 0, sizeof(*b));
	for (i = 0; i < 4; i++) {
		__m128i v = _mm_loadu_si128(
		    (const __m128i *)(const void *)(p + 16 * i));
		__m128i dg = _mm_and_si128(
		    _mm_cmpgt_epi8(v, lo), _mm_cmplt_epi8(v, hi));

		b->d |= (uint64_t)(uint32_t)_mm_movemask_epi8(dg) << 16 * i;
		b->z |= CMP16(v, '0') << 16 * i;
		b->m |= CMP16(v, '-') << 16 * i;
		b->p |= CMP16(v, '.') << 16 * i;
		b->c |= CMP16(v, ',') << 16 * i;
		b->o |= CMP16(v, '[') << 16 * i;
		b->x |= CMP16(v, ']') << 16 * i;
	}
}

/*
 * The pass over p[0..end) with one classifier: whole blocks, then the
 * line's last bytes with NULs (not plain) after them.  A macro, so that
 * each path's loop is compiled for its instruction set with its
 * classifier inlined.
 */
#define ARR_PASS(attr, name, classify)					\
attr static const uchar *						\
name(const uchar *p, const uchar *end, int room, int *rdepth)		\
{									\
	struct pass s;							\
	struct cls b;							\
	uchar t[64];							\
									\
	pass_init(&s, room);						\
	for (; end - p >= 64; p += 64) {				\
		classify(p, &b);					\
		if (take(&s, &b, p) != 0)				\
			return pass_end(&s, rdepth);			\
	}								\
	if (p < end) {							\
		memset(t, 0, sizeof(t));				\
		memcpy(t, p, (size_t)(end - p));			\
		classify(t, &b);					\
		take(&s, &b, p);					\
	}								\
	return pass_end(&s, rdepth);					\
}

ARR_PASS(, arr_sse2, classify_sse2)

#define CMP32(v, ch) \
	((uint64_t)(uint32_t)_mm256_movemask_epi8( \
	    _mm256_cmpeq_epi8((v), _mm256_set1_epi8(ch))))

__attribute__((target("avx2"))) static inline void
classify_avx2(const uchar *p, struct cls *b)
{
	const __m256i lo = _mm256_set1_epi8('0' - 1),
		      hi = _mm256_set1_epi8('9' + 1);
	__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)p);
	__m256i c = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
	__m256i da = _mm256_and_si256(
	    _mm256_cmpgt_epi8(a, lo), _mm256_cmpgt_epi8(hi, a));
	__m256i dc = _mm256_and_si256(
	    _mm256_cmpgt_epi8(c, lo), _mm256_cmpgt_epi8(hi, c));

	b->d = (uint64_t)(uint32_t)_mm256_movemask_epi8(da) |
	    (uint64_t)(uint32_t)_mm256_movemask_epi8(dc) << 32;
	b->z = CMP32(a, '0') | CMP32(c, '0') << 32;
	b->m = CMP32(a, '-') | CMP32(c, '-') << 32;
	b->p = CMP32(a, '.') | CMP32(c, '.') << 32;
	b->c = CMP32(a, ',') | CMP32(c, ',') << 32;
	b->o = CMP32(a, '[') | CMP32(c, '[') << 32;
	b->x = CMP32(a, ']') | CMP32(c, ']') << 32;
}

ARR_PASS(__attribute__((target("avx2"))), arr_avx2, classify_avx2)

/* AVX-512BW: a block in one register, each class a mask at once. */
#define CMP64(v, ch) \
	((uint64_t)_mm512_cmpeq_epi8_mask((v), _mm512_set1_epi8(ch)))

__attribute__((target("avx512f,avx512bw"))) static inline void
classify_avx512(const uchar *p, struct cls *b)
{
	__m512i v = _mm512_loadu_si512((const void *)p);

	b->d = (uint64_t)_mm512_cmplt_epu8_mask(
	    _mm512_sub_epi8(v, _mm512_set1_epi8('0')), _mm512_set1_epi8(10));
	b->z = CMP64(v, '0');
	b->m = CMP64(v, '-');
	b->p = CMP64(v, '.');
	b->c = CMP64(v, ',');
	b->o = CMP64(v, '[');
	b->x = CMP64(v, ']');
}

ARR_PASS(__attribute__((target("avx512f,avx512bw"))), arr_avx512,
    classify_avx512)
#endif

ev_simd_arr_fn ev_simd_arr;
static int simd_path = EV_SIMD_SCALAR;
static int simd_best = EV_SIMD_SCALAR;

static const char *const simd_names[] = { "scalar", "sse2", "avx2",
	"avx512" };

const char *
ev_simd_name(int path)
{
	return path >= 0 && path <= EV_SIMD_MAX ? simd_names[path] : "?";
}

int
ev_simd_path(void)
{
	return simd_path;
}

/*
 * Use path (EV_SIMD_*), or the best the CPU has when it has not that one.
 * Not thread-safe: for the start of a program and for tests.  Returns the
 * path now in use.
 */
int
ev_simd_set(int path)
{
	if (path > simd_best)
		path = simd_best;
	if (path < EV_SIMD_SCALAR)
		path = EV_SIMD_SCALAR;
	simd_path = path;
#if defined(__x86_64__)
	ev_simd_arr = path == EV_SIMD_AVX512 ? arr_avx512 :
	    path == EV_SIMD_AVX2 ? arr_avx2 :
	    path == EV_SIMD_SSE2 ? arr_sse2 : NULL;
#else
	ev_simd_arr = NULL;
#endif
	return simd_path;
}

/* Pick the path before main(): the CPU's best, or EVKIT_SIMD's. */
__attribute__((constructor)) static void
simd_init(void)
{
	const char *e = getenv("EVKIT_SIMD");
	int path, i;

#if defined(__x86_64__)
	__builtin_cpu_init();
	simd_best = __builtin_cpu_supports("avx512bw") ? EV_SIMD_AVX512 :
	    __builtin_cpu_supports("avx2") ? EV_SIMD_AVX2 : EV_SIMD_SSE2;
#endif
	path = simd_best;
	for (i = 0; e != NULL && i <= EV_SIMD_MAX; i++)
		if (strcmp(e, simd_names[i]) == 0)
			path = i;
	ev_simd_set(path);
}
