/*
 * http.c - evroute's http:// and https:// targets (EventBridge API
 * destinations) on libcurl, and the files that describe them the way the
 * EventBridge API does: a connection (CreateConnection's request: Name,
 * AuthorizationType, AuthParameters) and an API destination
 * (CreateApiDestination's: Name, ConnectionArn, InvocationEndpoint,
 * HttpMethod, InvocationRateLimitPerSecond).
 *
 * One easy handle per target, reused for every event so that libcurl
 * keeps the connection alive.  The payload goes as the body with
 * "Content-Type: application/json; charset=utf-8", as API destinations
 * send it.  2xx is success; 429, 5xx, timeouts and connection failures
 * are worth retrying; any other status is final (EventBridge sends those
 * events to the dead-letter queue at once).  The error names are those
 * EventBridge writes as the ERROR_CODE attribute of a dead letter:
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
 * (CONNECTION_FAILURE, ERROR_FROM_TARGET, THROTTLING, TIMEOUT,
 * INVALID_PARAMETER, SDK_CLIENT_ERROR).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The easy API's calls go through ev_curl (no type-checking macros). */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "route.h"
#include "proc/proc.h"

#define DEFAULT_TIMEOUT_MS 5000	/* API destinations time out after 5s */
#define SNIPPET 200		/* bytes of a response body kept */

struct ev_http {
	CURL *curl;
	struct curl_slist *hdrs;
	char *url;
	int bodyless;		/* GET, HEAD: no payload sent */
	const struct ev_http_conn *conn;
	int64_t step_us;	/* 1e6 / rate, 0: no limit */
	int64_t next_us;	/* when the next request may start */
	char body[SNIPPET + 1];	/* start of the last response body */
	size_t bodylen;
	long conns;		/* connections opened so far */
	struct ev_buf pay;
	char cerr[CURL_ERROR_SIZE];
};

/*
 * libcurl is loaded when the first http target opens (ev_dl_load()), not
 * linked: its dozens of dependencies would cost every start of evroute
 * some 15 ms.  Its functions are called through ev_curl by their own
 * names (the macros below).
 */
#define EV_CURL_FUNCS(X) \
	X(curl_easy_cleanup) \
	X(curl_easy_escape) \
	X(curl_easy_getinfo) \
	X(curl_easy_init) \
	X(curl_easy_perform) \
	X(curl_easy_setopt) \
	X(curl_easy_strerror) \
	X(curl_free) \
	X(curl_global_init) \
	X(curl_slist_append) \
	X(curl_slist_free_all)

static struct {
#define EV_CURL_MEMBER(f) __typeof__(f) *f;
	EV_CURL_FUNCS(EV_CURL_MEMBER)
#undef EV_CURL_MEMBER
} ev_curl;

#undef curl_easy_setopt	/* curl.h's own checks of the argument count */
#undef curl_easy_getinfo
#define curl_easy_cleanup(...) ev_curl.curl_easy_cleanup(__VA_ARGS__)
#define curl_easy_escape(...) ev_curl.curl_easy_escape(__VA_ARGS__)
#define curl_easy_getinfo(...) ev_curl.curl_easy_getinfo(__VA_ARGS__)
#define curl_easy_init(...) ev_curl.curl_easy_init(__VA_ARGS__)
#define curl_easy_perform(...) ev_curl.curl_easy_perform(__VA_ARGS__)
#define curl_easy_setopt(...) ev_curl.curl_easy_setopt(__VA_ARGS__)
#define curl_easy_strerror(...) ev_curl.curl_easy_strerror(__VA_ARGS__)
#define curl_free(...) ev_curl.curl_free(__VA_ARGS__)
#define curl_global_init(...) ev_curl.curl_global_init(__VA_ARGS__)
#define curl_slist_append(...) ev_curl.curl_slist_append(__VA_ARGS__)
#define curl_slist_free_all(...) ev_curl.curl_slist_free_all(__VA_ARGS__)

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;
static struct ev_err load_err;	/* loading libcurl failed: why */

