/*
 * Unit tests for lib/route/http.c: evroute's http targets against the
 * test server (build/testbin/httpd): keep-alive, the classes of answers
 * (2xx, 429 and 5xx retried, other 4xx final, connection failures and
 * timeouts), auth and parameters from a connection file, --header, the
 * rate on the virtual clock, a large body; the connection and API
 * destination files with their located errors.
 */
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evkit.h"
#include "tap.h"

static char logpath[64], url[128];
static pid_t server;
static struct ev_err err;

/* Start the test server with script; its URL in url. */
static int
serve(const char *script)
{
	const char *bin = getenv("EVKIT_BIN");
	char path[512], port[32];
	int p[2], fd;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/../testbin/httpd",
	    bin != NULL ? bin : "build/bin");
	snprintf(logpath, sizeof(logpath), "/tmp/evkit-http-XXXXXX");
	if ((fd = mkstemp(logpath)) < 0 || pipe(p) < 0)
		return -1;
	close(fd);
	if ((server = fork()) == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl(path, "httpd", "-i", "30", "-s", script, logpath,
		    (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	fp = fdopen(p[0], "r");
	if (fp == NULL || fgets(port, sizeof(port), fp) == NULL) {
		if (fp != NULL)
			fclose(fp);
		return -1;
	}
	fclose(fp);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", atoi(port));
	return 0;
}

static void
stop(void)
{
	if (server > 0) {
		kill(server, SIGTERM);
		waitpid(server, NULL, 0);
	}
	server = 0;
	unlink(logpath);
}

/* The server's log, whole (static). */
static const char *
logged(void)
{
	static char *text;
	FILE *fp = fopen(logpath, "r");
	size_t n = 0, cap = 0, r;

	free(text);
	text = NULL;
	if (fp == NULL)
		return "";
	for (;;) {
		if (cap - n < 65536 &&
		    (text = realloc(text, cap = cap * 2 + 65536)) == NULL)
			break;
		if ((r = fread(text + n, 1, cap - n - 1, fp)) == 0)
			break;
		n += r;
	}
	fclose(fp);
	if (text == NULL)
		return "";
	text[n] = '\0';
	return text;
}

static int
count(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what)) != NULL) {
		n++;
		s += strlen(what);
	}
	return n;
}

static const char *
file(const char *text)
{
	static char path[64];
	FILE *fp;
	int fd;

	snprintf(path, sizeof(path), "/tmp/evkit-http-XXXXXX.json");
	if ((fd = mkstemps(path, 5)) < 0 || (fp = fdopen(fd, "w")) == NULL)
		return "/nonexistent";
	fputs(text, fp);
	fclose(fp);
	return path;
}

static struct ev_http *
client(const struct ev_http_conn *c, const char *const *hdrs, int nh,
    int64_t timeout_ms, int rate)
{
	struct ev_http_opts o;

	memset(&o, 0, sizeof(o));
	o.url = url;
	o.conn = c;
	o.headers = hdrs;
	o.nheaders = nh;
	o.timeout_ms = timeout_ms;
	o.rate = rate;
	ev_err_clear(&err);
	return ev_http_new(&o, &err);
}

static void
test_keepalive(void)
{
	struct ev_http *h;
	struct ev_http_outcome out;
	const char *log;
	int i, good = 1;

	ok(serve("200") == 0, "keep-alive: server started");
	h = client(NULL, NULL, 0, 0, 0);
	ok(h != NULL, "keep-alive: client made");
	for (i = 0; i < 5; i++)
		good &= ev_http_send(h, "{\"a\":1}", 7, &out) == EV_HTTP_OK &&
		    out.status == 200;
	ok(good, "five events delivered, each 200");
	is_int(ev_http_connections(h), 1, "one connection for five events");
	log = logged();
	is_int(count(log, "\"conn\":1,"), 5, "the server saw one connection");
	is_int(count(log, "\"method\":\"POST\",\"path\":\"/hook\""), 5,
	    "POST to the path");
	is_int(count(log, "\"content-type\":\"application/json; "
	    "charset=utf-8\""), 5, "the content type API destinations send");
	is_int(count(log, "\"body\":\"{\\\"a\\\":1}\""), 5, "the payload");
	ev_http_free(h);
	stop();
}

