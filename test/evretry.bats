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
	[ "$stderr" = "evretry: in: input file is also the dead-letter file" ]
	[ "$(cat in)" = '{}' ]
}

@test "evretry: usage errors exit 2" {
	run -2 --separate-stderr evretry
	[ "${stderr_lines[0]}" = "evretry: no command given" ]
	run -2 --separate-stderr evretry --jitter some -- true
	[ "${stderr_lines[0]}" = "evretry: invalid jitter 'some': expected 'full' or 'none'" ]
	run -2 --separate-stderr evretry --backoff-rate 0.5 -- true
	[ "${stderr_lines[0]}" = "evretry: invalid backoff rate '0.5': expected a number from 1.0 to 1000" ]
	run -2 --separate-stderr evretry -j 0 -- true
	[ "${stderr_lines[0]}" = "evretry: invalid job count '0': expected a number from 1 to 1024" ]
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
	[ "$stderr" = "evretry: in: input file is also the pending file" ]
	run -2 --separate-stderr evretry --pending $'no/such\ndir' -- true <in
	[ "$stderr" = "evretry: no/such\\ndir: No such file or directory" ]
}
