#!/usr/bin/env bats
# evroute: EventBridge rules and their targets over NDJSON (issue 9, first
# slice: local line targets, shaping, dead letters of what AWS would not
# deliver).

bats_require_minimum_version 1.5.0

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	cat >rules.json <<'JSON'
[
  {"Name": "orders", "EventPattern": {"source": ["shop"]},
   "Targets": [
     {"Id": "all", "Arn": "file:all.ndjson"},
     {"Id": "small", "Arn": "file:small.ndjson",
      "InputTransformer": {"InputPathsMap": {"n": "$.detail.n"},
        "InputTemplate": "{\"n\": <n>, \"rule\": <aws.events.rule-name>}"}}]},
  {"Name": "big", "EventPattern": {"detail": {"n": [{"numeric": [">", 1]}]}},
   "Targets": [{"Id": "n", "Arn": "-", "InputPath": "$.detail.n"}]},
  {"Name": "off", "State": "DISABLED", "EventPattern": {"source": ["shop"]},
   "Targets": [{"Id": "x", "Arn": "file:off.ndjson"}]}
]
JSON
	printf '%s\n' '{"source":"shop","detail":{"n":1}}' \
	    '{"source":"other","detail":{"n":2}}' \
	    '{"source":"shop","detail":{"n":3}}' \
	    '{"source":"other","detail":{"n":0}}' >in.ndjson
}

@test "evroute: every target of every matching ENABLED rule, shaped, in input order" {
	run -0 --separate-stderr evroute --unmatched=drop -f rules.json in.ndjson
	[ "$output" = $'2\n3' ]
	[ -z "$stderr" ]
	[ "$(cat all.ndjson)" = "$(sed -n '1p;3p' in.ndjson)" ]
	[ "$(cat small.ndjson)" = $'{"n":1,"rule":"orders"}\n{"n":3,"rule":"orders"}' ]
	[ ! -e off.ndjson ]
}

@test "evroute: --first-match sends an event to the first matching rule only" {
	run -0 --separate-stderr evroute --first-match --unmatched=drop \
	    -f rules.json in.ndjson
	[ "$output" = 2 ]
	[ "$(wc -l <all.ndjson)" -eq 2 ]
}

@test "evroute: unmatched events are counted on stderr, kept with --unmatched FILE" {
	run -0 --separate-stderr evroute -f rules.json in.ndjson
	[ "$stderr" = "evroute: 1 event matched no rule" ]
	run -0 --separate-stderr evroute --unmatched un.ndjson -f rules.json \
	    in.ndjson
	[ -z "$stderr" ]
	[ "$(cat un.ndjson)" = '{"source":"other","detail":{"n":0}}' ]
}

@test "evroute: -t reports each target's URI; AWS targets must be mapped" {
	run -0 evroute -t -f rules.json
	[ "${lines[0]}" = $'orders\tall\tfile:all.ndjson' ]
	[ "${lines[3]}" = $'off\tx\tDISABLED' ]
	sed 's|"file:all.ndjson"|"arn:aws:sqs:us-east-1:1:q"|' rules.json >aws.json
	run -2 --separate-stderr evroute -t -f aws.json
	[ "$stderr" = "evroute: aws.json:4:6: target 'all' of rule 'orders': 'arn:aws:sqs:us-east-1:1:q' is an AWS target: map it to a local URI with --target" ]
	run -0 evroute -t --target orders.all=fd:3 -f aws.json
	[ "${lines[0]}" = $'orders\tall\tfd:3' ]
	run -0 evroute -t --target all=- -f aws.json
	[ "${lines[0]}" = $'orders\tall\t-' ]
	run -2 --separate-stderr evroute -t --target all=- --target nosuch=- \
	    -f aws.json
	[ "$stderr" = "evroute: --target 'nosuch=-': no target or dead-letter queue has that name" ]
	run -2 --separate-stderr evroute -t --target x -f aws.json
	[ "${stderr%%$'\n'*}" = "evroute: invalid --target 'x': expected ID=URI" ]
}

@test "evroute: bad exec:, pipe:, store: and http URIs" {
	for u in "exec:sh -c 'x" 'pipe:' 'store:'; do
		sed "s|\"file:all.ndjson\"|\"$u\"|" rules.json >k.json
		run -2 --separate-stderr evroute -t -f k.json
		[[ $stderr == *"'$u': "* ]]
	done
	[[ $stderr == *"'store:': store: needs a path" ]]
	sed 's|"file:all.ndjson"|"mailto:x"|' rules.json >k.json
	run -2 --separate-stderr evroute -t -f k.json
	[[ $stderr == *"'mailto:x': unknown target URI: expected -, file:PATH, fd:N, exec:CMD, pipe:CMD, store:PATH or http(s)://URL" ]]
	sed 's|"file:all.ndjson"|"http://"|' rules.json >k.json
	run -2 --separate-stderr evroute -t -f k.json
	[[ $stderr == *"'http://': http:// needs a host" ]]
}

