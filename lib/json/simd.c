/*
 * simd.c - the scanner's vector path (library-internal; see json_int.h).
 *
 * A structural pass in the spirit of simdjson's stage 1, for the subtrees
 * ev_scan() skips: 64 input bytes at a time become bitmaps of their classes
 * (digits, '0', '-', '.', ',', '[', ']'), and the grammar of an array of
 * numbers and arrays (coordinates, metrics) is checked on the bitmaps with
 * shifts, one carry bit per class from the block before, and an addition
 * that carries along digit runs (at most one '.' per number).  Brackets are
 * counted over the bitmaps.  The AVX-512 path has no compare per class:
 * one table lookup (VBMI) gives each byte its class, a second each pair of
 * neighbouring classes its flags.  A block holding any other byte (a
 * quote, a space, an exponent, '{'), breaking the grammar or nesting too
 * deep is not taken: the scalar scanner resumes at the last ',' of the
 * blocks taken and meets the block itself, so every diagnostic (message
 * and column) is the scalar scanner's.  Where the array the pass started
 * in closes, with every byte before valid, the scanner resumes at its ']'.
 *
 * The path is chosen once, at start: AVX-512 (BW and VBMI) or AVX2 when the
 * CPU has it, else SSE2 (every x86-64), the scalar scanner alone elsewhere;
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
 * The pass took block b at q whole, r arrays open before it: its last ','
 * is the resume point.
 */
static inline void
last_comma(struct pass *s, const struct cls *b, const uchar *q, int r)
{
	int pos = 63 - __builtin_clzll(b->c);
	uint64_t upto = pos == 63 ? ~(uint64_t)0 :
	    ((uint64_t)1 << (pos + 1)) - 1;

	s->at = q + pos;
	s->rat = r + __builtin_popcountll(b->o & upto) -
	    __builtin_popcountll(b->x & upto);
}

/*
 * Does a block with brackets o and x, r arrays open before it, stay inside
 * the first array and within room, bracket by bracket?  (When the counts
 * alone cannot tell: a ']' closing one array and a '[' opening the next
 * are most blocks of an array of arrays.)
 */
static inline int
depth_ok(uint64_t o, uint64_t x, int r, int room)
{
	uint64_t ev = o | x;
	int lo = r, hi = r;

	for (; ev != 0; ev &= ev - 1) {
		r += (o >> __builtin_ctzll(ev) & 1) ? 1 : -1;
		lo = r < lo ? r : lo;
		hi = r > hi ? r : hi;
	}
	return lo >= 1 && hi <= room;
}

/*
 * The block at q holds a byte that may not follow (stop, when not 0), or
 * its brackets may close the array the pass started in or nest too deep:
 * the bytes before the first stop are valid, so walk their brackets and
 * commas in order (*r the open arrays), up to one that closes the first
 * array or nests too deep.  Returns 0 when the whole block is taken, -1
 * when the pass ends in it (s->at and s->rat at the last ',' before, or
 * at the first array's ']').
 */
static inline int
walk(struct pass *s, const struct cls *b, uint64_t stop, const uchar *q,
    int *r)
{
	uint64_t ev, bit;

	ev = (b->o | b->x | b->c) & (stop != 0 ? (stop & -stop) - 1 :
	    ~(uint64_t)0);
	for (; ev != 0; ev &= ev - 1) {
		bit = ev & -ev;
		if (b->c & bit) {
			s->at = q + __builtin_ctzll(bit);
			s->rat = *r;
		} else if (b->o & bit) {
			if (*r >= s->room)
				return -1;
			(*r)++;
		} else if (--*r < 1) {
			/* The first array's ']': the scalar scanner resumes there. */
			s->at = q + __builtin_ctzll(bit);
			s->rat = 1;
			return -1;
		}
	}
	return stop != 0 ? -1 : 0;
}

