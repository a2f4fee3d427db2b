/*
 * Unit tests for lib/route/shape.c: a target's Input, InputPath and
 * InputTransformer as EventBridge delivers them.  Every worked example of
 * the AWS documentation, the outputs AWS recorded for LocalStack's
 * validated tests, every substitution case, every validation message,
 * hostile templates and events, and InputPath against libjq on random
 * events.  doc/input-transformer.md gives the sources.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evkit.h"
#include "jq/jq.h"
#include "tap.h"

/*
 * The EC2 event of the EventBridge user guide's input transformation page:
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
 * (one line, as evroute reads it, with the page's spaces).
 */
static const char *ec2 =
    "{\"version\": \"0\", \"id\": \"7bf73129-1428-4cd3-a780-95db273d1602\", "
    "\"detail-type\": \"EC2 Instance State-change Notification\", "
    "\"source\": \"aws.ec2\", \"account\": \"123456789012\", "
    "\"time\": \"2015-11-11T21:29:54Z\", \"region\": \"us-east-1\", "
    "\"resources\": [ \"arn:aws:ec2:us-east-1:123456789012:instance/"
    "i-abcd1111\" ], \"detail\": { \"instance-id\": \"i-0123456789\", "
    "\"state\": \"RUNNING\" } }";

/* The same, minified: what <aws.events.event.json> delivers. */
static const char *ec2_min =
    "{\"version\":\"0\",\"id\":\"7bf73129-1428-4cd3-a780-95db273d1602\","
    "\"detail-type\":\"EC2 Instance State-change Notification\","
    "\"source\":\"aws.ec2\",\"account\":\"123456789012\","
    "\"time\":\"2015-11-11T21:29:54Z\",\"region\":\"us-east-1\","
    "\"resources\":[\"arn:aws:ec2:us-east-1:123456789012:instance/"
    "i-abcd1111\"],\"detail\":{\"instance-id\":\"i-0123456789\","
    "\"state\":\"RUNNING\"}}";

static struct ev_shape_ctx ctx = {
	"example", "arn:aws:events:us-east-2:123456789012:rule/example", NULL,
	1447277394000LL	/* 2015-11-11T21:29:54Z */
};

static struct ev_err err;
static struct ev_buf out;
static char res[65536];
static int rc;

/* A transformer: template, then key, path pairs, NULL-terminated. */
static struct ev_shape *
tx(const char *tmpl, ...)
{
	static const char *keys[200], *paths[200];
	struct ev_shape_spec sp;
	const char *k;
	va_list ap;
	int n = 0;

	va_start(ap, tmpl);
	while ((k = va_arg(ap, const char *)) != NULL) {
		keys[n] = k;
		paths[n++] = va_arg(ap, const char *);
	}
	va_end(ap);
	memset(&sp, 0, sizeof(sp));
	sp.id = "t1";
	sp.index = 1;
	sp.has_transformer = 1;
	sp.input_template = tmpl;
	sp.npaths = n;
	sp.keys = keys;
	sp.paths = paths;
	ev_err_clear(&err);
	return ev_shape_compile(&sp, &err);
}

/* Apply sh to event; the payload (or "") in res, the result in rc. */
static const char *
run(const struct ev_shape *sh, const char *event, int flags)
{
	out.len = 0;
	ev_err_clear(&err);
	res[0] = '\0';
	if (sh == NULL) {
		rc = -2;
		return "(no shape)";
	}
	rc = ev_shape_apply(sh, event, strlen(event), &ctx, flags, &out, &err);
	if (rc == 0)
		snprintf(res, sizeof(res), "%.*s", (int)out.len, out.p);
	return res;
}

/* Compile template with the guide's variables, apply it to ec2. */
static void
guide(const char *tmpl, const char *want, const char *name)
{
	struct ev_shape *sh = tx(tmpl, "timestamp", "$.time",
	    "instance", "$.detail.instance-id", "state", "$.detail.state",
	    "resource", "$.resources[0]", NULL);

	if (sh == NULL)
		printf("# compile: %s\n", err.msg);
	is_str(run(sh, ec2, 0), want, "guide: %s", name);
	ev_shape_free(sh);
}

/* A transformer that must not compile, with AWS's message. */
static void
refused(struct ev_shape *sh, const char *msg, const char *name)
{
	ok(sh == NULL, "refused: %s", name);
	is_str(err.msg, msg, "refused: %s: message", name);
	ev_shape_free(sh);
}

static struct ev_shape *
spec3(const char *input, const char *path, int tr, const char *tmpl)
{
	struct ev_shape_spec sp;

	memset(&sp, 0, sizeof(sp));
	sp.id = "t1";
	sp.index = 2;
	sp.input = input;
	sp.input_path = path;
	sp.has_transformer = tr;
	sp.input_template = tmpl;
	ev_err_clear(&err);
	return ev_shape_compile(&sp, &err);
}