@test "evroute: --dry-run says which rule sends each event where, and delivers nothing" {
	run -0 --separate-stderr evroute --dry-run -f rules.json in.ndjson
	[ "${lines[0]}" = '{"source":"in.ndjson","line":1,"rule":"orders","target":"all","uri":"file:all.ndjson"}' ]
	[ "${lines[2]}" = '{"source":"in.ndjson","line":2,"rule":"big","target":"n","uri":"-"}' ]
	[ "${lines[6]}" = '{"source":"in.ndjson","line":4,"rule":null}' ]
	[ "${#lines[@]}" -eq 7 ]
	[ ! -e all.ndjson ] && [ ! -e small.ndjson ]
}

@test "evroute: a payload AWS would not deliver goes to the dead letters with EventBridge's attributes, exit 1" {
	cat >d.json <<'JSON'
[{"Name": "r", "Arn": "arn:aws:events:eu-west-1:1:rule/r",
  "EventPattern": {"source": ["shop"]},
  "Targets": [{"Id": "t", "Arn": "file:t.ndjson", "InputPath": "$.detail.m"},
    {"Id": "u", "Arn": "file:u.ndjson", "InputPath": "$.detail.m",
     "DeadLetterConfig": {"Arn": "file:u.dlq"}}]}]
JSON
	printf '%s\n' '{"source":"shop","detail":{"m":1}}' \
	    '{"source":"shop","detail":{}}' >e.ndjson
	EVKIT_NOW=2026-12-03T00:00:00Z run -1 --separate-stderr evroute \
	    --dlq all.dlq -f d.json e.ndjson
	[ -z "$stderr" ]
	[ "$(cat t.ndjson)" = 1 ] && [ "$(cat u.ndjson)" = 1 ]
	[ "$(cat all.dlq)" = '{"event":{"source":"shop","detail":{}},"error":"INVALID_PAYLOAD","status":null,"signal":null,"stderr":"","attempts":1,"exhausted":"NotRetryable","firstAttempt":"2026-12-03T00:00:00Z","lastAttempt":"2026-12-03T00:00:00Z","source":"e.ndjson","line":2,"payload":"","attributes":{"RULE_ARN":"arn:aws:events:eu-west-1:1:rule/r","TARGET_ARN":"file:t.ndjson","ERROR_CODE":"INVALID_PAYLOAD","ERROR_MESSAGE":"InputPath '"'"'$.detail.m'"'"' matches nothing in the event","EXHAUSTED_RETRY_CONDITION":"NotRetryable","RETRY_ATTEMPTS":0}}' ]
	[ "$(jq -r .attributes.TARGET_ARN u.dlq)" = file:u.ndjson ]
	# without a dead-letter file it is said on stderr, never dropped
	rm -f t.ndjson
	run -1 --separate-stderr evroute -f d.json e.ndjson
	[ "${stderr%%$'\n'*}" = "evroute: e.ndjson:2: rule 'r' target 't': undeliverable: InputPath '\$.detail.m' matches nothing in the event" ]
}

@test "evroute: --stats prints per-rule and per-target counts as JSON on stderr" {
	run -0 --separate-stderr evroute --stats --unmatched=drop \
	    -f rules.json in.ndjson
	[ "$(printf '%s\n' "$stderr" | jq -c '[.rules[] | [.rule, .matched, (.targets[] | .delivered)]], .unmatched')" = $'[["orders",2,2,2],["big",2,2],["off",0,0]]\n1' ]
}

@test "evroute: a bad line is located, kept with --reject, and exits 2 after routing the rest" {
	printf '%s\n' '{"source":"shop"' '{"source":"shop","detail":{"n":5}}' >b.ndjson
	run -2 --separate-stderr evroute --reject rej -f rules.json b.ndjson
	[ "${stderr%%$'\n'*}" = "evroute: b.ndjson:1:17: invalid JSON: unexpected end of input" ] ||
	    [[ ${stderr%%$'\n'*} == "evroute: b.ndjson:1:"* ]]
	[ "$(cat rej)" = '{"source":"shop"' ]
	[ "$(cat all.ndjson)" = '{"source":"shop","detail":{"n":5}}' ]
	[ "$output" = 5 ]
}

@test "evroute: a target, dead-letter or unmatched file that is also an input is refused" {
	cp in.ndjson all.ndjson
	run -2 --separate-stderr evroute -f rules.json all.ndjson
	[ "$stderr" = "evroute: all.ndjson: input file is also target 'file:all.ndjson'" ]
	[ "$(cat all.ndjson)" = "$(cat in.ndjson)" ]
	run -2 --separate-stderr evroute --unmatched in.ndjson -f rules.json <in.ndjson
	[ "$stderr" = "evroute: <stdin>: input file is also target 'file:in.ndjson'" ]
	run -2 --separate-stderr evroute --dlq rules.json -f rules.json in.ndjson
	[ "$stderr" = "evroute: rules.json: input file is also target 'file:rules.json'" ]
}

