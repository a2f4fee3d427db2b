/*
 * Unit tests for lib/route/target.c and bus.c: target URIs, the line
 * writer (whole lines, one write per buffer), and the bus's routing:
 * fan-out, first match, DISABLED, unmatched, mapping, dead letters.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evkit.h"
#include "tap.h"

static char dir[64];
static struct ev_err err;

/* The contents of file name in dir (static buffer). */
static const char *
slurp(const char *name)
{
	static char buf[8192];
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY)) < 0)
		return "(missing)";
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void
test_uris(void)
{
	const char *rest;

	is_int(ev_uri_kind("-", &rest), EV_URI_STDOUT, "- is stdout");
	is_int(ev_uri_kind("file:a/b", &rest), EV_URI_FILE, "file:");
	is_str(rest, "a/b", "file: path");
	is_int(ev_uri_kind("fd:3", &rest), EV_URI_FD, "fd:");
	is_int(ev_uri_kind("exec:cat -n", &rest), EV_URI_EXEC, "exec:");
	is_int(ev_uri_kind("https://x/", &rest), EV_URI_HTTP, "https:");
	is_int(ev_uri_kind("arn:aws:sqs:q", &rest), EV_URI_AWS, "an ARN");
	is_int(ev_uri_kind("{\"Ref\":\"Q\"}", &rest), EV_URI_AWS,
	    "an intrinsic");
	is_int(ev_uri_kind("files:x", &rest), EV_URI_UNKNOWN, "unknown");
	ok(ev_uri_check("fd:3", &err) == 0, "fd:3 is fine");
	ok(ev_uri_check("fd:", &err) < 0, "fd: needs a number");
	is_str(err.msg, "'fd:': fd: needs a descriptor number", "its message");
	ok(ev_uri_check("fd:x", &err) < 0, "fd:x is refused");
	ok(ev_uri_check("store:s.db", &err) == 0, "store: is fine");
	ok(ev_uri_check("http://x/", &err) == 0, "http: is fine");
	ok(ev_uri_check("https://", &err) < 0, "https: needs a host");
	is_str(err.msg, "'https://': https:// needs a host", "its message");
	ok(ev_uri_check("exec:'a", &err) < 0, "an unterminated quote");
	is_str(err.msg, "'exec:'a': unterminated quote", "its message");
	ok(ev_uri_check("pipe: ", &err) < 0, "pipe: with no command");
}

static void
test_writer(void)
{
	static char big[300000];
	char uri[128];
	struct ev_route_out *o;
	struct stat st;

	snprintf(uri, sizeof(uri), "file:%s/w", dir);
	o = ev_route_out_open(uri, &err);
	ok(o != NULL, "a file writer opens");
	ev_route_out_line(o, "a", 1);
	ev_route_out_line(o, "", 0);
	is_str(slurp("w"), "", "lines wait in the buffer");
	ok(ev_route_out_flush(o) == 0, "flush");
	is_str(slurp("w"), "a\n\n", "whole lines, newline each");
	memset(big, 'x', sizeof(big));
	ev_route_out_line(o, big, sizeof(big));
	ok(ev_route_out_stat(o)->st_ino != 0, "its stat");
	snprintf(uri, sizeof(uri), "%s/w", dir);
	ok(stat(uri, &st) == 0 && st.st_size == 3 + (off_t)sizeof(big) + 1,
	    "a line longer than the buffer is written at once");
	ok(ev_route_out_close(o, &err) == 0, "close");
	ok(ev_route_out_open("file:/nonexistent/x", &err) == NULL,
	    "a file in a missing directory");
	is_str(err.msg, "file:/nonexistent/x: No such file or directory",
	    "its message");
}

static const char *rules =
    "[{\"Name\":\"a\",\"Arn\":\"arn:aws:events:x:1:rule/a\","
    "\"EventPattern\":{\"k\":[1,2]},\"Targets\":["
    "{\"Id\":\"t\",\"Arn\":\"file:DIR/a\"},"
    "{\"Id\":\"u\",\"Arn\":\"arn:aws:sqs:x:1:q\",\"InputPath\":\"$.v\"}]},"
    "{\"Name\":\"b\",\"EventPattern\":{\"k\":[2]},\"Targets\":["
    "{\"Id\":\"t\",\"Arn\":\"file:DIR/b\"}]},"
    "{\"Name\":\"c\",\"State\":\"DISABLED\",\"EventPattern\":{\"k\":[1]},"
    "\"Targets\":[{\"Id\":\"t\",\"Arn\":\"exec:never\"}]}]";