/*
 * Check block b (at q) against the grammar and the depth limits and take
 * it into s.  Returns 0, or -1 (s->at and s->rat at the last valid ','
 * before it) when the block is not plain, not valid, or ends or nests the
 * array too far.
 */
static inline __attribute__((always_inline)) int
take(struct pass *s, const struct cls *b, const uchar *q)
{
	const struct cls *v = &s->pv;
	uint64_t pd, pm, pp, pc, po, px, pn, bad, ist, l0, sum, stop;
	unsigned long long t;
	unsigned char c1, c2;
	int r, no, nx;

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
	if (stop == 0 && ((r - nx >= 1 && r + no <= s->room) ||
		depth_ok(b->o, b->x, r, s->room))) {
		if (b->c != 0)
			last_comma(s, b, q, r);
		r += no - nx;
	} else if (walk(s, b, stop, q, &r) != 0) {
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

/*
 * AVX-512 VBMI: a block's bytes become class codes and the pairs of
 * neighbouring codes flags, by table lookups across the whole register
 * (vpermb, vpermi2b), instead of a compare and a mask per class.
 */
enum { K_OTHER, K_D, K_Z, K_M, K_P, K_C, K_O, K_X };	/* D: 1-9, Z: 0 */
#define F_STOP 0x01	/* not plain, or may not follow the byte before */
#define F_Z0 0x02	/* a '0' starting an integer part */
#define F_FR 0x04	/* a fraction's first digit */
#define F_DG 0x08	/* a digit */
#define F_DOT 0x10
#define F_C 0x20
#define F_O 0x40
#define F_X 0x80

/* The classes that may follow each class (OTHER: none is looked at). */
static const uchar k_next[8] = {
	[K_OTHER] = 0xff,
	[K_D] = 1 << K_D | 1 << K_Z | 1 << K_P | 1 << K_C | 1 << K_X,
	[K_Z] = 1 << K_D | 1 << K_Z | 1 << K_P | 1 << K_C | 1 << K_X,
	[K_M] = 1 << K_D | 1 << K_Z,
	[K_P] = 1 << K_D | 1 << K_Z,
	[K_C] = 1 << K_D | 1 << K_Z | 1 << K_M | 1 << K_O,
	[K_O] = 1 << K_D | 1 << K_Z | 1 << K_M | 1 << K_O | 1 << K_X,
	[K_X] = 1 << K_C | 1 << K_X,
};

/* Tables the VBMI pass loads: built once, at start. */
static struct {
	uchar cls[128];		/* byte -> class */
	uchar cls8[128];	/* byte -> class * 8 */
	uchar pair[64];		/* class before * 8 + class -> F_* */
	uchar idx[64];		/* the byte before each: 63, 64, ... 126 */
} vt;

static void
vbmi_tables(void)
{
	int b, k, c, f;

	for (b = 0; b < 128; b++) {
		k = b >= '1' && b <= '9' ? K_D : b == '0' ? K_Z :
		    b == '-' ? K_M : b == '.' ? K_P : b == ',' ? K_C :
		    b == '[' ? K_O : b == ']' ? K_X : K_OTHER;
		vt.cls[b] = (uchar)k;
		vt.cls8[b] = (uchar)(k * 8);
	}
	for (k = 0; k < 8; k++) {
		for (c = 0; c < 8; c++) {
			f = 0;
			if (c == K_OTHER || !(k_next[k] >> c & 1))
				f |= F_STOP;
			if (c == K_Z && k != K_D && k != K_Z && k != K_P)
				f |= F_Z0;
			if (k == K_P && (c == K_D || c == K_Z))
				f |= F_FR;
			if (c == K_D || c == K_Z)
				f |= F_DG;
			f |= c == K_P ? F_DOT : c == K_C ? F_C : c == K_O ?
			    F_O : c == K_X ? F_X : 0;
			vt.pair[k * 8 + c] = (uchar)f;
		}
	}
	for (b = 0; b < 64; b++)
		vt.idx[b] = (uchar)(63 + b);
}

#define VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))
#define TESTF(f) ((uint64_t)_mm512_test_epi8_mask(fl, _mm512_set1_epi8( \
	(char)(f))))

