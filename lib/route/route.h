/*
 * route.h - the event bus layer (evroute): what a rule's target receives.
 *
 * A target's input shaping, as EventBridge delivers it (Input, InputPath,
 * InputTransformer with InputPathsMap and InputTemplate), compiled once
 * and applied per event by copying byte ranges of the template and of the
 * event (one scanner pass over the event for all the paths of a target).
 * The rules and the reasons behind them, with their sources, are in
 * doc/input-transformer.md.  This layer sits above json, rules, store and
 * proc and calls down only.
 */
#ifndef EV_ROUTE_H
#define EV_ROUTE_H

#include <sys/stat.h>

#include <stdint.h>

#include "base/base.h"
#include "json/json.h"

/* ---------------------------------------------------------------- shape */

/* AWS's limits on a target (PutTargets, InputTransformer). */
#define EV_SHAPE_MAX_PATHS 100		/* InputPathsMap entries */
#define EV_SHAPE_MAX_KEY 256		/* an InputPathsMap key */
#define EV_SHAPE_MAX_PATH 256		/* InputPath, an InputPathsMap value */
#define EV_SHAPE_MAX_TEMPLATE 8192	/* InputTemplate */
#define EV_SHAPE_MAX_INPUT 8192		/* Input */

/*
 * A target's shaping as the PutTargets API spells it.  A NULL member is
 * absent; strings are NUL-terminated (an embedded NUL is refused).  id
 * names the target in messages ("... for target t1."); index is its
 * 1-based place in the Targets list (for the API's "targets.1.member"
 * wording); has_transformer says InputTransformer is there, even with
 * no InputTemplate.
 */
struct ev_shape_spec {
	const char *id;
	int index;
	const char *input;
	const char *input_path;
	int has_transformer;
	int npaths;			/* InputPathsMap: keys[i] -> paths[i] */
	const char *const *keys;
	const char *const *paths;
	const char *input_template;
};

struct ev_shape;

/*
 * Compile spec (validated as PutTargets does; see doc/input-transformer.md
 * for the messages, e.g. "InputTemplate for target t1 contains invalid
 * placeholder x.").  Nothing of spec is kept.  Returns the shape (the
 * caller frees it with ev_shape_free()), or NULL with err->msg set (and,
 * for a template that is not valid JSON, the line and column in the
 * template in the message, as AWS reports them; err's location is left
 * alone).  A spec with no Input, InputPath or InputTransformer compiles to
 * the identity: the payload is the event.
 */
struct ev_shape *ev_shape_compile(const struct ev_shape_spec *spec,
    struct ev_err *err);

/*
 * Compile the shaping of the Target object at node target of doc (its
 * Id, Input, InputPath and InputTransformer; other members are not looked
 * at).  id, when not NULL, names the target instead of its Id member (a
 * SAM event source has none).  index is the target's 1-based place in its
 * Targets list.  On
 * error returns NULL with err->msg set, err->line/col at the offending
 * value in doc and *erroff (when not NULL) its byte offset in doc->text,
 * for callers that locate in a file of their own (ev_rule_src_locate()).
 */
struct ev_shape *ev_shape_from_target(const struct ev_jdoc *doc, int target,
    const char *id, int index, size_t *erroff, struct ev_err *err);

void ev_shape_free(struct ev_shape *sh);

/* What a shape delivers. */
enum ev_shape_kind {
	EV_SHAPE_EVENT = 0,	/* no shaping: the event's bytes unchanged */
	EV_SHAPE_INPUT,		/* Input: a constant JSON text */
	EV_SHAPE_PATH,		/* InputPath: the JSON value at a path */
	EV_SHAPE_JSON,		/* InputTransformer, template is JSON */
	EV_SHAPE_TEXT		/* InputTransformer, template is text */
};
enum ev_shape_kind ev_shape_kind(const struct ev_shape *sh);

/* The target id the shape was compiled for (never NULL). */
const char *ev_shape_id(const struct ev_shape *sh);

/*
 * Per-event context: the rule's name, its ARN (NULL: the default from the
 * event's region and account, see ev_route_rule_arn()), the rule's event
 * bus (NULL or "default": the default bus) and the time the event was
 * received, in milliseconds since 1970 (ev_now_ms()), for
 * <aws.events.event.ingestion-time>.  Strings are borrowed for the call.
 */
struct ev_shape_ctx {
	const char *rule_name;
	const char *rule_arn;
	const char *bus;
	int64_t ingestion_ms;
};

/* ev_shape_apply() flags. */
#define EV_SHAPE_LINE 1		/* the target takes one line per event */