static void
global_init(void)
{
	static const char *const names[] = {
#define EV_CURL_NAME(f) #f,
		EV_CURL_FUNCS(EV_CURL_NAME)
#undef EV_CURL_NAME
	};
	void *fns[sizeof(names) / sizeof(names[0])];
	size_t i = 0;

	if (ev_dl_load("libcurl.so.4", names, fns, sizeof(names) /
	    sizeof(names[0]), &load_err) < 0)
		return;
#define EV_CURL_SET(f) memcpy(&ev_curl.f, &fns[i++], sizeof(void *));
	EV_CURL_FUNCS(EV_CURL_SET)
#undef EV_CURL_SET
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ------------------------------------------------------------ the files */

/* Locate err at node of doc in path; returns -1. */
static int
at(const struct ev_jdoc *doc, int node, const char *path, struct ev_err *err)
{
	err->file = path;
	if (node >= 0)
		ev_jdoc_locate(doc, doc->n[node].off, &err->line, &err->col);
	return -1;
}

/* AWS's wording for a value outside an enumeration. */
static int
not_in(const struct ev_jdoc *doc, int node, const char *path,
    const char *val, const char *member, const char *set, struct ev_err *err)
{
	ev_err_set(err, "1 validation error detected: Value '%s' at '%s' "
	    "failed to satisfy constraint: Member must satisfy enum value "
	    "set: [%s]", val, member, set);
	return at(doc, node, path, err);
}

/* A string without NUL, its node in *node.  1, 0 absent, -1 err. */
static int
get_str(const struct ev_jdoc *doc, int obj, const char *key, int flags,
    const char **s, int *node, const char *path, struct ev_err *err)
{
	size_t len;
	int r = ev_jdoc_get_str(doc, obj, key, flags, s, &len, err);

	if (r < 0)
		return at(doc, -1, path, err);
	*node = ev_jdoc_member(doc, obj, key);
	if (r == 1 && strlen(*s) != len) {
		ev_err_set(err, "'%s' must not hold a NUL byte", key);
		return at(doc, *node, path, err);
	}
	return r;
}

/* A Name as AWS allows it: [\.\-_A-Za-z0-9]+, 1 to 64 bytes. */
static int
check_name(const struct ev_jdoc *doc, int node, const char *s,
    const char *path, struct ev_err *err)
{
	size_t n = strlen(s);

	if (n < 1 || n > 64)
		ev_err_set(err, "1 validation error detected: Value '%s' at "
		    "'name' failed to satisfy constraint: Member must have "
		    "length %s", s, n < 1 ? "greater than or equal to 1" :
		    "less than or equal to 64");
	else if (strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != n)
		ev_err_set(err, "1 validation error detected: Value '%s' at "
		    "'name' failed to satisfy constraint: Member must satisfy "
		    "regular expression pattern: [\\.\\-_A-Za-z0-9]+", s);
	else
		return 0;
	return at(doc, node, path, err);
}

static void
params_free(struct ev_http_param *p, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		free(p[i].key);
		free(p[i].value);
	}
	free(p);
}

/* One of InvocationHttpParameters' lists: [{"Key", "Value", ...}]. */
static int
get_params(const struct ev_jdoc *doc, int obj, const char *key,
    struct ev_http_param **out, int *nout, const char *path,
    struct ev_err *err)
{
	static const char *const known[] = { "Key", "Value", "IsValueSecret",
		NULL };
	int arr, el, node, n = 0, r, sec;
	const char *k, *v;
	struct ev_http_param *p;

	if ((r = ev_jdoc_get_arr(doc, obj, key, 0, &arr, err)) <= 0)
		return r < 0 ? at(doc, -1, path, err) : 0;
	if ((p = calloc((size_t)doc->n[arr].nchild + 1, sizeof(*p))) == NULL) {
		ev_err_set(err, "out of memory");
		return -1;
	}
	for (el = ev_jdoc_child(doc, arr); el >= 0;
	    el = ev_jdoc_next(doc, el)) {
		char what[64];

		snprintf(what, sizeof(what), "%s[%d]", key, n);
		if (ev_jdoc_as_type(doc, el, what, EV_J_OBJECT, err) < 0 ||
		    ev_jdoc_known(doc, el, known, err) < 0 ||
		    ev_jdoc_get_bool(doc, el, "IsValueSecret", 0, &sec,
		    err) < 0) {
			params_free(p, n);
			return at(doc, -1, path, err);
		}
		if (get_str(doc, el, "Key", EV_JGET_REQUIRED, &k, &node, path,
		    err) < 0 ||
		    get_str(doc, el, "Value", EV_JGET_REQUIRED, &v, &node, path,
		    err) < 0) {
			params_free(p, n);
			return -1;
		}
		if (strpbrk(k, "\r\n:") != NULL && strcmp(key,
		    "HeaderParameters") == 0) {
			ev_err_set(err, "invalid header name '%s'", k);
			params_free(p, n);
			return at(doc, ev_jdoc_member(doc, el, "Key"), path, err);
		}
		if (strpbrk(v, "\r\n") != NULL && strcmp(key,
		    "HeaderParameters") == 0) {
			ev_err_set(err, "header '%s': the value holds a line "
			    "break", k);
			params_free(p, n);
			return at(doc, node, path, err);
		}
		if ((p[n].key = strdup(k)) == NULL ||
		    (p[n].value = strdup(v)) == NULL) {
			params_free(p, n + 1);
			ev_err_set(err, "out of memory");
			return -1;
		}
		n++;
	}
	*out = p;
	*nout = n;
	return 0;
}

