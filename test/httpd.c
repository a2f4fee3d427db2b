/*
 * httpd - a small HTTP/1.1 server for evkit's tests (not installed).
 *
 *   httpd [-i SECONDS] [-s SCRIPT] LOG
 *
 * Listens on 127.0.0.1 on a free port, prints the port and a newline on
 * stdout, and serves until SIGTERM, or after SECONDS (default 60) with no
 * activity.  Every request is appended to LOG as one JSON line, in the
 * order they arrive:
 *   {"n":1,"conn":1,"method":"POST","path":"/x?a=b",
 *    "headers":{"content-type":"...",...},"body":"..."}
 * (header names in lowercase, the last of a repeated one).  SCRIPT is a
 * comma-separated list of answers, one per request, the last one
 * repeated: a status code ("503"), "close" (close the connection without
 * answering) or "stall" (never answer).  The default is "200".
 * Connections are kept alive; Expect: 100-continue is honoured.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAXCONN 64

struct conn {
	int fd;
	int id;
	int stalled;
	int continued;		/* sent 100 Continue for this request */
	char *buf;
	size_t len, cap;
};

static struct conn conns[MAXCONN];
static char **script;
static int nscript;
static long nreq;
static FILE *logfp;

static void
die(const char *what)
{
	fprintf(stderr, "httpd: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* JSON string of s[0..n). */
static void
jstr(FILE *fp, const char *s, size_t n)
{
	size_t i;

	fputc('"', fp);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", c);
		else if (c < 0x20)
			fprintf(fp, "\\u%04x", c);
		else
			fputc(c, fp);
	}
	fputc('"', fp);
}

static void
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

static void
drop(struct conn *c)
{
	close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static const char *
reason(int st)
{
	switch (st) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

/*
 * The header name (lowercase) at line[0..n): value in *v, *vn.  0 when
 * the line is no header.
 */
static int
header(const char *line, size_t n, char *name, size_t nsize, const char **v,
    size_t *vn)
{
	const char *colon = memchr(line, ':', n);
	size_t k, i;

	if (colon == NULL)
		return 0;
	k = (size_t)(colon - line);
	if (k + 1 > nsize)
		k = nsize - 1;
	for (i = 0; i < k; i++)
		name[i] = (char)tolower((unsigned char)line[i]);
	name[k] = '\0';
	*v = colon + 1;
	while (*v < line + n && (**v == ' ' || **v == '\t'))
		(*v)++;
	*vn = (size_t)(line + n - *v);
	return 1;
}

/*
 * Handle the request at the start of c's buffer, if complete.  Returns
 * its length, 0 when more is needed, -1 to close the connection.
 */
static long
request(struct conn *c)
{
	char *end, *p, *eol, name[128], resp[256];
	const char *v, *ans;
	size_t hlen, vn, clen = 0, n;
	int st, expect = 0, first = 1;

	end = memmem(c->buf, c->len, "\r\n\r\n", 4);
	if (end == NULL)
		return 0;
	hlen = (size_t)(end - c->buf) + 4;
	for (p = c->buf; p < end; p = eol + 2) {
		eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
		if (!first && header(p, (size_t)(eol - p), name, sizeof(name),
		    &v, &vn)) {
			if (strcmp(name, "content-length") == 0)
				clen = strtoul(v, NULL, 10);
			else if (strcmp(name, "expect") == 0 && vn >= 3 &&
			    strncasecmp(v, "100", 3) == 0)
				expect = 1;
		}
		first = 0;
	}
	if (c->len < hlen + clen) {
		if (expect && !c->continued) {
			const char *cont = "HTTP/1.1 100 Continue\r\n\r\n";

			write_all(c->fd, cont, strlen(cont));
			c->continued = 1;
		}
		return 0;
	}
	c->continued = 0;
	nreq++;
	/* the log line */
	eol = memmem(c->buf, hlen, "\r\n", 2);
	p = memchr(c->buf, ' ', (size_t)(eol - c->buf));
	fprintf(logfp, "{\"n\":%ld,\"conn\":%d,\"method\":", nreq, c->id);
	jstr(logfp, c->buf, p != NULL ? (size_t)(p - c->buf) : 0);
	fputs(",\"path\":", logfp);
	if (p != NULL) {
		char *q = memchr(p + 1, ' ', (size_t)(eol - p - 1));

		jstr(logfp, p + 1, q != NULL ? (size_t)(q - p - 1) :
		    (size_t)(eol - p - 1));
	} else
		jstr(logfp, "", 0);
	fputs(",\"headers\":{", logfp);
	first = 1;
	for (p = eol + 2; p < end; p = eol + 2) {
		eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
		if (!header(p, (size_t)(eol - p), name, sizeof(name), &v, &vn))
			continue;
		if (!first)
			fputc(',', logfp);
		first = 0;
		jstr(logfp, name, strlen(name));
		fputc(':', logfp);
		jstr(logfp, v, vn);
	}
	fputs("},\"body\":", logfp);
	jstr(logfp, c->buf + hlen, clen);
	fputs("}\n", logfp);
	fflush(logfp);
	/* the answer */
	ans = nscript == 0 ? "200" :
	    script[nreq - 1 < nscript ? nreq - 1 : nscript - 1];
	if (strcmp(ans, "close") == 0)
		return -1;
	if (strcmp(ans, "stall") == 0) {
		c->stalled = 1;
		return (long)(hlen + clen);
	}
	st = atoi(ans);
	n = strlen(reason(st));
	snprintf(resp, sizeof(resp), "HTTP/1.1 %d %s\r\nContent-Type: "
	    "text/plain\r\nContent-Length: %zu\r\n\r\n%s", st, reason(st), n,
	    reason(st));
	write_all(c->fd, resp, strlen(resp));
	return (long)(hlen + clen);
}

static void
readable(struct conn *c)
{
	ssize_t r;
	long used;

	if (c->cap - c->len < 65536) {
		c->cap = c->cap * 2 + 65536;
		if ((c->buf = realloc(c->buf, c->cap)) == NULL)
			die("realloc");
	}
	r = read(c->fd, c->buf + c->len, c->cap - c->len);
	if (r <= 0) {
		if (r < 0 && errno == EINTR)
			return;
		drop(c);
		return;
	}
	c->len += (size_t)r;
	while (!c->stalled && (used = request(c)) != 0) {
		if (used < 0) {
			drop(c);
			return;
		}
		memmove(c->buf, c->buf + used, c->len - (size_t)used);
		c->len -= (size_t)used;
	}
	if (c->stalled)
		c->len = 0;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	struct pollfd pfd[MAXCONN + 1];
	int lfd, i, n, c, idle = 60, nextid = 0, one = 1;
	char *list = NULL, *tok;

	while ((c = getopt(argc, argv, "i:s:")) != -1) {
		switch (c) {
		case 'i':
			idle = atoi(optarg);
			break;
		case 's':
			list = optarg;
			break;
		default:
			fprintf(stderr, "usage: httpd [-i SECONDS] "
			    "[-s SCRIPT] LOG\n");
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: httpd [-i SECONDS] [-s SCRIPT] LOG\n");
		return 2;
	}
	if ((logfp = fopen(argv[optind], "a")) == NULL)
		die(argv[optind]);
	if (list != NULL) {
		script = calloc(strlen(list) + 1, sizeof(*script));
		for (tok = strtok(list, ","); tok != NULL;
		    tok = strtok(NULL, ","))
			script[nscript++] = tok;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(lfd, 16) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) < 0)
		die("listen");
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);
	for (i = 0; i < MAXCONN; i++)
		conns[i].fd = -1;
	for (;;) {
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		for (i = 0; i < MAXCONN; i++) {
			pfd[i + 1].fd = conns[i].fd;
			pfd[i + 1].events = POLLIN;
		}
		n = poll(pfd, MAXCONN + 1, idle * 1000);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;	/* idle: the test is gone */
		if (pfd[0].revents & POLLIN) {
			int fd = accept(lfd, NULL, NULL);

			for (i = 0; fd >= 0 && i < MAXCONN; i++) {
				if (conns[i].fd < 0) {
					conns[i].fd = fd;
					conns[i].id = ++nextid;
					break;
				}
			}
			if (fd >= 0 && i == MAXCONN)
				close(fd);
		}
		for (i = 0; i < MAXCONN; i++)
			if (conns[i].fd >= 0 && pfd[i + 1].fd == conns[i].fd &&
			    (pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				readable(&conns[i]);
	}
}
