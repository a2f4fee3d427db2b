/*
 * target.c - evroute's target URIs and its line writers.
 *
 * A target is named by a URI: "-" (standard output), "file:PATH" (lines
 * appended with O_APPEND), "fd:N" (an open descriptor).  The other kinds
 * (exec:, pipe:, store:, http:, https:) are recognised so that evroute
 * can refuse them by name; an AWS ARN (or a template's intrinsic) has to
 * be mapped to a local URI.  A writer buffers whole lines and writes them
 * with one write(2) per buffer, never cutting a line between two calls,
 * so that several processes may append to one file without their lines
 * mixing.
 */
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "route.h"
#include "store/store.h"

#define OUT_BUF (64 * 1024)
#define OUT_IOV 64		/* pieces held before a write */

/*
 * What waits to be written: pieces in order, each either lines copied
 * into buf or lines the caller keeps (ev_route_out_ref()); adjacent
 * bytes make one piece.
 */
struct ev_route_out {
	int fd, own;
	char *name;		/* the URI, for messages */
	struct stat st;
	char *buf;
	size_t len;
	struct iovec iov[OUT_IOV];
	int niov;
	int errnum;		/* first write error (EPIPE included) */
};

static const struct {
	const char *prefix;
	enum ev_uri_kind kind;
} kinds[] = {
	{ "file:", EV_URI_FILE },
	{ "fd:", EV_URI_FD },
	{ "exec:", EV_URI_EXEC },
	{ "pipe:", EV_URI_PIPE },
	{ "store:", EV_URI_STORE },
	{ "http://", EV_URI_HTTP },
	{ "https://", EV_URI_HTTP },
	{ "arn:", EV_URI_AWS },
};

enum ev_uri_kind
ev_uri_kind(const char *uri, const char **rest)
{
	size_t i, n;

	*rest = uri;
	if (strcmp(uri, "-") == 0)
		return EV_URI_STDOUT;
	if (uri[0] == '{')
		return EV_URI_AWS;	/* {"Ref": ...}, {"Fn::GetAtt": ...} */
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		n = strlen(kinds[i].prefix);
		if (strncmp(uri, kinds[i].prefix, n) == 0) {
			*rest = uri + n;
			return kinds[i].kind;
		}
	}
	return EV_URI_UNKNOWN;
}

/* Whether s is a descriptor number; stored in *fd. */
static int
fd_number(const char *s, int *fd)
{
	long v = 0;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > 100000000)
			return 0;
		v = v * 10 + (*s - '0');
	}
	*fd = (int)v;
	return 1;
}

int
ev_uri_check(const char *uri, struct ev_err *err)
{
	const char *rest;
	int fd;

	switch (ev_uri_kind(uri, &rest)) {
	case EV_URI_STDOUT:
		return 0;
	case EV_URI_FILE:
		if (*rest != '\0')
			return 0;
		ev_err_set(err, "'%s': file: needs a path", uri);
		return -1;
	case EV_URI_FD:
		if (fd_number(rest, &fd))
			return 0;
		ev_err_set(err, "'%s': fd: needs a descriptor number", uri);
		return -1;
	case EV_URI_HTTP:
		if (*rest != '\0' && strpbrk(uri, " \t\r\n") == NULL)
			return 0;
		ev_err_set(err, "'%s': %.*s needs a host", uri,
		    (int)(rest - uri), uri);
		return -1;
	case EV_URI_EXEC:
	case EV_URI_PIPE: {
		char **w = ev_uri_words(rest, err);

		if (w == NULL) {
			char m[sizeof(err->msg)];

			snprintf(m, sizeof(m), "%s", err->msg);
			ev_err_set(err, "'%s': %s", uri, m);
			return -1;
		}
		free(w);
		return 0;
	}
	case EV_URI_STORE:
		if (*rest != '\0')
			return 0;
		ev_err_set(err, "'%s': store: needs a path", uri);
		return -1;
	case EV_URI_AWS:
		ev_err_set(err, "'%s' is an AWS target: map it to a local URI "
		    "with --target", uri);
		return -1;
	default:
		ev_err_set(err, "'%s': unknown target URI: expected -, "
		    "file:PATH, fd:N, exec:CMD, pipe:CMD, store:PATH or "
		    "http(s)://URL", uri);
		return -1;
	}
}