static void
test_classes(void)
{
	struct ev_http *h;
	struct ev_http_outcome out;

	ok(serve("503,429,400,404,302,200,close,close,stall") == 0,
	    "classes: server started");
	h = client(NULL, NULL, 0, 400, 0);
	is_int(ev_http_send(h, "{}", 2, &out), EV_HTTP_RETRY, "503 retried");
	is_str(out.code, "ERROR_FROM_TARGET", "503: ERROR_FROM_TARGET");
	is_str(out.msg, "HTTP 503: Service Unavailable", "503: message");
	is_int(ev_http_send(h, "{}", 2, &out), EV_HTTP_RETRY, "429 retried");
	is_str(out.code, "THROTTLING", "429: THROTTLING");
	is_int(ev_http_send(h, "{}", 2, &out), EV_HTTP_FINAL, "400 final");
	is_str(out.code, "ERROR_FROM_TARGET", "400: ERROR_FROM_TARGET");
	is_str(out.msg, "HTTP 400: Bad Request", "400: message");
	is_int(out.status, 400, "400: status");
	is_int(ev_http_send(h, "{}", 2, &out), EV_HTTP_FINAL, "404 final");
	is_int(ev_http_send(h, "{}", 2, &out), EV_HTTP_FINAL,
	    "302 final (no redirects followed)");
	is_int(ev_http_send(h, "{}", 2, &out), EV_HTTP_OK, "then 200");
	/* libcurl itself resends once when a kept-alive connection died */
	is_int(ev_http_send(h, "{}", 2, &out), EV_HTTP_RETRY,
	    "a connection closed without an answer is retried");
	is_str(out.code, "CONNECTION_FAILURE", "closed: CONNECTION_FAILURE");
	is_int(ev_http_send(h, "{}", 2, &out), EV_HTTP_RETRY,
	    "a stalled answer times out and is retried");
	is_str(out.code, "TIMEOUT", "stall: TIMEOUT");
	ev_http_free(h);
	stop();
	h = client(NULL, NULL, 0, 0, 0);
	is_int(ev_http_send(h, "{}", 2, &out), EV_HTTP_RETRY,
	    "nobody listening: retried");
	is_str(out.code, "CONNECTION_FAILURE", "refused: CONNECTION_FAILURE");
	ev_http_free(h);
}

static void
test_auth(void)
{
	static const char *const hdrs[] = { "X-Extra: one two",
		"X-Other:three" };
	struct ev_http_conn *c = NULL;
	struct ev_http *h;
	struct ev_http_outcome out;
	const char *log;

	ev_err_clear(&err);
	ok(ev_http_conn_load(&c, file("{\"Name\":\"basic\","
	    "\"AuthorizationType\":\"BASIC\",\"AuthParameters\":{"
	    "\"BasicAuthParameters\":{\"Username\":\"user\",\"Password\":"
	    "\"pass\"},\"InvocationHttpParameters\":{\"HeaderParameters\":"
	    "[{\"Key\":\"X-Team\",\"Value\":\"pay\",\"IsValueSecret\":false}],"
	    "\"QueryStringParameters\":[{\"Key\":\"a\",\"Value\":\"1\"},"
	    "{\"Key\":\"b\",\"Value\":\"x y&z\"}],\"BodyParameters\":["
	    "{\"Key\":\"src\",\"Value\":\"evroute\"}]}}}"), &err) == 0,
	    "basic connection loaded: %s", err.msg);
	ok(serve("200") == 0, "auth: server started");
	h = client(c, hdrs, 2, 0, 0);
	ok(ev_http_send(h, "{\"a\":1}", 7, &out) == EV_HTTP_OK, "sent");
	ok(ev_http_send(h, "{ }", 3, &out) == EV_HTTP_OK, "sent");
	ok(ev_http_send(h, "[1]", 3, &out) == EV_HTTP_OK, "sent");
	log = logged();
	is_int(count(log, "\"authorization\":\"Basic dXNlcjpwYXNz\""), 3,
	    "basic auth header");
	is_int(count(log, "\"path\":\"/hook?a=1&b=x%20y%26z\""), 3,
	    "query string parameters, encoded");
	is_int(count(log, "\"x-team\":\"pay\""), 3, "header parameters");
	is_int(count(log, "\"x-extra\":\"one two\""), 3, "--header");
	is_int(count(log, "\"x-other\":\"three\""), 3, "--header, no space");
	ok(strstr(log, "\"body\":\"{\\\"a\\\":1,\\\"src\\\":\\\"evroute\\\"}\"")
	    != NULL, "body parameters added to an object");
	ok(strstr(log, "\"body\":\"{ \\\"src\\\":\\\"evroute\\\"}\"") != NULL,
	    "body parameters added to an empty object");
	ok(strstr(log, "\"body\":\"[1]\"") != NULL,
	    "an array is sent as it is");
	ev_http_free(h);
	ev_http_conn_free(c);
	stop();

	ok(ev_http_conn_load(&c, file("{\"Name\":\"key\","
	    "\"AuthorizationType\":\"API_KEY\",\"AuthParameters\":{"
	    "\"ApiKeyAuthParameters\":{\"ApiKeyName\":\"x-api-key\","
	    "\"ApiKeyValue\":\"s3cret\"}}}"), &err) == 0,
	    "api key connection loaded");
	ok(serve("200") == 0, "api key: server started");
	h = client(c, NULL, 0, 0, 0);
	ok(ev_http_send(h, "{}", 2, &out) == EV_HTTP_OK, "sent");
	log = logged();
	ok(strstr(log, "\"x-api-key\":\"s3cret\"") != NULL, "api key header");
	ok(strstr(log, "authorization") == NULL, "no basic auth");
	ev_http_free(h);
	ev_http_conn_free(c);
	stop();
}

