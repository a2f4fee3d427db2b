#!/usr/bin/env bats
# evretry: a handler per event, ASL Retry semantics, dead letters.  Retries
# run on the virtual clock (EVKIT_NOW), so backoff never waits.

bats_require_minimum_version 1.5.0

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	export EVKIT_NOW=2026-12-03T00:00:00Z
	# flaky N: a handler that fails N times (per event, exit 75), then
	# echoes "ok EVENT"
	cat >flaky <<'SH'
#!/bin/sh
read -r ev
f=count.$(printf '%s' "$ev" | cksum | cut -d' ' -f1)
n=$(cat "$f" 2>/dev/null || echo 0)
echo $((n + 1)) >"$f"
if [ "$n" -lt "$1" ]; then echo "attempt $n failed" >&2; exit 75; fi
echo "ok $ev"
SH
	chmod +x flaky
}

@test "evretry: a handler's output goes downstream, exit 0" {
	run -0 --separate-stderr evretry -- ./flaky 0 <<<$'{"a":1}\n{"a":2}'
	[ "$output" = $'ok {"a":1}\nok {"a":2}' ]
	[ -z "$stderr" ]
}

@test "evretry: a handler that fails twice then succeeds is retried" {
	run -0 --separate-stderr evretry -- ./flaky 2 <<<'{"a":1}'
	[ "$output" = 'ok {"a":1}' ]
	[ "$(cat count.*)" = 3 ]
}

@test "evretry: one that always fails is dead-lettered after 1s, 2s, 4s" {
	printf '%s\n' '{"a":1}' '{ "b" : "x\u00e9" }' >in
	run -1 --separate-stderr evretry --dlq dlq -- ./flaky 9 <in
	[ -z "$output" ]
	[ "${stderr_lines[0]}" = "evretry: <stdin>:1: Exit.75 after 4 attempts (MaxAttempts)" ]
	[ "${#stderr_lines[@]}" -eq 2 ]
	[ "$(sed -n 2p dlq)" = '{"event":{ "b" : "x\u00e9" },"error":"Exit.75","status":75,"signal":null,"stderr":"attempt 3 failed\n","attempts":4,"exhausted":"MaxAttempts","firstAttempt":"2026-12-03T00:00:00Z","lastAttempt":"2026-12-03T00:00:07Z","source":"<stdin>","line":2}' ]
	# the original events, byte for byte
	jq -c '.event' dlq >/dev/null
	[ "$(sed 's/^{"event":\(.*\),"error".*/\1/' dlq)" = "$(cat in)" ]
}

@test "evretry: the dead-letter file is appended to" {
	echo old >dlq
	run -1 evretry --max-attempts 0 --dlq dlq -- false <<<'{}'
	[ "$(wc -l <dlq)" -eq 2 ]
	[ "$(head -1 dlq)" = old ]
}

@test "evretry: --interval, --backoff-rate, --max-delay set the schedule" {
	run -1 evretry --max-attempts 4 --interval 3s --backoff-rate 1.5 \
	    --max-delay 5s --dlq dlq -- false <<<'{}'
	# 3s + 4.5s + 5s + 5s
	grep -q '"attempts":5,.*"lastAttempt":"2026-12-03T00:00:17.500Z"' dlq
}

@test "evretry: --max-attempts 0 never retries" {
	run -1 --separate-stderr evretry --max-attempts 0 -- ./flaky 1 <<<'{}'
	[ "$stderr" = "evretry: <stdin>:1: Exit.75 after 1 attempt (MaxAttempts)" ]
}

@test "evretry: full jitter stays within the backoff" {
	run -1 env EVKIT_SEED=7 evretry --max-attempts 1 --interval 10s \
	    --jitter full --dlq dlq -- false <<<'{}'
	t=$(sed 's/.*"lastAttempt":"2026-12-03T00:00:\([0-9.]*\)Z".*/\1/' dlq)
	awk -v t="$t" 'BEGIN { exit !(t >= 0 && t <= 10) }'
}

@test "evretry: a handler killed by a signal is Signal.NAME" {
	run -1 --separate-stderr evretry --max-attempts 0 --dlq dlq -- \
	    sh -c 'kill -SEGV $$' <<<'{}'
	[ "$stderr" = "evretry: <stdin>:1: Signal.SEGV after 1 attempt (MaxAttempts)" ]
	grep -q '"status":null,"signal":"SEGV"' dlq
}

@test "evretry: a missing or non-executable command is not retried" {
	run -1 --separate-stderr evretry -- ./nosuch <<<'{}'
	[ "$stderr" = "evretry: <stdin>:1: Exec.NotFound after 1 attempt (NotRetryable)" ]
	echo 'echo hi' >noexec
	run -1 --separate-stderr evretry -- ./noexec <<<'{}'
	[ "$stderr" = "evretry: <stdin>:1: Exec.NotExecutable after 1 attempt (NotRetryable)" ]
	run -1 --separate-stderr evretry -- sh -c 'exit 127' <<<'{}'
	[ "$stderr" = "evretry: <stdin>:1: Exit.127 after 1 attempt (NotRetryable)" ]
}

@test "evretry: --timeout kills the handler's whole process group" {
	run -1 --separate-stderr evretry --timeout 100ms --max-attempts 1 \
	    --dlq dlq -- sh -c 'sleep 60 & echo $! >>pids; wait' <<<'{}'
	[ "$stderr" = "evretry: <stdin>:1: States.Timeout after 2 attempts (MaxAttempts)" ]
	grep -q '"error":"States.Timeout"' dlq
	[ "$(wc -l <pids)" -eq 2 ]
	# gone, or a zombie waiting for init
	for p in $(cat pids); do
		[ ! -e /proc/$p ] || grep -q '^State:.*Z' /proc/$p/status ||
		    { echo "$p is alive"; false; }
	done
}