char **
ev_uri_words(const char *cmd, struct ev_err *err)
{
	size_t n = strlen(cmd), nw = 0, i;
	char **v, *o;
	int in = 0, q = 0;	/* in a word; the quote we are in */

	/* at most n / 2 + 1 words, each at most n bytes in all */
	if ((v = malloc((n / 2 + 2) * sizeof(*v) + n + 1)) == NULL) {
		ev_err_set(err, "out of memory");
		return NULL;
	}
	o = (char *)(v + n / 2 + 2);
	for (i = 0; i < n; i++) {
		char c = cmd[i];

		if (q == 0 && (c == ' ' || c == '\t' || c == '\n')) {
			if (in)
				*o++ = '\0';
			in = 0;
			continue;
		}
		if (!in) {
			v[nw++] = o;
			in = 1;
		}
		if (q == 0 && (c == '\'' || c == '"')) {
			q = c;
		} else if (q != 0 && c == q) {
			q = 0;
		} else if (c == '\\' && q != '\'' && i + 1 < n &&
		    (q == 0 || cmd[i + 1] == '"' || cmd[i + 1] == '\\')) {
			*o++ = cmd[++i];
		} else
			*o++ = c;
	}
	if (in)
		*o++ = '\0';
	v[nw] = NULL;
	if (q != 0 || nw == 0) {
		free(v);
		ev_err_set(err, q != 0 ? "unterminated quote" : "no command");
		return NULL;
	}
	return v;
}

struct ev_route_out *
ev_route_out_open(const char *uri, struct ev_err *err)
{
	struct ev_route_out *o;
	const char *rest;
	int fd = -1, own = 0;

	if (ev_uri_check(uri, err) < 0)
		return NULL;
	switch (ev_uri_kind(uri, &rest)) {
	case EV_URI_STDOUT:
		fd = 1;
		break;
	case EV_URI_FD:
		fd_number(rest, &fd);
		break;
	default:
		fd = open(rest, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		    0666);
		if (fd < 0) {
			ev_err_set(err, "%s: %s", uri, strerror(errno));
			ev_err_errno(err, errno);
			return NULL;
		}
		own = 1;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (o->name = strdup(uri)) == NULL ||
	    (o->buf = malloc(OUT_BUF)) == NULL) {
		if (o != NULL)
			free(o->name);
		free(o);
		if (own)
			close(fd);
		ev_err_set(err, "out of memory");
		return NULL;
	}
	o->fd = fd;
	o->own = own;
	if (fstat(fd, &o->st) < 0) {
		ev_err_set(err, "%s: %s", uri, strerror(errno));
		ev_err_errno(err, errno);
		ev_route_out_close(o, NULL);
		return NULL;
	}
	return o;
}

const struct stat *
ev_route_out_stat(const struct ev_route_out *o)
{
	return &o->st;
}

const char *
ev_route_out_name(const struct ev_route_out *o)
{
	return o->name;
}