static void
test_guide(void)
{
	struct ev_shape *sh;
	char want[2048];

	/* The table of templates and outputs of the guide's page. */
	guide("\"instance <instance> is in <state>\"",
	    "\"instance i-0123456789 is in RUNNING\"", "simple string");
	guide("\"instance \\\"<instance>\\\" is in <state>\"",
	    "\"instance \\\"i-0123456789\\\" is in RUNNING\"",
	    "string with escaped quotes (console)");
	guide("\"instance \"<instance>\" is in <state>\"",
	    "\"instance \"i-0123456789\" is in RUNNING\"",
	    "string with quotes the CLI unescaped: text, kept as is");
	guide("{\n  \"instance\" : <instance>,\n  \"state\": <state>\n}",
	    "{\"instance\":\"i-0123456789\",\"state\":\"RUNNING\"}",
	    "simple JSON, minified");
	guide("{\n \"instance\" : <instance>,\n \"state\": \"<state>\",\n "
	    "\"instanceStatus\": \"instance \\\"<instance>\\\" is in "
	    "<state>\"\n}",
	    "{\"instance\":\"i-0123456789\",\"state\":\"RUNNING\","
	    "\"instanceStatus\":\"instance \\\"i-0123456789\\\" is in "
	    "RUNNING\"}", "JSON with strings and variables");
	guide("{\n  \"instance\" : <instance>,\n  \"state\": [ 9, <state>, "
	    "true ],\n  \"Transformed\" : \"Yes\"\n}\n",
	    "{\"instance\":\"i-0123456789\",\"state\":[9,\"RUNNING\",true],"
	    "\"Transformed\":\"Yes\"}",
	    "JSON with a mix of variables and static information");
	snprintf(want, sizeof(want), "{\"instance\":\"i-0123456789\","
	    "\"state\":\"RUNNING\",\"ruleArn\":\"arn:aws:events:us-east-2:"
	    "123456789012:rule/example\",\"ruleName\":\"example\","
	    "\"originalEvent\":%s}", ec2_min);
	guide("{\n  \"instance\" : <instance>,\n  \"state\": <state>,\n  "
	    "\"ruleArn\" : <aws.events.rule-arn>,\n  \"ruleName\" : "
	    "<aws.events.rule-name>,\n  \"originalEvent\" : "
	    "<aws.events.event.json>\n}", want,
	    "including reserved variables in JSON");
	guide("\"<aws.events.rule-name> triggered\"", "\"example triggered\"",
	    "including reserved variables in a string");
	guide("{\"timestamp\" : <timestamp>, \"resource\": \"<resource>\"}",
	    "{\"timestamp\":\"2015-11-11T21:29:54Z\",\"resource\":\"arn:aws:"
	    "ec2:us-east-1:123456789012:instance/i-abcd1111\"}",
	    "brackets and indices get items from arrays");

	/*
	 * The InputTransformer examples of the API reference:
	 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html
	 */
	sh = tx("<instance> is in state <status>", "instance",
	    "$.detail.instance-id", "status", "$.detail.state", NULL);
	is_str(run(sh, ec2, 0), "i-0123456789 is in state RUNNING",
	    "API reference: a text template");
	is_int(ev_shape_kind(sh), EV_SHAPE_TEXT, "it is text");
	ev_shape_free(sh);
	sh = tx("<instance> is in state \"<status>\"", "instance",
	    "$.detail.instance-id", "status", "$.detail.state", NULL);
	is_str(run(sh, ec2, 0), "i-0123456789 is in state \"RUNNING\"",
	    "API reference: quote marks within the text");
	ev_shape_free(sh);
	sh = tx("{\"myInstance\": <instance>,\"myStatus\": \"<instance> is in "
	    "state \\\"<status>\\\"\"}", "instance", "$.detail.instance-id",
	    "status", "$.detail.state", NULL);
	is_str(run(sh, ec2, 0), "{\"myInstance\":\"i-0123456789\","
	    "\"myStatus\":\"i-0123456789 is in state \\\"RUNNING\\\"\"}",
	    "API reference: JSON with variables in quotes or out");
	is_int(ev_shape_kind(sh), EV_SHAPE_JSON, "it is JSON");
	ev_shape_free(sh);
}

/*
 * What AWS delivered in LocalStack's AWS-validated tests
 * (tests/aws/services/events/test_events_inputs.snapshot.json, recorded
 * 13-05-2024 against AWS): https://github.com/localstack/localstack
 */
static void
test_recorded(void)
{
	const char *ev = "{\"version\":\"0\",\"id\":\"e1\",\"detail-type\":"
	    "\"core.update-account-command\",\"source\":"
	    "\"core.update-account-command\",\"account\":\"111111111111\","
	    "\"time\":\"date\",\"region\":\"us-east-1\",\"resources\":[],"
	    "\"detail\":{\"command\":\"update-account\",\"payload\":"
	    "{\"acc_id\":\"0a787ecb-4015\",\"sf_id\":\"baz\"}}}";
	struct ev_shape_ctx save = ctx;
	struct ev_shape *sh;
	const char *str = "\"Event of <detail-type> type, at time <timestamp>, "
	    "info extracted from detail <command>\"";
	const char *js = "{\"detailType\": <detail-type>,  \"time\": "
	    "<timestamp>, \"command\": <command>}";

	sh = tx(str, "detail-type", "$.detail-type", "timestamp", "$.time",
	    "command", "$.detail.command", NULL);
	is_str(run(sh, ev, 0), "\"Event of core.update-account-command type, "
	    "at time date, info extracted from detail update-account\"",
	    "recorded: string template");
	ev_shape_free(sh);
	sh = tx(str, "detail-type", "$.detail-type", "timestamp", "$.time",
	    "command", "$.detail.notinmessage", NULL);
	is_str(run(sh, ev, 0), "\"Event of core.update-account-command type, "
	    "at time date, info extracted from detail \"",
	    "recorded: a missing value inside a string is nothing");
	ev_shape_free(sh);
	sh = tx(js, "detail-type", "$.detail-type", "timestamp", "$.time",
	    "command", "$.detail.command", NULL);
	is_str(run(sh, ev, 0), "{\"detailType\":\"core.update-account-command\""
	    ",\"time\":\"date\",\"command\":\"update-account\"}",
	    "recorded: JSON template");
	ev_shape_free(sh);
	sh = tx(js, "detail-type", "$.detail-type", "timestamp", "$.time",
	    "command", "$.detail.notinmessage", NULL);
	is_str(run(sh, ev, 0), "{\"detailType\":\"core.update-account-command\""
	    ",\"time\":\"date\",\"command\":\"\"}",
	    "recorded: a missing value outside a string is \"\"");
	ev_shape_free(sh);
	sh = tx("\"{[/Check with special starting characters for event of "
	    "<detail-type> type\"", "detail-type", "$.detail-type", NULL);
	is_str(run(sh, ev, 0), "\"{[/Check with special starting characters "
	    "for event of core.update-account-command type\"",
	    "recorded: special starting characters");
	ev_shape_free(sh);

	/* The rule ARN on a custom bus, derived from the event. */
	ctx.rule_name = "r1";
	ctx.rule_arn = NULL;
	ctx.bus = "b1";
	sh = tx("\"Message containing all pre defined variables "
	    "<aws.events.rule-arn> <aws.events.rule-name> "
	    "<aws.events.event.ingestion-time>\"", NULL);
	is_str(run(sh, ev, 0), "\"Message containing all pre defined variables "
	    "arn:aws:events:us-east-1:111111111111:rule/b1/r1 r1 "
	    "2015-11-11T21:29:54Z\"", "recorded: the predefined variables");
	ev_shape_free(sh);
	sh = tx("{\"originalEvent\": <aws.events.event>, "
	    "\"originalEventJson\": <aws.events.event.json>}", NULL);
	{
		char want[2048];

		snprintf(want, sizeof(want), "{\"originalEvent\":{\"id\":\"e1\","
		    "\"account\":\"111111111111\",\"detailType\":"
		    "\"core.update-account-command\",\"time\":\"date\","
		    "\"source\":\"core.update-account-command\",\"region\":"
		    "\"us-east-1\",\"resources\":[],\"version\":\"0\"},"
		    "\"originalEventJson\":%s}", ev);
		is_str(run(sh, ev, 0), want, "recorded: <aws.events.event> is "
		    "the envelope without detail, <aws.events.event.json> the "
		    "event");
	}
	ev_shape_free(sh);

	/* InputPath. */
	sh = spec3(NULL, "$.detail", 0, NULL);
	is_str(run(sh, ev, 0), "{\"command\":\"update-account\",\"payload\":"
	    "{\"acc_id\":\"0a787ecb-4015\",\"sf_id\":\"baz\"}}",
	    "recorded: InputPath $.detail");
	is_int(ev_shape_kind(sh), EV_SHAPE_PATH, "kind: path");
	ev_shape_free(sh);
	sh = spec3(NULL, "$.detail.payload", 0, NULL);
	is_str(run(sh, ev, 0), "{\"acc_id\":\"0a787ecb-4015\",\"sf_id\":"
	    "\"baz\"}", "recorded: InputPath nested");
	ev_shape_free(sh);
	sh = spec3(NULL, "$.detail.payload.sf_id", 0, NULL);
	is_str(run(sh, ev, 0), "\"baz\"", "recorded: InputPath to a string is "
	    "a JSON string");
	ev_shape_free(sh);
	ctx = save;
}