static VBMI const uchar *
arr_avx512(const uchar *p, const uchar *end, int room, int *rdepth)
{
	const __m512i clo = _mm512_loadu_si512(vt.cls),
		      chi = _mm512_loadu_si512(vt.cls + 64),
		      c8lo = _mm512_loadu_si512(vt.cls8),
		      c8hi = _mm512_loadu_si512(vt.cls8 + 64),
		      ptab = _mm512_loadu_si512(vt.pair),
		      idx = _mm512_loadu_si512(vt.idx);
	__m512i v, k, k8, fl, prev8 = _mm512_set1_epi8(K_O * 8);
	__mmask64 plain;
	struct pass s;
	struct cls b, lb;	/* lb: the last block with a ',' taken */
	const uchar *q, *lq = NULL;
	uint64_t stop, z0, dg, l0c = 0;
	unsigned long long sum;
	unsigned char c1, c2, fc = 0;
	uchar tail[64];
	int r = 1, lr = 0, no, nx;

	pass_init(&s, room);
	memset(&lb, 0, sizeof(lb));
	for (q = p; q < end; q += 64) {
		if (end - q >= 64) {
			v = _mm512_loadu_si512((const void *)q);
		} else {
			/* The last bytes, NULs (not plain) after them. */
			memset(tail, 0, sizeof(tail));
			memcpy(tail, q, (size_t)(end - q));
			v = _mm512_loadu_si512((const void *)tail);
		}
		plain = ~_mm512_movepi8_mask(v);
		k = _mm512_maskz_permutex2var_epi8(plain, clo, v, chi);
		k8 = _mm512_maskz_permutex2var_epi8(plain, c8lo, v, c8hi);
		fl = _mm512_permutexvar_epi8(_mm512_or_si512(k,
		    _mm512_permutex2var_epi8(prev8, idx, k8)), ptab);
		prev8 = k8;
		stop = TESTF(F_STOP);
		b.o = TESTF(F_O);
		b.x = TESTF(F_X);
		b.c = TESTF(F_C);
		/* No leading zero: "0" starting an integer part ends it. */
		z0 = TESTF(F_Z0);
		dg = TESTF(F_DG);
		stop |= (z0 << 1 | l0c) & dg;
		l0c = z0 >> 63;
		/* One '.' per number, as in take(). */
		c1 = (unsigned char)__builtin_uaddll_overflow(TESTF(F_FR), dg,
		    &sum);
		c2 = (unsigned char)__builtin_uaddll_overflow(sum, fc, &sum);
		fc = c1 | c2;
		stop |= sum & ~dg & TESTF(F_DOT);
		no = __builtin_popcountll(b.o);
		nx = __builtin_popcountll(b.x);
		if (stop == 0 && ((r - nx >= 1 && r + no <= room) ||
			depth_ok(b.o, b.x, r, room))) {
			/* Where its last ',' is, is worked out at the end. */
			if (b.c != 0) {
				lq = q;
				lb = b;
				lr = r;
			}
			r += no - nx;
			continue;
		}
		if (lq != NULL)
			last_comma(&s, &lb, lq, lr);
		lq = NULL;
		if (walk(&s, &b, stop, q, &r) != 0)
			return pass_end(&s, rdepth);
	}
	if (lq != NULL)
		last_comma(&s, &lb, lq, lr);
	return pass_end(&s, rdepth);
}
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
	vbmi_tables();
	simd_best = __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vbmi") ? EV_SIMD_AVX512 :
	    __builtin_cpu_supports("avx2") ? EV_SIMD_AVX2 : EV_SIMD_SSE2;
#endif
	path = simd_best;
	for (i = 0; e != NULL && i <= EV_SIMD_MAX; i++)
		if (strcmp(e, simd_names[i]) == 0)
			path = i;
	ev_simd_set(path);
}