@test "evretry: the event is never shell code" {
	run -0 evretry --arg -- printf '%s\n' <<<'{"a":"$(touch pwned)"}'
	[ "$output" = '{"a":"$(touch pwned)"}' ]
	[ ! -e pwned ]
}

@test "evretry: --arg and --env NAME hand the event over" {
	run -0 evretry --env EV -- sh -c 'printf "%s|" "$EV"; cat' <<<'{"a":1}'
	[ "$output" = '{"a":1}|' ]
	run -0 evretry --arg -- echo x <<<'{"a":1}'
	[ "$output" = 'x {"a":1}' ]
}

@test "evretry: --pass writes the original event; output is whole lines" {
	run -0 evretry --pass -- ./flaky 1 <<<'{ "a" : 1 }'
	[ "$output" = '{ "a" : 1 }' ]
	run -0 evretry -- printf 'no newline' <<<$'{}\n{}'
	[ "$output" = $'no newline\nno newline' ]
}

@test "evretry: -j runs handlers at once, --keep-order keeps input order" {
	# event 1 waits for event 2 to have run: serially it never could.
	# On the real clock: under EVKIT_NOW a silent handler's timeout comes
	# as soon as it has been silent for 1s
	unset EVKIT_NOW
	run -0 evretry -j 2 --timeout 10s -- sh -c 'read -r e; case $e in
	    *1*) while [ ! -e two ]; do sleep 0.01; done ;;
	    *) : >two ;; esac
	    echo "$e"' <<<$'{"n":1}\n{"n":2}'
	# both ran (in whichever order they finished), none timed out
	[ "$(printf '%s\n' "$output" | sort)" = $'{"n":1}\n{"n":2}' ] ||
	    { echo "$output"; false; }
	rm two
	run -0 evretry -j 2 --keep-order --timeout 10s -- sh -c 'read -r e
	    case $e in *1*) while [ ! -e two ]; do sleep 0.01; done ;;
	    *) : >two ;; esac; echo "$e"' <<<$'{"n":1}\n{"n":2}'
	[ "$output" = $'{"n":1}\n{"n":2}' ]
}

@test "evretry: a retry waits without blocking other events" {
	run -1 evretry -j 1 --max-attempts 1 --interval 10s -- sh -c \
	    'read -r e; echo "$e" >>log; case $e in *1*) exit 1 ;; esac' \
	    <<<$'{"n":1}\n{"n":2}'
	[ "$(cat log)" = $'{"n":1}\n{"n":2}\n{"n":1}' ]
}

@test "evretry: bad lines are reported, kept with --reject, exit 2" {
	run -2 --separate-stderr evretry --reject rej -- ./flaky 0 \
	    <<<$'{"a":1}\nnot json\n{"a":2}'
	[ "$output" = $'ok {"a":1}\nok {"a":2}' ]
	[ "$stderr" = "evretry: <stdin>:2:2: invalid JSON: invalid literal" ]
	[ "$(cat rej)" = 'not json' ]
}

@test "evretry: the dead-letter file may not be the input" {
	echo '{}' >in
	run -2 --separate-stderr evretry --dlq in -- false <in
	[ "$stderr" = "evretry: <stdin>: input file is also the dead-letter file" ]
	[ "$(cat in)" = '{}' ]
}

@test "evretry: usage errors exit 2" {
	run -2 --separate-stderr evretry
	[ "${stderr_lines[0]}" = "evretry: no command given" ]
	run -2 --separate-stderr evretry --jitter some -- true
	[ "${stderr_lines[0]}" = "evretry: invalid --jitter 'some': expected none or full" ]
	run -2 --separate-stderr evretry --backoff-rate 0.5 -- true
	[ "${stderr_lines[0]}" = "evretry: invalid --backoff-rate '0.5': expected a number from 1 to 1000" ]
	run -2 --separate-stderr evretry -j 0 -- true
	[ "${stderr_lines[0]}" = "evretry: invalid -j '0': expected a whole number from 1 to 1024" ]
	run -2 --separate-stderr evretry --max-attempts -1 -- true
	[ "${stderr_lines[0]}" = "evretry: invalid --max-attempts '-1': expected a whole number from 0 to 99999999" ]
	run -2 --separate-stderr evretry --max-age 0 -- true
	[ "${stderr_lines[0]}" = "evretry: invalid --max-age '0': expected a duration of at least 1ms" ]
	run -2 --separate-stderr evretry --retry r.json --interval 2s -- true
	[ "${stderr_lines[0]}" = "evretry: options '--retry' and '--interval' cannot be used together" ]
	run -2 --separate-stderr evretry --interval 5x -- true
	[[ ${stderr_lines[0]} == "evretry: --interval: invalid duration '5x'"* ]]
	run -2 --separate-stderr evretry --env A=B -- true
	[ "${stderr_lines[0]}" = "evretry: invalid variable name 'A=B'" ]
}

@test "evretry: a full disk is an error" {
	run -2 --separate-stderr sh -c "echo '{}' | evretry -- ./flaky 0 >/dev/full"
	[ "$stderr" = "evretry: write error on '<stdout>': No space left on device" ]
	run -2 --separate-stderr evretry --dlq /dev/full -- false <<<'{}'
	[ "${stderr_lines[1]}" = "evretry: write error on '/dev/full': No space left on device" ]
}

@test "evretry: a handler's large output and input are not truncated" {
	head -c 300000 /dev/zero | tr '\0' a | sed 's/.*/{"a":"&"}/' >big
	run -0 evretry -- cat <big
	[ "$output" = "$(cat big)" ]
}

# --- policy files, age, redrive ------------------------------------------