static void
test_substitution(void)
{
	const char *ev = "{\"s\":\"a\\\"b\\\\c\\u00e9\\n\",\"n\":-1.5e3,"
	    "\"t\":true,\"f\":false,\"z\":null,\"o\":{ \"k\" : [1, \"x y\", "
	    "{\"q\":\"\\\"\"}] },\"a\":[ ],\"e\":\"\", \"region\":\"eu-west-1\","
	    "\"account\":\"42\"}";
	struct ev_shape_ctx save = ctx;
	struct ev_shape *sh;
	const char *all = "s", *pairs[] = { "s", "$.s", "n", "$.n", "t", "$.t",
	    "f", "$.f", "z", "$.z", "o", "$.o", "a", "$.a", "e", "$.e", "m",
	    "$.missing" };

	(void)all;
	(void)pairs;
#define VARS "s", "$.s", "n", "$.n", "t", "$.t", "f", "$.f", "z", "$.z", \
	"o", "$.o", "a", "$.a", "e", "$.e", "m", "$.missing", NULL
	sh = tx("{\"s\":<s>,\"n\":<n>,\"t\":<t>,\"f\":<f>,\"z\":<z>,"
	    "\"o\":<o>,\"a\":<a>,\"e\":<e>,\"m\":<m>}", VARS);
	is_str(run(sh, ev, 0), "{\"s\":\"a\\\"b\\\\c\\u00e9\\n\",\"n\":-1.5e3,"
	    "\"t\":true,\"f\":false,\"z\":null,\"o\":{\"k\":[1,\"x y\","
	    "{\"q\":\"\\\"\"}]},\"a\":[],\"e\":\"\",\"m\":\"\"}",
	    "outside strings: each value's JSON text, containers minified, "
	    "a missing value \"\"");
	ev_shape_free(sh);
	sh = tx("{\"x\":\"s=<s> n=<n> t=<t> f=<f> z=<z> o=<o> a=<a> e=<e> "
	    "m=<m>.\"}", VARS);
	is_str(run(sh, ev, 0), "{\"x\":\"s=a\\\"b\\\\c\\u00e9\\n n=-1.5e3 "
	    "t=true f=false z=null o={k:[1,x y,{q:}]} a=[] e= m=.\"}",
	    "inside a string: strings keep their escapes, containers lose "
	    "their quotes, a missing value is nothing");
	ev_shape_free(sh);
	sh = tx("s=<s> n=<n> t=<t> z=<z> o=<o> e=<e> m=<m>.", VARS);
	is_str(run(sh, ev, 0), "s=a\"b\\c\xc3\xa9\n n=-1.5e3 t=true z=null "
	    "o={k:[1,x y,{q:}]} e= m=.", "in text: strings decoded");
	ev_shape_free(sh);
	sh = tx("<m>", VARS);
	{
		struct ev_buf empty = { NULL, 0, 0 };

		ok(ev_shape_apply(sh, ev, strlen(ev), &ctx, EV_SHAPE_LINE,
		    &empty, &err) == 0 && empty.len == 0, "an empty payload "
		    "into an empty buffer");
		ev_buf_free(&empty);
	}
	ev_shape_free(sh);
	sh = tx("s=<s>", VARS);
	run(sh, ev, EV_SHAPE_LINE);
	is_int(rc, EV_SHAPE_UNDELIVERABLE, "text with a newline: a line "
	    "target cannot take it");
	is_str(err.msg, "the payload holds a newline: the target takes one "
	    "line per event", "the reason");
	ev_shape_free(sh);
	sh = tx("{\"x\":\"<s>\"}", VARS);
	is_str(run(sh, ev, EV_SHAPE_LINE), "{\"x\":\"a\\\"b\\\\c\\u00e9\\n\"}",
	    "JSON: a newline in a value stays escaped, one line");
	ev_shape_free(sh);
	sh = tx("{\"<s>\":1,\"k<n>\":2}", VARS);
	is_str(run(sh, ev, 0), "{\"a\\\"b\\\\c\\u00e9\\n\":1,\"k-1.5e3\":2}",
	    "placeholders inside keys (inside strings) are substituted");
	ev_shape_free(sh);
	sh = tx("[<n>, \"<t>\",<m>]", VARS);
	is_str(run(sh, ev, 0), "[-1.5e3,\"true\",\"\"]", "an array template");
	ev_shape_free(sh);

	/* The reserved variables. */
	ctx.rule_name = "we\"ird\\\x01";
	ctx.rule_arn = NULL;
	ctx.bus = "default";
	ctx.ingestion_ms = 1447277394123LL;
	sh = tx("{\"a\":<aws.events.rule-arn>,\"n\":<aws.events.rule-name>,"
	    "\"s\":\"<aws.events.rule-name>\",\"t\":"
	    "<aws.events.event.ingestion-time>}", NULL);
	is_str(run(sh, ev, 0), "{\"a\":\"arn:aws:events:eu-west-1:42:rule/"
	    "we\\\"ird\\\\\\u0001\",\"n\":\"we\\\"ird\\\\\\u0001\",\"s\":"
	    "\"we\\\"ird\\\\\\u0001\",\"t\":\"2015-11-11T21:29:54.123Z\"}",
	    "rule name and ARN (default bus) are escaped, time is RFC 3339");
	ev_shape_free(sh);
	sh = tx("<aws.events.rule-arn>", NULL);
	ctx.bus = NULL;
	is_str(run(sh, "{}", 0), "arn:aws:events:::rule/we\"ird\\\x01",
	    "text: as is; no region or account: empty");
	is_str(run(sh, "{\"region\":\"e\\\"u\",\"account\":1}", 0),
	    "arn:aws:events:e\"u:1:rule/we\"ird\\\x01",
	    "text: the event's region decoded");
	ctx.rule_arn = "arn:x";
	is_str(run(sh, "{}", 0), "arn:x", "a given ARN wins");
	ev_shape_free(sh);
	ctx.rule_arn = NULL;
	ctx.bus = "b\"";
	sh = tx("[<aws.events.rule-arn>,\"<aws.events.rule-arn>\"]", NULL);
	is_str(run(sh, "{\"region\":\"e\\\"u\",\"account\":1}", 0),
	    "[\"arn:aws:events:e\\\"u:1:rule/b\\\"/we\\\"ird\\\\\\u0001\","
	    "\"arn:aws:events:e\\\"u:1:rule/b\\\"/we\\\"ird\\\\\\u0001\"]",
	    "JSON: the event's region as it is, bus and name escaped");
	ev_shape_free(sh);
	ctx = save;
	sh = tx("{\"e\":\"<aws.events.event.json>\"}", NULL);
	run(sh, ev, 0);
	is_int(rc, EV_SHAPE_UNDELIVERABLE, "<aws.events.event.json> inside a "
	    "JSON string is undeliverable");
	is_str(err.msg, "<aws.events.event.json> inside a JSON string: its "
	    "contents are not escaped, the payload is not valid JSON",
	    "the reason");
	ev_shape_free(sh);
	sh = tx("{\"e\":\"x <aws.events.event>\"}", NULL);
	run(sh, ev, 0);
	is_int(rc, EV_SHAPE_UNDELIVERABLE, "so is <aws.events.event>");
	ev_shape_free(sh);
	sh = tx("event: <aws.events.event.json>", NULL);
	is_str(run(sh, "{\"a\": 1 }", 0), "event: {\"a\":1}",
	    "in text: the event minified");
	ev_shape_free(sh);
	sh = tx("{\"e\":<aws.events.event>}", NULL);
	is_str(run(sh, "{\"detail\":{\"x\":1},\"source\":\"s\"}", 0),
	    "{\"e\":{\"source\":\"s\"}}", "the envelope has what the event "
	    "has, never detail");
	ev_shape_free(sh);
	sh = tx("{\"e\":<aws.events.event>,\"a\":<aws.events.rule-arn>}",
	    NULL);
	ctx.rule_arn = NULL;
	is_str(run(sh, "{\"region\":\"r\",\"account\":\"c\"}", 0),
	    "{\"e\":{\"account\":\"c\",\"region\":\"r\"},\"a\":\"arn:aws:events:"
	    "r:c:rule/example\"}", "envelope and ARN share their paths");
	ctx = save;
	ev_shape_free(sh);

	/* Without shaping, Input, InputPath. */
	sh = spec3(NULL, NULL, 0, NULL);
	is_str(run(sh, "{ \"a\" : 1 }", 0), "{ \"a\" : 1 }",
	    "no shaping: the event's bytes unchanged");
	is_int(ev_shape_kind(sh), EV_SHAPE_EVENT, "kind: event");
	is_str(ev_shape_id(sh), "t1", "the id");
	ev_shape_free(sh);
	sh = spec3("{\n  \"a\": [1, 2],\n  \"b\": \"x y\"\n}", NULL, 0, NULL);
	is_str(run(sh, ev, EV_SHAPE_LINE), "{\"a\":[1,2],\"b\":\"x y\"}",
	    "Input: the constant, on one line");
	is_int(ev_shape_kind(sh), EV_SHAPE_INPUT, "kind: input");
	ev_shape_free(sh);
	sh = spec3("\"just a string\"", NULL, 0, NULL);
	is_str(run(sh, ev, 0), "\"just a string\"", "Input: any JSON text");
	ev_shape_free(sh);
	sh = spec3(NULL, "$", 0, NULL);
	is_str(run(sh, "{ \"a\" : [ 1 ] }", 0), "{\"a\":[1]}",
	    "InputPath $: the event, minified");
	ev_shape_free(sh);
	sh = spec3(NULL, "$.o.k[2]", 0, NULL);
	is_str(run(sh, ev, 0), "{\"q\":\"\\\"\"}", "InputPath with an index");
	ev_shape_free(sh);
	sh = spec3(NULL, "$.nothere", 0, NULL);
	run(sh, ev, 0);
	is_int(rc, EV_SHAPE_UNDELIVERABLE, "InputPath that matches nothing");
	is_str(err.msg, "InputPath '$.nothere' matches nothing in the event",
	    "the reason");
	ev_shape_free(sh);
	sh = spec3(NULL, "$.s", 0, NULL);
	run(sh, "{\"s\":", 0);
	is_int(rc, -1, "an event that is not JSON");
	ok(strncmp(err.msg, "invalid JSON: ", 14) == 0, "said so: %s",
	    err.msg);
	ev_shape_free(sh);
#undef VARS
}