@test "evroute: a --reject file that is also a target, dead-letter or unmatched file is refused" {
	run -2 --separate-stderr evroute --reject all.ndjson -f rules.json in.ndjson
	[ "$stderr" = "evroute: all.ndjson: reject file is also target 'file:all.ndjson'" ]
	[ ! -s all.ndjson ]
	ln -s dead.ndjson link
	run -2 --separate-stderr evroute --reject link --dlq dead.ndjson -f rules.json in.ndjson
	[ "$stderr" = "evroute: link: reject file is also target 'file:dead.ndjson'" ]
	run -2 --separate-stderr evroute --reject ./un --unmatched un -f rules.json in.ndjson
	[ "$stderr" = "evroute: ./un: reject file is also target 'file:un'" ]
	[ ! -s un ] && [ ! -s small.ndjson ]
	run -0 evroute --reject rej --unmatched un -f rules.json in.ndjson
}

@test "evroute: names with control characters come out escaped on one line" {
	cp rules.json $'r\n\x1b.json'
	run -2 --separate-stderr evroute -f rules.json $'no\nsuch\x1b'
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ ${stderr_lines[0]} == 'evroute: no\nsuch\x1b: '* ]]
	sed 's|"file:all.ndjson"|"x:y"|' rules.json >$'r\n\x1b.json'
	run -2 --separate-stderr evroute -t -f $'r\n\x1b.json'
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == 'evroute: r\n\x1b.json:4:6: '* ]]
}

@test "evroute: closed standard descriptors, a full disk and a closed pipe" {
	run -0 --separate-stderr timeout 10 sh -c 'exec evroute --unmatched=drop -f rules.json <&- 2>&-'
	run -2 --separate-stderr sh -c 'evroute --unmatched=drop -f rules.json in.ndjson >&-'
	[[ $stderr == "evroute: write error on '-': Bad file descriptor" ]]
	run -2 --separate-stderr sh -c 'evroute --unmatched=drop -f rules.json in.ndjson >/dev/full'
	[[ $stderr == "evroute: write error on '-': No space left on device" ]]
	run -0 --separate-stderr sh -c 'evroute --unmatched=drop -f rules.json in.ndjson | true'
	[ -z "$stderr" ]
}

@test "evroute: fd:N writes to an open descriptor" {
	sed 's|"file:all.ndjson"|"fd:3"|' rules.json >f.json
	run -0 --separate-stderr sh -c 'evroute --unmatched=drop -f f.json in.ndjson 3>three >/dev/null'
	[ "$(wc -l <three)" -eq 2 ]
}

@test "evroute: several evroute processes append whole lines to one file" {
	# lines of 3000 bytes: each process fills and flushes its buffer
	# many times while the others write
	awk 'BEGIN { s = sprintf("%3000s", ""); gsub(/ /, "x", s)
		for (i = 0; i < 2000; i++)
			printf "{\"source\":\"shop\",\"detail\":{\"n\":%d},\"pad\":\"%s\"}\n", i, s }' >many.ndjson
	for p in 1 2 3 4; do
		evroute --unmatched=drop -f rules.json many.ndjson >/dev/null &
	done
	wait
	[ "$(wc -l <all.ndjson)" -eq 8000 ]
	[ "$(sort all.ndjson | uniq -c | awk '$1 != 4' | wc -l)" -eq 0 ]
	[ "$(sort -u all.ndjson | cmp - <(sort many.ndjson) && echo same)" = same ]
}

@test "evroute: 10,000 rules with 20 targets each load (no quadratic step)" {
	awk 'BEGIN { printf "["
		for (i = 0; i < 10000; i++) {
			printf "%s{\"Name\":\"r%d\",\"EventPattern\":{\"detail\":{\"n\":[%d]}},\"Targets\":[", i ? "," : "", i, i
			for (j = 0; j < 20; j++)
				printf "%s{\"Id\":\"t%d\",\"Arn\":\"file:o%d\"}", j ? "," : "", j, j
			printf "]}"
		}
		print "]" }' >big.json
	run -0 timeout 60 evroute -t -f big.json
	[ "${#lines[@]}" -eq 200000 ]
	[ "${lines[199999]}" = $'r9999\tt19\tfile:o19' ]
}

