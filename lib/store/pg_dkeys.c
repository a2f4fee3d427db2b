/*
 * pg_dkeys.c - evdedupe's keys on PostgreSQL (struct ev_dkeys_ops): one
 * table, each decision one INSERT ... ON CONFLICT DO UPDATE ... WHERE that
 * returns a row when the event passes.  A key another process decides at
 * the same moment waits on its row until that transaction ends, then is
 * decided against what it committed: every key passes once.  The table
 * is documented in evdedupe(1), POSTGRESQL.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

#define PG_DKEYS_VERSION 1

static const char ddl[] =
    "CREATE TABLE @keys ("
    " h int8 PRIMARY KEY,"
    " h2 int8 NOT NULL,"
    " seen int8 NOT NULL,"
    " claimed int8,"
    " v int8,"
    " at text);";

#define P(...) (const char *[]){ __VA_ARGS__ }

/* The key's columns of the statements below: $1 h, $2 h2. */
#define SAME "k.h2 = excluded.h2"
/* The row counts at NOW with $4 ttl; a key's own statement has now in $3. */
#define LIVE_AT(now) "(" SAME " AND NOT ($4::int8 > 0 AND k.seen <= " now \
    " - $4)) "
#define LIVE LIVE_AT("$3::int8")
/*
 * The upserts' conflict clauses, each given when its row counts: a check
 * (with --validate, a new key keeps the value), a claim.
 */
#define CHECK_ON(live) "ON CONFLICT (h) DO UPDATE SET h2 = excluded.h2, " \
    "seen = excluded.seen, claimed = NULL, v = CASE WHEN " SAME " THEN " \
    "k.v END, at = CASE WHEN " SAME " THEN k.at END WHERE NOT " live
#define CHECKV_ON(live) "ON CONFLICT (h) DO UPDATE SET h2 = excluded.h2, " \
    "seen = excluded.seen, claimed = NULL, v = excluded.v, at = " \
    "excluded.at WHERE NOT " live
#define CLAIM_ON(live, now) "ON CONFLICT (h) DO UPDATE SET h2 = " \
    "excluded.h2, seen = excluded.seen, claimed = excluded.claimed, v = " \
    "CASE WHEN " SAME " THEN k.v END, at = CASE WHEN " SAME " THEN k.at " \
    "END WHERE NOT (" live "AND NOT (k.claimed IS NOT NULL AND " \
    "k.claimed <= " now ")) "

static int
pd_open(struct ev_db *db, struct ev_err *err)
{
	int v;

	if (ev_pg_version(db, "evdedupe", &v, err) < 0)
		return -1;
	if (v == PG_DKEYS_VERSION)
		return 0;
	if (v > PG_DKEYS_VERSION) {
		ev_err_set(err, "%s: evdedupe tables are version %d; this "
		    "evdedupe reads version %d", db->name, v, PG_DKEYS_VERSION);
		return -1;
	}
	return ev_db_schema(db, "evdedupe", PG_DKEYS_VERSION, ddl, err);
}

/* Run a deciding statement: 0 when it returned a row (pass), else 1. */
static int
decide(struct ev_db *db, const char *sql, int n, const char *const *p,
    struct ev_err *err)
{
	PGresult *r = ev_pg_q(db, sql, n, p, err);
	int rows;

	if (r == NULL)
		return -1;
	rows = PQntuples(r);
	PQclear(r);
	return rows > 0 ? 0 : 1;
}

static int
pd_check(struct ev_db *db, const struct ev_key *k, int64_t now, int64_t ttl,
    struct ev_err *err)
{
	char h[24], h2[24], t[24], l[24];

	return decide(db, "INSERT INTO @keys AS k (h, h2, seen) VALUES ($1, "
	    "$2, $3) " CHECK_ON(LIVE) "RETURNING 1", 4, P(ev_pg_i64(h,
	    (int64_t)k->hi), ev_pg_i64(h2, (int64_t)k->lo), ev_pg_i64(t,
	    ev_pg_now(db, now)), ev_pg_i64(l, ttl)), err);
}