/* Load rules (DIR replaced) and make a bus with maps and flags. */
static struct ev_bus *
bus(struct ev_route_config *cf, struct ev_rules **rs, const char *map,
    int first)
{
	char text[2048], path[128], *p, dlq[128];
	const char *maps[1] = { map };
	struct ev_bus_opts o;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/rules.json", dir);
	strcpy(text, rules);
	fp = fopen(path, "w");
	for (p = text; *p != '\0'; p++) {
		if (strncmp(p, "DIR", 3) == 0) {
			fputs(dir, fp);
			p += 2;
		} else
			fputc(*p, fp);
	}
	fclose(fp);
	memset(cf, 0, sizeof(*cf));
	*rs = ev_rules_new();
	ev_err_clear(&err);
	if (ev_route_config_load(cf, *rs, path, &err) < 0 ||
	    ev_rules_finish(*rs, &err) < 0)
		return NULL;
	snprintf(dlq, sizeof(dlq), "file:%s/dlq", dir);
	memset(&o, 0, sizeof(o));
	o.first_match = first;
	o.maps = maps;
	o.nmaps = map != NULL;
	o.dlq = dlq;
	o.rules_path = path;
	return ev_bus_new(cf, *rs, &o, &err);
}

static void
test_bus(void)
{
	struct ev_route_config cf;
	struct ev_rules *rs;
	struct ev_bus *b;
	char map[128];
	const char *e1 = "{\"k\":1,\"v\":[1]}", *e2 = "{\"k\":2}",
	    *e3 = "{\"k\":3}";

	b = bus(&cf, &rs, NULL, 0);
	ok(b == NULL, "an unmapped AWS target is refused");
	is_str(err.msg, "target 'u' of rule 'a': 'arn:aws:sqs:x:1:q' is an "
	    "AWS target: map it to a local URI with --target", "its message");
	ok(err.line == 1 && err.col > 1, "located in the rules file");
	ev_route_config_free(&cf);
	ev_rules_free(rs);

	snprintf(map, sizeof(map), "a.u=file:%s/u", dir);
	b = bus(&cf, &rs, map, 0);
	ok(b != NULL, "mapped with RULE.ID=URI: %s", err.msg);
	is_str(ev_bus_uri(b, 0, 1), map + 4, "the map's URI");
	ok(ev_bus_uri(b, 2, 0) == NULL, "a DISABLED rule's target is not "
	    "even checked");
	is_int(ev_bus_event(b, "in", 1, e1, strlen(e1), 0, &err), EV_BUS_OK,
	    "event 1");
	is_int(ev_bus_event(b, "in", 2, e2, strlen(e2), 0, &err), EV_BUS_OK,
	    "event 2");
	is_int(ev_bus_event(b, "in", 3, e3, strlen(e3), 0, &err), EV_BUS_OK,
	    "event 3");
	is_int(ev_bus_event(b, "in", 4, "{\"k\":", 5, 0, &err), EV_BUS_BAD,
	    "a bad event");
	ok(ev_bus_flush(b, &err) == 0, "flush");
	is_str(slurp("a"), "{\"k\":1,\"v\":[1]}\n{\"k\":2}\n",
	    "rule a's target t: both, in order");
	is_str(slurp("b"), "{\"k\":2}\n", "rule b: event 2 too (fan-out)");
	is_str(slurp("u"), "[1]\n", "InputPath shaped");
	is_int((int)ev_bus_unmatched(b), 1, "one unmatched");
	is_int((int)ev_bus_dead(b), 1, "one dead letter: $.v of event 2");
	ok(strstr(slurp("dlq"), "\"RULE_ARN\":\"arn:aws:events:x:1:rule/a\","
	    "\"TARGET_ARN\":\"arn:aws:sqs:x:1:q\"") != NULL,
	    "the dead letter's attributes");
	ev_bus_free(b, &err);
	ev_route_config_free(&cf);
	ev_rules_free(rs);

	unlink(strchr(map, ':') + 1);
	snprintf(map, sizeof(map), "%s/a", dir);
	unlink(map);
	snprintf(map, sizeof(map), "%s/b", dir);
	unlink(map);
	snprintf(map, sizeof(map), "u=file:%s/u", dir);
	b = bus(&cf, &rs, map, 1);
	ok(b != NULL, "mapped with ID=URI");
	ev_bus_event(b, "in", 1, e2, strlen(e2), 0, &err);
	ev_bus_free(b, &err);
	is_str(slurp("a"), "{\"k\":2}\n", "first match: rule a");
	is_str(slurp("b"), "", "first match: not rule b");
	ev_route_config_free(&cf);
	ev_rules_free(rs);
}

int
main(void)
{
	char cmd[128];

	strcpy(dir, "/tmp/evkit-bus-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	test_uris();
	test_writer();
	test_bus();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