@test "evroute: a rule with 50,000 targets loads, and a repeated Id at its end is found" {
	awk 'BEGIN { printf "[{\"Name\":\"wide\",\"EventPattern\":{\"source\":[\"shop\"]},\"Targets\":["
		for (j = 0; j < 50000; j++)
			printf "%s{\"Id\":\"t%d\",\"Arn\":\"-\"}", j ? "," : "", j
		print "]},{\"Name\":\"again\",\"EventPattern\":{\"source\":[\"shop\"]},\"Targets\":[{\"Id\":\"t0\",\"Arn\":\"-\"}]}]" }' >wide.json
	run -0 evroute -t -f wide.json
	[ "${#lines[@]}" -eq 50001 ]
	[ "${lines[49999]}" = $'wide\tt49999\t-' ]
	[ "${lines[50000]}" = $'again\tt0\t-' ]
	sed 's/"Id":"t49999"/"Id":"t7"/' wide.json >dup.json
	run -2 --separate-stderr evroute -t -f dup.json
	col=$(awk '{ print index($0, "{\"Id\":\"t7\",\"Arn\":\"-\"}]") }' dup.json)
	[ "$stderr" = "evroute: dup.json:1:$col: duplicate target Id 't7'" ]
}

@test "evroute: a deeply nested EventPattern routes; one too deep is a located error" {
	awk 'BEGIN { for (i = 0; i < 400; i++) { o = o "{\"a\":"; c = c "}" }
		print "[{\"Name\":\"deep\",\"EventPattern\":" o "[1]" c ",\"Targets\":[{\"Id\":\"t\",\"Arn\":\"-\"}]}]" >"deep.json"
		print o "1" c >"ev.ndjson"
		print o "2" c >>"ev.ndjson"
		for (i = 0; i < 600; i++) { o2 = o2 "{\"a\":"; c2 = c2 "}" }
		print "[{\"Name\":\"deeper\",\"EventPattern\":" o2 "[1]" c2 ",\"Targets\":[]}]" >"deeper.json" }'
	run -0 --separate-stderr evroute --unmatched=drop -f deep.json ev.ndjson
	[ "$output" = "$(head -1 ev.ndjson)" ]
	run -2 --separate-stderr evroute -t -f deeper.json
	[[ $stderr == "evroute: deeper.json:1:"*": invalid JSON: nesting too deep" ]]
}

@test "evroute: rule names and target ids with control characters are escaped in diagnostics" {
	printf '%s\n' '[{"Name":"r\u001b[31m\nx","EventPattern":{"source":["s"]},"Targets":[{"Id":"t\n1","Arn":"arn:aws:lambda:x"}]}]' >ctl.json
	run -2 --separate-stderr evroute -t -f ctl.json
	[ "${#stderr_lines[@]}" -eq 1 ]
	[ "$stderr" = "evroute: ctl.json:1:70: target 't\n1' of rule 'r\x1b[31m\nx': 'arn:aws:lambda:x' is an AWS target: map it to a local URI with --target" ]
}

@test "evroute: usage errors exit 2" {
	run -2 --separate-stderr evroute
	[[ $stderr == "usage: evroute "* ]]
	run -2 --separate-stderr evroute -f rules.json -f rules.json
	[ "${stderr%%$'\n'*}" = "evroute: -f: one rules file only" ]
	run -2 --separate-stderr evroute --max-line-bytes 0 -f rules.json
	[[ ${stderr%%$'\n'*} == "evroute: invalid --max-line-bytes '0': "* ]]
	run -2 --separate-stderr evroute -f nosuch.json
	[ "$stderr" = "evroute: nosuch.json: No such file or directory" ]
}

@test "evroute: -j matches on several threads and still writes in input order" {
	awk 'BEGIN { for (i = 0; i < 40000; i++)
		printf "{\"source\":\"%s\",\"detail\":{\"n\":%d}}\n", i % 3 ? "shop" : "x", i % 5 }' >j.ndjson
	run -0 --separate-stderr evroute -j 4 --unmatched un.ndjson -f rules.json j.ndjson
	[ "${#lines[@]}" -eq 24000 ]
	cmp all.ndjson <(grep '"shop"' j.ndjson)
	cmp un.ndjson <(grep -v '"shop"' j.ndjson | grep -v '"n":[234]')
	[ "$(sed -n '2p;40p' small.ndjson)" = $'{"n":2,"rule":"orders"}\n{"n":4,"rule":"orders"}' ]
}

@test "evroute: a file that is a target and the unmatched file gets both in input order, past every buffer" {
	# the matched events are written from the bus's arena, the others
	# copied: 800 kB of them alternating
	awk 'BEGIN { for (i = 0; i < 20000; i++)
		printf "{\"source\":\"%s\",\"detail\":{\"n\":0,\"i\":%d}}\n", i % 3 ? "shop" : "x", i }' >mix.ndjson
	run -0 evroute --unmatched all.ndjson -f rules.json mix.ndjson
	cmp all.ndjson mix.ndjson
	[ "$(wc -l <small.ndjson)" -eq 13333 ]
}