static int
pd_checkv(struct ev_db *db, const struct ev_key *k, int64_t now, int64_t ttl,
    uint64_t v, const char *at, char *first, size_t size, struct ev_err *err)
{
	char h[24], h2[24], t[24], l[24], vs[24];
	PGresult *r;
	int d, ret = 1;

	ev_pg_i64(h, (int64_t)k->hi);
	d = decide(db, "INSERT INTO @keys AS k (h, h2, seen, v, at) VALUES "
	    "($1, $2, $3, $5, $6) " CHECKV_ON(LIVE) "RETURNING 1", 6, P(h,
	    ev_pg_i64(h2, (int64_t)k->lo), ev_pg_i64(t, ev_pg_now(db, now)),
	    ev_pg_i64(l, ttl), ev_pg_i64(vs, (int64_t)v), at), err);
	if (d != 1)
		return d;
	/* A repeat: a conflict when its kept value differs. */
	r = ev_pg_q(db, "SELECT v, at FROM @keys WHERE h = $1", 1, P(h), err);
	if (r == NULL)
		return -1;
	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) &&
	    (uint64_t)ev_pg_getint(r, 0, 0) != v) {
		snprintf(first, size, "%s", PQgetisnull(r, 0, 1) ||
		    *PQgetvalue(r, 0, 1) == '\0' ? "?" : PQgetvalue(r, 0, 1));
		ret = 2;
	}
	PQclear(r);
	return ret;
}

static int
pd_claim(struct ev_db *db, const struct ev_key *k, int64_t now, int64_t ttl,
    int64_t lease, struct ev_err *err)
{
	char h[24], h2[24], t[24], l[24], c[24];

	now = ev_pg_now(db, now);
	return decide(db, "INSERT INTO @keys AS k (h, h2, seen, claimed) "
	    "VALUES ($1, $2, $3, $5) " CLAIM_ON(LIVE, "$3") "RETURNING 1", 5,
	    P(ev_pg_i64(h, (int64_t)k->hi), ev_pg_i64(h2, (int64_t)k->lo),
	    ev_pg_i64(t, now), ev_pg_i64(l, ttl), ev_pg_i64(c, now + lease)),
	    err);
}

/* A key completed keeps the time it was first seen. */
#define COMPLETE_ON "ON CONFLICT (h) DO UPDATE SET h2 = excluded.h2, seen " \
    "= CASE WHEN " SAME " THEN k.seen ELSE excluded.seen END, claimed = " \
    "NULL, v = CASE WHEN " SAME " THEN k.v END, at = CASE WHEN " SAME \
    " THEN k.at END WHERE NOT (" SAME " AND k.claimed IS NULL) "

static int
pd_complete(struct ev_db *db, const struct ev_key *k, int64_t now,
    struct ev_err *err)
{
	char h[24], h2[24], t[24];

	return decide(db, "INSERT INTO @keys AS k (h, h2, seen) VALUES ($1, "
	    "$2, $3) " COMPLETE_ON "RETURNING 1", 3, P(ev_pg_i64(h,
	    (int64_t)k->hi), ev_pg_i64(h2, (int64_t)k->lo), ev_pg_i64(t,
	    ev_pg_now(db, now))), err) < 0 ? -1 : 0;
}

static int
pd_stat(struct ev_db *db, struct ev_dkeys_stat *s, struct ev_err *err)
{
	PGresult *r;

	memset(s, 0, sizeof(*s));
	r = ev_pg_q(db, "SELECT count(*), count(claimed), coalesce(min(seen), "
	    "0), coalesce(max(seen), 0), pg_total_relation_size('@keys') FROM "
	    "@keys", 0, NULL, err);
	if (r == NULL)
		return -1;
	s->keys = ev_pg_getint(r, 0, 0);
	s->claimed = ev_pg_getint(r, 0, 1);
	s->oldest = ev_pg_getint(r, 0, 2);
	s->newest = ev_pg_getint(r, 0, 3);
	s->bytes = ev_pg_getint(r, 0, 4);
	PQclear(r);
	return 0;
}

static int
pd_expire(struct ev_db *db, int64_t now, int64_t ttl, int64_t *n,
    struct ev_err *err)
{
	char t[24], l[24];
	PGresult *r;

	r = ev_pg_q(db, "DELETE FROM @keys WHERE seen <= $1::int8 - $2", 2,
	    P(ev_pg_i64(t, ev_pg_now(db, now)), ev_pg_i64(l, ttl)), err);
	if (r == NULL)
		return -1;
	*n = atoll(PQcmdTuples(r));
	PQclear(r);
	return 0;
}