void
ev_http_conn_free(struct ev_http_conn *c)
{
	if (c == NULL)
		return;
	free(c->name);
	free(c->user);
	free(c->pass);
	free(c->key_name);
	free(c->key_value);
	params_free(c->hdr, c->nhdr);
	params_free(c->query, c->nquery);
	params_free(c->body, c->nbody);
	free(c);
}

/* AuthParameters of a connection. */
static int
conn_auth(struct ev_http_conn *c, const struct ev_jdoc *doc, int ap,
    const char *path, struct ev_err *err)
{
	static const char *const known[] = { "BasicAuthParameters",
		"ApiKeyAuthParameters", "OAuthParameters",
		"InvocationHttpParameters", "ConnectivityParameters", NULL };
	static const char *const kbasic[] = { "Username", "Password", NULL };
	static const char *const kkey[] = { "ApiKeyName", "ApiKeyValue",
		NULL };
	static const char *const kinv[] = { "HeaderParameters",
		"QueryStringParameters", "BodyParameters", NULL };
	const char *a, *b;
	int o, node, r;

	if (ev_jdoc_known(doc, ap, known, err) < 0)
		return at(doc, -1, path, err);
	if (c->auth == EV_HTTP_AUTH_BASIC) {
		if (ev_jdoc_get_obj(doc, ap, "BasicAuthParameters",
		    EV_JGET_REQUIRED, &o, err) < 0 ||
		    ev_jdoc_known(doc, o, kbasic, err) < 0)
			return at(doc, -1, path, err);
		if (get_str(doc, o, "Username", EV_JGET_REQUIRED, &a, &node,
		    path, err) < 0 ||
		    get_str(doc, o, "Password", EV_JGET_REQUIRED, &b, &node,
		    path, err) < 0)
			return -1;
		if (strchr(a, ':') != NULL) {
			ev_err_set(err, "'Username' must not hold ':'");
			return at(doc, ev_jdoc_member(doc, o, "Username"), path,
			    err);
		}
		if ((c->user = strdup(a)) == NULL ||
		    (c->pass = strdup(b)) == NULL)
			goto nomem;
	} else if (c->auth == EV_HTTP_AUTH_API_KEY) {
		if (ev_jdoc_get_obj(doc, ap, "ApiKeyAuthParameters",
		    EV_JGET_REQUIRED, &o, err) < 0 ||
		    ev_jdoc_known(doc, o, kkey, err) < 0)
			return at(doc, -1, path, err);
		if (get_str(doc, o, "ApiKeyName", EV_JGET_REQUIRED, &a, &node,
		    path, err) < 0)
			return -1;
		if (*a == '\0' || strpbrk(a, "\r\n: ") != NULL) {
			ev_err_set(err, "invalid header name '%s'", a);
			return at(doc, node, path, err);
		}
		if (get_str(doc, o, "ApiKeyValue", EV_JGET_REQUIRED, &b, &node,
		    path, err) < 0)
			return -1;
		if (strpbrk(b, "\r\n") != NULL) {
			ev_err_set(err, "'ApiKeyValue' holds a line break");
			return at(doc, node, path, err);
		}
		if ((c->key_name = strdup(a)) == NULL ||
		    (c->key_value = strdup(b)) == NULL)
			goto nomem;
	}
	if ((r = ev_jdoc_get_obj(doc, ap, "InvocationHttpParameters", 0, &o,
	    err)) < 0)
		return at(doc, -1, path, err);
	if (r == 0)
		return 0;
	if (ev_jdoc_known(doc, o, kinv, err) < 0)
		return at(doc, -1, path, err);
	if (get_params(doc, o, "HeaderParameters", &c->hdr, &c->nhdr, path,
	    err) < 0 ||
	    get_params(doc, o, "QueryStringParameters", &c->query, &c->nquery,
	    path, err) < 0 ||
	    get_params(doc, o, "BodyParameters", &c->body, &c->nbody, path,
	    err) < 0)
		return -1;
	return 0;
nomem:
	ev_err_set(err, "out of memory");
	return -1;
}

/*
 * What both loaders start with: read path, parse it, check that it is an
 * object (what names it in messages) of known members only, with a Name
 * as AWS allows it (*name, in doc).  0 with doc and *text to free, or -1
 * with err located (nothing to free).
 */
static int
load_named(const char *path, const char *what, const char *const *known,
    struct ev_jdoc *doc, char **text, const char **name, struct ev_err *err)
{
	size_t len;
	int node;