static void
test_validation(void)
{
	char big[EV_SHAPE_MAX_TEMPLATE + 2], key[300];
	static const char *keys[101], *paths[101];
	struct ev_shape_spec sp;
	int i;

	refused(spec3("{}", "$.a", 0, NULL), "Only one of Input, InputPath, "
	    "or InputTransformer must be provided for target t1.",
	    "Input and InputPath");
	refused(spec3(NULL, "$.a", 1, "x"), "Only one of Input, InputPath, "
	    "or InputTransformer must be provided for target t1.",
	    "InputPath and InputTransformer");
	refused(spec3("{}", "$.a", 1, "x"), "Only one of Input, InputPath, "
	    "or InputTransformer must be provided for target t1.",
	    "all three");
	refused(tx("\"<a> and <x>\"", "a", "$.a", NULL), "InputTemplate for "
	    "target t1 contains invalid placeholder x.", "an undefined name");
	refused(tx("<A>", "a", "$.a", NULL), "InputTemplate for target t1 "
	    "contains invalid placeholder A.", "names are case-sensitive");
	refused(tx("a <> b", NULL), "InputTemplate for target t1 contains "
	    "invalid placeholder .", "an empty placeholder");
	refused(tx("{\"a\": \"1 < 2 > 0\"}", NULL), "InputTemplate for target "
	    "t1 contains invalid placeholder  2 .", "'<' and '>' cannot be "
	    "escaped");
	refused(tx("<aws.events.rule>", NULL), "InputTemplate for target t1 "
	    "contains invalid placeholder aws.events.rule.",
	    "not a reserved name");
	{
		struct ev_shape *sh = tx("a < b\n c > d", NULL);

		ok(sh != NULL, "a '<' whose '>' is past a line end is text");
		is_str(run(sh, "{}", 0), "a < b\n c > d", "kept as is");
		ev_shape_free(sh);
	}
	refused(tx("{\"a\": <a> \"b\"}", "a", "$.a", NULL), "Invalid "
	    "InputTemplate for target t1: [Source: (String)\"{\"a\": <a> "
	    "\"b\"}\"; line: 1, column: 12]", "a template that is not JSON");
	refused(tx("{\n  <a>: 1\n}", "a", "$.a", NULL), "Invalid InputTemplate "
	    "for target t1: [Source: (String)\"{\n  <a>: 1\n}\"; line: 2, "
	    "column: 4]", "a placeholder as an object key");
	refused(tx("[1,", NULL), "Invalid InputTemplate for target t1: "
	    "[Source: (String)\"[1,\"; line: 1, column: 5]",
	    "an unfinished array");
	refused(tx("x", "a.b", "$.a", NULL), "1 validation error detected: "
	    "Value 'a.b' at 'targets.1.member.inputTransformer.inputPathsMap' "
	    "failed to satisfy constraint: Map keys must satisfy constraint: "
	    "[Member must satisfy regular expression pattern: "
	    "[A-Za-z0-9\\_\\-]+]", "a key with a dot");
	refused(tx("x", "aws.events.rule-name", "$.a", NULL), "1 validation "
	    "error detected: Value 'aws.events.rule-name' at 'targets.1.member."
	    "inputTransformer.inputPathsMap' failed to satisfy constraint: Map "
	    "keys must satisfy constraint: [Member must satisfy regular "
	    "expression pattern: [A-Za-z0-9\\_\\-]+]", "a reserved name");
	memset(key, 'k', 257);
	key[257] = '\0';
	refused(tx("x", key, "$.a", NULL), "1 validation error detected: "
	    "Value 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
	    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...' at 'targets.1.member"
	    ".inputTransformer.inputPathsMap' failed to satisfy constraint: "
	    "Map keys must satisfy constraint: [Member must have length less "
	    "than or equal to 256]", "a key of 257 characters");
	memset(big, 'a', 257);
	big[0] = '$';
	big[1] = '.';
	big[257] = '\0';
	refused(tx("x", "k", big, NULL), "1 validation error detected: Value "
	    "'$.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' at 'targets.1.member."
	    "inputTransformer.inputPathsMap' failed to satisfy constraint: Map "
	    "value must satisfy constraint: [Member must have length less than "
	    "or equal to 256]", "a path of 257 characters");
	refused(spec3(NULL, big, 0, NULL), "1 validation error detected: Value "
	    "'$.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' at 'targets.2.member."
	    "inputPath' failed to satisfy constraint: Member must have length "
	    "less than or equal to 256", "an InputPath of 257 characters");
	for (i = 0; i < 101; i++) {
		char *k = malloc(16);

		snprintf(k, 16, "k%d", i);
		keys[i] = k;
		paths[i] = "$.a";
	}
	memset(&sp, 0, sizeof(sp));
	sp.id = "t1";
	sp.index = 3;
	sp.has_transformer = 1;
	sp.input_template = "<k0>";
	sp.keys = keys;
	sp.paths = paths;
	sp.npaths = 101;
	ev_err_clear(&err);
	refused(ev_shape_compile(&sp, &err), "1 validation error detected: "
	    "Value at 'targets.3.member.inputTransformer.inputPathsMap' failed "
	    "to satisfy constraint: Member must have length less than or equal "
	    "to 100", "101 paths");
	sp.npaths = 100;
	sp.input_template = "{\"k99\":<k99>,\"k0\":\"<k0>\"}";
	{
		struct ev_shape *sh = ev_shape_compile(&sp, &err);

		is_str(run(sh, "{\"a\":7}", 0), "{\"k99\":7,\"k0\":\"7\"}",
		    "100 paths are fine");
		ev_shape_free(sh);
	}
	for (i = 0; i < 101; i++)
		free((char *)keys[i]);
	refused(spec3(NULL, NULL, 1, NULL), "1 validation error detected: "
	    "Value null at 'targets.2.member.inputTransformer.inputTemplate' "
	    "failed to satisfy constraint: Member must not be null",
	    "no InputTemplate");
	refused(spec3(NULL, NULL, 1, ""), "1 validation error detected: "
	    "Value '' at 'targets.2.member.inputTransformer.inputTemplate' "
	    "failed to satisfy constraint: Member must have length greater "
	    "than or equal to 1", "an empty InputTemplate");
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	refused(spec3(NULL, NULL, 1, big), "1 validation error detected: "
	    "Value '                                                          "
	    "                                          ...' at 'targets.2.member"
	    ".inputTransformer.inputTemplate' failed to satisfy constraint: "
	    "Member must have length less than or equal to 8192",
	    "an InputTemplate of 8193 characters");
	refused(spec3(big, NULL, 0, NULL), "1 validation error detected: "
	    "Value '                                                          "
	    "                                          ...' at 'targets.2.member"
	    ".input' failed to satisfy constraint: Member must have length less "
	    "than or equal to 8192", "an Input of 8193 characters");
	/* As PutTargets answered an ansible user (ansible-collections/
	 * community.aws issue 201). */
	refused(spec3("{'db_name':1}", NULL, 0, NULL), "JSON syntax error in "
	    "input for target t1: [Source: (String)\"{'db_name':1}\"; line: 1, "
	    "column: 3]", "an Input that is not JSON");
	refused(spec3(NULL, "$.detail.*", 0, NULL), "Invalid InputPath for "
	    "target t1: '$.detail.*': wildcards, deep scans, slices and "
	    "filters are not supported", "a wildcard");
	refused(tx("<a>", "a", "$..a", NULL), "Invalid InputPathsMap for "
	    "target t1: '$..a': wildcards, deep scans, slices and filters are "
	    "not supported", "a deep scan");
	refused(spec3(NULL, "$.a[", 0, NULL), "Invalid InputPath for target "
	    "t1: invalid path '$.a[': expected a quoted name or an index in "
	    "brackets", "a broken path");
	{
		struct ev_shape *sh = tx("<a>", "a", "$.x", "a", "$.y", NULL);

		is_str(run(sh, "{\"x\":1,\"y\":2}", 0), "2",
		    "of duplicate keys the last wins");
		ev_shape_free(sh);
	}
}

