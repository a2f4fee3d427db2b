/*
 * policy.c - ASL error names of a handler's outcome, Retriers (matching,
 * backoff with optional full jitter, the per-retrier counters), and the
 * dead-letter record.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "proc.h"

void
ev_outcome_name(const struct ev_outcome *o, char *buf, size_t size)
{
	const char *s;

	switch (o->run) {
	case EV_RUN_OK:
		snprintf(buf, size, "%s", "");
		break;
	case EV_RUN_EXIT:
		snprintf(buf, size, "Exit.%d", o->status);
		break;
	case EV_RUN_SIGNAL:
		s = sigabbrev_np(o->sig);
		if (s != NULL)
			snprintf(buf, size, "Signal.%s", s);
		else
			snprintf(buf, size, "Signal.%d", o->sig);
		break;
	case EV_RUN_TIMEOUT:
		snprintf(buf, size, "%s", "States.Timeout");
		break;
	case EV_RUN_NOEXEC:
		snprintf(buf, size, "%s", o->errnum == ENOENT ?
		    "Exec.NotFound" : "Exec.NotExecutable");
		break;
	case EV_RUN_ANSWER:	/* the answer names it */
		snprintf(buf, size, "%s", "States.TaskFailed");
		break;
	case EV_RUN_DATALIMIT:
		snprintf(buf, size, "%s", "States.DataLimitExceeded");
		break;
	}
}

int
ev_outcome_final(const struct ev_outcome *o)
{
	return o->run == EV_RUN_NOEXEC ||
	    (o->run == EV_RUN_EXIT && (o->status == 126 || o->status == 127));
}

void
ev_retrier_default(struct ev_retrier *r)
{
	static const char *const all[] = { "States.ALL" };

	r->errors = all;
	r->nerrors = 1;
	r->interval_ms = 1000;
	r->max_attempts = 3;
	r->backoff = 2.0;
	r->max_delay_ms = 0;
	r->jitter_full = 0;
}

int
ev_retrier_matches(const struct ev_retrier *r, const char *name)
{
	int i;

	for (i = 0; i < r->nerrors; i++) {
		/* A terminal error: only its own name takes it. */
		if (strcmp(name, "States.DataLimitExceeded") == 0) {
			if (strcmp(r->errors[i], name) == 0)
				return 1;
			continue;
		}
		if (strcmp(r->errors[i], "States.ALL") == 0)
			return 1;
		if (strcmp(r->errors[i], "States.TaskFailed") == 0 &&
		    strcmp(name, "States.Timeout") != 0)
			return 1;
		if (strcmp(r->errors[i], name) == 0)
			return 1;
	}
	return 0;
}

uint64_t
ev_rand(uint64_t *seed)
{
	uint64_t x = *seed ? *seed : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*seed = x;
	return x * 0x2545f4914f6cdd1dULL;
}

int64_t
ev_retrier_delay(const struct ev_retrier *r, int n, uint64_t *seed)
{
	double d = (double)r->interval_ms * pow(r->backoff, n - 1);
	int64_t ms;

	if (r->max_delay_ms > 0 && d > (double)r->max_delay_ms)
		d = (double)r->max_delay_ms;
	if (d > 9e15)
		d = 9e15;
	ms = (int64_t)d;
	if (r->jitter_full && ms > 0)
		ms = (int64_t)(ev_rand(seed) % (uint64_t)(ms + 1));
	return ms;
}

int
ev_retry_decide(const struct ev_retrier *rs, int n, int *counts,
    const char *name, int final, uint64_t *seed, int64_t *delay_ms,
    const char **why)
{
	int i;

	if (final) {
		*why = "NotRetryable";
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!ev_retrier_matches(&rs[i], name))
			continue;
		if (counts[i] >= rs[i].max_attempts) {
			*why = "MaxAttempts";
			return -1;
		}
		counts[i]++;
		*delay_ms = ev_retrier_delay(&rs[i], counts[i], seed);
		return i;
	}
	*why = "NoRetrier";
	return -1;
}

/* ------------------------------------------------------------------ json */

int
ev_json_quote(struct ev_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char e[6] = { '\\', 'u', '0', '0', 0, 0 };
	size_t i, run = 0;
	unsigned char c;

	if (ev_buf_add(b, "\"", 1) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		if (ev_buf_add(b, s + run, i - run) < 0)
			return -1;
		run = i + 1;
		if (c == '"' || c == '\\') {
			e[4] = (char)c;
			if (ev_buf_add(b, "\\", 1) < 0 ||
			    ev_buf_add(b, e + 4, 1) < 0)
				return -1;
			continue;
		}
		if (c == '\n' || c == '\t' || c == '\r') {
			if (ev_buf_add(b, c == '\n' ? "\\n" : c == '\t' ?
			    "\\t" : "\\r", 2) < 0)
				return -1;
			continue;
		}
		e[4] = hex[c >> 4];
		e[5] = hex[c & 15];
		if (ev_buf_add(b, e, 6) < 0)
			return -1;
	}
	if (ev_buf_add(b, s + run, n - run) < 0 || ev_buf_add(b, "\"", 1) < 0)
		return -1;
	return 0;
}

/*
 * The stderr tail cut at a byte boundary may split a UTF-8 sequence or be
 * invalid UTF-8 anyway: bytes that do not form valid UTF-8 are written as
 * U+FFFD so that the record stays valid JSON.
 */