	if (ev_file_read(path, text, &len, err) < 0) {
		err->file = path;
		return -1;
	}
	if (ev_jdoc_parse(doc, *text, len, err) < 0) {
		err->file = path;
		free(*text);
		return -1;
	}
	if (ev_jdoc_as_type(doc, 0, what, EV_J_OBJECT, err) < 0 ||
	    ev_jdoc_known(doc, 0, known, err) < 0)
		at(doc, -1, path, err);
	else if (get_str(doc, 0, "Name", EV_JGET_REQUIRED, name, &node, path,
	    err) == 1 && check_name(doc, node, *name, path, err) == 0)
		return 0;
	if (err->msg[0] == '\0')
		ev_err_set(err, "out of memory");
	ev_jdoc_free(doc);
	free(*text);
	return -1;
}

int
ev_http_conn_load(struct ev_http_conn **out, const char *path,
    struct ev_err *err)
{
	static const char *const known[] = { "Name", "Description",
		"AuthorizationType", "AuthParameters",
		"InvocationConnectivityParameters", "KmsKeyIdentifier", NULL };
	struct ev_jdoc doc;
	struct ev_http_conn *c;
	char *text;
	const char *s;
	int node, ap, r = -1;

	*out = NULL;
	if (load_named(path, "connection", known, &doc, &text, &s, err) < 0)
		return -1;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->name = strdup(s)) == NULL) {
		ev_err_set(err, "out of memory");
		goto out;
	}
	if (get_str(&doc, 0, "AuthorizationType", EV_JGET_REQUIRED, &s, &node,
	    path, err) < 0)
		goto out;
	if (strcmp(s, "BASIC") == 0) {
		c->auth = EV_HTTP_AUTH_BASIC;
	} else if (strcmp(s, "API_KEY") == 0) {
		c->auth = EV_HTTP_AUTH_API_KEY;
	} else if (strcmp(s, "OAUTH_CLIENT_CREDENTIALS") == 0) {
		ev_err_set(err, "AuthorizationType OAUTH_CLIENT_CREDENTIALS "
		    "is not supported: use BASIC or API_KEY");
		at(&doc, node, path, err);
		goto out;
	} else {
		not_in(&doc, node, path, s, "authorizationType",
		    "BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY", err);
		goto out;
	}
	if (ev_jdoc_get_obj(&doc, 0, "AuthParameters", EV_JGET_REQUIRED, &ap,
	    err) < 0) {
		at(&doc, -1, path, err);
		goto out;
	}
	if (conn_auth(c, &doc, ap, path, err) < 0)
		goto out;
	*out = c;
	c = NULL;
	r = 0;
out:
	ev_http_conn_free(c);
	ev_jdoc_free(&doc);
	free(text);
	return r;
}

void
ev_http_dest_free(struct ev_http_dest *d)
{
	if (d == NULL)
		return;
	free(d->name);
	free(d->conn_arn);
	free(d->endpoint);
	free(d->method);
	free(d);
}

int
ev_http_dest_load(struct ev_http_dest **out, const char *path,
    struct ev_err *err)
{
	static const char *const known[] = { "Name", "Description",
		"ConnectionArn", "InvocationEndpoint", "HttpMethod",
		"InvocationRateLimitPerSecond", NULL };
	static const char *const methods[] = { "POST", "GET", "HEAD",
		"OPTIONS", "PUT", "PATCH", "DELETE", NULL };
	struct ev_jdoc doc;
	struct ev_http_dest *d;
	char *text;
	const char *s, *rest;
	int node, i, r = -1;
	int64_t rate = 0;

	*out = NULL;
	if (load_named(path, "API destination", known, &doc, &text, &s,
	    err) < 0)
		return -1;
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->name = strdup(s)) == NULL)
		goto fail;
	if (get_str(&doc, 0, "ConnectionArn", EV_JGET_REQUIRED, &s, &node,
	    path, err) < 0 || (d->conn_arn = strdup(s)) == NULL)
		goto fail;
	if (get_str(&doc, 0, "InvocationEndpoint", EV_JGET_REQUIRED, &s,
	    &node, path, err) < 0)
		goto fail;
	if (ev_uri_kind(s, &rest) != EV_URI_HTTP || *rest == '\0' ||
	    strpbrk(s, " \t\r\n") != NULL) {
		ev_err_set(err, "InvocationEndpoint '%s': expected an http:// "
		    "or https:// URL", s);
		at(&doc, node, path, err);
		goto out;
	}
	if ((d->endpoint = strdup(s)) == NULL)
		goto fail;
	if (get_str(&doc, 0, "HttpMethod", EV_JGET_REQUIRED, &s, &node, path,
	    err) < 0)
		goto fail;
	for (i = 0; methods[i] != NULL && strcmp(methods[i], s) != 0; i++)
		;
	if (methods[i] == NULL) {
		not_in(&doc, node, path, s, "httpMethod",
		    "POST, GET, HEAD, OPTIONS, PUT, PATCH, DELETE", err);
		goto out;
	}
	if ((d->method = strdup(s)) == NULL)
		goto fail;
	if (ev_jdoc_get_int(&doc, 0, "InvocationRateLimitPerSecond", 0,
	    INT64_MIN / 2, INT64_MAX / 2, &rate, err) < 0) {
		at(&doc, -1, path, err);
		goto out;
	}
	if (ev_jdoc_member(&doc, 0, "InvocationRateLimitPerSecond") >= 0 &&
	    rate < 1) {
		ev_err_set(err, "1 validation error detected: Value '%lld' at "
		    "'invocationRateLimitPerSecond' failed to satisfy "
		    "constraint: Member must have value greater than or equal "
		    "to 1", (long long)rate);
		at(&doc, ev_jdoc_member(&doc, 0,
		    "InvocationRateLimitPerSecond"), path, err);
		goto out;
	}
	d->rate = rate > 1000000 ? 1000000 : (int)rate;
	*out = d;
	d = NULL;
	r = 0;
	goto out;