# ASL's own example of retriers: Exit.75/Exit.76 share one counter
# (MaxAttempts 2, 1s then 2s), Exit.77 has its own (5s); the errors come
# 75, 76, 77, 76: the third failure of the first retrier ends it.
@test "evretry: --retry evaluates retriers in order, a counter each" {
	cat >r.json <<'EOF'
[ {"ErrorEquals": ["Exit.75", "Exit.76"], "IntervalSeconds": 1,
   "BackoffRate": 2.0, "MaxAttempts": 2},
  {"ErrorEquals": ["Exit.77"], "IntervalSeconds": 5} ]
EOF
	cat >seq <<'SH'
#!/bin/sh
n=$(cat n 2>/dev/null || echo 0); echo $((n + 1)) >n
set -- 75 76 77 76 0; shift "$n"; exit "$1"
SH
	chmod +x seq
	run -1 --separate-stderr evretry --retry r.json --dlq dlq -- ./seq <<<'{}'
	[ "$stderr" = "evretry: <stdin>:1: Exit.76 after 4 attempts (MaxAttempts)" ]
	# 1s + 2s + 5s
	grep -q '"lastAttempt":"2026-12-03T00:00:08Z"' dlq
}

@test "evretry: --retry takes a Task state, with FULL jitter and MaxDelaySeconds" {
	echo '{"Type":"Task","Resource":"x","Retry":[{"ErrorEquals":
	    ["States.TaskFailed"],"IntervalSeconds":10,"MaxAttempts":1,
	    "JitterStrategy":"FULL","MaxDelaySeconds":4}]}' >task.json
	run -1 env EVKIT_SEED=3 evretry --retry task.json --dlq dlq -- false <<<'{}'
	t=$(sed 's/.*"lastAttempt":"2026-12-03T00:00:\([0-9.]*\)Z".*/\1/' dlq)
	awk -v t="$t" 'BEGIN { exit !(t >= 0 && t <= 4) }'
	grep -q '"attempts":2' dlq
	# States.TaskFailed does not match States.Timeout
	run -1 --separate-stderr evretry --retry task.json --timeout 50ms -- \
	    sleep 5 <<<'{}'
	[ "$stderr" = "evretry: <stdin>:1: States.Timeout after 1 attempt (NoRetrier)" ]
}

@test "evretry: --max-output kills an attempt writing more: States.DataLimitExceeded, taken by its own name only" {
	# killed as the output passes 1K, not after the sleep; not retried
	# by the default States.ALL retrier, not caught by States.ALL
	echo '[{"ErrorEquals":["States.ALL"],"Next":"caught"}]' >all.json
	big='head -c 5000 /dev/zero | tr "\0" x; exec sleep 60'
	run -1 --separate-stderr evretry --max-output 1K --catch all.json \
	    --dlq dlq -- sh -c "$big" <<<'{}'
	[ "$stderr" = "evretry: <stdin>:1: States.DataLimitExceeded after 1 attempt (NoRetrier)" ]
	[ -z "$output" ] && [ ! -s caught ]
	jq -e '.error == "States.DataLimitExceeded" and .attempts == 1' dlq
	# the limit itself passes whole
	run -0 evretry --max-output 1K -- sh -c 'head -c 1023 /dev/zero | tr "\0" x; echo' <<<'{}'
	[ "${#output}" -eq 1023 ]
	# named, it is retried, and caught
	echo '[{"ErrorEquals":["States.DataLimitExceeded"],"MaxAttempts":1}]' >r.json
	echo '[{"ErrorEquals":["States.DataLimitExceeded"],"Next":"caught"}]' >c.json
	run -0 --separate-stderr evretry --max-output 1K --retry r.json \
	    --catch c.json -- sh -c "$big" <<<'{}'
	jq -e '.Error == "States.DataLimitExceeded"' caught
	run -2 --separate-stderr evretry --max-output 0 -- true </dev/null
	[ "${stderr_lines[0]}" = "evretry: invalid --max-output '0': expected at least 1 byte" ]
}

@test "evretry: --retry files are validated as Step Functions does" {
	v() {
		printf '%s\n' "$1" >bad.json
		run -2 --separate-stderr evretry --retry bad.json -- true </dev/null
		[ "$stderr" = "evretry: bad.json:1:$2" ] ||
		    { echo "got: $stderr"; false; }
	}
	v '[{"ErrorEquals":["States.ALL","Exit.1"]}]' "18: 'States.ALL' must appear alone in 'ErrorEquals'"
	v '[{"ErrorEquals":["States.ALL"]},{"ErrorEquals":["Exit.1"]}]' "18: 'States.ALL' must appear in the last retrier"
	v '[{"ErrorEquals":[]}]' "17: 'ErrorEquals' must be a non-empty array"
	v '[{"ErrorEquals":"x"}]' "17: 'ErrorEquals' must be an array"
	v '[{"ErrorEquals":[1]}]' "18: 'ErrorEquals[0]' must be a string"
	v '[{"ErrorEquals":[""]}]' "18: an error name must be a non-empty string without NUL"
	v '[{"ErrorEquals":["States.Bogus"]}]' "18: unknown error name 'States.Bogus': the prefix 'States.' is reserved"
	v '[{}]' "2: missing member 'ErrorEquals'"
	v '[{"ErrorEquals":["X"],"IntervalSeconds":0}]' "41: 'IntervalSeconds' must be an integer from 1 to 99999999"
	v '[{"ErrorEquals":["X"],"MaxAttempts":100000000}]' "37: 'MaxAttempts' must be an integer from 0 to 99999999"
	v '[{"ErrorEquals":["X"],"BackoffRate":0.5}]' "37: 'BackoffRate' must be a number of at least 1.0"
	v '[{"ErrorEquals":["X"],"BackoffRate":"2"}]' "37: 'BackoffRate' must be a number"
	v '[{"ErrorEquals":["X"],"MaxDelaySeconds":0}]' "41: 'MaxDelaySeconds' must be an integer from 1 to 31622400"
	v '[{"ErrorEquals":["X"],"JitterStrategy":"full"}]' "40: 'JitterStrategy' must be 'FULL' or 'NONE'"
	v '[{"ErrorEquals":["X"],"Retries":1}]' "23: unknown member 'Retries'"
	v '[{"ErrorEquals":["X"],"Comment":1}]' "33: 'Comment' must be a string"
	v '[1]' "2: 'Retry[0]' must be an object"
	v '"x"' "1: a Retry file must hold an array or a Task state object"
	v '{"Type":"Task"}' "1: missing member 'Retry'"
	v '{"Retry":{}}' "10: 'Retry' must be an array"
	printf '[{"ErrorEquals":["X"]}' >bad.json
	run -2 --separate-stderr evretry --retry bad.json -- true </dev/null
	[ "$stderr" = "evretry: bad.json:1:23: invalid JSON: unexpected end of input" ]
}