static void
test_large(void)
{
	size_t n = 3 * 1024 * 1024, i;
	char *p = malloc(n + 1), *want;
	struct ev_http *h;
	struct ev_http_outcome out;

	memcpy(p, "{\"x\":\"", 6);
	for (i = 6; i < n - 2; i++)
		p[i] = (char)('a' + i % 26);
	memcpy(p + n - 2, "\"}", 2);
	p[n] = '\0';
	ok(serve("200") == 0, "large: server started");
	h = client(NULL, NULL, 0, 0, 0);
	ok(ev_http_send(h, p, n, &out) == EV_HTTP_OK, "a 3 MiB payload sent");
	want = malloc(n + 8);
	memcpy(want, "\"x\\\":\\\"", 7);
	memcpy(want + 7, p + 6, n - 8);
	want[n - 1] = '\0';
	ok(strstr(logged(), want) != NULL, "and received whole");
	ok(strstr(logged(), "\"expect\"") == NULL,
	    "without waiting for 100-continue");
	free(want);
	free(p);
	ev_http_free(h);
	stop();
}

static void
test_rate(void)
{
	struct ev_http *h;
	struct ev_http_outcome out;
	int64_t t0;
	int i;

	ok(serve("200") == 0, "rate: server started");
	h = client(NULL, NULL, 0, 0, 4);
	t0 = ev_now_ms();
	for (i = 0; i < 9; i++)
		ev_http_send(h, "{}", 2, &out);
	is_int(ev_now_ms() - t0, 2000,
	    "9 requests at 4 a second: 2s on the virtual clock");
	ev_http_free(h);
	stop();
}

/* Load a connection from text: the error message (or "ok"). */
static const char *
conn_err(const char *text)
{
	struct ev_http_conn *c = NULL;
	static char msg[600];

	ev_err_clear(&err);
	if (ev_http_conn_load(&c, file(text), &err) == 0) {
		ev_http_conn_free(c);
		return "ok";
	}
	snprintf(msg, sizeof(msg), "%lu:%lu: %s", err.line, err.col, err.msg);
	return msg;
}

static const char *
dest_err(const char *text, struct ev_http_dest **d)
{
	static char msg[600];

	ev_err_clear(&err);
	*d = NULL;
	if (ev_http_dest_load(d, file(text), &err) == 0)
		return "ok";
	snprintf(msg, sizeof(msg), "%lu:%lu: %s", err.line, err.col, err.msg);
	return msg;
}