fail:
	if (err->msg[0] == '\0')
		ev_err_set(err, "out of memory");
out:
	ev_http_dest_free(d);
	ev_jdoc_free(&doc);
	free(text);
	return r;
}

/* Whether s[0..n) is name followed by nothing or by '/'. */
static int
names(const char *s, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n >= k && memcmp(s, name, k) == 0 && (n == k || s[k] == '/');
}

int
ev_http_dest_names(const struct ev_http_dest *d, const char *arn)
{
	const char *p;
	size_t k;

	if (strncmp(arn, "arn:", 4) == 0) {
		p = strstr(arn, ":api-destination/");
		if (p == NULL)
			return 0;
		p += strlen(":api-destination/");
		return names(p, strlen(p), d->name);
	}
	/* {"Fn::GetAtt":["NAME","Arn"]} or {"Fn::GetAtt":"NAME.Arn"},
	   as config.c keeps a template's intrinsic: its JSON text */
	if (arn[0] != '{' || strstr(arn, "\"Fn::GetAtt\"") == NULL)
		return 0;
	k = strlen(d->name);
	p = arn;
	while ((p = strstr(p, d->name)) != NULL) {
		if (p > arn && p[-1] == '"' && (strncmp(p + k, "\",", 2) == 0 ||
		    strncmp(p + k, "\" ,", 3) == 0 ||
		    strncmp(p + k, ".Arn\"", 5) == 0))
			return 1;
		p += k;
	}
	return 0;
}

/* ------------------------------------------------------------ the client */

static size_t
on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct ev_http *h = ctx;
	size_t len = size * n, room = SNIPPET - h->bodylen;

	if (room > 0) {
		if (len < room)
			room = len;
		memcpy(h->body + h->bodylen, p, room);
		h->bodylen += room;
		h->body[h->bodylen] = '\0';
	}
	return len;
}

/* Append key=value, URL-encoded, to the query of url. */
static int
add_query(CURL *c, struct ev_buf *url, const struct ev_http_param *p)
{
	char *k = curl_easy_escape(c, p->key, 0);
	char *v = curl_easy_escape(c, p->value, 0);
	int r = -1;

	if (k != NULL && v != NULL)
		r = ev_buf_add(url, memchr(url->p, '?', url->len) != NULL ?
		    "&" : "?", 1) < 0 || ev_buf_add(url, k, strlen(k)) < 0 ||
		    ev_buf_add(url, "=", 1) < 0 ||
		    ev_buf_add(url, v, strlen(v)) < 0 ? -1 : 0;
	curl_free(k);
	curl_free(v);
	return r;
}

static int
add_header(struct curl_slist **l, const char *name, const char *value)
{
	struct ev_buf b = { NULL, 0, 0 };
	struct curl_slist *n;

	if (ev_buf_add(&b, name, strlen(name)) < 0 ||
	    ev_buf_add(&b, ": ", 2) < 0 ||
	    ev_buf_add(&b, value, strlen(value) + 1) < 0) {
		ev_buf_free(&b);
		return -1;
	}
	n = curl_slist_append(*l, b.p);
	ev_buf_free(&b);
	if (n == NULL)
		return -1;
	*l = n;
	return 0;
}

int
ev_http_header_check(const char *h, struct ev_err *err)
{
	const char *colon = strchr(h, ':');
	size_t n;

	if (colon == NULL || colon == h) {
		ev_err_set(err, "invalid --header '%s': expected 'Name: "
		    "value'", h);
		return -1;
	}
	n = (size_t)(colon - h);
	if (strcspn(h, " \t\r\n") < n || strpbrk(h, "\r\n") != NULL) {
		ev_err_set(err, "invalid --header '%s': expected 'Name: "
		    "value'", h);
		return -1;
	}
	return 0;
}