/* ev_shape_apply() results besides 0. */
#define EV_SHAPE_UNDELIVERABLE 1

/*
 * Shape the event line[0..len) (one JSON object, as the input loop hands
 * it over, without its newline) for the target: the payload is appended
 * to out (out is not emptied first).  Returns:
 *   0   the payload is in out;
 *   EV_SHAPE_UNDELIVERABLE  AWS would not deliver it: err->msg says why
 *       ("InputPath '$.x' matches nothing in the event", "<aws.events.event>
 *       inside a JSON string: the payload is not valid JSON", or with
 *       EV_SHAPE_LINE "the payload holds a newline"); evroute dead-letters
 *       the event with that reason; out holds what was made so far;
 *   -1  the event is not valid JSON (err->col set, as ev_paths_get()
 *       says it; checked only when the shape reads paths, see
 *       ev_shape_reads(): evroute has validated it when matching) or
 *       memory ran out.
 * JSON payloads are minified (one line, whatever the template's layout);
 * the identity and Input deliver their bytes as they are (an Input with
 * a newline is minified at compile time).  Thread-safe: sh is read only.
 */
int ev_shape_apply(const struct ev_shape *sh, const char *line, size_t len,
    const struct ev_shape_ctx *ctx, int flags, struct ev_buf *out,
    struct ev_err *err);

/* Whether the shape reads paths of the event (else no scan is needed). */
int ev_shape_reads(const struct ev_shape *sh);

/*
 * A shape set: several targets' shapes whose paths are read in one scanner
 * pass per event (the targets of one rule, or of every rule: one pass
 * however many targets an event fans out to; the pass costs about the same
 * for one path as for a hundred, while ev_shape_apply() scans once per
 * target).  Equal path texts share a slot.
 *
 *   ss = ev_shapes_new();
 *   i = ev_shapes_add(ss, sh, err);        for each target: its index
 *   ev_shapes_finish(ss, err);             once, after the last add
 *   per event:
 *     vals has ev_shapes_nslots(ss) entries (may be 0)
 *     ev_shapes_scan(ss, line, len, vals, err);       once
 *     ev_shapes_apply(ss, i, line, len, vals, ctx, flags, out, err);
 *                                          for each target i it goes to
 *
 * ev_shapes_add() takes sh (ev_shapes_free() frees it, and so does a
 * failed add) and returns its index (0, 1, ...), or -1 with err set.
 * ev_shapes_scan() returns 0, or -1 with err (col set) when the event is
 * not valid JSON; it reads nothing when no shape reads paths.
 * ev_shapes_apply() returns as ev_shape_apply() does; i -1 appends the
 * event as it is (a target without shaping).  Scan and apply only
 * read the set: threads may share it, each with its own vals.
 */
struct ev_shapes;
struct ev_shapes *ev_shapes_new(void);
/*
 * A set that borrows its shapes (ev_shapes_add() does not take them, and
 * ev_shapes_free() leaves them): one set over the shapes of several sets,
 * e.g. every rule's targets, for one scan per event.
 */
struct ev_shapes *ev_shapes_new_borrowed(void);
void ev_shapes_free(struct ev_shapes *ss);
int ev_shapes_add(struct ev_shapes *ss, struct ev_shape *sh,
    struct ev_err *err);
int ev_shapes_finish(struct ev_shapes *ss, struct ev_err *err);
int ev_shapes_count(const struct ev_shapes *ss);
const struct ev_shape *ev_shapes_get(const struct ev_shapes *ss, int i);
int ev_shapes_nslots(const struct ev_shapes *ss);
int ev_shapes_scan(const struct ev_shapes *ss, const char *line, size_t len,
    struct ev_span *vals, struct ev_err *err);
int ev_shapes_apply(const struct ev_shapes *ss, int i, const char *line,
    size_t len, const struct ev_span *vals, const struct ev_shape_ctx *ctx,
    int flags, struct ev_buf *out, struct ev_err *err);

/*
 * Append to out the ARN EventBridge gives a rule: arn:aws:events:REGION:
 * ACCOUNT:rule/NAME on the default bus (bus NULL, "" or "default"), else
 * arn:aws:events:REGION:ACCOUNT:rule/BUS/NAME.  region and account are
 * region[0..rlen) and account[0..alen) (say, the event's "region" and
 * "account").  Returns 0, or -1 when memory runs out.
 */
int ev_route_rule_arn(const char *region, size_t rlen, const char *account,
    size_t alen, const char *bus, const char *name, struct ev_buf *out);

/* --------------------------------------------------------------- config */