@test "evretry: --catch files are validated as Step Functions does" {
	v() {
		printf '%s\n' "$1" >bad.json
		run -2 --separate-stderr evretry --catch bad.json -- true </dev/null
		[ "$stderr" = "evretry: bad.json:1:$2" ] ||
		    { echo "got: $stderr"; false; }
	}
	v '[{"ErrorEquals":["States.ALL"],"Next":"f"},{"ErrorEquals":["X"],"Next":"f"}]' "18: 'States.ALL' must appear in the last catcher"
	v '[{"ErrorEquals":["X"]}]' "2: missing member 'Next'"
	v '[{"ErrorEquals":["X"],"Next":""}]' "30: 'Next' must be a file name or 'exec:COMMAND'"
	v '[{"ErrorEquals":["X"],"Next":3}]' "30: 'Next' must be a string"
	v '[{"ErrorEquals":["X"],"Next":"exec: "}]' "30: 'Next' names no command after 'exec:'"
	v '[{"ErrorEquals":["X"],"Next":"f","ResultPath":"$.a..b"}]' "47: 'ResultPath' must be null, '\$' or a path such as '\$.error'"
	v '[{"ErrorEquals":["X"],"Next":"f","MaxAttempts":1}]' "34: unknown member 'MaxAttempts'"
	v '{"Retry":[]}' "1: missing member 'Catch'"
	run -2 --separate-stderr evretry --catch nosuch.json -- true
	[ "$stderr" = "evretry: nosuch.json: No such file or directory" ]
}

@test "evretry: --catch sends what failed for good on, with the error at ResultPath" {
	cat >c.json <<'EOF'
[ {"ErrorEquals": ["Exit.3"], "Next": "exec:sed s/^/fixed:/",
   "ResultPath": "$.why.error"},
  {"ErrorEquals": ["Exit.4"], "Next": "kept.ndjson", "ResultPath": null},
  {"ErrorEquals": ["States.ALL"], "Next": "caught.ndjson",
   "ResultPath": "$.error"} ]
EOF
	# the handler fails with the status in the event's "e", prints "ok"
	# for an event without one
	cat >h <<'SH'
#!/bin/sh
read -r e
echo "err $e" >&2
case $e in *'"e":'*) s=${e#*\"e\":}; exit "${s%\}}" ;; esac
echo ok
SH
	chmod +x h
	printf '%s\n' '{"n":1,"e":5}' '{"n":2,"e":3}' '{"n":3,"e":4}' '{"n":0}' >in
	run -0 --separate-stderr evretry --catch c.json --max-attempts 1 \
	    --dlq dlq --keep-order -- ./h <in
	[ -z "$stderr" ]
	[ ! -s dlq ]
	[ "$output" = 'fixed:{"n":2,"e":3,"why":{"error":{"Error":"Exit.3","Cause":"err {\"n\":2,\"e\":3}\n"}}}
ok' ] || { echo "$output"; false; }
	[ "$(cat kept.ndjson)" = '{"n":3,"e":4}' ]
	[ "$(cat caught.ndjson)" = '{"n":1,"e":5,"error":{"Error":"Exit.5","Cause":"err {\"n\":1,\"e\":5}\n"}}' ] ||
	    { cat caught.ndjson; false; }
}

@test "evretry: an event no catcher takes, or whose catch fails, is dead-lettered" {
	echo '[{"ErrorEquals":["Exit.3"],"Next":"exec:false"},
	    {"ErrorEquals":["Exit.4"],"Next":"f","ResultPath":"$.a.b"}]' >c.json
	run -1 --separate-stderr evretry --catch c.json --max-attempts 0 \
	    --dlq dlq -- sh -c 'exit 3' <<<'{"a":1}'
	[ "${stderr_lines[0]}" = "evretry: <stdin>:1: catch command 'exec:false' failed: Exit.1" ]
	[ "${stderr_lines[1]}" = "evretry: <stdin>:1: Exit.3 after 1 attempt (MaxAttempts)" ]
	run -1 --separate-stderr evretry --catch c.json --max-attempts 0 \
	    --dlq dlq -- sh -c 'exit 4' <<<'{"a":1}'
	[ "${stderr_lines[0]}" = "evretry: <stdin>:1: ResultPath '\$.a.b' does not match the event: not an object on the way" ]
	run -1 --separate-stderr evretry --catch c.json --max-attempts 0 \
	    --dlq dlq -- sh -c 'exit 5' <<<'{"a":1}'
	[ "$stderr" = "evretry: <stdin>:1: Exit.5 after 1 attempt (MaxAttempts)" ]
	[ "$(grep -c '"event":{"a":1}' dlq)" -eq 3 ]
	[ ! -s f ]
}

@test "evretry: a catch command that hangs is killed by --timeout" {
	echo '[{"ErrorEquals":["Exit.1"],"Next":"exec:sleep 60"}]' >c.json
	run -1 --separate-stderr evretry --catch c.json --max-attempts 0 \
	    --timeout 100ms -- false <<<'{}'
	[ "${stderr_lines[0]}" = "evretry: <stdin>:1: catch command 'exec:sleep 60' failed: States.Timeout" ]
	[ "${stderr_lines[1]}" = "evretry: <stdin>:1: Exit.1 after 1 attempt (MaxAttempts)" ]
}