/* ev_shape_from_target(): the Targets of a rule file, located. */
static void
test_from_target(void)
{
	const char *text =
	    "{\"Targets\": [\n"
	    "  {\"Id\": \"ok\", \"Arn\": \"x\", \"InputTransformer\": {\n"
	    "    \"InputPathsMap\": {\"i\": \"$.detail.instance-id\"},\n"
	    "    \"InputTemplate\": \"{\\\"i\\\": <i>}\"}},\n"
	    "  {\"Id\": \"two\", \"Input\": \"{}\", \"InputPath\": \"$\"},\n"
	    "  {\"Id\": \"bad\", \"InputTransformer\": {\n"
	    "    \"InputTemplate\": \"<j>\"}},\n"
	    "  {\"Id\": \"typ\", \"Input\": 5},\n"
	    "  {\"Id\": \"map\", \"InputTransformer\": {\"InputPathsMap\": "
	    "{\"k\": 1}, \"InputTemplate\": \"x\"}},\n"
	    "  {\"Arn\": \"noid\"}\n"
	    "]}";
	struct ev_jdoc doc;
	struct ev_shape *sh;
	size_t off = 0;
	int t, i = 0;

	ev_err_clear(&err);
	if (ev_jdoc_parse(&doc, text, strlen(text), &err) < 0) {
		ok(0, "parse: %s", err.msg);
		return;
	}
	t = ev_jdoc_child(&doc, ev_jdoc_member(&doc, 0, "Targets"));
	sh = ev_shape_from_target(&doc, t, NULL, ++i, &off, &err);
	is_str(run(sh, ec2, 0), "{\"i\":\"i-0123456789\"}", "a target object");
	ev_shape_free(sh);
	t = ev_jdoc_next(&doc, t);
	ev_err_clear(&err);
	ok(ev_shape_from_target(&doc, t, NULL, ++i, &off, &err) == NULL &&
	    err.line == 5 && err.col == 3 && off == doc.n[t].off,
	    "Only one of: at the target (%lu:%lu)", err.line, err.col);
	is_str(err.msg, "Only one of Input, InputPath, or InputTransformer "
	    "must be provided for target two.", "message");
	t = ev_jdoc_next(&doc, t);
	ev_err_clear(&err);
	ok(ev_shape_from_target(&doc, t, NULL, ++i, &off, &err) == NULL &&
	    err.line == 7 && err.col == 22, "invalid placeholder: at the "
	    "template (%lu:%lu)", err.line, err.col);
	is_str(err.msg, "InputTemplate for target bad contains invalid "
	    "placeholder j.", "message");
	t = ev_jdoc_next(&doc, t);
	ev_err_clear(&err);
	ok(ev_shape_from_target(&doc, t, NULL, ++i, &off, &err) == NULL &&
	    err.line == 8 && err.col == 26, "a type error, located "
	    "(%lu:%lu)", err.line, err.col);
	is_str(err.msg, "'Input' must be a string", "message");
	t = ev_jdoc_next(&doc, t);
	ev_err_clear(&err);
	ok(ev_shape_from_target(&doc, t, NULL, ++i, &off, &err) == NULL &&
	    err.line == 9, "a path that is not a string (%lu:%lu)", err.line,
	    err.col);
	is_str(err.msg, "'InputPathsMap' must be a string", "message");
	t = ev_jdoc_next(&doc, t);
	ev_err_clear(&err);
	ok(ev_shape_from_target(&doc, t, NULL, ++i, &off, &err) == NULL &&
	    err.line == 10, "no Id (%lu:%lu)", err.line, err.col);
	is_str(err.msg, "missing member 'Id'", "message");
	ev_jdoc_free(&doc);
}