/* Write iov[0..n) completely, going on after a partial write. */
static void
write_all(struct ev_route_out *o, struct iovec *iov, int n)
{
	ssize_t w;

	while (n > 0 && o->errnum == 0) {
		w = writev(o->fd, iov, n);
		if (w < 0) {
			if (errno != EINTR)
				o->errnum = errno;
			continue;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
}

int
ev_route_out_flush(struct ev_route_out *o)
{
	if (o->niov > 0)
		write_all(o, o->iov, o->niov);
	o->niov = 0;
	o->len = 0;
	return o->errnum ? -1 : 0;
}

/*
 * Add the piece p[0..n) (it stays where it is until the next write);
 * there is room for one more (o->niov < OUT_IOV).
 */
static void
piece(struct ev_route_out *o, const char *p, size_t n)
{
	struct iovec *v;

	if (o->niov > 0) {
		v = &o->iov[o->niov - 1];
		if ((const char *)v->iov_base + v->iov_len == p) {
			v->iov_len += n;
			return;
		}
	}
	o->iov[o->niov].iov_base = (void *)p;
	o->iov[o->niov++].iov_len = n;
}

int
ev_route_out_line(struct ev_route_out *o, const char *p, size_t n)
{
	struct iovec iov[2];

	if (o->errnum)
		return -1;
	if ((o->len + n + 1 > OUT_BUF || o->niov == OUT_IOV) &&
	    ev_route_out_flush(o) < 0)
		return -1;
	if (n + 1 > OUT_BUF) {
		/* a line longer than the buffer: one writev of its own */
		iov[0].iov_base = (void *)p;
		iov[0].iov_len = n;
		iov[1].iov_base = "\n";
		iov[1].iov_len = 1;
		write_all(o, iov, 2);
		return o->errnum ? -1 : 0;
	}
	memcpy(o->buf + o->len, p, n);
	o->buf[o->len + n] = '\n';
	o->len += n + 1;
	piece(o, o->buf + o->len - n - 1, n + 1);
	return 0;
}

int
ev_route_out_ref(struct ev_route_out *o, const char *p, size_t n)
{
	if (o->errnum || (o->niov == OUT_IOV && ev_route_out_flush(o) < 0))
		return -1;
	piece(o, p, n);
	return 0;
}

int
ev_route_out_errno(const struct ev_route_out *o)
{
	return o->errnum;
}

int
ev_route_out_close(struct ev_route_out *o, struct ev_err *err)
{
	int r = 0;

	if (o == NULL)
		return 0;
	if (err != NULL && ev_route_out_flush(o) < 0 && o->errnum != EPIPE) {
		ev_err_set(err, "write error on '%s': %s", o->name,
		    strerror(o->errnum));
		ev_err_errno(err, o->errnum);
		r = -1;
	}
	if (o->own && close(o->fd) < 0 && r == 0 && err != NULL) {
		ev_err_set(err, "close error on '%s': %s", o->name,
		    strerror(errno));
		ev_err_errno(err, errno);
		r = -1;
	}
	free(o->buf);
	free(o->name);
	free(o);
	return r;
}

/* ------------------------------------------------- drivers: file, store */

static int
file_open(const char *uri, void **state, struct ev_err *err)
{
	return (*state = ev_route_out_open(uri, err)) == NULL ? -1 : 0;
}

/* A file target's write failed: its name and the reason. */
static enum ev_send
file_failed(const struct ev_route_out *o, struct ev_err *err)
{
	ev_err_set(err, "write error on '%s': %s", o->name,
	    strerror(o->errnum));
	ev_err_errno(err, o->errnum);
	return EV_SEND_ERROR;
}

static enum ev_send
file_send(void *state, const char *p, size_t n, struct ev_send_fail *f,
    struct ev_err *err)
{
	struct ev_route_out *o = state;

	(void)f;
	return ev_route_out_line(o, p, n) == 0 ? EV_SEND_OK :
	    file_failed(o, err);
}

static enum ev_send
file_send_ref(void *state, const char *p, size_t n, struct ev_err *err)
{
	struct ev_route_out *o = state;

	return ev_route_out_ref(o, p, n) == 0 ? EV_SEND_OK :
	    file_failed(o, err);
}

static int
file_flush(void *state, struct ev_err *err)
{
	struct ev_route_out *o = state;

	if (ev_route_out_flush(o) == 0)
		return 0;
	ev_err_set(err, "write error on '%s': %s", o->name,
	    strerror(o->errnum));
	ev_err_errno(err, o->errnum);
	return -1;
}

static int
file_close(void *state, struct ev_err *err)
{
	return ev_route_out_close(state, err);
}

static const struct stat *
file_stat(void *state)
{
	return ev_route_out_stat(state);
}

const struct ev_target_driver ev_driver_file = {
	"file", file_open, file_send, file_flush, file_close, file_stat,
	NULL, 0, file_send_ref
};

/*
 * store:PATH - evstore's append: payloads added to a group-commit writer
 * (ev_log_writer, EV_LOG_BATCH_* batches) and counted as delivered only
 * when a flush has committed them.
 */
struct store_tgt {
	struct ev_db *db;
	struct ev_log_writer *w;
	struct ev_sink *null;
	struct stat st;
};

static int
store_close(void *state, struct ev_err *err)
{
	struct store_tgt *t = state;
	struct ev_err e;
	int r = 0;

	if (t == NULL)
		return 0;
	ev_err_clear(&e);
	if (t->w != NULL && err != NULL &&
	    ev_log_writer_flush(t->w, &e) < 0) {
		*err = e;
		r = -1;
	}
	ev_log_writer_free(t->w);
	ev_err_clear(&e);
	if (ev_db_close(t->db, &e) < 0 && r == 0 && err != NULL) {
		*err = e;
		r = -1;
	}
	if (t->null != NULL)
		ev_sink_close(t->null, NULL);
	free(t);
	return r;
}

static int
store_open(const char *uri, void **state, struct ev_err *err)
{
	struct store_tgt *t = calloc(1, sizeof(*t));
	struct ev_db_opts o = { .page_size = EV_LOG_PAGE_SIZE };
	const char *path = uri + 6;

	if (t == NULL) {
		ev_err_set(err, "out of memory");
		return -1;
	}
	*state = t;
	if ((t->db = ev_db_open(path, &o, err)) == NULL ||
	    ev_log_open(t->db, err) < 0 ||
	    (t->null = ev_sink_open("/dev/null", 0, err)) == NULL) {
		store_close(t, NULL);
		*state = NULL;
		return -1;
	}
	if ((t->w = ev_log_writer_new(t->db, t->null, NULL)) == NULL) {
		ev_err_set(err, "out of memory");
		store_close(t, NULL);
		*state = NULL;
		return -1;
	}
	if (stat(path, &t->st) < 0)
		memset(&t->st, 0, sizeof(t->st));
	return 0;
}

static enum ev_send
store_send(void *state, const char *p, size_t n, struct ev_send_fail *f,
    struct ev_err *err)
{
	struct store_tgt *t = state;

	(void)f;
	return ev_log_writer_add(t->w, p, n, err) < 0 ? EV_SEND_ERROR :
	    EV_SEND_OK;
}

static int
store_flush(void *state, struct ev_err *err)
{
	struct store_tgt *t = state;

	return ev_log_writer_flush(t->w, err);
}

static const struct stat *
store_stat(void *state)
{
	return &((struct store_tgt *)state)->st;
}

const struct ev_target_driver ev_driver_store = {
	"store", store_open, store_send, store_flush, store_close,
	store_stat, NULL, 1, NULL
};