/*
 * evroute's rules and targets (config.c), read from a file of the shapes
 * ev_rules_load() reads: a JSON list or NDJSON of rules as the API spells
 * them ({"Name", "Arn", "EventBusName", "EventPattern" (object or string),
 * "State", "Targets": [{"Id", "Arn", "Input", "InputPath",
 * "InputTransformer", "RetryPolicy", "DeadLetterConfig"}]}), `aws events`
 * output, a CloudFormation template (each AWS::Events::Rule's Properties)
 * or a SAM template (each EventBridgeRule event source of a function or
 * state machine: one target, the resource itself), in JSON or YAML.
 */
struct ev_route_target {
	char *id;
	char *arn;		/* the Arn: a string, or the JSON text of a
				   template's intrinsic function */
	char *dlq;		/* DeadLetterConfig.Arn, or NULL */
	int32_t max_attempts;	/* RetryPolicy.MaximumRetryAttempts (0-185;
				   EventBridge's default 185) */
	int32_t max_age_s;	/* RetryPolicy.MaximumEventAgeInSeconds (60-
				   86400; default 86400) */
	int shape;		/* its shaping: index in the rule's shapes;
				   -1: none (event), the event as it is */
	unsigned char arn_intrinsic;	/* arn is {"Ref": ...},
					   {"Fn::GetAtt": ...} */
	unsigned char event;	/* no Input, InputPath or InputTransformer:
				   the target takes the event as it is */
	unsigned int line, col;	/* where it is in the file */
};	/* 48 bytes: 10,000 rules of 20 targets take 9.6 MB */

struct ev_route_rule {
	char *name;		/* Name (a template: Properties.Name, else
				   the logical id; SAM: RuleName, else
				   FUNCTION.EVENT), or the rule set's name */
	char *arn;		/* Arn, or NULL: the default (see
				   ev_route_rule_arn()) */
	char *bus;		/* EventBusName, or NULL: the default bus */
	int enabled;		/* State ENABLED (the default), not DISABLED */
	size_t index;		/* the rule's index in the rule set */
	struct ev_route_target *t;	/* Targets, in file order */
	int nt;
	struct ev_shapes *shapes;	/* the targets' shaping (finished) */
	unsigned long line, col;
};

struct ev_route_strs;

struct ev_route_config {
	struct ev_route_rule *r;	/* in file order: r[i].index == i */
	int n, cap;
	struct ev_route_strs *strs;	/* owns the rules' and targets'
					   strings, equal ones shared */
};

struct ev_rules;

/*
 * Load the rules of path into rs (their patterns, as ev_rules_load()
 * does; call ev_rules_finish() after) and cf (everything else).  Checks
 * what PutRule and PutTargets would: each target's Id (unique in its
 * rule) and Arn, RetryPolicy's ranges, DeadLetterConfig, and the shaping
 * (ev_shape_from_target(): AWS's messages).  Returns 0, or -1 with err
 * located in path (file, line, col) and cf empty.  Free cf with
 * ev_route_config_free().
 */
int ev_route_config_load(struct ev_route_config *cf, struct ev_rules *rs,
    const char *path, struct ev_err *err);
void ev_route_config_free(struct ev_route_config *cf);

/* --------------------------------------------------------------- target */

/*
 * Target URIs (target.c): "-" standard output, "file:PATH" (appended with
 * O_APPEND), "fd:N"; exec:, pipe:, store:, http:// and https:// are
 * recognised but not supported yet; an AWS ARN ("arn:...") or a
 * template's intrinsic function (JSON text "{...}") must be mapped.
 */
enum ev_uri_kind {
	EV_URI_UNKNOWN = 0,
	EV_URI_STDOUT,
	EV_URI_FILE,
	EV_URI_FD,
	EV_URI_EXEC,
	EV_URI_PIPE,
	EV_URI_STORE,
	EV_URI_HTTP,
	EV_URI_AWS
};
/* The kind of uri; *rest points after its scheme (the path, the fd). */
enum ev_uri_kind ev_uri_kind(const char *uri, const char **rest);
/*
 * 0 when uri is a target this build delivers to, else -1 with err->msg
 * saying why ("'exec:x': exec: targets are not supported yet").
 */
int ev_uri_check(const char *uri, struct ev_err *err);

/*
 * A line writer on a target URI: whole lines kept in a buffer of its own
 * and written with one write(2) each time it fills (a line longer than
 * the buffer alone), so that lines never mix with other processes' on an
 * O_APPEND file.  A failed write is remembered (ev_route_out_errno()),
 * later lines are dropped, ev_route_out_close() reports it ("write error
 * on 'URI': strerror"; EPIPE is not reported there).
 */