/* One table: nothing to merge. */
static int
pd_merge(struct ev_db *db, struct ev_err *err)
{
	return 0;
}

/*
 * A batch (ev_dkeys_batch): the requests' columns go as arrays to one
 * upsert over unnest(), the statements above with each row's own now
 * (excluded.seen).  PostgreSQL decides the rows one after another, in the
 * arrays' order, each as its own statement would: a row another
 * transaction holds is waited for and decided against what that one
 * committed, and every row it conflicts with stays locked to the end of
 * the transaction, passed or not.  RETURNING names the keys that passed.
 * With --validate, one SELECT then reads the repeats' kept values, as a
 * key's own pd_checkv() does.
 */
#define LIVE_B LIVE_AT("excluded.seen")

struct hix {
	int64_t h;
	size_t i;
};

static int
hix_cmp(const void *a, const void *b)
{
	const struct hix *x = a, *y = b;

	return (x->h > y->h) - (x->h < y->h);
}

/* The request whose key's h is h, or NULL. */
static struct ev_dkeys_req *
hix_find(const struct hix *ix, size_t n, struct ev_dkeys_req *r, int64_t h)
{
	struct hix k = { h, 0 }, *f = bsearch(&k, ix, n, sizeof(*ix), hix_cmp);

	return f == NULL ? NULL : &r[f->i];
}

/* Append v to the array literal in b ('{' first, ',' after): 0 or -1. */
static int
arr_i64(struct ev_buf *b, int64_t v)
{
	char s[24];

	return ev_buf_add(b, b->len == 0 ? "{" : ",", 1) |
	    ev_buf_add(b, s, strlen(ev_pg_i64(s, v)));
}

/* Append the string v, quoted, to the array literal in b: 0 or -1. */
static int
arr_str(struct ev_buf *b, const char *v)
{
	int r = ev_buf_add(b, b->len == 0 ? "{\"" : ",\"", 2);
	size_t n;

	for (; *v != '\0'; v += n) {
		n = strcspn(v, "\"\\");
		r |= ev_buf_add(b, v, n);
		if (v[n] != '\0') {
			r |= ev_buf_add(b, "\\", 1) | ev_buf_add(b, v + n, 1);
			n++;
		}
	}
	return r | ev_buf_add(b, "\"", 1);
}

/* Close the array literals a[0..n), none empty, as strings: 0 or -1. */
static int
arr_end(struct ev_buf *a, int n)
{
	int i, r = 0;

	for (i = 0; i < n; i++)
		r |= ev_buf_add(&a[i], "}", 2);
	return r;
}

/* With --validate: which repeats among r[0..n) are conflicts. */
static int
pd_conflicts(struct ev_db *db, struct ev_dkeys_req *r, size_t n,
    const struct hix *ix, struct ev_buf *firsts, struct ev_err *err)
{
	struct ev_dkeys_req *q;
	struct ev_buf a = { 0 };
	const char *at;
	PGresult *res;
	size_t i;
	int j, rc = 0;

	for (i = 0; i < n; i++)
		if (r[i].verdict == 1)
			rc |= arr_i64(&a, (int64_t)r[i].key.hi);
	if (a.len == 0)
		return 0;
	if ((rc |= arr_end(&a, 1)) != 0) {
		ev_buf_free(&a);
		ev_err_set(err, "out of memory");
		return -1;
	}
	res = ev_pg_q(db, "SELECT h, v, at FROM @keys WHERE h = ANY($1::int8[])",
	    1, P(a.p), err);
	ev_buf_free(&a);
	if (res == NULL)
		return -1;
	for (j = 0; j < PQntuples(res); j++) {
		q = hix_find(ix, n, r, ev_pg_getint(res, j, 0));
		if (q == NULL || q->verdict != 1 || PQgetisnull(res, j, 1) ||
		    (uint64_t)ev_pg_getint(res, j, 1) == q->v)
			continue;
		at = PQgetisnull(res, j, 2) || *PQgetvalue(res, j, 2) == '\0' ?
		    "?" : PQgetvalue(res, j, 2);
		q->verdict = 2;
		q->first = firsts->len;
		if (ev_buf_add(firsts, at, strnlen(at, 1023)) < 0 ||
		    ev_buf_add(firsts, "", 1) < 0) {
			rc = -1;
			break;
		}
	}
	PQclear(res);
	if (rc < 0)
		ev_err_set(err, "out of memory");
	return rc;
}