struct ev_http *
ev_http_new(const struct ev_http_opts *o, struct ev_err *err)
{
	const struct ev_http_conn *c = o->conn;
	struct ev_http *h;
	struct ev_buf url = { NULL, 0, 0 };
	struct curl_slist *n;
	const char *m = o->method != NULL ? o->method : "POST";
	int64_t t = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	int64_t ct = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : t;
	int i, bad = 0;

	pthread_once(&once, global_init);
	if (load_err.msg[0] != '\0') {
		ev_err_set(err, "%s", load_err.msg);
		return NULL;
	}
	if (global_rc != CURLE_OK) {
		ev_err_set(err, "libcurl: %s", curl_easy_strerror(global_rc));
		return NULL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->curl = curl_easy_init()) == NULL) {
		free(h);
		ev_err_set(err, "out of memory");
		return NULL;
	}
	h->conn = c;
	if (o->rate > 0)
		h->step_us = 1000000 / o->rate;
	h->bodyless = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
	bad |= ev_buf_add(&url, o->url, strlen(o->url));
	for (i = 0; c != NULL && i < c->nquery; i++)
		bad |= add_query(h->curl, &url, &c->query[i]);
	bad |= ev_buf_add(&url, "", 1);
	h->url = url.p;
	/* AWS sends this content type; no "Expect: 100-continue" wait */
	bad |= add_header(&h->hdrs, "Content-Type",
	    "application/json; charset=utf-8");
	if ((n = curl_slist_append(h->hdrs, "Expect:")) == NULL)
		bad = -1;
	else
		h->hdrs = n;
	if (c != NULL && c->auth == EV_HTTP_AUTH_API_KEY)
		bad |= add_header(&h->hdrs, c->key_name, c->key_value);
	for (i = 0; c != NULL && i < c->nhdr; i++)
		bad |= add_header(&h->hdrs, c->hdr[i].key, c->hdr[i].value);
	for (i = 0; i < o->nheaders; i++) {
		n = curl_slist_append(h->hdrs, o->headers[i]);
		if (n == NULL)
			bad = -1;
		else
			h->hdrs = n;
	}
	if (bad) {
		ev_http_free(h);
		ev_err_set(err, "out of memory");
		return NULL;
	}
	curl_easy_setopt(h->curl, CURLOPT_URL, h->url);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->hdrs);
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT,
	    "evroute (evkit) " EV_VERSION);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)t);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)ct);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->cerr);
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 0L);
	if (strcmp(m, "HEAD") == 0)
		curl_easy_setopt(h->curl, CURLOPT_NOBODY, 1L);
	else if (strcmp(m, "GET") == 0)
		curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
	else if (strcmp(m, "POST") != 0)
		curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, m);
	if (c != NULL && c->auth == EV_HTTP_AUTH_BASIC) {
		curl_easy_setopt(h->curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(h->curl, CURLOPT_USERNAME, c->user);
		curl_easy_setopt(h->curl, CURLOPT_PASSWORD, c->pass);
	}
	return h;
}

/*
 * The payload with the connection's BodyParameters added as string
 * members, when it is a JSON object; else the payload as it is.
 */
static int
with_body_params(struct ev_http *h, const char *p, size_t n,
    const char **out, size_t *outlen)
{
	const struct ev_http_conn *c = h->conn;
	size_t end = n, i;
	int k, empty = 1;

	*out = p;
	*outlen = n;
	if (c == NULL || c->nbody == 0)
		return 0;
	while (end > 0 && strchr(" \t\r\n", p[end - 1]) != NULL)
		end--;
	for (i = 0; i < end && strchr(" \t\r\n", p[i]) != NULL; i++)
		;
	if (end == 0 || p[i] != '{' || p[end - 1] != '}')
		return 0;
	for (i++; i < end - 1; i++)
		if (strchr(" \t\r\n", p[i]) == NULL)
			empty = 0;
	h->pay.len = 0;
	if (ev_buf_add(&h->pay, p, end - 1) < 0)
		return -1;
	for (k = 0; k < c->nbody; k++) {
		if ((!empty || k > 0) && ev_buf_add(&h->pay, ",", 1) < 0)
			return -1;
		if (ev_json_quote(&h->pay, c->body[k].key,
		    strlen(c->body[k].key)) < 0 ||
		    ev_buf_add(&h->pay, ":", 1) < 0 ||
		    ev_json_quote(&h->pay, c->body[k].value,
		    strlen(c->body[k].value)) < 0)
			return -1;
	}
	if (ev_buf_add(&h->pay, "}", 1) < 0)
		return -1;
	*out = h->pay.p;
	*outlen = h->pay.len;
	return 0;
}