struct ev_route_out;
/* Open uri (ev_uri_check() first).  NULL with err set. */
struct ev_route_out *ev_route_out_open(const char *uri, struct ev_err *err);
/* Add p[0..n) and a newline.  0, or -1 once a write has failed. */
int ev_route_out_line(struct ev_route_out *o, const char *p, size_t n);
/*
 * Add the whole lines p[0..n) (newlines included) without copying them:
 * the caller keeps the bytes unchanged until the next
 * ev_route_out_flush() (one writev(2) then for all the lines held, its
 * own and the caller's, in order).  0, or -1 once a write has failed.
 */
int ev_route_out_ref(struct ev_route_out *o, const char *p, size_t n);
int ev_route_out_flush(struct ev_route_out *o);
int ev_route_out_errno(const struct ev_route_out *o);
const struct stat *ev_route_out_stat(const struct ev_route_out *o);
const char *ev_route_out_name(const struct ev_route_out *o);
/* Flush, close (when it opened the file) and free; err NULL: quietly. */
int ev_route_out_close(struct ev_route_out *o, struct ev_err *err);

/* ----------------------------------------------------------------- http */

/*
 * http:// and https:// targets (http.c), EventBridge's API destinations,
 * on libcurl.  A connection file holds CreateConnection's request:
 * {"Name", "AuthorizationType": "BASIC" | "API_KEY" (OAUTH_CLIENT_CREDENTIALS
 * is refused), "AuthParameters": {"BasicAuthParameters": {"Username",
 * "Password"}, "ApiKeyAuthParameters": {"ApiKeyName", "ApiKeyValue"},
 * "InvocationHttpParameters": {"HeaderParameters", "QueryStringParameters",
 * "BodyParameters": [{"Key", "Value", "IsValueSecret"}]}}}.  An API
 * destination file holds CreateApiDestination's: {"Name", "ConnectionArn",
 * "InvocationEndpoint", "HttpMethod", "InvocationRateLimitPerSecond"}.
 * Both loaders return 0, or -1 with err located in path (AWS's validation
 * wording where AWS has one: "1 validation error detected: Value 'X' at
 * 'httpMethod' failed to satisfy constraint: ...").
 */
struct ev_http_param {
	char *key, *value;
};

enum ev_http_auth {
	EV_HTTP_AUTH_NONE = 0,
	EV_HTTP_AUTH_BASIC,
	EV_HTTP_AUTH_API_KEY
};

struct ev_http_conn {
	char *name;
	enum ev_http_auth auth;
	char *user, *pass;		/* BASIC */
	char *key_name, *key_value;	/* API_KEY: a header */
	struct ev_http_param *hdr, *query, *body;
	int nhdr, nquery, nbody;
};
int ev_http_conn_load(struct ev_http_conn **out, const char *path,
    struct ev_err *err);
void ev_http_conn_free(struct ev_http_conn *c);

struct ev_http_dest {
	char *name, *conn_arn, *endpoint, *method;
	int rate;			/* InvocationRateLimitPerSecond, 0:
					   none given */
};
int ev_http_dest_load(struct ev_http_dest **out, const char *path,
    struct ev_err *err);
void ev_http_dest_free(struct ev_http_dest *d);
/*
 * Whether a target's Arn text names API destination d: an ARN
 * "arn:...:api-destination/NAME[/...]", or a template's {"Fn::GetAtt":
 * ["NAME", "Arn"]} (NAME the logical id).
 */
int ev_http_dest_names(const struct ev_http_dest *d, const char *arn);
/* A --header operand "Name: value": 0, or -1 with err set. */
int ev_http_header_check(const char *h, struct ev_err *err);

/*
 * A client for one target: method (NULL: POST) to url, with the
 * connection's query string, headers and auth (conn, borrowed, may be
 * NULL), then headers[0..nheaders) ("Name: value", borrowed), timeouts
 * (0: 5s, as API destinations time out) and at most rate requests a
 * second (0: no limit; ev_http_send() waits on the toolkit's clock, so
 * EVKIT_NOW makes the wait virtual).  The connection is kept alive from
 * one event to the next.  NULL with err set.
 */
struct ev_http_opts {
	const char *url;
	const char *method;
	const struct ev_http_conn *conn;
	const char *const *headers;
	int nheaders;
	int64_t connect_timeout_ms, timeout_ms;
	int rate;
};

/* What a request came to. */
enum ev_http_res {
	EV_HTTP_OK = 0,		/* 2xx */
	EV_HTTP_RETRY,		/* 429, 5xx, timeout, connection failure */
	EV_HTTP_FINAL		/* any other status: dead-letter at once */
};

