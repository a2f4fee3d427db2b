/*
 * log.c - the event log and queues (store.h's ev_log_*): dispatch to the
 * backend's table of operations (sqlite_log.c for SQLite).
 */
#include <stdarg.h>
#include <stdio.h>

#include "store_int.h"

int
ev_log_open(struct ev_db *db, struct ev_err *err)
{
	return db->be->log->open(db, err);
}

int
ev_log_append(struct ev_db *db, const char *data, size_t len, int64_t now,
    int64_t *seq, struct ev_err *err)
{
	return db->be->log->append(db, data, len, now, seq, err);
}

int64_t
ev_log_read(struct ev_db *db, const struct ev_log_range *r, ev_log_fn fn,
    void *ctx, struct ev_err *err)
{
	return db->be->log->read(db, r, fn, ctx, err);
}

int
ev_log_cursor_get(struct ev_db *db, const char *name, int64_t *seq,
    struct ev_err *err)
{
	return db->be->log->cursor_get(db, name, seq, err);
}

int
ev_log_cursor_set(struct ev_db *db, const char *name, int64_t seq,
    struct ev_err *err)
{
	return db->be->log->cursor_set(db, name, seq, err);
}

int64_t
ev_log_receive(struct ev_db *db, const char *group,
    const struct ev_log_lease *l, ev_log_fn fn, void *ctx,
    struct ev_err *err)
{
	return db->be->log->receive(db, group, l, fn, ctx, err);
}

int
ev_log_ack(struct ev_db *db, const char *group, int64_t seq,
    const char *token, struct ev_err *err)
{
	return db->be->log->ack(db, group, seq, token, 0, 0, err);
}

int
ev_log_nack(struct ev_db *db, const char *group, int64_t seq,
    const char *token, int64_t now, struct ev_err *err)
{
	return db->be->log->ack(db, group, seq, token, 1, now, err);
}

int64_t
ev_log_dead(struct ev_db *db, const char *group, ev_log_fn fn, void *ctx,
    struct ev_err *err)
{
	return db->be->log->dead(db, group, fn, ctx, err);
}

int64_t
ev_log_redrive(struct ev_db *db, const char *group, struct ev_err *err)
{
	return db->be->log->redrive(db, group, err);
}

int64_t
ev_log_prune(struct ev_db *db, int64_t before, int64_t keep,
    struct ev_err *err)
{
	return db->be->log->prune(db, before, keep, err);
}

int
ev_log_stat(struct ev_db *db, int64_t now, struct ev_buf *out,
    struct ev_err *err)
{
	return db->be->log->stat(db, now, out, err);
}

int
ev_store_jstr(struct ev_buf *out, const char *s)
{
	char u[8];
	int r = ev_buf_add(out, "\"", 1);

	for (; *s && r == 0; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			u[0] = '\\';
			u[1] = (char)c;
			r = ev_buf_add(out, u, 2);
		} else if (c < 0x20) {
			snprintf(u, sizeof(u), "\\u%04x", c);
			r = ev_buf_add(out, u, 6);
		} else
			r = ev_buf_add(out, s, 1);
	}
	return r == 0 ? ev_buf_add(out, "\"", 1) : r;
}

int
ev_store_printf(struct ev_buf *out, const char *fmt, ...)
{
	char b[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	return ev_buf_add(out, b, (size_t)n < sizeof(b) ? (size_t)n :
	    sizeof(b) - 1);
}