# A rules file with one rule "r" on source "s" whose targets are the JSON
# text $1 (a list's members).
targets() {
	printf '[{"Name":"r","EventPattern":{"source":["s"]},"Targets":[%s]}]\n' \
	    "$1" >t.json
}

@test "evroute: exec: runs CMD per event with the payload and a newline on stdin; words quoted with spaces" {
	mkdir 'my dir'
	printf '#!/bin/sh\nprintf "%%s|" "$1" >>"$2"; cat >>"$2"\n' >'my dir/h.sh'
	chmod +x 'my dir/h.sh'
	targets '{"Id":"h","Arn":"exec:\"my dir/h.sh\" '"'a b'"' out\\ put","InputPath":"$.n"}'
	printf '{"source":"s","n":%d}\n' 1 2 >in2.ndjson
	run -0 --separate-stderr evroute --stats -f t.json in2.ndjson
	[ "$(cat 'out put')" = $'a b|1\na b|2' ]
	[[ $stderr == *'"delivered":2,"retried":0,"deadLettered":0'* ]]
}

@test "evroute: exec: exit 127 is final, other statuses are retried by the RetryPolicy, then dead-lettered" {
	targets '{"Id":"gone","Arn":"exec:no-such-cmd-x"},
	    {"Id":"bad","Arn":"exec:sh -c \"echo boom >&2; exit 3\"",
	     "RetryPolicy":{"MaximumRetryAttempts":2}}'
	printf '{"source":"s","n":%d,"time":"2026-01-01T00:00:00Z"}\n' 1 2 >in2.ndjson
	EVKIT_NOW=2026-01-01T00:00:00Z run -1 --separate-stderr evroute --stats \
	    --dlq dl.ndjson -f t.json in2.ndjson
	[[ $stderr == *'"id":"gone","uri":"exec:no-such-cmd-x","delivered":0,"retried":0,"deadLettered":2'* ]]
	[[ $stderr == *'"id":"bad",'*'"delivered":0,"retried":4,"deadLettered":2'* ]]
	[ "$(grep -c '"ERROR_CODE":"Exec.NotFound","ERROR_MESSAGE":"","EXHAUSTED_RETRY_CONDITION":"NotRetryable","RETRY_ATTEMPTS":0' dl.ndjson)" -eq 2 ]
	[ "$(grep -c '"ERROR_CODE":"Exit.3","ERROR_MESSAGE":"boom\\n","EXHAUSTED_RETRY_CONDITION":"MaximumRetryAttempts","RETRY_ATTEMPTS":2' dl.ndjson)" -eq 2 ]
	grep -q '"RULE_ARN":"arn:aws:events:::rule/r","TARGET_ARN":"exec:sh -c' dl.ndjson
}

@test "evroute: a target that fails every event pays its retry delays once (side by side); MaximumEventAgeInSeconds" {
	targets '{"Id":"bad","Arn":"exec:false","RetryPolicy":{"MaximumEventAgeInSeconds":60}}'
	for i in $(seq 1 20); do echo '{"source":"s"}'; done >in2.ndjson
	EVKIT_NOW=2026-01-01T00:00:00Z run -1 --separate-stderr evroute --stats \
	    --dlq dl.ndjson -f t.json in2.ndjson
	[ "$(grep -c '"EXHAUSTED_RETRY_CONDITION":"MaximumEventAgeInSeconds"' dl.ndjson)" -eq 20 ]
	# one after the other they would take 20 minutes of the virtual clock
	! grep -v '"lastAttempt":"2026-01-01T00:0[0-2]' dl.ndjson
	[[ $stderr == *'"deadLettered":20'* ]]
}

@test "evroute: pipe: one process answers a line per payload; an error answer is a failure with its name" {
	cat >h.sh <<'SH'
#!/bin/sh
while read -r l; do
	case $l in
	*'"n":2'*) echo '{"evkit-error":{"Error":"Bad.Two","Cause":"two"}}' ;;
	*) echo "$l" >>seen; echo ok ;;
	esac
done
SH
	chmod +x h.sh
	targets '{"Id":"p","Arn":"pipe:./h.sh","RetryPolicy":{"MaximumRetryAttempts":1},
	    "DeadLetterConfig":{"Arn":"file:p-dl.ndjson"}}'
	printf '{"source":"s","n":%d}\n' 1 2 3 >in2.ndjson
	EVKIT_NOW=2026-01-01T00:00:00Z run -1 --separate-stderr evroute --stats -f t.json in2.ndjson
	[ "$(cat seen)" = "$(sed -n '1p;3p' in2.ndjson)" ]
	[[ $stderr == *'"delivered":2,"retried":1,"deadLettered":1'* ]]
	grep -q '"ERROR_CODE":"Bad.Two","ERROR_MESSAGE":"two","EXHAUSTED_RETRY_CONDITION":"MaximumRetryAttempts","RETRY_ATTEMPTS":1' p-dl.ndjson
	targets '{"Id":"p","Arn":"file:x","DeadLetterConfig":{"Arn":"pipe:cat"}}'
	run -2 --separate-stderr evroute -f t.json in2.ndjson
	[[ $stderr == *"'pipe:cat': pipe: targets cannot take dead letters" ]]
}