/*
 * code is the ERROR_CODE EventBridge would write in the dead letter
 * ("ERROR_FROM_TARGET", "THROTTLING", "TIMEOUT", "CONNECTION_FAILURE",
 * "INVALID_PARAMETER", "SDK_CLIENT_ERROR"; "" on success), msg its
 * ERROR_MESSAGE ("HTTP 400: the start of the response body", or
 * libcurl's words), status the HTTP status (0: no response).
 */
struct ev_http_outcome {
	long status;
	const char *code;
	char msg[256];
};

struct ev_http;
struct ev_http *ev_http_new(const struct ev_http_opts *o,
    struct ev_err *err);
/*
 * Send the payload p[0..n) (with the connection's BodyParameters added
 * when it is a JSON object).  Blocks for the rate and the request.
 */
enum ev_http_res ev_http_send(struct ev_http *h, const char *p, size_t n,
    struct ev_http_outcome *out);
/* Connections opened so far (1 when keep-alive held). */
long ev_http_connections(const struct ev_http *h);
void ev_http_free(struct ev_http *h);

/*
 * What every http target of a bus shares (evroute's --header,
 * --connection and --api-destination; all borrowed): a target whose Arn
 * names one of dests (ev_http_conf_dest()) goes to its InvocationEndpoint
 * with its HttpMethod and rate, authenticated by the connection its
 * ConnectionArn names; a plain http:// or https:// target uses conns[0]
 * (or none).
 */
struct ev_http_conf {
	const char *const *headers;
	int nheaders;
	struct ev_http_conn **conns;
	int nconns;
	struct ev_http_dest **dests;
	int ndests;
	int64_t timeout_ms;	/* 0: 5s */
};
/*
 * Load the connection files conn_files[0..nc) and the API destination
 * files dest_files[0..nd) (borrowed names) into c's conns and dests, and
 * check them (ev_http_conf_check()).  0, or -1 with err (located in the
 * file at fault); ev_http_conf_free() frees what was loaded either way,
 * not headers.
 */
int ev_http_conf_load(struct ev_http_conf *c, const char *const *conn_files,
    int nc, const char *const *dest_files, int nd, struct ev_err *err);
void ev_http_conf_free(struct ev_http_conf *c);
/* The API destination arn (a target's Arn text) names, or NULL. */
const struct ev_http_dest *ev_http_conf_dest(const struct ev_http_conf *c,
    const char *arn);
/*
 * 0, or -1 with err set when an API destination's connection is not among
 * conns (unless no connection is given at all), or a name or an
 * InvocationEndpoint repeats.
 */
int ev_http_conf_check(const struct ev_http_conf *c, struct ev_err *err);
/* The client for API destination d, or (d NULL) for uri.  NULL: err. */
struct ev_http *ev_http_conf_open(const struct ev_http_conf *c,
    const char *uri, const struct ev_http_dest *d, struct ev_err *err);
/* -------------------------------------------------------------- drivers */

/*
 * Every target kind is a driver (struct ev_target_driver): "-", file: and
 * fd: (target.c), store: (target.c), exec: and pipe: (deliver.c: their
 * processes run on lib/proc's scheduler).  The engine (deliver.c) opens a
 * target once per URI (ev_target_open()), sends it payloads, retries what
 * fails by the target's RetryPolicy and dead-letters what fails for good.
 *
 * To add a driver (say for http:// and https://):
 *   1. write a const struct ev_target_driver with open, send, flush,
 *      close (and stat when it writes a local file) in a file of its own;
 *   2. declare it below next to ev_driver_file and put it in drivers[]
 *      in deliver.c under its enum ev_uri_kind;
 *   3. make ev_uri_check() (target.c) accept the kind.
 * send runs on evroute's routing thread, one payload at a time: a driver
 * that blocks (a network call) holds back the other targets for that
 * long, so keep a timeout.  Its failures need nothing more: a retryable
 * one (EV_SEND_RETRY) is retried on the scheduler by calling send again.
 */
enum ev_send {
	EV_SEND_OK = 0,		/* delivered (a batching driver: accepted;
				   counted when its flush succeeds) */
	EV_SEND_RETRY,		/* failed, may succeed later: retried */
	EV_SEND_FINAL,		/* failed for good: dead-lettered at once */
	EV_SEND_ERROR		/* evroute cannot go on (a local write
				   error): err set, exit 2 */
};

/* A failure's error name (ERROR_CODE) and message (ERROR_MESSAGE). */
struct ev_send_fail {
	char name[48];		/* "Exit.1", "HTTP.503", "Store.Busy" */
	char msg[256];
};