@test "evretry: a catch command is never run through a shell" {
	echo '[{"ErrorEquals":["States.ALL"],"Next":"exec:echo $(touch pwned) ;"}]' >c.json
	run -0 evretry --catch c.json --max-attempts 0 -- false <<<'{"a":1}'
	[ "$output" = '$(touch pwned) ;' ]
	[ ! -e pwned ]
}

@test "evretry: --max-age gives up on events older than the age by their time" {
	printf '%s\n' '{"id":1,"time":"2026-12-02T23:00:00Z"}' \
	    '{"id":2,"time":"2026-12-02T23:59:58Z"}' '{"id":3}' \
	    '{"id":4,"time":"not a time"}' >in
	run -1 --separate-stderr evretry --max-age 5s --dlq dlq -- \
	    sh -c 'cat >>ran; exit 1' <in
	[ "${stderr_lines[0]}" = "evretry: <stdin>:1: Event.Expired after 0 attempts (MaximumEventAgeInSeconds)" ]
	# 2s old: attempts at +0s, +1s, +3s; the next, at +7s, would be 9s old
	[ "${stderr_lines[1]}" = "evretry: <stdin>:2: Exit.1 after 3 attempts (MaximumEventAgeInSeconds)" ]
	# no time, or one that is not valid: age unknown, never too old
	[ "${stderr_lines[2]}" = "evretry: <stdin>:3: Exit.1 after 4 attempts (MaxAttempts)" ]
	[ "${stderr_lines[3]}" = "evretry: <stdin>:4: Exit.1 after 4 attempts (MaxAttempts)" ]
	! grep -q '"id":1' ran
	grep -q '"error":"Event.Expired","status":null,"signal":null,"stderr":"","attempts":0,"exhausted":"MaximumEventAgeInSeconds"' dlq
}

@test "evretry: --redrive retries dead letters byte for byte: a round trip" {
	printf '%s\n' '{ "id" : 1,  "x":"\u00e9" }' '{"id":2}' >in
	run -1 evretry --max-attempts 1 --dlq dlq1 -- false <in
	[ "$(wc -l <dlq1)" -eq 2 ]
	run -1 --separate-stderr evretry --redrive dlq1 --max-attempts 0 \
	    --dlq dlq2 -- false
	[ "$stderr" = $'evretry: dlq1:1: Exit.1 after 1 attempt (MaxAttempts)\nevretry: dlq1:2: Exit.1 after 1 attempt (MaxAttempts)' ]
	grep -q '"source":"dlq1","line":2' dlq2
	run -0 evretry --keep-order --redrive dlq2 --redrive - -- cat <dlq1
	[ "$output" = "$(cat in in)" ]
}

@test "evretry: --redrive refuses lines that are not dead-letter records" {
	printf '%s\n' '{"id":1}' '{"event":1,"error":"x","exhausted":"y"}' \
	    'nope' '{"event":{"id":4},"error":"Exit.1","exhausted":"MaxAttempts"}' >dlq
	run -2 --separate-stderr evretry --redrive dlq --reject rej -- cat
	[ "$output" = '{"id":4}' ]
	[ "${stderr_lines[0]}" = "evretry: dlq:1:1: not a dead-letter record: missing member 'event'" ]
	[ "${stderr_lines[1]}" = "evretry: dlq:2:10: not a dead-letter record: 'event' must be an object" ]
	[ "${stderr_lines[2]}" = "evretry: dlq:3:2: invalid JSON: invalid literal" ]
	[ "$(cat rej)" = "$(head -3 dlq)" ]
}

@test "evretry: '-' is refused as the dead-letter, pending or reject file" {
	for o in dlq pending reject; do
		run -2 --separate-stderr evretry --$o - -- cat </dev/null
		[ "${stderr_lines[0]}" = "evretry: --$o: '-' is not a file; use /dev/stdout or ./-" ]
		[ ! -e ./- ]
	done
}

@test "evretry: dead-letter, catch, reject and pending files may not be an input or each other" {
	echo '{"event":{},"error":"x","exhausted":"y"}' >dlq
	cp dlq orig
	run -2 --separate-stderr evretry --redrive dlq --dlq dlq -- false
	[ "$stderr" = "evretry: dlq: input file is also the dead-letter file" ]
	echo '[{"ErrorEquals":["States.ALL"],"Next":"dlq"}]' >c.json
	run -2 --separate-stderr evretry --redrive dlq --catch c.json -- false
	[ "$stderr" = "evretry: dlq: input file is also the catch file" ]
	run -2 --separate-stderr evretry --catch c.json -- false <dlq
	[ "$stderr" = "evretry: <stdin>: input file is also the catch file" ]
	echo '[{"ErrorEquals":["States.ALL"],"Next":"c2.json"}]' >c2.json
	run -2 --separate-stderr evretry --catch c2.json -- false </dev/null
	[ "$stderr" = "evretry: c2.json: input file is also the catch file" ]
	run -2 --separate-stderr evretry --catch c.json --dlq c.json -- false </dev/null
	[ "$stderr" = "evretry: c.json: input file is also the dead-letter file" ]
	echo '[{"ErrorEquals":["States.ALL"]}]' >r.json
	run -2 --separate-stderr evretry --retry r.json --reject r.json -- false </dev/null
	[ "$stderr" = "evretry: r.json: input file is also the reject file" ]
	run -2 --separate-stderr evretry --dlq out --reject ./out -- false </dev/null
	[ "$stderr" = "evretry: out: dead-letter file is also the reject file" ]
	echo '[{"ErrorEquals":["States.ALL"],"Next":"out2"}]' >c3.json
	run -2 --separate-stderr evretry --dlq ./out2 --catch c3.json -- false </dev/null
	[ "$stderr" = "evretry: ./out2: dead-letter file is also a catch file" ]
	run -2 --separate-stderr evretry --dlq out3 --pending ./out3 -- false </dev/null
	[ "$stderr" = "evretry: ./out3: pending file is also the dead-letter file" ]
	run -2 --separate-stderr evretry --reject out4 --pending ./out4 -- false </dev/null
	[ "$stderr" = "evretry: ./out4: pending file is also the reject file" ]
	run -2 --separate-stderr evretry --catch c3.json --pending ./out2 -- false </dev/null
	[ "$stderr" = "evretry: ./out2: pending file is also a catch file" ]
	cmp dlq orig
	[ "$(cat r.json)" = '[{"ErrorEquals":["States.ALL"]}]' ]
	[ "$(cat c.json)" = '[{"ErrorEquals":["States.ALL"],"Next":"dlq"}]' ]
}