/* Wait for the rate's next slot. */
static void
pace(struct ev_http *h)
{
	int64_t now;

	if (h->step_us == 0)
		return;
	now = ev_now_ms() * 1000;
	if (h->next_us > now) {
		ev_sleep_ms((h->next_us - now + 999) / 1000);
		now = ev_now_ms() * 1000;
	}
	if (h->next_us < now - h->step_us)
		h->next_us = now;
	h->next_us += h->step_us;
}

/* The class of a failed transfer. */
static enum ev_http_res
transfer_failed(struct ev_http *h, CURLcode rc, struct ev_http_outcome *out)
{
	const char *why = h->cerr[0] != '\0' ? h->cerr :
	    curl_easy_strerror(rc);

	snprintf(out->msg, sizeof(out->msg), "%s", why);
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		out->code = "TIMEOUT";
		return EV_HTTP_RETRY;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		out->code = "INVALID_PARAMETER";
		return EV_HTTP_FINAL;
	case CURLE_OUT_OF_MEMORY:
		out->code = "SDK_CLIENT_ERROR";
		return EV_HTTP_RETRY;
	default:
		out->code = "CONNECTION_FAILURE";
		return EV_HTTP_RETRY;
	}
}

enum ev_http_res
ev_http_send(struct ev_http *h, const char *p, size_t n,
    struct ev_http_outcome *out)
{
	const char *body;
	size_t len;
	long status = 0, nconn = 0;
	CURLcode rc;

	memset(out, 0, sizeof(*out));
	out->code = "";
	if (with_body_params(h, p, n, &body, &len) < 0) {
		out->code = "SDK_CLIENT_ERROR";
		snprintf(out->msg, sizeof(out->msg), "out of memory");
		return EV_HTTP_RETRY;
	}
	if (!h->bodyless) {
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
	}
	pace(h);
	h->bodylen = 0;
	h->body[0] = '\0';
	h->cerr[0] = '\0';
	rc = curl_easy_perform(h->curl);
	curl_easy_getinfo(h->curl, CURLINFO_NUM_CONNECTS, &nconn);
	h->conns += nconn;
	if (rc != CURLE_OK)
		return transfer_failed(h, rc, out);
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
	out->status = status;
	if (status >= 200 && status < 300)
		return EV_HTTP_OK;
	/* the body, on one line, for the message */
	for (len = 0; len < h->bodylen; len++)
		if ((unsigned char)h->body[len] < 0x20)
			h->body[len] = ' ';
	snprintf(out->msg, sizeof(out->msg), "HTTP %ld%s%s", status,
	    h->bodylen > 0 ? ": " : "", h->body);
	if (status == 429) {
		out->code = "THROTTLING";
		return EV_HTTP_RETRY;
	}
	out->code = "ERROR_FROM_TARGET";
	return status >= 500 && status < 600 ? EV_HTTP_RETRY : EV_HTTP_FINAL;
}

long
ev_http_connections(const struct ev_http *h)
{
	return h->conns;
}

void
ev_http_free(struct ev_http *h)
{
	if (h == NULL)
		return;
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->hdrs);
	ev_buf_free(&h->pay);
	free(h->url);
	free(h);
}

/* ----------------------------------------------------- a bus's settings */

/* The name in a connection ARN "arn:...:connection/NAME/...", or arn. */
static const char *
conn_name(const char *arn, size_t *n)
{
	const char *p = strstr(arn, ":connection/");

	if (strncmp(arn, "arn:", 4) != 0 || p == NULL) {
		*n = strlen(arn);
		return arn;
	}
	p += strlen(":connection/");
	*n = strcspn(p, "/");
	return p;
}

const struct ev_http_dest *
ev_http_conf_dest(const struct ev_http_conf *c, const char *arn)
{
	int i;

	for (i = 0; c != NULL && i < c->ndests; i++)
		if (ev_http_dest_names(c->dests[i], arn))
			return c->dests[i];
	return NULL;
}