@test "evroute: store: appends to an evstore log, committed before it counts; a store that is an input is refused" {
	targets '{"Id":"st","Arn":"store:s.db","InputPath":"$.n"}'
	printf '{"source":"s","n":%d}\n' 1 2 >in2.ndjson
	run -0 --separate-stderr evroute --stats -f t.json in2.ndjson
	[[ $stderr == *'"uri":"store:s.db","delivered":2,'* ]]
	run -0 evstore read s.db
	[ "$output" = $'1\n2' ]
	run -2 --separate-stderr evroute -f t.json s.db
	[ "$stderr" = "evroute: s.db: input file is also target 'store:s.db'" ]
}

@test "evroute: a stalled target holds back neither the others nor memory: the input waits (backpressure)" {
	mkfifo gate in.fifo
	printf '#!/bin/sh\nread x <gate\nexec awk %s\n' \
	    "'{ print \"ok\"; fflush() }'" >slow.sh
	chmod +x slow.sh
	targets '{"Id":"a","Arn":"file:a.ndjson"},{"Id":"slow","Arn":"pipe:./slow.sh"}'
	pad=$(head -c 10000 /dev/zero | tr '\0' x)
	yes "{\"source\":\"s\",\"pad\":\"$pad\"}" | head -n 800 >in.fifo &
	writer=$!
	evroute --buffer 5 --stats -f t.json in.fifo 2>stats &
	route=$!
	for i in $(seq 200); do
		[ "$(cat a.ndjson 2>/dev/null | wc -l)" -ge 6 ] && break
		sleep 0.05
	done
	[ "$(wc -l <a.ndjson)" -ge 6 ]
	# 8 MB of input: evroute stopped reading, so the writer is blocked
	kill -0 "$writer"
	[ "$(wc -l <a.ndjson)" -lt 800 ]
	: >gate
	wait "$route"
	[ "$(wc -l <a.ndjson)" -eq 800 ]
	grep -q '"id":"slow","uri":[^}]*"delivered":800,' stats
}

# httpd SCRIPT: start the test server (test/httpd.c) answering by SCRIPT,
# logging requests to req.ndjson; its URL in $url, its pid in $hpid.
httpd() {
	rm -f port; mkfifo port
	"${EVKIT_BIN:-$BATS_TEST_DIRNAME/../build/bin}/../testbin/httpd" \
	    -i 30 -s "$1" req.ndjson >port 3>&- &
	hpid=$!
	read -r p <port
	url=http://127.0.0.1:$p/hook
}

teardown() {
	[ -z "${hpid:-}" ] || kill "$hpid" 2>/dev/null || :
}

# hrules URI: rules.json's first target made URI, into h.json.
hrules() {
	sed "s|\"file:all.ndjson\"|\"$1\"|" rules.json >h.json
}

@test "evroute: http targets get each event POSTed as JSON, on one kept-alive connection, with --header" {
	httpd 200
	hrules "$url"
	run -0 --separate-stderr evroute --unmatched=drop --header 'X-Team: pay' \
	    --header 'Authorization:Bearer t' -f h.json in.ndjson
	[ -z "$stderr" ]
	[ "$(jq -r .body req.ndjson)" = "$(sed -n '1p;3p' in.ndjson)" ]
	[ "$(jq -c '[.conn, .method, .path, .headers["content-type"], .headers["x-team"], .headers.authorization]' req.ndjson | sort -u)" = \
	    '[1,"POST","/hook","application/json; charset=utf-8","pay","Bearer t"]' ]
	run -2 --separate-stderr evroute --header 'X Team: pay' -f h.json
	[ "${stderr%%$'\n'*}" = "evroute: invalid --header 'X Team: pay': expected 'Name: value'" ]
}