static void
test_hostile(void)
{
	static char t[EV_SHAPE_MAX_TEMPLATE + 1], ev[70000], want[40000];
	struct ev_shape *sh;
	size_t n;
	int i;

	/* 2,730 placeholders in the largest template. */
	for (n = 0; n + 3 <= EV_SHAPE_MAX_TEMPLATE; n += 3)
		memcpy(t + n, "<a>", 3);
	t[n] = '\0';
	sh = tx(t, "a", "$.a", NULL);
	ok(sh != NULL, "2,730 placeholders compile");
	run(sh, "{\"a\":\"xy\"}", 0);
	ok(rc == 0 && out.len == 2 * (n / 3), "and fill %zu bytes", out.len);
	ev_shape_free(sh);
	t[0] = '[';
	for (n = 1; n + 4 <= EV_SHAPE_MAX_TEMPLATE - 1; n += 4)
		memcpy(t + n, "<a>,", 4);
	memcpy(t + n - 1, "]", 2);
	sh = tx(t, "a", "$.a", NULL);
	run(sh, "{\"a\":{\"b\":[true]}}", 0);
	ok(rc == 0 && out.len > 20000 && out.p[out.len - 1] == ']',
	    "2,047 objects in a JSON array (%zu bytes)", out.len);
	ev_shape_free(sh);

	/* A value nested 500 deep, inside a string and out. */
	n = 0;
	n += (size_t)sprintf(ev + n, "{\"a\":");
	for (i = 0; i < 500; i++)
		ev[n++] = '[';
	n += (size_t)sprintf(ev + n, "\"x\"");
	for (i = 0; i < 500; i++)
		ev[n++] = ']';
	n += (size_t)sprintf(ev + n, "}");
	ev[n] = '\0';
	sh = tx("{\"in\":\"<a>\",\"out\":<a>}", "a", "$.a", NULL);
	run(sh, ev, 0);
	memset(want, '[', 500);
	memcpy(want + 500, "x", 1);
	memset(want + 501, ']', 500);
	want[1001] = '\0';
	ok(rc == 0 && strstr(res, want) != NULL, "500 deep: inside a string "
	    "without quotes");
	ev_shape_free(sh);
	/* Deeper than the scanner takes: an error, no crash. */
	n = (size_t)sprintf(ev, "{\"a\":");
	for (i = 0; i < 600; i++)
		ev[n++] = '[';
	for (i = 0; i < 600; i++)
		ev[n++] = ']';
	ev[n++] = '}';
	ev[n] = '\0';
	sh = tx("<a>", "a", "$.a", NULL);
	run(sh, ev, 0);
	is_int(rc, -1, "600 deep: refused");
	is_str(err.msg, "invalid JSON: nesting too deep", "message");
	run(sh, "{\"a\":\"\xff\"}", 0);
	is_int(rc, -1, "invalid UTF-8 in a value: refused");
	is_str(err.msg, "invalid JSON: invalid UTF-8", "message");
	run(sh, "{\"a\":\"x\ty\"}", 0);
	is_int(rc, -1, "a raw control character in a value: refused");
	is_str(run(sh, "{\"a\":\"\\u0000\\u001f\"}", 0), "\0\x1f",
	    "escaped control characters decode in text");
	ok(out.len == 2, "NUL included");
	ev_shape_free(sh);
	sh = tx("{\"a\":\"<a>\"}", "a", "$.a", NULL);
	is_str(run(sh, "{\"a\":\"\\u0000\\u001f\"}", 0),
	    "{\"a\":\"\\u0000\\u001f\"}", "and stay escaped in JSON");
	ev_shape_free(sh);
	/* A control character in a placeholder name: the message holds it
	 * (ev_diag escapes it on output). */
	refused(tx("<a\x01>", NULL), "InputTemplate for target t1 contains "
	    "invalid placeholder a\x01.", "a control character in a name");
	/* Quotes inside a nested string inside a string. */
	sh = tx("\"<a>\"", "a", "$.a", NULL);
	is_str(run(sh, "{\"a\":{\"k\":\"say \\\"hi\\\" \\\\\"}}", 0),
	    "\"{k:say hi \\\\}\"", "escaped quotes go with the quotes");
	ev_shape_free(sh);
}