int
ev_json_quote_text(struct ev_buf *b, const char *s, size_t n)
{
	struct ev_buf t = { NULL, 0, 0 };
	size_t i = 0, k, len;
	unsigned char c;
	int r;

	while (i < n) {
		c = (unsigned char)s[i];
		len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 && c >= 0xc2 ? 2 :
		    (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 && c <= 0xf4 ?
		    4 : 0;
		for (k = 1; len && k < len; k++)
			if (i + k >= n || ((unsigned char)s[i + k] & 0xc0) !=
			    0x80)
				len = 0;
		if (len == 0) {
			if (ev_buf_add(&t, "\xef\xbf\xbd", 3) < 0)
				goto oom;
			i++;
			continue;
		}
		if (ev_buf_add(&t, s + i, len) < 0)
			goto oom;
		i += len;
	}
	r = ev_json_quote(b, t.p ? t.p : "", t.len);
	ev_buf_free(&t);
	return r;
oom:
	ev_buf_free(&t);
	return -1;
}

/* A string member ,"key":TEXT (s NULL: null). */
static int
str_member(struct ev_buf *b, const char *key, const char *s, size_t n)
{
	if (ev_buf_add(b, ",\"", 2) < 0 || ev_buf_add(b, key, strlen(key)) < 0 ||
	    ev_buf_add(b, "\":", 2) < 0)
		return -1;
	if (s == NULL)
		return ev_buf_add(b, "null", 4);
	return ev_json_quote_text(b, s, n);
}

/* An event bus's members: the payload and EventBridge's attributes. */
#define ATTRS ",\"attributes\":{\"RULE_ARN\":"
static int
bus_attrs(struct ev_buf *b, const struct ev_task *t)
{
	char tmp[64];
	const char *tarn = t->target_arn ? t->target_arn : "";
	const char *msg = t->message ? t->message : "";
	const char *ex = t->exhausted ? t->exhausted : "";

	if (str_member(b, "payload", t->payload, t->paylen) < 0 ||
	    ev_buf_add(b, ATTRS, sizeof(ATTRS) - 1) < 0 ||
	    ev_json_quote_text(b, t->rule_arn, strlen(t->rule_arn)) < 0 ||
	    str_member(b, "TARGET_ARN", tarn, strlen(tarn)) < 0 ||
	    str_member(b, "ERROR_CODE", t->name, strlen(t->name)) < 0 ||
	    str_member(b, "ERROR_MESSAGE", msg, strlen(msg)) < 0 ||
	    str_member(b, "EXHAUSTED_RETRY_CONDITION", ex, strlen(ex)) < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), ",\"RETRY_ATTEMPTS\":%d}",
	    t->attempts > 0 ? t->attempts - 1 : 0);
	return ev_buf_add(b, tmp, strlen(tmp));
}

int
ev_dlq_record(struct ev_buf *b, const struct ev_task *t)
{
	char tmp[128], name[48];
	struct ev_outcome sig = t->out;

	if (ev_buf_add(b, "{\"event\":", 9) < 0 ||
	    ev_buf_add(b, t->event, t->len) < 0 ||
	    ev_buf_add(b, ",\"error\":", 9) < 0 ||
	    ev_json_quote(b, t->name, strlen(t->name)) < 0)
		return -1;
	if (t->out.run == EV_RUN_EXIT)
		snprintf(tmp, sizeof(tmp), ",\"status\":%d", t->out.status);
	else
		snprintf(tmp, sizeof(tmp), ",\"status\":null");
	if (ev_buf_add(b, tmp, strlen(tmp)) < 0 ||
	    ev_buf_add(b, ",\"signal\":", 10) < 0)
		return -1;
	if (t->out.run == EV_RUN_SIGNAL) {
		ev_outcome_name(&sig, name, sizeof(name));
		if (ev_json_quote(b, name + 7, strlen(name + 7)) < 0)
			return -1;
	} else if (ev_buf_add(b, "null", 4) < 0)
		return -1;
	if (ev_buf_add(b, ",\"stderr\":", 10) < 0 ||
	    ev_json_quote_text(b, t->errtail, t->errlen) < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), ",\"attempts\":%d,\"exhausted\":",
	    t->attempts);
	if (ev_buf_add(b, tmp, strlen(tmp)) < 0 ||
	    ev_json_quote(b, t->exhausted, strlen(t->exhausted)) < 0)
		return -1;
	ev_time_format(t->first_ms, name, sizeof(name));
	snprintf(tmp, sizeof(tmp), ",\"firstAttempt\":\"%s\"", name);
	if (ev_buf_add(b, tmp, strlen(tmp)) < 0)
		return -1;
	ev_time_format(t->last_ms, name, sizeof(name));
	snprintf(tmp, sizeof(tmp), ",\"lastAttempt\":\"%s\",\"source\":",
	    name);
	if (ev_buf_add(b, tmp, strlen(tmp)) < 0 ||
	    ev_json_quote_text(b, t->file, strlen(t->file)) < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), ",\"line\":%lu", t->lineno);
	if (ev_buf_add(b, tmp, strlen(tmp)) < 0)
		return -1;
	if (t->rule_arn != NULL && bus_attrs(b, t) < 0)
		return -1;
	return ev_buf_add(b, "}\n", 2);
}