@test "evroute: an http 503 is retried (on the virtual clock), a 400 dead-lettered at once with EventBridge's attributes" {
	# one run an event: with two events in one run, whether the second is
	# read before the first one's retry is up to the reader thread
	# one ANSWERS N STATUS: event n N against a server answering ANSWERS
	one() {
		httpd "$1"
		sed 's|"Arn": "file:all.ndjson"|"Arn": "'"$url"'", "RetryPolicy": {"MaximumRetryAttempts": 3}|' \
		    rules.json >h.json
		echo '{"source":"shop","n":'"$2"'}' >s.ndjson
		EVKIT_NOW=2026-12-03T00:00:00Z run "-$3" --separate-stderr evroute \
		    --stats --dlq d.ndjson -f h.json s.ndjson
	}
	one 503,503,200 1 0
	# 503 then 503 then 200
	[ "$(jq -c '.body | fromjson | .n' req.ndjson | paste -sd ' ')" = '1 1 1' ]
	[ ! -s d.ndjson ]
	[ "$(printf '%s\n' "$stderr" | jq -c '.rules[0].targets[0] | [.delivered, .retried, .deadLettered]')" = '[1,2,0]' ]
	kill "$hpid"; wait "$hpid" 2>/dev/null || :
	rm req.ndjson
	one 400 2 1
	# not retried
	[ "$(jq -c '.body | fromjson | .n' req.ndjson | paste -sd ' ')" = '2' ]
	[ "$(jq -c '.attributes | [.ERROR_CODE, .ERROR_MESSAGE, .EXHAUSTED_RETRY_CONDITION, .RETRY_ATTEMPTS, .TARGET_ARN == "'"$url"'", .RULE_ARN]' d.ndjson)" = \
	    '["ERROR_FROM_TARGET","HTTP 400: Bad Request","NotRetryable",0,true,"arn:aws:events:::rule/orders"]' ]
	[ "$(jq -r .payload d.ndjson)" = '{"source":"shop","n":2}' ]
	[ "$(printf '%s\n' "$stderr" | jq -c '.rules[0].targets[0] | [.delivered, .retried, .deadLettered]')" = '[0,0,1]' ]
}

@test "evroute: an http target that keeps failing is dead-lettered after its RetryPolicy, connection failures too" {
	httpd 429
	sed 's|"Arn": "file:all.ndjson"|"Arn": "'"$url"'", "RetryPolicy": {"MaximumRetryAttempts": 2}|' \
	    rules.json >h.json
	echo '{"source":"shop","n":1}' >s.ndjson
	EVKIT_NOW=2026-12-03T00:00:00Z run -1 --separate-stderr evroute \
	    --dlq d.ndjson -f h.json s.ndjson
	[ "$(wc -l <req.ndjson)" -eq 3 ]
	[ "$(jq -c '.attributes | [.ERROR_CODE, .EXHAUSTED_RETRY_CONDITION, .RETRY_ATTEMPTS]' d.ndjson)" = \
	    '["THROTTLING","MaximumRetryAttempts",2]' ]
	kill "$hpid"; wait "$hpid" 2>/dev/null || :
	EVKIT_NOW=2026-12-03T00:00:00Z run -1 --separate-stderr evroute \
	    --dlq d2.ndjson -f h.json s.ndjson
	[ "$(jq -c '.attributes | [.ERROR_CODE, .EXHAUSTED_RETRY_CONDITION]' d2.ndjson)" = \
	    '["CONNECTION_FAILURE","MaximumRetryAttempts"]' ]
}

@test "evroute: --api-destination routes a target whose Arn is the API destination's, with --connection's auth and parameters" {
	httpd 200
	cat >conn.json <<'JSON'
{"Name": "shop-auth", "AuthorizationType": "API_KEY",
 "AuthParameters": {
   "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k1"},
   "InvocationHttpParameters": {
     "HeaderParameters": [{"Key": "X-Src", "Value": "evroute"}],
     "QueryStringParameters": [{"Key": "team", "Value": "pay & ship"}]}}}
JSON
	cat >dest.json <<JSON
{"Name": "orders-api",
 "ConnectionArn": "arn:aws:events:us-east-1:1:connection/shop-auth/e1",
 "InvocationEndpoint": "$url", "HttpMethod": "PUT"}
JSON
	hrules arn:aws:events:us-east-1:1:api-destination/orders-api/abc
	run -0 evroute -t --connection conn.json --api-destination dest.json -f h.json
	[ "${lines[0]}" = "orders	all	$url" ]
	run -0 --separate-stderr evroute --unmatched=drop --connection conn.json \
	    --api-destination dest.json -f h.json in.ndjson
	[ "$(jq -c '[.method, .path, .headers["x-api-key"], .headers["x-src"]]' req.ndjson | sort -u)" = \
	    '["PUT","/hook?team=pay%20%26%20ship","k1","evroute"]' ]
	[ "$(wc -l <req.ndjson)" -eq 2 ]
	# a template's {"Fn::GetAtt": [LOGICAL_ID, "Arn"]} names it too
	cat >t.yaml <<'YAML'
Resources:
  orders-api:
    Type: AWS::Events::ApiDestination
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: {source: [shop]}
      Targets:
        - Id: api
          Arn: !GetAtt orders-api.Arn