@test "evretry: a huge or deeply nested --retry file" {
	awk 'BEGIN { printf "["; for (i = 0; i < 100000; i++)
	    printf "{\"ErrorEquals\":[\"Exit.%d\"],\"MaxAttempts\":0},", i + 2
	    print "{\"ErrorEquals\":[\"States.ALL\"],\"MaxAttempts\":1}]" }' >huge.json
	run -1 --separate-stderr evretry --retry huge.json -- false <<<'{}'
	[ "$stderr" = "evretry: <stdin>:1: Exit.1 after 2 attempts (MaxAttempts)" ]
	awk 'BEGIN { for (i = 0; i < 100000; i++) printf "["; print "" }' >deep.json
	run -2 --separate-stderr evretry --retry deep.json -- false
	[ "$stderr" = "evretry: deep.json:1:513: invalid JSON: nesting too deep" ]
}

@test "evretry: a file name with a newline is escaped in diagnostics" {
	run -2 --separate-stderr evretry --retry $'a\nb\033' -- true
	[ "$stderr" = 'evretry: a\nb\x1b: No such file or directory' ]
}

@test "evretry: closed standard descriptors" {
	echo '[{"ErrorEquals":["States.ALL"],"Next":"c.out"}]' >c.json
	sh -c 'evretry --catch c.json --max-attempts 0 -- false <&- >&- 2>&-
	    echo "exit $?" >st'
	# a closed stdin reads as empty: nothing to do
	[ "$(cat st)" = "exit 0" ]
	[ ! -s c.out ]
	echo '{}' >in
	sh -c 'evretry --catch c.json --max-attempts 0 -- false <in >&- 2>&-
	    echo "exit $?" >st'
	[ "$(cat st)" = "exit 0" ]
	[ "$(cat c.out)" = '{"Error":"Exit.1","Cause":""}' ]
}

# --------------------------------------------------------- the scheduler

@test "evretry: --persistent: one handler answers every event, in order" {
	run -0 --separate-stderr evretry --persistent -- sh -c \
	    'echo $$ >>pids; while read -r e; do echo "got $e"; done' \
	    <<<$'{"n":1}\n{"n":2}\n{"n":3}'
	[ "$output" = $'got {"n":1}\ngot {"n":2}\ngot {"n":3}' ]
	[ "$(wc -l <pids)" -eq 1 ]
	# an empty answer: success, nothing downstream
	run -0 evretry --persistent -- sh -c 'while read -r e; do
	    case $e in *2*) echo ;; *) echo "$e" ;; esac; done' \
	    <<<$'{"n":1}\n{"n":2}\n{"n":3}'
	[ "$output" = $'{"n":1}\n{"n":3}' ]
}

@test "evretry: --persistent: an evkit-error answer feeds the retriers" {
	run -1 --separate-stderr evretry --persistent --max-attempts 1 \
	    --dlq dlq -- sh -c 'while read -r e; do case $e in
	    *2*) echo "{\"evkit-error\":{\"Error\":\"Busy\",\"Cause\":\"try later\"}}" ;;
	    *) echo "$e" ;; esac; done' <<<$'{"n":1}\n{"n":2}\n{"n":3}'
	[ "$output" = $'{"n":1}\n{"n":3}' ]
	[ "$stderr" = "evretry: <stdin>:2: Busy after 2 attempts (MaxAttempts)" ]
	grep -q '^{"event":{"n":2},"error":"Busy","status":null,"signal":null,"stderr":"try later","attempts":2,' dlq
}

@test "evretry: --persistent: a crashed handler is restarted, its events retried" {
	# killed at event 2: events 2 and 3 were in flight
	run -1 --separate-stderr evretry --persistent --max-attempts 0 \
	    --dlq dlq -- sh -c 'echo $$ >>pids; while read -r e; do
	    case $e in *2*) [ -e crashed ] || { : >crashed; kill -KILL $$; } ;;
	    esac; echo "$e"; done' <<<$'{"n":1}\n{"n":2}\n{"n":3}'
	[ "$output" = '{"n":1}' ]
	[ "${stderr_lines[0]}" = "evretry: <stdin>:2: Signal.KILL after 1 attempt (MaxAttempts)" ]
	[ "${stderr_lines[1]}" = "evretry: <stdin>:3: Signal.KILL after 1 attempt (MaxAttempts)" ]
	rm crashed pids
	# with retries: both come back through a new handler
	run -0 evretry --persistent -- sh -c 'echo $$ >>pids; while read -r e; do
	    case $e in *2*) [ -e crashed ] || { : >crashed; kill -KILL $$; } ;;
	    esac; echo "$e"; done' <<<$'{"n":1}\n{"n":2}\n{"n":3}'
	[ "$output" = $'{"n":1}\n{"n":2}\n{"n":3}' ]
	[ "$(wc -l <pids)" -eq 2 ]
}

