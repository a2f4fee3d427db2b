/*
 * log.c - the event log and queues (store.h's ev_log_*): dispatch to the
 * backend's table of operations (sqlite_log.c for SQLite).
 */
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