static void
test_files(void)
{
	struct ev_http_dest *d;

	is_str(conn_err("{\"Name\":\"c\",\"AuthorizationType\":\"OAUTH_"
	    "CLIENT_CREDENTIALS\",\"AuthParameters\":{}}"),
	    "1:33: AuthorizationType OAUTH_CLIENT_CREDENTIALS is not "
	    "supported: use BASIC or API_KEY", "OAuth refused");
	is_str(conn_err("{\"Name\":\"c\",\n\"AuthorizationType\":\"DIGEST\","
	    "\"AuthParameters\":{}}"),
	    "2:21: 1 validation error detected: Value 'DIGEST' at "
	    "'authorizationType' failed to satisfy constraint: Member must "
	    "satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, "
	    "API_KEY]", "bad AuthorizationType, AWS's words");
	is_str(conn_err("{\"Name\":\"a b\",\"AuthorizationType\":\"BASIC\"}"),
	    "1:9: 1 validation error detected: Value 'a b' at 'name' failed "
	    "to satisfy constraint: Member must satisfy regular expression "
	    "pattern: [\\.\\-_A-Za-z0-9]+", "bad Name");
	is_str(conn_err("{\"Name\":\"\",\"AuthorizationType\":\"BASIC\"}"),
	    "1:9: 1 validation error detected: Value '' at 'name' failed to "
	    "satisfy constraint: Member must have length greater than or "
	    "equal to 1", "empty Name");
	is_str(conn_err("{\"Name\":\"c\",\"AuthorizationType\":\"BASIC\","
	    "\"AuthParameters\":{}}"),
	    "1:58: missing member 'BasicAuthParameters'",
	    "BASIC without its parameters");
	is_str(conn_err("{\"Name\":\"c\",\"AuthorizationType\":\"API_KEY\","
	    "\"AuthParameters\":{\"ApiKeyAuthParameters\":{\"ApiKeyName\":"
	    "\"a\",\"ApiKeyValue\":\"b\"},\"InvocationHttpParameters\":{"
	    "\"HeaderParameters\":[{\"Key\":\"x\\ny\",\"Value\":\"v\"}]}}}"),
	    "1:176: invalid header name 'x\ny'", "a header name with a newline");
	is_str(conn_err("{\"Name\":\"c\",\"Nmae\":1}"),
	    "1:13: unknown member 'Nmae'", "unknown member");
	is_str(conn_err("[1]"), "1:1: 'connection' must be an object",
	    "not an object");

	is_str(dest_err("{\"Name\":\"orders\",\"ConnectionArn\":\"arn:aws:"
	    "events:us-east-1:1:connection/c/1\",\"InvocationEndpoint\":"
	    "\"https://example.com/x\",\"HttpMethod\":\"PUT\","
	    "\"InvocationRateLimitPerSecond\":20}", &d), "ok",
	    "API destination loaded");
	if (d != NULL) {
		is_str(d->method, "PUT", "its method");
		is_int(d->rate, 20, "its rate");
		ok(ev_http_dest_names(d, "arn:aws:events:us-east-1:1:"
		    "api-destination/orders/a1b2"), "its ARN names it");
		ok(!ev_http_dest_names(d, "arn:aws:events:us-east-1:1:"
		    "api-destination/orders2/a1b2"), "another's does not");
		ok(ev_http_dest_names(d, "{\"Fn::GetAtt\":[\"orders\","
		    "\"Arn\"]}"), "a template's GetAtt names it");
		ok(!ev_http_dest_names(d, "{\"Ref\":\"orders\"}"),
		    "a Ref does not");
		ev_http_dest_free(d);
	}
	is_str(dest_err("{\"Name\":\"o\",\"ConnectionArn\":\"c\","
	    "\"InvocationEndpoint\":\"http://x/\",\"HttpMethod\":\"TRACE\"}",
	    &d), "1:79: 1 validation error detected: Value 'TRACE' at "
	    "'httpMethod' failed to satisfy constraint: Member must satisfy "
	    "enum value set: [POST, GET, HEAD, OPTIONS, PUT, PATCH, DELETE]",
	    "TRACE refused as AWS does");
	is_str(dest_err("{\"Name\":\"o\",\"ConnectionArn\":\"c\","
	    "\"InvocationEndpoint\":\"http://x/\",\"HttpMethod\":\"POST\","
	    "\"InvocationRateLimitPerSecond\":0}", &d),
	    "1:117: 1 validation error detected: Value '0' at "
	    "'invocationRateLimitPerSecond' failed to satisfy constraint: "
	    "Member must have value greater than or equal to 1",
	    "rate 0 refused as AWS does");
	is_str(dest_err("{\"Name\":\"o\",\"ConnectionArn\":\"c\","
	    "\"InvocationEndpoint\":\"ftp://x/\",\"HttpMethod\":\"POST\"}",
	    &d), "1:54: InvocationEndpoint 'ftp://x/': expected an http:// "
	    "or https:// URL", "not an http URL");
	ok(ev_http_header_check("X-A: b", &err) == 0, "a header");
	ok(ev_http_header_check("X A: b", &err) < 0, "a space in the name");
	ok(ev_http_header_check(": b", &err) < 0, "no name");
	ok(ev_http_header_check("X-A", &err) < 0, "no colon");
	ok(ev_http_header_check("X-A: b\r\nX-B: c", &err) < 0,
	    "a line break");
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	setenv("EVKIT_NOW", "2026-12-03T00:00:00Z", 1);
	ev_err_clear(&err);
	ev_clock_init(&err);
	test_keepalive();
	test_classes();
	test_auth();
	test_large();
	test_rate();
	test_files();
	return tap_done();
}