int
ev_http_conf_check(const struct ev_http_conf *c, struct ev_err *err)
{
	const char *name;
	size_t n;
	int i, j;

	for (i = 0; i < c->ndests; i++) {
		name = conn_name(c->dests[i]->conn_arn, &n);
		for (j = 0; j < c->nconns; j++)
			if (strlen(c->conns[j]->name) == n &&
			    memcmp(c->conns[j]->name, name, n) == 0)
				break;
		if (c->nconns > 0 && j == c->nconns) {
			ev_err_set(err, "API destination '%s': connection "
			    "'%.*s' is not given (--connection)",
			    c->dests[i]->name, (int)n, name);
			return -1;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(c->dests[j]->name,
			    c->dests[i]->name) == 0) {
				ev_err_set(err, "API destination '%s' is "
				    "given twice", c->dests[i]->name);
				return -1;
			}
			if (strcmp(c->dests[j]->endpoint,
			    c->dests[i]->endpoint) == 0) {
				ev_err_set(err, "API destinations '%s' and "
				    "'%s' have the same InvocationEndpoint",
				    c->dests[j]->name, c->dests[i]->name);
				return -1;
			}
		}
	}
	return 0;
}

struct ev_http *
ev_http_conf_open(const struct ev_http_conf *c, const char *uri,
    const struct ev_http_dest *d, struct ev_err *err)
{
	struct ev_http_opts o;
	const char *name;
	size_t n;
	int j;

	memset(&o, 0, sizeof(o));
	o.url = d != NULL ? d->endpoint : uri;
	o.headers = c != NULL ? c->headers : NULL;
	o.nheaders = c != NULL ? c->nheaders : 0;
	o.timeout_ms = c != NULL ? c->timeout_ms : 0;
	if (c != NULL && c->nconns > 0)
		o.conn = c->conns[0];
	if (d != NULL) {
		o.method = d->method;
		o.rate = d->rate;
		name = conn_name(d->conn_arn, &n);
		for (j = 0; c != NULL && j < c->nconns; j++)
			if (strlen(c->conns[j]->name) == n &&
			    memcmp(c->conns[j]->name, name, n) == 0)
				o.conn = c->conns[j];
	}
	return ev_http_new(&o, err);
}

int
ev_http_conf_load(struct ev_http_conf *c, const char *const *conn_files,
    int nc, const char *const *dest_files, int nd, struct ev_err *err)
{
	int i;

	if ((c->conns = calloc((size_t)nc + 1, sizeof(*c->conns))) == NULL ||
	    (c->dests = calloc((size_t)nd + 1, sizeof(*c->dests))) == NULL) {
		ev_err_set(err, "out of memory");
		return -1;
	}
	for (i = 0; i < nc; i++, c->nconns++)
		if (ev_http_conn_load(&c->conns[i], conn_files[i], err) < 0)
			return -1;
	for (i = 0; i < nd; i++, c->ndests++)
		if (ev_http_dest_load(&c->dests[i], dest_files[i], err) < 0)
			return -1;
	return ev_http_conf_check(c, err);
}

void
ev_http_conf_free(struct ev_http_conf *c)
{
	int i;

	for (i = 0; i < c->nconns; i++)
		ev_http_conn_free(c->conns[i]);
	for (i = 0; i < c->ndests; i++)
		ev_http_dest_free(c->dests[i]);
	free(c->conns);
	free(c->dests);
	c->conns = NULL;
	c->dests = NULL;
	c->nconns = c->ndests = 0;
}

/* ----------------------------------------------------------- the driver */

/*
 * The http driver of the delivery engine (deliver.c): a target opened by
 * URI gets the settings of ev_http_use() (a bus's); a URI that is an API
 * destination's InvocationEndpoint gets that destination's method, rate
 * and connection.
 */
static const struct ev_http_conf *use;

void
ev_http_use(const struct ev_http_conf *c)
{
	use = c;
}

static int
drv_open(const char *uri, void **state, struct ev_err *err)
{
	const struct ev_http_dest *d = NULL;
	int i;

	for (i = 0; use != NULL && i < use->ndests; i++) {
		if (strcmp(use->dests[i]->endpoint, uri) == 0) {
			d = use->dests[i];
			break;
		}
	}
	*state = ev_http_conf_open(use, uri, d, err);
	return *state == NULL ? -1 : 0;
}

static enum ev_send
drv_send(void *state, const char *p, size_t n, struct ev_send_fail *f,
    struct ev_err *err)
{
	struct ev_http_outcome o;
	enum ev_http_res r = ev_http_send(state, p, n, &o);

	if (r == EV_HTTP_OK)
		return EV_SEND_OK;
	snprintf(f->name, sizeof(f->name), "%s", o.code);
	snprintf(f->msg, sizeof(f->msg), "%s", o.msg);
	return r == EV_HTTP_RETRY ? EV_SEND_RETRY : EV_SEND_FINAL;
}

static int
drv_flush(void *state, struct ev_err *err)
{
	return 0;
}

static int
drv_close(void *state, struct ev_err *err)
{
	ev_http_free(state);
	return 0;
}

const struct ev_target_driver ev_driver_http = {
	.kind = "http",
	.open = drv_open,
	.send = drv_send,
	.flush = drv_flush,
	.close = drv_close,
};