struct ev_sched_opts;

struct ev_target_driver {
	const char *kind;	/* "file", "exec": for messages */
	/* Open uri (ev_uri_check() passed) into *state.  0, or -1 (err). */
	int (*open)(const char *uri, void **state, struct ev_err *err);
	/*
	 * Deliver payload p[0..n) (one JSON text or line, no newline).
	 * NULL for a driver whose deliveries run as processes (sched).
	 */
	enum ev_send (*send)(void *state, const char *p, size_t n,
	    struct ev_send_fail *f, struct ev_err *err);
	/* Write out or commit what send took.  0, or -1 with err. */
	int (*flush)(void *state, struct ev_err *err);
	/* Flush (err NULL: quietly), release.  0, or -1 with err. */
	int (*close)(void *state, struct ev_err *err);
	/* The local file it writes (to refuse it as an input), or NULL. */
	const struct stat *(*stat)(void *state);
	/*
	 * Process drivers: fill so's argv, feed, persistent (the engine
	 * adds jobs, retries, max age): each delivery is a task of a
	 * scheduler of the target's.  NULL for in-process drivers.
	 */
	int (*sched)(void *state, struct ev_sched_opts *so,
	    struct ev_err *err);
	int batched;		/* deliveries count at a successful flush */
	/*
	 * Optional: deliver whole lines p[0..n) (the newline included) that
	 * the caller keeps unchanged until the driver's next flush (the bus
	 * writes a payload that goes to many files once, and has each file
	 * write it from there).  NULL: the engine calls send.
	 */
	enum ev_send (*send_ref)(void *state, const char *p, size_t n,
	    struct ev_err *err);
};

extern const struct ev_target_driver ev_driver_file;	/* -, file:, fd: */
extern const struct ev_target_driver ev_driver_store;	/* store:PATH */
extern const struct ev_target_driver ev_driver_exec;	/* exec:CMD ARG */
extern const struct ev_target_driver ev_driver_pipe;	/* pipe:CMD ARG */
extern const struct ev_target_driver ev_driver_http;	/* http(s):// */
/*
 * The settings the http driver opens its targets with (a bus's, set
 * before it opens them; borrowed, NULL: none): a URI that is the
 * InvocationEndpoint of one of c's API destinations is that destination.
 */
void ev_http_use(const struct ev_http_conf *c);

/*
 * Split the words of an exec: or pipe: URI's command: blanks separate
 * words; '...' keeps everything literally, "..." too except that \" and
 * \\ stand for " and \; a backslash outside quotes keeps the next
 * character.  No variables, globs or other shell syntax.  Returns a NULL-
 * terminated vector (one allocation: free() it), or NULL with err set
 * ("unterminated quote", "no command").
 */
char **ev_uri_words(const char *cmd, struct ev_err *err);

/* An open target: a driver and its state, one per URI. */
struct ev_target;
/* The driver for uri's kind, or NULL. */
const struct ev_target_driver *ev_target_driver_for(const char *uri);
/* Check and open uri with its driver.  NULL with err set. */
struct ev_target *ev_target_open(const char *uri, struct ev_err *err);
/* Open uri with driver d (tests: a driver of their own). */
struct ev_target *ev_target_open_driver(const struct ev_target_driver *d,
    const char *uri, struct ev_err *err);
const char *ev_target_uri(const struct ev_target *t);
const struct ev_target_driver *ev_target_driver(const struct ev_target *t);
/* The file it writes, or NULL. */
const struct stat *ev_target_stat(const struct ev_target *t);
/* One attempt at a payload, as the driver's send (process drivers: no). */
enum ev_send ev_target_send(struct ev_target *t, const char *p, size_t n,
    struct ev_send_fail *f, struct ev_err *err);
int ev_target_flush(struct ev_target *t, struct ev_err *err);
/* Whether t's driver takes lines by reference (send_ref). */
int ev_target_takes_ref(const struct ev_target *t);
/* Send by reference (ev_target_takes_ref()): see send_ref. */
enum ev_send ev_target_send_ref(struct ev_target *t, const char *p,
    size_t n, struct ev_err *err);
/* Close and free t (err NULL: quietly).  NULL is a no-op. */
int ev_target_close(struct ev_target *t, struct ev_err *err);

/*
 * A delivery queue: the deliveries of one rule's target to an open target
 * (borrowed), each retried by the target's RetryPolicy on lib/proc's
 * scheduler, side by side (every failed delivery waits for its own due
 * time at once, so a target that fails every event pays its delays once).
 * The backoff is EventBridge's: exponential with full jitter, from 1s,
 * doubling, capped at EV_DELIV_MAX_DELAY_MS (see deliver.c).  At most
 * bound deliveries are pending (EV_DELIV_BOUND): the caller waits with
 * ev_deliv_run() before it sends more (backpressure).
 */