/* ---------------------------------------------------- InputPath vs jq */

static uint64_t seed = 88172645463325252ULL;

static unsigned
rnd(unsigned n)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return (unsigned)(seed % n);
}

static const char *const names[] = { "a", "b", "c", "d-e", "f_g", "h1",
	"\\u00e9t\\u00e9", "x y" };
static const char *const names_dec[] = { "a", "b", "c", "d-e", "f_g", "h1",
	"\xc3\xa9t\xc3\xa9", "x y" };
static const char *const scalars[] = { "1", "-0.5e2", "true", "false",
	"null", "\"s\"", "\"q\\\"t\"", "\"\\u00e9\"", "\"\"", "123456789012345678" };

struct gpath {
	char spec[256];
	char jq[512];
};

static struct gpath gp[4096];
static int ngp;

static void
ws(struct ev_buf *b)
{
	if (rnd(4) == 0)
		ev_buf_add(b, " ", 1);
}

/* Generate a value; record the paths to its parts. */
static void
gen(struct ev_buf *b, int depth, const char *spec, const char *jq)
{
	char s[256], q[512];
	unsigned i, n, k;

	if (ngp < 4096 && spec[0] != '\0') {
		snprintf(gp[ngp].spec, sizeof(gp[ngp].spec), "%s", spec);
		snprintf(gp[ngp].jq, sizeof(gp[ngp].jq), "%s", jq);
		ngp++;
	}
	k = depth >= 5 ? 0 : rnd(4);
	if (k == 0 || k == 3) {
		const char *v = scalars[rnd(10)];

		ev_buf_add(b, v, strlen(v));
	} else if (k == 1) {
		unsigned used = 0;

		n = rnd(5);
		ev_buf_add(b, "{", 1);
		for (i = 0; i < n; i++) {
			unsigned w = rnd(8);

			/* Names unique within an object: of duplicates, jq
			 * (and AWS's parser) keep the last member only. */
			while (used & (1u << w))
				w = (w + 1) % 8;
			used |= 1u << w;

			if (i > 0)
				ev_buf_add(b, ",", 1);
			ws(b);
			ev_buf_add(b, "\"", 1);
			ev_buf_add(b, names[w], strlen(names[w]));
			ev_buf_add(b, "\":", 2);
			ws(b);
			if (w == 7)
				snprintf(s, sizeof(s), "%s['x y']", spec);
			else
				snprintf(s, sizeof(s), "%s.%s", spec,
				    names_dec[w]);
			snprintf(q, sizeof(q), "%s[\"%s\"]", jq, names[w]);
			gen(b, depth + 1, s, q);
		}
		ev_buf_add(b, "}", 1);
		/* A member that is not there. */
		if (ngp < 4096) {
			snprintf(gp[ngp].spec, sizeof(gp[ngp].spec), "%s.zz",
			    spec);
			snprintf(gp[ngp].jq, sizeof(gp[ngp].jq), "%s[\"zz\"]",
			    jq);
			ngp++;
		}
	} else {
		n = rnd(4);
		ev_buf_add(b, "[", 1);
		for (i = 0; i < n; i++) {
			if (i > 0)
				ev_buf_add(b, ",", 1);
			ws(b);
			snprintf(s, sizeof(s), "%s[%u]", spec, i);
			snprintf(q, sizeof(q), "%s[%u]", jq, i);
			gen(b, depth + 1, s, q);
		}
		ev_buf_add(b, "]", 1);
	}
}

static void
test_jq(void)
{
	struct ev_buf ev = { NULL, 0, 0 }, jo = { NULL, 0, 0 },
	    c1 = { NULL, 0, 0 }, c2 = { NULL, 0, 0 };
	struct ev_shape *sh;
	struct ev_jq *q;
	struct ev_err e2;
	int round, i, checked = 0, missing = 0, bad = 0, r;

	for (round = 0; round < 300; round++) {
		ev.len = 0;
		ngp = 0;
		ev_buf_add(&ev, "{\"r\":", 5);
		gen(&ev, 0, "$.r", ".[\"r\"]");
		/* Sometimes a duplicate member: the last wins in both. */
		if (rnd(3) == 0) {
			ev_buf_add(&ev, ",\"r\":", 5);
			ngp = 0;
			gen(&ev, 0, "$.r", ".[\"r\"]");
		}
		ev_buf_add(&ev, "}", 1);
		for (i = 0; i < ngp; i++) {
			sh = spec3(NULL, gp[i].spec, 0, NULL);
			if (sh == NULL) {
				printf("# %s: %s\n", gp[i].spec, err.msg);
				bad++;
				continue;
			}
			ev_buf_add(&ev, "", 1);
			ev.len--;
			run(sh, ev.p, 0);
			r = rc;
			ev_shape_free(sh);
			ev_err_clear(&e2);
			if ((q = ev_jq_compile(gp[i].jq, &e2)) == NULL) {
				printf("# jq %s: %s\n", gp[i].jq, e2.msg);
				bad++;
				continue;
			}
			jo.len = 0;
			if (ev_jq_run(q, ev.p, ev.len, SIZE_MAX, &jo,
			    &e2) != 1) {
				printf("# jq %s: %s\n", gp[i].jq, e2.msg);
				bad++;
				ev_jq_free(q);
				continue;
			}
			ev_jq_free(q);
			if (r == EV_SHAPE_UNDELIVERABLE) {
				/* Absent: jq says null. */
				if (jo.len != 4 || memcmp(jo.p, "null", 4) != 0) {
					printf("# %s absent, jq %.*s\n# %s\n",
					    gp[i].spec, (int)jo.len, jo.p, ev.p);
					bad++;
				}
				missing++;
				continue;
			}
			c1.len = c2.len = 0;
			if (r != 0 || ev_json_canon(out.p, out.len, &c1,
			    &e2) < 0 || ev_json_canon(jo.p, jo.len, &c2,
			    &e2) < 0 || c1.len != c2.len ||
			    memcmp(c1.p, c2.p, c1.len) != 0) {
				printf("# %s: '%.*s', jq '%.*s'\n# %s\n",
				    gp[i].spec, (int)out.len, out.p,
				    (int)jo.len, jo.p, ev.p);
				bad++;
			}
			checked++;
		}
	}
	ok(bad == 0 && checked > 1000 && missing > 100, "InputPath agrees "
	    "with jq: %d values, %d absent, %d differences", checked, missing,
	    bad);
	ev_buf_free(&ev);
	ev_buf_free(&jo);
	ev_buf_free(&c1);
	ev_buf_free(&c2);
}

