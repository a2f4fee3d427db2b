/*
 * Unit tests for lib/rules/rulefile.c: ev_rules_load_cb() hands every rule
 * of every file shape to its callback, with its name, its index in the rule
 * set and its rule object as located JSON, and an error from the callback
 * refuses the file, located.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evkit.h"
#include "json/json_int.h"
#include "tap.h"

static char dir[] = "/tmp/evkit-rulefile-XXXXXX";
static char path[4096];

/* What the callback saw, one line per rule. */
struct seen {
	char log[4096];
	int calls;
	int fail_at;		/* refuse the rule with this index (or -1) */
	const char *member;	/* ... located at this member, if set */
};

static const char *
write_file(const char *name, const char *text)
{
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL)
		return path;
	fputs(text, fp);
	fclose(fp);
	return path;
}

/*
 * Log "NAME #INDEX LINE:COL TEXT [TYPE-OF-RESOURCE]" (the name's file part
 * cut to its base name).
 */
static int
on_rule(void *ctx, const struct ev_rule_src *r, struct ev_err *err)
{
	struct seen *s = ctx;
	const char *name = r->name, *slash = strrchr(name, '/');
	size_t n = strlen(s->log);
	int t, m;

	s->calls++;
	if (slash != NULL && strncmp(name, dir, strlen(dir)) == 0)
		name = slash + 1;
	snprintf(s->log + n, sizeof(s->log) - n, "%s #%zu %lu:%lu %.*s", name,
	    r->index, r->line, r->col, (int)r->len, r->text ? r->text : "-");
	n = strlen(s->log);
	if (r->resource >= 0) {
		t = ev_jdoc_member(r->doc, r->resource, "Type");
		snprintf(s->log + n, sizeof(s->log) - n, " [%s]",
		    t >= 0 ? r->doc->n[t].str : "?");
		n = strlen(s->log);
	}
	snprintf(s->log + n, sizeof(s->log) - n, "\n");
	if ((int)r->index != s->fail_at)
		return 0;
	ev_err_set(err, "no targets");
	if (s->member != NULL) {
		m = ev_jdoc_member(r->doc, r->node, s->member);
		if (m >= 0)
			ev_rule_src_locate(r, r->doc->n[m].koff, err);
	}
	return -1;
}

/* Load file name holding text; return the log (or "ERR msg" lines). */
static const char *
load(const char *name, const char *text, int fail_at, const char *member,
    struct ev_err *err)
{
	static struct seen s;
	struct ev_rules *rs = ev_rules_new();
	int r;

	memset(&s, 0, sizeof(s));
	s.fail_at = fail_at;
	s.member = member;
	ev_err_clear(err);
	r = ev_rules_load_cb(rs, write_file(name, text), on_rule, &s, err);
	if (r >= 0 && r != s.calls)
		snprintf(s.log, sizeof(s.log), "%d rules, %d calls", r,
		    s.calls);
	ev_rules_free(rs);
	return s.log;
}