@test "evretry: --persistent: exit, early close and a partial line fail what is in flight" {
	run -0 evretry --persistent -- sh -c 'read -r e; echo "$e"; exit 3' \
	    <<<$'{"n":1}\n{"n":2}\n{"n":3}'
	[ "$output" = $'{"n":1}\n{"n":2}\n{"n":3}' ]
	run -1 --separate-stderr evretry --persistent --max-attempts 0 -- \
	    sh -c 'read -r e; echo "$e"; exit 3' <<<$'{"n":1}\n{"n":2}'
	[ "$stderr" = "evretry: <stdin>:2: Exit.3 after 1 attempt (MaxAttempts)" ]
	# exit 0 without answering; a last line without its newline
	run -1 --separate-stderr evretry --persistent --max-attempts 0 -- \
	    sh -c 'read -r e; printf "%s" "$e"' <<<'{"n":1}'
	[ -z "$output" ]
	[ "$stderr" = "evretry: <stdin>:1: Exit.0 after 1 attempt (MaxAttempts)" ]
	# stdout closed, still running: killed
	run -1 --separate-stderr evretry --persistent --max-attempts 0 -- \
	    sh -c 'exec >&-; sleep 60' <<<'{"n":1}'
	[ "$stderr" = "evretry: <stdin>:1: Signal.KILL after 1 attempt (MaxAttempts)" ]
}

@test "evretry: --persistent: more lines than events is an error, the handler restarted" {
	run -2 --separate-stderr evretry --persistent --inflight 1 -- sh -c \
	    'echo $$ >>pids; while read -r e; do printf "%s\nextra\n" "$e"; done' \
	    <<<$'{"n":1}\n{"n":2}'
	[ "$output" = $'{"n":1}\n{"n":2}' ]
	[ "${stderr_lines[0]}" = "evretry: handler answered more lines than it was sent events: restarted" ]
	[ "${#stderr_lines[@]}" -eq 2 ]
	[ "$(wc -l <pids)" -eq 2 ]
}

@test "evretry: --persistent: an endless answer line is cut off" {
	run -2 --separate-stderr evretry --persistent --max-attempts 0 -- \
	    sh -c 'head -c 70000000 /dev/zero; cat >/dev/null' <<<'{}'
	[ -z "$output" ]
	[ "${stderr_lines[0]}" = "evretry: handler answered a line longer than 64 MiB: killed" ]
	[ "${stderr_lines[1]}" = "evretry: <stdin>:1: Signal.KILL after 1 attempt (MaxAttempts)" ]
}

@test "evretry: --persistent --timeout: the oldest event times out, the others are not counted" {
	run -1 --separate-stderr evretry --persistent --timeout 5s \
	    --max-attempts 0 --dlq dlq -- sh -c 'while read -r e; do
	    case $e in *2*) sleep 60 ;; esac; echo "$e"; done' \
	    <<<$'{"n":1}\n{"n":2}\n{"n":3}'
	[ "$output" = $'{"n":1}\n{"n":3}' ]
	[ "$stderr" = "evretry: <stdin>:2: States.Timeout after 1 attempt (MaxAttempts)" ]
	# the virtual clock went to the deadline instead of waiting for it
	grep -q '"lastAttempt":"2026-12-03T00:00:00Z"' dlq
}

@test "evretry: --inflight bounds the events sent ahead of the answers" {
	# this handler answers only once it has read two events
	h='read -r a; read -r b; printf "%s\n%s\n" "$a" "$b"; cat'
	run -0 evretry --persistent --inflight 2 -- sh -c "$h" \
	    <<<$'{"n":1}\n{"n":2}'
	[ "$output" = $'{"n":1}\n{"n":2}' ]
	run -1 --separate-stderr evretry --persistent --inflight 1 \
	    --timeout 5s --max-attempts 0 -- sh -c "$h" <<<$'{"n":1}\n{"n":2}'
	[ "${stderr_lines[0]}" = "evretry: <stdin>:1: States.Timeout after 1 attempt (MaxAttempts)" ]
}

@test "evretry: --timeout runs on the virtual clock" {
	# an hour on the virtual clock: over once the handler is silent
	run -1 --separate-stderr evretry --timeout 1h --max-attempts 1 \
	    --dlq dlq -- sleep 60 <<<'{}'
	[ "$stderr" = "evretry: <stdin>:1: States.Timeout after 2 attempts (MaxAttempts)" ]
	grep -q '"firstAttempt":"2026-12-03T00:00:00Z","lastAttempt":"2026-12-03T01:00:01Z"' dlq
}

@test "evretry: SIGTERM: in-flight events finish, the rest go to --pending" {
	printf '{"n":%d}\n' 1 2 3 4 >in
	run -143 --separate-stderr evretry --pending p -- sh -c 'read -r e
	    case $e in *2*) [ -e failed ] || { : >failed; exit 1; } ;;
	    *3*) kill -TERM $PPID ;; esac; echo "$e"' <in
	[ "$output" = $'{"n":1}\n{"n":3}' ]
	[ "$stderr" = "evretry: stopped: 2 events not run, written to 'p'" ]
	# the one waiting for its retry, and the one not started, byte for byte
	[ "$(cat p)" = $'{"n":2}\n{"n":4}' ]
}

@test "evretry: a second signal kills what runs and dead-letters it" {
	# INT first: of two pending signals the lower-numbered comes first
	run -130 --separate-stderr evretry --dlq dlq --pending p -- sh -c \
	    'read -r e; case $e in *1*) kill -INT $PPID; kill -TERM $PPID
	    exec sleep 60 ;; esac; echo "$e"' <<<$'{"n":1}\n{"n":2}'
	[ -z "$output" ]
	[ "${stderr_lines[0]}" = "evretry: <stdin>:1: Signal.KILL after 1 attempt (Stopped)" ]
	grep -q '^{"event":{"n":1},"error":"Signal.KILL",.*"exhausted":"Stopped"' dlq
	[ "$(cat p)" = '{"n":2}' ]
}