/* A shape set reads once and renders each shape as it alone would. */
static void
test_set(void)
{
	const char *tmpl[] = {
		"{\"i\": <instance>, \"s\": \"<state> <missing>\"}",
		"<instance> in <aws.events.rule-arn>",
		"{\"e\": <aws.events.event>, \"r\": <resource>}",
	};
	struct ev_shapes *ss = ev_shapes_new();
	struct ev_shape *one[8];
	struct ev_span vals[64];
	struct ev_buf b = { NULL, 0, 0 };
	struct ev_shape_ctx save = ctx;
	static char s1[70000], s2[70000];
	int i, n = 0, same = 0;

	ctx.rule_arn = NULL;
	for (i = 0; i < 3; i++)
		one[n++] = tx(tmpl[i], "instance", "$.detail.instance-id",
		    "state", "$.detail.state", "missing", "$.nope",
		    "resource", "$.resources[0]", NULL);
	one[n++] = spec3(NULL, "$.detail", 0, NULL);
	one[n++] = spec3("[1]", NULL, 0, NULL);
	one[n++] = spec3(NULL, NULL, 0, NULL);
	for (i = 0; i < n; i++) {
		struct ev_shape *copy = NULL;

		/* The set takes its own copy, compiled again. */
		if (i < 3)
			copy = tx(tmpl[i], "instance", "$.detail.instance-id",
			    "state", "$.detail.state", "missing", "$.nope",
			    "resource", "$.resources[0]", NULL);
		else if (i == 3)
			copy = spec3(NULL, "$.detail", 0, NULL);
		else if (i == 4)
			copy = spec3("[1]", NULL, 0, NULL);
		else
			copy = spec3(NULL, NULL, 0, NULL);
		is_int(ev_shapes_add(ss, copy, &err), i, "add %d", i);
	}
	is_int(ev_shapes_finish(ss, &err), 0, "finish");
	ok(ev_shapes_nslots(ss) == 13, "equal paths share a slot: %d slots",
	    ev_shapes_nslots(ss));
	is_int(ev_shapes_count(ss), n, "count");
	is_int(ev_shapes_scan(ss, ec2, strlen(ec2), vals, &err), 0, "scan");
	for (i = 0; i < n; i++) {
		run(one[i], ec2, 0);
		snprintf(s1, sizeof(s1), "%d %s", rc, res);
		b.len = 0;
		rc = ev_shapes_apply(ss, i, ec2, strlen(ec2), vals, &ctx, 0, &b,
		    &err);
		snprintf(s2, sizeof(s2), "%d %.*s", rc, (int)b.len, b.p);
		if (strcmp(s1, s2) == 0)
			same++;
		else
			printf("# %d: '%s' vs '%s'\n", i, s1, s2);
		ok(ev_shapes_get(ss, i) != NULL, "get %d", i);
		ev_shape_free(one[i]);
	}
	is_int(same, n, "each renders as it alone would");
	is_int(ev_shapes_scan(ss, "{\"a\":", 5, vals, &err), -1,
	    "an event that is not JSON");
	is_int(ev_shapes_add(ss, spec3(NULL, NULL, 0, NULL), &err), -1,
	    "no add after finish");
	ev_shapes_free(ss);
	ev_shapes_free(NULL);

	/* 1,000 targets, 1,000 distinct paths, 64 of them shared. */
	ss = ev_shapes_new();
	for (i = 0; i < 1000; i++) {
		char path[32];

		snprintf(path, sizeof(path), "$.p%d", i < 64 ? 0 : i);
		ev_shapes_add(ss, spec3(NULL, path, 0, NULL), &err);
	}
	ev_shapes_finish(ss, &err);
	is_int(ev_shapes_nslots(ss), 937, "1,000 paths, 937 distinct");
	{
		struct ev_span *v = calloc(937, sizeof(*v));

		ev_shapes_scan(ss, "{\"p0\":1,\"p999\":2}", 19, v, &err);
		b.len = 0;
		ev_shapes_apply(ss, 63, "", 0, v, &ctx, 0, &b, &err);
		ev_shapes_apply(ss, 999, "", 0, v, &ctx, 0, &b, &err);
		is_int(ev_shapes_apply(ss, 500, "", 0, v, &ctx, 0, &b, &err),
		    EV_SHAPE_UNDELIVERABLE, "an absent path");
		ok(b.len == 2 && memcmp(b.p, "12", 2) == 0, "values by slot");
		free(v);
	}
	ev_shapes_free(ss);
	ev_buf_free(&b);
	ctx = save;
}

static void
test_arn(void)
{
	struct ev_buf b = { NULL, 0, 0 };

	ev_route_rule_arn("us-east-1", 9, "123456789012", 12, NULL, "r", &b);
	ev_buf_add(&b, "", 1);
	is_str(b.p, "arn:aws:events:us-east-1:123456789012:rule/r",
	    "rule ARN on the default bus");
	b.len = 0;
	ev_route_rule_arn("us-east-1", 9, "123456789012", 12, "default", "r",
	    &b);
	ev_buf_add(&b, "", 1);
	is_str(b.p, "arn:aws:events:us-east-1:123456789012:rule/r",
	    "the bus named default is the default bus");
	b.len = 0;
	ev_route_rule_arn("us-east-1", 9, "123456789012", 12, "orders", "r",
	    &b);
	ev_buf_add(&b, "", 1);
	is_str(b.p, "arn:aws:events:us-east-1:123456789012:rule/orders/r",
	    "rule ARN on a custom bus");
	ev_buf_free(&b);
}

int
main(void)
{
	test_guide();
	test_recorded();
	test_substitution();
	test_validation();
	test_from_target();
	test_hostile();
	test_jq();
	test_set();
	test_arn();
	ev_shape_free(NULL);
	ev_buf_free(&out);
	return tap_done();
}