int
main(void)
{
	struct ev_err err;
	const char *log;

	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}

	log = load("list.json", "[\n"
	    " {\"name\": \"a\", \"pattern\": {\"s\": [\"x\"]}},\n"
	    " {\"s\": [\"y\"]},\n"
	    " {\"pattern\": \"{\\\"s\\\": [\\\"z\\\"]}\"}\n"
	    "]\n", -1, NULL, &err);
	is_str(log,
	    "a #0 2:2 {\"name\": \"a\", \"pattern\": {\"s\": [\"x\"]}}\n"
	    "list.json:2 #1 3:2 {\"s\": [\"y\"]}\n"
	    "list.json:3 #2 4:2 {\"pattern\": \"{\\\"s\\\": [\\\"z\\\"]}\"}\n",
	    "list: each element, named, indexed and located");

	log = load("rules.ndjson",
	    "{\"name\":\"a\",\"pattern\":{\"s\":[\"x\"]}}\n"
	    "\n"
	    "  {\"s\":[\"y\"]}\n", -1, NULL, &err);
	is_str(log,
	    "a #0 1:1 {\"name\":\"a\",\"pattern\":{\"s\":[\"x\"]}}\n"
	    "rules.ndjson:3 #1 3:3 {\"s\":[\"y\"]}\n",
	    "NDJSON: each line's object, located in the file");

	log = load("p.json", "\n{\"s\": [\"x\"]}\n", -1, NULL, &err);
	is_str(log, "p.json #0 2:1 {\"s\": [\"x\"]}\n",
	    "one pattern: the pattern itself, named by the file");

	log = load("t.json", "{\"Resources\": {\n"
	    " \"Q\": {\"Type\": \"AWS::SQS::Queue\"},\n"
	    " \"R\": {\"Type\": \"AWS::Events::Rule\", \"Properties\": "
	    "{\"EventPattern\": {\"s\": [\"x\"]}, \"Targets\": []}},\n"
	    " \"F\": {\"Type\": \"AWS::Serverless::Function\", \"Properties\": "
	    "{\"Events\": {\"E\": {\"Type\": \"EventBridgeRule\", "
	    "\"Properties\": {\"Pattern\": {\"s\": [\"y\"]}}}}}}\n"
	    "}}\n", -1, NULL, &err);
	is_str(log,
	    "R #0 3:7 {\"Type\": \"AWS::Events::Rule\", \"Properties\": "
	    "{\"EventPattern\": {\"s\": [\"x\"]}, \"Targets\": []}} "
	    "[AWS::Events::Rule]\n"
	    "F.E #1 4:76 {\"Type\": \"EventBridgeRule\", \"Properties\": "
	    "{\"Pattern\": {\"s\": [\"y\"]}}} [AWS::Serverless::Function]\n",
	    "JSON template: the rule resource, the SAM event source and its "
	    "function");

	log = load("t.yaml", "Resources:\n"
	    "  R:\n"
	    "    Type: AWS::Events::Rule\n"
	    "    Properties:\n"
	    "      EventPattern: {s: [x]}\n"
	    "      Targets:\n"
	    "        - {Arn: !GetAtt Q.Arn, Id: q}\n", -1, NULL, &err);
	is_str(log,
	    "R #0 3:5 {\"Type\":\"AWS::Events::Rule\",\"Properties\":"
	    "{\"EventPattern\":{\"s\":[\"x\"]},\"Targets\":[{\"Arn\":"
	    "{\"Fn::GetAtt\":[\"Q\",\"Arn\"]},\"Id\":\"q\"}]}} "
	    "[AWS::Events::Rule]\n",
	    "YAML template: the resource as JSON, located in the YAML");

	log = load("describe.json", "{\"Name\": \"d\", \"State\": \"ENABLED\","
	    " \"EventPattern\": \"{\\\"s\\\":[\\\"x\\\"]}\"}\n", -1, NULL,
	    &err);
	is_str(log, "d #0 1:1 {\"Name\": \"d\", \"State\": \"ENABLED\", "
	    "\"EventPattern\": \"{\\\"s\\\":[\\\"x\\\"]}\"}\n",
	    "describe-rule output: the whole rule");

	log = load("list-rules.json", "{\"Rules\": [\n"
	    "  {\"Name\": \"cron\", \"ScheduleExpression\": \"rate(1 hour)\"},\n"
	    "  {\"Name\": \"e\", \"EventPattern\": \"{\\\"s\\\":[\\\"x\\\"]}\"}"
	    "\n]}\n", -1, NULL, &err);
	is_str(log, "e #0 3:3 {\"Name\": \"e\", \"EventPattern\": "
	    "\"{\\\"s\\\":[\\\"x\\\"]}\"}\n",
	    "list-rules output: each rule with a pattern, scheduled ones "
	    "skipped");

	/* errors from the callback */
	log = load("t.yaml", "Resources:\n"
	    "  A:\n"
	    "    Type: AWS::Events::Rule\n"
	    "    Properties: {EventPattern: {s: [x]}}\n"
	    "  B:\n"
	    "    Type: AWS::Events::Rule\n"
	    "    Properties: {EventPattern: {s: [y]}}\n", 1, NULL, &err);
	ok(err.file != NULL && strcmp(err.file, path) == 0 &&
	    err.line == 6 && err.col == 5 &&
	    strcmp(err.msg, "no targets") == 0,
	    "an error from fn is located at the rule object (YAML)");
	is_int(strchr(log, '\n') != NULL, 1, "rules before it were handed on");

	load("rules.ndjson", "{\"s\":[\"x\"]}\n"
	    "{\"name\":\"b\", \"pattern\":{\"s\":[\"y\"]}}\n", 1, "pattern",
	    &err);
	ok(err.file != NULL && strcmp(err.file, path) == 0 &&
	    err.line == 2 && err.col == 14 &&
	    strcmp(err.msg, "no targets") == 0,
	    "fn can locate its error at a member (NDJSON line 2)");
	{
		struct ev_rules *rs = ev_rules_new();

		is_int(ev_rules_load(rs, path, &err), 2,
		    "ev_rules_load: the same file without a callback");
		ev_rules_free(rs);
	}

	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