@test "evretry: --persistent: SIGTERM lets the handler answer what it has" {
	run -143 --separate-stderr evretry --persistent --pending p -- sh -c \
	    'while read -r e; do case $e in *2*) kill -TERM $PPID ;; esac
	    echo "$e"; done' <<<$'{"n":1}\n{"n":2}\n{"n":3}'
	# all three were in flight: all three answered
	[ "$output" = $'{"n":1}\n{"n":2}\n{"n":3}' ]
	[ ! -s p ]
}

@test "evretry: --group-by runs one event of a group at a time, in order" {
	printf '%s\n' '{"g":"a","n":1}' '{"g":"\u0061","n":2}' '{"g":"b","n":3}' >in
	h='read -r e; echo "$e" >>log; case $e in *1}) [ -e failed ] ||
	    { : >failed; exit 1; } ;; esac'
	run -0 evretry -j 2 --interval 10s --group-by g -- sh -c "$h" <in
	[ "$(grep -v '"b"' log)" = $'{"g":"a","n":1}\n{"g":"a","n":1}\n{"g":"\\u0061","n":2}' ]
	rm log failed
	# without groups, n 2 runs while n 1 waits for its retry
	run -0 evretry -j 1 --interval 10s -- sh -c "$h" <in
	[ "$(grep -v '"b"' log)" = $'{"g":"a","n":1}\n{"g":"\\u0061","n":2}\n{"g":"a","n":1}' ]
}

@test "evretry: --group-by: different groups run at once" {
	unset EVKIT_NOW
	run -0 evretry -j 2 --group-by g --timeout 10s -- sh -c 'read -r e
	    case $e in *a*) while [ ! -e b ]; do sleep 0.01; done ;;
	    *) : >b ;; esac; echo "$e"' <<<$'{"g":"a"}\n{"g":"b"}'
	[ "$(printf '%s\n' "$output" | sort)" = $'{"g":"a"}\n{"g":"b"}' ]
}

@test "evretry: --rate starts attempts evenly, retries included" {
	run -1 evretry -j 4 --rate 2/s --max-attempts 0 --dlq dlq -- false \
	    <<<$'{"n":1}\n{"n":2}\n{"n":3}'
	[ "$(grep -o '"firstAttempt":"[^"]*"' dlq)" = '"firstAttempt":"2026-12-03T00:00:00Z"
"firstAttempt":"2026-12-03T00:00:00.500Z"
"firstAttempt":"2026-12-03T00:00:01Z"' ]
	rm dlq
	run -1 evretry --rate 30/m --interval 0 --max-attempts 2 --dlq dlq -- \
	    false <<<'{}'
	grep -q '"attempts":3,.*"lastAttempt":"2026-12-03T00:00:04Z"' dlq
}

@test "evretry: --breaker stops after N failed attempts in a row, nothing lost" {
	for i in $(seq 30); do echo "{\"n\":$i}"; done >in
	run -1 --separate-stderr evretry --breaker 2 --max-attempts 0 \
	    --dlq dlq --pending p -- sh -c 'read -r e; case $e in
	    *':1}'*|*':2}'*) exit 1 ;; esac; echo "$e"' <in
	[ -z "$output" ]
	[ "${stderr_lines[2]}" = "evretry: breaker open after 2 failed attempts in a row: 28 events not run, written to 'p'" ]
	[ "$(wc -l <dlq)" -eq 2 ]
	[ "$(cat p)" = "$(sed 1,2d in)" ]
	# with retries: the two waiting for theirs are not run either
	rm p dlq
	run -1 --separate-stderr evretry --breaker 2 --pending p -- sh -c \
	    'read -r e; case $e in *':1}'*|*':2}'*) exit 1 ;; esac' <in
	[ "$(cat p)" = "$(cat in)" ]
	[ ! -e dlq ]
}

@test "evretry: scheduler usage errors" {
	run -2 --separate-stderr evretry --breaker 2 -- true
	[ "${stderr_lines[0]}" = "evretry: --breaker needs --pending for the events not run" ]
	run -2 --separate-stderr evretry --rate 5/h -- true
	[ "${stderr_lines[0]}" = "evretry: invalid rate '5/h': expected N/s or N/m, N from 1 to 1000000" ]
	run -2 --separate-stderr evretry --persistent --arg -- true
	[ "${stderr_lines[0]}" = "evretry: --persistent handlers read events on their stdin: not with --arg or --env" ]
	run -2 --separate-stderr evretry --inflight 0 -- true
	[ "${stderr_lines[0]}" = "evretry: invalid --inflight '0': expected a whole number from 1 to 65536" ]
	run -2 --separate-stderr evretry --group-by 'a[' -- true
	[[ ${stderr_lines[0]} == "evretry: invalid --group-by 'a[': "* ]]
	echo '{}' >in
	run -2 --separate-stderr evretry --pending in -- true <in
	[ "$stderr" = "evretry: <stdin>: input file is also the pending file" ]
	run -2 --separate-stderr evretry --pending $'no/such\ndir' -- true <in
	[ "$stderr" = "evretry: no/such\\ndir: No such file or directory" ]
}

@test "evretry: --persistent: a reused task starts with fresh retrier counters" {
	# thousands of events, so finished tasks are reused for later ones
	seq 1 3000 | sed 's/.*/{"n":&}/' >in
	EVKIT_NOW=2026-12-03T00:00:00Z run -1 evretry --persistent \
	    --max-attempts 1 --dlq d.ndjson -- sh -c \
	    'while read -r e; do echo "{\"evkit-error\":{\"Error\":\"X\"}}"; done' <in
	[ "$(grep -c '"attempts":2,' d.ndjson)" -eq 3000 ]
}
