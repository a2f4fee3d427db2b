/*
 * Unit tests for lib/route/config.c: evroute's rules and targets from the
 * EventBridge API's spelling (JSON list, NDJSON), CloudFormation and SAM
 * templates (JSON and YAML), with located errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evkit.h"
#include "tap.h"

static char path[64];
static struct ev_err err;

/* Write text to a fresh temporary file named *.ext; its name in path. */
static const char *
file(const char *text, const char *ext)
{
	FILE *fp;
	int fd;

	snprintf(path, sizeof(path), "/tmp/evkit-route-XXXXXX.%s", ext);
	if ((fd = mkstemps(path, (int)strlen(ext) + 1)) < 0 ||
	    (fp = fdopen(fd, "w")) == NULL)
		return NULL;
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* Load text; returns 0 or -1 (err set); rs and cf filled. */
static int
load(const char *text, const char *ext, struct ev_rules **rs,
    struct ev_route_config *cf)
{
	const char *p = file(text, ext);
	int r;

	*rs = ev_rules_new();
	ev_err_clear(&err);
	r = ev_route_config_load(cf, *rs, p, &err);
	if (r == 0)
		r = ev_rules_finish(*rs, &err);
	return r;
}

/* Shape target t of rule r for the event; the payload as a string. */
static const char *
shape(const struct ev_route_rule *r, int t, const char *event)
{
	static char res[4096];
	struct ev_span vals[64];
	struct ev_shape_ctx ctx = { r->name, r->arn, r->bus, 0 };
	struct ev_buf out = { NULL, 0, 0 };
	int rc;

	if (ev_shapes_scan(r->shapes, event, strlen(event), vals, &err) < 0)
		return "(scan failed)";
	rc = ev_shapes_apply(r->shapes, r->t[t].shape, event, strlen(event),
	    vals, &ctx, EV_SHAPE_LINE, &out, &err);
	snprintf(res, sizeof(res), "%s%.*s", rc == 0 ? "" : "(undeliverable) ",
	    (int)out.len, out.p);
	ev_buf_free(&out);
	return res;
}

static const char *ev =
    "{\"source\":\"shop\",\"region\":\"eu-west-1\",\"account\":\"42\","
    "\"detail-type\":\"order\",\"detail\":{\"id\":7,\"total\":9.5}}";

static void
test_api_list(void)
{
	struct ev_rules *rs;
	struct ev_route_config cf;
	const char *text =
	    "[\n"
	    " {\"Name\": \"payments\", \"EventBusName\": \"shop\",\n"
	    "  \"EventPattern\": {\"source\": [\"shop\"]},\n"
	    "  \"Targets\": [\n"
	    "   {\"Id\": \"pay\", \"Arn\": \"exec:pay\",\n"
	    "    \"InputTransformer\": {\"InputPathsMap\": {\"id\": "
	    "\"$.detail.id\"},\n"
	    "     \"InputTemplate\": \"{\\\"order\\\": <id>, \\\"rule\\\": "
	    "<aws.events.rule-arn>}\"},\n"
	    "    \"RetryPolicy\": {\"MaximumRetryAttempts\": 3, "
	    "\"MaximumEventAgeInSeconds\": 60},\n"
	    "    \"DeadLetterConfig\": {\"Arn\": \"file:dead.ndjson\"}},\n"
	    "   {\"Id\": \"audit\", \"Arn\": \"file:audit.ndjson\"},\n"
	    "   {\"Id\": \"total\", \"Arn\": \"-\", \"InputPath\": "
	    "\"$.detail.total\"}]},\n"
	    " {\"Name\": \"off\", \"Arn\": \"arn:aws:events:x:1:rule/off\", "
	    "\"State\": \"DISABLED\",\n"
	    "  \"EventPattern\": \"{\\\"source\\\": [\\\"x\\\"]}\"}\n"
	    "]\n";

	if (load(text, "json", &rs, &cf) < 0) {
		ok(0, "load: %s:%lu:%lu: %s", err.file, err.line, err.col,
		    err.msg);
		return;
	}
	is_int(cf.n, 2, "two rules");
	is_int(ev_rules_count(rs), 2, "two patterns");
	is_str(cf.r[0].name, "payments", "name");
	is_str(cf.r[0].bus, "shop", "bus");
	ok(cf.r[0].arn == NULL && cf.r[0].enabled, "no Arn, enabled");
	is_int(cf.r[0].nt, 3, "three targets");
	is_str(cf.r[0].t[0].id, "pay", "target id");
	is_str(cf.r[0].t[0].arn, "exec:pay", "target arn");
	ok(cf.r[0].t[0].max_attempts == 3 && cf.r[0].t[0].max_age_s == 60,
	    "RetryPolicy");
	is_str(cf.r[0].t[0].dlq, "file:dead.ndjson", "DeadLetterConfig");
	ok(cf.r[0].t[1].max_attempts == 185 && cf.r[0].t[1].max_age_s ==
	    86400 && cf.r[0].t[1].dlq == NULL, "EventBridge's defaults");
	is_int(cf.r[0].t[0].line, 5, "target located: line");
	is_str(shape(&cf.r[0], 0, ev), "{\"order\":7,\"rule\":"
	    "\"arn:aws:events:eu-west-1:42:rule/shop/payments\"}",
	    "transformer, the default ARN on the rule's bus");
	is_str(shape(&cf.r[0], 1, ev), ev, "no shaping: the event");
	is_str(shape(&cf.r[0], 2, ev), "9.5", "InputPath");
	is_int(ev_shapes_nslots(cf.r[0].shapes), 4, "one scan for the rule: "
	    "4 paths");
	is_str(cf.r[1].arn, "arn:aws:events:x:1:rule/off", "Arn");
	ok(!cf.r[1].enabled && cf.r[1].nt == 0, "DISABLED, no targets");
	ev_route_config_free(&cf);
	ev_route_config_free(&cf);
	ev_rules_free(rs);
	unlink(path);
}

static void
test_ndjson(void)
{
	struct ev_rules *rs;
	struct ev_route_config cf;

	if (load("{\"Name\": \"a\", \"EventPattern\": {\"source\": [\"x\"]}, "
	    "\"Targets\": [{\"Id\": \"t\", \"Arn\": \"-\", \"Input\": "
	    "\"{\\\"k\\\": 1}\"}]}\n"
	    "{\"source\": [\"y\"], \"State\": [\"on\"]}\n", "ndjson", &rs,
	    &cf) < 0) {
		ok(0, "load: %s", err.msg);
		return;
	}
	is_int(cf.n, 2, "NDJSON: two rules");
	is_str(shape(&cf.r[0], 0, ev), "{\"k\":1}", "Input");
	ok(cf.r[1].nt == 0 && cf.r[1].enabled, "a bare pattern (even with a "
	    "State field) is a rule without targets");
	ev_route_config_free(&cf);
	ev_rules_free(rs);
	unlink(path);
}

static void
test_templates(void)
{
	struct ev_rules *rs;
	struct ev_route_config cf;
	const char *cfn_json =
	    "{\"Resources\": {\n"
	    " \"Queue\": {\"Type\": \"AWS::SQS::Queue\"},\n"
	    " \"OrderRule\": {\"Type\": \"AWS::Events::Rule\", \"Properties\": {\n"
	    "  \"EventBusName\": {\"Ref\": \"Bus\"},\n"
	    "  \"EventPattern\": {\"source\": [\"shop\"]},\n"
	    "  \"Targets\": [{\"Id\": \"q\", \"Arn\": {\"Fn::GetAtt\": "
	    "[\"Queue\", \"Arn\"]},\n"
	    "   \"InputTransformer\": {\"InputPathsMap\": {\"t\": "
	    "\"$.detail.total\"}, \"InputTemplate\": \"\\\"total <t>\\\"\"}}]"
	    "}}}}\n";
	const char *cfn_yaml =
	    "Resources:\n"
	    "  OrderRule:\n"
	    "    Type: AWS::Events::Rule\n"
	    "    Properties:\n"
	    "      Name: orders\n"
	    "      State: DISABLED\n"
	    "      EventPattern:\n"
	    "        source: [shop]\n"
	    "      Targets:\n"
	    "        - Id: fn\n"
	    "          Arn: !GetAtt Fn.Arn\n"
	    "          InputTransformer:\n"
	    "            InputPathsMap:\n"
	    "              id: $.detail.id\n"
	    "            InputTemplate: |\n"
	    "              {\"id\": <id>,\n"
	    "               \"n\": <aws.events.rule-name>}\n";
	const char *sam =
	    "Transform: AWS::Serverless-2016-10-31\n"
	    "Resources:\n"
	    "  Pay:\n"
	    "    Type: AWS::Serverless::Function\n"
	    "    Properties:\n"
	    "      Events:\n"
	    "        OnOrder:\n"
	    "          Type: EventBridgeRule\n"
	    "          Properties:\n"
	    "            Pattern:\n"
	    "              source: [shop]\n"
	    "            InputPath: $.detail\n"
	    "            RetryPolicy:\n"
	    "              MaximumRetryAttempts: 5\n";

	if (load(cfn_json, "json", &rs, &cf) < 0) {
		ok(0, "CloudFormation JSON: %s", err.msg);
	} else {
		is_str(cf.r[0].name, "OrderRule", "CloudFormation: named by "
		    "its logical id");
		ok(cf.r[0].bus == NULL, "an intrinsic bus: the default");
		ok(cf.r[0].t[0].arn_intrinsic, "an intrinsic Arn");
		is_str(cf.r[0].t[0].arn, "{\"Fn::GetAtt\": [\"Queue\", "
		    "\"Arn\"]}", "kept as JSON text");
		is_str(shape(&cf.r[0], 0, ev), "\"total 9.5\"",
		    "its transformer");
		ev_route_config_free(&cf);
		ev_rules_free(rs);
	}
	unlink(path);
	if (load(cfn_yaml, "yaml", &rs, &cf) < 0) {
		ok(0, "CloudFormation YAML: %s:%lu:%lu: %s", err.file,
		    err.line, err.col, err.msg);
	} else {
		is_str(cf.r[0].name, "orders", "YAML: Properties.Name");
		ok(!cf.r[0].enabled, "YAML: DISABLED");
		ok(cf.r[0].t[0].arn_intrinsic, "YAML: !GetAtt is intrinsic");
		is_str(shape(&cf.r[0], 0, ev), "{\"id\":7,\"n\":\"orders\"}",
		    "YAML: a block template, minified");
		is_int(cf.r[0].t[0].line, 10, "YAML: target located");
		ev_route_config_free(&cf);
		ev_rules_free(rs);
	}
	unlink(path);
	if (load(sam, "yaml", &rs, &cf) < 0) {
		ok(0, "SAM: %s:%lu:%lu: %s", err.file, err.line, err.col,
		    err.msg);
	} else {
		is_str(cf.r[0].name, "Pay.OnOrder", "SAM: FUNCTION.EVENT");
		is_int(cf.r[0].nt, 1, "SAM: one target");
		is_str(cf.r[0].t[0].id, "PayOnOrderLambdaTarget",
		    "SAM: the default target id");
		is_str(cf.r[0].t[0].arn, "{\"Fn::GetAtt\": [\"Pay\", "
		    "\"Arn\"]}", "SAM: the function is the target");
		is_int(cf.r[0].t[0].max_attempts, 5, "SAM: RetryPolicy");
		is_str(shape(&cf.r[0], 0, ev), "{\"id\":7,\"total\":9.5}",
		    "SAM: InputPath");
		ev_route_config_free(&cf);
		ev_rules_free(rs);
	}
	unlink(path);
}

/* A file that must be refused: the message and where. */
static void
refused(const char *text, const char *ext, unsigned long line,
    unsigned long col, const char *msg, const char *name)
{
	struct ev_rules *rs;
	struct ev_route_config cf;

	int r = load(text, ext, &rs, &cf);

	ok(r < 0 && err.file != NULL &&
	    strcmp(err.file, path) == 0 && err.line == line && err.col == col,
	    "refused: %s (at %lu:%lu)", name, err.line, err.col);
	is_str(err.msg, msg, "refused: %s: message", name);
	ok(cf.n == 0 && cf.r == NULL, "refused: %s: nothing kept", name);
	ev_rules_free(rs);
	unlink(path);
}

static void
test_errors(void)
{
	refused("[{\"Name\": \"r\", \"EventPattern\": {\"a\": [1]},\n"
	    " \"Targets\": [{\"Id\": \"t\", \"Arn\": \"-\", \"Input\": \"{}\",\n"
	    "  \"InputPath\": \"$\"}]}]", "json", 2, 14, "Only one of Input, "
	    "InputPath, or InputTransformer must be provided for target t.",
	    "Only one of");
	refused("[{\"Name\": \"r\", \"EventPattern\": {\"a\": [1]},\n"
	    " \"Targets\": [{\"Id\": \"t\", \"Arn\": \"-\", \"InputTransformer\":"
	    "\n  {\"InputTemplate\": \"<x>\"}}]}]", "json", 3, 21,
	    "InputTemplate for target t contains invalid placeholder x.",
	    "invalid placeholder");
	refused("Resources:\n"
	    "  R:\n"
	    "    Type: AWS::Events::Rule\n"
	    "    Properties:\n"
	    "      EventPattern: {source: [a]}\n"
	    "      Targets:\n"
	    "        - Id: t\n"
	    "          Arn: x\n"
	    "          InputTransformer:\n"
	    "            InputTemplate: \"<y>\"\n", "yaml", 10, 28,
	    "InputTemplate for target t contains invalid placeholder y.",
	    "YAML: located in the YAML");
	refused("[{\"Name\": \"r\", \"EventPattern\": {\"a\": [1]}, \"Targets\": "
	    "[{\"Id\": \"t\", \"Arn\": \"-\"}, {\"Id\": \"t\", \"Arn\": \"-\"}]}]",
	    "json", 1, 81, "duplicate target Id 't'", "duplicate ids");
	refused("[{\"Name\": \"r\", \"EventPattern\": {\"a\": [1]}, \"Targets\": "
	    "[{\"Id\": \"t\"}]}]", "json", 1, 56, "missing member 'Arn'",
	    "no Arn");
	refused("[{\"Name\": \"r\", \"EventPattern\": {\"a\": [1]}, \"Targets\": "
	    "[{\"Arn\": \"-\"}]}]", "json", 1, 56, "missing member 'Id'",
	    "no Id");
	refused("[{\"Name\": \"r\", \"EventPattern\": {\"a\": [1]}, \"State\": "
	    "\"ON\"}]", "json", 1, 53, "'State' must be ENABLED or DISABLED",
	    "a bad State");
	refused("[{\"Name\": \"r\", \"EventPattern\": {\"a\": [1]}, \"Targets\": "
	    "{}}]", "json", 1, 55, "'Targets' must be an array",
	    "Targets not an array");
	refused("[{\"Name\": \"r\", \"EventPattern\": {\"a\": [1]}, \"Targets\": "
	    "[{\"Id\": \"t\", \"Arn\": \"-\", \"RetryPolicy\": "
	    "{\"MaximumRetryAttempts\": 186}}]}]", "json", 1, 120,
	    "'MaximumRetryAttempts' must be an integer from 0 to 185",
	    "RetryPolicy beyond EventBridge's limit");
	refused("[{\"Name\": \"r\", \"EventPattern\": {\"a\": [1]}, \"Targets\": "
	    "[{\"Id\": \"t\", \"Arn\": \"-\", \"RetryPolicy\": "
	    "{\"MaximumEventAgeInSeconds\": 59}}]}]", "json", 1, 124,
	    "'MaximumEventAgeInSeconds' must be an integer from 60 to 86400",
	    "an event age under a minute");
	refused("[{\"Name\": \"r\", \"EventPattern\": {\"a\": [1]}, \"Targets\": "
	    "[{\"Id\": \"t\", \"Arn\": 5}]}]", "json", 1, 75,
	    "'Arn' must be a string", "a numeric Arn");
}

int
main(void)
{
	test_api_list();
	test_ndjson();
	test_templates();
	test_errors();
	return tap_done();
}