static int
pd_batch(struct ev_db *db, int how, struct ev_dkeys_req *r, size_t n,
    int64_t ttl, int64_t lease, struct ev_buf *firsts, struct ev_err *err)
{
	static const char *const sql[] = {
		[EV_DKEYS_CHECK] = "INSERT INTO @keys AS k (h, h2, seen) "
		    "SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[]) "
		    CHECK_ON(LIVE_B) "RETURNING h",
		[EV_DKEYS_CHECKV] = "INSERT INTO @keys AS k (h, h2, seen, v, "
		    "at) SELECT * FROM unnest($1::int8[], $2::int8[], "
		    "$3::int8[], $5::int8[], $6::text[]) " CHECKV_ON(LIVE_B)
		    "RETURNING h",
		[EV_DKEYS_CLAIM] = "INSERT INTO @keys AS k (h, h2, seen, "
		    "claimed) SELECT u.h, u.h2, u.t, u.t + $5::int8 FROM "
		    "unnest($1::int8[], $2::int8[], $3::int8[]) AS u(h, h2, t) "
		    CLAIM_ON(LIVE_B, "excluded.seen") "RETURNING h",
		[EV_DKEYS_COMPLETE] = "INSERT INTO @keys AS k (h, h2, seen) "
		    "SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[]) "
		    COMPLETE_ON "RETURNING h",
	};
	struct ev_buf a[5] = { { 0 } };
	struct ev_dkeys_req *q;
	struct hix *ix = NULL;
	const char *p[6];
	char l[24], c[24];
	PGresult *res = NULL;
	size_t i;
	int j, na = how == EV_DKEYS_CHECKV ? 5 : 3, rc = 0;

	if (n == 0)
		return 0;
	if ((ix = malloc(n * sizeof(*ix))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		r[i].verdict = 1;
		ix[i].h = (int64_t)r[i].key.hi;
		ix[i].i = i;
		rc |= arr_i64(&a[0], (int64_t)r[i].key.hi) |
		    arr_i64(&a[1], (int64_t)r[i].key.lo) |
		    arr_i64(&a[2], ev_pg_now(db, r[i].now));
		if (how == EV_DKEYS_CHECKV)
			rc |= arr_i64(&a[3], (int64_t)r[i].v) |
			    arr_str(&a[4], r[i].at);
	}
	if ((rc |= arr_end(a, na)) != 0)
		goto nomem;
	qsort(ix, n, sizeof(*ix), hix_cmp);
	for (i = 1; i < n; i++)
		if (ix[i].h == ix[i - 1].h) {
			ev_err_set(err, "%s: one key twice in a batch",
			    db->name);
			rc = -1;
			goto out;
		}
	p[0] = a[0].p;
	p[1] = a[1].p;
	p[2] = a[2].p;
	p[3] = ev_pg_i64(l, ttl);
	p[4] = how == EV_DKEYS_CHECKV ? a[3].p : ev_pg_i64(c, lease);
	p[5] = a[4].p;
	res = ev_pg_q(db, sql[how], how == EV_DKEYS_COMPLETE ? 3 :
	    how == EV_DKEYS_CHECK ? 4 : how == EV_DKEYS_CHECKV ? 6 : 5, p,
	    err);
	if (res == NULL) {
		rc = -1;
		goto out;
	}
	for (j = 0; j < PQntuples(res); j++)
		if ((q = hix_find(ix, n, r, ev_pg_getint(res, j, 0))) != NULL)
			q->verdict = 0;
	if (how == EV_DKEYS_CHECKV)
		rc = pd_conflicts(db, r, n, ix, firsts, err);
	goto out;
nomem:
	ev_err_set(err, "out of memory");
	rc = -1;
out:
	PQclear(res);
	for (j = 0; j < 5; j++)
		ev_buf_free(&a[j]);
	free(ix);
	return rc;
}

const struct ev_dkeys_ops ev_dkeys_pg = {
	.open = pd_open,
	.check = pd_check,
	.checkv = pd_checkv,
	.claim = pd_claim,
	.complete = pd_complete,
	.stat = pd_stat,
	.expire = pd_expire,
	.merge = pd_merge,
	.batch = pd_batch,
};