YAML
	run -0 evroute -t --api-destination dest.json -f t.yaml
	[ "$output" = "Rule	api	$url" ]
	# the connection it names must be given
	sed 's/"shop-auth"/"other"/' conn.json >c2.json
	run -2 --separate-stderr evroute -t --connection c2.json --api-destination dest.json -f h.json
	[ "$stderr" = "evroute: API destination 'orders-api': connection 'shop-auth' is not given (--connection)" ]
}

@test "evroute: the connection and API destination files are checked as AWS does, with located errors" {
	echo '{"Name": "c", "AuthorizationType": "OAUTH_CLIENT_CREDENTIALS", "AuthParameters": {}}' >o.json
	run -2 --separate-stderr evroute -t --connection o.json -f rules.json
	[ "$stderr" = "evroute: o.json:1:36: AuthorizationType OAUTH_CLIENT_CREDENTIALS is not supported: use BASIC or API_KEY" ]
	printf '{"Name": "d", "ConnectionArn": "c", "InvocationEndpoint": "http://x/",\n "HttpMethod": "TRACE"}\n' >d.json
	run -2 --separate-stderr evroute -t --api-destination d.json -f rules.json
	[ "$stderr" = "evroute: d.json:2:16: 1 validation error detected: Value 'TRACE' at 'httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [POST, GET, HEAD, OPTIONS, PUT, PATCH, DELETE]" ]
	echo '{"Name": "d", "ConnectionArn": "c", "InvocationEndpoint": "http://x/", "HttpMethod": "POST", "InvocationRateLimitPerSecond": 0}' >d.json
	run -2 --separate-stderr evroute -t --api-destination d.json -f rules.json
	[[ $stderr == "evroute: d.json:1:126: 1 validation error detected: Value '0' at 'invocationRateLimitPerSecond' "* ]]
	run -2 --separate-stderr evroute -t --connection nosuch.json -f rules.json
	[ "$stderr" = "evroute: nosuch.json: No such file or directory" ]
	run -2 --separate-stderr evroute -t --http-timeout 0s -f rules.json
	[[ ${stderr%%$'\n'*} == "evroute: invalid --http-timeout '0s': "* ]]
}

@test "evroute: InvocationRateLimitPerSecond spaces the requests (on the virtual clock)" {
	httpd 200
	echo "{\"Name\": \"d\", \"ConnectionArn\": \"c\", \"InvocationEndpoint\": \"$url\", \"HttpMethod\": \"POST\", \"InvocationRateLimitPerSecond\": 1}" >d.json
	cat >r.json <<'JSON'
[{"Name": "r", "EventPattern": {"source": ["shop"]},
  "Targets": [{"Id": "api", "Arn": "arn:aws:events:us-east-1:1:api-destination/d/x"},
   {"Id": "t", "Arn": "file:t.ndjson",
    "InputTransformer": {"InputPathsMap": {}, "InputTemplate": "<aws.events.event.ingestion-time>"}}]}]
JSON
	for i in 1 2 3 4; do echo '{"source":"shop"}'; done >s.ndjson
	EVKIT_NOW=2026-12-03T00:00:00Z run -0 --separate-stderr evroute \
	    --api-destination d.json -f r.json s.ndjson
	[ "$(cat t.ndjson)" = '2026-12-03T00:00:00Z
2026-12-03T00:00:00Z
2026-12-03T00:00:01Z
2026-12-03T00:00:02Z' ]
	[ "$(wc -l <req.ndjson)" -eq 4 ]
}

@test "evroute: a stalled http target times out (--http-timeout) and is dead-lettered as TIMEOUT" {
	httpd stall
	sed 's|"Arn": "file:all.ndjson"|"Arn": "'"$url"'", "RetryPolicy": {"MaximumRetryAttempts": 1}|' \
	    rules.json >h.json
	echo '{"source":"shop"}' >s.ndjson
	EVKIT_NOW=2026-12-03T00:00:00Z run -1 --separate-stderr timeout 60 \
	    evroute --http-timeout 200ms --dlq d.ndjson -f h.json s.ndjson
	[ "$(jq -c '.attributes | [.ERROR_CODE, .EXHAUSTED_RETRY_CONDITION, .RETRY_ATTEMPTS]' d.ndjson)" = \
	    '["TIMEOUT","MaximumRetryAttempts",1]' ]
}

@test "evroute: a large payload reaches an http target whole" {
	httpd 200
	hrules "$url"
	awk 'BEGIN { s = sprintf("%2000000s", ""); gsub(/ /, "y", s)
		printf "{\"source\":\"shop\",\"pad\":\"%s\"}\n", s }' >big.ndjson
	run -0 --separate-stderr evroute --max-line-bytes 4M -f h.json big.ndjson
	[ "$(jq -r .body req.ndjson | cmp - big.ndjson && echo same)" = same ]
}