#define EV_DELIV_BOUND 1000
#define EV_DELIV_BOUND_BYTES (16 << 20)	/* or this many payload bytes */
#define EV_DELIV_MAX_DELAY_MS (5 * 60 * 1000)

struct ev_task;
struct ev_deliv_opts {
	int64_t max_retries;	/* RetryPolicy.MaximumRetryAttempts */
	int64_t max_age_ms;	/* MaximumEventAgeInSeconds, as ms */
	size_t bound;		/* 0: EV_DELIV_BOUND */
	uint64_t seed;		/* jitter; 0 picks one */
	/*
	 * Each delivery that failed for good: t->event the event,
	 * t->payload the payload, t->name ERROR_CODE, t->errtail the
	 * message, t->exhausted "MaximumRetryAttempts",
	 * "MaximumEventAgeInSeconds" or "NotRetryable", t->attempts.  0, or
	 * -1 with err (stops evroute).
	 */
	int (*dead)(void *ctx, const struct ev_task *t, struct ev_err *err);
	void *ctx;
};

struct ev_deliv;
struct ev_deliv *ev_deliv_new(struct ev_target *t,
    const struct ev_deliv_opts *o, struct ev_err *err);
void ev_deliv_free(struct ev_deliv *q);
/*
 * Deliver payload[0..plen) made from event ev[0..elen), read at
 * file:lineno (borrowed until the delivery is done: the input loop's name
 * of the file): an in-process driver is sent to at once (its failure
 * goes on the scheduler or to dead), a process driver's delivery becomes
 * a task.  Never waits: check ev_deliv_full() first.  0, or -1 with err
 * (EV_SEND_ERROR, memory).
 */
int ev_deliv_send(struct ev_deliv *q, const char *ev, size_t elen,
    const char *payload, size_t plen, const char *file,
    unsigned long lineno, struct ev_err *err);
/*
 * The first attempt at an in-process driver's delivery, made by the
 * caller with ev_target_send(), failed with r (EV_SEND_RETRY or
 * EV_SEND_FINAL) and f: retry it on the scheduler, or dead-letter it.
 * (A caller may send to a target at once and make the queue only when a
 * delivery first fails: a queue costs memory, a rule set may have many
 * targets.)  0, or -1 with err.
 */
int ev_deliv_failed(struct ev_deliv *q, const char *ev, size_t elen,
    const char *payload, size_t plen, const char *file,
    unsigned long lineno, enum ev_send r, const struct ev_send_fail *f,
    struct ev_err *err);
/* Whether bound deliveries (or EV_DELIV_BOUND_BYTES) are pending. */
int ev_deliv_full(const struct ev_deliv *q);
size_t ev_deliv_pending(const struct ev_deliv *q);
/*
 * Run the scheduler for at most max_ms (0: one pass, no waiting): start
 * what is due, collect what ended, retry or dead-letter.  0, or -1.
 */
int ev_deliv_run(struct ev_deliv *q, int64_t max_ms, struct ev_err *err);
/* Whether an attempt runs (a process started, not yet ended). */
int ev_deliv_busy(const struct ev_deliv *q);
/*
 * After a stop signal: hand every delivery not being attempted to dead,
 * exhausted "Stopped" (nothing is dropped).  0, or -1 with err.
 */
int ev_deliv_stop(struct ev_deliv *q, struct ev_err *err);
/* After the target's flush succeeded: batched deliveries count now. */
void ev_deliv_flushed(struct ev_deliv *q);
/* Deliveries done, retry attempts made, deliveries dead-lettered. */
void ev_deliv_counts(const struct ev_deliv *q, unsigned long *delivered,
    unsigned long *retried, unsigned long *dead);

/* ------------------------------------------------------------------ bus */

/*
 * The bus (bus.c): each event to the targets of the rules it matches.
 * maps are --target operands "ID=URI", "RULE.ID=URI" or "ARN=URI" (a
 * target's or a DeadLetterConfig's Arn text); a target's URI is the first
 * of RULE.ID, ID, its Arn that a map names, else its Arn.  dlq is
 * --dlq's path (or NULL), unmatched --unmatched's (NULL: counted only).
 */
struct ev_bus_opts {
	int first_match;	/* only the first matching rule, file order */
	int dry_run;		/* NDJSON of what would go where, on stdout */
	const char *const *maps;
	int nmaps;
	const char *dlq;
	const char *unmatched;
	const char *rules_path;	/* where the rules came from, for errors */
	const struct ev_http_conf *http;	/* http targets (or NULL) */
	size_t bound;		/* deliveries pending per target (0:
				   EV_DELIV_BOUND) */
};

struct ev_bus;
struct ev_matcher;

/*
 * A bus over cf and rs (borrowed: they outlive it), with every target
 * checked and (unless dry_run) opened.  NULL with err set, located in
 * rules_path at the target when it is a target's fault.
 */
struct ev_bus *ev_bus_new(const struct ev_route_config *cf,
    const struct ev_rules *rs, const struct ev_bus_opts *o,
    struct ev_err *err);
/*
 * Refuse a file the bus writes (a target, a dead-letter or unmatched
 * file) that is also one of the regular files in st[0..n) (the inputs):
 * returns -1 with err "NAME: input file is also target 'URI'" for
 * names[i], else 0.
 */
int ev_bus_check_inputs(const struct ev_bus *b, const struct stat *st,
    const char *const *names, int n, struct ev_err *err);

/*
 * Refuse a file the bus writes that is also an input: the rules file,
 * one of files[0..n) (standard input when n is 0 or one is "-"), or the
 * reject file rej (NULL: none).  0, or -1 with err ("NAME: input file is
 * also target 'URI'", "REJ: reject file is also target 'URI'").
 */
int ev_bus_refuse_inputs(const struct ev_bus *b, char *const *files, int n,
    const char *rules, const char *rej, struct ev_err *err);
/* -t: "RULE<tab>ID<tab>URI" (or DISABLED) for every target, on stdout. */
void ev_bus_report(const struct ev_bus *b);

/* ev_bus_event() results. */
enum ev_bus_res {
	EV_BUS_OK = 0,
	EV_BUS_BAD,		/* the event is not valid JSON: err (col) */
	EV_BUS_FAIL,		/* a write failed or memory ran out: err */
	EV_BUS_STOP		/* standard output went away: stop quietly */
};

/*
 * Route one event line[0..len), read at file:lineno (borrowed for the
 * call), received at ingestion_ms.
 */
enum ev_bus_res ev_bus_event(struct ev_bus *b, const char *file,
    unsigned long lineno, const char *line, size_t len, int64_t ingestion_ms,
    struct ev_err *err);
/*
 * The two halves of ev_bus_event(), for matching on worker threads (each
 * with its own matcher, ev_matcher_new(rs)) and routing in input order on
 * one.  ev_bus_match() only reads b: it stores the indexes of the
 * ENABLED rules line[0..len) matches, in file order (the first only with
 * first_match), into out (room for max) and returns how many there are;
 * more than max means none was stored (call ev_bus_event() instead);
 * -1: the line is not valid JSON (err).  ev_bus_route() routes the event
 * to the targets of rules hits[0..n).
 */
int ev_bus_match(const struct ev_bus *b, struct ev_matcher *m,
    const char *line, size_t len, size_t *out, size_t max,
    struct ev_err *err);
enum ev_bus_res ev_bus_route(struct ev_bus *b, const char *file,
    unsigned long lineno, const char *line, size_t len, const size_t *hits,
    size_t n, int64_t now, struct ev_err *err);
/* The URI target j of rule i goes to (NULL for a DISABLED rule). */
const char *ev_bus_uri(const struct ev_bus *b, int i, int j);
/* Events that matched no rule, and deliveries that were dead-lettered. */
unsigned long ev_bus_unmatched(const struct ev_bus *b);
unsigned long ev_bus_dead(const struct ev_bus *b);
/*
 * The counts as one JSON object and a newline, appended to out:
 * {"rules":[{"rule":NAME,"matched":N,"targets":[{"id":ID,"uri":URI,
 * "delivered":N,"retried":0,"deadLettered":N}]}],"unmatched":N}.
 */
int ev_bus_stats(const struct ev_bus *b, struct ev_buf *out);
/*
 * Let the attempts that run end, then flush every target (a store
 * commits): 0, or -1 with err for the first error.
 */
int ev_bus_flush(struct ev_bus *b, struct ev_err *err);
/*
 * At the end of the input: run the schedulers until every delivery is
 * done (delivered or dead-lettered; after a stop signal what waits is
 * dead-lettered, exhausted "Stopped"), then ev_bus_flush().
 */
int ev_bus_drain(struct ev_bus *b, struct ev_err *err);
/* Close every writer (errors into err when not NULL) and free b. */
int ev_bus_free(struct ev_bus *b, struct ev_err *err);

#endif
